//! The command line. Our own options are long-only, except the cucumber filters (`-t`, `-n`)
//! and `-v`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use cucumber::gherkin::tagexpr::TagOperation;
use regex::Regex;

use reference_server::{Defect, Layout};

use crate::client::mcp::Revision;
use crate::run::RunOptions;

#[derive(Debug, Parser)]
#[command(
    name = "mcp-oauth-conformance",
    version = crate::report::view::harness_version(),
    about = "Conformance tests for MCP OAuth: an MCP client that checks an MCP server and its authorization server against the specs",
    long_about = "Conformance tests for MCP OAuth.\n\n\
        Acts as an MCP client against a target MCP server and the authorization server it names, \
        runs Gherkin scenarios (discovery, registration, PKCE, code replay, refresh rotation, \
        resource binding, bearer-token handling), and writes JUnit and Cucumber JSON reports.\n\n\
        With no arguments it runs the whole suite against the embedded reference server.\n\n\
        Exit codes: 0 every MUST holds; 1 a MUST is violated (of an impact --fail-on gates on; \
        or a SHOULD, with --strict); \
        2 usage or configuration error; 3 the harness could not do its job (target unreachable, \
        internal error).",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the suite (the default).
    Run(RunArgs),
    /// Print every scenario with its requirement IDs and level.
    List(ListArgs),
    /// Prove that every check can fail: run the suite against the embedded reference server
    /// once without defects (it must pass) and once per defect (some scenario carrying the
    /// defect's requirement must fail), and write the defect matrix.
    Selftest(SelftestArgs),
    /// For each requirement of the catalogue: its level, the scenarios that test it, the
    /// defects that prove they can fail, or why it is not tested. Exits 1 on a gap.
    Coverage(CoverageArgs),
    /// Complete one authorization with the profile's login driver and print where it ended
    /// (the redirect URL, secrets redacted unless --reveal). For trying out a login script, and
    /// usable as the program of the command driver.
    Login(LoginArgs),
    /// Complete authorization-code flows against the target as fast as it takes them (or at
    /// --rate), each checking its own results, and report flows/s, latency per step and
    /// errors. A host outside loopback needs --yes or `[load] allowed = true`.
    Load(crate::load::LoadArgs),
    /// Merge the results.json files of the shards of one run (`run --shard I/N`) into the
    /// reports the unsharded run writes: results.json, JUnit, the HTML report and a summary.
    /// Exits with the merged run's exit code; 2 when the files are not the shards of one run.
    MergeReports(MergeArgs),
    /// Start the reference server, exactly like the `reference-server` program
    /// (`mcp-oauth-conformance reference-server --help` lists its flags).
    #[command(disable_help_flag = true)]
    ReferenceServer {
        /// The reference server's flags.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "FLAGS"
        )]
        args: Vec<std::ffi::OsString>,
    },
}

#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// The shards' results.json files (every shard of the run, each once).
    #[arg(
        value_name = "RESULTS.json",
        required_unless_present = "fleet",
        conflicts_with = "fleet"
    )]
    pub inputs: Vec<PathBuf>,
    /// Instead: a fleet file whose targets were run in shards (`run --fleet FILE --shard I/N`).
    /// Every target's directory must be under --fleet-reports; writes the fleet's index.html
    /// and summary.md there, and exits with the worst of the targets' exit codes.
    #[arg(long, value_name = "FILE")]
    pub fleet: Option<PathBuf>,
    /// The directory holding the fleet targets' report directories.
    #[arg(long, value_name = "DIR", default_value = "reports/fleet")]
    pub fleet_reports: PathBuf,
    /// Where to write the merged verdicts as JSON.
    #[arg(long, value_name = "PATH", default_value = "reports/results.json")]
    pub results: PathBuf,
    /// Where to write the merged JUnit report.
    #[arg(long, value_name = "PATH", default_value = "reports/junit.xml")]
    pub junit: PathBuf,
    /// Where to write the merged HTML report.
    #[arg(long, value_name = "PATH", default_value = "reports/report.html")]
    pub html: PathBuf,
    /// Where to write a Markdown summary; it is also appended to $GITHUB_STEP_SUMMARY when that
    /// variable is set.
    #[arg(long, value_name = "PATH")]
    pub summary: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct LoginArgs {
    /// The authorization request URL to start from.
    #[arg(value_name = "AUTHORIZATION_URL")]
    pub url: String,
    /// A TOML target profile: its [login] table (driver, user, scripts), allowed_hosts, [tls].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Extra CA certificates to trust (PEM).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Print the redirect URL in full, code included (as the command driver needs it).
    #[arg(long)]
    pub reveal: bool,
    /// The authorization server is a reference server: log in as its test user unless the
    /// profile names another.
    #[arg(long)]
    pub reference_server: bool,
}

#[derive(Debug, Args, Clone)]
pub struct CoverageArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The feature files to use instead of the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub features: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct SelftestArgs {
    /// Only this defect (repeatable). Without --defect and --variant, every defect and every
    /// variant runs; with only --variant, no defect does. `--list-defects` names them.
    #[arg(long = "defect", value_name = "NAME")]
    pub defects: Vec<Defect>,
    /// Only this variant (repeatable). With only --defect, no variant runs.
    /// `--list-variants` names them.
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<reference_server::Variant>,
    /// Print every defect with the requirement IDs it violates, and exit.
    #[arg(long)]
    pub list_defects: bool,
    /// Print every variant with what it changes and what allows it, and exit.
    #[arg(long)]
    pub list_variants: bool,
    /// The feature files to use instead of the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub features: Option<PathBuf>,
    /// The MCP revision to speak (default 2025-11-25).
    #[arg(long, value_name = "REVISION")]
    pub spec: Option<Revision>,
    /// How many suites run at once (default 20; 12 in a debug build).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    /// Where to write the defect matrix (Markdown).
    #[arg(long, value_name = "PATH", default_value = "reports/defect-matrix.md")]
    pub matrix: PathBuf,
    /// Where to write the variant matrix (Markdown).
    #[arg(long, value_name = "PATH", default_value = "reports/variant-matrix.md")]
    pub variant_matrix: PathBuf,
    /// The directory for each run's JUnit and Cucumber JSON reports (one subdirectory per run).
    #[arg(long, value_name = "DIR", default_value = "reports/selftest")]
    pub reports: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct Filters {
    /// The feature files to use instead of the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub features: Option<PathBuf>,
    /// Run only scenarios whose tags match this expression, e.g. '@PKCE-06 or @CODE-02'.
    #[arg(short = 't', long, value_name = "EXPR", value_parser = parse_tags)]
    pub tags: Option<TagOperation>,
    /// Run only scenarios whose name matches this regular expression.
    #[arg(short = 'n', long, value_name = "REGEX")]
    pub name: Option<Regex>,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// The MCP server URL. Without it, the embedded reference server is started on a free
    /// loopback port and tested.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// A TOML target profile: credentials, limits, optional facts about the target.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub filters: Filters,
    /// Where to write the JUnit report.
    #[arg(long, value_name = "PATH", default_value = "reports/junit.xml")]
    pub junit: PathBuf,
    /// Where to write the Cucumber JSON report.
    #[arg(long, value_name = "PATH", default_value = "reports/cucumber.json")]
    pub json: PathBuf,
    /// Where to write the verdicts as JSON (pass, info, warn, skip, known, fail, error).
    #[arg(long, value_name = "PATH", default_value = "reports/results.json")]
    pub results: PathBuf,
    /// Where to write the HTML report (one self-contained page).
    #[arg(long, value_name = "PATH", default_value = "reports/report.html")]
    pub html: PathBuf,
    /// Where to write a Markdown summary for CI; it is also appended to $GITHUB_STEP_SUMMARY
    /// when that variable is set.
    #[arg(long, value_name = "PATH")]
    pub summary: Option<PathBuf>,
    /// How many scenarios run at once (default 16).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: Option<u16>,
    /// Per-request timeout in seconds (default 10).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: Option<u64>,
    /// The longest a scenario waits for rate limits (429, or 503 with Retry-After), in seconds,
    /// all its waits together (default 120). A longer wait makes the scenario an error ("not
    /// run: rate limited"), never a failure.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=86400))]
    pub max_wait: Option<u64>,
    /// Spread requests to each endpoint: at most N starts per minute (`N/min`), second (`N/s`)
    /// or hour (`N/h`), for a target whose rate limits are known in advance.
    #[arg(long, value_name = "N/min")]
    pub pace: Option<crate::client::ratelimit::Pace>,
    /// The MCP revision to judge by: auto (default: the newest the target supports, learned
    /// after authorizing once), 2025-03-26, 2025-06-18, 2025-11-25 or 2026-07-28.
    #[arg(long, value_name = "REVISION|auto")]
    pub spec: Option<SpecChoice>,
    /// Count SHOULD violations (warnings) as failures.
    #[arg(long)]
    pub strict: bool,
    /// What the exit code gates on: security (only failures that grant what must not be
    /// granted), interop (those and failures that break a client following the specs) or all
    /// (default; hygiene too). Every failure is reported whatever the choice.
    #[arg(long, value_name = "security|interop|all")]
    pub fail_on: Option<crate::report::FailOn>,
    /// Log every HTTP exchange (redacted) to stderr.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Start the embedded reference server with this defect (repeatable; not with --target),
    /// to see the suite fail. `selftest --list-defects` names them.
    #[arg(long = "defect", value_name = "NAME")]
    pub defects: Vec<Defect>,
    /// Start the embedded reference server with this variant, a behaviour the specifications
    /// allow (repeatable; not with --target), to see the suite pass it. `selftest
    /// --list-variants` names them.
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<reference_server::Variant>,
    /// The layout of the embedded reference server (not with --target): same-origin (default),
    /// split, issuer-path, oidc-only or legacy-2025-03-26.
    #[arg(long, value_enum, value_name = "LAYOUT", default_value_t = Layout::SameOrigin)]
    pub layout: Layout,
    /// An expected-failures baseline (TOML): listed failures do not fail the run; a listed
    /// entry that passes now is stale and does.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// A PEM file of CA certificates to trust besides the system's, for a target whose
    /// certificate a private CA signed.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// The origin of one instance of the authorization server behind its load balancer
    /// (repeatable; added to the profile's [replicas] urls): codes and refresh tokens spent,
    /// and codes expired, at one instance are tried at the others (REPL-01..05, REPL-07).
    #[arg(long = "replica", value_name = "URL")]
    pub replicas: Vec<String>,
    /// One instance of the authorization server reached through its load balancer: the value
    /// of the routing header (--replica-route-header) that sends a request to it (repeatable;
    /// added to the profile's [replicas] routes). Requests go where the AS metadata says.
    #[arg(long = "replica-route", value_name = "VALUE")]
    pub replica_routes: Vec<String>,
    /// The header the load balancer routes to one instance by, e.g. X-Instance (wins over the
    /// profile's [replicas] route_header). Not Host, nor a header that carries a credential.
    #[arg(long, value_name = "NAME")]
    pub replica_route_header: Option<String>,
    /// Run only part I of N of the selected scenarios (with --fleet: of the fleet's targets),
    /// e.g. 2/4; `merge-reports` puts the parts' results.json back together.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<crate::run::shard::Shard>,
    /// A fleet file (TOML): many targets, each with its profile or the embedded reference
    /// server, run in one invocation. Each target's reports go to its own directory under
    /// --fleet-reports, with an index page and a combined summary; the exit code is the worst.
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "target", "config", "defects", "variants", "layout", "baseline",
        "junit", "json", "results", "html", "replicas", "replica_routes",
        "replica_route_header",
    ])]
    pub fleet: Option<PathBuf>,
    /// How many fleet targets run at once.
    #[arg(long, value_name = "N", default_value_t = 2,
        value_parser = clap::value_parser!(u16).range(1..=64))]
    pub fleet_concurrency: u16,
    /// The directory of a fleet's reports: one subdirectory per target, index.html and
    /// summary.md.
    #[arg(long, value_name = "DIR", default_value = "reports/fleet")]
    pub fleet_reports: PathBuf,
}

impl Default for RunArgs {
    fn default() -> Self {
        // The defaults as clap would fill them for an empty command line.
        RunArgs {
            target: None,
            config: None,
            filters: Filters {
                features: None,
                tags: None,
                name: None,
            },
            junit: PathBuf::from("reports/junit.xml"),
            json: PathBuf::from("reports/cucumber.json"),
            results: PathBuf::from("reports/results.json"),
            html: PathBuf::from("reports/report.html"),
            summary: None,
            concurrency: None,
            timeout: None,
            max_wait: None,
            pace: None,
            spec: None,
            strict: false,
            fail_on: None,
            verbose: false,
            defects: Vec::new(),
            variants: Vec::new(),
            layout: Layout::SameOrigin,
            baseline: None,
            ca_cert: None,
            replicas: Vec::new(),
            replica_routes: Vec::new(),
            replica_route_header: None,
            shard: None,
            fleet: None,
            fleet_concurrency: 2,
            fleet_reports: PathBuf::from("reports/fleet"),
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    #[command(flatten)]
    pub filters: Filters,
}

/// `--spec`: a fixed revision, or `auto` (learn it from the target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecChoice {
    Auto,
    Fixed(Revision),
}

impl std::str::FromStr for SpecChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(SpecChoice::Auto);
        }
        s.parse().map(SpecChoice::Fixed)
    }
}

fn parse_tags(s: &str) -> Result<TagOperation, String> {
    s.parse::<TagOperation>()
        .map_err(|e| format!("not a tag expression: {e}"))
}

impl RunArgs {
    pub fn into_options(self) -> RunOptions {
        RunOptions {
            target: self.target,
            config: self.config,
            features: self.filters.features,
            tags: self.filters.tags,
            name: self.filters.name,
            junit: self.junit,
            json: Some(self.json),
            results: self.results,
            html: Some(self.html),
            summary: crate::report::markdown::Destinations::from_env(self.summary),
            concurrency: self.concurrency.map(usize::from),
            timeout: self.timeout,
            max_wait: self.max_wait,
            pace: self.pace,
            spec: match self.spec {
                Some(SpecChoice::Fixed(r)) => Some(r),
                Some(SpecChoice::Auto) | None => None,
            },
            strict: self.strict,
            fail_on: self.fail_on,
            verbose: self.verbose,
            defects: self.defects.into_iter().collect(),
            variants: self.variants.into_iter().collect(),
            rate_limit_window: None,
            layout: self.layout,
            baseline: self.baseline,
            ca_cert: self.ca_cert,
            replicas: crate::run::ReplicaOptions {
                urls: self.replicas,
                routes: self.replica_routes,
                route_header: self.replica_route_header,
            },
            quiet: false,
            shard: self.shard,
            transcripts: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_parses() {
        let c = Cli::try_parse_from(["x"]).expect("no arguments");
        assert!(c.command.is_none());
        let c = Cli::try_parse_from([
            "x",
            "run",
            "--target",
            "http://127.0.0.1:1/mcp",
            "-t",
            "@PKCE-06",
            "--concurrency",
            "4",
        ])
        .expect("run");
        let Some(Command::Run(r)) = c.command else {
            panic!("run")
        };
        assert_eq!(r.concurrency, Some(4));
        assert!(r.filters.tags.is_some());
        let c = Cli::try_parse_from(["x", "--target", "http://127.0.0.1:1/mcp"])
            .expect("top-level run options");
        assert_eq!(c.run.target.as_deref(), Some("http://127.0.0.1:1/mcp"));
        let c = Cli::try_parse_from(["x", "--spec", "auto"]).expect("auto");
        assert_eq!(c.run.spec, Some(SpecChoice::Auto));
        let c = Cli::try_parse_from(["x", "--spec", "2025-06-18"]).expect("a revision");
        assert_eq!(c.run.spec, Some(SpecChoice::Fixed(Revision::V2025_06_18)));
        let c = Cli::try_parse_from(["x", "--fail-on", "security"]).expect("--fail-on");
        assert_eq!(c.run.fail_on, Some(crate::report::FailOn::Security));
        assert_eq!(Cli::try_parse_from(["x"]).expect("none").run.fail_on, None);
        assert!(Cli::try_parse_from(["x", "list", "-n", "^PKCE"]).is_ok());
        let c = Cli::try_parse_from(["x", "selftest", "--defect", "code-reusable", "--jobs", "3"])
            .expect("selftest");
        let Some(Command::Selftest(s)) = c.command else {
            panic!("selftest")
        };
        assert_eq!(s.defects, vec![Defect::CodeReusable]);
        assert_eq!(s.jobs, Some(3));
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for bad in [
            vec!["x", "--concurrency", "0"],
            vec!["x", "--timeout", "abc"],
            vec!["x", "--spec", "2024-01-01"],
            vec!["x", "-t", "@a and and"],
            vec!["x", "--name", "("],
            vec!["x", "--no-such-flag"],
            vec!["x", "--fail-on", "hygiene"],
            vec!["x", "--defect", "no-such-defect"],
            vec!["x", "selftest", "--jobs", "0"],
        ] {
            let e = Cli::try_parse_from(&bad).expect_err("rejected");
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }
}
