//! CycloneDX JSON 1.4–1.6.
//!
//! Components nest (`components[].components`, e.g. the classes of a jar or the packages of
//! an application) and are flattened. `metadata.component` is what the BOM describes, the
//! subject, not one of its dependencies; components nested under it are dependencies and are
//! read. An `operating-system` component names the image's distribution and becomes
//! [`crate::Sbom::os`]. Trivy writes source packages and layers as `aquasecurity:trivy:*`
//! properties, Syft writes Debian source packages as `syft:metadata:source*`.

use serde_json::Value;

use crate::collect::{full_version, name_or_purl, Collector};
use crate::error::{Limit, SbomError};
use crate::json::{as_object, opt_array, opt_object, opt_str, quoted, Object, Path};
use crate::{Component, Limits, OsInfo, Sbom, SbomType, Subject};

pub(crate) const SUPPORTED: &[&str] = &["1.4", "1.5", "1.6"];

pub(crate) fn read(doc: &Object, limits: &Limits) -> Result<Sbom, SbomError> {
    let root = Path::Root;
    if let Some(format) = opt_str(doc, "bomFormat", &root)? {
        if format != "CycloneDX" {
            return Err(root
                .key("bomFormat")
                .invalid(format!("expected \"CycloneDX\", found {}", quoted(format))));
        }
    }
    let Some(version) = opt_str(doc, "specVersion", &root)? else {
        return Err(root.key("specVersion").invalid(
            "missing: a CycloneDX document names its specification version (1.4, 1.5 or 1.6)",
        ));
    };
    if !SUPPORTED.contains(&version) {
        return Err(SbomError::UnsupportedVersion {
            format: SbomType::CycloneDxJson,
            found: crate::error::excerpt(version),
            supported: SUPPORTED,
        });
    }

    let mut out = Collector::new(limits);
    let mut subject = None;
    if let Some(metadata) = opt_object(doc, "metadata", &root)? {
        let meta_path = root.key("metadata");
        if let Some(main) = opt_object(metadata, "component", &meta_path)? {
            let main_path = meta_path.key("component");
            if let Some(name) = opt_str(main, "name", &main_path)? {
                subject = Some(Subject {
                    name: name.to_owned(),
                    version: opt_str(main, "version", &main_path)?.map(str::to_owned),
                });
            }
            if let Some(children) = opt_array(main, "components", &main_path)? {
                walk(children, &main_path.key("components"), 1, &mut out)?;
            }
        }
    }
    if let Some(components) = opt_array(doc, "components", &root)? {
        walk(components, &root.key("components"), 1, &mut out)?;
    }
    Ok(out.finish(SbomType::CycloneDxJson, version, subject))
}

/// Recursion is bounded by `max_component_depth` here and by the JSON nesting limit before
/// parsing, whichever is smaller.
fn walk(list: &[Value], path: &Path, depth: usize, out: &mut Collector) -> Result<(), SbomError> {
    if !list.is_empty() && depth > out.limits().max_component_depth {
        return Err(SbomError::TooDeep {
            limit: Limit::ComponentDepth,
            max: out.limits().max_component_depth,
        });
    }
    for (i, item) in list.iter().enumerate() {
        let p = path.index(i);
        let c = as_object(item, &p)?;
        out.count()?;
        component(c, &p, out)?;
        if let Some(children) = opt_array(c, "components", &p)? {
            walk(children, &p.key("components"), depth + 1, out)?;
        }
    }
    Ok(())
}

fn component(c: &Object, p: &Path, out: &mut Collector) -> Result<(), SbomError> {
    let name = opt_str(c, "name", p)?;
    let version = opt_str(c, "version", p)?;
    if opt_str(c, "type", p)? == Some("operating-system") {
        if let (Some(family), Some(release), None) = (name, version, &out.os) {
            out.os = Some(OsInfo {
                family: family.to_ascii_lowercase(),
                name: release.to_owned(),
            });
        }
        return Ok(());
    }
    let raw_purl = opt_str(c, "purl", p)?;
    if name.is_none() && raw_purl.is_none() {
        return Err(p
            .key("name")
            .invalid("missing: every component needs a name or a purl"));
    }
    let purl = out.purl(raw_purl, &p.key("purl"));
    let group = opt_str(c, "group", p)?;
    let name = match (group, name) {
        // Maven coordinates are group:artifact; everything else (npm scopes) is group/name.
        (Some(g), Some(n)) if purl.as_ref().is_some_and(|p| p.ty() == "maven") => {
            format!("{g}:{n}")
        }
        (Some(g), Some(n)) => format!("{g}/{n}"),
        (_, name) => name_or_purl(name, purl.as_ref(), raw_purl),
    };
    let props = Properties::read(c, p)?;
    let source_version = full_version(
        props.get("aquasecurity:trivy:SrcVersion"),
        props.get("aquasecurity:trivy:SrcRelease"),
        props
            .get("aquasecurity:trivy:SrcEpoch")
            .and_then(|e| e.parse().ok()),
    )
    .or_else(|| props.get("syft:metadata:sourceVersion").map(str::to_owned));
    out.push(Component {
        name,
        version: version.map(str::to_owned),
        purl,
        ecosystem: None,
        source_name: props
            .get("aquasecurity:trivy:SrcName")
            .or_else(|| props.get("syft:metadata:source"))
            .map(str::to_owned),
        source_version,
        layer: props
            .get("aquasecurity:trivy:LayerDigest")
            .or_else(|| props.get("aquasecurity:trivy:LayerDiffID"))
            .map(str::to_owned),
        bom_ref: opt_str(c, "bom-ref", p)?.map(str::to_owned),
    });
    Ok(())
}

/// The few `properties` this crate uses; others are not type-checked.
struct Properties<'v>(Vec<(&'v str, &'v str)>);

impl<'v> Properties<'v> {
    const USED: [&'static str; 8] = [
        "aquasecurity:trivy:SrcName",
        "aquasecurity:trivy:SrcVersion",
        "aquasecurity:trivy:SrcRelease",
        "aquasecurity:trivy:SrcEpoch",
        "aquasecurity:trivy:LayerDigest",
        "aquasecurity:trivy:LayerDiffID",
        "syft:metadata:source",
        "syft:metadata:sourceVersion",
    ];

    fn read(c: &'v Object, p: &Path) -> Result<Self, SbomError> {
        let mut found = Vec::new();
        let Some(list) = opt_array(c, "properties", p)? else {
            return Ok(Properties(found));
        };
        let list_path = p.key("properties");
        for (i, item) in list.iter().enumerate() {
            let ip = list_path.index(i);
            let prop = as_object(item, &ip)?;
            let Some(name) = opt_str(prop, "name", &ip)? else {
                continue;
            };
            if Self::USED.contains(&name) {
                if let Some(value) = opt_str(prop, "value", &ip)? {
                    found.push((name, value));
                }
            }
        }
        Ok(Properties(found))
    }

    fn get(&self, name: &str) -> Option<&'v str> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}
