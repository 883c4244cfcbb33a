//! The `client_credentials` grant: tokens for a confidential client itself (TOK-09 has checked,
//! before, that the client is confidential and registered for it).

use super::issue::{Issued, issue};
use super::one;
use crate::crypto;
use crate::error::OAuthError;
use crate::params::Params;
use crate::resource_binding::check_resource;
use crate::scope::check_scope_in;
use crate::state::SharedState;
use crate::store::{Client, Grant};
use crate::variants::offered;

/// The scope and resource asked for (SCOPE-08, RES-02..05), then an access token: no refresh
/// token for this grant.
pub(super) fn client_credentials(
    state: &SharedState,
    client: &Client,
    params: &Params,
) -> Result<Issued, OAuthError> {
    // The scopes the metadata advertises, as at the authorization endpoint.
    let scope = check_scope_in(one(params, "scope"), &offered::scopes_supported(state))?;
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
    let as_requested = one(params, "scope").is_some();
    issue(state, &mut t, &grant_id, &scope, as_requested, false)
}
