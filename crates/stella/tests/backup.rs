#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `stella backup` of a serving deployment during bulk ingest, and `stella restore`: the
//! restored directory opens cleanly and holds every event acknowledged before the backup
//! began; a damaged backup is refused whole.

mod common;

use common::{call, root_jwt, search_events, serve, stella};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};

async fn ingest_batch(base: &str, jwt: &str, tenant: &str, batch: usize) -> bool {
    let events: Vec<Value> = (0..100)
        .map(|i| {
            json!({"event_type": "bulk", "batch": format!("b{batch}"), "i": i,
                        "msg": format!("event {i} of batch {batch}")})
        })
        .collect();
    let r = reqwest::Client::new()
        .post(format!("{base}/connect/api/v1/events?tenant_id={tenant}"))
        .bearer_auth(jwt)
        .json(&json!({ "events": events }))
        .send()
        .await;
    matches!(r, Ok(r) if r.status() == 200)
}

fn run(args: &[&str], dir: &Path) -> std::process::Output {
    let out = stella(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "stella {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_during_bulk_ingest_restores_every_event_acknowledged_before_it() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let s = serve(&data).await;
    let jwt = root_jwt(&s.base, &data).await;
    let tenant = call(
        &s.base,
        "POST",
        "/connect/api/v1/tenants",
        &jwt,
        Some(json!({"name": "t"})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &s.base,
        "POST",
        "/connect/api/v1/cases",
        &jwt,
        Some(json!({"name": "kept", "tenant_id": tenant})),
    )
    .await;

    let acked = Arc::new(Mutex::new(Vec::<usize>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ingest = {
        let (base, jwt, tenant, acked, stop) = (
            s.base.clone(),
            jwt.clone(),
            tenant.clone(),
            acked.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut batch = 0;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                if ingest_batch(&base, &jwt, &tenant, batch).await {
                    acked.lock().unwrap().push(batch);
                }
                batch += 1;
            }
        })
    };
    while acked.lock().unwrap().len() < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before: Vec<usize> = acked.lock().unwrap().clone();
    let to = work.path().join("backup");
    let out = {
        let (data, to) = (data.clone(), to.clone());
        tokio::task::spawn_blocking(move || run(&["backup", "--to", to.to_str().unwrap()], &data))
            .await
            .unwrap()
    };
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    stop.store(true, std::sync::atomic::Ordering::Release);
    ingest.await.unwrap();
    let after = acked.lock().unwrap().len();
    assert!(after > before.len(), "ingest went on during the backup");
    assert!(summary["files"].as_u64().unwrap() >= 5, "{summary}");
    drop(s);

    // A damaged copy is refused before anything is written.
    let damaged = work.path().join("damaged");
    common::copy_dir(&to, &damaged);
    let mut db = std::fs::read(damaged.join("stella.db")).unwrap();
    let last = db.len() - 1;
    db[last] ^= 0xff;
    std::fs::write(damaged.join("stella.db"), db).unwrap();
    let refused = work.path().join("refused");
    let out = stella(&refused)
        .args([
            "restore",
            "--from",
            damaged.to_str().unwrap(),
            "--data-dir",
            refused.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("stella.db: checksum differs"),
        "{stderr}"
    );
    assert!(
        !refused.exists(),
        "nothing is written from a damaged backup"
    );

    let restored = work.path().join("restored");
    run(
        &[
            "restore",
            "--from",
            to.to_str().unwrap(),
            "--data-dir",
            restored.to_str().unwrap(),
        ],
        &restored,
    );
    std::fs::copy(
        data.join("initial-credentials.json"),
        restored.join("initial-credentials.json"),
    )
    .unwrap();
    let r = serve(&restored).await;
    let jwt = root_jwt(&r.base, &restored).await;
    let cases = call(&r.base, "GET", "/connect/api/v1/cases", &jwt, None).await;
    assert_eq!(cases["total"], 1, "{cases}");
    let found = search_events(
        &r.base,
        &jwt,
        json!({"size": 0, "aggs": {"b": {"terms": {"field": "batch", "size": 10000}}}}),
    )
    .await;
    let buckets = found["aggregations"]["b"]["buckets"].as_array().unwrap();
    for b in &before {
        let n = buckets
            .iter()
            .find(|x| x["key"] == format!("b{b}"))
            .map_or(0, |x| x["doc_count"].as_u64().unwrap());
        assert_eq!(n, 100, "batch {b}, acknowledged before the backup: {found}");
    }
}
