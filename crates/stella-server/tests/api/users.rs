use crate::{assert_problem, tenant_user};
use serde_json::json;
use stella_testkit::TestServer;

#[tokio::test]
async fn user_lifecycle_and_outranking() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (t, admin_id, admin) =
        tenant_user(&s, &root, "acme", "adm@acme.test", "platform_admin").await;
    let (st, u) = s.call("POST", "/connect/api/v1/users", Some(&admin), Some(json!({"email": "Ana@Acme.test", "name": "Ana", "password": "correct horse battery", "privilege_profile": "analyst"}))).await;
    assert_eq!(st, 201, "{u}");
    assert_eq!(u["email"], "ana@acme.test", "emails are stored lower-case");
    assert_eq!(
        u["tenant_id"],
        json!(t),
        "a tenant admin's users land in its tenant"
    );
    assert_eq!(u["scope"], "tenant");
    assert!(u.get("password").is_none() && u.get("password_hash").is_none());
    let id = u["id"].as_str().unwrap();

    let (st, dup) = s.call("POST", "/connect/api/v1/users", Some(&admin), Some(json!({"email": "ana@acme.test", "password": "correct horse battery", "privilege_profile": "analyst"}))).await;
    assert_problem(st, &dup, 409);

    let (st, u2) = s
        .call(
            "PUT",
            &format!("/connect/api/v1/users/{id}"),
            Some(&admin),
            Some(json!({"name": "Ana B", "privilege_profile": "read_only"})),
        )
        .await;
    assert_eq!(st, 200, "{u2}");
    assert_eq!(u2["privilege_profile"], "read_only");
    // Cannot raise someone to its own level, nor change itself.
    let (st, p) = s
        .call(
            "PUT",
            &format!("/connect/api/v1/users/{id}"),
            Some(&admin),
            Some(json!({"privilege_profile": "platform_admin"})),
        )
        .await;
    assert_problem(st, &p, 403);
    let (st, p) = s
        .call(
            "PUT",
            &format!("/connect/api/v1/users/{admin_id}"),
            Some(&admin),
            Some(json!({"privilege_profile": "super_admin"})),
        )
        .await;
    assert_problem(st, &p, 403);
    let (st, me) = s
        .call(
            "PUT",
            &format!("/connect/api/v1/users/{admin_id}"),
            Some(&admin),
            Some(json!({"name": "Me"})),
        )
        .await;
    assert_eq!(st, 200, "{me}");

    let (st, p) = s
        .call(
            "DELETE",
            &format!("/connect/api/v1/users/{admin_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_problem(st, &p, 403);
    assert_eq!(
        s.status(
            "DELETE",
            &format!("/connect/api/v1/users/{id}"),
            Some(&admin)
        )
        .await,
        204
    );
    assert_eq!(
        s.status("GET", &format!("/connect/api/v1/users/{id}"), Some(&admin))
            .await,
        404
    );
    s.stop().await;
}

#[tokio::test]
async fn user_input_is_validated_field_by_field() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let t = s.create_tenant(&root, "acme").await;
    let (st, p) = s.call("POST", "/connect/api/v1/users", Some(&root), Some(json!({"email": "nope", "password": "short", "privilege_profile": "analyst", "tenant_id": t}))).await;
    assert_problem(st, &p, 400);
    let paths: Vec<_> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["$.email", "$.password"]);
    let (st, p) = s.call("POST", "/connect/api/v1/users", Some(&root), Some(json!({"email": "a@acme.test", "password": "correct horse battery", "privilege_profile": "wizard", "tenant_id": t}))).await;
    assert_problem(st, &p, 400);
    assert_eq!(p["errors"][0]["path"], "$.privilege_profile");
    let (st, p) = s.call("POST", "/connect/api/v1/users", Some(&root), Some(json!({"email": "a@acme.test", "password": "correct horse battery", "privilege_profile": "analyst", "scope": "galaxy"}))).await;
    assert_problem(st, &p, 400);
    assert_eq!(p["errors"][0]["path"], "$.scope");
    let (st, p) = s
        .call(
            "POST",
            "/connect/api/v1/users",
            Some(&root),
            Some(json!({"email": 5, "privilege_profile": "analyst"})),
        )
        .await;
    assert_problem(st, &p, 400);
    assert_eq!(p["errors"][0]["path"], "$.email");
    let (st, p) = s.call("POST", "/connect/api/v1/users", Some(&root), Some(json!({"email": "a@acme.test", "password": "correct horse battery", "privilege_profile": "analyst", "tenant_id": "no-such-tenant"}))).await;
    assert_problem(st, &p, 400);
    assert_eq!(
        s.call("GET", "/connect/api/v1/users", Some(&root), None)
            .await
            .1["total"],
        1
    );
    s.stop().await;
}

#[tokio::test]
async fn custom_privilege_profiles() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (st, p) = s
        .call(
            "POST",
            "/connect/api/v1/privilege_profiles",
            Some(&root),
            Some(json!({"name": "case_worker", "permissions": ["cases:read", "cases:write"]})),
        )
        .await;
    assert_eq!(st, 201, "{p}");
    let cw_id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(p["owner"], json!({"scope": "root", "tenant_ids": []}));
    let (_, list) = s
        .call(
            "GET",
            "/connect/api/v1/privilege_profiles",
            Some(&root),
            None,
        )
        .await;
    let names: Vec<_> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "super_admin",
            "platform_admin",
            "security_admin",
            "analyst",
            "read_only",
            "case_worker"
        ]
    );
    let t = s.create_tenant(&root, "acme").await;
    // Profiles are given by id; a name is not an id.
    let (st, p) = s
        .call(
            "POST",
            "/connect/api/v1/users",
            Some(&root),
            Some(json!({"email": "x@acme.test", "password": "correct horse battery", "privilege_profile": "case_worker", "tenant_id": t})),
        )
        .await;
    assert_problem(st, &p, 400);
    let (_, key) = s
        .user_with_key(
            &root,
            json!({"email": "cw@acme.test", "privilege_profile": cw_id, "tenant_id": t}),
        )
        .await;
    let cw = s.jwt(&key).await;
    assert_eq!(
        s.status("GET", "/connect/api/v1/users", Some(&cw)).await,
        403
    );
    let (st, p) = s
        .call(
            "DELETE",
            &format!("/connect/api/v1/privilege_profiles/{cw_id}"),
            Some(&root),
            None,
        )
        .await;
    assert_problem(st, &p, 409);
    let (st, p) = s
        .call(
            "POST",
            "/connect/api/v1/privilege_profiles",
            Some(&root),
            Some(json!({"name": "bad", "permissions": ["cases:fly"]})),
        )
        .await;
    assert_problem(st, &p, 400);
    let (st, p) = s
        .call(
            "DELETE",
            "/connect/api/v1/privilege_profiles/super_admin",
            Some(&root),
            None,
        )
        .await;
    assert_problem(st, &p, 403);
    let (st, p) = s
        .call(
            "PUT",
            "/connect/api/v1/privilege_profiles/analyst",
            Some(&root),
            Some(json!({"permissions": ["cases:read"]})),
        )
        .await;
    assert_problem(st, &p, 403);
    // The owner's administrators change a custom profile; the change reaches its holders.
    let (st, p) = s
        .call(
            "PUT",
            &format!("/connect/api/v1/privilege_profiles/{cw_id}"),
            Some(&root),
            Some(json!({"permissions": ["cases:read", "cases:write", "users:read"], "description": "works cases"})),
        )
        .await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["description"], "works cases");
    assert_eq!(
        s.status("GET", "/connect/api/v1/users", Some(&cw)).await,
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn me_describes_the_caller_and_its_narrowed_permissions() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (t, uid, analyst) = tenant_user(&s, &root, "acme", "ana@acme.test", "analyst").await;
    let (st, me) = s
        .call("GET", "/connect/api/v1/me", Some(&analyst), None)
        .await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["user_id"], json!(uid));
    assert_eq!(me["scope"], "tenant");
    assert_eq!(me["tenant_ids"], json!([t]));
    assert_eq!(me["credential"], "access_token");
    assert!(me["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("cases:write")));
    assert_eq!(me["token_expires"], "2026-01-01T00:10:00Z");
    let (_, key) = s
        .call(
            "POST",
            "/connect/api/v1/api_keys",
            Some(&analyst),
            Some(json!({"permissions": ["cases:read"]})),
        )
        .await;
    let narrow = s.jwt(key["api_key"].as_str().unwrap()).await;
    let (_, me) = s
        .call("GET", "/connect/api/v1/me", Some(&narrow), None)
        .await;
    assert_eq!(me["permissions"], json!(["cases:read"]));
    assert_eq!(s.status("GET", "/connect/api/v1/me", None).await, 401);
    s.stop().await;
}
