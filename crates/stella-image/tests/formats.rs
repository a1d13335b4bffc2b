#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Each packaging, each compression; what the visitor is handed; digests and manifests.

mod common;

use std::io::Cursor;

use common::*;
use stella_image::{
    open_archive, open_archive_with, open_layout_dir, Compression, Format, Limits, OpenOptions,
    Platform, Want,
};

const ELF: &[u8] = b"\x7fELF\x02\x01\x01rest-of-binary";

fn base() -> Vec<u8> {
    layer(&[
        E::Dir("./etc/"),
        E::File("./etc/os-release", b"ID=alpine\nVERSION_ID=3.19.0\n"),
        E::Mode("./usr/bin/tool", ELF, 0o755),
        E::File("./usr/share/doc.txt", b"not elf"),
    ])
}

fn top() -> Vec<u8> {
    layer(&[E::File("/app/package.json", br#"{"name":"x"}"#)])
}

#[test]
fn docker_save_legacy_reads_each_layer() {
    let img = docker_save(&[plain(base()), gz(top())]);
    let mut a = open_archive(Cursor::new(img), Limits::default()).unwrap();
    let image = a.image().clone();
    assert_eq!(image.format, Format::DockerSave);
    assert_eq!(image.repo_tags, vec!["example/app:1.0"]);
    assert_eq!(image.layers.len(), 2);
    assert_eq!(image.os.as_deref(), Some("linux"));
    assert_eq!(image.architecture.as_deref(), Some("amd64"));
    assert_eq!(image.layers[0].diff_id, sha(&base()));
    assert!(image.layers[0].blob_digest.is_none());
    assert!(image.config_digest.starts_with("sha256:"));

    let mut v = Collect::default();
    let s = a.read_layer(0, &mut v).unwrap();
    assert_eq!(s.compression, Some(Compression::None));
    assert_eq!(s.diff_id, sha(&base()));
    assert_eq!(v.files["etc/os-release"], b"ID=alpine\nVERSION_ID=3.19.0\n");
    assert_eq!(s.regular_files, 3);
    assert_eq!(s.files_read, 3);
    assert!(v
        .asked
        .contains(&("usr/bin/tool".to_string(), ELF.len() as u64, 0o755)));

    let mut v = Collect::default();
    let s = a.read_layer(1, &mut v).unwrap();
    assert_eq!(s.compression, Some(Compression::Gzip));
    assert_eq!(v.files.keys().collect::<Vec<_>>(), vec!["app/package.json"]);
    assert_eq!(
        a.read_layer(2, &mut v).unwrap_err().code(),
        "image-no-such-layer"
    );
}

#[test]
fn read_if_magic_picks_elf_binaries_only() {
    let img = docker_save(&[plain(base())]);
    let mut a = open_archive(Cursor::new(img), Limits::default()).unwrap();
    let mut v = Collect {
        want: Some(Want::ReadIfMagic(&[b"\x7fELF"])),
        ..Default::default()
    };
    let s = a.read_layer(0, &mut v).unwrap();
    assert_eq!(v.files.keys().collect::<Vec<_>>(), vec!["usr/bin/tool"]);
    assert_eq!(v.files["usr/bin/tool"], ELF);
    assert_eq!(s.files_read, 1);
}

#[test]
fn oci_archive_with_plain_gzip_and_zstd_layers() {
    let layers = [
        plain(base()),
        gz(top()),
        zst(layer(&[E::File("z/zz", b"zstd!")])),
    ];
    let mut a = open_archive(Cursor::new(oci_archive(&layers)), Limits::default()).unwrap();
    let image = a.image().clone();
    assert_eq!(image.format, Format::OciArchive);
    assert_eq!(image.repo_tags, vec!["docker.io/example/app:2.0"]);
    assert!(image.manifest_digest.is_some());
    let expected = [Compression::None, Compression::Gzip, Compression::Zstd];
    for (i, c) in expected.iter().enumerate() {
        let mut v = Collect::default();
        let s = a.read_layer(i, &mut v).unwrap();
        assert_eq!(s.compression, Some(*c));
        assert_eq!(Some(s.blob_digest.clone()), image.layers[i].blob_digest);
        assert_eq!(s.diff_id, layers[i].diff_id);
    }
    let mut v = Collect::default();
    a.read_layer(2, &mut v).unwrap();
    assert_eq!(v.files["z/zz"], b"zstd!");
}

#[test]
fn docker_25_save_is_read_through_manifest_json() {
    let layers = [gz(base()), zst(top())];
    let img = outer(&oci_files(&layers, true));
    let mut a = open_archive(Cursor::new(img), Limits::default()).unwrap();
    assert_eq!(a.image().format, Format::DockerSave);
    assert_eq!(a.image().repo_tags, vec!["example/app:25"]);
    // The blob digest comes from the `blobs/sha256/<hex>` path, and is checked.
    assert_eq!(a.image().layers[1].blob_digest, Some(sha(&layers[1].bytes)));
    let mut v = Collect::default();
    a.read_layer(1, &mut v).unwrap();
    assert!(v.files.contains_key("app/package.json"));
}

#[test]
fn oci_layout_directory() {
    let layers = [gz(base()), plain(top())];
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in oci_files(&layers, false) {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let mut a = open_layout_dir(dir.path(), Limits::default()).unwrap();
    assert_eq!(a.image().format, Format::OciDir);
    let mut v = Collect::default();
    a.read_layer(0, &mut v).unwrap();
    assert!(v.files.contains_key("etc/os-release"));

    // A blob replaced by a symlink (to anything) is not opened.
    let digest = a.image().layers[1].blob_digest.clone().unwrap();
    let blob = dir.path().join("blobs").join(digest.replace(':', "/"));
    assert!(blob.is_file());
    std::fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &blob).unwrap();
    let err = open_layout_dir(dir.path(), Limits::default()).unwrap_err();
    assert_eq!(err.code(), "image-blob-missing", "{err}");

    let err = open_layout_dir(&dir.path().join("nope"), Limits::default()).unwrap_err();
    assert_eq!(err.code(), "image-not-an-archive");
}

/// An index with two platforms: linux/amd64 is picked by default, arm64 on request.
#[test]
fn multi_platform_index() {
    let amd = oci_files(&[plain(layer(&[E::File("arch", b"amd64")]))], false);
    let arm = oci_files(&[plain(layer(&[E::File("arch", b"arm64")]))], false);
    let manifest_of = |files: &[(String, Vec<u8>)]| -> serde_json::Value {
        let idx: serde_json::Value =
            serde_json::from_slice(&files.iter().find(|f| f.0 == "index.json").unwrap().1).unwrap();
        idx["manifests"][0].clone()
    };
    let mut d_amd = manifest_of(&amd);
    d_amd["platform"] = serde_json::json!({"os": "linux", "architecture": "amd64"});
    let mut d_arm = manifest_of(&arm);
    d_arm["platform"] =
        serde_json::json!({"os": "linux", "architecture": "arm64", "variant": "v8"});
    let mut d_att = d_arm.clone();
    d_att["platform"] = serde_json::json!({"os": "unknown", "architecture": "unknown"});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [d_arm, d_att, d_amd]});
    let mut files: Vec<(String, Vec<u8>)> = amd
        .into_iter()
        .chain(arm)
        .filter(|f| f.0 != "index.json" && f.0 != "oci-layout")
        .collect();
    files.push(("index.json".into(), serde_json::to_vec(&index).unwrap()));
    let img = outer(&files);

    let read_arch = |opts: OpenOptions| -> Result<Vec<u8>, String> {
        let mut a =
            open_archive_with(Cursor::new(img.clone()), opts).map_err(|e| e.code().to_string())?;
        let mut v = Collect::default();
        a.read_layer(0, &mut v).unwrap();
        Ok(v.files["arch"].clone())
    };
    assert_eq!(read_arch(OpenOptions::default()).unwrap(), b"amd64");
    let arm = Platform {
        os: "linux".into(),
        architecture: "arm64".into(),
        variant: None,
    };
    assert_eq!(
        read_arch(OpenOptions {
            platform: arm,
            ..Default::default()
        })
        .unwrap(),
        b"arm64"
    );
    let s390 = Platform {
        os: "linux".into(),
        architecture: "s390x".into(),
        variant: None,
    };
    let err = open_archive_with(
        Cursor::new(img.clone()),
        OpenOptions {
            platform: s390,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "image-platform-not-found");
    assert!(err.to_string().contains("linux/arm64/v8"), "{err}");
}

/// Writes the fuzz target's seeds: `cargo test -p stella-image --test formats -- --ignored`.
#[test]
#[ignore]
fn write_fuzz_seeds() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/image_archive");
    std::fs::create_dir_all(&dir).unwrap();
    let small = || {
        layer(&[
            E::Dir("etc/"),
            E::File("etc/os-release", b"ID=alpine\n"),
            E::Symlink("lib", "usr/lib"),
            E::File("bin/elf", b"\x7fELF\x02"),
        ])
    };
    let wh = || {
        layer(&[
            E::File("etc/.wh.os-release", b""),
            E::File("opt/.wh..wh..opq", b""),
        ])
    };
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("docker-save-plain.tar", docker_save(&[plain(small())])),
        (
            "docker-save-gzip-whiteouts.tar",
            docker_save(&[gz(small()), plain(wh())]),
        ),
        ("oci-zstd.tar", oci_archive(&[zst(small())])),
        ("docker25.tar", outer(&oci_files(&[gz(small())], true))),
    ];
    for (name, bytes) in seeds {
        assert!(bytes.len() <= 16384, "{name} fits the fuzzer's max_len");
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
