//! The RFC 7009 revocation endpoint.

use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use super::client_auth::revoking_client;
use super::introspection::access_token_claims;
use super::issue::token_response;
use super::{form_params, one};
use crate::defects::Defect;
use crate::error::{ErrorCode, LimitedBody, OAuthError};
use crate::state::SharedState;
use crate::variants::Variant;

/// A refresh token revokes its grant; an access token is added to the revocation list. Only the
/// client a token was issued to can revoke it. Unknown tokens are not an error (RFC 7009 §2.2).
pub async fn revoke(
    State(state): State<SharedState>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Response, OAuthError> {
    let params = form_params(&headers, &body)?;
    let client = revoking_client(&state, &headers, &params).await?;
    let Some(token) = one(&params, "token") else {
        return Err(OAuthError::invalid_request("token is missing"));
    };
    if let Some((entry, grant)) = state.store.refresh_token(token).await? {
        if grant.client_id == client.client_id {
            state.store.revoke_grant(&entry.grant_id).await?;
        }
    } else if let Some(c) = access_token_claims(&state, token).await? {
        // RFC 7009 §2.2.1: a server that revokes refresh tokens only says so.
        if state.variant(Variant::RevocationUnsupportedTokenType) {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedTokenType,
                "this server revokes refresh tokens only",
            ));
        }
        // RS-12: the `revocation-ignored` defect answers 200 and revokes nothing.
        if c.client_id == client.client_id && !state.defect(Defect::RevocationIgnored) {
            let ttl = Duration::from_secs(
                c.exp.whole_secs().saturating_sub(crate::clock::now_secs()) + 1,
            );
            state.store.revoke_access_token(&c.jti, ttl).await?;
        }
    }
    Ok(token_response(&state, None, json!({})))
}
