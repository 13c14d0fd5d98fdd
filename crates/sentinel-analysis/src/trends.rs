//! Counts by a dimension for one period, with the change against the period
//! before (环比) and the same period a year before (同比), each tested.

use crate::AnalysisError;
use crate::facts::{EXCLUDED, Facts, NONE16, NONE32};
use crate::period::Period;
use crate::stats::{Verdict, benjamini_hochberg, rate_test};
use serde::Serialize;

/// What to count by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// Category.
    Category,
    /// Category group.
    Group,
    /// Lead department.
    Department,
    /// Jurisdiction at a level (city, district, town, grid); innermost when none.
    Jurisdiction(Option<String>),
    /// Intake channel.
    Channel,
}

impl GroupBy {
    /// Parses `group_by` (and `level` for jurisdictions).
    pub fn parse(s: &str, level: Option<&str>) -> Result<GroupBy, AnalysisError> {
        Ok(match s {
            "category" => GroupBy::Category,
            "group" => GroupBy::Group,
            "department" => GroupBy::Department,
            "jurisdiction" => GroupBy::Jurisdiction(level.map(str::to_owned)),
            "channel" => GroupBy::Channel,
            other => {
                return Err(AnalysisError::BadInput(format!(
                    "group_by must be category, group, department, jurisdiction or channel, not {other:?}"
                )));
            }
        })
    }

    /// The name `group_by` takes.
    pub fn name(&self) -> &'static str {
        match self {
            GroupBy::Category => "category",
            GroupBy::Group => "group",
            GroupBy::Department => "department",
            GroupBy::Jurisdiction(_) => "jurisdiction",
            GroupBy::Channel => "channel",
        }
    }
}

/// A change against an earlier period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The earlier period's count; null when it lies before the first report.
    pub previous: Option<u64>,
    /// Now minus then.
    pub change: Option<i64>,
    /// The change in percent of then; null when then was 0.
    pub change_pct: Option<f64>,
    /// The exact test's two-sided p-value (rates per day, so months of different
    /// lengths compare fairly).
    pub p_value: Option<f64>,
    /// The p-value adjusted for the table's many rows (Benjamini–Hochberg); the
    /// verdict uses it. Equal to `p_value` for the total.
    pub p_adjusted: Option<f64>,
    /// What it means.
    pub verdict: Verdict,
    /// The verdict in Chinese.
    pub verdict_zh: &'static str,
    /// The verdict in English.
    pub verdict_en: &'static str,
}

/// One row of a trend table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendItem {
    /// The code.
    pub key: String,
    /// Its Chinese name.
    pub label: String,
    /// Its English name.
    pub label_en: String,
    /// Reports in the period.
    pub count: u64,
    /// 同比.
    pub yoy: Change,
    /// 环比.
    pub mom: Change,
    /// Both changes down and significant (同比、环比双下降).
    pub double_decline: bool,
}

/// A trend table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trends {
    /// What the rows are.
    pub group_by: &'static str,
    /// The period, as `at` names it.
    pub at: String,
    /// Its first day and the day after its last.
    pub from: String,
    /// The day after its last.
    pub until: String,
    /// The period a year before.
    pub yoy_at: String,
    /// The period before.
    pub mom_at: String,
    /// The whole city.
    pub total: TrendItem,
    /// Rows with reports in any of the three periods, largest first.
    pub items: Vec<TrendItem>,
    /// The whole city's double decline.
    pub double_decline: bool,
    /// The significance level.
    pub alpha: f64,
    /// The period is still running: all three periods are compared over its first
    /// `days` days only (to date against the same stretch then).
    pub partial: bool,
    /// Days compared in each period.
    pub days: i32,
}

/// The significance level used throughout.
pub const ALPHA: f64 = 0.05;

impl Facts {
    /// The trend table for `period` by `group_by`; `today` (a local day number)
    /// cuts a running period short, and its comparisons with it.
    pub fn trends(
        &self,
        group_by: &GroupBy,
        period: Period,
        today: i32,
    ) -> Result<Trends, AnalysisError> {
        let (keys, names) = self.keys(group_by)?;
        let n = names.len();
        let windows = [period, period.year_before(), period.previous()];
        let full = period.len_days();
        let elapsed = (today + 1 - period.days().0).clamp(0, full);
        let partial = elapsed < full;
        // Each window's days: all of them, or its first `elapsed` for a running period.
        let span = |p: &Period| {
            let (a, b) = p.days();
            if partial {
                (a, (a + elapsed).min(b))
            } else {
                (a, b)
            }
        };
        let mut counts = vec![vec![0u64; n + 1]; 3];
        for (w, p) in windows.iter().enumerate() {
            let (a, b) = span(p);
            let c = &mut counts[w];
            for i in self.range(a, b) {
                if self.flags[i] & EXCLUDED != 0 {
                    continue;
                }
                let k = keys(self, i);
                c[if k == NONE32 { n } else { k as usize }] += 1;
            }
        }
        let first = self.first_day();
        let days = windows.map(|p| {
            let (a, b) = span(&p);
            f64::from(b - a)
        });
        let comparable = windows.map(|p| first.is_some_and(|f| span(&p).1 > f));
        let change = |now: u64, w: usize, then: u64, p: Option<f64>| -> Change {
            if !comparable[w] {
                let v = Verdict::NoComparison;
                return Change {
                    previous: None,
                    change: None,
                    change_pct: None,
                    p_value: None,
                    p_adjusted: None,
                    verdict: v,
                    verdict_zh: v.zh(),
                    verdict_en: v.en(),
                };
            }
            let raw = rate_test(now, days[0], then, days[w]);
            let adjusted = p.unwrap_or(raw);
            let diff = now as i64 - then as i64;
            let v = Verdict::of(diff, adjusted, ALPHA);
            Change {
                previous: Some(then),
                change: Some(diff),
                change_pct: (then > 0).then(|| round2(diff as f64 * 100.0 / then as f64)),
                p_value: Some(raw),
                p_adjusted: Some(adjusted),
                verdict: v,
                verdict_zh: v.zh(),
                verdict_en: v.en(),
            }
        };
        // Rows with anything in any window (an unnamed "none" row last).
        let rows: Vec<usize> = (0..=n)
            .filter(|&k| counts.iter().any(|c| c[k] > 0))
            .collect();
        let raw = |w: usize| -> Vec<f64> {
            rows.iter()
                .map(|&k| rate_test(counts[0][k], days[0], counts[w][k], days[w]))
                .collect()
        };
        let (q_yoy, q_mom) = (benjamini_hochberg(&raw(1)), benjamini_hochberg(&raw(2)));
        let mut items: Vec<TrendItem> = rows
            .iter()
            .enumerate()
            .map(|(r, &k)| {
                let (key, label, label_en) = if k == n {
                    (
                        "none".to_owned(),
                        "未指定".to_owned(),
                        "unspecified".to_owned(),
                    )
                } else {
                    names[k].clone()
                };
                let yoy = change(counts[0][k], 1, counts[1][k], Some(q_yoy[r]));
                let mom = change(counts[0][k], 2, counts[2][k], Some(q_mom[r]));
                TrendItem {
                    key,
                    label,
                    label_en,
                    count: counts[0][k],
                    double_decline: double(&yoy, &mom),
                    yoy,
                    mom,
                }
            })
            .collect();
        items.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        let sum = |w: usize| counts[w].iter().sum::<u64>();
        let yoy = change(sum(0), 1, sum(1), None);
        let mom = change(sum(0), 2, sum(2), None);
        let total = TrendItem {
            key: "total".into(),
            label: "全市".into(),
            label_en: "all".into(),
            count: sum(0),
            double_decline: double(&yoy, &mom),
            yoy,
            mom,
        };
        let (from, until) = (period.start, period.end());
        Ok(Trends {
            group_by: group_by.name(),
            at: period.label(),
            from: from.to_string(),
            until: until.to_string(),
            yoy_at: windows[1].label(),
            mom_at: windows[2].label(),
            double_decline: total.double_decline,
            total,
            items,
            alpha: ALPHA,
            partial,
            days: if partial { elapsed } else { full },
        })
    }

    /// For a dimension: a function giving a row's key number, and each key's
    /// (code, name, English name).
    #[allow(clippy::type_complexity)]
    fn keys(
        &self,
        g: &GroupBy,
    ) -> Result<
        (
            Box<dyn Fn(&Facts, usize) -> u32 + Sync>,
            Vec<(String, String, String)>,
        ),
        AnalysisError,
    > {
        let names = |d: &crate::facts::Dict| -> Vec<(String, String, String)> {
            d.codes
                .iter()
                .zip(&d.names)
                .map(|(c, (zh, en))| (c.clone(), zh.clone(), en.clone()))
                .collect()
        };
        Ok(match g {
            GroupBy::Category => (
                Box::new(|f: &Facts, i: usize| u32::from(f.category[i])),
                names(&self.categories),
            ),
            GroupBy::Group => (
                Box::new(|f: &Facts, i: usize| {
                    f.category_group
                        .get(f.category[i] as usize)
                        .copied()
                        .unwrap_or(NONE32)
                }),
                names(&self.groups),
            ),
            GroupBy::Department => (
                Box::new(|f: &Facts, i: usize| {
                    let d = f.department[i];
                    if d == NONE16 { NONE32 } else { u32::from(d) }
                }),
                names(&self.departments),
            ),
            GroupBy::Channel => (
                Box::new(|f: &Facts, i: usize| u32::from(f.channel[i])),
                names(&self.channels),
            ),
            GroupBy::Jurisdiction(None) => (
                Box::new(|f: &Facts, i: usize| f.jurisdiction[i]),
                names(&self.jurisdictions),
            ),
            GroupBy::Jurisdiction(Some(level)) => {
                if !self.jurisdiction_tree.iter().any(|(l, _)| l == level) {
                    return Err(AnalysisError::BadInput(format!(
                        "there are no jurisdictions at level {level:?}"
                    )));
                }
                // Each jurisdiction's ancestor at the level, worked out once.
                let up: Vec<u32> = (0..self.jurisdictions.len() as u32)
                    .map(|j| self.jurisdiction_at(j, level))
                    .collect();
                (
                    Box::new(move |f: &Facts, i: usize| {
                        let j = f.jurisdiction[i];
                        if j == NONE32 { NONE32 } else { up[j as usize] }
                    }),
                    names(&self.jurisdictions),
                )
            }
        })
    }
}

fn double(yoy: &Change, mom: &Change) -> bool {
    yoy.verdict == Verdict::SignificantDecline && mom.verdict == Verdict::SignificantDecline
}

pub(crate) fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
