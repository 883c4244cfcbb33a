//! The binary end to end: the whole suite against the embedded reference server and against a
//! separately started one, a violation that fails the run, and the usage and harness errors.

use std::path::PathBuf;
use std::process::Output;

use regex::Regex;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-oauth-conformance");

/// The first requirement ID of every testcase skipped for a missing precondition (not those
/// whose requirements do not apply to the revision), sorted and deduplicated.
fn skipped_ids(xml: &str) -> Vec<String> {
    let name = Regex::new(r#"^name="([A-Z]+-\d{2}) "#).expect("regex");
    let mut ids: Vec<String> = xml
        .split("<testcase ")
        .skip(1)
        .filter_map(|case| {
            let body = case.split("</testcase>").next().unwrap_or(case);
            let head = body.split_once('>').map_or(body, |(h, _)| h);
            if head.ends_with('/')
                || !body.contains("<skipped")
                || body.contains("do not apply to MCP")
            {
                return None;
            }
            name.captures(case).map(|c| c[1].to_string())
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

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
    let results = dir.join("results.json");
    let paths = [
        junit.to_str().expect("path").to_string(),
        json.to_str().expect("path").to_string(),
        results.to_str().expect("path").to_string(),
        dir.join("report.html").to_str().expect("path").to_string(),
    ];
    let mut all = args.to_vec();
    all.extend([
        "--junit",
        &paths[0],
        "--json",
        &paths[1],
        "--results",
        &paths[2],
        "--html",
        &paths[3],
    ]);
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

/// Times, timestamps, ports and the order scenarios start in (which names each scenario's
/// path on the document server) vary between runs; nothing else may.
fn normalise(xml: &str) -> String {
    let rules = [
        (r#"time="[0-9.e-]+""#, r#"time="[time]""#),
        (r#"timestamp="[^"]+""#, r#"timestamp="[timestamp]""#),
        (r#"hostname="[^"]+""#, r#"hostname="[host]""#),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"127\.0\.0\.1%3A\d+", "127.0.0.1%3A[port]"),
        (r"%3A\[port\]%2Fc\d+%2F", "%3A[port]%2F[scenario]%2F"),
        (r":\[port\]/c\d+/", ":[port]/[scenario]/"),
        (r"state=[A-Za-z0-9_-]+", "state=[state]"),
        (
            r"code_challenge=[A-Za-z0-9_-]+",
            "code_challenge=[challenge]",
        ),
        // Recorded exchanges (INFO keeps its evidence): dates and generated client IDs.
        (r"(?m)^< date: .*$", "< date: [date]"),
        (r#""client_id":"[^"]*""#, r#""client_id":"[id]""#),
        (
            r#""client_id_issued_at":\d+"#,
            r#""client_id_issued_at":[time]"#,
        ),
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
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(json.with_file_name("results.json")).expect("results written"),
    )
    .expect("results parse");
    assert_eq!(results["exit_code"], 0);
    assert_eq!(results["revision"], "2026-07-28");
    assert_eq!(results["totals"]["fail"], 0);
    assert_eq!(
        results["scenarios"].as_array().map(Vec::len),
        Some(scenario_count())
    );
    // --spec auto: the reference server lists every revision; the newest is chosen.
    assert!(
        text(&out).contains("MCP revision: 2026-07-28 (--spec auto: server/discover lists"),
        "{}",
        text(&out)
    );
    assert_eq!(xml.matches("<testcase ").count(), scenario_count());
    assert!(!xml.contains("<failure") && !xml.contains("<error"));
    // Three preconditions a strict server never offers: a code issued without a challenge
    // (PKCE-10), a confidential client ID metadata document (CIMD-09), and a token for a
    // resource it does not serve (RS-07 without a second resource).
    assert_eq!(
        skipped_ids(&xml),
        vec![
            "CIMD-09".to_string(),
            "PKCE-10".to_string(),
            "RS-07".to_string()
        ],
        "{xml}"
    );
    let cucumber: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON written"))
            .expect("Cucumber JSON parses");
    // One entry per feature that ran: legacy.feature applies to 2025-03-26 only.
    assert_eq!(
        cucumber.as_array().map(Vec::len),
        Some(
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/features"))
                .expect("features/")
                .filter(|e| e
                    .as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "feature")))
                .count()
                - 1
        ),
        "one entry per feature"
    );
    let n = scenario_count();
    let t = &results["totals"];
    assert_eq!(t["scenarios"].as_u64(), Some(n as u64));
    assert_eq!(
        t["pass"].as_u64().unwrap_or(0)
            + t["info"].as_u64().unwrap_or(0)
            + t["skip"].as_u64().unwrap_or(0),
        n as u64,
        "{t}"
    );
    assert!(
        text(&out).contains(&format!("{n} scenarios: ")),
        "{}",
        text(&out)
    );
    insta::assert_snapshot!("junit_embedded", normalise(&xml));
}

#[tokio::test]
async fn a_separately_started_reference_server_gives_the_same_result() {
    mcp_oauth_conformance::install_crypto_provider();
    // Its authorization server runs as three instances, two of them named with --replica.
    let server = reference_server::start(reference_server::config::Config {
        replicas: 2,
        ..Default::default()
    })
    .await
    .expect("reference server starts");
    // A profile that says only that the target is a reference server (its test user logs in).
    let profile = std::env::temp_dir().join(format!(
        "mcp-oauth-conformance-reference-profile-{}.toml",
        std::process::id()
    ));
    std::fs::write(&profile, "[login]\nreference_server = true\n").expect("profile");
    let profile = profile.to_str().expect("utf-8 path").to_string();
    let mut args = vec!["run", "--target", &server.urls.mcp, "--config", &profile];
    for origin in &server.urls.replicas {
        args.extend(["--replica", origin.as_str()]);
    }
    let (out, xml, _) = run_with_reports("target", &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(xml.matches("<testcase ").count(), scenario_count());
    assert!(!xml.contains("<failure") && !xml.contains("<error"));
    // Without a profile: tokens live 300 s here (RS-06 would wait too long), no privileged
    // operation is configured (SCOPE-03 and the other scope scenarios), and this server does
    // not fetch http client ID metadata documents (the CIMD scenarios' control document is
    // refused), and the codes' lifetime is not stated (REPL-07). Each is skipped, with its
    // reason.
    let skipped = skipped_ids(&xml);
    for id in [
        "RS-06", "SCOPE-03", "SCOPE-04", "RS-13", "CIMD-02", "CIMD-13", "PKCE-10", "REPL-07",
    ] {
        assert!(skipped.iter().any(|s| s == id), "{id} skipped: {skipped:?}");
    }
    assert!(
        skipped
            .iter()
            .all(|s| ["RS-", "SCOPE-", "CIMD-", "PKCE-10", "REPL-07"]
                .iter()
                .any(|p| s.starts_with(p))),
        "{skipped:?}"
    );
    assert!(xml.contains("max_expiry_wait_secs"));
    assert!(xml.contains("code_lifetime_secs"));
    assert!(xml.contains("scope_check"));
    assert!(xml.contains("did not accept a valid client ID metadata document"));
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

    // A replica is an origin: a bad one, on the command line or in the profile, names where.
    let out = run(&["run", "--replica", "https://as-2.example/oauth2/token"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--replica: \"https://as-2.example/oauth2/token\" has a path"),
        "{}",
        text(&out)
    );
    std::fs::write(&cfg, "[replicas]\nurls = [\"as-2.example\"]\n").expect("write");
    let out = run(&["run", "--config", cfg.to_str().expect("path")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("replicas.urls: \"as-2.example\" is not an absolute URL"),
        "{}",
        text(&out)
    );

    // A pre-registered client belongs to a target; the embedded server does not know it.
    std::fs::write(&cfg, "[client]\nclient_id = \"c1\"\n").expect("write");
    let out = run(&["run", "--config", cfg.to_str().expect("path")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("give --target"), "{}", text(&out));

    for (flags, says) in [
        (
            vec!["--layout", "split"],
            "--layout applies to the embedded",
        ),
        (
            vec!["--defect", "code-reusable"],
            "--defect applies to the embedded",
        ),
    ] {
        let mut args = vec!["run", "--target", "http://127.0.0.1:9/mcp"];
        args.extend(flags);
        let out = run(&args).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains(says), "{}", text(&out));
    }
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

#[tokio::test]
async fn a_baseline_turns_listed_failures_into_known_and_flags_stale_entries() {
    let baseline = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/baselines/example.toml"
    );
    // PKCE-06 fails (the defect) and is listed: known, and the run passes.
    let (out, xml, _) = run_with_reports(
        "baseline-known",
        &[
            "--defect",
            "pkce-verifier-unchecked",
            "-t",
            "@PKCE-06",
            "--baseline",
            baseline,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("KNOWN PKCE-06"), "{}", text(&out));
    assert!(
        xml.contains(r#"<skipped type="known failure""#) || xml.contains("known failure"),
        "{xml}"
    );
    assert!(!xml.contains("<failure"), "{xml}");
    // Without the defect PKCE-06 passes: the entry is stale and fails the run.
    let (out, xml, _) = run_with_reports(
        "baseline-stale",
        &["-t", "@PKCE-06", "--baseline", baseline],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("stale baseline entry: requirement PKCE-06"),
        "{}",
        text(&out)
    );
    assert!(xml.contains("no longer fails"), "{xml}");
    // A malformed baseline is a usage error.
    let dir = scratch("baseline-bad");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[expected]]\nrequirement = \"NOPE-01\"\nreason = \"r\"\n",
    )
    .expect("write");
    let out = run(&["--baseline", bad.to_str().expect("path")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("NOPE-01 is not a known requirement ID"),
        "{}",
        text(&out)
    );
}

/// The suite passes against the reference server under every revision: 2026-07-28 is what
/// `--spec auto` chooses (the test above); the others are chosen here, 2025-03-26 against the
/// legacy layout.
#[tokio::test]
async fn the_suite_passes_under_every_revision() {
    let runs = [
        ("rev-2025-06-18", vec!["--spec", "2025-06-18"]),
        ("rev-2025-11-25", vec!["--spec", "2025-11-25"]),
        (
            "rev-2025-03-26",
            vec!["--spec", "2025-03-26", "--layout", "legacy-2025-03-26"],
        ),
    ];
    let outputs =
        futures::future::join_all(runs.iter().map(|(name, args)| run_with_reports(name, args)))
            .await;
    for ((name, _), (out, xml, _)) in runs.iter().zip(outputs) {
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out));
        assert!(
            !xml.contains("<failure") && !xml.contains("<error"),
            "{name}"
        );
        let revision = name.trim_start_matches("rev-");
        assert!(
            text(&out).contains(&format!("MCP revision: {revision} (chosen")),
            "{name}: {}",
            text(&out)
        );
    }
}

/// A refusal counts only for the reason the scenario provokes: an MCP server that refuses
/// every token (the `valid-token-refused` defect) makes the bearer-refusal scenarios errors,
/// because their positive control (the held token opens a conversation, RS-02) failed, never
/// passes.
#[tokio::test]
async fn a_refusal_without_its_positive_control_is_an_error_not_a_pass() {
    let (out, xml, _) = run_with_reports(
        "positive-control",
        &[
            "run",
            "--spec",
            "2025-11-25",
            "--defect",
            "valid-token-refused",
            "--tags",
            "@RS-05 or @RS-09 or @RS-11",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "errors only: {}", text(&out));
    let cases: Vec<&str> = xml.split("<testcase ").skip(1).collect();
    let refusals: Vec<&&str> = cases
        .iter()
        .filter(|c| {
            ["name=\"RS-05", "name=\"RS-09", "name=\"RS-11"]
                .iter()
                .any(|p| c.starts_with(p))
        })
        .collect();
    assert_eq!(refusals.len(), 5, "{xml}");
    for case in refusals {
        assert!(case.contains("<error"), "{case}");
        assert!(
            case.contains("a precondition failed with a violation of RS-02"),
            "{case}"
        );
    }
}

/// `--spec auto` against a target without protected resource metadata: it is asked after the
/// 2025-03-26 discovery, names its revision, and is judged by it (not a wall of errors under
/// a newer revision's discovery).
#[tokio::test]
async fn auto_detection_finds_a_2025_03_26_server_through_its_own_discovery() {
    let (out, xml, _) = run_with_reports(
        "auto-legacy",
        &[
            "run",
            "--layout",
            "legacy-2025-03-26",
            "--tags",
            "@LEG-01 or @PKCE-02",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out)
            .contains("MCP revision: 2025-03-26 (--spec auto: initialize negotiated 2025-03-26"),
        "{}",
        text(&out)
    );
    assert!(!xml.contains("<error"), "{xml}");
}
