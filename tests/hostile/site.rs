//! The hostile target's well-behaved skeleton (axum, 127.0.0.1 only): an MCP endpoint that
//! answers 401 with a Bearer challenge, its protected resource metadata, authorization server
//! metadata, a registration endpoint, an authorization endpoint that redirects at once with a
//! code, and a token endpoint. One [`Twist`] replaces one of these answers with a hostile one.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::stream;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The one thing the site does wrong.
#[derive(Debug, Clone)]
pub enum Twist {
    /// The 401's WWW-Authenticate header, as raw bytes.
    Challenge(Vec<u8>),
    /// The 401's challenge names this URL as its protected resource metadata (a raw server).
    PrmAt(String),
    /// The PRM document's body, as raw bytes (served as application/json).
    PrmBody(Vec<u8>),
    /// The PRM document's body in a content coding (`gzip`, `br`), as raw bytes.
    PrmEncoded(&'static str, Vec<u8>),
    /// The PRM document lists this authorization server.
    AuthorizationServer(String),
    /// The PRM URL answers 302 to this path or URL (a loop when it is the PRM URL itself).
    PrmRedirect(String),
    /// The authorization endpoint answers 302 to this path or URL.
    AuthorizeRedirect(String),
    /// The authorization endpoint answers this HTML page.
    AuthorizePage(String),
    /// The authorization endpoint's redirect carries this many Set-Cookie headers.
    CookieFlood(usize),
    /// An authorized MCP request gets a JSON-RPC response with another id.
    WrongId,
    /// An authorized MCP request gets an event stream that sends comments, never an event.
    SilentEvents,
}

#[derive(Clone)]
struct Site {
    base: String,
    twist: Option<Twist>,
}

/// Starts the site on a free loopback port; returns its origin (`http://127.0.0.1:PORT`).
pub async fn start(twist: Option<Twist>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let site = Arc::new(Site {
        base: base.clone(),
        twist,
    });
    let app = Router::new()
        .route("/mcp", post(mcp))
        .route("/.well-known/oauth-protected-resource/mcp", get(prm))
        .route("/.well-known/oauth-authorization-server", get(as_metadata))
        .route("/register", post(register))
        .route("/authorize", get(authorize))
        .route("/hop/{n}", get(hop))
        .route("/token", post(token))
        .with_state(site);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

fn json_response(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

async fn mcp(State(site): State<Arc<Site>>, headers: HeaderMap, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("bearer hostile-access-token"));
    if !authorized {
        let challenge = match &site.twist {
            Some(Twist::Challenge(raw)) => HeaderValue::from_bytes(raw).expect("header bytes"),
            Some(Twist::PrmAt(url)) => {
                HeaderValue::from_str(&format!("Bearer resource_metadata=\"{url}\""))
                    .expect("header")
            }
            _ => HeaderValue::from_str(&format!(
                "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", scope=\"mcp\"",
                site.base
            ))
            .expect("header"),
        };
        let mut r = json_response(
            StatusCode::UNAUTHORIZED,
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32001, "message": "unauthorized"}}),
        );
        r.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        return r;
    }
    match &site.twist {
        Some(Twist::WrongId) => json_response(
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "id": 987654321, "result": {"protocolVersion": "2025-11-25", "capabilities": {}, "serverInfo": {"name": "hostile", "version": "0"}}}),
        ),
        Some(Twist::SilentEvents) => {
            let comments = stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((
                    Ok::<_, std::io::Error>(Bytes::from_static(b": still here\n\n")),
                    (),
                ))
            });
            Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .body(Body::from_stream(comments))
                .expect("response")
        }
        _ => json_response(
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "id": id, "result": {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "hostile", "version": "0"}, "tools": []}}),
        ),
    }
}

async fn prm(State(site): State<Arc<Site>>) -> Response {
    let base = &site.base;
    match &site.twist {
        Some(Twist::PrmBody(raw)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            with_base(raw, base),
        )
            .into_response(),
        Some(Twist::PrmEncoded(coding, raw)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CONTENT_ENCODING, *coding),
            ],
            raw.clone(),
        )
            .into_response(),
        Some(Twist::PrmRedirect(to)) => redirect(to),
        Some(Twist::AuthorizationServer(server)) => json_response(
            StatusCode::OK,
            json!({"resource": format!("{base}/mcp"), "authorization_servers": [server]}),
        ),
        _ => json_response(
            StatusCode::OK,
            json!({"resource": format!("{base}/mcp"), "authorization_servers": [base], "scopes_supported": ["mcp"]}),
        ),
    }
}

/// `raw` with every `{base}` replaced by the site's origin.
fn with_base(raw: &[u8], base: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.windows(6).position(|w| w == b"{base}") {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(base.as_bytes());
        rest = &rest[i + 6..];
    }
    out.extend_from_slice(rest);
    out
}

async fn as_metadata(State(site): State<Arc<Site>>) -> Response {
    let base = &site.base;
    json_response(
        StatusCode::OK,
        json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "registration_endpoint": format!("{base}/register"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["mcp"],
        }),
    )
}

async fn register(body: Bytes) -> Response {
    let mut client: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!({}));
    if let Some(obj) = client.as_object_mut() {
        obj.insert("client_id".into(), json!("hostile-client"));
        obj.insert("client_id_issued_at".into(), json!(1_700_000_000));
    }
    json_response(StatusCode::CREATED, client)
}

async fn authorize(
    State(site): State<Arc<Site>>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let get = |name: &str| {
        q.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    match &site.twist {
        Some(Twist::AuthorizeRedirect(to)) => return redirect(to),
        Some(Twist::AuthorizePage(html)) => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html.clone(),
            )
                .into_response();
        }
        _ => {}
    }
    let mut to = url::Url::parse(&get("redirect_uri")).expect("redirect_uri");
    to.query_pairs_mut()
        .append_pair("code", "hostile-code")
        .append_pair("state", &get("state"))
        .append_pair("iss", &site.base);
    let mut r = redirect(to.as_str());
    if let Some(Twist::CookieFlood(n)) = &site.twist {
        for i in 0..*n {
            r.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_str(&format!("c{i}={}; Path=/", "x".repeat(64))).expect("cookie"),
            );
        }
    }
    r
}

/// `/hop/N` redirects to `/hop/N+1`: a chain as long as the client follows it.
async fn hop(axum::extract::Path(n): axum::extract::Path<u64>) -> Response {
    redirect(&format!("/hop/{}", n + 1))
}

async fn token() -> Response {
    json_response(
        StatusCode::OK,
        json!({"access_token": "hostile-access-token", "token_type": "Bearer", "expires_in": 3600, "scope": "mcp"}),
    )
}
