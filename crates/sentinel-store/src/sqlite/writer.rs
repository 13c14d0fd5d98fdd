//! Group commit: one thread owns the write connection. Jobs queue up while the
//! previous batch is being fsynced; the next batch takes them all, each in its
//! own savepoint (a failing job rolls back alone), under one COMMIT and one fsync.
//! Callers are answered only after that COMMIT returns.

use crate::StoreError;
use rusqlite::Connection;
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
pub(crate) type Job = Box<dyn FnOnce(Result<&Connection, StoreError>) -> Outcome + Send>;

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

pub(crate) fn spawn(conn: Connection, stats: Arc<WriterStats>) -> mpsc::Sender<Job> {
    let (tx, mut rx) = mpsc::channel::<Job>(16_384);
    std::thread::Builder::new()
        .name("sentinel-writer".into())
        .spawn(move || {
            while let Some(first) = rx.blocking_recv() {
                let mut batch = Vec::with_capacity(64);
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                run_batch(&conn, batch, &stats);
            }
        })
        .expect("spawning the writer thread");
    tx
}

fn run_batch(conn: &Connection, batch: Vec<Job>, stats: &WriterStats) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "cannot begin a write transaction");
        for job in batch {
            job(Err(StoreError::Database(e.to_string())));
        }
        return;
    }
    let mut completions = Vec::with_capacity(batch.len());
    for job in batch {
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            job(Err(StoreError::Database(e.to_string())));
            continue;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| job(Ok(conn)))).unwrap_or_else(|_| {
            tracing::error!("a write job panicked; its changes are rolled back");
            Outcome::Failed
        });
        match outcome {
            Outcome::Done(c) => {
                completions.push(c);
                let _ = conn.execute_batch("RELEASE job");
            }
            Outcome::Failed => {
                let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
            }
        }
    }
    let result = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
    if let Err(e) = &result {
        tracing::error!(error = %e, "commit failed; the batch is rolled back");
        let _ = conn.execute_batch("ROLLBACK");
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
