//! Scenarios that run at once must not interfere. An authorization server may keep one active
//! grant per user and client: a new authorization ends the earlier grant, its tokens and its
//! unredeemed codes. Two scenarios logging in as the same user with the same client at once
//! would end each other's grants, and the target would be blamed for it.
//!
//! So a scenario that logs in with the run's shared client holds one for its whole life: a
//! **lease** from a small pool. The pool registers its clients lazily (registrations are the
//! scarcest requests on a rate-limited server) and at most [`FLOW_CLIENTS_AT_MOST`]; a scenario
//! that finds every client leased waits for one. With a configured client (no registration) the
//! pool holds that one, and logins are serialised: one scenario at a time holds the grant.
//!
//! Where leasing cannot prevent interference, [`Authorizations`] detects it: every
//! authorization the runner sends is counted per client, and a scenario whose client was
//! authorized by someone else since its own authorization cannot trust what became of its
//! grant (see [`crate::steps`]: such a verdict becomes a harness error saying so).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::client::registration::RegisteredClient;
use crate::verdict::{Fault, Outcome};

/// The most clients the pool registers, whatever the concurrency: scenarios beyond that many
/// that log in at once wait for a client.
pub const FLOW_CLIENTS_AT_MOST: usize = 4;

/// The clients scenarios lease for their flows.
pub struct ClientPool {
    size: usize,
    /// One permit per client that may be leased (registered or still to be registered).
    permits: Arc<Semaphore>,
    /// Clients not leased now.
    idle: Arc<Mutex<Vec<RegisteredClient>>>,
    /// How many clients exist; held while one is being made, so none is made twice.
    made: tokio::sync::Mutex<usize>,
}

/// What the pool asks for when it has no idle client: the run's first client (the configured
/// one, or the one registered once), or a newly registered one.
pub enum Make {
    First,
    Another,
}

impl ClientPool {
    /// A pool of at most `size` clients (at least one).
    pub fn new(size: usize) -> Self {
        ClientPool {
            size: size.max(1),
            permits: Arc::new(Semaphore::new(size.max(1))),
            idle: Arc::new(Mutex::new(Vec::new())),
            made: tokio::sync::Mutex::new(0),
        }
    }

    /// Leases a client: an idle one, else one `make` makes, else (when making another fails:
    /// the pool cannot grow) the next one returned. A failure to make the first client is
    /// the caller's (no registration endpoint, a refused registration).
    pub async fn lease<F, Fut>(&self, make: F) -> Outcome<ClientLease>
    where
        F: Fn(Make) -> Fut,
        Fut: std::future::Future<Output = Outcome<RegisteredClient>>,
    {
        loop {
            let permit = Arc::clone(&self.permits)
                .acquire_owned()
                .await
                .map_err(|_| Fault::Harness("the client pool was closed".into()))?;
            if let Some(client) = self.pop_idle() {
                return Ok(self.leased(client, permit));
            }
            // Every client made is leased, and this permit allows one more.
            let mut made = self.made.lock().await;
            if let Some(client) = self.pop_idle() {
                return Ok(self.leased(client, permit));
            }
            let kind = if *made == 0 {
                Make::First
            } else {
                Make::Another
            };
            match (make(kind).await, *made) {
                (Ok(client), _) => {
                    *made += 1;
                    return Ok(self.leased(client, permit));
                }
                (Err(fault), 0) => return Err(fault),
                // The pool cannot grow: one permit fewer, and wait for a client to come back.
                (Err(_), _) => permit.forget(),
            }
        }
    }

    /// The most clients the pool may hold.
    pub fn size(&self) -> usize {
        self.size
    }

    fn pop_idle(&self) -> Option<RegisteredClient> {
        self.idle.lock().ok()?.pop()
    }

    fn leased(&self, client: RegisteredClient, permit: OwnedSemaphorePermit) -> ClientLease {
        ClientLease {
            client,
            idle: Arc::clone(&self.idle),
            _permit: permit,
        }
    }
}

/// One scenario's hold on a pool client: the client returns to the pool when the lease ends.
pub struct ClientLease {
    client: RegisteredClient,
    idle: Arc<Mutex<Vec<RegisteredClient>>>,
    // Released after `drop` has put the client back.
    _permit: OwnedSemaphorePermit,
}

impl ClientLease {
    pub fn client(&self) -> &RegisteredClient {
        &self.client
    }
}

impl Drop for ClientLease {
    fn drop(&mut self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(self.client.clone());
        }
    }
}

impl std::fmt::Debug for ClientLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientLease")
            .field("client_id", &self.client.client_id)
            .finish_non_exhaustive()
    }
}

/// Every authorization the runner sent, per client ID: each counts twice, when it starts and
/// when it ends, since the grant it replaces may end at any moment in between.
#[derive(Debug, Default)]
pub struct Authorizations(Mutex<HashMap<String, u64>>);

impl Authorizations {
    /// Counts one start or end of an authorization for `client_id`; returns the count after it.
    fn count(&self, client_id: &str) -> u64 {
        let Ok(mut map) = self.0.lock() else {
            return 0;
        };
        let n = map.entry(client_id.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    /// How many starts and ends of authorizations were counted for `client_id`.
    pub fn of(&self, client_id: &str) -> u64 {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(client_id).copied())
            .unwrap_or(0)
    }
}

/// The authorizations one scenario relies on: for each client, the count before its last
/// authorization started, and how many counts were its own since.
#[derive(Debug, Default)]
pub struct OwnAuthorizations(HashMap<String, (u64, u64)>);

impl OwnAuthorizations {
    /// Counts the start of an authorization of `client_id` as this scenario's. The scenario
    /// relies on the grant of its last authorization from here on.
    pub fn started(&mut self, all: &Authorizations, client_id: &str) {
        let after = all.count(client_id);
        self.0
            .insert(client_id.to_string(), (after.saturating_sub(1), 1));
    }

    /// Counts the end of this scenario's authorization of `client_id`.
    pub fn ended(&mut self, all: &Authorizations, client_id: &str) {
        all.count(client_id);
        if let Some((_, mine)) = self.0.get_mut(client_id) {
            *mine += 1;
        }
    }

    /// Adopts an authorization made by another scenario (a shared login): the scenario relies
    /// on the grant as it was when `client_id`'s count was `at`.
    pub fn adopt(&mut self, client_id: &str, at: u64) {
        self.0.insert(client_id.to_string(), (at, 0));
    }

    /// A client this scenario relies on that someone else started or ended an authorization
    /// of since this scenario's last one started.
    pub fn interfered(&self, all: &Authorizations) -> Option<&str> {
        self.0
            .iter()
            .find(|(client_id, (before, mine))| all.of(client_id) > before + mine)
            .map(|(client_id, _)| client_id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn client(n: usize) -> RegisteredClient {
        RegisteredClient {
            client_id: format!("client-{n}"),
            client_secret: None,
            redirect_uri: url::Url::parse("http://127.0.0.1:1/cb").expect("url"),
            token_endpoint_auth_method: "none".into(),
            application_type: None,
        }
    }

    /// A maker that registers clients numbered from 1, failing past `limit`.
    fn maker(
        made: &AtomicUsize,
        limit: usize,
    ) -> impl Fn(Make) -> std::future::Ready<Outcome<RegisteredClient>> + '_ {
        move |_| {
            let n = made.fetch_add(1, Ordering::SeqCst) + 1;
            std::future::ready(if n <= limit {
                Ok(client(n))
            } else {
                Err(Fault::Harness("registration refused".into()))
            })
        }
    }

    #[tokio::test]
    async fn a_returned_client_is_leased_again_before_another_is_made() {
        let pool = ClientPool::new(3);
        let made = AtomicUsize::new(0);
        let first = pool.lease(maker(&made, 9)).await.expect("lease");
        let id = first.client().client_id.clone();
        drop(first);
        let again = pool.lease(maker(&made, 9)).await.expect("lease");
        assert_eq!(again.client().client_id, id);
        assert_eq!(made.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn leases_held_at_once_never_share_a_client_and_stop_at_the_size() {
        let pool = ClientPool::new(2);
        let made = AtomicUsize::new(0);
        let a = pool.lease(maker(&made, 9)).await.expect("lease");
        let b = pool.lease(maker(&made, 9)).await.expect("lease");
        assert_ne!(a.client().client_id, b.client().client_id);
        // A third waits until one comes back.
        let waiting = tokio::time::timeout(Duration::from_millis(50), pool.lease(maker(&made, 9)));
        assert!(waiting.await.is_err(), "a third lease must wait");
        let a_id = a.client().client_id.clone();
        drop(a);
        let c = pool.lease(maker(&made, 9)).await.expect("lease");
        assert_eq!(c.client().client_id, a_id);
        assert_eq!(made.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_pool_that_cannot_grow_serialises_on_the_clients_it_has() {
        let pool = ClientPool::new(4);
        let made = AtomicUsize::new(0);
        let a = pool.lease(maker(&made, 1)).await.expect("lease");
        let waiting = tokio::time::timeout(Duration::from_millis(50), pool.lease(maker(&made, 1)));
        assert!(waiting.await.is_err(), "no second client exists: wait");
        drop(a);
        let b = pool.lease(maker(&made, 1)).await.expect("lease");
        assert_eq!(b.client().client_id, "client-1");
    }

    #[tokio::test]
    async fn a_first_client_that_cannot_be_made_is_the_callers_fault() {
        let pool = ClientPool::new(2);
        let made = AtomicUsize::new(0);
        let err = pool.lease(maker(&made, 0)).await.expect_err("no client");
        assert!(err.to_string().contains("registration refused"), "{err}");
    }

    #[test]
    fn an_authorization_by_another_scenario_is_interference() {
        let all = Authorizations::default();
        let (mut mine, mut theirs) = (OwnAuthorizations::default(), OwnAuthorizations::default());
        for _ in 0..2 {
            mine.started(&all, "c");
            mine.ended(&all, "c");
        }
        assert_eq!(mine.interfered(&all), None, "its own are not");
        theirs.started(&all, "other");
        theirs.ended(&all, "other");
        assert_eq!(mine.interfered(&all), None, "another client's are not");
        theirs.started(&all, "c");
        assert_eq!(mine.interfered(&all), Some("c"));
    }

    #[test]
    fn an_authorization_that_overlaps_the_scenarios_own_is_interference() {
        // Theirs started first and ended after mine started: its approval may have come last
        // and ended my grant.
        let all = Authorizations::default();
        let (mut mine, mut theirs) = (OwnAuthorizations::default(), OwnAuthorizations::default());
        theirs.started(&all, "c");
        mine.started(&all, "c");
        mine.ended(&all, "c");
        assert_eq!(mine.interfered(&all), None);
        theirs.ended(&all, "c");
        assert_eq!(mine.interfered(&all), Some("c"));
        // A later authorization of its own makes the scenario rely on the new grant only.
        mine.started(&all, "c");
        mine.ended(&all, "c");
        assert_eq!(mine.interfered(&all), None);
    }

    #[test]
    fn a_shared_grant_is_interfered_with_by_any_later_authorization() {
        let all = Authorizations::default();
        let mut theirs = OwnAuthorizations::default();
        theirs.started(&all, "c");
        theirs.ended(&all, "c");
        let mut reader = OwnAuthorizations::default();
        reader.adopt("c", all.of("c"));
        assert_eq!(reader.interfered(&all), None);
        theirs.started(&all, "c");
        assert_eq!(reader.interfered(&all), Some("c"));
    }
}
