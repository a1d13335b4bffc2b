use stella_testkit::TestServer;

#[tokio::test]
async fn health_readiness_version_and_metrics() {
    let s = TestServer::start().await;
    let r = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    assert_eq!(
        s.client
            .get(s.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (st, v) = s.call("GET", "/version", None, None).await;
    assert_eq!(st, 200);
    assert!(
        v["git_sha"].is_string()
            && v["build_date"].as_str().unwrap().len() == 10
            && v["version"].is_string()
    );

    let root = s.root_jwt().await;
    s.call("GET", "/connect/api/v1/users", Some(&root), None)
        .await;
    s.call("GET", "/connect/api/v1/users", Some("bad.jwt.token"), None)
        .await;
    let metrics = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(r#"stella_http_requests_total{method="GET",route="/connect/api/v1/users",status="200"} 1"#), "{metrics}");
    assert!(metrics.contains("stella_http_request_duration_seconds_bucket"));
    assert!(metrics.contains(r#"stella_auth_failures_total{kind="bearer"} 1"#));
    assert!(metrics.contains("stella_rate_limited_total 0"));
    s.stop().await;
}

#[tokio::test]
async fn openapi_covers_every_route_and_docs_are_served_locally() {
    let s = TestServer::start().await;
    let r = s
        .client
        .get(s.url("/openapi/v1.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let yaml = r.text().await.unwrap();
    for path in [
        "/connect/api/v1/access_token:",
        "/connect/token:",
        "/token/offline:",
        "/.well-known/jwks.json:",
        "/connect/api/v1/users:",
        "/connect/api/v1/users/{userId}:",
        "/connect/api/v1/reset_user:",
        "/connect/api/v1/me:",
        "/connect/api/v1/api_keys:",
        "/connect/api/v1/api_keys/{keyId}:",
        "/connect/api/v1/legacy_token:",
        "/connect/api/v1/privilege_profiles:",
        "/connect/api/v1/privilege_profiles/{id}:",
        "/connect/api/v1/offline_tokens:",
        "/connect/api/v1/offline_tokens/{tokenId}:",
        "/connect/api/v1/sign_in:",
        "/connect/api/v1/sign_out:",
        "/connect/api/v1/oauth_clients:",
        "/connect/api/v1/oauth_clients/{clientId}:",
        "/connect/api/v1/user_activity_log:",
        "/connect/api/v1/user_activity_log/export:",
        "/connect/api/v1/tenants:",
        "/connect/api/v1/tenants/{tenantId}:",
        "/cluster/signing_keys:",
        "/cluster/signing_keys/rotate:",
        "/healthz:",
        "/readyz:",
        "/metrics:",
        "/version:",
        "/openapi/v1.yaml:",
        "/docs:",
        "/rest/:",
        "/rest/appliances/stamus_appliance/:",
        "/rest/appliances/stamus_appliance/{pk}/:",
        "/rest/rules/source/{pk}/upload/:",
        "/rest/rules/ruleset/{pk}/export/:",
        "/rest/rules/history/:",
        "/rest/rules/history/get_action_type_list/:",
        "/rest/appliances/host_id/{ip}:",
    ] {
        assert!(yaml.contains(path), "OpenAPI lacks {path}");
    }
    assert!(
        yaml.contains("operationId: listTenants") && yaml.contains("operationId: deleteTenant")
    );
    // /rest/ in Django REST framework's terms, every operation the routes serve.
    for id in [
        "restListStamusAppliance",
        "restCreateStamusAppliance",
        "restRetrieveStamusAppliance",
        "restUpdateStamusAppliance",
        "restPartialUpdateStamusAppliance",
        "restDestroyStamusAppliance",
        "restDescribeStamusAppliance",
        "restUploadSource",
        "restDisableCategory",
        "restExportRuleset",
        "restListUserAction",
        "restGetActionTypeListUserAction",
    ] {
        assert!(
            yaml.contains(&format!("operationId: {id}")),
            "OpenAPI lacks {id}"
        );
    }
    assert!(!yaml.contains("operationId: restCreateUserAction"));
    assert!(yaml.contains("name: date__gte"));
    let html = s
        .client
        .get(s.url("/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("/docs/swagger-ui-bundle.js"));
    let js = s
        .client
        .get(s.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.bytes().await.unwrap().len() > 1_000_000);
    assert_eq!(
        s.client
            .get(s.url("/docs/../../etc/passwd"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    s.stop().await;
}
