//! The internet edge: sign-in throttling, the client behind a proxy, connection
//! caps and timeouts, security headers, caching of personal data, body caps, and
//! each finding of the security review as a regression test.

use crate::helpers::*;
use reqwest::StatusCode;
use sentinel_core::Role;
use sentinel_server::Config;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn sign_in(
    app: &TestApp,
    name: &str,
    password: &str,
    from: Option<&str>,
) -> reqwest::Response {
    let mut r = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"name": name, "password": password}));
    if let Some(ip) = from {
        r = r.header("x-forwarded-for", ip);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn guessing_one_password_from_many_addresses_is_throttled_per_account() {
    // The per-address limit is generous here: the account's own throttle must hold.
    let app = TestApp::spawn_with(Config {
        intake_per_minute: 0,
        login_per_minute: 0,
        ..Config::default()
    })
    .await;
    app.token("dispatcher", Role::Dispatcher, None).await;
    // 60 addresses (behind the trusted local proxy) guess as fast as they can:
    // five guesses are checked, then each must wait.
    let mut checked = 0;
    for i in 0..60 {
        let res = sign_in(
            &app,
            "dispatcher",
            "wrong guess 1234",
            Some(&format!("198.51.100.{i}")),
        )
        .await;
        match res.status() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let wait: u64 = res.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=900).contains(&wait), "{wait}");
                let p: Value = res.json().await.unwrap();
                assert_eq!(p["type"], "/problems/rate-limited");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(checked, 5);
    // A patient attacker waits out each delay (the server's clock moves on 40 s
    // between guesses): the tenth failure locks the account.
    for i in 0..20 {
        app.state.clock.advance(time::Duration::seconds(40));
        let res = sign_in(
            &app,
            "dispatcher",
            "wrong guess 1234",
            Some(&format!("203.0.113.{i}")),
        )
        .await;
        if res.status() == StatusCode::UNAUTHORIZED {
            checked += 1;
        }
    }
    assert_eq!(checked, 10, "at most ten guesses in fifteen minutes");
    // Locked: even the right password waits, whatever the address.
    let res = sign_in(&app, "dispatcher", PASSWORD, Some("203.0.113.9")).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // The lock expires by itself (the server's clock moved 15 minutes on).
    app.state.clock.advance(time::Duration::minutes(16));
    let res = sign_in(&app, "dispatcher", PASSWORD, Some("203.0.113.9")).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Counted in the metrics.
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"sentinel_security_events_total{kind="sign_in_throttled"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"sentinel_security_events_total{kind="account_locked"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let proxied = TestApp::spawn_with(Config {
        intake_per_minute: 0,
        login_per_minute: 2,
        ..Config::default()
    })
    .await;
    // Behind the (trusted, local) proxy, each client has its own bucket: one
    // citizen's attempts do not lock out the next.
    for i in 0..4 {
        let res = sign_in(
            &proxied,
            "nobody",
            "wrong guess 1234",
            Some(&format!("198.51.100.{i}")),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "client {i}");
    }
    // A server that trusts no proxy ignores the header: a spoofed address is no
    // way around the limit.
    let direct = TestApp::spawn_with(Config {
        intake_per_minute: 0,
        login_per_minute: 2,
        trusted_proxies: vec![],
        ..Config::default()
    })
    .await;
    let mut limited = false;
    for i in 0..6 {
        let res = sign_in(
            &direct,
            "nobody",
            "wrong guess 1234",
            Some(&format!("198.51.100.{i}")),
        )
        .await;
        limited |= res.status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "spoofed X-Forwarded-For must not reset the limit");
}

#[tokio::test]
async fn a_thousand_idle_connections_from_one_address_do_not_stop_another() {
    let app = TestApp::spawn_with(Config {
        trusted_proxies: vec![],
        limits: sentinel_server::serve::Limits {
            max_connections_per_address: 64,
            header_timeout: Duration::from_secs(2),
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // One address opens 1,000 sockets; half send half a request and stop.
    let mut held = Vec::new();
    for i in 0..1000 {
        let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await else {
            continue;
        };
        if i % 2 == 0 {
            let _ = s
                .write_all(b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Le")
                .await;
        }
        held.push(s);
    }
    // Another address is served at once.
    let other = reqwest::Client::builder()
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .build()
        .unwrap();
    let mut times = Vec::new();
    for _ in 0..40 {
        let t = Instant::now();
        let res = other
            .get(app.url("/api/v1/categories"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        times.push(t.elapsed());
    }
    times.sort();
    let p99 = times[times.len() * 99 / 100];
    assert!(p99 < Duration::from_millis(500), "p99 {p99:?}");
    // A half-sent request is cut off by the header timeout, not held.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    drop(held);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let t = Instant::now();
    let _ = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "held for {:?}",
        t.elapsed()
    );
}

/// A client that sends a whole body far over the limit before reading reads the
/// 413 and its sentence: the server does not close with the body still arriving,
/// which many clients (hyper's, Python's) take as a network error, never reading
/// the answer, and which can reset the answer away.
#[tokio::test]
async fn a_body_far_too_big_gets_its_413_read_not_a_reset() {
    let app = TestApp::spawn().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let size: usize = 96 << 20;
    for _ in 0..3 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(
            format!("POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let chunk = vec![b' '; 1 << 20];
        let mut sent = 0;
        while sent < size {
            // The server may stop reading once it has answered: what is not taken
            // within its lingering time is the client's to lose.
            match tokio::time::timeout(Duration::from_secs(10), s.write_all(&chunk)).await {
                Ok(Ok(())) => sent += chunk.len(),
                _ => break,
            }
        }
        assert_eq!(sent, size, "the client was cut off while sending");
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.starts_with("HTTP/1.1 413"),
            "after {sent} bytes: {:?}",
            &text[..text.len().min(200)]
        );
        assert!(text.contains("application/problem+json"), "{text}");
    }
}

#[tokio::test]
async fn pages_carry_security_headers_and_personal_data_is_never_cached() {
    let app = TestApp::spawn().await;
    for (path, camera) in [
        ("/", true),
        ("/me", true),
        ("/map", true),
        ("/console", false),
        ("/console/analysis", false),
        ("/p/some-token", false),
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        for part in [
            "default-src 'self'",
            "script-src 'self';",
            "frame-ancestors 'none'",
            "worker-src 'self' blob:",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert!(
            !csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        let pp = h["permissions-policy"].to_str().unwrap();
        assert_eq!(pp.contains("camera=(self)"), camera, "{path}: {pp}");
        assert_eq!(pp.contains("geolocation=(self)"), camera, "{path}: {pp}");
        assert!(!h.contains_key("strict-transport-security"), "no TLS here");
    }
    // Over TLS (as the proxy says), HSTS.
    let res = app
        .client
        .get(app.url("/"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("strict-transport-security"));
    // A staff answer with contact details, an export and a public one.
    let token = app.token("disp", Role::Dispatcher, None).await;
    let r = app.report().await;
    for path in [
        format!("/api/v1/reports/{}", r["id"]),
        "/api/v1/analysis/export?format=csv".to_owned(),
    ] {
        let res = app
            .client
            .get(app.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
    }
}

#[tokio::test]
async fn me_too_refuses_oversized_or_malformed_contact_and_stores_nothing() {
    let app = TestApp::spawn_with(Config {
        intake_per_minute: 0,
        ..Config::default()
    })
    .await;
    let r = app.report().await;
    let url = app.url(&format!("/api/v1/reports/{}/support", r["id"]));
    // 20 MiB of name: refused before it is read whole.
    let huge = json!({"supporter_id": "x", "contact": {"name": "N".repeat(20 << 20)}});
    let res = app.client.post(&url).json(&huge).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    // Validated like a report's contact.
    for contact in [
        json!({"name": "N".repeat(101)}),
        json!({"phone": "not a phone"}),
        json!({"email": "nobody"}),
        json!({"name": "bell\u{7}"}),
    ] {
        let res = app
            .client
            .post(&url)
            .json(&json!({"supporter_id": "device-1", "contact": contact}))
            .send()
            .await
            .unwrap();
        problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let after: Value = app.get_json(&format!("/api/v1/reports/{}", r["id"])).await;
    assert_eq!(after["supporters"], r["supporters"]);
}

#[tokio::test]
async fn a_csv_export_neutralises_formulas_in_citizen_text() {
    let app = TestApp::spawn_with(Config {
        intake_per_minute: 0,
        ..Config::default()
    })
    .await;
    let mut body = sample();
    body["description"] = json!("=HYPERLINK(\"http://evil.example\",\"click\")");
    assert_eq!(app.post_json(&body).await.status(), StatusCode::CREATED);
    let token = app.token("ana", Role::Analyst, None).await;
    let csv = app
        .client
        .get(app.url("/api/v1/analysis/export?format=csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(
        !csv.contains(",=HYPERLINK") && !csv.contains("\"=HYPERLINK"),
        "{csv}"
    );
}

#[tokio::test]
async fn scope_a_unit_without_a_unit_or_another_department_sees_only_what_the_public_sees() {
    let app = TestApp::spawn_with(Config {
        intake_per_minute: 0,
        ..Config::default()
    })
    .await;
    let r = app.report().await;
    let spare = app.token("spare", Role::Unit, None).await;
    let units = app.get_json_as("/api/v1/units", &spare).await;
    assert_eq!(units["units"], json!([]));
    // An officer of another department and a unit not assigned get the public
    // view, with no contact or routing; the lead department's officer the staff view.
    let disp = app.token("disp", Role::Dispatcher, None).await;
    let (lead, another) = app
        .lead_and_another_department(r["id"].as_i64().unwrap(), &disp)
        .await;
    let other = app.token("other-1", Role::Officer, Some(&another)).await;
    for token in [&spare, &other] {
        let v = app
            .get_json_as(&format!("/api/v1/reports/{}", r["id"]), token)
            .await;
        assert!(
            v.get("routing").is_none() && v.get("contact").is_none(),
            "{v}"
        );
        let list = app.get_json_as("/api/v1/reports", token).await;
        assert!(list["reports"][0].get("routing").is_none(), "{list}");
    }
    // Once assigned to it, the lead department's officer sees the staff view.
    let id = r["id"].as_i64().unwrap();
    for body in [json!({"action": "accept"}), json!({"action": "assign"})] {
        assert_eq!(app.act(&disp, id, body).await.status(), StatusCode::OK);
    }
    let mine = app.token("lead-1", Role::Officer, Some(&lead)).await;
    let v = app
        .get_json_as(&format!("/api/v1/reports/{}", r["id"]), &mine)
        .await;
    assert!(v.get("routing").is_some(), "{v}");
}

#[tokio::test]
async fn a_deeply_nested_kml_is_refused_with_its_depth_and_leaves_no_layer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("deep.kml");
    std::fs::write(
        &file,
        format!(
            "<kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document>{}<Placemark><Point><coordinates>115.98,36.45</coordinates></Point></Placemark>{}</Document></kml>",
            "<Folder>".repeat(500),
            "</Folder>".repeat(500)
        ),
    )
    .unwrap();
    let out = crate::cli::import("layer", &["deep", "--kind", "generic"], &file, &data);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("more than 64 deep"), "{err}");
    let db = rusqlite::Connection::open(data.join("sentinel.db")).unwrap();
    let rows: i64 = db
        .query_row("SELECT count(*) FROM layers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows, 0,
        "a failed import leaves no layer, not even one 'importing'"
    );
}

/// A tmpfs of `mib` MiB mounted at `at` (root only), unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: &std::path::Path, mib: u32) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(at.to_owned()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test]
async fn readiness_fails_while_the_disk_is_full_and_returns_when_it_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&dir.path().join("disk"), 24) else {
        eprintln!(
            "cannot mount a small disk here (not root): the disk-full readiness test does not run"
        );
        return;
    };
    let data = disk.0.join("data");
    let server = crate::cli::Server::start_with(&data, &[]);
    let http = reqwest::Client::new();
    let ready = || http.get(format!("{}/readyz", server.base)).send();
    assert_eq!(ready().await.unwrap().status(), StatusCode::OK);
    // Fill the disk to the last byte.
    let filler = disk.0.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 1 << 20];
        while f.write_all(&chunk).is_ok() {}
        let mut byte = [0u8; 1];
        while f.write_all(&byte).is_ok() {
            byte[0] = 1;
        }
        let _ = f.sync_all();
    }
    let res = ready().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(ready().await.unwrap().status(), StatusCode::OK);
    drop(server);
}

#[tokio::test]
async fn a_replay_answers_the_same_reporter_key_though_none_is_kept_in_clear() {
    let app = TestApp::spawn_with(Config {
        intake_per_minute: 0,
        ..Config::default()
    })
    .await;
    let file = || {
        app.client
            .post(app.url("/api/v1/reports"))
            .header("Idempotency-Key", "phone-7f3a-first-try")
            .json(&sample())
            .send()
    };
    let first: Value = file().await.unwrap().json().await.unwrap();
    let again = file().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    let key = first["reporter_key"].as_str().unwrap();
    assert_eq!(again["reporter_key"], key);
    // At rest: neither the key nor the client's Idempotency-Key in clear.
    if app.database_args().is_empty() {
        let db = rusqlite::Connection::open(app.dir.path().join("sentinel.db")).unwrap();
        let (stored_key, response): (String, String) = db
            .query_row("SELECT key, response FROM idempotency_keys", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert!(!response.contains(key), "{response}");
        assert_ne!(stored_key, "phone-7f3a-first-try");
    }
    // The key still works for its reporter.
    let res = app
        .client
        .post(app.url(&format!(
            "/api/v1/reports/{}/reporter",
            first["tracking_code"].as_str().unwrap()
        )))
        .json(&json!({"reporter_key": key, "action": "rate", "score": 5}))
        .send()
        .await
        .unwrap();
    // Not resolved yet: the state refuses, the key does not.
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn invented_methods_do_not_grow_the_metrics_and_bad_dates_do_not_panic() {
    let app = TestApp::spawn().await;
    for i in 0..50 {
        let m = reqwest::Method::from_bytes(format!("FUZZ{i}").as_bytes()).unwrap();
        let _ = app
            .client
            .request(m, app.url("/nowhere"))
            .send()
            .await
            .unwrap();
    }
    let res = app
        .client
        .get(app.url("/open311/v2/requests.json?start_date=9999-12-31T23:59:59Z"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let metrics = app.metrics().await;
    assert!(
        !metrics.contains("FUZZ"),
        "one label per invented method: {metrics}"
    );
    assert!(metrics.contains(r#"method="other""#));
    assert!(metrics.contains("sentinel_panics_total 0"), "{metrics}");
}
