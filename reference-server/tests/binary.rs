//! The `reference-server` binary: one JSON line naming its URLs, then it serves until killed.

mod common;

use common::{bin, spawn, spawn_with};
use serde_json::Value;

/// Runs the binary to its end (a usage error, a listing).
fn run(args: &[&str]) -> std::process::Output {
    bin().args(args).output().expect("runs")
}

/// GETs a JSON document.
async fn get_json(url: &Value) -> Value {
    reference_server::install_crypto_provider();
    reqwest::Client::new()
        .get(url.as_str().expect("a URL"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn prints_its_urls_and_serves_them() {
    let (mut child, urls) = spawn(&["--port", "0"]);
    for k in ["mcp", "mcp_alt", "issuer", "as_metadata", "prm"] {
        let v = urls[k].as_str().unwrap_or_else(|| panic!("{k} is printed"));
        assert!(
            v.starts_with("http://127.0.0.1:"),
            "{k} is on loopback: {v}"
        );
    }
    let meta = get_json(&urls["as_metadata"]).await;
    assert_eq!(meta["issuer"], urls["issuer"]);
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn layouts_are_chosen_by_flag() {
    let (mut child, urls) = spawn(&["--port", "0", "--layout", "split"]);
    assert_ne!(
        url::Url::parse(urls["mcp"].as_str().unwrap())
            .unwrap()
            .port(),
        url::Url::parse(urls["issuer"].as_str().unwrap())
            .unwrap()
            .port()
    );
    let _ = child.kill();
    let _ = child.wait();
    let (mut child, urls) = spawn(&["--port", "0", "--layout", "legacy-2025-03-26"]);
    assert!(urls["prm"].is_null());
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn bad_flags_get_a_clear_error_and_exit_2() {
    let out = run(&["--layout", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value 'nope'"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn defects_are_listed_with_their_requirements() {
    let out = run(&["--list-defects"]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.lines().count(), reference_server::Defect::ALL.len());
    let line = table
        .lines()
        .find(|l| l.starts_with("pkce-verifier-unchecked "))
        .expect("a line for pkce-verifier-unchecked");
    assert!(line.contains("PKCE-06"), "{line}");
}

#[test]
fn an_unknown_defect_is_a_usage_error() {
    let out = run(&["--defect", "no-such-defect"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown defect \"no-such-defect\""), "{err}");
}

#[tokio::test]
async fn a_defect_flag_breaks_its_behaviour() {
    // s256-not-advertised: the metadata leaves code_challenge_methods_supported out.
    for (args, advertised) in [
        (vec!["--port", "0"], true),
        (
            vec!["--port", "0", "--defect", "s256-not-advertised"],
            false,
        ),
    ] {
        let (mut child, urls) = spawn(&args);
        let meta = get_json(&urls["as_metadata"]).await;
        assert_eq!(
            meta.get("code_challenge_methods_supported").is_some(),
            advertised,
            "{args:?}"
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn with_clients_file(text: &str, extra_env: &[(&str, &str)]) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!(
        "reference-server-clients-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("clients.toml");
    std::fs::write(&path, text).expect("write clients file");
    let mut cmd = bin();
    cmd.args(["--port", "0", "--clients"]).arg(&path);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("runs");
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
}

#[test]
fn a_bad_clients_file_is_a_usage_error_naming_the_problem() {
    let cases = [
        (
            "[[client]]\nclient_id = \"a\"\nredirect_uris = [\"http://127.0.0.1:1/cb\"]\nsecret = \"x\"",
            "secret",
        ),
        (
            "[[client]]\nclient_id = \"a\"\nclient_secret_env = \"REFERENCE_SERVER_TEST_UNSET_SECRET\"\nredirect_uris = [\"http://127.0.0.1:1/cb\"]",
            "REFERENCE_SERVER_TEST_UNSET_SECRET",
        ),
        (
            "[[client]]\nclient_id = \"a\"\nredirect_uris = [\"http://evil.example/cb\"]",
            "not loopback",
        ),
        ("[[client]\nclient_id = ", "line 1"),
    ];
    for (text, needle) in cases {
        let out = with_clients_file(text, &[]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{text}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(!err.contains("panicked"));
    }
    let out = run(&["--clients", "/no/such/clients.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/clients.toml"));
}

#[tokio::test]
async fn a_clients_file_and_no_dcr_are_served() {
    let dir = std::env::temp_dir().join(format!("reference-server-clients-ok-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("clients.toml");
    std::fs::write(
        &path,
        "[[client]]\nclient_id = \"pre\"\nclient_secret_env = \"REFERENCE_SERVER_TEST_SECRET\"\nredirect_uris = [\"http://127.0.0.1:1/cb\"]\n",
    )
    .expect("write");
    let path = path.to_string_lossy().into_owned();
    let (mut child, urls) = spawn_with(
        &["--port", "0", "--no-dcr", "--clients", &path],
        &[("REFERENCE_SERVER_TEST_SECRET", "a-long-enough-secret")],
    );
    let meta = get_json(&urls["as_metadata"]).await;
    assert!(meta.get("registration_endpoint").is_none(), "{meta}");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
