//! Three reference-server instances on one Redis, with one signing key, behind one issuer: a
//! small proxy in this test sends each request to the next instance in turn (per request, not
//! per connection, so that a client's pooled connection does not stick to one), and the whole
//! suite runs against the proxy's URL as against one server. Needs `redis-server` (see
//! `reference-server/tests/common/redis.rs`: NOT RUN where it is missing).

mod common;
#[path = "../reference-server/tests/common/redis.rs"]
mod redis_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::{Server, repo_file, runner, scratch};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use redis_server::{RedisServer, free_port, signing_key_file};

const INSTANCES: usize = 3;

/// Sends each request to the next instance in turn, and counts what each served.
#[derive(Clone)]
struct RoundRobin {
    ports: Arc<Vec<u16>>,
    next: Arc<AtomicUsize>,
    served: Arc<Vec<AtomicUsize>>,
    client: Client<HttpConnector, Body>,
}

impl RoundRobin {
    async fn forward(self, mut req: Request) -> Response {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.ports.len();
        self.served[i].fetch_add(1, Ordering::Relaxed);
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let Ok(uri) = format!("http://127.0.0.1:{}{path}", self.ports[i]).parse::<Uri>() else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        *req.uri_mut() = uri;
        match self.client.request(req).await {
            Ok(resp) => resp.map(Body::new),
            Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        }
    }
}

#[test]
fn three_instances_on_one_redis_pass_the_suite_as_one_server() {
    let Some(redis) = RedisServer::start("fleet") else {
        return;
    };
    let dir = scratch("redis-fleet");
    let key = signing_key_file(&dir);
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").expect("the proxy binds");
    let public = format!("http://{}", proxy.local_addr().expect("an address"));
    let ports: Vec<u16> = (0..INSTANCES).map(|_| free_port()).collect();
    let store = redis.url();
    let key = key.to_str().expect("utf-8 path");
    let _instances: Vec<Server> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            Server::start(&[
                "--port",
                &port.to_string(),
                "--access-token-ttl",
                "10",
                "--allow-loopback-http-client-ids",
                "--store",
                &store,
                "--signing-key",
                key,
                "--public-url",
                &public,
                "--instance-id",
                &format!("instance-{i}"),
            ])
        })
        .collect();

    let balancer = RoundRobin {
        ports: Arc::new(ports),
        next: Arc::new(AtomicUsize::new(0)),
        served: Arc::new((0..INSTANCES).map(|_| AtomicUsize::new(0)).collect()),
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let app = {
        let b = balancer.clone();
        axum::Router::new().fallback(move |req: Request| b.clone().forward(req))
    };
    proxy.set_nonblocking(true).expect("non-blocking");
    rt.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(proxy).expect("a tokio listener");
        let _ = axum::serve(listener, app).await;
    });

    let profile = repo_file("fixtures/targets/reference-server.toml");
    let mcp = format!("{public}/mcp");
    let args = [
        "run",
        "--target",
        &mcp,
        "--config",
        profile.to_str().expect("utf-8 path"),
        "--spec",
        "2025-11-25",
    ];
    let run = runner(&dir, &args, Duration::from_secs(300));
    assert_eq!(run.code, Some(0), "{}", run.text);
    assert!(run.clean(), "{}", run.junit);
    // The scenarios that need the profile ran (RS-06 waits a token out, on any instance).
    for ran in ["SCOPE-03 ", "RS-06 ", "CODE-02 ", "REFRESH-02 "] {
        let cases = run.testcases(ran);
        assert!(!cases.is_empty(), "{ran}is in the report");
        assert!(
            cases.iter().all(|c| !c.contains("<skipped")),
            "{ran}ran: {cases:?}"
        );
    }
    for (i, n) in balancer.served.iter().enumerate() {
        let n = n.load(Ordering::Relaxed);
        eprintln!("instance {i} served {n} requests");
        assert!(n > 10, "instance {i} served {n} requests");
    }
    drop(rt);
    let _ = std::fs::remove_dir_all(dir);
}
