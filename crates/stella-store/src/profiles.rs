use crate::{Database, Result};
use sqlx::any::AnyRow;
use sqlx::Row;
use stella_core::{PermissionSet, PrivilegeProfile};

fn from_row(r: &AnyRow) -> Result<PrivilegeProfile> {
    Ok(PrivilegeProfile {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        builtin: false,
        permissions: PermissionSet::from_json(&r.try_get::<String, _>("permissions")?),
    })
}

impl Database {
    pub async fn insert_profile(&self, p: &PrivilegeProfile, now_ms: i64) -> Result<()> {
        sqlx::query("INSERT INTO privilege_profiles (id, name, description, permissions, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&p.id)
            .bind(&p.name)
            .bind(&p.description)
            .bind(p.permissions.to_json())
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Custom profiles only; the built-ins live in code.
    pub async fn list_profiles(&self) -> Result<Vec<PrivilegeProfile>> {
        let rows = sqlx::query(
            "SELECT id, name, description, permissions FROM privilege_profiles ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn get_profile_by_name(&self, name: &str) -> Result<Option<PrivilegeProfile>> {
        let row = sqlx::query(
            "SELECT id, name, description, permissions FROM privilege_profiles WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn delete_profile(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM privilege_profiles WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn profile_in_use(&self, name: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM users WHERE profile = $1 UNION ALL SELECT 1 AS one FROM oauth_clients WHERE profile = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}
