//! The self-test: proof that every check can fail, in the right place.
//!
//! The suite runs against the embedded reference server once without defects (every scenario
//! must pass) and once per defect. A defect is *caught* when a scenario carrying one of its
//! requirement IDs fails on that requirement (for a SHOULD-level requirement, a warning on it
//! counts). Other failures in that run are *collateral*. The rule the self-test enforces: every
//! `@must` scenario carries the requirement of at least one defect, or is listed in
//! [`NO_DEFECT`] with the reason none can exist.

use std::path::PathBuf;

use reference_server::{Defect, Defects, Layout, Variant, Variants};

use crate::client::mcp::Revision;
use crate::report::{ScenarioRecord, Totals, Verdict};
use crate::run::{self, RunError, RunOptions};

/// The revision and layout a defect is judged under, when its rule binds only under another
/// revision (or reference-server layout) than the self-test's own (the defect table says which,
/// and why).
fn run_under(d: Defect, base: &RunOptions) -> Result<(Option<Revision>, Layout), String> {
    let revision = match d.revision() {
        Some(r) => Some(
            r.parse::<Revision>()
                .map_err(|e| format!("the defect table gives {d} the revision {r:?}: {e}"))?,
        ),
        None => base.spec,
    };
    Ok((revision, d.layout().unwrap_or(base.layout)))
}

/// The most collateral failures a defect may cause without a reason
/// ([`Defect::collateral`]).
pub const COLLATERAL_LIMIT: usize = 3;

mod fired;
mod matrix;
mod schedule;
pub mod variants;

pub use fired::{NEVER_FIRES, NO_DEFECT, uncovered};
use fired::{never_failed, never_warned, observed_on};

pub use variants::VariantRun;

/// The window of the rate-limit variants in the self-test: the shortest a `Retry-After` can
/// say (whole seconds), so that a run that meets the limits waits seconds, not minutes. A run
/// sends the token endpoint over two hundred requests: at 30 a window, eight windows.
const VARIANT_RATE_LIMIT_WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

/// What the self-test is asked to do.
#[derive(Debug, Clone)]
pub struct SelftestOptions {
    /// The defects to try. With neither defects nor variants named, all of both run; with
    /// only variants named, no defect does (and the other way round).
    pub defects: Vec<Defect>,
    /// The variants to try (see [`SelftestOptions::defects`]).
    pub variants: Vec<Variant>,
    pub features: Option<PathBuf>,
    pub spec: Option<Revision>,
    /// Suites run at once.
    pub jobs: usize,
    /// Each run's reports go to a subdirectory of this one.
    pub reports: PathBuf,
}

/// One run: the defect it had (none for the clean run) and its records, or why it could not run.
#[derive(Debug, Clone)]
pub struct RunRecords {
    pub defect: Option<Defect>,
    pub outcome: Result<Vec<ScenarioRecord>, String>,
}

impl RunRecords {
    fn records(&self) -> &[ScenarioRecord] {
        self.outcome.as_deref().unwrap_or(&[])
    }

    fn requirements(&self) -> &'static [req::Id] {
        self.defect.map(Defect::requirements).unwrap_or(&[])
    }

    /// Whether `r` failed on one of this run's defect requirements, or warned on one (a
    /// SHOULD, or a MUST the revision lets the target meet another way).
    fn catches(&self, r: &ScenarioRecord) -> bool {
        self.fails_on_defect(r) || self.warns_on_defect(r) || self.observes_defect(r)
    }

    /// An info requirement's defect is caught when a scenario reports info on it.
    fn observes_defect(&self, r: &ScenarioRecord) -> bool {
        self.requirements()
            .iter()
            .any(|id| observed_on(r, id.as_str()))
    }

    fn fails_on_defect(&self, r: &ScenarioRecord) -> bool {
        let reqs = self.requirements();
        r.verdict == Verdict::Fail
            && r.violated
                .as_deref()
                .is_some_and(|v| reqs.iter().any(|id| *id == v))
    }

    fn warns_on_defect(&self, r: &ScenarioRecord) -> bool {
        let reqs = self.requirements();
        r.warned
            .iter()
            .any(|w| reqs.iter().any(|id| *id == w.as_str()))
    }

    /// The scenarios that caught the defect.
    pub fn catching(&self) -> Vec<&ScenarioRecord> {
        self.records().iter().filter(|r| self.catches(r)).collect()
    }

    /// The other scenarios that failed.
    pub fn collateral(&self) -> Vec<&ScenarioRecord> {
        self.records()
            .iter()
            .filter(|r| r.verdict == Verdict::Fail && !self.catches(r))
            .collect()
    }

    /// Scenarios that could not reach a verdict (a precondition broke).
    pub fn errors(&self) -> usize {
        Totals::of(self.records()).error
    }

    pub fn caught(&self) -> bool {
        !self.catching().is_empty()
    }
}

/// Everything the self-test found.
#[derive(Debug, Clone)]
pub struct Selftest {
    pub revision: Revision,
    pub clean: RunRecords,
    pub defects: Vec<RunRecords>,
    /// One run per variant: each must be clean.
    pub variants: Vec<VariantRun>,
    /// `@must` scenarios that carry no defect's requirement and are not in [`NO_DEFECT`].
    pub uncovered: Vec<String>,
    /// `@must` scenarios (by name) that no defect run made fail or warn.
    pub never_failed: Vec<String>,
    /// `@should` scenarios that no defect run made warn on their own requirement, and `@info`
    /// scenarios that none made report info, except those in [`NEVER_FIRES`].
    pub never_warned: Vec<String>,
}

impl Selftest {
    /// Whether the clean run passed every scenario (no failure, warning or error; info is a
    /// pass that recorded something).
    pub fn clean_passed(&self) -> bool {
        match &self.clean.outcome {
            Ok(records) => {
                !records.is_empty()
                    && records
                        .iter()
                        .all(|r| matches!(r.verdict, Verdict::Pass | Verdict::Info | Verdict::Skip))
            }
            Err(_) => false,
        }
    }

    /// Variants whose run failed, erred or warned outside the variant's own requirements.
    pub fn unclean_variants(&self) -> Vec<Variant> {
        self.variants
            .iter()
            .filter(|v| !v.clean())
            .map(|v| v.variant)
            .collect()
    }

    /// The variant matrix, in Markdown.
    pub fn variant_matrix(&self) -> String {
        let clean = self.clean.outcome.as_deref().unwrap_or(&[]);
        variants::matrix(self.revision.as_str(), &self.variants, clean)
    }

    pub fn uncaught(&self) -> Vec<Defect> {
        self.defects
            .iter()
            .filter(|d| !d.caught())
            .filter_map(|d| d.defect)
            .collect()
    }

    /// Defects with more collateral failures than allowed and no reason given.
    pub fn unexplained_collateral(&self) -> Vec<Defect> {
        self.defects
            .iter()
            .filter(|d| d.collateral().len() > COLLATERAL_LIMIT)
            .filter_map(|d| d.defect)
            .filter(|d| d.collateral().is_none())
            .collect()
    }

    /// The self-test's verdict: the clean run passes, every defect is caught, every `@must`
    /// scenario has a defect and was seen failing, every `@should` and `@info` scenario was
    /// seen warning or reporting info on its own requirement, every variant is clean, and
    /// wide collateral has a reason.
    pub fn passed(&self) -> bool {
        self.unclean_variants().is_empty()
            && self.clean_passed()
            && self.uncaught().is_empty()
            && self.uncovered.is_empty()
            && self.never_failed.is_empty()
            && self.never_warned.is_empty()
            && self.unexplained_collateral().is_empty()
    }

    /// 0 passed; 1 a defect went uncaught, the clean run failed, or a MUST scenario has no
    /// defect; 3 only because some run could not be done at all.
    pub fn exit_code(&self) -> u8 {
        if self.passed() {
            return 0;
        }
        let harness_only = self.uncovered.is_empty()
            && self
                .variants
                .iter()
                .all(|v| v.outcome.is_err() || v.clean())
            && self.never_failed.is_empty()
            && self.never_warned.is_empty()
            && self.unexplained_collateral().is_empty()
            && std::iter::once(&self.clean)
                .chain(&self.defects)
                .filter(|r| r.outcome.is_err())
                .count()
                > 0
            && self
                .defects
                .iter()
                .all(|d| d.caught() || d.outcome.is_err())
            && (self.clean_passed() || self.clean.outcome.is_err());
        if harness_only { 3 } else { 1 }
    }
}

/// The options every run starts from: the embedded reference server without defects, judged
/// under one fixed revision.
fn base_options(opts: &SelftestOptions) -> RunOptions {
    RunOptions {
        target: None,
        config: None,
        features: opts.features.clone(),
        tags: None,
        name: None,
        junit: PathBuf::new(),
        json: None,
        results: PathBuf::new(),
        html: None,
        summary: Default::default(),
        concurrency: None,
        timeout: None,
        max_wait: None,
        pace: None,
        // Defects are judged under one fixed revision, never one learned from the target.
        spec: Some(opts.spec.unwrap_or(Revision::V2025_11_25)),
        strict: false,
        fail_on: None,
        verbose: false,
        defects: Defects::none(),
        variants: Variants::none(),
        rate_limit_window: None,
        layout: Layout::SameOrigin,
        baseline: None,
        ca_cert: None,
        replicas: Default::default(),
        quiet: true,
        shard: None,
        transcripts: Default::default(),
    }
}

/// Runs the clean suite, one suite per defect and two per variant, `jobs` at a time
/// ([`schedule`]).
pub fn run(opts: &SelftestOptions) -> Result<Selftest, RunError> {
    let base = base_options(opts);
    // Bad features or a bad revision are usage errors once, not once per run.
    let features = run::load_features(&base)?;
    let revision = opts.spec.unwrap_or(Revision::V2025_11_25);
    let (chosen, chosen_variants): (Vec<Defect>, Vec<Variant>) =
        match (opts.defects.is_empty(), opts.variants.is_empty()) {
            (true, true) => (Defect::ALL.to_vec(), Variant::ALL.to_vec()),
            _ => (opts.defects.clone(), opts.variants.clone()),
        };
    let (mut runs, mut variant_runs) =
        schedule::run_all(&base, &opts.reports, &chosen, &chosen_variants, opts.jobs);
    let Some(pos) = runs.iter().position(|r| r.defect.is_none()) else {
        return Err(RunError::Harness("the clean run did not finish".into()));
    };
    let clean = runs.remove(pos);
    runs.sort_by_key(|r| r.defect.map(|d| Defect::ALL.iter().position(|x| *x == d)));
    let never_failed = never_failed(&features, &runs);

    variant_runs.sort_by_key(|v| Variant::ALL.iter().position(|x| *x == v.variant));
    if let Ok(records) = &clean.outcome {
        for run in &mut variant_runs {
            run.compare(records);
        }
    }
    let never_warned = never_warned(&features, &runs, &variant_runs);
    Ok(Selftest {
        revision,
        clean,
        defects: runs,
        variants: variant_runs,
        uncovered: uncovered(&features),
        never_failed,
        never_warned,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::requirements::Severity;
    use std::time::Duration;

    pub(crate) fn record(
        name: &str,
        ids: &[&str],
        verdict: Verdict,
        violated: Option<&str>,
    ) -> ScenarioRecord {
        ScenarioRecord {
            feature: "f".into(),
            area: "a".into(),
            file: "features/a.feature".into(),
            name: name.into(),
            line: 1,
            ids: ids.iter().map(|s| s.to_string()).collect(),
            severity: Severity::Must,
            revision: "2025-11-25".into(),
            verdict,
            message: None,
            violated: violated.map(str::to_owned),
            impact: None,
            warnings: Vec::new(),
            warned: Vec::new(),
            transcript: Vec::new(),
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn a_defect_is_caught_only_by_a_failure_on_its_own_requirement() {
        let run = |records| RunRecords {
            defect: Some(Defect::PkceVerifierUnchecked),
            outcome: Ok(records),
        };
        let caught = run(vec![
            record("PKCE-06 x", &["PKCE-06"], Verdict::Fail, Some("PKCE-06")),
            record("CODE-02 y", &["CODE-02"], Verdict::Fail, Some("CODE-02")),
            record("PKCE-07 z", &["PKCE-07"], Verdict::Error, None),
        ]);
        assert!(caught.caught());
        assert_eq!(caught.collateral().len(), 1);
        assert_eq!(caught.errors(), 1);
        // A failure on another requirement, even in a scenario carrying the ID, is not a catch.
        let elsewhere = run(vec![record(
            "PKCE-06 x",
            &["PKCE-06"],
            Verdict::Fail,
            Some("PKCE-02"),
        )]);
        assert!(!elsewhere.caught());
        assert!(!run(vec![record("PKCE-06 x", &["PKCE-06"], Verdict::Pass, None)]).caught());
    }

    #[test]
    fn a_warning_on_the_defect_requirement_catches_it() {
        let mut warned = record("CODE-03 x", &["CODE-03"], Verdict::Warn, None);
        warned.warned = vec!["CODE-03".into()];
        let should = RunRecords {
            defect: Some(Defect::CodeReplayNoRevoke),
            outcome: Ok(vec![warned.clone()]),
        };
        assert!(should.caught());
        assert!(!should.fails_on_defect(&warned));
        // A warning on another requirement is not a catch.
        let other = RunRecords {
            defect: Some(Defect::PkceVerifierUnchecked),
            outcome: Ok(vec![warned]),
        };
        assert!(!other.caught());
    }

    #[test]
    fn the_verdict_needs_a_clean_pass_and_every_defect_caught() {
        let clean = RunRecords {
            defect: None,
            outcome: Ok(vec![record("PKCE-06 x", &["PKCE-06"], Verdict::Pass, None)]),
        };
        let caught = RunRecords {
            defect: Some(Defect::PkceVerifierUnchecked),
            outcome: Ok(vec![record(
                "PKCE-06 x",
                &["PKCE-06"],
                Verdict::Fail,
                Some("PKCE-06"),
            )]),
        };
        let good = Selftest {
            revision: Revision::V2025_11_25,
            clean: clean.clone(),
            defects: vec![caught.clone()],
            variants: vec![],
            uncovered: vec![],
            never_failed: vec![],
            never_warned: vec![],
        };
        assert!(good.passed());
        assert_eq!(good.exit_code(), 0);
        assert!(
            good.matrix()
                .contains("| `pkce-verifier-unchecked` | PKCE-06 | yes | PKCE-06 x | 0 | 0 |  |")
        );

        let uncaught = Selftest {
            defects: vec![RunRecords {
                defect: Some(Defect::PkceVerifierUnchecked),
                outcome: Ok(vec![record("PKCE-06 x", &["PKCE-06"], Verdict::Pass, None)]),
            }],
            ..good.clone()
        };
        assert!(!uncaught.passed());
        assert_eq!(uncaught.exit_code(), 1);
        assert!(uncaught.matrix().contains("| **NO** |"));

        let dirty = Selftest {
            clean: RunRecords {
                defect: None,
                outcome: Ok(vec![record(
                    "PKCE-06 x",
                    &["PKCE-06"],
                    Verdict::Fail,
                    Some("PKCE-06"),
                )]),
            },
            ..good.clone()
        };
        assert!(!dirty.passed());
        assert!(dirty.matrix().contains("**Clean run: FAIL.**"));

        let broken = Selftest {
            defects: vec![RunRecords {
                defect: Some(Defect::PkceVerifierUnchecked),
                outcome: Err("the target cannot be reached".into()),
            }],
            ..good.clone()
        };
        assert_eq!(broken.exit_code(), 3);

        let uncovered = Selftest {
            uncovered: vec!["X-01 something".into()],
            ..good
        };
        assert_eq!(uncovered.exit_code(), 1);
    }

    #[test]
    fn every_defect_judged_elsewhere_names_a_known_revision() {
        let base = base_options(&SelftestOptions {
            defects: Vec::new(),
            variants: Vec::new(),
            features: None,
            spec: None,
            jobs: 1,
            reports: PathBuf::new(),
        });
        assert_eq!(base.spec, Some(Revision::V2025_11_25));
        for d in Defect::ALL {
            let (revision, layout) = run_under(*d, &base).expect("a known revision");
            if d.revision().is_none() {
                assert_eq!(revision, base.spec, "{d}");
            }
            if d.layout() == Some(Layout::Legacy20250326) {
                assert_eq!(revision, Some(Revision::V2025_03_26), "{d}");
            }
            assert_eq!(layout, d.layout().unwrap_or_default(), "{d}");
        }
    }
}
