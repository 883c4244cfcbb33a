//! PKCE (RFC 7636): a verifier that cannot be cloned, so one verifier serves one exchange, and
//! the S256 challenge derived from it; and the named ways a negative test breaks either. The
//! verifier's text never leaves this library as a `String`: it goes on the wire inside the
//! request that carries it (see [`super::params::Value`]).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::redact::{Secret, redact};

/// A code verifier. Not `Clone`: it is moved into the token request that spends it.
pub struct PkceVerifier(String);

/// The S256 challenge of a verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkceChallenge(String);

/// How a verifier breaks the grammar of RFC 7636 §4.1 (43 to 128 unreserved characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedVerifier {
    /// 42 characters.
    TooShort,
    /// 129 characters.
    TooLong,
    /// 43 characters, one of them `!`.
    IllegalCharacter,
}

/// How a challenge breaks the grammar of OAuth 2.1 Appendix A.18 (43 to 128 unreserved
/// characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedChallenge {
    /// 42 characters.
    TooShort,
    /// 129 characters.
    TooLong,
    /// 43 characters, the last `+` (base64, not base64url).
    Plus,
    /// 43 characters, the last `/` (base64, not base64url).
    Slash,
    /// 43 characters, the last `=` (padding).
    Padding,
}

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

    /// A verifier that breaks the grammar on purpose (PKCE-08).
    pub fn malformed(how: MalformedVerifier) -> Self {
        PkceVerifier(match how {
            MalformedVerifier::TooShort => "a".repeat(42),
            MalformedVerifier::TooLong => "a".repeat(129),
            MalformedVerifier::IllegalCharacter => format!("{}!", "a".repeat(42)),
        })
    }

    /// The S256 challenge sent back as a verifier, as a client that confuses the two would
    /// (PKCE-09).
    pub fn from_challenge(challenge: &PkceChallenge) -> Self {
        PkceVerifier(challenge.0.clone())
    }

    pub fn challenge(&self) -> PkceChallenge {
        PkceChallenge(URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes())))
    }

    /// The challenge of method `plain`: the verifier itself (RFC 7636 §4.2), which is why
    /// `plain` exposes the verifier to anyone who sees the authorization request.
    pub fn plain_challenge(&self) -> PkceChallenge {
        PkceChallenge(self.0.clone())
    }

    /// The verifier as a secret, for the request that carries it.
    pub(super) fn to_secret(&self) -> Secret {
        Secret::new(self.0.as_str())
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PkceVerifier({})", redact(&self.0))
    }
}

impl PkceChallenge {
    /// A challenge that breaks the grammar on purpose (PKCE-05): each of the 43-character ones
    /// is a real S256 challenge with its last character replaced.
    pub fn malformed(how: MalformedChallenge) -> Self {
        let real = PkceVerifier::random().challenge().0;
        let last = match how {
            MalformedChallenge::TooShort => return PkceChallenge("a".repeat(42)),
            MalformedChallenge::TooLong => return PkceChallenge("a".repeat(129)),
            MalformedChallenge::Plus => '+',
            MalformedChallenge::Slash => '/',
            MalformedChallenge::Padding => '=',
        };
        PkceChallenge(format!("{}{last}", &real[..42]))
    }

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
        assert_eq!(
            PkceVerifier::from_challenge(&v.challenge()).0,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(v.plain_challenge().as_str(), v.0);
    }

    #[test]
    fn random_verifiers_are_43_unreserved_characters_and_differ() {
        let a = PkceVerifier::random();
        let b = PkceVerifier::random();
        assert_eq!(a.0.len(), 43);
        assert!(
            a.0.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a.0, b.0);
        assert!(!format!("{a:?}").contains(&a.0));
        assert!(!format!("{:?}", a.to_secret()).contains(&a.0));
    }

    #[test]
    fn malformed_verifiers_and_challenges_break_the_grammar_in_the_named_way() {
        let unreserved = |s: &str| {
            s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c))
        };
        assert_eq!(
            PkceVerifier::malformed(MalformedVerifier::TooShort).0.len(),
            42
        );
        assert_eq!(
            PkceVerifier::malformed(MalformedVerifier::TooLong).0.len(),
            129
        );
        let illegal = PkceVerifier::malformed(MalformedVerifier::IllegalCharacter).0;
        assert_eq!(illegal.len(), 43);
        assert!(illegal.ends_with('!'));
        assert_eq!(
            PkceChallenge::malformed(MalformedChallenge::TooShort)
                .0
                .len(),
            42
        );
        assert_eq!(
            PkceChallenge::malformed(MalformedChallenge::TooLong)
                .0
                .len(),
            129
        );
        for (how, last) in [
            (MalformedChallenge::Plus, '+'),
            (MalformedChallenge::Slash, '/'),
            (MalformedChallenge::Padding, '='),
        ] {
            let c = PkceChallenge::malformed(how).0;
            assert_eq!(c.len(), 43);
            assert!(c.ends_with(last) && unreserved(&c[..42]), "{c}");
        }
    }
}
