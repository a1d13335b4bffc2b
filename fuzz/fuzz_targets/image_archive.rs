//! Bytes as an uploaded image tarball (`stella_image::open_archive` over a `Cursor`), every
//! layer read with a visitor that wants every file. Invariants: every input is opened or
//! refused with an error; what is opened stays within the (small) limits; every path handed out
//! is normalised (no leading `/`, no empty, `.` or `..` component); no file handed out is over
//! `max_file_bytes`; the uncompressed bytes read never pass `max_total_bytes` by more than one
//! read buffer; every error has a code.
#![no_main]

use std::io::Cursor;

use stella_image::{Limits, LayerVisitor, Want};

struct Check {
    max_file: u64,
}

fn clean(path: &str) {
    assert!(!path.starts_with('/'), "{path:?}");
    assert!(
        path.split('/').all(|c| !c.is_empty() && c != "." && c != ".."),
        "{path:?}"
    );
}

impl LayerVisitor for Check {
    fn wants(&mut self, path: &str, _size: u64, _mode: u32) -> Want {
        clean(path);
        if path.ends_with("elf") {
            Want::ReadIfMagic(&[b"\x7fELF"])
        } else {
            Want::Read
        }
    }
    fn file(&mut self, path: &str, bytes: &[u8]) {
        clean(path);
        assert!(bytes.len() as u64 <= self.max_file);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_layers: 8,
        max_entries_per_layer: 256,
        max_layer_bytes: 1 << 20,
        max_total_bytes: 2 << 20,
        max_file_bytes: 64 * 1024,
        max_path_depth: 16,
        max_path_bytes: 256,
        max_manifest_bytes: 64 * 1024,
        max_pax_bytes: 4096,
        max_summary_bytes: 64 * 1024,
        max_symlink_hops: 8,
        max_index_depth: 2,
    };
    let mut archive = match stella_image::open_archive(Cursor::new(data), limits.clone()) {
        Ok(a) => a,
        Err(e) => {
            assert!(e.code().starts_with("image-"));
            return;
        }
    };
    assert!(archive.image().layers.len() <= limits.max_layers);
    let mut changes = Vec::new();
    for i in 0..archive.image().layers.len() {
        let mut v = Check {
            max_file: limits.max_file_bytes,
        };
        match archive.read_layer(i, &mut v) {
            Ok(s) => {
                assert!(s.entries <= limits.max_entries_per_layer);
                assert!(s.uncompressed_bytes <= limits.max_layer_bytes);
                for (p, _) in s.symlinks.iter().chain(s.hardlinks.iter()) {
                    clean(p);
                }
                for p in &s.whiteouts {
                    clean(p);
                }
                let entries = s.symlinks.iter().map(|(p, t)| (p.clone(), t.clone())).collect();
                changes.push(stella_image::LayerChanges {
                    entries,
                    whiteouts: s.whiteouts,
                    opaque_dirs: s.opaque_dirs,
                });
            }
            Err(e) => assert!(e.code().starts_with("image-")),
        }
        // Bounded by the limit plus at most one read buffer past it.
        assert!(archive.total_read() <= limits.max_total_bytes + 256 * 1024);
    }
    let view = stella_image::squash(&changes);
    for (p, _, _) in view.iter() {
        let _ = view.resolve(p, limits.max_symlink_hops, |t: &String| Some(t.as_str()));
    }
});
