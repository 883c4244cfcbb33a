//! The authorization endpoint, login and consent.
//!
//! The endpoint is one ordered list of checks (see [`authorize`]). The client and the redirect URI
//! come first: until both are trusted, every error is shown on a page and never redirected
//! (AUTHZ-04). After that, errors go back to the redirect URI with `state` and `iss`.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::config::LoginPage;
use crate::defects::Defect;
use crate::error::{ErrorCode, LimitedBody, OAuthError};
use crate::params::Params;
use crate::protocol::{
    self, GrantType, HTTP, PKCE_PLAIN, PKCE_S256, RESPONSE_TYPE_CODE, SCOPE_READ, SCOPES_SUPPORTED,
};
use crate::state::SharedState;
use crate::store::{Client, CodeEntry, PendingAuthorization};
use crate::{crypto, pages};

const SESSION_COOKIE: &str = "rs_session";

/// Where an authorization error goes once the redirect URI is trusted (O21 §4.1.2.1).
struct Redirect {
    uri: String,
    state: Option<String>,
    /// `None` only with the `iss-missing` defect.
    iss: Option<String>,
    /// Only with the `state-dropped-on-error` defect.
    drop_state_on_error: bool,
    /// Only with the `state-reencoded` defect.
    reencode_state: bool,
    /// Only with the `success-state-repeated` defect.
    repeat_state_on_success: bool,
    /// Only with the `error-description-illegal-characters` defect.
    illegal_description: bool,
}

impl Redirect {
    fn new(server: &SharedState, uri: String, state: Option<String>) -> Self {
        Redirect {
            uri,
            state,
            iss: (!server.defect(Defect::IssMissing)).then(|| server.urls.issuer.clone()),
            drop_state_on_error: server.defect(Defect::StateDroppedOnError),
            reencode_state: server.defect(Defect::StateReencoded),
            repeat_state_on_success: server.defect(Defect::SuccessStateRepeated),
            illegal_description: server.defect(Defect::ErrorDescriptionIllegalChars),
        }
    }

    /// AUTHZ-11, AUTHZ-14: the response carries `state` (byte-exact) and `iss`.
    fn to(&self, pairs: &[(&str, &str)]) -> Response {
        let mut url = match Url::parse(&self.uri) {
            Ok(u) => u,
            Err(_) => return pages::error(StatusCode::BAD_REQUEST, "invalid redirect URI"),
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
            let is_error = pairs.iter().any(|(k, _)| *k == "error");
            if let Some(s) = &self.state
                && !(is_error && self.drop_state_on_error)
            {
                if self.reencode_state {
                    let twice: String =
                        url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
                    q.append_pair("state", &twice);
                } else {
                    q.append_pair("state", s);
                }
                // AUTHZ-12: each parameter at most once.
                if !is_error && self.repeat_state_on_success {
                    q.append_pair("state", s);
                }
            }
            if let Some(iss) = &self.iss {
                q.append_pair("iss", iss);
            }
        }
        see_other(url.as_str())
    }

    fn error(&self, e: OAuthError) -> Response {
        tracing::info!(error = e.code.as_str(), description = %e.description, "authorization error redirected");
        // AUTHZ-18: error_description stays within %x20-21 / %x23-5B / %x5D-7E.
        let description = if self.illegal_description {
            format!("{} (\"refusé\")", e.description)
        } else {
            e.description.to_string()
        };
        self.to(&[
            ("error", e.code.as_str()),
            ("error_description", &description),
        ])
    }
}

/// AUTHZ-16: 303, so that a POST carrying credentials is never replayed at the target.
fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => pages::error(StatusCode::BAD_REQUEST, "invalid redirect URI"),
    }
}

/// AUTHZ-16: the answer to the login form's POST, which carries the password; with the
/// `login-redirect-307` defect a 307, which would make a browser re-send the password.
fn after_credentials(state: &SharedState, location: &str) -> Response {
    if state.defect(Defect::LoginRedirect307)
        && let Ok(v) = HeaderValue::from_str(location)
    {
        return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, v)]).into_response();
    }
    see_other(location)
}

/// AUTHZ-04: an unusable client is shown a page, never redirected (with the
/// `redirects-unknown-client-errors` defect, the error goes to whatever redirect_uri was sent).
fn refuse_client(state: &SharedState, params: &Params, message: impl AsRef<str>) -> Response {
    // Client ID metadata documents have defects of their own (CIMD-*).
    let document_client =
        matches!(params.one("client_id"), Ok(Some(id)) if protocol::is_document_url(id));
    if state.defect(Defect::RedirectsUnknownClientErrors)
        && !document_client
        && let Ok(Some(uri)) = params.one("redirect_uri")
        && Url::parse(uri).is_ok()
    {
        let state_param = params.one("state").ok().flatten().map(str::to_owned);
        return Redirect::new(state, uri.to_string(), state_param).error(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            message.as_ref().to_string(),
        ));
    }
    refuse(message)
}

fn refuse(message: impl AsRef<str>) -> Response {
    tracing::info!(
        reason = message.as_ref(),
        "authorization request refused without redirect"
    );
    pages::error(StatusCode::BAD_REQUEST, message.as_ref())
}

/// AUTHZ-02 / AUTHZ-03: exact string match, except that a loopback IP literal redirect URI may use
/// any port (O21 §8.4.2). `localhost` gets no such allowance.
pub fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (
        strip_loopback_port(registered),
        strip_loopback_port(requested),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// [`redirect_matches`], or with the `redirect-prefix-match` defect any extension of a registered URI.
fn redirect_allowed(state: &SharedState, registered: &str, requested: &str) -> bool {
    if state.defect(Defect::LoopbackPortFixed) {
        return registered == requested;
    }
    redirect_matches(registered, requested)
        || (state.defect(Defect::RedirectPrefixMatch) && requested.starts_with(registered))
        || (state.defect(Defect::LoopbackRedirectLooselyMatched)
            && loosely_equal_loopback(registered, requested))
}

/// Only for the `loopback-redirect-loosely-matched` defect: both loopback, same path but for case.
fn loosely_equal_loopback(registered: &str, requested: &str) -> bool {
    match (Url::parse(registered), Url::parse(requested)) {
        (Ok(a), Ok(b)) => {
            protocol::is_loopback_host(&a)
                && protocol::is_loopback_host(&b)
                && a.path().eq_ignore_ascii_case(b.path())
                && a.query() == b.query()
        }
        _ => false,
    }
}

/// `http://127.0.0.1:P/rest` → `http://127.0.0.1/rest`; `None` unless the host is a loopback IP literal.
fn strip_loopback_port(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix(HTTP)?.strip_prefix("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rsplit_once(':') {
        Some((h, port))
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !h.is_empty() =>
        {
            h
        }
        _ if authority.ends_with(']') || !authority.contains(':') => authority,
        _ => return None,
    };
    let ip: std::net::IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    ip.is_loopback().then(|| format!("http://{host}{tail}"))
}

/// RES-03 / RES-04: one absolute URI, no fragment, naming a resource this server serves.
pub fn check_resource(state: &SharedState, values: &[String]) -> Result<String, OAuthError> {
    let raw = match values {
        // RES-05: without `resource`, the primary MCP server is the default audience.
        [] => return Ok(state.urls.mcp()),
        [_] if state.defect(Defect::ResourceIgnored) => return Ok(state.urls.mcp()),
        [one] => one,
        _ => {
            return Err(OAuthError::invalid_target(
                "only one resource per request is supported",
            ));
        }
    };
    let url = match Url::parse(raw) {
        Ok(u) => u,
        Err(_) if state.defect(Defect::InvalidTargetAccepted) => return Ok(state.urls.mcp()),
        Err(_) => {
            return Err(OAuthError::invalid_target(
                "resource must be an absolute URI",
            ));
        }
    };
    if (url.fragment().is_some() || raw.contains('#'))
        && state.defect(Defect::InvalidTargetAccepted)
    {
        return Ok(state.urls.mcp());
    }
    if url.fragment().is_some() || raw.contains('#') {
        return Err(OAuthError::invalid_target(
            "resource must not contain a fragment",
        ));
    }
    // RES-07: scheme and host are compared case-insensitively (the URL parser folds them).
    [state.urls.mcp(), state.urls.mcp_alt()]
        .into_iter()
        .find(|served| Url::parse(served).is_ok_and(|s| s == url))
        .ok_or_else(|| OAuthError::invalid_target("this server does not serve that resource"))
}

/// SCOPE-08: every requested scope must be known; without `scope`, `mcp:read` is granted.
pub fn check_scope(requested: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let Some(raw) = requested else {
        return Ok(vec![SCOPE_READ.to_string()]);
    };
    let mut scopes: Vec<String> = Vec::new();
    for s in raw.split(' ').filter(|s| !s.is_empty()) {
        if !SCOPES_SUPPORTED.contains(&s) {
            return Err(OAuthError::invalid_scope(format!("unknown scope {s}")));
        }
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope("no scope requested"));
    }
    Ok(scopes)
}

async fn lookup_client(state: &SharedState, client_id: &str) -> Result<Client, String> {
    if protocol::is_document_url(client_id) {
        // CIMD-01: the document is fetched when the client_id is a URL.
        return state.cimd.client(client_id).await;
    }
    state
        .store
        .lock()
        .clients
        .get(client_id)
        .cloned()
        .ok_or_else(|| "unknown client_id".to_string())
}

/// GET on the authorization endpoint (AUTHZ-01).
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

/// The parameters the authorization endpoint reads (AUTHZ-09: any other is ignored).
const KNOWN_PARAMETERS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
];

/// With the `empty-parameters-kept` defect: the parameters sent without a value.
fn empty_parameters(query: &str) -> Vec<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| k.into_owned())
        .collect()
}

async fn authorize_checked(state: &SharedState, headers: &HeaderMap, query: &str) -> Response {
    let state = state.clone();
    let params = Params::parse(query.as_bytes());

    // 1. The client (AUTHZ-04, CIMD-02..08): never redirect on failure.
    let client_id = match params.one("client_id") {
        Ok(Some(id)) => id.to_string(),
        Ok(None) => return refuse_client(&state, &params, "client_id is missing"),
        Err(_) => return refuse("client_id was sent more than once"),
    };
    let client = match lookup_client(&state, &client_id).await {
        Ok(c) => c,
        Err(why) => return refuse_client(&state, &params, why),
    };

    // 2. The redirect URI (AUTHZ-02, AUTHZ-03, AUTHZ-04, CIMD-03): never redirect on failure.
    let (redirect_uri, redirect_uri_sent) = match params.one("redirect_uri") {
        Ok(Some(r))
            if client
                .redirect_uris
                .iter()
                .any(|reg| redirect_allowed(&state, reg, r))
                || (client.from_metadata_document
                    && state.defect(Defect::CimdRedirectUriUnlisted)) =>
        {
            (r.to_string(), true)
        }
        Ok(Some(_)) => return refuse("redirect_uri is not registered for this client"),
        Ok(None) if client.redirect_uris.len() == 1 => (client.redirect_uris[0].clone(), false),
        Ok(None)
            if state.defect(Defect::RedirectUriDefaulted) && !client.redirect_uris.is_empty() =>
        {
            (client.redirect_uris[0].clone(), false)
        }
        Ok(None) => return refuse("redirect_uri is required when several are registered"),
        Err(_) => return refuse("redirect_uri was sent more than once"),
    };

    // From here on, errors are redirected with `state` and `iss`.
    let state_param = params.one("state").ok().flatten().map(str::to_owned);
    let redirect = Redirect::new(&state, redirect_uri.clone(), state_param.clone());
    match check_request(&state, &params, &client, query) {
        Err(e) => redirect.error(e),
        Ok(checked) => {
            let all_loopback = client
                .redirect_uris
                .iter()
                .all(|r| Url::parse(r).is_ok_and(|u| protocol::is_loopback_host(&u)));
            let pending = PendingAuthorization {
                client_id: client.client_id.clone(),
                client_name: client.client_name.clone(),
                redirect_uri,
                redirect_uri_sent,
                all_redirects_loopback: all_loopback,
                state: state_param,
                code_challenge: checked.code_challenge,
                scope: checked.scope,
                resource: checked.resource,
                refresh_allowed: client.allows_grant(GrantType::RefreshToken),
                subject: None,
                csrf: crypto::random_token(24),
                session: None,
            };
            begin_login(&state, headers, pending)
        }
    }
}

struct CheckedRequest {
    code_challenge: String,
    scope: Vec<String>,
    resource: String,
}

/// 3.–7. The checks whose failures are redirected, in order. `query` is read again only by
/// defects (`params` has already dropped empty values, AUTHZ-08).
fn check_request(
    state: &SharedState,
    params: &Params,
    client: &Client,
    query: &str,
) -> Result<CheckedRequest, OAuthError> {
    // 3. AUTHZ-07: no parameter may repeat (except `resource`, RFC 8707 §2).
    let repeats_allowed = state.defect(Defect::RepeatedParametersAccepted);
    if let Some(rep) = params.first_repeated(&["resource"])
        && !repeats_allowed
    {
        return Err(OAuthError::invalid_request(format!(
            "parameter {} was sent more than once",
            rep.0
        )));
    }
    let one = |name: &str| match params.one(name) {
        Ok(v) => v,
        Err(_) if repeats_allowed => params.all(name).first().map(String::as_str),
        Err(_) => None,
    };
    let empties = if state.defect(Defect::EmptyParametersKept) {
        empty_parameters(query)
    } else {
        Vec::new()
    };
    let sent_empty = |name: &str| empties.iter().any(|e| e == name);

    // AUTHZ-09: unknown parameters are ignored.
    if state.defect(Defect::UnknownParameterRefused)
        && let Some((unknown, _)) = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| !KNOWN_PARAMETERS.contains(&k.as_ref()))
    {
        return Err(OAuthError::invalid_request(format!(
            "unknown parameter {unknown}"
        )));
    }

    // 4. AUTHZ-05 / AUTHZ-06: only the code flow.
    match one("response_type") {
        None if state.defect(Defect::ResponseTypeDefaulted) => {}
        None => return Err(OAuthError::invalid_request("response_type is missing")),
        Some(RESPONSE_TYPE_CODE) => {}
        Some(_) if state.defect(Defect::ResponseTypeWrongError) => {
            return Err(OAuthError::invalid_request(
                "only response_type=code is supported",
            ));
        }
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is not registered for the authorization_code grant",
        ));
    }

    // 5. PKCE-01, PKCE-03, PKCE-04, PKCE-05: S256 only, with a well-formed challenge.
    let Some(challenge) = one("code_challenge") else {
        if state.defect(Defect::PkceNotRequired)
            || state.defect(Defect::LegacyPkceNotRequired)
            || state.defect(Defect::PkceDowngrade)
            || sent_empty("code_challenge")
        {
            return Ok(CheckedRequest {
                code_challenge: String::new(),
                scope: check_scope(one("scope"))?,
                resource: check_resource(state, params.all("resource"))?,
            });
        }
        return Err(OAuthError::invalid_request("code_challenge is required"));
    };
    // PKCE-11: only the advertised S256. With the `plain-accepted-unadvertised` defect, plain
    // is accepted and its challenge stored hashed (the S256 of the verifier is then its S256).
    let plain = one("code_challenge_method") == Some(PKCE_PLAIN)
        && state.defect(Defect::PlainAcceptedUnadvertised);
    match one("code_challenge_method") {
        Some(PKCE_S256) => {}
        Some(PKCE_PLAIN) if plain => {}
        Some(_) if state.defect(Defect::PkceMethodUnchecked) => {}
        None => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method is required: plain is not supported, use S256",
            ));
        }
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256",
            ));
        }
    }
    if !crypto::is_pkce_string(challenge) {
        return Err(OAuthError::invalid_request(
            "code_challenge must be 43 to 128 unreserved characters",
        ));
    }

    // 6. SCOPE-08: an unknown scope is refused with invalid_scope.
    let scope = check_scope(one("scope").or(sent_empty("scope").then_some(""))).map_err(|e| {
        if state.defect(Defect::UnknownScopeWrongError) {
            OAuthError::invalid_request(e.description.clone())
        } else {
            e
        }
    })?;

    // 7. RES-01..05.
    let resource = check_resource(state, params.all("resource"))?;

    Ok(CheckedRequest {
        code_challenge: if plain {
            crypto::s256(challenge)
        } else {
            challenge.to_string()
        },
        scope,
        resource,
    })
}

fn session_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

/// The logged-in user of this request's session, if any.
fn session_user(state: &SharedState, headers: &HeaderMap) -> Option<(String, String)> {
    let sid = session_from(headers)?;
    let user = state.store.lock().sessions.get(&sid).cloned()?;
    Some((sid, user))
}

/// Stores the validated request and shows the login page, or the consent page to a user with a session.
fn begin_login(
    state: &SharedState,
    headers: &HeaderMap,
    mut pending: PendingAuthorization,
) -> Response {
    let txn = crypto::random_token(24);
    let logged_in = session_user(state, headers);
    if let Some((sid, user)) = &logged_in {
        pending.subject = Some(user.clone());
        pending.session = Some(sid.clone());
    }
    let client_name = display_name(&pending);
    if let Err(e) = state
        .store
        .lock()
        .pending
        .insert(txn.clone(), pending, state.config.login_ttl)
    {
        return pages::error(StatusCode::SERVICE_UNAVAILABLE, &e.description);
    }
    match logged_in {
        Some(_) => see_other(&format!("{}?txn={txn}", state.urls.as_route("consent"))),
        None => login_page(state, &txn, &client_name, None),
    }
}

/// The login page, as HTML or built by a script (`--login-page`).
fn login_page(state: &SharedState, txn: &str, client_name: &str, error: Option<&str>) -> Response {
    let action = state.urls.as_route("login");
    match state.config.login_page {
        LoginPage::Html => pages::login(&action, txn, client_name, error),
        LoginPage::Js => pages::login_js(
            &action,
            &state.urls.as_route(pages::LOGIN_SCRIPT),
            txn,
            client_name,
            error,
        ),
    }
}

fn display_name(p: &PendingAuthorization) -> String {
    p.client_name.clone().unwrap_or_else(|| p.client_id.clone())
}

/// POST of the login form.
pub async fn login(State(state): State<SharedState>, LimitedBody(body): LimitedBody) -> Response {
    let params = Params::parse(&body);
    let field = |n: &str| params.one(n).ok().flatten().unwrap_or("").to_string();
    let txn = field("txn");
    let Some(pending) = state.store.lock().pending.get(&txn).cloned() else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "this sign-in has expired; start again",
        );
    };
    let (user, pass) = (field("username"), field("password"));
    // Both are compared in constant time, and both always.
    let ok_user = crypto::ct_eq(&user, &state.config.username);
    let ok_pass = crypto::ct_eq(&pass, &state.config.password);
    if !(ok_user & ok_pass) {
        tracing::info!("login failed");
        return login_page(
            &state,
            &txn,
            &display_name(&pending),
            Some("Invalid username or password."),
        );
    }
    let sid = crypto::random_token(32);
    {
        let mut t = state.store.lock();
        if let Err(e) = t
            .sessions
            .insert(sid.clone(), user.clone(), state.config.login_ttl)
        {
            return pages::error(StatusCode::SERVICE_UNAVAILABLE, &e.description);
        }
        match t.pending.get_mut(&txn) {
            Some(p) => {
                p.subject = Some(user);
                p.session = Some(sid.clone());
            }
            None => {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "this sign-in has expired; start again",
                );
            }
        }
    }
    let mut resp = after_credentials(
        &state,
        &format!("{}?txn={txn}", state.urls.as_route("consent")),
    );
    // HttpOnly and SameSite; Secure is added when served over https.
    let secure = if state.urls.as_origin.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax{secure}"
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// The pending request named by `txn`, if this browser's session is the one that logged in.
fn pending_for_session(
    state: &SharedState,
    headers: &HeaderMap,
    txn: &str,
) -> Result<PendingAuthorization, Box<Response>> {
    let expired = || {
        Box::new(pages::error(
            StatusCode::BAD_REQUEST,
            "this authorization request has expired; start again",
        ))
    };
    let pending = state
        .store
        .lock()
        .pending
        .get(txn)
        .cloned()
        .ok_or_else(expired)?;
    let sid = session_from(headers);
    match (&pending.session, &sid) {
        (Some(a), Some(b)) if crypto::ct_eq(a, b) => Ok(pending),
        _ => Err(Box::new(pages::error(
            StatusCode::FORBIDDEN,
            "sign in first",
        ))),
    }
}

/// GET of the consent page.
pub async fn consent_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or("").as_bytes());
    let txn = params.one("txn").ok().flatten().unwrap_or("").to_string();
    let pending = match pending_for_session(&state, &headers, &txn) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let host = Url::parse(&pending.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let name = display_name(&pending);
    pages::consent(&pages::ConsentView {
        action: &state.urls.as_route("consent"),
        txn: &txn,
        csrf: &pending.csrf,
        client_name: &name,
        client_id: &pending.client_id,
        redirect_host: &host,
        all_redirects_loopback: pending.all_redirects_loopback,
        scopes: &pending.scope,
        resource: &pending.resource,
        username: pending.subject.as_deref().unwrap_or(""),
    })
}

/// POST of the consent form: checks the anti-CSRF token, then issues the code or `access_denied`.
pub async fn consent_decision(
    State(state): State<SharedState>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Response {
    let params = Params::parse(&body);
    let field = |n: &str| params.one(n).ok().flatten().unwrap_or("").to_string();
    let txn = field("txn");
    let pending = match pending_for_session(&state, &headers, &txn) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    if !crypto::ct_eq(&field("csrf"), &pending.csrf) {
        return pages::error(
            StatusCode::FORBIDDEN,
            "the consent form was not submitted from this server",
        );
    }
    // The pending request is used once, whatever the decision.
    if state.store.lock().pending.remove(&txn).is_none() {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "this authorization request has expired; start again",
        );
    }
    let redirect = Redirect::new(&state, pending.redirect_uri.clone(), pending.state.clone());
    let Some(subject) = pending.subject.clone() else {
        return pages::error(StatusCode::FORBIDDEN, "sign in first");
    };
    if field("decision") != "approve" {
        return redirect.error(OAuthError::new(
            ErrorCode::AccessDenied,
            "the user denied access",
        ));
    }
    // AUTHZ-15: the code is random and carries nothing of the challenge.
    let code = if state.defect(Defect::ChallengeInCode) {
        format!("{}.{}", crypto::random_token(32), pending.code_challenge)
    } else {
        crypto::random_token(32)
    };
    // SEC-04: tokens never travel in a URL; only the code does.
    let leaked = if state.defect(Defect::AccessTokenInRedirect) {
        leaked_access_token(&state, &pending, &subject)
    } else {
        None
    };
    let entry = CodeEntry {
        client_id: pending.client_id,
        redirect_uri: pending.redirect_uri,
        redirect_uri_sent: pending.redirect_uri_sent,
        code_challenge: pending.code_challenge,
        scope: pending.scope,
        resource: pending.resource,
        subject,
        refresh_allowed: pending.refresh_allowed,
        redeemed_grant: None,
    };
    if let Err(e) = state
        .store
        .lock()
        .codes
        .insert(code.clone(), entry, state.config.code_ttl)
    {
        return redirect.error(e);
    }
    tracing::info!("authorization code issued");
    match &leaked {
        Some(token) => redirect.to(&[("code", &code), ("access_token", token)]),
        None => redirect.to(&[("code", &code)]),
    }
}

/// Only with the `access-token-in-redirect` defect: a signed access token for the request
/// being approved, to put beside the code.
fn leaked_access_token(
    state: &SharedState,
    pending: &crate::store::PendingAuthorization,
    subject: &str,
) -> Option<String> {
    let now = crate::clock::now_secs();
    let claims = crypto::AccessClaims {
        iss: state.urls.issuer.clone(),
        sub: subject.to_string(),
        aud: pending.resource.clone(),
        client_id: pending.client_id.clone(),
        scope: pending.scope.join(" "),
        exp: now + state.config.access_token_ttl.as_secs().max(1),
        iat: now,
        jti: crypto::random_token(16),
    };
    state.signer.sign(&claims).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_except_loopback_ip_ports() {
        let reg = "http://127.0.0.1:5000/callback";
        assert!(redirect_matches(reg, reg));
        assert!(redirect_matches(reg, "http://127.0.0.1:6000/callback"));
        assert!(redirect_matches(reg, "http://127.0.0.1/callback"));
        assert!(redirect_matches("http://[::1]:1/cb", "http://[::1]:2/cb"));
        for bad in [
            "http://127.0.0.1:5000/callback/",
            "http://127.0.0.1:5000/callback/x",
            "http://127.0.0.1:5000/callback?a=1",
            "http://127.0.0.1:5000/Callback",
            "http://localhost:5000/callback",
            "https://127.0.0.1:5000/callback",
            "http://127.0.0.2:5000/callback",
        ] {
            assert!(!redirect_matches(reg, bad), "{bad}");
        }
        assert!(!redirect_matches(
            "http://localhost:1/cb",
            "http://localhost:2/cb"
        ));
        assert!(!redirect_matches(
            "https://c.example/cb",
            "https://c.example/cb/"
        ));
    }

    #[test]
    fn scopes_must_be_known() {
        assert_eq!(check_scope(None).unwrap(), vec!["mcp:read"]);
        assert_eq!(check_scope(Some("mcp:read mcp:write")).unwrap().len(), 2);
        assert_eq!(
            check_scope(Some("mcp:read harness-nonexistent"))
                .unwrap_err()
                .code,
            ErrorCode::InvalidScope
        );
    }
}
