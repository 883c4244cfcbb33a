//! The discovery chain against mock servers: the happy path, and malformed answers that must
//! each end in a clear verdict (never a panic or a hang).

use std::time::Duration;

use mcp_oauth_conformance::client::discovery::{self, DiscoveryError};
use mcp_oauth_conformance::client::http::{Http, Limits};
use mcp_oauth_conformance::client::mcp::{McpClient, Revision};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn http(timeout: Duration) -> Http {
    mcp_oauth_conformance::install_crypto_provider();
    Http::new(
        Limits {
            timeout,
            ..Limits::default()
        },
        false,
    )
    .expect("client")
}

/// How a mock answers: given the origin, the PRM and AS metadata responses.
type Answer = Box<dyn Fn(&str) -> ResponseTemplate>;

fn valid_prm() -> Answer {
    Box::new(|base: &str| {
        ResponseTemplate::new(200).set_body_json(
            json!({"resource": format!("{base}/mcp"), "authorization_servers": [base]}),
        )
    })
}

fn valid_meta() -> Answer {
    Box::new(|base: &str| ResponseTemplate::new(200).set_body_json(as_metadata(base)))
}

/// A mock MCP server and AS on one origin, answering PRM and AS metadata as told.
async fn target(prm: Answer, meta: Answer) -> (MockServer, Url) {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("POST"))
        .and(path("/mcp"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!(r#"Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp", scope="read""#).as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-protected-resource/mcp"))
        .respond_with(prm(&base))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(meta(&base))
        .mount(&server)
        .await;
    let url = Url::parse(&format!("{base}/mcp")).expect("mock URL");
    (server, url)
}

fn as_metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "registration_endpoint": format!("{issuer}/register"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    })
}

async fn discover(url: &Url, timeout: Duration) -> Result<discovery::Discovered, DiscoveryError> {
    let h = http(timeout);
    let mcp = McpClient::new(h.clone(), url.clone(), Revision::V2025_11_25);
    discovery::discover(&h, &mcp).await
}

#[tokio::test]
async fn the_chain_follows_the_challenge_then_prm_then_as_metadata() {
    let (server, url) = target(valid_prm(), valid_meta()).await;
    let d = discover(&url, Duration::from_secs(5))
        .await
        .expect("discovers");
    assert_eq!(d.endpoints.issuer, server.uri());
    assert_eq!(
        d.endpoints.token.as_str(),
        format!("{}/token", server.uri())
    );
    assert_eq!(d.scope.as_deref(), Some("read"));
    // Every URL tried is recorded, with its outcome.
    let tried: Vec<String> = d.attempts.iter().map(ToString::to_string).collect();
    assert_eq!(tried.len(), 2, "{tried:?}");
    assert!(
        tried[0].contains("oauth-protected-resource/mcp") && tried[0].contains("200"),
        "{tried:?}"
    );
}

#[tokio::test]
async fn prm_that_is_not_json_leaves_no_document() {
    let (_s, url) = target(
        Box::new(|_| ResponseTemplate::new(200).set_body_string("<html>hello</html>")),
        valid_meta(),
    )
    .await;
    match discover(&url, Duration::from_secs(5)).await {
        Err(DiscoveryError::NoPrm(tried)) => assert!(tried.contains("not JSON"), "{tried}"),
        other => panic!("expected NoPrm, got {other:?}"),
    }
}

#[tokio::test]
async fn prm_resource_with_a_trailing_slash_is_refused() {
    let prm: Answer = Box::new(|base: &str| {
        ResponseTemplate::new(200).set_body_json(
            json!({"resource": format!("{base}/mcp/"), "authorization_servers": [base]}),
        )
    });
    let (_s, url) = target(prm, valid_meta()).await;
    match discover(&url, Duration::from_secs(5)).await {
        Err(DiscoveryError::ResourceMismatch { expected, actual }) => {
            assert_eq!(format!("{expected}/"), actual)
        }
        other => panic!("expected ResourceMismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn prm_without_authorization_servers_is_refused() {
    let prm: Answer = Box::new(|base: &str| {
        ResponseTemplate::new(200).set_body_json(json!({"resource": format!("{base}/mcp")}))
    });
    let (_s, url) = target(prm, valid_meta()).await;
    let result = discover(&url, Duration::from_secs(5)).await;
    assert!(
        matches!(result, Err(DiscoveryError::NoAuthorizationServer)),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_issuer_mismatch_is_refused() {
    let meta: Answer = Box::new(|_| {
        ResponseTemplate::new(200).set_body_json(as_metadata("https://elsewhere.example"))
    });
    let (_s, url) = target(valid_prm(), meta).await;
    match discover(&url, Duration::from_secs(5)).await {
        Err(DiscoveryError::IssuerMismatch { actual, .. }) => {
            assert_eq!(actual, "https://elsewhere.example")
        }
        other => panic!("expected IssuerMismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn metadata_missing_the_token_endpoint_is_refused() {
    let meta: Answer = Box::new(|base: &str| {
        let mut m = as_metadata(base);
        if let Some(o) = m.as_object_mut() {
            o.remove("token_endpoint");
        }
        ResponseTemplate::new(200).set_body_json(m)
    });
    let (_s, url) = target(valid_prm(), meta).await;
    match discover(&url, Duration::from_secs(5)).await {
        Err(DiscoveryError::MissingEndpoint(m)) => assert!(m.contains("token_endpoint"), "{m}"),
        other => panic!("expected MissingEndpoint, got {other:?}"),
    }
}

#[tokio::test]
async fn server_errors_everywhere_end_in_no_metadata_with_every_url_listed() {
    let (_s, url) = target(
        valid_prm(),
        Box::new(|_| ResponseTemplate::new(500).set_body_string("boom")),
    )
    .await;
    match discover(&url, Duration::from_secs(5)).await {
        Err(DiscoveryError::NoAsMetadata { tried, .. }) => {
            assert!(
                tried.contains("oauth-authorization-server → 500"),
                "{tried}"
            );
            assert!(tried.contains("openid-configuration"), "{tried}");
        }
        other => panic!("expected NoAsMetadata, got {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_not_a_hang() {
    let slow: Answer = Box::new(|_| {
        ResponseTemplate::new(200)
            .set_body_json(json!({}))
            .set_delay(Duration::from_secs(5))
    });
    let (_s, url) = target(slow, valid_meta()).await;
    let started = std::time::Instant::now();
    match discover(&url, Duration::from_millis(300)).await {
        Err(DiscoveryError::Transport(e)) => {
            assert!(e.to_string().contains("no answer within"), "{e}")
        }
        other => panic!("expected a transport timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// MCP 2025-03-26: a server that publishes no metadata (every well-known URL answers 404) is
/// used through the default endpoints below the MCP server's origin. A metadata URL that fails
/// otherwise (500) is not a reason to guess.
#[tokio::test]
async fn a_2025_03_26_server_without_metadata_gets_the_default_endpoints() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("POST"))
        .and(path("/mcp"))
        .respond_with(ResponseTemplate::new(401).insert_header("www-authenticate", "Bearer"))
        .mount(&server)
        .await;
    let http = http(Duration::from_secs(5));
    let url = Url::parse(&format!("{base}/mcp")).expect("url");
    let mcp = McpClient::new(http.fork(), url.clone(), Revision::V2025_03_26);
    let d = discovery::discover(&http, &mcp)
        .await
        .expect("the default endpoints are used");
    assert_eq!(
        d.endpoints.authorization.as_str(),
        format!("{base}/authorize")
    );
    assert_eq!(d.endpoints.token.as_str(), format!("{base}/token"));
    assert_eq!(
        d.endpoints.registration.as_ref().map(Url::as_str),
        Some(format!("{base}/register").as_str())
    );

    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let mcp = McpClient::new(http.fork(), url, Revision::V2025_03_26);
    let e = discovery::discover(&http, &mcp)
        .await
        .expect_err("a failing metadata URL is not a missing one");
    assert!(matches!(e, DiscoveryError::NoAsMetadata { .. }), "{e}");
}

/// The PRM names the same mock by another host name (`localhost`), as a target whose
/// authorization server lives on another host would.
fn prm_naming_localhost() -> Answer {
    Box::new(|base: &str| {
        let other = base.replace("127.0.0.1", "localhost");
        ResponseTemplate::new(200).set_body_json(
            json!({"resource": format!("{base}/mcp"), "authorization_servers": [other]}),
        )
    })
}

fn http_for(hosts: mcp_oauth_conformance::client::hosts::AllowedHosts) -> Http {
    mcp_oauth_conformance::install_crypto_provider();
    Http::with_options(mcp_oauth_conformance::client::http::HttpOptions {
        limits: Limits::default(),
        verbose: false,
        ca_cert_pem: None,
        hosts,
        max_wait: mcp_oauth_conformance::client::ratelimit::DEFAULT_MAX_WAIT,
        pace: None,
    })
    .expect("client")
}

#[tokio::test]
async fn by_default_the_authorization_servers_the_prm_names_may_be_contacted() {
    use mcp_oauth_conformance::client::hosts::AllowedHosts;
    let meta: Answer = Box::new(|base: &str| {
        ResponseTemplate::new(200)
            .set_body_json(as_metadata(&base.replace("127.0.0.1", "localhost")))
    });
    let (_s, url) = target(prm_naming_localhost(), meta).await;
    let h = http_for(AllowedHosts::for_target(&url));
    let mcp = McpClient::new(h.clone(), url.clone(), Revision::V2025_11_25);
    let d = discovery::discover(&h, &mcp).await.expect("discovers");
    assert!(
        d.endpoints.issuer.contains("localhost"),
        "{}",
        d.endpoints.issuer
    );
    // A host nobody named stays out of reach.
    let other = Url::parse("http://127.0.0.2:1/x").expect("url");
    assert!(!h.hosts().allows(&other));
}

#[tokio::test]
async fn a_host_outside_allowed_hosts_is_never_contacted() {
    use mcp_oauth_conformance::client::hosts::{AllowedHosts, HostPattern};
    let (_s, url) = target(prm_naming_localhost(), valid_meta()).await;
    let h = http_for(AllowedHosts::fixed(vec![
        HostPattern::parse("127.0.0.1").expect("pattern"),
    ]));
    let mcp = McpClient::new(h.clone(), url.clone(), Revision::V2025_11_25);
    let e = discovery::discover(&h, &mcp)
        .await
        .expect_err("the AS host is not allowed");
    let text = e.to_string();
    assert!(
        text.contains("localhost is not an allowed host") && text.contains("allowed_hosts"),
        "{text}"
    );
    // Nothing was sent there: the refusal is in the transcript, with no status.
    let refused: Vec<_> = h
        .transcript()
        .into_iter()
        .filter(|x| x.url.contains("localhost"))
        .collect();
    assert!(!refused.is_empty());
    assert!(refused.iter().all(|x| x.status.is_none()), "{refused:?}");
}
