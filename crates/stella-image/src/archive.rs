//! Finding the image in an archive or layout: outer tar index, manifests, config.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::digest::{sha256_of, Digest};
use crate::error::{uncarry, ImageError};
use crate::path::{normalise, split_last};
use crate::tar::{Kind, Seeking, TarReader};
use crate::Limits;

/// Path bounds for names in the outer archive, whatever the layer bounds: its names are only
/// ever looked up, never handed out, and `blobs/sha512/<128 hex>` must fit.
const OUTER_MIN_PATH_BYTES: usize = 1024;
const OUTER_MIN_PATH_DEPTH: usize = 16;

/// Links followed inside the outer archive (legacy `docker save` links duplicate layers).
const MAX_OUTER_LINKS: usize = 8;

const MT_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MT_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const MT_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MT_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// How the image was packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `docker save` with `manifest.json` (legacy layout, or Docker 25+'s OCI layout read
    /// through its `manifest.json`).
    DockerSave,
    /// An OCI image layout in a tarball, read through `index.json`.
    OciArchive,
    /// An OCI image layout directory.
    OciDir,
}

/// The platform picked from an image index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    /// Matched only when set.
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Limits and the platform to pick from a multi-platform index.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    pub limits: Limits,
    pub platform: Platform,
}

/// One layer of the image, in order from the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRef {
    /// The digest of the uncompressed layer tar, from the config's `rootfs.diff_ids`. This is
    /// what identifies a layer's content whatever its compression; it is checked on read.
    pub diff_id: String,
    /// The digest of the blob as stored (compressed), when the manifest gives one (OCI, and
    /// Docker 25+ `blobs/` paths); checked on read.
    pub blob_digest: Option<String>,
    /// The manifest's media type, when there is one (compression is detected by magic bytes).
    pub media_type: Option<String>,
    /// The blob's size in bytes as stored.
    pub size: u64,
    /// Where the blob is in the archive or layout.
    pub(crate) location: String,
}

/// The image an archive holds.
#[derive(Debug, Clone)]
pub struct Image {
    pub format: Format,
    /// `sha256:<hex>` of the config blob: the image id.
    pub config_digest: String,
    /// The digest of the image manifest, for OCI layouts.
    pub manifest_digest: Option<String>,
    pub layers: Vec<LayerRef>,
    /// The whole config JSON (bounded by `max_manifest_bytes`).
    pub config: serde_json::Value,
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
    pub created: Option<String>,
    /// `RepoTags` of `docker save`, or the index's image-name annotations.
    pub repo_tags: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum OuterEntry {
    File { offset: u64, size: u64 },
    Link,
}

pub(crate) enum Source<R> {
    Tar {
        r: R,
        entries: BTreeMap<String, OuterEntry>,
        links: BTreeMap<String, String>,
    },
    Dir(PathBuf),
}

/// A readable blob: its reader and its size.
pub(crate) type Blob<'a> = (Box<dyn Read + 'a>, u64);

impl<R: Read + Seek> Source<R> {
    /// Opens a blob by its name in the archive or layout (names come from this crate's own
    /// construction or from manifests, and only ever index the outer tar or are `blobs/...`).
    pub fn open(&mut self, name: &str) -> Result<Blob<'_>, ImageError> {
        match self {
            Source::Tar { r, entries, links } => {
                let mut key = name.to_string();
                let mut hops = 0;
                let (offset, size) = loop {
                    match entries.get(&key) {
                        Some(OuterEntry::File { offset, size }) => break (*offset, *size),
                        Some(OuterEntry::Link) if hops < MAX_OUTER_LINKS => {
                            hops += 1;
                            key = links.get(&key).cloned().unwrap_or_default();
                        }
                        _ => {
                            return Err(ImageError::BlobMissing(format!(
                                "{name} is not in the archive"
                            )))
                        }
                    }
                };
                r.seek(SeekFrom::Start(offset)).map_err(ImageError::Io)?;
                Ok((Box::new(r.take(size)), size))
            }
            Source::Dir(dir) => {
                let path = dir.join(name);
                let missing = || ImageError::BlobMissing(format!("{name} is not in the layout"));
                let meta = fs::symlink_metadata(&path).map_err(|_| missing())?;
                if !meta.file_type().is_file() {
                    return Err(ImageError::BlobMissing(format!(
                        "{name} in the layout is not a regular file"
                    )));
                }
                let f = fs::File::open(&path).map_err(|_| missing())?;
                let fmeta = f.metadata().map_err(ImageError::Io)?;
                if !fmeta.is_file() || !same_file(&meta, &fmeta) {
                    return Err(ImageError::BlobMissing(format!(
                        "{name} changed while opened"
                    )));
                }
                let size = fmeta.len();
                Ok((Box::new(f.take(size)), size))
            }
        }
    }

    pub fn has(&self, name: &str) -> bool {
        match self {
            Source::Tar { entries, .. } => entries.contains_key(name),
            Source::Dir(dir) => fs::symlink_metadata(dir.join(name)).is_ok_and(|m| m.is_file()),
        }
    }
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, _: &fs::Metadata) -> bool {
    true
}

/// Indexes the outer tar once: entry name → offset and size; links kept to be followed.
pub(crate) fn index_outer<R: Read + Seek>(
    mut r: R,
    limits: &Limits,
) -> Result<Source<R>, ImageError> {
    let limits = &Limits {
        max_path_bytes: limits.max_path_bytes.max(OUTER_MIN_PATH_BYTES),
        max_path_depth: limits.max_path_depth.max(OUTER_MIN_PATH_DEPTH),
        ..limits.clone()
    };
    let len = r.seek(SeekFrom::End(0)).map_err(ImageError::Io)?;
    r.seek(SeekFrom::Start(0)).map_err(ImageError::Io)?;
    if len < 512 {
        return Err(ImageError::NotAnArchive(format!(
            "{len} bytes is too short for a tar archive"
        )));
    }
    let mut entries = BTreeMap::new();
    let mut links = BTreeMap::new();
    let mut count: u64 = 0;
    {
        let mut tar = TarReader::new(
            Seeking {
                inner: &mut r,
                pos: 0,
                len,
            },
            "the archive",
            limits.max_path_bytes,
            limits.max_pax_bytes,
        );
        loop {
            let header = match tar.next() {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(ImageError::TarInvalid { detail, .. }) if count == 0 => {
                    return Err(ImageError::NotAnArchive(format!(
                        "not a tar archive ({detail})"
                    )))
                }
                Err(e) => return Err(e),
            };
            count += 1;
            if count > limits.max_entries_per_layer {
                return Err(ImageError::too_large(
                    "the archive's entry count",
                    "max_entries_per_layer",
                    limits.max_entries_per_layer,
                ));
            }
            // Names that do not normalise are never asked for: they are left out, not refused.
            let Ok(name) = normalise(&header.path, limits.max_path_depth, limits.max_path_bytes)
            else {
                continue;
            };
            let Ok(name) = String::from_utf8(name) else {
                continue;
            };
            match header.kind {
                Kind::File => {
                    let offset = tar.inner.pos;
                    if offset.checked_add(header.size).is_none_or(|end| end > len) {
                        return Err(ImageError::Truncated {
                            what: "the archive".into(),
                            detail: format!("entry {name:?} ends past the end of the archive"),
                        });
                    }
                    entries.insert(
                        name,
                        OuterEntry::File {
                            offset,
                            size: header.size,
                        },
                    );
                }
                Kind::Symlink | Kind::Hardlink => {
                    // A symlink's target is relative to its directory; a hardlink's to the root.
                    let target = if header.kind == Kind::Symlink && !header.link.starts_with(b"/") {
                        let (parent, _) = split_last(&name);
                        [parent.as_bytes(), b"/", &header.link].concat()
                    } else {
                        header.link.clone()
                    };
                    if let Ok(t) = normalise(&target, limits.max_path_depth, limits.max_path_bytes)
                    {
                        if let Ok(t) = String::from_utf8(t) {
                            entries.insert(name.clone(), OuterEntry::Link);
                            links.insert(name, t);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(Source::Tar { r, entries, links })
}

// --- JSON documents -------------------------------------------------------------------------

#[derive(Deserialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

#[derive(Deserialize, Clone)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    digest: String,
    size: u64,
    #[serde(default)]
    platform: Option<PlatformJson>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Clone)]
struct PlatformJson {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Deserialize)]
struct IndexOrManifest {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

#[derive(Deserialize)]
struct ConfigJson {
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    created: Option<String>,
    rootfs: RootFs,
}

#[derive(Deserialize)]
struct RootFs {
    diff_ids: Vec<String>,
}

fn json_error(what: &str, e: serde_json::Error) -> ImageError {
    ImageError::ManifestInvalid(format!("{what}: {e}"))
}

/// Reads a small JSON blob, bounded, checking its digest (and size) when known.
fn read_json_blob<R: Read + Seek>(
    src: &mut Source<R>,
    name: &str,
    what: &str,
    expected: Option<(&Digest, u64)>,
    limits: &Limits,
) -> Result<(Vec<u8>, String), ImageError> {
    let (reader, size) = src.open(name)?;
    if size > limits.max_manifest_bytes {
        return Err(ImageError::too_large(
            format!("{what} ({size} bytes)"),
            "max_manifest_bytes",
            limits.max_manifest_bytes,
        ));
    }
    let mut bytes = Vec::new();
    reader
        .take(limits.max_manifest_bytes)
        .read_to_end(&mut bytes)
        .map_err(|e| uncarry(e, what))?;
    if (bytes.len() as u64) < size {
        return Err(ImageError::Truncated {
            what: what.to_string(),
            detail: format!("{} of {size} bytes", bytes.len()),
        });
    }
    let digest = match expected {
        Some((d, expected_size)) => {
            let mut h = d.hasher();
            h.update(&bytes);
            let actual = h.finish();
            if actual != d.to_string() {
                return Err(ImageError::DigestMismatch {
                    what: what.to_string(),
                    expected: d.to_string(),
                    actual,
                });
            }
            if expected_size != size {
                return Err(ImageError::DigestMismatch {
                    what: format!("the size of {what}"),
                    expected: expected_size.to_string(),
                    actual: size.to_string(),
                });
            }
            actual
        }
        None => sha256_of(&bytes),
    };
    Ok((bytes, digest))
}

fn blob_digest_from_path(path: &str) -> Option<Digest> {
    let rest = path.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    Digest::parse(&format!("{alg}:{hex}")).ok()
}

fn clean_name(raw: &str, limits: &Limits) -> Result<String, ImageError> {
    let max_bytes = limits.max_path_bytes.max(OUTER_MIN_PATH_BYTES);
    let max_depth = limits.max_path_depth.max(OUTER_MIN_PATH_DEPTH);
    normalise(raw.as_bytes(), max_depth, max_bytes)
        .ok()
        .and_then(|v| String::from_utf8(v).ok())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ImageError::ManifestInvalid(format!("manifest.json names a bad path {raw:?}"))
        })
}

/// Reads the image a source holds.
pub(crate) fn load_image<R: Read + Seek>(
    src: &mut Source<R>,
    opts: &OpenOptions,
    dir: bool,
) -> Result<Image, ImageError> {
    let limits = &opts.limits;
    if !dir && src.has("manifest.json") {
        return load_docker(src, limits);
    }
    if src.has("index.json") {
        return load_oci(
            src,
            opts,
            if dir {
                Format::OciDir
            } else {
                Format::OciArchive
            },
        );
    }
    Err(ImageError::NotAnArchive(if dir {
        "the directory has no index.json: not an OCI image layout".into()
    } else {
        "the tarball has neither manifest.json (docker save) nor index.json (OCI image layout)"
            .into()
    }))
}

fn load_docker<R: Read + Seek>(src: &mut Source<R>, limits: &Limits) -> Result<Image, ImageError> {
    let (bytes, _) = read_json_blob(src, "manifest.json", "manifest.json", None, limits)?;
    let entries: Vec<DockerManifestEntry> =
        serde_json::from_slice(&bytes).map_err(|e| json_error("manifest.json", e))?;
    let entry = match entries.len() {
        1 => entries.into_iter().next(),
        0 => None,
        n => {
            return Err(ImageError::ManifestInvalid(format!(
                "manifest.json holds {n} images; save one image per archive"
            )))
        }
    }
    .ok_or_else(|| ImageError::ManifestInvalid("manifest.json holds no image".into()))?;
    if entry.layers.len() > limits.max_layers {
        return Err(ImageError::too_large(
            format!("the image's {} layers", entry.layers.len()),
            "max_layers",
            limits.max_layers as u64,
        ));
    }
    let config_name = clean_name(&entry.config, limits)?;
    // Legacy: `<sha256 hex>.json`; Docker 25+: `blobs/sha256/<hex>`. Either way the name gives
    // the digest to check, when it has one.
    let config_expected = blob_digest_from_path(&config_name).or_else(|| {
        config_name
            .strip_suffix(".json")
            .and_then(|hex| Digest::parse(&format!("sha256:{hex}")).ok())
    });
    let (config_bytes, config_digest) =
        read_json_blob(src, &config_name, "the image config", None, limits)?;
    if let Some(d) = &config_expected {
        let mut h = d.hasher();
        h.update(&config_bytes);
        let actual = h.finish();
        if actual != d.to_string() {
            return Err(ImageError::DigestMismatch {
                what: "the image config".into(),
                expected: d.to_string(),
                actual,
            });
        }
    }
    let (config, typed) = parse_config(&config_bytes)?;
    let diff_ids = check_diff_ids(&typed, entry.layers.len())?;
    let mut layers = Vec::with_capacity(entry.layers.len());
    for (raw, diff_id) in entry.layers.iter().zip(diff_ids) {
        let location = clean_name(raw, limits)?;
        let blob_digest = blob_digest_from_path(&location).map(|d| d.to_string());
        let (_, size) = src.open(&location)?;
        layers.push(LayerRef {
            diff_id,
            blob_digest,
            media_type: None,
            size,
            location,
        });
    }
    Ok(Image {
        format: Format::DockerSave,
        config_digest,
        manifest_digest: None,
        layers,
        config,
        os: typed.os,
        architecture: typed.architecture,
        variant: typed.variant,
        created: typed.created,
        repo_tags: entry.repo_tags.unwrap_or_default(),
    })
}

fn parse_config(bytes: &[u8]) -> Result<(serde_json::Value, ConfigJson), ImageError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| json_error("the image config", e))?;
    let typed: ConfigJson =
        serde_json::from_value(value.clone()).map_err(|e| json_error("the image config", e))?;
    Ok((value, typed))
}

fn check_diff_ids(config: &ConfigJson, layers: usize) -> Result<Vec<String>, ImageError> {
    if config.rootfs.diff_ids.len() != layers {
        return Err(ImageError::ManifestInvalid(format!(
            "the config lists {} diff_ids for {layers} layers",
            config.rootfs.diff_ids.len()
        )));
    }
    config
        .rootfs
        .diff_ids
        .iter()
        .map(|d| Digest::parse(d).map(|d| d.to_string()))
        .collect()
}

fn is_index(doc: &IndexOrManifest) -> bool {
    matches!(
        doc.media_type.as_deref(),
        Some(MT_OCI_INDEX | MT_DOCKER_LIST)
    ) || (doc.manifests.is_some() && doc.config.is_none())
}

fn load_oci<R: Read + Seek>(
    src: &mut Source<R>,
    opts: &OpenOptions,
    format: Format,
) -> Result<Image, ImageError> {
    let limits = &opts.limits;
    let (bytes, _) = read_json_blob(src, "index.json", "index.json", None, limits)?;
    let mut doc: IndexOrManifest =
        serde_json::from_slice(&bytes).map_err(|e| json_error("index.json", e))?;
    let mut repo_tags = Vec::new();
    let mut depth = 0;
    let (manifest, manifest_digest) = loop {
        let manifests = doc
            .manifests
            .take()
            .ok_or_else(|| ImageError::ManifestInvalid("an image index has no manifests".into()))?;
        let chosen = choose(&manifests, &opts.platform)?;
        if let Some(a) = &chosen.annotations {
            for key in [
                "io.containerd.image.name",
                "org.opencontainers.image.ref.name",
            ] {
                if let Some(v) = a.get(key) {
                    if repo_tags.is_empty() {
                        repo_tags.push(v.clone());
                    }
                }
            }
        }
        let d = Digest::parse(&chosen.digest)?;
        let what = format!("manifest {d}");
        let (bytes, _) =
            read_json_blob(src, &d.blob_path(), &what, Some((&d, chosen.size)), limits)?;
        let next: IndexOrManifest =
            serde_json::from_slice(&bytes).map_err(|e| json_error(&what, e))?;
        if is_index(&next) {
            depth += 1;
            if depth > limits.max_index_depth {
                return Err(ImageError::too_large(
                    "the nesting of image indexes",
                    "max_index_depth",
                    u64::from(limits.max_index_depth),
                ));
            }
            doc = next;
            continue;
        }
        break (next, d.to_string());
    };
    let config_desc = manifest.config.ok_or_else(|| {
        ImageError::ManifestInvalid(format!("manifest {manifest_digest} has no config"))
    })?;
    let layer_descs = manifest.layers.unwrap_or_default();
    if layer_descs.len() > limits.max_layers {
        return Err(ImageError::too_large(
            format!("the image's {} layers", layer_descs.len()),
            "max_layers",
            limits.max_layers as u64,
        ));
    }
    let cd = Digest::parse(&config_desc.digest)?;
    let (config_bytes, config_digest) = read_json_blob(
        src,
        &cd.blob_path(),
        "the image config",
        Some((&cd, config_desc.size)),
        limits,
    )?;
    let (config, typed) = parse_config(&config_bytes)?;
    let diff_ids = check_diff_ids(&typed, layer_descs.len())?;
    let mut layers = Vec::with_capacity(layer_descs.len());
    for (desc, diff_id) in layer_descs.into_iter().zip(diff_ids) {
        let d = Digest::parse(&desc.digest)?;
        let location = d.blob_path();
        let (_, size) = src.open(&location)?;
        if size != desc.size {
            return Err(ImageError::DigestMismatch {
                what: format!("the size of layer blob {d}"),
                expected: desc.size.to_string(),
                actual: size.to_string(),
            });
        }
        layers.push(LayerRef {
            diff_id,
            blob_digest: Some(d.to_string()),
            media_type: desc.media_type,
            size,
            location,
        });
    }
    Ok(Image {
        format,
        config_digest,
        manifest_digest: Some(manifest_digest),
        layers,
        config,
        os: typed.os,
        architecture: typed.architecture,
        variant: typed.variant,
        created: typed.created,
        repo_tags,
    })
}

/// Picks the manifest for `want` from an index: one whose platform matches, else the only
/// image manifest there is (attestations, `unknown/unknown`, do not count).
fn choose(manifests: &[Descriptor], want: &Platform) -> Result<Descriptor, ImageError> {
    let candidates: Vec<&Descriptor> = manifests
        .iter()
        .filter(|d| {
            d.media_type.as_deref().is_none_or(|m| {
                matches!(
                    m,
                    MT_OCI_INDEX | MT_DOCKER_LIST | MT_OCI_MANIFEST | MT_DOCKER_MANIFEST
                )
            })
        })
        .filter(|d| d.platform.as_ref().is_none_or(|p| p.os != "unknown"))
        .collect();
    let matching: Vec<&Descriptor> = candidates
        .iter()
        .copied()
        .filter(|d| {
            d.platform.as_ref().is_some_and(|p| {
                p.os == want.os
                    && p.architecture == want.architecture
                    && want
                        .variant
                        .as_ref()
                        .is_none_or(|v| p.variant.as_ref() == Some(v))
            })
        })
        .collect();
    if let Some(d) = matching.first() {
        return Ok((*d).clone());
    }
    if let [only] = candidates.as_slice() {
        return Ok((*only).clone());
    }
    let available: Vec<String> = candidates
        .iter()
        .map(|d| match &d.platform {
            Some(p) => match &p.variant {
                Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                None => format!("{}/{}", p.os, p.architecture),
            },
            None => "(no platform)".into(),
        })
        .take(32)
        .collect();
    Err(ImageError::PlatformNotFound {
        wanted: want.to_string(),
        available: if available.is_empty() {
            "no image manifests".into()
        } else {
            available.join(", ")
        },
    })
}

/// The directory source for a layout directory.
pub(crate) fn dir_source(path: &Path) -> Result<Source<fs::File>, ImageError> {
    let meta = fs::metadata(path)
        .map_err(|e| ImageError::NotAnArchive(format!("{}: {e}", path.display())))?;
    if !meta.is_dir() {
        return Err(ImageError::NotAnArchive(format!(
            "{} is not a directory",
            path.display()
        )));
    }
    Ok(Source::Dir(path.to_path_buf()))
}
