//! How the client library authenticates at the token endpoint, against a loopback mock: a
//! public client (`none`) sends no secret even when the AS handed it one (RFC 7591 §2), while a
//! `client_secret_post` client sends its secret in the body.

use std::time::Duration;

use mcp_oauth_conformance::client::hosts::AllowedHosts;
use mcp_oauth_conformance::client::http::{Http, HttpOptions, Limits};
use mcp_oauth_conformance::client::oauth::post_form;
use mcp_oauth_conformance::client::params::{Param, Params};
use mcp_oauth_conformance::client::redact::Secret;
use mcp_oauth_conformance::client::registration::RegisteredClient;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn http() -> Http {
    mcp_oauth_conformance::install_crypto_provider();
    Http::with_options(HttpOptions {
        limits: Limits::default(),
        verbose: false,
        ca_cert_pem: None,
        hosts: AllowedHosts::any(),
        max_wait: Duration::from_secs(1),
        pace: None,
    })
    .expect("client")
}

fn client(auth_method: &str) -> RegisteredClient {
    RegisteredClient {
        client_id: "c1".into(),
        client_secret: Some(Secret::new("handed-out-secret")),
        redirect_uri: Url::parse("http://127.0.0.1:1/cb").expect("url"),
        token_endpoint_auth_method: auth_method.into(),
        application_type: None,
    }
}

/// The form body of the only request the mock received, after `auth_method`'s client posted.
async fn body_sent_by(auth_method: &str) -> String {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&server)
        .await;
    let endpoint = Url::parse(&format!("{}/token", server.uri())).expect("url");
    let params = Params::new()
        .set(Param::GrantType, "authorization_code")
        .set(Param::ClientId, "c1");
    post_form(&http(), &endpoint, &client(auth_method), &params)
        .await
        .expect("an answer");
    let received = server.received_requests().await.expect("recording");
    assert_eq!(received.len(), 1);
    String::from_utf8_lossy(&received[0].body).into_owned()
}

#[tokio::test]
async fn a_public_client_sends_no_secret_even_one_it_was_handed() {
    let body = body_sent_by("none").await;
    assert!(body.contains("client_id=c1"), "{body}");
    assert!(!body.contains("client_secret"), "{body}");
}

#[tokio::test]
async fn a_client_secret_post_client_sends_its_secret_in_the_body() {
    let body = body_sent_by("client_secret_post").await;
    assert!(body.contains("client_secret=handed-out-secret"), "{body}");
}
