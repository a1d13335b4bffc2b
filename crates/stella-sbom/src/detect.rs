//! Format detection from the markers each format requires at its top level.

use serde_json::Value;

use crate::error::SbomError;
use crate::json::{kind, quoted};
use crate::SbomType;

/// CycloneDX: `bomFormat: "CycloneDX"`; SPDX: `spdxVersion: "SPDX-…"`; Trivy: `SchemaVersion`
/// with `ArtifactName` or `Results`. The spec version is checked by the format's reader, so
/// that an old CycloneDX document gets "1.2 is not supported" rather than "unknown format".
pub(crate) fn detect(doc: &Value) -> Result<SbomType, SbomError> {
    let Some(o) = doc.as_object() else {
        return Err(SbomError::unknown_format(format!(
            "the SBOM must be a JSON object, found {}",
            kind(doc)
        )));
    };
    match o.get("bomFormat") {
        Some(Value::String(s)) if s == "CycloneDX" => return Ok(SbomType::CycloneDxJson),
        Some(Value::String(s)) => {
            return Err(SbomError::unknown_format(format!(
                "$.bomFormat is {}: the only bomFormat read is \"CycloneDX\"",
                quoted(s)
            )))
        }
        _ => {}
    }
    if let Some(Value::String(s)) = o.get("spdxVersion") {
        if s.starts_with("SPDX-") {
            return Ok(SbomType::SpdxJson);
        }
    }
    if o.contains_key("SchemaVersion")
        && (o.contains_key("ArtifactName") || o.contains_key("Results"))
    {
        return Ok(SbomType::TrivyJsonV2);
    }
    // SPDX 3 is JSON-LD with no spdxVersion; say so rather than "unknown".
    if let Some(ctx) = o.get("@context") {
        let names_spdx3 = |v: &Value| v.as_str().is_some_and(|s| s.contains("spdx.org/rdf/3"));
        let spdx3 = match ctx {
            Value::Array(items) => items.iter().any(names_spdx3),
            other => names_spdx3(other),
        };
        if spdx3 {
            return Err(SbomError::UnsupportedVersion {
                format: SbomType::SpdxJson,
                found: "3".to_owned(),
                supported: crate::spdx::SUPPORTED_NAMES,
            });
        }
    }
    Err(SbomError::unknown_format(
        "not a recognised SBOM: expected CycloneDX JSON (bomFormat \"CycloneDX\" and \
         specVersion), SPDX JSON (spdxVersion \"SPDX-2.x\") or a Trivy JSON report \
         (SchemaVersion 2 with ArtifactName and Results)",
    ))
}
