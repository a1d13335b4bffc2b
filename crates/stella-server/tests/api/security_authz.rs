//! Security suite, part 1: privilege escalation. Each test replays an attack the outside
//! review reproduced (see issue 11) and shows it refused, plus the matrix of every credential
//! kind against every restricted and credential-minting endpoint.

use crate::{assert_problem, claims, tenant_user};
use serde_json::{json, Value};
use stella_testkit::{TestServer, DEFAULT_PASSWORD};

const API: &str = "/connect/api/v1";

/// A JWT from a new key of the caller's, narrowed to `permissions`.
pub(crate) async fn narrowed_jwt(s: &TestServer, jwt: &str, permissions: &[&str]) -> String {
    let (st, key) = s
        .call(
            "POST",
            &format!("{API}/api_keys"),
            Some(jwt),
            Some(json!({"permissions": permissions})),
        )
        .await;
    assert_eq!(st, 201, "{key}");
    s.jwt(key["api_key"].as_str().unwrap()).await
}

/// An OAuth client of root's with `profile`, and a token for it with `scope`.
async fn client_token(s: &TestServer, root: &str, profile: &str, scope: &str) -> String {
    let (st, c) = s
        .call(
            "POST",
            &format!("{API}/oauth_clients"),
            Some(root),
            Some(
                json!({"name": format!("bot-{scope}"), "privilege_profile": profile,
                        "scopes": scope.split(' ').collect::<Vec<_>>()}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
        scope.replace(':', "%3A").replace(' ', "+")
    );
    let r = s
        .client
        .post(s.url("/connect/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Gives root a password (its own change) and signs it in.
async fn root_session(s: &TestServer, root: &str) -> String {
    let (_, me) = s.call("GET", &format!("{API}/me"), Some(root), None).await;
    let id = me["user_id"].as_str().unwrap();
    let (st, body) = s
        .call(
            "PUT",
            &format!("{API}/users/{id}"),
            Some(root),
            Some(json!({"password": DEFAULT_PASSWORD})),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    s.session(stella_testkit::ROOT_EMAIL, DEFAULT_PASSWORD)
        .await
}

/// The review's first finding: a root super admin's credential narrowed to `cases:read` (an
/// API key, an offline token with scan permissions, an OAuth client with scope `cases:read`)
/// minted a legacy token, reset another user's password and read storage usage.
#[tokio::test]
async fn narrowed_credentials_reach_only_what_they_carry() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let t = s.create_tenant(&root, "acme").await;
    let (victim, _) = s
        .user_with_key(
            &root,
            json!({"email": "victim@acme.test", "privilege_profile": "analyst", "tenant_id": t}),
        )
        .await;
    let narrow_key = narrowed_jwt(&s, &root, &["cases:read"]).await;
    let (st, off) = s.call("POST", "/token/offline", Some(&root), None).await;
    assert_eq!(st, 200, "{off}");
    let offline = off["jwt"].as_str().unwrap().to_owned();
    let client = client_token(&s, &root, "super_admin", "cases:read").await;
    for (who, token) in [
        ("key narrowed to cases:read", &narrow_key),
        ("offline token with scan permissions", &offline),
        ("OAuth client with scope cases:read", &client),
    ] {
        for (method, path, body) in [
            ("POST", format!("{API}/legacy_token"), None),
            (
                "POST",
                format!("{API}/reset_user"),
                Some(json!({"user_id": victim, "password": "attacker chosen pw"})),
            ),
            ("GET", format!("{API}/storage_usage"), None),
            ("GET", format!("{API}/ingestion_stats"), None),
        ] {
            let (st, p) = s.call(method, &path, Some(token), body).await;
            assert_problem(st, &p, 403);
            assert!(p["detail"].is_string(), "{who} {path}: {p}");
        }
    }
    // The victim's password was not changed: it still signs in with the old one.
    assert_eq!(s.sign_in("victim@acme.test", DEFAULT_PASSWORD).await.0, 200);
    // The same calls with root's unnarrowed credential are allowed (the control).
    assert_eq!(
        s.call("POST", &format!("{API}/legacy_token"), Some(&root), None)
            .await
            .0,
        201
    );
    assert_eq!(
        s.status("GET", &format!("{API}/storage_usage"), Some(&root))
            .await,
        200
    );
    s.stop().await;
}

/// The matrix: each credential kind against each restricted and credential-minting endpoint.
/// Every credential belongs to the root super admin (or is an OAuth client with its profile),
/// so the only thing that varies is the credential.
#[tokio::test]
async fn credential_kind_by_endpoint_matrix() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let t = s.create_tenant(&root, "acme").await;
    let (victim, _) = s
        .user_with_key(
            &root,
            json!({"email": "victim@acme.test", "privilege_profile": "read_only", "tenant_id": t}),
        )
        .await;
    // Every 201 from /legacy_token replaces root's legacy token; the legacy row always sends
    // the current one.
    let mut current_legacy = s.root.legacy_token.clone();
    let basic = |token: &str| {
        use base64::Engine;
        let b = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{token}", stella_testkit::ROOT_EMAIL));
        format!("Basic {b}")
    };
    let session = root_session(&s, &root).await;
    let narrow = narrowed_jwt(&s, &root, &["cases:read", "users:read"]).await;
    let (_, off) = s.call("POST", "/token/offline", Some(&root), None).await;
    let offline = off["jwt"].as_str().unwrap().to_owned();
    let client_full = client_token(&s, &root, "super_admin", "stella.api").await;
    let client_narrow = client_token(&s, &root, "super_admin", "cases:read").await;

    // Endpoints, each with a body that asks for something this endpoint makes.
    let mut n = 0;
    let mut endpoint = |name: &'static str| -> (String, String, Option<Value>) {
        n += 1;
        match name {
            "legacy_token" => ("POST".into(), format!("{API}/legacy_token"), None),
            "reset_user" => (
                "POST".into(),
                format!("{API}/reset_user"),
                Some(json!({"user_id": victim})),
            ),
            "storage_usage" => ("GET".into(), format!("{API}/storage_usage"), None),
            "ingestion_stats" => ("GET".into(), format!("{API}/ingestion_stats"), None),
            "api_key (everything)" => (
                "POST".into(),
                format!("{API}/api_keys"),
                Some(
                    json!({"name": format!("k{n}"), "permissions": ["users:write", "cases:read"]}),
                ),
            ),
            "offline_token" => (
                "POST".into(),
                "/token/offline".into(),
                Some(json!({"permissions": ["scans:read"]})),
            ),
            "oauth_client" => (
                "POST".into(),
                format!("{API}/oauth_clients"),
                Some(json!({"name": format!("c{n}"), "privilege_profile": "analyst"})),
            ),
            "profile" => (
                "POST".into(),
                format!("{API}/privilege_profiles"),
                Some(json!({"name": format!("p{n}"), "permissions": ["cases:read"]})),
            ),
            "user" => (
                "POST".into(),
                format!("{API}/users"),
                Some(
                    json!({"email": format!("u{n}@acme.test"), "password": DEFAULT_PASSWORD, "privilege_profile": "analyst", "tenant_id": t}),
                ),
            ),
            _ => unreachable!(),
        }
    };
    let endpoints = [
        "legacy_token",
        "reset_user",
        "storage_usage",
        "ingestion_stats",
        "api_key (everything)",
        "offline_token",
        "oauth_client",
        "profile",
        "user",
    ];
    // Expected status per credential, in the order of `endpoints`.
    let rows: [(&str, &str, [u16; 9]); 7] = [
        (
            "API key JWT",
            root.as_str(),
            [201, 200, 200, 200, 201, 200, 201, 201, 201],
        ),
        (
            "API key JWT narrowed to cases:read users:read",
            narrow.as_str(),
            [403, 403, 403, 403, 403, 403, 403, 403, 403],
        ),
        (
            // HTTP Basic is accepted under /connect/api/v1 only, so /token/offline answers 401.
            "legacy token (Basic)",
            "legacy",
            [201, 200, 200, 200, 201, 401, 201, 201, 201],
        ),
        (
            "session",
            session.as_str(),
            [201, 200, 200, 200, 201, 200, 201, 201, 201],
        ),
        (
            // Clients act with their profile but are not user accounts: no legacy token, no
            // API keys or offline tokens of their own.
            "OAuth client, scope stella.api",
            client_full.as_str(),
            [403, 200, 200, 200, 403, 403, 201, 201, 201],
        ),
        (
            "OAuth client, scope cases:read",
            client_narrow.as_str(),
            [403, 403, 403, 403, 403, 403, 403, 403, 403],
        ),
        (
            "offline token",
            offline.as_str(),
            [403, 403, 403, 403, 403, 403, 403, 403, 403],
        ),
    ];
    let mut wrong = Vec::new();
    for (who, token, expected) in rows {
        for (name, want) in endpoints.iter().zip(expected) {
            let (method, path, body) = endpoint(name);
            let mut req = s.client.request(method.parse().unwrap(), s.url(&path));
            req = if token == "legacy" {
                req.header("authorization", basic(&current_legacy))
            } else {
                req.bearer_auth(token)
            };
            if let Some(b) = body {
                req = req.json(&b);
            }
            let r = req.send().await.unwrap();
            let got = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            if *name == "legacy_token" && got == 201 {
                let v: Value = serde_json::from_str(&text).unwrap_or_default();
                current_legacy = v["token"].as_str().unwrap_or_default().to_owned();
            }
            if got != want {
                wrong.push(format!("{who} × {name}: {got}, expected {want}: {text}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    s.stop().await;
}

/// The review's second finding, step by step: a tenant's super admin deleted root's `auditor`
/// profile and recreated it with every permission; root then gave `auditor` to a root-scope
/// user, who got everything.
#[tokio::test]
async fn tenant_admins_cannot_rewrite_platform_profiles() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (acme, _, acme_admin) =
        tenant_user(&s, &root, "acme", "boss@acme.test", "super_admin").await;
    let (_, _, globex_admin) =
        tenant_user(&s, &root, "globex", "boss@globex.test", "super_admin").await;
    let (st, auditor) = s
        .call(
            "POST",
            &format!("{API}/privilege_profiles"),
            Some(&root),
            Some(json!({"name": "auditor", "permissions": ["activity_log:read"]})),
        )
        .await;
    assert_eq!(st, 201, "{auditor}");
    let auditor_id = auditor["id"].as_str().unwrap().to_owned();
    let one = format!("{API}/privilege_profiles/{auditor_id}");

    // The tenant admin sees the platform's profile but may neither delete nor change it.
    assert_eq!(s.status("GET", &one, Some(&acme_admin)).await, 200);
    let (st, p) = s.call("DELETE", &one, Some(&acme_admin), None).await;
    assert_problem(st, &p, 403);
    let (st, p) = s
        .call(
            "PUT",
            &one,
            Some(&acme_admin),
            Some(json!({"permissions": stella_core::permission::ALL})),
        )
        .await;
    assert_problem(st, &p, 403);
    // It may make its own "auditor" with every permission: a different profile (another id),
    // owned by its tenant.
    let (st, fake) = s
        .call(
            "POST",
            &format!("{API}/privilege_profiles"),
            Some(&acme_admin),
            Some(json!({"name": "auditor", "permissions": stella_core::permission::ALL})),
        )
        .await;
    assert_eq!(st, 201, "{fake}");
    assert_ne!(fake["id"], auditor["id"]);
    assert_eq!(
        fake["owner"],
        json!({"scope": "tenant", "tenant_ids": [acme]})
    );
    // Root gives `auditor` by id: the root-scope user gets exactly activity_log:read.
    let (_, key) = s
        .user_with_key(
            &root,
            json!({"email": "aud@root.test", "privilege_profile": auditor_id, "scope": "root"}),
        )
        .await;
    let aud = s.jwt(&key).await;
    let (_, me) = s.call("GET", &format!("{API}/me"), Some(&aud), None).await;
    assert_eq!(me["permissions"], json!(["activity_log:read"]), "{me}");
    // The tenant's profile cannot be given to a root-scope (or another tenant's) account.
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/users"),
            Some(&root),
            Some(json!({"email": "x@root.test", "password": DEFAULT_PASSWORD, "privilege_profile": fake["id"], "scope": "root"})),
        )
        .await;
    assert_problem(st, &p, 400);
    assert!(p["detail"].as_str().unwrap().contains("belongs to"), "{p}");
    // Another tenant neither sees nor touches it.
    let fake_one = format!("{API}/privilege_profiles/{}", fake["id"].as_str().unwrap());
    assert_eq!(s.status("GET", &fake_one, Some(&globex_admin)).await, 404);
    assert_eq!(
        s.status("DELETE", &fake_one, Some(&globex_admin)).await,
        404
    );
    let (_, listed) = s
        .call(
            "GET",
            &format!("{API}/privilege_profiles"),
            Some(&globex_admin),
            None,
        )
        .await;
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["id"] != fake["id"]),
        "{listed}"
    );
    // Built-ins are immutable for everyone, root included.
    for method in ["PUT", "DELETE"] {
        let (st, p) = s
            .call(
                method,
                &format!("{API}/privilege_profiles/read_only"),
                Some(&root),
                Some(json!({"permissions": ["cases:read"]})),
            )
            .await;
        assert_problem(st, &p, 403);
    }
    s.stop().await;
}

/// A profile never holds a permission its author's credential lacks, made or changed.
#[tokio::test]
async fn profiles_never_grant_beyond_their_author() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (_, _, admin) = tenant_user(&s, &root, "acme", "boss@acme.test", "super_admin").await;
    let narrow = narrowed_jwt(
        &s,
        &admin,
        &[
            "privilege_profiles:write",
            "privilege_profiles:read",
            "cases:read",
        ],
    )
    .await;
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/privilege_profiles"),
            Some(&narrow),
            Some(json!({"name": "wide", "permissions": ["cases:read", "users:write"]})),
        )
        .await;
    assert_problem(st, &p, 403);
    assert!(p["detail"].as_str().unwrap().contains("users:write"), "{p}");
    let (st, ok) = s
        .call(
            "POST",
            &format!("{API}/privilege_profiles"),
            Some(&narrow),
            Some(json!({"name": "reader", "permissions": ["cases:read"]})),
        )
        .await;
    assert_eq!(st, 201, "{ok}");
    let (st, p) = s
        .call(
            "PUT",
            &format!("{API}/privilege_profiles/{}", ok["id"].as_str().unwrap()),
            Some(&narrow),
            Some(json!({"permissions": ["cases:read", "tenants:write"]})),
        )
        .await;
    assert_problem(st, &p, 403);
    s.stop().await;
}

/// Decided: a user may only be created with lower privileges than the creator's (as it may only
/// be changed or deleted by someone who outranks it), so a tenant admin cannot make a peer.
#[tokio::test]
async fn admins_create_only_users_they_outrank() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (t, _, admin) = tenant_user(&s, &root, "acme", "boss@acme.test", "super_admin").await;
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/users"),
            Some(&admin),
            Some(json!({"email": "peer@acme.test", "password": DEFAULT_PASSWORD, "privilege_profile": "super_admin", "tenant_id": t})),
        )
        .await;
    assert_problem(st, &p, 403);
    assert!(
        p["detail"].as_str().unwrap().contains("lower privileges"),
        "{p}"
    );
    let (st, u) = s
        .call(
            "POST",
            &format!("{API}/users"),
            Some(&admin),
            Some(json!({"email": "below@acme.test", "password": DEFAULT_PASSWORD, "privilege_profile": "platform_admin", "tenant_id": t})),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    // Root may make the tenant a second super admin: same permissions, narrower scope.
    let (st, u) = s
        .call(
            "POST",
            &format!("{API}/users"),
            Some(&root),
            Some(json!({"email": "second@acme.test", "password": DEFAULT_PASSWORD, "privilege_profile": "super_admin", "tenant_id": t})),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    s.stop().await;
}

/// The review's third finding: an offline token minted through a key's JWT still created
/// tenants after the key was revoked, and offline tokens could be neither listed nor revoked.
#[tokio::test]
async fn offline_tokens_die_with_their_issuer_and_can_be_revoked() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (st, key) = s
        .call(
            "POST",
            &format!("{API}/api_keys"),
            Some(&root),
            Some(json!({"name": "ci"})),
        )
        .await;
    assert_eq!(st, 201, "{key}");
    let key_jwt = s.jwt(key["api_key"].as_str().unwrap()).await;
    let (st, off) = s
        .call(
            "POST",
            "/token/offline",
            Some(&key_jwt),
            Some(json!({"permissions": ["tenants:write", "tenants:read"]})),
        )
        .await;
    assert_eq!(st, 200, "{off}");
    let offline = off["jwt"].as_str().unwrap().to_owned();
    let create = |name: &'static str| {
        let s = &s;
        let offline = offline.clone();
        async move {
            s.call(
                "POST",
                &format!("{API}/tenants"),
                Some(&offline),
                Some(json!({"name": name})),
            )
            .await
            .0
        }
    };
    assert_eq!(create("before").await, 201);
    // Listed (by its id, the JWT's cid), with the credential it came through.
    let (_, list) = s
        .call("GET", &format!("{API}/offline_tokens"), Some(&root), None)
        .await;
    let id = claims(&offline)["cid"].as_str().unwrap().to_owned();
    let listed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == json!(id))
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed["issued_by_kind"], "api_key", "{list}");
    assert_eq!(listed["issued_by"], key["id"]);
    assert_eq!(listed["status"], "active");
    // Revoking the key ends the token.
    let (st, _) = s
        .call(
            "DELETE",
            &format!("{API}/api_keys/{}", key["id"].as_str().unwrap()),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 200);
    s.clock.advance(chrono::Duration::seconds(2));
    assert_eq!(create("after").await, 401);

    // A token revoked by id stops too, and its owner's administrator may revoke it.
    let t = s.create_tenant(&root, "acme").await;
    let (_, analyst_key) = s
        .user_with_key(
            &root,
            json!({"email": "ana@acme.test", "privilege_profile": "security_admin", "tenant_id": t}),
        )
        .await;
    let analyst = s.jwt(&analyst_key).await;
    // security_admin lacks offline_tokens:write: refused. Root gives a profile that has it.
    assert_eq!(
        s.call("POST", "/token/offline", Some(&analyst), None)
            .await
            .0,
        403
    );
    let (_, mine) = s.call("POST", "/token/offline", Some(&root), None).await;
    let mine_id = claims(mine["jwt"].as_str().unwrap())["cid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, revoked) = s
        .call(
            "DELETE",
            &format!("{API}/offline_tokens/{mine_id}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 200, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(
        s.status(
            "GET",
            &format!("{API}/tenants"),
            Some(mine["jwt"].as_str().unwrap())
        )
        .await,
        401
    );
    // Someone else's token is not found by a caller who does not outrank its owner.
    let (st, p) = s
        .call(
            "DELETE",
            &format!("{API}/offline_tokens/{id}"),
            Some(&analyst),
            None,
        )
        .await;
    assert_problem(st, &p, 404);
    s.stop().await;
}

/// From the independent review: a narrowed credential (or an offline token) set its own user's
/// password, then signed in with all of the user's permissions. A password is a credential with
/// all of them, so setting it needs a credential that has all of them; a new password ends the
/// user's sessions.
#[tokio::test]
async fn a_narrowed_credential_cannot_set_its_users_password() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let t = s.create_tenant(&root, "acme").await;
    let (uid, key) = s
        .user_with_key(
            &root,
            json!({"email": "ana@acme.test", "privilege_profile": "security_admin", "tenant_id": t}),
        )
        .await;
    let full = s.jwt(&key).await;
    let narrow = narrowed_jwt(&s, &full, &["cases:read"]).await;
    let path = format!("{API}/users/{uid}");
    let (st, p) = s
        .call(
            "PUT",
            &path,
            Some(&narrow),
            Some(json!({"password": "attacker chosen password"})),
        )
        .await;
    assert_problem(st, &p, 403);
    assert_eq!(
        s.sign_in("ana@acme.test", "attacker chosen password")
            .await
            .0,
        401
    );
    // Its name it may change; with the full credential, the password too, which signs out
    // every session made with the old one.
    assert_eq!(
        s.call("PUT", &path, Some(&narrow), Some(json!({"name": "Ana"})))
            .await
            .0,
        200
    );
    let session = s.session("ana@acme.test", DEFAULT_PASSWORD).await;
    assert_eq!(
        s.call(
            "PUT",
            &path,
            Some(&full),
            Some(json!({"password": "a brand new password"}))
        )
        .await
        .0,
        200
    );
    s.clock.advance(chrono::Duration::seconds(2));
    assert_eq!(
        s.status("GET", &format!("{API}/me"), Some(&session)).await,
        401
    );
    // A narrowed key may revoke itself, but not its owner's broader keys.
    let (_, keys) = s
        .call("GET", &format!("{API}/api_keys"), Some(&full), None)
        .await;
    // Both keys were made at the same (injected) instant, so find the full one by id.
    let narrow_id = claims(&narrow)["cid"].as_str().unwrap().to_owned();
    let full_id = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .find(|id| *id != narrow_id)
        .unwrap();
    let (st, p) = s
        .call(
            "DELETE",
            &format!("{API}/api_keys/{full_id}"),
            Some(&narrow),
            None,
        )
        .await;
    assert_problem(st, &p, 403);
    assert_eq!(
        s.call(
            "DELETE",
            &format!("{API}/api_keys/{narrow_id}"),
            Some(&narrow),
            None
        )
        .await
        .0,
        200
    );
    s.stop().await;
}

/// From the independent review: a key made through another key's JWT outlived it. It now
/// ends with the key it was made through (and never expires later than it).
#[tokio::test]
async fn keys_made_through_a_key_die_with_it() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (_, parent) = s
        .call(
            "POST",
            &format!("{API}/api_keys"),
            Some(&root),
            Some(json!({"name": "parent", "expires_in_days": 7})),
        )
        .await;
    let parent_jwt = s.jwt(parent["api_key"].as_str().unwrap()).await;
    let (st, child) = s
        .call(
            "POST",
            &format!("{API}/api_keys"),
            Some(&parent_jwt),
            Some(json!({"name": "child", "expires_in_days": 365})),
        )
        .await;
    assert_eq!(st, 201, "{child}");
    assert_eq!(
        child["expires_at"], parent["expires_at"],
        "capped at its parent's"
    );
    let grandchild_jwt = {
        let child_jwt = s.jwt(child["api_key"].as_str().unwrap()).await;
        let (_, g) = s
            .call(
                "POST",
                &format!("{API}/api_keys"),
                Some(&child_jwt),
                Some(json!({"name": "g"})),
            )
            .await;
        s.jwt(g["api_key"].as_str().unwrap()).await
    };
    assert_eq!(
        s.status("GET", &format!("{API}/me"), Some(&grandchild_jwt))
            .await,
        200
    );
    // Chains are short: every request walks one, so nesting stops with a clear refusal.
    let mut jwt = grandchild_jwt.clone();
    let mut depth = 3;
    let refusal = loop {
        let (st, k) = s
            .call(
                "POST",
                &format!("{API}/api_keys"),
                Some(&jwt),
                Some(json!({"name": "deeper"})),
            )
            .await;
        if st != 201 {
            break (st, k);
        }
        depth += 1;
        assert!(depth <= 10, "key chains nest without limit");
        jwt = s.jwt(k["api_key"].as_str().unwrap()).await;
    };
    assert_eq!(refusal.0, 409, "{}", refusal.1);
    assert!(
        refusal.1["detail"].as_str().unwrap().contains("session"),
        "{}",
        refusal.1
    );
    let (st, revoked) = s
        .call(
            "DELETE",
            &format!("{API}/api_keys/{}", parent["id"].as_str().unwrap()),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 200, "{revoked}");
    s.clock.advance(chrono::Duration::seconds(2));
    let (st, me) = s
        .call("GET", &format!("{API}/me"), Some(&grandchild_jwt), None)
        .await;
    assert_eq!(st, 401, "{me}");
    let r = s
        .client
        .post(s.url(&format!("{API}/access_token")))
        .bearer_auth(child["api_key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}

/// From the independent review: a tenant's super admin could rewrite a tenant profile held by
/// a peer super admin (re-permissioning a user it could not change directly); a tenant saw its
/// partner's other tenants in a profile's owner; any client writer could revoke a client a
/// partner set up.
#[tokio::test]
async fn profiles_and_clients_are_changed_only_by_those_above_them() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let a = s.create_tenant(&root, "a").await;
    let b = s.create_tenant(&root, "b").await;
    let (_, admin_key) = s
        .user_with_key(
            &root,
            json!({"email": "boss@a.test", "privilege_profile": "super_admin", "tenant_id": a}),
        )
        .await;
    let admin = s.jwt(&admin_key).await;
    let (_, all) = s
        .call(
            "POST",
            &format!("{API}/privilege_profiles"),
            Some(&admin),
            Some(json!({"name": "everything", "permissions": stella_core::permission::ALL})),
        )
        .await;
    let (st, p) = s
        .call(
            "PUT",
            &format!("{API}/privilege_profiles/{}", all["id"].as_str().unwrap()),
            Some(&admin),
            Some(json!({"permissions": ["cases:read"]})),
        )
        .await;
    assert_problem(st, &p, 403);
    // A partner's profile over [a, b], seen from tenant b: b only.
    let (_, partner_key) = s
        .user_with_key(&root, json!({"email": "p@x.test", "privilege_profile": "super_admin", "scope": "partner", "tenant_ids": [a, b]}))
        .await;
    let partner = s.jwt(&partner_key).await;
    let (st, pp) = s
        .call(
            "POST",
            &format!("{API}/privilege_profiles"),
            Some(&partner),
            Some(json!({"name": "shared", "permissions": ["cases:read"]})),
        )
        .await;
    assert_eq!(st, 201, "{pp}");
    let (_, b_key) = s
        .user_with_key(
            &root,
            json!({"email": "boss@b.test", "privilege_profile": "platform_admin", "tenant_id": b}),
        )
        .await;
    let b_admin = s.jwt(&b_key).await;
    let (_, seen) = s
        .call(
            "GET",
            &format!("{API}/privilege_profiles/{}", pp["id"].as_str().unwrap()),
            Some(&b_admin),
            None,
        )
        .await;
    assert_eq!(seen["owner"]["tenant_ids"], json!([b]), "{seen}");
    // The partner's client for tenant a: the tenant's admin (not above it) cannot revoke it.
    let (_, c) = s
        .call(
            "POST",
            &format!("{API}/oauth_clients"),
            Some(&partner),
            Some(
                json!({"name": "pipeline", "tenant_ids": [a], "privilege_profile": "super_admin"}),
            ),
        )
        .await;
    let (st, p) = s
        .call(
            "DELETE",
            &format!("{API}/oauth_clients/{}", c["client_id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_problem(st, &p, 403);
    s.stop().await;
}

/// The two callers the deployment endpoints must refuse: (a JWT of a root key narrowed to
/// `permissions`, a JWT of a tenant's super admin).
async fn narrow_root_key_and_tenant_admin(
    s: &TestServer,
    root: &str,
    permissions: &[&str],
) -> (String, String) {
    let (st, created) = s
        .call(
            "POST",
            &format!("{API}/api_keys"),
            Some(root),
            Some(json!({"name": "reader", "permissions": permissions})),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    let narrow = s.jwt(created["api_key"].as_str().unwrap()).await;
    let tenant = s.create_tenant(root, "acme").await;
    let (_, admin_key) = s
        .user_with_key(root, json!({"email": "t@acme.test", "privilege_profile": "super_admin", "tenant_id": tenant}))
        .await;
    (narrow, s.jwt(&admin_key).await)
}

/// The deployment's signing keys: root super admins only, and only through a credential that
/// carries `tenants:read` (list) or `tenants:write` (rotate). A narrowed root key and a tenant's
/// super admin are refused, and nothing rotates.
#[tokio::test]
async fn signing_keys_are_the_root_super_admins_and_need_the_credentials_permission() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (narrow, tenant_admin) =
        narrow_root_key_and_tenant_admin(&s, &root, &["cases:read", "tenants:read"]).await;
    for (who, jwt) in [
        ("narrowed root key", &narrow),
        ("tenant super admin", &tenant_admin),
    ] {
        let (st, body) = s
            .call("POST", "/cluster/signing_keys/rotate", Some(jwt), None)
            .await;
        assert_eq!(st, 403, "{who} rotated: {body}");
    }
    let (st, _) = s
        .call("GET", "/cluster/signing_keys", Some(&tenant_admin), None)
        .await;
    assert_eq!(st, 403);
    let (st, list) = s
        .call("GET", "/cluster/signing_keys", Some(&narrow), None)
        .await;
    assert_eq!(st, 200, "tenants:read lists: {list}");
    assert_eq!(
        list["data"].as_array().map(Vec::len),
        Some(1),
        "nothing rotated"
    );
    let (st, _) = s.call("GET", "/cluster/signing_keys", None, None).await;
    assert_eq!(st, 401);
    s.stop().await;
}

#[tokio::test]
async fn the_node_list_and_draining_are_the_root_super_admins() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (narrow, tenant_admin) =
        narrow_root_key_and_tenant_admin(&s, &root, &["tenants:read"]).await;
    let (st, list) = s.call("GET", "/cluster/nodes", Some(&root), None).await;
    assert_eq!(st, 200, "{list}");
    let id = list["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list["data"][0]["this"], true, "{list}");
    let drain = format!("/cluster/nodes/{id}/drain");
    for (who, jwt) in [
        ("key without tenants:write", &narrow),
        ("tenant super admin", &tenant_admin),
    ] {
        let (st, body) = s.call("POST", &drain, Some(jwt), None).await;
        assert_eq!(st, 403, "{who} drained: {body}");
    }
    let (st, _) = s
        .call("GET", "/cluster/nodes", Some(&tenant_admin), None)
        .await;
    assert_eq!(st, 403);
    let (st, _) = s.call("GET", "/cluster/nodes", None, None).await;
    assert_eq!(st, 401);
    let (st, body) = s
        .call(
            "POST",
            "/cluster/nodes/no-such-node/drain",
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 404, "{body}");
    let (st, node) = s.call("POST", &drain, Some(&root), None).await;
    assert_eq!((st, &node["health"]), (200, &json!("draining")), "{node}");
    s.stop().await;
}
