//! The authorization server's instances a run tries spent codes and refresh tokens at: the
//! profile's `[replicas] urls`, then `--replica`, then (in an embedded run) the embedded
//! server's own. A bad one is a usage error that names where it came from.

use url::Url;

use super::error::RunError;
use crate::client::hosts::AllowedHosts;
use crate::client::replicas::Instance;
use crate::config::Profile;

/// The profile's instances, then the command line's, each once.
pub fn instances(profile: &Profile, cli: &[String]) -> Result<Vec<Instance>, RunError> {
    let from_profile = profile
        .replicas
        .urls
        .iter()
        .map(|u| Instance::parse("replicas.urls", u));
    let from_cli = cli.iter().map(|u| Instance::parse("--replica", u));
    let mut out: Vec<Instance> = Vec::new();
    for i in from_profile.chain(from_cli) {
        let i = i.map_err(RunError::Usage)?;
        if !out.contains(&i) {
            out.push(i);
        }
    }
    Ok(out)
}

/// The embedded reference server's instances (the origins it printed), as a profile would
/// list them.
pub fn embedded(origins: &[String]) -> Result<Vec<Instance>, RunError> {
    origins
        .iter()
        .map(|o| {
            Instance::parse("the embedded reference server's replicas", o)
                .map_err(RunError::Harness)
        })
        .collect()
}

/// The instances' hosts are contacted: the user named them. With a fixed `allowed_hosts` a host
/// it leaves out is a usage error, as the target's is.
pub fn allow(hosts: &AllowedHosts, instances: &[Instance]) -> Result<(), RunError> {
    for i in instances {
        let url: &Url = i.url();
        if !hosts.allow_named(url) {
            return Err(RunError::Usage(format!(
                "allowed_hosts does not include the host of the replica {i}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_adds_to_the_profile_and_a_bad_url_is_a_usage_error() {
        let p = Profile::parse("[replicas]\nurls = [\"https://as-1.internal\"]").expect("parses");
        let cli = [
            "https://as-2.internal".to_string(),
            "https://as-1.internal/".to_string(),
        ];
        let all = instances(&p, &cli).expect("valid");
        let origins: Vec<String> = all.iter().map(Instance::origin).collect();
        assert_eq!(origins, ["https://as-1.internal", "https://as-2.internal"]);
        let e = instances(&p, &["https://as-2.internal/token".to_string()]).expect_err("a path");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--replica: "), "{e}");
    }

    #[test]
    fn a_fixed_host_list_must_include_every_replica() {
        let target = Url::parse("https://mcp.example.com/mcp").expect("url");
        let i = |s: &str| Instance::parse("replicas.urls", s).expect("origin");
        // The default list takes the named replicas in.
        let learned = AllowedHosts::for_target(&target);
        allow(&learned, &[i("https://as-2.internal")]).expect("allowed");
        assert!(learned.allows(&Url::parse("https://as-2.internal/token").expect("url")));
        let fixed = AllowedHosts::fixed(vec![
            crate::client::hosts::HostPattern::parse("mcp.example.com").expect("pattern"),
        ]);
        let e = allow(&fixed, &[i("https://as-2.internal")]).expect_err("left out");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("as-2.internal"), "{e}");
    }
}
