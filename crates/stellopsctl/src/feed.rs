//! `stellopsctl feed refresh|status` (reference §3.3): the vulnerability feed.
//!
//! `refresh` uploads what `--from` names as one zip: a single export zip as it is; otherwise a
//! bundle whose entries are the export zips (stored, not recompressed) and, for each
//! directory, a zip of its `*.json` files. The server imports the bundle as one new feed
//! version in the background; this waits for it and prints what was read and skipped.

use crate::client::Client;
use crate::output::{print_fields, print_json, print_table};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use stella_client::ClientError;

fn local(e: impl std::fmt::Display) -> ClientError {
    ClientError::Failed(e.to_string())
}

/// Every `*.json` file under `dir`, in name order.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>, ClientError> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .map_err(|e| local(format!("cannot read {}: {e}", d.display())))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|x| x == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A zip of a directory's JSON files, written to `out`.
fn zip_dir<W: Write + std::io::Seek>(dir: &Path, out: W) -> Result<usize, ClientError> {
    let files = json_files(dir)?;
    let mut z = zip::ZipWriter::new(out);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for f in &files {
        let name = f
            .strip_prefix(dir)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/");
        z.start_file(name, opts).map_err(local)?;
        let bytes =
            std::fs::read(f).map_err(|e| local(format!("cannot read {}: {e}", f.display())))?;
        z.write_all(&bytes).map_err(local)?;
    }
    z.finish().map_err(local)?;
    Ok(files.len())
}

/// The file to upload: `--from` itself when it is one zip, else a bundle in a temp file.
fn bundle(from: &[PathBuf]) -> Result<(tempfile::NamedTempFile, String), ClientError> {
    let mut out = tempfile::NamedTempFile::new().map_err(local)?;
    let mut names = Vec::new();
    {
        let mut z = zip::ZipWriter::new(out.as_file_mut());
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (i, path) in from.iter().enumerate() {
            let base = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| format!("source-{i}"));
            let meta = std::fs::metadata(path)
                .map_err(|e| local(format!("--from {}: {e}", path.display())))?;
            let entry = format!("{i:02}-{}.zip", base.trim_end_matches(".zip"));
            z.start_file(&entry, stored.large_file(true))
                .map_err(local)?;
            if meta.is_dir() {
                let mut inner = tempfile::tempfile().map_err(local)?;
                let n = zip_dir(path, &mut inner)?;
                if n == 0 {
                    return Err(local(format!(
                        "--from {}: no *.json files in this directory",
                        path.display()
                    )));
                }
                std::io::Seek::rewind(&mut inner).map_err(local)?;
                std::io::copy(&mut inner, &mut z).map_err(local)?;
            } else {
                let mut f = std::fs::File::open(path)
                    .map_err(|e| local(format!("--from {}: {e}", path.display())))?;
                std::io::copy(&mut f, &mut z).map_err(local)?;
            }
            names.push(
                path.parent()
                    .and_then(Path::file_name)
                    .filter(|_| base == "all.zip")
                    .map(|eco| format!("{}/all.zip", eco.to_string_lossy()))
                    .unwrap_or(base),
            );
        }
        z.finish().map_err(local)?;
    }
    Ok((out, names.join(", ")))
}

pub async fn refresh(
    client: &Client,
    from: &[PathBuf],
    mode: &str,
    no_wait: bool,
    wait_secs: u64,
    json: bool,
) -> Result<(), ClientError> {
    let (file, source) = bundle(from)?;
    let source: String = source.chars().take(200).collect();
    let import = client
        .post_file(
            &["feed", "imports"],
            &[("source", &source), ("mode", mode)],
            "application/zip",
            file.path(),
        )
        .await?;
    let id = import["id"]
        .as_str()
        .ok_or_else(|| local("the server's answer names no import"))?
        .to_owned();
    if !json {
        eprintln!("uploaded {source} (import {id}); the server is importing it");
    }
    let mut last = import;
    if !no_wait {
        let give_up = std::time::Instant::now() + Duration::from_secs(wait_secs);
        while !matches!(last["state"].as_str(), Some("done" | "failed")) {
            if std::time::Instant::now() > give_up {
                return Err(local(format!(
                    "the import {id} is still {} after {wait_secs} s; `stellopsctl feed status` \
                     shows when it finishes",
                    last["state"].as_str().unwrap_or("running")
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            last = client.get_root(&["feed", "imports", &id], &[]).await?;
        }
    }
    if json {
        print_json(&last)?;
    } else {
        print_fields(&[
            ("import", id.clone()),
            ("state", last["state"].as_str().unwrap_or("").to_owned()),
            ("records read", last["records"].to_string()),
            ("skipped", last["skipped"].to_string()),
            (
                "feed version",
                last["version"].as_str().unwrap_or("-").to_owned(),
            ),
        ]);
        if let Some(problems) = last["problems"].as_array().filter(|p| !p.is_empty()) {
            println!("skipped:");
            print_table(&["FILE", "REASON"], &["source", "reason"], problems);
        }
    }
    if last["state"] == "failed" {
        return Err(local(format!(
            "the import failed: {}",
            last["error"].as_str().unwrap_or("no reason given")
        )));
    }
    Ok(())
}

pub async fn status(client: &Client, json: bool) -> Result<(), ClientError> {
    let s = client.get_root(&["feed", "status"], &[]).await?;
    if json {
        return print_json(&s);
    }
    let Some(version) = s["version"].as_str() else {
        println!("no feed imported yet: stellopsctl feed refresh --from PATH");
        return Ok(());
    };
    print_fields(&[
        ("version", version.to_owned()),
        (
            "imported at",
            s["imported_at"].as_str().unwrap_or("").to_owned(),
        ),
        ("source", s["source"].as_str().unwrap_or("").to_owned()),
        (
            "this server scans with",
            s["loaded_version"]
                .as_str()
                .unwrap_or("(loading)")
                .to_owned(),
        ),
    ]);
    let rows: Vec<Value> = s["records"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(eco, n)| {
                    serde_json::json!({
                        "ecosystem": eco,
                        "records": n,
                        "source": s["sources"][eco]["source"],
                        "imported_at": s["sources"][eco]["imported_at"],
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    print_table(
        &["ECOSYSTEM", "RECORDS", "SOURCE", "IMPORTED AT"],
        &["ecosystem", "records", "source", "imported_at"],
        &rows,
    );
    Ok(())
}
