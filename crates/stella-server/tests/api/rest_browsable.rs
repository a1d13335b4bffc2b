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

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|c| c.is_file())
        })
        .ok_or(())
}
