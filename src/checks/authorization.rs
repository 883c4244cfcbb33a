//! Checks of the authorization endpoint's answer: GET (AUTHZ-01), exact redirect URI matching
//! (AUTHZ-02, AUTHZ-03), no redirect for an untrusted client or redirect URI (AUTHZ-04),
//! response types (AUTHZ-05, AUTHZ-06), parameter syntax (AUTHZ-07..09), no CORS (AUTHZ-10),
//! the response's shape (AUTHZ-11, AUTHZ-12, AUTHZ-14, AUTHZ-15, AUTHZ-18), the answer to the
//! login form (AUTHZ-16), and refusals with an OAuth error (PKCE-01, PKCE-03, RES-03).

use base64::Engine;
use url::Url;

use super::{Findings, describe};
use crate::client::http::Response;
use crate::client::login::{AuthorizationOutcome, LoginStep, is_redirect_uri};
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

/// AUTHZ-06 (OAuth 2.1 §4.1.1, §10.1: no implicit grant): `response_type=token` is refused
/// with `unsupported_response_type`, and no access token appears anywhere in the redirect.
pub fn authz_06_implicit_refused(outcome: &AuthorizationOutcome) -> Findings {
    if let AuthorizationOutcome::Redirect { location, .. } = outcome {
        let in_fragment = location.fragment().is_some_and(|f| {
            url::form_urlencoded::parse(f.as_bytes()).any(|(k, _)| k == "access_token")
        });
        if in_fragment || outcome.param("access_token").is_some() {
            return vec![Violation::new(
                req::AUTHZ_06,
                "a redirect with error=unsupported_response_type, and no token",
                "an access_token was issued in the redirect (the implicit grant)",
            )];
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

/// SCOPE-08 (OAuth 2.1 §4.1.2.1: a request for an unknown scope that the AS refuses gets
/// `invalid_scope`, sent to the redirect URI with `state`): an error redirect carries
/// `error=invalid_scope` and the request's `state`, byte-exact. A code says the AS did not
/// refuse: whether it dropped the scope is the token response's question
/// ([`super::token::scope_08_dropped`]). A page refuses, but not as §4.1.2.1 asks for a valid
/// client and redirect URI: a warning.
pub fn scope_08_refused(outcome: &AuthorizationOutcome, sent_state: &str) -> Findings {
    const ID: req::Id = req::SCOPE_08;
    let expected = format!("a redirect with error=invalid_scope and state {sent_state:?}");
    match outcome {
        AuthorizationOutcome::Page { .. } => {
            vec![Violation::new(ID, expected, outcome.describe()).as_warning(
                "the request was refused, but with a page instead of an error redirect",
            )]
        }
        AuthorizationOutcome::Redirect { .. } if outcome.code().is_some() => Vec::new(),
        AuthorizationOutcome::Redirect { .. } => {
            let mut out = Vec::new();
            match outcome.error() {
                Some("invalid_scope") => {}
                Some(e) => out.push(Violation::new(ID, expected.clone(), format!("error={e}"))),
                None => out.push(Violation::new(
                    ID,
                    expected.clone(),
                    "a redirect with neither code nor error",
                )),
            }
            match outcome.param("state") {
                Some(s) if s == sent_state => {}
                Some(s) => out.push(Violation::new(ID, expected, format!("state {s:?}"))),
                None => out.push(Violation::new(
                    ID,
                    expected,
                    "no state in the error redirect",
                )),
            }
            out
        }
    }
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
        assert_eq!(f[0].requirement, req::AUTHZ_04);
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

    fn response(status: u16, headers: &[(&str, &str)]) -> Response {
        crate::checks::testing::response(status, headers, "")
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
    fn scope_08_refused_examples() {
        let refused = redirect(&[
            ("error", "invalid_scope"),
            ("state", "s1"),
            ("iss", "https://as"),
        ]);
        assert!(scope_08_refused(&refused, "s1").is_empty());
        // A code: the AS went on; the token response says the rest.
        assert!(scope_08_refused(&redirect(&[("code", "c"), ("state", "s1")]), "s1").is_empty());
        let wrong_code = redirect(&[("error", "invalid_request"), ("state", "s1")]);
        let f = scope_08_refused(&wrong_code, "s1");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].actual, "error=invalid_request");
        let no_state = redirect(&[("error", "invalid_scope")]);
        assert_eq!(
            scope_08_refused(&no_state, "s1")[0].actual,
            "no state in the error redirect"
        );
        assert_eq!(
            scope_08_refused(&page(), "s1")[0].severity(),
            Severity::Should
        );
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
