//! Map layers: import from the command line (all or nothing), read as staff.

use crate::cli::Server;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn import(data: &Path, args: &[&str], file: &Path) -> Output {
    crate::cli::import("layer", args, file, data)
}

/// Writes a point shapefile (.shp, .shx, .dbf, .prj, .cpg) of three drone bases.
fn write_drone_bases(shp: &Path) {
    use shapefile::dbase::{FieldName, FieldValue, Record, TableWriterBuilder};
    let table = TableWriterBuilder::new()
        .add_character_field(FieldName::try_from("name").unwrap(), 40)
        .add_numeric_field(FieldName::try_from("cover_r").unwrap(), 10, 0);
    let mut w = shapefile::Writer::from_path(shp, table).unwrap();
    for (name, lon, lat) in [
        ("东昌府基地", 115.98, 36.45),
        ("临清基地", 115.70, 36.84),
        ("冠县基地", 115.44, 36.48),
    ] {
        let mut r = Record::default();
        r.insert("name".into(), FieldValue::Character(Some(name.into())));
        r.insert("cover_r".into(), FieldValue::Numeric(Some(5000.0)));
        w.write_shape_and_record(&shapefile::Point::new(lon, lat), &r)
            .unwrap();
    }
    drop(w);
    std::fs::write(
        shp.with_extension("prj"),
        r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#,
    )
    .unwrap();
    std::fs::write(shp.with_extension("cpg"), "UTF-8").unwrap();
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

    // KML: placemarks in folders, lines and a polygon with a hole.
    let kml = dir.path().join("roads.kml");
    std::fs::write(
        &kml,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder><name>道路</name>
<Placemark><name>东昌路</name><LineString><coordinates>115.95,36.45 116.02,36.46</coordinates></LineString></Placemark>
<Placemark><name>东昌湖</name><Polygon>
  <outerBoundaryIs><LinearRing><coordinates>115.97,36.43 116.00,36.43 116.00,36.45 115.97,36.45 115.97,36.43</coordinates></LinearRing></outerBoundaryIs>
  <innerBoundaryIs><LinearRing><coordinates>115.98,36.435 115.99,36.435 115.99,36.44 115.98,36.435</coordinates></LinearRing></innerBoundaryIs>
</Polygon></Placemark></Folder></Document></kml>"#,
    )
    .unwrap();
    let out = import(&data, &["roads"], &kml);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("imported 2 features"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let broken = dir.path().join("broken.kml");
    std::fs::write(
        &broken,
        r#"<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark><name>ok</name><Point><coordinates>115.9,36.4</coordinates></Point></Placemark>
<Placemark><name>swapped</name><Point><coordinates>36.4,115.9</coordinates></Point></Placemark>
</Document></kml>"#,
    )
    .unwrap();
    let out = import(&data, &["roads"], &broken);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("placemark 1") && err.contains("swapped"),
        "{err}"
    );

    // A shapefile: points with attributes in the .dbf; without its .dbf it is refused.
    let shp = dir.path().join("drones.shp");
    write_drone_bases(&shp);
    let out = import(&data, &["drone bases", "--kind", "drone_bases"], &shp);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("record 0") && err.contains("coverage_radius_m"),
        "{err}"
    );
    let out = import(
        &data,
        &[
            "drone bases",
            "--kind",
            "drone_bases",
            "--field",
            "coverage_radius_m=cover_r",
        ],
        &shp,
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("imported 3 features"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(dir.path().join("drones.dbf")).unwrap();
    let out = import(&data, &["drone bases 2", "--kind", "drone_bases"], &shp);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("drones.dbf is missing"),
        "{err}"
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
        sentinel_server::auth::PasswordPolicy::Strong,
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
    assert_eq!(layers.len(), 4, "{list}");
    let drones = layers.iter().find(|l| l["name"] == "drone bases").unwrap();
    let bases: Value = get(&format!("/api/v1/layers/{}/features", drones["id"]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = bases["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["name"] == "东昌府基地")
        .expect("the Chinese name survives the .dbf");
    assert_eq!(first["properties"]["coverage_radius_m"], 5000.0);
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
