//! The Markdown summary for CI (`--summary PATH`; appended to `$GITHUB_STEP_SUMMARY` when that
//! variable is set): the outcome, the totals, a table of failures and errors (ID, scenario,
//! one-line actual), then warnings and known failures. It stays under GitHub's limit for a
//! step summary: rows that do not fit are left out, and a note says how many.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::ScenarioRecord;
use super::view::{Problem, ReportView, RunInfo};

/// GitHub's limit for one step's summary (1 MiB).
pub const LIMIT: usize = 1024 * 1024;

/// Room kept for the note that rows were left out, and the closing line.
const RESERVE: usize = 512;

/// Where the summary goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destinations {
    /// `--summary PATH`: written afresh.
    pub path: Option<PathBuf>,
    /// `$GITHUB_STEP_SUMMARY`: appended to, as GitHub expects (other steps may write there too).
    pub step_summary: Option<PathBuf>,
}

impl Destinations {
    /// `--summary PATH`, and `$GITHUB_STEP_SUMMARY` when it is set.
    pub fn from_env(path: Option<PathBuf>) -> Destinations {
        Destinations {
            path,
            step_summary: std::env::var_os("GITHUB_STEP_SUMMARY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.path.is_none() && self.step_summary.is_none()
    }
}

/// The summary, within GitHub's limit.
pub fn render(records: &[ScenarioRecord], info: &RunInfo) -> String {
    render_within(records, info, LIMIT)
}

/// The summary in at most `limit` bytes (at least a header's worth).
pub fn render_within(records: &[ScenarioRecord], info: &RunInfo, limit: usize) -> String {
    let view = ReportView::new(records, info);
    let mut out = header(&view);
    let budget = limit.saturating_sub(RESERVE).max(out.len());
    let mut left_out = 0usize;
    let known_title = format!("Known failures ({} in the baseline)", view.known.len());
    let failures: Vec<Problem> = view.failures.iter().chain(&view.errors).cloned().collect();
    let sections: [(&str, &[Problem]); 3] = [
        ("Failures and errors", &failures),
        ("Warnings (SHOULD not met)", &view.warnings),
        (&known_title, &view.known),
    ];
    for (title, problems) in sections {
        if problems.is_empty() {
            continue;
        }
        let head =
            format!("\n### {title}\n\n| verdict | ID | scenario | actual |\n|---|---|---|---|\n");
        if left_out > 0 || out.len() + head.len() > budget {
            left_out += problems.len();
            continue;
        }
        out.push_str(&head);
        for p in problems {
            let row = format!(
                "| {} | {} | {} | {} |\n",
                p.verdict.to_uppercase(),
                cell(&p.id),
                cell(&p.scenario),
                cell(&p.one_line)
            );
            if left_out > 0 || out.len() + row.len() > budget {
                left_out += 1;
                continue;
            }
            out.push_str(&row);
        }
    }
    if left_out > 0 {
        out.push_str(&format!(
            "\n**{left_out} more row{} left out** to keep this summary under GitHub's 1 MiB limit; the HTML report and `results.json` list every scenario.\n",
            if left_out == 1 { "" } else { "s" }
        ));
    }
    out.push_str(
        "\nThe HTML report has every scenario with Expected/Actual and its HTTP exchanges (secrets redacted).\n",
    );
    out
}

fn header(view: &ReportView) -> String {
    let status = match view.exit_code {
        0 => "passed",
        1 => "failed",
        _ => "incomplete",
    };
    let mut out = format!(
        "## MCP OAuth conformance: {status}\n\nExit code {}: {}.\n\n",
        view.exit_code, view.exit_meaning
    );
    out.push_str(&format!(
        "- Target: {}\n- MCP revision: {} ({})\n- Harness: mcp-oauth-conformance {}\n- Finished: {}\n",
        cell(&view.target),
        cell(&view.revision),
        cell(&view.revision_reason),
        cell(&view.harness_version),
        view.date
    ));
    if view.strict {
        out.push_str("- Strict: warnings count as failures\n");
    }
    if view.fail_on != "all" {
        out.push_str(&format!(
            "- Fail on: only {} failures fail the run\n",
            view.fail_on
        ));
    }
    let names: Vec<&str> = view.totals.iter().map(|c| c.label.as_str()).collect();
    let counts: Vec<String> = view.totals.iter().map(|c| c.count.to_string()).collect();
    out.push_str(&format!(
        "\n| {} | scenarios |\n|{}---:|\n| {} | **{}** |\n",
        names.join(" | "),
        "---:|".repeat(names.len()),
        counts.join(" | "),
        view.scenario_count
    ));
    if view.failures_by_impact.iter().any(|c| c.count > 0) {
        let parts: Vec<String> = view
            .failures_by_impact
            .iter()
            .map(|c| {
                let note = if c.gated { "" } else { " (not gated)" };
                format!("{} {}{note}", c.count, c.impact)
            })
            .collect();
        out.push_str(&format!("\nFailures by impact: {}.\n", parts.join(", ")));
    }
    if let Some(r) = &view.requests {
        let names: Vec<&str> = r.rows.iter().map(|row| row.kind.as_str()).collect();
        let counts: Vec<String> = r.rows.iter().map(|row| row.requests.to_string()).collect();
        out.push_str(&format!(
            "\nRequests sent: **{}**\n\n| {} |\n|{}\n| {} |\n",
            r.total,
            names.join(" | "),
            "---:|".repeat(names.len()),
            counts.join(" | ")
        ));
        match &r.waits {
            Some(w) => out.push_str(&format!("\nRate limits: {}.\n", cell(w))),
            None => out.push_str("\nRate limits: none met.\n"),
        }
        if let Some(e) = &r.estimate {
            out.push_str(&format!("\nEstimated before the run: {e}.\n"));
        }
    }
    out
}

/// Text from the target made safe for one table cell: one line, no HTML, no table breaks, no
/// Markdown markup.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Writes the summary where `to` says: `path` afresh, the step summary appended to.
pub fn write(to: &Destinations, records: &[ScenarioRecord], info: &RunInfo) -> Result<(), String> {
    if to.is_empty() {
        return Ok(());
    }
    let text = render(records, info);
    if let Some(path) = &to.path {
        create_dir(path)?;
        std::fs::write(path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if let Some(path) = &to.step_summary {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("GITHUB_STEP_SUMMARY: cannot open {}: {e}", path.display()))?;
        file.write_all(text.as_bytes())
            .map_err(|e| format!("GITHUB_STEP_SUMMARY: cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn create_dir(path: &Path) -> Result<(), String> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_hold_no_markup() {
        assert_eq!(
            cell("<script>a|b</script>\n*x* [l](u)"),
            "&lt;script&gt;a\\|b&lt;/script&gt; \\*x\\* \\[l\\](u)"
        );
    }
}
