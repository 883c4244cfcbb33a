//! The expected-failures baseline (`--baseline FILE`): failures a team already knows about,
//! each with a reason. A listed failure does not fail the gate; a listed entry that no longer
//! fails is *stale* and does, so that baselines only shrink.
//!
//! ```toml
//! [[expected]]
//! requirement = "CODE-03"
//! reason = "replayed codes do not revoke tokens yet (ticket 123)"
//!
//! [[expected]]
//! scenario = "RS-06 An expired token is refused"
//! reason = "the gateway caches token checks for 60 s"
//! ```

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::report::{ScenarioRecord, Verdict};
use crate::requirements::{self, Severity};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    #[serde(default)]
    pub expected: Vec<Entry>,
}

/// One known failure: a requirement (every scenario failing on it) or one scenario by name.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    #[serde(default)]
    pub requirement: Option<String>,
    #[serde(default)]
    pub scenario: Option<String>,
    pub reason: String,
}

impl Entry {
    fn label(&self) -> String {
        match (&self.requirement, &self.scenario) {
            (Some(id), _) => format!("requirement {id}"),
            (None, Some(name)) => format!("scenario {name:?}"),
            (None, None) => "an empty entry".into(),
        }
    }

    /// Whether this entry names the failure of `r`.
    fn covers_failure(&self, r: &ScenarioRecord) -> bool {
        r.verdict == Verdict::Fail && self.names(r)
    }

    fn names(&self, r: &ScenarioRecord) -> bool {
        match (&self.requirement, &self.scenario) {
            (Some(id), _) => r.violated.as_deref() == Some(id.as_str()) || r.ids.contains(id),
            (None, Some(name)) => r.name == *name,
            (None, None) => false,
        }
    }
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
        Baseline::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Baseline, String> {
        let b: Baseline = toml::from_str(text).map_err(|e| e.to_string())?;
        for (i, e) in b.expected.iter().enumerate() {
            let at = format!("expected entry {}", i + 1);
            match (&e.requirement, &e.scenario) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(format!(
                        "{at}: give exactly one of `requirement` and `scenario`"
                    ));
                }
                (Some(id), None) if requirements::get(id).is_none() => {
                    return Err(format!("{at}: {id} is not a known requirement ID"));
                }
                (Some(id), None)
                    if requirements::get(id).is_some_and(|r| r.severity != Severity::Must) =>
                {
                    return Err(format!(
                        "{at}: {id} is not a MUST; its violations are warnings, which never fail the gate"
                    ));
                }
                _ => {}
            }
            if e.reason.trim().is_empty() {
                return Err(format!("{at} ({}): a reason is required", e.label()));
            }
        }
        Ok(b)
    }

    /// Marks the failures the baseline lists as known, and returns the stale entries: those
    /// whose scenarios ran to a verdict and none failed.
    pub fn apply(&self, records: &mut [ScenarioRecord]) -> Vec<Entry> {
        self.evaluate(records)
            .into_iter()
            .filter(Outcome::stale)
            .map(|o| o.entry())
            .collect()
    }

    /// Marks the failures the baseline lists as known, and says for each entry whether it
    /// matched a failure and whether its scenarios ran. Both are facts about single records, so
    /// the outcomes of the shards of a run add up to the outcome of the whole run.
    pub fn evaluate(&self, records: &mut [ScenarioRecord]) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for e in &self.expected {
            let mut matched = false;
            for r in records.iter_mut().filter(|r| e.covers_failure(r)) {
                matched = true;
                r.verdict = Verdict::Known;
                r.message = Some(format!(
                    "known failure (baseline: {}): {}",
                    e.reason,
                    r.message.as_deref().unwrap_or("")
                ));
            }
            let ran = records.iter().any(|r| {
                e.names(r) && matches!(r.verdict, Verdict::Pass | Verdict::Info | Verdict::Warn)
            });
            outcomes.push(Outcome {
                requirement: e.requirement.clone(),
                scenario: e.scenario.clone(),
                reason: e.reason.clone(),
                matched,
                ran,
            });
        }
        outcomes
    }
}

/// What one baseline entry found in a run's records (written to results.json, so that
/// `merge-reports` can tell a stale entry across shards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub requirement: Option<String>,
    pub scenario: Option<String>,
    pub reason: String,
    /// A failure it names was marked known.
    pub matched: bool,
    /// A scenario it names ran to a passing verdict.
    pub ran: bool,
}

impl Outcome {
    /// Stale: nothing it names failed, and something it names passed.
    pub fn stale(&self) -> bool {
        !self.matched && self.ran
    }

    pub fn entry(&self) -> Entry {
        Entry {
            requirement: self.requirement.clone(),
            scenario: self.scenario.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// A record for a stale baseline entry, so that the reports and the exit code show it.
pub fn stale_record(e: &Entry, revision: &str) -> ScenarioRecord {
    ScenarioRecord {
        feature: "Expected-failures baseline".into(),
        area: "baseline".into(),
        file: String::new(),
        name: format!("Baseline entry for {} no longer fails", e.label()),
        line: 0,
        ids: e.requirement.iter().cloned().collect(),
        severity: Severity::Must,
        revision: revision.into(),
        verdict: Verdict::Fail,
        message: Some(format!(
            "stale baseline entry: {} passes now (listed because: {}). Remove it from the baseline.",
            e.label(),
            e.reason
        )),
        violated: None,
        impact: None,
        warnings: Vec::new(),
        warned: Vec::new(),
        transcript: Vec::new(),
        duration: Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, id: &str, verdict: Verdict) -> ScenarioRecord {
        ScenarioRecord {
            violated: (verdict == Verdict::Fail).then(|| id.to_string()),
            impact: None,
            ids: vec![id.into()],
            name: name.into(),
            verdict,
            ..stale_record(
                &Entry {
                    requirement: None,
                    scenario: Some(String::new()),
                    reason: String::new(),
                },
                "2025-11-25",
            )
        }
    }

    #[test]
    fn listed_failures_become_known_and_passing_entries_are_stale() {
        let b = Baseline::parse(
            r#"
            [[expected]]
            requirement = "PKCE-06"
            reason = "known"

            [[expected]]
            scenario = "RS-06 An expired token is refused"
            reason = "cached"
            "#,
        )
        .expect("parses");
        let mut records = vec![
            record("PKCE-06 x", "PKCE-06", Verdict::Fail),
            record("RS-06 An expired token is refused", "RS-06", Verdict::Pass),
            record("CODE-02 y", "CODE-02", Verdict::Fail),
        ];
        let stale = b.apply(&mut records);
        assert_eq!(records[0].verdict, Verdict::Known);
        assert!(
            records[0]
                .message
                .as_deref()
                .is_some_and(|m| m.contains("baseline: known"))
        );
        assert_eq!(records[2].verdict, Verdict::Fail, "not listed");
        assert_eq!(stale.len(), 1);
        assert_eq!(
            stale[0].scenario.as_deref(),
            Some("RS-06 An expired token is refused")
        );
        let s = stale_record(&stale[0], "2025-11-25");
        assert_eq!(s.verdict, Verdict::Fail);
        assert!(s.message.as_deref().is_some_and(|m| m.contains("stale")));
    }

    #[test]
    fn an_entry_whose_scenarios_did_not_run_is_not_stale() {
        let b = Baseline::parse("[[expected]]\nrequirement = \"RS-06\"\nreason = \"r\"\n")
            .expect("parses");
        let mut records = vec![record("RS-06 x", "RS-06", Verdict::Skip)];
        assert!(b.apply(&mut records).is_empty());
    }

    #[test]
    fn bad_baselines_are_refused_with_the_reason() {
        for (text, says) in [
            ("[[expected]]\nreason = \"r\"\n", "exactly one"),
            (
                "[[expected]]\nrequirement = \"PKCE-06\"\nscenario = \"x\"\nreason = \"r\"\n",
                "exactly one",
            ),
            (
                "[[expected]]\nrequirement = \"NOPE-01\"\nreason = \"r\"\n",
                "not a known requirement",
            ),
            (
                "[[expected]]\nrequirement = \"PKCE-06\"\nreason = \" \"\n",
                "reason is required",
            ),
            (
                "[[expected]]\nrequirement = \"CODE-03\"\nreason = \"r\"\n",
                "not a MUST",
            ),
            ("[[expected]]\nrequirment = \"PKCE-06\"\n", "unknown field"),
        ] {
            let e = Baseline::parse(text).expect_err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
