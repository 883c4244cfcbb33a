//! Shared by the integration tests that start servers and the runner as child processes:
//! the reference server through `mcp-oauth-conformance reference-server`, its URL line read
//! from stdout (never a fixed port), and the runner with its reports in a scratch directory.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_mcp-oauth-conformance");

/// A reference server running as a child process; killed when dropped.
pub struct Server {
    child: Child,
    /// The JSON line it printed: `mcp`, `mcp_alt`, `issuer`, `as_metadata`, `prm` (and
    /// `ca_cert` with `--tls`).
    pub urls: serde_json::Value,
}

impl Server {
    /// Starts `mcp-oauth-conformance reference-server ARGS` and waits (at most 30 s) for its
    /// URL line.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with_env(args, &[])
    }

    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("reference-server")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the reference server starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("the reference server printed no URL line within 30 s ({args:?})");
            }
        };
        let urls: serde_json::Value = match serde_json::from_str(line.trim()) {
            Ok(v) => v,
            Err(e) => {
                let _ = child.kill();
                panic!("the reference server's first line is not JSON ({e}): {line:?}");
            }
        };
        Server { child, urls }
    }

    pub fn url(&self, name: &str) -> String {
        self.urls[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {}", self.urls))
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mcp-oauth-conformance-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A profile that says its target is a reference server, so the runner logs in as the
/// reference server's test user (the default only there), in `dir`.
pub fn reference_profile(dir: &Path) -> PathBuf {
    let path = dir.join("reference-server.toml");
    std::fs::write(&path, "[login]\nreference_server = true\n").expect("write the profile");
    path
}

/// A file of the repository.
pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A finished runner: its exit code, its console output and its JUnit report.
pub struct Run {
    pub code: Option<i32>,
    pub text: String,
    pub junit: String,
}

impl Run {
    /// Each testcase of the JUnit report whose name starts with `prefix`, as its text.
    pub fn testcases(&self, prefix: &str) -> Vec<&str> {
        self.junit
            .split("<testcase ")
            .skip(1)
            .map(|case| case.split("</testcase>").next().unwrap_or(case))
            .filter(|case| case.starts_with(&format!("name=\"{prefix}")))
            .collect()
    }

    pub fn clean(&self) -> bool {
        !self.junit.contains("<failure") && !self.junit.contains("<error")
    }

    /// Asserts that testcases whose names start with `prefix` are in the report, each with the
    /// verdict `verdict` (`PASS`, `FAIL`, `WARN`, ...).
    pub fn assert_verdict(&self, prefix: &str, verdict: &str) {
        let cases = self.testcases(prefix);
        assert!(!cases.is_empty(), "{prefix}is in the report");
        let property = format!("<property name=\"verdict\" value=\"{verdict}\"/>");
        assert!(
            cases.iter().all(|c| c.contains(&property)),
            "{prefix}is {verdict}: {cases:?}"
        );
    }

    /// Each testcase that failed or ended in an error, as its text, but those whose names start
    /// with one of `expected`.
    pub fn failing_except(&self, expected: &[&str]) -> Vec<&str> {
        self.junit
            .split("<testcase ")
            .skip(1)
            .map(|case| case.split("</testcase>").next().unwrap_or(case))
            .filter(|case| {
                !expected
                    .iter()
                    .any(|n| case.starts_with(&format!("name=\"{n}")))
            })
            .filter(|case| case.contains("<failure") || case.contains("<error"))
            .collect()
    }
}

/// `run --target MCP --config PROFILE --spec 2025-11-25 -t TAGS`: a few scenarios against a
/// separately started server, at a fixed revision (no login spent learning it).
pub fn run_args<'a>(mcp: &'a str, profile: &'a Path, tags: &'a str) -> Vec<&'a str> {
    vec![
        "run",
        "--target",
        mcp,
        "--config",
        profile.to_str().expect("utf-8 path"),
        "--spec",
        "2025-11-25",
        "-t",
        tags,
    ]
}

/// Runs the runner with `args`, its reports in `dir`; kills it after `limit`.
pub fn runner(dir: &Path, args: &[&str], limit: Duration) -> Run {
    let mut cmd = runner_command(dir, args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    finish(dir, cmd.spawn().expect("the runner starts"), limit)
}

/// The runner's command line with its reports in `dir`, to be spawned by the caller.
pub fn runner_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .arg("--junit")
        .arg(dir.join("junit.xml"))
        .arg("--json")
        .arg(dir.join("cucumber.json"))
        .arg("--results")
        .arg(dir.join("results.json"))
        .arg("--html")
        .arg(dir.join("report.html"))
        .stdin(Stdio::null());
    cmd
}

/// Waits for a spawned runner (killing it after `limit`) and reads its reports from `dir`.
pub fn finish(dir: &Path, child: Child, limit: Duration) -> Run {
    let out = wait_with_limit(child, limit);
    Run {
        code: out.status.code(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        junit: std::fs::read_to_string(dir.join("junit.xml")).unwrap_or_default(),
    }
}

/// `wait_with_output`, but the child is killed after `limit` (the test then fails on its
/// missing exit code, instead of hanging).
pub fn wait_with_limit(child: Child, limit: Duration) -> Output {
    let id = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("the child's output"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            let out = rx
                .recv()
                .expect("the killed child's output")
                .expect("output");
            panic!(
                "killed after {limit:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
