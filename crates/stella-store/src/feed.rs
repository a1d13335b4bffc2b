//! The vulnerability feed: uploaded archives waiting for their import job, the feed versions
//! the jobs wrote, and the one version every server scans with.
//!
//! Blobs (an upload's parts, a version's compressed record parts) are read and written through
//! sqlx directly, one part at a time, so neither an import nor a server loading the feed holds
//! more than a part of the database's copy in memory at once.

use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};

/// An import as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedImportRecord {
    pub id: String,
    /// What the operator called it (`stellopsctl` sends the paths' names).
    pub source: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub size: i64,
    pub digest: String,
    /// `merge` (ecosystems not in the upload are kept from the current feed) or `replace`.
    pub mode: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub version_id: Option<String>,
    pub records: Option<i64>,
    pub skipped: Option<i64>,
    /// JSON array of `{source, reason}`: the records that were skipped (bounded).
    pub problems: Option<String>,
    pub error: Option<String>,
}

/// A complete feed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedVersionRecord {
    pub id: String,
    pub import_id: Option<String>,
    pub source: String,
    pub created_at: i64,
    pub records: i64,
    /// JSON object: records per ecosystem.
    pub ecosystems: String,
    /// JSON object: per ecosystem, the import (source name and time) its records came from.
    pub sources: String,
}

const IMPORT_COLUMNS: &str = "id, source, created_by, created_at, size, digest, mode, state, \
    started_at, finished_at, version_id, records, skipped, problems, error";
const VERSION_COLUMNS: &str = "id, import_id, source, created_at, records, ecosystems, sources";

fn import_of(r: &Row) -> Result<FeedImportRecord> {
    Ok(FeedImportRecord {
        id: r.text("id")?,
        source: r.text("source")?,
        created_by: r.opt_text("created_by")?,
        created_at: r.int("created_at")?,
        size: r.int("size")?,
        digest: r.text("digest")?,
        mode: r.text("mode")?,
        state: r.text("state")?,
        started_at: r.opt_int("started_at")?,
        finished_at: r.opt_int("finished_at")?,
        version_id: r.opt_text("version_id")?,
        records: r.opt_int("records")?,
        skipped: r.opt_int("skipped")?,
        problems: r.opt_text("problems")?,
        error: r.opt_text("error")?,
    })
}

fn version_of(r: &Row) -> Result<FeedVersionRecord> {
    Ok(FeedVersionRecord {
        id: r.text("id")?,
        import_id: r.opt_text("import_id")?,
        source: r.text("source")?,
        created_at: r.int("created_at")?,
        records: r.int("records")?,
        ecosystems: r.text("ecosystems")?,
        sources: r.text("sources")?,
    })
}

impl Database {
    /// Records a new import (state `uploading`); its parts follow with
    /// [`Database::add_feed_upload_part`], then [`Database::queue_feed_import`].
    pub async fn create_feed_import(&self, import: &FeedImportRecord) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO feed_imports ({IMPORT_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(&import.id)
        .bind(&import.source)
        .bind(&import.created_by)
        .bind(import.created_at)
        .bind(import.size)
        .bind(&import.digest)
        .bind(&import.mode)
        .bind(&import.state)
        .bind(import.started_at)
        .bind(import.finished_at)
        .bind(&import.version_id)
        .bind(import.records)
        .bind(import.skipped)
        .bind(&import.problems)
        .bind(&import.error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One part of an upload, in order from 0. Parts are written one at a time so an upload
    /// of any size holds one part in memory.
    pub async fn add_feed_upload_part(&self, import_id: &str, seq: i64, data: &[u8]) -> Result<()> {
        sqlx::query("INSERT INTO feed_upload_parts (import_id, seq, data) VALUES ($1, $2, $3)")
            .bind(import_id)
            .bind(seq)
            .bind(data.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The upload is complete: its import may run.
    pub async fn queue_feed_import(&self, id: &str) -> Result<()> {
        sqlx::query("UPDATE feed_imports SET state = 'queued' WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets an upload that did not complete.
    pub async fn delete_feed_import(&self, id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM feed_upload_parts WHERE import_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM feed_imports WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn feed_import(&self, id: &str) -> Result<Option<FeedImportRecord>> {
        let q = Sql::with(
            &format!("SELECT {IMPORT_COLUMNS} FROM feed_imports WHERE id = $1"),
            [id.into()],
        );
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(import_of)
            .transpose()
    }

    /// The newest imports first.
    pub async fn list_feed_imports(&self, limit: i64) -> Result<Vec<FeedImportRecord>> {
        let q = Sql::with(
            &format!(
                "SELECT {IMPORT_COLUMNS} FROM feed_imports ORDER BY created_at DESC, id LIMIT $1"
            ),
            [limit.into()],
        );
        self.fetch_all(&q).await?.iter().map(import_of).collect()
    }

    /// One part of an upload (`None` past the last).
    pub async fn feed_upload_part(&self, import_id: &str, seq: i64) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT data FROM feed_upload_parts WHERE import_id = $1 AND seq = $2",
        )
        .bind(import_id)
        .bind(seq)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn set_feed_import_running(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE feed_imports SET state = 'running', started_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a failed import and drops its upload.
    pub async fn fail_feed_import(&self, id: &str, error: &str, now: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE feed_imports SET state = 'failed', finished_at = $1, error = $2 WHERE id = $3",
        )
        .bind(now)
        .bind(error)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM feed_upload_parts WHERE import_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // A version's id is its import's: parts written before the failure go too.
        sqlx::query("DELETE FROM feed_parts WHERE version_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One compressed part of a version being written. The version is invisible until
    /// [`Database::publish_feed_version`] names it current.
    pub async fn add_feed_part(&self, version_id: &str, seq: i64, data: &[u8]) -> Result<()> {
        sqlx::query("INSERT INTO feed_parts (version_id, seq, data) VALUES ($1, $2, $3)")
            .bind(version_id)
            .bind(seq)
            .bind(data.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a version whose parts are written, makes it the current one, records the
    /// import as done and drops its upload, all in one transaction: until it commits, every
    /// server keeps scanning with the version before. Versions older than the one replaced are deleted
    /// (a server still loading that one finds it gone and loads the current one instead).
    pub async fn publish_feed_version(
        &self,
        version: &FeedVersionRecord,
        skipped: i64,
        problems: &str,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO feed_versions ({VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&version.id)
        .bind(&version.import_id)
        .bind(&version.source)
        .bind(version.created_at)
        .bind(version.records)
        .bind(&version.ecosystems)
        .bind(&version.sources)
        .execute(&mut *tx)
        .await?;
        let previous: Option<String> =
            sqlx::query_scalar("SELECT version_id FROM feed_current WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO feed_current (id, version_id, switched_at) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET version_id = excluded.version_id, \
             switched_at = excluded.switched_at",
        )
        .bind(&version.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let keep = previous.unwrap_or_default();
        // Parts of versions being written by another import (not yet in feed_versions) stay.
        sqlx::query(
            "DELETE FROM feed_parts WHERE version_id IN \
             (SELECT id FROM feed_versions WHERE id <> $1 AND id <> $2)",
        )
        .bind(&version.id)
        .bind(&keep)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM feed_versions WHERE id <> $1 AND id <> $2")
            .bind(&version.id)
            .bind(&keep)
            .execute(&mut *tx)
            .await?;
        if let Some(import) = &version.import_id {
            sqlx::query(
                "UPDATE feed_imports SET state = 'done', finished_at = $1, version_id = $2, \
                 records = $3, skipped = $4, problems = $5 WHERE id = $6",
            )
            .bind(now)
            .bind(&version.id)
            .bind(version.records)
            .bind(skipped)
            .bind(problems)
            .bind(import)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM feed_upload_parts WHERE import_id = $1")
                .bind(import)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.announce(crate::Topic::Feed);
        Ok(())
    }

    /// The version every server should scan with, if any was imported.
    pub async fn current_feed_version(&self) -> Result<Option<FeedVersionRecord>> {
        let q = Sql::new(&format!(
            "SELECT {} FROM feed_versions v JOIN feed_current c ON c.version_id = v.id \
             WHERE c.id = 1",
            VERSION_COLUMNS
                .split(", ")
                .map(|c| format!("v.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(version_of)
            .transpose()
    }

    /// One compressed part of a version (`None` past the last, or once the version is gone).
    pub async fn feed_part(&self, version_id: &str, seq: i64) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT data FROM feed_parts WHERE version_id = $1 AND seq = $2",
        )
        .bind(version_id)
        .bind(seq)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Imports left `queued` or `running` whose job is gone (given up): marked failed.
    pub async fn feed_import_given_up(&self, id: &str, why: &str, now: i64) -> Result<()> {
        self.fail_feed_import(id, why, now).await
    }
}
