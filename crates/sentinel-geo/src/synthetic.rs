//! Synthetic jurisdictions for benchmarks: an n × n grid of irregular 24-sided
//! cells over a Liaocheng-sized area, the same in every run (and for every peer the
//! benchmark compares against).

use crate::{Jurisdiction, Level, Point};
use geo::{LineString, MultiPolygon, Polygon};

const LON0: f64 = 115.2;
const LAT0: f64 = 35.9;
const STEP: f64 = 0.012;

/// Cell (i, k) as a 24-gon whose radius wobbles, so edges are not axis-aligned.
pub fn cell(i: usize, k: usize) -> Polygon<f64> {
    let (cx, cy) = (
        LON0 + (i as f64 + 0.5) * STEP,
        LAT0 + (k as f64 + 0.5) * STEP,
    );
    let mut ring: Vec<(f64, f64)> = (0..24)
        .map(|v| {
            let a = v as f64 / 24.0 * std::f64::consts::TAU;
            let r = STEP * 0.5 * (1.0 + 0.08 * ((v * 7 + i + k) % 5) as f64 / 5.0);
            (cx + r * a.cos(), cy + r * a.sin())
        })
        .collect();
    ring.push(ring[0]);
    Polygon::new(LineString::from(ring), vec![])
}

/// n × n grid cells as jurisdictions of level grid.
pub fn grid(n: usize) -> Vec<Jurisdiction> {
    let mut items = Vec::with_capacity(n * n);
    for i in 0..n {
        for k in 0..n {
            let id = (i * n + k) as i64;
            items.push(Jurisdiction {
                id,
                name: format!("网格{id}"),
                name_en: None,
                code: format!("G{id}"),
                level: Level::Grid,
                parent: None,
                area: MultiPolygon(vec![cell(i, k)]),
            });
        }
    }
    items
}

/// `count` sample points spread over the grid of size `n`.
pub fn points(n: usize, count: usize) -> Vec<Point> {
    (0..count)
        .filter_map(|m| {
            let x = (m * 7919 % 1000) as f64 / 1000.0;
            let y = (m * 104_729 % 1000) as f64 / 1000.0;
            Point::new(LAT0 + y * STEP * n as f64, LON0 + x * STEP * n as f64).ok()
        })
        .collect()
}
