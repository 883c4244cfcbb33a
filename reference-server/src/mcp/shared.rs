//! The MCP sessions with the Redis store: a session opened on one instance is served by every
//! other. The store holds each session (its user and resource) for as long as it is not idle;
//! each instance's own table is a copy, read from the store before each request that names a
//! session, and what the request did (opened, used, closed it) is written back after. With the
//! memory store both are nothing.

use axum::http::HeaderMap;

use super::session::SESSION_IDLE;
use super::{McpSessions, header_str};
use crate::error::OAuthError;
use crate::store::Store;

const HEADER: &str = "mcp-session-id";

/// Copies the request's session from the store (or forgets it when the store has none).
pub async fn load(
    sessions: &McpSessions,
    store: &Store,
    headers: &HeaderMap,
) -> Result<(), OAuthError> {
    let (Store::Redis(r), Some(id)) = (store, header_str(headers, HEADER)) else {
        return Ok(());
    };
    match r.mcp_session(id).await? {
        Some((subject, resource)) => sessions.adopt(id, &subject, &resource),
        None => sessions.forget(id),
    }
    Ok(())
}

/// Writes back what the request did to its session: a new one (`opened`) is stored, a used one kept
/// longer, a closed one deleted.
pub async fn save(
    sessions: &McpSessions,
    store: &Store,
    headers: &HeaderMap,
    opened: Option<String>,
) -> Result<(), OAuthError> {
    let Store::Redis(r) = store else {
        return Ok(());
    };
    if let Some(id) = opened
        && let Some((subject, resource)) = sessions.peek(&id)
    {
        r.put_mcp_session(&id, &subject, &resource, SESSION_IDLE)
            .await?;
    }
    if let Some(id) = header_str(headers, HEADER) {
        match sessions.peek(id) {
            Some(_) => r.keep_mcp_session(id, SESSION_IDLE).await?,
            None => r.delete("mcp-session", id).await?,
        }
    }
    Ok(())
}
