//! Dynamic client registration (RFC 7591; DCR-01..13): one ordered list of checks on the metadata,
//! then a 201 that echoes what was registered.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use url::Url;

use crate::crypto;
use crate::defects::{Defect, Defects};
use crate::error::{ErrorCode, OAuthError};
use crate::limits::TooMany;
use crate::protocol::{
    self, AuthMethod, DEFAULT_GRANT_TYPES, GrantType, HTTP, HTTPS, RESPONSE_TYPE_CODE,
    RESPONSE_TYPES, SCOPE_READ,
};
use crate::state::SharedState;
use crate::store::{Client, ClientLifetime};
use crate::variants::{Variant, Variants};

/// How long a confidential client's secret stays valid (DCR-03: the expiry is always stated).
const SECRET_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// Members whose value must be a string when present (RFC 7591 §2).
const STRING_MEMBERS: [&str; 10] = [
    "client_name",
    "client_uri",
    "logo_uri",
    "scope",
    "tos_uri",
    "policy_uri",
    "jwks_uri",
    "software_id",
    "software_version",
    "software_statement",
];
/// Members echoed back as they were registered (DCR-02).
const ECHOED_MEMBERS: [&str; 12] = [
    "client_name",
    "client_uri",
    "logo_uri",
    "scope",
    "contacts",
    "tos_uri",
    "policy_uri",
    "jwks_uri",
    "jwks",
    "software_id",
    "software_version",
    "application_type",
];

/// Reads the body under the size limit; a rejection is an OAuth error.
async fn read_body(
    state: &SharedState,
    req: Request,
) -> Result<(axum::http::HeaderMap, axum::body::Bytes, IpAddr), OAuthError> {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .map_err(|_| {
            OAuthError::invalid_client_metadata("the request body is too large or unreadable")
                .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        })?;
    Ok((parts.headers, bytes, ip))
}

/// Whether dynamic client registration is offered (LEG-04: 2025-03-26 asks for it; RFC 8414
/// §2 makes the endpoint OPTIONAL, so a server may leave it out with `--no-dcr`).
pub fn offered(state: &SharedState) -> bool {
    !state.config.no_dcr
        && !state.variant(Variant::NoDynamicRegistration)
        && !state.defect(Defect::LegacyRegistrationMissing)
}

/// POST on the registration endpoint. DCR-05: every error is a JSON error object; DCR-08:
/// invalid metadata is `invalid_client_metadata`.
pub async fn register(State(state): State<SharedState>, req: Request) -> Response {
    if let Some(refusal) = check_initial_access_token(&state, req.headers()) {
        return refusal;
    }
    match register_client(&state, req).await {
        Ok(r) => r,
        // DCR-05 broken on purpose: the error as plain text.
        // RFC 7591 §3.2.2 defines both codes: `invalid_client_metadata` fits a bad
        // `redirect_uris` member too.
        Err(e)
            if state.variant(Variant::RedirectUriErrorsInvalidClientMetadata)
                && e.code == ErrorCode::InvalidRedirectUri =>
        {
            OAuthError::invalid_client_metadata(e.description).into_response()
        }
        Err(e) if state.defect(Defect::DcrErrorNotJson) => {
            (e.status, format!("{}: {}", e.code.as_str(), e.description)).into_response()
        }
        // DCR-08 broken on purpose: invalid metadata gets a code RFC 7591 does not define.
        Err(e)
            if state.defect(Defect::DcrInvalidMetadataWrongError)
                && e.code == ErrorCode::InvalidClientMetadata =>
        {
            OAuthError::invalid_request(e.description).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// RFC 7591 §3: with the `registration-needs-initial-access-token` variant, the endpoint is
/// protected by an initial access token, which this server never hands out: a registration
/// without one gets 401 with a Bearer challenge and no error code (RFC 6750 §3.1), one with a
/// token gets `invalid_token`.
fn check_initial_access_token(
    state: &SharedState,
    headers: &axum::http::HeaderMap,
) -> Option<Response> {
    if !state.variant(Variant::RegistrationNeedsInitialAccessToken) {
        return None;
    }
    let challenge = if headers.contains_key(header::AUTHORIZATION) {
        "Bearer error=\"invalid_token\", error_description=\"the initial access token is not valid\""
    } else {
        "Bearer"
    };
    Some(
        (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            )],
        )
            .into_response(),
    )
}

/// The registration's steps, in order.
async fn register_client(state: &SharedState, req: Request) -> Result<Response, OAuthError> {
    let (headers, body, ip) = read_body(state, req).await?;
    // The registration rate limit per client address (`--registration-rate-limit`; 0: none).
    // With the Redis store the count is shared by every instance.
    let allowance = match state
        .store
        .count_registration(ip, state.config.registration_rate_limit)
        .await
    {
        Some(shared) => shared?,
        None => state.registration_limiter.check(ip),
    };
    if let Err(too_many) = allowance {
        return Ok(too_many_registrations(too_many));
    }
    let mut meta = parse_metadata(&headers, &body)?;
    if state.variant(Variant::DcrSubstitutesMetadata) {
        substitute(&mut meta);
    }
    let client = validate(&meta, &state.config.defects, &state.config.variants)?;
    // Unused registrations go soon; each address holds a fair share of the store.
    let lifetime = ClientLifetime {
        unused: state.config.unused_client_ttl,
        used: state.config.client_ttl,
    };
    state
        .store
        .register_client(client.clone(), ip, lifetime)
        .await?;
    tracing::info!(client_id = %client.client_id, method = client.auth_method.as_str(), "client registered");
    Ok(registered(state, &client, &meta))
}

/// The answer to a successful registration: DCR-01: 201; DCR-02: what was registered;
/// DCR-03: a secret's expiry; DCR-13: never cached.
fn registered(state: &SharedState, client: &Client, meta: &Map<String, Value>) -> Response {
    let mut response = registration_response(client, meta);
    if let Some(obj) = response.as_object_mut() {
        // DCR-02 broken on purpose: the registered metadata is not echoed.
        if state.defect(Defect::DcrMetadataNotEchoed) {
            obj.remove("redirect_uris");
            obj.remove("client_name");
        }
        // DCR-03 broken on purpose: the secret comes without its expiry.
        if state.defect(Defect::DcrSecretExpiryMissing) {
            obj.remove("client_secret_expires_at");
        }
        // DCR-04 broken on purpose: a public client is handed a secret it never needs.
        if state.defect(Defect::DcrPublicClientSecret) && client.secret.is_none() {
            obj.insert("client_secret".into(), json!(crypto::random_token(32)));
            obj.insert("client_secret_expires_at".into(), json!(0));
        }
        // DCR-16 broken on purpose: a native client is echoed as OpenID Connect's default, web.
        if state.defect(Defect::DcrNativeEchoedAsWeb)
            && obj.get("application_type").and_then(Value::as_str) == Some("native")
        {
            obj.insert("application_type".into(), json!("web"));
        }
    }
    // DCR-01: 201 Created.
    let status = if state.defect(Defect::DcrWrongStatus) {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut resp = (status, axum::Json(response)).into_response();
    // DCR-13: the response may carry a secret.
    if !state.defect(Defect::DcrCacheControlMissing) {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp.headers_mut()
            .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    resp
}

/// 429 with Retry-After, and the RateLimit headers the rate-limit variants send too.
fn too_many_registrations(too_many: TooMany) -> Response {
    let mut resp = OAuthError::rate_limited(too_many.retry_after).into_response();
    crate::variants::shapes::rate_limit_headers(
        resp.headers_mut(),
        too_many.limit,
        Duration::from_secs(60),
        0,
        too_many.retry_after,
    );
    resp
}

/// DCR-05: the body must be a JSON object sent as `application/json`.
fn parse_metadata(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, OAuthError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(OAuthError::invalid_client_metadata(
            "client metadata must be sent as application/json",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(OAuthError::invalid_client_metadata(
            "client metadata must be a JSON object",
        )),
        Err(_) => Err(OAuthError::invalid_client_metadata(
            "client metadata is not valid JSON",
        )),
    }
}

fn string_list(meta: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match meta.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    OAuthError::invalid_client_metadata(format!(
                        "{name} must be an array of strings"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(OAuthError::invalid_client_metadata(format!(
            "{name} must be an array of strings"
        ))),
    }
}

/// Every member this server reads or echoes; others are ignored (DCR-09).
const KNOWN_MEMBERS: [&str; 7] = [
    "redirect_uris",
    "token_endpoint_auth_method",
    "grant_types",
    "response_types",
    "contacts",
    "jwks",
    "application_type",
];

/// The `dcr-substitutes-metadata` variant (RFC 7591 §3.2.1: the AS MAY replace any requested
/// metadata value, and the response shows what it registered): the server names the client
/// itself, provisions a scope when none was asked for, replaces an authentication method it
/// does not support by the default, and derives `response_types` from `grant_types`.
fn substitute(meta: &mut Map<String, Value>) {
    if let Some(Value::String(name)) = meta.get("client_name") {
        let replaced = format!("{name} (unverified)");
        meta.insert("client_name".into(), json!(replaced));
    }
    if meta.get("scope").is_none_or(Value::is_null) {
        meta.insert("scope".into(), json!(SCOPE_READ));
    }
    if meta
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        .is_some_and(|m| AuthMethod::parse(m).is_none())
    {
        meta.remove("token_endpoint_auth_method");
    }
    let grants = match string_list(meta, "grant_types") {
        Ok(Some(g)) => g,
        Ok(None) => DEFAULT_GRANT_TYPES.map(str::to_owned).to_vec(),
        Err(_) => return,
    };
    let code = grants
        .iter()
        .any(|g| g == GrantType::AuthorizationCode.as_str());
    let types: &[&str] = if code { &[RESPONSE_TYPE_CODE] } else { &[] };
    meta.insert("response_types".into(), json!(types));
}

/// The ordered checks of RFC 7591 §2 and §3.2.2 on the client metadata.
fn validate(
    meta: &Map<String, Value>,
    defects: &Defects,
    variants: &Variants,
) -> Result<Client, OAuthError> {
    check_unknown_members(meta, defects)?; // DCR-09
    check_member_types(meta)?; // DCR-08
    let auth_method = token_endpoint_auth_method(meta)?;
    let grant_types = check_grant_types(meta, auth_method)?; // TOK-09
    let redirect_uris = check_redirect_uris(meta, &grant_types, defects)?; // DCR-06, DCR-07, DCR-10, DCR-11
    Ok(Client {
        client_id: crypto::random_token(18),
        secret: (auth_method != AuthMethod::None).then(|| crypto::random_token(32)),
        auth_method,
        redirect_uris,
        grant_types,
        client_name: meta
            .get("client_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        from_metadata_document: false,
        // OpenID Connect Registration §2: without application_type, a web client.
        exact_loopback_port: variants.has(Variant::ApplicationTypeDefaultWeb)
            && meta.get("application_type").and_then(Value::as_str) != Some("native"),
    })
}

/// DCR-09: a metadata member the server does not know is ignored.
fn check_unknown_members(meta: &Map<String, Value>, defects: &Defects) -> Result<(), OAuthError> {
    if defects.has(Defect::DcrRejectsUnknownMembers)
        && let Some(unknown) = meta.keys().find(|k| {
            !KNOWN_MEMBERS.contains(&k.as_str())
                && !STRING_MEMBERS.contains(&k.as_str())
                && !ECHOED_MEMBERS.contains(&k.as_str())
        })
    {
        return Err(OAuthError::invalid_client_metadata(format!(
            "unknown member {unknown}"
        )));
    }
    Ok(())
}

/// DCR-08: a member of the wrong type is invalid client metadata.
fn check_member_types(meta: &Map<String, Value>) -> Result<(), OAuthError> {
    for name in STRING_MEMBERS {
        if meta
            .get(name)
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            return Err(OAuthError::invalid_client_metadata(format!(
                "{name} must be a string"
            )));
        }
    }
    string_list(meta, "contacts")?;
    if meta
        .get("jwks")
        .is_some_and(|v| !v.is_object() && !v.is_null())
    {
        return Err(OAuthError::invalid_client_metadata(
            "jwks must be a JSON object",
        ));
    }
    // RFC 7591 §2: jwks and jwks_uri are mutually exclusive.
    if meta.get("jwks").is_some_and(|v| !v.is_null())
        && meta.get("jwks_uri").is_some_and(|v| !v.is_null())
    {
        return Err(OAuthError::invalid_client_metadata(
            "jwks and jwks_uri must not both be present",
        ));
    }
    // MCP 2026-07-28: application_type is `native` or `web` (OpenID Connect Registration §2).
    if let Some(v) = meta.get("application_type").filter(|v| !v.is_null())
        && !matches!(v.as_str(), Some("native" | "web"))
    {
        return Err(OAuthError::invalid_client_metadata(
            "application_type must be \"native\" or \"web\"",
        ));
    }
    Ok(())
}

/// `token_endpoint_auth_method`: one the server supports, `client_secret_basic` when absent
/// (RFC 7591 §2).
fn token_endpoint_auth_method(meta: &Map<String, Value>) -> Result<AuthMethod, OAuthError> {
    match meta.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => Ok(AuthMethod::ClientSecretBasic),
        Some(Value::String(s)) => AuthMethod::parse(s).ok_or_else(|| {
            OAuthError::invalid_client_metadata(format!(
                "token_endpoint_auth_method {s:?} is not supported"
            ))
        }),
        Some(_) => Err(OAuthError::invalid_client_metadata(
            "token_endpoint_auth_method must be a string",
        )),
    }
}

/// `grant_types` and `response_types`: ones the server supports (`authorization_code` and `code`
/// when absent), agreeing with each other (RFC 7591 §2.1); `refresh_token` only beside the code
/// grant; TOK-09: `client_credentials` only for a confidential client.
fn check_grant_types(
    meta: &Map<String, Value>,
    auth_method: AuthMethod,
) -> Result<Vec<String>, OAuthError> {
    let grant_types = string_list(meta, "grant_types")?
        .unwrap_or_else(|| DEFAULT_GRANT_TYPES.map(str::to_owned).to_vec());
    let response_types = string_list(meta, "response_types")?
        .unwrap_or_else(|| vec![RESPONSE_TYPE_CODE.to_string()]);
    for g in &grant_types {
        if GrantType::parse(g).is_none() {
            return Err(OAuthError::invalid_client_metadata(format!(
                "grant type {g:?} is not supported"
            )));
        }
    }
    for r in &response_types {
        if !RESPONSE_TYPES.contains(&r.as_str()) {
            return Err(OAuthError::invalid_client_metadata(format!(
                "response type {r:?} is not supported"
            )));
        }
    }
    let has_grant = |grant: GrantType| grant_types.iter().any(|g| g == grant.as_str());
    let code_grant = has_grant(GrantType::AuthorizationCode);
    if code_grant != response_types.iter().any(|r| r == RESPONSE_TYPE_CODE) {
        return Err(OAuthError::invalid_client_metadata(
            "grant_types and response_types are inconsistent",
        ));
    }
    if has_grant(GrantType::RefreshToken) && !code_grant {
        return Err(OAuthError::invalid_client_metadata(
            "refresh_token needs the authorization_code grant",
        ));
    }
    if auth_method == AuthMethod::None && has_grant(GrantType::ClientCredentials) {
        return Err(OAuthError::invalid_client_metadata(
            "client_credentials requires a confidential client",
        ));
    }
    Ok(grant_types)
}

/// `redirect_uris`: required for the code grant (DCR-07); each https, or http on a loopback
/// host (DCR-06, SEC-02, and LEG-06 in 2025-03-26), every loopback host (DCR-11), never a
/// private-use scheme without a dot (DCR-10).
fn check_redirect_uris(
    meta: &Map<String, Value>,
    grant_types: &[String],
    defects: &Defects,
) -> Result<Vec<String>, OAuthError> {
    let code_grant = grant_types
        .iter()
        .any(|g| g == GrantType::AuthorizationCode.as_str());
    let redirect_uris = string_list(meta, "redirect_uris")?.unwrap_or_default();
    // DCR-07: a code-flow client must register its redirect URIs.
    if code_grant && redirect_uris.is_empty() && !defects.has(Defect::DcrRedirectUrisOptional) {
        return Err(OAuthError::invalid_redirect_uri(
            "redirect_uris is required for the authorization_code grant",
        ));
    }
    for uri in &redirect_uris {
        if defects.has(Defect::DcrAcceptsAnyRedirect)
            || defects.has(Defect::LegacyRedirectUrisUnchecked)
        {
            continue;
        }
        // DCR-10: a private-use scheme without a dot is refused (by `check_redirect_uri`).
        if defects.has(Defect::DcrPrivateUseSchemeAccepted)
            && Url::parse(uri)
                .is_ok_and(|u| !matches!(u.scheme(), HTTP | HTTPS) && !u.scheme().contains('.'))
        {
            continue;
        }
        // DCR-06, SEC-02, LEG-06: https, or http on a loopback host; no fragment.
        let url = protocol::check_redirect_uri(uri).map_err(OAuthError::invalid_redirect_uri)?;
        // DCR-11: every loopback host, not only 127.0.0.1.
        if defects.has(Defect::DcrRefusesLoopback)
            && url.scheme() == HTTP
            && url.host_str() != Some("127.0.0.1")
        {
            return Err(OAuthError::invalid_redirect_uri(
                "http redirect URIs must use 127.0.0.1",
            ));
        }
    }
    Ok(redirect_uris)
}

/// DCR-02 / DCR-03: `client_id`, the secret with its expiry, and every registered value.
fn registration_response(client: &Client, meta: &Map<String, Value>) -> Value {
    let now = crate::clock::now_secs();
    let mut out = Map::new();
    out.insert("client_id".into(), json!(client.client_id));
    out.insert("client_id_issued_at".into(), json!(now));
    if let Some(secret) = &client.secret {
        out.insert("client_secret".into(), json!(secret));
        out.insert(
            "client_secret_expires_at".into(),
            json!(now + SECRET_LIFETIME.as_secs()),
        );
    }
    out.insert("redirect_uris".into(), json!(client.redirect_uris));
    out.insert(
        "token_endpoint_auth_method".into(),
        json!(client.auth_method.as_str()),
    );
    out.insert("grant_types".into(), json!(client.grant_types));
    let response_types: Vec<&str> = if client.allows_grant(GrantType::AuthorizationCode) {
        vec![RESPONSE_TYPE_CODE]
    } else {
        vec![]
    };
    out.insert("response_types".into(), json!(response_types));
    for name in ECHOED_MEMBERS {
        if let Some(v) = meta.get(name).filter(|v| !v.is_null()) {
            out.insert(name.into(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate_strict(m: &Map<String, Value>) -> Result<Client, OAuthError> {
        validate(m, &Defects::none(), &Variants::none())
    }

    fn meta(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn defaults_make_a_confidential_basic_client() {
        let c = validate_strict(&meta(json!({"redirect_uris": ["https://c.example/cb"]}))).unwrap();
        assert_eq!(c.auth_method, AuthMethod::ClientSecretBasic);
        assert!(c.secret.is_some());
        assert_eq!(c.grant_types, vec!["authorization_code"]);
    }

    #[test]
    fn public_clients_get_no_secret() {
        let c = validate_strict(&meta(json!({
            "redirect_uris": ["http://127.0.0.1:1/cb"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "x_unknown": 1
        })))
        .unwrap();
        assert!(c.secret.is_none());
    }

    #[test]
    fn invalid_metadata_gets_the_right_code() {
        use crate::error::ErrorCode::*;
        let cases = [
            (
                json!({"redirect_uris": "https://c.example/cb"}),
                InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["https://c.example/cb"], "token_endpoint_auth_method": "foo"}),
                InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["https://c.example/cb"], "response_types": ["token"]}),
                InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["https://c.example/cb"], "grant_types": ["authorization_code"], "response_types": []}),
                InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["https://c.example/cb"], "jwks": {"keys": []}, "jwks_uri": "https://c.example/j"}),
                InvalidClientMetadata,
            ),
            (
                json!({"grant_types": ["authorization_code"]}),
                InvalidRedirectUri,
            ),
            (
                json!({"redirect_uris": ["http://evil.example/cb"]}),
                InvalidRedirectUri,
            ),
            (
                json!({"redirect_uris": ["https://c.example/cb"], "client_name": 3}),
                InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none", "grant_types": ["client_credentials"], "response_types": []}),
                InvalidClientMetadata,
            ),
        ];
        for (m, code) in cases {
            let err = validate_strict(&meta(m.clone())).unwrap_err();
            assert_eq!(err.code, code, "{m}");
        }
    }

    #[test]
    fn the_response_echoes_registered_metadata_and_states_secret_expiry() {
        let m = meta(
            json!({"redirect_uris": ["https://c.example/cb"], "client_name": "n", "scope": "mcp:read"}),
        );
        let c = validate_strict(&m).unwrap();
        let r = registration_response(&c, &m);
        assert_eq!(r["client_name"], "n");
        assert_eq!(r["scope"], "mcp:read");
        assert!(r["client_secret_expires_at"].as_u64().unwrap() > 0);
        assert_eq!(r["token_endpoint_auth_method"], "client_secret_basic");
    }
}
