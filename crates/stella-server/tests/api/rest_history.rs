//! The `/rest/` action history (`/rest/rules/history/`): one entry per write made through
//! `/rest/`, newest first, with the comment, the client's address, a description and the
//! objects it names; a deleted object's pk leaves its entries; filters by user, action type,
//! comment and date range; per tenant.

use serde_json::{json, Value};
use stella_testkit::TestServer;

const PROBES: &str = "/rest/appliances/suricata_appliance/";
const HISTORY: &str = "/rest/rules/history/";

async fn call(
    s: &TestServer,
    method: &str,
    path: &str,
    jwt: &str,
    body: Option<Value>,
) -> (u16, Value) {
    s.call(method, path, Some(jwt), body).await
}

#[tokio::test]
async fn rest_writes_leave_history_entries_that_filter_and_forget_deleted_objects() {
    let (s, root, [(a, a_admin), (_, b_admin)]) = crate::two_tenants().await;
    let (st, made) = call(
        &s,
        "POST",
        PROBES,
        &a_admin,
        Some(json!({"name": "edge-1", "ipaddress": "10.0.0.1", "comment": "first probe"})),
    )
    .await;
    assert_eq!(st, 201, "{made}");
    let pk = made["pk"].clone();
    let item = format!("{PROBES}{pk}/");
    // The comment is not a field of the probe.
    assert!(made.get("comment").is_none(), "{made}");
    s.clock.advance(chrono::TimeDelta::seconds(5));
    let (st, _) = call(
        &s,
        "PATCH",
        &item,
        &a_admin,
        Some(json!({"name": "edge-2"})),
    )
    .await;
    assert_eq!(st, 200);
    // A refused write leaves nothing.
    let (st, _) = call(
        &s,
        "PATCH",
        &item,
        &a_admin,
        Some(json!({"ipaddress": "nope"})),
    )
    .await;
    assert_eq!(st, 400);

    let (st, h) = call(&s, "GET", HISTORY, &a_admin, None).await;
    assert_eq!(st, 200, "{h}");
    assert_eq!(h["count"], 2, "{h}");
    let [edit, create] = [&h["results"][0], &h["results"][1]];
    assert_eq!(create["action_type"], "create_suricata_appliance");
    assert_eq!(edit["action_type"], "edit_suricata_appliance");
    assert_eq!(create["comment"], "first probe");
    assert_eq!(edit["comment"], Value::Null);
    assert_eq!(create["client_ip"], "127.0.0.1");
    assert_eq!(
        create["description_raw"],
        "{user} has created suricata appliance {suricata_appliance}"
    );
    let email = create["username"].as_str().unwrap().to_owned();
    assert_eq!(
        create["description"],
        format!("{email} has created suricata appliance edge-1")
    );
    assert_eq!(
        create["ua_objects"]["suricata_appliance"],
        json!({"type": "suricata_appliance", "pk": pk, "value": "edge-1"})
    );
    assert_eq!(create["tenant_id"], json!(a));

    // Filters: action type, user, comment, a date range.
    let filtered = |q: &str| {
        let path = format!("{HISTORY}?{q}");
        let s = &s;
        let a_admin = a_admin.clone();
        async move { call(s, "GET", &path, &a_admin, None).await.1["count"].clone() }
    };
    assert_eq!(filtered("action_type=create_suricata_appliance").await, 1);
    assert_eq!(filtered(&format!("username={email}")).await, 2);
    assert_eq!(filtered("username=someone@else.test").await, 0);
    assert_eq!(filtered("comment=first%20probe").await, 1);
    let created_at = create["date"].as_str().unwrap().to_owned();
    assert_eq!(
        filtered(&format!("date__gt={}", created_at.replace('+', "%2B"))).await,
        1
    );
    assert_eq!(
        filtered(&format!("date__lte={}", created_at.replace('+', "%2B"))).await,
        1
    );
    let (st, bad) = call(
        &s,
        "GET",
        &format!("{HISTORY}?date__gte=yesterday"),
        &a_admin,
        None,
    )
    .await;
    assert_eq!(st, 400, "{bad}");
    assert!(bad.get("date__gte").is_some(), "{bad}");

    // Another tenant sees none of it; root sees it all.
    let (_, other) = call(&s, "GET", HISTORY, &b_admin, None).await;
    assert_eq!(other["count"], 0);
    let (_, all) = call(&s, "GET", HISTORY, &root, None).await;
    assert_eq!(all["count"], 2);
    // Read-only.
    let (st, _) = call(
        &s,
        "POST",
        HISTORY,
        &root,
        Some(json!({"action_type": "x"})),
    )
    .await;
    assert_eq!(st, 405);

    // Deleting the probe: a delete entry, and no entry points at it any more.
    let (st, _) = call(
        &s,
        "DELETE",
        &item,
        &a_admin,
        Some(json!({"comment": "decommissioned"})),
    )
    .await;
    assert_eq!(st, 204);
    let (_, h) = call(&s, "GET", HISTORY, &a_admin, None).await;
    assert_eq!(h["count"], 3);
    assert_eq!(h["results"][0]["action_type"], "delete_suricata_appliance");
    assert_eq!(h["results"][0]["comment"], "decommissioned");
    for e in h["results"].as_array().unwrap() {
        let o = &e["ua_objects"]["suricata_appliance"];
        assert!(o.get("pk").is_none(), "{e}");
        assert!(o["value"].is_string(), "{e}");
    }
}

/// A list-level action (DRF's `@action(detail=False)`): the action types an entry may have,
/// as Scirius lists them, for whoever may read the history; routed, redirected without its
/// slash and refused without a credential like any `/rest/` path.
#[tokio::test]
async fn the_history_lists_its_action_types() {
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let path = format!("{HISTORY}get_action_type_list/");
    let (st, got) = call(&s, "GET", &path, &admin, None).await;
    assert_eq!(st, 200, "{got}");
    let list = got["action_type_list"].as_object().expect("an object");
    assert_eq!(
        list["create_suricata_appliance"],
        "Create suricata appliance"
    );
    assert_eq!(list["disable_category"], "Disable category", "{got}");
    assert!(!list.contains_key("create_rule"), "rules are read-only");
    // The list action does not shadow objects: a pk still finds an entry (here none, 404).
    assert_eq!(
        call(&s, "GET", &format!("{HISTORY}7/"), &admin, None)
            .await
            .0,
        404
    );
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(s.url(path.trim_end_matches('/')))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 301);
    assert_eq!(s.status("GET", &path, None).await, 401);
    s.stop().await;
}

/// A tenant's history goes with it: entries reference their tenant and are never purged, so
/// they must not hold it once its objects and users are gone; and while objects remain, the 409
/// names the /rest/ ones among them.
#[tokio::test]
async fn a_deleted_tenant_takes_its_history_and_the_409_names_what_holds_it() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (t, uid, admin) =
        crate::tenant_user(&s, &root, "acme", "admin@acme.test", "security_admin").await;
    let (_, _, other) =
        crate::tenant_user(&s, &root, "globex", "admin@globex.test", "security_admin").await;
    let made = |path: &'static str, body: Value, jwt: String| {
        let s = &s;
        async move {
            let (st, made) = call(s, "POST", path, &jwt, Some(body)).await;
            assert_eq!(st, 201, "{path}: {made}");
            format!("{path}{}/", made["pk"])
        }
    };
    let probe = made(
        PROBES,
        json!({"name": "edge", "ipaddress": "10.0.0.1"}),
        admin.clone(),
    )
    .await;
    let template = made(
        "/rest/appliances/stamus_appliance_template/",
        json!({"name": "t", "interfaces": [{"name": "eth0", "active": true}]}),
        admin.clone(),
    )
    .await;
    let source = made(
        "/rest/rules/source/",
        json!({"name": "local"}),
        admin.clone(),
    )
    .await;
    let ruleset = made(
        "/rest/rules/ruleset/",
        json!({"name": "prod"}),
        admin.clone(),
    )
    .await;
    made(
        PROBES,
        json!({"name": "theirs", "ipaddress": "10.0.0.2"}),
        other.clone(),
    )
    .await;

    let tenant = format!("/connect/api/v1/tenants/{t}");
    let (st, problem) = s.call("DELETE", &tenant, Some(&root), None).await;
    crate::assert_problem(st, &problem, 409);
    let detail = problem["detail"].as_str().unwrap();
    for what in [
        "users",
        "Suricata probes",
        "probe templates",
        "probe interfaces",
        "rule sources",
        "rulesets",
    ] {
        assert!(detail.contains(what), "{what}: {detail}");
    }

    for path in [&probe, &template, &source, &ruleset] {
        let (st, body) = call(&s, "DELETE", path, &admin, None).await;
        assert_eq!(st, 204, "{path}: {body}");
    }
    let (_, h) = call(&s, "GET", HISTORY, &root, None).await;
    assert_eq!(h["count"], 9, "{h}");
    let (st, body) = s
        .call(
            "DELETE",
            &format!("/connect/api/v1/users/{uid}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 204, "{body}");
    let (st, body) = s.call("DELETE", &tenant, Some(&root), None).await;
    assert_eq!(st, 204, "{body}");
    // Only the other tenant's entry is left.
    let (_, h) = call(&s, "GET", HISTORY, &root, None).await;
    assert_eq!(h["count"], 1, "{h}");
    assert_eq!(
        h["results"][0]["ua_objects"]["suricata_appliance"]["value"],
        "theirs"
    );
}

/// The pks of `kind` objects that entries still name.
async fn named_pks(s: &TestServer, jwt: &str, kind: &str) -> Vec<Value> {
    let (st, h) = call(s, "GET", &format!("{HISTORY}?page_size=100"), jwt, None).await;
    assert_eq!(st, 200, "{h}");
    h["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["ua_objects"].as_object().unwrap().values().cloned())
        .filter(|o| o["type"] == kind)
        .filter_map(|o| o.get("pk").cloned())
        .collect()
}

/// Objects deleted along with their owner lose their pk from every entry too: a source's
/// categories, a probe's or template's interfaces and protocols (with it, or when a write of
/// its list drops them).
#[tokio::test]
async fn entries_forget_objects_deleted_with_their_owner() {
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let (st, src) = call(
        &s,
        "POST",
        "/rest/rules/source/",
        &admin,
        Some(json!({"name": "local"})),
    )
    .await;
    assert_eq!(st, 201, "{src}");
    let r = s
        .client
        .post(s.url(&format!(
            "/rest/rules/source/{}/upload/?filename=local.rules",
            src["pk"]
        )))
        .bearer_auth(&admin)
        .header("content-type", "application/octet-stream")
        .body("alert tcp any any -> any 23 (msg:\"telnet\"; sid:1000002; rev:1;)\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (st, rs) = call(
        &s,
        "POST",
        "/rest/rules/ruleset/",
        &admin,
        Some(json!({"name": "prod", "sources": [src["pk"]]})),
    )
    .await;
    assert_eq!(st, 201, "{rs}");
    let (_, cats) = call(&s, "GET", "/rest/rules/category/", &admin, None).await;
    let cat = cats["results"][0]["pk"].clone();
    let (st, done) = call(
        &s,
        "POST",
        &format!("/rest/rules/category/{cat}/disable/"),
        &admin,
        Some(json!({"ruleset": rs["pk"]})),
    )
    .await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(named_pks(&s, &admin, "category").await, vec![cat]);
    let (st, _) = call(
        &s,
        "DELETE",
        &format!("/rest/rules/source/{}/", src["pk"]),
        &admin,
        None,
    )
    .await;
    assert_eq!(st, 204);
    assert!(named_pks(&s, &admin, "category").await.is_empty());

    // A template's interface and protocol, each written on its own (an entry naming it), then
    // the protocol dropped by a write of the template's list and the interface with the template.
    const TEMPLATES: &str = "/rest/appliances/stamus_appliance_template/";
    let (st, t) = call(
        &s,
        "POST",
        TEMPLATES,
        &admin,
        Some(
            json!({"name": "t", "interfaces": [{"name": "eth0", "active": true}],
                    "protocols": [{"name": "dns", "active": true}]}),
        ),
    )
    .await;
    assert_eq!(st, 201, "{t}");
    let template = format!("{TEMPLATES}{}/", t["pk"]);
    let (_, t) = call(&s, "GET", &template, &admin, None).await;
    let iface = t["interfaces"][0]["pk"].clone();
    let proto = t["protocols"][0]["pk"].clone();
    for path in [
        format!("/rest/appliances/network_interface/{iface}/"),
        format!("/rest/appliances/protocol/{proto}/"),
    ] {
        let (st, body) = call(&s, "PATCH", &path, &admin, Some(json!({"active": false}))).await;
        assert_eq!(st, 200, "{path}: {body}");
    }
    assert_eq!(
        named_pks(&s, &admin, "network_interface").await,
        vec![iface.clone()]
    );
    assert_eq!(named_pks(&s, &admin, "protocol").await, vec![proto]);
    let (st, body) = call(
        &s,
        "PATCH",
        &template,
        &admin,
        Some(json!({"protocols": []})),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert!(named_pks(&s, &admin, "protocol").await.is_empty());
    assert_eq!(
        named_pks(&s, &admin, "network_interface").await,
        vec![iface]
    );
    let (st, _) = call(&s, "DELETE", &template, &admin, None).await;
    assert_eq!(st, 204);
    assert!(named_pks(&s, &admin, "network_interface").await.is_empty());
}

/// Makes every insert into the action history fail, through a trigger the test adds to the
/// server's database: the last follow-up of a `/rest/` write fails after the object's row
/// and its interface rows were written.
async fn break_history(s: &TestServer) {
    if stella_testkit::backend() == "postgres" {
        s.execute_sql(
            "CREATE FUNCTION stella_test_refuse() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
        )
        .await;
        s.execute_sql(
            "CREATE TRIGGER stella_test_refuse BEFORE INSERT ON user_actions \
             FOR EACH ROW EXECUTE FUNCTION stella_test_refuse()",
        )
        .await;
    } else {
        s.execute_sql(
            "CREATE TRIGGER stella_test_refuse BEFORE INSERT ON user_actions \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        )
        .await;
    }
}

#[tokio::test]
async fn a_write_whose_history_entry_fails_leaves_nothing_written() {
    const STAMUS: &str = "/rest/appliances/stamus_appliance/";
    const INTERFACES: &str = "/rest/appliances/network_interface/";
    let (s, _, [(_, a_admin), _]) = crate::two_tenants().await;
    let (st, kept) = call(
        &s,
        "POST",
        STAMUS,
        &a_admin,
        Some(json!({"name": "kept", "ip_address": "10.0.0.1",
            "interfaces": [{"name": "eth0", "active": true}]})),
    )
    .await;
    assert_eq!(st, 201, "{kept}");
    let item = format!("{STAMUS}{}/", kept["pk"]);
    const DEVICES: &str = "/rest/appliances/stamus_device/";
    let (_, devices) = call(&s, "GET", DEVICES, &a_admin, None).await;
    let devices_before = devices["count"].clone();
    break_history(&s).await;

    // A create: neither the probe nor its interface rows.
    let (st, body) = call(
        &s,
        "POST",
        STAMUS,
        &a_admin,
        Some(json!({"name": "lost", "ip_address": "10.0.0.2",
            "interfaces": [{"name": "eth5", "active": true}]})),
    )
    .await;
    assert!(st >= 500, "{st} {body}");
    let (_, list) = call(&s, "GET", STAMUS, &a_admin, None).await;
    assert_eq!(list["count"], 1, "{list}");
    let (_, ifaces) = call(&s, "GET", INTERFACES, &a_admin, None).await;
    assert_eq!(ifaces["count"], 1, "{ifaces}");
    // Nor the Stamus device made for it before its row.
    let (_, devices) = call(&s, "GET", DEVICES, &a_admin, None).await;
    assert_eq!(devices["count"], devices_before, "{devices}");

    // An update: neither the new name nor the new interface list.
    let (st, body) = call(
        &s,
        "PATCH",
        &item,
        &a_admin,
        Some(json!({"name": "renamed", "interfaces": [{"name": "eth7", "active": false}]})),
    )
    .await;
    assert!(st >= 500, "{st} {body}");
    let (_, now) = call(&s, "GET", &item, &a_admin, None).await;
    assert_eq!(now["name"], "kept", "{now}");
    assert_eq!(now["interfaces"][0]["name"], "eth0", "{now}");
    let (_, ifaces) = call(&s, "GET", INTERFACES, &a_admin, None).await;
    assert_eq!(ifaces["count"], 1, "{ifaces}");

    // A delete: the probe and its interfaces stay.
    let (st, body) = call(&s, "DELETE", &item, &a_admin, None).await;
    assert!(st >= 500, "{st} {body}");
    let (st, now) = call(&s, "GET", &item, &a_admin, None).await;
    assert_eq!((st, &now["name"]), (200, &json!("kept")), "{now}");
    let (_, ifaces) = call(&s, "GET", INTERFACES, &a_admin, None).await;
    assert_eq!(ifaces["count"], 1, "{ifaces}");
}

/// `OPTIONS` on an action's path, on the list (`get_action_type_list`) and on one object
/// (`upload`), as DRF answers it for any view.
#[tokio::test]
async fn actions_answer_options_with_their_metadata_and_allow() {
    let (s, _, [(_, a_admin), _]) = crate::two_tenants().await;
    let client = reqwest::Client::new();
    let options = |path: &str| {
        client
            .request(reqwest::Method::OPTIONS, s.url(path))
            .bearer_auth(&a_admin)
            .send()
    };
    let r = options("/rest/rules/history/get_action_type_list/")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["allow"], "GET, HEAD, OPTIONS");
    let meta: Value = r.json().await.unwrap();
    assert_eq!(meta["name"], "Get action type list", "{meta}");
    assert_eq!(meta["renders"], json!(["application/json"]));
    assert!(meta["description"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(meta.get("actions").is_none(), "{meta}");

    let r = options("/rest/rules/source/1/upload/").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["allow"], "POST, OPTIONS");
    let meta: Value = r.json().await.unwrap();
    assert_eq!(meta["name"], "Upload", "{meta}");
    assert_eq!(meta["actions"], json!({"POST": {}}), "{meta}");

    // Still a credential first.
    let r = client
        .request(
            reqwest::Method::OPTIONS,
            s.url("/rest/rules/source/1/upload/"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
