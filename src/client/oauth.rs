//! The authorization request, the token endpoint (code, refresh) and revocation.

use base64::Engine;
use serde_json::Value;
use url::Url;

use super::http::{Http, Request, Response, TransportError};
use super::params::{Param, Params};
use super::pkce::{PkceChallenge, PkceVerifier};
use super::redact::Secret;
use super::registration::RegisteredClient;

/// A fresh random `state`.
pub fn random_state() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The parameters of a valid authorization request: code flow, S256, state, and the resource
/// and scope when known.
pub fn authorization_params(
    client: &RegisteredClient,
    challenge: &PkceChallenge,
    state: &str,
    scope: Option<&str>,
    resource: Option<&str>,
) -> Params {
    Params::new()
        .set(Param::ResponseType, "code")
        .set(Param::ClientId, client.client_id.clone())
        .set(Param::RedirectUri, client.redirect_uri.as_str())
        .set(Param::State, state)
        .set(Param::CodeChallenge, challenge.as_str())
        .set(Param::CodeChallengeMethod, "S256")
        .set_opt(Param::Scope, scope)
        .set_opt(Param::Resource, resource)
}

/// The authorization endpoint URL carrying `params` in its query.
pub fn authorization_url(endpoint: &Url, params: &Params) -> Url {
    let mut url = endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params.to_pairs() {
            q.append_pair(&k, &v);
        }
    }
    url
}

/// One GET of an authorization URL, without following anything: how the endpoint first
/// answers a request (AUTHZ-01).
pub async fn authorization_first_response(
    http: &Http,
    url: &Url,
) -> Result<Response, TransportError> {
    http.send(Request::get(url.clone()).header("accept", "text/html"))
        .await
}

/// A cross-origin request to `url` as a browser script on `origin` would send it: a GET with
/// `Origin`, or the CORS preflight (OPTIONS with `Access-Control-Request-Method: GET`).
pub async fn cross_origin_request(
    http: &Http,
    url: &Url,
    origin: &str,
    preflight: bool,
) -> Result<Response, TransportError> {
    let req = if preflight {
        Request::new(reqwest::Method::OPTIONS, url.clone())
            .header("access-control-request-method", "GET")
    } else {
        Request::get(url.clone())
    };
    http.send(req.header("origin", origin)).await
}

/// The parameters of a valid code redemption.
pub fn code_params(
    client: &RegisteredClient,
    code: &Secret,
    verifier: &PkceVerifier,
    resource: Option<&str>,
) -> Params {
    Params::new()
        .set(Param::GrantType, "authorization_code")
        .set(Param::Code, code)
        .set(Param::RedirectUri, client.redirect_uri.as_str())
        .set(Param::CodeVerifier, verifier.to_secret())
        .set(Param::ClientId, client.client_id.clone())
        .set_opt(Param::Resource, resource)
}

/// The parameters of a valid refresh.
pub fn refresh_params(
    client: &RegisteredClient,
    refresh_token: &Secret,
    resource: Option<&str>,
) -> Params {
    Params::new()
        .set(Param::GrantType, "refresh_token")
        .set(Param::RefreshToken, refresh_token)
        .set(Param::ClientId, client.client_id.clone())
        .set_opt(Param::Resource, resource)
}

/// The parameters of a valid `client_credentials` request (TOK-08, TOK-09).
pub fn client_credentials_params(
    client: &RegisteredClient,
    scope: Option<&str>,
    resource: Option<&str>,
) -> Params {
    Params::new()
        .set(Param::GrantType, "client_credentials")
        .set(Param::ClientId, client.client_id.clone())
        .set_opt(Param::Scope, scope)
        .set_opt(Param::Resource, resource)
}

/// POSTs a form to the token endpoint as it is, with no client authentication added: the
/// request of a client that leaves its credentials out (REFRESH-08).
pub async fn post_form_without_client_auth(
    http: &Http,
    endpoint: &Url,
    params: &Params,
) -> Result<Response, TransportError> {
    let req = Request::post(endpoint.clone()).header("accept", "application/json");
    http.send(req.form(params.to_pairs())).await
}

/// Sends a token request as a GET with the parameters in the query, which clients must never
/// do (O21 §3.2: POST only): TOK-11.
pub async fn token_request_as_get(
    http: &Http,
    endpoint: &Url,
    params: &Params,
) -> Result<Response, TransportError> {
    let url = authorization_url(endpoint, params);
    http.send(Request::get(url).header("accept", "application/json"))
        .await
}

/// POSTs a form to the token (or revocation) endpoint, authenticating as the client: HTTP
/// Basic for a confidential `client_secret_basic` client, else `client_id` in the body, with
/// the secret beside it unless the client was registered as public (`none`, RFC 7591 §2: it
/// authenticates with no secret, even if the AS handed it one).
pub async fn post_form(
    http: &Http,
    endpoint: &Url,
    client: &RegisteredClient,
    params: &Params,
) -> Result<Response, TransportError> {
    let mut req = Request::post(endpoint.clone()).header("accept", "application/json");
    let mut pairs = params.to_pairs();
    if client.uses_basic()
        && let Some(secret) = &client.client_secret
    {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            enc(&client.client_id),
            enc(secret.expose())
        ));
        req = req.header("authorization", &format!("Basic {basic}"));
        pairs.retain(|(k, _)| k != "client_id");
    } else if let Some(secret) = &client.client_secret
        && client.token_endpoint_auth_method != "none"
    {
        pairs.push(("client_secret".into(), secret.expose().to_string()));
    }
    http.send(req.form(pairs)).await
}

/// RFC 7009 revocation of a token.
pub async fn revoke(
    http: &Http,
    endpoint: &Url,
    client: &RegisteredClient,
    token: &Secret,
    hint: &str,
) -> Result<Response, TransportError> {
    let params = Params::new()
        .set(Param::Token, token)
        .set(Param::TokenTypeHint, hint)
        .set(Param::ClientId, client.client_id.clone());
    post_form(http, endpoint, client, &params).await
}

/// An RFC 7662 introspection request for `token`, authenticated as `client` authenticates at
/// the token endpoint.
pub async fn introspect(
    http: &Http,
    endpoint: &Url,
    client: &RegisteredClient,
    token: &Secret,
    hint: &str,
) -> Result<Response, TransportError> {
    let params = Params::new()
        .set(Param::Token, token)
        .set(Param::TokenTypeHint, hint)
        .set(Param::ClientId, client.client_id.clone());
    post_form(http, endpoint, client, &params).await
}

/// A successful token response.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret,
    pub token_type: String,
    pub expires_in: Option<u64>,
    pub refresh_token: Option<Secret>,
    pub scope: Option<String>,
}

impl TokenSet {
    /// Reads a token response; the error says what is missing.
    pub fn from_response(resp: &Response) -> Result<TokenSet, String> {
        if !resp.status.is_success() {
            return Err(format!("status {}", resp.status.as_u16()));
        }
        let body = resp.json_object()?;
        let access_token = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or("no access_token")?;
        let token_type = body
            .get("token_type")
            .and_then(Value::as_str)
            .ok_or("no token_type")?;
        Ok(TokenSet {
            access_token: Secret::new(access_token),
            token_type: token_type.to_string(),
            expires_in: body.get("expires_in").and_then(Value::as_u64),
            refresh_token: body
                .get("refresh_token")
                .and_then(Value::as_str)
                .map(Secret::new),
            scope: body
                .get("scope")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}

/// An OAuth error response body (`error`, `error_description`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: String,
    pub description: Option<String>,
}

impl OAuthError {
    pub fn from_response(resp: &Response) -> Option<OAuthError> {
        let body = resp.json_object().ok()?;
        Some(OAuthError {
            error: body.get("error")?.as_str()?.to_string(),
            description: body
                .get("error_description")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}
