//! The stateless generation, 2026-07-28 (basic/transports/streamable-http, basic/index,
//! server/discover): every request carries `params._meta` with the protocol version and the
//! client capabilities, and the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers must
//! mirror the body (HeaderMismatch, -32020); results carry `resultType`.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};

use super::{
    Ctx, HEADER_MISMATCH, INVALID_PARAMS, META_CAPABILITIES, META_SERVER_INFO, METHOD_NOT_FOUND,
    McpOutcome, SUPPORTED_VERSIONS, UNSUPPORTED_VERSION, error, header_str, server_info, tools,
};
use crate::protocol::{SCOPE_READ, SCOPE_WRITE};

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
    /// 2026-07-28: stateless; headers must mirror the body (HeaderMismatch).
    pub(super) fn stateless(
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
    use axum::http::StatusCode;
    use serde_json::{Value, json};

    use super::super::tests::{alice, call, headers, json_of};
    use super::super::{
        HEADER_MISMATCH, INVALID_PARAMS, META_CAPABILITIES, META_VERSION, McpSessions,
    };

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
