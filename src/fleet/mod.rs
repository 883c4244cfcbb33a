//! `run --fleet fleet.toml`: many targets in one invocation, each run as `run` would run it
//! alone (its own plan, reports and exit code), a few at once (`--fleet-concurrency`), then an
//! index page and a combined summary over all of them. The exit code is the worst of the
//! targets'.
//!
//! Every target is planned before any runs, so a bad profile, baseline or option in any of
//! them is a usage error (exit 2) before a request leaves.

pub mod file;
pub mod index;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use file::{Fleet, FleetTarget, TargetKind};

use crate::cli::{RunArgs, SpecChoice};
use crate::report::markdown::Destinations;
use crate::run::shard::Shard;
use crate::run::{self, Plan, RunError, RunOptions};

/// How one target's run ended.
#[derive(Debug, Clone)]
pub struct TargetOutcome {
    pub name: String,
    /// Its exit code, as `run` alone would have exited.
    pub exit_code: u8,
    /// Why it has no reports, when its run could not finish.
    pub error: Option<String>,
    /// Its reports' directory.
    pub dir: PathBuf,
}

/// A fleet's run: each target's outcome, in the order of their names.
#[derive(Debug, Clone)]
pub struct FleetResult {
    pub outcomes: Vec<TargetOutcome>,
    /// The fleet's shard, and how many targets the whole fleet has.
    pub shard: Option<(Shard, usize)>,
    pub exit_code: u8,
}

/// The worst of the targets' exit codes, in the order a single run ranks them: a usage error,
/// then a MUST violated, then a verdict the harness could not reach, then success.
pub fn worst(codes: impl IntoIterator<Item = u8>) -> u8 {
    let rank = |c: u8| match c {
        0 => 0,
        3 => 1,
        1 => 2,
        _ => 3,
    };
    codes.into_iter().max_by_key(|c| rank(*c)).unwrap_or(0)
}

/// Plans every target, runs them, and writes the index and the combined summary.
pub fn run(args: &RunArgs, fleet_file: &Path) -> Result<FleetResult, RunError> {
    let fleet = Fleet::load(fleet_file).map_err(RunError::Usage)?;
    let mut targets = fleet.targets;
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    let total = targets.len();
    if let Some(s) = args.shard {
        targets = targets
            .into_iter()
            .enumerate()
            .filter(|(k, _)| s.takes(*k))
            .map(|(_, t)| t)
            .collect();
    }
    let dir = args.fleet_reports.clone();
    let planned: Vec<(String, RunOptions)> = targets
        .iter()
        .map(|t| (t.name.clone(), options(args, t, &dir.join(&t.name))))
        .collect();
    let jobs = usize::from(args.fleet_concurrency).clamp(1, planned.len().max(1));
    for (name, opts) in &planned {
        let plan = Plan::new(opts.clone()).map_err(|e| match e {
            RunError::Usage(m) => RunError::Usage(format!("fleet target {name:?}: {m}")),
            other => other,
        })?;
        // A person answers one login prompt at a time.
        if plan.login.table.driver == crate::config::DriverKind::Manual && jobs > 1 {
            return Err(RunError::Usage(format!(
                "fleet target {name:?} logs in by hand (the manual driver): run the fleet with --fleet-concurrency 1"
            )));
        }
    }
    eprintln!(
        "Fleet {}: {} targets{}, {jobs} at a time; reports in {}",
        fleet_file.display(),
        planned.len(),
        args.shard
            .map(|s| format!(" (shard {s} of the fleet's {total})"))
            .unwrap_or_default(),
        dir.display()
    );
    let outcomes = run_all(planned, jobs, &dir);
    let exit_code = worst(outcomes.iter().map(|o| o.exit_code));
    let result = FleetResult {
        outcomes,
        shard: args.shard.map(|s| (s, total)),
        exit_code,
    };
    let summary = Destinations::from_env(args.summary.clone());
    index::write(&result, &dir, &summary).map_err(RunError::Usage)?;
    Ok(result)
}

/// `merge-reports --fleet FILE`: the index and the combined summary of a fleet whose targets
/// ran in shards, from the targets' directories under `dir` (every target's, or a refusal
/// naming the missing). Returns the worst of the targets' exit codes.
pub fn merge(fleet_file: &Path, dir: &Path, summary: Option<PathBuf>) -> Result<u8, String> {
    let fleet = Fleet::load(fleet_file)?;
    let mut outcomes = Vec::new();
    let mut missing = Vec::new();
    for t in &fleet.targets {
        let target_dir = dir.join(&t.name);
        match crate::report::results::read(&target_dir.join("results.json")) {
            Ok(r) => outcomes.push(TargetOutcome {
                name: t.name.clone(),
                exit_code: r.info.exit_code,
                error: None,
                dir: target_dir,
            }),
            Err(_) => missing.push(t.name.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "cannot merge the fleet: no readable results.json under {} for {} (every target's is needed)",
            dir.display(),
            missing.join(", ")
        ));
    }
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    let result = FleetResult {
        exit_code: worst(outcomes.iter().map(|o| o.exit_code)),
        outcomes,
        shard: None,
    };
    index::write(&result, dir, &Destinations::from_env(summary))?;
    Ok(result.exit_code)
}

/// A target's run options: the command line's as defaults, the target's own keys over them,
/// reports in its directory, and nothing printed (the targets run at once).
fn options(args: &RunArgs, t: &FleetTarget, dir: &Path) -> RunOptions {
    let mut o = RunArgs {
        shard: None,
        ..args.clone()
    }
    .into_options();
    match &t.kind {
        TargetKind::Deployed { profile, url } => {
            o.config = profile.clone();
            o.target = url.clone();
        }
        TargetKind::Embedded {
            profile,
            layout,
            defects,
            variants,
        } => {
            o.config = profile.clone();
            o.layout = *layout;
            o.defects = defects.iter().copied().collect();
            o.variants = variants.iter().copied().collect();
        }
    }
    if let Some(spec) = t.spec {
        o.spec = match spec {
            SpecChoice::Fixed(r) => Some(r),
            SpecChoice::Auto => None,
        };
    }
    if t.tags.is_some() {
        o.tags = t.tags.clone();
    }
    if t.name_filter.is_some() {
        o.name = t.name_filter.clone();
    }
    o.baseline = t.baseline.clone();
    o.fail_on = t.fail_on.or(o.fail_on);
    o.strict = t.strict.unwrap_or(o.strict);
    o.concurrency = t.concurrency.map(usize::from).or(o.concurrency);
    o.timeout = t.timeout.or(o.timeout);
    o.max_wait = t.max_wait.or(o.max_wait);
    o.ca_cert = t.ca_cert.clone().or(o.ca_cert);
    o.junit = dir.join("junit.xml");
    o.json = Some(dir.join("cucumber.json"));
    o.results = dir.join("results.json");
    o.html = Some(dir.join("report.html"));
    o.summary = Destinations {
        path: Some(dir.join("summary.md")),
        step_summary: None,
    };
    o.quiet = true;
    o
}

/// Runs the targets `jobs` at a time, each on a thread of its own with its own runtime.
fn run_all(planned: Vec<(String, RunOptions)>, jobs: usize, dir: &Path) -> Vec<TargetOutcome> {
    let queue: Mutex<VecDeque<(String, RunOptions)>> = Mutex::new(planned.into());
    let done: Mutex<Vec<TargetOutcome>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        let mut started = 0;
        let mut refused = None;
        for _ in 0..jobs {
            let spawned = std::thread::Builder::new()
                .name("fleet-target".into())
                .stack_size(run::SUITE_THREAD_STACK)
                .spawn_scoped(scope, || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                        let Some((name, opts)) = next else { break };
                        eprintln!("  started  {name}");
                        let outcome = match &runtime {
                            Ok(rt) => rt.block_on(run::run(opts)),
                            Err(e) => {
                                Err(RunError::Harness(format!("cannot start a runtime: {e}")))
                            }
                        };
                        let outcome = match outcome {
                            Ok(r) => TargetOutcome {
                                name,
                                exit_code: r.exit_code,
                                error: None,
                                dir: PathBuf::new(),
                            },
                            Err(e) => TargetOutcome {
                                name,
                                exit_code: e.exit_code(),
                                error: Some(e.to_string()),
                                dir: PathBuf::new(),
                            },
                        };
                        eprintln!(
                            "  finished {} (exit {}: {})",
                            outcome.name,
                            outcome.exit_code,
                            crate::report::view::exit_meaning(outcome.exit_code)
                        );
                        done.lock().unwrap_or_else(|e| e.into_inner()).push(outcome);
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => refused = Some(e),
            }
        }
        // Not one thread: every target ends in the error (with some, they take every target).
        if let (0, Some(e)) = (started, refused) {
            let mut queue = queue.lock().unwrap_or_else(|e| e.into_inner());
            let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
            for (name, _) in queue.drain(..) {
                let error = RunError::Harness(format!("cannot start a thread for the run: {e}"));
                done.push(TargetOutcome {
                    name,
                    exit_code: error.exit_code(),
                    error: Some(error.to_string()),
                    dir: PathBuf::new(),
                });
            }
        }
    });
    let mut outcomes = done.into_inner().unwrap_or_else(|e| e.into_inner());
    for o in &mut outcomes {
        o.dir = dir.join(&o.name);
    }
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target's own keys win over the command line's; what it leaves out, the command line
    /// fills in; its reports go to its directory and nothing is printed.
    #[test]
    fn a_targets_keys_win_over_the_command_line() {
        use clap::Parser as _;
        let cli = crate::cli::Cli::try_parse_from([
            "x",
            "--spec",
            "2025-06-18",
            "--concurrency",
            "4",
            "--strict",
            "-t",
            "@PKCE-06",
        ])
        .expect("parses");
        let fleet = Fleet::parse(
            "[[target]]\nname = \"a\"\nembedded = true\nlayout = \"split\"\nspec = \"auto\"\nstrict = false\n\
             [[target]]\nname = \"b\"\nurl = \"http://127.0.0.1:9/mcp\"\ntags = \"@CODE-02\"\nfail_on = \"interop\"\n",
            Path::new("."),
        )
        .expect("a fleet");
        let dir = Path::new("out");
        let a = options(&cli.run, &fleet.targets[0], &dir.join("a"));
        assert_eq!(a.spec, None, "auto");
        assert!(!a.strict);
        assert_eq!(a.layout, reference_server::Layout::Split);
        assert_eq!(a.concurrency, Some(4));
        assert!(a.tags.is_some(), "the command line's -t");
        assert_eq!(a.results, dir.join("a/results.json"));
        assert_eq!(a.html, Some(dir.join("a/report.html")));
        assert!(a.quiet && a.shard.is_none() && a.summary.step_summary.is_none());
        let b = options(&cli.run, &fleet.targets[1], &dir.join("b"));
        assert_eq!(b.spec, Some(crate::client::mcp::Revision::V2025_06_18));
        assert!(b.strict);
        assert_eq!(b.target.as_deref(), Some("http://127.0.0.1:9/mcp"));
        assert_eq!(b.fail_on, Some(crate::report::FailOn::Interop));
        assert_eq!(b.layout, reference_server::Layout::SameOrigin);
    }

    #[test]
    fn the_worst_exit_code_wins_as_a_single_run_ranks_them() {
        assert_eq!(worst([0, 0]), 0);
        assert_eq!(worst([0, 3]), 3);
        assert_eq!(worst([3, 1, 0]), 1);
        assert_eq!(worst([1, 2]), 2);
        assert_eq!(worst([]), 0);
    }
}
