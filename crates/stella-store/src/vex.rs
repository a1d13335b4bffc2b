//! VEX documents a tenant imported (their text, as received, and what was read of them).

use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexRecord {
    pub id: String,
    pub tenant_id: String,
    pub created_at: i64,
    pub created_by: Option<String>,
    /// `openvex` or `cyclonedx`.
    pub format: String,
    pub digest: String,
    pub statements: i64,
    pub body: String,
}

fn vex_of(r: &Row) -> Result<VexRecord> {
    Ok(VexRecord {
        id: r.text("id")?,
        tenant_id: r.text("tenant_id")?,
        created_at: r.int("created_at")?,
        created_by: r.opt_text("created_by")?,
        format: r.text("format")?,
        digest: r.text("digest")?,
        statements: r.int("statements")?,
        body: r.text("body")?,
    })
}

const COLUMNS: &str = "id, tenant_id, created_at, created_by, format, digest, statements, body";

impl Database {
    pub async fn insert_vex(&self, v: &VexRecord) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO vex_documents ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&v.id)
        .bind(&v.tenant_id)
        .bind(v.created_at)
        .bind(&v.created_by)
        .bind(&v.format)
        .bind(&v.digest)
        .bind(v.statements)
        .bind(&v.body)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A tenant's documents, oldest first (at most `limit`), with their text when `bodies`.
    pub async fn tenant_vex(
        &self,
        tenant_id: &str,
        limit: i64,
        bodies: bool,
    ) -> Result<Vec<VexRecord>> {
        let columns = if bodies {
            COLUMNS.to_owned()
        } else {
            COLUMNS.replace(", body", ", '' AS body")
        };
        let q = Sql::with(
            &format!(
                "SELECT {columns} FROM vex_documents WHERE tenant_id = $1 \
                 ORDER BY created_at, id LIMIT $2"
            ),
            [tenant_id.into(), limit.into()],
        );
        self.fetch_all(&q).await?.iter().map(vex_of).collect()
    }

    pub async fn count_vex(&self, tenant_id: &str) -> Result<i64> {
        let q = Sql::with(
            "SELECT COUNT(*) AS n FROM vex_documents WHERE tenant_id = $1",
            [tenant_id.into()],
        );
        Ok(self
            .fetch_optional(&q)
            .await?
            .map(|r| r.int("n"))
            .transpose()?
            .unwrap_or(0))
    }

    /// Deletes one of a tenant's documents; whether there was one.
    pub async fn delete_vex(&self, tenant_id: &str, id: &str) -> Result<bool> {
        Ok(
            sqlx::query("DELETE FROM vex_documents WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected()
                > 0,
        )
    }
}
