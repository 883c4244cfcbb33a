//! What a run sent and waited for, per endpoint.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Serialize;
use url::Url;

use super::{Pace, secs};

/// A method and a URL without query, fragment or user info: what the stats count by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Endpoint {
    pub(super) url: String,
    pub(super) method: String,
}

impl Endpoint {
    pub(crate) fn of(method: &Method, url: &Url) -> Endpoint {
        let mut u = url.clone();
        u.set_query(None);
        u.set_fragment(None);
        let _ = u.set_username("");
        let _ = u.set_password(None);
        Endpoint {
            url: u.to_string(),
            method: method.to_string(),
        }
    }
}

/// Counts and the pace, shared by every fork of a transport.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pace: Option<Pace>,
    counts: Mutex<BTreeMap<Endpoint, Counts>>,
    /// When the next request to each URL may start, under the pace.
    next_start: Mutex<HashMap<String, Instant>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    requests: u64,
    limited: u64,
    waited: Duration,
    paced: Duration,
}

impl Ledger {
    pub(super) fn new(pace: Option<Pace>) -> Self {
        Ledger {
            pace,
            ..Ledger::default()
        }
    }

    fn count(&self, key: &Endpoint, f: impl FnOnce(&mut Counts)) {
        if let Ok(mut counts) = self.counts.lock() {
            f(counts.entry(key.clone()).or_default());
        }
    }

    /// Counts a request about to be sent.
    pub(crate) fn sent(&self, key: &Endpoint) {
        self.count(key, |c| c.requests += 1);
    }

    /// Counts an answer that was a rate limit.
    pub(super) fn limited(&self, key: &Endpoint) {
        self.count(key, |c| c.limited += 1);
    }

    /// Adds a wait for a window the server announced to reset: the runner keeping to the
    /// limit, counted with the pace.
    pub(super) fn held(&self, key: &Endpoint, wait: Duration) {
        self.count(key, |c| c.paced += wait);
    }

    /// Adds a wait for a rate limit.
    pub(super) fn waited(&self, key: &Endpoint, wait: Duration) {
        self.count(key, |c| c.waited += wait);
    }

    /// Waits, under the pace, for the URL's next turn. Turns are handed out in order, so
    /// concurrent requests to one URL are spread by the interval too.
    pub(crate) async fn pace(&self, key: &Endpoint) {
        let Some(pace) = self.pace else { return };
        let now = Instant::now();
        let start = match self.next_start.lock() {
            Ok(mut next) => {
                let slot = next.entry(key.url.clone()).or_insert(now);
                let start = (*slot).max(now);
                *slot = start + pace.interval;
                start
            }
            Err(_) => now,
        };
        if start > now {
            tokio::time::sleep_until(start.into()).await;
            self.count(key, |c| c.paced += start - now);
        }
    }

    pub(super) fn stats(&self) -> RequestStats {
        let counts = self.counts.lock().map(|c| c.clone()).unwrap_or_default();
        RequestStats {
            endpoints: counts
                .into_iter()
                .map(|(key, c)| EndpointStats {
                    method: key.method,
                    url: key.url,
                    requests: c.requests,
                    limited: c.limited,
                    waited: c.waited,
                    paced: c.paced,
                })
                .collect(),
        }
    }
}

/// Requests per endpoint over a whole run (every fork of the transport), for the run summary
/// and results.json.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestStats {
    /// Ordered by URL, then method.
    pub endpoints: Vec<EndpointStats>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointStats {
    pub method: String,
    /// Without query, fragment or user info.
    pub url: String,
    /// Requests sent, retries included.
    pub requests: u64,
    /// Answers that were rate limits: 429s, and 503s with `Retry-After`.
    pub limited: u64,
    /// Time spent waiting as the server asked.
    #[serde(rename = "waited_secs", serialize_with = "as_secs")]
    pub waited: Duration,
    /// Time spent waiting for the pace, or for a window the server announced to reset.
    #[serde(rename = "paced_secs", serialize_with = "as_secs")]
    pub paced: Duration,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

impl RequestStats {
    /// The stats of one endpoint (`url` without query).
    pub fn get(&self, method: &str, url: &str) -> Option<&EndpointStats> {
        self.endpoints
            .iter()
            .find(|e| e.method.eq_ignore_ascii_case(method) && e.url == url)
    }

    pub fn requests(&self) -> u64 {
        self.endpoints.iter().map(|e| e.requests).sum()
    }

    pub fn limited(&self) -> u64 {
        self.endpoints.iter().map(|e| e.limited).sum()
    }

    pub fn waited(&self) -> Duration {
        self.endpoints.iter().map(|e| e.waited).sum()
    }
}

/// One line per endpoint: `POST https://as.example/token: 34 requests, 3 rate limited,
/// waited 45 s`.
impl fmt::Display for RequestStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.endpoints {
            write!(f, "{} {}: {} requests", e.method, e.url, e.requests)?;
            if e.limited > 0 {
                write!(f, ", {} rate limited", e.limited)?;
            }
            if !e.waited.is_zero() {
                write!(f, ", waited {}", secs(e.waited))?;
            }
            if !e.paced.is_zero() {
                write!(f, ", paced {}", secs(e.paced))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
