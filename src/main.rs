//! `mcp-oauth-conformance`: the conformance runner.

use std::process::ExitCode;

use clap::Parser;
use mcp_oauth_conformance::cli::{Cli, Command};
use mcp_oauth_conformance::{features, install_crypto_provider, run};

/// Runs and load flows allocate and free small buffers at a high rate (requests, transcripts,
/// JSON); this allocator spends a fraction of the C library's time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // The reference server sets up its own logging and runtime.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "reference-server") {
        return reference_server::cli::main(
            std::iter::once("mcp-oauth-conformance reference-server".into())
                .chain(args.into_iter().skip(2)),
        );
    }
    // Step faults are reported by the records; the panic hook stays quiet about them only.
    mcp_oauth_conformance::run::install_step_fault_filter();
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    let verbose = matches!(&cli.command, Some(Command::Run(r)) if r.verbose) || cli.run.verbose;
    let filter = if verbose {
        "warn,reference_server=error,rustls_platform_verifier=off,rate_limit=info,exchange=info"
    } else {
        "warn,reference_server=error,rustls_platform_verifier=off,rate_limit=info"
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .init();
    install_crypto_provider();

    match cli.command {
        Some(Command::List(args)) => list(args),
        Some(Command::Run(args)) => run_suite(args),
        Some(Command::Selftest(args)) => selftest(args),
        Some(Command::Coverage(args)) => coverage(args),
        Some(Command::Login(args)) => login(args),
        Some(Command::Load(args)) => block_on(mcp_oauth_conformance::load::main(args)),
        Some(Command::MergeReports(args)) => {
            let merged = match &args.fleet {
                Some(file) => mcp_oauth_conformance::fleet::merge(
                    file,
                    &args.fleet_reports,
                    args.summary.clone(),
                ),
                None => mcp_oauth_conformance::report::merge::main(&args),
            };
            match merged {
                Ok(code) => ExitCode::from(code),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        // Handled before parsing; kept so that --help lists it.
        Some(Command::ReferenceServer { .. }) => ExitCode::from(2),
        None => run_suite(cli.run),
    }
}

/// Runs a subcommand on a multi-threaded runtime; one that cannot start is exit 3.
fn block_on(command: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(command),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(3)
        }
    }
}

fn run_suite(args: mcp_oauth_conformance::cli::RunArgs) -> ExitCode {
    if let Some(file) = args.fleet.clone() {
        return match mcp_oauth_conformance::fleet::run(&args, &file) {
            Ok(result) => ExitCode::from(result.exit_code),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(e.exit_code())
            }
        };
    }
    block_on(async move {
        match run::run(args.into_options()).await {
            Ok(result) => ExitCode::from(result.exit_code),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(e.exit_code())
            }
        }
    })
}

fn list(args: mcp_oauth_conformance::cli::ListArgs) -> ExitCode {
    let opts = mcp_oauth_conformance::cli::RunArgs {
        filters: args.filters,
        ..Default::default()
    }
    .into_options();
    let features = match run::load_features(&opts) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    for (f, s) in features::scenarios(&features) {
        let level = features::severity(s).map_or("?", |l| l.tag());
        mcp_oauth_conformance::out!(
            "{:<22} {:<6} {:<17} {}",
            features::ids(s).join(","),
            level.to_uppercase(),
            features::area(f),
            s.name
        );
    }
    ExitCode::SUCCESS
}

fn selftest(args: mcp_oauth_conformance::cli::SelftestArgs) -> ExitCode {
    use mcp_oauth_conformance::selftest::{self, SelftestOptions};
    if args.list_defects {
        mcp_oauth_conformance::out!("{}", reference_server::defects::table().trim_end());
        return ExitCode::SUCCESS;
    }
    if args.list_variants {
        mcp_oauth_conformance::out!("{}", reference_server::variants::table().trim_end());
        return ExitCode::SUCCESS;
    }
    let opts = SelftestOptions {
        defects: args.defects,
        variants: args.variants,
        features: args.features,
        spec: args.spec,
        // A run waits a second or two (RS-06's token, TOK-10's throttle, the variants' rate
        // limits) for a fifth of a second of CPU: twenty at once keep two cores busy, and
        // each holds a server and its records (about 18 MB). An unoptimised build spends more
        // CPU per run, so it runs fewer at once.
        jobs: args
            .jobs
            .map_or(if cfg!(debug_assertions) { 12 } else { 20 }, usize::from),
        reports: args.reports,
    };
    let (defects, variants) = if opts.defects.is_empty() && opts.variants.is_empty() {
        (
            reference_server::Defect::ALL.len(),
            reference_server::Variant::ALL.len(),
        )
    } else {
        (opts.defects.len(), opts.variants.len())
    };
    eprintln!(
        "Self-test: the suite against the embedded reference server, clean, with each of {defects} defects and with each of {variants} variants ({} at a time)",
        opts.jobs
    );
    let result = match selftest::run(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    let matrix = result.matrix();
    if let Some(dir) = args.matrix.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    if let Err(e) = std::fs::write(&args.matrix, &matrix) {
        eprintln!("error: cannot write {}: {e}", args.matrix.display());
        return ExitCode::from(2);
    }
    mcp_oauth_conformance::out!("{matrix}");
    mcp_oauth_conformance::out!("Defect matrix: {}", args.matrix.display());
    if !result.variants.is_empty() {
        let variant_matrix = result.variant_matrix();
        if let Some(dir) = args
            .variant_matrix
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            eprintln!("error: cannot create {}: {e}", dir.display());
            return ExitCode::from(2);
        }
        if let Err(e) = std::fs::write(&args.variant_matrix, &variant_matrix) {
            eprintln!("error: cannot write {}: {e}", args.variant_matrix.display());
            return ExitCode::from(2);
        }
        mcp_oauth_conformance::out!("{variant_matrix}");
        mcp_oauth_conformance::out!("Variant matrix: {}", args.variant_matrix.display());
    }
    let unclean = result.unclean_variants();
    if !unclean.is_empty() {
        let names: Vec<&str> = unclean.iter().map(|v| v.name()).collect();
        mcp_oauth_conformance::out!(
            "SELF-TEST FAILED: variants the suite did not pass cleanly (false verdicts): {}",
            names.join(", ")
        );
    }
    let uncaught = result.uncaught();
    if !result.clean_passed() {
        mcp_oauth_conformance::out!("SELF-TEST FAILED: the clean run did not pass");
    }
    if !uncaught.is_empty() {
        let names: Vec<&str> = uncaught.iter().map(|d| d.name()).collect();
        mcp_oauth_conformance::out!("SELF-TEST FAILED: not caught: {}", names.join(", "));
    }
    if !result.uncovered.is_empty() {
        mcp_oauth_conformance::out!(
            "SELF-TEST FAILED: MUST scenarios without a defect: {}",
            result.uncovered.join("; ")
        );
    }
    if !result.never_failed.is_empty() {
        mcp_oauth_conformance::out!(
            "SELF-TEST FAILED: MUST scenarios no defect made fail: {}",
            result.never_failed.join("; ")
        );
    }
    if !result.never_warned.is_empty() {
        mcp_oauth_conformance::out!(
            "SELF-TEST FAILED: SHOULD and info scenarios no defect made warn or report info: {}",
            result.never_warned.join("; ")
        );
    }
    let unexplained = result.unexplained_collateral();
    if !unexplained.is_empty() {
        let names: Vec<&str> = unexplained.iter().map(|d| d.name()).collect();
        mcp_oauth_conformance::out!(
            "SELF-TEST FAILED: more than {} collateral failures and no reason given: {}",
            selftest::COLLATERAL_LIMIT,
            names.join(", ")
        );
    }
    if result.passed() {
        mcp_oauth_conformance::out!(
            "SELF-TEST PASSED: the clean run passed, all {} defects were caught and all {} variants passed cleanly",
            result.defects.len(),
            result.variants.len()
        );
    }
    ExitCode::from(result.exit_code())
}

fn coverage(args: mcp_oauth_conformance::cli::CoverageArgs) -> ExitCode {
    use mcp_oauth_conformance::coverage::Coverage;
    let source = match &args.features {
        Some(dir) => features::Source::Dir(dir),
        None => features::Source::Embedded,
    };
    let loaded = match features::load(source) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let c = match Coverage::of(&loaded) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(3);
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&c.to_json()) {
            Ok(j) => mcp_oauth_conformance::out!("{j}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(3);
            }
        }
    } else {
        mcp_oauth_conformance::out!("{}", c.text().trim_end());
    }
    if c.problems().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn login(args: mcp_oauth_conformance::cli::LoginArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(mcp_oauth_conformance::login_once::run(&args)) {
        Ok(line) => {
            mcp_oauth_conformance::out!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
