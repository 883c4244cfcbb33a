//! `run --fleet`, end to end, offline: two targets on the embedded reference server, one with
//! a defect, run in one invocation: each gets its own reports, the index lists both and links
//! their reports, the combined summary has a row each, and the exit code is the worst (1).
//! Then fleet files that must be refused before anything runs, and a fleet split in shards.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{BIN, repo_file, scratch, wait_with_limit};

fn fleet(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let child = Command::new(BIN)
        .arg("run")
        .arg("--fleet")
        .arg(dir.join("fleet.toml"))
        .arg("--fleet-reports")
        .arg(dir.join("reports"))
        .args(args)
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the runner starts");
    let out = wait_with_limit(child, Duration::from_secs(300));
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const TWO_TARGETS: &str = r#"
[[target]]
name = "reference"
embedded = true
spec = "2025-11-25"
tags = "@PKCE-06 or @PKCE-02"

[[target]]
name = "broken-pkce"
embedded = true
layout = "split"
defects = ["pkce-verifier-unchecked"]
spec = "2025-11-25"
tags = "@PKCE-06 or @PKCE-02"
"#;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_fleet_runs_every_target_and_exits_with_the_worst() {
    let dir = scratch("fleet");
    std::fs::write(dir.join("fleet.toml"), TWO_TARGETS).expect("the fleet file");
    let summary = dir.join("combined.md");
    let (code, output) = fleet(
        &dir,
        &[
            "--fleet-concurrency",
            "2",
            "--summary",
            summary.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(code, Some(1), "{output}");
    let reports = dir.join("reports");
    for target in ["reference", "broken-pkce"] {
        for file in ["junit.xml", "results.json", "report.html", "summary.md"] {
            let f = reports.join(target).join(file);
            assert!(f.is_file(), "{} was written: {output}", f.display());
        }
    }
    let results = |t: &str| -> serde_json::Value {
        serde_json::from_str(&read(&reports.join(t).join("results.json"))).expect("JSON")
    };
    assert_eq!(results("reference")["exit_code"], 0);
    let broken = results("broken-pkce");
    assert_eq!(broken["exit_code"], 1);
    assert!(
        broken["target_id"]
            .as_str()
            .is_some_and(|t| t.contains("split") && t.contains("pkce-verifier-unchecked")),
        "{broken}"
    );
    let junit = read(&reports.join("broken-pkce/junit.xml"));
    assert!(junit.contains(r#"<failure type="PKCE-06""#), "{junit}");
    assert!(!read(&reports.join("reference/junit.xml")).contains("<failure"));

    let index = read(&reports.join("index.html"));
    for target in ["reference", "broken-pkce"] {
        assert!(
            index.contains(&format!("href=\"{target}/report.html\"")),
            "{index}"
        );
    }
    assert!(index.contains("Fleet failed: exit code 1"), "{index}");
    assert!(
        index.contains("FAIL PKCE-06"),
        "the failure is named: {index}"
    );
    let md = read(&reports.join("summary.md"));
    assert!(
        md.starts_with("## MCP OAuth conformance fleet: failed (exit 1"),
        "{md}"
    );
    assert!(md.contains("| broken-pkce | failed (exit 1) |"), "{md}");
    assert!(md.contains("| reference | passed (exit 0) |"), "{md}");
    assert_eq!(read(&summary), md, "--summary gets the combined summary");
    assert!(output.contains("Fleet exit code 1"), "{output}");
}

#[test]
fn a_fleet_shard_runs_its_part_of_the_targets() {
    let dir = scratch("fleet-shard");
    std::fs::write(dir.join("fleet.toml"), TWO_TARGETS).expect("the fleet file");
    // Sorted by name, "broken-pkce" is first: shard 2/2 is "reference" alone.
    let (code, output) = fleet(&dir, &["--shard", "2/2"]);
    assert_eq!(code, Some(0), "{output}");
    assert!(dir.join("reports/reference/results.json").is_file());
    assert!(!dir.join("reports/broken-pkce").exists(), "{output}");
    let md = read(&dir.join("reports/summary.md"));
    assert!(md.contains("shard 2/2 of a fleet of 2 targets"), "{md}");

    // The index of the whole fleet needs every target's results.
    let merge = |dir: &Path| {
        let out = Command::new(BIN)
            .arg("merge-reports")
            .arg("--fleet")
            .arg(dir.join("fleet.toml"))
            .arg("--fleet-reports")
            .arg(dir.join("reports"))
            .env_remove("GITHUB_STEP_SUMMARY")
            .stdin(Stdio::null())
            .output()
            .expect("merge-reports runs");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, output) = merge(&dir);
    assert_eq!(code, Some(2), "{output}");
    assert!(output.contains("for broken-pkce"), "{output}");
    // The other shard, as another CI job would run it, into the same directory.
    let (code, output) = fleet(&dir, &["--shard", "1/2"]);
    assert_eq!(code, Some(1), "{output}");
    let (code, output) = merge(&dir);
    assert_eq!(code, Some(1), "the worst of the two: {output}");
    let index = read(&dir.join("reports/index.html"));
    for target in ["reference", "broken-pkce"] {
        assert!(
            index.contains(&format!("href=\"{target}/report.html\"")),
            "{index}"
        );
    }
    let md = read(&dir.join("reports/summary.md"));
    assert!(!md.contains("shard"), "the whole fleet: {md}");
}

#[test]
fn bad_fleet_files_are_usage_errors_before_anything_runs() {
    let dir = scratch("fleet-bad");
    std::fs::copy(
        repo_file("fixtures/targets/reference-server.toml"),
        dir.join("profile.toml"),
    )
    .expect("a profile");
    std::fs::write(
        dir.join("manual.toml"),
        "target = \"http://127.0.0.1:9/mcp\"\n[login]\ndriver = \"manual\"\n",
    )
    .expect("a manual profile");
    for (text, says) in [
        (
            "[[target]]\nname = \"a\"\nembedded = true\nlayuot = \"split\"\n",
            "unknown field `layuot`",
        ),
        (
            "[[target]]\nname = \"a\"\nembedded = true\n\n[[target]]\nname = \"a\"\nprofile = \"profile.toml\"\n",
            "already used by target 1",
        ),
        (
            "[[target]]\nname = \"a\"\nprofile = \"missing.toml\"\n",
            "missing.toml: no such file",
        ),
        ("", "no [[target]]"),
        (
            "[[target]]\nname = \"by-hand\"\nprofile = \"manual.toml\"\n[[target]]\nname = \"b\"\nembedded = true\n",
            "--fleet-concurrency 1",
        ),
        (
            "[[target]]\nname = \"a\"\nembedded = true\nspec = \"2024-01-01\"\n",
            "spec",
        ),
        // The file parses, but the target's plan does not: a usage error naming the target.
        (
            "[[target]]\nname = \"bad-tags\"\nembedded = true\ntags = \"@NO-SUCH-99\"\n",
            "fleet target \"bad-tags\": no scenario matches",
        ),
    ] {
        std::fs::write(dir.join("fleet.toml"), text).expect("the fleet file");
        let (code, output) = fleet(&dir, &[]);
        assert_eq!(code, Some(2), "{text}: {output}");
        assert!(output.contains(says), "{text}: {output}");
        assert!(
            !dir.join("reports/index.html").exists(),
            "nothing ran: {text}"
        );
    }
    let (code, output) = fleet(&dir, &["--fleet", "x.toml"]);
    assert_eq!(code, Some(2), "{output}");
    let (code, output) = fleet(&dir, &["--target", "http://127.0.0.1:9/mcp"]);
    assert_eq!(code, Some(2), "--fleet and --target: {output}");
    assert!(output.contains("cannot be used with"), "{output}");
    let (code, output) = fleet(&dir, &["--fleet-concurrency", "0"]);
    assert_eq!(code, Some(2), "{output}");
}
