//! Aggregates equal brute-force counts over generated reports, many of them a
//! minute either side of local midnight and of month ends, in China's UTC+8 and
//! in another offset.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

use sentinel_analysis::{
    CategoryInfo, Dimensions, Facts, GroupBy, HotspotQuery, JurisdictionInfo, Named, Period,
    PeriodKind, ReportFacts, Verdict, period,
};
use std::collections::HashMap;
use time::{Date, OffsetDateTime, UtcOffset};

/// A small deterministic generator (no dependency for it).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const CATS: [&str; 4] = ["pothole", "streetlight", "fire_lane_blocked", "litter"];
const DEPTS: [&str; 3] = ["roads", "fire", "sanitation"];
const GRIDS: [&str; 4] = ["g1", "g2", "g3", "g4"];

fn dims() -> Dimensions {
    Dimensions {
        categories: CATS
            .iter()
            .map(|c| CategoryInfo {
                code: (*c).into(),
                group: if *c == "fire_lane_blocked" {
                    "fire_safety"
                } else {
                    "city"
                }
                .into(),
                name: format!("{c}-zh"),
                name_en: (*c).into(),
            })
            .collect(),
        groups: vec![
            Named {
                code: "city".into(),
                name: "市容".into(),
                name_en: "City".into(),
            },
            Named {
                code: "fire_safety".into(),
                name: "消防".into(),
                name_en: "Fire".into(),
            },
        ],
        departments: DEPTS
            .iter()
            .map(|d| Named {
                code: (*d).into(),
                name: (*d).into(),
                name_en: (*d).into(),
            })
            .collect(),
        jurisdictions: vec![
            j("city", "city", None),
            j("d1", "district", Some("city")),
            j("d2", "district", Some("city")),
            j("g1", "grid", Some("d1")),
            j("g2", "grid", Some("d1")),
            j("g3", "grid", Some("d2")),
            j("g4", "grid", Some("d2")),
        ],
    }
}

fn j(code: &str, level: &str, parent: Option<&str>) -> JurisdictionInfo {
    JurisdictionInfo {
        code: code.into(),
        name: code.into(),
        name_en: code.into(),
        level: level.into(),
        parent: parent.map(Into::into),
    }
}

/// Reports over 2025-01 .. 2026-12, a third of them within a minute of a local
/// midnight, inserted out of order.
fn generate(n: usize, offset: UtcOffset, seed: u64) -> Vec<ReportFacts> {
    let mut rng = Rng(seed);
    let start = OffsetDateTime::new_in_offset(
        Date::from_calendar_date(2025, time::Month::January, 1).unwrap(),
        time::Time::MIDNIGHT,
        offset,
    )
    .unix_timestamp()
        * 1000;
    let span_days = 730;
    (0..n)
        .map(|i| {
            let day = rng.below(span_days) as i64;
            let within = if rng.below(3) == 0 {
                // a minute either side of midnight
                if rng.below(2) == 0 {
                    rng.below(60_000) as i64
                } else {
                    86_400_000 - 1 - rng.below(60_000) as i64
                }
            } else {
                rng.below(86_400_000) as i64
            };
            let created = start + day * 86_400_000 + within;
            let accepted = (rng.below(5) != 0).then(|| created + rng.below(4 * 3_600_000) as i64);
            let resolved = accepted
                .filter(|_| rng.below(3) != 0)
                .map(|a| a + rng.below(10 * 86_400_000) as i64);
            ReportFacts {
                id: i as i64 + 1,
                created_ms: created,
                category: CATS[rng.below(4) as usize].into(),
                department: (rng.below(6) != 0).then(|| DEPTS[rng.below(3) as usize].into()),
                jurisdiction: (rng.below(10) != 0).then(|| GRIDS[rng.below(4) as usize].into()),
                channel: ["web", "api", "phone"][rng.below(3) as usize].into(),
                lat: 36.4 + rng.below(1000) as f64 * 1e-4,
                lon: 115.9 + rng.below(1000) as f64 * 1e-4,
                excluded: rng.below(20) == 0,
                accepted_ms: accepted,
                accept_late: accepted.map(|_| rng.below(4) == 0),
                resolved_ms: resolved,
                resolve_late: resolved.map(|_| rng.below(5) == 0),
                rating: resolved
                    .filter(|_| rng.below(2) == 0)
                    .map(|_| 1 + rng.below(5) as u8),
                reopened: resolved.is_some() && rng.below(10) == 0,
                returned_by: (rng.below(15) == 0).then(|| DEPTS[rng.below(3) as usize].into()),
            }
        })
        .collect()
}

fn local_date(ms: i64, offset: UtcOffset) -> Date {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap()
        .to_offset(offset)
        .date()
}

fn brute(
    reports: &[ReportFacts],
    offset: UtcOffset,
    p: Period,
    key: impl Fn(&ReportFacts) -> String,
) -> HashMap<String, u64> {
    let (from, until) = (p.start, p.end());
    let mut m = HashMap::new();
    for r in reports.iter().filter(|r| !r.excluded) {
        let d = local_date(r.created_ms, offset);
        if d >= from && d < until {
            *m.entry(key(r)).or_default() += 1;
        }
    }
    m
}

fn load(reports: &[ReportFacts], offset: UtcOffset) -> Facts {
    let mut f = Facts::new(&dims(), offset);
    // In three batches, the middle one older than the first: rows must re-sort.
    let third = reports.len() / 3;
    f.upsert(reports[third..2 * third].iter().cloned());
    f.upsert(reports[..third].iter().cloned());
    f.upsert(reports[2 * third..].iter().cloned());
    f
}

#[test]
fn trends_equal_brute_force_counts_across_local_midnights() {
    for offset in [
        UtcOffset::from_hms(8, 0, 0).unwrap(),
        UtcOffset::from_hms(-5, 0, 0).unwrap(),
    ] {
        let reports = generate(20_000, offset, 7);
        let facts = load(&reports, offset);
        assert_eq!(facts.len(), reports.len());
        let grid_district = |g: &str| if g == "g1" || g == "g2" { "d1" } else { "d2" };
        let cases: Vec<(GroupBy, Box<dyn Fn(&ReportFacts) -> String>)> = vec![
            (GroupBy::Category, Box::new(|r| r.category.clone())),
            (
                GroupBy::Group,
                Box::new(|r| {
                    if r.category == "fire_lane_blocked" {
                        "fire_safety".into()
                    } else {
                        "city".into()
                    }
                }),
            ),
            (
                GroupBy::Department,
                Box::new(|r| r.department.clone().unwrap_or("none".into())),
            ),
            (GroupBy::Channel, Box::new(|r| r.channel.clone())),
            (
                GroupBy::Jurisdiction(None),
                Box::new(|r| r.jurisdiction.clone().unwrap_or("none".into())),
            ),
            (
                GroupBy::Jurisdiction(Some("district".into())),
                Box::new(move |r| {
                    r.jurisdiction
                        .as_deref()
                        .map_or("none".into(), |g| grid_district(g).into())
                }),
            ),
        ];
        for (kind, at) in [
            (PeriodKind::Month, "2026-03"),
            (PeriodKind::Month, "2026-01"),
            (PeriodKind::Day, "2026-02-01"),
            (PeriodKind::Week, "2026-W10"),
            (PeriodKind::Quarter, "2026-Q2"),
            (PeriodKind::Year, "2026"),
        ] {
            let p = Period::parse(kind, at).unwrap();
            for (g, key) in &cases {
                let t = facts.trends(g, p, i32::MAX - 1).unwrap();
                let now = brute(&reports, offset, p, key);
                let yoy = brute(&reports, offset, p.year_before(), key);
                let mom = brute(&reports, offset, p.previous(), key);
                for it in &t.items {
                    let get = |m: &HashMap<String, u64>| m.get(&it.key).copied().unwrap_or(0);
                    assert_eq!(it.count, get(&now), "{offset} {at} {g:?} {} now", it.key);
                    assert_eq!(
                        it.mom.previous.unwrap(),
                        get(&mom),
                        "{at} {g:?} {} mom",
                        it.key
                    );
                    if let Some(prev) = it.yoy.previous {
                        assert_eq!(prev, get(&yoy), "{at} {g:?} {} yoy", it.key);
                    }
                }
                assert_eq!(t.total.count, now.values().sum::<u64>());
                assert_eq!(t.items.iter().map(|i| i.count).sum::<u64>(), t.total.count);
                // Periods in 2025 have nothing a year before: said so, not a division by zero.
                if p.year_before().end()
                    <= Date::from_calendar_date(2025, time::Month::January, 1).unwrap()
                {
                    assert_eq!(t.total.yoy.verdict, Verdict::NoComparison);
                    assert_eq!(t.total.yoy.previous, None);
                }
            }
        }
        // A period with no data: an empty table, not an error.
        let empty = facts
            .trends(
                &GroupBy::Category,
                Period::parse(PeriodKind::Month, "2030-01").unwrap(),
                i32::MAX - 1,
            )
            .unwrap();
        assert_eq!(empty.total.count, 0);
        assert!(empty.items.is_empty());
    }
}

#[test]
fn a_real_drop_is_significant_and_noise_is_not() {
    let offset = UtcOffset::from_hms(8, 0, 0).unwrap();
    let mk = |id: i64, y: i32, m: u8, d: u8, cat: &str| ReportFacts {
        id,
        created_ms: OffsetDateTime::new_in_offset(
            Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap(),
            time::Time::from_hms(10, 0, 0).unwrap(),
            offset,
        )
        .unix_timestamp()
            * 1000,
        category: cat.into(),
        department: None,
        jurisdiction: None,
        channel: "web".into(),
        lat: 36.45,
        lon: 115.98,
        excluded: false,
        accepted_ms: None,
        accept_late: None,
        resolved_ms: None,
        resolve_late: None,
        rating: None,
        reopened: false,
        returned_by: None,
    };
    let mut rows = Vec::new();
    let mut id = 0;
    // Potholes: 200 in 2025-10, 200 in 2026-09, 100 in 2026-10 (a real halving).
    // Litter: 10, 10, 8 (noise).
    for (y, m, n_pot, n_lit) in [(2025, 10, 200, 10), (2026, 9, 200, 10), (2026, 10, 100, 8)] {
        for k in 0..n_pot {
            id += 1;
            rows.push(mk(id, y, m, 1 + (k % 28) as u8, "pothole"));
        }
        for k in 0..n_lit {
            id += 1;
            rows.push(mk(id, y, m, 1 + (k % 28) as u8, "litter"));
        }
    }
    let mut f = Facts::new(&dims(), offset);
    f.upsert(rows);
    let t = f
        .trends(
            &GroupBy::Category,
            Period::parse(PeriodKind::Month, "2026-10").unwrap(),
            i32::MAX - 1,
        )
        .unwrap();
    let pot = t.items.iter().find(|i| i.key == "pothole").unwrap();
    assert_eq!(pot.count, 100);
    assert_eq!(pot.yoy.previous, Some(200));
    assert_eq!(pot.yoy.change_pct, Some(-50.0));
    assert_eq!(pot.yoy.verdict, Verdict::SignificantDecline);
    assert_eq!(pot.mom.verdict, Verdict::SignificantDecline);
    assert!(pot.double_decline);
    let lit = t.items.iter().find(|i| i.key == "litter").unwrap();
    assert_eq!(lit.yoy.change_pct, Some(-20.0));
    assert_eq!(
        lit.yoy.verdict,
        Verdict::NoSignificantChange,
        "a 20% drop of 10 is noise"
    );
    assert!(!lit.double_decline);
    assert!(t.double_decline);
    assert!(!t.partial);

    // On 2026-10-10 the month is running: ten days against the first ten days of
    // September and of October 2025.
    let today =
        period::day_number(Date::from_calendar_date(2026, time::Month::October, 10).unwrap());
    let t = f
        .trends(
            &GroupBy::Category,
            Period::parse(PeriodKind::Month, "2026-10").unwrap(),
            today,
        )
        .unwrap();
    assert!(t.partial);
    assert_eq!(t.days, 10);
    let pot = t.items.iter().find(|i| i.key == "pothole").unwrap();
    // Days 1..=10 of each month: potholes fall on day 1 + k % 28.
    let first_ten = |n: u64| (0..n).filter(|k| k % 28 < 10).count() as u64;
    assert_eq!(pot.count, first_ten(100));
    assert_eq!(pot.yoy.previous, Some(first_ten(200)));
    assert_eq!(pot.mom.previous, Some(first_ten(200)));
}

#[test]
fn scores_patterns_and_hotspots_equal_brute_force() {
    let offset = UtcOffset::from_hms(8, 0, 0).unwrap();
    let reports = generate(20_000, offset, 11);
    let facts = load(&reports, offset);
    let p = Period::parse(PeriodKind::Month, "2026-05").unwrap();
    let (from, until) = (p.start, p.end());
    let in_p: Vec<&ReportFacts> = reports
        .iter()
        .filter(|r| !r.excluded)
        .filter(|r| {
            let d = local_date(r.created_ms, offset);
            d >= from && d < until
        })
        .collect();
    let league = facts.department_scores(p);
    assert_eq!(league.items.len(), 3);
    for it in &league.items {
        let mine: Vec<&&ReportFacts> = in_p
            .iter()
            .filter(|r| r.department.as_deref() == Some(&it.key))
            .collect();
        assert_eq!(it.now.reports, mine.len() as u64, "{}", it.key);
        let resolved = mine.iter().filter(|r| r.resolved_ms.is_some()).count() as u64;
        assert_eq!(it.now.resolution_rate.yes, resolved);
        let on_time = mine.iter().filter(|r| r.accept_late == Some(false)).count() as u64;
        assert_eq!(it.now.response_rate.yes, on_time);
        let rated = mine.iter().filter(|r| r.rating.is_some()).count() as u64;
        let happy = mine
            .iter()
            .filter(|r| r.rating.is_some_and(|x| x >= 4))
            .count() as u64;
        assert_eq!(
            (it.now.satisfaction_rate.yes, it.now.satisfaction_rate.of),
            (happy, rated)
        );
        let returned = in_p
            .iter()
            .filter(|r| r.returned_by.as_deref() == Some(&it.key))
            .count() as u64;
        assert_eq!(it.now.return_rate.yes, returned);
        // The median time to accept, by nearest rank.
        let mut acc: Vec<i64> = mine
            .iter()
            .filter_map(|r| r.accepted_ms.map(|a| (a - r.created_ms) / 1000))
            .collect();
        acc.sort_unstable();
        let k = (acc.len() as f64 * 0.5).ceil() as usize - 1;
        assert_eq!(
            it.now.accept_hours_p50,
            Some(((acc[k] as f64 / 3600.0) * 100.0).round() / 100.0)
        );
        assert!(it.yoy.is_some());
    }
    assert!(
        league
            .items
            .windows(2)
            .all(|w| w[0].now.resolution_rate.pct >= w[1].now.resolution_rate.pct)
    );

    let (a, b) = p.days();
    let m = facts.hour_by_weekday(a, b);
    let mut brute = [[0u64; 24]; 7];
    for r in &in_p {
        let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(r.created_ms) * 1_000_000)
            .unwrap()
            .to_offset(offset);
        brute[t.weekday().number_days_from_monday() as usize][t.hour() as usize] += 1;
    }
    assert_eq!(m, brute);
    let times = facts.resolve_times(a, b);
    assert_eq!(
        times.resolved,
        in_p.iter().filter(|r| r.resolved_ms.is_some()).count() as u64
    );
    assert_eq!(
        times.buckets.iter().map(|b| b.count).sum::<u64>(),
        times.resolved
    );

    let cells = facts
        .hotspots(&HotspotQuery {
            resolution: 7,
            since: a,
            until: b,
            recent_days: 7,
        })
        .unwrap();
    assert_eq!(
        cells.iter().map(|c| c.count).sum::<u64>(),
        in_p.len() as u64
    );
    for res in [2, 12] {
        assert!(
            facts
                .hotspots(&HotspotQuery {
                    resolution: res,
                    since: a,
                    until: b,
                    recent_days: 7
                })
                .is_err()
        );
    }
    assert_eq!(period::date_of(a), from);
}

#[test]
fn an_emerging_hotspot_is_found_and_quiet_cells_are_not() {
    let offset = UtcOffset::from_hms(8, 0, 0).unwrap();
    let base = OffsetDateTime::new_in_offset(
        Date::from_calendar_date(2026, time::Month::January, 1).unwrap(),
        time::Time::from_hms(9, 0, 0).unwrap(),
        offset,
    )
    .unix_timestamp()
        * 1000;
    let mut rows = Vec::new();
    let mut id = 0;
    let mut add = |day: i64, lat: f64, lon: f64| {
        id += 1;
        let mut r = generate(1, offset, id as u64).remove(0);
        r.id = id;
        r.created_ms = base + day * 86_400_000;
        r.lat = lat;
        r.lon = lon;
        r.excluded = false;
        rows.push(r);
    };
    // Two places, one report every other day for 90 days; in the last 7 days the
    // first gets 5 a day.
    for day in (0..90).step_by(2) {
        add(day, 36.45, 115.98);
        add(day, 36.30, 115.80);
    }
    for day in 83..90 {
        for _ in 0..5 {
            add(day, 36.45, 115.98);
        }
    }
    let mut f = Facts::new(&dims(), offset);
    f.upsert(rows);
    let since =
        period::day_number(Date::from_calendar_date(2026, time::Month::January, 1).unwrap());
    let cells = f
        .hotspots(&HotspotQuery {
            resolution: 8,
            since,
            until: since + 90,
            recent_days: 7,
        })
        .unwrap();
    assert_eq!(cells.len(), 2);
    assert!(cells[0].emerging, "{cells:?}");
    assert!(!cells[1].emerging, "{cells:?}");
    let geo = sentinel_analysis::cells_geojson(&cells);
    assert_eq!(geo["features"].as_array().unwrap().len(), 2);
    assert!(
        geo["features"][0]["properties"]["p_value"]
            .as_f64()
            .unwrap()
            < 0.001
    );
}
