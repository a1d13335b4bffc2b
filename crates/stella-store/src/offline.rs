use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};
use stella_core::PermissionSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineTokenRecord {
    pub id: String,
    pub user_id: String,
    pub permissions: PermissionSet,
    pub max_scans_per_day: i64,
    pub expires_at: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// The credential it was issued through (`api_key`, `legacy_token`, `session`) and that
    /// credential's id: the token is only valid while that credential is.
    pub issued_by_kind: Option<String>,
    pub issued_by: Option<String>,
}

const COLUMNS: &str = "id, user_id, permissions, max_scans_per_day, expires_at, created_at, revoked_at, issued_by_kind, issued_by";

fn from_row(r: &Row) -> Result<OfflineTokenRecord> {
    Ok(OfflineTokenRecord {
        id: r.text("id")?,
        user_id: r.text("user_id")?,
        permissions: PermissionSet::from_json(&r.text("permissions")?),
        max_scans_per_day: r.int("max_scans_per_day")?,
        expires_at: r.int("expires_at")?,
        created_at: r.int("created_at")?,
        revoked_at: r.opt_int("revoked_at")?,
        issued_by_kind: r.opt_text("issued_by_kind")?,
        issued_by: r.opt_text("issued_by")?,
    })
}

impl Database {
    pub async fn insert_offline_token(&self, t: &OfflineTokenRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO offline_tokens (id, user_id, permissions, max_scans_per_day, expires_at, created_at, revoked_at, issued_by_kind, issued_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&t.id)
        .bind(&t.user_id)
        .bind(t.permissions.to_json())
        .bind(t.max_scans_per_day)
        .bind(t.expires_at)
        .bind(t.created_at)
        .bind(t.revoked_at)
        .bind(t.issued_by_kind.clone())
        .bind(t.issued_by.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_offline_token(&self, id: &str) -> Result<Option<OfflineTokenRecord>> {
        let q = Sql::with(
            &format!("SELECT {COLUMNS} FROM offline_tokens WHERE id = $1"),
            [id.into()],
        );
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// A user's offline tokens, newest first (at most `limit`).
    pub async fn list_offline_tokens(
        &self,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<OfflineTokenRecord>> {
        let q = Sql::with(
            &format!(
                "SELECT {COLUMNS} FROM offline_tokens WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2"
            ),
            [user_id.into(), limit.into()],
        );
        self.fetch_all(&q).await?.iter().map(from_row).collect()
    }

    /// Marks a token revoked (once; a second revocation keeps the first time).
    pub async fn revoke_offline_token(&self, id: &str, by: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE offline_tokens SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(by)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Units of a token's daily quota used on `day` (`YYYY-MM-DD`, UTC).
    pub async fn quota_used(&self, token_id: &str, day: &str) -> Result<i64> {
        let q = Sql::with(
            "SELECT used FROM quota_usage WHERE token_id = $1 AND day = $2",
            [token_id.into(), day.into()],
        );
        Ok(self
            .fetch_optional(&q)
            .await?
            .map(|r| r.int("used"))
            .transpose()?
            .unwrap_or(0))
    }
}

impl Database {
    /// Takes one unit of a token's quota for `day` if fewer than `max` are used, atomically
    /// (one statement, so servers sharing the database cannot both take the last unit).
    /// Returns the units used after taking one, or `None` when none was left.
    pub async fn take_quota(&self, token_id: &str, day: &str, max: i64) -> Result<Option<i64>> {
        if max < 1 {
            return Ok(None);
        }
        let used: Option<i64> = sqlx::query_scalar(
            "INSERT INTO quota_usage (token_id, day, used) VALUES ($1, $2, 1) \
             ON CONFLICT (token_id, day) DO UPDATE SET used = quota_usage.used + 1 \
             WHERE quota_usage.used < $3 RETURNING used",
        )
        .bind(token_id)
        .bind(day)
        .bind(max)
        .fetch_optional(&self.pool)
        .await?;
        Ok(used)
    }

    /// Gives back a unit taken for a scan that failed.
    pub async fn return_quota(&self, token_id: &str, day: &str) -> Result<()> {
        sqlx::query(
            "UPDATE quota_usage SET used = used - 1 WHERE token_id = $1 AND day = $2 AND used > 0",
        )
        .bind(token_id)
        .bind(day)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
