//! The `client_credentials` grant: tokens for a confidential client itself (TOK-09 has checked,
//! before, that the client is confidential and registered for it).

use super::issue::{Issued, issue, issue_shared};
use super::one;
use crate::crypto;
use crate::error::OAuthError;
use crate::params::Params;
use crate::resource_binding::check_resource;
use crate::scope::check_scope_in;
use crate::state::SharedState;
use crate::store::{Client, Grant, Store};
use crate::variants::offered;

/// The scope and resource asked for (SCOPE-08, RES-02..05), then an access token: no refresh
/// token for this grant.
pub(super) async fn client_credentials(
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
    let as_requested = one(params, "scope").is_some();
    match &state.store {
        Store::Memory(m) => {
            let mut t = m.lock();
            t.grants
                .insert(grant_id.clone(), grant, state.config.access_token_ttl)?;
            issue(state, &mut t, &grant_id, &scope, as_requested, false)
        }
        Store::Redis(r) => {
            r.put_grant(&grant_id, &grant, state.config.access_token_ttl)
                .await?;
            issue_shared(state, r, &grant_id, &grant, &scope, as_requested, false).await
        }
    }
}
