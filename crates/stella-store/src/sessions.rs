//! Password sign-in sessions: a row per session, so a session can be signed out (revoked)
//! before its token expires, on every server that shares the database.

use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub client_ip: Option<String>,
}

const COLUMNS: &str = "id, user_id, created_at, expires_at, revoked_at, client_ip";

fn from_row(r: &Row) -> Result<SessionRecord> {
    Ok(SessionRecord {
        id: r.text("id")?,
        user_id: r.text("user_id")?,
        created_at: r.int("created_at")?,
        expires_at: r.int("expires_at")?,
        revoked_at: r.opt_int("revoked_at")?,
        client_ip: r.opt_text("client_ip")?,
    })
}

impl Database {
    pub async fn insert_session(&self, s: &SessionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at, client_ip) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.id)
        .bind(&s.user_id)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.revoked_at)
        .bind(s.client_ip.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_session(&self, id: &str) -> Result<Option<SessionRecord>> {
        let q = Sql::with(
            &format!("SELECT {COLUMNS} FROM sessions WHERE id = $1"),
            [id.into()],
        );
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    pub async fn revoke_session(&self, id: &str, now_ms: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every open session of a user.
    pub async fn revoke_user_sessions(&self, user_id: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Drops sessions that expired before `before_ms` (they can no longer be used anyway).
    pub async fn purge_sessions(&self, before_ms: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
