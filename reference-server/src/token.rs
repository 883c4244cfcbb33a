//! The token endpoint (CODE-*, TOK-*, REFRESH-*, RES-06) and the RFC 7009 revocation endpoint.
//!
//! Order of checks (see [`handle`]): the request's shape (TOK-01..05, CODE-10), the grant type
//! (TOK-03), client authentication (TOK-06..10), then the grant's own checks. Each grant runs
//! under the store's lock, so single use and rotation are atomic.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::authorize::{check_resource, check_scope};
use crate::crypto::{self, AccessClaims};
use crate::defects::Defect;
use crate::error::{ErrorCode, LimitedBody, OAuthError};
use crate::params::Params;
use crate::protocol::{self, AuthMethod, GrantType};
use crate::state::SharedState;
use crate::store::{Client, Grant, RefreshEntry, Tables};

/// An authenticated (or, for public clients, identified) client.
struct Authenticated {
    client: Client,
}

/// What the client presented to authenticate.
struct Credentials {
    client_id: String,
    secret: Option<String>,
    via_header: bool,
}

/// TOK-07: exactly one way to authenticate. Header credentials are form-encoded (RFC 6749 §2.3.1).
fn credentials(
    state: &SharedState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Credentials, OAuthError> {
    let mut auth = headers.get_all(header::AUTHORIZATION).iter();
    let header_value = auth.next();
    if auth.next().is_some() {
        return Err(OAuthError::invalid_request(
            "more than one Authorization header",
        ));
    }
    let body_id = params
        .one("client_id")
        .map_err(|_| OAuthError::invalid_request("client_id was sent more than once"))?;
    let body_secret = params
        .one("client_secret")
        .map_err(|_| OAuthError::invalid_request("client_secret was sent more than once"))?;
    if let Some(v) = header_value {
        let basic = v
            .to_str()
            .ok()
            .and_then(|s| s.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
        let Some((_, encoded)) = basic else {
            return Err(
                OAuthError::invalid_client("unsupported Authorization scheme")
                    .with_basic_challenge(),
            );
        };
        if body_secret.is_some() && !state.defect(Defect::TwoAuthMethodsAccepted) {
            return Err(OAuthError::invalid_request(
                "the client used two authentication methods at once",
            ));
        }
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                OAuthError::invalid_client("malformed Basic credentials").with_basic_challenge()
            })?;
        let (id, secret) = decoded.split_once(':').ok_or_else(|| {
            OAuthError::invalid_client("malformed Basic credentials").with_basic_challenge()
        })?;
        let decode = |s: &str| -> String {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let (id, secret) = (decode(id), decode(secret));
        if body_id.is_some_and(|b| b != id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the Authorization header",
            ));
        }
        return Ok(Credentials {
            client_id: id,
            secret: Some(secret),
            via_header: true,
        });
    }
    // CODE-09: a public client identifies itself with client_id.
    let Some(id) = body_id else {
        if state.defect(Defect::PublicClientIdOptional)
            && let Some(owner) = one(params, "code")
                .and_then(|c| state.store.lock().codes.get(c).map(|e| e.client_id.clone()))
        {
            return Ok(Credentials {
                client_id: owner,
                secret: None,
                via_header: false,
            });
        }
        return Err(OAuthError::invalid_request("client_id is required"));
    };
    Ok(Credentials {
        client_id: id.to_string(),
        secret: body_secret.map(str::to_owned),
        via_header: false,
    })
}

/// TOK-06, TOK-08: the client must authenticate with the method it registered.
fn authenticate(state: &SharedState, creds: Credentials) -> Result<Authenticated, OAuthError> {
    let fail = |msg: &'static str| {
        let e = OAuthError::invalid_client(msg);
        if creds.via_header && !state.defect(Defect::BasicAuthFailure400) {
            e.with_basic_challenge()
        } else {
            e
        }
    };
    if creds.secret.is_some() && !creds.via_header && state.defect(Defect::ClientSecretPostRefused)
    {
        return Err(OAuthError::invalid_request(
            "send the client secret with HTTP Basic",
        ));
    }
    let client = if protocol::is_document_url(&creds.client_id) {
        // A client metadata document client is public: its bindings live in the code and grant.
        Client {
            client_id: creds.client_id.clone(),
            secret: None,
            auth_method: AuthMethod::None,
            redirect_uris: vec![],
            grant_types: [GrantType::AuthorizationCode, GrantType::RefreshToken]
                .map(|g| g.as_str().to_owned())
                .to_vec(),
            client_name: None,
            from_metadata_document: true,
        }
    } else {
        state
            .store
            .lock()
            .clients
            .get(&creds.client_id)
            .cloned()
            .ok_or_else(|| fail("unknown client"))?
    };
    match (
        client.auth_method,
        &client.secret,
        &creds.secret,
        creds.via_header,
    ) {
        (AuthMethod::None, _, None, false) => {}
        (AuthMethod::None, _, _, _) => return Err(fail("this client is public and has no secret")),
        (AuthMethod::ClientSecretBasic, Some(expected), Some(given), true)
        | (AuthMethod::ClientSecretPost, Some(expected), Some(given), false) => {
            throttle_failed_secrets(state, &client.client_id)?;
            if !crypto::ct_eq(given, expected) {
                record_failed_secret(state, &client.client_id);
                return Err(fail("client authentication failed"));
            }
        }
        (AuthMethod::ClientSecretBasic, _, _, _) => {
            return Err(OAuthError::invalid_client(
                "this client must authenticate with HTTP Basic",
            )
            .with_basic_challenge());
        }
        (AuthMethod::ClientSecretPost, _, _, _) => {
            return Err(fail("this client must send client_secret in the body"));
        }
    }
    Ok(Authenticated { client })
}

/// TOK-10: wrong secrets a client may present within [`FAILED_SECRET_WINDOW`] before the
/// token endpoint stops checking its secret for the rest of the window.
const FAILED_SECRET_LIMIT: u32 = 10;
const FAILED_SECRET_WINDOW: Duration = Duration::from_secs(60);

/// TOK-10: a client with too many recent wrong secrets gets 429 before its secret is checked.
fn throttle_failed_secrets(state: &SharedState, client_id: &str) -> Result<(), OAuthError> {
    if state.defect(Defect::SecretBruteForceUnthrottled) {
        return Ok(());
    }
    let t = state.store.lock();
    match t.failed_secrets.get(client_id) {
        Some((start, n)) if *n >= FAILED_SECRET_LIMIT && start.elapsed() < FAILED_SECRET_WINDOW => {
            let retry = FAILED_SECRET_WINDOW
                .saturating_sub(start.elapsed())
                .as_secs()
                .max(1);
            let mut e = OAuthError::invalid_client("too many failed authentications")
                .with_status(StatusCode::TOO_MANY_REQUESTS);
            e.retry_after_secs = Some(retry);
            Err(e)
        }
        _ => Ok(()),
    }
}

fn record_failed_secret(state: &SharedState, client_id: &str) {
    let mut t = state.store.lock();
    t.failed_secrets.record(client_id, FAILED_SECRET_WINDOW);
}

/// A successful token response (CODE-01, REFRESH-09): never cached.
fn token_response(state: &SharedState, grant_type: Option<GrantType>, body: Value) -> Response {
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

/// TOK-01: errors are JSON (with the `token-error-wrong-content-type` defect, labelled as text).
fn error_response(state: &SharedState, e: OAuthError) -> Response {
    let mut resp = e.into_response();
    if state.defect(Defect::TokenErrorWrongContentType) {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    resp
}

/// The token request's checks, in order: the request's shape (TOK-04, CODE-10, TOK-02, TOK-03,
/// TOK-05), client authentication (TOK-06..09), then the grant's own checks.
async fn handle(
    state: &SharedState,
    headers: &HeaderMap,
    raw: &[u8],
    params: Params,
) -> Result<Response, OAuthError> {
    // TOK-04: no parameter may repeat (except `resource`, RFC 8707 §2).
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
    if state.defect(Defect::TokenUnknownParamRefused)
        && let Some((name, _)) =
            url::form_urlencoded::parse(raw).find(|(k, _)| !TOKEN_PARAMS.contains(&k.as_ref()))
    {
        return Err(OAuthError::invalid_request(format!(
            "unknown parameter {name}"
        )));
    }
    // TOK-05: an empty grant_type counts as absent (Params drops empty values).
    if state.defect(Defect::EmptyTokenParamKept)
        && url::form_urlencoded::parse(raw).any(|(k, v)| k == "grant_type" && v.is_empty())
    {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "unsupported grant_type \"\"",
        ));
    }
    // TOK-02, TOK-03.
    let sent = params.one("grant_type").ok().flatten();
    let grant_type = match (sent, sent.and_then(GrantType::parse)) {
        (_, Some(grant)) => grant,
        (None, _) if state.defect(Defect::GrantTypeDefaulted) => GrantType::AuthorizationCode,
        (None, _) => return Err(OAuthError::invalid_request("grant_type is missing")),
        (Some(_), None) if state.defect(Defect::UnsupportedGrantAsInvalidRequest) => {
            return Err(OAuthError::invalid_request("invalid grant_type"));
        }
        (Some(_), None) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "unsupported grant_type",
            ));
        }
    };
    let creds = credentials(state, headers, &params)?;
    let client = if grant_type == GrantType::RefreshToken
        && creds.secret.is_none()
        && state.defect(Defect::RefreshWithoutClientAuth)
    {
        // REFRESH-08 broken on purpose: the client is identified, not authenticated.
        let known = state.store.lock().clients.get(&creds.client_id).cloned();
        known.ok_or_else(|| OAuthError::invalid_client("unknown client"))?
    } else {
        authenticate(state, creds)?.client
    };
    // TOK-09: client_credentials is for confidential clients only.
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
    racy_single_use_check(state, grant_type, &params).await?;
    let body = match grant_type {
        GrantType::AuthorizationCode => authorization_code(state, &client, &params)?,
        GrantType::RefreshToken => refresh(state, &client, &params)?,
        GrantType::ClientCredentials => client_credentials(state, &client, &params)?,
    };
    Ok(token_response(state, Some(grant_type), body))
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

/// The `code-single-use-race` and `refresh-single-use-race` defects: single use is checked
/// here, then the request pauses, and the redemption that follows no longer checks it. Without
/// those defects this does nothing: single use is checked atomically with the redemption.
async fn racy_single_use_check(
    state: &SharedState,
    grant_type: GrantType,
    params: &Params,
) -> Result<(), OAuthError> {
    let used_grant = {
        let t = state.store.lock();
        match grant_type {
            GrantType::AuthorizationCode if state.defect(Defect::CodeSingleUseRace) => {
                one(params, "code")
                    .and_then(|c| t.codes.get(c))
                    .map(|e| e.redeemed_grant.clone())
            }
            GrantType::RefreshToken if state.defect(Defect::RefreshSingleUseRace) => {
                one(params, "refresh_token")
                    .and_then(|r| t.refresh_tokens.get(r))
                    .map(|e| e.rotated.then(|| e.grant_id.clone()))
            }
            _ => return Ok(()),
        }
    };
    if let Some(Some(grant_id)) = used_grant {
        state.store.lock().revoke_grant(&grant_id);
        return Err(OAuthError::invalid_grant("the grant has already been used"));
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    Ok(())
}

fn one<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.one(name).ok().flatten()
}

/// The `authorization_code` grant (CODE-01..10, PKCE-06..09).
fn authorization_code(
    state: &SharedState,
    client: &Client,
    params: &Params,
) -> Result<Value, OAuthError> {
    let Some(code) = one(params, "code") else {
        return Err(OAuthError::invalid_request("code is missing"));
    };
    let mut t = state.store.lock();
    // CODE-08: unknown or expired.
    let Some(entry) = t.codes.get(code).cloned() else {
        if state.defect(Defect::UnknownCodeServerError) {
            return Err(OAuthError::server_error());
        }
        return Err(OAuthError::invalid_grant(
            "the code is invalid or has expired",
        ));
    };
    // The request is checked against the code first: a replay with invalid parameters must not
    // revoke anything (CODE-04).
    if let Some(grant_id) = &entry.redeemed_grant
        && state.defect(Defect::CodeReplayRevokesBeforeChecks)
    {
        t.revoke_grant(grant_id);
    }
    // CODE-05: bound to the client.
    if entry.client_id != client.client_id
        && !state.defect(Defect::CodeNotClientBound)
        && !(state.defect(Defect::CimdCodeNotClientBound)
            && protocol::is_document_url(&entry.client_id))
    {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    // CODE-06: a redirect_uri, when sent, must equal the authorization request's.
    if let Some(r) = one(params, "redirect_uri")
        && r != entry.redirect_uri
        && !state.defect(Defect::TokenRedirectUriUnchecked)
    {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    // PKCE-07, PKCE-08, then PKCE-06 / PKCE-09.
    check_verifier(state, &entry.code_challenge, one(params, "code_verifier"))?;
    // RES-06: the resource, when sent, must be the one that was authorized.
    if !params.all("resource").is_empty() {
        let r = check_resource(state, params.all("resource"))?;
        if r != entry.resource {
            return Err(OAuthError::invalid_target(
                "resource differs from the authorization request",
            ));
        }
    }
    // CODE-02, CODE-03: a valid replay revokes everything issued from the code.
    if let Some(grant_id) = &entry.redeemed_grant
        && !state.defect(Defect::CodeReusable)
        && !state.defect(Defect::CodeSingleUseRace)
    {
        if !state.defect(Defect::CodeReplayNoRevoke) {
            t.revoke_grant(grant_id);
        }
        tracing::warn!("authorization code replayed; its grant was revoked");
        return Err(OAuthError::invalid_grant("the code has already been used"));
    }
    let grant_id = crypto::random_token(16);
    let grant = Grant {
        subject: entry.subject.clone(),
        client_id: entry.client_id.clone(),
        scope: entry.scope.clone(),
        resource: entry.resource.clone(),
        revoked: false,
        access_tokens: vec![],
    };
    t.grants
        .insert(grant_id.clone(), grant, state.config.refresh_token_ttl)?;
    let mut redeemed = entry.clone();
    redeemed.redeemed_grant = Some(grant_id.clone());
    // Kept for as long as its tokens live, so that a replay can still revoke them.
    let keep = state.config.access_token_ttl.max(state.config.code_ttl);
    t.codes.insert(code.to_string(), redeemed, keep)?;
    issue(
        state,
        &mut t,
        &grant_id,
        &entry.scope,
        entry.refresh_allowed,
    )
}

/// PKCE-06..09: the verifier is present, well-formed, and hashes to the challenge.
fn check_verifier(
    state: &SharedState,
    challenge: &str,
    verifier: Option<&str>,
) -> Result<(), OAuthError> {
    // A code without a challenge exists only with the `pkce-not-required` or `pkce-downgrade`
    // defects. PKCE-10: a verifier for such a code is refused (O21 §4.1.3: present if and only
    // if a challenge was).
    if challenge.is_empty() {
        return match verifier {
            None if state.defect(Defect::PkceNotRequired)
                || state.defect(Defect::LegacyPkceNotRequired) =>
            {
                Ok(())
            }
            Some(_) if state.defect(Defect::PkceDowngrade) => Ok(()),
            Some(_) => Err(OAuthError::invalid_request(
                "code_verifier was sent, but the authorization request had no code_challenge",
            )),
            None => Err(OAuthError::invalid_request("code_verifier is missing")),
        };
    }
    let Some(verifier) = verifier else {
        if state.defect(Defect::PkceVerifierOptional) {
            return Ok(());
        }
        return Err(OAuthError::invalid_request("code_verifier is missing"));
    };
    if !crypto::is_pkce_string(verifier) && !state.defect(Defect::VerifierLengthUnchecked) {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43 to 128 unreserved characters",
        ));
    }
    let matches = if state.defect(Defect::PkcePlainComparison) {
        crypto::ct_eq(verifier, challenge)
    } else {
        crypto::ct_eq(&crypto::s256(verifier), challenge)
            || (state.defect(Defect::PkceChallengeAsVerifier) && crypto::ct_eq(verifier, challenge))
    };
    if !matches && !state.defect(Defect::PkceVerifierUnchecked) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    Ok(())
}

/// The `refresh_token` grant (REFRESH-01..10).
fn refresh(state: &SharedState, client: &Client, params: &Params) -> Result<Value, OAuthError> {
    let Some(token) = one(params, "refresh_token") else {
        return Err(OAuthError::invalid_request("refresh_token is missing"));
    };
    let mut t = state.store.lock();
    // REFRESH-10.
    let Some(entry) = t.refresh_tokens.get(token).cloned() else {
        if state.defect(Defect::UnknownRefreshServerError) {
            return Err(OAuthError::server_error());
        }
        return Err(OAuthError::invalid_grant(
            "the refresh token is invalid or has expired",
        ));
    };
    let Some(grant) = t.grants.get(&entry.grant_id).cloned() else {
        return Err(OAuthError::invalid_grant(
            "the refresh token is invalid or has expired",
        ));
    };
    // REFRESH-04.
    if grant.client_id != client.client_id && !state.defect(Defect::RefreshNotClientBound) {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if grant.revoked {
        return Err(OAuthError::invalid_grant(
            "the refresh token has been revoked",
        ));
    }
    // REFRESH-02, REFRESH-03: a replaced token is refused, and its reuse revokes the grant.
    if entry.rotated && !state.defect(Defect::RefreshSingleUseRace) {
        if !state.defect(Defect::RefreshReuseUndetected) {
            t.revoke_grant(&entry.grant_id);
        }
        tracing::warn!("refresh token reused; its grant was revoked");
        return Err(OAuthError::invalid_grant(
            "the refresh token has already been used",
        ));
    }
    // REFRESH-05, REFRESH-06: never wider than the grant; by default the grant's scope.
    let scope = match one(params, "scope") {
        None if state.defect(Defect::RefreshScopeDropped) => Vec::new(),
        None => grant.scope.clone(),
        Some(s) if state.defect(Defect::RefreshScopeWidening) => s
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(s) => {
            let requested = check_scope(Some(s))?;
            if let Some(extra) = requested.iter().find(|s| !grant.scope.contains(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {extra} was not granted"
                )));
            }
            requested
        }
    };
    // REFRESH-07: bound to the consented resource.
    if !params.all("resource").is_empty() {
        let r = check_resource(state, params.all("resource"))?;
        if r != grant.resource && state.defect(Defect::RefreshResourceUnbound) {
            if let Some(g) = t.grants.get_mut(&entry.grant_id) {
                g.resource = r;
            }
        } else if r != grant.resource {
            return Err(OAuthError::invalid_target(
                "resource differs from the grant",
            ));
        }
    }
    if state.defect(Defect::RefreshNotRotated) {
        let mut body = issue(state, &mut t, &entry.grant_id, &scope, false)?;
        body["refresh_token"] = json!(token);
        return Ok(body);
    }
    // REFRESH-01: rotation.
    if let Some(e) = t.refresh_tokens.get_mut(token) {
        e.rotated = true;
    }
    issue(state, &mut t, &entry.grant_id, &scope, true)
}

/// The `client_credentials` grant (confidential clients only: TOK-09 is checked before).
fn client_credentials(
    state: &SharedState,
    client: &Client,
    params: &Params,
) -> Result<Value, OAuthError> {
    let scope = check_scope(one(params, "scope"))?;
    let resource = check_resource(state, params.all("resource"))?;
    let grant_id = crypto::random_token(16);
    let grant = Grant {
        subject: client.client_id.clone(),
        client_id: client.client_id.clone(),
        scope: scope.clone(),
        resource,
        revoked: false,
        access_tokens: vec![],
    };
    let mut t = state.store.lock();
    t.grants
        .insert(grant_id.clone(), grant, state.config.access_token_ttl)?;
    issue(state, &mut t, &grant_id, &scope, false)
}

/// Mints an access token (and, when allowed, a new refresh token) within a grant.
fn issue(
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

/// RFC 7009 revocation: a refresh token revokes its grant; an access token is added to the
/// revocation list. Unknown tokens are not an error (RFC 7009 §2.2).
pub async fn revoke(
    State(state): State<SharedState>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Response, OAuthError> {
    let params = form_params(&headers, &body)?;
    let Authenticated { client } = authenticate(&state, credentials(&state, &headers, &params)?)?;
    let Some(token) = one(&params, "token") else {
        return Err(OAuthError::invalid_request("token is missing"));
    };
    let mut t = state.store.lock();
    if let Some(entry) = t.refresh_tokens.get(token).cloned() {
        if t.grants
            .get(&entry.grant_id)
            .is_some_and(|g| g.client_id == client.client_id)
        {
            t.revoke_grant(&entry.grant_id);
        }
    } else {
        for aud in [state.urls.mcp(), state.urls.mcp_alt()] {
            if let Ok(c) = state.signer.verify(token, &state.urls.issuer, &aud)
                && c.client_id == client.client_id
            {
                let ttl = Duration::from_secs(c.exp.saturating_sub(crate::clock::now_secs()) + 1);
                let _ = t.revoked_access_tokens.insert(c.jti, (), ttl);
            }
        }
    }
    Ok(token_response(&state, None, json!({})))
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

    #[test]
    fn failed_secrets_are_counted_per_client() {
        let mut t = crate::store::Tables::new(10);
        for _ in 0..FAILED_SECRET_LIMIT {
            t.failed_secrets.record("c1", FAILED_SECRET_WINDOW);
        }
        assert_eq!(
            t.failed_secrets.get("c1").map(|e| e.1),
            Some(FAILED_SECRET_LIMIT)
        );
        assert!(t.failed_secrets.get("another-client").is_none());
    }
}
