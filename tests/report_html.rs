//! The HTML report.
//!
//! - A real run against the embedded reference server with defects (two failures, a warning,
//!   a known failure from a baseline, scenarios skipped because they do not apply to the
//!   revision), its page read with an HTML parser: every scenario present, every failure's
//!   Expected and Actual, what failed before the matrix, no external assets.
//! - A record whose text came from the target carries `<script>`: it appears only escaped.
//! - In headless Chromium (through chromedriver, as the browser login driver does): the page
//!   opened from disk, a verdict filter, the search box and a deep link, and a screenshot of
//!   the first screen in `target/tmp/report.png` (`docs/report.png` in the README is a copy).
//!   Like the browser login test, it says NOT RUN where Chromium is missing, and fails then
//!   when `MCP_CONFORMANCE_REQUIRE_BROWSER` is set (`.ci/run` sets it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use mcp_oauth_conformance::client::http::Exchange;
use mcp_oauth_conformance::report::view::RunInfo;
use mcp_oauth_conformance::report::{ScenarioRecord, Verdict, html};
use mcp_oauth_conformance::requirements::Severity;
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-oauth-conformance");

/// The defects of the run: two MUSTs broken (PKCE-06 and PKCE-09 fail; CODE-02 fails, but the
/// baseline lists it) and a SHOULD (PRM-04 warns).
const DEFECTS: [&str; 3] = [
    "pkce-verifier-unchecked",
    "code-reusable",
    "challenge-error-without-credentials",
];

/// A finished run: its directory, exit code and console output.
struct Report {
    dir: PathBuf,
    code: Option<i32>,
    output: String,
}

impl Report {
    fn page(&self) -> String {
        std::fs::read_to_string(self.dir.join("report.html")).expect("report.html was written")
    }

    fn results(&self) -> Value {
        let text =
            std::fs::read_to_string(self.dir.join("results.json")).expect("results.json exists");
        serde_json::from_str(&text).expect("results.json is JSON")
    }
}

/// The run, once for the tests of this file: the whole suite but RS-06 (which waits a token
/// out), under 2025-11-25, so that the 2026-07-28 and 2025-03-26 scenarios are skipped.
fn report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "mcp-oauth-conformance-report-html-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let baseline = dir.join("baseline.toml");
        std::fs::write(
            &baseline,
            "[[expected]]\nrequirement = \"CODE-02\"\nreason = \"codes are not single-use yet\"\n",
        )
        .expect("baseline");
        let mut cmd = Command::new(BIN);
        cmd.args(["run", "--spec", "2025-11-25", "-t", "not @RS-06"]);
        for d in DEFECTS {
            cmd.args(["--defect", d]);
        }
        for (flag, file) in [
            ("--baseline", "baseline.toml"),
            ("--junit", "junit.xml"),
            ("--json", "cucumber.json"),
            ("--results", "results.json"),
            ("--html", "report.html"),
        ] {
            cmd.arg(flag).arg(dir.join(file));
        }
        let out = cmd
            .stdin(Stdio::null())
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .expect("the runner runs");
        Report {
            dir,
            code: out.status.code(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    })
}

fn select(s: &str) -> Selector {
    Selector::parse(s).expect("selector")
}

fn text(e: ElementRef<'_>) -> String {
    e.text().collect::<String>()
}

/// The value after `label` in a `Violation`'s text, up to the next labelled line.
fn field(message: &str, label: &str) -> String {
    let mut lines = message.lines().skip_while(|l| !l.starts_with(label));
    let first = lines.next().map(|l| l[label.len()..].to_string());
    let mut value = first.unwrap_or_default();
    let labels = ["  Expected:", "  Actual:", "  Sources:", "  Graded"];
    for l in lines.take_while(|l| !labels.iter().any(|label| l.starts_with(label))) {
        value.push('\n');
        value.push_str(l);
    }
    value
}

#[test]
fn a_run_against_defects_reports_every_scenario_and_every_failure() {
    let report = report();
    assert_eq!(report.code, Some(1), "{}", report.output);
    assert!(report.output.contains("HTML report: "), "{}", report.output);
    let results = report.results();
    let page = report.page();
    let doc = Html::parse_document(&page);

    // The header: exit code and its meaning, the revision and why, the harness version.
    let header = text(doc.select(&select("header.run")).next().expect("a header"));
    for said in [
        "Failed",
        "exit code 1",
        "a MUST is violated",
        "2025-11-25",
        "chosen with --spec",
        "pkce-verifier-unchecked",
        env!("CARGO_PKG_VERSION"),
        "2026-07-28",
    ] {
        assert!(header.contains(said), "the header says {said:?}: {header}");
    }

    // Every scenario of results.json, once, with its verdict.
    let scenarios = results["scenarios"].as_array().expect("scenarios");
    assert!(scenarios.len() > 150, "the whole suite ran");
    let articles: Vec<ElementRef> = doc.select(&select("article.scenario")).collect();
    assert_eq!(articles.len(), scenarios.len(), "one article per scenario");
    let h4 = select("h4");
    for s in scenarios {
        let name = s["name"].as_str().expect("name");
        let verdict = s["verdict"].as_str().expect("verdict");
        let found = articles.iter().any(|a| {
            a.value().attr("data-verdict") == Some(verdict)
                && text(a.select(&h4).next().expect("heading")).contains(name)
        });
        assert!(found, "{name} ({verdict}) has its article");
    }

    // Every failure: the requirement, Expected and Actual exactly as results.json says.
    let failed: Vec<&Value> = scenarios
        .iter()
        .filter(|s| s["verdict"] == "fail")
        .collect();
    let ids: Vec<&str> = failed
        .iter()
        .filter_map(|s| s["violated"].as_str())
        .collect();
    assert_eq!(ids, ["PKCE-06", "PKCE-09"], "the defects' failures");
    let dd = select("dl.ea dd");
    for s in &failed {
        let message = s["message"].as_str().expect("message");
        let name = s["name"].as_str().expect("name");
        let article = articles
            .iter()
            .find(|a| text(a.select(&h4).next().expect("heading")).contains(name))
            .expect("its article");
        let values: Vec<String> = article.select(&dd).map(text).collect();
        assert_eq!(
            values,
            [
                field(message, "  Expected: "),
                field(message, "  Actual:   ")
            ],
            "{name}: Expected and Actual"
        );
        let requirement = article
            .ancestors()
            .filter_map(ElementRef::wrap)
            .find(|e| e.value().name() == "details")
            .expect("inside its requirement");
        assert_eq!(requirement.value().attr("id"), s["violated"].as_str());
        assert!(
            requirement.value().attr("open").is_some(),
            "a failing requirement is open without scripts"
        );
    }

    // What failed comes first, before the warnings and the matrix, in the order of the page.
    let failures = page.find("id=\"failures\"").expect("a failures section");
    let warnings = page.find("id=\"warnings\"").expect("a warnings list");
    let matrix = page.find("id=\"matrix\"").expect("the matrix");
    assert!(failures < warnings && warnings < matrix);
    let first = text(
        doc.select(&select("#failures article.problem"))
            .next()
            .expect("a failure"),
    );
    assert!(
        first.contains("PKCE-06") && first.contains("Expected") && first.contains("Actual"),
        "{first}"
    );
    let warned = text(doc.select(&select("#warnings")).next().expect("warnings"));
    assert!(warned.contains("PRM-04"), "{warned}");
    let known = text(
        doc.select(&select("#known"))
            .next()
            .expect("known failures"),
    );
    assert!(known.contains("CODE-02"), "{known}");

    // A skip says why.
    let skipped = scenarios
        .iter()
        .find(|s| s["verdict"] == "skip")
        .expect("a skipped scenario");
    let reason = skipped["message"].as_str().expect("a reason");
    assert!(page.contains(&html_escape(reason)), "{reason}");

    // Without scripts the filters, which need them, are not shown.
    let filters = doc
        .select(&select("form#filters"))
        .next()
        .expect("the filters");
    assert!(filters.value().attr("hidden").is_some());

    // The HTTP exchanges are there, collapsed.
    let transcripts: Vec<ElementRef> = doc.select(&select("details.transcript")).collect();
    assert!(!transcripts.is_empty());
    assert!(transcripts.iter().all(|t| t.value().attr("open").is_none()));
    assert!(doc.select(&select("details.exchange pre")).next().is_some());

    // Self-contained: no stylesheet, script, image or frame is fetched from anywhere.
    for tag in ["link", "img", "iframe", "object", "embed", "script[src]"] {
        assert!(
            doc.select(&select(tag)).next().is_none(),
            "no {tag} in the page"
        );
    }
    assert!(!page.contains("url("), "no CSS fetches");
    // Requirements link to their sources.
    let sources: Vec<String> = doc
        .select(&select("[id=\"PKCE-06\"] p.sources a"))
        .filter_map(|a| a.value().attr("href").map(String::from))
        .collect();
    assert!(
        sources.contains(&"https://www.rfc-editor.org/rfc/rfc7636#section-4.6".to_string()),
        "{sources:?}"
    );
}

/// `results.json` is the interface for tools: a real run's file validates against
/// `schemas/results.schema.json`, every field it has is documented there, and the schema is
/// strict enough to reject a wrong verdict or a missing version.
#[test]
fn results_json_follows_its_schema() {
    let results = report().results();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/results.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the schema")).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(&results)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let verdicts: Vec<&str> = results["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .filter_map(|s| s["verdict"].as_str())
        .collect();
    for v in ["pass", "warn", "skip", "known", "fail"] {
        assert!(verdicts.contains(&v), "the run has a {v} scenario");
    }

    // Every field is documented, at every level.
    let documented = |at: &Value, keys: &Value, what: &str| {
        for key in keys.as_object().expect(what).keys() {
            assert!(
                at["properties"].get(key).is_some(),
                "{what}.{key} is not in the schema"
            );
        }
    };
    documented(&schema, &results, "results");
    documented(
        &schema["properties"]["totals"],
        &results["totals"],
        "totals",
    );
    for s in results["scenarios"].as_array().expect("scenarios") {
        documented(&schema["$defs"]["scenario"], s, "scenario");
    }

    // And it rejects what a wrong writer would produce.
    let mut wrong = results.clone();
    wrong["scenarios"][0]["verdict"] = Value::from("passed");
    assert!(!validator.is_valid(&wrong), "an unknown verdict");
    let mut wrong = results.clone();
    if let Some(o) = wrong.as_object_mut() {
        o.remove("schema_version");
    }
    assert!(!validator.is_valid(&wrong), "no schema_version");
}

/// The escaping minijinja applies, for looking up text in the page.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

const SCRIPT: &str = "<script>alert(1)</script>";

fn hostile_record() -> ScenarioRecord {
    let message = format!(
        "violation of PKCE-06 (MUST): A wrong verifier gets 400 invalid_grant and no tokens.\n  Expected: 400 with error \"invalid_grant\"\n  Actual:   400 invalid_grant, error_description {SCRIPT}"
    );
    ScenarioRecord {
        feature: "PKCE".into(),
        area: "pkce".into(),
        file: "features/pkce.feature".into(),
        name: format!("PKCE-06 A wrong code_verifier {SCRIPT}"),
        line: 31,
        ids: vec!["PKCE-06".into()],
        severity: Severity::Must,
        revision: "2025-11-25".into(),
        verdict: Verdict::Fail,
        message: Some(message),
        violated: Some("PKCE-06".into()),
        impact: None,
        warnings: vec![format!(
            "PRM-04 (SHOULD): no error without credentials\n  Expected: none\n  Actual:   {SCRIPT}"
        )],
        warned: vec!["PRM-04".into()],
        transcript: vec![Exchange {
            method: "POST".into(),
            url: "http://127.0.0.1:1/token?x=\"><img src=x onerror=alert(1)>".into(),
            request_headers: vec![("content-type".into(), SCRIPT.into())],
            request_body: Some("grant_type=authorization_code".into()),
            status: Some(400),
            response_headers: vec![("content-type".into(), "application/json".into())],
            response_body: Some(format!(
                "{{\"error\":\"invalid_grant\",\"error_description\":\"{SCRIPT}\"}}"
            )),
            error: None,
            elapsed: Duration::from_millis(3),
        }],
        duration: Duration::from_millis(12),
    }
}

#[test]
fn text_from_the_target_is_escaped() {
    let info = RunInfo {
        target: format!("https://mcp.example/{SCRIPT}"),
        revision: "2025-11-25".into(),
        revision_reason: format!("--spec auto: the target said {SCRIPT}"),
        exit_code: 1,
        strict: false,
        fail_on: Default::default(),
        requests: None,
        finished: SystemTime::UNIX_EPOCH,
    };
    let page = html::render(&[hostile_record()], &info).expect("renders");
    assert!(!page.contains(SCRIPT), "no <script> from the target");
    assert!(!page.contains("<img"), "no element from the target");
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the report's own script"
    );
    // The text is all there, escaped: parsed back, it reads as sent.
    let doc = Html::parse_document(&page);
    let actual: Vec<String> = doc
        .select(&select("article.scenario dl.ea dd"))
        .map(text)
        .collect();
    assert!(
        actual.iter().any(|a| a.ends_with(SCRIPT)),
        "the Actual reads as the target sent it: {actual:?}"
    );
    let transcript = text(
        doc.select(&select("details.exchange pre"))
            .next()
            .expect("the exchange"),
    );
    assert!(transcript.contains(SCRIPT), "{transcript}");
    let header = text(doc.select(&select("header.run")).next().expect("header"));
    assert!(header.contains(SCRIPT), "{header}");
}

// ---------------------------------------------------------------------------------------------
// In a browser

/// Whether Chromium and chromedriver are installed (see `tests/browser.rs`).
fn browser_installed() -> bool {
    let present = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
        .iter()
        .all(|p| Path::new(p).is_file());
    if !present {
        assert!(
            std::env::var_os("MCP_CONFORMANCE_REQUIRE_BROWSER").is_none(),
            "MCP_CONFORMANCE_REQUIRE_BROWSER is set, but /usr/bin/chromium or /usr/bin/chromedriver is missing"
        );
        eprintln!(
            "NOT RUN: the report's browser test needs Chromium and chromedriver (Debian packages chromium and chromium-driver; .ci/run installs them)"
        );
    }
    present
}

/// chromedriver on a free loopback port; stopped when dropped.
struct Driver {
    child: std::process::Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = std::env::temp_dir().join(format!(
            "mcp-oauth-conformance-report-browser-{}",
            std::process::id()
        ));
        Driver {
            child,
            port,
            profile,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

async fn connect(driver: &Driver) -> fantoccini::Client {
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--window-size=1280,900",
                "--hide-scrollbars",
                format!("--user-data-dir={}", driver.profile.display()),
            ],
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("an object")
    };
    let started = Instant::now();
    loop {
        let attempt = fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(capabilities.clone())
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await;
        match attempt {
            Ok(c) => return c,
            Err(e) if started.elapsed() > Duration::from_secs(30) => {
                panic!("no browser session within 30 s: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Runs `script` (a function body) in the page and returns its value.
async fn eval(client: &fantoccini::Client, script: &str) -> Value {
    client.execute(script, vec![]).await.expect(script)
}

/// How many scenario articles are displayed.
const VISIBLE: &str = "return Array.from(document.querySelectorAll('article.scenario')).filter(a => a.offsetParent !== null).length";

#[tokio::test]
async fn in_a_browser_the_filters_search_and_deep_links_work() {
    if !browser_installed() {
        return;
    }
    let report = report();
    let path = report.dir.join("report.html");
    let url = format!("file://{}", path.display());
    let results = report.results();
    let total = results["scenarios"].as_array().expect("scenarios").len();
    let driver = Driver::start();
    let client = connect(&driver).await;

    client.goto(&url).await.expect("the page opens from disk");
    // The first screen: what failed, for the README.
    let png = client.screenshot().await.expect("a screenshot");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    std::fs::write(&shot, &png).expect("the screenshot is saved");
    eprintln!("screenshot: {}", shot.display());
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let first_screen = eval(
        &client,
        "return document.querySelector('#failures').getBoundingClientRect().top < window.innerHeight",
    )
    .await;
    assert_eq!(
        first_screen,
        Value::Bool(true),
        "what failed is on the first screen"
    );
    for closed in ["PKCE-02", "CODE-01"] {
        let open = client
            .execute(
                "return document.getElementById(arguments[0]).open",
                vec![Value::from(closed)],
            )
            .await
            .expect("open?");
        assert_eq!(
            open,
            Value::Bool(false),
            "{closed} passed: it starts closed"
        );
    }

    // The script shows the filters; every scenario counts as shown.
    assert_eq!(
        eval(&client, "return document.getElementById('filters').hidden").await,
        Value::Bool(false)
    );
    let shown = eval(
        &client,
        "return document.getElementById('shown').textContent",
    )
    .await;
    assert_eq!(
        shown,
        Value::String(format!("{total} of {total} scenarios shown"))
    );

    // A verdict filter: only FAIL left checked, only the failures remain.
    for verdict in ["pass", "warn", "skip", "known"] {
        client
            .find(fantoccini::Locator::Css(&format!(
                "#filters input[value={verdict}]"
            )))
            .await
            .expect("a verdict checkbox")
            .click()
            .await
            .expect("unchecked");
    }
    assert_eq!(eval(&client, VISIBLE).await, Value::from(2));
    let pkce02_hidden = eval(&client, "return document.getElementById('PKCE-02').hidden").await;
    assert_eq!(
        pkce02_hidden,
        Value::Bool(true),
        "a passing requirement is hidden"
    );

    // The search box, on a fresh page: one scenario by words of its name.
    client.goto(&url).await.expect("reloaded");
    client
        .find(fantoccini::Locator::Css("#filters input[name=q]"))
        .await
        .expect("the search box")
        .send_keys("twenty concurrent")
        .await
        .expect("typed");
    let visible = eval(&client, VISIBLE).await;
    let visible = visible.as_u64().unwrap_or_default();
    assert!(
        visible >= 1 && visible < total as u64 / 10,
        "a few scenarios match: {visible}"
    );
    let texts = eval(
        &client,
        "return Array.from(document.querySelectorAll('article.scenario')).filter(a => a.offsetParent !== null).map(a => a.dataset.search)",
    )
    .await;
    let texts: Vec<&str> = texts
        .as_array()
        .expect("texts")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        texts.iter().all(|t| t.contains("twenty concurrent")),
        "only matches are shown: {texts:#?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("code-02 twenty concurrent")),
        "{texts:#?}"
    );
    assert_eq!(
        eval(&client, "return document.getElementById('CODE-02').open").await,
        Value::Bool(true),
        "a requirement whose scenario matches opens"
    );

    // A deep link opens a requirement that is closed by default, and scrolls to it: on
    // opening the page, and when the fragment changes.
    client.goto("about:blank").await.expect("away");
    client
        .goto(&format!("{url}#PKCE-02"))
        .await
        .expect("the deep link");
    let in_view = "const e = document.getElementById(arguments[0]); const r = e.getBoundingClientRect(); const bar = document.getElementById('filters').getBoundingClientRect().bottom; return [e.open, r.top >= bar - 1 && r.top < window.innerHeight]";
    let opened = client
        .execute(in_view, vec![Value::from("PKCE-02")])
        .await
        .expect("PKCE-02");
    assert_eq!(
        opened,
        serde_json::json!([true, true]),
        "opened, and in view below the filters"
    );
    client
        .goto(&format!("{url}#CODE-01"))
        .await
        .expect("another deep link");
    let opened = client
        .execute(in_view, vec![Value::from("CODE-01")])
        .await
        .expect("CODE-01");
    assert_eq!(
        opened,
        serde_json::json!([true, true]),
        "opened, and in view below the filters"
    );
    let deep = client.screenshot().await.expect("a screenshot");
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-deep-link.png"),
        deep,
    )
    .expect("saved");
    client.close().await.expect("the session ends");
}
