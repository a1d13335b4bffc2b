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
