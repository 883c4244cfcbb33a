//! The HTML report (`reports/report.html`, `--html PATH`): one self-contained page, no
//! external assets, that opens offline from disk. The template is `templates/report.html`
//! (minijinja, auto-escaping on), its style and script sit beside it; all three are compiled
//! into the binary.

use std::path::Path;

use minijinja::value::{Serde, Value};
use minijinja::{Environment, context};

use super::ScenarioRecord;
use super::view::{ReportView, RunInfo};

const TEMPLATE: &str = include_str!("../../templates/report.html");
const STYLE: &str = include_str!("../../templates/report.css");
const SCRIPT: &str = include_str!("../../templates/report.js");

/// The page for a finished run.
pub fn render(records: &[ScenarioRecord], info: &RunInfo) -> Result<String, String> {
    let mut env = Environment::new();
    // The name ends in .html: everything interpolated is HTML-escaped unless marked safe, and
    // only the project's own style and script are.
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| format!("the report template: {e}"))?;
    let view = ReportView::new(records, info);
    let template = env
        .get_template("report.html")
        .map_err(|e| format!("the report template: {e}"))?;
    template
        .render(context! {
            style => Value::from_safe_string(STYLE.into()),
            script => Value::from_safe_string(SCRIPT.into()),
            schema_version => super::RESULTS_SCHEMA_VERSION,
            ..Value::from(Serde(&view))
        })
        .map_err(|e| format!("cannot render the HTML report: {e}"))
}

/// Renders the page and writes it to `path` (creating its directory).
pub fn write(path: &Path, records: &[ScenarioRecord], info: &RunInfo) -> Result<(), String> {
    let page = render(records, info)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, page).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
