//! The server keeps answering under abuse: a registration flood from one address leaves room
//! for another; unused registrations expire; slow, oversized and too many requests are cut
//! off with a clear status instead of tying the server up.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use reference_server::Config;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A client whose connections come from `source`, a loopback address.
fn http_from(source: [u8; 4]) -> reqwest::Client {
    reference_server::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::from(source))
        .build()
        .expect("client builds")
}

fn public_client() -> serde_json::Value {
    json!({
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_from_one_address_does_not_stop_registrations_from_another() {
    let server = start(Config {
        registration_rate_limit: 0,
        store_capacity: 300,
        ..Config::default()
    })
    .await;
    let flooder = http_from([127, 0, 0, 1]);
    let other = http_from([127, 0, 0, 2]);
    let ep = Endpoints::fetch(&flooder, &server.urls.as_metadata).await;

    // The flood fills the store until its own registrations are refused ...
    let mut refused = 0;
    for _ in 0..400 {
        let status = register(&flooder, &ep, public_client()).await.status();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            refused += 1;
        } else {
            assert_eq!(status, StatusCode::CREATED);
        }
    }
    assert!(refused > 0, "the flood filled the store");

    // ... and goes on, from eight connections, while the other address registers.
    let flood: Vec<_> = (0..8)
        .map(|_| {
            let (http, ep) = (flooder.clone(), ep.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..100 {
                    statuses.push(register(&http, &ep, public_client()).await.status());
                }
                statuses
            })
        })
        .collect();
    let mut registered = Vec::new();
    for _ in 0..20 {
        let resp = register(&other, &ep, public_client()).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "from 127.0.0.2");
        let body: serde_json::Value = resp.json().await.unwrap();
        registered.push(body["client_id"].as_str().unwrap().to_string());
    }
    for task in flood {
        for status in task.await.unwrap() {
            assert!(
                matches!(
                    status,
                    StatusCode::CREATED | StatusCode::SERVICE_UNAVAILABLE
                ),
                "{status}"
            );
        }
    }
    // Every client the other address registered is still there and usable.
    for client_id in registered {
        let url = AuthRequest::new(&client_id, &server.urls.mcp).url(&ep.authorize);
        let resp = other.get(url).send().await.unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "the login page for {client_id}"
        );
    }
}

#[tokio::test]
async fn an_unused_registration_expires_and_a_used_one_stays() {
    let server = start(Config {
        unused_client_ttl: Duration::from_millis(700),
        ..Config::default()
    })
    .await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    let unused = register_public(&http, &ep).await;
    let used = register_public(&http, &ep).await;
    let login_page = |client_id: &str| {
        let url = AuthRequest::new(client_id, &server.urls.mcp).url(&ep.authorize);
        let http = http.clone();
        async move { http.get(url).send().await.unwrap().status() }
    };
    assert_eq!(login_page(&used.client_id).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(login_page(&used.client_id).await, StatusCode::OK);
    // An unknown client gets the error page, never a redirect.
    assert_eq!(login_page(&unused.client_id).await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_rate_limited_registration_says_when_to_come_back() {
    let server = start(Config {
        registration_rate_limit: 2,
        ..Config::default()
    })
    .await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    for _ in 0..2 {
        assert_eq!(
            register(&http, &ep, public_client()).await.status(),
            StatusCode::CREATED
        );
    }
    let resp = register(&http, &ep, public_client()).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = resp.headers();
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(h["ratelimit-policy"], "2;w=60");
    assert!(h["ratelimit"].to_str().unwrap().contains("remaining=0"));
    // Another address is not held back.
    let other = http_from([127, 0, 0, 2]);
    assert_eq!(
        register(&other, &ep, public_client()).await.status(),
        StatusCode::CREATED
    );
}

/// Sends `head` on a fresh connection and reads until the server answers or closes.
async fn raw(server_url: &str, head: &[u8], pause_after: Option<Duration>) -> String {
    let addr = url::Url::parse(server_url).unwrap();
    let mut tcp = TcpStream::connect((addr.host_str().unwrap(), addr.port().unwrap()))
        .await
        .unwrap();
    tcp.write_all(head).await.unwrap();
    if let Some(p) = pause_after {
        tokio::time::sleep(p).await;
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn limits() -> Config {
    Config {
        request_timeout: Duration::from_millis(500),
        header_read_timeout: Duration::from_millis(500),
        max_headers: 20,
        max_header_bytes: 8192,
        ..Config::default()
    }
}

#[tokio::test]
async fn too_many_or_too_large_headers_get_431() {
    let server = start(limits()).await;
    let http = http();
    let mut many = http.get(&server.urls.as_metadata);
    for i in 0..30 {
        many = many.header(format!("x-filler-{i}"), "x");
    }
    assert_eq!(
        many.send().await.unwrap().status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let large = http
        .get(&server.urls.as_metadata)
        .header("x-filler", "x".repeat(20_000))
        .send()
        .await
        .unwrap();
    assert_eq!(large.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let fine = http.get(&server.urls.as_metadata).send().await.unwrap();
    assert_eq!(fine.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let server = start(limits()).await;
    let started = std::time::Instant::now();
    let answer = raw(
        &server.urls.as_metadata,
        b"GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        None,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed after the header deadline"
    );
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn a_body_that_never_comes_gets_408_and_one_too_large_413() {
    let server = start(limits()).await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    let path = url::Url::parse(&ep.register).unwrap().path().to_string();
    let slow = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    let answer = raw(&ep.register, slow.as_bytes(), None).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let large = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{{"
    );
    let answer = raw(&ep.register, large.as_bytes(), None).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_bound_wait_until_one_closes() {
    let server = start(Config {
        max_connections: 2,
        ..Config::default()
    })
    .await;
    let addr = url::Url::parse(&server.urls.as_metadata).unwrap();
    let target = (addr.host_str().unwrap().to_string(), addr.port().unwrap());
    let first = TcpStream::connect(target.clone()).await.unwrap();
    let _second = TcpStream::connect(target.clone()).await.unwrap();
    let http = http();
    let waiting = tokio::spawn({
        let url = server.urls.as_metadata.clone();
        async move { http.get(url).send().await.map(|r| r.status()) }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection is not served yet"
    );
    drop(first);
    let status = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("served once a connection closed")
        .unwrap()
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_request_id_the_client_sends_comes_back() {
    let server = start(Config::default()).await;
    let http = http();
    let kept = http
        .get(&server.urls.as_metadata)
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "abc-123");
    // A generated one stays in the server's log, out of the answer.
    let fresh = http.get(&server.urls.as_metadata).send().await.unwrap();
    assert!(fresh.headers().get("x-request-id").is_none());
}

#[tokio::test]
async fn shutdown_does_not_wait_for_idle_connections() {
    let server = start(Config::default()).await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    let _client = register_public(&http, &ep).await;
    let started = std::time::Instant::now();
    server.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
