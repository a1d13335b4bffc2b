//! The generic resource engine's service half: permission checks, tenancy of new objects,
//! parents of nested resources, and per-resource hooks around the storage engine. A resource is
//! a [`ResourceSpec`] (declared in `stella_core::catalog`) plus, when it has special
//! behaviour (`spec.hooked`), a [`Hooks`] implementation registered under that spec in
//! [`registry`] (the XDR ones in `crate::xdr`).

use crate::{Result, ServiceError, Stella};
use serde_json::{Map, Value};
use stella_core::dialect::{last_page_offset, Dialect};
use stella_core::ids::new_id;
use stella_core::resource::{Columns, FieldValue, Key, ListQuery, Op, ResourceSpec, Tenancy};
use stella_core::{DynGrant, Principal, Scope, TenantFilter};

/// Special behaviour of one resource, around the generic operations.
#[async_trait::async_trait]
pub trait Hooks: Send + Sync {
    /// Checks beyond the resource's permission, before anything is read or written.
    fn authorize(&self, _caller: &Principal, _write: bool) -> Result<()> {
        Ok(())
    }
    /// Validates the columns of a create or an update against other data; `tenant` is the
    /// object's tenant, if it has one,.
    async fn validate(
        &self,
        _s: &Stella,
        _caller: &Principal,
        _tenant: Option<&str>,
        _values: &Columns,
    ) -> Result<()> {
        Ok(())
    }
    /// Checks and completes a create's or an update's columns once `validate` has passed,
    /// knowing the object's id on an update (`None` on a create, before its key exists): a
    /// probe template refuses a `parent_tmpl` that would close a cycle, a new Stamus probe
    /// gets its `stamus_device`. It runs in the write's transaction: what it writes (a probe's
    /// interface rows) commits or rolls back with the write.
    async fn prepare_write(
        &self,
        _s: &Stella,
        _tenant: Option<&str>,
        _id: Option<&str>,
        _values: &mut Columns,
    ) -> Result<()> {
        Ok(())
    }
    /// Rewrites objects as they are read (lists, gets and the answers to writes): values
    /// computed from other rows, such as a probe's inherited fields.
    async fn present(&self, _s: &Stella, _objects: &mut [Value]) -> Result<()> {
        Ok(())
    }
    async fn before_create(&self, _s: &Stella, _caller: &Principal) -> Result<()> {
        Ok(())
    }
    /// Starts work the new object asks for (a report's generation).
    async fn after_create(&self, _s: &Stella, _created: &Value) -> Result<()> {
        Ok(())
    }
    /// Takes body members that are not plain columns (an alert's `comment`) and answers the
    /// columns they change, given the object as it is.
    fn update_extras(
        &self,
        _s: &Stella,
        _caller: &Principal,
        _body: &mut Map<String, Value>,
        _current: &Value,
    ) -> Result<Columns> {
        Ok(Vec::new())
    }
    async fn before_delete(&self, _s: &Stella, _caller: &Principal, _id: &str) -> Result<()> {
        Ok(())
    }
    /// Runs once a create, update or delete through the engine has succeeded, with what the
    /// client said about it (the `/rest/` surface's `comment`): where an action history
    /// records writes.
    async fn after_write(
        &self,
        _s: &Stella,
        _caller: &Principal,
        _change: &Change<'_>,
    ) -> Result<()> {
        Ok(())
    }
    /// Removes the object; `false` when it is not there. Cases close instead.
    async fn delete(
        &self,
        s: &Stella,
        target: &Target<'_>,
        _params: &[(String, String)],
    ) -> Result<bool> {
        Ok(s.db
            .resource_delete(
                target.spec,
                &target.filter,
                &target.parent_condition(),
                target.id,
            )
            .await?)
    }
}

/// A write the engine made, as its hooks see it afterwards.
#[derive(Debug)]
pub struct Change<'a> {
    pub spec: &'static ResourceSpec,
    /// `Op::Create`, `Op::Update` or `Op::Delete`.
    pub op: stella_core::resource::Op,
    /// The object as it is now (created, updated) or was (deleted).
    pub object: &'a Value,
    /// The client's comment on the write, if it gave one.
    pub comment: Option<&'a str>,
}

/// One object an operation addresses, with the tenancy and parent it must be found under.
pub struct Target<'a> {
    pub spec: &'static ResourceSpec,
    pub filter: TenantFilter,
    pub parent_id: Option<&'a str>,
    pub id: &'a str,
}

impl Target<'_> {
    pub fn parent_condition(&self) -> Vec<(&'static str, FieldValue)> {
        match (self.spec.parent, self.parent_id) {
            (Some(p), Some(id)) => vec![(p.column, FieldValue::Text(id.to_owned()))],
            _ => Vec::new(),
        }
    }
}

/// One page of a list, with the query it answers (what the dialect's envelope reports).
#[derive(Debug)]
pub struct Listed {
    pub rows: Vec<Value>,
    pub total: i64,
    pub query: ListQuery,
}

/// How a write came: the dialect its body is read in, whether it replaces the object (PUT in
/// Django REST framework's sense: every writable required field must be there) and the
/// client's `comment` on it, which the hooks see.
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    pub dialect: Dialect,
    pub replace: bool,
    pub comment: Option<&'a str>,
    /// The client's address, for the `/rest/` action history.
    pub client_ip: Option<&'a str>,
}

impl Write<'_> {
    /// A write as the XDR contract makes it (read-only members refused, partial updates).
    pub const XDR: Write<'static> = Write {
        dialect: Dialect::Xdr,
        replace: false,
        comment: None,
        client_ip: None,
    };
}

pub(crate) struct NoHooks;
impl Hooks for NoHooks {}

/// Every registered `(spec, hooks)` pair, from each surface's registry.
pub(crate) fn registry(
) -> impl Iterator<Item = &'static (&'static ResourceSpec, &'static dyn Hooks)> {
    crate::xdr::HOOKS
        .iter()
        .chain(crate::probes::HOOKS)
        .chain(crate::rules::HOOKS)
}

/// The hooks of `spec`: its registration, or none when it declares none. A spec that declares
/// hooks but has no registration, or one registered without declaring them, is refused
/// (500) rather than served without its behaviour.
pub(crate) fn hooks_for(spec: &ResourceSpec) -> Result<&'static dyn Hooks> {
    let found = registry().find(|(s, _)| std::ptr::eq(*s, spec));
    match (found, spec.hooked) {
        (Some((_, hooks)), true) => Ok(*hooks),
        (None, false) => Ok(&NoHooks),
        (None, true) => Err(ServiceError::Internal(format!(
            "{} declares hooks but none are registered for it",
            spec.name
        ))),
        (Some(_), false) => Err(ServiceError::Internal(format!(
            "{} has hooks registered but its spec does not declare them",
            spec.name
        ))),
    }
}

pub(crate) fn not_found(spec: &ResourceSpec, id: &str) -> ServiceError {
    ServiceError::NotFound(format!("no object in {} has the id '{id}'", spec.name))
}

impl Stella {
    /// The engine's one authorization step: the resource's permission (read or write, from
    /// its spec) through the caller's credential, platform resources at root scope only, and
    /// the resource's own hook. Every operation below starts here.
    fn admit<'a>(
        &self,
        caller: &'a Principal,
        spec: &ResourceSpec,
        write: bool,
    ) -> Result<DynGrant<'a>> {
        let grant = caller.grant_dyn(if write {
            spec.write_permission
        } else {
            spec.read_permission
        })?;
        if spec.tenancy == Tenancy::Platform && caller.scope != Scope::Root {
            return Err(ServiceError::Forbidden(format!(
                "{} are platform configuration: root scope only",
                spec.name
            )));
        }
        hooks_for(spec)?.authorize(caller, write)?;
        Ok(grant)
    }

    /// Whether the caller may read (`write` false) or change `spec`'s objects, by the engine's
    /// own check: for a dialect that tells callers what they may do (DRF's OPTIONS).
    pub fn resource_permits(
        &self,
        caller: &Principal,
        spec: &'static ResourceSpec,
        write: bool,
    ) -> Result<()> {
        self.admit(caller, spec, write).map(|_| ())
    }

    /// The parent object of a nested resource, found within the caller's tenancy.
    async fn parent_of(
        &self,
        caller: &DynGrant<'_>,
        spec: &ResourceSpec,
        parent_id: Option<&str>,
    ) -> Result<Option<Value>> {
        match (spec.parent, parent_id) {
            (None, _) => Ok(None),
            (Some(p), Some(id)) => {
                let found = match p.spec.key_value(id).is_some() {
                    true => {
                        self.db
                            .resource_get(p.spec, &caller.tenant_filter(), &[], id)
                            .await?
                    }
                    false => None,
                };
                found.map(Some).ok_or_else(|| not_found(p.spec, id))
            }
            (Some(p), None) => Err(ServiceError::Internal(format!(
                "{} is reached through {}",
                spec.name, p.spec.name
            ))),
        }
    }

    /// One page of a list whose parameters are in `dialect`'s terms.
    pub async fn resource_list(
        &self,
        caller: &Principal,
        spec: &'static ResourceSpec,
        parent_id: Option<&str>,
        dialect: Dialect,
        params: &[(String, String)],
    ) -> Result<Listed> {
        let grant = self.admit(caller, spec, false)?;
        let mut q = dialect.list_query(spec, params, self.settings.max_page)?;
        self.parent_of(&grant, spec, parent_id).await?;
        let target = Target {
            spec,
            filter: caller.tenant_filter(),
            parent_id,
            id: "",
        };
        q.filters.extend(target.parent_condition());
        if q.last_page {
            let count = ListQuery {
                limit: 0,
                ..q.clone()
            };
            let (_, total) = self.db.resource_list(spec, &target.filter, &count).await?;
            q.offset = last_page_offset(total, q.limit);
            q.last_page = false;
        }
        let (mut rows, total) = self.db.resource_list(spec, &target.filter, &q).await?;
        dialect.check_window(&q, total)?;
        hooks_for(spec)?.present(self, &mut rows).await?;
        Ok(Listed {
            rows,
            total,
            query: q,
        })
    }

    pub async fn resource_get(
        &self,
        caller: &Principal,
        spec: &'static ResourceSpec,
        parent_id: Option<&str>,
        id: &str,
    ) -> Result<Value> {
        let grant = self.admit(caller, spec, false)?;
        let found = self.find(&grant, spec, parent_id, id).await?;
        present_one(spec, self, found).await
    }

    async fn find(
        &self,
        caller: &DynGrant<'_>,
        spec: &'static ResourceSpec,
        parent_id: Option<&str>,
        id: &str,
    ) -> Result<Value> {
        self.parent_of(caller, spec, parent_id).await?;
        if spec.key_value(id).is_none() {
            return Err(not_found(spec, id));
        }
        let target = Target {
            spec,
            filter: caller.tenant_filter(),
            parent_id,
            id,
        };
        self.db
            .resource_get(spec, &target.filter, &target.parent_condition(), id)
            .await?
            .ok_or_else(|| not_found(spec, id))
    }

    pub async fn resource_create(
        &self,
        caller: &Principal,
        spec: &'static ResourceSpec,
        parent_id: Option<&str>,
        body: &Value,
    ) -> Result<Value> {
        self.resource_create_as(caller, spec, parent_id, body, Write::XDR)
            .await
    }

    pub async fn resource_create_as(
        &self,
        caller: &Principal,
        spec: &'static ResourceSpec,
        parent_id: Option<&str>,
        body: &Value,
        write: Write<'_>,
    ) -> Result<Value> {
        let grant = self.admit(caller, spec, true)?;
        let (mut values, named) = spec.parse_create_as(body, write.dialect.read_only_members())?;
        let hooks = hooks_for(spec)?;
        hooks.before_create(self, caller).await?;
        let tenant = match self.parent_of(&grant, spec, parent_id).await? {
            Some(parent) => {
                let owner = parent
                    .get("tenant_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if named.is_some() && named != owner {
                    return Err(ServiceError::invalid(
                        "tenant_id",
                        "must be left out: the object goes to its parent's tenant",
                    ));
                }
                if let (Some(p), Some(id)) = (spec.parent, parent_id) {
                    values.push((p.column, FieldValue::Text(id.to_owned())));
                }
                owner
            }
            None => match spec.tenancy {
                Tenancy::IsTenant | Tenancy::Platform => None,
                Tenancy::Owned => Some(self.owning_tenant(caller, named).await?),
                Tenancy::OwnedOrGlobal if named.is_none() && caller.scope == Scope::Root => None,
                Tenancy::OwnedOrGlobal => Some(self.owning_tenant(caller, named).await?),
            },
        };
        hooks
            .validate(self, caller, tenant.as_deref(), &values)
            .await?;
        // The row, what its hooks write before and after it (a Stamus probe's device, its
        // interface rows) and its history entry: all or nothing.
        let created = self
            .db
            .atomically(async {
                hooks
                    .prepare_write(self, tenant.as_deref(), None, &mut values)
                    .await?;
                let id = match spec.key {
                    Key::Generated => new_id(),
                    Key::Serial { sequence } => self.db.next_serial(sequence).await?.to_string(),
                };
                let created = self
                    .db
                    .resource_insert(spec, &id, tenant.as_deref(), &values, self.now_ms())
                    .await?;
                hooks.after_create(self, &created).await?;
                self.after_write(hooks, caller, spec, Op::Create, &created, &write)
                    .await?;
                Ok::<_, ServiceError>(created)
            })
            .await?;
        if spec.tenancy == Tenancy::IsTenant {
            self.users.clear();
            self.identity_changed();
        }
        self.committed();
        present_one(spec, self, created).await
    }

    /// The tenant a new object goes to: the one named (if the caller reaches it) or the
    /// caller's only tenant.
    pub(crate) async fn owning_tenant(
        &self,
        caller: &Principal,
        named: Option<String>,
    ) -> Result<String> {
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
            // A caller that reaches exactly one tenant needs not name it.
            None => match (caller.scope, caller.tenant_ids.as_slice()) {
                (Scope::Tenant | Scope::Partner, [t]) => Ok(t.clone()),
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
        spec: &'static ResourceSpec,
        parent_id: Option<&str>,
        id: &str,
        body: &Value,
    ) -> Result<Value> {
        self.resource_update_as(caller, spec, parent_id, id, body, Write::XDR)
            .await
    }

    pub async fn resource_update_as(
        &self,
        caller: &Principal,
        spec: &'static ResourceSpec,
        parent_id: Option<&str>,
        id: &str,
        body: &Value,
        write: Write<'_>,
    ) -> Result<Value> {
        let grant = self.admit(caller, spec, true)?;
        let Value::Object(map) = body else {
            return Err(ServiceError::invalid("$", "must be a JSON object"));
        };
        let current = self.find(&grant, spec, parent_id, id).await?;
        let hooks = hooks_for(spec)?;
        // A write of a probe's interfaces may delete some: their entries forget them after.
        let owned = self.owned_objects(spec, id).await?;
        let mut rest = map.clone();
        let extras = hooks.update_extras(self, caller, &mut rest, &current)?;
        let tenant = current.get("tenant_id").and_then(Value::as_str);
        let mut values = match write.dialect {
            Dialect::Xdr if !write.replace => spec.parse_update(&Value::Object(rest))?,
            _ => {
                let (values, named) =
                    spec.parse_update_ignoring_read_only(&Value::Object(rest), write.replace)?;
                // The object's own tenant, sent back with the rest of it, is no change.
                if named.is_some() && named.as_deref() != tenant {
                    return Err(ServiceError::invalid(
                        "tenant_id",
                        "cannot be changed; an object stays in its tenant",
                    ));
                }
                values
            }
        };
        hooks.validate(self, caller, tenant, &values).await?;
        // The row, what its hooks write before and after it (a probe's interface rows) and its
        // history entry: all or nothing.
        let updated = self
            .db
            .atomically(async {
                hooks
                    .prepare_write(self, tenant, Some(id), &mut values)
                    .await?;
                values.extend(extras);
                let updated = if values.is_empty() {
                    current.clone()
                } else {
                    let target = Target {
                        spec,
                        filter: caller.tenant_filter(),
                        parent_id,
                        id,
                    };
                    self.db
                        .resource_update(
                            spec,
                            &target.filter,
                            &target.parent_condition(),
                            id,
                            &values,
                            self.now_ms(),
                        )
                        .await?
                        .ok_or_else(|| shared_or_missing(spec, id, &current))?
                };
                self.after_write(hooks, caller, spec, Op::Update, &updated, &write)
                    .await?;
                self.forget_dropped(spec, id, owned).await?;
                Ok::<_, ServiceError>(updated)
            })
            .await?;
        self.committed();
        present_one(spec, self, updated).await
    }

    /// What follows every write, in its transaction: the resource's `after_write` hook, then
    /// the `/rest/` action history's entry.
    async fn after_write(
        &self,
        hooks: &dyn Hooks,
        caller: &Principal,
        spec: &'static ResourceSpec,
        op: Op,
        object: &Value,
        write: &Write<'_>,
    ) -> Result<()> {
        let change = Change {
            spec,
            op,
            object,
            comment: write.comment,
        };
        hooks.after_write(self, caller, &change).await?;
        self.record_rest_write(caller, &change, write).await
    }

    pub async fn resource_delete(
        &self,
        caller: &Principal,
        spec: &'static ResourceSpec,
        parent_id: Option<&str>,
        id: &str,
        params: &[(String, String)],
    ) -> Result<()> {
        self.resource_delete_as(caller, spec, parent_id, id, params, Write::XDR)
            .await
    }

    pub async fn resource_delete_as(
        &self,
        caller: &Principal,
        spec: &'static ResourceSpec,
        parent_id: Option<&str>,
        id: &str,
        params: &[(String, String)],
        write: Write<'_>,
    ) -> Result<()> {
        let grant = self.admit(caller, spec, true)?;
        let current = self.find(&grant, spec, parent_id, id).await?;
        let hooks = hooks_for(spec)?;
        hooks.before_delete(self, caller, id).await?;
        // What goes with the object (by cascade or its hooks): its entries forget it after.
        let owned = self.owned_objects(spec, id).await?;
        let target = Target {
            spec,
            filter: caller.tenant_filter(),
            parent_id,
            id,
        };
        // The removal, what its hooks write after it and its history entry: all or nothing.
        self.db
            .atomically(async {
                if !hooks.delete(self, &target, params).await? {
                    return Err(shared_or_missing(spec, id, &current));
                }
                self.after_write(hooks, caller, spec, Op::Delete, &current, &write)
                    .await?;
                self.forget_dropped(spec, id, owned).await
            })
            .await?;
        self.committed();
        Ok(())
    }

    /// A unit of work has committed: jobs its hooks queued can be claimed now (the runner,
    /// woken while it was open, could not see them yet).
    fn committed(&self) {
        self.job_wake.notify_one();
    }
}

/// One object as its resource's hooks show it.
async fn present_one(spec: &ResourceSpec, s: &Stella, object: Value) -> Result<Value> {
    let mut one = [object];
    hooks_for(spec)?.present(s, &mut one).await?;
    let [object] = one;
    Ok(object)
}

/// A row the caller could read but not change: shared rows (no tenant) are root's to change.
fn shared_or_missing(spec: &ResourceSpec, id: &str, current: &Value) -> ServiceError {
    if spec.tenancy == Tenancy::OwnedOrGlobal && current.get("tenant_id").is_none() {
        ServiceError::Forbidden(format!(
            "this {} applies to all tenants; only root scope changes it",
            spec.singular
        ))
    } else {
        not_found(spec, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spec any surface serves: the XDR catalog and the `/rest/` one.
    fn every_spec() -> impl Iterator<Item = &'static &'static ResourceSpec> {
        stella_core::catalog::ALL
            .iter()
            .chain(stella_core::catalog::REST)
    }

    #[test]
    fn every_declared_hook_is_registered_once_and_only_declared_ones_are() {
        for spec in every_spec() {
            let registrations = registry().filter(|(s, _)| std::ptr::eq(*s, *spec)).count();
            let want = usize::from(spec.hooked);
            assert_eq!(
                registrations, want,
                "{}: hooked = {}, registered {registrations} times",
                spec.name, spec.hooked
            );
            assert!(hooks_for(spec).is_ok(), "{}", spec.name);
        }
        for (spec, _) in registry() {
            assert!(
                every_spec().any(|s| std::ptr::eq(*s, *spec)),
                "{} has hooks but is served by no surface",
                spec.name
            );
        }
    }

    #[test]
    fn a_spec_declaring_hooks_without_a_registration_is_refused_not_served_plainly() {
        static UNREGISTERED: ResourceSpec =
            ResourceSpec::owned("things", "Thing", "Things", &[], ("a:read", "a:write")).hooked();
        assert!(matches!(
            hooks_for(&UNREGISTERED),
            Err(ServiceError::Internal(_))
        ));
        static PLAIN: ResourceSpec =
            ResourceSpec::owned("things", "Thing", "Things", &[], ("a:read", "a:write"));
        assert!(hooks_for(&PLAIN).is_ok());
    }
}
