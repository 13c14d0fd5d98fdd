//! `sentinel redact`, and the redaction settings `serve` shares with it.

use crate::progress::bar;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use sentinel_redact::{Detector, ModelSource, Settings};
use sentinel_server::redaction::{RedactionConfig, redact_one};
use sentinel_store::{Blobs, PhotoFolder, RedactionOutcome, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// How photos are redacted (faces and licence plates blurred before the public
/// sees them).
#[derive(Args, Clone)]
pub struct RedactArgs {
    /// Blur faces and licence plates in every photo before the public sees it.
    /// `off` shows the public photos as uploaded (EXIF removed): not advised.
    #[arg(long, env = "SENTINEL_REDACTION", value_enum, default_value = "on")]
    redaction: OnOff,
    /// A folder with `centerface.onnx` and `plates.onnx` to use instead of the
    /// models built in (a model update without a new binary).
    #[arg(long, env = "SENTINEL_REDACT_MODELS")]
    redact_models: Option<PathBuf>,
    /// Photos redacted at once (default: half the cores, at least one).
    #[arg(long, env = "SENTINEL_REDACT_WORKERS")]
    redact_workers: Option<usize>,
    /// Confidence above which a face is blurred (0-1; lower finds more).
    #[arg(long, env = "SENTINEL_FACE_THRESHOLD", default_value_t = 0.25)]
    face_threshold: f32,
    /// Confidence above which a licence plate is blurred (0-1).
    #[arg(long, env = "SENTINEL_PLATE_THRESHOLD", default_value_t = 0.25)]
    plate_threshold: f32,
}

impl RedactArgs {
    /// The server's settings; `single_node` when the database is the data
    /// folder's SQLite file (claims left by a crash are dropped at start).
    pub fn config(&self, single_node: bool) -> Result<RedactionConfig> {
        for (name, v) in [
            ("--face-threshold", self.face_threshold),
            ("--plate-threshold", self.plate_threshold),
        ] {
            if !(v > 0.0 && v < 1.0) {
                bail!("{name} must be between 0 and 1 (got {v})");
            }
        }
        if self.redact_workers == Some(0) {
            bail!("--redact-workers must be at least 1");
        }
        let mut c = RedactionConfig {
            enabled: self.redaction == OnOff::On,
            models: match &self.redact_models {
                Some(dir) => ModelSource::Folder(dir.clone()),
                None => ModelSource::Embedded,
            },
            settings: Settings {
                face_threshold: self.face_threshold,
                plate_threshold: self.plate_threshold,
                ..Settings::default()
            },
            release_at_start: single_node,
            ..RedactionConfig::default()
        };
        if let Some(w) = self.redact_workers {
            c.workers = w;
        }
        Ok(c)
    }
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("which").args(["all", "pending"])))]
pub struct RedactCommand {
    #[command(flatten)]
    data: crate::DataArg,
    /// Redo every photo (after a model update or a change of thresholds).
    #[arg(long)]
    all: bool,
    /// Only photos without a public copy yet, and those that failed (the default).
    #[arg(long)]
    pending: bool,
    /// Where photos are kept, as `serve --blobs`.
    #[arg(long, env = "SENTINEL_BLOBS")]
    blobs: Option<String>,
    #[command(flatten)]
    redact: RedactArgs,
}

/// Re-runs redaction with a progress bar; a server may run at the same time (each
/// photo is claimed by one worker).
pub async fn redact(args: RedactCommand) -> Result<()> {
    let config = args.redact.config(args.data.database.is_none())?;
    if !config.enabled {
        bail!("--redaction off: nothing to do");
    }
    let detector = Arc::new(
        Detector::load(&config.models, config.settings).context("loading the redaction models")?,
    );
    let store = crate::open_database(&args.data)?;
    let photos: Arc<dyn Blobs> = match args.blobs.as_deref().map(str::trim) {
        Some(url) if !url.is_empty() => Arc::new(sentinel_store::ObjectBlobs::from_env(url)?),
        _ => Arc::new(
            PhotoFolder::open(args.data.data.join("photos")).context("opening the photo folder")?,
        ),
    };
    let queued = store.requeue_redactions(args.all).await?;
    if config.release_at_start {
        store.release_redaction_claims().await?;
    }
    let counts = store.redaction_counts().await?;
    eprintln!(
        "{} photos to redact ({} queued again){}",
        counts.pending,
        queued,
        if args.all { ", every photo" } else { "" }
    );
    let pb = bar(counts.pending, "photos");
    let lease = time::Duration::minutes(10);
    let (mut done, mut failed) = (0u64, 0u64);
    let started = std::time::Instant::now();
    loop {
        let jobs = store
            .claim_redactions(
                config.workers as u32,
                time::OffsetDateTime::now_utc(),
                lease,
            )
            .await?;
        if jobs.is_empty() {
            break;
        }
        let results = futures_util::future::join_all(jobs.into_iter().map(|job| {
            let (photos, detector) = (photos.clone(), detector.clone());
            async move {
                let outcome = redact_one(photos.as_ref(), detector, &job).await;
                (job, outcome)
            }
        }))
        .await;
        for (job, outcome) in results {
            if let RedactionOutcome::Failed { error } = &outcome {
                pb.println(format!("{}: {error}", job.photo_id));
                failed += 1;
            } else {
                done += 1;
            }
            store
                .finish_redaction(job, outcome, time::OffsetDateTime::now_utc())
                .await?;
            pb.inc(1);
        }
    }
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64().max(0.001);
    eprintln!(
        "{done} photos redacted, {failed} failed, in {secs:.1} s ({:.1} photos/s)",
        done as f64 / secs
    );
    let left = store.redaction_counts().await?;
    if left.failed > 0 || failed > 0 {
        bail!(
            "{} photos could not be redacted after three attempts (see above); they stay hidden from the public",
            left.failed
        );
    }
    // Let the pool's claims lapse before anything else reads the counts.
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}
