//! Forged and altered access tokens for RS-05. Each forgery is named after what it breaks.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::redact::Secret;

/// The forgeries RS-05 presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgery {
    /// An unsigned JWT (`alg: none`).
    AlgNone,
    /// A JWT signed with a key the harness generated, whose `kid` is not in the AS's JWKS.
    ForeignKey,
    /// A real token whose payload was edited, signature kept.
    EditedPayload,
}

impl std::str::FromStr for Forgery {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "alg none" => Ok(Forgery::AlgNone),
            "a foreign key" => Ok(Forgery::ForeignKey),
            "an edited payload" => Ok(Forgery::EditedPayload),
            other => Err(format!("unknown forgery '{other}'")),
        }
    }
}

/// Claims a forged token carries: the right issuer and audience and a future expiry, so only
/// the signature can give it away.
pub fn plausible_claims(issuer: &str, audience: &str, scope: Option<&str>) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    json!({
        "iss": issuer,
        "aud": audience,
        "sub": "mcp-oauth-conformance-forged",
        "client_id": "mcp-oauth-conformance-forged",
        "scope": scope.unwrap_or(""),
        "iat": now,
        "exp": now + 600,
        "jti": super::oauth::random_state(),
    })
}

/// `alg: none`, no signature.
pub fn alg_none(claims: &Value) -> Secret {
    let header = json!({"alg": "none", "typ": "at+jwt"});
    Secret::new(format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    ))
}

/// ES256 with a fresh key of the harness's own.
pub fn foreign_key(claims: &Value) -> Result<Secret, String> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &rng,
    )
    .map_err(|_| "cannot generate an ES256 key".to_string())?;
    let key = jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("mcp-oauth-conformance-foreign".into());
    jsonwebtoken::encode(&header, claims, &key)
        .map(Secret::new)
        .map_err(|e| format!("cannot sign the forged token: {e}"))
}

/// A real JWT with its payload edited (a different subject and a later expiry) and its
/// signature kept. `None` when the token is not a JWT.
pub fn edited_payload(token: &Secret) -> Option<Secret> {
    let parts: Vec<&str> = token.expose().split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return None;
    };
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let obj = claims.as_object_mut()?;
    obj.insert("sub".into(), json!("mcp-oauth-conformance-edited"));
    // A later expiry, whole seconds or with a fraction (a NumericDate, RFC 7519 §2).
    let later = match obj.get("exp") {
        Some(exp) => exp
            .as_u64()
            .map(|e| json!(e + 3600))
            .or_else(|| exp.as_f64().map(|e| json!(e + 3600.0))),
        None => None,
    };
    if let Some(later) = later {
        obj.insert("exp".into(), later);
    }
    Some(Secret::new(format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )))
}

/// The claims of a JWT access token, read without verifying anything: what the token says of
/// itself (RFC 9068 §2.2). `None` when the token is not a JWT with a JSON object payload.
pub fn unverified_claims(token: &str) -> Option<serde_json::Map<String, Value>> {
    let parts: Vec<&str> = token.split('.').collect();
    let [_, payload, _] = parts.as_slice() else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgeries_have_the_named_defect() {
        let claims = plausible_claims("https://as", "https://rs/mcp", Some("read"));
        let none = alg_none(&claims);
        let parts: Vec<&str> = none.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        assert!(parts[2].is_empty());
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header["alg"], "none");

        let foreign = foreign_key(&claims).expect("signs");
        let header = jsonwebtoken::decode_header(foreign.expose()).expect("header");
        assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);

        let edited = edited_payload(&foreign).expect("a JWT");
        let (a, b): (Vec<&str>, Vec<&str>) = (
            foreign.expose().split('.').collect(),
            edited.expose().split('.').collect(),
        );
        assert_eq!(a[0], b[0]);
        assert_eq!(a[2], b[2]);
        assert_ne!(a[1], b[1]);
        assert!(edited_payload(&Secret::new("opaque-token")).is_none());

        // The expiry moves an hour later, whole or with a fraction.
        let exp_of = |t: &Secret| unverified_claims(t.expose()).and_then(|c| c.get("exp").cloned());
        let jwt = |claims: &str| {
            Secret::new(format!(
                "{}.{}.sig",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#),
                URL_SAFE_NO_PAD.encode(claims)
            ))
        };
        let whole = edited_payload(&jwt(r#"{"sub":"a","exp":1800000000}"#)).expect("a JWT");
        assert_eq!(exp_of(&whole), Some(json!(1800003600u64)));
        let fraction = edited_payload(&jwt(r#"{"sub":"a","exp":1800000000.5}"#)).expect("a JWT");
        assert_eq!(exp_of(&fraction), Some(json!(1800003600.5)));
    }

    #[test]
    fn unverified_claims_read_a_jwt_payload_only() {
        let claims = plausible_claims("https://as", "https://rs/mcp", Some("read"));
        let token = alg_none(&claims);
        let read = unverified_claims(token.expose()).expect("a JWT");
        assert_eq!(read.get("scope"), Some(&json!("read")));
        assert!(unverified_claims("opaque-token").is_none());
        assert!(unverified_claims("a.bm90IGpzb24.c").is_none());
    }
}
