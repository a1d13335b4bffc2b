//! An image's packages, layer by layer: the same code on the server (`POST /scan` of an image)
//! and in `santech --delta` (which catalogues layers locally and sends only those the server
//! has not seen).
//!
//! * [`catalogue_layer`] walks one layer (`stella-image`: bounded, no escapes, digests checked)
//!   and reads every file a cataloguer wants (`stella-catalog`), giving a [`LayerDoc`]: the
//!   packages per file, the layer's whiteouts, opaque directories, symlinks and os-release
//!   files. A file a cataloguer cannot read is a warning, not a failed scan.
//! * A [`LayerDoc`] travels as a CycloneDX 1.5 document ([`LayerDoc::to_cyclonedx`],
//!   [`LayerDoc::from_cyclonedx`]): a valid SBOM of the layer, with the file-level detail a
//!   squash needs in `stella:` properties.
//! * [`squash`] applies the layers in order as the container runtime would (a later file
//!   replaces an earlier one, whiteouts and opaque directories delete), and attributes each
//!   package to the layer that first installed it (a package database rewritten by every
//!   layer keeps its older packages' layers). The OS is `etc/os-release`, following symlinks
//!   within the image, else `usr/lib/os-release`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use stella_catalog::{OsRelease, Package};
use stella_image::{Archive, LayerVisitor, Want};

/// Most warnings kept per layer.
const MAX_WARNINGS: usize = 200;
/// Symlinks followed to find os-release.
const MAX_HOPS: usize = 40;
/// Packages a layer document may carry.
pub const MAX_PACKAGES: usize = 200_000;

/// What one layer adds, removes and links.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerDoc {
    /// `sha256:` of the uncompressed layer (the config's `diff_id`).
    pub diff_id: String,
    /// Packages per file that a cataloguer read.
    pub files: BTreeMap<String, Vec<Package>>,
    /// os-release files of this layer, parsed.
    pub os_releases: BTreeMap<String, OsRelease>,
    pub symlinks: BTreeMap<String, String>,
    /// Paths this layer deletes from lower layers.
    pub whiteouts: Vec<String>,
    /// Directories whose lower-layer contents this layer hides.
    pub opaque_dirs: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error(transparent)]
    Image(#[from] stella_image::ImageError),
    #[error("layer document {path}: {msg}")]
    Doc { path: String, msg: String },
}

impl LayerError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LayerError::Image(e) => e.code(),
            LayerError::Doc { .. } => "layer-sbom-invalid",
        }
    }
}

struct Visitor<'a> {
    limits: &'a stella_catalog::Limits,
    doc: LayerDoc,
}

impl Visitor<'_> {
    fn warn(&mut self, w: String) {
        if self.doc.warnings.len() < MAX_WARNINGS {
            self.doc.warnings.push(w);
        }
    }
}

const ELF: &[&[u8]] = &[b"\x7fELF"];

impl LayerVisitor for Visitor<'_> {
    fn wants(&mut self, path: &str, size: u64, mode: u32) -> Want {
        match stella_catalog::wants(path, size, mode) {
            stella_catalog::Want::Skip => Want::Skip,
            stella_catalog::Want::Read => Want::Read,
            stella_catalog::Want::ReadIfElf => Want::ReadIfMagic(ELF),
        }
    }

    fn file(&mut self, path: &str, bytes: &[u8]) {
        match stella_catalog::catalogue(path, bytes, self.limits) {
            Ok(found) => {
                for w in found.warnings {
                    self.warn(format!("{path}: {w}"));
                }
                if let Some(os) = found.os {
                    self.doc.os_releases.insert(path.to_owned(), os);
                }
                if !found.packages.is_empty() {
                    self.doc.files.insert(path.to_owned(), found.packages);
                }
            }
            Err(e) => self.warn(format!("{path}: not catalogued: {e}")),
        }
    }
}

/// Catalogues layer `index` of an opened image.
pub fn catalogue_layer<R: std::io::Read + std::io::Seek>(
    archive: &mut Archive<R>,
    index: usize,
    limits: &stella_catalog::Limits,
) -> Result<LayerDoc, LayerError> {
    let mut v = Visitor {
        limits,
        doc: LayerDoc::default(),
    };
    let summary = archive.read_layer(index, &mut v)?;
    let mut doc = v.doc;
    doc.diff_id = summary.diff_id;
    doc.symlinks = summary.symlinks.into_iter().collect();
    doc.whiteouts = summary.whiteouts;
    doc.opaque_dirs = summary.opaque_dirs;
    for (path, size) in summary.oversized_files {
        if doc.warnings.len() < MAX_WARNINGS {
            doc.warnings.push(format!(
                "{path}: {size} bytes, over the size read; not catalogued"
            ));
        }
    }
    Ok(doc)
}

/// A package of the squashed image and the layer that installed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub package: Package,
    /// The `diff_id` of the layer it first appeared in (unbroken since).
    pub layer: String,
}

/// The image as the last layer leaves it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Squashed {
    pub os: Option<OsRelease>,
    pub packages: Vec<Placed>,
    pub warnings: Vec<String>,
}

/// Whether `path` is `dir` or inside it.
fn under(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || (path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/')
}

/// Removes from `map` every key at or under `dir` (for opaque dirs: under only).
fn remove_under<T>(map: &mut BTreeMap<String, T>, dir: &str, keep_dir_itself: bool) {
    let doomed: Vec<String> = map
        .keys()
        .filter(|k| under(k, dir) && !(keep_dir_itself && k.as_str() == dir))
        .cloned()
        .collect();
    for k in doomed {
        map.remove(&k);
    }
}

fn package_key(p: &Package) -> (String, String, stella_catalog::Kind) {
    (p.name.clone(), p.version.clone(), p.kind)
}

/// Applies `layers` in order.
pub fn squash(layers: &[LayerDoc]) -> Squashed {
    let mut files: BTreeMap<String, Vec<Placed>> = BTreeMap::new();
    let mut os: BTreeMap<String, OsRelease> = BTreeMap::new();
    let mut links: BTreeMap<String, String> = BTreeMap::new();
    let mut warnings = Vec::new();
    for layer in layers {
        for w in &layer.whiteouts {
            remove_under(&mut files, w, false);
            remove_under(&mut os, w, false);
            remove_under(&mut links, w, false);
        }
        for d in &layer.opaque_dirs {
            remove_under(&mut files, d, true);
            remove_under(&mut os, d, true);
            remove_under(&mut links, d, true);
        }
        // A path this layer writes replaces what was there, whatever it was.
        let written: BTreeSet<&String> = layer
            .files
            .keys()
            .chain(layer.os_releases.keys())
            .chain(layer.symlinks.keys())
            .collect();
        for path in &written {
            links.remove(*path);
            os.remove(*path);
        }
        for (path, pkgs) in &layer.files {
            let before: BTreeMap<_, String> = files
                .remove(path)
                .unwrap_or_default()
                .into_iter()
                .map(|p| (package_key(&p.package), p.layer))
                .collect();
            let placed = pkgs
                .iter()
                .map(|p| Placed {
                    layer: before
                        .get(&package_key(p))
                        .cloned()
                        .unwrap_or_else(|| layer.diff_id.clone()),
                    package: p.clone(),
                })
                .collect();
            files.insert(path.clone(), placed);
        }
        for path in layer.os_releases.keys().chain(layer.symlinks.keys()) {
            if !layer.files.contains_key(path) {
                files.remove(path);
            }
        }
        os.extend(layer.os_releases.clone());
        links.extend(layer.symlinks.clone());
        warnings.extend(layer.warnings.iter().cloned());
    }
    let os = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| resolve(p, &links).and_then(|p| os.get(&p).cloned()));
    // One package listed by two files (a lockfile and node_modules) is one component.
    let mut seen = BTreeSet::new();
    let packages = files
        .into_values()
        .flatten()
        .filter(|p| seen.insert(package_key(&p.package)))
        .collect();
    Squashed {
        os,
        packages,
        warnings,
    }
}

/// Follows symlinks lexically within the image; `None` on a loop or too many hops.
fn resolve(path: &str, links: &BTreeMap<String, String>) -> Option<String> {
    let mut current = path.to_owned();
    for _ in 0..MAX_HOPS {
        // The longest prefix of `current` that is a link.
        let parts: Vec<&str> = current.split('/').collect();
        let mut hit = None;
        for i in (1..=parts.len()).rev() {
            let prefix = parts[..i].join("/");
            if let Some(target) = links.get(&prefix) {
                hit = Some((i, target.clone()));
                break;
            }
        }
        let Some((i, target)) = hit else {
            return Some(current);
        };
        let base: Vec<&str> = if target.starts_with('/') {
            Vec::new()
        } else {
            parts[..i - 1].to_vec()
        };
        let mut out: Vec<String> = base.iter().map(|s| (*s).to_owned()).collect();
        for seg in target.split('/').chain(parts[i..].iter().copied()) {
            match seg {
                "" | "." => {}
                ".." => {
                    out.pop();
                }
                s => out.push(s.to_owned()),
            }
        }
        current = out.join("/");
    }
    None
}

impl Squashed {
    /// The image's packages as SBOM components, with the OS's purls and ecosystems.
    pub fn components(&self) -> Vec<stella_sbom::Component> {
        let os = self.os.as_ref();
        self.packages
            .iter()
            .map(|p| stella_sbom::Component {
                name: p.package.name.clone(),
                version: Some(p.package.version.clone()),
                purl: p.package.purl(os),
                ecosystem: p.package.ecosystem(os),
                source_name: p.package.source_name.clone(),
                source_version: p.package.source_version.clone(),
                layer: Some(p.layer.clone()),
                bom_ref: Some(p.package.path.clone()),
            })
            .collect()
    }
}

const P_DIFF_ID: &str = "stella:layer:diff_id";
const P_WHITEOUT: &str = "stella:layer:whiteout";
const P_OPAQUE: &str = "stella:layer:opaque";
const P_SYMLINK: &str = "stella:layer:symlink";
const P_OS: &str = "stella:layer:os-release";
const P_WARNING: &str = "stella:layer:warning";
const P_PACKAGE: &str = "stella:package";

fn prop(name: &str, value: impl Into<String>) -> Value {
    json!({"name": name, "value": value.into()})
}

impl LayerDoc {
    /// This layer as a CycloneDX 1.5 SBOM.
    pub fn to_cyclonedx(&self) -> Value {
        let mut props = vec![prop(P_DIFF_ID, self.diff_id.clone())];
        props.extend(self.whiteouts.iter().map(|w| prop(P_WHITEOUT, w.clone())));
        props.extend(self.opaque_dirs.iter().map(|d| prop(P_OPAQUE, d.clone())));
        props.extend(
            self.symlinks
                .iter()
                .map(|(from, to)| prop(P_SYMLINK, json!({"path": from, "target": to}).to_string())),
        );
        props.extend(
            self.os_releases
                .iter()
                .map(|(path, os)| prop(P_OS, json!({"path": path, "os": os}).to_string())),
        );
        props.extend(self.warnings.iter().map(|w| prop(P_WARNING, w.clone())));
        let own_os = self
            .os_releases
            .get("etc/os-release")
            .or_else(|| self.os_releases.values().next());
        let components: Vec<Value> = self
            .files
            .values()
            .flatten()
            .map(|p| {
                let mut c = json!({
                    "type": "library",
                    "name": p.name,
                    "version": p.version,
                    "properties": [prop(P_PACKAGE, serde_json::to_string(p).unwrap_or_default())],
                });
                if let Some(purl) = p.purl(own_os) {
                    c["purl"] = json!(purl.to_string());
                }
                c
            })
            .collect();
        json!({
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "metadata": {
                "component": {"type": "container", "name": "layer", "bom-ref": self.diff_id, "version": self.diff_id},
                "properties": props,
            },
            "components": components,
        })
    }

    /// Reads a layer document written by [`LayerDoc::to_cyclonedx`] (the delta scan's upload).
    pub fn from_cyclonedx(doc: &Value) -> Result<LayerDoc, LayerError> {
        let err = |path: &str, msg: &str| LayerError::Doc {
            path: path.to_owned(),
            msg: msg.to_owned(),
        };
        if doc["bomFormat"] != "CycloneDX" {
            return Err(err("$.bomFormat", "must be CycloneDX"));
        }
        let props = doc["metadata"]["properties"].as_array().ok_or_else(|| {
            err(
                "$.metadata.properties",
                "missing: not a stella layer document",
            )
        })?;
        let mut out = LayerDoc::default();
        for (i, p) in props.iter().enumerate() {
            let at = format!("$.metadata.properties[{i}]");
            let (Some(name), Some(value)) = (p["name"].as_str(), p["value"].as_str()) else {
                return Err(err(&at, "needs a string name and value"));
            };
            match name {
                P_DIFF_ID => out.diff_id = value.to_owned(),
                P_WHITEOUT => out.whiteouts.push(value.to_owned()),
                P_OPAQUE => out.opaque_dirs.push(value.to_owned()),
                P_WARNING if out.warnings.len() < MAX_WARNINGS => {
                    out.warnings.push(value.to_owned())
                }
                P_SYMLINK => {
                    let v: Value = serde_json::from_str(value)
                        .map_err(|_| err(&at, "not a symlink object"))?;
                    let (Some(from), Some(to)) = (v["path"].as_str(), v["target"].as_str()) else {
                        return Err(err(&at, "a symlink needs path and target"));
                    };
                    out.symlinks.insert(from.to_owned(), to.to_owned());
                }
                P_OS => {
                    #[derive(Deserialize)]
                    struct Os {
                        path: String,
                        os: OsRelease,
                    }
                    let v: Os = serde_json::from_str(value)
                        .map_err(|e| err(&at, &format!("not an os-release object: {e}")))?;
                    out.os_releases.insert(v.path, v.os);
                }
                _ => {}
            }
        }
        if !is_digest(&out.diff_id) {
            return Err(err(
                "$.metadata.properties",
                "needs stella:layer:diff_id, sha256: and 64 hex digits",
            ));
        }
        let components = doc["components"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if components.len() > MAX_PACKAGES {
            return Err(err("$.components", "too many packages for one layer"));
        }
        for (i, c) in components.iter().enumerate() {
            let at = format!("$.components[{i}]");
            let text = c["properties"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == P_PACKAGE))
                .and_then(|p| p["value"].as_str())
                .ok_or_else(|| err(&at, "needs a stella:package property"))?;
            let p: Package = serde_json::from_str(text)
                .map_err(|e| err(&at, &format!("stella:package: {e}")))?;
            if p.name.is_empty() || p.path.is_empty() {
                return Err(err(&at, "a package needs a name and a path"));
            }
            out.files.entry(p.path.clone()).or_default().push(p);
        }
        Ok(out)
    }
}

/// `sha256:` and 64 lowercase hex digits.
pub fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests;
