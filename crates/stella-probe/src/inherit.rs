//! Template inheritance as a pure function: an object's effective values from its own values
//! and its template chain. Nothing is copied into children, so a change to a template shows
//! in every child the next time it is read.

use serde_json::{Map, Value};

use crate::object::ObjectType;

/// One template of a chain: its own stored values and its own `overriden_fields`.
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    pub values: &'a Map<String, Value>,
    pub overriden_fields: &'a [String],
}

/// The values an object of type `ty` shows.
///
/// `chain` is its templates, the parent first, then the grandparent, and so on (as
/// [`crate::resolve_chain`] returns them); every layer is a `stamus_appliance_template`.
/// For each field of `ty`'s table:
/// - a non-inheritable field is the object's own value;
/// - an inheritable field listed in `overriden_fields`, or of an object without templates, is
///   the object's own value;
/// - any other inheritable field is the parent's effective value, computed the same way
///   (so a template's override applies to everything below it).
///
/// A field is absent from the result when the value it would take is absent. Keys outside
/// the table are never in the result, whatever the inputs hold. Interfaces and protocols are
/// whole fields: a child either takes the template's whole list or keeps its own.
pub fn effective(
    ty: ObjectType,
    own: &Map<String, Value>,
    overriden_fields: &[String],
    chain: &[Layer<'_>],
) -> Map<String, Value> {
    // From the farthest template down: each level resolves against the one above it.
    let mut inherited: Option<Map<String, Value>> = None;
    for layer in chain.iter().rev() {
        inherited = Some(merge(
            ObjectType::StamusApplianceTemplate,
            layer.values,
            layer.overriden_fields,
            inherited.as_ref(),
        ));
    }
    merge(ty, own, overriden_fields, inherited.as_ref())
}

fn merge(
    ty: ObjectType,
    own: &Map<String, Value>,
    overriden_fields: &[String],
    parent: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for f in ty.fields() {
        let source = match parent {
            Some(p) if f.inheritable && !overriden_fields.iter().any(|o| o == f.name) => p,
            _ => own,
        };
        if let Some(v) = source.get(f.name) {
            out.insert(f.name.to_owned(), v.clone());
        }
    }
    out
}

/// Checks an `overriden_fields` value for `ty`: a list of strings, each the name of one of
/// `ty`'s inheritable fields, none twice. Returns the names, or one message per problem (the
/// item's index first, as Django REST framework keys a list's errors).
pub fn validate_overriden_fields(
    ty: ObjectType,
    value: &Value,
) -> Result<Vec<String>, Vec<String>> {
    let Value::Array(items) = value else {
        return Err(vec![crate::validate::not_a_list(value)]);
    };
    let mut names: Vec<String> = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(name) = item.as_str() else {
            errors.push(format!(
                "Item {i}: {} is not a valid choice.",
                crate::validate::quoted(item)
            ));
            continue;
        };
        if !ty.inheritable_fields().any(|f| f.name == name) {
            errors.push(format!("Item {i}: \"{name}\" is not a valid choice."));
        } else if names.iter().any(|n| n == name) {
            errors.push(format!("Item {i}: \"{name}\" is listed twice."));
        } else {
            names.push(name.to_owned());
        }
    }
    if errors.is_empty() {
        Ok(names)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_probe_takes_the_template_value_unless_it_overrides_it() {
        let tmpl = map(json!({"pk": 7, "name": "branch", "capture_method": "pcap",
            "bpf_filter": "not port 22", "nsm_enabled": false}));
        let probe = map(json!({"pk": 3, "name": "probe-1", "ip_address": "10.0.0.1",
            "parent_tmpl": 7, "capture_method": "af-packet", "bpf_filter": "",
            "nsm_enabled": true, "overriden_fields": ["nsm_enabled"]}));
        let chain = [Layer {
            values: &tmpl,
            overriden_fields: &[],
        }];
        let eff = effective(
            ObjectType::StamusAppliance,
            &probe,
            &["nsm_enabled".to_owned()],
            &chain,
        );
        assert_eq!(eff["capture_method"], "pcap");
        assert_eq!(eff["bpf_filter"], "not port 22");
        assert_eq!(eff["nsm_enabled"], true);
        // Identity is never inherited.
        assert_eq!(eff["name"], "probe-1");
        assert_eq!(eff["pk"], 3);
        assert_eq!(eff["parent_tmpl"], 7);
    }

    #[test]
    fn a_middle_template_override_applies_below_it() {
        let grand = map(json!({"capture_method": "pcap", "log_retention_days": 90}));
        let parent = map(json!({"capture_method": "dpdk", "log_retention_days": 7}));
        let child = map(json!({"capture_method": "netmap", "log_retention_days": 1}));
        let parent_over = ["capture_method".to_owned()];
        let chain = [
            Layer {
                values: &parent,
                overriden_fields: &parent_over,
            },
            Layer {
                values: &grand,
                overriden_fields: &[],
            },
        ];
        let eff = effective(ObjectType::StamusAppliance, &child, &[], &chain);
        assert_eq!(eff["capture_method"], "dpdk");
        assert_eq!(eff["log_retention_days"], 90);
    }

    #[test]
    fn interfaces_inherit_as_a_whole() {
        let tmpl = map(json!({"interfaces": [{"pk": 1, "name": "eth1", "active": true}]}));
        let probe = map(
            json!({"interfaces": [{"pk": 2, "name": "eth2", "active": false},
            {"pk": 3, "name": "eth3", "active": true}]}),
        );
        let chain = [Layer {
            values: &tmpl,
            overriden_fields: &[],
        }];
        let eff = effective(ObjectType::StamusAppliance, &probe, &[], &chain);
        assert_eq!(eff["interfaces"], tmpl["interfaces"]);
        let eff = effective(
            ObjectType::StamusAppliance,
            &probe,
            &["interfaces".to_owned()],
            &chain,
        );
        assert_eq!(eff["interfaces"], probe["interfaces"]);
    }

    #[test]
    fn overriden_fields_are_checked() {
        let ty = ObjectType::StamusAppliance;
        assert_eq!(
            validate_overriden_fields(ty, &json!(["bpf_filter", "interfaces"])),
            Ok(vec!["bpf_filter".to_owned(), "interfaces".to_owned()])
        );
        assert_eq!(
            validate_overriden_fields(ty, &json!(["name", "bpf_filter", "bpf_filter", 3])),
            Err(vec![
                "Item 0: \"name\" is not a valid choice.".to_owned(),
                "Item 2: \"bpf_filter\" is listed twice.".to_owned(),
                "Item 3: \"3\" is not a valid choice.".to_owned(),
            ])
        );
        assert!(validate_overriden_fields(ty, &json!("bpf_filter")).is_err());
        assert!(
            validate_overriden_fields(ObjectType::SuricataAppliance, &json!(["ruleset"])).is_err()
        );
    }
}
