//! Checks of the 401 challenge (PRM-01..04), protected resource metadata (PRM-05..10) and AS
//! metadata (ASM-01..08).

use serde_json::Value;
use url::Url;

use super::{Findings, describe, is_https_or_loopback};
use crate::client::discovery::{Document, Probe, resource_matches};
use crate::client::http::Response;
use crate::client::mcp::Revision;
use crate::verdict::Violation;

/// The parameters RFC 6750 §3 allows at most once.
const SINGLE_PARAMS: [&str; 5] = ["realm", "scope", "error", "error_description", "error_uri"];

/// PRM-01: a request without credentials gets 401.
pub fn prm_01_unauthenticated_refused(resp: &Response) -> Findings {
    status_is("PRM-01", resp, 401)
}

/// A response has exactly this status.
pub fn status_is(id: &str, resp: &Response, status: u16) -> Findings {
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
                "PRM-02",
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
        return vec![Violation::new("PRM-02", "a Bearer challenge", actual)];
    };
    if bearer.params.is_empty() {
        return vec![Violation::new(
            "PRM-02",
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
            "PRM-02",
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
            "PRM-03",
            "resource_metadata in the Bearer challenge",
            "no resource_metadata parameter",
        )];
    };
    match Url::parse(raw) {
        Err(e) => vec![Violation::new(
            "PRM-03",
            "an absolute URL",
            format!("{raw:?} ({e})"),
        )],
        Ok(u) if !is_https_or_loopback(&u) => {
            vec![Violation::new("PRM-03", "an https URL", raw.to_string())]
        }
        Ok(_) if served_by_header.is_none() => vec![Violation::new(
            "PRM-03",
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
            "PRM-04",
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
        "PRM-05",
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
pub fn prm_08_json_object(id: &str, resp: &Response) -> Findings {
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
            "PRM-09",
            format!("resource {:?}", requested.as_str()),
            "no resource member",
        )];
    };
    let Some(actual) = actual.as_str() else {
        return vec![Violation::new(
            "PRM-09",
            "resource as a string",
            format!("{actual}"),
        )];
    };
    if resource_matches(requested, actual) {
        return Vec::new();
    }
    vec![Violation::new(
        "PRM-09",
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
            "PRM-10",
            expected,
            "no authorization_servers member",
        )];
    };
    let Some(list) = v.as_array().filter(|a| !a.is_empty()) else {
        return vec![Violation::new("PRM-10", expected, v.to_string())];
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
                "PRM-10",
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
        "ASM-01",
        format!("200 with a JSON object at {url}"),
        describe(resp),
    )]
}

/// ASM-04: `issuer` equals the identifier the metadata was looked up for, exactly.
pub fn asm_04_issuer(expected: &str, doc: &Document) -> Findings {
    match doc.members.get("issuer").and_then(Value::as_str) {
        Some(actual) if actual == expected => Vec::new(),
        Some(actual) => vec![Violation::new(
            "ASM-04",
            format!("issuer {expected:?}"),
            format!("issuer {actual:?} ({})", difference(expected, actual)),
        )],
        None => vec![Violation::new(
            "ASM-04",
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
                "ASM-06",
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
            "ASM-07",
            "response_types_supported including \"code\"",
            "missing or not an array",
        )];
    };
    let mut out = Vec::new();
    if !types.iter().any(|t| t == "code") {
        out.push(Violation::new(
            "ASM-07",
            "response_types_supported including \"code\"",
            format!("{types:?}"),
        ));
    }
    if types.iter().any(|t| t.split(' ').any(|p| p == "token")) {
        out.push(
            Violation::new(
                "ASM-07",
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
        "ASM-08",
        "code_challenge_methods_supported including \"S256\"",
        match methods {
            Some(m) => format!("{m:?}"),
            None => "missing".into(),
        },
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{json, response};
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

    fn doc(body: &str) -> Document {
        let r = json(200, body);
        Document {
            url: Url::parse("https://h/.well-known/x").expect("url"),
            members: r.json_object().expect("object"),
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
        assert!(prm_08_json_object("PRM-08", &ok).is_empty());
        let html = response(200, &[("content-type", "text/html")], "<html>");
        assert_eq!(prm_08_json_object("PRM-08", &html).len(), 2);
        let charset = response(
            200,
            &[("content-type", "application/json; charset=utf-8")],
            "{}",
        );
        assert!(prm_08_json_object("PRM-08", &charset).is_empty());

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
