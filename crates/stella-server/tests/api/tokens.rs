use crate::{assert_problem, claims, tenant_user};
use serde_json::{json, Value};
use stella_core::Clock;
use stella_testkit::{TestServer, DEFAULT_PASSWORD};

#[tokio::test]
async fn jwt_expires_600_seconds_after_issue_on_the_injected_clock() {
    let s = TestServer::start().await;
    let issued_at = s.clock.now_ms() / 1000;
    let r = s
        .client
        .post(s.url("/connect/api/v1/access_token"))
        .bearer_auth(&s.root.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 600);
    let jwt = body["access_token"].as_str().unwrap().to_owned();
    let c = claims(&jwt);
    assert_eq!(c["iat"], json!(issued_at));
    assert_eq!(c["exp"], json!(issued_at + 600));

    // Valid one second before expiry, refused at expiry.
    s.clock.advance(chrono::Duration::seconds(599));
    assert_eq!(
        s.status("GET", "/connect/api/v1/privilege_profiles", Some(&jwt))
            .await,
        200
    );
    s.clock.advance(chrono::Duration::seconds(1));
    let (st, body) = s
        .call(
            "GET",
            "/connect/api/v1/privilege_profiles",
            Some(&jwt),
            None,
        )
        .await;
    assert_problem(st, &body, 401);
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    s.stop().await;
}

#[tokio::test]
async fn jwt_verifies_against_the_published_jwks() {
    let s = TestServer::start().await;
    let jwt = s.root_jwt().await;
    let (st, jwks) = s.call("GET", "/.well-known/jwks.json", None, None).await;
    assert_eq!(st, 200);
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"].as_str() == header.kid.as_deref())
        .expect("kid published");
    let decoding =
        jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    v.validate_exp = false;
    let data = jsonwebtoken::decode::<serde_json::Value>(&jwt, &decoding, &v)
        .expect("signature verifies with the JWKS key");
    assert_eq!(data.claims["iss"], "stella-ops");
    s.stop().await;
}

#[tokio::test]
async fn api_key_is_refused_everywhere_but_access_token() {
    let s = TestServer::start().await;
    let key = s.root.api_key.clone();
    for (method, path) in [
        ("GET", "/connect/api/v1/users"),
        ("GET", "/connect/api/v1/tenants"),
        ("GET", "/connect/api/v1/api_keys"),
        ("POST", "/connect/api/v1/api_keys"),
        ("GET", "/connect/api/v1/privilege_profiles"),
        ("GET", "/connect/api/v1/user_activity_log"),
        ("POST", "/connect/api/v1/reset_user"),
        ("POST", "/token/offline"),
        ("GET", "/connect/api/v1/oauth_clients"),
    ] {
        let (st, body) = s.call(method, path, Some(&key), Some(json!({}))).await;
        assert_problem(st, &body, 401);
        assert!(
            body["detail"].as_str().unwrap().contains("access_token"),
            "{method} {path}: {body}"
        );
    }
    assert_eq!(
        s.status("POST", "/connect/api/v1/access_token", Some(&key))
            .await,
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn access_token_refuses_bad_keys_and_jwts() {
    let s = TestServer::start().await;
    let jwt = s.root_jwt().await;
    for bad in [
        "",
        "not-a-key",
        jwt.as_str(),
        "stk_0123456789abcdef0123456789abcdef_wrongsecret",
    ] {
        let (st, body) = s
            .call("POST", "/connect/api/v1/access_token", Some(bad), None)
            .await;
        assert_problem(st, &body, 401);
    }
    let (st, _) = s
        .call("POST", "/connect/api/v1/access_token", None, None)
        .await;
    assert_eq!(st, 401);
    s.stop().await;
}

#[tokio::test]
async fn revoking_a_key_stops_it_and_the_jwts_it_minted_on_the_next_request() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (st, created) = s
        .call(
            "POST",
            "/connect/api/v1/api_keys",
            Some(&root),
            Some(json!({"name": "ci"})),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    let key = created["api_key"].as_str().unwrap().to_owned();
    let minted = s.jwt(&key).await;
    assert_eq!(
        s.status("GET", "/connect/api/v1/users", Some(&minted))
            .await,
        200
    );

    let listed = s
        .call("GET", "/connect/api/v1/api_keys", Some(&root), None)
        .await
        .1;
    assert!(listed.to_string().contains(created["id"].as_str().unwrap()));
    assert!(
        !listed.to_string().contains(&key),
        "secrets are never listed"
    );

    let (st, revoked) = s
        .call(
            "DELETE",
            &format!(
                "/connect/api/v1/api_keys/{}",
                created["id"].as_str().unwrap()
            ),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 200, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    let (st, body) = s
        .call("GET", "/connect/api/v1/users", Some(&minted), None)
        .await;
    assert_problem(st, &body, 401);
    assert!(
        body["detail"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    let (st, _) = s
        .call("POST", "/connect/api/v1/access_token", Some(&key), None)
        .await;
    assert_eq!(st, 401);
    // The root's own initial key is unaffected.
    assert_eq!(
        s.status("GET", "/connect/api/v1/users", Some(&root)).await,
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn scoped_key_cannot_exceed_its_user() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (_, _, analyst) = tenant_user(&s, &root, "acme", "ana@acme.test", "analyst").await;
    // More than the user has: refused.
    let (st, body) = s
        .call(
            "POST",
            "/connect/api/v1/api_keys",
            Some(&analyst),
            Some(json!({"permissions": ["users:write"]})),
        )
        .await;
    assert_problem(st, &body, 403);
    // For another user: refused.
    let (st, body) = s
        .call(
            "POST",
            "/connect/api/v1/api_keys",
            Some(&analyst),
            Some(json!({"user_id": "someone-else"})),
        )
        .await;
    assert_problem(st, &body, 403);
    // Unknown permission names: a validation error naming the field.
    let (st, body) = s
        .call(
            "POST",
            "/connect/api/v1/api_keys",
            Some(&analyst),
            Some(json!({"permissions": ["cases:eat"]})),
        )
        .await;
    assert_problem(st, &body, 400);
    assert_eq!(body["errors"][0]["path"], "$.permissions");

    // A narrowed key gives a JWT with only those permissions, and keys it mints stay narrow.
    let (st, narrowed) = s
        .call(
            "POST",
            "/connect/api/v1/api_keys",
            Some(&analyst),
            Some(json!({"permissions": ["cases:read"]})),
        )
        .await;
    assert_eq!(st, 201, "{narrowed}");
    let narrow_jwt = s.jwt(narrowed["api_key"].as_str().unwrap()).await;
    let (st, body) = s
        .call("GET", "/connect/api/v1/users", Some(&narrow_jwt), None)
        .await;
    assert_problem(st, &body, 403);
    assert!(body["detail"].as_str().unwrap().contains("users:read"));
    let (st, child) = s
        .call(
            "POST",
            "/connect/api/v1/api_keys",
            Some(&narrow_jwt),
            Some(json!({})),
        )
        .await;
    assert_eq!(st, 201, "{child}");
    assert_eq!(child["permissions"], json!(["cases:read"]));
    // The analyst itself can read users.
    assert_eq!(
        s.status("GET", "/connect/api/v1/users", Some(&analyst))
            .await,
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn key_expiry_caps_the_jwt_and_expired_keys_are_refused() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (st, created) = s
        .call(
            "POST",
            "/connect/api/v1/api_keys",
            Some(&root),
            Some(json!({"expires_in_days": 1})),
        )
        .await;
    assert_eq!(st, 201);
    let key = created["api_key"].as_str().unwrap().to_owned();
    s.clock.advance(chrono::Duration::seconds(86_400 - 60));
    let jwt = s.jwt(&key).await;
    let c = claims(&jwt);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        60,
        "the JWT never outlives its key"
    );
    s.clock.advance(chrono::Duration::seconds(60));
    assert_eq!(
        s.status("POST", "/connect/api/v1/access_token", Some(&key))
            .await,
        401
    );
    let (st, body) = s
        .call(
            "POST",
            "/connect/api/v1/api_keys",
            Some(&s.root_jwt().await),
            Some(json!({"expires_at": "2020-01-01T00:00:00Z"})),
        )
        .await;
    assert_problem(st, &body, 400);
    s.stop().await;
}

#[tokio::test]
async fn admins_revoke_keys_of_lower_users_only_within_scope() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let t = s.create_tenant(&root, "acme").await;
    let other = s.create_tenant(&root, "globex").await;
    let (_, admin_key) = s.user_with_key(&root, json!({"email": "adm@acme.test", "privilege_profile": "security_admin", "tenant_id": t})).await;
    let (_, peer_key) = s.user_with_key(&root, json!({"email": "peer@acme.test", "privilege_profile": "security_admin", "tenant_id": t})).await;
    let (analyst_id, analyst_key) = s
        .user_with_key(
            &root,
            json!({"email": "ana@acme.test", "privilege_profile": "analyst", "tenant_id": t}),
        )
        .await;
    let (_, foreign_key) = s
        .user_with_key(
            &root,
            json!({"email": "ana@globex.test", "privilege_profile": "analyst", "tenant_id": other}),
        )
        .await;
    let admin = s.jwt(&admin_key).await;

    let key_id = |k: &str| k[4..36].to_owned();
    // Lower user in scope: allowed, and listing that user's keys works.
    let (st, listed) = s
        .call(
            "GET",
            &format!("/connect/api/v1/api_keys?user_id={analyst_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(st, 200, "{listed}");
    assert_eq!(listed["total"], 1);
    let (st, _) = s
        .call(
            "DELETE",
            &format!("/connect/api/v1/api_keys/{}", key_id(&analyst_key)),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(st, 200);
    // Same privileges: refused.
    let (st, body) = s
        .call(
            "DELETE",
            &format!("/connect/api/v1/api_keys/{}", key_id(&peer_key)),
            Some(&admin),
            None,
        )
        .await;
    assert_problem(st, &body, 403);
    // Other tenant: not even visible.
    let (st, body) = s
        .call(
            "DELETE",
            &format!("/connect/api/v1/api_keys/{}", key_id(&foreign_key)),
            Some(&admin),
            None,
        )
        .await;
    assert_problem(st, &body, 404);
    assert_eq!(
        s.status("POST", "/connect/api/v1/access_token", Some(&foreign_key))
            .await,
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn legacy_tokens_belong_to_every_user_and_basic_to_root_super_admins() {
    let s = TestServer::start().await;
    let legacy = s.root.legacy_token.clone();
    assert_eq!(legacy.len(), 40);
    assert!(legacy.bytes().all(|b| b.is_ascii_hexdigit()));
    let r = s
        .client
        .get(s.url("/connect/api/v1/users"))
        .basic_auth(stella_testkit::ROOT_EMAIL, Some(&legacy))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .client
        .get(s.url("/connect/api/v1/users"))
        .basic_auth(stella_testkit::ROOT_EMAIL, Some("0".repeat(40)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .client
        .get(s.url("/connect/api/v1/users"))
        .basic_auth("nobody@x.test", Some(&legacy))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // `Token` is the /rest/ scheme, not /connect/api/v1's.
    let r = s
        .client
        .get(s.url("/connect/api/v1/users"))
        .header("authorization", format!("Token {legacy}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Regenerating replaces the old token.
    let root = s.root_jwt().await;
    let r = s
        .client
        .post(s.url("/connect/api/v1/legacy_token"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // A credential in the answer: no cache may keep it.
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r.json().await.unwrap();
    let fresh = body["token"].as_str().unwrap().to_owned();
    let r = s
        .client
        .get(s.url("/connect/api/v1/users"))
        .basic_auth(stella_testkit::ROOT_EMAIL, Some(&legacy))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .client
        .get(s.url("/connect/api/v1/users"))
        .basic_auth(stella_testkit::ROOT_EMAIL, Some(&fresh))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Any user may have one for /rest/ (spec 001: "a user first need to generate a unique
    // token associated to its account"), acting with that user's tenancy; HTTP Basic under
    // /connect/api/v1 stays root super admins' (spec 004).
    let (_, _, tenant_admin) =
        tenant_user(&s, &root, "acme", "boss@acme.test", "super_admin").await;
    let (st, body) = s
        .call(
            "POST",
            "/connect/api/v1/legacy_token",
            Some(&tenant_admin),
            None,
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let theirs = body["token"].as_str().unwrap().to_owned();
    assert_eq!(theirs.len(), 40);
    assert_eq!(rest_status(&s, &theirs).await, 200);
    let r = s
        .client
        .get(s.url("/connect/api/v1/users"))
        .basic_auth("boss@acme.test", Some(&theirs))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Regenerating revokes the old one at once.
    let (st, body) = s
        .call(
            "POST",
            "/connect/api/v1/legacy_token",
            Some(&tenant_admin),
            None,
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let renewed = body["token"].as_str().unwrap().to_owned();
    assert_eq!(rest_status(&s, &theirs).await, 401);
    assert_eq!(rest_status(&s, &renewed).await, 200);
    s.stop().await;
}

#[tokio::test]
async fn sso_and_disabled_accounts_cannot_use_the_api() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let t = s.create_tenant(&root, "acme").await;
    let (_, sso_key) = s.user_with_key(&root, json!({"email": "sso@acme.test", "privilege_profile": "analyst", "tenant_id": t, "sso": true})).await;
    let (st, body) = s
        .call("POST", "/connect/api/v1/access_token", Some(&sso_key), None)
        .await;
    assert_problem(st, &body, 401);
    assert!(body["detail"].as_str().unwrap().contains("single sign-on"));

    let (uid, key) = s
        .user_with_key(
            &root,
            json!({"email": "ana@acme.test", "privilege_profile": "analyst", "tenant_id": t}),
        )
        .await;
    let jwt = s.jwt(&key).await;
    let (st, _) = s
        .call(
            "PUT",
            &format!("/connect/api/v1/users/{uid}"),
            Some(&root),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        s.status("GET", "/connect/api/v1/tenants", Some(&jwt)).await,
        401
    );
    assert_eq!(
        s.status("POST", "/connect/api/v1/access_token", Some(&key))
            .await,
        401
    );
    s.stop().await;
}

#[tokio::test]
async fn legacy_token_scheme_authenticates_the_rest_api() {
    let s = TestServer::start().await;
    let legacy = s.root.legacy_token.clone();
    let get = |auth: String| {
        s.client
            .get(s.url("/rest/"))
            .header("authorization", auth)
            .send()
    };
    let r = get(format!("Token {legacy}")).await.unwrap();
    assert_eq!(r.status(), 200);
    // DRF's API root: each resource's absolute URL.
    let root = r.json::<serde_json::Value>().await.unwrap();
    assert_eq!(
        root["appliances/suricata_appliance"],
        json!(s.url("/rest/appliances/suricata_appliance/"))
    );
    assert_eq!(
        get(format!("Token {}", "0".repeat(40)))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        get(format!("Bearer {}", s.root_jwt().await))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(s.status("GET", "/rest/", None).await, 401);
    // Basic belongs to /connect/api/v1, not /rest/.
    let r = s
        .client
        .get(s.url("/rest/"))
        .basic_auth(stella_testkit::ROOT_EMAIL, Some(&legacy))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}

/// A legacy token made through an API key ends with the key (revoked here), as offline tokens
/// do; a password reset ends any legacy token of the account, however it was made.
#[tokio::test]
async fn a_legacy_token_ends_with_the_key_it_was_made_through_and_with_a_password_reset() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let t = s.create_tenant(&root, "acme").await;
    let (uid, key) = s
        .user_with_key(
            &root,
            json!({"email": "ana@acme.test", "privilege_profile": "security_admin", "tenant_id": t}),
        )
        .await;
    let key_id = key.split('_').nth(1).unwrap().to_owned();
    let jwt = s.jwt(&key).await;
    let (st, body) = s
        .call("POST", "/connect/api/v1/legacy_token", Some(&jwt), None)
        .await;
    assert_eq!(st, 201, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(rest_status(&s, &token).await, 200);
    // Regenerated, it hangs on the key of the JWT that asked.
    let r = s
        .client
        .post(s.url("/connect/api/v1/legacy_token"))
        .header("authorization", format!("Bearer {jwt}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token: String = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, _) = s
        .call(
            "DELETE",
            &format!("/connect/api/v1/api_keys/{key_id}"),
            Some(&root),
            None,
        )
        .await;
    assert!(st == 204 || st == 200, "revoking the key: {st}");
    assert_eq!(rest_status(&s, &token).await, 401);

    // Made at sign-in, it ends with a password reset.
    let session = s.session("ana@acme.test", DEFAULT_PASSWORD).await;
    let (st, body) = s
        .call("POST", "/connect/api/v1/legacy_token", Some(&session), None)
        .await;
    assert_eq!(st, 201, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(rest_status(&s, &token).await, 200);
    let (st, body) = s
        .call(
            "POST",
            "/connect/api/v1/reset_user",
            Some(&root),
            Some(json!({"user_id": uid, "password": "a brand new password 42"})),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(rest_status(&s, &token).await, 401);
    s.stop().await;
}

/// The status of a `/rest/` list asked with `Authorization: Token <token>`.
async fn rest_status(s: &TestServer, token: &str) -> reqwest::StatusCode {
    s.client
        .get(s.url("/rest/appliances/suricata_appliance/"))
        .header("authorization", format!("Token {token}"))
        .send()
        .await
        .unwrap()
        .status()
}
