//! The authorization matrix: every route and method of the served OpenAPI document,
//! called by every kind of caller, against the answer written in [`MATRIX`]. A
//! route added to the document without a row here fails the test, and so does a row
//! for a route that is gone. Every answer to an anonymous caller is scanned for the
//! reporter's contact details.
//!
//! Callers, in the order of each row's letters: nobody; admin; dispatcher; the lead
//! department's officer; another department's officer; analyst; the unit sent to the
//! report; another unit; a unit-role account that works no unit.
//!
//! Letters: `Y` allowed (anything but 401/403); `P` allowed, but only what the
//! public sees (no contact details, no routing); `D` denied (401, 403 or 404, never
//! a success). Set `SENTINEL_PRINT_MATRIX=1` to print what the server answers now.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use sentinel_core::Role;
use sentinel_server::Config;
use serde_json::{Value, json};

const CALLERS: [&str; 9] = [
    "nobody",
    "admin",
    "dispatcher",
    "officer",
    "other officer",
    "analyst",
    "unit",
    "other unit",
    "no unit",
];

/// The expected answer of each route to each caller.
const MATRIX: &[(&str, &str)] = &[
    ("POST /api/v1/reports", "YYYYYYYYY"),
    ("GET /api/v1/reports", "PYYYPYYPP"),
    ("GET /api/v1/reports/{key}", "PYYYPYYPP"),
    ("GET /api/v1/reports/{key}/events", "PYYYPYYPP"),
    ("POST /api/v1/reports/{key}/actions", "DYYYDDDDD"),
    ("GET /api/v1/categories", "YYYYYYYYY"),
    ("GET /api/v1/departments", "YYYYYYYYY"),
    ("GET /api/v1/photos/{id}", "YYYYYYYYY"),
    ("GET /api/v1/photos/{id}/thumb", "YYYYYYYYY"),
    ("POST /api/v1/session", "DDDDDDDDD"),
    ("GET /api/v1/session", "DYYYYYYYY"),
    ("DELETE /api/v1/session", "YYYYYYYYY"),
    ("GET /healthz", "YYYYYYYYY"),
    ("GET /readyz", "YYYYYYYYY"),
    ("GET /metrics", "YYYYYYYYY"),
    ("GET /api/v1/openapi.json", "YYYYYYYYY"),
    ("GET /api/v1/jurisdictions", "YYYYYYYYY"),
    ("GET /api/v1/jurisdictions/locate", "YYYYYYYYY"),
    ("GET /api/v1/reports/nearby", "YYYYYYYYY"),
    ("POST /api/v1/reports/{key}/support", "YYYYYYYYY"),
    ("GET /api/v1/admin/config", "DYDDDDDDD"),
    ("PUT /api/v1/admin/config", "DYDDDDDDD"),
    ("GET /api/v1/layers", "DYYYYYYYY"),
    ("GET /api/v1/layers/{id}/features", "DYYYYYYYY"),
    ("GET /api/v1/reports/{key}/duplicates", "DYYYYYYYY"),
    ("GET /api/v1/jurisdictions/outlines", "YYYYYYYYY"),
    ("POST /api/v1/reports/{key}/reporter", "DDDDDDDDD"),
    ("POST /api/v1/sentinels", "YYYYYYYYY"),
    ("POST /api/v1/sentinels/verify", "YYYYYYYYY"),
    ("POST /api/v1/sentinels/session", "DDDDDDDDD"),
    ("DELETE /api/v1/sentinels/session", "YYYYYYYYY"),
    ("GET /api/v1/sentinels/me", "DDDDDDDDD"),
    ("POST /api/v1/sentinels/me/groups", "DDDDDDDDD"),
    ("GET /api/v1/admin/sentinel-groups", "DYDDDDDDD"),
    (
        "POST /api/v1/admin/sentinel-groups/{handle}/{group}",
        "DYDDDDDDD",
    ),
    ("GET /api/v1/map", "YYYYYYYYY"),
    ("GET /api/v1/units", "DYYYYYYYY"),
    ("POST /api/v1/units", "DYDDDDDDD"),
    ("GET /api/v1/units/{id}", "DYYYYYYDD"),
    ("POST /api/v1/units/{id}/positions", "DYYDDDYDD"),
    ("POST /api/v1/units/{id}/status", "DYYDDDYDD"),
    ("GET /api/v1/units/{id}/dispatches", "DYYDDDYDD"),
    ("GET /api/v1/reports/{key}/units", "DYYDDDDDD"),
    ("GET /api/v1/reports/{key}/cameras", "DYYYDYYDD"),
    ("GET /api/v1/reports/{key}/dispatches", "DYYYDYYYY"),
    ("POST /api/v1/reports/{key}/dispatches", "DYYDDDDDD"),
    ("GET /api/v1/dispatches/{id}", "DYYYDYYDD"),
    ("POST /api/v1/dispatches/{id}", "DYYDDDYDD"),
    ("GET /api/v1/events/stream", "DYYYYYYYY"),
    ("GET /tiles/reports/{z}/{x}/{y}.mvt", "DYYYYYYYY"),
    ("GET /tiles/layers/{layer}/{z}/{x}/{y}.mvt", "DYYYYYYYY"),
    ("GET /osmand", "YYYYYYYYY"),
    ("POST /osmand", "YYYYYYYYY"),
    ("GET /api/v1/queue", "DYYYYYYYY"),
    ("GET /api/v1/search", "DYYYYYYYY"),
    ("GET /api/v1/patrol/points", "DYYYYYYYY"),
    ("GET /api/v1/patrol/points/{id}/visits", "DYYYYYYYY"),
    ("POST /api/v1/patrol/points/{id}/visits", "DYYDDDYYD"),
    ("GET /api/v1/patrol/points/{id}/qr.svg", "DYYDDDDDD"),
    ("POST /api/v1/patrol/qr/{token}", "DYYDDDYYD"),
    ("GET /api/v1/analysis/trends", "DYYYYYDDD"),
    ("GET /api/v1/analysis/departments", "DYYYYYDDD"),
    ("GET /api/v1/analysis/hotspots", "DYYYYYDDD"),
    ("GET /api/v1/analysis/patterns", "DYYYYYDDD"),
    ("GET /api/v1/analysis/export", "DYYYYYDDD"),
    (
        "GET /api/v1/reports/{key}/photos/{id}/original",
        "DYYYDDYDD",
    ),
    (
        "GET /api/v1/reports/{key}/photos/{id}/redaction",
        "DYYYDDYDD",
    ),
    (
        "POST /api/v1/reports/{key}/photos/{id}/redaction",
        "DYYYDDDDD",
    ),
];

/// What an answer counts as.
fn class(status: StatusCode, body: &str, contact: &[&str]) -> char {
    match status.as_u16() {
        401 | 403 | 429 => 'D',
        404 => 'N',
        _ if contact.iter().any(|c| body.contains(c)) => 'Y',
        _ if body.contains("\"routing\"") || body.contains("\"assignee\"") => 'Y',
        _ if status.is_success() && body.trim_start().starts_with('{') => 'P',
        _ => 'Y',
    }
}

/// A body each write accepts when the caller may make it, so what answers is the
/// authorization, not the validation.
fn body_for(route: &str, other_unit: i64) -> Value {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    match route {
        "POST /api/v1/reports" => sample(),
        "POST /api/v1/reports/{key}/actions" => json!({"action": "comment", "note": "matrix"}),
        "POST /api/v1/session" => json!({"name": "admin1", "password": "not the password"}),
        "POST /api/v1/reports/{key}/support" => json!({"supporter_id": "matrix-device"}),
        "POST /api/v1/reports/{key}/reporter" => {
            json!({"reporter_key": "not the key", "action": "close"})
        }
        "POST /api/v1/sentinels" => {
            json!({"phone": "13900001234", "password": "matrix phrase 42!"})
        }
        "POST /api/v1/sentinels/verify" => json!({"phone": "13900001234", "code": "000000"}),
        "POST /api/v1/sentinels/session" => {
            json!({"phone": "13900009999", "password": "not the password"})
        }
        "POST /api/v1/sentinels/me/groups" => json!({"group": "rider"}),
        "POST /api/v1/admin/sentinel-groups/{handle}/{group}" => json!({"approve": true}),
        "POST /api/v1/units" => json!({"callsign": "M-1", "kind": "traffic_police"}),
        "POST /api/v1/units/{id}/positions" => {
            json!({"positions": [{"lat": 36.4567, "lon": 115.9854, "timestamp": now}]})
        }
        "POST /api/v1/units/{id}/status" => json!({"status": "available"}),
        "POST /api/v1/reports/{key}/dispatches" => json!({"unit": other_unit}),
        "POST /api/v1/dispatches/{id}" => json!({"step": "acknowledged"}),
        "POST /api/v1/patrol/points/{id}/visits" => json!({"lat": 36.4567, "lon": 115.9854}),
        _ => json!({}),
    }
}

fn matches(expected: char, got: char) -> bool {
    match expected {
        // Allowed: anything but a refusal (a 404 for an id the test made up is fine).
        'Y' => got != 'D',
        // Public view only: never a staff answer.
        'P' => got == 'P' || got == 'N',
        // Denied: refused, or not found, never an answer.
        'D' => got == 'D' || got == 'N',
        _ => false,
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_matrix_says() {
    let app = TestApp::spawn_with(Config {
        intake_per_minute: 0,
        login_per_minute: 0,
        ..Config::default()
    })
    .await;
    let admin = app.token("admin1", Role::Admin, None).await;
    let dispatcher = app.token("disp1", Role::Dispatcher, None).await;
    let analyst = app.token("ana1", Role::Analyst, None).await;
    let car = app.token("car-a", Role::Unit, None).await;
    let other_car = app.token("car-b", Role::Unit, None).await;
    let no_unit = app.token("spare", Role::Unit, None).await;

    // A report with a photo, assigned to its lead department, a unit sent to it.
    let photo = sentinel_photos::testing::jpeg(640, 480, 3, None, 85);
    let res = app.post_multipart(&sample(), vec![photo]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let r: Value = res.json().await.unwrap();
    let id = r["id"].as_i64().unwrap();
    let photo_id = r["photos"][0]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    for body in [json!({"action": "accept"}), json!({"action": "assign"})] {
        assert_eq!(
            app.act(&dispatcher, id, body).await.status(),
            StatusCode::OK
        );
    }
    let (lead, another) = app.lead_and_another_department(id, &dispatcher).await;
    let officer = app.token("lead-1", Role::Officer, Some(&lead)).await;
    let other_officer = app.token("other-1", Role::Officer, Some(&another)).await;
    let mut unit_ids = Vec::new();
    // C-1 has no account: the dispatches the matrix itself sends go to it, so no
    // caller's reach changes while the rows are checked.
    for (callsign, user) in [
        ("A-1", Some("car-a")),
        ("B-1", Some("car-b")),
        ("C-1", None),
    ] {
        let res = app
            .client
            .post(app.url("/api/v1/units"))
            .bearer_auth(&admin)
            .json(
                &json!({"callsign": callsign, "kind": "traffic_police", "user": user,
                          "lat": 36.4567, "lon": 115.9854, "status": "available"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        unit_ids.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let res = app
        .client
        .post(app.url(&format!("/api/v1/reports/{id}/dispatches")))
        .bearer_auth(&dispatcher)
        .json(&json!({"unit": unit_ids[0]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let dispatch = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let callers: [Option<&str>; 9] = [
        None,
        Some(&admin),
        Some(&dispatcher),
        Some(&officer),
        Some(&other_officer),
        Some(&analyst),
        Some(&car),
        Some(&other_car),
        Some(&no_unit),
    ];
    let contact = ["13800138000", "wang@example.cn", "王芳"];

    let doc: Value = app.get_json("/api/v1/openapi.json").await;
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                routes.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let missing: Vec<&String> = routes
        .iter()
        .filter(|r| !MATRIX.iter().any(|(m, _)| m == r))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a row in MATRIX: {missing:?}"
    );
    let gone: Vec<&str> = MATRIX
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| !routes.iter().any(|r| r == m))
        .collect();
    assert!(
        gone.is_empty(),
        "rows for routes the document no longer has: {gone:?}"
    );

    let print = std::env::var("SENTINEL_PRINT_MATRIX").is_ok();
    let mut failures = Vec::new();
    for (route, expected) in MATRIX {
        let (method, template) = route.split_once(' ').unwrap();
        let path = template
            .replace("{key}", &id.to_string())
            .replace("/photos/{id}", &format!("/photos/{photo_id}"))
            .replace("/units/{id}", &format!("/units/{}", unit_ids[0]))
            .replace("/dispatches/{id}", &format!("/dispatches/{dispatch}"))
            .replace("/layers/{id}", "/layers/999")
            .replace("/points/{id}", "/points/999")
            .replace("{layer}", "999")
            .replace("{handle}", "s-nobody")
            .replace("{group}", "rider")
            .replace("{token}", "no-such-token")
            .replace("{z}/{x}/{y}", "14/13461/6386");
        let query = match template {
            "/api/v1/jurisdictions/locate" | "/api/v1/reports/nearby" => {
                "?lat=36.4567&lon=115.9854&category=fire_lane_blocked"
            }
            "/osmand" => "?id=no-such-tracker&lat=36.45&lon=115.98",
            "/api/v1/search" => "?q=13800138000",
            _ => "",
        };
        let mut got = String::new();
        for caller in callers {
            let mut req = app.client.request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&format!("{path}{query}")),
            );
            if let Some(t) = caller {
                req = req.bearer_auth(t);
            }
            if matches!(method, "POST" | "PUT") {
                req = req.json(&body_for(route, unit_ids[2]));
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            // An event stream never ends: its status is the answer.
            let body = if template == "/api/v1/events/stream" {
                String::new()
            } else {
                res.text().await.unwrap_or_default()
            };
            if caller.is_none() {
                for c in contact {
                    assert!(!body.contains(c), "{route} shows {c} to the public: {body}");
                }
            }
            got.push(class(status, &body, &contact));
        }
        if print {
            println!("    (\"{route}\", \"{got}\"),");
        }
        for (i, (e, g)) in expected.chars().zip(got.chars()).enumerate() {
            if !matches(e, g) {
                failures.push(format!("{route}: {} expected {e}, got {g}", CALLERS[i]));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
