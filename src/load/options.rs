//! The `load` command line, and the plan made of it: every usage error, and the refusal to
//! load a host outside loopback without consent, is found here, before anything is sent.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use url::Url;

use reference_server::{Defect, Layout};

use crate::cli::SpecChoice;
use crate::client::http::Limits;
use crate::client::login::Credentials;
use crate::client::login::is_loopback;
use crate::client::mcp::Revision;
use crate::client::registration::RegisteredClient;
use crate::config::{Profile, parse_http_url};
use crate::run::{RunError, TransportSettings};

/// The most flows one run may start.
pub const MAX_FLOWS: u64 = 10_000_000;
/// The longest a run may last, in seconds.
pub const MAX_DURATION_SECS: u64 = 3600;
/// Flows started when neither `--flows` nor `--duration` is given.
pub const DEFAULT_FLOWS: u64 = 1000;
/// Flows in flight at once (closed-loop workers, or the open model's cap).
pub const DEFAULT_CONCURRENCY: usize = 32;
/// The share of flows that also replay their code concurrently with its redemption.
pub const DEFAULT_REPLAY_SAMPLE: f64 = 0.1;

#[derive(Debug, Args, Clone)]
pub struct LoadArgs {
    /// The MCP server URL. Without it, the embedded reference server is started on a free
    /// loopback port and loaded.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// A TOML target profile: login, client, allowed hosts, limits, and `[load] allowed`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How many flows to start (default 1000 when --duration is not given either).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_FLOWS))]
    pub flows: Option<u64>,
    /// Start flows for this many seconds, then let the running ones finish.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_DURATION_SECS))]
    pub duration: Option<u64>,
    /// Flows in flight at once: closed-loop workers, or with --rate the most in flight (an
    /// arrival finding them all busy is dropped and counted).
    #[arg(long, value_name = "C", value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub concurrency: Option<u16>,
    /// Start flows at this rate, whether earlier ones have finished or not (an open model),
    /// instead of closed-loop workers.
    #[arg(long, value_name = "PER_SEC", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Register a client for every flow instead of once per worker.
    #[arg(long)]
    pub register_each: bool,
    /// The share of flows (0 to 1) that replay their code concurrently with its redemption
    /// (CODE-02 under load).
    #[arg(long, value_name = "FRACTION", default_value_t = DEFAULT_REPLAY_SAMPLE, value_parser = parse_fraction)]
    pub replay_sample: f64,
    /// Write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Load a host outside loopback (otherwise the plan is printed and the run refused).
    #[arg(long)]
    pub yes: bool,
    /// Per-request timeout in seconds (default 10).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: Option<u64>,
    /// The MCP revision to speak: auto (default: learned from the target after one
    /// authorization), 2025-03-26, 2025-06-18, 2025-11-25 or 2026-07-28.
    #[arg(long, value_name = "REVISION|auto")]
    pub spec: Option<SpecChoice>,
    /// Start the embedded reference server with this defect (repeatable; not with --target).
    #[arg(long = "defect", value_name = "NAME")]
    pub defects: Vec<Defect>,
    /// The layout of the embedded reference server (not with --target).
    #[arg(long, value_enum, value_name = "LAYOUT", default_value_t = Layout::SameOrigin)]
    pub layout: Layout,
    /// A PEM file of CA certificates to trust besides the system's.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .trim_end_matches("/s")
        .parse()
        .map_err(|_| format!("{s:?} is not a rate (flows per second)"))?;
    if !(r.is_finite() && (0.1..=100_000.0).contains(&r)) {
        return Err("the rate must be between 0.1 and 100000 flows per second".into());
    }
    Ok(r)
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    let f: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a fraction between 0 and 1"))?;
    if !(0.0..=1.0).contains(&f) {
        return Err(format!("{s} is not between 0 and 1"));
    }
    Ok(f)
}

/// How flows arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// `workers` flows in flight, each followed at once by the next.
    Closed { workers: usize },
    /// `rate` flows started per second, at most `max_in_flight` at once.
    Open { rate: f64, max_in_flight: usize },
}

/// When the run stops starting flows. At least one limit is always set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub flows: Option<u64>,
    pub duration: Option<Duration>,
}

/// What is loaded.
#[derive(Debug, Clone)]
pub enum LoadTarget {
    Given(Url),
    Embedded {
        defects: reference_server::Defects,
        layout: Layout,
    },
}

/// A load run, checked and ready to start.
#[derive(Debug)]
pub struct LoadPlan {
    pub target: LoadTarget,
    pub bounds: Bounds,
    pub arrival: Arrival,
    pub register_each: bool,
    pub replay_sample: f64,
    pub out: Option<PathBuf>,
    /// `None`: learned from the target (`--spec auto`).
    pub revision: Option<Revision>,
    pub transport: TransportSettings,
    pub profile: Profile,
    pub credentials: Credentials,
    pub redirect_uri: Url,
    /// The profile's pre-registered client: used by every flow, none registered.
    pub client: Option<RegisteredClient>,
    /// The per-request timeout.
    pub timeout: Duration,
    /// Loading a host outside loopback was agreed to (`--yes` or `[load] allowed`).
    pub consent: bool,
}

impl LoadPlan {
    /// Reads the profile and checks every option. Sends nothing.
    pub fn new(args: LoadArgs) -> Result<LoadPlan, RunError> {
        let usage = RunError::Usage;
        let profile = match &args.config {
            Some(p) => Profile::load(p).map_err(|e| usage(e.to_string()))?,
            None => Profile::default(),
        };
        let target = match args.target.as_ref().or(profile.target.as_ref()) {
            Some(_) if !args.defects.is_empty() => {
                return Err(usage(
                    "--defect applies to the embedded reference server: leave out --target".into(),
                ));
            }
            Some(_) if args.layout != Layout::default() => {
                return Err(usage(
                    "--layout applies to the embedded reference server: leave out --target".into(),
                ));
            }
            Some(t) => LoadTarget::Given(parse_http_url("--target", t).map_err(usage)?),
            None => LoadTarget::Embedded {
                defects: args.defects.iter().copied().collect(),
                layout: args.layout,
            },
        };
        let redirect_uri =
            parse_http_url("client.redirect_uri", &profile.client.redirect_uri).map_err(usage)?;
        let client = profile
            .client
            .pre_registered()
            .map_err(usage)?
            .map(|c| RegisteredClient {
                client_id: c.client_id,
                client_secret: c.client_secret,
                redirect_uri: redirect_uri.clone(),
                token_endpoint_auth_method: c.token_endpoint_auth_method,
                application_type: None,
            });
        if client.is_some() && matches!(target, LoadTarget::Embedded { .. }) {
            return Err(usage(
                "[client] client_id names a client registered at your target: give --target (or `target` in the profile)".into(),
            ));
        }
        if client.is_some() && args.register_each {
            return Err(usage(
                "--register-each registers clients, but the profile names a pre-registered one"
                    .into(),
            ));
        }
        let revision = match (args.spec, profile.revision.as_deref()) {
            (Some(SpecChoice::Fixed(r)), _) => Some(r),
            (Some(SpecChoice::Auto), _) | (None, None | Some("auto")) => None,
            (None, Some(r)) => Some(r.parse().map_err(usage)?),
        };
        let timeout = Duration::from_secs(args.timeout.unwrap_or(profile.limits.timeout_secs));
        let limits = Limits {
            timeout,
            max_body_bytes: profile.limits.max_body_bytes,
            max_redirects: profile.limits.max_redirects,
        };
        let transport =
            TransportSettings::from_profile(&profile, args.ca_cert.as_deref(), limits, false)?;
        let embedded = matches!(target, LoadTarget::Embedded { .. });
        let credentials =
            Credentials::of(&profile.login, embedded, &transport.secrets).map_err(usage)?;
        if let Some(secret) = client.as_ref().and_then(|c| c.client_secret.as_ref()) {
            transport.secrets.remember_configured(secret.expose());
        }
        let bounds = Bounds {
            flows: match (args.flows, args.duration) {
                (None, None) => Some(DEFAULT_FLOWS),
                (f, _) => f,
            },
            duration: args.duration.map(Duration::from_secs),
        };
        let concurrency = args.concurrency.map_or(DEFAULT_CONCURRENCY, usize::from);
        let arrival = match args.rate {
            Some(rate) => Arrival::Open {
                rate,
                max_in_flight: concurrency,
            },
            None => Arrival::Closed {
                workers: concurrency,
            },
        };
        if let Some(out) = &args.out {
            crate::run::plan::check_writable(out)?;
        }
        Ok(LoadPlan {
            target,
            bounds,
            arrival,
            register_each: args.register_each,
            replay_sample: args.replay_sample,
            out: args.out,
            revision,
            transport,
            consent: args.yes || profile.load.allowed,
            profile,
            credentials,
            redirect_uri,
            client,
            timeout,
        })
    }

    /// The plan in one line, printed before every run.
    pub fn describe(&self) -> String {
        let target = match &self.target {
            LoadTarget::Given(u) => u.to_string(),
            LoadTarget::Embedded { .. } => "the embedded reference server".into(),
        };
        format!(
            "Load plan: {}, {}, against {target}",
            self.bounds, self.arrival
        )
    }

    /// A host outside loopback is loaded only with consent (`--yes`, `[load] allowed`).
    pub fn guard(&self) -> Result<(), RunError> {
        match &self.target {
            LoadTarget::Given(url) => guard_host(url, self.consent),
            LoadTarget::Embedded { .. } => Ok(()),
        }
    }
}

/// Refuses a URL outside loopback unless the user agreed to load it.
pub fn guard_host(url: &Url, consent: bool) -> Result<(), RunError> {
    if consent || is_loopback(url) {
        return Ok(());
    }
    Err(RunError::Usage(format!(
        "refusing to load {}, which is not a loopback host: a load run sends many complete logins, registrations and token requests. If this server is yours to load, add --yes, or `[load] allowed = true` to the profile",
        url.host_str().unwrap_or("(no host)")
    )))
}

impl fmt::Display for Bounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.flows, self.duration) {
            (Some(n), Some(d)) => write!(f, "{n} flows or {} s, whichever ends first", d.as_secs()),
            (Some(n), None) => write!(f, "{n} flows"),
            (None, Some(d)) => write!(f, "flows for {} s", d.as_secs()),
            (None, None) => write!(f, "no limit"),
        }
    }
}

impl fmt::Display for Arrival {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arrival::Closed { workers } => write!(f, "{workers} closed-loop workers"),
            Arrival::Open {
                rate,
                max_in_flight,
            } => write!(
                f,
                "{rate} flows/s arriving, at most {max_in_flight} in flight"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        load: LoadArgs,
    }

    fn plan(args: &[&str]) -> Result<LoadPlan, RunError> {
        let cmd = Cmd::try_parse_from(std::iter::once("load").chain(args.iter().copied()))
            .map_err(|e| RunError::Usage(e.to_string()))?;
        LoadPlan::new(cmd.load)
    }

    fn usage_error(args: &[&str]) -> String {
        match plan(args) {
            Err(RunError::Usage(m)) => m,
            Err(RunError::Harness(m)) => panic!("a harness error: {m}"),
            Ok(_) => panic!("planned: {args:?}"),
        }
    }

    #[test]
    fn the_defaults_are_bounded() {
        let p = plan(&[]).expect("planned");
        assert_eq!(p.bounds.flows, Some(DEFAULT_FLOWS));
        assert_eq!(p.bounds.duration, None);
        assert_eq!(p.arrival, Arrival::Closed { workers: 32 });
        let p = plan(&["--duration", "5"]).expect("planned");
        assert_eq!(p.bounds.flows, None);
        assert_eq!(p.bounds.duration, Some(Duration::from_secs(5)));
        let p = plan(&["--rate", "200/s", "--concurrency", "8"]).expect("planned");
        assert_eq!(
            p.arrival,
            Arrival::Open {
                rate: 200.0,
                max_in_flight: 8
            }
        );
        assert!(p.describe().contains("1000 flows"), "{}", p.describe());
    }

    #[test]
    fn bad_options_are_usage_errors() {
        for (args, needle) in [
            (vec!["--flows", "0"], "flows"),
            (vec!["--duration", "3601"], "duration"),
            (vec!["--rate", "0"], "rate"),
            (vec!["--replay-sample", "1.5"], "between 0 and 1"),
            (
                vec![
                    "--target",
                    "http://127.0.0.1:9/mcp",
                    "--defect",
                    "code-reusable",
                ],
                "--defect applies",
            ),
            (vec!["--target", "ftp://127.0.0.1/mcp"], "--target"),
        ] {
            let m = usage_error(&args);
            assert!(m.contains(needle), "{args:?}: {m}");
        }
    }

    #[test]
    fn a_host_outside_loopback_needs_consent() {
        let p = plan(&["--target", "https://mcp.example.com/mcp"]).expect("planned");
        let Err(RunError::Usage(m)) = p.guard() else {
            panic!("refused")
        };
        assert!(m.contains("mcp.example.com") && m.contains("--yes"), "{m}");
        let p = plan(&["--target", "https://mcp.example.com/mcp", "--yes"]).expect("planned");
        assert!(p.guard().is_ok());
        let p = plan(&["--target", "http://127.0.0.1:9/mcp"]).expect("planned");
        assert!(p.guard().is_ok());
        let p = plan(&["--target", "http://localhost:9/mcp"]).expect("planned");
        assert!(p.guard().is_ok());
    }

    #[test]
    fn a_profile_may_allow_loading_its_target() {
        let dir = std::env::temp_dir().join(format!("load-options-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        let profile = dir.join("profile.toml");
        let write = |text: &str| std::fs::write(&profile, text).expect("write the profile");
        let path = profile.to_string_lossy().to_string();
        write("target = \"https://mcp.example.com/mcp\"\n[load]\nallowed = true\n");
        let p = plan(&["--config", &path]).expect("planned");
        assert!(p.guard().is_ok());
        write("target = \"https://mcp.example.com/mcp\"\n[load]\nallowed = false\n");
        assert!(
            plan(&["--config", &path])
                .expect("planned")
                .guard()
                .is_err()
        );
        // The table refuses what it does not know, like the rest of the profile.
        write("[load]\nallow = true\n");
        let m = usage_error(&["--config", &path]);
        assert!(m.contains("unknown field") && m.contains("allow"), "{m}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
