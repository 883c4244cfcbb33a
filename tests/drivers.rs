//! The login drivers other than the generic form driver, end to end against a separately
//! started reference server (child processes only):
//!
//! - `command`: the runner's own `login --reveal` subcommand as the user's program, and a
//!   program that prints nonsense;
//! - `manual`: the test plays the person, reading the authorization URLs the runner prints on
//!   stderr, logging in with `login --reveal`, and answering on stdin or with the browser's
//!   request to the redirect listener; nobody answering; stdin closed without a listener;
//! - the form driver with the scripted profile `fixtures/targets/form-scripted.toml`, and a
//!   script whose selector is not on the page;
//! - the profiles `fixtures/targets/{manual,command,form-scripted}.toml` parse, and the command
//!   one works with the harness on PATH;
//! - the configuration errors of these drivers.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::time::Duration;

use common::{BIN, Run, Server, finish, repo_file, run_args, runner, runner_command, scratch};
use regex::Regex;
use url::Url;

/// A run of one or two scenarios takes a few seconds; this is the most any may take.
const LIMIT: Duration = Duration::from_secs(120);

fn server() -> Server {
    Server::start(&["--port", "0", "--access-token-ttl", "10"])
}

/// Writes a profile into `dir`; returns its path.
fn profile(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("profile written");
    path
}

/// A TOML string holding `s`.
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a JSON string is a TOML basic string")
}

/// A port nothing listens on now (for a redirect URI the runner listens on).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn assert_passed(run: &Run, ids: &[&str]) {
    assert_eq!(run.code, Some(0), "{}", run.text);
    for id in ids {
        let cases = run.testcases(&format!("{id} "));
        assert!(!cases.is_empty(), "{id} ran: {}", run.text);
        for case in cases {
            assert!(
                case.contains("value=\"PASS\""),
                "{id} passed: {case}\n{}",
                run.text
            );
        }
    }
    assert!(run.clean(), "{}", run.junit);
}

fn assert_harness_error(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, Some(3), "{}", run.text);
    assert!(run.junit.contains("<error"), "{}", run.junit);
    for n in needles {
        assert!(run.text.contains(n), "the output names {n:?}: {}", run.text);
    }
}

#[test]
fn the_command_driver_runs_the_users_program_for_each_login() {
    let server = server();
    let mcp = server.url("mcp");
    let dir = scratch("drivers-command");
    let good = profile(
        &dir,
        "command.toml",
        &format!(
            "[login]\ndriver = \"command\"\ncommand = [{}, \"login\", \"--reveal\", \"--reference-server\"]\ntimeout_secs = 30\n",
            toml_str(BIN)
        ),
    );
    let run = runner(&dir, &run_args(&mcp, &good, "@PKCE-02 or @CODE-01"), LIMIT);
    assert_passed(&run, &["PKCE-02", "CODE-01"]);
    assert!(run.text.contains("Login driver: command"), "{}", run.text);

    // A program whose last line is not a redirect URL: a harness error that says so, the
    // authorization URL it echoed quoted without its end.
    let garbage = profile(
        &dir,
        "echo.toml",
        "[login]\ndriver = \"command\"\ncommand = [\"/bin/echo\", \"nonsense\"]\n",
    );
    let run = runner(&dir, &run_args(&mcp, &garbage, "@PKCE-02"), LIMIT);
    assert_harness_error(
        &run,
        &[
            "the login command (/bin/echo nonsense) printed a last line that is neither a URL nor `page <reason>`",
            "\"nonsense http://",
        ],
    );

    // A program that fails: its exit status and the end of its stderr, codes redacted.
    let script = dir.join("fails.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"got http://127.0.0.1:1/cb?code=SECRETCODE1234567&state=s\" >&2\necho 'the login failed' >&2\nexit 7\n",
    )
    .expect("script written");
    let chmod = Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .expect("chmod");
    assert!(chmod.success());
    let failing = profile(
        &dir,
        "fails.toml",
        &format!(
            "[login]\ndriver = \"command\"\ncommand = [{}]\n",
            toml_str(script.to_str().expect("utf-8"))
        ),
    );
    let run = runner(&dir, &run_args(&mcp, &failing, "@PKCE-02"), LIMIT);
    assert_harness_error(&run, &["exit status: 7", "the login failed", "state=s"]);
    assert!(!run.text.contains("SECRETCODE1234567"), "{}", run.text);
    assert!(!run.junit.contains("SECRETCODE1234567"), "{}", run.junit);
}

/// What the test playing the person does with a redirect URL: gives it to the runner, and
/// returns notes to assert on.
type Deliver = fn(&str, &mut ChildStdin) -> Vec<String>;

/// A finished manual run: the run, its stderr as the person saw it, the redirect URLs handed
/// over, and the delivery notes.
struct ManualRun {
    run: Run,
    stderr: String,
    redirects: Vec<String>,
    notes: Vec<String>,
}

/// Runs the runner with the manual driver, playing the person: each authorization URL printed
/// on stderr is logged into with `login --reveal` and its redirect URL handed over by `deliver`.
fn manual_run(dir: &Path, args: &[&str], deliver: Deliver) -> ManualRun {
    let mut cmd = runner_command(dir, args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the runner starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stderr = child.stderr.take().expect("piped stderr");
    let person = std::thread::spawn(move || {
        let mut seen = String::new();
        let mut redirects = Vec::new();
        let mut notes = Vec::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            seen.push_str(&line);
            seen.push('\n');
            let t = line.trim();
            if t.starts_with("http") && t.contains("code_challenge=") {
                let redirect = log_in(t);
                notes.extend(deliver(&redirect, &mut stdin));
                redirects.push(redirect);
            }
        }
        (seen, redirects, notes)
    });
    let run = finish(dir, child, LIMIT);
    let (stderr, redirects, notes) = person.join().expect("the person's thread");
    ManualRun {
        run,
        stderr,
        redirects,
        notes,
    }
}

/// Completes one authorization as the person would: `login --reveal URL` (the form driver as
/// the reference server's default user); returns the redirect URL.
fn log_in(url: &str) -> String {
    let child = Command::new(BIN)
        .args(["login", "--reveal", "--reference-server", url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("login starts");
    let out = common::wait_with_limit(child, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "login --reveal {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The code of a redirect URL.
fn code_of(redirect: &str) -> String {
    Url::parse(redirect)
        .expect("a redirect URL")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code")
}

fn manual_profile(dir: &Path, listen: bool, port: u16) -> PathBuf {
    profile(
        dir,
        "manual.toml",
        &format!(
            "[login]\ndriver = \"manual\"\ntimeout_secs = 60\n\n[login.manual]\nlisten = {listen}\n\n[client]\nredirect_uri = \"http://127.0.0.1:{port}/callback\"\n"
        ),
    )
}

/// Checks what every manual run shows the person.
fn assert_person_was_guided(m: &ManualRun) {
    let about = Regex::new(r"this run needs about \d+ logins? by a person").expect("regex");
    assert!(about.is_match(&m.stderr), "{}", m.stderr);
    assert!(m.stderr.contains("== Login 1 of about "), "{}", m.stderr);
    assert!(!m.redirects.is_empty(), "{}", m.stderr);
    for r in &m.redirects {
        let code = code_of(r);
        assert!(
            !m.stderr.contains(&code),
            "the code is never printed: {}",
            m.stderr
        );
    }
    assert!(m.stderr.contains("received a redirect to"), "{}", m.stderr);
}

#[test]
fn the_manual_driver_reads_pasted_redirect_urls_on_stdin() {
    fn paste(redirect: &str, stdin: &mut ChildStdin) -> Vec<String> {
        // A line that is neither a URL nor `page` is asked again.
        let _ = stdin.write_all(b"done?\n");
        let _ = stdin.write_all(format!("{redirect}\n").as_bytes());
        let _ = stdin.flush();
        Vec::new()
    }
    let server = server();
    let mcp = server.url("mcp");
    let dir = scratch("drivers-manual-stdin");
    // Nothing listens on this redirect URI: the redirect is only pasted.
    let p = manual_profile(&dir, false, free_port());
    // Two scenarios, run at once, whose logins come one after the other.
    let m = manual_run(&dir, &run_args(&mcp, &p, "@PKCE-02 or @CODE-01"), paste);
    assert_passed(&m.run, &["PKCE-02", "CODE-01"]);
    assert_person_was_guided(&m);
    assert!(m.redirects.len() >= 2, "{}", m.stderr);
    assert!(m.stderr.contains("== Login 2 of about "), "{}", m.stderr);
    assert!(
        m.stderr.contains("Not understood: \"done?\""),
        "{}",
        m.stderr
    );
}

#[test]
fn read_only_scenarios_share_one_manual_login() {
    fn paste(redirect: &str, stdin: &mut ChildStdin) -> Vec<String> {
        let _ = stdin.write_all(format!("{redirect}\n").as_bytes());
        let _ = stdin.flush();
        Vec::new()
    }
    // Tokens that live five minutes: long enough to share (a shared token is reused while it
    // has more than two minutes left).
    let server = Server::start(&["--port", "0"]);
    let mcp = server.url("mcp");
    let dir = scratch("drivers-manual-shared");
    let p = manual_profile(&dir, false, free_port());
    let m = manual_run(
        &dir,
        &run_args(&mcp, &p, "@RS-02 or @RS-09 or @RS-11"),
        paste,
    );
    assert_passed(&m.run, &["RS-02", "RS-09", "RS-11"]);
    assert!(m.stderr.contains("about 1 login"), "{}", m.stderr);
    assert_eq!(m.stderr.matches("== Login ").count(), 1, "{}", m.stderr);
    assert_eq!(m.redirects.len(), 1, "{}", m.stderr);
}

#[test]
fn the_manual_driver_catches_the_redirect_on_the_loopback_redirect_uri() {
    /// Plays the browser: a request the listener ignores, then the redirect.
    fn browse(redirect: &str, _stdin: &mut ChildStdin) -> Vec<String> {
        let u = Url::parse(redirect).expect("a redirect URL");
        let port = u.port().expect("a port");
        let target = match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        };
        ["/favicon.ico".to_string(), target]
            .iter()
            .map(|t| get(port, t))
            .collect()
    }
    let server = server();
    let mcp = server.url("mcp");
    let dir = scratch("drivers-manual-listen");
    let p = manual_profile(&dir, true, free_port());
    let m = manual_run(&dir, &run_args(&mcp, &p, "@PKCE-02"), browse);
    assert_passed(&m.run, &["PKCE-02"]);
    assert_person_was_guided(&m);
    assert!(m.stderr.contains("Waiting for the redirect on 127.0.0.1:"));
    assert_eq!(m.notes.len(), 2 * m.redirects.len(), "{:?}", m.notes);
    for pair in m.notes.chunks(2) {
        assert!(pair[0].starts_with("HTTP/1.1 404"), "{pair:?}");
        assert!(pair[1].starts_with("HTTP/1.1 200"), "{pair:?}");
        assert!(pair[1].contains("Login received"), "{pair:?}");
    }
}

/// A GET of `target` on 127.0.0.1:`port`, as a browser sends it; returns the response.
fn get(port: u16, target: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("the listener is up");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    )
    .expect("request written");
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    response
}

#[test]
fn the_manual_driver_gives_up_clearly_when_nobody_answers() {
    let server = server();
    let mcp = server.url("mcp");
    let dir = scratch("drivers-manual-timeout");
    let port = free_port();
    let p = profile(
        &dir,
        "manual.toml",
        &format!(
            "[login]\ndriver = \"manual\"\ntimeout_secs = 2\n\n[limits]\ntimeout_secs = 2\n\n[client]\nredirect_uri = \"http://127.0.0.1:{port}/callback\"\n"
        ),
    );
    let started = std::time::Instant::now();
    let run = runner(&dir, &run_args(&mcp, &p, "@PKCE-02"), LIMIT);
    assert_harness_error(
        &run,
        &[
            "no redirect arrived within 2 s (login.timeout_secs)",
            &format!("nothing arrived on the redirect listener (127.0.0.1:{port})"),
        ],
    );
    assert!(started.elapsed() >= Duration::from_secs(2));

    // Without the listener, a closed stdin ends each login at once.
    let p = manual_profile(&dir, false, port);
    let started = std::time::Instant::now();
    let run = runner(&dir, &run_args(&mcp, &p, "@PKCE-02"), LIMIT);
    assert_harness_error(&run, &["stdin is closed and the redirect listener is off"]);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn the_scripted_form_profile_logs_into_the_reference_server() {
    let server = server();
    let mcp = server.url("mcp");
    let dir = scratch("drivers-form-scripted");
    let scripted = repo_file("fixtures/targets/form-scripted.toml");
    let run = runner(
        &dir,
        &run_args(&mcp, &scripted, "@PKCE-02 or @CODE-01"),
        LIMIT,
    );
    assert_passed(&run, &["PKCE-02", "CODE-01"]);

    // A selector that is not on the page: the script and the selector are named.
    let text = std::fs::read_to_string(&scripted).expect("the fixture");
    assert!(text.contains("\"input[name=username]\""));
    let broken = profile(
        &dir,
        "broken.toml",
        &text.replace("\"input[name=username]\"", "\"input[name=user_name]\""),
    );
    let run = runner(&dir, &run_args(&mcp, &broken, "@PKCE-02"), LIMIT);
    assert_harness_error(
        &run,
        &[
            "login.pages[0]",
            "\"input[name=user_name]\" matches nothing on the page",
        ],
    );
}

#[test]
fn the_fixtures_parse_and_the_command_one_works_with_the_harness_on_path() {
    use mcp_oauth_conformance::client::login::DriverKind;
    use mcp_oauth_conformance::config::Profile;
    for (name, driver) in [
        ("manual", DriverKind::Manual),
        ("command", DriverKind::Command),
        ("form-scripted", DriverKind::Form),
    ] {
        let p = Profile::load(&repo_file(&format!("fixtures/targets/{name}.toml")))
            .unwrap_or_else(|e| panic!("{name}.toml: {e}"));
        assert_eq!(p.login.driver, driver, "{name}.toml");
    }
    let server = server();
    let mcp = server.url("mcp");
    let dir = scratch("drivers-command-fixture");
    let fixture = repo_file("fixtures/targets/command.toml");
    let bin_dir = Path::new(BIN).parent().expect("the binary's directory");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let mut cmd = runner_command(&dir, &run_args(&mcp, &fixture, "@PKCE-02"));
    cmd.env("PATH", path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = finish(&dir, cmd.spawn().expect("the runner starts"), LIMIT);
    assert_passed(&run, &["PKCE-02"]);
}

#[test]
fn driver_configuration_errors_stop_the_run_before_it_starts() {
    let server = server();
    let mcp = server.url("mcp");
    let dir = scratch("drivers-config");
    let cases = [
        (
            "[login]\ndriver = \"command\"\ncommand = [\"/nonexistent/dir/login-helper.sh\"]\n",
            "\"/nonexistent/dir/login-helper.sh\" does not exist",
        ),
        (
            "[login]\ndriver = \"command\"\ncommand = [\"no-such-login-program-7c1f\", \"--flag\"]\n",
            "\"no-such-login-program-7c1f\" is not found on PATH",
        ),
        (
            "[login]\ndriver = \"manual\"\n\n[client]\nredirect_uri = \"https://app.example/callback\"\n",
            "set listen = false in [login.manual]",
        ),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let p = profile(&dir, &format!("bad-{i}.toml"), text);
        let run = runner(&dir, &run_args(&mcp, &p, "@PKCE-02"), LIMIT);
        assert_eq!(run.code, Some(2), "{text}: {}", run.text);
        assert!(run.text.contains(needle), "{needle}: {}", run.text);
    }
}
