//! Stamus probes and their templates at `/rest/appliances/` (issue 14, "Objects relations"),
//! over real HTTP: inheritance computed on read through two levels, overrides, refused
//! parents (cycle, missing, another tenant) with nothing written, shared pks, the Stamus
//! device each probe gets, tenancy, PUT vs PATCH and OPTIONS.

use reqwest::Method;
use serde_json::{json, Value};
use stella_testkit::TestServer;

use crate::rest_send as send;

const TEMPLATES: &str = "/rest/appliances/stamus_appliance_template/";
const STAMUS: &str = "/rest/appliances/stamus_appliance/";
const SURICATA: &str = "/rest/appliances/suricata_appliance/";
const DEVICES: &str = "/rest/appliances/stamus_device/";

async fn post(s: &TestServer, path: &str, auth: &str, body: Value) -> Value {
    let (st, got) = send(s, Method::POST, path, auth, Some(body)).await;
    assert_eq!(st, 201, "{got}");
    got
}

async fn get(s: &TestServer, path: &str, auth: &str) -> Value {
    let (st, got) = send(s, Method::GET, path, auth, None).await;
    assert_eq!(st, 200, "{got}");
    got
}

async fn count(s: &TestServer, path: &str, auth: &str) -> i64 {
    get(s, path, auth).await["count"].as_i64().unwrap()
}

fn item(collection: &str, obj: &Value) -> String {
    format!("{collection}{}/", obj["pk"])
}

#[tokio::test]
async fn templates_pass_values_down_two_levels_computed_on_read_and_overrides_keep_their_own() {
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let a = format!("Bearer {admin}");
    let grand = post(
        &s,
        TEMPLATES,
        &a,
        json!({"name": "all", "capture_method": "pcap",
        "log_retention_days": 30, "interfaces": [{"name": "eth0", "active": true}]}),
    )
    .await;
    let parent = post(
        &s,
        TEMPLATES,
        &a,
        json!({"name": "branch", "parent_tmpl": grand["pk"],
        "bpf_filter": "not port 22", "overriden_fields": ["bpf_filter"]}),
    )
    .await;
    assert_eq!(parent["capture_method"], "pcap", "{parent}");
    let probe = post(
        &s,
        STAMUS,
        &a,
        json!({"name": "p1", "ip_address": "10.0.0.1",
        "parent_tmpl": parent["pk"], "log_retention_days": 7,
        "capture_method": "dpdk", "overriden_fields": ["log_retention_days"]}),
    )
    .await;
    // Inherited from the grandparent through the parent; the override keeps the own value;
    // a value set without an override is not shown.
    assert_eq!(probe["capture_method"], "pcap", "{probe}");
    assert_eq!(probe["bpf_filter"], "not port 22");
    assert_eq!(probe["log_retention_days"], 7);
    // Inherited fields neither filter nor sort (the stored own value, dpdk, is not what the
    // probe shows): the parameter is ignored as DRF ignores unknown ones.
    assert_eq!(
        count(&s, &format!("{STAMUS}?capture_method=pcap"), &a).await,
        1
    );
    assert_eq!(probe["interfaces"][0]["name"], "eth0", "{probe}");
    assert_eq!(probe["interfaces"][0]["pk"], grand["interfaces"][0]["pk"]);

    // A change to the grandparent shows in the grandchild at once; the override still holds.
    let (st, _) = send(
        &s,
        Method::PATCH,
        &item(TEMPLATES, &grand),
        &a,
        Some(json!({"capture_method": "af-packet", "log_retention_days": 90})),
    )
    .await;
    assert_eq!(st, 200);
    let now = get(&s, &item(STAMUS, &probe), &a).await;
    assert_eq!(now["capture_method"], "af-packet", "{now}");
    assert_eq!(now["log_retention_days"], 7);
    let listed = get(&s, STAMUS, &a).await;
    assert_eq!(listed["results"][0]["capture_method"], "af-packet");

    // Overriding capture_method now shows the probe's own stored value.
    let (st, got) = send(
        &s,
        Method::PATCH,
        &item(STAMUS, &probe),
        &a,
        Some(json!({"overriden_fields": ["log_retention_days", "capture_method"]})),
    )
    .await;
    assert_eq!(st, 200, "{got}");
    assert_eq!(got["capture_method"], "dpdk", "{got}");
    // An unknown field name in overriden_fields is refused.
    let (st, got) = send(
        &s,
        Method::PATCH,
        &item(STAMUS, &probe),
        &a,
        Some(json!({"overriden_fields": ["name"]})),
    )
    .await;
    assert_eq!(st, 400, "{got}");
    assert!(got.get("overriden_fields").is_some(), "{got}");
    s.stop().await;
}

#[tokio::test]
async fn cycles_missing_and_foreign_parents_are_refused_naming_parent_tmpl_and_nothing_is_written()
{
    let (s, _, [(_, a_admin), (_, b_admin)]) = crate::two_tenants().await;
    let (a, b) = (format!("Bearer {a_admin}"), format!("Bearer {b_admin}"));
    let t1 = post(&s, TEMPLATES, &a, json!({"name": "t1"})).await;
    let t2 = post(
        &s,
        TEMPLATES,
        &a,
        json!({"name": "t2", "parent_tmpl": t1["pk"]}),
    )
    .await;
    let theirs = post(&s, TEMPLATES, &b, json!({"name": "theirs"})).await;

    // t1 -> t2 -> t1 would be a cycle; t1 -> t1 too.
    for parent in [&t2["pk"], &t1["pk"]] {
        let (st, got) = send(
            &s,
            Method::PATCH,
            &item(TEMPLATES, &t1),
            &a,
            Some(json!({"parent_tmpl": parent, "name": "renamed"})),
        )
        .await;
        assert_eq!(st, 400, "{got}");
        assert!(got["parent_tmpl"].is_array(), "{got}");
    }
    // A template with children is kept; detaching the child (null parent) frees it.
    let (st, got) = send(&s, Method::DELETE, &item(TEMPLATES, &t1), &a, None).await;
    assert_eq!(st, 409, "{got}");
    let (st, got) = send(
        &s,
        Method::PATCH,
        &item(TEMPLATES, &t2),
        &a,
        Some(json!({"parent_tmpl": null})),
    )
    .await;
    assert_eq!((st, &got["parent_tmpl"]), (200, &Value::Null), "{got}");
    let kept = get(&s, &item(TEMPLATES, &t1), &a).await;
    assert_eq!(kept["parent_tmpl"], Value::Null, "{kept}");
    assert_eq!(kept["name"], "t1");

    // Another tenant's template reads exactly as a missing one.
    let (_, missing) = send(
        &s,
        Method::POST,
        STAMUS,
        &a,
        Some(json!({"name": "p", "ip_address": "10.0.0.1", "parent_tmpl": 999_999})),
    )
    .await;
    let (st, foreign) = send(
        &s,
        Method::POST,
        STAMUS,
        &a,
        Some(json!({"name": "p", "ip_address": "10.0.0.1", "parent_tmpl": theirs["pk"]})),
    )
    .await;
    assert_eq!(st, 400, "{foreign}");
    assert!(foreign["parent_tmpl"].is_array(), "{foreign}");
    assert_eq!(
        missing["parent_tmpl"][0]
            .as_str()
            .unwrap()
            .replace("999999", "N"),
        foreign["parent_tmpl"][0]
            .as_str()
            .unwrap()
            .replace(&theirs["pk"].to_string(), "N"),
    );
    assert_eq!(count(&s, STAMUS, &a).await, 0);
    // No device was made for a refused probe either: only the central server.
    assert_eq!(count(&s, DEVICES, &a).await, 1);
    // And the other tenant's template is not found through its URL.
    let (st, _) = send(&s, Method::GET, &item(TEMPLATES, &theirs), &a, None).await;
    assert_eq!(st, 404);
    s.stop().await;
}

#[tokio::test]
async fn stamus_and_suricata_probes_share_pks_and_each_stamus_probe_has_its_device() {
    let (s, _, [(_, a_admin), (_, b_admin)]) = crate::two_tenants().await;
    let (a, b) = (format!("Bearer {a_admin}"), format!("Bearer {b_admin}"));
    let sur = post(
        &s,
        SURICATA,
        &a,
        json!({"name": "s", "ipaddress": "10.0.0.2"}),
    )
    .await;
    let st1 = post(
        &s,
        STAMUS,
        &a,
        json!({"name": "edge", "descr": "d", "ip_address": "10.0.0.3"}),
    )
    .await;
    assert_eq!(
        st1["pk"].as_i64().unwrap(),
        sur["pk"].as_i64().unwrap() + 1,
        "{st1}"
    );
    // The probe's device, in its tenant, named by the read-only stamusdevice_id.
    let device = get(&s, &format!("{DEVICES}{}/", st1["stamusdevice_id"]), &a).await;
    assert_eq!(device["name"], "edge");
    assert_eq!(device["ipaddress"], "10.0.0.3");
    let (st, _) = send(
        &s,
        Method::GET,
        &format!("{DEVICES}{}/", st1["stamusdevice_id"]),
        &b,
        None,
    )
    .await;
    assert_eq!(st, 404);
    // stamusdevice_id cannot be written (ignored, as DRF does).
    let (st, got) = send(
        &s,
        Method::PATCH,
        &item(STAMUS, &st1),
        &a,
        Some(json!({"stamusdevice_id": 1})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(got["stamusdevice_id"], st1["stamusdevice_id"]);

    // Another tenant sees nothing of it.
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let body = (method == Method::PATCH).then(|| json!({"name": "x"}));
        let (st, _) = send(&s, method, &item(STAMUS, &st1), &b, body).await;
        assert_eq!(st, 404);
    }

    // PUT replaces (the required fields must be there); PATCH changes what it names.
    let (st, got) = send(
        &s,
        Method::PUT,
        &item(STAMUS, &st1),
        &a,
        Some(json!({"name": "edge2"})),
    )
    .await;
    assert_eq!(st, 400, "{got}");
    assert!(got["ip_address"].is_array(), "{got}");
    let (st, got) = send(
        &s,
        Method::PATCH,
        &item(STAMUS, &st1),
        &a,
        Some(json!({"name": "edge2"})),
    )
    .await;
    assert_eq!((st, &got["ip_address"]), (200, &json!("10.0.0.3")));
    // The device follows the probe's name.
    let device = get(&s, &format!("{DEVICES}{}/", st1["stamusdevice_id"]), &a).await;
    assert_eq!(device["name"], "edge2");

    // Deleting the probe removes its device.
    let (st, _) = send(&s, Method::DELETE, &item(STAMUS, &st1), &a, None).await;
    assert_eq!(st, 204);
    assert_eq!(count(&s, DEVICES, &a).await, 1);
    s.stop().await;
}

#[tokio::test]
async fn options_describe_the_probe_fields() {
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let a = format!("Bearer {admin}");
    for (path, fields) in [
        (
            TEMPLATES,
            &[
                "name",
                "parent_tmpl",
                "overriden_fields",
                "capture_method",
                "interfaces",
            ][..],
        ),
        (
            STAMUS,
            &[
                "ip_address",
                "stamusdevice_id",
                "parent_tmpl",
                "overriden_fields",
                "protocols",
            ][..],
        ),
    ] {
        let (st, meta) = send(&s, Method::OPTIONS, path, &a, None).await;
        assert_eq!(st, 200);
        for f in fields {
            assert!(
                meta["actions"]["POST"].get(*f).is_some(),
                "{path} {f}: {meta}"
            );
        }
    }
    let (_, meta) = send(&s, Method::OPTIONS, STAMUS, &a, None).await;
    assert_eq!(
        meta["actions"]["POST"]["stamusdevice_id"]["read_only"],
        true
    );
    s.stop().await;
}

const APPLIANCES: &str = "/rest/appliances/appliances/";

#[tokio::test]
async fn appliances_is_the_read_only_union_of_both_kinds_with_their_type_and_drf_lists() {
    let (s, _, [(_, a_admin), (_, b_admin)]) = crate::two_tenants().await;
    let (a, b) = (format!("Bearer {a_admin}"), format!("Bearer {b_admin}"));
    let sur = post(
        &s,
        SURICATA,
        &a,
        json!({"name": "zeta", "description": "sensor", "ipaddress": "10.0.0.2"}),
    )
    .await;
    let sta = post(
        &s,
        STAMUS,
        &a,
        json!({"name": "alpha", "descr": "edge probe", "ip_address": "10.0.0.3"}),
    )
    .await;
    post(
        &s,
        STAMUS,
        &b,
        json!({"name": "other", "ip_address": "10.0.0.4"}),
    )
    .await;

    let all = get(&s, APPLIANCES, &a).await;
    assert_eq!(all["count"], 2, "{all}");
    assert_eq!(all["results"][0]["pk"], sur["pk"]);
    assert_eq!(all["results"][0]["type"], "Suricata");
    assert_eq!(all["results"][0]["descr"], "sensor");
    assert_eq!(all["results"][0]["ip_address"], "10.0.0.2");
    assert_eq!(all["results"][1]["pk"], sta["pk"]);
    assert_eq!(all["results"][1]["type"], "Stamus");
    // Each item at its pk, the same pk as at its own address.
    let one = get(&s, &item(APPLIANCES, &sta), &a).await;
    assert_eq!(
        (&one["name"], &one["type"]),
        (&json!("alpha"), &json!("Stamus"))
    );
    let (st, _) = send(&s, Method::GET, &item(APPLIANCES, &sta), &b, None).await;
    assert_eq!(st, 404);

    // DRF list conventions: ordering, search, filters, paging.
    let by_name = get(&s, &format!("{APPLIANCES}?ordering=-name"), &a).await;
    assert_eq!(by_name["results"][0]["name"], "zeta");
    let found = get(&s, &format!("{APPLIANCES}?search=edge"), &a).await;
    assert_eq!(
        (found["count"].as_i64(), &found["results"][0]["pk"]),
        (Some(1), &sta["pk"])
    );
    let stamus = get(&s, &format!("{APPLIANCES}?type=Stamus"), &a).await;
    assert_eq!(
        (stamus["count"].as_i64(), &stamus["results"][0]["pk"]),
        (Some(1), &sta["pk"])
    );
    let paged = get(&s, &format!("{APPLIANCES}?page_size=1&page=2"), &a).await;
    assert_eq!(
        paged["results"].as_array().map(Vec::len),
        Some(1),
        "{paged}"
    );
    assert_eq!(paged["results"][0]["pk"], sta["pk"]);
    assert!(paged["previous"].is_string(), "{paged}");

    // Read-only: no writes at the union.
    let (st, _) = send(&s, Method::POST, APPLIANCES, &a, Some(json!({"name": "x"}))).await;
    assert_eq!(st, 405);
    let (st, _) = send(&s, Method::DELETE, &item(APPLIANCES, &sta), &a, None).await;
    assert_eq!(st, 405);
    s.stop().await;
}

const INTERFACES: &str = "/rest/appliances/network_interface/";
const PROTOCOLS: &str = "/rest/appliances/protocol/";

fn names(obj: &Value, field: &str) -> Vec<(String, bool)> {
    obj[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field}: {obj}"))
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["active"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn interfaces_and_protocols_are_rows_set_through_the_field_deletable_both_ways_and_inherited()
{
    let (s, _, [(_, a_admin), (_, b_admin)]) = crate::two_tenants().await;
    let (a, b) = (format!("Bearer {a_admin}"), format!("Bearer {b_admin}"));
    let probe = post(
        &s,
        STAMUS,
        &a,
        json!({"name": "p", "ip_address": "10.0.0.1",
        "interfaces": [{"name": "eth0", "active": true}, {"name": "eth1", "active": false}],
        "protocols": [{"name": "http", "active": true}]}),
    )
    .await;
    assert_eq!(
        names(&probe, "interfaces"),
        [("eth0".into(), true), ("eth1".into(), false)]
    );
    assert_eq!(names(&probe, "protocols"), [("http".into(), true)]);
    let eth0 = probe["interfaces"][0].clone();
    let eth1 = probe["interfaces"][1].clone();
    // Each a row of its own, naming its owner.
    let row = get(&s, &item(INTERFACES, &eth0), &a).await;
    assert_eq!(
        (&row["name"], &row["appliance"], &row["template"]),
        (&json!("eth0"), &probe["pk"], &Value::Null)
    );
    assert_eq!(count(&s, PROTOCOLS, &a).await, 1);
    assert_eq!(count(&s, INTERFACES, &b).await, 0);
    let (st, _) = send(&s, Method::GET, &item(INTERFACES, &eth0), &b, None).await;
    assert_eq!(st, 404);

    // A new list: known pk updated (renamed), known name updated, missing deleted, new added.
    let (st, got) = send(
        &s,
        Method::PATCH,
        &item(STAMUS, &probe),
        &a,
        Some(json!({"interfaces": [
        {"pk": eth0["pk"], "name": "eth9", "active": false},
        {"name": "eth2", "active": true}]})),
    )
    .await;
    assert_eq!(st, 200, "{got}");
    assert_eq!(
        names(&got, "interfaces"),
        [("eth9".into(), false), ("eth2".into(), true)]
    );
    assert_eq!(got["interfaces"][0]["pk"], eth0["pk"]);
    let (st, _) = send(&s, Method::GET, &item(INTERFACES, &eth1), &a, None).await;
    assert_eq!(st, 404);
    // The protocols, not named, are untouched.
    assert_eq!(names(&got, "protocols"), [("http".into(), true)]);

    // DELETE on the interface itself.
    let (st, _) = send(&s, Method::DELETE, &item(INTERFACES, &eth0), &a, None).await;
    assert_eq!(st, 204);
    let now = get(&s, &item(STAMUS, &probe), &a).await;
    assert_eq!(names(&now, "interfaces"), [("eth2".into(), true)]);

    // A good list beside a bad one, or beside a missing parent: refused, no row changed.
    for other in [
        json!({"protocols": [{"name": "dns"}]}),
        json!({"parent_tmpl": 999_999}),
    ] {
        let mut body = other;
        body["interfaces"] = json!([{"name": "eth7", "active": true}]);
        let (st, got) = send(&s, Method::PATCH, &item(STAMUS, &probe), &a, Some(body)).await;
        assert_eq!(st, 400, "{got}");
        let now = get(&s, &item(STAMUS, &probe), &a).await;
        assert_eq!(names(&now, "interfaces"), [("eth2".into(), true)]);
    }
    // Bad entries are refused naming the field, nothing changed.
    let (st, got) = send(
        &s,
        Method::PATCH,
        &item(STAMUS, &probe),
        &a,
        Some(json!({"interfaces": [{"name": "eth3"}]})),
    )
    .await;
    assert_eq!(st, 400, "{got}");
    assert_eq!(
        names(&get(&s, &item(STAMUS, &probe), &a).await, "interfaces"),
        [("eth2".into(), true)]
    );

    // Inherited: a child without its own interfaces shows its template's; overriding keeps
    // its own (even none).
    let tmpl = post(
        &s,
        TEMPLATES,
        &a,
        json!({"name": "t",
        "interfaces": [{"name": "bond0", "active": true}]}),
    )
    .await;
    let child = post(
        &s,
        STAMUS,
        &a,
        json!({"name": "c", "ip_address": "10.0.0.5",
        "parent_tmpl": tmpl["pk"]}),
    )
    .await;
    assert_eq!(names(&child, "interfaces"), [("bond0".into(), true)]);
    let (_, got) = send(
        &s,
        Method::PATCH,
        &item(STAMUS, &child),
        &a,
        Some(json!({"overriden_fields": ["interfaces"]})),
    )
    .await;
    assert_eq!(got["interfaces"], json!([]), "{got}");
    // Deleting a probe deletes its rows.
    let (st, _) = send(&s, Method::DELETE, &item(STAMUS, &probe), &a, None).await;
    assert_eq!(st, 204);
    assert_eq!(
        count(&s, &format!("{INTERFACES}?appliance={}", probe["pk"]), &a).await,
        0
    );
    assert_eq!(count(&s, PROTOCOLS, &a).await, 0);
    s.stop().await;
}

/// A probe's or template's `ruleset` names a ruleset of its own tenant: another tenant's
/// answers exactly as a missing one (400 on `ruleset`, nothing written).
#[tokio::test]
async fn a_probe_ruleset_must_be_one_of_its_own_tenant() {
    let (s, _, [(_, a), (_, b)]) = crate::two_tenants().await;
    let (a, b) = (format!("Bearer {a}"), format!("Bearer {b}"));
    let rs = |auth: &str| {
        let (s, auth) = (&s, auth.to_owned());
        async move {
            let (st, made) = send(
                s,
                Method::POST,
                "/rest/rules/ruleset/",
                &auth,
                Some(json!({"name": "prod"})),
            )
            .await;
            assert_eq!(st, 201, "{made}");
            made["pk"].clone()
        }
    };
    let theirs = rs(&b).await;
    let ours = rs(&a).await;
    for (pk, want) in [(theirs.clone(), 400), (json!(999_999), 400), (ours, 201)] {
        let (st, got) = send(
            &s,
            Method::POST,
            TEMPLATES,
            &a,
            Some(json!({"name": format!("t{pk}"), "ruleset": pk})),
        )
        .await;
        assert_eq!(st, want, "ruleset {pk}: {got}");
        if want == 400 {
            assert!(
                got["ruleset"][0]
                    .as_str()
                    .unwrap()
                    .contains("does not exist"),
                "{got}"
            );
        }
    }
    let (_, all) = send(&s, Method::GET, TEMPLATES, &a, None).await;
    assert_eq!(all["count"], 1, "only the valid one was written: {all}");
    // Changing a probe to another tenant's ruleset is refused the same way.
    let (st, probe) = send(
        &s,
        Method::POST,
        STAMUS,
        &a,
        Some(json!({"name": "edge", "ip_address": "10.0.0.1"})),
    )
    .await;
    assert_eq!(st, 201, "{probe}");
    let (st, got) = send(
        &s,
        Method::PATCH,
        &format!("{STAMUS}{}/", probe["pk"]),
        &a,
        Some(json!({"ruleset": theirs})),
    )
    .await;
    assert_eq!(st, 400, "{got}");
    s.stop().await;
}
