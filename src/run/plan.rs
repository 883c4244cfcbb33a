//! The first stage of a run: what to run, against what, with which settings. Everything a
//! user can get wrong is found here, as a usage error, before any server starts or any
//! request leaves.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::gherkin::{Feature, Scenario};
use regex::Regex;
use url::Url;

use super::error::RunError;
use super::transport::TransportSettings;
use crate::baseline::Baseline;
use crate::client::http::Limits;
use crate::client::login::Credentials;
use crate::client::mcp::Revision;
use crate::client::redact::Redactor;
use crate::client::registration::RegisteredClient;
use crate::config::{self, DriverKind, Profile, RegistrationKind, ScopeCheck, parse_http_url};
use crate::features::{self, Source};
use crate::report::requests::Estimate;

/// Everything a run needs, from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub target: Option<String>,
    pub config: Option<PathBuf>,
    pub features: Option<PathBuf>,
    pub tags: Option<TagOperation>,
    pub name: Option<Regex>,
    pub junit: PathBuf,
    /// The Cucumber JSON (none in the self-test's defect and variant runs).
    pub json: Option<PathBuf>,
    /// The machine-readable verdicts.
    pub results: PathBuf,
    /// The HTML report (none in the self-test's runs).
    pub html: Option<PathBuf>,
    /// Where the Markdown summary goes, if anywhere.
    pub summary: crate::report::markdown::Destinations,
    pub concurrency: Option<usize>,
    pub timeout: Option<u64>,
    /// The longest a scenario waits for rate limits, in seconds (default 120).
    pub max_wait: Option<u64>,
    /// At most so many request starts per endpoint and period.
    pub pace: Option<crate::client::ratelimit::Pace>,
    pub spec: Option<Revision>,
    pub strict: bool,
    /// What the exit code gates on (default: the profile's `fail_on`, else all).
    pub fail_on: Option<crate::report::FailOn>,
    pub verbose: bool,
    /// Defects of the embedded reference server (only without a target).
    pub defects: reference_server::Defects,
    /// Variants of the embedded reference server (only without a target).
    pub variants: reference_server::Variants,
    /// The window of the embedded server's rate-limit variants.
    pub rate_limit_window: Option<Duration>,
    /// The layout of the embedded reference server (only without a target).
    pub layout: reference_server::Layout,
    /// The expected-failures baseline.
    pub baseline: Option<PathBuf>,
    /// Extra CA certificates to trust (PEM).
    pub ca_cert: Option<PathBuf>,
    /// The authorization server's instances (`--replica`, `--replica-route`), beside the
    /// profile's.
    pub replicas: super::ReplicaOptions,
    /// Print nothing: no scenario lines, no summary (the self-test runs many suites at once).
    pub quiet: bool,
    /// Run only this part of the selected scenarios.
    pub shard: Option<super::shard::Shard>,
    /// Which scenarios' exchanges the reports carry.
    pub transcripts: super::transport::Transcripts,
}

/// A run, checked and ready to start.
#[derive(Debug)]
pub struct Plan {
    /// The selected scenarios: parsed, outlines expanded, filtered (never empty).
    pub features: Vec<Feature>,
    /// What the selected scenarios take from the target.
    pub needs: Needs,
    pub target: TargetPlan,
    /// The revision to judge by; `None`: learn it from the target (`--spec auto`).
    pub revision: Option<Revision>,
    pub transport: TransportSettings,
    pub login: LoginPlan,
    pub client: ClientPlan,
    /// A second protected resource of the same authorization server (the profile's).
    pub second_resource: Option<Url>,
    /// The authorization server's instances: the profile's, then the command line's.
    pub replicas: Vec<crate::client::replicas::Instance>,
    /// The tool and the narrower scope of the insufficient-scope scenarios.
    pub scope_check: Option<ScopeCheck>,
    /// The longest the run waits for a token to expire.
    pub max_expiry_wait: Duration,
    /// How long the target's authorization codes live, as the profile states it.
    pub code_lifetime: Option<Duration>,
    /// How many scenarios run at once.
    pub concurrency: usize,
    pub baseline: Baseline,
    pub reports: Reports,
    /// Count SHOULD violations as failures.
    pub strict: bool,
    /// Which failures fail the run, by impact.
    pub fail_on: crate::report::FailOn,
    /// Print nothing.
    pub quiet: bool,
    /// The part of the selection this run is (`--shard`).
    pub shard: Option<super::shard::ShardInfo>,
    /// The run's secrets: the configured ones now, those the transport learns as it goes.
    /// Every output of the run is scrubbed of them.
    pub secrets: Redactor,
}

/// What the selected scenarios take from the target, counted before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub scenarios: usize,
    /// About how many logins (authorizations) the run takes: each scenario's most, the
    /// scenarios sharing one login counted once between them (catalogue section 17), and one
    /// more to learn the revision under `--spec auto`.
    pub logins: usize,
    /// About how many registrations, authorizations and token requests the run sends.
    pub estimate: Estimate,
}

pub use super::embedded::EmbeddedServer;

/// What the run is tested against.
#[derive(Debug, Clone)]
pub enum TargetPlan {
    /// `--target`, or the profile's `target`.
    Given(Url),
    /// The embedded reference server, started for the run.
    Embedded(EmbeddedServer),
}

/// How logins are completed: the profile's `[login]` table and what the run adds.
#[derive(Debug, Clone)]
pub struct LoginPlan {
    pub table: config::Login,
    pub credentials: Credentials,
    /// The most requests one HTTP-driven authorization may take.
    pub max_steps: usize,
    /// How long one login may take (manual, command, browser).
    pub timeout: Duration,
}

impl LoginPlan {
    /// A person completes each manual login: read-only scenarios share one (catalogue §17).
    pub fn shared(&self) -> bool {
        self.table.driver == DriverKind::Manual
    }
}

/// The client the scenarios use.
#[derive(Debug, Clone)]
pub struct ClientPlan {
    /// The redirect URI of every client of the run.
    pub redirect_uri: Url,
    /// The profile's pre-registered client, used instead of registering one.
    pub registered: Option<RegisteredClient>,
    /// The pre-registered client ID is a client ID metadata document URL (`registration =
    /// "cimd"`), which is checked before the run.
    pub metadata_document: bool,
}

/// Where the reports go.
#[derive(Debug, Clone)]
pub struct Reports {
    pub junit: PathBuf,
    /// Cucumber JSON, if any.
    pub json: Option<PathBuf>,
    /// The verdicts as JSON.
    pub results: PathBuf,
    /// The HTML report.
    pub html: Option<PathBuf>,
    /// Where the Markdown summary goes.
    pub summary: crate::report::markdown::Destinations,
}

/// How many scenarios run at once when neither the command line nor the profile says.
const DEFAULT_CONCURRENCY: usize = 16;

impl Plan {
    /// Reads the profile, the baseline and the features, and checks every option. Sends
    /// nothing and starts nothing.
    pub fn new(opts: RunOptions) -> Result<Plan, RunError> {
        let profile = match &opts.config {
            Some(p) => Profile::load(p).map_err(|e| RunError::Usage(e.to_string()))?,
            None => Profile::default(),
        };
        let revision = match (&opts.spec, profile.revision.as_deref()) {
            (Some(r), _) => Some(*r),
            (None, None | Some("auto")) => None,
            (None, Some(r)) => Some(r.parse().map_err(RunError::Usage)?),
        };
        let baseline = match &opts.baseline {
            Some(p) => Baseline::load(p).map_err(RunError::Usage)?,
            None => Baseline::default(),
        };
        let features = load_features(&opts)?;
        if features::scenarios(&features).is_empty() {
            return Err(RunError::Usage(
                "no scenario matches the --tags / --name filters".into(),
            ));
        }
        let (features, shard) = super::shard::select_opt(features, opts.shard);
        let secrets = Redactor::new();
        let client = client_plan(&profile, &secrets)?;
        let second_resource = match &profile.resources.second {
            Some(s) => Some(parse_http_url("resources.second", s).map_err(RunError::Usage)?),
            None => None,
        };
        let replicas = super::replicas::instances(&profile, &opts.replicas)?;
        let target = target_plan(&opts, &profile, &client)?;
        let mut scope_check = profile.scope_check.clone();
        if let TargetPlan::Embedded(_) = target {
            // The reference server's privileged tool, as its tools/list describes it.
            scope_check.get_or_insert(ScopeCheck {
                tool: "admin".into(),
                narrow_scope: reference_server::config::SCOPE_READ.into(),
            });
        }
        let limits = Limits {
            timeout: Duration::from_secs(opts.timeout.unwrap_or(profile.limits.timeout_secs)),
            max_body_bytes: profile.limits.max_body_bytes,
            max_redirects: profile.limits.max_redirects,
        };
        if limits.timeout.is_zero() {
            return Err(RunError::Usage("--timeout must be at least 1".into()));
        }
        let embedded = matches!(target, TargetPlan::Embedded(_));
        let login = LoginPlan {
            credentials: Credentials::of(&profile.login, embedded, &secrets)
                .map_err(RunError::Usage)?,
            max_steps: limits.max_redirects + 6,
            timeout: Duration::from_secs(profile.login.timeout_secs).max(limits.timeout),
            table: profile.login.clone(),
        };
        let mut transport = TransportSettings::from_profile(
            &profile,
            opts.ca_cert.as_deref(),
            limits,
            opts.verbose,
        )?;
        transport.secrets = secrets.clone();
        if let Some(secs) = opts.max_wait {
            transport.max_wait = Duration::from_secs(secs);
        }
        transport.pace = opts.pace;
        transport.transcripts = opts.transcripts;
        let reports = Reports {
            junit: opts.junit,
            json: opts.json,
            results: opts.results,
            html: opts.html,
            summary: opts.summary,
        };
        // An unwritable report path stops the run now, not after it.
        for path in [&reports.junit, &reports.results]
            .into_iter()
            .chain(reports.json.as_ref())
            .chain(reports.html.as_ref())
        {
            check_writable(path)?;
        }
        let logins =
            features::logins_needed(&features, login.shared()) + usize::from(revision.is_none());
        let needs = Needs {
            scenarios: features::scenarios(&features).len(),
            logins,
            estimate: estimate(
                &features,
                login.shared(),
                client.registered.is_some(),
                revision,
            ),
        };
        let fail_on = match (opts.fail_on, profile.fail_on.as_deref()) {
            (Some(f), _) => f,
            (None, Some(f)) => f.parse().map_err(RunError::Usage)?,
            (None, None) => crate::report::FailOn::All,
        };
        Ok(Plan {
            features,
            needs,
            target,
            revision,
            transport,
            login,
            client,
            second_resource,
            replicas,
            scope_check,
            max_expiry_wait: Duration::from_secs(profile.limits.max_expiry_wait_secs),
            code_lifetime: profile.replicas.code_lifetime_secs.map(Duration::from_secs),
            concurrency: opts
                .concurrency
                .or(profile.concurrency)
                .unwrap_or(DEFAULT_CONCURRENCY)
                .max(1),
            baseline,
            reports,
            strict: opts.strict,
            fail_on,
            quiet: opts.quiet,
            shard,
            secrets,
        })
    }
}

/// What one step sends, by the words of its text (the first entry whose words it contains):
/// registrations, authorizations and token requests. The steps that obtain tokens authorize
/// once and redeem once; the flows' shared client is counted once per run, not here.
const STEP_COSTS: &[(&str, Estimate)] = &[
    ("20 times concurrently", cost(0, 0, 20)),
    // The client ID metadata document scenarios first show that a valid document works.
    ("accepts client ID metadata documents", cost(0, 1, 0)),
    ("wrong client secret 20 times", cost(0, 0, 21)),
    ("a second registered client", cost(1, 0, 0)),
    ("registered with", cost(1, 0, 0)),
    ("registers", cost(1, 0, 0)),
    ("once with", cost(0, 2, 0)),
    ("requests authorization", cost(0, 1, 0)),
    ("obtains an authorization code", cost(0, 1, 0)),
    ("obtains two codes", cost(0, 2, 0)),
    ("holds tokens", cost(0, 1, 1)),
    ("obtains tokens", cost(0, 1, 1)),
    ("redeem", cost(0, 0, 1)),
    ("refreshes", cost(0, 0, 1)),
    ("client_credentials token", cost(0, 0, 1)),
];

const fn cost(registrations: usize, authorizations: usize, token_requests: usize) -> Estimate {
    Estimate {
        registrations,
        authorizations,
        token_requests,
    }
}

/// About how many registrations, authorizations and token requests the selected scenarios
/// send, counted by step kind (background steps once per scenario), with the shared client's
/// registration and `--spec auto`'s login. Under a fixed revision, the scenarios whose
/// requirements do not apply to it are not run and not counted.
fn estimate(
    features: &[Feature],
    shared_logins: bool,
    pre_registered: bool,
    revision: Option<Revision>,
) -> Estimate {
    let mut total = Estimate::default();
    let mut shared_client = false;
    let mut shared_login = false;
    let runs = |s: &Scenario| revision.is_none_or(|r| super::records::applies(s, r));
    for (feature, scenario) in features::scenarios(features)
        .into_iter()
        .filter(|(_, s)| runs(s))
    {
        let background = feature.background.iter().flat_map(|b| b.steps.iter());
        for step in background.chain(scenario.steps.iter()) {
            let text = step.value.as_str();
            if text == "a registered client" {
                shared_client = true;
                continue;
            }
            if shared_logins && text == features::SHARED_LOGIN_STEP {
                shared_client = true;
                shared_login = true;
                continue;
            }
            if let Some((_, c)) = STEP_COSTS.iter().find(|(words, _)| text.contains(words)) {
                shared_client |= c.authorizations > 0;
                total.registrations += c.registrations;
                total.authorizations += c.authorizations;
                total.token_requests += c.token_requests;
            }
        }
    }
    let extra_logins = usize::from(shared_login) + usize::from(revision.is_none());
    total.authorizations += extra_logins;
    total.token_requests += extra_logins;
    total.registrations += usize::from(shared_client && !pre_registered);
    total
}

/// The features of `--features DIR` (else the embedded ones), filtered by `--tags` and
/// `--name`.
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

fn client_plan(profile: &Profile, secrets: &Redactor) -> Result<ClientPlan, RunError> {
    let redirect_uri = parse_http_url("client.redirect_uri", &profile.client.redirect_uri)
        .map_err(RunError::Usage)?;
    let registered = profile
        .client
        .pre_registered()
        .map_err(RunError::Usage)?
        .inspect(|c| {
            if let Some(s) = &c.client_secret {
                secrets.remember_configured(s.expose());
            }
        })
        .map(|c| RegisteredClient {
            client_id: c.client_id,
            client_secret: c.client_secret,
            redirect_uri: redirect_uri.clone(),
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            application_type: None,
        });
    Ok(ClientPlan {
        redirect_uri,
        registered,
        metadata_document: profile.client.registration() == RegistrationKind::Cimd,
    })
}

/// `--target` (or the profile's), else the embedded reference server: the options that
/// only apply to one of them are refused with the other.
fn target_plan(
    opts: &RunOptions,
    profile: &Profile,
    client: &ClientPlan,
) -> Result<TargetPlan, RunError> {
    match opts.target.as_ref().or(profile.target.as_ref()) {
        Some(_) if !opts.defects.is_empty() => Err(RunError::Usage(
            "--defect applies to the embedded reference server: leave out --target".into(),
        )),
        Some(_) if !opts.variants.is_empty() => Err(RunError::Usage(
            "--variant applies to the embedded reference server: leave out --target".into(),
        )),
        None if client.registered.is_some() => Err(RunError::Usage(
            "[client] client_id names a client registered at your target: give --target (or `target` in the profile)".into(),
        )),
        Some(_) if opts.layout != reference_server::Layout::default() => Err(RunError::Usage(
            "--layout applies to the embedded reference server: leave out --target".into(),
        )),
        Some(t) => Ok(TargetPlan::Given(
            parse_http_url("--target", t).map_err(RunError::Usage)?,
        )),
        None => Ok(TargetPlan::Embedded(EmbeddedServer {
            defects: opts.defects.clone(),
            variants: opts.variants.clone(),
            layout: opts.layout,
            rate_limit_window: opts.rate_limit_window,
        })),
    }
}

/// Whether a report can be written at `path` (its directory is created). An existing file
/// is left as it is until the run writes it; a new one is not left behind.
pub(crate) fn check_writable(path: &Path) -> Result<(), RunError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| RunError::Usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| RunError::Usage(format!("cannot create {}: {e}", path.display())))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory of the test's own for profiles and reports.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("plan-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    }

    /// The options of an empty command line, with reports under `dir`.
    fn options(dir: &Path) -> RunOptions {
        RunOptions {
            target: None,
            config: None,
            features: None,
            tags: None,
            name: None,
            junit: dir.join("junit.xml"),
            json: Some(dir.join("cucumber.json")),
            results: dir.join("results.json"),
            html: None,
            summary: Default::default(),
            concurrency: None,
            timeout: None,
            max_wait: None,
            pace: None,
            spec: None,
            strict: false,
            fail_on: None,
            verbose: false,
            defects: reference_server::Defects::none(),
            variants: reference_server::Variants::none(),
            rate_limit_window: None,
            layout: reference_server::Layout::SameOrigin,
            baseline: None,
            ca_cert: None,
            replicas: Default::default(),
            quiet: true,
            shard: None,
            transcripts: Default::default(),
        }
    }

    fn profile(dir: &Path, text: &str) -> Option<PathBuf> {
        let path = dir.join("profile.toml");
        std::fs::write(&path, text).expect("write the profile");
        Some(path)
    }

    fn usage_error(opts: RunOptions) -> String {
        match Plan::new(opts) {
            Err(RunError::Usage(m)) => m,
            Err(RunError::Harness(m)) => panic!("a harness error, not a usage error: {m}"),
            Ok(_) => panic!("planned"),
        }
    }

    // Nothing listens there: a plan sends nothing, so it need not.
    const TARGET: &str = "http://127.0.0.1:9/mcp";

    #[test]
    fn options_that_do_not_fit_together_are_usage_errors() {
        let dir = scratch("misfits");
        let m = usage_error(RunOptions {
            target: Some(TARGET.into()),
            defects: reference_server::Defects::only(reference_server::Defect::CodeReusable),
            ..options(&dir)
        });
        assert!(m.contains("--defect applies to the embedded"), "{m}");
        let m = usage_error(RunOptions {
            target: Some(TARGET.into()),
            layout: reference_server::Layout::Split,
            ..options(&dir)
        });
        assert!(m.contains("--layout applies to the embedded"), "{m}");
        let m = usage_error(RunOptions {
            config: profile(&dir, "[client]\nclient_id = \"c1\"\n"),
            ..options(&dir)
        });
        assert!(m.contains("give --target"), "{m}");
        let m = usage_error(RunOptions {
            target: Some("ftp://127.0.0.1/mcp".into()),
            ..options(&dir)
        });
        assert!(m.contains("--target"), "{m}");
        let m = usage_error(RunOptions {
            timeout: Some(0),
            ..options(&dir)
        });
        assert!(m.contains("--timeout must be at least 1"), "{m}");
        let m = usage_error(RunOptions {
            name: Some(Regex::new("^NO-SUCH-99 ").expect("regex")),
            ..options(&dir)
        });
        assert!(m.contains("no scenario matches"), "{m}");
        let m = usage_error(RunOptions {
            ca_cert: Some(dir.join("missing.pem")),
            ..options(&dir)
        });
        assert!(m.contains("cannot read the CA certificate"), "{m}");
    }

    #[test]
    fn an_unwritable_report_path_is_found_before_the_run() {
        let dir = scratch("unwritable");
        let file = dir.join("a-file");
        std::fs::write(&file, "").expect("write");
        let m = usage_error(RunOptions {
            target: Some(TARGET.into()),
            results: file.join("results.json"),
            ..options(&dir)
        });
        assert!(m.contains("cannot create"), "{m}");
        // A plan that could write them leaves no empty reports behind, and existing ones as
        // they were.
        std::fs::write(dir.join("junit.xml"), "earlier").expect("write");
        Plan::new(RunOptions {
            target: Some(TARGET.into()),
            ..options(&dir)
        })
        .expect("planned");
        assert!(!dir.join("results.json").exists());
        assert_eq!(
            std::fs::read_to_string(dir.join("junit.xml")).expect("read"),
            "earlier"
        );
    }

    #[test]
    fn the_plan_counts_what_the_selected_scenarios_need() {
        let dir = scratch("needs");
        // RS-01 and RS-02 take a shared login; RS-04 (three examples) none; RS-06 its own.
        let tags: TagOperation = "@RS-01 or @RS-02 or @RS-04 or @RS-06"
            .parse()
            .expect("tags");
        let selected = RunOptions {
            tags: Some(tags),
            ..options(&dir)
        };
        let fixed = Plan::new(RunOptions {
            spec: Some(Revision::V2025_11_25),
            ..selected.clone()
        })
        .expect("planned");
        assert_eq!((fixed.needs.scenarios, fixed.needs.logins), (6, 3));
        assert_eq!(fixed.revision, Some(Revision::V2025_11_25));
        assert!(matches!(fixed.target, TargetPlan::Embedded { .. }));
        // `--spec auto` logs in once more to learn the revision.
        let auto = Plan::new(selected.clone()).expect("planned");
        assert_eq!(auto.revision, None);
        assert_eq!(auto.needs.logins, 4);
        // A person logs in for the manual driver: the read-only scenarios share one login.
        let manual = Plan::new(RunOptions {
            target: Some(TARGET.into()),
            config: profile(
                &dir,
                "revision = \"2025-06-18\"\n[login]\ndriver = \"manual\"\n",
            ),
            ..selected
        })
        .expect("planned");
        assert_eq!(manual.revision, Some(Revision::V2025_06_18));
        assert_eq!((manual.needs.scenarios, manual.needs.logins), (6, 2));
    }

    #[test]
    fn the_estimate_counts_requests_by_step_kind() {
        let dir = scratch("estimate");
        let estimate = |tags: &str| {
            Plan::new(RunOptions {
                tags: Some(tags.parse().expect("tags")),
                spec: Some(Revision::V2025_11_25),
                ..options(&dir)
            })
            .expect("planned")
            .needs
            .estimate
        };
        // The shared client, and one client_credentials request.
        assert_eq!(estimate("@TOK-09"), cost(1, 0, 1));
        // A registration of its own; no flow needs the shared client.
        assert_eq!(estimate("@DCR-01"), cost(1, 0, 0));
        // The shared client, one login, twenty concurrent redemptions.
        assert_eq!(estimate("@CODE-02 and @race"), cost(1, 1, 20));
    }

    #[test]
    fn the_embedded_server_gets_its_scope_check_and_a_target_keeps_the_profiles() {
        let dir = scratch("scope");
        let embedded = Plan::new(options(&dir)).expect("planned");
        assert_eq!(
            embedded.scope_check.map(|s| s.tool).as_deref(),
            Some("admin")
        );
        let given = Plan::new(RunOptions {
            target: Some(TARGET.into()),
            concurrency: Some(0),
            ..options(&dir)
        })
        .expect("planned");
        assert!(given.scope_check.is_none());
        assert_eq!(given.concurrency, 1);
    }
}
