//! MCP over streamable HTTP, both protocol generations, behind the OAuth layer (which has already
//! authenticated the request).
//!
//! - 2025-03-26 / 2025-06-18 / 2025-11-25: `initialize` → `Mcp-Session-Id` session (bound to the
//!   user and the resource, RS-16) → `tools/list`, `tools/call`, `ping`; DELETE ends a session.
//! - 2026-07-28 (basic/transports/streamable-http, basic/index, server/discover): stateless. Every
//!   request carries `params._meta` with the protocol version and client capabilities; the
//!   `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers must mirror the body
//!   (HeaderMismatch, -32020); results carry `resultType`.
//!
//! Answers are JSON, or a one-event SSE stream when the client accepts only `text/event-stream`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use crate::defects::{Defect, Defects};
use crate::protocol::{SCOPE_READ, SCOPE_WRITE};

pub const SUPPORTED_VERSIONS: &[&str] = &["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];
/// The stateless generation.
pub const STATELESS_VERSION: &str = "2026-07-28";
/// The newest session-based revision, offered when a client asks for one we do not know.
const LATEST_SESSION_VERSION: &str = "2025-11-25";
const SESSION_IDLE: Duration = Duration::from_secs(3600);

const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

// JSON-RPC error codes (2026-07-28 schema.ts; JSON-RPC 2.0).
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const HEADER_MISMATCH: i64 = -32020;
const UNSUPPORTED_VERSION: i64 = -32022;

/// Who the OAuth layer authenticated.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: String,
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// What the OAuth layer should answer.
pub enum McpOutcome {
    Response(Response),
    /// The operation needs more scope: the OAuth layer answers 403 `insufficient_scope` (SCOPE-03).
    InsufficientScope {
        required: Vec<&'static str>,
    },
}

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

    fn create(&self, subject: &str, resource: &str, defects: &Defects) -> Option<String> {
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
    fn touch(&self, id: &str, subject: &str, resource: &str) -> bool {
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

    fn remove(&self, id: &str, subject: &str, resource: &str) -> bool {
        if !self.touch(id, subject, resource) {
            return false;
        }
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(id).is_some()
    }
}

/// How the answer is framed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    Json,
    Sse,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn reply(status: StatusCode, framing: Framing, message: &Value) -> Response {
    match framing {
        Framing::Json => (status, axum::Json(message)).into_response(),
        Framing::Sse => {
            let body = format!("event: message\ndata: {message}\n\n");
            let mut r = (status, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
    }
}

fn error(
    status: StatusCode,
    framing: Framing,
    id: &Value,
    code: i64,
    message: &str,
    data: Option<Value>,
) -> McpOutcome {
    let mut err = json!({"code": code, "message": message});
    if let Some(d) = data {
        err["data"] = d;
    }
    McpOutcome::Response(reply(
        status,
        framing,
        &json!({"jsonrpc": "2.0", "id": id, "error": err}),
    ))
}

fn method_not_allowed() -> McpOutcome {
    McpOutcome::Response(
        (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, HeaderValue::from_static("POST, DELETE"))],
        )
            .into_response(),
    )
}

pub fn handle(
    sessions: &McpSessions,
    resource: &str,
    principal: &Principal,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    defects: &Defects,
) -> McpOutcome {
    match *method {
        Method::POST => post(sessions, resource, principal, headers, body, defects),
        // 2025-11-25 transports: DELETE ends a session; 404 when it is unknown.
        Method::DELETE => match header_str(headers, "mcp-session-id") {
            Some(id) if sessions.remove(id, &principal.subject, resource) => {
                McpOutcome::Response(StatusCode::NO_CONTENT.into_response())
            }
            Some(_) => McpOutcome::Response(StatusCode::NOT_FOUND.into_response()),
            None => McpOutcome::Response(StatusCode::BAD_REQUEST.into_response()),
        },
        // No server-initiated stream is offered (2025-11-25 transports: 405), and 2026-07-28 removed GET.
        _ => method_not_allowed(),
    }
}

fn post(
    sessions: &McpSessions,
    resource: &str,
    principal: &Principal,
    headers: &HeaderMap,
    body: &[u8],
    defects: &Defects,
) -> McpOutcome {
    // Framing from Accept: JSON unless only SSE is acceptable.
    let accept = header_str(headers, "accept")
        .unwrap_or("application/json")
        .to_ascii_lowercase();
    let json_ok = accept.contains("application/json")
        || accept.contains("*/*")
        || accept.contains("application/*");
    let sse_ok = accept.contains("text/event-stream");
    let framing = match (json_ok, sse_ok) {
        (true, _) => Framing::Json,
        (false, true) => Framing::Sse,
        (false, false) => return McpOutcome::Response(StatusCode::NOT_ACCEPTABLE.into_response()),
    };
    let is_json = header_str(headers, "content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return McpOutcome::Response(StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response());
    }
    let msg: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                framing,
                &Value::Null,
                PARSE_ERROR,
                "Parse error",
                None,
            );
        }
    };
    let Some(obj) = msg.as_object() else {
        // Batches were removed in 2025-06-18.
        return error(
            StatusCode::BAD_REQUEST,
            framing,
            &Value::Null,
            INVALID_REQUEST,
            "Invalid Request: expected one JSON-RPC object",
            None,
        );
    };
    let id = obj.get("id").cloned();
    if obj.get("jsonrpc") != Some(&json!("2.0")) {
        return error(
            StatusCode::BAD_REQUEST,
            framing,
            &id.unwrap_or(Value::Null),
            INVALID_REQUEST,
            "Invalid Request: jsonrpc must be \"2.0\"",
            None,
        );
    }
    let method = obj.get("method").and_then(Value::as_str);
    let params = obj.get("params").cloned().unwrap_or(Value::Null);

    let header_version = header_str(headers, "mcp-protocol-version");
    let meta_version = params
        .get("_meta")
        .and_then(|m| m.get(META_VERSION))
        .and_then(Value::as_str);
    if let Some(v) = header_version.filter(|v| !SUPPORTED_VERSIONS.contains(v)) {
        return error(
            StatusCode::BAD_REQUEST,
            framing,
            &id.unwrap_or(Value::Null),
            UNSUPPORTED_VERSION,
            "Unsupported protocol version",
            Some(json!({"supported": SUPPORTED_VERSIONS, "requested": v})),
        );
    }
    let stateless =
        header_version == Some(STATELESS_VERSION) || meta_version == Some(STATELESS_VERSION);
    let ctx = Ctx {
        sessions,
        resource,
        principal,
        headers,
        framing,
        defects,
    };
    match (method, id) {
        // Notifications and client responses: accepted without a body.
        (_, None) | (None, _) => {
            if !stateless
                && let Some(sid) = header_str(headers, "mcp-session-id")
                && !sessions.touch(sid, &principal.subject, resource)
            {
                return McpOutcome::Response(StatusCode::NOT_FOUND.into_response());
            }
            McpOutcome::Response(StatusCode::ACCEPTED.into_response())
        }
        (Some(m), Some(id)) if stateless => {
            ctx.stateless(m, &id, &params, header_version, meta_version)
        }
        (Some(m), Some(id)) => ctx.session(m, &id, &params),
    }
}

struct Ctx<'a> {
    sessions: &'a McpSessions,
    resource: &'a str,
    principal: &'a Principal,
    headers: &'a HeaderMap,
    framing: Framing,
    defects: &'a Defects,
}

fn server_info() -> Value {
    json!({"name": "reference-server", "version": env!("CARGO_PKG_VERSION")})
}

fn tools() -> Value {
    let schema = json!({"type": "object", "properties": {}, "additionalProperties": false});
    json!([
        {"name": "whoami", "description": "Returns the caller's subject, client and scopes.", "inputSchema": schema},
        {"name": "admin", "description": "A privileged operation: needs the mcp:write scope.", "inputSchema": schema},
    ])
}

/// `=?base64?…?=` header values are decoded before comparison (2026-07-28 streamable HTTP).
fn decode_header_value(v: &str) -> Option<String> {
    match v
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .ok()
            .and_then(|b| String::from_utf8(b).ok()),
        None => Some(v.to_string()),
    }
}

impl Ctx<'_> {
    fn ok(&self, id: &Value, result: Value) -> McpOutcome {
        McpOutcome::Response(reply(
            StatusCode::OK,
            self.framing,
            &json!({"jsonrpc": "2.0", "id": id, "result": result}),
        ))
    }

    fn err(&self, status: StatusCode, id: &Value, code: i64, message: &str) -> McpOutcome {
        error(status, self.framing, id, code, message, None)
    }

    /// `tools/call` of either generation; `None` name errors are invalid params.
    fn call_tool(&self, params: &Value) -> Result<Value, (i64, String)> {
        match params.get("name").and_then(Value::as_str) {
            Some("whoami") => {
                let who = json!({
                    "subject": self.principal.subject,
                    "client_id": self.principal.client_id,
                    "scopes": self.principal.scopes,
                    "resource": self.resource,
                });
                Ok(
                    json!({"content": [{"type": "text", "text": who.to_string()}], "isError": false}),
                )
            }
            Some("admin") => Ok(
                json!({"content": [{"type": "text", "text": "admin action performed"}], "isError": false}),
            ),
            Some(other) => Err((INVALID_PARAMS, format!("Unknown tool: {other}"))),
            None => Err((INVALID_PARAMS, "tools/call needs params.name".into())),
        }
    }

    /// RS-13: `admin` needs `mcp:write`.
    fn needs_write(&self, method: &str, params: &Value) -> bool {
        !self.defects.has(Defect::ScopeNotEnforced)
            && method == "tools/call"
            && params.get("name").and_then(Value::as_str) == Some("admin")
            && !self.principal.scopes.iter().any(|s| s == SCOPE_WRITE)
    }

    /// 2025 revisions: `initialize` opens a session; everything else needs one.
    fn session(&self, method: &str, id: &Value, params: &Value) -> McpOutcome {
        if method == "initialize" {
            let requested = params.get("protocolVersion").and_then(Value::as_str);
            let version = requested
                .filter(|v| SUPPORTED_VERSIONS.contains(v) && *v != STATELESS_VERSION)
                .unwrap_or(LATEST_SESSION_VERSION);
            let Some(sid) =
                self.sessions
                    .create(&self.principal.subject, self.resource, self.defects)
            else {
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
            if let Ok(v) = HeaderValue::from_str(&sid) {
                resp.headers_mut().insert("mcp-session-id", v);
            }
            return McpOutcome::Response(resp);
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

    /// 2026-07-28: stateless; headers must mirror the body (HeaderMismatch).
    fn stateless(
        &self,
        method: &str,
        id: &Value,
        params: &Value,
        header_version: Option<&str>,
        meta_version: Option<&str>,
    ) -> McpOutcome {
        let meta = params.get("_meta");
        // basic/index: `_meta` must carry the protocol version and the client capabilities.
        let Some(meta_version) = meta_version else {
            return self.err(
                StatusCode::BAD_REQUEST,
                id,
                INVALID_PARAMS,
                "params._meta must carry io.modelcontextprotocol/protocolVersion",
            );
        };
        if meta.and_then(|m| m.get(META_CAPABILITIES)).is_none() {
            return self.err(
                StatusCode::BAD_REQUEST,
                id,
                INVALID_PARAMS,
                "params._meta must carry io.modelcontextprotocol/clientCapabilities",
            );
        }
        if !SUPPORTED_VERSIONS.contains(&meta_version) {
            return error(
                StatusCode::BAD_REQUEST,
                self.framing,
                id,
                UNSUPPORTED_VERSION,
                "Unsupported protocol version",
                Some(json!({"supported": SUPPORTED_VERSIONS, "requested": meta_version})),
            );
        }
        if header_version != Some(meta_version) {
            return self.err(
                StatusCode::BAD_REQUEST,
                id,
                HEADER_MISMATCH,
                "Header mismatch: MCP-Protocol-Version header does not match params._meta",
            );
        }
        match header_str(self.headers, "mcp-method").and_then(decode_header_value) {
            Some(h) if h == method => {}
            Some(h) => {
                return self.err(StatusCode::BAD_REQUEST, id, HEADER_MISMATCH, &format!("Header mismatch: Mcp-Method header value '{h}' does not match body value '{method}'"));
            }
            None => {
                return self.err(
                    StatusCode::BAD_REQUEST,
                    id,
                    HEADER_MISMATCH,
                    "Header mismatch: Mcp-Method header is missing",
                );
            }
        }
        if matches!(method, "tools/call" | "prompts/get" | "resources/read") {
            let body_name = params
                .get("name")
                .or_else(|| params.get("uri"))
                .and_then(Value::as_str)
                .unwrap_or("");
            match header_str(self.headers, "mcp-name").and_then(decode_header_value) {
                Some(h) if h == body_name => {}
                Some(h) => {
                    return self.err(StatusCode::BAD_REQUEST, id, HEADER_MISMATCH, &format!("Header mismatch: Mcp-Name header value '{h}' does not match body value '{body_name}'"));
                }
                None => {
                    return self.err(
                        StatusCode::BAD_REQUEST,
                        id,
                        HEADER_MISMATCH,
                        "Header mismatch: Mcp-Name header is missing",
                    );
                }
            }
        }
        if self.needs_write(method, params) {
            return McpOutcome::InsufficientScope {
                required: vec![SCOPE_READ, SCOPE_WRITE],
            };
        }
        let result_meta = json!({META_SERVER_INFO: server_info()});
        let mut result = match method {
            "server/discover" => json!({
                "supportedVersions": SUPPORTED_VERSIONS,
                "capabilities": {"tools": {}},
                "ttlMs": 0,
                "cacheScope": "private",
            }),
            "tools/list" => json!({"tools": tools(), "ttlMs": 0, "cacheScope": "private"}),
            "tools/call" => match self.call_tool(params) {
                Ok(r) => r,
                Err((code, m)) => return self.err(StatusCode::OK, id, code, &m),
            },
            // streamable-http: an unimplemented method is 404 with -32601.
            _ => {
                return self.err(
                    StatusCode::NOT_FOUND,
                    id,
                    METHOD_NOT_FOUND,
                    "Method not found",
                );
            }
        };
        result["resultType"] = json!("complete");
        result["_meta"] = result_meta;
        self.ok(id, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice(scopes: &[&str]) -> Principal {
        Principal {
            subject: "alice".into(),
            client_id: "c".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert(
            "accept",
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn call(s: &McpSessions, p: &Principal, h: &HeaderMap, body: Value) -> Response {
        match handle(
            s,
            "http://r/mcp",
            p,
            &Method::POST,
            h,
            body.to_string().as_bytes(),
            &Defects::none(),
        ) {
            McpOutcome::Response(r) => r,
            McpOutcome::InsufficientScope { .. } => panic!("unexpected insufficient scope"),
        }
    }

    async fn json_of(r: Response) -> Value {
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&b).unwrap()
    }

    fn init() -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
    }

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

    #[tokio::test]
    async fn admin_needs_write_scope() {
        let s = McpSessions::new(10);
        let h = headers(&[]);
        let r = call(&s, &alice(&["mcp:read"]), &h, init());
        let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
        let with = headers(&[("mcp-session-id", &sid)]);
        let body =
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "admin"}});
        let out = handle(
            &s,
            "http://r/mcp",
            &alice(&["mcp:read"]),
            &Method::POST,
            &with,
            body.to_string().as_bytes(),
            &Defects::none(),
        );
        assert!(
            matches!(out, McpOutcome::InsufficientScope { ref required } if required == &vec!["mcp:read", "mcp:write"])
        );
        let r = call(&s, &alice(&["mcp:read", "mcp:write"]), &with, body);
        assert_eq!(
            json_of(r).await["result"]["content"][0]["text"],
            "admin action performed"
        );
    }

    #[tokio::test]
    async fn framing_and_media_types() {
        let s = McpSessions::new(10);
        let p = alice(&["mcp:read"]);
        let mut h = headers(&[]);
        h.insert("accept", HeaderValue::from_static("text/event-stream"));
        let r = call(&s, &p, &h, init());
        assert_eq!(r.headers()["content-type"], "text/event-stream");
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        assert!(String::from_utf8_lossy(&b).starts_with("event: message\ndata: {"));
        h.insert("accept", HeaderValue::from_static("text/html"));
        assert_eq!(
            call(&s, &p, &h, init()).status(),
            StatusCode::NOT_ACCEPTABLE
        );
        let mut h = headers(&[]);
        h.insert("content-type", HeaderValue::from_static("text/plain"));
        assert_eq!(
            call(&s, &p, &h, init()).status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let h = headers(&[]);
        let r = handle(
            &s,
            "r",
            &p,
            &Method::POST,
            &h,
            b"{not json",
            &Defects::none(),
        );
        let McpOutcome::Response(r) = r else { panic!() };
        assert_eq!(json_of(r).await["error"]["code"], PARSE_ERROR);
        assert_eq!(
            call(&s, &p, &h, json!([init()])).status(),
            StatusCode::BAD_REQUEST
        );
        let h = headers(&[("mcp-protocol-version", "1999-01-01")]);
        let r = call(&s, &p, &h, init());
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json_of(r).await["error"]["data"]["requested"], "1999-01-01");
        let McpOutcome::Response(r) = handle(&s, "r", &p, &Method::GET, &h, b"", &Defects::none())
        else {
            panic!()
        };
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    fn meta() -> Value {
        json!({META_VERSION: "2026-07-28", META_CAPABILITIES: {}})
    }

    #[tokio::test]
    async fn stateless_generation_checks_meta_and_headers() {
        let s = McpSessions::new(10);
        let p = alice(&["mcp:read"]);
        let h = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "server/discover"),
        ]);
        let discover = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta()}});
        let r = call(&s, &p, &h, discover.clone());
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().get("mcp-session-id").is_none());
        let v = json_of(r).await;
        assert_eq!(v["result"]["resultType"], "complete");
        assert!(
            v["result"]["supportedVersions"]
                .as_array()
                .unwrap()
                .contains(&json!("2026-07-28"))
        );

        let no_meta = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {}});
        let h2 = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "server/discover"),
        ]);
        let r = call(&s, &p, &h2, no_meta);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json_of(r).await["error"]["code"], INVALID_PARAMS);

        let wrong = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/list"),
        ]);
        let r = call(&s, &p, &wrong, discover);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json_of(r).await["error"]["code"], HEADER_MISMATCH);

        let call_body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami", "_meta": meta()}});
        let bad_name = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "admin"),
        ]);
        assert_eq!(
            json_of(call(&s, &p, &bad_name, call_body.clone())).await["error"]["code"],
            HEADER_MISMATCH
        );
        let good = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "=?base64?d2hvYW1p?="),
        ]);
        let v = json_of(call(&s, &p, &good, call_body)).await;
        assert_eq!(v["result"]["resultType"], "complete");
        assert!(
            v["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("alice")
        );

        let init26 =
            json!({"jsonrpc": "2.0", "id": 3, "method": "initialize", "params": {"_meta": meta()}});
        let h = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "initialize"),
        ]);
        assert_eq!(call(&s, &p, &h, init26).status(), StatusCode::NOT_FOUND);
    }
}
