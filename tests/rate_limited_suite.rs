//! The whole suite against the embedded reference server with its rate-limit variants at
//! realistic rates (10 registrations, 30 authorizations and 30 token requests a minute) gives
//! every scenario the verdict it gets without them, only later, and lists the waits.
//!
//! It takes about seven minutes, so it is not part of the default test run:
//! `cargo test --test rate_limited_suite -- --ignored`. The self-test proves the same with
//! two-second windows on every run (`selftest --variant rate-limit-token` and the others).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-oauth-conformance");

fn run(dir: &Path, variants: &[&str]) -> Value {
    let results = dir.join("results.json");
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--spec", "2025-11-25", "--results"])
        .arg(&results)
        .arg("--junit")
        .arg(dir.join("junit.xml"))
        .arg("--json")
        .arg(dir.join("cucumber.json"))
        .arg("--html")
        .arg(dir.join("report.html"));
    for v in variants {
        cmd.args(["--variant", v]);
    }
    let out = cmd.output().expect("the runner starts");
    let text = std::fs::read_to_string(&results).unwrap_or_else(|e| {
        panic!(
            "no results ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    serde_json::from_str(&text).expect("results.json is JSON")
}

fn verdicts(results: &Value) -> BTreeMap<String, String> {
    results["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_string(),
                s["verdict"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
#[ignore = "takes about seven minutes at realistic rates; run with --ignored"]
fn rate_limits_at_realistic_rates_change_no_verdict() {
    let base = std::env::temp_dir().join(format!("rate-limited-suite-{}", std::process::id()));
    let (clean_dir, limited_dir) = (base.join("clean"), base.join("limited"));
    for d in [&clean_dir, &limited_dir] {
        std::fs::create_dir_all(d).expect("scratch dir");
    }
    let clean = run(&clean_dir, &[]);
    let limited = run(
        &limited_dir,
        &[
            "rate-limit-registration",
            "rate-limit-token",
            "rate-limit-authorization",
        ],
    );
    let (before, after) = (verdicts(&clean), verdicts(&limited));
    assert!(!before.is_empty());
    let changed: Vec<String> = before
        .iter()
        .filter(|(name, v)| after.get(*name) != Some(*v))
        .map(|(name, v)| format!("{name}: {v} -> {:?}", after.get(name)))
        .collect();
    assert!(changed.is_empty(), "verdicts changed: {changed:#?}");
    assert_eq!(before.len(), after.len());
    let _ = std::fs::remove_dir_all(&base);
}
