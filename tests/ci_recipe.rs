//! The plain shell recipe of `docs/ci.md`, run as written: its block is taken from the document
//! and run by `/bin/sh` in a scratch directory that holds a `conformance.toml`, with the built
//! runner first on PATH and `MCP_TARGET` pointing at a reference server started as a child
//! process, as a CI job would run it against staging.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{BIN, Server, repo_file, scratch, wait_with_limit};

/// The shell block after the marker comment in `docs/ci.md`.
fn shell_recipe() -> String {
    let doc = std::fs::read_to_string(repo_file("docs/ci.md")).expect("docs/ci.md");
    let (_, after) = doc
        .split_once("<!-- the shell recipe:")
        .expect("the marker before the shell recipe");
    let (_, block) = after.split_once("```sh\n").expect("a sh block");
    let (script, _) = block.split_once("```").expect("the block's end");
    script.to_string()
}

fn run_recipe(dir: &Path, target: &str, args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let bin_dir = Path::new(BIN).parent().expect("the binary's directory");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(shell_recipe())
        .arg("recipe.sh")
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("MCP_TARGET", target)
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs");
    let out = wait_with_limit(child, limit);
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_shell_recipe_runs_the_suite_and_keeps_the_reports() {
    let server = Server::start(&[
        "--port",
        "0",
        "--access-token-ttl",
        "10",
        "--allow-loopback-http-client-ids",
    ]);
    let dir = scratch("ci-recipe");
    std::fs::copy(
        repo_file("fixtures/targets/reference-server.toml"),
        dir.join("conformance.toml"),
    )
    .expect("the profile");
    // RS-06 waits a token out; the rest is the whole suite.
    let (code, output) = run_recipe(
        &dir,
        &server.url("mcp"),
        &["--spec", "2025-11-25", "-t", "not @RS-06"],
        Duration::from_secs(300),
    );
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("conformance: every MUST holds"), "{output}");
    assert!(
        output.contains("## MCP OAuth conformance: passed"),
        "the summary is printed: {output}"
    );
    for report in ["junit.xml", "results.json", "report.html", "summary.md"] {
        let file = dir.join("reports").join(report);
        let len = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{} was written", file.display());
    }
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("reports/results.json")).expect("results.json"),
    )
    .expect("JSON");
    assert_eq!(results["schema_version"], 2);
    assert_eq!(results["exit_code"], 0);
    let page = std::fs::read_to_string(dir.join("reports/report.html")).expect("report.html");
    assert!(
        page.contains(&server.url("mcp").replace('/', "&#x2f;")),
        "the target is named"
    );
}

#[test]
fn the_shell_recipe_passes_on_the_exit_code_and_says_what_it_means() {
    let dir = scratch("ci-recipe-unreachable");
    std::fs::copy(
        repo_file("fixtures/targets/reference-server.toml"),
        dir.join("conformance.toml"),
    )
    .expect("the profile");
    // Nothing listens on port 9 of loopback: the harness cannot reach the target.
    let (code, output) = run_recipe(
        &dir,
        "http://127.0.0.1:9/mcp",
        &["-t", "@PKCE-02"],
        Duration::from_secs(120),
    );
    assert_eq!(code, Some(3), "{output}");
    assert!(
        output.contains("conformance: the harness could not reach every verdict"),
        "{output}"
    );
    let (code, output) = run_recipe(
        &dir,
        "http://127.0.0.1:9/mcp",
        &["--no-such-flag"],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(2), "{output}");
    assert!(output.contains("usage or configuration error"), "{output}");
}

/// The recipes start with `mcp-oauth-conformance --version`: the version, and the MCP
/// revisions the catalogue covers.
#[test]
fn the_version_names_the_catalogue_revisions() {
    let out = Command::new(BIN)
        .arg("--version")
        .output()
        .expect("the binary runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!(
            "mcp-oauth-conformance {} (catalogue: MCP ",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    for r in mcp_oauth_conformance::client::mcp::Revision::ALL {
        assert!(text.contains(r.as_str()), "{text}");
    }
}
