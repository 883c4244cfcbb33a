//! Authorization server metadata (RFC 8414, OpenID Connect Discovery): where it is served
//! (ASM-01, ASM-02), what it is (ASM-03), its issuer (ASM-04, ASM-05), its endpoints and the
//! capabilities it advertises (ASM-06..19).

use super::{difference, json_object, no_empty_members};
use serde_json::Value;
use url::Url;

use crate::checks::{Findings, describe, is_https_or_loopback};
use crate::client::discovery::Document;
use crate::client::http::Response;
use crate::verdict::Violation;

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

/// ASM-02: AS metadata at one of the well-known URLs, tried in order. `tried` lists every URL
/// tried, with its outcome.
pub fn asm_02_found(found: bool, tried: &str) -> Findings {
    if found {
        return Vec::new();
    }
    vec![Violation::new(
        req::ASM_02,
        "AS metadata at one of the well-known URLs",
        format!("none; tried: {tried}"),
    )]
}

/// ASM-03: the AS metadata response is 200 with an `application/json` object.
pub fn asm_03_json_object(resp: &Response) -> Findings {
    json_object(req::ASM_03, resp)
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

/// ASM-12: no member is empty (RFC 8414 §2).
pub fn asm_12_no_empty_members(doc: &Document) -> Findings {
    no_empty_members(req::ASM_12, doc, &[])
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::doc;
    use crate::client::mcp::Revision;
    use crate::requirements::Severity;

    #[test]
    fn asm_02_examples() {
        assert!(asm_02_found(true, "").is_empty());
        assert_eq!(
            asm_02_found(false, "x: 404")[0].actual,
            "none; tried: x: 404"
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
}
