#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hostile inputs: escapes, links, devices, bombs, digests, truncation, bad manifests, bounds.

mod common;

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

use common::*;
use stella_image::{open_archive, squash, ImageError, LayerChanges, Limits};

fn read_one(
    blob: Blob,
    limits: Limits,
) -> Result<(stella_image::LayerSummary, Collect), ImageError> {
    let mut a = open_archive(Cursor::new(docker_save(&[blob])), limits)?;
    let mut v = Collect::default();
    let s = a.read_layer(0, &mut v)?;
    Ok((s, v))
}

#[test]
fn dot_dot_escape_is_refused_naming_the_entry() {
    let l = layer(&[
        E::File("ok", b"1"),
        E::File("../../etc/passwd", b"root::0:0"),
    ]);
    let err = read_one(gz(l), Limits::default()).unwrap_err();
    assert_eq!(err.code(), "image-path-escape");
    assert!(err.to_string().contains("../../etc/passwd"), "{err}");
    let l = layer(&[E::File("a/../../x", b"")]);
    assert_eq!(
        read_one(plain(l), Limits::default()).unwrap_err().code(),
        "image-path-escape"
    );
    // A hardlink whose target escapes is refused too.
    let l = layer(&[E::Hardlink("h", "../../etc/shadow")]);
    assert_eq!(
        read_one(plain(l), Limits::default()).unwrap_err().code(),
        "image-path-escape"
    );
}

#[test]
fn symlink_to_root_is_recorded_never_followed() {
    let l = layer(&[
        E::Symlink("a", "/"),
        E::File("a/etc/x", b"payload"),
        E::Hardlink("b", "/a/etc/x"),
    ]);
    let (s, v) = read_one(plain(l), Limits::default()).unwrap();
    assert_eq!(s.symlinks, vec![("a".to_string(), "/".to_string())]);
    assert_eq!(s.hardlinks, vec![("b".to_string(), "a/etc/x".to_string())]);
    assert_eq!(v.files.keys().collect::<Vec<_>>(), vec!["a/etc/x"]);
    assert_eq!(v.asked.len(), 1);
}

#[test]
fn devices_and_fifos_are_counted_not_read() {
    let l = layer(&[E::Char("dev/null"), E::Fifo("run/fifo"), E::File("f", b"x")]);
    let (s, v) = read_one(plain(l), Limits::default()).unwrap();
    assert_eq!(s.special_files, 2);
    assert_eq!(
        v.asked.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(),
        vec!["f"]
    );
}

#[test]
fn whiteouts_and_opaque_dirs_are_reported_and_squashed() {
    let l0 = layer(&[
        E::File("etc/os-release", b"old"),
        E::File("etc/passwd", b"p"),
        E::File("opt/a/1", b""),
        E::File("opt/a/2", b""),
        E::File("var/lib/x", b""),
    ]);
    let l1 = layer(&[
        E::File("etc/.wh.passwd", b""),
        E::File("opt/a/.wh..wh..opq", b""),
        E::File("opt/a/3", b""),
        E::File("var/.wh.lib", b""),
        E::File("etc/os-release", b"new"),
    ]);
    let img = docker_save(&[gz(l0), zst(l1)]);
    let mut a = open_archive(Cursor::new(img), Limits::default()).unwrap();
    let mut changes = vec![];
    for i in 0..2 {
        let mut v = Collect::default();
        let s = a.read_layer(i, &mut v).unwrap();
        if i == 1 {
            assert_eq!(s.whiteouts, vec!["etc/passwd", "var/lib"]);
            assert_eq!(s.opaque_dirs, vec!["opt/a"]);
            // Whiteouts are not files: never offered to the visitor.
            assert!(v.asked.iter().all(|(p, _, _)| !p.contains(".wh.")));
        }
        changes.push(LayerChanges {
            entries: v.files,
            whiteouts: s.whiteouts,
            opaque_dirs: s.opaque_dirs,
        });
    }
    let view = squash(&changes);
    let paths: Vec<&str> = view.iter().map(|(p, _, _)| p).collect();
    assert_eq!(paths, vec!["etc/os-release", "opt/a/3"]);
    assert_eq!(
        view.get("etc/os-release").map(|(i, b)| (i, b.as_slice())),
        Some((1, &b"new"[..]))
    );
}

#[test]
fn resolve_follows_links_inside_the_root_and_stops_loops() {
    #[derive(Debug)]
    enum N {
        File,
        Link(&'static str),
    }
    let mut l0 = LayerChanges::default();
    l0.entries.insert("usr/lib/os-release".to_string(), N::File);
    l0.entries.insert(
        "etc/os-release".to_string(),
        N::Link("../usr/lib/os-release"),
    );
    l0.entries.insert("lib".to_string(), N::Link("usr/lib"));
    l0.entries
        .insert("up".to_string(), N::Link("../../../usr/lib/os-release"));
    l0.entries.insert("loop1".to_string(), N::Link("loop2"));
    l0.entries.insert("loop2".to_string(), N::Link("/loop1"));
    l0.entries
        .insert("dangling".to_string(), N::Link("/nowhere"));
    let layers = [l0];
    let view = squash(&layers);
    fn link(n: &N) -> Option<&str> {
        match n {
            N::Link(t) => Some(t),
            N::File => None,
        }
    }
    assert_eq!(
        view.resolve("/etc/os-release", 40, link)
            .unwrap()
            .as_deref(),
        Some("usr/lib/os-release")
    );
    assert_eq!(
        view.resolve("lib/os-release", 40, link).unwrap().as_deref(),
        Some("usr/lib/os-release")
    );
    // `..` never climbs above the image root.
    assert_eq!(
        view.resolve("up", 40, link).unwrap().as_deref(),
        Some("usr/lib/os-release")
    );
    assert_eq!(view.resolve("dangling", 40, link).unwrap(), None);
    assert_eq!(
        view.resolve("usr/lib/os-release/x", 40, link).unwrap(),
        None
    );
    let err = view.resolve("loop1", 40, link).unwrap_err();
    assert_eq!(err.code(), "image-symlink-loop");
    // The bound holds for chains that are not loops too.
    assert_eq!(
        view.resolve("etc/os-release", 0, link).unwrap_err().code(),
        "image-symlink-loop"
    );
}

/// Counts the bytes read from the archive, to show a bomb is stopped early.
struct Counting<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}
impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}
impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// 256 MiB of zeros in a file of one layer, as concatenated gzip members (MultiGz, like
/// `pigz`), each 1 MiB of zeros: a few hundred KiB compressed.
fn bomb() -> (Vec<u8>, String) {
    const MIB: usize = 1024 * 1024;
    let total = 256 * MIB;
    let mut h = tar::Header::new_gnu();
    h.set_path("zeros").unwrap();
    h.set_size(total as u64);
    h.set_mode(0o644);
    h.set_cksum();
    let mut blob = gzip(h.as_bytes());
    let member = gzip(&vec![0u8; MIB]);
    for _ in 0..256 {
        blob.extend_from_slice(&member);
    }
    // The diff_id is never reached; any well-formed digest does.
    (blob, sha(b"never checked"))
}

#[test]
fn gzip_bomb_is_stopped_promptly_without_reading_it_all() {
    let (bytes, diff_id) = bomb();
    let blob_len = bytes.len() as u64;
    let img = docker_save(&[Blob { bytes, diff_id }]);
    let limits = Limits {
        max_layer_bytes: 10 * 1024 * 1024,
        ..Limits::default()
    };
    let counter = std::rc::Rc::new(std::cell::Cell::new(0));
    let mut a = open_archive(
        Counting {
            inner: Cursor::new(img),
            read: counter.clone(),
        },
        limits,
    )
    .unwrap();
    let before = counter.get();
    let start = Instant::now();
    // The visitor skips the file: skipped data is still counted against the bound.
    let mut v = Collect {
        want: Some(stella_image::Want::Skip),
        ..Default::default()
    };
    let err = a.read_layer(0, &mut v).unwrap_err();
    assert_eq!(err.code(), "image-bomb", "{err}");
    assert!(
        err.to_string().contains("max_layer_bytes = 10485760"),
        "{err}"
    );
    let consumed = counter.get() - before;
    assert!(
        consumed < blob_len / 4,
        "read {consumed} of {blob_len} compressed bytes"
    );
    assert!(start.elapsed() < Duration::from_secs(20));
    assert!(
        a.total_read() <= 10 * 1024 * 1024 + 128 * 1024,
        "{}",
        a.total_read()
    );

    // The image-wide bound holds across layers.
    let l = layer(&[E::File("f", &[7u8; 4096])]);
    let img = docker_save(&[plain(l.clone()), plain(l)]);
    let limits = Limits {
        max_total_bytes: 8 * 1024,
        ..Limits::default()
    };
    let mut a = open_archive(Cursor::new(img), limits).unwrap();
    let s = a.read_layer(0, &mut Collect::default()).unwrap();
    assert!(s.uncompressed_bytes > 4096);
    let err = a.read_layer(1, &mut Collect::default()).unwrap_err();
    assert_eq!(err.code(), "image-too-large");
    assert!(err.to_string().contains("max_total_bytes = 8192"), "{err}");
}

#[test]
fn zstd_bomb_is_stopped() {
    let mut h = tar::Header::new_gnu();
    h.set_path("zeros").unwrap();
    h.set_size(64 << 20);
    h.set_cksum();
    let mut data = h.as_bytes().to_vec();
    data.resize(512 + (64 << 20), 0);
    let bytes = zstd(&data);
    assert!(bytes.len() < 64 * 1024);
    let limits = Limits {
        max_layer_bytes: 1 << 20,
        ..Limits::default()
    };
    let err = read_one(
        Blob {
            bytes,
            diff_id: sha(&data),
        },
        limits,
    )
    .unwrap_err();
    assert_eq!(err.code(), "image-bomb");
}

#[test]
fn digest_mismatches_are_errors() {
    // The uncompressed layer does not match its diff_id.
    let l = layer(&[E::File("f", b"x")]);
    let bad = Blob {
        bytes: gzip(&l),
        diff_id: sha(b"something else"),
    };
    let err = read_one(bad, Limits::default()).unwrap_err();
    assert_eq!(err.code(), "image-digest-mismatch");
    assert!(err.to_string().contains("diff_id"), "{err}");

    // An OCI blob whose bytes are not what the manifest's digest says.
    let mut files = oci_files(&[gz(l.clone())], false);
    let gzipped = gzip(&l);
    let blob = files.iter_mut().find(|f| f.1 == gzipped).unwrap();
    let mut other = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut other, &l).unwrap();
    let other = other.finish().unwrap();
    assert_ne!(other, blob.1);
    blob.1 = other;
    let err = open_archive(Cursor::new(outer(&files)), Limits::default())
        .and_then(|mut a| a.read_layer(0, &mut Collect::default()))
        .unwrap_err();
    assert_eq!(err.code(), "image-digest-mismatch", "{err}");

    // The legacy config named by its digest, with other bytes.
    let mut files = vec![];
    let cfg = config(&[sha(&l)]);
    files.push((format!("{}.json", "0".repeat(64)), cfg));
    files.push(("l/layer.tar".into(), l));
    let m = serde_json::json!([{"Config": format!("{}.json", "0".repeat(64)), "Layers": ["l/layer.tar"]}]);
    files.push(("manifest.json".into(), serde_json::to_vec(&m).unwrap()));
    let err = open_archive(Cursor::new(outer(&files)), Limits::default()).unwrap_err();
    assert_eq!(err.code(), "image-digest-mismatch");
}

#[test]
fn truncated_inputs_are_errors() {
    let img = docker_save(&[gz(layer(&[E::File("f", &[1u8; 5000])]))]);
    for cut in [img.len() / 3, img.len() / 2, 700, 100] {
        let err = open_archive(Cursor::new(img[..cut].to_vec()), Limits::default())
            .and_then(|mut a| a.read_layer(0, &mut Collect::default()))
            .unwrap_err();
        assert!(
            [
                "image-truncated",
                "image-not-an-archive",
                "image-blob-missing",
                "image-manifest-invalid"
            ]
            .contains(&err.code()),
            "cut {cut}: {err}"
        );
    }
    // A layer blob cut short inside the archive.
    let l = layer(&[E::File("f", &[1u8; 5000])]);
    let mut cut = plain(l);
    cut.bytes.truncate(2000);
    let err = read_one(cut, Limits::default()).unwrap_err();
    assert_eq!(err.code(), "image-truncated", "{err}");
}

#[test]
fn bad_manifests_are_refused() {
    let l = layer(&[E::File("f", b"x")]);
    for manifest in [
        &b"{not json"[..],
        br#"{"Config": "x"}"#,
        br#"[]"#,
        br#"[{"Config": "../../etc/passwd", "Layers": []}]"#,
        br#"[{"Config": "c.json", "Layers": ["l.tar"]}, {"Config": "c.json", "Layers": []}]"#,
    ] {
        let files = vec![
            ("c.json".to_string(), config(&[sha(&l)])),
            ("l.tar".to_string(), l.clone()),
            ("manifest.json".to_string(), manifest.to_vec()),
        ];
        let err = open_archive(Cursor::new(outer(&files)), Limits::default()).unwrap_err();
        assert!(
            ["image-manifest-invalid", "image-blob-missing"].contains(&err.code()),
            "{}: {err}",
            String::from_utf8_lossy(manifest)
        );
    }
    // diff_ids that do not match the layer count.
    let files = vec![
        ("c.json".to_string(), config(&[])),
        ("l.tar".to_string(), l),
        (
            "manifest.json".to_string(),
            br#"[{"Config": "c.json", "Layers": ["l.tar"]}]"#.to_vec(),
        ),
    ];
    let err = open_archive(Cursor::new(outer(&files)), Limits::default()).unwrap_err();
    assert_eq!(err.code(), "image-manifest-invalid");
    assert!(err.to_string().contains("diff_ids"), "{err}");

    for junk in [vec![], vec![0u8; 100], vec![b'x'; 4096], gzip(b"hello")] {
        let err = open_archive(Cursor::new(junk), Limits::default()).unwrap_err();
        assert_eq!(err.code(), "image-not-an-archive", "{err}");
    }
}

#[test]
fn count_and_size_bounds() {
    let layers: Vec<Blob> = (0..5)
        .map(|i| plain(layer(&[E::File("f", format!("{i}").as_bytes())])))
        .collect();
    let limits = Limits {
        max_layers: 4,
        ..Limits::default()
    };
    let err = open_archive(Cursor::new(docker_save(&layers)), limits.clone()).unwrap_err();
    assert_eq!(err.code(), "image-too-large");
    assert!(err.to_string().contains("max_layers = 4"), "{err}");
    let err = open_archive(Cursor::new(oci_archive(&layers)), limits).unwrap_err();
    assert_eq!(err.code(), "image-too-large");

    let many: Vec<String> = (0..20).map(|i| format!("d/f{i}")).collect();
    let entries: Vec<E> = many.iter().map(|p| E::File(p, b"")).collect();
    let limits = Limits {
        max_entries_per_layer: 50,
        ..Limits::default()
    };
    let layer_limits = Limits {
        max_entries_per_layer: 10,
        ..Limits::default()
    };
    read_one(plain(layer(&entries)), limits).unwrap();
    let err = read_one(plain(layer(&entries)), layer_limits).unwrap_err();
    assert_eq!(err.code(), "image-too-large");

    // Over-deep and over-long paths.
    let limits = Limits {
        max_path_depth: 3,
        max_path_bytes: 40,
        ..Limits::default()
    };
    let err = read_one(plain(layer(&[E::File("a/b/c/d", b"")])), limits.clone()).unwrap_err();
    assert_eq!(err.code(), "image-path-too-long");
    assert!(err.to_string().contains("max_path_depth = 3"), "{err}");
    let err = read_one(
        plain(layer(&[E::File(&"x".repeat(41), b"")])),
        limits.clone(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "image-path-too-long");
    // A GNU long name over the bound is refused before it is read.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(0);
    b.append_data(&mut h, "y".repeat(300), &[][..]).unwrap();
    let err = read_one(plain(b.into_inner().unwrap()), limits).unwrap_err();
    assert_eq!(err.code(), "image-path-too-long", "{err}");

    // A wanted file over max_file_bytes is reported, not read.
    let limits = Limits {
        max_file_bytes: 10,
        ..Limits::default()
    };
    let (s, v) = read_one(
        plain(layer(&[
            E::File("big", &[1u8; 11]),
            E::File("small", b"ok"),
        ])),
        limits,
    )
    .unwrap();
    assert_eq!(s.oversized_files, vec![("big".to_string(), 11)]);
    assert_eq!(v.files.keys().collect::<Vec<_>>(), vec!["small"]);
}

#[test]
fn long_names_within_bounds_are_read() {
    let long = format!("{}/file", "dir".repeat(60));
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o644);
    b.append_data(&mut h, &long, &b"hi"[..]).unwrap();
    // A PAX path too.
    let mut b2 = tar::Builder::new(Vec::new());
    b2.append_pax_extensions([("path", long.as_bytes())])
        .unwrap();
    let mut h2 = tar::Header::new_ustar();
    h2.set_size(2);
    h2.set_path("short").unwrap();
    h2.set_cksum();
    b2.append(&h2, &b"hi"[..]).unwrap();
    for t in [b.into_inner().unwrap(), b2.into_inner().unwrap()] {
        let (_, v) = read_one(gz(t), Limits::default()).unwrap();
        assert_eq!(v.files.keys().collect::<Vec<_>>(), vec![long.as_str()]);
    }
}
