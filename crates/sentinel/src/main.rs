//! The `sentinel` command. Errors at this edge are `anyhow`; everything inside
//! uses typed errors.

mod demo;
mod migrate;
mod progress;
mod redact;
mod stats;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use sentinel_core::{Catalog, LifecyclePolicy, Role};
use sentinel_geo::import::ImportOptions;
use sentinel_geo::{Crs, Level};
use sentinel_server::auth::{
    Secret, check_password_strength, create_staff_user, hash_password, new_token, secret_hash,
};
use sentinel_server::{AppState, Config};
use sentinel_store::sql::SqlStore;
use sentinel_store::{PhotoFolder, Store};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Sentinel: citizen hazard reporting and one-map command.
#[derive(Parser)]
#[command(name = "sentinel", version, about)]
struct Cli {
    /// Log filter (e.g. `info`, `sentinel=debug`).
    #[arg(long, env = "SENTINEL_LOG", default_value = "info", global = true)]
    log: String,
    /// Log format.
    #[arg(long, env = "SENTINEL_LOG_FORMAT", default_value = "text", global = true, value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
pub(crate) struct DataArg {
    /// Data folder: `sentinel.db` and `photos/`.
    #[arg(long, env = "SENTINEL_DATA", default_value = "./sentinel-data")]
    pub(crate) data: PathBuf,
    /// The database: `postgres://user:password@host:port/db` for PostgreSQL (with
    /// PostGIS) shared by several nodes; by default SQLite in the data folder.
    #[arg(long, env = "SENTINEL_DATABASE")]
    pub(crate) database: Option<String>,
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "SENTINEL_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    #[command(flatten)]
    data: DataArg,
    /// Public report submissions per minute per client address (0 = unlimited).
    #[arg(long, env = "SENTINEL_INTAKE_PER_MINUTE", default_value_t = 30)]
    intake_per_minute: u32,
    /// Extra submissions a client may burst above that rate.
    #[arg(long, env = "SENTINEL_INTAKE_BURST", default_value_t = 10)]
    intake_burst: u32,
    /// Mark session cookies Secure (set when TLS terminates in front of Sentinel).
    #[arg(long, env = "SENTINEL_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Reverse proxies (comma-separated addresses or CIDR ranges) whose
    /// `Forwarded`, `X-Forwarded-For`, `X-Real-IP` and `X-Forwarded-Proto` headers
    /// are believed; the client is the rightmost address in the chain that is not
    /// one of them. From any other peer those headers are ignored.
    #[arg(
        long,
        env = "SENTINEL_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = parse_net,
        default_value = "127.0.0.0/8,::1/128"
    )]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Most connections open at once; more are closed on arrival.
    #[arg(long, env = "SENTINEL_MAX_CONNECTIONS", default_value_t = 4096)]
    max_connections: usize,
    /// Most connections open at once from one address (0: no cap); trusted
    /// proxies are exempt.
    #[arg(
        long,
        env = "SENTINEL_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 64
    )]
    max_connections_per_address: usize,
    /// Seconds a client has to send a request's headers.
    #[arg(
        long = "header-timeout",
        env = "SENTINEL_HEADER_TIMEOUT",
        default_value_t = 10
    )]
    header_timeout_secs: u64,
    /// Longest silence, in seconds, inside a request body before it is cut off (408).
    #[arg(
        long = "body-timeout",
        env = "SENTINEL_BODY_TIMEOUT",
        default_value_t = 30
    )]
    body_timeout_secs: u64,
    /// Seconds a connection may stay silent before it is closed.
    #[arg(
        long = "idle-timeout",
        env = "SENTINEL_IDLE_TIMEOUT",
        default_value_t = 75
    )]
    idle_timeout_secs: u64,
    /// Absolute URL prefix for links in responses, e.g. https://sentinel.example.org.
    #[arg(long, env = "SENTINEL_PUBLIC_URL", default_value = "")]
    public_url: String,
    /// Days after closing during which a reporter may reopen.
    #[arg(long, env = "SENTINEL_REOPEN_DAYS", default_value_t = 30)]
    reopen_days: u32,
    /// Hours a browser session lasts.
    #[arg(long, env = "SENTINEL_SESSION_HOURS", default_value_t = 12)]
    session_hours: u32,
    /// Seconds between deadline sweeps (催办 and 督办 for overdue reports).
    #[arg(long, env = "SENTINEL_DEADLINE_SWEEP_SECS", default_value_t = 60)]
    deadline_sweep_secs: u64,
    /// The Open311 jurisdiction_id this city answers to (e.g. liaocheng.gov.cn);
    /// a call naming another gets 404. Unset: the argument is ignored.
    #[arg(long, env = "SENTINEL_OPEN311_JURISDICTION_ID")]
    open311_jurisdiction_id: Option<String>,
    /// Open311 calls per minute per API key (0: no limit).
    #[arg(long, env = "SENTINEL_OPEN311_PER_MINUTE", default_value_t = 600)]
    open311_per_minute: u32,
    /// Fetch Open311 media_url photos from these hosts (comma-separated; their
    /// subdomains too) into the report, checked like uploads. Default: links are
    /// kept, never fetched.
    #[arg(long, env = "SENTINEL_OPEN311_FETCH_MEDIA_FROM", value_delimiter = ',')]
    open311_fetch_media_from: Vec<String>,
    /// Open311 clients (by the name given to `sentinel token create --open311 NAME`) that may
    /// close or reopen any report, not only those they filed themselves
    /// (comma-separated; e.g. the city's own 12345 platform).
    #[arg(long, env = "SENTINEL_OPEN311_TRUSTED_CLIENTS", value_delimiter = ',')]
    open311_trusted_clients: Vec<String>,
    /// Allow media links on private addresses (a media server inside an isolated
    /// network). Loopback and private hosts are refused otherwise.
    #[arg(long, env = "SENTINEL_OPEN311_FETCH_MEDIA_ALLOW_PRIVATE")]
    open311_fetch_media_allow_private: bool,
    /// Send sentinel sign-up codes to this gateway URL (POST, JSON {to, code,
    /// purpose}). Unset: the development sender writes codes to the log.
    #[arg(long, env = "SENTINEL_CODE_WEBHOOK")]
    code_webhook: Option<String>,
    /// The base map as a MapLibre style URL. Default: an offline background with
    /// the jurisdictions; nothing is fetched from outside unless configured.
    #[arg(long, env = "SENTINEL_BASE_MAP_STYLE")]
    base_map_style: Option<String>,
    /// The base map as an XYZ raster template, e.g. a city's own tile server:
    /// https://tiles.example.gov.cn/{z}/{x}/{y}.png
    #[arg(long, env = "SENTINEL_BASE_MAP_TILES")]
    base_map_tiles: Option<String>,
    /// Credit for the base map's tiles.
    #[arg(long, env = "SENTINEL_BASE_MAP_ATTRIBUTION")]
    base_map_attribution: Option<String>,
    /// The city's web video player for cameras, as a URL template whose
    /// `{property}` places take the camera's properties, e.g.
    /// `https://video.example.gov.cn/play?id={id}`; `LAYER=TEMPLATE` for one camera
    /// layer. Repeatable. Without one, the console offers a stream address to copy.
    #[arg(long = "camera-player-url", value_parser = parse_camera_player)]
    camera_player_url: Vec<(Option<String>, String)>,
    /// Where photos are kept: `s3://bucket/prefix` for S3-compatible object storage
    /// (endpoint, region and credentials from AWS_ENDPOINT_URL, AWS_REGION,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; AWS_ALLOW_HTTP=true for plain
    /// HTTP); by default the `photos/` folder in the data folder.
    #[arg(long, env = "SENTINEL_BLOBS")]
    blobs: Option<String>,
    #[command(flatten)]
    offset: progress::OffsetArg,
    #[command(flatten)]
    redact: redact::RedactArgs,
}

#[derive(Args, Clone)]
struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Seed of the generator: the same seed builds the same city.
    #[arg(long, env = "SENTINEL_DEMO_SEED", default_value_t = 1)]
    seed: u64,
    /// small (a few thousand reports) or full (two years, 300,000 reports).
    #[arg(long, env = "SENTINEL_DEMO_SCALE", value_enum, default_value = "small")]
    scale: demo::Scale,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DataArg),
    /// Manage staff users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Build the demo city into an empty data folder (once) and serve it.
    Demo(DemoArgs),
    /// Import data from files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Trends by category, group, department, jurisdiction or channel for a period,
    /// with 同比 and 环比 and whether each change is significant.
    Stats(stats::StatsArgs),
    /// Write any filtered set of reports to a CSV, GeoJSON or XLSX file.
    Export(stats::ExportArgs),
    /// Move the photos from the data folder into S3-compatible object storage
    /// (resumable; checksums checked), before serving with `--blobs`.
    MigratePhotos(migrate::MigratePhotosArgs),
    /// Move a city from its data folder (SQLite) into PostgreSQL, and with
    /// --blobs its photos into object storage (resumable; counts and checksums
    /// checked at the end).
    MigrateData(migrate::MigrateDataArgs),
    /// Make the public copies of photos again (faces and licence plates blurred):
    /// `--all` after a model update, `--pending` (the default) for those not made
    /// yet or failed. Shows progress; safe beside a running server.
    Redact(redact::RedactCommand),
}

#[derive(Subcommand)]
enum ImportCommand {
    /// A map layer from GeoJSON (.geojson, .json; streamed), CSV (.csv, one point
    /// per row), KML (.kml) or a shapefile (.shp with its .dbf, and .prj / .cpg
    /// when present). An existing layer of the same name is replaced when the whole
    /// file has gone in; on any error nothing changes.
    Layer {
        /// Layer name.
        name: String,
        /// The file.
        file: PathBuf,
        /// generic, patrol_points, cameras, drone_bases or units.
        #[arg(long, env = "SENTINEL_LAYER_KIND", default_value = "generic")]
        kind: String,
        /// Datum of the coordinates: wgs84, gcj02 or bd09.
        #[arg(long, env = "SENTINEL_IMPORT_CRS", default_value = "wgs84")]
        crs: String,
        /// CSV: the latitude column.
        #[arg(long, env = "SENTINEL_LAT_FIELD", default_value = "lat")]
        lat_field: String,
        /// CSV: the longitude column.
        #[arg(long, env = "SENTINEL_LON_FIELD", default_value = "lon")]
        lon_field: String,
        /// Take a property from a differently named column, PROPERTY=COLUMN
        /// (repeatable): `--field coverage_radius_m=cover_r` for a shapefile, whose
        /// column names stop at 10 characters, or `--field radius_m=半径`.
        #[arg(long = "field", value_name = "PROPERTY=COLUMN")]
        fields: Vec<String>,
        #[command(flatten)]
        data: DataArg,
    },
    /// A year of public holidays and make-up working days (调休), TOML:
    /// `year = 2027`, `holidays = ["2027-01-01", ...]`, `workdays = [...]`.
    Calendar {
        /// The file.
        file: PathBuf,
        #[command(flatten)]
        data: DataArg,
    },
    /// The city's configuration (departments, categories, routing rules) from TOML
    /// or JSON, checked whole. A running server picks it up on SIGHUP or restart.
    Config {
        /// The file.
        file: PathBuf,
        #[command(flatten)]
        data: DataArg,
    },
    /// Jurisdiction boundaries from GeoJSON (Polygon / MultiPolygon features), all or
    /// nothing. A running server picks them up on SIGHUP or restart.
    Jurisdictions {
        /// The GeoJSON file.
        file: PathBuf,
        /// city, district, town or grid.
        #[arg(long, env = "SENTINEL_IMPORT_LEVEL")]
        level: String,
        /// Property with the Chinese name.
        #[arg(long, env = "SENTINEL_IMPORT_NAME_FIELD", default_value = "name")]
        name_field: String,
        /// Property with the English name.
        #[arg(long, env = "SENTINEL_IMPORT_NAME_EN_FIELD", default_value = "name_en")]
        name_en_field: String,
        /// Property with the unique code.
        #[arg(long, env = "SENTINEL_IMPORT_CODE_FIELD", default_value = "code")]
        code_field: String,
        /// Property with the parent's code (otherwise found by containment).
        #[arg(long, env = "SENTINEL_IMPORT_PARENT_FIELD")]
        parent_field: Option<String>,
        /// Datum of the coordinates: wgs84, gcj02 or bd09.
        #[arg(long, env = "SENTINEL_IMPORT_CRS", default_value = "wgs84")]
        crs: String,
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from the first line of stdin.
    Add {
        /// Login name.
        name: String,
        /// admin, dispatcher, officer, unit or analyst.
        #[arg(long, env = "SENTINEL_ROLE")]
        role: String,
        /// Department code (required for officers).
        #[arg(long, env = "SENTINEL_DEPARTMENT")]
        department: Option<String>,
        #[command(flatten)]
        data: DataArg,
    },
    /// List users.
    List(DataArg),
    /// Disable a user (their sessions and tokens stop working).
    Disable {
        /// Login name.
        name: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// Set a user's password from the first line of stdin.
    SetPassword {
        /// Login name.
        name: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// Lift a sign-in lock before it expires by itself (after ten failed sign-ins
    /// an account waits 15 minutes). A sentinel is named by phone or e-mail.
    Unlock {
        /// Staff login name, or a sentinel's phone number or e-mail.
        name: String,
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a bearer token for a staff user (`--user`), or an Open311 API key
    /// for a client application (`--open311 NAME`); it is printed once, on the
    /// last line.
    Create {
        /// The user the token acts as.
        #[arg(
            long,
            env = "SENTINEL_TOKEN_USER",
            required_unless_present = "open311",
            conflicts_with = "open311"
        )]
        user: Option<String>,
        /// An Open311 API key for this client application instead.
        #[arg(long, value_name = "NAME")]
        open311: Option<String>,
        /// A label to recognise it by.
        #[arg(long, env = "SENTINEL_TOKEN_LABEL", default_value = "cli")]
        label: String,
        /// Days until it expires (never, if absent).
        #[arg(long, env = "SENTINEL_TOKEN_EXPIRES_DAYS")]
        expires_days: Option<u32>,
        #[command(flatten)]
        data: DataArg,
    },
    /// List tokens (never their secrets).
    List {
        /// Only this user's.
        #[arg(long, env = "SENTINEL_TOKEN_USER")]
        user: Option<String>,
        #[command(flatten)]
        data: DataArg,
    },
    /// Revoke a token by id, or an Open311 application's key by its name.
    Revoke {
        /// Token id from `token list`.
        #[arg(required_unless_present = "open311", conflicts_with = "open311")]
        id: Option<i64>,
        /// The Open311 application whose key to revoke.
        #[arg(long, value_name = "NAME")]
        open311: Option<String>,
        #[command(flatten)]
        data: DataArg,
    },
}

fn init_logging(filter: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The SQLite file in the data folder.
fn open_store(data: &Path) -> Result<SqlStore> {
    SqlStore::open(data).with_context(|| format!("opening the database in {}", data.display()))
}

/// The database the arguments name: PostgreSQL with `--database`, else SQLite.
fn open_database(data: &DataArg) -> Result<SqlStore> {
    match data.database.as_deref().map(str::trim) {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(SqlStore::connect_postgres(url)?)
        }
        Some(other) if !other.is_empty() => {
            let scheme = other.split("://").next().unwrap_or(other);
            bail!(
                "--database takes a postgres:// URL (got a {scheme:?} one); leave it out for SQLite in the data folder"
            )
        }
        _ => open_store(&data.data),
    }
}

fn read_password() -> Result<Secret> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let p = line.trim_end_matches(['\r', '\n']);
    if p.is_empty() {
        bail!("no password on stdin (pipe it in: echo \"$PASSWORD\" | sentinel user add ...)");
    }
    Ok(Secret::new(p))
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn base_map(args: &ServeArgs) -> Result<sentinel_server::BaseMap> {
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (style_url, tiles) = (clean(&args.base_map_style), clean(&args.base_map_tiles));
    if style_url.is_some() && tiles.is_some() {
        bail!("give --base-map-style or --base-map-tiles, not both");
    }
    if let Some(t) = &tiles
        && !(t.contains("{z}") && t.contains("{x}") && t.contains("{y}"))
    {
        bail!("--base-map-tiles {t:?} needs {{z}}, {{x}} and {{y}} in it");
    }
    for u in style_url.iter().chain(tiles.iter()) {
        if !(u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/')) {
            bail!("the base map {u:?} must be an http(s) URL or a path on this server");
        }
    }
    Ok(sentinel_server::BaseMap {
        style_url,
        tiles,
        attribution: clean(&args.base_map_attribution),
    })
}

/// Serves until a signal; `demo` adds the demo banner once the port is known.
/// `TEMPLATE` or `LAYER=TEMPLATE`, the template an http(s) URL.
fn parse_camera_player(s: &str) -> Result<(Option<String>, String), String> {
    let s = s.trim();
    let (layer, template) = match s.split_once('=') {
        Some((l, t)) if !l.contains("://") && !l.contains('?') => {
            (Some(l.trim().to_owned()), t.trim())
        }
        _ => (None, s),
    };
    if !(template.starts_with("https://") || template.starts_with("http://")) {
        return Err(format!(
            "{template:?} is not a web address: a camera player is an http(s) URL template such as https://video.example.gov.cn/play?id={{id}}"
        ));
    }
    if template.matches('{').count() != template.matches('}').count() {
        return Err(format!("{template:?} has an unclosed {{property}} place"));
    }
    Ok((layer.filter(|l| !l.is_empty()), template.to_owned()))
}

/// An address (`10.0.0.5`) or a range (`10.0.0.0/8`).
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is not an address or a CIDR range such as 10.0.0.0/8"))
}

async fn serve(args: ServeArgs, store: Arc<SqlStore>, demo: bool) -> Result<()> {
    let photos: Arc<dyn sentinel_store::Blobs> = match args.blobs.as_deref().map(str::trim) {
        Some(url) if !url.is_empty() => {
            let b = sentinel_store::ObjectBlobs::from_env(url)?;
            b.check()
                .await
                .with_context(|| format!("the photo store {url} does not answer"))?;
            tracing::info!(blobs = %url, "photos in object storage");
            Arc::new(b)
        }
        _ => {
            if args.data.database.is_some() {
                tracing::warn!(
                    folder = %args.data.data.join("photos").display(),
                    "photos are kept in this node's data folder: with several nodes, give \
                     every node --blobs s3://... so each can serve every photo"
                );
            }
            Arc::new(
                PhotoFolder::open(args.data.data.join("photos"))
                    .context("opening the photo folder")?,
            )
        }
    };
    let base_map = base_map(&args)?;
    let config = Config {
        intake_per_minute: args.intake_per_minute,
        intake_burst: args.intake_burst,
        secure_cookies: args.secure_cookies,
        public_url: args.public_url.trim_end_matches('/').to_owned(),
        lifecycle: LifecyclePolicy {
            reopen_window: time::Duration::days(i64::from(args.reopen_days)),
        },
        session_ttl: Duration::from_secs(u64::from(args.session_hours) * 3600),
        open311_jurisdiction: args
            .open311_jurisdiction_id
            .map(|j| j.trim().to_owned())
            .filter(|j| !j.is_empty()),
        open311_per_minute: args.open311_per_minute,
        media_fetch_hosts: args
            .open311_fetch_media_from
            .iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect(),
        media_fetch_allow_private: args.open311_fetch_media_allow_private,
        trusted_proxies: args.trusted_proxies.clone(),
        limits: sentinel_server::serve::Limits {
            max_connections: args.max_connections.max(1),
            max_connections_per_address: args.max_connections_per_address,
            header_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
            body_timeout: Duration::from_secs(args.body_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(args.idle_timeout_secs.max(1)),
        },
        open311_trusted_clients: args
            .open311_trusted_clients
            .iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect(),
        base_map,
        camera_players: args.camera_player_url.clone(),
        utc_offset: args.offset.offset()?,
        redaction: args.redact.config(args.data.database.is_none())?,
        ..Config::default()
    };
    let mut state = AppState::new(store, photos, config);
    match args
        .code_webhook
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(url) => {
            state.code_sender = Arc::new(sentinel_server::api::sentinels::WebhookSender::new(url));
        }
        None => tracing::warn!(
            "sentinel sign-up codes go to this log (development sender); pass --code-webhook for the city's SMS or mail gateway"
        ),
    }
    state
        .reload_catalog()
        .await
        .map_err(|e| anyhow::anyhow!("loading the configuration: {e}"))?;
    state
        .reload_calendar()
        .await
        .map_err(|e| anyhow::anyhow!("loading the calendars: {e}"))?;
    let n = state
        .reload_jurisdictions()
        .await
        .map_err(|e| anyhow::anyhow!("loading jurisdictions: {e}"))?;
    tracing::info!(jurisdictions = n, "service area loaded");
    #[cfg(unix)]
    {
        let state = state.clone();
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                if let Err(e) = state.reload_calendar().await {
                    tracing::error!(error = %e, "reloading the calendars failed; keeping the old ones");
                }
                if let Err(e) = state.reload_catalog().await {
                    tracing::error!(error = %e, "reloading the configuration failed; keeping the old one");
                }
                match state.reload_jurisdictions().await {
                    Ok(n) => tracing::info!(jurisdictions = n, "reloaded the service area"),
                    Err(e) => {
                        tracing::error!(error = %e, "reloading jurisdictions failed; keeping the old ones")
                    }
                }
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    {
        let state = state.clone();
        let every = Duration::from_secs(args.deadline_sweep_secs.max(1));
        // Several nodes may share one database: the periodic jobs run on the
        // node holding their lease (three periods long, renewed every period), so
        // one node sweeps at a time and another takes over when it stops.
        let node = format!(
            "{}-{}",
            std::process::id(),
            OffsetDateTime::now_utc().unix_timestamp_nanos()
        );
        let lease = time::Duration::try_from(every * 3).unwrap_or(time::Duration::minutes(3));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match state
                    .store
                    .take_lease("periodic", &node, OffsetDateTime::now_utc(), lease)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot take the periodic jobs' lease");
                        continue;
                    }
                }
                // The change feed serves reconnecting streams: a day is plenty.
                if let Err(e) = state
                    .store
                    .prune_feed(OffsetDateTime::now_utc() - time::Duration::days(1))
                    .await
                {
                    tracing::warn!(error = %e, "pruning the change feed failed");
                }
                match sentinel_server::deadlines::sweep(&state, OffsetDateTime::now_utc()).await {
                    Ok(s) if s.reminded + s.escalated > 0 => {
                        tracing::info!(
                            reminded = s.reminded,
                            escalated = s.escalated,
                            "deadline sweep"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "deadline sweep failed; retrying next time")
                    }
                }
            }
        });
    }
    // Scripts and tests read this line to find the port.
    println!("sentinel listening on http://{addr}");
    if demo {
        println!("open http://{addr} (API at /api/v1, description at /api/v1/openapi.json)");
    }
    tracing::info!(%addr, data = %args.data.data.display(), "serving");
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
    };
    sentinel_server::serve(listener, state, shutdown).await?;
    Ok(())
}

fn parse_role(role: &str) -> Result<Role> {
    role.parse::<Role>().map_err(|_| {
        anyhow::anyhow!("unknown role {role:?}; use admin, dispatcher, officer, unit or analyst")
    })
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let store = Arc::new(open_database(&args.data)?);
            serve(args, store, false).await
        }
        Command::Demo(args) => {
            let store = Arc::new(open_database(&args.serve.data)?);
            demo::prepare(store.clone(), args.seed, args.scale).await?;
            tokio::spawn(demo::simulate_trackers(store.clone(), args.seed));
            serve(args.serve, store, true).await
        }
        Command::Migrate(d) => {
            open_database(&d)?;
            match &d.database {
                Some(_) => println!("the PostgreSQL database is up to date"),
                None => println!("database in {} is up to date", d.data.display()),
            }
            Ok(())
        }
        Command::User(cmd) => user_command(cmd).await,
        Command::Import(cmd) => import_command(cmd).await,
        Command::Token(cmd) => token_command(cmd).await,
        Command::Stats(args) => stats::stats(args).await,
        Command::Export(args) => stats::export(args).await,
        Command::MigratePhotos(args) => migrate::migrate_photos(args).await,
        Command::MigrateData(args) => migrate::migrate_data(args).await,
        Command::Redact(args) => redact::redact(args).await,
    }
}

async fn user_command(cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add {
            name,
            role,
            department,
            data,
        } => {
            let role = parse_role(&role)?;
            let password = read_password()?;
            let store = open_database(&data)?;
            let user = create_staff_user(
                &store,
                &Catalog::builtin(),
                &name,
                &password,
                role,
                department.as_deref(),
                sentinel_server::auth::PasswordPolicy::Strong,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("added {} ({})", user.name, user.role);
        }
        UserCommand::List(data) => {
            let store = open_database(&data)?;
            println!(
                "{:<24} {:<11} {:<18} {:<9} created",
                "name", "role", "department", "state"
            );
            for u in store.users().await? {
                let state = if u.disabled { "disabled" } else { "active" };
                println!(
                    "{:<24} {:<11} {:<18} {:<9} {}",
                    u.name,
                    u.role,
                    u.department.unwrap_or_default(),
                    state,
                    fmt_time(u.created_at)
                );
            }
        }
        UserCommand::Disable { name, data } => {
            open_database(&data)?
                .disable_user(&name)
                .await
                .with_context(|| format!("disabling {name}"))?;
            println!("disabled {name}");
        }
        UserCommand::SetPassword { name, data } => {
            let password = read_password()?;
            check_password_strength(&password, &[&name]).map_err(|e| anyhow::anyhow!(e))?;
            let hash = hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
            open_database(&data)?
                .set_password(&name, &hash)
                .await
                .with_context(|| format!("setting the password of {name}"))?;
            println!("password changed for {name}; their sessions were ended");
        }
        UserCommand::Unlock { name, data } => {
            let store = open_database(&data)?;
            let mut any = false;
            let sentinel = if name.contains('@') {
                name.trim().to_lowercase()
            } else {
                sentinel_core::sentinels::normalise_phone(&name).unwrap_or_else(|_| name.clone())
            };
            for account in [format!("staff:{name}"), format!("sentinel:{sentinel}")] {
                any |= store
                    .clear_sign_in_failures(&account)
                    .await
                    .with_context(|| format!("unlocking {name}"))?;
            }
            if any {
                println!("unlocked {name}: failed sign-ins forgotten");
            } else {
                println!("{name} had no failed sign-ins to forget");
            }
        }
    }
    Ok(())
}

async fn token_command(cmd: TokenCommand) -> Result<()> {
    match cmd {
        TokenCommand::Create {
            user,
            open311,
            label,
            expires_days,
            data,
        } => {
            let store = open_database(&data)?;
            if let Some(app) = open311 {
                let app = app.trim();
                if app.is_empty() {
                    bail!("--open311 needs the client application's name");
                }
                let key = new_token();
                let client = store
                    .create_open311_client(
                        app,
                        &secret_hash(key.expose()),
                        OffsetDateTime::now_utc(),
                    )
                    .await
                    .with_context(|| format!("creating an Open311 key for {app}"))?;
                eprintln!(
                    "Open311 API key for {} (send it as api_key); it is shown once:",
                    client.name
                );
                println!("{}", key.expose());
                return Ok(());
            }
            let user = user.unwrap_or_default();
            let owner = store
                .user(&user)
                .await?
                .with_context(|| format!("no user {user:?}"))?;
            if owner.disabled {
                bail!("user {user} is disabled");
            }
            let token = new_token();
            let now = OffsetDateTime::now_utc();
            let expires = expires_days.map(|d| now + time::Duration::days(i64::from(d)));
            let info = store
                .create_token(&user, &label, &secret_hash(token.expose()), now, expires)
                .await?;
            eprintln!(
                "token {} for {} ({}); it is shown once:",
                info.id, info.user, owner.role
            );
            println!("{}", token.expose());
        }
        TokenCommand::List { user, data } => {
            let store = open_database(&data)?;
            println!(
                "{:<5} {:<20} {:<16} {:<26} state",
                "id", "user", "label", "created"
            );
            for t in store.tokens(user.as_deref()).await? {
                let state = match (t.revoked_at, t.expires_at) {
                    (Some(at), _) => format!("revoked {}", fmt_time(at)),
                    (None, Some(exp)) if exp <= OffsetDateTime::now_utc() => {
                        format!("expired {}", fmt_time(exp))
                    }
                    (None, Some(exp)) => format!("expires {}", fmt_time(exp)),
                    (None, None) => "active".into(),
                };
                println!(
                    "{:<5} {:<20} {:<16} {:<26} {state}",
                    t.id,
                    t.user,
                    t.label,
                    fmt_time(t.created_at)
                );
            }
            if user.is_none() {
                let clients = store.open311_clients().await?;
                if !clients.is_empty() {
                    println!("\nOpen311 client applications (revoke with --open311 NAME):");
                    for c in clients {
                        let state = c.revoked_at.map_or_else(
                            || "active".to_owned(),
                            |at| format!("revoked {}", fmt_time(at)),
                        );
                        println!("  {:<36} {:<26} {state}", c.name, fmt_time(c.created_at));
                    }
                }
            }
        }
        TokenCommand::Revoke { id, open311, data } => {
            let store = open_database(&data)?;
            if let Some(app) = open311 {
                store
                    .revoke_open311_client(&app, OffsetDateTime::now_utc())
                    .await
                    .with_context(|| format!("revoking the Open311 key of {app:?}"))?;
                println!("revoked the Open311 key of {app}");
                return Ok(());
            }
            let id = id.unwrap_or_default();
            store
                .revoke_token(id, OffsetDateTime::now_utc())
                .await
                .with_context(|| format!("revoking token {id}"))?;
            println!("revoked token {id}");
        }
    }
    Ok(())
}

async fn import_command(cmd: ImportCommand) -> Result<()> {
    match cmd {
        ImportCommand::Layer {
            name,
            file,
            kind,
            crs,
            lat_field,
            lon_field,
            fields,
            data,
        } => {
            let rename = fields
                .iter()
                .map(|f| match f.split_once('=') {
                    Some((to, from)) if !to.trim().is_empty() && !from.trim().is_empty() => {
                        Ok((to.trim().to_owned(), from.trim().to_owned()))
                    }
                    _ => bail!("--field {f:?}: write PROPERTY=COLUMN, e.g. radius_m=半径"),
                })
                .collect::<Result<Vec<_>>>()?;
            let how = sentinel_server::geography::LayerImport {
                name: name.clone(),
                kind: kind.parse().map_err(|e: String| anyhow::anyhow!(e))?,
                crs: crs.parse::<Crs>().map_err(|e| anyhow::anyhow!("{e}"))?,
                rename,
            };
            let source =
                sentinel_server::geography::LayerSource::open(&file, &lat_field, &lon_field)
                    .map_err(|e| anyhow::anyhow!("{e}; nothing was imported"))?;
            let store = open_database(&data)?;
            let started = std::time::Instant::now();
            let n = sentinel_server::geography::import_layer(&store, source, how)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", file.display()))?;
            println!(
                "imported {n} features into layer {name} in {:.1}s",
                started.elapsed().as_secs_f64()
            );
        }
        ImportCommand::Calendar { file, data } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let year = sentinel_core::calendar::WorkCalendar::default()
                .add_year(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", file.display()))?;
            open_database(&data)?
                .save_calendar_year(year, text, OffsetDateTime::now_utc())
                .await?;
            println!(
                "imported the {year} working-day calendar from {}",
                file.display()
            );
        }
        ImportCommand::Config { file, data } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let store = open_database(&data)?;
            let (version, c) =
                sentinel_server::geography::save_config(&store, &text, "command line")
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was changed", file.display()))?;
            println!(
                "configuration version {version}: {} departments, {} categories, {} routing rules",
                c.departments.len(),
                c.categories.len(),
                c.rules.len()
            );
        }
        ImportCommand::Jurisdictions {
            file,
            level,
            name_field,
            name_en_field,
            code_field,
            parent_field,
            crs,
            data,
        } => {
            let opts = ImportOptions {
                level: level.parse::<Level>().map_err(|e| anyhow::anyhow!(e))?,
                name_field,
                name_en_field,
                code_field,
                parent_field,
                crs: crs.parse::<Crs>().map_err(|e| anyhow::anyhow!("{e}"))?,
            };
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let store = open_database(&data)?;
            let n = sentinel_server::geography::import_jurisdictions(&store, &text, &opts)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", file.display()))?;
            println!(
                "imported {n} {} jurisdictions from {}",
                opts.level,
                file.display()
            );
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    init_logging(&cli.log, &cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}
