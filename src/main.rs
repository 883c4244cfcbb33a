//! `mcp-oauth-conformance`: the conformance runner.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "mcp-oauth-conformance: the scenario runner is not built yet. \
         The reference server is: cargo run -p reference-server -- --help"
    );
    ExitCode::from(3)
}
