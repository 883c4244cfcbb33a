//! The same verdicts at any concurrency: the whole suite, run twice at the default concurrency
//! against the reference server that keeps one active grant per user and client (a new
//! authorization ends the earlier grant), concludes the same both times, and concludes what it
//! concludes against the server without that policy: nothing fails, nothing errs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-oauth-conformance");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mcp-oauth-conformance-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// One run of the whole embedded suite against the embedded reference server with
/// `variants`; the verdicts by scenario (file, line, name), as text.
fn verdicts(dir: &Path, variants: &[&str]) -> Vec<(String, u64, String, String)> {
    let report = |f: &str| dir.join(f).to_str().expect("path").to_string();
    let mut args: Vec<String> = [
        "run",
        "--spec",
        "2025-11-25",
        "--junit",
        &report("junit.xml"),
        "--json",
        &report("cucumber.json"),
        "--results",
        &report("results.json"),
        "--html",
        &report("report.html"),
    ]
    .map(str::to_string)
    .to_vec();
    for v in variants {
        args.extend(["--variant".to_string(), v.to_string()]);
    }
    let out = Command::new(BIN)
        .args(&args)
        .output()
        .expect("the binary runs");
    let text = std::fs::read_to_string(dir.join("results.json"))
        .unwrap_or_else(|e| panic!("no results ({e}); {}", String::from_utf8_lossy(&out.stderr)));
    let results: Value = serde_json::from_str(&text).expect("results.json is JSON");
    let mut verdicts: Vec<_> = results["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| {
            let verdict = format!("{} {} {}", s["verdict"], s["violated"], s["warnings"]);
            (
                s["file"].as_str().unwrap_or_default().to_string(),
                s["line"].as_u64().unwrap_or_default(),
                s["name"].as_str().unwrap_or_default().to_string(),
                verdict,
            )
        })
        .collect();
    verdicts.sort();
    verdicts
}

fn bad(verdicts: &[(String, u64, String, String)]) -> Vec<String> {
    verdicts
        .iter()
        .filter(|(.., v)| v.starts_with("\"fail\"") || v.starts_with("\"error\""))
        .map(|(_, _, name, v)| format!("{name}: {v}"))
        .collect()
}

#[test]
fn two_runs_against_one_active_grant_agree_and_find_nothing_wrong() {
    let dir = scratch("one-active-grant");
    let first = verdicts(&dir.join("first"), &["one-active-grant"]);
    let second = verdicts(&dir.join("second"), &["one-active-grant"]);
    assert!(first.len() > 100, "the whole suite ran: {}", first.len());
    assert_eq!(bad(&first), Vec::<String>::new());
    let differ: Vec<String> = first
        .iter()
        .zip(&second)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("{}: {} then {}", a.2, a.3, b.3))
        .collect();
    assert_eq!(first.len(), second.len());
    assert_eq!(differ, Vec::<String>::new());
}
