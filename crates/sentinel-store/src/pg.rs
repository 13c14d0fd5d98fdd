//! The server backend: PostgreSQL (15 or newer, with PostGIS) shared by any
//! number of Sentinel nodes. The statements and rules are the SQLite backend's
//! (`crate::sql`); this module supplies connections, the schema and the
//! translation of parameters and rows. Writes go through a few group-commit
//! writer connections per node; reads through a small pool. A connection that
//! breaks is dropped and opened again on next use, so a database that comes
//! back is used again without a restart (until then calls fail as unavailable).

use crate::sql::writer::WriteConn;
use crate::sql::{
    CONSTRAINT, Conn, Dialect, Engine, Param, Row, SqlError, SqlStore, ValueRef,
    numbered_placeholders,
};
use crate::{Result, StoreError};
use bytes::BytesMut;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Schema versions, applied in order at connect; each runs once, under an
/// advisory lock so that nodes starting together do not race.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_leases.sql")),
    (3, include_str!("../migrations/postgres/0003_redaction.sql")),
    (4, include_str!("../migrations/postgres/0004_security.sql")),
    (5, include_str!("../migrations/postgres/0005_search.sql")),
];

/// The advisory lock key held while migrating.
const MIGRATION_LOCK: i64 = 0x5345_4e54_4d49_4752; // "SENTMIGR"

/// Group-commit writer connections per node, unless `SENTINEL_DATABASE_WRITERS`
/// says otherwise (1 to 32): more overlap round trips, fewer make larger batches.
const WRITERS: usize = 2;

/// Idle read connections kept per node.
const IDLE_READERS: usize = 8;

/// Prepared statements kept per connection (statements with IN lists of any
/// length would otherwise grow the cache without end).
const STATEMENT_CACHE: usize = 512;

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        // Parameters are loosely typed, as in SQLite: each is written as the type
        // the statement wants where that is lossless.
        match (*self, ty) {
            (Param::Null, _) => Ok(IsNull::Yes),
            (Param::Int(v), &Type::INT8) => v.to_sql(ty, out),
            (Param::Int(v), &Type::INT4) => i32::try_from(v)?.to_sql(ty, out),
            (Param::Int(v), &Type::INT2) => i16::try_from(v)?.to_sql(ty, out),
            (Param::Int(v), &Type::FLOAT8) => (v as f64).to_sql(ty, out),
            (Param::Int(v), &Type::BOOL) => (v != 0).to_sql(ty, out),
            (Param::Int(v), &Type::TEXT | &Type::VARCHAR) => v.to_string().to_sql(ty, out),
            (Param::Real(v), &Type::FLOAT8) => v.to_sql(ty, out),
            (Param::Real(v), &Type::FLOAT4) => (v as f32).to_sql(ty, out),
            (Param::Text(s), &Type::TEXT | &Type::VARCHAR | &Type::BPCHAR | &Type::NAME) => {
                s.to_sql(ty, out)
            }
            (Param::Bool(b), &Type::BOOL) => b.to_sql(ty, out),
            (Param::Bool(b), &Type::INT8) => i64::from(b).to_sql(ty, out),
            (Param::Bool(b), &Type::INT4) => i32::from(b).to_sql(ty, out),
            (p, ty) => Err(format!("cannot send {p:?} as {ty}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column of any type this schema uses, read as a [`ValueRef`].
pub(crate) struct AnyValue<'a>(pub ValueRef<'a>);

impl<'a> FromSql<'a> for AnyValue<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let v = match *ty {
            Type::BOOL => ValueRef::Int(i64::from(bool::from_sql(ty, raw)?)),
            Type::INT2 => ValueRef::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::INT4 => ValueRef::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT8 => ValueRef::Int(i64::from_sql(ty, raw)?),
            Type::OID => ValueRef::Int(i64::from(u32::from_sql(ty, raw)?)),
            Type::FLOAT4 => ValueRef::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => ValueRef::Real(f64::from_sql(ty, raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::UNKNOWN => {
                ValueRef::Text(<&str>::from_sql(&Type::TEXT, raw)?)
            }
            Type::BYTEA => ValueRef::Blob(raw),
            ref other => return Err(format!("a column of type {other} (cast it in SQL)").into()),
        };
        Ok(AnyValue(v))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(AnyValue(ValueRef::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn pg_error(e: postgres::Error) -> SqlError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        if code.starts_with("23") {
            let what = db
                .constraint()
                .or(db.column())
                .map(str::to_owned)
                .unwrap_or_default();
            return SqlError::Constraint(format!("{what}: {}", db.message()));
        }
        // Connection-level trouble (admin shutdown, too many connections...), or
        // a deadlock between writers that PostgreSQL broke: the caller may try
        // again.
        if code.starts_with("57")
            || code.starts_with("08")
            || code.starts_with("53")
            || code == "40P01"
            || code == "40001"
        {
            tracing::warn!(code, message = db.message(), "PostgreSQL is unavailable");
            return SqlError::Other(StoreError::Unavailable);
        }
        return SqlError::Other(StoreError::Database(format!("{code}: {}", db.message())));
    }
    if e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) {
        tracing::warn!(error = %e, "lost the connection to PostgreSQL");
        return SqlError::Other(StoreError::Unavailable);
    }
    SqlError::Other(StoreError::Database(e.to_string()))
}

/// One connection with its prepared statements.
pub(crate) struct PgConn {
    /// Always `Some` until dropped.
    client: RefCell<Option<Client>>,
    statements: RefCell<HashMap<String, Statement>>,
}

impl PgConn {
    fn new(client: Client) -> PgConn {
        PgConn {
            client: RefCell::new(Some(client)),
            statements: RefCell::new(HashMap::new()),
        }
    }

    fn connect(config: &postgres::Config) -> Result<PgConn> {
        let client = config.connect(NoTls).map_err(|e| {
            tracing::warn!(error = %e, "cannot connect to PostgreSQL");
            StoreError::Unavailable
        })?;
        Ok(PgConn::new(client))
    }

    fn is_closed(&self) -> bool {
        self.client
            .try_borrow()
            .map_or(true, |c| c.as_ref().is_none_or(Client::is_closed))
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, SqlError> {
        match self.client.borrow_mut().as_mut() {
            Some(c) => f(c).map_err(pg_error),
            None => Err(SqlError::Other(StoreError::Unavailable)),
        }
    }

    fn statement(&self, sql: &str) -> Result<Statement, SqlError> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = self.with(|c| c.prepare(&numbered_placeholders(sql)))?;
        let mut cache = self.statements.borrow_mut();
        if cache.len() >= STATEMENT_CACHE {
            cache.clear();
        }
        cache.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

fn dyn_params<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Conn for PgConn {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, SqlError> {
        let stmt = self.statement(sql)?;
        self.with(|c| c.execute(&stmt, &dyn_params(params)))
    }

    fn each(
        &self,
        sql: &str,
        params: &[Param<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()> {
        let to_store = |e: SqlError| match e {
            SqlError::Constraint(m) => StoreError::Database(format!("{CONSTRAINT}{m}")),
            SqlError::Other(e) => e,
        };
        let stmt = self.statement(sql).map_err(to_store)?;
        let rows = self
            .with(|c| c.query(&stmt, &dyn_params(params)))
            .map_err(to_store)?;
        for r in &rows {
            f(&Row::Pg(r))?;
        }
        Ok(())
    }

    fn batch(&self, sql: &str) -> Result<()> {
        self.with(|c| c.batch_execute(sql))
            .map_err(StoreError::from)
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        // The synchronous client closes through its own runtime, which must not
        // start on an async thread: close it on a thread of its own there.
        if let Some(c) = self.client.get_mut().take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            std::thread::spawn(move || drop(c));
        }
    }
}

/// Read connections, opened when needed; broken ones are dropped.
struct ReadPool {
    config: Arc<postgres::Config>,
    idle: Mutex<Vec<PgConn>>,
}

impl Engine for ReadPool {
    fn read(&self, f: &mut dyn FnMut(&dyn Conn) -> Result<()>) -> Result<()> {
        let idle = self.idle.lock().map_err(|_| StoreError::Unavailable)?.pop();
        let conn = match idle {
            Some(c) if !c.is_closed() => c,
            _ => PgConn::connect(&self.config)?,
        };
        let out = f(&conn);
        if !conn.is_closed()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(conn);
        }
        out
    }

    fn integrity_check(&self, conn: &dyn Conn) -> Result<String> {
        // PostgreSQL checks its own pages (checksums, WAL); what can go wrong on
        // our side is a schema behind this binary.
        let version: i64 = conn.one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
            |r| r.get(0),
        )?;
        let want = MIGRATIONS.last().map_or(0, |m| m.0);
        Ok(if version == want {
            "ok".into()
        } else {
            format!("schema version {version}, this binary expects {want}")
        })
    }
}

/// A writer's connection, opened again after it breaks.
struct Writer {
    config: Arc<postgres::Config>,
    conn: Option<PgConn>,
}

impl WriteConn for Writer {
    fn conn(&mut self) -> Result<&dyn Conn> {
        if self.conn.as_ref().is_none_or(PgConn::is_closed) {
            self.conn = Some(PgConn::connect(&self.config)?);
        }
        match &self.conn {
            Some(c) => Ok(c),
            None => Err(StoreError::Unavailable),
        }
    }

    fn begin(&self) -> &'static str {
        "BEGIN"
    }

    fn max_batch(&self) -> usize {
        // Under PostgreSQL's 64 cached subtransactions (one savepoint per job).
        60
    }
}

/// Where a database is, without its password: for messages and logs.
pub fn describe(config: &postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}:{port}/{} as {}",
        hosts.join(","),
        config.get_dbname().unwrap_or("(default)"),
        config.get_user().unwrap_or("(default)")
    )
}

/// Listens for feed notifications on a connection of its own, reconnecting when
/// it breaks, until the store is dropped.
fn listen(config: Arc<postgres::Config>, changes: std::sync::Weak<tokio::sync::Notify>) {
    std::thread::Builder::new()
        .name("sentinel-listen".into())
        .spawn(move || {
            while changes.strong_count() > 0 {
                let mut client = match config.connect(NoTls) {
                    Ok(c) => c,
                    Err(_) => {
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                };
                if client.batch_execute("LISTEN sentinel_feed").is_err() {
                    continue;
                }
                // Whatever happened while not listening: look once.
                if let Some(n) = changes.upgrade() {
                    n.notify_one();
                }
                loop {
                    let Some(n) = changes.upgrade() else { return };
                    let next = {
                        use postgres::fallible_iterator::FallibleIterator;
                        client
                            .notifications()
                            .timeout_iter(Duration::from_secs(1))
                            .next()
                    };
                    match next {
                        Ok(Some(_)) => n.notify_one(),
                        Err(_) => break,
                        Ok(None) if client.is_closed() => break,
                        Ok(None) => {}
                    }
                }
            }
        })
        .expect("spawning the listener thread");
}

/// Brings the schema up to date. Every node of a fresh deployment may start at
/// once: the first takes a session-level advisory lock before touching anything
/// (even `schema_migrations`, whose creation races in the catalogue otherwise), the
/// others wait for it and then find nothing left to do.
fn migrate(conn: &PgConn) -> Result<()> {
    conn.execute("SELECT pg_advisory_lock(?1)", &[Param::Int(MIGRATION_LOCK)])?;
    let result = migrate_locked(conn);
    let unlocked = conn.execute(
        "SELECT pg_advisory_unlock(?1)",
        &[Param::Int(MIGRATION_LOCK)],
    );
    result?;
    unlocked?;
    Ok(())
}

fn migrate_locked(conn: &PgConn) -> Result<()> {
    conn.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )?;
    conn.batch("BEGIN")?;
    let result = (|| {
        for (version, sql) in MIGRATIONS {
            let done: bool = (conn as &dyn Conn).one(
                "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
                &[Param::Int(*version)],
                |r| r.get(0),
            )?;
            if done {
                continue;
            }
            conn.batch(sql)?;
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                &[
                    Param::Int(*version),
                    Param::Int(crate::sql::queries::ms(time::OffsetDateTime::now_utc())),
                ],
            )?;
            tracing::info!(version, "applied PostgreSQL migration");
        }
        Ok::<_, StoreError>(())
    })();
    match result {
        Ok(()) => conn.batch("COMMIT"),
        Err(e) => {
            let _ = conn.batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Connects to `url` once and brings its schema up to date.
pub fn prepare(url: &str) -> Result<()> {
    let config: postgres::Config = url.parse().map_err(|e| {
        StoreError::Database(format!(
            "not a PostgreSQL URL ({e}); expected postgres://user:password@host:port/database"
        ))
    })?;
    let where_ = describe(&config);
    let conn = config.connect(NoTls).map_err(|e| {
        StoreError::Database(format!("cannot connect to PostgreSQL at {where_}: {e}"))
    })?;
    migrate(&PgConn::new(conn))
}

impl SqlStore {
    /// Connects to PostgreSQL at `url` (`postgres://user:password@host:port/db`),
    /// applies pending migrations and starts this node's writers. Fails with a
    /// message naming the server (never the password) when it cannot be reached.
    pub fn connect_postgres(url: &str) -> Result<SqlStore> {
        let mut config: postgres::Config = url.parse().map_err(|e| {
            StoreError::Database(format!(
                "not a PostgreSQL URL ({e}); expected postgres://user:password@host:port/database"
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.keepalives_idle(Duration::from_secs(30));
        config.application_name("sentinel");
        let config = Arc::new(config);
        let where_ = describe(&config);
        // The synchronous client runs its own small runtime: keep it off any
        // async thread the caller may be on.
        let first = {
            let config = config.clone();
            std::thread::spawn(move || -> Result<()> {
                let conn = config.connect(NoTls).map_err(|e| {
                    StoreError::Database(format!("cannot connect to PostgreSQL at {where_}: {e}"))
                })?;
                migrate(&PgConn::new(conn))
            })
            .join()
            .map_err(|_| StoreError::Unavailable)?
        };
        first?;
        let count = std::env::var("SENTINEL_DATABASE_WRITERS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .map_or(WRITERS, |n| n.clamp(1, 32));
        let writers = (0..count)
            .map(|_| Writer {
                config: config.clone(),
                conn: None,
            })
            .collect();
        let changes = Arc::new(tokio::sync::Notify::new());
        listen(config.clone(), Arc::downgrade(&changes));
        let readers = Arc::new(ReadPool {
            config,
            idle: Mutex::new(Vec::new()),
        });
        Ok(SqlStore::new(writers, readers, Dialect::Postgres).with_changes(changes))
    }
}

/// A database made for one test run and dropped with this value: a copy of a
/// template with PostGIS installed (made once per cluster), so a test starts in
/// well under a second. Test suites only.
pub struct ScratchDatabase {
    admin: String,
    name: String,
    /// The URL of the new database.
    pub url: String,
}

impl ScratchDatabase {
    /// Creates a fresh database on the cluster that `admin_url` (a superuser's
    /// URL) points at.
    pub fn create(admin_url: &str) -> Result<ScratchDatabase> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!(
            "scratch_{}_{n}_{}",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000
        );
        let admin = admin_url.to_owned();
        let (a, nm) = (admin.clone(), name.clone());
        std::thread::spawn(move || -> Result<()> {
            let fail = |e: postgres::Error| StoreError::Database(e.to_string());
            let mut c = Client::connect(&a, NoTls).map_err(fail)?;
            // One template per cluster, made under a lock by whichever test comes first.
            c.batch_execute("SELECT pg_advisory_lock(4242)")
                .map_err(fail)?;
            let exists = c
                .query_opt(
                    "SELECT 1 FROM pg_database WHERE datname = 'sentinel_template'",
                    &[],
                )
                .map_err(fail)?
                .is_some();
            if !exists {
                c.batch_execute("CREATE DATABASE sentinel_template")
                    .map_err(fail)?;
                let mut t = a.parse::<postgres::Config>().map_err(fail)?;
                t.dbname("sentinel_template");
                let mut tc = t.connect(NoTls).map_err(fail)?;
                tc.batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
                    .map_err(fail)?;
            }
            let made = c
                .batch_execute(&format!("CREATE DATABASE {nm} TEMPLATE sentinel_template"))
                .map_err(fail);
            c.batch_execute("SELECT pg_advisory_unlock(4242)")
                .map_err(fail)?;
            made
        })
        .join()
        .map_err(|_| StoreError::Unavailable)??;
        let mut config: postgres::Config = admin_url
            .parse()
            .map_err(|e: postgres::Error| StoreError::Database(e.to_string()))?;
        config.dbname(&name);
        let url = format!(
            "postgres://{}@{}:{}/{name}",
            config.get_user().unwrap_or("postgres"),
            match config.get_hosts().first() {
                Some(postgres::config::Host::Tcp(h)) => h.clone(),
                _ => "127.0.0.1".into(),
            },
            config.get_ports().first().copied().unwrap_or(5432)
        );
        Ok(ScratchDatabase { admin, name, url })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = Client::connect(&admin, NoTls) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        })
        .join();
    }
}
