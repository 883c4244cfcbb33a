//! Replicas reached only through one load balancer: the reference server's first listener
//! routes a request with `X-Instance: i` to its instance `i` (`--route-header`), and the
//! runner names the instances by that header (`[replicas] route_header` and `routes`, or
//! `--replica-route-header` and `--replica-route`). The whole suite passes, the replica
//! scenarios included; with the `store-per-instance` defect the replica scenarios fail
//! (REPL-05 warns) and nothing else does.

mod common;

use std::time::Duration;

use common::{Run, Server, repo_file, runner, scratch};

/// The replica scenarios' names.
const REPLICA_SCENARIOS: [&str; 5] = ["REPL-01 ", "REPL-02 ", "REPL-03 ", "REPL-04 ", "REPL-05 "];

/// A reference server with two further instances, reached by `X-Instance` on its listener.
fn routed_server(extra: &[&str]) -> Server {
    let mut args = vec![
        "--port",
        "0",
        "--replicas",
        "2",
        "--route-header",
        "X-Instance",
        "--access-token-ttl",
        "10",
        "--allow-loopback-http-client-ids",
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// The whole suite against `server`, with the profile `profile` and `extra` flags.
fn suite(dir: &std::path::Path, server: &Server, profile: &std::path::Path, extra: &[&str]) -> Run {
    let mcp = server.url("mcp");
    let mut args = vec![
        "run",
        "--target",
        &mcp,
        "--config",
        profile.to_str().expect("utf-8 path"),
        "--spec",
        "2025-11-25",
    ];
    args.extend_from_slice(extra);
    runner(dir, &args, Duration::from_secs(300))
}

#[test]
fn instances_reached_by_a_routing_header_pass_the_suite_as_one_server() {
    let server = routed_server(&[]);
    let dir = scratch("replica-routes");
    // The profile names the routes: the reference server's profile and a [replicas] table.
    let base = std::fs::read_to_string(repo_file("fixtures/targets/reference-server.toml"))
        .expect("the reference server's profile");
    let profile = dir.join("routes.toml");
    std::fs::write(
        &profile,
        format!("{base}\n[replicas]\nroute_header = \"X-Instance\"\nroutes = [\"1\", \"2\"]\n"),
    )
    .expect("write the profile");
    let run = suite(&dir, &server, &profile, &[]);
    assert_eq!(run.code, Some(0), "{}", run.text);
    assert!(run.clean(), "{}", run.junit);
    // REPL-06 runs too; REPL-07 skips, as the profile states no code lifetime.
    for name in REPLICA_SCENARIOS.iter().chain(&["REPL-06 "]) {
        let cases = run.testcases(name);
        assert!(!cases.is_empty(), "{name}is in the report");
        assert!(
            cases.iter().all(|c| !c.contains("<skipped")),
            "{name}ran: {cases:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Instances that each keep what they spent, reached through the one listener: the replica
/// scenarios fail (REPL-05 warns), naming the instance by its header, with the header in the
/// transcript; every other scenario keeps its verdict.
#[test]
fn instances_reached_by_a_routing_header_that_each_keep_what_they_spent_fail_only_the_replica_scenarios()
 {
    let server = routed_server(&["--defect", "store-per-instance"]);
    let dir = scratch("replica-routes-defect");
    // The command line names the routes.
    let run = suite(
        &dir,
        &server,
        &repo_file("fixtures/targets/reference-server.toml"),
        &[
            "--replica-route-header",
            "X-Instance",
            "--replica-route",
            "1",
            "--replica-route",
            "2",
        ],
    );
    assert_eq!(run.code, Some(1), "{}", run.text);
    for name in REPLICA_SCENARIOS {
        let verdict = if name == "REPL-05 " { "WARN" } else { "FAIL" };
        run.assert_verdict(name, verdict);
    }
    let repl01 = run.testcases("REPL-01 ").join("\n");
    assert!(
        repl01.contains("at the instance X-Instance: 1: tokens were issued"),
        "{repl01}"
    );
    assert!(
        repl01.to_ascii_lowercase().contains("x-instance: 2"),
        "the transcript shows the routing header: {repl01}"
    );
    let others = run.failing_except(&REPLICA_SCENARIOS);
    assert!(
        others.is_empty(),
        "only the replica scenarios fail: {others:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A routing header that would not reach an instance, or would leak a credential, is a usage
/// error that names the setting, before any request.
#[test]
fn a_bad_route_is_a_usage_error_that_names_the_setting() {
    let dir = scratch("replica-routes-usage");
    for (flags, says) in [
        (
            vec!["--replica-route", "1"],
            "--replica-route needs the header",
        ),
        (
            vec!["--replica-route-header", "Host", "--replica-route", "1"],
            "--replica-route-header: \"Host\" cannot route",
        ),
        (
            vec!["--replica-route-header", "Cookie", "--replica-route", "1"],
            "carries a credential",
        ),
        (
            vec![
                "--replica-route-header",
                "X Instance",
                "--replica-route",
                "1",
            ],
            "is not a header name",
        ),
    ] {
        let mut args = vec!["run", "--target", "http://127.0.0.1:9/mcp"];
        args.extend(flags);
        let run = runner(&dir, &args, Duration::from_secs(60));
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.text);
        assert!(run.text.contains(says), "{args:?}: {}", run.text);
    }
    let profile = dir.join("bad.toml");
    std::fs::write(
        &profile,
        "[replicas]\nroute_header = \"Authorization\"\nroutes = [\"a\"]\n",
    )
    .expect("write");
    let args = ["run", "--config", profile.to_str().expect("utf-8 path")];
    let run = runner(&dir, &args, Duration::from_secs(60));
    assert_eq!(run.code, Some(2), "{}", run.text);
    assert!(
        run.text.contains(
            "replicas.route_header: \"Authorization\" looks like a header that carries a credential"
        ),
        "{}",
        run.text
    );
    let _ = std::fs::remove_dir_all(&dir);
}
