//! The target profile (`--config FILE`, TOML): credentials, limits and the optional facts about
//! a target the harness cannot discover on its own. Every field has a default, so a profile
//! holds only what differs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::client::login::is_loopback;
use crate::client::mcp::Revision;
use crate::client::redact::Secret;

/// The `[login]` section is defined next to the login drivers that read it.
pub use crate::client::login::config::{DriverKind, Login};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Profile {
    /// The MCP server URL (the `--target` flag wins).
    pub target: Option<String>,
    /// The MCP revision to speak (the `--spec` flag wins). Default 2025-11-25.
    pub revision: Option<String>,
    /// Scenarios run at once (the `--concurrency` flag wins).
    pub concurrency: Option<usize>,
    /// What the exit code gates on: security, interop or all (the `--fail-on` flag wins).
    pub fail_on: Option<String>,
    pub limits: Limits,
    pub login: Login,
    pub client: Client,
    pub resources: Resources,
    pub replicas: Replicas,
    pub scope_check: Option<ScopeCheck>,
    /// The only hosts the runner contacts (discovery, redirects, login pages). Default: the
    /// target's host plus the authorization server hosts its metadata names. `*.example.com`
    /// matches every subdomain of example.com.
    pub allowed_hosts: Option<Vec<String>>,
    pub tls: Tls,
    pub load: Load,
}

/// The `[load]` table: what the `load` command may do with this target.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Load {
    /// The target may be loaded although it is not on loopback (as `--yes` does).
    pub allowed: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Tls {
    /// A PEM file of extra CA certificates to trust (the `--ca-cert` flag wins).
    pub ca_cert: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Per-request timeout.
    pub timeout_secs: u64,
    /// The largest response body read.
    pub max_body_bytes: usize,
    /// The most redirects one authorization may follow.
    pub max_redirects: usize,
    /// The longest RS-06 waits for a token to expire, and REPL-07 for codes to; longer-lived
    /// tokens skip RS-06, and longer-lived codes REPL-07.
    pub max_expiry_wait_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_secs: 10,
            max_body_bytes: 1024 * 1024,
            max_redirects: 10,
            max_expiry_wait_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Client {
    /// How the run gets its client: `dynamic` (RFC 7591 registration; the default without
    /// `client_id`), `pre-registered` (the default with `client_id`) or `cimd` (`client_id` is
    /// the URL of a client ID metadata document you publish).
    pub registration: Option<RegistrationKind>,
    /// The redirect URI the harness registers. Nothing listens there: the login driver stops at
    /// the redirect and reads it.
    pub redirect_uri: String,
    /// A client registered with the AS beforehand: the run uses it instead of registering one.
    pub client_id: Option<String>,
    /// The environment variable that holds that client's secret (never the secret itself).
    pub client_secret_env: Option<String>,
    /// How that client authenticates at the token endpoint: `none` (the default),
    /// `client_secret_basic` (the default with a secret) or `client_secret_post`.
    pub token_endpoint_auth_method: Option<String>,
}

/// How the run's client comes to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegistrationKind {
    Dynamic,
    PreRegistered,
    Cimd,
}

impl Default for Client {
    fn default() -> Self {
        Client {
            registration: None,
            redirect_uri: "http://127.0.0.1:33418/callback".into(),
            client_id: None,
            client_secret_env: None,
            token_endpoint_auth_method: None,
        }
    }
}

/// The token endpoint authentication methods a pre-registered client may use.
pub const CLIENT_AUTH_METHODS: [&str; 3] = ["none", "client_secret_basic", "client_secret_post"];

/// A client the profile names, with its secret read from the environment.
#[derive(Debug, Clone)]
pub struct PreRegistered {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub token_endpoint_auth_method: String,
}

impl Client {
    fn validate(&self) -> Result<(), String> {
        match (self.registration, &self.client_id) {
            (Some(RegistrationKind::Dynamic), Some(_)) => {
                return Err("client: registration = \"dynamic\" takes no client_id (the run registers its own)".into());
            }
            (Some(RegistrationKind::PreRegistered | RegistrationKind::Cimd), None) => {
                return Err("client: this registration needs client_id".into());
            }
            (Some(RegistrationKind::Cimd), Some(id)) => {
                let u = parse_http_url("client.client_id", id)?;
                // https, or http on loopback for a document served on this machine (to a
                // server under test that accepts those).
                let loopback = is_loopback(&u);
                if (u.scheme() != "https" && !loopback) || u.path() == "/" {
                    return Err(format!(
                        "client.client_id: {id:?} is not a client ID metadata document URL (https, with a path)"
                    ));
                }
                if self.client_secret_env.is_some()
                    || self
                        .token_endpoint_auth_method
                        .as_deref()
                        .is_some_and(|m| m != "none")
                {
                    return Err("client: a client ID metadata document client is public here: no client_secret_env, token_endpoint_auth_method \"none\"".into());
                }
            }
            _ => {}
        }
        if self.client_id.is_none() {
            for (key, set) in [
                ("client_secret_env", self.client_secret_env.is_some()),
                (
                    "token_endpoint_auth_method",
                    self.token_endpoint_auth_method.is_some(),
                ),
            ] {
                if set {
                    return Err(format!("client.{key} needs client.client_id"));
                }
            }
            return Ok(());
        }
        if self.client_id.as_deref() == Some("") {
            return Err("client.client_id must not be empty".into());
        }
        let method = self.auth_method();
        if !CLIENT_AUTH_METHODS.contains(&method) {
            return Err(format!(
                "client.token_endpoint_auth_method: {method:?} is not one of {}",
                CLIENT_AUTH_METHODS.join(", ")
            ));
        }
        match (method, &self.client_secret_env) {
            ("none", Some(_)) => {
                Err("client: token_endpoint_auth_method \"none\" takes no client_secret_env".into())
            }
            ("none", None) | (_, Some(_)) => Ok(()),
            (m, None) => Err(format!(
                "client: token_endpoint_auth_method {m:?} needs client_secret_env"
            )),
        }
    }

    /// The method: as set, else `client_secret_basic` with a secret, else `none`.
    fn auth_method(&self) -> &str {
        match (&self.token_endpoint_auth_method, &self.client_secret_env) {
            (Some(m), _) => m,
            (None, Some(_)) => "client_secret_basic",
            (None, None) => "none",
        }
    }

    /// The pre-registered client, when `client_id` is set; its secret from `client_secret_env`.
    pub fn registration(&self) -> RegistrationKind {
        match (self.registration, &self.client_id) {
            (Some(r), _) => r,
            (None, Some(_)) => RegistrationKind::PreRegistered,
            (None, None) => RegistrationKind::Dynamic,
        }
    }

    pub fn pre_registered(&self) -> Result<Option<PreRegistered>, String> {
        let Some(id) = &self.client_id else {
            return Ok(None);
        };
        let client_secret = match &self.client_secret_env {
            Some(var) => Some(Secret::new(std::env::var(var).map_err(|_| {
                format!("client.client_secret_env names {var}, which is not set")
            })?)),
            None => None,
        };
        Ok(Some(PreRegistered {
            client_id: id.clone(),
            client_secret,
            token_endpoint_auth_method: self.auth_method().to_string(),
        }))
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Resources {
    /// A second protected resource of the same AS, for audience checks (RES-02, RS-07). When
    /// absent, the AS metadata's `protected_resources` is used.
    pub second: Option<String>,
}

/// The `[replicas]` table: the authorization server's instances, for the checks that single
/// use holds across them (REPL-*).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Replicas {
    /// The origins of the instances (`https://as-2.internal`), besides the one the AS
    /// metadata's endpoints reach.
    pub urls: Vec<String>,
    /// The header by which the load balancer in front of the AS metadata's endpoints routes a
    /// request to one instance (`X-Instance`): the header `routes` are values of.
    pub route_header: Option<String>,
    /// The values of `route_header` that reach the instances, one per instance. They may be
    /// combined with `urls`: each entry of either is one instance.
    pub routes: Vec<String>,
    /// How long the authorization server's codes live, which no metadata says: REPL-07 waits
    /// this long (at most `limits.max_expiry_wait_secs`) for two codes to expire.
    pub code_lifetime_secs: Option<u64>,
}

impl Replicas {
    fn validate(&self) -> Result<(), String> {
        use crate::client::replicas::{Instance, route_header};
        for u in &self.urls {
            Instance::parse("replicas.urls", u)?;
        }
        // Without a header here, `--replica-route-header` may name it; the run says so when
        // nothing does.
        if let Some(h) = &self.route_header {
            route_header("replicas.route_header", h)?;
            for r in &self.routes {
                Instance::route(h, "replicas.routes", r)?;
            }
        }
        if self.code_lifetime_secs == Some(0) {
            return Err("replicas.code_lifetime_secs must be at least 1".into());
        }
        Ok(())
    }
}

/// An operation that needs more scope than `narrow_scope` grants (SCOPE-03).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeCheck {
    /// The MCP tool to call.
    pub tool: String,
    /// A scope the AS grants that does not cover the tool.
    pub narrow_scope: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl Profile {
    pub fn load(path: &Path) -> Result<Profile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Profile::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Profile, String> {
        let p: Profile =
            toml::from_str(text).map_err(|e| e.message().to_string() + &location(text, &e))?;
        p.validate()?;
        Ok(p)
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(t) = &self.target {
            parse_http_url("target", t)?;
        }
        if let Some(r) = &self.revision {
            r.parse::<Revision>()?;
        }
        if self.concurrency == Some(0) {
            return Err("concurrency must be at least 1".into());
        }
        if self.limits.timeout_secs == 0 {
            return Err("limits.timeout_secs must be at least 1".into());
        }
        if self.limits.max_body_bytes < 1024 {
            return Err("limits.max_body_bytes must be at least 1024".into());
        }
        parse_http_url("client.redirect_uri", &self.client.redirect_uri)?;
        self.client.validate()?;
        if let Some(s) = &self.resources.second {
            parse_http_url("resources.second", s)?;
        }
        self.replicas.validate()?;
        self.login.validate()?;
        if let Some(hosts) = &self.allowed_hosts {
            for h in hosts {
                crate::client::hosts::HostPattern::parse(h)
                    .map_err(|e| format!("allowed_hosts: {e}"))?;
            }
        }
        Ok(())
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.limits.timeout_secs)
    }
}

fn location(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

/// An absolute http(s) URL, or an error that names the field.
pub fn parse_http_url(field: &str, value: &str) -> Result<Url, String> {
    let u = Url::parse(value)
        .map_err(|e| format!("{field}: {value:?} is not an absolute URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("{field}: {value:?} is not an http or https URL"));
    }
    if u.host_str().is_none() {
        return Err(format!("{field}: {value:?} has no host"));
    }
    Ok(u)
}

#[cfg(test)]
mod tests;
