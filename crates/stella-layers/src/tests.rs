use super::*;
use sha2::{Digest, Sha256};
use std::io::Cursor;

fn tar_of(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
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

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// A legacy `docker save` tarball of `layers`.
fn docker_save(layers: &[Vec<u8>]) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
    let config = json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}})
    .to_string();
    let config_name = format!("{}.json", &sha(config.as_bytes())[7..]);
    let layer_names: Vec<String> = diff_ids
        .iter()
        .map(|d| format!("{}/layer.tar", &d[7..]))
        .collect();
    let manifest =
        json!([{"Config": config_name, "RepoTags": ["t:1"], "Layers": layer_names}]).to_string();
    let mut files: Vec<(&str, &[u8])> = vec![
        ("manifest.json", manifest.as_bytes()),
        (config_name.as_str(), config.as_bytes()),
    ];
    for (n, l) in layer_names.iter().zip(layers) {
        files.push((n.as_str(), l.as_slice()));
    }
    tar_of(&files, &[])
}

const OS: &[u8] = b"ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";

fn status(pkgs: &[(&str, &str, Option<&str>)]) -> Vec<u8> {
    let mut s = String::new();
    for (name, version, source) in pkgs {
        s.push_str(&format!(
            "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n"
        ));
        if let Some(src) = source {
            s.push_str(&format!("Source: {src}\n"));
        }
        s.push('\n');
    }
    s.into_bytes()
}

fn catalogue_all(tarball: &[u8]) -> Vec<LayerDoc> {
    let mut a =
        stella_image::open_archive(Cursor::new(tarball), stella_image::Limits::default()).unwrap();
    let n = a.image().layers.len();
    (0..n)
        .map(|i| catalogue_layer(&mut a, i, &stella_catalog::Limits::default()).unwrap())
        .collect()
}

#[test]
fn packages_keep_the_layer_that_installed_them() {
    let l1 = tar_of(
        &[
            ("usr/lib/os-release", OS),
            (
                "var/lib/dpkg/status",
                &status(&[("libc6", "2.36-9", Some("glibc")), ("bash", "5.2-2", None)]),
            ),
        ],
        &[("etc/os-release", "../usr/lib/os-release")],
    );
    let l2 = tar_of(
        &[(
            "var/lib/dpkg/status",
            &status(&[
                ("libc6", "2.36-9", Some("glibc")),
                ("bash", "5.2-2", None),
                ("libssl3", "3.0.11-1~deb12u1", Some("openssl")),
            ]),
        )],
        &[],
    );
    let docs = catalogue_all(&docker_save(&[l1.clone(), l2.clone()]));
    assert_eq!(docs[0].diff_id, sha(&l1));
    let s = squash(&docs);
    let os = s.os.as_ref().expect("os-release through the symlink");
    assert_eq!(os.id, "debian");
    let layer_of = |name: &str| {
        s.packages
            .iter()
            .find(|p| p.package.name == name)
            .map(|p| p.layer.clone())
    };
    assert_eq!(layer_of("libc6"), Some(sha(&l1)));
    assert_eq!(layer_of("libssl3"), Some(sha(&l2)));
    let comps = s.components();
    let ssl = comps.iter().find(|c| c.name == "libssl3").unwrap();
    assert_eq!(ssl.ecosystem.as_deref(), Some("Debian:12"));
    assert_eq!(ssl.source_name.as_deref(), Some("openssl"));
    assert!(ssl
        .purl
        .as_ref()
        .unwrap()
        .to_string()
        .starts_with("pkg:deb/debian/libssl3@"));
}

#[test]
fn whiteouts_and_opaque_directories_remove_packages() {
    let meta = |n: &str| format!("Metadata-Version: 2.1\nName: {n}\nVersion: 1.0\n");
    let l1 = tar_of(
        &[
            ("app/lib/a-1.0.dist-info/METADATA", meta("a").as_bytes()),
            ("app/lib/b-1.0.dist-info/METADATA", meta("b").as_bytes()),
            ("opt/x/c-1.0.dist-info/METADATA", meta("c").as_bytes()),
        ],
        &[],
    );
    let l2 = tar_of(
        &[
            ("app/lib/.wh.a-1.0.dist-info", b""),
            ("opt/x/.wh..wh..opq", b""),
            ("opt/x/d-1.0.dist-info/METADATA", meta("d").as_bytes()),
        ],
        &[],
    );
    let s = squash(&catalogue_all(&docker_save(&[l1, l2])));
    let mut names: Vec<_> = s.packages.iter().map(|p| p.package.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["b", "d"]);
}

#[test]
fn layer_documents_round_trip_through_cyclonedx() {
    let l1 = tar_of(
        &[
            ("usr/lib/os-release", OS),
            (
                "var/lib/dpkg/status",
                &status(&[("libc6", "2.36-9", Some("glibc"))]),
            ),
            ("x/.wh.gone", b""),
        ],
        &[("etc/os-release", "../usr/lib/os-release")],
    );
    let docs = catalogue_all(&docker_save(&[l1]));
    let cdx = docs[0].to_cyclonedx();
    // A valid SBOM for any CycloneDX reader.
    let sbom =
        stella_sbom::parse(cdx.to_string().as_bytes(), &stella_sbom::Limits::default()).unwrap();
    assert_eq!(sbom.components.len(), 1);
    assert_eq!(LayerDoc::from_cyclonedx(&cdx).unwrap(), docs[0]);
    assert_eq!(
        squash(&docs),
        squash(&[LayerDoc::from_cyclonedx(&cdx).unwrap()])
    );
    let mut bad = cdx.clone();
    bad["metadata"]["properties"][0]["value"] = json!("sha256:short");
    assert_eq!(
        LayerDoc::from_cyclonedx(&bad).unwrap_err().code(),
        "layer-sbom-invalid"
    );
    let mut bad = cdx;
    bad["components"][0]["properties"] = json!([]);
    assert!(LayerDoc::from_cyclonedx(&bad).is_err());
}

#[test]
fn symlink_loops_give_no_os() {
    let mut links = BTreeMap::new();
    links.insert("etc/os-release".to_owned(), "a".to_owned());
    links.insert("etc/a".to_owned(), "os-release".to_owned());
    assert_eq!(resolve("etc/os-release", &links), None);
    links.clear();
    links.insert("etc".to_owned(), "/private/etc".to_owned());
    assert_eq!(
        resolve("etc/os-release", &links).as_deref(),
        Some("private/etc/os-release")
    );
}
