#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Runs the compiled `santech` against a real server: the exit codes of §3.1, its outputs
//! (SARIF validated against the SARIF 2.1.0 schema) and waiting on 429.

use serde_json::{json, Value};
use std::io::Write;
use stella_testkit::TestServer;
use tokio::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn santech(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_santech"))
        .env_remove("STELLA_TOKEN")
        .args(args)
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A feed with one High (Django < 2.2.2) and one Critical (requests < 2.20.0) PyPI advisory.
async fn feed(s: &TestServer, jwt: &str) {
    let high = json!({"id": "PYSEC-2019-79", "aliases": ["CVE-2019-12308"],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
        "affected": [{"package": {"ecosystem": "PyPI", "name": "django"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.2.2"}]}]}]});
    let critical = json!({"id": "PYSEC-2018-28",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}]}]});
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        for (name, r) in [("a.json", high), ("b.json", critical)] {
            z.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(r.to_string().as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    let r = s
        .client
        .post(s.url("/feed/imports"))
        .bearer_auth(jwt)
        .body(out.into_inner())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    s.settle().await;
}

fn sbom_file(dir: &std::path::Path, name: &str, components: Value) -> String {
    let path = dir.join(name);
    let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": components});
    std::fs::write(&path, doc.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn exit_codes_outputs_and_sarif() {
    let s = TestServer::start().await;
    let key = s.root.api_key.clone();
    feed(&s, &s.root_jwt().await).await;
    let dir = tempfile::tempdir().unwrap();
    let high = sbom_file(
        dir.path(),
        "high.json",
        json!([
        {"name": "Django", "version": "2.2.1", "purl": "pkg:pypi/django@2.2.1"}]),
    );
    let critical = sbom_file(
        dir.path(),
        "critical.json",
        json!([
        {"name": "Django", "version": "2.2.1", "purl": "pkg:pypi/django@2.2.1"},
        {"name": "requests", "version": "2.19.1", "purl": "pkg:pypi/requests@2.19.1"}]),
    );
    let base = ["--server", s.base.as_str(), "--token", key.as_str()];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|a| (*a).to_owned()).collect()
    };
    let run = |args: Vec<String>| async move {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        santech(&refs).await
    };

    // 0: nothing at or above the default threshold (critical); the table is readable.
    let r = run(with(&[&high])).await;
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("PYSEC-2019-79") && r.stdout.contains("PASS"),
        "{}",
        r.stdout
    );
    // 1: a Critical finding, or a High one at --threshold high.
    let r = run(with(&[&critical])).await;
    assert_eq!(r.code, 1, "{} {}", r.stdout, r.stderr);
    let r = run(with(&["--threshold", "high", &high])).await;
    assert_eq!(r.code, 1, "{}", r.stderr);

    // --output-json holds the server's answer; --format json prints it.
    let out = dir.path().join("out.json");
    let r = run(with(&[
        "--output-json",
        out.to_str().unwrap(),
        "--format",
        "json",
        &critical,
    ]))
    .await;
    assert_eq!(r.code, 1);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let printed: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(saved, printed);
    assert_eq!(saved["summary"]["Critical"], 1);

    // SARIF 2.1.0, valid against the OASIS schema.
    let r = run(with(&["--format", "sarif", &critical])).await;
    assert_eq!(r.code, 1);
    let sarif: Value = serde_json::from_str(&r.stdout).unwrap();
    let schema: Value =
        serde_json::from_str(include_str!("fixtures/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 2);
    assert!(
        !validator.is_valid(&json!({"version": "2.1.0"})),
        "the schema is not vacuous"
    );

    // CycloneDX with vulnerabilities, readable as an SBOM again.
    let r = run(with(&["--format", "cyclonedx", &critical])).await;
    let cdx: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(cdx["vulnerabilities"].as_array().unwrap().len(), 2);
    assert!(cdx["vulnerabilities"][0]["affects"][0]["ref"]
        .as_str()
        .unwrap()
        .starts_with("pkg:pypi/"));
    let again = stella_sbom_count(&r.stdout);
    assert_eq!(again, 2);

    // 2: unreadable SBOM (the server refuses it), missing file, no token, no server.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"bomFormat\": \"CycloneDX\"").unwrap();
    let r = run(with(&[bad.to_str().unwrap()])).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("400") || r.stderr.to_lowercase().contains("sbom"),
        "{}",
        r.stderr
    );
    assert_eq!(run(with(&["/nonexistent.json"])).await.code, 2);
    assert_eq!(santech(&["--server", &s.base, &high]).await.code, 2);
    assert_eq!(
        santech(&["--server", "http://127.0.0.1:9", "--token", "x", &high])
            .await
            .code,
        2
    );
    assert_eq!(run(with(&["--sbom-type", "syft", &high])).await.code, 2);
}

fn stella_sbom_count(doc: &str) -> usize {
    let v: Value = serde_json::from_str(doc).unwrap();
    v["components"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_429_is_waited_out_once() {
    // One request a second per credential: the second scan in the same second gets 429 with
    // Retry-After, and santech waits and retries.
    let s = TestServer::start_with(|c| c.rate_limit_per_second = 1).await;
    let jwt = s.root_jwt().await;
    feed(&s, &jwt).await;
    let dir = tempfile::tempdir().unwrap();
    let sbom = sbom_file(
        dir.path(),
        "a.json",
        json!([{"name": "Django", "version": "2.2.1", "purl": "pkg:pypi/django@2.2.1"}]),
    );
    // Spend this second's request, so santech's first attempt is refused.
    let _ = s.call("GET", "/feed/status", Some(&jwt), None).await;
    // The server's clock is the test's: it moves on while santech waits its Retry-After.
    let clock = s.clock.clone();
    let tick = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        clock.advance(chrono::TimeDelta::seconds(2));
    });
    let r = santech(&["--server", &s.base, "--token", &jwt, &sbom]).await;
    tick.await.unwrap();
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("waiting 1 s"), "{}", r.stderr);
    let _ = s.call("GET", "/feed/status", Some(&jwt), None).await;
    let r = santech(&[
        "--server",
        &s.base,
        "--token",
        &jwt,
        "--wait-quota",
        "false",
        &sbom,
    ])
    .await;
    assert_eq!(
        r.code, 2,
        "without waiting, a 429 is an error: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("429") || r.stderr.to_lowercase().contains("too many"),
        "{}",
        r.stderr
    );
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, *bytes).unwrap();
    }
    b.into_inner().unwrap()
}

fn sha(b: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)))
}

/// A `docker save` tarball: layer 1 has requests 2.19.1 (Critical), layer 2 `top`.
fn image(dir: &std::path::Path, name: &str, top: &[u8]) -> String {
    let l1 = tar_of(&[(
        "usr/lib/python3/requests-2.19.1.dist-info/METADATA",
        b"Metadata-Version: 2.1\nName: requests\nVersion: 2.19.1\n",
    )]);
    let l2 = tar_of(&[("etc/marker", top)]);
    let layers = [l1, l2];
    let diff_ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
    let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}).to_string();
    let config_name = format!("{}.json", &sha(config.as_bytes())[7..]);
    let names: Vec<String> = diff_ids
        .iter()
        .map(|d| format!("{}/layer.tar", &d[7..]))
        .collect();
    let manifest =
        json!([{"Config": config_name, "RepoTags": ["app:1"], "Layers": names}]).to_string();
    let mut files: Vec<(&str, &[u8])> = vec![
        ("manifest.json", manifest.as_bytes()),
        (&config_name, config.as_bytes()),
    ];
    for (n, l) in names.iter().zip(&layers) {
        files.push((n, l));
    }
    let path = dir.join(name);
    std::fs::write(&path, tar_of(&files)).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn images_delta_and_local_policy() {
    let s = TestServer::start().await;
    let key = s.root.api_key.clone();
    feed(&s, &s.root_jwt().await).await;
    let dir = tempfile::tempdir().unwrap();
    let a = image(dir.path(), "a.tar", b"one");
    let b = image(dir.path(), "b.tar", b"two");
    let base = ["--server", s.base.as_str(), "--token", key.as_str()];
    let run = |extra: &[&str]| {
        let args: Vec<String> = base.iter().chain(extra).map(|x| (*x).to_owned()).collect();
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            santech(&refs).await
        }
    };
    // The tarball, uploaded whole: requests 2.19.1 is Critical.
    let r = run(&["--format", "json", &a]).await;
    assert_eq!(r.code, 1, "{} {}", r.stdout, r.stderr);
    let whole: Value = serde_json::from_str(&r.stdout).unwrap();
    // --delta on the changed image: layer 1 is known, only layer 2 is catalogued and sent.
    let r = run(&["--delta", "--format", "json", &b]).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("1 of 2 layers are new"), "{}", r.stderr);
    let delta: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(delta["findings"], whole["findings"]);
    // A local policy that accepts the issue decides instead of the server: exit 0.
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "version: \"1.0\"\nrules:\n  - name: accepted\n    vulnerabilities: [PYSEC-2018-28]\n    action: ignore\n").unwrap();
    let r = run(&["--policy-file", policy.to_str().unwrap(), &a]).await;
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("local policy"), "{}", r.stderr);
    std::fs::write(
        &policy,
        "version: \"1.0\"\nrules:\n  - name: x\n    severity: [None]\n    action: ignore\n",
    )
    .unwrap();
    let r = run(&["--policy-file", policy.to_str().unwrap(), &a]).await;
    assert_eq!(
        r.code, 2,
        "an invalid local policy is an error: {}",
        r.stderr
    );
    assert!(r.stderr.contains("Invalid level 'None'"), "{}", r.stderr);
}

/// A registry image: the server pulls it (202, polled), or santech pulls it for --delta.
#[tokio::test]
async fn registry_images_both_ways() {
    let present = ["docker-registry", "skopeo"].iter().all(|t| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !present {
        eprintln!("NOTICE: docker-registry or skopeo not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("registry.yml");
    std::fs::write(&config, format!("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n", dir.path().join("data").display())).unwrap();
    let mut child = std::process::Command::new("docker-registry")
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
    let a = image(dir.path(), "a.tar", b"one");
    let reference = format!("{host}/app:1");
    let out = std::process::Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            &format!("docker-archive:{a}"),
            &format!("docker://{reference}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let h = host.clone();
    let s = TestServer::start_with(move |c| {
        c.scan_registry_allow = vec![h.clone()];
        c.scan_registry_insecure = vec![h];
    })
    .await;
    let key = s.root.api_key.clone();
    feed(&s, &s.root_jwt().await).await;
    let r = santech(&[
        "--server", &s.base, "--token", &key, "--format", "json", &reference,
    ])
    .await;
    assert_eq!(r.code, 1, "{} {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("queued"), "{}", r.stderr);
    let pulled: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(pulled["summary"]["Critical"], 1);
    // --delta: santech pulls and catalogues here; the server has both layers from the pull.
    let r = santech(&[
        "--server",
        &s.base,
        "--token",
        &key,
        "--delta",
        "--insecure-registry",
        &reference,
    ])
    .await;
    assert_eq!(r.code, 1, "{} {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("0 of 2 layers are new"), "{}", r.stderr);
    // A registry the server may not pull from: refused, exit 2.
    let r = santech(&["--server", &s.base, "--token", &key, "127.0.0.1:1/x:1"]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    let _ = child.kill();
    let _ = child.wait();
}
