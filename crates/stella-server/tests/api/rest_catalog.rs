//! Every object type under `/rest/`, driven by the catalog (`stella_core::catalog::REST`), so
//! a resource added there is held to the conventions without a test of its own: list envelope
//! and paging, ordering, search, filters, retrieve, OPTIONS, tenancy (404 across tenants), and
//! for writable ones PUT vs PATCH, a wrong value on every writable field (400 naming the
//! field, nothing written) and the write's `comment` in the action history. Resources with
//! behaviour of their own (templates, rules, host ID) have their own tests besides.

use reqwest::Method;
use serde_json::{json, Map, Value};
use stella_core::resource::{FieldType, Op, ResourceSpec};

use crate::rest_send as send;

fn list_path(spec: &ResourceSpec) -> String {
    format!("/rest/{}/", spec.name)
}

fn item_path(spec: &ResourceSpec, pk: &Value) -> String {
    format!("/rest/{}/{pk}/", spec.name)
}

/// A value of the field's type for object `i` of a generated body, or `None` for types whose
/// values name other objects (their resources' own tests cover them).
fn value_for(name: &str, ty: FieldType, i: usize) -> Option<Value> {
    Some(match ty {
        FieldType::Text { max_len } => {
            let mut v = format!("{name} {i} alpha");
            v.truncate(max_len);
            json!(v)
        }
        FieldType::Bool => json!(i.is_multiple_of(2)),
        FieldType::Enum(choices) => json!(choices[i % choices.len()]),
        FieldType::IpAddress => json!(format!("10.9.{}.{}", i / 200, i % 200 + 1)),
        _ => return None,
    })
}

/// A value the field must refuse: the wrong JSON type, an unknown choice, a malformed address.
fn wrong_value(ty: FieldType) -> Option<Value> {
    Some(match ty {
        FieldType::Text { .. } => json!(["not", "text"]),
        FieldType::Int { .. } => json!("not a number"),
        FieldType::Float => json!("not a number"),
        FieldType::Bool => json!("maybe"),
        FieldType::Enum(_) => json!("not-a-choice"),
        FieldType::IpAddress => json!("300.1.2.3"),
        FieldType::Timestamp => json!("yesterday"),
        FieldType::TextList { .. } => json!("not a list"),
        FieldType::ObjectList { .. } => json!("not a list"),
        FieldType::Object => json!(17),
        FieldType::Json => return None,
    })
}

/// A create body: every required field and every writable field of a plain type.
fn body_for(spec: &ResourceSpec, i: usize) -> Value {
    let mut body = Map::new();
    for f in spec.fields.iter().filter(|f| f.writable) {
        if let Some(v) = value_for(f.name, f.ty, i) {
            body.insert(f.name.into(), v);
        } else {
            assert!(
                !f.required,
                "{}: required field {} has no generated value",
                spec.name, f.name
            );
        }
    }
    Value::Object(body)
}

/// A value of a result as filters and search take it.
fn as_query(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        _ => None,
    }
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const RULES: &str = "alert dns any any -> any any (msg:\"catalog dns alpha\"; classtype:bad-unknown; sid:3000001; rev:1;)\n\
alert tcp any any -> any 23 (msg:\"catalog telnet alpha\"; classtype:attempted-admin; sid:3000002; rev:2;)\n";

#[tokio::test]
async fn rest_every_object_type_follows_the_conventions() {
    let (s, _, [(_, a), (_, b)]) = crate::two_tenants().await;
    let (a, b) = (format!("Bearer {a}"), format!("Bearer {b}"));

    // Seeds: three objects of every type that is created through /rest/, each write with a
    // comment; the rest come from those (devices and the union from probes, interfaces and
    // protocols from their fields, rules and categories from an upload, history from all).
    for spec in stella_core::catalog::REST {
        if !spec.ops.contains(&Op::Create) {
            continue;
        }
        for i in 0..3 {
            let mut body = body_for(spec, i);
            body["comment"] = json!(format!("seed {} {i}", spec.name));
            if spec.name == "appliances/stamus_appliance" {
                body["interfaces"] = json!([{"name": format!("eth{i}"), "active": true}]);
                body["protocols"] = json!([{"name": "http", "active": i == 0}]);
            }
            let (st, made) = send(&s, Method::POST, &list_path(spec), &a, Some(body)).await;
            assert_eq!(st, 201, "{}: {made}", spec.name);
        }
    }
    let (_, sources) = send(&s, Method::GET, "/rest/rules/source/", &a, None).await;
    let source = &sources["results"][0]["pk"];
    let r = s
        .client
        .post(s.url(&format!(
            "/rest/rules/source/{source}/upload/?filename=catalog.rules"
        )))
        .header("authorization", &a)
        .body(RULES)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    for spec in stella_core::catalog::REST {
        let name = spec.name;
        let path = list_path(spec);
        // The envelope, and objects to work with.
        let (st, all) = send(&s, Method::GET, &path, &a, None).await;
        assert_eq!(st, 200, "{name}: {all}");
        let keys: Vec<&String> = all.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["count", "next", "previous", "results"],
            "{name}: {all}"
        );
        let count = all["count"].as_i64().unwrap();
        assert!(count >= 1, "{name} has no object to test with: {all}");
        let first = all["results"][0].clone();
        let pk = first["pk"].clone();
        assert!(pk.is_i64(), "{name}: objects carry an integer pk: {first}");

        // Paging: one a page, absolute links, past the end 404.
        let (st, page) = send(&s, Method::GET, &format!("{path}?page_size=1"), &a, None).await;
        assert_eq!(st, 200, "{name}: {page}");
        assert_eq!(page["results"].as_array().unwrap().len(), 1, "{name}");
        assert_eq!(page["previous"], Value::Null, "{name}");
        if count > 1 {
            let next = page["next"].as_str().expect("a next link");
            assert!(next.starts_with("http://127.0.0.1:"), "{name}: {next}");
            let r = s
                .client
                .get(next)
                .header("authorization", &a)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{name}: {next}");
        }
        let (st, _) = send(&s, Method::GET, &format!("{path}?page=9999"), &a, None).await;
        assert_eq!(st, 404, "{name}: a page past the end");
        let (st, _) = send(&s, Method::GET, &format!("{path}?page=x"), &a, None).await;
        assert_eq!(st, 404, "{name}: a page that is no number");

        // Ordering by pk both ways.
        let pks = |list: &Value| -> Vec<i64> {
            list["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["pk"].as_i64().unwrap())
                .collect()
        };
        let (_, up) = send(&s, Method::GET, &format!("{path}?ordering=pk"), &a, None).await;
        let (_, down) = send(&s, Method::GET, &format!("{path}?ordering=-pk"), &a, None).await;
        let mut reversed = pks(&down);
        reversed.reverse();
        assert_eq!(pks(&up), reversed, "{name}: ordering=pk and -pk");
        assert!(pks(&up).windows(2).all(|w| w[0] < w[1]), "{name}");

        // Search: a word of the first object's first searchable text field finds it, and
        // every result has it somewhere.
        if let Some(f) = spec
            .fields
            .iter()
            .find(|f| f.searchable && first[f.name].as_str().is_some_and(|t| !t.is_empty()))
        {
            let word = first[f.name]
                .as_str()
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .to_uppercase();
            let (st, found) = send(
                &s,
                Method::GET,
                &format!("{path}?search={}", enc(&word)),
                &a,
                None,
            )
            .await;
            assert_eq!(st, 200, "{name}: {found}");
            assert!(
                pks(&found).contains(&pk.as_i64().unwrap()),
                "{name}: search {word} on {}: {found}",
                f.name
            );
        }

        // Filters: the first object's value of each filterable field matches exactly.
        for f in spec.fields.iter().filter(|f| f.filterable) {
            let Some(v) = as_query(&first[f.name]) else {
                continue;
            };
            let (st, found) = send(
                &s,
                Method::GET,
                &format!("{path}?{}={}", f.name, enc(&v)),
                &a,
                None,
            )
            .await;
            assert_eq!(st, 200, "{name}?{}: {found}", f.name);
            assert!(
                found["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|o| o[f.name] == first[f.name]),
                "{name}?{}={v}: {found}",
                f.name
            );
            assert!(pks(&found).contains(&pk.as_i64().unwrap()), "{name}");
        }

        // Retrieve, OPTIONS.
        let (st, one) = send(&s, Method::GET, &item_path(spec, &pk), &a, None).await;
        assert_eq!(st, 200, "{name}: {one}");
        assert_eq!(one, first, "{name}: the list and the object agree");
        let (st, meta) = send(&s, Method::OPTIONS, &path, &a, None).await;
        assert_eq!(st, 200, "{name}: {meta}");
        assert!(
            meta["name"].is_string() && meta["renders"].is_array(),
            "{name}"
        );

        // Tenancy: the other tenant's user does not see it (the central server's device,
        // pk 1, is everyone's).
        if !(name == "appliances/stamus_device" && pk == json!(1)) {
            let (st, _) = send(&s, Method::GET, &item_path(spec, &pk), &b, None).await;
            assert_eq!(st, 404, "{name}: another tenant's object");
        }

        if !spec.ops.contains(&Op::Update) {
            let (st, _) = send(
                &s,
                Method::PATCH,
                &item_path(spec, &pk),
                &a,
                Some(json!({})),
            )
            .await;
            assert_eq!(st, 405, "{name} is read-only");
            continue;
        }
        // Writable: PUT needs every required field, PATCH does not; a wrong value on any
        // writable field is 400 naming it with nothing written.
        let before = one;
        if let Some(req) = spec.fields.iter().find(|f| f.required && f.writable) {
            let mut body = body_for(spec, 7);
            body.as_object_mut().unwrap().remove(req.name);
            let (st, got) = send(&s, Method::PUT, &item_path(spec, &pk), &a, Some(body)).await;
            assert_eq!(st, 400, "{name}: PUT without {}: {got}", req.name);
            assert!(got[req.name].is_array(), "{name}: {got}");
        }
        for f in spec.fields.iter().filter(|f| f.writable) {
            let Some(wrong) = wrong_value(f.ty) else {
                continue;
            };
            let (st, got) = send(
                &s,
                Method::PATCH,
                &item_path(spec, &pk),
                &a,
                Some(json!({ f.name: wrong })),
            )
            .await;
            assert_eq!(st, 400, "{name}.{} = {wrong}: {got}", f.name);
            assert!(got[f.name].is_array(), "{name}.{}: {got}", f.name);
        }
        let (_, after) = send(&s, Method::GET, &item_path(spec, &pk), &a, None).await;
        assert_eq!(after, before, "{name}: refused writes changed nothing");

        // What a DRF client read it may send back changed (every field, null where unset):
        // the usual get, change, put.
        let mut round = before.clone();
        if let Some(f) = spec.fields.iter().find(|f| {
            f.writable && matches!(f.ty, FieldType::Text { .. }) && round[f.name].is_string()
        }) {
            round[f.name] = json!(format!("{} again", round[f.name].as_str().unwrap()));
        }
        let (st, got) = send(
            &s,
            Method::PUT,
            &item_path(spec, &pk),
            &a,
            Some(round.clone()),
        )
        .await;
        assert_eq!(st, 200, "{name}: PUT of what GET answered: {got}");
        // And null clears an optional field.
        if let Some(f) = spec.fields.iter().find(|f| {
            f.writable
                && !f.required
                && f.default.is_none()
                && matches!(f.ty, FieldType::Text { .. })
        }) {
            let (st, got) = send(
                &s,
                Method::PATCH,
                &item_path(spec, &pk),
                &a,
                Some(json!({ f.name: null })),
            )
            .await;
            assert_eq!(st, 200, "{name}: PATCH {} null: {got}", f.name);
            assert_eq!(got[f.name], Value::Null, "{name}");
        }

        // A PATCH of one plain field, with a comment that reaches the history.
        let Some(f) = spec
            .fields
            .iter()
            .find(|f| f.writable && value_for(f.name, f.ty, 5).is_some())
        else {
            continue;
        };
        let comment = format!("patch {name}");
        let v = value_for(f.name, f.ty, 5).unwrap();
        let (st, got) = send(
            &s,
            Method::PATCH,
            &item_path(spec, &pk),
            &a,
            Some(json!({ f.name: v, "comment": comment })),
        )
        .await;
        assert_eq!(st, 200, "{name}: {got}");
        assert_eq!(got[f.name], v, "{name}");
        let (_, history) = send(
            &s,
            Method::GET,
            &format!("/rest/rules/history/?comment={}", enc(&comment)),
            &a,
            None,
        )
        .await;
        assert_eq!(history["count"], 1, "{name}: {history}");
        let object = name.rsplit('/').next().unwrap();
        assert_eq!(
            history["results"][0]["action_type"],
            format!("edit_{object}"),
            "{name}"
        );
        assert_eq!(history["results"][0]["ua_objects"][object]["pk"], pk);
    }

    // Every create above left its entry with its comment.
    for spec in stella_core::catalog::REST {
        if spec.ops.contains(&Op::Create) {
            let (_, history) = send(
                &s,
                Method::GET,
                &format!(
                    "/rest/rules/history/?comment={}",
                    enc(&format!("seed {} 1", spec.name))
                ),
                &a,
                None,
            )
            .await;
            assert_eq!(history["count"], 1, "{}: {history}", spec.name);
        }
    }
    s.stop().await;
}
