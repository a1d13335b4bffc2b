//! VEX (OpenVEX and CycloneDX VEX): statements that a product is not affected by a
//! vulnerability. A tenant imports documents (`POST /vex`); a CycloneDX SBOM may also carry
//! its own `vulnerabilities` analysis. A finding a `not_affected` or `false_positive`
//! statement covers is kept in the answer, marked `suppressed` with the statement's
//! justification, and counts neither in the summary nor against the threshold or policy.

use crate::{Result, ServiceError, Stella};
use serde::Serialize;
use stella_core::clock::rfc3339_ms;
use stella_core::perm::{PolicyRead, PolicyWrite};
use stella_core::Grant;
use stella_proto::scan::Finding;
use stella_store::VexRecord;

/// Documents one tenant may keep.
pub const MAX_DOCUMENTS: i64 = 1000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VexView {
    pub id: String,
    pub tenant_id: String,
    pub created_at: String,
    pub created_by: Option<String>,
    /// `openvex` or `cyclonedx`.
    pub format: String,
    /// `sha256:` of the document as received.
    pub digest: String,
    pub statements: i64,
    /// What was read but not used (unresolved references, statements without products).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn view(r: VexRecord, warnings: Vec<String>) -> VexView {
    VexView {
        id: r.id,
        tenant_id: r.tenant_id,
        created_at: rfc3339_ms(r.created_at),
        created_by: r.created_by,
        format: r.format,
        digest: r.digest,
        statements: r.statements,
        warnings,
    }
}

fn format_name(f: stella_vex::Format) -> &'static str {
    match f {
        stella_vex::Format::OpenVex => "openvex",
        stella_vex::Format::CycloneDx => "cyclonedx",
    }
}

fn vex_error(e: stella_vex::VexError) -> ServiceError {
    ServiceError::BadInput {
        code: e.code().to_owned(),
        detail: e.to_string(),
    }
}

/// Marks the findings `set` suppresses.
pub(crate) fn apply(set: &stella_vex::VexSet, findings: &mut [Finding]) {
    for f in findings {
        if let Some(s) = set.suppression(&f.id, &f.aliases, f.purl.as_deref()) {
            f.suppressed = true;
            f.justification = Some(
                s.justification
                    .clone()
                    .or_else(|| s.detail.clone())
                    .unwrap_or_else(|| s.status_label.clone()),
            );
        }
    }
}

impl Stella {
    /// `POST /vex`: stores a document for the caller's tenant.
    pub async fn vex_import(
        &self,
        g: Grant<'_, PolicyWrite>,
        tenant: Option<&str>,
        body: &[u8],
    ) -> Result<VexView> {
        let caller = g.caller();
        let tenant = self.scan_tenant(caller, tenant)?;
        let doc = stella_vex::parse(body, &stella_vex::Limits::default()).map_err(vex_error)?;
        if self.db.count_vex(&tenant).await? >= MAX_DOCUMENTS {
            return Err(ServiceError::Conflict(format!(
                "this tenant keeps {MAX_DOCUMENTS} VEX documents; delete old ones first"
            )));
        }
        let text = String::from_utf8(body.to_vec())
            .map_err(|_| ServiceError::invalid("$", "a VEX document is UTF-8 JSON"))?;
        let record = VexRecord {
            id: stella_core::ids::new_id(),
            tenant_id: tenant,
            created_at: self.now_ms(),
            created_by: Some(caller.user_id.clone()),
            format: format_name(doc.format).to_owned(),
            digest: format!("sha256:{}", crate::crypto::sha256_hex(body)),
            statements: doc.statements.len() as i64,
            body: text,
        };
        self.db.insert_vex(&record).await?;
        Ok(view(record, doc.warnings))
    }

    /// `GET /vex`.
    pub async fn vex_list(
        &self,
        g: Grant<'_, PolicyRead>,
        tenant: Option<&str>,
    ) -> Result<Vec<VexView>> {
        let tenant = self.scan_tenant(g.caller(), tenant)?;
        Ok(self
            .db
            .tenant_vex(&tenant, MAX_DOCUMENTS, false)
            .await?
            .into_iter()
            .map(|r| view(r, Vec::new()))
            .collect())
    }

    /// `DELETE /vex/{id}`.
    pub async fn vex_delete(
        &self,
        g: Grant<'_, PolicyWrite>,
        tenant: Option<&str>,
        id: &str,
    ) -> Result<()> {
        let tenant = self.scan_tenant(g.caller(), tenant)?;
        if self.db.delete_vex(&tenant, id).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!("no VEX document '{id}'")))
        }
    }

    /// The tenant's statements, plus those of documents sent with the scan.
    pub(crate) async fn vex_for(
        &self,
        tenant: &str,
        extra: Vec<stella_vex::VexDocument>,
    ) -> Result<Option<stella_vex::VexSet>> {
        let stored = self.db.tenant_vex(tenant, MAX_DOCUMENTS, true).await?;
        if stored.is_empty() && extra.is_empty() {
            return Ok(None);
        }
        let limits = stella_vex::Limits::default();
        let mut docs = Vec::with_capacity(stored.len() + extra.len());
        for r in stored {
            match stella_vex::parse(r.body.as_bytes(), &limits) {
                Ok(d) => docs.push(d),
                Err(e) => {
                    tracing::warn!(vex = %r.id, error = %e, "a stored VEX document no longer reads")
                }
            }
        }
        docs.extend(extra);
        Ok(Some(stella_vex::VexSet::new(docs)))
    }
}
