use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};
use stella_core::Scope;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClientRecord {
    pub id: String,
    pub name: String,
    pub secret_hash: String,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// The privilege profile and tenancy the client acts with (never beyond its creator's).
    pub profile: String,
    pub scope: Scope,
    pub tenant_ids: Vec<String>,
    pub created_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str =
    "id, name, secret_hash, scopes, profile, scope, tenant_ids, created_by, created_at, revoked_at";

fn from_row(r: &Row) -> Result<OAuthClientRecord> {
    Ok(OAuthClientRecord {
        id: r.text("id")?,
        name: r.text("name")?,
        secret_hash: r.text("secret_hash")?,
        scopes: serde_json::from_str(&r.text("scopes")?).unwrap_or_default(),
        profile: r.text("profile")?,
        scope: Scope::parse(&r.text("scope")?).unwrap_or(Scope::Tenant),
        tenant_ids: serde_json::from_str(&r.text("tenant_ids")?).unwrap_or_default(),
        created_by: r.text("created_by")?,
        created_at: r.int("created_at")?,
        revoked_at: r.opt_int("revoked_at")?,
    })
}

impl Database {
    pub async fn insert_oauth_client(&self, c: &OAuthClientRecord) -> Result<()> {
        sqlx::query(&format!("INSERT INTO oauth_clients ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
            .bind(&c.id)
            .bind(&c.name)
            .bind(&c.secret_hash)
            .bind(serde_json::to_string(&c.scopes).unwrap_or_default())
            .bind(&c.profile)
            .bind(c.scope.as_str())
            .bind(serde_json::to_string(&c.tenant_ids).unwrap_or_default())
            .bind(&c.created_by)
            .bind(c.created_at)
            .bind(c.revoked_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn get_oauth_client(&self, id: &str) -> Result<Option<OAuthClientRecord>> {
        let q = Sql::with(
            &format!("SELECT {COLUMNS} FROM oauth_clients WHERE id = $1"),
            [id.into()],
        );
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    pub async fn list_oauth_clients(&self) -> Result<Vec<OAuthClientRecord>> {
        let q = Sql::new(&format!(
            "SELECT {COLUMNS} FROM oauth_clients ORDER BY created_at, id"
        ));
        self.fetch_all(&q).await?.iter().map(from_row).collect()
    }

    pub async fn revoke_oauth_client(&self, id: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE oauth_clients SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
