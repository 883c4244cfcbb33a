//! The `manual` login driver: a person completes each login in a browser.
//!
//! Each authorization URL is printed on stderr, one at a time, with what to do. The outcome
//! comes from the first of: the browser's redirect, caught on the loopback redirect URI (when
//! `[login.manual] listen` is on); a line on stdin (the address the browser ended on, or
//! `page ...` when the authorization server showed a page instead of redirecting); the
//! deadline (`login.timeout_secs`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::LazyLock;
use std::time::Duration;

use axum::http::header::{CACHE_CONTROL, HOST};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Html;
use futures::future::LocalBoxFuture;
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedReceiver, error::TryRecvError};
use tokio::time::Instant;
use url::Url;

use super::{
    AuthorizationOutcome, DriverSetup, LoginDriver, LoginError, is_loopback, is_redirect_uri,
    redirect_outcome,
};
use crate::client::http::Http;
use crate::client::redact::{redact_text, redact_url};

/// A person at the keyboard and a browser.
#[derive(Debug)]
pub struct ManualDriver {
    redirect_uri: Url,
    /// Where to listen for the browser's redirect, when `listen` is on.
    listen_on: Option<SocketAddr>,
    timeout: Duration,
    expected: usize,
    /// One login at a time; holds how many have started.
    turn: tokio::sync::Mutex<usize>,
}

impl ManualDriver {
    pub fn new(setup: &DriverSetup<'_>) -> Result<Self, String> {
        let redirect_uri = setup.redirect_uri.clone();
        let listen_on = if setup.login.manual.listen {
            Some(listen_address(&redirect_uri)?)
        } else {
            None
        };
        let driver = ManualDriver {
            redirect_uri,
            listen_on,
            timeout: setup.timeout,
            expected: setup.expected_logins,
            turn: tokio::sync::Mutex::new(0),
        };
        eprintln!("{}", driver.introduction());
        Ok(driver)
    }

    fn introduction(&self) -> String {
        let n = self.expected;
        let logins = if n == 1 { "login" } else { "logins" };
        let caught = match self.listen_on {
            Some(addr) => format!(
                "The browser's redirect to {}\n\
                 is caught: the harness listens on {addr} while a login is under way.\n\
                 If it is not caught, paste the address the browser ends on (the redirect URL)\n\
                 here and press Enter.",
                self.redirect_uri
            ),
            None => format!(
                "The browser ends on the redirect URI {}\n\
                 (its page may fail to load: that is expected). Copy the address from the\n\
                 address bar (the redirect URL), paste it here and press Enter.",
                self.redirect_uri
            ),
        };
        format!(
            "\nManual login: this run needs about {n} {logins} by a person, one at a time.\n\
             For each, open the URL printed in a browser, log in and approve the access.\n\
             {caught}\n\
             If the authorization server shows a page and does not redirect, type `page`,\n\
             optionally followed by what the page says, and press Enter.\n\
             Each login may take up to {} s.\n",
            self.timeout.as_secs()
        )
    }

    async fn run_one(&self, url: Url, stop_at: &[Url]) -> Result<AuthorizationOutcome, LoginError> {
        let mut turn = self.turn.lock().await;
        *turn += 1;
        let number = *turn;
        let mut stdin = STDIN.lock().await;
        // The prompts below stay readable: the run's progress bar is hidden meanwhile.
        let _hidden = crate::run::progress::hide();
        stdin.start();
        let stale = stdin.drain();
        if stale > 0 {
            eprintln!(
                "(ignored {stale} line(s) typed before login {number} started: paste the redirect URL of this login)"
            );
        }
        // Bound before the URL is printed, so that no redirect can arrive unheard.
        let (listener, listen_problem) = match self.listen_on {
            Some(addr) => match TcpListener::bind(addr).await {
                Ok(l) => (Some(l), None),
                Err(e) => {
                    let problem = format!("cannot listen on {addr} ({e})");
                    (None, Some(problem))
                }
            },
            None => (None, None),
        };
        eprintln!(
            "\n== Login {number} of about {} ==\nOpen this URL in a browser and log in:\n\n    {url}\n",
            self.expected.max(number)
        );
        match (&listener, &listen_problem) {
            (Some(l), _) => eprintln!(
                "Waiting for the redirect on {} (or paste the redirect URL, or type `page ...`), up to {} s.",
                l.local_addr()
                    .map_or_else(|_| "the redirect URI".into(), |a| a.to_string()),
                self.timeout.as_secs()
            ),
            (None, Some(problem)) => eprintln!(
                "Warning: {problem}: the redirect cannot be caught; paste the redirect URL (or type `page ...`), up to {} s.",
                self.timeout.as_secs()
            ),
            (None, None) => eprintln!(
                "Paste the redirect URL (or type `page ...`), up to {} s.",
                self.timeout.as_secs()
            ),
        }
        let deadline = Instant::now() + self.timeout;
        let outcome = self
            .wait(&url, stop_at, listener, &mut stdin, deadline)
            .await;
        match &outcome {
            Ok(o) => eprintln!("Login {number}: received {}.", o.describe()),
            Err(e) => eprintln!("Login {number}: {e}"),
        }
        match (outcome, listen_problem) {
            (Err(LoginError::Unusable(m)), Some(p)) => {
                Err(LoginError::Unusable(format!("{m} (and {p})")))
            }
            (other, _) => other,
        }
    }

    async fn wait(
        &self,
        url: &Url,
        stop_at: &[Url],
        listener: Option<TcpListener>,
        stdin: &mut Stdin,
        deadline: Instant,
    ) -> Result<AuthorizationOutcome, LoginError> {
        let mut targets: Vec<Url> = stop_at.to_vec();
        targets.push(self.redirect_uri.clone());
        let (mut caught, _listening) = match listener {
            Some(l) => {
                let (rx, guard) = catch_redirects(l, targets, self.redirect_uri.clone());
                (Some(rx), Some(guard))
            }
            None => (None, None),
        };
        loop {
            if caught.is_none() && stdin.closed() {
                return Err(LoginError::Unusable(
                    "stdin is closed and the redirect listener is off ([login.manual] listen = false): no redirect URL can arrive. Run the harness in a terminal, or feed the redirect URLs on stdin".into(),
                ));
            }
            let redirect = async {
                match caught.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(LoginError::Unusable(self.timed_out()));
                }
                Some(location) = redirect => return Ok(redirect_outcome(location)),
                line = stdin.recv(), if !stdin.closed() => {
                    let Some(line) = line else { continue };
                    match parse_answer(&line, stop_at) {
                        Answer::Empty => {}
                        Answer::Redirect(location) => {
                            if !stop_at.iter().any(|r| is_redirect_uri(&location, r))
                                && is_redirect_uri(&location, url)
                            {
                                eprintln!("That is the authorization URL itself: open it in a browser, log in, and paste the address the browser ends on.");
                                continue;
                            }
                            return Ok(redirect_outcome(location));
                        }
                        Answer::Page(reason) => {
                            let reason = if reason.is_empty() {
                                "reported by the person at the keyboard".to_string()
                            } else {
                                format!("reported by the person at the keyboard: {reason}")
                            };
                            return Ok(AuthorizationOutcome::Page {
                                url: url.clone(),
                                status: 0,
                                reason,
                            });
                        }
                        Answer::Garbage => eprintln!(
                            "Not understood: {:?}. Paste the full address the browser ends on (starting with {}://), or type `page` followed by what the page says.",
                            redact_text(line.trim()),
                            self.redirect_uri.scheme()
                        ),
                    }
                }
            }
        }
    }

    fn timed_out(&self) -> String {
        let how = match self.listen_on {
            Some(addr) => format!(
                "nothing arrived on the redirect listener ({addr}) and no redirect URL was pasted on stdin"
            ),
            None => "no redirect URL was pasted on stdin".into(),
        };
        format!(
            "no redirect arrived within {} s (login.timeout_secs): {how}; was the login completed in a browser?",
            self.timeout.as_secs()
        )
    }
}

impl LoginDriver for ManualDriver {
    fn authorize_until<'a>(
        &'a self,
        http: &'a Http,
        url: Url,
        stop_at: &'a [Url],
    ) -> LocalBoxFuture<'a, Result<AuthorizationOutcome, LoginError>> {
        Box::pin(async move { super::learned(http, self.run_one(url, stop_at).await) })
    }
}

/// The address to listen on for redirects to `redirect_uri`: it must be loopback http.
fn listen_address(redirect_uri: &Url) -> Result<SocketAddr, String> {
    let hint = "set listen = false in [login.manual] (and paste each redirect URL), or use a loopback http redirect_uri in [client] such as http://127.0.0.1:33418/callback";
    if redirect_uri.scheme() != "http" || !is_loopback(redirect_uri) {
        return Err(format!(
            "login.manual.listen: the manual driver can only catch redirects to a loopback http redirect URI, and client.redirect_uri is {redirect_uri}; {hint}"
        ));
    }
    let ip = match redirect_uri.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let port = redirect_uri.port_or_known_default().unwrap_or(80);
    Ok(SocketAddr::new(ip, port))
}

/// Serves the redirect listener: a GET for one of `targets` is answered with a page saying the
/// login was received, and its URL is sent on the returned channel; anything else gets 404.
/// The server stops when the guard is dropped.
fn catch_redirects(
    listener: TcpListener,
    targets: Vec<Url>,
    fallback: Url,
) -> (UnboundedReceiver<Url>, AbortOnDrop) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().fallback(move |method: Method, headers: HeaderMap, uri: Uri| {
        let tx = tx.clone();
        let targets = targets.clone();
        let fallback = fallback.clone();
        async move {
            let host = headers.get(HOST).and_then(|h| h.to_str().ok());
            let target = uri.path_and_query().map_or("/", |p| p.as_str());
            let location = request_url(host, target, &fallback)
                .filter(|u| method == Method::GET && targets.iter().any(|t| is_redirect_uri(u, t)));
            let page = match location {
                Some(u) => {
                    let _ = tx.send(u);
                    (StatusCode::OK, Html(RECEIVED_PAGE))
                }
                None => (StatusCode::NOT_FOUND, Html(NOT_FOUND_PAGE)),
            };
            ([(CACHE_CONTROL, "no-store")], page)
        }
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (rx, AbortOnDrop(task))
}

/// Stops the redirect listener when the login it serves is over.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The full URL of a request for `target` (its path and query) on `host` (the `Host`
/// header), else on `fallback`'s host.
fn request_url(host: Option<&str>, target: &str, fallback: &Url) -> Option<Url> {
    if !target.starts_with('/') {
        return None;
    }
    let base = host
        .filter(|h| !h.is_empty())
        .and_then(|h| Url::parse(&format!("{}://{h}/", fallback.scheme())).ok())
        .unwrap_or_else(|| fallback.clone());
    base.join(target).ok()
}

const RECEIVED_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Login received</title></head>\n<body><h1>Login received</h1><p>The conformance harness received the redirect. You can close this window and return to the terminal.</p></body></html>\n";
const NOT_FOUND_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head>\n<body><p>Not found.</p></body></html>\n";

/// What a person (or a login command) answered. `Debug` redacts the authorization code.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Answer {
    /// The address the browser ended on.
    Redirect(Url),
    /// `page ...`: the authorization server showed a page and did not redirect.
    Page(String),
    /// A blank line.
    Empty,
    /// Neither a URL nor `page`.
    Garbage,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Redirect(u) => f
                .debug_tuple("Redirect")
                .field(&redact_url(u.as_str()))
                .finish(),
            Answer::Page(reason) => f.debug_tuple("Page").field(reason).finish(),
            Answer::Empty => f.write_str("Empty"),
            Answer::Garbage => f.write_str("Garbage"),
        }
    }
}

/// Reads one answer: a URL (http, https, or the scheme of one of `stop_at`), `page` with an
/// optional reason, or nothing.
pub(super) fn parse_answer(line: &str, stop_at: &[Url]) -> Answer {
    let line = line.trim();
    if line.is_empty() {
        return Answer::Empty;
    }
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (line, ""),
    };
    if word.eq_ignore_ascii_case("page") {
        return Answer::Page(rest.to_string());
    }
    // Some terminals and browsers wrap a copied address in angle brackets or quotes.
    let candidate = line.trim_matches(|c| matches!(c, '<' | '>' | '"' | '\''));
    match Url::parse(candidate) {
        Ok(u)
            if !candidate.contains(char::is_whitespace)
                && (matches!(u.scheme(), "http" | "https")
                    || stop_at.iter().any(|r| r.scheme() == u.scheme())) =>
        {
            Answer::Redirect(u)
        }
        _ => Answer::Garbage,
    }
}

/// The lines typed on stdin, read by one background thread for the whole process (several
/// logins read from it in turn).
static STDIN: LazyLock<tokio::sync::Mutex<Stdin>> =
    LazyLock::new(|| tokio::sync::Mutex::new(Stdin::default()));

#[derive(Debug, Default)]
struct Stdin {
    started: bool,
    lines: Option<UnboundedReceiver<String>>,
}

impl Stdin {
    /// Starts the reader thread, once.
    fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let spawned = std::thread::Builder::new()
            .name("manual-login-stdin".into())
            .spawn(move || {
                use std::io::BufRead;
                let mut input = std::io::stdin().lock();
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match input.read_until(b'\n', &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let line = String::from_utf8_lossy(&buf).into_owned();
                            if tx.send(line).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        match spawned {
            Ok(_) => self.lines = Some(rx),
            Err(e) => eprintln!("Warning: cannot read stdin ({e}); pasted answers are ignored"),
        }
    }

    /// Discards the lines already typed; returns how many were not blank.
    fn drain(&mut self) -> usize {
        let mut n = 0;
        while let Some(rx) = self.lines.as_mut() {
            match rx.try_recv() {
                Ok(line) => n += usize::from(!line.trim().is_empty()),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => self.lines = None,
            }
        }
        n
    }

    fn closed(&self) -> bool {
        self.lines.is_none()
    }

    /// The next line; `None` at the end of stdin (after which [`Stdin::closed`] is true).
    async fn recv(&mut self) -> Option<String> {
        let line = match self.lines.as_mut() {
            Some(rx) => rx.recv().await,
            None => None,
        };
        if line.is_none() {
            self.lines = None;
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn answers_are_urls_pages_or_garbage() {
        let stop = [url("http://127.0.0.1:33418/callback")];
        assert_eq!(
            parse_answer(
                "  http://127.0.0.1:33418/callback?code=abc&state=xyz \r\n",
                &stop
            ),
            Answer::Redirect(url("http://127.0.0.1:33418/callback?code=abc&state=xyz"))
        );
        assert_eq!(
            parse_answer("<https://app.example/cb?error=access_denied>", &stop),
            Answer::Redirect(url("https://app.example/cb?error=access_denied"))
        );
        assert_eq!(parse_answer("page", &stop), Answer::Page(String::new()));
        assert_eq!(
            parse_answer("PAGE  Invalid redirect URI ", &stop),
            Answer::Page("Invalid redirect URI".into())
        );
        assert_eq!(parse_answer("   ", &stop), Answer::Empty);
        let with_code = parse_answer(
            "http://127.0.0.1:33418/callback?code=c0de-c0de-c0de-c0de",
            &stop,
        );
        assert!(!format!("{with_code:?}").contains("c0de-c0de-c0de-c0de"));
        assert_eq!(parse_answer("pages are fun", &stop), Answer::Garbage);
        assert_eq!(parse_answer("yes", &stop), Answer::Garbage);
        assert_eq!(parse_answer("hello: world", &stop), Answer::Garbage);
        assert_eq!(parse_answer("nonsense http://x/", &stop), Answer::Garbage);
        // A native app's custom scheme is accepted when it is the redirect URI's.
        let custom = [url("com.example.app:/oauth/cb")];
        assert_eq!(
            parse_answer("com.example.app:/oauth/cb?code=1", &custom),
            Answer::Redirect(url("com.example.app:/oauth/cb?code=1"))
        );
        assert_eq!(
            parse_answer("com.example.app:/oauth/cb?code=1", &stop),
            Answer::Garbage
        );
    }

    #[test]
    fn the_listener_needs_a_loopback_http_redirect_uri() {
        assert_eq!(
            listen_address(&url("http://127.0.0.1:33418/callback")),
            Ok(SocketAddr::from(([127, 0, 0, 1], 33418)))
        );
        assert_eq!(
            listen_address(&url("http://localhost:9000/cb")),
            Ok(SocketAddr::from(([127, 0, 0, 1], 9000)))
        );
        let e = listen_address(&url("https://app.example/cb")).expect_err("not loopback");
        assert!(e.contains("listen = false"), "{e}");
        let e = listen_address(&url("https://127.0.0.1:9000/cb")).expect_err("https");
        assert!(e.contains("loopback http"), "{e}");
    }

    #[test]
    fn requests_become_urls_on_the_requested_host() {
        let fallback = url("http://127.0.0.1:33418/callback");
        let u = request_url(
            Some("localhost:33418"),
            "/callback?code=c&state=s",
            &fallback,
        )
        .expect("parsed");
        assert_eq!(u.as_str(), "http://localhost:33418/callback?code=c&state=s");
        let u = request_url(None, "/favicon.ico", &fallback).expect("parsed");
        assert_eq!(u.as_str(), "http://127.0.0.1:33418/favicon.ico");
        assert!(request_url(None, "http://evil/", &fallback).is_none());
    }
}
