//! The MCP endpoints as OAuth protected resources (RS-01..16, PRM-01..04, SCOPE-01..05).
//!
//! Every request is authenticated on its own, session or not (RS-01): the bearer token is taken
//! from the `Authorization` header only (RS-09), verified (RS-04..07, RS-12), and only then is
//! the MCP request handled.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::SharedState;
use crate::config::SCOPE_READ;
use crate::mcp::{self, McpOutcome, Principal};
use crate::urls::{MCP_ALT_PATH, MCP_PATH};

/// What the `Authorization` header holds.
enum Presented<'a> {
    /// No bearer credentials at all (no header, or another scheme such as Basic).
    Nothing,
    /// `Bearer` with an empty token, or several `Authorization` headers.
    Malformed(&'static str),
    Token(&'a str),
}

fn presented(headers: &HeaderMap) -> Presented<'_> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(first) = values.next() else {
        return Presented::Nothing;
    };
    if values.next().is_some() {
        return Presented::Malformed("more than one Authorization header");
    }
    let Ok(v) = first.to_str() else {
        return Presented::Malformed("the Authorization header is not ASCII");
    };
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    // RS-03: the scheme is case-insensitive.
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Presented::Nothing;
    }
    match rest.trim() {
        "" => Presented::Malformed("the bearer token is empty"),
        t => Presented::Token(t),
    }
}

/// Builds `WWW-Authenticate: Bearer …` (PRM-02, PRM-03, RS-15, SCOPE-01, SCOPE-03).
fn challenge(
    state: &SharedState,
    resource_path: &str,
    status: StatusCode,
    scope: &str,
    error: Option<(&str, &str)>,
) -> Response {
    let mut params = Vec::new();
    if state.urls.layout.publishes_prm() {
        params.push(format!(
            "resource_metadata=\"{}\"",
            state.urls.prm(resource_path)
        ));
    } else {
        params.push("realm=\"mcp\"".to_string());
    }
    params.push(format!("scope=\"{scope}\""));
    // PRM-04: a request without credentials gets no error code.
    if let Some((code, description)) = error {
        params.push(format!("error=\"{code}\""));
        params.push(format!("error_description=\"{description}\""));
    }
    let value = format!("Bearer {}", params.join(", "));
    let body = match error {
        Some((code, description)) => {
            serde_json::json!({"error": code, "error_description": description})
        }
        None => {
            serde_json::json!({"error": "unauthorized", "error_description": "authorization required"})
        }
    };
    let mut resp = (status, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

pub async fn mcp_primary(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(&state, MCP_PATH, &method, &headers, &body)
}

pub async fn mcp_alt(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(&state, MCP_ALT_PATH, &method, &headers, &body)
}

fn serve(
    state: &SharedState,
    path: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let resource = format!("{}{path}", state.urls.mcp_origin);
    let token = match presented(headers) {
        // PRM-01, RS-01: every request needs a token.
        Presented::Nothing => {
            return challenge(state, path, StatusCode::UNAUTHORIZED, SCOPE_READ, None);
        }
        Presented::Malformed(why) => {
            return challenge(
                state,
                path,
                StatusCode::BAD_REQUEST,
                SCOPE_READ,
                Some(("invalid_request", why)),
            );
        }
        Presented::Token(t) => t,
    };
    // RS-04..07: signature, type, issuer, audience (this exact resource), expiry.
    let claims = match state.signer.verify(token, &state.urls.issuer, &resource) {
        Ok(c) => c,
        Err(why) => {
            tracing::info!(reason = %why, "bearer token refused");
            return challenge(
                state,
                path,
                StatusCode::UNAUTHORIZED,
                SCOPE_READ,
                Some(("invalid_token", &why.to_string())),
            );
        }
    };
    // RS-12: revoked by code replay, refresh reuse or RFC 7009.
    if state.store.lock().access_token_revoked(&claims.jti) {
        return challenge(
            state,
            path,
            StatusCode::UNAUTHORIZED,
            SCOPE_READ,
            Some(("invalid_token", "the token has been revoked")),
        );
    }
    let scopes: Vec<String> = claims.scopes().map(str::to_owned).collect();
    // RS-13: reading needs mcp:read.
    if !scopes.iter().any(|s| s == SCOPE_READ) {
        return challenge(
            state,
            path,
            StatusCode::FORBIDDEN,
            SCOPE_READ,
            Some((
                "insufficient_scope",
                "this request needs the mcp:read scope",
            )),
        );
    }
    let principal = Principal {
        subject: claims.sub,
        client_id: claims.client_id,
        scopes,
    };
    match mcp::handle(
        &state.mcp_sessions,
        &resource,
        &principal,
        method,
        headers,
        body,
    ) {
        McpOutcome::Response(r) => r,
        // SCOPE-03, SCOPE-04: 403 naming every scope needed, including those already granted.
        McpOutcome::InsufficientScope { required } => challenge(
            state,
            path,
            StatusCode::FORBIDDEN,
            &required.join(" "),
            Some(("insufficient_scope", "this operation needs more scope")),
        ),
    }
}
