//! A small OAuth + MCP client for the reference server's tests: plain reqwest, no redirects
//! followed automatically, HTML forms read with scraper. Independent of the runner crate.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reference_server::{Config, Layout, RunningServer, Variant, Variants};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

pub const REDIRECT: &str = "http://127.0.0.1:49152/callback";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const PROTOCOL: &str = "2025-11-25";

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub async fn start(config: Config) -> RunningServer {
    reference_server::start(config)
        .await
        .expect("server starts")
}

pub async fn start_layout(layout: Layout) -> RunningServer {
    start(Config {
        layout,
        ..Config::default()
    })
    .await
}

pub fn http() -> reqwest::Client {
    reference_server::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds")
}

/// The AS endpoints, as read from its metadata.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub issuer: String,
    pub authorize: String,
    pub token: String,
    pub register: String,
    pub revoke: String,
    pub metadata: Value,
}

impl Endpoints {
    pub async fn fetch(http: &reqwest::Client, as_metadata_url: &str) -> Endpoints {
        let resp = http.get(as_metadata_url).send().await.unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "metadata at {as_metadata_url}"
        );
        let m: Value = resp.json().await.unwrap();
        let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
        Endpoints {
            issuer: s("issuer"),
            authorize: s("authorization_endpoint"),
            token: s("token_endpoint"),
            register: s("registration_endpoint"),
            revoke: s("revocation_endpoint"),
            metadata: m,
        }
    }
}

/// A registered client.
#[derive(Debug, Clone)]
pub struct TestClient {
    pub client_id: String,
    pub secret: Option<String>,
}

pub async fn register(http: &reqwest::Client, ep: &Endpoints, body: Value) -> reqwest::Response {
    http.post(&ep.register).json(&body).send().await.unwrap()
}

pub async fn register_public(http: &reqwest::Client, ep: &Endpoints) -> TestClient {
    let resp = register(
        http,
        ep,
        json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "reference-server tests",
        }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let v: Value = resp.json().await.unwrap();
    TestClient {
        client_id: v["client_id"].as_str().unwrap().to_string(),
        secret: None,
    }
}

pub async fn register_confidential(
    http: &reqwest::Client,
    ep: &Endpoints,
    method: &str,
    grants: &[&str],
) -> TestClient {
    let response_types: Vec<&str> = if grants.contains(&"authorization_code") {
        vec!["code"]
    } else {
        vec![]
    };
    let resp = register(
        http,
        ep,
        json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": method,
            "grant_types": grants,
            "response_types": response_types,
        }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let v: Value = resp.json().await.unwrap();
    TestClient {
        client_id: v["client_id"].as_str().unwrap().to_string(),
        secret: v["client_secret"].as_str().map(str::to_owned),
    }
}

/// An authorization request, valid by default; tests change fields to make it invalid.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub params: Vec<(String, String)>,
}

impl AuthRequest {
    pub fn new(client_id: &str, resource: &str) -> Self {
        let p = [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge(VERIFIER)),
            ("code_challenge_method", "S256"),
            ("state", "st-1234"),
            ("resource", resource),
        ];
        AuthRequest {
            params: p
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
    pub fn set(mut self, k: &str, v: &str) -> Self {
        self.params.retain(|(a, _)| a != k);
        self.params.push((k.into(), v.into()));
        self
    }
    pub fn add(mut self, k: &str, v: &str) -> Self {
        self.params.push((k.into(), v.into()));
        self
    }
    pub fn omit(mut self, k: &str) -> Self {
        self.params.retain(|(a, _)| a != k);
        self
    }
    pub fn url(&self, endpoint: &str) -> String {
        let mut u = Url::parse(endpoint).unwrap();
        u.query_pairs_mut().extend_pairs(&self.params);
        u.to_string()
    }
}

/// The parsed redirect back to the client.
#[derive(Debug, Clone)]
pub struct Callback {
    pub url: Url,
    pub params: HashMap<String, String>,
}

impl Callback {
    pub fn parse(location: &str) -> Callback {
        let url = Url::parse(location).unwrap();
        let params = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Callback { url, params }
    }
    pub fn get(&self, k: &str) -> Option<&str> {
        self.params.get(k).map(String::as_str)
    }
}

/// An HTML form: its action (absolute) and its fields.
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

pub fn parse_form(html: &str, base: &str) -> Form {
    let doc = scraper::Html::parse_document(html);
    let form_sel = scraper::Selector::parse("form").unwrap();
    let input_sel = scraper::Selector::parse("input[type=hidden]").unwrap();
    let form = doc.select(&form_sel).next().expect("page has a form");
    let action = Url::parse(base)
        .unwrap()
        .join(form.value().attr("action").unwrap_or(""))
        .unwrap()
        .to_string();
    let fields = form
        .select(&input_sel)
        .map(|i| {
            (
                i.value().attr("name").unwrap_or_default().to_string(),
                i.value().attr("value").unwrap_or_default().to_string(),
            )
        })
        .collect();
    Form { action, fields }
}

pub fn cookie_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no Location in a {} response", resp.status()))
}

/// Runs login and consent through the real HTML forms and returns the callback.
pub async fn login_and_consent(
    http: &reqwest::Client,
    authorize_url: &str,
    user: &str,
    pass: &str,
) -> Callback {
    let resp = http.get(authorize_url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "login page expected");
    let page = resp.text().await.unwrap();
    let form = parse_form(&page, authorize_url);
    let mut fields = form.fields.clone();
    fields.push(("username".into(), user.into()));
    fields.push(("password".into(), pass.into()));
    let resp = http.post(&form.action).form(&fields).send().await.unwrap();
    consent_after_login(http, &form.action, resp).await.1
}

/// Given the answer to a successful login form posted to `login_action`, approves the consent
/// page it leads to; returns the consent page's headers and the callback.
pub async fn consent_after_login(
    http: &reqwest::Client,
    login_action: &str,
    resp: reqwest::Response,
) -> (HeaderMap, Callback) {
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "login should redirect to consent"
    );
    let cookie = cookie_of(resp.headers()).expect("session cookie");
    let consent_url = Url::parse(login_action)
        .unwrap()
        .join(&location(&resp))
        .unwrap()
        .to_string();
    let resp = http
        .get(&consent_url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "consent page expected");
    let headers = resp.headers().clone();
    let page = resp.text().await.unwrap();
    let form = parse_form(&page, &consent_url);
    let mut fields = form.fields.clone();
    fields.push(("decision".into(), "approve".into()));
    let resp = http
        .post(&form.action)
        .header("cookie", &cookie)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    (headers, Callback::parse(&location(&resp)))
}

/// A fresh code for `client` and `resource`, through login and consent as the default user.
pub async fn code_for(http: &reqwest::Client, ep: &Endpoints, req: &AuthRequest) -> String {
    let cb = login_and_consent(http, &req.url(&ep.authorize), "alice", "wonderland").await;
    cb.get("code").expect("a code").to_string()
}

pub async fn token_request(
    http: &reqwest::Client,
    ep: &Endpoints,
    form: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let resp = http.post(&ep.token).form(form).send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

pub async fn exchange(
    http: &reqwest::Client,
    ep: &Endpoints,
    client: &TestClient,
    code: &str,
    resource: &str,
) -> (StatusCode, HeaderMap, Value) {
    token_request(
        http,
        ep,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", VERIFIER),
            ("client_id", &client.client_id),
            ("resource", resource),
        ],
    )
    .await
}

/// Everything a logged-in test needs.
pub struct Session {
    pub server: RunningServer,
    pub http: reqwest::Client,
    pub ep: Endpoints,
    pub client: TestClient,
    pub tokens: Value,
}

impl Session {
    pub fn access_token(&self) -> &str {
        self.tokens["access_token"].as_str().unwrap()
    }
    pub fn refresh_token(&self) -> &str {
        self.tokens["refresh_token"].as_str().unwrap()
    }
}

/// Starts a server, registers a public client and obtains tokens for the primary MCP resource.
pub async fn logged_in(config: Config) -> Session {
    logged_in_with_scope(config, None).await
}

pub async fn logged_in_with_scope(config: Config, scope: Option<&str>) -> Session {
    let server = start(config).await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    let client = register_public(&http, &ep).await;
    let mut req = AuthRequest::new(&client.client_id, &server.urls.mcp);
    if let Some(s) = scope {
        req = req.set("scope", s);
    }
    let code = code_for(&http, &ep, &req).await;
    let (status, _, tokens) = exchange(&http, &ep, &client, &code, &server.urls.mcp).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    Session {
        server,
        http,
        ep,
        client,
        tokens,
    }
}

pub fn layout_config(layout: Layout) -> Config {
    Config {
        layout,
        ..Config::default()
    }
}

/// One JSON-RPC POST to an MCP endpoint.
pub async fn mcp_post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    session: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", PROTOCOL)
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    req.send().await.unwrap()
}

pub fn initialize_body() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": "reference-server-tests", "version": "0"}
        }
    })
}

/// `initialize` + `notifications/initialized`; returns the session ID.
pub async fn mcp_session(http: &reqwest::Client, url: &str, token: &str) -> String {
    let resp = mcp_post(http, url, Some(token), None, initialize_body()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let sid = resp
        .headers()
        .get("mcp-session-id")
        .expect("session id")
        .to_str()
        .unwrap()
        .to_string();
    let resp = mcp_post(
        http,
        url,
        Some(token),
        Some(&sid),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    sid
}

pub fn tool_call(name: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": {}}})
}

/// The parameters of the `WWW-Authenticate: Bearer` challenge (a simple split: the server's
/// own challenges quote every value and contain no commas inside values).
pub fn bearer_params(resp: &reqwest::Response) -> HashMap<String, String> {
    let v = resp
        .headers()
        .get("www-authenticate")
        .expect("WWW-Authenticate")
        .to_str()
        .unwrap();
    let rest = v.strip_prefix("Bearer ").expect("a Bearer challenge");
    rest.split(", ")
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

/// The `reference-server` binary.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_reference-server"))
}

/// Starts the binary with `args` and reads its URL line.
pub fn spawn(args: &[&str]) -> (Child, Value) {
    spawn_with(args, &[])
}

/// Starts the binary with `args` and `env`, and reads its URL line.
pub fn spawn_with(args: &[&str], env: &[(&str, &str)]) -> (Child, Value) {
    let mut cmd = bin();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("a line");
    let urls: Value = serde_json::from_str(&line).expect("the line is JSON");
    (child, urls)
}

/// Stops a spawned binary.
pub fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The default configuration with one variant on.
pub fn with_variant(variant: Variant) -> Config {
    Config {
        variants: Variants::only(variant),
        ..Config::default()
    }
}

/// A server with one variant on, a client, and the endpoints its metadata names.
pub async fn started_with(variant: Variant) -> (RunningServer, reqwest::Client, Endpoints) {
    let server = start(with_variant(variant)).await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    (server, http, ep)
}
