//! Completing login and consent: what cannot be done over the wire by the protocol alone sits
//! behind one trait, [`LoginDriver`], with four drivers (the profile's `[login] driver`):
//!
//! - [`form`]: HTML forms over HTTP, generic or scripted per page;
//! - [`manual`]: a person, with the redirect caught on the loopback redirect URI or pasted;
//! - [`command`]: a program of the user's that prints the final redirect URL;
//! - [`browser`]: a real headless Chromium through WebDriver, for JavaScript pages.

pub mod browser;
pub mod command;
pub mod config;
pub mod form;
pub mod manual;
pub mod script;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::LocalBoxFuture;
use url::Url;

use super::http::{Http, TransportError};
use super::redact::{Redactor, Secret, is_secret_name, redact, redact_url};

pub use config::{DriverKind, Login, PageScript};
pub use form::FormDriver;
pub use script::Script;

/// Where an authorization attempt ended. `Debug` redacts the authorization code.
#[derive(Clone)]
pub enum AuthorizationOutcome {
    /// The AS redirected to the redirect URI: `code`, `state`, `iss` or `error` are in `params`.
    Redirect {
        location: Url,
        params: Vec<(String, String)>,
    },
    /// The AS showed a page the driver could not go past (an error page, an unknown form).
    Page {
        url: Url,
        status: u16,
        reason: String,
    },
}

impl fmt::Debug for AuthorizationOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthorizationOutcome::Redirect { location, params } => {
                let params: Vec<(&str, String)> = params
                    .iter()
                    .map(|(k, v)| {
                        let shown = if is_secret_name(k) {
                            redact(v)
                        } else {
                            v.clone()
                        };
                        (k.as_str(), shown)
                    })
                    .collect();
                f.debug_struct("Redirect")
                    .field("location", &redact_url(location.as_str()))
                    .field("params", &params)
                    .finish()
            }
            AuthorizationOutcome::Page {
                url,
                status,
                reason,
            } => f
                .debug_struct("Page")
                .field("url", &redact_url(url.as_str()))
                .field("status", status)
                .field("reason", reason)
                .finish(),
        }
    }
}

impl AuthorizationOutcome {
    pub fn param(&self, name: &str) -> Option<&str> {
        match self {
            AuthorizationOutcome::Redirect { params, .. } => params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str()),
            AuthorizationOutcome::Page { .. } => None,
        }
    }
    pub fn code(&self) -> Option<Secret> {
        self.param("code").map(Secret::new)
    }
    pub fn error(&self) -> Option<&str> {
        self.param("error")
    }
    pub fn describe(&self) -> String {
        match self {
            AuthorizationOutcome::Redirect { location, .. } => {
                format!("a redirect to {}", redact_url(location.as_str()))
            }
            // Status 0: a person or a program reported the page, not its status.
            AuthorizationOutcome::Page {
                url,
                status: 0,
                reason,
            } => format!("a page at {} ({reason})", redact_url(url.as_str())),
            AuthorizationOutcome::Page {
                url,
                status,
                reason,
            } => {
                format!("a {status} page at {} ({reason})", redact_url(url.as_str()))
            }
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("login did not finish within {0} requests")]
    TooManySteps(usize),
    #[error(
        "the login form came back after submitting the configured credentials (wrong username or password?)"
    )]
    Rejected,
    #[error("{0}")]
    Unusable(String),
    /// The login needs a setting the profile does not give (a password, a username): a
    /// configuration error, not the target's.
    #[error("{0}")]
    NotConfigured(String),
}

/// Who the drivers log in as: the profile's user, or the reference server's test user where
/// the run targets a reference server ([`config::Login::credentials`]); elsewhere a login form
/// that asks for what is not configured stops the login with an error naming the setting.
#[derive(Clone, Default)]
pub struct Credentials {
    pub username: Option<String>,
    pub password: Option<Secret>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

impl Credentials {
    /// The login of `login` (see [`config::Login::credentials`]); the password is remembered as
    /// a secret of the run.
    pub fn of(login: &Login, reference_server: bool, secrets: &Redactor) -> Result<Self, String> {
        let (username, password) = login.credentials(reference_server)?;
        if let Some(p) = &password {
            secrets.remember_configured(p);
        }
        Ok(Credentials {
            username,
            password: password.map(Secret::new),
        })
    }

    /// The password, for a login form on the page at `at`.
    pub fn password_for(&self, at: &Url) -> Result<&Secret, LoginError> {
        self.password.as_ref().ok_or_else(|| {
            LoginError::NotConfigured(format!(
                "the login page at {} asks for a password, and the profile configures none: set [login] password_env to the environment variable that holds it. (The reference server's test user is the default only for the embedded reference server and for profiles with [login] reference_server = true.)",
                page_address(at)
            ))
        })
    }

    /// The username, for a login form on the page at `at`.
    pub fn username_for(&self, at: &Url) -> Result<&str, LoginError> {
        self.username.as_deref().ok_or_else(|| {
            LoginError::NotConfigured(format!(
                "the login page at {} asks for a username, and the profile configures none: set [login] username",
                page_address(at)
            ))
        })
    }
}

/// Completes the user-facing part of an authorization request.
pub trait LoginDriver {
    /// Starts at `url` (the authorization request) and returns where it ended: a redirect to
    /// `redirect_uri`, or a page it could not go past.
    fn authorize<'a>(
        &'a self,
        http: &'a Http,
        url: Url,
        redirect_uri: &'a Url,
    ) -> LocalBoxFuture<'a, Result<AuthorizationOutcome, LoginError>> {
        self.authorize_until(http, url, std::slice::from_ref(redirect_uri))
    }

    /// Like [`LoginDriver::authorize`], but stops at a redirect to any of `stop_at`, none of
    /// which is ever fetched. Negative tests use it when the AS might wrongly redirect to one
    /// of several URIs (a tampered redirect URI or the registered one; either of two
    /// registered ones).
    fn authorize_until<'a>(
        &'a self,
        http: &'a Http,
        url: Url,
        stop_at: &'a [Url],
    ) -> LocalBoxFuture<'a, Result<AuthorizationOutcome, LoginError>>;

    /// Like [`LoginDriver::authorize_until`], and also returns the requests the driver made,
    /// so that how the AS answered the login form can be checked (AUTHZ-16). A driver that
    /// cannot say returns no steps.
    fn authorize_traced<'a>(
        &'a self,
        http: &'a Http,
        url: Url,
        stop_at: &'a [Url],
    ) -> LocalBoxFuture<'a, Result<Traced, LoginError>> {
        Box::pin(async move {
            let outcome = self.authorize_until(http, url, stop_at).await?;
            Ok(Traced {
                outcome,
                steps: Vec::new(),
            })
        })
    }

    /// Why the driver stopped logging in: a setting the profile lacks, found by a login.
    fn misconfigured(&self) -> Option<String> {
        None
    }
}

/// A driver that stops logging in once a login has found the profile lacking a setting (a
/// password the login page asks for): every later login fails at once with the same error,
/// sending nothing, and the run ends with it as a usage error ([`LoginDriver::misconfigured`]).
struct Guarded {
    inner: SharedDriver,
    missing: std::sync::Mutex<Option<String>>,
}

impl Guarded {
    fn watch(&self, result: Result<Traced, LoginError>) -> Result<Traced, LoginError> {
        if let Err(LoginError::NotConfigured(m)) = &result
            && let Ok(mut missing) = self.missing.lock()
        {
            missing.get_or_insert_with(|| m.clone());
        }
        result
    }

    fn stopped(&self) -> Option<LoginError> {
        self.misconfigured().map(LoginError::NotConfigured)
    }
}

impl LoginDriver for Guarded {
    fn authorize_until<'a>(
        &'a self,
        http: &'a Http,
        url: Url,
        stop_at: &'a [Url],
    ) -> LocalBoxFuture<'a, Result<AuthorizationOutcome, LoginError>> {
        Box::pin(async move {
            if let Some(e) = self.stopped() {
                return Err(e);
            }
            let result = self.inner.authorize_until(http, url, stop_at).await;
            let traced = result.map(|outcome| Traced {
                outcome,
                steps: Vec::new(),
            });
            self.watch(traced).map(|t| t.outcome)
        })
    }

    fn authorize_traced<'a>(
        &'a self,
        http: &'a Http,
        url: Url,
        stop_at: &'a [Url],
    ) -> LocalBoxFuture<'a, Result<Traced, LoginError>> {
        Box::pin(async move {
            if let Some(e) = self.stopped() {
                return Err(e);
            }
            let result = self.inner.authorize_traced(http, url, stop_at).await;
            self.watch(result)
        })
    }

    fn misconfigured(&self) -> Option<String> {
        self.missing.lock().ok().and_then(|m| m.clone())
    }
}

/// An authorization's outcome and the requests that led there.
#[derive(Debug, Clone)]
pub struct Traced {
    pub outcome: AuthorizationOutcome,
    pub steps: Vec<LoginStep>,
}

/// One request the login driver made, and how it was answered.
#[derive(Debug, Clone)]
pub struct LoginStep {
    pub method: String,
    pub url: Url,
    pub status: u16,
    /// Whether the request carried the user's password (a submitted login form).
    pub carried_credentials: bool,
}

impl LoginStep {
    pub fn describe(&self) -> String {
        format!(
            "{} to {} answered {}",
            self.method,
            redact_url(self.url.as_str()),
            self.status
        )
    }
}

/// A login driver shared by every scenario of a run.
pub type SharedDriver = Arc<dyn LoginDriver + Send + Sync>;

/// What a driver is built from: the profile's `[login]` table and what the run adds.
pub struct DriverSetup<'a> {
    pub login: &'a Login,
    pub credentials: Credentials,
    /// The run's secrets: a login script's values are remembered there.
    pub secrets: &'a Redactor,
    /// The most requests one HTTP-driven authorization may take.
    pub max_steps: usize,
    /// The redirect URI of the run's client.
    pub redirect_uri: Url,
    /// How long one login may take (manual, command, browser).
    pub timeout: Duration,
    /// About how many logins the chosen scenarios need (the manual driver says so).
    pub expected_logins: usize,
}

/// Builds the profile's driver. Errors are configuration errors, stated for a person.
pub fn build(setup: DriverSetup<'_>) -> Result<SharedDriver, String> {
    let script = Script::resolve(&setup.login.pages, &setup.credentials, setup.secrets)?;
    let inner: SharedDriver = match setup.login.driver {
        DriverKind::Form => Arc::new(FormDriver {
            credentials: setup.credentials,
            max_steps: setup.max_steps,
            script,
        }),
        DriverKind::Manual => Arc::new(manual::ManualDriver::new(&setup)?),
        DriverKind::Command => Arc::new(command::CommandDriver::new(&setup)?),
        DriverKind::Browser => Arc::new(browser::BrowserDriver::new(&setup, script)?),
    };
    Ok(Arc::new(Guarded {
        inner,
        missing: std::sync::Mutex::new(None),
    }))
}

/// A page's address without its query: an authorization request's parameters say nothing a
/// reader of a login error needs.
fn page_address(at: &Url) -> String {
    let mut u = at.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Remembers the secrets of a redirect that a driver saw outside the transport (in a browser,
/// from a person or a program): the code is a secret of the run from then on.
fn learned(
    http: &Http,
    outcome: Result<AuthorizationOutcome, LoginError>,
) -> Result<AuthorizationOutcome, LoginError> {
    if let Ok(AuthorizationOutcome::Redirect { location, .. }) = &outcome {
        super::redact::learn::url(http.secrets(), location);
    }
    outcome
}

/// The query parameters of a redirect, as an outcome.
pub fn redirect_outcome(location: Url) -> AuthorizationOutcome {
    let params = location
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    AuthorizationOutcome::Redirect { location, params }
}

/// A loopback host: `127.0.0.0/8`, `[::1]` or `localhost`.
pub fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether the driver may fetch `next`, a redirect target, in an authorization that started at
/// `start` (the authorization endpoint) and ends at one of `stop_at` (the redirect URIs in
/// play). It never fetches an origin where one of those redirect URIs lives: the client's
/// listener. Past that it stays on the AS's origin, or goes to a login service on another
/// origin: on this machine when the AS is (a loopback origin), else an https host that is not
/// loopback. It never leaves the machine when the target is on it. Which hosts may be
/// contacted at all is `allowed_hosts`', enforced by the transport.
pub fn may_follow(start: &Url, next: &Url, stop_at: &[Url]) -> bool {
    if next.origin() == start.origin() {
        return true;
    }
    if stop_at.iter().any(|r| r.origin() == next.origin()) {
        return false;
    }
    if is_loopback(start) {
        return is_loopback(next) && matches!(next.scheme(), "http" | "https");
    }
    next.scheme() == "https" && !is_loopback(next)
}

/// Whether `location` is the client's redirect URI (same scheme, host, port and path).
pub fn is_redirect_uri(location: &Url, redirect_uri: &Url) -> bool {
    location.scheme() == redirect_uri.scheme()
        && location.host_str() == redirect_uri.host_str()
        && location.port_or_known_default() == redirect_uri.port_or_known_default()
        && location.path() == redirect_uri.path()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_prints_its_code_redacted() {
        let code = "SplxlOBeZQQYbYS6WxSbIA-long-code";
        let location = Url::parse(&format!(
            "http://127.0.0.1:33418/callback?code={code}&state=xyz"
        ))
        .expect("url");
        let outcome = redirect_outcome(location);
        assert_eq!(
            outcome.code().map(|c| c.expose().to_string()).as_deref(),
            Some(code)
        );
        let shown = format!("{outcome:?}");
        assert!(!shown.contains(code), "{shown}");
        assert!(shown.contains("xyz"), "{shown}");
        assert!(!outcome.describe().contains(code));
        let page = AuthorizationOutcome::Page {
            url: Url::parse(&format!("https://as.example/error?code={code}")).expect("url"),
            status: 400,
            reason: "an error status".into(),
        };
        assert!(!format!("{page:?}").contains(code));
    }
}
