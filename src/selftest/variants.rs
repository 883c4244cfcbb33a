//! The variant half of the self-test: proof that every check is specific. The suite runs once
//! per reference-server variant (a behaviour the specifications allow), and a variant is
//! **clean** when its run has no failure and no error, and warns only on the requirements the
//! variant names as its own SHOULD-level deviations ([`Variant::may_warn`]). The suite runs
//! each variant twice, at the default concurrency and one scenario at a time, and the verdicts
//! must agree: scenarios running at once must not change what the suite concludes.

use reference_server::Variant;

use crate::report::{ScenarioRecord, Verdict};

/// One variant's run: its records, or why it could not run.
#[derive(Debug, Clone)]
pub struct VariantRun {
    pub variant: Variant,
    pub outcome: Result<Vec<ScenarioRecord>, String>,
    /// Scenarios whose verdict one scenario at a time was another (`name: A at the default
    /// concurrency, B at 1`); none is allowed.
    pub concurrency_differs: Vec<String>,
    /// For a variant that only delays answers ([`Variant::only_delays`]): the scenarios whose
    /// verdict is not the clean run's, which must be none. Filled in by [`VariantRun::compare`].
    pub drift: Vec<String>,
}

/// The verdict of a scenario as the comparison of two runs sees it.
fn verdict_of(r: &ScenarioRecord) -> String {
    let mut s = r.verdict.label().to_string();
    if let Some(v) = &r.violated {
        s.push_str(&format!(" {v}"));
    }
    if !r.warned.is_empty() {
        s.push_str(&format!(" warned {}", r.warned.join(",")));
    }
    s
}

/// The scenarios whose verdicts differ between two runs of the same suite.
pub fn verdicts_differ(a: &[ScenarioRecord], b: &[ScenarioRecord]) -> Vec<String> {
    let key = |r: &ScenarioRecord| (r.file.clone(), r.line, r.name.clone());
    let of = |rs: &[ScenarioRecord]| -> std::collections::BTreeMap<_, String> {
        rs.iter().map(|r| (key(r), verdict_of(r))).collect()
    };
    let (a, b) = (of(a), of(b));
    let none = String::from("not run");
    a.keys()
        .chain(b.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k).unwrap_or(&none), b.get(k).unwrap_or(&none));
            (x != y).then(|| format!("{}: {x} at the default concurrency, {y} at 1", k.2))
        })
        .collect()
}

impl VariantRun {
    /// A variant's run at the default concurrency, and its run one scenario at a time.
    pub fn new(
        variant: Variant,
        outcome: Result<Vec<ScenarioRecord>, String>,
        serial: Result<Vec<ScenarioRecord>, String>,
    ) -> Self {
        let concurrency_differs = match (&outcome, &serial) {
            (Ok(a), Ok(b)) => verdicts_differ(a, b),
            (Ok(_), Err(e)) => vec![format!("the run one scenario at a time failed: {e}")],
            (Err(_), _) => Vec::new(),
        };
        VariantRun {
            variant,
            outcome,
            concurrency_differs,
            drift: Vec::new(),
        }
    }

    /// For a variant that only delays answers: notes each scenario whose verdict is not the
    /// clean run's ("SKIP X (the run without the variant: PASS)"). Rate limits, a first 503
    /// and closed connections make a run slower, never different.
    pub fn compare(&mut self, clean: &[ScenarioRecord]) {
        if !self.variant.only_delays() {
            return;
        }
        let drift = self
            .records()
            .iter()
            .filter_map(|r| {
                let before = clean.iter().find(|c| c.name == r.name)?;
                (before.verdict != r.verdict).then(|| {
                    format!(
                        "{} {} (the run without the variant: {})",
                        r.verdict.label(),
                        r.name,
                        before.verdict.label()
                    )
                })
            })
            .collect();
        self.drift = drift;
    }

    fn records(&self) -> &[ScenarioRecord] {
        self.outcome.as_deref().unwrap_or(&[])
    }

    /// Scenarios that failed or could not reach a verdict: none is allowed, but for a variant
    /// whose login needs scripts ([`needs_browser`]) the form driver's own harness error,
    /// which must name the browser driver.
    pub fn failures(&self) -> Vec<&ScenarioRecord> {
        self.records()
            .iter()
            .filter(|r| match r.verdict {
                Verdict::Fail => true,
                Verdict::Error => !(needs_browser(self.variant) && points_to_browser(r)),
                _ => false,
            })
            .collect()
    }

    /// Scenarios that warned on a requirement the variant does not name.
    pub fn stray_warnings(&self) -> Vec<&ScenarioRecord> {
        let allowed = self.variant.may_warn();
        self.records()
            .iter()
            .filter(|r| {
                r.warned
                    .iter()
                    .any(|w| !allowed.iter().any(|id| *id == w.as_str()))
            })
            .collect()
    }

    /// Whether the suite passed the variant: it ran, nothing failed or erred, nothing warned
    /// outside the variant's own requirements, one scenario at a time concluded the same, and
    /// a variant that only delays answers gave every scenario the clean run's verdict.
    pub fn clean(&self) -> bool {
        self.outcome.is_ok()
            && self.failures().is_empty()
            && self.stray_warnings().is_empty()
            && self.concurrency_differs.is_empty()
            && self.drift.is_empty()
    }

    /// Scenarios whose verdict is not the clean run's, with the reason (skips, info): what the
    /// variant changes as the suite sees it.
    pub fn changed<'a>(&'a self, clean: &[ScenarioRecord]) -> Vec<&'a ScenarioRecord> {
        self.records()
            .iter()
            .filter(|r| {
                clean
                    .iter()
                    .find(|c| c.name == r.name)
                    .is_none_or(|c| c.verdict != r.verdict)
            })
            .collect()
    }
}

/// Variants whose login page works only with scripts. The self-test logs in with the form
/// driver, which cannot run them: there every login must end in the form driver's harness
/// error naming the browser driver, never in a verdict on the target (`tests/browser.rs` runs
/// them with the browser driver, which passes).
pub fn needs_browser(v: Variant) -> bool {
    matches!(v, Variant::LoginNeedsScripts)
}

/// Whether a scenario's error is the form driver's, naming the browser driver.
fn points_to_browser(r: &ScenarioRecord) -> bool {
    r.message
        .as_deref()
        .is_some_and(|m| m.contains("form driver") && m.contains("use the browser driver"))
}

/// What a record says of its verdict: its message, else (for a warning) its first warning.
fn why(r: &ScenarioRecord) -> Option<&str> {
    r.message
        .as_deref()
        .or_else(|| r.warnings.first().map(String::as_str))
}

/// The variant matrix, in Markdown.
pub fn matrix(revision: &str, runs: &[VariantRun], clean: &[ScenarioRecord]) -> String {
    let mut out = String::from("# Variant matrix\n\n");
    out.push_str(
        "Written by `mcp-oauth-conformance selftest`. The suite ran against the embedded \
         reference server once per **variant**: a behaviour the specifications allow and real \
         servers show. A variant is **clean** when no scenario failed or ended in an error, \
         and no scenario warned on a requirement the variant does not name as its own \
         SHOULD-level deviation. Every variant must be clean: a failure here would be a false \
         verdict against a conformant server.\n\n",
    );
    out.push_str(&format!("MCP revision: {revision}\n\n"));
    let clean_count = runs.iter().filter(|r| r.clean()).count();
    out.push_str(&format!(
        "**Variants clean: {clean_count} of {}.**\n\n",
        runs.len()
    ));
    out.push_str(
        "| variant | what changes | allowed by | clean | failures, errors, stray warnings | scenarios whose verdict changed (skip, info), and why |\n|---|---|---|---|---|---|\n",
    );
    for run in runs {
        let bad: Vec<String> = match &run.outcome {
            Err(e) => vec![format!("could not run: {e}")],
            Ok(_) => run
                .failures()
                .into_iter()
                .chain(run.stray_warnings())
                .map(|r| format!("{} {}: {}", r.verdict.label(), r.name, first_line(why(r))))
                .chain(
                    run.concurrency_differs
                        .iter()
                        .map(|d| format!("verdict depends on concurrency: {d}")),
                )
                .chain(run.drift.iter().map(|d| format!("verdict changed: {d}")))
                .collect(),
        };
        let for_browser = run
            .records()
            .iter()
            .filter(|r| {
                needs_browser(run.variant) && r.verdict == Verdict::Error && points_to_browser(r)
            })
            .count();
        let browser_note = (for_browser > 0).then(|| {
            format!(
                "{for_browser} scenarios ended in the form driver's harness error naming the browser driver (the login needs scripts; the browser driver passes it)"
            )
        });
        let changed: Vec<String> = browser_note
            .into_iter()
            .chain(
                run.changed(clean)
                    .into_iter()
                    .filter(|r| !matches!(r.verdict, Verdict::Fail | Verdict::Error))
                    .map(|r| format!("{} {}: {}", r.verdict.label(), r.name, first_line(why(r)))),
            )
            .collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            run.variant.name(),
            cell(run.variant.description()),
            cell(run.variant.allowed_by()),
            if run.clean() { "yes" } else { "**NO**" },
            cell(&bad.join("; ")),
            cell(&changed.join("; ")),
        ));
    }
    out
}

fn first_line(s: Option<&str>) -> String {
    let line = s.and_then(|s| s.lines().next()).unwrap_or("");
    line.chars().take(160).collect()
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, verdict: Verdict, warned: &[&str]) -> ScenarioRecord {
        ScenarioRecord {
            warned: warned.iter().map(|s| s.to_string()).collect(),
            ..super::super::tests::record(name, &[], verdict, None)
        }
    }

    #[test]
    fn a_variant_is_clean_only_without_failures_errors_and_stray_warnings() {
        let run = |records: Vec<ScenarioRecord>| {
            VariantRun::new(Variant::ExtraMembers, Ok(records.clone()), Ok(records))
        };
        assert!(
            run(vec![
                record("a", Verdict::Pass, &[]),
                record("b", Verdict::Skip, &[])
            ])
            .clean()
        );
        assert!(!run(vec![record("a", Verdict::Fail, &[])]).clean());
        assert!(!run(vec![record("a", Verdict::Error, &[])]).clean());
        assert!(!run(vec![record("a", Verdict::Warn, &["PRM-04"])]).clean());
        let failed = VariantRun::new(
            Variant::ExtraMembers,
            Err("no runtime".into()),
            Err("no runtime".into()),
        );
        assert!(!failed.clean());
        let differs = VariantRun::new(
            Variant::OneActiveGrant,
            Ok(vec![record("a", Verdict::Pass, &[])]),
            Ok(vec![record("a", Verdict::Error, &[])]),
        );
        assert!(!differs.clean());
        assert_eq!(
            differs.concurrency_differs,
            ["a: PASS at the default concurrency, ERROR at 1"]
        );
        let m = matrix(
            "2025-11-25",
            &[run(vec![record("a", Verdict::Skip, &[])])],
            &[record("a", Verdict::Pass, &[])],
        );
        assert!(m.contains("**Variants clean: 1 of 1.**"), "{m}");
        assert!(m.contains("SKIP a"), "{m}");
    }

    #[test]
    fn a_variant_that_only_delays_answers_must_not_change_a_verdict() {
        let clean = vec![
            record("a", Verdict::Pass, &[]),
            record("b", Verdict::Pass, &[]),
        ];
        let records = vec![
            record("a", Verdict::Pass, &[]),
            record("b", Verdict::Skip, &[]),
        ];
        let mut run = VariantRun::new(Variant::RateLimitToken, Ok(records.clone()), Ok(records));
        run.compare(&clean);
        assert_eq!(run.drift, ["SKIP b (the run without the variant: PASS)"]);
        assert!(!run.clean());
        // A variant that changes what answers say may change verdicts (skips, info).
        let mut other = VariantRun {
            variant: Variant::ExtraMembers,
            ..run.clone()
        };
        other.drift.clear();
        other.compare(&clean);
        assert!(other.drift.is_empty() && other.clean());
    }

    #[test]
    fn a_login_that_needs_scripts_may_err_only_with_the_form_driver_naming_the_browser() {
        let error = |message: &str| ScenarioRecord {
            message: Some(message.to_string()),
            ..record("a", Verdict::Error, &[])
        };
        let pointed = "harness error: login driver: the form driver could not complete the login: ... use the browser driver (driver = \"browser\" in [login]).";
        let run = |variant, records: Vec<ScenarioRecord>| {
            VariantRun::new(variant, Ok(records.clone()), Ok(records))
        };
        assert!(run(Variant::LoginNeedsScripts, vec![error(pointed)]).clean());
        assert!(!run(Variant::ExtraMembers, vec![error(pointed)]).clean());
        assert!(
            !run(
                Variant::LoginNeedsScripts,
                vec![error("harness error: timeout")]
            )
            .clean()
        );
        assert!(
            !run(
                Variant::LoginNeedsScripts,
                vec![record("a", Verdict::Fail, &[])]
            )
            .clean()
        );
    }
}
