//! `mcp-oauth-conformance`: the conformance runner.

use std::process::ExitCode;

use clap::Parser;
use mcp_oauth_conformance::cli::{Cli, Command};
use mcp_oauth_conformance::{features, install_crypto_provider, run};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    let verbose = matches!(&cli.command, Some(Command::Run(r)) if r.verbose) || cli.run.verbose;
    let filter = if verbose {
        "warn,reference_server=error,exchange=info"
    } else {
        "warn,reference_server=error"
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
        None => run_suite(cli.run),
    }
}

fn run_suite(args: mcp_oauth_conformance::cli::RunArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(run::run(args.into_options())) {
        Ok(result) => ExitCode::from(result.exit_code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
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
        println!(
            "{:<22} {:<6} {:<17} {}",
            features::ids(s).join(","),
            level.to_uppercase(),
            features::area(f),
            s.name
        );
    }
    ExitCode::SUCCESS
}
