//! One run of the suite: resolve the target (or start the embedded reference server), load
//! and filter the features, run them with cucumber, and write the reports.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cucumber::event::ScenarioFinished;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::gherkin::{Feature, Rule, Scenario};
use cucumber::{World as _, WriterExt as _, cli, writer};
use futures::FutureExt as _;
use futures::future::LocalBoxFuture;
use regex::Regex;
use url::Url;

use crate::client::hosts::{AllowedHosts, HostPattern};
use crate::client::http::{Http, HttpOptions, Limits};
use crate::client::login::{self, DriverSetup};
use crate::client::mcp::{McpClient, Revision};
use crate::client::redact::Secret;
use crate::client::registration::RegisteredClient;
use crate::config::{Profile, ScopeCheck, parse_http_url};
use crate::context::{Context, ContextParts};
use crate::features::{self, Source};
use crate::report::{self, ScenarioRecord, Verdict};
use crate::requirements::Severity;
use crate::steps::World;
use crate::verdict::Fault;

/// Everything a run needs, from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub target: Option<String>,
    pub config: Option<PathBuf>,
    pub features: Option<PathBuf>,
    pub tags: Option<TagOperation>,
    pub name: Option<Regex>,
    pub junit: PathBuf,
    pub json: PathBuf,
    /// The machine-readable verdicts.
    pub results: PathBuf,
    pub concurrency: Option<usize>,
    pub timeout: Option<u64>,
    pub spec: Option<Revision>,
    pub strict: bool,
    pub verbose: bool,
    /// Defects of the embedded reference server (only without a target).
    pub defects: reference_server::Defects,
    /// The layout of the embedded reference server (only without a target).
    pub layout: reference_server::Layout,
    /// The expected-failures baseline.
    pub baseline: Option<PathBuf>,
    /// Extra CA certificates to trust (PEM).
    pub ca_cert: Option<PathBuf>,
    /// Print nothing: no scenario lines, no summary (the self-test runs many suites at once).
    pub quiet: bool,
}

/// Why a run could not start or finish. Usage errors exit 2; the rest 3.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Harness(String),
}

impl RunError {
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Usage(_) => 2,
            RunError::Harness(_) => 3,
        }
    }
}

/// The access-token lifetime of the embedded reference server: short, so RS-06 can wait it out.
const EMBEDDED_TOKEN_TTL: Duration = Duration::from_secs(15);

/// The outcome of a finished run.
pub struct RunResult {
    pub records: Vec<ScenarioRecord>,
    pub exit_code: u8,
}

pub async fn run(opts: RunOptions) -> Result<RunResult, RunError> {
    let profile = match &opts.config {
        Some(p) => Profile::load(p).map_err(|e| RunError::Usage(e.to_string()))?,
        None => Profile::default(),
    };
    // `None`: learn it from the target (`--spec auto`, the default).
    let chosen: Option<Revision> = match (&opts.spec, profile.revision.as_deref()) {
        (Some(r), _) => Some(*r),
        (None, None | Some("auto")) => None,
        (None, Some(r)) => Some(r.parse().map_err(RunError::Usage)?),
    };
    let baseline = match &opts.baseline {
        Some(p) => crate::baseline::Baseline::load(p).map_err(RunError::Usage)?,
        None => crate::baseline::Baseline::default(),
    };
    let features = load_features(&opts)?;
    if features::scenarios(&features).is_empty() {
        return Err(RunError::Usage(
            "no scenario matches the --tags / --name filters".into(),
        ));
    }
    let password = profile.password().map_err(RunError::Usage)?;
    let redirect_uri = parse_http_url("client.redirect_uri", &profile.client.redirect_uri)
        .map_err(RunError::Usage)?;
    let client = profile
        .client
        .pre_registered()
        .map_err(RunError::Usage)?
        .map(|c| RegisteredClient {
            client_id: c.client_id,
            client_secret: c.client_secret,
            redirect_uri: redirect_uri.clone(),
            token_endpoint_auth_method: c.token_endpoint_auth_method,
        });
    let second_resource = match &profile.resources.second {
        Some(s) => Some(parse_http_url("resources.second", s).map_err(RunError::Usage)?),
        None => None,
    };

    // The target, or the embedded reference server.
    let mut embedded = None;
    let mut scope_check = profile.scope_check.clone();
    let target = match opts.target.as_ref().or(profile.target.as_ref()) {
        Some(_) if !opts.defects.is_empty() => {
            return Err(RunError::Usage(
                "--defect applies to the embedded reference server: leave out --target".into(),
            ));
        }
        None if client.is_some() => {
            return Err(RunError::Usage(
                "[client] client_id names a client registered at your target: give --target (or `target` in the profile)".into(),
            ));
        }
        Some(_) if opts.layout != reference_server::Layout::default() => {
            return Err(RunError::Usage(
                "--layout applies to the embedded reference server: leave out --target".into(),
            ));
        }
        Some(t) => parse_http_url("--target", t).map_err(RunError::Usage)?,
        None => {
            let config = reference_server::config::Config {
                access_token_ttl: EMBEDDED_TOKEN_TTL,
                defects: opts.defects.clone(),
                layout: opts.layout,
                // Client ID metadata documents served by the harness itself live on loopback http.
                allow_loopback_http_client_ids: true,
                ..Default::default()
            };
            let server = reference_server::start(config).await.map_err(|e| {
                RunError::Harness(format!("cannot start the embedded reference server: {e}"))
            })?;
            let url = Url::parse(&server.urls.mcp).map_err(|e| {
                RunError::Harness(format!("the embedded reference server's URL: {e}"))
            })?;
            if !opts.quiet {
                let defects: Vec<&str> = opts.defects.iter().map(|d| d.name()).collect();
                match defects.as_slice() {
                    [] => eprintln!("Target: the embedded reference server at {url}"),
                    d => eprintln!(
                        "Target: the embedded reference server at {url}, with the defects {}",
                        d.join(", ")
                    ),
                }
            }
            // The reference server's privileged tool, as its tools/list describes it.
            scope_check.get_or_insert(ScopeCheck {
                tool: "admin".into(),
                narrow_scope: reference_server::config::SCOPE_READ.into(),
            });
            embedded = Some(server);
            url
        }
    };

    let limits = Limits {
        timeout: Duration::from_secs(opts.timeout.unwrap_or(profile.limits.timeout_secs)),
        max_body_bytes: profile.limits.max_body_bytes,
        max_redirects: profile.limits.max_redirects,
    };
    if limits.timeout.is_zero() {
        return Err(RunError::Usage("--timeout must be at least 1".into()));
    }
    let max_steps = limits.max_redirects + 6;
    let timeout = limits.timeout;
    // A person completes each manual login: read-only scenarios share one (catalogue §17).
    let share_logins = profile.login.driver == crate::config::DriverKind::Manual;
    let http = transport(
        &profile,
        opts.ca_cert.as_deref(),
        limits,
        opts.verbose,
        &target,
    )?;
    if profile.client.registration() == crate::config::RegistrationKind::Cimd
        && let Some(c) = &client
    {
        check_client_document(&http, c).await?;
    }
    let driver = login::build(DriverSetup {
        login: &profile.login,
        username: profile.login.username.clone(),
        password: Secret::new(password),
        max_steps,
        redirect_uri: redirect_uri.clone(),
        timeout: Duration::from_secs(profile.login.timeout_secs).max(timeout),
        // One more with --spec auto: the revision is learned after authorizing once.
        expected_logins: features::logins_needed(&features, share_logins)
            + usize::from(chosen.is_none()),
    })
    .map_err(RunError::Usage)?;
    if !opts.quiet && profile.login.driver != crate::config::DriverKind::Form {
        eprintln!("Login driver: {}", profile.login.driver.name());
    }
    preflight(&http, &target, chosen.unwrap_or(crate::detect::FALLBACK)).await?;

    let ctx = Context::new(ContextParts {
        target: target.clone(),
        revision: chosen.unwrap_or(crate::detect::FALLBACK),
        http,
        driver,
        redirect_uri,
        second_resource,
        scope_check,
        max_expiry_wait: Duration::from_secs(profile.limits.max_expiry_wait_secs),
        echo: !opts.quiet,
        client,
        share_logins,
    });
    // Discovery before any scenario: it teaches the allowed hosts the authorization servers
    // the target names. Its failures are the discovery scenarios' to report.
    let _ = ctx.discovered().await;
    let ctx = match chosen {
        Some(r) => {
            if !opts.quiet {
                eprintln!("MCP revision: {r} (chosen with --spec or the profile)");
            }
            ctx
        }
        None => {
            let found = crate::detect::detect(&ctx).await;
            if !opts.quiet {
                eprintln!(
                    "MCP revision: {} (--spec auto: {})",
                    found.revision, found.reason
                );
            }
            ctx.for_revision(found.revision)
        }
    };
    let revision = ctx.revision;
    // Scenarios whose requirements do not apply to the revision are not run: they are reported
    // as skipped, with the reason.
    let (features, not_applicable) = features::split_off(features, |s| applies(s, revision));
    if let Ok(mut records) = ctx.records.lock() {
        for (f, s) in &not_applicable {
            records.push(skipped(f, s, revision));
        }
    }
    let concurrency = opts
        .concurrency
        .or(profile.concurrency)
        .unwrap_or(16)
        .max(1);
    let json_file = create(&opts.json)?;
    // Fail on an unwritable report path now, not after the run.
    create(&opts.junit)?;
    create(&opts.results)?;

    if !opts.quiet {
        eprintln!(
            "Running {} scenarios against {target} (MCP {revision}, {concurrency} at a time); {} do not apply to this revision\n",
            features::scenarios(&features).len(),
            not_applicable.len()
        );
    }
    // Step failures are reported by the scenario records; the default hook's noise is not.
    let silence = PanicSilence::begin();
    let cucumber = World::cucumber::<PathBuf>()
        .with_parser(Preparsed)
        .with_writer(writer::Json::new(json_file).discard_stats_writes())
        .with_cli(cli::Opts::<_, _, _, cli::Empty>::default())
        .max_concurrent_scenarios(concurrency)
        .before(crate::steps::before_scenario)
        .after(after_scenario);
    Arc::clone(&ctx).scope(cucumber.run(features)).await;
    drop(silence);

    if let Some(server) = embedded {
        server.shutdown().await;
    }
    let mut records = ctx.records.lock().map(|r| r.clone()).unwrap_or_default();
    records.sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    let stale = baseline.apply(&mut records);
    for e in &stale {
        let record = crate::baseline::stale_record(e, revision.as_str());
        if !opts.quiet {
            crate::out!(
                "{}\n      {}",
                record.line(),
                record.message.as_deref().unwrap_or("")
            );
        }
        records.push(record);
    }

    let xml = report::junit::render(&records, opts.strict).map_err(RunError::Harness)?;
    std::fs::write(&opts.junit, xml)
        .map_err(|e| RunError::Usage(format!("cannot write {}: {e}", opts.junit.display())))?;
    if !opts.quiet {
        crate::out!("\n{}", report::summary(&records));
        crate::out!(
            "JUnit: {}\nResults: {}\nCucumber JSON: {}",
            opts.junit.display(),
            opts.results.display(),
            opts.json.display()
        );
    }
    let exit_code = report::exit_code(&records, opts.strict);
    let results = report::results_json(&records, revision.as_str(), exit_code);
    let results = serde_json::to_string_pretty(&results)
        .map_err(|e| RunError::Harness(format!("cannot render the results: {e}")))?;
    std::fs::write(&opts.results, results)
        .map_err(|e| RunError::Usage(format!("cannot write {}: {e}", opts.results.display())))?;
    Ok(RunResult { records, exit_code })
}

pub fn load_features(opts: &RunOptions) -> Result<Vec<Feature>, RunError> {
    let source = match &opts.features {
        Some(dir) => Source::Dir(dir),
        None => Source::Embedded,
    };
    let all = features::load(source).map_err(|e| RunError::Usage(e.to_string()))?;
    Ok(features::filter(
        all,
        opts.tags.as_ref(),
        opts.name.as_ref(),
    ))
}

/// Keeps the default panic hook quiet while any run is under way: a failed step is a panic
/// that the scenario records report, and several runs may overlap (the self-test).
struct PanicSilence;

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

static SILENCED: std::sync::Mutex<(usize, Option<PanicHook>)> = std::sync::Mutex::new((0, None));

impl PanicSilence {
    fn begin() -> PanicSilence {
        let mut s = SILENCED.lock().unwrap_or_else(|e| e.into_inner());
        if s.0 == 0 {
            s.1 = Some(std::panic::take_hook());
            std::panic::set_hook(Box::new(|_| {}));
        }
        s.0 += 1;
        PanicSilence
    }
}

impl Drop for PanicSilence {
    fn drop(&mut self) {
        let mut s = SILENCED.lock().unwrap_or_else(|e| e.into_inner());
        s.0 = s.0.saturating_sub(1);
        if s.0 == 0
            && let Some(previous) = s.1.take()
        {
            std::panic::set_hook(previous);
        }
    }
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

/// One request before anything else: a target that cannot be reached stops the run with a
/// clear message instead of seventy errors.
/// A client ID metadata document client (`registration = "cimd"`): before the run, its
/// document must be reachable, name itself, and list the redirect URI the run uses. A mistake
/// here is the profile's, so it is a usage error.
async fn check_client_document(http: &Http, client: &RegisteredClient) -> Result<(), RunError> {
    let url = parse_http_url("client.client_id", &client.client_id).map_err(RunError::Usage)?;
    http.hosts().learn(&url);
    let what = format!("the client ID metadata document {url}");
    let resp = http
        .send(crate::client::http::Request::get(url.clone()))
        .await
        .map_err(|e| RunError::Usage(format!("{what} cannot be fetched: {e}")))?;
    if !resp.status.is_success() {
        return Err(RunError::Usage(format!(
            "{what} answered {}",
            resp.status.as_u16()
        )));
    }
    let doc = resp
        .json_object()
        .map_err(|e| RunError::Usage(format!("{what}: {e}")))?;
    if doc.get("client_id").and_then(|v| v.as_str()) != Some(url.as_str()) {
        return Err(RunError::Usage(format!(
            "{what} does not name itself as its client_id"
        )));
    }
    let listed = doc
        .get("redirect_uris")
        .and_then(|v| v.as_array())
        .is_some_and(|uris| {
            uris.iter()
                .any(|u| u.as_str() == Some(client.redirect_uri.as_str()))
        });
    if !listed {
        return Err(RunError::Usage(format!(
            "{what} does not list the profile's redirect URI {} in redirect_uris",
            client.redirect_uri
        )));
    }
    Ok(())
}

/// The run's transport: the profile's allowed hosts (or the default for `target`) and extra
/// CA certificates (`--ca-cert` wins over the profile's `[tls] ca_cert`).
pub fn transport(
    profile: &Profile,
    ca_cert: Option<&std::path::Path>,
    limits: Limits,
    verbose: bool,
    target: &Url,
) -> Result<Http, RunError> {
    let hosts = match &profile.allowed_hosts {
        Some(list) => {
            let patterns = list
                .iter()
                .map(|h| HostPattern::parse(h))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| RunError::Usage(format!("allowed_hosts: {e}")))?;
            let hosts = AllowedHosts::fixed(patterns);
            if !hosts.allows(target) {
                return Err(RunError::Usage(format!(
                    "allowed_hosts does not include the target's host {}",
                    target.host_str().unwrap_or("")
                )));
            }
            hosts
        }
        None => AllowedHosts::for_target(target),
    };
    let ca_path = ca_cert.or(profile.tls.ca_cert.as_deref());
    let ca_cert_pem = match ca_path {
        Some(path) => Some(std::fs::read(path).map_err(|e| {
            RunError::Usage(format!(
                "cannot read the CA certificate {}: {e}",
                path.display()
            ))
        })?),
        None => None,
    };
    Http::with_options(HttpOptions {
        limits,
        verbose,
        ca_cert_pem,
        hosts,
    })
    .map_err(|e| match ca_path {
        Some(path) => RunError::Usage(format!("{}: {e}", path.display())),
        None => RunError::Usage(e.to_string()),
    })
}

async fn preflight(http: &Http, target: &Url, revision: Revision) -> Result<(), RunError> {
    let mcp = McpClient::new(http.fork(), target.clone(), revision);
    mcp.send(&mcp.opening())
        .await
        .map(drop)
        .map_err(|e| RunError::Harness(format!("the target cannot be reached: {e}")))?;
    Ok(())
}

/// Whether any of a scenario's requirements applies to `revision`.
fn applies(s: &Scenario, revision: Revision) -> bool {
    features::ids(s)
        .iter()
        .any(|id| crate::requirements::get(id).is_none_or(|r| r.applies_to(revision)))
}

/// A record of a scenario with its identity filled in and nothing concluded yet.
fn blank_record(feature: &Feature, scenario: &Scenario, revision: Revision) -> ScenarioRecord {
    ScenarioRecord {
        feature: feature.name.clone(),
        area: features::area(feature),
        file: feature
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        name: scenario.name.clone(),
        line: scenario.position.line,
        ids: features::ids(scenario),
        severity: features::severity(scenario).unwrap_or(Severity::Must),
        revision: revision.as_str().into(),
        verdict: Verdict::Pass,
        message: None,
        violated: None,
        warnings: Vec::new(),
        warned: Vec::new(),
        transcript: Vec::new(),
        duration: Duration::ZERO,
    }
}

fn skipped(feature: &Feature, scenario: &Scenario, revision: Revision) -> ScenarioRecord {
    ScenarioRecord {
        verdict: Verdict::Skip,
        message: Some(format!(
            "skipped: its requirements do not apply to MCP {revision}"
        )),
        ..blank_record(feature, scenario, revision)
    }
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
        let record = record_of(&ctx, feature, scenario, finished, world.as_deref());
        if ctx.echo {
            crate::out!("{}", record.line());
        }
        if let Ok(mut r) = ctx.records.lock() {
            r.push(record);
        }
    }
    .boxed_local()
}

fn record_of(
    ctx: &Context,
    feature: &Feature,
    scenario: &Scenario,
    finished: &ScenarioFinished,
    world: Option<&World>,
) -> ScenarioRecord {
    let ids = features::ids(scenario);
    let mut warnings: Vec<String> = world
        .map(|w| w.warnings.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let warned = world
        .map(|w| {
            w.warnings
                .iter()
                .map(|v| v.0.requirement.to_string())
                .collect()
        })
        .unwrap_or_default();
    let observations: Vec<String> = world
        .map(|w| w.observations.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let (verdict, message, violated) = match (world.and_then(|w| w.fault.clone()), finished) {
        (Some(Fault::Violation(v)), _) if ids.iter().any(|id| v.requirement == id.as_str()) => (
            Verdict::Fail,
            Some(format!("violation of {v}")),
            Some(v.requirement.to_string()),
        ),
        (Some(Fault::Violation(v)), _) => (
            Verdict::Error,
            Some(format!(
                "could not run: a precondition failed with a violation of {v}"
            )),
            None,
        ),
        (Some(Fault::Harness(m)), _) => (Verdict::Error, Some(format!("harness error: {m}")), None),
        (Some(Fault::Skip(m)), _) => (Verdict::Skip, Some(format!("skipped: {m}")), None),
        (None, ScenarioFinished::StepPassed) if warnings.is_empty() && observations.is_empty() => {
            (Verdict::Pass, None, None)
        }
        (None, ScenarioFinished::StepPassed) if warnings.is_empty() => (
            Verdict::Info,
            Some(format!("observed:\n{}", observations.join("\n"))),
            None,
        ),
        (None, ScenarioFinished::StepPassed) => (Verdict::Warn, None, None),
        (None, ScenarioFinished::StepSkipped) => (
            Verdict::Error,
            Some(
                "harness error: a step has no definition (a feature file and the steps disagree)"
                    .into(),
            ),
            None,
        ),
        (None, ScenarioFinished::StepFailed(_, _, e)) => {
            (Verdict::Error, Some(format!("harness error: {e}")), None)
        }
        (None, ScenarioFinished::BeforeHookFailed(_)) => (
            Verdict::Error,
            Some("harness error: the scenario could not start".into()),
            None,
        ),
    };
    if verdict != Verdict::Warn && verdict != Verdict::Pass && !warnings.is_empty() {
        warnings.insert(0, "Warnings before the scenario stopped:".into());
    }
    ScenarioRecord {
        verdict,
        message,
        violated,
        warnings,
        warned,
        transcript: world.map(|w| w.http.transcript()).unwrap_or_default(),
        duration: world.map(|w| w.started.elapsed()).unwrap_or_default(),
        ..blank_record(feature, scenario, ctx.revision)
    }
}
