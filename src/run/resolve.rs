//! The second stage of a run: the target made ready for scenarios. The embedded reference
//! server is started (or `--target` taken), the transport and the login driver are built,
//! the target is reached once, discovery is done, and the revision is chosen or learned.

use std::sync::Arc;
use std::time::Duration;

use reference_server::RunningServer;
use url::Url;

use super::error::RunError;
use super::plan::{EmbeddedServer, Plan, TargetPlan};
use crate::client::http::{Http, Request};
use crate::client::login::{self, DriverSetup, SharedDriver};
use crate::client::mcp::{McpClient, Revision};
use crate::client::registration::RegisteredClient;
use crate::config::{DriverKind, parse_http_url};
use crate::context::{Context, ContextParts, Expiry};
use crate::detect;

/// The access-token lifetime of the embedded reference server.
const EMBEDDED_TOKEN_TTL: Duration = Duration::from_secs(15);
/// The embedded server's client whose access tokens live under a second, so that RS-06 waits
/// that long for a token that really expires, not [`EMBEDDED_TOKEN_TTL`].
const SHORT_LIVED_CLIENT: &str = "short-lived-tokens";
/// Its tokens live this long exactly (`exp` has its fraction; `expires_in` says a second). An
/// unoptimised build is slower to present the token before it expires, so it gets more.
const SHORT_LIVED_TTL: Duration = if cfg!(debug_assertions) {
    Duration::from_millis(1500)
} else {
    Duration::from_millis(500)
};
/// The embedded server's client whose authorization codes live half a second, so that
/// REPL-07 waits that long for two codes that really expire, not [`EMBEDDED_CODE_TTL`].
const SHORT_LIVED_CODE_CLIENT: &str = "short-lived-codes";
/// Its codes' lifetime, which the embedded run states as a profile's
/// `[replicas] code_lifetime_secs` would. No redemption races it: REPL-07 redeems its codes
/// only once they have expired.
const SHORT_LIVED_CODE_TTL: Duration = Duration::from_millis(500);
/// TOK-10's throttle of wrong client secrets (per client): a window of a second, not the
/// server's minute (TOK-10 sends its wrong secrets within milliseconds), so that TOK-10's
/// client is usable again a second later, not a minute.
const EMBEDDED_FAILED_SECRET_WINDOW: Duration = Duration::from_secs(1);
/// The embedded server shares the harness's clock: waiting out a token needs no margin for
/// skew, only for timer granularity.
const EMBEDDED_EXPIRY_MARGIN: Duration = Duration::from_millis(50);
/// Authorization codes of the embedded server live as long as OAuth 2.1 §4.1.2 recommends at
/// most (ten minutes), as many servers' do, so that a run slowed down by its rate-limit
/// variants does not see codes expire while it waits.
const EMBEDDED_CODE_TTL: Duration = Duration::from_secs(600);

/// A target ready for scenarios.
pub struct ResolvedTarget {
    /// What every scenario shares, for the revision the run judges by.
    pub context: Arc<Context>,
    /// The embedded reference server, when the run started one.
    embedded: Option<RunningServer>,
    /// What the reports say of the target and the revision.
    pub about: TargetInfo,
}

/// What the reports say of the target: what it is, and why the run judges by its revision.
#[derive(Debug, Clone)]
pub struct TargetInfo {
    /// The target's URL, or the embedded reference server with its defects.
    pub label: String,
    /// Why this revision (`--spec`, or what `--spec auto` learned).
    pub revision_reason: String,
}

impl ResolvedTarget {
    /// Stops the embedded reference server, if the run started one.
    pub async fn shutdown(self) {
        if let Some(server) = self.embedded {
            server.shutdown().await;
        }
    }
}

pub async fn resolve(plan: &Plan) -> Result<ResolvedTarget, RunError> {
    let (target, embedded) = match &plan.target {
        TargetPlan::Given(url) => (url.clone(), None),
        TargetPlan::Embedded(embedded) => {
            let (url, server) =
                start_embedded(embedded, &plan.client.redirect_uri, plan.quiet).await?;
            (url, Some(server))
        }
    };
    let client = plan
        .client
        .registered
        .clone()
        .or_else(|| match &plan.target {
            TargetPlan::Embedded(embedded) if embedded.needs_preregistered_client() => Some(
                embedded_client(EMBEDDED_CLIENT_ID, &plan.client.redirect_uri),
            ),
            _ => None,
        });
    let expiry = match &embedded {
        Some(_) => Expiry {
            max_wait: plan.max_expiry_wait,
            margin: EMBEDDED_EXPIRY_MARGIN,
            until_exp: true,
            short_lived_client: Some(embedded_client(
                SHORT_LIVED_CLIENT,
                &plan.client.redirect_uri,
            )),
            code_lifetime: Some(SHORT_LIVED_CODE_TTL),
            short_lived_code_client: Some(embedded_client(
                SHORT_LIVED_CODE_CLIENT,
                &plan.client.redirect_uri,
            )),
        },
        None => Expiry {
            code_lifetime: plan.code_lifetime,
            ..Expiry::of_target(plan.max_expiry_wait)
        },
    };
    let http = plan.transport.build(&target)?;
    let mut replicas = plan.replicas.clone();
    if let Some(server) = &embedded {
        replicas.extend(super::replicas::embedded(&server.urls.replicas)?);
    }
    super::replicas::allow(http.hosts(), &replicas)?;
    if let TargetPlan::Embedded(embedded) = &plan.target {
        // What a profile's allowed_hosts would list for a login page on another origin.
        for host in embedded.other_hosts() {
            let mut url = target.clone();
            if url.set_host(Some(host)).is_ok() {
                http.hosts().learn(&url);
            }
        }
    }
    if plan.client.metadata_document
        && let Some(c) = &plan.client.registered
    {
        check_client_document(&http, c).await?;
    }
    let driver = login_driver(plan)?;
    if !plan.quiet && plan.login.table.driver != DriverKind::Form {
        eprintln!("Login driver: {}", plan.login.table.driver.name());
    }
    let provisional = plan.revision.unwrap_or(detect::FALLBACK);
    preflight(&http, &target, provisional).await?;

    let context = Context::new(ContextParts {
        target,
        revision: provisional,
        http,
        driver,
        redirect_uri: plan.client.redirect_uri.clone(),
        second_resource: plan.second_resource.clone(),
        replicas,
        scope_check: plan.scope_check.clone(),
        expiry,
        echo: !plan.quiet,
        client,
        share_logins: plan.login.shared(),
        concurrency: plan.concurrency,
    });
    // Discovery before any scenario: it teaches the allowed hosts the authorization servers
    // the target names. Its failures are the discovery scenarios' to report.
    let _ = context.discovered().await;
    let (context, revision_reason) = match plan.revision {
        Some(r) => {
            let reason = "chosen with --spec or the profile".to_string();
            if !plan.quiet {
                eprintln!("MCP revision: {r} ({reason})");
            }
            (context, reason)
        }
        None => {
            let found = detect::detect(&context).await;
            let reason = format!("--spec auto: {}", found.reason);
            if !plan.quiet {
                eprintln!("MCP revision: {} ({reason})", found.revision);
            }
            (context.for_revision(found.revision), reason)
        }
    };
    let label = match &plan.target {
        TargetPlan::Given(url) => url.to_string(),
        TargetPlan::Embedded(embedded) => embedded.describe(&context.target),
    };
    Ok(ResolvedTarget {
        context,
        embedded,
        about: TargetInfo {
            label,
            revision_reason,
        },
    })
}

/// The client ID of the client registered beforehand with the embedded reference server, when
/// a variant leaves the run no way to register one (`no-dynamic-registration`,
/// `registration-needs-initial-access-token`): what a profile's `[client] client_id` would name.
const EMBEDDED_CLIENT_ID: &str = "conformance-preregistered";

/// A public client registered beforehand with the embedded reference server, as the run
/// knows it.
fn embedded_client(client_id: &str, redirect_uri: &Url) -> RegisteredClient {
    RegisteredClient {
        client_id: client_id.into(),
        client_secret: None,
        redirect_uri: redirect_uri.clone(),
        token_endpoint_auth_method: "none".into(),
        application_type: None,
    }
}

/// The embedded reference server's further instances of its authorization server, which the
/// run knows as a profile's `[replicas] urls` (REPL-*).
const EMBEDDED_REPLICAS: usize = 2;

/// Starts the embedded reference server on a free loopback port, with a client registered
/// beforehand (for `redirect_uri`) when its variants need one.
async fn start_embedded(
    embedded: &EmbeddedServer,
    redirect_uri: &Url,
    quiet: bool,
) -> Result<(Url, RunningServer), RunError> {
    let defaults = reference_server::config::Config::default();
    let short_lived = reference_server::config::PreRegisteredClient::public(
        SHORT_LIVED_CLIENT,
        &[redirect_uri.as_str()],
    )
    .with_access_token_ttl(SHORT_LIVED_TTL);
    let short_lived_codes = reference_server::config::PreRegisteredClient::public(
        SHORT_LIVED_CODE_CLIENT,
        &[redirect_uri.as_str()],
    )
    .with_code_ttl(SHORT_LIVED_CODE_TTL);
    let mut clients = vec![short_lived, short_lived_codes];
    if embedded.needs_preregistered_client() {
        clients.push(reference_server::config::PreRegisteredClient::public(
            EMBEDDED_CLIENT_ID,
            &[redirect_uri.as_str()],
        ));
    }
    let config = reference_server::config::Config {
        access_token_ttl: EMBEDDED_TOKEN_TTL,
        code_ttl: EMBEDDED_CODE_TTL,
        failed_secret_window: EMBEDDED_FAILED_SECRET_WINDOW,
        defects: embedded.defects.clone(),
        variants: embedded.variants.clone(),
        rate_limit_window: embedded
            .rate_limit_window
            .unwrap_or(defaults.rate_limit_window),
        layout: embedded.layout,
        clients,
        // Client ID metadata documents served by the harness itself live on loopback http.
        allow_loopback_http_client_ids: true,
        replicas: EMBEDDED_REPLICAS,
        ..Default::default()
    };
    let server = reference_server::start(config).await.map_err(|e| {
        RunError::Harness(format!("cannot start the embedded reference server: {e}"))
    })?;
    let url = Url::parse(&server.urls.mcp)
        .map_err(|e| RunError::Harness(format!("the embedded reference server's URL: {e}")))?;
    if !quiet {
        eprintln!("Target: {}", embedded.describe(&url));
    }
    Ok((url, server))
}

/// The profile's login driver, told how many logins the run takes.
fn login_driver(plan: &Plan) -> Result<SharedDriver, RunError> {
    login::build(DriverSetup {
        login: &plan.login.table,
        credentials: plan.login.credentials.clone(),
        secrets: &plan.secrets,
        max_steps: plan.login.max_steps,
        redirect_uri: plan.client.redirect_uri.clone(),
        timeout: plan.login.timeout,
        expected_logins: plan.needs.logins,
    })
    .map_err(RunError::Usage)
}

/// A client ID metadata document client (`registration = "cimd"`): before the run, its
/// document must be reachable, name itself, and list the redirect URI the run uses. A mistake
/// here is the profile's, so it is a usage error.
async fn check_client_document(http: &Http, client: &RegisteredClient) -> Result<(), RunError> {
    let url = parse_http_url("client.client_id", &client.client_id).map_err(RunError::Usage)?;
    http.hosts().learn(&url);
    let what = format!("the client ID metadata document {url}");
    let resp = http
        .send(Request::get(url.clone()))
        .await
        .map_err(|e| RunError::Usage(format!("{what} cannot be fetched: {e}")))?;
    if !resp.status.is_success() {
        return Err(RunError::Usage(format!(
            "{what} answered {}",
            resp.status.as_u16()
        )));
    }
    let doc = resp
        .json_object()
        .map_err(|e| RunError::Usage(format!("{what}: {e}")))?;
    if doc.get("client_id").and_then(|v| v.as_str()) != Some(url.as_str()) {
        return Err(RunError::Usage(format!(
            "{what} does not name itself as its client_id"
        )));
    }
    let listed = doc
        .get("redirect_uris")
        .and_then(|v| v.as_array())
        .is_some_and(|uris| {
            uris.iter()
                .any(|u| u.as_str() == Some(client.redirect_uri.as_str()))
        });
    if !listed {
        return Err(RunError::Usage(format!(
            "{what} does not list the profile's redirect URI {} in redirect_uris",
            client.redirect_uri
        )));
    }
    Ok(())
}

/// One request before anything else: a target that cannot be reached stops the run with a
/// clear message instead of seventy errors.
async fn preflight(http: &Http, target: &Url, revision: Revision) -> Result<(), RunError> {
    let mcp = McpClient::new(http.fork(), target.clone(), revision);
    mcp.send(&mcp.opening())
        .await
        .map(drop)
        .map_err(|e| RunError::Harness(format!("the target cannot be reached: {e}")))?;
    Ok(())
}
