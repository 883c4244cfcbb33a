//! Redaction of secrets in everything the harness prints or writes.
//!
//! A secret keeps a short prefix, so two values can still be told apart in a transcript, and
//! loses the rest. Secrets are found by name (headers, form fields, JSON members, query
//! parameters), by shape (anything that looks like a JWT), and by value: every [`Secret`] the
//! run makes or learns is remembered ([`remember`]), and [`redact_text`] scrubs it wherever it
//! appears, also percent-encoded, base64-encoded or JSON-escaped, so a target that echoes a
//! secret somewhere unexpected (an error page, a login page, an error message quoting a URL)
//! cannot leak it into a report.

use std::collections::HashSet;
use std::fmt;
use std::sync::{LazyLock, RwLock};

use base64::Engine as _;

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

/// A secret string: `Debug` and `Display` never show it in full.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value` and remembers it, so it is scrubbed from every output by value too.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        remember(&value);
        Secret(value)
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

/// The shortest value remembered: shorter ones would scrub ordinary words.
const MIN_REMEMBERED: usize = 6;

/// Secret values seen in this process, in every form in which they may be echoed.
#[derive(Default)]
struct Known {
    /// Forms made only of [`is_token_char`] characters: found by splitting text into such runs,
    /// so the cost of a scrub does not grow with the number of secrets.
    tokens: HashSet<String>,
    /// Other forms (a password with spaces or punctuation): found by substring search.
    phrases: Vec<String>,
}

static KNOWN: LazyLock<RwLock<Known>> = LazyLock::new(|| RwLock::new(Known::default()));

/// Characters that may stand inside a token-like secret: unreserved URL characters, the
/// base64 alphabets and percent-escapes. `=`, `&`, quotes, spaces and the like separate.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '%')
}

/// Remembers a secret value, so that [`redact_text`] scrubs it wherever it appears: as it is,
/// percent-encoded, form-encoded, base64-encoded (standard and URL-safe alphabets) and
/// JSON-escaped. Values shorter than six characters are not remembered.
pub fn remember(value: &str) {
    if value.chars().count() < MIN_REMEMBERED {
        return;
    }
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(value);
    let b64_url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value);
    let forms = [
        value.to_string(),
        url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>(),
        utf8_percent_encode_all(value),
        b64,
        b64_url,
        serde_json::to_string(value)
            .map(|j| j.trim_matches('"').to_string())
            .unwrap_or_default(),
    ];
    let Ok(mut known) = KNOWN.write() else {
        return;
    };
    for form in forms {
        if form.chars().count() < MIN_REMEMBERED {
            continue;
        }
        if form.chars().all(is_token_char) {
            known.tokens.insert(form);
        } else if !known.phrases.contains(&form) {
            known.phrases.push(form);
        }
    }
}

/// Every byte that is not unreserved, percent-encoded (the form a URL path or a strict encoder
/// gives, with `%20` for a space where form encoding gives `+`).
fn utf8_percent_encode_all(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Replaces every remembered secret value in `text`.
fn scrub_known(text: &str) -> String {
    let Ok(known) = KNOWN.read() else {
        return text.to_string();
    };
    if known.tokens.is_empty() && known.phrases.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_token_char) {
        out.push_str(&rest[..start]);
        let run = &rest[start..];
        let end = run.find(|c: char| !is_token_char(c)).unwrap_or(run.len());
        let token = &run[..end];
        if known.tokens.contains(token) {
            out.push_str(&redact(token));
        } else {
            out.push_str(token);
        }
        rest = &run[end..];
    }
    out.push_str(rest);
    for phrase in &known.phrases {
        if out.contains(phrase.as_str()) {
            out = out.replace(phrase.as_str(), &redact(phrase));
        }
    }
    out
}

/// Redacts secrets in free text: every remembered secret value ([`remember`]), JWT-shaped
/// strings, `name=value` and `"name": "value"` pairs with secret names, and the values of
/// hidden and password form fields.
pub fn redact_text(text: &str) -> String {
    let mut out = scrub_known(text);
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
    fn remembered_values_are_scrubbed_in_every_encoding() {
        let secret = Secret::new("Echoed secret/value+1");
        let plain = secret.expose();
        let form: String = url::form_urlencoded::byte_serialize(plain.as_bytes()).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(plain);
        let texts = [
            format!("<p>The demo password is {plain}.</p>"),
            format!("error sending request for url (http://127.0.0.1:9/cb?x={form}&y=1)"),
            format!("GET /cb?x={} HTTP/1.1", utf8_percent_encode_all(plain)),
            format!("{{\"echo\":\"{b64}\"}}"),
            serde_json::json!({ "note": plain }).to_string(),
        ];
        for t in &texts {
            let r = redact_text(t);
            assert!(!r.contains(plain), "{r}");
            assert!(!r.contains(&form), "{r}");
            assert!(!r.contains(b64.trim_end_matches('=')), "{r}");
            assert!(r.contains("[redacted]"), "{r}");
        }
        let token = Secret::new("opaque-0123456789abcdefXYZ");
        let r = redact_text(&format!("token {},then", token.expose()));
        assert_eq!(r, "token opaq…[redacted],then");
        // A longer run that merely contains a remembered token is another value.
        let r = redact_text("xopaque-0123456789abcdefXYZ");
        assert_eq!(r, "xopaque-0123456789abcdefXYZ");
        // Short values are not remembered: they would scrub ordinary words.
        remember("alice");
        assert_eq!(redact_text("alice logs in"), "alice logs in");
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
