use crate::{assert_problem, tenant_user};
use serde_json::json;
use stella_testkit::TestServer;

#[tokio::test]
async fn tenant_a_cannot_see_or_change_tenant_b() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (a, a_user, a_admin) =
        tenant_user(&s, &root, "acme", "admin@acme.test", "platform_admin").await;
    let (b, b_user, _) =
        tenant_user(&s, &root, "globex", "admin@globex.test", "platform_admin").await;

    // Own tenant: visible. The other: 404 for read, change and delete alike.
    assert_eq!(
        s.status(
            "GET",
            &format!("/connect/api/v1/tenants/{a}"),
            Some(&a_admin)
        )
        .await,
        200
    );
    for path in [
        format!("/connect/api/v1/tenants/{b}"),
        format!("/connect/api/v1/users/{b_user}"),
    ] {
        for (method, body) in [
            ("GET", None),
            ("PUT", Some(json!({"name": "pwned"}))),
            ("DELETE", None),
        ] {
            let (st, problem) = s.call(method, &path, Some(&a_admin), body).await;
            assert_problem(st, &problem, 404);
        }
    }
    // Lists show only what is in scope, even when asked for the other tenant by name.
    let (_, list) = s
        .call("GET", "/connect/api/v1/tenants", Some(&a_admin), None)
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["data"][0]["id"], json!(a));
    let (_, list) = s
        .call(
            "GET",
            &format!("/connect/api/v1/tenants?tenantid={b}"),
            Some(&a_admin),
            None,
        )
        .await;
    assert_eq!(list["total"], 0);
    let (_, users) = s
        .call("GET", "/connect/api/v1/users", Some(&a_admin), None)
        .await;
    let ids: Vec<_> = users["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![a_user]);
    // Nothing changed in B.
    let (_, tb) = s
        .call(
            "GET",
            &format!("/connect/api/v1/tenants/{b}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(tb["name"], "globex");
    s.stop().await;
}

#[tokio::test]
async fn partner_sees_its_tenants_only() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let a = s.create_tenant(&root, "a").await;
    let b = s.create_tenant(&root, "b").await;
    let c = s.create_tenant(&root, "c").await;
    let (_, key) = s.user_with_key(&root, json!({"email": "p@partner.test", "privilege_profile": "platform_admin", "scope": "partner", "tenant_ids": [a, b]})).await;
    let partner = s.jwt(&key).await;
    let (_, list) = s
        .call(
            "GET",
            "/connect/api/v1/tenants?sort=name&order=asc",
            Some(&partner),
            None,
        )
        .await;
    assert_eq!(list["total"], 2, "{list}");
    assert_eq!(list["data"][0]["name"], "a");
    assert_eq!(list["data"][1]["name"], "b");
    assert_eq!(
        s.status(
            "GET",
            &format!("/connect/api/v1/tenants/{c}"),
            Some(&partner)
        )
        .await,
        404
    );
    assert_eq!(
        s.call(
            "PUT",
            &format!("/connect/api/v1/tenants/{b}"),
            Some(&partner),
            Some(json!({"description": "x"}))
        )
        .await
        .0,
        200
    );
    // Partners create users in their tenants, not elsewhere.
    let (st, _) = s.call("POST", "/connect/api/v1/users", Some(&partner), Some(json!({"email": "u@b.test", "password": "correct horse battery", "privilege_profile": "analyst", "tenant_id": b}))).await;
    assert_eq!(st, 201);
    let (st, body) = s.call("POST", "/connect/api/v1/users", Some(&partner), Some(json!({"email": "u@c.test", "password": "correct horse battery", "privilege_profile": "analyst", "tenant_id": c}))).await;
    assert_problem(st, &body, 403);
    // Only root creates tenants.
    let (st, body) = s
        .call(
            "POST",
            "/connect/api/v1/tenants",
            Some(&partner),
            Some(json!({"name": "d"})),
        )
        .await;
    assert_problem(st, &body, 403);
    s.stop().await;
}

#[tokio::test]
async fn mass_assignment_of_tenancy_scope_and_privileges_is_refused() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (a, _, admin) = tenant_user(&s, &root, "acme", "adm@acme.test", "security_admin").await;
    let b = s.create_tenant(&root, "globex").await;
    let pw = "correct horse battery";
    let cases = [
        (
            json!({"email": "x1@acme.test", "password": pw, "privilege_profile": "analyst", "tenant_id": b}),
            403,
        ),
        (
            json!({"email": "x2@acme.test", "password": pw, "privilege_profile": "analyst", "scope": "root"}),
            403,
        ),
        (
            json!({"email": "x3@acme.test", "password": pw, "privilege_profile": "analyst", "scope": "partner", "tenant_ids": [a]}),
            403,
        ),
        (
            json!({"email": "x4@acme.test", "password": pw, "privilege_profile": "super_admin", "tenant_id": a}),
            403,
        ),
        (
            json!({"email": "x5@acme.test", "password": pw, "privilege_profile": "analyst", "tenant_id": a, "role": "super_admin"}),
            400,
        ),
        (
            json!({"email": "x6@acme.test", "password": pw, "privilege_profile": "analyst", "tenant_id": a, "id": "chosen"}),
            400,
        ),
    ];
    for (body, expected) in cases {
        let (st, problem) = s
            .call(
                "POST",
                "/connect/api/v1/users",
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        assert_problem(st, &problem, expected);
    }
    // Nothing was written by any of them.
    let (_, users) = s
        .call("GET", "/connect/api/v1/users", Some(&root), None)
        .await;
    assert_eq!(users["total"], 2, "{users}");
    // Tenant objects cannot be moved to another tenant, and id/timestamps are read-only.
    let (st, problem) = s
        .call(
            "PUT",
            &format!("/connect/api/v1/tenants/{a}"),
            Some(&root),
            Some(json!({"id": "x", "created_at": "2020-01-01T00:00:00Z"})),
        )
        .await;
    assert_problem(st, &problem, 400);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
    s.stop().await;
}

#[tokio::test]
async fn restricted_endpoints_are_for_root_super_admins_only() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (_, victim, tenant_super) =
        tenant_user(&s, &root, "acme", "boss@acme.test", "super_admin").await;
    let (_, partner_key) = s.user_with_key(&root, json!({"email": "p@x.test", "privilege_profile": "super_admin", "scope": "partner", "tenant_ids": [s.create_tenant(&root, "p").await]})).await;
    let (_, root_admin_key) = s
        .user_with_key(
            &root,
            json!({"email": "pa@x.test", "privilege_profile": "platform_admin", "scope": "root"}),
        )
        .await;
    for jwt in [
        tenant_super,
        s.jwt(&partner_key).await,
        s.jwt(&root_admin_key).await,
    ] {
        let (st, body) = s
            .call(
                "POST",
                "/connect/api/v1/reset_user",
                Some(&jwt),
                Some(json!({"user_id": victim})),
            )
            .await;
        assert_problem(st, &body, 403);
        assert!(body["detail"].as_str().unwrap().contains("root scope"));
    }
    let (st, body) = s
        .call(
            "POST",
            "/connect/api/v1/reset_user",
            Some(&root),
            Some(json!({"user_id": victim})),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["password"].as_str().unwrap().len(), 43);
    s.stop().await;
}
