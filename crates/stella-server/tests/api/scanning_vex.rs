//! VEX over HTTP: OpenVEX imported per tenant, CycloneDX VEX inside an SBOM; suppressed
//! findings are shown with their justification and no longer count.

use crate::assert_problem;
use crate::scanning::{scan, small_feed};
use serde_json::{json, Value};
use stella_testkit::TestServer;

fn sbom(extra: Value) -> Vec<u8> {
    let mut doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"bom-ref": "django", "name": "Django", "version": "2.2.1", "purl": "pkg:pypi/django@2.2.1"},
        {"bom-ref": "ssl", "name": "libssl3", "version": "3.0.11-1~deb12u1",
         "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?distro=debian-12&upstream=openssl"}
    ]});
    if let Some(obj) = extra.as_object() {
        for (k, v) in obj {
            doc[k] = v.clone();
        }
    }
    doc.to_string().into_bytes()
}

async fn post_vex(s: &TestServer, jwt: &str, doc: &Value) -> (u16, Value) {
    let r = s
        .client
        .post(s.url("/vex"))
        .bearer_auth(jwt)
        .header("content-type", "application/json")
        .body(doc.to_string())
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn openvex_and_cyclonedx_vex_suppress_findings() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    let (_, _, before) = scan(&s, &root, "", &sbom(json!({})), &[]).await;
    assert_eq!(before["policyStatus"], "fail");
    assert_eq!(before["summary"]["Critical"], 1);

    // OpenVEX: the openssl advisory does not affect this libssl3; named by an alias-free id.
    let openvex = json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/1",
        "author": "platform team",
        "timestamp": "2025-12-01T00:00:00Z",
        "version": 1,
        "statements": [{
            "vulnerability": {"name": "DSA-5000-1"},
            "products": [{"@id": "pkg:deb/debian/libssl3"}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path"
        }]
    });
    let (st, v) = post_vex(&s, &root, &openvex).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["format"], "openvex");
    assert_eq!(v["statements"], 1);
    let (_, _, after) = scan(&s, &root, "", &sbom(json!({})), &[]).await;
    let ssl = after["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["package"] == "libssl3")
        .unwrap()
        .clone();
    assert_eq!(ssl["suppressed"], true, "shown, not dropped: {after}");
    assert_eq!(ssl["justification"], "vulnerable_code_not_in_execute_path");
    assert_eq!(after["summary"]["Critical"], 0);
    assert_eq!(after["policyStatus"], "pass");

    // CycloneDX VEX carried by the SBOM itself: the Django issue, named by its CVE alias.
    let embedded = json!({"vulnerabilities": [{
        "id": "CVE-2019-12308",
        "analysis": {"state": "false_positive", "detail": "the admin site is not deployed"},
        "affects": [{"ref": "django"}]
    }]});
    let (st, _, b) = scan(&s, &root, "", &sbom(embedded), &[]).await;
    assert_eq!(st, 200, "{b}");
    assert!(
        b["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["suppressed"] == true),
        "{b}"
    );
    assert_eq!(b["summary"]["High"], 0);

    // Listed, then deleted: the statement stops applying.
    let (_, list) = s.call("GET", "/vex", Some(&root), None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let id = list["data"][0]["id"].as_str().unwrap();
    assert_eq!(
        s.status("DELETE", &format!("/vex/{id}"), Some(&root)).await,
        204
    );
    let (_, _, again) = scan(&s, &root, "", &sbom(json!({})), &[]).await;
    assert_eq!(again["summary"]["Critical"], 1);

    // Bad documents name what is wrong.
    let (st, p) = post_vex(&s, &root, &json!({"hello": 1})).await;
    assert_problem(st, &p, 400);
    assert!(p["type"].as_str().unwrap().contains("vex-"), "{p}");
    let mut bad = openvex.clone();
    bad["statements"][0]["status"] = json!("fine");
    let (st, p) = post_vex(&s, &root, &bad).await;
    assert_problem(st, &p, 400);
    assert!(p["detail"].as_str().unwrap().contains("status"), "{p}");

    // Another tenant's VEX does not apply to root's platform scans, and is not visible.
    let t = s.create_tenant(&root, "t").await;
    let (_, key) = s
        .user_with_key(
            &root,
            json!({"email": "v@t.io", "privilege_profile": "security_admin", "tenant_id": t}),
        )
        .await;
    let jt = s.jwt(&key).await;
    let (st, v) = post_vex(&s, &jt, &openvex).await;
    assert_eq!(st, 201);
    let (_, _, b) = scan(&s, &root, "", &sbom(json!({})), &[]).await;
    assert_eq!(b["summary"]["Critical"], 1);
    let (_, _, b) = scan(&s, &jt, "", &sbom(json!({})), &[]).await;
    assert_eq!(b["summary"]["Critical"], 0);
    assert_eq!(
        s.status(
            "DELETE",
            &format!("/vex/{}", v["id"].as_str().unwrap()),
            Some(&root)
        )
        .await,
        404
    );
}
