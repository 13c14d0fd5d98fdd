//! The redaction pool: makes each photo's public copy (faces and plates blurred)
//! in the background after its report is stored. Jobs live in the store (a photo
//! row is pending until its copy exists), so a restart, a crash or another node
//! picks up whatever is left; at most `workers` photos are worked at once, each on
//! a blocking thread, so intake never waits for it.

use crate::AppState;
use sentinel_redact::{Detector, Edits, ModelSource, Settings};
use sentinel_store::{RedactionJob, RedactionOutcome};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

/// How redaction runs.
#[derive(Debug, Clone)]
pub struct RedactionConfig {
    /// Blur faces and plates before the public sees a photo (on by default). Off,
    /// the public sees photos as uploaded (EXIF removed).
    pub enabled: bool,
    /// Photos worked at once.
    pub workers: usize,
    /// The detectors.
    pub models: ModelSource,
    /// Thresholds and sizes.
    pub settings: Settings,
    /// How long a worker's claim on a photo lasts before another may take it.
    pub lease: Duration,
    /// Claims are dropped at start (one process owns the database: SQLite).
    pub release_at_start: bool,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        RedactionConfig {
            enabled: true,
            workers: std::thread::available_parallelism()
                .map(|n| n.get().div_ceil(2))
                .unwrap_or(1),
            models: ModelSource::Embedded,
            settings: Settings::default(),
            lease: Duration::from_secs(120),
            release_at_start: false,
        }
    }
}

/// Ids of the photos hidden from the public; one set shared by the views and
/// the pool.
#[derive(Debug, Clone, Default)]
pub struct HiddenPhotos(Arc<RwLock<HashSet<String>>>);

impl HiddenPhotos {
    /// Whether staff hid this photo (when in doubt, yes).
    pub fn contains(&self, id: &str) -> bool {
        self.0.read().map(|h| h.contains(id)).unwrap_or(true)
    }

    fn set(&self, id: &str, hidden: bool) {
        if let Ok(mut h) = self.0.write() {
            if hidden {
                h.insert(id.to_owned());
            } else {
                h.remove(id);
            }
        }
    }

    fn replace(&self, ids: Vec<String>) {
        if let Ok(mut h) = self.0.write() {
            *h = ids.into_iter().collect();
        }
    }
}

/// The detectors (or why they could not be loaded) and the pool's state.
pub struct Redaction {
    config: RedactionConfig,
    detector: Result<Arc<Detector>, String>,
    wake: tokio::sync::Notify,
    started: std::sync::atomic::AtomicBool,
    hidden: HiddenPhotos,
}

/// The embedded detectors with default settings are loaded once per process (tests
/// build many servers).
fn embedded(settings: Settings) -> Result<Arc<Detector>, String> {
    static SHARED: OnceLock<Result<Arc<Detector>, String>> = OnceLock::new();
    if settings != Settings::default() {
        return Detector::load(&ModelSource::Embedded, settings)
            .map(Arc::new)
            .map_err(|e| e.to_string());
    }
    SHARED
        .get_or_init(|| {
            Detector::load(&ModelSource::Embedded, settings)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
}

impl Redaction {
    /// Loads the detectors. A model that cannot be used is logged and remembered:
    /// the server still takes reports, but no photo becomes public until it is
    /// fixed (never the original instead).
    pub fn new(config: RedactionConfig, hidden: HiddenPhotos) -> Redaction {
        let detector = if !config.enabled {
            Err("redaction is turned off".into())
        } else {
            match &config.models {
                ModelSource::Embedded => embedded(config.settings),
                other => Detector::load(other, config.settings)
                    .map(Arc::new)
                    .map_err(|e| e.to_string()),
            }
        };
        if let (true, Err(e)) = (config.enabled, &detector) {
            tracing::error!(
                error = %e,
                "privacy redaction is unavailable: photos stay hidden from the public until the models are fixed"
            );
        }
        Redaction {
            config,
            detector,
            wake: tokio::sync::Notify::new(),
            started: false.into(),
            hidden,
        }
    }

    /// Whether public photos are redacted copies (else: as uploaded).
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// Why no new copy can be made, if so.
    pub fn unavailable(&self) -> Option<&str> {
        self.detector.as_ref().err().map(String::as_str)
    }

    /// Starts work now rather than at the next poll (a report with photos was filed).
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// Records a hiding or showing made here (other nodes learn it within seconds).
    pub fn set_hidden(&self, id: &str, hidden: bool) {
        self.hidden.set(id, hidden);
    }

    /// Starts the pool (once).
    pub fn start(self: &Arc<Self>, state: AppState) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move { me.run(state).await });
    }

    async fn refresh_hidden(&self, state: &AppState) {
        match state.store.hidden_photos().await {
            Ok(ids) => self.hidden.replace(ids),
            Err(e) => tracing::warn!(error = %e, "could not read the hidden photos"),
        }
    }

    async fn run(self: Arc<Self>, state: AppState) {
        self.refresh_hidden(&state).await;
        let detector = match (&self.detector, self.config.enabled) {
            (Ok(d), true) => d.clone(),
            _ => {
                // Nothing to work; keep the hidden list current for the views.
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    self.refresh_hidden(&state).await;
                }
            }
        };
        if self.config.release_at_start {
            match state.store.release_redaction_claims().await {
                Ok(n) if n > 0 => tracing::info!(photos = n, "resuming redaction left unfinished"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not release redaction claims"),
            }
        }
        let workers = self.config.workers.max(1);
        let slots = Arc::new(tokio::sync::Semaphore::new(workers));
        let mut last_refresh = Instant::now();
        loop {
            if last_refresh.elapsed() > Duration::from_secs(5) {
                self.refresh_hidden(&state).await;
                last_refresh = Instant::now();
            }
            let free = slots.available_permits();
            if free == 0 {
                // Wait for a slot, then look again.
                if let Ok(p) = slots.clone().acquire_owned().await {
                    drop(p);
                }
                continue;
            }
            let lease =
                time::Duration::try_from(self.config.lease).unwrap_or(time::Duration::MINUTE);
            let jobs = match state
                .store
                .claim_redactions(free as u32, time::OffsetDateTime::now_utc(), lease)
                .await
            {
                Ok(j) => j,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim photos to redact");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            };
            if jobs.is_empty() {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                continue;
            }
            for job in jobs {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (me, state, detector) = (self.clone(), state.clone(), detector.clone());
                tokio::spawn(async move {
                    me.work(&state, detector, job).await;
                    drop(permit);
                });
            }
        }
    }

    async fn work(&self, state: &AppState, detector: Arc<Detector>, job: RedactionJob) {
        let started = Instant::now();
        let outcome = redact_one(state.photos.as_ref(), detector, &job).await;
        if let RedactionOutcome::Failed { error } = &outcome {
            state.metrics.redactions_failed.inc();
            tracing::warn!(photo = %job.photo_id, %error, "redaction failed; it will be retried");
        } else {
            state.metrics.photos_redacted.inc();
            state
                .metrics
                .redaction_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        let id = job.photo_id.clone();
        match state
            .store
            .finish_redaction(job, outcome, time::OffsetDateTime::now_utc())
            .await
        {
            Ok(true) => {}
            // Staff changed the edits meanwhile: the newer version is pending.
            Ok(false) => self.poke(),
            Err(e) => tracing::warn!(photo = %id, error = %e, "could not record a redaction"),
        }
    }
}

/// Reads the original, redacts it on a blocking thread, stores the copy.
pub async fn redact_one(
    photos: &dyn sentinel_store::Blobs,
    detector: Arc<Detector>,
    job: &RedactionJob,
) -> RedactionOutcome {
    let failed = |error: String| RedactionOutcome::Failed { error };
    let models = detector.models.clone();
    let original = match photos.get(&job.photo_id).await {
        Ok(b) => b,
        Err(e) => return failed(format!("reading the original: {e}")),
    };
    let edits: Edits = serde_json::from_str(&job.edits).unwrap_or_default();
    let started = Instant::now();
    let result = tokio::task::spawn_blocking(move || {
        sentinel_redact::redact_photo(&original, &detector, &edits)
    })
    .await;
    let r = match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return failed(e.to_string()),
        Err(e) => return failed(format!("the redaction thread stopped: {e}")),
    };
    let ms = started.elapsed().as_millis() as u64;
    let redacted_id = sentinel_photos::hex(&Sha256::digest(&r.bytes));
    if redacted_id != job.photo_id
        && let Err(e) = photos.put(&redacted_id, r.bytes).await
    {
        return failed(format!("storing the copy: {e}"));
    }
    let regions = serde_json::json!({
        "detected": r.detected,
        "blurred": r.regions,
        "width": r.width,
        "height": r.height,
        "ms": ms,
        "models": models,
    });
    RedactionOutcome::Done {
        redacted_id,
        mime: r.mime.to_owned(),
        regions: regions.to_string(),
    }
}
