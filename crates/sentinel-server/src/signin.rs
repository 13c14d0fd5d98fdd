//! The sign-in throttle at the door: per account (the policy is
//! `sentinel_core::throttle`, the count is shared through the store by every node)
//! on top of the per-address limit. Throttled attempts are refused before any
//! password is checked, answered 429 with `Retry-After`, logged as security events
//! and counted in `/metrics`.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use sentinel_core::throttle::{LOCK_AFTER, Throttle, Verdict};
use std::sync::atomic::{AtomicI64, Ordering};
use time::{Duration, OffsetDateTime};

/// The clock time-based security rules read; tests move it forward instead of
/// waiting fifteen minutes.
#[derive(Debug, Default)]
pub struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    /// Now, as this server counts it.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves the clock forward (tests only need this).
    pub fn advance(&self, by: Duration) {
        self.offset_secs
            .fetch_add(by.whole_seconds(), Ordering::Relaxed);
    }
}

/// What the check before a password is verified found out.
pub(crate) struct Gate {
    account: String,
    shown: String,
    had_failures: bool,
}

/// Refuses an attempt while the account waits or is locked.
pub(crate) async fn before(s: &AppState, account: String, shown: String) -> ApiResult<Gate> {
    let now = s.clock.now();
    let state = s.store.sign_in_throttle(&account).await?;
    match Throttle::verdict(state, now) {
        Verdict::Allow => Ok(Gate {
            account,
            shown,
            had_failures: state.is_some(),
        }),
        Verdict::Wait(d) | Verdict::Locked(d) => {
            s.metrics.security_event("sign_in_throttled");
            tracing::warn!(account = %shown, wait_s = d.whole_seconds(), "security: sign-in throttled");
            Err(ApiError::TooManyRequests {
                retry_after: u64::try_from(d.whole_seconds()).unwrap_or(0) + 1,
            })
        }
    }
}

/// Records how the attempt ended.
pub(crate) async fn after(s: &AppState, gate: Gate, ok: bool) -> ApiResult<()> {
    if ok {
        if gate.had_failures {
            s.store.clear_sign_in_failures(&gate.account).await?;
        }
        return Ok(());
    }
    let t = s.store.sign_in_failed(&gate.account, s.clock.now()).await?;
    if t.failures == LOCK_AFTER {
        s.metrics.security_event("account_locked");
        tracing::warn!(account = %gate.shown, "security: account locked for 15 minutes after 10 failed sign-ins");
    } else {
        s.metrics.security_event("sign_in_failed");
        tracing::info!(account = %gate.shown, failures = t.failures, "security: failed sign-in");
    }
    Ok(())
}
