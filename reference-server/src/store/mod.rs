//! The store: registered clients, pending authorizations, login sessions, consents, codes,
//! grants, refresh tokens, revocations, opaque access tokens and the counters of failed client
//! secrets. One type, [`Store`], with two backends:
//!
//! - [`memory`] (the default): bounded tables behind one lock, in the process;
//! - [`redis`] (`--store redis://…`): shared by every instance that names the same Redis, so
//!   that several instances behind one issuer behave as one server. Entries expire with Redis
//!   TTLs, and single use (a code, a refresh token) is one atomic Redis operation.
//!
//! The grants' multi-step operations (redeeming a code, rotating a refresh token) are written
//! per backend in `token`: under the memory lock, or with the Redis backend's atomic steps.

pub mod memory;
pub mod redis;
mod redis_grants;

pub use self::redis_grants::{Claim, Minted};

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use self::memory::{Clients, Counters, MemoryStore, Table, Tables};
pub use self::redis::RedisStore;
use crate::crypto::AccessClaims;
use crate::error::OAuthError;
use crate::limits::TooMany;
use crate::protocol::{AuthMethod, GrantType};

/// How long a registered client lives: briefly until it is first used, then long.
#[derive(Debug, Clone, Copy)]
pub struct ClientLifetime {
    /// From registration until the client is first looked up (named in an authorization
    /// request or a token request).
    pub unused: Duration,
    /// From its first use on.
    pub used: Duration,
}

/// A registered client, or one described by a client ID metadata document.
#[derive(Clone, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub secret: Option<String>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub client_name: Option<String>,
    /// True for a client whose `client_id` is the URL of its metadata document.
    pub from_metadata_document: bool,
    /// True for a web client whose loopback redirect URIs match with their port (only native
    /// clients may use any port, RFC 8252 §7.3); only the `application-type-default-web`
    /// variant registers such clients.
    pub exact_loopback_port: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("auth_method", &self.auth_method)
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.iter().any(|g| g == grant.as_str())
    }
    pub fn is_confidential(&self) -> bool {
        self.auth_method != AuthMethod::None
    }
}

/// An authorization request that has passed validation and waits for login and consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub client_id: String,
    pub client_name: Option<String>,
    /// The redirect URI the response goes to (the one sent, or the only one registered).
    pub redirect_uri: String,
    /// Whether the request carried `redirect_uri` (the token request must then match it).
    pub redirect_uri_sent: bool,
    pub all_redirects_loopback: bool,
    pub state: Option<String>,
    /// How the response goes back (the query, but for the response-mode variants).
    pub response_mode: crate::protocol::ResponseMode,
    pub code_challenge: String,
    pub scope: Vec<String>,
    /// Whether the request left out `scope`, so that the default was granted (the token
    /// response must then state it, RFC 6749 §5.1).
    pub scope_defaulted: bool,
    pub resource: String,
    /// Whether the client may have a refresh token.
    pub refresh_allowed: bool,
    /// Set once the user has logged in.
    pub subject: Option<String>,
    /// The anti-CSRF token of the consent form, bound to the session that logged in.
    pub csrf: String,
    pub session: Option<String>,
}

/// An issued authorization code and everything it is bound to (CODE-05, CODE-06, PKCE-06).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeEntry {
    pub client_id: String,
    pub redirect_uri: String,
    pub redirect_uri_sent: bool,
    pub code_challenge: String,
    pub scope: Vec<String>,
    /// As in [`PendingAuthorization`].
    pub scope_defaulted: bool,
    pub resource: String,
    pub subject: String,
    pub refresh_allowed: bool,
    /// Set once redeemed: the grant created from it, so a replay can revoke it (CODE-03).
    pub redeemed_grant: Option<String>,
    /// Only under the `code-expiry-per-instance` defect: the instance that issued the code and
    /// when its lifetime ends there (the store then keeps the code longer than that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_deadline: Option<IssuerDeadline>,
}

/// The end of a code's lifetime as the instance that issued it holds it (REPL-07's defect).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuerDeadline {
    /// The issuing instance's name ([`crate::replicas::serving_instance`]).
    pub instance: String,
    /// Milliseconds since the Unix epoch.
    pub expires_at_ms: u64,
}

/// Everything issued from one authorization: its access tokens and its refresh-token family.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub subject: String,
    pub client_id: String,
    pub scope: Vec<String>,
    pub resource: String,
    pub revoked: bool,
    /// IDs of every access token issued in this grant, with their expiry.
    pub access_tokens: Vec<(String, u64)>,
}

/// A refresh token: the grant it belongs to, and whether it has been replaced.
#[derive(Debug, Clone)]
pub struct RefreshEntry {
    pub grant_id: String,
    pub rotated: bool,
}

/// Where the server keeps its state, inside its shared state. A clone is the same store: the
/// instances of one deployment that share it (`--replicas` under the
/// `family-revocation-per-instance` defect) hold clones.
#[derive(Clone)]
pub enum Store {
    Memory(std::sync::Arc<MemoryStore>),
    Redis(RedisStore),
}

impl Store {
    /// The default backend: in memory, `capacity` entries a table.
    pub fn memory(capacity: usize) -> Self {
        Store::Memory(std::sync::Arc::new(MemoryStore::new(capacity)))
    }

    /// Keeps a client known from the start (never given up to make room).
    pub async fn preregister(&self, client: Client, ttl: Duration) -> Result<(), OAuthError> {
        match self {
            Store::Memory(m) => m
                .lock()
                .clients
                .insert(client.client_id.clone(), client, ttl),
            Store::Redis(r) => r.put_client(&client, None, None).await,
        }
    }

    /// Registers a client for the address that asked (memory: within that address's fair
    /// share of the table; Redis: bounded by the client's lifetime alone).
    pub async fn register_client(
        &self,
        client: Client,
        owner: IpAddr,
        lifetime: ClientLifetime,
    ) -> Result<(), OAuthError> {
        match self {
            Store::Memory(m) => m.lock().clients.register(client, owner, lifetime),
            Store::Redis(r) => {
                r.put_client(&client, Some(lifetime.unused), Some(lifetime.used))
                    .await
            }
        }
    }

    /// A live client. A lookup is a use: an unused client gets its long lifetime.
    pub async fn client(&self, client_id: &str) -> Result<Option<Client>, OAuthError> {
        match self {
            Store::Memory(m) => Ok(m.lock().clients.get(client_id).cloned()),
            Store::Redis(r) => r.client(client_id).await,
        }
    }

    /// The registration rate limit, counted in Redis so that every instance shares it; `None`
    /// in memory, where the process's own limiter counts.
    pub async fn count_registration(
        &self,
        ip: IpAddr,
        per_minute: u32,
    ) -> Option<Result<Result<Option<u32>, TooMany>, OAuthError>> {
        match self {
            Store::Memory(_) => None,
            Store::Redis(r) => Some(r.count_registration(ip, per_minute).await),
        }
    }

    pub async fn put_pending(
        &self,
        txn: &str,
        pending: PendingAuthorization,
        ttl: Duration,
    ) -> Result<(), OAuthError> {
        match self {
            Store::Memory(m) => m.lock().pending.insert(txn.to_string(), pending, ttl),
            Store::Redis(r) => r.set_json("pending", txn, &pending, ttl).await,
        }
    }

    pub async fn pending(&self, txn: &str) -> Result<Option<PendingAuthorization>, OAuthError> {
        match self {
            Store::Memory(m) => Ok(m.lock().pending.get(txn).cloned()),
            Store::Redis(r) => r.get_json("pending", txn).await,
        }
    }

    /// Takes the pending request out, once: a second take finds nothing.
    pub async fn take_pending(
        &self,
        txn: &str,
    ) -> Result<Option<PendingAuthorization>, OAuthError> {
        match self {
            Store::Memory(m) => Ok(m.lock().pending.remove(txn)),
            Store::Redis(r) => r.take_json("pending", txn).await,
        }
    }

    /// Opens the login session `sid` of `user`, and binds the pending request to it. `false`:
    /// the request has expired.
    pub async fn log_in(
        &self,
        txn: &str,
        sid: &str,
        user: &str,
        ttl: Duration,
    ) -> Result<bool, OAuthError> {
        match self {
            Store::Memory(m) => {
                let mut t = m.lock();
                t.sessions.insert(sid.to_string(), user.to_string(), ttl)?;
                Ok(match t.pending.get_mut(txn) {
                    Some(p) => {
                        p.subject = Some(user.to_string());
                        p.session = Some(sid.to_string());
                        true
                    }
                    None => false,
                })
            }
            Store::Redis(r) => r.log_in(txn, sid, user, ttl).await,
        }
    }

    /// The user of a login session.
    pub async fn session_user(&self, sid: &str) -> Result<Option<String>, OAuthError> {
        match self {
            Store::Memory(m) => Ok(m.lock().sessions.get(sid).cloned()),
            Store::Redis(r) => r.get_json("session", sid).await,
        }
    }

    /// The scopes a user approved for a client and resource (`consent-remembered`).
    pub async fn consent(&self, key: &str) -> Result<Option<Vec<String>>, OAuthError> {
        match self {
            Store::Memory(m) => Ok(m.lock().consents.get(key).cloned()),
            Store::Redis(r) => r.get_json("consent", key).await,
        }
    }

    pub async fn remember_consent(
        &self,
        key: &str,
        scopes: Vec<String>,
        ttl: Duration,
    ) -> Result<(), OAuthError> {
        match self {
            Store::Memory(m) => m.lock().consents.insert(key.to_string(), scopes, ttl),
            Store::Redis(r) => r.set_json("consent", key, &scopes, ttl).await,
        }
    }

    /// Stores a new code. `end_earlier` (the `one-active-grant` variant) first ends the user's
    /// earlier grants with the client.
    pub async fn put_code(
        &self,
        code: &str,
        entry: CodeEntry,
        ttl: Duration,
        end_earlier: bool,
    ) -> Result<(), OAuthError> {
        match self {
            Store::Memory(m) => {
                let mut t = m.lock();
                if end_earlier {
                    t.end_grants_of(&entry.subject, &entry.client_id);
                }
                t.codes.insert(code.to_string(), entry, ttl)
            }
            Store::Redis(r) => {
                if end_earlier {
                    r.end_grants_of(&entry.subject, &entry.client_id).await?;
                }
                r.put_code(code, &entry, ttl).await
            }
        }
    }

    /// A live code, with the grant it was redeemed into if it was.
    pub async fn code(&self, code: &str) -> Result<Option<CodeEntry>, OAuthError> {
        match self {
            Store::Memory(m) => Ok(m.lock().codes.get(code).cloned()),
            Store::Redis(r) => r.code(code).await,
        }
    }

    /// A live refresh token and its grant.
    pub async fn refresh_token(
        &self,
        token: &str,
    ) -> Result<Option<(RefreshEntry, Grant)>, OAuthError> {
        match self {
            Store::Memory(m) => {
                let t = m.lock();
                Ok(t.refresh_tokens
                    .get(token)
                    .and_then(|e| t.grants.get(&e.grant_id).map(|g| (e.clone(), g.clone()))))
            }
            Store::Redis(r) => r.refresh_token(token).await,
        }
    }

    /// Revokes every token of a grant (CODE-03, REFRESH-03, RFC 7009).
    pub async fn revoke_grant(&self, grant_id: &str) -> Result<(), OAuthError> {
        match self {
            Store::Memory(m) => {
                m.lock().revoke_grant(grant_id);
                Ok(())
            }
            Store::Redis(r) => r.revoke_grant(grant_id).await,
        }
    }

    /// Adds an access token to the revocation list until it would have expired anyway.
    pub async fn revoke_access_token(&self, jti: &str, ttl: Duration) -> Result<(), OAuthError> {
        match self {
            Store::Memory(m) => {
                // A full revocation list answers as before: the request succeeded.
                let _ = m
                    .lock()
                    .revoked_access_tokens
                    .insert(jti.to_string(), (), ttl);
                Ok(())
            }
            Store::Redis(r) => r.revoke_access_token(jti, ttl).await,
        }
    }

    /// Whether an access token was revoked: by itself, or because its grant was.
    pub async fn access_token_revoked(&self, jti: &str) -> Result<bool, OAuthError> {
        match self {
            Store::Memory(m) => Ok(m.lock().access_token_revoked(jti)),
            Store::Redis(r) => r.exists("revoked", jti).await,
        }
    }

    /// What an opaque access token stands for (`opaque-access-tokens`).
    pub async fn opaque_claims(&self, token: &str) -> Result<Option<AccessClaims>, OAuthError> {
        match self {
            Store::Memory(m) => Ok(m.lock().opaque_access_tokens.get(token).cloned()),
            Store::Redis(r) => r.get_json("opaque", token).await,
        }
    }

    /// TOK-10: the wrong secrets counted for a client in the current window, and what is
    /// left of that window.
    pub async fn failed_secrets(
        &self,
        client_id: &str,
        window: Duration,
    ) -> Result<Option<(u32, Duration)>, OAuthError> {
        match self {
            Store::Memory(m) => Ok(m
                .lock()
                .failed_secrets
                .get(client_id)
                .filter(|(last, _)| last.elapsed() < window)
                .map(|(last, n)| (*n, window.saturating_sub(last.elapsed())))),
            Store::Redis(r) => r.failed_secrets(client_id).await,
        }
    }

    /// TOK-10: counts one wrong secret.
    pub async fn record_failed_secret(
        &self,
        client_id: &str,
        window: Duration,
    ) -> Result<(), OAuthError> {
        match self {
            Store::Memory(m) => {
                m.lock().failed_secrets.record(client_id, window);
                Ok(())
            }
            Store::Redis(r) => r.record_failed_secret(client_id, window).await,
        }
    }
}
