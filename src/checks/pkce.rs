//! PKCE (RFC 7636, OAuth 2.1 §4.1.1, §4.1.3): what the authorization and token endpoints do
//! with challenges and verifiers.

/// Judged by the authorization endpoint's refusal
/// ([`super::authorization::refused_with`]): the request is refused and no code is issued.
pub const JUDGED_BY_AUTHORIZATION_REFUSAL: &[req::Id] = &[
    req::PKCE_01, // no code_challenge: invalid_request (O21 §4.1.2.1; 7636 §4.4.1)
    req::PKCE_03, // an unsupported code_challenge_method: invalid_request (7636 §4.4.1)
    req::PKCE_04, // plain, or no method, when plain is not advertised (7636 §4.2, §4.3)
    req::PKCE_05, // a malformed code_challenge (O21 App. A.18)
];

/// Judged by the token endpoint's refusal ([`super::token::refused_with`]).
pub const JUDGED_BY_TOKEN_REFUSAL: &[req::Id] = &[
    req::PKCE_06, // a wrong code_verifier: invalid_grant (7636 §4.6)
    req::PKCE_07, // no code_verifier after a challenge (O21 §4.1.3)
    req::PKCE_08, // a code_verifier that breaks the grammar (O21 App. A.17; 7636 §4.1)
    req::PKCE_09, // the S256 challenge sent as the verifier: invalid_grant (7636 §4.6)
    req::PKCE_10, // a verifier for a code issued without a challenge: invalid_request (O21 §4.1.3)
];

/// Judged by a successful token response ([`super::token::issued`]).
pub const JUDGED_BY_ISSUANCE: &[req::Id] = &[
    req::PKCE_02, // S256 works end to end (O21 §4.1.1; 7636 §4.2)
];
