//! The bounds on what one target can make the runner do: how long a request may take, how
//! much of a body is read, how many redirects a login follows, how long one scenario's
//! requests may take all together; and how far a response had come when one was reached, so
//! that the error says what the target did.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Limits {
    /// One request, from sending to the body's last byte.
    pub timeout: Duration,
    /// The largest body read; a larger one (declared or sent) is refused.
    pub max_body_bytes: usize,
    /// Redirects one authorization may follow.
    pub max_redirects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            max_body_bytes: 1024 * 1024,
            max_redirects: 10,
        }
    }
}

/// The most header lines a response may have: the HTTP stack's own limit (hyper's default),
/// which refuses a longer head, as it does one over about 400 kB.
pub const MAX_HEADER_LINES: usize = 100;

/// One scenario's requests may take this many per-request timeouts all together: a target
/// that answers every request just in time cannot hold a scenario for ever.
pub const SCENARIO_BUDGET_TIMEOUTS: u32 = 20;

/// How far a response had come when the transport gave up on it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Phase {
    /// Before the status line and headers were complete.
    Head,
    /// Reading the body.
    Body,
    /// Reading a `text/event-stream` body.
    Events,
}

impl Phase {
    /// What had not arrived when the request's `timeout` ran out.
    pub(crate) fn timed_out(self, timeout: Duration) -> String {
        match self {
            Phase::Head => {
                format!("no answer within {timeout:?} (no complete status line and headers)")
            }
            Phase::Body => format!("the headers came but the body did not end within {timeout:?}"),
            Phase::Events => {
                format!("the event stream did not end within {timeout:?} (no complete response)")
            }
        }
    }

    pub(crate) fn broken(self) -> &'static str {
        match self {
            Phase::Head => "the response head was unusable",
            Phase::Body | Phase::Events => "the response body broke off or was malformed",
        }
    }
}
