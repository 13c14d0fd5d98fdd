//! The `sentinel` binary as outside scripts use it.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_sentinel");

/// Runs `sentinel import WHAT [ARGS...] FILE --data DATA`.
pub fn import(what: &str, args: &[&str], file: &Path, data: &Path) -> std::process::Output {
    Command::new(BIN)
        .args(["import", what])
        .args(args)
        .arg(file)
        .arg("--data")
        .arg(data)
        .env("SENTINEL_LOG", "warn")
        .output()
        .expect("run sentinel import")
}

/// A `sentinel serve` process on a free port.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(data: &Path) -> Server {
        Self::start_with(data, &[])
    }

    /// The server with more `serve` flags.
    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--intake-per-minute",
                "0",
            ])
            .args(extra)
            .arg("--data")
            .arg(data)
            .env("SENTINEL_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sentinel");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let base = line.trim().rsplit(' ').next().expect("address").to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "{line}");
        Server { child, base }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill_9(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn sentinel(args: &[&str], data: &Path, stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("SENTINEL_DATA", data)
        .env("SENTINEL_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sentinel");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn users_and_tokens_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (ok, out, _) = sentinel(&["migrate"], data, None);
    assert!(ok, "{out}");
    let (ok, _, err) = sentinel(
        &["user", "add", "zhang", "--role", "dispatcher"],
        data,
        Some("a long enough password\n"),
    );
    assert!(ok, "{err}");
    // Refusals with a reason and a non-zero exit.
    for (args, pw, why) in [
        (
            vec!["user", "add", "x1", "--role", "emperor"],
            "a long enough password\n",
            "unknown role",
        ),
        (
            vec!["user", "add", "x2", "--role", "officer"],
            "a long enough password\n",
            "department",
        ),
        (
            vec![
                "user",
                "add",
                "x3",
                "--role",
                "officer",
                "--department",
                "nasa",
            ],
            "a long enough password\n",
            "unknown department",
        ),
        (
            vec!["user", "add", "x4", "--role", "analyst"],
            "short\n",
            "at least 10",
        ),
        (
            vec!["user", "add", "zhang", "--role", "analyst"],
            "a long enough password\n",
            "already exists",
        ),
        // Weak passwords, each refused with its reason.
        (
            vec!["user", "add", "x5", "--role", "analyst"],
            "          \n",
            "only spaces",
        ),
        (
            vec!["user", "add", "x6", "--role", "analyst"],
            "1234567890\n",
            "too easy to guess",
        ),
        (
            vec!["user", "add", "x7", "--role", "analyst"],
            "password12\n",
            "too easy to guess",
        ),
        (
            vec!["user", "add", "liuyang", "--role", "analyst"],
            "liuyang-at-work-1\n",
            "own name",
        ),
        (
            vec!["user", "add", "x8", "--role", "analyst"],
            "sentinel-demo\n",
            "demo password",
        ),
    ] {
        let (ok, _, err) = sentinel(&args, data, Some(pw));
        assert!(!ok, "{args:?} should fail");
        assert!(err.contains(why), "{args:?}: {err}");
    }
    // An admin lifts a sign-in lock early.
    let (ok, out, err) = sentinel(&["user", "unlock", "zhang"], data, None);
    assert!(ok, "{err}");
    assert!(out.contains("no failed sign-ins"), "{out}");
    let (_, list, _) = sentinel(&["user", "list"], data, None);
    assert!(list.contains("zhang") && list.contains("dispatcher"));
    assert!(!list.contains("argon2"), "never print hashes");

    let (ok, out, err) = sentinel(
        &[
            "token",
            "create",
            "--user",
            "zhang",
            "--data",
            data.to_str().unwrap(),
        ],
        data,
        None,
    );
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap().trim().to_owned();
    assert!(token.starts_with("sn_") && token.len() == 67, "{token}");

    let server = Server::start(data);
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{}/api/v1/reports", server.base))
        .json(&json!({"category": "pothole", "description": "hole", "lat": 36.4, "lon": 116.0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let act = |t: String| {
        client
            .post(format!(
                "{}/api/v1/reports/{}/actions",
                server.base, created["id"]
            ))
            .bearer_auth(t)
            .json(&json!({"action": "accept"}))
            .send()
    };
    assert_eq!(act(token.clone()).await.unwrap().status(), StatusCode::OK);
    let (_, tokens, _) = sentinel(&["token", "list"], data, None);
    assert!(tokens.contains("zhang") && tokens.contains("active") && !tokens.contains(&token));
    let id = tokens
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert!(sentinel(&["token", "revoke", &id], data, None).0);
    assert_eq!(act(token).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    let (_, out, _) = sentinel(&["token", "create", "--user", "zhang"], data, None);
    let token2 = out.lines().last().unwrap().trim().to_owned();
    assert!(sentinel(&["user", "disable", "zhang"], data, None).0);
    assert_eq!(
        act(token2).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let (ok, _, err) = sentinel(&["token", "create", "--user", "nobody"], data, None);
    assert!(!ok && err.contains("no user"));

    // Open311 keys belong to client applications, not to users.
    let (ok, out, err) = sentinel(&["token", "create", "--open311", "fixmystreet"], data, None);
    assert!(ok, "{err}");
    let key = out.lines().last().unwrap().trim().to_owned();
    let file = |key: &str| {
        client
            .post(format!("{}/open311/v2/requests.json", server.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "api_key={key}&service_code=pothole&lat=36.4&long=116.0&description=hole"
            ))
            .send()
    };
    assert_eq!(file(&key).await.unwrap().status(), StatusCode::OK);
    let (_, listed, _) = sentinel(&["token", "list"], data, None);
    assert!(
        listed.contains("fixmystreet") && !listed.contains(&key),
        "{listed}"
    );
    let (ok, _, _) = sentinel(&["token", "create", "--open311", "fixmystreet"], data, None);
    assert!(!ok, "one key per application name");
    assert!(sentinel(&["token", "revoke", "--open311", "fixmystreet"], data, None).0);
    assert_eq!(file(&key).await.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_small_demo_city_builds_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--scale",
            "small",
            "--seed",
            "7",
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--data")
        .arg(dir.path())
        .env("SENTINEL_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("the demo printed its address").unwrap();
        if let Some(addr) = line.strip_prefix("sentinel listening on ") {
            break addr.trim().to_owned();
        }
    };
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).send();
    let towns: Value = get("/api/v1/jurisdictions?level=town")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(towns["jurisdictions"].as_array().unwrap().len() > 100);
    assert!(
        towns.to_string().contains("侯营镇"),
        "the towns the source names are there"
    );
    let grids: Value = get("/api/v1/jurisdictions?level=grid")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(grids["jurisdictions"].as_array().unwrap().len() > 1000);
    let closed: Value = get("/api/v1/reports?status=closed&limit=500")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let closed = closed["reports"].as_array().unwrap();
    assert_eq!(closed.len(), 500);
    // Most closed reports carry the reporter's rating, and the scores vary.
    let scores: Vec<i64> = closed.iter().filter_map(|r| r["rating"].as_i64()).collect();
    assert!(scores.len() > 300 && scores.len() < 450, "{}", scores.len());
    assert!(scores.contains(&5) && scores.iter().any(|s| *s <= 2));
    // The banner names the real port, not the one asked for.
    let banner = lines.next().unwrap().unwrap();
    assert_eq!(
        banner,
        format!("open {base} (API at /api/v1, description at /api/v1/openapi.json)")
    );
    let open: Value = get("/api/v1/reports?status=submitted,accepted,assigned,in_progress&limit=5")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !open["reports"].as_array().unwrap().is_empty(),
        "every stage of life is present"
    );
    let signin = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"name": "dispatcher", "password": "sentinel-demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signin.status(), StatusCode::OK);
    let cookie = signin.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let layers: Value = http
        .get(format!("{base}/api/v1/layers"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let count = |kind: &str| {
        layers["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["kind"] == kind)
            .unwrap()["feature_count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        (count("patrol_points"), count("cameras"), count("units")),
        (55, 1795, 1200)
    );
    child.kill().unwrap();
    child.wait().unwrap();

    // The source's 2,700 delivery riders among the other sentinels, groups approved,
    // a few requests waiting for an admin; riders file reports under their accounts.
    use sentinel_core::{MembershipStatus as M, SentinelGroup as G};
    let store = sentinel_store::sqlite::SqliteStore::open(dir.path()).unwrap();
    let counts = sentinel_store::Store::group_counts(&store).await.unwrap();
    for expected in [
        (G::DeliveryRider, M::Approved, 2700),
        (G::GridWorker, M::Approved, 600),
        (G::Courier, M::Requested, 12),
    ] {
        assert!(counts.contains(&expected), "{counts:?}");
    }
    let by_riders = sentinel_store::Store::reports(
        &store,
        &sentinel_store::ReportQuery {
            limit: 3000,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .into_iter()
    .filter(
        |r| matches!(&r.reporter, sentinel_core::Reporter::Account(a) if a.starts_with("rider-")),
    )
    .count();
    assert!((500..1100).contains(&by_riders), "{by_riders}");
}

#[test]
fn a_base_map_that_cannot_work_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (
            vec![
                "--base-map-tiles",
                "https://tiles.example.gov.cn/{z}/{x}.png",
            ],
            "{y}",
        ),
        (
            vec![
                "--base-map-tiles",
                "https://tiles.example.gov.cn/{z}/{x}/{y}.png",
                "--base-map-style",
                "https://tiles.example.gov.cn/style.json",
            ],
            "not both",
        ),
        (
            vec!["--base-map-style", "ftp://example.org/style.json"],
            "http(s)",
        ),
    ] {
        let out = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(&args)
            .arg("--data")
            .arg(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{args:?}: {err}"
        );
    }
}
