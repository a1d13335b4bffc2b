//! Registry scans against a real registry: Debian's `docker-registry` on loopback, filled
//! with `skopeo` (skipped with a notice where they are not installed; CI installs them).

use crate::scanning::small_feed;
use crate::scanning_image::{docker_save, sha, two_layers};
use serde_json::{json, Value};
use stella_testkit::TestServer;

/// A registry on a free loopback port, stopped when dropped.
pub struct Registry {
    child: std::process::Child,
    pub host: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn tools_present() -> bool {
    ["docker-registry", "skopeo"].iter().all(|t| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

pub async fn start_registry() -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let child = std::process::Command::new("docker-registry")
        .args(["serve", config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let host = format!("127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("http://{host}/v2/")).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Registry {
        child,
        host,
        _dir: dir,
    }
}

pub fn push(tarball: &std::path::Path, reference: &str) {
    let out = std::process::Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            &format!("docker-archive:{}", tarball.display()),
            &format!("docker://{reference}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn registry_references_are_pulled_and_scanned_in_the_background() {
    if !tools_present() {
        eprintln!("NOTICE: docker-registry or skopeo not installed: registry scan test skipped");
        return;
    }
    let registry = start_registry().await;
    let (l1, l2) = two_layers();
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("app.tar");
    std::fs::write(&tarball, docker_save(&[l1.clone(), l2.clone()], None)).unwrap();
    push(&tarball, &format!("{}/app:1.0", registry.host));

    let host = registry.host.clone();
    let s = TestServer::start_with(move |c| {
        c.scan_registry_allow = vec![host.clone()];
        c.scan_registry_insecure = vec![host];
    })
    .await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    let r = s
        .client
        .post(s.url("/scan"))
        .bearer_auth(&root)
        .json(&json!({"image": format!("{}/app:1.0", registry.host)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let queued: Value = r.json().await.unwrap();
    assert_eq!(queued["state"], "queued");
    s.settle().await;
    let (st, done) = s.call("GET", &location, Some(&root), None).await;
    assert_eq!(st, 200);
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["kind"], "registry");
    assert_eq!(done["policyStatus"], "fail");
    let ssl = done["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["package"] == "libssl3")
        .unwrap();
    assert_eq!(
        ssl["layer"],
        sha(&l1),
        "layers are known by their diff_ids, whatever the registry compressed"
    );
    // Its layers are now known for delta checks.
    let (_, m) = s
        .call(
            "POST",
            "/layers/missing",
            Some(&root),
            Some(json!({"layers": [sha(&l1), sha(&l2)]})),
        )
        .await;
    assert_eq!(m["missing"], json!([]));

    // A tag that is not there: the scan fails, saying why.
    let r = s
        .client
        .post(s.url("/scan"))
        .bearer_auth(&root)
        .json(&json!({"image": format!("{}/app:nope", registry.host)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    s.settle().await;
    let (_, failed) = s.call("GET", &location, Some(&root), None).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("nope"),
        "{failed}"
    );

    // A registry the operator did not list is never contacted; a bad reference is a 400.
    let (st, p) = s
        .call(
            "POST",
            "/scan",
            Some(&root),
            Some(json!({"image": "127.0.0.1:1/x:1"})),
        )
        .await;
    assert_eq!(st, 403, "{p}");
    assert!(p["detail"]
        .as_str()
        .unwrap()
        .contains("scan_registry_allow"));
    let (st, p) = s
        .call(
            "POST",
            "/scan",
            Some(&root),
            Some(json!({"image": "UPPER/Case::"})),
        )
        .await;
    assert_eq!(st, 400, "{p}");
    assert!(
        p["type"]
            .as_str()
            .unwrap()
            .ends_with("registry-bad-reference"),
        "{p}"
    );
}
