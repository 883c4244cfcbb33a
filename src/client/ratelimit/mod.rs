//! Rate limits. A server that answers "slow down" (429, or 503 with `Retry-After`) has not
//! judged the request, so that answer is never graded: the transport waits as the server asks,
//! within a bound per scenario, and sends the request again when a second sending cannot have
//! a second effect. What it cannot wait for ends the request with [`RateLimited`], which is
//! the harness's problem, never the target's failure.
//!
//! Every fork of a transport shares one ledger: requests, limits and waits per endpoint
//! ([`RequestStats`]), and the optional [`Pace`].

mod budget;
mod hints;
mod stats;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};

pub use budget::Announced;
use budget::{Budgets, Turn};
pub use hints::{Delay, DelaySource, announced, parse_http_date, slow_down};
pub(crate) use stats::{Endpoint, Ledger};
pub use stats::{EndpointStats, RequestStats};

/// How long one scenario may wait for rate limits, all its waits together, unless configured.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(120);
/// The shortest wait: `Retry-After: 0` must not make a retry loop spin.
const MIN_WAIT: Duration = Duration::from_secs(1);
/// Retries of one request before giving up, however short the waits.
const MAX_RETRIES: u32 = 8;
/// Waits this long or longer are logged, so that a silent runner has a reason on screen.
const LOG_WAITS_FROM: Duration = Duration::from_secs(3);

/// What the transport may do when a request is answered "slow down". Mark a request with
/// [`Request::retry`](super::http::Request::retry); an unmarked one gets
/// [`Retry::default_for`] its method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Sending it again has no further effect (GET, HEAD, OPTIONS; a registration, an
    /// authorization page, an MCP request without side effects): sent again after a 429, and
    /// after a 503 with `Retry-After`.
    Idempotent,
    /// A second processing could change what the scenario sees (a code redemption, a
    /// refresh): sent again only after a 429, which says the server did not process it (RFC
    /// 6585 §4). A 503 ends the request with [`RateLimited`].
    IfNotProcessed,
    /// The limit is the answer the caller wants to see (TOK-10 provokes throttling): 429 and
    /// 503 come back as responses. They are still counted.
    Never,
}

impl Retry {
    /// Safe methods (RFC 9110 §9.2.1) may be sent again; anything else only after a 429.
    pub fn default_for(method: &Method) -> Retry {
        if [Method::GET, Method::HEAD, Method::OPTIONS].contains(method) {
            Retry::Idempotent
        } else {
            Retry::IfNotProcessed
        }
    }
}

/// A minimum interval between the starts of requests to one URL (whatever the method and
/// query), for a target whose limits are known in advance. Parsed from `N/min`, `N/s` or
/// `N/h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    interval: Duration,
}

impl Pace {
    /// At most `n` request starts per minute to one URL; `None` for zero.
    pub fn per_minute(n: u32) -> Option<Pace> {
        Pace::per(n, Duration::from_secs(60))
    }

    fn per(n: u32, period: Duration) -> Option<Pace> {
        (n > 0).then(|| Pace {
            interval: period / n,
        })
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }
}

impl FromStr for Pace {
    type Err = String;

    fn from_str(s: &str) -> Result<Pace, String> {
        let bad = || format!("{s:?} is not a pace: write requests per time unit, like \"30/min\"");
        let (n, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        let period = match unit.trim() {
            "s" | "sec" => Duration::from_secs(1),
            "min" | "m" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Pace::per(n, period).ok_or_else(|| format!("{s:?}: a pace needs at least one request"))
    }
}

/// A request the transport gave up on because the server limits its rate. The scenario did
/// not run to its end; the target is not at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimited {
    /// The URL without query, as the stats key it.
    pub endpoint: String,
    pub status: u16,
    /// The wait the server asked for (or the backoff).
    pub retry_after: Delay,
    /// What this scenario had waited for rate limits before.
    pub waited: Duration,
    pub reason: GaveUp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaveUp {
    /// The wait would take the scenario past its bound (`--max-wait`).
    OverMaxWait(Duration),
    /// A 503 for a request that may have been processed: sending it again is not safe.
    MayHaveBeenProcessed,
    /// Still limited after this many retries.
    StillLimited(u32),
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (endpoint, status, delay) = (&self.endpoint, self.status, self.retry_after);
        write!(f, "not run: rate limited by {endpoint} ({status}, {delay}")?;
        match self.reason {
            GaveUp::OverMaxWait(max) if self.waited.is_zero() => {
                write!(f, " exceeds --max-wait {})", secs(max))
            }
            GaveUp::OverMaxWait(max) => write!(
                f,
                "; with the {} this scenario already waited, that exceeds --max-wait {})",
                secs(self.waited),
                secs(max)
            ),
            GaveUp::MayHaveBeenProcessed => write!(
                f,
                "; not sent again: a 503 does not say the request was not processed)"
            ),
            GaveUp::StillLimited(n) => write!(f, "; still limited after {n} retries)"),
        }
    }
}

/// "900 s", "1.5 s".
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// What the transport does about rate limits. Clones (one scenario) share the wait budget; a
/// fork (a new scenario) starts a fresh one; every fork shares the ledger.
#[derive(Debug, Clone)]
pub(crate) struct RateLimits {
    ledger: Arc<Ledger>,
    /// What the server said of its limits, per URL: shared by every fork.
    budgets: Arc<Budgets>,
    /// What this scenario has waited after "slow down" answers so far (bounded by `max_wait`).
    waited: Arc<Mutex<Duration>>,
    /// What this scenario has waited for a window the server announced to reset (each wait
    /// bounded by `max_wait`, not their sum).
    held: Arc<Mutex<Duration>>,
    max_wait: Duration,
}

impl RateLimits {
    pub(crate) fn new(max_wait: Duration, pace: Option<Pace>) -> Self {
        RateLimits {
            ledger: Arc::new(Ledger::new(pace)),
            budgets: Arc::default(),
            waited: Arc::default(),
            held: Arc::default(),
            max_wait,
        }
    }

    pub(crate) fn fork(&self) -> Self {
        RateLimits {
            ledger: Arc::clone(&self.ledger),
            budgets: Arc::clone(&self.budgets),
            waited: Arc::default(),
            held: Arc::default(),
            max_wait: self.max_wait,
        }
    }

    /// What this scenario has waited for rate limits so far: after "slow down" answers, and
    /// for announced windows to reset.
    pub(crate) fn waited(&self) -> Duration {
        let waited = *self.waited.lock().unwrap_or_else(PoisonError::into_inner);
        let held = *self.held.lock().unwrap_or_else(PoisonError::into_inner);
        waited + held
    }

    /// Before a request starts: the pace, then the window the server announced for the URL.
    /// A request whose limit is the answer sought ([`Retry::Never`]) is not held. A wait
    /// longer than `--max-wait` is not taken here: the request goes, and the server's answer
    /// is judged against the bound as any "slow down" is.
    pub(crate) async fn before_send(&self, key: &Endpoint, retry: Retry) {
        self.ledger.pace(key).await;
        if retry == Retry::Never {
            return;
        }
        loop {
            let now = Instant::now();
            let at = match self.budgets.take(&key.url, now) {
                Turn::Now => return,
                Turn::At(at) => at,
            };
            let wait = at.saturating_duration_since(now);
            if wait > self.max_wait {
                return;
            }
            if wait >= LOG_WAITS_FROM {
                tracing::info!(
                    target: "rate_limit",
                    "{} {}: the server's rate limit allows no more requests for {}: waiting",
                    key.method,
                    key.url,
                    secs(wait)
                );
            }
            tokio::time::sleep_until(at.into()).await;
            self.ledger.held(key, wait);
            *self.held.lock().unwrap_or_else(PoisonError::into_inner) += wait;
        }
    }

    /// Waits, within `--max-wait`, until the window the server announced for `key`'s URL has
    /// `room` requests left (or has reset), without taking one: before a request that will
    /// need another soon after (a code's redemption after its authorization), so that the
    /// second does not then wait while what it redeems ages.
    pub(crate) async fn until_room(&self, key: &Endpoint, room: u64) {
        let now = Instant::now();
        let Some(at) = self.budgets.short_until(&key.url, room, now) else {
            return;
        };
        let wait = at.saturating_duration_since(now);
        if wait > self.max_wait {
            return;
        }
        tokio::time::sleep_until(at.into()).await;
        self.ledger.held(key, wait);
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) += wait;
    }

    /// After an answer: what it says of its URL's limit, and, for a "slow down" answer, that
    /// nothing more is sent to the URL before its wait is over. Not after a limit the request
    /// provoked on purpose ([`Retry::Never`]: TOK-10's wrong secrets for one client): that
    /// limit is the answer it sought, and says nothing certain of other requests (a server
    /// throttles wrong secrets per client as often as per address); a request it does apply
    /// to meets it, and waits as it says.
    pub(crate) fn after(
        &self,
        key: &Endpoint,
        headers: &reqwest::header::HeaderMap,
        delay: Option<Delay>,
        retry: Retry,
    ) {
        let now = Instant::now();
        if let Some(said) = announced(headers) {
            self.budgets.learn(&key.url, said, now);
        }
        if let Some(d) = delay.filter(|_| retry != Retry::Never) {
            self.budgets.hold(&key.url, now + d.wait.max(MIN_WAIT), now);
        }
    }

    pub(crate) fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The counts of every fork of the transport.
    pub(crate) fn stats(&self) -> RequestStats {
        self.ledger.stats()
    }

    /// After a "slow down" answer: waits and returns `Ok(true)` when the request is to be sent
    /// again, `Ok(false)` when the answer is to be returned as it is ([`Retry::Never`]).
    pub(crate) async fn wait_for(
        &self,
        retry: Retry,
        key: &Endpoint,
        status: StatusCode,
        delay: Delay,
        retries: u32,
    ) -> Result<bool, RateLimited> {
        self.ledger.limited(key);
        let give_up = |waited: Duration, reason: GaveUp| RateLimited {
            endpoint: key.url.clone(),
            status: status.as_u16(),
            retry_after: delay,
            waited,
            reason,
        };
        let waited = *self.waited.lock().unwrap_or_else(PoisonError::into_inner);
        match retry {
            Retry::Never => return Ok(false),
            Retry::IfNotProcessed if status != StatusCode::TOO_MANY_REQUESTS => {
                return Err(give_up(waited, GaveUp::MayHaveBeenProcessed));
            }
            _ if retries >= MAX_RETRIES => {
                return Err(give_up(waited, GaveUp::StillLimited(retries)));
            }
            _ => {}
        }
        let wait = delay.wait.max(MIN_WAIT);
        // Reserved before sleeping, so that concurrent requests of one scenario cannot
        // together wait past the bound.
        {
            let mut spent = self.waited.lock().unwrap_or_else(PoisonError::into_inner);
            if spent.saturating_add(wait) > self.max_wait {
                return Err(give_up(*spent, GaveUp::OverMaxWait(self.max_wait)));
            }
            *spent += wait;
        }
        if wait >= LOG_WAITS_FROM {
            tracing::info!(
                target: "rate_limit",
                "{} {} answered {} ({delay}): waiting {} before sending it again",
                key.method,
                key.url,
                status.as_u16(),
                secs(wait)
            );
        }
        tokio::time::sleep(wait).await;
        self.ledger.waited(key, wait);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_methods_are_sent_again_after_a_503_by_default() {
        assert_eq!(Retry::default_for(&Method::GET), Retry::Idempotent);
        assert_eq!(Retry::default_for(&Method::HEAD), Retry::Idempotent);
        assert_eq!(Retry::default_for(&Method::POST), Retry::IfNotProcessed);
        assert_eq!(Retry::default_for(&Method::DELETE), Retry::IfNotProcessed);
    }

    #[test]
    fn a_pace_is_requests_per_time_unit() {
        let p = |s: &str| s.parse::<Pace>().map(|p| p.interval());
        assert_eq!(p("30/min"), Ok(Duration::from_secs(2)));
        assert_eq!(p(" 4/s "), Ok(Duration::from_millis(250)));
        assert_eq!(p("60/h"), Ok(Duration::from_secs(60)));
        assert!(p("0/min").is_err());
        assert!(p("30").is_err());
        assert!(p("30/week").is_err());
        assert_eq!(Pace::per_minute(0), None);
    }

    #[test]
    fn giving_up_names_the_endpoint_and_the_limit_seen() {
        let e = RateLimited {
            endpoint: "https://as.example/token".into(),
            status: 429,
            retry_after: Delay {
                wait: Duration::from_secs(900),
                source: DelaySource::RetryAfter,
            },
            waited: Duration::ZERO,
            reason: GaveUp::OverMaxWait(Duration::from_secs(120)),
        };
        assert_eq!(
            e.to_string(),
            "not run: rate limited by https://as.example/token (429, Retry-After 900 s exceeds --max-wait 120 s)"
        );
        let later = RateLimited {
            waited: Duration::from_millis(61_500),
            ..e.clone()
        };
        assert!(
            later
                .to_string()
                .contains("with the 61.5 s this scenario already waited"),
            "{later}"
        );
        let unsafe_503 = RateLimited {
            status: 503,
            reason: GaveUp::MayHaveBeenProcessed,
            ..e
        };
        assert!(
            unsafe_503
                .to_string()
                .contains("(503, Retry-After 900 s; not sent again")
        );
    }

    #[test]
    fn only_a_limit_not_sought_holds_the_url_for_other_requests() {
        let limits = RateLimits::new(DEFAULT_MAX_WAIT, None);
        let url: url::Url = "https://as.example/token".parse().expect("url");
        let key = Endpoint::of(&Method::POST, &url);
        let delay = Some(Delay {
            wait: Duration::from_secs(30),
            source: DelaySource::RetryAfter,
        });
        let none = reqwest::header::HeaderMap::new();
        let held = |limits: &RateLimits| {
            matches!(
                limits.budgets.take(&key.url, Instant::now()),
                budget::Turn::At(_)
            )
        };
        limits.after(&key, &none, delay, Retry::Never);
        assert!(!held(&limits), "a provoked limit held the URL");
        limits.after(&key, &none, delay, Retry::IfNotProcessed);
        assert!(held(&limits), "a limit met by chance did not hold the URL");
    }
}
