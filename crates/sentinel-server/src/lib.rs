//! Sentinel's HTTP layer. Handlers are thin: they parse input into domain types,
//! call the store, and render views. Rules live in `sentinel-core`; SQL lives in
//! `sentinel-store`; errors become problem documents in [`error`].

pub mod analysis;
pub mod api;
pub mod auth;
pub mod client;
pub mod csrf;
pub mod deadlines;
pub mod error;
pub mod extract;
pub mod geography;
pub mod headers;
pub mod live;
mod metrics;
mod open311;
mod openapi;
mod ratelimit;
pub mod redaction;
pub mod serve;
pub mod signin;
mod tls;
pub mod views;
mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use sentinel_core::calendar::WorkCalendar;
use sentinel_core::{Catalog, LifecyclePolicy};
use sentinel_geo::JurisdictionIndex;
use sentinel_photos::PhotoLimits;
use sentinel_store::{Blobs, Store};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;

pub use metrics::Metrics;
pub use ratelimit::RateLimit;

/// Settings of a running server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest request body accepted (the whole multipart submission).
    pub max_body_bytes: usize,
    /// Limits per photo.
    pub photo_limits: PhotoLimits,
    /// Most photos per report.
    pub max_photos: usize,
    /// Public intake per client address: requests per minute (0 turns it off).
    pub intake_per_minute: u32,
    /// Burst allowed above that rate.
    pub intake_burst: u32,
    /// Mark cookies `Secure` even without `X-Forwarded-Proto: https`.
    pub secure_cookies: bool,
    /// How long a browser session lasts.
    pub session_ttl: Duration,
    /// Lifecycle settings (reopen window).
    pub lifecycle: LifecyclePolicy,
    /// Absolute URL prefix for links in responses (empty: relative links).
    pub public_url: String,
    /// The Open311 `jurisdiction_id` this endpoint answers to (any, if unset).
    pub open311_jurisdiction: Option<String>,
    /// Open311 calls per minute per API key (0 turns the limit off).
    pub open311_per_minute: u32,
    /// Sign-in, sign-up and code attempts per minute per address (0 turns it off).
    pub login_per_minute: u32,
    /// The base map every map draws on (empty: the offline default).
    pub base_map: BaseMap,
    /// Web players for camera layers: (layer name, or `None` for every camera
    /// layer; a URL template whose `{property}` places take the camera's properties).
    pub camera_players: Vec<(Option<String>, String)>,
    /// Hosts Open311 `media_url` links are fetched from (and their subdomains);
    /// empty: links are kept, never fetched.
    pub media_fetch_hosts: Vec<String>,
    /// Let media links point at private addresses (a city's own media server in an
    /// isolated network). Loopback and private hosts are refused otherwise.
    pub media_fetch_allow_private: bool,
    /// Open311 clients an admin trusts to close or reopen any report; others act
    /// only on what they filed.
    pub open311_trusted_clients: Vec<String>,
    /// Reverse proxies whose forwarding headers name the client (loopback by
    /// default); from any other peer those headers are ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Connection caps and timeouts.
    pub limits: serve::Limits,
    /// A unit's position older than this many seconds is stale (greyed on the map,
    /// not trusted for dispatch).
    pub unit_stale_secs: u64,
    /// The city's time zone: analysis counts days, weeks and months in it.
    pub utc_offset: time::UtcOffset,
    /// An event-stream client that has not taken a waiting message for this long
    /// is disconnected (it can resume with `Last-Event-ID`).
    pub stream_stall_secs: u64,
    /// How dispatch estimates travel time.
    pub eta: sentinel_core::dispatch::StraightLine,
    /// How far dispatch looks for units, in metres, unless asked otherwise.
    pub dispatch_radius_m: f64,
    /// Privacy redaction of public photos.
    pub redaction: redaction::RedactionConfig,
    /// Photos staff hid from the public (shared with the redaction pool, which
    /// keeps it current; the public views leave these out).
    pub hidden_photos: redaction::HiddenPhotos,
}

impl Default for Config {
    fn default() -> Self {
        let photo_limits = PhotoLimits::default();
        Config {
            // Five full-size photos plus the report and multipart framing.
            max_body_bytes: 5 * photo_limits.max_bytes + 1024 * 1024,
            photo_limits,
            max_photos: 5,
            intake_per_minute: 30,
            intake_burst: 10,
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
            lifecycle: LifecyclePolicy::default(),
            public_url: String::new(),
            open311_jurisdiction: None,
            open311_per_minute: 600,
            login_per_minute: 10,
            base_map: BaseMap::default(),
            camera_players: Vec::new(),
            media_fetch_hosts: Vec::new(),
            media_fetch_allow_private: false,
            open311_trusted_clients: Vec::new(),
            trusted_proxies: client::default_trusted(),
            limits: serve::Limits::default(),
            unit_stale_secs: 120,
            stream_stall_secs: 60,
            utc_offset: sentinel_core::calendar::CHINA,
            eta: sentinel_core::dispatch::StraightLine::default(),
            dispatch_radius_m: 15_000.0,
            redaction: redaction::RedactionConfig::default(),
            hidden_photos: redaction::HiddenPhotos::default(),
        }
    }
}

/// The base map under every map: a MapLibre style URL, or an XYZ raster template
/// (a city's own tile server, Tianditu, OpenStreetMap). Neither: a plain background
/// with the jurisdictions, which needs no internet; nothing is fetched from outside
/// unless configured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BaseMap {
    /// A MapLibre style document's URL.
    pub style_url: Option<String>,
    /// An XYZ raster tile template with `{z}`, `{x}` and `{y}`.
    pub tiles: Option<String>,
    /// Credit shown on the map for the tiles.
    pub attribution: Option<String>,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Photo files.
    pub photos: Arc<dyn Blobs>,
    /// Categories, departments and routing rules in force; replaced whole on change.
    pub catalog_in_force: Arc<RwLock<Arc<Catalog>>>,
    /// Settings.
    pub config: Arc<Config>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Public intake limiter.
    pub intake_limit: Arc<RateLimit>,
    /// Sign-in attempt limiter.
    pub login_limit: Arc<RateLimit>,
    /// Working-day calendar for deadlines.
    pub calendar: Arc<RwLock<Arc<WorkCalendar>>>,
    /// Jurisdictions for point location; replaced whole when they change.
    pub jurisdiction_index: Arc<RwLock<Arc<JurisdictionIndex>>>,
    /// Open311 limiter, per client application.
    pub open311_limit: Arc<RateLimit<i64>>,
    /// When this process started (Open311 discovery's changeset).
    pub started_at: time::OffsetDateTime,
    /// Where sentinel verification codes go (the development sender logs them).
    pub code_sender: Arc<dyn api::sentinels::CodeSender>,
    /// The live map index and the event streams.
    pub live: Arc<live::Live>,
    /// Every report's facts for analysis.
    pub analysis: Arc<analysis::Analysis>,
    /// The photo redaction pool and what the public may not see.
    pub redaction: Arc<redaction::Redaction>,
    /// The clock of the sign-in throttle (moved forward by tests).
    pub clock: Arc<signin::Clock>,
}

impl AppState {
    /// State for a store and photo folder with the built-in catalogue.
    pub fn new(store: Arc<dyn Store>, photos: Arc<dyn Blobs>, config: Config) -> Self {
        AppState {
            intake_limit: Arc::new(RateLimit::per_minute(
                config.intake_per_minute,
                config.intake_burst,
            )),
            login_limit: Arc::new(RateLimit::per_minute(config.login_per_minute, 5)),
            open311_limit: Arc::new(RateLimit::per_minute(
                config.open311_per_minute,
                config.open311_per_minute / 4,
            )),
            started_at: time::OffsetDateTime::now_utc(),
            clock: Arc::default(),
            code_sender: Arc::new(api::sentinels::LogSender),
            live: Arc::new(live::Live::new(config.unit_stale_secs)),
            analysis: Arc::new(analysis::Analysis::new(config.utc_offset)),
            redaction: Arc::new(redaction::Redaction::new(
                config.redaction.clone(),
                config.hidden_photos.clone(),
            )),
            store,
            photos,
            catalog_in_force: Arc::new(RwLock::new(Arc::new(Catalog::builtin()))),
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            jurisdiction_index: Arc::default(),
            calendar: Arc::new(RwLock::new(Arc::new(WorkCalendar::builtin()))),
        }
    }

    /// The configuration in force (a cheap snapshot).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog_in_force
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|_| Arc::new(Catalog::builtin()))
    }

    /// Puts a checked configuration in force.
    pub fn set_catalog(&self, catalog: Catalog) {
        if let Ok(mut g) = self.catalog_in_force.write() {
            *g = Arc::new(catalog);
        }
    }

    /// Loads the stored configuration, if any (at start and on SIGHUP).
    pub async fn reload_catalog(&self) -> Result<(), error::ApiError> {
        if let Some(doc) = self.store.config().await? {
            let c = Catalog::parse(&doc)
                .map_err(|e| error::ApiError::Internal(format!("stored configuration: {e}")))?;
            self.set_catalog(c);
        }
        Ok(())
    }

    /// Loads the shipped calendars plus the imported years (at start and on SIGHUP).
    pub async fn reload_calendar(&self) -> Result<(), error::ApiError> {
        let mut cal = WorkCalendar::builtin();
        for doc in self.store.calendar_years().await? {
            cal.add_year(&doc)
                .map_err(|e| error::ApiError::Internal(format!("stored calendar: {e}")))?;
        }
        let this_year = time::OffsetDateTime::now_utc()
            .to_offset(sentinel_core::calendar::CHINA)
            .year();
        for year in [this_year, this_year + 1] {
            if !cal.covers(year) {
                tracing::warn!(
                    year,
                    "no working-day calendar for this year: deadlines in working days count Monday to Friday only until `sentinel import calendar` loads it"
                );
            } else if cal.is_provisional(year) {
                tracing::warn!(
                    year,
                    "the working-day calendar for this year is provisional (statutory holidays, no make-up working days): import the official notice's dates with `sentinel import calendar`"
                );
            }
        }
        if let Ok(mut g) = self.calendar.write() {
            *g = Arc::new(cal);
        }
        Ok(())
    }

    /// The working-day calendar in force.
    pub fn calendar(&self) -> Arc<WorkCalendar> {
        self.calendar.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// The jurisdictions in force (a cheap snapshot).
    pub fn jurisdictions(&self) -> Arc<JurisdictionIndex> {
        self.jurisdiction_index
            .read()
            .map(|g| g.clone())
            .unwrap_or_default()
    }

    /// Rebuilds the jurisdiction index from the store (at start, and on SIGHUP
    /// after an import from the command line).
    pub async fn reload_jurisdictions(&self) -> Result<usize, error::ApiError> {
        let index = geography::load_index(&*self.store).await?;
        let n = index.all().len();
        if let Ok(mut g) = self.jurisdiction_index.write() {
            *g = Arc::new(index);
        }
        Ok(n)
    }
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    state.live.start(state.store.clone());
    state.analysis.start(state.clone());
    state.redaction.start(state.clone());
    Router::new()
        .merge(api::router())
        .merge(open311::routes())
        .merge(web::routes())
        .layer(DefaultBodyLimit::max(body_limit))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            live::poke,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::protect,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::secure,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client::resolve,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom({
            let metrics = state.metrics.clone();
            move |panic: Box<dyn std::any::Any + Send + 'static>| {
                api::panic_response(&metrics, &*panic)
            }
        }))
        // gzip for text (pages, scripts, JSON, XML) when the client takes it;
        // photos and event streams are left alone by the default predicate.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower_http::trace::TraceLayer::new_for_http().on_failure(
            // 503s are expected answers (a photo being blurred, the database
            // away with Retry-After), not server faults: they would flood the log.
            |class: tower_http::classify::ServerErrorsFailureClass,
             latency: Duration,
             _: &tracing::Span| match class {
                tower_http::classify::ServerErrorsFailureClass::StatusCode(c)
                    if c.as_u16() == 503 =>
                {
                    tracing::debug!(latency_ms = latency.as_millis() as u64, "answered 503")
                }
                other => tracing::error!(classification = %other, latency_ms = latency.as_millis() as u64, "response failed"),
            },
        ))
        .with_state(state)
}

/// Serves until `shutdown` resolves, under the configured connection limits.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config.limits.clone();
    serve::run(listener, app(state.clone()), state, limits, shutdown).await
}
