//! The Redis store shared by two instances behind one issuer: a code redeemed on one is refused
//! on the other, also when both redeem it at once (exactly one succeeds); a rotated refresh
//! token is refused on the other; an MCP session opened on one is served by the other; every
//! entry carries a TTL; a code past its lifetime is refused on both (unless the
//! `code-expiry-per-instance` defect leaves it to the instance that issued it). Each test
//! starts its own `redis-server` (see `common/redis.rs`).

mod common;

#[path = "common/redis.rs"]
mod redis_server;

use common::*;
use redis_server::{RedisServer, free_port, signing_key_file};
use reference_server::config::{Config, StoreBackend};
use reference_server::{Defect, Defects};
use reqwest::StatusCode;
use serde_json::json;

/// Two instances on one Redis with one key, both advertising the first one's origin.
struct Pair {
    _a: reference_server::RunningServer,
    _b: reference_server::RunningServer,
    origin_a: String,
    origin_b: String,
}

impl Pair {
    async fn start(redis: &RedisServer, dir: &std::path::Path) -> Pair {
        Pair::start_with(redis, dir, |c| c).await
    }

    /// [`Pair::start`], each instance's configuration changed by `tweak`.
    async fn start_with(
        redis: &RedisServer,
        dir: &std::path::Path,
        tweak: impl Fn(Config) -> Config,
    ) -> Pair {
        let key = signing_key_file(dir);
        let (port_a, port_b) = (free_port(), free_port());
        let origin_a = format!("http://127.0.0.1:{port_a}");
        let config = |port: u16, name: &str| {
            tweak(Config {
                port,
                store: StoreBackend::Redis(redis.url()),
                instance_id: name.into(),
                signing_key: Some(key.clone()),
                public_url: Some(origin_a.clone()),
                ..Config::default()
            })
        };
        let a = start(config(port_a, "a")).await;
        let b = start(config(port_b, "b")).await;
        Pair {
            _a: a,
            _b: b,
            origin_b: format!("http://127.0.0.1:{port_b}"),
            origin_a,
        }
    }

    /// A URL the instances advertise, on instance B.
    fn on_b(&self, url: &str) -> String {
        url.replacen(&self.origin_a, &self.origin_b, 1)
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rs-redis-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_redis_behave_as_one_server() {
    let Some(redis) = RedisServer::start("two-instances") else {
        return;
    };
    let dir = scratch("two-instances");
    let pair = Pair::start(&redis, &dir).await;
    let http = http();
    let ep_a = Endpoints::fetch(
        &http,
        &format!("{}/.well-known/oauth-authorization-server", pair.origin_a),
    )
    .await;
    let mut ep_b = ep_a.clone();
    ep_b.token = pair.on_b(&ep_a.token);
    let mcp = format!("{}/mcp", pair.origin_a);
    // A client registered on A is known on B; a code issued on A is redeemed on B, once.
    let client = register_public(&http, &ep_a).await;
    let req = AuthRequest::new(&client.client_id, &mcp);
    let code = code_for(&http, &ep_a, &req).await;
    let (status, _, tokens) = exchange(&http, &ep_b, &client, &code, &mcp).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (status, _, body) = exchange(&http, &ep_a, &client, &code, &mcp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // The replay revoked the grant: its refresh token is refused on either instance.
    let refresh = |ep: &Endpoints, rt: String| {
        let (http, ep, client_id) = (http.clone(), ep.clone(), client.client_id.clone());
        async move {
            token_request(
                &http,
                &ep,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &rt),
                    ("client_id", &client_id),
                ],
            )
            .await
        }
    };
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();
    let (status, _, body) = refresh(&ep_a, rt.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The access token is revoked for the MCP server of B too.
    let at = tokens["access_token"].as_str().unwrap();
    let resp = mcp_post(&http, &pair.on_b(&mcp), Some(at), None, initialize_body()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // Both instances redeem one code at once: exactly one succeeds.
    for round in 0..5 {
        let code = code_for(&http, &ep_a, &req).await;
        let (ra, rb) = tokio::join!(
            exchange(&http, &ep_a, &client, &code, &mcp),
            exchange(&http, &ep_b, &client, &code, &mcp)
        );
        let ok = [&ra, &rb].iter().filter(|r| r.0 == StatusCode::OK).count();
        assert_eq!(ok, 1, "round {round}: {} / {}", ra.2, rb.2);
    }

    // A refresh token rotated on B is refused on A (and its reuse revokes the grant).
    let code = code_for(&http, &ep_a, &req).await;
    let (_, _, tokens) = exchange(&http, &ep_a, &client, &code, &mcp).await;
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();
    let (status, _, rotated) = refresh(&ep_b, rt.clone()).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let (status, _, body) = refresh(&ep_a, rt).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_grant"))
    );
    let newer = rotated["refresh_token"].as_str().unwrap().to_string();
    let (status, _, body) = refresh(&ep_b, newer).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the family is revoked: {body}"
    );

    // An MCP session opened on A is served by B, and closed on B is gone on A.
    let code = code_for(&http, &ep_a, &req).await;
    let (_, _, tokens) = exchange(&http, &ep_a, &client, &code, &mcp).await;
    let at = tokens["access_token"].as_str().unwrap();
    let sid = mcp_session(&http, &mcp, at).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let resp = mcp_post(&http, &pair.on_b(&mcp), Some(at), Some(&sid), list.clone()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = http
        .delete(pair.on_b(&mcp))
        .bearer_auth(at)
        .header("mcp-session-id", &sid)
        .header("mcp-protocol-version", PROTOCOL)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let resp = mcp_post(&http, &mcp, Some(at), Some(&sid), list).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Every entry expires with a Redis TTL.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("mcpref:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.len() > 10, "{keys:?}");
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// REPL-07 across processes: two codes issued on A, past their lifetime, are refused on A and
/// on B; under `code-expiry-per-instance` B, which did not issue them, still redeems one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_code_is_refused_on_both_instances_unless_only_its_issuer_holds_its_lifetime() {
    let Some(redis) = RedisServer::start("code-expiry") else {
        return;
    };
    let dir = scratch("code-expiry");
    let ttl = std::time::Duration::from_millis(400);
    for (defects, on_b) in [
        (Defects::none(), StatusCode::BAD_REQUEST),
        (Defects::only(Defect::CodeExpiryPerInstance), StatusCode::OK),
    ] {
        let pair = Pair::start_with(&redis, &dir, |c| Config {
            code_ttl: ttl,
            defects: defects.clone(),
            ..c
        })
        .await;
        let http = http();
        let ep_a = Endpoints::fetch(
            &http,
            &format!("{}/.well-known/oauth-authorization-server", pair.origin_a),
        )
        .await;
        let mut ep_b = ep_a.clone();
        ep_b.token = pair.on_b(&ep_a.token);
        let mcp = format!("{}/mcp", pair.origin_a);
        let client = register_public(&http, &ep_a).await;
        let req = AuthRequest::new(&client.client_id, &mcp);
        let first = code_for(&http, &ep_a, &req).await;
        let second = code_for(&http, &ep_a, &req).await;
        tokio::time::sleep(ttl + std::time::Duration::from_millis(100)).await;
        let (status, _, body) = exchange(&http, &ep_a, &client, &first, &mcp).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{defects:?}: {body}");
        assert_eq!(body["error"], "invalid_grant");
        let (status, _, body) = exchange(&http, &ep_b, &client, &second, &mcp).await;
        assert_eq!(status, on_b, "{defects:?}: {body}");
    }
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_at_start() {
    let port = free_port();
    let err = reference_server::start(Config {
        store: StoreBackend::Redis(format!("redis://127.0.0.1:{port}/0")),
        ..Config::default()
    })
    .await
    .err()
    .expect("no server without its store");
    assert!(err.to_string().contains("Redis"), "{err}");
}

#[test]
fn a_bad_store_url_or_key_file_is_refused() {
    assert!("memory".parse::<StoreBackend>().is_ok());
    assert!("redis://127.0.0.1:6379/0".parse::<StoreBackend>().is_ok());
    assert!("http://127.0.0.1:6379".parse::<StoreBackend>().is_err());
    let dir = scratch("bad-key");
    let bad = dir.join("bad.pem");
    std::fs::write(&bad, "not a key").unwrap();
    let err = reference_server::crypto::Signer::from_pem_file(&bad).unwrap_err();
    assert!(err.to_string().contains("PRIVATE KEY"), "{err}");
    let debug = format!(
        "{:?}",
        StoreBackend::Redis("redis://:hunter2@127.0.0.1:6379/0".into())
    );
    assert!(!debug.contains("hunter2"), "{debug}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_fails_later_answers_503_not_a_panic() {
    let Some(redis) = RedisServer::start("fails-later") else {
        return;
    };
    let server = start(Config {
        store: StoreBackend::Redis(redis.url()),
        ..Config::default()
    })
    .await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    register_public(&http, &ep).await;
    drop(redis);
    let resp = register(
        &http,
        &ep,
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    let (status, _, body) = token_request(
        &http,
        &ep,
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "y"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}
