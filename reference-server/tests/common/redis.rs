//! A Redis server of a test's own: on a free loopback port, in a temporary directory, saving
//! nothing, stopped when dropped. Where `redis-server` is not installed the tests that need it
//! say "NOT RUN" and pass, unless `MCP_CONFORMANCE_REQUIRE_REDIS` is set (`.ci/run` installs
//! it and sets that), where its absence fails them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = "redis-server";

pub struct RedisServer {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

/// A free loopback port (free when this returns).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn installed() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(BINARY))
        .find(|p| p.is_file())
}

impl RedisServer {
    /// A running Redis, or `None` (after saying NOT RUN) where none is installed.
    pub fn start(test: &str) -> Option<RedisServer> {
        let Some(binary) = installed() else {
            assert!(
                std::env::var_os("MCP_CONFORMANCE_REQUIRE_REDIS").is_none(),
                "MCP_CONFORMANCE_REQUIRE_REDIS is set, but redis-server is missing"
            );
            eprintln!(
                "NOT RUN: redis-server missing ({test} needs it: Debian package redis-server; .ci/run installs it)"
            );
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "mcp-oauth-conformance-redis-{test}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory for Redis");
        let port = free_port();
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let server = RedisServer { child, dir, port };
        server.wait_ready();
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let mut buf = [0u8; 7];
                if s.write_all(b"PING\r\n").is_ok()
                    && s.read_exact(&mut buf).is_ok()
                    && &buf == b"+PONG\r\n"
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "redis-server did not answer on port {} within 20 s",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A signing key file for instances that share one, in `dir`.
pub fn signing_key_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("signing-key.pem");
    let pem = reference_server::crypto::generate_signing_key_pem().expect("a key");
    std::fs::write(&path, pem).expect("the key is written");
    path
}
