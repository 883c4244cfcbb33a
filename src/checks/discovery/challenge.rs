//! The MCP server's answer to a request without credentials: 401 (PRM-01) with a Bearer
//! challenge (PRM-02) that names the protected resource metadata (PRM-03) and carries no error
//! code (PRM-04).

use url::Url;

use crate::checks::{Findings, is_https_or_loopback};
use crate::client::discovery::{Document, Probe};
use crate::client::mcp::Revision;
use crate::verdict::Violation;

/// Judged by the MCP server's status code ([`crate::checks::resource_server::status_is`]).
pub const JUDGED_BY_STATUS: &[req::Id] = &[
    req::PRM_01, // an MCP request without credentials: 401 (MCP-C §4.2; O21 §5.3.1)
];

/// The parameters RFC 6750 §3 allows at most once.
const SINGLE_PARAMS: [&str; 5] = ["realm", "scope", "error", "error_description", "error_uri"];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{doc, response};
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
}
