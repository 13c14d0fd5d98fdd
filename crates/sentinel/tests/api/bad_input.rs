//! Every bad input gets a clear 4xx problem document and stores nothing.

use crate::helpers::*;
use reqwest::StatusCode;
use sentinel_core::Role;
use sentinel_photos::testing;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn refused_photo(app: &TestApp, photos: Vec<Vec<u8>>, status: StatusCode) -> Value {
    let report = json!({ "category": "pothole", "lat": 36.45, "lon": 115.98 });
    let body = problem(app.post_multipart(&report, photos).await, status).await;
    assert_eq!(app.count().await, 0, "nothing stored");
    assert_eq!(
        std::fs::read_dir(app.dir.path().join("photos"))
            .unwrap()
            .count(),
        0,
        "no photo file left behind"
    );
    body
}

#[tokio::test]
async fn broken_and_disguised_images_are_refused() {
    let app = TestApp::spawn().await;
    let good = testing::jpeg(400, 300, 1, None, 85);
    let truncated = good[..good.len() / 2].to_vec();
    let body = refused_photo(&app, vec![truncated], StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "photo[0]");
    let mut corrupt = good[..30].to_vec();
    corrupt.extend(vec![0x42; 4000]);
    refused_photo(&app, vec![corrupt], StatusCode::UNPROCESSABLE_ENTITY).await;
    let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF".to_vec();
    let body = refused_photo(&app, vec![pdf], StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("JPEG, PNG and WebP")
    );
    let elf = [b"\x7fELF\x02\x01\x01\0".as_slice(), &[0u8; 512]].concat();
    refused_photo(&app, vec![elf], StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_without_decoding() {
    let app = TestApp::spawn().await;
    let body = refused_photo(
        &app,
        vec![testing::png_claiming(50_000, 50_000)],
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("50000×50000"),
        "{body}"
    );
}

#[tokio::test]
async fn too_many_and_too_large_photos_are_refused() {
    let app = TestApp::spawn().await;
    let small = testing::jpeg(64, 64, 1, None, 80);
    let body = refused_photo(&app, vec![small; 6], StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 5")
    );
    let mut big = testing::jpeg(64, 64, 2, None, 80);
    big.resize(11 * 1024 * 1024, 0);
    refused_photo(&app, vec![big], StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[tokio::test]
async fn a_200_mib_body_is_refused_before_it_is_read() {
    let app = TestApp::spawn().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n",
        200 * 1024 * 1024
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&[b'a'; 64 * 1024]).await.unwrap();
    let mut buf = vec![0; 4096];
    let n = s.read(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("application/problem+json"));
    assert_eq!(app.count().await, 0);
}

#[tokio::test]
async fn bad_fields_are_each_named_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "category": "pothole", "description": "x" }), "lat"),
        (
            json!({ "category": "pothole", "description": "x", "lat": 91.0, "lon": 10.0 }),
            "lat",
        ),
        (
            json!({ "category": "pothole", "description": "x", "lat": 36.0, "lon": -190.0 }),
            "lon",
        ),
        (
            json!({ "category": "pothole", "description": "x", "lat": 36.0 }),
            "lon",
        ),
        (
            json!({ "category": "volcano", "description": "x", "lat": 36.0, "lon": 116.0 }),
            "category",
        ),
        (
            json!({ "category": "pothole", "description": "x".repeat(100_000), "lat": 36.0, "lon": 116.0 }),
            "description",
        ),
        (
            json!({ "category": "pothole", "lat": 36.0, "lon": 116.0 }),
            "description",
        ),
        (
            json!({ "category": "pothole", "description": "x", "lat": 36.0, "lon": 116.0, "crs": "mars" }),
            "crs",
        ),
        (
            json!({ "category": "pothole", "description": "x", "lat": 36.0, "lon": 116.0, "contact": { "email": "nope" } }),
            "contact.email",
        ),
        (
            json!({ "category": "pothole", "description": "x", "lat": 36.0, "lon": 116.0, "channel": "phone" }),
            "channel",
        ),
    ];
    for (body, field) in cases {
        let p = problem(app.post_json(&body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{field} not in {fields:?}");
    }
    assert_eq!(app.count().await, 0);
}

#[tokio::test]
async fn malformed_bodies_are_400_or_415() {
    let app = TestApp::spawn().await;
    let raw = |body: Vec<u8>, ct: &'static str| {
        app.client
            .post(app.url("/api/v1/reports"))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    // NaN is not JSON.
    let p = problem(
        raw(
            br#"{"category":"pothole","lat":NaN,"lon":1}"#.to_vec(),
            "application/json",
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("JSON"));
    problem(
        raw(
            b"{\"category\":\"pot\xff\xfehole\"}".to_vec(),
            "application/json",
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let p = problem(
        raw(br#"{"lat":"north"}"#.to_vec(), "application/json")
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("lat"));
    problem(
        raw(b"category=pothole".to_vec(), "text/plain")
            .await
            .unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    problem(
        raw(b"--x\r\n".to_vec(), "multipart/form-data; boundary=x")
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let bad_key = app
        .client
        .post(app.url("/api/v1/reports"))
        .header("Idempotency-Key", "")
        .json(&sample())
        .send()
        .await
        .unwrap();
    problem(bad_key, StatusCode::BAD_REQUEST).await;
    assert_eq!(app.count().await, 0);
    problem(
        app.client
            .get(app.url("/api/v1/reports/SB-0000-0001"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.client
            .get(app.url("/api/v1/reports/999"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.client
            .delete(app.url("/api/v1/reports"))
            .send()
            .await
            .unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
}

#[tokio::test]
async fn illegal_and_unauthorised_actions_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let r = app.report().await;
    let id = r["id"].as_i64().unwrap();
    let dispatcher = app.token("d1", Role::Dispatcher, None).await;
    let fire = app.token("fire1", Role::Officer, Some("fire")).await;
    let market = app.token("market1", Role::Officer, Some("market")).await;
    let analyst = app.token("an1", Role::Analyst, None).await;

    // No credentials, then a made-up token.
    let anon = app
        .client
        .post(app.url(&format!("/api/v1/reports/{id}/actions")))
        .json(&json!({"action": "accept"}))
        .send()
        .await
        .unwrap();
    problem(anon, StatusCode::UNAUTHORIZED).await;
    problem(
        app.act("sn_madeup", id, json!({"action": "accept"})).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // Illegal in this state.
    problem(
        app.act(&dispatcher, id, json!({"action": "close"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    // Wrong role.
    problem(
        app.act(&analyst, id, json!({"action": "accept"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.act(&fire, id, json!({"action": "accept"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Reason required; unknown action; unknown department.
    problem(
        app.act(&dispatcher, id, json!({"action": "reject", "reason": " "}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        app.act(&dispatcher, id, json!({"action": "teleport"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        app.act(&dispatcher, id, json!({"action": "accept"}))
            .await
            .status(),
        StatusCode::OK
    );
    problem(
        app.act(
            &dispatcher,
            id,
            json!({"action": "assign", "department": "nasa"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        app.act(
            &dispatcher,
            id,
            json!({"action": "assign", "department": "fire"})
        )
        .await
        .status(),
        StatusCode::OK
    );
    // Another department's officer.
    problem(
        app.act(&market, id, json!({"action": "start"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let events: Value = app.get_json(&format!("/api/v1/reports/{id}/events")).await;
    assert_eq!(
        events["events"].as_array().unwrap().len(),
        3,
        "only submit, accept, assign"
    );
    assert_eq!(
        app.act(&fire, id, json!({"action": "start"}))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let r = app.report().await;
    let id = r["id"].as_i64().unwrap();
    let token = app.token("d2", Role::Dispatcher, None).await;
    let get = |t: String| {
        app.client
            .get(app.url(&format!("/api/v1/reports/{id}")))
            .bearer_auth(t)
            .send()
    };
    assert_eq!(get(token.clone()).await.unwrap().status(), StatusCode::OK);
    let tokens = sentinel_store::Store::tokens(&*app.store, Some("d2"))
        .await
        .unwrap();
    sentinel_store::Store::revoke_token(&*app.store, tokens[0].id, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    problem(get(token).await.unwrap(), StatusCode::UNAUTHORIZED).await;
    let expired = sentinel_server::auth::new_token();
    sentinel_store::Store::create_token(
        &*app.store,
        "d2",
        "old",
        &sentinel_server::auth::secret_hash(expired.expose()),
        time::OffsetDateTime::now_utc() - time::Duration::days(2),
        Some(time::OffsetDateTime::now_utc() - time::Duration::days(1)),
    )
    .await
    .unwrap();
    let p = problem(
        get(expired.expose().to_owned()).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("expired"));
}
