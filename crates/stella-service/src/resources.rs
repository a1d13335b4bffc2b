//! The generic resource engine's service half: permission checks, tenancy of new objects and
//! per-resource hooks around the storage engine. A resource is a [`ResourceSpec`] plus, when it
//! has special behaviour, a [`Hooks`] implementation.

use crate::{Result, ServiceError, Stella};
use serde_json::Value;
use stella_core::ids::{looks_like_id, new_id};
use stella_core::resource::{FieldSpec, ResourceSpec, Tenancy};
use stella_core::{Principal, Scope};

pub static TENANTS: ResourceSpec = ResourceSpec {
    name: "tenants",
    singular: "Tenant",
    tag: "Tenants",
    table: "tenants",
    tenancy: Tenancy::IsTenant,
    fields: &[
        FieldSpec::text("name", 200).required(),
        FieldSpec::text("description", 2000),
    ],
    default_sort: "created_at",
    read_permission: "tenants:read",
    write_permission: "tenants:write",
};

/// Special behaviour of one resource, around the generic operations.
#[async_trait::async_trait]
pub trait Hooks: Send + Sync {
    async fn before_create(&self, _s: &Stella, _caller: &Principal) -> Result<()> {
        Ok(())
    }
    async fn before_delete(&self, _s: &Stella, _caller: &Principal, _id: &str) -> Result<()> {
        Ok(())
    }
}

struct NoHooks;
impl Hooks for NoHooks {}

struct TenantHooks;

#[async_trait::async_trait]
impl Hooks for TenantHooks {
    async fn before_create(&self, _s: &Stella, caller: &Principal) -> Result<()> {
        if caller.scope != Scope::Root {
            return Err(ServiceError::Forbidden(
                "only root-scope users create tenants".into(),
            ));
        }
        Ok(())
    }

    async fn before_delete(&self, s: &Stella, caller: &Principal, id: &str) -> Result<()> {
        if caller.scope != Scope::Root {
            return Err(ServiceError::Forbidden(
                "only root-scope users delete tenants".into(),
            ));
        }
        if s.db().tenant_in_use(id).await? {
            return Err(ServiceError::Conflict(
                "the tenant still has users; move or delete them first".into(),
            ));
        }
        Ok(())
    }
}

fn hooks_for(spec: &ResourceSpec) -> &'static dyn Hooks {
    match spec.name {
        "tenants" => &TenantHooks,
        _ => &NoHooks,
    }
}

fn not_found(spec: &ResourceSpec, id: &str) -> ServiceError {
    ServiceError::NotFound(format!("no object in {} has the id '{id}'", spec.name))
}

impl Stella {
    pub async fn resource_list(
        &self,
        caller: &Principal,
        spec: &ResourceSpec,
        params: &[(String, String)],
    ) -> Result<(Vec<Value>, i64, i64, i64)> {
        caller.require(spec.read_permission)?;
        let q = spec.parse_list(params, self.settings.max_page)?;
        let (data, total) = self
            .db
            .resource_list(spec, &caller.tenant_filter(), &q)
            .await?;
        Ok((data, total, q.limit, q.offset))
    }

    pub async fn resource_get(
        &self,
        caller: &Principal,
        spec: &ResourceSpec,
        id: &str,
    ) -> Result<Value> {
        caller.require(spec.read_permission)?;
        if !looks_like_id(id) {
            return Err(not_found(spec, id));
        }
        self.db
            .resource_get(spec, &caller.tenant_filter(), id)
            .await?
            .ok_or_else(|| not_found(spec, id))
    }

    pub async fn resource_create(
        &self,
        caller: &Principal,
        spec: &ResourceSpec,
        body: &Value,
    ) -> Result<Value> {
        caller.require(spec.write_permission)?;
        let (values, tenant) = spec.parse_create(body)?;
        hooks_for(spec).before_create(self, caller).await?;
        let tenant = match spec.tenancy {
            Tenancy::IsTenant => None,
            Tenancy::Owned => Some(self.owning_tenant(caller, tenant).await?),
        };
        let id = new_id();
        let created = self
            .db
            .resource_insert(spec, &id, tenant.as_deref(), &values, self.now_ms())
            .await?;
        if spec.tenancy == Tenancy::IsTenant {
            self.users.clear();
        }
        Ok(created)
    }

    /// The tenant a new object goes to: the one named (if the caller reaches it) or the
    /// caller's only tenant.
    async fn owning_tenant(&self, caller: &Principal, named: Option<String>) -> Result<String> {
        match named {
            Some(t) => {
                if !caller.tenant_filter().allows(&t) {
                    return Err(ServiceError::Forbidden(format!(
                        "you cannot create objects in tenant '{t}'"
                    )));
                }
                if !self.db.tenant_exists(&t).await? {
                    return Err(ServiceError::invalid(
                        "tenant_id",
                        format!("no tenant has the id '{t}'"),
                    ));
                }
                Ok(t)
            }
            None => match (caller.scope, caller.tenant_ids.as_slice()) {
                (Scope::Tenant, [t]) => Ok(t.clone()),
                _ => Err(ServiceError::invalid(
                    "tenant_id",
                    "is required: name the tenant to create this object in",
                )),
            },
        }
    }

    pub async fn resource_update(
        &self,
        caller: &Principal,
        spec: &ResourceSpec,
        id: &str,
        body: &Value,
    ) -> Result<Value> {
        caller.require(spec.write_permission)?;
        let values = spec.parse_update(body)?;
        if !looks_like_id(id) {
            return Err(not_found(spec, id));
        }
        self.db
            .resource_update(spec, &caller.tenant_filter(), id, &values, self.now_ms())
            .await?
            .ok_or_else(|| not_found(spec, id))
    }

    pub async fn resource_delete(
        &self,
        caller: &Principal,
        spec: &ResourceSpec,
        id: &str,
    ) -> Result<()> {
        caller.require(spec.write_permission)?;
        let filter = caller.tenant_filter();
        if !looks_like_id(id) || self.db.resource_get(spec, &filter, id).await?.is_none() {
            return Err(not_found(spec, id));
        }
        hooks_for(spec).before_delete(self, caller, id).await?;
        if !self.db.resource_delete(spec, &filter, id).await? {
            return Err(not_found(spec, id));
        }
        Ok(())
    }
}
