//! The binary end to end: the whole suite against the embedded reference server and against a
//! separately started one, a violation that fails the run, and the usage and harness errors.

use std::path::PathBuf;
use std::process::Output;

use regex::Regex;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-oauth-conformance");

/// How many scenarios the embedded features hold (outlines expanded).
fn scenario_count() -> usize {
    use mcp_oauth_conformance::features;
    let all = features::load(features::Source::Embedded).expect("the embedded features parse");
    features::scenarios(&all).len()
}

/// A fresh directory for one test's reports.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mcp-oauth-conformance-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

async fn run(args: &[&str]) -> Output {
    tokio::process::Command::new(BIN)
        .args(args)
        .output()
        .await
        .expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs the binary with `args` plus report paths in a fresh directory. Returns the output,
/// the JUnit text (checked to be well-formed when written) and the Cucumber JSON path.
async fn run_with_reports(name: &str, args: &[&str]) -> (Output, String, PathBuf) {
    let dir = scratch(name);
    let junit = dir.join("junit.xml");
    let json = dir.join("cucumber.json");
    let paths = [
        junit.to_str().expect("path").to_string(),
        json.to_str().expect("path").to_string(),
    ];
    let mut all = args.to_vec();
    all.extend(["--junit", &paths[0], "--json", &paths[1]]);
    let out = run(&all).await;
    let xml = std::fs::read_to_string(&junit).unwrap_or_default();
    if !xml.is_empty() {
        well_formed(&xml);
    }
    (out, xml, json)
}

/// Parses the whole document, so a malformed report fails the test.
fn well_formed(xml: &str) {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("malformed JUnit at {}: {e}", reader.buffer_position()),
        }
    }
}

/// Times, timestamps and ports vary between runs; nothing else may.
fn normalise(xml: &str) -> String {
    let rules = [
        (r#"time="[0-9.e-]+""#, r#"time="[time]""#),
        (r#"timestamp="[^"]+""#, r#"timestamp="[timestamp]""#),
        (r#"hostname="[^"]+""#, r#"hostname="[host]""#),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
    ];
    rules.iter().fold(xml.to_string(), |acc, (re, with)| {
        Regex::new(re)
            .expect("regex")
            .replace_all(&acc, *with)
            .into_owned()
    })
}

#[tokio::test]
async fn the_whole_suite_passes_against_the_embedded_reference_server() {
    let (out, xml, json) = run_with_reports("embedded", &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(xml.matches("<testcase ").count(), scenario_count());
    assert!(!xml.contains("<failure") && !xml.contains("<error") && !xml.contains("<skipped"));
    let cucumber: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON written"))
            .expect("Cucumber JSON parses");
    assert_eq!(
        cucumber.as_array().map(Vec::len),
        Some(
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/features"))
                .expect("features/")
                .filter(|e| e
                    .as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "feature")))
                .count()
        ),
        "one entry per feature"
    );
    let n = scenario_count();
    assert!(text(&out).contains(&format!("{n} scenarios: {n} passed")));
    insta::assert_snapshot!("junit_embedded", normalise(&xml));
}

#[tokio::test]
async fn a_separately_started_reference_server_gives_the_same_result() {
    mcp_oauth_conformance::install_crypto_provider();
    let server = reference_server::start(reference_server::config::Config::default())
        .await
        .expect("reference server starts");
    let (out, xml, _) = run_with_reports("target", &["run", "--target", &server.urls.mcp]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(xml.matches("<testcase ").count(), scenario_count());
    assert!(!xml.contains("<failure") && !xml.contains("<error"));
    // Without a profile: tokens live 300 s here (RS-06 would wait too long) and no privileged
    // operation is configured (SCOPE-03). Both are skipped, with their reasons.
    assert_eq!(xml.matches("<skipped").count(), 2, "{xml}");
    assert!(xml.contains("max_expiry_wait_secs"));
    assert!(xml.contains("scope_check"));
    server.shutdown().await;
}

/// A target whose PRM `resource` has a trailing slash: PRM-09 fails, with expected and
/// actual, and the run exits 1.
#[tokio::test]
async fn a_violated_must_fails_the_run_with_the_requirement_and_the_exchange() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("POST"))
        .and(path("/mcp"))
        .respond_with(
            ResponseTemplate::new(401).insert_header(
                "www-authenticate",
                format!(
                    r#"Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp""#
                )
                .as_str(),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-protected-resource/mcp"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"resource": format!("{base}/mcp/"), "authorization_servers": [base]}),
        ))
        .mount(&server)
        .await;
    let target = format!("{base}/mcp");
    let (out, xml, _) = run_with_reports(
        "violation",
        &["run", "--target", &target, "--tags", "@PRM-09 or @PRM-04"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(xml.contains(r#"<failure type="PRM-09""#), "{xml}");
    assert!(xml.contains("a trailing slash differs"), "{xml}");
    assert!(xml.contains("Expected: resource"), "{xml}");
    assert!(xml.contains("> GET "), "the exchange is attached: {xml}");
    assert_eq!(xml.matches("<testcase ").count(), 2);
}

#[tokio::test]
async fn an_unreachable_target_is_a_harness_error() {
    let (out, _, _) = run_with_reports(
        "unreachable",
        &[
            "run",
            "--target",
            "http://127.0.0.1:9/mcp",
            "--timeout",
            "2",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("the target cannot be reached"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn usage_and_config_errors_exit_2_with_a_clear_message() {
    let dir = scratch("usage");
    let cfg = dir.join("profile.toml");
    std::fs::write(&cfg, "[login]\nusername = \"bob\"\npasword = \"typo\"\n").expect("write");
    let out = run(&["run", "--config", cfg.to_str().expect("path")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown field `pasword`"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("panicked"));

    let out = run(&["run", "--config", "/nonexistent/profile.toml"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("cannot read /nonexistent/profile.toml"),
        "{}",
        text(&out)
    );

    let out = run(&["run", "--tags", "@NO-SUCH-99"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no scenario matches"), "{}", text(&out));

    let out = run(&["run", "--features", "/nonexistent/dir"]).await;
    assert_eq!(out.status.code(), Some(2));

    let out = run(&["--concurrency", "zero"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn list_prints_every_scenario_with_ids_and_level() {
    let out = run(&["list"]).await;
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), scenario_count());
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("PKCE-06") && l.contains("MUST") && l.contains("pkce")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("CODE-03") && l.contains("SHOULD")),
        "{stdout}"
    );
}

#[tokio::test]
async fn scenarios_whose_requirements_do_not_apply_to_the_revision_are_skipped() {
    let (out, xml, _) = run_with_reports(
        "revision",
        &[
            "run",
            "--spec",
            "2025-03-26",
            "--tags",
            "@REFRESH-01 or @CODE-08",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(xml.matches("<testcase ").count(), 2);
    assert_eq!(xml.matches("<skipped").count(), 1, "{xml}");
    assert!(xml.contains("do not apply to MCP 2025-03-26"), "{xml}");
}
