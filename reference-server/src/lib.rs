//! A strict OAuth 2.1 authorization server plus MCP resource server: the known-good baseline of
//! mcp-oauth-conformance. Requirement IDs in comments (`PKCE-06`, …) refer to the project's
//! requirement catalogue.
//!
//! `start(config)` binds 127.0.0.1 and serves; `app(config)` gives the router for `oneshot` tests.
//!
//! The modules form layers, and each imports only modules listed before it (no cycles):
//!
//! 1. leaves: `protocol` (the values the server supports), `layout`, `clock`, `error`,
//!    `params`, `pages`;
//! 2. `defects`, `urls`, `limits`, `crypto`, `store` (in memory or in Redis), `tls`, then
//!    `config`;
//! 3. the machinery the endpoints share: `cimd` (metadata document fetcher), `mcp` (the MCP
//!    protocol behind the OAuth layer), then `state`, and the checks both the authorization
//!    and the token endpoint make: `pkce`, `scope`, `resource_binding`;
//! 4. the endpoints: `metadata` (discovery), `register`, `authorize`, `token`, `resource` (the
//!    MCP endpoints as protected resources);
//! 5. `serve` (the limits every request and connection is held to), `replicas` (further
//!    instances of the AS), this root, which routes the endpoints, and `cli`, which starts it.

pub mod authorize;
pub mod cimd;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod defects;
pub mod error;
pub mod family;
pub mod layout;
pub mod limits;
pub mod mcp;
pub mod metadata;
pub mod pages;
pub mod params;
pub mod pkce;
pub mod protocol;
pub mod register;
pub mod replicas;
pub mod resource;
pub mod resource_binding;
pub mod scope;
pub mod serve;
pub mod state;
pub mod store;
pub mod tls;
pub mod token;
pub mod urls;
pub mod variants;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Config, LoginPage};
pub use defects::{Defect, Defects};
pub use layout::Layout;
pub use urls::{ServerUrls, Urls};
pub use variants::{Variant, Variants};

pub use state::{AppState, SharedState, StartError};
pub use tls::install_crypto_provider;

/// The login route: the form's POST, and the page itself on its own URL where the
/// `login-other-origin` variant sends the user there.
fn login_routes(state: &SharedState) -> axum::routing::MethodRouter<SharedState> {
    if state.variant(Variant::LoginOtherOrigin) {
        get(authorize::login_form).post(authorize::login)
    } else {
        post(authorize::login)
    }
}

/// The routes of the authorization server, at the paths the layout gives them.
pub fn as_router(state: SharedState) -> Router {
    let u = &state.urls;
    let mut r = Router::new()
        .route(&u.as_route("authorize"), get(authorize::authorize))
        .route(&u.as_route("login"), login_routes(&state))
        .route(
            &u.as_route("consent"),
            get(authorize::consent_page).post(authorize::consent_decision),
        )
        .route(
            &u.as_route("token"),
            post(token::token).fallback(token::wrong_method),
        )
        .route(&u.as_route("jwks"), get(metadata::jwks));
    if variants::offered::revocation_offered(&state) {
        r = r.route(&u.as_route("revoke"), post(token::revoke));
    }
    // RFC 7662, for the MCP server and clients to look opaque tokens up.
    if state.opaque_access_tokens() {
        r = r.route(&u.as_route("introspect"), post(token::introspect));
    }
    if register::offered(&state) {
        r = r.route(&u.as_route("register"), post(register::register));
    }
    if state.config.login_page == LoginPage::Js {
        r = r.route(&u.as_route(pages::LOGIN_SCRIPT), get(pages::login_script));
    }
    if state.variant(Variant::LoginNeedsScripts) {
        r = r.route(
            &u.as_route(pages::LOGIN_SUBMIT_SCRIPT),
            get(pages::login_submit_script),
        );
    }
    if state.variant(Variant::LoginContinuePage) {
        r = r.route(
            &u.as_route(authorize::SIGNED_IN_ROUTE),
            get(authorize::signed_in_page),
        );
    }
    // ASM-02: the AS publishes metadata: OpenID Connect discovery always, ...
    if !state.defect(Defect::AsMetadataMissing) {
        r = r.route(&u.oidc_route(), get(metadata::openid_configuration));
    }
    // ... ASM-01: and RFC 8414 metadata, but in the `oidc-only` layout.
    if state.urls.layout != Layout::OidcOnly
        && !state.defect(Defect::Rfc8414MetadataMissing)
        && !state.defect(Defect::AsMetadataMissing)
        && !state.defect(Defect::LegacyDefaultEndpointsMissing)
    {
        // LEG-01: in 2025-03-26 the metadata sits at the authorization base URL (the
        // `legacy-metadata-misplaced` defect serves it below the MCP path instead).
        let route = if state.defect(Defect::LegacyMetadataMisplaced) {
            format!("{}{}", urls::WK_AS, urls::MCP_PATH)
        } else {
            u.as_metadata_route()
        };
        r = r.route(&route, get(metadata::oauth_metadata));
    }
    r.layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            variants::shapes::layer,
        ))
        .with_state(state)
}

/// The routes of the two MCP servers (protected resources) and their metadata.
pub fn rs_router(state: SharedState) -> Router {
    let mut r = Router::new()
        .route(urls::MCP_PATH, any(resource::mcp_primary))
        .route(urls::MCP_ALT_PATH, any(resource::mcp_alt));
    // PRM-07: every MCP server publishes its protected resource metadata (RFC 9728; not in the
    // 2025-03-26 layout), PRM-05: at its path-inserted well-known URL.
    if state.urls.layout.publishes_prm() && !state.defect(Defect::PrmMissing) {
        r = r.route(&Urls::prm_route(urls::MCP_ALT_PATH), get(metadata::prm_alt));
        r = if state.prm_at_root_only() {
            r.route(urls::WK_PRM, get(metadata::prm_primary))
        } else {
            r.route(&Urls::prm_route(urls::MCP_PATH), get(metadata::prm_primary))
        };
        if state.config.root_prm && !state.prm_at_root_only() {
            r = r.route(urls::WK_PRM, get(metadata::prm_primary));
        } else if state.defect(Defect::PrmRootNamesOtherResource) {
            // PRM-06: a root document describes the origin or the MCP server, never another one.
            r = r.route(urls::WK_PRM, get(metadata::prm_alt));
        }
    }
    r.layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            variants::shapes::layer,
        ))
        .with_state(state)
}

/// Every route on one router (the AS and both resources).
pub fn router(state: SharedState) -> Router {
    rs_router(state.clone()).merge(as_router(state))
}

/// The whole server as one router, for `oneshot` tests: every origin is taken to be
/// `http://127.0.0.1:{config.port}`, and nothing is bound.
pub fn app(config: Config) -> Result<Router, StartError> {
    let origin = format!("http://127.0.0.1:{}", config.port);
    let urls = Urls::new(config.layout, origin.clone(), origin)
        .with_issuer_trailing_slash(config.variants.has(Variant::IssuerTrailingSlash));
    let state = Arc::new(AppState::new(config, urls)?);
    Ok(serve::protect(router(state.clone()), &state.config))
}

/// A server started by [`start`]. Dropping it without [`RunningServer::shutdown`] also stops it.
pub struct RunningServer {
    /// The URLs (all `https://` with `tls`), and `ca_cert`, the CA certificate file, with `tls`.
    pub urls: ServerUrls,
    /// The CA certificate (PEM) clients must trust, with `tls`.
    pub ca_cert_pem: Option<String>,
    pub state: SharedState,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// The CA file to remove at shutdown: one the server chose itself in the temp dir.
    temp_ca_file: Option<PathBuf>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, and waits for the listeners to close.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
        self.remove_temp_ca_file();
    }

    fn remove_temp_ca_file(&mut self) {
        if let Some(path) = self.temp_ca_file.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.remove_temp_ca_file();
    }
}

async fn bind(port: u16, scheme: &str) -> Result<(TcpListener, String), StartError> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|source| StartError::Bind { port, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { port, source })?;
    Ok((listener, format!("{scheme}://{addr}")))
}

/// Binds 127.0.0.1 (port 0 takes a free port), and serves until shut down. With `config.tls`
/// every listener serves HTTPS, and the CA certificate is written before this returns.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    if config.ca_out.is_some() && !config.tls {
        return Err(StartError::Tls(
            "a CA certificate file is only written with TLS on".into(),
        ));
    }
    let tls = if config.tls {
        install_crypto_provider();
        Some(tls::generate().map_err(StartError::Tls)?)
    } else {
        None
    };
    if config.public_url.is_some() && config.layout == Layout::Split {
        return Err(StartError::Store(
            "a public URL names one origin: not with the split layout".into(),
        ));
    }
    let route_header = replicas::route_header(&config)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let (main_listener, main_origin) = bind(config.port, scheme).await?;
    let as_listener = if config.layout == Layout::Split {
        Some(bind(config.as_port, scheme).await?)
    } else {
        None
    };
    // The further instances of the AS (`--replicas`), each on a free port.
    let mut replica_listeners = Vec::with_capacity(config.replicas);
    for _ in 0..config.replicas {
        replica_listeners.push(bind(0, scheme).await?);
    }
    // The CA file: where asked, or in the temp dir (then removed at shutdown).
    let mut temp_ca_file = None;
    let ca_cert = match &tls {
        Some(material) => {
            let port = main_listener
                .local_addr()
                .map(|a| a.port())
                .unwrap_or(config.port);
            let (path, chosen) = match &config.ca_out {
                Some(p) => (p.clone(), false),
                None => (tls::default_ca_path(port), true),
            };
            let written =
                tls::write_ca(&path, &material.ca_pem).map_err(|source| StartError::CaOut {
                    path: path.display().to_string(),
                    source,
                })?;
            if chosen {
                temp_ca_file = Some(written.clone());
            }
            Some(written.to_string_lossy().into_owned())
        }
        None => None,
    };
    // Behind a load balancer, the origin it is reached at.
    let main_origin = config.public_url.clone().unwrap_or(main_origin);
    let as_origin = as_listener
        .as_ref()
        .map(|(_, o)| o.clone())
        .unwrap_or_else(|| main_origin.clone());
    let urls = Urls::new(config.layout, main_origin, as_origin)
        .with_issuer_trailing_slash(config.variants.has(Variant::IssuerTrailingSlash));
    let states = match AppState::connect(config, urls).await {
        Ok(s) => {
            let s = Arc::new(s);
            replicas::instance_states(&s, replica_listeners.len()).map(|r| (s, r))
        }
        Err(e) => Err(e),
    };
    let (state, replica_states) = match states {
        Ok(s) => s,
        Err(e) => {
            if let Some(p) = &temp_ca_file {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
    };
    let (tx, rx) = watch::channel(false);

    let rustls = tls.as_ref().map(|m| m.server_config.clone());
    // Each instance is named by its place: 0 the one the metadata names, then the replicas.
    let instance = |r: Router, s: &SharedState, index: usize| {
        let r = replicas::serving(r, s, replicas::instance_name(s, index));
        replicas::with_propagation(r, s)
    };
    let protected = |r: Router, s: &SharedState, index: usize| {
        serve::protect(instance(r, s, index), &state.config)
    };
    // With a route header, the AS listener reaches every instance, as a load balancer would.
    let routed = |r: Router| {
        let r = instance(r, &state, 0);
        let r = match &route_header {
            Some(header) => {
                let instances = replica_states
                    .iter()
                    .enumerate()
                    .map(|(i, s)| instance(router(s.clone()), s, i + 1))
                    .collect();
                replicas::with_routes(r, header.clone(), instances)
            }
            None => r,
        };
        serve::protect(r, &state.config)
    };
    let mut tasks = Vec::new();
    // The further instances of the AS: every route, at the paths the metadata gives.
    let mut replica_origins = Vec::new();
    for (i, ((listener, origin), replica)) in replica_listeners
        .into_iter()
        .zip(&replica_states)
        .enumerate()
    {
        tasks.push(serve::spawn(
            listener,
            protected(router(replica.clone()), replica, i + 1),
            rx.clone(),
            rustls.clone(),
            &state.config,
        ));
        replica_origins.push(origin);
    }
    match as_listener {
        Some((as_l, _)) => {
            tasks.push(serve::spawn(
                main_listener,
                protected(rs_router(state.clone()), &state, 0),
                rx.clone(),
                rustls.clone(),
                &state.config,
            ));
            tasks.push(serve::spawn(
                as_l,
                routed(as_router(state.clone())),
                rx,
                rustls,
                &state.config,
            ));
        }
        None => tasks.push(serve::spawn(
            main_listener,
            routed(router(state.clone())),
            rx,
            rustls,
            &state.config,
        )),
    }
    tracing::info!(
        instance = %state.config.instance_id,
        store = ?state.config.store,
        layout = state.urls.layout.name(),
        tls = tls.is_some(),
        "reference server ready"
    );
    let mut printable = state.urls.printable();
    printable.ca_cert = ca_cert;
    printable.replicas = replica_origins;
    printable.route_header = state.config.route_header.clone();
    Ok(RunningServer {
        urls: printable,
        ca_cert_pem: tls.map(|m| m.ca_pem),
        state,
        shutdown: tx,
        tasks,
        temp_ca_file,
    })
}
