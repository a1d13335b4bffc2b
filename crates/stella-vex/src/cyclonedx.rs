//! CycloneDX 1.4–1.6 JSON: `vulnerabilities[]` with an `analysis`, `affects[].ref` resolved
//! against the document's components.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::{excerpt, Limit, VexError};
use crate::json::{Object, Path, Reader};
use crate::{Format, ProductRef, Purl, Statement, Status, VexDocument};

const VERSIONS: [&str; 3] = ["1.4", "1.5", "1.6"];
const STATES: &str =
    "one of resolved, resolved_with_pedigree, exploitable, in_triage, false_positive, not_affected";

pub(crate) fn read(doc: &Value, r: &Reader) -> Result<VexDocument, VexError> {
    let root = Path::Root;
    let o = r.object(doc, &root)?;
    let vpath = root.key("specVersion");
    match o.get("specVersion") {
        Some(Value::String(v)) if VERSIONS.contains(&v.as_str()) => {}
        Some(v) => return Err(vpath.wrong("CycloneDX specVersion 1.4, 1.5 or 1.6", v)),
        None => return Err(vpath.invalid("CycloneDX specVersion 1.4, 1.5 or 1.6", "nothing")),
    }
    let id = r.opt_str(o, "serialNumber", &root)?.map(str::to_owned);
    let mut warnings = Vec::new();
    let mpath = root.key("metadata");
    let metadata = r.opt_object(o, "metadata", &root)?;
    let doc_time = match metadata {
        Some(m) => r.opt_time(m, "timestamp", &mpath)?,
        None => None,
    };
    let author = metadata.and_then(author);

    let refs = bom_refs(o, r, &mut warnings)?;

    let list_path = root.key("vulnerabilities");
    let items = match o.get("vulnerabilities") {
        Some(Value::Array(a)) => a.as_slice(),
        Some(other) => return Err(list_path.wrong("an array of vulnerabilities", other)),
        None => {
            return Err(list_path.invalid(
                "an array of vulnerabilities (a CycloneDX BOM without them is not VEX)",
                "nothing",
            ))
        }
    };
    if items.len() > r.limits.max_statements {
        return Err(list_path.too_many(Limit::Statements, r.limits.max_statements));
    }
    let ctx = Ctx {
        refs: &refs,
        serial: id
            .as_deref()
            .map(|s| s.strip_prefix("urn:uuid:").unwrap_or(s)),
    };
    let mut statements = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = list_path.index(i);
        if let Some(mut st) = vulnerability(item, &path, r, &ctx, &mut warnings)? {
            st.timestamp = st.timestamp.or(doc_time);
            statements.push(st);
        }
    }
    Ok(VexDocument {
        format: Format::CycloneDx,
        id,
        author,
        timestamp: doc_time,
        statements,
        warnings,
    })
}

fn author(m: &Object) -> Option<String> {
    let named = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_owned);
    m.get("authors")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(named)
        .or_else(|| m.get("manufacturer").and_then(named))
        .or_else(|| m.get("supplier").and_then(named))
        .map(|s| excerpt(&s))
}

/// `bom-ref` → purl (or `None` for a component without one) over `metadata.component` and
/// every nested `components[]`, walked with an explicit stack. Components are read leniently:
/// they are here only to resolve references.
fn bom_refs(
    o: &Object,
    r: &Reader,
    warnings: &mut Vec<String>,
) -> Result<HashMap<String, Option<Purl>>, VexError> {
    let mut map = HashMap::new();
    let mut stack: Vec<&Value> = Vec::new();
    if let Some(c) = o.get("metadata").and_then(|m| m.get("component")) {
        stack.push(c);
    }
    if let Some(Value::Array(cs)) = o.get("components") {
        stack.extend(cs.iter());
    }
    let mut seen = 0usize;
    while let Some(c) = stack.pop() {
        seen += 1;
        if seen > r.limits.max_components {
            return Err(Path::Root
                .key("components")
                .too_many(Limit::Components, r.limits.max_components));
        }
        let Some(c) = c.as_object() else { continue };
        if let Some(Value::Array(children)) = c.get("components") {
            stack.extend(children.iter());
        }
        let Some(bom_ref) = c.get("bom-ref").and_then(Value::as_str) else {
            continue;
        };
        if bom_ref.len() > r.limits.max_string_bytes {
            continue;
        }
        let purl = match c.get("purl").and_then(Value::as_str) {
            Some(p) if p.len() <= r.limits.max_string_bytes => match Purl::parse(p) {
                Ok(p) => Some(p),
                Err(e) => {
                    warnings.push(format!("component {:?}: {e}", excerpt(bom_ref)));
                    None
                }
            },
            _ => None,
        };
        map.entry(bom_ref.to_owned()).or_insert(purl);
    }
    Ok(map)
}

struct Ctx<'a> {
    refs: &'a HashMap<String, Option<Purl>>,
    /// The document's serial number without `urn:uuid:`, for BOM-links into itself.
    serial: Option<&'a str>,
}

fn vulnerability(
    v: &Value,
    path: &Path,
    r: &Reader,
    ctx: &Ctx,
    warnings: &mut Vec<String>,
) -> Result<Option<Statement>, VexError> {
    let o = r.object(v, path)?;
    let Some(id) = r.opt_str(o, "id", path)? else {
        return Err(path
            .key("id")
            .invalid("a vulnerability id such as CVE-2024-1234", "nothing"));
    };
    let mut aliases = Vec::new();
    if let Some(items) = r.opt_array(o, "references", path)? {
        let rpath = path.key("references");
        if items.len() > r.limits.max_aliases {
            return Err(rpath.too_many(Limit::Aliases, r.limits.max_aliases));
        }
        for (i, item) in items.iter().enumerate() {
            let p = rpath.index(i);
            let ro = r.object(item, &p)?;
            if let Some(alias) = r.opt_str(ro, "id", &p)? {
                if alias != id && !aliases.iter().any(|a| a == alias) {
                    aliases.push(alias.to_owned());
                }
            }
        }
    }
    let Some(analysis) = r.opt_object(o, "analysis", path)? else {
        warnings.push(format!(
            "{path}: vulnerability {:?} has no analysis, so it is not a VEX statement",
            excerpt(id)
        ));
        return Ok(None);
    };
    let apath = path.key("analysis");
    let spath = apath.key("state");
    let (status, label) = match analysis.get("state") {
        None | Some(Value::Null) => {
            warnings.push(format!(
                "{apath}: vulnerability {:?} has no analysis.state, so it is not a VEX statement",
                excerpt(id)
            ));
            return Ok(None);
        }
        Some(sv) => {
            let s = r.string(sv, &spath)?.unwrap_or("");
            let status = match s {
                "not_affected" => Status::NotAffected,
                "false_positive" => Status::FalsePositive,
                "exploitable" => Status::Affected,
                "resolved" | "resolved_with_pedigree" => Status::Fixed,
                "in_triage" => Status::UnderInvestigation,
                _ => return Err(spath.wrong(STATES, sv)),
            };
            (status, s.to_owned())
        }
    };
    let justification = r
        .opt_str(analysis, "justification", &apath)?
        .map(str::to_owned);
    let detail = r.opt_str(analysis, "detail", &apath)?.map(str::to_owned);
    let mut responses = Vec::new();
    if let Some(items) = r.opt_array(analysis, "response", &apath)? {
        let rpath = apath.key("response");
        for (i, item) in items.iter().enumerate().take(r.limits.max_aliases) {
            if let Some(s) = r.string(item, &rpath.index(i))? {
                responses.push(s);
            }
        }
    }
    let action = (!responses.is_empty()).then(|| responses.join(", "));
    let mut timestamp = r.opt_time(analysis, "lastUpdated", &apath)?;
    if timestamp.is_none() {
        timestamp = r.opt_time(analysis, "firstIssued", &apath)?;
    }
    if timestamp.is_none() {
        timestamp = r.opt_time(o, "updated", path)?;
    }

    let mut products = Vec::new();
    if let Some(items) = r.opt_array(o, "affects", path)? {
        let fpath = path.key("affects");
        if items.len() > r.limits.max_products {
            return Err(fpath.too_many(Limit::Products, r.limits.max_products));
        }
        for (i, item) in items.iter().enumerate() {
            let p = fpath.index(i);
            let ao = r.object(item, &p)?;
            let Some(reference) = r.opt_str(ao, "ref", &p)? else {
                return Err(p
                    .key("ref")
                    .invalid("a bom-ref, purl or BOM-link", "nothing"));
            };
            let purl = resolve(reference, &p.key("ref"), ctx, warnings);
            products.push(ProductRef {
                id: reference.to_owned(),
                purl,
                subcomponents: Vec::new(),
            });
        }
    }
    if products.is_empty() {
        warnings.push(format!(
            "{path}: vulnerability {:?} affects nothing, so it applies to no finding",
            excerpt(id)
        ));
    }
    Ok(Some(Statement {
        vulnerability: id.to_owned(),
        aliases,
        products,
        status,
        status_label: label,
        justification,
        detail,
        action,
        timestamp,
        location: path.to_string(),
    }))
}

fn resolve(reference: &str, path: &Path, ctx: &Ctx, warnings: &mut Vec<String>) -> Option<Purl> {
    let local = |bom_ref: &str, warnings: &mut Vec<String>| match ctx.refs.get(bom_ref) {
        Some(Some(p)) => Some(p.clone()),
        Some(None) => {
            warnings.push(format!(
                "{path}: component {:?} has no purl, so the statement matches no finding",
                excerpt(bom_ref)
            ));
            None
        }
        None => {
            warnings.push(format!(
                "{path}: no component in this document has bom-ref {:?}",
                excerpt(bom_ref)
            ));
            None
        }
    };
    if reference.starts_with("pkg:") && !ctx.refs.contains_key(reference) {
        return match Purl::parse(reference) {
            Ok(p) => Some(p),
            Err(e) => {
                warnings.push(format!("{path}: {e}"));
                None
            }
        };
    }
    if let Some(link) = reference.strip_prefix("urn:cdx:") {
        // urn:cdx:<serial>/<version>#<bom-ref>
        let (bom, fragment) = match link.split_once('#') {
            Some((bom, frag)) => (bom, Some(frag)),
            None => (link, None),
        };
        let serial = bom.split('/').next().unwrap_or(bom);
        return match (fragment, ctx.serial) {
            (Some(frag), Some(own)) if own.eq_ignore_ascii_case(serial) => local(frag, warnings),
            _ => {
                warnings.push(format!(
                    "{path}: BOM-link {:?} points into another BOM, which is not read",
                    excerpt(reference)
                ));
                None
            }
        };
    }
    local(reference, warnings)
}
