//! Each variant changes what the server does, as its table entry says: the evidence that a
//! clean self-test run under a variant met the behaviour and passed it, rather than never
//! seeing it.

mod common;

use std::time::Duration;

use common::{Endpoints, http, register, start};
use reference_server::{Config, Variant, Variants};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn started(
    variant: Variant,
) -> (reference_server::RunningServer, reqwest::Client, Endpoints) {
    let server = start(Config {
        variants: Variants::only(variant),
        rate_limit_window: Duration::from_secs(60),
        ..Config::default()
    })
    .await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    (server, http, ep)
}

fn registration() -> Value {
    json!({
        "redirect_uris": [common::REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
    })
}

/// A token request that must be refused: an unknown code.
async fn refused_token_request(http: &reqwest::Client, ep: &Endpoints) -> (StatusCode, Value) {
    let resp = http
        .post(&ep.token)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "no-such-code"),
            ("client_id", "no-such-client"),
            ("redirect_uri", common::REDIRECT),
            ("code_verifier", common::VERIFIER),
        ])
        .send()
        .await
        .expect("token request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn rate_limit_registration_answers_429_with_retry_after_past_its_limit() {
    let (_server, http, ep) = started(Variant::RateLimitRegistration).await;
    for _ in 0..10 {
        let r = register(&http, &ep, registration()).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = register(&http, &ep, registration()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(r.headers().contains_key("ratelimit-policy"));
}

#[tokio::test]
async fn metadata_unavailable_once_answers_503_first_and_then_the_document() {
    let server = start(Config {
        variants: Variants::only(Variant::MetadataUnavailableOnce),
        ..Config::default()
    })
    .await;
    let http = http();
    let first = http
        .get(&server.urls.as_metadata)
        .send()
        .await
        .expect("first");
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        first
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let second = http
        .get(&server.urls.as_metadata)
        .send()
        .await
        .expect("second");
    assert_eq!(second.status(), StatusCode::OK);
}

#[tokio::test]
async fn extra_members_reach_metadata_and_error_objects() {
    let (server, http, ep) = started(Variant::ExtraMembers).await;
    let extra = reference_server::variants::shapes::EXTRA_MEMBER;
    assert!(ep.metadata.get(extra).is_some(), "{}", ep.metadata);
    let (_, error) = refused_token_request(&http, &ep).await;
    assert!(error.get(extra).is_some(), "{error}");
    let prm: Value = http
        .get(server.urls.prm.as_deref().expect("a PRM URL"))
        .send()
        .await
        .expect("prm")
        .json()
        .await
        .unwrap_or(Value::Null);
    assert!(prm.get(extra).is_some(), "{prm}");
}

#[tokio::test]
async fn error_fields_change_as_the_variants_say() {
    let (_server, http, ep) = started(Variant::NoErrorDescription).await;
    let (status, error) = refused_token_request(&http, &ep).await;
    assert!(status.is_client_error());
    assert!(error.get("error").is_some(), "{error}");
    assert!(error.get("error_description").is_none(), "{error}");

    let (_server, http, ep) = started(Variant::ErrorUri).await;
    let (_, error) = refused_token_request(&http, &ep).await;
    assert_eq!(
        error.get("error_uri").and_then(Value::as_str),
        Some(reference_server::variants::shapes::ERROR_URI),
        "{error}"
    );
}

#[tokio::test]
async fn caching_and_connection_headers() {
    let (server, http, _) = started(Variant::MetadataCacheControl).await;
    let r = http
        .get(&server.urls.as_metadata)
        .send()
        .await
        .expect("metadata");
    assert_eq!(
        r.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=3600")
    );

    let (server, http, _) = started(Variant::ConnectionClose).await;
    let r = http
        .get(&server.urls.as_metadata)
        .send()
        .await
        .expect("metadata");
    assert_eq!(
        r.headers().get("connection").and_then(|v| v.to_str().ok()),
        Some("close")
    );
}
