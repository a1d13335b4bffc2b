//! The one error type of the crate, with a stable machine-readable code per variant.

use std::io;

/// Why an image (or one of its layers) was refused. [`ImageError::code`] is stable and meant for
/// API clients; the message says what was wrong, naming the entry and the limit where there is
/// one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The input is neither a `docker save` tarball nor an OCI image layout (tarball or directory).
    #[error("not a container image archive: {0}")]
    NotAnArchive(String),
    /// The tar stream (outer archive or a layer) ends in the middle of a header or an entry.
    #[error("{what} is truncated: {detail}")]
    Truncated { what: String, detail: String },
    /// A tar header is malformed (bad checksum, bad number, unsupported entry type).
    #[error("{what} is not a valid tar stream: {detail}")]
    TarInvalid { what: String, detail: String },
    /// `manifest.json`, `index.json`, an image manifest or the image config is missing or wrong.
    #[error("image manifest invalid: {0}")]
    ManifestInvalid(String),
    /// A blob named by the manifests is not in the archive or layout.
    #[error("image blob missing: {0}")]
    BlobMissing(String),
    /// No manifest in the index is for the requested platform.
    #[error("no image for platform {wanted} in the index (it has: {available})")]
    PlatformNotFound { wanted: String, available: String },
    /// A content digest does not match what the manifest or config says.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// A digest string is not `sha256:<64 hex>` or `sha512:<128 hex>`.
    #[error(
        "invalid digest {0:?}: expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>"
    )]
    DigestInvalid(String),
    /// An entry path leaves the layer root (`..` beyond the root), or contains NUL.
    #[error("{layer}: entry {entry:?} refused: {reason}")]
    PathEscape {
        layer: String,
        entry: String,
        reason: String,
    },
    /// An entry path is deeper or longer than the limits allow.
    #[error("{layer}: entry {entry:?} refused: {reason}")]
    PathTooLong {
        layer: String,
        entry: String,
        reason: String,
    },
    /// A count or size bound of [`crate::Limits`] was exceeded (not by decompression).
    #[error("{what} exceeds the limit {limit_name} = {limit}")]
    TooLarge {
        what: String,
        limit_name: &'static str,
        limit: u64,
    },
    /// A compressed layer inflates past `max_layer_bytes` or `max_total_bytes`.
    #[error(
        "{layer}: decompression bomb: inflates past {limit_name} = {limit} bytes after {compressed} compressed bytes"
    )]
    Bomb {
        layer: String,
        limit_name: &'static str,
        limit: u64,
        compressed: u64,
    },
    /// The layer's compression is not one this crate reads (bzip2, xz), or its stream is corrupt.
    #[error("{layer}: {detail}")]
    Compression { layer: String, detail: String },
    /// The caller asked for a layer index the image does not have.
    #[error("no layer {index}: the image has {count} layers")]
    NoSuchLayer { index: usize, count: usize },
    /// `resolve` met a symlink loop, or more links than `max_symlink_hops`.
    #[error("symlink loop or too many links resolving {path:?} (max_symlink_hops = {limit})")]
    SymlinkLoop { path: String, limit: u32 },
    /// Reading the input failed (not a format problem).
    #[error("reading the image failed: {0}")]
    Io(#[source] io::Error),
}

impl ImageError {
    /// The stable machine-readable code of this error, e.g. `image-path-escape`.
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::NotAnArchive(_) => "image-not-an-archive",
            ImageError::Truncated { .. } => "image-truncated",
            ImageError::TarInvalid { .. } => "image-tar-invalid",
            ImageError::ManifestInvalid(_) => "image-manifest-invalid",
            ImageError::BlobMissing(_) => "image-blob-missing",
            ImageError::PlatformNotFound { .. } => "image-platform-not-found",
            ImageError::DigestMismatch { .. } => "image-digest-mismatch",
            ImageError::DigestInvalid(_) => "image-digest-invalid",
            ImageError::PathEscape { .. } => "image-path-escape",
            ImageError::PathTooLong { .. } => "image-path-too-long",
            ImageError::TooLarge { .. } => "image-too-large",
            ImageError::Bomb { .. } => "image-bomb",
            ImageError::Compression { .. } => "image-compression",
            ImageError::NoSuchLayer { .. } => "image-no-such-layer",
            ImageError::SymlinkLoop { .. } => "image-symlink-loop",
            ImageError::Io(_) => "image-io",
        }
    }

    pub(crate) fn too_large(what: impl Into<String>, limit_name: &'static str, limit: u64) -> Self {
        ImageError::TooLarge {
            what: what.into(),
            limit_name,
            limit,
        }
    }
}

/// A bound hit inside a `Read` chain, carried through `io::Error` and turned back into an
/// [`ImageError`] by whoever called the chain.
#[derive(Debug)]
pub(crate) struct Carried(pub ImageError);

impl std::fmt::Display for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Carried {}

pub(crate) fn carry(e: ImageError) -> io::Error {
    io::Error::other(Carried(e))
}

/// Turns an `io::Error` from a read chain back into the `ImageError` it carries, or a
/// truncation (`UnexpectedEof`) of `what`, or [`ImageError::Io`].
pub(crate) fn uncarry(e: io::Error, what: &str) -> ImageError {
    if e.get_ref().is_some_and(|inner| inner.is::<Carried>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(c) = inner.downcast::<Carried>() {
                return c.0;
            }
        }
        return ImageError::Io(io::Error::other("carried error lost"));
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return ImageError::Truncated {
            what: what.to_string(),
            detail: "unexpected end of data".to_string(),
        };
    }
    ImageError::Io(e)
}
