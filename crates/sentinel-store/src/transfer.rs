//! Moving a city from the embedded SQLite database to PostgreSQL: every table
//! copied row for row (ids kept, so every reference still holds), in batches
//! that each commit with a note of how far the table got, so an interrupted
//! copy resumes where it stopped and never copies a row twice. A check at the
//! end compares row counts and an order-independent checksum of every table.
//!
//! Synchronous: call it off the async threads.

use crate::sql::{Param, ValueRef};
use crate::{Result, StoreError};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Every table, parents before children.
pub const TABLES: &[&str] = &[
    "users",
    "api_tokens",
    "sessions",
    "jurisdictions",
    "config_versions",
    "calendar_years",
    "layers",
    "layer_features",
    "photos",
    "reports",
    "events",
    "idempotency_keys",
    "supporters",
    "personal_data_access",
    "sentinels",
    "sentinel_groups",
    "sentinel_codes",
    "sentinel_sessions",
    "open311_clients",
    "open311_tokens",
    "units",
    "unit_positions",
    "dispatches",
    "dispatch_steps",
    "feed",
    "patrol_points",
    "patrol_visits",
    "leases",
    "sign_in_throttle",
];

/// Most parameters in one statement (PostgreSQL allows 65,535).
const MAX_PARAMS: usize = 60_000;

/// How one table compares after a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCheck {
    /// The table.
    pub table: String,
    /// Rows in SQLite.
    pub source_rows: u64,
    /// Rows in PostgreSQL.
    pub target_rows: u64,
    /// The checksums of both sides agree.
    pub checksum_equal: bool,
}

impl TableCheck {
    /// Counts and checksums agree.
    pub fn ok(&self) -> bool {
        self.source_rows == self.target_rows && self.checksum_equal
    }
}

/// Told as the copy goes: (table, rows of it copied so far, its rows in all).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

fn pg(e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Database(format!("{}: {}", db.code().code(), db.message())),
        None => StoreError::Database(e.to_string()),
    }
}

fn source(dir: &Path) -> Result<Connection> {
    let path = dir.join("sentinel.db");
    if !path.exists() {
        return Err(StoreError::NotFound);
    }
    // Brings the file to the current schema first (it may be from an older release).
    drop(crate::sqlite::SqliteStore::open(dir)?);
    Ok(Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?)
}

fn columns(src: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = src.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names)
}

fn owned(v: rusqlite::types::ValueRef<'_>) -> Result<Owned> {
    use rusqlite::types::ValueRef as V;
    Ok(match v {
        V::Null => Owned::Null,
        V::Integer(i) => Owned::Int(i),
        V::Real(f) => Owned::Real(f),
        V::Text(t) => Owned::Text(
            String::from_utf8(t.to_vec()).map_err(|e| StoreError::Database(e.to_string()))?,
        ),
        V::Blob(_) => return Err(StoreError::Database("a blob column".into())),
    })
}

enum Owned {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Owned {
    fn param(&self) -> Param<'_> {
        match self {
            Owned::Null => Param::Null,
            Owned::Int(i) => Param::Int(*i),
            Owned::Real(f) => Param::Real(*f),
            Owned::Text(s) => Param::Text(s),
        }
    }
}

/// Copies every table of the SQLite database in `dir` into the PostgreSQL
/// database at `url` (its schema made first). Resumable: run it again after an
/// interruption and it goes on from the last committed batch. The city must not
/// be served while it moves.
pub fn copy_to_postgres(
    dir: &Path,
    url: &str,
    batch_rows: usize,
    progress: Progress<'_>,
) -> Result<u64> {
    let src = source(dir)?;
    crate::pg::prepare(url)?;
    let mut dst = Client::connect(url, NoTls).map_err(pg)?;
    dst.batch_execute(
        "CREATE TABLE IF NOT EXISTS sentinel_transfer (name TEXT PRIMARY KEY, last_rowid BIGINT NOT NULL)",
    )
    .map_err(pg)?;
    // Rows arrive in id order, but a row may refer to a later one (a report merged
    // into a newer report): foreign keys and the append-only triggers are paused
    // for this session where the role may (a superuser, or rds_superuser).
    if let Err(e) = dst.batch_execute("SET session_replication_role = replica") {
        tracing::warn!(error = %pg(e), "foreign keys stay checked during the copy (not a superuser)");
    }
    let mut copied = 0;
    for table in TABLES {
        let cols = columns(&src, table)?;
        if cols.is_empty() {
            continue;
        }
        let total: u64 = src.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })? as u64;
        let mut last: i64 = dst
            .query_opt(
                "SELECT last_rowid FROM sentinel_transfer WHERE name = $1",
                &[table],
            )
            .map_err(pg)?
            .map_or(0, |r| r.get(0));
        let mut done: u64 = src.query_row(
            &format!("SELECT count(*) FROM {table} WHERE rowid <= ?1"),
            [last],
            |r| r.get::<_, i64>(0),
        )? as u64;
        progress(table, done, total);
        let per_batch = batch_rows.clamp(1, MAX_PARAMS / cols.len());
        let list = cols.join(", ");
        let mut read = src.prepare(&format!(
            "SELECT rowid, {list} FROM {table} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"
        ))?;
        loop {
            let mut rows: Vec<(i64, Vec<Owned>)> = Vec::with_capacity(per_batch);
            let mut q = read.query(rusqlite::params![last, per_batch as i64])?;
            while let Some(r) = q.next()? {
                let mut values = Vec::with_capacity(cols.len());
                for i in 0..cols.len() {
                    values.push(owned(r.get_ref(i + 1)?)?);
                }
                rows.push((r.get(0)?, values));
            }
            drop(q);
            let Some(&(batch_last, _)) = rows.last() else {
                break;
            };
            let mut sql = format!("INSERT INTO {table} ({list}) VALUES ");
            let mut n = 0;
            for (i, _) in rows.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for c in 0..cols.len() {
                    if c > 0 {
                        sql.push(',');
                    }
                    n += 1;
                    sql.push_str(&format!("${n}"));
                }
                sql.push(')');
            }
            sql.push_str(" ON CONFLICT DO NOTHING");
            let params: Vec<Param<'_>> = rows
                .iter()
                .flat_map(|(_, v)| v.iter().map(Owned::param))
                .collect();
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                .collect();
            let mut tx = dst.transaction().map_err(pg)?;
            tx.execute(&sql, &refs).map_err(pg)?;
            tx.execute(
                "INSERT INTO sentinel_transfer (name, last_rowid) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET last_rowid = excluded.last_rowid",
                &[table, &batch_last],
            )
            .map_err(pg)?;
            tx.commit().map_err(pg)?;
            last = batch_last;
            done += rows.len() as u64;
            copied += rows.len() as u64;
            progress(table, done, total);
        }
        // New rows made on PostgreSQL continue after the copied ids.
        for id in ["id", "seq"] {
            if cols.iter().any(|c| c == id) {
                let sequence: Option<String> = dst
                    .query_one("SELECT pg_get_serial_sequence($1, $2)", &[table, &id])
                    .map_err(pg)?
                    .get(0);
                if sequence.is_some() {
                    dst.batch_execute(&format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', '{id}'), GREATEST((SELECT max({id}) FROM {table}), 1))"
                    ))
                    .map_err(pg)?;
                }
            }
        }
    }
    Ok(copied)
}

/// One row's contribution to a table's checksum: SHA-256 of its values, as a
/// number; the table's checksum is their sum, so row order does not matter.
fn row_hash(values: &[ValueRef<'_>]) -> u64 {
    let mut h = Sha256::new();
    for v in values {
        match v {
            ValueRef::Null => h.update([0u8]),
            ValueRef::Int(i) => {
                h.update([1u8]);
                h.update(i.to_le_bytes());
            }
            ValueRef::Real(f) => {
                h.update([2u8]);
                h.update(f.to_bits().to_le_bytes());
            }
            ValueRef::Text(s) => {
                h.update([3u8]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            ValueRef::Blob(b) => {
                h.update([4u8]);
                h.update((b.len() as u64).to_le_bytes());
                h.update(b);
            }
        }
    }
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_le_bytes(first)
}

/// Compares every table: row counts and checksums over every column SQLite has.
pub fn verify(dir: &Path, url: &str, progress: Progress<'_>) -> Result<Vec<TableCheck>> {
    let src = source(dir)?;
    let mut dst = Client::connect(url, NoTls).map_err(pg)?;
    let mut out = Vec::new();
    for table in TABLES {
        let cols = columns(&src, table)?;
        if cols.is_empty() {
            continue;
        }
        let list = cols.join(", ");
        let (mut source_rows, mut source_sum) = (0u64, 0u64);
        let mut stmt = src.prepare(&format!("SELECT {list} FROM {table}"))?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let mut values = Vec::with_capacity(cols.len());
            for i in 0..cols.len() {
                values.push(owned(r.get_ref(i)?)?);
            }
            let refs: Vec<ValueRef<'_>> = values
                .iter()
                .map(|v| match v {
                    Owned::Null => ValueRef::Null,
                    Owned::Int(i) => ValueRef::Int(*i),
                    Owned::Real(f) => ValueRef::Real(*f),
                    Owned::Text(s) => ValueRef::Text(s),
                })
                .collect();
            source_rows += 1;
            source_sum = source_sum.wrapping_add(row_hash(&refs));
        }
        let (mut target_rows, mut target_sum) = (0u64, 0u64);
        let stmt = dst
            .prepare(&format!("SELECT {list} FROM {table}"))
            .map_err(pg)?;
        let mut rows = dst
            .query_raw(&stmt, std::iter::empty::<&str>())
            .map_err(pg)?;
        while let Some(r) = rows.next().map_err(pg)? {
            let mut values = Vec::with_capacity(cols.len());
            for i in 0..cols.len() {
                values.push(r.try_get::<_, crate::pg::AnyValue<'_>>(i).map_err(pg)?.0);
            }
            target_rows += 1;
            target_sum = target_sum.wrapping_add(row_hash(&values));
        }
        progress(table, target_rows, source_rows);
        out.push(TableCheck {
            table: (*table).to_owned(),
            source_rows,
            target_rows,
            checksum_equal: source_sum == target_sum,
        });
    }
    Ok(out)
}
