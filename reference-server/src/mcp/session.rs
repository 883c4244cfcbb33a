//! The sessions of the 2025 revisions: `initialize` opens one (`Mcp-Session-Id`), bound to the
//! user and the resource (RS-16), and every other request needs it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode};
use serde_json::{Value, json};

use super::{
    Ctx, INVALID_REQUEST, METHOD_NOT_FOUND, McpOutcome, STATELESS_VERSION, header_str, server_info,
    tools,
};
use crate::defects::{Defect, Defects};
use crate::protocol::{SCOPE_READ, SCOPE_WRITE};
use crate::variants::Variant;

/// The newest session-based revision, offered when a client asks for one we do not know.
const LATEST_SESSION_VERSION: &str = "2025-11-25";
pub(super) const SESSION_IDLE: Duration = Duration::from_secs(3600);

struct Session {
    subject: String,
    resource: String,
    last_used: Instant,
}

/// Sessions of the 2025 revisions. Bounded; idle sessions expire.
pub struct McpSessions {
    map: Mutex<HashMap<String, Session>>,
    capacity: usize,
    /// The last counter value handed out (only the `predictable-session-ids` defect uses it).
    counter: std::sync::atomic::AtomicU64,
}

impl McpSessions {
    pub fn new(capacity: usize) -> Self {
        McpSessions {
            map: Mutex::new(HashMap::new()),
            capacity,
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub(super) fn create(
        &self,
        subject: &str,
        resource: &str,
        defects: &Defects,
    ) -> Option<String> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.capacity {
            map.retain(|_, s| s.last_used.elapsed() < SESSION_IDLE);
            if map.len() >= self.capacity {
                return None;
            }
        }
        // RS-16: unpredictable (256 random bits).
        let id = if defects.has(Defect::PredictableSessionIds) {
            let n = self
                .counter
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!("{}", n + 1)
        } else {
            crate::crypto::random_token(32)
        };
        map.insert(
            id.clone(),
            Session {
                subject: subject.into(),
                resource: resource.into(),
                last_used: Instant::now(),
            },
        );
        Some(id)
    }

    /// Whether `id` is a live session of this user at this resource. Another user's session is
    /// treated as unknown (RS-16).
    pub(super) fn touch(&self, id: &str, subject: &str, resource: &str) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(id) {
            Some(s)
                if s.subject == subject
                    && s.resource == resource
                    && s.last_used.elapsed() < SESSION_IDLE =>
            {
                s.last_used = Instant::now();
                true
            }
            _ => false,
        }
    }

    /// The user of a live session at this resource (only the `session-without-token` defect asks).
    pub fn subject_of(&self, id: &str, resource: &str) -> Option<String> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id)
            .filter(|s| s.resource == resource && s.last_used.elapsed() < SESSION_IDLE)
            .map(|s| s.subject.clone())
    }

    /// The user and resource of a live session.
    pub(super) fn peek(&self, id: &str) -> Option<(String, String)> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id)
            .filter(|s| s.last_used.elapsed() < SESSION_IDLE)
            .map(|s| (s.subject.clone(), s.resource.clone()))
    }

    /// Copies in a session the shared store holds (opened, maybe, by another instance).
    pub(super) fn adopt(&self, id: &str, subject: &str, resource: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.capacity {
            map.retain(|_, s| s.last_used.elapsed() < SESSION_IDLE);
        }
        map.insert(
            id.to_string(),
            Session {
                subject: subject.into(),
                resource: resource.into(),
                last_used: Instant::now(),
            },
        );
    }

    /// Forgets a session the shared store no longer holds.
    pub(super) fn forget(&self, id: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(id);
    }

    pub(super) fn remove(&self, id: &str, subject: &str, resource: &str) -> bool {
        if !self.touch(id, subject, resource) {
            return false;
        }
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(id).is_some()
    }
}

impl Ctx<'_> {
    /// 2025 revisions: `initialize` opens a session; everything else needs one.
    pub(super) fn session(&self, method: &str, id: &Value, params: &Value) -> McpOutcome {
        // The `mcp-no-session` variant: no session is assigned, and none is asked for.
        let sessionless = self.variants.has(Variant::McpNoSession);
        if method == "initialize" {
            let requested = params.get("protocolVersion").and_then(Value::as_str);
            let version = requested
                .filter(|v| self.versions.contains(v) && *v != STATELESS_VERSION)
                .or_else(|| {
                    self.versions
                        .iter()
                        .rev()
                        .find(|v| **v != STATELESS_VERSION)
                        .copied()
                })
                .unwrap_or(LATEST_SESSION_VERSION);
            let created = (!sessionless).then(|| {
                self.sessions
                    .create(&self.principal.subject, self.resource, self.defects)
            });
            if created == Some(None) {
                return self.err(
                    StatusCode::SERVICE_UNAVAILABLE,
                    id,
                    INVALID_REQUEST,
                    "too many sessions",
                );
            };
            let mut resp = match self.ok(
                id,
                json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {"listChanged": false}},
                    "serverInfo": server_info(),
                }),
            ) {
                McpOutcome::Response(r) => r,
                other => return other,
            };
            if let Some(Some(sid)) = created
                && let Ok(v) = HeaderValue::from_str(&sid)
            {
                resp.headers_mut().insert("mcp-session-id", v);
            }
            return McpOutcome::Response(resp);
        }
        if sessionless {
            return self.operation(method, id, params);
        }
        let Some(sid) = header_str(self.headers, "mcp-session-id") else {
            return self.err(
                StatusCode::BAD_REQUEST,
                id,
                INVALID_REQUEST,
                "Bad Request: Mcp-Session-Id header is required",
            );
        };
        if !self
            .sessions
            .touch(sid, &self.principal.subject, self.resource)
        {
            return self.err(
                StatusCode::NOT_FOUND,
                id,
                INVALID_REQUEST,
                "Session not found",
            );
        }
        self.operation(method, id, params)
    }

    /// An operation of a session (or of the `mcp-no-session` variant, of none).
    fn operation(&self, method: &str, id: &Value, params: &Value) -> McpOutcome {
        if self.needs_write(method, params) {
            return McpOutcome::InsufficientScope {
                required: vec![SCOPE_READ, SCOPE_WRITE],
            };
        }
        match method {
            "ping" => self.ok(id, json!({})),
            "tools/list" => self.ok(id, json!({"tools": tools()})),
            "tools/call" => match self.call_tool(params) {
                Ok(r) => self.ok(id, r),
                Err((code, m)) => self.err(StatusCode::OK, id, code, &m),
            },
            _ => self.err(StatusCode::OK, id, METHOD_NOT_FOUND, "Method not found"),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use serde_json::json;

    use super::super::tests::{alice, call, headers, init, json_of};
    use super::super::{McpSessions, Principal};

    #[tokio::test]
    async fn sessions_are_created_required_and_bound_to_the_user() {
        let s = McpSessions::new(10);
        let p = alice(&["mcp:read"]);
        let h = headers(&[("mcp-protocol-version", "2025-11-25")]);
        let r = call(&s, &p, &h, init());
        assert_eq!(r.status(), StatusCode::OK);
        let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
        assert_eq!(json_of(r).await["result"]["protocolVersion"], "2025-11-25");
        let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
        assert_eq!(
            call(&s, &p, &h, list.clone()).status(),
            StatusCode::BAD_REQUEST
        );
        let with = headers(&[
            ("mcp-protocol-version", "2025-11-25"),
            ("mcp-session-id", &sid),
        ]);
        let r = call(&s, &p, &with, list.clone());
        assert_eq!(json_of(r).await["result"]["tools"][0]["name"], "whoami");
        let mallory = Principal {
            subject: "mallory".into(),
            ..p.clone()
        };
        assert_eq!(
            call(&s, &mallory, &with, list.clone()).status(),
            StatusCode::NOT_FOUND
        );
        let unknown = headers(&[("mcp-session-id", "nope")]);
        assert_eq!(call(&s, &p, &unknown, list).status(), StatusCode::NOT_FOUND);
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(call(&s, &p, &with, note).status(), StatusCode::ACCEPTED);
    }
}
