//! OpenVEX 0.2.0 (and the 0.0.x string forms of `vulnerability`, `products` and
//! `subcomponents`).

use serde_json::Value;

use crate::error::{excerpt, Limit, VexError};
use crate::json::{Object, Path, Reader};
use crate::{Format, ProductRef, Purl, Statement, Status, VexDocument};

const STATUSES: &str = "one of not_affected, affected, fixed, under_investigation";

pub(crate) fn read(doc: &Value, r: &Reader) -> Result<VexDocument, VexError> {
    let root = Path::Root;
    let o = r.object(doc, &root)?;
    let id = r.opt_str(o, "@id", &root)?.map(str::to_owned);
    let author = r.opt_str(o, "author", &root)?.map(str::to_owned);
    let doc_time = match r.opt_time(o, "last_updated", &root)? {
        Some(t) => Some(t),
        None => r.opt_time(o, "timestamp", &root)?,
    };
    let mut warnings = Vec::new();
    let statements_path = root.key("statements");
    let items = match o.get("statements") {
        Some(Value::Array(a)) => a.as_slice(),
        Some(other) => return Err(statements_path.wrong("an array of statements", other)),
        None => return Err(statements_path.invalid("an array of statements", "nothing")),
    };
    if items.len() > r.limits.max_statements {
        return Err(statements_path.too_many(Limit::Statements, r.limits.max_statements));
    }
    let mut statements = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = statements_path.index(i);
        let mut st = statement(item, &path, r, &mut warnings)?;
        st.timestamp = st.timestamp.or(doc_time);
        statements.push(st);
    }
    Ok(VexDocument {
        format: Format::OpenVex,
        id,
        author,
        timestamp: doc_time,
        statements,
        warnings,
    })
}

fn statement(
    v: &Value,
    path: &Path,
    r: &Reader,
    warnings: &mut Vec<String>,
) -> Result<Statement, VexError> {
    let o = r.object(v, path)?;
    let (vulnerability, aliases) = vulnerability(o, path, r)?;

    let status_path = path.key("status");
    let (status, status_label) = match o.get("status") {
        None | Some(Value::Null) => return Err(status_path.invalid(STATUSES, "nothing")),
        Some(v) => {
            let s = r.string(v, &status_path)?.unwrap_or("");
            let status = match s {
                "not_affected" => Status::NotAffected,
                "affected" => Status::Affected,
                "fixed" => Status::Fixed,
                "under_investigation" => Status::UnderInvestigation,
                _ => return Err(status_path.wrong(STATUSES, v)),
            };
            (status, s.to_owned())
        }
    };

    let products = products(o, path, r, warnings)?;
    if products.is_empty() {
        warnings.push(format!(
            "{path}: the statement names no products, so it applies to no finding"
        ));
    }
    let justification = r.opt_str(o, "justification", path)?.map(str::to_owned);
    let detail = match r.opt_str(o, "impact_statement", path)? {
        Some(s) => Some(s.to_owned()),
        None => r.opt_str(o, "status_notes", path)?.map(str::to_owned),
    };
    if status == Status::NotAffected && justification.is_none() && detail.is_none() {
        warnings.push(format!(
            "{path}: a not_affected statement should give a justification or an impact_statement"
        ));
    }
    let action = r.opt_str(o, "action_statement", path)?.map(str::to_owned);
    let timestamp = match r.opt_time(o, "last_updated", path)? {
        Some(t) => Some(t),
        None => r.opt_time(o, "timestamp", path)?,
    };
    Ok(Statement {
        vulnerability,
        aliases,
        products,
        status,
        status_label,
        justification,
        detail,
        action,
        timestamp,
        location: path.to_string(),
    })
}

fn vulnerability(o: &Object, path: &Path, r: &Reader) -> Result<(String, Vec<String>), VexError> {
    let vpath = path.key("vulnerability");
    match o.get("vulnerability") {
        None | Some(Value::Null) => Err(vpath.invalid(
            "a vulnerability object with a name (\"vulnerability\": {\"name\": \"CVE-…\"})",
            "nothing",
        )),
        // OpenVEX 0.0.x: the id as a string.
        Some(v @ Value::String(_)) => match r.string(v, &vpath)? {
            Some(s) => Ok((s.to_owned(), Vec::new())),
            None => Err(vpath.invalid("a vulnerability id", "an empty string")),
        },
        Some(Value::Object(vo)) => {
            let name = match r.opt_str(vo, "name", &vpath)? {
                Some(n) => n,
                None => match r.opt_str(vo, "@id", &vpath)? {
                    Some(n) => n,
                    None => {
                        return Err(vpath
                            .key("name")
                            .invalid("a vulnerability name such as CVE-2024-1234", "nothing"))
                    }
                },
            };
            let mut aliases = Vec::new();
            let apath = vpath.key("aliases");
            if let Some(items) = r.opt_array(vo, "aliases", &vpath)? {
                if items.len() > r.limits.max_aliases {
                    return Err(apath.too_many(Limit::Aliases, r.limits.max_aliases));
                }
                for (i, a) in items.iter().enumerate() {
                    if let Some(s) = r.string(a, &apath.index(i))? {
                        aliases.push(s.to_owned());
                    }
                }
            }
            Ok((name.to_owned(), aliases))
        }
        Some(other) => Err(vpath.wrong("a vulnerability object or id string", other)),
    }
}

fn products(
    o: &Object,
    path: &Path,
    r: &Reader,
    warnings: &mut Vec<String>,
) -> Result<Vec<ProductRef>, VexError> {
    let ppath = path.key("products");
    let Some(items) = r.opt_array(o, "products", path)? else {
        return Ok(Vec::new());
    };
    let mut budget = r.limits.max_products;
    let mut out = Vec::with_capacity(items.len().min(budget));
    for (i, item) in items.iter().enumerate() {
        let p = ppath.index(i);
        let mut product = product(item, &p, r, warnings)?;
        take(&mut budget, &ppath, r)?;
        let spath = p.key("subcomponents");
        if let Value::Object(po) = item {
            if let Some(subs) = r.opt_array(po, "subcomponents", &p)? {
                for (j, sub) in subs.iter().enumerate() {
                    take(&mut budget, &ppath, r)?;
                    product
                        .subcomponents
                        .push(self::product(sub, &spath.index(j), r, warnings)?);
                }
            }
        }
        out.push(product);
    }
    // OpenVEX 0.0.x: `subcomponents` beside `products`, applying to each of them.
    if let Some(subs) = r.opt_array(o, "subcomponents", path)? {
        let spath = path.key("subcomponents");
        let mut read = Vec::with_capacity(subs.len().min(budget));
        for (j, sub) in subs.iter().enumerate() {
            take(&mut budget, &spath, r)?;
            read.push(product(sub, &spath.index(j), r, warnings)?);
        }
        for p in &mut out {
            p.subcomponents.extend(read.iter().cloned());
        }
    }
    Ok(out)
}

fn take(budget: &mut usize, path: &Path, r: &Reader) -> Result<(), VexError> {
    match budget.checked_sub(1) {
        Some(b) => {
            *budget = b;
            Ok(())
        }
        None => Err(path.too_many(Limit::Products, r.limits.max_products)),
    }
}

/// One product or subcomponent: an object with `@id` and/or `identifiers`, or (0.0.x) a string.
fn product(
    v: &Value,
    path: &Path,
    r: &Reader,
    warnings: &mut Vec<String>,
) -> Result<ProductRef, VexError> {
    let (id, purl_str) = match v {
        Value::String(_) => {
            let Some(s) = r.string(v, path)? else {
                return Err(path.invalid("a product @id", "an empty string"));
            };
            (s, s.starts_with("pkg:").then_some(s))
        }
        Value::Object(o) => {
            let at_id = r.opt_str(o, "@id", path)?;
            let mut ident_purl = None;
            let mut ident_any = None;
            if let Some(ids) = r.opt_object(o, "identifiers", path)? {
                let ipath = path.key("identifiers");
                for (k, v) in ids {
                    let s = r.string(v, &ipath.key(k))?;
                    if k == "purl" {
                        ident_purl = s;
                    }
                    ident_any = ident_any.or(s);
                }
            }
            let purl = match at_id {
                Some(s) if s.starts_with("pkg:") => Some(s),
                _ => ident_purl,
            };
            let Some(id) = at_id.or(ident_purl).or(ident_any) else {
                return Err(path.invalid(
                    "a product with an @id or identifiers (a purl such as pkg:npm/lodash)",
                    "neither",
                ));
            };
            (id, purl)
        }
        other => return Err(path.wrong("a product object", other)),
    };
    let purl = match purl_str.map(Purl::parse) {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            warnings.push(format!(
                "{path}: {e}; the product {:?} matches no finding",
                excerpt(id)
            ));
            None
        }
        None => None,
    };
    Ok(ProductRef {
        id: id.to_owned(),
        purl,
        subcomponents: Vec::new(),
    })
}
