//! The probe-management REST API at `/rest/` (issue 14): the resource engine in Django REST
//! framework's dialect, over real HTTP. Error shapes, conventions (paging, ordering, search,
//! filters, OPTIONS, PUT vs PATCH, statuses, trailing slashes), authentication and tenancy.

use reqwest::Method;
use serde_json::Value;
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
