//! Issuing tokens within a grant, and the successful token response.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::clock::NumericDate;
use crate::crypto::{self, AccessClaims, Audience};
use crate::defects::Defect;
use crate::error::OAuthError;
use crate::protocol::GrantType;
use crate::state::SharedState;
use crate::store::{Grant, Minted, RedisStore, RefreshEntry, Tables};
use crate::variants::Variant;

/// Tokens issued within a grant under the store's lock, the access token not yet signed:
/// signing is the slowest step of a token request and needs no lock, so it happens in
/// [`Issued::into_body`] once the lock is released. The token's `jti` is already recorded in
/// its grant, so a revocation in between still reaches it.
#[derive(Debug)]
pub(super) struct Issued {
    claims: AccessClaims,
    /// An opaque access token, already stored; `None`: a JWT signed from `claims`.
    opaque: Option<String>,
    /// The token response without `access_token`.
    body: Value,
}

impl Issued {
    /// The refresh token the response names (REFRESH-01 broken on purpose: the presented one).
    pub(super) fn set_refresh_token(&mut self, token: &str) {
        self.body["refresh_token"] = json!(token);
    }

    /// The token response, the access token signed.
    pub(super) fn into_body(self, state: &SharedState) -> Result<Value, OAuthError> {
        let access_token = match self.opaque {
            Some(token) => token,
            None => state.signer.sign(&self.claims).map_err(|e| {
                tracing::error!(error = %e, "signing failed");
                OAuthError::server_error()
            })?,
        };
        let mut body = self.body;
        body["access_token"] = json!(access_token);
        Ok(body)
    }
}

/// Mints an access token (and, when allowed, a new refresh token) within a grant, under the
/// memory store's lock. `as_requested` says that `scope` is exactly what the request asked for
/// (not a default).
pub(super) fn issue(
    state: &SharedState,
    t: &mut Tables,
    grant_id: &str,
    scope: &[String],
    as_requested: bool,
    with_refresh: bool,
) -> Result<Issued, OAuthError> {
    // What the token names of its grant; not the whole grant, whose list of access tokens
    // grows with every refresh.
    let Some(of) = t.grants.get(grant_id).map(GrantOf::new) else {
        return Err(OAuthError::server_error());
    };
    let (issued, minted) = mint(state, of, scope, as_requested, with_refresh);
    if let Some((token, claims, ttl)) = minted.opaque {
        t.opaque_access_tokens.insert(token, claims, ttl)?;
    }
    if let Some(g) = t.grants.get_mut(grant_id) {
        g.access_tokens.push((minted.jti, minted.exp.whole_secs()));
    }
    if let Some((rt, ttl)) = minted.refresh {
        t.refresh_tokens.insert(
            rt,
            RefreshEntry {
                grant_id: grant_id.to_string(),
                rotated: false,
            },
            ttl,
        )?;
    }
    Ok(issued)
}

/// [`issue`] with the Redis store: `grant` is the grant as read.
pub(super) async fn issue_shared(
    state: &SharedState,
    r: &RedisStore,
    grant_id: &str,
    grant: &Grant,
    scope: &[String],
    as_requested: bool,
    with_refresh: bool,
) -> Result<Issued, OAuthError> {
    let (issued, minted) = mint(
        state,
        GrantOf::new(grant),
        scope,
        as_requested,
        with_refresh,
    );
    r.record_issued(grant_id, minted).await?;
    Ok(issued)
}

/// What an access token names of its grant.
struct GrantOf {
    subject: String,
    client_id: String,
    resource: String,
}

impl GrantOf {
    fn new(g: &Grant) -> Self {
        GrantOf {
            subject: g.subject.clone(),
            client_id: g.client_id.clone(),
            resource: g.resource.clone(),
        }
    }
}

/// The tokens and the response body, and what the store must record of them.
fn mint(
    state: &SharedState,
    grant: GrantOf,
    scope: &[String],
    as_requested: bool,
    with_refresh: bool,
) -> (Issued, Minted) {
    let GrantOf {
        subject,
        client_id,
        resource,
    } = grant;
    // SCOPE-06: with the `granted-scope-unstated` defect the grant is narrowed unannounced.
    let unstated = state.defect(Defect::GrantedScopeUnstated) && scope.len() > 1;
    let scope = if unstated { &scope[..1] } else { scope };
    let now = crate::clock::now_secs();
    let (exp, ttl) = lifetime(state, &client_id, now);
    let jti = crypto::random_token(16);
    let claims = AccessClaims {
        iss: state.urls.issuer.clone(),
        sub: subject,
        aud: audience(state, &resource),
        client_id,
        scope: scope.join(" "),
        exp,
        iat: now,
        jti: jti.clone(),
    };
    // An opaque token: the MCP server looks it up (RFC 7662 for others).
    let opaque = state
        .opaque_access_tokens()
        .then(|| crypto::random_token(32));
    let mut body = json!({
        "token_type": token_type(state),
        "expires_in": ttl,
        // SCOPE-06: the granted scope is stated; the `scope-omitted` variant leaves it out
        // when it is the requested one (RFC 6749 §5.1: OPTIONAL if identical).
        "scope": scope.join(" "),
    });
    // LEG-07: the lifetime is stated (RFC 6749 §5.1: RECOMMENDED).
    if state.defect(Defect::LegacyExpiresInMissing)
        && let Some(obj) = body.as_object_mut()
    {
        obj.remove("expires_in");
    }
    let left_out = state.variant(Variant::ScopeOmitted) && as_requested;
    if (unstated || left_out)
        && let Some(obj) = body.as_object_mut()
    {
        obj.remove("scope");
    }
    let refresh = with_refresh.then(|| {
        // REFRESH-11: 256 random bits (4 bytes with the `refresh-token-guessable` defect).
        let bytes = if state.defect(Defect::RefreshTokenGuessable) {
            4
        } else {
            32
        };
        let rt = crypto::random_token(bytes);
        body["refresh_token"] = json!(rt);
        (rt, state.config.refresh_token_ttl)
    });
    let minted = Minted {
        opaque: opaque
            .clone()
            .map(|t| (t, claims.clone(), Duration::from_secs(ttl))),
        jti,
        exp,
        refresh,
    };
    let issued = Issued {
        claims,
        opaque,
        body,
    };
    (issued, minted)
}

/// The access token's `exp` and its stated lifetime (`expires_in`, whole seconds). REFRESH-12:
/// short-lived (a day with the `access-token-long-lived` defect). A client with a lifetime of
/// its own ([`Config::own_access_token_ttl`](crate::config::Config::own_access_token_ttl)) may
/// have one under a second: `exp` is then that long after now, with its fraction (RFC 7519 §2:
/// a NumericDate "can contain fractional seconds"), and `expires_in` the whole seconds at
/// least that long.
fn lifetime(state: &SharedState, client_id: &str, now: u64) -> (NumericDate, u64) {
    if state.defect(Defect::AccessTokenLongLived) {
        return (NumericDate::whole(now + 24 * 3600), 24 * 3600);
    }
    let Some(ttl) = state.config.own_access_token_ttl(client_id) else {
        let secs = state.config.access_token_ttl.as_secs().max(1);
        return (NumericDate::whole(now + secs), secs);
    };
    let exp = NumericDate::precise(crate::clock::now_secs_f64() + ttl.as_secs_f64());
    (exp, ttl.as_secs_f64().ceil().max(1.0) as u64)
}

/// `token_type`: `Bearer`, or `bearer` with the `token-type-lowercase` variant (RFC 6749 §5.1:
/// the value is case insensitive).
fn token_type(state: &SharedState) -> &'static str {
    if state.variant(Variant::TokenTypeLowercase) {
        "bearer"
    } else {
        "Bearer"
    }
}

/// The `aud` claim: the resource, or (`aud-array` variant) an array holding it (RFC 7519 §4.1.3).
fn audience(state: &SharedState, resource: &str) -> Audience {
    if state.variant(Variant::AudArray) {
        Audience::Many(vec![resource.to_string()])
    } else {
        Audience::One(resource.to_string())
    }
}

/// A successful token response. CODE-01: never cached; REFRESH-09: a refresh's neither.
pub(super) fn token_response(
    state: &SharedState,
    grant_type: Option<GrantType>,
    body: Value,
) -> Response {
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
