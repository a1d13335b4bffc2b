//! Custom privilege profiles (the built-ins live in code). Each has an owner; which profiles a
//! caller sees is decided here, in the query, from the caller's tenant filter.

use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};
use stella_core::{PermissionSet, PrivilegeProfile, ProfileOwner, Scope, TenantFilter};

const COLUMNS: &str = "id, name, description, permissions, owner_key";

fn from_row(r: &Row) -> Result<PrivilegeProfile> {
    let key = r.text("owner_key")?;
    Ok(PrivilegeProfile {
        id: r.text("id")?,
        name: r.text("name")?,
        description: r.text("description")?,
        builtin: false,
        permissions: PermissionSet::from_json(&r.text("permissions")?),
        // A key that does not read back (never written by this code) owns nothing anyone fits.
        owner: ProfileOwner::from_key(&key).unwrap_or(ProfileOwner {
            scope: Scope::Tenant,
            tenant_ids: Vec::new(),
        }),
    })
}

/// Changes to a custom profile; `None` leaves a column alone.
#[derive(Debug, Clone, Default)]
pub struct ProfilePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub permissions: Option<PermissionSet>,
}

impl Database {
    pub async fn insert_profile(
        &self,
        p: &PrivilegeProfile,
        created_by: &str,
        now_ms: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO privilege_profiles (id, name, description, permissions, owner_key, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.description)
        .bind(p.permissions.to_json())
        .bind(p.owner.key())
        .bind(created_by)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        for t in &p.owner.tenant_ids {
            sqlx::query("INSERT INTO profile_tenants (profile_id, tenant_id) VALUES ($1, $2)")
                .bind(&p.id)
                .bind(t)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The custom profiles a caller reaching `filter` may see: the platform's, and those owned
    /// over one of the caller's tenants.
    pub async fn list_profiles(&self, filter: &TenantFilter) -> Result<Vec<PrivilegeProfile>> {
        let mut q = Sql::new(&format!(
            "SELECT {COLUMNS} FROM privilege_profiles WHERE 1 = 1"
        ));
        Self::visible_profiles(&mut q, filter);
        q.push(" ORDER BY name, id");
        self.fetch_all(&q).await?.iter().map(from_row).collect()
    }

    fn visible_profiles(q: &mut Sql, filter: &TenantFilter) {
        if let TenantFilter::Only(_) = filter {
            q.push(" AND (owner_key = 'root' OR id IN (SELECT profile_id FROM profile_tenants WHERE 1 = 1");
            q.tenant_filter("tenant_id", filter);
            q.push("))");
        }
    }

    /// One custom profile, if `filter` may see it (`None` for missing and invisible alike).
    pub async fn get_profile_visible(
        &self,
        filter: &TenantFilter,
        id: &str,
    ) -> Result<Option<PrivilegeProfile>> {
        let mut q = Sql::new(&format!(
            "SELECT {COLUMNS} FROM privilege_profiles WHERE id = "
        ));
        q.bind(id);
        Self::visible_profiles(&mut q, filter);
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Any custom profile by id: for resolving a caller's permissions, which has no caller yet.
    pub async fn get_profile(&self, id: &str) -> Result<Option<PrivilegeProfile>> {
        self.get_profile_visible(&TenantFilter::All, id).await
    }

    pub async fn update_profile(&self, id: &str, patch: &ProfilePatch, now_ms: i64) -> Result<()> {
        let mut q = Sql::new("UPDATE privilege_profiles SET updated_at = ");
        q.bind(now_ms);
        if let Some(name) = &patch.name {
            q.push(", name = ").bind(name.as_str());
        }
        if let Some(d) = &patch.description {
            q.push(", description = ").bind(d.as_str());
        }
        if let Some(p) = &patch.permissions {
            q.push(", permissions = ").bind(p.to_json());
        }
        q.push(" WHERE id = ").bind(id);
        q.query().execute(&self.pool).await?;
        Ok(())
    }

    pub async fn delete_profile(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM privilege_profiles WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn profile_in_use(&self, id: &str) -> Result<bool> {
        let q = Sql::with(
            "SELECT 1 AS one FROM users WHERE profile = $1 UNION ALL SELECT 1 AS one FROM oauth_clients WHERE profile = $1",
            [id.into()],
        );
        Ok(self.fetch_optional(&q).await?.is_some())
    }
}
