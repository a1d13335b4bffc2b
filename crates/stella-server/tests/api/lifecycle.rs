//! Data lifecycle: format versions (a newer release's database is refused), the free-space
//! floor, retention and archives.

use stella_testkit::{backend, TestServer};

#[tokio::test]
async fn a_database_migrated_by_a_newer_release_is_refused_unchanged() {
    let s = TestServer::start().await;
    let checksum = if backend() == "postgres" {
        "'\\x00'::bytea"
    } else {
        "x'00'"
    };
    // What a later release's migration leaves in the table.
    s.execute_sql(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, {checksum}, 1)"
    ))
    .await;
    let e = s
        .reopen_store()
        .await
        .expect_err("a newer schema must be refused");
    let msg = e.to_string();
    assert!(
        msg.contains("schema version 9999") && msg.contains("newer Stella Ops"),
        "{msg}"
    );
    s.execute_sql("DELETE FROM _sqlx_migrations WHERE version = 9999")
        .await;
    let db = s.reopen_store().await.expect("the known schema opens");
    assert_eq!(db.schema_version().await.unwrap(), Some(10));
    db.close().await;
    s.stop().await;
}

/// A size-limited filesystem (tmpfs, mounted for the test; needs root) holding the server's
/// event data, removed when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mib: u64) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

async fn ingest(s: &TestServer, jwt: &str, tenant: &str, batch: usize) -> reqwest::Response {
    // Hex noise, so the log and the index hold about what was sent.
    let events: Vec<serde_json::Value> = (0..200)
        .map(|i| {
            let noise: String = (0..1200)
                .map(|j| format!("{:x}", (batch * 7919 + i * 104_729 + j * 31) % 16))
                .collect();
            serde_json::json!({"event_type": "fill", "batch": batch, "noise": noise})
        })
        .collect();
    reqwest::Client::new()
        .post(s.url(&format!("/connect/api/v1/events?tenant_id={tenant}")))
        .bearer_auth(jwt)
        .json(&serde_json::json!({ "events": events }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_full_disk_refuses_writes_keeps_what_was_acknowledged_and_recovers() {
    let Some(disk) = SmallDisk::mount(48) else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let data = disk.dir.path().join("data");
    let s = TestServer::start_with(|c| {
        c.data_dir = data.clone();
        c.min_free_bytes = 12 << 20;
    })
    .await;
    let jwt = s.root_jwt().await;
    let tenant = s.create_tenant(&jwt, "busy").await;
    // Ballast an operator can delete later.
    let ballast = disk.dir.path().join("ballast");
    std::fs::write(&ballast, vec![7u8; 20 << 20]).unwrap();

    let mut acknowledged = 0u64;
    let mut refused = None;
    for batch in 0..100 {
        let r = ingest(&s, &jwt, &tenant, batch).await;
        match r.status().as_u16() {
            200 => acknowledged += 200,
            503 => {
                refused = Some(r);
                break;
            }
            other => panic!("batch {batch}: {other} {}", r.text().await.unwrap()),
        }
    }
    let r = refused.expect("the floor was never reached");
    assert!(acknowledged > 0, "the first batches fit");
    assert_eq!(r.headers()["retry-after"], "30");
    let problem: serde_json::Value = r.json().await.unwrap();
    assert!(
        problem["type"]
            .as_str()
            .unwrap_or("")
            .ends_with("disk-full")
            && problem["detail"].as_str().unwrap_or("").contains("free"),
        "{problem}"
    );
    // Other data writes wait too; reads, sign-in and deletes do not.
    let (st, body) = s
        .call(
            "POST",
            "/connect/api/v1/cases",
            Some(&jwt),
            Some(serde_json::json!({"name": "c", "tenant_id": tenant})),
        )
        .await;
    assert_eq!(st, 503, "{body}");
    assert_eq!(
        s.status("GET", "/connect/api/v1/cases", Some(&jwt)).await,
        200
    );
    let ready = reqwest::get(s.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().contains("writes refused"));
    // Every acknowledged event is there.
    s.refresh_events(&jwt).await;
    let (st, found) = s
        .call(
            "POST",
            "/connect/api/v1/data/aella-ser/_search",
            Some(&jwt),
            Some(serde_json::json!({"size": 0, "track_total_hits": true})),
        )
        .await;
    assert_eq!(st, 200, "{found}");
    assert_eq!(found["hits"]["total"]["value"].as_u64(), Some(acknowledged));

    // Space freed: writes resume with no restart.
    std::fs::remove_file(&ballast).unwrap();
    let r = ingest(&s, &jwt, &tenant, 1000).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(reqwest::get(s.url("/readyz")).await.unwrap().status(), 200);
    s.stop().await;
    drop(disk);
}
