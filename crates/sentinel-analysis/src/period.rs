//! Periods of the local calendar: days, ISO weeks, months, quarters and years, as
//! half-open ranges of local day numbers (days since 1970-01-01 in the city's
//! time zone), with the period before and the same period a year before.

use crate::AnalysisError;
use serde::Serialize;
use time::{Date, Month, UtcOffset, Weekday};

/// How long a period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// A calendar day.
    Day,
    /// An ISO week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    /// A quarter of the year.
    Quarter,
    /// A calendar year.
    Year,
}

impl std::str::FromStr for PeriodKind {
    type Err = AnalysisError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "day" => PeriodKind::Day,
            "week" => PeriodKind::Week,
            "month" => PeriodKind::Month,
            "quarter" => PeriodKind::Quarter,
            "year" => PeriodKind::Year,
            other => {
                return Err(AnalysisError::BadInput(format!(
                    "period must be day, week, month, quarter or year, not {other:?}"
                )));
            }
        })
    }
}

/// One period: its kind and its first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// How long.
    pub kind: PeriodKind,
    /// Its first day.
    pub start: Date,
}

/// Local day number of a date.
pub fn day_number(d: Date) -> i32 {
    d.to_julian_day() - UNIX_JULIAN
}

/// The date of a local day number.
pub fn date_of(day: i32) -> Date {
    Date::from_julian_day(day + UNIX_JULIAN).unwrap_or(Date::MIN)
}

/// The local day number of an instant given in milliseconds since the epoch.
pub fn local_day(ms: i64, offset: UtcOffset) -> i32 {
    (ms.div_euclid(1000) + i64::from(offset.whole_seconds())).div_euclid(86_400) as i32
}

const UNIX_JULIAN: i32 = 2_440_588;

impl Period {
    /// Parses `at` for a kind: `2026-10-31` (day), `2026-W44` (week), `2026-10`
    /// (month), `2026-Q4` (quarter), `2026` (year).
    pub fn parse(kind: PeriodKind, at: &str) -> Result<Period, AnalysisError> {
        let bad = || {
            AnalysisError::BadInput(format!(
                "at={at:?} is not a {} (expected {})",
                kind.name(),
                kind.example()
            ))
        };
        let at = at.trim();
        let year = |s: &str| -> Result<i32, AnalysisError> {
            s.parse::<i32>()
                .ok()
                .filter(|y| (1970..=9999).contains(y))
                .ok_or_else(bad)
        };
        let start = match kind {
            PeriodKind::Day => {
                let f = time::macros::format_description!("[year]-[month]-[day]");
                Date::parse(at, f).map_err(|_| bad())?
            }
            PeriodKind::Week => {
                let (y, w) = at.split_once("-W").ok_or_else(bad)?;
                let w: u8 = w.parse().map_err(|_| bad())?;
                Date::from_iso_week_date(year(y)?, w, Weekday::Monday).map_err(|_| bad())?
            }
            PeriodKind::Month => {
                let (y, m) = at.split_once('-').ok_or_else(bad)?;
                let m: u8 = m.parse().map_err(|_| bad())?;
                let m = Month::try_from(m).map_err(|_| bad())?;
                Date::from_calendar_date(year(y)?, m, 1).map_err(|_| bad())?
            }
            PeriodKind::Quarter => {
                let (y, q) = at.split_once("-Q").ok_or_else(bad)?;
                let q: u8 = q.parse().map_err(|_| bad())?;
                if !(1..=4).contains(&q) {
                    return Err(bad());
                }
                let m = Month::try_from((q - 1) * 3 + 1).map_err(|_| bad())?;
                Date::from_calendar_date(year(y)?, m, 1).map_err(|_| bad())?
            }
            PeriodKind::Year => {
                Date::from_calendar_date(year(at)?, Month::January, 1).map_err(|_| bad())?
            }
        };
        Ok(Period { kind, start })
    }

    /// The period of this kind that holds `day`.
    pub fn containing(kind: PeriodKind, day: Date) -> Period {
        let start = match kind {
            PeriodKind::Day => day,
            PeriodKind::Week => {
                day - time::Duration::days(i64::from(day.weekday().number_days_from_monday()))
            }
            PeriodKind::Month => day.replace_day(1).unwrap_or(day),
            PeriodKind::Quarter => {
                let m = (u8::from(day.month()) - 1) / 3 * 3 + 1;
                Date::from_calendar_date(
                    day.year(),
                    Month::try_from(m).unwrap_or(Month::January),
                    1,
                )
                .unwrap_or(day)
            }
            PeriodKind::Year => {
                Date::from_calendar_date(day.year(), Month::January, 1).unwrap_or(day)
            }
        };
        Period { kind, start }
    }

    /// The day after its last day.
    pub fn end(&self) -> Date {
        let s = self.start;
        match self.kind {
            PeriodKind::Day => s.next_day().unwrap_or(s),
            PeriodKind::Week => s + time::Duration::days(7),
            PeriodKind::Month => add_months(s, 1),
            PeriodKind::Quarter => add_months(s, 3),
            PeriodKind::Year => add_months(s, 12),
        }
    }

    /// Its days as local day numbers, half-open.
    pub fn days(&self) -> (i32, i32) {
        (day_number(self.start), day_number(self.end()))
    }

    /// How many days it has (the exposure of a rate).
    pub fn len_days(&self) -> i32 {
        let (a, b) = self.days();
        b - a
    }

    /// The period just before (环比).
    pub fn previous(&self) -> Period {
        let day = self.start.previous_day().unwrap_or(self.start);
        Period::containing(self.kind, day)
    }

    /// The same period a year before (同比): the same date, ISO week number, month,
    /// quarter or the year before. 29 February compares with 28 February; week 53
    /// with the previous year's last week.
    pub fn year_before(&self) -> Period {
        let s = self.start;
        match self.kind {
            PeriodKind::Week => {
                let (y, w, _) = s.to_iso_week_date();
                let weeks = time::util::weeks_in_year(y - 1);
                let start =
                    Date::from_iso_week_date(y - 1, w.min(weeks), Weekday::Monday).unwrap_or(s);
                Period {
                    kind: self.kind,
                    start,
                }
            }
            PeriodKind::Day => {
                let d = s.replace_year(s.year() - 1).unwrap_or_else(|_| {
                    Date::from_calendar_date(s.year() - 1, s.month(), 28).unwrap_or(s)
                });
                Period {
                    kind: self.kind,
                    start: d,
                }
            }
            _ => Period {
                kind: self.kind,
                start: add_months(s, -12),
            },
        }
    }

    /// The period's name as `at` takes it.
    pub fn label(&self) -> String {
        let s = self.start;
        match self.kind {
            PeriodKind::Day => format!("{:04}-{:02}-{:02}", s.year(), u8::from(s.month()), s.day()),
            PeriodKind::Week => {
                let (y, w, _) = s.to_iso_week_date();
                format!("{y:04}-W{w:02}")
            }
            PeriodKind::Month => format!("{:04}-{:02}", s.year(), u8::from(s.month())),
            PeriodKind::Quarter => {
                format!("{:04}-Q{}", s.year(), (u8::from(s.month()) - 1) / 3 + 1)
            }
            PeriodKind::Year => format!("{:04}", s.year()),
        }
    }
}

impl PeriodKind {
    fn name(&self) -> &'static str {
        match self {
            PeriodKind::Day => "day",
            PeriodKind::Week => "week",
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Year => "year",
        }
    }

    fn example(&self) -> &'static str {
        match self {
            PeriodKind::Day => "2026-10-31",
            PeriodKind::Week => "2026-W44",
            PeriodKind::Month => "2026-10",
            PeriodKind::Quarter => "2026-Q4",
            PeriodKind::Year => "2026",
        }
    }
}

fn add_months(d: Date, months: i32) -> Date {
    let total = d.year() * 12 + i32::from(u8::from(d.month())) - 1 + months;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let m = Month::try_from(m as u8).unwrap_or(Month::January);
    let last = time::util::days_in_month(m, y);
    Date::from_calendar_date(y, m, d.day().min(last)).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, offset};

    #[test]
    fn periods_parse_and_step_back() {
        let m = Period::parse(PeriodKind::Month, "2026-03").unwrap();
        assert_eq!(m.start, date!(2026 - 03 - 01));
        assert_eq!(m.len_days(), 31);
        assert_eq!(m.previous().label(), "2026-02");
        assert_eq!(m.previous().len_days(), 28);
        assert_eq!(m.year_before().label(), "2025-03");
        let q = Period::parse(PeriodKind::Quarter, "2026-Q1").unwrap();
        assert_eq!(q.previous().label(), "2025-Q4");
        assert_eq!(q.len_days(), 90);
        let w = Period::parse(PeriodKind::Week, "2026-W01").unwrap();
        assert_eq!(w.start, date!(2025 - 12 - 29));
        assert_eq!(w.previous().label(), "2025-W52");
        assert_eq!(w.year_before().label(), "2025-W01");
        // 2026 has 53 ISO weeks; 2025 has 52.
        let w53 = Period::parse(PeriodKind::Week, "2026-W53").unwrap();
        assert_eq!(w53.year_before().label(), "2025-W52");
        let leap = Period::parse(PeriodKind::Day, "2028-02-29").unwrap();
        assert_eq!(leap.year_before().label(), "2027-02-28");
        assert_eq!(
            Period::parse(PeriodKind::Year, "2026").unwrap().len_days(),
            365
        );
        for (k, bad) in [
            (PeriodKind::Month, "2026-13"),
            (PeriodKind::Month, "october"),
            (PeriodKind::Quarter, "2026-Q5"),
            (PeriodKind::Week, "2026-W54"),
            (PeriodKind::Day, "2026-02-30"),
            (PeriodKind::Year, "26"),
        ] {
            let e = Period::parse(k, bad).unwrap_err().to_string();
            assert!(e.contains("expected"), "{e}");
        }
    }

    #[test]
    fn local_days_follow_the_offset() {
        // 2026-10-31 16:00 UTC is 2026-11-01 00:00 in China.
        let ms = 1_793_462_400_000;
        assert_eq!(date_of(local_day(ms, offset!(+8))), date!(2026 - 11 - 01));
        assert_eq!(
            date_of(local_day(ms - 1, offset!(+8))),
            date!(2026 - 10 - 31)
        );
        assert_eq!(
            date_of(local_day(ms, UtcOffset::UTC)),
            date!(2026 - 10 - 31)
        );
        assert_eq!(day_number(date!(1970 - 01 - 01)), 0);
    }
}
