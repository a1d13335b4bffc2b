//! Stella Ops probe management objects: the pure half of the `/rest/appliances/` surface
//! modelled on Stamus Central Server's Django REST framework API (spec
//! `001_55a3739712396133.txt`, issue 14).
//!
//! Pure: no HTTP, no database, no clock. The server stores what [`validate_write`] cleans,
//! resolves a template chain with [`resolve_chain`] over its own lookup, shows what
//! [`effective`] computes, and answers OPTIONS with [`options_metadata`].
//!
//! # Object types and fields
//!
//! [`ObjectType`] lists the types; each has a declarative field table ([`FieldSpec`]: name,
//! [`FieldKind`], required, read-only, nullable, inheritable, label, help text, default). The
//! tables and where their names come from are documented in [`tables`].
//!
//! # Templates
//!
//! A Stamus probe or template with `parent_tmpl` takes every inheritable field from its
//! template chain, except the fields named in its `overriden_fields` (spelled as the spec
//! spells it), which keep its own value. Nothing is copied: [`effective`] is computed at read
//! time, so a change to a template shows in every child at once. Interfaces and protocols
//! are whole fields: a child takes the template's list or keeps its own.
//!
//! [`resolve_chain`] follows `parent_tmpl` through a lookup and refuses a cycle (an object
//! naming itself included), a missing template, a template in another tenant and a chain
//! longer than [`MAX_CHAIN_DEPTH`], each a [`ChainError`] with a stable
//! [`ChainError::code`] and a message for the `parent_tmpl` field.
//!
//! # Writes
//!
//! [`validate_write`] checks a POST, PUT or PATCH body against the table and returns the
//! cleaned values, or errors by field in Django REST framework's `{"field": ["message"]}`
//! shape ([`FieldErrors`]). Unknown and read-only members are ignored and never stored, as
//! DRF does.
//!
//! ```
//! use serde_json::json;
//! use stella_probe::{effective, validate_write, Node, ObjectType, WriteMode};
//!
//! let tmpl = validate_write(ObjectType::StamusApplianceTemplate,
//!     &json!({"name": "Branch offices", "capture_method": "pcap",
//!             "interfaces": [{"name": "eth1", "active": true}]}),
//!     WriteMode::Create).unwrap();
//! let probe = validate_write(ObjectType::StamusAppliance,
//!     &json!({"name": "probe-1", "ip_address": "10.0.0.1", "parent_tmpl": 7,
//!             "capture_method": "dpdk", "overriden_fields": ["capture_method"]}),
//!     WriteMode::Create).unwrap();
//!
//! let tmpl = Node::from_values(7, "tenant-a", tmpl);
//! let probe = Node::from_values(3, "tenant-a", probe);
//! let chain = stella_probe::resolve_chain(Some(probe.pk), &probe.tenant, probe.parent_tmpl,
//!     |pk| (pk == 7).then(|| tmpl.clone())).unwrap();
//! let layers: Vec<_> = chain.iter().map(Node::layer).collect();
//! let shown = effective(ObjectType::StamusAppliance, &probe.values,
//!     &probe.overriden_fields, &layers);
//! assert_eq!(shown["capture_method"], "dpdk");      // overridden
//! assert_eq!(shown["interfaces"][0]["name"], "eth1"); // inherited
//! assert_eq!(shown["name"], "probe-1");             // never inherited
//! ```

mod chain;
mod field;
mod inherit;
mod metadata;
mod object;
pub mod tables;
mod validate;

pub use chain::{resolve_chain, ChainError, Node, MAX_CHAIN_DEPTH};
pub use field::{Choice, DefaultValue, FieldKind, FieldSpec, TextRule};
pub use inherit::{effective, validate_overriden_fields, Layer};
pub use metadata::{fields_info, options_metadata, Target};
pub use object::ObjectType;
pub use validate::{
    validate_write, FieldErrors, WriteMode, MAX_INTERFACES, MAX_PROTOCOLS, NON_FIELD_ERRORS,
};

#[cfg(test)]
mod table_tests {
    use super::*;

    /// The invariants the rest of the crate relies on, for every table.
    #[test]
    fn tables_are_consistent() {
        for ty in ObjectType::ALL {
            assert_eq!(ObjectType::from_name(ty.name()), Some(ty));
            let fields = ty.fields();
            assert_eq!(fields.first().map(|f| f.name), Some("pk"), "{ty:?}");
            for (i, f) in fields.iter().enumerate() {
                assert!(
                    !fields[..i].iter().any(|g| g.name == f.name),
                    "{ty:?}.{} twice",
                    f.name
                );
                assert!(!(f.required && f.read_only), "{ty:?}.{}", f.name);
                // An inherited field can come from a template, so no write may require it.
                assert!(!(f.inheritable && f.required), "{ty:?}.{}", f.name);
                assert!(!(f.inheritable && f.read_only), "{ty:?}.{}", f.name);
                if matches!(f.kind, FieldKind::DateTime) {
                    assert!(f.read_only, "{ty:?}.{}", f.name);
                }
                if !ty.writable() {
                    assert!(f.read_only, "{ty:?}.{}", f.name);
                }
                if let Some(d) = f.default {
                    assert!(!f.required && !f.read_only, "{ty:?}.{}", f.name);
                    let v = d.to_value();
                    if !(v.is_null() && f.nullable) {
                        assert!(
                            validate_write(
                                ty,
                                &serde_json::json!({ f.name: v }),
                                WriteMode::Partial
                            )
                            .is_ok(),
                            "default of {ty:?}.{} is not valid",
                            f.name
                        );
                    }
                }
            }
            assert_eq!(
                ty.has_templates(),
                ty.field("overriden_fields").is_some(),
                "{ty:?}"
            );
            assert_eq!(
                ty.has_templates(),
                ty.inheritable_fields().next().is_some(),
                "{ty:?}"
            );
        }
    }

    /// A probe inherits from templates only, so a template must hold every field a probe
    /// inherits, with the same kind.
    #[test]
    fn probes_and_templates_inherit_the_same_fields() {
        let names =
            |ty: ObjectType| -> Vec<FieldSpec> { ty.inheritable_fields().copied().collect() };
        assert_eq!(
            names(ObjectType::StamusAppliance),
            names(ObjectType::StamusApplianceTemplate)
        );
        assert_eq!(
            names(ObjectType::StamusAppliance),
            tables::INHERITABLE.to_vec()
        );
        for name in [
            "pk",
            "name",
            "descr",
            "tenant",
            "parent_tmpl",
            "overriden_fields",
        ] {
            let f = ObjectType::StamusAppliance.field(name);
            assert!(f.is_some_and(|f| !f.inheritable), "{name}");
        }
    }

    #[test]
    fn the_spec_spellings_are_kept() {
        let probe = ObjectType::StamusAppliance;
        for name in [
            "parent_tmpl",
            "overriden_fields",
            "stamusdevice_id",
            "interfaces",
            "protocols",
        ] {
            assert!(probe.field(name).is_some(), "{name}");
        }
        assert!(ObjectType::Appliances.field("type").is_some());
        assert_eq!(
            ObjectType::from_name("stamus_appliance_template"),
            Some(ObjectType::StamusApplianceTemplate)
        );
    }
}
