//! Several instances of one authorization server (`--replicas N`), as behind a load balancer:
//! each further instance listens on a loopback port of its own and serves the same routes.
//! Normally every instance serves from the one state, so a code redeemed or a refresh token
//! replaced or revoked at one is spent at all of them (REPL-01..06).
//!
//! The `family-revocation-per-instance` defect gives each instance a state of its own around
//! the one store: what a reuse revokes is kept in that state's memory (see [`crate::family`]).
//!
//! The `store-per-instance` defect gives each instance a state of its own: its own store, the
//! same signing key, configuration and URLs. What one instance issues reaches the others after
//! each request (as self-contained codes and tokens, or a shared database of issued ones,
//! would), but what it spends stays its own: the production bug of instances that each keep
//! an in-memory record of used codes and of rotated and revoked refresh tokens.

use std::sync::{Arc, Weak};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::defects::Defect;
use crate::state::{AppState, SharedState, StartError};
use crate::store::Store;

/// The states of the `n` further instances of `primary`'s deployment: `primary` itself, shared,
/// unless the `store-per-instance` defect gives each a state (and store) of its own, or the
/// `family-revocation-per-instance` defect a state of its own around the one store.
pub fn instance_states(primary: &SharedState, n: usize) -> Result<Vec<SharedState>, StartError> {
    // REPL-01, REPL-02, REPL-03, REPL-04, REPL-05, REPL-06: every instance spends and revokes
    // in the one store.
    if n == 0
        || !(primary.defect(Defect::StorePerInstance)
            || primary.defect(Defect::FamilyRevocationPerInstance))
    {
        return Ok(vec![primary.clone(); n]);
    }
    // The `family-revocation-per-instance` defect: the one store, and a memory of its own each
    // (see [`crate::family`]).
    if !primary.defect(Defect::StorePerInstance) {
        return (0..n)
            .map(|_| AppState::another_instance(primary).map(Arc::new))
            .collect();
    }
    let mut replicas = Vec::with_capacity(n);
    for _ in 0..n {
        replicas.push(Arc::new(AppState::with_signer(
            primary.config.clone(),
            primary.urls.clone(),
            primary.signer.clone(),
        )?));
    }
    let all: Vec<&SharedState> = std::iter::once(primary).chain(&replicas).collect();
    for (i, state) in all.iter().enumerate() {
        let peers: Vec<Weak<AppState>> = all
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, s)| Arc::downgrade(s))
            .collect();
        let _ = state.peers.set(peers);
    }
    Ok(replicas)
}

/// `router` of `state`'s instance, passing what the instance issued to its peers after each
/// request where it has peers of its own (`store-per-instance`).
pub fn with_propagation(router: Router, state: &SharedState) -> Router {
    if state.peers.get().is_none_or(Vec::is_empty) {
        return router;
    }
    router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        propagate,
    ))
}

async fn propagate(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let Some(peers) = state.peers.get() else {
        return resp;
    };
    // Copied out of this store's lock before another store's is taken: two instances passing
    // to each other at once never wait on each other.
    let Store::Memory(own) = &state.store else {
        return resp;
    };
    let issued = own.lock().issued();
    for peer in peers.iter().filter_map(Weak::upgrade) {
        if let Store::Memory(theirs) = &peer.store {
            theirs.lock().adopt_issued(&issued);
        }
    }
    resp
}
