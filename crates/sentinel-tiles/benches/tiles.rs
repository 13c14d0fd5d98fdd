//! Rendering report tiles from an index of 1,000,000 reports spread over a city
//! 55 x 45 km, with a tenth of them in one dense hotspot: the densest z12 tile
//! (hexagons), z14 and z16 tiles in the hotspot (finest hexagons past 20,000
//! reports; points) and a z10 tile (the city).

use criterion::{Criterion, criterion_group, criterion_main};
use sentinel_core::{Priority, Status};
use sentinel_tiles::{Filter, PointRecord, ReportIndex, TileId};
use std::hint::black_box;
use time::OffsetDateTime;

fn index() -> ReportIndex {
    let now = OffsetDateTime::now_utc();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let statuses = [
        Status::Submitted,
        Status::Accepted,
        Status::Assigned,
        Status::Closed,
    ];
    let records: Vec<PointRecord> = (1..=1_000_000i64)
        .map(|id| {
            let (lat, lon) = if id % 10 == 0 {
                (
                    36.45 + (next() - 0.5) * 0.02,
                    115.98 + (next() - 0.5) * 0.025,
                )
            } else {
                (36.2 + next() * 0.5, 115.7 + next() * 0.5)
            };
            PointRecord {
                id,
                lat,
                lon,
                status: statuses[(id % 4) as usize],
                category: ["pothole", "streetlight", "fire_lane_blocked"][(id % 3) as usize].into(),
                department: Some("roads".into()),
                priority: Priority::Normal,
                created_at: now - time::Duration::minutes(id),
                due_at: (id % 5 == 0).then_some(now),
            }
        })
        .collect();
    let mut idx = ReportIndex::new(1);
    idx.extend(records);
    idx
}

fn bench(c: &mut Criterion) {
    let idx = index();
    let now = OffsetDateTime::now_utc();
    let all = Filter::default();
    let some = Filter {
        statuses: vec![Status::Submitted],
        categories: vec!["pothole".into()],
        ..Filter::default()
    };
    // Liaocheng's centre (36.45 N, 115.98 E) at each zoom.
    let z12 = TileId::new(12, 3367, 1602).unwrap_or(TileId {
        z: 12,
        x: 3367,
        y: 1602,
    });
    let z14 = TileId::new(14, 13470, 6408).unwrap_or(TileId {
        z: 14,
        x: 13470,
        y: 6408,
    });
    let z10 = TileId::new(10, 841, 400).unwrap_or(TileId {
        z: 10,
        x: 841,
        y: 400,
    });
    let z16 = TileId::new(16, 53881, 25633).unwrap_or(TileId {
        z: 16,
        x: 53881,
        y: 25633,
    });
    let mut g = c.benchmark_group("report tiles, 1M reports");
    g.sample_size(30);
    g.bench_function("z12 dense (hexagons)", |b| {
        b.iter(|| black_box(idx.render(z12, &all, now)))
    });
    g.bench_function("z12 dense, filtered", |b| {
        b.iter(|| black_box(idx.render(z12, &some, now)))
    });
    g.bench_function("z14 hotspot (points)", |b| {
        b.iter(|| black_box(idx.render(z14, &all, now)))
    });
    g.bench_function("z16 hotspot (points)", |b| {
        b.iter(|| black_box(idx.render(z16, &all, now)))
    });
    g.bench_function("z10 city (hexagons)", |b| {
        b.iter(|| black_box(idx.render(z10, &all, now)))
    });
    g.finish();
    println!(
        "tile sizes: z12 {} B, z14 {} B, z16 {} B, z10 {} B",
        idx.render(z12, &all, now).len(),
        idx.render(z14, &all, now).len(),
        idx.render(z16, &all, now).len(),
        idx.render(z10, &all, now).len()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
