//! Locating a point among 10,000 jurisdiction polygons (issue target: < 20 µs).
//! The polygons are a 100 × 100 grid of 24-sided irregular cells over a
//! Liaocheng-sized area, each a grid (网格) under one of 100 towns.

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use geo::{LineString, MultiPolygon, Polygon};
use sentinel_geo::{Jurisdiction, JurisdictionIndex, Level, Point};
use std::hint::black_box;

const N: usize = 100;
const LON0: f64 = 115.2;
const LAT0: f64 = 35.9;
const STEP: f64 = 0.012;

/// A cell as a 24-gon whose radius wobbles, so edges are not axis-aligned.
fn cell(i: usize, k: usize) -> Polygon<f64> {
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

fn index() -> JurisdictionIndex {
    let mut items = Vec::with_capacity(N * N);
    for i in 0..N {
        for k in 0..N {
            let id = (i * N + k) as i64;
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
    JurisdictionIndex::new(items)
}

fn bench(c: &mut Criterion) {
    let ix = index();
    let points: Vec<Point> = (0..1024)
        .map(|n| {
            let x = (n * 7919 % 1000) as f64 / 1000.0;
            let y = (n * 104_729 % 1000) as f64 / 1000.0;
            Point::new(LAT0 + y * STEP * N as f64, LON0 + x * STEP * N as f64).unwrap()
        })
        .collect();
    let found = points.iter().filter(|p| !ix.locate(**p).is_empty()).count();
    assert!(found > 700, "most sample points fall in a cell: {found}");
    let mut n = 0;
    c.bench_function("locate among 10,000 polygons", |b| {
        b.iter(|| {
            n = (n + 1) % points.len();
            black_box(ix.locate(black_box(points[n])));
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
