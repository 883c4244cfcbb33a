//! The token-format, client-kind and error-code variants each change what the server does, as
//! their table entries say: the evidence that a clean self-test run under one of them met the
//! behaviour and passed it, rather than never seeing it.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{
    AuthRequest, Session, code_for, exchange, logged_in, logged_in_with_scope, mcp_post, register,
    register_public, started_with, token_request, with_variant,
};
use reference_server::{Config, Variant};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The access token's payload, read without verification.
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

async fn tools_list_status(s: &Session, token: &str) -> StatusCode {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": common::PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"}}});
    mcp_post(&s.http, &s.server.urls.mcp, Some(token), None, body)
        .await
        .status()
}

async fn revoke(s: &Session, token: &str) -> (StatusCode, Value) {
    let resp = s
        .http
        .post(&s.ep.revoke)
        .form(&[("token", token), ("client_id", &s.client.client_id)])
        .send()
        .await
        .expect("revocation request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn token_type_lowercase_writes_bearer() {
    let s = logged_in(with_variant(Variant::TokenTypeLowercase)).await;
    assert_eq!(s.tokens["token_type"], "bearer");
    let plain = logged_in(Config::default()).await;
    assert_eq!(plain.tokens["token_type"], "Bearer");
}

#[tokio::test]
async fn scope_omitted_leaves_out_the_requested_scope_but_states_a_default() {
    let asked = logged_in_with_scope(
        with_variant(Variant::ScopeOmitted),
        Some("mcp:read mcp:write"),
    )
    .await;
    assert!(asked.tokens.get("scope").is_none(), "{}", asked.tokens);
    assert_eq!(payload(asked.access_token())["scope"], "mcp:read mcp:write");
    // Without scope in the request, the default granted is not "identical to the request".
    let defaulted = logged_in(with_variant(Variant::ScopeOmitted)).await;
    assert_eq!(defaulted.tokens["scope"], "mcp:read");
}

#[tokio::test]
async fn aud_array_puts_the_resource_in_an_array_and_the_token_still_works() {
    let s = logged_in(with_variant(Variant::AudArray)).await;
    assert_eq!(payload(s.access_token())["aud"], json!([s.server.urls.mcp]));
    assert_eq!(
        tools_list_status(&s, s.access_token()).await,
        StatusCode::OK
    );
    // The audience is still checked: the other resource refuses it.
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let other = mcp_post(
        &s.http,
        &s.server.urls.mcp_alt,
        Some(s.access_token()),
        None,
        body,
    )
    .await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn access_tokens_self_contained_stay_valid_at_the_rs_after_revocation() {
    let s = logged_in(with_variant(Variant::AccessTokensSelfContained)).await;
    let (status, _) = revoke(&s, s.access_token()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        tools_list_status(&s, s.access_token()).await,
        StatusCode::OK
    );
    // Without the variant the MCP server sees the revocation.
    let strict = logged_in(Config::default()).await;
    revoke(&strict, strict.access_token()).await;
    assert_eq!(
        tools_list_status(&strict, strict.access_token()).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn revocation_unsupported_token_type_refuses_access_tokens_only() {
    let s = logged_in(with_variant(Variant::RevocationUnsupportedTokenType)).await;
    let (status, body) = revoke(&s, s.access_token()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_token_type");
    let (status, _) = revoke(&s, s.refresh_token()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = token_request(
        &s.http,
        &s.ep,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", s.refresh_token()),
            ("client_id", &s.client.client_id),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

/// A code for a redirect URI on another loopback port than the registered one, or the refusal
/// page's status.
async fn other_port_authorization(variant: Variant, application_type: Option<&str>) -> bool {
    let (server, http, ep) = started_with(variant).await;
    let mut meta = json!({
        "redirect_uris": [common::REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
    });
    if let Some(t) = application_type {
        meta["application_type"] = json!(t);
    }
    let r = register(&http, &ep, meta).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let client_id = r.json::<Value>().await.expect("JSON")["client_id"]
        .as_str()
        .expect("client_id")
        .to_string();
    let req = AuthRequest::new(&client_id, &server.urls.mcp)
        .set("redirect_uri", "http://127.0.0.1:49153/callback");
    let resp = http.get(req.url(&ep.authorize)).send().await.expect("GET");
    // A refused redirect URI gets an error page (400); an accepted one the login page.
    resp.status() != StatusCode::BAD_REQUEST
}

#[tokio::test]
async fn application_type_default_web_gives_the_port_allowance_to_native_clients_only() {
    let v = Variant::ApplicationTypeDefaultWeb;
    assert!(!other_port_authorization(v, None).await);
    assert!(!other_port_authorization(v, Some("web")).await);
    assert!(other_port_authorization(v, Some("native")).await);
    // Without the variant, every client keeps the allowance.
    let plain = Variant::TokenTypeLowercase;
    assert!(other_port_authorization(plain, None).await);
}

#[tokio::test]
async fn dcr_substitutes_metadata_echoes_the_values_it_applied() {
    let (_server, http, ep) = started_with(Variant::DcrSubstitutesMetadata).await;
    let r = register(
        &http,
        &ep,
        json!({
            "redirect_uris": [common::REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code"],
            "response_types": [],
            "client_name": "n",
        }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["client_name"], "n (unverified)");
    assert_eq!(body["scope"], "mcp:read");
    assert_eq!(body["response_types"], json!(["code"]));
    let r = register(
        &http,
        &ep,
        json!({"redirect_uris": [common::REDIRECT], "token_endpoint_auth_method": "foo"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
}

#[tokio::test]
async fn redirect_uri_errors_answer_invalid_client_metadata() {
    let (_server, http, ep) = started_with(Variant::RedirectUriErrorsInvalidClientMetadata).await;
    for meta in [
        json!({"redirect_uris": ["http://evil.example/cb"], "token_endpoint_auth_method": "none"}),
        json!({"token_endpoint_auth_method": "none"}),
    ] {
        let r = register(&http, &ep, meta).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: Value = r.json().await.expect("JSON");
        assert_eq!(body["error"], "invalid_client_metadata");
    }
}

#[tokio::test]
async fn verifier_errors_invalid_grant_refuses_missing_and_malformed_verifiers() {
    let (server, http, ep) = started_with(Variant::VerifierErrorsInvalidGrant).await;
    let client = register_public(&http, &ep).await;
    for verifier in [None, Some("short")] {
        let req = AuthRequest::new(&client.client_id, &server.urls.mcp);
        let code = code_for(&http, &ep, &req).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", client.client_id.as_str()),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        let (status, _, body) = token_request(&http, &ep, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant", "{verifier:?}");
        assert!(body.get("access_token").is_none());
    }
    // A right verifier still redeems.
    let req = AuthRequest::new(&client.client_id, &server.urls.mcp);
    let code = code_for(&http, &ep, &req).await;
    let (status, _, _) = exchange(&http, &ep, &client, &code, &server.urls.mcp).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn opaque_access_tokens_are_looked_up_introspected_and_revoked() {
    let s = logged_in(with_variant(Variant::OpaqueAccessTokens)).await;
    let token = s.access_token().to_string();
    assert!(!token.contains('.'), "not a JWT: {token}");
    let introspection = s.ep.metadata["introspection_endpoint"]
        .as_str()
        .expect("introspection_endpoint advertised")
        .to_string();
    assert_eq!(tools_list_status(&s, &token).await, StatusCode::OK);
    let introspect = |t: String| {
        let http = s.http.clone();
        let url = introspection.clone();
        let client_id = s.client.client_id.clone();
        async move {
            http.post(url)
                .form(&[("token", t.as_str()), ("client_id", client_id.as_str())])
                .send()
                .await
                .expect("introspection")
                .json::<Value>()
                .await
                .expect("JSON")
        }
    };
    let active = introspect(token.clone()).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["aud"], s.server.urls.mcp);
    assert_eq!(introspect("made-up".into()).await, json!({"active": false}));
    // The audience is checked on lookup.
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let other = mcp_post(&s.http, &s.server.urls.mcp_alt, Some(&token), None, body).await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    // Revocation reaches the MCP server and introspection.
    revoke(&s, &token).await;
    assert_eq!(
        tools_list_status(&s, &token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(introspect(token).await["active"], false);
    // Without the variant, nothing is advertised.
    let plain = logged_in(Config::default()).await;
    assert!(plain.ep.metadata.get("introspection_endpoint").is_none());
}
