//! Reading OSV feeds: an export zip (`{ecosystem}/all.zip`, one record per `*.json` entry) or a
//! directory tree of `*.json` files (a clone of an advisory database).
//!
//! Feeds come from outside, so reading is bounded ([`Limits`]): the number of entries, the
//! bytes one entry may expand to, the bytes of the whole feed, and how much an entry may expand
//! relative to its compressed size. Sizes a zip declares are not trusted: every entry is read
//! through a reader that stops one byte past what it may expand to.
//!
//! What goes wrong with one record — malformed JSON, a schema violation, an entry over its
//! bound, an undecodable or encrypted entry — is reported in [`Feed::skipped`] (name and
//! reason) and the rest of the feed is read. What makes the feed as a whole unusable — not a
//! zip, too many entries, more bytes than the total bound, an unreadable directory — is a
//! [`ReadError`]: a feed cut short would silently miss vulnerabilities.
//!
//! Entries are only ever read into memory; names are labels, never paths to write to. In a
//! directory, symbolic links are not followed (a feed has none, and following them could leave
//! the tree or loop), hidden directories (`.git`, `.github`) are not entered, and files other
//! than `*.json` are passed over silently, since a clone of an advisory database has READMEs and
//! scripts beside its records. In an export zip, which should hold records only, a non-JSON
//! entry is reported.

use std::fs;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

use crate::model::{parse_record, Record};

/// Bounds on what a feed may make this process read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Entries in a zip (directories and non-JSON files included) or `*.json` files in a tree.
    pub max_entries: usize,
    /// Bytes one record may take, uncompressed.
    pub max_entry_bytes: u64,
    /// Bytes the whole feed may take, uncompressed (every byte decompressed counts, also those
    /// of refused entries).
    pub max_total_bytes: u64,
    /// How many times its compressed size an entry may expand to…
    pub max_ratio: u64,
    /// …once it is larger than this (small entries have noisy ratios and cannot hurt).
    pub ratio_free_bytes: u64,
}

impl Default for Limits {
    /// Room for the largest public OSV exports (tens of thousands of records, the biggest a few
    /// MiB with long version lists, compressing 5–20×) with a wide margin, while a zip bomb
    /// is cut off after at most 16 MiB of one entry and 4 GiB in all.
    fn default() -> Self {
        Limits {
            max_entries: 1_000_000,
            max_entry_bytes: 16 << 20,
            max_total_bytes: 4 << 30,
            max_ratio: 100,
            ratio_free_bytes: 64 << 10,
        }
    }
}

impl Limits {
    /// How many bytes an entry with this compressed size may expand to.
    fn allowance(&self, compressed: u64) -> u64 {
        self.max_entry_bytes.min(
            self.ratio_free_bytes
                .max(compressed.saturating_mul(self.max_ratio)),
        )
    }
}

/// The records of a feed, and what was left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Feed {
    pub records: Vec<Record>,
    pub skipped: Vec<Skipped>,
}

/// A file or entry that did not give a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The entry's name in the zip, or the file's path relative to the directory.
    pub source: String,
    pub reason: String,
}

/// Why a feed could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not a readable zip archive: {0}")]
    NotZip(String),
    #[error("more than {limit} entries")]
    TooManyEntries { limit: usize },
    #[error("more than {limit} bytes in total")]
    TooLarge { limit: u64 },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Reads an OSV export zip.
pub fn read_zip<R: Read + Seek>(reader: R, limits: &Limits) -> Result<Feed, ReadError> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| ReadError::NotZip(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(ReadError::TooManyEntries {
            limit: limits.max_entries,
        });
    }
    let mut feed = Feed::default();
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut file = match archive.by_index(i) {
            Ok(file) => file,
            Err(e) => {
                feed.skip(format!("entry #{i}"), format!("unreadable entry: {e}"));
                continue;
            }
        };
        let name = match file.name() {
            Ok(name) => name.into_owned(),
            Err(_) => String::from_utf8_lossy(file.name_raw()).into_owned(),
        };
        if file.is_dir() {
            continue;
        }
        if !name.ends_with(".json") {
            feed.skip(name, "not a .json entry".into());
            continue;
        }
        if file.size() > limits.max_entry_bytes {
            feed.skip(
                name,
                format!(
                    "declares {} bytes, over the {}-byte limit for a record",
                    file.size(),
                    limits.max_entry_bytes
                ),
            );
            continue;
        }
        let allowance = limits.allowance(file.compressed_size());
        let mut bytes = Vec::new();
        let read = file.by_ref().take(allowance + 1).read_to_end(&mut bytes);
        total += bytes.len() as u64;
        if total > limits.max_total_bytes {
            return Err(ReadError::TooLarge {
                limit: limits.max_total_bytes,
            });
        }
        if let Err(e) = read {
            feed.skip(name, format!("cannot decompress: {e}"));
            continue;
        }
        if bytes.len() as u64 > allowance {
            let reason = if allowance == limits.max_entry_bytes {
                format!(
                    "expands past the {}-byte limit for a record",
                    limits.max_entry_bytes
                )
            } else {
                format!(
                    "expands more than {}x its {} compressed bytes (zip bomb?)",
                    limits.max_ratio,
                    file.compressed_size()
                )
            };
            feed.skip(name, reason);
            continue;
        }
        feed.parse(name, &bytes);
    }
    Ok(feed)
}

/// Reads an OSV export zip from a file.
pub fn read_zip_file(path: &Path, limits: &Limits) -> Result<Feed, ReadError> {
    let file = fs::File::open(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    read_zip(io::BufReader::new(file), limits)
}

/// Reads every `*.json` file under `root`, recursively, in name order.
pub fn read_dir(root: &Path, limits: &Limits) -> Result<Feed, ReadError> {
    let mut feed = Feed::default();
    let mut total: u64 = 0;
    let mut files = 0usize;
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        let io_err = |source| ReadError::Io {
            path: dir.clone(),
            source,
        };
        let mut entries = fs::read_dir(&dir)
            .map_err(io_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io_err)?;
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for entry in entries {
            let path = entry.path();
            let label = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            // `DirEntry::file_type` does not follow symbolic links.
            let kind = entry.file_type().map_err(|source| ReadError::Io {
                path: path.clone(),
                source,
            })?;
            if kind.is_dir() {
                if !entry.file_name().as_encoded_bytes().starts_with(b".") {
                    subdirs.push(path);
                }
                continue;
            }
            if !kind.is_file() || path.extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            files += 1;
            if files > limits.max_entries {
                return Err(ReadError::TooManyEntries {
                    limit: limits.max_entries,
                });
            }
            let mut bytes = Vec::new();
            let read = fs::File::open(&path)
                .and_then(|f| f.take(limits.max_entry_bytes + 1).read_to_end(&mut bytes));
            total += bytes.len() as u64;
            if total > limits.max_total_bytes {
                return Err(ReadError::TooLarge {
                    limit: limits.max_total_bytes,
                });
            }
            if let Err(e) = read {
                feed.skip(label, format!("cannot read: {e}"));
                continue;
            }
            if bytes.len() as u64 > limits.max_entry_bytes {
                feed.skip(
                    label,
                    format!(
                        "over the {}-byte limit for a record",
                        limits.max_entry_bytes
                    ),
                );
                continue;
            }
            feed.parse(label, &bytes);
        }
        // Depth-first, in name order: push in reverse so the first name is read next.
        pending.extend(subdirs.into_iter().rev());
    }
    Ok(feed)
}

impl Feed {
    fn skip(&mut self, source: String, reason: String) {
        self.skipped.push(Skipped { source, reason });
    }

    fn parse(&mut self, source: String, bytes: &[u8]) {
        match parse_record(bytes) {
            Ok(record) => self.records.push(record),
            Err(e) => self.skip(source, e.to_string()),
        }
    }
}
