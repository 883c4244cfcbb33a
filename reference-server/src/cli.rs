//! The reference server's command line: starts the server and prints one JSON line naming its
//! URLs. The `reference-server` program and `mcp-oauth-conformance reference-server` both run
//! [`main`].

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::{self, Config, LoginPage};
use crate::defects::{self, Defect};
use crate::layout::Layout;
use crate::variants::{self, Variant};
use clap::Parser;

/// A strict OAuth 2.1 authorization server and MCP resource server, for conformance testing.
///
/// Binds 127.0.0.1 only. When ready, prints exactly one JSON line on stdout with the URLs
/// `mcp`, `mcp_alt`, `issuer`, `as_metadata` and `prm` (and, with --tls, `ca_cert`: the CA
/// certificate file to trust; with --replicas, `replicas`: the instances' origins; with
/// --route-header, `route_header`). Logs go to stderr (filter with RUST_LOG).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Port of the main listener (MCP server, and the AS unless --layout split). 0 takes a free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Port of the authorization server in the split layout. 0 takes a free port.
    #[arg(long, default_value_t = 0)]
    as_port: u16,
    /// Further instances of the authorization server, each on a free port, as behind a load
    /// balancer: their origins are listed as `replicas` on the ready line.
    #[arg(long, default_value_t = 0)]
    replicas: usize,
    /// A header by which the authorization server's listener routes a request to one instance,
    /// as a load balancer would: NAME: i is served by instance i (0, or no header: the first;
    /// 1 to --replicas: the further ones). Listed as `route_header` on the ready line.
    #[arg(long, value_name = "NAME", value_parser = crate::replicas::parse_route_header)]
    route_header: Option<String>,
    /// Where the authorization server lives and how it is discovered.
    #[arg(long, value_enum, default_value_t = Layout::SameOrigin)]
    layout: Layout,
    /// Username of the test user.
    #[arg(long, default_value = config::DEFAULT_USERNAME)]
    username: String,
    /// Password of the test user (or set REFERENCE_SERVER_PASSWORD).
    #[arg(long, env = "REFERENCE_SERVER_PASSWORD", default_value = config::DEFAULT_PASSWORD, hide_env_values = true)]
    password: String,
    /// Lifetime of an authorization code, in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    code_ttl: u64,
    /// Lifetime of an access token, in seconds (1 makes expiry testable).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    access_token_ttl: u64,
    /// Lifetime of a refresh token, in seconds (default 90 days).
    #[arg(long, default_value_t = 90 * 24 * 3600, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    refresh_token_ttl: u64,
    /// Client registrations allowed per client IP per minute (0: unlimited).
    #[arg(long, default_value_t = 600)]
    registration_rate_limit: u32,
    /// How long a registered client is kept until it is first used (named in an authorization
    /// or a token request), in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    unused_client_ttl: u64,
    /// How long a registered client is kept once used, in seconds (default 90 days).
    #[arg(long, value_name = "SECS", default_value_t = 90 * 24 * 3600, value_parser = clap::value_parser!(u64).range(1..=315_360_000))]
    client_ttl: u64,
    /// The most entries each in-memory table holds (clients, codes, tokens, sessions, ...).
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    store_capacity: u64,
    /// The largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u64).range(1024..=64 * 1024 * 1024))]
    max_body_bytes: u64,
    /// How long a request may take until its response starts, in seconds (408 after).
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    request_timeout: u64,
    /// How long a client may take to send a request's headers, in seconds; on a kept-alive
    /// connection counted from the previous response, so it also closes idle connections
    /// (keep it above the clients' idle timeout).
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_read_timeout: u64,
    /// The most header fields a request may carry (431 beyond).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(8..=10_000))]
    max_headers: u64,
    /// The largest request head (request line and headers), in bytes (431 beyond).
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024, value_parser = clap::value_parser!(u64).range(8192..=1024 * 1024))]
    max_header_bytes: u64,
    /// The most connections served at once on each listener; more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_connections: u64,
    /// Accept http:// client ID metadata document URLs on loopback hosts (for tests).
    #[arg(long)]
    allow_loopback_http_client_ids: bool,
    /// Also serve the MCP endpoint's protected resource metadata at the root well-known URL.
    #[arg(long)]
    root_prm: bool,
    /// Break one behaviour on purpose (repeatable), to see the conformance suite fail.
    /// --list-defects names them with the requirements they violate.
    #[arg(long = "defect", value_name = "NAME")]
    defects: Vec<Defect>,
    /// Switch on one behaviour the specifications allow (repeatable), to see the conformance
    /// suite pass it. --list-variants names them with what allows each.
    #[arg(long = "variant", value_name = "NAME")]
    variants: Vec<Variant>,
    /// The window of the rate-limit variants, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86400))]
    rate_limit_window: u64,
    /// A TOML file of pre-registered clients (`[[client]]` entries with client_id,
    /// client_secret_env, redirect_uris, token_endpoint_auth_method, grant_types).
    #[arg(long, value_name = "FILE")]
    clients: Option<PathBuf>,
    /// No dynamic client registration: no registration endpoint, none in the metadata.
    #[arg(long)]
    no_dcr: bool,
    /// Serve HTTPS on every listener, with a certificate authority made at start (its
    /// certificate is written to --ca-out; its key is never written).
    #[arg(long)]
    tls: bool,
    /// With --tls: where to write the CA certificate (PEM). Default: a file in the temp dir
    /// named after the process id and port, removed when the server stops on Ctrl-C.
    #[arg(long, value_name = "FILE", requires = "tls")]
    ca_out: Option<PathBuf>,
    /// How the login page is made: `html` is a plain form; `js` has no form in its HTML, and a
    /// script served next to the login endpoint builds it after the page has loaded.
    #[arg(long, value_enum, default_value_t = LoginPage::Html)]
    login_page: LoginPage,
    /// Where the state lives: `memory` (in the process), or a Redis URL
    /// (`redis://127.0.0.1:6379/0`) that several instances share to behave as one server.
    #[arg(long, value_name = "memory|URL", default_value = "memory")]
    store: config::StoreBackend,
    /// This instance's name in the logs (default: a short random one).
    #[arg(long, value_name = "NAME")]
    instance_id: Option<String>,
    /// The access-token signing key: a PEM file (`PRIVATE KEY`, PKCS #8, P-256). Instances
    /// behind one issuer share one. Default: a key generated at start.
    #[arg(long, value_name = "FILE")]
    signing_key: Option<PathBuf>,
    /// Write a new signing key (for --signing-key) to FILE, and exit.
    #[arg(long, value_name = "FILE")]
    write_signing_key: Option<PathBuf>,
    /// The origin to advertise (URLs, issuer, metadata) instead of the bound address: where a
    /// load balancer in front of this instance is reached. Not with --layout split.
    #[arg(long, value_name = "URL", value_parser = config::check_public_url)]
    public_url: Option<String>,
    /// Print every defect with the requirement IDs it violates, and exit.
    #[arg(long)]
    list_defects: bool,
    /// Print every variant with what it changes and what allows it, and exit.
    #[arg(long)]
    list_variants: bool,
}

/// Parses `args` (the first is the program name) and runs the server until Ctrl-C.
pub fn main<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(serve(cli)),
        Err(e) => {
            eprintln!("reference-server: cannot start the async runtime: {e}");
            ExitCode::from(1)
        }
    }
}

/// `--write-signing-key`: a new key, readable by its owner only where that can be said.
fn write_signing_key(path: &std::path::Path) -> ExitCode {
    let pem = match crate::crypto::generate_signing_key_pem() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("reference-server: {e}");
            return ExitCode::from(1);
        }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options
        .open(path)
        .and_then(|mut f| f.write_all(pem.as_bytes()))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "reference-server: --write-signing-key {}: {e}",
                path.display()
            );
            ExitCode::from(2)
        }
    }
}

async fn serve(cli: Cli) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    if cli.list_defects {
        print!("{}", defects::table());
        return ExitCode::SUCCESS;
    }
    if cli.list_variants {
        print!("{}", variants::table());
        return ExitCode::SUCCESS;
    }
    if let Some(path) = &cli.write_signing_key {
        return write_signing_key(path);
    }
    let default_password = cli.password == config::DEFAULT_PASSWORD;
    let clients = match &cli.clients {
        Some(path) => match config::load_clients(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("reference-server: --clients {e}");
                return ExitCode::from(2);
            }
        },
        None => Vec::new(),
    };
    let config = Config {
        port: cli.port,
        as_port: cli.as_port,
        replicas: cli.replicas,
        route_header: cli.route_header,
        layout: cli.layout,
        username: cli.username,
        password: cli.password,
        code_ttl: Duration::from_secs(cli.code_ttl),
        access_token_ttl: Duration::from_secs(cli.access_token_ttl),
        refresh_token_ttl: Duration::from_secs(cli.refresh_token_ttl),
        registration_rate_limit: cli.registration_rate_limit,
        unused_client_ttl: Duration::from_secs(cli.unused_client_ttl),
        client_ttl: Duration::from_secs(cli.client_ttl),
        store_capacity: usize::try_from(cli.store_capacity).unwrap_or(usize::MAX),
        max_body_bytes: usize::try_from(cli.max_body_bytes).unwrap_or(usize::MAX),
        request_timeout: Duration::from_secs(cli.request_timeout),
        header_read_timeout: Duration::from_secs(cli.header_read_timeout),
        max_headers: usize::try_from(cli.max_headers).unwrap_or(usize::MAX),
        max_header_bytes: usize::try_from(cli.max_header_bytes).unwrap_or(usize::MAX),
        max_connections: usize::try_from(cli.max_connections).unwrap_or(usize::MAX),
        allow_loopback_http_client_ids: cli.allow_loopback_http_client_ids,
        root_prm: cli.root_prm,
        defects: cli.defects.iter().copied().collect(),
        variants: cli.variants.iter().copied().collect(),
        rate_limit_window: Duration::from_secs(cli.rate_limit_window),
        clients,
        no_dcr: cli.no_dcr,
        tls: cli.tls,
        ca_out: cli.ca_out,
        login_page: cli.login_page,
        store: cli.store,
        signing_key: cli.signing_key,
        public_url: cli.public_url,
        ..Config::default()
    };
    let config = match cli.instance_id {
        Some(instance_id) => Config {
            instance_id,
            ..config
        },
        None => config,
    };
    for d in config.defects.iter() {
        eprintln!(
            "DEFECT ON: {d} (violates {}): {}",
            d.requirement_list(", "),
            d.description()
        );
    }
    for v in config.variants.iter() {
        eprintln!("VARIANT ON: {v}: {}", v.description());
    }
    let username = config.username.clone();
    let server = match crate::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("reference-server: {e}");
            return ExitCode::from(2);
        }
    };
    let line = match serde_json::to_string(&server.urls) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("reference-server: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
        return ExitCode::from(1);
    }
    drop(out);
    if default_password {
        eprintln!(
            "test user: {username} (password: {})",
            config::DEFAULT_PASSWORD
        );
    } else {
        eprintln!("test user: {username} (password as configured)");
    }
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}
