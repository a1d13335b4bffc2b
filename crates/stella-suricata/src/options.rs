//! The options of a rule, `(name:value; name; …)`, split the way Suricata splits them.
//!
//! Suricata ends an option at the first `;` that does not directly follow a backslash; double
//! quotes do not protect a `;` (`msg:"a;b";` is refused by Suricata as a badly quoted `msg`).
//! The split here is the same, so that this crate and the probes agree on where every option
//! ends; quoting is then checked per option, as Suricata does: a value that starts with `"`
//! (after an optional `!`) must end with `"` and not be empty.

use crate::problem::{excerpt, Reason};

/// One option: its name, and its value with surrounding blanks trimmed (`None` without `:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Opt<'a> {
    pub name: &'a str,
    pub value: Option<&'a str>,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_blanks(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Iterates over the options in `body` (the text between the parentheses, themselves
/// excluded). Stops at the first error.
pub(crate) struct Options<'a> {
    body: &'a str,
    pos: usize,
    failed: bool,
}

impl<'a> Options<'a> {
    pub fn new(body: &'a str) -> Self {
        Options {
            body,
            pos: 0,
            failed: false,
        }
    }

    fn fail(&mut self, reason: Reason) -> Option<Result<Opt<'a>, Reason>> {
        self.failed = true;
        Some(Err(reason))
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<Opt<'a>, Reason>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let bytes = self.body.as_bytes();
        let mut start = self.pos;
        while start < bytes.len() && is_blank(bytes[start]) {
            start += 1;
        }
        if start >= bytes.len() {
            self.pos = start;
            return None;
        }
        // The first `;` not preceded by a backslash (a `;` opening the option ends it at once,
        // as in Suricata, giving an empty option).
        let mut end = start;
        loop {
            match bytes[end..].iter().position(|&b| b == b';') {
                None => {
                    let rest = self.body.get(start..).unwrap_or_default();
                    return self.fail(Reason::UnterminatedOption(excerpt(rest)));
                }
                Some(off) => {
                    let at = end + off;
                    if at > start && bytes[at - 1] == b'\\' {
                        end = at + 1;
                        continue;
                    }
                    end = at;
                    break;
                }
            }
        }
        self.pos = end + 1;
        // `start` and `end` are at ASCII bytes, so on char boundaries.
        let text = self.body.get(start..end).unwrap_or_default();
        let (name, value) = match text.find(':') {
            Some(colon) => (&text[..colon], Some(trim_blanks(&text[colon + 1..]))),
            None => (text, None),
        };
        let name = trim_blanks(name);
        if name.is_empty() {
            return self.fail(Reason::EmptyOption);
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return self.fail(Reason::BadOptionName(excerpt(name)));
        }
        if let Some(value) = value {
            if !quoting_ok(value) {
                return self.fail(Reason::BadQuoting {
                    option: name.to_owned(),
                    value: excerpt(value),
                });
            }
        }
        Some(Ok(Opt { name, value }))
    }
}

/// Suricata's check: a value that starts with `"` (after a negating `!`) ends with `"`, and
/// something is between the quotes.
fn quoting_ok(value: &str) -> bool {
    let v = value.strip_prefix('!').map(trim_blanks).unwrap_or(value);
    if !v.starts_with('"') {
        return true;
    }
    v.len() >= 3 && v.ends_with('"')
}

/// The text of a quoted value without its quotes, escapes (`\;`, `\"`, `\\`, `\:`…) resolved
/// the way Suricata resolves them in `msg`: a backslash is dropped and the character after it
/// kept as it is.
pub(crate) fn unquote(value: &str) -> String {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// A `sid`, `rev` or `gid` value: decimal digits (a leading `+` is accepted, as Suricata's
/// `strtoul` does), at most 4294967294 (Suricata refuses 4294967295 itself), and at least
/// `min`.
pub(crate) fn number(option: &'static str, value: Option<&str>, min: u64) -> Result<u64, Reason> {
    let value = value.unwrap_or("");
    let bad = |why| Reason::BadNumber {
        option,
        value: excerpt(value),
        why,
    };
    if value.is_empty() {
        return Err(bad("a number is required"));
    }
    let digits = value.strip_prefix('+').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not a decimal number"));
    }
    // Leading zeros are allowed in any number; past them, more than 10 digits is too large.
    let significant = digits.trim_start_matches('0');
    let n = match significant.len() {
        0 => 0,
        1..=10 => significant
            .parse::<u64>()
            .map_err(|_| bad("not a decimal number"))?,
        _ => return Err(bad("over 4294967294")),
    };
    if n >= u64::from(u32::MAX) {
        return Err(bad("over 4294967294"));
    }
    if n < min {
        return Err(bad("0 is not allowed"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(body: &str) -> Result<Vec<(String, Option<String>)>, Reason> {
        Options::new(body)
            .map(|o| o.map(|o| (o.name.to_owned(), o.value.map(str::to_owned))))
            .collect()
    }

    #[test]
    fn splits_on_unescaped_semicolons() {
        let got = split(r#"msg:"a\;b"; content:"x"; nocase; sid : 7 ;"#).unwrap_or_default();
        assert_eq!(
            got,
            vec![
                ("msg".into(), Some(r#""a\;b""#.into())),
                ("content".into(), Some(r#""x""#.into())),
                ("nocase".into(), None),
                ("sid".into(), Some("7".into())),
            ]
        );
    }

    #[test]
    fn quotes_do_not_protect_a_semicolon() {
        assert!(matches!(
            split(r#"msg:"a;b"; sid:1;"#),
            Err(Reason::BadQuoting { option, .. }) if option == "msg"
        ));
    }

    #[test]
    fn structural_errors() {
        assert!(matches!(split("sid:1"), Err(Reason::UnterminatedOption(_))));
        assert_eq!(split("sid:1;;"), Err(Reason::EmptyOption));
        assert_eq!(split(";sid:1;"), Err(Reason::EmptyOption));
        assert!(matches!(
            split(r#"msg:"";"#),
            Err(Reason::BadQuoting { .. })
        ));
        assert!(matches!(
            split("bad name:1;"),
            Err(Reason::BadOptionName(_))
        ));
        assert!(split(r#"content:!"x"; msg:"a\\";"#).is_ok());
    }

    #[test]
    fn unquote_resolves_escapes() {
        assert_eq!(unquote(r#""a\;b \"c\" \\ \: \x""#), r#"a;b "c" \ : x"#);
        assert_eq!(unquote(r#""a"b""#), r#"a"b"#);
    }

    #[test]
    fn numbers_follow_suricata() {
        assert_eq!(number("sid", Some("7"), 1), Ok(7));
        assert_eq!(number("sid", Some("+07"), 1), Ok(7));
        assert_eq!(number("gid", Some("0"), 0), Ok(0));
        assert_eq!(number("sid", Some("4294967294"), 1), Ok(4294967294));
        for bad in [
            "0",
            "4294967295",
            "99999999999999999999999",
            "-7",
            "0x10",
            "7 8",
            "",
            "+",
        ] {
            assert!(number("sid", Some(bad), 1).is_err(), "{bad}");
        }
        assert!(number("sid", None, 1).is_err());
    }
}
