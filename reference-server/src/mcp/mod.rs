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
//! The two generations are `session` and `stateless`.

mod session;
pub mod shared;
mod stateless;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use self::session::McpSessions;
use crate::defects::{Defect, Defects};
use crate::protocol::SCOPE_WRITE;
use crate::variants::{Variant, Variants};

pub const SUPPORTED_VERSIONS: &[&str] = &["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];
/// The stateless generation.
pub const STATELESS_VERSION: &str = "2026-07-28";

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

/// The server's defects and variants, as the MCP layer reads them.
#[derive(Clone, Copy)]
pub struct Switches<'a> {
    pub defects: &'a Defects,
    pub variants: &'a Variants,
    /// The revisions the server speaks: all of [`SUPPORTED_VERSIONS`], or only 2025-03-26 in
    /// that revision's layout.
    pub versions: &'static [&'static str],
}

pub fn handle(
    sessions: &McpSessions,
    resource: &str,
    principal: &Principal,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    switches: Switches<'_>,
) -> McpOutcome {
    match *method {
        Method::POST => post(sessions, resource, principal, headers, body, switches),
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
    switches: Switches<'_>,
) -> McpOutcome {
    let Switches {
        defects,
        variants,
        versions,
    } = switches;
    // Framing from Accept: JSON unless only SSE is acceptable.
    let accept = header_str(headers, "accept")
        .unwrap_or("application/json")
        .to_ascii_lowercase();
    let json_ok = accept.contains("application/json")
        || accept.contains("*/*")
        || accept.contains("application/*");
    let sse_ok = accept.contains("text/event-stream");
    let framing = match (json_ok, sse_ok) {
        // The `mcp-sse-responses` variant: the server chooses SSE whenever it may.
        (_, true) if variants.has(Variant::McpSseResponses) => Framing::Sse,
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
    // MCP-Protocol-Version came with 2025-06-18: a server of 2025-03-26 alone ignores it.
    let header_known = versions.iter().any(|v| *v >= "2025-06-18");
    if let Some(v) = header_version.filter(|v| header_known && !versions.contains(v)) {
        return error(
            StatusCode::BAD_REQUEST,
            framing,
            &id.unwrap_or(Value::Null),
            UNSUPPORTED_VERSION,
            "Unsupported protocol version",
            Some(json!({"supported": versions, "requested": v})),
        );
    }
    let stateless = versions.contains(&STATELESS_VERSION)
        && (header_version == Some(STATELESS_VERSION) || meta_version == Some(STATELESS_VERSION));
    let ctx = Ctx {
        sessions,
        resource,
        principal,
        headers,
        framing,
        defects,
        variants,
        versions,
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
    variants: &'a Variants,
    versions: &'static [&'static str],
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
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn alice(scopes: &[&str]) -> Principal {
        Principal {
            subject: "alice".into(),
            client_id: "c".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub(super) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
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

    pub(super) fn call(s: &McpSessions, p: &Principal, h: &HeaderMap, body: Value) -> Response {
        match handle(
            s,
            "http://r/mcp",
            p,
            &Method::POST,
            h,
            body.to_string().as_bytes(),
            Switches {
                defects: &Defects::none(),
                variants: &Variants::none(),
                versions: SUPPORTED_VERSIONS,
            },
        ) {
            McpOutcome::Response(r) => r,
            McpOutcome::InsufficientScope { .. } => panic!("unexpected insufficient scope"),
        }
    }

    pub(super) async fn json_of(r: Response) -> Value {
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&b).unwrap()
    }

    pub(super) fn init() -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
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
            Switches {
                defects: &Defects::none(),
                variants: &Variants::none(),
                versions: SUPPORTED_VERSIONS,
            },
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
            Switches {
                defects: &Defects::none(),
                variants: &Variants::none(),
                versions: SUPPORTED_VERSIONS,
            },
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
        let McpOutcome::Response(r) = handle(
            &s,
            "r",
            &p,
            &Method::GET,
            &h,
            b"",
            Switches {
                defects: &Defects::none(),
                variants: &Variants::none(),
                versions: SUPPORTED_VERSIONS,
            },
        ) else {
            panic!()
        };
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
