//! The deadline sweep: for every open report past its deadline, a reminder (催办)
//! event at the deadline and, after the configured delay, an escalation (督办) to
//! the dispatcher. Each is written once per deadline, so running the sweep again,
//! or on several nodes, adds nothing twice.

use crate::AppState;
use crate::error::ApiError;
use time::{Duration, OffsetDateTime};

/// What one sweep wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Reminders written.
    pub reminded: usize,
    /// Escalations written.
    pub escalated: usize,
}

/// Runs one sweep as of `now` (the clock is a parameter so tests can move it).
pub async fn sweep(state: &AppState, now: OffsetDateTime) -> Result<Swept, ApiError> {
    let delay = Duration::hours(i64::from(state.catalog().escalate_after_hours));
    let mut done = Swept::default();
    loop {
        let batch = state.store.overdue(now, delay, 500).await?;
        if batch.is_empty() {
            return Ok(done);
        }
        let mut progress = false;
        for item in &batch {
            if item.remind && state.store.record_overdue(item, false, now).await? {
                done.reminded += 1;
                progress = true;
            }
            if item.escalate && state.store.record_overdue(item, true, now).await? {
                done.escalated += 1;
                progress = true;
            }
        }
        if !progress {
            return Ok(done);
        }
    }
}
