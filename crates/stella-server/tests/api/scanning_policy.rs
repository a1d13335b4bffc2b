//! Scan policies over HTTP (reference §2.3): import, validate, export, history, and their
//! effect on `policyStatus`, in YAML and in Rego (deciding by date).

use crate::assert_problem;
use crate::scanning::{scan, small_feed};
use serde_json::{json, Value};
use stella_testkit::TestServer;

async fn post_text(s: &TestServer, jwt: &str, path: &str, text: &str) -> (u16, Value) {
    let r = s
        .client
        .post(s.url(path))
        .bearer_auth(jwt)
        .header("content-type", "application/yaml")
        .body(text.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn django_sbom() -> Vec<u8> {
    json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"name": "Django", "version": "2.2.1", "purl": "pkg:pypi/django@2.2.1"},
        {"name": "libssl3", "version": "3.0.11-1~deb12u1",
         "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?distro=debian-12&upstream=openssl"}
    ]})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn yaml_policies_validate_import_and_decide() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;

    // The reference's example is invalid, with exactly the reference's error.
    let example = "version: \"1.0\"\nrules:\n  - name: Ignore Low dev\n    severity: [Low, None]\n    environments: [dev, staging]\n    action: ignore\n";
    let (st, body) = post_text(&s, &root, "/policy/validate", example).await;
    assert_problem(st, &body, 400);
    assert_eq!(
        body["errors"],
        json!([{"path": "$.rules[0].severity", "msg": "Invalid level 'None'"}])
    );
    let (st, _) = post_text(&s, &root, "/policy/import", example).await;
    assert_eq!(st, 400, "an invalid policy is not imported");
    let (_, hist) = s.call("GET", "/policy/history", Some(&root), None).await;
    assert_eq!(hist["total"], 0);

    // Without a policy the threshold decides: the Critical openssl finding fails.
    let (_, _, b) = scan(&s, &root, "", &django_sbom(), &[]).await;
    assert_eq!(b["policyStatus"], "fail");

    let ignore = "version: \"1.0\"\nrules:\n  - name: accept openssl in dev\n    vulnerabilities: [DSA-5000-1]\n    environments: [dev]\n    action: ignore\n  - name: warn on django\n    packages: [django]\n    action: warn\n";
    let (st, v) = post_text(&s, &root, "/policy/validate", ignore).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["rules"], 2);
    let (st, v1) = post_text(&s, &root, "/policy/import?comment=first", ignore).await;
    assert_eq!(st, 201, "{v1}");
    assert_eq!(v1["previous_hash"], Value::Null);
    // dev: openssl ignored, django warned.
    let (_, _, b) = scan(&s, &root, "?environment=dev", &django_sbom(), &[]).await;
    assert_eq!(b["policyStatus"], "warn", "{b}");
    let rules: Vec<_> = b["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["policyRule"].clone())
        .collect();
    assert!(rules.contains(&json!("accept openssl in dev")), "{rules:?}");
    assert!(rules.contains(&json!("warn on django")));
    // prod: the ignore rule does not apply.
    let (_, _, b) = scan(&s, &root, "?environment=prod", &django_sbom(), &[]).await;
    assert_eq!(b["policyStatus"], "fail");
    let (_, one) = s
        .call(
            "GET",
            &format!("/scans/{}", b["id"].as_str().unwrap()),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(one["environment"], "prod");

    let block = "version: \"1.0\"\nrules:\n  - name: no django 2\n    purls: [\"pkg:pypi/django\"]\n    action: block\n";
    let (st, v2) = post_text(&s, &root, "/policy/import", block).await;
    assert_eq!(st, 201);
    assert_eq!(v2["previous_hash"], v1["hash"]);
    let only_django = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"name": "Django", "version": "2.2.1", "purl": "pkg:pypi/django@2.2.1"}]})
    .to_string();
    let (_, _, b) = scan(&s, &root, "", only_django.as_bytes(), &[]).await;
    assert_eq!(b["policyStatus"], "fail", "blocked below the threshold");

    // Export is the active text; history lists both, newest first, each version readable.
    let r = s
        .client
        .get(s.url("/policy/export"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/yaml"));
    assert_eq!(
        r.headers()["x-stella-policy-hash"].to_str().unwrap(),
        v2["hash"].as_str().unwrap()
    );
    assert_eq!(r.text().await.unwrap(), block);
    let (_, hist) = s
        .call("GET", "/policy/history?limit=10", Some(&root), None)
        .await;
    assert_eq!(hist["total"], 2);
    assert_eq!(hist["data"][0]["id"], v2["id"]);
    assert_eq!(hist["data"][1]["comment"], "first");
    assert!(hist["data"][0].get("source").is_none());
    let (st, old) = s
        .call(
            "GET",
            &format!("/policy/history/{}", v1["id"].as_str().unwrap()),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(old["source"], ignore);
    assert_eq!(
        s.status("GET", "/policy/history/nope", Some(&root)).await,
        404
    );
}

#[tokio::test]
async fn rego_policies_decide_by_date_and_tenants_have_their_own() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    let rego = r#"package stella.policy

import rego.v1

# Accept the openssl advisory until 2026-03-01, then block it.
ignore contains "DSA-5000-1" if {
    time.parse_rfc3339_ns(input.now) < time.parse_rfc3339_ns("2026-03-01T00:00:00Z")
}

block contains "DSA-5000-1" if {
    time.parse_rfc3339_ns(input.now) >= time.parse_rfc3339_ns("2026-03-01T00:00:00Z")
}
"#;
    let (st, v) = post_text(&s, &root, "/policy/validate", rego).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["kind"], "rego");
    let (st, _) = post_text(&s, &root, "/policy/import", rego).await;
    assert_eq!(st, 201);
    let openssl = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"name": "libssl3", "version": "3.0.11-1~deb12u1",
         "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?distro=debian-12&upstream=openssl"}]})
    .to_string();
    let (_, _, b) = scan(&s, &root, "", openssl.as_bytes(), &[]).await;
    assert_eq!(b["policyStatus"], "pass", "ignored before the date: {b}");
    s.clock.advance(chrono::TimeDelta::days(90));
    let root = s.root_jwt().await;
    let (_, _, b) = scan(&s, &root, "", openssl.as_bytes(), &[]).await;
    assert_eq!(b["policyStatus"], "fail", "blocked after it: {b}");

    let (st, p) = post_text(&s, &root, "/policy/validate", "package x\n\nallow if {").await;
    assert_problem(st, &p, 400);
    assert_eq!(p["errors"][0]["path"], "$.rego");

    // A tenant's own policy applies to its scans only; tenant users cannot set the platform's.
    let t1 = s.create_tenant(&root, "t1").await;
    let (_, key) = s
        .user_with_key(
            &root,
            json!({"email": "sec@t1.io", "privilege_profile": "security_admin", "tenant_id": t1}),
        )
        .await;
    let j1 = s.jwt(&key).await;
    let warn_all = "version: \"1.0\"\nrules:\n  - name: tenant accepts all\n    action: ignore\n";
    let (st, v) = post_text(&s, &j1, "/policy/import", warn_all).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["tenant_id"], t1.as_str());
    let (_, _, b) = scan(&s, &j1, "", openssl.as_bytes(), &[]).await;
    assert_eq!(b["policyStatus"], "pass", "{b}");
    let (_, _, b) = scan(&s, &root, "", openssl.as_bytes(), &[]).await;
    assert_eq!(
        b["policyStatus"], "fail",
        "root's scans use the platform policy"
    );
    let (st, _) = post_text(&s, &j1, "/policy/import?tenant_id=*", warn_all).await;
    assert_eq!(st, 403);
    let (_, hist) = s.call("GET", "/policy/history", Some(&j1), None).await;
    assert_eq!(hist["total"], 1);
    let (_, hist) = s.call("GET", "/policy/history", Some(&root), None).await;
    let platform_version = hist["data"][0]["id"].as_str().unwrap().to_owned();
    // The platform's versions are readable by tenants (they apply to them); other tenants'
    // are not found.
    assert_eq!(
        s.status(
            "GET",
            &format!("/policy/history/{platform_version}"),
            Some(&j1)
        )
        .await,
        200
    );
    let t2 = s.create_tenant(&root, "t2").await;
    let (st, v2) = post_text(
        &s,
        &root,
        &format!("/policy/import?tenant_id={t2}"),
        warn_all,
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(
        s.status(
            "GET",
            &format!("/policy/history/{}", v2["id"].as_str().unwrap()),
            Some(&j1)
        )
        .await,
        404
    );
}
