//! Entry path normalisation: the only way a tar entry's name becomes a path of this crate.

/// Why [`normalise`] refused a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRefusal {
    /// A NUL byte inside the path.
    Nul,
    /// A `..` component that would climb above the layer root.
    Escape,
    /// More components than `max_path_depth`.
    TooDeep { depth: usize, limit: usize },
    /// More bytes than `max_path_bytes`.
    TooLong { bytes: usize, limit: usize },
}

impl std::fmt::Display for PathRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathRefusal::Nul => write!(f, "the path contains a NUL byte"),
            PathRefusal::Escape => write!(f, "the path climbs above the layer root with '..'"),
            PathRefusal::TooDeep { depth, limit } => write!(
                f,
                "the path has {depth} components, over the limit max_path_depth = {limit}"
            ),
            PathRefusal::TooLong { bytes, limit } => write!(
                f,
                "the path has {bytes} bytes, over the limit max_path_bytes = {limit}"
            ),
        }
    }
}

/// Normalises a tar entry name to a path relative to the layer root: leading `/` and `./`
/// stripped, empty and `.` components dropped, `..` resolved lexically. The result never starts
/// with `/`, never has an empty, `.` or `..` component, and is empty for the root itself.
/// A `..` that would leave the root, a NUL, or a path over the depth or length bound is refused.
pub fn normalise(raw: &[u8], max_depth: usize, max_bytes: usize) -> Result<Vec<u8>, PathRefusal> {
    if raw.len() > max_bytes {
        return Err(PathRefusal::TooLong {
            bytes: raw.len(),
            limit: max_bytes,
        });
    }
    if raw.contains(&0) {
        return Err(PathRefusal::Nul);
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() {
                    return Err(PathRefusal::Escape);
                }
            }
            c => {
                parts.push(c);
                // Bounded while walking, so a path of a million `a/` is refused early.
                if parts.len() > max_depth {
                    return Err(PathRefusal::TooDeep {
                        depth: parts.len(),
                        limit: max_depth,
                    });
                }
            }
        }
    }
    Ok(parts.join(&b'/'))
}

/// [`normalise`] for text, e.g. a path asked of [`crate::Squashed`].
pub fn normalise_str(raw: &str, max_depth: usize, max_bytes: usize) -> Result<String, PathRefusal> {
    let v = normalise(raw.as_bytes(), max_depth, max_bytes)?;
    // Joining components split at '/' of valid UTF-8 is valid UTF-8.
    Ok(String::from_utf8_lossy(&v).into_owned())
}

/// The parent of a normalised path ("" for a top-level name) and its last component.
pub(crate) fn split_last(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// `parent/name`, or `name` at the root.
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Result<String, PathRefusal> {
        normalise_str(s, 8, 64)
    }

    #[test]
    fn strips_and_collapses() {
        assert_eq!(n("./etc/os-release").unwrap(), "etc/os-release");
        assert_eq!(n("/usr//lib/./x/").unwrap(), "usr/lib/x");
        assert_eq!(n("a/b/../c").unwrap(), "a/c");
        assert_eq!(n("./").unwrap(), "");
        assert_eq!(n("/").unwrap(), "");
    }

    #[test]
    fn refuses_escapes_nul_and_bounds() {
        assert_eq!(n("../../etc/passwd"), Err(PathRefusal::Escape));
        assert_eq!(n("a/../../b"), Err(PathRefusal::Escape));
        assert_eq!(n("/../etc"), Err(PathRefusal::Escape));
        assert_eq!(n("a\0b"), Err(PathRefusal::Nul));
        assert!(matches!(
            n("a/b/c/d/e/f/g/h/i"),
            Err(PathRefusal::TooDeep { .. })
        ));
        assert!(matches!(
            n(&"x".repeat(65)),
            Err(PathRefusal::TooLong { .. })
        ));
    }
}
