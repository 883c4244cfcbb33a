//! Login and consent: the pages between a checked authorization request and its response.
//!
//! The user signs in (a session cookie remembers them), then approves or denies on a consent
//! page protected by an anti-CSRF token bound to that session. Approval issues the code
//! (AUTHZ-15: random, carrying nothing of the request) and redirects with it.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use url::Url;

use super::redirect::{Redirect, after_credentials, see_other};
use crate::config::LoginPage;
use crate::crypto;
use crate::defects::Defect;
use crate::error::{ErrorCode, LimitedBody, OAuthError};
use crate::pages;
use crate::params::Params;
use crate::replicas;
use crate::state::SharedState;
use crate::store::{CodeEntry, PendingAuthorization};
use crate::variants::Variant;

const SESSION_COOKIE: &str = "rs_session";

fn session_from(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The logged-in user of this request's session, if any.
async fn session_user(
    state: &SharedState,
    headers: &HeaderMap,
) -> Result<Option<(String, String)>, OAuthError> {
    let Some(sid) = session_from(headers) else {
        return Ok(None);
    };
    Ok(state
        .store
        .session_user(&sid)
        .await?
        .map(|user| (sid, user)))
}

/// The page of a request the store could not serve.
fn unavailable(e: OAuthError) -> Response {
    pages::error(StatusCode::SERVICE_UNAVAILABLE, &e.description)
}

/// The page of a sign-in whose pending request is gone (expired, or never was).
fn sign_in_expired() -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "this sign-in has expired; start again",
    )
}

/// The pending request `txn`, or the page to answer with instead.
async fn pending_or_page(state: &SharedState, txn: &str) -> Result<PendingAuthorization, Response> {
    match state.store.pending(txn).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(sign_in_expired()),
        Err(e) => Err(unavailable(e)),
    }
}

/// Stores the validated request and shows the login page, or the consent page to a user with a session.
pub(super) async fn begin_login(
    state: &SharedState,
    headers: &HeaderMap,
    mut pending: PendingAuthorization,
) -> Response {
    let txn = crypto::random_token(24);
    let logged_in = match session_user(state, headers).await {
        Ok(l) => l,
        Err(e) => return unavailable(e),
    };
    if let Some((sid, user)) = &logged_in {
        pending.subject = Some(user.clone());
        pending.session = Some(sid.clone());
    }
    let client_name = display_name(&pending);
    if let Err(e) = state
        .store
        .put_pending(&txn, pending, state.config.login_ttl)
        .await
    {
        return unavailable(e);
    }
    match logged_in {
        Some(_) => see_other(&format!("{}?txn={txn}", state.urls.as_route("consent"))),
        None if state.variant(Variant::LoginOtherOrigin) => {
            see_other(&other_origin_login(state, &txn))
        }
        None => login_page(state, &txn, &client_name, None),
    }
}

/// `login-other-origin`: the login page's URL on the other origin. Its form and the consent
/// page that follows use paths, so the user stays on that origin until the redirect to the
/// client.
fn other_origin_login(state: &SharedState, txn: &str) -> String {
    let here = state.urls.as_endpoint("login");
    let mut url = match Url::parse(&here) {
        Ok(u) => u,
        Err(_) => return format!("{here}?txn={txn}"),
    };
    if url.set_host(Some(Variant::OTHER_LOGIN_HOST)).is_err() {
        return format!("{here}?txn={txn}");
    }
    url.query_pairs_mut().append_pair("txn", txn);
    url.to_string()
}

/// GET of the login page on its own URL (`login-other-origin`: where the authorization
/// endpoint sends the user).
pub async fn login_form(State(state): State<SharedState>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or("").as_bytes());
    let txn = params.one("txn").ok().flatten().unwrap_or("").to_string();
    let pending = match pending_or_page(&state, &txn).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    login_page(&state, &txn, &display_name(&pending), None)
}

/// The login page, as HTML or built by a script (`--login-page`), in the shape the variants ask.
fn login_page(state: &SharedState, txn: &str, client_name: &str, error: Option<&str>) -> Response {
    let action = state.urls.as_route("login");
    if state.config.login_page == LoginPage::Js {
        return pages::login_js(
            &action,
            &state.urls.as_route(pages::LOGIN_SCRIPT),
            txn,
            client_name,
            error,
        );
    }
    let submit_script = state.urls.as_route(pages::LOGIN_SUBMIT_SCRIPT);
    let form_token = crypto::random_token(16);
    let hidden = [
        (LOGIN_FORM_FIELD, LOGIN_FORM_ID),
        (LOGIN_CSRF_FIELD, form_token.as_str()),
    ];
    let extras = pages::LoginExtras {
        hidden: if state.variant(Variant::LoginHiddenInputs) {
            &hidden
        } else {
            &[]
        },
        submit_script: state
            .variant(Variant::LoginNeedsScripts)
            .then_some(submit_script.as_str()),
    };
    let mut resp = pages::login_with(&action, txn, client_name, error, &extras);
    if state.variant(Variant::LoginHiddenInputs)
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{LOGIN_CSRF_COOKIE}={form_token}; Path=/; HttpOnly; SameSite=Lax"
        ))
    {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// The hidden inputs of the `login-hidden-inputs` variant: a form ID, and an anti-CSRF token
/// that must equal the cookie set with the page.
const LOGIN_FORM_FIELD: &str = "form_id";
const LOGIN_FORM_ID: &str = "password-login";
const LOGIN_CSRF_FIELD: &str = "login_csrf";
const LOGIN_CSRF_COOKIE: &str = "rs_login_csrf";

/// Whether the login POST returned the hidden inputs of the `login-hidden-inputs` variant.
fn hidden_inputs_returned(headers: &HeaderMap, params: &Params) -> bool {
    let field = |n: &str| params.one(n).ok().flatten().unwrap_or("");
    let cookie = cookie(headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    field(LOGIN_FORM_FIELD) == LOGIN_FORM_ID
        && !cookie.is_empty()
        && crypto::ct_eq(field(LOGIN_CSRF_FIELD), &cookie)
}

fn display_name(p: &PendingAuthorization) -> String {
    p.client_name.clone().unwrap_or_else(|| p.client_id.clone())
}

/// POST of the login form.
pub async fn login(
    State(state): State<SharedState>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Response {
    let params = Params::parse(&body);
    let field = |n: &str| params.one(n).ok().flatten().unwrap_or("").to_string();
    let txn = field("txn");
    let pending = match pending_or_page(&state, &txn).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    if state.variant(Variant::LoginHiddenInputs) && !hidden_inputs_returned(&headers, &params) {
        return pages::error(
            StatusCode::FORBIDDEN,
            "the sign-in form was not submitted from this server; start again",
        );
    }
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
    match state
        .store
        .log_in(&txn, &sid, &user, state.config.login_ttl)
        .await
    {
        Ok(true) => {}
        Ok(false) => return sign_in_expired(),
        Err(e) => return unavailable(e),
    }
    let next = if state.variant(Variant::LoginContinuePage) {
        SIGNED_IN_ROUTE
    } else {
        "consent"
    };
    let mut resp = after_credentials(&state, &format!("{}?txn={txn}", state.urls.as_route(next)));
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
async fn pending_for_session(
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
        .pending(txn)
        .await
        .map_err(|e| Box::new(unavailable(e)))?
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

/// The route of the page between login and consent (the `login-continue-page` variant).
pub const SIGNED_IN_ROUTE: &str = "signed-in";

/// GET of the page between login and consent: a Continue button that goes on to consent.
pub async fn signed_in_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or("").as_bytes());
    let txn = params.one("txn").ok().flatten().unwrap_or("").to_string();
    match pending_for_session(&state, &headers, &txn).await {
        Ok(p) => pages::signed_in(
            &state.urls.as_route("consent"),
            &txn,
            p.subject.as_deref().unwrap_or(""),
        ),
        Err(r) => *r,
    }
}

/// The key of a remembered consent: who approved which client for which resource.
fn consent_key(p: &PendingAuthorization, subject: &str) -> String {
    format!("{subject}\n{}\n{}", p.client_id, p.resource)
}

/// Whether the user already approved this client for this resource and at least these
/// scopes (the `consent-remembered` variant).
async fn consent_remembered(
    state: &SharedState,
    p: &PendingAuthorization,
) -> Result<bool, OAuthError> {
    let Some(subject) = &p.subject else {
        return Ok(false);
    };
    if !state.variant(Variant::ConsentRemembered) {
        return Ok(false);
    }
    let granted = state.store.consent(&consent_key(p, subject)).await?;
    Ok(granted.is_some_and(|granted| p.scope.iter().all(|s| granted.contains(s))))
}

/// Takes the pending request out of the store, once; a page when it cannot be.
async fn take_pending(state: &SharedState, txn: &str) -> Result<(), Response> {
    match state.store.take_pending(txn).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(pages::error(
            StatusCode::BAD_REQUEST,
            "this authorization request has expired; start again",
        )),
        Err(e) => Err(unavailable(e)),
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
    let pending = match pending_for_session(&state, &headers, &txn).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match consent_remembered(&state, &pending).await {
        Ok(true) => {
            if let Err(r) = take_pending(&state, &txn).await {
                return r;
            }
            return approve(&state, pending).await;
        }
        Ok(false) => {}
        Err(e) => return unavailable(e),
    }
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
    let pending = match pending_for_session(&state, &headers, &txn).await {
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
    if let Err(r) = take_pending(&state, &txn).await {
        return r;
    }
    if field("decision") != "approve" {
        let redirect = Redirect::new(&state, pending.redirect_uri.clone(), pending.state.clone())
            .in_mode(pending.response_mode);
        return redirect.error(OAuthError::new(
            ErrorCode::AccessDenied,
            "the user denied access",
        ));
    }
    approve(&state, pending).await
}

/// The user approved `pending` (already taken out of the store): the code, and the redirect
/// that carries it.
async fn approve(state: &SharedState, pending: PendingAuthorization) -> Response {
    let redirect = Redirect::new(state, pending.redirect_uri.clone(), pending.state.clone())
        .in_mode(pending.response_mode);
    let Some(subject) = pending.subject.clone() else {
        return pages::error(StatusCode::FORBIDDEN, "sign in first");
    };
    if state.variant(Variant::ConsentRemembered) {
        // A full table only means the next request asks again.
        let _ = state
            .store
            .remember_consent(
                &consent_key(&pending, &subject),
                pending.scope.clone(),
                state.config.refresh_token_ttl,
            )
            .await;
    }
    // AUTHZ-15: the code is random and carries nothing of the challenge.
    let code = if state.defect(Defect::ChallengeInCode) {
        format!("{}.{}", crypto::random_token(32), pending.code_challenge)
    } else {
        crypto::random_token(32)
    };
    // SEC-04: tokens never travel in a URL; only the code does.
    let leaked = if state.defect(Defect::AccessTokenInRedirect) {
        leaked_access_token(state, &pending, &subject)
    } else {
        None
    };
    // AUTHZ-13, REPL-07: the code lives as long as its client's codes do.
    let (ttl, issuer_deadline) =
        replicas::code_lifetime(state, state.config.code_ttl_of(&pending.client_id));
    let entry = CodeEntry {
        client_id: pending.client_id,
        redirect_uri: pending.redirect_uri,
        redirect_uri_sent: pending.redirect_uri_sent,
        code_challenge: pending.code_challenge,
        scope: pending.scope,
        scope_defaulted: pending.scope_defaulted,
        resource: pending.resource,
        subject,
        refresh_allowed: pending.refresh_allowed,
        redeemed_grant: None,
        issuer_deadline,
    };
    // The `one-active-grant` variant: the new authorization replaces the user's earlier
    // grant with this client.
    let end_earlier = state.variant(Variant::OneActiveGrant);
    if let Err(e) = state.store.put_code(&code, entry, ttl, end_earlier).await {
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
    pending: &PendingAuthorization,
    subject: &str,
) -> Option<String> {
    let now = crate::clock::now_secs();
    let claims = crypto::AccessClaims {
        iss: state.urls.issuer.clone(),
        sub: subject.to_string(),
        aud: pending.resource.as_str().into(),
        client_id: pending.client_id.clone(),
        scope: pending.scope.join(" "),
        exp: crate::clock::NumericDate::whole(now + state.config.access_token_ttl.as_secs().max(1)),
        iat: now,
        jti: crypto::random_token(16),
    };
    state.signer.sign(&claims).ok()
}
