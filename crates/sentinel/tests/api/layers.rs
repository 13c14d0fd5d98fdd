//! Map layers: import from the command line (all or nothing), read as staff.

use crate::cli::Server;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn import(data: &Path, args: &[&str], file: &Path) -> Output {
    crate::cli::import("layer", args, file, data)
}

#[tokio::test]
async fn layers_import_whole_or_not_at_all_and_serve_as_geojson_to_staff() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cameras = dir.path().join("cameras.csv");
    std::fs::write(
        &cameras,
        "name,lat,lon,stream_url,heading\n东昌路口,36.456,115.985,rtsp://10.1.1.1/live,90\n运河桥,36.470,115.990,rtsp://10.1.1.2/live,180\n临清站,36.838,115.705,https://cams.example/3,\n",
    )
    .unwrap();
    let out = import(&data, &["cameras", "--kind", "cameras"], &cameras);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("imported 3 features into layer cameras")
    );

    // A bad row far down the file: the line is named and the old layer stays.
    let mut big = String::from("name,lat,lon,stream_url\n");
    for i in 0..6000 {
        let lat = if i == 5001 {
            "36.4.5".to_owned()
        } else {
            format!("{}", 36.3 + f64::from(i) * 1e-5)
        };
        big.push_str(&format!("c{i},{lat},115.9,rtsp://10.0.0.1/{i}\n"));
    }
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, big).unwrap();
    let out = import(&data, &["cameras", "--kind", "cameras"], &bad);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 5003") && err.contains("nothing was imported"),
        "{err}"
    );
    let kml = dir.path().join("roads.kml");
    std::fs::write(&kml, "<kml/>").unwrap();
    let out = import(&data, &["roads"], &kml);
    assert!(
        !out.status.success()
            && String::from_utf8_lossy(&out.stderr).contains("convert to GeoJSON")
    );

    let patrol = dir.path().join("patrol.geojson");
    std::fs::write(
        &patrol,
        r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"name":"聊城站","radius_m":80,"visits_per_day":6},"geometry":{"type":"Point","coordinates":[115.99,36.44]}},
          {"type":"Feature","properties":{"name":"古楼","radius_m":50,"visits_per_day":4},"geometry":{"type":"Point","coordinates":[115.98,36.45]}}]}"#,
    )
    .unwrap();
    assert!(
        import(
            &data,
            &["key patrol points", "--kind", "patrol_points"],
            &patrol
        )
        .status
        .success()
    );

    let store = sentinel_store::sqlite::SqliteStore::open(&data).unwrap();
    let password = "a long enough password";
    sentinel_server::auth::create_staff_user(
        &store,
        &sentinel_core::Catalog::builtin(),
        "watch",
        &sentinel_server::auth::Secret::new(password),
        sentinel_core::Role::Dispatcher,
        None,
    )
    .await
    .unwrap();
    let token = sentinel_server::auth::new_token();
    sentinel_store::Store::create_token(
        &store,
        "watch",
        "t",
        &sentinel_server::auth::secret_hash(token.expose()),
        time::OffsetDateTime::now_utc(),
        None,
    )
    .await
    .unwrap();
    let server = Server::start(&data);
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{}{path}", server.base))
            .bearer_auth(token.expose())
            .send()
    };
    assert_eq!(
        http.get(format!("{}/api/v1/layers", server.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let list: Value = get("/api/v1/layers").await.unwrap().json().await.unwrap();
    let layers = list["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    let cams = layers.iter().find(|l| l["name"] == "cameras").unwrap();
    assert_eq!(
        (cams["kind"].as_str(), cams["feature_count"].as_u64()),
        (Some("cameras"), Some(3))
    );
    let near: Value = get(&format!(
        "/api/v1/layers/{}/features?bbox=115.9,36.4,116.0,36.5",
        cams["id"]
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(near["type"], "FeatureCollection");
    assert_eq!(
        near["features"].as_array().unwrap().len(),
        2,
        "Linqing is outside the box"
    );
    assert_eq!(near["features"][0]["properties"]["heading"], 90.0);
    assert_eq!(near["features"][0]["geometry"]["type"], "Point");
    assert_eq!(
        get("/api/v1/layers/999/features").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}
