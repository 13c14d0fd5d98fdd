//! Rate limits: a token bucket per key (a client address for public endpoints, an
//! application for Open311 keys).

use crate::error::ApiError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

/// A keyed limiter, or nothing when turned off.
pub struct RateLimit<K = IpAddr>
where
    K: Hash + Eq + Clone,
{
    limiter: Option<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> RateLimit<K> {
    /// `per_minute` requests a minute per address with `burst` extra; 0 turns it off.
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        let limiter = NonZeroU32::new(per_minute).map(|rate| {
            let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
            RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst))
        });
        RateLimit { limiter }
    }

    /// Takes one request's worth, or says how long to wait.
    pub fn check(&self, key: K) -> Result<(), ApiError> {
        let Some(l) = &self.limiter else {
            return Ok(());
        };
        l.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TooManyRequests {
                retry_after: wait.as_secs() + 1,
            }
        })?;
        // Forget idle addresses now and then so the table stays small.
        if l.len() > 100_000 {
            l.retain_recent();
        }
        Ok(())
    }
}
