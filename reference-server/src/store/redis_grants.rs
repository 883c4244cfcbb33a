//! The Redis backend's codes, grants and refresh tokens. A code is claimed, and a refresh
//! token rotated, by one atomic operation (a script, or SET NX), so that of two instances
//! redeeming the same code at once exactly one succeeds; the code's entry keeps the grant it was
//! redeemed into, so that a replay on any instance revokes that grant (CODE-03).

use std::time::Duration;

use redis::{AsyncCommands, Script};

use super::redis::{RedisStore, ms};
use super::{CodeEntry, Grant};
use crate::crypto::AccessClaims;
use crate::error::OAuthError;

/// What claiming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request redeems it.
    Won,
    /// It was redeemed before, into this grant.
    Redeemed(String),
    /// It has expired (or never was).
    Gone,
}

/// What a token request stores once its tokens are minted.
#[derive(Debug)]
pub struct Minted {
    /// An opaque access token and what it stands for, kept for `ttl`.
    pub opaque: Option<(String, AccessClaims, Duration)>,
    /// The access token's ID and expiry, recorded in its grant.
    pub jti: String,
    pub exp: crate::clock::NumericDate,
    /// A new refresh token, kept for `ttl`.
    pub refresh: Option<(String, Duration)>,
}

impl RedisStore {
    fn pair(subject: &str, client_id: &str) -> String {
        format!("{subject}\n{client_id}")
    }

    pub async fn put_code(
        &self,
        code: &str,
        entry: &CodeEntry,
        ttl: Duration,
    ) -> Result<(), OAuthError> {
        self.set_json("code", code, entry, ttl).await?;
        if self.pair_index {
            self.index(
                "pair-codes",
                &Self::pair(&entry.subject, &entry.client_id),
                code,
            )
            .await?;
        }
        Ok(())
    }

    async fn index(&self, kind: &str, set: &str, member: &str) -> Result<(), OAuthError> {
        let key = self.key(kind, set);
        redis::pipe()
            .sadd(&key, member)
            .ignore()
            .pexpire(&key, i64::try_from(ms(self.grant_ttl)).unwrap_or(i64::MAX))
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))
    }

    /// A live code, and the grant it was redeemed into if it was.
    pub async fn code(&self, code: &str) -> Result<Option<CodeEntry>, OAuthError> {
        let (raw, redeemed): (Option<String>, Option<String>) = redis::pipe()
            .get(self.key("code", code))
            .get(self.key("code-redeemed", code))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))?;
        let Some(raw) = raw else {
            return Ok(None);
        };
        let mut entry: CodeEntry =
            serde_json::from_str(&raw).map_err(|e| self.failed(format!("bad code entry: {e}")))?;
        entry.redeemed_grant = redeemed;
        Ok(Some(entry))
    }

    /// CODE-02: marks the code redeemed into `grant_id`, unless it already was: one script,
    /// so that of concurrent redemptions on any instances exactly one wins. The code is then
    /// kept for `keep`, so that a replay can still revoke what it gave.
    pub async fn claim_code(
        &self,
        code: &str,
        grant_id: &str,
        keep: Duration,
    ) -> Result<Claim, OAuthError> {
        static SCRIPT: &str = r"
            if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
            local prev = redis.call('GET', KEYS[2])
            if prev then return {2, prev} end
            redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            return {1}";
        let answer: Vec<String> = Script::new(SCRIPT)
            .key(self.key("code", code))
            .key(self.key("code-redeemed", code))
            .arg(grant_id)
            .arg(ms(keep))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))?;
        Ok(match answer.as_slice() {
            [won] if won == "1" => Claim::Won,
            [_, grant] => Claim::Redeemed(grant.clone()),
            _ => Claim::Gone,
        })
    }

    /// Only for the defects that redeem a code twice: records the latest grant unconditionally.
    pub async fn overwrite_code_grant(
        &self,
        code: &str,
        grant_id: &str,
        keep: Duration,
    ) -> Result<(), OAuthError> {
        redis::pipe()
            .cmd("SET")
            .arg(self.key("code-redeemed", code))
            .arg(grant_id)
            .arg("PX")
            .arg(ms(keep))
            .ignore()
            .pexpire(
                self.key("code", code),
                i64::try_from(ms(keep)).unwrap_or(i64::MAX),
            )
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))
    }

    pub async fn put_grant(
        &self,
        grant_id: &str,
        grant: &Grant,
        ttl: Duration,
    ) -> Result<(), OAuthError> {
        self.set_json("grant", grant_id, grant, ttl).await?;
        if self.pair_index {
            self.index(
                "pair-grants",
                &Self::pair(&grant.subject, &grant.client_id),
                grant_id,
            )
            .await?;
        }
        Ok(())
    }

    /// A live grant, `revoked` set if it was.
    pub async fn grant(&self, grant_id: &str) -> Result<Option<Grant>, OAuthError> {
        let (raw, revoked): (Option<String>, bool) = redis::pipe()
            .get(self.key("grant", grant_id))
            .exists(self.key("grant-revoked", grant_id))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))?;
        let Some(raw) = raw else {
            return Ok(None);
        };
        let mut grant: Grant =
            serde_json::from_str(&raw).map_err(|e| self.failed(format!("bad grant: {e}")))?;
        grant.revoked = revoked;
        Ok(Some(grant))
    }

    /// Only for the `refresh-resource-unbound` defect: the grant's resource replaced.
    pub async fn set_grant_resource(
        &self,
        grant_id: &str,
        resource: &str,
    ) -> Result<(), OAuthError> {
        let Some(mut grant) = self.grant(grant_id).await? else {
            return Ok(());
        };
        grant.resource = resource.to_string();
        let raw = self.encode(&grant)?;
        redis::cmd("SET")
            .arg(self.key("grant", grant_id))
            .arg(raw)
            .arg("XX")
            .arg("KEEPTTL")
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))
    }

    /// Marks a grant revoked: its refresh tokens die with it (its access tokens stay valid:
    /// only the `refresh-reuse-keeps-access-tokens` defect stops here).
    pub async fn mark_grant_revoked(&self, grant_id: &str) -> Result<(), OAuthError> {
        self.set_raw(&self.key("grant-revoked", grant_id), "1", self.grant_ttl)
            .await
    }

    /// The access tokens issued in a grant that is not revoked: their IDs and expiry.
    pub async fn grant_access_tokens(
        &self,
        grant_id: &str,
    ) -> Result<Vec<(String, u64)>, OAuthError> {
        let tokens: std::collections::HashMap<String, u64> = self
            .conn
            .clone()
            .hgetall(self.key("grant-tokens", grant_id))
            .await
            .map_err(|e| self.failed(e))?;
        Ok(tokens.into_iter().collect())
    }

    /// Revokes a grant and every access token issued in it, in one script; an access token
    /// issued after this is revoked as it is recorded (see [`RedisStore::record_issued`]).
    pub async fn revoke_grant(&self, grant_id: &str) -> Result<(), OAuthError> {
        static SCRIPT: &str = r"
            redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
            local t = redis.call('HGETALL', KEYS[2])
            for i = 1, #t, 2 do
                local ttl = tonumber(t[i + 1]) - tonumber(ARGV[1]) + 1
                if ttl > 0 then redis.call('SET', ARGV[3] .. t[i], '1', 'EX', ttl) end
            end
            redis.call('DEL', KEYS[2])
            return 1";
        Script::new(SCRIPT)
            .key(self.key("grant-revoked", grant_id))
            .key(self.key("grant-tokens", grant_id))
            .arg(crate::clock::now_secs())
            .arg(ms(self.grant_ttl))
            .arg(self.key("revoked", ""))
            .invoke_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))
    }

    /// The `one-active-grant` variant: ends the user's earlier grants with the client, and
    /// voids the codes approved for them but not redeemed (redeemed ones stay, so that a
    /// replay is still recognised, CODE-02).
    pub async fn end_grants_of(&self, subject: &str, client_id: &str) -> Result<(), OAuthError> {
        let pair = Self::pair(subject, client_id);
        let (codes, grants): (Vec<String>, Vec<String>) = redis::pipe()
            .smembers(self.key("pair-codes", &pair))
            .smembers(self.key("pair-grants", &pair))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))?;
        for code in codes {
            if !self.exists("code-redeemed", &code).await? {
                self.delete("code", &code).await?;
            }
        }
        for grant_id in grants {
            self.revoke_grant(&grant_id).await?;
        }
        Ok(())
    }

    /// REFRESH-01, REFRESH-02: marks a refresh token rotated, unless it already was (SET NX):
    /// `true` for the one request that rotates it.
    pub async fn rotate_refresh(&self, token: &str) -> Result<bool, OAuthError> {
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key("refresh-rotated", token))
            .arg("1")
            .arg("NX")
            .arg("PX")
            .arg(ms(self.grant_ttl))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))?;
        Ok(set.is_some())
    }

    /// Records what a token request minted in `grant_id`: the access token's ID in its grant
    /// (revoked at once if the grant was revoked meanwhile), the opaque token, the refresh
    /// token.
    pub async fn record_issued(&self, grant_id: &str, minted: Minted) -> Result<(), OAuthError> {
        static SCRIPT: &str = r"
            if redis.call('EXISTS', KEYS[1]) == 1 then
                local ttl = tonumber(ARGV[2]) - tonumber(ARGV[3]) + 1
                if ttl > 0 then redis.call('SET', KEYS[3], '1', 'EX', ttl) end
                return 0
            end
            redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
            redis.call('PEXPIRE', KEYS[2], ARGV[4])
            return 1";
        if let Some((token, claims, ttl)) = &minted.opaque {
            self.set_json("opaque", token, claims, *ttl).await?;
        }
        Script::new(SCRIPT)
            .key(self.key("grant-revoked", grant_id))
            .key(self.key("grant-tokens", grant_id))
            .key(self.key("revoked", &minted.jti))
            .arg(&minted.jti)
            .arg(minted.exp.whole_secs())
            .arg(crate::clock::now_secs())
            .arg(ms(self.grant_ttl))
            .invoke_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))?;
        if let Some((token, ttl)) = &minted.refresh {
            self.set_raw(&self.key("refresh", token), grant_id, *ttl)
                .await?;
        }
        Ok(())
    }

    /// The MCP session `id` (subject and resource), shared by every instance.
    pub async fn mcp_session(&self, id: &str) -> Result<Option<(String, String)>, OAuthError> {
        self.get_json("mcp-session", id).await
    }

    /// Keeps a session that was used for `idle` more (never brings back a closed one).
    pub async fn keep_mcp_session(&self, id: &str, idle: Duration) -> Result<(), OAuthError> {
        redis::cmd("PEXPIRE")
            .arg(self.key("mcp-session", id))
            .arg(ms(idle))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed(e))
    }

    pub async fn put_mcp_session(
        &self,
        id: &str,
        subject: &str,
        resource: &str,
        idle: Duration,
    ) -> Result<(), OAuthError> {
        self.set_json("mcp-session", id, &(subject, resource), idle)
            .await
    }
}
