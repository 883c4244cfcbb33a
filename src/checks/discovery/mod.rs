//! Discovery: the MCP server's 401 challenge ([`challenge`]), its protected resource metadata
//! (RFC 9728, [`prm`]) and the authorization server's metadata (RFC 8414, OpenID Connect
//! Discovery, [`as_metadata`]).

pub mod as_metadata;
pub mod challenge;
pub mod prm;

use serde_json::Value;
use url::Url;

use crate::checks::{Findings, describe};
use crate::client::discovery::Document;
use crate::client::http::Response;
use crate::verdict::Violation;

/// A metadata document's response (PRM-08, ASM-03): 200, `application/json`, a JSON object.
pub fn json_object(id: req::Id, resp: &Response) -> Findings {
    let mut out = Vec::new();
    if resp.status.as_u16() != 200 {
        out.push(Violation::new(id, "status 200", describe(resp)));
        return out;
    }
    if resp.media_type().as_deref() != Some("application/json") {
        out.push(Violation::new(
            id,
            "Content-Type application/json",
            resp.header("content-type")
                .unwrap_or("no Content-Type")
                .to_string(),
        ));
    }
    if let Err(e) = resp.json_object() {
        out.push(Violation::new(id, "a JSON object body", e));
    }
    out
}

/// What differs between two URLs, in the words a reader looks for.
pub fn difference(expected: &str, actual: &str) -> &'static str {
    if expected.trim_end_matches('/') == actual.trim_end_matches('/') {
        return "a trailing slash differs";
    }
    if expected.eq_ignore_ascii_case(actual) {
        return "letter case differs";
    }
    match (Url::parse(expected), Url::parse(actual)) {
        (Ok(e), Ok(a)) if e.scheme() != a.scheme() => "the scheme differs",
        (Ok(e), Ok(a)) if e.host_str() != a.host_str() => "the host differs",
        (Ok(e), Ok(a)) if e.port() != a.port() => "the port differs",
        (Ok(e), Ok(a)) if e.path() != a.path() => "the path differs",
        (Ok(_), Err(_)) => "it is not an absolute URL",
        _ => "the strings differ",
    }
}

/// PRM-12 and ASM-12: members with no value (null, "", []) are left out. `allowed_empty`
/// names the members an empty array is meaningful for.
pub fn no_empty_members(id: req::Id, doc: &Document, allowed_empty: &[&str]) -> Findings {
    let empty: Vec<String> = doc
        .members
        .iter()
        .filter(|(name, v)| match v {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty() && !allowed_empty.contains(&name.as_str()),
            _ => false,
        })
        .map(|(name, v)| format!("{name}: {v}"))
        .collect();
    if empty.is_empty() {
        return Vec::new();
    }
    vec![Violation::new(
        id,
        "members without a value left out",
        format!("empty members: {}", empty.join(", ")),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::doc;

    #[test]
    fn empty_members_examples() {
        let ok = doc(r#"{"resource":"https://h/mcp","bearer_methods_supported":[]}"#);
        assert!(no_empty_members(req::PRM_12, &ok, &["bearer_methods_supported"]).is_empty());
        let bad = doc(
            r#"{"resource":"https://h/mcp","resource_name":"","jwks_uri":null,"scopes_supported":[]}"#,
        );
        let f = no_empty_members(req::PRM_12, &bad, &["bearer_methods_supported"]);
        assert_eq!(f.len(), 1);
        for m in ["resource_name", "jwks_uri", "scopes_supported"] {
            assert!(f[0].actual.contains(m), "{m}");
        }
        let as_bad = doc(r#"{"issuer":"https://as","ui_locales_supported":[]}"#);
        assert_eq!(no_empty_members(req::ASM_12, &as_bad, &[]).len(), 1);
    }
}
