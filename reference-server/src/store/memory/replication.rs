//! What one instance's store passes to another's under the `store-per-instance` defect: what
//! was issued (clients, codes, grants, refresh tokens, opaque access tokens), never what was
//! spent. An entry the other store already holds is left as it is there, so a code redeemed or
//! a refresh token replaced at one instance stays fresh at the others, as with instances that
//! each keep their own in-memory record of what has been used.

use std::time::Instant;

use super::{Client, CodeEntry, Grant, RefreshEntry, Table, Tables};
use crate::crypto::AccessClaims;

/// The live entries of the issuing tables of one store, copied out of its lock.
#[derive(Default)]
pub struct Issued {
    clients: Vec<(String, Instant, Client)>,
    codes: Vec<(String, Instant, CodeEntry)>,
    grants: Vec<(String, Instant, Grant)>,
    refresh_tokens: Vec<(String, Instant, RefreshEntry)>,
    opaque_access_tokens: Vec<(String, Instant, AccessClaims)>,
}

impl<V: Clone> Table<V> {
    fn live(&self) -> Vec<(String, Instant, V)> {
        let now = Instant::now();
        self.map
            .iter()
            .filter(|(_, (exp, _))| *exp > now)
            .map(|(k, (exp, v))| (k.clone(), *exp, v.clone()))
            .collect()
    }

    /// Takes the entries this table lacks, with their expiry, while there is room.
    fn adopt_missing(&mut self, entries: &[(String, Instant, V)]) {
        for (k, exp, v) in entries {
            if self.map.len() >= self.capacity {
                return;
            }
            self.map
                .entry(k.clone())
                .or_insert_with(|| (*exp, v.clone()));
        }
    }
}

impl Tables {
    /// What this store issued, to pass to another instance's store.
    pub fn issued(&self) -> Issued {
        Issued {
            clients: self
                .clients
                .slots
                .iter()
                .map(|(k, s)| (k.clone(), s.expires, s.client.clone()))
                .collect(),
            codes: self.codes.live(),
            grants: self.grants.live(),
            refresh_tokens: self.refresh_tokens.live(),
            opaque_access_tokens: self.opaque_access_tokens.live(),
        }
    }

    /// Takes what another instance issued and this store does not hold yet.
    pub fn adopt_issued(&mut self, issued: &Issued) {
        let now = Instant::now();
        for (k, exp, client) in &issued.clients {
            if !self.clients.slots.contains_key(k) && *exp > now {
                let _ = self.clients.insert(k.clone(), client.clone(), *exp - now);
            }
        }
        self.codes.adopt_missing(&issued.codes);
        self.grants.adopt_missing(&issued.grants);
        self.refresh_tokens.adopt_missing(&issued.refresh_tokens);
        self.opaque_access_tokens
            .adopt_missing(&issued.opaque_access_tokens);
    }
}
