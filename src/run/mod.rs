//! One run of the suite, in four stages, each with its own input and output:
//!
//! 1. [`plan`]: the options, the profile and the features, checked: a [`Plan`]. Every usage
//!    error is found here, before any server starts or any request leaves.
//! 2. [`resolve`]: the target made ready (the embedded reference server started, the target
//!    reached, discovery done, the revision chosen or learned): a [`ResolvedTarget`].
//! 3. [`execute`]: the scenarios run against it: [`Executed`] records.
//! 4. [`report`]: the baseline applied, the reports written, the summary printed: a
//!    [`RunResult`] with the exit code.

pub mod embedded;
mod error;
pub mod execute;
pub mod plan;
pub mod progress;
mod records;
mod replicas;
pub mod report;
pub mod resolve;
pub mod shard;
mod silence;

pub use silence::install_step_fault_filter;
mod transport;

pub use error::RunError;
pub use execute::{Executed, execute};
pub use plan::{Needs, Plan, RunOptions, load_features};
pub use replicas::ReplicaOptions;
pub use report::{RunResult, report};
pub use resolve::{ResolvedTarget, TargetInfo, resolve};
pub use transport::{Transcripts, TransportSettings, transport};

/// The stack of a thread that runs a whole suite on a runtime of its own (the self-test's and
/// a fleet's jobs). A suite's futures nest deep (steps in scenarios in cucumber's runner, the
/// embedded servers' handlers beside them) and an unoptimised build's are large; the default
/// 2 MiB of a spawned thread is not enough there. Only the stack a thread touches is memory.
pub const SUITE_THREAD_STACK: usize = 64 * 1024 * 1024;

/// Runs the suite. Its error is scrubbed of the run's secrets, like every other output.
pub async fn run(opts: RunOptions) -> Result<RunResult, RunError> {
    let plan = Plan::new(opts)?;
    let secrets = plan.secrets.clone();
    stages(plan).await.map_err(|e| e.scrubbed(&secrets))
}

async fn stages(plan: Plan) -> Result<RunResult, RunError> {
    if !plan.quiet {
        if let Some(s) = &plan.shard {
            eprintln!(
                "Shard {}: {} of the {} selected scenarios",
                s.shard(),
                plan.needs.scenarios,
                s.selected
            );
        }
        eprintln!(
            "The {} selected scenarios send {}",
            plan.needs.scenarios, plan.needs.estimate
        );
    }
    let target = resolve(&plan).await?;
    let executed = execute(&plan, &target.context).await;
    let about = target.about.clone();
    let requests = requests_of(&plan, &target.context);
    let misconfigured = target.context.driver.misconfigured();
    target.shutdown().await;
    let result = report(&plan, executed?, &about, &requests)?;
    // A login found the profile lacking a setting: the reports say where, and the run ends as
    // a usage error that names it.
    match misconfigured {
        Some(m) => Err(RunError::Usage(format!(
            "{m}\nThe logins stopped there; the reports are written."
        ))),
        None => Ok(result),
    }
}

/// What the run sent, by kind of endpoint, beside the plan's estimate.
fn requests_of(plan: &Plan, context: &crate::context::Context) -> crate::report::Requests {
    let discovered = context.discovered_so_far();
    let mcp: Vec<&url::Url> = std::iter::once(&context.target)
        .chain(context.second_resource.as_ref())
        .collect();
    let mut map = crate::report::requests::EndpointMap::new(discovered.as_deref(), &mcp);
    // The token endpoint at the authorization server's other instances (REPL-*).
    if let Some(d) = &discovered {
        for i in context.replicas.iter().filter(|i| i.url().is_some()) {
            let token = i.endpoint(&d.endpoints.token);
            map.add(&token, crate::report::requests::EndpointKind::Token);
        }
    }
    crate::report::Requests::new(context.http.stats(), &map, Some(plan.needs.estimate))
}
