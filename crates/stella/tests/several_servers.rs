//! Three `stella serve` processes as one deployment (a fresh PostgreSQL database, one NATS
//! JetStream stream of this test's own), and one of them killed with SIGKILL while bulk
//! ingest is running against all three: no acknowledged event is lost, every one is
//! searchable on the two others, the killed server catches up after its restart, and a
//! server started afterwards answers over every earlier event.
//!
//! Real processes, because only a real kill -9 leaves a server the way a crash does. Skipped
//! (with a note) without STELLA_TEST_POSTGRES_URL and STELLA_TEST_NATS_URL; CI sets both.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use stella_testkit::{NATS_ENV, POSTGRES_ENV};

const SECRET: &str = "several-servers-test-secret-0123456789abcdef";
const BATCH: usize = 200;

struct Node {
    child: Child,
    base: String,
    dir: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

fn stella(config: &Path, dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stella"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STELLA_CONFIG", config)
        .env("STELLA_DATA_DIR", dir)
        .env("STELLA_DEPLOYMENT_SECRET", SECRET)
        .env("STELLA_LOG", "warn");
    c
}

async fn start(config: &Path, dir: PathBuf) -> Node {
    let port = free_port();
    let child = stella(config, &dir)
        .arg("serve")
        .env("STELLA_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting stella serve: {e}"));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{base} never became ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Node { child, base, dir }
}

async fn call(
    base: &str,
    method: &str,
    path: &str,
    jwt: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = client
        .request(
            method.parse().unwrap_or(reqwest::Method::GET),
            format!("{base}{path}"),
        )
        .bearer_auth(jwt)
        .timeout(Duration::from_secs(60));
    if let Some(b) = body {
        req = req.json(&b);
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// Every acknowledged batch is searchable on `base` with all of its events.
async fn assert_all_found(base: &str, jwt: &str, acked: &[String], who: &str) {
    let (st, body) = call(
        base,
        "POST",
        "/connect/api/v1/data/aella-ser/_refresh",
        jwt,
        None,
    )
    .await;
    assert_eq!(st, 200, "{who}: refresh {body}");
    let (st, found) = call(
        base,
        "POST",
        "/connect/api/v1/data/aella-ser/_search",
        jwt,
        Some(json!({"size": 0, "track_total_hits": true,
            "aggs": {"batches": {"terms": {"field": "batch", "size": acked.len() + 100}}}})),
    )
    .await;
    assert_eq!(st, 200, "{who}: {found}");
    let buckets = found["aggregations"]["batches"]["buckets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for b in acked {
        let n = buckets
            .iter()
            .find(|x| x["key"] == b.as_str())
            .map_or(0, |x| x["doc_count"].as_u64().unwrap_or(0));
        assert_eq!(n, BATCH as u64, "{who}: acknowledged batch {b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_bulk_ingest_loses_no_acknowledged_event() {
    let (Ok(admin), Ok(nats)) = (std::env::var(POSTGRES_ENV), std::env::var(NATS_ENV)) else {
        eprintln!("skipped: needs {POSTGRES_ENV} and {NATS_ENV}");
        return;
    };
    let (db_url, db_name) = stella_testkit::fresh_postgres(&admin)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stream = stella_testkit::fresh_stream_name();
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = work.path().join("stella.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"{db_url}\"\nnats_url = \"{nats}\"\nnats_stream = \"{stream}\"\n\
             rate_limit_per_second = 100000\nactivity_log = false\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = stella(&config, &work.path().join("n0"))
        .args(["init", "--email", "root@stella.test"])
        .output()
        .unwrap_or_else(|e| panic!("stella init: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let creds: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let api_key = creds["api_key"].as_str().unwrap_or_default().to_owned();

    let mut nodes = Vec::new();
    for i in 0..3 {
        nodes.push(start(&config, work.path().join(format!("n{i}"))).await);
    }
    let (st, token) = call(
        &nodes[0].base,
        "POST",
        "/connect/api/v1/access_token",
        &api_key,
        None,
    )
    .await;
    assert_eq!(st, 200, "{token}");
    let jwt = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (st, tenant) = call(
        &nodes[0].base,
        "POST",
        "/connect/api/v1/tenants",
        &jwt,
        Some(json!({"name": "acme"})),
    )
    .await;
    assert_eq!(st, 201, "{tenant}");
    let tenant = tenant["id"].as_str().unwrap_or_default().to_owned();

    // Three writers, one per server, until the victim (server 2) has been killed and each
    // writer has had a refusal or 40 batches.
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let mut writers = Vec::new();
    for (w, base) in bases.iter().enumerate() {
        let (base, jwt, tenant) = (base.clone(), jwt.clone(), tenant.clone());
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for b in 0..40 {
                let batch = format!("w{w}b{b}");
                let events: Vec<Value> = (0..BATCH)
                    .map(|i| json!({"batch": batch, "i": i, "msg": "bulk ingest under kill -9"}))
                    .collect();
                let (st, body) = call(
                    &base,
                    "POST",
                    &format!("/connect/api/v1/events?tenant_id={tenant}"),
                    &jwt,
                    Some(json!({ "events": events })),
                )
                .await;
                if st != 200 {
                    break;
                }
                assert_eq!(body["ingested"], BATCH, "{body}");
                acked.push(batch);
            }
            acked
        }));
    }
    // Kill once the victim has acknowledged some batches (its writer is mid-stream then).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let victim_dir = nodes[2].dir.clone();
    let victim = nodes.pop().unwrap_or_else(|| panic!("three nodes"));
    let pid = victim.child.id();
    let killed = Command::new("kill").args(["-9", &pid.to_string()]).status();
    assert!(killed.is_ok_and(|s| s.success()), "kill -9 {pid}");
    drop(victim);
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.unwrap_or_else(|e| panic!("writer: {e}")));
    }
    let by_victim = acked.iter().filter(|b| b.starts_with("w2")).count();
    eprintln!(
        "acknowledged: {} batches, {by_victim} by the killed server",
        acked.len()
    );
    assert!(by_victim > 0, "the victim acknowledged some batches first");
    assert!(
        acked.len() < 120,
        "the victim's writer was cut off by the kill"
    );

    for (i, n) in nodes.iter().enumerate() {
        assert_all_found(&n.base, &jwt, &acked, &format!("server {i}")).await;
    }
    let restarted = start(&config, victim_dir).await;
    assert_all_found(
        &restarted.base,
        &jwt,
        &acked,
        "the killed server, restarted",
    )
    .await;
    let late = start(&config, work.path().join("n3")).await;
    assert_all_found(&late.base, &jwt, &acked, "a server started afterwards").await;

    drop((nodes, restarted, late));
    let _ = stella_search::nats::delete_stream(&nats, &stream).await;
    stella_testkit::drop_postgres(&admin, &db_name).await;
}
