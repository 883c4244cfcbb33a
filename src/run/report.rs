//! The last stage of a run: the baseline applied to the records, the reports written (JUnit,
//! results.json; the Cucumber JSON was written while the scenarios ran), the console summary,
//! and the exit code.

use super::error::RunError;
use super::execute::Executed;
use super::plan::Plan;
use super::plan::TargetPlan;
use super::resolve::TargetInfo;
use crate::baseline;
use crate::report::results::Identity;
use crate::report::{Requests, exit_code, junit, summary};

/// The outcome of a finished run.
pub struct RunResult {
    pub records: Vec<crate::report::ScenarioRecord>,
    pub exit_code: u8,
}

pub fn report(
    plan: &Plan,
    executed: Executed,
    about: &TargetInfo,
    requests: &Requests,
) -> Result<RunResult, RunError> {
    let Executed {
        revision,
        mut records,
    } = executed;
    // Every record again, with every secret the run learned, including those learned after
    // the record was made (another scenario's, echoed here first).
    let secrets = &plan.secrets;
    for record in &mut records {
        record.scrub(secrets);
    }
    if let Some(json) = &plan.reports.json {
        scrub_cucumber_json(json, secrets)?;
    }
    let mut requests = requests.clone();
    for e in &mut requests.endpoints.endpoints {
        e.url = secrets.scrub(&e.url);
    }
    let requests = &requests;
    let outcomes = plan.baseline.evaluate(&mut records);
    for e in outcomes.iter().filter(|o| o.stale()).map(|o| o.entry()) {
        let record = baseline::stale_record(&e, revision.as_str());
        if !plan.quiet {
            crate::out!(
                "{}\n      {}",
                record.line(),
                record.message.as_deref().unwrap_or("")
            );
        }
        records.push(record);
    }

    let reports = &plan.reports;
    let xml = junit::render(&records, plan.strict).map_err(RunError::Harness)?;
    std::fs::write(&reports.junit, xml)
        .map_err(|e| RunError::Usage(format!("cannot write {}: {e}", reports.junit.display())))?;
    if !plan.quiet {
        crate::out!("\n{}", summary(&records));
        if plan.fail_on != crate::report::FailOn::All {
            crate::out!(
                "The exit code gates on {} failures (--fail-on).",
                plan.fail_on
            );
        }
        crate::out!("{requests}");
        crate::out!(
            "JUnit: {}\nResults: {}",
            reports.junit.display(),
            reports.results.display()
        );
        if let Some(json) = &reports.json {
            crate::out!("Cucumber JSON: {}", json.display());
        }
        if let Some(html) = &reports.html {
            crate::out!("HTML report: {}", html.display());
        }
    }
    let exit_code = exit_code(&records, plan.strict, plan.fail_on);
    let info = crate::report::view::RunInfo {
        target: secrets.scrub(&about.label),
        revision: revision.as_str().into(),
        revision_reason: secrets.scrub(&about.revision_reason),
        exit_code,
        strict: plan.strict,
        fail_on: plan.fail_on,
        requests: Some(requests.clone()),
        finished: std::time::SystemTime::now(),
    };
    let identity = Identity {
        target_id: target_id(&plan.target),
        shard: plan.shard.clone(),
        baseline: outcomes,
    };
    let results = crate::report::results::render(&records, &info, &identity);
    let results = serde_json::to_string_pretty(&results)
        .map_err(|e| RunError::Harness(format!("cannot render the results: {e}")))?;
    std::fs::write(&reports.results, results)
        .map_err(|e| RunError::Usage(format!("cannot write {}: {e}", reports.results.display())))?;
    if let Some(html) = &reports.html {
        crate::report::html::write(html, &records, &info).map_err(RunError::Usage)?;
    }
    crate::report::markdown::write(&reports.summary, &records, &info).map_err(RunError::Usage)?;
    Ok(RunResult { records, exit_code })
}

/// The target as something that stays the same between runs: its URL, or the embedded
/// reference server's layout, defects and variants (its port changes with every start).
/// `merge-reports` refuses to merge the results of different targets.
pub fn target_id(target: &TargetPlan) -> String {
    match target {
        TargetPlan::Given(url) => url.to_string(),
        TargetPlan::Embedded(e) => {
            let mut id = format!("embedded reference server, layout {}", e.layout.name());
            let defects: Vec<&str> = e.defects.iter().map(|d| d.name()).collect();
            let variants: Vec<&str> = e.variants.iter().map(|v| v.name()).collect();
            if !defects.is_empty() {
                id.push_str(&format!(", defects {}", defects.join(" ")));
            }
            if !variants.is_empty() {
                id.push_str(&format!(", variants {}", variants.join(" ")));
            }
            id
        }
    }
}

/// The Cucumber JSON, written by cucumber while the scenarios ran, scrubbed of the run's
/// secrets where the run wrote: step failure messages and output. Names, steps and tables come
/// from the feature files and stay as they are (a scenario's name is how tools know it, even
/// when it quotes a fake token the run sent).
fn scrub_cucumber_json(
    path: &std::path::Path,
    secrets: &crate::client::redact::Redactor,
) -> Result<(), RunError> {
    let unreadable = |e: String| RunError::Harness(format!("cannot scrub {}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    if text.trim().is_empty() {
        return Ok(());
    }
    let mut json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
    scrub_members(&mut json, secrets);
    let scrubbed = serde_json::to_string(&json).map_err(|e| unreadable(e.to_string()))?;
    std::fs::write(path, scrubbed)
        .map_err(|e| RunError::Usage(format!("cannot write {}: {e}", path.display())))
}

/// Scrubs the strings of the Cucumber JSON members the run writes, at any depth.
fn scrub_members(value: &mut serde_json::Value, secrets: &crate::client::redact::Redactor) {
    const WRITTEN_BY_THE_RUN: [&str; 3] = ["error_message", "output", "data"];
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if WRITTEN_BY_THE_RUN.contains(&k.as_str()) {
                    secrets.scrub_json(v);
                } else {
                    scrub_members(v, secrets);
                }
            }
        }
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(|v| scrub_members(v, secrets));
        }
        _ => {}
    }
}
