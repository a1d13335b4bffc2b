//! An online copy of a live event index directory (the server keeps it open and writes it),
//! for `stella backup`. What is copied is each index's last commit (its `meta.json`, then the
//! immutable segment files it names) and then the write-ahead log segments, which hold every
//! acknowledged event past those commits: a restored directory replays them on open, so it
//! holds every event acknowledged before the copy began.
//!
//! While it copies, a hold file in the log directory (`wal/BACKUP-HOLD`, refreshed as it goes)
//! keeps the server from deleting log segments, so one pass converges however long the copy
//! takes and however fast events arrive; a hold not refreshed for two minutes (a backup that
//! died) is ignored.
//!
//! Two races with the server, and what answers each:
//! - a merge or commit deletes a segment file named by the `meta.json` just read: its copy
//!   fails with "not found" and that index is copied again from its newer `meta.json`;
//! - the server deletes a log segment once every index committed past it, so a log segment
//!   that an index's copied commit still needs may be gone by the time the log is copied:
//!   the oldest log segment copied must start at or before the first record any copied commit
//!   lacks, else those indexes are copied again (their commits are now past the gap). An
//!   index whose commit has not moved since it was copied lacks nothing (every released
//!   record that touched it would have moved it): a day no longer written keeps its old
//!   commit forever, and is not copied again.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::SearchError;
use crate::tenants::CommitPayload;

/// Rounds of "copy the lagging indexes again" before giving up (each round only follows the
/// server's progress, so more than a few means something else is wrong).
const MAX_ROUNDS: usize = 20;

/// What [`copy_live`] copied: paths relative to the destination, for the manifest.
#[derive(Debug, Default)]
pub struct Copied {
    pub files: Vec<PathBuf>,
    pub indexes: usize,
    pub log_segments: usize,
}

/// Copies the live event index in `src` (a data directory's `events/`) into `dst` (created).
pub fn copy_live(src: &Path, dst: &Path) -> Result<Copied, SearchError> {
    copy_live_with(src, dst, &mut || {})
}

/// [`copy_live`], calling `between` once, after the first round's index copies and before
/// its log copy: tests make the server release log segments there.
#[doc(hidden)]
pub fn copy_live_with(
    src: &Path,
    dst: &Path,
    between: &mut dyn FnMut(),
) -> Result<Copied, SearchError> {
    let io =
        |what: &str, p: &Path, e: io::Error| SearchError::io(format!("{what} {}", p.display()), e);
    fs::create_dir_all(dst).map_err(|e| io("creating", dst, e))?;
    let _hold = Hold::place(&src.join("wal"));
    let mut out = Copied::default();
    for marker in ["LOG", "nats.position", "tenants/FORMAT"] {
        let from = src.join(marker);
        if from.exists() {
            let to = dst.join(marker);
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(|e| io("creating", parent, e))?;
            }
            fs::copy(&from, &to).map_err(|e| io("copying", &from, e))?;
            out.files.push(PathBuf::from(marker));
        }
    }
    // Each index copied so far: its directory (relative) → the log position its commit covers.
    let mut commits: BTreeMap<PathBuf, (u64, Vec<PathBuf>)> = BTreeMap::new();
    let mut log: Vec<PathBuf> = Vec::new();
    for round in 0.. {
        if round == MAX_ROUNDS {
            return Err(SearchError::io(
                "copying the event index",
                io::Error::other("it kept changing faster than it could be copied"),
            ));
        }
        let mut lagging = Vec::new();
        for dir in index_dirs(&src.join("tenants"))? {
            let rel = dir.strip_prefix(src).unwrap_or(&dir).to_owned();
            if !commits.contains_key(&rel) {
                lagging.push(rel);
            }
        }
        // Each tenant's record of dropped days (`DROPPED`), so a replay of the copied log
        // does not bring them back.
        for tenant in fs::read_dir(src.join("tenants"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let dropped = tenant.path().join("DROPPED");
            if dropped.is_file() {
                let rel = Path::new("tenants")
                    .join(tenant.file_name())
                    .join("DROPPED");
                if let Some(parent) = dst.join(&rel).parent() {
                    fs::create_dir_all(parent).map_err(|e| io("creating", parent, e))?;
                }
                fs::copy(&dropped, dst.join(&rel)).map_err(|e| io("copying", &dropped, e))?;
                if !out.files.contains(&rel) {
                    out.files.push(rel);
                }
            }
        }
        for rel in lagging {
            _hold.refresh();
            let copied = copy_index(&src.join(&rel), &dst.join(&rel))?;
            let files = copied.1.iter().map(|f| rel.join(f)).collect();
            commits.insert(rel, (copied.0, files));
        }
        if round == 0 {
            between();
        }
        // The log after the indexes: it is only ever appended to past their commits.
        log = copy_log(&src.join("wal"), &dst.join("wal"))?;
        let oldest = log.first().and_then(|p| first_lsn(p));
        let needs_again: Vec<PathBuf> = commits
            .iter()
            .filter(|(rel, (lsn, _))| {
                oldest.is_some_and(|first| first > lsn + 1)
                    && commit_lsn(&src.join(rel)).is_some_and(|now| now != *lsn)
            })
            .map(|(rel, _)| rel.clone())
            .collect();
        let new_indexes = index_dirs(&src.join("tenants"))?
            .into_iter()
            .any(|d| !commits.contains_key(d.strip_prefix(src).unwrap_or(&d)));
        if needs_again.is_empty() && !new_indexes {
            break;
        }
        for rel in needs_again {
            commits.remove(&rel);
            let _ = fs::remove_dir_all(dst.join(&rel));
        }
    }
    out.indexes = commits.len();
    out.log_segments = log.len();
    for (_, (_, files)) in commits {
        out.files.extend(files);
    }
    out.files
        .extend(log.into_iter().map(|p| Path::new("wal").join(p)));
    Ok(out)
}

/// The hold file of a backup in progress: placed on start, refreshed before each index copy,
/// removed when the copy ends (however it ends).
struct Hold(Option<PathBuf>);

impl Hold {
    fn place(wal: &Path) -> Hold {
        let path = wal.join(crate::wal::HOLD_FILE);
        // No log directory (a shared log): nothing to hold.
        Hold(wal.is_dir().then_some(path)).refreshed()
    }

    fn refreshed(self) -> Hold {
        self.refresh();
        self
    }

    fn refresh(&self) {
        if let Some(p) = &self.0 {
            if let Err(e) = fs::write(p, b"stella backup\n") {
                tracing::warn!(path = %p.display(), error = %e, "could not hold the log for the backup");
            }
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

/// The log position an index's current commit covers (`None`: no index there any more).
fn commit_lsn(dir: &Path) -> Option<u64> {
    let meta = serde_json::from_slice(&fs::read(dir.join("meta.json")).ok()?).ok()?;
    Some(payload_lsn(&meta))
}

/// The log position in a parsed `meta.json`'s commit payload (0 before the first commit).
fn payload_lsn(meta: &serde_json::Value) -> u64 {
    meta["payload"]
        .as_str()
        .and_then(|p| serde_json::from_str::<CommitPayload>(p).ok())
        .map_or(0, |p| p.wal_lsn)
}

/// Directories under `root` that hold a tantivy index (a `meta.json`), at any depth.
fn index_dirs(root: &Path) -> Result<Vec<PathBuf>, SearchError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            // A directory removed while walking (retention dropped it): nothing to copy.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(SearchError::io(format!("listing {}", dir.display()), e)),
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let path = entry.path();
                if path.join("meta.json").exists() {
                    out.push(path.clone());
                }
                stack.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Copies one index's last commit; returns the log position it covers and the files copied
/// (relative to the index directory). Retries while the server deletes files under it.
fn copy_index(src: &Path, dst: &Path) -> Result<(u64, Vec<PathBuf>), SearchError> {
    for _ in 0..MAX_ROUNDS {
        let _ = fs::remove_dir_all(dst);
        fs::create_dir_all(dst)
            .map_err(|e| SearchError::io(format!("creating {}", dst.display()), e))?;
        let meta_path = src.join("meta.json");
        let meta = fs::read(&meta_path)
            .map_err(|e| SearchError::io(format!("reading {}", meta_path.display()), e))?;
        let parsed: serde_json::Value = serde_json::from_slice(&meta).map_err(|e| {
            SearchError::io(
                format!("reading {}", meta_path.display()),
                io::Error::other(e.to_string()),
            )
        })?;
        let segments: Vec<String> = parsed["segments"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["segment_id"].as_str())
                    .map(|id| id.replace('-', ""))
                    .collect()
            })
            .unwrap_or_default();
        let lsn = payload_lsn(&parsed);
        let listing = fs::read_dir(src)
            .map_err(|e| SearchError::io(format!("listing {}", src.display()), e))?;
        let mut names: Vec<String> = listing
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| {
                n.split('.')
                    .next()
                    .is_some_and(|stem| segments.iter().any(|s| s == stem))
            })
            .collect();
        names.sort();
        let mut gone = false;
        for name in &names {
            match fs::copy(src.join(name), dst.join(name)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    gone = true;
                    break;
                }
                Err(e) => return Err(SearchError::io(format!("copying {name}"), e)),
            }
        }
        if gone {
            continue;
        }
        // The rollup, after the commit it goes with was read: it holds that commit's frames
        // (each is written before its commit), and later ones the restored index does not read.
        // A compaction since that commit folded later facts in: copy again from a newer commit.
        let rollup = crate::rollup::FILE;
        let has_rollup = match fs::copy(src.join(rollup), dst.join(rollup)) {
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(SearchError::io(format!("copying {rollup}"), e)),
        };
        if has_rollup && crate::rollup::first_lsn(&dst.join(rollup)).is_some_and(|l| l > lsn) {
            continue;
        }
        fs::write(dst.join("meta.json"), &meta)
            .map_err(|e| SearchError::io("writing meta.json", e))?;
        // tantivy's list of the files it manages: so the restored index deletes these once
        // merges replace them.
        let mut managed = names.clone();
        managed.push("meta.json".to_owned());
        let managed_json = serde_json::to_vec(&managed).unwrap_or_default();
        fs::write(dst.join(".managed.json"), managed_json)
            .map_err(|e| SearchError::io("writing .managed.json", e))?;
        let mut files: Vec<PathBuf> = names.into_iter().map(PathBuf::from).collect();
        if has_rollup {
            files.push(PathBuf::from(rollup));
        }
        files.push(PathBuf::from("meta.json"));
        files.push(PathBuf::from(".managed.json"));
        return Ok((lsn, files));
    }
    Err(SearchError::io(
        format!("copying {}", src.display()),
        io::Error::other("its files kept changing"),
    ))
}

/// Copies every log segment (the newest one as far as it is written now: a torn last frame
/// is cut off when the copy is opened, as after a crash). Returns the names, oldest first.
fn copy_log(src: &Path, dst: &Path) -> Result<Vec<PathBuf>, SearchError> {
    let _ = fs::remove_dir_all(dst);
    if !src.exists() {
        return Ok(Vec::new());
    }
    fs::create_dir_all(dst)
        .map_err(|e| SearchError::io(format!("creating {}", dst.display()), e))?;
    let mut names: Vec<PathBuf> = fs::read_dir(src)
        .map_err(|e| SearchError::io(format!("listing {}", src.display()), e))?
        .flatten()
        .map(|e| PathBuf::from(e.file_name()))
        .filter(|p| first_lsn(p).is_some())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        match fs::copy(src.join(&name), dst.join(&name)) {
            Ok(_) => out.push(name),
            // Released (every index committed past it) between the listing and the copy.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(SearchError::io(format!("copying {}", name.display()), e)),
        }
    }
    Ok(out)
}

fn first_lsn(name: &Path) -> Option<u64> {
    name.to_str()?.strip_suffix(".wal")?.parse().ok()
}
