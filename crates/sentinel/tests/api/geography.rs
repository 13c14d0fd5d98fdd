//! Jurisdictions: import (all or nothing), point location, the service area.

use crate::cli::import;
use crate::helpers::*;
use reqwest::StatusCode;
use sentinel_geo::import::ImportOptions;
use sentinel_geo::{Crs, Level};
use sentinel_store::Store;
use serde_json::{Value, json};

const CITY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/demo/liaocheng/city.geojson"
);
const DISTRICTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/demo/liaocheng/districts.geojson"
);

fn opts(level: Level) -> ImportOptions {
    ImportOptions {
        level,
        name_field: "name".into(),
        name_en_field: "name_en".into(),
        code_field: "adcode".into(),
        parent_field: None,
        crs: Crs::Wgs84,
    }
}

async fn liaocheng() -> TestApp {
    liaocheng_with(sentinel_server::Config {
        intake_per_minute: 0,
        ..Default::default()
    })
    .await
}

/// A server with the real Liaocheng city and county outlines loaded.
pub(crate) async fn liaocheng_with(config: sentinel_server::Config) -> TestApp {
    let app = TestApp::spawn_with(config).await;
    for (file, level) in [(CITY, Level::City), (DISTRICTS, Level::District)] {
        let text = std::fs::read_to_string(file).unwrap();
        sentinel_server::geography::import_jurisdictions(&*app.store, &text, &opts(level))
            .await
            .unwrap();
    }
    assert_eq!(app.state.reload_jurisdictions().await.unwrap(), 9);
    app
}

async fn locate(app: &TestApp, lat: f64, lon: f64) -> Value {
    app.get_json(&format!("/api/v1/jurisdictions/locate?lat={lat}&lon={lon}"))
        .await
}

fn codes(v: &Value) -> Vec<String> {
    v["jurisdictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn points_are_located_in_the_real_liaocheng_counties() {
    let app = liaocheng().await;
    // Hand-checked places: Liaocheng's centre (Dongchangfu), Linqing's old town, Shen County seat.
    assert_eq!(
        codes(&locate(&app, 36.456, 115.985).await),
        ["371500", "371502"]
    );
    assert_eq!(
        codes(&locate(&app, 36.838, 115.705).await),
        ["371500", "371581"]
    );
    assert_eq!(
        codes(&locate(&app, 36.234, 115.671).await),
        ["371500", "371522"]
    );
    let beijing = locate(&app, 39.9, 116.4).await;
    assert_eq!(beijing["inside_service_area"], false);
    assert!(codes(&beijing).is_empty());
    // Districts know their parent, found by containment.
    let list: Value = app.get_json("/api/v1/jurisdictions?level=district").await;
    let districts = list["jurisdictions"].as_array().unwrap();
    assert_eq!(districts.len(), 8);
    let city_id = app.store.jurisdictions().await.unwrap()[0].id;
    assert!(
        districts
            .iter()
            .all(|d| d["parent"] == city_id && d["name_en"].is_string())
    );
    problem(
        app.client
            .get(app.url("/api/v1/jurisdictions?level=planet"))
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        app.client
            .get(app.url("/api/v1/jurisdictions/locate?lat=36.4"))
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        app.client
            .get(app.url("/api/v1/jurisdictions/locate?lat=95&lon=10"))
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn reports_outside_the_service_area_are_refused() {
    let app = liaocheng().await;
    let mut r = sample();
    r["lat"] = json!(39.9);
    r["lon"] = json!(116.4);
    let p = problem(app.post_json(&r).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("outside the service area")
    );
    assert_eq!(app.count().await, 0);
    r["lat"] = json!(36.838);
    r["lon"] = json!(115.705);
    assert_eq!(app.post_json(&r).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_bad_boundary_file_imports_nothing_and_names_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let mut fc: Value = serde_json::from_str(&std::fs::read_to_string(DISTRICTS).unwrap()).unwrap();
    // Make feature 5 a bow-tie.
    fc["features"][5]["geometry"] = json!({"type": "Polygon", "coordinates": [[[115.5, 36.0], [115.6, 36.1], [115.6, 36.0], [115.5, 36.1], [115.5, 36.0]]]});
    let bad = dir.path().join("bad.geojson");
    std::fs::write(&bad, fc.to_string()).unwrap();
    let data = dir.path().join("data");
    let run = |file: &std::path::Path| {
        import(
            "jurisdictions",
            &["--level", "district", "--code-field", "adcode"],
            file,
            &data,
        )
    };
    let out = run(&bad);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("feature 5") && err.contains("nothing was imported"),
        "{err}"
    );
    let store = sentinel_store::sqlite::SqliteStore::open(&data).unwrap();
    assert!(store.jurisdictions().await.unwrap().is_empty());
    let out = run(std::path::Path::new(DISTRICTS));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 8 district jurisdictions"));
    assert_eq!(store.jurisdictions().await.unwrap().len(), 8);
}

#[tokio::test]
async fn routing_rules_from_the_admin_api_decide_the_department_and_say_why() {
    let app = liaocheng().await;
    let admin = app.token("root", sentinel_core::Role::Admin, None).await;
    let dispatcher = app
        .token("disp", sentinel_core::Role::Dispatcher, None)
        .await;
    let mut config = serde_json::to_value(sentinel_core::Catalog::builtin()).unwrap();
    // Potholes in Linqing go to city management, helped by traffic police.
    config["rules"] = json!([{ "category": "pothole", "jurisdiction": "371581", "department": "city_management", "co_departments": ["traffic"] }]);
    let put = |body: String, token: &str| {
        app.client
            .put(app.url("/api/v1/admin/config"))
            .bearer_auth(token.to_owned())
            .body(body)
            .send()
    };
    problem(
        put(config.to_string(), &dispatcher).await.unwrap(),
        StatusCode::FORBIDDEN,
    )
    .await;
    let mut bad = config.clone();
    bad["rules"][0]["jurisdiction"] = json!("999999");
    let p = problem(
        put(bad.to_string(), &admin).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("unknown jurisdiction")
    );
    let res = put(config.to_string(), &admin).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let file = |lat: f64, lon: f64| {
        let mut r = sample();
        r["category"] = json!("pothole");
        r["lat"] = json!(lat);
        r["lon"] = json!(lon);
        app.client.post(app.url("/api/v1/reports")).json(&r).send()
    };
    let linqing: Value = file(36.838, 115.705).await.unwrap().json().await.unwrap();
    assert_eq!(
        linqing["department"], "city_management",
        "the reporter sees where it went"
    );
    let centre: Value = file(36.456, 115.985).await.unwrap().json().await.unwrap();
    assert_eq!(
        centre["department"], "housing",
        "the category default elsewhere"
    );
    let staff: Value = app
        .get_json_as(&format!("/api/v1/reports/{}", linqing["id"]), &dispatcher)
        .await;
    assert_eq!(staff["jurisdiction"], "371581");
    assert_eq!(staff["routing"]["rule"], 0);
    assert_eq!(staff["routing"]["co_departments"], json!(["traffic"]));
    assert!(
        staff["routing"]["reason"]
            .as_str()
            .unwrap()
            .contains("rule 0")
    );
    // 派单 without naming a department follows the routing.
    let id = linqing["id"].as_i64().unwrap();
    app.act(&dispatcher, id, json!({"action": "accept"})).await;
    let assigned: Value = app
        .act(&dispatcher, id, json!({"action": "assign"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(assigned["report"]["department"], "city_management");
    // The configuration survives a restart of the state: it is stored.
    assert!(
        app.store
            .config()
            .await
            .unwrap()
            .unwrap()
            .contains("city_management")
    );
}

#[tokio::test]
async fn a_configuration_file_with_a_mistake_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let good = dir.path().join("city.toml");
    std::fs::write(
        &good,
        r#"
dispatch_queue = "centre"
[[departments]]
code = "centre"
name = "指挥中心"
name_en = "Command Centre"
[[departments]]
code = "fire"
name = "消防救援支队"
name_en = "Fire and Rescue"
[[categories]]
code = "fire_lane_blocked"
name = "消防通道堵塞"
name_en = "Fire lane blocked"
group = "fire_safety"
default_department = "fire"
requires_verification = true
"#,
    )
    .unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&good).unwrap()
            + "[[rules]]\ncategory = \"fire_lane_blocked\"\ndepartment = \"nasa\"\n",
    )
    .unwrap();
    let run = |file: &std::path::Path| import("config", &[], file, &data);
    let out = run(&bad);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule 0 names unknown department \"nasa\"")
            && err.contains("nothing was changed"),
        "{err}"
    );
    let store = sentinel_store::sqlite::SqliteStore::open(&data).unwrap();
    assert!(store.config().await.unwrap().is_none());
    let out = run(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("2 departments, 1 categories, 0 routing rules")
    );
}

#[tokio::test]
async fn a_calendar_year_is_imported_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let bad = write(
        "bad.toml",
        "year = 2027\nholidays = [\"2027-01-01\", \"2027-02-30\"]\n",
    );
    let good = write(
        "2027.toml",
        "year = 2027\nholidays = [\"2027-01-01\"]\nworkdays = [\"2027-02-20\"]\n",
    );
    let run = |file: &std::path::Path| import("calendar", &[], file, &data);
    let out = run(&bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"2027-02-30\" is not a real date"));
    let out = run(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = sentinel_store::sqlite::SqliteStore::open(&data).unwrap();
    let years = store.calendar_years().await.unwrap();
    assert_eq!(years.len(), 1);
    let mut cal = sentinel_core::calendar::WorkCalendar::builtin();
    cal.add_year(&years[0]).unwrap();
    assert!(cal.covers(2026) && cal.covers(2027));
    assert!(
        cal.is_working_day(time::macros::date!(2027 - 02 - 20)),
        "a make-up Saturday"
    );
}
