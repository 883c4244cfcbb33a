//! What the HTML report and the Markdown summary show, worked out once from the scenario
//! records: the run's header, the totals, the findings (requirement, expected, actual) and the
//! requirement matrix by area. The templates only lay it out.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::SystemTime;

use serde::Serialize;

pub use super::finding::{Finding, shorten};
use super::{ScenarioRecord, Totals, Verdict};
use crate::requirements;

/// What a report says about the run besides its scenarios.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The target as the console names it (a URL, or the embedded reference server).
    pub target: String,
    /// The MCP revision the run judged by.
    pub revision: String,
    /// Why that revision (`--spec`, or what the target said under `--spec auto`).
    pub revision_reason: String,
    pub exit_code: u8,
    pub strict: bool,
    /// What the exit code gated on.
    pub fail_on: super::FailOn,
    /// What the run sent (none in reports made without a run).
    pub requests: Option<super::Requests>,
    /// When the run finished.
    pub finished: SystemTime,
}

/// What an exit code means (the same words as `--help`).
pub fn exit_meaning(code: u8) -> &'static str {
    match code {
        0 => "every MUST holds",
        1 => "a MUST is violated (of an impact --fail-on gates on; or a SHOULD, with --strict)",
        2 => "usage or configuration error",
        _ => "the harness could not reach every verdict",
    }
}

/// The harness version and the MCP revisions its catalogue covers, as `--version` prints them.
pub fn harness_version() -> &'static str {
    static TEXT: LazyLock<String> = LazyLock::new(|| {
        format!(
            "{} (catalogue: MCP {})",
            env!("CARGO_PKG_VERSION"),
            catalogue_revisions().join(", ")
        )
    });
    TEXT.as_str()
}

/// The MCP revisions the requirement catalogue covers, oldest first.
pub fn catalogue_revisions() -> Vec<String> {
    let mut out: Vec<String> = requirements::registry()
        .map(|r| {
            r.values()
                .flat_map(|q| q.revisions.iter().cloned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

/// A link to a source of a requirement.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// One HTTP exchange of a scenario: a one-line summary and the redacted text.
#[derive(Debug, Clone, Serialize)]
pub struct ExchangeView {
    pub summary: String,
    pub text: String,
}

/// One scenario, everything the report shows about it.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioView {
    /// The fragment that addresses it (`s-pkce-42`).
    pub anchor: String,
    pub name: String,
    /// `pass`, `fail`, … (as in `results.json`).
    pub verdict: String,
    /// The requirement IDs; the first is the one it is listed under.
    pub ids: Vec<String>,
    /// `must`, `should` or `info`.
    pub level: String,
    /// The feature file and line.
    pub location: String,
    /// The violation, error, skip reason or observation.
    pub finding: Option<Finding>,
    pub warnings: Vec<Finding>,
    pub exchanges: Vec<ExchangeView>,
    pub duration_ms: u128,
    /// Lower-case text the search box looks in.
    pub search: String,
}

/// A requirement of the run: its catalogue entry, worst verdict and scenarios.
#[derive(Debug, Clone, Serialize)]
pub struct RequirementView {
    pub id: String,
    pub area: String,
    pub text: String,
    /// The grade in this revision: `must`, `should` or `info`.
    pub level: String,
    /// The level as the catalogue words it (`MUST in B; …`).
    pub stated_level: String,
    pub impact: Option<String>,
    pub sources: Vec<Link>,
    /// The worst verdict of its scenarios.
    pub verdict: String,
    /// Its scenarios, in full (a scenario is shown in full under its first ID).
    pub scenarios: Vec<ScenarioView>,
    /// Scenarios shown in full under another ID that also test this one.
    pub also: Vec<ScenarioRef>,
    /// Opened on load: the target failed it.
    pub open: bool,
    /// Lower-case ID and text: a search that matches them shows all its scenarios.
    pub search: String,
}

/// A pointer to a scenario shown elsewhere.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRef {
    pub anchor: String,
    pub name: String,
    pub verdict: String,
}

/// The requirements of one area, in catalogue order.
#[derive(Debug, Clone, Serialize)]
pub struct AreaView {
    pub area: String,
    pub title: String,
    pub requirements: Vec<RequirementView>,
}

/// A line of the "what needs attention" lists: failures, errors, warnings, known failures.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub id: String,
    pub scenario: String,
    pub anchor: String,
    pub verdict: String,
    pub finding: Finding,
    pub one_line: String,
    /// What a failure costs (security, interop, hygiene).
    pub impact: Option<String>,
}

/// Failures of one impact.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactCount {
    pub impact: String,
    pub count: usize,
    /// Whether `--fail-on` lets these failures fail the run.
    pub gated: bool,
}

/// Requests to one kind of endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRow {
    pub kind: String,
    pub requests: u64,
    pub limited: u64,
    /// Seconds waited for rate limits, one decimal.
    pub waited: String,
}

/// What the run sent, for the reports.
#[derive(Debug, Clone, Serialize)]
pub struct RequestsView {
    pub total: u64,
    pub rows: Vec<RequestRow>,
    /// The rate limits met and the time waited; `None` when none were met.
    pub waits: Option<String>,
    /// The estimate made before the run.
    pub estimate: Option<String>,
}

impl RequestsView {
    fn new(r: &super::Requests) -> RequestsView {
        RequestsView {
            total: r.total(),
            rows: super::EndpointKind::ALL
                .iter()
                .map(|k| {
                    let c = r.of(*k);
                    RequestRow {
                        kind: k.name().into(),
                        requests: c.requests,
                        limited: c.limited,
                        waited: format!("{:.1}", c.waited.as_secs_f64()),
                    }
                })
                .collect(),
            waits: r.waits_line(),
            estimate: r.estimate.map(|e| e.to_string()),
        }
    }
}

/// A count by verdict, for the totals.
#[derive(Debug, Clone, Serialize)]
pub struct Count {
    pub verdict: String,
    pub label: String,
    pub count: usize,
}

/// Requirements of one impact by worst verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactRow {
    pub impact: String,
    pub counts: Vec<Count>,
    pub total: usize,
}

/// Everything both reports show.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub target: String,
    pub revision: String,
    pub revision_reason: String,
    pub date: String,
    pub harness_version: String,
    pub exit_code: u8,
    pub exit_meaning: String,
    pub strict: bool,
    /// What the exit code gated on: security, interop or all.
    pub fail_on: String,
    /// Failures by impact (security, interop, hygiene; stale baseline entries when any).
    pub failures_by_impact: Vec<ImpactCount>,
    /// What the run sent, per kind of endpoint.
    pub requests: Option<RequestsView>,
    pub scenario_count: usize,
    pub totals: Vec<Count>,
    /// Empty when the catalogue has no `impact` field.
    pub impacts: Vec<ImpactRow>,
    /// Failures (the target broke a MUST).
    pub failures: Vec<Problem>,
    /// Errors (no verdict could be reached).
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
    pub known: Vec<Problem>,
    pub areas: Vec<AreaView>,
    /// The verdicts, areas and levels the filters offer.
    pub verdicts: Vec<Count>,
    pub levels: Vec<String>,
}

/// The verdicts from worst to best, as the reports list them.
pub const ORDER: [Verdict; 7] = [
    Verdict::Fail,
    Verdict::Error,
    Verdict::Warn,
    Verdict::Known,
    Verdict::Skip,
    Verdict::Info,
    Verdict::Pass,
];

/// The verdict's name in `results.json` and in the HTML classes.
pub fn key(v: Verdict) -> String {
    v.label().to_lowercase()
}

/// How a verdict reads in a sentence.
pub fn describe(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "passed",
        Verdict::Info => "info",
        Verdict::Warn => "warned",
        Verdict::Skip => "skipped",
        Verdict::Known => "known failures",
        Verdict::Fail => "failed",
        Verdict::Error => "errors",
    }
}

fn count(t: &Totals, v: Verdict) -> usize {
    match v {
        Verdict::Pass => t.pass,
        Verdict::Info => t.info,
        Verdict::Warn => t.warn,
        Verdict::Skip => t.skip,
        Verdict::Known => t.known,
        Verdict::Fail => t.fail,
        Verdict::Error => t.error,
    }
}

/// The counts by verdict, worst first.
pub fn totals(records: &[ScenarioRecord]) -> Vec<Count> {
    let t = Totals::of(records);
    ORDER
        .iter()
        .map(|v| Count {
            verdict: key(*v),
            label: describe(*v).into(),
            count: count(&t, *v),
        })
        .collect()
}

/// The first requirement a scenario is listed under: the violated one, else its first ID.
fn primary(r: &ScenarioRecord) -> String {
    r.violated
        .clone()
        .or_else(|| r.ids.first().cloned())
        .unwrap_or_else(|| "(none)".into())
}

/// Fragments for every record, unique: the feature file's stem and the line.
fn anchors(records: &[ScenarioRecord]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    records
        .iter()
        .map(|r| {
            let stem = std::path::Path::new(&r.file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| r.area.clone());
            let slug: String = stem
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let base = format!("s-{slug}-{}", r.line);
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            if *n == 1 { base } else { format!("{base}-{n}") }
        })
        .collect()
}

fn scenario_view(r: &ScenarioRecord, anchor: String) -> ScenarioView {
    let finding = r.message.as_deref().map(Finding::parse);
    let warnings: Vec<Finding> = r
        .warnings
        .iter()
        .filter(|w| w.as_str() != "Warnings before the scenario stopped:")
        .map(|w| Finding::parse(w))
        .collect();
    let exchanges = r
        .transcript
        .iter()
        .map(|e| {
            let outcome = match (e.status, &e.error) {
                (Some(s), _) => s.to_string(),
                (None, Some(err)) => shorten(err, 80),
                (None, None) => "no response".into(),
            };
            ExchangeView {
                summary: format!("{} {} → {outcome}", e.method, shorten(&e.url, 140)),
                text: e.to_string(),
            }
        })
        .collect();
    let mut search = format!("{} {}", r.name, r.ids.join(" "));
    for text in r.message.iter().chain(r.warnings.iter()) {
        search.push(' ');
        search.push_str(text);
    }
    ScenarioView {
        anchor,
        name: r.name.clone(),
        verdict: key(r.verdict),
        ids: r.ids.clone(),
        level: r.severity.tag().into(),
        location: format!("{}:{}", r.file, r.line),
        finding,
        warnings,
        exchanges,
        duration_ms: r.duration.as_millis(),
        search: search.to_lowercase(),
    }
}

/// The catalogue's raw tables, for what the typed registry may not carry (`impact`) and the
/// section titles above each area.
const CATALOGUE: &str = include_str!("../../requirements.toml");

/// Each requirement's `impact` (security, interop, hygiene), where the catalogue gives one.
fn impacts() -> &'static BTreeMap<String, String> {
    static IMPACTS: LazyLock<BTreeMap<String, String>> = LazyLock::new(|| {
        let Ok(table) = CATALOGUE.parse::<toml::Table>() else {
            return BTreeMap::new();
        };
        table
            .iter()
            .filter_map(|(id, v)| {
                let impact = v.get("impact")?.as_str()?;
                Some((id.clone(), impact.to_string()))
            })
            .collect()
    });
    &IMPACTS
}

/// The areas in catalogue order, each with the comment line that heads its section
/// (`# PKCE`, `# Dynamic Client Registration (DCR)`).
fn area_titles() -> &'static Vec<(String, String)> {
    static TITLES: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut last_comment = String::new();
        for line in CATALOGUE.lines() {
            let line = line.trim();
            if let Some(c) = line.strip_prefix('#') {
                last_comment = c.trim().to_string();
            } else if let Some(id) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let area = id.split_once('-').map_or(id, |(a, _)| a);
                if !out.iter().any(|(a, _)| a == area) {
                    let title = if last_comment.is_empty() {
                        area.to_string()
                    } else {
                        last_comment.clone()
                    };
                    out.push((area.to_string(), title));
                }
                last_comment.clear();
            } else if !line.is_empty() {
                last_comment.clear();
            }
        }
        out
    });
    &TITLES
}

fn problem(r: &ScenarioRecord, anchor: &str) -> Problem {
    let finding = r.message.as_deref().map(Finding::parse).unwrap_or_default();
    Problem {
        id: primary(r),
        scenario: r.name.clone(),
        anchor: anchor.to_string(),
        verdict: key(r.verdict),
        one_line: finding.one_line(),
        finding,
        impact: r.impact.map(|i| i.to_string()),
    }
}

/// Warnings of a record that passed with warnings (or ended otherwise after warning).
fn warning_problems(r: &ScenarioRecord, anchor: &str) -> Vec<Problem> {
    r.warnings
        .iter()
        .filter(|w| w.as_str() != "Warnings before the scenario stopped:")
        .enumerate()
        .map(|(i, w)| {
            let finding = Finding::parse(w);
            Problem {
                id: r.warned.get(i).cloned().unwrap_or_else(|| primary(r)),
                scenario: r.name.clone(),
                anchor: anchor.to_string(),
                verdict: key(Verdict::Warn),
                one_line: finding.one_line(),
                finding,
                impact: None,
            }
        })
        .collect()
}

impl ReportView {
    pub fn new(records: &[ScenarioRecord], info: &RunInfo) -> ReportView {
        let anchors = anchors(records);
        let mut failures = Vec::new();
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut known = Vec::new();
        for (r, a) in records.iter().zip(&anchors) {
            match r.verdict {
                Verdict::Fail => failures.push(problem(r, a)),
                Verdict::Error => errors.push(problem(r, a)),
                Verdict::Known => known.push(problem(r, a)),
                _ => {}
            }
            warnings.extend(warning_problems(r, a));
        }

        // Requirement by requirement: full scenarios under their first ID, pointers elsewhere.
        let mut full: BTreeMap<String, Vec<ScenarioView>> = BTreeMap::new();
        let mut also: BTreeMap<String, Vec<ScenarioRef>> = BTreeMap::new();
        let mut worst: BTreeMap<String, Verdict> = BTreeMap::new();
        for (r, a) in records.iter().zip(&anchors) {
            let first = primary(r);
            for id in r.ids.iter().chain(std::iter::once(&first)) {
                let w = worst.entry(id.clone()).or_insert(Verdict::Pass);
                *w = (*w).max(r.verdict);
            }
            for id in r.ids.iter().filter(|id| **id != first) {
                also.entry(id.clone()).or_default().push(ScenarioRef {
                    anchor: a.clone(),
                    name: r.name.clone(),
                    verdict: key(r.verdict),
                });
            }
            full.entry(first)
                .or_default()
                .push(scenario_view(r, a.clone()));
        }
        let revision = info.revision.parse().ok();
        let mut by_area: BTreeMap<String, Vec<RequirementView>> = BTreeMap::new();
        for (id, verdict) in &worst {
            let req = requirements::get(id);
            let area = id.split_once('-').map_or(id.as_str(), |(a, _)| a);
            let scenarios = full.remove(id).unwrap_or_default();
            let also = also.remove(id).unwrap_or_default();
            let level = match (req, revision) {
                (Some(q), Some(r)) => q.severity_in(r).tag().to_string(),
                (Some(q), None) => q.severity.tag().to_string(),
                (None, _) => scenarios
                    .first()
                    .map_or_else(|| "must".into(), |s| s.level.clone()),
            };
            by_area
                .entry(area.to_string())
                .or_default()
                .push(RequirementView {
                    id: id.clone(),
                    area: area.to_string(),
                    text: req.map_or_else(|| "(not in the catalogue)".into(), |q| q.text.clone()),
                    level,
                    stated_level: req.map(|q| q.level.clone()).unwrap_or_default(),
                    impact: impacts().get(id).cloned(),
                    sources: req
                        .map(|q| requirements::links(&q.sources))
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(label, url)| Link { label, url })
                        .collect(),
                    verdict: key(*verdict),
                    open: *verdict == Verdict::Fail,
                    scenarios,
                    also,
                    search: format!(
                        "{} {}",
                        id.to_lowercase(),
                        req.map(|q| q.text.to_lowercase()).unwrap_or_default()
                    ),
                });
        }
        let mut areas: Vec<AreaView> = Vec::new();
        for (area, title) in area_titles() {
            if let Some(requirements) = by_area.remove(area) {
                areas.push(AreaView {
                    area: area.clone(),
                    title: title.clone(),
                    requirements,
                });
            }
        }
        // IDs the catalogue does not know (feature files given with --features) come last.
        for (area, requirements) in by_area {
            areas.push(AreaView {
                title: area.clone(),
                area,
                requirements,
            });
        }

        let totals = totals(records);
        ReportView {
            target: info.target.clone(),
            revision: info.revision.clone(),
            revision_reason: info.revision_reason.clone(),
            date: humantime::format_rfc3339_seconds(info.finished).to_string(),
            harness_version: harness_version().to_string(),
            exit_code: info.exit_code,
            exit_meaning: exit_meaning(info.exit_code).into(),
            strict: info.strict,
            fail_on: info.fail_on.to_string(),
            failures_by_impact: failures_by_impact(records, info.fail_on),
            requests: info.requests.as_ref().map(RequestsView::new),
            scenario_count: records.len(),
            impacts: impact_rows(&worst),
            verdicts: totals.iter().filter(|c| c.count > 0).cloned().collect(),
            totals,
            failures,
            errors,
            warnings,
            known,
            areas,
            levels: ["must", "should", "info"].map(String::from).to_vec(),
        }
    }
}

/// The failures by impact, each marked with whether `fail_on` gates on it.
fn failures_by_impact(records: &[ScenarioRecord], fail_on: super::FailOn) -> Vec<ImpactCount> {
    use crate::requirements::Impact;
    let t = super::FailuresByImpact::of(records);
    let mut out: Vec<ImpactCount> = [
        (Impact::Security, t.security),
        (Impact::Interop, t.interop),
        (Impact::Hygiene, t.hygiene),
    ]
    .into_iter()
    .map(|(impact, count)| ImpactCount {
        impact: impact.to_string(),
        count,
        gated: fail_on.gates(Some(impact)),
    })
    .collect();
    if t.unrated > 0 {
        out.push(ImpactCount {
            impact: "unrated".into(),
            count: t.unrated,
            gated: true,
        });
    }
    out
}

/// Requirements by impact and worst verdict; empty when no requirement has an impact.
fn impact_rows(worst: &BTreeMap<String, Verdict>) -> Vec<ImpactRow> {
    let impacts = impacts();
    if !worst.keys().any(|id| impacts.contains_key(id)) {
        return Vec::new();
    }
    let mut names: Vec<String> = ["security", "interop", "hygiene"]
        .map(String::from)
        .to_vec();
    for i in impacts.values() {
        if !names.contains(i) {
            names.push(i.clone());
        }
    }
    names.push("unrated".into());
    names
        .into_iter()
        .filter_map(|impact| {
            let of: Vec<Verdict> = worst
                .iter()
                .filter(|(id, _)| {
                    impacts.get(*id).map_or("unrated", String::as_str) == impact.as_str()
                })
                .map(|(_, v)| *v)
                .collect();
            if of.is_empty() {
                return None;
            }
            let counts = ORDER
                .iter()
                .map(|v| Count {
                    verdict: key(*v),
                    label: describe(*v).into(),
                    count: of.iter().filter(|x| *x == v).count(),
                })
                .collect();
            Some(ImpactRow {
                impact,
                total: of.len(),
                counts,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_come_in_catalogue_order_with_their_titles() {
        let titles = area_titles();
        assert_eq!(titles.first().map(|(a, _)| a.as_str()), Some("PRM"));
        assert!(
            titles
                .iter()
                .any(|(a, t)| a == "DCR" && t.contains("Dynamic Client Registration")),
            "{titles:?}"
        );
    }
}
