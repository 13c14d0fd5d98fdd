//! Moving a city to the server set-up. `sentinel migrate-photos` moves its photos
//! from the data folder into S3-compatible object storage, resumable (photos
//! already there are skipped), every photo checked against its id (the SHA-256
//! of its bytes) on the way and, with `--verify`, read back and checked again.
//! `sentinel migrate-data` moves its database into PostgreSQL (and, with
//! `--blobs`, its photos too), resumable, verified by counts and checksums.

use crate::progress::bar;
use anyhow::{Context, Result, bail};
use clap::Args;
use futures_util::StreamExt;
use sentinel_store::{Blobs, ObjectBlobs, PhotoFolder, Store};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Args)]
pub struct MigratePhotosArgs {
    #[command(flatten)]
    data: crate::DataArg,
    /// Where to: `s3://bucket/prefix` (endpoint, region and credentials from the
    /// AWS_* environment, as `serve --blobs`).
    #[arg(long)]
    to: String,
    /// Photos copied at once.
    #[arg(long, default_value_t = 8)]
    parallel: usize,
    /// At the end, read every photo back from the bucket and check its checksum.
    #[arg(long)]
    verify: bool,
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every photo id, in order.
async fn all_ids(store: &dyn Store) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    loop {
        let page = store
            .photo_ids(ids.last().map_or("", |s: &String| s.as_str()), 10_000)
            .await?;
        if page.is_empty() {
            return Ok(ids);
        }
        ids.extend(page);
    }
}

/// `sentinel migrate-photos`.
pub async fn migrate_photos(args: MigratePhotosArgs) -> Result<()> {
    let store = crate::open_database(&args.data)?;
    move_photos(
        &store,
        &args.data.data,
        &args.to,
        args.parallel,
        args.verify,
    )
    .await
}

/// Copies the photos `store` lists from the folder in `data` to `to`.
async fn move_photos(
    store: &dyn Store,
    data: &std::path::Path,
    to_url: &str,
    parallel: usize,
    verify: bool,
) -> Result<()> {
    let from =
        Arc::new(PhotoFolder::open(data.join("photos")).context("opening the photo folder")?);
    let to = Arc::new(ObjectBlobs::from_env(to_url)?);
    to.check()
        .await
        .with_context(|| format!("the photo store {to_url} does not answer"))?;
    let ids = all_ids(store).await?;
    let pb = bar(ids.len() as u64, "copying");
    let (copied, skipped) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let results: Vec<Result<()>> = futures_util::stream::iter(ids.iter().cloned())
        .map(|id| {
            let (from, to, pb) = (from.clone(), to.clone(), pb.clone());
            let (copied, skipped) = (copied.clone(), skipped.clone());
            async move {
                if to.has(&id).await? {
                    skipped.fetch_add(1, Ordering::Relaxed);
                } else {
                    let bytes = Blobs::get(&*from, &id)
                        .await
                        .with_context(|| format!("reading photo {id} from the folder"))?;
                    if hex_sha256(&bytes) != id {
                        bail!("photo {id} in the folder is damaged (its bytes do not hash to its id); nothing was copied for it");
                    }
                    to.put(&id, bytes)
                        .await
                        .with_context(|| format!("copying photo {id}"))?;
                    copied.fetch_add(1, Ordering::Relaxed);
                }
                pb.inc(1);
                Ok(())
            }
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    pb.finish_and_clear();
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|r| r.err().map(|e| format!("{e:#}")))
        .collect();
    println!(
        "{} photos: {} copied, {} already there, {} failed",
        ids.len(),
        copied.load(Ordering::Relaxed),
        skipped.load(Ordering::Relaxed),
        failures.len()
    );
    if !failures.is_empty() {
        for f in failures.iter().take(10) {
            eprintln!("  {f}");
        }
        bail!(
            "{} photos were not copied; run the command again to retry them",
            failures.len()
        );
    }
    if verify {
        let pb = bar(ids.len() as u64, "verifying");
        let bad: Vec<String> = futures_util::stream::iter(ids.iter().cloned())
            .map(|id| {
                let (to, pb) = (to.clone(), pb.clone());
                async move {
                    let ok = matches!(to.get(&id).await, Ok(b) if hex_sha256(&b) == id);
                    pb.inc(1);
                    (!ok).then_some(id)
                }
            })
            .buffer_unordered(parallel.max(1))
            .filter_map(|x| async move { x })
            .collect()
            .await;
        pb.finish_and_clear();
        if !bad.is_empty() {
            bail!(
                "{} photos in {to_url} do not match their checksums (first: {})",
                bad.len(),
                bad[0]
            );
        }
        println!(
            "verified: all {} photos read back from {to_url} with equal checksums",
            ids.len()
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct MigrateDataArgs {
    /// The data folder of the city to move (its `sentinel.db` and `photos/`).
    #[arg(long)]
    from: std::path::PathBuf,
    /// The PostgreSQL database to move it into: postgres://user:password@host:port/db
    /// (made current first; PostGIS must be installable there).
    #[arg(long)]
    to: String,
    /// Also move the photos into S3-compatible object storage (`s3://bucket/prefix`;
    /// endpoint and credentials from the AWS_* environment, as `serve --blobs`).
    #[arg(long)]
    blobs: Option<String>,
    /// Rows per committed batch.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
}

/// `sentinel migrate-data`.
pub async fn migrate_data(args: MigrateDataArgs) -> Result<()> {
    if !(args.to.starts_with("postgres://") || args.to.starts_with("postgresql://")) {
        bail!("--to takes a postgres:// URL");
    }
    if !args.from.join("sentinel.db").exists() {
        bail!(
            "there is no city in {} (no sentinel.db)",
            args.from.display()
        );
    }
    let (from, to, batch) = (args.from.clone(), args.to.clone(), args.batch);
    let t = std::time::Instant::now();
    let copied = tokio::task::spawn_blocking(move || {
        let bars = std::sync::Mutex::new(
            std::collections::HashMap::<String, indicatif::ProgressBar>::new(),
        );
        let progress = |table: &str, done: u64, total: u64| {
            if let Ok(mut bars) = bars.lock() {
                let pb = bars
                    .entry(table.to_owned())
                    .or_insert_with(|| bar(total, table));
                pb.set_position(done);
                if done >= total {
                    pb.finish_and_clear();
                }
            }
        };
        sentinel_store::transfer::copy_to_postgres(&from, &to, batch, &progress)
    })
    .await?
    .context("copying the database")?;
    println!(
        "copied {copied} rows in {:.1} s (rows already there were skipped)",
        t.elapsed().as_secs_f64()
    );
    let (from, to) = (args.from.clone(), args.to.clone());
    let checks = tokio::task::spawn_blocking(move || {
        let pb = bar(sentinel_store::transfer::TABLES.len() as u64, "verifying");
        let out = sentinel_store::transfer::verify(&from, &to, &|_, _, _| pb.inc(1));
        pb.finish_and_clear();
        out
    })
    .await?
    .context("verifying the copy")?;
    let mut bad = 0;
    for c in &checks {
        if !c.ok() {
            bad += 1;
            eprintln!(
                "  {}: {} rows here, {} there, checksums {}",
                c.table,
                c.source_rows,
                c.target_rows,
                if c.checksum_equal { "equal" } else { "differ" }
            );
        }
    }
    if bad > 0 {
        bail!("{bad} tables differ after the copy; run the command again to resume it");
    }
    let rows = |t: &str| {
        checks
            .iter()
            .find(|c| c.table == t)
            .map_or(0, |c| c.source_rows)
    };
    println!(
        "verified: {} tables, counts and checksums equal ({} reports, {} events, {} photos)",
        checks.len(),
        rows("reports"),
        rows("events"),
        rows("photos")
    );
    match &args.blobs {
        Some(url) => {
            let store = sentinel_store::sql::SqlStore::connect_postgres(&args.to)?;
            move_photos(&store, &args.from, url, 8, true).await?;
        }
        None => println!(
            "photos stay in {}: serve with --data pointing at it (one node), or move them with --blobs",
            args.from.join("photos").display()
        ),
    }
    Ok(())
}
