//! The authorization endpoint (AUTHZ-*), login and consent.
//!
//! The endpoint is one ordered list of checks, read top to bottom in [`authorize`] and
//! `check_request`: the client and its redirect URI first, whose failures are shown on a page
//! and never redirected (AUTHZ-04); then the request itself (repeated and unknown parameters,
//! response type, PKCE, scope, resource), whose failures go back to the redirect URI with
//! `state` and `iss`. A request that passes goes on to login and consent (`consent`).

mod checks;
mod consent;
mod redirect;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

pub use self::checks::redirect_matches;
use self::checks::{
    AuthorizationRequest, check_client, check_code_grant, check_no_repeated_parameter,
    check_redirect_uri, check_requested_scope, check_response_type, check_unknown_parameters,
};
pub use self::consent::{
    SIGNED_IN_ROUTE, consent_decision, consent_page, login, login_form, signed_in_page,
};
use self::redirect::Redirect;
use crate::crypto;
use crate::defects::Defect;
use crate::error::OAuthError;
use crate::pkce;
use crate::protocol::{self, GrantType};
use crate::resource_binding::check_resource;
use crate::state::SharedState;
use crate::store::{Client, PendingAuthorization};
use crate::variants::offered;

/// GET on the authorization endpoint.
pub async fn authorize(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    // AUTHZ-01: GET is supported (it is the only method: POST is optional).
    if state.defect(Defect::AuthorizeGetUnsupported) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, HeaderValue::from_static("POST"))],
        )
            .into_response();
    }
    let mut resp = authorize_checked(&state, &headers, query.as_deref().unwrap_or("")).await;
    // AUTHZ-10: no CORS at the authorization endpoint; the defect echoes the Origin.
    if state.defect(Defect::AuthorizeCors)
        && let Some(origin) = headers.get(header::ORIGIN)
    {
        resp.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
    resp
}

async fn authorize_checked(state: &SharedState, headers: &HeaderMap, query: &str) -> Response {
    let req = AuthorizationRequest::parse(state, query);

    // Never redirected on failure (AUTHZ-04): the client, then its redirect URI.
    let client = match check_client(state, &req).await {
        Ok(c) => c,
        Err(page) => return *page,
    };
    let target = match check_redirect_uri(state, &req, &client) {
        Ok(t) => t,
        Err(page) => return *page,
    };

    // From here on, errors are redirected with `state` and `iss`.
    let redirect = Redirect::new(state, target.uri.clone(), req.state());
    let mode = |is_error| {
        offered::response_mode(
            state,
            req.one("response_type"),
            req.one("response_mode"),
            is_error,
        )
    };
    match check_request(state, &req, &client) {
        Err(e) => redirect.in_mode(mode(true)).error(e),
        Ok(checked) => {
            let all_redirects_loopback = client
                .redirect_uris
                .iter()
                .all(|r| Url::parse(r).is_ok_and(|u| protocol::is_loopback_host(&u)));
            let pending = PendingAuthorization {
                client_id: client.client_id.clone(),
                client_name: client.client_name.clone(),
                redirect_uri: target.uri,
                redirect_uri_sent: target.sent,
                all_redirects_loopback,
                state: req.state(),
                response_mode: mode(false),
                code_challenge: checked.code_challenge,
                scope: checked.scope,
                scope_defaulted: req.one("scope").is_none(),
                resource: checked.resource,
                refresh_allowed: client.allows_grant(GrantType::RefreshToken),
                subject: None,
                csrf: crypto::random_token(24),
                session: None,
            };
            consent::begin_login(state, headers, pending).await
        }
    }
}

/// What the checks let through, to bind to the code.
struct CheckedRequest {
    /// Empty only where a defect switched PKCE off.
    code_challenge: String,
    scope: Vec<String>,
    resource: String,
}

/// The checks whose failures are redirected, in order.
fn check_request(
    state: &SharedState,
    req: &AuthorizationRequest<'_>,
    client: &Client,
) -> Result<CheckedRequest, OAuthError> {
    check_no_repeated_parameter(req)?; // AUTHZ-07
    check_unknown_parameters(state, req)?; // AUTHZ-09
    check_response_type(state, req)?; // AUTHZ-05, AUTHZ-06
    check_code_grant(client)?;
    let code_challenge = pkce::check_challenge(
        state,
        req.one("code_challenge"),
        req.one("code_challenge_method"),
        req.sent_empty("code_challenge"),
    )?; // PKCE-01, PKCE-03, PKCE-04, PKCE-05, PKCE-11
    let scope = check_requested_scope(state, req)?; // SCOPE-08
    let resource = check_resource(state, req.params.all("resource"))?; // RES-02..05, RES-07
    Ok(CheckedRequest {
        code_challenge: code_challenge.unwrap_or_default(),
        scope,
        resource,
    })
}
