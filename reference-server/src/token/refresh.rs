//! The `refresh_token` grant (REFRESH-*): a refresh token is used once, by its client, for no
//! more than its grant, and is replaced by a new one each time.

use super::issue::{Issued, issue, issue_shared};
use super::one;
use crate::defects::Defect;
use crate::error::OAuthError;
use crate::params::Params;
use crate::resource_binding::check_resource;
use crate::scope::check_scope_in;
use crate::state::SharedState;
use crate::store::{Client, Grant, RedisStore, RefreshEntry, Store, Tables};
use crate::variants::offered;

/// The refresh token's checks, in order, atomic with its rotation: under the memory store's
/// lock, or with the Redis store's atomic rotation.
pub(super) async fn refresh(
    state: &SharedState,
    client: &Client,
    params: &Params,
) -> Result<Issued, OAuthError> {
    let Some(token) = one(params, "refresh_token") else {
        return Err(OAuthError::invalid_request("refresh_token is missing"));
    };
    match &state.store {
        Store::Memory(m) => refresh_locked(state, &mut m.lock(), client, params, token),
        Store::Redis(r) => refresh_shared(state, r, client, params, token).await,
    }
}

fn refresh_locked(
    state: &SharedState,
    t: &mut Tables,
    client: &Client,
    params: &Params,
    token: &str,
) -> Result<Issued, OAuthError> {
    let (entry, grant) = find_refresh_token(state, t, token)?; // REFRESH-10
    check_client_binding(state, &grant, client)?; // REFRESH-04
    check_not_revoked(state, &entry.grant_id, &grant)?;
    check_single_use(state, t, &entry)?; // REFRESH-02, REFRESH-03
    let scope = refreshed_scope(state, &grant, one(params, "scope"))?; // REFRESH-05, REFRESH-06
    check_same_resource(state, t, &entry, &grant, params)?; // REFRESH-07
    rotate(state, t, token, &entry, &scope) // REFRESH-01
}

/// [`refresh_locked`] with the Redis store: the checks on the token as read, then its rotation
/// in one atomic operation (a rotation that loses is a reuse).
async fn refresh_shared(
    state: &SharedState,
    r: &RedisStore,
    client: &Client,
    params: &Params,
    token: &str,
) -> Result<Issued, OAuthError> {
    let Some((entry, mut grant)) = r.refresh_token(token).await? else {
        if state.defect(Defect::UnknownRefreshServerError) {
            return Err(OAuthError::server_error());
        }
        return Err(OAuthError::invalid_grant(
            "the refresh token is invalid or has expired",
        ));
    }; // REFRESH-10
    check_client_binding(state, &grant, client)?; // REFRESH-04
    check_not_revoked(state, &entry.grant_id, &grant)?;
    let checked = !state.defect(Defect::RefreshSingleUseRace);
    if entry.rotated && checked {
        return Err(reused_shared(state, r, &entry.grant_id).await); // REFRESH-02, REFRESH-03
    }
    let scope = refreshed_scope(state, &grant, one(params, "scope"))?; // REFRESH-05, REFRESH-06
    if !params.all("resource").is_empty() {
        // REFRESH-07
        let resource = check_resource(state, params.all("resource"))?;
        if resource != grant.resource && state.defect(Defect::RefreshResourceUnbound) {
            r.set_grant_resource(&entry.grant_id, &resource).await?;
            grant.resource = resource;
        } else if resource != grant.resource {
            return Err(OAuthError::invalid_target(
                "resource differs from the grant",
            ));
        }
    }
    // REFRESH-01
    if state.defect(Defect::RefreshNotRotated) {
        let mut issued =
            issue_shared(state, r, &entry.grant_id, &grant, &scope, true, false).await?;
        issued.set_refresh_token(token);
        return Ok(issued);
    }
    if !r.rotate_refresh(token).await? && checked {
        return Err(reused_shared(state, r, &entry.grant_id).await);
    }
    issue_shared(state, r, &entry.grant_id, &grant, &scope, true, true).await
}

/// REFRESH-03 with the Redis store: a reused refresh token revokes its grant.
async fn reused_shared(state: &SharedState, r: &RedisStore, grant_id: &str) -> OAuthError {
    let revoked = if state.defect(Defect::FamilyRevocationPerInstance) {
        // Recorded at this instance alone (REPL-06).
        r.grant_access_tokens(grant_id).await.map(|tokens| {
            let ttl = state.config.refresh_token_ttl;
            state.local_revocations.revoke(grant_id, &tokens, ttl);
        })
    } else if state.defect(Defect::RefreshReuseKeepsAccessTokens) {
        r.mark_grant_revoked(grant_id).await
    } else if !state.defect(Defect::RefreshReuseUndetected) {
        r.revoke_grant(grant_id).await
    } else {
        Ok(())
    };
    if let Err(e) = revoked {
        return e;
    }
    tracing::warn!("refresh token reused; its grant was revoked");
    OAuthError::invalid_grant("the refresh token has already been used")
}

/// A revoked grant's refresh tokens are refused: revoked in the store, or (under the
/// `family-revocation-per-instance` defect) by a reuse this instance saw.
fn check_not_revoked(state: &SharedState, grant_id: &str, grant: &Grant) -> Result<(), OAuthError> {
    if grant.revoked || state.local_revocations.grant_revoked(grant_id) {
        return Err(OAuthError::invalid_grant(
            "the refresh token has been revoked",
        ));
    }
    Ok(())
}

/// REFRESH-10: an unknown or expired refresh token gets `invalid_grant`.
fn find_refresh_token(
    state: &SharedState,
    t: &Tables,
    token: &str,
) -> Result<(RefreshEntry, Grant), OAuthError> {
    let unknown = || OAuthError::invalid_grant("the refresh token is invalid or has expired");
    let Some(entry) = t.refresh_tokens.get(token).cloned() else {
        if state.defect(Defect::UnknownRefreshServerError) {
            return Err(OAuthError::server_error());
        }
        return Err(unknown());
    };
    let grant = t.grants.get(&entry.grant_id).cloned().ok_or_else(unknown)?;
    Ok((entry, grant))
}

/// REFRESH-04: a refresh token is bound to the client it was issued to.
fn check_client_binding(
    state: &SharedState,
    grant: &Grant,
    client: &Client,
) -> Result<(), OAuthError> {
    if grant.client_id != client.client_id && !state.defect(Defect::RefreshNotClientBound) {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    Ok(())
}

/// REFRESH-02: a replaced refresh token is refused; REFRESH-03: and its reuse revokes the grant.
fn check_single_use(
    state: &SharedState,
    t: &mut Tables,
    entry: &RefreshEntry,
) -> Result<(), OAuthError> {
    if entry.rotated && !state.defect(Defect::RefreshSingleUseRace) {
        if state.defect(Defect::FamilyRevocationPerInstance) {
            // Recorded at this instance alone (REPL-06).
            let tokens = t
                .grants
                .get(&entry.grant_id)
                .map(|g| g.access_tokens.clone())
                .unwrap_or_default();
            let ttl = state.config.refresh_token_ttl;
            state
                .local_revocations
                .revoke(&entry.grant_id, &tokens, ttl);
        } else if state.defect(Defect::RefreshReuseKeepsAccessTokens) {
            // The grant's refresh tokens die with it; its access tokens are not revoked.
            if let Some(grant) = t.grants.get_mut(&entry.grant_id) {
                grant.revoked = true;
            }
        } else if !state.defect(Defect::RefreshReuseUndetected) {
            t.revoke_grant(&entry.grant_id);
        }
        tracing::warn!("refresh token reused; its grant was revoked");
        return Err(OAuthError::invalid_grant(
            "the refresh token has already been used",
        ));
    }
    Ok(())
}

/// REFRESH-05: the scope is never wider than the grant's; REFRESH-06: by default it is the
/// grant's.
fn refreshed_scope(
    state: &SharedState,
    grant: &Grant,
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    match requested {
        None if state.defect(Defect::RefreshScopeDropped) => Ok(Vec::new()),
        None => Ok(grant.scope.clone()),
        Some(s) if state.defect(Defect::RefreshScopeWidening) => Ok(s
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(s) => {
            let requested = check_scope_in(Some(s), &offered::scopes_supported(state))?;
            if let Some(extra) = requested.iter().find(|s| !grant.scope.contains(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {extra} was not granted"
                )));
            }
            Ok(requested)
        }
    }
}

/// REFRESH-07: a refresh stays bound to the resource that was consented to.
fn check_same_resource(
    state: &SharedState,
    t: &mut Tables,
    entry: &RefreshEntry,
    grant: &Grant,
    params: &Params,
) -> Result<(), OAuthError> {
    if params.all("resource").is_empty() {
        return Ok(());
    }
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
    Ok(())
}

/// REFRESH-01: the refresh token is replaced by a new one (rotation), and marked used.
fn rotate(
    state: &SharedState,
    t: &mut Tables,
    token: &str,
    entry: &RefreshEntry,
    scope: &[String],
) -> Result<Issued, OAuthError> {
    if state.defect(Defect::RefreshNotRotated) {
        let mut issued = issue(state, t, &entry.grant_id, scope, true, false)?;
        issued.set_refresh_token(token);
        return Ok(issued);
    }
    if let Some(e) = t.refresh_tokens.get_mut(token) {
        e.rotated = true;
    }
    // RFC 6749 §6: a refresh without scope asks for the scope originally granted.
    issue(state, t, &entry.grant_id, scope, true, true)
}
