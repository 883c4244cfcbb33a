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
//! The parts: `service` starts chromedriver and says how Chromium is launched (its
//! executable, its command line, the host resolver rules that keep it on the allowed hosts);
//! `session` is one browser for one authorization, a WebDriver session through the
//! `fantoccini` crate over plain HTTP to chromedriver on 127.0.0.1; `page` reads what a page
//! offers with the JavaScript of `script.js`. This module drives the pages.

mod page;
mod service;
mod session;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::LocalBoxFuture;
use tokio::sync::{OnceCell, Semaphore};
use tokio::time::Instant;
use url::Url;

use super::script::{Script, ScriptPage};
use super::{
    AuthorizationOutcome, DriverSetup, LoginDriver, LoginError, is_redirect_uri, may_follow,
    redirect_outcome,
};
use crate::client::http::Http;
use crate::client::redact::redact_url;
use page::{Found, LoginForm, inspect, wait_for_change};
use service::{Chromium, Service, check_executable};
use session::{Op, Session, arg, element_ref, is_transport};

/// The most browsers open at once (fewer on a machine with fewer cores); more authorizations
/// wait for a free one.
const MAX_BROWSERS: usize = 4;
/// The polling interval of every wait.
const POLL: Duration = Duration::from_millis(100);
/// Added to the time left to one login for the timeout of one WebDriver command.
const COMMAND_GRACE: Duration = Duration::from_secs(5);

/// The browser driver.
pub struct BrowserDriver {
    chromium: Chromium,
    chromedriver: PathBuf,
    credentials: super::Credentials,
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
            .field("chromium", &self.chromium)
            .field("chromedriver", &self.chromedriver)
            .field("credentials", &self.credentials)
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
            chromium: Chromium {
                path: b.chrome.clone(),
                headless: b.headless,
                args: b.args.clone(),
            },
            chromedriver: b.chromedriver.clone(),
            credentials: setup.credentials.clone(),
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

    /// chromedriver, started by the first authorization.
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
        let mut session =
            Session::open(service, &self.chromium, deadline, rules.as_deref()).await?;
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
        if let Err(e) = s.goto(&start).await
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
            // As the form driver: a redirect URI's origin, or a host the driver does not
            // follow (see `may_follow`), ends the authorization with that redirect.
            if current.origin() != start.origin() && !may_follow(&start, &current, stop_at) {
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
                        self.log_in(s, &form, &current).await?
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
                            redact_url(current.as_str())
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
    async fn log_in(&self, s: &Session, form: &LoginForm, at: &Url) -> Result<String, LoginError> {
        if !form.passwords.is_empty() {
            self.credentials.password_for(at)?;
        }
        if let Some(user) = &form.user {
            let username = self.credentials.username_for(at)?;
            s.type_into(user, username, "the username field").await?;
        }
        for p in &form.passwords {
            let password = self.credentials.password_for(at)?;
            s.type_into(p, password.expose(), "the password field")
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
            .call(Op::IsLoginForm, vec![arg(&anchor)])
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
            .call(Op::FirstSubmit, vec![arg(&anchor)])
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
        Box::pin(async move { super::learned(http, self.run(http, url, stop_at).await) })
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
