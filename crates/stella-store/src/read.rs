//! The read path. On SQLite, reads run inline on the calling thread through a per-thread
//! read-only rusqlite connection: a WAL point read takes microseconds, while sqlx-sqlite would
//! send every query to a connection worker thread and back (two context switches, which on a
//! two-core machine cost more than the query). Writes, transactions and migrations stay on
//! sqlx. On PostgreSQL every read goes through sqlx. Both paths return the same [`Row`], so
//! row decoding is written once.

use crate::sql::{Bind, Sql};
use crate::{Result, StoreError};
use sqlx::any::AnyTypeInfoKind;
use sqlx::{Column, Row as _};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// One result row: column names and values, decoded by name.
#[derive(Debug, Clone)]
pub struct Row {
    names: std::sync::Arc<[String]>,
    vals: Vec<Val>,
}

fn missing(col: &str) -> StoreError {
    StoreError::Database(sqlx::Error::ColumnNotFound(col.to_owned()))
}

fn mismatch(col: &str, want: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(
        format!("column {col} is not {want}").into(),
    ))
}

impl Row {
    fn val(&self, col: &str) -> Result<&Val> {
        self.names
            .iter()
            .position(|n| n == col)
            .map(|i| &self.vals[i])
            .ok_or_else(|| missing(col))
    }

    pub fn opt_text(&self, col: &str) -> Result<Option<String>> {
        match self.val(col)? {
            Val::Null => Ok(None),
            Val::Text(s) => Ok(Some(s.clone())),
            _ => Err(mismatch(col, "text")),
        }
    }

    pub fn text(&self, col: &str) -> Result<String> {
        self.opt_text(col)?
            .ok_or_else(|| mismatch(col, "non-null text"))
    }

    pub fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        match self.val(col)? {
            Val::Null => Ok(None),
            Val::Int(i) => Ok(Some(*i)),
            _ => Err(mismatch(col, "an integer")),
        }
    }

    pub fn int(&self, col: &str) -> Result<i64> {
        self.opt_int(col)?
            .ok_or_else(|| mismatch(col, "a non-null integer"))
    }

    pub fn opt_real(&self, col: &str) -> Result<Option<f64>> {
        match self.val(col)? {
            Val::Null => Ok(None),
            Val::Real(f) => Ok(Some(*f)),
            Val::Int(i) => Ok(Some(*i as f64)),
            _ => Err(mismatch(col, "a number")),
        }
    }

    pub fn bool(&self, col: &str) -> Result<bool> {
        Ok(self.int(col)? != 0)
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Reader {
    /// The SQLite database file.
    Sqlite(PathBuf),
    Postgres,
}

thread_local! {
    /// One read-only connection per thread and database file.
    static SQLITE_READERS: RefCell<HashMap<PathBuf, rusqlite::Connection>> = RefCell::new(HashMap::new());
}

fn sqlite_err(e: rusqlite::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(format!("sqlite read: {e}")))
}

/// The most of a database file a reader maps (address space, not memory).
const MMAP_BYTES: i64 = 1 << 30;

fn open_reader(path: &Path) -> std::result::Result<rusqlite::Connection, rusqlite::Error> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Reads map the file rather than copy it page by page into each connection's own 2 MiB
    // cache: a list walking a large index (a deep page of 50,000 rules sorted by msg) spent
    // more time in read(2) than in SQLite. Pages still in the WAL are read as before.
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

fn sqlite_fetch(path: &Path, q: &Sql, limit: Option<usize>) -> Result<Vec<Row>> {
    SQLITE_READERS.with(|cell| {
        let mut readers = cell.borrow_mut();
        if !readers.contains_key(path) {
            readers.insert(path.to_owned(), open_reader(path).map_err(sqlite_err)?);
        }
        let conn = readers.get(path).ok_or_else(|| missing("connection"))?;
        let mut stmt = conn.prepare_cached(&q.text).map_err(sqlite_err)?;
        let names: std::sync::Arc<[String]> = stmt
            .column_names()
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        for (i, b) in q.binds.iter().enumerate() {
            let r = match b {
                Bind::Text(v) => stmt.raw_bind_parameter(i + 1, v),
                Bind::Int(v) => stmt.raw_bind_parameter(i + 1, v),
                Bind::Float(v) => stmt.raw_bind_parameter(i + 1, v),
            };
            r.map_err(sqlite_err)?;
        }
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(sqlite_err)? {
            let mut vals = Vec::with_capacity(names.len());
            for i in 0..names.len() {
                use rusqlite::types::ValueRef;
                vals.push(match r.get_ref(i).map_err(sqlite_err)? {
                    ValueRef::Null => Val::Null,
                    ValueRef::Integer(n) => Val::Int(n),
                    ValueRef::Real(f) => Val::Real(f),
                    ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Val::Text(String::from_utf8_lossy(b).into_owned()),
                });
            }
            out.push(Row {
                names: names.clone(),
                vals,
            });
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(out)
    })
}

async fn any_fetch<'e, E>(on: E, q: &Sql) -> Result<Vec<Row>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = q.query().fetch_all(on).await?;
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let names: std::sync::Arc<[String]> = first
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut vals = Vec::with_capacity(names.len());
        for (i, c) in r.columns().iter().enumerate() {
            let v = match c.type_info().kind() {
                AnyTypeInfoKind::Null => Val::Null,
                AnyTypeInfoKind::Bool => r
                    .try_get::<Option<bool>, _>(i)?
                    .map(|b| Val::Int(i64::from(b)))
                    .unwrap_or(Val::Null),
                AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => r
                    .try_get::<Option<i64>, _>(i)?
                    .map(Val::Int)
                    .unwrap_or(Val::Null),
                AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => r
                    .try_get::<Option<f64>, _>(i)?
                    .map(Val::Real)
                    .unwrap_or(Val::Null),
                AnyTypeInfoKind::Text | AnyTypeInfoKind::Blob => r
                    .try_get::<Option<String>, _>(i)?
                    .map(Val::Text)
                    .unwrap_or(Val::Null),
            };
            vals.push(v);
        }
        out.push(Row {
            names: names.clone(),
            vals,
        });
    }
    Ok(out)
}

impl crate::Database {
    /// Rows of `q` read through `reader`, at most `limit` of them.
    pub(crate) async fn fetch_in(
        &self,
        reader: &Reader,
        q: &Sql,
        limit: Option<usize>,
    ) -> Result<Vec<Row>> {
        match reader {
            Reader::Sqlite(path) => sqlite_fetch(path, q, limit),
            Reader::Postgres => {
                let mut rows = any_fetch(&self.pool, q).await?;
                if let Some(l) = limit {
                    rows.truncate(l);
                }
                Ok(rows)
            }
        }
    }

    pub(crate) async fn fetch_all(&self, q: &Sql) -> Result<Vec<Row>> {
        if self.in_unit() {
            return self.fetch_in_unit(q).await;
        }
        self.fetch_in(&self.reader, q, None).await
    }

    pub(crate) async fn fetch_optional(&self, q: &Sql) -> Result<Option<Row>> {
        if self.in_unit() {
            return Ok(self.fetch_in_unit(q).await?.into_iter().next());
        }
        Ok(self
            .fetch_in(&self.reader, q, Some(1))
            .await?
            .into_iter()
            .next())
    }

    /// Rows of `q` read through the open unit of work's transaction, which sees what it wrote
    /// (SQLite's read-only connections would not until it commits).
    async fn fetch_in_unit(&self, q: &Sql) -> Result<Vec<Row>> {
        let mut unit = self.conn().await?;
        any_fetch(unit.conn()?, q).await
    }

    pub(crate) async fn fetch_one(&self, q: &Sql) -> Result<Row> {
        self.fetch_optional(q)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }
}
