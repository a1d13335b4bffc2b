//! Properties of template inheritance, chain resolution and write validation, over generated
//! objects, chains and template graphs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use stella_probe::*;

const PROBE: ObjectType = ObjectType::StamusAppliance;
const TEMPLATE: ObjectType = ObjectType::StamusApplianceTemplate;

fn inheritable(ty: ObjectType) -> Vec<&'static str> {
    ty.inheritable_fields().map(|f| f.name).collect()
}

/// Small JSON values, some of them plausible for the tables' fields.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..40).prop_map(Value::from),
        "[a-z0-9 .:-]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            json!("eth0"),
            json!("10.0.0.1"),
            json!("::1"),
            json!("pcap"),
            json!("af-packet"),
            json!(["bpf_filter"]),
            json!([{"name": "eth1", "active": true}]),
            json!([{"name": "http", "active": false, "pk": 4}]),
            json!(1.5),
        ]),
    ]
}

/// Any JSON, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object's stored values: some of `ty`'s fields, and members no table has.
fn values(ty: ObjectType) -> impl Strategy<Value = Map<String, Value>> {
    let mut keys: Vec<String> = ty.fields().iter().map(|f| f.name.to_owned()).collect();
    keys.extend(["bogus", "comment", "type", "admin"].map(str::to_owned));
    prop::collection::btree_map(prop::sample::select(keys), leaf(), 0..16)
        .prop_map(|m| m.into_iter().collect())
}

fn overrides(ty: ObjectType) -> impl Strategy<Value = Vec<String>> {
    let names = inheritable(ty);
    let n = names.len();
    prop::sample::subsequence(names, 0..=n).prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

/// A template: its values and its overrides.
fn template() -> impl Strategy<Value = (Map<String, Value>, Vec<String>)> {
    (values(TEMPLATE), overrides(TEMPLATE))
}

fn layers(chain: &[(Map<String, Value>, Vec<String>)]) -> Vec<Layer<'_>> {
    chain
        .iter()
        .map(|(values, overriden_fields)| Layer {
            values,
            overriden_fields,
        })
        .collect()
}

fn restricted(ty: ObjectType, own: &Map<String, Value>) -> Map<String, Value> {
    own.iter()
        .filter(|(k, _)| ty.field(k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Overriding every inheritable field makes the chain irrelevant.
    #[test]
    fn all_overridden_is_unaffected_by_the_chain(
        own in values(PROBE),
        chain in prop::collection::vec(template(), 0..5),
    ) {
        let all: Vec<String> = inheritable(PROBE).into_iter().map(str::to_owned).collect();
        let eff = effective(PROBE, &own, &all, &layers(&chain));
        prop_assert_eq!(eff, restricted(PROBE, &own));
    }

    /// Overriding nothing: every inheritable field is the parent's effective value, every
    /// other field the object's own.
    #[test]
    fn none_overridden_equals_the_parent(
        own in values(PROBE),
        chain in prop::collection::vec(template(), 1..5),
    ) {
        let l = layers(&chain);
        let eff = effective(PROBE, &own, &[], &l);
        let parent = effective(TEMPLATE, l[0].values, l[0].overriden_fields, &l[1..]);
        for f in PROBE.fields() {
            let expected = if f.inheritable { parent.get(f.name) } else { own.get(f.name) };
            prop_assert_eq!(eff.get(f.name), expected, "{}", f.name);
        }
    }

    /// A change to the farthest template shows in the child exactly when no level below it
    /// overrides the field.
    #[test]
    fn a_change_at_the_top_shows_unless_overridden_below(
        own in values(PROBE),
        own_over in overrides(PROBE),
        chain in prop::collection::vec(template(), 1..6),
        field in prop::sample::select(inheritable(PROBE)),
        new in leaf(),
    ) {
        let mut chain = chain;
        let top = chain.len() - 1;
        chain[top].0.insert(field.to_owned(), new.clone());
        let eff = effective(PROBE, &own, &own_over, &layers(&chain));
        let overridden_below = own_over.iter().any(|o| o == field)
            || chain[..top].iter().any(|(_, o)| o.iter().any(|o| o == field));
        if overridden_below {
            // The nearest level that overrides decides.
            let decider = if own_over.iter().any(|o| o == field) {
                own.get(field)
            } else {
                chain[..top]
                    .iter()
                    .find(|(_, o)| o.iter().any(|o| o == field))
                    .and_then(|(v, _)| v.get(field))
            };
            prop_assert_eq!(eff.get(field), decider);
        } else {
            prop_assert_eq!(eff.get(field), Some(&new));
        }
    }

    /// The two-level case the issue names: grandparent → parent → child.
    #[test]
    fn two_levels(
        own in values(PROBE),
        parent in template(),
        grand in template(),
        field in prop::sample::select(inheritable(PROBE)),
        child_overrides in any::<bool>(),
        parent_overrides in any::<bool>(),
    ) {
        let (mut parent, mut grand) = (parent, grand);
        let mut own_over: Vec<String> = Vec::new();
        parent.1.retain(|o| o != field);
        grand.0.insert(field.to_owned(), json!("from the grandparent"));
        if child_overrides {
            own_over.push(field.to_owned());
        }
        if parent_overrides {
            parent.1.push(field.to_owned());
        }
        let chain = [parent, grand];
        let eff = effective(PROBE, &own, &own_over, &layers(&chain));
        let expected = if child_overrides {
            own.get(field)
        } else if parent_overrides {
            chain[0].0.get(field)
        } else {
            Some(&chain[1].0[field])
        };
        prop_assert_eq!(eff.get(field), expected);
    }

    /// Whatever the inputs hold, the result holds only the table's fields, for every type.
    #[test]
    fn effective_keys_are_in_the_table(
        ty in prop::sample::select(ObjectType::ALL.to_vec()),
        own in values(PROBE),
        own_over in overrides(PROBE),
        chain in prop::collection::vec(template(), 0..4),
    ) {
        let eff = effective(ty, &own, &own_over, &layers(&chain));
        for k in eff.keys() {
            prop_assert!(ty.field(k).is_some(), "{k} in {ty:?}");
        }
    }
}

/// A template graph: `parents[i]` is the parent of template `i + 1` (pks from 1), possibly a
/// pk no template has; `tenants[i]` its tenant.
#[derive(Debug, Clone)]
struct Graph {
    parents: Vec<Option<i64>>,
    tenants: Vec<&'static str>,
}

impl Graph {
    fn lookup(&self, pk: i64) -> Option<Node> {
        let i = usize::try_from(pk).ok()?.checked_sub(1)?;
        Some(Node {
            pk,
            tenant: (*self.tenants.get(i)?).to_owned(),
            parent_tmpl: *self.parents.get(i)?,
            overriden_fields: Vec::new(),
            values: Map::new(),
        })
    }
}

/// Graphs where every parent exists and every template is in tenant `a`: a walk either ends
/// or cycles.
fn closed_graph() -> impl Strategy<Value = Graph> {
    (1usize..12).prop_flat_map(|n| {
        prop::collection::vec(prop::option::of(1..=n as i64), n).prop_map(move |parents| Graph {
            tenants: vec!["a"; parents.len()],
            parents,
        })
    })
}

/// Graphs with missing parents and other tenants too.
fn open_graph() -> impl Strategy<Value = Graph> {
    (1usize..12).prop_flat_map(|n| {
        (
            prop::collection::vec(prop::option::of(1..=n as i64 + 2), n),
            prop::collection::vec(prop::sample::select(vec!["a", "a", "a", "b"]), n),
        )
            .prop_map(|(parents, tenants)| Graph { parents, tenants })
    })
}

/// Runs `resolve_chain` and records every pk looked up.
fn resolve(
    g: &Graph,
    pk: Option<i64>,
    parent: Option<i64>,
) -> (Result<Vec<Node>, ChainError>, Vec<i64>) {
    let asked = RefCell::new(Vec::new());
    let r = resolve_chain(pk, "a", parent, |p| {
        asked.borrow_mut().push(p);
        g.lookup(p)
    });
    (r, asked.into_inner())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// In a closed graph, with the object (new, or an existing template) taking `parent`:
    /// resolution fails exactly when following parents from the object never ends, and then
    /// as a cycle (or self-parenting when the object names itself).
    #[test]
    fn every_cycle_is_refused(
        g in closed_graph(),
        own in any::<prop::sample::Index>(),
        existing in any::<bool>(),
        parent in any::<prop::sample::Index>(),
        has_parent in any::<bool>(),
    ) {
        let n = g.parents.len();
        let pk = existing.then(|| own.index(n) as i64 + 1);
        let parent = has_parent.then(|| parent.index(n) as i64 + 1);
        // Independent model: the graph as it would be after the write, walked n + 1 steps
        // (more steps than nodes means a node came twice).
        let next = |p: i64| if Some(p) == pk { parent } else { g.parents[p as usize - 1] };
        let mut cur = parent;
        let mut steps = 0;
        while let Some(p) = cur {
            if steps > n {
                break;
            }
            cur = next(p);
            steps += 1;
        }
        let ends = cur.is_none();
        let (r, asked) = resolve(&g, pk, parent);
        prop_assert!(asked.len() <= MAX_CHAIN_DEPTH);
        prop_assert_eq!(asked.iter().collect::<BTreeSet<_>>().len(), asked.len());
        match r {
            Ok(chain) => {
                prop_assert!(ends);
                prop_assert_eq!(chain.len(), steps);
            }
            Err(e) => {
                prop_assert!(!ends, "{e}");
                let expected = if parent.is_some() && parent == pk {
                    "probe-parent-self"
                } else {
                    "probe-parent-cycle"
                };
                prop_assert_eq!(e.code(), expected);
                prop_assert_eq!(e.field(), "parent_tmpl");
            }
        }
    }

    /// Whatever the graph, a chain that resolves is a real one: parent first, each the
    /// parent of the one before, no pk twice, not the object itself, one tenant, bounded.
    #[test]
    fn resolved_chains_are_well_formed(
        g in open_graph(),
        pk in prop::option::of(1i64..16),
        parent in prop::option::of(1i64..16),
    ) {
        let (r, asked) = resolve(&g, pk, parent);
        prop_assert!(asked.len() <= MAX_CHAIN_DEPTH);
        let Ok(chain) = r else { return Ok(()) };
        prop_assert_eq!(chain.first().map(|n| n.pk), parent);
        for w in chain.windows(2) {
            prop_assert_eq!(w[0].parent_tmpl, Some(w[1].pk));
        }
        prop_assert_eq!(chain.last().and_then(|n| n.parent_tmpl), None);
        let pks: BTreeSet<i64> = chain.iter().map(|n| n.pk).collect();
        prop_assert_eq!(pks.len(), chain.len());
        prop_assert!(pk.is_none_or(|p| !pks.contains(&p)));
        prop_assert!(chain.iter().all(|n| n.tenant == "a"));
    }

    /// A straight line of templates resolves up to the depth bound and is refused beyond.
    #[test]
    fn long_lines_hit_the_bound(len in 1usize..40) {
        let g = Graph {
            parents: (1..=len as i64).map(|pk| (pk > 1).then_some(pk - 1)).collect(),
            tenants: vec!["a"; len],
        };
        let (r, asked) = resolve(&g, None, Some(len as i64));
        prop_assert!(asked.len() <= MAX_CHAIN_DEPTH);
        if len <= MAX_CHAIN_DEPTH {
            prop_assert_eq!(r.map(|c| c.len()), Ok(len));
        } else {
            prop_assert_eq!(r.map_err(|e| e.code()), Err("probe-parent-too-deep"));
        }
    }
}

fn writable_types() -> impl Strategy<Value = ObjectType> {
    prop::sample::select(
        ObjectType::ALL
            .into_iter()
            .filter(|t| t.writable())
            .collect::<Vec<_>>(),
    )
}

fn mode() -> impl Strategy<Value = WriteMode> {
    prop::sample::select(vec![
        WriteMode::Create,
        WriteMode::Replace,
        WriteMode::Partial,
    ])
}

/// A value for field `f` of `ty`, valid for its kind (the cleaning may still trim it).
fn valid_value(ty: ObjectType, f: &FieldSpec) -> BoxedStrategy<Value> {
    let text = |re: &'static str| re.prop_map(Value::String).boxed();
    let v = match f.kind {
        FieldKind::String {
            allow_blank, rule, ..
        } => match (rule, allow_blank) {
            (TextRule::Free, true) => text("[ -~]{0,20}"),
            (TextRule::Free, false) => text("[a-z][ -~]{0,20}"),
            (TextRule::NoWhitespace, _) => text("[a-z0-9-]{1,20}"),
            (TextRule::InterfaceName, _) => text("[a-z0-9][a-z0-9._:-]{0,15}"),
            (TextRule::ProtocolName, _) => text("[a-z][a-z0-9_-]{0,10}"),
        },
        FieldKind::Integer { min, max } => (min..=max).prop_map(Value::from).boxed(),
        FieldKind::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
        FieldKind::Choice(choices) => prop::sample::select(choices.to_vec())
            .prop_map(|c| json!(c.value))
            .boxed(),
        FieldKind::IpAddress => any::<std::net::IpAddr>()
            .prop_map(|ip| json!(ip.to_string()))
            .boxed(),
        FieldKind::ForeignKey { .. } => (1i64..1000).prop_map(Value::from).boxed(),
        FieldKind::FieldNames => overrides(ty).prop_map(|v| json!(v)).boxed(),
        FieldKind::Interfaces | FieldKind::Protocols => {
            prop::collection::btree_map("[a-z][a-z0-9]{0,7}", any::<bool>(), 0..5)
                .prop_map(|m| {
                    Value::Array(
                        m.into_iter()
                            .map(|(name, active)| json!({"name": name, "active": active}))
                            .collect(),
                    )
                })
                .boxed()
        }
        FieldKind::DateTime => Just(json!("2026-01-01T00:00:00Z")).boxed(),
    };
    if f.nullable {
        prop_oneof![4 => v, 1 => Just(Value::Null)].boxed()
    } else {
        v
    }
}

/// A body: each of the type's fields left out, valid, or anything at all, plus members the
/// type does not have.
fn body(ty: ObjectType) -> impl Strategy<Value = Map<String, Value>> {
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = ty
        .fields()
        .iter()
        .map(|f| {
            let name = f.name.to_owned();
            prop_oneof![
                3 => Just(None),
                6 => valid_value(ty, f).prop_map(Some),
                1 => any_json().prop_map(Some),
            ]
            .prop_map(move |v| v.map(|v| (name.clone(), v)))
            .boxed()
        })
        .collect();
    let extra = prop::collection::btree_map(
        prop::sample::select(vec!["bogus", "comment", "__proto__"]),
        any_json(),
        0..3,
    );
    (fields, extra).prop_map(|(fields, extra)| {
        let mut m: Map<String, Value> = fields.into_iter().flatten().collect();
        m.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
        m
    })
}

/// A body of valid values only, for writable fields.
fn valid_body(ty: ObjectType) -> impl Strategy<Value = Map<String, Value>> {
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = ty
        .fields()
        .iter()
        .filter(|f| f.writable())
        .map(|f| {
            let name = f.name.to_owned();
            prop::option::of(valid_value(ty, f))
                .prop_map(move |v| v.map(|v| (name.clone(), v)))
                .boxed()
        })
        .collect();
    fields.prop_map(|f| f.into_iter().flatten().collect())
}

fn interface_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9._:-]{0,15}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// What is stored is only writable fields of the table; errors name only the table's
    /// fields (or the body as a whole).
    #[test]
    fn only_writable_fields_are_stored(
        (ty, body) in writable_types().prop_flat_map(|t| (Just(t), body(t))),
        mode in mode(),
    ) {
        match validate_write(ty, &Value::Object(body), mode) {
            Ok(out) => {
                for k in out.keys() {
                    let f = ty.field(k);
                    prop_assert!(f.is_some_and(|f| f.writable()), "{k} stored for {ty:?}");
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for (k, msgs) in &errors {
                    prop_assert!(ty.field(k).is_some() || k == NON_FIELD_ERRORS, "{k}");
                    prop_assert!(!msgs.is_empty());
                }
            }
        }
    }

    /// Cleaning is idempotent: a cleaned body validates to itself.
    #[test]
    fn cleaning_twice_changes_nothing(
        (ty, body) in writable_types().prop_flat_map(|t| (Just(t), body(t))),
        mode in mode(),
    ) {
        if let Ok(out) = validate_write(ty, &Value::Object(body), mode) {
            let again = validate_write(ty, &Value::Object(out.clone()), WriteMode::Partial);
            prop_assert_eq!(again, Ok(out));
        }
    }

    /// Valid values are never refused: PATCH takes any of them, POST and PUT refuse only a
    /// missing required field.
    #[test]
    fn valid_values_are_accepted(
        (ty, body) in writable_types().prop_flat_map(|t| (Just(t), valid_body(t))),
        mode in mode(),
    ) {
        let missing: BTreeSet<String> = ty
            .fields()
            .iter()
            .filter(|f| f.required && !body.contains_key(f.name))
            .map(|f| f.name.to_owned())
            .collect();
        match validate_write(ty, &Value::Object(body), mode) {
            Ok(_) => prop_assert!(mode == WriteMode::Partial || missing.is_empty()),
            Err(e) => {
                prop_assert!(mode != WriteMode::Partial, "{e:?}");
                prop_assert_eq!(e.into_keys().collect::<BTreeSet<_>>(), missing);
            }
        }
    }

    /// PATCH of nothing changes nothing; POST and PUT of nothing name exactly the required
    /// fields.
    #[test]
    fn empty_bodies(ty in writable_types()) {
        prop_assert_eq!(
            validate_write(ty, &json!({}), WriteMode::Partial),
            Ok(Map::new())
        );
        let required: BTreeSet<&str> =
            ty.fields().iter().filter(|f| f.required).map(|f| f.name).collect();
        for mode in [WriteMode::Create, WriteMode::Replace] {
            let named: BTreeSet<String> = match validate_write(ty, &json!({}), mode) {
                Ok(_) => BTreeSet::new(),
                Err(e) => e.into_keys().collect(),
            };
            prop_assert_eq!(named.iter().map(String::as_str).collect::<BTreeSet<_>>(), required.clone());
        }
    }

    /// Interface lists with distinct valid names and pks are kept as given (trimmed, other
    /// members dropped); a repeated name is refused at the repeat.
    #[test]
    fn valid_interface_lists_round_trip(
        names in prop::collection::btree_set(interface_name(), 0..8),
        actives in prop::collection::vec(any::<bool>(), 8),
        with_pk in any::<bool>(),
        dup in any::<prop::sample::Index>(),
    ) {
        let names: Vec<String> = names.into_iter().collect();
        let entries: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut e = json!({"name": n, "active": actives[i], "appliance": 1});
                if with_pk {
                    e["pk"] = json!(i + 1);
                }
                e
            })
            .collect();
        let expected: Vec<Value> = entries
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.as_object_mut().unwrap().remove("appliance");
                e
            })
            .collect();
        let out = validate_write(PROBE, &json!({"interfaces": entries}), WriteMode::Partial)
            .unwrap();
        prop_assert_eq!(&out["interfaces"], &Value::Array(expected));

        if !names.is_empty() {
            let mut with_dup = entries.clone();
            let again = json!({"name": names[dup.index(names.len())], "active": true});
            with_dup.push(again);
            let e = validate_write(PROBE, &json!({"interfaces": with_dup}), WriteMode::Partial)
                .unwrap_err();
            let last = names.len();
            prop_assert_eq!(
                e,
                BTreeMap::from([(
                    "interfaces".to_owned(),
                    vec![format!(
                        "Item {last}: name: \"{}\" is listed twice.",
                        names[dup.index(names.len())]
                    )]
                )])
            );
        }
    }

    /// Validation and inheritance together: what a probe shows after valid writes holds
    /// only its table's fields, and its identity is its own.
    #[test]
    fn written_objects_show_their_identity(
        name in "[a-z][a-z0-9-]{0,20}",
        tmpl_body in body(TEMPLATE),
        over in overrides(PROBE),
    ) {
        let probe = validate_write(
            PROBE,
            &json!({"name": name, "ip_address": "192.0.2.1", "parent_tmpl": 2,
                "overriden_fields": over}),
            WriteMode::Create,
        )
        .unwrap();
        // The template is the top of the chain.
        let mut tmpl_body = tmpl_body;
        tmpl_body.remove("parent_tmpl");
        let Ok(tmpl) = validate_write(TEMPLATE, &Value::Object(tmpl_body), WriteMode::Partial)
        else {
            return Ok(());
        };
        let probe = Node::from_values(1, "a", probe);
        let tmpl = Node::from_values(2, "a", tmpl);
        let chain = resolve_chain(Some(1), "a", probe.parent_tmpl, |p| {
            (p == 2).then(|| tmpl.clone())
        })
        .unwrap();
        let l: Vec<Layer<'_>> = chain.iter().map(Node::layer).collect();
        let eff = effective(PROBE, &probe.values, &probe.overriden_fields, &l);
        prop_assert_eq!(&eff["name"], &json!(name));
        prop_assert_eq!(&eff["parent_tmpl"], &json!(2));
        for k in eff.keys() {
            prop_assert!(PROBE.field(k).is_some());
        }
    }
}
