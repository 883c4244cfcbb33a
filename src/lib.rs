//! mcp-oauth-conformance: a conformance harness for MCP OAuth implementations.
//!
//! - [`client`]: the MCP and OAuth client library (usable without cucumber).
//! - [`checks`]: small named checks, one per requirement aspect.
//! - [`steps`]: the cucumber world and thin step definitions (features in `features/`).
//! - [`requirements`]: the requirement registry (`requirements.toml`).
//! - [`report`]: verdicts, JUnit and the console summary.
//! - [`run`]: one run of the suite, in four stages: plan, resolve the target, execute, report.
//! - [`load`]: complete flows as fast as the target takes them, each checking its results.
//! - [`selftest`]: the suite against every reference-server defect (proof that checks can fail).

pub mod baseline;
pub mod checks;
pub mod cli;
pub mod client;
pub mod config;
pub mod context;
pub mod coverage;
pub mod detect;
pub mod features;
pub mod fleet;
pub mod leases;
pub mod load;
pub mod login_once;
pub mod report;
pub mod requirements;
pub mod run;
pub mod selftest;
pub mod steps;
pub mod verdict;

/// Prints a line on stdout. A stdout closed early (a pager or `head` that quit) is not an
/// error worth a panic: the rest of the output is dropped.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Installs rustls' ring provider once, before any HTTP client is built.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
