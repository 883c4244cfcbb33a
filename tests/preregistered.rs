//! A target without dynamic client registration, used through a client the profile names
//! (`[client] client_id`): the run passes, and the registration scenarios are skipped with the
//! reason.

use std::path::PathBuf;

use reference_server::config::{Config, PreRegisteredClient};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-oauth-conformance");
/// The runner's default redirect URI.
const REDIRECT: &str = "http://127.0.0.1:33418/callback";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mcp-oauth-conformance-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Each testcase of the JUnit report whose name starts with `prefix`, as its text.
fn testcases<'a>(xml: &'a str, prefix: &str) -> Vec<&'a str> {
    xml.split("<testcase ")
        .skip(1)
        .map(|case| case.split("</testcase>").next().unwrap_or(case))
        .filter(|case| case.starts_with(&format!("name=\"{prefix}")))
        .collect()
}

#[tokio::test]
async fn a_pre_registered_client_is_used_when_the_target_has_no_registration() {
    mcp_oauth_conformance::install_crypto_provider();
    let server = reference_server::start(Config {
        clients: vec![PreRegisteredClient::public("conformance-pre", &[REDIRECT])],
        no_dcr: true,
        ..Config::default()
    })
    .await
    .expect("reference server starts");
    let dir = scratch("preregistered");
    let profile = dir.join("profile.toml");
    std::fs::write(
        &profile,
        format!("[client]\nclient_id = \"conformance-pre\"\nredirect_uri = \"{REDIRECT}\"\n"),
    )
    .expect("write profile");
    let junit = dir.join("junit.xml");
    let out = tokio::process::Command::new(BIN)
        .arg("run")
        .args(["--target", &server.urls.mcp])
        .arg("--config")
        .arg(&profile)
        .args(["--spec", "2025-11-25"])
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(dir.join("cucumber.json"))
        .arg("--results")
        .arg(dir.join("results.json"))
        .output()
        .await
        .expect("the binary runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(!xml.contains("<error"), "{xml}");
    let dcr = testcases(&xml, "DCR-");
    assert!(!dcr.is_empty(), "DCR scenarios are reported");
    let mut for_want_of_an_endpoint = 0;
    for case in &dcr {
        assert!(case.contains("<skipped"), "skipped: {case}");
        if case.contains("do not apply to MCP") {
            continue;
        }
        assert!(case.contains("registration_endpoint"), "the reason: {case}");
        for_want_of_an_endpoint += 1;
    }
    assert!(for_want_of_an_endpoint > 0, "{dcr:?}");
    // The flows ran with the pre-registered client: a code-flow scenario passed.
    let code = testcases(&xml, "CODE-");
    assert!(
        code.iter().any(|c| !c.contains("<skipped")),
        "some CODE scenario ran: {code:?}"
    );
    // No client was registered: the server knows only the pre-registered one.
    assert!(
        !text.contains("could not run"),
        "no scenario lacked a client: {text}"
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
