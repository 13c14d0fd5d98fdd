//! Working days and deadlines. China moves weekends around its public holidays
//! (调休): a Sunday can be a working day and a Thursday a holiday, so "3 working
//! days" needs the year's calendar, loaded from a file per year.
//!
//! Deadline rules: N hours is N hours later. N working days ends at midnight (China
//! Standard Time, UTC+8) after the N-th working day following the day the clock
//! started, so "3 working days" from Friday afternoon ends at the close of Wednesday.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset, Weekday};

/// The time zone deadlines are counted in.
pub const CHINA: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// A time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// Elapsed hours.
    Hours(u32),
    /// Working days (see the module rules).
    WorkingDays(u32),
}

/// One year's calendar as written in its file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct YearFile {
    year: i32,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
    /// Written before the year's official notice: statutory days only.
    #[serde(default)]
    provisional: bool,
}

/// Holidays and make-up working days of the years loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    years: BTreeSet<i32>,
    provisional: BTreeSet<i32>,
    holidays: BTreeSet<Date>,
    workdays: BTreeSet<Date>,
}

/// A calendar file that does not make sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CalendarError(pub String);

fn parse_date(s: &str, year: i32, list: &str) -> Result<Date, CalendarError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let d = Date::parse(s.trim(), &format)
        .map_err(|_| CalendarError(format!("{list}: {s:?} is not a real date (YYYY-MM-DD)")))?;
    if d.year() != year {
        return Err(CalendarError(format!("{list}: {s} is not in {year}")));
    }
    Ok(d)
}

impl WorkCalendar {
    /// The calendars shipped with Sentinel.
    pub fn builtin() -> WorkCalendar {
        let mut c = WorkCalendar::default();
        // The shipped files, newest last. They are checked by a test; a broken one is
        // a build bug, not something to fail a running server over.
        const SHIPPED: &[&str] = &[
            include_str!("../../../data/calendars/2026.toml"),
            include_str!("../../../data/calendars/2027.toml"),
        ];
        for text in SHIPPED {
            let _ = c.add_year(text);
        }
        c
    }

    /// Adds one year from its TOML file; returns the year. Nothing is added on error.
    pub fn add_year(&mut self, text: &str) -> Result<i32, CalendarError> {
        let f: YearFile = toml::from_str(text)
            .map_err(|e| CalendarError(format!("invalid calendar file: {e}")))?;
        let holidays = f
            .holidays
            .iter()
            .map(|d| parse_date(d, f.year, "holidays"))
            .collect::<Result<Vec<_>, _>>()?;
        let workdays = f
            .workdays
            .iter()
            .map(|d| parse_date(d, f.year, "workdays"))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(both) = holidays.iter().find(|d| workdays.contains(d)) {
            return Err(CalendarError(format!(
                "{both} is listed both as a holiday and as a working day"
            )));
        }
        self.holidays.retain(|d| d.year() != f.year);
        self.workdays.retain(|d| d.year() != f.year);
        self.holidays.extend(holidays);
        self.workdays.extend(workdays);
        self.years.insert(f.year);
        if f.provisional {
            self.provisional.insert(f.year);
        } else {
            self.provisional.remove(&f.year);
        }
        Ok(f.year)
    }

    /// Whether `year`'s calendar was written before its official notice (statutory
    /// holidays only, no make-up working days): worth a warning until replaced.
    pub fn is_provisional(&self, year: i32) -> bool {
        self.provisional.contains(&year)
    }

    /// Whether a calendar for `year` is loaded.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// Whether people work on `d`.
    pub fn is_working_day(&self, d: Date) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        if self.holidays.contains(&d) {
            return false;
        }
        !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
    }

    /// When a clock started at `start` with `limit` runs out.
    pub fn deadline(&self, start: OffsetDateTime, limit: Limit) -> OffsetDateTime {
        match limit {
            Limit::Hours(h) => start + Duration::hours(i64::from(h)),
            Limit::WorkingDays(n) => {
                let mut day = start.to_offset(CHINA).date();
                let mut counted = 0;
                while counted < n {
                    day = day.next_day().unwrap_or(day);
                    if self.is_working_day(day) {
                        counted += 1;
                    }
                }
                let end = day.next_day().unwrap_or(day);
                end.with_time(Time::MIDNIGHT)
                    .assume_offset(CHINA)
                    .to_offset(UtcOffset::UTC)
            }
        }
    }
}

/// How an action moves a report's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueChange {
    /// Leave it.
    Keep,
    /// No more deadline (the work is done or refused).
    Clear,
    /// A new deadline of this kind.
    Set(OffsetDateTime, DueKind),
}

/// What the running deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    /// 受理 (from submission).
    Accept,
    /// 派单 (from 受理, a return or a reopening).
    Dispatch,
    /// 办结 (from 派单).
    Resolve,
}

impl std::str::FromStr for DueKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "accept" => Ok(DueKind::Accept),
            "dispatch" => Ok(DueKind::Dispatch),
            "resolve" => Ok(DueKind::Resolve),
            other => Err(format!("unknown deadline kind {other:?}")),
        }
    }
}

impl DueKind {
    /// Stable text.
    pub fn as_str(&self) -> &'static str {
        match self {
            DueKind::Accept => "accept",
            DueKind::Dispatch => "dispatch",
            DueKind::Resolve => "resolve",
        }
    }
}

/// The deadline a new report starts with.
pub fn due_at_submission(
    limits: crate::catalog::Deadlines,
    now: OffsetDateTime,
    cal: &WorkCalendar,
) -> DueChange {
    DueChange::Set(cal.deadline(now, limits.accept), DueKind::Accept)
}

/// The deadline after `action` succeeds at `now`: set at 受理 and 派单, restarted
/// when the order comes back to the dispatcher, cleared when the work is done.
pub fn due_after(
    action: crate::ActionKind,
    limits: crate::catalog::Deadlines,
    now: OffsetDateTime,
    cal: &WorkCalendar,
) -> DueChange {
    use crate::ActionKind as A;
    match action {
        A::Accept | A::Return | A::Reopen => {
            DueChange::Set(cal.deadline(now, limits.dispatch), DueKind::Dispatch)
        }
        A::Assign => DueChange::Set(cal.deadline(now, limits.resolve), DueKind::Resolve),
        A::Resolve | A::Verify | A::Close | A::Reject | A::Merge => DueChange::Clear,
        A::Start | A::Escalate | A::SetPriority | A::Comment | A::Rate => DueChange::Keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_shipped_2027_calendar_is_provisional_and_makes_up_weekend_holidays() {
        let c = WorkCalendar::builtin();
        assert!(c.covers(2027) && c.is_provisional(2027) && !c.is_provisional(2026));
        // 春节: Saturday 6 and Sunday 7 February are made up on Tuesday 9, Wednesday 10.
        assert!(!c.is_working_day(time::macros::date!(2027 - 02 - 10)));
        assert!(c.is_working_day(time::macros::date!(2027 - 02 - 11)));
        // An official file replaces it whole.
        let mut c = c;
        c.add_year("year = 2027\nholidays = [\"2027-01-01\"]\nworkdays = [\"2027-02-20\"]")
            .unwrap();
        assert!(!c.is_provisional(2027));
        assert!(c.is_working_day(time::macros::date!(2027 - 02 - 10)));
        assert!(c.is_working_day(time::macros::date!(2027 - 02 - 20)));
    }

    #[test]
    fn the_shipped_2026_calendar_loads() {
        let c = WorkCalendar::builtin();
        assert!(c.covers(2026));
        assert!(
            !c.is_working_day(time::macros::date!(2026 - 10 - 05)),
            "National Day, a Monday"
        );
        assert!(
            c.is_working_day(time::macros::date!(2026 - 10 - 10)),
            "make-up Saturday"
        );
        assert!(
            c.is_working_day(time::macros::date!(2026 - 11 - 26)),
            "an ordinary Thursday"
        );
    }

    #[test]
    fn working_days_skip_a_holiday_and_count_a_make_up_weekend() {
        let c = WorkCalendar::builtin();
        // Wednesday 30 September 2026, 15:00 in China: 1 Oct - 7 Oct are holidays,
        // 8 Oct (Thu) and 9 Oct (Fri) work, 10 Oct (Sat) is a make-up working day.
        let start = datetime!(2026-09-30 15:00 +08:00);
        assert_eq!(
            c.deadline(start, Limit::WorkingDays(1)),
            datetime!(2026-10-09 00:00 +08:00)
        );
        assert_eq!(
            c.deadline(start, Limit::WorkingDays(3)),
            datetime!(2026-10-11 00:00 +08:00)
        );
        // Friday 18:00 with 3 working days: Mon, Tue, Wed; ends at the close of Wednesday.
        assert_eq!(
            c.deadline(datetime!(2026-11-20 18:00 +08:00), Limit::WorkingDays(3)),
            datetime!(2026-11-26 00:00 +08:00)
        );
        assert_eq!(
            c.deadline(start, Limit::Hours(48)),
            datetime!(2026-10-02 15:00 +08:00)
        );
    }

    #[test]
    fn a_calendar_with_an_impossible_date_is_refused_whole() {
        let mut c = WorkCalendar::default();
        let err = c
            .add_year("year = 2027\nholidays = [\"2027-01-01\", \"2027-02-30\"]")
            .unwrap_err();
        assert!(err.0.contains("2027-02-30"), "{err}");
        assert!(!c.covers(2027));
        assert!(
            c.add_year("year = 2027\nholidays = [\"2026-12-31\"]")
                .unwrap_err()
                .0
                .contains("not in 2027")
        );
        assert!(
            c.add_year("year = 2027\nholidays = [\"2027-01-02\"]\nworkdays = [\"2027-01-02\"]")
                .is_err()
        );
    }
}
