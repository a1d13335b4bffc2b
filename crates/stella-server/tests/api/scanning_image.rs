//! Image scans over HTTP: `docker save` and OCI layout tarballs, hostile tarballs, the layer
//! cache (`/layers/missing`) and delta scans completed from stored layers.

use crate::assert_problem;
use crate::scanning::small_feed;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Write;
use stella_testkit::TestServer;

pub fn tar_of(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append_data(&mut h, path, *bytes).unwrap();
    }
    for (path, target) in links {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_entry_type(tar::EntryType::Symlink);
        b.append_link(&mut h, path, target).unwrap();
    }
    b.into_inner().unwrap()
}

/// An entry whose name is written raw (the tar crate refuses `..` in names it writes).
fn raw_entry(name: &str, body: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(body);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

pub fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// A legacy `docker save` tarball of (uncompressed) layers; `stored` are the blobs as written
/// (compressed or not), `diff_ids` the uncompressed digests.
pub fn docker_save(layers: &[Vec<u8>], stored: Option<&[Vec<u8>]>) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
    let config = json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}})
    .to_string();
    let config_name = format!("{}.json", &sha(config.as_bytes())[7..]);
    let names: Vec<String> = diff_ids
        .iter()
        .map(|d| format!("{}/layer.tar", &d[7..]))
        .collect();
    let manifest =
        json!([{"Config": config_name, "RepoTags": ["app:1.0"], "Layers": names}]).to_string();
    let blobs = stored.unwrap_or(layers);
    let mut files: Vec<(&str, &[u8])> = vec![
        ("manifest.json", manifest.as_bytes()),
        (config_name.as_str(), config.as_bytes()),
    ];
    for (n, l) in names.iter().zip(blobs) {
        files.push((n.as_str(), l.as_slice()));
    }
    tar_of(&files, &[])
}

/// An OCI image layout tarball with gzip layers.
fn oci_layout(layers: &[Vec<u8>]) -> Vec<u8> {
    let gz: Vec<Vec<u8>> = layers
        .iter()
        .map(|l| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(l).unwrap();
            e.finish().unwrap()
        })
        .collect();
    let config = json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| sha(l)).collect::<Vec<_>>()}})
    .to_string();
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config.as_bytes()), "size": config.len()},
        "layers": gz.iter().map(|g| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(g), "size": g.len()})).collect::<Vec<_>>()})
    .to_string();
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": sha(manifest.as_bytes()), "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": "1.0"}}]})
    .to_string();
    let blob = |d: &str| format!("blobs/sha256/{}", &d[7..]);
    let mut owned: Vec<(String, Vec<u8>)> = vec![
        (
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        ("index.json".into(), index.into_bytes()),
        (
            blob(&sha(manifest.as_bytes())),
            manifest.clone().into_bytes(),
        ),
        (blob(&sha(config.as_bytes())), config.into_bytes()),
    ];
    for g in &gz {
        owned.push((blob(&sha(g)), g.clone()));
    }
    let files: Vec<(&str, &[u8])> = owned
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    tar_of(&files, &[])
}

const OS: &[u8] = b"ID=debian\nVERSION_ID=\"12\"\n";

fn status(pkgs: &[(&str, &str, Option<&str>)]) -> Vec<u8> {
    let mut s = String::new();
    for (name, version, source) in pkgs {
        s.push_str(&format!("Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n"));
        if let Some(src) = source {
            s.push_str(&format!("Source: {src}\n"));
        }
        s.push('\n');
    }
    s.into_bytes()
}

/// Layer 1: Debian 12 with libssl3 (source openssl, vulnerable) and bash; layer 2: a Python
/// package (Django 2.2.1, vulnerable).
pub fn two_layers() -> (Vec<u8>, Vec<u8>) {
    let l1 = tar_of(
        &[
            ("usr/lib/os-release", OS),
            (
                "var/lib/dpkg/status",
                &status(&[
                    ("libssl3", "3.0.11-1~deb12u1", Some("openssl")),
                    ("bash", "5.2.15-2+b2", None),
                ]),
            ),
        ],
        &[("etc/os-release", "../usr/lib/os-release")],
    );
    let l2 = tar_of(
        &[(
            "usr/lib/python3/dist-packages/Django-2.2.1.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: Django\nVersion: 2.2.1\n",
        )],
        &[],
    );
    (l1, l2)
}

async fn post_scan(s: &TestServer, jwt: &str, query: &str, body: Vec<u8>) -> (u16, Value) {
    let r = s
        .client
        .post(s.url(&format!("/scan{query}")))
        .bearer_auth(jwt)
        .header("content-type", "application/x-tar")
        .body(body)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn docker_save_and_oci_tarballs_are_scanned_per_layer() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    let (l1, l2) = two_layers();
    for (what, tarball) in [
        ("docker save", docker_save(&[l1.clone(), l2.clone()], None)),
        ("oci", oci_layout(&[l1.clone(), l2.clone()])),
    ] {
        let (st, b) = post_scan(&s, &root, "", tarball).await;
        assert_eq!(st, 200, "{what}: {b}");
        assert!(b["digest"].as_str().unwrap().starts_with("sha256:"));
        let findings = b["findings"].as_array().unwrap();
        let ssl = findings
            .iter()
            .find(|f| f["package"] == "libssl3")
            .unwrap_or_else(|| panic!("{what}: {b}"));
        assert_eq!(
            ssl["id"], "DSA-5000-1",
            "binary package mapped to its source"
        );
        assert_eq!(ssl["layer"], sha(&l1));
        assert!(ssl["purl"]
            .as_str()
            .unwrap()
            .starts_with("pkg:deb/debian/libssl3@"));
        let dj = findings.iter().find(|f| f["package"] == "Django").unwrap();
        assert_eq!(dj["layer"], sha(&l2));
        assert_eq!(b["policyStatus"], "fail");
        assert_eq!(b["summary"]["Critical"], 1);
        let (_, one) = s
            .call(
                "GET",
                &format!("/scans/{}", b["id"].as_str().unwrap()),
                Some(&root),
                None,
            )
            .await;
        assert_eq!(one["kind"], "image");
    }
    // The layers are now known to this tenant.
    let (st, m) = s
        .call(
            "POST",
            "/layers/missing",
            Some(&root),
            Some(json!({"layers": [sha(&l1), sha(&l2), sha(b"other")]})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(m["missing"], json!([sha(b"other")]));
    // sbom-only refuses an image body.
    let (st, p) = post_scan(&s, &root, "?sbom-only=true", docker_save(&[l1], None)).await;
    assert_problem(st, &p, 400);
}

#[tokio::test]
async fn hostile_tarballs_are_refused_and_nothing_is_stored() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    let (l1, _) = two_layers();
    // A path escape inside a layer.
    let mut escape = raw_entry("../../etc/passwd", b"root:x:0:0");
    escape.extend(vec![0u8; 1024]);
    // A gzip bomb: 64 MiB of zeros behind a tiny blob, over a 16 MiB layer bound.
    let zeros = vec![0u8; 64 << 20];
    let bomb_tar = tar_of(&[("zeros", &zeros)], &[]);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&bomb_tar).unwrap();
    let bomb_gz = e.finish().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("escape", docker_save(&[escape], None), "image-path-escape"),
        (
            "bomb",
            docker_save(std::slice::from_ref(&bomb_tar), Some(&[bomb_gz])),
            "image-",
        ),
        (
            "digest mismatch",
            docker_save(
                std::slice::from_ref(&l1),
                Some(&[tar_of(&[("x", b"y")], &[])]),
            ),
            "image-digest-mismatch",
        ),
        (
            "truncated",
            docker_save(std::slice::from_ref(&l1), None)[..3000].to_vec(),
            "image-",
        ),
        (
            "not an image",
            tar_of(&[("hello.txt", b"hi")], &[]),
            "image-",
        ),
    ];
    let s2 = TestServer::start_with(|c| {
        c.max_image_layer_bytes = 16 << 20;
    })
    .await;
    let root2 = s2.root_jwt().await;
    small_feed(&s2, &root2).await;
    for (what, body, code) in cases {
        let (st, p) = post_scan(&s2, &root2, "", body).await;
        assert_problem(st, &p, 400);
        assert!(p["type"].as_str().unwrap().contains(code), "{what}: {p}");
    }
    let (_, list) = s2.call("GET", "/scans", Some(&root2), None).await;
    assert_eq!(list["total"], 0);
    // A symlink loop for os-release is no error: the image has no known OS, and says so by
    // its packages' ecosystems.
    let looped = tar_of(
        &[(
            "var/lib/dpkg/status",
            &status(&[("bash", "5.2.15-2+b2", None)]),
        )],
        &[
            ("etc/os-release", "os-release2"),
            ("etc/os-release2", "os-release"),
        ],
    );
    let (st, b) = post_scan(&s, &root, "", docker_save(&[looped], None)).await;
    assert_eq!(st, 200, "{b}");
}

#[tokio::test]
async fn delta_scans_are_completed_from_stored_layers() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    let (l1, l2) = two_layers();
    let (st, full) = post_scan(&s, &root, "", docker_save(&[l1.clone(), l2.clone()], None)).await;
    assert_eq!(st, 200);
    // The image changes its top layer: santech catalogues it locally and sends only that.
    let l2b = tar_of(
        &[(
            "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n",
        )],
        &[],
    );
    let tarball = docker_save(&[l1.clone(), l2b.clone()], None);
    let mut archive = stella_image::open_archive(
        std::io::Cursor::new(&tarball),
        stella_image::Limits::default(),
    )
    .unwrap();
    let doc = stella_layers::catalogue_layer(&mut archive, 1, &stella_catalog::Limits::default())
        .unwrap();
    let layers = [sha(&l1), sha(&l2b)];
    let (_, m) = s
        .call(
            "POST",
            "/layers/missing",
            Some(&root),
            Some(json!({"layers": layers})),
        )
        .await;
    assert_eq!(m["missing"], json!([sha(&l2b)]));
    let delta = json!({"image": "app:1.1", "layers": layers, "layerSboms": [doc.to_cyclonedx()]});
    let (st, b) = s.call("POST", "/scan", Some(&root), Some(delta)).await;
    assert_eq!(st, 200, "{b}");
    let packages: Vec<_> = b["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["package"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        packages,
        ["libssl3"],
        "openssl from the stored layer, Django gone: {b}"
    );
    assert_eq!(b["findings"][0]["layer"], sha(&l1));
    // The same image scanned whole gives the same findings.
    let (_, whole) = post_scan(&s, &root, "", tarball).await;
    assert_eq!(whole["findings"], b["findings"]);
    assert_ne!(full["findings"], b["findings"]);
    // A layer neither sent nor stored is named.
    let unknown = json!({"layers": [sha(&l1), sha(b"never seen")], "layerSboms": []});
    let (st, p) = s.call("POST", "/scan", Some(&root), Some(unknown)).await;
    assert_problem(st, &p, 400);
    assert_eq!(p["errors"][0]["path"], "$.layers[1]");
    // Another tenant does not see this tenant's layers.
    let t = s.create_tenant(&root, "other").await;
    let (_, key) = s
        .user_with_key(
            &root,
            json!({"email": "o@t.io", "privilege_profile": "analyst", "tenant_id": t}),
        )
        .await;
    let jt = s.jwt(&key).await;
    let (_, m) = s
        .call(
            "POST",
            "/layers/missing",
            Some(&jt),
            Some(json!({"layers": [sha(&l1)]})),
        )
        .await;
    assert_eq!(m["missing"], json!([sha(&l1)]));
}

/// Image tarballs over `scan_async_bytes`, or posted with `Prefer: respond-async`, answer 202
/// with `Location`; the scan runs on the server holding the upload and is polled there (or on
/// any server). A hostile tarball queued that way ends as a failed scan saying why.
#[tokio::test]
async fn large_or_async_image_scans_answer_202_and_are_polled() {
    let s = TestServer::start_with(|c| c.scan_async_bytes = 64 << 10).await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    let (l1, l2) = two_layers();
    let small = docker_save(std::slice::from_ref(&l1), None);
    assert!(small.len() < 64 << 10);
    let big = docker_save(&[l1.clone(), l2.clone(), vec![0u8; 80 << 10]], None);
    let post = |body: Vec<u8>, prefer: bool| {
        let mut r = s
            .client
            .post(s.url("/scan"))
            .bearer_auth(&root)
            .header("content-type", "application/x-tar");
        if prefer {
            r = r.header("prefer", "wait=5, respond-async");
        }
        r.body(body).send()
    };
    // Under the bound and not asked: answered at once.
    let r = post(small.clone(), false).await.unwrap();
    assert_eq!(r.status(), 200);
    for (body, prefer) in [(small.clone(), true), (big, false)] {
        let r = post(body, prefer).await.unwrap();
        assert_eq!(r.status(), 202);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let queued: Value = r.json().await.unwrap();
        assert_eq!(
            location,
            format!("/scans/{}", queued["id"].as_str().unwrap())
        );
        assert_eq!(queued["state"], "queued");
        s.settle().await;
        let (st, done) = s.call("GET", &location, Some(&root), None).await;
        assert_eq!(st, 200);
        assert_eq!(done["state"], "done", "{done}");
        assert_eq!(done["kind"], "image");
        assert_eq!(done["policyStatus"], "fail");
        let ssl = done["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["package"] == "libssl3")
            .unwrap_or_else(|| panic!("{done}"));
        assert_eq!(ssl["layer"], sha(&l1));
    }
    // A queued path escape: accepted for scanning, then failed with the reason.
    let mut escape = raw_entry("../../etc/passwd", b"root:x:0:0");
    escape.extend(vec![0u8; 1024]);
    let r = post(docker_save(&[escape], None), true).await.unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    s.settle().await;
    let (_, failed) = s.call("GET", &location, Some(&root), None).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("climbs above the layer root"),
        "{failed}"
    );
    // Each job deleted the upload it held.
    let held: Vec<_> = std::fs::read_dir(s.data_dir().join("spool"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(held.is_empty(), "{held:?}");
}

/// A scan that fails after its image was catalogued (here its Rego policy errors on a real
/// finding) stores nothing: no scan, and no layer catalogue a later delta could lean on.
#[tokio::test]
async fn a_scan_failed_by_its_policy_stores_no_layers() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;
    // Valid on a scan without findings; on a finding, a strict builtin error.
    let rego = "package stella.policy\n\nimport rego.v1\n\nblock contains x if {\n    some f in input.findings\n    x := time.parse_rfc3339_ns(f.package)\n}\n";
    let r = s
        .client
        .post(s.url("/policy/import"))
        .bearer_auth(&root)
        .header("content-type", "text/plain")
        .body(rego)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let (l1, l2) = two_layers();
    let (st, p) = post_scan(&s, &root, "", docker_save(&[l1.clone(), l2.clone()], None)).await;
    assert_problem(st, &p, 400);
    assert!(
        p["type"]
            .as_str()
            .unwrap()
            .ends_with("policy-evaluation-failed"),
        "{p}"
    );
    let (_, list) = s.call("GET", "/scans", Some(&root), None).await;
    assert_eq!(list["total"], 0);
    let (st, m) = s
        .call(
            "POST",
            "/layers/missing",
            Some(&root),
            Some(json!({"layers": [sha(&l1), sha(&l2)]})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(m["missing"], json!([sha(&l1), sha(&l2)]));
}
