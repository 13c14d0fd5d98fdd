//! `sentinel migrate-photos`: moves a city's photos from its data folder into
//! S3-compatible object storage, resumable (photos already there are skipped),
//! every photo checked against its id (the SHA-256 of its bytes) on the way and,
//! with `--verify`, read back and checked again at the end.

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
    let from = Arc::new(
        PhotoFolder::open(args.data.data.join("photos")).context("opening the photo folder")?,
    );
    let to = Arc::new(ObjectBlobs::from_env(&args.to)?);
    to.check()
        .await
        .with_context(|| format!("the photo store {} does not answer", args.to))?;
    let ids = all_ids(&store).await?;
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
        .buffer_unordered(args.parallel.max(1))
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
    if args.verify {
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
            .buffer_unordered(args.parallel.max(1))
            .filter_map(|x| async move { x })
            .collect()
            .await;
        pb.finish_and_clear();
        if !bad.is_empty() {
            bail!(
                "{} photos in {} do not match their checksums (first: {})",
                bad.len(),
                args.to,
                bad[0]
            );
        }
        println!(
            "verified: all {} photos read back from {} with equal checksums",
            ids.len(),
            args.to
        );
    }
    Ok(())
}
