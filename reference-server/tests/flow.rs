//! The whole flow, for each layout: discovery from the 401 → registration → login and consent
//! through the HTML forms → token → initialize → tools/call → refresh → step-up 403.

mod common;

use common::*;
use reference_server::Layout;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Discovery as a client does it: 401 → PRM → AS metadata (MCP 2025-11-25 order).
async fn discover(http: &reqwest::Client, mcp: &str, layout: Layout) -> Endpoints {
    let resp = mcp_post(http, mcp, None, None, initialize_body()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = bearer_params(&resp);
    assert!(
        !challenge.contains_key("error"),
        "PRM-04: no error without credentials"
    );
    if layout == Layout::Legacy20250326 {
        assert!(!challenge.contains_key("resource_metadata"));
        // LEG-01: metadata at the MCP origin.
        let origin = url::Url::parse(mcp).unwrap().origin().ascii_serialization();
        let ep = Endpoints::fetch(
            http,
            &format!("{origin}/.well-known/oauth-authorization-server"),
        )
        .await;
        assert_eq!(ep.issuer, origin);
        assert_eq!(ep.authorize, format!("{origin}/authorize"));
        assert_eq!(ep.token, format!("{origin}/token"));
        assert_eq!(ep.register, format!("{origin}/register"));
        return ep;
    }
    let prm_url = &challenge["resource_metadata"];
    let prm: Value = http
        .get(prm_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["resource"], mcp, "PRM-09");
    let issuer = prm["authorization_servers"][0]
        .as_str()
        .unwrap()
        .to_string();
    let u = url::Url::parse(&issuer).unwrap();
    let origin = u.origin().ascii_serialization();
    let path = u.path().trim_end_matches('/');
    // RFC 8414 path-inserted, then OIDC path-inserted, then OIDC appended.
    let candidates = [
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}/.well-known/openid-configuration{path}"),
        format!("{origin}{path}/.well-known/openid-configuration"),
    ];
    let mut found = None;
    for (i, c) in candidates.iter().enumerate() {
        if http.get(c).send().await.unwrap().status() == StatusCode::OK {
            found = Some((i, c.clone()));
            break;
        }
    }
    let (index, url) = found.expect("some metadata URL answers");
    match layout {
        Layout::OidcOnly => assert_eq!(index, 1, "oidc-only serves only OIDC"),
        _ => assert_eq!(index, 0),
    }
    let ep = Endpoints::fetch(http, &url).await;
    assert_eq!(ep.issuer, issuer, "ASM-04");
    ep
}

async fn full_flow(layout: Layout) {
    let server = start_layout(layout).await;
    let http = http();
    let mcp = server.urls.mcp.clone();
    let ep = discover(&http, &mcp, layout).await;
    assert_eq!(
        ep.metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );

    let client = register_public(&http, &ep).await;
    let req = AuthRequest::new(&client.client_id, &mcp).set("scope", "mcp:read");
    let cb = login_and_consent(&http, &req.url(&ep.authorize), "alice", "wonderland").await;
    assert_eq!(cb.url.as_str().split('?').next().unwrap(), REDIRECT);
    assert_eq!(cb.get("state"), Some("st-1234"));
    assert_eq!(cb.get("iss"), Some(ep.issuer.as_str()), "RFC 9207 iss");
    let code = cb.get("code").unwrap();

    let (status, headers, tokens) = exchange(&http, &ep, &client, code, &mcp).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "mcp:read");
    let access = tokens["access_token"].as_str().unwrap();

    let sid = mcp_session(&http, &mcp, access).await;
    let resp = mcp_post(&http, &mcp, Some(access), Some(&sid), tool_call("whoami")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    let text = body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("alice"), "whoami names the user: {text}");

    // Refresh rotates the refresh token.
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (status, _, refreshed) = token_request(
        &http,
        &ep,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", &client.client_id),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_ne!(refreshed["refresh_token"].as_str().unwrap(), rt);
    let access = refreshed["access_token"].as_str().unwrap();

    // Step-up: admin needs mcp:write.
    let resp = mcp_post(&http, &mcp, Some(access), Some(&sid), tool_call("admin")).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let challenge = bearer_params(&resp);
    assert_eq!(challenge["error"], "insufficient_scope");
    assert_eq!(challenge["scope"], "mcp:read mcp:write");
    if layout != Layout::Legacy20250326 {
        assert!(challenge.contains_key("resource_metadata"));
    }
    let req = AuthRequest::new(&client.client_id, &mcp).set("scope", &challenge["scope"]);
    let code = code_for(&http, &ep, &req).await;
    let (status, _, wide) = exchange(&http, &ep, &client, &code, &mcp).await;
    assert_eq!(status, StatusCode::OK);
    let wide_access = wide["access_token"].as_str().unwrap();
    let sid = mcp_session(&http, &mcp, wide_access).await;
    let resp = mcp_post(
        &http,
        &mcp,
        Some(wide_access),
        Some(&sid),
        tool_call("admin"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);

    server.shutdown().await;
}

#[tokio::test]
async fn same_origin_layout() {
    full_flow(Layout::SameOrigin).await;
}

#[tokio::test]
async fn split_layout() {
    full_flow(Layout::Split).await;
}

#[tokio::test]
async fn issuer_path_layout() {
    full_flow(Layout::IssuerPath).await;
}

#[tokio::test]
async fn oidc_only_layout() {
    full_flow(Layout::OidcOnly).await;
}

#[tokio::test]
async fn legacy_layout() {
    full_flow(Layout::Legacy20250326).await;
}

#[tokio::test]
async fn split_layout_puts_the_as_on_another_origin() {
    let server = start_layout(Layout::Split).await;
    let mcp = url::Url::parse(&server.urls.mcp).unwrap();
    let issuer = url::Url::parse(&server.urls.issuer).unwrap();
    assert_ne!(mcp.origin(), issuer.origin());
    // The MCP origin serves no AS metadata, and the AS origin no MCP endpoint.
    let http = http();
    let wrong = format!(
        "{}/.well-known/oauth-authorization-server",
        mcp.origin().ascii_serialization()
    );
    assert_eq!(
        http.get(&wrong).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    server.shutdown().await;
}

#[tokio::test]
async fn issuer_path_metadata_is_only_at_path_inserted_urls() {
    let server = start_layout(Layout::IssuerPath).await;
    let http = http();
    let origin = server.urls.issuer.trim_end_matches("/tenant1").to_string();
    for (url, expected) in [
        (
            format!("{origin}/.well-known/oauth-authorization-server/tenant1"),
            StatusCode::OK,
        ),
        (
            format!("{origin}/.well-known/openid-configuration/tenant1"),
            StatusCode::OK,
        ),
        (
            format!("{origin}/.well-known/oauth-authorization-server"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("{origin}/tenant1/.well-known/openid-configuration"),
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(
            http.get(&url).send().await.unwrap().status(),
            expected,
            "{url}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn metadata_documents_agree_and_advertise_what_the_server_does() {
    let server = start_layout(Layout::SameOrigin).await;
    let http = http();
    let oauth = Endpoints::fetch(&http, &server.urls.as_metadata)
        .await
        .metadata;
    let oidc = Endpoints::fetch(
        &http,
        &format!("{}/.well-known/openid-configuration", server.urls.issuer),
    )
    .await
    .metadata;
    for k in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "registration_endpoint",
        "code_challenge_methods_supported",
    ] {
        assert_eq!(oauth[k], oidc[k], "ASM-17: {k}");
    }
    assert_eq!(
        oauth["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(oauth["client_id_metadata_document_supported"], true);
    assert_eq!(oauth["response_types_supported"], json!(["code"]));
    assert!(
        oauth["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("none"))
    );
    assert!(
        oauth["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("authorization_code"))
    );
    // ASM-12: no member without a value.
    for (k, v) in oauth.as_object().unwrap() {
        assert!(v != &json!("") && v != &json!([]), "empty member {k}");
    }
    // JWKS is published.
    let jwks: Value = http
        .get(oauth["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    server.shutdown().await;
}

#[tokio::test]
async fn each_resource_has_its_own_prm_and_root_prm_is_opt_in() {
    let server = start_layout(Layout::SameOrigin).await;
    let http = http();
    let alt_prm_url = server
        .urls
        .prm
        .as_ref()
        .unwrap()
        .replace("/mcp", "/alt/mcp");
    let alt: Value = http
        .get(&alt_prm_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alt["resource"], server.urls.mcp_alt);
    let origin = server.urls.issuer.clone();
    let root = format!("{origin}/.well-known/oauth-protected-resource");
    assert_eq!(
        http.get(&root).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    server.shutdown().await;

    let server = start(reference_server::Config {
        root_prm: true,
        ..Default::default()
    })
    .await;
    let root = format!(
        "{}/.well-known/oauth-protected-resource",
        server.urls.issuer
    );
    let doc: Value = http.get(&root).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["resource"], server.urls.mcp);
    server.shutdown().await;
}
