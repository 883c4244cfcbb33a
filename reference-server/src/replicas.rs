//! Several instances of one authorization server (`--replicas N`), as behind a load balancer:
//! each further instance listens on a loopback port of its own and serves the same routes.
//! Normally every instance serves from the one state, so a code redeemed or a refresh token
//! replaced or revoked at one is spent at all of them (REPL-01..06), and a code past its
//! lifetime is gone from all of them (REPL-07).
//!
//! The `family-revocation-per-instance` defect gives each instance a state of its own around
//! the one store: what a reuse revokes is kept in that state's memory (see [`crate::family`]).
//!
//! The `store-per-instance` defect gives each instance a state of its own: its own store, the
//! same signing key, configuration and URLs. What one instance issues reaches the others after
//! each request (as self-contained codes and tokens, or a shared database of issued ones,
//! would), but what it spends stays its own: the production bug of instances that each keep
//! an in-memory record of used codes and of rotated and revoked refresh tokens.
//!
//! The `code-expiry-per-instance` defect keeps the one store, but each instance holds a code
//! to its lifetime only if it issued the code itself: the shared record of a code outlives the
//! code (ten times its lifetime), and only the issuing instance remembers when it ends, as
//! with instances that each keep their own expiring cache of the codes they issued in front of
//! a shared table that has no lifetime of its own (REPL-07).
//!
//! With a route header (`--route-header NAME`), the AS listener also routes as a load balancer
//! in front of the instances would: a request with `NAME: i` is served by instance `i`, so a
//! client that reaches only that listener still reaches every instance.

use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

use crate::defects::Defect;
use crate::state::{AppState, SharedState, StartError};
use crate::store::{CodeEntry, IssuerDeadline, Store};

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

/// A routing header's name as `--route-header` takes it: a valid header name.
pub fn parse_route_header(value: &str) -> Result<String, String> {
    HeaderName::from_bytes(value.as_bytes())
        .map(|_| value.to_string())
        .map_err(|_| format!("{value:?} is not a header name"))
}

/// The instances a route header reaches: the header, and the routers of the further
/// instances (without the listener's limits, which the listener's own router applies).
#[derive(Clone)]
struct Routes {
    header: HeaderName,
    instances: Vec<Router>,
}

/// The route header `config` names, checked: a valid header name.
pub fn route_header(config: &crate::config::Config) -> Result<Option<HeaderName>, StartError> {
    config
        .route_header
        .as_deref()
        .map(|h| {
            HeaderName::from_bytes(h.as_bytes())
                .map_err(|_| StartError::RouteHeader(format!("{h:?} is not a header name")))
        })
        .transpose()
}

/// `router` (the first instance's) handing a request that carries `header: i` to instance `i`
/// (1 to N: `instances[i - 1]`); `header: 0`, or no header, stays with `router`. Any other
/// value is a 400 that names the header, as a load balancer's refusal would be.
pub fn with_routes(router: Router, header: HeaderName, instances: Vec<Router>) -> Router {
    let routes = Routes { header, instances };
    router.layer(axum::middleware::from_fn_with_state(routes, route))
}

async fn route(State(routes): State<Routes>, req: Request, next: Next) -> Response {
    let Some(value) = req.headers().get(&routes.header) else {
        return next.run(req).await;
    };
    let chosen = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok());
    let instance = chosen.and_then(|i| i.checked_sub(1).map(|i| routes.instances.get(i)));
    match (chosen, instance) {
        (Some(0), _) => next.run(req).await,
        (_, Some(Some(router))) => match router.clone().oneshot(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        },
        _ => (
            StatusCode::BAD_REQUEST,
            format!(
                "{}: no such instance (0 to {})\n",
                routes.header,
                routes.instances.len()
            ),
        )
            .into_response(),
    }
}

tokio::task_local! {
    /// The name of the instance serving the request in progress (see [`serving`]).
    static SERVING: Arc<str>;
}

/// The name of the instance of `state`'s deployment listening at `index` (0: the one the
/// metadata names, then the replicas in order). Instances in processes of their own (one
/// `--store redis://`) differ by their `--instance-id`.
pub fn instance_name(state: &SharedState, index: usize) -> String {
    format!("{}#{index}", state.config.instance_id)
}

/// `router` of the instance named `name`, each request it serves knowing which instance it
/// reached ([`serving_instance`]); only the `code-expiry-per-instance` defect asks.
pub fn serving(router: Router, state: &SharedState, name: String) -> Router {
    if !state.defect(Defect::CodeExpiryPerInstance) {
        return router;
    }
    let name: Arc<str> = Arc::from(name);
    router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let name = Arc::clone(&name);
            async move { SERVING.scope(name, next.run(req)).await }
        },
    ))
}

/// The name of the instance serving the request in progress ("" outside [`serving`]: a router
/// of one instance).
pub fn serving_instance() -> String {
    SERVING.try_with(|n| n.to_string()).unwrap_or_default()
}

/// How long the store keeps a new code that lives `ttl`, and the deadline its entry carries.
/// Normally the code is kept for its lifetime alone, so that every instance finds it expired
/// (REPL-07); under `code-expiry-per-instance` the store keeps it ten times longer, and only
/// the issuing instance holds it to `ttl`.
pub fn code_lifetime(state: &SharedState, ttl: Duration) -> (Duration, Option<IssuerDeadline>) {
    if !state.defect(Defect::CodeExpiryPerInstance) {
        return (ttl, None);
    }
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    let deadline = IssuerDeadline {
        instance: serving_instance(),
        expires_at_ms: crate::clock::now_millis().saturating_add(ttl_ms),
    };
    (ttl.saturating_mul(10), Some(deadline))
}

/// Whether this instance holds `entry`, a code not yet redeemed, expired: past the deadline of
/// the instance that issued it, if that is this instance (`code-expiry-per-instance`; without
/// it the store holds no expired code at all). A redeemed code's replay is single use's to
/// judge (CODE-02), as when the store keeps it after its lifetime.
pub fn expired_here(entry: &CodeEntry) -> bool {
    entry.redeemed_grant.is_none()
        && entry.issuer_deadline.as_ref().is_some_and(|d| {
            d.instance == serving_instance() && crate::clock::now_millis() >= d.expires_at_ms
        })
}
