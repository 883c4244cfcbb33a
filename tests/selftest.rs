//! The self-test: every reference-server defect is caught, the clean run passes, and a check
//! whose assertion is taken away is reported as unable to catch its defect.

use std::path::{Path, PathBuf};

use mcp_oauth_conformance::report::{ScenarioRecord, Verdict};
use mcp_oauth_conformance::selftest::{self, SelftestOptions};
use reference_server::{Defect, Variant};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mcp-oauth-conformance-selftest-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn options(defects: Vec<Defect>, features: Option<PathBuf>, reports: &Path) -> SelftestOptions {
    SelftestOptions {
        defects,
        variants: Vec::new(),
        features,
        spec: None,
        jobs: 32,
        reports: reports.to_path_buf(),
    }
}

/// The self-test of `defect` alone, whose run must have no collateral: the matrix (for
/// messages), the run's records, the requirements its failing scenarios violated (sorted) and
/// how many scenarios caught it.
struct OneDefect {
    matrix: String,
    records: Vec<ScenarioRecord>,
    failed: Vec<String>,
    catching: usize,
}

fn one_defect(defect: Defect) -> OneDefect {
    mcp_oauth_conformance::install_crypto_provider();
    mcp_oauth_conformance::run::install_step_fault_filter();
    let dir = scratch(defect.name());
    let result = selftest::run(&options(vec![defect], None, &dir)).expect("the self-test runs");
    let matrix = result.matrix();
    let run = result
        .defects
        .iter()
        .find(|d| d.defect == Some(defect))
        .expect("the defect's run");
    assert!(run.collateral().is_empty(), "{matrix}");
    let records = run.outcome.clone().expect("the run's records");
    let mut failed: Vec<String> = records
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .filter_map(|r| r.violated.clone())
        .collect();
    failed.sort_unstable();
    let catching = run.catching().len();
    OneDefect {
        matrix,
        records,
        failed,
        catching,
    }
}

#[test]
fn every_defect_is_caught_and_the_clean_run_passes() {
    mcp_oauth_conformance::install_crypto_provider();
    mcp_oauth_conformance::run::install_step_fault_filter();
    let dir = scratch("all");
    let result = selftest::run(&options(Vec::new(), None, &dir)).expect("the self-test runs");
    let matrix = result.matrix();
    assert!(result.clean_passed(), "{matrix}");
    assert_eq!(result.uncaught(), Vec::<Defect>::new(), "{matrix}");
    assert_eq!(result.uncovered, Vec::<String>::new(), "{matrix}");
    assert_eq!(result.never_failed, Vec::<String>::new(), "{matrix}");
    assert_eq!(result.never_warned, Vec::<String>::new(), "{matrix}");
    assert_eq!(
        result.unexplained_collateral(),
        Vec::<Defect>::new(),
        "{matrix}"
    );
    // Every variant, a behaviour the specifications allow, passes: no failure, no error.
    let variants = result.variant_matrix();
    assert_eq!(result.unclean_variants(), Vec::new(), "{variants}");
    assert_eq!(result.variants.len(), Variant::ALL.len(), "{variants}");
    assert!(result.passed());
    assert_eq!(result.exit_code(), 0);
    assert_eq!(result.defects.len(), Defect::ALL.len());
    for d in Defect::ALL {
        assert!(
            matrix.contains(&format!("| `{}` |", d.name())),
            "{d} is in the matrix"
        );
    }
    // Each run keeps its own reports.
    assert!(dir.join("clean/junit.xml").is_file());
    assert!(dir.join("pkce-verifier-unchecked/junit.xml").is_file());
}

/// Each instance of the authorization server with a store of its own (`store-per-instance`)
/// is found by the scenarios that try a spent code or refresh token at another instance, and
/// by nothing else: no scenario that talks to one endpoint fails.
#[test]
fn store_per_instance_fails_the_replica_scenarios_and_no_single_endpoint_one() {
    let run = one_defect(Defect::StorePerInstance);
    let matrix = &run.matrix;
    assert_eq!(
        run.failed,
        ["REPL-01", "REPL-02", "REPL-03", "REPL-04"],
        "{matrix}"
    );
    assert_eq!(run.catching, 5, "{matrix}");
    // REPL-06 needs the reuse refused at the other instances: served there, it is REPL-03's.
    let repl_06 = run
        .records
        .iter()
        .find(|r| r.ids.iter().any(|id| id == "REPL-06"))
        .expect("REPL-06 ran");
    assert_eq!(repl_06.verdict, Verdict::Skip, "{matrix}");
    assert!(
        repl_06
            .message
            .as_deref()
            .is_some_and(|m| m.contains("REPL-03's failure")),
        "{:?}",
        repl_06.message
    );
}

/// A reuse refused at every instance whose revocation stays at the instance that saw it
/// (`family-revocation-per-instance`) is found by REPL-06, and by nothing else.
#[test]
fn family_revocation_per_instance_fails_repl_06_and_nothing_else() {
    let run = one_defect(Defect::FamilyRevocationPerInstance);
    assert_eq!(run.failed, ["REPL-06"], "{}", run.matrix);
}

/// The rule "a check must be able to fail" is enforced: with the PKCE-06 assertion removed
/// from its scenario, the defect that only PKCE-06 catches goes uncaught and the self-test fails.
#[test]
fn removing_a_scenario_assertion_makes_the_selftest_fail() {
    mcp_oauth_conformance::install_crypto_provider();
    mcp_oauth_conformance::run::install_step_fault_filter();
    let dir = scratch("removed");
    let (intact_features, features) = (dir.join("intact-features"), dir.join("features"));
    std::fs::create_dir_all(&intact_features).expect("features dir");
    std::fs::create_dir_all(&features).expect("features dir");
    let pkce = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("features/pkce.feature"),
    )
    .expect("pkce.feature");
    // The PKCE-06 scenario's redemption, the only one with a different valid verifier here.
    let redeem = "    And the client redeems the code with code_verifier set to a different valid verifier\n";
    let assertion =
        format!("{redeem}    Then the token request is refused with \"invalid_grant\"\n");
    assert!(
        pkce.contains(&assertion),
        "the PKCE-06 assertion is where expected"
    );
    std::fs::write(intact_features.join("pkce.feature"), &pkce).expect("write");
    std::fs::write(
        features.join("pkce.feature"),
        pkce.replace(&assertion, redeem),
    )
    .expect("write");

    let intact = selftest::run(&options(
        vec![Defect::PkceVerifierUnchecked],
        Some(intact_features),
        &dir.join("intact"),
    ))
    .expect("runs");
    assert_eq!(
        intact.uncaught(),
        Vec::<Defect>::new(),
        "{}",
        intact.matrix()
    );

    let removed = selftest::run(&options(
        vec![Defect::PkceVerifierUnchecked],
        Some(features),
        &dir.join("removed"),
    ))
    .expect("runs");
    assert!(removed.clean_passed(), "{}", removed.matrix());
    assert_eq!(removed.uncaught(), vec![Defect::PkceVerifierUnchecked]);
    assert!(!removed.passed());
    assert_eq!(removed.exit_code(), 1);
    assert!(
        removed
            .matrix()
            .contains("| `pkce-verifier-unchecked` | PKCE-06 | **NO** |")
    );
}

#[test]
fn the_selftest_command_reports_a_bad_defect_name_as_a_usage_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-oauth-conformance"))
        .args(["selftest", "--defect", "no-such-defect"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown defect"), "{err}");
}

/// Instances that each hold to their lifetime only the codes they issued
/// (`code-expiry-per-instance`) are found by REPL-07, which waits out the embedded server's
/// half-second codes, and by nothing else: the scenarios that redeem their codes at once, or
/// replay redeemed ones at another instance, keep their verdicts.
#[test]
fn code_expiry_per_instance_fails_repl_07_and_nothing_else() {
    let run = one_defect(Defect::CodeExpiryPerInstance);
    assert_eq!(run.failed, ["REPL-07"], "{}", run.matrix);
    assert_eq!(run.catching, 1, "{}", run.matrix);
}
