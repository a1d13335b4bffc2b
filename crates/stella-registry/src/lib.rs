//! Stella Ops OCI distribution client: pulls one platform of a container image from a
//! registry into an [OCI image layout] directory, which the scanner then reads.
//!
//! ```text
//! dest/oci-layout                     {"imageLayoutVersion":"1.0.0"}
//! dest/index.json                     one descriptor: the pulled manifest
//! dest/blobs/sha256/<hex>             the manifest, the config and every layer, as sent
//! ```
//!
//! * References are read with docker's rules ([`Reference::parse`]).
//! * Manifests: OCI image manifests and Docker v2 schema 2 manifests, and OCI indexes and
//!   Docker manifest lists, from which the manifest for [`Options::platform`] is chosen
//!   (`registry-no-platform` lists what the index has). Blobs are stored byte for byte, so a
//!   Docker image keeps its Docker media types in the layout (`…docker.distribution.manifest.v2+json`,
//!   `…docker.image.rootfs.diff.tar.gzip`); the reader must accept both families.
//! * Auth: anonymous first; a `401` with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`
//!   fetches a token from the realm (sending [`Options::credentials`] as Basic auth when
//!   given) and retries once; a `Basic` challenge uses the credentials directly. The realm
//!   must be https unless its host is in [`Options::insecure_http`].
//! * Transport: https, or plain http for hosts in [`Options::insecure_http`]. Every request
//!   goes through the caller's `reqwest::Client`, which decides where connections may go
//!   (the server's refuses internal addresses unless allowed). Give it a client built with
//!   `redirect::Policy::none()`: redirects (blob downloads are commonly redirected to object
//!   storage) are then followed here, at most [`Options::max_redirects`], never from https to
//!   http except to an insecure-listed host, and without the `Authorization` header once
//!   they leave the registry's origin. A client with its own redirect policy applies that
//!   policy instead.
//! * Verification: the manifest's digest is checked against the reference's digest (and the
//!   index descriptor, and `Docker-Content-Digest`); every blob is streamed to a temporary
//!   file while hashed and counted, and renamed into place only when its size and digest
//!   match; otherwise the file is deleted and the pull fails with `registry-digest-mismatch`.
//! * Bounds ([`Options`]): manifest bytes, bytes per blob, total bytes, number of layers,
//!   redirects, and a timeout per request and per stalled body read. Declared sizes
//!   (descriptor sizes, `Content-Length`) are checked before reading and actual bytes while
//!   reading.
//! * Errors ([`RegistryError::code`]): `registry-bad-reference`, `registry-unreachable`,
//!   `registry-not-found`, `registry-unauthorized`, `registry-digest-mismatch`,
//!   `registry-too-large`, `registry-bad-manifest`, `registry-no-platform`, and `registry-io`
//!   for local write failures. Messages name the registry and repository and never contain
//!   credentials or tokens.
//!
//! [OCI image layout]: https://github.com/opencontainers/image-spec/blob/main/image-layout.md

mod error;
mod manifest;
mod reference;
mod session;

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt;

pub use error::RegistryError;
pub use manifest::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
pub use reference::{Reference, DOCKER_HUB, MAX_REFERENCE_LEN};
use session::Session;

/// A username and password (or token) for one registry. `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// An image platform: `linux/amd64`, `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn new(os: &str, architecture: &str) -> Platform {
        Platform {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            variant: None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// How a pull is done and bounded.
#[derive(Debug, Clone)]
pub struct Options {
    /// Registry hosts (`host` or `host:port`, compared case-insensitively) spoken to over
    /// plain http. Everything else is https.
    pub insecure_http: Vec<String>,
    /// Time allowed for each request to answer, and for each read of a body to make progress.
    pub timeout: Duration,
    /// Bytes of a manifest or index.
    pub max_manifest_bytes: u64,
    /// Bytes of one blob (the config or a layer).
    pub max_blob_bytes: u64,
    /// Bytes of everything pulled (manifest, config and layers).
    pub max_total_bytes: u64,
    /// Layers of the image.
    pub max_layers: usize,
    /// Redirects followed per request (when the client returns them; see the crate docs).
    pub max_redirects: usize,
    /// The platform chosen from an index.
    pub platform: Platform,
    pub user_agent: String,
    /// Sent to the token service (or as Basic auth) when the registry asks for credentials.
    pub credentials: Option<Credentials>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            insecure_http: Vec::new(),
            timeout: session::DEFAULT_TIMEOUT,
            max_manifest_bytes: 4 * 1024 * 1024,
            max_blob_bytes: 4 * 1024 * 1024 * 1024,
            max_total_bytes: 8 * 1024 * 1024 * 1024,
            max_layers: 128,
            max_redirects: 5,
            platform: Platform::new("linux", "amd64"),
            user_agent: concat!("stella-ops/", env!("CARGO_PKG_VERSION")).to_owned(),
            credentials: None,
        }
    }
}

impl Options {
    pub(crate) fn is_insecure(&self, host: &str) -> bool {
        self.insecure_http
            .iter()
            .any(|h| h.trim().eq_ignore_ascii_case(host))
    }
}

/// A content descriptor: media type, `sha256:` digest, size in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

/// What a manifest says, without the blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestInfo {
    /// Digest of the single-platform manifest (not of the index it was chosen from).
    pub manifest_digest: String,
    pub media_type: String,
    pub manifest_size: u64,
    /// Digest of the index or manifest list, when the reference named one.
    pub index_digest: Option<String>,
    /// The platform chosen from the index, when there was one.
    pub platform: Option<Platform>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// What [`pull`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    pub manifest_digest: String,
    pub config_digest: String,
    /// Layer digests, bottom first.
    pub layers: Vec<String>,
    /// Bytes written: manifest, config and distinct layers.
    pub bytes: u64,
    pub info: ManifestInfo,
}

/// Fetches the manifest (choosing the platform from an index) and returns the config and
/// layer digests without downloading any blob: enough to ask which layers are already known.
pub async fn manifest_only(
    client: &reqwest::Client,
    reference: &Reference,
    opts: &Options,
) -> Result<ManifestInfo, RegistryError> {
    let mut s = Session::new(client, reference, opts)?;
    let (info, _) = resolve(&mut s, reference).await?;
    Ok(info)
}

/// Pulls the image into an OCI image layout at `dest` (created if missing; existing blobs of
/// the same digest are overwritten). `index.json` is written last, so a directory without it
/// is an interrupted pull.
pub async fn pull(
    client: &reqwest::Client,
    reference: &Reference,
    dest: &Path,
    opts: &Options,
) -> Result<Pulled, RegistryError> {
    let mut s = Session::new(client, reference, opts)?;
    let (info, manifest_bytes) = resolve(&mut s, reference).await?;

    // Declared sizes, before anything is downloaded.
    let mut total = info.manifest_size;
    let mut distinct = HashSet::new();
    for d in std::iter::once(&info.config).chain(&info.layers) {
        if d.size > opts.max_blob_bytes {
            return Err(s.too_large(
                format!("blob {} ({} bytes)", d.digest, d.size),
                "max_blob_bytes",
                opts.max_blob_bytes,
            ));
        }
        if distinct.insert(d.digest.as_str()) {
            total = total.saturating_add(d.size);
        }
    }
    if total > opts.max_total_bytes {
        return Err(s.too_large(
            format!("the image ({total} bytes)"),
            "max_total_bytes",
            opts.max_total_bytes,
        ));
    }

    let blobs = dest.join("blobs").join("sha256");
    tokio::fs::create_dir_all(&blobs)
        .await
        .map_err(|e| s.io(format!("creating {}: {e}", blobs.display())))?;
    write_file(
        &s,
        &blobs.join(hex_of(&info.manifest_digest)),
        &manifest_bytes,
    )
    .await?;

    let mut budget = opts.max_total_bytes.saturating_sub(info.manifest_size);
    let mut bytes = info.manifest_size;
    let mut done = HashSet::new();
    for d in std::iter::once(&info.config).chain(&info.layers) {
        if !done.insert(d.digest.clone()) {
            continue;
        }
        let n = fetch_blob(&mut s, d, &blobs, budget).await?;
        budget = budget.saturating_sub(n);
        bytes += n;
    }

    write_file(
        &s,
        &dest.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .await?;
    let mut annotations = serde_json::Map::new();
    if let Some(tag) = &reference.tag {
        annotations.insert("org.opencontainers.image.ref.name".into(), json!(tag));
    }
    annotations.insert(
        "io.containerd.image.name".into(),
        json!(reference.to_string()),
    );
    let mut entry = json!({
        "mediaType": info.media_type,
        "digest": info.manifest_digest,
        "size": info.manifest_size,
        "annotations": annotations,
    });
    if let (Some(p), Some(o)) = (&info.platform, entry.as_object_mut()) {
        let mut platform = json!({"os": p.os, "architecture": p.architecture});
        if let (Some(v), Some(po)) = (&p.variant, platform.as_object_mut()) {
            po.insert("variant".into(), json!(v));
        }
        o.insert("platform".into(), platform);
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [entry],
    });
    let index = serde_json::to_vec_pretty(&index).map_err(|e| s.io(e.to_string()))?;
    write_file(&s, &dest.join("index.json"), &index).await?;

    Ok(Pulled {
        manifest_digest: info.manifest_digest.clone(),
        config_digest: info.config.digest.clone(),
        layers: info.layers.iter().map(|l| l.digest.clone()).collect(),
        bytes,
        info,
    })
}

fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

async fn write_file(s: &Session<'_>, path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    tokio::fs::write(path, bytes)
        .await
        .map_err(|e| s.io(format!("writing {}: {e}", path.display())))
}

/// One manifest GET, bounded and digest-checked against `expected` (when the digest is known)
/// and the registry's `Docker-Content-Digest`.
async fn fetch_manifest(
    s: &mut Session<'_>,
    reference: &str,
    expected: Option<&str>,
    accept: &str,
) -> Result<(Vec<u8>, String, Value, String), RegistryError> {
    let url = s.url("manifests", reference)?;
    let what = format!("manifest {reference}");
    let resp = s.get(&url, Some(accept), &what).await?;
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let header_digest = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = s
        .read_bounded(resp, s.opts.max_manifest_bytes, &what, "max_manifest_bytes")
        .await?;
    let digest = sha256_digest(&body);
    if let Some(want) = expected {
        if digest != want {
            return Err(s.mismatch(&what, want, format!("its content hashes to {digest}")));
        }
    }
    if let Some(h) = header_digest.filter(|h| h.starts_with("sha256:")) {
        if h != digest {
            return Err(s.mismatch(
                &what,
                &h,
                format!("Docker-Content-Digest says {h}, the content hashes to {digest}"),
            ));
        }
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| s.bad_manifest(format!("it is not JSON: {e}")))?;
    let media_type = manifest::media_type(&value, content_type.as_deref());
    Ok((body, digest, value, media_type))
}

async fn resolve(
    s: &mut Session<'_>,
    reference: &Reference,
) -> Result<(ManifestInfo, Vec<u8>), RegistryError> {
    let r = reference.manifest_reference();
    let (body, digest, value, media_type) =
        fetch_manifest(s, r, reference.digest.as_deref(), manifest::ACCEPT_ALL).await?;
    match manifest::parse(s, &value, &media_type)? {
        manifest::Parsed::Manifest { config, layers } => Ok((
            ManifestInfo {
                manifest_digest: digest,
                media_type,
                manifest_size: body.len() as u64,
                index_digest: None,
                platform: None,
                config,
                layers,
            },
            body,
        )),
        manifest::Parsed::Index(entries) => {
            let wanted = &s.opts.platform;
            let Some(chosen) = manifest::choose(&entries, wanted).cloned() else {
                return Err(RegistryError::NoPlatform {
                    registry: s.registry.clone(),
                    repository: s.repository.clone(),
                    wanted: wanted.to_string(),
                    available: manifest::available(&entries),
                });
            };
            let platform = entries
                .iter()
                .find(|(d, _)| d == &chosen)
                .and_then(|(_, p)| p.clone());
            if chosen.size > s.opts.max_manifest_bytes {
                return Err(s.too_large(
                    format!("manifest {}", chosen.digest),
                    "max_manifest_bytes",
                    s.opts.max_manifest_bytes,
                ));
            }
            let (body2, digest2, value2, media_type2) = fetch_manifest(
                s,
                &chosen.digest,
                Some(&chosen.digest),
                manifest::ACCEPT_MANIFEST,
            )
            .await?;
            if body2.len() as u64 != chosen.size {
                return Err(s.mismatch(
                    &format!("manifest {}", chosen.digest),
                    &chosen.digest,
                    format!("{} bytes, the index says {}", body2.len(), chosen.size),
                ));
            }
            match manifest::parse(s, &value2, &media_type2)? {
                manifest::Parsed::Manifest { config, layers } => Ok((
                    ManifestInfo {
                        manifest_digest: digest2,
                        media_type: media_type2,
                        manifest_size: body2.len() as u64,
                        index_digest: Some(digest),
                        platform,
                        config,
                        layers,
                    },
                    body2,
                )),
                manifest::Parsed::Index(_) => {
                    Err(s.bad_manifest("an index entry for the platform is itself an index"))
                }
            }
        }
    }
}

/// Streams one blob to `<dir>/.<hex>.partial` while hashing and counting it, then renames it
/// to `<dir>/<hex>`. Any failure deletes the partial file.
async fn fetch_blob(
    s: &mut Session<'_>,
    d: &Descriptor,
    dir: &Path,
    budget: u64,
) -> Result<u64, RegistryError> {
    let hex = hex_of(&d.digest);
    let tmp = dir.join(format!(".{hex}.partial"));
    let result = stream_blob(s, d, &tmp, budget).await;
    match result {
        Ok(n) => {
            let dest = dir.join(hex);
            if let Err(e) = tokio::fs::rename(&tmp, &dest).await {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(s.io(format!("renaming into {}: {e}", dest.display())));
            }
            Ok(n)
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            Err(e)
        }
    }
}

async fn stream_blob(
    s: &mut Session<'_>,
    d: &Descriptor,
    tmp: &Path,
    budget: u64,
) -> Result<u64, RegistryError> {
    let what = format!("blob {}", d.digest);
    let url = s.url("blobs", &d.digest)?;
    let mut resp = s.get(&url, None, &what).await?;
    let max = s.opts.max_blob_bytes.min(budget);
    let limit = if s.opts.max_blob_bytes <= budget {
        "max_blob_bytes"
    } else {
        "max_total_bytes"
    };
    if let Some(n) = resp.content_length() {
        if n > max {
            return Err(s.too_large(format!("{what} (Content-Length {n})"), limit, max));
        }
        if n != d.size {
            return Err(s.mismatch(
                &what,
                &d.digest,
                format!("Content-Length {n}, the manifest says {} bytes", d.size),
            ));
        }
    }
    let mut file = tokio::fs::File::create(tmp)
        .await
        .map_err(|e| s.io(format!("creating {}: {e}", tmp.display())))?;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    while let Some(chunk) = s.chunk(&mut resp).await? {
        written += chunk.len() as u64;
        if written > max {
            return Err(s.too_large(what, limit, max));
        }
        if written > d.size {
            return Err(s.mismatch(
                &what,
                &d.digest,
                format!("more than the {} bytes the manifest says", d.size),
            ));
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| s.io(format!("writing {}: {e}", tmp.display())))?;
    }
    file.flush()
        .await
        .map_err(|e| s.io(format!("writing {}: {e}", tmp.display())))?;
    drop(file);
    if written != d.size {
        return Err(s.mismatch(
            &what,
            &d.digest,
            format!("{written} bytes, the manifest says {}", d.size),
        ));
    }
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    if actual != d.digest {
        return Err(s.mismatch(&what, &d.digest, format!("its content hashes to {actual}")));
    }
    Ok(written)
}
