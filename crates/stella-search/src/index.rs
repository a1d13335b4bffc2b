//! `EventIndex`: the public handle. Writes go WAL first (durable on return), then to the
//! indexer thread; reads go straight to the tenant indexes' readers.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;
use parking_lot::Mutex;
use serde_json::Value;
use stella_core::TenantFilter;

use crate::budget::Budget;
use crate::bulk::{Bulk, DocLimits, EventSource};
use crate::error::SearchError;
use crate::event::{default_time, valid_event_id, valid_tenant_id, IdGen};
use crate::exec::{fetch, search};
use crate::indexer::Indexer;
use crate::log::record::{Kind, RecordBuf};
use crate::log::{Committed, EventLog, Msg, Reply};
use crate::nats::NatsStream;
use crate::options::IndexOptions;
use crate::reads::Reads;
use crate::schema::{self, Fields};
use crate::tenants::{day_name, day_of, dir_bytes, TenantIndex, Tenants};
use crate::wal::{recovery, SealedSegments, Wal, WalCommits};

/// An event that `ingest` accepted (and made durable), for the caller's follow-up work such as
/// watchlist matching.
#[derive(Debug, Clone)]
pub struct AcceptedEvent {
    pub id: String,
    pub timestamp_ms: i64,
    /// The event's text and parsed form, shared with the indexer.
    pub source: EventSource,
}

#[derive(Debug, Clone, Default)]
pub struct IngestOutcome {
    pub ingested: usize,
    pub failed: usize,
    /// One message per refused event, e.g. `events[3]: must be a JSON object`.
    pub errors: Vec<String>,
    pub accepted: Vec<AcceptedEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantUsage {
    pub tenant_id: String,
    /// Searchable events (as of the last refresh).
    pub docs: u64,
    /// Bytes of the tenant's index files on disk (the shared WAL is not counted).
    pub bytes: u64,
    /// Daily partitions.
    pub partitions: usize,
    /// The earliest event timestamp kept (ms), if any.
    pub oldest_event_ms: Option<i64>,
}

/// What a retention drop removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    pub partitions: usize,
    pub events: u64,
}

/// The event index. Cheap to clone; all clones share one set of indexes and one indexer thread.
#[derive(Clone)]
pub struct EventIndex {
    inner: Arc<Inner>,
}

// Callers share one handle across request threads; keep that a compile-time guarantee.
const _: () = {
    const fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<EventIndex>();
};

struct Inner {
    dir: PathBuf,
    opts: IndexOptions,
    fields: Fields,
    ids: IdGen,
    tenants: Arc<Tenants>,
    reads: Arc<Reads>,
    /// Where acknowledged events are kept until committed: the embedded WAL or JetStream.
    log: Arc<dyn EventLog>,
    control: SyncSender<Msg>,
    thread: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
    /// Set at shutdown: running searches stop at their next budget check.
    cancel_searches: Arc<AtomicBool>,
    /// Held (advisory lock) for as long as the index is open.
    _lock: File,
}

impl EventIndex {
    /// Opens or creates the index in `dir`, replaying the write-ahead log.
    pub fn open(dir: &Path, opts: IndexOptions) -> Result<EventIndex, SearchError> {
        Self::open_with(dir, opts, None)
    }

    /// Opens or creates the index in `dir` over a shared JetStream stream instead of the
    /// embedded log: ingest is acknowledged once the stream has stored it, and this index
    /// consumes the stream from where it last committed (all of it, for a new directory).
    /// Events are bounded by the stream's message size ([`NatsStream::max_doc_bytes`]).
    pub fn open_shared(
        dir: &Path,
        opts: IndexOptions,
        stream: NatsStream,
    ) -> Result<EventIndex, SearchError> {
        Self::open_with(dir, opts, Some(stream))
    }

    fn open_with(
        dir: &Path,
        mut opts: IndexOptions,
        stream: Option<NatsStream>,
    ) -> Result<EventIndex, SearchError> {
        if let Some(s) = &stream {
            opts.max_doc_bytes = opts.max_doc_bytes.min(s.max_doc_bytes());
        }
        let opts = opts.normalized();
        fs::create_dir_all(dir)
            .map_err(|e| SearchError::io(format!("creating {}", dir.display()), e))?;
        let lock = lock_dir(dir)?;
        check_log_kind(dir, if stream.is_some() { "nats" } else { "wal" })?;
        let (schema, fields) = schema::build();
        let tenants = Arc::new(Tenants::new(
            dir.join("tenants"),
            schema,
            opts.search_threads,
            opts.rollup.as_ref().map(|h| h.0.version()),
        )?);
        let reads = Arc::new(Reads::new());
        let mut indexer = Indexer::new(
            Arc::clone(&tenants),
            fields,
            opts.clone(),
            Arc::clone(&reads),
        );
        // 0.1.0's one index per tenant becomes daily partitions before anything is replayed.
        indexer.migrate_legacy()?;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        indexer.queue_past_days(day_of(now_ms));
        let (tx, rx) = sync_channel(opts.queue_batches);
        let (log, commits): (Arc<dyn EventLog>, Box<dyn Committed>) = match stream {
            None => {
                let wal_dir = dir.join("wal");
                fs::create_dir_all(&wal_dir)
                    .map_err(|e| SearchError::io(format!("creating {}", wal_dir.display()), e))?;
                let recovered = recovery::replay(&wal_dir, &mut indexer)?;
                if recovered.records_replayed > 0 {
                    tracing::info!(
                        records = recovered.records_replayed,
                        "replayed write-ahead log"
                    );
                }
                let sealed = Arc::new(SealedSegments::new(wal_dir.clone(), recovered.sealed));
                indexer
                    .commit_all()
                    .map_err(|e| SearchError::Index(tantivy::TantivyError::InternalError(e)))?;
                sealed.release_upto(indexer.committed_lsn());
                // Everything before the new segment is committed now (replayed or already was).
                reads.committed(recovered.next_lsn.saturating_sub(1));
                let wal = Wal::start(
                    wal_dir,
                    opts.wal_segment_bytes,
                    recovered.next_lsn,
                    Arc::clone(&sealed),
                    tx.clone(),
                )?;
                (Arc::new(wal), Box::new(WalCommits::new(sealed)))
            }
            Some(stream) => {
                let position = crate::nats::read_position(dir);
                indexer.skip(position);
                reads.committed(position);
                (
                    stream.start(position, tx.clone()),
                    Box::new(crate::nats::PositionFile::new(dir, position)),
                )
            }
        };
        let thread = std::thread::Builder::new()
            .name("stella-search-indexer".into())
            .spawn(move || indexer.run(rx, commits))
            .map_err(|e| SearchError::io("starting the indexer thread", e))?;
        Ok(EventIndex {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                opts,
                fields,
                ids: IdGen::new(),
                tenants,
                reads,
                log,
                control: tx,
                thread: Mutex::new(Some(thread)),
                closed: AtomicBool::new(false),
                cancel_searches: Arc::new(AtomicBool::new(false)),
                _lock: lock,
            }),
        })
    }

    /// The directory this index lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Splits and parses an ingest request body (see [`Bulk::parse`]); at most `max_docs`
    /// events (and never more than the index's `max_bulk`).
    pub fn parse_bulk(&self, body: Vec<u8>, max_docs: usize) -> Result<Bulk, SearchError> {
        Bulk::parse(body, max_docs.min(self.inner.opts.max_bulk), self.limits())
    }

    /// [`EventIndex::ingest_bulk`] of already-parsed values.
    pub fn ingest(
        &self,
        tenant_id: &str,
        docs: Vec<Value>,
        now_ms: i64,
    ) -> Result<IngestOutcome, SearchError> {
        let max = self.inner.opts.max_bulk;
        if docs.len() > max {
            return Err(SearchError::invalid(format!(
                "a bulk of {} events is more than the limit of {max}",
                docs.len()
            )));
        }
        self.ingest_bulk(tenant_id, Bulk::from_values(&docs, self.limits()), now_ms)
    }

    /// Stores a bulk of events for one tenant. Blocking: returns once every accepted event is
    /// fsynced in the write-ahead log (callers sharing the moment share the fsync). Events
    /// become searchable at the next refresh (background, every `commit_interval_ms`, or
    /// `refresh()`).
    ///
    /// Ids are always assigned here (32 lowercase hex); an event carrying `_id` is refused,
    /// as Elasticsearch refuses metadata fields inside a document.
    pub fn ingest_bulk(
        &self,
        tenant_id: &str,
        bulk: Bulk,
        now_ms: i64,
    ) -> Result<IngestOutcome, SearchError> {
        self.check_open()?;
        check_tenant(tenant_id)?;
        let tenant: Arc<str> = Arc::from(tenant_id);
        let mut out = IngestOutcome::default();
        let mut records = Vec::new();
        let split = self.inner.log.record_split_bytes();
        let mut rec = RecordBuf::new(Kind::Add, Arc::clone(&tenant));
        for (pos, doc) in bulk.into_docs() {
            if rec.len() >= split {
                let full =
                    std::mem::replace(&mut rec, RecordBuf::new(Kind::Add, Arc::clone(&tenant)));
                records.push(full);
            }
            match doc.map(|source| prepare(&mut rec, source, now_ms, &self.inner.ids)) {
                Ok(accepted) => out.accepted.push(accepted),
                Err(msg) => out.errors.push(format!("events[{pos}]: {msg}")),
            }
        }
        records.push(rec);
        out.ingested = out.accepted.len();
        out.failed = out.errors.len();
        records.retain(|r| !r.is_empty());
        if !records.is_empty() {
            self.inner.log.append(records)?;
        }
        Ok(out)
    }

    /// Log records (each up to ~1 MiB of one ingest's events) acknowledged but not yet
    /// committed to this server's index: the cluster view's index lag.
    pub fn lag(&self) -> u64 {
        self.inner
            .log
            .acknowledged()
            .saturating_sub(self.inner.reads.committed_lsn())
    }

    /// Partition writers open now and the most open at once since the index opened (at
    /// most `IndexOptions::max_open_writers`).
    pub fn open_writers(&self) -> (usize, usize) {
        self.inner.reads.writers()
    }

    /// Makes everything acknowledged so far searchable (commit and reader reload), like
    /// Elasticsearch's `_refresh`. With a shared log, "so far" includes what other servers
    /// acknowledged before the call: it waits (within the search budget) until this server
    /// has received all of it.
    pub fn refresh(&self) -> Result<(), SearchError> {
        self.check_open()?;
        self.inner
            .log
            .caught_up(Duration::from_millis(self.inner.opts.search_budget_ms))?;
        self.ask(Msg::Refresh)
    }

    /// Tests of several servers: holds back what the shared event log hands this index (it
    /// then lags, and `refresh` waits for it), or lets go again. No effect on the embedded log.
    #[doc(hidden)]
    pub fn pause_consuming(&self, paused: bool) {
        self.inner.log.pause(paused);
    }

    /// Commits what this server has received (a read that found a commit held back).
    fn commit_now(&self) -> Result<(), SearchError> {
        self.check_open()?;
        self.ask(Msg::Refresh)
    }

    /// Elasticsearch `_search` over every partition of the tenants `filter` allows. `now_ms`
    /// anchors date math such as `now-24h`.
    pub fn search(
        &self,
        filter: &TenantFilter,
        body: &Value,
        now_ms: i64,
    ) -> Result<Value, SearchError> {
        self.search_index(filter, crate::INDEX_NAME, body, now_ms)
    }

    /// `_search` on `/<index>/_search`: the partitions whose dated names `index` selects (see
    /// `pattern.rs`) and whose days the query's required time range reaches.
    pub fn search_index(
        &self,
        filter: &TenantFilter,
        index: &str,
        body: &Value,
        now_ms: i64,
    ) -> Result<Value, SearchError> {
        let started = Instant::now();
        let budget = Budget::new(
            started,
            Duration::from_millis(self.inner.opts.search_budget_ms),
            Arc::clone(&self.inner.cancel_searches),
        );
        let req = crate::dsl::parse_request(body, now_ms)?;
        self.catch_up();
        self.run_search(filter, index, &req, started, &budget)
    }

    /// Several `_search` requests over the tenants `filter` allows, as Elasticsearch's
    /// `_msearch` (without its NDJSON framing), answered in order. Every request is parsed
    /// before any runs (a bad one is named by its position), and all share one time budget,
    /// so a caller that needs several views of the same events is bounded as one search is.
    /// The requests run side by side, as many at once as the search pool has threads: one
    /// request's segments rarely divide evenly between the pool's threads (three daily
    /// partitions on two), and one after another each left a thread idle at its end. Their
    /// segments still run on the pool; only parsing, compiling and merging run on the
    /// workers, so one `msearch` keeps at most twice the pool's threads busy.
    pub fn msearch(
        &self,
        filter: &TenantFilter,
        bodies: &[Value],
        now_ms: i64,
    ) -> Result<Vec<Value>, SearchError> {
        let started = Instant::now();
        let budget = Budget::new(
            started,
            Duration::from_millis(self.inner.opts.search_budget_ms),
            Arc::clone(&self.inner.cancel_searches),
        );
        let reqs = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                crate::dsl::parse_request(body, now_ms).map_err(|e| match e {
                    SearchError::Invalid(m) => SearchError::Invalid(format!("requests[{i}]: {m}")),
                    SearchError::Unsupported(m) => {
                        SearchError::Unsupported(format!("requests[{i}]: {m}"))
                    }
                    other => other,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.catch_up();
        let workers = self.inner.opts.search_threads.clamp(1, reqs.len().max(1));
        if workers == 1 {
            return reqs
                .iter()
                .map(|req| self.run_search(filter, crate::INDEX_NAME, req, Instant::now(), &budget))
                .collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let answers: Vec<Mutex<Option<Result<Value, SearchError>>>> =
            reqs.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(req) = reqs.get(i) else { break };
                    let answer =
                        self.run_search(filter, crate::INDEX_NAME, req, Instant::now(), &budget);
                    *answers[i].lock() = Some(answer);
                });
            }
        });
        answers
            .into_iter()
            .map(|a| {
                // Every request is taken by exactly one worker, and a worker's panic is the
                // scope's: an empty answer cannot happen, but is an error rather than a panic.
                a.into_inner().unwrap_or_else(|| {
                    Err(SearchError::Index(tantivy::TantivyError::InternalError(
                        "a request of msearch did not run".into(),
                    )))
                })
            })
            .collect()
    }

    /// One parsed request over the partitions `index` names and its time range reaches.
    fn run_search(
        &self,
        filter: &TenantFilter,
        index: &str,
        req: &crate::dsl::SearchRequest,
        started: Instant,
        budget: &Budget,
    ) -> Result<Value, SearchError> {
        budget.check_search()?;
        let window = crate::pattern::time_window(&req.query);
        let indexes = self.inner.tenants.partitions(filter, &|day| {
            crate::pattern::selects(index, day) && crate::pattern::day_in(day, window)
        })?;
        search::run(
            &indexes,
            req,
            self.inner.fields,
            started,
            budget,
            self.inner.opts.max_hits_source_bytes,
        )
    }

    /// What the rollups (see `rollup.rs`) of every partition of the tenants `filter` allows
    /// hold about `entity`, folded together; `Ok(None)` when no rollup hook is registered or
    /// one of those partitions has no complete rollup (the caller then asks the events).
    /// Like a search, it first commits what is waiting, so it sees every acknowledged event.
    pub fn rollup(
        &self,
        filter: &TenantFilter,
        entity: &str,
    ) -> Result<Option<crate::rollup::EntityFacts>, SearchError> {
        let Some(hook) = &self.inner.opts.rollup else {
            return Ok(None);
        };
        let version = hook.0.version();
        self.catch_up();
        let mut out = crate::rollup::EntityFacts::default();
        for p in self.inner.tenants.partitions(filter, &|_| true)? {
            let committed = p.committed()?.wal_lsn;
            match p.rollup.lock().lookup(&p.dir, version, committed, entity)? {
                None => return Ok(None),
                Some(Some(facts)) => out.merge(&facts),
                Some(None) => {}
            }
        }
        Ok(Some(out))
    }

    /// Stops every running search at its next budget check (they answer "shutting down");
    /// graceful shutdown calls this first so it never waits on a long search.
    pub fn cancel_searches(&self) {
        self.inner.cancel_searches.store(true, Ordering::Release);
    }

    /// One event by id, within the tenants `filter` allows: `(tenant_id, source)`.
    pub fn get(
        &self,
        filter: &TenantFilter,
        id: &str,
    ) -> Result<Option<(String, Value)>, SearchError> {
        if !valid_event_id(id) {
            return Ok(None);
        }
        self.catch_up();
        Ok(self
            .find(filter, id)?
            .map(|(p, source, _)| (p.id.clone(), source)))
    }

    /// The partition holding event `id` (newest days first), its source and timestamp.
    fn find(
        &self,
        filter: &TenantFilter,
        id: &str,
    ) -> Result<Option<(Arc<TenantIndex>, Value, i64)>, SearchError> {
        let mut parts = self.inner.tenants.partitions(filter, &|_| true)?;
        parts.sort_by_key(|p| std::cmp::Reverse(p.day));
        for p in parts {
            let searcher = p.reader.searcher();
            if let Some((addr, ts)) = fetch::find(&searcher, self.inner.fields, id)? {
                let stored = fetch::load(&searcher, self.inner.fields, addr)?;
                return Ok(Some((p, stored.source, ts)));
            }
        }
        Ok(None)
    }

    /// Replaces the source of an existing (searchable) event, keeping its id; durable on
    /// return, searchable after the next refresh. If the new source has no timestamp, the
    /// event keeps its old one; a timestamp on another day is refused (the event would move
    /// to another partition). `NotFound` if the tenant has no such event.
    pub fn replace(&self, tenant_id: &str, id: &str, source: Value) -> Result<(), SearchError> {
        self.check_open()?;
        check_tenant(tenant_id)?;
        if !valid_event_id(id) {
            return Err(SearchError::NotFound);
        }
        self.catch_up();
        let only = TenantFilter::Only(vec![tenant_id.to_owned()]);
        let Some((_, _, old_ts)) = self.find(&only, id)? else {
            return Err(SearchError::NotFound);
        };
        let bulk = Bulk::from_values(&[source], self.limits());
        let Some((_, parsed)) = bulk.into_docs().next() else {
            return Err(SearchError::invalid("no event to store"));
        };
        let source = parsed.map_err(SearchError::Invalid)?;
        let ts = source.time_ms.unwrap_or(old_ts);
        if day_of(ts) != day_of(old_ts) {
            return Err(SearchError::invalid(format!(
                "the new timestamp is on {}, the event's is on {}: an event stays in its day's \
                 partition; ingest it again as a new event instead",
                day_name(day_of(ts)),
                day_name(day_of(old_ts))
            )));
        }
        let mut rec = RecordBuf::new(Kind::Replace, Arc::from(tenant_id));
        rec.push(id.to_owned(), ts, source);
        self.inner.log.append(vec![rec])
    }

    /// Searchable events, bytes on disk, partitions and the oldest event, per tenant `filter`
    /// allows.
    pub fn usage(&self, filter: &TenantFilter) -> Result<Vec<TenantUsage>, SearchError> {
        self.catch_up();
        let mut out = Vec::new();
        for tenant in self.inner.tenants.allowed(filter) {
            let only = TenantFilter::Only(vec![tenant.clone()]);
            let parts = self.inner.tenants.partitions(&only, &|_| true)?;
            let docs = parts.iter().map(|p| p.reader.searcher().num_docs()).sum();
            // Partitions come oldest first: the first with events holds the oldest.
            let oldest_event_ms = parts.iter().find_map(|p| p.oldest_ms());
            out.push(TenantUsage {
                docs,
                bytes: dir_bytes(&self.inner.tenants.root().join(&tenant)),
                partitions: parts.len(),
                oldest_event_ms,
                tenant_id: tenant,
            });
        }
        Ok(out)
    }

    /// Retention: drops `tenant`'s whole daily partitions of days entirely before
    /// `before_ms`, oldest first, at most `max`. Each server drops its own copies.
    pub fn drop_partitions_before(
        &self,
        tenant: &str,
        before_ms: i64,
        max: usize,
    ) -> Result<Dropped, SearchError> {
        self.check_open()?;
        check_tenant(tenant)?;
        let (tx, rx) = sync_channel(1);
        let stopped = || SearchError::Closed("the indexer thread has stopped".into());
        self.inner
            .control
            .send(Msg::Drop {
                tenant: tenant.to_owned(),
                before: day_of(before_ms),
                max,
                reply: tx,
            })
            .map_err(|_| stopped())?;
        let (partitions, events) = rx
            .recv()
            .map_err(|_| stopped())?
            .map_err(|e| SearchError::Index(tantivy::TantivyError::InternalError(e)))?;
        Ok(Dropped { partitions, events })
    }

    /// Commits everything and stops the indexer thread. Later writes answer `Closed`; searches
    /// still work on what was committed. Calling it again does nothing.
    pub fn close(&self) -> Result<(), SearchError> {
        self.inner.shutdown(Msg::Close)
    }

    /// Whether the indexer is holding back a background commit (nothing has read lately).
    #[cfg(test)]
    pub(crate) fn commit_held_back(&self) -> bool {
        self.inner.reads.is_holding_back()
    }

    /// Committed events of a tenant, read without committing first.
    #[cfg(test)]
    pub(crate) fn committed_docs(&self, tenant: &str) -> u64 {
        let only = TenantFilter::Only(vec![tenant.to_owned()]);
        self.inner
            .tenants
            .partitions(&only, &|_| true)
            .map(|ps| ps.iter().map(|p| p.reader.searcher().num_docs()).sum())
            .unwrap_or(0)
    }

    /// Closes idle writers and waits for every final merge (the housekeeping tick does this
    /// in the background).
    #[cfg(test)]
    pub(crate) fn finish_merges(&self) -> Result<(), SearchError> {
        self.ask(Msg::FinishMerges)
    }

    /// One housekeeping tick now: idle writers close and the next final merge starts.
    #[cfg(test)]
    pub(crate) fn start_merges(&self) -> Result<(), SearchError> {
        self.ask(Msg::StartMerges)
    }

    /// Segments each of a tenant's partitions is searched in, oldest day first.
    #[cfg(test)]
    pub(crate) fn segments(&self, tenant: &str) -> Vec<usize> {
        let only = TenantFilter::Only(vec![tenant.to_owned()]);
        self.inner
            .tenants
            .partitions(&only, &|_| true)
            .map(|ps| {
                ps.iter()
                    .map(|p| p.reader.searcher().segment_readers().len())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops the indexer without committing, leaving the directory as a crash would.
    #[cfg(test)]
    pub(crate) fn abandon(&self) -> Result<(), SearchError> {
        self.inner.shutdown(Msg::Abandon)
    }

    /// Before a read: if the indexer held back a commit while nothing was reading, commit now,
    /// so reads see every acknowledged event as they would with regular commits. A failed
    /// commit is logged and the read goes on with what is committed.
    fn catch_up(&self) {
        if self.inner.reads.touch() && !self.inner.closed.load(Ordering::Acquire) {
            if let Err(e) = self.commit_now() {
                tracing::warn!(error = %e, "commit before a read failed");
            }
        }
    }

    fn limits(&self) -> DocLimits {
        DocLimits {
            max_doc_bytes: self.inner.opts.max_doc_bytes,
            max_doc_depth: self.inner.opts.max_doc_depth,
        }
    }

    fn check_open(&self) -> Result<(), SearchError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(SearchError::Closed("close() was called".into()));
        }
        Ok(())
    }

    fn ask(&self, msg: fn(Reply) -> Msg) -> Result<(), SearchError> {
        let (tx, rx) = sync_channel(1);
        let stopped = || SearchError::Closed("the indexer thread has stopped".into());
        self.inner.control.send(msg(tx)).map_err(|_| stopped())?;
        rx.recv()
            .map_err(|_| stopped())?
            .map_err(|e| SearchError::Index(tantivy::TantivyError::InternalError(e)))
    }
}

impl Inner {
    fn shutdown(&self, msg: fn(Reply) -> Msg) -> Result<(), SearchError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.log.stop("close() was called");
        let (tx, rx) = sync_channel(1);
        let sent = self.control.send(msg(tx)).is_ok();
        let result = if sent { rx.recv().ok() } else { None };
        if let Some(handle) = self.thread.lock().take() {
            let _ = handle.join();
        }
        match result {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(SearchError::Index(tantivy::TantivyError::InternalError(e))),
            None => Err(SearchError::Closed("the indexer thread had stopped".into())),
        }
    }
}

impl Drop for Inner {
    /// Dropping the last handle is a graceful close.
    fn drop(&mut self) {
        if let Err(e) = self.shutdown(Msg::Close) {
            tracing::error!(error = %e, "closing the event index on drop failed");
        }
    }
}

fn check_tenant(tenant_id: &str) -> Result<(), SearchError> {
    if valid_tenant_id(tenant_id) {
        Ok(())
    } else {
        Err(SearchError::invalid(format!(
            "invalid tenant id {tenant_id:?}: use 1 to 64 of A-Z a-z 0-9 _ -"
        )))
    }
}

/// Gives a checked event its id and time and appends it to the record.
fn prepare(rec: &mut RecordBuf, source: EventSource, now_ms: i64, ids: &IdGen) -> AcceptedEvent {
    let ts = source.time_ms.unwrap_or_else(|| default_time(now_ms));
    let id = ids.next(now_ms);
    rec.push(id.clone(), ts, source.clone());
    AcceptedEvent {
        id,
        timestamp_ms: ts,
        source,
    }
}

/// The log an index was built from is recorded in its directory: positions mean different
/// things in each (WAL numbers, stream sequences), so an index is never reopened over the other.
fn check_log_kind(dir: &Path, kind: &str) -> Result<(), SearchError> {
    let path = dir.join("LOG");
    match fs::read_to_string(&path) {
        Ok(found) if found.trim() == kind => Ok(()),
        Ok(found) => Err(SearchError::Incompatible(format!(
            "the event index in {} was built from the {} log, not the {kind} log; start with an \
             empty directory to rebuild it (from the stream, for nats)",
            dir.display(),
            found.trim()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Indexes from before this file existed were all built from the WAL.
            let built = dir.join("tenants").exists();
            if built && kind != "wal" {
                return Err(SearchError::Incompatible(format!(
                    "the event index in {} was built from the wal log, not the {kind} log; \
                     start with an empty directory to rebuild it from the stream",
                    dir.display()
                )));
            }
            fs::write(&path, kind)
                .map_err(|e| SearchError::io(format!("writing {}", path.display()), e))
        }
        Err(e) => Err(SearchError::io(format!("reading {}", path.display()), e)),
    }
}

fn lock_dir(dir: &Path) -> Result<File, SearchError> {
    let path = dir.join("LOCK");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| SearchError::io(format!("opening {}", path.display()), e))?;
    match f.try_lock_exclusive() {
        Ok(true) => Ok(f),
        Ok(false) => Err(SearchError::Locked(dir.display().to_string())),
        Err(e) => Err(SearchError::io(format!("locking {}", path.display()), e)),
    }
}
