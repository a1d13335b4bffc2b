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
