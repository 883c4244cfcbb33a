//! How the self-test's suite runs share the machine: every run (the clean run, one per defect,
//! and two per variant: at the default concurrency and one scenario at a time) is a job in one
//! queue, taken by `jobs` threads, each with a runtime of its own. A run spends most of its wall
//! time waiting (a token's expiry, a rate-limit window, a `Retry-After`), so many run at once;
//! the longest start first, so that none is left running alone at the end.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;

use reference_server::{Defect, Defects, Variant, Variants};

use super::{RunRecords, VARIANT_RATE_LIMIT_WINDOW, VariantRun, run_under};
use crate::report::ScenarioRecord;
use crate::run::{self, RunOptions, Transcripts};

/// One suite run of the self-test.
#[derive(Debug, Clone, Copy)]
enum Job {
    Clean,
    Defect(Defect),
    /// A variant's run, one scenario at a time (`serial`) or at the default concurrency.
    Variant {
        variant: Variant,
        serial: bool,
    },
}

type Outcome = Result<Vec<ScenarioRecord>, String>;

/// What the jobs produced: the clean and defect runs, and the variants' runs.
#[derive(Default)]
struct Finished {
    runs: Vec<RunRecords>,
    /// Per variant (by its place in [`Variant::ALL`]): its run at the default concurrency and
    /// its serial run, until both are in and make a [`VariantRun`].
    halves: BTreeMap<usize, [Option<Outcome>; 2]>,
    variants: BTreeMap<usize, VariantRun>,
}

impl Finished {
    /// Keeps a finished run's verdicts and announces it. The self-test reads no transcript
    /// (each run's reports on disk have them), so they are dropped here: kept, two hundred
    /// runs' exchanges would hold hundreds of megabytes.
    fn record(&mut self, job: Job, mut outcome: Outcome) {
        if let Ok(records) = &mut outcome {
            for r in records.iter_mut() {
                r.transcript = Vec::new();
            }
        }
        let (variant, serial) = match job {
            Job::Clean | Job::Defect(_) => {
                let defect = match job {
                    Job::Defect(d) => Some(d),
                    _ => None,
                };
                let run = RunRecords { defect, outcome };
                announce(&run);
                self.runs.push(run);
                return;
            }
            Job::Variant { variant, serial } => (variant, serial),
        };
        let key = Variant::ALL
            .iter()
            .position(|v| *v == variant)
            .unwrap_or(usize::MAX);
        let halves = self.halves.entry(key).or_default();
        halves[usize::from(serial)] = Some(outcome);
        if let [Some(_), Some(_)] = halves {
            let [Some(concurrent), Some(serial)] = std::mem::take(halves) else {
                return;
            };
            self.halves.remove(&key);
            let run = VariantRun::new(variant, concurrent, serial);
            let mark = match (&run.outcome, run.clean()) {
                (Err(_), _) => "ERROR",
                (Ok(_), true) => "clean",
                (Ok(_), false) => "NOT CLEAN",
            };
            eprintln!("  {mark:<10} variant {}", variant.name());
            self.variants.insert(key, run);
        }
    }

    fn into_parts(mut self) -> (Vec<RunRecords>, Vec<VariantRun>) {
        // Every job records its outcome, so no variant is left with one half; if one were,
        // it is reported as not run rather than dropped.
        for (key, [concurrent, serial]) in std::mem::take(&mut self.halves) {
            let Some(&variant) = Variant::ALL.get(key) else {
                continue;
            };
            let missing = || Err("the run did not finish".to_string());
            let run = VariantRun::new(
                variant,
                concurrent.unwrap_or_else(missing),
                serial.unwrap_or_else(missing),
            );
            self.variants.insert(key, run);
        }
        (self.runs, self.variants.into_values().collect())
    }
}

/// The queue. First the longest runs: the variants that only delay answers (rate limits wait
/// out windows, a first 503 its `Retry-After`), both their runs, so that none is left running
/// alone at the end. Then the other variants' runs, which wait more than they compute, spread
/// evenly among the clean run and the defect runs, which compute more than they wait, so that
/// the cores stay busy from the start.
fn queue(defects: &[Defect], variants: &[Variant]) -> VecDeque<Job> {
    let runs = |variants: &[Variant], serial: bool| {
        variants
            .iter()
            .map(move |&variant| Job::Variant { variant, serial })
            .collect::<Vec<_>>()
    };
    let (delaying, others): (Vec<Variant>, Vec<Variant>) =
        variants.iter().partition(|v| v.only_delays());
    let waiting = [runs(&others, true), runs(&others, false)].concat();
    let computing: Vec<Job> = std::iter::once(Job::Clean)
        .chain(defects.iter().copied().map(Job::Defect))
        .collect();
    [runs(&delaying, true), runs(&delaying, false)]
        .concat()
        .into_iter()
        .chain(spread(waiting, computing))
        .collect()
}

/// `few` spread evenly among `many`: before the i-th of `few` come the first
/// i × len(many) / len(few) of `many`.
fn spread<T>(few: Vec<T>, many: Vec<T>) -> Vec<T> {
    let (f, m) = (few.len(), many.len());
    let mut out = Vec::with_capacity(f + m);
    let mut many = many.into_iter();
    for (i, item) in few.into_iter().enumerate() {
        let due = i * m / f;
        out.extend(many.by_ref().take(due.saturating_sub(out.len() - i)));
        out.push(item);
    }
    out.extend(many);
    out
}

/// The options of one job's run, its reports under `reports`.
fn options(job: Job, base: &RunOptions, reports: &Path) -> Result<RunOptions, String> {
    let (dir, opts) = match job {
        Job::Clean => (reports.join("clean"), base.clone()),
        Job::Defect(d) => {
            let (spec, layout) = run_under(d, base)?;
            (
                reports.join(d.name()),
                RunOptions {
                    defects: Defects::only(d),
                    spec,
                    layout,
                    transcripts: Transcripts::UnlessPassed,
                    ..base.clone()
                },
            )
        }
        Job::Variant { variant, serial } => {
            let dir = reports.join(format!("variant-{}", variant.name()));
            (
                if serial { dir.join("serial") } else { dir },
                RunOptions {
                    variants: Variants::only(variant),
                    rate_limit_window: Some(VARIANT_RATE_LIMIT_WINDOW),
                    concurrency: serial.then_some(1),
                    transcripts: Transcripts::UnlessPassed,
                    ..base.clone()
                },
            )
        }
    };
    // The clean run writes Cucumber JSON as any run does; the defect and variant runs do not
    // (the self-test reads their verdicts, a reader their results.json and JUnit): building
    // it, and scrubbing it afterwards, was a twentieth of the self-test's CPU.
    let json = matches!(job, Job::Clean).then(|| dir.join("cucumber.json"));
    if json.is_none() {
        // One an earlier self-test wrote there would be taken for this run's.
        let _ = std::fs::remove_file(dir.join("cucumber.json"));
    }
    Ok(RunOptions {
        junit: dir.join("junit.xml"),
        json,
        results: dir.join("results.json"),
        ..opts
    })
}

/// Runs every job, `jobs` at a time: the clean and defect runs (in no particular order), and
/// one [`VariantRun`] per variant, in [`Variant::ALL`]'s order.
pub(super) fn run_all(
    base: &RunOptions,
    reports: &Path,
    defects: &[Defect],
    variants: &[Variant],
    jobs: usize,
) -> (Vec<RunRecords>, Vec<VariantRun>) {
    let queue = Mutex::new(queue(defects, variants));
    let total = queue.lock().map_or(1, |q| q.len());
    let finished = Mutex::new(Finished::default());
    let next = || queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
    let record = |job, outcome| {
        finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(job, outcome);
    };
    std::thread::scope(|scope| {
        let mut started = 0;
        let mut refused = None;
        for _ in 0..jobs.clamp(1, total) {
            let spawned = std::thread::Builder::new()
                .name("selftest-job".into())
                .stack_size(run::SUITE_THREAD_STACK)
                .spawn_scoped(scope, || {
                    let runtime = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(r) => r,
                        Err(e) => {
                            while let Some(job) = next() {
                                record(job, Err(format!("cannot start a runtime: {e}")));
                            }
                            return;
                        }
                    };
                    while let Some(job) = next() {
                        let outcome = options(job, base, reports).and_then(|opts| {
                            runtime
                                .block_on(run::run(opts))
                                .map(|r| r.records)
                                .map_err(|e| e.to_string())
                        });
                        record(job, outcome);
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => refused = Some(e),
            }
        }
        // Not one job thread: every job ends in the error (with some, they take every job).
        if let (0, Some(e)) = (started, refused) {
            while let Some(job) = next() {
                record(job, Err(format!("cannot start a thread for the runs: {e}")));
            }
        }
    });
    finished
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_parts()
}

/// The clean or defect run's line: done, caught, NOT CAUGHT or ERROR.
fn announce(run: &RunRecords) {
    let mark = match (&run.outcome, run.defect) {
        (Err(_), _) => "ERROR",
        (Ok(_), None) => "done",
        (Ok(_), Some(_)) if run.caught() => "caught",
        (Ok(_), Some(_)) => "NOT CAUGHT",
    };
    eprintln!(
        "  {:<10} {}",
        mark,
        run.defect.map_or("clean run", |d| d.name())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_are_spread_evenly_among_many() {
        assert_eq!(
            spread(vec!["a", "b"], vec!["1", "2", "3", "4"]),
            ["a", "1", "2", "b", "3", "4"]
        );
        assert_eq!(spread(vec!["a", "b", "c"], vec!["1"]), ["a", "b", "c", "1"]);
        assert_eq!(spread(Vec::new(), vec!["1", "2"]), ["1", "2"]);
        assert_eq!(spread(vec!["a"], Vec::new()), ["a"]);
    }

    #[test]
    fn the_delaying_variants_go_first_and_every_run_is_queued_once() {
        let defects = Defect::ALL;
        let variants = Variant::ALL;
        let q = queue(defects, variants);
        assert_eq!(q.len(), 1 + defects.len() + 2 * variants.len());
        let delaying = variants.iter().filter(|v| v.only_delays()).count();
        assert!(delaying > 0);
        assert!(
            q.iter()
                .take(2 * delaying)
                .all(|j| matches!(j, Job::Variant { variant, .. } if variant.only_delays()))
        );
        let names: std::collections::BTreeSet<String> =
            q.iter().map(|j| format!("{j:?}")).collect();
        assert_eq!(names.len(), q.len(), "a run queued twice");
        // The clean run is among the first runs after the delaying ones, not at the end.
        let clean = q.iter().position(|j| matches!(j, Job::Clean));
        assert!(clean.is_some_and(|i| i <= 2 * delaying + 2), "{clean:?}");
    }
}
