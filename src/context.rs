//! What every scenario of one run shares: the target, the profile, the transport, the login
//! driver, a discovery done once, a client registered once, the pool of clients scenarios lease
//! for their flows, and the records of finished scenarios.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use url::Url;

use crate::client::cimd::DocumentHost;
use crate::client::discovery::{self, Discovered};
use crate::client::http::Http;
use crate::client::login::SharedDriver;
use crate::client::mcp::{McpClient, Revision};
use crate::client::oauth::TokenSet;
use crate::client::registration::{RegisteredClient, Registration};
use crate::config::ScopeCheck;
use crate::leases::{Authorizations, ClientLease, ClientPool, FLOW_CLIENTS_AT_MOST, Make};
use crate::report::ScenarioRecord;
use crate::verdict::{Fault, Outcome};

pub struct Context {
    pub target: Url,
    pub revision: Revision,
    pub http: Http,
    pub driver: SharedDriver,
    pub redirect_uri: Url,
    pub second_resource: Option<Url>,
    /// The authorization server's instances besides the one its metadata's endpoints reach
    /// (REPL-*): empty when none are known.
    pub replicas: Vec<crate::client::replicas::Instance>,
    pub scope_check: Option<ScopeCheck>,
    pub expiry: Expiry,
    /// Print each scenario's line as it finishes.
    pub echo: bool,
    discovered: OnceCell<Result<Arc<Discovered>, Fault>>,
    client: OnceCell<Result<RegisteredClient, Fault>>,
    /// The clients scenarios lease for their flows, so that none ends another's grant.
    pool: Arc<ClientPool>,
    /// Every authorization sent, per client: how interference is detected.
    pub authorizations: Arc<Authorizations>,
    pub records: Mutex<Vec<ScenarioRecord>>,
    /// Whether read-only scenarios share one login (the manual driver: logins cost a person).
    pub share_logins: bool,
    /// That shared login's client and tokens.
    pub shared_grant: tokio::sync::Mutex<Option<SharedGrant>>,
    /// The server of the client ID metadata documents, started by the first scenario that
    /// serves one (one port for the run: binding a port for each scenario was a cost).
    documents: OnceCell<Result<Arc<DocumentHost>, String>>,
}

/// Tokens obtained once and presented by several scenarios (catalogue section 17).
#[derive(Debug, Clone)]
pub struct SharedGrant {
    pub client: RegisteredClient,
    pub tokens: TokenSet,
    pub granted_scope: Option<String>,
    obtained: Instant,
    /// The client's authorization count when the grant was made: another authorization of the
    /// client since may have ended it.
    pub authorized_at: u64,
    /// The lease that keeps other scenarios off the client, when the pool can spare it.
    _lease: Option<Arc<ClientLease>>,
}

impl SharedGrant {
    pub fn new(
        client: RegisteredClient,
        tokens: TokenSet,
        granted_scope: Option<String>,
        authorized_at: u64,
        lease: Option<ClientLease>,
    ) -> Self {
        SharedGrant {
            client,
            tokens,
            granted_scope,
            obtained: Instant::now(),
            authorized_at,
            _lease: lease.map(Arc::new),
        }
    }

    /// Usable while the access token has more than two minutes to live (or no stated end), and
    /// no other authorization of its client may have ended the grant.
    pub fn usable(&self, authorizations: &Authorizations) -> bool {
        authorizations.of(&self.client.client_id) == self.authorized_at
            && self.tokens.expires_in.is_none_or(|secs| {
                self.obtained.elapsed() + Duration::from_secs(120) < Duration::from_secs(secs)
            })
    }
}

/// How a scenario waits for an access token (RS-06) or codes (REPL-07) to expire.
#[derive(Debug, Clone)]
pub struct Expiry {
    /// The longest lifetime worth waiting out (`limits.max_expiry_wait_secs`).
    pub max_wait: Duration,
    /// Added to the lifetime, for clock skew between the harness and the target.
    pub margin: Duration,
    /// The target shares the harness's clock (the embedded server): a JWT access token is
    /// waited out until its `exp`, which is more exact than `expires_in`'s whole seconds.
    pub until_exp: bool,
    /// A client whose tokens live as short as the target allows (the embedded server's
    /// one-second client); `None`: the run's own clients.
    pub short_lived_client: Option<RegisteredClient>,
    /// How long the target's authorization codes live (`replicas.code_lifetime_secs`; the
    /// embedded server's short-lived codes): REPL-07 waits it out. `None`: unknown.
    pub code_lifetime: Option<Duration>,
    /// A client whose codes live [`Expiry::code_lifetime`] (the embedded server's client of
    /// half-second codes); `None`: the run's own clients.
    pub short_lived_code_client: Option<RegisteredClient>,
}

impl Expiry {
    /// A target the harness does not control: two seconds for skew, the run's clients.
    pub fn of_target(max_wait: Duration) -> Self {
        Expiry {
            max_wait,
            margin: Duration::from_secs(2),
            until_exp: false,
            short_lived_client: None,
            code_lifetime: None,
            short_lived_code_client: None,
        }
    }
}

pub struct ContextParts {
    pub target: Url,
    pub revision: Revision,
    pub http: Http,
    pub driver: SharedDriver,
    pub redirect_uri: Url,
    pub second_resource: Option<Url>,
    pub replicas: Vec<crate::client::replicas::Instance>,
    pub scope_check: Option<ScopeCheck>,
    pub expiry: Expiry,
    pub echo: bool,
    /// A client registered beforehand (the profile's `[client] client_id`): used instead of
    /// registering one.
    pub client: Option<RegisteredClient>,
    /// Read-only scenarios share one login.
    pub share_logins: bool,
    /// Scenarios run at once: the client pool grows to this many (at most
    /// [`FLOW_CLIENTS_AT_MOST`]; a configured client is the only one).
    pub concurrency: usize,
}

tokio::task_local! {
    static CURRENT: Arc<Context>;
}

impl Context {
    pub fn new(p: ContextParts) -> Arc<Context> {
        let pool_size = match p.client {
            Some(_) => 1,
            None => p.concurrency.clamp(1, FLOW_CLIENTS_AT_MOST),
        };
        Arc::new(Context {
            target: p.target,
            revision: p.revision,
            http: p.http,
            driver: p.driver,
            redirect_uri: p.redirect_uri,
            second_resource: p.second_resource,
            replicas: p.replicas,
            scope_check: p.scope_check,
            expiry: p.expiry,
            echo: p.echo,
            discovered: OnceCell::new(),
            client: match p.client {
                Some(c) => OnceCell::new_with(Some(Ok(c))),
                None => OnceCell::new(),
            },
            pool: Arc::new(ClientPool::new(pool_size)),
            authorizations: Arc::default(),
            records: Mutex::new(Vec::new()),
            share_logins: p.share_logins,
            shared_grant: tokio::sync::Mutex::new(None),
            documents: OnceCell::new(),
        })
    }

    /// The same run's context for another revision, keeping the discovery and the client
    /// already done (`--spec auto` decides the revision after authorizing once). A failure
    /// under another discovery procedure (2025-03-26 has no protected resource metadata) is
    /// not kept: it is tried afresh.
    pub fn for_revision(&self, revision: Revision) -> Arc<Context> {
        let same_procedure = revision.has_prm() == self.revision.has_prm();
        let kept = |ok: bool| same_procedure || ok;
        let discovered = self.discovered.get().filter(|r| kept(r.is_ok())).cloned();
        let client = self.client.get().filter(|r| kept(r.is_ok())).cloned();
        Arc::new(Context {
            target: self.target.clone(),
            revision,
            http: self.http.clone(),
            driver: self.driver.clone(),
            redirect_uri: self.redirect_uri.clone(),
            second_resource: self.second_resource.clone(),
            replicas: self.replicas.clone(),
            scope_check: self.scope_check.clone(),
            expiry: self.expiry.clone(),
            echo: self.echo,
            discovered: OnceCell::new_with(discovered),
            client: OnceCell::new_with(client),
            pool: Arc::clone(&self.pool),
            authorizations: Arc::clone(&self.authorizations),
            records: Mutex::new(Vec::new()),
            share_logins: self.share_logins,
            shared_grant: tokio::sync::Mutex::new(None),
            documents: OnceCell::new(),
        })
    }

    /// Runs `f` with this context visible to [`Context::current`] (scenario worlds are
    /// created inside it).
    pub async fn scope<F: std::future::Future>(self: Arc<Self>, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }

    pub fn current() -> Option<Arc<Context>> {
        CURRENT.try_with(Arc::clone).ok()
    }

    pub fn mcp(&self, http: &Http) -> McpClient {
        McpClient::new(http.clone(), self.target.clone(), self.revision)
    }

    /// The run's document server, started at the first call (its error, as text, at every
    /// call if it cannot start).
    pub async fn document_host(&self) -> Result<Arc<DocumentHost>, String> {
        self.documents
            .get_or_init(|| async {
                DocumentHost::start()
                    .await
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .await
            .clone()
    }

    /// Discovery, done once per run. Its failures are the discovery scenarios' business;
    /// here they stop the flows that need endpoints.
    pub async fn discovered(&self) -> Outcome<Arc<Discovered>> {
        self.discovered
            .get_or_init(|| async {
                let http = self.http.fork();
                let mcp = self.mcp(&http);
                discovery::discover(&http, &mcp)
                    .await
                    .map(Arc::new)
                    .map_err(Fault::from)
            })
            .await
            .clone()
    }

    /// Discovery's outcome if it has run and succeeded; never starts it.
    pub fn discovered_so_far(&self) -> Option<Arc<Discovered>> {
        self.discovered.get().and_then(|r| r.as_ref().ok().cloned())
    }

    /// The client most scenarios use: the profile's pre-registered client, else one registered
    /// once per run.
    pub async fn client(&self) -> Outcome<RegisteredClient> {
        self.client
            .get_or_init(|| async {
                let http = self.http.fork();
                self.register(&http).await
            })
            .await
            .clone()
    }

    /// A client for one scenario's flows, leased from the pool for the scenario's life (see
    /// [`crate::leases`]): the first is the run's client, more are registered as scenarios
    /// need them at once.
    pub async fn lease_client(&self) -> Outcome<ClientLease> {
        self.pool
            .lease(|kind| async move {
                match kind {
                    Make::First => self.client().await,
                    Make::Another => self.register(&self.http.fork()).await,
                }
            })
            .await
    }

    /// Whether the pool can spare a client for a login shared by several scenarios.
    pub fn pool_can_spare(&self) -> bool {
        self.pool.size() > 1
    }

    /// Registers a fresh public client (DCR-01 metadata).
    pub async fn register(&self, http: &Http) -> Outcome<RegisteredClient> {
        let d = self.discovered().await?;
        // Registration is asked for only when the scenario needs a client of its own: the
        // configured client, when there is one, is not enough for it.
        let besides = if self.client.initialized() {
            "so no client besides the configured one can be had"
        } else {
            "and no client is configured"
        };
        let Some(endpoint) = d.endpoints.registration.clone() else {
            return Err(Fault::Skip(format!(
                "the AS metadata has no registration_endpoint, {besides}"
            )));
        };
        let reg = Registration::public_client(&self.redirect_uri);
        let resp = reg.send(http, &endpoint).await?;
        if crate::checks::registration::initial_access_token_required(&resp) {
            return Err(Fault::Skip(format!(
                "the registration endpoint requires an initial access token, which the run does not have (RFC 7591 §3; {}), {besides}",
                crate::checks::describe(&resp)
            )));
        }
        RegisteredClient::from_response(&resp, &self.redirect_uri).ok_or_else(|| {
            Fault::Harness(format!(
                "could not run: registering a client failed ({}); see the registration scenarios",
                crate::checks::describe(&resp)
            ))
        })
    }
}
