//! The grading rules of the README ("How verdicts are graded"), each shown with the runner
//! against a small mock target on loopback: an MCP endpoint that answers 401, its PRM and AS
//! metadata, a registration endpoint and a token endpoint whose answers each test chooses.
//!
//! - a MUST violated is a failure and the exit code is 1;
//! - a SHOULD violated is a warning and the exit code is 0;
//! - 429, or 503 with Retry-After, is never a failure: the runner waits, or reports the
//!   scenario as not run (an error);
//! - a harness or configuration problem is an error (or a usage error), never a failure;
//! - a refusal with another registered error code is "refused, but with X instead of Y", of
//!   interop impact, and `--fail-on security` does not fail the run on it;
//! - a pass rests on an observation: without the endpoint to observe, the scenario skips.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{runner, scratch};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The scenarios used: one per rule, each needing no login.
const DCR_01: &str = "^DCR-01 ";
const DCR_04: &str = "^DCR-04 ";
const TOK_09: &str = "^TOK-09 ";

/// A registration endpoint that registers what it is sent: the metadata echoed with a
/// `client_id` (and whatever `extra` adds), 201.
struct Registers {
    extra: Value,
    status: u16,
}

impl Respond for Registers {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut body: Value = serde_json::from_slice(&request.body).unwrap_or_else(|_| json!({}));
        if let (Some(b), Some(extra)) = (body.as_object_mut(), self.extra.as_object()) {
            b.insert("client_id".into(), json!("mock-client-1"));
            b.insert("client_id_issued_at".into(), json!(1_767_225_600u64));
            for (k, v) in extra {
                b.insert(k.clone(), v.clone());
            }
        }
        ResponseTemplate::new(self.status)
            .insert_header("cache-control", "no-store")
            .set_body_json(body)
    }
}

fn registers() -> Registers {
    Registers {
        extra: json!({}),
        status: 201,
    }
}

/// How the mock's AS metadata differs from the conformant one.
#[derive(Clone, Copy)]
enum Registration {
    /// `registration_endpoint` at the mock's `/register`.
    Offered,
    /// `registration_endpoint` on a loopback port where nothing listens.
    Unreachable,
    /// No `registration_endpoint`.
    NotOffered,
}

/// The mock target: MCP at `/mcp` (401 with a Bearer challenge), PRM, AS metadata, and the
/// registration endpoint answering with `register`.
async fn target(registration: Registration, register: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(path("/mcp"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!(
                r#"Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp", scope="mcp""#
            )
            .as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-protected-resource/mcp"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "resource": format!("{base}/mcp"),
            "authorization_servers": [base],
            "scopes_supported": ["mcp"],
        })))
        .mount(&server)
        .await;
    let mut meta = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
        "scopes_supported": ["mcp"],
    });
    match registration {
        Registration::Offered => meta["registration_endpoint"] = json!(format!("{base}/register")),
        Registration::Unreachable => {
            meta["registration_endpoint"] =
                json!(format!("http://127.0.0.1:{}/register", closed_port()))
        }
        Registration::NotOffered => {}
    }
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(meta))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/register"))
        .respond_with(register)
        .mount(&server)
        .await;
    server
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// The token endpoint answers every request with `answer`.
async fn token_answers(server: &MockServer, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(answer)
        .mount(server)
        .await;
}

/// A finished run: exit code, console output and results.json.
struct Graded {
    code: Option<i32>,
    text: String,
    results: Value,
}

impl Graded {
    /// The one scenario of the run.
    fn scenario(&self) -> &Value {
        let all = self.results["scenarios"].as_array();
        assert_eq!(
            all.map(Vec::len),
            Some(1),
            "one scenario ran: {}",
            self.text
        );
        &self.results["scenarios"][0]
    }

    fn verdict(&self) -> &str {
        self.scenario()["verdict"].as_str().unwrap_or("")
    }

    fn message(&self) -> &str {
        self.scenario()["message"].as_str().unwrap_or("")
    }
}

/// `run --target MOCK/mcp --spec 2025-11-25 --name NAME` and `extra`, one scenario at a time.
fn run(dir: &Path, server_uri: &str, name: &str, extra: &[&str]) -> Graded {
    let target = format!("{server_uri}/mcp");
    let mut args = vec![
        "run",
        "--target",
        target.as_str(),
        "--spec",
        "2025-11-25",
        "--name",
        name,
        "--concurrency",
        "1",
    ];
    args.extend_from_slice(extra);
    let out = runner(dir, &args, Duration::from_secs(120));
    let results = std::fs::read_to_string(dir.join("results.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Graded {
        code: out.code,
        text: out.text,
        results,
    }
}

/// The runner is a blocking child process: the mock keeps serving on its own runtime.
async fn graded(server: &MockServer, test: &str, name: &str, extra: &[&str]) -> Graded {
    let dir = scratch(&format!("grading-{test}"));
    let uri = server.uri();
    let name = name.to_string();
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        run(&dir, &uri, &name, &extra)
    })
    .await
    .expect("the runner thread")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_must_violated_is_a_failure_and_fails_the_run_whatever_fail_on_says() {
    let server = target(Registration::Offered, registers()).await;
    // A public client is issued a token by client_credentials: TOK-09, of security impact.
    token_answers(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "mock-access-token-0123456789",
            "token_type": "Bearer",
            "expires_in": 300,
        })),
    )
    .await;
    let all = graded(&server, "must", TOK_09, &[]).await;
    assert_eq!(all.verdict(), "fail", "{}", all.text);
    assert_eq!(all.code, Some(1), "{}", all.text);
    assert_eq!(all.scenario()["violated"], "TOK-09");
    assert_eq!(all.scenario()["impact"], "security");
    assert!(
        all.message().contains("tokens were issued"),
        "{}",
        all.message()
    );
    assert!(
        !all.text.contains("mock-access-token-0123456789"),
        "the token is redacted"
    );
    assert_eq!(all.results["failures_by_impact"]["security"], 1);
    let security = graded(&server, "must-security", TOK_09, &["--fail-on", "security"]).await;
    assert_eq!(security.code, Some(1), "{}", security.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_with_another_registered_code_fails_the_interop_half_only() {
    let server = target(Registration::Offered, registers()).await;
    token_answers(
        &server,
        ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_scope"})),
    )
    .await;
    let all = graded(&server, "refusal", TOK_09, &[]).await;
    assert_eq!(all.verdict(), "fail", "{}", all.text);
    assert!(
        all.message().contains(
            "refused, but with invalid_scope instead of unauthorized_client or invalid_client"
        ),
        "{}",
        all.message()
    );
    assert_eq!(
        all.scenario()["impact"],
        "interop",
        "TOK-09 is security in the catalogue"
    );
    assert_eq!(all.results["failures_by_impact"]["interop"], 1);
    assert_eq!(all.results["failures_by_impact"]["security"], 0);
    assert_eq!(all.code, Some(1), "--fail-on all (the default) gates on it");
    assert!(
        all.text.contains("0 security, 1 interop, 0 hygiene"),
        "the console counts failures by impact: {}",
        all.text
    );

    let security = graded(
        &server,
        "refusal-security",
        TOK_09,
        &["--fail-on", "security"],
    )
    .await;
    assert_eq!(
        security.verdict(),
        "fail",
        "still reported: {}",
        security.text
    );
    assert_eq!(security.code, Some(0), "{}", security.text);
    assert_eq!(security.results["fail_on"], "security");
    let interop = graded(
        &server,
        "refusal-interop",
        TOK_09,
        &["--fail-on", "interop"],
    )
    .await;
    assert_eq!(interop.code, Some(1), "{}", interop.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_should_violated_is_a_warning_and_the_run_passes() {
    // A public client (token_endpoint_auth_method none) is issued a secret: DCR-04, a SHOULD.
    let server = target(
        Registration::Offered,
        Registers {
            extra: json!({"client_secret": "mock-secret-0123456789", "client_secret_expires_at": 0}),
            status: 201,
        },
    )
    .await;
    let g = graded(&server, "should", DCR_04, &[]).await;
    assert_eq!(g.verdict(), "warn", "{}", g.text);
    assert_eq!(g.code, Some(0), "{}", g.text);
    assert_eq!(g.results["totals"]["fail"], 0);
    let warnings = g.scenario()["warnings"].to_string();
    assert!(warnings.contains("DCR-04"), "{warnings}");
    assert!(
        !g.text.contains("mock-secret-0123456789"),
        "the secret is redacted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_waited_for_and_never_a_failure() {
    for (first, label) in [
        (
            ResponseTemplate::new(429).insert_header("retry-after", "1"),
            "429",
        ),
        (
            ResponseTemplate::new(503).insert_header("retry-after", "1"),
            "503",
        ),
    ] {
        let server = target(Registration::Offered, registers()).await;
        // The first registration is limited; the target is otherwise conformant.
        Mock::given(method("POST"))
            .and(path("/register"))
            .respond_with(first)
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let g = graded(&server, &format!("wait-{label}"), DCR_01, &[]).await;
        assert_eq!(g.verdict(), "pass", "{label}: {}", g.text);
        assert_eq!(g.code, Some(0), "{label}: {}", g.text);
        let requests = &g.results["requests"];
        assert_eq!(
            requests["by_endpoint"]["registration"]["rate_limited"], 1,
            "{requests}"
        );
        assert_eq!(
            requests["by_endpoint"]["registration"]["requests"], 2,
            "{requests}"
        );
        assert!(
            requests["waited_secs"].as_f64().unwrap_or(0.0) >= 1.0,
            "{requests}"
        );
        assert!(
            g.text.contains("Rate limits: rate limited 1 times"),
            "{}",
            g.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_that_outlasts_max_wait_is_an_error_not_a_failure() {
    let server = target(
        Registration::Offered,
        ResponseTemplate::new(429)
            .insert_header("retry-after", "30")
            .set_body_json(json!({"error": "too_many_requests"})),
    )
    .await;
    let g = graded(&server, "outlasts", DCR_01, &["--max-wait", "1"]).await;
    assert_eq!(g.verdict(), "error", "{}", g.text);
    assert_eq!(g.code, Some(3), "{}", g.text);
    assert!(g.message().contains("rate limited"), "{}", g.message());
    assert_eq!(g.results["totals"]["fail"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_harness_or_configuration_problem_is_an_error_not_a_failure() {
    // The registration endpoint does not answer: the harness cannot observe anything.
    let server = target(Registration::Unreachable, registers()).await;
    let g = graded(&server, "unreachable", DCR_01, &[]).await;
    assert_eq!(g.verdict(), "error", "{}", g.text);
    assert_eq!(g.code, Some(3), "{}", g.text);
    assert_eq!(g.results["totals"]["fail"], 0);

    // A bad setting is a usage error before anything is sent.
    let server = target(Registration::Offered, registers()).await;
    let dir = scratch("grading-profile");
    let profile = dir.join("profile.toml");
    std::fs::write(&profile, "fail_on = \"hygiene\"\n").expect("the profile");
    let profile = profile.to_str().expect("utf-8").to_string();
    let g = graded(&server, "bad-profile", DCR_01, &["--config", &profile]).await;
    assert_eq!(g.code, Some(2), "{}", g.text);
    assert!(g.text.contains("fail_on"), "{}", g.text);
    let received = server.received_requests().await.map_or(0, |r| r.len());
    assert_eq!(received, 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_rests_on_an_observation_and_without_one_the_scenario_skips() {
    let server = target(Registration::Offered, registers()).await;
    let g = graded(&server, "observed", DCR_01, &[]).await;
    assert_eq!(g.verdict(), "pass", "{}", g.text);
    assert_eq!(g.code, Some(0), "{}", g.text);
    let registrations = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/register")
        .count();
    assert!(registrations >= 1, "the pass observed a registration");
    assert_eq!(
        g.results["requests"]["by_endpoint"]["registration"]["requests"], registrations,
        "results.json counts what the target received"
    );

    let server = target(Registration::NotOffered, registers()).await;
    let g = graded(&server, "not-observed", DCR_01, &[]).await;
    assert_eq!(g.verdict(), "skip", "{}", g.text);
    assert_eq!(g.code, Some(0), "{}", g.text);
    assert!(g.message().contains("registration"), "{}", g.message());
}
