//! Completing login and consent: what cannot be done over the wire by the protocol alone sits
//! behind one trait, [`LoginDriver`].
//!
//! The `form` driver handles HTML login and consent pages: it follows redirects by hand with
//! its own cookie jar, reads forms with an HTML parser, fills the configured username and
//! password, approves consent, and stops at the redirect to the client's redirect URI. It never
//! fetches a redirect URI, nor leaves the authorization server for another loopback origin
//! (see [`may_follow`]).

use std::sync::Arc;

use futures::future::LocalBoxFuture;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::HeaderValue;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::http::{Http, Request, Response, TransportError};
use super::redact::{Secret, redact_url};

/// Where an authorization attempt ended.
#[derive(Debug, Clone)]
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

/// The HTML form driver.
#[derive(Debug, Clone)]
pub struct FormDriver {
    pub username: String,
    pub password: Secret,
    /// The most requests one authorization may take (redirects plus form posts).
    pub max_steps: usize,
}

impl LoginDriver for FormDriver {
    fn authorize_until<'a>(
        &'a self,
        http: &'a Http,
        url: Url,
        stop_at: &'a [Url],
    ) -> LocalBoxFuture<'a, Result<AuthorizationOutcome, LoginError>> {
        Box::pin(async move { Ok(self.run(http, url, stop_at).await?.outcome) })
    }

    fn authorize_traced<'a>(
        &'a self,
        http: &'a Http,
        url: Url,
        stop_at: &'a [Url],
    ) -> LocalBoxFuture<'a, Result<Traced, LoginError>> {
        Box::pin(self.run(http, url, stop_at))
    }
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
/// `start` (the authorization endpoint). It stays on the AS's origin, and leaves it only for
/// an https host that is not loopback (an identity provider the AS sends the user to), and
/// only when the AS itself is not on loopback. It never fetches another loopback origin, where
/// every client's redirect URI lives, nor anything off-box when the target is on this machine.
pub fn may_follow(start: &Url, next: &Url) -> bool {
    if next.origin() == start.origin() {
        return true;
    }
    !is_loopback(start) && next.scheme() == "https" && !is_loopback(next)
}

/// Whether `location` is the client's redirect URI (same scheme, host, port and path).
pub fn is_redirect_uri(location: &Url, redirect_uri: &Url) -> bool {
    location.scheme() == redirect_uri.scheme()
        && location.host_str() == redirect_uri.host_str()
        && location.port_or_known_default() == redirect_uri.port_or_known_default()
        && location.path() == redirect_uri.path()
}

impl FormDriver {
    async fn run(&self, http: &Http, start: Url, stop_at: &[Url]) -> Result<Traced, LoginError> {
        let jar = Arc::new(Jar::default());
        let mut next = Request::get(start.clone());
        let mut next_carries_credentials = false;
        let mut steps = Vec::new();
        let mut logins = 0;
        let done = |outcome, steps| Ok(Traced { outcome, steps });
        for _ in 0..self.max_steps {
            let url = next.url.clone();
            let method = next.method.to_string();
            if let Some(cookies) = jar.cookies(&url) {
                next = with_header(next, "cookie", cookies);
            }
            let resp = http.send(next).await?;
            steps.push(LoginStep {
                method,
                url: url.clone(),
                status: resp.status.as_u16(),
                carried_credentials: next_carries_credentials,
            });
            let set: Vec<&HeaderValue> = resp.headers.get_all("set-cookie").iter().collect();
            jar.set_cookies(&mut set.into_iter(), &url);

            if resp.status.is_redirection() {
                let location = resp
                    .header("location")
                    .and_then(|l| url.join(l).ok())
                    .ok_or_else(|| {
                        LoginError::Unusable(format!(
                            "a {} redirect without a usable Location header",
                            resp.status.as_u16()
                        ))
                    })?;
                // A redirect URI is never fetched; neither is anything off the AS (see
                // `may_follow`): the authorization ends there, and the redirect is the outcome.
                if stop_at.iter().any(|r| is_redirect_uri(&location, r))
                    || !may_follow(&start, &location)
                {
                    let params = location
                        .query_pairs()
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    return done(AuthorizationOutcome::Redirect { location, params }, steps);
                }
                next = Request::get(location);
                next_carries_credentials = false;
                continue;
            }
            let page = || AuthorizationOutcome::Page {
                url: url.clone(),
                status: resp.status.as_u16(),
                reason: String::new(),
            };
            if !resp.status.is_success() {
                return done(with_reason(page(), "an error status"), steps);
            }
            let Some(form) = pick_form(&resp) else {
                return done(with_reason(page(), "no login or consent form"), steps);
            };
            if form.is_login {
                logins += 1;
                if logins > 1 {
                    return Err(LoginError::Rejected);
                }
            }
            next_carries_credentials = form.is_login;
            next = self.submit(&url, form)?;
        }
        Err(LoginError::TooManySteps(self.max_steps))
    }

    fn submit(&self, page: &Url, form: FoundForm) -> Result<Request, LoginError> {
        let action = match form.action.as_deref() {
            Some(a) if !a.is_empty() => page
                .join(a)
                .map_err(|e| LoginError::Unusable(format!("form action {a:?}: {e}")))?,
            _ => page.clone(),
        };
        let mut pairs = Vec::new();
        for field in form.fields {
            let value = match field.role {
                FieldRole::Username => self.username.clone(),
                FieldRole::Password => self.password.expose().to_string(),
                FieldRole::Keep => field.value,
            };
            pairs.push((field.name, value));
        }
        Ok(if form.method_post {
            Request::post(action).form(pairs)
        } else {
            let mut u = action;
            u.query_pairs_mut().extend_pairs(pairs);
            Request::get(u)
        })
    }
}

fn with_header(mut r: Request, name: &str, v: HeaderValue) -> Request {
    if let Ok(n) = reqwest::header::HeaderName::from_bytes(name.as_bytes()) {
        r.headers.push((n, v));
    }
    r
}

fn with_reason(o: AuthorizationOutcome, why: &str) -> AuthorizationOutcome {
    match o {
        AuthorizationOutcome::Page { url, status, .. } => AuthorizationOutcome::Page {
            url,
            status,
            reason: why.to_string(),
        },
        other => other,
    }
}

#[derive(Debug)]
enum FieldRole {
    Username,
    Password,
    Keep,
}

#[derive(Debug)]
struct Field {
    name: String,
    value: String,
    role: FieldRole,
}

#[derive(Debug)]
struct FoundForm {
    action: Option<String>,
    method_post: bool,
    is_login: bool,
    fields: Vec<Field>,
}

const APPROVE_WORDS: &[&str] = &[
    "approve",
    "allow",
    "accept",
    "authorize",
    "authorise",
    "consent",
    "grant",
    "yes",
    "continue",
    "confirm",
];
const DENY_WORDS: &[&str] = &["deny", "reject", "cancel", "decline", "refuse", "no"];

fn words_match(text: &str, words: &[&str]) -> bool {
    let lower = text.to_ascii_lowercase();
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| words.contains(&w))
}

fn sel(s: &str) -> Option<Selector> {
    Selector::parse(s).ok()
}

/// Chooses the form to submit: a login form (it has a password field), else a consent form
/// with an approving submit button.
fn pick_form(resp: &Response) -> Option<FoundForm> {
    let html = Html::parse_document(&resp.text());
    let forms = sel("form")?;
    let controls = sel("input, button, select, textarea")?;
    let mut consent: Option<FoundForm> = None;
    for form in html.select(&forms) {
        let all: Vec<ElementRef> = form.select(&controls).collect();
        let is_login = all.iter().any(|e| input_type(e) == "password");
        let mut fields = Vec::new();
        let mut username_taken = false;
        let mut approve_button: Option<(String, String)> = None;
        let mut first_submit: Option<(String, String)> = None;
        for e in &all {
            let name = e.value().attr("name").unwrap_or("").to_string();
            let ty = input_type(e);
            let tag = e.value().name();
            let is_submit = (tag == "button" && ty != "button" && ty != "reset")
                || (tag == "input" && (ty == "submit" || ty == "image"));
            if is_submit {
                let value = e.value().attr("value").unwrap_or("").to_string();
                let label = format!("{name} {value} {}", e.text().collect::<String>());
                if !name.is_empty() && first_submit.is_none() {
                    first_submit = Some((name.clone(), value.clone()));
                }
                if approve_button.is_none()
                    && words_match(&label, APPROVE_WORDS)
                    && !words_match(&label, DENY_WORDS)
                {
                    approve_button = Some((name, value));
                }
                continue;
            }
            if name.is_empty() || e.value().attr("disabled").is_some() {
                continue;
            }
            let role = if ty == "password" {
                FieldRole::Password
            } else if is_login
                && !username_taken
                && matches!(ty.as_str(), "text" | "email" | "tel" | "")
                && tag == "input"
            {
                username_taken = true;
                FieldRole::Username
            } else {
                FieldRole::Keep
            };
            if matches!(ty.as_str(), "checkbox" | "radio") && e.value().attr("checked").is_none() {
                continue;
            }
            let value = match tag {
                "textarea" => e.text().collect(),
                "select" => selected_option(e),
                _ => e.value().attr("value").unwrap_or("").to_string(),
            };
            fields.push(Field { name, value, role });
        }
        let method_post = form
            .value()
            .attr("method")
            .is_none_or(|m| !m.eq_ignore_ascii_case("get"));
        let action = form.value().attr("action").map(str::to_string);
        if is_login {
            if let Some((n, v)) = first_submit.filter(|(n, _)| !n.is_empty()) {
                fields.push(Field {
                    name: n,
                    value: v,
                    role: FieldRole::Keep,
                });
            }
            return Some(FoundForm {
                action,
                method_post,
                is_login,
                fields,
            });
        }
        if consent.is_none()
            && let Some((n, v)) = approve_button
        {
            if !n.is_empty() {
                fields.push(Field {
                    name: n,
                    value: v,
                    role: FieldRole::Keep,
                });
            }
            consent = Some(FoundForm {
                action,
                method_post,
                is_login,
                fields,
            });
        }
    }
    consent
}

fn input_type(e: &ElementRef) -> String {
    let tag = e.value().name();
    match e.value().attr("type") {
        Some(t) => t.to_ascii_lowercase(),
        None if tag == "button" => "submit".into(),
        None => String::new(),
    }
}

fn selected_option(e: &ElementRef) -> String {
    let Some(opt) = sel("option") else {
        return String::new();
    };
    let options: Vec<ElementRef> = e.select(&opt).collect();
    options
        .iter()
        .find(|o| o.value().attr("selected").is_some())
        .or(options.first())
        .map(|o| {
            o.value()
                .attr("value")
                .map(str::to_string)
                .unwrap_or_else(|| o.text().collect())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use reqwest::header::HeaderMap;

    fn page(html: &str) -> Response {
        Response {
            url: Url::parse("https://as.example/login").expect("url"),
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: html.as_bytes().to_vec(),
        }
    }

    #[test]
    fn login_forms_get_username_password_and_hidden_fields() {
        let f = pick_form(&page(
            r#"<form method="post" action="/login"><input type="hidden" name="csrf" value="t1">
            <label>Email <input name="email" type="email"></label><input type="password" name="pw">
            <button type="submit" name="op" value="signin">Sign in</button></form>"#,
        ))
        .expect("a form");
        assert!(f.is_login && f.method_post);
        assert_eq!(f.action.as_deref(), Some("/login"));
        let roles: Vec<(String, String)> = f
            .fields
            .iter()
            .map(|x| (x.name.clone(), format!("{:?}", x.role)))
            .collect();
        assert_eq!(
            roles,
            vec![
                ("csrf".into(), "Keep".into()),
                ("email".into(), "Username".into()),
                ("pw".into(), "Password".into()),
                ("op".into(), "Keep".into()),
            ]
        );
    }

    #[test]
    fn consent_picks_the_approving_button_not_the_denying_one() {
        let f = pick_form(&page(
            r#"<form method="post" action="/consent"><input type="hidden" name="tx" value="9">
            <button name="decision" value="deny">Deny</button>
            <button name="decision" value="approve">Allow access</button></form>"#,
        ))
        .expect("a form");
        assert!(!f.is_login);
        let last = f.fields.last().expect("the button");
        assert_eq!(
            (last.name.as_str(), last.value.as_str()),
            ("decision", "approve")
        );
        assert!(pick_form(&page("<p>Something went wrong</p>")).is_none());
    }

    #[test]
    fn the_driver_stays_on_the_as_and_never_visits_other_loopback_origins() {
        let u = |s: &str| Url::parse(s).expect("url");
        let local_as = u("http://127.0.0.1:4000/oauth2/authorize?x=1");
        assert!(may_follow(&local_as, &u("http://127.0.0.1:4000/login")));
        assert!(!may_follow(&local_as, &u("http://127.0.0.1:4001/callback")));
        assert!(!may_follow(&local_as, &u("http://localhost:4000/login")));
        assert!(!may_follow(&local_as, &u("https://idp.example/login")));
        let remote_as = u("https://as.example/authorize");
        assert!(may_follow(&remote_as, &u("https://as.example/login")));
        assert!(may_follow(&remote_as, &u("https://idp.example/login")));
        assert!(!may_follow(&remote_as, &u("http://idp.example/login")));
        assert!(!may_follow(
            &remote_as,
            &u("https://127.0.0.1:4001/callback")
        ));
        assert!(!may_follow(&remote_as, &u("https://localhost/callback")));
    }

    #[test]
    fn redirect_uri_comparison_ignores_the_query_only() {
        let r = Url::parse("http://127.0.0.1:4000/callback").expect("url");
        assert!(is_redirect_uri(
            &Url::parse("http://127.0.0.1:4000/callback?code=x").expect("url"),
            &r
        ));
        assert!(!is_redirect_uri(
            &Url::parse("http://127.0.0.1:4001/callback?code=x").expect("url"),
            &r
        ));
        assert!(!is_redirect_uri(
            &Url::parse("http://127.0.0.1:4000/other").expect("url"),
            &r
        ));
    }
}
