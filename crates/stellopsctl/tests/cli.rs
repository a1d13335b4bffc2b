#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Runs the compiled `stellopsctl` against a real server and checks both its exit code and
//! what changed on the server.

use serde_json::{json, Value};
use stella_testkit::TestServer;
use tokio::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// `stellopsctl --server <server> [--token <token>] <args>`, with `STELLA_TOKEN` cleared so the
/// caller's environment cannot leak in.
async fn ctl_at(server: &str, token: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stellopsctl"));
    cmd.env_remove("STELLA_TOKEN").args(["--server", server]);
    if let Some(t) = token {
        cmd.args(["--token", t]);
    }
    let out = cmd
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn ctl(server: &TestServer, token: &str, args: &[&str]) -> Run {
    ctl_at(&server.base, Some(token), args).await
}

async fn emails(server: &TestServer, jwt: &str) -> Vec<String> {
    let (s, body) = server
        .call("GET", "/connect/api/v1/users?limit=100", Some(jwt), None)
        .await;
    assert_eq!(s, 200, "{body}");
    let users = body["data"].as_array().cloned().unwrap_or_default();
    users
        .iter()
        .filter_map(|u| u["email"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn tenant_add_then_list_shows_it() {
    let server = TestServer::start().await;
    let key = server.root.api_key.clone();
    let add = ctl(
        &server,
        &key,
        &["tenant", "add", "acme", "--description", "Acme Corp"],
    )
    .await;
    assert_eq!(add.code, 0, "{}", add.stderr);
    assert!(add.stdout.contains("created tenant"), "{}", add.stdout);

    let jwt = server.root_jwt().await;
    let (s, body) = server
        .call("GET", "/connect/api/v1/tenants", Some(&jwt), None)
        .await;
    assert_eq!(s, 200);
    let tenant = body["data"]
        .as_array()
        .and_then(|d| d.iter().find(|t| t["name"] == "acme"))
        .cloned();
    let tenant = tenant.unwrap_or_else(|| panic!("acme not created: {body}"));
    assert_eq!(tenant["description"], "Acme Corp");
    let id = tenant["id"].as_str().unwrap_or_default();
    assert!(add.stdout.contains(id), "{}", add.stdout);

    let list = ctl(&server, &key, &["tenant", "list"]).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout.contains("acme") && list.stdout.contains(id),
        "{}",
        list.stdout
    );

    let list = ctl(&server, &key, &["--json", "tenant", "list", "--limit", "5"]).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    let page = list.json();
    assert_eq!(page["limit"], 5);
    assert!(
        page["data"]
            .as_array()
            .is_some_and(|d| d.iter().any(|t| t["id"] == id)),
        "{page}"
    );
    server.stop().await;
}

#[tokio::test]
async fn user_add_with_tenant_then_list_includes_it() {
    let server = TestServer::start().await;
    let jwt = server.root_jwt().await;
    let tenant = server.create_tenant(&jwt, "acme").await;
    let key = server.root.api_key.clone();

    let add = ctl(
        &server,
        &key,
        &[
            "user",
            "add",
            "ada@acme.test",
            "--role",
            "analyst",
            "--tenant",
            &tenant,
        ],
    )
    .await;
    assert_eq!(add.code, 0, "{}", add.stderr);
    // A password was generated and printed once.
    let password = add
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap_or_default();
    assert_eq!(password.len(), 24, "{}", add.stdout);

    let (s, body) = server
        .call("GET", "/connect/api/v1/users?limit=100", Some(&jwt), None)
        .await;
    assert_eq!(s, 200);
    let user = body["data"]
        .as_array()
        .and_then(|d| d.iter().find(|u| u["email"] == "ada@acme.test"))
        .cloned();
    let user = user.unwrap_or_else(|| panic!("user not created: {body}"));
    assert_eq!(user["privilege_profile"], "analyst");
    assert_eq!(user["tenant_ids"], json!([tenant]));

    let list = ctl(&server, &key, &["user", "list"]).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.contains("ada@acme.test"), "{}", list.stdout);
    assert!(list.stdout.contains(&tenant), "{}", list.stdout);
    server.stop().await;
}

#[tokio::test]
async fn user_add_with_unknown_role_is_refused() {
    let server = TestServer::start().await;
    let run = ctl(
        &server,
        &server.root.api_key,
        &["user", "add", "bob@acme.test", "--role", "overlord"],
    )
    .await;
    assert_eq!(run.code, 1, "stdout: {} stderr: {}", run.stdout, run.stderr);
    assert!(run.stderr.starts_with("error: 400 "), "{}", run.stderr);
    assert!(
        run.stderr.contains("privilege_profile: ") && run.stderr.contains("overlord"),
        "{}",
        run.stderr
    );
    let jwt = server.root_jwt().await;
    assert!(!emails(&server, &jwt)
        .await
        .contains(&"bob@acme.test".to_owned()));
    server.stop().await;
}

#[tokio::test]
async fn read_only_user_cannot_add_users() {
    let server = TestServer::start().await;
    let jwt = server.root_jwt().await;
    let tenant = server.create_tenant(&jwt, "acme").await;
    let (_, viewer_key) = server
        .user_with_key(&jwt, json!({"email": "viewer@acme.test", "privilege_profile": "read_only", "tenant_id": tenant}))
        .await;

    let run = ctl(
        &server,
        &viewer_key,
        &[
            "user",
            "add",
            "eve@acme.test",
            "--role",
            "read_only",
            "--tenant",
            &tenant,
        ],
    )
    .await;
    assert_eq!(run.code, 1, "stdout: {} stderr: {}", run.stdout, run.stderr);
    assert!(
        run.stderr.starts_with("error: 403 Forbidden"),
        "{}",
        run.stderr
    );
    assert!(!emails(&server, &jwt)
        .await
        .contains(&"eve@acme.test".to_owned()));
    server.stop().await;
}

#[tokio::test]
async fn created_api_key_works_and_is_listed() {
    let server = TestServer::start().await;
    let create = ctl(
        &server,
        &server.root.api_key,
        &["apikey", "create", "--name", "ci"],
    )
    .await;
    assert_eq!(create.code, 0, "{}", create.stderr);
    assert!(
        create.stdout.contains("will not be shown again"),
        "{}",
        create.stdout
    );
    let new_key = create
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("api_key: "))
        .unwrap_or_default()
        .to_owned();
    assert!(new_key.starts_with("stk_"), "{}", create.stdout);

    let list = ctl(&server, &new_key, &["--json", "apikey", "list"]).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    let keys = list.json();
    let ci = keys["data"]
        .as_array()
        .and_then(|d| d.iter().find(|k| k["name"] == "ci"))
        .cloned();
    let ci = ci.unwrap_or_else(|| panic!("no key named ci: {keys}"));
    assert_eq!(ci["status"], "active");
    assert!(!list.stdout.contains(&new_key), "secrets are never listed");
    server.stop().await;
}

#[tokio::test]
async fn revoked_api_key_is_refused() {
    let server = TestServer::start().await;
    let root = server.root.api_key.clone();
    let create = ctl(
        &server,
        &root,
        &["--json", "apikey", "create", "--name", "temp"],
    )
    .await;
    assert_eq!(create.code, 0, "{}", create.stderr);
    let created = create.json();
    let (id, key) = (
        created["id"].as_str().unwrap_or_default(),
        created["api_key"].as_str().unwrap_or_default(),
    );
    assert_eq!(ctl(&server, key, &["apikey", "list"]).await.code, 0);

    let revoke = ctl(&server, &root, &["apikey", "revoke", id]).await;
    assert_eq!(revoke.code, 0, "{}", revoke.stderr);
    assert!(revoke.stdout.contains("revoked"), "{}", revoke.stdout);
    let jwt = server.root_jwt().await;
    let (_, keys) = server
        .call("GET", "/connect/api/v1/api_keys", Some(&jwt), None)
        .await;
    let status = keys["data"]
        .as_array()
        .and_then(|d| d.iter().find(|k| k["id"] == id))
        .map(|k| k["status"].clone());
    assert_eq!(status, Some(json!("revoked")), "{keys}");

    let run = ctl(&server, key, &["apikey", "list"]).await;
    assert_eq!(run.code, 1, "stdout: {} stderr: {}", run.stdout, run.stderr);
    assert!(run.stderr.starts_with("error: 401 "), "{}", run.stderr);
    server.stop().await;
}

#[tokio::test]
async fn client_add_prints_a_secret_that_gets_a_token() {
    let server = TestServer::start().await;
    let run = ctl(
        &server,
        &server.root.api_key,
        &["client", "add", "scanner", "--role", "read_only"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let value = |label: &str| {
        let line = run
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_default();
        line.split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    let (id, secret) = (value("client_id:"), value("client_secret:"));
    assert!(!id.is_empty() && !secret.is_empty(), "{}", run.stdout);
    assert!(run.stdout.contains("/connect/token"), "{}", run.stdout);

    let r = server
        .client
        .post(server.url("/connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    server.stop().await;
}

#[tokio::test]
async fn a_jwt_token_is_used_as_is() {
    let server = TestServer::start().await;
    let jwt = server.root_jwt().await;
    let run = ctl(&server, &jwt, &["user", "list"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(stella_testkit::ROOT_EMAIL),
        "{}",
        run.stdout
    );
    server.stop().await;
}

#[tokio::test]
async fn unreachable_server_exits_2() {
    let run = ctl_at(
        "http://127.0.0.1:1",
        Some("stk_0123456789abcdef0123456789abcdef_secret"),
        &["user", "list"],
    )
    .await;
    assert_eq!(run.code, 2, "stdout: {} stderr: {}", run.stdout, run.stderr);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
}

#[tokio::test]
async fn missing_token_exits_2() {
    let server = TestServer::start().await;
    let run = ctl_at(&server.base, None, &["user", "list"]).await;
    assert_eq!(run.code, 2, "stdout: {} stderr: {}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("--token") && run.stderr.contains("STELLA_TOKEN"),
        "{}",
        run.stderr
    );
    server.stop().await;
}

/// A directory of OSV JSON files and an export zip, as `feed refresh --from` takes them.
fn osv_sources(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let records = dir.join("pypi");
    std::fs::create_dir_all(records.join("nested")).unwrap();
    let pysec = json!({"id": "PYSEC-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "django"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.2.2"}]}]}]});
    std::fs::write(records.join("PYSEC-1.json"), pysec.to_string()).unwrap();
    let other = json!({"id": "PYSEC-2", "affected": [{"package": {"ecosystem": "PyPI", "name": "flask"}, "versions": ["0.1"]}]});
    std::fs::write(records.join("nested/PYSEC-2.json"), other.to_string()).unwrap();
    std::fs::write(records.join("broken.json"), "{not json").unwrap();
    let go_dir = dir.join("Go");
    std::fs::create_dir_all(&go_dir).unwrap();
    let zip_path = go_dir.join("all.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    z.start_file("GO-1.json", zip::write::SimpleFileOptions::default())
        .unwrap();
    let go = json!({"id": "GO-1", "affected": [{"package": {"ecosystem": "Go", "name": "example.com/m"}, "versions": ["v1.0.0"]}]});
    std::io::Write::write_all(&mut z, go.to_string().as_bytes()).unwrap();
    z.finish().unwrap();
    (records, zip_path)
}

#[tokio::test]
async fn feed_refresh_imports_directories_and_zips_as_one_version() {
    let server = TestServer::start().await;
    let key = server.root.api_key.clone();
    let tmp = tempfile::tempdir().unwrap();
    let (dir, zip) = osv_sources(tmp.path());
    let run = ctl(
        &server,
        &key,
        &[
            "feed",
            "refresh",
            "--from",
            dir.to_str().unwrap(),
            "--from",
            zip.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    assert!(run.stdout.contains("done"), "{}", run.stdout);
    assert!(
        run.stdout.contains("broken.json"),
        "the bad file is listed: {}",
        run.stdout
    );
    let status = ctl(&server, &key, &["--json", "feed", "status"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    let s = status.json();
    assert_eq!(s["records"], json!({"Go": 1, "PyPI": 2}));
    assert_eq!(s["sources"]["Go"]["source"], "pypi, Go/all.zip");
    let table = ctl(&server, &key, &["feed", "status"]).await;
    assert!(table.stdout.contains("PyPI"), "{}", table.stdout);

    // Not found, and not allowed: 2 and 1.
    let missing = ctl(
        &server,
        &key,
        &["feed", "refresh", "--from", "/nonexistent/x.zip"],
    )
    .await;
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    let root = server.root_jwt().await;
    let (_, analyst) = server
        .user_with_key(
            &root,
            json!({"email": "an@x.io", "privilege_profile": "analyst", "scope": "root"}),
        )
        .await;
    let refused = ctl(
        &server,
        &analyst,
        &["feed", "refresh", "--from", zip.to_str().unwrap()],
    )
    .await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
}

/// The shared OSV exports (2,661 PyPI and 4,291 Go advisories), where this machine has them.
#[tokio::test]
async fn feed_refresh_loads_the_shared_osv_exports() {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/osv");
    let (pypi, go) = (base.join("PyPI-all.zip"), base.join("Go-all.zip"));
    if !pypi.exists() || !go.exists() {
        eprintln!("shared OSV data not found at {}: skipped", base.display());
        return;
    }
    let server = TestServer::start().await;
    let key = server.root.api_key.clone();
    let run = ctl(
        &server,
        &key,
        &[
            "--json",
            "feed",
            "refresh",
            "--from",
            pypi.to_str().unwrap(),
            "--from",
            go.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    let import = run.json();
    assert_eq!(import["records"], 2661 + 4291, "{import}");
    assert_eq!(import["skipped"], 0, "{import}");
    let s = ctl(&server, &key, &["--json", "feed", "status"])
        .await
        .json();
    assert_eq!(s["records"]["PyPI"], 2661);
    assert_eq!(s["records"]["Go"], 4291);
}

/// `policy validate|import|export|history|show` (reference §3.3): errors by path, a backup that
/// re-imports to the same hash, and the change log.
#[tokio::test]
async fn policy_backup_restore_validate_and_history() {
    let server = TestServer::start().await;
    let key = server.root.api_key.clone();
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let bad = write(
        "bad.yaml",
        "version: \"1.0\"\nrules:\n  - name: Ignore Low dev\n    severity: [Low, None]\n    action: ignore\n",
    );
    let run = ctl(&server, &key, &["policy", "validate", &bad]).await;
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("$.rules[0].severity: Invalid level 'None'"),
        "{}",
        run.stderr
    );
    // Nothing was imported by validating, nor by a refused import.
    let run = ctl(&server, &key, &["policy", "import", &bad]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let h = ctl(&server, &key, &["--json", "policy", "history"]).await;
    assert_eq!(h.json()["total"], 0, "{}", h.stdout);

    let good = write(
        "good.yaml",
        "version: \"1.0\"\nrules:\n  - name: Ignore Low dev\n    severity: [Low]\n    environments: [dev, staging]\n    action: ignore\n",
    );
    let run = ctl(&server, &key, &["policy", "validate", &good]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("valid: 1 YAML rule"), "{}", run.stdout);
    let run = ctl(
        &server,
        &key,
        &[
            "--json",
            "policy",
            "import",
            &good,
            "--comment",
            "dev noise",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let first = run.json();
    assert_eq!(first["kind"], "yaml");
    assert_eq!(
        first["tenant_id"], "*",
        "a root user sets the platform default"
    );

    // export > backup, replace with Rego, then restore the backup: the same hash again.
    let backup = ctl(&server, &key, &["policy", "export"]).await;
    assert_eq!(backup.code, 0, "{}", backup.stderr);
    assert!(
        backup.stdout.contains("Ignore Low dev"),
        "{}",
        backup.stdout
    );
    let backup_file = write("backup.yaml", &backup.stdout);
    let rego = write(
        "p.rego",
        "# comments first\npackage stella.policy\n\nimport rego.v1\n\nblock contains \"GHSA-x\" if { true }\n",
    );
    let run = ctl(&server, &key, &["policy", "import", &rego]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let export = ctl(&server, &key, &["policy", "export"]).await;
    assert!(
        export
            .stdout
            .starts_with("# comments first\npackage stella.policy"),
        "{}",
        export.stdout
    );
    let run = ctl(&server, &key, &["--json", "policy", "import", &backup_file]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["hash"], first["hash"]);

    let h = ctl(&server, &key, &["--json", "policy", "history"]).await;
    let h = h.json();
    assert_eq!(h["total"], 3);
    assert_eq!(h["data"][2]["comment"], "dev noise");
    assert_eq!(h["data"][0]["previous_hash"], h["data"][1]["hash"]);
    let table = ctl(&server, &key, &["policy", "history", "--limit", "1"]).await;
    assert!(
        table.stdout.contains("1 of 3 version(s)"),
        "{}",
        table.stdout
    );
    let id = first["id"].as_str().unwrap();
    let show = ctl(&server, &key, &["policy", "show", id]).await;
    assert_eq!(show.stdout, backup.stdout);
    let missing = ctl(&server, &key, &["policy", "show", "nope"]).await;
    assert_eq!(missing.code, 1, "{}", missing.stderr);
}
