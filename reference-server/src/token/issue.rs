//! Issuing tokens within a grant, and the successful token response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::crypto::{self, AccessClaims};
use crate::defects::Defect;
use crate::error::OAuthError;
use crate::protocol::GrantType;
use crate::state::SharedState;
use crate::store::{RefreshEntry, Tables};

/// Mints an access token (and, when allowed, a new refresh token) within a grant.
pub(super) fn issue(
    state: &SharedState,
    t: &mut Tables,
    grant_id: &str,
    scope: &[String],
    with_refresh: bool,
) -> Result<Value, OAuthError> {
    let Some(grant) = t.grants.get(grant_id).cloned() else {
        return Err(OAuthError::server_error());
    };
    // SCOPE-06: with the `granted-scope-unstated` defect the grant is narrowed unannounced.
    let unstated = state.defect(Defect::GrantedScopeUnstated) && scope.len() > 1;
    let scope = if unstated { &scope[..1] } else { scope };
    let now = crate::clock::now_secs();
    let ttl = state.config.access_token_ttl.as_secs().max(1);
    let jti = crypto::random_token(16);
    let claims = AccessClaims {
        iss: state.urls.issuer.clone(),
        sub: grant.subject.clone(),
        aud: grant.resource.clone(),
        client_id: grant.client_id.clone(),
        scope: scope.join(" "),
        exp: now + ttl,
        iat: now,
        jti: jti.clone(),
    };
    let access_token = state.signer.sign(&claims).map_err(|e| {
        tracing::error!(error = %e, "signing failed");
        OAuthError::server_error()
    })?;
    if let Some(g) = t.grants.get_mut(grant_id) {
        g.access_tokens.push((jti, now + ttl));
    }
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl,
        // SCOPE-06: the granted scope is always stated.
        "scope": scope.join(" "),
    });
    if unstated && let Some(obj) = body.as_object_mut() {
        obj.remove("scope");
    }
    if with_refresh {
        // REFRESH-11: 256 random bits (4 bytes with the `refresh-token-guessable` defect).
        let bytes = if state.defect(Defect::RefreshTokenGuessable) {
            4
        } else {
            32
        };
        let rt = crypto::random_token(bytes);
        t.refresh_tokens.insert(
            rt.clone(),
            RefreshEntry {
                grant_id: grant_id.to_string(),
                rotated: false,
            },
            state.config.refresh_token_ttl,
        )?;
        body["refresh_token"] = json!(rt);
    }
    Ok(body)
}

/// A successful token response. CODE-01: never cached; REFRESH-09: a refresh's neither.
pub(super) fn token_response(
    state: &SharedState,
    grant_type: Option<GrantType>,
    body: Value,
) -> Response {
    let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
    if state.defect(Defect::TokenCacheControlMissing)
        || (grant_type == Some(GrantType::RefreshToken)
            && state.defect(Defect::RefreshCacheControlMissing))
    {
        return resp;
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}
