//! What the server is told at start. Everything it advertises is derived from this.

use std::time::Duration;

use crate::defects::Defects;

/// Where the authorization server lives relative to the MCP server, and how it is discovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Layout {
    /// AS and MCP server on one origin; the issuer is the origin.
    #[default]
    SameOrigin,
    /// The AS on its own port, so on an origin of its own.
    Split,
    /// The issuer has a path (`/tenant1`); metadata only at the path-inserted well-known URLs.
    IssuerPath,
    /// No RFC 8414 document: the AS is found only through OpenID Connect discovery.
    OidcOnly,
    /// MCP 2025-03-26: no PRM, metadata at the MCP origin, endpoints `/authorize`, `/token`, `/register`.
    #[value(name = "legacy-2025-03-26")]
    Legacy20250326,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::SameOrigin => "same-origin",
            Layout::Split => "split",
            Layout::IssuerPath => "issuer-path",
            Layout::OidcOnly => "oidc-only",
            Layout::Legacy20250326 => "legacy-2025-03-26",
        }
    }

    /// The path the issuer carries (empty for a root issuer).
    pub fn issuer_path(self) -> &'static str {
        match self {
            Layout::IssuerPath => "/tenant1",
            _ => "",
        }
    }

    /// Whether protected resource metadata (RFC 9728) is published at all.
    pub fn publishes_prm(self) -> bool {
        self != Layout::Legacy20250326
    }

    /// Where the AS endpoints sit below the issuer.
    pub fn endpoint_prefix(self) -> &'static str {
        match self {
            // LEG-02: the 2025-03-26 default endpoints.
            Layout::Legacy20250326 => "",
            _ => "/oauth2",
        }
    }
}

/// The server's configuration. `Config::default()` is the strict, defect-free baseline.
#[derive(Debug, Clone)]
pub struct Config {
    /// Port of the main listener (MCP, and the AS unless the layout is `split`). 0 takes a free port.
    pub port: u16,
    /// Port of the AS listener in the `split` layout. 0 takes a free port.
    pub as_port: u16,
    pub layout: Layout,
    pub username: String,
    pub password: String,
    /// How long an authorization code lives.
    pub code_ttl: Duration,
    /// How long an access token lives.
    pub access_token_ttl: Duration,
    /// How long a refresh token lives.
    pub refresh_token_ttl: Duration,
    /// How long a pending authorization request (login and consent) lives.
    pub login_ttl: Duration,
    /// Registrations allowed per client IP per minute; 0 means unlimited.
    pub registration_rate_limit: u32,
    /// Accept `http://` client ID metadata document URLs on loopback hosts (tests need this).
    pub allow_loopback_http_client_ids: bool,
    /// How long a client ID metadata document fetch may take.
    pub cimd_fetch_timeout: Duration,
    /// The largest client ID metadata document the server reads (CIMD-11).
    pub cimd_max_bytes: usize,
    /// Also serve the primary resource's PRM at the root well-known URL.
    pub root_prm: bool,
    /// The most entries each in-memory table holds.
    pub store_capacity: usize,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// Behaviours broken on purpose, to prove the conformance suite can fail (none by default).
    pub defects: Defects,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            as_port: 0,
            layout: Layout::SameOrigin,
            username: DEFAULT_USERNAME.to_string(),
            password: DEFAULT_PASSWORD.to_string(),
            code_ttl: Duration::from_secs(60),
            access_token_ttl: Duration::from_secs(300),
            refresh_token_ttl: Duration::from_secs(90 * 24 * 3600),
            login_ttl: Duration::from_secs(600),
            registration_rate_limit: 600,
            allow_loopback_http_client_ids: false,
            cimd_fetch_timeout: Duration::from_secs(5),
            cimd_max_bytes: 5 * 1024,
            root_prm: false,
            store_capacity: 100_000,
            max_body_bytes: 64 * 1024,
            defects: Defects::none(),
        }
    }
}

pub const DEFAULT_USERNAME: &str = "alice";
pub const DEFAULT_PASSWORD: &str = "wonderland";

/// The scopes this server knows. `mcp:read` is granted by default; `mcp:write` unlocks `admin`.
pub const SCOPE_READ: &str = "mcp:read";
pub const SCOPE_WRITE: &str = "mcp:write";
pub const SCOPES_SUPPORTED: [&str; 2] = [SCOPE_READ, SCOPE_WRITE];
