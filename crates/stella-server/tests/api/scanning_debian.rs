//! A real image: a Debian root filesystem made by `bench/debian-image.sh` (debootstrap,
//! packed as `docker save` tarballs), scanned as an upload, from the loopback registry and as
//! a delta; its packages must equal `dpkg-query -W` on that root. Runs when
//! `STELLA_DEBIAN_IMAGE` names the script's output directory (CI builds it); skipped with a
//! notice otherwise.

use crate::scanning::small_feed;
use crate::scanning_registry::{push, start_registry, tools_present};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use stella_testkit::TestServer;

fn deb_packages(scan: &Value) -> BTreeSet<(String, String)> {
    scan["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["purl"]
                .as_str()
                .is_some_and(|p| p.starts_with("pkg:deb/"))
        })
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn upload(s: &TestServer, jwt: &str, path: &std::path::Path) -> Value {
    let file = tokio::fs::File::open(path).await.unwrap();
    let r = s
        .client
        .post(s.url("/scan"))
        .bearer_auth(jwt)
        .body(reqwest::Body::from(file))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    let (_, full) = s
        .call(
            "GET",
            &format!("/scans/{}", b["id"].as_str().unwrap()),
            Some(jwt),
            None,
        )
        .await;
    full
}

#[tokio::test]
async fn a_debootstrap_image_matches_dpkg_query_every_way_it_is_scanned() {
    let Some(dir) = std::env::var_os("STELLA_DEBIAN_IMAGE").map(PathBuf::from) else {
        eprintln!("NOTICE: STELLA_DEBIAN_IMAGE not set (bench/debian-image.sh OUT_DIR builds one): skipped");
        return;
    };
    let truth: BTreeSet<(String, String)> = std::fs::read_to_string(dir.join("dpkg-query.txt"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_owned(), f.next()?.to_owned()))
        })
        .collect();
    assert!(
        truth.len() > 50,
        "{} packages in dpkg-query.txt",
        truth.len()
    );

    let registry = if tools_present() {
        Some(start_registry().await)
    } else {
        None
    };
    let hosts: Vec<String> = registry.iter().map(|r| r.host.clone()).collect();
    let s = TestServer::start_with(move |c| {
        c.scan_registry_allow = hosts.clone();
        c.scan_registry_insecure = hosts;
    })
    .await;
    let root = s.root_jwt().await;
    small_feed(&s, &root).await;

    // 1. The docker save tarball, uploaded.
    let full = upload(&s, &root, &dir.join("debian.tar")).await;
    assert_eq!(full["state"], "done");
    assert_eq!(
        deb_packages(&full),
        truth,
        "the tarball's packages are dpkg-query's"
    );

    // 2. From the registry.
    if let Some(reg) = &registry {
        let reference = format!("{}/stella/debian:bench", reg.host);
        push(&dir.join("debian.tar"), &reference);
        let (st, q) = s
            .call(
                "POST",
                "/scan",
                Some(&root),
                Some(json!({"image": reference})),
            )
            .await;
        assert_eq!(st, 202, "{q}");
        s.settle().await;
        let (_, pulled) = s
            .call("GET", q["location"].as_str().unwrap(), Some(&root), None)
            .await;
        assert_eq!(pulled["state"], "done", "{pulled}");
        assert_eq!(
            deb_packages(&pulled),
            truth,
            "the pulled image's packages are dpkg-query's"
        );
    } else {
        eprintln!("NOTICE: docker-registry or skopeo missing: the registry half skipped");
    }

    // 3. A delta: the changed image shares layer 1, which the server has already catalogued.
    let changed = dir.join("debian-changed.tar");
    let f = std::fs::File::open(&changed).unwrap();
    let mut archive =
        stella_image::open_archive(std::io::BufReader::new(f), stella_image::Limits::default())
            .unwrap();
    let layers: Vec<String> = archive
        .image()
        .layers
        .iter()
        .map(|l| l.diff_id.clone())
        .collect();
    let (_, m) = s
        .call(
            "POST",
            "/layers/missing",
            Some(&root),
            Some(json!({"layers": layers})),
        )
        .await;
    assert_eq!(
        m["missing"],
        json!([layers[1]]),
        "only the changed layer is new"
    );
    let doc = stella_layers::catalogue_layer(&mut archive, 1, &stella_catalog::Limits::default())
        .unwrap();
    let (st, b) = s
        .call(
            "POST",
            "/scan",
            Some(&root),
            Some(json!({"layers": layers, "layerSboms": [doc.to_cyclonedx()]})),
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let (_, delta) = s
        .call(
            "GET",
            &format!("/scans/{}", b["id"].as_str().unwrap()),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(
        deb_packages(&delta),
        truth,
        "the delta scan's packages are dpkg-query's"
    );
}
