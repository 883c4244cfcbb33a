//! The HTML the user sees: login, consent and error pages. Every page refuses framing and caching.
//! The pages are minijinja templates in `reference-server/templates/`, compiled into the binary;
//! everything interpolated is escaped as for a double-quoted attribute, whether it lands in an
//! attribute or in text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::sync::LazyLock;

use html_escape::encode_double_quoted_attribute as attr;
use minijinja::value::{Serde, Value};
use minijinja::{Environment, Error, ErrorKind, context};
use serde::Serialize;

/// What the consent page shows (CIMD-12, AUTHZ-19).
#[derive(Serialize)]
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

/// The templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("page.html", include_str!("../templates/page.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("login_js.html", include_str!("../templates/login_js.html")),
    (
        "signed_in.html",
        include_str!("../templates/signed_in.html"),
    ),
    ("consent.html", include_str!("../templates/consent.html")),
    ("error.html", include_str!("../templates/error.html")),
    (
        "form_post.html",
        include_str!("../templates/form_post.html"),
    ),
];

/// The engine with every template added, or why a template does not compile.
static ENGINE: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_formatter(|out, _state, value| {
        let text = if value.is_none() || value.is_undefined() {
            String::new()
        } else if value.is_safe() {
            value.to_string()
        } else {
            attr(&value.to_string()).into_owned()
        };
        out.write_str(&text)
            .map_err(|e| Error::new(ErrorKind::WriteFailure, e.to_string()))
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| format!("the page template {name}: {e}"))?;
    }
    Ok(env)
});

/// Renders template `name` with `ctx`.
fn render(name: &str, ctx: Value) -> Result<String, String> {
    let env = ENGINE.as_ref().map_err(Clone::clone)?;
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("the page template {name}: {e}"))
}

/// A plain 500 when a page cannot be rendered (a template bug, caught by the tests).
fn broken(problem: &str) -> Response {
    tracing::error!("{problem}");
    let mut resp = (
        StatusCode::INTERNAL_SERVER_ERROR,
        "The page cannot be shown.",
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn page(status: StatusCode, title: &str, body: Result<String, String>) -> Response {
    page_with_policy(status, title, body, CSP)
}

fn page_with_policy(
    status: StatusCode,
    title: &str,
    body: Result<String, String>,
    csp: &'static str,
) -> Response {
    let html = body.and_then(|body| {
        render(
            "page.html",
            context! { title, body => Value::from_safe_string(body) },
        )
    });
    let html = match html {
        Ok(h) => h,
        Err(problem) => return broken(&problem),
    };
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
    let body = render(
        "login.html",
        context! {
            action,
            txn,
            client_name,
            error,
            hidden => Serde(extras.hidden),
            script => extras.submit_script,
        },
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
    let body = render("signed_in.html", context! { next, txn, username });
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
    let body = render(
        "login_js.html",
        context! { action, script, txn, client_name, error => error.unwrap_or("") },
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
    let body = render("consent.html", Value::from(Serde(v)));
    page(StatusCode::OK, "Authorize access", body)
}

/// AUTHZ-04: a request whose client or redirect URI cannot be trusted ends here, never in a redirect.
pub fn error(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Authorization request refused",
        render("error.html", context! { message }),
    )
}

/// Form Post Response Mode §2: the authorization response as hidden inputs of a form that
/// POSTs itself to the redirect URI. Never cached: it carries the code.
pub fn form_post(action: &str, params: &[(&str, String)]) -> Response {
    let body = match render(
        "form_post.html",
        context! { action, params => Serde(params) },
    ) {
        Ok(b) => b,
        Err(problem) => return broken(&problem),
    };
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

    async fn body(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_login_page_keeps_its_shape_and_escapes_everything() {
        let extras = LoginExtras {
            hidden: &[("nonce", "a\"b"), ("<n>", "&")],
            submit_script: Some("/oauth2/login-submit.js"),
        };
        let r = login_with(
            "/oauth2/login?x=1&y=2",
            "t\"x",
            "<b>App</b>",
            Some("bad <pw>"),
            &extras,
        );
        assert_eq!(
            r.headers()[header::CONTENT_SECURITY_POLICY],
            CSP_WITH_SCRIPT
        );
        assert_eq!(
            body(r).await,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in</title></head>\n<body>\n<h1>Sign in</h1>\n\
<p>Sign in to continue to <strong>&lt;b&gt;App&lt;/b&gt;</strong>.</p>\n\
<p class=\"error\" role=\"alert\">bad &lt;pw&gt;</p>\n\
<form method=\"post\" data-action=\"/oauth2/login?x=1&amp;y=2\">\n\
<input type=\"hidden\" name=\"txn\" value=\"t&quot;x\">\n\
<input type=\"hidden\" name=\"nonce\" value=\"a&quot;b\">\n\
<input type=\"hidden\" name=\"&lt;n&gt;\" value=\"&amp;\">\n\
<label>Username <input type=\"text\" name=\"username\" autocomplete=\"username\" required></label>\n\
<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\n\
<button type=\"submit\">Sign in</button>\n</form>\n\
<script src=\"/oauth2/login-submit.js\"></script>\n</body></html>\n"
        );
        let plain = body(login("/oauth2/login", "t", "App", None)).await;
        assert!(
            plain.contains("<form method=\"post\" action=\"/oauth2/login\">\n<input type=\"hidden\" name=\"txn\" value=\"t\">\n<label>"),
            "{plain}"
        );
        assert!(
            !plain.contains("<script") && !plain.contains("class=\"error\""),
            "{plain}"
        );
    }

    #[tokio::test]
    async fn the_form_post_page_carries_the_response_as_hidden_inputs() {
        let r = form_post(
            "https://client.example/cb?a=1&b=2",
            &[("code", "c\"1".to_string()), ("state", "<s>".to_string())],
        );
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(
            body(r).await,
            "<!doctype html><html><head><title>Submit this form</title></head><body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"https://client.example/cb?a=1&amp;b=2\"><input type=\"hidden\" name=\"code\" value=\"c&quot;1\"><input type=\"hidden\" name=\"state\" value=\"&lt;s&gt;\"><noscript><button type=\"submit\">Continue</button></noscript></form></body></html>"
        );
    }

    #[tokio::test]
    async fn the_consent_and_error_pages_escape_what_the_client_chose() {
        let scopes = ["mcp:tools".to_string(), "<x>".to_string()];
        let v = ConsentView {
            action: "/oauth2/consent",
            txn: "t",
            csrf: "c",
            client_name: "<script>alert(1)</script>",
            client_id: "id&1",
            redirect_host: "127.0.0.1",
            all_redirects_loopback: true,
            scopes: &scopes,
            resource: "http://127.0.0.1/mcp",
            username: "alice",
        };
        let html = body(consent(&v)).await;
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>"),
            "{html}"
        );
        assert!(html.contains("<code>id&amp;1</code>"), "{html}");
        assert!(
            html.contains("<ul><li>mcp:tools</li><li>&lt;x&gt;</li></ul>"),
            "{html}"
        );
        assert!(html.contains("class=\"warning\""), "{html}");
        assert!(
            html.contains("<input type=\"hidden\" name=\"csrf\" value=\"c\">"),
            "{html}"
        );
        assert!(html.contains("name=\"decision\" value=\"deny\""), "{html}");
        let html = body(error(StatusCode::BAD_REQUEST, "<script>x</script>")).await;
        assert!(
            html.contains("<p class=\"error\" role=\"alert\">&lt;script&gt;x&lt;/script&gt;</p>\n</body></html>\n"),
            "{html}"
        );
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
