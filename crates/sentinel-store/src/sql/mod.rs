//! What both SQL backends share: every statement and every rule of the store is
//! written once against [`Conn`], a connection that runs one dialect's SQL with
//! loosely typed parameters and rows (SQLite's model), so SQLite and PostgreSQL
//! cannot drift apart in behaviour. The few places the dialects differ ask
//! [`Conn::dialect`].

pub(crate) mod analysis;
pub(crate) mod patrol;
pub(crate) mod queries;
pub(crate) mod redaction;
mod store;
pub(crate) mod units;
pub(crate) mod writer;

use crate::{Result, StoreError};

pub use store::{Engine, SqlStore};
pub use writer::WriterStats;

/// Which SQL a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.51 (bundled).
    Sqlite,
    /// PostgreSQL 15 or newer with PostGIS.
    Postgres,
}

/// A statement parameter, borrowed from the caller.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    /// NULL.
    Null,
    /// An integer (also booleans and times in milliseconds).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(&'a str),
    /// A boolean (stored as 0/1 where the column is an integer).
    Bool(bool),
}

/// Turns a Rust value into a [`Param`]; see `args!`.
pub trait ToParam {
    /// The parameter.
    fn param(&self) -> Param<'_>;
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl ToParam for $t {
            fn param(&self) -> Param<'_> {
                Param::Int(*self as i64)
            }
        }
    )*};
}
int_param!(i64, i32, u32, u16, u8, usize);

impl ToParam for f64 {
    fn param(&self) -> Param<'_> {
        Param::Real(*self)
    }
}
impl ToParam for bool {
    fn param(&self) -> Param<'_> {
        Param::Bool(*self)
    }
}
impl ToParam for str {
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}
impl ToParam for String {
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}
impl<T: ToParam + ?Sized> ToParam for &T {
    fn param(&self) -> Param<'_> {
        (**self).param()
    }
}
impl<T: ToParam> ToParam for Option<T> {
    fn param(&self) -> Param<'_> {
        match self {
            Some(v) => v.param(),
            None => Param::Null,
        }
    }
}
impl ToParam for Param<'_> {
    fn param(&self) -> Param<'_> {
        *self
    }
}

/// `args![a, b, c]`: a slice of parameters borrowed from the expressions.
macro_rules! args {
    () => { &[] as &[$crate::sql::Param<'_>] };
    ($($x:expr),+ $(,)?) => { &[$($crate::sql::ToParam::param(&$x)),+] as &[$crate::sql::Param<'_>] };
}
pub(crate) use args;

/// A column value as the row holds it.
#[derive(Debug, Clone, Copy)]
pub enum ValueRef<'a> {
    /// NULL.
    Null,
    /// An integer or a boolean.
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

/// Reads a Rust value from a column value.
pub trait FromValue: Sized {
    /// `None` when the value does not fit.
    fn from_value(v: ValueRef<'_>) -> Option<Self>;
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: ValueRef<'_>) -> Option<Self> {
                match v {
                    ValueRef::Int(i) => <$t>::try_from(i).ok(),
                    _ => None,
                }
            }
        }
    )*};
}
int_value!(i64, i32, u32, u16, u8);

impl FromValue for f64 {
    fn from_value(v: ValueRef<'_>) -> Option<Self> {
        match v {
            ValueRef::Real(f) => Some(f),
            ValueRef::Int(i) => Some(i as f64),
            _ => None,
        }
    }
}
impl FromValue for bool {
    fn from_value(v: ValueRef<'_>) -> Option<Self> {
        match v {
            ValueRef::Int(i) => Some(i != 0),
            _ => None,
        }
    }
}
impl FromValue for String {
    fn from_value(v: ValueRef<'_>) -> Option<Self> {
        match v {
            ValueRef::Text(s) => Some(s.to_owned()),
            _ => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: ValueRef<'_>) -> Option<Self> {
        match v {
            ValueRef::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// One result row of either backend.
pub enum Row<'a> {
    /// A SQLite row.
    Lite(&'a rusqlite::Row<'a>),
    /// A PostgreSQL row.
    Pg(&'a ::postgres::Row),
}

impl Row<'_> {
    /// Column `i` as a `T`; a mismatch is a database error naming the column.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T> {
        let v = match self {
            Row::Lite(r) => match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => ValueRef::Null,
                rusqlite::types::ValueRef::Integer(v) => ValueRef::Int(v),
                rusqlite::types::ValueRef::Real(v) => ValueRef::Real(v),
                rusqlite::types::ValueRef::Text(t) => ValueRef::Text(
                    std::str::from_utf8(t)
                        .map_err(|e| StoreError::Database(format!("column {i}: {e}")))?,
                ),
                rusqlite::types::ValueRef::Blob(b) => ValueRef::Blob(b),
            },
            Row::Pg(r) => {
                r.try_get::<_, crate::pg::AnyValue<'_>>(i)
                    .map_err(|e| StoreError::Database(format!("column {i}: {e}")))?
                    .0
            }
        };
        T::from_value(v).ok_or_else(|| {
            StoreError::Database(format!(
                "column {i}: cannot read {v:?} as {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// Why a statement failed: a broken constraint is told apart, since callers
/// turn it into "already exists".
#[derive(Debug)]
pub enum SqlError {
    /// A UNIQUE, CHECK, NOT NULL or foreign-key constraint refused the change;
    /// the message names the constraint or column.
    Constraint(String),
    /// Anything else.
    Other(StoreError),
}

impl From<SqlError> for StoreError {
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::Constraint(m) => StoreError::Database(m),
            SqlError::Other(e) => e,
        }
    }
}

impl From<StoreError> for SqlError {
    fn from(e: StoreError) -> Self {
        SqlError::Other(e)
    }
}

/// A connection that runs SQL. Statements use `?N` (or bare `?`) placeholders;
/// PostgreSQL's connection rewrites them to `$N`.
pub trait Conn {
    /// Which SQL this connection speaks.
    fn dialect(&self) -> Dialect;
    /// Runs a statement; the number of rows changed.
    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, SqlError>;
    /// Runs a query and hands each row to `f`, stopping at its first error.
    fn each(
        &self,
        sql: &str,
        params: &[Param<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()>;
    /// Runs statements without parameters (transaction control, schema).
    fn batch(&self, sql: &str) -> Result<()>;
}

impl dyn Conn + '_ {
    /// Every row, mapped.
    pub fn all<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, params, &mut |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, mapped, if there is one.
    pub fn opt<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let mut out = None;
        self.each(sql, params, &mut |r| {
            if let Some(f) = f.take() {
                out = Some(f(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, mapped; no row is an error (for aggregates and RETURNING).
    pub fn one<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.opt(sql, params, f)?
            .ok_or_else(|| StoreError::Database(format!("no row from: {sql}")))
    }

    /// Runs an `INSERT ... RETURNING id` and answers the id, telling a broken
    /// constraint apart.
    pub fn insert(&self, sql: &str, params: &[Param<'_>]) -> Result<i64, SqlError> {
        let mut id = None;
        let result = self.each(sql, params, &mut |r| {
            id = Some(r.get::<i64>(0)?);
            Ok(())
        });
        match result {
            Ok(()) => id
                .ok_or_else(|| SqlError::Other(StoreError::Database(format!("no id from: {sql}")))),
            Err(StoreError::Database(m)) if m.starts_with(CONSTRAINT) => Err(SqlError::Constraint(
                m.trim_start_matches(CONSTRAINT).to_owned(),
            )),
            Err(e) => Err(SqlError::Other(e)),
        }
    }

    /// A JSON field of a text column holding JSON, as text (NULL when absent).
    pub fn json_text(&self, column: &str, path: &[&str]) -> String {
        match self.dialect() {
            Dialect::Sqlite => format!("json_extract({column}, '$.{}')", path.join(".")),
            Dialect::Postgres => format!("({column}::jsonb #>> '{{{}}}')", path.join(",")),
        }
    }

    /// A JSON field holding a number or a boolean, as a number (a boolean as 0/1).
    pub fn json_number(&self, column: &str, path: &[&str]) -> String {
        match self.dialect() {
            Dialect::Sqlite => self.json_text(column, path),
            Dialect::Postgres => {
                let v = format!("({column}::jsonb #> '{{{}}}')", path.join(","));
                format!(
                    "(CASE jsonb_typeof({v}) WHEN 'number' THEN ({v}::text)::double precision \
                     WHEN 'boolean' THEN CASE WHEN {v}::text = 'true' THEN 1 ELSE 0 END END)"
                )
            }
        }
    }
}

thread_local! {
    /// Set on a writer thread while it runs a batch.
    static IN_WRITE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as running write jobs (or not).
pub(crate) fn set_writing(on: bool) {
    IN_WRITE.with(|w| w.set(on));
}

/// The locking clause for a row read in order to change it. SQLite has one
/// writer, so nothing can change between the read and the write; PostgreSQL has
/// several writers on several nodes, so the row is locked until COMMIT (a second
/// writer waits, then reads the first one's result). Reads outside writes lock
/// nothing.
pub(crate) fn for_update(conn: &dyn Conn, of: &str) -> String {
    if conn.dialect() == Dialect::Postgres && IN_WRITE.with(std::cell::Cell::get) {
        if of.is_empty() {
            " FOR UPDATE".into()
        } else {
            format!(" FOR UPDATE OF {of}")
        }
    } else {
        String::new()
    }
}

/// How a backend marks a constraint failure inside a [`StoreError::Database`]
/// message from a query (where rows, not a count, come back).
pub(crate) const CONSTRAINT: &str = "constraint: ";

/// Rewrites `?N` and bare `?` placeholders to PostgreSQL's `$N`, leaving quoted
/// text alone.
pub(crate) fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut quoted = false;
    let mut next = 0;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
            out.push(c);
            continue;
        }
        if c != '?' || quoted {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        out.push('$');
        if digits.is_empty() {
            next += 1;
            out.push_str(&next.to_string());
        } else {
            out.push_str(&digits);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn placeholders_become_numbered() {
        assert_eq!(
            numbered_placeholders("SELECT a FROM t WHERE b = ?2 AND c = ?1 AND d = '?'"),
            "SELECT a FROM t WHERE b = $2 AND c = $1 AND d = '?'"
        );
        assert_eq!(numbered_placeholders("x IN (?,?,?)"), "x IN ($1,$2,$3)");
        assert_eq!(numbered_placeholders("LIMIT ?12"), "LIMIT $12");
    }
}
