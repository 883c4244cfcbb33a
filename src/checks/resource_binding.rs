//! Resource indicators (RFC 8707) and audience binding: what the authorization server does with
//! `resource` (RES-01, RES-03..09), and a token that works at its own resource (RES-02).

use super::resource_server::accepted;

use crate::checks::Findings;
use crate::client::login::AuthorizationOutcome;
use crate::client::mcp::McpResponse;
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
    fn res_08_examples() {
        assert!(res_08_no_trailing_slash("https://mcp.example.com/mcp").is_empty());
        assert_eq!(
            res_08_no_trailing_slash("https://mcp.example.com/").len(),
            1
        );
    }
}
