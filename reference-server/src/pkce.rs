//! PKCE (RFC 7636; PKCE-*): the challenge an authorization request must carry, and the verifier
//! the token request must prove it with.

use crate::crypto;
use crate::defects::Defect;
use crate::error::OAuthError;
use crate::protocol::{PKCE_PLAIN, PKCE_S256};
use crate::state::SharedState;
use crate::variants::Variant;

/// The authorization request's challenge: required (PKCE-01), S256 only (PKCE-03, PKCE-04,
/// PKCE-11: the only advertised method), 43 to 128 unreserved characters (PKCE-05). Returns the
/// challenge to bind to the code, or `None` where a defect switches PKCE off.
pub fn check_challenge(
    state: &SharedState,
    challenge: Option<&str>,
    method: Option<&str>,
    challenge_sent_empty: bool,
) -> Result<Option<String>, OAuthError> {
    // PKCE-01 (LEG-05 in 2025-03-26): a request without code_challenge is refused.
    let Some(challenge) = challenge else {
        if state.defect(Defect::PkceNotRequired)
            || state.defect(Defect::LegacyPkceNotRequired)
            || state.defect(Defect::PkceDowngrade)
            || challenge_sent_empty
        {
            return Ok(None);
        }
        return Err(OAuthError::invalid_request("code_challenge is required"));
    };
    // PKCE-11: only the advertised S256. With the `plain-accepted-unadvertised` defect, plain
    // is accepted and its challenge stored hashed (the S256 of the verifier is then its S256).
    let plain = method == Some(PKCE_PLAIN) && state.defect(Defect::PlainAcceptedUnadvertised);
    // PKCE-03, PKCE-04: S256 only; a missing method would mean plain.
    match method {
        Some(PKCE_S256) => {}
        Some(PKCE_PLAIN) if plain => {}
        Some(_) if state.defect(Defect::PkceMethodUnchecked) => {}
        None => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method is required: plain is not supported, use S256",
            ));
        }
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256",
            ));
        }
    }
    // PKCE-05: the challenge's form.
    if !crypto::is_pkce_string(challenge) {
        return Err(OAuthError::invalid_request(
            "code_challenge must be 43 to 128 unreserved characters",
        ));
    }
    Ok(Some(if plain {
        crypto::s256(challenge)
    } else {
        challenge.to_string()
    }))
}

/// A missing or malformed verifier: `invalid_request`, or `invalid_grant` with the
/// `verifier-errors-invalid-grant` variant (RFC 6749 §5.2: both fit; the grant does not verify).
fn verifier_error(state: &SharedState, description: &'static str) -> OAuthError {
    if state.variant(Variant::VerifierErrorsInvalidGrant) {
        OAuthError::invalid_grant(description)
    } else {
        OAuthError::invalid_request(description)
    }
}

/// The token request's verifier: present (PKCE-07), well-formed (PKCE-08), and hashing with
/// S256 to the code's challenge (PKCE-02, PKCE-06), never equal to the challenge itself
/// (PKCE-09). A code without a challenge takes no verifier (PKCE-10).
pub fn check_verifier(
    state: &SharedState,
    challenge: &str,
    verifier: Option<&str>,
) -> Result<(), OAuthError> {
    // A code without a challenge exists only with the `pkce-not-required` or `pkce-downgrade`
    // defects. PKCE-10: a verifier for such a code is refused (O21 §4.1.3: present if and only
    // if a challenge was).
    if challenge.is_empty() {
        return match verifier {
            None if state.defect(Defect::PkceNotRequired)
                || state.defect(Defect::LegacyPkceNotRequired) =>
            {
                Ok(())
            }
            Some(_) if state.defect(Defect::PkceDowngrade) => Ok(()),
            Some(_) => Err(OAuthError::invalid_request(
                "code_verifier was sent, but the authorization request had no code_challenge",
            )),
            None => Err(OAuthError::invalid_request("code_verifier is missing")),
        };
    }
    // PKCE-07: the verifier is required once a challenge was sent.
    let Some(verifier) = verifier else {
        if state.defect(Defect::PkceVerifierOptional) {
            return Ok(());
        }
        return Err(verifier_error(state, "code_verifier is missing"));
    };
    // PKCE-08: the verifier's grammar.
    if !crypto::is_pkce_string(verifier) && !state.defect(Defect::VerifierLengthUnchecked) {
        return Err(verifier_error(
            state,
            "code_verifier must be 43 to 128 unreserved characters",
        ));
    }
    // PKCE-02: S256 (the `pkce-plain-comparison` defect compares as plain); PKCE-09: the
    // challenge itself is no verifier.
    let matches = if state.defect(Defect::PkcePlainComparison) {
        crypto::ct_eq(verifier, challenge)
    } else {
        crypto::ct_eq(&crypto::s256(verifier), challenge)
            || (state.defect(Defect::PkceChallengeAsVerifier) && crypto::ct_eq(verifier, challenge))
    };
    // PKCE-06: a wrong verifier gets invalid_grant.
    if !matches && !state.defect(Defect::PkceVerifierUnchecked) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    Ok(())
}
