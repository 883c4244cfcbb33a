//! The token endpoint's general rules (OAuth 2.1 §3.2): error responses (TOK-01), grant types,
//! parameters and client authentication (TOK-02..10), its transport (TOK-11); and the generic
//! checks of a token response several areas' requirements are judged by: issued, refused,
//! exactly one success of a race.

use url::Url;

use crate::checks::{Findings, describe, is_https_or_loopback};
use crate::client::http::Response;
use crate::client::oauth::{OAuthError, TokenSet};
use crate::client::www_authenticate;
use crate::verdict::Violation;

/// Judged by the token endpoint's refusal ([`super::token::refused_with`]).
pub const JUDGED_BY_TOKEN_REFUSAL: &[req::Id] = &[
    req::TOK_02, // no grant_type: invalid_request (O21 §3.2.2)
    req::TOK_03, // an unknown or removed grant type: unsupported_grant_type (O21 §3.2.4)
    req::TOK_04, // a repeated parameter: invalid_request (O21 §3.2)
    req::TOK_05, // an empty grant_type counts as absent: invalid_request (O21 §3.2)
    req::TOK_07, // two client authentication methods: invalid_request (O21 §2.4)
    req::TOK_08, // a wrong client secret in the body: invalid_client (O21 §2.4.1)
    req::TOK_09, // client_credentials for a public client (O21 §4.2)
];

/// Judged by a successful token response ([`super::token::issued`]).
pub const JUDGED_BY_ISSUANCE: &[req::Id] = &[
    req::TOK_08, // a client secret in the body authenticates (O21 §2.4.1)
];

/// The requirements [`refused_with`] judges: every area's list.
pub const REFUSAL_JUDGES: &[&[req::Id]] = &[
    super::pkce::JUDGED_BY_TOKEN_REFUSAL,
    super::code::JUDGED_BY_TOKEN_REFUSAL,
    JUDGED_BY_TOKEN_REFUSAL,
    super::refresh::JUDGED_BY_TOKEN_REFUSAL,
    super::resource_binding::JUDGED_BY_TOKEN_REFUSAL,
    super::cimd::JUDGED_BY_TOKEN_REFUSAL,
];

/// The requirements [`issued`] judges: every area's list.
pub const ISSUANCE_JUDGES: &[&[req::Id]] = &[
    super::pkce::JUDGED_BY_ISSUANCE,
    super::code::JUDGED_BY_ISSUANCE,
    JUDGED_BY_ISSUANCE,
    super::resource_binding::JUDGED_BY_ISSUANCE,
];

/// The requirements [`exactly_one_success`] judges: every area's list.
pub const RACE_JUDGES: &[&[req::Id]] =
    &[super::code::JUDGED_BY_RACE, super::refresh::JUDGED_BY_RACE];

/// A successful token response: 200, JSON, `access_token` and `token_type`.
pub fn issued(id: req::Id, resp: &Response) -> Findings {
    match TokenSet::from_response(resp) {
        Ok(_) => Vec::new(),
        Err(e) => vec![Violation::new(
            id,
            "200 with access_token and token_type",
            format!("{e}: {}", describe(resp)),
        )],
    }
}

/// A token request refused with one of the allowed codes. The status is TOK-01's to judge.
pub fn refused_with(id: req::Id, resp: &Response, allowed: &[&str]) -> Findings {
    super::refused_with_code(id, resp, allowed)
}

/// Whether a request for `grant` was refused because the AS does not offer that grant at all:
/// `unsupported_grant_type` (RFC 6749 §5.2: "The authorization grant type is not supported by
/// the authorization server") from an AS whose `grant_types_supported` leaves it out (RFC
/// 8414 §2: absent, the default names neither client_credentials nor refresh_token). Then no
/// requirement about that grant can be judged, and the answer is the reason to skip. A grant
/// the metadata lists, refused the same way, is no such reason.
pub fn grant_not_offered(
    resp: &Response,
    grant: &str,
    grant_types_supported: Option<&[String]>,
) -> Option<String> {
    let unsupported =
        OAuthError::from_response(resp).is_some_and(|e| e.error == "unsupported_grant_type");
    let listed = grant_types_supported.is_some_and(|g| g.iter().any(|x| x == grant));
    if !unsupported || listed {
        return None;
    }
    let advertised = match grant_types_supported {
        Some(g) => format!("grant_types_supported lists {}", g.join(", ")),
        None => "the metadata has no grant_types_supported".to_string(),
    };
    Some(format!(
        "the authorization server does not offer the {grant} grant ({advertised}; the token endpoint answered unsupported_grant_type)"
    ))
}

/// The race checks: of many concurrent redemptions, exactly one succeeds and every other is
/// refused with `error`.
pub fn exactly_one_success(id: req::Id, responses: &[Response], error: &str) -> Findings {
    let successes = responses.iter().filter(|r| r.status.is_success()).count();
    let refused_right = responses
        .iter()
        .filter(|r| super::refused_with_code(id, r, &[error]).is_empty())
        .count();
    let others = responses.len() - successes - refused_right;
    if successes == 1 && others == 0 {
        return Vec::new();
    }
    let mut statuses: Vec<String> = responses
        .iter()
        .map(|r| r.status.as_u16().to_string())
        .collect();
    statuses.sort();
    vec![Violation::new(
        id,
        format!(
            "exactly 1 success and {} refusals with {error}",
            responses.len() - 1
        ),
        format!(
            "{successes} successes, {refused_right} refusals with {error}, {others} other answers (statuses: {})",
            statuses.join(" ")
        ),
    )]
}

/// The error codes a token endpoint may send: OAuth 2.1 §3.2.4, plus `invalid_target` from
/// RFC 8707 §2.
pub const TOKEN_ERROR_CODES: [&str; 7] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
];

/// TOK-01: a token error is 400 (401 is allowed for `invalid_client`, §3.2.4), an
/// `application/json` object whose `error` is a registered code, and whose `error_description`
/// and `error_uri`, when present, are strings.
pub fn tok_01_error_shape(resp: &Response) -> Findings {
    const ID: req::Id = req::TOK_01;
    if resp.status.is_success() {
        return vec![Violation::new(
            ID,
            "an error response to a request that cannot succeed",
            describe(resp),
        )];
    }
    let mut out = Vec::new();
    let media = resp.media_type();
    if media.as_deref() != Some("application/json") {
        out.push(Violation::new(
            ID,
            "Content-Type application/json",
            media.map_or("no Content-Type".into(), |m| format!("Content-Type {m}")),
        ));
    }
    let body = match resp.json_object() {
        Ok(b) => b,
        Err(e) => {
            out.push(Violation::new(
                ID,
                "a JSON object with error",
                format!("{e}: {}", describe(resp)),
            ));
            return out;
        }
    };
    let code = body.get("error").and_then(|v| v.as_str());
    match code {
        Some(c) if TOKEN_ERROR_CODES.contains(&c) => {}
        Some(c) => out.push(Violation::new(
            ID,
            format!("error one of {}", TOKEN_ERROR_CODES.join(", ")),
            format!("error {c:?}"),
        )),
        None => out.push(Violation::new(ID, "a string member error", describe(resp))),
    }
    let status = resp.status.as_u16();
    let status_ok = status == 400 || (status == 401 && code == Some("invalid_client"));
    if !status_ok {
        out.push(Violation::new(
            ID,
            "status 400 (or 401 for invalid_client)",
            format!("status {status}"),
        ));
    }
    for member in ["error_description", "error_uri"] {
        if body.get(member).is_some_and(|v| !v.is_string()) {
            out.push(Violation::new(
                ID,
                format!("{member}, when present, a string"),
                describe(resp),
            ));
        }
    }
    out
}

/// TOK-06: a client that authenticated with the `Authorization` header and failed gets 401
/// `invalid_client` with a `WWW-Authenticate` challenge of the scheme it used (Basic).
pub fn tok_06_basic_failure(resp: &Response) -> Findings {
    const ID: req::Id = req::TOK_06;
    let expected = "401 with error invalid_client and WWW-Authenticate: Basic";
    let mut out = super::oauth_refusal(ID, resp, &[401], &["invalid_client"]);
    if !out.is_empty() {
        out[0].expected = expected.into();
        return out;
    }
    let challenges = www_authenticate::parse_all(resp.header_all("www-authenticate"));
    let basic = challenges.is_ok_and(|cs| cs.iter().any(|c| c.is("basic")));
    if !basic {
        let actual = match resp.header_all("www-authenticate").as_slice() {
            [] => "no WWW-Authenticate header".to_string(),
            values => format!("WWW-Authenticate: {}", values.join(", ")),
        };
        out.push(Violation::new(ID, expected, actual));
    }
    out
}

/// Whether the client's credentials authenticated a token request: the made-up code it
/// redeems may be refused, but not the client (no 401, no `invalid_client`). The positive
/// control of the refusals of wrong secrets (TOK-06, TOK-08, TOK-10).
pub fn client_authenticated(resp: &Response) -> bool {
    resp.status.as_u16() != 401
        && OAuthError::from_response(resp).is_none_or(|e| e.error != "invalid_client")
}

/// TOK-10: after many wrong secrets the endpoint throttles (some answer is 429) or locks the
/// client out (the right secret, accepted before the wrong ones as `control` shows, is then
/// refused). A refusal of the right secret counts as a lockout only when the same request was
/// accepted before: a target that refuses the client's Basic credentials for a reason of its
/// own shows no lockout. OAuth 2.1 §2.4.1 requires protection but not its form, so a miss is
/// advisory.
pub fn tok_10_throttled(
    control: &Response,
    wrong: &[Response],
    right_after: &Response,
) -> Findings {
    let throttled = wrong
        .iter()
        .chain(std::iter::once(right_after))
        .any(|r| r.status.as_u16() == 429);
    let control_accepted = client_authenticated(control);
    let locked_out = control_accepted && !client_authenticated(right_after);
    if throttled || locked_out {
        return Vec::new();
    }
    let mut statuses: Vec<String> = wrong
        .iter()
        .map(|r| r.status.as_u16().to_string())
        .collect();
    statuses.dedup();
    let actual = if control_accepted {
        format!(
            "every wrong secret was checked (statuses {}); then the right secret: {}",
            statuses.join(" "),
            describe(right_after)
        )
    } else {
        format!(
            "the right secret was refused before any wrong one ({}), so its refusal afterwards is no lockout; no wrong secret was throttled (statuses {})",
            describe(control),
            statuses.join(" ")
        )
    };
    vec![
        Violation::new(
            req::TOK_10,
            format!(
                "throttling (429) or a lockout after {} wrong secrets",
                wrong.len()
            ),
            actual,
        )
        .as_warning(
            "OAuth 2.1 §2.4.1 requires protection against brute force but leaves its form open; \
             a target may use secrets too long to guess instead",
        ),
    ]
}

/// TOK-11: the token endpoint is https (http only on a loopback host, for development).
pub fn tok_11_https(endpoint: &Url) -> Findings {
    if is_https_or_loopback(endpoint) {
        Vec::new()
    } else {
        vec![Violation::new(
            req::TOK_11,
            "an https token endpoint",
            endpoint.to_string(),
        )]
    }
}

/// TOK-11: a token request sent as GET (which clients must not do) issues no tokens. OAuth 2.1
/// binds the client to POST and leaves the server's answer to a GET open, so serving it is
/// advisory.
pub fn tok_11_get_not_served(resp: &Response) -> Findings {
    let issued = resp.status.is_success()
        && resp
            .json_object()
            .is_ok_and(|o| o.contains_key("access_token"));
    if !issued {
        return Vec::new();
    }
    vec![
        Violation::new(
            req::TOK_11,
            "a GET token request refused (405, or an OAuth error)",
            format!("tokens were issued: {}", describe(resp)),
        )
        .as_warning(
            "O21 §3.2 requires POST of the client; the server's answer to a GET is not specified",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{json, response};
    use crate::requirements::Severity;

    const OK: &str = r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300,"refresh_token":"rt-2","scope":"b a"}"#;

    #[test]
    fn a_grant_is_not_offered_only_when_refused_as_unsupported_and_not_listed() {
        let unsupported = json(400, r#"{"error":"unsupported_grant_type"}"#);
        let code_only = ["authorization_code".to_string()];
        let with_cc = [
            "authorization_code".to_string(),
            "client_credentials".to_string(),
        ];
        let why = grant_not_offered(&unsupported, "client_credentials", Some(&code_only));
        assert!(why.is_some_and(
            |w| w.contains("does not offer the client_credentials grant")
                && w.contains("grant_types_supported lists authorization_code")
        ));
        assert!(grant_not_offered(&unsupported, "client_credentials", None).is_some());
        // Listed, yet refused as unsupported: the refusal stays for the check to judge.
        assert!(grant_not_offered(&unsupported, "client_credentials", Some(&with_cc)).is_none());
        // Any other answer is judged as it is, listed or not.
        let unauthorized = json(400, r#"{"error":"unauthorized_client"}"#);
        assert!(grant_not_offered(&unauthorized, "client_credentials", Some(&code_only)).is_none());
        assert!(
            grant_not_offered(&json(200, OK), "client_credentials", Some(&code_only)).is_none()
        );
    }

    #[test]
    fn race_examples() {
        let win = json(200, OK);
        let lose = json(400, r#"{"error":"invalid_grant"}"#);
        assert!(
            exactly_one_success(
                req::CODE_02,
                &[win.clone(), lose.clone(), lose.clone()],
                "invalid_grant"
            )
            .is_empty()
        );
        assert_eq!(
            exactly_one_success(
                req::CODE_02,
                &[win.clone(), win.clone(), lose.clone()],
                "invalid_grant"
            )
            .len(),
            1
        );
        assert_eq!(
            exactly_one_success(req::CODE_02, &[lose.clone(), lose.clone()], "invalid_grant").len(),
            1
        );
        let err = json(500, r#"{"error":"server_error"}"#);
        assert_eq!(
            exactly_one_success(req::CODE_02, &[win, err], "invalid_grant").len(),
            1
        );
    }

    #[test]
    fn tok_01_examples() {
        let good = json(
            400,
            r#"{"error":"invalid_grant","error_description":"the code is unknown"}"#,
        );
        assert!(tok_01_error_shape(&good).is_empty());
        let client_401 = json(401, r#"{"error":"invalid_client"}"#);
        assert!(tok_01_error_shape(&client_401).is_empty());

        let as_text = response(
            400,
            &[("content-type", "text/plain")],
            r#"{"error":"invalid_grant"}"#,
        );
        let f = tok_01_error_shape(&as_text);
        assert_eq!(f.len(), 1);
        assert!(f[0].actual.contains("text/plain"));
        let unregistered = json(400, r#"{"error":"bad_code"}"#);
        assert_eq!(tok_01_error_shape(&unregistered).len(), 1);
        let grant_401 = json(401, r#"{"error":"invalid_grant"}"#);
        assert_eq!(tok_01_error_shape(&grant_401).len(), 1);
        let numeric_uri = json(400, r#"{"error":"invalid_request","error_uri":3}"#);
        assert_eq!(tok_01_error_shape(&numeric_uri).len(), 1);
        assert_eq!(tok_01_error_shape(&json(200, "{}")).len(), 1);
    }

    #[test]
    fn tok_06_examples() {
        let good = response(
            401,
            &[
                ("content-type", "application/json"),
                ("www-authenticate", "Basic realm=\"token\""),
            ],
            r#"{"error":"invalid_client"}"#,
        );
        assert!(tok_06_basic_failure(&good).is_empty());
        let no_challenge = json(401, r#"{"error":"invalid_client"}"#);
        assert_eq!(tok_06_basic_failure(&no_challenge).len(), 1);
        let bad_400 = json(400, r#"{"error":"invalid_client"}"#);
        let f = tok_06_basic_failure(&bad_400);
        assert_eq!(f.len(), 1);
        assert!(f[0].expected.contains("WWW-Authenticate: Basic"));
    }

    #[test]
    fn tok_10_examples() {
        let wrong = json(401, r#"{"error":"invalid_client"}"#);
        let throttled = json(429, r#"{"error":"invalid_client"}"#);
        let served = json(400, r#"{"error":"invalid_grant"}"#);
        let two_wrong = [wrong.clone(), wrong.clone()];
        assert!(tok_10_throttled(&served, &[wrong.clone(), throttled.clone()], &served).is_empty());
        assert!(tok_10_throttled(&served, &two_wrong, &wrong).is_empty());
        let f = tok_10_throttled(&served, &two_wrong, &served);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Should);
    }

    #[test]
    fn tok_10_a_refusal_of_the_right_secret_is_a_lockout_only_after_it_was_accepted() {
        let wrong = json(401, r#"{"error":"invalid_client"}"#);
        let bad_request = json(400, r#"{"error":"invalid_client"}"#);
        let two_wrong = [wrong.clone(), wrong.clone()];
        // A target that refuses the client's Basic credentials whatever the secret.
        let f = tok_10_throttled(&wrong, &two_wrong, &wrong);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].actual.contains("before any wrong one"),
            "{}",
            f[0].actual
        );
        assert_eq!(
            tok_10_throttled(&bad_request, &two_wrong, &bad_request).len(),
            1
        );
        // A 429 is throttling, whatever the control.
        let throttled = json(429, r#"{"error":"invalid_client"}"#);
        assert!(tok_10_throttled(&wrong, &[wrong.clone(), throttled], &wrong).is_empty());
    }

    #[test]
    fn tok_11_examples() {
        let u = |s: &str| Url::parse(s).expect("url");
        assert!(tok_11_https(&u("https://as.example/token")).is_empty());
        assert!(tok_11_https(&u("http://127.0.0.1:9/token")).is_empty());
        assert_eq!(tok_11_https(&u("http://as.example/token")).len(), 1);
        let refused = json(405, r#"{"error":"invalid_request"}"#);
        assert!(tok_11_get_not_served(&refused).is_empty());
        let served = json(200, r#"{"access_token":"a","token_type":"Bearer"}"#);
        let f = tok_11_get_not_served(&served);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Should);
    }
}
