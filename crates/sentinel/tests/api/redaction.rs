//! Privacy redaction over HTTP: the public only ever gets copies with faces and
//! plates blurred, never the original bytes; staff who may see the evidence get
//! the original, logged; staff corrections and hiding; a broken model keeps photos
//! private; a kill -9 mid-redaction loses no job.

use crate::cli::{BIN, Server};
use crate::helpers::*;
use reqwest::StatusCode;
use sentinel_core::{ReportId, Role};
use sentinel_redact::testset;
use sentinel_store::Store;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    sentinel_photos::hex(&Sha256::digest(bytes))
}

fn rgb(bytes: &[u8]) -> image::RgbImage {
    image::load_from_memory(bytes).unwrap().to_rgb8()
}

/// Mean absolute difference per channel inside or outside a box.
fn diff(a: &image::RgbImage, b: &image::RgbImage, bx: (u32, u32, u32, u32), inside: bool) -> f64 {
    let (x0, y0, w, h) = bx;
    let (mut sum, mut n) = (0f64, 0f64);
    for (x, y, p) in a.enumerate_pixels() {
        if (x >= x0 && x < x0 + w && y >= y0 && y < y0 + h) != inside {
            continue;
        }
        let q = b.get_pixel(x, y);
        for c in 0..3 {
            sum += (f64::from(p[c]) - f64::from(q[c])).abs();
        }
        n += 3.0;
    }
    sum / n.max(1.0)
}

/// A 1280×720 street: one face and one plate at known places.
fn street() -> (Vec<u8>, Vec<sentinel_redact::Region>) {
    let s = testset::scenes(1, 1280, 720, 3).remove(0);
    let mut out = Vec::new();
    s.image
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 92,
        ))
        .unwrap();
    (out, s.truth)
}

fn id_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

async fn wait_done(app: &TestApp, token: &str, key: &Value, id: &str, version: i64) -> Value {
    for _ in 0..1200 {
        let v = app
            .get_json_as(
                &format!("/api/v1/reports/{key}/photos/{id}/redaction"),
                token,
            )
            .await;
        if v["state"] == "done" && v["version"].as_i64().unwrap() >= version {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("photo {id} was not redacted in two minutes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_only_ever_gets_blurred_copies_and_staff_the_logged_original() {
    let app = TestApp::spawn().await;
    let (street, truth) = street();
    let res = app
        .post_multipart(&sample(), vec![testset::ASTRONAUT.to_vec(), street.clone()])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let urls: Vec<String> = body["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect();
    let ids: Vec<String> = urls.iter().map(|u| id_of(u)).collect();
    let originals: Vec<Vec<u8>> =
        futures_util::future::join_all(ids.iter().map(|id| app.state.photos.get(id)))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    for (id, o) in ids.iter().zip(&originals) {
        assert_eq!(&sha(o), id);
    }

    // Until the copy exists: 503 with a reason, never the original.
    let first = app.client.get(app.url(&urls[0])).send().await.unwrap();
    if first.status() == StatusCode::SERVICE_UNAVAILABLE {
        assert_eq!(first.headers()["cache-control"], "no-store");
        assert!(first.headers().contains_key("retry-after"));
        let p = problem(first, StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(p["type"], "/problems/photo-processing");
    } else {
        assert_ne!(sha(&first.bytes().await.unwrap()), ids[0]);
    }

    // The astronaut's face is blurred; the rest of her portrait is as it was.
    let copy = public_photo(&app.client, &app.url(&urls[0])).await;
    assert_eq!(copy.status(), StatusCode::OK);
    assert!(
        copy.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    let copy = copy.bytes().await.unwrap();
    assert_ne!(sha(&copy), ids[0]);
    let (before, after) = (rgb(&originals[0]), rgb(&copy));
    let face = (190, 80, 70, 90);
    assert!(diff(&before, &after, face, true) > 12.0, "face not blurred");
    assert!(
        diff(&before, &after, (0, 300, 512, 212), true) < 3.0,
        "the rest changed"
    );
    // The street's face and plate are blurred too.
    let copy2 = public_photo(&app.client, &app.url(&urls[1]))
        .await
        .bytes()
        .await
        .unwrap();
    let (before, after) = (rgb(&street), rgb(&copy2));
    for t in &truth {
        let d = diff(&before, &after, (t.x, t.y, t.w, t.h), true);
        assert!(d > 8.0, "{t:?} changed by only {d:.1}");
    }

    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("sentinel_photos_redacted_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );

    // No public path returns an original's bytes: the photo, its thumbnail, the
    // report's views, the public list, the tracking page's timeline, Open311.
    let token = app.token("disp", Role::Dispatcher, None).await;
    let key = body["id"].clone();
    let mut public_urls: Vec<String> = Vec::new();
    let view = app.get_json(&format!("/api/v1/reports/{key}")).await;
    let code = body["tracking_code"].as_str().unwrap();
    let by_code = app.get_json(&format!("/api/v1/reports/{code}")).await;
    for v in [&view, &by_code] {
        for k in ["photos", "thumbnails"] {
            for u in v[k].as_array().unwrap() {
                public_urls.push(u.as_str().unwrap().to_owned());
            }
        }
    }
    let listed = app.get_json("/api/v1/reports").await;
    for r in listed["reports"].as_array().or(listed.as_array()).unwrap() {
        for u in r["photos"].as_array().unwrap() {
            public_urls.push(u.as_str().unwrap().to_owned());
        }
    }
    let o311: Value = app
        .client
        .get(app.url(&format!("/open311/v2/requests/{code}.json")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    public_urls.push(o311[0]["media_url"].as_str().unwrap().to_owned());
    assert!(public_urls.len() >= 9, "{public_urls:?}");
    for u in &public_urls {
        let url = if u.starts_with("http") {
            u.clone()
        } else {
            app.url(u)
        };
        // Whoever asks: nobody, a unit, an analyst, a dispatcher.
        for who in [None, Some(&token)] {
            let mut req = app.client.get(&url);
            if let Some(t) = who {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{url}");
            let h = sha(&res.bytes().await.unwrap());
            assert!(!ids.contains(&h), "{url} served an original");
        }
    }

    // The original: the dispatcher (logged, never cached by others); not the
    // public, an analyst, a unit not assigned, another department's officer.
    let original = format!("/api/v1/reports/{key}/photos/{}/original", ids[0]);
    let res = app.client.get(app.url(&original)).send().await.unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;
    for (name, role, dept) in [
        ("an1", Role::Analyst, None),
        ("unit1", Role::Unit, None),
        ("market1", Role::Officer, Some("market")),
    ] {
        let t = app.token(name, role, dept).await;
        let res = app
            .client
            .get(app.url(&original))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        problem(res, StatusCode::FORBIDDEN).await;
    }
    let before_log = app
        .store
        .personal_data_access(ReportId(key.as_i64().unwrap()))
        .await
        .unwrap();
    let res = app
        .client
        .get(app.url(&original))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    assert_eq!(sha(&res.bytes().await.unwrap()), ids[0]);
    let log = app
        .store
        .personal_data_access(ReportId(key.as_i64().unwrap()))
        .await
        .unwrap();
    assert_eq!(log.len(), before_log.len() + 1);
    let entry = log.last().unwrap();
    assert_eq!(
        (entry.user.as_str(), entry.fields.as_str()),
        ("disp", format!("photo_original:{}", ids[0]).as_str())
    );
    // A photo of another report is not reachable through this one.
    let other: Value = app
        .post_multipart(&sample(), vec![testset::COFFEE.to_vec()])
        .await
        .json()
        .await
        .unwrap();
    let other_id = id_of(other["photos"][0].as_str().unwrap());
    let res = app
        .client
        .get(app.url(&format!("/api/v1/reports/{key}/photos/{other_id}/original")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::NOT_FOUND).await;
    // A photo with nothing to blur is public as it was sent.
    let plain = public_photo(&app.client, &app.url(other["photos"][0].as_str().unwrap())).await;
    assert_eq!(sha(&plain.bytes().await.unwrap()), other_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_add_and_remove_boxes_and_hide_a_photo_each_on_the_timeline() {
    let app = TestApp::spawn().await;
    let body: Value = app
        .post_multipart(&sample(), vec![testset::COFFEE.to_vec()])
        .await
        .json()
        .await
        .unwrap();
    let key = body["id"].clone();
    let url = body["photos"][0].as_str().unwrap().to_owned();
    let id = id_of(&url);
    let token = app.token("disp", Role::Dispatcher, None).await;
    let v = wait_done(&app, &token, &key, &id, 1).await;
    assert_eq!(v["blurred"], json!([]), "{v}");
    let (w, h) = (
        v["width"].as_u64().unwrap() as u32,
        v["height"].as_u64().unwrap() as u32,
    );
    let path = format!("/api/v1/reports/{key}/photos/{id}/redaction");
    let post = |body: Value, t: String| {
        let req = app.client.post(app.url(&path)).bearer_auth(t).json(&body);
        async move { req.send().await.unwrap() }
    };

    // Bad input changes nothing.
    for (bad, status) in [
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"add": [{"x": w - 10, "y": 0, "w": 50, "h": 50}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"add": [{"x": 0, "y": 0, "w": 2, "h": 50}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"add": [{"x": 0, "y": 0, "w": 20, "h": 20, "colour": "red"}]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"add": [{"x": -5, "y": 0, "w": 20, "h": 20}]}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        problem(post(bad.clone(), token.clone()).await, status).await;
    }
    let unit = app.token("unit1", Role::Unit, None).await;
    problem(
        post(json!({"hidden": true}), unit).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.client
            .post(app.url(&path))
            .json(&json!({"hidden": true}))
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let same = app.get_json_as(&path, &token).await;
    assert_eq!(
        (same["version"].clone(), same["hidden"].clone()),
        (json!(1), json!(false))
    );

    // A box the detectors missed (a name on a shop sign, say) is blurred.
    let bx = (w / 4, h / 4, w / 5, h / 5);
    let res = post(
        json!({"add": [{"x": bx.0, "y": bx.1, "w": bx.2, "h": bx.3}], "note": "a phone number"}),
        token.clone(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v = wait_done(&app, &token, &key, &id, 2).await;
    assert_eq!(v["added"].as_array().unwrap().len(), 1);
    let copy = public_photo(&app.client, &app.url(&url))
        .await
        .bytes()
        .await
        .unwrap();
    let (before, after) = (rgb(testset::COFFEE), rgb(&copy));
    assert!(
        diff(&before, &after, bx, true) > 5.0,
        "the staff box was not blurred"
    );
    assert!(diff(&before, &after, bx, false) < 3.0);
    // Removing it again brings back the photo as sent.
    let res = post(
        json!({"remove": [{"x": bx.0, "y": bx.1, "w": bx.2, "h": bx.3}]}),
        token.clone(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    wait_done(&app, &token, &key, &id, 3).await;
    let copy = public_photo(&app.client, &app.url(&url))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha(&copy), id);

    // Hidden: gone from every public view and link; staff still see it.
    let res = post(
        json!({"hidden": true, "note": "a child in the picture"}),
        token.clone(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.client.get(app.url(&url)).send().await.unwrap();
    let p = problem(res, StatusCode::NOT_FOUND).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("removed from public view"),
        "{p}"
    );
    let public = app.get_json(&format!("/api/v1/reports/{key}")).await;
    assert_eq!(public["photos"], json!([]));
    assert_eq!(public["thumbnails"], json!([]));
    let staff = app
        .get_json_as(&format!("/api/v1/reports/{key}"), &token)
        .await;
    assert_eq!(staff["hidden_photos"], json!([id]));
    assert_eq!(staff["photo_ids"], json!([id]));
    let res = post(json!({"hidden": false}), token.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        public_photo(&app.client, &app.url(&url)).await.status(),
        StatusCode::OK
    );

    // Each change is on the timeline, with who and what.
    let events = app
        .get_json_as(&format!("/api/v1/reports/{key}/events"), &token)
        .await;
    let actions: Vec<&str> = events
        .as_array()
        .or(events["events"].as_array())
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.ends_with("_photo"))
        .collect();
    assert_eq!(
        actions,
        ["redact_photo", "redact_photo", "hide_photo", "show_photo"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_model_keeps_photos_private_while_reports_still_come_in() {
    let models = tempfile::tempdir().unwrap();
    std::fs::write(models.path().join("centerface.onnx"), b"not a model at all").unwrap();
    std::fs::write(
        models.path().join("plates.onnx"),
        sentinel_redact::PLATE_MODEL,
    )
    .unwrap();
    let mut config = sentinel_server::Config {
        intake_per_minute: 0,
        ..Default::default()
    };
    config.redaction.models = sentinel_redact::ModelSource::Folder(models.path().to_owned());
    let app = TestApp::spawn_with(config).await;
    assert!(
        app.state
            .redaction
            .unavailable()
            .unwrap()
            .contains("face model")
    );
    let res = app
        .post_multipart(&sample(), vec![testset::ASTRONAUT.to_vec()])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let url = body["photos"][0].as_str().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for path in [url.to_owned(), format!("{url}/thumb")] {
        let res = app.client.get(app.url(&path)).send().await.unwrap();
        let p = problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
        assert!(p["detail"].as_str().unwrap().contains("not public"), "{p}");
    }
    // Staff who may see the evidence still can.
    let token = app.token("disp", Role::Dispatcher, None).await;
    let res = app
        .client
        .get(app.url(&format!(
            "/api/v1/reports/{}/photos/{}/original",
            body["id"],
            id_of(url)
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_9_during_redaction_loses_no_photo_and_redact_all_redoes_them() {
    let dir = tempfile::tempdir().unwrap();
    // Different bytes each: the portrait with one pixel changed.
    let photos: Vec<Vec<u8>> = (0..8u8)
        .map(|i| {
            let mut img = rgb(testset::ASTRONAUT);
            img.put_pixel(u32::from(i), 0, image::Rgb([i, 0, 0]));
            let mut out = Vec::new();
            img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                &mut out, 90,
            ))
            .unwrap();
            out
        })
        .collect();
    let server = Server::start_with(dir.path(), &["--redact-workers", "1"]);
    let http = reqwest::Client::new();
    let mut urls = Vec::new();
    for p in &photos {
        let form = reqwest::multipart::Form::new()
            .part(
                "report",
                reqwest::multipart::Part::text(sample().to_string())
                    .mime_str("application/json")
                    .unwrap(),
            )
            .part(
                "photo",
                reqwest::multipart::Part::bytes(p.clone()).file_name("p.jpg"),
            );
        let res = http
            .post(format!("{}/api/v1/reports", server.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        urls.push(body["photos"][0].as_str().unwrap().to_owned());
    }
    // Kill it while the single worker is still going through them.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    server.kill_9();
    let store = sentinel_store::sqlite::SqliteStore::open(dir.path()).unwrap();
    let counts = store.redaction_counts().await.unwrap();
    assert!(
        counts.pending > 0,
        "the kill came too late to test anything: {counts:?}"
    );
    drop(store);

    let server = Server::start(dir.path());
    for u in &urls {
        let res = public_photo(&http, &format!("{}{u}", server.base)).await;
        assert_eq!(res.status(), StatusCode::OK, "{u}");
        assert_ne!(
            sha(&res.bytes().await.unwrap()),
            id_of(u),
            "{u} served unblurred"
        );
    }
    server.kill_9();

    // `sentinel redact --all` redoes every photo, with a summary.
    let out = std::process::Command::new(BIN)
        .args(["redact", "--all", "--redact-workers", "2", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("8 photos redacted, 0 failed"), "{err}");
    let store = sentinel_store::sqlite::SqliteStore::open(dir.path()).unwrap();
    let c = store.redaction_counts().await.unwrap();
    assert_eq!((c.pending, c.done, c.failed), (0, 8, 0));
    // Bad settings are refused with a sentence.
    let out = std::process::Command::new(BIN)
        .args(["redact", "--face-threshold", "1.5", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--face-threshold must be between 0 and 1")
    );
}
