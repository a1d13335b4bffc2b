//! Supply-chain scanning over HTTP: feed imports, SBOM scans, stored scans, quotas, tenancy,
//! and bad input (issue 13). The advisories are small records written here; the shared OSV
//! data is used by `scanning_shared.rs` where present.

use crate::assert_problem;
use serde_json::{json, Value};
use std::io::Write;
use stella_testkit::TestServer;

/// A PyPI record: Django before 2.2.2, CVSS 3.1 7.5 (High), known also as a CVE and a GHSA.
fn django_record() -> Value {
    json!({
        "id": "PYSEC-2019-79",
        "modified": "2024-01-01T00:00:00Z",
        "aliases": ["CVE-2019-12308", "GHSA-7rp2-fm2h-wchj"],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "django"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.2.2"}]}]
        }]
    })
}

/// The same vulnerability from GitHub's database: merged into the PYSEC finding.
fn django_ghsa() -> Value {
    json!({
        "id": "GHSA-7rp2-fm2h-wchj",
        "modified": "2024-01-01T00:00:00Z",
        "aliases": ["CVE-2019-12308"],
        "database_specific": {"severity": "MODERATE"},
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "Django"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.2"}, {"fixed": "2.2.2"}]}]
        }]
    })
}

/// A Debian advisory naming the source package (openssl), Critical by CVSS 3.1.
fn openssl_record() -> Value {
    json!({
        "id": "DSA-5000-1",
        "modified": "2024-01-01T00:00:00Z",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{
            "package": {"ecosystem": "Debian:12", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}]
        }]
    })
}

/// A Go record without severity: counted as Unknown, never dropped.
fn go_record() -> Value {
    json!({
        "id": "GO-2022-0001",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [{
            "package": {"ecosystem": "Go", "name": "golang.org/x/text"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.3.7"}]}]
        }]
    })
}

/// A zip of `name → bytes` entries.
pub fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        for (name, bytes) in entries {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
    }
    out.into_inner()
}

fn rec(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// Uploads a feed archive and waits for its import; returns the import as finished.
pub async fn import_feed(s: &TestServer, jwt: &str, zip: Vec<u8>, query: &str) -> Value {
    let r = s
        .client
        .post(s.url(&format!("/feed/imports{query}")))
        .bearer_auth(jwt)
        .header("content-type", "application/zip")
        .body(zip)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("/feed/imports/{}", body["id"].as_str().unwrap()).as_str())
    );
    s.settle().await;
    let (st, done) = s.call("GET", &location.unwrap(), Some(jwt), None).await;
    assert_eq!(st, 200);
    done
}

/// The standard small feed: PyPI (two records of one issue), Debian, Go, and a malformed file.
pub async fn small_feed(s: &TestServer, jwt: &str) -> Value {
    let zip = zip_of(&[
        ("PyPI/PYSEC-2019-79.json", rec(&django_record())),
        ("PyPI/GHSA-7rp2-fm2h-wchj.json", rec(&django_ghsa())),
        ("Debian/DSA-5000-1.json", rec(&openssl_record())),
        ("Go/GO-2022-0001.json", rec(&go_record())),
        (
            "broken.json",
            b"{\"id\": \"X-1\", \"affected\": 5}".to_vec(),
        ),
    ]);
    import_feed(s, jwt, zip, "?source=fixtures").await
}

fn cyclonedx(components: Value) -> Value {
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {"component": {"name": "app", "version": "1.0"}},
        "components": components
    })
}

pub fn sample_sbom() -> Value {
    cyclonedx(json!([
        {"name": "Django", "version": "2.2.1", "purl": "pkg:pypi/django@2.2.1"},
        {"name": "requests", "version": "2.31.0", "purl": "pkg:pypi/requests@2.31.0"},
        {"name": "libssl3", "version": "3.0.11-1~deb12u1",
         "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?distro=debian-12&upstream=openssl"},
        {"name": "golang.org/x/text", "version": "v0.3.6", "purl": "pkg:golang/golang.org/x/text@v0.3.6"},
        {"name": "thing", "version": "1.0", "purl": "pkg:generic/thing@1.0"},
        {"name": "noversion", "purl": "pkg:pypi/noversion"}
    ]))
}

pub async fn scan(
    s: &TestServer,
    jwt: &str,
    query: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = s
        .client
        .post(s.url(&format!("/scan{query}")))
        .bearer_auth(jwt)
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let h = r.headers().clone();
    let text = r.text().await.unwrap();
    (
        status,
        h,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn feed_import_then_sbom_scan_is_stored_compared_and_deleted() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let sbom = serde_json::to_vec(&sample_sbom()).unwrap();

    // No feed yet: the scan cannot be assessed, and says how to fix it.
    let (st, _, p) = scan(&s, &root, "", &sbom, &[]).await;
    assert_problem(st, &p, 503);
    assert!(
        p["detail"].as_str().unwrap().contains("feed refresh"),
        "{p}"
    );

    let done = small_feed(&s, &root).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["records"], 4, "{done}");
    assert_eq!(
        done["skipped"], 1,
        "the malformed record is reported: {done}"
    );
    assert_eq!(done["problems"][0]["source"], "broken.json");

    let (st, status) = s.call("GET", "/feed/status", Some(&root), None).await;
    assert_eq!(st, 200);
    assert_eq!(status["records"], json!({"Debian": 1, "Go": 1, "PyPI": 2}));
    assert_eq!(status["source"], "fixtures");
    assert_eq!(status["version"], done["version"]);
    assert_eq!(status["loaded_version"], done["version"]);

    let (st, h, body) = scan(&s, &root, "", &sbom, &[]).await;
    assert_eq!(st, 200, "{body}");
    // The reference's members, plus the stored scan's id, findings and unassessed.
    assert!(body["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(
        body["summary"],
        json!({"Critical": 1, "High": 1, "Medium": 0, "Low": 0, "Unknown": 1})
    );
    assert_eq!(
        body["policyStatus"], "fail",
        "a Critical finding at the default threshold"
    );
    let findings = body["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3, "{body}");
    let django = findings.iter().find(|f| f["package"] == "Django").unwrap();
    assert_eq!(
        django["id"], "PYSEC-2019-79",
        "aliases merged into one finding"
    );
    assert_eq!(
        django["aliases"],
        json!(["CVE-2019-12308", "GHSA-7rp2-fm2h-wchj"])
    );
    assert_eq!(django["severity"], "High");
    assert_eq!(django["cvssScore"], 7.5);
    assert_eq!(django["fixedVersions"], json!(["2.2.2"]));
    assert_eq!(django["installedVersion"], "2.2.1");
    let ssl = findings.iter().find(|f| f["package"] == "libssl3").unwrap();
    assert_eq!(
        ssl["id"], "DSA-5000-1",
        "binary package mapped to its source"
    );
    assert_eq!(ssl["severity"], "Critical");
    let go = findings
        .iter()
        .find(|f| f["package"] == "golang.org/x/text")
        .unwrap();
    assert_eq!(go["severity"], "Unknown");
    let unassessed = body["unassessed"].as_array().unwrap();
    let reasons: Vec<_> = unassessed
        .iter()
        .map(|u| {
            (
                u["package"].as_str().unwrap(),
                u["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons
        .iter()
        .any(|(p, r)| *p == "thing" && r.starts_with("unknown-ecosystem")));
    assert!(reasons
        .iter()
        .any(|(p, r)| *p == "noversion" && r.starts_with("no-version")));
    assert!(
        h.get("x-stella-quota-remaining").is_none(),
        "no quota on a root JWT"
    );
    assert!(h.get("x-stella-token-expires").is_some());

    // Thresholds: only Critical and above fail by default; an unknown value is refused.
    let lodash_only = serde_json::to_vec(&cyclonedx(json!([
        {"name": "Django", "version": "2.2.1", "purl": "pkg:pypi/django@2.2.1"}
    ])))
    .unwrap();
    let (_, _, b) = scan(&s, &root, "", &lodash_only, &[]).await;
    assert_eq!(b["policyStatus"], "pass", "High is below critical");
    s.clock.advance(chrono::TimeDelta::seconds(1));
    let (_, _, b) = scan(&s, &root, "?threshold=high", &lodash_only, &[]).await;
    assert_eq!(b["policyStatus"], "fail");
    let first = b["id"].as_str().unwrap().to_owned();
    let (st, p) = s
        .call("POST", "/scan?threshold=none", Some(&root), Some(json!({})))
        .await;
    assert_problem(st, &p, 400);
    assert_eq!(p["errors"][0]["path"], "$.threshold");

    // Stored: listed newest first, read back whole, compared, deleted.
    let id = body["id"].as_str().unwrap();
    let (st, list) = s.call("GET", "/scans?limit=10", Some(&root), None).await;
    assert_eq!(st, 200);
    assert_eq!(list["total"], 3);
    assert_eq!(list["data"][0]["id"].as_str(), Some(first.as_str()));
    assert!(list["data"][0].get("findings").is_none());
    let (st, one) = s
        .call("GET", &format!("/scans/{id}"), Some(&root), None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(one["findings"].as_array().unwrap().len(), 3);
    assert_eq!(one["sbomType"], "cyclonedx-json");
    assert_eq!(one["subject"], "app@1.0");
    assert_eq!(one["threshold"], "critical");
    let (st, cmp) = s
        .call(
            "GET",
            &format!("/scans/{id}/compare/{first}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 200, "{cmp}");
    assert_eq!(cmp["new"].as_array().unwrap().len(), 0);
    assert_eq!(cmp["unchanged"].as_array().unwrap().len(), 1);
    assert_eq!(cmp["fixed"].as_array().unwrap().len(), 2);
    assert_eq!(
        s.status("DELETE", &format!("/scans/{id}"), Some(&root))
            .await,
        204
    );
    assert_eq!(
        s.status("GET", &format!("/scans/{id}"), Some(&root)).await,
        404
    );
    assert_eq!(
        s.status("DELETE", &format!("/scans/{id}"), Some(&root))
            .await,
        404
    );

    // The activity log keeps the upload's digest and size, not the SBOM.
    s.flush_activity().await;
    let (st, log) = s
        .call(
            "GET",
            "/connect/api/v1/user_activity_log?limit=100",
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 200, "{log}");
    let entry = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "/scan" && e["status"] == 200)
        .unwrap_or_else(|| panic!("no /scan entry: {log}"));
    let text = entry.to_string();
    assert!(!text.contains("pkg:pypi"), "the SBOM is not logged: {text}");
    assert!(text.contains("sha256:"), "{text}");
}

#[tokio::test]
async fn bad_sboms_answer_400_with_a_code_and_store_nothing() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    type Case<'a> = (&'a str, Vec<u8>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "malformed",
            b"{\"bomFormat\": \"CycloneDX\", ".to_vec(),
            vec![],
            "sbom-",
        ),
        ("not an sbom", b"{\"hello\": 1}".to_vec(), vec![], "sbom-"),
        (
            "wrong declared type",
            serde_json::to_vec(&sample_sbom()).unwrap(),
            vec![("x-stella-sbom-type", "spdx-json")],
            "sbom-format-mismatch",
        ),
        (
            "unknown declared type",
            serde_json::to_vec(&sample_sbom()).unwrap(),
            vec![("x-stella-sbom-type", "syft-json")],
            "sbom-unknown-type",
        ),
        (
            "wrong types",
            serde_json::to_vec(&cyclonedx(json!([{"name": 5}]))).unwrap(),
            vec![],
            "sbom-",
        ),
        (
            "deep",
            format!("{}{}", "[".repeat(200), "]".repeat(200)).into_bytes(),
            vec![],
            "sbom-",
        ),
        (
            "a broken tarball",
            b"\x1f\x8b\x08\x00".to_vec(),
            vec![],
            "image-not-an-archive",
        ),
    ];
    for (what, body, headers, code) in cases {
        let (st, _, p) = scan(&s, &root, "", &body, &headers).await;
        assert_problem(st, &p, 400);
        let ty = p["type"].as_str().unwrap();
        assert!(ty.contains(code), "{what}: {p}");
        assert!(!p["detail"].as_str().unwrap().is_empty(), "{what}");
    }
    let (st, _, p) = scan(&s, &root, "", b"", &[]).await;
    assert_problem(st, &p, 400);
    let (st, _, p) = scan(&s, &root, "?unknown=1", b"{}", &[]).await;
    assert_problem(st, &p, 400);
    let (_, list) = s.call("GET", "/scans", Some(&root), None).await;
    assert_eq!(list["total"], 0, "nothing stored from a failed scan");
}

#[tokio::test]
async fn oversized_uploads_are_refused_before_they_are_read() {
    let s = TestServer::start_with(|c| {
        c.max_upload_bytes = 64 * 1024;
        c.max_sbom_bytes = 16 * 1024;
    })
    .await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    let big = vec![b' '; 100 * 1024];
    let (st, _, p) = scan(&s, &root, "", &big, &[]).await;
    assert_problem(st, &p, 413);
    let mut sbom = serde_json::to_vec(&sample_sbom()).unwrap();
    sbom.extend(std::iter::repeat_n(b' ', 20 * 1024));
    let (st, _, p) = scan(&s, &root, "", &sbom, &[]).await;
    assert_problem(st, &p, 413);
    // A chunked body with no declared length is cut off at the bound too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b' '; 8 * 1024])).collect();
    let r = s
        .client
        .post(s.url("/scan"))
        .bearer_auth(&root)
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let (_, list) = s.call("GET", "/scans", Some(&root), None).await;
    assert_eq!(list["total"], 0);
    let spool = s.data_dir().join("spool");
    let left = std::fs::read_dir(&spool).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "spool files are removed");
}

#[tokio::test]
async fn offline_token_quota_counts_successful_scans_per_day() {
    let s = TestServer::start_with(|c| c.max_scans_per_day = 2).await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    let (st, t) = s
        .call("POST", "/token/offline", Some(&root), Some(json!({})))
        .await;
    assert_eq!(st, 200, "{t}");
    let offline = t["jwt"].as_str().unwrap().to_owned();
    let sbom = serde_json::to_vec(&sample_sbom()).unwrap();

    let (st, h, b) = scan(&s, &offline, "", &sbom, &[]).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(
        b["quota"],
        json!({"remaining": 1, "reset": "2026-01-02T00:00:00Z"})
    );
    assert_eq!(h["x-stella-quota-remaining"], "1");
    assert_eq!(h["x-stella-reset"], "2026-01-02T00:00:00Z");
    assert!(h.get("x-stella-token-expires").is_some());

    // A failed scan is not counted.
    let (st, h, _) = scan(&s, &offline, "", b"{\"nope\": 1}", &[]).await;
    assert_eq!(st, 400);
    assert_eq!(h["x-stella-quota-remaining"], "1");

    let (st, _, b) = scan(&s, &offline, "", &sbom, &[]).await;
    assert_eq!(st, 200);
    assert_eq!(b["quota"]["remaining"], 0);
    let (st, h, p) = scan(&s, &offline, "", &sbom, &[]).await;
    assert_problem(st, &p, 429);
    assert_eq!(h["x-stella-quota-remaining"], "0");
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(
        retry, 86_400,
        "the clock stands at midnight: a day to the reset"
    );

    // The next UTC day has a fresh quota.
    s.clock.advance(chrono::TimeDelta::days(1));
    let (st, _, b) = scan(&s, &offline, "", &sbom, &[]).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["quota"]["remaining"], 1);
}

#[tokio::test]
async fn scans_are_tenant_scoped() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    let t1 = s.create_tenant(&root, "t1").await;
    let t2 = s.create_tenant(&root, "t2").await;
    let (_, k1) = s
        .user_with_key(
            &root,
            json!({"email": "a@t1.io", "privilege_profile": "analyst", "tenant_id": t1}),
        )
        .await;
    let (_, k2) = s
        .user_with_key(
            &root,
            json!({"email": "b@t2.io", "privilege_profile": "analyst", "tenant_id": t2}),
        )
        .await;
    let (j1, j2) = (s.jwt(&k1).await, s.jwt(&k2).await);
    let sbom = serde_json::to_vec(&sample_sbom()).unwrap();
    let (st, _, b) = scan(&s, &j1, "", &sbom, &[]).await;
    assert_eq!(st, 200, "{b}");
    let id = b["id"].as_str().unwrap();
    assert_eq!(
        s.status("GET", &format!("/scans/{id}"), Some(&j1)).await,
        200
    );
    assert_eq!(
        s.status("GET", &format!("/scans/{id}"), Some(&j2)).await,
        404
    );
    assert_eq!(
        s.status("DELETE", &format!("/scans/{id}"), Some(&j2)).await,
        404
    );
    let (_, l2) = s.call("GET", "/scans", Some(&j2), None).await;
    assert_eq!(l2["total"], 0);
    let (_, lr) = s.call("GET", "/scans", Some(&root), None).await;
    assert_eq!(lr["total"], 1, "root sees every tenant's scans");
    // A tenant user cannot name another tenant; the feed is imported by root only.
    let (st, _, _) = scan(&s, &j1, &format!("?tenant_id={t2}"), &sbom, &[]).await;
    assert_eq!(st, 404);
    let r = s
        .client
        .post(s.url("/feed/imports"))
        .bearer_auth(&j1)
        .body(zip_of(&[("a.json", rec(&go_record()))]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn feed_imports_merge_by_ecosystem_and_report_bad_archives() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    // A second import of Go only keeps PyPI and Debian (merge), as a nested export.
    let inner = zip_of(&[(
        "GO-2023-9.json",
        rec(
            &json!({"id": "GO-2023-9", "affected": [{"package": {"ecosystem": "Go", "name": "example.com/m"}, "versions": ["v1.0.0"]}]}),
        ),
    )]);
    let done = import_feed(
        &s,
        &root,
        zip_of(&[("Go/all.zip", inner)]),
        "?source=go-export",
    )
    .await;
    assert_eq!(done["state"], "done", "{done}");
    let (_, status) = s.call("GET", "/feed/status", Some(&root), None).await;
    assert_eq!(
        status["records"],
        json!({"Debian": 1, "Go": 1, "PyPI": 2}),
        "{status}"
    );
    assert_eq!(status["sources"]["Go"]["source"], "go-export");
    assert_eq!(status["sources"]["PyPI"]["source"], "fixtures");
    // replace drops the rest.
    let done = import_feed(
        &s,
        &root,
        zip_of(&[("GO-2022-0001.json", rec(&go_record()))]),
        "?source=only-go&mode=replace",
    )
    .await;
    assert_eq!(done["state"], "done");
    let (_, status) = s.call("GET", "/feed/status", Some(&root), None).await;
    assert_eq!(status["records"], json!({"Go": 1}));

    // Not a zip: refused at once. A zip without a single record: the import fails, and the
    // feed stays as it was.
    let r = s
        .client
        .post(s.url("/feed/imports"))
        .bearer_auth(&root)
        .body(b"{\"id\": 1}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert!(p["type"].as_str().unwrap().ends_with("feed-not-zip"), "{p}");
    let failed = import_feed(
        &s,
        &root,
        zip_of(&[("x.json", b"not json".to_vec())]),
        "?source=bad",
    )
    .await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(failed["error"].as_str().unwrap().contains("no OSV record"));
    let (_, after) = s.call("GET", "/feed/status", Some(&root), None).await;
    assert_eq!(after["version"], status["version"]);
    let (st, p) = s
        .call("POST", "/feed/imports?mode=append", Some(&root), None)
        .await;
    assert_problem(st, &p, 400);
}

#[tokio::test]
async fn layers_missing_checks_digests() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let a = format!("sha256:{}", "a".repeat(64));
    let b = format!("sha256:{}", "b".repeat(64));
    let (st, body) = s
        .call(
            "POST",
            "/layers/missing",
            Some(&root),
            Some(json!({"layers": [a, b, a]})),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["missing"], json!([a, b]));
    let (st, p) = s
        .call(
            "POST",
            "/layers/missing",
            Some(&root),
            Some(json!({"layers": [a, "sha256:d38b"]})),
        )
        .await;
    assert_problem(st, &p, 400);
    assert_eq!(p["errors"][0]["path"], "$.layers[1]");
    assert!(p["detail"]
        .as_str()
        .unwrap()
        .contains("Layer digest malformed"));
    let (st, p) = s
        .call(
            "POST",
            "/layers/missing",
            Some(&root),
            Some(json!({"layer": []})),
        )
        .await;
    assert_problem(st, &p, 400);
}
