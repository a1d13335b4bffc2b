//! Reads container images — `docker save` tarballs (legacy, and Docker 25+'s OCI-layout-with-
//! `manifest.json`), OCI image layout tarballs and OCI image layout directories — and hands a
//! visitor each layer's regular files, so another crate can turn file bytes into packages.
//!
//! # Threat model
//!
//! The input is hostile: anyone with scan rights uploads it. The crate therefore:
//!
//! * never writes to disk and never follows links: an entry is a path and some bytes, nothing
//!   more. A symlink `a -> /` followed by `a/etc/x` yields the path `a/etc/x`; links are
//!   recorded ([`LayerSummary::symlinks`]) and resolved only lexically, on demand, inside the
//!   image ([`Squashed::resolve`], bounded by `max_symlink_hops`);
//! * normalises every entry path (no leading `/`, no `.` or empty components, `..` resolved
//!   lexically) and refuses the layer, naming the entry, when a path climbs above the root, holds
//!   a NUL, or is deeper or longer than the limits;
//! * enforces every [`Limits`] bound as the data streams past: a gzip or zstd bomb is stopped as
//!   soon as it inflates past `max_layer_bytes` (or what is left of `max_total_bytes`), with
//!   memory bounded by buffers, the largest wanted file (`max_file_bytes`) and the small JSON
//!   documents (`max_manifest_bytes`). Its own tar reader bounds GNU long names and PAX headers
//!   before reading them (the `tar` crate reads them whole);
//! * verifies digests: each layer's uncompressed stream against its config `diff_id`, each blob
//!   against the manifest's digest where the format gives one, the manifest and config blobs;
//! * never reads device files, FIFOs or sockets (in a layout directory, only regular files that
//!   are not symlinks are opened as blobs);
//! * does not panic on any input (fuzzed by `fuzz/fuzz_targets/image_archive.rs`).
//!
//! Compression is detected from the blob's first bytes (gzip, zstd, else plain tar), not from
//! the media type. The outer tarball is indexed once (name → offset, size) and blobs are read
//! by seeking; nothing is loaded whole.
//!
//! A visitor may already have been handed files of a layer when reading it fails later (a
//! bound, a bad path, a digest mismatch found at its end): on `Err`, drop what was collected for
//! that layer.

mod archive;
mod digest;
mod error;
mod layer;
mod limits;
pub mod path;
mod squash;
mod tar;

use std::cell::Cell;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;

pub use archive::{Format, Image, LayerRef, OpenOptions, Platform};
pub use error::ImageError;
pub use layer::{Compression, LayerSummary, LayerVisitor, Want};
pub use limits::Limits;
pub use squash::{squash, LayerChanges, Squashed};

/// An opened image: its manifests read and checked, its layers not yet read.
pub struct Archive<R> {
    source: archive::Source<R>,
    image: Image,
    limits: Limits,
    /// Uncompressed bytes read from layers so far, against `max_total_bytes`.
    total: u64,
}

/// Opens a `docker save` or OCI image layout tarball, picking linux/amd64 (or the only image)
/// from a multi-platform index.
pub fn open_archive<R: Read + Seek>(r: R, limits: Limits) -> Result<Archive<R>, ImageError> {
    open_archive_with(
        r,
        OpenOptions {
            limits,
            ..OpenOptions::default()
        },
    )
}

/// [`open_archive`] with a chosen platform.
pub fn open_archive_with<R: Read + Seek>(
    r: R,
    opts: OpenOptions,
) -> Result<Archive<R>, ImageError> {
    let mut source = archive::index_outer(r, &opts.limits)?;
    let image = archive::load_image(&mut source, &opts, false)?;
    Ok(Archive {
        source,
        image,
        limits: opts.limits,
        total: 0,
    })
}

/// Opens an OCI image layout directory (`oci-layout`, `index.json`, `blobs/`).
pub fn open_layout_dir(path: &Path, limits: Limits) -> Result<Archive<File>, ImageError> {
    open_layout_dir_with(
        path,
        OpenOptions {
            limits,
            ..OpenOptions::default()
        },
    )
}

/// [`open_layout_dir`] with a chosen platform.
pub fn open_layout_dir_with(path: &Path, opts: OpenOptions) -> Result<Archive<File>, ImageError> {
    let mut source = archive::dir_source(path)?;
    let image = archive::load_image(&mut source, &opts, true)?;
    Ok(Archive {
        source,
        image,
        limits: opts.limits,
        total: 0,
    })
}

impl<R> std::fmt::Debug for Archive<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("image", &self.image)
            .field("limits", &self.limits)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> Archive<R> {
    pub fn image(&self) -> &Image {
        &self.image
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Uncompressed layer bytes read so far (every read counts, a layer read twice twice).
    pub fn total_read(&self) -> u64 {
        self.total
    }

    /// Reads layer `index` (0 is the base) as a stream, handing its wanted regular files to
    /// `visitor`, and checks its digests. See the crate docs for what is refused.
    pub fn read_layer(
        &mut self,
        index: usize,
        visitor: &mut dyn LayerVisitor,
    ) -> Result<LayerSummary, ImageError> {
        let count = self.image.layers.len();
        let layer = self
            .image
            .layers
            .get(index)
            .ok_or(ImageError::NoSuchLayer { index, count })?;
        let left = self.limits.max_total_bytes.saturating_sub(self.total);
        let budget = if left < self.limits.max_layer_bytes {
            (left, "max_total_bytes", self.limits.max_total_bytes)
        } else {
            (
                self.limits.max_layer_bytes,
                "max_layer_bytes",
                self.limits.max_layer_bytes,
            )
        };
        let label = format!("layer {index} ({})", layer.diff_id);
        let (raw, _) = self.source.open(&layer.location)?;
        let read = Cell::new(0u64);
        let result = layer::read_layer(
            layer::LayerInput {
                raw,
                label,
                diff_id: &layer.diff_id,
                blob_digest: layer.blob_digest.as_deref(),
                budget,
            },
            &self.limits,
            visitor,
            &read,
        );
        self.total = self.total.saturating_add(read.get());
        result
    }
}
