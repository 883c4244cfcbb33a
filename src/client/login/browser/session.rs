//! A browser session for one authorization: a WebDriver session through fantoccini, with a
//! fresh profile directory, in which the driver navigates, reads the page with the script of
//! `script.js`, fills fields, presses buttons and waits for the page to change. Every command
//! is given the time left to the login (and a little more), so that a stuck browser ends the
//! login with an error instead of a hang. The browser quits when the session is closed or
//! dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fantoccini::elements::{Element, ElementRef};
use fantoccini::error::{CmdError, NewSessionError, WebDriver};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::time::{Instant, sleep, timeout, timeout_at};
use url::Url;

use super::service::{Chromium, Service};
use super::{COMMAND_GRACE, POLL};
use crate::client::login::LoginError;
use crate::client::login::script::ScriptPage;
use crate::client::redact::redact_text;

/// How WebDriver marks an element reference in the JSON of a script's arguments and results.
pub(super) const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a login script's selector may take to match.
const FIND_WAIT: Duration = Duration::from_secs(5);
/// How long quitting a browser may take.
const QUIT_WAIT: Duration = Duration::from_secs(10);

/// The JavaScript run in the pages, with the call of the operation named by the first argument.
const PAGE_SCRIPT: &str = concat!(
    include_str!("script.js"),
    "\nreturn loginPage(...arguments);\n"
);

/// An operation of `script.js`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// What the page offers: its forms, or the browser's network error.
    Inspect,
    /// Whether an element's form has a password field.
    IsLoginForm,
    /// An element's form and that form's first submit button.
    FirstSubmit,
    SetValue,
    Click,
    Submit,
    Mark,
    Changed,
}

impl Op {
    #[cfg(test)]
    const ALL: [Op; 8] = [
        Op::Inspect,
        Op::IsLoginForm,
        Op::FirstSubmit,
        Op::SetValue,
        Op::Click,
        Op::Submit,
        Op::Mark,
        Op::Changed,
    ];

    /// Its name in `script.js`.
    fn name(self) -> &'static str {
        match self {
            Op::Inspect => "inspect",
            Op::IsLoginForm => "isLoginForm",
            Op::FirstSubmit => "firstSubmit",
            Op::SetValue => "setValue",
            Op::Click => "click",
            Op::Submit => "submit",
            Op::Mark => "mark",
            Op::Changed => "changed",
        }
    }
}

/// Whether chromedriver did not answer at all (or not in time), rather than answer with an
/// error.
pub(super) fn is_transport(e: &CmdError) -> bool {
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
    redact_text(&out)
}

/// An element reference in a script's result.
pub(super) fn element_ref(v: &Value) -> Option<ElementRef> {
    v.get(ELEMENT_KEY)?
        .as_str()
        .map(|id| ElementRef::from(id.to_string()))
}

/// An element reference as a script's argument.
pub(super) fn arg(e: &ElementRef) -> Value {
    json!({ ELEMENT_KEY: &**e })
}

static PROFILE_DIRS: AtomicU64 = AtomicU64::new(0);

/// One browser, for one authorization.
pub(super) struct Session {
    service: Arc<Service>,
    client: Client,
    dir: PathBuf,
    deadline: Instant,
    closed: bool,
}

impl Session {
    /// Starts a browser with a fresh profile; `resolver_rules` keep it on the allowed hosts.
    pub async fn open(
        service: Arc<Service>,
        chromium: &Chromium,
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
        let capabilities = chromium.capabilities(&dir, resolver_rules, left);
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
            chromium.path.display()
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

    /// The clear message of a failed command.
    pub fn fail(&self, doing: &str, e: &CmdError) -> LoginError {
        wd_failure(doing, e, &self.service)
    }

    fn element(&self, e: &ElementRef) -> Element {
        Element::from_element_id(self.client.clone(), e.clone())
    }

    /// Opens `url`; the page has loaded (or failed to) when this returns.
    pub async fn goto(&self, url: &Url) -> Result<(), CmdError> {
        self.wd(self.client.goto(url.as_str())).await
    }

    pub async fn current_url(&self) -> Result<Url, LoginError> {
        self.wd(self.client.current_url())
            .await
            .map_err(|e| match e {
                CmdError::BadUrl(e) => LoginError::Unusable(format!(
                    "the browser reports a URL that does not parse: {e}"
                )),
                e => self.fail("reading the browser's URL", &e),
            })
    }

    /// Runs an operation of `script.js` in the page.
    pub async fn call(&self, op: Op, args: Vec<Value>) -> Result<Value, CmdError> {
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(Value::String(op.name().into()));
        all.extend(args);
        self.wd(self.client.execute(PAGE_SCRIPT, all)).await
    }

    /// A login script's selector, waited for a few seconds (pages build their forms late).
    pub async fn wait_for(
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
    pub async fn type_into(
        &self,
        e: &ElementRef,
        text: &str,
        what: &str,
    ) -> Result<(), LoginError> {
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
        self.call(Op::SetValue, vec![arg(e), Value::String(text.to_string())])
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
            Err(_) => match self.call(Op::Click, vec![arg(e)]).await {
                // The click led away while the script ran: that is what was wanted.
                Ok(_) => Ok(()),
                Err(err) if err.is_stale_element_reference() => Ok(()),
                Err(err) => Err(self.fail(&doing, &err)),
            },
        }
    }

    /// Presses a button; returns the change marker.
    pub async fn press(&self, button: &ElementRef, what: &str) -> Result<String, LoginError> {
        let token = self.mark(button).await?;
        self.click(button, what).await?;
        Ok(token)
    }

    /// Submits a form without pressing a button; returns the change marker.
    pub async fn submit(&self, form: &ElementRef) -> Result<String, LoginError> {
        let token = self.mark(form).await?;
        self.call(Op::Submit, vec![arg(form)])
            .await
            .map_err(|e| self.fail("submitting the form", &e))?;
        Ok(token)
    }

    /// Marks the current document and remembers `e`, so that `page::wait_for_change` can tell a
    /// new page (or `e` taken away) from the same one. Returns the mark.
    async fn mark(&self, e: &ElementRef) -> Result<String, LoginError> {
        let token = format!("{:016x}", rand::random::<u64>());
        self.call(Op::Mark, vec![Value::String(token.clone()), arg(e)])
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

    pub async fn close(&mut self) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_a_function_of_the_page_script() {
        for op in Op::ALL {
            assert!(
                PAGE_SCRIPT.contains(&format!("\n    {}(", op.name())),
                "script.js has no operation {}",
                op.name()
            );
        }
        assert!(PAGE_SCRIPT.starts_with("// The JavaScript"));
        assert!(PAGE_SCRIPT.ends_with("return loginPage(...arguments);\n"));
    }

    #[test]
    fn element_references_go_both_ways() {
        let e = ElementRef::from("abc".to_string());
        assert_eq!(element_ref(&arg(&e)).as_deref(), Some("abc"));
        assert!(element_ref(&json!({ "id": "abc" })).is_none());
        assert!(element_ref(&Value::Null).is_none());
    }
}
