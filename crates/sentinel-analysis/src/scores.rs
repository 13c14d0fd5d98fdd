//! Department scores (考核): response, resolution, on-time, satisfaction, reopen
//! and return rates, and times to accept and to resolve, for the reports that came
//! in during a period, each beside the same period a year before.

use crate::facts::{
    ACCEPT_KNOWN, ACCEPT_ON_TIME, EXCLUDED, Facts, NONE16, NONE32, REOPENED, RESOLVE_KNOWN,
    RESOLVE_ON_TIME, RESOLVED,
};
use crate::period::Period;
use crate::trends::round2;
use serde::Serialize;

/// A rate with what it is made of.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    /// The share, in percent; null when there was nothing to measure.
    pub pct: Option<f64>,
    /// How many met it.
    pub yes: u64,
    /// Out of how many.
    pub of: u64,
}

impl Rate {
    fn new(yes: u64, of: u64) -> Rate {
        Rate {
            pct: (of > 0).then(|| round2(yes as f64 * 100.0 / of as f64)),
            yes,
            of,
        }
    }
}

/// One department's figures for one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    /// Reports it leads.
    pub reports: u64,
    /// 响应率: accepted within the deadline, of those whose deadline is known.
    pub response_rate: Rate,
    /// 解决率: resolved, of its reports.
    pub resolution_rate: Rate,
    /// 按期办结率: resolved within the deadline, of the resolved ones.
    pub on_time_rate: Rate,
    /// 满意率: rated 4 or 5, of the rated ones.
    pub satisfaction_rate: Rate,
    /// 重办率: reopened, of the resolved ones.
    pub reopen_rate: Rate,
    /// 退单率: sent back by this department, of the reports it was sent.
    pub return_rate: Rate,
    /// Median hours from intake to 受理.
    pub accept_hours_p50: Option<f64>,
    /// 90th percentile hours from intake to 受理.
    pub accept_hours_p90: Option<f64>,
    /// Median hours from intake to 办结.
    pub resolve_hours_p50: Option<f64>,
    /// 90th percentile hours from intake to 办结.
    pub resolve_hours_p90: Option<f64>,
}

/// A department's row of the league table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepartmentScores {
    /// Its code.
    pub key: String,
    /// Chinese name.
    pub label: String,
    /// English name.
    pub label_en: String,
    /// Place in the league (by resolution rate, then on-time rate, then satisfaction).
    pub rank: usize,
    /// This period.
    #[serde(flatten)]
    pub now: Scores,
    /// The same period a year before (同比).
    pub yoy: Option<Scores>,
}

/// The league table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct League {
    /// The period.
    pub at: String,
    /// The period a year before.
    pub yoy_at: String,
    /// Departments, best first.
    pub items: Vec<DepartmentScores>,
}

#[derive(Default, Clone)]
struct Tally {
    reports: u64,
    accept_known: u64,
    accept_on_time: u64,
    resolved: u64,
    resolve_known: u64,
    resolve_on_time: u64,
    rated: u64,
    satisfied: u64,
    reopened: u64,
    sent: u64,
    returned: u64,
    accept_s: Vec<u32>,
    resolve_s: Vec<u32>,
}

impl Tally {
    fn scores(mut self) -> Scores {
        Scores {
            reports: self.reports,
            response_rate: Rate::new(self.accept_on_time, self.accept_known),
            resolution_rate: Rate::new(self.resolved, self.reports),
            on_time_rate: Rate::new(self.resolve_on_time, self.resolve_known),
            satisfaction_rate: Rate::new(self.satisfied, self.rated),
            reopen_rate: Rate::new(self.reopened, self.resolved),
            return_rate: Rate::new(self.returned, self.sent),
            accept_hours_p50: hours(quantile(&mut self.accept_s, 0.5)),
            accept_hours_p90: hours(quantile(&mut self.accept_s, 0.9)),
            resolve_hours_p50: hours(quantile(&mut self.resolve_s, 0.5)),
            resolve_hours_p90: hours(quantile(&mut self.resolve_s, 0.9)),
        }
    }
}

fn hours(s: Option<u32>) -> Option<f64> {
    s.map(|s| round2(f64::from(s) / 3600.0))
}

/// The nearest-rank quantile.
pub(crate) fn quantile(v: &mut [u32], q: f64) -> Option<u32> {
    if v.is_empty() {
        return None;
    }
    let k = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    Some(*v.select_nth_unstable(k).1)
}

impl Facts {
    fn tallies(&self, period: Period) -> Vec<Tally> {
        let n = self.departments.len();
        let mut t = vec![Tally::default(); n];
        let (a, b) = period.days();
        for i in self.range(a, b) {
            let f = self.flags[i];
            if f & EXCLUDED != 0 {
                continue;
            }
            let back = self.returned_by[i];
            let d = self.department[i];
            if back != NONE16 {
                let x = &mut t[back as usize];
                x.returned += 1;
                if back != d {
                    x.sent += 1;
                }
            }
            if d == NONE16 {
                continue;
            }
            let x = &mut t[d as usize];
            x.reports += 1;
            x.sent += 1;
            if f & ACCEPT_KNOWN != 0 {
                x.accept_known += 1;
                x.accept_on_time += u64::from(f & ACCEPT_ON_TIME != 0);
            }
            if f & RESOLVED != 0 {
                x.resolved += 1;
                x.reopened += u64::from(f & REOPENED != 0);
            }
            if f & RESOLVE_KNOWN != 0 {
                x.resolve_known += 1;
                x.resolve_on_time += u64::from(f & RESOLVE_ON_TIME != 0);
            }
            let r = self.rating[i];
            if r > 0 {
                x.rated += 1;
                x.satisfied += u64::from(r >= 4);
            }
            if self.accept_s[i] != NONE32 {
                x.accept_s.push(self.accept_s[i]);
            }
            if self.resolve_s[i] != NONE32 {
                x.resolve_s.push(self.resolve_s[i]);
            }
        }
        t
    }

    /// The league table of departments for `period`.
    pub fn department_scores(&self, period: Period) -> League {
        let before = period.year_before();
        let comparable = self.first_day().is_some_and(|f| before.days().1 > f);
        let now = self.tallies(period);
        let then = if comparable {
            self.tallies(before)
        } else {
            Vec::new()
        };
        let mut items: Vec<DepartmentScores> = now
            .into_iter()
            .enumerate()
            .filter(|(d, t)| {
                t.reports > 0 || t.returned > 0 || then.get(*d).is_some_and(|p| p.reports > 0)
            })
            .map(|(d, t)| DepartmentScores {
                key: self.departments.codes[d].clone(),
                label: self.departments.names[d].0.clone(),
                label_en: self.departments.names[d].1.clone(),
                rank: 0,
                now: t.scores(),
                yoy: then.get(d).cloned().map(Tally::scores),
            })
            .collect();
        let key = |s: &Scores| {
            (
                s.resolution_rate.pct.unwrap_or(-1.0),
                s.on_time_rate.pct.unwrap_or(-1.0),
                s.satisfaction_rate.pct.unwrap_or(-1.0),
            )
        };
        items.sort_by(|a, b| {
            let (x, y) = (key(&a.now), key(&b.now));
            y.0.total_cmp(&x.0)
                .then(y.1.total_cmp(&x.1))
                .then(y.2.total_cmp(&x.2))
                .then_with(|| a.key.cmp(&b.key))
        });
        for (i, it) in items.iter_mut().enumerate() {
            it.rank = i + 1;
        }
        League {
            at: period.label(),
            yoy_at: before.label(),
            items,
        }
    }
}
