//! The run's transport: the hosts it may contact, the CA certificates it trusts, its limits.
//! Read from the profile and the command line when the run is planned; built into an HTTP
//! client once the target's URL is known.

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::error::RunError;
use crate::client::hosts::{AllowedHosts, HostPattern};
use crate::client::http::{Http, HttpOptions, Limits};
use crate::client::ratelimit::{DEFAULT_MAX_WAIT, Pace};
use crate::client::redact::Redactor;
use crate::config::Profile;

/// Which scenarios' exchanges a run's reports carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Transcripts {
    /// Every scenario's.
    #[default]
    Every,
    /// Only those of the scenarios that did not pass (the self-test's defect and variant runs,
    /// whose reports are read for what caught a defect or what a variant changed). The
    /// exchanges are kept raw and redacted only for those scenarios; a passed scenario's
    /// secrets are learned all the same, so every output is scrubbed of them.
    UnlessPassed,
}

/// How the run's HTTP client is to be built.
#[derive(Debug, Clone)]
pub struct TransportSettings {
    pub limits: Limits,
    /// Log every exchange (redacted).
    pub verbose: bool,
    /// The profile's `allowed_hosts`; without it, the target's host (and the hosts discovery
    /// learns).
    allowed_hosts: Option<Vec<HostPattern>>,
    /// Extra CA certificates (PEM), and the file they were read from.
    ca_cert: Option<(PathBuf, Vec<u8>)>,
    /// The longest one scenario waits for rate limits, all its waits together.
    pub max_wait: Duration,
    /// At most so many request starts per endpoint and period (`--pace`).
    pub pace: Option<Pace>,
    /// The run's secrets, which the transport learns more of (a fresh set unless the plan
    /// gives its own).
    pub secrets: Redactor,
    pub transcripts: Transcripts,
}

impl TransportSettings {
    /// The profile's allowed hosts and extra CA certificates (`--ca-cert` wins over the
    /// profile's `[tls] ca_cert`). A mistake in either is a usage error.
    pub fn from_profile(
        profile: &Profile,
        ca_cert: Option<&Path>,
        limits: Limits,
        verbose: bool,
    ) -> Result<TransportSettings, RunError> {
        let allowed_hosts = match &profile.allowed_hosts {
            Some(list) => Some(
                list.iter()
                    .map(|h| HostPattern::parse(h))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| RunError::Usage(format!("allowed_hosts: {e}")))?,
            ),
            None => None,
        };
        let ca_cert = match ca_cert.or(profile.tls.ca_cert.as_deref()) {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    RunError::Usage(format!(
                        "cannot read the CA certificate {}: {e}",
                        path.display()
                    ))
                })?;
                Some((path.to_path_buf(), pem))
            }
            None => None,
        };
        Ok(TransportSettings {
            limits,
            verbose,
            allowed_hosts,
            ca_cert,
            max_wait: DEFAULT_MAX_WAIT,
            pace: None,
            secrets: Redactor::new(),
            transcripts: Transcripts::Every,
        })
    }

    /// The HTTP client for a run against `target`.
    pub fn build(&self, target: &Url) -> Result<Http, RunError> {
        let hosts = match &self.allowed_hosts {
            Some(patterns) => {
                let hosts = AllowedHosts::fixed(patterns.clone());
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
        Http::with_options(HttpOptions {
            limits: self.limits.clone(),
            verbose: self.verbose,
            ca_cert_pem: self.ca_cert.as_ref().map(|(_, pem)| pem.clone()),
            hosts,
            max_wait: self.max_wait,
            pace: self.pace,
        })
        .map(|http| {
            let http = http.with_secrets(self.secrets.clone());
            match self.transcripts {
                Transcripts::Every => http,
                Transcripts::UnlessPassed => http.deferring_transcripts(),
            }
        })
        .map_err(|e| match &self.ca_cert {
            Some((path, _)) => RunError::Usage(format!("{}: {e}", path.display())),
            None => RunError::Usage(e.to_string()),
        })
    }
}

/// The transport for `target` in one step (the `login` subcommand's).
pub fn transport(
    profile: &Profile,
    ca_cert: Option<&Path>,
    limits: Limits,
    verbose: bool,
    target: &Url,
) -> Result<Http, RunError> {
    TransportSettings::from_profile(profile, ca_cert, limits, verbose)?.build(target)
}
