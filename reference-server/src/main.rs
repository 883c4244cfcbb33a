//! `reference-server`: starts the server and prints one JSON line naming its URLs.

fn main() -> std::process::ExitCode {
    reference_server::cli::main(std::env::args_os())
}
