//! Resource indicators (RFC 8707) and audience binding: what the authorization server does with
//! `resource` (RES-01, RES-03..09), and a token that works at its own resource (RES-02).

use super::resource_server::accepted;

use crate::checks::Findings;
use crate::client::discovery::Probe;
use crate::client::http::Response;
use crate::client::login::AuthorizationOutcome;
use crate::client::mcp::McpResponse;
use crate::client::oauth::TokenSet;
use crate::verdict::Violation;

/// Judged by the authorization endpoint's refusal
/// ([`super::authorization::refused_with`]).
pub const JUDGED_BY_AUTHORIZATION_REFUSAL: &[req::Id] = &[
    req::RES_03, // a relative resource, or one with a fragment: invalid_target (8707 §2)
    req::RES_04, // an unknown resource: invalid_target (8707 §2.1)
];

/// Judged by the token endpoint's refusal ([`super::token::refused_with`]).
pub const JUDGED_BY_TOKEN_REFUSAL: &[req::Id] = &[
    req::RES_06, // a resource the authorization did not cover: invalid_target (8707 §2.2)
];

/// Judged by a successful token response ([`super::token::issued`]).
pub const JUDGED_BY_ISSUANCE: &[req::Id] = &[
    req::RES_01, // resource on both requests is tolerated (MCP-B §2.5.1; O21 §3.1, §3.2)
];

/// Judged by [`super::token::code_or_invalid_target`]: a code, or `invalid_target`.
pub const JUDGED_BY_CODE_OR_INVALID_TARGET: &[req::Id] = &[
    req::RES_05, // no resource: a default, or invalid_target (8707 §2.1)
    req::RES_09, // several resources: several audiences, or invalid_target (8707 §2, §3)
];

/// Whether a second resource answers like a protected MCP server: a request without a token
/// gets 401 with a Bearer challenge (MCP-B §2.1; RFC 6750 §3). `Err` says what it did instead.
pub fn answers_like_a_protected_resource(probe: &Probe) -> Result<(), String> {
    let status = probe.response.status.as_u16();
    if status == 401 && probe.bearer().is_some() {
        return Ok(());
    }
    let challenge = if probe.bearer().is_some() {
        "with a Bearer challenge"
    } else {
        "without a Bearer challenge"
    };
    Err(format!(
        "expected 401 with a Bearer challenge to a request without a token, got {status} {challenge}: {}",
        super::describe(&probe.response)
    ))
}

/// RES-02: the MCP server accepts a token issued for it.
pub fn res_02_accepted(resp: &McpResponse) -> Findings {
    accepted(req::RES_02, resp)
}

/// RES-05, RES-09: the AS either goes on (a code) or refuses with `invalid_target` (RFC 8707
/// §2.1, §2); any other answer is outside what the spec allows.
pub fn code_or_invalid_target(id: req::Id, outcome: &AuthorizationOutcome) -> Findings {
    if outcome.code().is_some() || outcome.error() == Some("invalid_target") {
        return Vec::new();
    }
    let actual = match outcome.error() {
        Some(e) => format!("error={e}"),
        None => outcome.describe(),
    };
    vec![Violation::new(
        id,
        "a code, or a redirect with error=invalid_target",
        actual,
    )]
}

/// RES-07: the authorization request naming the resource with its scheme and host in upper
/// case gets a code (a refusal such as `invalid_target` is RES-07's finding, not a broken
/// precondition of another requirement).
pub fn res_07_code_issued(outcome: &AuthorizationOutcome) -> Findings {
    if outcome.code().is_some() {
        return Vec::new();
    }
    let actual = match outcome.error() {
        Some(e) => format!("error={e}: the request was refused"),
        None => outcome.describe(),
    };
    vec![Violation::new(
        req::RES_07,
        "a code for the resource with its scheme and host in upper case",
        actual,
    )]
}

/// RES-07: the redemption naming that resource issues tokens.
pub fn res_07_tokens_issued(resp: &Response) -> Findings {
    match TokenSet::from_response(resp) {
        Ok(_) => Vec::new(),
        Err(e) => vec![Violation::new(
            req::RES_07,
            "tokens for the resource with its scheme and host in upper case",
            format!("{e}: {}", super::describe(resp)),
        )],
    }
}

/// RES-07: the MCP server accepts a token requested for its URL with the scheme and host in
/// upper case (RFC 3986 §6.2.2.1: they are case-insensitive).
pub fn res_07_accepted(resp: &McpResponse) -> Findings {
    accepted(req::RES_07, resp)
}

/// RES-08: the canonical resource URI has no trailing slash (MCP-B §2.5.1.1, MCP-C §8.1).
pub fn res_08_no_trailing_slash(resource: &str) -> Findings {
    if !resource.ends_with('/') {
        return Vec::new();
    }
    vec![Violation::new(
        req::RES_08,
        "a resource URI without a trailing slash",
        format!("resource {resource:?}"),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{page, redirect};

    #[test]
    fn res_05_09_examples() {
        assert!(code_or_invalid_target(req::RES_05, &redirect(&[("code", "c")])).is_empty());
        assert!(
            code_or_invalid_target(req::RES_05, &redirect(&[("error", "invalid_target")]))
                .is_empty()
        );
        assert_eq!(
            code_or_invalid_target(req::RES_09, &redirect(&[("error", "invalid_request")])).len(),
            1
        );
        assert_eq!(code_or_invalid_target(req::RES_05, &page()).len(), 1);
    }

    #[test]
    fn res_07_a_refusal_of_its_own_request_is_its_own_finding() {
        assert!(res_07_code_issued(&redirect(&[("code", "c")])).is_empty());
        let f = res_07_code_issued(&redirect(&[("error", "invalid_target")]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].requirement, req::RES_07);
        assert!(f[0].actual.contains("invalid_target"), "{}", f[0].actual);
        let refused = crate::checks::testing::json(400, r#"{"error":"invalid_target"}"#);
        assert_eq!(res_07_tokens_issued(&refused)[0].requirement, req::RES_07);
        let issued =
            crate::checks::testing::json(200, r#"{"access_token":"a","token_type":"Bearer"}"#);
        assert!(res_07_tokens_issued(&issued).is_empty());
    }

    #[test]
    fn a_second_resource_answers_like_a_protected_mcp_server() {
        let probe = |status: u16, headers: &[(&str, &str)]| {
            let response = crate::checks::testing::response(status, headers, "");
            let challenges =
                crate::client::www_authenticate::parse_all(response.header_all("www-authenticate"));
            Probe {
                response,
                challenges,
            }
        };
        let challenge = [(
            "www-authenticate",
            r#"Bearer resource_metadata="https://rs.example/.well-known/oauth-protected-resource""#,
        )];
        assert!(answers_like_a_protected_resource(&probe(401, &challenge)).is_ok());
        let why = answers_like_a_protected_resource(&probe(404, &[])).expect_err("404");
        assert!(why.contains("got 404 without a Bearer challenge"), "{why}");
        assert!(answers_like_a_protected_resource(&probe(401, &[])).is_err());
        assert!(answers_like_a_protected_resource(&probe(200, &challenge)).is_err());
    }

    #[test]
    fn res_08_examples() {
        assert!(res_08_no_trailing_slash("https://mcp.example.com/mcp").is_empty());
        assert_eq!(
            res_08_no_trailing_slash("https://mcp.example.com/").len(),
            1
        );
    }
}
