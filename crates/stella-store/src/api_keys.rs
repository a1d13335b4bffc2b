use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};
use stella_core::PermissionSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub secret_hash: String,
    /// `None`: the key carries all of its user's permissions.
    pub permissions: Option<PermissionSet>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
    /// For a key made through another key's JWT: the key at the root of that chain. The key is
    /// only valid while its root is (revoking a key revokes what was made through it).
    pub issued_by: Option<String>,
}

const COLUMNS: &str =
    "id, user_id, name, secret_hash, permissions, expires_at, revoked_at, created_at, issued_by";

fn from_row(r: &Row) -> Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: r.text("id")?,
        user_id: r.text("user_id")?,
        name: r.text("name")?,
        secret_hash: r.text("secret_hash")?,
        permissions: r
            .opt_text("permissions")?
            .map(|s| PermissionSet::from_json(&s)),
        expires_at: r.opt_int("expires_at")?,
        revoked_at: r.opt_int("revoked_at")?,
        created_at: r.int("created_at")?,
        issued_by: r.opt_text("issued_by")?,
    })
}

impl Database {
    pub async fn insert_api_key(&self, k: &ApiKeyRecord) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO api_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&k.id)
        .bind(&k.user_id)
        .bind(&k.name)
        .bind(&k.secret_hash)
        .bind(k.permissions.as_ref().map(PermissionSet::to_json))
        .bind(k.expires_at)
        .bind(k.revoked_at)
        .bind(k.created_at)
        .bind(k.issued_by.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>> {
        let q = Sql::with(
            &format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1"),
            [id.into()],
        );
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    pub async fn list_api_keys(&self, user_id: &str) -> Result<Vec<ApiKeyRecord>> {
        let q = Sql::with(
            &format!("SELECT {COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY created_at, id"),
            [user_id.into()],
        );
        self.fetch_all(&q).await?.iter().map(from_row).collect()
    }

    /// Marks a key revoked; `false` if it was already revoked or does not exist.
    pub async fn revoke_api_key(&self, id: &str, by: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(by)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
