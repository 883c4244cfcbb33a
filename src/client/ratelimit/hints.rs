//! Reading a "slow down" answer: how long the server asks the client to wait.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::budget::Announced;
use super::secs;

/// The wait after a 429 that gives no hint at all; it doubles with each further retry.
const BACKOFF: Duration = Duration::from_secs(2);
/// `X-RateLimit-Reset` values from here on are instants (Unix seconds), not delays.
const UNIX_SECONDS_FROM: u64 = 1_000_000_000;

/// How long the server asked to wait, and where it said so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delay {
    pub wait: Duration,
    pub source: DelaySource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelaySource {
    RetryAfter,
    /// A rate-limit header standing in for a missing `Retry-After`: `RateLimit`,
    /// `RateLimit-Reset` or `X-RateLimit-Reset`.
    Hint(&'static str),
    /// No hint at all: an exponential backoff.
    Backoff,
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wait = secs(self.wait);
        match self.source {
            DelaySource::RetryAfter => write!(f, "Retry-After {wait}"),
            DelaySource::Hint(header) => write!(f, "{header} {wait}"),
            DelaySource::Backoff => write!(f, "no Retry-After, backoff {wait}"),
        }
    }
}

/// The delay a "slow down" answer asks for, or `None` for any other answer: a 429, or a 503
/// with `Retry-After` (a 503 without one is an ordinary answer). `retries` is how often the
/// request was already sent again; the backoff grows with it.
pub fn slow_down(status: StatusCode, headers: &HeaderMap, retries: u32) -> Option<Delay> {
    let retry_after = header(headers, "retry-after");
    if status != StatusCode::TOO_MANY_REQUESTS
        && !(status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_some())
    {
        return None;
    }
    let now = server_clock(headers);
    let stated = retry_after
        .and_then(|v| retry_after_wait(v, now))
        .map(|wait| Delay {
            wait,
            source: DelaySource::RetryAfter,
        })
        .or_else(|| hint(headers, now));
    Some(stated.unwrap_or_else(|| Delay {
        wait: BACKOFF.saturating_mul(1 << retries.min(16)),
        source: DelaySource::Backoff,
    }))
}

/// `Retry-After`: delay-seconds, or an HTTP-date (RFC 9110 §10.2.3).
fn retry_after_wait(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        // All digits but too large for u64: as good as forever.
        return Some(Duration::from_secs(v.parse().unwrap_or(u64::MAX)));
    }
    parse_http_date(v).map(|at| at.duration_since(now).unwrap_or_default())
}

/// The rate-limit headers' reset time, where `Retry-After` is missing.
fn hint(headers: &HeaderMap, now: SystemTime) -> Option<Delay> {
    let delay = |source: &'static str, seconds: u64| Delay {
        wait: Duration::from_secs(seconds),
        source: DelaySource::Hint(source),
    };
    // `RateLimit: "default";r=0;t=30` (draft-ietf-httpapi-ratelimit-headers), or the earlier
    // drafts' `RateLimit: limit=10, remaining=0, reset=30`; the longest reset of all policies.
    let params = header(headers, "ratelimit")
        .into_iter()
        .flat_map(|v| v.split([',', ';']));
    let reset = params
        .filter_map(|p| {
            let p = p.trim();
            p.strip_prefix("t=")
                .or_else(|| p.strip_prefix("reset="))
                .and_then(|n| n.trim().parse::<u64>().ok())
        })
        .max();
    if let Some(s) = reset {
        return Some(delay("RateLimit", s));
    }
    if let Some(s) = header(headers, "ratelimit-reset").and_then(|v| v.trim().parse().ok()) {
        return Some(delay("RateLimit-Reset", s));
    }
    let s: u64 = header(headers, "x-ratelimit-reset")?.trim().parse().ok()?;
    if s < UNIX_SECONDS_FROM {
        return Some(delay("X-RateLimit-Reset", s));
    }
    let at = UNIX_EPOCH + Duration::from_secs(s);
    Some(Delay {
        wait: at.duration_since(now).unwrap_or_default(),
        source: DelaySource::Hint("X-RateLimit-Reset"),
    })
}

/// The server's `Date`, so that an HTTP-date is read on the server's clock; else ours.
fn server_clock(headers: &HeaderMap) -> SystemTime {
    header(headers, "date")
        .and_then(parse_http_date)
        .unwrap_or_else(SystemTime::now)
}

/// What an answer (any answer, not only a "slow down") says of its URL's limit: the requests
/// left in the window and when it resets, from `RateLimit` (`remaining=`/`r=`, `reset=`/`t=`;
/// the smallest remaining of all policies), `RateLimit-Remaining` or `X-RateLimit-Remaining`
/// with the matching reset, and the limit from `limit=`, `RateLimit-Policy`, `RateLimit-Limit`
/// or `X-RateLimit-Limit`. `None` when the answer names no remaining count and reset.
pub fn announced(headers: &HeaderMap) -> Option<Announced> {
    let now = server_clock(headers);
    let ratelimit = header(headers, "ratelimit").unwrap_or("");
    let number = |text: &str, keys: &[&str]| -> Option<u64> {
        text.split([',', ';'])
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| keys.contains(&k.trim()))
            .and_then(|(_, v)| v.trim().parse().ok())
    };
    // The structured form names one policy per item (`"minute";r=1;t=30, "hour";r=90;t=3000`):
    // the one with the fewest requests left governs, with its own reset. The earlier form is
    // one list (`limit=30, remaining=4, reset=40`).
    let structured = ratelimit
        .split(',')
        .filter_map(|item| Some((number(item, &["r"])?, number(item, &["t"]))))
        .min_by_key(|(r, t)| (*r, std::cmp::Reverse(*t)));
    let (remaining, reset) = match structured {
        Some((r, t)) => (r, t.map(Duration::from_secs)),
        None => {
            let remaining = number(ratelimit, &["remaining"]).or_else(|| {
                ["ratelimit-remaining", "x-ratelimit-remaining"]
                    .iter()
                    .find_map(|h| header(headers, h).and_then(|v| v.trim().parse().ok()))
            })?;
            (remaining, None)
        }
    };
    let reset = reset.or_else(|| hint(headers, now).map(|d| d.wait))?;
    let policy_quota = header(headers, "ratelimit-policy").and_then(|v| {
        let first = v.split([',', ';']).next()?.trim();
        first.parse().ok().or_else(|| number(v, &["q"]))
    });
    let limit = number(ratelimit, &["limit"]).or(policy_quota).or_else(|| {
        ["ratelimit-limit", "x-ratelimit-limit"]
            .iter()
            .find_map(|h| header(headers, h).and_then(|v| v.trim().parse().ok()))
    });
    Some(Announced {
        limit,
        remaining,
        reset,
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// An HTTP-date (RFC 9110 §5.6.7): IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), or the
/// obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37
/// 1994`) forms. The weekday is not checked.
pub fn parse_http_date(text: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = text
        .split([' ', ',', '-'])
        .filter(|p| !p.is_empty())
        .collect();
    let (day, month, year, time) = match parts.as_slice() {
        [_, day, month, year, time, "GMT"] => (*day, *month, *year, *time),
        [_, month, day, time, year] => (*day, *month, *year, *time),
        _ => return None,
    };
    let day: u64 = day.parse().ok()?;
    let month = 1 + MONTHS.iter().position(|m| *m == month)? as u64;
    let year: u64 = match year.parse().ok()? {
        // RFC 850's two-digit years: RFC 9110 reads them as within 50 years of now.
        y @ 0..70 if year.len() == 2 => 2000 + y,
        y @ 70..100 if year.len() == 2 => 1900 + y,
        y => y,
    };
    let mut hms = time.split(':').map(|n| n.parse::<u64>().ok());
    let (Some(Some(h)), Some(Some(m)), Some(Some(s)), None) =
        (hms.next(), hms.next(), hms.next(), hms.next())
    else {
        return None;
    };
    if !(1..=31).contains(&day) || year < 1970 || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    Some(UNIX_EPOCH + Duration::from_secs(days * 86_400 + h * 3600 + m * 60 + s))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days from 1970-01-01 to a civil date of 1970 or later (the proleptic Gregorian calendar).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("test header"));
        }
        h
    }

    const RFC_EXAMPLE: u64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT

    #[test]
    fn the_three_http_date_forms_of_rfc_9110_are_read() {
        let at = Some(UNIX_EPOCH + Duration::from_secs(RFC_EXAMPLE));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), at);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), at);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), at);
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"), Some(leap));
        for bad in [
            "",
            "900",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date_on_the_servers_clock() {
        let d = slow_down(
            StatusCode::TOO_MANY_REQUESTS,
            &headers(&[("retry-after", "900")]),
            0,
        );
        assert_eq!(
            d,
            Some(Delay {
                wait: Duration::from_secs(900),
                source: DelaySource::RetryAfter
            })
        );
        // The date is read against the server's Date, whatever this machine's clock says.
        let h = headers(&[
            ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("retry-after", "Sun, 06 Nov 1994 08:51:07 GMT"),
        ]);
        let d = slow_down(StatusCode::SERVICE_UNAVAILABLE, &h, 0).expect("a limit");
        assert_eq!(d.wait, Duration::from_secs(90));
        assert_eq!(d.to_string(), "Retry-After 90 s");
        // A date in the past: no wait (the caller's floor applies).
        let h = headers(&[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")]);
        let d = slow_down(StatusCode::TOO_MANY_REQUESTS, &h, 0).expect("a limit");
        assert_eq!(d.wait, Duration::ZERO);
    }

    #[test]
    fn only_429_and_503_with_retry_after_are_limits() {
        let none = HeaderMap::new();
        let ra = headers(&[("retry-after", "5")]);
        assert_eq!(slow_down(StatusCode::SERVICE_UNAVAILABLE, &none, 0), None);
        assert!(slow_down(StatusCode::SERVICE_UNAVAILABLE, &ra, 0).is_some());
        assert_eq!(slow_down(StatusCode::BAD_REQUEST, &ra, 0), None);
        assert_eq!(slow_down(StatusCode::OK, &ra, 0), None);
    }

    #[test]
    fn rate_limit_headers_stand_in_for_a_missing_retry_after() {
        let limit = StatusCode::TOO_MANY_REQUESTS;
        let wait = |pairs: &[(&'static str, &str)]| {
            slow_down(limit, &headers(pairs), 0).map(|d| (d.wait.as_secs(), d.source))
        };
        assert_eq!(
            wait(&[("ratelimit", "\"default\";r=0;t=30")]),
            Some((30, DelaySource::Hint("RateLimit")))
        );
        assert_eq!(
            wait(&[("ratelimit", "limit=10, remaining=0, reset=45")]),
            Some((45, DelaySource::Hint("RateLimit")))
        );
        assert_eq!(
            wait(&[("ratelimit-reset", "12")]),
            Some((12, DelaySource::Hint("RateLimit-Reset")))
        );
        assert_eq!(
            wait(&[("x-ratelimit-reset", "7")]),
            Some((7, DelaySource::Hint("X-RateLimit-Reset")))
        );
        // Unix seconds: 2025-01-01T00:01:00Z, a minute after the server's Date.
        let instant = (1_735_689_600 + 60).to_string();
        assert_eq!(
            wait(&[
                ("date", "Wed, 01 Jan 2025 00:00:00 GMT"),
                ("x-ratelimit-reset", &instant)
            ]),
            Some((60, DelaySource::Hint("X-RateLimit-Reset")))
        );
        // Retry-After wins over the hints.
        assert_eq!(
            wait(&[("retry-after", "3"), ("ratelimit-reset", "12")]),
            Some((3, DelaySource::RetryAfter))
        );
    }

    #[test]
    fn without_any_hint_the_backoff_doubles() {
        let h = headers(&[("retry-after", "soon")]);
        let waits: Vec<u64> = (0..3)
            .filter_map(|n| slow_down(StatusCode::TOO_MANY_REQUESTS, &h, n))
            .map(|d| d.wait.as_secs())
            .collect();
        assert_eq!(waits, [2, 4, 8]);
        let d = slow_down(StatusCode::TOO_MANY_REQUESTS, &h, 40).expect("a limit");
        assert_eq!(d.source, DelaySource::Backoff);
    }

    #[test]
    fn any_answer_may_announce_what_is_left_of_the_window() {
        let said = |pairs: &[(&'static str, &str)]| {
            announced(&headers(pairs)).map(|a| (a.limit, a.remaining, a.reset.as_secs()))
        };
        assert_eq!(
            said(&[("ratelimit", "limit=30, remaining=4, reset=40")]),
            Some((Some(30), 4, 40))
        );
        assert_eq!(
            said(&[
                ("ratelimit", "\"default\";r=3;t=20"),
                ("ratelimit-policy", "\"default\";q=10;w=60")
            ]),
            Some((Some(10), 3, 20))
        );
        assert_eq!(
            said(&[
                ("ratelimit-policy", "30;w=60"),
                ("ratelimit", "limit=30, remaining=0, reset=9")
            ]),
            Some((Some(30), 0, 9))
        );
        assert_eq!(
            said(&[
                ("ratelimit-limit", "20"),
                ("ratelimit-remaining", "19"),
                ("ratelimit-reset", "3600")
            ]),
            Some((Some(20), 19, 3600))
        );
        assert_eq!(
            said(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "12")]),
            Some((None, 0, 12))
        );
        // Of two policies, the one with the fewest requests left.
        assert_eq!(
            said(&[("ratelimit", "\"hour\";r=90;t=3000, \"minute\";r=1;t=30")]),
            Some((None, 1, 30))
        );
        // No remaining count, or no reset: nothing announced.
        assert_eq!(said(&[("ratelimit-reset", "12")]), None);
        assert_eq!(said(&[("ratelimit-remaining", "12")]), None);
        assert_eq!(said(&[("ratelimit", "remaining=many, reset=3")]), None);
        assert_eq!(said(&[]), None);
    }
}
