//! Trivy JSON reports, schema version 2 (`trivy image --format json --list-all-pkgs`).
//!
//! Packages are in `Results[].Packages[]`, one result per target (the OS, each lock file or
//! site-packages directory). OS packages carry their source package (`SrcName`, which is what
//! Debian and Alpine advisories are filed under) and RPM-style versions split into `Version`,
//! `Release` and `Epoch`; both are put back together here. Packages without a purl (older
//! Trivy) get their ecosystem from the result's `Type` and `Metadata.OS`.

use crate::collect::{full_version, Collector};
use crate::ecosystem;
use crate::error::SbomError;
use crate::json::{as_object, opt_array, opt_object, opt_str, opt_u64, Object, Path};
use crate::{Component, Limits, OsInfo, Sbom, SbomType, Subject};

pub(crate) const SUPPORTED: &[&str] = &["2"];

pub(crate) fn read(doc: &Object, limits: &Limits) -> Result<Sbom, SbomError> {
    let root = Path::Root;
    match doc.get("SchemaVersion") {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(2) => {}
        Some(serde_json::Value::Number(n)) => {
            return Err(SbomError::UnsupportedVersion {
                format: SbomType::TrivyJsonV2,
                found: n.to_string(),
                supported: SUPPORTED,
            })
        }
        Some(other) => {
            return Err(root.key("SchemaVersion").invalid(format!(
                "expected a number, found {}",
                crate::json::kind(other)
            )))
        }
        None => {
            return Err(root
                .key("SchemaVersion")
                .invalid("missing: a Trivy JSON report has SchemaVersion 2"))
        }
    }

    let mut out = Collector::new(limits);
    let subject = opt_str(doc, "ArtifactName", &root)?.map(|n| Subject {
        name: n.to_owned(),
        version: None,
    });
    if let Some(meta) = opt_object(doc, "Metadata", &root)? {
        let mp = root.key("Metadata");
        if let Some(os) = opt_object(meta, "OS", &mp)? {
            let op = mp.key("OS");
            if let (Some(family), Some(name)) =
                (opt_str(os, "Family", &op)?, opt_str(os, "Name", &op)?)
            {
                out.os = Some(OsInfo {
                    family: family.to_ascii_lowercase(),
                    name: name.to_owned(),
                });
            }
        }
    }

    let results = opt_array(doc, "Results", &root)?.unwrap_or_default();
    let results_path = root.key("Results");
    for (i, item) in results.iter().enumerate() {
        let rp = results_path.index(i);
        let result = as_object(item, &rp)?;
        let ty = opt_str(result, "Type", &rp)?;
        let Some(packages) = opt_array(result, "Packages", &rp)? else {
            if opt_array(result, "Vulnerabilities", &rp)?.is_some_and(|v| !v.is_empty()) {
                out.warn(format!(
                    "{rp} lists vulnerabilities but no Packages: run Trivy with --list-all-pkgs \
                     so that every package is sent"
                ));
            }
            continue;
        };
        let fallback_ecosystem = ty.and_then(|t| ecosystem::for_trivy_type(t, out.os.as_ref()));
        let pp = rp.key("Packages");
        for (j, item) in packages.iter().enumerate() {
            let p = pp.index(j);
            let pkg = as_object(item, &p)?;
            out.count()?;
            package(pkg, &p, fallback_ecosystem.as_deref(), &mut out)?;
        }
    }
    Ok(out.finish(SbomType::TrivyJsonV2, "2", subject))
}

fn package(
    pkg: &Object,
    p: &Path,
    fallback_ecosystem: Option<&str>,
    out: &mut Collector,
) -> Result<(), SbomError> {
    let Some(name) = opt_str(pkg, "Name", p)? else {
        return Err(p.key("Name").invalid("missing: every package needs a Name"));
    };
    let version = full_version(
        opt_str(pkg, "Version", p)?,
        opt_str(pkg, "Release", p)?,
        opt_u64(pkg, "Epoch", p)?,
    );
    let source_name = opt_str(pkg, "SrcName", p)?.map(str::to_owned);
    let source_version = full_version(
        opt_str(pkg, "SrcVersion", p)?,
        opt_str(pkg, "SrcRelease", p)?,
        opt_u64(pkg, "SrcEpoch", p)?,
    );
    let (purl, bom_ref) = match opt_object(pkg, "Identifier", p)? {
        Some(id) => {
            let ip = p.key("Identifier");
            let purl = out.purl(opt_str(id, "PURL", &ip)?, &ip.key("PURL"));
            let bom_ref = opt_str(id, "BOMRef", &ip)?.or(opt_str(id, "UID", &ip)?);
            (purl, bom_ref.map(str::to_owned))
        }
        None => (None, None),
    };
    let layer = match opt_object(pkg, "Layer", p)? {
        Some(layer) => {
            let lp = p.key("Layer");
            opt_str(layer, "Digest", &lp)?
                .or(opt_str(layer, "DiffID", &lp)?)
                .map(str::to_owned)
        }
        None => None,
    };
    out.push(Component {
        name: name.to_owned(),
        version,
        // A purl's own ecosystem replaces this one when the component is completed.
        ecosystem: fallback_ecosystem.map(str::to_owned),
        purl,
        source_name,
        source_version,
        layer,
        bom_ref,
    });
    Ok(())
}
