//! The authorization endpoint (OAuth 2.1 §4.1.1, §4.1.2): how it takes requests. GET
//! (AUTHZ-01), exact redirect URI matching (AUTHZ-02, AUTHZ-03), no redirect for an untrusted
//! client or redirect URI (AUTHZ-04), response types (AUTHZ-05, AUTHZ-06), parameter syntax
//! (AUTHZ-07..09) and no CORS (AUTHZ-10); the generic refusal several areas' requirements are
//! judged by; and its [`response`].

pub mod response;

use url::Url;

use crate::checks::{Findings, describe};
use crate::client::http::Response;
use crate::client::login::{AuthorizationOutcome, is_redirect_uri};
use crate::verdict::Violation;

/// Judged by [`refused_with`].
pub const JUDGED_BY_AUTHORIZATION_REFUSAL: &[req::Id] = &[
    req::AUTHZ_05, // no response_type, or an unknown one (O21 §4.1.1, §4.1.2.1)
    req::AUTHZ_07, // a repeated parameter: invalid_request (O21 §3.1, §4.1.2.1)
];

/// The requirements [`refused_with`] judges: every area's list.
pub const AUTHORIZATION_REFUSAL_JUDGES: &[&[req::Id]] = &[
    JUDGED_BY_AUTHORIZATION_REFUSAL,
    super::pkce::JUDGED_BY_AUTHORIZATION_REFUSAL,
    super::resource_binding::JUDGED_BY_AUTHORIZATION_REFUSAL,
    super::legacy::JUDGED_BY_AUTHORIZATION_REFUSAL,
];

/// Refused with `error` and no code. An error page (no redirect) also refuses, but not in the
/// way OAuth 2.1 §4.1.2.1 asks for a valid client and redirect URI: graded as a warning.
/// Whether the error redirect echoes `state` is AUTHZ-11's question, not this check's.
pub fn refused_with(id: req::Id, outcome: &AuthorizationOutcome, error: &str) -> Findings {
    let expected = format!("a redirect with error={error}, and no code");
    match outcome {
        AuthorizationOutcome::Redirect { .. } if outcome.code().is_some() => {
            vec![Violation::new(id, expected, "a code was issued")]
        }
        AuthorizationOutcome::Redirect { .. } => match outcome.error() {
            Some(e) if e == error => Vec::new(),
            Some(e) if super::is_registered_error(e) => {
                vec![super::refused_with_another_code(id, expected, e, &[error])]
            }
            Some(e) => vec![Violation::new(id, expected, format!("error={e}"))],
            None => vec![Violation::new(
                id,
                expected,
                "a redirect with neither code nor error",
            )],
        },
        AuthorizationOutcome::Page { .. } => {
            vec![Violation::new(id, expected, outcome.describe()).as_warning(
                "the request was refused, but with a page instead of an error redirect",
            )]
        }
    }
}

/// Whether `location` is `target` with parameters added: the same scheme, host, port and path,
/// and every query parameter of `target` kept (a redirect URI's own query must be retained,
/// OAuth 2.1 §2.3).
pub fn redirects_to(location: &Url, target: &Url) -> bool {
    let kept: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    is_redirect_uri(location, target)
        && target.query_pairs().into_owned().all(|p| kept.contains(&p))
}

/// What a redirect carried, in the words of a failure message (never the code itself).
fn carried(outcome: &AuthorizationOutcome) -> String {
    match (outcome.code(), outcome.error()) {
        (Some(_), _) => "a code".into(),
        (None, Some(e)) => format!("error={e}"),
        (None, None) => "neither code nor error".into(),
    }
}

/// AUTHZ-01 (OAuth 2.1 §3.1: the AS MUST support GET): the first answer to a valid GET is a
/// page (2xx) or a redirect (3xx). 405 and 501 say GET is not supported; any other error
/// status reached the endpoint but refused a valid request, which is graded as a warning.
pub fn authz_01_get_supported(resp: &Response) -> Findings {
    let expected = "a login or consent page (2xx) or a redirect (3xx)";
    let status = resp.status.as_u16();
    match status {
        200..=399 => Vec::new(),
        405 | 501 => vec![Violation::new(
            req::AUTHZ_01,
            expected,
            format!("{}: GET is not supported", describe(resp)),
        )],
        _ => {
            vec![Violation::new(req::AUTHZ_01, expected, describe(resp)).as_warning(
            "GET reached the endpoint, but a valid request was refused with an error status",
        )]
        }
    }
}

/// AUTHZ-02: a request whose `redirect_uri` is `variant`, a tampered copy of the registered
/// URI, is refused without a redirect to `variant`, whether with a code or with an error
/// (OAuth 2.1 §2.3.1, §4.1.1: exact match; §2.3.5, §4.1.2.1: never redirected). An error page
/// or an error redirect elsewhere is a refusal; a code delivered anywhere is not.
pub fn authz_02_variant_refused(outcome: &AuthorizationOutcome, variant: &Url) -> Findings {
    let expected =
        format!("no redirect to {variant}: an error page, or an error redirect elsewhere");
    match outcome {
        AuthorizationOutcome::Redirect { location, .. } if redirects_to(location, variant) => {
            vec![Violation::new(
                req::AUTHZ_02,
                expected,
                format!("{} carrying {}", outcome.describe(), carried(outcome)),
            )]
        }
        AuthorizationOutcome::Redirect { .. } if outcome.code().is_some() => {
            vec![Violation::new(
                req::AUTHZ_02,
                expected,
                format!(
                    "{} carrying a code: the request was accepted",
                    outcome.describe()
                ),
            )]
        }
        AuthorizationOutcome::Redirect { .. } | AuthorizationOutcome::Page { .. } => Vec::new(),
    }
}

/// AUTHZ-03 (OAuth 2.1 §4.1.1, §8.4.2: any port for a loopback IP redirect URI): a request
/// whose `redirect_uri` is the registered one on another port gets its code delivered there.
pub fn authz_03_port_accepted(outcome: &AuthorizationOutcome, other_port: &Url) -> Findings {
    let expected = format!("a code delivered to {other_port}");
    match outcome {
        AuthorizationOutcome::Redirect { location, .. }
            if outcome.code().is_some() && redirects_to(location, other_port) =>
        {
            Vec::new()
        }
        AuthorizationOutcome::Redirect { .. } => vec![Violation::new(
            req::AUTHZ_03,
            expected,
            format!("{} carrying {}", outcome.describe(), carried(outcome)),
        )],
        AuthorizationOutcome::Page { .. } => {
            vec![Violation::new(req::AUTHZ_03, expected, outcome.describe())]
        }
    }
}

/// AUTHZ-04: a request with a missing or unknown `client_id`, or without the `redirect_uri`
/// a client with several needs, is never redirected to the client (OAuth 2.1 §2.3.5,
/// §4.1.2.1: MUST NOT redirect automatically; telling the user is a SHOULD not graded here).
/// `outcome` must come from a driver that stopped only at the client's redirect URIs, so a
/// redirect outcome is a redirect to the client; one to the AS's own error page is followed
/// and ends at a page.
pub fn authz_04_not_redirected(outcome: &AuthorizationOutcome) -> Findings {
    match outcome {
        AuthorizationOutcome::Redirect { .. } => vec![Violation::new(
            req::AUTHZ_04,
            "an error shown to the user, and no redirect to the client's redirect URI",
            format!("{} carrying {}", outcome.describe(), carried(outcome)),
        )],
        AuthorizationOutcome::Page { .. } => Vec::new(),
    }
}

/// AUTHZ-06 (OAuth 2.1 §4.1.1, §10.1: no implicit grant): `response_type=token` is refused
/// with `unsupported_response_type`, and no access token appears anywhere in the redirect.
/// The error may come in the query, or in the fragment: `token`'s default response mode
/// (RFC 6749 §4.2.2.1; OAuth 2.0 Multiple Response Type Encoding Practices §2.1, §5).
pub fn authz_06_implicit_refused(outcome: &AuthorizationOutcome) -> Findings {
    if let AuthorizationOutcome::Redirect { location, params } = outcome {
        let fragment: Vec<(String, String)> = location
            .fragment()
            .map(|f| {
                url::form_urlencoded::parse(f.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let in_fragment = fragment.iter().any(|(k, _)| k == "access_token");
        if in_fragment || outcome.param("access_token").is_some() {
            return vec![Violation::new(
                req::AUTHZ_06,
                "a redirect with error=unsupported_response_type, and no token",
                "an access_token was issued in the redirect (the implicit grant)",
            )];
        }
        let answered_in_query = outcome.error().is_some() || outcome.code().is_some();
        if !answered_in_query && !fragment.is_empty() {
            let in_default_mode = AuthorizationOutcome::Redirect {
                location: location.clone(),
                params: params.iter().cloned().chain(fragment).collect(),
            };
            return refused_with(req::AUTHZ_06, &in_default_mode, "unsupported_response_type");
        }
    }
    refused_with(req::AUTHZ_06, outcome, "unsupported_response_type")
}

/// The words of a failure message for an outcome: where it went and what it carried.
fn outcome_words(outcome: &AuthorizationOutcome) -> String {
    match outcome {
        AuthorizationOutcome::Redirect { .. } => match (outcome.code(), outcome.error()) {
            (Some(_), _) => "a code".into(),
            (None, Some(e)) => format!("error={e}"),
            (None, None) => format!("{} with neither code nor error", outcome.describe()),
        },
        AuthorizationOutcome::Page { status, .. } => format!("a {status} page"),
    }
}

/// AUTHZ-08 (OAuth 2.1 §3.1: a parameter sent without a value is treated as omitted): the
/// request with `name=` ends as the request without `name` does: both with a code, both with
/// the same error, or both on a page.
pub fn authz_08_same_outcome(
    name: &str,
    omitted: &AuthorizationOutcome,
    empty: &AuthorizationOutcome,
) -> Findings {
    let (a, b) = (outcome_words(omitted), outcome_words(empty));
    let same = match (omitted, empty) {
        (AuthorizationOutcome::Page { .. }, AuthorizationOutcome::Page { .. }) => true,
        (AuthorizationOutcome::Redirect { .. }, AuthorizationOutcome::Redirect { .. }) => {
            omitted.code().is_some() == empty.code().is_some() && omitted.error() == empty.error()
        }
        _ => false,
    };
    if same {
        return Vec::new();
    }
    vec![Violation::new(
        req::AUTHZ_08,
        format!("{name}= treated as {name} omitted, which got {a}"),
        format!("{name}= got {b}"),
    )]
}

/// AUTHZ-09 (OAuth 2.1 §3.1: unrecognized parameters are ignored): a valid request with one
/// more, unknown parameter still gets its code.
pub fn authz_09_unknown_ignored(outcome: &AuthorizationOutcome, name: &str) -> Findings {
    if outcome.code().is_some() {
        return Vec::new();
    }
    vec![Violation::new(
        req::AUTHZ_09,
        format!("a code: the unknown parameter {name} ignored"),
        match outcome {
            AuthorizationOutcome::Redirect { .. } => {
                format!("{} carrying {}", outcome.describe(), carried(outcome))
            }
            AuthorizationOutcome::Page { .. } => outcome.describe(),
        },
    )]
}

/// AUTHZ-10 (OAuth 2.1 §3.1: CORS MUST NOT be supported at the authorization endpoint): the
/// answer to a cross-origin request (`what`: a GET or the preflight) grants no origin.
pub fn authz_10_no_cors(what: &str, resp: &Response) -> Findings {
    match resp.header("access-control-allow-origin") {
        None => Vec::new(),
        Some(v) => vec![Violation::new(
            req::AUTHZ_10,
            format!("no Access-Control-Allow-Origin on the answer to {what}"),
            format!(
                "Access-Control-Allow-Origin: {v} ({})",
                resp.status.as_u16()
            ),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{page, redirect, redirect_to};
    use crate::requirements::Severity;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    fn response(status: u16, headers: &[(&str, &str)]) -> Response {
        crate::checks::testing::response(status, headers, "")
    }

    #[test]
    fn refusal_examples() {
        let ok = redirect(&[("error", "invalid_request"), ("state", "s1")]);
        assert!(refused_with(req::PKCE_01, &ok, "invalid_request").is_empty());
        let code = redirect(&[("code", "abc"), ("state", "s1")]);
        assert_eq!(
            refused_with(req::PKCE_01, &code, "invalid_request")[0].actual,
            "a code was issued"
        );
        let wrong = redirect(&[("error", "server_error"), ("state", "s1")]);
        assert_eq!(
            refused_with(req::PKCE_01, &wrong, "invalid_request").len(),
            1
        );
        // A missing state is AUTHZ-11's finding, never PKCE-01's.
        let no_state = redirect(&[("error", "invalid_request")]);
        assert!(refused_with(req::PKCE_01, &no_state, "invalid_request").is_empty());
        assert_eq!(
            refused_with(req::PKCE_01, &page(), "invalid_request")[0].severity(),
            Severity::Should
        );
    }

    #[test]
    fn redirects_to_keeps_the_targets_query() {
        let plain = u("http://127.0.0.1:4000/callback");
        let with_query = u("http://127.0.0.1:4000/callback?a=1");
        let back = u("http://127.0.0.1:4000/callback?a=1&code=x");
        assert!(redirects_to(&back, &with_query));
        assert!(redirects_to(&back, &plain));
        assert!(!redirects_to(
            &u("http://127.0.0.1:4000/callback?code=x"),
            &with_query
        ));
        assert!(!redirects_to(
            &u("http://127.0.0.1:4000/callback/?a=1"),
            &with_query
        ));
    }

    #[test]
    fn authz_01_examples() {
        assert!(authz_01_get_supported(&response(200, &[])).is_empty());
        assert!(authz_01_get_supported(&response(302, &[("location", "/login")])).is_empty());
        let f = authz_01_get_supported(&response(405, &[("allow", "POST")]));
        assert_eq!(f[0].severity(), Severity::Must);
        assert!(f[0].actual.contains("GET is not supported"));
        assert_eq!(
            authz_01_get_supported(&response(400, &[]))[0].severity(),
            Severity::Should
        );
    }

    #[test]
    fn authz_02_examples() {
        let variant = u("http://127.0.0.1:33418/callback/x");
        assert!(authz_02_variant_refused(&page(), &variant).is_empty());
        let elsewhere = redirect_to(
            "http://127.0.0.1:33418/callback",
            &[("error", "invalid_request")],
        );
        assert!(authz_02_variant_refused(&elsewhere, &variant).is_empty());
        let with_error = redirect_to(
            "http://127.0.0.1:33418/callback/x",
            &[("error", "invalid_request"), ("state", "s")],
        );
        let f = authz_02_variant_refused(&with_error, &variant);
        assert_eq!(f.len(), 1);
        assert!(f[0].actual.ends_with("carrying error=invalid_request"));
        let with_code = redirect_to("http://127.0.0.1:33418/callback/x", &[("code", "c")]);
        assert!(
            authz_02_variant_refused(&with_code, &variant)[0]
                .actual
                .ends_with("carrying a code")
        );
        // The query variant: a code to the registered URI (without a=1) is still acceptance.
        let query = u("http://127.0.0.1:33418/callback?a=1");
        let code_home = redirect_to("http://127.0.0.1:33418/callback", &[("code", "c")]);
        assert!(
            authz_02_variant_refused(&code_home, &query)[0]
                .actual
                .contains("the request was accepted")
        );
        assert!(authz_02_variant_refused(&elsewhere, &query).is_empty());
    }

    #[test]
    fn authz_03_examples() {
        let other = u("http://127.0.0.1:33419/callback");
        let there = redirect_to("http://127.0.0.1:33419/callback", &[("code", "c")]);
        assert!(authz_03_port_accepted(&there, &other).is_empty());
        let registered = redirect_to("http://127.0.0.1:33418/callback", &[("code", "c")]);
        assert_eq!(authz_03_port_accepted(&registered, &other).len(), 1);
        let refused = redirect_to(
            "http://127.0.0.1:33419/callback",
            &[("error", "invalid_request")],
        );
        assert!(
            authz_03_port_accepted(&refused, &other)[0]
                .actual
                .ends_with("error=invalid_request")
        );
        assert_eq!(authz_03_port_accepted(&page(), &other).len(), 1);
    }

    #[test]
    fn authz_04_examples() {
        assert!(authz_04_not_redirected(&page()).is_empty());
        let f = authz_04_not_redirected(&redirect(&[("error", "invalid_client")]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].requirement, req::AUTHZ_04);
        assert!(f[0].actual.ends_with("carrying error=invalid_client"));
        assert_eq!(
            authz_04_not_redirected(&redirect(&[("code", "c")])).len(),
            1
        );
    }

    #[test]
    fn authz_06_examples() {
        let ok = redirect(&[("error", "unsupported_response_type")]);
        assert!(authz_06_implicit_refused(&ok).is_empty());
        let wrong = redirect(&[("error", "invalid_request")]);
        assert_eq!(authz_06_implicit_refused(&wrong).len(), 1);
        let implicit = AuthorizationOutcome::Redirect {
            location: u("http://127.0.0.1:1/cb#access_token=abc&token_type=Bearer"),
            params: Vec::new(),
        };
        let f = authz_06_implicit_refused(&implicit);
        assert!(f[0].actual.contains("access_token was issued"));
        // token's default response mode is the fragment: the error may come there.
        let in_fragment = |fragment: &str| AuthorizationOutcome::Redirect {
            location: u(&format!("http://127.0.0.1:1/cb#{fragment}")),
            params: Vec::new(),
        };
        assert!(
            authz_06_implicit_refused(&in_fragment(
                "error=unsupported_response_type&state=s&iss=https%3A%2F%2Fas"
            ))
            .is_empty()
        );
        let f = authz_06_implicit_refused(&in_fragment("error=invalid_request"));
        assert_eq!(
            f[0].actual,
            "refused, but with invalid_request instead of unsupported_response_type"
        );
        let f = authz_06_implicit_refused(&in_fragment("code=c1"));
        assert_eq!(f[0].actual, "a code was issued");
        // Nothing in either place is still no refusal.
        let f = authz_06_implicit_refused(&redirect(&[("state", "s")]));
        assert_eq!(f[0].actual, "a redirect with neither code nor error");
    }

    #[test]
    fn authz_08_examples() {
        let code = redirect(&[("code", "c1")]);
        let other_code = redirect(&[("code", "c2")]);
        let invalid = redirect(&[("error", "invalid_request")]);
        let scope = redirect(&[("error", "invalid_scope")]);
        assert!(authz_08_same_outcome("scope", &code, &other_code).is_empty());
        assert!(authz_08_same_outcome("code_challenge", &invalid, &invalid.clone()).is_empty());
        let f = authz_08_same_outcome("scope", &code, &scope);
        assert_eq!(
            f[0].expected,
            "scope= treated as scope omitted, which got a code"
        );
        assert_eq!(f[0].actual, "scope= got error=invalid_scope");
        assert_eq!(
            authz_08_same_outcome("code_challenge", &invalid, &code).len(),
            1
        );
        assert_eq!(authz_08_same_outcome("scope", &page(), &code).len(), 1);
    }

    #[test]
    fn authz_09_examples() {
        assert!(authz_09_unknown_ignored(&redirect(&[("code", "c")]), "harness_x").is_empty());
        let f = authz_09_unknown_ignored(&redirect(&[("error", "invalid_request")]), "harness_x");
        assert!(f[0].actual.ends_with("carrying error=invalid_request"));
        assert_eq!(authz_09_unknown_ignored(&page(), "harness_x").len(), 1);
    }

    #[test]
    fn authz_10_examples() {
        assert!(authz_10_no_cors("a GET", &response(200, &[])).is_empty());
        let f = authz_10_no_cors(
            "the preflight",
            &response(
                204,
                &[("access-control-allow-origin", "https://evil.example")],
            ),
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].actual.contains("https://evil.example"));
        assert_eq!(
            authz_10_no_cors(
                "a GET",
                &response(200, &[("access-control-allow-origin", "*")])
            )
            .len(),
            1
        );
    }
}
