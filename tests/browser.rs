//! The browser login driver against a reference server whose login page is built by
//! JavaScript (`reference-server --login-page js`): the server is a child process, the runner
//! is given `--target` and `fixtures/targets/browser.toml`, and every login happens in a real
//! headless Chromium driven through chromedriver (`/usr/bin/chromium`, `/usr/bin/chromedriver`;
//! `.ci/run` installs them).
//!
//! Also: the form driver on that page stops with a clear harness error that points to the
//! browser driver, and a profile naming a chromedriver that is not there is a usage error.

mod common;

use std::time::Duration;

use common::{Run, Server, repo_file, runner, scratch};

/// A few logins in a fresh browser each take well under this.
const LIMIT: Duration = Duration::from_secs(180);

/// Logins with consent (PKCE-02, CODE-01) and a token used at the resource (RS-02).
const SCENARIOS: &str = "@PKCE-02 or @CODE-01 or @RS-02";

fn js_login_server() -> Server {
    Server::start(&[
        "--port",
        "0",
        "--login-page",
        "js",
        "--access-token-ttl",
        "10",
        "--allow-loopback-http-client-ids",
    ])
}

/// Whether Chromium and chromedriver are installed. Where they are not, the browser login test
/// says so and does not run, so that `cargo test` works on a machine without them; `.ci/run`
/// installs them and sets `MCP_CONFORMANCE_REQUIRE_BROWSER`, which makes their absence a
/// failure.
fn browser_installed() -> bool {
    let present = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
        .iter()
        .all(|p| std::path::Path::new(p).is_file());
    if !present {
        assert!(
            std::env::var_os("MCP_CONFORMANCE_REQUIRE_BROWSER").is_none(),
            "MCP_CONFORMANCE_REQUIRE_BROWSER is set, but /usr/bin/chromium or /usr/bin/chromedriver is missing"
        );
        eprintln!(
            "NOT RUN: the browser login test needs Chromium and chromedriver (Debian packages chromium and chromium-driver; .ci/run installs them)"
        );
    }
    present
}

fn ran_and_passed(run: &Run, id: &str) {
    let cases = run.testcases(&format!("{id} "));
    assert!(!cases.is_empty(), "{id} is in the report: {}", run.junit);
    for case in cases {
        assert!(
            !case.contains("<skipped") && !case.contains("<failure") && !case.contains("<error"),
            "{id} ran and passed: {case}"
        );
    }
}

#[test]
fn the_browser_driver_logs_in_on_a_page_built_by_javascript() {
    if !browser_installed() {
        return;
    }
    let server = js_login_server();
    let dir = scratch("browser-js-login");
    let profile = repo_file("fixtures/targets/browser.toml");
    let mcp = server.url("mcp");
    let run = runner(
        &dir,
        &[
            "run",
            "--target",
            &mcp,
            "--config",
            profile.to_str().expect("utf-8 path"),
            "--spec",
            "2025-11-25",
            "-t",
            SCENARIOS,
        ],
        LIMIT,
    );
    assert_eq!(run.code, Some(0), "{}", run.text);
    for id in ["PKCE-02", "CODE-01", "RS-02"] {
        ran_and_passed(&run, id);
    }
    assert!(run.clean(), "{}", run.junit);
    assert!(run.text.contains("Login driver: browser"), "{}", run.text);
}

#[test]
fn the_form_driver_on_a_javascript_login_page_says_to_use_the_browser_driver() {
    let server = js_login_server();
    let dir = scratch("browser-js-form-driver");
    let mcp = server.url("mcp");
    let run = runner(
        &dir,
        &[
            "run",
            "--target",
            &mcp,
            "--spec",
            "2025-11-25",
            "-t",
            "@PKCE-02",
        ],
        LIMIT,
    );
    assert_ne!(run.code, Some(0), "{}", run.text);
    for said in ["is probably built by JavaScript", "driver = \"browser\""] {
        assert!(
            run.text.contains(said),
            "the output says {said:?}: {}",
            run.text
        );
        assert!(
            run.junit.contains(said),
            "the report says {said:?}: {}",
            run.junit
        );
    }
    let cases = run.testcases("PKCE-02 ");
    assert!(!cases.is_empty(), "{}", run.junit);
    for case in cases {
        assert!(
            case.contains("<error") && !case.contains("<failure"),
            "a harness error, not a failure of the target: {case}"
        );
    }
}

#[test]
fn a_missing_chromedriver_is_a_usage_error_naming_the_profile_field() {
    let dir = scratch("browser-no-chromedriver");
    let profile = dir.join("profile.toml");
    std::fs::write(
        &profile,
        "[login]\ndriver = \"browser\"\n\n[login.browser]\nchromedriver = \"/nonexistent/chromedriver\"\n",
    )
    .expect("profile written");
    let server = Server::start(&["--port", "0"]);
    let mcp = server.url("mcp");
    let run = runner(
        &dir,
        &[
            "run",
            "--target",
            &mcp,
            "--config",
            profile.to_str().expect("utf-8 path"),
            "-t",
            "@PKCE-02",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(run.code, Some(2), "{}", run.text);
    for said in [
        "login.browser.chromedriver",
        "/nonexistent/chromedriver",
        "chromium-driver",
    ] {
        assert!(
            run.text.contains(said),
            "the message says {said:?}: {}",
            run.text
        );
    }
}
