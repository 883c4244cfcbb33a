//! The third stage of a run: the scenarios, run with cucumber against a resolved target. The
//! scenarios whose requirements do not apply to the revision are not run; they are recorded
//! as skipped, with the reason.

use std::path::PathBuf;
use std::sync::Arc;

use cucumber::event::ScenarioFinished;
use cucumber::gherkin::{Feature, Rule, Scenario};
use cucumber::{World as _, WriterExt as _, cli, writer};
use futures::FutureExt as _;
use futures::future::LocalBoxFuture;

use super::error::RunError;
use super::plan::Plan;
use super::records::{applies, record_of, skipped};
use crate::client::mcp::Revision;
use crate::context::Context;
use crate::features;
use crate::report::ScenarioRecord;
use crate::steps::World;

/// The records of an executed run, in file order, and the revision they were judged by.
pub struct Executed {
    pub revision: Revision,
    pub records: Vec<ScenarioRecord>,
}

pub async fn execute(plan: &Plan, context: &Arc<Context>) -> Result<Executed, RunError> {
    let revision = context.revision;
    let (features, not_applicable) =
        features::split_off(plan.features.clone(), |s| applies(s, revision));
    if let Ok(mut records) = context.records.lock() {
        for (f, s) in &not_applicable {
            records.push(skipped(f, s, revision));
        }
    }
    let json_file = plan.reports.json.as_deref().map(create).transpose()?;
    create(&plan.reports.junit)?;
    create(&plan.reports.results)?;

    if !plan.quiet {
        eprintln!(
            "Running {} scenarios against {} (MCP {revision}, {} at a time); {} do not apply to this revision\n",
            features::scenarios(&features).len(),
            context.target,
            plan.concurrency,
            not_applicable.len()
        );
    }
    let progress = if plan.quiet {
        None
    } else {
        super::progress::Progress::start(features::scenarios(&features).len())
    };
    match json_file {
        Some(file) => {
            let json = writer::Json::new(file).discard_stats_writes();
            scenarios(json, features, plan.concurrency, context).await;
        }
        None => scenarios(Unwritten, features, plan.concurrency, context).await,
    }
    drop(progress);

    let mut records = context
        .records
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default();
    records.sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    Ok(Executed { revision, records })
}

/// Runs the scenarios with cucumber, its events going to `writer`. Step faults end their
/// scenarios as panics that the filter installed at start keeps quiet.
async fn scenarios<Wr>(
    writer: Wr,
    features: Vec<Feature>,
    concurrency: usize,
    context: &Arc<Context>,
) where
    Wr: cucumber::Writer<World, Cli = cli::Empty> + writer::Normalized,
{
    let cucumber = cucumber::Cucumber::<World, _, PathBuf, _, _>::new()
        .steps(steps())
        .with_parser(Preparsed)
        .with_writer(writer)
        .with_cli(cli::Opts::<_, _, _, cli::Empty>::default())
        .max_concurrent_scenarios(concurrency)
        .before(crate::steps::before_scenario)
        .after(after_scenario);
    Arc::clone(context).scope(cucumber.run(features)).await;
}

/// The writer of a run without Cucumber JSON: the run's records come from the hook after each
/// scenario ([`after_scenario`]), so cucumber's events go nowhere.
struct Unwritten;

impl cucumber::Writer<World> for Unwritten {
    type Cli = cli::Empty;

    async fn handle_event(
        &mut self,
        _: cucumber::parser::Result<cucumber::Event<cucumber::event::Cucumber<World>>>,
        _: &cli::Empty,
    ) {
    }
}

/// Events go nowhere, so their order does not matter.
impl writer::Normalized for Unwritten {}

/// The step definitions, collected once a process. Every run gets a clone, and the clones share
/// what matching found for each step text (the patched `Collection::find`, `vendor/cucumber`):
/// after the first run, a step is matched by a lookup, not by searching a hundred patterns.
fn steps() -> cucumber::step::Collection<World> {
    static STEPS: std::sync::LazyLock<cucumber::step::Collection<World>> =
        std::sync::LazyLock::new(World::collection);
    STEPS.clone()
}

/// Creates a report file (and its directory).
fn create(path: &std::path::Path) -> Result<std::fs::File, RunError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| RunError::Usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::File::create(path)
        .map_err(|e| RunError::Usage(format!("cannot create {}: {e}", path.display())))
}

/// Hands cucumber the features already parsed, expanded and filtered.
struct Preparsed;

impl cucumber::Parser<Vec<Feature>> for Preparsed {
    type Cli = cli::Empty;
    type Output = futures::stream::Iter<std::vec::IntoIter<cucumber::parser::Result<Feature>>>;

    fn parse(self, input: Vec<Feature>, _: cli::Empty) -> Self::Output {
        futures::stream::iter(input.into_iter().map(Ok).collect::<Vec<_>>())
    }
}

/// Records each finished scenario and prints its line.
fn after_scenario<'a>(
    feature: &'a Feature,
    _rule: Option<&'a Rule>,
    scenario: &'a Scenario,
    finished: &'a ScenarioFinished,
    world: Option<&'a mut World>,
) -> LocalBoxFuture<'a, ()> {
    async move {
        let Some(ctx) = world
            .as_ref()
            .map(|w| w.ctx.clone())
            .or_else(Context::current)
        else {
            return;
        };
        let mut record = record_of(ctx.revision, feature, scenario, finished, world.as_deref());
        // The transcript is scrubbed again when the reports are written.
        record.scrub_messages(ctx.http.secrets());
        // The scenario's pool client is free for the next one.
        if let Some(w) = world {
            drop(w.release());
        }
        if ctx.echo {
            super::progress::finished(record.verdict, &record.line());
        }
        if let Ok(mut r) = ctx.records.lock() {
            r.push(record);
        }
    }
    .boxed_local()
}
