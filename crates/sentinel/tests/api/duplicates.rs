//! Nearby open reports and "me too".

use crate::helpers::*;
use reqwest::StatusCode;
use sentinel_core::Role;
use sentinel_photos::testing;
use serde_json::{Value, json};

async fn file(app: &TestApp, category: &str, dlat: f64) -> Value {
    let r = json!({ "category": category, "description": "hole", "lat": 36.45 + dlat, "lon": 115.98,
                    "contact": { "phone": "13900000000" } });
    let res = app.post_json(&r).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

#[tokio::test]
async fn nearby_lists_open_reports_of_the_same_kind_nearest_first() {
    let app = TestApp::spawn().await;
    let d = app.token("d", Role::Dispatcher, None).await;
    let far = file(&app, "pothole", 0.0005).await; // ~56 m: beyond the 30 m pothole radius
    let near = file(&app, "pothole", 0.0001).await; // ~11 m
    let mid = file(&app, "pothole", -0.0002).await; // ~22 m
    file(&app, "gas_leak", 0.00005).await; // another kind
    let rejected = file(&app, "pothole", 0.00002).await;
    app.act(
        &d,
        rejected["id"].as_i64().unwrap(),
        json!({"action": "reject", "reason": "not a pothole"}),
    )
    .await;

    let res: Value = app
        .get_json("/api/v1/reports/nearby?lat=36.45&lon=115.98&category=pothole")
        .await;
    assert_eq!(res["radius_m"], 30.0);
    let ids: Vec<&Value> = res["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(ids, [&near["id"], &mid["id"]]);
    let first = &res["reports"][0];
    assert!(
        (first["distance_m"].as_f64().unwrap() - 11.1).abs() < 0.5,
        "{first}"
    );
    assert!(!res.to_string().contains("13900000000"));
    assert_ne!(far["id"], near["id"]);
    for bad in [
        "lat=36.45&category=pothole",
        "lat=36.45&lon=115.98",
        "lat=36.45&lon=115.98&category=volcano",
        "lat=99&lon=1&category=pothole",
    ] {
        problem(
            app.client
                .get(app.url(&format!("/api/v1/reports/nearby?{bad}")))
                .send()
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
}

#[tokio::test]
async fn me_too_adds_a_supporter_once_and_files_nothing() {
    let app = TestApp::spawn().await;
    let r = file(&app, "pothole", 0.0).await;
    let id = r["id"].as_i64().unwrap();
    let support = |body: Value| {
        app.client
            .post(app.url(&format!("/api/v1/reports/{id}/support")))
            .json(&body)
            .send()
    };
    let res: Value = support(json!({"supporter_id": "device-abc"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (res["supporters"].as_i64(), res["added"].as_bool()),
        (Some(2), Some(true))
    );
    let again: Value = support(json!({"supporter_id": "device-abc"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (again["supporters"].as_i64(), again["added"].as_bool()),
        (Some(2), Some(false))
    );
    let by_phone: Value = support(json!({"contact": {"phone": "139 0000 1111"}}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_phone["supporters"], 3);
    assert!(
        !by_phone.to_string().contains("1111"),
        "supporter contact is private"
    );
    problem(
        support(json!({})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        app.client
            .post(app.url("/api/v1/reports/424242/support"))
            .json(&json!({"supporter_id": "x"}))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(app.count().await, 1, "nothing new filed");
    let events: Value = app.get_json(&format!("/api/v1/reports/{id}/events")).await;
    assert_eq!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "support")
            .count(),
        2
    );
}

#[tokio::test]
async fn merging_keeps_every_supporter_and_photo_and_redirects_support() {
    let app = TestApp::spawn().await;
    let d = app.token("d", Role::Dispatcher, None).await;
    let keep = file(&app, "pothole", 0.0).await;
    let report = json!({ "category": "pothole", "lat": 36.45, "lon": 115.98 });
    let dup: Value = app
        .post_multipart(&report, vec![testing::jpeg(64, 48, 5, None, 80)])
        .await
        .json()
        .await
        .unwrap();
    let support = |id: &Value, who: &str| {
        app.client
            .post(app.url(&format!("/api/v1/reports/{id}/support")))
            .json(&json!({"supporter_id": who}))
            .send()
    };
    support(&dup["id"], "dev-1").await.unwrap();
    app.act(
        &d,
        dup["id"].as_i64().unwrap(),
        json!({"action": "merge", "into": keep["id"]}),
    )
    .await;
    let kept: Value = app
        .get_json(&format!("/api/v1/reports/{}", keep["id"]))
        .await;
    assert_eq!(
        kept["supporters"], 3,
        "reporter, the duplicate's reporter and its supporter"
    );
    assert_eq!(kept["photos"], dup["photos"]);
    // "Me too" on the merged report lands on the one it was merged into.
    let res: Value = support(&dup["id"], "dev-2")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (res["id"].clone(), res["supporters"].as_i64()),
        (keep["id"].clone(), Some(4))
    );
    // A closed or rejected report takes no more supporters.
    let other = file(&app, "gas_leak", 0.0).await;
    app.act(
        &d,
        other["id"].as_i64().unwrap(),
        json!({"action": "reject", "reason": "duplicate of a call"}),
    )
    .await;
    problem(
        support(&other["id"], "dev-3").await.unwrap(),
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn staff_see_duplicate_candidates_with_near_identical_photos_flagged() {
    let app = TestApp::spawn().await;
    let d = app.token("d", Role::Dispatcher, None).await;
    let report = |dlat: f64| json!({ "category": "pothole", "lat": 36.45 + dlat, "lon": 115.98 });
    let photo = testing::jpeg(640, 480, 1, None, 92);
    let same_recompressed = testing::jpeg(640, 480, 1, None, 45);
    let mirrored = {
        let img = image::imageops::flip_horizontal(&testing::picture(640, 480, 1));
        let mut out = std::io::Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
            .encode_image(&img)
            .unwrap();
        out.into_inner()
    };
    let first: Value = app
        .post_multipart(&report(0.0), vec![photo])
        .await
        .json()
        .await
        .unwrap();
    let twin: Value = app
        .post_multipart(&report(0.0001), vec![same_recompressed])
        .await
        .json()
        .await
        .unwrap();
    let other: Value = app
        .post_multipart(&report(-0.0001), vec![mirrored])
        .await
        .json()
        .await
        .unwrap();
    let url = app.url(&format!("/api/v1/reports/{}/duplicates", first["id"]));
    problem(
        app.client.get(&url).send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let res: Value = app
        .client
        .get(&url)
        .bearer_auth(&d)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = res["reports"].as_array().unwrap();
    assert_eq!(list.len(), 2, "itself excluded");
    let flag = |id: &Value| {
        list.iter().find(|r| &r["id"] == id).unwrap()["similar_photo"]
            .as_bool()
            .unwrap()
    };
    assert!(flag(&twin["id"]), "the same scene recompressed");
    assert!(!flag(&other["id"]), "a different picture");
}
