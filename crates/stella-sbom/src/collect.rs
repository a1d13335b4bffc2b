//! What the three format readers share: counting components against the limit, turning purl
//! strings into [`Purl`]s (a broken one becomes a warning, not an error), and the final pass
//! that fills in ecosystems and source packages and merges duplicates.

use std::collections::HashMap;

use crate::error::{Limit, SbomError};
use crate::json::{quoted, Path};
use crate::{ecosystem, Component, Limits, OsInfo, Purl, Sbom, SbomType, Subject};

/// Past this many, warnings are counted rather than listed, so a response stays small.
const MAX_WARNINGS: usize = 100;

pub(crate) struct Collector<'l> {
    limits: &'l Limits,
    /// Components as the readers found them, before the document-wide pass (`complete`).
    found: Vec<Component>,
    warnings: Vec<String>,
    warnings_dropped: usize,
    entries: usize,
    pub os: Option<OsInfo>,
}

impl<'l> Collector<'l> {
    pub fn new(limits: &'l Limits) -> Self {
        Collector {
            limits,
            found: Vec::new(),
            warnings: Vec::new(),
            warnings_dropped: 0,
            entries: 0,
            os: None,
        }
    }

    pub fn limits(&self) -> &Limits {
        self.limits
    }

    /// Counts one component entry; called before the entry is read, so that a document with
    /// millions of entries stops at the limit rather than after reading them all.
    pub fn count(&mut self) -> Result<(), SbomError> {
        self.entries += 1;
        if self.entries > self.limits.max_components {
            return Err(SbomError::TooLarge {
                limit: Limit::Components,
                max: self.limits.max_components,
            });
        }
        Ok(())
    }

    pub fn warn(&mut self, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        } else {
            self.warnings_dropped += 1;
        }
    }

    /// A purl from the document; a malformed one is a warning and the component goes on
    /// without it.
    pub fn purl(&mut self, raw: Option<&str>, path: &Path) -> Option<Purl> {
        let raw = raw?;
        match Purl::parse(raw) {
            Ok(p) => Some(p),
            Err(e) => {
                let reason = match e {
                    SbomError::InvalidPurl { reason, .. } => reason,
                    other => other.to_string(),
                };
                self.warn(format!(
                    "{path}: {} is not a valid purl ({reason}); the component is kept without it",
                    quoted(raw)
                ));
                None
            }
        }
    }

    pub fn push(&mut self, found: Component) {
        self.found.push(found);
    }

    pub fn finish(mut self, kind: SbomType, spec_version: &str, subject: Option<Subject>) -> Sbom {
        let os = self.os.take();
        let mut components: Vec<Component> = Vec::with_capacity(self.found.len());
        let mut index: HashMap<Key, usize> = HashMap::new();
        for f in self.found {
            let mut c = complete(f, os.as_ref());
            let key = Key::of(&c);
            match index.get(&key) {
                // Same package listed twice (several layers, several Trivy results): the
                // first occurrence wins, later ones only fill what it lacks.
                Some(&i) => {
                    let first = &mut components[i];
                    first.source_name = first.source_name.take().or(c.source_name.take());
                    first.source_version = first.source_version.take().or(c.source_version.take());
                    first.layer = first.layer.take().or(c.layer.take());
                    first.bom_ref = first.bom_ref.take().or(c.bom_ref.take());
                }
                None => {
                    index.insert(key, components.len());
                    components.push(c);
                }
            }
        }
        if self.warnings_dropped > 0 {
            self.warnings
                .push(format!("... and {} more warnings", self.warnings_dropped));
        }
        Sbom {
            kind,
            spec_version: spec_version.to_owned(),
            subject,
            os,
            components,
            warnings: self.warnings,
        }
    }
}

#[derive(PartialEq, Eq, Hash)]
enum Key {
    Purl(String),
    Named(String, Option<String>, Option<String>),
}

impl Key {
    fn of(c: &Component) -> Key {
        match &c.purl {
            Some(p) => Key::Purl(p.to_string()),
            None => Key::Named(c.name.clone(), c.version.clone(), c.ecosystem.clone()),
        }
    }
}

/// What the document as a whole adds to a component as its reader found it: the version, the
/// ecosystem (with the distro release) and the source package its purl implies.
fn complete(mut c: Component, os: Option<&OsInfo>) -> Component {
    if let Some(purl) = &c.purl {
        if c.version.is_none() {
            c.version = purl.version().map(str::to_owned);
        }
        if let Some(eco) = ecosystem::for_purl(purl, os) {
            c.ecosystem = Some(eco);
        }
        if c.source_name.is_none() {
            if let Some((name, version)) = upstream(purl) {
                c.source_name = Some(name);
                c.source_version = version;
            }
        }
    }
    c
}

/// A component's name when the document gives none: the purl's, or, when the purl is broken
/// too, the purl text itself, so the component is still reported under something its
/// author can find.
pub(crate) fn name_or_purl(
    name: Option<&str>,
    purl: Option<&Purl>,
    raw_purl: Option<&str>,
) -> String {
    match (name, purl, raw_purl) {
        (Some(n), _, _) => n.to_owned(),
        (None, Some(p), _) => p.name().to_owned(),
        (None, None, Some(raw)) => crate::error::excerpt(raw),
        (None, None, None) => String::new(),
    }
}

/// The source package a distro purl names in its `upstream` qualifier: `openssl` or
/// `openssl@3.0.11-1` (deb, apk), or a source RPM file name `openssl-3.0.7-25.el9.src.rpm`.
fn upstream(purl: &Purl) -> Option<(String, Option<String>)> {
    let up = purl.qualifier("upstream")?.trim();
    if up.is_empty() {
        return None;
    }
    if purl.ty() == "rpm" {
        if let Some(stem) = up.strip_suffix(".src.rpm") {
            // name-version-release: the name may itself contain dashes.
            let (rest, release) = stem.rsplit_once('-')?;
            let (name, version) = rest.rsplit_once('-')?;
            return Some((name.to_owned(), Some(format!("{version}-{release}"))));
        }
    }
    Some(match up.split_once('@') {
        Some((name, version)) if !name.is_empty() => (
            name.to_owned(),
            (!version.is_empty()).then(|| version.to_owned()),
        ),
        _ => (up.to_owned(), None),
    })
}

/// `[epoch:]version[-release]`, the way dpkg and rpm print a full version; an epoch of 0 is
/// left out as both tools do.
pub(crate) fn full_version(
    version: Option<&str>,
    release: Option<&str>,
    epoch: Option<u64>,
) -> Option<String> {
    let mut v = version?.to_owned();
    if let Some(r) = release {
        v = format!("{v}-{r}");
    }
    match epoch {
        Some(e) if e > 0 => Some(format!("{e}:{v}")),
        _ => Some(v),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn upstream_qualifier_forms() {
        let p = |s: &str| Purl::parse(s).unwrap();
        assert_eq!(
            upstream(&p("pkg:deb/debian/libssl3@3.0.11-1?upstream=openssl")),
            Some(("openssl".to_owned(), None))
        );
        assert_eq!(
            upstream(&p(
                "pkg:deb/debian/libssl3@3.0.11-1?upstream=openssl%403.0.11-1"
            )),
            Some(("openssl".to_owned(), Some("3.0.11-1".to_owned())))
        );
        assert_eq!(
            upstream(&p(
                "pkg:rpm/redhat/openssl-libs@3.0.7-25.el9?upstream=openssl-3.0.7-25.el9.src.rpm"
            )),
            Some(("openssl".to_owned(), Some("3.0.7-25.el9".to_owned())))
        );
        assert_eq!(upstream(&p("pkg:deb/debian/curl@1")), None);
    }

    #[test]
    fn full_versions() {
        assert_eq!(
            full_version(Some("1.1.1k"), Some("7.el8"), Some(1)).as_deref(),
            Some("1:1.1.1k-7.el8")
        );
        assert_eq!(
            full_version(Some("3.0.11-1"), None, Some(0)).as_deref(),
            Some("3.0.11-1")
        );
        assert_eq!(full_version(None, Some("7"), Some(1)), None);
    }
}
