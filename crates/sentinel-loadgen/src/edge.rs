//! The internet edge under a slow-client attack: one address holds many idle or
//! half-sent connections while another address asks for a small page; how long the
//! other address waits (median and p99), and how long the server holds a request
//! whose headers never finish. Loopback only; every socket is closed at the end.

use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// One GET on a fresh connection from `from`; the time to the whole answer.
async fn one_get(server: SocketAddr, from: SocketAddr, path: &str) -> Result<Duration> {
    let started = Instant::now();
    let socket = TcpSocket::new_v4()?;
    socket.bind(from)?;
    let mut s = socket.connect(server).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    if !out.starts_with(b"HTTP/1.1 200") {
        bail!(
            "unexpected answer: {}",
            String::from_utf8_lossy(&out[..out.len().min(80)])
        );
    }
    Ok(started.elapsed())
}

/// Runs the measurement against `url` (`http://127.0.0.1:PORT`).
pub async fn run(url: &str, idle: usize, requests: usize) -> Result<()> {
    let server: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .context("the URL must be http://127.0.0.1:PORT")?;
    if !server.ip().is_loopback() {
        bail!("the edge benchmark targets loopback only");
    }
    let attacker: SocketAddr = "127.0.0.1:0".parse()?;
    let other: SocketAddr = "127.0.0.2:0".parse()?;
    let mut held = Vec::with_capacity(idle);
    let mut refused = 0;
    for i in 0..idle {
        let socket = TcpSocket::new_v4()?;
        socket.bind(attacker)?;
        match socket.connect(server).await {
            Ok(mut s) => {
                if i % 2 == 0 {
                    let _ = s
                        .write_all(b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Le")
                        .await;
                }
                held.push(s);
            }
            Err(_) => refused += 1,
        }
    }
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        times.push(one_get(server, other, "/api/v1/categories").await?);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "edge: {} sockets held by one address ({} refused at connect); another address: {} GETs, median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        held.len(),
        refused,
        requests,
        ms(times[times.len() / 2]),
        ms(times[(times.len() * 99 / 100).min(times.len() - 1)]),
        ms(times[times.len() - 1])
    );
    drop(held);
    // A request whose headers never finish: how long until the server lets go.
    let mut slow = TcpStream::connect(server).await?;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await?;
    let started = Instant::now();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(120), slow.read_to_end(&mut sink)).await;
    println!(
        "edge: a request with unfinished headers was closed after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
