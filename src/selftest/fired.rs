//! Which scenarios the self-test has seen fire: every `@must` scenario must carry a defect's
//! requirement and fail (or warn on its own requirement) under some defect; every `@should`
//! scenario must warn on its own requirement, and every `@info` scenario report info on it,
//! under some defect (or, for info, a variant), unless a reason says none can.

use std::collections::{BTreeMap, BTreeSet};

use reference_server::Defect;

use super::{RunRecords, VariantRun};
use crate::features;
use crate::report::{ScenarioRecord, Verdict};
use crate::requirements::Severity;

/// MUST requirements that no defect of the reference server can break, with the reason.
/// Empty: every MUST scenario has a defect.
pub const NO_DEFECT: &[(&str, &str)] = &[];

/// `@should` and `@info` scenarios (by the name's leading requirement ID) that no defect can
/// make warn or report info, with the reason. Every other one must be seen firing.
pub const NEVER_FIRES: &[(&str, &str)] = &[
    (
        "ASM-19",
        "not offering client ID metadata documents beside registration is allowed, so it is no defect; ASM-19 applies under 2026-07-28 only, and the self-test judges by 2025-11-25, where the `no-client-id-metadata-documents` variant draws ASM-11's warning instead",
    ),
    (
        "SCOPE-07",
        "the narrow scope the scenario holds is the one every flow asks for (the challenge's), and the scenario judges RS-02 on that token before SCOPE-07: a defect refusing it breaks RS-02 and the MUST scenarios first",
    ),
    (
        "RES-08",
        "the reference server's MCP endpoint has a path (/mcp), so a PRM resource with a trailing slash breaks PRM-09 (a MUST) first and the runner discards that PRM; only an MCP server at the origin's root could show RES-08 alone",
    ),
];

/// `@must` scenarios (by name) that carry no defect's requirement and are not exempt.
pub fn uncovered(features: &[cucumber::gherkin::Feature]) -> Vec<String> {
    let covered: BTreeSet<&str> = Defect::ALL
        .iter()
        .flat_map(|d| d.requirements().iter().map(|id| id.as_str()))
        .chain(NO_DEFECT.iter().map(|(id, _)| *id))
        .collect();
    let mut out: Vec<String> = features::scenarios(features)
        .into_iter()
        .filter(|(_, s)| features::severity(s) == Some(Severity::Must))
        .filter(|(_, s)| {
            !features::ids(s)
                .iter()
                .any(|id| covered.contains(id.as_str()))
        })
        .map(|(_, s)| s.name.clone())
        .collect();
    out.dedup();
    out
}

/// `@must` scenarios that no defect run made fail, or warn on one of their own requirements
/// (a check that grades its finding as a warning, e.g. TOK-10's advisory throttling, has still
/// been seen to fire). Only meaningful when every defect ran.
pub(super) fn never_failed(
    features: &[cucumber::gherkin::Feature],
    runs: &[RunRecords],
) -> Vec<String> {
    if runs.len() < Defect::ALL.len() {
        return Vec::new();
    }
    let mut fired: BTreeMap<&str, usize> = BTreeMap::new();
    for r in runs.iter().flat_map(|r| r.records()) {
        let warned_own = r.warned.iter().any(|w| r.ids.contains(w));
        if r.verdict == Verdict::Fail || warned_own {
            *fired.entry(r.name.as_str()).or_default() += 1;
        }
    }
    let mut out: Vec<String> = features::scenarios(features)
        .into_iter()
        .filter(|(_, s)| features::severity(s) == Some(Severity::Must))
        .map(|(_, s)| s.name.clone())
        .filter(|n| !fired.contains_key(n.as_str()))
        .collect();
    out.dedup();
    out
}

/// Whether `r` reported info on requirement `id` (an observation, which the message lists as
/// "ID (INFO): ...").
pub(super) fn observed_on(r: &ScenarioRecord, id: &str) -> bool {
    r.verdict == Verdict::Info
        && r.message
            .as_deref()
            .is_some_and(|m| m.contains(&format!("{id} (INFO)")))
}

/// `@should` scenarios that no defect run made warn on their own requirement (or fail), and
/// `@info` scenarios that none made report info, leaving out [`NEVER_FIRES`]. A warning on
/// another requirement is not a catch. An info scenario may also be seen reporting info in a
/// variant's run (`variants`): info records a behaviour the specifications allow, which is what
/// a variant switches on. Only meaningful when every defect ran.
pub(super) fn never_warned(
    features: &[cucumber::gherkin::Feature],
    runs: &[RunRecords],
    variants: &[VariantRun],
) -> Vec<String> {
    if runs.len() < Defect::ALL.len() {
        return Vec::new();
    }
    let mut fired: BTreeSet<&str> = BTreeSet::new();
    for r in variants
        .iter()
        .filter_map(|v| v.outcome.as_deref().ok())
        .flatten()
    {
        if r.ids.iter().any(|id| observed_on(r, id)) {
            fired.insert(r.name.as_str());
        }
    }
    for r in runs.iter().flat_map(|r| r.records()) {
        let own_warning = r.warned.iter().any(|w| r.ids.contains(w));
        let own_info = r.ids.iter().any(|id| observed_on(r, id));
        if r.verdict == Verdict::Fail || own_warning || own_info {
            fired.insert(r.name.as_str());
        }
    }
    let exempt = |name: &str| {
        NEVER_FIRES
            .iter()
            .any(|(id, _)| name.split(' ').next() == Some(*id))
    };
    let mut out: Vec<String> = features::scenarios(features)
        .into_iter()
        .filter(|(_, s)| {
            matches!(
                features::severity(s),
                Some(Severity::Should | Severity::Info)
            )
        })
        .map(|(_, s)| s.name.clone())
        .filter(|n| !fired.contains(n.as_str()) && !exempt(n))
        .collect();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::record;
    use super::*;

    #[test]
    fn a_should_scenario_counts_as_proven_only_by_a_warning_on_its_own_requirement() {
        let features = features::load(features::Source::Embedded).expect("features");
        let should = features::scenarios(&features)
            .into_iter()
            .find(|(_, s)| features::severity(s) == Some(Severity::Should))
            .map(|(_, s)| s.name.clone())
            .expect("a @should scenario");
        let own = should.split(' ').next().unwrap_or_default().to_string();
        let runs = |warned: &str| -> Vec<RunRecords> {
            Defect::ALL
                .iter()
                .enumerate()
                .map(|(i, d)| RunRecords {
                    defect: Some(*d),
                    outcome: Ok(if i == 0 {
                        vec![ScenarioRecord {
                            warned: vec![warned.to_string()],
                            ..record(&should, &[&own], Verdict::Warn, None)
                        }]
                    } else {
                        Vec::new()
                    }),
                })
                .collect()
        };
        assert!(!never_warned(&features, &runs(&own), &[]).contains(&should));
        assert!(never_warned(&features, &runs("ZZZ-99"), &[]).contains(&should));
        // Without every defect run, nothing can be said.
        assert!(never_warned(&features, &runs(&own)[..1], &[]).is_empty());
    }

    #[test]
    fn every_must_scenario_carries_a_defect_requirement() {
        let features = features::load(features::Source::Embedded).expect("features");
        assert_eq!(uncovered(&features), Vec::<String>::new());
    }

    #[test]
    fn every_defect_names_registered_requirements() {
        for d in Defect::ALL {
            for id in d.requirements() {
                assert!(
                    crate::requirements::get(id.as_str()).is_some(),
                    "{d}: {id} is not in requirements.toml"
                );
            }
        }
        for (id, _) in NO_DEFECT.iter().chain(NEVER_FIRES) {
            assert!(crate::requirements::get(id).is_some(), "{id}");
        }
    }
}
