//! The reporter app in a real headless Chromium against the real server: the test
//! script is `web/tests/reporter.test.mjs` (playwright-core driving Debian's
//! `chromium`; `scripts/test` installs both). Screenshots of every step at phone
//! size land in the target folder (`browser-artifacts/`).

use crate::cli::Server;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reporter_app_works_in_a_real_browser() {
    let (web, dir, data) = city_with_browser();
    // The city's own tile server, faked on loopback: every map must draw on it.
    let (tiles, tile_hits) = tile_server().await;
    let server = Server::start_with(&data, &["--base-map-tiles", &tiles]);
    let photo = dir.path().join("hazard.jpg");
    std::fs::write(
        &photo,
        sentinel_photos::testing::jpeg(1600, 1200, 3, None, 88),
    )
    .unwrap();
    let artifacts = format!("{}/browser-artifacts", env!("CARGO_TARGET_TMPDIR"));
    // A dispatcher's token, for moving the report through the lifecycle.
    let store = sentinel_store::sqlite::SqliteStore::open(&data).unwrap();
    sentinel_server::auth::create_staff_user(
        &store,
        &sentinel_core::Catalog::builtin(),
        "dispatch",
        &sentinel_server::auth::Secret::new("a long enough password"),
        sentinel_core::Role::Admin,
        None,
        sentinel_server::auth::PasswordPolicy::Strong,
    )
    .await
    .unwrap();
    // A verified sentinel (a delivery rider) to sign in as.
    sentinel_store::Store::create_sentinels(
        &store,
        vec![(
            sentinel_core::NewSentinel {
                handle: "rider-test".into(),
                display_name: "测试骑手".into(),
                phone: Some("13900002222".into()),
                email: None,
                password_hash: sentinel_server::auth::hash_password(
                    &sentinel_server::auth::Secret::new("rider password 1"),
                )
                .unwrap(),
                verified_at: Some(time::OffsetDateTime::now_utc()),
            },
            vec![sentinel_core::SentinelGroup::DeliveryRider],
        )],
        "test",
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let token = sentinel_server::auth::new_token();
    sentinel_store::Store::create_token(
        &store,
        "dispatch",
        "browser",
        &sentinel_server::auth::secret_hash(token.expose()),
        time::OffsetDateTime::now_utc(),
        None,
    )
    .await
    .unwrap();
    // On a blocking thread, so the fake tile server keeps answering meanwhile.
    let mut node = Command::new("node");
    node.arg(format!("{web}/tests/reporter.test.mjs"))
        .current_dir(&web)
        .env("BASE_URL", &server.base)
        .env("PHOTO", &photo)
        .env("ARTIFACTS", &artifacts)
        .env("STAFF_TOKEN", token.expose());
    let out = tokio::task::spawn_blocking(move || node.output().expect("node runs"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser tests failed:\n{stdout}\n{stderr}"
    );
    println!("{stdout}\nscreenshots in {artifacts}");
    assert!(std::path::Path::new(&format!("{artifacts}/zh-flow-5-done.png")).exists());
    assert!(
        tile_hits.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the maps drew on the configured base map"
    );
}

/// The web folder (checked to hold playwright-core), a temporary folder, and a data
/// folder inside it with the real Liaocheng city outline (a point outside it is
/// outside the service area).
fn city_with_browser() -> (String, tempfile::TempDir, std::path::PathBuf) {
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let web = format!("{repo}/web");
    assert!(
        std::path::Path::new(&format!("{web}/node_modules/playwright-core")).exists(),
        "playwright-core is missing: run scripts/test (it runs `npm ci` in web/ and installs chromium)"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let city = format!("{repo}/data/demo/liaocheng/city.geojson");
    let out = crate::cli::import(
        "jurisdictions",
        &["--level", "city", "--code-field", "adcode"],
        std::path::Path::new(&city),
        &data,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (web, dir, data)
}

/// The command console against a small city: a dispatcher signs in, the map draws
/// reports, units, cameras and hexagons, a report is triaged with the keyboard, a
/// report filed meanwhile appears live, and a unit is dispatched end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_a_real_browser() {
    use sentinel_core::{Fix, NewUnit, Role, UnitStatus};
    use sentinel_store::Store;
    let (web, dir, data) = city_with_browser();
    let cameras = dir.path().join("cameras.geojson");
    let features: Vec<String> = (0..3)
        .map(|i| {
            format!(
                r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[{},{}]}},"properties":{{"name":"路口 {i}","stream_url":"rtsp://cameras.example/{i}"}}}}"#,
                115.9850 + f64::from(i) * 0.0006,
                36.4562
            )
        })
        .collect();
    std::fs::write(
        &cameras,
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        ),
    )
    .unwrap();
    let out = crate::cli::import("layer", &["cameras", "--kind", "cameras"], &cameras, &data);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let patrol = dir.path().join("patrol.csv");
    std::fs::write(
        &patrol,
        "name,lat,lon,radius_m,visits_per_day\n南关岛巡逻点,36.4590,115.9870,60,3\n",
    )
    .unwrap();
    let out = crate::cli::import(
        "layer",
        &["patrol", "--kind", "patrol_points"],
        &patrol,
        &data,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = sentinel_store::sqlite::SqliteStore::open(&data).unwrap();
    let catalog = sentinel_core::Catalog::builtin();
    let password = "dispatcher password 1";
    for (name, role, department) in [
        ("duty", Role::Dispatcher, None),
        ("car1", Role::Unit, None),
        ("analyst", Role::Analyst, None),
        ("roads", Role::Officer, Some("housing")),
    ] {
        sentinel_server::auth::create_staff_user(
            &store,
            &catalog,
            name,
            &sentinel_server::auth::Secret::new(password),
            role,
            department,
            sentinel_server::auth::PasswordPolicy::Strong,
        )
        .await
        .unwrap();
    }
    let unit_token = sentinel_server::auth::new_token();
    let dispatch_token = sentinel_server::auth::new_token();
    let officer_token = sentinel_server::auth::new_token();
    let now = time::OffsetDateTime::now_utc();
    for (user, token) in [
        ("car1", &unit_token),
        ("duty", &dispatch_token),
        ("roads", &officer_token),
    ] {
        store
            .create_token(
                user,
                "browser",
                &sentinel_server::auth::secret_hash(token.expose()),
                now,
                None,
            )
            .await
            .unwrap();
    }
    let unit = |callsign: &str, user: Option<&str>, lat: f64| NewUnit {
        callsign: callsign.into(),
        kind: "traffic_police".into(),
        tracker_id: Some(format!("trk-{callsign}")),
        user: user.map(str::to_owned),
        department: None,
        status: UnitStatus::Available,
        position: Some(Fix {
            point: sentinel_geo::Point::new(lat, 115.9854).unwrap(),
            at: now + time::Duration::minutes(2),
            accuracy_m: Some(5.0),
            speed_mps: None,
            bearing: None,
        }),
    };
    store
        .create_units(
            vec![
                unit("巡逻-01", Some("car1"), 36.4580),
                unit("巡逻-02", None, 36.4700),
            ],
            now,
        )
        .await
        .unwrap();
    // History for the analysis page: potholes in last month, three times as many
    // in the same month a year before (a significant decline).
    let china = time::UtcOffset::from_hms(8, 0, 0).unwrap();
    let today = now.to_offset(china).date();
    let last_month = today
        .replace_day(1)
        .unwrap()
        .previous_day()
        .unwrap()
        .replace_day(1)
        .unwrap();
    let year_before = last_month.replace_year(last_month.year() - 1).unwrap();
    for (month, n) in [(last_month, 30), (year_before, 90)] {
        for k in 0..n {
            let at = time::OffsetDateTime::new_in_offset(
                month.replace_day(1 + (k % 28) as u8).unwrap(),
                time::Time::from_hms(9 + (k % 10) as u8, 0, 0).unwrap(),
                china,
            );
            store
                .submit_with_history(
                    crate::helpers::filed_at(
                        "pothole",
                        36.4567,
                        115.9854,
                        at,
                        sentinel_core::Channel::Web,
                    ),
                    crate::helpers::worked("housing", at),
                )
                .await
                .unwrap();
        }
    }
    drop(store);
    let server = Server::start(&data);
    let client = reqwest::Client::new();
    for i in 0..4 {
        let res = client
            .post(format!("{}/api/v1/reports", server.base))
            .json(&serde_json::json!({
                "category": if i % 2 == 0 { "pothole" } else { "fire_lane_blocked" },
                "description": format!("第 {i} 个隐患 / hazard {i}"),
                "lat": 36.4567 + f64::from(i) * 0.0003,
                "lon": 115.9854,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    }
    let artifacts = format!("{}/browser-artifacts", env!("CARGO_TARGET_TMPDIR"));
    let mut node = Command::new("node");
    node.arg(format!("{web}/tests/console.test.mjs"))
        .current_dir(&web)
        .env("BASE_URL", &server.base)
        .env("STAFF_NAME", "duty")
        .env("STAFF_PASSWORD", password)
        .env("UNIT_TOKEN", unit_token.expose())
        .env("DISPATCH_TOKEN", dispatch_token.expose())
        .env("OFFICER_TOKEN", officer_token.expose())
        .env("OFFICER_NAME", "roads")
        .env("ANALYST_NAME", "analyst")
        .env("ARTIFACTS", &artifacts);
    let out = tokio::task::spawn_blocking(move || node.output().expect("node runs"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "console browser tests failed:\n{stdout}\n{stderr}"
    );
    println!("{stdout}\nscreenshots in {artifacts}");
    assert!(std::path::Path::new(&format!("{artifacts}/console-3-dispatch.png")).exists());
}

/// Serves one grey 256-pixel PNG for any tile and counts the requests.
async fn tile_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let template = format!(
        "http://{}/{{z}}/{{x}}/{{y}}.png",
        listener.local_addr().unwrap()
    );
    let mut png = Vec::new();
    image::RgbImage::from_pixel(256, 256, image::Rgb([214, 222, 206]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (png, counted) = (png.clone(), counted.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                if sock.read(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n",
                    png.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&png).await;
            });
        }
    });
    (template, hits)
}
