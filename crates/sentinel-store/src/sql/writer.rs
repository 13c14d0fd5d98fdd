//! Group commit: a writer thread owns a write connection. Jobs queue up while the
//! previous batch is being fsynced; the next batch takes them all, each in its
//! own savepoint (a failing job rolls back alone), under one COMMIT and one fsync.
//! Callers are answered only after that COMMIT returns. SQLite has one writer;
//! PostgreSQL several, each on its own connection, taking batches from one queue.

use super::{Conn, queries};
use crate::StoreError;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

/// Called after the batch's COMMIT with its outcome.
pub(crate) type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;

/// What a job did inside its savepoint.
pub(crate) enum Outcome {
    /// Wrote; answer after commit.
    Done(Completion),
    /// Refused or failed; already answered; roll back its savepoint.
    Failed,
}

/// A unit of work run on the write connection (or told why it cannot run).
pub(crate) type Job = Box<dyn FnOnce(Result<&dyn Conn, StoreError>) -> Outcome + Send>;

/// Most jobs in one transaction; bounds the latency one batch adds.
const MAX_BATCH: usize = 512;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Jobs committed.
    pub jobs: AtomicU64,
}

/// A write connection as a writer thread holds it: opened (again) when needed,
/// so a lost database server is reconnected at the next batch.
pub(crate) trait WriteConn: Send + 'static {
    /// The connection, connecting if there is none or the last one broke.
    fn conn(&mut self) -> Result<&dyn Conn, StoreError>;
    /// How a write transaction begins.
    fn begin(&self) -> &'static str;
    /// Most jobs in one transaction. PostgreSQL keeps up to 64 subtransactions
    /// (savepoints) per transaction in shared memory; past that every other
    /// session's snapshot checks slow down, so its batches stay under it.
    fn max_batch(&self) -> usize {
        MAX_BATCH
    }
}

/// Starts `writers` threads sharing one queue of jobs.
pub(crate) fn spawn<W: WriteConn>(writers: Vec<W>, stats: Arc<WriterStats>) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>(16_384);
    let rx = Arc::new(std::sync::Mutex::new(rx));
    for (i, mut w) in writers.into_iter().enumerate() {
        let (rx, stats) = (rx.clone(), stats.clone());
        let max = w.max_batch().clamp(1, MAX_BATCH);
        std::thread::Builder::new()
            .name(format!("sentinel-writer-{i}"))
            .spawn(move || {
                loop {
                    let batch = {
                        let Ok(mut rx) = rx.lock() else { return };
                        let Some(first) = rx.blocking_recv() else {
                            return;
                        };
                        let mut batch = Vec::with_capacity(64);
                        batch.push(first);
                        while batch.len() < max {
                            match rx.try_recv() {
                                Ok(job) => batch.push(job),
                                Err(_) => break,
                            }
                        }
                        batch
                    };
                    let begin = w.begin();
                    match w.conn() {
                        Ok(conn) => run_batch(conn, begin, batch, &stats),
                        Err(e) => {
                            tracing::error!(error = %e, "no write connection");
                            for job in batch {
                                job(Err(StoreError::Unavailable));
                            }
                        }
                    }
                }
            })
            .expect("spawning a writer thread");
    }
    tx
}

fn run_batch(conn: &dyn Conn, begin: &str, batch: Vec<Job>, stats: &WriterStats) {
    super::set_writing(true);
    if let Err(e) = conn.batch(begin) {
        tracing::error!(error = %e, "cannot begin a write transaction");
        for job in batch {
            job(Err(StoreError::Unavailable));
        }
        return;
    }
    let mut completions = Vec::with_capacity(batch.len());
    queries::feed_truncate(0);
    // The previous job's RELEASE goes with the next one's SAVEPOINT: one round
    // trip per job instead of two.
    let mut release = false;
    for job in batch {
        let start = if release {
            "RELEASE job; SAVEPOINT job"
        } else {
            "SAVEPOINT job"
        };
        release = false;
        if let Err(e) = conn.batch(start) {
            job(Err(e));
            continue;
        }
        let mark = queries::feed_mark();
        let outcome = catch_unwind(AssertUnwindSafe(|| job(Ok(conn)))).unwrap_or_else(|_| {
            tracing::error!("a write job panicked; its changes are rolled back");
            Outcome::Failed
        });
        match outcome {
            Outcome::Done(c) => {
                completions.push(c);
                release = true;
            }
            Outcome::Failed => {
                queries::feed_truncate(mark);
                let _ = conn.batch("ROLLBACK TO job; RELEASE job");
            }
        }
    }
    if release {
        let _ = conn.batch("RELEASE job");
    }
    let result = queries::flush_feed(conn)
        .and_then(|()| conn.batch("COMMIT"))
        .map_err(|e| e.to_string());
    if let Err(e) = &result {
        tracing::error!(error = %e, "commit failed; the batch is rolled back");
        let _ = conn.batch("ROLLBACK");
    } else {
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats
            .jobs
            .fetch_add(completions.len() as u64, Ordering::Relaxed);
    }
    for c in completions {
        c(result.clone());
    }
}
