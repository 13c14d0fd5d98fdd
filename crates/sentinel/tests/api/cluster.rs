//! Several `sentinel serve` nodes on one PostgreSQL, as real processes: live
//! events cross nodes, a kill -9 of one node loses nothing it acknowledged, an
//! Idempotency-Key holds across nodes, and the deadline sweep writes each
//! reminder once. Runs when `SENTINEL_TEST_POSTGRES` names a cluster (as
//! `scripts/test` sets); otherwise each test says so and passes.

use crate::cli::Server;
use crate::command::read_events;
use crate::helpers::staff_token;
use reqwest::StatusCode;
use sentinel_core::calendar::DueKind;
use sentinel_core::{Channel, NewReport, Priority, Reporter, Role};
use sentinel_store::pg::ScratchDatabase;
use sentinel_store::sql::SqlStore;
use sentinel_store::{Store, Submission, Submitted};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Mutex;

/// A fresh database, or `None` (and a note) when no cluster is configured.
fn database() -> Option<ScratchDatabase> {
    match std::env::var("SENTINEL_TEST_POSTGRES") {
        Ok(admin) => Some(ScratchDatabase::create(&admin).expect("a scratch database")),
        Err(_) => {
            eprintln!("SENTINEL_TEST_POSTGRES is not set: the several-node tests do not run");
            None
        }
    }
}

struct Cluster {
    /// Node A (taken when killed).
    a: Option<Server>,
    b: Server,
    store: SqlStore,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    _db: ScratchDatabase,
}

impl Cluster {
    /// Two nodes, each with its own data folder, on one database.
    fn start(db: ScratchDatabase, extra: &[&str]) -> Cluster {
        let (da, dbb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut args = vec!["--database", db.url.as_str()];
        args.extend_from_slice(extra);
        let a = Server::start_with(da.path(), &args);
        let b = Server::start_with(dbb.path(), &args);
        let store = SqlStore::connect_postgres(&db.url).unwrap();
        Cluster {
            a: Some(a),
            b,
            store,
            _dirs: (da, dbb),
            _db: db,
        }
    }

    fn a(&self) -> &str {
        &self.a.as_ref().expect("node A runs").base
    }

    async fn token(&self, name: &str, role: Role) -> String {
        staff_token(&self.store, name, role, None).await
    }
}

fn report(i: usize) -> Value {
    json!({"category": "pothole", "description": format!("pothole #{i}"), "lat": 36.45, "lon": 115.98})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_report_filed_on_one_node_streams_live_from_the_other() {
    let Some(db) = database() else { return };
    let c = Cluster::start(db, &[]);
    let token = c.token("disp", Role::Dispatcher).await;
    let http = reqwest::Client::new();
    let mut stream = http
        .get(format!("{}/api/v1/events/stream", c.b.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let t = std::time::Instant::now();
    let res = http
        .post(format!("{}/api/v1/reports", c.a()))
        .json(&report(1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let filed: Value = res.json().await.unwrap();
    let events = read_events(&mut stream, "report", 1).await;
    assert_eq!(events[0].1["code"], filed["tracking_code"]);
    eprintln!(
        "filed on node A, streamed from node B after {:?}",
        t.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_acknowledged_by_a_node_killed_with_9_are_all_there() {
    let Some(db) = database() else { return };
    let mut c = Cluster::start(db, &[]);
    let acked: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sent = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for k in 0..16 {
        let (base, acked, sent) = (c.a().to_owned(), acked.clone(), sent.clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0.. {
                sent.fetch_add(1, Ordering::Relaxed);
                let res = http
                    .post(format!("{base}/api/v1/reports"))
                    .json(&report(k * 100_000 + i))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == StatusCode::CREATED => match r.json::<Value>().await {
                        Ok(body) => acked.lock().await.push(body),
                        Err(_) => return, // cut off mid-response: not acknowledged
                    },
                    _ => return, // the node is gone
                }
            }
        }));
    }
    while sent.load(Ordering::Relaxed) < 400 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    c.a.take().expect("node A").kill_9();
    for t in clients {
        let _ = t.await;
    }
    let acked = acked.lock().await.clone();
    assert!(
        acked.len() >= 300,
        "enough load to mean something: {}",
        acked.len()
    );
    let http = reqwest::Client::new();
    for r in &acked {
        let got = http
            .get(format!("{}/api/v1/reports/{}", c.b.base, r["id"]))
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
    }
    // Node B goes on taking reports.
    let res = http
        .post(format!("{}/api/v1/reports", c.b.base))
        .json(&report(1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idempotency_key_holds_across_nodes() {
    let Some(db) = database() else { return };
    let c = Cluster::start(db, &[]);
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let base = if i % 2 == 0 {
                c.a().to_owned()
            } else {
                c.b.base.clone()
            };
            tokio::spawn(async move {
                let res = reqwest::Client::new()
                    .post(format!("{base}/api/v1/reports"))
                    .header("Idempotency-Key", "retry-from-a-flaky-network")
                    .json(&report(7))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::CREATED);
                res.json::<Value>().await.unwrap()["tracking_code"].clone()
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert!(codes.iter().all(|c| *c == codes[0]), "{codes:?}");
    assert_eq!(c.store.count_reports().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deadline_reminder_is_written_once_by_two_nodes() {
    let Some(db) = database() else { return };
    let c = Cluster::start(db, &["--deadline-sweep-secs", "1"]);
    // A report whose 受理 deadline passed two days ago: due a reminder and, past
    // the escalation delay, an escalation, each once.
    let now = OffsetDateTime::now_utc();
    let submitted = c
        .store
        .submit(Submission {
            report: NewReport {
                category: "pothole".into(),
                description: "a deep pothole nobody took".into(),
                location: sentinel_geo::Point::new(36.45, 115.98).unwrap(),
                accuracy_m: None,
                address: None,
                attributes: Default::default(),
                reporter: Reporter::Anonymous,
                channel: Channel::Api,
                priority: Priority::Normal,
                observed_at: None,
                jurisdiction: None,
                routing: None,
                due: Some((now - time::Duration::days(2), DueKind::Accept)),
                media_urls: vec![],
                reporter_key_hash: None,
            },
            photos: vec![],
            actor: "public".into(),
            idempotency: None,
            now: now - time::Duration::days(3),
        })
        .await
        .unwrap();
    let Submitted::Created(r, _) = submitted else {
        panic!("a new report")
    };
    let count = |events: &[sentinel_core::Event], action: &str| {
        events.iter().filter(|e| e.action == action).count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let events = c.store.events(r.id).await.unwrap();
        if count(&events, "remind") > 0 && count(&events, "escalate") > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no sweep wrote the reminder: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Both nodes keep sweeping every second; nothing more may appear.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let events = c.store.events(r.id).await.unwrap();
    assert_eq!(count(&events, "remind"), 1, "{events:?}");
    assert_eq!(count(&events, "escalate"), 1, "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_city_moves_into_postgres_through_an_interruption_with_nothing_lost() {
    let Some(db) = database() else { return };
    // A city on the embedded default: reports (some with photos, some sent with
    // an Idempotency-Key), their events and feed rows.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let http = reqwest::Client::new();
    let mut filed = Vec::new();
    for i in 0..300 {
        let mut req = http.post(format!("{}/api/v1/reports", server.base));
        req = if i % 10 == 0 {
            let photo = sentinel_photos::testing::jpeg(80, 60, i as u32, None, 80);
            let form = reqwest::multipart::Form::new()
                .part(
                    "report",
                    reqwest::multipart::Part::text(report(i).to_string())
                        .mime_str("application/json")
                        .unwrap(),
                )
                .part(
                    "photo",
                    reqwest::multipart::Part::bytes(photo).file_name("p.jpg"),
                );
            req.multipart(form)
        } else {
            req.header("Idempotency-Key", format!("k-{i}"))
                .json(&report(i))
        };
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        filed.push(res.json::<Value>().await.unwrap());
    }
    server.kill_9();
    // Interrupt the move half-way (kill -9 once some batches are committed)...
    let run = |extra: &[&str]| {
        std::process::Command::new(crate::cli::BIN)
            .args(["migrate-data", "--to", &db.url, "--from"])
            .arg(dir.path())
            .args(extra)
            .env("SENTINEL_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = run(&["--batch", "7"]);
    let t = std::time::Instant::now();
    loop {
        let progressed = pg_number(
            &db.url,
            "SELECT last_rowid FROM sentinel_transfer WHERE name = 'reports'",
        )
        .is_some();
        if progressed || t.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    let _ = first.wait();
    let copied = pg_number(&db.url, "SELECT count(*) FROM reports").unwrap();
    assert!(
        copied < 300,
        "interrupted before the end: {copied} reports copied"
    );
    // ...and run it again: it resumes, and the check at the end passes.
    let out = run(&[]).wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("counts and checksums equal (300 reports"),
        "{stdout}"
    );
    assert_eq!(pg_number(&db.url, "SELECT count(*) FROM events"), Some(300));
    // A third run finds nothing to do and still verifies.
    let out = run(&[]).wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("copied 0 rows"), "{stdout}");
    // The city now serves from PostgreSQL: the same reports, photos and keys.
    let node = Server::start_with(dir.path(), &["--database", &db.url]);
    for r in filed.iter().step_by(7) {
        let got: Value = http
            .get(format!("{}/api/v1/reports/{}", node.base, r["id"]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got["tracking_code"], r["tracking_code"]);
        for url in r["photos"].as_array().unwrap() {
            let res = crate::helpers::public_photo(
                &http,
                &format!("{}{}", node.base, url.as_str().unwrap()),
            )
            .await;
            assert_eq!(res.status(), StatusCode::OK);
        }
    }
    let replay = http
        .post(format!("{}/api/v1/reports", node.base))
        .header("Idempotency-Key", "k-1")
        .json(&report(1))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    // New reports continue after the copied ids.
    let new = http
        .post(format!("{}/api/v1/reports", node.base))
        .json(&report(9999))
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), StatusCode::CREATED);
}

/// The first column of the first row of `sql` as a number, if any row; on a
/// connection of its own in a thread of its own (the synchronous client must not
/// run on an async thread).
fn pg_number(url: &str, sql: &str) -> Option<i64> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).ok()?;
        c.query_opt(&sql, &[])
            .ok()
            .flatten()
            .map(|r| r.get::<_, i64>(0))
    })
    .join()
    .unwrap()
}

#[test]
fn a_node_refuses_to_start_without_its_database() {
    let dir = tempfile::tempdir().unwrap();
    let start = |database: &str| {
        let out = std::process::Command::new(crate::cli::BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                database,
                "--data",
            ])
            .arg(dir.path())
            .env("SENTINEL_LOG", "warn")
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // Nothing listens on port 1: a clear message naming the server, exit 1.
    let err = start("postgres://sentinel:s3cret-pw@127.0.0.1:1/city");
    assert!(
        err.contains("cannot connect to PostgreSQL at 127.0.0.1:1/city"),
        "{err}"
    );
    assert!(
        !err.contains("s3cret-pw"),
        "the password never appears: {err}"
    );
    let err = start("mysql://127.0.0.1/city");
    assert!(err.contains("--database takes a postgres:// URL"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_answers_503_while_its_database_is_away_and_recovers_by_itself() {
    let Some(db) = database() else { return };
    let admin = std::env::var("SENTINEL_TEST_POSTGRES").unwrap();
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let node = Server::start_with(dir.path(), &["--database", &db.url]);
    let http = reqwest::Client::new();
    let post = |i: usize| {
        http.post(format!("{}/api/v1/reports", node.base))
            .json(&report(i))
            .send()
    };
    assert_eq!(post(1).await.unwrap().status(), StatusCode::CREATED);
    // The database refuses connections and drops the node's.
    let admin_sql = |sql: String| {
        let admin = admin.clone();
        std::thread::spawn(move || {
            let mut c = ::postgres::Client::connect(&admin, ::postgres::NoTls).unwrap();
            c.batch_execute(&sql).unwrap();
        })
        .join()
        .unwrap()
    };
    admin_sql(format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ));
    for i in 0..3 {
        let res = post(100 + i).await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(res.headers().contains_key("retry-after"));
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    let list = http
        .get(format!("{}/api/v1/reports", node.base))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(
            list.status(),
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::OK
        ),
        "{}",
        list.status()
    );
    // It comes back: the node reconnects by itself.
    admin_sql(format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"));
    let t = std::time::Instant::now();
    loop {
        let res = post(2).await.unwrap();
        if res.status() == StatusCode::CREATED {
            break;
        }
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "the node did not recover"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Only what was acknowledged is there: the first report and the last.
    assert_eq!(pg_number(&db.url, "SELECT count(*) FROM reports"), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_started_at_once_on_an_empty_database_all_serve() {
    let Some(db) = database() else { return };
    let url = db.url.clone();
    let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    // All four run their migrations at the same moment; one migrates, the others wait.
    let nodes: Vec<Server> = std::thread::scope(|scope| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|d| {
                let url = url.clone();
                scope.spawn(move || Server::start_with(d.path(), &["--database", url.as_str()]))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a node starts"))
            .collect()
    });
    let http = reqwest::Client::new();
    for n in &nodes {
        let r = http.get(format!("{}/readyz", n.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", n.base);
    }
    drop(nodes);
    drop(db);
}
