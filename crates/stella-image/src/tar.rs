//! A small, bounded, read-only tar reader (ustar, GNU long names, PAX `path`/`linkpath`/`size`).
//!
//! The `tar` crate is not used for reading: it reads GNU long-name and PAX extension entries
//! whole into memory, bounded only by the size the header declares, so a hostile layer could
//! make it allocate as much as the layer inflates to before the first entry is seen. Here every
//! extension is bounded by [`crate::Limits`] before a byte of it is read. Nothing in this module
//! touches a file system: it turns bytes into headers and hands out entry data as a `Read`.

use std::io::{self, Read, Seek, SeekFrom};

use crate::error::{uncarry, ImageError};

const BLOCK: u64 = 512;
/// Extension headers (`L`, `K`, `x`, `g`) allowed in a row before an entry.
const MAX_EXTENSIONS: usize = 8;

/// What a tar entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Hardlink,
    Symlink,
    Char,
    Block,
    Dir,
    Fifo,
    Other(u8),
}

/// One entry's header, extensions applied.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub path: Vec<u8>,
    pub link: Vec<u8>,
    pub size: u64,
    pub mode: u32,
    pub kind: Kind,
}

/// How the reader moves past data it does not want: reading it (a stream) or seeking.
pub(crate) trait Advance: Read {
    fn advance(&mut self, n: u64) -> io::Result<()>;
}

/// A stream: skipping reads and discards.
pub(crate) struct Streaming<R>(pub R);

impl<R: Read> Read for Streaming<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> Advance for Streaming<R> {
    fn advance(&mut self, n: u64) -> io::Result<()> {
        let copied = io::copy(&mut (&mut self.0).take(n), &mut io::sink())?;
        if copied < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// A seekable input of known length: skipping seeks, and past the end is a truncation.
pub(crate) struct Seeking<R> {
    pub inner: R,
    pub pos: u64,
    pub len: u64,
}

impl<R: Read> Read for Seeking<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Advance for Seeking<R> {
    fn advance(&mut self, n: u64) -> io::Result<()> {
        let to = self.pos.checked_add(n).filter(|&to| to <= self.len);
        let Some(to) = to else {
            return Err(io::ErrorKind::UnexpectedEof.into());
        };
        self.inner.seek(SeekFrom::Start(to))?;
        self.pos = to;
        Ok(())
    }
}

pub(crate) struct TarReader<R> {
    pub inner: R,
    what: String,
    max_path_bytes: usize,
    max_pax_bytes: u64,
    /// Data bytes of the current entry not yet read.
    remaining: u64,
    /// Padding after the current entry's data.
    padding: u64,
    done: bool,
}

fn pad(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

impl<R: Advance> TarReader<R> {
    pub fn new(
        inner: R,
        what: impl Into<String>,
        max_path_bytes: usize,
        max_pax_bytes: u64,
    ) -> Self {
        TarReader {
            inner,
            what: what.into(),
            max_path_bytes,
            max_pax_bytes,
            remaining: 0,
            padding: 0,
            done: false,
        }
    }

    fn invalid(&self, detail: impl Into<String>) -> ImageError {
        ImageError::TarInvalid {
            what: self.what.clone(),
            detail: detail.into(),
        }
    }

    fn io(&self, e: io::Error) -> ImageError {
        uncarry(e, &self.what)
    }

    /// Skips what is left of the current entry.
    fn finish_entry(&mut self) -> Result<(), ImageError> {
        let n = self.remaining + self.padding;
        self.remaining = 0;
        self.padding = 0;
        if n > 0 {
            self.inner.advance(n).map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Reads one 512-byte block; `None` at a clean end of input.
    fn read_block(&mut self) -> Result<Option<[u8; 512]>, ImageError> {
        let mut block = [0u8; 512];
        let mut got = 0;
        while got < block.len() {
            match self.inner.read(&mut block[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
        }
        match got {
            0 => Ok(None),
            512 => Ok(Some(block)),
            _ => Err(ImageError::Truncated {
                what: self.what.clone(),
                detail: format!("a tar header ends after {got} of 512 bytes"),
            }),
        }
    }

    /// Reads a whole extension entry's data (already bounded by the caller).
    fn read_ext(&mut self, size: u64) -> Result<Vec<u8>, ImageError> {
        let mut v = vec![0u8; usize::try_from(size).unwrap_or(0)];
        self.inner.read_exact(&mut v).map_err(|e| self.io(e))?;
        self.remaining = 0;
        self.padding = pad(size);
        self.finish_entry()?;
        Ok(v)
    }

    /// The next entry's header, skipping whatever of the previous entry was not read.
    pub fn next(&mut self) -> Result<Option<Header>, ImageError> {
        if self.done {
            return Ok(None);
        }
        self.finish_entry()?;
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pax_path: Option<Vec<u8>> = None;
        let mut pax_link: Option<Vec<u8>> = None;
        let mut pax_size: Option<u64> = None;
        let mut extensions = 0usize;
        loop {
            let Some(block) = self.read_block()? else {
                // End of input at a header boundary: take it as the end of the archive.
                self.done = true;
                return Ok(None);
            };
            if block.iter().all(|&b| b == 0) {
                self.done = true;
                return Ok(None);
            }
            self.check_sum(&block)?;
            let size = parse_number(&block[124..136])
                .ok_or_else(|| self.invalid("a header's size field is not a number"))?;
            let typeflag = block[156];
            match typeflag {
                b'L' | b'K' | b'x' | b'g' => {
                    extensions += 1;
                    if extensions > MAX_EXTENSIONS {
                        return Err(self.invalid(format!(
                            "more than {MAX_EXTENSIONS} extension headers before one entry"
                        )));
                    }
                    let bound = if typeflag == b'L' || typeflag == b'K' {
                        self.max_path_bytes as u64 + 1
                    } else {
                        self.max_pax_bytes
                    };
                    if size > bound {
                        return Err(if typeflag == b'L' || typeflag == b'K' {
                            ImageError::PathTooLong {
                                layer: self.what.clone(),
                                entry: String::from_utf8_lossy(&block[..100.min(nul_end(&block[..100]))])
                                    .into_owned(),
                                reason: format!(
                                    "a GNU long name of {size} bytes, over the limit max_path_bytes = {}",
                                    self.max_path_bytes
                                ),
                            }
                        } else {
                            ImageError::too_large(
                                format!("{}: a PAX header of {size} bytes", self.what),
                                "max_pax_bytes",
                                self.max_pax_bytes,
                            )
                        });
                    }
                    let data = self.read_ext(size)?;
                    match typeflag {
                        b'L' => long_name = Some(trim_nul(data)),
                        b'K' => long_link = Some(trim_nul(data)),
                        b'x' => {
                            for (k, v) in parse_pax(&data).map_err(|d| self.invalid(d))? {
                                match k {
                                    b"path" => pax_path = Some(v.to_vec()),
                                    b"linkpath" => pax_link = Some(v.to_vec()),
                                    b"size" => {
                                        let s = std::str::from_utf8(v)
                                            .ok()
                                            .and_then(|s| s.parse::<u64>().ok())
                                            .ok_or_else(|| {
                                                self.invalid("a PAX size is not a number")
                                            })?;
                                        pax_size = Some(s);
                                    }
                                    _ => {}
                                }
                            }
                        }
                        _ => {} // global PAX header: nothing in it changes what is read here
                    }
                    continue;
                }
                _ => {}
            }
            let size = pax_size.unwrap_or(size);
            let mode = parse_number(&block[100..108]).unwrap_or(0) as u32 & 0o7777;
            let kind = match typeflag {
                b'0' | 0 | b'7' => Kind::File,
                b'1' => Kind::Hardlink,
                b'2' => Kind::Symlink,
                b'3' => Kind::Char,
                b'4' => Kind::Block,
                b'5' => Kind::Dir,
                b'6' => Kind::Fifo,
                b'S' => return Err(self.invalid("GNU sparse entries are not supported")),
                other => Kind::Other(other),
            };
            let path = match pax_path.or(long_name) {
                Some(p) => p,
                None => {
                    let name = &block[..nul_end(&block[..100])];
                    // POSIX ustar ("ustar\0"): a prefix field holds the leading directories.
                    if &block[257..263] == b"ustar\0" {
                        let prefix = &block[345..345 + nul_end(&block[345..500])];
                        if prefix.is_empty() {
                            name.to_vec()
                        } else {
                            [prefix, b"/", name].concat()
                        }
                    } else {
                        name.to_vec()
                    }
                }
            };
            let link = pax_link
                .or(long_link)
                .unwrap_or_else(|| block[157..157 + nul_end(&block[157..257])].to_vec());
            if path.len() > self.max_path_bytes || link.len() > self.max_path_bytes {
                return Err(ImageError::PathTooLong {
                    layer: self.what.clone(),
                    entry: String::from_utf8_lossy(&path[..path.len().min(200)]).into_owned(),
                    reason: format!(
                        "the path or link target is over the limit max_path_bytes = {}",
                        self.max_path_bytes
                    ),
                });
            }
            self.remaining = size;
            self.padding = pad(size);
            return Ok(Some(Header {
                path,
                link,
                size,
                mode,
                kind,
            }));
        }
    }

    fn check_sum(&self, block: &[u8; 512]) -> Result<(), ImageError> {
        let stored = parse_number(&block[148..156])
            .ok_or_else(|| self.invalid("a header's checksum field is not a number"))?;
        let mut unsigned: u64 = 0;
        let mut signed: i64 = 0;
        for (i, &b) in block.iter().enumerate() {
            let b = if (148..156).contains(&i) { b' ' } else { b };
            unsigned += u64::from(b);
            signed += i64::from(b as i8);
        }
        if stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed) {
            Ok(())
        } else {
            Err(self.invalid("a header's checksum does not match"))
        }
    }

    /// Reads the current entry's data (at most what is left of it).
    pub fn read_data(&mut self, buf: &mut [u8]) -> Result<usize, ImageError> {
        let want = (buf.len() as u64).min(self.remaining) as usize;
        if want == 0 {
            return Ok(0);
        }
        loop {
            match self.inner.read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(ImageError::Truncated {
                        what: self.what.clone(),
                        detail: "an entry's data ends early".to_string(),
                    })
                }
                Ok(n) => {
                    self.remaining -= n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
        }
    }

    /// Fills `buf` from the current entry's data; `buf` must not be longer than what is left.
    pub fn read_data_exact(&mut self, mut buf: &mut [u8]) -> Result<(), ImageError> {
        while !buf.is_empty() {
            let n = self.read_data(buf)?;
            if n == 0 {
                return Err(self.invalid("read past an entry's data"));
            }
            buf = &mut buf[n..];
        }
        Ok(())
    }
}

fn nul_end(field: &[u8]) -> usize {
    field.iter().position(|&b| b == 0).unwrap_or(field.len())
}

fn trim_nul(mut v: Vec<u8>) -> Vec<u8> {
    let end = nul_end(&v);
    v.truncate(end);
    v
}

/// A numeric header field: octal text (space or NUL padded), or GNU base-256 (high bit set).
fn parse_number(field: &[u8]) -> Option<u64> {
    if let Some(&first) = field.first() {
        if first & 0x80 != 0 {
            if first != 0x80 {
                return None; // negative (0xff) or garbage
            }
            let mut v: u64 = 0;
            for &b in &field[1..] {
                v = v.checked_mul(256)?.checked_add(u64::from(b))?;
            }
            return Some(v);
        }
    }
    let text: &[u8] = {
        let Some(start) = field.iter().position(|&b| b != b' ' && b != 0) else {
            return Some(0);
        };
        let rest = &field[start..];
        let end = rest
            .iter()
            .position(|&b| b == b' ' || b == 0)
            .unwrap_or(rest.len());
        &rest[..end]
    };
    let mut v: u64 = 0;
    for &b in text {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// One PAX record: key and value.
type PaxRecord<'a> = (&'a [u8], &'a [u8]);

/// PAX records: `<len> <key>=<value>\n`, `len` counting the whole record.
fn parse_pax(data: &[u8]) -> Result<Vec<PaxRecord<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let sp = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or("a PAX record has no length")?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("a PAX record length is not a number")?;
        if len <= sp + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err("a PAX record is malformed".to_string());
        }
        let record = &rest[sp + 1..len - 1];
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .ok_or("a PAX record has no '='")?;
        out.push((&record[..eq], &record[eq + 1..]));
        rest = &rest[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number(b"0000644\0"), Some(0o644));
        assert_eq!(parse_number(b"   12 \0"), Some(0o12));
        assert_eq!(parse_number(b"\0\0\0\0"), Some(0));
        assert_eq!(parse_number(&[0x80, 0, 0, 1, 0]), Some(256));
        assert_eq!(parse_number(&[0xff, 0xff]), None);
        assert_eq!(parse_number(&[0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(parse_number(b"0009"), None);
    }

    #[test]
    fn pax_records() {
        let d = b"20 path=a/b/c/d/e/f\n11 size=42\n";
        let r = parse_pax(d).unwrap();
        assert_eq!(r[0], (&b"path"[..], &b"a/b/c/d/e/f"[..]));
        assert_eq!(r[1], (&b"size"[..], &b"42"[..]));
        assert!(parse_pax(b"99 path=x\n").is_err());
        assert!(parse_pax(b"5 x\n").is_err());
    }
}
