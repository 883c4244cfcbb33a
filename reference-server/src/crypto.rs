//! Randomness, PKCE arithmetic, constant-time comparison and the access-token signer.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use rand::RngCore;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock::NumericDate;
use crate::defects::{Defect, Defects};

/// `n` random bytes from the OS generator, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A new P-256 private key, PEM (`PRIVATE KEY`, PKCS #8): a file for `--signing-key`.
pub fn generate_signing_key_pem() -> Result<String, KeyError> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| KeyError::Generate)?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    Ok(pem)
}

/// The DER inside a PEM `PRIVATE KEY` block.
fn pkcs8_from_pem(text: &str) -> Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = text
        .find(BEGIN)
        .ok_or("no PKCS #8 private key (a PEM block `BEGIN PRIVATE KEY`)")?
        + BEGIN.len();
    let len = text[start..]
        .find(END)
        .ok_or("the PEM block is not closed")?;
    let body: String = text[start..start + len]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("the PEM block is not base64: {e}"))
}

/// RFC 7636 §4.2: `BASE64URL(SHA256(ASCII(code_verifier)))`.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Compares two secrets in time that depends only on their lengths.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// RFC 7636 §4.1 / O21 App. A.17-A.18: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub fn is_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The claims of an access token (RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub client_id: String,
    pub scope: String,
    /// Whole seconds, but for a client whose tokens live under a second
    /// ([`Config::own_access_token_ttl`](crate::config::Config::own_access_token_ttl)).
    pub exp: NumericDate,
    pub iat: u64,
    pub jti: String,
}

/// The `aud` claim: a single string, or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// Whether `resource` is among the audiences (RFC 7519 §4.1.3: the recipient must
    /// identify itself with a value in the claim).
    pub fn names(&self, resource: &str) -> bool {
        match self {
            Audience::One(a) => a == resource,
            Audience::Many(all) => all.iter().any(|a| a == resource),
        }
    }
}

impl From<&str> for Audience {
    fn from(a: &str) -> Self {
        Audience::One(a.to_string())
    }
}

impl AccessClaims {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }
}

/// Why a presented access token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenRejection {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token is not an access token (typ must be at+jwt)")]
    WrongType,
    #[error("the token was not signed by this server")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued for another resource")]
    WrongAudience,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token has been revoked")]
    Revoked,
    #[error("the token is not one this server issued")]
    Unknown,
}

/// Signs access tokens with a fresh ES256 key and publishes the key as a JWKS.
///
/// The P-256 arithmetic is ring's: every token request signs and every MCP request verifies,
/// so it is the server's hottest code. The compact serialization is written here, byte for byte
/// what a JWT library writes (`{"typ":"at+jwt","alg":"ES256","kid":…}`), and a token is parsed
/// with the JWT library's own header and claims decoders so that a malformed token is refused
/// for the same reason as before.
pub struct Signer {
    pair: EcdsaKeyPair,
    public: UnparsedPublicKey<Vec<u8>>,
    rng: SystemRandom,
    /// The base64url of the protected header, the same for every token.
    header: String,
    kid: String,
    jwk: serde_json::Value,
    /// The SHA-256 digests of tokens whose signature is known good: signed here, or verified
    /// once. A token presented again (every MCP request of a session presents one) is not
    /// verified again: the same bytes verify the same way. Bounded: emptied when full.
    known_good: std::sync::Mutex<std::collections::HashSet<[u8; 32]>>,
}

/// Digests of known-good tokens a signer keeps (a run issues a few hundred tokens).
const KNOWN_GOOD: usize = 1024;

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate the signing key")]
    Generate,
    #[error("could not load the signing key: {0}")]
    Load(String),
    #[error("could not sign: {0}")]
    Sign(String),
}

/// The protected header of every access token, in the order a JWT library writes it.
#[derive(Serialize)]
struct ProtectedHeader<'a> {
    typ: &'a str,
    alg: &'a str,
    kid: &'a str,
}

impl Signer {
    /// A new P-256 key pair, generated at start; tokens do not survive a restart.
    pub fn generate() -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| KeyError::Generate)?;
        Self::from_pkcs8(pkcs8.as_ref(), rng)
    }

    /// The signer of the P-256 key in a PEM file (`PRIVATE KEY`, PKCS #8): what instances
    /// behind one issuer share (`--signing-key`).
    pub fn from_pem_file(path: &std::path::Path) -> Result<Self, KeyError> {
        let shown = path.display();
        let text =
            std::fs::read_to_string(path).map_err(|e| KeyError::Load(format!("{shown}: {e}")))?;
        let der = pkcs8_from_pem(&text).map_err(|e| KeyError::Load(format!("{shown}: {e}")))?;
        Self::from_pkcs8(&der, SystemRandom::new())
            .map_err(|e| KeyError::Load(format!("{shown}: not a P-256 key ({e})")))
    }

    /// The signer of a P-256 key in PKCS #8 (DER).
    fn from_pkcs8(pkcs8: &[u8], rng: SystemRandom) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|e| KeyError::Load(e.to_string()))?;
        // An uncompressed SEC1 point: 0x04 || x (32 bytes) || y (32 bytes).
        let point = pair.public_key().as_ref().to_vec();
        if point.len() != 65 || point[0] != 4 {
            return Err(KeyError::Generate);
        }
        let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
        let y = URL_SAFE_NO_PAD.encode(&point[33..65]);
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(&point)[..12]);
        // RFC 9068 §2.1: access tokens are typed `at+jwt`.
        let header = serde_json::to_vec(&ProtectedHeader {
            typ: "at+jwt",
            alg: "ES256",
            kid: &kid,
        })
        .map_err(|e| KeyError::Load(e.to_string()))?;
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": x, "y": y,
            "kid": kid, "use": "sig", "alg": "ES256",
        });
        Ok(Signer {
            pair,
            public: UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point),
            rng,
            header: URL_SAFE_NO_PAD.encode(header),
            kid,
            jwk,
            known_good: Default::default(),
        })
    }

    fn digest(token: &str) -> [u8; 32] {
        let mut out = [0; 32];
        out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref());
        out
    }

    fn remember_good(&self, token: &str) {
        let mut known = self
            .known_good
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if known.len() >= KNOWN_GOOD {
            known.clear();
        }
        known.insert(Self::digest(token));
    }

    fn known_good(&self, token: &str) -> bool {
        self.known_good
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&Self::digest(token))
    }

    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [self.jwk] })
    }

    /// A compact JWS (RFC 7515 §7.1) of `claims`: header, claims and the 64-byte `r || s`
    /// signature (RFC 7518 §3.4), each base64url.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError::Sign(e.to_string()))?;
        let mut token = String::with_capacity(self.header.len() + payload.len() * 4 / 3 + 92);
        token.push_str(&self.header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = self
            .pair
            .sign(&self.rng, token.as_bytes())
            .map_err(|_| KeyError::Sign("ECDSA".into()))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
        self.remember_good(&token);
        Ok(token)
    }

    /// Verifies signature, type, issuer, audience and expiry (RS-04..07). Revocation is the store's job.
    pub fn verify(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<AccessClaims, TokenRejection> {
        self.verify_with(token, issuer, audience, &Defects::none())
    }

    /// [`Signer::verify`], with the checks that `defects` switch off left out.
    pub fn verify_with(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
        defects: &Defects,
    ) -> Result<AccessClaims, TokenRejection> {
        if defects.has(Defect::AlgNoneAccepted)
            && let Some(claims) = unsigned_claims(token)
        {
            return check_issuer_and_audience(claims, issuer, audience, defects);
        }
        if defects.has(Defect::SignatureUnchecked) {
            let claims: AccessClaims = jsonwebtoken::dangerous::insecure_decode_claims(token)
                .map_err(|_| TokenRejection::Malformed)?;
            if claims.exp.has_passed() && !defects.has(Defect::ExpiredTokenAccepted) {
                return Err(TokenRejection::Expired);
            }
            return check_issuer_and_audience(claims, issuer, audience, defects);
        }
        // Three base64url parts, the header a JSON object naming a known algorithm.
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Malformed)?;
        // RS-05: only our own algorithm and key; `alg: none` never parses as an Algorithm.
        if header.alg != Algorithm::ES256 || header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(TokenRejection::BadSignature);
        }
        if !header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        }) {
            return Err(TokenRejection::WrongType);
        }
        // RS-05: the signature, over `header.claims` (once for the same bytes).
        let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenRejection::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenRejection::Malformed)?;
        if !self.known_good(token) {
            self.public
                .verify(signing_input.as_bytes(), &signature)
                .map_err(|_| TokenRejection::BadSignature)?;
            self.remember_good(token);
        }
        // The claims an access token must have (`exp`, `iss`, `aud`, `sub` among them).
        let claims: AccessClaims = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| TokenRejection::Malformed)?;
        // RS-06: an expired token is refused, with no leeway: `exp` is the first second at
        // which it is refused (RFC 7519 §4.1.4, "on or after").
        if claims.exp.has_passed() && !defects.has(Defect::ExpiredTokenAccepted) {
            return Err(TokenRejection::Expired);
        }
        check_issuer_and_audience(claims, issuer, audience, defects)
    }
}

fn check_issuer_and_audience(
    claims: AccessClaims,
    issuer: &str,
    audience: &str,
    defects: &Defects,
) -> Result<AccessClaims, TokenRejection> {
    if claims.iss != issuer {
        return Err(TokenRejection::WrongIssuer);
    }
    // RS-07: the audience must be exactly this resource.
    if !claims.aud.names(audience) && !defects.has(Defect::AudienceNotChecked) {
        return Err(TokenRejection::WrongAudience);
    }
    Ok(claims)
}

/// The claims of an unsigned (`alg: none`) JWT; only the `alg-none-accepted` defect reads them.
fn unsigned_claims(token: &str) -> Option<AccessClaims> {
    let header = token.split('.').next()?;
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if !header.get("alg")?.as_str()?.eq_ignore_ascii_case("none") {
        return None;
    }
    jsonwebtoken::dangerous::insecure_decode_claims(token).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn pkce_grammar() {
        assert!(is_pkce_string(&"a".repeat(43)));
        assert!(is_pkce_string(&"a~._-".repeat(26)[..128]));
        assert!(!is_pkce_string(&"a".repeat(42)));
        assert!(!is_pkce_string(&"a".repeat(129)));
        assert!(!is_pkce_string(&format!("{}+", "a".repeat(43))));
        assert!(!is_pkce_string(&format!("{}=", "a".repeat(43))));
    }

    fn claims(aud: &str, exp_offset: i64) -> AccessClaims {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        AccessClaims {
            iss: "http://127.0.0.1:1".into(),
            sub: "alice".into(),
            aud: aud.into(),
            client_id: "c".into(),
            scope: "mcp:read".into(),
            exp: NumericDate::whole((now + exp_offset) as u64),
            iat: now as u64,
            jti: "j".into(),
        }
    }

    /// A token once verified (or signed here) is not verified again, but only those exact
    /// bytes: any change to a known-good token is still checked, however often the original
    /// was presented.
    #[test]
    fn a_known_good_token_spares_no_other_bytes_the_signature_check() {
        let s = Signer::generate().unwrap();
        let (iss, aud) = ("http://127.0.0.1:1", "http://127.0.0.1:1/mcp");
        let t = s.sign(&claims(aud, 60)).unwrap();
        for _ in 0..3 {
            assert!(s.verify(&t, iss, aud).is_ok());
        }
        let (input, sig) = t.rsplit_once('.').unwrap();
        let flip = |c: char| if c == 'A' { "B" } else { "A" };
        let last = sig.chars().last().unwrap();
        let bad_sig = format!("{input}.{}{}", &sig[..sig.len() - 1], flip(last));
        assert_eq!(
            s.verify(&bad_sig, iss, aud),
            Err(TokenRejection::BadSignature)
        );
        // Another payload under the known-good signature.
        let other = s.sign(&claims(aud, 120)).unwrap();
        let (other_input, _) = other.rsplit_once('.').unwrap();
        let spliced = format!("{other_input}.{sig}");
        assert_eq!(
            s.verify(&spliced, iss, aud),
            Err(TokenRejection::BadSignature)
        );
        // Filling the memory past its bound empties it; tokens still verify.
        for _ in 0..=KNOWN_GOOD {
            s.remember_good(&format!("{}", rand::random::<u64>()));
        }
        assert!(s.verify(&t, iss, aud).is_ok());
        assert!(s.verify(&other, iss, aud).is_ok());
    }

    #[test]
    fn signed_tokens_verify_only_for_their_audience_and_until_expiry() {
        let s = Signer::generate().unwrap();
        let t = s.sign(&claims("http://127.0.0.1:1/mcp", 60)).unwrap();
        assert!(
            s.verify(&t, "http://127.0.0.1:1", "http://127.0.0.1:1/mcp")
                .is_ok()
        );
        assert_eq!(
            s.verify(&t, "http://127.0.0.1:1", "http://127.0.0.1:1/alt/mcp"),
            Err(TokenRejection::WrongAudience)
        );
        assert_eq!(
            s.verify(&t, "http://127.0.0.1:2", "http://127.0.0.1:1/mcp"),
            Err(TokenRejection::WrongIssuer)
        );
        let expired = s.sign(&claims("http://127.0.0.1:1/mcp", -5)).unwrap();
        assert_eq!(
            s.verify(&expired, "http://127.0.0.1:1", "http://127.0.0.1:1/mcp"),
            Err(TokenRejection::Expired)
        );
    }

    /// The tokens are what a JWT library writes and reads: the same header bytes, and each
    /// side's signature verifies with the other's key.
    #[test]
    fn tokens_match_a_jwt_library_byte_for_byte_in_the_header_and_both_ways_in_the_signature() {
        use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let ours = Signer::from_pkcs8(pkcs8.as_ref(), rng).unwrap();
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("at+jwt".into());
        header.kid = Some(ours.kid.clone());
        let c = claims("http://127.0.0.1:1/mcp", 60);
        let theirs =
            jsonwebtoken::encode(&header, &c, &EncodingKey::from_ec_der(pkcs8.as_ref())).unwrap();
        let mine = ours.sign(&c).unwrap();
        let parts = |t: &str| t.split('.').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(parts(&mine)[..2], parts(&theirs)[..2]);
        assert_eq!(
            ours.verify(&theirs, "http://127.0.0.1:1", "http://127.0.0.1:1/mcp"),
            Ok(c.clone())
        );
        let x = ours.jwk["x"].as_str().unwrap();
        let y = ours.jwk["y"].as_str().unwrap();
        let mut v = Validation::new(Algorithm::ES256);
        v.validate_aud = false;
        let decoded = jsonwebtoken::decode::<AccessClaims>(
            &mine,
            &DecodingKey::from_ec_components(x, y).unwrap(),
            &v,
        )
        .unwrap();
        assert_eq!(decoded.claims, c);
    }

    #[test]
    fn tampered_tokens_are_refused_for_their_reason() {
        let s = Signer::generate().unwrap();
        let t = s.sign(&claims("a", 60)).unwrap();
        let verify = |t: &str| s.verify(t, "http://127.0.0.1:1", "a");
        let (input, sig) = t.rsplit_once('.').unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
        raw[10] ^= 1;
        let flipped = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&raw));
        assert_eq!(verify(&flipped), Err(TokenRejection::BadSignature));
        assert_eq!(
            verify(&format!("{input}.")),
            Err(TokenRejection::BadSignature)
        );
        assert_eq!(
            verify(&format!("{input}.!!")),
            Err(TokenRejection::Malformed)
        );
        assert_eq!(verify(input), Err(TokenRejection::Malformed));
        assert_eq!(verify("not a jwt"), Err(TokenRejection::Malformed));
        let (header, _) = input.split_once('.').unwrap();
        let other = URL_SAFE_NO_PAD.encode(br#"{"iss":"http://127.0.0.1:1"}"#);
        assert_eq!(
            verify(&format!("{header}.{other}.{sig}")),
            Err(TokenRejection::BadSignature)
        );
        let untyped = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"ES256","kid":"{}"}}"#, s.kid));
        assert_eq!(
            verify(&format!("{untyped}.{}", t.split_once('.').unwrap().1)),
            Err(TokenRejection::WrongType)
        );
    }

    #[test]
    fn foreign_keys_and_alg_none_are_refused() {
        let ours = Signer::generate().unwrap();
        let theirs = Signer::generate().unwrap();
        let t = theirs.sign(&claims("a", 60)).unwrap();
        assert!(ours.verify(&t, "http://127.0.0.1:1", "a").is_err());
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims("a", 60)).unwrap());
        let none = format!("{header}.{body}.");
        assert!(ours.verify(&none, "http://127.0.0.1:1", "a").is_err());
    }
}
