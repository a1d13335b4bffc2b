//! Stella Ops SBOM reader: turns a Software Bill of Materials into one normalised list of
//! components for vulnerability matching.
//!
//! Read formats: CycloneDX JSON 1.4–1.6, SPDX JSON 2.2–2.3 and Trivy JSON reports (schema 2).
//! The format is detected from the document ([`detect`]) or declared by the caller
//! ([`SbomType::from_header`], [`parse_as`]).
//!
//! Each [`Component`] has its name and version, its [package URL](purl::Purl) when the
//! document gives one, the OSV ecosystem derived from it, the distribution source package
//! (which is what Debian, Ubuntu and Alpine advisories name) and the container layer it came
//! from. Components are identified by purl, or by name, version and ecosystem when they have
//! none; duplicates are merged, keeping the first. A component whose purl is broken is kept
//! without one and a warning says so: what the scanner cannot assess is reported, never
//! silently dropped.
//!
//! The input is untrusted (`POST /scan` bodies): [`Limits`] bound its size, its number of
//! components and its nesting, every error has a stable [`SbomError::code`], and nothing in
//! here panics, recurses without bound, or does I/O. The library takes `&[u8]`.
//!
//! ```
//! let body = br#"{"bomFormat":"CycloneDX","specVersion":"1.5",
//!   "components":[{"name":"lodash","version":"4.17.4","purl":"pkg:npm/lodash@4.17.4"}]}"#;
//! let sbom = stella_sbom::parse(body, &stella_sbom::Limits::default())?;
//! assert_eq!(sbom.components[0].ecosystem.as_deref(), Some("npm"));
//! # Ok::<(), stella_sbom::SbomError>(())
//! ```

mod collect;
mod cyclonedx;
mod detect;
pub mod ecosystem;
mod error;
mod json;
pub mod purl;
mod spdx;
mod trivy;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub use error::{Limit, SbomError};
pub use purl::Purl;

/// Bounds on what one document may contain. Going over one is an error that names the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Size of the body in bytes.
    pub max_bytes: usize,
    /// Component entries read (before duplicates are merged).
    pub max_components: usize,
    /// Nesting of JSON arrays and objects. serde_json refuses more than 128 by itself.
    pub max_depth: usize,
    /// Nesting of CycloneDX `components[].components`.
    pub max_component_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 * 1024 * 1024,
            max_components: 100_000,
            max_depth: 64,
            max_component_depth: 16,
        }
    }
}

/// The document formats read, named as the scan API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SbomType {
    #[serde(rename = "cyclonedx-json")]
    CycloneDxJson,
    #[serde(rename = "spdx-json")]
    SpdxJson,
    #[serde(rename = "trivy-json-v2")]
    TrivyJsonV2,
}

impl SbomType {
    pub const ALL: [SbomType; 3] = [
        SbomType::TrivyJsonV2,
        SbomType::SpdxJson,
        SbomType::CycloneDxJson,
    ];

    /// `cyclonedx-json`, `spdx-json` or `trivy-json-v2`.
    pub fn name(self) -> &'static str {
        match self {
            SbomType::CycloneDxJson => "cyclonedx-json",
            SbomType::SpdxJson => "spdx-json",
            SbomType::TrivyJsonV2 => "trivy-json-v2",
        }
    }

    /// The specification versions read for this format.
    pub fn supported_versions(self) -> &'static [&'static str] {
        match self {
            SbomType::CycloneDxJson => cyclonedx::SUPPORTED,
            SbomType::SpdxJson => spdx::SUPPORTED,
            SbomType::TrivyJsonV2 => trivy::SUPPORTED,
        }
    }

    /// The type a caller declared (a request header or CLI flag): one of the names above,
    /// case-insensitive; anything else is `sbom-unknown-type`, naming the allowed values.
    pub fn from_header(value: &str) -> Result<SbomType, SbomError> {
        let v = value.trim();
        SbomType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(v))
            .ok_or_else(|| SbomError::UnknownType {
                given: error::excerpt(v),
            })
    }
}

impl fmt::Display for SbomType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SbomType {
    type Err = SbomError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SbomType::from_header(s)
    }
}

/// One document, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sbom {
    pub kind: SbomType,
    /// `1.5` for CycloneDX, `2.3` for SPDX, `2` for Trivy.
    pub spec_version: String,
    /// What the document describes (CycloneDX `metadata.component`, the package an SPDX
    /// document describes, Trivy's `ArtifactName`). Not a component.
    pub subject: Option<Subject>,
    /// The operating system of the scanned image, where the document names it.
    pub os: Option<OsInfo>,
    pub components: Vec<Component>,
    /// Things read but not understood (a broken purl, a Trivy result without packages).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    pub name: String,
    pub version: Option<String>,
}

/// The distribution an image is built on, as the producer names it (`debian` / `12.5`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsInfo {
    pub family: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Component {
    pub name: String,
    pub version: Option<String>,
    pub purl: Option<Purl>,
    /// OSV ecosystem (`PyPI`, `npm`, `Debian:12`, ...), from the purl or the producer's
    /// package type.
    pub ecosystem: Option<String>,
    /// Distribution source package (`openssl` for `libssl3`).
    pub source_name: Option<String>,
    pub source_version: Option<String>,
    /// Digest of the image layer that added the package.
    pub layer: Option<String>,
    /// The component's id in the document (CycloneDX `bom-ref`, SPDX `SPDXID`, Trivy UID).
    pub bom_ref: Option<String>,
}

/// Detects the format of a document (with the default [`Limits`]).
pub fn detect(bytes: &[u8]) -> Result<SbomType, SbomError> {
    let doc = json::read(bytes, &Limits::default())?;
    detect::detect(&doc)
}

/// Reads a document of any supported format.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Sbom, SbomError> {
    let doc = json::read(bytes, limits)?;
    let kind = detect::detect(&doc)?;
    read_as(&doc, kind, limits)
}

/// Reads a document the caller declared to be of `kind`. A document that is plainly another
/// format is `sbom-format-mismatch`; one that lacks the markers detection looks for is read
/// as `kind`, and its missing fields are reported as such.
pub fn parse_as(bytes: &[u8], kind: SbomType, limits: &Limits) -> Result<Sbom, SbomError> {
    let doc = json::read(bytes, limits)?;
    match detect::detect(&doc) {
        Ok(found) if found != kind => Err(SbomError::FormatMismatch {
            declared: kind,
            found,
        }),
        Err(e @ SbomError::UnsupportedVersion { .. }) => Err(e),
        _ => read_as(&doc, kind, limits),
    }
}

fn read_as(doc: &serde_json::Value, kind: SbomType, limits: &Limits) -> Result<Sbom, SbomError> {
    let root = json::as_object(doc, &json::Path::Root)?;
    match kind {
        SbomType::CycloneDxJson => cyclonedx::read(root, limits),
        SbomType::SpdxJson => spdx::read(root, limits),
        SbomType::TrivyJsonV2 => trivy::read(root, limits),
    }
}
