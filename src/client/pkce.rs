//! PKCE (RFC 7636): a verifier that cannot be cloned, so one verifier serves one exchange, and
//! the S256 challenge derived from it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::redact::redact;

/// A code verifier. Not `Clone`: it is moved into the token request that spends it.
pub struct PkceVerifier(String);

/// The S256 challenge of a verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkceChallenge(String);

impl PkceVerifier {
    /// 32 random octets, base64url without padding: 43 characters (RFC 7636 §4.1).
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        PkceVerifier(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A given verifier, e.g. a spec test vector. Not checked: negative tests need bad ones.
    pub fn from_string(value: impl Into<String>) -> Self {
        PkceVerifier(value.into())
    }

    pub fn challenge(&self) -> PkceChallenge {
        PkceChallenge(URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes())))
    }

    /// The verifier, for the token request.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PkceVerifier({})", redact(&self.0))
    }
}

impl PkceChallenge {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let v = PkceVerifier::from_string("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            v.challenge().as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_verifiers_are_43_unreserved_characters_and_differ() {
        let a = PkceVerifier::random();
        let b = PkceVerifier::random();
        assert_eq!(a.secret().len(), 43);
        assert!(
            a.secret()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a.secret(), b.secret());
        assert!(!format!("{a:?}").contains(a.secret()));
    }
}
