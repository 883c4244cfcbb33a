//! The `authorization_code` grant (CODE-*): redeeming a code, once, by the client it was issued
//! to, with the redirect URI, PKCE verifier and resource of its authorization request.

use super::issue::{Issued, issue};
use super::one;
use crate::crypto;
use crate::defects::Defect;
use crate::error::OAuthError;
use crate::params::Params;
use crate::pkce;
use crate::protocol;
use crate::resource_binding::check_resource;
use crate::state::SharedState;
use crate::store::{Client, CodeEntry, Grant, Tables};
use crate::variants::offered;

/// The code's checks, in order, under the store's lock (so single use is atomic). The request
/// is checked against the code before a replay is judged: a replay with invalid parameters
/// revokes nothing (CODE-04).
pub(super) fn redeem(
    state: &SharedState,
    client: &Client,
    params: &Params,
) -> Result<Issued, OAuthError> {
    let Some(code) = one(params, "code") else {
        return Err(OAuthError::invalid_request("code is missing"));
    };
    let mut t = state.store.lock();
    let entry = find_code(state, &t, code)?; // CODE-08
    if let Some(grant_id) = &entry.redeemed_grant
        && state.defect(Defect::CodeReplayRevokesBeforeChecks)
    {
        // CODE-04 broken on purpose: the replay revokes before the request is checked.
        t.revoke_grant(grant_id);
    }
    check_client_binding(state, &entry, client)?; // CODE-05, CIMD-13
    check_redirect_uri(state, &entry, params)?; // CODE-06
    pkce::check_verifier(state, &entry.code_challenge, one(params, "code_verifier"))?; // PKCE-02, PKCE-06..10
    check_same_resource(state, &entry, params)?; // RES-06
    check_single_use(state, &mut t, &entry)?; // CODE-02, CODE-03
    grant_tokens(state, &mut t, code, entry)
}

/// CODE-08: an unknown or expired code gets `invalid_grant`.
fn find_code(state: &SharedState, t: &Tables, code: &str) -> Result<CodeEntry, OAuthError> {
    match t.codes.get(code) {
        Some(entry) => Ok(entry.clone()),
        None if state.defect(Defect::UnknownCodeServerError) => Err(OAuthError::server_error()),
        None => Err(OAuthError::invalid_grant(
            "the code is invalid or has expired",
        )),
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
        && !state.defect(Defect::CodeReusable)
        && !state.defect(Defect::CodeSingleUseRace)
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
