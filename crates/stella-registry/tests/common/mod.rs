//! Test images built by hand: tar layers, configs, manifests, OCI layouts.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A ustar archive of regular files.
pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[148..156].copy_from_slice(b"        ");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// One single-platform image: its blobs and manifest.
pub struct Image {
    pub config: Vec<u8>,
    pub layers: Vec<Vec<u8>>,
    pub manifest: Vec<u8>,
    pub os: String,
    pub arch: String,
}

impl Image {
    pub fn new(os: &str, arch: &str, files: &[(&str, &[u8])]) -> Image {
        let layers = vec![tar(files), tar(&[("etc/marker", arch.as_bytes())])];
        let diff_ids: Vec<String> = layers.iter().map(|l| digest(l)).collect();
        let config = serde_json::to_vec(&json!({
            "architecture": arch, "os": os,
            "config": {"Env": ["PATH=/usr/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .unwrap();
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(&config), "size": config.len()},
            "layers": layers.iter().map(|l| json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(l), "size": l.len()
            })).collect::<Vec<_>>(),
        }))
        .unwrap();
        Image {
            config,
            layers,
            manifest,
            os: os.into(),
            arch: arch.into(),
        }
    }

    pub fn descriptor(&self) -> Value {
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest(&self.manifest), "size": self.manifest.len(),
            "platform": {"os": self.os, "architecture": self.arch},
        })
    }

    pub fn blobs(&self) -> Vec<&[u8]> {
        let mut v: Vec<&[u8]> = vec![&self.config, &self.manifest];
        v.extend(self.layers.iter().map(Vec::as_slice));
        v
    }
}

pub fn index_of(images: &[&Image]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": images.iter().map(|i| i.descriptor()).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// Writes an OCI layout with `tag` naming either the single image or an index of them.
pub fn write_layout(dir: &Path, images: &[&Image], tag: &str) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| std::fs::write(blobs.join(&digest(b)[7..]), b).unwrap();
    for i in images {
        for b in i.blobs() {
            put(b);
        }
    }
    let top = if images.len() == 1 {
        let mut d = images[0].descriptor();
        d.as_object_mut().unwrap().remove("platform");
        d
    } else {
        let index = index_of(images);
        put(&index);
        json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest(&index), "size": index.len()})
    };
    let mut top = top;
    top["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [top]})).unwrap(),
    )
    .unwrap();
}

/// Checks a pulled layout: every blob hashes to its name, index.json points at the manifest.
pub fn check_layout(dir: &Path, manifest_digest: &str) {
    assert!(dir.join("oci-layout").is_file());
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], manifest_digest);
    for entry in std::fs::read_dir(dir.join("blobs/sha256")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        assert!(!name.ends_with(".partial"), "{name}");
        assert_eq!(
            digest(&std::fs::read(entry.path()).unwrap()),
            format!("sha256:{name}")
        );
    }
}

pub fn no_partials(dir: &Path) -> bool {
    let blobs = dir.join("blobs/sha256");
    !blobs.exists()
        || std::fs::read_dir(blobs).unwrap().all(|e| {
            !e.unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".partial")
        })
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
