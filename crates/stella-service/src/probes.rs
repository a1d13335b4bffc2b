//! Hooks of the Stamus probe objects at `/rest/appliances/` (issue 14, "Objects relations").
//!
//! The engine stores and parses these objects by their `stella_core::catalog` specs; what it
//! cannot say comes from `stella-probe`, whose field names the specs share:
//! - reads show effective values: every inheritable field not in `overriden_fields` is taken
//!   from the template chain by `stella_probe::effective`, computed on every read so a
//!   template's change shows in every child at once (nothing is copied on write);
//! - writes check `parent_tmpl` with `stella_probe::resolve_chain` (a missing template, one in
//!   another tenant, which reads as missing, a cycle, too many levels: 400 naming
//!   `parent_tmpl`, nothing written) and `overriden_fields` with
//!   `stella_probe::validate_overriden_fields`;
//! - a new Stamus probe gets its `stamus_device` row (the spec's stamus_device "contains all
//!   Stamus probes and SCS"), named by its read-only `stamusdevice_id` and removed with it.

use std::collections::HashMap;

use serde_json::{Map, Value};
use stella_core::catalog::{
    NETWORK_INTERFACES, PROBE_PROTOCOLS, RULESETS, STAMUS_APPLIANCES, STAMUS_APPLIANCE_TEMPLATES,
    STAMUS_DEVICES,
};
use stella_core::resource::{Columns, FieldValue, ListQuery, Op, ResourceSpec};
use stella_core::{Principal, TenantFilter};
use stella_probe::{
    ChainError, Node, ObjectType, WriteMode, MAX_CHAIN_DEPTH, MAX_INTERFACES, MAX_PROTOCOLS,
};

use crate::resources::{Change, Hooks};
use crate::{Result, ServiceError, Stella};

pub(crate) static HOOKS: &[(&ResourceSpec, &dyn Hooks)] = &[
    (
        &STAMUS_APPLIANCE_TEMPLATES,
        &ProbeHooks(ObjectType::StamusApplianceTemplate),
    ),
    (&STAMUS_APPLIANCES, &ProbeHooks(ObjectType::StamusAppliance)),
];

/// The list fields stored as rows of their own: (field, the rows' resource). Each row names
/// its owner in `appliance` (a probe) or `template`.
const ENTRY_LISTS: [(&str, &ResourceSpec); 2] = [
    ("interfaces", &NETWORK_INTERFACES),
    ("protocols", &PROBE_PROTOCOLS),
];

/// The column of an entry row naming an owner of type `ty`.
fn owner_column(ty: ObjectType) -> &'static str {
    match ty {
        ObjectType::StamusApplianceTemplate => "template",
        _ => "appliance",
    }
}

/// The rows of one owner's list, as stored (`id`, `name`, `active`, …), in pk order.
async fn entry_rows(
    s: &Stella,
    list: &ResourceSpec,
    owner: &'static str,
    pk: i64,
) -> Result<Vec<Value>> {
    let cap = MAX_INTERFACES.max(MAX_PROTOCOLS) as i64;
    Ok(s.db.resource_rows_in(list, owner, &[pk], cap).await?)
}

/// Several owners' lists as their fields show them (`[{"pk", "name", "active"}]` by field),
/// two queries for the lot; an owner with no rows of a list has no entry for it.
async fn entries_of(
    s: &Stella,
    ty: ObjectType,
    pks: &[i64],
) -> Result<HashMap<i64, Map<String, Value>>> {
    let mut by_owner: HashMap<i64, Map<String, Value>> = HashMap::new();
    let owner = owner_column(ty);
    let cap = (pks.len() * MAX_INTERFACES.max(MAX_PROTOCOLS)) as i64;
    for (field, list) in ENTRY_LISTS {
        for r in s.db.resource_rows_in(list, owner, pks, cap).await? {
            let Some(pk) = r[owner].as_i64() else {
                continue;
            };
            let shown =
                serde_json::json!({"pk": r["id"], "name": r["name"], "active": r["active"]});
            match by_owner
                .entry(pk)
                .or_default()
                .entry(field.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(items) => items.push(shown),
                other => *other = Value::Array(vec![shown]),
            }
        }
    }
    Ok(by_owner)
}

/// One owner's lists put into `values` (left out when the owner has no rows, so a child
/// without its own takes its template's through `effective` like any other field).
async fn fill_entries(
    s: &Stella,
    ty: ObjectType,
    pk: i64,
    values: &mut Map<String, Value>,
) -> Result<()> {
    let mut found = entries_of(s, ty, &[pk])
        .await?
        .remove(&pk)
        .unwrap_or_default();
    for (field, _) in ENTRY_LISTS {
        match found.remove(field) {
            Some(list) => values.insert(field.to_owned(), list),
            None => values.remove(field),
        };
    }
    Ok(())
}

/// Makes an owner's rows of `list` match `wanted` (entries cleaned by `validate_write`): an
/// entry with the pk of one of the owner's rows, or else its name, updates that row; other
/// entries are added; rows no entry matched are deleted.
async fn sync_entries(
    s: &Stella,
    list: &'static ResourceSpec,
    owner: &'static str,
    pk: i64,
    tenant: &str,
    wanted: &[Value],
) -> Result<()> {
    let mut existing = entry_rows(s, list, owner, pk).await?;
    for entry in wanted {
        let name = entry["name"].as_str().unwrap_or_default().to_owned();
        let active = entry["active"].as_bool().unwrap_or(false);
        let by_pk = entry.get("pk").and_then(Value::as_i64);
        let found = existing
            .iter()
            .position(|r| by_pk.is_some() && r["id"].as_i64() == by_pk)
            .or_else(|| {
                existing
                    .iter()
                    .position(|r| r["name"].as_str() == Some(&name))
            });
        let values: Columns = vec![
            ("name", FieldValue::Text(name)),
            ("active", FieldValue::Bool(active)),
        ];
        match found.map(|i| existing.swap_remove(i)) {
            Some(row) => {
                let id = row["id"].as_i64().unwrap_or_default();
                s.db.resource_update(
                    list,
                    &TenantFilter::All,
                    &[],
                    &id.to_string(),
                    &values,
                    s.now_ms(),
                )
                .await?;
            }
            None => {
                let stella_core::resource::Key::Serial { sequence } = list.key else {
                    return Err(ServiceError::Internal(format!(
                        "{} has no counter",
                        list.name
                    )));
                };
                let id = s.db.next_serial(sequence).await?;
                let mut values = values;
                values.push((owner, FieldValue::Int(pk)));
                s.db.resource_insert(list, &id.to_string(), Some(tenant), &values, s.now_ms())
                    .await?;
            }
        }
    }
    for row in existing {
        if let Some(id) = row["id"].as_i64() {
            s.db.resource_delete(list, &TenantFilter::All, &[], &id.to_string())
                .await?;
        }
    }
    Ok(())
}

/// The hooks of one `stella-probe` object type with templates.
pub(crate) struct ProbeHooks(ObjectType);

fn column<'a>(values: &'a Columns, name: &str) -> Option<&'a FieldValue> {
    values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// A stored template as the chain sees it, or `None` when there is none with that pk.
async fn load_template(s: &Stella, pk: i64) -> Result<Option<Node>> {
    let row =
        s.db.resource_get(
            &STAMUS_APPLIANCE_TEMPLATES,
            &TenantFilter::All,
            &[],
            &pk.to_string(),
        )
        .await?;
    let Some(mut node) = row.and_then(|r| node_of(&r)) else {
        return Ok(None);
    };
    fill_entries(s, ObjectType::StamusApplianceTemplate, pk, &mut node.values).await?;
    Ok(Some(node))
}

fn node_of(row: &Value) -> Option<Node> {
    let Value::Object(m) = row else { return None };
    let pk = m.get("id").and_then(Value::as_i64)?;
    let tenant = m.get("tenant_id").and_then(Value::as_str).unwrap_or("");
    Some(Node::from_values(pk, tenant, m.clone()))
}

/// `parent`'s chain for an object `pk` (if stored) of `tenant`: the templates are fetched
/// first (at most one more than a chain may hold, each once, and once for all the objects a
/// `templates` memo serves), then `resolve_chain` judges it.
async fn chain(
    s: &Stella,
    templates: &mut HashMap<i64, Option<Node>>,
    pk: Option<i64>,
    tenant: &str,
    parent: Option<i64>,
) -> Result<std::result::Result<Vec<Node>, ChainError>> {
    let mut seen = 0;
    let mut next = parent;
    while let Some(p) = next {
        if Some(p) == pk || seen > MAX_CHAIN_DEPTH {
            break;
        }
        seen += 1;
        if let std::collections::hash_map::Entry::Vacant(slot) = templates.entry(p) {
            slot.insert(load_template(s, p).await?);
        }
        match &templates[&p] {
            Some(node) => next = node.parent_tmpl,
            None => break,
        }
    }
    Ok(stella_probe::resolve_chain(pk, tenant, parent, |p| {
        templates.get(&p).cloned().flatten()
    }))
}

fn chain_error(e: &ChainError) -> ServiceError {
    // A template in another tenant reads exactly as a missing one: its existence is not the
    // caller's to learn.
    let shown = match e {
        ChainError::OtherTenant { pk } => ChainError::NotFound { pk: *pk },
        other => other.clone(),
    };
    ServiceError::invalid(shown.field(), shown.message())
}

#[async_trait::async_trait]
impl Hooks for ProbeHooks {
    /// `"parent_tmpl": null` detaches an object from its template (the engine refuses nulls
    /// in general; here null has a meaning, as in Django's nullable foreign key).
    fn update_extras(
        &self,
        _s: &Stella,
        _caller: &Principal,
        body: &mut Map<String, Value>,
        _current: &Value,
    ) -> Result<Columns> {
        if body.get("parent_tmpl").is_some_and(Value::is_null) {
            body.remove("parent_tmpl");
            return Ok(vec![("parent_tmpl", FieldValue::Null)]);
        }
        Ok(Vec::new())
    }

    /// A template some probe or template still inherits from is kept: deleting it would
    /// silently change what its children show (409 naming how many).
    async fn before_delete(&self, s: &Stella, _caller: &Principal, id: &str) -> Result<()> {
        if self.0 != ObjectType::StamusApplianceTemplate {
            return Ok(());
        }
        let Ok(pk) = id.parse::<i64>() else {
            return Ok(());
        };
        let mut children = 0;
        for spec in [&STAMUS_APPLIANCE_TEMPLATES, &STAMUS_APPLIANCES] {
            let mut q = ListQuery::new(spec, 0);
            q.filters.push(("parent_tmpl", FieldValue::Int(pk)));
            children += s.db.resource_list(spec, &TenantFilter::All, &q).await?.1;
        }
        if children > 0 {
            return Err(ServiceError::Conflict(format!(
                "{children} probes or templates inherit from this template; \
                 change their parent_tmpl first"
            )));
        }
        Ok(())
    }

    async fn prepare_write(
        &self,
        s: &Stella,
        tenant: Option<&str>,
        id: Option<&str>,
        values: &mut Columns,
    ) -> Result<()> {
        if let Some(FieldValue::Json(text)) = column(values, "overriden_fields") {
            let list: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            if let Err(problems) = stella_probe::validate_overriden_fields(self.0, &list) {
                return Err(ServiceError::invalid(
                    "overriden_fields",
                    problems.join("; "),
                ));
            }
        }
        let tenant = tenant.unwrap_or("");
        if let Some(FieldValue::Int(parent)) = column(values, "parent_tmpl") {
            // Only templates can be parents, so a probe's pk never closes a cycle.
            let own = match self.0 {
                ObjectType::StamusApplianceTemplate => id.and_then(|i| i.parse().ok()),
                _ => None,
            };
            if let Err(e) = chain(s, &mut HashMap::new(), own, tenant, Some(*parent)).await? {
                return Err(chain_error(&e));
            }
        }
        if let Some(FieldValue::Int(ruleset)) = column(values, "ruleset") {
            // A ruleset of the object's own tenant: another tenant's answers as a missing one.
            let found =
                s.db.resource_get(
                    &RULESETS,
                    &TenantFilter::Only(vec![tenant.to_owned()]),
                    &[],
                    &ruleset.to_string(),
                )
                .await?;
            if found.is_none() {
                return Err(ServiceError::invalid(
                    "ruleset",
                    format!("Invalid pk \"{ruleset}\" - object does not exist."),
                ));
            }
        }
        let mut lists = Vec::new();
        for (field, list) in ENTRY_LISTS {
            let Some(FieldValue::Json(text)) = column(values, field) else {
                continue;
            };
            let given: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            let body = serde_json::json!({ field: given });
            let mut clean = stella_probe::validate_write(self.0, &body, WriteMode::Partial)
                .map_err(|errors| {
                    ServiceError::Invalid(
                        errors
                            .into_iter()
                            .flat_map(|(k, msgs)| {
                                msgs.into_iter().map(move |m| {
                                    stella_core::validate::FieldError::new(k.clone(), m)
                                })
                            })
                            .collect(),
                    )
                })?;
            let entries = match clean.remove(field) {
                Some(Value::Array(entries)) => entries,
                _ => Vec::new(),
            };
            lists.push((field, list, entries));
        }
        // Only once everything is checked does anything change.
        for (field, list, entries) in lists {
            match id.and_then(|i| i.parse::<i64>().ok()) {
                // An update: the rows change now and the column stays empty.
                Some(pk) => {
                    values.retain(|(n, _)| *n != field);
                    sync_entries(s, list, owner_column(self.0), pk, tenant, &entries).await?;
                }
                // A create: the cleaned list waits in the column until `after_create`, when the
                // object has its pk, moves it to rows.
                None => {
                    for (n, v) in values.iter_mut() {
                        if *n == field {
                            *v = FieldValue::Json(Value::Array(entries.clone()).to_string());
                        }
                    }
                }
            }
        }
        if self.0 == ObjectType::StamusAppliance && id.is_none() {
            let text = |name: &str| match column(values, name) {
                Some(FieldValue::Text(t)) => FieldValue::Text(t.clone()),
                _ => FieldValue::Null,
            };
            let device: Columns = vec![
                ("name", text("name")),
                ("description", text("descr")),
                ("ipaddress", text("ip_address")),
            ];
            let device_id = s.db.next_serial("stamus_devices").await?;
            s.db.resource_insert(
                &STAMUS_DEVICES,
                &device_id.to_string(),
                Some(tenant),
                &device,
                s.now_ms(),
            )
            .await?;
            values.push(("stamusdevice_id", FieldValue::Int(device_id)));
        }
        Ok(())
    }

    async fn present(&self, s: &Stella, objects: &mut [Value]) -> Result<()> {
        // A page costs two queries for every object's lists and one load per distinct
        // template, not a chain's worth of queries per object.
        let pks: Vec<i64> = objects
            .iter()
            .filter_map(|o| o.get("id").and_then(Value::as_i64))
            .collect();
        let mut entries = entries_of(s, self.0, &pks).await?;
        let mut templates = HashMap::new();
        for object in objects.iter_mut() {
            let Some(mut node) = node_of(object) else {
                continue;
            };
            let mut own = entries.remove(&node.pk).unwrap_or_default();
            for (field, _) in ENTRY_LISTS {
                match own.remove(field) {
                    Some(list) => node.values.insert(field.to_owned(), list),
                    None => node.values.remove(field),
                };
            }
            if let Value::Object(m) = object {
                for (field, _) in ENTRY_LISTS {
                    match node.values.get(field) {
                        Some(v) => m.insert(field.to_owned(), v.clone()),
                        None => m.insert(field.to_owned(), Value::Array(Vec::new())),
                    };
                }
            }
            let Some(parent) = node.parent_tmpl else {
                continue;
            };
            let own_pk = (self.0 == ObjectType::StamusApplianceTemplate).then_some(node.pk);
            // A chain broken since it was written (a template deleted) shows the own values.
            let Ok(chain) = chain(s, &mut templates, own_pk, &node.tenant, Some(parent)).await?
            else {
                continue;
            };
            let layers: Vec<_> = chain.iter().map(Node::layer).collect();
            let shown: Map<String, Value> =
                stella_probe::effective(self.0, &node.values, &node.overriden_fields, &layers);
            let Value::Object(m) = object else { continue };
            for f in self.0.inheritable_fields() {
                match shown.get(f.name) {
                    Some(v) if !v.is_null() => m.insert(f.name.to_owned(), v.clone()),
                    _ if ENTRY_LISTS.iter().any(|(l, _)| *l == f.name) => {
                        m.insert(f.name.to_owned(), Value::Array(Vec::new()))
                    }
                    _ => m.remove(f.name),
                };
            }
        }
        Ok(())
    }

    async fn after_create(&self, s: &Stella, created: &Value) -> Result<()> {
        let (Some(pk), Some(tenant)) = (
            created.get("id").and_then(Value::as_i64),
            created.get("tenant_id").and_then(Value::as_str),
        ) else {
            return Ok(());
        };
        let spec = match self.0 {
            ObjectType::StamusApplianceTemplate => &STAMUS_APPLIANCE_TEMPLATES,
            _ => &STAMUS_APPLIANCES,
        };
        let mut cleared: Columns = Vec::new();
        for (field, list) in ENTRY_LISTS {
            if let Some(Value::Array(entries)) = created.get(field) {
                sync_entries(s, list, owner_column(self.0), pk, tenant, entries).await?;
                cleared.push((field, FieldValue::Null));
            }
        }
        if !cleared.is_empty() {
            s.db.resource_update(
                spec,
                &TenantFilter::All,
                &[],
                &pk.to_string(),
                &cleared,
                s.now_ms(),
            )
            .await?;
        }
        Ok(())
    }

    async fn after_write(
        &self,
        s: &Stella,
        _caller: &Principal,
        change: &Change<'_>,
    ) -> Result<()> {
        if change.op == Op::Update && self.0 == ObjectType::StamusAppliance {
            // The probe's device follows its name, description and address.
            if let Some(device) = change.object.get("stamusdevice_id").and_then(Value::as_i64) {
                let text = |name: &str| match change.object.get(name).and_then(Value::as_str) {
                    Some(t) => FieldValue::Text(t.to_owned()),
                    None => FieldValue::Null,
                };
                let values: Columns = vec![
                    ("name", text("name")),
                    ("description", text("descr")),
                    ("ipaddress", text("ip_address")),
                ];
                s.db.resource_update(
                    &STAMUS_DEVICES,
                    &TenantFilter::All,
                    &[],
                    &device.to_string(),
                    &values,
                    s.now_ms(),
                )
                .await?;
            }
        }
        if change.op == Op::Delete {
            if let Some(pk) = change.object.get("id").and_then(Value::as_i64) {
                for (_, list) in ENTRY_LISTS {
                    for row in entry_rows(s, list, owner_column(self.0), pk).await? {
                        if let Some(id) = row["id"].as_i64() {
                            s.db.resource_delete(list, &TenantFilter::All, &[], &id.to_string())
                                .await?;
                        }
                    }
                }
            }
            if let Some(device) = change.object.get("stamusdevice_id").and_then(Value::as_i64) {
                s.db.resource_delete(
                    &STAMUS_DEVICES,
                    &TenantFilter::All,
                    &[],
                    &device.to_string(),
                )
                .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bridge between the two field tables: every engine field of a probe object is a
    /// field of `stella-probe`'s table for it, and every inheritable one is declared, so the
    /// stored row can be handed to `stella_probe::effective` as it is.
    #[test]
    fn engine_fields_carry_stella_probe_names() {
        for (spec, ty) in [
            (
                &STAMUS_APPLIANCE_TEMPLATES,
                ObjectType::StamusApplianceTemplate,
            ),
            (&STAMUS_APPLIANCES, ObjectType::StamusAppliance),
        ] {
            for f in spec.fields {
                assert!(ty.field(f.name).is_some(), "{}.{}", spec.name, f.name);
            }
            for f in ty.inheritable_fields() {
                let engine = spec.field(f.name);
                assert!(
                    engine.is_some_and(|e| e.writable && e.default.is_none()),
                    "{}.{}",
                    spec.name,
                    f.name
                );
            }
        }
    }
}
