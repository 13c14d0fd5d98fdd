//! Analysis over HTTP and from the command line, on a year and a half of reports
//! filed with their histories: trends, scores, hotspots and patterns equal what
//! the test counts itself; exports round-trip in each format; bad input is refused.

use crate::cli::BIN;
use crate::helpers::{TestApp, filed_at, problem};
use reqwest::StatusCode;
use sentinel_core::calendar::{DueChange, DueKind};
use sentinel_core::{Action, Actor, Channel, LifecyclePolicy, Role};
use sentinel_store::{ActionRequest, Store};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use time::{Date, Month, OffsetDateTime, UtcOffset};

const CATS: [&str; 3] = ["pothole", "fire_lane_blocked", "streetlight_out"];

/// One generated report as the test remembers it.
struct Filed {
    created: OffsetDateTime,
    category: &'static str,
    department: Option<&'static str>,
    accepted_on_time: Option<bool>,
    resolved: bool,
    lat: f64,
    lon: f64,
}

fn china() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap()
}

fn staff() -> Actor {
    Actor::Staff {
        user: "dispatcher-1".into(),
        role: Role::Dispatcher,
        department: None,
    }
}

fn step(action: Action, due: DueChange, now: OffsetDateTime) -> ActionRequest {
    ActionRequest {
        report: sentinel_core::ReportId(0),
        actor: staff(),
        action,
        photos: vec![],
        due,
        requires_verification: false,
        policy: LifecyclePolicy::default(),
        now,
    }
}

/// Files `n` reports from 2025-06 to 2026-10, a third within a minute of a local
/// midnight, some accepted (on time or late), assigned and resolved.
async fn file_history(store: &dyn Store, n: usize) -> Vec<Filed> {
    let start = OffsetDateTime::new_in_offset(
        Date::from_calendar_date(2025, Month::June, 1).unwrap(),
        time::Time::MIDNIGHT,
        china(),
    );
    let mut seed = 0x5EED_u64;
    let mut next = move |m: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % m
    };
    let mut filed = Vec::new();
    for i in 0..n {
        let day = next(517) as i64;
        let within = match next(3) {
            0 => next(60),
            1 => 86_400 - 1 - next(60),
            _ => next(86_400),
        } as i64;
        let created = start + time::Duration::seconds(day * 86_400 + within);
        let category = CATS[next(3) as usize];
        let (lat, lon) = if i % 5 == 0 {
            (36.456, 115.985)
        } else {
            (
                36.30 + next(300) as f64 * 0.001,
                115.80 + next(300) as f64 * 0.001,
            )
        };
        let channel = if i % 2 == 0 {
            Channel::Web
        } else {
            Channel::Api
        };
        let mut steps = Vec::new();
        let mut f = Filed {
            created,
            category,
            department: None,
            accepted_on_time: None,
            resolved: false,
            lat,
            lon,
        };
        if next(4) != 0 {
            let late = next(4) == 0;
            let at = created + time::Duration::minutes(if late { 200 } else { 30 });
            steps.push(step(
                Action::Accept,
                DueChange::Set(at + time::Duration::hours(4), DueKind::Dispatch),
                at,
            ));
            f.accepted_on_time = Some(!late);
            let dept = ["housing", "fire"][next(2) as usize];
            let at = at + time::Duration::hours(1);
            steps.push(step(
                Action::Assign {
                    department: dept.into(),
                    co_departments: vec![],
                    assignee: None,
                    reason: None,
                },
                DueChange::Set(at + time::Duration::days(5), DueKind::Resolve),
                at,
            ));
            f.department = Some(dept);
            if next(2) == 0 {
                let at = at + time::Duration::hours(30);
                let mut resolve = step(
                    Action::Resolve {
                        note: "fixed".into(),
                    },
                    DueChange::Clear,
                    at,
                );
                let officer = Actor::Staff {
                    user: format!("{dept}-officer"),
                    role: Role::Officer,
                    department: Some(dept.into()),
                };
                let mut start = step(
                    Action::Start,
                    DueChange::Keep,
                    at - time::Duration::hours(1),
                );
                start.actor = officer.clone();
                steps.push(start);
                resolve.actor = officer;
                steps.push(resolve);
                f.resolved = true;
            }
        }
        store
            .submit_with_history(filed_at(category, lat, lon, created, channel), steps)
            .await
            .expect("filed");
        filed.push(f);
    }
    filed
}

fn local(t: OffsetDateTime) -> Date {
    t.to_offset(china()).date()
}

fn month(y: i32, m: Month) -> (Date, Date) {
    let a = Date::from_calendar_date(y, m, 1).unwrap();
    let b = if m == Month::December {
        Date::from_calendar_date(y + 1, Month::January, 1).unwrap()
    } else {
        Date::from_calendar_date(y, m.next(), 1).unwrap()
    };
    (a, b)
}

fn count_by<'a>(
    filed: &'a [Filed],
    (a, b): (Date, Date),
    key: impl Fn(&'a Filed) -> String,
) -> HashMap<String, u64> {
    let mut m = HashMap::new();
    for f in filed {
        let d = local(f.created);
        if d >= a && d < b {
            *m.entry(key(f)).or_default() += 1;
        }
    }
    m
}

async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn json_of(app: &TestApp, path: &str, token: &str) -> Value {
    let res = get(app, path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn analysis_answers_equal_brute_force_counts_and_exports_round_trip() {
    let app = TestApp::spawn().await;
    let analyst = app.token("ana", Role::Analyst, None).await;
    let filed = file_history(&*app.store, 900).await;
    // The server follows the feed: wait until it has every report.
    let mut total = 0;
    for _ in 0..100 {
        let t = json_of(
            &app,
            "/api/v1/analysis/trends?group_by=channel&period=year&at=2025",
            &analyst,
        )
        .await;
        let y2026 = json_of(
            &app,
            "/api/v1/analysis/trends?group_by=channel&period=year&at=2026",
            &analyst,
        )
        .await;
        total = t["total"]["count"].as_u64().unwrap() + y2026["total"]["count"].as_u64().unwrap();
        if total == filed.len() as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(total, filed.len() as u64);

    // Trends by category and by channel, for a month: now, a year before, a month before.
    let oct = month(2026, Month::October);
    let t = json_of(
        &app,
        "/api/v1/analysis/trends?group_by=category&period=month&at=2026-10",
        &analyst,
    )
    .await;
    let now = count_by(&filed, oct, |f| f.category.into());
    let yoy = count_by(&filed, month(2025, Month::October), |f| f.category.into());
    let mom = count_by(&filed, month(2026, Month::September), |f| f.category.into());
    let items = t["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for it in items {
        let k = it["key"].as_str().unwrap();
        assert_eq!(
            it["count"].as_u64().unwrap(),
            now.get(k).copied().unwrap_or(0),
            "{k}"
        );
        assert_eq!(
            it["yoy"]["previous"].as_u64().unwrap(),
            yoy.get(k).copied().unwrap_or(0),
            "{k}"
        );
        assert_eq!(
            it["mom"]["previous"].as_u64().unwrap(),
            mom.get(k).copied().unwrap_or(0),
            "{k}"
        );
        for side in ["yoy", "mom"] {
            let c = &it[side];
            assert!(c["p_value"].as_f64().unwrap() <= 1.0);
            assert!(c["verdict"].is_string() && c["verdict_zh"].is_string());
            assert!(c.get("change").is_some() && c.get("change_pct").is_some());
        }
        assert!(it["label"].is_string());
    }
    assert!(t["double_decline"].is_boolean());
    assert_eq!(
        t["total"]["count"].as_u64().unwrap(),
        now.values().sum::<u64>()
    );

    // A month before the first report: no comparison, said so.
    let early = json_of(
        &app,
        "/api/v1/analysis/trends?group_by=category&period=month&at=2025-07",
        &analyst,
    )
    .await;
    assert_eq!(early["total"]["yoy"]["verdict"], "no_comparison");
    assert!(early["total"]["yoy"]["previous"].is_null());
    // A period with no data: an empty table.
    let empty = json_of(
        &app,
        "/api/v1/analysis/trends?group_by=department&period=month&at=2030-01",
        &analyst,
    )
    .await;
    assert_eq!(empty["items"].as_array().unwrap().len(), 0);
    assert_eq!(empty["total"]["count"], 0);

    // Department scores for the month.
    let league = json_of(
        &app,
        "/api/v1/analysis/departments?period=month&at=2026-10",
        &analyst,
    )
    .await;
    for it in league["items"].as_array().unwrap() {
        let k = it["key"].as_str().unwrap();
        let mine: Vec<&Filed> = filed
            .iter()
            .filter(|f| {
                f.department == Some(k) && local(f.created) >= oct.0 && local(f.created) < oct.1
            })
            .collect();
        assert_eq!(it["reports"].as_u64().unwrap(), mine.len() as u64, "{k}");
        let on_time = mine
            .iter()
            .filter(|f| f.accepted_on_time == Some(true))
            .count() as u64;
        assert_eq!(it["response_rate"]["yes"].as_u64().unwrap(), on_time, "{k}");
        let resolved = mine.iter().filter(|f| f.resolved).count() as u64;
        assert_eq!(
            it["resolution_rate"]["yes"].as_u64().unwrap(),
            resolved,
            "{k}"
        );
        if resolved > 0 {
            assert_eq!(
                it["resolve_hours_p50"].as_f64().unwrap(),
                31.5,
                "{k}: 30 min or 200 min to accept, then 1 h + 30 h"
            );
        }
        assert!(it["yoy"].is_object());
    }

    // Hotspots over October: every report in one cell; the busy corner is the top cell.
    let geo = json_of(
        &app,
        "/api/v1/analysis/hotspots?resolution=8&since=2026-10-01&until=2026-11-01",
        &analyst,
    )
    .await;
    let cells = geo["features"].as_array().unwrap();
    let sum: u64 = cells
        .iter()
        .map(|c| c["properties"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, now.values().sum::<u64>());
    let corner = filed
        .iter()
        .filter(|f| {
            (f.lat, f.lon) == (36.456, 115.985)
                && local(f.created) >= oct.0
                && local(f.created) < oct.1
        })
        .count() as u64;
    assert_eq!(cells[0]["properties"]["count"].as_u64().unwrap(), corner);
    let ring = cells[0]["geometry"]["coordinates"][0].as_array().unwrap();
    assert_eq!(ring.first(), ring.last());
    assert!(cells[0]["properties"]["h3"].as_str().unwrap().len() == 15);

    // Patterns: the hour × weekday matrix holds every report of the window.
    let pat = json_of(
        &app,
        "/api/v1/analysis/patterns?since=2026-10-01&until=2026-11-01",
        &analyst,
    )
    .await;
    let m: u64 = pat["hour_by_weekday"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .sum();
    assert_eq!(m, now.values().sum::<u64>());

    // Exports: every report, each format, no contact details.
    let csv = get(&app, "/api/v1/analysis/export?format=csv", &analyst).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = csv.bytes().await.unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("13800138000"));
    let mut r = csv::Reader::from_reader(bytes.strip_prefix("\u{feff}".as_bytes()).unwrap());
    let headers = r.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), filed.len());
    let cat = headers.iter().position(|h| h == "category").unwrap();
    let potholes = filed.iter().filter(|f| f.category == "pothole").count();
    assert_eq!(
        rows.iter().filter(|r| &r[cat] == "pothole").count(),
        potholes
    );
    // Filtered.
    let only = get(
        &app,
        "/api/v1/analysis/export?format=csv&category=pothole",
        &analyst,
    )
    .await;
    let only = only.bytes().await.unwrap();
    assert_eq!(
        csv::Reader::from_reader(&only[3..]).records().count(),
        potholes
    );

    let gj: Value = get(&app, "/api/v1/analysis/export?format=geojson", &analyst)
        .await
        .json()
        .await
        .unwrap();
    let features = gj["features"].as_array().unwrap();
    assert_eq!(features.len(), filed.len());
    assert_eq!(features[0]["geometry"]["type"], "Point");

    let xlsx = get(
        &app,
        "/api/v1/analysis/export?format=xlsx&category=pothole",
        &analyst,
    )
    .await;
    assert_eq!(xlsx.status(), StatusCode::OK);
    let book = xlsx.bytes().await.unwrap();
    use calamine::Reader as _;
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(book.to_vec())).unwrap();
    let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(sheet.height(), potholes + 1);
    assert_eq!(sheet.get((0, 0)).unwrap().to_string(), "id");
    assert_eq!(sheet.get((1, cat)).unwrap().to_string(), "pothole");

    // Contact details: only for the command centre, each row's read logged first.
    let body = problem(
        get(&app, "/api/v1/analysis/export?contact=true", &analyst).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("command centre"));
    let dispatcher = app.token("disp", Role::Dispatcher, None).await;
    let with = get(
        &app,
        "/api/v1/analysis/export?format=csv&contact=true&category=pothole",
        &dispatcher,
    )
    .await;
    assert_eq!(with.status(), StatusCode::OK);
    let with = with.bytes().await.unwrap();
    let mut r = csv::Reader::from_reader(&with[3..]);
    let phone = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "contact_phone")
        .unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), potholes);
    assert!(rows.iter().all(|r| &r[phone] == "13800138000"));
    for r in rows.iter().take(5) {
        let id = sentinel_core::ReportId(r[0].parse().unwrap());
        let log = app.store.personal_data_access(id).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.user == "disp" && e.purpose == "export" && e.fields == "contact"),
            "{log:?}"
        );
    }

    // The command line prints the same trends.
    let out = std::process::Command::new(BIN)
        .args([
            "stats",
            "--group-by",
            "category",
            "--period",
            "month",
            "--at",
            "2026-10",
            "--format",
            "json",
            "--data",
        ])
        .arg(app.dir.path())
        .args(app.database_args())
        .env("SENTINEL_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["items"], t["items"]);
    assert_eq!(cli["total"], t["total"]);
    let out = std::process::Command::new(BIN)
        .args(["export", "--format", "csv", "--out"])
        .arg(app.dir.path().join("all.csv"))
        .arg("--data")
        .arg(app.dir.path())
        .args(app.database_args())
        .env("SENTINEL_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = std::fs::read(app.dir.path().join("all.csv")).unwrap();
    assert_eq!(
        csv::Reader::from_reader(&file[3..]).records().count(),
        filed.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn analysis_refuses_bad_questions_and_checks_roles() {
    let app = TestApp::spawn().await;
    let analyst = app.token("ana", Role::Analyst, None).await;
    let unit = app.token("u1", Role::Unit, None).await;
    for (path, says) in [
        (
            "/api/v1/analysis/trends?group_by=weather",
            "group_by must be",
        ),
        ("/api/v1/analysis/trends?period=decade", "period must be"),
        (
            "/api/v1/analysis/trends?period=month&at=2026-13",
            "expected 2026-10",
        ),
        (
            "/api/v1/analysis/trends?group_by=jurisdiction&level=galaxy",
            "no jurisdictions at level",
        ),
        ("/api/v1/analysis/trends?colour=red", "unknown field"),
        (
            "/api/v1/analysis/departments?period=quarter&at=2026-Q5",
            "expected 2026-Q4",
        ),
        (
            "/api/v1/analysis/hotspots?resolution=15",
            "resolution must be from 3 to 11",
        ),
        (
            "/api/v1/analysis/hotspots?resolution=2",
            "resolution must be from 3 to 11",
        ),
        (
            "/api/v1/analysis/hotspots?since=2026-10-10&until=2026-10-01",
            "until must be after since",
        ),
        (
            "/api/v1/analysis/hotspots?since=yesterday",
            "since must be a date",
        ),
        (
            "/api/v1/analysis/export?format=pdf",
            "format must be csv, geojson or xlsx",
        ),
        (
            "/api/v1/analysis/export?category=volcano",
            "unknown category",
        ),
    ] {
        let body = problem(get(&app, path, &analyst).await, StatusCode::BAD_REQUEST).await;
        assert!(
            body["detail"].as_str().unwrap().contains(says),
            "{path}: {body}"
        );
    }
    for path in [
        "/api/v1/analysis/trends",
        "/api/v1/analysis/departments",
        "/api/v1/analysis/hotspots",
        "/api/v1/analysis/patterns",
        "/api/v1/analysis/export",
    ] {
        problem(get(&app, path, &unit).await, StatusCode::FORBIDDEN).await;
        let res = app.client.get(app.url(path)).send().await.unwrap();
        problem(res, StatusCode::UNAUTHORIZED).await;
    }
    // Nothing filed yet: empty answers, not errors.
    let t = json_of(&app, "/api/v1/analysis/trends?at=2026-10", &analyst).await;
    assert_eq!(t["total"]["count"], 0);
    assert_eq!(t["total"]["mom"]["verdict"], "no_comparison");
    let csv = get(&app, "/api/v1/analysis/export", &analyst)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(csv::Reader::from_reader(&csv[3..]).records().count(), 0);
}
