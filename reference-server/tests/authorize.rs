//! The authorization endpoint, login and consent: AUTHZ-*, PKCE-01..05, RES-01..05, SCOPE-08.

mod common;

use common::*;
use reference_server::Config;
use reqwest::StatusCode;

struct Ctx {
    server: reference_server::RunningServer,
    http: reqwest::Client,
    ep: Endpoints,
    client: TestClient,
}

async fn ctx() -> Ctx {
    let server = start(Config::default()).await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    let client = register_public(&http, &ep).await;
    Ctx {
        server,
        http,
        ep,
        client,
    }
}

impl Ctx {
    fn req(&self) -> AuthRequest {
        AuthRequest::new(&self.client.client_id, &self.server.urls.mcp)
    }
    async fn get(&self, req: &AuthRequest) -> reqwest::Response {
        self.http
            .get(req.url(&self.ep.authorize))
            .send()
            .await
            .unwrap()
    }
    /// The request is refused on a page: no redirect at all (AUTHZ-04).
    async fn assert_no_redirect(&self, req: &AuthRequest, why: &str) {
        let resp = self.get(req).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{why}");
        assert!(
            resp.headers().get("location").is_none(),
            "{why}: must not redirect"
        );
        assert_eq!(resp.headers()["x-frame-options"], "DENY");
    }
    /// The request is answered with an error redirect to the registered URI, with state and iss.
    async fn assert_redirect_error(&self, req: &AuthRequest, error: &str, why: &str) -> Callback {
        let resp = self.get(req).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{why}");
        let cb = Callback::parse(&location(&resp));
        assert!(
            cb.url.as_str().starts_with(REDIRECT),
            "{why}: to the registered URI"
        );
        assert_eq!(cb.get("error"), Some(error), "{why}");
        assert_eq!(
            cb.get("iss"),
            Some(self.ep.issuer.as_str()),
            "{why}: AUTHZ-14 iss"
        );
        assert!(cb.get("code").is_none(), "{why}: no code");
        cb
    }
}

#[tokio::test]
async fn authz_01_a_valid_get_shows_the_login_form() {
    let c = ctx().await;
    let resp = c.get(&c.req()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("type=\"password\""));
}

#[tokio::test]
async fn authz_02_redirect_uri_variants_are_never_redirected_to() {
    let c = ctx().await;
    for variant in [
        "http://127.0.0.1:49152/callback/extra",
        "http://127.0.0.1:49152/callback/",
        "http://127.0.0.1:49152/callback?a=1",
        "http://127.0.0.1:49152/Callback",
        "http://localhost:49152/callback",
        "https://127.0.0.1:49152/callback",
        "https://attacker.example/cb",
        "http://127.0.0.1:49152/callback#frag",
    ] {
        c.assert_no_redirect(&c.req().set("redirect_uri", variant), variant)
            .await;
    }
}

#[tokio::test]
async fn authz_03_loopback_ip_redirect_uris_may_use_another_port() {
    let c = ctx().await;
    let other = "http://127.0.0.1:50000/callback";
    let cb = login_and_consent(
        &c.http,
        &c.req().set("redirect_uri", other).url(&c.ep.authorize),
        "alice",
        "wonderland",
    )
    .await;
    assert!(cb.url.as_str().starts_with(other));
    assert!(cb.get("code").is_some());
}

#[tokio::test]
async fn authz_04_unknown_or_missing_client_and_ambiguous_redirect_are_not_redirected() {
    let c = ctx().await;
    c.assert_no_redirect(
        &c.req().set("client_id", "no-such-client"),
        "unknown client",
    )
    .await;
    c.assert_no_redirect(&c.req().omit("client_id"), "no client")
        .await;
    c.assert_no_redirect(&c.req().add("client_id", "x"), "client_id twice")
        .await;
    // A client with two redirect URIs must name one.
    let resp = register(
        &c.http,
        &c.ep,
        serde_json::json!({"redirect_uris": [REDIRECT, "http://127.0.0.1:1/other"], "token_endpoint_auth_method": "none"}),
    )
    .await;
    let two: serde_json::Value = resp.json().await.unwrap();
    let req = AuthRequest::new(two["client_id"].as_str().unwrap(), &c.server.urls.mcp)
        .omit("redirect_uri");
    c.assert_no_redirect(&req, "two registered, none sent")
        .await;
    // With a single registered URI, it may be left out.
    let resp = c.get(&c.req().omit("redirect_uri")).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn authz_05_06_response_type_errors() {
    let c = ctx().await;
    c.assert_redirect_error(&c.req().omit("response_type"), "invalid_request", "missing")
        .await;
    let cb = c
        .assert_redirect_error(
            &c.req().set("response_type", "token"),
            "unsupported_response_type",
            "token",
        )
        .await;
    assert!(!cb.url.as_str().contains("access_token"));
    c.assert_redirect_error(
        &c.req().set("response_type", "foo"),
        "unsupported_response_type",
        "foo",
    )
    .await;
}

#[tokio::test]
async fn authz_07_repeated_parameters_are_invalid_request() {
    let c = ctx().await;
    let cb = c
        .assert_redirect_error(
            &c.req().add("state", "again"),
            "invalid_request",
            "state twice",
        )
        .await;
    assert_eq!(cb.get("state"), None, "an ambiguous state is not echoed");
    let ch = challenge(VERIFIER);
    c.assert_redirect_error(
        &c.req().add("code_challenge", &ch),
        "invalid_request",
        "challenge twice",
    )
    .await;
}

#[tokio::test]
async fn authz_08_empty_parameters_count_as_absent() {
    let c = ctx().await;
    c.assert_redirect_error(
        &c.req().set("code_challenge", ""),
        "invalid_request",
        "empty challenge",
    )
    .await;
}

#[tokio::test]
async fn authz_09_unknown_parameters_are_ignored() {
    let c = ctx().await;
    let resp = c.get(&c.req().add("harness_x", "1")).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn authz_10_no_cors() {
    let c = ctx().await;
    let resp = c
        .http
        .get(c.req().url(&c.ep.authorize))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let resp = c
        .http
        .request(reqwest::Method::OPTIONS, &c.ep.authorize)
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn authz_11_state_is_returned_byte_exact_on_success_and_error() {
    let c = ctx().await;
    let state = "a%b+c~d e/f?g=h&i".repeat(4);
    let cb = c
        .assert_redirect_error(
            &c.req().set("state", &state).omit("code_challenge"),
            "invalid_request",
            "error",
        )
        .await;
    assert_eq!(cb.get("state"), Some(state.as_str()));
    let cb = login_and_consent(
        &c.http,
        &c.req().set("state", &state).url(&c.ep.authorize),
        "alice",
        "wonderland",
    )
    .await;
    assert_eq!(cb.get("state"), Some(state.as_str()));
    assert!(cb.get("code").is_some());
}

#[tokio::test]
async fn authz_12_14_15_success_has_one_code_state_and_iss_and_no_challenge() {
    let c = ctx().await;
    let cb = login_and_consent(
        &c.http,
        &c.req().url(&c.ep.authorize),
        "alice",
        "wonderland",
    )
    .await;
    let pairs: Vec<_> = cb.url.query_pairs().collect();
    for k in ["code", "state", "iss"] {
        assert_eq!(pairs.iter().filter(|(n, _)| n == k).count(), 1, "{k} once");
    }
    assert!(cb.get("error").is_none());
    assert_eq!(cb.get("iss"), Some(c.ep.issuer.as_str()));
    assert!(!cb.url.as_str().contains(&challenge(VERIFIER)), "AUTHZ-15");
}

#[tokio::test]
async fn pkce_01_to_05_challenge_errors() {
    let c = ctx().await;
    c.assert_redirect_error(
        &c.req().omit("code_challenge").omit("code_challenge_method"),
        "invalid_request",
        "PKCE-01",
    )
    .await;
    for m in ["S512", "s256", "none", "plain"] {
        c.assert_redirect_error(
            &c.req().set("code_challenge_method", m),
            "invalid_request",
            m,
        )
        .await;
    }
    c.assert_redirect_error(
        &c.req().omit("code_challenge_method"),
        "invalid_request",
        "PKCE-04 default plain",
    )
    .await;
    for bad in [
        "a".repeat(42),
        "a".repeat(129),
        format!("{}+", "a".repeat(43)),
        format!("{}/", "a".repeat(43)),
        format!("{}=", "a".repeat(43)),
    ] {
        c.assert_redirect_error(
            &c.req().set("code_challenge", &bad),
            "invalid_request",
            &bad,
        )
        .await;
    }
}

#[tokio::test]
async fn scope_08_unknown_scope_is_invalid_scope() {
    let c = ctx().await;
    let cb = c
        .assert_redirect_error(
            &c.req().set("scope", "harness-nonexistent"),
            "invalid_scope",
            "unknown scope",
        )
        .await;
    assert_eq!(cb.get("state"), Some("st-1234"));
}

#[tokio::test]
async fn res_01_to_04_resource_checks() {
    let c = ctx().await;
    for bad in [
        "mcp.example.com",
        "https://h/mcp#x",
        "https://unknown.example/",
    ] {
        c.assert_redirect_error(&c.req().set("resource", bad), "invalid_target", bad)
            .await;
    }
    let two = c.req().add("resource", &c.server.urls.mcp_alt);
    c.assert_redirect_error(&two, "invalid_target", "two resources")
        .await;
    // RES-07: uppercase scheme and host are the same resource.
    let upper = c.server.urls.mcp.replacen("http://", "HTTP://", 1);
    assert_eq!(
        c.get(&c.req().set("resource", &upper)).await.status(),
        StatusCode::OK
    );
    // RES-05: without resource the request proceeds (default audience).
    assert_eq!(
        c.get(&c.req().omit("resource")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_password_shows_the_form_again_and_issues_nothing() {
    let c = ctx().await;
    let resp = c.get(&c.req()).await;
    let url = c.req().url(&c.ep.authorize);
    let form = parse_form(&resp.text().await.unwrap(), &url);
    let mut fields = form.fields.clone();
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), "wrong".into()));
    let resp = c
        .http
        .post(&form.action)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("set-cookie").is_none());
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Invalid username or password")
    );
}

#[tokio::test]
async fn consent_is_csrf_protected_and_shows_what_is_granted() {
    let c = ctx().await;
    let url = c
        .req()
        .set("scope", "mcp:read mcp:write")
        .url(&c.ep.authorize);
    let page = c.http.get(&url).send().await.unwrap().text().await.unwrap();
    let form = parse_form(&page, &url);
    let mut fields = form.fields.clone();
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), "wonderland".into()));
    let resp = c
        .http
        .post(&form.action)
        .form(&fields)
        .send()
        .await
        .unwrap();
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite"),
        "{set_cookie}"
    );
    let cookie = cookie_of(resp.headers()).unwrap();
    let consent_url = url::Url::parse(&form.action)
        .unwrap()
        .join(&location(&resp))
        .unwrap()
        .to_string();

    // Without the session cookie the consent page is refused.
    let resp = c.http.get(&consent_url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let resp = c
        .http
        .get(&consent_url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    let html = resp.text().await.unwrap();
    assert!(html.contains("reference-server tests"), "client name");
    assert!(html.contains("127.0.0.1"), "redirect host");
    assert!(html.contains("localhost"), "loopback warning");
    assert!(
        html.contains("mcp:write") && html.contains(&c.server.urls.mcp),
        "scopes and resource"
    );
    let form = parse_form(&html, &consent_url);

    // A forged CSRF token is refused and issues nothing.
    let forged: Vec<(String, String)> = form
        .fields
        .iter()
        .map(|(k, v)| {
            if k == "csrf" {
                (k.clone(), "forged".into())
            } else {
                (k.clone(), v.clone())
            }
        })
        .chain([("decision".to_string(), "approve".to_string())])
        .collect();
    let resp = c
        .http
        .post(&form.action)
        .header("cookie", &cookie)
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get("location").is_none());

    // Deny gives access_denied.
    let mut deny = form.fields.clone();
    deny.push(("decision".into(), "deny".into()));
    let resp = c
        .http
        .post(&form.action)
        .header("cookie", &cookie)
        .form(&deny)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cb = Callback::parse(&location(&resp));
    assert_eq!(cb.get("error"), Some("access_denied"));
    assert_eq!(cb.get("state"), Some("st-1234"));

    // The pending request was used up.
    let mut again = form.fields.clone();
    again.push(("decision".into(), "approve".into()));
    let resp = c
        .http
        .post(&form.action)
        .header("cookie", &cookie)
        .form(&again)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("location").is_none());
}

#[tokio::test]
async fn a_logged_in_session_goes_straight_to_consent() {
    let c = ctx().await;
    let url = c.req().url(&c.ep.authorize);
    let page = c.http.get(&url).send().await.unwrap().text().await.unwrap();
    let form = parse_form(&page, &url);
    let mut fields = form.fields.clone();
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), "wonderland".into()));
    let resp = c
        .http
        .post(&form.action)
        .form(&fields)
        .send()
        .await
        .unwrap();
    let cookie = cookie_of(resp.headers()).unwrap();
    let resp = c
        .http
        .get(&url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).contains("consent"));
}

#[tokio::test]
async fn custom_credentials_replace_the_default_user() {
    let server = start(Config {
        username: "bob".into(),
        password: "builder".into(),
        ..Config::default()
    })
    .await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    let client = register_public(&http, &ep).await;
    let req = AuthRequest::new(&client.client_id, &server.urls.mcp);
    let cb = login_and_consent(&http, &req.url(&ep.authorize), "bob", "builder").await;
    assert!(cb.get("code").is_some());
}
