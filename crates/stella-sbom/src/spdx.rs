//! SPDX JSON 2.2 and 2.3.
//!
//! Packages are components. The purl is the `externalRefs` entry with `referenceType: purl`
//! (category `PACKAGE-MANAGER`; 2.2 documents also write `PACKAGE_MANAGER`).
//!
//! The described package (`documentDescribes`, or a `DESCRIBES` relationship from the
//! document) is the subject when it is the only one, exactly as CycloneDX's
//! `metadata.component`: npm's and Trivy's SPDX output describe the application or image
//! itself, with a purl, and reading it as a dependency would make the two formats of one
//! project disagree. When several packages are described, those without a purl are taken as
//! roots (directories, images) and skipped, the rest are read as components.
//!
//! Trivy writes the source package as `sourceInfo: "built package from: openssl 3.0.11-1"`
//! and layers as annotations (`LayerDigest: sha256:…`); an `OPERATING-SYSTEM` package names
//! the distribution and becomes [`crate::Sbom::os`].

use std::collections::HashSet;

use crate::collect::{name_or_purl, Collector};
use crate::error::SbomError;
use crate::json::{as_object, opt_array, opt_str, Object, Path};
use crate::{Component, Limits, OsInfo, Sbom, SbomType, Subject};

pub(crate) const SUPPORTED: &[&str] = &["2.2", "2.3"];
/// As the `spdxVersion` field spells them, for messages.
pub(crate) const SUPPORTED_NAMES: &[&str] = &["SPDX-2.2", "SPDX-2.3"];

pub(crate) fn read(doc: &Object, limits: &Limits) -> Result<Sbom, SbomError> {
    let root = Path::Root;
    let Some(spdx_version) = opt_str(doc, "spdxVersion", &root)? else {
        return Err(root
            .key("spdxVersion")
            .invalid("missing: an SPDX document names its version (SPDX-2.2 or SPDX-2.3)"));
    };
    let version = spdx_version.strip_prefix("SPDX-").unwrap_or(spdx_version);
    if !SUPPORTED.contains(&version) {
        return Err(SbomError::UnsupportedVersion {
            format: SbomType::SpdxJson,
            found: crate::error::excerpt(spdx_version),
            supported: SUPPORTED_NAMES,
        });
    }
    let doc_id = opt_str(doc, "SPDXID", &root)?.unwrap_or("SPDXRef-DOCUMENT");
    let described = described(doc, doc_id)?;
    let packages = opt_array(doc, "packages", &root)?.unwrap_or_default();
    let packages_path = root.key("packages");

    let mut out = Collector::new(limits);
    let mut subject = None;
    for (i, item) in packages.iter().enumerate() {
        let p = packages_path.index(i);
        let pkg = as_object(item, &p)?;
        out.count()?;
        let name = opt_str(pkg, "name", &p)?;
        let version = opt_str(pkg, "versionInfo", &p)?;
        let id = opt_str(pkg, "SPDXID", &p)?;
        if opt_str(pkg, "primaryPackagePurpose", &p)? == Some("OPERATING-SYSTEM") {
            if let (Some(family), Some(release), None) = (name, version, &out.os) {
                out.os = Some(OsInfo {
                    family: family.to_ascii_lowercase(),
                    name: release.to_owned(),
                });
            }
            continue;
        }
        let raw_purl = purl_ref(pkg, &p)?;
        let is_described = id.is_some_and(|id| described.contains(id));
        if is_described && (described.len() == 1 || raw_purl.is_none()) {
            if described.len() == 1 {
                subject = name.map(|n| Subject {
                    name: n.to_owned(),
                    version: version.map(str::to_owned),
                });
            }
            continue;
        }
        if name.is_none() && raw_purl.is_none() {
            return Err(p
                .key("name")
                .invalid("missing: every package needs a name or a purl"));
        }
        let purl = match raw_purl {
            Some((raw, j)) => {
                let refs = p.key("externalRefs");
                let r = refs.index(j);
                out.purl(Some(raw), &r.key("referenceLocator"))
            }
            None => None,
        };
        let (source_name, source_version) = match opt_str(pkg, "sourceInfo", &p)? {
            Some(info) => built_from(info),
            None => (None, None),
        };
        out.push(Component {
            name: name_or_purl(name, purl.as_ref(), raw_purl.map(|(raw, _)| raw)),
            version: version.map(str::to_owned),
            purl,
            ecosystem: None,
            source_name,
            source_version,
            layer: layer_annotation(pkg, &p)?,
            bom_ref: id.map(str::to_owned),
        });
    }
    Ok(out.finish(SbomType::SpdxJson, version, subject))
}

/// Ids the document describes: `documentDescribes` (2.2) and `DESCRIBES` / `DESCRIBED_BY`
/// relationships with the document (2.3).
fn described<'v>(doc: &'v Object, doc_id: &str) -> Result<HashSet<&'v str>, SbomError> {
    let root = Path::Root;
    let mut ids = HashSet::new();
    if let Some(list) = opt_array(doc, "documentDescribes", &root)? {
        let lp = root.key("documentDescribes");
        for (i, v) in list.iter().enumerate() {
            match v.as_str() {
                Some(s) => {
                    ids.insert(s);
                }
                None => {
                    return Err(lp
                        .index(i)
                        .invalid(format!("expected a string, found {}", crate::json::kind(v))))
                }
            }
        }
    }
    if let Some(list) = opt_array(doc, "relationships", &root)? {
        let lp = root.key("relationships");
        for (i, v) in list.iter().enumerate() {
            let rp = lp.index(i);
            let rel = as_object(v, &rp)?;
            let from = opt_str(rel, "spdxElementId", &rp)?;
            let to = opt_str(rel, "relatedSpdxElement", &rp)?;
            match (opt_str(rel, "relationshipType", &rp)?, from, to) {
                (Some("DESCRIBES"), Some(f), Some(t)) if f == doc_id => {
                    ids.insert(t);
                }
                (Some("DESCRIBED_BY"), Some(f), Some(t)) if t == doc_id => {
                    ids.insert(f);
                }
                _ => {}
            }
        }
    }
    Ok(ids)
}

/// The first purl among `externalRefs`, with its index for messages.
fn purl_ref<'v>(pkg: &'v Object, p: &Path) -> Result<Option<(&'v str, usize)>, SbomError> {
    let Some(refs) = opt_array(pkg, "externalRefs", p)? else {
        return Ok(None);
    };
    let refs_path = p.key("externalRefs");
    for (i, v) in refs.iter().enumerate() {
        let rp = refs_path.index(i);
        let r = as_object(v, &rp)?;
        if opt_str(r, "referenceType", &rp)? != Some("purl") {
            continue;
        }
        let category = opt_str(r, "referenceCategory", &rp)?;
        if !matches!(category, None | Some("PACKAGE-MANAGER" | "PACKAGE_MANAGER")) {
            continue;
        }
        if let Some(locator) = opt_str(r, "referenceLocator", &rp)? {
            return Ok(Some((locator, i)));
        }
    }
    Ok(None)
}

/// Trivy: `built package from: openssl 3.0.11-1~deb12u2`. Other tools put free text in
/// `sourceInfo` (Syft: "acquired package info from DPKG DB: …"), which is not a package.
fn built_from(info: &str) -> (Option<String>, Option<String>) {
    let Some(rest) = info.trim().strip_prefix("built package from:") else {
        return (None, None);
    };
    let mut words = rest.split_whitespace();
    let name = words.next().map(str::to_owned);
    let version = words.next().map(str::to_owned);
    (name, version)
}

/// Trivy annotations: `LayerDigest: sha256:…` (or `LayerDiffID`), possibly with the
/// `aquasecurity:trivy:` prefix.
fn layer_annotation(pkg: &Object, p: &Path) -> Result<Option<String>, SbomError> {
    let Some(list) = opt_array(pkg, "annotations", p)? else {
        return Ok(None);
    };
    let lp = p.key("annotations");
    let (mut digest, mut diff_id) = (None, None);
    for (i, v) in list.iter().enumerate() {
        let ap = lp.index(i);
        let a = as_object(v, &ap)?;
        let Some(comment) = opt_str(a, "comment", &ap)? else {
            continue;
        };
        let comment = comment
            .strip_prefix("aquasecurity:trivy:")
            .unwrap_or(comment);
        if let Some(d) = comment.strip_prefix("LayerDigest:") {
            digest.get_or_insert_with(|| d.trim().to_owned());
        } else if let Some(d) = comment.strip_prefix("LayerDiffID:") {
            diff_id.get_or_insert_with(|| d.trim().to_owned());
        }
    }
    Ok(digest.or(diff_id))
}
