//! Daily partitions: one tantivy index per tenant and UTC day of the events' timestamps, under
//! `<dir>/tenants/<tenant_id>/<YYYY.MM.DD>/`, opened on first use and kept open. Searches get
//! partitions from here (every one of the tenants they reach, or those whose name and day a
//! pattern such as `aella-ser-2026.11.*` selects); only the indexer thread writes to them.
//! Retention drops whole partitions (`drop`), recording the drop in
//! `<dir>/tenants/<tenant_id>/DROPPED` first, so a replay of the log never brings a dropped
//! day back.
//!
//! Format 2 (0.1.0) kept one index per tenant in `<dir>/tenants/<tenant_id>/`; such an index is
//! found here as `legacy` and moved into daily partitions by the indexer on open.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use stella_core::TenantFilter;
use tantivy::schema::Schema;
use tantivy::{Executor, Index, IndexReader, IndexSettings, ReloadPolicy};

use crate::directory::{StreamingDirectory, Writeback};
use crate::error::SearchError;
use crate::event::valid_tenant_id;
use crate::schema;

/// What each tenant commit records in tantivy's commit payload.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct CommitPayload {
    /// Every WAL record up to here that belongs to this tenant is in this commit.
    pub wal_lsn: u64,
    /// String field paths seen so far (what a field-less `query_string` searches).
    #[serde(default)]
    pub text_paths: Vec<String>,
}

/// Version of the on-disk index format, in `<dir>/tenants/FORMAT`. 2: tantivy's SSTable term
/// dictionary (the FST one of format 1 cost a seventh of ingest CPU to build). 3: daily
/// partitions per tenant (format 2 is migrated on open). 4: a `ROLLUP` beside each partition
/// (`rollup.rs`); format 3 is read as it is, its days having none (so they are incomplete),
/// and marked 4, so that a build of format 3, which would index events without adding their
/// facts to a day's rollup, refuses the directory instead. Bump it whenever the layout, the
/// schema or tantivy's file formats change incompatibly.
const FORMAT: u32 = 4;
/// The older format this build migrates from.
const MIGRATES_FROM: u32 = 2;
/// The older format this build reads as it is.
const READS_AS_IS: u32 = 3;

/// Refuses, with what to do, an index written in another format; marks a new one. Formats 2
/// and 3 are accepted (the indexer migrates format 2, then `mark_current` records format 4).
fn check_format(root: &Path, has_indexes: bool) -> Result<(), SearchError> {
    let path = root.join("FORMAT");
    let found = match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse::<u32>().ok(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Before the marker existed, an index with tenants was format 1.
            has_indexes.then_some(1)
        }
        Err(e) => return Err(SearchError::io(format!("reading {}", path.display()), e)),
    };
    match found {
        Some(FORMAT) | Some(READS_AS_IS) | Some(MIGRATES_FROM) => Ok(()),
        None if !has_indexes => fs::write(&path, format!("{FORMAT}\n"))
            .map_err(|e| SearchError::io(format!("writing {}", path.display()), e)),
        other => Err(SearchError::Incompatible(format!(
            "the event index in {} is in format {}, and this build reads format {FORMAT}: run \
             the build that wrote it, or move the directory aside and ingest the events again",
            root.display(),
            other.map_or_else(|| "unknown".to_owned(), |v| v.to_string()),
        ))),
    }
}

/// Days since 1970-01-01 (UTC) of the events a partition holds.
pub(crate) type Day = i32;

pub(crate) const DAY_MS: i64 = 86_400_000;

pub(crate) fn day_of(ts_ms: i64) -> Day {
    Day::try_from(ts_ms.div_euclid(DAY_MS)).unwrap_or(if ts_ms < 0 { Day::MIN } else { Day::MAX })
}

/// `YYYY.MM.DD`, the partition's directory and the date part of its index name.
pub(crate) fn day_name(day: Day) -> String {
    let date = chrono::DateTime::from_timestamp_millis(i64::from(day) * DAY_MS)
        .map(|d| d.date_naive())
        .unwrap_or_default();
    date.format("%Y.%m.%d").to_string()
}

fn parse_day_name(name: &str) -> Option<Day> {
    let date = chrono::NaiveDate::parse_from_str(name, "%Y.%m.%d").ok()?;
    let day = day_of(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis());
    // Only the canonical spelling (not `2026.1.5`): one directory per day.
    (day_name(day) == name).then_some(day)
}

/// One partition: a tenant's events of one day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PartKey {
    pub tenant: Arc<str>,
    pub day: Day,
}

pub(crate) struct TenantIndex {
    /// The tenant, and the day of the events this partition holds.
    pub id: String,
    pub day: Day,
    pub index: Index,
    pub reader: IndexReader,
    /// As of the last commit the reader was reloaded to.
    pub text_paths: RwLock<Arc<Vec<String>>>,
    /// The partition's directory.
    pub dir: PathBuf,
    /// Its rollup as folded so far by readers (see `rollup.rs`).
    pub rollup: parking_lot::Mutex<crate::rollup::Folded>,
}

impl TenantIndex {
    pub fn committed(&self) -> Result<CommitPayload, SearchError> {
        let metas = self.index.load_metas()?;
        Ok(metas
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default())
    }

    /// What searches report in `_index`: the dated index name, as Elasticsearch's daily
    /// indexes appear (`aella-ser-2026.11.30`).
    pub fn name(&self) -> String {
        format!("{}-{}", crate::INDEX_NAME, day_name(self.day))
    }

    /// The earliest event timestamp in this partition (committed), if it has any.
    pub fn oldest_ms(&self) -> Option<i64> {
        let searcher = self.reader.searcher();
        searcher
            .segment_readers()
            .iter()
            .filter(|s| s.num_docs() > 0)
            .filter_map(|s| s.fast_fields().date(crate::schema::TIMESTAMP).ok())
            .map(|c| c.min_value().into_timestamp_millis())
            .min()
    }
}

/// A drop recorded in a tenant's `DROPPED`: records up to `lsn` with events of days before
/// `before` were in partitions that retention removed; replay skips those events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Dropped {
    pub before: Day,
    pub lsn: u64,
}

/// Drops kept per tenant (the oldest are forgotten: by then the log has long moved past them).
const DROPS_KEPT: usize = 64;

pub(crate) struct Tenants {
    root: PathBuf,
    schema: Schema,
    /// Search thread pool shared by every partition (not one pool per partition).
    executor: Executor,
    /// Background fsyncs of index files being written (see `directory.rs`).
    writeback: Writeback,
    open: RwLock<HashMap<PartKey, Arc<TenantIndex>>>,
    /// Partitions with an index directory (found at startup or created since), per tenant.
    known: RwLock<BTreeMap<String, BTreeSet<Day>>>,
    /// Each tenant's recorded drops.
    dropped: RwLock<HashMap<String, Vec<Dropped>>>,
    /// Tenants with a format-2 index to migrate (`<root>/<tenant>/meta.json`).
    pub legacy: Vec<String>,
    /// The rollup hook's version, when one is registered: a partition created now starts
    /// its `ROLLUP` (see `rollup.rs`).
    rollup_version: Option<u32>,
}

impl Tenants {
    pub fn new(
        root: PathBuf,
        schema: Schema,
        search_threads: usize,
        rollup_version: Option<u32>,
    ) -> Result<Tenants, SearchError> {
        let executor = if search_threads > 1 {
            Executor::multi_thread(search_threads, "stella-search-q")?
        } else {
            Executor::single_thread()
        };
        fs::create_dir_all(&root)
            .map_err(|e| SearchError::io(format!("creating {}", root.display()), e))?;
        let mut known: BTreeMap<String, BTreeSet<Day>> = BTreeMap::new();
        let mut legacy = Vec::new();
        let mut dropped = HashMap::new();
        let list = |dir: &Path| {
            fs::read_dir(dir).map_err(|e| SearchError::io(format!("listing {}", dir.display()), e))
        };
        for entry in list(&root)? {
            let entry = entry.map_err(|e| SearchError::io("listing tenants", e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !valid_tenant_id(&name) || !entry.path().is_dir() {
                continue;
            }
            if entry.path().join("meta.json").exists() {
                legacy.push(name.clone());
            }
            let days = known.entry(name.clone()).or_default();
            for part in list(&entry.path())? {
                let part = part.map_err(|e| SearchError::io("listing partitions", e))?;
                if let Some(day) = part.file_name().to_str().and_then(parse_day_name) {
                    if part.path().join("meta.json").exists() {
                        days.insert(day);
                    }
                }
            }
            if let Ok(text) = fs::read_to_string(entry.path().join("DROPPED")) {
                let drops: Vec<Dropped> = serde_json::from_str(&text).map_err(|e| {
                    SearchError::Corrupt(format!("{}/DROPPED: {e}", entry.path().display()))
                })?;
                dropped.insert(name, drops);
            }
        }
        known.retain(|_, days| !days.is_empty());
        let has_indexes = !known.is_empty() || !legacy.is_empty();
        check_format(&root, has_indexes)?;
        if legacy.is_empty() {
            mark_current(&root)?;
        }
        Ok(Tenants {
            root,
            schema,
            executor,
            writeback: Writeback::start(),
            open: RwLock::new(HashMap::new()),
            known: RwLock::new(known),
            dropped: RwLock::new(dropped),
            legacy,
            rollup_version,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Tenants that have an index and that `filter` allows, sorted.
    pub fn allowed(&self, filter: &TenantFilter) -> Vec<String> {
        let known = self.known.read();
        match filter {
            TenantFilter::All => known.keys().cloned().collect(),
            TenantFilter::Only(ids) => {
                let mut out: Vec<String> = ids
                    .iter()
                    .filter(|id| known.contains_key(*id))
                    .cloned()
                    .collect();
                out.sort();
                out.dedup();
                out
            }
        }
    }

    /// The days a tenant has partitions for, oldest first.
    pub fn days(&self, tenant: &str) -> Vec<Day> {
        self.known
            .read()
            .get(tenant)
            .map(|d| d.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Every partition of the tenants `filter` allows whose day `select` keeps, opened.
    pub fn partitions(
        &self,
        filter: &TenantFilter,
        select: &dyn Fn(Day) -> bool,
    ) -> Result<Vec<Arc<TenantIndex>>, SearchError> {
        let mut out = Vec::new();
        for tenant in self.allowed(filter) {
            for day in self.days(&tenant) {
                if select(day) {
                    let key = PartKey {
                        tenant: Arc::from(tenant.as_str()),
                        day,
                    };
                    if let Some(p) = self.get(&key)? {
                        out.push(p);
                    }
                }
            }
        }
        Ok(out)
    }

    /// An existing partition, opened if needed; `None` if there is none.
    pub fn get(&self, key: &PartKey) -> Result<Option<Arc<TenantIndex>>, SearchError> {
        if let Some(t) = self.open.read().get(key) {
            return Ok(Some(Arc::clone(t)));
        }
        if !self
            .known
            .read()
            .get(&*key.tenant)
            .is_some_and(|d| d.contains(&key.day))
        {
            return Ok(None);
        }
        self.open_or_create(key).map(Some)
    }

    /// The partition, created if it does not exist yet (indexer only).
    pub fn get_or_create(&self, key: &PartKey) -> Result<Arc<TenantIndex>, SearchError> {
        if let Some(t) = self.open.read().get(key) {
            return Ok(Arc::clone(t));
        }
        self.open_or_create(key)
    }

    fn open_or_create(&self, key: &PartKey) -> Result<Arc<TenantIndex>, SearchError> {
        if !valid_tenant_id(&key.tenant) {
            return Err(SearchError::invalid(format!(
                "invalid tenant id {:?}",
                key.tenant
            )));
        }
        // One writer of the map at a time, so an index is never opened twice.
        let mut open = self.open.write();
        if let Some(t) = open.get(key) {
            return Ok(Arc::clone(t));
        }
        let tenant_dir = self.root.join(&*key.tenant);
        let dir = tenant_dir.join(day_name(key.day));
        let created = !dir.exists();
        let tenant_created = !tenant_dir.exists();
        fs::create_dir_all(&dir)
            .map_err(|e| SearchError::io(format!("creating {}", dir.display()), e))?;
        if created {
            crate::wal::segment::sync_dir(&tenant_dir)
                .map_err(|e| SearchError::io("syncing the tenant's directory", e))?;
        }
        if tenant_created {
            crate::wal::segment::sync_dir(&self.root)
                .map_err(|e| SearchError::io("syncing the tenants directory", e))?;
        }
        // A partition with no index yet holds no events: its rollup starts with it. One that
        // has events and no rollup (written before rollups, or by a server without the hook)
        // never gets one, and its rollup is incomplete.
        if let Some(version) = self.rollup_version {
            if !dir.join("meta.json").exists() && !dir.join(crate::rollup::FILE).exists() {
                crate::rollup::create(&dir, version)?;
            }
        }
        let t = Arc::new(open_index(
            &key.tenant,
            key.day,
            &dir,
            &self.schema,
            &self.executor,
            &self.writeback,
        )?);
        open.insert(key.clone(), Arc::clone(&t));
        self.known
            .write()
            .entry(key.tenant.to_string())
            .or_default()
            .insert(key.day);
        Ok(t)
    }

    /// Whether an event of `day` in the record at `lsn` was in a partition since dropped.
    pub fn was_dropped(&self, tenant: &str, day: Day, lsn: u64) -> bool {
        self.dropped
            .read()
            .get(tenant)
            .is_some_and(|drops| drops.iter().any(|d| day < d.before && lsn <= d.lsn))
    }

    /// Removes these partitions of one tenant (indexer only, after dropping their writers):
    /// records the drop, then deletes the directories. Returns the events they held.
    pub fn drop_partitions(
        &self,
        tenant: &str,
        days: &[Day],
        lsn: u64,
    ) -> Result<u64, SearchError> {
        let Some(last) = days.iter().max() else {
            return Ok(0);
        };
        let tenant_dir = self.root.join(tenant);
        {
            let mut dropped = self.dropped.write();
            let drops = dropped.entry(tenant.to_owned()).or_default();
            drops.push(Dropped {
                before: last + 1,
                lsn,
            });
            if drops.len() > DROPS_KEPT {
                drops.remove(0);
            }
            // Durable before any directory goes: a crash in between must not let a replay
            // bring a dropped day back.
            let text = serde_json::to_vec(drops).unwrap_or_default();
            write_synced(&tenant_dir.join("DROPPED"), &text)?;
        }
        let mut events = 0;
        for day in days {
            let key = PartKey {
                tenant: Arc::from(tenant),
                day: *day,
            };
            if let Ok(Some(p)) = self.get(&key) {
                events += p.reader.searcher().num_docs();
            }
            self.open.write().remove(&key);
            if let Some(d) = self.known.write().get_mut(tenant) {
                d.remove(day);
            }
            let dir = tenant_dir.join(day_name(*day));
            match fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(SearchError::io(format!("removing {}", dir.display()), e)),
            }
        }
        self.known.write().retain(|_, d| !d.is_empty());
        crate::wal::segment::sync_dir(&tenant_dir)
            .map_err(|e| SearchError::io("syncing the tenant's directory", e))?;
        Ok(events)
    }

    /// A format-2 index of a tenant, opened for migration.
    pub fn open_legacy(&self, tenant: &str) -> Result<TenantIndex, SearchError> {
        let dir = self.root.join(tenant);
        open_index(
            tenant,
            0,
            &dir,
            &self.schema,
            &self.executor,
            &self.writeback,
        )
    }

    /// After a migration: the legacy index's files go (its events are in partitions now).
    pub fn remove_legacy(&self, tenant: &str) -> Result<(), SearchError> {
        let dir = self.root.join(tenant);
        for entry in fs::read_dir(&dir)
            .map_err(|e| SearchError::io(format!("listing {}", dir.display()), e))?
            .flatten()
        {
            let path = entry.path();
            if path.is_file() && entry.file_name() != "DROPPED" {
                fs::remove_file(&path)
                    .map_err(|e| SearchError::io(format!("removing {}", path.display()), e))?;
            }
        }
        Ok(())
    }

    /// Records that every index here is in this build's format (after a migration).
    pub fn mark_current(&self) -> Result<(), SearchError> {
        mark_current(&self.root)
    }
}

fn mark_current(root: &Path) -> Result<(), SearchError> {
    write_synced(&root.join("FORMAT"), format!("{FORMAT}\n").as_bytes())
}

/// Written to a temporary file, synced, renamed into place, directory synced.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), SearchError> {
    use std::io::Write;
    let io = |e| SearchError::io(format!("writing {}", path.display()), e);
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        crate::wal::segment::sync_dir(dir).map_err(io)?;
    }
    Ok(())
}

fn open_index(
    id: &str,
    day: Day,
    dir: &Path,
    schema: &Schema,
    executor: &Executor,
    writeback: &Writeback,
) -> Result<TenantIndex, SearchError> {
    let settings = IndexSettings {
        // Compress docstore blocks on the indexing thread itself: on a machine whose cores the
        // indexing threads already fill, a compressor thread per segment only adds switches.
        docstore_compress_dedicated_thread: false,
        ..IndexSettings::default()
    };
    let mut index = Index::builder()
        .schema(schema.clone())
        .settings(settings)
        .open_or_create(StreamingDirectory::open(dir, writeback.clone())?)?;
    schema::register_tokenizers(&index);
    index.set_executor(executor.clone());
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    let t = TenantIndex {
        id: id.to_owned(),
        day,
        index,
        reader,
        text_paths: RwLock::new(Arc::new(Vec::new())),
        dir: dir.to_path_buf(),
        rollup: parking_lot::Mutex::new(crate::rollup::Folded::default()),
    };
    *t.text_paths.write() = Arc::new(t.committed()?.text_paths);
    Ok(t)
}

/// Total size of the files under `dir`.
pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod day_names {
    use super::*;

    #[test]
    fn only_canonical_dates_name_a_partition() {
        let day = day_of(1_714_564_800_000); // 2024-05-01T12:00Z
        assert_eq!(day_name(day), "2024.05.01");
        assert_eq!(parse_day_name("2024.05.01"), Some(day));
        for bad in ["2024.5.1", "2024.13.01", "2024-05-01", "2024.05.01x", ""] {
            assert_eq!(parse_day_name(bad), None, "{bad}");
        }
        assert_eq!(day_of(-1), -1, "before 1970 rounds down");
    }
}
