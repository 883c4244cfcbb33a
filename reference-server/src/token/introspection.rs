//! The RFC 7662 introspection endpoint, advertised with the `opaque-access-tokens` variant, and
//! the lookup of an access token that revocation shares.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use super::client_auth::revoking_client;
use super::issue::token_response;
use super::{form_params, one};
use crate::crypto::AccessClaims;
use crate::error::{LimitedBody, OAuthError};
use crate::state::SharedState;

/// The claims of an access token this server issued for one of its resources: an opaque
/// token's entry, or a JWT that verifies. Revocation is not judged here.
pub(super) async fn access_token_claims(
    state: &SharedState,
    token: &str,
) -> Result<Option<AccessClaims>, OAuthError> {
    if let Some(c) = state.store.opaque_claims(token).await? {
        return Ok(Some(c));
    }
    Ok([state.urls.mcp(), state.urls.mcp_alt()]
        .iter()
        .find_map(|aud| state.signer.verify(token, &state.urls.issuer, aud).ok()))
}

/// RFC 7662 §2: the caller authenticates (§2.1: the endpoint MUST require authorization); the
/// answer says whether the token is active and, if it is, what it grants. A token that is
/// unknown, expired or revoked is `{"active": false}` and nothing more (§2.2).
pub async fn introspect(
    State(state): State<SharedState>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Response, OAuthError> {
    let params = form_params(&headers, &body)?;
    revoking_client(&state, &headers, &params).await?;
    let Some(token) = one(&params, "token") else {
        return Err(OAuthError::invalid_request("token is missing"));
    };
    let active = match access_token_claims(&state, token).await? {
        Some(c) if !c.exp.has_passed() && !state.access_token_revoked(&c.jti).await? => Some(c),
        _ => None,
    };
    let answer = match active {
        Some(c) => json!({
            "active": true,
            "scope": c.scope,
            "client_id": c.client_id,
            "sub": c.sub,
            "aud": c.aud,
            "iss": c.iss,
            // RFC 7662 §2.2: an integer.
            "exp": c.exp.whole_secs(),
            "iat": c.iat,
            "token_type": "Bearer",
        }),
        None => json!({ "active": false }),
    };
    Ok(token_response(&state, None, answer))
}
