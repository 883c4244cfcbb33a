//! `reference-server`: starts the server and prints one JSON line naming its URLs.

/// Every request allocates and frees small buffers (headers, JSON, tokens); this allocator
/// spends a fraction of the C library's time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    reference_server::cli::main(std::env::args_os())
}
