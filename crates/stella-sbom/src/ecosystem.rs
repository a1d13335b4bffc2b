//! OSV ecosystem names (the `affected[].package.ecosystem` values a scanner looks advisories
//! up by), derived from a purl, or from a Trivy result type when a package has no purl.
//!
//! Distribution ecosystems carry the release where OSV splits advisories by it: `Debian:12`,
//! `Ubuntu:22.04:LTS`, `Alpine:v3.18`, `AlmaLinux:9`, `Rocky Linux:9`. The release comes from
//! the purl's `distro` qualifier, which producers spell differently (Trivy `debian-12.5` and
//! `3.18.4` for apk, Syft `debian-12` and `alpine-3.18.4`, the spec's own examples use
//! codenames such as `bookworm`), or else from the OS the document describes.

use crate::purl::Purl;
use crate::OsInfo;

/// The OSV ecosystem of a purl; `os` fills in the release when the purl has no `distro`.
pub fn for_purl(purl: &Purl, os: Option<&OsInfo>) -> Option<String> {
    let language = match purl.ty() {
        "pypi" => "PyPI",
        "golang" => "Go",
        "npm" => "npm",
        "cargo" => "crates.io",
        "maven" => "Maven",
        "nuget" => "NuGet",
        "gem" => "RubyGems",
        "composer" => "Packagist",
        "pub" => "Pub",
        "cran" => "CRAN",
        "hackage" => "Hackage",
        "hex" => "Hex",
        "swift" => "SwiftURL",
        "deb" | "apk" | "rpm" => {
            let family = purl.namespace().map(str::to_ascii_lowercase).or_else(|| {
                // Without a namespace only the distro qualifier can tell apk's flavour.
                let distro = purl.qualifier("distro")?.to_ascii_lowercase();
                (purl.ty() == "apk" && distro.starts_with("alpine")).then(|| "alpine".to_owned())
            })?;
            let release = purl.qualifier("distro").map(str::to_owned).or_else(|| {
                os.filter(|os| os.family.eq_ignore_ascii_case(&family))
                    .map(|os| os.name.clone())
            });
            return for_distro(&family, release.as_deref());
        }
        _ => return None,
    };
    Some(language.to_owned())
}

/// The OSV ecosystem for a Trivy `Results[].Type`, for packages that came without a purl.
/// Operating-system results name the distribution; `os` gives its release.
pub fn for_trivy_type(ty: &str, os: Option<&OsInfo>) -> Option<String> {
    let language = match ty {
        "pip" | "pipenv" | "poetry" | "uv" | "python-pkg" => "PyPI",
        "npm" | "yarn" | "pnpm" | "bun" | "node-pkg" => "npm",
        "cargo" | "rust-binary" | "rustbinary" => "crates.io",
        "gomod" | "gobinary" => "Go",
        "jar" | "pom" | "gradle" | "sbt" => "Maven",
        "nuget" | "dotnet-core" | "packages-props" => "NuGet",
        "bundler" | "gemspec" => "RubyGems",
        "composer" | "composer-vendor" => "Packagist",
        "pub" => "Pub",
        "hex" => "Hex",
        "swift" => "SwiftURL",
        family => {
            let release = os
                .filter(|os| os.family.eq_ignore_ascii_case(family))
                .map(|os| os.name.as_str());
            return for_distro(family, release);
        }
    };
    Some(language.to_owned())
}

/// `family` is a purl namespace or an OS family as Trivy names it; `release` a `distro`
/// qualifier or an OS version.
fn for_distro(family: &str, release: Option<&str>) -> Option<String> {
    let release = release.map(|r| strip_family(r.trim()));
    match family {
        "debian" => Some(with_release("Debian", release.and_then(debian_release))),
        "ubuntu" => Some(with_release("Ubuntu", release.and_then(ubuntu_release))),
        "alpine" => Some(with_release(
            "Alpine",
            release.and_then(|r| major_minor(r).map(|v| format!("v{v}"))),
        )),
        "wolfi" => Some("Wolfi".to_owned()),
        "chainguard" => Some("Chainguard".to_owned()),
        "alma" | "almalinux" => Some(with_release("AlmaLinux", release.and_then(major))),
        "rocky" | "rockylinux" => Some(with_release("Rocky Linux", release.and_then(major))),
        // OSV splits Red Hat and SUSE advisories by product streams that a distro qualifier
        // does not name, so these stay at the distribution.
        "redhat" | "rhel" => Some("Red Hat".to_owned()),
        "suse" | "sles" | "sle" => Some("SUSE".to_owned()),
        f if f.starts_with("opensuse") => Some("openSUSE".to_owned()),
        _ => None,
    }
}

fn with_release(name: &str, release: Option<String>) -> String {
    match release {
        Some(r) => format!("{name}:{r}"),
        None => name.to_owned(),
    }
}

/// `debian-12.5` → `12.5`, `alpine-3.18.4` → `3.18.4`, `bookworm` → `bookworm`.
fn strip_family(distro: &str) -> &str {
    match distro.split_once('-') {
        Some((family, rest)) if family.chars().all(|c| c.is_ascii_alphabetic()) => rest,
        _ => distro,
    }
}

fn numeric_parts(release: &str) -> Vec<&str> {
    release
        .split(|c: char| !c.is_ascii_digit())
        .take_while(|p| !p.is_empty())
        .collect()
}

fn major(release: &str) -> Option<String> {
    numeric_parts(release).first().map(|s| (*s).to_owned())
}

fn major_minor(release: &str) -> Option<String> {
    match numeric_parts(release).as_slice() {
        [maj, min, ..] => Some(format!("{maj}.{min}")),
        _ => None,
    }
}

fn debian_release(release: &str) -> Option<String> {
    let by_codename = match release.to_ascii_lowercase().as_str() {
        "jessie" => Some("8"),
        "stretch" => Some("9"),
        "buster" => Some("10"),
        "bullseye" => Some("11"),
        "bookworm" => Some("12"),
        "trixie" => Some("13"),
        "forky" => Some("14"),
        _ => None,
    };
    by_codename.map(str::to_owned).or_else(|| major(release))
}

fn ubuntu_release(release: &str) -> Option<String> {
    let by_codename = match release.to_ascii_lowercase().as_str() {
        "xenial" => Some("16.04"),
        "bionic" => Some("18.04"),
        "focal" => Some("20.04"),
        "jammy" => Some("22.04"),
        "noble" => Some("24.04"),
        _ => None,
    };
    let version = by_codename
        .map(str::to_owned)
        .or_else(|| major_minor(release))?;
    // OSV names the long-term-support releases (even years, April) `Ubuntu:22.04:LTS`.
    let lts = version
        .split_once('.')
        .and_then(|(y, m)| Some(y.parse::<u32>().ok()? % 2 == 0 && m == "04"))
        .unwrap_or(false);
    Some(if lts {
        format!("{version}:LTS")
    } else {
        version
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn eco(purl: &str) -> Option<String> {
        for_purl(&Purl::parse(purl).unwrap(), None)
    }

    #[test]
    fn language_ecosystems() {
        assert_eq!(eco("pkg:pypi/django@2.2.1").as_deref(), Some("PyPI"));
        assert_eq!(
            eco("pkg:golang/github.com/a/b@v1.0.0").as_deref(),
            Some("Go")
        );
        assert_eq!(eco("pkg:npm/lodash@4.17.4").as_deref(), Some("npm"));
        assert_eq!(eco("pkg:cargo/serde@1.0.0").as_deref(), Some("crates.io"));
        assert_eq!(eco("pkg:maven/org.a/b@1").as_deref(), Some("Maven"));
        assert_eq!(
            eco("pkg:nuget/Newtonsoft.Json@13.0.1").as_deref(),
            Some("NuGet")
        );
        assert_eq!(eco("pkg:gem/rails@7.0.0").as_deref(), Some("RubyGems"));
        assert_eq!(
            eco("pkg:composer/laravel/framework@10.0.0").as_deref(),
            Some("Packagist")
        );
        assert_eq!(eco("pkg:pub/http@1.0.0").as_deref(), Some("Pub"));
        assert_eq!(eco("pkg:cran/dplyr@1.1.0").as_deref(), Some("CRAN"));
        assert_eq!(eco("pkg:hackage/aeson@2.0.0").as_deref(), Some("Hackage"));
        assert_eq!(eco("pkg:generic/openssl@3.0.0"), None);
        assert_eq!(eco("pkg:github/package-url/purl-spec@1"), None);
    }

    #[test]
    fn distribution_ecosystems_carry_the_release() {
        assert_eq!(
            eco("pkg:deb/debian/libssl3@3.0.11-1?distro=debian-12").as_deref(),
            Some("Debian:12")
        );
        assert_eq!(
            eco("pkg:deb/debian/libssl3@3.0.11-1?distro=debian-12.5").as_deref(),
            Some("Debian:12")
        );
        assert_eq!(
            eco("pkg:deb/debian/curl@7.50.3-1?distro=jessie").as_deref(),
            Some("Debian:8")
        );
        assert_eq!(
            eco("pkg:deb/debian/curl@7.50.3-1").as_deref(),
            Some("Debian")
        );
        assert_eq!(
            eco("pkg:deb/ubuntu/libc6@2.35?distro=ubuntu-22.04").as_deref(),
            Some("Ubuntu:22.04:LTS")
        );
        assert_eq!(
            eco("pkg:deb/ubuntu/libc6@2.38?distro=ubuntu-23.10").as_deref(),
            Some("Ubuntu:23.10")
        );
        assert_eq!(
            eco("pkg:apk/alpine/musl@1.2.4-r2?distro=alpine-3.18.4").as_deref(),
            Some("Alpine:v3.18")
        );
        assert_eq!(
            eco("pkg:apk/alpine/musl@1.2.4-r2?distro=3.18.4").as_deref(),
            Some("Alpine:v3.18")
        );
        assert_eq!(
            eco("pkg:apk/musl@1.2.4-r2?distro=alpine-3.19.1").as_deref(),
            Some("Alpine:v3.19")
        );
        assert_eq!(
            eco("pkg:rpm/redhat/openssl@1.1.1k-7.el8?distro=redhat-8.6").as_deref(),
            Some("Red Hat")
        );
        assert_eq!(
            eco("pkg:rpm/almalinux/openssl@3.0.7-25.el9?distro=almalinux-9.3").as_deref(),
            Some("AlmaLinux:9")
        );
        assert_eq!(
            eco("pkg:rpm/alma/openssl@3.0.7-25.el9?distro=alma-9.3").as_deref(),
            Some("AlmaLinux:9")
        );
        assert_eq!(
            eco("pkg:rpm/rocky/openssl@3.0.7-25.el9?distro=rocky-9.3").as_deref(),
            Some("Rocky Linux:9")
        );
        assert_eq!(eco("pkg:rpm/suse/openssl@3.0.8").as_deref(), Some("SUSE"));
        assert_eq!(
            eco("pkg:rpm/opensuse/openssl@3.0.8").as_deref(),
            Some("openSUSE")
        );
        assert_eq!(eco("pkg:rpm/fedora/openssl@3.0.8"), None);
    }

    #[test]
    fn the_documents_os_fills_a_missing_distro() {
        let os = OsInfo {
            family: "debian".to_owned(),
            name: "12.5".to_owned(),
        };
        let purl = Purl::parse("pkg:deb/debian/libssl3@3.0.11-1").unwrap();
        assert_eq!(for_purl(&purl, Some(&os)).as_deref(), Some("Debian:12"));
        assert_eq!(
            for_trivy_type("debian", Some(&os)).as_deref(),
            Some("Debian:12")
        );
        assert_eq!(
            for_trivy_type("python-pkg", Some(&os)).as_deref(),
            Some("PyPI")
        );
        assert_eq!(for_trivy_type("conda-pkg", Some(&os)), None);
    }
}
