//! The token endpoint (TOK-*, and the grants' CODE-*, PKCE-*, REFRESH-*, RES-06) and the RFC
//! 7009 revocation endpoint ([`revoke`]), and the RFC 7662 introspection endpoint
//! ([`introspect`]) of the `opaque-access-tokens` variant.
//!
//! A token request is one ordered list of checks, read top to bottom in `handle`: the
//! request's shape, the grant type, client authentication (`client_auth`), whether the client
//! may use the grant, then the grant's own checks (`code`, `refresh`,
//! `client_credentials`). Each grant's single use and rotation are atomic: under the memory
//! store's lock, or as one Redis operation with the shared store; the access token is signed
//! after.

mod client_auth;
mod client_credentials;
mod code;
mod introspection;
mod issue;
mod refresh;
mod revocation;

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use self::introspection::introspect;
use self::issue::token_response;
pub use self::revocation::revoke;
use crate::defects::Defect;
use crate::error::{ErrorCode, LimitedBody, OAuthError};
use crate::params::Params;
use crate::protocol::GrantType;
use crate::state::SharedState;
use crate::store::Client;
use crate::variants::offered;

/// The parameters the token endpoint reads; any other is ignored (CODE-10).
const TOKEN_PARAMS: [&str; 9] = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "client_id",
    "client_secret",
    "refresh_token",
    "scope",
    "resource",
];

/// POST on the token endpoint.
pub async fn token(
    State(state): State<SharedState>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Response {
    let result = match form_params(&headers, &body) {
        Ok(params) => handle(&state, &headers, &body, params).await,
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| error_response(&state, e))
}

/// TOK-11: the token endpoint takes POST only (with the `token-get-accepted` defect, a GET
/// with the parameters in its query is served as a token request).
pub async fn wrong_method(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if method == Method::GET && state.defect(Defect::TokenGetAccepted) {
        let raw = query.unwrap_or_default();
        let params = Params::parse(raw.as_bytes());
        return handle(&state, &headers, raw.as_bytes(), params)
            .await
            .unwrap_or_else(|e| error_response(&state, e));
    }
    let mut resp = OAuthError::invalid_request("the token endpoint accepts POST only")
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
        .into_response();
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    resp
}

/// The token request's checks, in order.
async fn handle(
    state: &SharedState,
    headers: &HeaderMap,
    raw: &[u8],
    params: Params,
) -> Result<Response, OAuthError> {
    let params = check_no_repeated_parameter(state, raw, params)?; // TOK-04
    check_unknown_parameters(state, raw)?; // CODE-10
    check_empty_grant_type(state, raw)?; // TOK-05
    let grant_type = check_grant_type(state, &params)?; // TOK-02, TOK-03
    let client = client_auth::client_of(state, headers, &params, grant_type).await?; // TOK-06..08, TOK-10, CODE-09, REFRESH-08
    check_client_grant(state, &client, grant_type)?; // TOK-09
    racy_single_use_check(state, grant_type, &params).await?;
    // Each grant's checks are atomic with its single use; the access token is signed after.
    let issued = match grant_type {
        GrantType::AuthorizationCode => code::redeem(state, &client, &params).await?,
        GrantType::RefreshToken => refresh::refresh(state, &client, &params).await?,
        GrantType::ClientCredentials => {
            client_credentials::client_credentials(state, &client, &params).await?
        }
    };
    let body = issued.into_body(state)?;
    Ok(token_response(state, Some(grant_type), body))
}

/// The parameters of a form-encoded request body.
fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the request must be application/x-www-form-urlencoded",
        ));
    }
    Ok(Params::parse(body))
}

/// TOK-01: errors are JSON (with the `token-error-wrong-content-type` defect, labelled as text),
/// and 400 but for `invalid_client` (with the `token-error-status-401` defect, 401 for all).
fn error_response(state: &SharedState, e: OAuthError) -> Response {
    let mut resp = e.into_response();
    if state.defect(Defect::TokenErrorStatus401) {
        *resp.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
    }
    if state.defect(Defect::TokenErrorWrongContentType) {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    resp
}

/// The value of a parameter (a repeated one has been refused before it is read, TOK-04).
fn one<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.one(name).ok().flatten()
}

/// TOK-04: no parameter may repeat (except `resource`, RFC 8707 §2). Returns the parameters to
/// read, which the `repeated-token-param-accepted` defect takes from each one's first value.
fn check_no_repeated_parameter(
    state: &SharedState,
    raw: &[u8],
    params: Params,
) -> Result<Params, OAuthError> {
    let params = if state.defect(Defect::RepeatedTokenParamAccepted) {
        first_values(raw)
    } else {
        params
    };
    if let Some(rep) = params.first_repeated(&["resource"]) {
        return Err(OAuthError::invalid_request(format!(
            "parameter {} was sent more than once",
            rep.0
        )));
    }
    Ok(params)
}

/// Only for the `repeated-token-param-accepted` defect: the first value of each parameter.
fn first_values(raw: &[u8]) -> Params {
    let mut seen: Vec<String> = Vec::new();
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(raw) {
        if k == "resource" || !seen.iter().any(|s| *s == k) {
            seen.push(k.to_string());
            kept.append_pair(&k, &v);
        }
    }
    Params::parse(kept.finish().as_bytes())
}

/// CODE-10: a parameter the endpoint does not know is ignored.
fn check_unknown_parameters(state: &SharedState, raw: &[u8]) -> Result<(), OAuthError> {
    if state.defect(Defect::TokenUnknownParamRefused)
        && let Some((name, _)) =
            url::form_urlencoded::parse(raw).find(|(k, _)| !TOKEN_PARAMS.contains(&k.as_ref()))
    {
        return Err(OAuthError::invalid_request(format!(
            "unknown parameter {name}"
        )));
    }
    Ok(())
}

/// TOK-05: an empty grant_type counts as absent (`Params` drops empty values).
fn check_empty_grant_type(state: &SharedState, raw: &[u8]) -> Result<(), OAuthError> {
    if state.defect(Defect::EmptyTokenParamKept)
        && url::form_urlencoded::parse(raw).any(|(k, v)| k == "grant_type" && v.is_empty())
    {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "unsupported grant_type \"\"",
        ));
    }
    Ok(())
}

/// TOK-02: `grant_type` is required; TOK-03: one this server does not serve (or does not offer,
/// with the `no-*` variants) gets `unsupported_grant_type`.
fn check_grant_type(state: &SharedState, params: &Params) -> Result<GrantType, OAuthError> {
    let sent = one(params, "grant_type");
    let served = sent
        .and_then(GrantType::parse)
        .filter(|g| offered::grant_offered(state, *g));
    match (sent, served) {
        (_, Some(grant)) => Ok(grant),
        (None, _) if state.defect(Defect::GrantTypeDefaulted) => Ok(GrantType::AuthorizationCode),
        (None, _) => Err(OAuthError::invalid_request("grant_type is missing")),
        (Some(_), None) if state.defect(Defect::UnsupportedGrantAsInvalidRequest) => {
            Err(OAuthError::invalid_request("invalid grant_type"))
        }
        (Some(_), None) => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "unsupported grant_type",
        )),
    }
}

/// TOK-09: client_credentials is for confidential clients only; and every client uses only the
/// grants it registered (`unauthorized_client`).
fn check_client_grant(
    state: &SharedState,
    client: &Client,
    grant_type: GrantType,
) -> Result<(), OAuthError> {
    let public_client_credentials =
        grant_type == GrantType::ClientCredentials && !client.is_confidential();
    if public_client_credentials && !state.defect(Defect::ClientCredentialsForPublicClients) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "client_credentials is for confidential clients",
        ));
    }
    if !client.allows_grant(grant_type) && !public_client_credentials {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is not registered for that grant type",
        ));
    }
    Ok(())
}

/// The `code-single-use-race` and `refresh-single-use-race` defects: single use is checked
/// here, then the request pauses, and the redemption that follows no longer checks it. Without
/// those defects this does nothing: single use is checked atomically with the redemption
/// (CODE-02, REFRESH-02).
async fn racy_single_use_check(
    state: &SharedState,
    grant_type: GrantType,
    params: &Params,
) -> Result<(), OAuthError> {
    let used_grant = match grant_type {
        GrantType::AuthorizationCode if state.defect(Defect::CodeSingleUseRace) => {
            match one(params, "code") {
                Some(c) => state.store.code(c).await?.map(|e| e.redeemed_grant),
                None => None,
            }
        }
        GrantType::RefreshToken if state.defect(Defect::RefreshSingleUseRace) => {
            match one(params, "refresh_token") {
                Some(r) => state
                    .store
                    .refresh_token(r)
                    .await?
                    .map(|(e, _)| e.rotated.then_some(e.grant_id)),
                None => None,
            }
        }
        _ => return Ok(()),
    };
    if let Some(Some(grant_id)) = used_grant {
        state.store.revoke_grant(&grant_id).await?;
        return Err(OAuthError::invalid_grant("the grant has already been used"));
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_values_keeps_one_value_per_parameter_but_every_resource() {
        let p = first_values(
            b"grant_type=authorization_code&grant_type=refresh_token&resource=a&resource=b",
        );
        assert_eq!(p.one("grant_type"), Ok(Some("authorization_code")));
        assert_eq!(p.all("resource").len(), 2);
        assert_eq!(p.first_repeated(&["resource"]), None);
    }
}
