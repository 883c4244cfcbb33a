//! The `authorization_code` grant (CODE-*): redeeming a code, once, by the client it was issued
//! to, with the redirect URI, PKCE verifier and resource of its authorization request.

use super::issue::{Issued, issue, issue_shared};
use super::one;
use crate::crypto;
use crate::defects::Defect;
use crate::error::OAuthError;
use crate::params::Params;
use crate::pkce;
use crate::protocol;
use crate::resource_binding::check_resource;
use crate::state::SharedState;
use crate::store::{Claim, Client, CodeEntry, Grant, RedisStore, Store, Tables};
use crate::variants::offered;

/// The code's checks, in order, atomic with its single use: under the memory store's lock, or
/// with the Redis store's atomic claim.
pub(super) async fn redeem(
    state: &SharedState,
    client: &Client,
    params: &Params,
) -> Result<Issued, OAuthError> {
    let Some(code) = one(params, "code") else {
        return Err(OAuthError::invalid_request("code is missing"));
    };
    match &state.store {
        Store::Memory(m) => redeem_locked(state, &mut m.lock(), client, params, code),
        Store::Redis(r) => redeem_shared(state, r, client, params, code).await,
    }
}

/// The request is checked against the code before a replay is judged: a replay with invalid
/// parameters revokes nothing (CODE-04).
fn redeem_locked(
    state: &SharedState,
    t: &mut Tables,
    client: &Client,
    params: &Params,
    code: &str,
) -> Result<Issued, OAuthError> {
    let entry = find_code(state, t.codes.get(code).cloned())?; // CODE-08
    check_lifetime(state, &entry)?; // REPL-07
    if let Some(grant_id) = &entry.redeemed_grant
        && state.defect(Defect::CodeReplayRevokesBeforeChecks)
    {
        // CODE-04 broken on purpose: the replay revokes before the request is checked.
        t.revoke_grant(grant_id);
    }
    check_request(state, &entry, client, params)?;
    check_single_use(state, t, &entry)?; // CODE-02, CODE-03
    grant_tokens(state, t, code, entry)
}

/// [`redeem_locked`] with the Redis store: the checks on the code as read, then the grant,
/// then the code claimed for it in one atomic operation (a claim that loses is a replay).
async fn redeem_shared(
    state: &SharedState,
    r: &RedisStore,
    client: &Client,
    params: &Params,
    code: &str,
) -> Result<Issued, OAuthError> {
    let entry = find_code(state, r.code(code).await?)?; // CODE-08
    check_lifetime(state, &entry)?; // REPL-07
    if let Some(grant_id) = &entry.redeemed_grant
        && state.defect(Defect::CodeReplayRevokesBeforeChecks)
    {
        r.revoke_grant(grant_id).await?;
    }
    check_request(state, &entry, client, params)?;
    if let Some(grant_id) = &entry.redeemed_grant
        && single_use_checked(state)
    {
        return Err(replayed_shared(state, r, grant_id).await);
    }
    let grant_id = crypto::random_token(16);
    let grant = new_grant(&entry);
    r.put_grant(&grant_id, &grant, state.config.refresh_token_ttl)
        .await?;
    let keep = state.config.access_token_ttl.max(state.config.code_ttl);
    if single_use_checked(state) {
        match r.claim_code(code, &grant_id, keep).await? {
            Claim::Won => {}
            Claim::Redeemed(winner) => {
                r.delete("grant", &grant_id).await?;
                return Err(replayed_shared(state, r, &winner).await);
            }
            Claim::Gone => return Err(unknown_code(state)),
        }
    } else {
        r.overwrite_code_grant(code, &grant_id, keep).await?;
    }
    let with_refresh = entry.refresh_allowed && offered::refresh_token_issued(state, &entry.scope);
    let as_requested = !entry.scope_defaulted;
    issue_shared(
        state,
        r,
        &grant_id,
        &grant,
        &entry.scope,
        as_requested,
        with_refresh,
    )
    .await
}

/// CODE-03 with the Redis store: a replay revokes the grant the code was redeemed into.
async fn replayed_shared(state: &SharedState, r: &RedisStore, grant_id: &str) -> OAuthError {
    if !state.defect(Defect::CodeReplayNoRevoke)
        && let Err(e) = r.revoke_grant(grant_id).await
    {
        return e;
    }
    tracing::warn!("authorization code replayed; its grant was revoked");
    OAuthError::invalid_grant("the code has already been used")
}

/// The request's checks against the code, in order.
fn check_request(
    state: &SharedState,
    entry: &CodeEntry,
    client: &Client,
    params: &Params,
) -> Result<(), OAuthError> {
    check_client_binding(state, entry, client)?; // CODE-05, CIMD-13
    check_redirect_uri(state, entry, params)?; // CODE-06
    pkce::check_verifier(state, &entry.code_challenge, one(params, "code_verifier"))?; // PKCE-02, PKCE-06..10
    check_same_resource(state, entry, params) // RES-06
}

/// Whether a code's single use is checked (only the defects that break it say no).
fn single_use_checked(state: &SharedState) -> bool {
    !state.defect(Defect::CodeReusable) && !state.defect(Defect::CodeSingleUseRace)
}

fn new_grant(entry: &CodeEntry) -> Grant {
    Grant {
        subject: entry.subject.clone(),
        client_id: entry.client_id.clone(),
        scope: entry.scope.clone(),
        resource: entry.resource.clone(),
        revoked: false,
        access_tokens: vec![],
    }
}

/// CODE-08: an unknown or expired code gets `invalid_grant`.
fn find_code(state: &SharedState, found: Option<CodeEntry>) -> Result<CodeEntry, OAuthError> {
    found.ok_or_else(|| unknown_code(state))
}

/// REPL-07: a code past its lifetime is refused at every instance, as the store no longer
/// holds it; the `code-expiry-per-instance` defect keeps it there, and only the instance that
/// issued it refuses it.
fn check_lifetime(state: &SharedState, entry: &CodeEntry) -> Result<(), OAuthError> {
    if crate::replicas::expired_here(entry) {
        return Err(unknown_code(state));
    }
    Ok(())
}

fn unknown_code(state: &SharedState) -> OAuthError {
    if state.defect(Defect::UnknownCodeServerError) {
        OAuthError::server_error()
    } else {
        OAuthError::invalid_grant("the code is invalid or has expired")
    }
}

/// CODE-05: a code is bound to the client it was issued to (CIMD-13: a metadata document
/// client's too).
fn check_client_binding(
    state: &SharedState,
    entry: &CodeEntry,
    client: &Client,
) -> Result<(), OAuthError> {
    if entry.client_id != client.client_id
        && !state.defect(Defect::CodeNotClientBound)
        && !(state.defect(Defect::CimdCodeNotClientBound)
            && protocol::is_document_url(&entry.client_id))
    {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    Ok(())
}

/// CODE-06: a redirect_uri, when sent, must equal the authorization request's.
fn check_redirect_uri(
    state: &SharedState,
    entry: &CodeEntry,
    params: &Params,
) -> Result<(), OAuthError> {
    if let Some(r) = one(params, "redirect_uri")
        && r != entry.redirect_uri
        && !state.defect(Defect::TokenRedirectUriUnchecked)
    {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    Ok(())
}

/// RES-06: the resource, when sent, must be the one that was authorized.
fn check_same_resource(
    state: &SharedState,
    entry: &CodeEntry,
    params: &Params,
) -> Result<(), OAuthError> {
    if !params.all("resource").is_empty()
        && check_resource(state, params.all("resource"))? != entry.resource
    {
        return Err(OAuthError::invalid_target(
            "resource differs from the authorization request",
        ));
    }
    Ok(())
}

/// CODE-02: a code is redeemed once; CODE-03: a valid replay revokes everything issued from it.
fn check_single_use(
    state: &SharedState,
    t: &mut Tables,
    entry: &CodeEntry,
) -> Result<(), OAuthError> {
    if let Some(grant_id) = &entry.redeemed_grant
        && single_use_checked(state)
    {
        if !state.defect(Defect::CodeReplayNoRevoke) {
            t.revoke_grant(grant_id);
        }
        tracing::warn!("authorization code replayed; its grant was revoked");
        return Err(OAuthError::invalid_grant("the code has already been used"));
    }
    Ok(())
}

/// A new grant for the code, remembered in the code so that a replay can revoke it, and its
/// first tokens.
fn grant_tokens(
    state: &SharedState,
    t: &mut Tables,
    code: &str,
    entry: CodeEntry,
) -> Result<Issued, OAuthError> {
    let grant_id = crypto::random_token(16);
    let grant = new_grant(&entry);
    t.grants
        .insert(grant_id.clone(), grant, state.config.refresh_token_ttl)?;
    let mut redeemed = entry.clone();
    redeemed.redeemed_grant = Some(grant_id.clone());
    // Kept for as long as its tokens live, so that a replay can still revoke them.
    let keep = state.config.access_token_ttl.max(state.config.code_ttl);
    t.codes.insert(code.to_string(), redeemed, keep)?;
    // A refresh token only where the grants the server offers allow one.
    let with_refresh = entry.refresh_allowed && offered::refresh_token_issued(state, &entry.scope);
    let as_requested = !entry.scope_defaulted;
    issue(
        state,
        t,
        &grant_id,
        &entry.scope,
        as_requested,
        with_refresh,
    )
}
