//! Each login, consent, discovery and transport variant changes what the server does, as its
//! table entry says: the evidence that a clean self-test run under it met the shape.

mod common;

use common::{
    AuthRequest, Callback, Endpoints, cookie_of, http, initialize_body, location,
    login_and_consent, mcp_post, parse_form, register_public, start,
};
use reference_server::{Config, RunningServer, Variant, Variants};
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

async fn started(variant: Variant) -> (RunningServer, reqwest::Client, Endpoints) {
    let server = start(Config {
        variants: Variants::only(variant),
        ..Config::default()
    })
    .await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    (server, http, ep)
}

/// A valid authorization request of a freshly registered public client.
async fn request(server: &RunningServer, http: &reqwest::Client, ep: &Endpoints) -> AuthRequest {
    let client = register_public(http, ep).await;
    AuthRequest::new(&client.client_id, &server.urls.mcp)
}

/// GETs the login page and posts its form with the right credentials; returns the answer and
/// the URL it was posted to.
async fn post_login(http: &reqwest::Client, url: &str) -> (reqwest::Response, String) {
    let page = http.get(url).send().await.expect("login page");
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = cookie_of(page.headers());
    let html = page.text().await.expect("html");
    let form = parse_form(&html, url);
    let mut fields = form.fields.clone();
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), "wonderland".into()));
    let mut post = http.post(&form.action).form(&fields);
    if let Some(c) = cookie {
        post = post.header("cookie", c);
    }
    (post.send().await.expect("login POST"), form.action)
}

fn join(base: &str, location: &str) -> String {
    Url::parse(base)
        .and_then(|b| b.join(location))
        .expect("a URL")
        .to_string()
}

#[tokio::test]
async fn consent_remembered_skips_the_consent_page_for_a_returning_client_only() {
    let (server, http, ep) = started(Variant::ConsentRemembered).await;
    let req = request(&server, &http, &ep).await;
    let first = login_and_consent(&http, &req.url(&ep.authorize), "alice", "wonderland").await;
    assert!(
        first.get("code").is_some(),
        "the first time asks and approves"
    );

    // The same client again: login, then straight back with a code.
    let (resp, action) = post_login(&http, &req.url(&ep.authorize)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_of(resp.headers()).expect("session");
    let consent = join(&action, &location(&resp));
    let resp = http
        .get(&consent)
        .header("cookie", &cookie)
        .send()
        .await
        .expect("consent");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "no consent page");
    let cb = Callback::parse(&location(&resp));
    assert!(cb.get("code").is_some());
    assert_eq!(cb.get("state"), Some("st-1234"));

    // A wider scope is asked for again.
    let wider = req.clone().set("scope", "mcp:read mcp:write");
    let (resp, action) = post_login(&http, &wider.url(&ep.authorize)).await;
    let cookie = cookie_of(resp.headers()).expect("session");
    let resp = http
        .get(join(&action, &location(&resp)))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("consent");
    assert_eq!(resp.status(), StatusCode::OK, "the consent page again");
}

#[tokio::test]
async fn login_continue_page_comes_between_login_and_consent() {
    let (server, http, ep) = started(Variant::LoginContinuePage).await;
    let req = request(&server, &http, &ep).await;
    let (resp, action) = post_login(&http, &req.url(&ep.authorize)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_of(resp.headers()).expect("session");
    let interstitial = join(&action, &location(&resp));
    assert!(interstitial.contains("/signed-in?"), "{interstitial}");
    let resp = http
        .get(&interstitial)
        .header("cookie", &cookie)
        .send()
        .await
        .expect("page");
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.expect("html");
    assert!(html.contains(">Continue</button>"), "{html}");
    assert!(!html.contains("type=\"password\""), "{html}");
    let form = parse_form(&html, &interstitial);
    let mut next = Url::parse(&form.action).expect("action");
    next.query_pairs_mut().extend_pairs(&form.fields);
    let resp = http
        .get(next.as_str())
        .header("cookie", &cookie)
        .send()
        .await
        .expect("consent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.text()
            .await
            .expect("html")
            .contains("Authorize access")
    );
}

#[tokio::test]
async fn login_302_answers_the_login_post_with_302() {
    let (server, http, ep) = started(Variant::Login302).await;
    let req = request(&server, &http, &ep).await;
    let (resp, _) = post_login(&http, &req.url(&ep.authorize)).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(location(&resp).contains("/consent?txn="));
}

#[tokio::test]
async fn login_hidden_inputs_must_come_back_with_their_cookie() {
    let (server, http, ep) = started(Variant::LoginHiddenInputs).await;
    let req = request(&server, &http, &ep).await;
    let url = req.url(&ep.authorize);
    let page = http.get(&url).send().await.expect("login page");
    let cookie = cookie_of(page.headers()).expect("the form token's cookie");
    let html = page.text().await.expect("html");
    let form = parse_form(&html, &url);
    let names: Vec<&str> = form.fields.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"form_id") && names.contains(&"login_csrf"),
        "{names:?}"
    );
    let credentials = |fields: &[(String, String)]| {
        let mut f = fields.to_vec();
        f.push(("username".into(), "alice".into()));
        f.push(("password".into(), "wonderland".into()));
        f
    };
    // Without the hidden inputs, or without the cookie, the login is refused.
    let txn_only: Vec<(String, String)> = form
        .fields
        .iter()
        .filter(|(n, _)| n == "txn")
        .cloned()
        .collect();
    let resp = http
        .post(&form.action)
        .header("cookie", &cookie)
        .form(&credentials(&txn_only))
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = http
        .post(&form.action)
        .form(&credentials(&form.fields))
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = http
        .post(&form.action)
        .header("cookie", &cookie)
        .form(&credentials(&form.fields))
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_needs_scripts_refuses_the_native_post_and_wires_the_form_by_script() {
    let (server, http, ep) = started(Variant::LoginNeedsScripts).await;
    let req = request(&server, &http, &ep).await;
    let url = req.url(&ep.authorize);
    let page = http.get(&url).send().await.expect("login page");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.expect("html");
    let doc = scraper::Html::parse_document(&html);
    let form_sel = scraper::Selector::parse("form").expect("selector");
    let form = doc.select(&form_sel).next().expect("a form in the HTML");
    assert!(form.value().attr("action").is_none(), "{html}");
    let action = form.value().attr("data-action").expect("data-action");
    let script_sel = scraper::Selector::parse("script[src]").expect("selector");
    let src = doc
        .select(&script_sel)
        .next()
        .and_then(|s| s.value().attr("src"))
        .expect("a script");
    let js = http.get(join(&url, src)).send().await.expect("script");
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.text().await.expect("js").contains("data-action"));

    // A native submission goes to the page's own URL, which takes no POST.
    let parsed = parse_form(&html, &url);
    let mut fields = parsed.fields.clone();
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), "wonderland".into()));
    let native = http.post(&url).form(&fields).send().await.expect("POST");
    assert_eq!(native.status(), StatusCode::METHOD_NOT_ALLOWED);
    // The action the script sets takes it.
    let scripted = http
        .post(join(&url, action))
        .form(&fields)
        .send()
        .await
        .expect("POST");
    assert_eq!(scripted.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn issuer_trailing_slash_is_the_issuer_everywhere_and_metadata_stays_at_the_root() {
    let (server, http, ep) = started(Variant::IssuerTrailingSlash).await;
    let origin = server.urls.mcp.trim_end_matches("/mcp").to_string();
    let issuer = format!("{origin}/");
    assert_eq!(ep.issuer, issuer);
    assert_eq!(
        server.urls.as_metadata,
        format!("{origin}/.well-known/oauth-authorization-server")
    );
    let prm: Value = http
        .get(format!("{origin}/.well-known/oauth-protected-resource/mcp"))
        .send()
        .await
        .expect("PRM")
        .json()
        .await
        .expect("json");
    assert_eq!(prm["authorization_servers"], json!([issuer]));
    let req = request(&server, &http, &ep).await;
    let cb = login_and_consent(&http, &req.url(&ep.authorize), "alice", "wonderland").await;
    assert_eq!(cb.get("iss"), Some(issuer.as_str()));
}

#[tokio::test]
async fn no_iss_parameter_leaves_iss_out_of_responses_and_metadata() {
    let (server, http, ep) = started(Variant::NoIssParameter).await;
    assert!(
        ep.metadata
            .get("authorization_response_iss_parameter_supported")
            .is_none()
    );
    let req = request(&server, &http, &ep).await;
    let cb = login_and_consent(&http, &req.url(&ep.authorize), "alice", "wonderland").await;
    assert!(cb.get("code").is_some());
    assert_eq!(cb.get("iss"), None);
}

async fn token(variant: Variant) -> (common::Session, String) {
    let s = common::logged_in(Config {
        variants: Variants::only(variant),
        ..Config::default()
    })
    .await;
    let t = s.access_token().to_string();
    (s, t)
}

#[tokio::test]
async fn mcp_sse_responses_frames_answers_as_event_streams() {
    let (s, t) = token(Variant::McpSseResponses).await;
    let resp = mcp_post(
        &s.http,
        &s.server.urls.mcp,
        Some(&t),
        None,
        initialize_body(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = resp.text().await.expect("body");
    assert!(body.starts_with("event: message\ndata: {"), "{body}");
    // A client that accepts only JSON still gets JSON.
    let resp = s
        .http
        .post(&s.server.urls.mcp)
        .bearer_auth(&t)
        .header("accept", "application/json")
        .json(&initialize_body())
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn mcp_no_session_assigns_none_and_answers_without_one() {
    let (s, t) = token(Variant::McpNoSession).await;
    let resp = mcp_post(
        &s.http,
        &s.server.urls.mcp,
        Some(&t),
        None,
        initialize_body(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("mcp-session-id").is_none());
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let resp = mcp_post(&s.http, &s.server.urls.mcp, Some(&t), None, list).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["result"]["tools"][0]["name"], "whoami");
}

#[tokio::test]
async fn login_other_origin_sends_the_user_to_a_login_page_on_localhost() {
    let (server, http, ep) = started(Variant::LoginOtherOrigin).await;
    let req = request(&server, &http, &ep).await;
    let resp = http
        .get(req.url(&ep.authorize))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let login = Url::parse(&location(&resp)).expect("absolute login URL");
    let authorize = Url::parse(&ep.authorize).expect("authorize URL");
    assert_eq!(login.host_str(), Some(Variant::OTHER_LOGIN_HOST));
    assert_eq!(login.port(), authorize.port());
    assert_ne!(login.origin(), authorize.origin());
    let (resp, action) = post_login(&http, login.as_str()).await;
    assert!(action.starts_with("http://localhost:"), "{action}");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let consent = join(&action, &location(&resp));
    assert!(consent.starts_with("http://localhost:"), "{consent}");
    assert!(consent.contains("/consent?txn="), "{consent}");
}

#[tokio::test]
async fn prm_root_only_serves_the_metadata_at_the_root_and_names_it_in_the_challenge() {
    let (server, http, _) = started(Variant::PrmRootOnly).await;
    let mcp = Url::parse(&server.urls.mcp).expect("mcp URL");
    let origin = mcp.origin().ascii_serialization();
    let root = format!("{origin}/.well-known/oauth-protected-resource");
    let inserted = format!("{root}{}", mcp.path());
    let resp = http.get(&root).send().await.expect("root PRM");
    assert_eq!(resp.status(), StatusCode::OK);
    let doc: Value = resp.json().await.expect("json");
    assert_eq!(doc["resource"], server.urls.mcp.as_str());
    let resp = http.get(&inserted).send().await.expect("inserted PRM");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = http
        .post(&server.urls.mcp)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .expect("mcp");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = resp.headers()["www-authenticate"].to_str().expect("ascii");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{root}\"")),
        "{challenge}"
    );
}
