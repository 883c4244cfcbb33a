//! The `family-revocation-per-instance` defect: a replaced refresh token reused at any instance
//! of the deployment is recognised as a reuse (every instance reads the one record of
//! rotations, in memory or in Redis), but the revocation the reuse triggers, of the live
//! refresh token and its grant's access tokens (REFRESH-03), is kept only in the memory of the
//! instance that saw it: the production bug of an instance-local deny list. That instance
//! refuses the family from then on, its introspection and its MCP server included; every other
//! instance still serves the live refresh token (REPL-06).

use std::sync::Mutex;
use std::time::Duration;

use crate::store::Table;

/// What this instance alone revoked after a reuse: grants and access tokens (their IDs).
pub struct LocalRevocations {
    tables: Mutex<Tables>,
}

struct Tables {
    grants: Table<()>,
    access_tokens: Table<()>,
}

impl LocalRevocations {
    pub fn new(capacity: usize) -> Self {
        LocalRevocations {
            tables: Mutex::new(Tables {
                grants: Table::new(capacity),
                access_tokens: Table::new(capacity),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        // A panic while holding the lock leaves sets that are still whole: keep using them.
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records `grant_id` revoked here for `ttl`, with its access tokens (ID and expiry), each
    /// until it would have expired anyway. A full table records what it can: this is a defect's
    /// record, and the request is answered as before.
    pub fn revoke(&self, grant_id: &str, access_tokens: &[(String, u64)], ttl: Duration) {
        let mut t = self.lock();
        let _ = t.grants.insert(grant_id.to_string(), (), ttl);
        let now = crate::clock::now_secs();
        for (jti, exp) in access_tokens {
            let left = Duration::from_secs(exp.saturating_sub(now) + 1);
            let _ = t.access_tokens.insert(jti.clone(), (), left);
        }
    }

    pub fn grant_revoked(&self, grant_id: &str) -> bool {
        self.lock().grants.get(grant_id).is_some()
    }

    pub fn access_token_revoked(&self, jti: &str) -> bool {
        self.lock().access_tokens.get(jti).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_revoked_here_takes_its_access_tokens_with_it() {
        let local = LocalRevocations::new(10);
        let exp = crate::clock::now_secs() + 300;
        local.revoke("g-1", &[("jti-1".into(), exp)], Duration::from_secs(60));
        assert!(local.grant_revoked("g-1"));
        assert!(local.access_token_revoked("jti-1"));
        assert!(!local.grant_revoked("g-2"));
        assert!(!local.access_token_revoked("jti-2"));
    }
}
