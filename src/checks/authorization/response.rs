//! The authorization response (OAuth 2.1 §4.1.2, §4.1.2.1; RFC 9207): state echoed byte-exact
//! (AUTHZ-11), one code and no error (AUTHZ-12), the issuer (AUTHZ-14, AUTHZ-20), no code
//! challenge (AUTHZ-15), the login form's answer (AUTHZ-16) and the error syntax (AUTHZ-18).

use base64::Engine;

use super::carried;

use crate::checks::Findings;
use crate::client::login::{AuthorizationOutcome, LoginStep};
use crate::verdict::Violation;

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
            req::AUTHZ_11,
            expected,
            format!("state {s:?}, with {}", carried(outcome)),
        )],
        None => vec![Violation::new(
            req::AUTHZ_11,
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
        Violation::new(req::AUTHZ_11, "a code with the request's state", actual).as_warning(
            "a valid request with a legal state (1*VSCHAR) was refused, so the success response could not be checked",
        ),
    ]
}

/// AUTHZ-12 (OAuth 2.1 §4.1.2, §3.1: parameters at most once): a success response has one
/// non-empty `code`, at most one `state` and `iss`, and no `error`.
pub fn authz_12_success_shape(outcome: &AuthorizationOutcome) -> Findings {
    let AuthorizationOutcome::Redirect { params, .. } = outcome else {
        return vec![Violation::new(
            req::AUTHZ_12,
            "a redirect carrying a code",
            outcome.describe(),
        )];
    };
    let count = |name: &str| params.iter().filter(|(k, _)| k == name).count();
    let mut out = Vec::new();
    let codes: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "code")
        .map(|(_, v)| v.as_str())
        .collect();
    match codes.as_slice() {
        [one] if !one.is_empty() => {}
        [_] => out.push(Violation::new(
            req::AUTHZ_12,
            "one non-empty code",
            "an empty code",
        )),
        many => out.push(Violation::new(
            req::AUTHZ_12,
            "exactly one code",
            format!("{} code parameters", many.len()),
        )),
    }
    for name in ["state", "iss"] {
        let n = count(name);
        if n > 1 {
            out.push(Violation::new(
                req::AUTHZ_12,
                format!("{name} at most once"),
                format!("{name} {n} times"),
            ));
        }
    }
    if let Some(e) = outcome.error() {
        out.push(Violation::new(
            req::AUTHZ_12,
            "no error in a success response",
            format!("error={e} beside the code"),
        ));
    }
    out
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
            req::AUTHZ_14,
            format!("iss equal to the metadata issuer {issuer:?}"),
            format!("iss {iss:?} in the {response}"),
        )],
        None if advertised => vec![Violation::new(
            req::AUTHZ_14,
            format!(
                "iss {issuer:?} (the metadata sets authorization_response_iss_parameter_supported to true)"
            ),
            format!("no iss in the {response}"),
        )],
        None => Vec::new(),
    }
}

/// The payload of `token` if it is a JWT (three base64url parts, the middle one JSON).
fn jwt_payload(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .map(|_| text)
}

/// AUTHZ-15 (OAuth 2.1 §4.1.2: the `code_challenge` MUST NOT be in a response parameter in a
/// form others can extract): the redirect, decoded, and the code's payload if it is a JWT, do
/// not contain the challenge.
pub fn authz_15_challenge_hidden(outcome: &AuthorizationOutcome, challenge: &str) -> Findings {
    let AuthorizationOutcome::Redirect { location, params } = outcome else {
        return Vec::new();
    };
    let expected = "the code_challenge nowhere in the authorization response";
    let mut places: Vec<String> = params
        .iter()
        .filter(|(_, v)| v.contains(challenge))
        .map(|(k, _)| format!("the {k} parameter"))
        .collect();
    if places.is_empty() && location.as_str().contains(challenge) {
        places.push("the redirect URL".into());
    }
    if let Some(code) = outcome.param("code")
        && !code.contains(challenge)
        && jwt_payload(code).is_some_and(|p| p.contains(challenge))
    {
        places.push("the payload of the code (a JWT)".into());
    }
    if places.is_empty() {
        return Vec::new();
    }
    vec![Violation::new(
        req::AUTHZ_15,
        expected,
        format!("the code_challenge appears in {}", places.join(", ")),
    )]
}

/// AUTHZ-16 (OAuth 2.1 §7.5.4): a request that carried the user's credentials is not answered
/// with 307 (MUST NOT); a redirect after it should be 303 (SHOULD). 308 also keeps the POST
/// and its body, but the text names only 307: graded as a warning. `None` when the driver
/// submitted no credentials, so there is nothing to check.
pub fn authz_16_no_307_after_credentials(steps: &[LoginStep]) -> Option<Findings> {
    let posts: Vec<&LoginStep> = steps.iter().filter(|s| s.carried_credentials).collect();
    if posts.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for s in posts {
        let v = |expected: &str| Violation::new(req::AUTHZ_16, expected, s.describe());
        match s.status {
            307 => out.push(v("no 307 after a request carrying the user's credentials")),
            308 => out.push(
                v("303 after a request carrying the user's credentials").as_warning(
                    "308 also makes the user agent re-send the credentials; OAuth 2.1 §7.5.4 names only 307",
                ),
            ),
            301 | 302 => out.push(
                v("303 after a request carrying the user's credentials").as_warning(
                    "OAuth 2.1 §7.5.4: the AS SHOULD use 303; with other codes a user agent may re-send the POST",
                ),
            ),
            _ => {}
        }
    }
    Some(out)
}

/// The error codes an authorization error response may carry: OAuth 2.1 §4.1.2.1 and the
/// codes other registered specifications define for this endpoint (RFC 8707 `invalid_target`;
/// OpenID Connect Core §3.1.2.6; RFC 9101 and RFC 9126 request objects).
pub const AUTHORIZATION_ERROR_CODES: [&str; 17] = [
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "invalid_target",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
];

/// `%x20-21 / %x23-5B / %x5D-7E`: printable ASCII but `"` and `\` (OAuth 2.1 §4.1.2.1).
fn is_error_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

/// AUTHZ-18 (OAuth 2.1 §4.1.2.1): an error response's `error` is a defined code, and `error`
/// and `error_description` use only the allowed characters. A page carries nothing to check.
pub fn authz_18_error_syntax(outcome: &AuthorizationOutcome) -> Findings {
    let Some(error) = outcome.error() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if !AUTHORIZATION_ERROR_CODES.contains(&error) {
        out.push(Violation::new(
            req::AUTHZ_18,
            "an error code OAuth 2.1 §4.1.2.1 (or a registered extension) defines",
            format!("error={error:?}"),
        ));
    }
    for name in ["error", "error_description"] {
        if let Some(v) = outcome.param(name)
            && let Some(bad) = v.chars().find(|c| !is_error_char(*c))
        {
            out.push(Violation::new(
                req::AUTHZ_18,
                format!("{name} within %x20-21 / %x23-5B / %x5D-7E"),
                format!("{name} {v:?} contains {bad:?}"),
            ));
        }
    }
    // error_uri: %x21 / %x23-5B / %x5D-7E (a URI reference has no space either).
    if let Some(uri) = outcome.param("error_uri")
        && let Some(bad) = uri.chars().find(|c| *c == ' ' || !is_error_char(*c))
    {
        out.push(Violation::new(
            req::AUTHZ_18,
            "error_uri within %x21 / %x23-5B / %x5D-7E",
            format!("error_uri {uri:?} contains {bad:?}"),
        ));
    }
    out
}

/// AUTHZ-20 (MCP 2026-07-28 §7.1, RFC 9207 §2: the AS SHOULD include `iss` in authorization
/// responses, error responses included): a redirect, with a code or an error, carries `iss`.
/// Whether it equals the metadata issuer is AUTHZ-14's question; a page carries nothing.
pub fn authz_20_iss_sent(outcome: &AuthorizationOutcome) -> Findings {
    if let AuthorizationOutcome::Page { .. } = outcome {
        return Vec::new();
    }
    if outcome.param("iss").is_some() {
        return Vec::new();
    }
    let response = if outcome.error().is_some() {
        "error response"
    } else {
        "authorization response"
    };
    vec![Violation::new(
        req::AUTHZ_20,
        format!("iss in the {response}"),
        format!("no iss, with {}", carried(outcome)),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{page, redirect};
    use crate::requirements::Severity;

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).expect("url")
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
    fn authz_12_examples() {
        let ok = redirect(&[("code", "c"), ("state", "s"), ("iss", "https://as")]);
        assert!(authz_12_success_shape(&ok).is_empty());
        let twice = redirect(&[("code", "c"), ("state", "s"), ("state", "s")]);
        assert_eq!(authz_12_success_shape(&twice)[0].actual, "state 2 times");
        let two_codes = redirect(&[("code", "c"), ("code", "d")]);
        assert_eq!(
            authz_12_success_shape(&two_codes)[0].actual,
            "2 code parameters"
        );
        let empty = redirect(&[("code", "")]);
        assert_eq!(authz_12_success_shape(&empty)[0].actual, "an empty code");
        let with_error = redirect(&[("code", "c"), ("error", "server_error")]);
        assert_eq!(authz_12_success_shape(&with_error).len(), 1);
        assert_eq!(authz_12_success_shape(&page()).len(), 1);
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

    #[test]
    fn authz_15_examples() {
        // RFC 7636 Appendix B's challenge.
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(
            authz_15_challenge_hidden(&redirect(&[("code", "SplxlOBeZQQYbYS6WxSbIA")]), challenge)
                .is_empty()
        );
        let in_code = redirect(&[("code", &format!("abc.{challenge}"))]);
        assert!(
            authz_15_challenge_hidden(&in_code, challenge)[0]
                .actual
                .contains("the code parameter")
        );
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"cc":"{challenge}"}}"#));
        let jwt = redirect(&[("code", &format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig"))]);
        assert!(
            authz_15_challenge_hidden(&jwt, challenge)[0]
                .actual
                .contains("JWT")
        );
        assert!(authz_15_challenge_hidden(&page(), challenge).is_empty());
    }

    fn step(status: u16, carried_credentials: bool) -> LoginStep {
        LoginStep {
            method: "POST".into(),
            url: u("https://as.example/login"),
            status,
            carried_credentials,
        }
    }

    #[test]
    fn authz_16_examples() {
        assert!(authz_16_no_307_after_credentials(&[step(307, false)]).is_none());
        let ok = authz_16_no_307_after_credentials(&[step(200, false), step(303, true)]);
        assert_eq!(ok.map(|f| f.len()), Some(0));
        let f = authz_16_no_307_after_credentials(&[step(307, true)]).expect("checked");
        assert_eq!(f[0].severity(), Severity::Must);
        assert!(f[0].actual.ends_with("answered 307"));
        let f = authz_16_no_307_after_credentials(&[step(302, true)]).expect("checked");
        assert_eq!(f[0].severity(), Severity::Should);
        assert!(
            authz_16_no_307_after_credentials(&[step(200, true)]).is_some_and(|f| f.is_empty())
        );
    }

    #[test]
    fn authz_18_examples() {
        let ok = redirect(&[
            ("error", "invalid_request"),
            ("error_description", "code_challenge_method must be S256"),
        ]);
        assert!(authz_18_error_syntax(&ok).is_empty());
        assert!(authz_18_error_syntax(&redirect(&[("error", "invalid_target")])).is_empty());
        let undefined = redirect(&[("error", "invalid_code_challenge_method")]);
        assert_eq!(authz_18_error_syntax(&undefined).len(), 1);
        let quoted = redirect(&[
            ("error", "invalid_request"),
            ("error_description", "method \"S512\" refusé"),
        ]);
        let f = authz_18_error_syntax(&quoted);
        assert_eq!(f.len(), 1);
        assert!(f[0].actual.contains("contains '\"'"));
        let spaced = redirect(&[("error", "access_denied"), ("error_uri", "https://as/e x")]);
        assert_eq!(authz_18_error_syntax(&spaced).len(), 1);
        assert!(authz_18_error_syntax(&redirect(&[("code", "c")])).is_empty());
    }

    #[test]
    fn authz_20_examples() {
        let with_iss = redirect(&[("code", "c"), ("state", "s"), ("iss", "https://as")]);
        assert!(authz_20_iss_sent(&with_iss).is_empty());
        let error_with_iss = redirect(&[("error", "invalid_request"), ("iss", "https://as")]);
        assert!(authz_20_iss_sent(&error_with_iss).is_empty());
        let error_without = redirect(&[("error", "invalid_request"), ("state", "s")]);
        let f = authz_20_iss_sent(&error_without);
        assert_eq!(f[0].expected, "iss in the error response");
        assert_eq!(f[0].severity(), Severity::Should);
        let code_without = redirect(&[("code", "c")]);
        assert_eq!(
            authz_20_iss_sent(&code_without)[0].expected,
            "iss in the authorization response"
        );
        assert!(authz_20_iss_sent(&page()).is_empty());
    }
}
