//! The Redis backend of the store (`--store redis://…`): every instance that names the same
//! Redis shares it. Values are JSON, every entry has a TTL (Redis drops it then), and what must
//! happen once (a code's redemption, a refresh token's rotation, taking a pending
//! authorization) is one atomic Redis operation. A Redis failure answers
//! `temporarily_unavailable` (503) with a log line naming it, never a panic.

use std::net::IpAddr;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Client, Grant, RefreshEntry};
use crate::error::{ErrorCode, OAuthError};
use crate::limits::TooMany;

/// The prefix of every key this server writes.
const PREFIX: &str = "mcpref";

/// How long one Redis request may take before the request it serves answers 503.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The shared store, over one multiplexed connection that reconnects by itself.
#[derive(Clone)]
pub struct RedisStore {
    pub(super) conn: ConnectionManager,
    /// Named in every log line about the store.
    instance: String,
    /// Whether codes and grants are indexed by user and client, for the `one-active-grant`
    /// variant to find and end them.
    pub(super) pair_index: bool,
    /// How long a grant (and its revocation) is kept: the refresh tokens' lifetime.
    pub(super) grant_ttl: Duration,
    /// The `store-per-instance` defect: what this instance spends (redeemed codes, rotated
    /// refresh tokens, revocations) is kept under keys of its own, so that the other instances
    /// never see it, while what it issues is shared.
    spent_per_instance: bool,
}

/// The tables of what is spent: under `store-per-instance`, kept per instance.
const SPENT: &[&str] = &[
    "code-redeemed",
    "refresh-rotated",
    "grant-revoked",
    "revoked",
];

/// A Redis URL with its password, if any, left out: what error messages may show.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("REDACTED"));
            }
            u.to_string()
        }
        Err(_) => "the given URL".into(),
    }
}

/// Milliseconds for a Redis TTL: at least one (Redis refuses zero).
pub(super) fn ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX / 2)
        .max(1)
}

impl RedisStore {
    /// Connects, and checks that Redis answers: an unreachable Redis is an error at start.
    pub async fn connect(
        url: &str,
        instance: &str,
        pair_index: bool,
        grant_ttl: Duration,
        spent_per_instance: bool,
    ) -> Result<Self, String> {
        let shown = redacted(url);
        let client = redis::Client::open(url).map_err(|e| format!("--store {shown}: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2);
        let mut conn = tokio::time::timeout(
            Duration::from_secs(10),
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| format!("--store {shown}: Redis did not answer within 10 s"))?
        .map_err(|e| format!("--store {shown}: cannot reach Redis: {e}"))?;
        let pong: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("--store {shown}: Redis does not answer PING: {e}"))?;
        if pong != "PONG" {
            return Err(format!("--store {shown}: unexpected answer to PING"));
        }
        Ok(RedisStore {
            conn,
            instance: instance.to_string(),
            pair_index,
            grant_ttl,
            spent_per_instance,
        })
    }

    /// The key of entry `id` of table `kind`.
    pub(super) fn key(&self, kind: &str, id: &str) -> String {
        if self.spent_per_instance && SPENT.contains(&kind) {
            return format!("{PREFIX}:{}:{kind}:{id}", self.instance);
        }
        format!("{PREFIX}:{kind}:{id}")
    }

    /// A Redis failure, logged, as the answer the client gets.
    pub(super) fn failed(&self, e: impl std::fmt::Display) -> OAuthError {
        tracing::error!(instance = %self.instance, error = %e, "the shared store (Redis) failed; answering temporarily_unavailable");
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the server's store is unavailable",
        )
    }

    fn decode<T: DeserializeOwned>(&self, raw: Option<String>) -> Result<Option<T>, OAuthError> {
        raw.map(|s| serde_json::from_str(&s).map_err(|e| self.failed(format!("bad entry: {e}"))))
            .transpose()
    }

    pub(super) fn encode<T: Serialize>(&self, value: &T) -> Result<String, OAuthError> {
        serde_json::to_string(value).map_err(|e| self.failed(e))
    }

    pub async fn get_json<T: DeserializeOwned>(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<T>, OAuthError> {
        let raw: Option<String> = self
            .conn
            .clone()
            .get(self.key(kind, id))
            .await
            .map_err(|e| self.failed(e))?;
        self.decode(raw)
    }

    /// Reads and deletes in one operation (GETDEL): of two takers, one gets the entry.
    pub async fn take_json<T: DeserializeOwned>(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<T>, OAuthError> {
        let raw: Option<String> = self
            .conn
            .clone()
            .get_del(self.key(kind, id))
            .await
            .map_err(|e| self.failed(e))?;
        self.decode(raw)
    }

    pub async fn set_json<T: Serialize>(
        &self,
        kind: &str,
        id: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), OAuthError> {
        let raw = self.encode(value)?;
        self.set_raw(&self.key(kind, id), &raw, ttl).await
    }

    pub(super) async fn set_raw(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), OAuthError> {
        redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("PX")
            .arg(ms(ttl))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))
    }

    pub async fn exists(&self, kind: &str, id: &str) -> Result<bool, OAuthError> {
        self.conn
            .clone()
            .exists(self.key(kind, id))
            .await
            .map_err(|e| self.failed(e))
    }

    pub async fn delete(&self, kind: &str, id: &str) -> Result<(), OAuthError> {
        self.conn
            .clone()
            .del::<_, ()>(self.key(kind, id))
            .await
            .map_err(|e| self.failed(e))
    }

    /// Stores a client: pre-registered (`unused` None) without expiry; registered, for
    /// `unused` until its first lookup, then `used` (a marker beside it holds that lifetime
    /// until then).
    pub async fn put_client(
        &self,
        client: &Client,
        unused: Option<Duration>,
        used: Option<Duration>,
    ) -> Result<(), OAuthError> {
        let raw = self.encode(client)?;
        let key = self.key("client", &client.client_id);
        match (unused, used) {
            (Some(unused), Some(used)) => {
                let mut pipe = redis::pipe();
                pipe.atomic()
                    .cmd("SET")
                    .arg(&key)
                    .arg(raw)
                    .arg("PX")
                    .arg(ms(unused))
                    .ignore()
                    .cmd("SET")
                    .arg(self.key("client-unused", &client.client_id))
                    .arg(ms(used))
                    .arg("PX")
                    .arg(ms(unused))
                    .ignore();
                pipe.query_async::<()>(&mut self.conn.clone())
                    .await
                    .map_err(|e| self.failed(e))
            }
            _ => redis::cmd("SET")
                .arg(&key)
                .arg(raw)
                .query_async::<()>(&mut self.conn.clone())
                .await
                .map_err(|e| self.failed(e)),
        }
    }

    /// A live client; its first lookup gives it its long lifetime (atomically).
    pub async fn client(&self, client_id: &str) -> Result<Option<Client>, OAuthError> {
        static SCRIPT: &str = r"
            local v = redis.call('GET', KEYS[1])
            if not v then return false end
            local used = redis.call('GET', KEYS[2])
            if used then
                redis.call('PEXPIRE', KEYS[1], used)
                redis.call('DEL', KEYS[2])
            end
            return v";
        let raw: Option<String> = Script::new(SCRIPT)
            .key(self.key("client", client_id))
            .key(self.key("client-unused", client_id))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))?;
        self.decode(raw)
    }

    /// Opens a login session and binds the pending request to it; `false`: the request has
    /// expired.
    pub async fn log_in(
        &self,
        txn: &str,
        sid: &str,
        user: &str,
        ttl: Duration,
    ) -> Result<bool, OAuthError> {
        self.set_json("session", sid, &user, ttl).await?;
        let Some(mut pending) = self
            .get_json::<super::PendingAuthorization>("pending", txn)
            .await?
        else {
            return Ok(false);
        };
        pending.subject = Some(user.to_string());
        pending.session = Some(sid.to_string());
        let raw = self.encode(&pending)?;
        // Rewritten only while it lives, with the lifetime it has left.
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key("pending", txn))
            .arg(raw)
            .arg("XX")
            .arg("KEEPTTL")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))?;
        Ok(set.is_some())
    }

    /// A counter in a fixed window, counted and started in one script: its new value and the
    /// milliseconds left in its window.
    async fn count(&self, key: &str, window: Duration) -> Result<(u32, u64), OAuthError> {
        static SCRIPT: &str = r"
            local n = redis.call('INCR', KEYS[1])
            local left = redis.call('PTTL', KEYS[1])
            if left < 0 then
                redis.call('PEXPIRE', KEYS[1], ARGV[1])
                left = tonumber(ARGV[1])
            end
            return {n, left}";
        let (n, left): (u64, u64) = Script::new(SCRIPT)
            .key(key)
            .arg(ms(window))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))?;
        Ok((u32::try_from(n).unwrap_or(u32::MAX), left))
    }

    /// Registrations from `ip` in the current minute, shared by every instance.
    pub async fn count_registration(
        &self,
        ip: IpAddr,
        per_minute: u32,
    ) -> Result<Result<Option<u32>, TooMany>, OAuthError> {
        if per_minute == 0 {
            return Ok(Ok(None));
        }
        let key = self.key("registrations", &ip.to_string());
        let (n, left) = self.count(&key, Duration::from_secs(60)).await?;
        if n > per_minute {
            return Ok(Err(TooMany {
                limit: per_minute,
                retry_after: left.div_ceil(1000).max(1),
            }));
        }
        Ok(Ok(Some(per_minute - n)))
    }

    /// TOK-10: wrong secrets of a client in the current window, and what is left of it.
    pub async fn failed_secrets(
        &self,
        client_id: &str,
    ) -> Result<Option<(u32, Duration)>, OAuthError> {
        let key = self.key("failed-secrets", client_id);
        let (n, left): (Option<u32>, i64) = redis::pipe()
            .get(&key)
            .pttl(&key)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))?;
        Ok(n.filter(|_| left > 0)
            .map(|n| (n, Duration::from_millis(left.unsigned_abs()))))
    }

    pub async fn record_failed_secret(
        &self,
        client_id: &str,
        window: Duration,
    ) -> Result<(), OAuthError> {
        // Kept until a whole window passes without a wrong secret, as in memory: the expiry
        // is set again with every one.
        let key = self.key("failed-secrets", client_id);
        redis::pipe()
            .atomic()
            .incr(&key, 1)
            .ignore()
            .pexpire(&key, i64::try_from(ms(window)).unwrap_or(i64::MAX))
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))
    }

    pub async fn revoke_access_token(&self, jti: &str, ttl: Duration) -> Result<(), OAuthError> {
        self.set_raw(&self.key("revoked", jti), "1", ttl).await
    }

    /// A live refresh token (whether it was rotated) and its grant.
    pub async fn refresh_token(
        &self,
        token: &str,
    ) -> Result<Option<(RefreshEntry, Grant)>, OAuthError> {
        let (grant_id, rotated): (Option<String>, bool) = redis::pipe()
            .get(self.key("refresh", token))
            .exists(self.key("refresh-rotated", token))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))?;
        let Some(grant_id) = grant_id else {
            return Ok(None);
        };
        Ok(self
            .grant(&grant_id)
            .await?
            .map(|g| (RefreshEntry { grant_id, rotated }, g)))
    }
}
