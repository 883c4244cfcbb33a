//! The fleet's index page (`index.html`: one row per target, linking its report) and its
//! combined Markdown summary (`summary.md`, also `--summary PATH` and `$GITHUB_STEP_SUMMARY`),
//! both made from the targets' own `results.json`.

use std::io::Write as _;
use std::path::Path;

use minijinja::{Environment, context};
use serde::Serialize;

use super::{FleetResult, TargetOutcome};
use crate::report::markdown::Destinations;
use crate::report::view::exit_meaning;
use crate::report::{FailuresByImpact, Totals, Verdict};

const TEMPLATE: &str = include_str!("../../templates/fleet-index.html");

/// What the index and the summary say about one target.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    /// The target as its report names it, or why it has no report.
    pub target: String,
    pub revision: String,
    pub exit_code: u8,
    pub outcome: &'static str,
    pub scenarios: usize,
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    pub known: usize,
    pub failures_by_impact: String,
    /// Its failures and errors: `FAIL PKCE-06 scenario name`.
    pub problems: Vec<String>,
    /// Set when the run finished and wrote its reports.
    pub has_reports: bool,
}

fn row(o: &TargetOutcome) -> Row {
    let mut row = Row {
        name: o.name.clone(),
        target: String::new(),
        revision: String::new(),
        exit_code: o.exit_code,
        outcome: outcome_word(o.exit_code),
        scenarios: 0,
        pass: 0,
        warn: 0,
        fail: 0,
        error: 0,
        skip: 0,
        known: 0,
        failures_by_impact: String::new(),
        problems: Vec::new(),
        has_reports: false,
    };
    if let Some(e) = &o.error {
        row.target = format!("not run: {e}");
        return row;
    }
    match crate::report::results::read(&o.dir.join("results.json")) {
        Ok(r) => {
            let t = Totals::of(&r.records);
            row.target = r.info.target;
            row.revision = r.info.revision;
            row.scenarios = t.total();
            row.pass = t.pass + t.info;
            row.warn = t.warn;
            row.fail = t.fail;
            row.error = t.error;
            row.skip = t.skip;
            row.known = t.known;
            row.failures_by_impact = FailuresByImpact::of(&r.records).to_string();
            row.problems = r
                .records
                .iter()
                .filter(|s| matches!(s.verdict, Verdict::Fail | Verdict::Error))
                .map(|s| format!("{} {}", s.verdict.label(), s.name))
                .collect();
            row.has_reports = true;
        }
        Err(e) => row.target = format!("its results cannot be read: {e}"),
    }
    row
}

fn outcome_word(code: u8) -> &'static str {
    match code {
        0 => "passed",
        1 => "failed",
        2 => "usage error",
        _ => "incomplete",
    }
}

/// Writes `index.html` and `summary.md` in `dir`, and the summary to `also`.
pub fn write(result: &FleetResult, dir: &Path, also: &Destinations) -> Result<(), String> {
    let rows: Vec<Row> = result.outcomes.iter().map(row).collect();
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let page = render_index(result, &rows)?;
    let index = dir.join("index.html");
    std::fs::write(&index, page).map_err(|e| format!("cannot write {}: {e}", index.display()))?;
    let summary = render_summary(result, &rows);
    let path = dir.join("summary.md");
    std::fs::write(&path, &summary).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if let Some(p) = &also.path {
        if let Some(d) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        }
        std::fs::write(p, &summary).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    if let Some(p) = &also.step_summary {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .and_then(|mut f| f.write_all(summary.as_bytes()))
            .map_err(|e| format!("GITHUB_STEP_SUMMARY: cannot write {}: {e}", p.display()))?;
    }
    crate::out!("{}", console(result, &rows).trim_end());
    crate::out!("Fleet index: {}", index.display());
    Ok(())
}

fn shard_note(result: &FleetResult) -> String {
    result
        .shard
        .map(|(s, total)| {
            format!(
                "shard {s} of a fleet of {total} targets: {} of them",
                result.outcomes.len()
            )
        })
        .unwrap_or_default()
}

/// The index page: self-contained, escaped by the template engine.
pub fn render_index(result: &FleetResult, rows: &[Row]) -> Result<String, String> {
    let mut env = Environment::new();
    env.add_template("index.html", TEMPLATE)
        .map_err(|e| format!("the fleet index template: {e}"))?;
    let template = env
        .get_template("index.html")
        .map_err(|e| format!("the fleet index template: {e}"))?;
    template
        .render(context! {
            rows => minijinja::Value::from(minijinja::value::Serde(rows)),
            exit_code => result.exit_code,
            outcome => outcome_word(result.exit_code),
            meaning => exit_meaning(result.exit_code),
            shard => shard_note(result),
            version => crate::report::view::harness_version(),
            date => humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        })
        .map_err(|e| format!("cannot render the fleet index: {e}"))
}

/// The most failure lines the summary lists per target.
const PROBLEMS_PER_TARGET: usize = 20;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The combined summary: the fleet's outcome, a table of targets, each target's failures.
pub fn render_summary(result: &FleetResult, rows: &[Row]) -> String {
    let mut out = format!(
        "## MCP OAuth conformance fleet: {} (exit {}: {})\n\n",
        outcome_word(result.exit_code),
        result.exit_code,
        exit_meaning(result.exit_code)
    );
    let note = shard_note(result);
    if !note.is_empty() {
        out.push_str(&format!("This is {note}.\n\n"));
    }
    out.push_str("| target | outcome | scenarios | failed | errors | warned | revision | failures by impact |\n|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {} (exit {}) | {} | {} | {} | {} | {} | {} |\n",
            cell(&r.name),
            r.outcome,
            r.exit_code,
            r.scenarios,
            r.fail,
            r.error,
            r.warn,
            cell(&r.revision),
            cell(&r.failures_by_impact)
        ));
    }
    for r in rows
        .iter()
        .filter(|r| !r.problems.is_empty() || !r.has_reports)
    {
        out.push_str(&format!(
            "\n### {}\n\n{}\n\n",
            cell(&r.name),
            cell(&r.target)
        ));
        for p in r.problems.iter().take(PROBLEMS_PER_TARGET) {
            out.push_str(&format!("- {}\n", cell(p)));
        }
        if r.problems.len() > PROBLEMS_PER_TARGET {
            out.push_str(&format!(
                "- … and {} more (see {}/report.html)\n",
                r.problems.len() - PROBLEMS_PER_TARGET,
                r.name
            ));
        }
    }
    out
}

fn console(result: &FleetResult, rows: &[Row]) -> String {
    let mut out = String::from("\nFleet:\n");
    for r in rows {
        out.push_str(&format!(
            "  {:<8} {:<24} exit {}  {} scenarios: {} failed, {} errors, {} warned  {}\n",
            r.outcome.to_uppercase(),
            r.name,
            r.exit_code,
            r.scenarios,
            r.fail,
            r.error,
            r.warn,
            r.target
        ));
    }
    out.push_str(&format!(
        "Fleet exit code {}: {}\n",
        result.exit_code,
        exit_meaning(result.exit_code)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_escapes_and_links_each_target() {
        let result = FleetResult {
            outcomes: Vec::new(),
            shard: None,
            exit_code: 1,
        };
        let mut row = row(&TargetOutcome {
            name: "a".into(),
            exit_code: 3,
            error: Some("<script>x</script>".into()),
            dir: "nowhere".into(),
        });
        assert!(!row.has_reports);
        let page = render_index(&result, std::slice::from_ref(&row)).expect("renders");
        assert!(!page.contains("<script>x"), "{page}");
        assert!(page.contains("&lt;script&gt;"), "{page}");
        row.has_reports = true;
        let page = render_index(&result, &[row.clone()]).expect("renders");
        assert!(page.contains("href=\"a/report.html\""), "{page}");
        let md = render_summary(&result, &[row]);
        assert!(
            md.starts_with("## MCP OAuth conformance fleet: failed (exit 1"),
            "{md}"
        );
        assert!(md.contains("| a | incomplete (exit 3) |"), "{md}");
    }
}
