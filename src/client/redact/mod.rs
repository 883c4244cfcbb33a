//! Redaction of secrets in everything the harness prints or writes.
//!
//! A secret keeps a short prefix, so two values can still be told apart in a transcript, and
//! loses the rest. Secrets are found by name (headers, form fields, JSON members, query
//! parameters), by shape (anything that looks like a JWT), and by value: each run has a
//! [`Redactor`] that remembers every secret the run is configured with or learns on the wire
//! ([`learn`]), and scrubs it wherever it appears, also percent-encoded, form-encoded,
//! base64-encoded, JSON- or HTML-escaped, so a target that echoes a secret somewhere
//! unexpected (an error page, a login page, an error message quoting a URL) cannot leak it
//! into a report.

mod known;
pub mod learn;

pub use known::{MAX_VALUES, Redactor, is_token_char};

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// How many leading characters of a secret stay visible.
const VISIBLE_PREFIX: usize = 4;

/// Parameter and member names whose values are secrets.
const SECRET_NAMES: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "code_verifier",
    "client_secret",
    "password",
    "registration_access_token",
    "token",
    "assertion",
    "client_assertion",
    "csrf",
    "csrf_token",
    "_csrf",
];

/// Header names whose values are secrets.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// A secret string: `Debug` and `Display` never show it in full. Its value is scrubbed from
/// the run's outputs once the run's [`Redactor`] knows it: when it crosses the wire, or when
/// the run is configured with it ([`Redactor::secret`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for putting on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// `abcd…[redacted]`: a short prefix, never the whole value.
pub fn redact(secret: &str) -> String {
    if secret.is_empty() {
        return String::new();
    }
    let keep = if secret.chars().count() > VISIBLE_PREFIX * 3 {
        VISIBLE_PREFIX
    } else {
        0
    };
    let prefix: String = secret.chars().take(keep).collect();
    format!("{prefix}…[redacted]")
}

pub fn is_secret_name(name: &str) -> bool {
    SECRET_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The value of a header as it may be printed.
pub fn header_value(name: &str, value: &str) -> String {
    if !SECRET_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
        return redact_text(value);
    }
    // Keep the scheme of `Authorization: Bearer …` and cookie names: they are not secret and
    // they are what a reader needs to see.
    if name.eq_ignore_ascii_case("authorization")
        || name.eq_ignore_ascii_case("proxy-authorization")
    {
        return match value.split_once(' ') {
            Some((scheme, rest)) => format!("{scheme} {}", redact(rest.trim())),
            None => redact(value),
        };
    }
    value
        .split(';')
        .map(|part| match part.split_once('=') {
            Some((k, v)) if !is_cookie_attribute(k) => format!("{k}={}", redact(v)),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn is_cookie_attribute(name: &str) -> bool {
    let name = name.trim();
    ["path", "domain", "expires", "max-age", "samesite"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(name))
}

/// Redacts secret members of a JSON value, at any depth.
pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                match v {
                    Value::String(s) if is_secret_name(k) => *s = redact(s),
                    _ => redact_json(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::String(s) => *s = redact_text(s),
        _ => {}
    }
}

/// Redacts `name=value` pairs of a form body or query string.
pub fn redact_form(form: &str) -> String {
    form.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if is_secret_name(&percent_decode(k)) => format!("{k}={}", redact(v)),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Redacts a URL's secret query parameters.
pub fn redact_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, rest)) => {
            let (query, fragment) = match rest.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (rest, None),
            };
            let mut out = format!("{base}?{}", redact_form(query));
            if let Some(f) = fragment {
                out.push('#');
                out.push_str(&redact_form(f));
            }
            out
        }
        None => url.to_string(),
    }
}

static JWT_SHAPE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*").ok());

static NAMED_SECRET: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let names = SECRET_NAMES.join("|");
    Regex::new(&format!(
        r#"(?i)\b({names})(["']?\s*[:=]\s*["']?)([^"'&\s,;<>]+)"#
    ))
    .ok()
});

static HIDDEN_VALUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)(type\s*=\s*["']?(?:hidden|password)["']?[^>]*?value\s*=\s*["'])([^"']+)"#)
        .ok()
});

/// Redacts secrets in free text that can be found without knowing them: JWT-shaped strings,
/// `name=value` and `"name": "value"` pairs with secret names, and the values of hidden and
/// password form fields. [`Redactor::text`] also scrubs the values a run knows.
pub fn redact_text(text: &str) -> String {
    let mut out = text.to_string();
    if let Some(re) = JWT_SHAPE.as_ref() {
        out = re
            .replace_all(&out, |c: &regex::Captures| redact(&c[0]))
            .into_owned();
    }
    if let Some(re) = NAMED_SECRET.as_ref() {
        out = re
            .replace_all(&out, |c: &regex::Captures| {
                if c[3].ends_with("[redacted]") {
                    c[0].to_string()
                } else {
                    format!("{}{}{}", &c[1], &c[2], redact(&c[3]))
                }
            })
            .into_owned();
    }
    if let Some(re) = HIDDEN_VALUE.as_ref() {
        out = re
            .replace_all(&out, |c: &regex::Captures| {
                format!("{}{}", &c[1], redact(&c[2]))
            })
            .into_owned();
    }
    out
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("{s}=").as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_else(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz";

    #[test]
    fn secret_debug_and_display_never_show_the_value() {
        let s = Secret::new("supersecretvalue-1234567890");
        assert_eq!(format!("{s:?}"), "supe…[redacted]");
        assert_eq!(format!("{s}"), "supe…[redacted]");
        assert_eq!(s.expose(), "supersecretvalue-1234567890");
        assert_eq!(redact("short"), "…[redacted]");
    }

    #[test]
    fn headers_keep_the_scheme_and_cookie_names() {
        assert_eq!(
            header_value("Authorization", &format!("Bearer {TOKEN}")),
            "Bearer eyJh…[redacted]"
        );
        assert_eq!(
            header_value(
                "set-cookie",
                "rs_session=abcdefghijklmnopq; Path=/; HttpOnly"
            ),
            "rs_session=abcd…[redacted]; Path=/; HttpOnly"
        );
        assert_eq!(
            header_value("content-type", "application/json"),
            "application/json"
        );
    }

    #[test]
    fn forms_urls_and_json_lose_their_secrets() {
        let form = "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&client_id=c1";
        let r = redact_form(form);
        assert!(r.contains("grant_type=authorization_code"));
        assert!(r.contains("client_id=c1"));
        assert!(!r.contains("SplxlOBeZQQYbYS6WxSbIA"));
        assert!(!r.contains("dBjftJeZ4CVP"));

        let u = redact_url("http://127.0.0.1:9/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz");
        assert_eq!(u, "http://127.0.0.1:9/cb?code=Splx…[redacted]&state=xyz");

        let mut v = json!({"access_token": TOKEN, "token_type": "Bearer",
            "nested": [{"refresh_token": "8xLOxBtZp8-refresh-token"}], "note": format!("see {TOKEN}")});
        redact_json(&mut v);
        let printed = v.to_string();
        assert!(!printed.contains("8xLOxBtZp8-refresh-token"));
        assert!(!printed.contains(TOKEN));
        assert!(printed.contains("\"token_type\":\"Bearer\""));
    }

    #[test]
    fn free_text_loses_jwts_named_values_and_hidden_fields() {
        let html = r#"<input type="hidden" name="csrf" value="4f1c2b7e9a0d">
<input type="password" name="password" value="wonderland">"#;
        let r = redact_text(html);
        assert!(!r.contains("4f1c2b7e9a0d"));
        assert!(!r.contains("wonderland"));
        let r = redact_text(&format!(
            r#"{{"refresh_token": "rt-0123456789abcdef", "x": "{TOKEN}"}}"#
        ));
        assert!(!r.contains("rt-0123456789abcdef"));
        assert!(!r.contains(TOKEN));
        assert_eq!(redact_text("no secrets here"), "no secrets here");
    }
}
