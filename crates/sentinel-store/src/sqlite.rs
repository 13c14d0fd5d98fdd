//! The embedded backend: one SQLite file in WAL mode with `synchronous=FULL`, so
//! a COMMIT returns only after the WAL is fsynced. All writes go through one
//! group-commit writer thread; reads use a small pool of read-only connections
//! that WAL lets run beside the writer.

use crate::sql::writer::WriteConn;
use crate::sql::{CONSTRAINT, Conn, Dialect, Engine, Param, Row, SqlError};
use crate::{Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

pub use crate::sql::SqlStore as SqliteStore;

/// Migrations, applied in order at open; each runs once.
#[rustfmt::skip]
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_jurisdictions.sql")),
    (3, include_str!("../migrations/sqlite/0003_supporters.sql")),
    (4, include_str!("../migrations/sqlite/0004_routing_and_config.sql")),
    (5, include_str!("../migrations/sqlite/0005_deadlines.sql")),
    (6, include_str!("../migrations/sqlite/0006_calendars.sql")),
    (7, include_str!("../migrations/sqlite/0007_layers.sql")),
    (8, include_str!("../migrations/sqlite/0008_photo_hash.sql")),
    (9, include_str!("../migrations/sqlite/0009_rating.sql")),
    (10, include_str!("../migrations/sqlite/0010_sentinels.sql")),
    (11, include_str!("../migrations/sqlite/0011_open311.sql")),
    (12, include_str!("../migrations/sqlite/0012_status_changes.sql")),
    (13, include_str!("../migrations/sqlite/0013_reporter_key.sql")),
    (14, include_str!("../migrations/sqlite/0014_sentinel_sign_in.sql")),
    (15, include_str!("../migrations/sqlite/0015_units_dispatch_feed.sql")),
    (16, include_str!("../migrations/sqlite/0016_patrol.sql")),
    (17, include_str!("../migrations/sqlite/0017_leases.sql")),
    (18, include_str!("../migrations/sqlite/0018_redaction.sql")),
    (19, include_str!("../migrations/sqlite/0019_security.sql")),
    (20, include_str!("../migrations/sqlite/0020_search.sql")),
];

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

fn sql_error(e: rusqlite::Error) -> SqlError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            SqlError::Constraint(msg.clone().unwrap_or_else(|| e.to_string()))
        }
        _ => SqlError::Other(e.into()),
    }
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Null => ValueRef::Null,
            Param::Int(v) => ValueRef::Integer(v),
            Param::Real(v) => ValueRef::Real(v),
            Param::Text(s) => ValueRef::Text(s.as_bytes()),
            Param::Bool(b) => ValueRef::Integer(i64::from(b)),
        }))
    }
}

impl Conn for Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, SqlError> {
        let mut stmt = self.prepare_cached(sql).map_err(sql_error)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(sql_error)?;
        Ok(n as u64)
    }

    fn each(
        &self,
        sql: &str,
        params: &[Param<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()> {
        let constraint = |e: rusqlite::Error| match sql_error(e) {
            SqlError::Constraint(m) => StoreError::Database(format!("{CONSTRAINT}{m}")),
            SqlError::Other(e) => e,
        };
        let mut stmt = self.prepare_cached(sql)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(constraint)?;
        while let Some(r) = rows.next().map_err(constraint)? {
            f(&Row::Lite(r))?;
        }
        Ok(())
    }

    fn batch(&self, sql: &str) -> Result<()> {
        Ok(self.execute_batch(sql)?)
    }
}

struct ReadPool {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Connection>>,
}

const IDLE_READERS: usize = 8;

impl ReadPool {
    fn take(&self) -> Result<Connection> {
        if let Some(c) = self.idle.lock().map_err(|_| StoreError::Unavailable)?.pop() {
            return Ok(c);
        }
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        c.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(c)
    }

    fn give_back(&self, c: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(c);
        }
    }
}

impl Engine for ReadPool {
    fn read(&self, f: &mut dyn FnMut(&dyn Conn) -> Result<()>) -> Result<()> {
        let conn = self.take()?;
        let out = f(&conn);
        self.give_back(conn);
        out
    }

    fn integrity_check(&self, conn: &dyn Conn) -> Result<String> {
        conn.one("PRAGMA integrity_check", &[], |r| r.get::<String>(0))
    }
}

/// The one write connection.
struct Writer(Connection);

impl WriteConn for Writer {
    fn conn(&mut self) -> Result<&dyn Conn> {
        Ok(&self.0)
    }

    fn begin(&self) -> &'static str {
        "BEGIN IMMEDIATE"
    }
}

fn configure_writer(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Database(format!(
            "could not switch to WAL (got {mode})"
        )));
    }
    // FULL: the WAL is fsynced at every commit. NORMAL would lose the last commits on power loss.
    // temp_store MEMORY keeps the savepoint sub-journals (one savepoint per job in a
    // group commit) in memory: they only serve rollback inside a transaction, and on
    // disk they cost a third of the writer's time. Durability is the WAL's business.
    // wal_autocheckpoint 8000 pages (32 MB): index pages written again and again
    // between checkpoints reach the database file once (the demo build: 55 s -> 46 s).
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; \
         PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 8000;",
    )?;
    Ok(())
}

fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")?;
    for (version, sql) in MIGRATIONS {
        let done: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |r| r.get(0),
        )?;
        if done {
            continue;
        }
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            [*version, crate::sql::queries::ms(OffsetDateTime::now_utc())],
        )?;
        tx.commit()?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) `DIR/sentinel.db` and applies pending migrations.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("sentinel.db");
        let conn = Connection::open(&path)?;
        configure_writer(&conn)?;
        migrate(&conn)?;
        let readers = Arc::new(ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
        });
        Ok(SqliteStore::new(
            vec![Writer(conn)],
            readers,
            Dialect::Sqlite,
        ))
    }
}
