//! Photos in S3-compatible object storage: a local S3 server (moto, from PyPI;
//! `scripts/test` installs it) stands in for the city's object store. A fake only
//! in that it is not AWS: the client speaks the real S3 protocol to it.

use crate::helpers::{TestApp, sample};
use reqwest::StatusCode;
use sentinel_server::Config;
use sentinel_store::{Blobs, ObjectBlobs, S3Options, Store};
use sha2::Digest;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

struct S3Server {
    child: Child,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn s3_server() -> S3Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..400 {
        if client.get(&endpoint).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        up,
        "the local S3 server did not start: pip install 'moto[server]' (scripts/test does)"
    );
    // Create the bucket (moto takes an unsigned request).
    let res = client
        .put(format!("{endpoint}/city-photos"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    S3Server { child, endpoint }
}

fn options(endpoint: &str) -> S3Options {
    S3Options {
        endpoint: Some(endpoint.to_owned()),
        region: Some("us-east-1".into()),
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
        allow_http: true,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn photos_live_in_object_storage_and_a_failed_upload_files_nothing() {
    let mut s3 = s3_server().await;
    let blobs =
        ObjectBlobs::with_options("s3://city-photos/liaocheng", &options(&s3.endpoint)).unwrap();
    blobs.check().await.unwrap();
    let app = TestApp::spawn_with_blobs(
        Config {
            intake_per_minute: 0,
            ..Config::default()
        },
        Arc::new(blobs.clone()),
    )
    .await;
    let photo = sentinel_photos::testing::jpeg(800, 600, 3, None, 85);
    let res = app.post_multipart(&sample(), vec![photo.clone()]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: serde_json::Value = res.json().await.unwrap();
    let url = body["photos"][0].as_str().unwrap().to_owned();
    let id = url.rsplit('/').next().unwrap().to_owned();
    // In the bucket, under the prefix, and served back whole.
    let listed = reqwest::get(format!(
        "{}/city-photos?prefix=liaocheng/{}/",
        s3.endpoint,
        &id[0..2]
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        listed.contains(&format!("liaocheng/{}/{id}", &id[0..2])),
        "{listed}"
    );
    let stored = blobs.get(&id).await.unwrap();
    // No face or plate in it: the public copy is the photo itself.
    let served =
        crate::helpers::public_photo(&app.client, &app.url(&format!("/api/v1/photos/{id}"))).await;
    assert_eq!(served.status(), StatusCode::OK);
    // The public copy is kept in the bucket beside the original.
    let copy = app
        .store
        .redaction(&id)
        .await
        .unwrap()
        .unwrap()
        .redacted_id
        .unwrap();
    assert_eq!(
        served.bytes().await.unwrap().to_vec(),
        blobs.get(&copy).await.unwrap()
    );
    assert_eq!(sentinel_photos::hex(&sha2::Sha256::digest(&stored)), id);
    let thumb = app
        .client
        .get(app.url(&format!("/api/v1/photos/{id}/thumb")))
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status(), StatusCode::OK);
    assert!(
        blobs.get_thumb(&copy).await.unwrap().is_some(),
        "the thumbnail (of the public copy) is cached in the bucket"
    );

    // The object store goes away: the report is not acknowledged and nothing is filed.
    let before = app.count().await;
    let _ = s3.child.kill();
    let _ = s3.child.wait();
    let other = sentinel_photos::testing::jpeg(640, 480, 7, None, 80);
    let res = app.post_multipart(&sample(), vec![other]).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(app.count().await, before, "no report row without its photo");
    // A report without photos still goes in.
    let res = app.post_json(&sample()).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // An address that is not s3:// is refused with a reason.
    let e = ObjectBlobs::with_options("gs://bucket", &options(&s3.endpoint)).unwrap_err();
    assert!(e.to_string().contains("s3://bucket/prefix"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_city_moves_its_photos_into_object_storage_resumably_with_checksums() {
    let s3 = s3_server().await;
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for seed in 0..3 {
        let photo = sentinel_photos::testing::jpeg(640, 480, 11 + seed, None, 80);
        let res = app.post_multipart(&sample(), vec![photo]).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: serde_json::Value = res.json().await.unwrap();
        let url = body["photos"][0].as_str().unwrap();
        ids.push(url.rsplit('/').next().unwrap().to_owned());
    }
    let run = |extra: &[&str]| {
        Command::new(crate::cli::BIN)
            .args(["migrate-photos", "--to", "s3://city-photos/moved", "--data"])
            .arg(app.dir.path())
            .args(app.database_args())
            .args(extra)
            .env("AWS_ENDPOINT_URL", &s3.endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("SENTINEL_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["--verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("3 photos: 3 copied, 0 already there, 0 failed"),
        "{stdout}"
    );
    assert!(stdout.contains("verified: all 3 photos"), "{stdout}");
    let moved =
        ObjectBlobs::with_options("s3://city-photos/moved", &options(&s3.endpoint)).unwrap();
    let folder = sentinel_store::PhotoFolder::open(app.dir.path().join("photos")).unwrap();
    for id in &ids {
        assert_eq!(moved.get(id).await.unwrap(), folder.read(id).unwrap());
    }
    // Again: nothing left to copy.
    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("0 copied, 3 already there"), "{stdout}");
    // A new photo damaged in the folder is not copied; the command says so and fails.
    let photo = sentinel_photos::testing::jpeg(640, 480, 99, None, 80);
    let res = app.post_multipart(&sample(), vec![photo]).await;
    let body: serde_json::Value = res.json().await.unwrap();
    let damaged = body["photos"][0]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    std::fs::write(folder.path(&damaged).unwrap(), b"not the photo").unwrap();
    let out = run(&[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("damaged"), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("4 photos: 0 copied, 3 already there, 1 failed")
    );
    assert!(!moved.has(&damaged).await.unwrap());
}
