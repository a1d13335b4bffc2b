//! Write bodies checked against a field table, answering errors the way Django REST framework
//! does: `{"field": ["message", …]}`, with its own messages where it has one, so that clients
//! written against Stamus' API read them unchanged.
//!
//! As in Django REST framework, members a type does not have and read-only members are
//! ignored (never stored), and POST and PUT require the required fields while PATCH does not.
//! Stricter than it on types: a string is a JSON string, an integer a JSON integer and a
//! boolean `true` or `false` (DRF also takes `"12"`, `"true"` or `1`); a wrong type is an
//! error, never a guess.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::field::{FieldKind, FieldSpec};
use crate::inherit::validate_overriden_fields;
use crate::object::ObjectType;

/// Errors by field, in Django REST framework's shape. Errors about the body as a whole are
/// under [`NON_FIELD_ERRORS`].
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Django REST framework's key for errors that are about no one field.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// The most entries an `interfaces` list may hold.
pub const MAX_INTERFACES: usize = 256;
/// The most entries a `protocols` list may hold.
pub const MAX_PROTOCOLS: usize = 64;

/// Which write a body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// POST: required fields must be present; left-out fields get their defaults.
    Create,
    /// PUT: required fields must be present; left-out optional fields keep their value.
    Replace,
    /// PATCH: only what is present is checked and changed.
    Partial,
}

/// Checks a write body for `ty` and returns the cleaned values: only writable fields of the
/// table, strings trimmed, IP addresses in canonical form, interface and protocol entries
/// reduced to `name`, `active` and (when given) `pk`. For a read-only type every field is
/// read-only, so the result is empty.
pub fn validate_write(
    ty: ObjectType,
    body: &Value,
    mode: WriteMode,
) -> Result<Map<String, Value>, FieldErrors> {
    let Value::Object(members) = body else {
        return Err(FieldErrors::from([(
            NON_FIELD_ERRORS.to_owned(),
            vec![format!(
                "Invalid data. Expected a dictionary, but got {}.",
                type_name(body)
            )],
        )]));
    };
    let mut out = Map::new();
    let mut errors = FieldErrors::new();
    for f in ty.fields().iter().filter(|f| f.writable()) {
        match members.get(f.name) {
            Some(v) => match clean(ty, f, v) {
                Ok(c) => {
                    out.insert(f.name.to_owned(), c);
                }
                Err(msgs) => {
                    errors.insert(f.name.to_owned(), msgs);
                }
            },
            None if f.required && mode != WriteMode::Partial => {
                errors.insert(f.name.to_owned(), vec![REQUIRED.to_owned()]);
            }
            None => {
                if let (WriteMode::Create, Some(d)) = (mode, f.default) {
                    out.insert(f.name.to_owned(), d.to_value());
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

const REQUIRED: &str = "This field is required.";

/// One value of field `f` of `ty`.
fn clean(ty: ObjectType, f: &FieldSpec, v: &Value) -> Result<Value, Vec<String>> {
    if v.is_null() {
        return if f.nullable {
            Ok(Value::Null)
        } else {
            Err(vec!["This field may not be null.".to_owned()])
        };
    }
    match f.kind {
        FieldKind::FieldNames => validate_overriden_fields(ty, v)
            .map(|names| names.into_iter().map(Value::String).collect()),
        FieldKind::Interfaces => entries(ObjectType::NetworkInterface, MAX_INTERFACES, v),
        FieldKind::Protocols => entries(ObjectType::Protocol, MAX_PROTOCOLS, v),
        kind => scalar(kind, v).map_err(|m| vec![m]),
    }
}

fn scalar(kind: FieldKind, v: &Value) -> Result<Value, String> {
    match kind {
        FieldKind::String {
            max_length,
            allow_blank,
            rule,
        } => {
            let Value::String(s) = v else {
                return Err("Not a valid string.".to_owned());
            };
            let t = s.trim();
            if t.is_empty() {
                return if allow_blank {
                    Ok(Value::String(String::new()))
                } else {
                    Err("This field may not be blank.".to_owned())
                };
            }
            if t.chars().count() > max_length {
                return Err(format!(
                    "Ensure this field has no more than {max_length} characters."
                ));
            }
            if !rule.allows(t) {
                return Err(rule.message().to_owned());
            }
            Ok(Value::String(t.to_owned()))
        }
        FieldKind::Integer { min, max } => {
            let Some(i) = v.as_i64() else {
                return Err("A valid integer is required.".to_owned());
            };
            if i < min {
                Err(format!(
                    "Ensure this value is greater than or equal to {min}."
                ))
            } else if i > max {
                Err(format!("Ensure this value is less than or equal to {max}."))
            } else {
                Ok(Value::from(i))
            }
        }
        FieldKind::Boolean => match v {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            _ => Err("Must be a valid boolean.".to_owned()),
        },
        FieldKind::Choice(choices) => match v.as_str() {
            Some(s) if choices.iter().any(|c| c.value == s) => Ok(Value::String(s.to_owned())),
            _ => Err(format!("{} is not a valid choice.", quoted(v))),
        },
        FieldKind::IpAddress => v
            .as_str()
            .and_then(|s| s.trim().parse::<IpAddr>().ok())
            .map(|ip| Value::String(ip.to_string()))
            .ok_or_else(|| "Enter a valid IPv4 or IPv6 address.".to_owned()),
        FieldKind::ForeignKey { .. } => pk(v),
        // Set by the server only (the tables keep timestamps read-only); lists are handled by
        // `clean`.
        FieldKind::DateTime
        | FieldKind::Interfaces
        | FieldKind::Protocols
        | FieldKind::FieldNames => Err("This field is read-only.".to_owned()),
    }
}

/// A primary key: a JSON integer of at least 1.
fn pk(v: &Value) -> Result<Value, String> {
    match v {
        Value::Number(_) => match v.as_i64() {
            Some(i) if i >= 1 => Ok(Value::from(i)),
            _ => Err(format!("Invalid pk {} - object does not exist.", quoted(v))),
        },
        _ => Err(format!(
            "Incorrect type. Expected pk value, received {}.",
            type_name(v)
        )),
    }
}

/// An `interfaces` or `protocols` list: each entry is checked against the writable fields of
/// `entry_ty` (`name`, `active`, both required) and may carry the `pk` of an existing entry;
/// other members are ignored. No two entries share a name or a pk. Messages start with the
/// entry's index (from 0) and the member they are about.
fn entries(entry_ty: ObjectType, max_items: usize, v: &Value) -> Result<Value, Vec<String>> {
    let Value::Array(items) = v else {
        return Err(vec![not_a_list(v)]);
    };
    if items.len() > max_items {
        return Err(vec![format!(
            "Ensure this field has no more than {max_items} elements."
        )]);
    }
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(members) = item else {
            errors.push(format!(
                "Item {i}: Invalid data. Expected a dictionary, but got {}.",
                type_name(item)
            ));
            continue;
        };
        let mut entry = Map::new();
        let mut ok = true;
        for f in entry_ty.fields().iter().filter(|f| f.writable()) {
            let result = match members.get(f.name) {
                Some(m) => clean(entry_ty, f, m),
                None => Err(vec![REQUIRED.to_owned()]),
            };
            match result {
                Ok(c) => {
                    entry.insert(f.name.to_owned(), c);
                }
                Err(msgs) => {
                    ok = false;
                    errors.extend(
                        msgs.into_iter()
                            .map(|m| format!("Item {i}: {}: {m}", f.name)),
                    );
                }
            }
        }
        if let Some(p) = members.get("pk") {
            match pk(p) {
                Ok(c) => {
                    entry.insert("pk".to_owned(), c);
                }
                Err(m) => {
                    ok = false;
                    errors.push(format!("Item {i}: pk: {m}"));
                }
            }
        }
        if !ok {
            continue;
        }
        for key in ["name", "pk"] {
            if let Some(val) = entry.get(key) {
                if out.iter().any(|e| e.get(key) == Some(val)) {
                    ok = false;
                    errors.push(format!("Item {i}: {key}: {} is listed twice.", quoted(val)));
                }
            }
        }
        if ok {
            out.push(Value::Object(entry));
        }
    }
    if errors.is_empty() {
        Ok(Value::Array(out))
    } else {
        Err(errors)
    }
}

/// Python's name for the type a JSON value decodes to, as Django REST framework's messages
/// show it.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

pub(crate) fn not_a_list(v: &Value) -> String {
    format!(
        "Expected a list of items but got type \"{}\".",
        type_name(v)
    )
}

/// A value quoted for a message, cut to 80 characters so that a huge input is not echoed.
pub(crate) fn quoted(v: &Value) -> String {
    const MAX: usize = 80;
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("\"{}…\"", &text[..i]),
        None => format!("\"{text}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errs(pairs: &[(&str, &[&str])]) -> FieldErrors {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn post_fills_defaults_and_ignores_unknown_and_read_only_members() {
        let body = json!({"name": "probe-1", "ip_address": " 10.0.0.1 ", "pk": 99,
            "version": "40.0.1", "tenant": "other", "comment": "new probe", "admin": true});
        let out = validate_write(ObjectType::StamusAppliance, &body, WriteMode::Create).unwrap();
        assert_eq!(out["name"], "probe-1");
        assert_eq!(out["ip_address"], "10.0.0.1");
        assert_eq!(out["capture_method"], "af-packet");
        assert_eq!(out["parent_tmpl"], Value::Null);
        assert_eq!(out["overriden_fields"], json!([]));
        assert_eq!(out["interfaces"], json!([]));
        for ignored in ["pk", "version", "tenant", "comment", "admin"] {
            assert!(!out.contains_key(ignored), "{ignored}");
        }
    }

    #[test]
    fn put_requires_required_fields_and_patch_does_not() {
        let body = json!({"descr": "lab"});
        let e = validate_write(ObjectType::StamusAppliance, &body, WriteMode::Replace).unwrap_err();
        assert_eq!(
            e,
            errs(&[
                ("ip_address", &["This field is required."]),
                ("name", &["This field is required."]),
            ])
        );
        let out = validate_write(ObjectType::StamusAppliance, &body, WriteMode::Partial).unwrap();
        assert_eq!(Value::Object(out), json!({"descr": "lab"}));
        // PUT leaves optional fields out rather than resetting them to their defaults.
        let out = validate_write(
            ObjectType::StamusApplianceTemplate,
            &json!({"name": "Branch offices"}),
            WriteMode::Replace,
        )
        .unwrap();
        assert_eq!(Value::Object(out), json!({"name": "Branch offices"}));
    }

    #[test]
    fn wrong_types_and_values_are_named_per_field() {
        let body = json!({"name": "probe one", "ip_address": "10.0.0.256",
            "capture_method": "raw", "nsm_enabled": "true", "log_retention_days": 0,
            "bpf_filter": 5, "ruleset": "3", "parent_tmpl": 0, "descr": null,
            "management_interface": "eth/0"});
        let e = validate_write(ObjectType::StamusAppliance, &body, WriteMode::Partial).unwrap_err();
        assert_eq!(
            e,
            errs(&[
                ("bpf_filter", &["Not a valid string."]),
                ("capture_method", &["\"raw\" is not a valid choice."]),
                ("descr", &["This field may not be null."]),
                ("ip_address", &["Enter a valid IPv4 or IPv6 address."]),
                (
                    "log_retention_days",
                    &["Ensure this value is greater than or equal to 1."]
                ),
                (
                    "management_interface",
                    &[
                        "Enter a valid interface name: ASCII letters, digits, '.', '_', '-' \
                       and ':', starting with a letter or a digit."
                    ]
                ),
                ("name", &["Must not contain whitespace or null characters."]),
                ("nsm_enabled", &["Must be a valid boolean."]),
                (
                    "parent_tmpl",
                    &["Invalid pk \"0\" - object does not exist."]
                ),
                (
                    "ruleset",
                    &["Incorrect type. Expected pk value, received str."]
                ),
            ])
        );
    }

    #[test]
    fn strings_are_bounded_and_blank_is_per_field() {
        let long = "x".repeat(101);
        let e = validate_write(
            ObjectType::StamusApplianceTemplate,
            &json!({"name": long, "descr": "   "}),
            WriteMode::Partial,
        )
        .unwrap_err();
        assert_eq!(
            e,
            errs(&[(
                "name",
                &["Ensure this field has no more than 100 characters."]
            )])
        );
        let e = validate_write(
            ObjectType::StamusApplianceTemplate,
            &json!({"name": "  "}),
            WriteMode::Partial,
        )
        .unwrap_err();
        assert_eq!(e, errs(&[("name", &["This field may not be blank."])]));
        let out = validate_write(
            ObjectType::StamusApplianceTemplate,
            &json!({"descr": "   "}),
            WriteMode::Partial,
        )
        .unwrap();
        assert_eq!(out["descr"], "");
    }

    #[test]
    fn ipv6_is_stored_canonical() {
        let out = validate_write(
            ObjectType::SuricataAppliance,
            &json!({"ip_address": "2001:DB8:0:0::1"}),
            WriteMode::Partial,
        )
        .unwrap();
        assert_eq!(out["ip_address"], "2001:db8::1");
        // Leading zeros are ambiguous (octal to some parsers) and refused, as Python's
        // ipaddress refuses them; zone ids and prefixes are not addresses.
        for bad in [
            "010.0.0.1",
            "10.0.0",
            "fe80::1%eth0",
            "10.0.0.0/8",
            "",
            "host",
        ] {
            let e = validate_write(
                ObjectType::SuricataAppliance,
                &json!({ "ip_address": bad }),
                WriteMode::Partial,
            )
            .unwrap_err();
            assert_eq!(
                e,
                errs(&[("ip_address", &["Enter a valid IPv4 or IPv6 address."])]),
                "{bad}"
            );
        }
    }

    #[test]
    fn interface_entries_are_checked() {
        let body = json!({"interfaces": [
            {"name": "eth0", "active": true, "appliance": 4},
            {"name": "eth1", "active": false, "pk": 12},
            {"name": "eth0", "active": false},
            {"name": "", "active": 1},
            "eth2",
            {"active": true, "pk": "x"},
            {"name": "eth3", "active": true, "pk": 12}
        ]});
        let e = validate_write(ObjectType::StamusAppliance, &body, WriteMode::Partial).unwrap_err();
        assert_eq!(
            e,
            errs(&[(
                "interfaces",
                &[
                    "Item 2: name: \"eth0\" is listed twice.",
                    "Item 3: name: This field may not be blank.",
                    "Item 3: active: Must be a valid boolean.",
                    "Item 4: Invalid data. Expected a dictionary, but got str.",
                    "Item 5: name: This field is required.",
                    "Item 5: pk: Incorrect type. Expected pk value, received str.",
                    "Item 6: pk: \"12\" is listed twice.",
                ]
            )])
        );
        let ok = json!({"interfaces": [
            {"name": " eth0 ", "active": true, "appliance": 4},
            {"name": "0000:3b:00.0", "active": false, "pk": 12}
        ], "protocols": [{"name": "ftp-data", "active": true}]});
        let out =
            validate_write(ObjectType::StamusApplianceTemplate, &ok, WriteMode::Partial).unwrap();
        assert_eq!(
            out["interfaces"],
            json!([{"name": "eth0", "active": true},
                {"name": "0000:3b:00.0", "active": false, "pk": 12}])
        );
        assert_eq!(
            out["protocols"],
            json!([{"name": "ftp-data", "active": true}])
        );
    }

    #[test]
    fn entry_lists_are_bounded_and_protocol_names_checked() {
        let many: Vec<Value> = (0..=MAX_PROTOCOLS)
            .map(|i| json!({"name": format!("p{i}"), "active": true}))
            .collect();
        let e = validate_write(
            ObjectType::StamusAppliance,
            &json!({"protocols": many, "interfaces": {"name": "eth0"}}),
            WriteMode::Partial,
        )
        .unwrap_err();
        assert_eq!(
            e,
            errs(&[
                (
                    "interfaces",
                    &["Expected a list of items but got type \"dict\"."]
                ),
                (
                    "protocols",
                    &["Ensure this field has no more than 64 elements."]
                ),
            ])
        );
        let e = validate_write(
            ObjectType::StamusAppliance,
            &json!({"protocols": [{"name": "HTTP", "active": true}]}),
            WriteMode::Partial,
        )
        .unwrap_err();
        assert!(e["protocols"][0].starts_with("Item 0: name: Enter a valid protocol name"));
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_non_field_error() {
        let e = validate_write(ObjectType::Protocol, &json!([1]), WriteMode::Create).unwrap_err();
        assert_eq!(
            e,
            errs(&[(
                "non_field_errors",
                &["Invalid data. Expected a dictionary, but got list."]
            )])
        );
    }

    #[test]
    fn read_only_types_store_nothing() {
        let out = validate_write(
            ObjectType::Appliances,
            &json!({"name": "x", "type": "Stamus"}),
            WriteMode::Create,
        )
        .unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn echoed_values_are_cut() {
        let long = "y".repeat(500);
        let e = validate_write(
            ObjectType::StamusAppliance,
            &json!({ "capture_method": long }),
            WriteMode::Partial,
        )
        .unwrap_err();
        assert!(e["capture_method"][0].chars().count() < 110);
    }
}
