//! The `command` login driver: a program of the user's completes each login.
//!
//! Each authorization runs `program args... <authorization URL>` (also given in the
//! environment as `MCP_CONFORMANCE_AUTHORIZATION_URL`, with the redirect URI in
//! `MCP_CONFORMANCE_REDIRECT_URI`). The last non-empty line the program prints on stdout is
//! the final redirect URL, or `page <reason>` when the authorization server showed a page and
//! did not redirect. Several logins may run at once.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use futures::future::LocalBoxFuture;
use url::Url;

use super::manual::{Answer, parse_answer};
use super::{AuthorizationOutcome, DriverSetup, LoginDriver, LoginError, redirect_outcome};
use crate::client::http::Http;
use crate::client::redact::{redact_text, redact_url};

/// How many lines of the program's stderr an error quotes.
const STDERR_TAIL: usize = 5;
/// The most characters of one line of the program's output an error quotes.
const MAX_QUOTED: usize = 300;

/// A login program.
#[derive(Debug)]
pub struct CommandDriver {
    /// The program, as found at setup.
    program: PathBuf,
    args: Vec<String>,
    /// The command line as the profile writes it, for messages.
    display: String,
    redirect_uri: Url,
    timeout: Duration,
}

impl CommandDriver {
    pub fn new(setup: &DriverSetup<'_>) -> Result<Self, String> {
        let Some((name, args)) = setup.login.command.split_first() else {
            return Err("login.command: the command driver needs the program to run, e.g. command = [\"./login.sh\"]".into());
        };
        let program = find_program(name, std::env::var_os("PATH").as_deref())?;
        Ok(CommandDriver {
            program,
            args: args.to_vec(),
            display: setup.login.command.join(" "),
            redirect_uri: setup.redirect_uri.clone(),
            timeout: setup.timeout,
        })
    }

    async fn run_one(&self, url: Url, stop_at: &[Url]) -> Result<AuthorizationOutcome, LoginError> {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .arg(url.as_str())
            .env("MCP_CONFORMANCE_AUTHORIZATION_URL", url.as_str())
            .env("MCP_CONFORMANCE_REDIRECT_URI", self.redirect_uri.as_str())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|e| {
            LoginError::Unusable(format!(
                "the login command ({}) cannot be started: {e}",
                self.display
            ))
        })?;
        // On timeout the child is dropped, which kills it.
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => {
                return Err(LoginError::Unusable(format!(
                    "the login command ({}) could not be waited for: {e}",
                    self.display
                )));
            }
            Err(_) => {
                return Err(LoginError::Unusable(format!(
                    "the login command ({}) did not finish within {} s (login.timeout_secs) and was stopped",
                    self.display,
                    self.timeout.as_secs()
                )));
            }
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let status = output.status;
        if !status.success() {
            return Err(LoginError::Unusable(format!(
                "the login command ({}) failed ({status}){}",
                self.display,
                stderr_tail(&stderr)
            )));
        }
        interpret(&stdout, &url, stop_at).map_err(|problem| {
            LoginError::Unusable(format!(
                "the login command ({}) {problem}; it must print the final redirect URL, or `page <reason>` when the authorization server shows a page, as its last line{}",
                self.display,
                stderr_tail(&stderr)
            ))
        })
    }
}

impl LoginDriver for CommandDriver {
    fn authorize_until<'a>(
        &'a self,
        http: &'a Http,
        url: Url,
        stop_at: &'a [Url],
    ) -> LocalBoxFuture<'a, Result<AuthorizationOutcome, LoginError>> {
        Box::pin(async move { super::learned(http, self.run_one(url, stop_at).await) })
    }
}

/// The program to run: a path (with a `/`) must exist; a bare name is looked up on `path`
/// (`PATH`'s form).
fn find_program(name: &str, path: Option<&std::ffi::OsStr>) -> Result<PathBuf, String> {
    if name.is_empty() {
        return Err("login.command: the program name is empty".into());
    }
    if name.contains('/') {
        let p = Path::new(name);
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!(
                "login.command: the program {name:?} does not exist (or is not a file)"
            ))
        };
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    which::which_in(name, path, cwd).map_err(|_| {
        format!(
            "login.command: the program {name:?} is not found on PATH (give its path, e.g. \"./{name}\", or install it)"
        )
    })
}

/// The outcome the program's stdout names, or what is wrong with it.
fn interpret(stdout: &str, url: &Url, stop_at: &[Url]) -> Result<AuthorizationOutcome, String> {
    let Some(last) = stdout.lines().rev().find(|l| !l.trim().is_empty()) else {
        return Err("printed nothing on stdout".into());
    };
    match parse_answer(last, stop_at) {
        Answer::Redirect(location) => Ok(redirect_outcome(location)),
        Answer::Page(reason) => Ok(AuthorizationOutcome::Page {
            url: url.clone(),
            status: 0,
            reason: if reason.is_empty() {
                "reported by the login command".into()
            } else {
                format!("reported by the login command: {reason}")
            },
        }),
        Answer::Empty | Answer::Garbage => Err(format!(
            "printed a last line that is neither a URL nor `page <reason>`: {:?}",
            printable(last.trim())
        )),
    }
}

/// The last lines of the program's stderr, for an error message, secrets redacted.
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(STDERR_TAIL)..];
    let shown: Vec<String> = tail.iter().map(|l| printable(l.trim_end())).collect();
    format!("; the end of its stderr: {}", shown.join(" | "))
}

/// A line of the program's output as it may be printed: URLs lose their codes, other secrets
/// their values, and a long line its end.
fn printable(line: &str) -> String {
    let words: Vec<String> = line
        .split(' ')
        .map(|w| {
            if w.contains("://") || w.contains('?') {
                redact_url(w)
            } else {
                w.to_string()
            }
        })
        .collect();
    let line = redact_text(&words.join(" "));
    match line.char_indices().nth(MAX_QUOTED) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    const AUTH: &str = "http://127.0.0.1:1/authorize?response_type=code&state=s";

    #[test]
    fn the_last_line_is_the_redirect_or_a_page() {
        let stop = [url("http://127.0.0.1:33418/callback")];
        let out = "opening the browser\nhttp://127.0.0.1:33418/callback?code=c0de&state=s\n\n";
        match interpret(out, &url(AUTH), &stop) {
            Ok(o @ AuthorizationOutcome::Redirect { .. }) => {
                assert_eq!(o.param("code"), Some("c0de"));
                assert_eq!(o.param("state"), Some("s"));
            }
            other => panic!("{other:?}"),
        }
        match interpret("page Unknown client\n", &url(AUTH), &stop) {
            Ok(AuthorizationOutcome::Page {
                url: u,
                status,
                reason,
            }) => {
                assert_eq!(u.as_str(), AUTH);
                assert_eq!(status, 0);
                assert!(reason.ends_with("Unknown client"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let e = interpret("", &url(AUTH), &stop).expect_err("nothing");
        assert!(e.contains("nothing"), "{e}");
        let e = interpret(
            &format!("nonsense {AUTH}&code=SECRETSECRET123\n"),
            &url(AUTH),
            &stop,
        )
        .expect_err("garbage");
        assert!(e.contains("neither a URL"), "{e}");
        assert!(!e.contains("SECRETSECRET123"), "{e}");
    }

    #[test]
    fn stderr_is_quoted_briefly_and_without_codes() {
        let err =
            "1\n2\n3\n4\nredirected to http://127.0.0.1:9/cb?code=SECRETSECRET123&state=x\n6\n\n";
        let t = stderr_tail(err);
        assert!(!t.contains("SECRETSECRET123"), "{t}");
        assert!(t.contains("state=x"), "{t}");
        assert!(!t.contains("| 1 |") && t.ends_with("| 6"), "{t}");
        assert_eq!(stderr_tail("\n"), "");
        assert_eq!(printable(&"x".repeat(400)).chars().count(), MAX_QUOTED + 1);
    }

    #[test]
    fn programs_are_found_by_path_or_on_path() {
        let sh = find_program(
            "sh",
            Some(std::ffi::OsStr::new("/nonexistent:/bin:/usr/bin")),
        )
        .expect("sh is on PATH");
        assert!(sh.ends_with("sh"));
        let e = find_program("no-such-login-program", Some(std::ffi::OsStr::new("/bin")))
            .expect_err("missing");
        assert!(e.contains("\"no-such-login-program\""), "{e}");
        let e = find_program("./no/such/login.sh", None).expect_err("missing");
        assert!(e.contains("./no/such/login.sh"), "{e}");
        assert!(find_program("/bin/sh", None).is_ok());
    }
}
