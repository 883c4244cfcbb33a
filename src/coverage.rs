//! Coverage: for each requirement of the catalogue, its level, the scenarios that test it, the
//! reference-server defects that prove those scenarios can fail, or why it is not tested.

use std::collections::BTreeMap;

use cucumber::gherkin::Feature;
use reference_server::Defect;
use serde_json::{Value, json};

use crate::client::mcp::Revision;
use crate::features;
use crate::requirements::{self, Requirement, Severity};

/// Where a requirement stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// At least one scenario tests it.
    Tested,
    /// No scenario can: manual review, not observable, or needs what a black-box client lacks.
    NotTested(String),
    /// Testable, but no scenario yet: a gap.
    Missing,
}

/// One requirement's line.
#[derive(Debug, Clone)]
pub struct Row {
    pub requirement: &'static Requirement,
    pub scenarios: Vec<String>,
    pub defects: Vec<Defect>,
    pub status: Status,
}

/// The whole catalogue against the features.
#[derive(Debug, Clone)]
pub struct Coverage {
    pub scenarios: usize,
    pub rows: Vec<Row>,
    /// Scenario metadata problems (unknown IDs, level tags), from the feature lint.
    pub lint: Vec<String>,
    /// `@must` scenarios that carry no defect's requirement.
    pub must_without_defect: Vec<String>,
}

impl Coverage {
    pub fn of(features: &[Feature]) -> Result<Coverage, String> {
        let registry = requirements::registry()?;
        let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let all = features::scenarios(features);
        for (_, s) in &all {
            for id in features::ids(s) {
                let names = by_id.entry(id).or_default();
                if !names.contains(&s.name) {
                    names.push(s.name.clone());
                }
            }
        }
        let rows = registry
            .values()
            .map(|r| {
                let scenarios = by_id.get(&r.id).cloned().unwrap_or_default();
                let defects = Defect::ALL
                    .iter()
                    .copied()
                    .filter(|d| d.requirements().iter().any(|id| *id == r.id.as_str()))
                    .collect();
                let status = match (&r.not_tested, scenarios.is_empty()) {
                    (_, false) => Status::Tested,
                    (Some(why), true) => Status::NotTested(why.clone()),
                    (None, true) if !r.testable() => Status::NotTested(format!(
                        "the catalogue's login need ({}) cannot be met over the wire",
                        r.login
                    )),
                    (None, true) => Status::Missing,
                };
                Row {
                    requirement: r,
                    scenarios,
                    defects,
                    status,
                }
            })
            .collect();
        Ok(Coverage {
            scenarios: all.len(),
            rows,
            lint: features::lint(features),
            must_without_defect: crate::selftest::uncovered(features),
        })
    }

    /// Testable requirements with no scenario.
    pub fn missing(&self) -> Vec<&str> {
        self.rows
            .iter()
            .filter(|r| r.status == Status::Missing)
            .map(|r| r.requirement.id.as_str())
            .collect()
    }

    /// Everything that must not land: unknown IDs and bad level tags, testable requirements
    /// with neither scenario nor reason, `@must` scenarios without a defect.
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.lint.clone();
        for id in self.missing() {
            out.push(format!(
                "{id}: testable, but no scenario tests it and no reason is given"
            ));
        }
        for s in &self.must_without_defect {
            out.push(format!(
                "{s}: a @must scenario with no reference-server defect"
            ));
        }
        out
    }

    /// Per revision: requirements that apply, tested, not tested, missing.
    pub fn by_revision(&self) -> Vec<(Revision, [usize; 4])> {
        Revision::ALL
            .iter()
            .map(|rev| {
                let mut n = [0; 4];
                for r in self.rows.iter().filter(|r| r.requirement.applies_to(*rev)) {
                    n[0] += 1;
                    match r.status {
                        Status::Tested => n[1] += 1,
                        Status::NotTested(_) => n[2] += 1,
                        Status::Missing => n[3] += 1,
                    }
                }
                (*rev, n)
            })
            .collect()
    }

    pub fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let r = row.requirement;
                let (status, reason) = match &row.status {
                    Status::Tested => ("tested", None),
                    Status::NotTested(why) => ("not tested", Some(why.clone())),
                    Status::Missing => ("missing", None),
                };
                let by_revision: BTreeMap<&str, &str> = Revision::ALL
                    .iter()
                    .filter(|v| r.applies_to(**v))
                    .map(|v| (v.as_str(), severity_word(r.severity_in(*v))))
                    .collect();
                let links: Vec<Value> = requirements::links(&r.sources)
                    .into_iter()
                    .map(|(label, url)| json!({"label": label, "url": url}))
                    .collect();
                json!({
                    "id": r.id,
                    "text": r.text,
                    "level": r.level,
                    "severity": severity_word(r.severity),
                    "severity_by_revision": by_revision,
                    "binds": r.binds,
                    "revisions": r.revisions,
                    "login": r.login,
                    "sources": r.sources,
                    "links": links,
                    "status": status,
                    "reason": reason,
                    "scenarios": row.scenarios,
                    "defects": row.defects.iter().map(|d| d.name()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let revisions: Vec<Value> = self
            .by_revision()
            .into_iter()
            .map(|(rev, [applies, tested, not_tested, missing])| {
                json!({
                    "revision": rev.as_str(),
                    "requirements": applies,
                    "tested": tested,
                    "not_tested": not_tested,
                    "missing": missing,
                })
            })
            .collect();
        json!({
            "scenarios": self.scenarios,
            "requirements": self.rows.len(),
            "tested": self.rows.iter().filter(|r| r.status == Status::Tested).count(),
            "not_tested": self.rows.iter().filter(|r| matches!(r.status, Status::NotTested(_))).count(),
            "missing": self.missing(),
            "defects": Defect::ALL.len(),
            "revisions": revisions,
            "problems": self.problems(),
            "rows": rows,
        })
    }

    /// The console form: one line per requirement, then the totals.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for row in &self.rows {
            let r = row.requirement;
            let what = match &row.status {
                Status::Tested => format!(
                    "{} scenario(s); defects: {}",
                    row.scenarios.len(),
                    if row.defects.is_empty() {
                        "none".to_string()
                    } else {
                        row.defects
                            .iter()
                            .map(|d| d.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
                Status::NotTested(why) => format!("not tested: {why}"),
                Status::Missing => "MISSING: testable, no scenario".into(),
            };
            out.push_str(&format!(
                "{:<11} {:<6} {:<8} {what}\n",
                r.id,
                severity_word(r.severity).to_uppercase(),
                r.login.split_whitespace().next().unwrap_or(""),
            ));
        }
        out.push('\n');
        for (rev, [applies, tested, not_tested, missing]) in self.by_revision() {
            out.push_str(&format!(
                "MCP {rev}: {applies} requirements: {tested} tested, {not_tested} not tested (with a reason), {missing} missing\n"
            ));
        }
        out.push_str(&format!(
            "{} scenarios, {} requirements, {} defects\n",
            self.scenarios,
            self.rows.len(),
            Defect::ALL.len()
        ));
        for p in self.problems() {
            out.push_str(&format!("PROBLEM: {p}\n"));
        }
        out
    }
}

fn severity_word(s: Severity) -> &'static str {
    s.tag()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded() -> Coverage {
        let f = features::load(features::Source::Embedded).expect("features");
        Coverage::of(&f).expect("coverage")
    }

    #[test]
    fn every_requirement_has_a_row_and_the_json_says_so() {
        let c = embedded();
        let registry = requirements::registry().expect("registry");
        assert_eq!(c.rows.len(), registry.len());
        let j = c.to_json();
        assert_eq!(j["requirements"].as_u64(), Some(registry.len() as u64));
        let pkce06 = j["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["id"] == "PKCE-06"))
            .expect("PKCE-06 row");
        assert_eq!(pkce06["status"], "tested");
        assert!(
            pkce06["defects"]
                .as_array()
                .is_some_and(|d| d.iter().any(|x| x == "pkce-verifier-unchecked"))
        );
        assert!(pkce06["links"].as_array().is_some_and(|l| !l.is_empty()));
    }

    /// The gate: no unknown ID, every testable requirement of every revision has a scenario or
    /// a written reason, and every `@must` scenario has a defect.
    #[test]
    fn the_embedded_features_cover_the_whole_catalogue() {
        let c = embedded();
        assert_eq!(c.problems(), Vec::<String>::new());
        assert!(c.scenarios >= 120, "{} scenarios", c.scenarios);
        for (rev, [_, _, _, missing]) in c.by_revision() {
            assert_eq!(missing, 0, "{rev}");
        }
    }

    #[test]
    fn untestable_requirements_carry_a_reason() {
        let c = embedded();
        for row in &c.rows {
            if !row.requirement.testable() {
                assert!(
                    matches!(row.status, Status::NotTested(_) | Status::Tested),
                    "{}",
                    row.requirement.id
                );
            }
        }
    }

    #[test]
    fn an_unknown_id_or_a_must_scenario_without_defect_is_a_problem() {
        let text = "Feature: x\n\n  @NOPE-01 @must\n  Scenario: NOPE-01 a\n    When x\n\n  @PKCE-06 @must\n  Scenario: PKCE-06 b\n    When y\n";
        let f = cucumber::gherkin::Feature::parse(text, cucumber::gherkin::GherkinEnv::default())
            .expect("parses");
        let c = Coverage::of(&[f]).expect("coverage");
        let p = c.problems();
        assert!(
            p.iter()
                .any(|x| x.contains("NOPE-01 is not in requirements.toml")),
            "{p:?}"
        );
        // Every other testable requirement is missing a scenario here.
        assert!(
            p.iter().any(|x| x.starts_with("PKCE-07: testable")),
            "{p:?}"
        );
    }
}
