//! Scan policies: every imported version, per tenant (`*`: the platform default). The active
//! policy of a tenant is its newest version.

use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    pub id: String,
    pub tenant_id: String,
    pub created_at: i64,
    pub created_by: Option<String>,
    /// `yaml` or `rego`.
    pub kind: String,
    pub source: String,
    pub hash: String,
    /// The hash of the version it replaced (`None` for a tenant's first).
    pub previous_hash: Option<String>,
    pub comment: Option<String>,
}

const COLUMNS: &str =
    "id, tenant_id, created_at, created_by, kind, source, hash, previous_hash, comment";
/// History leaves out the text.
const LIST_COLUMNS: &str =
    "id, tenant_id, created_at, created_by, kind, '' AS source, hash, previous_hash, comment";

fn policy_of(r: &Row) -> Result<PolicyRecord> {
    Ok(PolicyRecord {
        id: r.text("id")?,
        tenant_id: r.text("tenant_id")?,
        created_at: r.int("created_at")?,
        created_by: r.opt_text("created_by")?,
        kind: r.text("kind")?,
        source: r.text("source")?,
        hash: r.text("hash")?,
        previous_hash: r.opt_text("previous_hash")?,
        comment: r.opt_text("comment")?,
    })
}

impl Database {
    pub async fn insert_policy(&self, p: &PolicyRecord) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO policies ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&p.id)
        .bind(&p.tenant_id)
        .bind(p.created_at)
        .bind(&p.created_by)
        .bind(&p.kind)
        .bind(&p.source)
        .bind(&p.hash)
        .bind(&p.previous_hash)
        .bind(&p.comment)
        .execute(&self.pool)
        .await?;
        self.announce(crate::Topic::Pages);
        Ok(())
    }

    /// The newest version of `tenant_id`'s policy.
    pub async fn active_policy(&self, tenant_id: &str) -> Result<Option<PolicyRecord>> {
        let q = Sql::with(
            &format!(
                "SELECT {COLUMNS} FROM policies WHERE tenant_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT 1"
            ),
            [tenant_id.into()],
        );
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(policy_of)
            .transpose()
    }

    /// One version, if it belongs to one of `tenants`.
    pub async fn policy_version(
        &self,
        tenants: &[String],
        id: &str,
    ) -> Result<Option<PolicyRecord>> {
        if tenants.is_empty() {
            return Ok(None);
        }
        let mut q = Sql::with(
            &format!("SELECT {COLUMNS} FROM policies WHERE id = $1 AND tenant_id IN ("),
            [id.into()],
        );
        for (i, t) in tenants.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind(t.as_str());
        }
        q.push(")");
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(policy_of)
            .transpose()
    }

    /// One version, whatever its tenant (root callers).
    pub async fn policy_version_any(&self, id: &str) -> Result<Option<PolicyRecord>> {
        let q = Sql::with(
            &format!("SELECT {COLUMNS} FROM policies WHERE id = $1"),
            [id.into()],
        );
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(policy_of)
            .transpose()
    }

    /// A tenant's versions, newest first, without their text; and the total.
    pub async fn policy_history(
        &self,
        tenant_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<PolicyRecord>, i64)> {
        let q = Sql::with(
            &format!(
                "SELECT {LIST_COLUMNS} FROM policies WHERE tenant_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
            ),
            [tenant_id.into(), limit.into(), offset.into()],
        );
        let rows = self
            .fetch_all(&q)
            .await?
            .iter()
            .map(policy_of)
            .collect::<Result<Vec<_>>>()?;
        let c = Sql::with(
            "SELECT COUNT(*) AS n FROM policies WHERE tenant_id = $1",
            [tenant_id.into()],
        );
        let total = self
            .fetch_optional(&c)
            .await?
            .map(|r| r.int("n"))
            .transpose()?
            .unwrap_or(0);
        Ok((rows, total))
    }
}
