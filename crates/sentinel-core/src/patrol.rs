//! Patrol coverage (巡逻): whether a point got the visits it should have by now.
//!
//! A point asks for `per_day` visits spread over the local day, so by a given time
//! it should have had the share of the day that has passed. Pure: the caller
//! gives the count and the time.

use crate::report::string_enum;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::{OffsetDateTime, UtcOffset};

string_enum! {
    /// How a patrol point stands today.
    PatrolState {
        /// Every visit of the day is done.
        Done = "done",
        /// As many visits as the time of day asks for.
        OnTime = "on_time",
        /// On time now, but a visit falls due within the hour.
        Due = "due",
        /// Fewer visits than the time of day asks for.
        Overdue = "overdue",
    }
}

/// The start of the local day containing `now`.
pub fn day_start(now: OffsetDateTime, offset: UtcOffset) -> OffsetDateTime {
    now.to_offset(offset)
        .replace_time(time::Time::MIDNIGHT)
        .to_offset(time::UtcOffset::UTC)
}

/// How many visits a point needing `per_day` should have had by `now`.
pub fn expected_by(per_day: u32, now: OffsetDateTime, offset: UtcOffset) -> u32 {
    let elapsed = (now - day_start(now, offset)).as_seconds_f64() / 86_400.0;
    (f64::from(per_day) * elapsed.clamp(0.0, 1.0)).floor() as u32
}

/// The point's state with `visits` today.
pub fn state(visits: u32, per_day: u32, now: OffsetDateTime, offset: UtcOffset) -> PatrolState {
    if visits >= per_day {
        return PatrolState::Done;
    }
    if visits < expected_by(per_day, now, offset) {
        return PatrolState::Overdue;
    }
    let in_an_hour = now + time::Duration::hours(1);
    let same_day = day_start(in_an_hour, offset) == day_start(now, offset);
    if same_day && visits < expected_by(per_day, in_an_hour, offset) {
        PatrolState::Due
    } else {
        PatrolState::OnTime
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::CHINA;
    use time::macros::datetime;

    #[test]
    fn visits_are_expected_in_step_with_the_local_day() {
        // 08:00 China time = 00:00 UTC: a third of the day has passed.
        let now = datetime!(2026-11-26 00:00 UTC);
        assert_eq!(day_start(now, CHINA), datetime!(2026-11-25 16:00 UTC));
        assert_eq!(expected_by(6, now, CHINA), 2);
        assert_eq!(state(1, 6, now, CHINA), PatrolState::Overdue);
        assert_eq!(state(2, 6, now, CHINA), PatrolState::OnTime);
        assert_eq!(state(6, 6, now, CHINA), PatrolState::Done);
        // 07:30 China time: the second visit falls due at 08:00.
        let earlier = datetime!(2026-11-25 23:30 UTC);
        assert_eq!(state(1, 6, earlier, CHINA), PatrolState::Due);
        // Just after local midnight nothing is owed yet.
        let midnight = datetime!(2026-11-25 16:05 UTC);
        assert_eq!(state(0, 2, midnight, CHINA), PatrolState::OnTime);
        // 23:30: the next hour is tomorrow, so no visit falls due today.
        assert_eq!(
            state(5, 6, datetime!(2026-11-26 15:30 UTC), CHINA),
            PatrolState::OnTime
        );
    }
}
