//! The HTML the user sees: login, consent and error pages. Every page refuses framing and caching.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

/// What the consent page shows (CIMD-12, AUTHZ-19).
pub struct ConsentView<'a> {
    pub action: &'a str,
    pub txn: &'a str,
    pub csrf: &'a str,
    pub client_name: &'a str,
    pub client_id: &'a str,
    pub redirect_host: &'a str,
    pub all_redirects_loopback: bool,
    pub scopes: &'a [String],
    pub resource: &'a str,
    pub username: &'a str,
}

/// The policy of every page: nothing loads, nothing frames it.
const CSP: &str = "frame-ancestors 'none'; default-src 'none'; style-src 'unsafe-inline'";
/// The script-built login page's policy: the same, plus scripts from this origin.
const CSP_WITH_SCRIPT: &str =
    "frame-ancestors 'none'; default-src 'none'; script-src 'self'; style-src 'unsafe-inline'";

/// The login script's route below the AS endpoint prefix, next to `login`.
pub const LOGIN_SCRIPT: &str = "login.js";

fn page(status: StatusCode, title: &str, body: String) -> Response {
    page_with_policy(status, title, body, CSP)
}

fn page_with_policy(status: StatusCode, title: &str, body: String, csp: &'static str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<h1>{}</h1>\n{}\n</body></html>\n",
        text(title),
        text(title),
        body
    );
    let mut resp = (status, Html(html)).into_response();
    let h = resp.headers_mut();
    // Clickjacking protection on every page (AUTHZ-19).
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// What the HTML login page carries besides the username and password fields.
#[derive(Debug, Default)]
pub struct LoginExtras<'a> {
    /// Hidden inputs the POST must return (the `login-hidden-inputs` variant).
    pub hidden: &'a [(&'a str, &'a str)],
    /// A script that sets the form's action: the form has none in the HTML, so a native
    /// submission without the script goes back to the page's own URL (the
    /// `login-needs-scripts` variant).
    pub submit_script: Option<&'a str>,
}

pub fn login(action: &str, txn: &str, client_name: &str, error: Option<&str>) -> Response {
    login_with(action, txn, client_name, error, &LoginExtras::default())
}

/// The login page with `extras`.
pub fn login_with(
    action: &str,
    txn: &str,
    client_name: &str,
    error: Option<&str>,
    extras: &LoginExtras<'_>,
) -> Response {
    let err = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", text(e)))
        .unwrap_or_default();
    let hidden: String = extras
        .hidden
        .iter()
        .map(|(n, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                attr(n),
                attr(v)
            )
        })
        .collect();
    let (form_action, script) = match extras.submit_script {
        Some(src) => (
            format!("data-action=\"{}\"", attr(action)),
            format!("\n<script src=\"{}\"></script>", attr(src)),
        ),
        None => (format!("action=\"{}\"", attr(action)), String::new()),
    };
    let body = format!(
        "<p>Sign in to continue to <strong>{client}</strong>.</p>\n{err}\
<form method=\"post\" {form_action}>\n\
<input type=\"hidden\" name=\"txn\" value=\"{txn}\">\n{hidden}\
<label>Username <input type=\"text\" name=\"username\" autocomplete=\"username\" required></label>\n\
<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\n\
<button type=\"submit\">Sign in</button>\n</form>{script}",
        client = text(client_name),
        txn = attr(txn),
    );
    let csp = if extras.submit_script.is_some() {
        CSP_WITH_SCRIPT
    } else {
        CSP
    };
    page_with_policy(StatusCode::OK, "Sign in", body, csp)
}

/// The route of the script that gives the login form its action, next to `login`.
pub const LOGIN_SUBMIT_SCRIPT: &str = "login-submit.js";

/// Gives every form with a `data-action` its action, once the document has loaded.
const LOGIN_SUBMIT_JS: &str = r#"(function () {
  "use strict";
  function wire() {
    document.querySelectorAll("form[data-action]").forEach(function (f) {
      f.setAttribute("action", f.getAttribute("data-action"));
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
"#;

/// GET of the script that wires the login form's submission.
pub async fn login_submit_script() -> Response {
    script_response(LOGIN_SUBMIT_JS)
}

/// The page between login and consent (the `login-continue-page` variant): a form that goes on
/// to `next` with the pending request's `txn`.
pub fn signed_in(next: &str, txn: &str, username: &str) -> Response {
    let body = format!(
        "<p>You are signed in as <strong>{user}</strong>.</p>\n\
<form method=\"get\" action=\"{next}\">\n\
<input type=\"hidden\" name=\"txn\" value=\"{txn}\">\n\
<button type=\"submit\">Continue</button>\n</form>",
        user = text(username),
        next = attr(next),
        txn = attr(txn),
    );
    page(StatusCode::OK, "Signed in", body)
}

/// The login page without a form: `script` (a URL on this origin) builds, after a short delay,
/// the same form [`login`] has from the data attributes of `#login`.
pub fn login_js(
    action: &str,
    script: &str,
    txn: &str,
    client_name: &str,
    error: Option<&str>,
) -> Response {
    let body = format!(
        "<div id=\"login\" data-action=\"{action}\" data-txn=\"{txn}\" data-client-name=\"{client}\" data-error=\"{error}\"></div>\n\
<noscript><p class=\"error\" role=\"alert\">This sign-in page needs JavaScript. Turn it on and reload the page.</p></noscript>\n\
<script src=\"{script}\"></script>",
        action = attr(action),
        txn = attr(txn),
        client = attr(client_name),
        error = attr(error.unwrap_or("")),
        script = attr(script),
    );
    page_with_policy(StatusCode::OK, "Sign in", body, CSP_WITH_SCRIPT)
}

/// Builds the login form of [`login_js`] with DOM calls, shortly after the document has loaded.
const LOGIN_JS: &str = r#"(function () {
  "use strict";
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.appendChild(document.createTextNode(text)); }
    return e;
  }
  function build() {
    var root = document.getElementById("login");
    if (!root || root.getAttribute("data-ready") === "true") { return; }
    var data = root.dataset;
    var intro = el("p", {}, "Sign in to continue to ");
    intro.appendChild(el("strong", {}, data.clientName || ""));
    intro.appendChild(document.createTextNode("."));
    root.appendChild(intro);
    if (data.error) {
      root.appendChild(el("p", { "class": "error", "role": "alert" }, data.error));
    }
    var form = el("form", { "method": "post", "action": data.action || "" });
    form.appendChild(el("input", { "type": "hidden", "name": "txn", "value": data.txn || "" }));
    var user = el("label", {}, "Username ");
    user.appendChild(el("input", { "type": "text", "name": "username", "autocomplete": "username", "required": "" }));
    form.appendChild(user);
    var pass = el("label", {}, "Password ");
    pass.appendChild(el("input", { "type": "password", "name": "password", "autocomplete": "current-password", "required": "" }));
    form.appendChild(pass);
    form.appendChild(el("button", { "type": "submit" }, "Sign in"));
    root.appendChild(form);
    root.setAttribute("data-ready", "true");
  }
  function later() { window.setTimeout(build, 50); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", later);
  } else {
    later();
  }
})();
"#;

/// GET of the login script.
pub async fn login_script() -> Response {
    script_response(LOGIN_JS)
}

fn script_response(js: &'static str) -> Response {
    let mut resp = (StatusCode::OK, js).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

pub fn consent(v: &ConsentView<'_>) -> Response {
    let warning = if v.all_redirects_loopback {
        "<p class=\"warning\" role=\"alert\">Warning: this application only redirects to this computer \
(localhost). Make sure you started it yourself.</p>\n"
    } else {
        ""
    };
    let scopes: String = v
        .scopes
        .iter()
        .map(|s| format!("<li>{}</li>", text(s)))
        .collect();
    let body = format!(
        "<p>Signed in as <strong>{user}</strong>.</p>\n\
<p>The application <strong>{name}</strong> (client ID <code>{id}</code>) asks for access.</p>\n\
<p>After you decide, you will be sent to <strong>{host}</strong>.</p>\n{warning}\
<p>Resource: <code>{resource}</code></p>\n<p>Permissions:</p>\n<ul>{scopes}</ul>\n\
<form method=\"post\" action=\"{action}\">\n\
<input type=\"hidden\" name=\"txn\" value=\"{txn}\">\n\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
<button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\n\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n</form>",
        user = text(v.username),
        name = text(v.client_name),
        id = text(v.client_id),
        host = text(v.redirect_host),
        resource = text(v.resource),
        action = attr(v.action),
        txn = attr(v.txn),
        csrf = attr(v.csrf),
    );
    page(StatusCode::OK, "Authorize access", body)
}

/// AUTHZ-04: a request whose client or redirect URI cannot be trusted ends here, never in a redirect.
pub fn error(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Authorization request refused",
        format!("<p class=\"error\" role=\"alert\">{}</p>", text(message)),
    )
}

/// Form Post Response Mode §2: the authorization response as hidden inputs of a form that
/// POSTs itself to the redirect URI. Never cached: it carries the code.
pub fn form_post(action: &str, params: &[(&str, String)]) -> Response {
    let inputs: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                attr(k),
                attr(v)
            )
        })
        .collect();
    let body = format!(
        "<!doctype html><html><head><title>Submit this form</title></head>\
         <body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{}\">{inputs}\
         <noscript><button type=\"submit\">Continue</button></noscript></form></body></html>",
        attr(action)
    );
    let mut resp = Html(body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_refuse_framing_and_escape_input() {
        let r = error(StatusCode::BAD_REQUEST, "<script>x</script>");
        assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
        assert!(
            r.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert!(r.headers().get(header::LOCATION).is_none());
    }

    #[test]
    fn the_script_login_page_allows_its_script_and_refuses_framing() {
        let r = login_js(
            "/oauth2/login",
            "/oauth2/login.js",
            "t\"x",
            "<b>App</b>",
            Some("bad \"pw\""),
        );
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
    }
}
