//! Fixture images built in memory with the `tar` crate's Builder.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;

use sha2::{Digest, Sha256};
use stella_image::{LayerVisitor, Want};

pub fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// One layer entry.
pub enum E<'a> {
    File(&'a str, &'a [u8]),
    Mode(&'a str, &'a [u8], u32),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    Char(&'a str),
    Fifo(&'a str),
}

/// A header whose name bytes are written raw (the Builder refuses `..`, as it should).
fn raw_header(name: &str, kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(0);
    let gnu = h.as_gnu_mut().unwrap();
    assert!(name.len() < 100, "fixture names are short");
    gnu.name = [0; 100];
    gnu.name[..name.len()].copy_from_slice(name.as_bytes());
    h
}

pub fn layer(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            E::File(p, data) | E::Mode(p, data, _) => {
                let mode = if let E::Mode(_, _, m) = e { *m } else { 0o644 };
                let mut h = raw_header(p, tar::EntryType::Regular, data.len() as u64, mode);
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
            E::Dir(p) => {
                let mut h = raw_header(p, tar::EntryType::Directory, 0, 0o755);
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
            E::Symlink(p, t) | E::Hardlink(p, t) => {
                let kind = if let E::Symlink(..) = e {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                };
                let mut h = raw_header(p, kind, 0, 0o777);
                let gnu = h.as_gnu_mut().unwrap();
                gnu.linkname = [0; 100];
                gnu.linkname[..t.len()].copy_from_slice(t.as_bytes());
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
            E::Char(p) | E::Fifo(p) => {
                let kind = if let E::Char(_) = e {
                    tar::EntryType::Char
                } else {
                    tar::EntryType::Fifo
                };
                let mut h = raw_header(p, kind, 0, 0o600);
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

/// A layer as stored: blob bytes and the uncompressed tar's digest.
pub struct Blob {
    pub bytes: Vec<u8>,
    pub diff_id: String,
}

pub fn plain(tar: Vec<u8>) -> Blob {
    Blob {
        diff_id: sha(&tar),
        bytes: tar,
    }
}

pub fn gz(tar: Vec<u8>) -> Blob {
    Blob {
        diff_id: sha(&tar),
        bytes: gzip(&tar),
    }
}

pub fn zst(tar: Vec<u8>) -> Blob {
    Blob {
        diff_id: sha(&tar),
        bytes: zstd(&tar),
    }
}

pub fn config(diff_ids: &[String]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": "2024-01-02T03:04:05Z",
        "config": {"Env": ["PATH=/usr/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap()
}

/// An outer tarball from name → bytes (in the given order).
pub fn outer(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

/// A legacy `docker save` tarball.
pub fn docker_save(layers: &[Blob]) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
    let cfg = config(&diff_ids);
    let cfg_name = format!("{}.json", &sha(&cfg)[7..]);
    let mut files = vec![];
    let mut names = vec![];
    for (i, l) in layers.iter().enumerate() {
        let name = format!("{:064x}/layer.tar", i + 1);
        names.push(name.clone());
        files.push((name, l.bytes.clone()));
    }
    files.push((cfg_name.clone(), cfg));
    let manifest =
        serde_json::json!([{"Config": cfg_name, "RepoTags": ["example/app:1.0"], "Layers": names}]);
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    outer(&files)
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn desc(media_type: &str, data: &[u8]) -> serde_json::Value {
    serde_json::json!({"mediaType": media_type, "digest": sha(data), "size": data.len()})
}

fn blob_name(data: &[u8]) -> String {
    format!("blobs/sha256/{}", &sha(data)[7..])
}

/// The files of an OCI image layout: (files, manifest bytes).
pub fn oci_files(layers: &[Blob], with_docker_manifest: bool) -> Vec<(String, Vec<u8>)> {
    let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
    let cfg = config(&diff_ids);
    let mut files = vec![(
        "oci-layout".to_string(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    )];
    let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let layer_descs: Vec<serde_json::Value> = layers
        .iter()
        .map(|l| {
            blobs.insert(blob_name(&l.bytes), l.bytes.clone());
            desc("application/vnd.oci.image.layer.v1.tar+gzip", &l.bytes)
        })
        .collect();
    blobs.insert(blob_name(&cfg), cfg.clone());
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": desc("application/vnd.oci.image.config.v1+json", &cfg),
        "layers": layer_descs,
    }))
    .unwrap();
    blobs.insert(blob_name(&manifest), manifest.clone());
    let mut d = desc(OCI_MANIFEST, &manifest);
    d["annotations"] = serde_json::json!({"io.containerd.image.name": "docker.io/example/app:2.0"});
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [d]});
    files.push(("index.json".into(), serde_json::to_vec(&index).unwrap()));
    if with_docker_manifest {
        let m = serde_json::json!([{
            "Config": blob_name(&cfg), "RepoTags": ["example/app:25"],
            "Layers": layers.iter().map(|l| blob_name(&l.bytes)).collect::<Vec<_>>(),
        }]);
        files.push(("manifest.json".into(), serde_json::to_vec(&m).unwrap()));
    }
    files.extend(blobs);
    files
}

pub fn oci_archive(layers: &[Blob]) -> Vec<u8> {
    outer(&oci_files(layers, false))
}

/// Records what the reader hands over.
#[derive(Default, Debug)]
pub struct Collect {
    pub asked: Vec<(String, u64, u32)>,
    pub files: BTreeMap<String, Vec<u8>>,
    pub want: Option<Want>,
}

impl LayerVisitor for Collect {
    fn wants(&mut self, path: &str, size: u64, mode: u32) -> Want {
        self.asked.push((path.to_string(), size, mode));
        self.want.unwrap_or(Want::Read)
    }
    fn file(&mut self, path: &str, bytes: &[u8]) {
        self.files.insert(path.to_string(), bytes.to_vec());
    }
}
