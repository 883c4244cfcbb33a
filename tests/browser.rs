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

use common::{Run, Server, repo_file, run_args, runner, scratch};

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
    let run = runner(&dir, &run_args(&mcp, &profile, SCENARIOS), LIMIT);
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

/// The `login-needs-scripts` variant: the login form is in the HTML, but only its script gives
/// it an action, so a native submission goes back to the authorization endpoint, which
/// answers 405.
fn scripted_submission_server() -> Server {
    Server::start(&[
        "--port",
        "0",
        "--variant",
        "login-needs-scripts",
        "--access-token-ttl",
        "10",
        "--allow-loopback-http-client-ids",
    ])
}

#[test]
fn a_login_submitted_by_scripts_is_the_form_drivers_harness_error_naming_the_browser_driver() {
    let server = scripted_submission_server();
    let dir = scratch("browser-scripted-submit-form-driver");
    let mcp = server.url("mcp");
    let profile = common::reference_profile(&dir);
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
            "@PKCE-02 or @CODE-01",
        ],
        LIMIT,
    );
    assert_ne!(run.code, Some(0), "{}", run.text);
    for said in [
        "the form driver could not complete the login",
        "the submission was answered 405",
        "use the browser driver",
    ] {
        assert!(
            run.junit.contains(said),
            "the report says {said:?}: {}",
            run.junit
        );
    }
    for id in ["PKCE-02", "CODE-01"] {
        let cases = run.testcases(&format!("{id} "));
        assert!(!cases.is_empty(), "{}", run.junit);
        for case in cases {
            assert!(
                case.contains("<error") && !case.contains("<failure"),
                "a harness error, not a failure of the target: {case}"
            );
        }
    }
}

#[test]
fn the_browser_driver_passes_a_login_submitted_by_scripts() {
    if !browser_installed() {
        return;
    }
    let server = scripted_submission_server();
    let dir = scratch("browser-scripted-submit");
    let profile = repo_file("fixtures/targets/browser.toml");
    let mcp = server.url("mcp");
    let run = runner(&dir, &run_args(&mcp, &profile, SCENARIOS), LIMIT);
    assert_eq!(run.code, Some(0), "{}", run.text);
    for id in ["PKCE-02", "CODE-01", "RS-02"] {
        ran_and_passed(&run, id);
    }
    assert!(run.clean(), "{}", run.junit);
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
        &run_args(&mcp, &profile, "@PKCE-02"),
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

/// A page that redirects the browser to a host outside `allowed_hosts` (`localhost`, while only
/// `127.0.0.1` is allowed). The browser follows redirects by itself, before the driver can look,
/// so only the host resolver rules the driver gives it keep it from connecting: the server,
/// which counts the requests that arrive for `localhost`, sees none, and the login ends in an
/// error naming `allowed_hosts`.
#[test]
fn the_browser_never_reaches_a_host_outside_allowed_hosts() {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    if !browser_installed() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let reached_other_host = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&reached_other_host);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
            let response = if head.contains("\r\nhost: localhost") {
                counter.fetch_add(1, Ordering::SeqCst);
                "HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\nreached"
                    .to_string()
            } else {
                format!(
                    "HTTP/1.1 302 Found\r\nlocation: http://localhost:{port}/elsewhere\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                )
            };
            let _ = stream.write_all(response.as_bytes());
        }
    });
    let dir = scratch("browser-allowed-hosts");
    let profile = dir.join("p.toml");
    std::fs::write(
        &profile,
        "allowed_hosts = [\"127.0.0.1\"]\n[login]\ndriver = \"browser\"\ntimeout_secs = 30\n",
    )
    .expect("profile");
    let start = format!(
        "http://127.0.0.1:{port}/authorize?redirect_uri=http%3A%2F%2F127.0.0.1%3A33418%2Fcallback"
    );
    let child = std::process::Command::new(common::BIN)
        .arg("login")
        .arg("--config")
        .arg(&profile)
        .arg(&start)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the runner starts");
    let out = common::wait_with_limit(child, Duration::from_secs(90));
    let text = String::from_utf8_lossy(&out.stderr);
    let ended = String::from_utf8_lossy(&out.stdout);
    // The login follows a login service on another loopback origin, but only within
    // allowed_hosts: here it stops before the browser resolves the host, naming the setting.
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("localhost is not an allowed host") && text.contains("allowed_hosts"),
        "{text}"
    );
    assert!(ended.trim().is_empty(), "{ended}");
    assert_eq!(reached_other_host.load(Ordering::SeqCst), 0, "{text}");
}

/// A login script in the browser: the sign-in page's fields filled by selector, its form
/// submitted by its own submit button (the script names none), the consent page's approving
/// button named. With a password the server refuses, the sign-in page coming back is a
/// refused login, not a loop.
#[test]
fn the_browser_driver_follows_a_login_script_and_sees_a_refused_password() {
    if !browser_installed() {
        return;
    }
    let script = |password: &str| {
        format!(
            "[login]\ndriver = \"browser\"\nreference_server = true\ntimeout_secs = 60\n\n\
             [[login.pages]]\nurl = '/(authorize|login)([?]|$)'\n\
             [login.pages.fields]\n\"input[name=username]\" = \"{{username}}\"\n\"input[name=password]\" = \"{password}\"\n\n\
             [[login.pages]]\nurl = '/consent[?]'\nsubmit = 'button[value=approve]'\n"
        )
    };
    let server = js_login_server();
    let mcp = server.url("mcp");
    let dir = scratch("browser-scripted");
    let profile = dir.join("scripted.toml");
    std::fs::write(&profile, script("{password}")).expect("profile");
    let run = runner(&dir, &run_args(&mcp, &profile, "@PKCE-02"), LIMIT);
    assert_eq!(run.code, Some(0), "{}", run.text);
    ran_and_passed(&run, "PKCE-02");
    assert!(run.clean(), "{}", run.junit);

    let dir = scratch("browser-scripted-refused");
    let profile = dir.join("refused.toml");
    std::fs::write(&profile, script("not-the-password")).expect("profile");
    let run = runner(&dir, &run_args(&mcp, &profile, "@PKCE-02"), LIMIT);
    assert_ne!(run.code, Some(0), "{}", run.text);
    assert!(
        run.text.contains("wrong username or password"),
        "{}",
        run.text
    );
    assert!(!run.text.contains("not-the-password"), "{}", run.text);
    for case in run.testcases("PKCE-02 ") {
        assert!(
            case.contains("<error") && !case.contains("<failure"),
            "a harness error, not a failure of the target: {case}"
        );
    }
}
