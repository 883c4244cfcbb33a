//! What in a request or a response is a secret: the transport hands every exchange to the
//! run's [`Redactor`] here, before anything of it is recorded, so a secret is known from the
//! moment it crosses the wire, whichever way.
//!
//! Sent: query and fragment parameters and form fields with secret names or marked secret (a
//! login form's password field), JSON members with secret names, the credentials of
//! `Authorization` headers (and what a Basic credential decodes to), cookie values, a URL's
//! password. Received: `Set-Cookie` values, the secret parameters of a `Location`, JSON and
//! form members with secret names, and the values of hidden form fields with secret names.

use std::sync::LazyLock;

use base64::Engine as _;
use regex::Regex;
use serde_json::Value;
use url::Url;

use super::{Redactor, is_secret_name};
use crate::client::http::{Body, Request, Response};

/// Learns the secrets `req` carries.
pub fn request(secrets: &Redactor, req: &Request) {
    url(secrets, &req.url);
    for (name, value) in &req.headers {
        if let Ok(value) = value.to_str() {
            header(secrets, name.as_str(), value);
        }
    }
    let marked = |k: &str| is_secret_name(k) || req.secret_fields.iter().any(|f| f == k);
    match &req.body {
        Some(Body::Form(pairs)) => {
            for (k, v) in pairs {
                if marked(k) {
                    secrets.remember(v);
                }
            }
        }
        Some(Body::Json(v)) => json(secrets, v),
        Some(Body::Raw { bytes, .. }) => body(secrets, bytes),
        None => {}
    }
}

/// Learns the secrets `resp` hands out.
pub fn response(secrets: &Redactor, resp: &Response) {
    for value in resp.header_all("set-cookie") {
        if let Some(v) = cookie_value(value.split(';').next().unwrap_or("")) {
            secrets.remember(v);
        }
    }
    if let Some(location) = resp.header("location")
        && let Ok(u) = resp.url.join(location)
    {
        url(secrets, &u);
    }
    body(secrets, &resp.body);
}

/// The secret parameters of a URL's query and fragment, and its password.
pub fn url(secrets: &Redactor, u: &Url) {
    if let Some(p) = u.password() {
        secrets.remember(p);
    }
    let fragment = u.fragment().unwrap_or("");
    for (k, v) in u
        .query_pairs()
        .chain(url::form_urlencoded::parse(fragment.as_bytes()))
    {
        if is_secret_name(&k) {
            secrets.remember(&v);
        }
    }
}

/// The credentials of a header the harness sends.
pub fn header(secrets: &Redactor, name: &str, value: &str) {
    if name.eq_ignore_ascii_case("authorization")
        || name.eq_ignore_ascii_case("proxy-authorization")
    {
        // `Bearer` alone (an empty token) carries no credential.
        let Some((scheme, credential)) = value.trim().split_once(' ') else {
            return;
        };
        let credential = credential.trim();
        secrets.remember(credential);
        if scheme.eq_ignore_ascii_case("basic") {
            basic(secrets, credential);
        }
    } else if name.eq_ignore_ascii_case("cookie") {
        for pair in value.split(';') {
            if let Some(v) = cookie_value(pair) {
                secrets.remember(v);
            }
        }
    }
}

/// A Basic credential is `base64(id:secret)`, each part form-encoded (RFC 6749 §2.3.1): the
/// secret is remembered as sent and decoded.
fn basic(secrets: &Redactor, credential: &str) {
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credential) else {
        return;
    };
    let text = String::from_utf8_lossy(&decoded);
    if let Some((_, secret)) = text.split_once(':') {
        secrets.remember(secret);
        let plain: String = url::form_urlencoded::parse(format!("x={secret}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        secrets.remember(&plain);
    }
}

fn cookie_value(pair: &str) -> Option<&str> {
    pair.split_once('=')
        .map(|(_, v)| v.trim().trim_matches('"'))
}

/// A body: JSON members, form fields or hidden HTML fields with secret names.
fn body(secrets: &Redactor, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        json(secrets, &v);
        return;
    }
    let text = String::from_utf8_lossy(bytes);
    if text.contains('<') {
        hidden_fields(secrets, &text);
    } else if text.contains('=') && !text.contains([' ', '\n']) {
        for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
            if is_secret_name(&k) {
                secrets.remember(&v);
            }
        }
    }
}

/// Members with secret names, at any depth. A `code` member is not an authorization code
/// (codes travel in redirects) but an error's or a JSON-RPC code.
pub fn json(secrets: &Redactor, v: &Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if is_secret_name(k) && k != "code" => secrets.remember(s),
                    _ => json(secrets, v),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| json(secrets, v)),
        _ => {}
    }
}

static INPUT: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?is)<input\b[^>]*>").ok());
static ATTRIBUTE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?is)\b(name|value)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#).ok()
});

/// The values of `<input>` fields with secret names (a CSRF token).
fn hidden_fields(secrets: &Redactor, html: &str) {
    let (Some(input), Some(attribute)) = (INPUT.as_ref(), ATTRIBUTE.as_ref()) else {
        return;
    };
    for tag in input.find_iter(html) {
        let mut name = None;
        let mut value = None;
        for c in attribute.captures_iter(tag.as_str()) {
            let v = c.get(2).or(c.get(3)).or(c.get(4)).map(|m| m.as_str());
            match c.get(1).map(|m| m.as_str().to_ascii_lowercase()).as_deref() {
                Some("name") => name = v,
                Some("value") => value = v,
                _ => {}
            }
        }
        if let (Some(n), Some(v)) = (name, value)
            && is_secret_name(n)
        {
            secrets.remember(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn scrubbed(secrets: &Redactor, value: &str) -> bool {
        secrets.scrub(value).contains("[redacted]")
    }

    #[test]
    fn a_request_teaches_its_credentials() {
        let secrets = Redactor::new();
        let basic = base64::engine::general_purpose::STANDARD.encode("client-1:s3cret%2Fvalue");
        let req = Request::post(
            Url::parse("http://127.0.0.1:9/token?code=query-code-123#access_token=frag-token-1")
                .expect("url"),
        )
        .header("authorization", &format!("Basic {basic}"))
        .header("cookie", "session=cookie-value-1; theme=darkmode")
        .form(vec![
            ("code_verifier".into(), "verifier-123456".into()),
            ("pw".into(), "marked-password".into()),
            ("client_id".into(), "client-1-public".into()),
        ])
        .secret_field("pw");
        request(&secrets, &req);
        for v in [
            "query-code-123",
            "frag-token-1",
            basic.as_str(),
            "s3cret%2Fvalue",
            "s3cret/value",
            "cookie-value-1",
            "darkmode",
            "verifier-123456",
            "marked-password",
        ] {
            assert!(scrubbed(&secrets, v), "{v}");
        }
        assert!(!scrubbed(&secrets, "client-1-public"));
    }

    #[test]
    fn a_scheme_without_a_credential_teaches_nothing() {
        // A scenario that sends an empty bearer token: "Bearer" is not a secret, and scrubbing
        // it would take the word out of every report.
        let secrets = Redactor::new();
        let req = Request::get(Url::parse("http://127.0.0.1:9/mcp").expect("url"))
            .header("authorization", "Bearer ");
        request(&secrets, &req);
        assert!(secrets.is_empty());
        assert_eq!(secrets.scrub("a Bearer challenge"), "a Bearer challenge");
    }

    #[test]
    fn a_response_teaches_the_secrets_it_hands_out() {
        let secrets = Redactor::new();
        let mut headers = HeaderMap::new();
        headers.append(
            "set-cookie",
            HeaderValue::from_static("sid=set-cookie-1; Path=/; HttpOnly"),
        );
        headers.append(
            "location",
            HeaderValue::from_static("/cb?code=redirect-code-1&state=plain-state"),
        );
        let resp = Response {
            url: Url::parse("http://127.0.0.1:9/authorize").expect("url"),
            status: StatusCode::FOUND,
            headers,
            body: br#"{"access_token":"at-123456","nested":{"refresh_token":"rt-123456"},"code":"invalid","id":"not-a-secret"}"#.to_vec(),
        };
        response(&secrets, &resp);
        for v in ["set-cookie-1", "redirect-code-1", "at-123456", "rt-123456"] {
            assert!(scrubbed(&secrets, v), "{v}");
        }
        for v in ["plain-state", "invalid", "not-a-secret"] {
            assert!(!scrubbed(&secrets, v), "{v}");
        }
        let html = Response {
            body: br#"<form><input type=hidden name="csrf" value='csrf-value-1'><input name=state value=some-state></form>"#.to_vec(),
            ..resp
        };
        response(&secrets, &html);
        assert!(scrubbed(&secrets, "csrf-value-1"));
        assert!(!scrubbed(&secrets, "some-state"));
    }
}
