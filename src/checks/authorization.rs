//! Checks of the authorization endpoint's answer: exact redirect URI matching (AUTHZ-02), no
//! redirect for an untrusted client or redirect URI (AUTHZ-04), `state` (AUTHZ-11), `iss`
//! (AUTHZ-14), and refusals with an OAuth error (PKCE-01, PKCE-03, RES-03).

use url::Url;

use super::Findings;
use crate::client::login::{AuthorizationOutcome, is_redirect_uri};
use crate::verdict::Violation;

/// Refused with `error` and no code. An error page (no redirect) also refuses, but not in the
/// way OAuth 2.1 §4.1.2.1 asks for a valid client and redirect URI: graded as a warning.
/// Whether the error redirect echoes `state` is AUTHZ-11's question, not this check's.
pub fn refused_with(id: &str, outcome: &AuthorizationOutcome, error: &str) -> Findings {
    let expected = format!("a redirect with error={error}, and no code");
    match outcome {
        AuthorizationOutcome::Redirect { .. } if outcome.code().is_some() => {
            vec![Violation::new(id, expected, "a code was issued")]
        }
        AuthorizationOutcome::Redirect { .. } => match outcome.error() {
            Some(e) if e == error => Vec::new(),
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
                "AUTHZ-02",
                expected,
                format!("{} carrying {}", outcome.describe(), carried(outcome)),
            )]
        }
        AuthorizationOutcome::Redirect { .. } if outcome.code().is_some() => {
            vec![Violation::new(
                "AUTHZ-02",
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

/// AUTHZ-04: a request with a missing or unknown `client_id`, or without the `redirect_uri`
/// a client with several needs, is never redirected to the client (OAuth 2.1 §2.3.5,
/// §4.1.2.1: MUST NOT redirect automatically; telling the user is a SHOULD not graded here).
/// `outcome` must come from a driver that stopped only at the client's redirect URIs, so a
/// redirect outcome is a redirect to the client; one to the AS's own error page is followed
/// and ends at a page.
pub fn authz_04_not_redirected(outcome: &AuthorizationOutcome) -> Findings {
    match outcome {
        AuthorizationOutcome::Redirect { .. } => vec![Violation::new(
            "AUTHZ-04",
            "an error shown to the user, and no redirect to the client's redirect URI",
            format!("{} carrying {}", outcome.describe(), carried(outcome)),
        )],
        AuthorizationOutcome::Page { .. } => Vec::new(),
    }
}

/// AUTHZ-11: a redirect carries the request's `state`, byte-exact once decoded (OAuth 2.1
/// §4.1.2, §4.1.2.1: "the exact value received from the client"). A page carries nothing to
/// compare.
pub fn authz_11_state_echoed(outcome: &AuthorizationOutcome, sent: &str) -> Findings {
    if let AuthorizationOutcome::Page { .. } = outcome {
        return Vec::new();
    }
    let expected = format!("state {sent:?}, byte-exact");
    match outcome.param("state") {
        Some(s) if s == sent => Vec::new(),
        Some(s) => vec![Violation::new(
            "AUTHZ-11",
            expected,
            format!("state {s:?}, with {}", carried(outcome)),
        )],
        None => vec![Violation::new(
            "AUTHZ-11",
            expected,
            format!("no state, with {}", carried(outcome)),
        )],
    }
}

/// AUTHZ-11, success response: a code with the request's `state`, byte-exact. A request
/// refused for its `state` alone is graded as a warning: the state was legal (`1*VSCHAR`,
/// OAuth 2.1 Appendix A.5), but no sentence obliges the AS to accept every such value.
pub fn authz_11_code_with_state(outcome: &AuthorizationOutcome, sent: &str) -> Findings {
    if outcome.code().is_some() {
        return authz_11_state_echoed(outcome, sent);
    }
    let actual = match outcome {
        AuthorizationOutcome::Redirect { .. } => {
            format!("{} carrying {}", outcome.describe(), carried(outcome))
        }
        AuthorizationOutcome::Page { .. } => outcome.describe(),
    };
    vec![
        Violation::new("AUTHZ-11", "a code with the request's state", actual).as_warning(
            "a valid request with a legal state (1*VSCHAR) was refused, so the success response could not be checked",
        ),
    ]
}

/// AUTHZ-14 (RFC 9207 §2, §2.3, §2.4): an `iss` that is present equals the metadata `issuer`
/// by simple string comparison once decoded; when the metadata sets
/// `authorization_response_iss_parameter_supported` to true, every authorization response,
/// errors included, carries it. An AS that neither advertises nor sends `iss` leaves nothing
/// to check: RFC 9207 is optional, and the member defaults to false (§3). A page carries
/// nothing to check either.
pub fn authz_14_iss(outcome: &AuthorizationOutcome, issuer: &str, advertised: bool) -> Findings {
    if let AuthorizationOutcome::Page { .. } = outcome {
        return Vec::new();
    }
    let response = if outcome.error().is_some() {
        "error response"
    } else {
        "authorization response"
    };
    match outcome.param("iss") {
        Some(iss) if iss == issuer => Vec::new(),
        Some(iss) => vec![Violation::new(
            "AUTHZ-14",
            format!("iss equal to the metadata issuer {issuer:?}"),
            format!("iss {iss:?} in the {response}"),
        )],
        None if advertised => vec![Violation::new(
            "AUTHZ-14",
            format!(
                "iss {issuer:?} (the metadata sets authorization_response_iss_parameter_supported to true)"
            ),
            format!("no iss in the {response}"),
        )],
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirements::Severity;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    fn redirect_to(location: &str, params: &[(&str, &str)]) -> AuthorizationOutcome {
        AuthorizationOutcome::Redirect {
            location: u(location),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn redirect(params: &[(&str, &str)]) -> AuthorizationOutcome {
        redirect_to("http://127.0.0.1:1/cb", params)
    }

    fn page() -> AuthorizationOutcome {
        AuthorizationOutcome::Page {
            url: u("https://as/authorize"),
            status: 400,
            reason: "an error status".into(),
        }
    }

    #[test]
    fn refusal_examples() {
        let ok = redirect(&[("error", "invalid_request"), ("state", "s1")]);
        assert!(refused_with("PKCE-01", &ok, "invalid_request").is_empty());
        let code = redirect(&[("code", "abc"), ("state", "s1")]);
        assert_eq!(
            refused_with("PKCE-01", &code, "invalid_request")[0].actual,
            "a code was issued"
        );
        let wrong = redirect(&[("error", "server_error"), ("state", "s1")]);
        assert_eq!(refused_with("PKCE-01", &wrong, "invalid_request").len(), 1);
        // A missing state is AUTHZ-11's finding, never PKCE-01's.
        let no_state = redirect(&[("error", "invalid_request")]);
        assert!(refused_with("PKCE-01", &no_state, "invalid_request").is_empty());
        assert_eq!(
            refused_with("PKCE-01", &page(), "invalid_request")[0].severity(),
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
    fn authz_04_examples() {
        assert!(authz_04_not_redirected(&page()).is_empty());
        let f = authz_04_not_redirected(&redirect(&[("error", "invalid_client")]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].requirement, "AUTHZ-04");
        assert!(f[0].actual.ends_with("carrying error=invalid_client"));
        assert_eq!(
            authz_04_not_redirected(&redirect(&[("code", "c")])).len(),
            1
        );
    }

    #[test]
    fn authz_11_examples() {
        let sent = "%+~ &=#?/%2B%20%25abc";
        let exact = redirect(&[("error", "invalid_request"), ("state", sent)]);
        assert!(authz_11_state_echoed(&exact, sent).is_empty());
        assert!(authz_11_state_echoed(&page(), sent).is_empty());
        // `+` read as a space: the AS decoded or encoded once too often.
        let mangled = redirect(&[
            ("error", "invalid_request"),
            ("state", "%  ~ &=#?/+ %25abc"),
        ]);
        let f = authz_11_state_echoed(&mangled, sent);
        assert_eq!(f.len(), 1);
        assert!(f[0].actual.contains("with error=invalid_request"));
        let dropped = redirect(&[("error", "invalid_request")]);
        assert!(
            authz_11_state_echoed(&dropped, sent)[0]
                .actual
                .starts_with("no state")
        );

        let code = redirect(&[("code", "c"), ("state", sent)]);
        assert!(authz_11_code_with_state(&code, sent).is_empty());
        let code_no_state = redirect(&[("code", "c")]);
        assert_eq!(
            authz_11_code_with_state(&code_no_state, sent)[0].severity(),
            Severity::Must
        );
        let refused = redirect(&[("error", "invalid_request"), ("state", sent)]);
        assert_eq!(
            authz_11_code_with_state(&refused, sent)[0].severity(),
            Severity::Should
        );
    }

    #[test]
    fn authz_14_examples() {
        let issuer = "https://as.example/tenant";
        let code = redirect(&[("code", "c"), ("iss", issuer)]);
        assert!(authz_14_iss(&code, issuer, true).is_empty());
        assert!(authz_14_iss(&code, issuer, false).is_empty());
        let trailing = redirect(&[("code", "c"), ("iss", "https://as.example/tenant/")]);
        assert_eq!(authz_14_iss(&trailing, issuer, false).len(), 1);
        let error_without = redirect(&[("error", "invalid_request")]);
        let f = authz_14_iss(&error_without, issuer, true);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].actual, "no iss in the error response");
        // Not advertised and not sent: nothing to check.
        assert!(authz_14_iss(&error_without, issuer, false).is_empty());
        assert!(authz_14_iss(&page(), issuer, true).is_empty());
    }
}
