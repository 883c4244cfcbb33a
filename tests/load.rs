//! The `load` command against the embedded reference server (loopback only): the counts add
//! up, the percentiles are monotone, a racy single-use check is caught as a double redemption
//! (CODE-02), the bounds stop the run, and a host outside loopback is refused before anything
//! is sent.

use std::io::Read;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use mcp_oauth_conformance::cli::{Cli, Command as Sub};
use mcp_oauth_conformance::load::{self, LoadResult};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-oauth-conformance");

async fn load(args: &[&str]) -> LoadResult {
    mcp_oauth_conformance::install_crypto_provider();
    let cli = Cli::try_parse_from(["x", "load"].iter().chain(args)).expect("load options");
    let Some(Sub::Load(args)) = cli.command else {
        panic!("the load subcommand")
    };
    load::run(args).await.expect("the load run")
}

fn count(json: &Value, key: &str) -> u64 {
    json[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {json}"))
}

fn step_count(json: &Value, step: &str) -> u64 {
    json["steps"][step]["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("steps.{step} in {json}"))
}

use clap::Parser as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_few_hundred_flows_add_up_and_their_percentiles_are_monotone() {
    let dir = std::env::temp_dir().join(format!("load-test-{}", std::process::id()));
    let out = dir.join("load.json");
    let out_arg = out.to_string_lossy().to_string();
    let r = load(&["--flows", "300", "--concurrency", "16", "--out", &out_arg]).await;
    let j = &r.json;
    assert_eq!(r.exit_code, 0, "{j:#}");
    assert_eq!(count(j, "flows"), 300);
    assert_eq!(
        count(j, "flows"),
        count(j, "succeeded") + count(j, "failed"),
        "{j:#}"
    );
    assert_eq!(count(j, "succeeded"), 300, "{j:#}");
    assert_eq!(count(j, "double_redemptions"), 0);
    // One flow in ten replays its code concurrently, and ends after the race.
    assert_eq!(count(j, "replayed"), 30);
    assert_eq!(step_count(j, "token"), 300);
    assert_eq!(step_count(j, "replay"), 300);
    assert_eq!(step_count(j, "mcp"), 270);
    assert_eq!(step_count(j, "refresh"), 270);
    for step in ["authorize", "login", "consent"] {
        assert_eq!(step_count(j, step), 300, "{step}");
    }
    // A client per worker, not per flow.
    assert!(step_count(j, "register") <= 16, "{j:#}");
    for (name, s) in j["steps"].as_object().expect("steps") {
        let p = |k: &str| s[k].as_f64().unwrap_or_else(|| panic!("{name}.{k}"));
        assert!(
            p("p50_ms") <= p("p95_ms") && p("p95_ms") <= p("p99_ms") && p("p99_ms") <= p("max_ms"),
            "{name}: {s}"
        );
        assert!(p("p50_ms") > 0.0, "{name}: {s}");
    }
    assert!(j["flows_per_second"].as_f64().is_some_and(|f| f > 0.0));
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("--out written")).expect("JSON");
    assert_eq!(written["flows"], 300);
    assert!(written["flows_per_second"].as_f64().is_some());
    assert!(written["steps"]["token"]["p99_ms"].as_f64().is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_racy_single_use_check_is_a_double_redemption_of_code_02() {
    let r = load(&[
        "--flows",
        "40",
        "--replay-sample",
        "0.25",
        "--defect",
        "code-single-use-race",
    ])
    .await;
    let j = &r.json;
    assert_eq!(r.exit_code, 1, "{j:#}");
    assert_eq!(count(j, "replayed"), 10);
    assert_eq!(count(j, "double_redemptions"), 10, "{j:#}");
    assert_eq!(j["violations"][req::CODE_02.as_str()], 10, "{j:#}");
    assert_eq!(count(j, "with_violations"), 10);
    assert_eq!(count(j, "succeeded") + count(j, "failed"), 40);
    // The flows that did not race found nothing: a replay after the redemption is refused.
    assert_eq!(count(j, "succeeded"), 30, "{j:#}");
    let failure = &j["failures"][0];
    assert_eq!(
        failure["violations"][0]["requirement"],
        req::CODE_02.as_str()
    );
    assert!(
        failure["violations"][0]["actual"]
            .as_str()
            .is_some_and(|a| a.contains("2 successes")),
        "{failure:#}"
    );
    // The transcript shows the flow, with every code redacted.
    let transcript = failure["transcript"].as_str().expect("a transcript");
    assert!(
        transcript.contains("grant_type=authorization_code"),
        "{transcript}"
    );
    let codes: Vec<&str> = transcript
        .split(['?', '&', '\n', ' '])
        .filter_map(|p| p.strip_prefix("code="))
        .collect();
    assert!(!codes.is_empty(), "{transcript}");
    assert!(codes.iter().all(|c| c.ends_with("[redacted]")), "{codes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_duration_stops_the_run() {
    let started = Instant::now();
    let r = load(&["--duration", "1", "--concurrency", "8"]).await;
    let took = started.elapsed();
    let j = &r.json;
    assert_eq!(r.exit_code, 0, "{j:#}");
    assert!(count(j, "flows") > 0, "{j:#}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert!(
        j["elapsed_secs"]
            .as_f64()
            .is_some_and(|s| (1.0..5.0).contains(&s)),
        "{j:#}"
    );
    // The open model: about the rate times the duration, never more.
    let r = load(&["--rate", "20", "--duration", "1"]).await;
    let flows = count(&r.json, "flows");
    assert!((5..=21).contains(&flows), "{:#}", r.json);
    assert_eq!(r.exit_code, 0, "{:#}", r.json);
}

/// Runs the binary with every proxy variable pointing at a loopback listener of the test's
/// own: whatever it tries to send to a remote host arrives there instead, so the test can see
/// whether anything was sent, and nothing leaves the machine.
fn load_through_trap(args: &[&str]) -> (std::process::Output, Option<String>) {
    let trap = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
    let proxy = format!("http://{}", trap.local_addr().expect("its address"));
    let out = Command::new(BIN)
        .arg("load")
        .args(args)
        .env("HTTPS_PROXY", &proxy)
        .env("https_proxy", &proxy)
        .env("HTTP_PROXY", &proxy)
        .env("http_proxy", &proxy)
        .env("ALL_PROXY", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .expect("the runner runs");
    trap.set_nonblocking(true).expect("non-blocking");
    let caught = trap.accept().ok().map(|(mut conn, _)| {
        conn.set_nonblocking(false).expect("blocking");
        conn.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let mut buf = [0u8; 256];
        let n = conn.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    (out, caught)
}

#[test]
fn a_host_outside_loopback_is_refused_before_anything_is_sent() {
    let target = "https://mcp.example.com/mcp";
    let (out, caught) = load_through_trap(&["--target", target, "--flows", "5"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Load plan: 5 flows") && stderr.contains(target),
        "{stderr}"
    );
    assert!(
        stderr.contains("refusing to load mcp.example.com") && stderr.contains("--yes"),
        "{stderr}"
    );
    assert_eq!(caught, None, "nothing may be sent without --yes");

    // With --yes the run goes ahead: its first request arrives at the trap (which proves the
    // trap would have caught one above), and fails there.
    let (out, caught) = load_through_trap(&[
        "--target",
        target,
        "--flows",
        "1",
        "--timeout",
        "2",
        "--yes",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        caught
            .as_deref()
            .is_some_and(|c| c.starts_with("CONNECT mcp.example.com:443")),
        "{caught:?} / {stderr}"
    );
}
