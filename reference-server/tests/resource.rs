//! The MCP endpoints as protected resources: PRM-01..04, RS-01..16, SCOPE-01/03.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use reference_server::{Config, Layout};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn prm_01_to_04_no_credentials_gets_a_bearer_challenge_without_error() {
    let server = start(Config::default()).await;
    let http = http();
    let resp = mcp_post(&http, &server.urls.mcp, None, None, initialize_body()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let c = bearer_params(&resp);
    assert_eq!(c.get("resource_metadata"), server.urls.prm.as_ref());
    assert_eq!(c["scope"], "mcp:read", "SCOPE-01");
    assert!(!c.contains_key("error") && !c.contains_key("error_description"));
    // Basic credentials are not bearer credentials: same challenge, no error.
    let resp = http
        .post(&server.urls.mcp)
        .header("authorization", "Basic dXNlcjpwYXNz")
        .json(&initialize_body())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(!bearer_params(&resp).contains_key("error"));
    // GET and DELETE are protected too.
    for m in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let resp = http
            .request(m.clone(), &server.urls.mcp)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{m}");
    }
}

#[tokio::test]
async fn prm_document_matches_the_resource() {
    let server = start(Config::default()).await;
    let http = http();
    let resp = http
        .get(server.urls.prm.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let prm: Value = resp.json().await.unwrap();
    assert_eq!(prm["resource"], server.urls.mcp);
    assert_eq!(prm["authorization_servers"], json!([server.urls.issuer]));
    assert_eq!(prm["bearer_methods_supported"], json!(["header"]));
}

#[tokio::test]
async fn rs_04_malformed_and_unknown_tokens_get_invalid_token() {
    let server = start(Config::default()).await;
    let http = http();
    let random = URL_SAFE_NO_PAD.encode([7u8; 32]);
    for t in ["abc.def", random.as_str()] {
        let resp = mcp_post(&http, &server.urls.mcp, Some(t), None, initialize_body()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{t}");
        let c = bearer_params(&resp);
        assert_eq!(c["error"], "invalid_token");
        assert!(c.contains_key("resource_metadata"), "RS-15");
    }
    let resp = http
        .post(&server.urls.mcp)
        .header("authorization", "Bearer ")
        .json(&initialize_body())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bearer_params(&resp)["error"], "invalid_request");
}

#[tokio::test]
async fn rs_02_03_valid_token_accepted_with_any_scheme_case() {
    let s = logged_in(Config::default()).await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let resp = s
            .http
            .post(&s.server.urls.mcp)
            .header("authorization", format!("{scheme} {}", s.access_token()))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL)
            .json(&initialize_body())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{scheme}");
    }
}

fn forge(header: Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        signature
    )
}

#[tokio::test]
async fn rs_05_forged_tokens_are_refused() {
    let s = logged_in(Config::default()).await;
    let real = s.access_token();
    let parts: Vec<&str> = real.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let mut edited = claims.clone();
    edited["scope"] = json!("mcp:read mcp:write");
    let forged = [
        (
            "alg none",
            forge(json!({"alg": "none", "typ": "at+jwt"}), &claims, ""),
        ),
        (
            "foreign key",
            forge(
                json!({"alg": "ES256", "typ": "at+jwt", "kid": "other"}),
                &claims,
                parts[2],
            ),
        ),
        (
            "HS256 confusion",
            forge(
                json!({"alg": "HS256", "typ": "at+jwt", "kid": header["kid"]}),
                &claims,
                "c2ln",
            ),
        ),
        ("edited payload", forge(header.clone(), &edited, parts[2])),
    ];
    for (what, token) in forged {
        let resp = mcp_post(
            &s.http,
            &s.server.urls.mcp,
            Some(&token),
            None,
            initialize_body(),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
}

#[tokio::test]
async fn rs_06_expired_tokens_are_refused() {
    let s = logged_in(Config {
        access_token_ttl: std::time::Duration::from_secs(1),
        ..Config::default()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let resp = mcp_post(
        &s.http,
        &s.server.urls.mcp,
        Some(s.access_token()),
        None,
        initialize_body(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(bearer_params(&resp)["error"], "invalid_token");
}

#[tokio::test]
async fn rs_07_a_token_for_one_resource_is_refused_by_the_other() {
    let s = logged_in(Config::default()).await;
    let resp = mcp_post(
        &s.http,
        &s.server.urls.mcp_alt,
        Some(s.access_token()),
        None,
        initialize_body(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let c = bearer_params(&resp);
    assert_eq!(c["error"], "invalid_token");
    assert!(c["resource_metadata"].ends_with("/.well-known/oauth-protected-resource/alt/mcp"));
    // And a token for the second resource works there but not at the first.
    let req = AuthRequest::new(&s.client.client_id, &s.server.urls.mcp_alt);
    let code = code_for(&s.http, &s.ep, &req).await;
    let (status, _, t) = exchange(&s.http, &s.ep, &s.client, &code, &s.server.urls.mcp_alt).await;
    assert_eq!(status, StatusCode::OK);
    let alt = t["access_token"].as_str().unwrap();
    assert_eq!(
        mcp_post(
            &s.http,
            &s.server.urls.mcp_alt,
            Some(alt),
            None,
            initialize_body()
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        mcp_post(
            &s.http,
            &s.server.urls.mcp,
            Some(alt),
            None,
            initialize_body()
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn rs_09_11_query_tokens_and_refresh_tokens_are_not_access_tokens() {
    let s = logged_in(Config::default()).await;
    let url = format!("{}?access_token={}", s.server.urls.mcp, s.access_token());
    let resp = mcp_post(&s.http, &url, None, None, initialize_body()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "RS-09");
    let resp = mcp_post(
        &s.http,
        &s.server.urls.mcp,
        Some(s.refresh_token()),
        None,
        initialize_body(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "RS-11");
}

#[tokio::test]
async fn rs_01_a_session_is_not_authentication() {
    let s = logged_in(Config::default()).await;
    let sid = mcp_session(&s.http, &s.server.urls.mcp, s.access_token()).await;
    let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
    let resp = mcp_post(&s.http, &s.server.urls.mcp, None, Some(&sid), list.clone()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    for m in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let resp = s
            .http
            .request(m.clone(), &s.server.urls.mcp)
            .header("mcp-session-id", &sid)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{m}");
    }
    let resp = mcp_post(
        &s.http,
        &s.server.urls.mcp,
        Some(s.access_token()),
        Some(&sid),
        list,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn rs_16_sessions_are_random_and_bound_to_the_user() {
    let s = logged_in(Config::default()).await;
    let a = mcp_session(&s.http, &s.server.urls.mcp, s.access_token()).await;
    let b = mcp_session(&s.http, &s.server.urls.mcp, s.access_token()).await;
    assert_ne!(a, b);
    assert!(a.len() >= 22, "at least 128 bits: {a}");
    // Another subject: a client_credentials token has the client as its subject.
    let cc = register_confidential(
        &s.http,
        &s.ep,
        "client_secret_post",
        &["client_credentials"],
    )
    .await;
    let (status, _, t) = token_request(
        &s.http,
        &s.ep,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &cc.client_id),
            ("client_secret", cc.secret.as_deref().unwrap()),
            ("resource", &s.server.urls.mcp),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let other = t["access_token"].as_str().unwrap();
    let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
    let resp = mcp_post(&s.http, &s.server.urls.mcp, Some(other), Some(&a), list).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn scope_03_admin_needs_write_scope() {
    let s = logged_in_with_scope(Config::default(), Some("mcp:read")).await;
    let sid = mcp_session(&s.http, &s.server.urls.mcp, s.access_token()).await;
    let resp = mcp_post(
        &s.http,
        &s.server.urls.mcp,
        Some(s.access_token()),
        Some(&sid),
        tool_call("admin"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let c = bearer_params(&resp);
    assert_eq!(c["error"], "insufficient_scope");
    assert_eq!(c["scope"], "mcp:read mcp:write");
    assert!(c.contains_key("resource_metadata"));
    // SCOPE-05: the same challenge every time.
    let again = mcp_post(
        &s.http,
        &s.server.urls.mcp,
        Some(s.access_token()),
        Some(&sid),
        tool_call("admin"),
    )
    .await;
    assert_eq!(bearer_params(&again), c);
    // SCOPE-07: what the scope covers still works.
    let resp = mcp_post(
        &s.http,
        &s.server.urls.mcp,
        Some(s.access_token()),
        Some(&sid),
        tool_call("whoami"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn legacy_layout_challenges_without_resource_metadata() {
    let server = start(Config {
        layout: Layout::Legacy20250326,
        ..Config::default()
    })
    .await;
    let http = http();
    let resp = mcp_post(&http, &server.urls.mcp, None, None, initialize_body()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let c = bearer_params(&resp);
    assert!(!c.contains_key("resource_metadata"));
    assert!(!c.is_empty(), "PRM-02: at least one auth-param");
    let prm = format!(
        "{}/.well-known/oauth-protected-resource/mcp",
        server.urls.issuer
    );
    assert_eq!(
        http.get(&prm).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let s = logged_in(Config::default()).await;
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": "a".repeat(100 * 1024)}});
    let resp = mcp_post(
        &s.http,
        &s.server.urls.mcp,
        Some(s.access_token()),
        None,
        big,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
