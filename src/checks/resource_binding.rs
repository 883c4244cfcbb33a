//! Resource indicators (RFC 8707): what the authorization server does with `resource`.

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
