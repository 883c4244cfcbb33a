//! `--tls`: every listener serves HTTPS with a certificate signed by a CA made at start; the CA
//! certificate is written to a file the ready line names, and clients that trust it get through.

mod common;

use common::*;
use reference_server::{Config, Layout};
use reqwest::StatusCode;
use serde_json::Value;

/// A client trusting the CA in `pem` (and, as always, the system's roots).
fn trusting(pem: &[u8]) -> reqwest::Client {
    reference_server::install_crypto_provider();
    let certs = reqwest::Certificate::from_pem_bundle(pem).expect("the CA file is PEM");
    assert_eq!(certs.len(), 1, "one CA certificate");
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_merge(certs)
        .build()
        .expect("client builds")
}

fn plain_client() -> reqwest::Client {
    reference_server::install_crypto_provider();
    reqwest::Client::builder().build().expect("client builds")
}

/// The whole error chain, for matching on what went wrong.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "reference-server-test-{}-{nanos}-{name}",
        std::process::id()
    ))
}

#[tokio::test]
async fn tls_serves_https_with_a_ca_the_ready_line_names() {
    let (child, urls) = spawn(&["--tls", "--port", "0"]);
    for k in ["mcp", "mcp_alt", "issuer", "as_metadata", "prm"] {
        let v = urls[k].as_str().unwrap_or_else(|| panic!("{k} is printed"));
        assert!(v.starts_with("https://127.0.0.1:"), "{k} is https: {v}");
    }
    let ca = urls["ca_cert"].as_str().expect("ca_cert is printed");
    let ca_path = std::path::Path::new(ca);
    assert!(ca_path.is_absolute(), "{ca}");
    let pem = std::fs::read(ca_path).expect("the CA file exists");
    let text = String::from_utf8_lossy(&pem);
    assert!(text.contains("BEGIN CERTIFICATE"), "{text}");
    assert!(!text.contains("PRIVATE KEY"), "no key in the CA file");

    let http = trusting(&pem);
    let as_metadata = urls["as_metadata"].as_str().unwrap();
    let resp = http.get(as_metadata).send().await.expect("answered");
    assert_eq!(resp.status(), StatusCode::OK);
    let meta: Value = resp.json().await.expect("JSON");
    assert_eq!(meta["issuer"], urls["issuer"]);
    for k in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "registration_endpoint",
        "revocation_endpoint",
        "jwks_uri",
    ] {
        let v = meta[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} in metadata"));
        assert!(v.starts_with("https://127.0.0.1:"), "{k}: {v}");
    }
    let prm: Value = http
        .get(urls["prm"].as_str().unwrap())
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert_eq!(prm["resource"], urls["mcp"]);
    assert_eq!(prm["authorization_servers"][0], urls["issuer"]);

    // The certificate also names localhost.
    let via_name = as_metadata.replace("https://127.0.0.1:", "https://localhost:");
    let resp = http.get(&via_name).send().await.expect("localhost works");
    assert_eq!(resp.status(), StatusCode::OK);

    // Without the CA: a certificate error.
    let err = plain_client()
        .get(as_metadata)
        .send()
        .await
        .expect_err("an unknown CA is refused");
    let msg = chain(&err);
    assert!(
        msg.to_lowercase().contains("certificate"),
        "a certificate error: {msg}"
    );
    // Plain HTTP on the TLS port gets nowhere.
    let plain = as_metadata.replace("https://", "http://");
    let answered = plain_client()
        .get(&plain)
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false);
    assert!(!answered, "plain http is not served on the TLS port");
    stop(child);
    // Killed, the server cannot remove its temp CA file itself.
    let _ = std::fs::remove_file(ca_path);
}

#[tokio::test]
async fn tls_split_layout_serves_both_origins_over_https() {
    let ca_out = temp_path("split-ca.pem");
    let ca_arg = ca_out.to_string_lossy().into_owned();
    let (child, urls) = spawn(&[
        "--tls", "--port", "0", "--layout", "split", "--ca-out", &ca_arg,
    ]);
    assert_eq!(urls["ca_cert"].as_str(), Some(ca_arg.as_str()));
    let mcp = url::Url::parse(urls["mcp"].as_str().unwrap()).unwrap();
    let issuer = url::Url::parse(urls["issuer"].as_str().unwrap()).unwrap();
    assert_eq!(mcp.scheme(), "https");
    assert_eq!(issuer.scheme(), "https");
    assert_ne!(mcp.port(), issuer.port());
    let pem = std::fs::read(&ca_out).expect("the CA file is written where asked");
    let http = trusting(&pem);
    let meta: Value = http
        .get(urls["as_metadata"].as_str().unwrap())
        .send()
        .await
        .expect("the AS origin answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(meta["issuer"], urls["issuer"]);
    let prm: Value = http
        .get(urls["prm"].as_str().unwrap())
        .send()
        .await
        .expect("the MCP origin answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(prm["authorization_servers"][0], urls["issuer"]);
    stop(child);
    let _ = std::fs::remove_file(&ca_out);
}

#[tokio::test]
async fn the_whole_flow_works_over_https_in_process() {
    let server = reference_server::start(Config {
        tls: true,
        layout: Layout::Split,
        ..Config::default()
    })
    .await
    .expect("server starts");
    let ca_file = server.urls.ca_cert.clone().expect("ca_cert in the URLs");
    let pem = server.ca_cert_pem.clone().expect("the CA PEM");
    assert_eq!(std::fs::read_to_string(&ca_file).expect("written"), pem);
    let http = trusting(pem.as_bytes());
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    assert!(ep.authorize.starts_with("https://"), "{}", ep.authorize);
    let client = register_public(&http, &ep).await;
    let req = AuthRequest::new(&client.client_id, &server.urls.mcp);

    // The session cookie is Secure over https.
    let page = http.get(req.url(&ep.authorize)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let form = parse_form(&page.text().await.unwrap(), &ep.authorize);
    let mut fields = form.fields.clone();
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), "wonderland".into()));
    let resp = http.post(&form.action).form(&fields).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");

    let code = code_for(&http, &ep, &req).await;
    let (status, _, tokens) = exchange(&http, &ep, &client, &code, &server.urls.mcp).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let resp = mcp_post(
        &http,
        &server.urls.mcp,
        tokens["access_token"].as_str(),
        None,
        initialize_body(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);

    server.shutdown().await;
    assert!(
        !std::path::Path::new(&ca_file).exists(),
        "the temp CA file is removed at shutdown"
    );
}

#[tokio::test]
async fn servers_side_by_side_get_their_own_ca_files() {
    let a = reference_server::start(Config {
        tls: true,
        ..Config::default()
    })
    .await
    .expect("starts");
    let b = reference_server::start(Config {
        tls: true,
        ..Config::default()
    })
    .await
    .expect("starts");
    assert_ne!(a.urls.ca_cert, b.urls.ca_cert);
    assert_ne!(a.ca_cert_pem, b.ca_cert_pem, "a fresh CA each start");
    // A client trusting a's CA does not trust b.
    let http = trusting(a.ca_cert_pem.as_deref().unwrap().as_bytes());
    assert!(http.get(&a.urls.as_metadata).send().await.is_ok());
    assert!(http.get(&b.urls.as_metadata).send().await.is_err());
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn plain_http_has_no_ca_cert() {
    let server = start(Config::default()).await;
    assert!(server.urls.mcp.starts_with("http://"));
    assert_eq!(server.urls.ca_cert, None);
    assert_eq!(server.ca_cert_pem, None);
    let line = serde_json::to_value(&server.urls).unwrap();
    assert!(line.get("ca_cert").is_none(), "{line}");
    server.shutdown().await;
}

#[test]
fn ca_out_without_tls_is_a_usage_error() {
    let out = bin()
        .args(["--port", "0", "--ca-out", "/tmp/x.pem"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tls"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unwritable_ca_out_is_a_clear_error() {
    let out = bin()
        .args([
            "--port",
            "0",
            "--tls",
            "--ca-out",
            "/no/such/dir/reference-server-ca.pem",
        ])
        .env("RUST_LOG", "off")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot write the CA certificate to /no/such/dir/reference-server-ca.pem"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "no ready line");
}

#[tokio::test]
async fn ca_out_without_tls_is_refused_in_process() {
    let r = reference_server::start(Config {
        ca_out: Some(temp_path("never.pem")),
        ..Config::default()
    })
    .await;
    let Err(e) = r else {
        panic!("start must refuse ca_out without tls")
    };
    assert!(e.to_string().contains("TLS"), "{e}");
}
