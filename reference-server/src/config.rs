//! What the server is told at start. Everything it advertises is derived from this.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::defects::Defects;
use crate::layout::Layout;
use crate::protocol::{self, AuthMethod, GrantType};
use crate::store::Client;
use crate::variants::Variants;

/// How the login page is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LoginPage {
    /// A plain HTML form.
    #[default]
    Html,
    /// No form in the HTML: a script served by the AS builds the same form, shortly after load.
    Js,
}

impl LoginPage {
    pub fn name(self) -> &'static str {
        match self {
            LoginPage::Html => "html",
            LoginPage::Js => "js",
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
    /// Further instances of the authorization server, each on a free loopback port of its
    /// own, serving the same routes from the same state (but under the `store-per-instance`
    /// defect, each from a store of its own).
    pub replicas: usize,
    /// A header by which the AS listener routes a request to one instance, as a load balancer
    /// would: `NAME: i` is served by instance `i` (0, or no header, the one the metadata
    /// names; 1 to `replicas`, the further ones). `None`: no routing by header.
    pub route_header: Option<String>,
    pub layout: Layout,
    pub username: String,
    pub password: String,
    /// How long an authorization code lives.
    pub code_ttl: Duration,
    /// How long an access token lives.
    pub access_token_ttl: Duration,
    /// How long a refresh token lives.
    pub refresh_token_ttl: Duration,
    /// TOK-10: how long a client's wrong secrets are remembered after the last one; past ten
    /// of them, each within this window of the one before, its token requests get 429 until a
    /// whole window has passed without a wrong secret.
    pub failed_secret_window: Duration,
    /// How long a pending authorization request (login and consent) lives.
    pub login_ttl: Duration,
    /// Registrations allowed per client IP per minute; 0 means unlimited.
    pub registration_rate_limit: u32,
    /// How long a registered client is kept until it is first used.
    pub unused_client_ttl: Duration,
    /// How long a registered client is kept once used.
    pub client_ttl: Duration,
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
    /// How long a request may take, from its headers to the response's (not its body: the
    /// event streams stay open).
    pub request_timeout: Duration,
    /// How long a client may take to send a request's headers. On a kept-alive connection the
    /// time counts from the end of the previous response, so this also closes idle
    /// connections: it stays above the idle timeout of common clients' pools (90 s), or a
    /// client would now and then send a request on a connection the server is closing.
    pub header_read_timeout: Duration,
    /// The most header fields a request may carry.
    pub max_headers: usize,
    /// The largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
    /// The most connections served at once on each listener; more wait to be accepted.
    pub max_connections: usize,
    /// Behaviours broken on purpose, to prove the conformance suite can fail (none by default).
    pub defects: Defects,
    /// Behaviours the specifications allow, switched on to prove the suite passes them (none by
    /// default).
    pub variants: Variants,
    /// The window of the rate-limit variants.
    pub rate_limit_window: Duration,
    /// Clients registered before start (`--clients FILE`), kept for the server's lifetime.
    pub clients: Vec<PreRegisteredClient>,
    /// No dynamic client registration: no registration endpoint, none in the metadata.
    pub no_dcr: bool,
    /// Serve HTTPS on every listener, with a CA and server certificate made at start.
    pub tls: bool,
    /// Where the CA certificate (PEM) is written with `tls`; `None` picks a file in the temp dir.
    /// Only meaningful with `tls`.
    pub ca_out: Option<PathBuf>,
    /// How the login page is made.
    pub login_page: LoginPage,
    /// Where the state lives: in memory (the default), or in a Redis that several instances
    /// share (`--store redis://…`).
    pub store: StoreBackend,
    /// This instance's name in the logs (several instances may share one store).
    pub instance_id: String,
    /// The access-token signing key (PEM, PKCS #8, P-256); `None`: a key generated at start.
    /// Instances behind one issuer share one.
    pub signing_key: Option<PathBuf>,
    /// The origin the server advertises (its URLs, issuer and metadata) instead of the address
    /// it is bound to: where a load balancer in front of it is reached. Not with `split`.
    pub public_url: Option<String>,
}

/// Where the server keeps its state.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum StoreBackend {
    /// In the process: bounded tables (`store_capacity` entries each).
    #[default]
    Memory,
    /// A Redis server, by URL (`redis://host:port/db`, or `rediss://` with TLS).
    Redis(String),
}

impl std::fmt::Debug for StoreBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreBackend::Memory => f.write_str("Memory"),
            StoreBackend::Redis(url) => write!(f, "Redis({})", crate::store::redis::redacted(url)),
        }
    }
}

impl std::str::FromStr for StoreBackend {
    type Err = String;

    /// `memory`, or a `redis://` / `rediss://` URL.
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "memory" {
            return Ok(StoreBackend::Memory);
        }
        match url::Url::parse(s) {
            Ok(u) if matches!(u.scheme(), "redis" | "rediss") && u.host_str().is_some() => {
                Ok(StoreBackend::Redis(s.to_string()))
            }
            _ => Err("expected `memory` or a Redis URL such as redis://127.0.0.1:6379/0".into()),
        }
    }
}

/// Checks a `--public-url`: an http(s) origin, with no path, query or fragment. Returns it
/// without a trailing slash.
pub fn check_public_url(s: &str) -> Result<String, String> {
    let u = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err("expected an http:// or https:// origin".into());
    }
    if u.path() != "/" || u.query().is_some() || u.fragment().is_some() || !u.username().is_empty()
    {
        return Err("expected an origin only (scheme, host and port), without a path".into());
    }
    Ok(u.as_str().trim_end_matches('/').to_string())
}

impl Config {
    /// `client_id`'s own access-token lifetime, if it is a pre-registered client with one
    /// (else its tokens live [`Config::access_token_ttl`]).
    pub fn own_access_token_ttl(&self, client_id: &str) -> Option<Duration> {
        self.clients
            .iter()
            .find(|c| c.client_id == client_id)
            .and_then(|c| c.access_token_ttl)
    }

    /// How long `client_id`'s authorization codes live: its own lifetime if it is a
    /// pre-registered client with one, else [`Config::code_ttl`].
    pub fn code_ttl_of(&self, client_id: &str) -> Duration {
        self.clients
            .iter()
            .find(|c| c.client_id == client_id)
            .and_then(|c| c.code_ttl)
            .unwrap_or(self.code_ttl)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            as_port: 0,
            replicas: 0,
            route_header: None,
            layout: Layout::SameOrigin,
            username: DEFAULT_USERNAME.to_string(),
            password: DEFAULT_PASSWORD.to_string(),
            code_ttl: Duration::from_secs(60),
            access_token_ttl: Duration::from_secs(300),
            refresh_token_ttl: Duration::from_secs(90 * 24 * 3600),
            failed_secret_window: Duration::from_secs(60),
            login_ttl: Duration::from_secs(600),
            registration_rate_limit: 600,
            unused_client_ttl: Duration::from_secs(600),
            client_ttl: Duration::from_secs(90 * 24 * 3600),
            allow_loopback_http_client_ids: false,
            cimd_fetch_timeout: Duration::from_secs(5),
            cimd_max_bytes: 5 * 1024,
            root_prm: false,
            store_capacity: 100_000,
            max_body_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(120),
            max_headers: 100,
            max_header_bytes: 16 * 1024,
            max_connections: 1024,
            defects: Defects::none(),
            variants: Variants::none(),
            rate_limit_window: Duration::from_secs(60),
            clients: Vec::new(),
            no_dcr: false,
            tls: false,
            ca_out: None,
            login_page: LoginPage::Html,
            store: StoreBackend::Memory,
            instance_id: crate::crypto::random_token(4),
            signing_key: None,
            public_url: None,
        }
    }
}

pub const DEFAULT_USERNAME: &str = "alice";
pub const DEFAULT_PASSWORD: &str = "wonderland";

/// The scopes this server knows, for whoever configures a client of it.
pub use crate::protocol::{SCOPE_READ, SCOPE_WRITE, SCOPES_SUPPORTED};

/// A client known from the start rather than registered (`--clients FILE`). Validated by
/// [`PreRegisteredClient::validate`] (which [`load_clients`] calls) with the rules registration
/// applies.
#[derive(Clone)]
pub struct PreRegisteredClient {
    pub client_id: String,
    pub secret: Option<String>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// How long this client's access tokens live, when not [`Config::access_token_ttl`] (the
    /// embedded suite's client for RS-06, whose tokens expire within a second).
    pub access_token_ttl: Option<Duration>,
    /// How long this client's authorization codes live, when not [`Config::code_ttl`] (the
    /// embedded suite's client for REPL-07, whose codes expire within a second).
    pub code_ttl: Option<Duration>,
}

impl std::fmt::Debug for PreRegisteredClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreRegisteredClient")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("auth_method", &self.auth_method)
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("code_ttl", &self.code_ttl)
            .finish()
    }
}

/// The grants a pre-registered client gets when its entry names none.
pub const DEFAULT_CLIENT_GRANTS: [&str; 2] = [
    GrantType::AuthorizationCode.as_str(),
    GrantType::RefreshToken.as_str(),
];

impl PreRegisteredClient {
    /// A public client (`none`) of the code and refresh grants, for `redirect_uris`.
    pub fn public(client_id: &str, redirect_uris: &[&str]) -> Self {
        PreRegisteredClient {
            client_id: client_id.into(),
            secret: None,
            auth_method: AuthMethod::None,
            redirect_uris: redirect_uris.iter().map(|u| u.to_string()).collect(),
            grant_types: DEFAULT_CLIENT_GRANTS
                .iter()
                .map(|g| g.to_string())
                .collect(),
            access_token_ttl: None,
            code_ttl: None,
        }
    }

    /// The same client, its access tokens living `ttl`.
    pub fn with_access_token_ttl(self, ttl: Duration) -> Self {
        PreRegisteredClient {
            access_token_ttl: Some(ttl),
            ..self
        }
    }

    /// The same client, its authorization codes living `ttl`.
    pub fn with_code_ttl(self, ttl: Duration) -> Self {
        PreRegisteredClient {
            code_ttl: Some(ttl),
            ..self
        }
    }

    /// A confidential client authenticating with `method` and `secret`.
    pub fn confidential(
        client_id: &str,
        secret: &str,
        method: AuthMethod,
        redirect_uris: &[&str],
    ) -> Self {
        PreRegisteredClient {
            secret: Some(secret.into()),
            auth_method: method,
            ..PreRegisteredClient::public(client_id, redirect_uris)
        }
    }

    /// Checks the entry with the rules dynamic registration applies (redirect URIs, grants,
    /// a secret exactly when the method needs one).
    pub fn validate(&self) -> Result<(), String> {
        let id = &self.client_id;
        if id.is_empty() {
            return Err("client_id must not be empty".into());
        }
        if protocol::is_document_url(id) {
            return Err(format!(
                "client {id:?}: a client_id that is an https URL is a client ID metadata document, not a pre-registered client"
            ));
        }
        match (self.auth_method, &self.secret) {
            (AuthMethod::None, Some(_)) => {
                return Err(format!(
                    "client {id:?}: token_endpoint_auth_method \"none\" takes no secret"
                ));
            }
            (m, None) if m != AuthMethod::None => {
                return Err(format!(
                    "client {id:?}: token_endpoint_auth_method {:?} needs client_secret_env",
                    m.as_str()
                ));
            }
            (_, Some(s)) if s.is_empty() => {
                return Err(format!("client {id:?}: the client secret is empty"));
            }
            _ => {}
        }
        if self.grant_types.is_empty() {
            return Err(format!("client {id:?}: grant_types is empty"));
        }
        for g in &self.grant_types {
            if GrantType::parse(g).is_none() {
                return Err(format!("client {id:?}: grant type {g:?} is not supported"));
            }
        }
        let code_grant = self.allows(GrantType::AuthorizationCode);
        if self.allows(GrantType::RefreshToken) && !code_grant {
            return Err(format!(
                "client {id:?}: refresh_token needs the authorization_code grant"
            ));
        }
        if self.auth_method == AuthMethod::None && self.allows(GrantType::ClientCredentials) {
            return Err(format!(
                "client {id:?}: client_credentials requires a confidential client"
            ));
        }
        if code_grant && self.redirect_uris.is_empty() {
            return Err(format!(
                "client {id:?}: redirect_uris is required for the authorization_code grant"
            ));
        }
        for uri in &self.redirect_uris {
            protocol::check_redirect_uri(uri).map_err(|e| format!("client {id:?}: {e}"))?;
        }
        Ok(())
    }

    fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.iter().any(|g| g == grant.as_str())
    }

    /// The store's entry for this client.
    pub fn to_client(&self) -> Client {
        Client {
            client_id: self.client_id.clone(),
            secret: self.secret.clone(),
            auth_method: self.auth_method,
            redirect_uris: self.redirect_uris.clone(),
            grant_types: self.grant_types.clone(),
            client_name: None,
            from_metadata_document: false,
            exact_loopback_port: false,
        }
    }
}

/// The file `--clients` names: `[[client]]` entries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientsFile {
    #[serde(default)]
    client: Vec<ClientEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    client_id: String,
    /// The environment variable holding the secret (never the secret itself).
    client_secret_env: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
}

/// Reads a clients file (TOML). Secrets come from the environment variables it names.
pub fn load_clients(path: &Path) -> Result<Vec<PreRegisteredClient>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_clients(&text, |var| std::env::var(var).ok())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a clients file; `env` looks up the variables named by `client_secret_env`.
pub fn parse_clients(
    text: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<PreRegisteredClient>, String> {
    let file: ClientsFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| {
                format!(
                    " (line {})",
                    text[..s.start.min(text.len())].matches('\n').count() + 1
                )
            })
            .unwrap_or_default();
        format!("{}{line}", e.message().trim())
    })?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for entry in file.client {
        let id = entry.client_id;
        if !seen.insert(id.clone()) {
            return Err(format!("client {id:?} is listed twice"));
        }
        let secret = match &entry.client_secret_env {
            Some(var) => Some(env(var).ok_or_else(|| {
                format!("client {id:?}: client_secret_env names {var}, which is not set")
            })?),
            None => None,
        };
        let auth_method = match entry.token_endpoint_auth_method.as_deref() {
            Some(m) => AuthMethod::parse(m).ok_or_else(|| {
                format!(
                    "client {id:?}: token_endpoint_auth_method {m:?} is not one of {}",
                    protocol::AUTH_METHODS.join(", ")
                )
            })?,
            None if secret.is_some() => AuthMethod::ClientSecretBasic,
            None => AuthMethod::None,
        };
        let client = PreRegisteredClient {
            client_id: id,
            secret,
            auth_method,
            redirect_uris: entry.redirect_uris,
            grant_types: entry.grant_types.unwrap_or_else(|| {
                DEFAULT_CLIENT_GRANTS
                    .iter()
                    .map(|g| g.to_string())
                    .collect()
            }),
            access_token_ttl: None,
            code_ttl: None,
        };
        client.validate()?;
        out.push(client);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(var: &str) -> Option<String> {
        (var == "SECRET").then(|| "s3cret-value".to_string())
    }

    #[test]
    fn a_clients_file_parses_with_defaults() {
        let c = parse_clients(
            r#"
[[client]]
client_id = "pub"
redirect_uris = ["http://127.0.0.1:33418/callback"]

[[client]]
client_id = "conf"
client_secret_env = "SECRET"
redirect_uris = ["https://app.example/cb"]
"#,
            env,
        )
        .expect("parses");
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].auth_method, AuthMethod::None);
        assert_eq!(c[0].grant_types, DEFAULT_CLIENT_GRANTS);
        assert_eq!(c[1].auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(c[1].secret.as_deref(), Some("s3cret-value"));
        assert!(!format!("{:?}", c[1]).contains("s3cret"));
    }

    #[test]
    fn mistakes_in_a_clients_file_are_named() {
        let cases = [
            (
                "[[client]]\nclient_id = \"a\"\nredirect_uri = \"x\"",
                "redirect_uri",
            ),
            (
                "[[client]]\nclient_id = \"a\"\nclient_secret_env = \"NOPE\"\nredirect_uris = [\"https://a.example/cb\"]",
                "NOPE",
            ),
            (
                "[[client]]\nclient_id = \"a\"\nredirect_uris = [\"http://evil.example/cb\"]",
                "not loopback",
            ),
            (
                "[[client]]\nclient_id = \"a\"\nredirect_uris = [\"https://a.example/cb\"]\ntoken_endpoint_auth_method = \"client_secret_basic\"",
                "client_secret_env",
            ),
            (
                "[[client]]\nclient_id = \"a\"\nredirect_uris = [\"https://a.example/cb\"]\ntoken_endpoint_auth_method = \"private_key_jwt\"",
                "private_key_jwt",
            ),
            (
                "[[client]]\nclient_id = \"a\"\nredirect_uris = [\"https://a.example/cb\"]\ngrant_types = [\"password\"]",
                "password",
            ),
            (
                "[[client]]\nclient_id = \"a\"\nredirect_uris = [\"https://a.example/cb\"]\n[[client]]\nclient_id = \"a\"\nredirect_uris = [\"https://a.example/cb\"]",
                "twice",
            ),
            ("[[client]]\nclient_id = \"a\"", "redirect_uris is required"),
            (
                "[[client]]\nredirect_uris = [\"https://a.example/cb\"]",
                "client_id",
            ),
        ];
        for (text, needle) in cases {
            let e = parse_clients(text, env).expect_err(text);
            assert!(e.contains(needle), "{text}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }
}
