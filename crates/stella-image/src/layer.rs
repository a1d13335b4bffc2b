//! Walking one layer tar as a stream: decompression, bounds, paths, whiteouts, digests.

use std::cell::{Cell, RefCell};
use std::io::{self, BufReader, Cursor, Read};

use crate::digest::{Digest, Hasher};
use crate::error::{carry, uncarry, ImageError};
use crate::path::{normalise, split_last, PathRefusal};
use crate::tar::{Kind, Streaming, TarReader};
use crate::Limits;

/// What a visitor wants of a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Not interested: the data is skipped (still counted and hashed).
    Skip,
    /// Hand the file over (up to `max_file_bytes`).
    Read,
    /// Hand the file over only if it starts with one of these prefixes (e.g. `b"\x7fELF"`).
    ReadIfMagic(&'static [&'static [u8]]),
}

/// Receives a layer's regular files. Paths are normalised and relative to the layer root
/// (`etc/os-release`, never `/etc/os-release` or `./etc/os-release`).
pub trait LayerVisitor {
    /// Whether to read the file at `path` (`size` bytes, permission bits `mode`).
    fn wants(&mut self, path: &str, size: u64, mode: u32) -> Want;
    /// A wanted file's whole content.
    fn file(&mut self, path: &str, bytes: &[u8]);
}

/// How a layer blob was compressed, detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// What reading one layer found, besides the files handed to the visitor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerSummary {
    /// The verified digest of the uncompressed layer (equal to the config's diff_id).
    pub diff_id: String,
    /// The verified digest of the stored blob (compressed as stored).
    pub blob_digest: String,
    pub compression: Option<Compression>,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    /// Tar entries of every kind, whiteouts included.
    pub entries: u64,
    pub regular_files: u64,
    pub directories: u64,
    /// Files handed to the visitor.
    pub files_read: u64,
    /// Symlinks: normalised path → target as written (not resolved, not followed).
    pub symlinks: Vec<(String, String)>,
    /// Hardlinks: normalised path → normalised path of the file they link to.
    pub hardlinks: Vec<(String, String)>,
    /// Paths a `.wh.<name>` whiteout deletes from lower layers.
    pub whiteouts: Vec<String>,
    /// Directories a `.wh..wh..opq` marker makes opaque ("" for the root).
    pub opaque_dirs: Vec<String>,
    /// Character and block devices and FIFOs: counted, never read.
    pub special_files: u64,
    /// Entries of other kinds, and entries or link targets whose path is not UTF-8: skipped.
    pub skipped_entries: u64,
    /// Wanted files over `max_file_bytes`: path and size; not read.
    pub oversized_files: Vec<(String, u64)>,
}

const WH_PREFIX: &str = ".wh.";
const WH_OPAQUE: &str = ".wh..wh..opq";

/// Hashes and counts what passes through.
struct Tap<'a, R> {
    inner: R,
    hasher: &'a RefCell<Hasher>,
    count: &'a Cell<u64>,
}

impl<R: Read> Read for Tap<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.borrow_mut().update(&buf[..n]);
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Fails the read once more than `limit` bytes have come through.
struct Bound<'a, R> {
    inner: Tap<'a, R>,
    limit: u64,
    limit_name: &'static str,
    /// The configured value of the limit, for the message (`limit` may be what is left of it).
    limit_value: u64,
    layer: String,
    compressed: Option<&'a Cell<u64>>,
}

impl<R: Read> Read for Bound<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.inner.count.get() > self.limit {
            return Err(carry(match self.compressed {
                Some(c) => ImageError::Bomb {
                    layer: self.layer.clone(),
                    limit_name: self.limit_name,
                    limit: self.limit_value,
                    compressed: c.get(),
                },
                None => ImageError::too_large(
                    format!("{} uncompressed", self.layer),
                    self.limit_name,
                    self.limit_value,
                ),
            }));
        }
        Ok(n)
    }
}

pub(crate) struct LayerInput<'a> {
    pub raw: Box<dyn Read + 'a>,
    pub label: String,
    pub diff_id: &'a str,
    pub blob_digest: Option<&'a str>,
    /// Uncompressed bytes this layer may still produce: (bytes, the limit's name, its value).
    pub budget: (u64, &'static str, u64),
}

/// Reads a layer. `uncompressed` is updated even on error, for the image-wide total.
pub(crate) fn read_layer(
    input: LayerInput<'_>,
    limits: &Limits,
    visitor: &mut dyn LayerVisitor,
    uncompressed: &Cell<u64>,
) -> Result<LayerSummary, ImageError> {
    let LayerInput {
        mut raw,
        label,
        diff_id,
        blob_digest,
        budget,
    } = input;
    let diff = Digest::parse(diff_id)?;
    let blob = blob_digest.map(Digest::parse).transpose()?;
    let blob_hasher = RefCell::new(
        blob.as_ref()
            .map_or_else(|| Hasher::new("sha256"), |d| d.hasher()),
    );
    let diff_hasher = RefCell::new(diff.hasher());
    let compressed = Cell::new(0u64);

    let mut summary = LayerSummary::default();
    {
        let mut tap = Tap {
            inner: &mut raw,
            hasher: &blob_hasher,
            count: &compressed,
        };
        let mut magic = Vec::with_capacity(4);
        (&mut tap)
            .take(4)
            .read_to_end(&mut magic)
            .map_err(|e| uncarry(e, &label))?;
        let head = Cursor::new(magic.clone()).chain(tap);
        let (decoded, compression): (Box<dyn Read + '_>, Compression) = match magic.as_slice() {
            [0x1f, 0x8b, ..] => (
                Box::new(flate2::read::MultiGzDecoder::new(head)),
                Compression::Gzip,
            ),
            [0x28, 0xb5, 0x2f, 0xfd] => {
                let mut d = zstd::stream::read::Decoder::new(head).map_err(ImageError::Io)?;
                // 128 MiB windows at most (zstd's own default): bounds the decoder's memory.
                d.window_log_max(27).map_err(ImageError::Io)?;
                (Box::new(d), Compression::Zstd)
            }
            _ => (Box::new(head), Compression::None),
        };
        summary.compression = Some(compression);
        let bound = Bound {
            inner: Tap {
                inner: decoded,
                hasher: &diff_hasher,
                count: uncompressed,
            },
            limit: budget.0,
            limit_name: budget.1,
            limit_value: budget.2,
            layer: label.clone(),
            compressed: (compression != Compression::None).then_some(&compressed),
        };
        let mut tar = TarReader::new(
            Streaming(BufReader::with_capacity(64 * 1024, bound)),
            label.clone(),
            limits.max_path_bytes,
            limits.max_pax_bytes,
        );
        walk(&mut tar, &label, limits, visitor, &mut summary)
            .map_err(|e| decode_error(e, compression, &label))?;
        // The digest covers the whole stream: read what follows the end of the tar too.
        io::copy(&mut tar.inner, &mut io::sink())
            .map_err(|e| decode_error(uncarry(e, &label), compression, &label))?;
    }
    // Whatever the decoder left of the blob (normally nothing) is part of the blob digest.
    io::copy(
        &mut Tap {
            inner: &mut raw,
            hasher: &blob_hasher,
            count: &compressed,
        },
        &mut io::sink(),
    )
    .map_err(|e| uncarry(e, &label))?;

    summary.compressed_bytes = compressed.get();
    summary.uncompressed_bytes = uncompressed.get();
    summary.diff_id = diff_hasher.into_inner().finish();
    summary.blob_digest = blob_hasher.into_inner().finish();
    if summary.diff_id != diff.to_string() {
        return Err(ImageError::DigestMismatch {
            what: format!("{label} (uncompressed, against its diff_id)"),
            expected: diff.to_string(),
            actual: summary.diff_id,
        });
    }
    if let Some(b) = blob {
        if summary.blob_digest != b.to_string() {
            return Err(ImageError::DigestMismatch {
                what: format!("{label} (blob, against the manifest)"),
                expected: b.to_string(),
                actual: summary.blob_digest,
            });
        }
    }
    Ok(summary)
}

/// A decoder's own I/O error (corrupt gzip or zstd data) is a compression error; bounds and
/// truncation pass through.
fn decode_error(e: ImageError, compression: Compression, label: &str) -> ImageError {
    match e {
        ImageError::Io(inner) if compression != Compression::None => ImageError::Compression {
            layer: label.to_string(),
            detail: format!("corrupt {compression:?} data: {inner}"),
        },
        ImageError::TarInvalid { what, detail } if compression == Compression::None => {
            ImageError::TarInvalid {
                what,
                detail: format!(
                    "{detail} (the layer is not gzip, zstd or a tar; bzip2 and xz are not read)"
                ),
            }
        }
        e => e,
    }
}

fn refusal(label: &str, raw: &[u8], r: PathRefusal) -> ImageError {
    let entry = String::from_utf8_lossy(&raw[..raw.len().min(256)]).into_owned();
    match r {
        PathRefusal::Nul | PathRefusal::Escape => ImageError::PathEscape {
            layer: label.to_string(),
            entry,
            reason: r.to_string(),
        },
        PathRefusal::TooDeep { .. } | PathRefusal::TooLong { .. } => ImageError::PathTooLong {
            layer: label.to_string(),
            entry,
            reason: r.to_string(),
        },
    }
}

fn walk<R: crate::tar::Advance>(
    tar: &mut TarReader<R>,
    label: &str,
    limits: &Limits,
    visitor: &mut dyn LayerVisitor,
    s: &mut LayerSummary,
) -> Result<(), ImageError> {
    let mut kept: u64 = 0;
    while let Some(h) = tar.next()? {
        // Links, whiteouts and oversized files are kept in the summary: bound what is kept.
        let keeps = matches!(h.kind, Kind::Symlink | Kind::Hardlink)
            || h.path
                .windows(WH_PREFIX.len())
                .any(|w| w == WH_PREFIX.as_bytes())
            || (h.kind == Kind::File && h.size > limits.max_file_bytes);
        if keeps {
            kept += (h.path.len() + h.link.len()) as u64;
        }
        if kept > limits.max_summary_bytes {
            return Err(ImageError::too_large(
                format!("the paths {label}'s summary keeps"),
                "max_summary_bytes",
                limits.max_summary_bytes,
            ));
        }
        s.entries += 1;
        if s.entries > limits.max_entries_per_layer {
            return Err(ImageError::too_large(
                format!("{label}'s entry count"),
                "max_entries_per_layer",
                limits.max_entries_per_layer,
            ));
        }
        let norm = normalise(&h.path, limits.max_path_depth, limits.max_path_bytes)
            .map_err(|r| refusal(label, &h.path, r))?;
        let Ok(path) = String::from_utf8(norm) else {
            s.skipped_entries += 1;
            continue;
        };
        if path.is_empty() {
            s.directories += 1; // the root itself
            continue;
        }
        let (parent, name) = split_last(&path);
        if let Some(hidden) = name.strip_prefix(WH_PREFIX) {
            if name == WH_OPAQUE {
                s.opaque_dirs.push(parent.to_string());
            } else if hidden.starts_with(WH_PREFIX) {
                // Other `.wh..wh.` names are AUFS metadata: not files, not whiteouts.
                s.skipped_entries += 1;
            } else if hidden.is_empty() || hidden == "." || hidden == ".." {
                return Err(ImageError::PathEscape {
                    layer: label.to_string(),
                    entry: path.clone(),
                    reason: "a whiteout that names no file".into(),
                });
            } else {
                s.whiteouts.push(crate::path::join(parent, hidden));
            }
            continue;
        }
        match h.kind {
            Kind::File => {
                s.regular_files += 1;
                let want = visitor.wants(&path, h.size, h.mode);
                if want == Want::Skip {
                    continue;
                }
                if h.size > limits.max_file_bytes {
                    s.oversized_files.push((path, h.size));
                    continue;
                }
                // Bounded by max_file_bytes just above.
                let mut bytes = vec![0u8; usize::try_from(h.size).unwrap_or(0)];
                if let Want::ReadIfMagic(magics) = want {
                    let longest = magics.iter().map(|m| m.len()).max().unwrap_or(0);
                    let head = longest.min(bytes.len());
                    tar.read_data_exact(&mut bytes[..head])?;
                    if !magics.iter().any(|m| bytes[..head].starts_with(m)) {
                        continue;
                    }
                    tar.read_data_exact(&mut bytes[head..])?;
                } else {
                    tar.read_data_exact(&mut bytes)?;
                }
                s.files_read += 1;
                visitor.file(&path, &bytes);
            }
            Kind::Dir => s.directories += 1,
            Kind::Symlink => match String::from_utf8(h.link) {
                Ok(target) => s.symlinks.push((path, target)),
                Err(_) => s.skipped_entries += 1,
            },
            Kind::Hardlink => {
                let target = normalise(&h.link, limits.max_path_depth, limits.max_path_bytes)
                    .map_err(|r| refusal(label, &h.link, r))?;
                match String::from_utf8(target) {
                    Ok(t) => s.hardlinks.push((path, t)),
                    Err(_) => s.skipped_entries += 1,
                }
            }
            Kind::Char | Kind::Block | Kind::Fifo => s.special_files += 1,
            Kind::Other(_) => s.skipped_entries += 1,
        }
    }
    Ok(())
}
