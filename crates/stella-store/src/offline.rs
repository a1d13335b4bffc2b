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
}

fn from_row(r: &Row) -> Result<OfflineTokenRecord> {
    Ok(OfflineTokenRecord {
        id: r.text("id")?,
        user_id: r.text("user_id")?,
        permissions: PermissionSet::from_json(&r.text("permissions")?),
        max_scans_per_day: r.int("max_scans_per_day")?,
        expires_at: r.int("expires_at")?,
        created_at: r.int("created_at")?,
        revoked_at: r.opt_int("revoked_at")?,
    })
}

impl Database {
    pub async fn insert_offline_token(&self, t: &OfflineTokenRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO offline_tokens (id, user_id, permissions, max_scans_per_day, expires_at, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&t.id)
        .bind(&t.user_id)
        .bind(t.permissions.to_json())
        .bind(t.max_scans_per_day)
        .bind(t.expires_at)
        .bind(t.created_at)
        .bind(t.revoked_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_offline_token(&self, id: &str) -> Result<Option<OfflineTokenRecord>> {
        let q = Sql::with(
            "SELECT id, user_id, permissions, max_scans_per_day, expires_at, created_at, revoked_at FROM offline_tokens WHERE id = $1",
            [id.into()],
        );
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
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
