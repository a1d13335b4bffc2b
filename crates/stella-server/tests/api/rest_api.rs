//! The probe-management REST API at `/rest/` (issue 14): the resource engine in Django REST
//! framework's dialect, over real HTTP. Error shapes, conventions (paging, ordering, search,
//! filters, OPTIONS, PUT vs PATCH, statuses, trailing slashes), authentication and tenancy.

use reqwest::Method;
use serde_json::{json, Value};
use stella_testkit::TestServer;

/// A request with `Authorization: <auth>` (`Token …` or `Bearer …`), answering the status,
/// the headers and the JSON body (`Null` when empty).
async fn send(
    s: &TestServer,
    method: Method,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = s.client.request(method, s.url(path));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn bearer(jwt: &str) -> String {
    format!("Bearer {jwt}")
}

/// Asserts DRF's `{"detail": "…"}` shape (and nothing else) with `status`.
fn assert_detail(got: (u16, &Value), status: u16) {
    assert_eq!(got.0, status, "{}", got.1);
    let obj = got
        .1
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {}", got.1));
    assert_eq!(obj.len(), 1, "{}", got.1);
    assert!(obj["detail"].is_string(), "{}", got.1);
}

#[tokio::test]
async fn rest_errors_take_drf_shapes_and_other_surfaces_keep_problem_json() {
    let s = TestServer::start().await;
    let root = bearer(&s.root_jwt().await);

    // 401: no credential, a wrong token; DRF's TokenAuthentication challenge.
    let (st, h, body) = send(&s, Method::GET, "/rest/", None, None).await;
    assert_detail((st, &body), 401);
    assert_eq!(h["www-authenticate"], "Token");
    assert_eq!(h["content-type"], "application/json");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .starts_with("Authentication credentials were not provided"));
    let wrong = format!("Token {}", "0".repeat(40));
    let (st, _, body) = send(&s, Method::GET, "/rest/", Some(&wrong), None).await;
    assert_detail((st, &body), 401);

    // 404 for a path nothing serves; 405 naming the method.
    let (st, h, body) = send(&s, Method::GET, "/rest/nothing/here/", Some(&root), None).await;
    assert_detail((st, &body), 404);
    assert_eq!(body["detail"], "Not found.");
    assert!(h["x-trace-id"].to_str().unwrap().starts_with("00-"));
    let (st, _, body) = send(&s, Method::DELETE, "/rest/", Some(&root), None).await;
    assert_detail((st, &body), 405);
    assert_eq!(body["detail"], "Method \"DELETE\" not allowed.");

    // Elsewhere, problem+json as before.
    let (st, h, body) = send(
        &s,
        Method::GET,
        "/connect/api/v1/nothing",
        Some(&root),
        None,
    )
    .await;
    crate::assert_problem(st, &body, 404);
    assert_eq!(h["content-type"], "application/problem+json");
    let (st, h, body) = send(&s, Method::GET, "/connect/api/v1/tenants", None, None).await;
    crate::assert_problem(st, &body, 401);
    assert_eq!(h["www-authenticate"], "Bearer realm=\"stella\"");
    s.stop().await;
}

const PROBES: &str = "/rest/appliances/suricata_appliance/";
const DEVICES: &str = "/rest/appliances/stamus_device/";

/// Creates a Suricata probe as `auth`; panics unless 201. Answers it.
async fn probe(s: &TestServer, auth: &str, body: Value) -> Value {
    let (st, _, made) = send(s, Method::POST, PROBES, Some(auth), Some(body)).await;
    assert_eq!(st, 201, "{made}");
    made
}

#[tokio::test]
async fn rest_probe_objects_are_served_by_the_engine() {
    let (s, root, (acme, admin)) = crate::one_tenant().await;
    let admin = bearer(&admin);
    let root = bearer(&root);

    // The central server is stamus_device 1 in every deployment, read by every tenant.
    let (st, _, scs) = send(&s, Method::GET, &format!("{DEVICES}1/"), Some(&admin), None).await;
    assert_eq!(st, 200, "{scs}");
    assert_eq!(
        (scs["pk"].clone(), scs["tenant_id"].clone()),
        (json!(1), Value::Null)
    );
    let (_, _, list) = send(&s, Method::GET, DEVICES, Some(&admin), None).await;
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["results"][0]["pk"], 1);
    // Read-only: no writes.
    let (st, _, body) = send(
        &s,
        Method::POST,
        DEVICES,
        Some(&root),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_detail((st, &body), 405);
    let (st, _, body) = send(
        &s,
        Method::DELETE,
        &format!("{DEVICES}1/"),
        Some(&root),
        None,
    )
    .await;
    assert_detail((st, &body), 405);

    // Suricata probes: integer keys, every field shown, the tenant's own.
    let made = probe(
        &s,
        &admin,
        json!({"name": "edge-1", "ipaddress": "10.0.0.1"}),
    )
    .await;
    let pk = made["pk"].as_i64().expect("an integer pk");
    assert!(pk >= 1, "{made}");
    assert_eq!(made["tenant_id"], json!(acme));
    assert_eq!(made["description"], Value::Null);
    assert!(made.get("id").is_none(), "{made}");
    let next = probe(
        &s,
        &admin,
        json!({"name": "edge-2", "ipaddress": "10.0.0.2"}),
    )
    .await;
    assert_eq!(next["pk"], json!(pk + 1));
    let (st, _, got) = send(
        &s,
        Method::GET,
        &format!("{PROBES}{pk}/"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!((st, &got), (200, &made));
    s.stop().await;
}

async fn count(s: &TestServer, auth: &str, path: &str) -> i64 {
    let (st, _, list) = send(s, Method::GET, path, Some(auth), None).await;
    assert_eq!(st, 200, "{list}");
    list["count"].as_i64().unwrap()
}

fn names(list: &Value) -> Vec<&str> {
    list["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {list}"))
        .iter()
        .map(|o| o["name"].as_str().unwrap_or_default())
        .collect()
}

/// GET of an absolute URL as the server gave it.
async fn follow(s: &TestServer, url: &str, auth: &str) -> (u16, Value) {
    let r = s
        .client
        .get(url)
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn rest_lists_page_by_number_with_absolute_links_and_a_bounded_page_size() {
    let (s, _, (_, admin)) = crate::one_tenant_with(|c| c.max_page_size = 40).await;
    let admin = bearer(&admin);
    for i in 0..65 {
        probe(
            &s,
            &admin,
            json!({"name": format!("p{i:02}"), "ipaddress": format!("10.0.1.{i}")}),
        )
        .await;
    }
    let (st, _, first) = send(&s, Method::GET, PROBES, Some(&admin), None).await;
    assert_eq!(st, 200, "{first}");
    assert_eq!(
        first.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["count", "next", "previous", "results"]
    );
    assert_eq!(first["count"], 65);
    assert_eq!(first["results"].as_array().unwrap().len(), 30);
    assert_eq!(first["previous"], Value::Null);
    assert_eq!(first["next"], json!(s.url(&format!("{PROBES}?page=2"))));
    assert_eq!(names(&first)[..2], ["p00", "p01"]);

    // Follow the links as given: page 2's previous is the list without `page`.
    let (st, second) = follow(&s, first["next"].as_str().unwrap(), &admin).await;
    assert_eq!(st, 200, "{second}");
    assert_eq!(names(&second)[0], "p30");
    assert_eq!(second["previous"], json!(s.url(PROBES)));
    let (_, third) = follow(&s, second["next"].as_str().unwrap(), &admin).await;
    assert_eq!(third["results"].as_array().unwrap().len(), 5);
    assert_eq!(third["next"], Value::Null);
    assert_eq!(third["previous"], json!(s.url(&format!("{PROBES}?page=2"))));
    let (_, _, last) = send(
        &s,
        Method::GET,
        &format!("{PROBES}?page=last"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(names(&last), names(&third));

    // Past the last page, or not a page: DRF's 404.
    for bad in ["4", "0", "-1", "abc", "2.0"] {
        let (st, _, body) = send(
            &s,
            Method::GET,
            &format!("{PROBES}?page={bad}"),
            Some(&admin),
            None,
        )
        .await;
        assert_detail((st, &body), 404);
        assert_eq!(body["detail"], "Invalid page.", "page={bad}");
    }
    // An empty list still has page 1.
    let (st, _, empty) = send(
        &s,
        Method::GET,
        &format!("{PROBES}?name=none"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (st, &empty["count"], &empty["next"]),
        (200, &json!(0), &Value::Null)
    );

    // page_size, bounded by max_page_size; other parameters ride along in the links, sorted.
    let (_, _, ten) = send(
        &s,
        Method::GET,
        &format!("{PROBES}?page_size=10&ordering=-name&page=2"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(names(&ten)[0], "p54");
    assert_eq!(
        ten["next"],
        json!(s.url(&format!("{PROBES}?ordering=-name&page=3&page_size=10")))
    );
    assert_eq!(
        ten["previous"],
        json!(s.url(&format!("{PROBES}?ordering=-name&page_size=10")))
    );
    let (_, _, big) = send(
        &s,
        Method::GET,
        &format!("{PROBES}?page_size=5000"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(big["results"].as_array().unwrap().len(), 40);
    let (_, _, bad) = send(
        &s,
        Method::GET,
        &format!("{PROBES}?page_size=x"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(bad["results"].as_array().unwrap().len(), 30);
    s.stop().await;
}

#[tokio::test]
async fn rest_ordering_takes_several_fields_descending_with_a_dash_and_ignores_unknown_ones() {
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let admin = bearer(&admin);
    for (name, ip) in [
        ("b", "10.0.0.3"),
        ("a", "10.0.0.2"),
        ("c", "10.0.0.1"),
        ("a", "10.0.0.9"),
    ] {
        probe(
            &s,
            &admin,
            json!({"name": name, "ipaddress": ip, "description": format!("{name} at {ip}")}),
        )
        .await;
    }
    let order = |q: &'static str| {
        let (s, admin) = (&s, &admin);
        async move {
            let (st, _, list) = send(
                s,
                Method::GET,
                &format!("{PROBES}?ordering={q}"),
                Some(admin),
                None,
            )
            .await;
            assert_eq!(st, 200, "{q}: {list}");
            list["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["description"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // The default: pk, ascending (creation order).
    let created = [
        "b at 10.0.0.3",
        "a at 10.0.0.2",
        "c at 10.0.0.1",
        "a at 10.0.0.9",
    ];
    assert_eq!(order("").await, created);
    assert_eq!(
        order("name,-ipaddress").await,
        [
            "a at 10.0.0.9",
            "a at 10.0.0.2",
            "b at 10.0.0.3",
            "c at 10.0.0.1"
        ]
    );
    assert_eq!(
        order("-name,ipaddress").await,
        [
            "c at 10.0.0.1",
            "b at 10.0.0.3",
            "a at 10.0.0.2",
            "a at 10.0.0.9"
        ]
    );
    assert_eq!(
        order("-pk").await,
        created.iter().rev().cloned().collect::<Vec<_>>()
    );
    // Unknown fields are dropped; none known left: the default order, never an error.
    assert_eq!(
        order("bogus,-ipaddress,password").await,
        [
            "a at 10.0.0.9",
            "b at 10.0.0.3",
            "a at 10.0.0.2",
            "c at 10.0.0.1"
        ]
    );
    assert_eq!(order("bogus,,-").await, created);
    s.stop().await;
}

#[tokio::test]
async fn rest_search_needs_every_keyword_ignoring_case_split_on_commas_or_spaces() {
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let admin = bearer(&admin);
    let mut made = Vec::new();
    for (name, description, ip) in [
        ("Edge-Paris", "DMZ sensor", "192.0.2.10"),
        ("edge-lyon", "Core uplink", "192.0.2.11"),
        ("CORE-LYON", "backbone", "198.51.100.7"),
        ("lab_100%", "test bench", "203.0.113.5"),
        ("say \"hi\" AND NOT", "Zürich ÉTAGE", "203.0.113.6"),
    ] {
        let p = probe(
            &s,
            &admin,
            json!({"name": name, "description": description, "ipaddress": ip}),
        )
        .await;
        made.push(p["pk"].as_i64().unwrap());
    }
    let search_in = |path: &'static str, q: &'static str| {
        let (s, admin) = (&s, &admin);
        async move {
            let r = s
                .client
                .get(s.url(path))
                .query(&[("search", q)])
                .header("authorization", admin)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{q}");
            let list: Value = r.json().await.unwrap();
            let mut n: Vec<String> = names(&list).iter().map(|n| (*n).to_owned()).collect();
            n.sort();
            n
        }
    };
    let search = |q: &'static str| search_in(PROBES, q);
    assert_eq!(search("lyon").await, ["CORE-LYON", "edge-lyon"]);
    assert_eq!(search("EDGE,lyon").await, ["edge-lyon"]);
    assert_eq!(search("edge lyon").await, ["edge-lyon"]);
    // Keywords may match different fields: name and description.
    assert_eq!(search("core uplink").await, ["edge-lyon"]);
    assert_eq!(search("192.0.2").await, ["Edge-Paris", "edge-lyon"]);
    assert_eq!(search("paris nowhere").await, Vec::<String>::new());
    // LIKE's wildcards match themselves.
    assert_eq!(search("100%").await, ["lab_100%"]);
    assert_eq!(search("b_1").await, ["lab_100%"]);
    assert_eq!(search("e_g").await, Vec::<String>::new());
    assert_eq!(search(" , ").await.len(), 5);
    // On SQLite keywords of three characters or more go through a trigram table first
    // (ResourceSpec::search_index): nothing in a keyword is its query syntax, shorter keywords
    // are checked by LIKE alone, and LIKE has the last word on case (SQLite folds ASCII only).
    assert_eq!(search("\"hi\"").await, ["say \"hi\" AND NOT"]);
    assert_eq!(search("AND").await, ["say \"hi\" AND NOT"]);
    assert_eq!(search("y \"h").await, ["say \"hi\" AND NOT"]);
    assert_eq!(search("ed lyon").await, ["edge-lyon"]);
    assert_eq!(search("ri").await, ["Edge-Paris", "say \"hi\" AND NOT"]);
    assert_eq!(search("zürich").await, ["say \"hi\" AND NOT"]);
    if stella_testkit::backend() == "sqlite" {
        // The trigram table folds case beyond ASCII (as PostgreSQL's LOWER does under a
        // UTF-8 locale, which the test database may not have).
        assert_eq!(search("étage").await, ["say \"hi\" AND NOT"]);
    }
    // The index follows renames and deletes, on the probes and on their union (a table kept
    // by triggers), which is searched the same way.
    let (st, _, _) = send(
        &s,
        Method::PATCH,
        &format!("{PROBES}{}/", made[2]),
        Some(&admin),
        Some(json!({"name": "core-nice"})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(search("lyon").await, ["edge-lyon"]);
    assert_eq!(search("NICE").await, ["core-nice"]);
    const UNION: &str = "/rest/appliances/appliances/";
    assert_eq!(search_in(UNION, "nice").await, ["core-nice"]);
    assert_eq!(search_in(UNION, "lyon").await, ["edge-lyon"]);
    let (st, _, _) = send(
        &s,
        Method::DELETE,
        &format!("{PROBES}{}/", made[1]),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(st, 204);
    assert_eq!(search("lyon").await, Vec::<String>::new());
    assert_eq!(search_in(UNION, "lyon").await, Vec::<String>::new());
    assert_eq!(search_in(UNION, "192.0.2").await, ["Edge-Paris"]);
    s.stop().await;
}

#[tokio::test]
async fn rest_filters_match_exactly_and_combine() {
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let admin = bearer(&admin);
    let mut pks = Vec::new();
    for (name, ip) in [
        ("edge", "10.0.0.1"),
        ("edge", "10.0.0.2"),
        ("Edge", "10.0.0.1"),
        ("edge-2", "10.0.0.1"),
    ] {
        pks.push(probe(&s, &admin, json!({"name": name, "ipaddress": ip})).await["pk"].clone());
    }
    let n = |q: String| {
        let (s, admin) = (&s, &admin);
        async move { count(s, admin, &format!("{PROBES}?{q}")).await }
    };
    // Whole text, case-sensitive.
    assert_eq!(n("name=edge".into()).await, 2);
    assert_eq!(n("name=Edge".into()).await, 1);
    assert_eq!(n("name=edg".into()).await, 0);
    assert_eq!(n("ipaddress=10.0.0.1".into()).await, 3);
    assert_eq!(n("name=edge&ipaddress=10.0.0.1".into()).await, 1);
    assert_eq!(n(format!("pk={}", pks[1])).await, 1);
    assert_eq!(n(format!("pk={}&name=Edge", pks[1])).await, 0);
    // With search and ordering at once; unknown parameters are ignored as DRF does.
    let (_, _, list) = send(
        &s,
        Method::GET,
        &format!("{PROBES}?ipaddress=10.0.0.1&search=edge&ordering=-pk&format=json&bogus=1"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(names(&list), ["edge-2", "Edge", "edge"]);
    // A value the field cannot hold names the field.
    let (st, _, body) = send(
        &s,
        Method::GET,
        &format!("{PROBES}?ipaddress=nope"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(st, 400, "{body}");
    assert!(body["ipaddress"][0].is_string(), "{body}");
    let (st, _, body) = send(
        &s,
        Method::GET,
        &format!("{PROBES}?pk=x"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!((st, body["pk"].is_array()), (400, true), "{body}");
    s.stop().await;
}

#[tokio::test]
async fn rest_options_describe_fields_in_drf_metadata_shape() {
    let (s, root, (acme, admin)) = crate::one_tenant().await;
    let (_, _, reader) =
        crate::tenant_user(&s, &root, "globex", "ro@globex.test", "read_only").await;
    let _ = acme;
    let admin = bearer(&admin);

    // Every /rest/ resource answers OPTIONS on its list, whoever may read it.
    for spec in stella_core::catalog::REST {
        let path = format!("/rest/{}/", spec.name);
        let (st, h, meta) = send(&s, Method::OPTIONS, &path, Some(&bearer(&reader)), None).await;
        assert_eq!(st, 200, "{path}: {meta}");
        assert_eq!(meta["renders"], json!(["application/json"]), "{path}");
        assert_eq!(meta["parses"], json!(["application/json"]), "{path}");
        assert!(meta["name"].as_str().unwrap().ends_with(" List"), "{meta}");
        assert!(meta["description"].is_string(), "{meta}");
        // A reader may make no write: no actions.
        assert!(meta.get("actions").is_none(), "{path}: {meta}");
        assert!(h["allow"].to_str().unwrap().contains("OPTIONS"), "{path}");
    }

    let (st, h, meta) = send(&s, Method::OPTIONS, PROBES, Some(&admin), None).await;
    assert_eq!(st, 200, "{meta}");
    assert_eq!(meta["name"], "Suricata Appliance List");
    assert_eq!(h["allow"], "GET, POST, HEAD, OPTIONS");
    let post = &meta["actions"]["POST"];
    assert_eq!(
        post["name"],
        json!({"type": "string", "required": true, "read_only": false, "label": "Name", "max_length": 100})
    );
    assert_eq!(
        post["ipaddress"],
        json!({"type": "string", "required": true, "read_only": false, "label": "Ipaddress"})
    );
    assert_eq!(post["description"]["required"], false);
    assert_eq!(
        post["pk"],
        json!({"type": "integer", "required": false, "read_only": true, "label": "ID"})
    );
    assert_eq!(post["created_at"]["type"], "datetime");
    assert_eq!(post["created_at"]["read_only"], true);
    assert!(meta["actions"].get("PUT").is_none(), "{meta}");

    // On an object: PUT, for an object the caller can see.
    let pk = probe(&s, &admin, json!({"name": "e", "ipaddress": "10.0.0.1"})).await["pk"].clone();
    let (st, h, meta) = send(
        &s,
        Method::OPTIONS,
        &format!("{PROBES}{pk}/"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(st, 200, "{meta}");
    assert_eq!(meta["name"], "Suricata Appliance Instance");
    assert_eq!(h["allow"], "GET, PUT, PATCH, DELETE, HEAD, OPTIONS");
    assert_eq!(meta["actions"]["PUT"]["name"]["required"], true);
    assert_eq!(meta["actions"]["PUT"]["tenant_id"]["read_only"], true);
    let (_, _, meta) = send(
        &s,
        Method::OPTIONS,
        &format!("{PROBES}999999/"),
        Some(&admin),
        None,
    )
    .await;
    assert!(meta.get("actions").is_none(), "{meta}");
    // Read-only devices describe themselves without actions, even to root.
    let root = bearer(&root);
    let (_, _, meta) = send(
        &s,
        Method::OPTIONS,
        &format!("{DEVICES}1/"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(meta["name"], "Stamus Device Instance");
    assert!(meta.get("actions").is_none(), "{meta}");
    // Not authenticated: 401.
    let (st, _, body) = send(&s, Method::OPTIONS, PROBES, None, None).await;
    assert_detail((st, &body), 401);
    s.stop().await;
}

#[tokio::test]
async fn rest_put_replaces_patch_changes_some_post_is_201_and_delete_204() {
    let (s, _, (acme, admin)) = crate::one_tenant().await;
    let admin = bearer(&admin);
    let made = probe(
        &s,
        &admin,
        json!({"name": "edge", "ipaddress": "10.0.0.1", "description": "first", "comment": "new probe"}),
    )
    .await;
    // The comment is taken, not stored as a field.
    assert!(made.get("comment").is_none(), "{made}");
    let item = format!("{PROBES}{}/", made["pk"]);

    // PUT needs every writable required field; nothing changes when it fails.
    let (st, _, body) = send(
        &s,
        Method::PUT,
        &item,
        Some(&admin),
        Some(json!({"description": "x"})),
    )
    .await;
    assert_eq!(st, 400, "{body}");
    assert_eq!(
        body,
        json!({"name": ["This field is required."], "ipaddress": ["This field is required."]})
    );
    let (_, _, now) = send(&s, Method::GET, &item, Some(&admin), None).await;
    assert_eq!(now, made);

    // PATCH changes what it names.
    let (st, _, patched) = send(
        &s,
        Method::PATCH,
        &item,
        Some(&admin),
        Some(json!({"description": "second", "comment": "why"})),
    )
    .await;
    assert_eq!(st, 200, "{patched}");
    assert_eq!(
        (&patched["description"], &patched["name"]),
        (&json!("second"), &json!("edge"))
    );

    // PUT of the object as read back, changed: its read-only members are ignored, as DRF does.
    let mut whole = patched.clone();
    whole["name"] = json!("edge-renamed");
    whole["ipaddress"] = json!("2001:DB8::1");
    let (st, _, put) = send(&s, Method::PUT, &item, Some(&admin), Some(whole)).await;
    assert_eq!(st, 200, "{put}");
    assert_eq!(
        (&put["name"], &put["ipaddress"], &put["pk"]),
        (&json!("edge-renamed"), &json!("2001:db8::1"), &made["pk"])
    );
    assert_eq!(put["tenant_id"], json!(acme));
    // …but an object cannot move tenant.
    let (st, _, body) = send(
        &s,
        Method::PATCH,
        &item,
        Some(&admin),
        Some(json!({"tenant_id": "elsewhere"})),
    )
    .await;
    assert_eq!(st, 400, "{body}");
    assert!(body["tenant_id"].is_array(), "{body}");

    // DELETE: 204 and no body; then it is gone.
    let r = s
        .client
        .delete(s.url(&item))
        .header("authorization", &admin)
        .json(&json!({"comment": "retired"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.text().await.unwrap().is_empty());
    let (st, _, body) = send(&s, Method::GET, &item, Some(&admin), None).await;
    assert_detail((st, &body), 404);
    let (st, _, body) = send(&s, Method::DELETE, &item, Some(&admin), None).await;
    assert_detail((st, &body), 404);
    s.stop().await;
}

#[tokio::test]
async fn rest_bad_input_names_the_field_and_writes_nothing() {
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let admin = bearer(&admin);
    let good = json!({"name": "edge", "ipaddress": "10.0.0.1"});
    let made = probe(&s, &admin, good.clone()).await;
    let item = format!("{PROBES}{}/", made["pk"]);
    let cases = [
        (
            json!({"name": "edge", "ipaddress": "not-an-ip"}),
            "ipaddress",
        ),
        (
            json!({"name": "x".repeat(101), "ipaddress": "10.0.0.1"}),
            "name",
        ),
        (json!({"name": 5, "ipaddress": "10.0.0.1"}), "name"),
        (json!({"name": null, "ipaddress": "10.0.0.1"}), "name"),
        (json!({"ipaddress": "10.0.0.1"}), "name"),
        (
            json!({"name": "edge", "ipaddress": "10.0.0.1", "comment": 7}),
            "comment",
        ),
        (json!(["edge"]), "non_field_errors"),
    ];
    for (body, field) in cases {
        for (method, path) in [
            (Method::POST, PROBES.to_owned()),
            (Method::PUT, item.clone()),
            (Method::PATCH, item.clone()),
        ] {
            if field == "name" && body.get("name").is_none() && method == Method::PATCH {
                continue; // PATCH needs no name
            }
            let (st, _, got) =
                send(&s, method.clone(), &path, Some(&admin), Some(body.clone())).await;
            assert_eq!(st, 400, "{method} {body}: {got}");
            assert!(got[field][0].is_string(), "{method} {body}: {got}");
        }
    }
    // Not JSON at all: DRF's parse error shape.
    let r = s
        .client
        .post(s.url(PROBES))
        .header("authorization", &admin)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_detail((400, &body), 400);
    assert_eq!(count(&s, &admin, PROBES).await, 1);
    let (_, _, now) = send(&s, Method::GET, &item, Some(&admin), None).await;
    assert_eq!(now, made);
    s.stop().await;
}

#[tokio::test]
async fn rest_token_and_bearer_both_authenticate() {
    let s = TestServer::start().await;
    let token = format!("Token {}", s.root.legacy_token);
    let root = bearer(&s.root_jwt().await);
    let tenant = s.create_tenant(&s.root_jwt().await, "acme").await;
    // Root names the tenant of what it creates, with either credential.
    let body = json!({"name": "edge", "ipaddress": "10.0.0.1", "tenant_id": tenant});
    let (st, _, by_token) = send(&s, Method::POST, PROBES, Some(&token), Some(body.clone())).await;
    assert_eq!(st, 201, "{by_token}");
    let (st, _, by_jwt) = send(&s, Method::POST, PROBES, Some(&root), Some(body)).await;
    assert_eq!(st, 201, "{by_jwt}");
    for auth in [&token, &root] {
        assert_eq!(count(&s, auth, PROBES).await, 2);
        let (st, _, scs) = send(&s, Method::GET, &format!("{DEVICES}1/"), Some(auth), None).await;
        assert_eq!(st, 200, "{scs}");
    }
    let (st, _, body) = send(
        &s,
        Method::POST,
        PROBES,
        Some(&root),
        Some(json!({"name": "x", "ipaddress": "10.0.0.1"})),
    )
    .await;
    assert_eq!(st, 400, "{body}");
    assert!(body["tenant_id"].is_array(), "{body}");
    // A wrong token, a malformed header, Basic: 401 in DRF's shape.
    for auth in [
        format!("Token {}", "f".repeat(40)),
        "Token".into(),
        "Bearer not.a.jwt".into(),
    ] {
        let (st, h, body) = send(&s, Method::GET, PROBES, Some(&auth), None).await;
        assert_detail((st, &body), 401);
        assert_eq!(h["www-authenticate"], "Token", "{auth}");
    }
    s.stop().await;
}

#[tokio::test]
async fn rest_paths_without_a_trailing_slash_redirect_gets_and_refuse_writes() {
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let admin = bearer(&admin);
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let pk = probe(&s, &admin, json!({"name": "e", "ipaddress": "10.0.0.1"})).await["pk"].clone();
    for spec in stella_core::catalog::REST {
        let list = format!("/rest/{}", spec.name);
        for (path, query) in [
            (list.clone(), "?search=e&page=1"),
            (format!("{list}/1"), ""),
            (format!("{list}/{pk}"), ""),
        ] {
            // As Django's APPEND_SLASH: before authentication, the query kept.
            let r = no_redirects
                .get(s.url(&format!("{path}{query}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 301, "{path}");
            assert_eq!(r.headers()["location"], format!("{path}/{query}"), "{path}");
        }
    }
    // The API root too.
    let r = no_redirects.get(s.url("/rest")).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), &r.headers()["location"]),
        (
            301,
            &"/rest/".parse::<reqwest::header::HeaderValue>().unwrap()
        )
    );
    // A client that follows redirects gets the list.
    let (st, _, list) = send(
        &s,
        Method::GET,
        PROBES.trim_end_matches('/'),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!((st, &list["count"]), (200, &json!(1)));
    // Writes are not redirected (the body would be lost): a clear 404, nothing written.
    let (st, _, body) = send(
        &s,
        Method::POST,
        PROBES.trim_end_matches('/'),
        Some(&admin),
        Some(json!({"name": "f", "ipaddress": "10.0.0.2"})),
    )
    .await;
    assert_detail((st, &body), 404);
    assert!(
        body["detail"].as_str().unwrap().contains("trailing slash"),
        "{body}"
    );
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let (st, _, body) = send(
            &s,
            method.clone(),
            &format!("{PROBES}{pk}"),
            Some(&admin),
            Some(json!({"name": "g"})),
        )
        .await;
        assert_detail((st, &body), 404);
    }
    let (_, _, list) = send(&s, Method::GET, PROBES, Some(&admin), None).await;
    assert_eq!(names(&list), ["e"]);
    s.stop().await;
}

#[tokio::test]
async fn rest_objects_of_another_tenant_are_not_found() {
    let (s, root_jwt, [(a, a_admin), (_, b_admin)]) = crate::two_tenants().await;
    let (a_admin, b_admin, root) = (bearer(&a_admin), bearer(&b_admin), bearer(&root_jwt));
    let made = probe(
        &s,
        &a_admin,
        json!({"name": "acme-edge", "ipaddress": "10.0.0.1"}),
    )
    .await;
    assert_eq!(made["tenant_id"], json!(a));
    let item = format!("{PROBES}{}/", made["pk"]);
    for (method, body) in [
        (Method::GET, None),
        (
            Method::PUT,
            Some(json!({"name": "x", "ipaddress": "10.0.0.9"})),
        ),
        (Method::PATCH, Some(json!({"name": "x"}))),
        (Method::DELETE, None),
    ] {
        let (st, _, got) = send(&s, method.clone(), &item, Some(&b_admin), body).await;
        assert_detail((st, &got), 404);
    }
    assert_eq!(count(&s, &b_admin, PROBES).await, 0);
    assert_eq!(
        count(&s, &b_admin, &format!("{PROBES}?pk={}", made["pk"])).await,
        0
    );
    assert_eq!(
        count(&s, &b_admin, &format!("{PROBES}?tenant_id={a}")).await,
        0
    );
    let (_, _, meta) = send(&s, Method::OPTIONS, &item, Some(&b_admin), None).await;
    assert!(meta.get("actions").is_none(), "{meta}");
    // Its own tenant and root still see it unchanged; the central server is everyone's.
    let (st, _, got) = send(&s, Method::GET, &item, Some(&a_admin), None).await;
    assert_eq!((st, &got), (200, &made));
    assert_eq!(
        count(&s, &root, &format!("{PROBES}?tenant_id={a}")).await,
        1
    );
    for auth in [&a_admin, &b_admin] {
        assert_eq!(count(&s, auth, DEVICES).await, 1);
    }
    // Without the permission: 403 in DRF's shape.
    let (_, _, no_probes) =
        crate::tenant_user(&s, &root_jwt, "initech", "ro@initech.test", "read_only").await;
    let (st, _, body) = send(
        &s,
        Method::POST,
        PROBES,
        Some(&bearer(&no_probes)),
        Some(json!({"name": "x", "ipaddress": "10.0.0.1"})),
    )
    .await;
    assert_detail((st, &body), 403);
    s.stop().await;
}
