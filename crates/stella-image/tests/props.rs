#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property tests: path normalisation, and squash against a model file system.

use std::collections::BTreeMap;

use proptest::prelude::*;
use stella_image::path::{normalise_str, PathRefusal};
use stella_image::{squash, LayerChanges};

fn raw_path() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("b"),
            Just(".."),
            Just("."),
            Just(""),
            Just("c.d"),
            Just("/"),
            Just("..."),
            Just("x\\..")
        ],
        0..12,
    )
    .prop_map(|v| v.join("/"))
}

proptest! {
    #[test]
    fn normalised_paths_are_clean(raw in raw_path(), lead in prop_oneof![Just(""), Just("/"), Just("./"), Just("//")]) {
        let raw = format!("{lead}{raw}");
        match normalise_str(&raw, 8, 64) {
            Ok(p) => {
                prop_assert!(!p.starts_with('/'));
                prop_assert!(p.is_empty() || p.split('/').all(|c| !c.is_empty() && c != "." && c != ".."));
                prop_assert!(p.split('/').count() <= 8);
                // Idempotent.
                prop_assert_eq!(normalise_str(&p, 8, 64).unwrap(), p.clone());
            }
            Err(PathRefusal::Escape) => {
                // Lexically, some prefix climbs above the root.
                let mut depth: i64 = 0;
                let mut escaped = false;
                for c in raw.split('/') {
                    match c {
                        "" | "." => {}
                        ".." => { depth -= 1; if depth < 0 { escaped = true; } }
                        _ => depth += 1,
                    }
                }
                prop_assert!(escaped);
            }
            Err(PathRefusal::TooDeep { .. } | PathRefusal::TooLong { .. }) => {}
            Err(PathRefusal::Nul) => prop_assert!(false, "no NUL in input"),
        }
    }
}

/// A model file system: directories of nodes.
#[derive(Debug, Clone)]
enum Node {
    Dir(BTreeMap<String, Node>),
    Leaf(usize, u32),
}

fn dir_at<'a>(
    root: &'a mut BTreeMap<String, Node>,
    parts: &[&str],
) -> Option<&'a mut BTreeMap<String, Node>> {
    let mut cur = root;
    for p in parts {
        match cur.get_mut(*p) {
            Some(Node::Dir(d)) => cur = d,
            _ => return None,
        }
    }
    Some(cur)
}

fn flatten(prefix: &str, d: &BTreeMap<String, Node>, out: &mut BTreeMap<String, (usize, u32)>) {
    for (k, n) in d {
        let p = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}/{k}")
        };
        match n {
            Node::Dir(sub) => flatten(&p, sub, out),
            Node::Leaf(i, v) => {
                out.insert(p, (*i, *v));
            }
        }
    }
}

fn model(layers: &[LayerChanges<u32>]) -> BTreeMap<String, (usize, u32)> {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for (i, l) in layers.iter().enumerate() {
        for w in &l.whiteouts {
            let parts: Vec<&str> = w.split('/').collect();
            let (name, parent) = parts.split_last().unwrap();
            if let Some(d) = dir_at(&mut root, parent) {
                d.remove(*name);
            }
        }
        for o in &l.opaque_dirs {
            let parts: Vec<&str> = if o.is_empty() {
                vec![]
            } else {
                o.split('/').collect()
            };
            if let Some(d) = dir_at(&mut root, &parts) {
                d.clear();
            }
        }
        for (p, v) in &l.entries {
            let parts: Vec<&str> = p.split('/').collect();
            let (name, parent) = parts.split_last().unwrap();
            let mut cur = &mut root;
            for q in parent {
                let e = cur
                    .entry(q.to_string())
                    .or_insert_with(|| Node::Dir(BTreeMap::new()));
                if let Node::Leaf(..) = e {
                    *e = Node::Dir(BTreeMap::new());
                }
                let Node::Dir(d) = e else { unreachable!() };
                cur = d;
            }
            cur.insert(name.to_string(), Node::Leaf(i, *v));
        }
    }
    let mut out = BTreeMap::new();
    flatten("", &root, &mut out);
    out
}

fn rel_path() -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 1..4)
        .prop_map(|v| v.join("/"))
}

fn layer_changes() -> impl Strategy<Value = LayerChanges<u32>> {
    (
        proptest::collection::btree_map(rel_path(), any::<u32>(), 0..6),
        proptest::collection::vec(rel_path(), 0..3),
        proptest::collection::vec(prop_oneof![Just(String::new()), rel_path()], 0..2),
    )
        .prop_map(|(entries, whiteouts, opaque_dirs)| LayerChanges {
            entries,
            whiteouts,
            opaque_dirs,
        })
}

proptest! {
    #[test]
    fn squash_equals_the_model(layers in proptest::collection::vec(layer_changes(), 0..5)) {
        let view = squash(&layers);
        let got: BTreeMap<String, (usize, u32)> =
            view.iter().map(|(p, i, v)| (p.to_string(), (i, *v))).collect();
        prop_assert_eq!(got, model(&layers));
    }
}
