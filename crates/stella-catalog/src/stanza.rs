//! Blank-line-separated stanzas of fields, as dpkg's status file (RFC 822 style: `Key: value`,
//! continuation lines indented) and apk's installed database (`K:value`) write them.
//!
//! Values are decoded as UTF-8 with replacement characters for invalid bytes (old dpkg
//! databases hold Latin-1 maintainer names); [`crate::Ctx::push`] refuses a package whose
//! name or version came out damaged.

use crate::{CatalogError, Ctx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// `Key: value`, continuation lines start with a space or tab.
    Deb,
    /// `K:value`, one-letter keys, no continuation lines.
    Apk,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Stanza {
    /// Line number (1-based) of the first field, for messages.
    pub line: usize,
    pub fields: Vec<(String, String)>,
}

impl Stanza {
    /// The first value of `key` (dpkg keys are case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses stanzas, keeping only the fields `keep` wants (the rest are not stored, so a
/// stanza's memory is what is kept, not what is read). Lines longer than
/// `max_line_bytes` make the file an error; lines that are not fields are warnings.
pub(crate) fn parse(
    ctx: &mut Ctx<'_>,
    bytes: &[u8],
    syntax: Syntax,
    format: &'static str,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<Stanza>, CatalogError> {
    let max_line = ctx.limits.max_line_bytes;
    let mut stanzas = Vec::new();
    let mut current = Stanza::default();
    let mut started = false;
    // Whether the last field line was kept: continuation lines follow it.
    let mut last_kept = false;
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line_no = i + 1;
        if raw.len() > max_line {
            return Err(ctx.limit("max_line_bytes", max_line));
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            if started {
                stanzas.push(std::mem::take(&mut current));
                if stanzas.len() > ctx.limits.max_packages {
                    return Err(ctx.limit("max_packages", ctx.limits.max_packages));
                }
            }
            started = false;
            last_kept = false;
            continue;
        }
        if !started {
            current.line = line_no;
            started = true;
        }
        let line = String::from_utf8_lossy(raw);
        match syntax {
            Syntax::Deb => {
                if line.starts_with([' ', '\t']) {
                    if last_kept {
                        if let Some((_, value)) = current.fields.last_mut() {
                            value.push('\n');
                            value.push_str(line[1..].trim_end());
                        }
                    }
                    continue;
                }
                let Some((key, value)) = line.split_once(':') else {
                    ctx.warn(format!("{format} line {line_no} is not a field"));
                    last_kept = false;
                    continue;
                };
                if key.is_empty() || key.contains(char::is_whitespace) {
                    ctx.warn(format!("{format} line {line_no} is not a field"));
                    last_kept = false;
                    continue;
                }
                last_kept = keep(key);
                if last_kept {
                    current
                        .fields
                        .push((key.to_owned(), value.trim().to_owned()));
                }
            }
            Syntax::Apk => {
                let mut chars = line.chars();
                match (chars.next(), chars.next()) {
                    (Some(k), Some(':')) if k.is_ascii_alphanumeric() => {
                        let key = &line[..1];
                        if keep(key) {
                            current.fields.push((key.to_owned(), line[2..].to_owned()));
                        }
                    }
                    _ => ctx.warn(format!("{format} line {line_no} is not a field")),
                }
            }
        }
    }
    if started {
        stanzas.push(current);
        if stanzas.len() > ctx.limits.max_packages {
            return Err(ctx.limit("max_packages", ctx.limits.max_packages));
        }
    }
    Ok(stanzas)
}

/// Writes stanzas back in `syntax`, for the round-trip tests.
#[cfg(test)]
pub(crate) fn write(stanzas: &[Vec<(String, String)>], syntax: Syntax) -> String {
    let mut out = String::new();
    for fields in stanzas {
        for (k, v) in fields {
            match syntax {
                Syntax::Deb => {
                    let mut lines = v.split('\n');
                    out.push_str(&format!("{k}: {}\n", lines.next().unwrap_or("")));
                    for l in lines {
                        out.push_str(&format!(" {l}\n"));
                    }
                }
                Syntax::Apk => out.push_str(&format!("{k}:{v}\n")),
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::Limits;
    use proptest::prelude::*;

    fn all(bytes: &[u8], syntax: Syntax) -> Result<Vec<Vec<(String, String)>>, CatalogError> {
        let limits = Limits::default();
        let mut ctx = Ctx::new("f", &limits);
        let stanzas = parse(&mut ctx, bytes, syntax, "test", |_| true)?;
        Ok(stanzas.into_iter().map(|s| s.fields).collect())
    }

    #[test]
    fn deb_stanzas_with_continuations() {
        let text =
            b"Package: a\nDescription: short\n long one\n .\n\n\n\nPackage: b\r\nVersion:  1 \n";
        let got = all(text, Syntax::Deb).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0][1].1, "short\nlong one\n.");
        assert_eq!(
            got[1],
            [
                ("Package".into(), "b".into()),
                ("Version".into(), "1".into())
            ]
        );
    }

    #[test]
    fn long_lines_are_refused() {
        let limits = Limits {
            max_line_bytes: 8,
            ..Limits::default()
        };
        let mut ctx = Ctx::new("f", &limits);
        let err = parse(&mut ctx, b"Package: abcdefgh\n", Syntax::Deb, "t", |_| true).unwrap_err();
        assert!(err.to_string().contains("max_line_bytes"));
    }

    fn deb_key() -> impl Strategy<Value = String> {
        "[A-Za-z][A-Za-z0-9-]{0,15}"
    }
    fn deb_value() -> impl Strategy<Value = String> {
        // First line: trimmed, may be empty; continuation lines: something visible.
        (
            "([!-~]([ -~]{0,20}[!-~])?)?",
            prop::collection::vec("[!-~][ -~]{0,20}[!-~]", 0..3),
        )
            .prop_map(|(first, rest)| {
                let mut v = first;
                for l in rest {
                    v.push('\n');
                    v.push_str(&l);
                }
                v
            })
    }

    proptest! {
        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let _ = all(&bytes, Syntax::Deb);
            let _ = all(&bytes, Syntax::Apk);
        }

        #[test]
        fn deb_round_trips(stanzas in prop::collection::vec(
            prop::collection::vec((deb_key(), deb_value()), 1..6), 0..6)) {
            let text = write(&stanzas, Syntax::Deb);
            prop_assert_eq!(all(text.as_bytes(), Syntax::Deb).unwrap(), stanzas);
        }

        #[test]
        fn apk_round_trips(stanzas in prop::collection::vec(
            prop::collection::vec(("[A-Za-z0-9]", "[ -~]{0,30}"), 1..6), 0..6)) {
            // A stanza whose every line is blank would vanish: apk never writes one.
            prop_assume!(stanzas.iter().all(|s| s.iter().any(|(k, _)| !k.is_empty())));
            let text = write(&stanzas, Syntax::Apk);
            prop_assert_eq!(all(text.as_bytes(), Syntax::Apk).unwrap(), stanzas);
        }
    }
}
