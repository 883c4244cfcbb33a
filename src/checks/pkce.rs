//! PKCE (RFC 7636, OAuth 2.1 §4.1.1, §4.1.3): what the authorization and token endpoints do
//! with challenges and verifiers (PKCE-01..11).

use crate::checks::{Findings, describe};
use crate::client::http::Response;
use crate::client::login::AuthorizationOutcome;
use crate::client::oauth::TokenSet;
use crate::verdict::Violation;

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

/// PKCE-02: a valid S256 authorization request yields a code.
pub fn pkce_02_code_issued(outcome: &AuthorizationOutcome) -> Findings {
    code_issued(
        req::PKCE_02,
        "an authorization code for a valid S256 request",
        outcome,
    )
}

/// `id`: a valid authorization request (`expected` says what made it valid) yields a code.
pub fn code_issued(id: req::Id, expected: &str, outcome: &AuthorizationOutcome) -> Findings {
    if outcome.code().is_some() {
        return Vec::new();
    }
    let actual = match outcome.error() {
        Some(e) => format!(
            "error={e} ({})",
            outcome.param("error_description").unwrap_or("")
        ),
        None => outcome.describe(),
    };
    vec![Violation::new(id, expected, actual)]
}

/// PKCE-02: the redemption of that code with its verifier yields tokens.
pub fn pkce_02_tokens_issued(resp: &Response) -> Findings {
    match TokenSet::from_response(resp) {
        Ok(_) => Vec::new(),
        Err(e) => vec![Violation::new(
            req::PKCE_02,
            "tokens for a valid S256 redemption",
            format!("{e}: {}", describe(resp)),
        )],
    }
}

/// PKCE-11: a `code_challenge_method` the AS accepted (it issued a code) is one it advertises
/// in `code_challenge_methods_supported` (RFC 8414 §2; O21 §7.9).
pub fn pkce_11_accepted_is_advertised(
    outcome: &AuthorizationOutcome,
    method: &str,
    advertised: &[String],
) -> Findings {
    if outcome.code().is_none() || advertised.iter().any(|m| m == method) {
        return Vec::new();
    }
    vec![Violation::new(
        req::PKCE_11,
        format!("code_challenge_method {method} refused, or advertised"),
        format!(
            "a code was issued for {method}, but code_challenge_methods_supported is [{}]",
            advertised.join(", ")
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{json, page, redirect};

    #[test]
    fn pkce_02_examples() {
        assert!(pkce_02_code_issued(&redirect(&[("code", "c")])).is_empty());
        let refused = pkce_02_code_issued(&redirect(&[
            ("error", "invalid_request"),
            ("error_description", "no"),
        ]));
        assert_eq!(refused[0].actual, "error=invalid_request (no)");
        assert_eq!(pkce_02_code_issued(&page()).len(), 1);
        let tokens = json(200, r#"{"access_token":"at","token_type":"Bearer"}"#);
        assert!(pkce_02_tokens_issued(&tokens).is_empty());
        let refused = pkce_02_tokens_issued(&json(400, r#"{"error":"invalid_grant"}"#));
        assert!(
            refused[0].actual.contains("invalid_grant"),
            "{}",
            refused[0].actual
        );
    }

    #[test]
    fn pkce_11_examples() {
        let s256 = vec!["S256".to_string()];
        assert!(
            pkce_11_accepted_is_advertised(
                &redirect(&[("error", "invalid_request")]),
                "plain",
                &s256
            )
            .is_empty()
        );
        assert_eq!(
            pkce_11_accepted_is_advertised(&redirect(&[("code", "c")]), "plain", &s256).len(),
            1
        );
        let both = vec!["S256".to_string(), "plain".to_string()];
        assert!(
            pkce_11_accepted_is_advertised(&redirect(&[("code", "c")]), "plain", &both).is_empty()
        );
    }
}
