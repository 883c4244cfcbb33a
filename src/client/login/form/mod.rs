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
    AuthorizationOutcome, LoginDriver, LoginError, LoginStep, Traced, is_redirect_uri, may_follow,
    redirect_outcome,
};
use crate::client::http::{Http, Request};
use crate::client::redact::Secret;

/// The HTML form driver.
#[derive(Debug, Clone)]
pub struct FormDriver {
    pub username: String,
    pub password: Secret,
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
                    return done(redirect_outcome(location), steps);
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
            let html = Html::parse_document(&resp.text());
            let form = match self.script.page_for(&url) {
                Some(script) => Some(scripted_form(&html, script, &url)?),
                None => pick_form(&html),
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
        let mut secret = Vec::new();
        for field in form.fields {
            // The password and a script's values become plain text only in the request that
            // sends them, which marks them for redaction.
            let value = match field.value {
                FieldValue::Username => self.username.clone(),
                FieldValue::Password => self.password.expose().to_string(),
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
mod tests {
    use super::super::config::PageScript;
    use super::super::script::Script;
    use super::*;
    use std::collections::BTreeMap;

    fn page(html: &str) -> Html {
        Html::parse_document(html)
    }

    /// A field's value as sent, with placeholders for the configured user.
    fn sent(f: &Field) -> String {
        match &f.value {
            FieldValue::Username => "{username}".into(),
            FieldValue::Password => "{password}".into(),
            FieldValue::Page(v) => v.clone(),
            FieldValue::Scripted(v) => v.expose().to_string(),
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
            .map(|x| (x.name.clone(), format!("{:?}", x.value)))
            .collect();
        assert_eq!(
            roles,
            vec![
                ("csrf".into(), "Page(\"t1\")".into()),
                ("email".into(), "Username".into()),
                ("pw".into(), "Password".into()),
                ("op".into(), "Page(\"signin\")".into()),
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
            (last.name.as_str(), sent(last).as_str()),
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

    fn script(fields: &[(&str, &str)], submit: Option<&str>) -> Script {
        Script::resolve(
            &[PageScript {
                url: "login".into(),
                fields: fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
                submit: submit.map(str::to_string),
            }],
            "alice",
            &Secret::new("wonderland"),
        )
        .expect("resolves")
    }

    const TWO_FORMS: &str = r#"<form action="/search"><input name="q" value="s"><button>Go</button></form>
        <form method="post" action="/u/login"><input type="hidden" name="state" value="st">
        <input id="who" name="identifier"><input id="otp" name="otp">
        <input type="checkbox" name="remember" value="1">
        <button name="action" value="default" id="next">Continue</button></form>"#;

    #[test]
    fn a_scripted_page_fills_its_selectors_in_the_form_of_its_button() {
        let s = script(&[("#who", "{username}"), ("#otp", "123456")], Some("#next"));
        let url = Url::parse("https://as.example/u/login").expect("url");
        let page_script = s.page_for(&url).expect("matched");
        let f = scripted_form(&page(TWO_FORMS), page_script, &url).expect("a form");
        assert_eq!(f.action.as_deref(), Some("/u/login"));
        assert!(f.method_post && !f.is_login);
        let pairs: Vec<(String, String)> =
            f.fields.iter().map(|x| (x.name.clone(), sent(x))).collect();
        assert_eq!(
            pairs,
            vec![
                ("state".to_string(), "st".to_string()),
                ("identifier".to_string(), "alice".to_string()),
                ("otp".to_string(), "123456".to_string()),
                ("action".to_string(), "default".to_string()),
            ]
        );
        // A script's values print redacted.
        assert!(!format!("{f:?}").contains("123456"), "{f:?}");
    }

    #[test]
    fn a_script_that_does_not_fit_the_page_says_which_selector_failed() {
        let url = Url::parse("https://as.example/u/login").expect("url");
        let s = script(&[("#nope", "x")], None);
        let e = scripted_form(&page(TWO_FORMS), s.page_for(&url).expect("m"), &url)
            .expect_err("no such field");
        assert!(e.to_string().contains("\"#nope\" matches nothing"), "{e}");
        assert!(e.to_string().contains("login.pages[0]"), "{e}");
        let s = script(&[("button", "x")], None);
        let e = scripted_form(&page(TWO_FORMS), s.page_for(&url).expect("m"), &url)
            .expect_err("not a field");
        assert!(e.to_string().contains("not a named input"), "{e}");
    }

    #[test]
    fn a_page_built_by_javascript_is_recognised() {
        assert!(built_by_script(&page(
            r#"<div id="app"></div><script src="/login.js"></script>"#
        )));
        assert!(!built_by_script(&page(
            r#"<p>Error: invalid redirect_uri</p>"#
        )));
        assert!(!built_by_script(&page(
            r#"<form><input type="password" name="p"></form><script></script>"#
        )));
    }
}
