//! The browser driver's service: chromedriver, started once per driver on a free loopback port
//! and stopped with the process, and the Chromium each session launches through it (which
//! executable, which command line, which host names it may resolve).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep};

use super::POLL;

/// How long chromedriver may take to answer after it started.
const STARTUP: Duration = Duration::from_secs(10);
/// The most characters kept of chromedriver's output, for error messages.
const LOG_KEEP: usize = 4000;

/// How a session launches Chromium: the profile's `[login.browser]`.
#[derive(Debug, Clone)]
pub(super) struct Chromium {
    /// The executable (`login.browser.chrome`).
    pub path: PathBuf,
    pub headless: bool,
    /// The profile's own command-line arguments.
    pub args: Vec<String>,
}

impl Chromium {
    /// The WebDriver capabilities of a session: this browser, with a fresh profile in
    /// `profile_dir`, pages given `page_load` to load.
    pub fn capabilities(
        &self,
        profile_dir: &Path,
        resolver_rules: Option<&str>,
        page_load: Duration,
    ) -> serde_json::Map<String, Value> {
        match json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {
                "implicit": 0,
                "pageLoad": u64::try_from(page_load.as_millis()).unwrap_or(u64::MAX),
                "script": 30_000,
            },
            "goog:chromeOptions": {
                "binary": self.path.display().to_string(),
                "args": self.args(profile_dir, resolver_rules),
            },
        }) {
            Value::Object(capabilities) => capabilities,
            _ => serde_json::Map::new(),
        }
    }

    /// The browser's command line: quiet (no background traffic on machines without internet),
    /// then the profile's own arguments. `resolver_rules` (from `allowed_hosts`) make host
    /// names outside the allowed hosts fail to resolve, so the browser cannot even connect
    /// there.
    fn args(&self, profile_dir: &Path, resolver_rules: Option<&str>) -> Vec<String> {
        let mut args: Vec<String> = Vec::new();
        if self.headless {
            args.push("--headless=new".into());
        }
        for a in [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-breakpad",
            "--disable-crash-reporter",
            "--window-size=1280,900",
        ] {
            args.push(a.into());
        }
        args.push(format!("--user-data-dir={}", profile_dir.display()));
        if let Some(rules) = resolver_rules {
            args.push(format!("--host-resolver-rules={rules}"));
        }
        args.extend(self.args.iter().cloned());
        args
    }
}

/// A profile path that must be an executable file.
pub(super) fn check_executable(field: &str, path: &Path) -> Result<(), String> {
    let problem = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => return Ok(()),
        Ok(_) => "is not a file",
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist",
        Err(_) => "cannot be read",
    };
    Err(format!(
        "{field}: {} {problem}. The browser login driver needs Chromium and a chromedriver of the same version (on Debian, the packages chromium and chromium-driver); set {field} in the profile's [login.browser] to where it is installed",
        path.display()
    ))
}

/// A running chromedriver.
pub(super) struct Service {
    /// Its address, `http://127.0.0.1:PORT`.
    pub base: String,
    client: reqwest::Client,
    child: Mutex<Child>,
    log: Arc<Mutex<String>>,
    /// The browsers' profile directories are made in here; removed when chromedriver stops.
    pub profiles: PathBuf,
}

impl Service {
    /// Starts the chromedriver at `path` and waits until it answers.
    pub async fn start(path: &Path) -> Result<Service, String> {
        crate::install_crypto_provider();
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the HTTP client for chromedriver: {e}"))?;
        let profiles = std::env::temp_dir().join(format!(
            "mcp-oauth-conformance-browser-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        tokio::fs::create_dir(&profiles).await.map_err(|e| {
            format!(
                "cannot create a directory for the browser's profiles, {}: {e}",
                profiles.display()
            )
        })?;
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("cannot find a free loopback port for chromedriver: {e}"))?;
        let mut child = watched(path, &profiles)
            .arg(format!("--port={port}"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                let _ = std::fs::remove_dir(&profiles);
                format!(
                    "login.browser.chromedriver: cannot start {}: {e}",
                    path.display()
                )
            })?;
        let log = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Ok(mut l) = log.lock() {
                        l.push_str(&line);
                        l.push('\n');
                        if l.len() > 2 * LOG_KEEP {
                            let cut = l.len() - LOG_KEEP;
                            let cut = (cut..l.len()).find(|i| l.is_char_boundary(*i)).unwrap_or(0);
                            l.drain(..cut);
                        }
                    }
                }
            });
        }
        let service = Service {
            base: format!("http://127.0.0.1:{port}"),
            client,
            child: Mutex::new(child),
            log,
            profiles,
        };
        let started = Instant::now();
        loop {
            if let Some(why) = service.exited() {
                return Err(format!(
                    "login.browser.chromedriver: {} stopped before answering (is it chromedriver?): it {why}",
                    path.display()
                ));
            }
            let answer = service
                .client
                .get(format!("{}/status", service.base))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return Ok(service);
            }
            if started.elapsed() > STARTUP {
                return Err(format!(
                    "login.browser.chromedriver: {} did not answer on {} within {} s{}",
                    path.display(),
                    service.base,
                    STARTUP.as_secs(),
                    service.log_tail()
                ));
            }
            sleep(POLL).await;
        }
    }

    /// Why chromedriver is gone, if it is.
    pub fn exited(&self) -> Option<String> {
        let mut child = self.child.lock().ok()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(format!("exited ({status}){}", self.log_tail())),
            _ => None,
        }
    }

    fn log_tail(&self) -> String {
        let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
        if tail.is_empty() {
            String::new()
        } else {
            format!(": {}", crate::client::redact::redact_text(&tail))
        }
    }
}

/// chromedriver's command. On Unix it runs under a small shell, in a process group of its own
/// with the browsers it starts, and the shell stops that whole group, then removes the
/// profiles directory, when this process ends, however it ends: it waits on a pipe only this
/// process writes to.
#[cfg(unix)]
fn watched(path: &Path, profiles: &Path) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(
            r#"exec 3<&0
"$0" "$@" </dev/null 3<&- &
c=$!
{
  trap '' TERM
  read -r _ <&3
  kill -TERM 0 2>/dev/null
  sleep 1
  if [ -n "$MCP_OAUTH_CONFORMANCE_PROFILES" ]; then rm -rf -- "$MCP_OAUTH_CONFORMANCE_PROFILES"; fi
} </dev/null >/dev/null 2>&1 &
wait "$c""#,
        )
        .arg(path)
        .env("MCP_OAUTH_CONFORMANCE_PROFILES", profiles)
        .process_group(0);
    cmd
}

#[cfg(not(unix))]
fn watched(path: &Path, _profiles: &Path) -> Command {
    Command::new(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_browser_files_name_the_profile_field_and_the_packages() {
        let e = check_executable(
            "login.browser.chromedriver",
            Path::new("/nonexistent/chromedriver"),
        )
        .expect_err("missing");
        assert!(e.contains("login.browser.chromedriver"), "{e}");
        assert!(e.contains("/nonexistent/chromedriver"), "{e}");
        assert!(e.contains("chromium-driver"), "{e}");
        let e = check_executable("login.browser.chrome", Path::new("/")).expect_err("a directory");
        assert!(e.contains("is not a file"), "{e}");
    }

    #[test]
    fn the_browser_is_quiet_headless_confined_and_then_given_the_profiles_arguments() {
        let chromium = Chromium {
            path: PathBuf::from("/usr/bin/chromium"),
            headless: true,
            args: vec!["--lang=de".into()],
        };
        let rules = "MAP * ~NOTFOUND, EXCLUDE as.example";
        let args = chromium.args(Path::new("/tmp/p"), Some(rules));
        assert_eq!(args.first().map(String::as_str), Some("--headless=new"));
        assert!(args.contains(&"--disable-background-networking".to_string()));
        assert!(args.contains(&"--user-data-dir=/tmp/p".to_string()));
        assert!(args.contains(&format!("--host-resolver-rules={rules}")));
        assert_eq!(args.last().map(String::as_str), Some("--lang=de"));
        let windowed = Chromium {
            headless: false,
            ..chromium
        };
        let args = windowed.args(Path::new("/tmp/p"), None);
        assert!(!args.iter().any(|a| a.starts_with("--headless")));
        assert!(!args.iter().any(|a| a.starts_with("--host-resolver-rules")));
        let caps = windowed.capabilities(Path::new("/tmp/p"), None, Duration::from_secs(7));
        assert_eq!(caps["goog:chromeOptions"]["binary"], "/usr/bin/chromium");
        assert_eq!(caps["timeouts"]["pageLoad"], 7000);
    }
}
