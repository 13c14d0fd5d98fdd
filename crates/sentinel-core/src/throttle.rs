//! Sign-in throttling per account, whatever the number of addresses guessing.
//!
//! Policy (docs/SECURITY.md): failures are counted in a 15-minute window that
//! starts at the first one. The first five cost nothing; after that each attempt
//! waits an exponentially growing delay after the last failure (1, 2, 4, 8 s...);
//! the tenth failure in the window locks the account for 15 minutes. During a wait
//! or a lock no password is checked, the right one included: that is what bounds
//! guessing to ten per account per 15 minutes. A lock expires by itself (an
//! attacker can delay a user, never shut them out for good) and an admin lifts it
//! early with `sentinel user unlock NAME`; a correct password clears the count.

use time::{Duration, OffsetDateTime};

/// Failures allowed before delays start.
pub const FREE_FAILURES: u32 = 5;
/// Failures in a window that lock the account.
pub const LOCK_AFTER: u32 = 10;
/// How long failures are remembered, and how long a lock lasts.
pub const WINDOW: Duration = Duration::minutes(15);

/// One account's recent failures, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Failures in the current window.
    pub failures: u32,
    /// The window's first failure.
    pub first_at: OffsetDateTime,
    /// The latest failure.
    pub last_at: OffsetDateTime,
    /// Locked until then, if locked.
    pub locked_until: Option<OffsetDateTime>,
}

/// Whether an attempt may be checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password.
    Allow,
    /// Refuse without checking; try again after this long.
    Wait(Duration),
    /// Locked; refuse without checking until the lock ends in this long.
    Locked(Duration),
}

impl Throttle {
    /// The throttle as it stands at `now` (an expired window counts for nothing).
    pub fn current(self, now: OffsetDateTime) -> Option<Throttle> {
        let locked = self.locked_until.is_some_and(|t| t > now);
        (locked || now - self.first_at < WINDOW).then_some(self)
    }

    /// Whether an attempt at `now` may be checked.
    pub fn verdict(state: Option<Throttle>, now: OffsetDateTime) -> Verdict {
        let Some(t) = state.and_then(|t| t.current(now)) else {
            return Verdict::Allow;
        };
        if let Some(until) = t.locked_until.filter(|u| *u > now) {
            return Verdict::Locked(until - now);
        }
        if t.failures >= FREE_FAILURES {
            let delay = Duration::seconds(1 << (t.failures - FREE_FAILURES).min(16));
            let ready = t.last_at + delay;
            if ready > now {
                return Verdict::Wait(ready - now);
            }
        }
        Verdict::Allow
    }

    /// The state after one more failure at `now`.
    pub fn after_failure(state: Option<Throttle>, now: OffsetDateTime) -> Throttle {
        let t = match state.and_then(|t| t.current(now)) {
            // A lock that has run out starts a fresh window.
            Some(t) if t.locked_until.is_none_or(|u| u > now) => Throttle {
                failures: t.failures + 1,
                last_at: now,
                ..t
            },
            _ => Throttle {
                failures: 1,
                first_at: now,
                last_at: now,
                locked_until: None,
            },
        };
        if t.failures >= LOCK_AFTER && t.locked_until.is_none() {
            Throttle {
                locked_until: Some(now + WINDOW),
                ..t
            }
        } else {
            t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(1_000_000 + s)
    }

    #[test]
    fn five_free_failures_then_growing_delays_then_a_lock_that_expires() {
        let mut state = None;
        let mut t = 0;
        for _ in 0..5 {
            assert_eq!(Throttle::verdict(state, at(t)), Verdict::Allow);
            state = Some(Throttle::after_failure(state, at(t)));
        }
        // The sixth attempt waits a second, the seventh two...
        assert_eq!(
            Throttle::verdict(state, at(t)),
            Verdict::Wait(Duration::seconds(1))
        );
        for wait in [1, 2, 4, 8, 16] {
            t += wait;
            assert_eq!(
                Throttle::verdict(state, at(t)),
                Verdict::Allow,
                "after {wait} s"
            );
            state = Some(Throttle::after_failure(state, at(t)));
        }
        // Ten failures: locked for 15 minutes, the right password included.
        assert_eq!(state.unwrap().failures, 10);
        assert_eq!(
            Throttle::verdict(state, at(t + 60)),
            Verdict::Locked(Duration::minutes(14))
        );
        assert_eq!(Throttle::verdict(state, at(t + 900)), Verdict::Allow);
        // After the lock a failure starts a new window.
        let next = Throttle::after_failure(state, at(t + 901));
        assert_eq!((next.failures, next.locked_until), (1, None));
    }

    #[test]
    fn at_most_ten_guesses_per_window_however_fast_they_come() {
        // An attacker trying every second for an hour gets at most ten checks per
        // fifteen minutes.
        let mut state = None;
        let mut checked = Vec::new();
        for s in 0..3600 {
            if Throttle::verdict(state, at(s)) == Verdict::Allow {
                checked.push(s);
                state = Some(Throttle::after_failure(state, at(s)));
            }
        }
        for (i, first) in checked.iter().enumerate() {
            let in_window = checked[i..]
                .iter()
                .take_while(|s| **s < first + 900)
                .count();
            assert!(in_window <= 10, "{in_window} checks from {first} s");
        }
    }

    #[test]
    fn an_old_window_is_forgotten() {
        let first = Throttle::after_failure(None, at(0));
        assert_eq!(Throttle::after_failure(Some(first), at(901)).failures, 1);
        assert_eq!(first.current(at(901)), None);
    }
}
