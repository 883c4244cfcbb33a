//! The variants of response modes and of grants and features not offered change what the
//! server does, as their table entries say: the evidence that a clean self-test run under each
//! met the behaviour and passed it, rather than never seeing it.

mod common;

use common::{
    AuthRequest, Callback, REDIRECT, cookie_of, exchange, location, logged_in,
    logged_in_with_scope, parse_form, register, register_confidential, register_public,
    started_with, token_request, with_variant,
};
use reference_server::Variant;
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

fn strings(doc: &Value, member: &str) -> Vec<String> {
    doc[member]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The parameters of a redirect's fragment.
fn fragment_params(url: &Url) -> Vec<(String, String)> {
    url.fragment()
        .map(|f| {
            url::form_urlencoded::parse(f.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn find<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The redirect that answers an authorization request refused before login.
async fn refused_redirect(http: &reqwest::Client, url: &str) -> Url {
    let resp = http.get(url).send().await.expect("authorization request");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    Url::parse(&location(&resp)).expect("an absolute redirect")
}

#[tokio::test]
async fn token_errors_in_fragment_refuses_token_in_the_fragment_and_code_errors_in_the_query() {
    let (server, http, ep) = started_with(Variant::TokenErrorsInFragment).await;
    let client = register_public(&http, &ep).await;
    let req = AuthRequest::new(&client.client_id, &server.urls.mcp);

    let to = refused_redirect(
        &http,
        &req.clone().set("response_type", "token").url(&ep.authorize),
    )
    .await;
    assert_eq!(to.query(), None, "nothing in the query: {to}");
    let params = fragment_params(&to);
    assert_eq!(find(&params, "error"), Some("unsupported_response_type"));
    assert_eq!(find(&params, "state"), Some("st-1234"));
    assert_eq!(find(&params, "iss"), Some(ep.issuer.as_str()));

    // The code flow's errors stay in the query, its default mode.
    let to = refused_redirect(
        &http,
        &req.set("scope", "harness:unknown").url(&ep.authorize),
    )
    .await;
    assert_eq!(to.fragment(), None);
    assert_eq!(
        Callback::parse(to.as_str()).get("error"),
        Some("invalid_scope")
    );
}

#[tokio::test]
async fn response_modes_advertised_answers_in_the_mode_asked_for_and_in_the_query_by_default() {
    let (server, http, ep) = started_with(Variant::ResponseModesAdvertised).await;
    assert_eq!(
        strings(&ep.metadata, "response_modes_supported"),
        ["query", "fragment", "form_post"]
    );
    let client = register_public(&http, &ep).await;
    let bad = AuthRequest::new(&client.client_id, &server.urls.mcp).set("scope", "harness:unknown");

    let to = refused_redirect(&http, &bad.clone().url(&ep.authorize)).await;
    assert_eq!(
        Callback::parse(to.as_str()).get("error"),
        Some("invalid_scope")
    );
    assert_eq!(to.fragment(), None);

    let to = refused_redirect(
        &http,
        &bad.set("response_mode", "fragment").url(&ep.authorize),
    )
    .await;
    assert_eq!(to.query(), None);
    assert_eq!(find(&fragment_params(&to), "error"), Some("invalid_scope"));

    // form_post: the code comes back in a self-submitting form aimed at the redirect URI.
    let req =
        AuthRequest::new(&client.client_id, &server.urls.mcp).set("response_mode", "form_post");
    let authorize_url = req.url(&ep.authorize);
    let page = http
        .get(&authorize_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let login = parse_form(&page, &authorize_url);
    let mut fields = login.fields.clone();
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), "wonderland".into()));
    let resp = http.post(&login.action).form(&fields).send().await.unwrap();
    let cookie = cookie_of(resp.headers()).expect("session cookie");
    let consent_url = Url::parse(&login.action)
        .unwrap()
        .join(&location(&resp))
        .unwrap()
        .to_string();
    let page = http
        .get(&consent_url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let consent = parse_form(&page, &consent_url);
    let mut fields = consent.fields.clone();
    fields.push(("decision".into(), "approve".into()));
    let resp = http
        .post(&consent.action)
        .header("cookie", &cookie)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let post = parse_form(&resp.text().await.unwrap(), REDIRECT);
    assert_eq!(post.action, REDIRECT);
    assert_eq!(find(&post.fields, "state"), Some("st-1234"));
    assert_eq!(find(&post.fields, "iss"), Some(ep.issuer.as_str()));
    let code = find(&post.fields, "code").expect("a code in the form");
    let (status, _, tokens) = exchange(&http, &ep, &client, code, &server.urls.mcp).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

#[tokio::test]
async fn no_client_credentials_neither_advertises_nor_serves_the_grant() {
    let (server, http, ep) = started_with(Variant::NoClientCredentials).await;
    let grants = strings(&ep.metadata, "grant_types_supported");
    assert!(
        !grants.iter().any(|g| g == "client_credentials"),
        "{grants:?}"
    );
    assert!(grants.iter().any(|g| g == "refresh_token"));
    let client =
        register_confidential(&http, &ep, "client_secret_post", &["client_credentials"]).await;
    let secret = client.secret.clone().expect("a secret");
    let (status, _, body) = token_request(
        &http,
        &ep,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.client_id),
            ("client_secret", &secret),
            ("resource", &server.urls.mcp),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn no_refresh_tokens_issues_none_and_refuses_the_grant() {
    let s = logged_in(with_variant(Variant::NoRefreshTokens)).await;
    assert!(s.tokens.get("refresh_token").is_none(), "{}", s.tokens);
    let grants = strings(&s.ep.metadata, "grant_types_supported");
    assert_eq!(grants, ["authorization_code", "client_credentials"]);
    let (status, _, body) = token_request(
        &s.http,
        &s.ep,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "made-up"),
            ("client_id", &s.client.client_id),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn refresh_only_with_offline_access_issues_refresh_tokens_only_when_asked() {
    let without = logged_in_with_scope(
        with_variant(Variant::RefreshOnlyWithOfflineAccess),
        Some("mcp:read"),
    )
    .await;
    assert!(
        without.tokens.get("refresh_token").is_none(),
        "{}",
        without.tokens
    );
    assert!(strings(&without.ep.metadata, "scopes_supported").contains(&"offline_access".into()));
    // offline_access is the AS's, never the resource's (PRM-18).
    let prm: Value = without
        .http
        .get(without.server.urls.prm.as_deref().expect("a PRM URL"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!strings(&prm, "scopes_supported").contains(&"offline_access".into()));

    let s = logged_in_with_scope(
        with_variant(Variant::RefreshOnlyWithOfflineAccess),
        Some("mcp:read offline_access"),
    )
    .await;
    assert_eq!(s.tokens["scope"], "mcp:read offline_access");
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
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["refresh_token"].is_string(), "rotated: {body}");
}

#[tokio::test]
async fn no_revocation_endpoint_neither_advertises_nor_serves_revocation() {
    let s = logged_in(with_variant(Variant::NoRevocationEndpoint)).await;
    assert!(s.ep.metadata.get("revocation_endpoint").is_none());
    assert!(
        s.ep.metadata
            .get("revocation_endpoint_auth_methods_supported")
            .is_none()
    );
    let revoke = s.server.state.urls.as_endpoint("revoke");
    let resp = s
        .http
        .post(&revoke)
        .form(&[
            ("token", s.access_token()),
            ("client_id", &s.client.client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn registration_needs_initial_access_token_refuses_registrations_with_a_bearer_challenge() {
    let (_server, http, ep) = started_with(Variant::RegistrationNeedsInitialAccessToken).await;
    let body = json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"});
    let resp = register(&http, &ep, body.clone()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    let resp = http
        .post(&ep.register)
        .bearer_auth("not-an-initial-access-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn registration_unavailable_once_answers_503_first_and_then_registers() {
    let (_server, http, ep) = started_with(Variant::RegistrationUnavailableOnce).await;
    let body = json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"});
    let first = register(&http, &ep, body.clone()).await;
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(first.headers()["retry-after"], "1");
    let second = register(&http, &ep, body).await;
    assert_eq!(second.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn no_dynamic_registration_neither_advertises_nor_serves_registration() {
    let (server, http, ep) = started_with(Variant::NoDynamicRegistration).await;
    assert!(ep.metadata.get("registration_endpoint").is_none());
    let body = json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"});
    let resp = http
        .post(server.state.urls.as_endpoint("register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn no_client_id_metadata_documents_neither_advertises_nor_fetches_them() {
    let (_server, http, ep) = started_with(Variant::NoClientIdMetadataDocuments).await;
    assert!(
        ep.metadata
            .get("client_id_metadata_document_supported")
            .is_none()
    );
    // A URL client_id is an unknown client: an error page, never a redirect.
    let mut url = Url::parse(&ep.authorize).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "https://client.example/metadata.json")
        .append_pair("redirect_uri", "https://client.example/callback")
        .append_pair("code_challenge", &"a".repeat(43))
        .append_pair("code_challenge_method", "S256");
    let resp = http.get(url.as_str()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
}
