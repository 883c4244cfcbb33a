//! Protected resource metadata (RFC 9728): where it is served (PRM-05, PRM-06), what it is
//! (PRM-08), and its members (PRM-09..18).

use super::{difference, json_object, no_empty_members};
use serde_json::Value;
use url::Url;

use crate::checks::{Findings, describe, is_https_or_loopback};
use crate::client::discovery::{Document, resource_matches};
use crate::client::http::Response;
use crate::verdict::Violation;

/// PRM-05: the path-inserted well-known URL serves the document. When another route serves
/// it (allowed by MCP 2025-11-25), a miss is graded as a warning: a deviation from RFC 9728.
pub fn prm_05_path_inserted(
    url: &Url,
    resp: &Response,
    doc: Option<&Document>,
    other_route_works: bool,
) -> Findings {
    if doc.is_some() {
        return Vec::new();
    }
    let v = Violation::new(
        req::PRM_05,
        format!("200 with a JSON object at {url}"),
        describe(resp),
    );
    if other_route_works {
        vec![v.as_warning("another route serves PRM, which MCP allows; RFC 9728 expects this URL")]
    } else {
        vec![v]
    }
}

/// PRM-06: the root well-known URL may serve PRM (a MAY). When it does, the document must be
/// usable and name a resource it can describe: the origin the URL was built from (RFC 9728
/// §3.3) or the MCP server URL (MCP 2025-11-25 treats it as the canonical resource; Q1).
pub fn prm_06_root_document(mcp: &Url, resp: &Response, doc: Option<&Document>) -> Findings {
    let Some(doc) = doc else {
        if resp.status.as_u16() == 200 {
            return vec![Violation::new(
                req::PRM_06,
                "a root PRM document, when served, as a JSON object",
                describe(resp),
            )];
        }
        // Not served: allowed.
        return Vec::new();
    };
    let origin = mcp.origin().ascii_serialization();
    let accepted = [origin.clone(), format!("{origin}/"), mcp.to_string()];
    match doc.str("resource") {
        Some(r) if accepted.iter().any(|a| a == r) => Vec::new(),
        other => vec![Violation::new(
            req::PRM_06,
            format!("resource {origin:?} (the origin) or {:?}", mcp.as_str()),
            match other {
                Some(r) => format!("resource {r:?}"),
                None => "no resource string".into(),
            },
        )],
    }
}

/// PRM-07: some route (the challenge's `resource_metadata`, or a well-known URL) yields PRM.
/// `tried` lists every URL tried, with its outcome.
pub fn prm_07_found(found: bool, tried: &str) -> Findings {
    if found {
        return Vec::new();
    }
    vec![Violation::new(
        req::PRM_07,
        "a PRM document from the challenge or a well-known URL",
        format!("none; tried: {tried}"),
    )]
}

/// PRM-08: the PRM response is 200 with an `application/json` object.
pub fn prm_08_json_object(resp: &Response) -> Findings {
    json_object(req::PRM_08, resp)
}

/// PRM-09: `resource` equals the MCP URL code point for code point. The difference is named.
pub fn prm_09_resource_matches(requested: &Url, doc: &Document) -> Findings {
    let Some(actual) = doc.members.get("resource") else {
        return vec![Violation::new(
            req::PRM_09,
            format!("resource {:?}", requested.as_str()),
            "no resource member",
        )];
    };
    let Some(actual) = actual.as_str() else {
        return vec![Violation::new(
            req::PRM_09,
            "resource as a string",
            format!("{actual}"),
        )];
    };
    if resource_matches(requested, actual) {
        return Vec::new();
    }
    vec![Violation::new(
        req::PRM_09,
        format!("resource {:?}", requested.as_str()),
        format!(
            "resource {actual:?} ({})",
            difference(requested.as_str(), actual)
        ),
    )]
}

/// PRM-10: a non-empty array of issuer URLs (absolute, https or loopback http, no query, no
/// fragment).
pub fn prm_10_authorization_servers(doc: &Document) -> Findings {
    let expected = "a non-empty array of issuer URLs";
    let Some(v) = doc.members.get("authorization_servers") else {
        return vec![Violation::new(
            req::PRM_10,
            expected,
            "no authorization_servers member",
        )];
    };
    let Some(list) = v.as_array().filter(|a| !a.is_empty()) else {
        return vec![Violation::new(req::PRM_10, expected, v.to_string())];
    };
    let mut out = Vec::new();
    for item in list {
        let problem = match item.as_str().map(Url::parse) {
            None => Some("not a string".to_string()),
            Some(Err(e)) => Some(format!("not an absolute URL ({e})")),
            Some(Ok(u)) if !is_https_or_loopback(&u) => Some("not https".into()),
            Some(Ok(u)) if u.query().is_some() || u.fragment().is_some() => {
                Some("has a query or fragment".into())
            }
            Some(Ok(_)) => None,
        };
        if let Some(p) = problem {
            out.push(Violation::new(
                req::PRM_10,
                "each entry an issuer URL",
                format!("{item}: {p}"),
            ));
        }
    }
    out
}

/// Scope values that grant everything, which `scopes_supported` should not advertise as a
/// baseline (RFC 9728 §7.2 on scope minimisation; SBP-C §2.5).
fn is_catch_all(scope: &str) -> bool {
    matches!(scope, "*" | "all" | "any" | "root") || scope.ends_with(":*") || scope.ends_with("/*")
}

/// PRM-11: `scopes_supported` is RECOMMENDED; when present a non-empty array of strings,
/// without catch-all values.
pub fn prm_11_scopes_supported(doc: &Document) -> Findings {
    let id = req::PRM_11;
    let expected = "scopes_supported as a non-empty array of scope strings";
    let Some(v) = doc.members.get("scopes_supported") else {
        return vec![Violation::new(id, expected, "no scopes_supported member")];
    };
    let Some(list) = v.as_array().filter(|a| !a.is_empty()) else {
        return vec![Violation::new(id, expected, v.to_string())];
    };
    let mut out = Vec::new();
    if list.iter().any(|s| !s.is_string()) {
        out.push(Violation::new(id, expected, v.to_string()));
    }
    let wide: Vec<&str> = list
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| is_catch_all(s))
        .collect();
    if !wide.is_empty() {
        out.push(Violation::new(
            id,
            "a minimal baseline of scopes, no catch-all values",
            format!("catch-all scopes: {}", wide.join(", ")),
        ));
    }
    out
}

/// PRM-12: no member other than `bearer_methods_supported` is empty (RFC 9728 §2).
pub fn prm_12_no_empty_members(doc: &Document) -> Findings {
    no_empty_members(req::PRM_12, doc, &["bearer_methods_supported"])
}

/// PRM-13: `jwks_uri` is an https URL, `resource_signing_alg_values_supported` does not list
/// `none`, the boolean flags are JSON booleans and the list members are arrays of strings
/// (RFC 9728 §2).
pub fn prm_13_member_types(doc: &Document) -> Findings {
    let id = req::PRM_13;
    let mut out = Vec::new();
    if let Some(v) = doc.members.get("jwks_uri") {
        let problem = match v.as_str().map(Url::parse) {
            None => Some("not a string".to_string()),
            Some(Err(e)) => Some(format!("not an absolute URL ({e})")),
            Some(Ok(u)) if !is_https_or_loopback(&u) => Some("not https".into()),
            Some(Ok(_)) => None,
        };
        if let Some(p) = problem {
            out.push(Violation::new(
                id,
                "jwks_uri as an https URL",
                format!("{v}: {p}"),
            ));
        }
    }
    for name in [
        "scopes_supported",
        "bearer_methods_supported",
        "resource_signing_alg_values_supported",
        "authorization_details_types_supported",
        "dpop_signing_alg_values_supported",
    ] {
        if let Some(v) = doc.members.get(name)
            && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
        {
            out.push(Violation::new(
                id,
                format!("{name} as an array of strings"),
                v.to_string(),
            ));
        }
    }
    if doc
        .strings("resource_signing_alg_values_supported")
        .is_some_and(|a| a.iter().any(|s| s == "none"))
    {
        out.push(Violation::new(
            id,
            "resource_signing_alg_values_supported without \"none\"",
            "it lists \"none\"",
        ));
    }
    for name in [
        "tls_client_certificate_bound_access_tokens",
        "dpop_bound_access_tokens_required",
    ] {
        if let Some(v) = doc.members.get(name)
            && !v.is_boolean()
        {
            out.push(Violation::new(
                id,
                format!("{name} as a JSON boolean"),
                v.to_string(),
            ));
        }
    }
    out
}

/// PRM-14: `bearer_methods_supported`, when present, offers `header` and not `query`.
pub fn prm_14_bearer_methods(doc: &Document) -> Findings {
    let Some(methods) = doc.strings("bearer_methods_supported") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if methods.iter().any(|m| m == "query") {
        out.push(Violation::new(
            req::PRM_14,
            "no \"query\" bearer method (OAuth 2.1 §5.1 forbids tokens in the query)",
            format!("{methods:?}"),
        ));
    }
    if !methods.iter().any(|m| m == "header") {
        out.push(Violation::new(
            req::PRM_14,
            "the \"header\" bearer method",
            format!("{methods:?}"),
        ));
    }
    out
}

/// Decodes one base64url JWS segment into a JSON object.
fn jws_segment(segment: &str) -> Option<serde_json::Map<String, Value>> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// PRM-16: `signed_metadata`, when present, is a compact JWS (not `alg: none`) whose payload
/// has an `iss` string and no nested `signed_metadata` (RFC 9728 §2.2). The signature is not
/// verified here: the signer's key is not known to the client.
pub fn prm_16_signed_metadata(doc: &Document) -> Findings {
    let Some(v) = doc.members.get("signed_metadata") else {
        return Vec::new();
    };
    let expected = "signed_metadata as a compact JWS whose payload has iss and no signed_metadata";
    let Some(jws) = v.as_str() else {
        return vec![Violation::new(req::PRM_16, expected, format!("{v}"))];
    };
    let parts: Vec<&str> = jws.split('.').collect();
    let (header, payload) = match parts.as_slice() {
        [h, p, s] if !s.is_empty() => (jws_segment(h), jws_segment(p)),
        _ => {
            return vec![Violation::new(
                req::PRM_16,
                expected,
                format!(
                    "not three JWS segments with a signature ({} segments)",
                    parts.len()
                ),
            )];
        }
    };
    let (Some(header), Some(payload)) = (header, payload) else {
        return vec![Violation::new(
            req::PRM_16,
            expected,
            "a header or payload that is not base64url JSON",
        )];
    };
    let mut out = Vec::new();
    match header.get("alg").and_then(Value::as_str) {
        Some(alg) if !alg.eq_ignore_ascii_case("none") => {}
        other => out.push(Violation::new(
            req::PRM_16,
            "a signed JWS (alg other than none)",
            format!("alg {other:?}"),
        )),
    }
    if !payload.get("iss").is_some_and(Value::is_string) {
        out.push(Violation::new(
            req::PRM_16,
            "an iss claim in signed_metadata",
            "no iss string",
        ));
    }
    if payload.contains_key("signed_metadata") {
        out.push(Violation::new(
            req::PRM_16,
            "no signed_metadata inside signed_metadata",
            "a nested signed_metadata",
        ));
    }
    out
}

/// PRM-17: the AS metadata's `protected_resources`, when present, lists the MCP server.
pub fn prm_17_listed_by_as(mcp: &Url, as_doc: &Document) -> Findings {
    let Some(v) = as_doc.members.get("protected_resources") else {
        return Vec::new();
    };
    let listed = v.as_array().is_some_and(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .any(|r| resource_matches(mcp, r))
    });
    if listed {
        return Vec::new();
    }
    vec![Violation::new(
        req::PRM_17,
        format!("protected_resources listing {:?}", mcp.as_str()),
        v.to_string(),
    )]
}

/// The scope a client adds to ask for refresh tokens (OIDC Core §11), not a resource scope.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// PRM-18 (MCP-D §10): MCP servers SHOULD NOT list `offline_access` in PRM `scopes_supported`,
/// as refresh tokens are not a resource requirement.
pub fn prm_18_no_offline_access(doc: &Document) -> Findings {
    let listed = doc
        .members
        .get("scopes_supported")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|s| s.as_str() == Some(OFFLINE_ACCESS)));
    if !listed {
        return Vec::new();
    }
    vec![Violation::new(
        req::PRM_18,
        "scopes_supported without offline_access (refresh tokens are not a resource requirement)",
        format!(
            "scopes_supported: {}",
            doc.members
                .get("scopes_supported")
                .map(Value::to_string)
                .unwrap_or_default()
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{doc, json, response};
    use crate::requirements::Severity;

    #[test]
    fn prm_07_examples() {
        assert!(prm_07_found(true, "").is_empty());
        let f = prm_07_found(false, "https://h/.well-known/oauth-protected-resource: 404");
        assert!(f[0].actual.ends_with(": 404"), "{}", f[0].actual);
    }

    #[test]
    fn prm_08_09_10_examples() {
        let ok = json(200, r#"{"resource":"https://h/mcp"}"#);
        assert!(prm_08_json_object(&ok).is_empty());
        let html = response(200, &[("content-type", "text/html")], "<html>");
        assert_eq!(prm_08_json_object(&html).len(), 2);
        let charset = response(
            200,
            &[("content-type", "application/json; charset=utf-8")],
            "{}",
        );
        assert!(prm_08_json_object(&charset).is_empty());

        let mcp = Url::parse("https://h/mcp").expect("url");
        assert!(prm_09_resource_matches(&mcp, &doc(r#"{"resource":"https://h/mcp"}"#)).is_empty());
        let f = prm_09_resource_matches(&mcp, &doc(r#"{"resource":"https://h/mcp/"}"#));
        assert!(f[0].actual.contains("trailing slash"));
        let f = prm_09_resource_matches(&mcp, &doc(r#"{"resource":"https://H/mcp"}"#));
        assert!(f[0].actual.contains("case"));
        assert_eq!(prm_09_resource_matches(&mcp, &doc("{}")).len(), 1);

        assert!(
            prm_10_authorization_servers(&doc(
                r#"{"authorization_servers":["https://as.example"]}"#
            ))
            .is_empty()
        );
        assert_eq!(
            prm_10_authorization_servers(&doc(r#"{"authorization_servers":[]}"#)).len(),
            1
        );
        assert_eq!(prm_10_authorization_servers(&doc(r#"{}"#)).len(), 1);
        assert_eq!(
            prm_10_authorization_servers(&doc(
                r#"{"authorization_servers":["https://as.example?x=1"]}"#
            ))
            .len(),
            1
        );
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn prm_06_root_document_examples() {
        let mcp = url("https://h.example/mcp");
        let missing = response(404, &[], "");
        assert!(prm_06_root_document(&mcp, &missing, None).is_empty());
        let d = doc(r#"{"resource":"https://h.example"}"#);
        assert!(prm_06_root_document(&mcp, &d.response, Some(&d)).is_empty());
        let d = doc(r#"{"resource":"https://h.example/mcp"}"#);
        assert!(prm_06_root_document(&mcp, &d.response, Some(&d)).is_empty());
        let d = doc(r#"{"resource":"https://other.example/mcp"}"#);
        let f = prm_06_root_document(&mcp, &d.response, Some(&d));
        assert_eq!(f[0].severity(), Severity::Should);
        let html = response(200, &[("content-type", "text/html")], "<html>");
        assert_eq!(prm_06_root_document(&mcp, &html, None).len(), 1);
    }

    #[test]
    fn prm_11_scopes_examples() {
        assert!(prm_11_scopes_supported(&doc(r#"{"scopes_supported":["mcp:read"]}"#)).is_empty());
        assert_eq!(prm_11_scopes_supported(&doc("{}")).len(), 1);
        assert_eq!(
            prm_11_scopes_supported(&doc(r#"{"scopes_supported":[]}"#)).len(),
            1
        );
        let f = prm_11_scopes_supported(&doc(r#"{"scopes_supported":["read","admin:*","*"]}"#));
        assert!(f[0].actual.contains("admin:*"));
        assert_eq!(f[0].severity(), Severity::Should);
    }

    #[test]
    fn prm_13_types_examples() {
        let ok = doc(
            r#"{"jwks_uri":"https://h/jwks","resource_signing_alg_values_supported":["ES256"],"tls_client_certificate_bound_access_tokens":false,"dpop_bound_access_tokens_required":true}"#,
        );
        assert!(prm_13_member_types(&ok).is_empty());
        let bad = doc(
            r#"{"jwks_uri":"http://h.example/jwks","resource_signing_alg_values_supported":["none"],"tls_client_certificate_bound_access_tokens":"false","scopes_supported":"a b"}"#,
        );
        assert_eq!(prm_13_member_types(&bad).len(), 4);
    }

    #[test]
    fn prm_14_bearer_methods_examples() {
        assert!(
            prm_14_bearer_methods(&doc(r#"{"bearer_methods_supported":["header"]}"#)).is_empty()
        );
        assert!(prm_14_bearer_methods(&doc("{}")).is_empty());
        let f = prm_14_bearer_methods(&doc(r#"{"bearer_methods_supported":["query","body"]}"#));
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity(), Severity::Should);
    }

    #[test]
    fn prm_16_signed_metadata_examples() {
        use base64::Engine;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        assert!(prm_16_signed_metadata(&doc("{}")).is_empty());
        let good = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"ES256"}"#),
            b64(r#"{"iss":"https://h","resource":"https://h/mcp"}"#)
        );
        assert!(
            prm_16_signed_metadata(&doc(&format!(r#"{{"signed_metadata":"{good}"}}"#))).is_empty()
        );
        let nested = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"ES256"}"#),
            b64(r#"{"resource":"https://h/mcp","signed_metadata":"x"}"#)
        );
        assert_eq!(
            prm_16_signed_metadata(&doc(&format!(r#"{{"signed_metadata":"{nested}"}}"#))).len(),
            2
        );
        let unsigned = format!(
            "{}.{}.",
            b64(r#"{"alg":"none"}"#),
            b64(r#"{"iss":"https://h"}"#)
        );
        assert_eq!(
            prm_16_signed_metadata(&doc(&format!(r#"{{"signed_metadata":"{unsigned}"}}"#))).len(),
            1
        );
        assert_eq!(
            prm_16_signed_metadata(&doc(r#"{"signed_metadata":"not-a-jws"}"#)).len(),
            1
        );
    }

    #[test]
    fn prm_17_examples() {
        let mcp = url("https://h/mcp");
        assert!(prm_17_listed_by_as(&mcp, &doc("{}")).is_empty());
        assert!(
            prm_17_listed_by_as(&mcp, &doc(r#"{"protected_resources":["https://h/mcp"]}"#))
                .is_empty()
        );
        let f = prm_17_listed_by_as(&mcp, &doc(r#"{"protected_resources":["https://h/other"]}"#));
        assert_eq!(f[0].severity(), Severity::Should);
    }

    #[test]
    fn prm_18_examples() {
        // MCP-D §10: offline_access is not a resource requirement.
        let good = doc(r#"{"resource":"https://h/mcp","scopes_supported":["files:read"]}"#);
        assert!(prm_18_no_offline_access(&good).is_empty());
        assert!(prm_18_no_offline_access(&doc(r#"{"resource":"https://h/mcp"}"#)).is_empty());
        let bad = doc(
            r#"{"resource":"https://h/mcp","scopes_supported":["files:read","offline_access"]}"#,
        );
        let f = prm_18_no_offline_access(&bad);
        assert_eq!(f[0].severity(), Severity::Should);
        assert!(f[0].actual.contains("offline_access"));
    }
}
