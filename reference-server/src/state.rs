//! The state every request handler reaches: the configuration, the URLs, the store, the signing
//! key, the MCP sessions and the client ID metadata document fetcher.

use std::sync::Arc;

use crate::cimd;
use crate::config::Config;
use crate::config::StoreBackend;
use crate::crypto::{self, Signer};
use crate::defects::Defect;
use crate::error::OAuthError;
use crate::family::LocalRevocations;
use crate::layout::Layout;
use crate::limits::RegistrationLimiter;
use crate::mcp::McpSessions;
use crate::store::{MemoryStore, RedisStore, Store};
use crate::urls::Urls;
use crate::variants::Variant;
use crate::variants::shapes::Shapes;

/// Everything a request handler can reach.
pub struct AppState {
    pub config: Config,
    pub urls: Urls,
    pub store: Store,
    /// Shared by every instance of the deployment (`--replicas`), so that each verifies the
    /// tokens the others sign.
    pub signer: Arc<Signer>,
    /// Under the `store-per-instance` defect, the deployment's other instances, each with a
    /// store of its own (see [`crate::replicas`]); empty otherwise, when every instance serves
    /// from this one state.
    pub peers: std::sync::OnceLock<Vec<std::sync::Weak<AppState>>>,
    pub mcp_sessions: McpSessions,
    pub cimd: cimd::Fetcher,
    /// What the response-shaping variants remember between requests (rate-limit windows).
    pub shapes: Shapes,
    /// Registrations per client address (`--registration-rate-limit`).
    pub registration_limiter: RegistrationLimiter,
    /// The credentials that got an insufficient_scope challenge (only the
    /// `insufficient-scope-challenge-varies` defect fills it).
    pub challenged_credentials: std::sync::Mutex<std::collections::HashSet<String>>,
    /// What a reuse revoked at this instance alone (only the `family-revocation-per-instance`
    /// defect fills it).
    pub local_revocations: LocalRevocations,
}

pub type SharedState = Arc<AppState>;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not bind 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] crypto::KeyError),
    #[error("could not build the HTTP client for client metadata documents: {0}")]
    HttpClient(String),
    #[error("pre-registered clients: {0}")]
    Clients(String),
    #[error("store: {0}")]
    Store(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("route header: {0}")]
    RouteHeader(String),
    #[error("cannot write the CA certificate to {path}: {source}")]
    CaOut {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// How long pre-registered clients are kept: for as long as the server runs.
const PRE_REGISTERED_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(100 * 365 * 24 * 3600);

impl AppState {
    pub fn new(config: Config, urls: Urls) -> Result<Self, StartError> {
        Self::in_memory(config, urls, None)
    }

    /// A state that signs with `signer`, with a store of its own in memory: another instance
    /// of a deployment whose key is shared (only the `store-per-instance` defect makes one).
    pub fn with_signer(
        config: Config,
        urls: Urls,
        signer: Arc<Signer>,
    ) -> Result<Self, StartError> {
        Self::in_memory(config, urls, Some(signer))
    }

    fn in_memory(
        config: Config,
        urls: Urls,
        signer: Option<Arc<Signer>>,
    ) -> Result<Self, StartError> {
        // Under `store-per-instance` an instance keeps its own store in memory, whatever the
        // configuration names.
        if config.store != StoreBackend::Memory && !config.defects.has(Defect::StorePerInstance) {
            return Err(StartError::Store(
                "a shared store is connected at start (`start`, not `app`)".into(),
            ));
        }
        let memory = MemoryStore::new(config.store_capacity);
        {
            let mut tables = memory.lock();
            for c in &config.clients {
                c.validate().map_err(StartError::Clients)?;
                tables
                    .clients
                    .insert(c.client_id.clone(), c.to_client(), PRE_REGISTERED_LIFETIME)
                    .map_err(|e| StartError::Clients(e.description.into_owned()))?;
            }
        }
        Self::with_store(config, urls, Store::Memory(Arc::new(memory)), signer)
    }

    /// The state with the store the configuration names: with Redis, connected (an
    /// unreachable Redis is an error) and holding the pre-registered clients.
    pub async fn connect(config: Config, urls: Urls) -> Result<Self, StartError> {
        let StoreBackend::Redis(url) = &config.store else {
            return Self::new(config, urls);
        };
        // The `store-per-instance` defect: replicas in this process each keep a store of their
        // own in memory; instances in processes of their own share Redis for what they issue,
        // and each keeps what it spent under keys of its own.
        let per_instance = config.defects.has(Defect::StorePerInstance);
        if per_instance && config.replicas > 0 {
            return Self::new(config, urls);
        }
        let store = RedisStore::connect(
            url,
            &config.instance_id,
            config.variants.has(Variant::OneActiveGrant),
            config.refresh_token_ttl,
            per_instance,
        )
        .await
        .map(Store::Redis)
        .map_err(StartError::Store)?;
        for c in &config.clients {
            c.validate().map_err(StartError::Clients)?;
            store
                .preregister(c.to_client(), PRE_REGISTERED_LIFETIME)
                .await
                .map_err(|e| StartError::Clients(e.description.into_owned()))?;
        }
        Self::with_store(config, urls, store, None)
    }

    /// Another instance of `primary`'s deployment, serving from the same store with the same
    /// key, configuration and URLs, and with a memory of its own (MCP sessions, the
    /// `family-revocation-per-instance` defect's revocations).
    pub fn another_instance(primary: &AppState) -> Result<Self, StartError> {
        Self::with_store(
            primary.config.clone(),
            primary.urls.clone(),
            primary.store.clone(),
            Some(primary.signer.clone()),
        )
    }

    /// Whether an access token was revoked: in the store, or (under the
    /// `family-revocation-per-instance` defect) by a reuse seen at this instance.
    pub async fn access_token_revoked(&self, jti: &str) -> Result<bool, OAuthError> {
        Ok(self.store.access_token_revoked(jti).await?
            || self.local_revocations.access_token_revoked(jti))
    }

    /// The state around `store`, signing with `signer` or else the configured (or a new) key.
    fn with_store(
        config: Config,
        mut urls: Urls,
        store: Store,
        signer: Option<Arc<Signer>>,
    ) -> Result<Self, StartError> {
        // The `legacy-default-endpoints-missing` defect moves the 2025-03-26 endpoints (LEG-02).
        if urls.layout == Layout::Legacy20250326
            && config.defects.has(Defect::LegacyDefaultEndpointsMissing)
        {
            urls.as_route_prefix = "/oauth2".into();
        }
        let signer = match (signer, &config.signing_key) {
            (Some(shared), _) => shared,
            (None, Some(path)) => Arc::new(Signer::from_pem_file(path)?),
            (None, None) => Arc::new(Signer::generate()?),
        };
        Ok(AppState {
            store,
            signer,
            peers: std::sync::OnceLock::new(),
            mcp_sessions: McpSessions::new(config.store_capacity),
            cimd: cimd::Fetcher::new(&config).map_err(StartError::HttpClient)?,
            shapes: Shapes::default(),
            registration_limiter: RegistrationLimiter::new(config.registration_rate_limit),
            challenged_credentials: Default::default(),
            local_revocations: LocalRevocations::new(config.store_capacity),
            config,
            urls,
        })
    }

    /// Whether the server runs with defect `d` (never, by default).
    pub fn defect(&self, d: Defect) -> bool {
        self.config.defects.has(d)
    }

    /// Whether the MCP endpoint's PRM is served only at the root well-known URL: the
    /// `prm-root-only` variant, or the `prm-not-path-inserted` defect (the same behaviour,
    /// which draws PRM-05's warning).
    pub fn prm_at_root_only(&self) -> bool {
        self.defect(Defect::PrmNotPathInserted) || self.variant(Variant::PrmRootOnly)
    }

    /// Whether access tokens are opaque: the `opaque-access-tokens` variant, or the
    /// `revocation-ignored` defect, whose tokens must be opaque for RS-12 to bind.
    pub fn opaque_access_tokens(&self) -> bool {
        self.variant(Variant::OpaqueAccessTokens) || self.defect(Defect::RevocationIgnored)
    }

    /// Whether the server runs with variant `v` (never, by default).
    pub fn variant(&self, v: Variant) -> bool {
        self.config.variants.has(v)
    }
}
