//! The `/rest/` action history (`/rest/rules/history/`): every write made through the Django
//! REST framework surface leaves one entry, written by the engine after the write succeeded,
//! so no resource can forget to (hooks add richer entries for their own actions). Entries are
//! domain rows, not the activity log: they are listed, filtered and paged like any `/rest/`
//! object, and they name what was acted on (`ua_objects`) so a client can follow the link —
//! until the object is deleted, when its `pk` is dropped from every entry.

use crate::resources::{Change, Write};
use crate::{Result, Stella};
use serde_json::{json, Value};
use stella_core::catalog::{
    NETWORK_INTERFACES, PROBE_PROTOCOLS, RULE_CATEGORIES, RULE_SOURCES, STAMUS_APPLIANCES,
    STAMUS_APPLIANCE_TEMPLATES,
};
use stella_core::dialect::Dialect;
use stella_core::resource::{Op, ResourceSpec};
use stella_core::Principal;
use stella_store::UserAction;

/// The object name of a `/rest/` resource: the last segment of its path
/// (`appliances/suricata_appliance` → `suricata_appliance`).
fn object_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The action types other than a create, edit or delete, as their entries spell them, with
/// a title each (`rules.rs` writes them).
const ACTION_TYPES: &[(&str, &str)] = &[
    ("upload_source", "Upload source"),
    ("disable_rule", "Disable rule"),
    ("enable_rule", "Enable rule"),
    ("disable_category", "Disable category"),
    ("enable_category", "Enable category"),
];

/// Every action type the history can hold, with its title: a create, edit and delete of
/// each writable `/rest/` object, and the actions. Sorted by type.
pub fn action_types() -> Vec<(String, String)> {
    let mut types: Vec<(String, String)> = ACTION_TYPES
        .iter()
        .map(|(t, title)| ((*t).to_owned(), (*title).to_owned()))
        .collect();
    for spec in stella_core::catalog::REST {
        let object = object_name(spec.name);
        let words = object.replace('_', " ");
        for (op, verb, title) in [
            (Op::Create, "create", "Create"),
            (Op::Update, "edit", "Edit"),
            (Op::Delete, "delete", "Delete"),
        ] {
            if spec.ops.contains(&op) {
                types.push((format!("{verb}_{object}"), format!("{title} {words}")));
            }
        }
    }
    types.sort();
    types
}

/// Objects deleted along with their owner, which entries may name by pk: (owner, owned
/// resource, the owned rows' column naming the owner). A source's categories go by cascade, a
/// probe's or template's interfaces and protocols with it or when a write of its list drops
/// them. Rules are not here: entries name them by sid, which outlives any one row.
const OWNED: &[(&ResourceSpec, &ResourceSpec, &str)] = &[
    (&RULE_SOURCES, &RULE_CATEGORIES, "source"),
    (&STAMUS_APPLIANCES, &NETWORK_INTERFACES, "appliance"),
    (&STAMUS_APPLIANCES, &PROBE_PROTOCOLS, "appliance"),
    (&STAMUS_APPLIANCE_TEMPLATES, &NETWORK_INTERFACES, "template"),
    (&STAMUS_APPLIANCE_TEMPLATES, &PROBE_PROTOCOLS, "template"),
];

/// The objects one owner holds, as history names them: (object name, pk).
pub(crate) type OwnedObjects = Vec<(&'static str, i64)>;

/// `description_raw` with each `{key}` replaced by `ua_objects[key].value`.
pub fn render(raw: &str, objects: &Value) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let key = &after[..end];
                match objects.get(key).and_then(|o| o.get("value")) {
                    Some(Value::String(v)) => out.push_str(v),
                    Some(v) => out.push_str(&v.to_string()),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Who asked for a `/rest/` action, as the history keeps it: the body's `comment` and the
/// client's address.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestContext<'a> {
    pub comment: Option<&'a str>,
    pub client_ip: Option<&'a str>,
}

/// One history entry before it is attributed: `ua_objects` names each object by
/// `{type, pk | sid, value}` and `description_raw` refers to them by key; the entry is filed
/// under `filed` (type, pk).
pub(crate) struct Entry<'a> {
    pub tenant_id: Option<String>,
    pub action_type: String,
    pub description_raw: String,
    pub ua_objects: Value,
    pub filed: (&'a str, &'a str),
}

impl Stella {
    /// The action types an entry may have, for whoever may read the history:
    /// `{"action_type_list": {"<type>": "<title>", …}}` (Scirius' `get_action_type_list`).
    pub fn history_action_types(&self, caller: &Principal) -> Result<Value> {
        self.resource_permits(caller, &stella_core::catalog::USER_ACTIONS, false)?;
        let list: serde_json::Map<String, Value> = action_types()
            .into_iter()
            .map(|(t, title)| (t, Value::String(title)))
            .collect();
        Ok(json!({ "action_type_list": list }))
    }

    /// What `spec`'s object `id` owns (nothing for a resource that owns nothing, without a
    /// query), read before a write that may delete some of it so that
    /// [`Stella::forget_dropped`] can tell what went.
    pub(crate) async fn owned_objects(
        &self,
        spec: &ResourceSpec,
        id: &str,
    ) -> Result<OwnedObjects> {
        let mut found = Vec::new();
        let Ok(owner) = id.parse::<i64>() else {
            return Ok(found);
        };
        for (_, owned, column) in OWNED.iter().filter(|(o, _, _)| std::ptr::eq(*o, spec)) {
            for row in self
                .db
                .resource_rows_in(owned, column, &[owner], i64::MAX)
                .await?
            {
                if let Some(pk) = row.get("id").and_then(Value::as_i64) {
                    found.push((object_name(owned.name), pk));
                }
            }
        }
        Ok(found)
    }

    /// After a write to `spec`'s object `id`: the objects of `before` it no longer owns (all of
    /// them once it is deleted) are gone, and every entry naming them loses their pk, as the
    /// object's own entries do on its delete.
    pub(crate) async fn forget_dropped(
        &self,
        spec: &ResourceSpec,
        id: &str,
        before: OwnedObjects,
    ) -> Result<()> {
        if before.is_empty() {
            return Ok(());
        }
        let now = self.owned_objects(spec, id).await?;
        for (kind, pk) in before.into_iter().filter(|o| !now.contains(o)) {
            self.db
                .forget_user_action_object(kind, &pk.to_string())
                .await?;
        }
        Ok(())
    }

    /// Records an entry for `caller`: `ua_objects` gains the caller as `user`, and
    /// `description` is `description_raw` rendered. Used for every write through `/rest/` and
    /// for actions other than a create, update or delete (a ruleset's disable/enable, a
    /// source's upload).
    pub(crate) async fn record_rest_action(
        &self,
        caller: &Principal,
        entry: Entry<'_>,
        cx: RestContext<'_>,
    ) -> Result<()> {
        let mut ua_objects = entry.ua_objects;
        ua_objects["user"] = json!({"type": "user", "pk": caller.user_id, "value": caller.email});
        let action = UserAction {
            tenant_id: entry.tenant_id,
            user_id: caller.user_id.clone(),
            username: caller.email.clone(),
            date: self.now_ms(),
            action_type: entry.action_type,
            comment: cx.comment.map(str::to_owned),
            client_ip: cx.client_ip.map(str::to_owned),
            description: render(&entry.description_raw, &ua_objects),
            description_raw: entry.description_raw,
            ua_objects,
            object_type: entry.filed.0.to_owned(),
            object_pk: entry.filed.1.to_owned(),
        };
        self.db.insert_user_action(&action).await?;
        Ok(())
    }

    /// Records a write made through `/rest/` (a no-op for the other surface).
    pub(crate) async fn record_rest_write(
        &self,
        caller: &Principal,
        change: &Change<'_>,
        write: &Write<'_>,
    ) -> Result<()> {
        if write.dialect != Dialect::Drf {
            return Ok(());
        }
        let object = object_name(change.spec.name);
        let pk = change.object.get("id").cloned().unwrap_or(Value::Null);
        let pk_text = match &pk {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let value = change
            .object
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| pk_text.clone(), str::to_owned);
        let (verb, past) = match change.op {
            Op::Create => ("create", "created"),
            Op::Delete => ("delete", "deleted"),
            _ => ("edit", "edited"),
        };
        let mut target = json!({"type": object, "value": value});
        if change.op != Op::Delete {
            target["pk"] = pk;
        }
        let description_raw = format!(
            "{{user}} has {past} {} {{{object}}}",
            object.replace('_', " ")
        );
        let tenant_id = change
            .object
            .get("tenant_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let entry = Entry {
            tenant_id,
            action_type: format!("{verb}_{object}"),
            description_raw,
            ua_objects: json!({ object: target }),
            filed: (object, &pk_text),
        };
        let cx = RestContext {
            comment: write.comment,
            client_ip: write.client_ip,
        };
        self.record_rest_action(caller, entry, cx).await?;
        if change.op == Op::Delete {
            self.db.forget_user_action_object(object, &pk_text).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each owned resource has the column naming its owner, and its object name is the one
    /// its entries use.
    #[test]
    fn owned_objects_name_their_owner_by_a_field() {
        for (owner, owned, column) in OWNED {
            assert!(owned.field(column).is_some(), "{}.{column}", owned.name);
            assert_ne!(owner.name, owned.name);
        }
        assert_eq!(object_name(RULE_CATEGORIES.name), "category");
    }

    #[test]
    fn descriptions_render_their_objects_and_keep_unknown_keys() {
        let objects = json!({
            "user": {"type": "user", "value": "ana@example.com"},
            "ruleset": {"type": "ruleset", "pk": 3, "value": "prod"},
            "n": {"type": "x", "value": 7}
        });
        assert_eq!(
            render(
                "{user} has disabled {n} rules in ruleset {ruleset}",
                &objects
            ),
            "ana@example.com has disabled 7 rules in ruleset prod"
        );
        assert_eq!(render("{missing} and {", &objects), "{missing} and {");
        assert_eq!(
            object_name("appliances/suricata_appliance"),
            "suricata_appliance"
        );
    }

    #[test]
    fn action_types_cover_the_writes_and_the_actions() {
        let types = action_types();
        let has = |t: &str| types.iter().any(|(k, _)| k == t);
        assert!(has("create_suricata_appliance") && has("edit_stamus_appliance"));
        assert!(has("disable_category") && has("upload_source"));
        // Read-only objects have no write types.
        assert!(!has("create_rule") && !has("create_history") && !has("edit_appliances"));
    }
}
