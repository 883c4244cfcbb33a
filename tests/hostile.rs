//! The hostile-target catalogue: the runner against servers that answer slowly, endlessly,
//! hugely, malformed or maliciously. Every case must end within its time limit in the verdict
//! the catalogue names (a harness error that says what the target did, or the failure of the
//! requirement it broke), never a panic or a hang, and the runner's peak memory over the whole
//! catalogue must stay under 100 MB. Everything listens on 127.0.0.1 and is contacted there.
//!
//! `HOSTILE_TABLE=1 cargo test --test hostile -- --nocapture` prints the README's table.

mod common;

#[path = "hostile/bomb.rs"]
mod bomb;
#[path = "hostile/cases.rs"]
mod cases;
#[path = "hostile/raw.rs"]
mod raw;
#[path = "hostile/site.rs"]
mod site;
#[path = "hostile/tls.rs"]
mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cases::{Case, Command, Setup};

/// No case may take longer (the runner's own timeout is 2 s per request).
const CASE_LIMIT: Duration = Duration::from_secs(40);
/// The most memory the runner may hold at once in any case.
const MEMORY_LIMIT_KB: u64 = 100 * 1024;
/// Cases run at once.
const WORKERS: usize = 6;

const PROFILE: &str = r#"
[login]
username = "hostile-user"
password_env = "HOSTILE_TEST_PASSWORD"

[limits]
timeout_secs = 2
"#;

const REDIRECT_URI: &str = "http://127.0.0.1:33418/callback";

/// How one case ended.
struct Outcome {
    code: Option<i32>,
    text: String,
    elapsed: Duration,
    peak_kb: Option<u64>,
}

/// Starts the case's server; returns the runner's arguments (before the report paths).
async fn prepare(case: &Case, dir: &Path) -> Vec<String> {
    let profile = dir.join("profile.toml");
    std::fs::write(&profile, PROFILE).expect("profile");
    let mut args: Vec<String> = Vec::new();
    let target = match &case.setup {
        Setup::RawTarget(r) => format!("{}/mcp", raw::start(*r).await),
        Setup::RawPrm(r) => {
            let at = format!(
                "{}/.well-known/oauth-protected-resource/mcp",
                raw::start(*r).await
            );
            format!("{}/mcp", site::start(Some(site::Twist::PrmAt(at))).await)
        }
        Setup::Site(t) => format!("{}/mcp", site::start(Some(t.clone())).await),
        Setup::Tls(bad, trusted) => {
            let l = tls::start(*bad);
            if *trusted {
                let ca = dir.join("ca.pem");
                std::fs::write(&ca, &l.ca_pem).expect("ca");
                args.extend(["--ca-cert".into(), ca.display().to_string()]);
            }
            format!("{}/mcp", l.base)
        }
    };
    let profile = profile.display().to_string();
    match case.command {
        Command::Run(tags) | Command::RunAuto(tags) => {
            let spec = match case.command {
                Command::RunAuto(_) => "auto",
                _ => "2025-11-25",
            };
            let mut run: Vec<String> = [
                "run",
                "--target",
                &target,
                "--config",
                &profile,
                "--spec",
                spec,
                "--timeout",
                "2",
                "-t",
                tags,
            ]
            .map(String::from)
            .to_vec();
            for (flag, file) in [
                ("--junit", "junit.xml"),
                ("--json", "cucumber.json"),
                ("--results", "results.json"),
                ("--html", "report.html"),
            ] {
                run.extend([flag.into(), dir.join(file).display().to_string()]);
            }
            run.extend(args);
            run
        }
        Command::Login => {
            let base = target.trim_end_matches("/mcp");
            let mut url = url::Url::parse(&format!("{base}/authorize")).expect("url");
            url.query_pairs_mut()
                .append_pair("response_type", "code")
                .append_pair("client_id", "hostile-client")
                .append_pair("redirect_uri", REDIRECT_URI)
                .append_pair("state", "hostile-state")
                .append_pair(
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                )
                .append_pair("code_challenge_method", "S256");
            let mut login: Vec<String> = vec!["login".into(), "--config".into(), profile];
            login.extend(args);
            login.push(url.to_string());
            login
        }
    }
}

/// The child's peak resident memory so far (`VmHWM`, kB), where /proc tells it.
fn peak_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs the runner with `args`, watching its memory; kills it after [`CASE_LIMIT`].
fn run_runner(args: &[String], dir: &Path) -> Outcome {
    let out = std::fs::File::create(dir.join("out.txt")).expect("out file");
    let err = out.try_clone().expect("out file");
    let started = Instant::now();
    let mut child = Process::new(common::BIN)
        .args(args)
        .env("HOSTILE_TEST_PASSWORD", "not-a-real-password")
        .env_remove("MCP_CONFORMANCE_PASSWORD")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("the runner starts");
    let pid = child.id();
    let mut peak = None;
    let code = loop {
        if let Some(kb) = peak_kb(pid) {
            peak = Some(kb.max(peak.unwrap_or(0)));
        }
        match child.try_wait().expect("wait") {
            Some(status) => break status.code(),
            None if started.elapsed() > CASE_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let elapsed = started.elapsed();
    let mut text = std::fs::read_to_string(dir.join("out.txt")).unwrap_or_default();
    text.push_str(&std::fs::read_to_string(dir.join("junit.xml")).unwrap_or_default());
    Outcome {
        code,
        text,
        elapsed,
        peak_kb: peak,
    }
}

/// The line of the output that carries the verdict's reason: the first that holds the first
/// expected phrase.
fn reason_line<'a>(text: &'a str, phrase: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(phrase))
        .map(str::trim)
        .unwrap_or("")
}

#[test]
fn every_hostile_behaviour_ends_in_a_clear_verdict_within_bounds() {
    mcp_oauth_conformance::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let root: PathBuf = common::scratch("hostile");
    // HOSTILE_CASE=NAME runs that case alone.
    let only = std::env::var("HOSTILE_CASE").ok();
    let catalogue: Vec<Case> = cases::all()
        .into_iter()
        .filter(|c| only.as_deref().is_none_or(|n| n == c.name))
        .collect();
    assert!(
        only.is_some() || catalogue.len() >= 30,
        "the catalogue has {}",
        catalogue.len()
    );
    let mut prepared = Vec::new();
    for (i, case) in catalogue.iter().enumerate() {
        let dir = root.join(case.name);
        std::fs::create_dir_all(&dir).expect("case dir");
        let args = runtime.block_on(prepare(case, &dir));
        prepared.push((i, dir, args));
    }
    let queue = Arc::new(Mutex::new(prepared));
    let results: Arc<Mutex<Vec<(usize, Outcome)>>> = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let queue = queue.clone();
            let results = results.clone();
            std::thread::spawn(move || {
                loop {
                    let next = queue.lock().expect("queue").pop();
                    let Some((i, dir, args)) = next else { break };
                    let outcome = run_runner(&args, &dir);
                    results.lock().expect("results").push((i, outcome));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let total = started.elapsed();
    let mut results = std::mem::take(&mut *results.lock().expect("results"));
    results.sort_by_key(|(i, _)| *i);

    let mut problems = Vec::new();
    let mut table = String::from(
        "| case | the target | verdict | peak memory | time |\n|---|---|---|---|---|\n",
    );
    let mut peak_overall = 0;
    for (i, outcome) in &results {
        let case = &catalogue[*i];
        let text = &outcome.text;
        let expect = &case.expect;
        if outcome.code.is_none() {
            problems.push(format!(
                "{}: killed after {:?} (a hang)",
                case.name, CASE_LIMIT
            ));
        } else if outcome.code != Some(expect.code) {
            problems.push(format!(
                "{}: exit {:?}, expected {}:\n{}",
                case.name,
                outcome.code,
                expect.code,
                tail(text)
            ));
        }
        for phrase in expect.says {
            if !text.contains(phrase) {
                problems.push(format!("{}: no {phrase:?} in:\n{}", case.name, tail(text)));
            }
        }
        for sign in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
            if text.contains(sign) {
                problems.push(format!("{}: {sign}:\n{}", case.name, tail(text)));
            }
        }
        let peak = outcome.peak_kb.unwrap_or(0);
        peak_overall = peak_overall.max(peak);
        if peak > MEMORY_LIMIT_KB {
            problems.push(format!("{}: peak memory {peak} kB", case.name));
        }
        let verdict = match expect.code {
            0 => "ends",
            1 => "failure",
            3 => "harness error",
            _ => "other",
        };
        let reason =
            reason_line(text, expect.says.last().copied().unwrap_or("")).replace('|', "\\|");
        table.push_str(&format!(
            "| `{}` | {} | {verdict} (exit {}): {} | {} MB | {:.1} s |\n",
            case.name,
            case.does,
            expect.code,
            shorten(&reason),
            peak.div_ceil(1024),
            outcome.elapsed.as_secs_f64()
        ));
    }
    if std::env::var_os("HOSTILE_TABLE").is_some() {
        println!("{table}");
        println!(
            "{} cases in {:.1} s; the runner's peak memory over all: {} MB",
            results.len(),
            total.as_secs_f64(),
            peak_overall.div_ceil(1024)
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The README's "Hostile targets" table lists every case of the catalogue, and no other.
#[test]
fn the_readme_lists_every_case() {
    let readme = std::fs::read_to_string(common::repo_file("README.md")).expect("README");
    let start = readme.find("\n## Hostile targets\n").expect("the section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let listed: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let names: Vec<&str> = cases::all().iter().map(|c| c.name).collect();
    assert_eq!(listed, names, "the README's table, in catalogue order");
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}

/// At most 300 characters of a reason, for the table.
fn shorten(reason: &str) -> String {
    let mut s: String = reason.chars().take(300).collect();
    if s.len() < reason.len() {
        s.push('…');
    }
    s
}

/// A target that makes every request wait out its timeout cannot hold one scenario for ever:
/// once a scenario's requests have taken 20 timeouts all together, it sends no more.
#[tokio::test]
async fn a_scenario_stops_sending_once_its_requests_have_taken_twenty_timeouts() {
    use mcp_oauth_conformance::client::http::{
        Http, Limits, Request, SCENARIO_BUDGET_TIMEOUTS, TransportError,
    };
    mcp_oauth_conformance::install_crypto_provider();
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let url = url::Url::parse(&format!(
        "http://{}/mcp",
        listener.local_addr().expect("addr")
    ))
    .expect("url");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let timeout = Duration::from_millis(50);
    let run = Http::new(
        Limits {
            timeout,
            ..Limits::default()
        },
        false,
    )
    .expect("transport");
    let scenario = run.fork();
    let started = Instant::now();
    let mut waited = 0;
    let mut refused = None;
    for _ in 0..(SCENARIO_BUDGET_TIMEOUTS + 5) {
        match scenario.send(Request::get(url.clone())).await {
            Err(TransportError::Timeout { what, .. }) if what.starts_with("not sent") => {
                refused = Some(what);
                break;
            }
            Err(TransportError::Timeout { .. }) => waited += 1,
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
    let refused = refused.expect("the scenario's budget ran out");
    assert!(refused.contains("over its budget of 1s"), "{refused}");
    // Each request waited at least the timeout, so no more than 21 fit in 20 timeouts.
    assert!(
        (SCENARIO_BUDGET_TIMEOUTS / 2..=SCENARIO_BUDGET_TIMEOUTS + 1).contains(&waited),
        "{waited} requests timed out before the budget ran out"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Another scenario starts with a budget of its own.
    let next = run.fork().send(Request::get(url.clone())).await;
    assert!(
        matches!(&next, Err(TransportError::Timeout { what, .. }) if what.starts_with("no answer")),
        "{next:?}"
    );
}
