//! `sentinel demo`: a reproducible city at the scale of the source, built once into
//! an empty data folder: Liaocheng's real county outlines with generated towns and
//! grids (网格), staff accounts, 55 key patrol points, 1,795 cameras, drone bases,
//! 1,200 units of the four kinds (live, with trackers that report while the demo
//! serves), and two years of reports with seasons, weekly and
//! daily rhythm, hotspots, a real decline in some categories, and every lifecycle
//! stage with deadlines met and missed. The same seed gives the same city.

use crate::progress::bar;
use anyhow::{Result, anyhow};
use futures_util::StreamExt;
use geo::{Area, BooleanOps, BoundingRect, Coord, MultiPolygon, Rect};
use sentinel_core::SentinelGroup;
use sentinel_core::calendar::{DueChange, WorkCalendar, due_after, due_at_submission};
use sentinel_core::lifecycle::LifecyclePolicy;
use sentinel_core::{
    Action, Actor, Catalog, Category, Channel, Contact, Fix, NewReport, NewUnit, Reporter, Role,
    UnitStatus,
};
use sentinel_geo::import::{ImportOptions, area_to_geojson};
use sentinel_geo::{JurisdictionIndex, Level, Point};
use sentinel_server::auth::{PasswordPolicy, Secret, create_staff_user};
use sentinel_store::{ActionRequest, NewJurisdiction, NewLayerFeature, Store, Submission};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The password of every demo account (printed at start; a demo, not a deployment).
pub use sentinel_server::auth::DEMO_PASSWORD;

const ACCOUNTS: &[(&str, Role, Option<&str>)] = &[
    ("admin", Role::Admin, None),
    ("dispatcher", Role::Dispatcher, None),
    ("fire-officer", Role::Officer, Some("fire")),
    ("housing-officer", Role::Officer, Some("housing")),
    ("traffic-officer", Role::Officer, Some("traffic")),
    ("market-officer", Role::Officer, Some("market")),
    ("analyst", Role::Analyst, None),
    ("unit-jj001", Role::Unit, None),
];

/// Liaocheng's real county outlines (MIT; see data/demo/liaocheng/README.md).
const LIAOCHENG_CITY: &str = include_str!("../../../data/demo/liaocheng/city.geojson");
const LIAOCHENG_DISTRICTS: &str = include_str!("../../../data/demo/liaocheng/districts.geojson");

/// How big a city to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// A few thousand reports: seconds to build, for trying things out and tests.
    Small,
    /// Two years at a city's volume (300,000 reports).
    Full,
}

impl Scale {
    fn reports(self) -> usize {
        match self {
            Scale::Small => 3_000,
            Scale::Full => 300_000,
        }
    }
}

/// Town names the source mentions, placed in their real counties.
const KNOWN_TOWNS: &[(&str, &str, &str)] = &[
    ("371502", "侯营镇", "Houying"),
    ("371502", "九州街道", "Jiuzhou Subdistrict"),
    ("371503", "杜郎口镇", "Dulangkou"),
    ("371522", "燕店镇", "Yandian"),
    ("371522", "十八里铺镇", "Shibalipu"),
    ("371522", "董庄镇", "Dongzhuang"),
];

/// Busy places: (lat, lon, weight). The old town of Dongchangfu, Linqing, a market.
const HOTSPOTS: &[(f64, f64, f64)] = &[
    (36.456, 115.985, 0.18),
    (36.838, 115.705, 0.06),
    (36.236, 115.670, 0.04),
    (36.470, 116.005, 0.05),
];

/// A small deterministic generator (xorshift64*): enough for scattering a city.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn normal(&mut self) -> f64 {
        // Box-Muller.
        let (u, v) = (self.unit().max(1e-12), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Builds the demo city into `store` unless it already has data.
pub async fn prepare(store: Arc<dyn Store>, seed: u64, scale: Scale) -> Result<()> {
    let catalog = Catalog::builtin();
    let started = std::time::Instant::now();
    if !store.users().await?.is_empty() {
        println!("the data folder already holds a city; serving it as it is");
        print_sign_ins();
        return Ok(());
    }
    for (name, role, dept) in ACCOUNTS {
        create_staff_user(
            &*store,
            &catalog,
            name,
            &Secret::new(DEMO_PASSWORD),
            *role,
            *dept,
            PasswordPolicy::Demo,
        )
        .await
        .map_err(|e| anyhow!("{e}"))?;
    }
    let mut rng = Rng::new(seed);
    build_jurisdictions(&*store).await?;
    let index = sentinel_server::geography::load_index(&*store)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    build_layers(&*store, &index, &mut rng).await?;
    build_sentinels(&*store).await?;
    seed_reports(
        store.clone(),
        &catalog,
        Arc::new(index),
        seed,
        scale.reports(),
    )
    .await?;
    println!(
        "built the demo city in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    print_sign_ins();
    Ok(())
}

/// The sentinel groups of the demo city and how many each has: the source's 2,700
/// delivery riders first, then the others.
const SENTINEL_GROUPS: &[(SentinelGroup, &str, usize)] = &[
    (SentinelGroup::DeliveryRider, "rider", 2_700),
    (SentinelGroup::Courier, "courier", 400),
    (SentinelGroup::RideHailingDriver, "driver", 300),
    (SentinelGroup::Retiree, "retiree", 500),
    (SentinelGroup::GridWorker, "grid", 600),
];

/// Every sentinel's handle, in the order reports draw them (riders first).
fn sentinel_handles() -> Vec<String> {
    SENTINEL_GROUPS
        .iter()
        .flat_map(|(_, prefix, n)| (0..*n).map(move |i| format!("{prefix}-{i:04}")))
        .collect()
}

/// 4,500 verified sentinels with approved groups, sharing the demo password (one
/// hash: argon2 for each would take a minute), and a few pending requests for an
/// admin to decide.
async fn build_sentinels(store: &dyn Store) -> Result<()> {
    let hash = sentinel_server::auth::hash_password(&Secret::new(DEMO_PASSWORD))
        .map_err(|e| anyhow!("{e}"))?;
    let now = OffsetDateTime::now_utc();
    let mut accounts = Vec::new();
    let mut k = 0u64;
    for (group, prefix, n) in SENTINEL_GROUPS {
        for i in 0..*n {
            k += 1;
            accounts.push((
                sentinel_core::NewSentinel {
                    handle: format!("{prefix}-{i:04}"),
                    display_name: format!("{}{i}", group.name_zh()),
                    // 170 numbers are a virtual-operator range: no real person's.
                    phone: Some(format!("170{k:08}")),
                    email: None,
                    password_hash: hash.clone(),
                    verified_at: Some(now),
                },
                vec![*group],
            ));
        }
    }
    store.create_sentinels(accounts, "admin", now).await?;
    // Some riders also deliver parcels: their requests wait for an admin.
    for i in 0..12 {
        store
            .request_group(&format!("rider-{i:04}"), SentinelGroup::Courier, now)
            .await?;
    }
    Ok(())
}

fn print_sign_ins() {
    println!(
        "staff sign-ins (password {DEMO_PASSWORD:?}): {}",
        ACCOUNTS.iter().map(|a| a.0).collect::<Vec<_>>().join(", ")
    );
    println!(
        "sentinel sign-ins (same password): rider-0001 (a delivery rider, phone 17000000002), grid-0001 (a grid worker)"
    );
}

/// City and counties from the real outlines, then towns (about 8 km cells) and
/// grids (about 2 km cells) cut out of each county.
async fn build_jurisdictions(store: &dyn Store) -> Result<()> {
    for (text, level) in [
        (LIAOCHENG_CITY, Level::City),
        (LIAOCHENG_DISTRICTS, Level::District),
    ] {
        let opts = ImportOptions {
            level,
            name_field: "name".into(),
            name_en_field: "name_en".into(),
            code_field: "adcode".into(),
            parent_field: None,
            crs: sentinel_geo::Crs::Wgs84,
        };
        sentinel_server::geography::import_jurisdictions(store, text, &opts)
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    let districts: Vec<_> = store
        .jurisdictions()
        .await?
        .into_iter()
        .filter(|j| j.level == Level::District)
        .collect();
    let pb = bar(districts.len() as u64, "towns, grids");
    let mut towns = Vec::new();
    let mut grids = Vec::new();
    for d in &districts {
        let area =
            sentinel_geo::import::area_from_geojson(&d.area_geojson).map_err(|e| anyhow!("{e}"))?;
        let known: Vec<_> = KNOWN_TOWNS.iter().filter(|k| k.0 == d.code).collect();
        for (t, town_area) in cut(&area, 0.08).into_iter().enumerate() {
            let code = format!("{}{:03}", d.code, t + 1);
            let (name, name_en) = match known.get(t) {
                Some(k) => (k.1.to_owned(), k.2.to_owned()),
                None => (
                    format!("{}第{}镇", d.name, t + 1),
                    format!("{} town {}", d.name_en.clone().unwrap_or_default(), t + 1),
                ),
            };
            for (g, grid_area) in cut(&town_area, 0.02).into_iter().enumerate() {
                grids.push(NewJurisdiction {
                    code: format!("{code}{:03}", g + 1),
                    name: format!("{name}第{}网格", g + 1),
                    name_en: Some(format!("{name_en}, grid {}", g + 1)),
                    level: Level::Grid,
                    parent_code: Some(code.clone()),
                    area_geojson: area_to_geojson(&grid_area),
                });
            }
            towns.push(NewJurisdiction {
                code,
                name,
                name_en: Some(name_en),
                level: Level::Town,
                parent_code: Some(d.code.clone()),
                area_geojson: area_to_geojson(&town_area),
            });
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    let now = OffsetDateTime::now_utc();
    store.import_jurisdictions(towns, now).await?;
    store.import_jurisdictions(grids, now).await?;
    Ok(())
}

/// The parts of `area` in each cell of a `step`-degree grid (slivers dropped).
fn cut(area: &MultiPolygon<f64>, step: f64) -> Vec<MultiPolygon<f64>> {
    let Some(b) = area.bounding_rect() else {
        return vec![];
    };
    let cell_area = step * step;
    let mut out = Vec::new();
    let mut y = (b.min().y / step).floor() * step;
    while y < b.max().y {
        let mut x = (b.min().x / step).floor() * step;
        while x < b.max().x {
            let cell = Rect::new(
                Coord { x, y },
                Coord {
                    x: x + step,
                    y: y + step,
                },
            )
            .to_polygon();
            let part = area.intersection(&MultiPolygon(vec![cell]));
            if part.unsigned_area() > 0.15 * cell_area {
                out.push(part);
            }
            x += step;
        }
        y += step;
    }
    out
}

/// A point inside the city: near a hotspot, near the centre of some town, or anywhere.
fn point_in_city(rng: &mut Rng, index: &JurisdictionIndex) -> Point {
    loop {
        let r = rng.unit();
        let mut acc = 0.0;
        let mut p = None;
        for (lat, lon, w) in HOTSPOTS {
            acc += w;
            if r < acc {
                p = Point::new(lat + rng.normal() * 0.006, lon + rng.normal() * 0.007).ok();
                break;
            }
        }
        let p =
            p.or_else(|| Point::new(35.85 + rng.unit() * 1.25, 115.15 + rng.unit() * 1.45).ok());
        if let Some(p) = p
            && index.locate(p).iter().any(|j| j.level == Level::District)
        {
            return p;
        }
    }
}

async fn write_layer(
    store: &dyn Store,
    name: &str,
    kind: &str,
    features: Vec<(Point, serde_json::Value)>,
) -> Result<()> {
    let layer = store
        .begin_layer(name, kind, OffsetDateTime::now_utc())
        .await?;
    let rows = features
        .into_iter()
        .map(|(p, props)| NewLayerFeature {
            geometry: serde_json::json!({ "type": "Point", "coordinates": [p.lon(), p.lat()] })
                .to_string(),
            properties: props.to_string(),
            bbox: [p.lon(), p.lat(), p.lon(), p.lat()],
        })
        .collect();
    store.add_layer_features(layer, rows).await?;
    store.finish_layer(layer).await?;
    Ok(())
}

/// Patrol points, cameras, drone bases and unit stations, at the source's counts.
async fn build_layers(store: &dyn Store, index: &JurisdictionIndex, rng: &mut Rng) -> Result<()> {
    let patrol: Vec<_> = (0..55)
        .map(|i| {
            let p = point_in_city(rng, index);
            (p, serde_json::json!({ "name": format!("重点巡逻点{}", i + 1), "radius_m": 50 + rng.below(10) * 10, "visits_per_day": 2 + rng.below(7) }))
        })
        .collect();
    write_layer(store, "重点巡逻点", "patrol_points", patrol).await?;
    let cameras: Vec<_> = (0..1795)
        .map(|i| {
            let p = point_in_city(rng, index);
            (p, serde_json::json!({
                "name": format!("结构化摄像头{:04}", i + 1),
                "stream_url": format!("rtsp://10.{}.{}.{}/live", 20 + i / 65_000, (i / 250) % 250, i % 250 + 1),
                "heading": rng.below(360),
            }))
        })
        .collect();
    write_layer(store, "结构化摄像头", "cameras", cameras).await?;
    let drones: Vec<_> = (0..12)
        .map(|i| (point_in_city(rng, index), serde_json::json!({ "name": format!("无人机基地{}", i + 1), "coverage_radius_m": 5000 })))
        .collect();
    write_layer(store, "无人机基地", "drone_bases", drones).await?;
    let kinds = [
        ("traffic_police", "交警", 450),
        ("special_police", "特警", 250),
        ("office_staff", "机关", 300),
        ("police_station", "派出所", 200),
    ];
    let mut units = Vec::new();
    for (kind, zh, n) in kinds {
        for i in 0..n {
            units.push((
                point_in_city(rng, index),
                serde_json::json!({ "name": format!("{zh}{:03}", i + 1), "unit_kind": kind }),
            ));
        }
    }
    // The same units as live units: a tracker each, at their station now; a tenth
    // off duty. `unit-jj001` works the first traffic police car.
    let now = OffsetDateTime::now_utc();
    let live: Vec<NewUnit> = units
        .iter()
        .enumerate()
        .map(|(i, (p, props))| NewUnit {
            callsign: props["name"].as_str().unwrap_or_default().to_owned(),
            kind: props["unit_kind"].as_str().unwrap_or_default().to_owned(),
            tracker_id: Some(format!("demo-{:016x}", rng.next())),
            user: (i == 0).then(|| "unit-jj001".to_owned()),
            department: None,
            status: if i > 0 && rng.below(10) == 0 {
                UnitStatus::OffDuty
            } else {
                UnitStatus::Available
            },
            position: Some(Fix {
                point: *p,
                at: now,
                accuracy_m: Some(10.0),
                speed_mps: None,
                bearing: None,
            }),
        })
        .collect();
    write_layer(store, "警力驻地", "units", units).await?;
    store.create_units(live, now).await?;
    Ok(())
}

/// While the demo serves, the trackers of the units on duty report every 30 s,
/// wandering a few hundred metres around their station, so the map is live and
/// dispatch has fresh positions to rank.
pub async fn simulate_trackers(store: Arc<dyn Store>, seed: u64) {
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        tick.tick().await;
        let Ok(units) = store.units().await else {
            continue;
        };
        let now = OffsetDateTime::now_utc();
        for u in units.iter().filter(|u| u.status != UnitStatus::OffDuty) {
            let Some(p) = u.position else { continue };
            let step = |rng: &mut Rng| (rng.unit() - 0.5) * 0.004;
            let Ok(point) = Point::new(
                p.point.lat() + step(&mut rng),
                p.point.lon() + step(&mut rng),
            ) else {
                continue;
            };
            let fix = Fix {
                point,
                at: now,
                accuracy_m: Some(8.0),
                speed_mps: Some(rng.unit() * 12.0),
                bearing: Some(rng.unit() * 359.0),
            };
            if let Err(e) = store.record_positions(u.id, vec![fix], now).await {
                tracing::warn!(error = %e, "the demo tracker simulation stopped");
                return;
            }
        }
    }
}

/// How likely a report is at a moment: seasons, week and day.
fn rhythm(cat: &Category, at: OffsetDateTime) -> f64 {
    let local = at.to_offset(sentinel_core::calendar::CHINA);
    let month = f64::from(u8::from(local.month()));
    let season = match cat.group.as_str() {
        // Summer kitchens and construction; winter heating and wiring.
        "market" | "construction" => {
            1.0 + 0.4 * ((month - 7.0) / 12.0 * std::f64::consts::TAU).cos()
        }
        "fire_safety" => 1.0 + 0.4 * ((month - 1.0) / 12.0 * std::f64::consts::TAU).cos(),
        _ => 1.0,
    };
    let week = match local.weekday() {
        time::Weekday::Saturday | time::Weekday::Sunday => 0.75,
        _ => 1.0,
    };
    let hour = f64::from(local.hour());
    let day =
        0.15 + (-(hour - 10.0).powi(2) / 8.0).exp() + 0.8 * (-(hour - 16.0).powi(2) / 10.0).exp();
    season * week * day
}

/// Some categories really decline over the two years (a campaign worked); the
/// rest only wobble.
fn trend(cat: &Category, years_ago: f64) -> f64 {
    match cat.code.as_str() {
        "fire_lane_blocked" | "illegal_parking" => 1.0 + 0.35 * years_ago,
        "food_safety" => 1.0 + 0.15 * years_ago,
        _ => 1.0,
    }
}

struct Plan {
    category: usize,
    location: Point,
    created: OffsetDateTime,
    anonymous: bool,
    /// Index into `sentinel_handles()`.
    sentinel: Option<usize>,
    stage: usize,
    late: bool,
    /// The reporter's rating once closed, if they give one.
    rating: Option<u8>,
}

fn plan_report(
    rng: &mut Rng,
    catalog: &Catalog,
    index: &JurisdictionIndex,
    now: OffsetDateTime,
) -> Plan {
    let span = 730.0 * 86_400.0;
    loop {
        let category = rng.below(catalog.categories.len());
        let cat = &catalog.categories[category];
        let ago = rng.unit() * span;
        let created = now - Duration::seconds_f64(ago);
        let weight = rhythm(cat, created) * trend(cat, ago / (365.0 * 86_400.0));
        if rng.unit() * 3.2 > weight {
            continue;
        }
        let age_days = ago / 86_400.0;
        let late = rng.unit() < 0.18;
        // Older reports are further along; a few stay stuck.
        let stage = if age_days > 14.0 {
            if rng.unit() < 0.9 {
                5
            } else {
                1 + rng.below(4)
            }
        } else {
            rng.below(6)
        };
        return Plan {
            category,
            location: point_in_city(rng, index),
            created,
            anonymous: rng.unit() < 0.3,
            // A quarter from the delivery riders, some from the other sentinels.
            sentinel: if rng.unit() < 0.25 {
                Some(rng.below(2_700))
            } else if rng.unit() < 0.16 {
                Some(2_700 + rng.below(1_800))
            } else {
                None
            },
            stage,
            late,
            rating: (rng.unit() < 0.75).then(|| {
                // Satisfaction improves over the two years and suffers when late.
                let mean = if late { 2.9 } else { 4.2 } + 0.3 * (1.0 - ago / span);
                (mean + rng.normal() * 0.9).round().clamp(1.0, 5.0) as u8
            }),
        };
    }
}

async fn seed_reports(
    store: Arc<dyn Store>,
    catalog: &Catalog,
    index: Arc<JurisdictionIndex>,
    seed: u64,
    n: usize,
) -> Result<()> {
    let now = OffsetDateTime::now_utc();
    let world = Arc::new(World {
        catalog: catalog.clone(),
        index,
        calendar: WorkCalendar::builtin(),
        handles: sentinel_handles(),
        now,
    });
    let mut rng = Rng::new(seed ^ 0x5E47_1AE1);
    let plans: Vec<Plan> = (0..n)
        .map(|_| plan_report(&mut rng, &world.catalog, &world.index, now))
        .collect();
    let pb = bar(n as u64, "reports");
    // Many at once, so that the store's group commit puts hundreds in one fsync.
    let results: Vec<Result<()>> = futures_util::stream::iter(plans.into_iter().enumerate())
        .map(|(i, plan)| {
            let (store, world, pb) = (store.clone(), world.clone(), pb.clone());
            async move {
                file_one(&*store, &world, i, plan).await?;
                pb.inc(1);
                Ok(())
            }
        })
        .buffer_unordered(1024)
        .collect()
        .await;
    pb.finish_and_clear();
    results.into_iter().collect::<Result<()>>()
}

/// What every report of the city is filed against.
struct World {
    catalog: Catalog,
    index: Arc<JurisdictionIndex>,
    calendar: WorkCalendar,
    handles: Vec<String>,
    now: OffsetDateTime,
}

async fn file_one(store: &dyn Store, world: &World, i: usize, plan: Plan) -> Result<()> {
    let World {
        catalog,
        index,
        calendar,
        handles,
        now,
    } = world;
    let now = *now;
    let cat = &catalog.categories[plan.category];
    let (jurisdiction, routing) =
        sentinel_server::geography::route_at(catalog, index, &cat.code, plan.location);
    let reporter = if plan.anonymous {
        Reporter::Anonymous
    } else if let Some(k) = plan.sentinel {
        Reporter::Account(handles[k].clone())
    } else {
        Reporter::Contact(Contact {
            phone: Some(format!("138{:08}", (i * 7919) % 100_000_000)),
            ..Default::default()
        })
    };
    let limits = cat.deadlines_for(cat.default_priority);
    let report = NewReport {
        category: cat.code.clone(),
        description: format!("{} / {}", cat.name, cat.name_en),
        location: plan.location,
        accuracy_m: Some(5.0 + (i % 30) as f64),
        address: None,
        attributes: Default::default(),
        reporter,
        channel: if plan.sentinel.is_some() || !i.is_multiple_of(3) {
            Channel::Web
        } else {
            Channel::Api
        },
        priority: cat.default_priority,
        observed_at: Some(plan.created),
        jurisdiction,
        routing: Some(routing.clone()),
        due: match due_at_submission(limits, plan.created, calendar) {
            DueChange::Set(at, kind) => Some((at, kind)),
            _ => None,
        },
        media_urls: vec![],
        reporter_key_hash: None,
    };
    let dispatcher = Actor::Staff {
        user: "dispatcher".into(),
        role: Role::Dispatcher,
        department: None,
    };
    let officer = Actor::Staff {
        user: format!("{}-officer", routing.department),
        role: Role::Officer,
        department: Some(routing.department.clone()),
    };
    let mut steps: Vec<(Actor, Action)> = Vec::new();
    if plan.stage >= 1 {
        steps.push((dispatcher.clone(), Action::Accept));
    }
    if plan.stage >= 2 {
        steps.push((
            dispatcher.clone(),
            Action::Assign {
                department: routing.department.clone(),
                co_departments: routing.co_departments.clone(),
                assignee: None,
                reason: None,
            },
        ));
    }
    if plan.stage >= 3 {
        steps.push((officer.clone(), Action::Start));
    }
    if plan.stage >= 4 {
        steps.push((
            officer.clone(),
            Action::Resolve {
                note: "已现场处置 / dealt with on site".into(),
            },
        ));
    }
    if plan.stage >= 5 {
        if cat.requires_verification {
            steps.push((dispatcher.clone(), Action::Verify));
        }
        steps.push((Actor::Reporter, Action::Close));
        // Most reporters rate the handling (满意度); late work rates worse.
        if let Some(score) = plan.rating {
            let rater = if plan.sentinel.is_some() || plan.anonymous {
                Actor::Reporter
            } else {
                // Contact-only reporters are called back (回访) by the hotline.
                dispatcher.clone()
            };
            steps.push((
                rater,
                Action::Rate {
                    score,
                    comment: (score <= 2).then(|| "处理太慢 / too slow".to_owned()),
                },
            ));
        }
    }
    // Most steps come well inside their deadlines; the late ones overrun them.
    let step_hours: i64 = if plan.late { 30 } else { 1 };
    let mut at = plan.created;
    let mut history = Vec::with_capacity(steps.len());
    for (k, (actor, action)) in steps.into_iter().enumerate() {
        at = (at + Duration::minutes(20 + (i as i64 * 37 + k as i64 * 11) % (60 * step_hours)))
            .min(now);
        history.push(ActionRequest {
            report: sentinel_core::ReportId(0),
            due: due_after(action.kind(), limits, at, calendar),
            actor,
            action,
            photos: vec![],
            requires_verification: cat.requires_verification,
            policy: LifecyclePolicy::default(),
            now: at,
        });
    }
    // The report and its whole history in one commit.
    store
        .submit_with_history(
            Submission {
                report,
                photos: vec![],
                actor: "public".into(),
                idempotency: None,
                now: plan.created,
            },
            history,
        )
        .await?;
    Ok(())
}
