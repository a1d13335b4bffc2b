//! `stella backup` and `stella restore`: an online, consistent copy of an embedded deployment's
//! data directory (it may be serving while the copy runs) and its restoration into a new one.
//!
//! A backup directory mirrors a data directory, plus `MANIFEST.json` (written last, so a
//! backup without it is incomplete) listing every file with its size and SHA-256:
//! - `stella.db`, `stella-activity.db`: SQLite's backup API (one snapshot each);
//! - `events/`: each index's last commit and the write-ahead log past it
//!   (`stella_search::backup`), so the restored server replays every acknowledged event;
//! - `keys/` (the signing keys, 0600), `FORMAT`, and `config/stella.toml` when `--config` named
//!   the configuration file.
//!
//! Restore checks every file against the manifest before writing anything.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use stella_server::Config;

/// Version of the backup layout (the manifest and where files go).
const BACKUP_FORMAT: u32 = 1;
const MANIFEST: &str = "MANIFEST.json";

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub kind: String,
    pub format: u32,
    pub stella_version: String,
    /// The data directory format it was taken from (see `stella_server::datadir`).
    pub data_format: u32,
    pub created_at: String,
    pub source: String,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub directory: String,
    pub files: usize,
    pub bytes: u64,
    pub event_indexes: usize,
    pub log_segments: usize,
    pub seconds: f64,
}

/// Takes a backup of `config`'s data directory into `to` (new or empty).
pub fn backup(config: &Config, config_file: Option<&Path>, to: &Path) -> anyhow::Result<Summary> {
    let started = std::time::Instant::now();
    if config.database_url.is_some() || config.nats_url.is_some() {
        bail!(
            "this deployment keeps its data in {}: back it up with that engine's own tools \
             (see docs/operations.md, \"Backup and restore\"); `stella backup` copies embedded \
             deployments (SQLite and the embedded event log)",
            if config.database_url.is_some() {
                "PostgreSQL"
            } else {
                "NATS JetStream"
            }
        );
    }
    let src = &config.data_dir;
    if !src.join("stella.db").exists() {
        bail!("{} holds no Stella Ops database (stella.db)", src.display());
    }
    stella_server::datadir::check(src).map_err(anyhow::Error::msg)?;
    prepare_empty(to)?;
    let mut files: Vec<PathBuf> = Vec::new();
    for (name, path) in stella_store::backup::sqlite_files(src) {
        stella_store::backup::backup_sqlite(&path, &to.join(&name))
            .with_context(|| format!("copying {}", path.display()))?;
        files.push(PathBuf::from(name));
    }
    let copied = stella_search::backup::copy_live(&src.join("events"), &to.join("events"))
        .context("copying the event index")?;
    files.extend(copied.files.iter().map(|f| Path::new("events").join(f)));
    let keys = src.join("keys");
    if keys.is_dir() {
        private_dir(&to.join("keys"))?;
        for entry in fs::read_dir(&keys)?.flatten() {
            if entry.file_type()?.is_file() {
                let rel = Path::new("keys").join(entry.file_name());
                fs::copy(entry.path(), to.join(&rel))?;
                files.push(rel);
            }
        }
    }
    if src.join("FORMAT").exists() {
        fs::copy(src.join("FORMAT"), to.join("FORMAT"))?;
        files.push(PathBuf::from("FORMAT"));
    }
    if let Some(file) = config_file {
        fs::create_dir_all(to.join("config"))?;
        fs::copy(file, to.join("config/stella.toml"))
            .with_context(|| format!("copying {}", file.display()))?;
        files.push(PathBuf::from("config/stella.toml"));
    }
    let mut entries = Vec::new();
    let mut bytes = 0;
    for rel in &files {
        let path = to.join(rel);
        let (size, sum) = digest(&path)?;
        fs::File::open(&path)?.sync_all()?;
        bytes += size;
        entries.push(FileEntry {
            path: rel_str(rel)?,
            bytes: size,
            sha256: sum,
        });
    }
    let manifest = Manifest {
        kind: "stella-ops-backup".into(),
        format: BACKUP_FORMAT,
        stella_version: env!("CARGO_PKG_VERSION").into(),
        data_format: stella_server::datadir::DATA_FORMAT,
        created_at: stella_core::clock::rfc3339_ms(now_ms()),
        source: src.display().to_string(),
        files: entries,
    };
    // Last, and atomically: its presence says the backup is whole.
    let tmp = to.join("MANIFEST.json.partial");
    fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, to.join(MANIFEST))?;
    fs::File::open(to)?.sync_all()?;
    Ok(Summary {
        directory: to.display().to_string(),
        files: manifest.files.len(),
        bytes,
        event_indexes: copied.indexes,
        log_segments: copied.log_segments,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Restores the backup in `from` into the new data directory `to`, after checking every file.
pub fn restore(from: &Path, to: &Path) -> anyhow::Result<Summary> {
    let started = std::time::Instant::now();
    let manifest = verify(from)?;
    prepare_empty(to)?;
    private_dir(to)?;
    let mut bytes = 0;
    for f in &manifest.files {
        let target = to.join(&f.path);
        if let Some(parent) = target.parent() {
            if parent.ends_with("keys") {
                private_dir(parent)?;
            } else {
                fs::create_dir_all(parent)?;
            }
        }
        fs::copy(from.join(&f.path), &target).with_context(|| format!("restoring {}", f.path))?;
        if f.path.starts_with("keys/") {
            set_private(&target)?;
        }
        fs::File::open(&target)?.sync_all()?;
        bytes += f.bytes;
    }
    if !to.join("FORMAT").exists() {
        fs::write(to.join("FORMAT"), format!("{}\n", manifest.data_format))?;
    }
    fs::File::open(to)?.sync_all()?;
    Ok(Summary {
        directory: to.display().to_string(),
        files: manifest.files.len(),
        bytes,
        event_indexes: manifest
            .files
            .iter()
            .filter(|f| f.path.starts_with("events/tenants/") && f.path.ends_with("/meta.json"))
            .count(),
        log_segments: manifest
            .files
            .iter()
            .filter(|f| f.path.starts_with("events/wal/"))
            .count(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Reads the manifest and checks every file it lists (size and SHA-256) and nothing else:
/// a backup that fails here is not restored at all.
pub fn verify(from: &Path) -> anyhow::Result<Manifest> {
    let path = from.join(MANIFEST);
    let text = fs::read(&path).with_context(|| {
        format!(
            "reading {}: a backup without its manifest is incomplete",
            path.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a Stella Ops backup manifest", path.display()))?;
    if manifest.kind != "stella-ops-backup" || manifest.format > BACKUP_FORMAT {
        bail!(
            "{} is a backup of kind {:?} in format {}; this build ({}) restores format {BACKUP_FORMAT}",
            from.display(),
            manifest.kind,
            manifest.format,
            env!("CARGO_PKG_VERSION")
        );
    }
    if manifest.data_format > stella_server::datadir::DATA_FORMAT {
        bail!(
            "the backup holds a data directory in format {}, written by a newer Stella Ops \
             ({}); this build reads formats up to {}",
            manifest.data_format,
            manifest.stella_version,
            stella_server::datadir::DATA_FORMAT
        );
    }
    let mut bad = Vec::new();
    for f in &manifest.files {
        if !is_plain_relative(&f.path) {
            bail!("the manifest names {:?}, outside the backup", f.path);
        }
        match digest(&from.join(&f.path)) {
            Ok((size, sum)) if size == f.bytes && sum == f.sha256 => {}
            Ok((size, _)) if size != f.bytes => {
                bad.push(format!(
                    "{}: {size} bytes, the manifest says {}",
                    f.path, f.bytes
                ));
            }
            Ok(_) => bad.push(format!("{}: checksum differs from the manifest", f.path)),
            Err(e) => bad.push(format!("{}: {e}", f.path)),
        }
    }
    if !bad.is_empty() {
        bail!(
            "the backup in {} is damaged; nothing was restored:\n  {}",
            from.display(),
            bad.join("\n  ")
        );
    }
    Ok(manifest)
}

fn digest(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let read = f.read(&mut buf)?;
        if read == 0 {
            break;
        }
        h.update(&buf[..read]);
        n += read as u64;
    }
    Ok((n, hex::encode(h.finalize())))
}

/// Relative, forward-slash, no `..`, no root: a path that stays inside the directory.
fn is_plain_relative(p: &str) -> bool {
    !p.is_empty()
        && !p.contains('\\')
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn rel_str(p: &Path) -> anyhow::Result<String> {
    let parts: Vec<&str> = p
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<_>>()
        .context("a file name that is not UTF-8")?;
    Ok(parts.join("/"))
}

/// `dir` must not exist or be empty; it is created owner-only.
fn prepare_empty(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        if fs::read_dir(dir)?.next().is_some() {
            bail!(
                "{} is not empty: give a new or empty directory",
                dir.display()
            );
        }
    } else {
        private_dir(dir)?;
    }
    Ok(())
}

fn private_dir(dir: &Path) -> anyhow::Result<()> {
    stella_server::datadir::create_private(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

fn set_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    let _ = path;
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::is_plain_relative;

    #[test]
    fn manifest_paths_stay_inside_the_backup() {
        for ok in [
            "stella.db",
            "events/wal/00000000000000000001.wal",
            "keys/a.pem",
        ] {
            assert!(is_plain_relative(ok), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "events/../../x", "a\\b", "./x"] {
            assert!(!is_plain_relative(bad), "{bad}");
        }
    }
}
