//! No input makes the server fail: generated requests (methods, paths, query strings, form and
//! JSON bodies, headers) to every endpoint get an answer below 500, or a deliberate 503, and
//! never a panic. The values mix garbage with real ones (a registered client, its redirect
//! URI, a valid access and refresh token), so that requests get past the first checks.
//! `PROPTEST_CASES=100000 cargo test -p reference-server --test abuse_props` runs a longer
//! search; the default is 256 cases per server.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use reference_server::{Config, Variant, Variants};
use serde_json::{Value, json};
use tower::ServiceExt;

/// What the generated requests may use: every path the server routes, real values, and
/// valid requests to start from.
#[derive(Debug, Clone)]
struct Known {
    paths: Vec<String>,
    values: Vec<String>,
    valid: Vec<Fuzzed>,
}

/// A generated request.
#[derive(Debug, Clone)]
struct Fuzzed {
    method: Method,
    path: String,
    query: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
}

const PARAMS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "code_challenge",
    "code_challenge_method",
    "state",
    "scope",
    "resource",
    "grant_type",
    "code",
    "code_verifier",
    "refresh_token",
    "token",
    "token_type_hint",
    "client_secret",
    "username",
    "password",
    "csrf",
    "decision",
    "request_id",
];

const HEADERS: &[&str] = &[
    "content-type",
    "authorization",
    "cookie",
    "accept",
    "mcp-session-id",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
    "origin",
    "host",
    "content-encoding",
    "last-event-id",
];

const MCP_METHODS: &[&str] = &[
    "initialize",
    "notifications/initialized",
    "ping",
    "tools/list",
    "tools/call",
    "server/discover",
    "resources/list",
];

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        "[a-zA-Z0-9%._~:/?#@!$&'()*+,;=-]{0,60}",
        Just(String::new()),
        "(%[0-9A-Fa-fZ]{0,2}){1,8}",
        (0usize..3000).prop_map(|n| "a".repeat(n)),
    ]
    .boxed()
}

fn value(known: &Known) -> BoxedStrategy<String> {
    prop_oneof![2 => proptest::sample::select(known.values.clone()), 1 => text()].boxed()
}

fn name() -> BoxedStrategy<String> {
    prop_oneof![
        4 => proptest::sample::select(PARAMS).prop_map(str::to_string),
        1 => text(),
    ]
    .boxed()
}

/// Form-encoded pairs, sometimes with raw (possibly invalid) escapes.
fn form(known: &Known) -> BoxedStrategy<String> {
    let pairs = proptest::collection::vec((name(), value(known)), 0..8);
    prop_oneof![
        3 => pairs.prop_map(|p| url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(p)
            .finish()),
        1 => "[a-zA-Z0-9%=&;+._~-]{0,80}",
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A JSON-RPC message, or client metadata, with generated members.
fn json_body(known: &Known) -> BoxedStrategy<Vec<u8>> {
    let rpc = (
        proptest::sample::select(MCP_METHODS),
        json_value(),
        json_value(),
    )
        .prop_map(|(method, id, params)| {
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
        });
    let metadata = (
        proptest::collection::vec(value(known), 0..3),
        json_value(),
        json_value(),
    )
        .prop_map(|(uris, grants, extra)| {
            json!({
                "redirect_uris": uris,
                "grant_types": grants,
                "token_endpoint_auth_method": "none",
                "client_name": extra,
            })
        });
    prop_oneof![rpc, metadata, json_value()]
        .prop_map(|v| v.to_string().into_bytes())
        .boxed()
}

fn header(known: &Known) -> BoxedStrategy<(&'static str, Vec<u8>)> {
    let content_type = proptest::sample::select(vec![
        "application/x-www-form-urlencoded",
        "application/json",
        "application/json; charset=utf-16",
        "text/plain",
        "multipart/form-data; boundary=x",
        "text/event-stream",
    ])
    .prop_map(|v| v.as_bytes().to_vec());
    let credential = (
        proptest::sample::select(vec!["Bearer ", "Basic ", "DPoP ", ""]),
        value(known),
    )
        .prop_map(|(scheme, v)| format!("{scheme}{v}").into_bytes());
    let raw = proptest::collection::vec(any::<u8>(), 0..64);
    (
        proptest::sample::select(HEADERS),
        prop_oneof![
            content_type,
            credential,
            value(known).prop_map(String::into_bytes),
            raw
        ],
    )
        .boxed()
}

/// A change to one parameter of a valid request.
#[derive(Debug, Clone)]
enum Tamper {
    Drop,
    Replace(String),
    Repeat(String),
}

/// A valid request with up to three parameters (of the query, or of a form body) tampered.
fn near_valid(known: &Known) -> BoxedStrategy<Fuzzed> {
    let tamper = prop_oneof![
        Just(Tamper::Drop),
        value(known).prop_map(Tamper::Replace),
        value(known).prop_map(Tamper::Repeat),
    ];
    (
        proptest::sample::select(known.valid.clone()),
        proptest::collection::vec((any::<proptest::sample::Index>(), tamper), 0..4),
    )
        .prop_map(|(mut valid, tampers)| {
            let in_body = valid.query.is_empty() && !valid.body.starts_with(b"{");
            let encoded = if in_body {
                String::from_utf8_lossy(&valid.body).into_owned()
            } else {
                valid.query.clone()
            };
            let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(encoded.as_bytes())
                .into_owned()
                .collect();
            for (at, tamper) in tampers {
                if pairs.is_empty() {
                    break;
                }
                let i = at.index(pairs.len());
                match tamper {
                    Tamper::Drop => {
                        pairs.remove(i);
                    }
                    Tamper::Replace(v) => pairs[i].1 = v,
                    Tamper::Repeat(v) => {
                        let k = pairs[i].0.clone();
                        pairs.push((k, v));
                    }
                }
            }
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            if in_body {
                valid.body = encoded.into_bytes();
            } else if !valid.query.is_empty() {
                valid.query = encoded;
            }
            valid
        })
        .boxed()
}

fn request(known: &Known) -> BoxedStrategy<Fuzzed> {
    prop_oneof![random_request(known), near_valid(known)].boxed()
}

fn random_request(known: &Known) -> BoxedStrategy<Fuzzed> {
    let method = proptest::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
    ]);
    let path = prop_oneof![
        6 => proptest::sample::select(known.paths.clone()),
        1 => (proptest::sample::select(known.paths.clone()), "[a-zA-Z0-9%/._-]{0,20}")
            .prop_map(|(p, tail)| format!("{p}{tail}")),
    ];
    let body = prop_oneof![
        Just(Vec::new()),
        form(known).prop_map(String::into_bytes),
        json_body(known),
        proptest::collection::vec(any::<u8>(), 0..300),
    ];
    (
        method,
        path,
        form(known),
        proptest::collection::vec(header(known), 0..6),
        body,
    )
        .prop_map(|(method, path, query, headers, body)| Fuzzed {
            method,
            path,
            query,
            headers,
            body,
        })
        .boxed()
}

impl Fuzzed {
    /// The request, with the headers `http` accepts (a value with CR, LF or NUL is dropped).
    fn build(&self) -> Option<Request<Body>> {
        let uri = if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        };
        let mut req = Request::builder()
            .method(self.method.clone())
            .uri(uri)
            .body(Body::from(self.body.clone()))
            .ok()?;
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_bytes(value) {
                req.headers_mut().append(HeaderName::from_static(name), v);
            }
        }
        Some(req)
    }
}

/// Starts a server with `config`, logs in, and gathers its paths and real values.
async fn target(config: Config) -> (Session, Router, Known) {
    let s = logged_in(config).await;
    let router = reference_server::serve::protect(
        reference_server::router(s.server.state.clone()),
        &s.server.state.config,
    );
    let m = &s.ep.metadata;
    let path_of = |u: &str| url::Url::parse(u).map(|u| u.path().to_string()).ok();
    let mut paths: Vec<String> = [
        "authorization_endpoint",
        "token_endpoint",
        "registration_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "jwks_uri",
    ]
    .iter()
    .filter_map(|k| m[k].as_str().and_then(path_of))
    .collect();
    let authorize = path_of(&s.ep.authorize).unwrap_or_default();
    for page in ["login", "consent", "login.js"] {
        paths.push(authorize.replace("authorize", page));
    }
    for u in [&s.server.urls.mcp, &s.server.urls.mcp_alt] {
        paths.extend(path_of(u));
    }
    paths.extend(s.server.urls.prm.as_deref().and_then(path_of));
    paths.extend(path_of(&s.server.urls.as_metadata));
    paths.extend([
        "/.well-known/openid-configuration".to_string(),
        "/.well-known/oauth-protected-resource/alt/mcp".to_string(),
        "/".to_string(),
    ]);
    let values = vec![
        s.client.client_id.clone(),
        REDIRECT.to_string(),
        s.server.urls.mcp.clone(),
        s.server.urls.mcp_alt.clone(),
        challenge(VERIFIER),
        VERIFIER.to_string(),
        "S256".into(),
        "plain".into(),
        "code".into(),
        "mcp:read".into(),
        "mcp:read mcp:write".into(),
        "authorization_code".into(),
        "refresh_token".into(),
        "client_credentials".into(),
        "alice".into(),
        "wonderland".into(),
        "approve".into(),
        s.access_token().to_string(),
        s.refresh_token().to_string(),
        PROTOCOL.into(),
        "2026-07-28".into(),
    ];
    let valid = valid_requests(&s);
    (
        s,
        router,
        Known {
            paths,
            values,
            valid,
        },
    )
}

/// Valid requests to each endpoint that takes parameters: an authorization request, a
/// refresh, a revocation, a registration, and MCP calls with a valid token.
fn valid_requests(s: &Session) -> Vec<Fuzzed> {
    let path_of = |u: &str| {
        url::Url::parse(u)
            .map(|u| u.path().to_string())
            .unwrap_or_default()
    };
    let form_type = (
        "content-type",
        b"application/x-www-form-urlencoded".to_vec(),
    );
    let encode = |pairs: &[(&str, &str)]| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let challenge = challenge(VERIFIER);
    let authorize = AuthRequest::new(&s.client.client_id, &s.server.urls.mcp).url(&s.ep.authorize);
    let authorize = url::Url::parse(&authorize).unwrap();
    let bearer = format!("Bearer {}", s.access_token()).into_bytes();
    let mcp = |method: &str, params: Value| Fuzzed {
        method: Method::POST,
        path: path_of(&s.server.urls.mcp),
        query: String::new(),
        headers: vec![
            ("authorization", bearer.clone()),
            ("content-type", b"application/json".to_vec()),
            ("accept", b"application/json, text/event-stream".to_vec()),
            ("mcp-protocol-version", PROTOCOL.as_bytes().to_vec()),
        ],
        body: json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
            .to_string()
            .into_bytes(),
    };
    vec![
        Fuzzed {
            method: Method::GET,
            path: authorize.path().to_string(),
            query: authorize.query().unwrap_or_default().to_string(),
            headers: vec![],
            body: vec![],
        },
        Fuzzed {
            method: Method::POST,
            path: path_of(&s.ep.token),
            query: String::new(),
            headers: vec![form_type.clone()],
            body: encode(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", s.refresh_token()),
                ("client_id", &s.client.client_id),
                ("scope", "mcp:read"),
                ("resource", &s.server.urls.mcp),
            ])
            .into_bytes(),
        },
        Fuzzed {
            method: Method::POST,
            path: path_of(&s.ep.token),
            query: String::new(),
            headers: vec![form_type.clone()],
            body: encode(&[
                ("grant_type", "authorization_code"),
                ("code", &challenge),
                ("code_verifier", VERIFIER),
                ("client_id", &s.client.client_id),
                ("redirect_uri", REDIRECT),
            ])
            .into_bytes(),
        },
        Fuzzed {
            method: Method::POST,
            path: path_of(&s.ep.revoke),
            query: String::new(),
            headers: vec![form_type],
            body: encode(&[
                ("token", s.access_token()),
                ("token_type_hint", "access_token"),
                ("client_id", &s.client.client_id),
            ])
            .into_bytes(),
        },
        Fuzzed {
            method: Method::POST,
            path: path_of(&s.ep.register),
            query: String::new(),
            headers: vec![("content-type", b"application/json".to_vec())],
            body: json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"})
                .to_string()
                .into_bytes(),
        },
        mcp(
            "initialize",
            json!({"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        ),
        mcp("tools/list", json!({})),
        mcp("tools/call", json!({"name": "admin", "arguments": {}})),
        mcp("ping", json!({})),
    ]
}

fn no_server_errors(config: Config) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (session, router, known) = rt.block_on(target(config));
    let mut runner = TestRunner::new(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&request(&known), |fuzzed| {
        let Some(req) = fuzzed.build() else {
            return Ok(());
        };
        let resp = rt
            .block_on(router.clone().oneshot(req))
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let status = resp.status();
        prop_assert!(
            !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status} for {fuzzed:?}"
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // And the server still works.
    let metadata = rt.block_on(async {
        session
            .http
            .get(&session.server.urls.as_metadata)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(metadata, StatusCode::OK);
}

#[test]
fn no_generated_request_gets_a_server_error() {
    no_server_errors(Config::default());
}

#[test]
fn no_generated_request_gets_a_server_error_with_opaque_tokens_and_shaped_answers() {
    no_server_errors(Config {
        variants: Variants::from_iter([
            Variant::OpaqueAccessTokens,
            Variant::ExtraMembers,
            Variant::ErrorUri,
            Variant::RateLimitToken,
        ]),
        ..Config::default()
    });
}
