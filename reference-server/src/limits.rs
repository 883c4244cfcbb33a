//! The limits that keep the server answering when someone floods it: the registration rate
//! limit per client address. (The client store's fair share is in `store`; the timeouts, size
//! limits and the connection bound are set where the listeners are served.)

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// The limiter's key table is pruned of addresses whose allowance is back to full once it
/// holds this many.
const PRUNE_ABOVE: usize = 10_000;

type Keyed =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

/// Registrations per client address: a burst of `per_minute`, refilled evenly over a minute
/// (the generic cell rate algorithm). `per_minute` 0 means unlimited.
pub struct RegistrationLimiter {
    limiter: Option<Keyed>,
    per_minute: u32,
}

/// A registration refused by the rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany {
    /// The limit: registrations a minute.
    pub limit: u32,
    /// Whole seconds until this address may register again (at least 1).
    pub retry_after: u64,
}

impl RegistrationLimiter {
    pub fn new(per_minute: u32) -> Self {
        RegistrationLimiter {
            limiter: NonZeroU32::new(per_minute).map(|n| {
                RateLimiter::keyed(Quota::per_minute(n))
                    .with_middleware::<StateInformationMiddleware>()
            }),
            per_minute,
        }
    }

    /// Counts one registration from `ip`: `Ok` with what is left of its allowance, or how
    /// long it must wait.
    pub fn check(&self, ip: IpAddr) -> Result<Option<u32>, TooMany> {
        let Some(limiter) = &self.limiter else {
            return Ok(None);
        };
        if limiter.len() > PRUNE_ABOVE {
            limiter.retain_recent();
        }
        match limiter.check_key(&ip) {
            Ok(snapshot) => Ok(Some(snapshot.remaining_burst_capacity())),
            Err(not_until) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                Err(TooMany {
                    limit: self.per_minute,
                    retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn an_address_gets_its_burst_then_waits_while_others_go_on() {
        let limiter = RegistrationLimiter::new(3);
        let a = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(limiter.check(a), Ok(Some(2)));
        assert_eq!(limiter.check(a), Ok(Some(1)));
        assert_eq!(limiter.check(a), Ok(Some(0)));
        let refused = limiter.check(a).unwrap_err();
        assert_eq!(refused.limit, 3);
        // One registration comes back every 20 s.
        assert!((1..=20).contains(&refused.retry_after), "{refused:?}");
        assert_eq!(limiter.check(b), Ok(Some(2)));
    }

    #[test]
    fn zero_is_unlimited() {
        let limiter = RegistrationLimiter::new(0);
        let a = IpAddr::V4(Ipv4Addr::LOCALHOST);
        for _ in 0..10_000 {
            assert_eq!(limiter.check(a), Ok(None));
        }
    }
}
