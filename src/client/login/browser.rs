//! The `browser` driver: a real headless Chromium, driven through chromedriver's WebDriver
//! interface on loopback, for login pages that only work with JavaScript.
//!
//! chromedriver is started once per driver, on first use, on a free loopback port. Every
//! authorization gets a browser session of its own with a fresh, empty profile directory (no
//! cookies from an earlier login), and the session is closed when the authorization ends, also
//! on error. The pages are treated as the `form` driver treats them: a page a login script
//! (`[[login.pages]]`) matches is filled as the script says; any other page gets the generic
//! treatment (fill the username and password of a login form, press the approving button of a
//! consent form). The authorization ends when the browser arrives at one of the redirect URIs
//! it stops at, whose URL the browser still reports although nothing listens there.
//!
//! The WebDriver protocol is the `fantoccini` crate's, over plain HTTP to chromedriver on
//! 127.0.0.1. Every command is given the time left to the login (and a little more), so that a
//! stuck browser ends the login with an error instead of a hang.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::elements::{Element, ElementRef};
use fantoccini::error::{CmdError, NewSessionError, WebDriver};
use fantoccini::{Client, ClientBuilder, Locator};
use futures::future::LocalBoxFuture;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::sync::{OnceCell, Semaphore};
use tokio::time::{Instant, sleep, timeout, timeout_at};
use url::Url;

use super::form::{APPROVE_WORDS, DENY_WORDS, words_match};
use super::script::{Script, ScriptPage};
use super::{
    AuthorizationOutcome, DriverSetup, LoginDriver, LoginError, is_redirect_uri, may_follow,
    redirect_outcome,
};
use crate::client::http::Http;
use crate::client::redact::{Secret, redact_url};

/// How WebDriver marks an element reference in the JSON of a script's arguments and results.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The most browsers open at once (fewer on a machine with fewer cores); more authorizations
/// wait for a free one.
const MAX_BROWSERS: usize = 4;
/// How long chromedriver may take to answer after it started.
const STARTUP: Duration = Duration::from_secs(10);
/// How long a page without a form is given to build one with scripts.
const SETTLE: Duration = Duration::from_secs(2);
/// How long a login script's selector may take to match.
const FIND_WAIT: Duration = Duration::from_secs(5);
/// The polling interval of every wait.
const POLL: Duration = Duration::from_millis(100);
/// Added to the time left to one login for the timeout of one WebDriver command.
const COMMAND_GRACE: Duration = Duration::from_secs(5);
/// How long quitting a browser may take.
const QUIT_WAIT: Duration = Duration::from_secs(10);
/// The most characters kept of chromedriver's output, for error messages.
const LOG_KEEP: usize = 4000;

/// The browser driver.
pub struct BrowserDriver {
    chrome: PathBuf,
    chromedriver: PathBuf,
    headless: bool,
    args: Vec<String>,
    username: String,
    password: Secret,
    script: Script,
    /// How long one authorization may take.
    timeout: Duration,
    /// The most pages one authorization may act on.
    max_steps: usize,
    /// chromedriver, started on first use (or why it could not be).
    service: OnceCell<Result<Arc<Service>, String>>,
    slots: Semaphore,
}

impl fmt::Debug for BrowserDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserDriver")
            .field("chrome", &self.chrome)
            .field("chromedriver", &self.chromedriver)
            .field("headless", &self.headless)
            .field("args", &self.args)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("script", &self.script)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl BrowserDriver {
    /// Checks the profile's paths; nothing is started until the first authorization.
    pub fn new(setup: &DriverSetup<'_>, script: Script) -> Result<Self, String> {
        let b = &setup.login.browser;
        check_executable("login.browser.chrome", &b.chrome)?;
        check_executable("login.browser.chromedriver", &b.chromedriver)?;
        Ok(BrowserDriver {
            chrome: b.chrome.clone(),
            chromedriver: b.chromedriver.clone(),
            headless: b.headless,
            args: b.args.clone(),
            username: setup.username.clone(),
            password: setup.password.clone(),
            script,
            timeout: setup.timeout,
            max_steps: setup.max_steps.max(1),
            service: OnceCell::new(),
            slots: Semaphore::new(
                std::thread::available_parallelism()
                    .map_or(2, usize::from)
                    .clamp(2, MAX_BROWSERS),
            ),
        })
    }

    /// The browser's command line: quiet (no background traffic on machines without internet),
    /// then the profile's own arguments.
    /// The browser's arguments. `resolver_rules` make host names outside `allowed_hosts` fail
    /// to resolve, so the browser cannot even connect there.
    fn browser_args(&self, profile_dir: &Path, resolver_rules: Option<&str>) -> Vec<String> {
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

    async fn service(&self) -> Result<Arc<Service>, LoginError> {
        self.service
            .get_or_init(|| async { Service::start(&self.chromedriver).await.map(Arc::new) })
            .await
            .clone()
            .map_err(LoginError::Unusable)
    }

    async fn run(
        &self,
        http: &Http,
        start: Url,
        stop_at: &[Url],
    ) -> Result<AuthorizationOutcome, LoginError> {
        let hosts = http.hosts();
        if !hosts.allows(&start) {
            return Err(not_allowed(&start, &hosts.describe()));
        }
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| LoginError::Unusable("the browser driver was shut down".into()))?;
        let service = self.service().await?;
        let deadline = Instant::now() + self.timeout;
        let stops: Vec<&str> = stop_at.iter().filter_map(|u| u.host_str()).collect();
        let rules = hosts.resolver_rules(&stops);
        let mut session = Session::open(service, self, deadline, rules.as_deref()).await?;
        let last = std::cell::RefCell::new(start.clone());
        let driving = self.drive(&session, http, start, stop_at, deadline, &last);
        let result = match tokio::time::timeout_at(deadline + COMMAND_GRACE, driving).await {
            Ok(r) => r,
            Err(_) => Err(self.timed_out(&last.borrow())),
        };
        session.close().await;
        result
    }

    fn timed_out(&self, at: &Url) -> LoginError {
        LoginError::Unusable(format!(
            "the browser login did not finish within {} s (at {})",
            self.timeout.as_secs(),
            redact_url(at.as_str())
        ))
    }

    async fn drive(
        &self,
        s: &Session,
        http: &Http,
        start: Url,
        stop_at: &[Url],
        deadline: Instant,
        last: &std::cell::RefCell<Url>,
    ) -> Result<AuthorizationOutcome, LoginError> {
        let hosts = http.hosts();
        // A failed navigation (the AS redirecting straight to the redirect URI, where nothing
        // listens) is judged by where the browser ended, below.
        if let Err(e) = s.wd(s.client.goto(start.as_str())).await
            && is_transport(&e)
        {
            return Err(s.fail("opening the authorization URL", &e));
        }
        // How long a pressed button may take to lead anywhere.
        let patience = http.limits().timeout.max(Duration::from_secs(10));
        let mut credentials_sent = false;
        let mut actions = 0;
        loop {
            let current = s.current_url().await?;
            *last.borrow_mut() = current.clone();
            if stop_at.iter().any(|r| is_redirect_uri(&current, r)) {
                return Ok(redirect_outcome(current));
            }
            if !matches!(current.scheme(), "http" | "https") {
                return Ok(page(&current, "the browser shows no web page"));
            }
            // As the form driver: another loopback origin (where redirect URIs live), or a
            // non-https host away from the AS, ends the authorization with that redirect.
            if current.origin() != start.origin() && !may_follow(&start, &current) {
                return Ok(redirect_outcome(current));
            }
            if !hosts.allows(&current) {
                return Err(not_allowed(&current, &hosts.describe()));
            }
            if Instant::now() >= deadline {
                return Err(self.timed_out(&current));
            }
            actions += 1;
            if actions > self.max_steps {
                return Err(LoginError::TooManySteps(self.max_steps));
            }
            let sent_before = credentials_sent;
            let pressed = match self.script.page_for(&current) {
                Some(script) => {
                    self.scripted(s, script, &current, &mut credentials_sent)
                        .await?
                }
                None => match inspect(s, &current, deadline).await? {
                    Found::Login(form) => {
                        if credentials_sent {
                            return Err(LoginError::Rejected);
                        }
                        credentials_sent = true;
                        self.log_in(s, &form).await?
                    }
                    Found::Consent(button) => {
                        s.press(&button, "the consent page's approving button")
                            .await?
                    }
                    Found::Moved => continue,
                    // A network error, like the form driver's transport errors: no answer
                    // from the server, so nothing to judge it by.
                    Found::Unloadable(why) => {
                        return Err(LoginError::Unusable(format!(
                            "the browser could not load {}: {why}",
                            crate::client::redact::redact_url(current.as_str())
                        )));
                    }
                    Found::Nothing => return Ok(page(&current, "no login or consent form")),
                },
            };
            let sent_now = credentials_sent && !sent_before;
            if !wait_for_change(s, &current, &pressed, patience, deadline).await? {
                return Err(LoginError::Unusable(format!(
                    "pressing the button on the page at {} changed nothing within {} s{}",
                    redact_url(current.as_str()),
                    patience.as_secs(),
                    if sent_now {
                        " (the page may say that the username or password was refused)"
                    } else {
                        ""
                    }
                )));
            }
        }
    }

    /// Fills a generic login form and submits it; returns the change marker.
    async fn log_in(&self, s: &Session, form: &LoginForm) -> Result<String, LoginError> {
        if let Some(user) = &form.user {
            s.type_into(user, &self.username, "the username field")
                .await?;
        }
        for p in &form.passwords {
            s.type_into(p, self.password.expose(), "the password field")
                .await?;
        }
        match &form.submit {
            Some(button) => s.press(button, "the login form's submit button").await,
            None => s.submit(&form.form).await,
        }
    }

    /// Runs a login script's page; returns the change marker.
    async fn scripted(
        &self,
        s: &Session,
        script: &ScriptPage,
        url: &Url,
        credentials_sent: &mut bool,
    ) -> Result<String, LoginError> {
        let at = redact_url(url.as_str());
        let mut fields = Vec::new();
        for (selector, value) in &script.fields {
            fields.push((s.wait_for(selector, script, &at).await?, value));
        }
        let button = match &script.submit {
            Some(selector) => Some(s.wait_for(selector, script, &at).await?),
            None => None,
        };
        let anchor = button
            .clone()
            .or_else(|| fields.first().map(|(e, _)| e.clone()))
            .ok_or_else(|| {
                LoginError::Unusable(format!("{}: no fields and no submit", script.label()))
            })?;
        // A page with a password field is a login: coming back to it after the credentials
        // were sent means they were refused.
        let is_login = s
            .execute(
                "const e = arguments[0]; const f = e.form || e.closest('form'); \
                 return !!(f && f.querySelector('input[type=password i]'));",
                vec![arg(&anchor)],
            )
            .await
            .map_err(|e| s.fail("reading the scripted page", &e))?
            .as_bool()
            .unwrap_or(false);
        if is_login {
            if *credentials_sent {
                return Err(LoginError::Rejected);
            }
            *credentials_sent = true;
        }
        for (element, value) in &fields {
            s.type_into(
                element,
                value.expose(),
                &format!("{} field", script.label()),
            )
            .await?;
        }
        let what = format!("{}: the submit button", script.label());
        if let Some(b) = &button {
            return s.press(b, &what).await;
        }
        // The form's first submit button, else the form itself.
        let found = s
            .execute(FIRST_SUBMIT, vec![arg(&anchor)])
            .await
            .map_err(|e| s.fail("reading the scripted page", &e))?;
        let form = element_ref(&found["form"]).ok_or_else(|| {
            LoginError::Unusable(format!(
                "{}: the fields are in no form on the page at {at}, and the script names no submit button",
                script.label()
            ))
        })?;
        match element_ref(&found["button"]) {
            Some(b) => s.press(&b, &what).await,
            None => s.submit(&form).await,
        }
    }
}

impl LoginDriver for BrowserDriver {
    fn authorize_until<'a>(
        &'a self,
        http: &'a Http,
        url: Url,
        stop_at: &'a [Url],
    ) -> LocalBoxFuture<'a, Result<AuthorizationOutcome, LoginError>> {
        Box::pin(self.run(http, url, stop_at))
    }
}

fn page(url: &Url, reason: &str) -> AuthorizationOutcome {
    AuthorizationOutcome::Page {
        url: url.clone(),
        status: 0,
        reason: reason.to_string(),
    }
}

fn not_allowed(url: &Url, allowed: &str) -> LoginError {
    LoginError::Unusable(format!(
        "the browser was sent to {}: {} is not an allowed host, so the browser could not resolve it. Allowed: {allowed}. To let the browser go there, list it in the profile's allowed_hosts",
        redact_url(url.as_str()),
        url.host_str().unwrap_or("(no host)")
    ))
}

/// A profile path that must be an executable file.
fn check_executable(field: &str, path: &Path) -> Result<(), String> {
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

// ---------------------------------------------------------------------------------------------
// chromedriver

/// A running chromedriver.
struct Service {
    base: String,
    client: reqwest::Client,
    child: Mutex<Child>,
    log: Arc<Mutex<String>>,
    /// The browsers' profile directories are made in here; removed when chromedriver stops.
    profiles: PathBuf,
}

impl Service {
    async fn start(path: &Path) -> Result<Service, String> {
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
    fn exited(&self) -> Option<String> {
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

// ---------------------------------------------------------------------------------------------
// WebDriver

/// Whether chromedriver did not answer at all (or not in time), rather than answer with an
/// error.
fn is_transport(e: &CmdError) -> bool {
    matches!(
        e,
        CmdError::Failed(_) | CmdError::FailedC(_) | CmdError::Lost(_)
    )
}

/// A command that did not end within the time of the login.
fn no_answer() -> CmdError {
    CmdError::Lost(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "no answer within the time of the login",
    ))
}

/// What [`CmdError`] a failed new session is: the browser's own error when chromedriver
/// reports one.
fn session_error(e: NewSessionError) -> CmdError {
    match e {
        NewSessionError::SessionNotCreated(w) => CmdError::Standard(w),
        NewSessionError::UnexpectedError(e) => e,
        NewSessionError::Failed(e) => CmdError::Failed(e),
        NewSessionError::FailedC(e) => CmdError::FailedC(e),
        NewSessionError::Lost(e) => CmdError::Lost(e),
        NewSessionError::BadWebdriverUrl(e) => CmdError::BadUrl(e),
        NewSessionError::NotW3C(v) => {
            let code = v["error"].as_str().and_then(|c| c.parse().ok());
            match (code, v["message"].as_str()) {
                (Some(code), Some(m)) => CmdError::Standard(WebDriver::new(code, m.to_string())),
                _ => CmdError::NotW3C(v),
            }
        }
    }
}

/// The clear message of a failed command.
fn wd_failure(doing: &str, e: &CmdError, service: &Service) -> LoginError {
    LoginError::Unusable(match e {
        CmdError::Standard(w) => format!(
            "{doing}: the browser said {}: {}",
            w.error,
            first_line(&w.message)
        ),
        e if is_transport(e) => format!(
            "{doing}: chromedriver did not answer: {e}{}",
            service
                .exited()
                .map(|why| format!("; chromedriver {why}"))
                .unwrap_or_default()
        ),
        e => format!(
            "{doing}: chromedriver gave an unexpected answer: {}",
            first_line(&e.to_string())
        ),
    })
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    let mut out: String = line.chars().take(300).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    crate::client::redact::redact_text(&out)
}

/// An element reference in a script's result.
fn element_ref(v: &Value) -> Option<ElementRef> {
    v.get(ELEMENT_KEY)?
        .as_str()
        .map(|id| ElementRef::from(id.to_string()))
}

/// An element reference as a script's argument.
fn arg(e: &ElementRef) -> Value {
    json!({ ELEMENT_KEY: &**e })
}

static PROFILE_DIRS: AtomicU64 = AtomicU64::new(0);

/// One browser, for one authorization.
struct Session {
    service: Arc<Service>,
    client: Client,
    dir: PathBuf,
    deadline: Instant,
    closed: bool,
}

impl Session {
    async fn open(
        service: Arc<Service>,
        driver: &BrowserDriver,
        deadline: Instant,
        resolver_rules: Option<&str>,
    ) -> Result<Session, LoginError> {
        let dir = service.profiles.join(format!(
            "session-{}",
            PROFILE_DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        tokio::fs::create_dir(&dir).await.map_err(|e| {
            LoginError::Unusable(format!(
                "cannot create the browser's profile directory {}: {e}",
                dir.display()
            ))
        })?;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        let capabilities = match json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {
                "implicit": 0,
                "pageLoad": u64::try_from(left.as_millis()).unwrap_or(u64::MAX),
                "script": 30_000,
            },
            "goog:chromeOptions": {
                "binary": driver.chrome.display().to_string(),
                "args": driver.browser_args(&dir, resolver_rules),
            },
        }) {
            Value::Object(capabilities) => capabilities,
            _ => serde_json::Map::new(),
        };
        let connected = timeout_at(
            deadline + COMMAND_GRACE,
            ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities)
                .connect(&service.base),
        )
        .await;
        let e = match connected {
            Ok(Ok(client)) => {
                return Ok(Session {
                    service,
                    client,
                    dir,
                    deadline,
                    closed: false,
                });
            }
            Ok(Err(e)) => session_error(e),
            Err(_) => no_answer(),
        };
        let _ = tokio::fs::remove_dir_all(&dir).await;
        let doing = format!(
            "starting the browser (login.browser.chrome = {})",
            driver.chrome.display()
        );
        Err(wd_failure(&doing, &e, &service))
    }

    /// A fantoccini command, given the time left to the login.
    async fn wd<T>(
        &self,
        command: impl Future<Output = Result<T, CmdError>>,
    ) -> Result<T, CmdError> {
        timeout_at(self.deadline + COMMAND_GRACE, command)
            .await
            .unwrap_or_else(|_| Err(no_answer()))
    }

    fn fail(&self, doing: &str, e: &CmdError) -> LoginError {
        wd_failure(doing, e, &self.service)
    }

    fn element(&self, e: &ElementRef) -> Element {
        Element::from_element_id(self.client.clone(), e.clone())
    }

    async fn current_url(&self) -> Result<Url, LoginError> {
        self.wd(self.client.current_url())
            .await
            .map_err(|e| match e {
                CmdError::BadUrl(e) => LoginError::Unusable(format!(
                    "the browser reports a URL that does not parse: {e}"
                )),
                e => self.fail("reading the browser's URL", &e),
            })
    }

    async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, CmdError> {
        self.wd(self.client.execute(script, args)).await
    }

    /// A login script's selector, waited for a few seconds (pages build their forms late).
    async fn wait_for(
        &self,
        selector: &str,
        script: &ScriptPage,
        at: &str,
    ) -> Result<ElementRef, LoginError> {
        let patience = FIND_WAIT.min(self.deadline.saturating_duration_since(Instant::now()));
        let wait = self.client.wait().at_most(patience).every(POLL);
        match self.wd(wait.for_element(Locator::Css(selector))).await {
            Ok(e) => Ok(e.element_id()),
            Err(CmdError::WaitTimeout) => Err(LoginError::Unusable(format!(
                "{}: {selector:?} matches nothing on the page at {at} (waited {} s)",
                script.label(),
                FIND_WAIT.as_secs()
            ))),
            Err(e) if e.is_invalid_selector() => Err(LoginError::Unusable(format!(
                "{}: {selector:?} is not a CSS selector the browser accepts",
                script.label()
            ))),
            Err(e) => Err(self.fail(&format!("{}: looking for {selector:?}", script.label()), &e)),
        }
    }

    /// Clears a field and types `text` into it. The text is never part of a message.
    async fn type_into(&self, e: &ElementRef, text: &str, what: &str) -> Result<(), LoginError> {
        let doing = format!("typing into {what}");
        let field = self.element(e);
        let typed = async {
            field.clear().await?;
            field.send_keys(text).await
        };
        match self.wd(typed).await {
            Ok(()) => return Ok(()),
            Err(err) if is_transport(&err) => return Err(self.fail(&doing, &err)),
            Err(_) => {}
        }
        // A field the browser will not type into (covered, styled away): set its value as a
        // script would, with the events a page listens to.
        self.execute(
            "const e = arguments[0]; e.focus(); e.value = arguments[1]; \
             e.dispatchEvent(new Event('input', {bubbles: true})); \
             e.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![arg(e), Value::String(text.to_string())],
        )
        .await
        .map(drop)
        .map_err(|err| match self.fail(&doing, &err) {
            // The browser's message never carries what was typed, but make sure.
            LoginError::Unusable(m) if !text.is_empty() => {
                LoginError::Unusable(m.replace(text, "[redacted]"))
            }
            other => other,
        })
    }

    async fn click(&self, e: &ElementRef, what: &str) -> Result<(), LoginError> {
        let doing = format!("pressing {what}");
        match self.wd(self.element(e).click()).await {
            Ok(()) => Ok(()),
            Err(err) if is_transport(&err) => Err(self.fail(&doing, &err)),
            // A button the browser will not click (covered by another element): click it as
            // a script would.
            Err(_) => match self.execute("arguments[0].click();", vec![arg(e)]).await {
                // The click led away while the script ran: that is what was wanted.
                Ok(_) => Ok(()),
                Err(err) if err.is_stale_element_reference() => Ok(()),
                Err(err) => Err(self.fail(&doing, &err)),
            },
        }
    }

    /// Presses a button; returns the change marker.
    async fn press(&self, button: &ElementRef, what: &str) -> Result<String, LoginError> {
        let token = self.mark(button).await?;
        self.click(button, what).await?;
        Ok(token)
    }

    /// Submits a form without pressing a button; returns the change marker.
    async fn submit(&self, form: &ElementRef) -> Result<String, LoginError> {
        let token = self.mark(form).await?;
        self.execute(
            "const f = arguments[0]; if (f.requestSubmit) { f.requestSubmit(); } else { f.submit(); }",
            vec![arg(form)],
        )
        .await
        .map_err(|e| self.fail("submitting the form", &e))?;
        Ok(token)
    }

    /// Marks the current document and remembers `e`, so that [`wait_for_change`] can tell a
    /// new page (or `e` taken away) from the same one. Returns the mark.
    async fn mark(&self, e: &ElementRef) -> Result<String, LoginError> {
        let token = format!("{:016x}", rand::random::<u64>());
        self.execute(
            "window.__mcpOauthConformanceMark = {token: arguments[0], el: arguments[1]};",
            vec![Value::String(token.clone()), arg(e)],
        )
        .await
        .map_err(|e| self.fail("reading the page", &e))?;
        Ok(token)
    }

    /// Quits the browser and removes its profile directory; `None` when that was done already.
    fn quit(&mut self) -> Option<impl Future<Output = ()> + Send + 'static> {
        if std::mem::replace(&mut self.closed, true) {
            return None;
        }
        let (client, dir) = (self.client.clone(), self.dir.clone());
        Some(async move {
            let _ = timeout(QUIT_WAIT, client.close()).await;
            remove_profile(&dir).await;
        })
    }

    async fn close(&mut self) {
        if let Some(quitting) = self.quit() {
            quitting.await;
        }
    }
}

impl Drop for Session {
    /// An authorization abandoned half-way (its future dropped) still quits its browser.
    fn drop(&mut self) {
        if let Some(quitting) = self.quit()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(quitting);
        }
    }
}

async fn remove_profile(dir: &Path) {
    // The browser may still be writing for a moment after it quit.
    for _ in 0..3 {
        if tokio::fs::remove_dir_all(dir).await.is_ok() || !dir.exists() {
            return;
        }
        sleep(Duration::from_millis(200)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Pages

/// A generic login form.
#[derive(Debug)]
struct LoginForm {
    form: ElementRef,
    user: Option<ElementRef>,
    passwords: Vec<ElementRef>,
    submit: Option<ElementRef>,
}

/// What a page offers.
#[derive(Debug)]
enum Found {
    Login(LoginForm),
    /// The approving button of a consent form.
    Consent(ElementRef),
    /// The page went elsewhere by itself.
    Moved,
    /// The browser's own error page (the network error code).
    Unloadable(String),
    Nothing,
}

/// Describes the page's forms as the form driver sees them: for each, whether it has a
/// password field, the field for the username (the first text, email or telephone input of a
/// login form), the password fields and the submit buttons with their labels. Visible fields
/// are preferred; disabled ones are left alone.
const INSPECT: &str = r#"
const type = (e) => {
  const t = e.getAttribute('type');
  return t ? t.toLowerCase() : (e.tagName === 'BUTTON' ? 'submit' : '');
};
const shown = (e) => e.getClientRects().length > 0;
const prefer = (list) => { const v = list.filter(shown); return v.length ? v : list; };
const out = {
  href: location.href,
  ready: document.readyState,
  scripts: document.scripts.length,
  neterror: '',
  forms: [],
};
if (location.protocol === 'chrome-error:') {
  const m = (document.body ? document.body.innerText : '').match(/ERR_[A-Z_]+/);
  out.neterror = m ? m[0] : 'an error page';
  return out;
}
const describe = (form, controls, formless) => {
  const enabled = controls.filter((e) => !e.disabled);
  const passwords = prefer(enabled.filter((e) => e.tagName === 'INPUT' && type(e) === 'password'));
  const users = passwords.length
    ? prefer(enabled.filter((e) => e.tagName === 'INPUT' && ['text', 'email', 'tel', ''].includes(type(e))))
    : [];
  const submits = enabled
    .filter((e) => {
      const t = type(e);
      if (e.tagName === 'BUTTON') { return t !== 'reset' && (formless || t !== 'button'); }
      return e.tagName === 'INPUT' && (t === 'submit' || t === 'image' || (formless && t === 'button'));
    })
    .map((e) => ({
      el: e,
      label: (e.getAttribute('name') || '') + ' ' + (e.getAttribute('value') || '') + ' ' + (e.textContent || ''),
    }));
  return { form, login: passwords.length > 0, user: users[0] || null, passwords, submits };
};
for (const f of Array.from(document.forms)) {
  out.forms.push(describe(f, Array.from(f.elements), false));
}
// A login built without a form element: its password field and buttons outside every form.
const loose = Array.from(document.querySelectorAll('input, button'))
  .filter((e) => !e.form && !e.closest('form'));
if (loose.some((e) => e.tagName === 'INPUT' && type(e) === 'password')) {
  const d = describe(document.body, loose, true);
  out.forms.push(d);
}
return out;
"#;

/// The form of the element given and that form's first submit button.
const FIRST_SUBMIT: &str = r#"
const e = arguments[0];
const f = e.form || e.closest('form');
if (!f) { return { form: null, button: null }; }
const b = Array.from(f.elements).find((x) => {
  const t = (x.getAttribute('type') || (x.tagName === 'BUTTON' ? 'submit' : '')).toLowerCase();
  return (x.tagName === 'BUTTON' && t === 'submit') || (x.tagName === 'INPUT' && (t === 'submit' || t === 'image'));
});
return { form: f, button: b || null };
"#;

/// Whether the mark of [`Session::mark`] is gone (a new document) or its element was taken
/// off the page.
const CHANGED: &str = r#"
const m = window.__mcpOauthConformanceMark;
return !m || m.token !== arguments[0] || !m.el.isConnected;
"#;

/// What the page at `url` offers, given a moment to build its form with scripts.
async fn inspect(s: &Session, url: &Url, deadline: Instant) -> Result<Found, LoginError> {
    let until = (Instant::now() + SETTLE).min(deadline);
    loop {
        let info = s
            .execute(INSPECT, Vec::new())
            .await
            .map_err(|e| s.fail("reading the page", &e))?;
        if let Some(code) = info["neterror"].as_str().filter(|c| !c.is_empty()) {
            return Ok(Found::Unloadable(code.to_string()));
        }
        if let Some(found) = pick(&info) {
            return Ok(found);
        }
        if s.current_url().await? != *url {
            return Ok(Found::Moved);
        }
        let still = info["ready"] == "complete" && info["scripts"].as_u64() == Some(0);
        if still || Instant::now() >= until {
            return Ok(Found::Nothing);
        }
        sleep(POLL).await;
    }
}

/// As the form driver: the first login form, else the first form with an approving button.
fn pick(info: &Value) -> Option<Found> {
    let forms = info["forms"].as_array()?;
    let mut consent = None;
    for f in forms {
        let Some(form) = element_ref(&f["form"]) else {
            continue;
        };
        let submits: Vec<(ElementRef, &str)> = f["submits"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|b| {
                        Some((element_ref(&b["el"])?, b["label"].as_str().unwrap_or("")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if f["login"].as_bool() == Some(true) {
            let passwords = f["passwords"]
                .as_array()
                .map(|l| l.iter().filter_map(element_ref).collect())
                .unwrap_or_default();
            return Some(Found::Login(LoginForm {
                form,
                user: element_ref(&f["user"]),
                passwords,
                submit: submits.first().map(|(e, _)| e.clone()),
            }));
        }
        if consent.is_none() {
            consent = submits
                .into_iter()
                .find(|(_, label)| {
                    words_match(label, APPROVE_WORDS) && !words_match(label, DENY_WORDS)
                })
                .map(|(e, _)| Found::Consent(e));
        }
    }
    consent
}

/// Waits until pressing a button led somewhere: another URL, a new document, or the marked
/// element gone. `false` when nothing changed within `patience`.
async fn wait_for_change(
    s: &Session,
    before: &Url,
    token: &str,
    patience: Duration,
    deadline: Instant,
) -> Result<bool, LoginError> {
    let until = (Instant::now() + patience).min(deadline);
    loop {
        let url = s.current_url().await?;
        if url != *before {
            return Ok(true);
        }
        match s
            .execute(CHANGED, vec![Value::String(token.to_string())])
            .await
        {
            Ok(v) if v.as_bool() == Some(true) => return Ok(true),
            Ok(_) => {}
            // Asked while the page was being replaced.
            Err(e) if !is_transport(&e) => return Ok(true),
            Err(e) => return Err(s.fail("waiting for the next page", &e)),
        }
        if Instant::now() >= until {
            return Ok(Instant::now() >= deadline);
        }
        sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(id: &str) -> Value {
        json!({ ELEMENT_KEY: id })
    }

    #[test]
    fn a_login_form_wins_over_a_consent_form_and_deny_buttons_are_never_pressed() {
        let consent = json!({
            "form": el("f1"), "login": false, "user": null, "passwords": [],
            "submits": [
                { "el": el("deny"), "label": "decision deny Deny" },
                { "el": el("ok"), "label": "decision approve Allow" },
            ],
        });
        let login = json!({
            "form": el("f2"), "login": true, "user": el("u"), "passwords": [el("p")],
            "submits": [{ "el": el("go"), "label": "  Sign in" }],
        });
        let only_consent = json!({ "forms": [consent.clone()] });
        match pick(&only_consent) {
            Some(Found::Consent(e)) => assert_eq!(&*e, "ok"),
            other => panic!("{other:?}"),
        }
        match pick(&json!({ "forms": [consent, login] })) {
            Some(Found::Login(f)) => {
                assert_eq!(&*f.form, "f2");
                assert_eq!(f.user.as_deref(), Some("u"));
                assert_eq!(f.submit.as_deref(), Some("go"));
            }
            other => panic!("{other:?}"),
        }
        let deny_only = json!({ "forms": [{
            "form": el("f"), "login": false, "user": null, "passwords": [],
            "submits": [{ "el": el("no"), "label": "Cancel and go back" }],
        }]});
        assert!(pick(&deny_only).is_none());
        assert!(pick(&json!({ "forms": [] })).is_none());
    }

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
}
