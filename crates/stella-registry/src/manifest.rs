//! Manifests and indexes (OCI and Docker v2 schema 2): reading, checking, choosing a platform.

use serde_json::Value;

use crate::reference::check_digest;
use crate::session::Session;
use crate::{Descriptor, Platform};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_V1: &str = "application/vnd.docker.distribution.manifest.v1";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// The `Accept` header of manifest requests: indexes and manifests of both families.
pub(crate) const ACCEPT_ALL: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
/// After an index: only single-platform manifests.
pub(crate) const ACCEPT_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

pub(crate) enum Parsed {
    Index(Vec<(Descriptor, Option<Platform>)>),
    Manifest {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

/// The media type of a fetched manifest: the document's own `mediaType`, else the
/// `Content-Type` header, else guessed from the shape (`manifests` → OCI index).
pub(crate) fn media_type(body: &Value, content_type: Option<&str>) -> String {
    if let Some(mt) = body.get("mediaType").and_then(Value::as_str) {
        return mt.to_owned();
    }
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim().to_owned())
        .filter(|c| c.starts_with("application/vnd."));
    header.unwrap_or_else(|| {
        if body.get("manifests").is_some() {
            OCI_INDEX.to_owned()
        } else {
            OCI_MANIFEST.to_owned()
        }
    })
}

pub(crate) fn parse(
    s: &Session,
    body: &Value,
    media_type: &str,
) -> Result<Parsed, crate::RegistryError> {
    if media_type.starts_with(DOCKER_V1)
        || body.get("schemaVersion").and_then(Value::as_u64) == Some(1)
    {
        return Err(s.bad_manifest("Docker schema 1 manifests are not supported: push the image again with a current client"));
    }
    if body.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(s.bad_manifest("schemaVersion is not 2"));
    }
    match media_type {
        OCI_INDEX | DOCKER_LIST => {
            let Some(items) = body.get("manifests").and_then(Value::as_array) else {
                return Err(s.bad_manifest("the index has no manifests array"));
            };
            if items.len() > 4 * s.opts.max_layers.max(64) {
                return Err(s.bad_manifest(format!("the index lists {} manifests", items.len())));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let d = descriptor(s, item, &format!("manifests[{i}]"))?;
                let platform = item.get("platform").map(|p| Platform {
                    os: str_field(p, "os"),
                    architecture: str_field(p, "architecture"),
                    variant: p.get("variant").and_then(Value::as_str).map(str::to_owned),
                });
                out.push((d, platform));
            }
            Ok(Parsed::Index(out))
        }
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let Some(config) = body.get("config") else {
                return Err(s.bad_manifest("the manifest has no config"));
            };
            let config = descriptor(s, config, "config")?;
            if config.media_type != OCI_CONFIG && config.media_type != DOCKER_CONFIG {
                return Err(s.bad_manifest(format!(
                    "it is not a container image (config media type {:?})",
                    crate::error::excerpt(&config.media_type)
                )));
            }
            let Some(items) = body.get("layers").and_then(Value::as_array) else {
                return Err(s.bad_manifest("the manifest has no layers array"));
            };
            if items.len() > s.opts.max_layers {
                return Err(s.too_large(
                    format!("the image's {} layers", items.len()),
                    "max_layers",
                    s.opts.max_layers as u64,
                ));
            }
            let layers = items
                .iter()
                .enumerate()
                .map(|(i, l)| descriptor(s, l, &format!("layers[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Parsed::Manifest { config, layers })
        }
        other => Err(s.bad_manifest(format!(
            "unsupported manifest media type {:?}",
            crate::error::excerpt(other)
        ))),
    }
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

fn descriptor(s: &Session, v: &Value, at: &str) -> Result<Descriptor, crate::RegistryError> {
    let digest = v.get("digest").and_then(Value::as_str).unwrap_or("");
    check_digest(digest).map_err(|r| s.bad_manifest(format!("{at}.digest: {r}")))?;
    let size = v
        .get("size")
        .and_then(Value::as_u64)
        .ok_or_else(|| s.bad_manifest(format!("{at}.size is not a whole number")))?;
    Ok(Descriptor {
        media_type: str_field(v, "mediaType"),
        digest: digest.to_owned(),
        size,
    })
}

fn norm_arch(a: &str) -> &str {
    match a {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The entry of an index for `wanted`: os and architecture equal (x86_64 = amd64,
/// aarch64 = arm64); a wanted variant must be equal (arm64 without a variant is v8); no
/// wanted variant takes the first entry of the architecture.
pub(crate) fn choose<'i>(
    entries: &'i [(Descriptor, Option<Platform>)],
    wanted: &Platform,
) -> Option<&'i Descriptor> {
    let variant = |p: &Platform| -> Option<String> {
        match (norm_arch(&p.architecture), p.variant.as_deref()) {
            ("arm64", None) => Some("v8".to_owned()),
            (_, v) => v.map(str::to_owned),
        }
    };
    entries.iter().find_map(|(d, p)| {
        let p = p.as_ref()?;
        let ok = p.os == wanted.os
            && norm_arch(&p.architecture) == norm_arch(&wanted.architecture)
            && (wanted.variant.is_none() || variant(p) == variant(wanted));
        ok.then_some(d)
    })
}

/// The platforms an index offers, for the error when none matches (attestation entries,
/// `unknown/unknown`, left out).
pub(crate) fn available(entries: &[(Descriptor, Option<Platform>)]) -> Vec<String> {
    let mut out: Vec<String> = entries
        .iter()
        .filter_map(|(_, p)| p.as_ref())
        .filter(|p| p.os != "unknown" && !p.os.is_empty())
        .map(Platform::to_string)
        .collect();
    out.dedup();
    out
}
