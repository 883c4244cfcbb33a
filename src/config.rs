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
mod tests {
    use super::*;
    use crate::client::login::config::{DEFAULT_PASSWORD, DEFAULT_USERNAME};

    #[test]
    fn an_empty_profile_is_all_defaults() {
        let p = Profile::parse("").expect("parses");
        // No credentials but against the embedded reference server, where its test user is.
        assert_eq!(p.login.credentials(false).expect("ok"), (None, None));
        assert_eq!(
            p.login.credentials(true).expect("ok"),
            (
                Some(DEFAULT_USERNAME.to_string()),
                Some(DEFAULT_PASSWORD.to_string())
            )
        );
        assert_eq!(p.limits.max_body_bytes, 1024 * 1024);
    }

    #[test]
    fn a_full_profile_parses() {
        let p = Profile::parse(
            r##"
target = "https://mcp.example.com/mcp"
revision = "2026-07-28"
concurrency = 4
allowed_hosts = ["mcp.example.com", "*.auth.example.com"]
[limits]
timeout_secs = 5
[login]
driver = "form"
username = "bob"
password_env = "BOB_PASSWORD"
[[login.pages]]
url = "/u/login"
fields = { "#username" = "{username}", "#password" = "{password}" }
submit = "button[type=submit]"
[[login.pages]]
url = "/consent"
submit = "button[value=accept]"
[tls]
ca_cert = "ca.pem"
[resources]
second = "https://mcp.example.com/other"
[scope_check]
tool = "delete_everything"
narrow_scope = "read"
"##,
        )
        .expect("parses");
        assert_eq!(p.concurrency, Some(4));
        assert_eq!(
            p.scope_check.expect("scope check").tool,
            "delete_everything"
        );
    }

    #[test]
    fn the_example_profile_parses() {
        let text = include_str!("../fixtures/targets/example.toml");
        let p = Profile::parse(text).expect("fixtures/targets/example.toml parses");
        assert_eq!(
            p.login.password_env.as_deref(),
            Some("MCP_CONFORMANCE_PASSWORD")
        );
        assert_eq!(p.login.pages.len(), 2);
    }

    #[test]
    fn every_fixture_profile_parses_and_the_readme_sample_is_one_of_them() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/targets");
        let mut profiles = 0;
        for entry in std::fs::read_dir(&dir).expect("fixtures/targets") {
            let path = entry.expect("entry").path();
            let name = path.display().to_string();
            // The reference server's clients file is not a profile.
            if path.extension().is_none_or(|e| e != "toml") || name.ends_with("-clients.toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable");
            Profile::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            profiles += 1;
        }
        assert!(profiles >= 5, "{profiles}");
        let readme = include_str!("../README.md");
        let sample = include_str!("../fixtures/targets/form-login.toml");
        let body = sample
            .split_once("\n\n")
            .map(|(_, b)| b)
            .expect("a header comment");
        assert!(
            readme.contains(body),
            "the README's sample profile is fixtures/targets/form-login.toml"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let e = Profile::parse("targt = \"x\"").expect_err("unknown key");
        assert!(e.contains("unknown field"), "{e}");
        assert!(e.contains("line 1"), "{e}");
        let e = Profile::parse("target = \"not a url\"").expect_err("bad url");
        assert!(e.contains("target"), "{e}");
        let e = Profile::parse("revision = \"2024-01-01\"").expect_err("bad revision");
        assert!(e.contains("unknown MCP revision"), "{e}");
        let e = Profile::parse("[limits]\ntimeout_secs = 0").expect_err("zero timeout");
        assert!(e.contains("timeout_secs"), "{e}");
        let e = Profile::parse("[login]\npassword_env = \"NO_SUCH_VAR_FOR_TESTS\"")
            .expect("parses")
            .login
            .credentials(false)
            .expect_err("unset");
        assert!(e.contains("NO_SUCH_VAR_FOR_TESTS"), "{e}");
    }

    #[test]
    fn a_pre_registered_client_is_read_with_its_defaults() {
        let p = Profile::parse("[client]\nclient_id = \"pre\"").expect("parses");
        let c = p.client.pre_registered().expect("ok").expect("a client");
        assert_eq!(c.client_id, "pre");
        assert!(c.client_secret.is_none());
        assert_eq!(c.token_endpoint_auth_method, "none");
        assert!(
            Profile::parse("")
                .expect("parses")
                .client
                .pre_registered()
                .expect("ok")
                .is_none()
        );
        let p = Profile::parse(
            "[client]\nclient_id = \"pre\"\nclient_secret_env = \"NO_SUCH_CLIENT_SECRET_FOR_TESTS\"",
        )
        .expect("parses");
        assert_eq!(p.client.auth_method(), "client_secret_basic");
        let e = p.client.pre_registered().expect_err("unset");
        assert!(e.contains("NO_SUCH_CLIENT_SECRET_FOR_TESTS"), "{e}");
        let p = Profile::parse(
            "[client]\nclient_id = \"pre\"\nclient_secret_env = \"X\"\ntoken_endpoint_auth_method = \"client_secret_post\"",
        )
        .expect("parses");
        assert_eq!(p.client.auth_method(), "client_secret_post");
    }

    #[test]
    fn client_mistakes_are_named() {
        for (text, needle) in [
            ("[client]\nclient_secret = \"x\"", "client_secret"),
            (
                "[client]\nclient_secret_env = \"X\"",
                "needs client.client_id",
            ),
            (
                "[client]\nclient_id = \"a\"\ntoken_endpoint_auth_method = \"private_key_jwt\"",
                "private_key_jwt",
            ),
            (
                "[client]\nclient_id = \"a\"\ntoken_endpoint_auth_method = \"client_secret_basic\"",
                "needs client_secret_env",
            ),
            (
                "[client]\nclient_id = \"a\"\nclient_secret_env = \"X\"\ntoken_endpoint_auth_method = \"none\"",
                "takes no client_secret_env",
            ),
        ] {
            let e = Profile::parse(text).expect_err(text);
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn section_mistakes_are_named() {
        for (text, needle) in [
            // The [login] section's own mistakes are tested next to it; the profile passes
            // them on.
            ("[login]\npassword = \"x\"", "password_env"),
            ("[login]\ndriver = \"robot\"", "unknown variant"),
            (
                "[[login.pages]]\nurl = \"(\"\nsubmit = \"b\"",
                "login.pages[0]: url",
            ),
            ("allowed_hosts = [\"https://x\"]", "allowed_hosts"),
            ("[client]\nregistration = \"cimd\"", "needs client_id"),
            (
                "[client]\nregistration = \"cimd\"\nclient_id = \"abc\"",
                "not an absolute URL",
            ),
            (
                "[client]\nregistration = \"dynamic\"\nclient_id = \"abc\"",
                "takes no client_id",
            ),
            ("[tls]\nca = \"x\"", "unknown field"),
        ] {
            let e = Profile::parse(text).expect_err(text);
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn the_client_registration_is_inferred() {
        let p = Profile::parse("").expect("parses");
        assert_eq!(p.client.registration(), RegistrationKind::Dynamic);
        let p = Profile::parse("[client]\nclient_id = \"x\"").expect("parses");
        assert_eq!(p.client.registration(), RegistrationKind::PreRegistered);
        let p = Profile::parse(
            "[client]\nregistration = \"cimd\"\nclient_id = \"https://app.example.com/client.json\"",
        )
        .expect("parses");
        assert_eq!(p.client.registration(), RegistrationKind::Cimd);
    }

    #[test]
    fn replicas_are_origins_and_a_bad_one_is_refused_with_the_setting_named() {
        let p = Profile::parse(
            "[replicas]\nurls = [\"https://as-2.internal\", \"http://127.0.0.1:9001\"]",
        )
        .expect("parses");
        assert_eq!(p.replicas.urls.len(), 2);
        assert!(Profile::parse("").expect("parses").replicas.urls.is_empty());
        for (text, needle) in [
            (
                "[replicas]\nurls = [\"as-2.internal\"]",
                "replicas.urls: \"as-2.internal\" is not an absolute URL",
            ),
            (
                "[replicas]\nurls = [\"https://as-2.internal/oauth2/token\"]",
                "has a path",
            ),
            (
                "[replicas]\nurls = \"https://as-2.internal\"",
                "invalid type",
            ),
            (
                "[replicas]\nurl = [\"https://as-2.internal\"]",
                "unknown field",
            ),
        ] {
            let e = Profile::parse(text).expect_err(text);
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn routes_name_instances_by_a_header_and_a_bad_one_is_refused_with_the_setting_named() {
        let p = Profile::parse(
            "[replicas]\nurls = [\"https://as-2.internal\"]\nroute_header = \"X-Instance\"\nroutes = [\"a\", \"b\"]",
        )
        .expect("urls and routes combine");
        assert_eq!(p.replicas.route_header.as_deref(), Some("X-Instance"));
        assert_eq!(p.replicas.routes, ["a", "b"]);
        // The header may come from the command line instead.
        Profile::parse("[replicas]\nroutes = [\"a\"]").expect("parses");
        for (text, needle) in [
            (
                "[replicas]\nroute_header = \"X Instance\"",
                "replicas.route_header: \"X Instance\" is not a header name",
            ),
            (
                "[replicas]\nroute_header = \"Host\"",
                "replicas.route_header: \"Host\" cannot route",
            ),
            (
                "[replicas]\nroute_header = \"Transfer-Encoding\"",
                "frames the HTTP message",
            ),
            (
                "[replicas]\nroute_header = \"Authorization\"",
                "replicas.route_header: \"Authorization\" looks like a header that carries a credential",
            ),
            (
                "[replicas]\nroute_header = \"Cookie\"",
                "carries a credential",
            ),
            (
                "[replicas]\nroute_header = \"X-Auth-Token\"",
                "carries a credential",
            ),
            (
                "[replicas]\nroute_header = \"X-Instance\"\nroutes = [\"\"]",
                "replicas.routes: an empty value names no instance",
            ),
            (
                "[replicas]\nroute_header = \"X-Instance\"\nroutes = [\"a\\nb\"]",
                "replicas.routes: \"a\\nb\" is not a valid header value",
            ),
            (
                "[replicas]\nroute_header = \"X-Instance\"\nroutes = \"a\"",
                "invalid type",
            ),
        ] {
            let e = Profile::parse(text).expect_err(text);
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn the_code_lifetime_is_optional_whole_seconds_and_never_zero() {
        assert_eq!(
            Profile::parse("")
                .expect("parses")
                .replicas
                .code_lifetime_secs,
            None
        );
        let p = Profile::parse("[replicas]\ncode_lifetime_secs = 60").expect("parses");
        assert_eq!(p.replicas.code_lifetime_secs, Some(60));
        for (text, needle) in [
            (
                "[replicas]\ncode_lifetime_secs = 0",
                "replicas.code_lifetime_secs must be at least 1",
            ),
            ("[replicas]\ncode_lifetime_secs = \"60\"", "invalid type"),
            ("[replicas]\ncode_lifetime_secs = -1", "invalid value"),
        ] {
            let e = Profile::parse(text).expect_err(text);
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
