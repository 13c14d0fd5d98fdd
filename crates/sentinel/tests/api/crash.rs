//! Durability: kill -9 the server while it takes submissions; every report that
//! was answered 201 must be there after restart, with its photos, and the
//! database must pass an integrity check.

use crate::cli::Server;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use sentinel_photos::testing;
use sentinel_store::{Blobs, Store};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Mutex;

const ROUNDS: usize = 3;
const CLIENTS: usize = 24;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_acknowledged_before_a_kill_9_survive_it() {
    let dir = tempfile::tempdir().unwrap();
    let acked: Arc<Mutex<Vec<Value>>> = Arc::default();
    for round in 0..ROUNDS {
        let server = Server::start(dir.path());
        let base = server.base.clone();
        let sent = Arc::new(AtomicUsize::new(0));
        let mut clients = Vec::new();
        for c in 0..CLIENTS {
            let (base, acked, sent) = (base.clone(), acked.clone(), sent.clone());
            clients.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                for i in 0.. {
                    let report = json!({"category": "pothole", "description": format!("round {round} client {c} #{i}"), "lat": 36.4, "lon": 116.0});
                    let req = if i % 3 == 0 {
                        let photo = testing::jpeg(96, 64, (round * 100_000 + c * 1000 + i) as u32, None, 80);
                        let form = Form::new()
                            .part("report", Part::text(report.to_string()).mime_str("application/json").unwrap())
                            .part("photo", Part::bytes(photo).file_name("p.jpg"));
                        http.post(format!("{base}/api/v1/reports")).multipart(form)
                    } else {
                        http.post(format!("{base}/api/v1/reports")).json(&report)
                    };
                    sent.fetch_add(1, Ordering::Relaxed);
                    match req.send().await {
                        Ok(res) if res.status() == StatusCode::CREATED => match res.json::<Value>().await {
                            Ok(body) => acked.lock().await.push(body),
                            Err(_) => return, // cut off mid-response: not acknowledged
                        },
                        _ => return, // the server is gone
                    }
                }
            }));
        }
        // Let the load build, then kill mid-stream.
        while sent.load(Ordering::Relaxed) < 150 * (round + 1) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        server.kill_9();
        for c in clients {
            let _ = c.await;
        }
    }

    let acked = acked.lock().await.clone();
    assert!(
        acked.len() >= 300,
        "enough load to mean something: {}",
        acked.len()
    );
    let server = Server::start(dir.path());
    let http = reqwest::Client::new();
    let folder = sentinel_store::PhotoFolder::open(dir.path().join("photos")).unwrap();
    let mut photos_checked = 0;
    for r in &acked {
        let got = http
            .get(format!("{}/api/v1/reports/{}", server.base, r["id"]))
            .send()
            .await
            .unwrap();
        assert_eq!(
            got.status(),
            StatusCode::OK,
            "acknowledged report {} lost",
            r["id"]
        );
        let got: Value = got.json().await.unwrap();
        assert_eq!(got["tracking_code"], r["tracking_code"]);
        assert_eq!(got["description"], r["description"]);
        for url in r["photos"].as_array().unwrap() {
            // The original, as kept (the public get a redacted copy later).
            let id = url.as_str().unwrap().rsplit('/').next().unwrap();
            let bytes = folder.get(id).await.unwrap();
            assert_eq!(
                sentinel_photos::hex(&Sha256::digest(&bytes)),
                id,
                "photo intact"
            );
            photos_checked += 1;
        }
    }
    assert!(photos_checked > 50, "photos checked: {photos_checked}");
    server.kill_9();
    let store = sentinel_store::sqlite::SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.integrity_check().await.unwrap(), "ok");
    assert!(store.count_reports().await.unwrap() >= acked.len() as u64);
}
