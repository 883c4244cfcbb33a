//! The `one-active-grant` variant does what its table entry says: approving a new
//! authorization ends the user's earlier grant with the same client (its tokens revoked, its
//! codes not yet redeemed void), leaves other clients' grants alone, and without the variant
//! every grant lives on.

mod common;

use common::{
    AuthRequest, Endpoints, Session, TestClient, code_for, exchange, initialize_body, logged_in,
    mcp_post, register_public, token_request,
};
use reference_server::{Config, Variant, Variants};
use reqwest::StatusCode;
use serde_json::Value;

fn one_active_grant() -> Config {
    Config {
        variants: Variants::only(Variant::OneActiveGrant),
        ..Config::default()
    }
}

/// A new code for `client`, through login and consent as the default user.
async fn new_code(s: &Session, client: &TestClient) -> String {
    code_for(
        &s.http,
        &s.ep,
        &AuthRequest::new(&client.client_id, &s.server.urls.mcp),
    )
    .await
}

async fn refresh(
    http: &reqwest::Client,
    ep: &Endpoints,
    client: &TestClient,
    rt: &str,
) -> (StatusCode, Value) {
    let (status, _, body) = token_request(
        http,
        ep,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", &client.client_id),
        ],
    )
    .await;
    (status, body)
}

async fn rs_status(s: &Session, token: &str) -> StatusCode {
    mcp_post(
        &s.http,
        &s.server.urls.mcp,
        Some(token),
        None,
        initialize_body(),
    )
    .await
    .status()
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("no {k} in {v}"))
}

#[tokio::test]
async fn a_new_authorization_revokes_the_earlier_grants_tokens() {
    let s = logged_in(one_active_grant()).await;
    assert_eq!(rs_status(&s, s.access_token()).await, StatusCode::OK);

    let code = new_code(&s, &s.client).await;
    let (status, _, second) = exchange(&s.http, &s.ep, &s.client, &code, &s.server.urls.mcp).await;
    assert_eq!(status, StatusCode::OK, "{second}");

    assert_eq!(
        rs_status(&s, s.access_token()).await,
        StatusCode::UNAUTHORIZED,
        "the earlier grant's access token must be revoked"
    );
    let (status, body) = refresh(&s.http, &s.ep, &s.client, s.refresh_token()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(str_of(&body, "error"), "invalid_grant");

    // The new grant is the active one.
    assert_eq!(
        rs_status(&s, str_of(&second, "access_token")).await,
        StatusCode::OK
    );
    let (status, body) = refresh(&s.http, &s.ep, &s.client, str_of(&second, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_new_authorization_voids_the_earlier_unredeemed_code() {
    let s = logged_in(one_active_grant()).await;
    let earlier = new_code(&s, &s.client).await;
    let later = new_code(&s, &s.client).await;
    let (status, _, body) = exchange(&s.http, &s.ep, &s.client, &earlier, &s.server.urls.mcp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(str_of(&body, "error"), "invalid_grant");
    let (status, _, body) = exchange(&s.http, &s.ep, &s.client, &later, &s.server.urls.mcp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn another_clients_grant_is_untouched() {
    let s = logged_in(one_active_grant()).await;
    let other = register_public(&s.http, &s.ep).await;
    let code = new_code(&s, &other).await;
    let (status, _, body) = exchange(&s.http, &s.ep, &other, &code, &s.server.urls.mcp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(rs_status(&s, s.access_token()).await, StatusCode::OK);
    let (status, body) = refresh(&s.http, &s.ep, &s.client, s.refresh_token()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn without_the_variant_every_grant_and_code_lives_on() {
    let s = logged_in(Config::default()).await;
    let earlier = new_code(&s, &s.client).await;
    let later = new_code(&s, &s.client).await;
    for code in [&later, &earlier] {
        let (status, _, body) = exchange(&s.http, &s.ep, &s.client, code, &s.server.urls.mcp).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(rs_status(&s, s.access_token()).await, StatusCode::OK);
    let (status, body) = refresh(&s.http, &s.ep, &s.client, s.refresh_token()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
