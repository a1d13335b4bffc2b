//! Just enough of ELF to find a section's bytes by name: the header, the section header table
//! and the section-name string table, 32- or 64-bit, either byte order. Every offset and size
//! is checked against the file; nothing is mapped or relocated.

pub(crate) const MAGIC: &[u8] = b"\x7fELF";

/// Section headers read at most (real binaries have a few dozen).
const MAX_SECTIONS: usize = 65_535;

pub(crate) struct Elf<'a> {
    bytes: &'a [u8],
    /// (name, file range) of each section with bytes in the file.
    sections: Vec<(&'a [u8], std::ops::Range<usize>)>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    big: bool,
}

impl Reader<'_> {
    fn u16(&self, at: usize) -> Option<u64> {
        let b = self.bytes.get(at..at.checked_add(2)?)?;
        let b = [b[0], b[1]];
        Some(u64::from(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }))
    }
    fn u32(&self, at: usize) -> Option<u64> {
        let b = self.bytes.get(at..at.checked_add(4)?)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(u64::from(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }))
    }
    fn u64(&self, at: usize) -> Option<u64> {
        let b = self.bytes.get(at..at.checked_add(8)?)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(if self.big {
            u64::from_be_bytes(a)
        } else {
            u64::from_le_bytes(a)
        })
    }
    fn word(&self, at: usize, wide: bool) -> Option<u64> {
        if wide {
            self.u64(at)
        } else {
            self.u32(at)
        }
    }
}

fn to_usize(v: u64) -> Option<usize> {
    usize::try_from(v).ok()
}

impl<'a> Elf<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Elf<'a>, String> {
        if !bytes.starts_with(MAGIC) {
            return Err("no ELF magic".into());
        }
        let wide = match bytes.get(4) {
            Some(1) => false,
            Some(2) => true,
            _ => return Err("unknown ELF class".into()),
        };
        let big = match bytes.get(5) {
            Some(1) => false,
            Some(2) => true,
            _ => return Err("unknown ELF byte order".into()),
        };
        let r = Reader { bytes, big };
        let short = || "the ELF header is truncated".to_owned();
        let (shoff, shentsize, shnum, shstrndx) = if wide {
            (r.u64(0x28), r.u16(0x3a), r.u16(0x3c), r.u16(0x3e))
        } else {
            (r.u32(0x20), r.u16(0x2e), r.u16(0x30), r.u16(0x32))
        };
        let (Some(shoff), Some(shentsize), Some(mut shnum), Some(mut shstrndx)) =
            (shoff, shentsize, shnum, shstrndx)
        else {
            return Err(short());
        };
        let mut elf = Elf {
            bytes,
            sections: Vec::new(),
        };
        if shoff == 0 {
            return Ok(elf); // no section headers: nothing to find by name
        }
        let shoff = to_usize(shoff).ok_or("section header offset out of range")?;
        let entsize = to_usize(shentsize).ok_or("bad section header size")?;
        let (min_entsize, off_name, off_type, off_offset, off_size, off_link) = if wide {
            (64, 0, 4, 24, 32, 40)
        } else {
            (40, 0, 4, 16, 20, 24)
        };
        if entsize < min_entsize {
            return Err(format!("section headers of {entsize} bytes are too small"));
        }
        let header = |i: usize| -> Option<usize> {
            let at = shoff.checked_add(i.checked_mul(entsize)?)?;
            (at.checked_add(entsize)? <= bytes.len()).then_some(at)
        };
        // Extended numbering: the real counts live in section 0.
        if shnum == 0 || shstrndx == 0xffff {
            let zero = header(0).ok_or("section header 0 is outside the file")?;
            if shnum == 0 {
                shnum = r.word(zero + off_size, wide).ok_or_else(short)?;
            }
            if shstrndx == 0xffff {
                shstrndx = r.u32(zero + off_link).ok_or_else(short)?;
            }
        }
        let shnum = to_usize(shnum)
            .filter(|n| *n <= MAX_SECTIONS)
            .ok_or("too many sections")?;
        let mut raw = Vec::with_capacity(shnum.min(1024));
        for i in 0..shnum {
            let at = header(i).ok_or_else(|| format!("section header {i} is outside the file"))?;
            let fields = (
                r.u32(at + off_name),
                r.u32(at + off_type),
                r.word(at + off_offset, wide),
                r.word(at + off_size, wide),
            );
            let (Some(name), Some(ty), Some(offset), Some(size)) = fields else {
                return Err(short());
            };
            raw.push((name, ty, offset, size));
        }
        let range = |offset: u64, size: u64| -> Option<std::ops::Range<usize>> {
            let start = to_usize(offset)?;
            let end = start.checked_add(to_usize(size)?)?;
            (end <= bytes.len()).then_some(start..end)
        };
        let strtab = to_usize(shstrndx)
            .and_then(|i| raw.get(i))
            .and_then(|(_, _, off, size)| range(*off, *size))
            .ok_or("the section name table is missing or outside the file")?;
        let names = &bytes[strtab];
        for (name, ty, offset, size) in raw {
            const SHT_NOBITS: u64 = 8;
            if ty == SHT_NOBITS || ty == 0 {
                continue;
            }
            let Some(name) = to_usize(name).and_then(|n| names.get(n..)) else {
                continue;
            };
            let name = &name[..name.iter().position(|b| *b == 0).unwrap_or(name.len())];
            if let Some(r) = range(offset, size) {
                elf.sections.push((name, r));
            }
        }
        Ok(elf)
    }

    /// The bytes of the first section called `name`.
    pub(crate) fn section(&self, name: &str) -> Option<&'a [u8]> {
        self.sections
            .iter()
            .find(|(n, _)| *n == name.as_bytes())
            .map(|(_, r)| &self.bytes[r.clone()])
    }

    pub(crate) fn has_section_headers(&self) -> bool {
        !self.sections.is_empty()
    }

    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// Builds a little-endian ELF64 file with the given sections, for tests.
#[cfg(test)]
pub(crate) fn build(sections: &[(&str, &[u8])]) -> Vec<u8> {
    let mut names = vec![0u8];
    let mut name_offsets = Vec::new();
    for (n, _) in sections {
        name_offsets.push(names.len() as u32);
        names.extend_from_slice(n.as_bytes());
        names.push(0);
    }
    let shstrtab_name = names.len() as u32;
    names.extend_from_slice(b".shstrtab\0");
    let mut out = vec![0u8; 64];
    out[..4].copy_from_slice(MAGIC);
    out[4] = 2; // 64-bit
    out[5] = 1; // little-endian
    out[6] = 1;
    out[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    out[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
    let mut placed = Vec::new();
    for (_, data) in sections {
        placed.push((out.len() as u64, data.len() as u64));
        out.extend_from_slice(data);
    }
    let names_at = out.len() as u64;
    out.extend_from_slice(&names);
    out.resize(out.len().next_multiple_of(8), 0);
    let shoff = out.len() as u64;
    let shnum = sections.len() as u16 + 2;
    out.extend_from_slice(&[0u8; 64]); // the null section
    let mut header = |name: u32, ty: u32, offset: u64, size: u64| {
        let mut h = [0u8; 64];
        h[0..4].copy_from_slice(&name.to_le_bytes());
        h[4..8].copy_from_slice(&ty.to_le_bytes());
        h[24..32].copy_from_slice(&offset.to_le_bytes());
        h[32..40].copy_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&h);
    };
    for (i, (offset, size)) in placed.iter().enumerate() {
        header(name_offsets[i], 1, *offset, *size);
    }
    header(shstrtab_name, 3, names_at, names.len() as u64);
    out[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    out[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    out[0x3c..0x3e].copy_from_slice(&shnum.to_le_bytes());
    out[0x3e..0x40].copy_from_slice(&(shnum - 1).to_le_bytes());
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_sections() {
        let bytes = build(&[(".text", b"\x90\x90"), (".dep-v0", b"hello")]);
        let elf = Elf::parse(&bytes).unwrap();
        assert_eq!(elf.section(".dep-v0"), Some(&b"hello"[..]));
        assert_eq!(elf.section(".text"), Some(&b"\x90\x90"[..]));
        assert_eq!(elf.section(".go.buildinfo"), None);
    }

    #[test]
    fn truncated_files_are_errors_not_panics() {
        let bytes = build(&[(".dep-v0", b"hello")]);
        for cut in 0..bytes.len() {
            let _ = Elf::parse(&bytes[..cut]);
        }
        assert!(Elf::parse(&bytes[..bytes.len() - 1]).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(mut bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
            if bytes.len() >= 6 {
                bytes[..4].copy_from_slice(MAGIC);
                bytes[4] = 1 + bytes[4] % 2;
                bytes[5] = 1 + bytes[5] % 2;
            }
            let _ = Elf::parse(&bytes);
        }
    }
}
