//! A catalogued package, its package URL and its OSV ecosystem.

use serde::{Deserialize, Serialize};
use stella_sbom::Purl;

use crate::OsRelease;

/// Which packaging system a package belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Deb,
    Apk,
    Rpm,
    Python,
    Npm,
    Cargo,
    /// Go modules, and the Go toolchain itself as the module `stdlib`.
    Go,
    Maven,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deb => "deb",
            Kind::Apk => "apk",
            Kind::Rpm => "rpm",
            Kind::Python => "python",
            Kind::Npm => "npm",
            Kind::Cargo => "cargo",
            Kind::Go => "go",
            Kind::Maven => "maven",
        }
    }

    /// Packages of the distribution rather than of a language ecosystem.
    pub fn is_os(self) -> bool {
        matches!(self, Kind::Deb | Kind::Apk | Kind::Rpm)
    }
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Package {
    /// The name OSV knows it by: the binary package (dpkg, apk, RPM), the project name as
    /// declared (Python; the purl normalises it), `@scope/name` (npm), the crate, the module
    /// path or `stdlib` (Go), `groupId:artifactId` (Maven).
    pub name: String,
    /// As the packaging system writes it: `1:2.3-4` (dpkg, with its epoch), `2.3-r4` (apk),
    /// `[epoch:]version-release` (RPM), `v1.2.3` (Go modules; the Go toolchain's `stdlib` is
    /// `1.22.1`, as OSV's Go records write it).
    pub version: String,
    pub kind: Kind,
    /// The file it came from, as handed to [`catalogue`](crate::catalogue).
    pub path: String,
    /// The distribution source package: dpkg `Source:` (or the package itself), apk origin,
    /// the RPM's source RPM name. What Debian, Ubuntu and Alpine advisories name.
    pub source_name: Option<String>,
    pub source_version: Option<String>,
    /// OS packages' architecture (`amd64`, `x86_64`, `noarch`).
    pub arch: Option<String>,
    /// RPM epoch, also at the front of [`Package::version`].
    pub epoch: Option<u64>,
    /// Where a language package came from when that is not the ecosystem's public registry
    /// (a Cargo git source or alternative registry). Such packages have no OSV ecosystem.
    pub repository: Option<String>,
}

impl Package {
    pub(crate) fn new(kind: Kind, name: &str, version: &str, path: &str) -> Self {
        Package {
            name: name.to_owned(),
            version: version.to_owned(),
            kind,
            path: path.to_owned(),
            source_name: None,
            source_version: None,
            arch: None,
            epoch: None,
            repository: None,
        }
    }

    /// Why this package cannot be reported, if it cannot.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        let bad = |s: &str| s.chars().any(|c| c.is_control() || c == '\u{FFFD}');
        if self.name.trim().is_empty() {
            Some("no name")
        } else if self.version.trim().is_empty() {
            Some("no version")
        } else if bad(&self.name) || bad(&self.version) {
            Some("the name or version holds control characters or invalid UTF-8")
        } else {
            None
        }
    }

    /// The package URL. OS packages take their namespace and `distro` qualifier from `os`
    /// when it is of their family (`debian`, `alpine` or no namespace for RPM otherwise). `None` only when the
    /// name cannot make a purl.
    pub fn purl(&self, os: Option<&OsRelease>) -> Option<Purl> {
        let mut quals: Vec<(&str, String)> = Vec::new();
        let os = os.filter(|os| os.fits(self.kind));
        let distro = os.and_then(OsRelease::distro_qualifier);
        let os_id = os.map(|os| os.id.to_ascii_lowercase());
        let (ty, namespace, name, version): (&str, Option<String>, String, String) = match self.kind
        {
            Kind::Deb | Kind::Apk => {
                let (ty, default_ns) = if self.kind == Kind::Deb {
                    ("deb", "debian")
                } else {
                    ("apk", "alpine")
                };
                if let Some(arch) = &self.arch {
                    quals.push(("arch", arch.clone()));
                }
                if let Some(d) = distro {
                    quals.push(("distro", d));
                }
                if let Some(upstream) = self.upstream() {
                    quals.push(("upstream", upstream));
                }
                let ns = os_id.unwrap_or_else(|| default_ns.to_owned());
                (ty, Some(ns), self.name.clone(), self.version.clone())
            }
            Kind::Rpm => {
                if let Some(arch) = &self.arch {
                    quals.push(("arch", arch.clone()));
                }
                if let Some(e) = self.epoch {
                    quals.push(("epoch", e.to_string()));
                }
                if let Some(d) = distro {
                    quals.push(("distro", d));
                }
                if let (Some(n), Some(v)) = (&self.source_name, &self.source_version) {
                    quals.push(("upstream", format!("{n}-{v}.src.rpm")));
                }
                let version = match self.epoch {
                    Some(e) => self
                        .version
                        .strip_prefix(&format!("{e}:"))
                        .unwrap_or(&self.version)
                        .to_owned(),
                    None => self.version.clone(),
                };
                (
                    "rpm",
                    os_id.map(|id| rpm_namespace(&id)),
                    self.name.clone(),
                    version,
                )
            }
            Kind::Python => ("pypi", None, pep503(&self.name), self.version.clone()),
            Kind::Npm => match self.name.strip_prefix('@').and_then(|s| s.split_once('/')) {
                Some((scope, name)) => (
                    "npm",
                    Some(format!("@{scope}")),
                    name.to_owned(),
                    self.version.clone(),
                ),
                None => ("npm", None, self.name.clone(), self.version.clone()),
            },
            Kind::Cargo => {
                if let Some(repo) = &self.repository {
                    quals.push(("repository_url", repo.clone()));
                }
                ("cargo", None, self.name.clone(), self.version.clone())
            }
            Kind::Go => match self.name.rsplit_once('/') {
                Some((ns, name)) => (
                    "golang",
                    Some(ns.to_owned()),
                    name.to_owned(),
                    self.version.clone(),
                ),
                None => ("golang", None, self.name.clone(), self.version.clone()),
            },
            Kind::Maven => match self.name.split_once(':') {
                Some((group, artifact)) => (
                    "maven",
                    Some(group.to_owned()),
                    artifact.to_owned(),
                    self.version.clone(),
                ),
                None => ("maven", None, self.name.clone(), self.version.clone()),
            },
        };
        Purl::from_parts(
            ty,
            namespace.as_deref(),
            &name,
            Some(&version),
            quals.iter().map(|(k, v)| (*k, v.as_str())),
            None,
        )
        .ok()
    }

    /// The OSV ecosystem: `Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.18`, `Red Hat`,
    /// `AlmaLinux:9`, `Rocky Linux:9`, `SUSE`, `openSUSE`, `PyPI`, `npm`, `crates.io`, `Go`,
    /// `Maven`. OS packages need `os` for the distribution and release; `None` when it is
    /// unknown or OSV has no ecosystem for it (Fedora, CentOS), and for Cargo packages from
    /// elsewhere than crates.io. The rules are stella-sbom's, so scanned images and uploaded
    /// SBOMs agree.
    pub fn ecosystem(&self, os: Option<&OsRelease>) -> Option<String> {
        match self.kind {
            Kind::Deb | Kind::Apk | Kind::Rpm => {
                os?;
                // With an os-release of another family (an apk database in a Debian image)
                // the purl has the package type's own family and no release.
                let purl = self.purl(os)?;
                stella_sbom::ecosystem::for_purl(&purl, None)
            }
            Kind::Python => Some("PyPI".to_owned()),
            Kind::Npm => Some("npm".to_owned()),
            Kind::Cargo => self.repository.is_none().then(|| "crates.io".to_owned()),
            Kind::Go => Some("Go".to_owned()),
            Kind::Maven => Some("Maven".to_owned()),
        }
    }

    /// The purl `upstream` qualifier of dpkg and apk packages: the source package, with its
    /// version when that differs from the binary's.
    fn upstream(&self) -> Option<String> {
        let source = self.source_name.as_deref()?;
        let version = self
            .source_version
            .as_deref()
            .filter(|v| *v != self.version);
        match version {
            Some(v) => Some(format!("{source}@{v}")),
            None if source != self.name => Some(source.to_owned()),
            None => None,
        }
    }
}

/// os-release IDs to the purl namespaces OSV's ecosystems are derived from.
fn rpm_namespace(id: &str) -> String {
    match id {
        "rhel" => "redhat".to_owned(),
        "sles" | "sled" | "sle-micro" => "suse".to_owned(),
        other => other.to_owned(),
    }
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` become one `-`.
pub(crate) fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::os_release;

    fn os(text: &str) -> OsRelease {
        os_release(text.as_bytes()).unwrap()
    }

    #[test]
    fn deb_purl_and_ecosystem() {
        let debian = os("ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n");
        let mut p = Package::new(
            Kind::Deb,
            "libssl3",
            "3.0.11-1~deb12u2",
            "var/lib/dpkg/status",
        );
        p.arch = Some("amd64".into());
        p.source_name = Some("openssl".into());
        p.source_version = Some("3.0.11-1~deb12u2".into());
        assert_eq!(
            p.purl(Some(&debian)).unwrap().to_string(),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
        );
        assert_eq!(p.ecosystem(Some(&debian)).as_deref(), Some("Debian:12"));
        assert_eq!(p.ecosystem(None), None);
        let ubuntu = os("ID=ubuntu\nVERSION_ID=\"22.04\"\n");
        assert_eq!(
            p.ecosystem(Some(&ubuntu)).as_deref(),
            Some("Ubuntu:22.04:LTS")
        );
        p.source_version = Some("3.0.11".into());
        assert!(p
            .purl(None)
            .unwrap()
            .to_string()
            .ends_with("upstream=openssl%403.0.11"));
    }

    #[test]
    fn apk_and_rpm_purls() {
        let alpine = os("ID=alpine\nVERSION_ID=3.18.4\n");
        let mut p = Package::new(Kind::Apk, "libcrypto3", "3.1.4-r0", "lib/apk/db/installed");
        p.arch = Some("x86_64".into());
        p.source_name = Some("openssl".into());
        p.source_version = Some("3.1.4-r0".into());
        assert_eq!(
            p.purl(Some(&alpine)).unwrap().to_string(),
            "pkg:apk/alpine/libcrypto3@3.1.4-r0?arch=x86_64&distro=alpine-3.18.4&upstream=openssl"
        );
        assert_eq!(p.ecosystem(Some(&alpine)).as_deref(), Some("Alpine:v3.18"));

        let mut r = Package::new(Kind::Rpm, "openssl-libs", "1:3.0.7-25.el9", "x");
        r.epoch = Some(1);
        r.arch = Some("x86_64".into());
        r.source_name = Some("openssl".into());
        r.source_version = Some("3.0.7-25.el9".into());
        let rhel = os("ID=\"rhel\"\nVERSION_ID=\"9.3\"\n");
        assert_eq!(
            r.purl(Some(&rhel)).unwrap().to_string(),
            "pkg:rpm/redhat/openssl-libs@3.0.7-25.el9?arch=x86_64&distro=rhel-9.3&epoch=1\
             &upstream=openssl-3.0.7-25.el9.src.rpm"
        );
        assert_eq!(r.ecosystem(Some(&rhel)).as_deref(), Some("Red Hat"));
        for (text, eco) in [
            ("ID=almalinux\nVERSION_ID=9.3\n", Some("AlmaLinux:9")),
            ("ID=rocky\nVERSION_ID=\"9.3\"\n", Some("Rocky Linux:9")),
            (
                "ID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"\n",
                Some("openSUSE"),
            ),
            ("ID=\"sles\"\nVERSION_ID=\"15.5\"\n", Some("SUSE")),
            ("ID=fedora\nVERSION_ID=39\n", None),
        ] {
            assert_eq!(r.ecosystem(Some(&os(text))).as_deref(), eco, "{text}");
        }
    }

    #[test]
    fn language_purls() {
        let p = |kind, name: &str, version: &str| {
            Package::new(kind, name, version, "f")
                .purl(None)
                .unwrap()
                .to_string()
        };
        assert_eq!(
            p(Kind::Python, "Foo.Bar__baz", "1.0"),
            "pkg:pypi/foo-bar-baz@1.0"
        );
        assert_eq!(
            p(Kind::Npm, "@babel/core", "7.0.0"),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(p(Kind::Npm, "lodash", "4.17.21"), "pkg:npm/lodash@4.17.21");
        assert_eq!(p(Kind::Cargo, "serde", "1.0.0"), "pkg:cargo/serde@1.0.0");
        assert_eq!(
            p(Kind::Go, "github.com/nats-io/nats.go", "v1.31.0"),
            "pkg:golang/github.com/nats-io/nats.go@v1.31.0"
        );
        assert_eq!(p(Kind::Go, "stdlib", "1.22.1"), "pkg:golang/stdlib@1.22.1");
        assert_eq!(
            p(Kind::Maven, "org.apache.logging.log4j:log4j-core", "2.14.1"),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        let mut git = Package::new(Kind::Cargo, "x", "0.1.0", "f");
        git.repository = Some("git+https://example.com/x".into());
        assert_eq!(git.ecosystem(None), None);
        assert_eq!(
            Package::new(Kind::Go, "stdlib", "1.22.1", "f")
                .ecosystem(None)
                .as_deref(),
            Some("Go")
        );
    }

    #[test]
    fn pep503_normalises() {
        assert_eq!(pep503("Django"), "django");
        assert_eq!(pep503("zope.interface"), "zope-interface");
        assert_eq!(pep503("a-_.b"), "a-b");
    }
}
