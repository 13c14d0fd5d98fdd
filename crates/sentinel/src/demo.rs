//! `sentinel demo`: a data folder with staff accounts and a few hundred reports
//! around Liaocheng in every stage of their life, so that every endpoint answers
//! with something real the moment it starts. Reproducible: a fixed seed.

use anyhow::Result;
use sentinel_core::calendar::{DueChange, WorkCalendar, due_after, due_at_submission};
use sentinel_core::lifecycle::LifecyclePolicy;
use sentinel_core::{Action, Actor, Catalog, Channel, Contact, NewReport, Reporter, Role};
use sentinel_geo::import::ImportOptions;
use sentinel_geo::{Level, Point};
use sentinel_server::auth::{Secret, create_staff_user};
use sentinel_store::{ActionRequest, Store, Submission, Submitted};
use std::path::Path;
use time::{Duration, OffsetDateTime};

/// The password of every demo account (printed at start; a demo, not a deployment).
pub const DEMO_PASSWORD: &str = "sentinel-demo";

const ACCOUNTS: &[(&str, Role, Option<&str>)] = &[
    ("admin", Role::Admin, None),
    ("dispatcher", Role::Dispatcher, None),
    ("fire-officer", Role::Officer, Some("fire")),
    ("housing-officer", Role::Officer, Some("housing")),
    ("traffic-officer", Role::Officer, Some("traffic")),
    ("analyst", Role::Analyst, None),
];

/// Liaocheng's real county outlines (MIT; see data/demo/liaocheng/README.md).
const LIAOCHENG_CITY: &str = include_str!("../../../data/demo/liaocheng/city.geojson");
const LIAOCHENG_DISTRICTS: &str = include_str!("../../../data/demo/liaocheng/districts.geojson");

/// Liaocheng's centre and the spread of the demo reports around it.
const CENTRE: (f64, f64) = (36.456, 115.985);

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: enough for scattering demo points.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Creates the demo accounts and reports unless the folder already has them.
pub async fn prepare(store: &dyn Store, dir: &Path) -> Result<()> {
    let catalog = Catalog::builtin();
    if store.users().await?.is_empty() {
        for (name, role, dept) in ACCOUNTS {
            create_staff_user(
                store,
                &catalog,
                name,
                &Secret::new(DEMO_PASSWORD),
                *role,
                *dept,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    if store.jurisdictions().await?.is_empty() {
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
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    if store.count_reports().await? == 0 {
        let index = sentinel_server::geography::load_index(store)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        seed_reports(store, &catalog, &index, 400).await?;
    }
    println!("demo data in {}", dir.display());
    println!(
        "staff accounts (password {DEMO_PASSWORD:?}): {}",
        ACCOUNTS.iter().map(|a| a.0).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

/// A point inside one of the districts, drawn around the centre (busier) or across
/// the whole city.
fn point_in_city(rng: &mut Rng, index: &sentinel_geo::JurisdictionIndex) -> Result<Point> {
    loop {
        let (lat, lon) = if rng.unit() < 0.6 {
            (
                CENTRE.0 + (rng.unit() - 0.5) * 0.2,
                CENTRE.1 + (rng.unit() - 0.5) * 0.25,
            )
        } else {
            (35.9 + rng.unit() * 1.1, 115.2 + rng.unit() * 1.3)
        };
        let p = Point::new(lat, lon)?;
        if index.is_empty() || index.locate(p).iter().any(|j| j.level == Level::District) {
            return Ok(p);
        }
    }
}

async fn seed_reports(
    store: &dyn Store,
    catalog: &Catalog,
    index: &sentinel_geo::JurisdictionIndex,
    n: usize,
) -> Result<()> {
    let mut rng = Rng(0x5E47_1AE1);
    let dispatcher = Actor::Staff {
        user: "dispatcher".into(),
        role: Role::Dispatcher,
        department: None,
    };
    let now = OffsetDateTime::now_utc();
    let calendar = WorkCalendar::builtin();
    for i in 0..n {
        let cat = &catalog.categories[rng.below(catalog.categories.len())];
        let location = point_in_city(&mut rng, index)?;
        let (jurisdiction, routing) =
            sentinel_server::geography::route_at(catalog, index, &cat.code, location);
        let created = now - Duration::minutes((rng.unit() * 60.0 * 24.0 * 60.0) as i64);
        let reporter = if i % 3 == 0 {
            Reporter::Anonymous
        } else {
            Reporter::Contact(Contact {
                phone: Some(format!("1380013{:04}", i % 10_000)),
                ..Default::default()
            })
        };
        let report = NewReport {
            category: cat.code.clone(),
            description: format!("{} ({})", cat.name, cat.name_en),
            location,
            accuracy_m: Some(5.0 + rng.unit() * 30.0),
            address: None,
            attributes: Default::default(),
            reporter,
            channel: if i % 4 == 0 {
                Channel::Api
            } else {
                Channel::Web
            },
            priority: cat.default_priority,
            observed_at: Some(created),
            jurisdiction,
            routing: Some(routing),
            due: match due_at_submission(
                cat.deadlines_for(cat.default_priority),
                created,
                &calendar,
            ) {
                DueChange::Set(at, kind) => Some((at, kind)),
                _ => None,
            },
        };
        let Submitted::Created(r, _) = store
            .submit(Submission {
                report,
                photos: vec![],
                actor: "public".into(),
                idempotency: None,
                now: created,
            })
            .await?
        else {
            continue;
        };
        let officer = Actor::Staff {
            user: "officer".into(),
            role: Role::Officer,
            department: Some(cat.default_department.clone()),
        };
        // How far along its life this report has come.
        let stage = rng.below(6);
        let mut steps: Vec<(Actor, Action)> = Vec::new();
        if stage >= 1 {
            steps.push((dispatcher.clone(), Action::Accept));
        }
        if stage >= 2 {
            let assign = Action::Assign {
                department: cat.default_department.clone(),
                co_departments: vec![],
                assignee: None,
                reason: None,
            };
            steps.push((dispatcher.clone(), assign));
        }
        if stage >= 3 {
            steps.push((officer.clone(), Action::Start));
        }
        if stage >= 4 {
            steps.push((
                officer.clone(),
                Action::Resolve {
                    note: "已处理 / handled on site".into(),
                },
            ));
        }
        if stage >= 5 {
            if cat.requires_verification {
                steps.push((dispatcher.clone(), Action::Verify));
            }
            steps.push((dispatcher.clone(), Action::Close));
        }
        for (k, (actor, action)) in steps.into_iter().enumerate() {
            let at = (created + Duration::hours(2 * (k as i64 + 1))).min(now);
            let due = due_after(
                action.kind(),
                cat.deadlines_for(cat.default_priority),
                at,
                &calendar,
            );
            store
                .apply(ActionRequest {
                    report: r.id,
                    actor,
                    action,
                    photos: vec![],
                    due,
                    requires_verification: cat.requires_verification,
                    policy: LifecyclePolicy::default(),
                    now: at,
                })
                .await?;
        }
    }
    Ok(())
}
