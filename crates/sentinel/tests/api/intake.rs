use crate::helpers::*;
use reqwest::StatusCode;
use sentinel_core::Role;
use sentinel_photos::testing;
use serde_json::{Value, json};

#[tokio::test]
async fn a_json_report_is_created_with_a_tracking_code_and_no_personal_data() {
    let app = TestApp::spawn().await;
    let res = app.post_json(&sample()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/reports/{}", body["id"]));
    assert_eq!(body["status"], "submitted");
    assert_eq!(body["category"], "fire_lane_blocked");
    let code = body["tracking_code"].as_str().unwrap();
    assert!(code.starts_with("SB-") && code.len() == 12, "{code}");
    // The filer's secret (for the tracking page) is the one extra, and only here.
    let mut shown = body.clone();
    let secret = shown.as_object_mut().unwrap().remove("reporter_key");
    assert!(secret.is_some_and(|k| k.as_str().is_some_and(|k| k.len() > 20)));
    let text = shown.to_string();
    for personal in [
        "13800138000",
        "王芳",
        "wang@example.cn",
        "contact",
        "reporter",
    ] {
        assert!(!text.contains(personal), "{personal} leaked in {text}");
    }
    // Readable by tracking code (any case, no dashes) and by id, still without contact.
    let by_code: Value = app
        .get_json(&format!(
            "/api/v1/reports/{}",
            code.to_lowercase().replace('-', "")
        ))
        .await;
    assert_eq!(by_code["id"], body["id"]);
    assert!(!by_code.to_string().contains("13800138000"));
    let events: Value = app
        .get_json(&format!("/api/v1/reports/{code}/events"))
        .await;
    assert_eq!(events["events"][0]["action"], "submit");
    assert!(
        events["events"][0].get("actor").is_none(),
        "public timeline names no one"
    );
}

#[tokio::test]
async fn photos_are_stored_without_exif_and_lend_their_location_and_time() {
    let app = TestApp::spawn().await;
    let exif = testing::exif_block(36.4321, 115.9876, "2026:11:20 08:15:00", 6);
    let photo = testing::jpeg(1200, 900, 7, Some(exif), 88);
    let report = json!({ "category": "pothole", "description": "deep hole" });
    let res = app
        .post_multipart(&report, vec![photo.clone(), testing::png_with_text(80, 60)])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert!(
        (body["lat"].as_f64().unwrap() - 36.4321).abs() < 1e-4,
        "{body}"
    );
    assert!((body["lon"].as_f64().unwrap() - 115.9876).abs() < 1e-4);
    let photos = body["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 2);
    let served = public_photo(&app.client, &app.url(photos[0].as_str().unwrap())).await;
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    let etag = served.headers()["etag"].to_str().unwrap().to_owned();
    let bytes = served.bytes().await.unwrap();
    assert!(
        !bytes.windows(12).any(|w| w == b"SERIAL-12345"),
        "camera serial removed"
    );
    let meta = sentinel_photos::PhotoMetadata::read(&bytes);
    assert!(meta.location().is_none(), "GPS removed");
    // The public copy is turned upright; the original keeps its orientation tag.
    assert_eq!(image_size(&bytes), (900, 1200), "upright");
    let original = app
        .state
        .photos
        .get(photos[0].as_str().unwrap().rsplit('/').next().unwrap())
        .await
        .unwrap();
    let meta = sentinel_photos::PhotoMetadata::read(&original);
    assert!(
        meta.location().is_none(),
        "GPS removed from the original too"
    );
    assert!(!original.windows(12).any(|w| w == b"SERIAL-12345"));
    assert_eq!(meta.orientation, 6, "orientation kept in the original");
    let again = app
        .client
        .get(app.url(photos[0].as_str().unwrap()))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let thumb = app
        .client
        .get(app.url(&format!("{}/thumb", photos[0].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status(), StatusCode::OK);
    let img = image_dims(&thumb.bytes().await.unwrap());
    assert_eq!(img, (240, 320), "upright and about 320 px");
    // The staff view shows when the photo was taken.
    let token = app.token("disp", Role::Dispatcher, None).await;
    let staff: Value = app
        .get_json_as(&format!("/api/v1/reports/{}", body["id"]), &token)
        .await;
    assert_eq!(staff["observed_at"], "2026-11-20T00:15:00Z");
    // The same photo in another report is stored once.
    let second: Value = app
        .post_multipart(&report, vec![photo])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["photos"][0], photos[0]);
    let files = walk(&app.dir.path().join("photos"))
        .into_iter()
        .filter(|p| !p.ends_with(".jpg"))
        .count();
    // Two originals, and the public copy of the first (turned upright); the PNG's
    // public copy is the PNG itself.
    assert_eq!(files, 3);
}

fn image_size(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).expect("a picture");
    (img.width(), img.height())
}

fn image_dims(bytes: &[u8]) -> (u32, u32) {
    // SOF0 marker of our own baseline JPEG thumbnails.
    let i = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline JPEG");
    let h = u32::from(u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]));
    let w = u32::from(u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]));
    (w, h)
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

#[tokio::test]
async fn gcj02_and_bd09_positions_are_stored_as_wgs84() {
    let app = TestApp::spawn().await;
    // Published pair: GCJ-02 (116.404, 39.915) is WGS-84 (116.39776, 39.91360).
    let mut r = sample();
    r["lat"] = json!(39.915);
    r["lon"] = json!(116.404);
    r["crs"] = json!("gcj02");
    let body: Value = app.post_json(&r).await.json().await.unwrap();
    assert!(
        (body["lat"].as_f64().unwrap() - 39.913_596).abs() < 1e-5,
        "{body}"
    );
    assert!((body["lon"].as_f64().unwrap() - 116.397_756).abs() < 1e-5);
    r["crs"] = json!("bd09");
    let body: Value = app.post_json(&r).await.json().await.unwrap();
    assert!(
        (body["lon"].as_f64().unwrap() - 116.404).abs() > 0.005,
        "BD-09 is offset further"
    );
}

#[tokio::test]
async fn an_idempotency_key_never_creates_a_second_report() {
    let app = TestApp::spawn().await;
    let send = |body: Value| {
        app.client
            .post(app.url("/api/v1/reports"))
            .header("Idempotency-Key", "3f1c9a7e-retry")
            .json(&body)
            .send()
    };
    let first = send(sample()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send(sample()).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let mut other = sample();
    other["description"] = json!("something else");
    let body = problem(send(other).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(body["detail"].as_str().unwrap().contains("Idempotency-Key"));
    assert_eq!(app.count().await, 1);
    // Concurrent retries of one submission still make one report.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = app.client.clone();
            let url = app.url("/api/v1/reports");
            tokio::spawn(async move {
                c.post(url)
                    .header("Idempotency-Key", "burst-1")
                    .json(&sample())
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    assert_eq!(app.count().await, 2);
}

#[tokio::test]
async fn listing_filters_and_pages_with_a_stable_cursor() {
    let app = TestApp::spawn().await;
    for i in 0..12 {
        let mut r = sample();
        r["category"] = json!(if i % 3 == 0 { "gas_leak" } else { "pothole" });
        r["lat"] = json!(36.40 + f64::from(i) * 0.01);
        app.post_json(&r).await;
    }
    let mut ids = Vec::new();
    let mut url = app.url("/api/v1/reports?limit=5");
    loop {
        let page: Value = app
            .client
            .get(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.extend(
            page["reports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => url = app.url(&format!("/api/v1/reports?limit=5&cursor={c}")),
            None => break,
        }
    }
    assert_eq!(ids.len(), 12);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let gas: Value = app
        .get_json("/api/v1/reports?category=gas_leak&status=submitted")
        .await;
    assert_eq!(gas["reports"].as_array().unwrap().len(), 4);
    let boxed: Value = app
        .get_json("/api/v1/reports?bbox=115.9,36.395,116.0,36.425")
        .await;
    assert_eq!(boxed["reports"].as_array().unwrap().len(), 3);
    assert!(!boxed.to_string().contains("13800138000"));
    for bad in [
        "bbox=1,2,3",
        "status=lost",
        "limit=0",
        "since=yesterday",
        "cursor=abc",
        "category=volcano",
    ] {
        problem(
            app.client
                .get(app.url(&format!("/api/v1/reports?{bad}")))
                .send()
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
}

#[tokio::test]
async fn public_intake_is_rate_limited_per_address_with_retry_after() {
    let app = TestApp::spawn_with(sentinel_server::Config {
        intake_per_minute: 2,
        intake_burst: 2,
        ..Default::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.post_json(&sample()).await);
    }
    assert_eq!(statuses[0].status(), StatusCode::CREATED);
    let limited = statuses.pop().unwrap();
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(app.count().await, 2);
    // Staff entering phone reports are not throttled by the public limit.
    let token = app.token("operator", Role::Dispatcher, None).await;
    let mut phone = sample();
    phone["channel"] = json!("phone");
    let res = app
        .client
        .post(app.url("/api/v1/reports"))
        .bearer_auth(&token)
        .json(&phone)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}
