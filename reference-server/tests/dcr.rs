//! Registration over HTTP (DCR-01..13) and client ID metadata documents (CIMD-01..08, 11, 13).

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode as AxStatus;
use axum::routing::get;
use common::*;
use reference_server::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn setup(config: Config) -> (reference_server::RunningServer, reqwest::Client, Endpoints) {
    let server = start(config).await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    (server, http, ep)
}

#[tokio::test]
async fn dcr_errors_are_json_with_the_right_code() {
    let (_s, http, ep) = setup(Config::default()).await;
    for uri in [
        "http://evil.example/cb",
        "https://c.example/cb#frag",
        "/cb",
        "not a uri",
        "myapp:/cb",
    ] {
        let resp = register(
            &http,
            &ep,
            json!({"redirect_uris": [uri], "token_endpoint_auth_method": "none"}),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(
            resp.json::<Value>().await.unwrap()["error"],
            "invalid_redirect_uri",
            "{uri}"
        );
    }
    let resp = register(
        &http,
        &ep,
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "foo"}),
    )
    .await;
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_client_metadata"
    );
    let resp = http
        .post(&ep.register)
        .form(&[("redirect_uris", REDIRECT)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_client_metadata"
    );
    let big = json!({"redirect_uris": [REDIRECT], "client_name": "x".repeat(100_000)});
    assert_eq!(
        register(&http, &ep, big).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn dcr_success_echoes_and_is_not_cached() {
    let (_s, http, ep) = setup(Config::default()).await;
    for redirect in [
        "http://127.0.0.1:1/cb",
        "http://[::1]:1/cb",
        "http://localhost:1/cb",
    ] {
        let body = json!({"redirect_uris": [redirect], "client_secret_basic": 1, "x_harness_unknown": "1", "client_name": "n", "application_type": "native", "token_endpoint_auth_method": "client_secret_basic"});
        let resp = register(&http, &ep, body).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "{redirect}");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["redirect_uris"], json!([redirect]));
        assert_eq!(v["client_name"], "n");
        assert_eq!(v["application_type"], "native");
        assert!(v["client_secret"].is_string() && v["client_secret_expires_at"].is_u64());
        assert!(v.get("x_harness_unknown").is_none());
    }
}

#[tokio::test]
async fn registrations_are_rate_limited_per_ip() {
    let (_s, http, ep) = setup(Config {
        registration_rate_limit: 3,
        ..Config::default()
    })
    .await;
    for _ in 0..3 {
        register_public(&http, &ep).await;
    }
    let resp = register(
        &http,
        &ep,
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_some());
}

/// A document server on loopback whose answer the test sets, counting the GETs it receives.
#[derive(Clone, Default)]
struct DocServer {
    answer: Arc<Mutex<(u16, String)>>,
    hits: Arc<Mutex<u32>>,
}

async fn doc_server() -> (DocServer, String) {
    let d = DocServer::default();
    let d2 = d.clone();
    let app = Router::new().route(
        "/client.json",
        get(move || {
            let d = d2.clone();
            async move {
                *d.hits.lock().unwrap() += 1;
                let (status, body) = d.answer.lock().unwrap().clone();
                (
                    AxStatus::from_u16(status).unwrap(),
                    [("content-type", "application/json")],
                    body,
                )
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/client.json", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (d, url)
}

#[tokio::test]
async fn cimd_documents_are_fetched_validated_and_not_cached_when_invalid() {
    let (server, http, ep) = setup(Config {
        allow_loopback_http_client_ids: true,
        ..Config::default()
    })
    .await;
    let (doc, url) = doc_server().await;
    let valid = json!({"client_id": url, "client_name": "doc client", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}).to_string();
    let req = AuthRequest::new(&url, &server.urls.mcp);
    let refused = |why: &'static str| {
        let http = http.clone();
        let u = req.url(&ep.authorize);
        async move {
            let resp = http.get(&u).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{why}");
            assert!(resp.headers().get("location").is_none(), "{why}");
        }
    };
    let cases = [
        ((200, json!({"client_id": format!("{url}/"), "redirect_uris": [REDIRECT]}).to_string()), "CIMD-02 client_id differs"),
        ((200, "<html></html>".to_string()), "CIMD-04 HTML"),
        ((200, "[]".to_string()), "CIMD-04 array"),
        ((200, json!({"client_id": url}).to_string()), "CIMD-04 no redirect_uris"),
        ((404, String::new()), "CIMD-05 404"),
        ((500, String::new()), "CIMD-05 500"),
        ((200, json!({"client_id": url, "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}).to_string()), "CIMD-08"),
        ((200, json!({"client_id": url, "redirect_uris": [REDIRECT], "pad": "x".repeat(6000)}).to_string()), "CIMD-11"),
    ];
    for (answer, why) in cases {
        *doc.answer.lock().unwrap() = answer;
        refused(why).await;
    }
    // CIMD-06: the same URL, now valid, is fetched again and works.
    *doc.answer.lock().unwrap() = (200, valid);
    let before = *doc.hits.lock().unwrap();
    let cb = login_and_consent(&http, &req.url(&ep.authorize), "alice", "wonderland").await;
    assert!(*doc.hits.lock().unwrap() > before, "CIMD-01: fetched");
    let code = cb.get("code").unwrap();
    // CIMD-03: an unlisted redirect URI is never redirected to.
    let resp = http
        .get(
            req.clone()
                .set("redirect_uri", "http://127.0.0.1:1/other")
                .url(&ep.authorize),
        )
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("location").is_none());
    // CIMD-13: the code is bound to the URL client_id.
    let other = register_public(&http, &ep).await;
    let (status, _, body) = exchange(&http, &ep, &other, code, &server.urls.mcp).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let doc_client = TestClient {
        client_id: url.clone(),
        secret: None,
    };
    let (status, _, body) = exchange(&http, &ep, &doc_client, code, &server.urls.mcp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn cimd_07_http_urls_are_refused_without_the_flag() {
    let (server, http, ep) = setup(Config::default()).await;
    let (doc, url) = doc_server().await;
    *doc.answer.lock().unwrap() = (
        200,
        json!({"client_id": url, "redirect_uris": [REDIRECT]}).to_string(),
    );
    let resp = http
        .get(AuthRequest::new(&url, &server.urls.mcp).url(&ep.authorize))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(*doc.hits.lock().unwrap(), 0, "never fetched");
}
