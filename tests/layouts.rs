//! The suite against separately started reference servers in the layouts that move the
//! authorization server (its own origin, an issuer with a path, OpenID Connect discovery only),
//! with the profile in `fixtures/targets/reference-server.toml`.

use std::path::PathBuf;
use std::time::Duration;

use reference_server::{Config, Layout};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-oauth-conformance");

async fn run_against(layout: Layout) -> (Option<i32>, String, String) {
    let server = reference_server::start(Config {
        layout,
        access_token_ttl: Duration::from_secs(10),
        allow_loopback_http_client_ids: true,
        ..Config::default()
    })
    .await
    .expect("the reference server starts");
    let dir = std::env::temp_dir().join(format!(
        "mcp-oauth-conformance-layout-{}-{}",
        layout.name(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let report = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let profile: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "fixtures/targets/reference-server.toml",
    ]
    .iter()
    .collect();
    let out = tokio::process::Command::new(BIN)
        .args(["--target", &server.urls.mcp, "--config"])
        .arg(&profile)
        .args(["--spec", "2025-11-25", "--junit", &report("junit.xml")])
        .args([
            "--json",
            &report("cucumber.json"),
            "--results",
            &report("results.json"),
        ])
        .output()
        .await
        .expect("the runner runs");
    server.shutdown().await;
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap_or_default();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), xml, text)
}

#[tokio::test]
async fn the_suite_passes_in_every_layout_that_moves_the_authorization_server() {
    mcp_oauth_conformance::install_crypto_provider();
    let layouts = [Layout::Split, Layout::IssuerPath, Layout::OidcOnly];
    let runs = futures::future::join_all(layouts.iter().map(|l| run_against(*l))).await;
    for (layout, (code, xml, text)) in layouts.iter().zip(runs) {
        let name = layout.name();
        assert_eq!(code, Some(0), "{name}: {text}");
        assert!(
            !xml.contains("<failure") && !xml.contains("<error"),
            "{name}: {xml}"
        );
        // With the profile, the scope and expiry scenarios run instead of being skipped.
        for ran in ["SCOPE-03 ", "RS-06 "] {
            let case = xml
                .split("<testcase ")
                .find(|c| c.starts_with(&format!("name=\"{ran}")))
                .unwrap_or_default();
            assert!(!case.is_empty(), "{name}: {ran}is in the report");
            assert!(!case.contains("<skipped"), "{name}: {ran}ran: {case}");
        }
    }
}
