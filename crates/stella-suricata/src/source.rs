//! A rule source as uploaded: one `.rules` file, or a `.tar.gz` / `.tgz` / `.tar` of them (the
//! way ET Open ships, `rules/emerging-*.rules`).
//!
//! The format is told from the bytes, not the name: gzip by its magic number, tar by the
//! `ustar` magic of its first header; anything else is read as one rules file. Everything is
//! read in memory (names are labels, never paths), within [`Limits`]: the bytes a gzip stream
//! may expand to (in all, and relative to its compressed size), the number of entries, the size
//! of a rules file and of the extension headers that carry long names. The `tar` crate reads
//! headers only, in raw mode: its own handling of GNU long names and PAX headers reads them
//! whole, bounded only by the size they declare, so they are handled here after a size check.
//!
//! Only regular `*.rules` entries are parsed; other entries are listed in [`Source::skipped`]
//! (directories aside). An archive without any rules file is an error, as is anything that
//! makes the archive as a whole unreadable (a corrupt stream, a bound exceeded): a source cut
//! short would silently miss rules. Bytes that are not UTF-8 spoil only their own line, which is
//! reported as a problem; the rest of the file is read.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use crate::limits::{Limit, Limits};
use crate::parse::{Accumulator, Parsed};
use crate::problem::{excerpt, Problem};
use crate::rule::Rule;

/// What a source holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    /// Rules of every file, in archive order, one per `gid:sid` (see [`crate::parse_rules`]).
    pub rules: Vec<Rule>,
    /// Lines that gave no rule, and duplicates left out, by file then line.
    pub problems: Vec<Problem>,
    /// The rules files read, in archive order.
    pub files: Vec<String>,
    /// Entries not read, with why.
    pub skipped: Vec<Skipped>,
}

/// An archive entry that was not read as a rules file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub name: String,
    pub reason: SkipReason,
}

/// Why an entry was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Its name does not end in `.rules` (a README, `classification.config`, a `.map` file…).
    NotRulesFile,
    /// A link, device, FIFO or sparse file: no rules are read through those.
    NotRegularFile,
    /// A macOS `._*` resource-fork file, which shares the name of the file it describes.
    MacMetadata,
}

impl SkipReason {
    /// A stable, machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::NotRulesFile => "not-rules-file",
            SkipReason::NotRegularFile => "not-regular-file",
            SkipReason::MacMetadata => "mac-metadata",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SkipReason::NotRulesFile => "not a .rules file",
            SkipReason::NotRegularFile => "not a regular file",
            SkipReason::MacMetadata => "macOS metadata (._*), not rules",
        })
    }
}

/// Why a source could not be read at all. [`SourceError::code`] is stable; the messages name
/// the entry and the bound where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("the source is empty: upload a .rules file or a .tar.gz of them")]
    Empty,
    #[error("the gzip stream is corrupt: {0}")]
    Gzip(String),
    #[error("not a valid tar archive: {0}")]
    Tar(String),
    #[error("{what} exceeds the limit {limit} = {max}")]
    TooLarge {
        what: String,
        limit: Limit,
        max: u64,
    },
    #[error("decompression bomb: {compressed} compressed bytes expand past the limit {limit} (at most {max} bytes here)")]
    Bomb {
        limit: Limit,
        max: u64,
        compressed: u64,
    },
    #[error("the archive holds no .rules file ({skipped} entries skipped)")]
    NoRulesFiles { skipped: usize },
}

impl SourceError {
    /// A stable, machine-readable code for API responses and client logic.
    pub fn code(&self) -> &'static str {
        match self {
            SourceError::Empty => "source-empty",
            SourceError::Gzip(_) => "source-bad-gzip",
            SourceError::Tar(_) => "source-bad-tar",
            SourceError::TooLarge { .. } => "source-too-large",
            SourceError::Bomb { .. } => "source-decompression-bomb",
            SourceError::NoRulesFiles { .. } => "source-no-rules-files",
        }
    }
}

/// Reads a source within [`Limits::default`]. `name` is the uploaded file's name: for a
/// single rules file it names the file in rules and problems and gives the category.
pub fn read_source(name: &str, bytes: &[u8]) -> Result<Source, SourceError> {
    read_source_with(name, bytes, &Limits::default())
}

/// [`read_source`] within the given limits.
pub fn read_source_with(name: &str, bytes: &[u8], limits: &Limits) -> Result<Source, SourceError> {
    if bytes.is_empty() {
        return Err(SourceError::Empty);
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let compressed = bytes.len() as u64;
        let by_ratio = limits
            .ratio_free_bytes
            .max(compressed.saturating_mul(limits.max_ratio));
        let (max, limit) = if limits.max_total_bytes <= by_ratio {
            (limits.max_total_bytes, Limit::TotalBytes)
        } else {
            (by_ratio, Limit::Ratio)
        };
        let reader = Bounded::new(flate2::read::MultiGzDecoder::new(bytes), max, limit, true);
        let state = reader.state.clone();
        let mut reader = reader;
        let mut first = [0u8; 512];
        let got =
            read_full(&mut reader, &mut first).map_err(|e| io_error(e, &state, compressed, max))?;
        if got < first.len() || !has_ustar_magic(&first) {
            return Err(SourceError::Tar(
                "the gzip stream does not hold a tar archive".into(),
            ));
        }
        let chained = io::Cursor::new(first).chain(reader);
        return read_tar(chained, limits, &state, compressed, max);
    }
    if has_ustar_magic(bytes) {
        if bytes.len() as u64 > limits.max_total_bytes {
            return Err(SourceError::TooLarge {
                what: "the archive".into(),
                limit: Limit::TotalBytes,
                max: limits.max_total_bytes,
            });
        }
        let reader = Bounded::new(bytes, limits.max_total_bytes, Limit::TotalBytes, false);
        let state = reader.state.clone();
        return read_tar(
            reader,
            limits,
            &state,
            bytes.len() as u64,
            limits.max_total_bytes,
        );
    }
    if bytes.len() as u64 > limits.max_entry_bytes {
        return Err(SourceError::TooLarge {
            what: format!("rules file {}", excerpt(name)),
            limit: Limit::EntryBytes,
            max: limits.max_entry_bytes,
        });
    }
    let mut acc = Accumulator::new(limits);
    let (text, bad) = decode(bytes);
    acc.file(&text, name, &bad);
    let Parsed { rules, problems } = acc.finish();
    Ok(Source {
        rules,
        problems,
        files: vec![name.to_owned()],
        skipped: Vec::new(),
    })
}

/// A tar header: the `ustar` magic at offset 257 (POSIX and GNU tar both write it).
fn has_ustar_magic(bytes: &[u8]) -> bool {
    bytes.get(257..262) == Some(b"ustar".as_slice())
}

fn read_tar<R: Read>(
    reader: R,
    limits: &Limits,
    state: &Rc<Cell<Trip>>,
    compressed: u64,
    max: u64,
) -> Result<Source, SourceError> {
    let err = |e: io::Error| io_error(e, state, compressed, max);
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(err)?.raw(true);
    let mut acc = Accumulator::new(limits);
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut extension_name: Option<Vec<u8>> = None;
    let mut extension_size: Option<u64> = None;
    for (count, entry) in entries.enumerate() {
        if count >= limits.max_entries {
            return Err(SourceError::TooLarge {
                what: "the archive's entry count".into(),
                limit: Limit::Entries,
                max: limits.max_entries as u64,
            });
        }
        let mut entry = entry.map_err(err)?;
        let kind = entry.header().entry_type();
        let size = entry.size();
        if kind.is_gnu_longname() || kind.is_pax_local_extensions() {
            if size > limits.max_extension_bytes {
                return Err(SourceError::TooLarge {
                    what: format!("an extension header of {size} bytes"),
                    limit: Limit::ExtensionBytes,
                    max: limits.max_extension_bytes,
                });
            }
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(err)?;
            if kind.is_gnu_longname() {
                while data.last() == Some(&0) {
                    data.pop();
                }
                extension_name = Some(data);
            } else {
                for ext in tar::PaxExtensions::new(&data) {
                    let ext = ext.map_err(|e| SourceError::Tar(format!("bad PAX header: {e}")))?;
                    match ext.key_bytes() {
                        b"path" => extension_name = Some(ext.value_bytes().to_vec()),
                        b"size" => {
                            let value = String::from_utf8_lossy(ext.value_bytes()).into_owned();
                            extension_size = Some(value.trim().parse().map_err(|_| {
                                SourceError::Tar(format!("bad PAX size {:?}", excerpt(&value)))
                            })?);
                        }
                        _ => {}
                    }
                }
            }
            continue;
        }
        if kind.is_gnu_longlink() || kind.is_pax_global_extensions() {
            continue;
        }
        let name_bytes = extension_name
            .take()
            .unwrap_or_else(|| entry.path_bytes().into_owned());
        let name = String::from_utf8_lossy(&name_bytes).into_owned();
        // Entries are framed by the header's size; a PAX size that says otherwise (only needed
        // past 8 GiB) would make readers disagree on where entries are.
        if let Some(pax) = extension_size.take() {
            if pax != size {
                return Err(SourceError::Tar(format!(
                    "{}: PAX size {pax} differs from the header's {size}",
                    excerpt(&name)
                )));
            }
        }
        if kind.is_dir() {
            continue;
        }
        let base = name.rsplit('/').next().unwrap_or(&name);
        let reason = if !kind.is_file() {
            Some(SkipReason::NotRegularFile)
        } else if !name.ends_with(".rules") {
            Some(SkipReason::NotRulesFile)
        } else if base.starts_with("._") {
            Some(SkipReason::MacMetadata)
        } else {
            None
        };
        if let Some(reason) = reason {
            skipped.push(Skipped { name, reason });
            continue;
        }
        if size > limits.max_entry_bytes {
            return Err(SourceError::TooLarge {
                what: format!("rules file {} ({size} bytes)", excerpt(&name)),
                limit: Limit::EntryBytes,
                max: limits.max_entry_bytes,
            });
        }
        let mut data = Vec::with_capacity(usize::try_from(size.min(1 << 20)).unwrap_or(0));
        entry.read_to_end(&mut data).map_err(err)?;
        let (text, bad) = decode(&data);
        acc.file(&text, &name, &bad);
        files.push(name);
        if acc.stopped() {
            break;
        }
    }
    if files.is_empty() {
        return Err(SourceError::NoRulesFiles {
            skipped: skipped.len(),
        });
    }
    let Parsed { rules, problems } = acc.finish();
    Ok(Source {
        rules,
        problems,
        files,
        skipped,
    })
}

/// The text of a rules file, with the numbers of lines that are not UTF-8 (left empty in the
/// text, so that other lines keep their numbers).
fn decode(bytes: &[u8]) -> (Cow<'_, str>, Vec<usize>) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (Cow::Borrowed(text), Vec::new());
    }
    let mut text = String::with_capacity(bytes.len());
    let mut bad = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            text.push('\n');
        }
        match std::str::from_utf8(line) {
            Ok(line) => text.push_str(line),
            Err(_) => bad.push(i + 1),
        }
    }
    (Cow::Owned(text), bad)
}

/// What stopped a [`Bounded`] reader, so that errors passed up through `tar` can be told
/// apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trip {
    None,
    Limit(Limit),
    Gzip,
}

/// A reader that fails once more than `max` bytes have come through it.
struct Bounded<R> {
    inner: R,
    read: u64,
    max: u64,
    limit: Limit,
    /// Whether `inner` decompresses (its errors are then about the gzip stream).
    gzip: bool,
    state: Rc<Cell<Trip>>,
}

impl<R> Bounded<R> {
    fn new(inner: R, max: u64, limit: Limit, gzip: bool) -> Self {
        Bounded {
            inner,
            read: 0,
            max,
            limit,
            gzip,
            state: Rc::new(Cell::new(Trip::None)),
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Read at most one byte past the bound: enough to know it was passed.
        let room = self.max.saturating_add(1).saturating_sub(self.read);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) => {
                if self.gzip {
                    self.state.set(Trip::Gzip);
                }
                return Err(e);
            }
        };
        self.read += n as u64;
        if self.read > self.max {
            self.state.set(Trip::Limit(self.limit));
            return Err(io::Error::other(format!(
                "over the limit {}",
                self.limit.field()
            )));
        }
        Ok(n)
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn io_error(e: io::Error, state: &Rc<Cell<Trip>>, compressed: u64, max: u64) -> SourceError {
    match state.get() {
        Trip::Limit(limit) => SourceError::Bomb {
            limit,
            max,
            compressed,
        },
        Trip::Gzip => SourceError::Gzip(e.to_string()),
        Trip::None if e.kind() == io::ErrorKind::UnexpectedEof => {
            SourceError::Tar("truncated: the input ends inside an entry".into())
        }
        Trip::None => SourceError::Tar(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_blanks_bad_lines_only() {
        let (text, bad) = decode(b"a\n\xff\xfe\nc");
        assert_eq!(text, "a\n\nc");
        assert_eq!(bad, [2]);
        let (text, bad) = decode(b"plain");
        assert!(matches!(text, Cow::Borrowed("plain")));
        assert!(bad.is_empty());
    }

    #[test]
    fn bounded_reader_trips_one_byte_past() {
        let mut r = Bounded::new(&b"0123456789"[..], 10, Limit::TotalBytes, false);
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).is_ok());
        let mut r = Bounded::new(&b"0123456789"[..], 9, Limit::TotalBytes, false);
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        assert_eq!(r.state.get(), Trip::Limit(Limit::TotalBytes));
    }
}
