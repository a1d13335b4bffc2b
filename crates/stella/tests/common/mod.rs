#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What the tests of `stella` processes share: a server process on a free port, calls with
//! a JWT, directory copies.
#![allow(dead_code)]

use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Serving {
    pub child: Child,
    pub base: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

pub fn stella(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stella"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STELLA_DATA_DIR", dir)
        .env("STELLA_LOG", "warn");
    c
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

pub async fn serve(dir: &Path) -> Serving {
    serve_with(dir, &[]).await
}

/// `serve` with extra environment (`STELLA_CONFIG`, for example).
pub async fn serve_with(dir: &Path, env: &[(&str, &Path)]) -> Serving {
    let port = free_port();
    let mut cmd = stella(dir);
    cmd.envs(env.iter().copied());
    let child = cmd
        .arg("serve")
        .env("STELLA_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/readyz"))
        .await
        .map_or(true, |r| r.status() != 200)
    {
        assert!(started.elapsed() < Duration::from_secs(60), "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Serving { child, base }
}

pub async fn call(base: &str, method: &str, path: &str, jwt: &str, body: Option<Value>) -> Value {
    let mut req = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .bearer_auth(jwt);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{method} {path}: {status} {body}");
    body
}

/// Makes every acknowledged event searchable, then searches `aella-ser` with `body`.
pub async fn search_events(base: &str, jwt: &str, body: Value) -> Value {
    let refresh = "/connect/api/v1/data/aella-ser/_refresh";
    call(base, "POST", refresh, jwt, None).await;
    call(
        base,
        "POST",
        "/connect/api/v1/data/aella-ser/_search",
        jwt,
        Some(body),
    )
    .await
}

/// A JWT for the root administrator whose credentials `serve` wrote on its first start.
pub async fn root_jwt(base: &str, dir: &Path) -> String {
    let creds: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("initial-credentials.json")).unwrap(),
    )
    .unwrap();
    let token = reqwest::Client::new()
        .post(format!("{base}/connect/api/v1/access_token"))
        .bearer_auth(creds["api_key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200, "access token");
    token.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}
