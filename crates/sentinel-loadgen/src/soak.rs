//! The soak: hours of mixed traffic at a steady intake rate, to see what a
//! minute-long benchmark cannot (memory that creeps up, connections or streams not
//! let go, an error one request in a million gets).
//!
//! Running together, each on its own schedule: reports filed at `rate` per second;
//! public reads (a dense and an empty bounding box, one recent report by code, the
//! Open311 list); staff map tiles at three zooms; event-stream subscribers that
//! reconnect every few minutes; and malformed or refused requests, each of which
//! must get the 4xx meant for it. Every minute it prints the server's resident
//! memory (from `/proc`) and what each kind of traffic did; at the end, the
//! growth from the first sample to the last and every error by kind.
//!
//! An error is anything other than the answer meant: a 5xx, a refused connection,
//! a legitimate request that is not answered with success, or a malformed one that
//! is not answered with a 4xx.

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Http = Client<HttpConnector, Full<Bytes>>;

/// What to run.
#[derive(clap::Args)]
pub struct Soak {
    /// Server base URL (loopback).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A staff bearer token (tiles, staff list, event streams).
    #[arg(long)]
    pub bearer: String,
    /// Reports filed per second.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Seconds to run.
    #[arg(long, default_value_t = 3600)]
    pub seconds: u64,
    /// The server's process id, for its resident memory.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Event-stream subscribers (each reconnects every one to five minutes).
    #[arg(long, default_value_t = 4)]
    pub subscribers: usize,
    /// Reads and tiles per second.
    #[arg(long, default_value_t = 50)]
    pub reads: u32,
    /// Malformed or refused requests per second.
    #[arg(long, default_value_t = 10)]
    pub malformed: u32,
    /// Seconds between samples (at least 1).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub sample: u64,
}

#[derive(Default)]
struct Counts {
    intake: AtomicU64,
    reads: AtomicU64,
    tiles: AtomicU64,
    refused_as_meant: AtomicU64,
    events: AtomicU64,
    reconnects: AtomicU64,
    errors: AtomicU64,
    kinds: Mutex<BTreeMap<String, u64>>,
    recent: Mutex<VecDeque<String>>,
}

impl Counts {
    fn error(&self, kind: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut k) = self.kinds.lock() {
            let n = k.entry(kind.clone()).or_default();
            if *n == 0 {
                println!("  first error of its kind: {kind}");
            }
            *n += 1;
        }
    }
}

/// Resident memory of a process, in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<f64>()
        .ok()?;
    Some(kib / 1024.0)
}

/// The tile holding a position at a zoom (Web Mercator).
fn tile(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let r = lat.to_radians();
    let y =
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (x, y)
}

/// One request; the status and body, or a transport error as text.
async fn send(
    client: &Http,
    method: Method,
    url: String,
    bearer: Option<&str>,
    content_type: Option<&str>,
    body: Bytes,
) -> Result<(StatusCode, Bytes), String> {
    let mut req = hyper::Request::builder().method(method).uri(url);
    if let Some(b) = bearer {
        req = req.header("authorization", format!("Bearer {b}"));
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
    let res = client
        .request(req)
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = res.status();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok((status, body))
}

/// A periodic schedule that skips ticks it cannot keep (the achieved rate is
/// printed, so falling behind shows rather than turning into a burst).
fn every(period: Duration) -> tokio::time::Interval {
    let mut i = tokio::time::interval(period);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    i
}

async fn filer(
    client: Http,
    url: String,
    c: Arc<Counts>,
    period: Duration,
    first: u64,
    step: u64,
    end: Instant,
) {
    let mut tick = every(period);
    let mut i = first;
    while Instant::now() < end {
        tick.tick().await;
        let body = Bytes::from(crate::report_json(i));
        i += step;
        match send(
            &client,
            Method::POST,
            format!("{url}/api/v1/reports"),
            None,
            Some("application/json"),
            body,
        )
        .await
        {
            Ok((StatusCode::CREATED, body)) => {
                c.intake.fetch_add(1, Ordering::Relaxed);
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
                    && let Some(code) = v["tracking_code"].as_str()
                    && let Ok(mut r) = c.recent.lock()
                {
                    if r.len() >= 1000 {
                        r.pop_front();
                    }
                    r.push_back(code.to_owned());
                }
            }
            Ok((s, _)) => c.error(format!("file a report: {s}")),
            Err(e) => c.error(format!("file a report: {e}")),
        }
    }
}

async fn reader(
    client: Http,
    url: String,
    bearer: String,
    c: Arc<Counts>,
    period: Duration,
    first: usize,
    end: Instant,
) {
    let mut tick = every(period);
    let (lon, lat) = (116.03, 36.50);
    let mut n = first;
    while Instant::now() < end {
        tick.tick().await;
        n += 1;
        let recent = c
            .recent
            .lock()
            .ok()
            .and_then(|r| r.get(n % r.len().max(1)).cloned());
        let (what, path, staff) = match n % 7 {
            0 => (
                "dense box",
                "/api/v1/reports?bbox=115.98,36.45,116.08,36.55&limit=100".to_owned(),
                false,
            ),
            1 => (
                "empty box",
                "/api/v1/reports?bbox=100.0,30.0,100.1,30.1&limit=100".to_owned(),
                false,
            ),
            2 => match recent {
                Some(code) => ("one report", format!("/api/v1/reports/{code}"), false),
                None => continue,
            },
            3 => (
                "open311 list",
                "/open311/v2/requests.json".to_owned(),
                false,
            ),
            4 => (
                "staff list",
                "/api/v1/reports?status=submitted&limit=50".to_owned(),
                true,
            ),
            z => {
                let zoom = [10, 12, 14][z % 3];
                let (x, y) = tile(lon, lat, zoom);
                ("tile", format!("/tiles/reports/{zoom}/{x}/{y}.mvt"), true)
            }
        };
        let bearer = staff.then_some(bearer.as_str());
        match send(
            &client,
            Method::GET,
            format!("{url}{path}"),
            bearer,
            None,
            Bytes::new(),
        )
        .await
        {
            Ok((s, _)) if s.is_success() => {
                if what == "tile" { &c.tiles } else { &c.reads }.fetch_add(1, Ordering::Relaxed);
            }
            Ok((s, _)) => c.error(format!("{what}: {s}")),
            Err(e) => c.error(format!("{what}: {e}")),
        }
    }
}

/// Requests that must be refused, each with the kind of answer it must get.
async fn malformed(client: Http, url: String, c: Arc<Counts>, period: Duration, end: Instant) {
    let mut tick = every(period);
    let mut n = 0u64;
    let big = Bytes::from(vec![b' '; 2 << 20]);
    let single: Http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http();
    while Instant::now() < end {
        tick.tick().await;
        n += 1;
        let code = c
            .recent
            .lock()
            .ok()
            .and_then(|r| r.back().cloned())
            .unwrap_or_else(|| "ZZZZZZZZ".into());
        let json = Some("application/json");
        let (what, method, path, ct, body): (&str, Method, String, Option<&str>, Bytes) = match n
            % 10
        {
            0 => (
                "broken JSON",
                Method::POST,
                "/api/v1/reports".into(),
                json,
                Bytes::from_static(b"{\"category\":"),
            ),
            1 => (
                "latitude 999",
                Method::POST,
                "/api/v1/reports".into(),
                json,
                Bytes::from(r#"{"category":"pothole","description":"x","lat":999,"lon":116}"#),
            ),
            2 => (
                "bad bbox",
                Method::GET,
                "/api/v1/reports?bbox=1,2,3".into(),
                None,
                Bytes::new(),
            ),
            3 => (
                "invented method",
                Method::from_bytes(format!("BREW{}", n % 50).as_bytes()).unwrap_or(Method::PATCH),
                "/api/v1/reports".into(),
                None,
                Bytes::new(),
            ),
            4 => (
                "huge me-too contact",
                Method::POST,
                format!("/api/v1/reports/{code}/support"),
                json,
                Bytes::from(format!(
                    r#"{{"supporter_id":"soak-{n}","contact":{{"name":"{}"}}}}"#,
                    "N".repeat(5000)
                )),
            ),
            5 => (
                "bad Open311 date",
                Method::GET,
                "/open311/v2/requests.json?start_date=yesterday".into(),
                None,
                Bytes::new(),
            ),
            6 => (
                "wrong password",
                Method::POST,
                "/api/v1/session".into(),
                json,
                Bytes::from(format!(
                    r#"{{"name":"nobody{}","password":"guess {n}"}}"#,
                    n % 1000
                )),
            ),
            7 => (
                "staff page, no token",
                Method::GET,
                "/api/v1/queue".into(),
                None,
                Bytes::new(),
            ),
            8 => (
                "2 MiB body",
                Method::POST,
                "/api/v1/reports".into(),
                json,
                big.clone(),
            ),
            _ => (
                "unknown report",
                Method::GET,
                "/api/v1/reports/AAAAAAAAAA".into(),
                None,
                Bytes::new(),
            ),
        };
        // A body the server refuses unread ends its connection; it must not be
        // one the next request would reuse.
        let client = if body.len() > 1 << 20 {
            &single
        } else {
            &client
        };
        match send(client, method, format!("{url}{path}"), None, ct, body).await {
            Ok((s, _)) if s.is_client_error() => {
                c.refused_as_meant.fetch_add(1, Ordering::Relaxed);
            }
            Ok((s, _)) => c.error(format!("{what}: {s} (a 4xx was meant)")),
            Err(e) => c.error(format!("{what}: {e}")),
        }
    }
}

/// An event-stream subscriber that reads everything and reconnects every few
/// minutes, as a browser tab that is reloaded would.
async fn subscriber(url: String, bearer: String, c: Arc<Counts>, k: u64, end: Instant) {
    let client: Http = Client::builder(TokioExecutor::new()).build_http();
    let mut round = 0u64;
    while Instant::now() < end {
        round += 1;
        let stay = Duration::from_secs(60 + (k * 37 + round * 53) % 240);
        let until = (Instant::now() + stay).min(end);
        let req = hyper::Request::get(format!("{url}/api/v1/events/stream"))
            .header("authorization", format!("Bearer {bearer}"))
            .body(Full::new(Bytes::new()));
        let Ok(req) = req else { return };
        let res = match client.request(req).await {
            Ok(r) if r.status() == StatusCode::OK => r,
            Ok(r) => {
                c.error(format!("event stream: {}", r.status()));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => {
                c.error(format!("event stream: transport: {e}"));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if round > 1 {
            c.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        let mut body = res.into_body();
        loop {
            let frame = tokio::time::timeout_at(until.into(), body.frame()).await;
            match frame {
                Err(_) => break, // time to reconnect: dropping the body closes it
                Ok(None) => {
                    if Instant::now() + Duration::from_secs(1) < until {
                        c.error("event stream: closed by the server".into());
                    }
                    break;
                }
                Ok(Some(Err(e))) => {
                    c.error(format!("event stream: {e}"));
                    break;
                }
                Ok(Some(Ok(f))) => {
                    if let Ok(data) = f.into_data() {
                        let n = data.windows(7).filter(|w| w == b"event: ").count();
                        c.events.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

/// Runs the soak and prints a line per sample and a summary.
pub async fn run(s: Soak) -> Result<()> {
    let start = Instant::now();
    let end = start + Duration::from_secs(s.seconds);
    let c = Arc::new(Counts::default());
    let client = || -> Http {
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(8)
            .build_http()
    };
    let mut tasks = Vec::new();
    // Enough filers that a slow answer (a checkpoint, a merge) delays one of them
    // without the schedule losing its ticks: each may take 60 ms per report.
    let filers = (u64::from(s.rate) * 60 / 1000).clamp(1, 512);
    let period = Duration::from_secs_f64(filers as f64 / f64::from(s.rate.max(1)));
    for f in 0..filers {
        tasks.push(tokio::spawn(filer(
            client(),
            s.url.clone(),
            c.clone(),
            period,
            f,
            filers,
            end,
        )));
    }
    let readers = 4usize;
    let period = Duration::from_secs_f64(readers as f64 / f64::from(s.reads.max(1)));
    for r in 0..readers {
        tasks.push(tokio::spawn(reader(
            client(),
            s.url.clone(),
            s.bearer.clone(),
            c.clone(),
            period,
            r * 2,
            end,
        )));
    }
    let period = Duration::from_secs_f64(1.0 / f64::from(s.malformed.max(1)));
    tasks.push(tokio::spawn(malformed(
        client(),
        s.url.clone(),
        c.clone(),
        period,
        end,
    )));
    for k in 0..s.subscribers {
        tasks.push(tokio::spawn(subscriber(
            s.url.clone(),
            s.bearer.clone(),
            c.clone(),
            k as u64,
            end,
        )));
    }
    println!(
        "soak rate={}/s reads={}/s malformed={}/s subscribers={} seconds={}",
        s.rate, s.reads, s.malformed, s.subscribers, s.seconds
    );
    let mut rss = Vec::new();
    let mut last = [0u64; 5];
    let mut t = start;
    while t + Duration::from_secs(s.sample) <= end {
        t += Duration::from_secs(s.sample);
        tokio::time::sleep_until(t.into()).await;
        let now = [
            c.intake.load(Ordering::Relaxed),
            c.reads.load(Ordering::Relaxed),
            c.tiles.load(Ordering::Relaxed),
            c.refused_as_meant.load(Ordering::Relaxed),
            c.events.load(Ordering::Relaxed),
        ];
        let per = |i: usize| (now[i] - last[i]) as f64 / s.sample as f64;
        let mem = s.server_pid.and_then(rss_mib);
        if let Some(m) = mem {
            rss.push(m);
        }
        println!(
            "t={:>5}s rss={} reports={} ({:.0}/s) reads={:.1}/s tiles={:.1}/s refused={:.1}/s events={:.0}/s reconnects={} errors={}",
            t.duration_since(start).as_secs(),
            mem.map_or("?".into(), |m| format!("{m:.0}MiB")),
            now[0],
            per(0),
            per(1),
            per(2),
            per(3),
            per(4),
            c.reconnects.load(Ordering::Relaxed),
            c.errors.load(Ordering::Relaxed),
        );
        last = now;
    }
    tokio::time::sleep_until(end.into()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for t in &tasks {
        t.abort();
    }
    let errors = c.errors.load(Ordering::Relaxed);
    println!(
        "soak done: reports={} reads={} tiles={} refused as meant={} events={} reconnects={} errors={errors}",
        c.intake.load(Ordering::Relaxed),
        c.reads.load(Ordering::Relaxed),
        c.tiles.load(Ordering::Relaxed),
        c.refused_as_meant.load(Ordering::Relaxed),
        c.events.load(Ordering::Relaxed),
        c.reconnects.load(Ordering::Relaxed),
    );
    if let (Some(first), Some(last)) = (rss.first(), rss.last()) {
        let peak = rss.iter().copied().fold(0.0, f64::max);
        println!(
            "rss first sample {first:.0} MiB, last {last:.0} MiB, peak {peak:.0} MiB, growth {:+.1}%",
            (last / first - 1.0) * 100.0
        );
    }
    if let Ok(kinds) = c.kinds.lock() {
        for (k, n) in kinds.iter() {
            println!("  error: {k} ×{n}");
        }
    }
    Ok(())
}
