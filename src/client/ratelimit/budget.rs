//! What a server has said of its limits, per URL, shared by every scenario of a run.
//!
//! A server that says how many requests are left in its window (`RateLimit`,
//! `RateLimit-Remaining`, `X-RateLimit-Remaining`), or that has answered "slow down" with a
//! wait, is sent no more than it allows: the next request to that URL waits for the window
//! to reset instead of running into the limit. Without this, every scenario that is under way
//! would run into the limit on its own, and wait on its own, again at each reset, until the
//! slowest gave up; with it, the run is as slow as the limit and no slower. A request that
//! waits here has not been refused: the wait is the runner keeping to the server's limit, so
//! it is counted as pacing, and bounded for each request (not summed) by `--max-wait`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What one answer said of the limit of its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announced {
    /// Requests a window, when the server says.
    pub limit: Option<u64>,
    /// Requests left in the current window.
    pub remaining: u64,
    /// Until the window resets.
    pub reset: Duration,
}

/// The runner's view of one URL's window.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    /// Requests a window, once announced.
    limit: Option<u64>,
    /// Requests that may still start before `resets`; `None` when not known (no limit seen).
    remaining: Option<u64>,
    /// When the window resets; `None` when not known.
    resets: Option<Instant>,
}

impl Window {
    /// A window whose reset has passed starts again with its whole limit (or, when the limit
    /// was never announced, with nothing known).
    fn roll_over(&mut self, now: Instant) {
        if self.resets.is_some_and(|at| now >= at) {
            self.remaining = self.limit;
            self.resets = None;
        }
    }
}

/// Whether a request may start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    Now,
    /// Not before this instant: the window has nothing left until then.
    At(Instant),
}

/// The windows of every URL a limit was seen for.
#[derive(Debug, Default)]
pub(crate) struct Budgets {
    windows: Mutex<HashMap<String, Window>>,
}

impl Budgets {
    fn with<T>(&self, url: &str, f: impl FnOnce(&mut Window) -> T) -> T {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        f(windows.entry(url.to_string()).or_default())
    }

    /// Takes a turn for a request to `url`: [`Turn::Now`] spends one of the window's
    /// requests; [`Turn::At`] says when to ask again.
    pub(crate) fn take(&self, url: &str, now: Instant) -> Turn {
        {
            let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
            if !windows.contains_key(url) {
                return Turn::Now;
            }
        }
        self.with(url, |w| {
            w.roll_over(now);
            match (w.remaining, w.resets) {
                (Some(0), Some(at)) => Turn::At(at),
                (Some(n), _) => {
                    w.remaining = Some(n.saturating_sub(1));
                    Turn::Now
                }
                (None, _) => Turn::Now,
            }
        })
    }

    /// When the window of `url` has fewer than `room` requests left: the instant it resets.
    /// Takes nothing.
    pub(crate) fn short_until(&self, url: &str, room: u64, now: Instant) -> Option<Instant> {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let w = windows.get(url)?;
        match (w.remaining, w.resets) {
            (Some(left), Some(at)) if left < room && at > now => Some(at),
            _ => None,
        }
    }

    /// Learns what an answer said. Requests already under way when the server counted are
    /// not in its `remaining`, so the smaller of its count and the runner's holds.
    pub(crate) fn learn(&self, url: &str, said: Announced, now: Instant) {
        self.with(url, |w| {
            w.roll_over(now);
            w.limit = said.limit.or(w.limit);
            w.remaining = Some(
                w.remaining
                    .map_or(said.remaining, |r| r.min(said.remaining)),
            );
            w.resets = Some(now + said.reset);
        });
    }

    /// After a "slow down" answer: nothing more starts before `until`.
    pub(crate) fn hold(&self, url: &str, until: Instant, now: Instant) {
        self.with(url, |w| {
            w.roll_over(now);
            w.remaining = Some(0);
            w.resets = Some(w.resets.map_or(until, |at| at.max(until)));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://as.example/token";

    fn said(limit: u64, remaining: u64, reset: u64) -> Announced {
        Announced {
            limit: Some(limit),
            remaining,
            reset: Duration::from_secs(reset),
        }
    }

    #[test]
    fn a_url_without_a_limit_seen_is_never_held() {
        let b = Budgets::default();
        let now = Instant::now();
        for _ in 0..1000 {
            assert_eq!(b.take(URL, now), Turn::Now);
        }
    }

    #[test]
    fn the_announced_remaining_requests_start_and_the_next_waits_for_the_reset() {
        let b = Budgets::default();
        let now = Instant::now();
        b.learn(URL, said(30, 2, 40), now);
        assert_eq!(b.short_until(URL, 2, now), None);
        assert_eq!(
            b.short_until(URL, 3, now),
            Some(now + Duration::from_secs(40))
        );
        assert_eq!(b.take(URL, now), Turn::Now);
        assert_eq!(b.take(URL, now), Turn::Now);
        let reset = now + Duration::from_secs(40);
        assert_eq!(b.take(URL, now), Turn::At(reset));
        assert_eq!(b.short_until(URL, 1, now), Some(reset));
        assert_eq!(b.short_until(URL, 1, reset), None);
        // At the reset the whole limit is there again, and spent one by one.
        for _ in 0..30 {
            assert_eq!(b.take(URL, reset), Turn::Now);
        }
        // When the new window resets is not known until an answer says it: the runner does
        // not hold requests on a guess (a 429 would tell it).
        assert_eq!(b.take(URL, reset), Turn::Now);
        // Another URL is not held by this one's limit.
        assert_eq!(b.take("https://as.example/register", now), Turn::Now);
    }

    #[test]
    fn requests_under_way_are_not_counted_twice_or_forgotten() {
        let b = Budgets::default();
        let now = Instant::now();
        b.learn(URL, said(10, 5, 30), now);
        for _ in 0..5 {
            assert_eq!(b.take(URL, now), Turn::Now);
        }
        // A late answer, counted before the five started, says 4 left: the runner knows better.
        b.learn(URL, said(10, 4, 29), now);
        assert!(matches!(b.take(URL, now), Turn::At(_)));
    }

    #[test]
    fn a_slow_down_answer_holds_every_request_to_the_url_until_its_wait_is_over() {
        let b = Budgets::default();
        let now = Instant::now();
        let until = now + Duration::from_secs(20);
        b.hold(URL, until, now);
        assert_eq!(b.take(URL, now), Turn::At(until));
        assert_eq!(b.take(URL, now + Duration::from_secs(19)), Turn::At(until));
        // No limit was announced: after the wait, requests go as before.
        assert_eq!(b.take(URL, until), Turn::Now);
        assert_eq!(b.take(URL, until), Turn::Now);
        // A shorter hold does not cut a longer one short.
        b.hold(URL, until + Duration::from_secs(60), until);
        b.hold(URL, until + Duration::from_secs(1), until);
        assert_eq!(
            b.take(URL, until),
            Turn::At(until + Duration::from_secs(60))
        );
    }
}
