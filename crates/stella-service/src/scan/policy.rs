//! Scan policies (reference §2.3): YAML rules or a Rego module per tenant, with a platform
//! default (`*`, set by root users) for tenants without their own, and without either the
//! built-in empty policy (the threshold alone decides). Every import is kept: the history
//! lists who imported what when, with the hash it replaced, and each version is readable.
//! Parsed policies are cached by hash, so a Rego module is compiled once, not per scan.

use crate::{Result, ServiceError, Stella};
use serde::Serialize;
use std::sync::Arc;
use stella_core::clock::rfc3339_ms;
use stella_core::perm::{PolicyRead, PolicyWrite};
use stella_core::{Grant, Principal, Scope};
use stella_policy::Policy;
use stella_store::{PolicyRecord, PLATFORM};

/// Parsed policies kept at once.
const CACHED: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct PolicyCache(parking_lot::Mutex<std::collections::HashMap<String, Arc<Policy>>>);

/// A policy version as the history lists it (`source` only when one version is asked for).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyVersion {
    pub id: String,
    /// The tenant it applies to; `*` for the platform default.
    pub tenant_id: String,
    pub created_at: String,
    pub created_by: Option<String>,
    /// `yaml` or `rego`.
    pub kind: String,
    /// SHA-256 of the text.
    pub hash: String,
    /// The hash of the version it replaced.
    pub previous_hash: Option<String>,
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The policy in force for a tenant, as exported.
#[derive(Debug, Clone)]
pub struct ActivePolicy {
    /// `None`: the built-in empty policy.
    pub version: Option<PolicyVersion>,
    pub kind: &'static str,
    pub text: String,
    pub hash: String,
}

fn version_of(r: PolicyRecord, with_source: bool) -> PolicyVersion {
    PolicyVersion {
        id: r.id,
        tenant_id: r.tenant_id,
        created_at: rfc3339_ms(r.created_at),
        created_by: r.created_by,
        kind: r.kind,
        hash: r.hash,
        previous_hash: r.previous_hash,
        comment: r.comment,
        source: with_source.then_some(r.source),
    }
}

fn invalid(errors: Vec<stella_policy::FieldError>) -> ServiceError {
    ServiceError::Invalid(
        errors
            .into_iter()
            .map(|e| stella_core::FieldError::new(e.path, e.msg))
            .collect(),
    )
}

fn kind_name(p: &Policy) -> &'static str {
    match p.kind() {
        stella_policy::PolicyKind::Yaml => "yaml",
        stella_policy::PolicyKind::Rego => "rego",
    }
}

impl Stella {
    /// Whose policy a request is about: a tenant user's own tenant; above tenants, the named
    /// one (within reach) or the platform's.
    fn policy_tenant(&self, caller: &Principal, named: Option<&str>) -> Result<String> {
        match (caller.scope, named) {
            (Scope::Tenant, None) => caller
                .tenant_ids
                .first()
                .cloned()
                .ok_or_else(|| ServiceError::Forbidden("the caller has no tenant".into())),
            (_, Some(t)) if t == PLATFORM => Ok(PLATFORM.to_owned()),
            (_, Some(t)) if caller.tenant_filter().allows(t) => Ok(t.to_owned()),
            (_, Some(t)) => Err(ServiceError::NotFound(format!("no tenant '{t}'"))),
            (_, None) => Ok(PLATFORM.to_owned()),
        }
    }

    fn cached_policy(&self, r: &PolicyRecord) -> Result<Arc<Policy>> {
        if let Some(p) = self.scanning.policies.0.lock().get(&r.hash) {
            return Ok(p.clone());
        }
        let p = Arc::new(stella_policy::parse(&r.source).map_err(|e| {
            ServiceError::Internal(format!(
                "stored policy {} no longer parses: {:?}",
                r.id,
                e.first()
            ))
        })?);
        let mut cache = self.scanning.policies.0.lock();
        if cache.len() >= CACHED {
            cache.clear();
        }
        cache.insert(r.hash.clone(), p.clone());
        Ok(p)
    }

    /// The policy a scan of `tenant` is decided by: its own, else the platform's, else the
    /// built-in empty one; and its stored hash.
    pub(crate) async fn policy_for(&self, tenant: &str) -> Result<(Arc<Policy>, Option<String>)> {
        let mut record = self.db.active_policy(tenant).await?;
        if record.is_none() && tenant != PLATFORM {
            record = self.db.active_policy(PLATFORM).await?;
        }
        match record {
            Some(r) => Ok((self.cached_policy(&r)?, Some(r.hash))),
            None => Ok((Arc::new(stella_policy::default_policy()), None)),
        }
    }

    /// `GET /policy/export`.
    pub async fn policy_export(
        &self,
        g: Grant<'_, PolicyRead>,
        tenant: Option<&str>,
    ) -> Result<ActivePolicy> {
        let tenant = self.policy_tenant(g.caller(), tenant)?;
        let mut record = self.db.active_policy(&tenant).await?;
        if record.is_none() && tenant != PLATFORM {
            record = self.db.active_policy(PLATFORM).await?;
        }
        Ok(match record {
            Some(r) => ActivePolicy {
                kind: if r.kind == "rego" { "rego" } else { "yaml" },
                text: r.source.clone(),
                hash: r.hash.clone(),
                version: Some(version_of(r, false)),
            },
            None => {
                let p = stella_policy::default_policy();
                ActivePolicy {
                    version: None,
                    kind: kind_name(&p),
                    text: p.export(),
                    hash: p.hash(),
                }
            }
        })
    }

    /// `POST /policy/validate`: the summary, or 400 with every error's path and message.
    pub fn policy_validate(
        &self,
        _g: Grant<'_, PolicyRead>,
        text: &[u8],
    ) -> Result<stella_policy::Summary> {
        let p = stella_policy::parse_bytes(text).map_err(invalid)?;
        Ok(p.summary())
    }

    /// `POST /policy/import`: replaces the tenant's (or the platform's) active policy.
    pub async fn policy_import(
        &self,
        g: Grant<'_, PolicyWrite>,
        tenant: Option<&str>,
        text: &[u8],
        comment: Option<&str>,
    ) -> Result<PolicyVersion> {
        let caller = g.caller();
        let tenant = self.policy_tenant(caller, tenant)?;
        if tenant == PLATFORM && caller.scope != Scope::Root {
            return Err(ServiceError::Forbidden(
                "only root users set the platform's default policy; name a tenant with \
                 tenant_id"
                    .into(),
            ));
        }
        if let Some(c) = comment {
            if c.chars().count() > 1000 {
                return Err(ServiceError::invalid("comment", "at most 1000 characters"));
            }
        }
        let policy = stella_policy::parse_bytes(text).map_err(invalid)?;
        let previous = self.db.active_policy(&tenant).await?;
        // Versions are ordered by time: a second import within the same millisecond still
        // comes after the first.
        let created_at = previous
            .as_ref()
            .map_or(self.now_ms(), |p| self.now_ms().max(p.created_at + 1));
        let record = PolicyRecord {
            id: stella_core::ids::new_id(),
            tenant_id: tenant,
            created_at,
            created_by: Some(caller.user_id.clone()),
            kind: kind_name(&policy).to_owned(),
            source: policy.export(),
            hash: policy.hash(),
            previous_hash: previous.map(|p| p.hash),
            comment: comment.map(str::to_owned),
        };
        self.db.insert_policy(&record).await?;
        Ok(version_of(record, false))
    }

    /// `GET /policy/history`: newest first.
    pub async fn policy_history(
        &self,
        g: Grant<'_, PolicyRead>,
        tenant: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<PolicyVersion>, i64)> {
        let tenant = self.policy_tenant(g.caller(), tenant)?;
        let (rows, total) = self.db.policy_history(&tenant, limit, offset).await?;
        Ok((
            rows.into_iter().map(|r| version_of(r, false)).collect(),
            total,
        ))
    }

    /// `GET /policy/history/{id}`: one version with its text.
    pub async fn policy_version(
        &self,
        g: Grant<'_, PolicyRead>,
        id: &str,
    ) -> Result<PolicyVersion> {
        let caller = g.caller();
        let mut tenants: Vec<String> = match caller.tenant_filter() {
            stella_core::TenantFilter::All => Vec::new(),
            stella_core::TenantFilter::Only(t) => t,
        };
        tenants.push(PLATFORM.to_owned());
        let found = if caller.scope == Scope::Root {
            self.db.policy_version_any(id).await?
        } else {
            self.db.policy_version(&tenants, id).await?
        };
        found
            .map(|r| version_of(r, true))
            .ok_or_else(|| ServiceError::NotFound(format!("no policy version '{id}'")))
    }
}
