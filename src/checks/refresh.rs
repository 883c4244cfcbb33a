//! Refresh tokens (OAuth 2.1 §4.3): rotation, reuse detection, and binding to the client,
//! the scope and the resource.

/// Judged by the token endpoint's refusal ([`super::token::refused_with`]).
pub const JUDGED_BY_TOKEN_REFUSAL: &[req::Id] = &[
    req::REFRESH_02, // a replaced refresh token: invalid_grant (O21 §4.3.1)
    req::REFRESH_03, // the live refresh token after a replaced one was reused (O21 §4.3.1)
    req::REFRESH_04, // a refresh token presented by another client (O21 §4.3, §4.3.1)
    req::REFRESH_05, // a refresh that widens the scope: invalid_scope (O21 §4.3.1, §3.2.4)
    req::REFRESH_08, // a confidential client's refresh without authentication (O21 §4.3.1)
    req::REFRESH_10, // a made-up refresh token: invalid_grant (O21 §3.2.4, §4.3)
];

/// Judged by the race check ([`super::token::exactly_one_success`]).
pub const JUDGED_BY_RACE: &[req::Id] = &[
    req::REFRESH_02, // concurrent refreshes with one token: one success (O21 §4.3.1)
];
