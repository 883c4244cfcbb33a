//! `--login-page js`: the login page has no form in its HTML; a script served next to the login
//! endpoint builds the same form, and posting it works as for the HTML page.

mod common;

use common::*;
use reference_server::{Config, Layout, LoginPage};
use reqwest::StatusCode;

struct Ctx {
    server: reference_server::RunningServer,
    http: reqwest::Client,
    ep: Endpoints,
    client: TestClient,
}

async fn ctx(layout: Layout) -> Ctx {
    let server = start(Config {
        layout,
        login_page: LoginPage::Js,
        ..Config::default()
    })
    .await;
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

/// What the page hands the script: the `#login` element's data attributes and the script URL.
struct ScriptPage {
    action: String,
    txn: String,
    client_name: String,
    error: String,
    script: String,
}

fn read_script_page(html: &str, base: &str) -> ScriptPage {
    assert!(!html.to_lowercase().contains("<form"), "no form: {html}");
    assert!(html.contains("<noscript>"), "a noscript message: {html}");
    assert!(html.contains("needs JavaScript"), "{html}");
    let doc = scraper::Html::parse_document(html);
    let root_sel = scraper::Selector::parse("#login").unwrap();
    let script_sel = scraper::Selector::parse("script[src]").unwrap();
    let root = doc.select(&root_sel).next().expect("a #login element");
    let data = |k: &str| {
        root.value()
            .attr(k)
            .unwrap_or_else(|| panic!("{k} on #login"))
            .to_string()
    };
    let base = url::Url::parse(base).unwrap();
    let script = doc.select(&script_sel).next().expect("a script tag");
    ScriptPage {
        action: base.join(&data("data-action")).unwrap().to_string(),
        txn: data("data-txn"),
        client_name: data("data-client-name"),
        error: data("data-error"),
        script: base
            .join(script.value().attr("src").unwrap())
            .unwrap()
            .to_string(),
    }
}

async fn login_page(c: &Ctx) -> (reqwest::Response, String) {
    let url = AuthRequest::new(&c.client.client_id, &c.server.urls.mcp).url(&c.ep.authorize);
    let resp = c.http.get(&url).send().await.unwrap();
    (resp, url)
}

#[tokio::test]
async fn the_login_page_has_no_form_and_loads_a_script_its_policy_allows() {
    let c = ctx(Layout::SameOrigin).await;
    let (resp, url) = login_page(&c).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.text().await.unwrap();
    let page = read_script_page(&html, &url);
    assert_eq!(page.client_name, "reference-server tests");
    assert!(!page.txn.is_empty());
    assert_eq!(page.error, "");
    assert!(page.action.ends_with("/oauth2/login"), "{}", page.action);
    assert_eq!(
        page.script,
        format!("{}/oauth2/login.js", c.ep.issuer),
        "the script sits next to the login endpoint"
    );

    let resp = c.http.get(&page.script).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/javascript"), "{ct}");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let js = resp.text().await.unwrap();
    for needle in [
        "createElement",
        "\"form\"",
        "\"post\"",
        "\"txn\"",
        "\"username\"",
        "\"password\"",
        "\"submit\"",
        "Sign in",
        "DOMContentLoaded",
        "setTimeout",
        "data-ready",
    ] {
        assert!(js.contains(needle), "login.js contains {needle}");
    }
}

#[tokio::test]
async fn posting_the_script_built_form_signs_in_as_the_html_form_does() {
    let c = ctx(Layout::SameOrigin).await;
    let (resp, url) = login_page(&c).await;
    let page = read_script_page(&resp.text().await.unwrap(), &url);

    let sign_in = |password: &'static str| {
        c.http
            .post(&page.action)
            .form(&[
                ("txn", page.txn.as_str()),
                ("username", "alice"),
                ("password", password),
            ])
            .send()
    };
    // A wrong password: the script page again, with the error for the script to show.
    let resp = sign_in("wrong").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("set-cookie").is_none());
    let again = read_script_page(&resp.text().await.unwrap(), &url);
    assert_eq!(again.error, "Invalid username or password.");
    assert_eq!(again.txn, page.txn);

    let resp = sign_in("wonderland").await.unwrap();
    let (consent_headers, cb) = consent_after_login(&c.http, &page.action, resp).await;
    let csp = consent_headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    // The consent page is still a plain HTML form.
    assert!(!csp.contains("script-src"), "consent stays plain: {csp}");
    let code = cb.get("code").expect("a code").to_string();
    let (status, _, tokens) = exchange(&c.http, &c.ep, &c.client, &code, &c.server.urls.mcp).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

#[tokio::test]
async fn the_script_follows_the_endpoint_prefix_of_the_layout() {
    for (layout, path) in [
        (Layout::IssuerPath, "/tenant1/oauth2/login.js"),
        (Layout::Legacy20250326, "/login.js"),
        (Layout::Split, "/oauth2/login.js"),
    ] {
        let c = ctx(layout).await;
        let (resp, url) = login_page(&c).await;
        let page = read_script_page(&resp.text().await.unwrap(), &url);
        assert_eq!(url::Url::parse(&page.script).unwrap().path(), path);
        let resp = c.http.get(&page.script).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{layout:?}");
        c.server.shutdown().await;
    }
}

#[tokio::test]
async fn the_html_login_page_serves_no_script() {
    let server = start(Config::default()).await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    let client = register_public(&http, &ep).await;
    let url = AuthRequest::new(&client.client_id, &server.urls.mcp).url(&ep.authorize);
    let resp = http.get(&url).send().await.unwrap();
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!csp.contains("script-src"), "{csp}");
    let html = resp.text().await.unwrap();
    assert!(html.contains("<form"));
    assert!(!html.contains("<script"));
    let resp = http
        .get(format!("{}/oauth2/login.js", ep.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_flag_selects_the_script_page() {
    let (child, urls) = spawn(&["--port", "0", "--login-page", "js"]);
    let http = http();
    let resp = http
        .get(format!(
            "{}/oauth2/login.js",
            urls["issuer"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("createElement"));
    stop(child);
}

#[test]
fn an_unknown_login_page_is_a_usage_error() {
    let out = bin().args(["--login-page", "nope"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value 'nope'"), "{err}");
    assert!(err.contains("html") && err.contains("js"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
