//! Security suite, part 4: the ways in — password sign-in and sessions, the session cookie,
//! and TLS.

use crate::assert_problem;
use serde_json::json;
use stella_testkit::{TestServer, DEFAULT_PASSWORD};

const API: &str = "/connect/api/v1";

/// A user created by an administrator had a password but no way to use it, and so no way to a
/// first API key. Now: sign in, then make your own key.
#[tokio::test]
async fn a_new_user_signs_in_and_makes_their_own_key() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let t = s.create_tenant(&root, "acme").await;
    let (st, u) = s
        .call(
            "POST",
            &format!("{API}/users"),
            Some(&root),
            Some(json!({"email": "Ana@Acme.test", "password": DEFAULT_PASSWORD, "privilege_profile": "analyst", "tenant_id": t})),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let r = s
        .client
        .post(s.url(&format!("{API}/sign_in")))
        .json(&json!({"email": "ana@acme.test", "password": DEFAULT_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("stella_session="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let body: serde_json::Value = r.json().await.unwrap();
    let session = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(body["expires_in"], 3600);
    let (_, me) = s
        .call("GET", &format!("{API}/me"), Some(&session), None)
        .await;
    assert_eq!(me["credential"], "session");
    assert_eq!(me["user_id"], u["id"]);
    // Their own key, through the session; it works like any key.
    let (st, key) = s
        .call(
            "POST",
            &format!("{API}/api_keys"),
            Some(&session),
            Some(json!({"name": "laptop"})),
        )
        .await;
    assert_eq!(st, 201, "{key}");
    let jwt = s.jwt(key["api_key"].as_str().unwrap()).await;
    assert_eq!(
        s.status("GET", &format!("{API}/cases"), Some(&jwt)).await,
        200
    );
    // The sign-in is in the activity log, under the user, without the password.
    s.flush_activity().await;
    let (_, log) = s
        .call(
            "GET",
            &format!("{API}/user_activity_log?path=/connect/api/v1/sign_in"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(log["data"][0]["user_id"], u["id"], "{log}");
    assert!(!log.to_string().contains(DEFAULT_PASSWORD), "{log}");
    // Sign-out ends the session everywhere (the token, and so the cookie).
    let r = s
        .client
        .post(s.url(&format!("{API}/sign_out")))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    s.clock.advance(chrono::Duration::seconds(2));
    assert_eq!(
        s.status("GET", &format!("{API}/me"), Some(&session)).await,
        401
    );
    // The session expires on its own after an hour.
    let (_, again) = s.sign_in("ana@acme.test", DEFAULT_PASSWORD).await;
    let again = again["access_token"].as_str().unwrap().to_owned();
    s.clock.advance(chrono::Duration::seconds(3601));
    assert_eq!(
        s.status("GET", &format!("{API}/me"), Some(&again)).await,
        401
    );
    s.stop().await;
}

/// Wrong passwords and unknown emails answer alike; disabled and SSO accounts do not sign in.
#[tokio::test]
async fn sign_in_refusals_reveal_nothing() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let t = s.create_tenant(&root, "acme").await;
    let (uid, _) = s
        .user_with_key(
            &root,
            json!({"email": "ana@acme.test", "privilege_profile": "analyst", "tenant_id": t}),
        )
        .await;
    let (st, wrong) = s.sign_in("ana@acme.test", "not the password").await;
    assert_problem(st, &wrong, 401);
    let (st, unknown) = s.sign_in("nobody@acme.test", "not the password").await;
    assert_problem(st, &unknown, 401);
    assert_eq!(wrong["detail"], unknown["detail"]);
    // Root was made by `stella init` with no password: it cannot sign in until it sets one.
    let (st, _) = s.sign_in(stella_testkit::ROOT_EMAIL, "").await;
    assert_eq!(st, 401);
    let (st, _) = s
        .call(
            "PUT",
            &format!("{API}/users/{uid}"),
            Some(&root),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(st, 200);
    let (st, p) = s.sign_in("ana@acme.test", DEFAULT_PASSWORD).await;
    assert_problem(st, &p, 401);
    assert!(p["detail"].as_str().unwrap().contains("disabled"), "{p}");
    s.stop().await;
}

/// The session cookie authenticates a browser; a state-changing request with it must come from
/// the server's own origin (CSRF), while scripts send the token as a bearer.
#[tokio::test]
async fn the_session_cookie_needs_the_servers_own_origin_to_change_things() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let t = s.create_tenant(&root, "acme").await;
    s.user_with_key(
        &root,
        json!({"email": "ana@acme.test", "privilege_profile": "analyst", "tenant_id": t}),
    )
    .await;
    let session = s.session("ana@acme.test", DEFAULT_PASSWORD).await;
    let cookie = format!("stella_session={session}");
    let host = s.base.trim_start_matches("http://").to_owned();
    let r = s
        .client
        .get(s.url(&format!("{API}/me")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let create = |origin: Option<String>| {
        let mut req = s
            .client
            .post(s.url(&format!("{API}/api_keys")))
            .header("cookie", &cookie)
            .json(&json!({"name": "from the browser"}));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(create(None).await, 403);
    assert_eq!(create(Some("https://evil.example".into())).await, 403);
    assert_eq!(create(Some(format!("http://{host}"))).await, 201);
    s.stop().await;
}

pub(crate) struct Pki {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

/// A CA and a certificate for localhost signed by it.
pub(crate) fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    Pki {
        ca: ca.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

pub(crate) fn trusting(ca: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .build()
        .unwrap()
}

/// `stella serve` speaks TLS when given a certificate and key, and picks up new files.
#[tokio::test]
async fn tls_is_served_and_the_certificate_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let first = pki();
    std::fs::write(&cert_path, &first.cert).unwrap();
    std::fs::write(&key_path, &first.key).unwrap();
    let s = TestServer::start_with(|c| {
        c.tls_cert = Some(cert_path.clone());
        c.tls_key = Some(key_path.clone());
    })
    .await;
    let url = format!(
        "https://localhost:{}/healthz",
        s.base.rsplit(':').next().unwrap()
    );
    let r = trusting(&first.ca).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    // Plain HTTP on the TLS port gets nowhere.
    assert!(s.client.get(s.url("/healthz")).send().await.is_err());
    // Renewed files: served from the next connection on; the old chain no longer verifies.
    let second = pki();
    std::fs::write(&cert_path, &second.cert).unwrap();
    std::fs::write(&key_path, &second.key).unwrap();
    s.running().reload_tls().unwrap();
    assert!(trusting(&first.ca).get(&url).send().await.is_err());
    assert_eq!(
        trusting(&second.ca)
            .get(&url)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A broken file is refused, and the current certificate stays.
    std::fs::write(&key_path, "not a key").unwrap();
    assert!(s.running().reload_tls().is_err());
    assert_eq!(
        trusting(&second.ca)
            .get(&url)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Over TLS the session cookie is marked Secure.
    let tls = trusting(&second.ca);
    let base = url.trim_end_matches("/healthz").to_owned();
    let jwt: serde_json::Value = tls
        .post(format!("{base}{API}/access_token"))
        .bearer_auth(&s.root.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = tls
        .post(format!("{base}{API}/users"))
        .bearer_auth(jwt["access_token"].as_str().unwrap())
        .json(&json!({"email": "ops@root.test", "password": DEFAULT_PASSWORD, "privilege_profile": "read_only", "scope": "root"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = tls
        .post(format!("{base}{API}/sign_in"))
        .json(&json!({"email": "ops@root.test", "password": DEFAULT_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    s.stop().await;
}
