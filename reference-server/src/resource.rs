//! The MCP endpoints as OAuth protected resources (RS-01..16, PRM-01..04, SCOPE-01..05, 09, 10).
//!
//! Every request is authenticated on its own, session or not (RS-01): the bearer token is taken
//! from the `Authorization` header only (RS-09), verified (RS-04..07, RS-12), and only then is
//! the MCP request handled.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::crypto::TokenRejection;
use crate::defects::Defect;
use crate::mcp::{self, McpOutcome, Principal};
use crate::protocol::{SCOPE_OFFLINE_ACCESS, SCOPE_READ};
use crate::state::SharedState;
use crate::urls::{MCP_ALT_PATH, MCP_PATH, WK_PRM};
use crate::variants::Variant;

/// What the `Authorization` header holds.
enum Presented<'a> {
    /// No bearer credentials at all (no header, or another scheme such as Basic).
    Nothing,
    /// `Bearer` with an empty token, or several `Authorization` headers.
    Malformed(&'static str),
    Token(&'a str),
}

fn presented(headers: &HeaderMap, exact_scheme: bool) -> Presented<'_> {
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
    let is_bearer = if exact_scheme {
        scheme == "Bearer"
    } else {
        scheme.eq_ignore_ascii_case("bearer")
    };
    if !is_bearer {
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
    // RS-15: every 401 names the PRM, invalid-token ones included.
    let names_prm = !(state.defect(Defect::InvalidTokenChallengeWithoutPrm)
        && status == StatusCode::UNAUTHORIZED
        && error.is_some());
    if state.urls.layout.publishes_prm() && names_prm {
        let prm = if state.prm_at_root_only() && resource_path == MCP_PATH {
            format!("{}{WK_PRM}", state.urls.mcp_origin)
        } else {
            state.urls.prm(resource_path)
        };
        params.push(format!("resource_metadata=\"{prm}\""));
    } else {
        params.push("realm=\"mcp\"".to_string());
    }
    // SCOPE-09: no offline_access (the `unauthenticated-challenge-offers-offline-access` defect
    // adds it to the challenge of a request without credentials).
    if status == StatusCode::UNAUTHORIZED
        && error.is_none()
        && state.defect(Defect::UnauthenticatedChallengeOffersOfflineAccess)
    {
        params.push(format!("scope=\"{scope} {SCOPE_OFFLINE_ACCESS}\""));
    } else {
        params.push(format!("scope=\"{scope}\""));
    }
    // PRM-04: a request without credentials gets no error code.
    let error = match error {
        None if state.defect(Defect::ChallengeErrorWithoutCredentials) => {
            Some(("invalid_token", "no token"))
        }
        e => e,
    };
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
    if let Ok(v) = HeaderValue::from_str(&value)
        && !state.defect(Defect::WwwAuthenticateMissing)
    {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

pub async fn mcp_primary(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    serve(&state, MCP_PATH, &method, &headers, query.as_deref(), &body).await
}

pub async fn mcp_alt(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    serve(
        &state,
        MCP_ALT_PATH,
        &method,
        &headers,
        query.as_deref(),
        &body,
    )
    .await
}

async fn serve(
    state: &SharedState,
    path: &str,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Response {
    let resource = format!("{}{path}", state.urls.mcp_origin);
    // With the Redis store, the MCP session of the request is read from it first (another
    // instance may have opened it), and what the request did to it is written back after.
    if let Err(e) = mcp::shared::load(&state.mcp_sessions, &state.store, headers).await {
        return e.into_response();
    }
    let principal = match authenticate(state, path, &resource, headers, query).await {
        Ok(p) => p,
        Err(refusal) => return *refusal,
    };
    let response = answer(state, path, &resource, &principal, method, headers, body);
    let opened = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match mcp::shared::save(&state.mcp_sessions, &state.store, headers, opened).await {
        Ok(()) => response,
        Err(e) => e.into_response(),
    }
}

/// The MCP answer to an authenticated request.
fn answer(
    state: &SharedState,
    path: &str,
    resource: &str,
    principal: &Principal,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    match mcp::handle(
        &state.mcp_sessions,
        resource,
        principal,
        method,
        headers,
        body,
        mcp::Switches {
            defects: &state.config.defects,
            variants: &state.config.variants,
            versions: state.urls.layout.mcp_versions(),
        },
    ) {
        McpOutcome::Response(r) => r,
        McpOutcome::InsufficientScope { .. } if state.defect(Defect::InsufficientScopeAs401) => {
            challenge(
                state,
                path,
                StatusCode::UNAUTHORIZED,
                SCOPE_READ,
                Some(("invalid_token", "the token does not allow this")),
            )
        }
        McpOutcome::InsufficientScope { required }
            if state.defect(Defect::InsufficientScopeAs400) =>
        {
            challenge(
                state,
                path,
                StatusCode::BAD_REQUEST,
                &required.join(" "),
                Some(("invalid_request", "this operation needs more scope")),
            )
        }
        // RS-14, SCOPE-03, SCOPE-04, SCOPE-10: 403 naming, in one challenge, every scope needed,
        // including those already granted; SCOPE-09: never offline_access.
        McpOutcome::InsufficientScope { mut required } => {
            if state.defect(Defect::InsufficientScopeChallengePartial) {
                required.truncate(1);
            }
            // SCOPE-05: the same operation, the same challenge.
            if state.defect(Defect::InsufficientScopeChallengeVaries)
                && challenged_before(state, headers)
            {
                required.retain(|s| !principal.scopes.iter().any(|g| g == s));
            }
            if state.defect(Defect::InsufficientScopeOffersOfflineAccess) {
                required.push(SCOPE_OFFLINE_ACCESS);
            }
            challenge(
                state,
                path,
                StatusCode::FORBIDDEN,
                &required.join(" "),
                Some(("insufficient_scope", "this operation needs more scope")),
            )
        }
    }
}

/// The ordered checks of a request's credentials. `Err` is the refusal to send.
async fn authenticate(
    state: &SharedState,
    path: &str,
    resource: &str,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Principal, Box<Response>> {
    let refuse = Refuser { state, path };
    let token = match bearer_token(state, resource, headers, query, &refuse)? {
        Bearer::Token(t) => t,
        // Only defects let a request through without a verified token.
        Bearer::Let(p) => return Ok(p),
    }; // PRM-01, RS-01, RS-03, RS-04, RS-09
    let claims = match verify_token(state, resource, &token, &refuse).await? {
        Verified::Claims(c) => c,
        Verified::Let(p) => return Ok(p),
    }; // RS-02, RS-04..07, RS-11
    // RS-12: revoked by code replay, refresh reuse or RFC 7009; with the
    // `access-tokens-self-contained` variant the MCP server does not ask the AS.
    if !state.variant(Variant::AccessTokensSelfContained)
        && state
            .access_token_revoked(&claims.jti)
            .await
            .map_err(|e| Box::new(e.into_response()))?
    {
        return Err(refuse.refuse(
            StatusCode::UNAUTHORIZED,
            Some(("invalid_token", "the token has been revoked")),
        ));
    }
    let scopes: Vec<String> = claims.scopes().map(str::to_owned).collect();
    // RS-13: reading needs mcp:read.
    if !scopes.iter().any(|s| s == SCOPE_READ) {
        return Err(refuse.refuse(
            StatusCode::FORBIDDEN,
            Some((
                "insufficient_scope",
                "this request needs the mcp:read scope",
            )),
        ));
    }
    Ok(Principal {
        subject: claims.sub,
        client_id: claims.client_id,
        scopes,
    })
}

/// Refusals of requests to the resource at `path`, challenging for the scope reading needs.
struct Refuser<'a> {
    state: &'a SharedState,
    path: &'a str,
}

impl Refuser<'_> {
    /// The refusal with `status` and, for a request that carried credentials, its error.
    fn refuse(&self, status: StatusCode, error: Option<(&str, &str)>) -> Box<Response> {
        Box::new(challenge(self.state, self.path, status, SCOPE_READ, error))
    }
}

/// What the credentials checks let through.
enum Bearer {
    Token(String),
    /// Only with a defect: a principal without a verified token.
    Let(Principal),
}

/// The bearer token of the request: from the `Authorization` header only (RS-09), its scheme
/// case-insensitive (RS-03), not empty (RS-04). PRM-01 (LEG-03 in 2025-03-26), RS-01: a
/// request without one is refused with 401, a session ID being no credential.
fn bearer_token(
    state: &SharedState,
    resource: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    refuse: &Refuser<'_>,
) -> Result<Bearer, Box<Response>> {
    match presented(headers, state.defect(Defect::BearerSchemeCaseSensitive)) {
        // RS-10: a copy in the query is not read (the `query-copy-preferred` defect reads it).
        Presented::Token(t) => Ok(Bearer::Token(
            query_token(query)
                .filter(|_| state.defect(Defect::QueryCopyPreferred))
                .unwrap_or_else(|| t.to_string()),
        )),
        Presented::Nothing => match without_token(state, resource, headers, query) {
            Bypass::Token(t) => Ok(Bearer::Token(t)),
            Bypass::Principal(p) => Ok(Bearer::Let(p)),
            Bypass::None => Err(refuse.refuse(StatusCode::UNAUTHORIZED, None)),
        },
        // RS-04: an empty bearer token is a malformed request.
        Presented::Malformed(_)
            if state.defect(Defect::EmptyBearerAccepted) && bearer_is_empty(headers) =>
        {
            Ok(Bearer::Let(Principal {
                subject: "anonymous".into(),
                client_id: String::new(),
                scopes: vec![SCOPE_READ.to_string()],
            }))
        }
        Presented::Malformed(why) => {
            Err(refuse.refuse(StatusCode::BAD_REQUEST, Some(("invalid_request", why))))
        }
    }
}

/// What token verification lets through.
enum Verified {
    Claims(crate::crypto::AccessClaims),
    /// Only with the `refresh-token-as-bearer` defect: the principal of a refresh token.
    Let(Principal),
}

/// With the `opaque-access-tokens` variant: the claims the AS keeps for the token (its table
/// drops expired ones, RS-06), for this exact resource (RS-07); any other string is unknown.
async fn opaque_claims(
    state: &SharedState,
    resource: &str,
    token: &str,
) -> Result<Result<crate::crypto::AccessClaims, TokenRejection>, Box<Response>> {
    let found = state
        .store
        .opaque_claims(token)
        .await
        .map_err(|e| Box::new(e.into_response()))?;
    Ok(check_opaque(state, resource, found))
}

fn check_opaque(
    state: &SharedState,
    resource: &str,
    found: Option<crate::crypto::AccessClaims>,
) -> Result<crate::crypto::AccessClaims, TokenRejection> {
    let claims = found.ok_or(TokenRejection::Unknown)?;
    if !claims.aud.names(resource) && !state.defect(Defect::AudienceNotChecked) {
        return Err(TokenRejection::WrongAudience);
    }
    Ok(claims)
}

/// RS-02: a token this AS issued for this resource is accepted; RS-04..07 (in
/// [`Signer::verify_with`](crate::crypto::Signer::verify_with)): signature, type, issuer,
/// audience (this exact resource) and expiry, or 401 `invalid_token`. RS-11: a refresh token
/// is no access token.
async fn verify_token(
    state: &SharedState,
    resource: &str,
    token: &str,
    refuse: &Refuser<'_>,
) -> Result<Verified, Box<Response>> {
    let verified = if state.defect(Defect::ValidTokenRefused) {
        Err(TokenRejection::BadSignature)
    } else if state.opaque_access_tokens() {
        opaque_claims(state, resource, token).await?
    } else {
        state
            .signer
            .verify_with(token, &state.urls.issuer, resource, &state.config.defects)
    };
    match verified {
        Ok(c) => Ok(Verified::Claims(c)),
        // RS-04: a token that is not a JWT is an invalid token (401), not a bad request.
        Err(TokenRejection::Malformed) if state.defect(Defect::MalformedTokenBadRequest) => {
            Err(refuse.refuse(
                StatusCode::BAD_REQUEST,
                Some(("invalid_request", "malformed token")),
            ))
        }
        Err(why) => {
            if state.defect(Defect::RefreshTokenAsBearer)
                && let Some(p) = refresh_principal(state, token).await
            {
                return Ok(Verified::Let(p));
            }
            tracing::info!(reason = %why, "bearer token refused");
            Err(refuse.refuse(
                StatusCode::UNAUTHORIZED,
                Some(("invalid_token", &why.to_string())),
            ))
        }
    }
}

/// Whether the one Authorization header is `Bearer` with nothing after it.
fn bearer_is_empty(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    matches!(
        (values.next().and_then(|v| v.to_str().ok()), values.next()),
        (Some(v), None) if v.split_once(' ').map_or(v, |(s, _)| s).eq_ignore_ascii_case("bearer")
            && v.split_once(' ').is_none_or(|(_, t)| t.trim().is_empty())
    )
}

/// What a defect lets through when the request has no bearer credentials.
enum Bypass {
    None,
    Token(String),
    Principal(Principal),
}

fn without_token(
    state: &SharedState,
    resource: &str,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Bypass {
    let reader = |subject: String| Principal {
        subject,
        client_id: String::new(),
        scopes: vec![SCOPE_READ.to_string()],
    };
    if state.defect(Defect::QueryTokenAccepted)
        && let Some(t) = query_token(query)
    {
        return Bypass::Token(t);
    }
    if state.defect(Defect::SessionWithoutToken)
        && let Some(subject) = headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|id| state.mcp_sessions.subject_of(id, resource))
    {
        return Bypass::Principal(reader(subject));
    }
    if state.defect(Defect::UnauthenticatedAllowed)
        || state.defect(Defect::LegacyUnauthenticatedAllowed)
    {
        return Bypass::Principal(reader("anonymous".into()));
    }
    Bypass::None
}

/// Whether the request's credentials got an insufficient_scope challenge before (only the
/// `insufficient-scope-challenge-varies` defect asks, and remembers).
fn challenged_before(state: &SharedState, headers: &HeaderMap) -> bool {
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    match state.challenged_credentials.lock() {
        Ok(mut seen) => !seen.insert(credentials),
        Err(_) => false,
    }
}

/// The `access_token` query parameter (read only with the `query-token-accepted` and
/// `query-copy-preferred` defects).
fn query_token(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
}

/// The principal of a live refresh token (only the `refresh-token-as-bearer` defect asks).
async fn refresh_principal(state: &SharedState, token: &str) -> Option<Principal> {
    let (_, grant) = state.store.refresh_token(token).await.ok()??;
    Some(Principal {
        subject: grant.subject,
        client_id: grant.client_id,
        scopes: grant.scope,
    })
}
