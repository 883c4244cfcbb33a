//! An MCP client over streamable HTTP, for both protocol generations.
//!
//! - 2025-03-26, 2025-06-18 and 2025-11-25: `initialize`, then `Mcp-Session-Id` on later
//!   requests.
//! - 2026-07-28 (stateless): no `initialize` and no sessions; `server/discover`, `params._meta`
//!   on every request, and `Mcp-Method` / `Mcp-Name` headers that mirror the body.
//!
//! `MCP-Protocol-Version` is always sent. Responses may be JSON or an SSE stream.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use serde_json::{Value, json};
use url::Url;

use super::http::{Http, Request, Response, TransportError};
use super::ratelimit::Retry;
use super::redact::Secret;

pub const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";

/// MCP methods that change nothing on the server, so a rate-limited one may be sent again
/// (a tool call may have effects: it is sent again only after a 429).
const WITHOUT_SIDE_EFFECTS: &[&str] = &[
    "initialize",
    "notifications/initialized",
    "server/discover",
    "ping",
    "tools/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
    "prompts/get",
];

/// The MCP specification revisions the harness speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Revision {
    V2025_03_26,
    V2025_06_18,
    V2025_11_25,
    V2026_07_28,
}

impl Revision {
    pub const ALL: [Revision; 4] = [
        Revision::V2025_03_26,
        Revision::V2025_06_18,
        Revision::V2025_11_25,
        Revision::V2026_07_28,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Revision::V2025_03_26 => "2025-03-26",
            Revision::V2025_06_18 => "2025-06-18",
            Revision::V2025_11_25 => "2025-11-25",
            Revision::V2026_07_28 => "2026-07-28",
        }
    }

    /// 2026-07-28 dropped `initialize` and sessions.
    pub fn is_stateless(self) -> bool {
        self >= Revision::V2026_07_28
    }

    /// 2025-03-26 has no protected resource metadata: the MCP server's origin is the AS.
    pub fn has_prm(self) -> bool {
        self >= Revision::V2025_06_18
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Revision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Revision::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Revision::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown MCP revision '{s}' (known: {})", known.join(", "))
            })
    }
}

/// How a request presents its access token. The wrong ways exist for negative tests.
#[derive(Debug, Clone)]
pub enum Credential {
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: <scheme> <token>` with a scheme spelled as given (RS-03).
    Scheme(String, Secret),
    /// The token in the `access_token` query parameter and nowhere else (RS-09).
    Query(Secret),
}

/// One MCP request, before it is sent.
#[derive(Debug, Clone)]
pub struct McpRequest {
    pub method: String,
    pub params: Value,
    /// `None` makes a notification.
    pub id: Option<u64>,
    pub credential: Credential,
    /// Send this session ID (2025 revisions); `None` sends none.
    pub session: Option<String>,
}

impl McpRequest {
    pub fn with_credential(mut self, c: Credential) -> Self {
        self.credential = c;
        self
    }
    pub fn with_session(mut self, s: Option<String>) -> Self {
        self.session = s;
        self
    }
}

/// A response with the JSON-RPC message found in it (from a JSON body or an SSE stream).
#[derive(Debug, Clone)]
pub struct McpResponse {
    pub http: Response,
    pub message: Option<Value>,
}

impl McpResponse {
    pub fn result(&self) -> Option<&Value> {
        self.message.as_ref().and_then(|m| m.get("result"))
    }
    pub fn error(&self) -> Option<&Value> {
        self.message.as_ref().and_then(|m| m.get("error"))
    }
    pub fn session_id(&self) -> Option<&str> {
        self.http.header("mcp-session-id")
    }
}

/// An MCP client bound to one endpoint and one revision.
pub struct McpClient {
    http: Http,
    url: Url,
    revision: Revision,
    next_id: AtomicU64,
}

impl McpClient {
    pub fn new(http: Http, url: Url, revision: Revision) -> Self {
        McpClient {
            http,
            url,
            revision,
            next_id: AtomicU64::new(1),
        }
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn revision(&self) -> Revision {
        self.revision
    }

    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A request for `method`, with `_meta` added in the stateless generation.
    pub fn request(&self, method: &str, params: Value) -> McpRequest {
        let mut params = match params {
            Value::Object(m) => Value::Object(m),
            _ => json!({}),
        };
        if self.revision.is_stateless()
            && let Some(obj) = params.as_object_mut()
        {
            obj.insert(
                "_meta".into(),
                json!({
                    META_VERSION: self.revision.as_str(),
                    META_CAPABILITIES: {},
                    META_CLIENT_INFO: client_info(),
                }),
            );
        }
        McpRequest {
            method: method.to_string(),
            params,
            id: Some(self.id()),
            credential: Credential::None,
            session: None,
        }
    }

    /// The first request of a conversation: `initialize` (2025 revisions) or
    /// `server/discover` (2026-07-28). Discovery's unauthenticated probe sends this.
    pub fn opening(&self) -> McpRequest {
        if self.revision.is_stateless() {
            self.request("server/discover", json!({}))
        } else {
            self.request(
                "initialize",
                json!({
                    "protocolVersion": self.revision.as_str(),
                    "capabilities": {},
                    "clientInfo": client_info(),
                }),
            )
        }
    }

    pub fn tools_list(&self) -> McpRequest {
        self.request("tools/list", json!({}))
    }

    pub fn tools_call(&self, name: &str, arguments: Value) -> McpRequest {
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
    }

    /// The HTTP request for an MCP request.
    pub fn http_request(&self, req: &McpRequest) -> Request {
        let mut url = self.url.clone();
        let mut headers: Vec<(String, String)> = vec![
            (
                "accept".into(),
                "application/json, text/event-stream".into(),
            ),
            ("mcp-protocol-version".into(), self.revision.as_str().into()),
        ];
        match &req.credential {
            Credential::None => {}
            Credential::Bearer(t) => {
                headers.push(("authorization".into(), format!("Bearer {}", t.expose())))
            }
            Credential::Scheme(s, t) => {
                headers.push(("authorization".into(), format!("{s} {}", t.expose())))
            }
            Credential::Query(t) => {
                url.query_pairs_mut()
                    .append_pair("access_token", t.expose());
            }
        }
        if let Some(s) = &req.session {
            headers.push(("mcp-session-id".into(), s.clone()));
        }
        if self.revision.is_stateless() {
            headers.push(("mcp-method".into(), header_safe(&req.method)));
            if matches!(
                req.method.as_str(),
                "tools/call" | "resources/read" | "prompts/get"
            ) && let Some(name) = req
                .params
                .get("name")
                .or_else(|| req.params.get("uri"))
                .and_then(Value::as_str)
            {
                headers.push(("mcp-name".into(), header_safe(name)));
            }
        }
        let mut body = json!({"jsonrpc": "2.0", "method": req.method, "params": req.params});
        if let (Some(id), Some(obj)) = (req.id, body.as_object_mut()) {
            obj.insert("id".into(), json!(id));
        }
        let mut http_req = Request::post(url);
        if WITHOUT_SIDE_EFFECTS.contains(&req.method.as_str()) {
            http_req = http_req.retry(Retry::Idempotent);
        }
        for (k, v) in headers {
            http_req = http_req.header(&k, &v);
        }
        http_req.json(body)
    }

    pub async fn send(&self, req: &McpRequest) -> Result<McpResponse, TransportError> {
        let http = self.http.send(self.http_request(req)).await?;
        let message = find_message(&http, req.id);
        Ok(McpResponse { http, message })
    }

    /// Sends `req` with `query_token` also in the `access_token` query parameter, beside the
    /// request's own credential (RS-10: a token sent two ways at once).
    pub async fn send_with_query_token(
        &self,
        req: &McpRequest,
        query_token: &Secret,
    ) -> Result<McpResponse, TransportError> {
        let mut http_req = self.http_request(req);
        http_req
            .url
            .query_pairs_mut()
            .append_pair("access_token", query_token.expose());
        let http = self.http.send(http_req).await?;
        let message = find_message(&http, req.id);
        Ok(McpResponse { http, message })
    }

    /// An HTTP request other than POST to the endpoint (GET stream, DELETE session).
    pub async fn send_method(
        &self,
        method: reqwest::Method,
        credential: &Credential,
        session: Option<&str>,
    ) -> Result<Response, TransportError> {
        let mut r = Request::new(method, self.url.clone())
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", self.revision.as_str());
        if let Credential::Bearer(t) = credential {
            r = r.header("authorization", &format!("Bearer {}", t.expose()));
        }
        if let Some(s) = session {
            r = r.header("mcp-session-id", s);
        }
        self.http.send(r).await
    }

    /// Opens a conversation with a credential: `initialize` plus `notifications/initialized`
    /// (returning the session ID, if any), or `server/discover`.
    pub async fn open(
        &self,
        credential: &Credential,
    ) -> Result<(McpResponse, Option<String>), TransportError> {
        let first = self
            .send(&self.opening().with_credential(credential.clone()))
            .await?;
        if self.revision.is_stateless() || !first.http.status.is_success() {
            return Ok((first, None));
        }
        let session = first.session_id().map(str::to_string);
        let mut note = self.request("notifications/initialized", json!({}));
        note.id = None;
        let note = note
            .with_credential(credential.clone())
            .with_session(session.clone());
        self.send(&note).await?;
        Ok((first, session))
    }
}

fn client_info() -> Value {
    json!({"name": "mcp-oauth-conformance", "version": env!("CARGO_PKG_VERSION")})
}

/// A header value as 2026-07-28 wants it: plain when it is safe, else `=?base64?…?=`.
pub fn header_safe(value: &str) -> String {
    let printable = value
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) || b == b' ');
    let padded = value.starts_with(' ') || value.ends_with(' ');
    let looks_encoded = value.starts_with("=?base64?") && value.ends_with("?=");
    let plain = printable && !padded && !looks_encoded;
    if plain {
        value.to_string()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value.as_bytes())
        )
    }
}

/// The JSON-RPC response in a body whose `id` matches (any response when `id` is `None`): the
/// object itself for JSON, or the matching SSE event. A response to another request is no
/// answer to this one.
pub fn find_message(resp: &Response, id: Option<u64>) -> Option<Value> {
    match resp.media_type().as_deref() {
        Some("text/event-stream") => {
            let text = resp.text();
            let mut data = String::new();
            let mut found = None;
            for line in text.lines().chain(std::iter::once("")) {
                if line.is_empty() {
                    if !data.is_empty() {
                        if let Ok(v) = serde_json::from_str::<Value>(&data)
                            && (v.get("result").is_some() || v.get("error").is_some())
                            && id.is_none_or(|id| v.get("id") == Some(&json!(id)))
                        {
                            found = Some(v);
                        }
                        data.clear();
                    }
                } else if let Some(rest) = line.strip_prefix("data:") {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
                }
            }
            found
        }
        _ => resp
            .json()
            .ok()
            .filter(|v| v.is_object() && id.is_none_or(|id| v.get("id") == Some(&json!(id)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn response(content_type: &str, body: &str) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_str(content_type).expect("header"),
        );
        Response {
            url: Url::parse("http://127.0.0.1/mcp").expect("url"),
            status: StatusCode::OK,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn sse_streams_yield_the_matching_response() {
        let body = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n\
                    id: 7\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\n\
                    data: \"result\":{\"ok\":true}}\n\n";
        let r = response("text/event-stream", body);
        let m = find_message(&r, Some(2)).expect("a message");
        assert_eq!(m["result"]["ok"], json!(true));
        assert!(find_message(&r, Some(3)).is_none());
        let j = response(
            "application/json; charset=utf-8",
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        );
        assert!(find_message(&j, Some(1)).is_some());
        assert!(
            find_message(&j, Some(2)).is_none(),
            "a response to another id"
        );
    }

    #[test]
    fn header_values_are_encoded_when_unsafe() {
        assert_eq!(header_safe("tools/call"), "tools/call");
        assert_eq!(header_safe("héllo"), "=?base64?aMOpbGxv?=");
        assert_eq!(header_safe("=?base64?x?="), "=?base64?PT9iYXNlNjQ/eD89?=");
    }

    #[test]
    fn stateless_requests_carry_meta_and_mirror_headers() {
        crate::install_crypto_provider();
        let http = Http::new(Default::default(), false).expect("client");
        let c = McpClient::new(
            http,
            Url::parse("http://127.0.0.1:1/mcp").expect("url"),
            Revision::V2026_07_28,
        );
        let req = c.tools_call("whoami", json!({}));
        assert_eq!(req.params["_meta"][META_VERSION], "2026-07-28");
        let h = c.http_request(&req);
        let names: Vec<(String, String)> = h
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        assert!(names.contains(&("mcp-method".into(), "tools/call".into())));
        assert!(names.contains(&("mcp-name".into(), "whoami".into())));
        assert!(names.contains(&("mcp-protocol-version".into(), "2026-07-28".into())));
        assert_eq!(c.opening().method, "server/discover");

        let old = McpClient::new(
            Http::new(Default::default(), false).expect("client"),
            Url::parse("http://127.0.0.1:1/mcp").expect("url"),
            Revision::V2025_11_25,
        );
        assert_eq!(old.opening().method, "initialize");
        assert!(old.tools_list().params.get("_meta").is_none());
    }
}
