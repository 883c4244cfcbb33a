//! Checks of the 401 challenge (PRM-01..04, SCOPE-01), protected resource metadata (PRM-05..17),
//! AS metadata (ASM-01..18) and the https of the discovery chain (SEC-01).

use serde_json::Value;
use url::Url;

use super::{Findings, describe, is_https_or_loopback};
use crate::client::discovery::{Document, Probe, resource_matches};
use crate::client::http::Response;
use crate::client::mcp::Revision;
use crate::verdict::Violation;

/// Judged by [`status_is`].
pub const JUDGED_BY_STATUS: &[req::Id] = &[
    req::PRM_01, // an MCP request without credentials: 401 (MCP-C §4.2; O21 §5.3.1)
];

/// The requirements [`status_is`] judges: every area's list.
pub const STATUS_JUDGES: &[&[req::Id]] = &[
    JUDGED_BY_STATUS,
    super::legacy::JUDGED_BY_STATUS,
    super::resource::JUDGED_BY_STATUS,
];

/// The parameters RFC 6750 §3 allows at most once.
const SINGLE_PARAMS: [&str; 5] = ["realm", "scope", "error", "error_description", "error_uri"];

/// PRM-01: a request without credentials gets 401.
pub fn prm_01_unauthenticated_refused(resp: &Response) -> Findings {
    status_is(req::PRM_01, resp, 401)
}

/// A response has exactly this status.
pub fn status_is(id: req::Id, resp: &Response, status: u16) -> Findings {
    if resp.status.as_u16() == status {
        Vec::new()
    } else {
        vec![Violation::new(
            id,
            format!("status {status}"),
            describe(resp),
        )]
    }
}

/// PRM-02: a Bearer challenge, with at least one auth-param, none of the single-use ones
/// repeated.
pub fn prm_02_bearer_challenge(probe: &Probe) -> Findings {
    let raw = probe.response.header_all("www-authenticate").join(" | ");
    let challenges = match &probe.challenges {
        Err(e) => {
            return vec![Violation::new(
                req::PRM_02,
                "a parseable WWW-Authenticate header",
                format!("{e}: {raw:?}"),
            )];
        }
        Ok(c) => c,
    };
    let Some(bearer) = probe.bearer() else {
        let actual = if challenges.is_empty() {
            "no WWW-Authenticate header".to_string()
        } else {
            format!("challenges without Bearer: {raw:?}")
        };
        return vec![Violation::new(req::PRM_02, "a Bearer challenge", actual)];
    };
    if bearer.params.is_empty() {
        return vec![Violation::new(
            req::PRM_02,
            "a Bearer challenge with at least one auth-param",
            format!("{raw:?}"),
        )];
    }
    let repeated: Vec<String> = bearer
        .repeated_params()
        .into_iter()
        .filter(|p| SINGLE_PARAMS.contains(&p.as_str()))
        .collect();
    if !repeated.is_empty() {
        return vec![Violation::new(
            req::PRM_02,
            "realm, scope, error, error_description and error_uri at most once each",
            format!("repeated: {} in {raw:?}", repeated.join(", ")),
        )];
    }
    Vec::new()
}

/// PRM-03: `resource_metadata` is an absolute https URL (http on loopback) that serves a
/// PRM document. In 2025-11-25 it may be absent when a well-known URL serves the document.
pub fn prm_03_resource_metadata(
    probe: &Probe,
    revision: Revision,
    served_by_header: Option<&Document>,
    served_by_well_known: bool,
) -> Findings {
    let raw = probe.bearer().and_then(|c| c.param("resource_metadata"));
    let Some(raw) = raw else {
        if revision >= Revision::V2025_11_25 && served_by_well_known {
            return Vec::new();
        }
        return vec![Violation::new(
            req::PRM_03,
            "resource_metadata in the Bearer challenge",
            "no resource_metadata parameter",
        )];
    };
    match Url::parse(raw) {
        Err(e) => vec![Violation::new(
            req::PRM_03,
            "an absolute URL",
            format!("{raw:?} ({e})"),
        )],
        Ok(u) if !is_https_or_loopback(&u) => {
            vec![Violation::new(req::PRM_03, "an https URL", raw.to_string())]
        }
        Ok(_) if served_by_header.is_none() => vec![Violation::new(
            req::PRM_03,
            "the resource_metadata URL serves a PRM document",
            format!("{raw} did not answer 200 with a JSON object"),
        )],
        Ok(_) => Vec::new(),
    }
}

/// PRM-04: no `error` when the request carried no credentials.
pub fn prm_04_no_error_without_credentials(probe: &Probe) -> Findings {
    match probe.bearer().and_then(|c| c.param("error")) {
        Some(e) => vec![Violation::new(
            req::PRM_04,
            "no error parameter",
            format!("error=\"{e}\""),
        )],
        None => Vec::new(),
    }
}

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

/// PRM-08: status 200, `application/json` (parameters allowed), a JSON object.
pub fn prm_08_json_object(id: req::Id, resp: &Response) -> Findings {
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

/// ASM-01: RFC 8414 metadata at the path-inserted URL. In 2025-11-25 OpenID discovery may be
/// used instead, so a miss there is not a violation of this requirement (ASM-02 covers it).
pub fn asm_01_oauth_metadata(url: &Url, resp: &Response, doc: Option<&Document>) -> Findings {
    if doc.is_some() {
        return Vec::new();
    }
    vec![Violation::new(
        req::ASM_01,
        format!("200 with a JSON object at {url}"),
        describe(resp),
    )]
}

/// ASM-04: `issuer` equals the identifier the metadata was looked up for, exactly.
pub fn asm_04_issuer(expected: &str, doc: &Document) -> Findings {
    match doc.members.get("issuer").and_then(Value::as_str) {
        Some(actual) if actual == expected => Vec::new(),
        Some(actual) => vec![Violation::new(
            req::ASM_04,
            format!("issuer {expected:?}"),
            format!("issuer {actual:?} ({})", difference(expected, actual)),
        )],
        None => vec![Violation::new(
            req::ASM_04,
            format!("issuer {expected:?}"),
            "no issuer string",
        )],
    }
}

/// ASM-06: `authorization_endpoint` and `token_endpoint` are absolute https URLs (loopback
/// http allowed) without fragments.
pub fn asm_06_endpoints(doc: &Document) -> Findings {
    let mut out = Vec::new();
    for name in ["authorization_endpoint", "token_endpoint"] {
        let problem = match doc.members.get(name).map(|v| v.as_str().map(Url::parse)) {
            None => Some("missing".to_string()),
            Some(None) => Some("not a string".into()),
            Some(Some(Err(e))) => Some(format!("not an absolute URL ({e})")),
            Some(Some(Ok(u))) if !is_https_or_loopback(&u) => Some(format!("{u} is not https")),
            Some(Some(Ok(u))) if u.fragment().is_some() => Some(format!("{u} has a fragment")),
            Some(Some(Ok(_))) => None,
        };
        if let Some(p) = problem {
            out.push(Violation::new(
                req::ASM_06,
                format!("{name} as an absolute https URL"),
                p,
            ));
        }
    }
    out
}

/// ASM-07: `response_types_supported` includes `code`; offering `token` is a warning.
pub fn asm_07_response_types(doc: &Document) -> Findings {
    let Some(types) = doc.strings("response_types_supported") else {
        return vec![Violation::new(
            req::ASM_07,
            "response_types_supported including \"code\"",
            "missing or not an array",
        )];
    };
    let mut out = Vec::new();
    if !types.iter().any(|t| t == "code") {
        out.push(Violation::new(
            req::ASM_07,
            "response_types_supported including \"code\"",
            format!("{types:?}"),
        ));
    }
    if types.iter().any(|t| t.split(' ').any(|p| p == "token")) {
        out.push(
            Violation::new(
                req::ASM_07,
                "no implicit response type (\"token\")",
                format!("{types:?}"),
            )
            .as_warning("OAuth 2.1 removed the implicit grant (a derived SHOULD NOT)"),
        );
    }
    out
}

/// ASM-08: `code_challenge_methods_supported` includes `S256`. A MUST in effect from
/// 2025-11-25, a SHOULD before.
pub fn asm_08_pkce_methods(doc: &Document) -> Findings {
    let methods = doc.strings("code_challenge_methods_supported");
    if methods
        .as_ref()
        .is_some_and(|m| m.iter().any(|x| x == "S256"))
    {
        return Vec::new();
    }
    // A SHOULD before 2025-11-25: the registry grades it by revision.
    vec![Violation::new(
        req::ASM_08,
        "code_challenge_methods_supported including \"S256\"",
        match methods {
            Some(m) => format!("{m:?}"),
            None => "missing".into(),
        },
    )]
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

/// What is wrong with an issuer identifier, if anything (RFC 8414 §2: https, no query, no
/// fragment; loopback http allowed for development targets).
fn issuer_problem(issuer: &str) -> Option<String> {
    match Url::parse(issuer) {
        Err(e) => Some(format!("not an absolute URL ({e})")),
        Ok(u) if !is_https_or_loopback(&u) => Some("not https".into()),
        Ok(u) if u.query().is_some() => Some("has a query".into()),
        Ok(u) if u.fragment().is_some() => Some("has a fragment".into()),
        Ok(_) => None,
    }
}

/// ASM-05: the metadata `issuer` is an https URL with no query and no fragment.
pub fn asm_05_issuer_syntax(doc: &Document) -> Findings {
    let expected = "issuer as an https URL without query or fragment";
    match doc.members.get("issuer") {
        None => vec![Violation::new(req::ASM_05, expected, "no issuer member")],
        Some(Value::String(s)) => match issuer_problem(s) {
            Some(p) => vec![Violation::new(req::ASM_05, expected, format!("{s:?}: {p}"))],
            None => Vec::new(),
        },
        Some(v) => vec![Violation::new(req::ASM_05, expected, v.to_string())],
    }
}

/// ASM-09: an OpenID Connect discovery document lists `code_challenge_methods_supported`
/// (MCP 2025-11-25 §11.4), as a non-empty array.
pub fn asm_09_oidc_pkce(doc: &Document) -> Findings {
    match doc.members.get("code_challenge_methods_supported") {
        Some(Value::Array(a)) if !a.is_empty() => Vec::new(),
        other => vec![Violation::new(
            req::ASM_09,
            "code_challenge_methods_supported in the OpenID Connect metadata",
            match other {
                Some(v) => v.to_string(),
                None => "missing".into(),
            },
        )],
    }
}

/// Whether `v` is an absolute https (or loopback http) URL without a fragment; the problem if
/// not.
fn endpoint_problem(v: &Value) -> Option<String> {
    match v.as_str().map(Url::parse) {
        None => Some(format!("{v} is not a string")),
        Some(Err(e)) => Some(format!("{v} is not an absolute URL ({e})")),
        Some(Ok(u)) if !is_https_or_loopback(&u) => Some(format!("{u} is not https")),
        Some(Ok(u)) if u.fragment().is_some() => Some(format!("{u} has a fragment")),
        Some(Ok(_)) => None,
    }
}

/// ASM-10: `registration_endpoint`, when present (DCR offered), is an absolute https URL.
pub fn asm_10_registration_endpoint(doc: &Document) -> Findings {
    match doc
        .members
        .get("registration_endpoint")
        .and_then(endpoint_problem)
    {
        Some(p) => vec![Violation::new(
            req::ASM_10,
            "registration_endpoint as an absolute https URL",
            p,
        )],
        None => Vec::new(),
    }
}

/// ASM-11: `client_id_metadata_document_supported` is a JSON boolean (CIMD §5). Absent or
/// false means no CIMD, which MCP 2025-11-25 says the AS SHOULD support: a warning.
pub fn asm_11_cimd_advertised(doc: &Document) -> Findings {
    match doc.members.get("client_id_metadata_document_supported") {
        Some(Value::Bool(true)) => Vec::new(),
        Some(Value::Bool(false)) | None => vec![
            Violation::new(
                req::ASM_11,
                "client_id_metadata_document_supported: true",
                "CIMD not advertised",
            )
            .as_warning("MCP 2025-11-25 says the AS SHOULD support client ID metadata documents"),
        ],
        Some(v) => vec![Violation::new(
            req::ASM_11,
            "client_id_metadata_document_supported as a JSON boolean",
            v.to_string(),
        )],
    }
}

/// The metadata members that hold URLs the client sends requests to.
fn endpoint_members(doc: &Document) -> Vec<(&String, &Value)> {
    doc.members
        .iter()
        .filter(|(k, _)| k.ends_with("_endpoint") || *k == "jwks_uri")
        .collect()
}

/// ASM-13: every endpoint URL the metadata names (authorization, token, registration, jwks,
/// revocation, introspection, …) is https.
pub fn asm_13_endpoints_https(doc: &Document) -> Findings {
    endpoint_members(doc)
        .into_iter()
        .filter_map(|(name, v)| {
            endpoint_problem(v)
                .map(|p| Violation::new(req::ASM_13, format!("{name} as an https URL"), p))
        })
        .collect()
}

/// ASM-14: `grant_types_supported` is explicit (RFC 8414's default includes implicit), lists
/// `authorization_code`, and lists neither `implicit` nor `password`.
pub fn asm_14_grant_types(doc: &Document) -> Findings {
    let id = req::ASM_14;
    let Some(grants) = doc.strings("grant_types_supported") else {
        return vec![Violation::new(
            id,
            "grant_types_supported listed explicitly",
            "missing: RFC 8414's default is [\"authorization_code\", \"implicit\"]",
        )];
    };
    let mut out = Vec::new();
    if !grants.iter().any(|g| g == "authorization_code") {
        out.push(Violation::new(
            id,
            "grant_types_supported including \"authorization_code\"",
            format!("{grants:?}"),
        ));
    }
    let removed: Vec<&String> = grants
        .iter()
        .filter(|g| *g == "implicit" || *g == "password")
        .collect();
    if !removed.is_empty() {
        out.push(Violation::new(
            id,
            "no grant OAuth 2.1 removed (implicit, password)",
            format!("{removed:?}"),
        ));
    }
    out
}

/// ASM-15: an AS that accepted a public client lists `none` in
/// `token_endpoint_auth_methods_supported` (absent means only `client_secret_basic`).
pub fn asm_15_public_clients(doc: &Document, public_client_accepted: bool) -> Findings {
    if !public_client_accepted {
        return Vec::new();
    }
    match doc.strings("token_endpoint_auth_methods_supported") {
        Some(m) if m.iter().any(|x| x == "none") => Vec::new(),
        other => vec![Violation::new(
            req::ASM_15,
            "token_endpoint_auth_methods_supported including \"none\" (a public client was registered)",
            match other {
                Some(m) => format!("{m:?}"),
                None => "missing, which means [\"client_secret_basic\"]".into(),
            },
        )],
    }
}

/// ASM-16: `authorization_response_iss_parameter_supported` is a boolean and is true exactly
/// when the authorization response carried `iss` (RFC 9207 §2.3, §3).
pub fn asm_16_iss_advertised(doc: &Document, iss_returned: bool) -> Findings {
    let flag = doc
        .members
        .get("authorization_response_iss_parameter_supported");
    let advertised = match flag {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return vec![Violation::new(
                req::ASM_16,
                "authorization_response_iss_parameter_supported as a JSON boolean",
                v.to_string(),
            )];
        }
    };
    if advertised == iss_returned {
        return Vec::new();
    }
    vec![Violation::new(
        req::ASM_16,
        format!(
            "authorization_response_iss_parameter_supported {iss_returned}, as iss was {}",
            if iss_returned {
                "returned"
            } else {
                "not returned"
            }
        ),
        format!(
            "{} and iss {}",
            match flag {
                Some(v) => format!("advertised {v}"),
                None => "not advertised".into(),
            },
            if iss_returned {
                "returned"
            } else {
                "not returned"
            }
        ),
    )]
}

/// ASM-17: an RFC 8414 and an OpenID Connect document of the same issuer agree on `issuer`
/// and every endpoint either names.
pub fn asm_17_documents_agree(oauth: &Document, oidc: &Document) -> Findings {
    let mut names: Vec<&String> = endpoint_members(oauth)
        .into_iter()
        .chain(endpoint_members(oidc))
        .map(|(k, _)| k)
        .collect();
    names.sort();
    names.dedup();
    let issuer = "issuer".to_string();
    names.insert(0, &issuer);
    names
        .into_iter()
        .filter_map(|name| {
            let a = oauth.members.get(name);
            let b = oidc.members.get(name);
            // A member only one document has is not a disagreement unless both name it.
            match (a, b) {
                (Some(a), Some(b)) if a != b => Some(Violation::new(
                    req::ASM_17,
                    format!("the same {name} in both documents"),
                    format!("RFC 8414 {a}, OpenID Connect {b}"),
                )),
                _ => None,
            }
        })
        .collect()
}

/// What fetching one authorization server's metadata gave (ASM-18).
#[derive(Debug, Clone)]
pub struct IssuerLookup {
    pub issuer: String,
    pub document: Option<Document>,
    pub tried: String,
}

/// ASM-18: every authorization server PRM lists resolves to metadata with its own issuer.
pub fn asm_18_every_issuer_resolves(lookups: &[IssuerLookup]) -> Findings {
    lookups
        .iter()
        .filter_map(|l| match &l.document {
            None => Some(Violation::new(
                req::ASM_18,
                format!("metadata for {}", l.issuer),
                format!("none; tried: {}", l.tried),
            )),
            Some(d) if d.str("issuer") != Some(l.issuer.as_str()) => Some(Violation::new(
                req::ASM_18,
                format!("metadata whose issuer is {:?}", l.issuer),
                format!("issuer {:?}", d.str("issuer")),
            )),
            Some(_) => None,
        })
        .collect()
}

/// SEC-01: every URL of the discovery chain (the MCP server, PRM, the issuers, the metadata
/// and every endpoint it names) is https. Plain http is accepted on loopback hosts only, the
/// development exception (OAuth 2.1 §1.5 and the MCP security considerations allow loopback).
/// Certificates are verified by the transport: a bad one stops the request.
pub fn sec_01_https_everywhere(urls: &[(String, String)]) -> Findings {
    urls.iter()
        .filter_map(|(what, raw)| {
            let problem = match Url::parse(raw) {
                Err(e) => Some(format!("not an absolute URL ({e})")),
                Ok(u) if !is_https_or_loopback(&u) => Some("plain http off loopback".into()),
                Ok(_) => None,
            };
            problem.map(|p| {
                Violation::new(
                    req::SEC_01,
                    format!("{what} over https"),
                    format!("{raw}: {p}"),
                )
            })
        })
        .collect()
}

/// Whether `scope` follows RFC 6749 §3.3: space-separated scope-tokens of %x21 / %x23-5B /
/// %x5D-7E.
pub fn is_scope_syntax(scope: &str) -> bool {
    !scope.is_empty()
        && scope.split(' ').all(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        })
}

/// SCOPE-01: the 401 challenge names the scope the request needs, in scope syntax.
pub fn scope_01_challenge_scope(probe: &Probe) -> Findings {
    match probe.bearer().and_then(|c| c.param("scope")) {
        None => vec![Violation::new(
            req::SCOPE_01,
            "a scope parameter in the Bearer challenge",
            "no scope parameter",
        )],
        Some(s) if !is_scope_syntax(s) => vec![Violation::new(
            req::SCOPE_01,
            "space-separated scope tokens (RFC 6749 §3.3)",
            format!("scope={s:?}"),
        )],
        Some(_) => Vec::new(),
    }
}

// MCP 2026-07-28: offline_access (MCP-D §10), DCR deprecation (MCP-D §3; reg §1, §3), and the
// challenge's relation to scopes_supported (MCP-C §4.2, MCP-D §6).

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

/// ASM-19 (MCP-D §3 item 2 and 3, reg §1, §3; deprecated.mdx): an AS whose only open
/// registration route is dynamic client registration (a `registration_endpoint`, and no
/// `client_id_metadata_document_supported: true`) relies on the mechanism 2026-07-28
/// deprecates. Recorded, never graded: DCR keeps its MAY.
pub fn asm_19_not_dcr_only(doc: &Document) -> Findings {
    let dcr = doc.members.contains_key("registration_endpoint");
    let cimd = doc.members.get("client_id_metadata_document_supported") == Some(&Value::Bool(true));
    if !dcr || cimd {
        return Vec::new();
    }
    vec![Violation::new(
        req::ASM_19,
        "client_id_metadata_document_supported: true beside the registration_endpoint (CIMD is the migration path from the deprecated DCR)",
        "a registration_endpoint and no client ID metadata document support: clients without a pre-registration must use dynamic client registration, deprecated in 2026-07-28",
    )]
}

/// How a challenged scope set relates to `scopes_supported` (MCP-C §4.2, MCP-D §6: any
/// relation is allowed, and clients must not assume one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRelation {
    Equal,
    Subset,
    Superset,
    Overlapping,
    Disjoint,
}

impl std::fmt::Display for ScopeRelation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ScopeRelation::Equal => "equal to",
            ScopeRelation::Subset => "a subset of",
            ScopeRelation::Superset => "a superset of",
            ScopeRelation::Overlapping => "overlapping, neither subset nor superset of",
            ScopeRelation::Disjoint => "disjoint from",
        })
    }
}

/// The relation of `challenged` to `supported`, as sets of scope tokens.
pub fn scope_relation(challenged: &[&str], supported: &[&str]) -> ScopeRelation {
    use std::collections::BTreeSet;
    let c: BTreeSet<&str> = challenged.iter().copied().collect();
    let s: BTreeSet<&str> = supported.iter().copied().collect();
    match (c.is_subset(&s), s.is_subset(&c)) {
        (true, true) => ScopeRelation::Equal,
        (true, false) => ScopeRelation::Subset,
        (false, true) => ScopeRelation::Superset,
        (false, false) if c.is_disjoint(&s) => ScopeRelation::Disjoint,
        (false, false) => ScopeRelation::Overlapping,
    }
}

/// SCOPE-02 (MCP-C §4.2, MCP-D §6): the challenged scope may relate to `scopes_supported` in
/// any way. Recorded (info) when the challenge names scopes `scopes_supported` does not list,
/// the case a client assuming a subset would trip over; equal or a subset passes. `None`
/// when the challenge names no scope (nothing to relate; SCOPE-01 grades that).
pub fn scope_02_challenge_vs_supported(
    challenged: Option<&str>,
    supported: Option<&[String]>,
) -> Option<Findings> {
    let challenged: Vec<&str> = challenged?.split(' ').filter(|t| !t.is_empty()).collect();
    if challenged.is_empty() {
        return None;
    }
    let expected =
        "any relation (recorded when the challenge names scopes scopes_supported does not list)";
    let Some(supported) = supported else {
        return Some(vec![Violation::new(
            req::SCOPE_02,
            expected,
            format!(
                "the challenge names {:?}; PRM has no scopes_supported to relate it to",
                challenged.join(" ")
            ),
        )]);
    };
    let listed: Vec<&str> = supported.iter().map(String::as_str).collect();
    let relation = scope_relation(&challenged, &listed);
    if matches!(relation, ScopeRelation::Equal | ScopeRelation::Subset) {
        return Some(Vec::new());
    }
    let unlisted: Vec<&str> = challenged
        .iter()
        .copied()
        .filter(|t| !listed.contains(t))
        .collect();
    Some(vec![Violation::new(
        req::SCOPE_02,
        expected,
        format!(
            "the challenged scope {:?} is {relation} scopes_supported {:?} (not listed: {})",
            challenged.join(" "),
            listed.join(" "),
            unlisted.join(" ")
        ),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{doc, json, response};
    use crate::client::www_authenticate;
    use crate::requirements::Severity;

    fn probe(www: &[&str]) -> Probe {
        let headers: Vec<(&str, &str)> = www.iter().map(|v| ("www-authenticate", *v)).collect();
        let r = response(401, &headers, "");
        Probe {
            challenges: www_authenticate::parse_all(r.header_all("www-authenticate")),
            response: r,
        }
    }

    #[test]
    fn prm_02_examples() {
        assert!(
            prm_02_bearer_challenge(&probe(&[
                r#"Bearer resource_metadata="https://h/.well-known/oauth-protected-resource/mcp""#
            ]))
            .is_empty()
        );
        assert!(
            prm_02_bearer_challenge(&probe(&[r#"Basic realm="x""#, r#"Bearer realm="y""#]))
                .is_empty()
        );
        assert_eq!(prm_02_bearer_challenge(&probe(&[])).len(), 1);
        assert_eq!(prm_02_bearer_challenge(&probe(&["Bearer"])).len(), 1);
        assert_eq!(
            prm_02_bearer_challenge(&probe(&[r#"Basic realm="x""#])).len(),
            1
        );
        assert_eq!(
            prm_02_bearer_challenge(&probe(&[r#"Bearer realm="a", realm="b""#])).len(),
            1
        );
        assert_eq!(
            prm_02_bearer_challenge(&probe(&[r#"Bearer realm="a"#])).len(),
            1
        );
    }

    #[test]
    fn prm_03_and_04_examples() {
        let p = probe(&[
            r#"Bearer resource_metadata="https://h/.well-known/oauth-protected-resource/mcp""#,
        ]);
        let d = doc(r#"{"resource":"https://h/mcp"}"#);
        assert!(prm_03_resource_metadata(&p, Revision::V2025_06_18, Some(&d), false).is_empty());
        assert_eq!(
            prm_03_resource_metadata(&p, Revision::V2025_06_18, None, false).len(),
            1
        );
        let none = probe(&[r#"Bearer realm="mcp""#]);
        assert_eq!(
            prm_03_resource_metadata(&none, Revision::V2025_06_18, None, true).len(),
            1
        );
        assert!(prm_03_resource_metadata(&none, Revision::V2025_11_25, None, true).is_empty());
        let http = probe(&[r#"Bearer resource_metadata="http://h.example/prm""#]);
        assert_eq!(
            prm_03_resource_metadata(&http, Revision::V2025_11_25, Some(&d), false).len(),
            1
        );

        assert!(prm_04_no_error_without_credentials(&p).is_empty());
        let e = probe(&[r#"Bearer error="invalid_token", resource_metadata="https://h/x""#]);
        let f = prm_04_no_error_without_credentials(&e);
        assert_eq!(f[0].severity(), Severity::Should);
    }

    #[test]
    fn prm_08_09_10_examples() {
        let ok = json(200, r#"{"resource":"https://h/mcp"}"#);
        assert!(prm_08_json_object(req::PRM_08, &ok).is_empty());
        let html = response(200, &[("content-type", "text/html")], "<html>");
        assert_eq!(prm_08_json_object(req::PRM_08, &html).len(), 2);
        let charset = response(
            200,
            &[("content-type", "application/json; charset=utf-8")],
            "{}",
        );
        assert!(prm_08_json_object(req::PRM_08, &charset).is_empty());

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

    #[test]
    fn asm_examples() {
        let d = doc(
            r#"{"issuer":"https://as.example","authorization_endpoint":"https://as.example/authorize","token_endpoint":"https://as.example/token","response_types_supported":["code"],"code_challenge_methods_supported":["S256"]}"#,
        );
        assert!(asm_04_issuer("https://as.example", &d).is_empty());
        let f = asm_04_issuer("https://as.example/", &d);
        assert!(f[0].actual.contains("trailing slash"));
        assert!(asm_06_endpoints(&d).is_empty());
        assert!(asm_07_response_types(&d).is_empty());
        assert!(asm_08_pkce_methods(&d).is_empty());

        let bad = doc(
            r#"{"authorization_endpoint":"/authorize","token_endpoint":"https://as.example/t#f","response_types_supported":["token"],"code_challenge_methods_supported":["plain"]}"#,
        );
        assert_eq!(asm_06_endpoints(&bad).len(), 2);
        let f = asm_07_response_types(&bad);
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].severity(), Severity::Should);
        assert_eq!(
            asm_08_pkce_methods(&bad)[0].severity_in(Revision::V2025_11_25),
            Severity::Must
        );
        assert_eq!(
            asm_08_pkce_methods(&bad)[0].severity_in(Revision::V2025_06_18),
            Severity::Should
        );
    }
}

#[cfg(test)]
mod metadata_member_tests {
    use super::*;
    use crate::checks::testing::{doc, response};
    use crate::client::www_authenticate;
    use crate::requirements::Severity;

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
    fn asm_05_issuer_examples() {
        assert!(asm_05_issuer_syntax(&doc(r#"{"issuer":"https://as.example/t1"}"#)).is_empty());
        assert!(asm_05_issuer_syntax(&doc(r#"{"issuer":"http://127.0.0.1:8080"}"#)).is_empty());
        for bad in [
            r#"{"issuer":"https://as.example?t=1"}"#,
            r#"{"issuer":"https://as.example#f"}"#,
            r#"{"issuer":"http://as.example"}"#,
            r#"{"issuer":"as.example"}"#,
            r#"{}"#,
        ] {
            assert_eq!(asm_05_issuer_syntax(&doc(bad)).len(), 1, "{bad}");
        }
    }

    #[test]
    fn asm_09_10_11_examples() {
        assert!(
            asm_09_oidc_pkce(&doc(r#"{"code_challenge_methods_supported":["S256"]}"#)).is_empty()
        );
        assert_eq!(asm_09_oidc_pkce(&doc("{}")).len(), 1);

        assert!(asm_10_registration_endpoint(&doc("{}")).is_empty());
        assert!(
            asm_10_registration_endpoint(&doc(
                r#"{"registration_endpoint":"https://as/register"}"#
            ))
            .is_empty()
        );
        assert_eq!(
            asm_10_registration_endpoint(&doc(r#"{"registration_endpoint":"/register"}"#)).len(),
            1
        );

        assert!(
            asm_11_cimd_advertised(&doc(r#"{"client_id_metadata_document_supported":true}"#))
                .is_empty()
        );
        let absent = asm_11_cimd_advertised(&doc("{}"));
        assert_eq!(absent[0].severity(), Severity::Should);
        let text =
            asm_11_cimd_advertised(&doc(r#"{"client_id_metadata_document_supported":"true"}"#));
        assert_eq!(text[0].severity(), Severity::Must);
    }

    #[test]
    fn asm_13_14_15_examples() {
        let ok = doc(
            r#"{"authorization_endpoint":"https://as/a","token_endpoint":"https://as/t","jwks_uri":"https://as/jwks","revocation_endpoint":"http://127.0.0.1:9/r"}"#,
        );
        assert!(asm_13_endpoints_https(&ok).is_empty());
        let bad = doc(
            r#"{"token_endpoint":"https://as/t","jwks_uri":"http://as.example/jwks","introspection_endpoint":"http://as.example/i"}"#,
        );
        assert_eq!(asm_13_endpoints_https(&bad).len(), 2);

        assert!(
            asm_14_grant_types(&doc(
                r#"{"grant_types_supported":["authorization_code","refresh_token"]}"#
            ))
            .is_empty()
        );
        assert_eq!(asm_14_grant_types(&doc("{}")).len(), 1);
        let f = asm_14_grant_types(&doc(r#"{"grant_types_supported":["implicit","password"]}"#));
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity(), Severity::Should);

        let with_none =
            doc(r#"{"token_endpoint_auth_methods_supported":["none","client_secret_basic"]}"#);
        assert!(asm_15_public_clients(&with_none, true).is_empty());
        assert_eq!(asm_15_public_clients(&doc("{}"), true).len(), 1);
        assert!(asm_15_public_clients(&doc("{}"), false).is_empty());
    }

    #[test]
    fn asm_16_examples() {
        let yes = doc(r#"{"authorization_response_iss_parameter_supported":true}"#);
        assert!(asm_16_iss_advertised(&yes, true).is_empty());
        assert_eq!(asm_16_iss_advertised(&yes, false).len(), 1);
        assert!(asm_16_iss_advertised(&doc("{}"), false).is_empty());
        assert_eq!(asm_16_iss_advertised(&doc("{}"), true).len(), 1);
        let text = doc(r#"{"authorization_response_iss_parameter_supported":"true"}"#);
        assert_eq!(asm_16_iss_advertised(&text, true).len(), 1);
    }

    #[test]
    fn asm_17_18_examples() {
        let a = doc(
            r#"{"issuer":"https://as","token_endpoint":"https://as/t","registration_endpoint":"https://as/r"}"#,
        );
        let b = doc(
            r#"{"issuer":"https://as","token_endpoint":"https://as/t","userinfo_endpoint":"https://as/u"}"#,
        );
        assert!(asm_17_documents_agree(&a, &b).is_empty());
        let c = doc(r#"{"issuer":"https://as/","token_endpoint":"https://as/token"}"#);
        let f = asm_17_documents_agree(&a, &c);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity(), Severity::Should);

        let found = IssuerLookup {
            issuer: "https://as".into(),
            document: Some(a.clone()),
            tried: String::new(),
        };
        assert!(asm_18_every_issuer_resolves(std::slice::from_ref(&found)).is_empty());
        let missing = IssuerLookup {
            issuer: "https://other".into(),
            document: None,
            tried: "404".into(),
        };
        let wrong = IssuerLookup {
            issuer: "https://third".into(),
            document: Some(a),
            tried: String::new(),
        };
        assert_eq!(
            asm_18_every_issuer_resolves(&[found, missing, wrong]).len(),
            2
        );
    }

    #[test]
    fn sec_01_examples() {
        let ok = vec![
            ("the MCP server".to_string(), "https://h/mcp".to_string()),
            (
                "jwks_uri".to_string(),
                "http://127.0.0.1:8/jwks".to_string(),
            ),
        ];
        assert!(sec_01_https_everywhere(&ok).is_empty());
        let bad = vec![("jwks_uri".to_string(), "http://as.example/jwks".to_string())];
        let f = sec_01_https_everywhere(&bad);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Must);
    }

    #[test]
    fn scope_01_examples() {
        let probe = |www: &str| {
            let r = response(401, &[("www-authenticate", www)], "");
            Probe {
                challenges: www_authenticate::parse_all(r.header_all("www-authenticate")),
                response: r,
            }
        };
        assert!(
            scope_01_challenge_scope(&probe(r#"Bearer scope="mcp:read files:write""#)).is_empty()
        );
        let none = scope_01_challenge_scope(&probe(r#"Bearer resource_metadata="https://h/x""#));
        assert_eq!(none[0].severity(), Severity::Should);
        assert_eq!(
            scope_01_challenge_scope(&probe(r#"Bearer scope="a  b""#)).len(),
            1
        );
        assert_eq!(
            scope_01_challenge_scope(&probe(r#"Bearer scope="a\"b""#)).len(),
            1
        );
        assert!(is_scope_syntax("openid profile"));
        assert!(!is_scope_syntax(""));
        assert!(!is_scope_syntax("a\\b"));
    }
}

#[cfg(test)]
mod revision_2026_07_28_tests {
    use super::*;
    use crate::checks::testing::doc;
    use crate::requirements::Severity;

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

    #[test]
    fn asm_19_examples() {
        let both = doc(
            r#"{"issuer":"https://a","registration_endpoint":"https://a/register","client_id_metadata_document_supported":true}"#,
        );
        assert!(asm_19_not_dcr_only(&both).is_empty());
        let neither = doc(r#"{"issuer":"https://a"}"#);
        assert!(asm_19_not_dcr_only(&neither).is_empty());
        let cimd_only =
            doc(r#"{"issuer":"https://a","client_id_metadata_document_supported":true}"#);
        assert!(asm_19_not_dcr_only(&cimd_only).is_empty());
        let dcr_only =
            doc(r#"{"issuer":"https://a","registration_endpoint":"https://a/register"}"#);
        let f = asm_19_not_dcr_only(&dcr_only);
        assert_eq!(f[0].severity(), Severity::Info);
        let cimd_false = doc(
            r#"{"issuer":"https://a","registration_endpoint":"https://a/register","client_id_metadata_document_supported":false}"#,
        );
        assert_eq!(asm_19_not_dcr_only(&cimd_false).len(), 1);
    }

    #[test]
    fn scope_relations() {
        assert_eq!(
            scope_relation(&["a", "b"], &["b", "a"]),
            ScopeRelation::Equal
        );
        assert_eq!(scope_relation(&["a"], &["a", "b"]), ScopeRelation::Subset);
        assert_eq!(
            scope_relation(&["a", "b", "c"], &["a"]),
            ScopeRelation::Superset
        );
        assert_eq!(
            scope_relation(&["a", "c"], &["a", "b"]),
            ScopeRelation::Overlapping
        );
        assert_eq!(scope_relation(&["c"], &["a", "b"]), ScopeRelation::Disjoint);
    }

    #[test]
    fn scope_02_examples() {
        let supported = vec!["files:read".to_string(), "files:write".to_string()];
        // The MCP-D §6 example: scope="files:read", a subset.
        assert_eq!(
            scope_02_challenge_vs_supported(Some("files:read"), Some(&supported)),
            Some(Vec::new())
        );
        assert_eq!(
            scope_02_challenge_vs_supported(Some("files:write files:read"), Some(&supported)),
            Some(Vec::new())
        );
        let f = scope_02_challenge_vs_supported(Some("files:read admin"), Some(&supported))
            .expect("a scope to relate");
        assert_eq!(f[0].severity(), Severity::Info);
        assert!(f[0].actual.contains("overlapping"), "{}", f[0].actual);
        assert!(f[0].actual.contains("not listed: admin"), "{}", f[0].actual);
        let f = scope_02_challenge_vs_supported(Some("other"), Some(&supported)).expect("scope");
        assert!(f[0].actual.contains("disjoint"), "{}", f[0].actual);
        let f = scope_02_challenge_vs_supported(Some("files:read"), None).expect("scope");
        assert_eq!(f.len(), 1);
        assert_eq!(
            scope_02_challenge_vs_supported(None, Some(&supported)),
            None
        );
    }
}
