//! The OPTIONS answer, generated from the field tables in the shape Django REST framework's
//! `SimpleMetadata` renders: `name`, `description`, `renders`, `parses` and, for what the
//! caller may write, `actions` → `POST` (on a list) or `PUT` (on an object) → field → info.
//!
//! Field info follows `SimpleMetadata.get_field_info`: `type` (its label for the serializer
//! field class), `required`, `read_only`, `label`, then `help_text`, `max_length`,
//! `min_value`, `max_value` when set; `child` for a list field; `children` for a nested
//! object; `choices` (`[{value, display_name}]`) for a writable choice field. The types, as
//! DRF names the serializer fields these would be:
//! - strings and IP addresses (`CharField`, `IPAddressField`): `"string"`;
//! - `"integer"`, `"boolean"`, `"choice"`, `"datetime"`;
//! - foreign keys (`PrimaryKeyRelatedField`): `"field"`, never with choices (DRF lists no
//!   choices for related fields);
//! - `interfaces` / `protocols` (a nested serializer with `many=True`, i.e. a
//!   `ListSerializer`): `"field"` with a `child` of type `"nested object"` and its `children`;
//! - `overriden_fields` (a `ListField` of `ChoiceField`): `"list"` with a `"choice"` child.
//!
//! One difference: serde_json's map keeps keys sorted, so fields come alphabetically rather
//! than in table order (JSON objects are unordered; DRF clients index them by name).

use serde_json::{json, Map, Value};

use crate::field::{FieldKind, FieldSpec};
use crate::object::ObjectType;

/// Whether OPTIONS was asked of the list (`/rest/…/<object>/`) or of one object
/// (`/rest/…/<object>/<pk>/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    List,
    Object,
}

/// The whole OPTIONS body for `ty` at `target`. `renders` and `parses` are the media types
/// the server answers and accepts there. `actions` is present when the type is writable and
/// `may_write` (DRF leaves out the methods whose permission check fails): `POST` for a list,
/// `PUT` for an object.
pub fn options_metadata(
    ty: ObjectType,
    target: Target,
    renders: &[&str],
    parses: &[&str],
    may_write: bool,
) -> Value {
    let suffix = match target {
        Target::List => "List",
        Target::Object => "Instance",
    };
    let mut out = Map::new();
    out.insert(
        "name".to_owned(),
        Value::String(format!("{} {suffix}", ty.verbose_name())),
    );
    out.insert("description".to_owned(), json!(ty.description()));
    out.insert("renders".to_owned(), json!(renders));
    out.insert("parses".to_owned(), json!(parses));
    if ty.writable() && may_write {
        let method = match target {
            Target::List => "POST",
            Target::Object => "PUT",
        };
        let mut actions = Map::new();
        actions.insert(method.to_owned(), Value::Object(fields_info(ty)));
        out.insert("actions".to_owned(), Value::Object(actions));
    }
    Value::Object(out)
}

/// `{field: info}` for every field of `ty`'s table (what one entry of `actions` holds).
pub fn fields_info(ty: ObjectType) -> Map<String, Value> {
    ty.fields()
        .iter()
        .map(|f| (f.name.to_owned(), field_info(ty, f)))
        .collect()
}

fn field_info(ty: ObjectType, f: &FieldSpec) -> Value {
    let mut info = Map::new();
    let type_name = match f.kind {
        FieldKind::String { .. } | FieldKind::IpAddress => "string",
        FieldKind::Integer { .. } => "integer",
        FieldKind::Boolean => "boolean",
        FieldKind::Choice(_) => "choice",
        FieldKind::DateTime => "datetime",
        FieldKind::ForeignKey { .. } | FieldKind::Interfaces | FieldKind::Protocols => "field",
        FieldKind::FieldNames => "list",
    };
    info.insert("type".to_owned(), json!(type_name));
    info.insert("required".to_owned(), json!(f.required));
    info.insert("read_only".to_owned(), json!(f.read_only));
    info.insert("label".to_owned(), json!(f.label));
    if !f.help_text.is_empty() {
        info.insert("help_text".to_owned(), json!(f.help_text));
    }
    match f.kind {
        FieldKind::String { max_length, .. } => {
            info.insert("max_length".to_owned(), json!(max_length));
        }
        FieldKind::Integer { min, max } => {
            // A bound at the type's limit is no bound a client needs to see (DRF's
            // `IntegerField` has none unless one is declared).
            if min != i64::MIN {
                info.insert("min_value".to_owned(), json!(min));
            }
            if max != i64::MAX {
                info.insert("max_value".to_owned(), json!(max));
            }
        }
        FieldKind::Choice(choices) if !f.read_only => {
            let list: Vec<Value> = choices
                .iter()
                .map(|c| json!({"value": c.value, "display_name": c.display_name}))
                .collect();
            info.insert("choices".to_owned(), Value::Array(list));
        }
        FieldKind::Interfaces => {
            info.insert("child".to_owned(), nested(ObjectType::NetworkInterface));
        }
        FieldKind::Protocols => {
            info.insert("child".to_owned(), nested(ObjectType::Protocol));
        }
        FieldKind::FieldNames => {
            let choices: Vec<Value> = ty
                .inheritable_fields()
                .map(|c| json!({"value": c.name, "display_name": c.label}))
                .collect();
            info.insert(
                "child".to_owned(),
                json!({"type": "choice", "required": true, "read_only": false,
                    "choices": choices}),
            );
        }
        _ => {}
    }
    Value::Object(info)
}

/// One entry of `interfaces` / `protocols`: a nested serializer with the entry type's `pk`,
/// `name` and `active`. The child of a `ListSerializer` is bound without a name, so it has no
/// label; `pk` is accepted in entries (to keep an existing one), so it is not read-only here.
fn nested(entry_ty: ObjectType) -> Value {
    let mut children = Map::new();
    for f in entry_ty.fields() {
        if f.name == "pk" {
            let mut pk = f.to_owned();
            pk.read_only = false;
            children.insert(f.name.to_owned(), field_info(entry_ty, &pk));
        } else if f.writable() {
            children.insert(f.name.to_owned(), field_info(entry_ty, f));
        }
    }
    json!({"type": "nested object", "required": false, "read_only": false,
        "children": children})
}

#[cfg(test)]
mod tests {
    use super::*;

    const RENDERS: &[&str] = &["application/json", "text/html"];
    const PARSES: &[&str] = &["application/json"];

    #[test]
    fn a_list_describes_post_and_an_object_put() {
        let m = options_metadata(
            ObjectType::StamusAppliance,
            Target::List,
            RENDERS,
            PARSES,
            true,
        );
        assert_eq!(m["name"], "Stamus Appliance List");
        assert_eq!(m["renders"], json!(["application/json", "text/html"]));
        assert!(m["actions"].get("PUT").is_none());
        let post = &m["actions"]["POST"];
        assert_eq!(
            post["name"],
            json!({"type": "string", "required": true, "read_only": false, "label": "Name",
                "help_text": "Host name of the probe, as its events carry it.",
                "max_length": 100})
        );
        assert_eq!(
            post["pk"],
            json!({"type": "integer", "required": false, "read_only": true, "label": "ID"})
        );
        assert_eq!(post["ip_address"]["type"], "string");
        assert_eq!(post["created_date"]["type"], "datetime");
        assert_eq!(post["parent_tmpl"]["type"], "field");
        assert!(post["parent_tmpl"].get("choices").is_none());
        assert_eq!(post["capture_method"]["type"], "choice");
        assert_eq!(
            post["capture_method"]["choices"][0],
            json!({"value": "af-packet", "display_name": "AF_PACKET"})
        );
        assert_eq!(post["log_retention_days"]["max_value"], 3650);

        let m = options_metadata(
            ObjectType::StamusAppliance,
            Target::Object,
            RENDERS,
            PARSES,
            true,
        );
        assert_eq!(m["name"], "Stamus Appliance Instance");
        assert!(m["actions"].get("POST").is_none());
        assert!(m["actions"]["PUT"].is_object());
    }

    #[test]
    fn interfaces_are_a_list_serializer_of_nested_objects() {
        let info = &fields_info(ObjectType::StamusApplianceTemplate)["interfaces"];
        assert_eq!(info["type"], "field");
        let child = &info["child"];
        assert_eq!(child["type"], "nested object");
        assert!(child.get("label").is_none());
        assert_eq!(
            child["children"]["active"],
            json!({"type": "boolean", "required": true, "read_only": false, "label": "Active"})
        );
        assert_eq!(child["children"]["name"]["max_length"], 64);
        assert_eq!(child["children"]["pk"]["read_only"], false);
        assert!(child["children"].get("appliance").is_none());
    }

    #[test]
    fn overriden_fields_offers_the_inheritable_fields() {
        let info = &fields_info(ObjectType::StamusAppliance)["overriden_fields"];
        assert_eq!(info["type"], "list");
        let values: Vec<&str> = info["child"]["choices"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["value"].as_str())
            .collect();
        let expected: Vec<&str> = ObjectType::StamusAppliance
            .inheritable_fields()
            .map(|f| f.name)
            .collect();
        assert_eq!(values, expected);
        assert!(!values.contains(&"name"));
    }

    #[test]
    fn read_only_types_and_callers_get_no_actions() {
        let m = options_metadata(ObjectType::Appliances, Target::List, RENDERS, PARSES, true);
        assert_eq!(m["name"], "Appliances List");
        assert!(m.get("actions").is_none());
        let m = options_metadata(ObjectType::Protocol, Target::List, RENDERS, PARSES, false);
        assert!(m.get("actions").is_none());
        // A read-only choice lists no choices (the union's `type`).
        let info = &fields_info(ObjectType::Appliances)["type"];
        assert_eq!(info["type"], "choice");
        assert!(info.get("choices").is_none());
    }
}
