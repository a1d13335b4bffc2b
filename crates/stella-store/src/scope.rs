//! One database transaction around several repository calls, without passing it to each:
//! [`Database::atomically`] opens it for the task running the work, and every repository
//! function of this crate that writes (or reads what it wrote) goes through [`Database::conn`]
//! or [`Database::unit`], which use the open transaction when there is one. So the service's
//! generic engine makes a write and all of its hooks' follow-ups (a probe's interface rows, a
//! source's rules, the action history) commit or roll back together, while the hooks keep
//! calling the same functions.

use crate::{Database, Result};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Transaction};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

type Shared = Arc<Mutex<Option<Transaction<'static, Any>>>>;

tokio::task_local! {
    static SCOPE: Shared;
}

/// The transaction the current task is working in, if any.
fn current() -> Option<Shared> {
    SCOPE.try_with(Arc::clone).ok()
}

/// A connection to run statements on: the open transaction, a transaction of its own
/// ([`Database::unit`]) or a pooled connection in autocommit mode ([`Database::conn`]).
pub(crate) enum Unit {
    Scoped(OwnedMutexGuard<Option<Transaction<'static, Any>>>),
    Own(Transaction<'static, Any>),
    Plain(PoolConnection<Any>),
}

impl Unit {
    pub(crate) fn conn(&mut self) -> Result<&mut AnyConnection> {
        match self {
            Unit::Scoped(g) => match g.as_mut() {
                Some(tx) => Ok(&mut **tx),
                None => Err(crate::StoreError::Database(sqlx::Error::Protocol(
                    "the transaction of this unit of work has ended".into(),
                ))),
            },
            Unit::Own(tx) => Ok(&mut **tx),
            Unit::Plain(c) => Ok(&mut **c),
        }
    }

    /// Commits a transaction of its own; one in scope commits with its unit of work.
    pub(crate) async fn commit(self) -> Result<()> {
        if let Unit::Own(tx) = self {
            tx.commit().await?;
        }
        Ok(())
    }
}

impl Database {
    /// Runs `work` in one transaction: everything it writes through this crate commits if it
    /// answers `Ok`, and rolls back if it answers `Err` (or is dropped part way). Inside
    /// another unit of work, it simply joins it.
    pub async fn atomically<T, E, F>(&self, work: F) -> std::result::Result<T, E>
    where
        F: Future<Output = std::result::Result<T, E>>,
        E: From<crate::StoreError>,
    {
        if current().is_some() {
            return work.await;
        }
        let mut tx = self.pool.begin().await.map_err(crate::StoreError::from)?;
        if self.backend() == crate::Backend::Sqlite {
            // Take the write lock now (waiting for it as any write does): a transaction that
            // read first could not take it later once another writer had committed
            // (SQLITE_BUSY_SNAPSHOT), and the work reads before it writes.
            sqlx::query("UPDATE resource_sequences SET last_id = last_id WHERE 1 = 0")
                .execute(&mut *tx)
                .await
                .map_err(crate::StoreError::from)?;
        }
        let cell: Shared = Arc::new(Mutex::new(Some(tx)));
        let outcome = SCOPE.scope(cell.clone(), work).await;
        let tx = cell.lock().await.take();
        let ended = match (&outcome, tx) {
            (Ok(_), Some(tx)) => tx.commit().await,
            (Err(_), Some(tx)) => tx.rollback().await,
            (_, None) => Ok(()),
        };
        // Lists read while the transaction was open may have cached totals it then changed.
        self.rows_changed();
        ended.map_err(crate::StoreError::from)?;
        outcome
    }

    /// The open unit of work's transaction, or a new one the caller commits.
    pub(crate) async fn unit(&self) -> Result<Unit> {
        Ok(match current() {
            Some(cell) => Unit::Scoped(cell.lock_owned().await),
            None => Unit::Own(self.pool.begin().await?),
        })
    }

    /// The open unit of work's transaction, or a pooled connection (autocommit).
    pub(crate) async fn conn(&self) -> Result<Unit> {
        Ok(match current() {
            Some(cell) => Unit::Scoped(cell.lock_owned().await),
            None => Unit::Plain(self.pool.acquire().await?),
        })
    }

    /// Whether the current task works in a unit of work (reads then go through it, to see
    /// what it wrote).
    pub(crate) fn in_unit(&self) -> bool {
        current().is_some()
    }
}
