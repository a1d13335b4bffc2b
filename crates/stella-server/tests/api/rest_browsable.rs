//! The browsable `/rest/` API: a browser asking for HTML gets a page of the JSON answer, with
//! this server's URLs as links and a form for writes; checked over HTTP and in a real headless
//! Chromium (Debian's `chromium`; skipped with a note where it is not installed), which runs the
//! page's script with a token and leaves a screenshot in the test's temporary directory.

use serde_json::json;
use stella_testkit::TestServer;

const PROBES: &str = "/rest/appliances/suricata_appliance/";

async fn html(s: &TestServer, path: &str, auth: Option<&str>) -> (u16, String, String) {
    let mut req = s
        .client
        .get(s.url(path))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    (status, ct, r.text().await.unwrap())
}

/// A browser's `GET` of `path` (`Accept: text/html`) with `auth`, answered whole.
async fn get_page(s: &TestServer, path: &str, auth: &str) -> reqwest::Response {
    s.client
        .get(s.url(path))
        .header("accept", "text/html")
        .header("authorization", auth)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn browsers_get_pages_of_the_json_with_links_and_a_form() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let auth = format!("Bearer {root}");
    let t = s.create_tenant(&root, "acme").await;
    for i in 0..31 {
        let (st, b) = s
            .call(
                "POST",
                PROBES,
                Some(&root),
                Some(json!({"name": format!("<probe-{i:02}>"), "ipaddress": "10.0.0.1", "tenant_id": t})),
            )
            .await;
        assert_eq!(st, 201, "{b}");
    }
    let (st, ct, page) = html(&s, PROBES, Some(&auth)).await;
    assert_eq!(st, 200);
    assert_eq!(ct, "text/html; charset=utf-8");
    assert!(page.contains("HTTP 200 OK"), "{page}");
    // The next page is a link; names are escaped, never markup.
    let next = format!("<a href=\"{}?page=2\">", s.url(PROBES));
    assert!(page.contains(&next), "{page}");
    assert!(page.contains("&lt;probe-00&gt;"));
    assert!(!page.contains("<probe-00>"));
    assert!(page.contains("<option>POST</option>"));
    // An object's page offers PUT, PATCH and DELETE.
    let (_, _, one) = html(&s, &format!("{PROBES}1/"), Some(&auth)).await;
    assert!(one.contains("<option>PATCH</option>"), "{one}");
    // Refusals are pages too; JSON clients still get JSON.
    let (st, ct, refused) = html(&s, PROBES, None).await;
    assert_eq!(st, 401);
    assert!(ct.starts_with("text/html"));
    assert!(
        refused.contains("Authentication credentials were not provided"),
        "{refused}"
    );
    let (st, json) = s.call("GET", PROBES, Some(&root), None).await;
    assert_eq!(st, 200);
    assert_eq!(json["count"], 31);

    let Ok(chromium) = which("chromium") else {
        eprintln!("skipped: the browser check needs Debian's chromium");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}#token={}", s.url(PROBES), s.root.legacy_token);
    // Run asynchronously: the server under test answers the page's requests on this runtime.
    let run = |extra: Vec<String>| {
        let mut c = tokio::process::Command::new(&chromium);
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .args(extra)
        .arg(&url)
        .kill_on_drop(true);
        async move {
            tokio::time::timeout(std::time::Duration::from_secs(60), c.output())
                .await
                .expect("chromium finished within a minute")
                .unwrap()
        }
    };
    // With the token from the fragment, the page's script fetches the list and shows it.
    let dom = run(vec!["--dump-dom".into()]).await;
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("HTTP 200"), "{dom}");
    assert!(dom.contains("&lt;probe-00&gt;"), "{dom}");
    // The answer was redrawn by the script (plain text, no server markup): the page's
    // Content-Security-Policy lets its own script run.
    assert!(
        !dom.contains("<span class=\"k\">"),
        "the script did not run: {dom}"
    );
    let shot = dir.path().join("rest.png");
    run(vec![
        format!("--screenshot={}", shot.display()),
        "--window-size=1200,900".into(),
    ])
    .await;
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a screenshot");
    let keep = std::env::temp_dir().join("stella-rest-browsable.png");
    let _ = std::fs::copy(&shot, &keep);
    eprintln!("screenshot of the browsable API: {}", keep.display());
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Pages allow only their own script and style, reach only this server and are never framed;
/// every answer of the server, JSON, text and pages alike, says not to sniff its type.
#[tokio::test]
async fn pages_and_answers_carry_the_hardening_headers() {
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let auth = format!("Bearer {admin}");
    let page = get_page(&s, PROBES, &auth).await;
    assert_eq!(page.status(), 200);
    let csp = header(&page, "content-security-policy");
    for part in [
        "default-src 'none'",
        "script-src 'sha256-",
        "style-src 'sha256-",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{part}: {csp}");
    }
    assert_eq!(header(&page, "x-frame-options"), "DENY");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");

    // The export is tenant-written text: served as text/plain, never sniffed into HTML.
    let (st, src) = crate::rest_send(
        &s,
        reqwest::Method::POST,
        "/rest/rules/source/",
        &auth,
        Some(json!({"name": "local"})),
    )
    .await;
    assert_eq!(st, 201, "{src}");
    let r = s
        .client
        .post(s.url(&format!("/rest/rules/source/{}/upload/?filename=x.rules", src["pk"])))
        .header("authorization", &auth)
        .body("alert tcp any any -> any any (msg:\"<html><script>alert(1)</script>\"; sid:1; rev:1;)\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (st, rs) = crate::rest_send(
        &s,
        reqwest::Method::POST,
        "/rest/rules/ruleset/",
        &auth,
        Some(json!({"name": "prod", "sources": [src["pk"]]})),
    )
    .await;
    assert_eq!(st, 201, "{rs}");
    let export = s
        .client
        .get(s.url(&format!("/rest/rules/ruleset/{}/export/", rs["pk"])))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert!(header(&export, "content-type").starts_with("text/plain"));
    assert_eq!(header(&export, "x-content-type-options"), "nosniff");
    // JSON, refusals, unknown routes and the health check too.
    for (path, auth) in [
        (PROBES, Some(&auth)),
        (PROBES, None),
        ("/no/such/route", None),
        ("/healthz", None),
    ] {
        let mut req = s.client.get(s.url(path));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
    }
}

/// An answer too large to show as a page is a page saying so, linking to the same URL as JSON
/// (`?format=json`, which answers the JSON whatever the `Accept`), never a bare 500.
#[tokio::test]
async fn answers_too_large_for_a_page_link_to_their_json() {
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let auth = format!("Bearer {admin}");
    let (st, src) = crate::rest_send(
        &s,
        reqwest::Method::POST,
        "/rest/rules/source/",
        &auth,
        Some(json!({"name": "big"})),
    )
    .await;
    assert_eq!(st, 201, "{src}");
    // 700 rules of nearly 8 KiB (Suricata's largest): over 4 MiB of JSON on one page.
    let filler = "A".repeat(7900);
    let text: String = (1..=700)
        .map(|sid| {
            format!("alert tcp any any -> any any (msg:\"r{sid}\"; content:\"{filler}\"; sid:{sid}; rev:1;)\n")
        })
        .collect();
    let r = s
        .client
        .post(s.url(&format!(
            "/rest/rules/source/{}/upload/?filename=big.rules",
            src["pk"]
        )))
        .header("authorization", &auth)
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let path = "/rest/rules/rule/?page_size=1000";
    let r = get_page(&s, path, &auth).await;
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").starts_with("text/html"));
    assert!(header(&r, "content-security-policy").contains("default-src 'none'"));
    let page = r.text().await.unwrap();
    assert!(page.contains("too large to show as a page"), "{page}");
    let json_url = "/rest/rules/rule/?page_size=1000&amp;format=json";
    assert!(page.contains(&format!("<a href=\"{json_url}\">")), "{page}");
    // The link answers the JSON, even to a browser.
    let r = get_page(&s, &json_url.replace("&amp;", "&"), &auth).await;
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").contains("json"));
    let all: serde_json::Value = r.json().await.unwrap();
    assert_eq!(all["count"], 700);
    assert_eq!(all["results"].as_array().unwrap().len(), 700);
}

/// Over TLS the JSON writes its links `https://…`; the page tells this server's links by the
/// same origin, so `next` is still a link to follow.
#[tokio::test]
async fn pages_over_tls_link_the_next_page() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let pki = crate::security_signin::pki();
    std::fs::write(&cert_path, &pki.cert).unwrap();
    std::fs::write(&key_path, &pki.key).unwrap();
    let s = TestServer::start_with(|c| {
        c.tls_cert = Some(cert_path.clone());
        c.tls_key = Some(key_path.clone());
    })
    .await;
    let base = format!("https://localhost:{}", s.base.rsplit(':').next().unwrap());
    let tls = crate::security_signin::trusting(&pki.ca);
    let jwt: serde_json::Value = tls
        .post(format!("{base}/connect/api/v1/access_token"))
        .bearer_auth(&s.root.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = jwt["access_token"].as_str().unwrap().to_owned();
    let t: serde_json::Value = tls
        .post(format!("{base}/connect/api/v1/tenants"))
        .bearer_auth(&jwt)
        .json(&json!({"name": "acme"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for i in 0..2 {
        let r = tls
            .post(format!("{base}{PROBES}"))
            .bearer_auth(&jwt)
            .json(&json!({"name": format!("p{i}"), "ipaddress": "10.0.0.1", "tenant_id": t["id"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let page = tls
        .get(format!("{base}{PROBES}?page_size=1"))
        .header("accept", "text/html")
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let next = format!("<a href=\"{base}{PROBES}?page=2&amp;page_size=1\">");
    assert!(page.contains(&next), "{next} in {page}");
    s.stop().await;
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|c| c.is_file())
        })
        .ok_or(())
}
