//! `/etc/os-release` (and `/usr/lib/os-release`): which distribution and release an image is.
//! The format is shell-like `KEY=value` lines with optional quoting (os-release(5)).

use serde::{Deserialize, Serialize};

/// The fields of os-release that identify a distribution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OsRelease {
    /// `ID`, lowercase (`debian`, `ubuntu`, `alpine`, `rhel`, `almalinux`, `rocky`, `sles`,
    /// `opensuse-leap`...); `linux` when the file has none, as os-release(5) says.
    pub id: String,
    /// `ID_LIKE`, split on spaces.
    pub id_like: Vec<String>,
    /// `VERSION_ID` (`12`, `22.04`, `3.18.4`, `9.3`).
    pub version_id: Option<String>,
    /// `VERSION_CODENAME` (`bookworm`).
    pub version_codename: Option<String>,
    /// `NAME` (`Debian GNU/Linux`).
    pub name: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
}

/// Larger than any real os-release file; more is not read.
const MAX_BYTES: usize = 64 * 1024;
const MAX_VALUE: usize = 256;

/// Parses an os-release file. `None` when it holds none of the fields above (or is over
/// 64 KiB, which no real one is).
pub fn os_release(bytes: &[u8]) -> Option<OsRelease> {
    if bytes.len() > MAX_BYTES {
        return None;
    }
    let text = String::from_utf8_lossy(bytes);
    let mut os = OsRelease {
        id: String::new(),
        id_like: Vec::new(),
        version_id: None,
        version_codename: None,
        name: None,
        pretty_name: None,
    };
    let mut any = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        if value.is_empty() || value.len() > MAX_VALUE || value.chars().any(char::is_control) {
            continue;
        }
        match key.trim() {
            "ID" => os.id = value.to_ascii_lowercase(),
            "ID_LIKE" => {
                os.id_like = value
                    .split_whitespace()
                    .map(str::to_ascii_lowercase)
                    .collect()
            }
            "VERSION_ID" => os.version_id = Some(value),
            "VERSION_CODENAME" => os.version_codename = Some(value),
            "NAME" => os.name = Some(value),
            "PRETTY_NAME" => os.pretty_name = Some(value),
            _ => continue,
        }
        any = true;
    }
    if !any {
        return None;
    }
    if os.id.is_empty() {
        os.id = "linux".to_owned();
    }
    Some(os)
}

impl OsRelease {
    /// Whether packages of `kind` belong to this distribution's family (by `ID` or
    /// `ID_LIKE`), so that it names their namespace and release.
    pub fn fits(&self, kind: crate::Kind) -> bool {
        let families: &[&str] = match kind {
            crate::Kind::Deb => &["debian", "ubuntu"],
            crate::Kind::Apk => &["alpine", "wolfi", "chainguard"],
            crate::Kind::Rpm => &[
                "rhel",
                "fedora",
                "centos",
                "almalinux",
                "rocky",
                "ol",
                "amzn",
                "suse",
                "sles",
                "opensuse",
                "opensuse-leap",
                "opensuse-tumbleweed",
                "mariner",
                "azurelinux",
            ],
            _ => return true,
        };
        std::iter::once(&self.id)
            .chain(&self.id_like)
            .any(|id| families.contains(&id.as_str()))
    }

    /// The purl `distro` qualifier: `debian-12`, `alpine-3.18.4`, `debian-trixie` when there
    /// is no `VERSION_ID` (Debian testing).
    pub fn distro_qualifier(&self) -> Option<String> {
        let release = self
            .version_id
            .as_deref()
            .or(self.version_codename.as_deref())?;
        Some(format!("{}-{}", self.id, release))
    }
}

/// Strips one level of `"` or `'` quoting and undoes `\` escapes inside double quotes.
fn unquote(raw: &str) -> String {
    if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        out
    } else if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        inner.to_owned()
    } else {
        raw.to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn debian() {
        let os = os_release(
            b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
              VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        )
        .unwrap();
        assert_eq!(os.id, "debian");
        assert_eq!(os.version_id.as_deref(), Some("12"));
        assert_eq!(os.version_codename.as_deref(), Some("bookworm"));
        assert_eq!(os.name.as_deref(), Some("Debian GNU/Linux"));
        assert_eq!(os.distro_qualifier().as_deref(), Some("debian-12"));
    }

    #[test]
    fn quoting_comments_and_id_like() {
        let os = os_release(
            b"# comment\nID='rocky'\nID_LIKE=\"rhel centos fedora\"\nNAME=\"Say \\\"hi\\\"\"\n",
        )
        .unwrap();
        assert_eq!(os.id, "rocky");
        assert_eq!(os.id_like, ["rhel", "centos", "fedora"]);
        assert_eq!(os.name.as_deref(), Some("Say \"hi\""));
        assert_eq!(os.distro_qualifier(), None);
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(os_release(b""), None);
        assert_eq!(os_release(b"\xff\xfe\x00garbage"), None);
        assert_eq!(os_release(&vec![b'a'; MAX_BYTES + 1]), None);
        assert_eq!(os_release(b"VERSION_ID=1\n").unwrap().id, "linux");
    }
}
