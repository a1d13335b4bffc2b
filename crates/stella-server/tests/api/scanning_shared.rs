//! Scans of the shared data's real SBOMs against its real OSV exports, where this machine has
//! them (`../shared/data/`); skipped with a notice otherwise.

use crate::scanning::{import_feed, scan, zip_of};
use serde_json::Value;
use std::path::PathBuf;
use stella_testkit::TestServer;

fn shared(path: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(path);
    p.exists().then_some(p)
}

#[tokio::test]
async fn real_sboms_against_the_shared_feeds() {
    let (Some(pypi), Some(go), Some(cdx16), Some(cdx14), Some(npm_cdx), Some(npm_spdx)) = (
        shared("osv/PyPI-all.zip"),
        shared("osv/Go-all.zip"),
        shared("sboms/python-env.cdx16.json"),
        shared("sboms/python-env.cdx14.json"),
        shared("sboms/npm-app.cdx15.json"),
        shared("sboms/npm-app.spdx23.json"),
    ) else {
        eprintln!("shared data not found: skipped");
        return;
    };
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let bundle = zip_of(&[
        ("PyPI/all.zip", std::fs::read(pypi).unwrap()),
        ("Go/all.zip", std::fs::read(go).unwrap()),
    ]);
    let done = import_feed(&s, &root, bundle, "?source=shared").await;
    assert_eq!(done["records"], 2661 + 4291, "{done}");

    let (st, _, a) = scan(
        &s,
        &root,
        "?threshold=high",
        &std::fs::read(cdx16).unwrap(),
        &[],
    )
    .await;
    assert_eq!(st, 200, "{a}");
    let packages = |v: &Value| {
        let mut p: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["package"].as_str().unwrap().to_lowercase())
            .collect();
        p.dedup();
        p
    };
    let found = packages(&a);
    for pkg in [
        "django", "requests", "urllib3", "jinja2", "pyyaml", "pillow",
    ] {
        assert!(found.contains(&pkg.to_owned()), "{pkg} in {found:?}");
    }
    assert_eq!(a["policyStatus"], "fail");
    assert!(
        a.get("unassessed").is_none(),
        "every PyPI component is assessed: {a}"
    );
    // The same environment as CycloneDX 1.4: the same findings.
    let (_, _, b) = scan(
        &s,
        &root,
        "?threshold=high",
        &std::fs::read(cdx14).unwrap(),
        &[],
    )
    .await;
    assert_eq!(a["findings"], b["findings"]);
    assert_eq!(a["summary"], b["summary"]);

    // npm: no advisories in the feed, every component read, from both formats alike.
    let (st, _, c) = scan(&s, &root, "", &std::fs::read(npm_cdx).unwrap(), &[]).await;
    assert_eq!(st, 200, "{c}");
    let (st, _, d) = scan(
        &s,
        &root,
        "",
        &std::fs::read(npm_spdx).unwrap(),
        &[("x-stella-sbom-type", "spdx-json")],
    )
    .await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(c["policyStatus"], "pass");
    assert_eq!(c["summary"], d["summary"]);
}
