//! Per-tenant tantivy indexes under `<dir>/tenants/<tenant_id>/`, opened on first use and kept
//! open. Searches get indexes from here; only the indexer thread writes to them.

use std::collections::{BTreeSet, HashMap};
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
/// dictionary (the FST one of format 1 cost a seventh of ingest CPU to build). Bump it whenever
/// the schema or tantivy's file formats change incompatibly.
const FORMAT: u32 = 2;

/// Refuses, with what to do, an index written in another format; marks a new one.
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
        Some(FORMAT) => Ok(()),
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

pub(crate) struct TenantIndex {
    pub id: String,
    pub dir: PathBuf,
    pub index: Index,
    pub reader: IndexReader,
    /// As of the last commit the reader was reloaded to.
    pub text_paths: RwLock<Arc<Vec<String>>>,
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
}

pub(crate) struct Tenants {
    root: PathBuf,
    schema: Schema,
    /// Search thread pool shared by every tenant index (not one pool per tenant).
    executor: Executor,
    /// Background fsyncs of index files being written (see `directory.rs`).
    writeback: Writeback,
    open: RwLock<HashMap<String, Arc<TenantIndex>>>,
    /// Tenants with an index directory (found at startup or created since).
    known: RwLock<BTreeSet<String>>,
}

impl Tenants {
    pub fn new(
        root: PathBuf,
        schema: Schema,
        search_threads: usize,
    ) -> Result<Tenants, SearchError> {
        let executor = if search_threads > 1 {
            Executor::multi_thread(search_threads, "stella-search-q")?
        } else {
            Executor::single_thread()
        };
        fs::create_dir_all(&root)
            .map_err(|e| SearchError::io(format!("creating {}", root.display()), e))?;
        let mut known = BTreeSet::new();
        let entries = fs::read_dir(&root)
            .map_err(|e| SearchError::io(format!("listing {}", root.display()), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| SearchError::io("listing tenants", e))?;
            if let Some(name) = entry.file_name().to_str() {
                if valid_tenant_id(name) && entry.path().join("meta.json").exists() {
                    known.insert(name.to_owned());
                }
            }
        }
        check_format(&root, !known.is_empty())?;
        Ok(Tenants {
            root,
            schema,
            executor,
            writeback: Writeback::start(),
            open: RwLock::new(HashMap::new()),
            known: RwLock::new(known),
        })
    }

    /// Tenants that have an index and that `filter` allows, sorted.
    pub fn allowed(&self, filter: &TenantFilter) -> Vec<String> {
        let known = self.known.read();
        match filter {
            TenantFilter::All => known.iter().cloned().collect(),
            TenantFilter::Only(ids) => {
                let mut out: Vec<String> = ids
                    .iter()
                    .filter(|id| known.contains(*id))
                    .cloned()
                    .collect();
                out.sort();
                out.dedup();
                out
            }
        }
    }

    /// An existing tenant's index, opened if needed; `None` if the tenant has none.
    pub fn get(&self, id: &str) -> Result<Option<Arc<TenantIndex>>, SearchError> {
        if let Some(t) = self.open.read().get(id) {
            return Ok(Some(Arc::clone(t)));
        }
        if !self.known.read().contains(id) {
            return Ok(None);
        }
        self.open_or_create(id).map(Some)
    }

    /// The tenant's index, created if it does not exist yet (indexer only).
    pub fn get_or_create(&self, id: &str) -> Result<Arc<TenantIndex>, SearchError> {
        if let Some(t) = self.open.read().get(id) {
            return Ok(Arc::clone(t));
        }
        self.open_or_create(id)
    }

    fn open_or_create(&self, id: &str) -> Result<Arc<TenantIndex>, SearchError> {
        if !valid_tenant_id(id) {
            return Err(SearchError::invalid(format!("invalid tenant id {id:?}")));
        }
        // One writer of the map at a time, so an index is never opened twice.
        let mut open = self.open.write();
        if let Some(t) = open.get(id) {
            return Ok(Arc::clone(t));
        }
        let dir = self.root.join(id);
        let created = !dir.exists();
        fs::create_dir_all(&dir)
            .map_err(|e| SearchError::io(format!("creating {}", dir.display()), e))?;
        if created {
            crate::wal::segment::sync_dir(&self.root)
                .map_err(|e| SearchError::io("syncing the tenants directory", e))?;
        }
        let t = Arc::new(open_index(
            id,
            &dir,
            &self.schema,
            &self.executor,
            &self.writeback,
        )?);
        open.insert(id.to_owned(), Arc::clone(&t));
        self.known.write().insert(id.to_owned());
        Ok(t)
    }
}

fn open_index(
    id: &str,
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
        dir: dir.to_owned(),
        index,
        reader,
        text_paths: RwLock::new(Arc::new(Vec::new())),
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
