//! `sentinel-loadgen`: the load generator behind docs/BENCHMARKS.md.
//!
//! - `intake`: concurrent clients POST reports (JSON, or multipart with a ~1 MB
//!   JPEG, each request a distinct photo) to a running server over keep-alive
//!   connections; prints throughput and latency percentiles.
//! - `sqlite-baseline`: a minimal program inserting the same rows (a report and
//!   its first event) into SQLite with the same durability (WAL,
//!   synchronous=FULL, one commit per report), for the ratio the target asks for.
//! - `seed`: fills a data folder with N reports through the real schema, for the
//!   start-up benchmark.
//! - `startup`: times a `sentinel serve` from exec to a 200 on `/readyz`.
//! - `get`: times one URL (tiles, Open311 lists), with a staff token if needed.
//! - `sse`: many event-stream subscribers, and the time from filing a report to
//!   its event reaching each of them.
//! - `soak`: an hour (or any time) of steady intake with reads, tiles, streams and
//!   malformed requests; the server's memory each minute and every error.

mod analysis;
mod edge;
mod redaction;
mod soak;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Sentinel load generator")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// POST reports to a running server.
    Intake {
        /// Server base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Concurrent clients, each on its own keep-alive connection.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Seconds to run (after a one-second warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Attach one JPEG of about this many bytes (0: JSON only).
        #[arg(long, default_value_t = 0)]
        photo_bytes: usize,
    },
    /// The minimal SQLite program with the same durability.
    SqliteBaseline {
        /// Folder for the throwaway database.
        #[arg(long)]
        dir: PathBuf,
        /// Seconds to run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Reports per commit: 1 is what each acknowledged row needs on its own;
        /// more shows what batching alone buys, without HTTP.
        #[arg(long, default_value_t = 1)]
        batch: u64,
    },
    /// One address holds many idle or half-sent connections; another address's
    /// latency, and how long an unfinished request is held (loopback only).
    Edge {
        /// Server base URL (loopback).
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Sockets the first address opens and holds.
        #[arg(long, default_value_t = 1000)]
        idle: usize,
        /// GETs the second address makes meanwhile.
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
    /// Fill a data folder with reports.
    Seed {
        /// Data folder (as `sentinel serve --data`).
        #[arg(long)]
        data: PathBuf,
        /// How many reports.
        #[arg(long, default_value_t = 1_000_000)]
        reports: u64,
    },
    /// Time face and plate redaction on labelled Full HD photos: one core,
    /// throughput with all cores, recall, and a 12000×9000 photo.
    Redaction {
        /// Photos timed.
        #[arg(long, default_value_t = 20)]
        photos: usize,
        /// Labelled photos for recall.
        #[arg(long, default_value_t = 100)]
        recall_set: usize,
        /// Worker threads for the throughput run.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Face detector's input (longer side); default as served.
        #[arg(long)]
        face_side: Option<u32>,
        /// Face threshold; default as served.
        #[arg(long)]
        face_threshold: Option<f32>,
        /// Photos larger than this are also searched for plates in quarters.
        #[arg(long)]
        tile_above: Option<u32>,
    },
    /// Time photo intake (validate, strip, hash) on distinct ~1 MB JPEGs, in process.
    Photo {
        /// Photos to process.
        #[arg(long, default_value_t = 50)]
        count: u64,
        /// Approximate size of each.
        #[arg(long, default_value_t = 1_000_000)]
        bytes: usize,
    },
    /// Write a GeoJSON layer file of N features (points and short lines) for the
    /// layer-import benchmark.
    LayerFile {
        /// Features.
        #[arg(long, default_value_t = 100_000)]
        features: u64,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the benchmark's 10,000 grid polygons as `code<TAB>WKT` lines and its
    /// sample points as `lon<TAB>lat` lines, for loading into PostGIS.
    GridWkt {
        /// Polygons file.
        #[arg(long)]
        polygons: PathBuf,
        /// Points file.
        #[arg(long)]
        points: PathBuf,
    },
    /// Time one GET, again and again on one keep-alive connection, after a warm-up:
    /// the latency of a read endpoint with its whole body received.
    Get {
        /// The full URL.
        #[arg(long)]
        url: String,
        /// Timed runs.
        #[arg(long, default_value_t = 21)]
        runs: usize,
        /// A staff bearer token, for staff-only URLs (the tiles).
        #[arg(long)]
        bearer: Option<String>,
        /// Give each run a distinct value of this query parameter (a `since` far
        /// in the past), so no cache can answer: the cold rendering time.
        #[arg(long)]
        bust: Option<String>,
        /// Decode the answer as a vector tile and print its layers' feature counts.
        #[arg(long)]
        mvt: bool,
    },
    /// Open many event-stream subscribers, file reports at a steady rate, and
    /// time each report from the POST being sent to its event reaching every
    /// subscriber (an upper bound on commit-to-delivery).
    Sse {
        /// Server base URL.
        #[arg(long)]
        url: String,
        /// A staff bearer token.
        #[arg(long)]
        bearer: String,
        /// Subscribers.
        #[arg(long, default_value_t = 2000)]
        subscribers: usize,
        /// Reports to file.
        #[arg(long, default_value_t = 200)]
        reports: usize,
        /// Reports per second.
        #[arg(long, default_value_t = 20)]
        rate: u32,
        /// Extra subscribers that connect and never read a byte (a small receive
        /// buffer), to see that they cost the server bounded memory and slow no one.
        #[arg(long, default_value_t = 0)]
        stalled: usize,
        /// Keep the stalled subscribers this many seconds after the run, to see the
        /// server let them go.
        #[arg(long, default_value_t = 0)]
        hold: u64,
        /// The server's process id on this machine: its resident memory is printed
        /// before, after the run and after the hold.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Generate reports' analysis facts in memory, time the trend, score, hotspot
    /// and pattern queries (medians), and optionally write the same data as CSV.
    Analysis {
        /// Reports to generate.
        #[arg(long, default_value_t = 10_000_000)]
        reports: usize,
        /// Write facts.csv and jurisdictions.csv into this folder.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Runs per query.
        #[arg(long, default_value_t = 11)]
        runs: usize,
    },
    /// Steady intake with public reads, staff tiles, event streams and malformed
    /// requests for a long time; the server's memory each minute and every
    /// answer that was not the one meant.
    Soak(soak::Soak),
    /// Time `sentinel serve` from start to ready.
    Startup {
        /// The sentinel binary.
        #[arg(long)]
        bin: PathBuf,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// Runs.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

fn report_json(i: u64) -> String {
    serde_json::json!({
        "category": "fire_lane_blocked",
        "description": format!("Load test report {i}: tricycles blocking the fire lane"),
        "lat": 36.45 + (i % 1000) as f64 * 1e-4,
        "lon": 115.98 + (i % 997) as f64 * 1e-4,
        "accuracy_m": 8.0,
        "contact": { "phone": "13800138000" }
    })
    .to_string()
}

/// A JPEG of roughly `target` bytes.
fn base_photo(target: usize) -> Vec<u8> {
    let mut side = 800u32;
    loop {
        let jpeg = sentinel_photos::testing::jpeg(side, side * 3 / 4, 1, None, 92);
        if jpeg.len() >= target || side > 6000 {
            return jpeg;
        }
        side = (f64::from(side) * (target as f64 / jpeg.len() as f64).sqrt() * 1.02) as u32 + 8;
    }
}

/// The photo with its first quantisation table nudged: a valid, distinct JPEG
/// (so content addressing cannot skip the write) without re-encoding.
fn variant(base: &[u8], i: u64) -> Vec<u8> {
    let mut v = base.to_vec();
    if let Some(p) = v.windows(2).position(|w| w == [0xFF, 0xDB]) {
        let table = p + 5;
        v[table + 63] = 1 + (i % 250) as u8;
        v[table + 62] = 1 + ((i / 250) % 250) as u8;
        v[table + 61] = 1 + ((i / 62_500) % 250) as u8;
    }
    v
}

fn multipart(report: &str, photo: &[u8]) -> (String, Vec<u8>) {
    let boundary = "sentinel-loadgen-boundary";
    let mut body = Vec::with_capacity(photo.len() + report.len() + 300);
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"report\"\r\nContent-Type: application/json\r\n\r\n{report}\r\n").as_bytes());
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1000.0
}

async fn intake(url: String, clients: usize, seconds: u64, photo_bytes: usize) -> Result<()> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(clients)
        .build_http();
    let photo = Arc::new(if photo_bytes > 0 {
        Some(base_photo(photo_bytes))
    } else {
        None
    });
    if let Some(p) = photo.as_ref() {
        eprintln!("photo: {} bytes", p.len());
    }
    let warmup = Duration::from_secs(1);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, url, photo) = (client.clone(), url.clone(), photo.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut i = c as u64;
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                let report = report_json(i);
                let (ct, body) = match photo.as_ref() {
                    Some(p) => multipart(&report, &variant(p, i)),
                    None => ("application/json".to_owned(), report.into_bytes()),
                };
                let req = hyper::Request::post(format!("{url}/api/v1/reports"))
                    .header("content-type", ct)
                    .body(Full::new(Bytes::from(body)))
                    .expect("request");
                let t0 = Instant::now();
                let ok = match client.request(req).await {
                    Ok(res) => {
                        let status = res.status();
                        let _ = res.into_body().collect().await;
                        status == hyper::StatusCode::CREATED
                    }
                    Err(_) => false,
                };
                let done = Instant::now();
                if t0 >= measure_from && done <= end {
                    if ok {
                        lat.push(done.duration_since(t0).as_micros() as u64);
                    } else {
                        errors += 1;
                    }
                }
                i += clients as u64;
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    let rate = all.len() as f64 / seconds as f64;
    println!(
        "intake clients={clients} photo_bytes={photo_bytes} ok={} errors={errors} rate={rate:.0}/s p50={:.1}ms p90={:.1}ms p99={:.1}ms max={:.1}ms",
        all.len(),
        percentile(&all, 0.50),
        percentile(&all, 0.90),
        percentile(&all, 0.99),
        percentile(&all, 1.0),
    );
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}

fn sqlite_baseline(dir: PathBuf, seconds: u64, batch: u64) -> Result<()> {
    std::fs::create_dir_all(&dir)?;
    // Same schema as the server (the store applies it), then plain inserts.
    drop(sentinel_store::sqlite::SqliteStore::open(&dir)?);
    let conn = rusqlite::Connection::open(dir.join("sentinel.db"))?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut n = 0u64;
    let mut lat = Vec::new();
    while Instant::now() < end {
        let t0 = Instant::now();
        let tx = conn.unchecked_transaction()?;
        for _ in 0..batch {
            tx.prepare_cached(
            "INSERT INTO reports (tracking_code, category, description, lat, lon, accuracy_m, attributes, photos, reporter_kind, \
             contact_phone, channel, status, priority, created_at, updated_at) \
             VALUES (?1, 'fire_lane_blocked', ?2, ?3, ?4, 8.0, '{}', '[]', 'contact', '13800138000', 'api', 'submitted', 'high', ?5, ?5)",
        )?
        .execute(rusqlite::params![
            code(1_000_000_000 + n),
            format!("Load test report {n}: tricycles blocking the fire lane"),
            36.45 + (n % 1000) as f64 * 1e-4,
            115.98 + (n % 997) as f64 * 1e-4,
            n as i64
        ])?;
            let id = tx.last_insert_rowid();
            tx.prepare_cached(
            "INSERT INTO events (report_id, at, actor, action, to_status, data) VALUES (?1, ?2, 'public', 'submit', 'submitted', '{}')",
        )?
        .execute(rusqlite::params![id, n as i64])?;
            n += 1;
        }
        tx.commit()?;
        lat.push(t0.elapsed().as_micros() as u64);
    }
    lat.sort_unstable();
    println!(
        "sqlite-baseline batch={batch} reports={n} rate={:.0}/s commit p50={:.2}ms p99={:.2}ms",
        n as f64 / seconds as f64,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    Ok(())
}

/// A valid, unique tracking code for the n-th row (multiplying by a number
/// coprime with the code space is a bijection).
fn code(n: u64) -> String {
    sentinel_core::TrackingCode::from_random(n.wrapping_mul(7919)).to_string()
}

fn seed(data: PathBuf, reports: u64) -> Result<()> {
    drop(sentinel_store::sqlite::SqliteStore::open(&data)?);
    let mut conn = rusqlite::Connection::open(data.join("sentinel.db"))?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
    let existing =
        conn.query_row("SELECT count(*) FROM reports", [], |r| r.get::<_, i64>(0))? as u64;
    let statuses = [
        "submitted",
        "accepted",
        "assigned",
        "in_progress",
        "resolved",
        "closed",
    ];
    let started = Instant::now();
    let mut i = existing;
    while i < reports {
        let tx = conn.transaction()?;
        {
            let mut r = tx.prepare_cached(
                "INSERT INTO reports (tracking_code, category, description, lat, lon, attributes, photos, reporter_kind, channel, \
                 status, priority, created_at, updated_at) VALUES (?1, 'pothole', ?2, ?3, ?4, '{}', '[]', 'anonymous', 'web', ?5, 'normal', ?6, ?6)",
            )?;
            let mut e = tx.prepare_cached(
                "INSERT INTO events (report_id, at, actor, action, to_status, data) VALUES (?1, ?2, 'public', 'submit', 'submitted', '{}')",
            )?;
            for _ in 0..10_000.min(reports - i) {
                let at = 1_700_000_000_000i64 + i as i64 * 60_000;
                r.execute(rusqlite::params![
                    code(i),
                    format!("seeded report {i}"),
                    36.2 + (i % 5000) as f64 * 1e-4,
                    115.7 + (i % 4999) as f64 * 1e-4,
                    statuses[(i % 6) as usize],
                    at
                ])?;
                e.execute(rusqlite::params![tx.last_insert_rowid(), at])?;
                i += 1;
            }
        }
        tx.commit()?;
        if i.is_multiple_of(100_000) {
            eprintln!("{i} reports ({:.0}s)", started.elapsed().as_secs_f64());
        }
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    println!("seeded {} reports in {}", reports, data.display());
    Ok(())
}

async fn get(
    url: String,
    runs: usize,
    bearer: Option<String>,
    bust: Option<String>,
    mvt: bool,
) -> Result<()> {
    use http_body_util::BodyExt;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let counter = std::sync::atomic::AtomicU64::new(0);
    let last = std::sync::Mutex::new(Bytes::new());
    let once = || async {
        let url = match &bust {
            Some(param) => {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let sep = if url.contains('?') { '&' } else { '?' };
                format!(
                    "{url}{sep}{param}=1970-01-01T{:02}:{:02}:{:02}Z",
                    n / 3600 % 24,
                    n / 60 % 60,
                    n % 60
                )
            }
            None => url.clone(),
        };
        let mut req = hyper::Request::get(url.as_str());
        if let Some(b) = &bearer {
            req = req.header("authorization", format!("Bearer {b}"));
        }
        let req = req.body(Full::new(Bytes::new()))?;
        let res = client.request(req).await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        anyhow::ensure!(
            status == hyper::StatusCode::OK,
            "{status}: {}",
            String::from_utf8_lossy(&body)
        );
        let n = body.len();
        if let Ok(mut l) = last.lock() {
            *l = body;
        }
        Ok::<usize, anyhow::Error>(n)
    };
    for _ in 0..3 {
        once().await?;
    }
    let mut times = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        bytes = once().await?;
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let layers = if mvt {
        use geozero::mvt::Message;
        let body = last.lock().map(|b| b.clone()).unwrap_or_default();
        let tile = geozero::mvt::Tile::decode(body).context("not a vector tile")?;
        let parts: Vec<String> = tile
            .layers
            .iter()
            .map(|l| format!("{}:{}", l.name, l.features.len()))
            .collect();
        format!(" features={}", parts.join(","))
    } else {
        String::new()
    };
    println!(
        "get runs={n} bytes={bytes}{layers} median={:.1}ms p90={:.1}ms min={:.1}ms max={:.1}ms",
        times[n / 2],
        times[(n * 9 / 10).min(n - 1)],
        times[0],
        times[n - 1]
    );
    Ok(())
}

/// Reads one subscriber's stream, noting when each report's event arrived.
async fn subscriber(
    url: String,
    bearer: String,
    ready: tokio::sync::mpsc::Sender<()>,
    seen: Arc<std::sync::Mutex<Vec<(String, Instant)>>>,
) -> Result<()> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = hyper::Request::get(format!("{url}/api/v1/events/stream"))
        .header("authorization", format!("Bearer {bearer}"))
        .body(Full::new(Bytes::new()))?;
    let res = client.request(req).await?;
    anyhow::ensure!(
        res.status() == hyper::StatusCode::OK,
        "stream: {}",
        res.status()
    );
    ready.send(()).await.ok();
    let mut body = res.into_body();
    let mut buf = String::new();
    let mut mine = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        let now = Instant::now();
        buf.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if !block.contains("event: report") {
                continue;
            }
            if let Some(line) = block.lines().find_map(|l| l.strip_prefix("data:"))
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim())
                && let Some(code) = v["code"].as_str()
            {
                mine.push((code.to_owned(), now));
            }
        }
        if !mine.is_empty()
            && let Ok(mut s) = seen.lock()
        {
            s.append(&mut mine);
        }
    }
    Ok(())
}

/// What an `sse` run does.
struct SseRun {
    url: String,
    bearer: String,
    subscribers: usize,
    reports: usize,
    rate: u32,
    stalled: usize,
    hold: u64,
    server_pid: Option<u32>,
}

async fn sse(run: SseRun) -> Result<()> {
    let SseRun {
        url,
        bearer,
        subscribers,
        reports,
        rate,
        stalled,
        hold,
        server_pid,
    } = run;
    let memory = |when: &str| {
        if let Some(mib) = server_pid.and_then(soak::rss_mib) {
            println!("server memory {when}: {mib:.0} MiB");
        }
    };
    memory("before");
    let seen = Arc::new(std::sync::Mutex::new(Vec::<(String, Instant)>::new()));
    let mut stuck = Vec::with_capacity(stalled);
    for _ in 0..stalled {
        stuck.push(never_reading(&url, &bearer).await?);
    }
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(subscribers.max(1));
    let mut tasks = Vec::new();
    for _ in 0..subscribers {
        tasks.push(tokio::spawn(subscriber(
            url.clone(),
            bearer.clone(),
            ready_tx.clone(),
            seen.clone(),
        )));
    }
    drop(ready_tx);
    let t0 = Instant::now();
    for _ in 0..subscribers {
        tokio::time::timeout(Duration::from_secs(60), ready_rx.recv())
            .await
            .context("subscribers did not connect within 60 s")?;
    }
    println!(
        "{subscribers} subscribers connected in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut sent = std::collections::HashMap::new();
    let every = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let start = Instant::now();
    for i in 0..reports {
        let due = start + every * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let t = Instant::now();
        let req = hyper::Request::post(format!("{url}/api/v1/reports"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(report_json(i as u64))))?;
        let res = client.request(req).await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        anyhow::ensure!(status == hyper::StatusCode::CREATED, "{status}");
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        sent.insert(
            v["tracking_code"].as_str().unwrap_or_default().to_owned(),
            t,
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for t in &tasks {
        t.abort();
    }
    let mut lat: Vec<f64> = seen
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .iter()
        .filter_map(|(code, at)| {
            sent.get(code)
                .map(|t| at.duration_since(*t).as_secs_f64() * 1000.0)
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    let n = lat.len();
    anyhow::ensure!(n > 0, "no event arrived");
    println!(
        "sse subscribers={subscribers} stalled={} reports={reports} rate={rate}/s delivered={n}/{} p50={:.1}ms p90={:.1}ms p99={:.1}ms max={:.1}ms",
        stuck.len(),
        subscribers * reports,
        lat[n / 2],
        lat[(n * 9 / 10).min(n - 1)],
        lat[(n * 99 / 100).min(n - 1)],
        lat[n - 1]
    );
    memory("after the run");
    if hold > 0 && !stuck.is_empty() {
        tokio::time::sleep(Duration::from_secs(hold)).await;
        memory(&format!("after holding the stalled clients {hold} s"));
        let req = hyper::Request::get(format!("{url}/metrics")).body(Full::new(Bytes::new()))?;
        let body = client
            .request(req)
            .await?
            .into_body()
            .collect()
            .await?
            .to_bytes();
        for l in String::from_utf8_lossy(&body).lines() {
            if l.starts_with("sentinel_event_streams") {
                println!("  {l}");
            }
        }
    }
    drop(stuck);
    Ok(())
}

/// An event-stream request on a socket with a 4 KiB receive buffer that is then
/// never read.
async fn never_reading(url: &str, bearer: &str) -> Result<tokio::net::TcpStream> {
    use tokio::io::AsyncWriteExt;
    let authority = url
        .strip_prefix("http://")
        .context("the URL must be http://host:port")?
        .trim_end_matches('/');
    let addr = tokio::net::lookup_host(authority)
        .await?
        .next()
        .context("the host does not resolve")?;
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_recv_buffer_size(4096)?;
    let mut stream = socket.connect(addr).await?;
    stream
        .write_all(
            format!(
                "GET /api/v1/events/stream HTTP/1.1\r\nhost: {authority}\r\nauthorization: Bearer {bearer}\r\naccept: text/event-stream\r\n\r\n"
            )
            .as_bytes(),
        )
        .await?;
    Ok(stream)
}

async fn startup(bin: PathBuf, data: PathBuf, runs: usize) -> Result<()> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut times = Vec::new();
    for _ in 0..runs {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?.port()
        };
        let t0 = Instant::now();
        let mut child = std::process::Command::new(&bin)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--log",
                "warn",
            ])
            .arg("--data")
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .spawn()
            .context("starting sentinel")?;
        loop {
            let req = hyper::Request::get(format!("http://127.0.0.1:{port}/readyz"))
                .body(Full::new(Bytes::new()))?;
            if let Ok(res) = client.request(req).await
                && res.status() == hyper::StatusCode::OK
            {
                break;
            }
            if t0.elapsed() > Duration::from_secs(30) {
                child.kill()?;
                bail!("not ready after 30 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        child.kill()?;
        child.wait()?;
    }
    times.sort_by(f64::total_cmp);
    println!(
        "startup runs={runs} median={:.0}ms min={:.0}ms max={:.0}ms",
        times[runs / 2],
        times[0],
        times[runs - 1]
    );
    Ok(())
}

fn photo(count: u64, bytes: usize) -> Result<()> {
    let base = base_photo(bytes);
    let limits = sentinel_photos::PhotoLimits::default();
    let first = sentinel_photos::process(&base, &limits)?;
    let mut times = Vec::new();
    for i in 0..count {
        let v = variant(&base, i);
        let t0 = Instant::now();
        sentinel_photos::process(&v, &limits)?;
        times.push(t0.elapsed().as_micros() as u64);
    }
    times.sort_unstable();
    let mut decode = Vec::new();
    for i in 0..count.min(20) {
        let v = variant(&base, i);
        let t0 = Instant::now();
        image::load_from_memory_with_format(&v, image::ImageFormat::Jpeg)?;
        decode.push(t0.elapsed().as_micros() as u64);
    }
    decode.sort_unstable();
    eprintln!(
        "of which a full decode: p50={:.1}ms",
        percentile(&decode, 0.5)
    );
    println!(
        "photo {}x{} {} bytes: process p50={:.1}ms p90={:.1}ms",
        first.width,
        first.height,
        base.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.9)
    );
    Ok(())
}

fn layer_file(features: u64, out: PathBuf) -> Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(&out)?);
    write!(f, r#"{{"type":"FeatureCollection","features":["#)?;
    for i in 0..features {
        let lon = 115.2 + (i * 7919 % 13_000) as f64 / 10_000.0;
        let lat = 35.9 + (i * 104_729 % 11_000) as f64 / 10_000.0;
        let geometry = if i % 3 == 0 {
            format!(
                r#"{{"type":"LineString","coordinates":[[{lon},{lat}],[{},{}],[{},{}]]}}"#,
                lon + 0.001,
                lat + 0.0005,
                lon + 0.002,
                lat + 0.0012
            )
        } else {
            format!(r#"{{"type":"Point","coordinates":[{lon},{lat}]}}"#)
        };
        let sep = if i == 0 { "" } else { "," };
        write!(
            f,
            r#"{sep}{{"type":"Feature","properties":{{"name":"要素{i}","class":{}}},"geometry":{geometry}}}"#,
            i % 7
        )?;
    }
    write!(f, "]}}")?;
    f.flush()?;
    println!("wrote {features} features to {}", out.display());
    Ok(())
}

fn grid_wkt(polygons: PathBuf, points: PathBuf) -> Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(&polygons)?);
    for j in sentinel_geo::synthetic::grid(100) {
        let ring: Vec<String> = j.area.0[0]
            .exterior()
            .0
            .iter()
            .map(|c| format!("{} {}", c.x, c.y))
            .collect();
        writeln!(f, "{}\tSRID=4326;POLYGON(({}))", j.code, ring.join(","))?;
    }
    f.flush()?;
    let mut p = std::io::BufWriter::new(std::fs::File::create(&points)?);
    for pt in sentinel_geo::synthetic::points(100, 1024) {
        writeln!(p, "{}\t{}", pt.lon(), pt.lat())?;
    }
    p.flush()?;
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Cmd::Intake {
            url,
            clients,
            seconds,
            photo_bytes,
        } => rt.block_on(intake(url, clients, seconds, photo_bytes)),
        Cmd::SqliteBaseline {
            dir,
            seconds,
            batch,
        } => sqlite_baseline(dir, seconds, batch.max(1)),
        Cmd::Seed { data, reports } => seed(data, reports),
        Cmd::Edge {
            url,
            idle,
            requests,
        } => rt.block_on(edge::run(&url, idle, requests)),
        Cmd::Photo { count, bytes } => photo(count, bytes),
        Cmd::Redaction {
            photos,
            recall_set,
            threads,
            face_side,
            face_threshold,
            tile_above,
        } => {
            let d = sentinel_redact::Settings::default();
            let settings = sentinel_redact::Settings {
                face_side: face_side.unwrap_or(d.face_side),
                face_threshold: face_threshold.unwrap_or(d.face_threshold),
                tile_above: tile_above.unwrap_or(d.tile_above),
                ..d
            };
            redaction::run(photos, recall_set, threads, settings)
        }
        Cmd::LayerFile { features, out } => layer_file(features, out),
        Cmd::GridWkt { polygons, points } => grid_wkt(polygons, points),
        Cmd::Get {
            url,
            runs,
            bearer,
            bust,
            mvt,
        } => rt.block_on(get(url, runs, bearer, bust, mvt)),
        Cmd::Soak(run) => rt.block_on(soak::run(run)),
        Cmd::Sse {
            url,
            bearer,
            subscribers,
            reports,
            rate,
            stalled,
            hold,
            server_pid,
        } => rt.block_on(sse(SseRun {
            url,
            bearer,
            subscribers,
            reports,
            rate,
            stalled,
            hold,
            server_pid,
        })),
        Cmd::Startup { bin, data, runs } => rt.block_on(startup(bin, data, runs)),
        Cmd::Analysis { reports, csv, runs } => analysis::run(reports, csv, runs),
    }
}
