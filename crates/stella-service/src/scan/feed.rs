//! The vulnerability feed: OSV records imported by an administrator, kept in the database as
//! versions, and held in memory by every server as a matching index (`stella_osv::Database`).
//!
//! An import is an upload (a zip: an OSV export `all.zip`, JSON records, or several exports
//! as `.zip` entries of one archive) stored in the database, then a claimed background job
//! that reads it, keeps what parses (a malformed record is reported and skipped), merges it
//! with the current version and publishes the result as a new version in one transaction.
//! Each server swaps its in-memory feed when it learns of the new version (at once on the
//! server that ran the import, by announcement or on its next heartbeat elsewhere): a scan
//! takes the feed it starts with and finishes on it, and nothing half-imported is ever seen.
//!
//! Merging: by default an import replaces the records of the ecosystems it contains and keeps
//! the current version's records of every other ecosystem, so refreshing PyPI does not drop
//! Go (`mode=replace` drops everything not in the upload).

use crate::{Result, ServiceError, Stella};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use stella_core::authz::Restricted;
use stella_core::clock::rfc3339_ms;
use stella_core::perm::{ScansRead, TenantsWrite};
use stella_core::Grant;
use stella_osv::{Record, Skipped};
use stella_store::{FeedImportRecord, FeedVersionRecord};

pub(crate) const FEED_IMPORT: &str = "feed_import";
/// Uncompressed record bytes per stored part: a server loading the feed holds one part's
/// text at a time.
const PART_BYTES: usize = 4 << 20;
/// Upload bytes per stored part.
const UPLOAD_PART_BYTES: usize = 4 << 20;
/// Skipped records listed on an import (the count is always exact).
const MAX_PROBLEMS: usize = 1000;

/// The feed one server scans with.
#[derive(Debug)]
pub struct LoadedFeed {
    pub version: FeedVersionRecord,
    pub db: stella_osv::Database,
}

/// This server's feed and the loading of a newer one.
#[derive(Debug, Default)]
pub(crate) struct FeedState {
    current: parking_lot::RwLock<Option<Arc<LoadedFeed>>>,
    /// Held while a version is being loaded, so two triggers do not load it twice.
    loading: tokio::sync::Mutex<()>,
}

/// `GET /feed/status` (reference §3.3; `stella_proto::FeedStatus` plus detail).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeedStatusView {
    /// Where the current version's records came from (the imports' names).
    pub source: String,
    /// The current version's id; `None` before the first import.
    pub version: Option<String>,
    /// When the current version was imported.
    pub imported_at: Option<String>,
    /// Records per OSV ecosystem.
    pub records: BTreeMap<String, i64>,
    /// Per ecosystem, the import its records came from (`source`, `imported_at`).
    pub sources: BTreeMap<String, serde_json::Value>,
    /// The version this server scans with (it follows the current one within a heartbeat).
    pub loaded_version: Option<String>,
    /// The latest imports, newest first.
    pub imports: Vec<FeedImportView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeedImportView {
    pub id: String,
    pub source: String,
    /// `uploading`, `queued`, `running`, `done` or `failed`.
    pub state: String,
    pub mode: String,
    pub size: i64,
    pub digest: String,
    pub created_at: String,
    pub created_by: Option<String>,
    pub finished_at: Option<String>,
    /// The feed version it produced.
    pub version: Option<String>,
    /// Records read from the upload.
    pub records: Option<i64>,
    /// Files or records skipped (malformed, not JSON, over a bound).
    pub skipped: Option<i64>,
    /// What was skipped and why (the first thousand).
    #[schema(value_type = Vec<Object>)]
    pub problems: Vec<serde_json::Value>,
    pub error: Option<String>,
}

fn import_view(r: FeedImportRecord) -> FeedImportView {
    FeedImportView {
        problems: r
            .problems
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default(),
        id: r.id,
        source: r.source,
        state: r.state,
        mode: r.mode,
        size: r.size,
        digest: r.digest,
        created_at: rfc3339_ms(r.created_at),
        created_by: r.created_by,
        finished_at: r.finished_at.map(rfc3339_ms),
        version: r.version_id,
        records: r.records,
        skipped: r.skipped,
        error: r.error,
    }
}

/// The ecosystems a record names (`Debian:12` counts as `Debian`).
fn ecosystems_of(r: &Record) -> BTreeSet<String> {
    r.affected
        .iter()
        .filter_map(|a| a.package.as_ref())
        .map(|p| {
            p.ecosystem
                .split_once(':')
                .map_or(p.ecosystem.as_str(), |(base, _)| base)
                .to_owned()
        })
        .collect()
}

/// What an upload holds: its records (later sources win on a duplicate id) and what was
/// skipped.
#[derive(Debug, Default)]
pub(crate) struct ReadUpload {
    pub records: Vec<Record>,
    pub skipped: Vec<Skipped>,
}

/// Reads an upload: a zip whose `.json` entries are records and whose `.zip` entries are OSV
/// exports (one level deep). Each nested export is copied to a temporary file within the
/// same bounds first, since zip needs to seek.
pub(crate) fn read_upload(
    path: &Path,
    tmp: &Path,
    limits: &stella_osv::Limits,
) -> std::result::Result<ReadUpload, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open the upload: {e}"))?;
    let mut outer = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| format!("the upload is not a zip archive: {e}"))?;
    if outer.len() > limits.max_entries {
        return Err(format!(
            "the upload has more than {} entries",
            limits.max_entries
        ));
    }
    let mut out = ReadUpload::default();
    let mut nested = Vec::new();
    for i in 0..outer.len() {
        let Ok(entry) = outer.by_index(i) else {
            continue;
        };
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if !entry.is_dir() && name.ends_with(".zip") {
            nested.push(i);
        }
    }
    let mut total: u64 = 0;
    for i in nested {
        let mut entry = outer
            .by_index(i)
            .map_err(|e| format!("entry #{i} of the upload: {e}"))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let mut t = tempfile::NamedTempFile::new_in(tmp)
            .map_err(|e| format!("cannot spool {name}: {e}"))?;
        let room = limits.max_total_bytes.saturating_sub(total);
        let copied = std::io::copy(&mut entry.by_ref().take(room + 1), t.as_file_mut())
            .map_err(|e| format!("{name}: cannot decompress: {e}"))?;
        total += copied;
        if copied > room {
            return Err(format!(
                "the upload expands past {} bytes",
                limits.max_total_bytes
            ));
        }
        t.as_file_mut()
            .flush()
            .map_err(|e| format!("cannot spool {name}: {e}"))?;
        match stella_osv::read_zip_file(t.path(), limits) {
            Ok(feed) => {
                out.records.extend(feed.records);
                out.skipped
                    .extend(feed.skipped.into_iter().map(|s| Skipped {
                        source: format!("{name}/{}", s.source),
                        reason: s.reason,
                    }));
            }
            Err(e) => out.skipped.push(Skipped {
                source: name,
                reason: e.to_string(),
            }),
        }
    }
    let own = stella_osv::read_zip_file(path, limits).map_err(|e| e.to_string())?;
    out.records.extend(own.records);
    out.skipped.extend(
        own.skipped
            .into_iter()
            .filter(|s| !s.source.ends_with(".zip")),
    );
    Ok(out)
}

/// Records to NDJSON parts, each zstd-compressed.
fn encode_parts(records: &[&Record]) -> std::result::Result<Vec<Vec<u8>>, String> {
    let mut parts = Vec::new();
    let mut text = Vec::with_capacity(PART_BYTES + 4096);
    for r in records {
        serde_json::to_writer(&mut text, r).map_err(|e| e.to_string())?;
        text.push(b'\n');
        if text.len() >= PART_BYTES {
            parts.push(zstd::encode_all(text.as_slice(), 3).map_err(|e| e.to_string())?);
            text.clear();
        }
    }
    if !text.is_empty() {
        parts.push(zstd::encode_all(text.as_slice(), 3).map_err(|e| e.to_string())?);
    }
    Ok(parts)
}

fn decode_part(part: &[u8], into: &mut Vec<Record>) -> std::result::Result<(), String> {
    let text = zstd::decode_all(part).map_err(|e| format!("a stored feed part: {e}"))?;
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        into.push(stella_osv::parse_record(line).map_err(|e| format!("a stored record: {e}"))?);
    }
    Ok(())
}

/// Records per ecosystem.
fn count_ecosystems<'a>(records: impl Iterator<Item = &'a Record>) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for r in records {
        for e in ecosystems_of(r) {
            *counts.entry(e).or_insert(0) += 1;
        }
    }
    counts
}

impl Stella {
    /// The feed this server scans with now (a scan keeps the `Arc` it started with).
    pub fn feed(&self) -> Option<Arc<LoadedFeed>> {
        self.scanning.feed.current.read().clone()
    }

    /// `POST /feed/imports`: stores an uploaded archive (already spooled to `path` by the
    /// HTTP layer, with its digest and size) and queues its import.
    pub async fn upload_feed(
        &self,
        r: Restricted<'_, TenantsWrite>,
        source: &str,
        mode: Option<&str>,
        path: &Path,
        digest: &str,
        size: u64,
    ) -> Result<FeedImportView> {
        let mode = match mode.unwrap_or("merge") {
            m @ ("merge" | "replace") => m.to_owned(),
            other => {
                return Err(ServiceError::invalid(
                    "mode",
                    format!("'{other}' is not one of merge, replace"),
                ))
            }
        };
        let source = source.trim();
        if source.is_empty() || source.len() > 200 || source.chars().any(char::is_control) {
            return Err(ServiceError::invalid(
                "source",
                "a name of 1 to 200 printable characters (the files imported)",
            ));
        }
        let mut head = [0u8; 4];
        let zip_like = std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok()
            && head == *b"PK\x03\x04";
        if !zip_like {
            return Err(ServiceError::BadInput {
                code: "feed-not-zip".into(),
                detail: "the body is not a zip archive: send an OSV export (all.zip) or a zip \
                         of OSV JSON records, as `stellopsctl feed refresh --from PATH` does"
                    .into(),
            });
        }
        let id = stella_core::ids::new_id();
        let now = self.now_ms();
        let record = FeedImportRecord {
            id: id.clone(),
            source: source.to_owned(),
            created_by: Some(r.caller().user_id.clone()),
            created_at: now,
            size: size as i64,
            digest: digest.to_owned(),
            mode,
            state: "uploading".into(),
            started_at: None,
            finished_at: None,
            version_id: None,
            records: None,
            skipped: None,
            problems: None,
            error: None,
        };
        self.db.create_feed_import(&record).await?;
        let stored = self.store_upload(&id, path).await;
        if let Err(e) = stored {
            let _ = self.db.delete_feed_import(&id).await;
            return Err(e);
        }
        self.db.queue_feed_import(&id).await?;
        self.enqueue_job(FEED_IMPORT, None, &serde_json::json!({ "import": id }))
            .await?;
        let stored = self.db.feed_import(&id).await?;
        stored
            .map(import_view)
            .ok_or_else(|| ServiceError::Internal("an import vanished".into()))
    }

    async fn store_upload(&self, id: &str, path: &Path) -> Result<()> {
        let mut file = std::fs::File::open(path)
            .map_err(|e| ServiceError::Internal(format!("spooled upload: {e}")))?;
        let mut seq = 0i64;
        loop {
            let mut part = Vec::with_capacity(UPLOAD_PART_BYTES);
            (&mut file)
                .take(UPLOAD_PART_BYTES as u64)
                .read_to_end(&mut part)
                .map_err(|e| ServiceError::Internal(format!("spooled upload: {e}")))?;
            if part.is_empty() {
                return Ok(());
            }
            self.db.add_feed_upload_part(id, seq, &part).await?;
            seq += 1;
        }
    }

    /// `GET /feed/imports/{id}`.
    pub async fn feed_import(&self, _g: Grant<'_, ScansRead>, id: &str) -> Result<FeedImportView> {
        self.db
            .feed_import(id)
            .await?
            .map(import_view)
            .ok_or_else(|| ServiceError::NotFound(format!("no feed import '{id}'")))
    }

    /// `GET /feed/status`.
    pub async fn feed_status(&self, _g: Grant<'_, ScansRead>) -> Result<FeedStatusView> {
        let current = self.db.current_feed_version().await?;
        let imports = self
            .db
            .list_feed_imports(10)
            .await?
            .into_iter()
            .map(import_view)
            .collect();
        let loaded = self.feed().map(|f| f.version.id.clone());
        Ok(match current {
            None => FeedStatusView {
                source: String::new(),
                version: None,
                imported_at: None,
                records: BTreeMap::new(),
                sources: BTreeMap::new(),
                loaded_version: loaded,
                imports,
            },
            Some(v) => FeedStatusView {
                records: serde_json::from_str(&v.ecosystems).unwrap_or_default(),
                sources: serde_json::from_str(&v.sources).unwrap_or_default(),
                source: v.source,
                version: Some(v.id),
                imported_at: Some(rfc3339_ms(v.created_at)),
                loaded_version: loaded,
                imports,
            },
        })
    }

    /// The import job: read the upload, merge, publish, and scan with the new version here.
    pub(crate) async fn feed_import_job(
        &self,
        job: &stella_store::ClaimedJob,
        payload: &serde_json::Value,
    ) -> Result<Option<String>> {
        let Some(id) = payload["import"].as_str() else {
            return Ok(Some("a feed import job without an import id".into()));
        };
        let Some(import) = self.db.feed_import(id).await? else {
            return Ok(Some(format!("feed import '{id}' is gone")));
        };
        if import.state == "done" || import.state == "failed" {
            return Ok(None);
        }
        self.db.set_feed_import_running(id, self.now_ms()).await?;
        match self.run_feed_import(job, &import).await {
            Ok(()) => Ok(None),
            Err(why) => {
                self.db.fail_feed_import(id, &why, self.now_ms()).await?;
                Ok(Some(why))
            }
        }
    }

    pub(crate) async fn feed_import_given_up(
        &self,
        payload: &serde_json::Value,
        why: &str,
    ) -> Result<()> {
        if let Some(id) = payload["import"].as_str() {
            self.db.fail_feed_import(id, why, self.now_ms()).await?;
        }
        Ok(())
    }

    async fn run_feed_import(
        &self,
        job: &stella_store::ClaimedJob,
        import: &FeedImportRecord,
    ) -> std::result::Result<(), String> {
        let spool = self.settings.spool_dir.clone();
        std::fs::create_dir_all(&spool).map_err(|e| format!("spool directory: {e}"))?;
        let mut upload =
            tempfile::NamedTempFile::new_in(&spool).map_err(|e| format!("spool file: {e}"))?;
        let mut seq = 0;
        while let Some(part) = self
            .db
            .feed_upload_part(&import.id, seq)
            .await
            .map_err(|e| e.to_string())?
        {
            upload
                .as_file_mut()
                .write_all(&part)
                .map_err(|e| format!("spool file: {e}"))?;
            seq += 1;
        }
        upload
            .as_file_mut()
            .flush()
            .map_err(|e| format!("spool file: {e}"))?;
        let limits = self.settings.feed_limits;
        let path = upload.path().to_owned();
        let read = tokio::task::spawn_blocking(move || read_upload(&path, &spool, &limits))
            .await
            .map_err(|e| format!("the import stopped: {e}"))??;
        drop(upload);
        if read.records.is_empty() {
            return Err(format!(
                "no OSV record could be read from the upload ({} entries skipped{})",
                read.skipped.len(),
                read.skipped
                    .first()
                    .map(|s| format!("; the first: {}: {}", s.source, s.reason))
                    .unwrap_or_default()
            ));
        }
        // The current version, for the ecosystems this upload does not bring.
        let (old, old_sources) = if import.mode == "merge" {
            self.current_records().await?
        } else {
            (Vec::new(), BTreeMap::new())
        };
        let now = self.now_ms();
        let uploaded: BTreeSet<String> = read.records.iter().flat_map(ecosystems_of).collect();
        let mut by_id: HashMap<&str, &Record> = HashMap::new();
        let mut order: Vec<&str> = Vec::new();
        for r in old
            .iter()
            .filter(|r| ecosystems_of(r).is_disjoint(&uploaded))
            .chain(read.records.iter())
        {
            if by_id.insert(r.id.as_str(), r).is_none() {
                order.push(r.id.as_str());
            }
        }
        let records: Vec<&Record> = order
            .iter()
            .filter_map(|id| by_id.get(id).copied())
            .collect();
        let ecosystems = count_ecosystems(records.iter().copied());
        let mut sources = old_sources;
        for e in &uploaded {
            sources.insert(
                e.clone(),
                serde_json::json!({"source": import.source, "imported_at": rfc3339_ms(now), "import": import.id}),
            );
        }
        sources.retain(|e, _| ecosystems.contains_key(e));
        let parts = encode_parts(&records)?;
        for (seq, part) in parts.iter().enumerate() {
            if !self.holds(job).await.map_err(|e| e.to_string())? {
                return Err("the import's claim passed to another server".into());
            }
            self.db
                .add_feed_part(&import.id, seq as i64, part)
                .await
                .map_err(|e| e.to_string())?;
        }
        let source = sources
            .values()
            .filter_map(|s| s["source"].as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ");
        let version = FeedVersionRecord {
            id: import.id.clone(),
            import_id: Some(import.id.clone()),
            source,
            created_at: now,
            records: records.len() as i64,
            ecosystems: serde_json::to_string(&ecosystems).map_err(|e| e.to_string())?,
            sources: serde_json::to_string(&sources).map_err(|e| e.to_string())?,
        };
        let problems: Vec<_> = read
            .skipped
            .iter()
            .take(MAX_PROBLEMS)
            .map(|s| serde_json::json!({"source": s.source, "reason": s.reason}))
            .collect();
        let owned: Vec<Record> = records.into_iter().cloned().collect();
        drop(by_id);
        drop(old);
        if !self.holds(job).await.map_err(|e| e.to_string())? {
            return Err("the import's claim passed to another server".into());
        }
        self.db
            .publish_feed_version(
                &version,
                read.skipped.len() as i64,
                &serde_json::Value::Array(problems).to_string(),
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
        let db = tokio::task::spawn_blocking(move || stella_osv::Database::build(owned))
            .await
            .map_err(|e| format!("the import stopped: {e}"))?;
        self.swap_feed(LoadedFeed { version, db });
        Ok(())
    }

    fn swap_feed(&self, feed: LoadedFeed) {
        tracing::info!(version = %feed.version.id, records = feed.version.records, "vulnerability feed loaded");
        *self.scanning.feed.current.write() = Some(Arc::new(feed));
    }

    /// The records of the current version and where each ecosystem's came from: from memory
    /// when this server has it loaded, else from the database.
    async fn current_records(
        &self,
    ) -> std::result::Result<(Vec<Record>, BTreeMap<String, serde_json::Value>), String> {
        let Some(current) = self
            .db
            .current_feed_version()
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok((Vec::new(), BTreeMap::new()));
        };
        let sources = serde_json::from_str(&current.sources).unwrap_or_default();
        if let Some(f) = self.feed().filter(|f| f.version.id == current.id) {
            return Ok((f.db.records().to_vec(), sources));
        }
        Ok((self.read_version(&current).await?, sources))
    }

    async fn read_version(
        &self,
        v: &FeedVersionRecord,
    ) -> std::result::Result<Vec<Record>, String> {
        let mut records = Vec::with_capacity(v.records.max(0) as usize);
        let mut seq = 0;
        while let Some(part) = self
            .db
            .feed_part(&v.id, seq)
            .await
            .map_err(|e| e.to_string())?
        {
            decode_part(&part, &mut records)?;
            seq += 1;
        }
        if records.len() as i64 != v.records {
            return Err(format!(
                "feed version {} holds {} records of {} (replaced while being read?)",
                v.id,
                records.len(),
                v.records
            ));
        }
        Ok(records)
    }

    /// Loads the current version if this server scans with another one (on start, on the
    /// announcement of a new version, and on every heartbeat as the bound when an
    /// announcement was missed). Returns once loaded or when nothing was to be done.
    pub async fn follow_feed(&self) {
        // A load under way will find the newest version itself, or the next heartbeat will.
        let Ok(_loading) = self.scanning.feed.loading.try_lock() else {
            return;
        };
        let current = match self.db.current_feed_version().await {
            Ok(Some(c)) => c,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the current feed version");
                return;
            }
        };
        if self.feed().is_some_and(|f| f.version.id == current.id) {
            return;
        }
        match self.read_version(&current).await {
            Ok(records) => {
                let built =
                    tokio::task::spawn_blocking(move || stella_osv::Database::build(records)).await;
                match built {
                    Ok(db) => self.swap_feed(LoadedFeed {
                        version: current,
                        db,
                    }),
                    Err(e) => tracing::error!(error = %e, "building the feed index failed"),
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not load the current feed version"),
        }
    }
}
