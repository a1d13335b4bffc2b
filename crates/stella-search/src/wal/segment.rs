//! Segment files of the write-ahead log: `<dir>/wal/<first lsn, 20 digits>.wal`, each starting
//! with an 8-byte header, then frames (see `record.rs`). Reading stops at the first frame that
//! is short or fails its checksum: the torn tail of a crash.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::log::record::{self, Decoded, FRAME_HEADER};

pub(crate) const MAGIC: &[u8; 8] = b"STLWAL01";

#[derive(Debug, Clone)]
pub(crate) struct SegmentFile {
    pub first_lsn: u64,
    pub path: PathBuf,
}

pub(crate) fn file_name(first_lsn: u64) -> String {
    format!("{first_lsn:020}.wal")
}

/// The segments in `dir`, oldest first. Other files are ignored.
pub(crate) fn list(dir: &Path) -> io::Result<Vec<SegmentFile>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".wal") else {
            continue;
        };
        if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(first_lsn) = stem.parse() {
                out.push(SegmentFile {
                    first_lsn,
                    path: entry.path(),
                });
            }
        }
    }
    out.sort_by_key(|s| s.first_lsn);
    Ok(out)
}

/// Creates a new segment (header written and fsynced, directory entry fsynced).
pub(crate) fn create(dir: &Path, first_lsn: u64) -> io::Result<File> {
    let path = dir.join(file_name(first_lsn));
    let mut f = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)?;
    f.write_all(MAGIC)?;
    f.sync_all()?;
    sync_dir(dir)?;
    Ok(f)
}

/// Makes a directory's entries (files created or removed) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// How reading a segment ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// Every byte belonged to a good frame.
    Clean,
    /// Bytes from `valid_len` on are not a good frame (torn write, or damage).
    Torn { valid_len: u64, reason: String },
}

/// Reads every good record of a segment in order, handing each to `f`. A segment whose header
/// itself is short counts as torn at 0.
pub(crate) fn read<E>(
    path: &Path,
    f: impl FnMut(Decoded) -> Result<(), E>,
) -> Result<io::Result<End>, E> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) => return Ok(Err(e)),
    };
    let file_len = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return Ok(Err(e)),
    };
    read_from(BufReader::with_capacity(1 << 20, file), file_len, f)
}

/// [`read`] over any reader of `file_len` bytes (the fuzz target reads segments from memory).
pub(crate) fn read_from<E>(
    mut r: impl Read,
    file_len: u64,
    mut f: impl FnMut(Decoded) -> Result<(), E>,
) -> Result<io::Result<End>, E> {
    let mut magic = [0u8; 8];
    match read_full(&mut r, &mut magic) {
        Ok(true) if &magic == MAGIC => {}
        Ok(_) => {
            return Ok(Ok(End::Torn {
                valid_len: 0,
                reason: "segment header missing or wrong".into(),
            }))
        }
        Err(e) => return Ok(Err(e)),
    }
    let mut pos = MAGIC.len() as u64;
    loop {
        if pos == file_len {
            return Ok(Ok(End::Clean));
        }
        let torn = |reason: &str| {
            Ok(Ok(End::Torn {
                valid_len: pos,
                reason: reason.to_owned(),
            }))
        };
        let mut h = [0u8; FRAME_HEADER];
        match read_full(&mut r, &mut h) {
            Ok(true) => {}
            Ok(false) => return torn("short frame header"),
            Err(e) => return Ok(Err(e)),
        }
        let Some((len, crc)) = record::frame_header(&h) else {
            return torn("implausible frame length");
        };
        if pos + (FRAME_HEADER + len) as u64 > file_len {
            return torn("frame runs past the end of the file");
        }
        let mut frame = vec![0u8; FRAME_HEADER + len];
        frame[..FRAME_HEADER].copy_from_slice(&h);
        match read_full(&mut r, &mut frame[FRAME_HEADER..]) {
            Ok(true) => {}
            Ok(false) => return torn("short frame body"),
            Err(e) => return Ok(Err(e)),
        }
        if crc32fast::hash(&frame[FRAME_HEADER..]) != crc {
            return torn("checksum mismatch");
        }
        let Some(decoded) = record::decode(frame) else {
            return torn("frame body does not decode");
        };
        pos += (FRAME_HEADER + len) as u64;
        f(decoded)?;
    }
}

/// Fills `buf`; `Ok(false)` if the file ended first.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Cuts a torn tail off so that new records are never written after garbage.
pub(crate) fn truncate(path: &Path, len: u64) -> io::Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()
}
