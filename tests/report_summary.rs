//! The Markdown summary: its text for a run with every kind of verdict (a snapshot), text from
//! the target kept from breaking the table or becoming markup, the size limit, and the runner
//! appending it to `$GITHUB_STEP_SUMMARY` after what earlier steps wrote.

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use mcp_oauth_conformance::report::markdown;
use mcp_oauth_conformance::report::view::RunInfo;
use mcp_oauth_conformance::report::{ScenarioRecord, Verdict};
use mcp_oauth_conformance::requirements::Severity;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-oauth-conformance");

fn record(verdict: Verdict, id: &str, name: &str, message: Option<&str>) -> ScenarioRecord {
    ScenarioRecord {
        feature: "F".into(),
        area: "area".into(),
        file: "features/area.feature".into(),
        name: format!("{id} {name}"),
        line: 10,
        ids: vec![id.into()],
        severity: Severity::Must,
        revision: "2025-11-25".into(),
        verdict,
        message: message.map(String::from),
        violated: (verdict == Verdict::Fail || verdict == Verdict::Known).then(|| id.to_string()),
        // What the runner records: the requirement's catalogue impact.
        impact: (verdict == Verdict::Fail || verdict == Verdict::Known)
            .then(|| mcp_oauth_conformance::requirements::get(id).map(|r| r.impact))
            .flatten(),
        warnings: Vec::new(),
        warned: Vec::new(),
        transcript: Vec::new(),
        duration: Duration::from_millis(7),
    }
}

fn records() -> Vec<ScenarioRecord> {
    let mut warned = record(
        Verdict::Warn,
        "PRM-04",
        "A challenge without credentials carries no error code",
        None,
    );
    warned.warnings = vec![
        "PRM-04 (SHOULD): When the request had no credentials, the challenge leaves out error and error_description.\n  Expected: no error parameter\n  Actual:   error=\"invalid_token\"".into(),
    ];
    warned.warned = vec!["PRM-04".into()];
    vec![
        record(Verdict::Pass, "PKCE-02", "S256 works end to end", None),
        record(
            Verdict::Fail,
            "PKCE-06",
            "A wrong code_verifier gets invalid_grant and no tokens",
            Some(
                "violation of PKCE-06 (MUST): A wrong verifier gets 400 invalid_grant and no tokens.\n  Expected: 400 with error \"invalid_grant\"\n  Actual:   tokens were issued: 200 {\"access_token\":\"eyJ0…[redacted]\"}\n  Sources:  RFC 7636 §4.6 <https://www.rfc-editor.org/rfc/rfc7636#section-4.6>",
            ),
        ),
        record(
            Verdict::Error,
            "RS-02",
            "A valid token is accepted",
            Some("harness error: http://127.0.0.1:1/mcp: connection refused\nmore detail"),
        ),
        warned,
        record(
            Verdict::Skip,
            "REFRESH-01",
            "Refresh tokens rotate",
            Some("skipped: no refresh token was issued"),
        ),
        record(
            Verdict::Known,
            "CODE-02",
            "A code works only once",
            Some(
                "known failure (baseline: codes are not single-use yet): violation of CODE-02 (MUST): A code works only once.\n  Expected: 400 invalid_grant\n  Actual:   200 | <b>tokens</b>",
            ),
        ),
        record(
            Verdict::Info,
            "RS-10",
            "A token in the header and the query",
            Some("observed:\n400 invalid_request"),
        ),
    ]
}

fn info(exit_code: u8) -> RunInfo {
    RunInfo {
        target: "https://staging.example.com/mcp".into(),
        revision: "2025-11-25".into(),
        revision_reason: "--spec auto: server/discover lists it".into(),
        exit_code,
        strict: false,
        fail_on: Default::default(),
        requests: None,
        finished: SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600),
    }
}

#[test]
fn the_summary_of_a_failing_run() {
    let text =
        markdown::render(&records(), &info(1)).replace(env!("CARGO_PKG_VERSION"), "[version]");
    insta::assert_snapshot!(text);
}

#[test]
fn the_summary_of_a_passing_run_has_no_tables_of_problems() {
    let text = markdown::render(&records()[..1], &info(0));
    assert!(
        text.starts_with("## MCP OAuth conformance: passed\n"),
        "{text}"
    );
    assert!(!text.contains("### "), "{text}");
}

#[test]
fn target_text_cannot_break_the_table() {
    let hostile = record(
        Verdict::Fail,
        "PKCE-06",
        "name",
        Some(
            "violation of PKCE-06 (MUST): t\n  Expected: e\n  Actual:   a | b <script>alert(1)</script> [x](javascript:alert(1)) `c`",
        ),
    );
    let text = markdown::render(&[hostile], &info(1));
    let row = text
        .lines()
        .find(|l| l.starts_with("| FAIL | PKCE-06 |"))
        .expect("the failure's row");
    assert_eq!(
        row,
        "| FAIL | PKCE-06 | PKCE-06 name | a \\| b &lt;script&gt;alert(1)&lt;/script&gt; \\[x\\](javascript:alert(1)) \\`c\\` |"
    );
}

#[test]
fn a_summary_too_large_is_cut_with_a_note() {
    let many: Vec<ScenarioRecord> = (0..500)
        .map(|i| {
            record(
                Verdict::Fail,
                "PKCE-06",
                &format!("variant {i}"),
                Some(&format!(
                    "violation of PKCE-06 (MUST): t\n  Expected: e\n  Actual:   {}",
                    "x".repeat(150)
                )),
            )
        })
        .collect();
    let limit = 20_000;
    let text = markdown::render_within(&many, &info(1), limit);
    assert!(text.len() <= limit, "{} bytes", text.len());
    let rows = text
        .lines()
        .filter(|l| l.starts_with("| FAIL | PKCE-06 |"))
        .count();
    assert!(rows > 10 && rows < 500, "{rows} rows");
    assert!(
        text.contains(&format!("**{} more rows left out**", 500 - rows)),
        "{text}"
    );
    // Within GitHub's limit nothing is cut.
    let full = markdown::render(&many, &info(1));
    assert!(!full.contains("left out"));
    assert!(full.len() < markdown::LIMIT);
}

#[test]
fn the_runner_appends_to_the_github_step_summary() {
    let dir = std::env::temp_dir().join(format!(
        "mcp-oauth-conformance-step-summary-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let step_summary = dir.join("step_summary.md");
    std::fs::write(&step_summary, "# Earlier step\n").expect("an earlier step's summary");
    let mut cmd = Command::new(BIN);
    cmd.args([
        "run",
        "--spec",
        "2025-11-25",
        "--defect",
        "pkce-verifier-unchecked",
        "-t",
        "@PKCE-06 or @PKCE-02",
    ]);
    for (flag, file) in [
        ("--junit", "junit.xml"),
        ("--json", "cucumber.json"),
        ("--results", "results.json"),
        ("--html", "report.html"),
        ("--summary", "summary.md"),
    ] {
        cmd.arg(flag).arg(dir.join(file));
    }
    let out = cmd
        .env("GITHUB_STEP_SUMMARY", &step_summary)
        .stdin(Stdio::null())
        .output()
        .expect("the runner runs");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let appended = std::fs::read_to_string(&step_summary).expect("the step summary");
    let own = std::fs::read_to_string(dir.join("summary.md")).expect("--summary");
    assert_eq!(appended, format!("# Earlier step\n{own}"));
    assert!(own.starts_with("## MCP OAuth conformance: failed"), "{own}");
    assert!(own.contains("| FAIL | PKCE-06 | PKCE-06 "), "{own}");
}
