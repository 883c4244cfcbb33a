//! Pre-registered clients (`--clients`, `Config::clients`) and a server without dynamic
//! registration (`--no-dcr`, `Config::no_dcr`).

mod common;

use common::*;
use reference_server::Config;
use reference_server::config::PreRegisteredClient;
use reference_server::protocol::AuthMethod;
use reqwest::StatusCode;

fn preregistered_config() -> Config {
    Config {
        clients: vec![
            PreRegisteredClient::public("pre-public", &[REDIRECT]),
            PreRegisteredClient::confidential(
                "pre-basic",
                "a-long-enough-secret",
                AuthMethod::ClientSecretBasic,
                &[REDIRECT],
            ),
        ],
        no_dcr: true,
        ..Config::default()
    }
}

#[tokio::test]
async fn a_pre_registered_public_client_completes_the_flow_without_registration() {
    let server = start(preregistered_config()).await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    let client = TestClient {
        client_id: "pre-public".into(),
        secret: None,
    };
    let code = code_for(
        &http,
        &ep,
        &AuthRequest::new("pre-public", &server.urls.mcp),
    )
    .await;
    let (status, _, tokens) = exchange(&http, &ep, &client, &code, &server.urls.mcp).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["access_token"].is_string());
    assert!(tokens["refresh_token"].is_string());
}

#[tokio::test]
async fn a_pre_registered_confidential_client_authenticates_with_its_secret() {
    let server = start(preregistered_config()).await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    let code = code_for(&http, &ep, &AuthRequest::new("pre-basic", &server.urls.mcp)).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("redirect_uri", REDIRECT),
        ("resource", server.urls.mcp.as_str()),
    ];
    let wrong = http
        .post(&ep.token)
        .basic_auth("pre-basic", Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let code = code_for(&http, &ep, &AuthRequest::new("pre-basic", &server.urls.mcp)).await;
    let mut form = form.to_vec();
    form[1].1 = code.as_str();
    let ok = http
        .post(&ep.token)
        .basic_auth("pre-basic", Some("a-long-enough-secret"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn no_dcr_removes_the_endpoint_and_the_metadata_member() {
    let http = http();
    for no_dcr in [false, true] {
        let server = start(Config {
            no_dcr,
            ..Config::default()
        })
        .await;
        let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
        assert_eq!(
            ep.metadata.get("registration_endpoint").is_some(),
            !no_dcr,
            "{}",
            ep.metadata
        );
        let oidc: serde_json::Value = http
            .get(format!(
                "{}/.well-known/openid-configuration",
                server.urls.issuer
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(oidc.get("registration_endpoint").is_some(), !no_dcr);
        let register_url = format!("{}/oauth2/register", server.urls.issuer);
        let resp = http
            .post(&register_url)
            .json(&serde_json::json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}))
            .send()
            .await
            .unwrap();
        if no_dcr {
            assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        } else {
            assert_eq!(resp.status(), StatusCode::CREATED);
        }
    }
}

#[test]
fn an_invalid_pre_registered_client_stops_the_start() {
    let mut c = PreRegisteredClient::public("bad", &["http://evil.example/cb"]);
    let err = reference_server::app(Config {
        clients: vec![c.clone()],
        ..Config::default()
    })
    .expect_err("refused");
    assert!(err.to_string().contains("not loopback"), "{err}");
    c.redirect_uris = vec![REDIRECT.into()];
    assert!(
        reference_server::app(Config {
            clients: vec![c],
            ..Config::default()
        })
        .is_ok()
    );
}
