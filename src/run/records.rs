//! A scenario's record: its identity from the feature file, its verdict from how it ended.

use std::time::Duration;

use cucumber::event::ScenarioFinished;
use cucumber::gherkin::{Feature, Scenario};

use crate::client::mcp::Revision;
use crate::features;
use crate::report::{ScenarioRecord, Verdict};
use crate::requirements::{self, Severity};
use crate::steps::World;
use crate::verdict::Fault;

/// Whether any of a scenario's requirements applies to `revision`.
pub fn applies(s: &Scenario, revision: Revision) -> bool {
    features::ids(s)
        .iter()
        .any(|id| requirements::get(id).is_none_or(|r| r.applies_to(revision)))
}

/// A scenario not run because none of its requirements applies to `revision`.
pub fn skipped(feature: &Feature, scenario: &Scenario, revision: Revision) -> ScenarioRecord {
    ScenarioRecord {
        verdict: Verdict::Skip,
        message: Some(format!(
            "skipped: its requirements do not apply to MCP {revision}"
        )),
        ..blank_record(feature, scenario, revision)
    }
}

/// The record of a finished scenario: the world's fault, warnings and observations decide
/// the verdict; a fault that is not the scenario's own requirement is an error.
pub fn record_of(
    revision: Revision,
    feature: &Feature,
    scenario: &Scenario,
    finished: &ScenarioFinished,
    world: Option<&World>,
) -> ScenarioRecord {
    let ids = features::ids(scenario);
    let mut warnings: Vec<String> = world
        .map(|w| w.warnings.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let warned = world
        .map(|w| {
            w.warnings
                .iter()
                .map(|v| v.0.requirement.to_string())
                .collect()
        })
        .unwrap_or_default();
    let observations: Vec<String> = world
        .map(|w| w.observations.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let (verdict, message, violated) = match (world.and_then(|w| w.fault.clone()), finished) {
        (Some(Fault::Violation(v)), _) if ids.iter().any(|id| v.requirement == id.as_str()) => (
            Verdict::Fail,
            Some(format!("violation of {v}")),
            Some((v.requirement.to_string(), v.impact())),
        ),
        (Some(Fault::Violation(v)), _) => (
            Verdict::Error,
            Some(format!(
                "could not run: a precondition failed with a violation of {v}"
            )),
            None,
        ),
        (Some(Fault::Harness(m)), _) => (Verdict::Error, Some(format!("harness error: {m}")), None),
        (Some(Fault::Skip(m)), _) => (Verdict::Skip, Some(format!("skipped: {m}")), None),
        (None, ScenarioFinished::StepPassed) if warnings.is_empty() && observations.is_empty() => {
            (Verdict::Pass, None, None)
        }
        (None, ScenarioFinished::StepPassed) if warnings.is_empty() => (
            Verdict::Info,
            Some(format!("observed:\n{}", observations.join("\n"))),
            None,
        ),
        (None, ScenarioFinished::StepPassed) => (Verdict::Warn, None, None),
        (None, ScenarioFinished::StepSkipped) => (
            Verdict::Error,
            Some(
                "harness error: a step has no definition (a feature file and the steps disagree)"
                    .into(),
            ),
            None,
        ),
        (None, ScenarioFinished::StepFailed(_, _, e)) => {
            (Verdict::Error, Some(format!("harness error: {e}")), None)
        }
        (None, ScenarioFinished::BeforeHookFailed(_)) => (
            Verdict::Error,
            Some("harness error: the scenario could not start".into()),
            None,
        ),
    };
    if verdict != Verdict::Warn && verdict != Verdict::Pass && !warnings.is_empty() {
        warnings.insert(0, "Warnings before the scenario stopped:".into());
    }
    ScenarioRecord {
        verdict,
        message,
        violated: violated.as_ref().map(|(id, _)| id.clone()),
        impact: violated.map(|(_, impact)| impact),
        warnings,
        warned,
        transcript: world.map(|w| transcript(w, verdict)).unwrap_or_default(),
        duration: world.map(|w| w.started.elapsed()).unwrap_or_default(),
        ..blank_record(feature, scenario, revision)
    }
}

/// The scenario's exchanges, redacted; none for a passed scenario when the run keeps only the
/// others' ([`super::Transcripts::UnlessPassed`]: its transport defers them), whose secrets
/// are learned all the same.
fn transcript(w: &World, verdict: Verdict) -> Vec<crate::client::transcript::Exchange> {
    if verdict == Verdict::Pass && w.http.defers_transcripts() {
        w.http.learn_deferred();
        return Vec::new();
    }
    w.http.transcript()
}

/// A record of a scenario with its identity filled in and nothing concluded yet.
fn blank_record(feature: &Feature, scenario: &Scenario, revision: Revision) -> ScenarioRecord {
    ScenarioRecord {
        feature: feature.name.clone(),
        area: features::area(feature),
        file: feature
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        name: scenario.name.clone(),
        line: scenario.position.line,
        ids: features::ids(scenario),
        severity: features::severity(scenario).unwrap_or(Severity::Must),
        revision: revision.as_str().into(),
        verdict: Verdict::Pass,
        message: None,
        violated: None,
        impact: None,
        warnings: Vec::new(),
        warned: Vec::new(),
        transcript: Vec::new(),
        duration: Duration::ZERO,
    }
}
