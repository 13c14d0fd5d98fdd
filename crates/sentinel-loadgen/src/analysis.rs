//! `analysis`: generates N reports' facts (two years, a city of 1,000 grids), times
//! the analysis queries in process (medians), and optionally writes the same data
//! as CSV so another engine (DuckDB) can answer the same questions on it.

use anyhow::Result;
use sentinel_analysis::{
    CategoryInfo, Dimensions, Facts, GroupBy, HotspotQuery, JurisdictionInfo, Named, Period,
    PeriodKind, ReportFacts, period,
};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;
use time::{Date, Month, OffsetDateTime, UtcOffset};

const CATEGORIES: usize = 20;
const DEPARTMENTS: usize = 10;
const GRIDS: usize = 1_000;

fn dims() -> Dimensions {
    let mut jurisdictions = vec![JurisdictionInfo {
        code: "c".into(),
        name: "city".into(),
        name_en: "city".into(),
        level: "city".into(),
        parent: None,
    }];
    for d in 0..10 {
        jurisdictions.push(JurisdictionInfo {
            code: format!("d{d}"),
            name: format!("district {d}"),
            name_en: format!("district {d}"),
            level: "district".into(),
            parent: Some("c".into()),
        });
    }
    for t in 0..100 {
        jurisdictions.push(JurisdictionInfo {
            code: format!("t{t}"),
            name: format!("town {t}"),
            name_en: format!("town {t}"),
            level: "town".into(),
            parent: Some(format!("d{}", t / 10)),
        });
    }
    for g in 0..GRIDS {
        jurisdictions.push(JurisdictionInfo {
            code: format!("g{g}"),
            name: format!("grid {g}"),
            name_en: format!("grid {g}"),
            level: "grid".into(),
            parent: Some(format!("t{}", g / 10)),
        });
    }
    Dimensions {
        categories: (0..CATEGORIES)
            .map(|c| CategoryInfo {
                code: format!("cat{c}"),
                group: format!("grp{}", c / 4),
                name: format!("category {c}"),
                name_en: format!("category {c}"),
            })
            .collect(),
        groups: (0..CATEGORIES / 4)
            .map(|g| Named {
                code: format!("grp{g}"),
                name: format!("group {g}"),
                name_en: format!("group {g}"),
            })
            .collect(),
        departments: (0..DEPARTMENTS)
            .map(|d| Named {
                code: format!("dep{d}"),
                name: format!("department {d}"),
                name_en: format!("department {d}"),
            })
            .collect(),
        jurisdictions,
    }
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn generate(rng: &mut Rng, id: i64, start_ms: i64, span_days: u64) -> ReportFacts {
    let created = start_ms + (rng.below(span_days * 86_400) * 1000) as i64;
    let cat = rng.below(CATEGORIES as u64);
    let accepted = (rng.below(10) != 0).then(|| created + (rng.below(4 * 3600) * 1000) as i64);
    let resolved = accepted
        .filter(|_| rng.below(3) != 0)
        .map(|a| a + (rng.below(10 * 86_400) * 1000) as i64);
    let grid = rng.below(GRIDS as u64);
    ReportFacts {
        id,
        created_ms: created,
        category: format!("cat{cat}"),
        department: (rng.below(20) != 0).then(|| format!("dep{}", cat as usize % DEPARTMENTS)),
        jurisdiction: Some(format!("g{grid}")),
        channel: ["web", "api", "phone", "open311", "import"][rng.below(5) as usize].into(),
        lat: 36.0 + rng.below(100_000) as f64 * 1e-5,
        lon: 115.5 + rng.below(100_000) as f64 * 1e-5,
        excluded: rng.below(50) == 0,
        accepted_ms: accepted,
        accept_late: accepted.map(|_| rng.below(5) == 0),
        resolved_ms: resolved,
        resolve_late: resolved.map(|_| rng.below(6) == 0),
        rating: resolved
            .filter(|_| rng.below(2) == 0)
            .map(|_| 1 + rng.below(5) as u8),
        reopened: resolved.is_some() && rng.below(20) == 0,
        returned_by: (rng.below(30) == 0).then(|| format!("dep{}", rng.below(DEPARTMENTS as u64))),
    }
}

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// Generates, times, and writes CSV if asked.
pub fn run(reports: usize, csv: Option<PathBuf>, runs: usize) -> Result<()> {
    let offset = UtcOffset::from_hms(8, 0, 0)?;
    let start = OffsetDateTime::new_in_offset(
        Date::from_calendar_date(2024, Month::November, 1)?,
        time::Time::MIDNIGHT,
        offset,
    );
    let start_ms = start.unix_timestamp() * 1000;
    let span = 730;
    let d = dims();
    let mut facts = Facts::new(&d, offset);
    let mut rng = Rng(42);
    let mut out = match &csv {
        Some(p) => {
            std::fs::create_dir_all(p)?;
            let mut j =
                std::io::BufWriter::new(std::fs::File::create(p.join("jurisdictions.csv"))?);
            writeln!(j, "code,level,district")?;
            for g in 0..GRIDS {
                writeln!(j, "g{g},grid,d{}", g / 100)?;
            }
            let mut f = std::io::BufWriter::new(std::fs::File::create(p.join("facts.csv"))?);
            writeln!(
                f,
                "id,day,minute,category,grp,department,jurisdiction,channel,excluded,accept_known,accept_on_time,resolved,resolve_known,resolve_on_time,reopened,rating,accept_s,resolve_s,returned_by,lat,lon"
            )?;
            Some(f)
        }
        None => None,
    };
    let t0 = Instant::now();
    let mut id = 0i64;
    while (id as usize) < reports {
        let n = (reports - id as usize).min(200_000);
        let batch: Vec<ReportFacts> = (0..n)
            .map(|_| {
                id += 1;
                generate(&mut rng, id, start_ms, span)
            })
            .collect();
        if let Some(f) = out.as_mut() {
            for r in &batch {
                let day = period::local_day(r.created_ms, offset);
                let minute = ((r.created_ms / 1000 + 8 * 3600).rem_euclid(86_400)) / 60;
                let cat: usize = r.category[3..].parse().unwrap_or(0);
                let b = |v: bool| u8::from(v);
                let secs = |t: Option<i64>| {
                    t.map(|t| ((t - r.created_ms) / 1000).to_string())
                        .unwrap_or_default()
                };
                writeln!(
                    f,
                    "{},{},{},{},grp{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.5},{:.5}",
                    r.id,
                    day,
                    minute,
                    r.category,
                    cat / 4,
                    r.department.as_deref().unwrap_or(""),
                    r.jurisdiction.as_deref().unwrap_or(""),
                    r.channel,
                    b(r.excluded),
                    b(r.accept_late.is_some()),
                    b(r.accept_late == Some(false)),
                    b(r.resolved_ms.is_some()),
                    b(r.resolve_late.is_some()),
                    b(r.resolve_late == Some(false)),
                    b(r.reopened),
                    r.rating.map(|v| v.to_string()).unwrap_or_default(),
                    secs(r.accepted_ms),
                    secs(r.resolved_ms),
                    r.returned_by.as_deref().unwrap_or(""),
                    r.lat,
                    r.lon,
                )?;
            }
        }
        facts.upsert(batch);
    }
    if let Some(mut f) = out.take() {
        f.flush()?;
    }
    println!(
        "analysis: {} reports generated in {:.1} s (2024-11-01 to 2026-10-31, {GRIDS} grids, {CATEGORIES} categories, {DEPARTMENTS} departments)",
        facts.len(),
        t0.elapsed().as_secs_f64()
    );
    let today = period::day_number(Date::from_calendar_date(2026, Month::November, 26)?);
    let p = |k: PeriodKind, at: &str| Period::parse(k, at).map_err(anyhow::Error::msg);
    let month = p(PeriodKind::Month, "2026-10")?;
    let quarter = p(PeriodKind::Quarter, "2026-Q3")?;
    let year = p(PeriodKind::Year, "2025")?;
    let week = p(PeriodKind::Week, "2026-W40")?;
    let day = p(PeriodKind::Day, "2026-10-15")?;
    let district = GroupBy::Jurisdiction(Some("district".into()));
    type Case<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let cases: Vec<Case> = vec![
        (
            "trends category month 2026-10",
            Box::new(|| {
                let _ = facts.trends(&GroupBy::Category, month, today);
            }),
        ),
        (
            "trends department quarter 2026-Q3",
            Box::new(|| {
                let _ = facts.trends(&GroupBy::Department, quarter, today);
            }),
        ),
        (
            "trends district year 2025",
            Box::new(|| {
                let _ = facts.trends(&district, year, today);
            }),
        ),
        (
            "trends grid month 2026-10",
            Box::new(|| {
                let _ = facts.trends(&GroupBy::Jurisdiction(None), month, today);
            }),
        ),
        (
            "trends group week 2026-W40",
            Box::new(|| {
                let _ = facts.trends(&GroupBy::Group, week, today);
            }),
        ),
        (
            "trends channel day 2026-10-15",
            Box::new(|| {
                let _ = facts.trends(&GroupBy::Channel, day, today);
            }),
        ),
        (
            "department scores month 2026-10",
            Box::new(|| {
                let _ = facts.department_scores(month);
            }),
        ),
        (
            "department scores year 2025",
            Box::new(|| {
                let _ = facts.department_scores(year);
            }),
        ),
        (
            "hotspots res 8, 90 days",
            Box::new(|| {
                let (_, b) = month.days();
                let _ = facts.hotspots(&HotspotQuery {
                    resolution: 8,
                    since: b - 90,
                    until: b,
                    recent_days: 7,
                });
            }),
        ),
        (
            "hour x weekday month 2026-10",
            Box::new(|| {
                let (a, b) = month.days();
                let _ = facts.hour_by_weekday(a, b);
            }),
        ),
    ];
    // What the other engine must agree with.
    let t = facts
        .trends(&GroupBy::Category, month, today)
        .map_err(anyhow::Error::msg)?;
    let d = facts
        .trends(&district, year, today)
        .map_err(anyhow::Error::msg)?;
    println!(
        "check: category month 2026-10 now={} yoy={} mom={}; district year 2025 now={} d0={}",
        t.total.count,
        t.total.yoy.previous.unwrap_or(0),
        t.total.mom.previous.unwrap_or(0),
        d.total.count,
        d.items
            .iter()
            .find(|i| i.key == "d0")
            .map_or(0, |i| i.count),
    );
    for (name, f) in &cases {
        println!("  {name:<36} p50 {:>8.2} ms", median_ms(runs, f));
    }
    Ok(())
}
