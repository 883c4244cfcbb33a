//! `mcp-oauth-conformance load`: complete authorization-code flows, as many as the target
//! sustains, each checking its own results.
//!
//! 1. [`options`]: the command line made into a [`LoadPlan`]; a host outside loopback is
//!    refused without `--yes` or `[load] allowed = true`, before anything is sent.
//! 2. [`target`]: the target made ready (the embedded reference server started, discovery
//!    done once, the revision learned).
//! 3. [`drive`]: flows ([`flow`]) started by closed-loop workers or at a rate, until the
//!    number of flows or the duration is reached.
//! 4. [`stats`]: flows per second, per-step latency percentiles, errors by kind and
//!    violations (a code redeemed twice is a failure of CODE-02), as text and JSON.
//!
//! Exit codes: 0 every flow succeeded; 1 a flow found a MUST violated (CODE-02's double
//! redemption, AUTHZ-11, REFRESH-01); 2 usage error or refusal by the guard; 3 the target
//! could not be made ready, or some flows ended in errors (refusals, timeouts, 5xx).

pub mod drive;
pub mod flow;
pub mod options;
pub mod stats;
pub mod target;

use std::process::ExitCode;
use std::time::Duration;

pub use options::{LoadArgs, LoadPlan};

use crate::run::RunError;
use stats::{Stats, Summary};

/// The outcome of a load run.
pub struct LoadResult {
    pub exit_code: u8,
    /// The figures as `--out` writes them.
    pub json: serde_json::Value,
}

/// The `load` subcommand: the run and its exit code.
pub async fn main(args: LoadArgs) -> ExitCode {
    match run(args).await {
        Ok(result) => ExitCode::from(result.exit_code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Plans, guards, prepares the target, drives the flows and reports.
pub async fn run(args: LoadArgs) -> Result<LoadResult, RunError> {
    let plan = LoadPlan::new(args)?;
    let described = plan.describe();
    eprintln!("{described}");
    plan.guard()?;
    let ready = target::prepare(&plan).await?;
    eprintln!("Target: {}", ready.description);
    let shared = flow::Shared {
        // Thousands of flows, of which only those reported show their exchanges.
        http: ready.http.clone().deferring_transcripts(),
        driver: ready.driver.clone(),
        target: ready.target.clone(),
        revision: ready.revision,
        discovered: ready.discovered.clone(),
        fixed_client: plan.client.clone(),
        redirect_uri: plan.redirect_uri.clone(),
        register_each: plan.register_each,
        idle_clients: std::sync::Mutex::new(Vec::new()),
    };
    let drive = drive::Drive {
        bounds: plan.bounds,
        arrival: plan.arrival,
        replay_sample: plan.replay_sample,
        // A flow still running at the end of --duration may finish its current request.
        grace: plan.timeout + Duration::from_secs(1),
        revision: ready.revision,
    };
    let mut stats = Stats::new().map_err(RunError::Harness)?;
    stats.record_step(flow::Step::Discovery, ready.discovery_time);
    // The flows run on driver threads of their own; this thread only counts, while the
    // embedded server keeps running on the runtime's workers.
    if tokio::runtime::Handle::current().runtime_flavor()
        != tokio::runtime::RuntimeFlavor::MultiThread
    {
        return Err(RunError::Harness(
            "load needs a multi-threaded runtime".into(),
        ));
    }
    let elapsed = tokio::task::block_in_place(|| drive::run(&shared, &drive, &mut stats));
    let description = ready.description.clone();
    let revision = ready.revision;
    ready.shutdown().await;

    let exit_code = if stats.must_violations > 0 {
        1
    } else if stats.failed > 0 {
        3
    } else {
        0
    };
    let summary = Summary {
        stats: &stats,
        target: &description,
        revision,
        plan: &described,
        elapsed,
        exit_code,
    };
    crate::out!("{}", summary.text().trim_end());
    let json = summary.json();
    if let Some(path) = &plan.out {
        let text = serde_json::to_string_pretty(&json)
            .map_err(|e| RunError::Harness(format!("cannot write the figures as JSON: {e}")))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| RunError::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(LoadResult { exit_code, json })
}
