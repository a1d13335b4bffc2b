//! Stored scans and catalogued image layers, per tenant.
//!
//! A scan belongs to the tenant of the caller who made it; callers above tenants (root and
//! partner users) scanning without naming a tenant store under [`PLATFORM`], which only root
//! users and the scan's own author see. Every read takes the caller's filter.

use crate::read::Row;
use crate::retention::PLATFORM;
use crate::sql::Sql;
use crate::{Database, Result};
use stella_core::TenantFilter;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRecord {
    pub id: String,
    pub tenant_id: String,
    pub created_at: i64,
    pub created_by: Option<String>,
    /// `done`, `queued`, `running` or `failed`.
    pub state: String,
    /// `sbom`, `image` or `registry`.
    pub kind: String,
    pub subject: Option<String>,
    pub digest: String,
    pub size: i64,
    pub sbom_type: Option<String>,
    pub threshold: String,
    pub environment: Option<String>,
    pub policy_status: Option<String>,
    /// JSON: the answer's summary.
    pub summary: Option<String>,
    pub feed_version: Option<String>,
    pub policy_hash: Option<String>,
    /// JSON: findings, unassessed components and the rest of the answer.
    pub result: Option<String>,
    pub error: Option<String>,
}

/// Who is asking: their tenancy, and their user id (authors see their own platform scans).
#[derive(Debug, Clone)]
pub struct ScanReader<'a> {
    pub filter: &'a TenantFilter,
    pub user_id: &'a str,
}

const COLUMNS: &str = "id, tenant_id, created_at, created_by, state, kind, subject, digest, size, \
    sbom_type, threshold, environment, policy_status, summary, feed_version, policy_hash, \
    result, error";
/// The list leaves out the heavy `result`.
const LIST_COLUMNS: &str = "id, tenant_id, created_at, created_by, state, kind, subject, digest, \
    size, sbom_type, threshold, environment, policy_status, summary, feed_version, policy_hash, \
    NULL AS result, error";

fn scan_of(r: &Row) -> Result<ScanRecord> {
    Ok(ScanRecord {
        id: r.text("id")?,
        tenant_id: r.text("tenant_id")?,
        created_at: r.int("created_at")?,
        created_by: r.opt_text("created_by")?,
        state: r.text("state")?,
        kind: r.text("kind")?,
        subject: r.opt_text("subject")?,
        digest: r.text("digest")?,
        size: r.int("size")?,
        sbom_type: r.opt_text("sbom_type")?,
        threshold: r.text("threshold")?,
        environment: r.opt_text("environment")?,
        policy_status: r.opt_text("policy_status")?,
        summary: r.opt_text("summary")?,
        feed_version: r.opt_text("feed_version")?,
        policy_hash: r.opt_text("policy_hash")?,
        result: r.opt_text("result")?,
        error: r.opt_text("error")?,
    })
}

/// `AND (<tenant filter> OR (tenant_id = '*' AND created_by = <user>))`.
fn visible(q: &mut Sql, reader: &ScanReader<'_>) {
    match reader.filter {
        TenantFilter::All => {}
        TenantFilter::Only(_) => {
            q.push(" AND ((1 = 1");
            q.tenant_filter("tenant_id", reader.filter);
            q.push(") OR (tenant_id = ")
                .bind(PLATFORM)
                .push(" AND created_by = ")
                .bind(reader.user_id)
                .push("))");
        }
    }
}

impl Database {
    pub async fn insert_scan(&self, s: &ScanRecord) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO scans ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14, $15, $16, $17, $18)"
        ))
        .bind(&s.id)
        .bind(&s.tenant_id)
        .bind(s.created_at)
        .bind(&s.created_by)
        .bind(&s.state)
        .bind(&s.kind)
        .bind(&s.subject)
        .bind(&s.digest)
        .bind(s.size)
        .bind(&s.sbom_type)
        .bind(&s.threshold)
        .bind(&s.environment)
        .bind(&s.policy_status)
        .bind(&s.summary)
        .bind(&s.feed_version)
        .bind(&s.policy_hash)
        .bind(&s.result)
        .bind(&s.error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a queued scan failed with why, keeping what it was of.
    pub async fn fail_scan(&self, id: &str, error: &str) -> Result<()> {
        sqlx::query("UPDATE scans SET state = 'failed', error = $1 WHERE id = $2")
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a queued scan's outcome (`done` with its answer, or `failed`).
    pub async fn finish_scan(&self, s: &ScanRecord) -> Result<()> {
        sqlx::query(
            "UPDATE scans SET state = $1, policy_status = $2, summary = $3, feed_version = $4, \
             policy_hash = $5, result = $6, error = $7, subject = $8, digest = $9, size = $10 \
             WHERE id = $11",
        )
        .bind(&s.state)
        .bind(&s.policy_status)
        .bind(&s.summary)
        .bind(&s.feed_version)
        .bind(&s.policy_hash)
        .bind(&s.result)
        .bind(&s.error)
        .bind(&s.subject)
        .bind(&s.digest)
        .bind(s.size)
        .bind(&s.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_scan(&self, reader: &ScanReader<'_>, id: &str) -> Result<Option<ScanRecord>> {
        let mut q = Sql::with(
            &format!("SELECT {COLUMNS} FROM scans WHERE id = $1"),
            [id.into()],
        );
        visible(&mut q, reader);
        self.fetch_optional(&q)
            .await?
            .as_ref()
            .map(scan_of)
            .transpose()
    }

    /// Newest first, without results; and the total.
    pub async fn list_scans(
        &self,
        reader: &ScanReader<'_>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ScanRecord>, i64)> {
        let mut q = Sql::new(&format!("SELECT {LIST_COLUMNS} FROM scans WHERE 1 = 1"));
        visible(&mut q, reader);
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .bind(limit)
            .push(" OFFSET ")
            .bind(offset);
        let rows = self
            .fetch_all(&q)
            .await?
            .iter()
            .map(scan_of)
            .collect::<Result<Vec<_>>>()?;
        let mut c = Sql::new("SELECT COUNT(*) AS n FROM scans WHERE 1 = 1");
        visible(&mut c, reader);
        let total = self
            .fetch_optional(&c)
            .await?
            .map(|r| r.int("n"))
            .transpose()?
            .unwrap_or(0);
        Ok((rows, total))
    }

    /// Deletes a scan the reader can see; whether there was one.
    pub async fn delete_scan(&self, reader: &ScanReader<'_>, id: &str) -> Result<bool> {
        let mut q = Sql::with("DELETE FROM scans WHERE id = $1", [id.into()]);
        visible(&mut q, reader);
        Ok(q.query().execute(&self.pool).await?.rows_affected() > 0)
    }

    /// The layers of `digests` this tenant has a catalogue of.
    pub async fn known_layers(&self, tenant_id: &str, digests: &[String]) -> Result<Vec<String>> {
        if digests.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::with(
            "SELECT digest FROM scan_layers WHERE tenant_id = $1 AND digest IN (",
            [tenant_id.into()],
        );
        for (i, d) in digests.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind(d.as_str());
        }
        q.push(")");
        self.fetch_all(&q)
            .await?
            .iter()
            .map(|r| r.text("digest"))
            .collect()
    }

    /// A layer's stored catalogue (JSON), marking it used.
    pub async fn layer_catalogue(&self, tenant_id: &str, digest: &str) -> Result<Option<String>> {
        let q = Sql::with(
            "SELECT catalogue FROM scan_layers WHERE tenant_id = $1 AND digest = $2",
            [tenant_id.into(), digest.into()],
        );
        self.fetch_optional(&q)
            .await?
            .map(|r| r.text("catalogue"))
            .transpose()
    }

    /// Stores (or replaces) a layer's catalogue.
    pub async fn put_layer_catalogue(
        &self,
        tenant_id: &str,
        digest: &str,
        catalogue: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO scan_layers (tenant_id, digest, created_at, used_at, catalogue) \
             VALUES ($1, $2, $3, $3, $4) ON CONFLICT (tenant_id, digest) DO UPDATE SET \
             used_at = excluded.used_at, catalogue = excluded.catalogue",
        )
        .bind(tenant_id)
        .bind(digest)
        .bind(now)
        .bind(catalogue)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
