//! The suite against separately started reference servers, as a user runs it against a
//! deployed server: the servers are child processes (`mcp-oauth-conformance reference-server`,
//! their URL line read from stdout), and the runner is given `--target` and a profile from
//! `fixtures/targets/`.
//!
//! - the layouts that move the authorization server: its own origin, an issuer with a path,
//!   OpenID Connect discovery only (`reference-server.toml`);
//! - https with a private CA, trusted with `--ca-cert` (`https.toml`), and the clear harness
//!   error without it;
//! - no dynamic registration, with a pre-registered client (`preregistered.toml`).

mod common;

use std::time::Duration;

use common::{Run, Server, repo_file, runner, scratch};

/// A whole suite, with a 10 s token for RS-06 to wait out, takes well under this.
const LIMIT: Duration = Duration::from_secs(300);

/// The server flags every run here uses: a token short enough to wait out (RS-06), and the
/// harness's own client ID metadata documents, served on loopback http, accepted.
const BASE: [&str; 5] = [
    "--port",
    "0",
    "--access-token-ttl",
    "10",
    "--allow-loopback-http-client-ids",
];

fn suite(name: &str, server_flags: &[&str], profile: &str, extra: &[&str]) -> (Server, Run) {
    let flags: Vec<&str> = BASE.iter().chain(server_flags).copied().collect();
    let server = Server::start(&flags);
    let dir = scratch(name);
    let profile = repo_file(profile);
    let mcp = server.url("mcp");
    let mut args = vec![
        "run",
        "--target",
        &mcp,
        "--config",
        profile.to_str().expect("utf-8 path"),
        "--spec",
        "2025-11-25",
    ];
    args.extend_from_slice(extra);
    let run = runner(&dir, &args, LIMIT);
    (server, run)
}

/// The scenarios that need the profile ran instead of being skipped.
fn assert_profile_scenarios_ran(name: &str, run: &Run) {
    for ran in ["SCOPE-03 ", "RS-06 "] {
        let cases = run.testcases(ran);
        assert!(!cases.is_empty(), "{name}: {ran}is in the report");
        assert!(
            cases.iter().all(|c| !c.contains("<skipped")),
            "{name}: {ran}ran: {cases:?}"
        );
    }
}

fn layout(name: &str) {
    let (_server, run) = suite(
        &format!("layout-{name}"),
        &["--layout", name],
        "fixtures/targets/reference-server.toml",
        &[],
    );
    assert_eq!(run.code, Some(0), "{name}: {}", run.text);
    assert!(run.clean(), "{name}: {}", run.junit);
    assert_profile_scenarios_ran(name, &run);
}

#[test]
fn the_suite_passes_with_the_authorization_server_on_its_own_origin() {
    layout("split");
}

#[test]
fn the_suite_passes_with_an_issuer_that_has_a_path() {
    layout("issuer-path");
}

#[test]
fn the_suite_passes_with_openid_connect_discovery_only() {
    layout("oidc-only");
}

#[test]
fn the_suite_passes_over_https_with_the_private_ca_trusted() {
    let dir = scratch("https-ca");
    let ca = dir.join("ca.pem");
    let ca = ca.to_str().expect("utf-8 path");
    let (server, run) = suite(
        "https",
        &["--tls", "--ca-out", ca],
        "fixtures/targets/https.toml",
        &["--ca-cert", ca],
    );
    assert!(server.url("mcp").starts_with("https://"), "{}", server.urls);
    assert_eq!(run.code, Some(0), "{}", run.text);
    assert!(run.clean(), "{}", run.junit);
    assert_profile_scenarios_ran("https", &run);
}

#[test]
fn an_untrusted_certificate_is_a_harness_error_that_says_what_to_do() {
    let server = Server::start(&["--port", "0", "--tls"]);
    let dir = scratch("https-untrusted");
    let mcp = server.url("mcp");
    let run = runner(&dir, &["run", "--target", &mcp, "-t", "@PKCE-02"], LIMIT);
    assert_eq!(run.code, Some(3), "{}", run.text);
    assert!(
        run.text.contains("certificate is not trusted") && run.text.contains("--ca-cert"),
        "{}",
        run.text
    );
}

#[test]
fn without_dynamic_registration_a_pre_registered_client_is_used() {
    let clients = repo_file("fixtures/targets/reference-server-clients.toml");
    let (_server, run) = suite(
        "preregistered",
        &[
            "--no-dcr",
            "--clients",
            clients.to_str().expect("utf-8 path"),
        ],
        "fixtures/targets/preregistered.toml",
        &[],
    );
    assert_eq!(run.code, Some(0), "{}", run.text);
    assert!(run.clean(), "{}", run.junit);
    let dcr = run.testcases("DCR-");
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
    // The flows ran with the pre-registered client.
    let code = run.testcases("CODE-");
    assert!(
        code.iter().any(|c| !c.contains("<skipped")),
        "some CODE scenario ran: {code:?}"
    );
    assert!(
        !run.text.contains("could not run"),
        "no scenario lacked a client: {}",
        run.text
    );
}

/// Serves one JSON document at every path on a loopback port, from a thread, for as long as
/// the test runs.
fn serve_document(body: impl Fn(&str) -> String + Send + 'static) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/client.json",
        listener.local_addr().expect("address")
    );
    let doc = body(&url);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{doc}",
                doc.len()
            );
        }
    });
    url
}

fn cimd_profile(dir: &std::path::Path, client_id: &str) -> String {
    let profile = dir.join("cimd.toml");
    std::fs::write(
        &profile,
        format!(
            "[login]\nreference_server = true\n[client]\nregistration = \"cimd\"\nclient_id = \"{client_id}\"\n"
        ),
    )
    .expect("write profile");
    profile.to_string_lossy().into_owned()
}

#[test]
fn a_client_id_metadata_document_client_is_checked_then_used() {
    let server = Server::start(&BASE);
    let mcp = server.url("mcp");
    let good = serve_document(|url| {
        format!(
            r#"{{"client_id":"{url}","client_name":"conformance","redirect_uris":["http://127.0.0.1:33418/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"]}}"#
        )
    });
    let dir = scratch("cimd-client");
    let profile = cimd_profile(&dir, &good);
    let run = runner(
        &dir,
        &[
            "run",
            "--target",
            &mcp,
            "--config",
            &profile,
            "--spec",
            "2025-11-25",
            "-t",
            "@PKCE-02 or @CODE-01",
        ],
        LIMIT,
    );
    assert_eq!(run.code, Some(0), "{}", run.text);
    assert!(run.clean(), "{}", run.junit);
    let ran = run.testcases("PKCE-02 ");
    assert!(
        !ran.is_empty() && ran.iter().all(|c| !c.contains("<skipped")),
        "{}",
        run.junit
    );

    // A document that does not list the run's redirect URI is the profile's mistake.
    let wrong = serve_document(|url| {
        format!(r#"{{"client_id":"{url}","redirect_uris":["http://127.0.0.1:1/elsewhere"]}}"#)
    });
    let dir = scratch("cimd-client-wrong");
    let profile = cimd_profile(&dir, &wrong);
    let run = runner(
        &dir,
        &["run", "--target", &mcp, "--config", &profile],
        LIMIT,
    );
    assert_eq!(run.code, Some(2), "{}", run.text);
    assert!(
        run.text
            .contains("does not list the profile's redirect URI"),
        "{}",
        run.text
    );
}

#[test]
fn allowed_hosts_without_the_target_is_a_usage_error() {
    let dir = scratch("allowed-hosts");
    let profile = dir.join("p.toml");
    std::fs::write(&profile, "allowed_hosts = [\"mcp.example.com\"]\n").expect("write");
    let run = runner(
        &dir,
        &[
            "run",
            "--target",
            "http://127.0.0.1:9/mcp",
            "--config",
            profile.to_str().expect("utf-8"),
        ],
        LIMIT,
    );
    assert_eq!(run.code, Some(2), "{}", run.text);
    assert!(
        run.text
            .contains("allowed_hosts does not include the target's host 127.0.0.1"),
        "{}",
        run.text
    );
}
