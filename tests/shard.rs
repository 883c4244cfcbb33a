//! `--shard I/N` and `merge-reports`, end to end: the embedded suite run whole and in four
//! shards (at once, as four CI jobs would), with a defect and a baseline, and the merged
//! shards compared with the whole run: the same scenarios in the same order, each with the
//! same verdict, violated requirement and impact; the same stale baseline entry; the same exit
//! code. Then the merges that must be refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{BIN, scratch, wait_with_limit};
use serde_json::Value;

/// The suite under one revision with a defect (some MUST fails) and a baseline that lists
/// that failure (known) and a requirement that passes (a stale entry), without RS-06's wait.
fn suite_args(dir: &Path) -> Vec<String> {
    let baseline = dir.join("baseline.toml");
    std::fs::write(
        &baseline,
        "[[expected]]\nrequirement = \"CODE-02\"\nreason = \"the code-reusable defect\"\n\n\
         [[expected]]\nrequirement = \"PKCE-06\"\nreason = \"fixed long ago\"\n",
    )
    .expect("the baseline");
    [
        "run",
        "--spec",
        "2025-11-25",
        "--defect",
        "code-reusable",
        "--defect",
        "token-error-status-401",
        "-t",
        "not @RS-06",
        "--baseline",
    ]
    .into_iter()
    .map(String::from)
    .chain([baseline.display().to_string()])
    .collect()
}

fn spawn(args: &[String], out: &Path) -> std::process::Child {
    std::fs::create_dir_all(out).expect("the reports directory");
    Command::new(BIN)
        .args(args)
        .arg("--junit")
        .arg(out.join("junit.xml"))
        .arg("--json")
        .arg(out.join("cucumber.json"))
        .arg("--results")
        .arg(out.join("results.json"))
        .arg("--html")
        .arg(out.join("report.html"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the runner starts")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("results.json")).expect("JSON")
}

/// What must be equal between the whole run and the merged shards, per scenario.
fn verdicts(results: &Value) -> Vec<(String, String, Value, Value, Value, Value)> {
    results["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| {
            (
                format!("{}:{}", s["file"].as_str().unwrap_or(""), s["line"]),
                s["name"].as_str().unwrap_or("").to_string(),
                s["requirements"].clone(),
                s["verdict"].clone(),
                s["violated"].clone(),
                s["impact"].clone(),
            )
        })
        .collect()
}

fn merge(args: &[&Path], out: &Path) -> (Option<i32>, String) {
    let child = Command::new(BIN)
        .arg("merge-reports")
        .args(args)
        .arg("--results")
        .arg(out.join("results.json"))
        .arg("--junit")
        .arg(out.join("junit.xml"))
        .arg("--html")
        .arg(out.join("report.html"))
        .arg("--summary")
        .arg(out.join("summary.md"))
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("merge-reports starts");
    let o = wait_with_limit(child, Duration::from_secs(60));
    (o.status.code(), text(&o))
}

/// The JUnit testcases as (name, verdict property), in document order.
fn junit_cases(xml: &str) -> Vec<(String, String)> {
    xml.split("<testcase ")
        .skip(1)
        .map(|case| {
            let name = case
                .split_once("name=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map_or("", |(n, _)| n);
            let verdict = case
                .split_once("<property name=\"verdict\" value=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map_or("", |(v, _)| v);
            (name.to_string(), verdict.to_string())
        })
        .collect()
}

#[test]
fn four_merged_shards_report_what_the_whole_run_reports() {
    let dir = scratch("shards");
    let args = suite_args(&dir);
    let whole = spawn(&args, &dir.join("whole"));
    let shards: Vec<(PathBuf, std::process::Child)> = (1..=4)
        .map(|i| {
            let out = dir.join(format!("shard-{i}"));
            let mut a = args.clone();
            a.extend(["--shard".to_string(), format!("{i}/4")]);
            let child = spawn(&a, &out);
            (out, child)
        })
        .collect();
    let limit = Duration::from_secs(600);
    let whole = wait_with_limit(whole, limit);
    let whole_code = whole.status.code();
    assert_eq!(whole_code, Some(1), "{}", text(&whole));
    let mut parts = Vec::new();
    for (out, child) in shards {
        let o = wait_with_limit(child, limit);
        assert!(matches!(o.status.code(), Some(0 | 1 | 3)), "{}", text(&o));
        assert!(text(&o).contains("Shard "), "{}", text(&o));
        parts.push(out.join("results.json"));
    }

    let whole = json(&dir.join("whole/results.json"));
    let sizes: Vec<usize> = parts
        .iter()
        .map(|p| json(p)["scenarios"].as_array().map_or(0, Vec::len))
        .collect();
    // Each shard ran its own part: about a quarter each.
    let total = whole["totals"]["scenarios"].as_u64().unwrap_or(0) as usize;
    for s in &sizes {
        assert!(*s > 0 && *s < total / 2, "{sizes:?} of {total}");
    }

    let merged_dir = dir.join("merged");
    // The order the files are given in does not matter.
    let refs: Vec<&Path> = parts.iter().rev().map(PathBuf::as_path).collect();
    let (code, output) = merge(&refs, &merged_dir);
    assert_eq!(code, whole_code, "{output}");
    let merged = json(&merged_dir.join("results.json"));
    let (a, b) = (verdicts(&whole), verdicts(&merged));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    for key in [
        "totals",
        "failures_by_impact",
        "exit_code",
        "revision",
        "fail_on",
        "target_id",
        "baseline",
    ] {
        assert_eq!(merged[key], whole[key], "{key}");
    }
    // The run has what the comparison is about: failures, known failures, the stale entry.
    let stale = b.iter().filter(|s| s.1.contains("no longer fails")).count();
    assert_eq!(stale, 1, "{b:?}");
    assert!(b.iter().any(|s| s.3 == "known"));
    assert!(b.iter().any(|s| s.3 == "fail"));
    assert_eq!(merged["shard"], Value::Null);
    // Requests are summed over the shards.
    let sent: u64 = parts
        .iter()
        .map(|p| json(p)["requests"]["total"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(merged["requests"]["total"].as_u64(), Some(sent));

    // JUnit: the same testcases in the same order with the same verdicts.
    let read = |p: PathBuf| std::fs::read_to_string(p).expect("report");
    assert_eq!(
        junit_cases(&read(dir.join("whole/junit.xml"))),
        junit_cases(&read(merged_dir.join("junit.xml")))
    );
    let page = read(merged_dir.join("report.html"));
    assert!(page.contains("id=\"CODE-02\""), "the HTML report");
    assert!(read(merged_dir.join("summary.md")).contains("## MCP OAuth conformance: failed"));

    // The README's merge job, run as written over the shards laid out as the artifact
    // download lays them out, writes the same verdicts.
    let job = dir.join("merge-job");
    for (i, p) in parts.iter().enumerate() {
        let to = job.join(format!("shards/conformance-shard-{}", i + 1));
        std::fs::create_dir_all(&to).expect("artifact directory");
        std::fs::copy(p, to.join("results.json")).expect("artifact");
    }
    let bin_dir = Path::new(BIN).parent().expect("the binary's directory");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(recipe().merge_command)
        .current_dir(&job)
        .env("PATH", path)
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs");
    let o = wait_with_limit(child, Duration::from_secs(60));
    assert_eq!(o.status.code(), whole_code, "{}", text(&o));
    assert_eq!(verdicts(&json(&job.join("reports/results.json"))), a);
    assert!(job.join("reports/report.html").is_file());

    // Merging what is not one run's shards is refused, naming the problem.
    let refused = |files: &[&Path], says: &str| {
        let (code, output) = merge(files, &dir.join("refused"));
        assert_eq!(code, Some(2), "{output}");
        assert!(output.contains(says), "{output}");
    };
    refused(
        &[&parts[0], &parts[0], &parts[2], &parts[3]],
        "overlapping shards",
    );
    refused(&[&parts[0], &parts[1], &parts[2]], "shard 4/4 missing");
    refused(&[&parts[0], &dir.join("whole/results.json")], "not a shard");
    refused(&[&dir.join("nowhere.json")], "cannot read");
}

#[test]
fn a_shard_outside_its_run_is_a_usage_error() {
    for bad in ["0/4", "5/4", "4", "x/y"] {
        let out = Command::new(BIN)
            .args(["run", "--shard", bad, "-t", "@PKCE-06"])
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
        assert!(text(&out).contains("expected I/N"), "{}", text(&out));
    }
}

/// The README's GitHub Actions recipe: the shards of its matrix, the `/N` its run step gives
/// `--shard`, and its merge job's command.
struct Recipe {
    matrix: Vec<usize>,
    shard_count: usize,
    merge_command: String,
}

fn recipe() -> Recipe {
    let readme = std::fs::read_to_string(common::repo_file("README.md")).expect("README.md");
    let (_, after) = readme
        .split_once("**GitHub Actions: the CI system is the distributed engine.**")
        .expect("the recipe's paragraph");
    let (_, block) = after.split_once("```yaml\n").expect("a yaml block");
    let (yaml, _) = block.split_once("```").expect("the block's end");
    let matrix: Vec<usize> = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("shard: ["))
        .and_then(|l| l.strip_suffix(']'))
        .expect("the matrix")
        .split(',')
        .map(|n| n.trim().parse().expect("a shard number"))
        .collect();
    let (_, count) = yaml
        .split_once("--shard ${{ matrix.shard }}/")
        .expect("--shard from the matrix");
    let shard_count = count
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .expect("N");
    let (_, merge) = yaml
        .split_once("- name: Merge the shards")
        .expect("the merge step");
    let (_, run) = merge.split_once("run: |\n").expect("its commands");
    let merge_command = run
        .lines()
        .take_while(|l| l.starts_with("          "))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n");
    Recipe {
        matrix,
        shard_count,
        merge_command,
    }
}

/// The matrix runs every shard of the split it asks for, once, and the merge job merges them.
#[test]
fn the_readme_matrix_covers_every_shard() {
    let r = recipe();
    assert_eq!(r.matrix, (1..=r.shard_count).collect::<Vec<_>>());
    assert!(
        r.merge_command
            .starts_with("mcp-oauth-conformance merge-reports shards/*/results.json"),
        "{}",
        r.merge_command
    );
}

/// More shards than scenarios: the extra shards are empty (they run nothing and say so), and
/// the merge of all of them is still the whole run.
#[test]
fn empty_shards_merge_too() {
    let dir = scratch("empty-shards");
    let args: Vec<String> = [
        "run",
        "--spec",
        "2025-11-25",
        "--defect",
        "pkce-verifier-unchecked",
        "-t",
        "@PKCE-06 or @PKCE-02",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let whole = wait_with_limit(spawn(&args, &dir.join("whole")), Duration::from_secs(300));
    assert_eq!(whole.status.code(), Some(1), "{}", text(&whole));
    let mut parts = Vec::new();
    for i in 1..=5 {
        let out = dir.join(format!("shard-{i}"));
        let mut a = args.clone();
        a.extend(["--shard".to_string(), format!("{i}/5")]);
        let o = wait_with_limit(spawn(&a, &out), Duration::from_secs(300));
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
        parts.push(out.join("results.json"));
    }
    assert_eq!(
        json(&parts[4])["totals"]["scenarios"],
        0,
        "shard 5/5 is empty"
    );
    let refs: Vec<&Path> = parts.iter().map(PathBuf::as_path).collect();
    let (code, output) = merge(&refs, &dir.join("merged"));
    assert_eq!(code, Some(1), "{output}");
    assert_eq!(
        verdicts(&json(&dir.join("merged/results.json"))),
        verdicts(&json(&dir.join("whole/results.json")))
    );
}
