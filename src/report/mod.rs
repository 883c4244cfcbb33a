//! Scenario records and what is made of them: the console lines, the summary by
//! requirement, JUnit (`junit`), and the exit code.

pub mod finding;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod requests;
pub mod results;
pub mod view;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::client::http::Exchange;
use crate::requirements::{Impact, Severity};

pub use requests::{EndpointKind, Requests};

/// A scenario's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Pass,
    /// Passed, and recorded behaviour the specifications leave open.
    Info,
    /// Passed, but a SHOULD was not met (a failure only with `--strict`).
    Warn,
    /// Not run to the end because a precondition is missing.
    Skip,
    /// A MUST was violated, as the expected-failures baseline says it is (not a gate failure).
    Known,
    /// A MUST was violated.
    Fail,
    /// The harness could not reach a verdict.
    Error,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Info => "INFO",
            Verdict::Warn => "WARN",
            Verdict::Known => "KNOWN",
            Verdict::Skip => "SKIP",
            Verdict::Fail => "FAIL",
            Verdict::Error => "ERROR",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Everything the reports say about one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioRecord {
    pub feature: String,
    pub area: String,
    pub file: String,
    pub name: String,
    pub line: usize,
    pub ids: Vec<String>,
    pub severity: Severity,
    pub revision: String,
    pub verdict: Verdict,
    /// The violation, error or skip reason.
    pub message: Option<String>,
    /// The requirement a failure violated.
    pub violated: Option<String>,
    /// What the failure costs: its requirement's catalogue impact, or interop for a refusal
    /// with another registered error code. `None` unless the verdict is a failure (or a known
    /// one), and for a stale baseline entry.
    pub impact: Option<Impact>,
    pub warnings: Vec<String>,
    /// The requirement IDs of the warnings.
    pub warned: Vec<String>,
    pub transcript: Vec<Exchange>,
    pub duration: Duration,
}

impl ScenarioRecord {
    /// The redacted HTTP exchanges, as text.
    pub fn transcript_text(&self) -> String {
        self.transcript
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Scrubs every value the run knows as a secret from what the record says.
    pub fn scrub(&mut self, secrets: &crate::client::redact::Redactor) {
        self.scrub_messages(secrets);
        for exchange in &mut self.transcript {
            exchange.scrub(secrets);
        }
    }

    /// Scrubs what the console shows of the record (its message and warnings); its
    /// transcript, scrubbed when each exchange was recorded, is scrubbed again with everything
    /// the run learned when the reports are written.
    pub fn scrub_messages(&mut self, secrets: &crate::client::redact::Redactor) {
        let texts = self.message.iter_mut().chain(self.warnings.iter_mut());
        for text in texts {
            *text = secrets.scrub(text);
        }
    }

    /// The one-line console form.
    pub fn line(&self) -> String {
        let mut s = format!("{:<5} {}", self.verdict.label(), self.name);
        if let Some(m) = &self.message
            && self.verdict != Verdict::Fail
        {
            let first = m.lines().next().unwrap_or("");
            s.push_str(&format!("\n      {first}"));
        }
        s
    }
}

/// Counts of verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub pass: usize,
    pub info: usize,
    pub warn: usize,
    pub known: usize,
    pub skip: usize,
    pub fail: usize,
    pub error: usize,
}

impl Totals {
    pub fn of(records: &[ScenarioRecord]) -> Totals {
        let mut t = Totals::default();
        for r in records {
            t.add(r.verdict);
        }
        t
    }
    /// Counts one more verdict.
    pub fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Pass => self.pass += 1,
            Verdict::Info => self.info += 1,
            Verdict::Warn => self.warn += 1,
            Verdict::Known => self.known += 1,
            Verdict::Skip => self.skip += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Error => self.error += 1,
        }
    }
    pub fn total(&self) -> usize {
        self.pass + self.info + self.warn + self.skip + self.known + self.fail + self.error
    }
}

impl fmt::Display for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} scenarios: {} passed, {} warned, {} failed, {} errors, {} skipped",
            self.total(),
            self.pass,
            self.warn,
            self.fail,
            self.error,
            self.skip
        )?;
        if self.info > 0 {
            write!(f, ", {} info", self.info)?;
        }
        if self.known > 0 {
            write!(f, ", {} known failures (baseline)", self.known)?;
        }
        Ok(())
    }
}

/// What the exit code gates on (`--fail-on`): every failure, or only the failures of one
/// impact. A failure of no impact (a stale baseline entry) gates under every choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// Failures that grant something that must not be granted.
    Security,
    /// Failures that break a client following the specifications (and security failures,
    /// which break it too).
    Interop,
    #[default]
    All,
}

impl FailOn {
    pub const NAMES: [&'static str; 3] = ["security", "interop", "all"];

    /// Whether a failure of `impact` fails the run.
    pub fn gates(self, impact: Option<Impact>) -> bool {
        match (self, impact) {
            (FailOn::All, _) | (_, None) => true,
            (FailOn::Security, Some(i)) => i == Impact::Security,
            (FailOn::Interop, Some(i)) => i != Impact::Hygiene,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Security => "security",
            FailOn::Interop => "interop",
            FailOn::All => "all",
        }
    }
}

impl std::str::FromStr for FailOn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "security" => Ok(FailOn::Security),
            "interop" => Ok(FailOn::Interop),
            "all" => Ok(FailOn::All),
            other => Err(format!(
                "fail_on {other:?}: expected one of {}",
                FailOn::NAMES.join(", ")
            )),
        }
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Failures counted by what they cost. Known failures (the baseline) are not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailuresByImpact {
    pub security: usize,
    pub interop: usize,
    pub hygiene: usize,
    /// Failures of no impact: stale baseline entries.
    pub unrated: usize,
}

impl FailuresByImpact {
    pub fn of(records: &[ScenarioRecord]) -> FailuresByImpact {
        let mut t = FailuresByImpact::default();
        for r in records.iter().filter(|r| r.verdict == Verdict::Fail) {
            match r.impact {
                Some(Impact::Security) => t.security += 1,
                Some(Impact::Interop) => t.interop += 1,
                Some(Impact::Hygiene) => t.hygiene += 1,
                None => t.unrated += 1,
            }
        }
        t
    }
}

/// `2 security, 1 interop, 0 hygiene` (and the unrated, when there are any).
impl fmt::Display for FailuresByImpact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} security, {} interop, {} hygiene",
            self.security, self.interop, self.hygiene
        )?;
        if self.unrated > 0 {
            write!(f, ", {} stale baseline", self.unrated)?;
        }
        Ok(())
    }
}

/// The process exit code: 1 when a failure that `fail_on` gates on is found (or a SHOULD is
/// violated, under `--strict`), else 3 when the harness could not reach every verdict, else 0.
/// Known failures (the baseline) and info do not count.
pub fn exit_code(records: &[ScenarioRecord], strict: bool, fail_on: FailOn) -> u8 {
    let t = Totals::of(records);
    let gated = records
        .iter()
        .any(|r| r.verdict == Verdict::Fail && fail_on.gates(r.impact));
    if gated || (strict && t.warn > 0) {
        1
    } else if t.error > 0 {
        3
    } else {
        0
    }
}

/// The version of `results.json`'s layout (`schemas/results.schema.json`): raised when a field
/// changes meaning or goes away, not when one is added.
pub const RESULTS_SCHEMA_VERSION: u32 = 2;

/// The machine-readable verdicts (`reports/results.json`): every scenario with its
/// requirements, level, verdict (pass, info, warn, skip, known, fail, error), the impact of a
/// failure, message and warnings; the totals, the failures by impact and what `--fail-on`
/// gated on; and the requests sent per endpoint. The Cucumber JSON cannot express these.
pub fn results_json(
    records: &[ScenarioRecord],
    revision: &str,
    exit_code: u8,
    fail_on: FailOn,
    requests: &Requests,
) -> serde_json::Value {
    let t = Totals::of(records);
    let by_impact = FailuresByImpact::of(records);
    let scenarios: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name,
                "requirements": r.ids,
                "level": r.severity.tag(),
                "area": r.area,
                "file": r.file,
                "line": r.line,
                "revision": r.revision,
                "verdict": r.verdict.label().to_lowercase(),
                "violated": r.violated,
                "impact": r.impact.map(|i| i.to_string()),
                "message": r.message,
                "warnings": r.warnings,
                "duration_ms": u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
            })
        })
        .collect();
    serde_json::json!({
        "schema_version": RESULTS_SCHEMA_VERSION,
        "revision": revision,
        "exit_code": exit_code,
        "fail_on": fail_on.as_str(),
        "totals": {
            "scenarios": t.total(),
            "pass": t.pass,
            "info": t.info,
            "warn": t.warn,
            "skip": t.skip,
            "known": t.known,
            "fail": t.fail,
            "error": t.error,
        },
        "failures_by_impact": {
            "security": by_impact.security,
            "interop": by_impact.interop,
            "hygiene": by_impact.hygiene,
            "unrated": by_impact.unrated,
        },
        "requests": requests.to_json(),
        "scenarios": scenarios,
    })
}

/// The summary by requirement: each ID's worst verdict over its scenarios.
pub fn summary(records: &[ScenarioRecord]) -> String {
    let mut by_id: BTreeMap<&str, (Verdict, usize)> = BTreeMap::new();
    for r in records {
        for id in &r.ids {
            let e = by_id.entry(id.as_str()).or_insert((Verdict::Pass, 0));
            e.0 = e.0.max(r.verdict);
            e.1 += 1;
        }
    }
    let mut out = String::from("Requirements:\n");
    for (id, (v, n)) in &by_id {
        let text = crate::requirements::get(id)
            .map(|r| r.text.as_str())
            .unwrap_or("");
        let short: String = text.chars().take(70).collect();
        let dots = if text.chars().count() > 70 { "…" } else { "" };
        out.push_str(&format!(
            "  {:<5} {id:<10} ({n}) {short}{dots}\n",
            v.label()
        ));
    }
    let t = Totals::of(records);
    out.push_str(&format!("\n{t}\n"));
    if t.fail > 0 {
        out.push_str(&format!(
            "Failures by impact: {}\n",
            FailuresByImpact::of(records)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn record(verdict: Verdict, ids: &[&str]) -> ScenarioRecord {
        ScenarioRecord {
            feature: "PKCE".into(),
            area: "pkce".into(),
            file: "features/pkce.feature".into(),
            name: format!("{} something", ids.join(" ")),
            line: 1,
            ids: ids.iter().map(|s| s.to_string()).collect(),
            severity: Severity::Must,
            revision: "2025-11-25".into(),
            verdict,
            message: None,
            violated: None,
            impact: None,
            warnings: Vec::new(),
            warned: Vec::new(),
            transcript: Vec::new(),
            duration: Duration::from_millis(5),
        }
    }

    #[test]
    fn exit_codes() {
        assert_eq!(
            exit_code(&[record(Verdict::Pass, &["PKCE-06"])], false, FailOn::All),
            0
        );
        assert_eq!(
            exit_code(&[record(Verdict::Warn, &["CODE-03"])], false, FailOn::All),
            0
        );
        assert_eq!(
            exit_code(&[record(Verdict::Warn, &["CODE-03"])], true, FailOn::All),
            1
        );
        assert_eq!(
            exit_code(&[record(Verdict::Skip, &["RS-06"])], false, FailOn::All),
            0
        );
        assert_eq!(
            exit_code(&[record(Verdict::Error, &["RS-06"])], false, FailOn::All),
            3
        );
        assert_eq!(
            exit_code(
                &[
                    record(Verdict::Error, &["RS-06"]),
                    record(Verdict::Fail, &["PKCE-06"])
                ],
                false,
                FailOn::All
            ),
            1
        );
    }

    fn failing(impact: Option<Impact>) -> ScenarioRecord {
        ScenarioRecord {
            impact,
            ..record(Verdict::Fail, &["PKCE-06"])
        }
    }

    #[test]
    fn fail_on_gates_the_exit_code_by_impact() {
        let security = failing(Some(Impact::Security));
        let interop = failing(Some(Impact::Interop));
        let hygiene = failing(Some(Impact::Hygiene));
        let stale = failing(None);
        for (records, all, interop_gate, security_gate) in [
            (vec![security.clone()], 1, 1, 1),
            (vec![interop.clone()], 1, 1, 0),
            (vec![hygiene.clone()], 1, 0, 0),
            (vec![stale], 1, 1, 1),
            (
                vec![interop.clone(), record(Verdict::Error, &["RS-06"])],
                1,
                1,
                3,
            ),
        ] {
            assert_eq!(exit_code(&records, false, FailOn::All), all);
            assert_eq!(exit_code(&records, false, FailOn::Interop), interop_gate);
            assert_eq!(exit_code(&records, false, FailOn::Security), security_gate);
        }
        // Under --strict a warning still fails the run, whatever --fail-on says.
        assert_eq!(
            exit_code(
                &[record(Verdict::Warn, &["CODE-03"])],
                true,
                FailOn::Security
            ),
            1
        );
        let by = FailuresByImpact::of(&[security, interop.clone(), interop, hygiene]);
        assert_eq!(by.to_string(), "1 security, 2 interop, 1 hygiene");
        assert_eq!("interop".parse::<FailOn>(), Ok(FailOn::Interop));
        assert!("hygiene".parse::<FailOn>().is_err());
    }

    #[test]
    fn results_json_carries_every_verdict() {
        let mut info = record(Verdict::Info, &["RS-10"]);
        info.message = Some("observed: 400".into());
        let mut fail = record(Verdict::Fail, &["PKCE-06"]);
        fail.impact = Some(Impact::Interop);
        let j = results_json(
            &[fail, info],
            "2025-11-25",
            1,
            FailOn::All,
            &Requests::default(),
        );
        assert_eq!(j["schema_version"], 2);
        assert_eq!(j["fail_on"], "all");
        assert_eq!(j["failures_by_impact"]["interop"], 1);
        assert_eq!(j["failures_by_impact"]["security"], 0);
        assert_eq!(j["scenarios"][0]["impact"], "interop");
        assert_eq!(j["scenarios"][1]["impact"], serde_json::Value::Null);
        assert_eq!(j["requests"]["by_endpoint"]["token"]["requests"], 0);
        assert_eq!(j["exit_code"], 1);
        assert_eq!(j["totals"]["fail"], 1);
        assert_eq!(j["totals"]["info"], 1);
        assert_eq!(j["scenarios"][0]["verdict"], "fail");
        assert_eq!(j["scenarios"][1]["verdict"], "info");
        assert_eq!(j["scenarios"][1]["message"], "observed: 400");
    }

    #[test]
    fn summary_takes_the_worst_verdict_per_requirement() {
        let s = summary(&[
            record(Verdict::Pass, &["CODE-02"]),
            record(Verdict::Fail, &["CODE-02"]),
        ]);
        assert!(s.contains("FAIL  CODE-02    (2)"), "{s}");
        assert!(
            s.contains("2 scenarios: 1 passed, 0 warned, 1 failed"),
            "{s}"
        );
        assert!(s.contains("Failures by impact: 0 security"), "{s}");
    }
}
