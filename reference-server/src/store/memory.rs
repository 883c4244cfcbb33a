//! The in-memory store: bounded tables whose entries expire. One lock guards all of them, so that
//! an operation spanning several tables (redeeming a code, rotating a refresh token) is atomic.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Client, ClientLifetime, CodeEntry, Grant, PendingAuthorization, RefreshEntry};
use crate::error::OAuthError;

pub mod replication;

/// A table whose entries expire and whose size is bounded.
#[derive(Debug)]
pub struct Table<V> {
    map: HashMap<String, (Instant, V)>,
    capacity: usize,
}

impl<V> Table<V> {
    pub fn new(capacity: usize) -> Self {
        Table {
            map: HashMap::new(),
            capacity,
        }
    }

    /// Inserts `value` under `key` for `ttl`. When full, expired entries are dropped first;
    /// when still full, the insert fails with `temporarily_unavailable`.
    pub fn insert(&mut self, key: String, value: V, ttl: Duration) -> Result<(), OAuthError> {
        let now = Instant::now();
        if self.map.len() >= self.capacity && !self.map.contains_key(&key) {
            self.map.retain(|_, (exp, _)| *exp > now);
            if self.map.len() >= self.capacity {
                return Err(OAuthError::new(
                    crate::error::ErrorCode::TemporarilyUnavailable,
                    "the server's store is full",
                ));
            }
        }
        let expires = now
            .checked_add(ttl)
            .unwrap_or(now + Duration::from_secs(3600 * 24 * 365));
        self.map.insert(key, (expires, value));
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.map
            .get(key)
            .filter(|(exp, _)| *exp > Instant::now())
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.map
            .get_mut(key)
            .filter(|(exp, _)| *exp > Instant::now())
            .map(|(_, v)| v)
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.map
            .remove(key)
            .filter(|(exp, _)| *exp > Instant::now())
            .map(|(_, v)| v)
    }

    /// The keys of the live entries that `pred` accepts.
    pub fn keys_where(&self, pred: impl Fn(&V) -> bool) -> Vec<String> {
        let now = Instant::now();
        self.map
            .iter()
            .filter(|(_, (exp, v))| *exp > now && pred(v))
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The client table. Registered clients belong to the address that registered them; when the
/// table is full, the address holding the most clients gives one up (its oldest unused one,
/// else its oldest) to an address holding fewer, so that no address, however fast it
/// registers, can keep another from registering. Clients registered at start belong to no
/// address and are never given up.
#[derive(Debug)]
pub struct Clients {
    slots: HashMap<String, ClientSlot>,
    holdings: HashMap<IpAddr, Holdings>,
    capacity: usize,
    next_seq: u64,
    /// Expired clients are swept out of a full table at most once a second.
    next_sweep: Instant,
}

#[derive(Debug)]
struct ClientSlot {
    client: Client,
    owner: Option<IpAddr>,
    /// Registration order.
    seq: u64,
    expires: Instant,
    /// Set until the first use: the lifetime the client then gets.
    pending_lifetime: Option<Duration>,
}

/// One address's clients in registration order, unused ones apart.
#[derive(Debug, Default)]
struct Holdings {
    unused: BTreeMap<u64, String>,
    used: BTreeMap<u64, String>,
}

impl Holdings {
    fn len(&self) -> usize {
        self.unused.len() + self.used.len()
    }

    /// The client this address gives up first: its oldest unused one, else its oldest.
    fn first_to_go(&self) -> Option<&String> {
        self.unused
            .values()
            .next()
            .or_else(|| self.used.values().next())
    }
}

fn later(now: Instant, ttl: Duration) -> Instant {
    now.checked_add(ttl)
        .unwrap_or(now + Duration::from_secs(3600 * 24 * 365))
}

fn store_full(description: &'static str) -> OAuthError {
    OAuthError::new(crate::error::ErrorCode::TemporarilyUnavailable, description)
}

impl Clients {
    pub fn new(capacity: usize) -> Self {
        Clients {
            slots: HashMap::new(),
            holdings: HashMap::new(),
            capacity,
            next_seq: 0,
            next_sweep: Instant::now(),
        }
    }

    /// Keeps a client that belongs to no address (pre-registered) for `ttl`; it is never
    /// given up to make room.
    pub fn insert(&mut self, key: String, client: Client, ttl: Duration) -> Result<(), OAuthError> {
        let now = Instant::now();
        if self.slots.len() >= self.capacity && !self.slots.contains_key(&key) {
            self.sweep(now);
            if self.slots.len() >= self.capacity {
                return Err(store_full("the server's store is full"));
            }
        }
        self.put(key, client, None, later(now, ttl), None);
        Ok(())
    }

    /// Registers a client for `owner`, the address that asked. In a full table, room is made
    /// at the expense of the address holding the most clients, unless that is `owner` itself
    /// (then the registration is refused with `temporarily_unavailable`).
    pub fn register(
        &mut self,
        client: Client,
        owner: IpAddr,
        lifetime: ClientLifetime,
    ) -> Result<(), OAuthError> {
        let now = Instant::now();
        if self.slots.len() >= self.capacity {
            if now >= self.next_sweep {
                self.sweep(now);
                self.next_sweep = later(now, Duration::from_secs(1));
            }
            if self.slots.len() >= self.capacity {
                self.make_room_for(owner)?;
            }
        }
        let key = client.client_id.clone();
        self.put(
            key,
            client,
            Some(owner),
            later(now, lifetime.unused),
            Some(lifetime.used),
        );
        Ok(())
    }

    /// Looks a live client up. A lookup is a use: an unused client gets its long lifetime.
    pub fn get(&mut self, key: &str) -> Option<&Client> {
        let now = Instant::now();
        let expired = self.slots.get(key)?.expires <= now;
        if expired {
            self.remove(key);
            return None;
        }
        let slot = self.slots.get_mut(key)?;
        if let Some(ttl) = slot.pending_lifetime.take() {
            slot.expires = later(now, ttl);
            if let Some(h) = slot.owner.and_then(|o| self.holdings.get_mut(&o))
                && let Some(id) = h.unused.remove(&slot.seq)
            {
                h.used.insert(slot.seq, id);
            }
        }
        Some(&slot.client)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// How many live or not yet swept clients `owner` holds.
    pub fn held_by(&self, owner: IpAddr) -> usize {
        self.holdings.get(&owner).map_or(0, Holdings::len)
    }

    fn put(
        &mut self,
        key: String,
        client: Client,
        owner: Option<IpAddr>,
        expires: Instant,
        pending_lifetime: Option<Duration>,
    ) {
        self.remove(&key);
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(o) = owner {
            let h = self.holdings.entry(o).or_default();
            let list = if pending_lifetime.is_some() {
                &mut h.unused
            } else {
                &mut h.used
            };
            list.insert(seq, key.clone());
        }
        self.slots.insert(
            key,
            ClientSlot {
                client,
                owner,
                seq,
                expires,
                pending_lifetime,
            },
        );
    }

    fn remove(&mut self, key: &str) {
        let Some(slot) = self.slots.remove(key) else {
            return;
        };
        let Some(owner) = slot.owner else {
            return;
        };
        if let Some(h) = self.holdings.get_mut(&owner) {
            h.unused.remove(&slot.seq);
            h.used.remove(&slot.seq);
            if h.len() == 0 {
                self.holdings.remove(&owner);
            }
        }
    }

    fn sweep(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .slots
            .iter()
            .filter(|(_, s)| s.expires <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.remove(&key);
        }
    }

    /// Gives up one client of the address holding the most, if that is not `owner` and it
    /// holds more than `owner` does.
    fn make_room_for(&mut self, owner: IpAddr) -> Result<(), OAuthError> {
        let own = self.held_by(owner);
        let victim = self
            .holdings
            .iter()
            .filter(|(addr, h)| **addr != owner && h.len() > own + 1)
            .max_by_key(|(_, h)| h.len())
            .and_then(|(_, h)| h.first_to_go().cloned());
        match victim {
            Some(key) => {
                self.remove(&key);
                Ok(())
            }
            None if own > 0 => Err(store_full(
                "the server's store is full, and this address holds its share of it",
            )),
            None => Err(store_full("the server's store is full")),
        }
    }
}

/// All tables. Reached only through `Store::lock`.
#[derive(Debug)]
pub struct Tables {
    pub clients: Clients,
    pub pending: Table<PendingAuthorization>,
    /// Login sessions: session ID → the username that logged in.
    pub sessions: Table<String>,
    /// Remembered consent (the `consent-remembered` variant): user, client and resource → the
    /// scopes approved.
    pub consents: Table<Vec<String>>,
    pub codes: Table<CodeEntry>,
    pub grants: Table<Grant>,
    pub refresh_tokens: Table<RefreshEntry>,
    /// Revoked access-token IDs, kept until the token would have expired anyway.
    pub revoked_access_tokens: Table<()>,
    /// Opaque access tokens and what they stand for (`opaque-access-tokens` variant).
    pub opaque_access_tokens: Table<crate::crypto::AccessClaims>,
    /// Wrong client secrets per client ID in the current window (TOK-10).
    pub failed_secrets: Counters,
}

/// Events per key until a whole window passes without one: when the last came, and how many.
/// A burst is counted however slowly it arrives, as long as no pause between two of its
/// events reaches the window.
#[derive(Debug, Default)]
pub struct Counters {
    map: HashMap<String, (Instant, u32)>,
    capacity: usize,
}

impl Counters {
    pub fn new(capacity: usize) -> Self {
        Counters {
            map: HashMap::new(),
            capacity,
        }
    }

    /// Counts one event for `key`, starting again from one when the last event is a window
    /// old. A full table first drops the keys whose last event is a window old, then the one
    /// whose last event is oldest.
    pub fn record(&mut self, key: &str, window: Duration) {
        if self.map.len() >= self.capacity && !self.map.contains_key(key) {
            self.map.retain(|_, (start, _)| start.elapsed() < window);
            if self.map.len() >= self.capacity
                && let Some(oldest) = self
                    .map
                    .iter()
                    .min_by_key(|(_, (start, _))| *start)
                    .map(|(k, _)| k.clone())
            {
                self.map.remove(&oldest);
            }
        }
        let entry = self
            .map
            .entry(key.to_string())
            .or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= window {
            entry.1 = 0;
        }
        entry.0 = Instant::now();
        entry.1 += 1;
    }

    pub fn get(&self, key: &str) -> Option<&(Instant, u32)> {
        self.map.get(key)
    }
}

impl Tables {
    /// Revokes every token of a grant: its refresh tokens and its access tokens (CODE-03, REFRESH-03).
    pub fn revoke_grant(&mut self, grant_id: &str) {
        let Some(grant) = self.grants.get_mut(grant_id) else {
            return;
        };
        grant.revoked = true;
        let tokens = std::mem::take(&mut grant.access_tokens);
        let now = crate::clock::now_secs();
        for (jti, exp) in tokens {
            let ttl = Duration::from_secs(exp.saturating_sub(now) + 1);
            // A full revocation list cannot be allowed to un-revoke anything: the grant stays marked.
            let _ = self.revoked_access_tokens.insert(jti, (), ttl);
        }
    }

    /// Ends every earlier grant of `subject` with `client_id` (the `one-active-grant` variant):
    /// its tokens are revoked, and the codes approved for the pair but not yet redeemed become
    /// void. Redeemed codes stay, so that a replay is still recognised as one (CODE-02).
    pub fn end_grants_of(&mut self, subject: &str, client_id: &str) {
        let pending_codes = self.codes.keys_where(|c| {
            c.subject == subject && c.client_id == client_id && c.redeemed_grant.is_none()
        });
        for code in pending_codes {
            self.codes.remove(&code);
        }
        let grants = self
            .grants
            .keys_where(|g| g.subject == subject && g.client_id == client_id && !g.revoked);
        for grant_id in grants {
            self.revoke_grant(&grant_id);
        }
    }

    /// Whether an access token was revoked: by itself, or because its grant was.
    pub fn access_token_revoked(&self, jti: &str) -> bool {
        self.revoked_access_tokens.get(jti).is_some()
    }
}

/// The in-memory backend: every table behind one lock.
#[derive(Debug)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl Tables {
    pub fn new(capacity: usize) -> Self {
        Tables {
            clients: Clients::new(capacity),
            pending: Table::new(capacity),
            sessions: Table::new(capacity),
            consents: Table::new(capacity),
            codes: Table::new(capacity),
            grants: Table::new(capacity),
            refresh_tokens: Table::new(capacity),
            revoked_access_tokens: Table::new(capacity),
            opaque_access_tokens: Table::new(capacity),
            failed_secrets: Counters::new(capacity),
        }
    }
}

impl MemoryStore {
    pub fn new(capacity: usize) -> Self {
        MemoryStore {
            tables: Mutex::new(Tables::new(capacity)),
        }
    }

    /// The tables, locked. Never hold the guard across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a table half-written in a way that matters
        // more than refusing service would, so a poisoned lock is taken over.
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::AuthMethod;

    #[test]
    fn expired_entries_are_invisible() {
        let mut t = Table::new(10);
        t.insert("a".into(), 1, Duration::ZERO).unwrap();
        t.insert("b".into(), 2, Duration::from_secs(60)).unwrap();
        assert_eq!(t.get("a"), None);
        assert_eq!(t.get("b"), Some(&2));
    }

    #[test]
    fn a_full_table_evicts_expired_entries_then_refuses() {
        let mut t = Table::new(2);
        t.insert("a".into(), 1, Duration::ZERO).unwrap();
        t.insert("b".into(), 2, Duration::from_secs(60)).unwrap();
        t.insert("c".into(), 3, Duration::from_secs(60)).unwrap();
        assert_eq!(t.len(), 2);
        assert!(t.insert("d".into(), 4, Duration::from_secs(60)).is_err());
    }

    fn client(id: &str) -> Client {
        Client {
            client_id: id.into(),
            secret: None,
            auth_method: AuthMethod::None,
            redirect_uris: vec![],
            grant_types: vec![],
            client_name: None,
            from_metadata_document: false,
            exact_loopback_port: false,
        }
    }

    fn addr(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    const LIFETIME: ClientLifetime = ClientLifetime {
        unused: Duration::from_secs(60),
        used: Duration::from_secs(3600),
    };

    #[test]
    fn an_unused_client_expires_at_its_short_lifetime_and_a_used_one_does_not() {
        let mut t = Clients::new(10);
        let short = ClientLifetime {
            unused: Duration::ZERO,
            used: Duration::from_secs(60),
        };
        t.register(client("never-used"), addr(1), short).unwrap();
        assert!(t.get("never-used").is_none());
        assert_eq!(t.held_by(addr(1)), 0, "an expired client is forgotten");
        let brief = ClientLifetime {
            unused: Duration::from_millis(50),
            used: Duration::from_secs(60),
        };
        t.register(client("used"), addr(1), brief).unwrap();
        assert!(t.get("used").is_some());
        std::thread::sleep(Duration::from_millis(80));
        assert!(
            t.get("used").is_some(),
            "a used client keeps the long lifetime"
        );
    }

    #[test]
    fn a_full_table_takes_room_from_the_address_holding_the_most() {
        let mut t = Clients::new(4);
        t.insert("pre".into(), client("pre"), Duration::from_secs(60))
            .unwrap();
        for i in 0..3 {
            t.register(client(&format!("flood{i}")), addr(1), LIFETIME)
                .unwrap();
        }
        // The flooding address used its first client: the oldest unused one goes first.
        assert!(t.get("flood0").is_some());
        let refused = t.register(client("flood3"), addr(1), LIFETIME).unwrap_err();
        assert!(refused.description.contains("share"), "{refused:?}");
        t.register(client("other"), addr(2), LIFETIME).unwrap();
        assert!(
            t.get("flood1").is_none(),
            "the oldest unused client was given up"
        );
        assert!(t.get("flood0").is_some() && t.get("flood2").is_some());
        assert!(
            t.get("pre").is_some(),
            "pre-registered clients are never given up"
        );
        assert_eq!((t.held_by(addr(1)), t.held_by(addr(2)), t.len()), (2, 1, 4));
        // Shares are even now: neither address may take from the other.
        assert!(t.register(client("other2"), addr(2), LIFETIME).is_err());
        assert!(t.register(client("flood4"), addr(1), LIFETIME).is_err());
    }
}
