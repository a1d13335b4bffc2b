//! `stellopsctl policy export|import|validate|history|show` (reference §2.3, §3.3): the scan
//! policy as files. `export` writes the policy's text exactly as stored, so
//! `stellopsctl policy export > backup.yaml` and `stellopsctl policy import backup.yaml` round-trip
//! (same hash); a Rego module is recognised by the server from its `package` line.

use crate::client::Client;
use crate::output::{field, print_fields, print_json, print_table, rows};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use stella_client::ClientError;

/// The most a policy file may be here; the server has its own, smaller bound.
const MAX_POLICY_FILE: u64 = 16 << 20;

fn local(e: impl std::fmt::Display) -> ClientError {
    ClientError::Failed(e.to_string())
}

/// A policy file's bytes; `-` reads standard input.
fn read_policy(path: &Path) -> Result<Vec<u8>, ClientError> {
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_POLICY_FILE + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_POLICY_FILE + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| local(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_POLICY_FILE {
        return Err(local(format!(
            "{} is larger than {MAX_POLICY_FILE} bytes; no policy is that large",
            path.display()
        )));
    }
    Ok(bytes)
}

/// The policy's content type: Rego modules start with `package` (after comments).
fn content_type(bytes: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(bytes);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    match first {
        Some(l) if l.starts_with("package ") => "text/plain; charset=utf-8",
        _ => "application/yaml",
    }
}

/// `tenant_id` when given.
fn tenant_query(tenant: Option<&str>) -> Vec<(&str, &str)> {
    tenant.map(|t| vec![("tenant_id", t)]).unwrap_or_default()
}

/// Prints a validation refusal's `errors` one per line (`$.rules[0].severity: Invalid level`),
/// then hands the error back for the exit code.
fn with_errors(e: ClientError) -> ClientError {
    if let Some(p) = e.problem().filter(|p| !p.errors.is_empty()) {
        for fe in &p.errors {
            eprintln!("{}: {}", fe.path, fe.msg);
        }
    }
    e
}

pub async fn export(client: &Client, tenant: Option<&str>) -> Result<(), ClientError> {
    let (text, headers) = client
        .get_root_text(&["policy", "export"], &tenant_query(tenant))
        .await?;
    if let Some(hash) = headers
        .get("x-stella-policy-hash")
        .and_then(|v| v.to_str().ok())
    {
        eprintln!("policy {hash}");
    }
    // The text as stored, byte for byte: a backup must import to the same hash.
    std::io::stdout()
        .write_all(text.as_bytes())
        .and_then(|()| std::io::stdout().flush())
        .map_err(local)
}

pub async fn import(
    client: &Client,
    file: &Path,
    tenant: Option<&str>,
    comment: Option<&str>,
    json: bool,
) -> Result<(), ClientError> {
    let bytes = read_policy(file)?;
    let mut query = tenant_query(tenant);
    if let Some(c) = comment {
        query.push(("comment", c));
    }
    let v = client
        .post_bytes(&["policy", "import"], &query, content_type(&bytes), bytes)
        .await
        .map_err(with_errors)?;
    if json {
        return print_json(&v);
    }
    print_fields(&[
        ("imported", field(&v, "id")),
        ("tenant", field(&v, "tenant_id")),
        ("kind", field(&v, "kind")),
        ("hash", field(&v, "hash")),
        ("replaced", field(&v, "previous_hash")),
    ]);
    Ok(())
}

pub async fn validate(client: &Client, file: &Path, json: bool) -> Result<(), ClientError> {
    let bytes = read_policy(file)?;
    let v = client
        .post_bytes(&["policy", "validate"], &[], content_type(&bytes), bytes)
        .await
        .map_err(with_errors)?;
    if json {
        return print_json(&v);
    }
    let what = match v["kind"].as_str() {
        Some("rego") => format!("Rego package {}", field(&v, "package")),
        _ => format!("{} YAML rule(s)", field(&v, "rules")),
    };
    println!("valid: {what}, hash {}", field(&v, "hash"));
    Ok(())
}

pub async fn history(
    client: &Client,
    tenant: Option<&str>,
    limit: Option<u64>,
    offset: Option<u64>,
    json: bool,
) -> Result<(), ClientError> {
    let (limit, offset) = (limit.map(|n| n.to_string()), offset.map(|n| n.to_string()));
    let mut query = tenant_query(tenant);
    if let Some(l) = &limit {
        query.push(("limit", l));
    }
    if let Some(o) = &offset {
        query.push(("offset", o));
    }
    let list = client.get_root(&["policy", "history"], &query).await?;
    if json {
        return print_json(&list);
    }
    print_table(
        &["ID", "WHEN", "BY", "KIND", "HASH", "REPLACED", "COMMENT"],
        &[
            "id",
            "created_at",
            "created_by",
            "kind",
            "hash",
            "previous_hash",
            "comment",
        ],
        rows(&list)?,
    );
    println!("{} of {} version(s)", rows(&list)?.len(), list["total"]);
    Ok(())
}

/// One version's text (as `export` prints the active one), to inspect or restore it.
pub async fn show(client: &Client, id: &str, json: bool) -> Result<(), ClientError> {
    let v: Value = client.get_root(&["policy", "history", id], &[]).await?;
    if json {
        return print_json(&v);
    }
    let text = v["source"].as_str().unwrap_or_default();
    std::io::stdout()
        .write_all(text.as_bytes())
        .and_then(|()| std::io::stdout().flush())
        .map_err(local)
}
