use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};
use stella_core::{PermissionSet, PrivilegeProfile};

fn from_row(r: &Row) -> Result<PrivilegeProfile> {
    Ok(PrivilegeProfile {
        id: r.text("id")?,
        name: r.text("name")?,
        description: r.text("description")?,
        builtin: false,
        permissions: PermissionSet::from_json(&r.text("permissions")?),
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
        let q = Sql::new(
            "SELECT id, name, description, permissions FROM privilege_profiles ORDER BY name",
        );
        self.fetch_all(&q).await?.iter().map(from_row).collect()
    }

    pub async fn get_profile_by_name(&self, name: &str) -> Result<Option<PrivilegeProfile>> {
        let q = Sql::with(
            "SELECT id, name, description, permissions FROM privilege_profiles WHERE name = $1",
            [name.into()],
        );
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    pub async fn delete_profile(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM privilege_profiles WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn profile_in_use(&self, name: &str) -> Result<bool> {
        let q = Sql::with(
            "SELECT 1 AS one FROM users WHERE profile = $1 UNION ALL SELECT 1 AS one FROM oauth_clients WHERE profile = $1",
            [name.into()],
        );
        Ok(self.fetch_optional(&q).await?.is_some())
    }
}
