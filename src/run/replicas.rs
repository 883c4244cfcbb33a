//! The authorization server's instances a run tries spent codes and refresh tokens at: the
//! profile's `[replicas] urls`, then `--replica`, then (in an embedded run) the embedded
//! server's own. A bad one is a usage error that names where it came from.

use super::error::RunError;
use crate::client::hosts::AllowedHosts;
use crate::client::replicas::{Instance, route_header};
use crate::config::Profile;

/// The instances the command line names besides the profile's: `--replica URL`,
/// `--replica-route VALUE` and `--replica-route-header NAME`.
#[derive(Debug, Clone, Default)]
pub struct ReplicaOptions {
    pub urls: Vec<String>,
    pub routes: Vec<String>,
    pub route_header: Option<String>,
}

/// The profile's instances, then the command line's, each once: origins first, then routes.
/// `--replica-route-header` wins over the profile's `route_header`, for the routes of both.
pub fn instances(profile: &Profile, cli: &ReplicaOptions) -> Result<Vec<Instance>, RunError> {
    let from_profile = profile
        .replicas
        .urls
        .iter()
        .map(|u| Instance::parse("replicas.urls", u));
    let from_cli = cli.urls.iter().map(|u| Instance::parse("--replica", u));
    let mut all: Vec<Result<Instance, String>> = from_profile.chain(from_cli).collect();
    let header = match (&cli.route_header, &profile.replicas.route_header) {
        (Some(h), _) => Some((h.as_str(), "--replica-route-header")),
        (None, Some(h)) => Some((h.as_str(), "replicas.route_header")),
        (None, None) => None,
    };
    let routes = profile
        .replicas
        .routes
        .iter()
        .map(|r| ("replicas.routes", r))
        .chain(cli.routes.iter().map(|r| ("--replica-route", r)));
    match header {
        Some((h, field)) => {
            route_header(field, h).map_err(RunError::Usage)?;
            let before = all.len();
            all.extend(routes.map(|(field, r)| Instance::route(h, field, r)));
            if all.len() == before {
                return Err(RunError::Usage(format!(
                    "{field} {h:?} names no instance: give the values that reach them as [replicas] routes or --replica-route"
                )));
            }
        }
        None => {
            if let Some((field, _)) = routes.into_iter().next() {
                return Err(RunError::Usage(format!(
                    "{field} needs the header its values are for: [replicas] route_header or --replica-route-header"
                )));
            }
        }
    }
    let mut out: Vec<Instance> = Vec::new();
    for i in all {
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
    // A route goes where the AS metadata says, whose hosts discovery allows.
    for i in instances {
        let Some(url) = i.url() else {
            continue;
        };
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
    use url::Url;

    #[test]
    fn routes_join_the_origins_under_one_header_and_a_mistake_names_its_setting() {
        let p = Profile::parse(
            "[replicas]\nurls = [\"https://as-1.internal\"]\nroute_header = \"X-Instance\"\nroutes = [\"a\", \"b\"]",
        )
        .expect("parses");
        let cli_routes = vec!["b".to_string(), "c".to_string()];
        let names = |all: Vec<Instance>| all.iter().map(Instance::name).collect::<Vec<_>>();
        let all = instances(
            &p,
            &ReplicaOptions {
                routes: cli_routes.clone(),
                ..Default::default()
            },
        )
        .expect("valid");
        assert_eq!(
            names(all),
            [
                "https://as-1.internal",
                "X-Instance: a",
                "X-Instance: b",
                "X-Instance: c"
            ]
        );
        // The command line's header wins, for the profile's routes too.
        let all = instances(
            &p,
            &ReplicaOptions {
                route_header: Some("X-Backend".into()),
                ..Default::default()
            },
        )
        .expect("valid");
        assert_eq!(names(all)[1], "X-Backend: a");
        let none = Profile::parse("").expect("parses");
        for (flags, needle) in [
            (
                ReplicaOptions {
                    routes: cli_routes.clone(),
                    ..Default::default()
                },
                "--replica-route needs the header",
            ),
            (
                ReplicaOptions {
                    route_header: Some("X-Instance".into()),
                    ..Default::default()
                },
                "--replica-route-header \"X-Instance\" names no instance",
            ),
            (
                ReplicaOptions {
                    routes: cli_routes.clone(),
                    route_header: Some("Cookie".into()),
                    ..Default::default()
                },
                "--replica-route-header: \"Cookie\" looks like a header that carries a credential",
            ),
            (
                ReplicaOptions {
                    routes: vec!["a\u{7}".to_string()],
                    route_header: Some("X-Instance".into()),
                    ..Default::default()
                },
                "--replica-route: \"a\\u{7}\" is not a valid header value",
            ),
        ] {
            let e = instances(&none, &flags).expect_err(needle);
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(needle), "{e}");
        }
        let routes_only = Profile::parse("[replicas]\nroutes = [\"a\"]").expect("parses");
        let e = instances(&routes_only, &ReplicaOptions::default()).expect_err("no header");
        assert!(
            e.to_string().contains("replicas.routes needs the header"),
            "{e}"
        );
    }

    #[test]
    fn the_command_line_adds_to_the_profile_and_a_bad_url_is_a_usage_error() {
        let p = Profile::parse("[replicas]\nurls = [\"https://as-1.internal\"]").expect("parses");
        let cli = [
            "https://as-2.internal".to_string(),
            "https://as-1.internal/".to_string(),
        ];
        let flags = |urls: &[String]| ReplicaOptions {
            urls: urls.to_vec(),
            ..Default::default()
        };
        let all = instances(&p, &flags(&cli)).expect("valid");
        let origins: Vec<String> = all.iter().map(Instance::origin).collect();
        assert_eq!(origins, ["https://as-1.internal", "https://as-2.internal"]);
        let e = instances(&p, &flags(&["https://as-2.internal/token".to_string()]))
            .expect_err("a path");
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
