//! Hotspots on the H3 grid, and emerging hotspots: cells whose recent rate is
//! significantly above their own baseline, with Benjamini–Hochberg across cells.
//! Also the patterns: reports by hour and weekday, and how long fixes take.

use crate::AnalysisError;
use crate::facts::{EXCLUDED, Facts, NONE32};
use crate::period::date_of;
use crate::scores::quantile;
use crate::stats::{benjamini_hochberg, rate_test_greater};
use crate::trends::{ALPHA, round2};
use h3o::{CellIndex, Resolution};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The resolutions hotspots may be asked at (about 60 km to 25 m across).
pub const RESOLUTIONS: std::ops::RangeInclusive<u8> = 3..=11;

/// A hotspot question: cells at `resolution` over local days `[since, until)`;
/// the last `recent_days` are tested against the days before.
#[derive(Debug, Clone, Copy)]
pub struct HotspotQuery {
    /// H3 resolution.
    pub resolution: u8,
    /// First local day.
    pub since: i32,
    /// The local day after the last.
    pub until: i32,
    /// How many of the last days count as recent.
    pub recent_days: i32,
}

/// One cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// The H3 index.
    pub h3: String,
    /// Reports in the whole window.
    pub count: u64,
    /// Reports in the recent days.
    pub recent: u64,
    /// The one-sided p-value that the recent rate is above the baseline's; only for
    /// cells tested (with reports in the recent days and a baseline to compare).
    pub p_value: Option<f64>,
    /// Adjusted across the cells tested.
    pub p_adjusted: Option<f64>,
    /// Significantly above its own baseline.
    pub emerging: bool,
}

impl Facts {
    /// Counts per cell, with the emerging test.
    pub fn hotspots(&self, q: &HotspotQuery) -> Result<Vec<Cell>, AnalysisError> {
        if !RESOLUTIONS.contains(&q.resolution) {
            return Err(AnalysisError::BadInput(format!(
                "resolution must be from {} to {}, not {}",
                RESOLUTIONS.start(),
                RESOLUTIONS.end(),
                q.resolution
            )));
        }
        if q.until <= q.since {
            return Err(AnalysisError::BadInput("until must be after since".into()));
        }
        let res = Resolution::try_from(q.resolution)
            .map_err(|e| AnalysisError::BadInput(e.to_string()))?;
        let recent_from = (q.until - q.recent_days.max(1)).max(q.since);
        let mut cells: HashMap<u64, (u64, u64)> = HashMap::new();
        for i in self.range(q.since, q.until) {
            if self.flags[i] & EXCLUDED != 0 || self.cell[i] == 0 {
                continue;
            }
            let Ok(c) = CellIndex::try_from(self.cell[i]) else {
                continue;
            };
            let parent = c.parent(res).map_or(0, u64::from);
            let e = cells.entry(parent).or_default();
            e.0 += 1;
            if self.day[i] >= recent_from {
                e.1 += 1;
            }
        }
        let t1 = f64::from(q.until - recent_from);
        let t0 = f64::from(recent_from - q.since);
        let mut out: Vec<Cell> = cells
            .into_iter()
            .map(|(h, (count, recent))| Cell {
                h3: CellIndex::try_from(h)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                count,
                recent,
                p_value: (recent > 0 && t0 > 0.0)
                    .then(|| rate_test_greater(recent, t1, count - recent, t0)),
                p_adjusted: None,
                emerging: false,
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.h3.cmp(&b.h3)));
        let tested: Vec<usize> = (0..out.len())
            .filter(|&i| out[i].p_value.is_some())
            .collect();
        let p: Vec<f64> = tested.iter().filter_map(|&i| out[i].p_value).collect();
        for (k, q) in tested.into_iter().zip(benjamini_hochberg(&p)) {
            out[k].p_adjusted = Some(q);
            out[k].emerging = q < ALPHA;
        }
        Ok(out)
    }

    /// Reports by weekday (Monday first) and local hour, over `[since, until)`.
    pub fn hour_by_weekday(&self, since: i32, until: i32) -> [[u64; 24]; 7] {
        let mut m = [[0u64; 24]; 7];
        for i in self.range(since, until) {
            if self.flags[i] & EXCLUDED != 0 {
                continue;
            }
            let wd = date_of(self.day[i]).weekday().number_days_from_monday() as usize;
            m[wd][(self.minute[i] / 60).min(23) as usize] += 1;
        }
        m
    }

    /// How long reports that came in over `[since, until)` took to be resolved.
    pub fn resolve_times(&self, since: i32, until: i32) -> ResolveTimes {
        let mut v: Vec<u32> = self
            .range(since, until)
            .filter(|&i| self.flags[i] & EXCLUDED == 0 && self.resolve_s[i] != NONE32)
            .map(|i| self.resolve_s[i])
            .collect();
        let mut buckets: Vec<Bucket> = BUCKETS
            .iter()
            .map(|(upto, zh, en)| Bucket {
                upto_hours: *upto,
                label: zh,
                label_en: en,
                count: 0,
            })
            .collect();
        for &s in &v {
            let h = f64::from(s) / 3600.0;
            let b = BUCKETS
                .iter()
                .position(|(upto, _, _)| upto.is_none_or(|u| h < u))
                .unwrap_or(BUCKETS.len() - 1);
            buckets[b].count += 1;
        }
        ResolveTimes {
            resolved: v.len() as u64,
            p50_hours: quantile(&mut v, 0.5).map(|s| round2(f64::from(s) / 3600.0)),
            p90_hours: quantile(&mut v, 0.9).map(|s| round2(f64::from(s) / 3600.0)),
            buckets,
        }
    }
}

const BUCKETS: [(Option<f64>, &str, &str); 8] = [
    (Some(1.0), "1 小时内", "under 1 hour"),
    (Some(4.0), "1–4 小时", "1–4 hours"),
    (Some(24.0), "4–24 小时", "4–24 hours"),
    (Some(72.0), "1–3 天", "1–3 days"),
    (Some(168.0), "3–7 天", "3–7 days"),
    (Some(336.0), "7–14 天", "7–14 days"),
    (Some(720.0), "14–30 天", "14–30 days"),
    (None, "30 天以上", "over 30 days"),
];

/// The distribution of time to resolve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolveTimes {
    /// Reports resolved.
    pub resolved: u64,
    /// Median hours.
    pub p50_hours: Option<f64>,
    /// 90th percentile hours.
    pub p90_hours: Option<f64>,
    /// Counts by duration.
    pub buckets: Vec<Bucket>,
}

/// One bar of the distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// Up to this many hours (the last is open).
    pub upto_hours: Option<f64>,
    /// Chinese label.
    pub label: &'static str,
    /// English label.
    pub label_en: &'static str,
    /// Reports.
    pub count: u64,
}

/// Cells as a GeoJSON FeatureCollection of hexagons.
pub fn cells_geojson(cells: &[Cell]) -> Value {
    let features: Vec<Value> = cells
        .iter()
        .filter_map(|c| {
            let cell: CellIndex = c.h3.parse().ok()?;
            let mut ring: Vec<[f64; 2]> = cell
                .boundary()
                .iter()
                .map(|p| [round7(p.lng()), round7(p.lat())])
                .collect();
            if ring.first() != ring.last()
                && let Some(&f) = ring.first()
            {
                ring.push(f);
            }
            let mut props =
                json!({ "h3": c.h3, "count": c.count, "recent": c.recent, "emerging": c.emerging });
            if let Some(p) = c.p_value {
                props["p_value"] = json!(p);
                props["p_adjusted"] = json!(c.p_adjusted);
            }
            Some(json!({
                "type": "Feature",
                "geometry": { "type": "Polygon", "coordinates": [ring] },
                "properties": props,
            }))
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}
