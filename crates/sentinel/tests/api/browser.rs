//! The reporter app in a real headless Chromium against the real server: the test
//! script is `web/tests/reporter.test.mjs` (playwright-core driving Debian's
//! `chromium`; `scripts/test` installs both). Screenshots of every step at phone
//! size land in the target folder (`browser-artifacts/`).

use crate::cli::Server;
use std::process::Command;

#[tokio::test]
async fn the_reporter_app_works_in_a_real_browser() {
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let web = format!("{repo}/web");
    assert!(
        std::path::Path::new(&format!("{web}/node_modules/playwright-core")).exists(),
        "playwright-core is missing: run scripts/test (it runs `npm ci` in web/ and installs chromium)"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The real Liaocheng city outline: a point outside it is outside the service area.
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
    let server = Server::start(&data);
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
    let out = Command::new("node")
        .arg(format!("{web}/tests/reporter.test.mjs"))
        .current_dir(&web)
        .env("BASE_URL", &server.base)
        .env("PHOTO", &photo)
        .env("ARTIFACTS", &artifacts)
        .env("STAFF_TOKEN", token.expose())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser tests failed:\n{stdout}\n{stderr}"
    );
    println!("{stdout}\nscreenshots in {artifacts}");
    assert!(std::path::Path::new(&format!("{artifacts}/zh-flow-5-done.png")).exists());
}
