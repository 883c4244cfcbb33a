//! Authorization code redemption (OAuth 2.1 §4.1.3): codes are single-use and bound to their
//! client and redirect URI.

/// Judged by the token endpoint's refusal ([`super::token::refused_with`]).
pub const JUDGED_BY_TOKEN_REFUSAL: &[req::Id] = &[
    req::CODE_02, // a code redeemed a second time: invalid_grant (O21 §4.1.3)
    req::CODE_05, // a code redeemed by another client: invalid_grant (O21 §4.1.3, §3.2.4)
    req::CODE_06, // a redirect_uri that differs from the authorization request's (O21 §10.2)
    req::CODE_08, // a made-up code: invalid_grant (O21 §3.2.4)
    req::CODE_09, // a public client's redemption without client_id (O21 §4.1.3)
];

/// Judged by a successful token response ([`super::token::issued`]).
pub const JUDGED_BY_ISSUANCE: &[req::Id] = &[
    req::CODE_07, // a redemption without redirect_uri works (O21 §10.2, §4.1.3)
    req::CODE_10, // an unknown token request parameter is ignored (O21 §3.2)
];

/// Judged by the race check ([`super::token::exactly_one_success`]).
pub const JUDGED_BY_RACE: &[req::Id] = &[
    req::CODE_02, // concurrent redemptions of one code: one success (O21 §4.1.3)
];
