//! The `form` driver: HTML login and consent pages over plain HTTP. It follows redirects by
//! hand with its own cookie jar, reads forms with an HTML parser and submits them. Pages a
//! login script (`[[login.pages]]`) matches are filled as the script says; the others get the
//! generic treatment: the username and password fields of a login form, the approving button
//! of a consent form. It stops at the redirect to the client's redirect URI, which it never
//! fetches, and never leaves the authorization server for another loopback origin (see
//! [`may_follow`]).

use std::sync::Arc;

use futures::future::LocalBoxFuture;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::HeaderValue;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::script::{Script, ScriptPage};
use super::{
    AuthorizationOutcome, Credentials, LoginDriver, LoginError, LoginStep, Traced, is_redirect_uri,
    may_follow, redirect_outcome,
};
use crate::client::http::{Http, Request};
use crate::client::redact::Secret;

/// The HTML form driver.
#[derive(Debug, Clone)]
pub struct FormDriver {
    /// Who to log in as: a login form asking for what is not configured stops the login.
    pub credentials: Credentials,
    /// The most requests one authorization may take (redirects plus form posts).
    pub max_steps: usize,
    /// Scripts for known pages (`[[login.pages]]`); empty for the generic driver.
    pub script: Script,
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

impl FormDriver {
    async fn run(&self, http: &Http, start: Url, stop_at: &[Url]) -> Result<Traced, LoginError> {
        let jar = Arc::new(Jar::default());
        let mut next = Request::get(start.clone());
        let mut next_carries_credentials = false;
        let mut steps = Vec::new();
        let mut logins = 0;
        // The last form the driver submitted in this authorization, once it has submitted one.
        let mut submitted: Option<Submitted> = None;
        let mut answers_submission = false;
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
                    || !may_follow(&start, &location, stop_at)
                {
                    return done(redirect_outcome(location), steps);
                }
                next = Request::get(location);
                next_carries_credentials = false;
                answers_submission = false;
                continue;
            }
            let page = || AuthorizationOutcome::Page {
                url: url.clone(),
                status: resp.status.as_u16(),
                reason: String::new(),
            };
            let html = Html::parse_document(&resp.text());
            // The page's own form, looked for once.
            let own = std::cell::OnceCell::new();
            let own_form = || own.get_or_init(|| pick_form(&html));
            // Past a submitted form, the pages are the login UI's: a page the driver cannot go
            // past there is its own trouble, never the authorization server's answer.
            if let Some(sub) = &submitted {
                let stuck = if !resp.status.is_success() {
                    Some(format!("answered {}", resp.status.as_u16()))
                } else if self.script.page_for(&url).is_none() && own_form().is_none() {
                    Some("a page with no login or consent form".to_string())
                } else {
                    None
                };
                if let Some(what) = stuck {
                    if logins > 0 && own_form().as_ref().is_some_and(|f| f.is_login) {
                        return Err(LoginError::Rejected);
                    }
                    return Err(stuck_after_submission(sub, &url, &what, answers_submission));
                }
            } else if !resp.status.is_success() {
                return done(with_reason(page(), "an error status"), steps);
            }
            let form = match self.script.page_for(&url) {
                Some(script) => Some(scripted_form(&html, script, &url)?),
                None => own.into_inner().unwrap_or_else(|| pick_form(&html)),
            };
            let Some(form) = form else {
                if built_by_script(&html) {
                    return Err(LoginError::Unusable(format!(
                        "the page at {} has no HTML form but runs scripts: its form is probably built by JavaScript, which the form driver cannot run. Use the browser driver (driver = \"browser\" in [login])",
                        crate::client::redact::redact_url(url.as_str())
                    )));
                }
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
            submitted = Some(Submitted {
                page: without_query(&url),
                method: next.method.to_string(),
                action: without_query(&next.url),
                page_runs_scripts: runs_scripts(&html),
            });
            answers_submission = true;
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
        if form.is_login {
            // A login form without a configured password goes no further, whatever else it
            // asks for.
            self.credentials.password_for(page)?;
        }
        let mut pairs = Vec::new();
        let mut secret = Vec::new();
        for field in form.fields {
            // The password and a script's values become plain text only in the request that
            // sends them, which marks them for redaction.
            let value = match field.value {
                FieldValue::Username => self.credentials.username_for(page)?.to_string(),
                FieldValue::Password => self.credentials.password_for(page)?.expose().to_string(),
                FieldValue::Page(v) => v,
                FieldValue::Scripted(v) => v.expose().to_string(),
            };
            if field.is_secret {
                secret.push(field.name.clone());
            }
            pairs.push((field.name, value));
        }
        Ok(if form.method_post {
            let mut r = Request::post(action).form(pairs);
            for name in &secret {
                r = r.secret_field(name);
            }
            r
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

/// What a form field is sent with.
#[derive(Debug)]
enum FieldValue {
    /// The configured username.
    Username,
    /// The configured password, put in when the form is sent.
    Password,
    /// What the page gave it: a hidden field, a preset option, a button's value.
    Page(String),
    /// A login script's value: sent as given, redacted in transcripts. It may be a password or
    /// a one-time code, so it stays a secret until the request is built.
    Scripted(Secret),
}

#[derive(Debug)]
struct Field {
    name: String,
    value: FieldValue,
    /// Redacted in transcripts: the password and a script's values.
    is_secret: bool,
}

impl Field {
    fn page(name: String, value: String) -> Field {
        Field {
            name,
            value: FieldValue::Page(value),
            is_secret: false,
        }
    }
}

#[derive(Debug)]
struct FoundForm {
    action: Option<String>,
    method_post: bool,
    is_login: bool,
    fields: Vec<Field>,
}

pub(super) const APPROVE_WORDS: &[&str] = &[
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
pub(super) const DENY_WORDS: &[&str] = &["deny", "reject", "cancel", "decline", "refuse", "no"];

pub(super) fn words_match(text: &str, words: &[&str]) -> bool {
    let lower = text.to_ascii_lowercase();
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| words.contains(&w))
}

fn sel(s: &str) -> Option<Selector> {
    Selector::parse(s).ok()
}

/// The last form the driver submitted: where it was, where it went, and whether its page ran
/// scripts (which may have handled the submission in a browser).
#[derive(Debug)]
struct Submitted {
    page: Url,
    method: String,
    action: Url,
    page_runs_scripts: bool,
}

/// The harness error for a login the driver could not complete after submitting a form:
/// what it submitted, what it saw, and the browser driver where scripts are involved.
fn stuck_after_submission(
    sub: &Submitted,
    at: &Url,
    what: &str,
    direct_answer: bool,
) -> LoginError {
    let shown = crate::client::redact::redact_url;
    let seen = if direct_answer {
        format!("the submission was {what}")
    } else {
        format!(
            "the redirects after it ended at {} ({what})",
            shown(at.as_str())
        )
    };
    let refused_natively = direct_answer && what.starts_with("answered 40");
    let hint = if sub.page_runs_scripts || refused_natively {
        " The page's form is probably submitted by scripts, which the form driver cannot run: use the browser driver (driver = \"browser\" in [login])."
    } else {
        " Describe the page with a login script ([[login.pages]]) or use another driver ([login] driver)."
    };
    LoginError::Unusable(format!(
        "the form driver could not complete the login: it submitted the form of the page at {} ({} {}), and {seen}.{hint}",
        shown(sub.page.as_str()),
        sub.method,
        shown(sub.action.as_str()),
    ))
}

/// A URL without its query: a GET form's fields, which may be secrets, travel there, and an
/// authorization request's parameters say nothing a reader of the error needs.
fn without_query(u: &Url) -> Url {
    let mut u = u.clone();
    u.set_query(None);
    u
}

/// Whether a page loads or runs scripts.
fn runs_scripts(html: &Html) -> bool {
    sel("script").is_some_and(|s| html.select(&s).next().is_some())
}

/// Whether a page without a usable form builds its content with scripts.
fn built_by_script(html: &Html) -> bool {
    let (Some(forms), Some(scripts)) = (sel("form"), sel("script")) else {
        return false;
    };
    html.select(&forms).next().is_none() && html.select(&scripts).next().is_some()
}

/// The form a login script's page describes: the form holding its submit button (or its first
/// field), with the script's values in the script's fields and every other field as the page
/// set it.
fn scripted_form(html: &Html, script: &ScriptPage, url: &Url) -> Result<FoundForm, LoginError> {
    let at = crate::client::redact::redact_url(url.as_str());
    let find = |selector: &str| -> Result<ElementRef, LoginError> {
        let s = Selector::parse(selector)
            .map_err(|e| LoginError::Unusable(format!("{}: {selector:?}: {e}", script.label())))?;
        html.select(&s).next().ok_or_else(|| {
            LoginError::Unusable(format!(
                "{}: {selector:?} matches nothing on the page at {at}",
                script.label()
            ))
        })
    };
    let mut targets = Vec::new();
    for (selector, value) in &script.fields {
        let e = find(selector)?;
        let name = e.value().attr("name").unwrap_or("");
        if name.is_empty() || !matches!(e.value().name(), "input" | "select" | "textarea") {
            return Err(LoginError::Unusable(format!(
                "{}: {selector:?} is not a named input, select or textarea on the page at {at}",
                script.label()
            )));
        }
        targets.push((e, name.to_string(), value.clone()));
    }
    let button = match &script.submit {
        Some(s) => Some(find(s)?),
        None => None,
    };
    let anchor = button.or_else(|| targets.first().map(|(e, _, _)| *e));
    let form = anchor
        .and_then(|e| {
            e.ancestors()
                .filter_map(ElementRef::wrap)
                .find(|a| a.value().name() == "form")
        })
        .ok_or_else(|| {
            LoginError::Unusable(format!(
                "{}: the submit button and fields are in no form on the page at {at}",
                script.label()
            ))
        })?;
    let controls = sel("input, select, textarea, button")
        .ok_or_else(|| LoginError::Unusable("internal: a selector did not parse".into()))?;
    let mut fields = Vec::new();
    let mut first_submit = None;
    let mut is_login = false;
    for e in form.select(&controls) {
        let ty = input_type(&e);
        let tag = e.value().name();
        is_login |= ty == "password";
        let name = e.value().attr("name").unwrap_or("").to_string();
        let is_submit = (tag == "button" && ty != "button" && ty != "reset")
            || (tag == "input" && (ty == "submit" || ty == "image"));
        if is_submit {
            if first_submit.is_none() {
                first_submit = Some(e);
            }
            continue;
        }
        if name.is_empty() || e.value().attr("disabled").is_some() {
            continue;
        }
        if let Some((_, _, v)) = targets.iter().find(|(t, _, _)| t.id() == e.id()) {
            fields.push(Field {
                name,
                value: FieldValue::Scripted(v.clone()),
                is_secret: true,
            });
            continue;
        }
        if matches!(ty.as_str(), "checkbox" | "radio") && e.value().attr("checked").is_none() {
            continue;
        }
        let value = match tag {
            "textarea" => e.text().collect(),
            "select" => selected_option(&e),
            _ => e.value().attr("value").unwrap_or("").to_string(),
        };
        fields.push(Field::page(name, value));
    }
    if let Some(b) = button.or(first_submit)
        && let Some(name) = b.value().attr("name").filter(|n| !n.is_empty())
    {
        fields.push(Field::page(
            name.to_string(),
            b.value().attr("value").unwrap_or("").to_string(),
        ));
    }
    Ok(FoundForm {
        action: form.value().attr("action").map(str::to_string),
        method_post: form
            .value()
            .attr("method")
            .is_none_or(|m| !m.eq_ignore_ascii_case("get")),
        is_login,
        fields,
    })
}

/// Chooses the form to submit: a login form (it has a password field), else a consent form
/// with an approving submit button.
fn pick_form(html: &Html) -> Option<FoundForm> {
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
            let is_username = is_login
                && !username_taken
                && matches!(ty.as_str(), "text" | "email" | "tel" | "")
                && tag == "input";
            let value = if ty == "password" {
                FieldValue::Password
            } else if is_username {
                username_taken = true;
                FieldValue::Username
            } else if matches!(ty.as_str(), "checkbox" | "radio")
                && e.value().attr("checked").is_none()
            {
                continue;
            } else {
                FieldValue::Page(match tag {
                    "textarea" => e.text().collect(),
                    "select" => selected_option(e),
                    _ => e.value().attr("value").unwrap_or("").to_string(),
                })
            };
            let is_secret = matches!(value, FieldValue::Password);
            fields.push(Field {
                name,
                value,
                is_secret,
            });
        }
        let method_post = form
            .value()
            .attr("method")
            .is_none_or(|m| !m.eq_ignore_ascii_case("get"));
        let action = form.value().attr("action").map(str::to_string);
        if is_login {
            if let Some((n, v)) = first_submit.filter(|(n, _)| !n.is_empty()) {
                fields.push(Field::page(n, v));
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
                fields.push(Field::page(n, v));
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
mod tests;

#[cfg(test)]
mod fuzz;
