//! Requests per second of each reference-server endpoint on its own: `cargo bench --bench
//! endpoints` (`scripts/bench` runs it). The server runs in this process on loopback; 32
//! connections (`BENCH_CONNECTIONS`) send one request after another for `BENCH_SECS` seconds
//! (default 3) per endpoint. The figure is the answers of the expected status per second, with
//! their latency percentiles.
//!
//! Where a request needs something (a client, a grant, an access token), it is obtained before
//! the clock starts, with the runner's own client library.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mcp_oauth_conformance::client::http::{Body, Http, Limits};
use mcp_oauth_conformance::client::login::{Credentials, FormDriver, LoginDriver, Script};
use mcp_oauth_conformance::client::mcp::{Credential, McpClient, Revision};
use mcp_oauth_conformance::client::oauth::{self, TokenSet};
use mcp_oauth_conformance::client::pkce::PkceVerifier;
use mcp_oauth_conformance::client::redact::Secret;
use mcp_oauth_conformance::client::registration::{RegisteredClient, Registration};
use reqwest::{Client, Method, RequestBuilder};
use serde_json::Value;
use url::Url;

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Failure> {
    // `cargo bench` passes `--bench`; a filter names endpoints to run.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    mcp_oauth_conformance::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench(&filter))
}

/// Builds a task's next request; its state (a refresh token) is the task's.
type MakeRequest = Arc<dyn Fn(&Client, &mut TaskState) -> RequestBuilder + Send + Sync>;

/// What a task needs to send one kind of request again and again.
struct Endpoint {
    name: &'static str,
    expected: u16,
    make: MakeRequest,
    /// Reads what the next request needs from an answer (the rotated refresh token).
    after: Option<fn(&mut TaskState, &[u8])>,
}

#[derive(Clone, Default)]
struct TaskState {
    refresh_token: String,
    client_id: String,
}

async fn bench(filter: &[String]) -> Result<(), Failure> {
    let secs = env_or("BENCH_SECS", 3);
    let connections = env_or("BENCH_CONNECTIONS", 32) as usize;
    let server = reference_server::start(reference_server::config::Config {
        registration_rate_limit: 0,
        access_token_ttl: Duration::from_secs(600),
        store_capacity: 2_000_000,
        ..Default::default()
    })
    .await?;
    let urls = server.urls.clone();
    let mcp = Url::parse(&urls.mcp)?;
    let http = Http::new(Limits::default(), false)?;
    let meta: Value = reqwest::get(&urls.as_metadata).await?.json().await?;
    let endpoint = |name: &str| -> Result<Url, Failure> {
        let text = meta[name].as_str().ok_or(format!("no {name}"))?;
        Ok(Url::parse(text)?)
    };
    let (authorize, token, register) = (
        endpoint("authorization_endpoint")?,
        endpoint("token_endpoint")?,
        endpoint("registration_endpoint")?,
    );
    let redirect = Url::parse("http://127.0.0.1:33418/callback")?;

    // One grant per connection for the refresh and MCP benchmarks.
    let mut states = Vec::new();
    for _ in 0..connections {
        let (client, tokens) = grant(&http, &mcp, &authorize, &token, &register, &redirect).await?;
        states.push((client, tokens));
    }
    let bearer = states[0].1.access_token.clone();
    let mcp_request = {
        let m = McpClient::new(http.fork(), mcp.clone(), Revision::V2026_07_28);
        m.http_request(&m.tools_list().with_credential(Credential::Bearer(bearer)))
    };
    let challenge = PkceVerifier::random().challenge();
    let authorize_url = oauth::authorization_url(
        &authorize,
        &oauth::authorization_params(
            &states[0].0,
            &challenge,
            "bench",
            Some("mcp:read"),
            Some(mcp.as_str()),
        ),
    );
    let registration = Registration::public_client(&redirect).members().clone();

    let get =
        |url: String| -> MakeRequest { Arc::new(move |c: &Client, _: &mut TaskState| c.get(&url)) };
    let unauthenticated =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {}});
    let endpoints = vec![
        Endpoint {
            name: "AS metadata (GET)",
            expected: 200,
            make: get(urls.as_metadata.clone()),
            after: None,
        },
        Endpoint {
            name: "PRM (GET)",
            expected: 200,
            make: get(urls.prm.clone().unwrap_or_default()),
            after: None,
        },
        Endpoint {
            name: "MCP without a token (401)",
            expected: 401,
            make: {
                let url = urls.mcp.clone();
                Arc::new(move |c: &Client, _: &mut TaskState| {
                    c.post(&url)
                        .header("accept", "application/json, text/event-stream")
                        .header("mcp-protocol-version", "2025-11-25")
                        .json(&unauthenticated)
                })
            },
            after: None,
        },
        Endpoint {
            name: "register (POST)",
            expected: 201,
            make: {
                let url = register.to_string();
                Arc::new(move |c: &Client, _: &mut TaskState| c.post(&url).json(&registration))
            },
            after: None,
        },
        Endpoint {
            name: "authorize: login page (GET)",
            expected: 200,
            make: get(authorize_url.to_string()),
            after: None,
        },
        Endpoint {
            name: "token: refresh (POST)",
            expected: 200,
            make: {
                let url = token.to_string();
                let resource = mcp.to_string();
                Arc::new(move |c: &Client, s: &mut TaskState| {
                    c.post(&url).form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", s.refresh_token.as_str()),
                        ("client_id", s.client_id.as_str()),
                        ("resource", resource.as_str()),
                    ])
                })
            },
            after: Some(|s: &mut TaskState, body: &[u8]| {
                if let Ok(v) = serde_json::from_slice::<Value>(body)
                    && let Some(rt) = v["refresh_token"].as_str()
                {
                    s.refresh_token = rt.to_string();
                }
            }),
        },
        Endpoint {
            name: "MCP tools/list with a token",
            expected: 200,
            make: {
                let url = mcp_request.url.to_string();
                let headers = mcp_request.headers.clone();
                let body = match &mcp_request.body {
                    Some(Body::Json(v)) => v.clone(),
                    _ => Value::Null,
                };
                Arc::new(move |c: &Client, _: &mut TaskState| {
                    let mut r = c.request(Method::POST, &url).json(&body);
                    for (k, v) in &headers {
                        r = r.header(k, v);
                    }
                    r
                })
            },
            after: None,
        },
    ];
    println!(
        "Reference server, one endpoint at a time: {connections} connections, {secs} s each (release build, server and client in one process)"
    );
    println!(
        "{:<30} {:>10} {:>9} {:>9} {:>9} {:>7}",
        "endpoint", "req/s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    let client = Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    for e in endpoints {
        if !filter.is_empty() && !filter.iter().any(|f| e.name.contains(f.as_str())) {
            continue;
        }
        let task_states: Vec<TaskState> = states
            .iter()
            .map(|(c, t)| TaskState {
                refresh_token: t
                    .refresh_token
                    .as_ref()
                    .map(|r| r.expose().to_string())
                    .unwrap_or_default(),
                client_id: c.client_id.clone(),
            })
            .collect();
        let (ok, errors, hist, elapsed) =
            hammer(&client, &e, task_states, Duration::from_secs(secs)).await?;
        let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "{:<30} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>7}",
            e.name,
            ok as f64 / elapsed.as_secs_f64(),
            ms(0.5),
            ms(0.99),
            hist.max() as f64 / 1000.0,
            errors
        );
    }
    server.shutdown().await;
    Ok(())
}

/// `tasks` connections sending `e`'s requests for `time`: successes, errors, latencies (µs).
async fn hammer(
    client: &Client,
    e: &Endpoint,
    tasks: Vec<TaskState>,
    time: Duration,
) -> Result<(u64, u64, Histogram<u64>, Duration), Failure> {
    let started = Instant::now();
    let deadline = started + time;
    let mut handles = Vec::new();
    for mut state in tasks {
        let client = client.clone();
        let make = e.make.clone();
        let (expected, after) = (e.expected, e.after);
        handles.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let (mut ok, mut errors) = (0u64, 0u64);
            while Instant::now() < deadline {
                let sent = Instant::now();
                let result = make(&client, &mut state).send().await;
                match result {
                    Ok(resp) if resp.status().as_u16() == expected => {
                        let body = resp.bytes().await.unwrap_or_default();
                        hist.saturating_record(sent.elapsed().as_micros() as u64);
                        ok += 1;
                        if let Some(after) = after {
                            after(&mut state, &body);
                        }
                    }
                    Ok(resp) => {
                        let _ = resp.bytes().await;
                        errors += 1;
                    }
                    Err(_) => errors += 1,
                }
            }
            Ok::<_, Failure>((ok, errors, hist))
        }));
    }
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut ok, mut errors) = (0, 0);
    for h in handles {
        let (o, e, hist) = h.await??;
        ok += o;
        errors += e;
        total.add(&hist)?;
    }
    Ok((ok, errors, total, started.elapsed()))
}

/// A registered client and the tokens of one complete authorization.
async fn grant(
    http: &Http,
    mcp: &Url,
    authorize: &Url,
    token: &Url,
    register: &Url,
    redirect: &Url,
) -> Result<(RegisteredClient, TokenSet), Failure> {
    let resp = Registration::public_client(redirect)
        .send(http, register)
        .await?;
    let client = RegisteredClient::from_response(&resp, redirect).ok_or("no client")?;
    let verifier = PkceVerifier::random();
    let params = oauth::authorization_params(
        &client,
        &verifier.challenge(),
        "bench",
        Some("mcp:read"),
        Some(mcp.as_str()),
    );
    let driver = FormDriver {
        credentials: Credentials {
            username: Some(reference_server::config::DEFAULT_USERNAME.into()),
            password: Some(Secret::new(reference_server::config::DEFAULT_PASSWORD)),
        },
        max_steps: 16,
        script: Script::default(),
    };
    let outcome = driver
        .authorize(http, oauth::authorization_url(authorize, &params), redirect)
        .await?;
    let code = outcome.code().ok_or("no code")?;
    let redeem = oauth::code_params(&client, &code, &verifier, Some(mcp.as_str()));
    let resp = oauth::post_form(http, token, &client, &redeem).await?;
    let tokens = TokenSet::from_response(&resp)?;
    Ok((client, tokens))
}
