//! Locating a point among 10,000 jurisdiction polygons (issue target: < 20 µs).
//! The polygons are `sentinel_geo::synthetic::grid(100)`, the same that
//! `sentinel-loadgen grid-wkt` writes for the PostGIS comparison.

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use sentinel_geo::JurisdictionIndex;
use sentinel_geo::synthetic::{grid, points};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let ix = JurisdictionIndex::new(grid(100));
    let points = points(100, 1024);
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
