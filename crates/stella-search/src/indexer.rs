//! The indexer thread: owns every partition's `IndexWriter` (a tenant's events of one day, see
//! `tenants.rs`), applies durable WAL records in order, routing each event to the partition of
//! its timestamp's day, and commits on a timer (held back while nothing reads, see `reads.rs`)
//! or on `refresh`. Retention's partition drops run here too, so no writer is ever left on a
//! partition being removed.
//! Tantivy's own worker threads do the indexing work; this thread only routes documents and
//! commits, so ingest callers never wait for a commit.
//!
//! Each partition commit stores the last WAL sequence number applied (see `CommitPayload`). All
//! dirty partitions are committed together, so after a successful round every record up to
//! that number is in some commit and the WAL segments before it can go.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tantivy::indexer::{IndexWriterOptions, LogMergePolicy, UserOperation};
use tantivy::{FutureResult, IndexWriter, SegmentMeta, Term};

use crate::doc::{EventDoc, TextPaths};
use crate::error::SearchError;
use crate::log::record::Kind;
use crate::log::{Committed, IndexOp, Msg, Replay};
use crate::options::IndexOptions;
use crate::reads::Reads;
use crate::rollup::{EventView, Pending};
use crate::schema::Fields;
use crate::tenants::{day_of, CommitPayload, Day, PartKey, TenantIndex, Tenants};

/// Documents handed to tantivy's indexing threads at once. tantivy's queue holds 10,000
/// hand-overs whatever their size, so this also bounds the documents waiting inside tantivy
/// (80,000), and with them the memory they pin and the work a commit must finish first.
const ADD_GROUP: usize = 8;

struct TenantWriter {
    index: Arc<TenantIndex>,
    writer: IndexWriter<EventDoc>,
    /// Records up to this lsn are in the last commit (replay skips them).
    committed_lsn: u64,
    dirty: bool,
    paths: TextPaths,
    last_write: Instant,
    /// When it was last written, in the indexer's count of writes: the order in which
    /// writers close when too many are open (instants tie within one record).
    written: u64,
    /// The facts of the events added since the last commit, when the partition keeps a
    /// complete rollup (see `rollup.rs`).
    rollup: Option<Pending>,
    /// A final merge this writer was taken back with (its day was written again), still
    /// running inside it. Waited for before the day's next final merge: tantivy would start
    /// that one over the same segments alongside it, and one of the two would fail at its end
    /// after rewriting them all.
    carried: Option<FutureResult<Option<SegmentMeta>>>,
}

/// A partition's final merge in progress (see `IndexOptions::final_merge_max_docs`). The
/// writer is kept until the merge ends: dropping it would abandon the merge half-way.
struct Finishing {
    key: PartKey,
    tw: TenantWriter,
    merge: FutureResult<Option<SegmentMeta>>,
    /// Final merges of this partition that failed before this one.
    tries: u32,
    /// `merge` is a merge the writer carried back ([`TenantWriter::carried`]): when it ends,
    /// the day is merged again with what was written since.
    carried: bool,
}

/// A writer closed for idleness, waiting for its final merge.
struct Parked {
    key: PartKey,
    tw: TenantWriter,
    /// Final merges that failed so far because another merge of tantivy's own policy had
    /// merged their segments away first.
    tries: u32,
}

/// Ticks (about a second apart) a parked partition waits for other merges of its segments to
/// end before its final merge is given up.
const FINAL_MERGE_TRIES: u32 = 120;

pub(crate) struct Indexer {
    tenants: Arc<Tenants>,
    fields: Fields,
    opts: IndexOptions,
    reads: Arc<Reads>,
    /// When the oldest uncommitted document was applied.
    uncommitted_since: Option<Instant>,
    writers: HashMap<PartKey, TenantWriter>,
    /// Committed writers closed for idleness, oldest first, waiting to be merged one at a time.
    parked: VecDeque<Parked>,
    finishing: Option<Finishing>,
    /// Past days found at startup, merged when nothing else waits (a day whose writer was
    /// open when the server stopped would otherwise never be merged).
    past_days: VecDeque<PartKey>,
    /// Each partition's last committed position, as read when first met (replay skips what a
    /// partition has without opening a writer on it).
    committed: HashMap<PartKey, u64>,
    applied_lsn: u64,
    committed_lsn: u64,
    /// Partition writes so far (see `TenantWriter::written`).
    writes: u64,
    /// Set when a record could not be applied: the WAL is then kept (nothing released) until a
    /// restart replays it.
    failed: Option<String>,
}

impl Indexer {
    pub fn new(
        tenants: Arc<Tenants>,
        fields: Fields,
        opts: IndexOptions,
        reads: Arc<Reads>,
    ) -> Indexer {
        Indexer {
            tenants,
            fields,
            opts,
            reads,
            uncommitted_since: None,
            writers: HashMap::new(),
            parked: VecDeque::new(),
            finishing: None,
            past_days: VecDeque::new(),
            committed: HashMap::new(),
            applied_lsn: 0,
            committed_lsn: 0,
            writes: 0,
            failed: None,
        }
    }

    fn writer(&mut self, key: &PartKey) -> Result<&mut TenantWriter, SearchError> {
        if !self.writers.contains_key(key) {
            if let Some(tw) = self.unpark(key) {
                self.committed.insert(key.clone(), tw.committed_lsn);
                self.writers.insert(key.clone(), tw);
                self.report_open();
            }
        }
        if !self.writers.contains_key(key) {
            let index = self.tenants.get_or_create(key)?;
            let threads = self.opts.indexing_threads;
            let budget = writer_budget(&self.opts, self.writers.len());
            let tw = open_writer(index, &self.opts, threads, budget)?;
            self.committed.insert(key.clone(), tw.committed_lsn);
            self.writers.insert(key.clone(), tw);
            self.report_open();
        }
        self.writers
            .get_mut(key)
            .ok_or_else(|| SearchError::invalid("partition writer vanished"))
    }

    /// Queues every partition of a day before `today` for a final merge when nothing else
    /// waits (see `past_days`); days already in one segment are passed over then.
    pub fn queue_past_days(&mut self, today: Day) {
        if self.opts.final_merge_max_docs == 0 {
            return;
        }
        for tenant in self.tenants.allowed(&stella_core::TenantFilter::All) {
            for day in self.tenants.days(&tenant) {
                if day < today {
                    self.past_days.push_back(PartKey {
                        tenant: Arc::from(tenant.as_str()),
                        day,
                    });
                }
            }
        }
    }

    /// The next past day that needs a final merge, with a writer opened for it alone (one
    /// thread, the least memory tantivy accepts: it only merges).
    fn next_past_day(&mut self) -> Option<Parked> {
        while let Some(key) = self.past_days.pop_front() {
            if self.writers.contains_key(&key) || self.is_parked(&key) {
                continue; // in use: it is parked when idle
            }
            let Ok(Some(index)) = self.tenants.get(&key) else {
                continue; // dropped since
            };
            let searcher = index.reader.searcher();
            let docs = searcher.num_docs();
            if searcher.segment_readers().len() < 2 || docs > self.opts.final_merge_max_docs {
                continue;
            }
            drop(searcher);
            let floor = crate::options::MIN_MEMORY_PER_THREAD;
            match open_writer(index, &self.opts, 1, floor) {
                Ok(tw) => return Some(Parked { key, tw, tries: 0 }),
                Err(e) => {
                    tracing::warn!(tenant = %key.tenant, day = %key.day, error = %e, "final merge of a past day skipped")
                }
            }
        }
        None
    }

    /// The position a partition's last commit covers (0 for a new one).
    fn committed_lsn_of(&mut self, key: &PartKey) -> Result<u64, SearchError> {
        if let Some(lsn) = self.committed.get(key) {
            return Ok(*lsn);
        }
        let lsn = match self.tenants.get(key)? {
            Some(p) => p.committed()?.wal_lsn,
            None => 0,
        };
        self.committed.insert(key.clone(), lsn);
        Ok(lsn)
    }

    /// Whether replay must decode this record: always, for a valid tenant (each event is
    /// checked against its own partition's commit when applied).
    pub fn needs(&mut self, tenant: &str, lsn: u64) -> Result<bool, SearchError> {
        if !crate::event::valid_tenant_id(tenant) {
            return Err(SearchError::Corrupt(format!(
                "WAL record {lsn} names an invalid tenant {tenant:?}"
            )));
        }
        Ok(true)
    }

    /// Replay passed over a record that is already committed.
    pub fn skip(&mut self, lsn: u64) {
        self.applied_lsn = self.applied_lsn.max(lsn);
    }

    /// Applies one record (live, or replayed at startup).
    pub fn apply(&mut self, op: IndexOp) {
        if let Err(e) = self.try_apply(&op, true) {
            let why = format!(
                "indexing WAL record {} for tenant {} failed: {e}",
                op.lsn, op.tenant
            );
            tracing::error!("{why}");
            self.failed.get_or_insert(why);
        }
        self.applied_lsn = self.applied_lsn.max(op.lsn);
    }

    /// `from_log`: `op` is a log record, skipped in partitions whose commit already covers
    /// it. The format-2 migration applies the old index's events in several operations at
    /// one position, into partitions it has just emptied: nothing there to skip.
    fn try_apply(&mut self, op: &IndexOp, from_log: bool) -> Result<(), SearchError> {
        let fields = self.fields;
        // Events by day (most records hold one or two days).
        let mut days: BTreeMap<Day, Vec<&crate::log::record::DocMeta>> = BTreeMap::new();
        for d in &op.docs {
            let day = day_of(d.ts_ms);
            // An event of a day that retention dropped after this record was applied.
            if self.tenants.was_dropped(&op.tenant, day, op.lsn) {
                continue;
            }
            days.entry(day).or_default().push(d);
        }
        let now = Instant::now();
        let pending: Vec<Day> = days.keys().copied().collect();
        for (i, (day, docs)) in days.into_iter().enumerate() {
            let key = PartKey {
                tenant: Arc::clone(&op.tenant),
                day,
            };
            if from_log && op.lsn <= self.committed_lsn_of(&key)? {
                continue; // replay of something the partition already has
            }
            if !self.writers.contains_key(&key)
                && !self.is_parked(&key)
                && self.writers.len() + self.parked.len() >= self.opts.max_open_writers
            {
                // A parked writer has nothing uncommitted: it goes before any in use.
                if self.parked.pop_front().is_none() {
                    self.close_one(&op.tenant, &pending[i..], op.lsn)?;
                }
                self.report_open();
            }
            self.writes += 1;
            let written = self.writes;
            let hook = self.opts.rollup.clone();
            let tw = self.writer(&key)?;
            // Handed to tantivy in groups, not one document at a time: each hand-over is a
            // channel send that may wake an indexing thread, and a group stays together in
            // one segment.
            for group in docs.chunks(ADD_GROUP) {
                let mut ops = Vec::with_capacity(group.len() * 2);
                for d in group {
                    if op.kind == Kind::Replace {
                        ops.push(UserOperation::Delete(Term::from_field_text(
                            fields.id, &d.id,
                        )));
                    }
                    let (text, tape) = d.source.parts();
                    tw.paths.add(tape, text);
                    // A replacement (an analyst's tags, status, comments) states nothing new
                    // about the entities: its facts were collected when it was first indexed.
                    let replaced = op.kind == Kind::Replace;
                    if let (Some(hook), Some(pending), false) =
                        (&hook, tw.rollup.as_mut(), replaced)
                    {
                        let mut facts = Vec::with_capacity(16);
                        hook.0
                            .facts(&EventView::new(tape, text, d.ts_ms), &mut facts);
                        pending.fold.add_event(&mut facts, d.ts_ms);
                    }
                    ops.push(UserOperation::Add(EventDoc {
                        fields,
                        id: d.id.clone(),
                        ts_ms: d.ts_ms,
                        source: d.source.clone(),
                    }));
                }
                tw.writer.run(ops)?;
            }
            tw.dirty = true;
            tw.last_write = now;
            tw.written = written;
            self.uncommitted_since.get_or_insert(now);
        }
        Ok(())
    }

    /// Makes room for one more writer: commits and closes the least recently written one,
    /// one with nothing uncommitted first. A writer holds every earlier record's events for
    /// its day, and of `lsn`'s record all or none: all when its day is done, none when it is
    /// one of `tenant`'s days in `pending` (still to be written by this record) or not in it.
    /// So a closed writer is committed at `lsn`, or at `lsn - 1` when its day is pending (at
    /// `lsn`, replay would skip the events it is still to get); pending days go last.
    fn close_one(&mut self, tenant: &str, pending: &[Day], lsn: u64) -> Result<(), SearchError> {
        let is_pending = |k: &PartKey| &*k.tenant == tenant && pending.contains(&k.day);
        let victim = self
            .writers
            .iter()
            .min_by_key(|(k, w)| (is_pending(k), w.dirty, w.written))
            .map(|(k, _)| (k.clone(), is_pending(k)));
        let Some((key, pending)) = victim else {
            return Ok(());
        };
        if let Some(mut tw) = self.writers.remove(&key) {
            if tw.dirty {
                commit_one(&mut tw, if pending { lsn.saturating_sub(1) } else { lsn })?;
            }
            // Read afresh (from its commit) if it is written again.
            self.committed.remove(&key);
        }
        self.report_open();
        Ok(())
    }

    /// Drops `tenant`'s partitions of days before `before`, oldest first, at most `max`:
    /// their writers go (what they had not committed is past retention too), the drop is
    /// recorded, the directories are deleted. Returns (partitions, events) removed.
    pub fn drop_before(
        &mut self,
        tenant: &str,
        before: Day,
        max: usize,
    ) -> Result<(usize, u64), SearchError> {
        let days: Vec<Day> = self
            .tenants
            .days(tenant)
            .into_iter()
            .filter(|d| *d < before)
            .take(max)
            .collect();
        if days.is_empty() {
            return Ok((0, 0));
        }
        for day in &days {
            let key = PartKey {
                tenant: Arc::from(tenant),
                day: *day,
            };
            // Merges under way in the day are waited for: a dropped writer's merge would go on
            // writing files into the directory being removed. (An old day's writer rarely has
            // one; its final merge, at most.)
            if self.finishing.as_ref().is_some_and(|f| f.key == key) {
                if let Some(mut f) = self.finishing.take() {
                    let _ = block_on(&mut f.merge);
                    if let Err(e) = f.tw.writer.wait_merging_threads() {
                        tracing::warn!(tenant = %key.tenant, day = %key.day, error = %e, "closing a dropped day's writer");
                    }
                }
            }
            for tw in [self.writers.remove(&key), self.unpark(&key)]
                .into_iter()
                .flatten()
            {
                if let Err(e) = tw.writer.wait_merging_threads() {
                    tracing::warn!(tenant = %key.tenant, day = %key.day, error = %e, "closing a dropped day's writer");
                }
            }
            self.committed.remove(&key);
        }
        self.report_open();
        let events = self
            .tenants
            .drop_partitions(tenant, &days, self.applied_lsn)?;
        Ok((days.len(), events))
    }

    /// Moves each format-2 tenant index (one per tenant, all days) into daily partitions:
    /// every stored event is indexed again into its day's partition, committed at the
    /// position the old index had, and then the old index's files go. Run once, on open,
    /// before the log is replayed. An interrupted migration is redone from the start (the
    /// partitions it made are removed first).
    pub fn migrate_legacy(&mut self) -> Result<(), SearchError> {
        let legacy = self.tenants.legacy.clone();
        for tenant in &legacy {
            let old = self.tenants.open_legacy(tenant)?;
            let position = old.committed()?.wal_lsn;
            let leftovers = self.tenants.days(tenant);
            if !leftovers.is_empty() {
                self.drop_before(tenant, Day::MAX, usize::MAX)?;
            }
            let searcher = old.reader.searcher();
            let mut moved = 0u64;
            for (ord, segment) in searcher.segment_readers().iter().enumerate() {
                let alive: Vec<u32> = segment.doc_ids_alive().collect();
                let mut docs = Vec::new();
                for doc in alive {
                    let addr = tantivy::DocAddress::new(ord as u32, doc);
                    let stored = crate::exec::fetch::load(&searcher, self.fields, addr)?;
                    let ts = crate::exec::fetch::timestamp_of(&searcher, addr)?;
                    docs.push(crate::log::record::DocMeta {
                        id: stored.id,
                        ts_ms: ts,
                        source: crate::bulk::EventSource::of_value(&stored.source),
                    });
                }
                moved += docs.len() as u64;
                self.try_apply(
                    &IndexOp {
                        lsn: position.max(1),
                        kind: Kind::Add,
                        tenant: Arc::from(tenant.as_str()),
                        docs,
                    },
                    false,
                )?;
            }
            // Committed at the old index's position: replay continues past it as before.
            for tw in self.writers.values_mut().filter(|w| w.dirty) {
                commit_one(tw, position)?;
            }
            self.committed.clear();
            drop(searcher);
            drop(old);
            self.tenants.remove_legacy(tenant)?;
            tracing::info!(tenant = %tenant, events = moved, "moved a format-2 event index into daily partitions");
        }
        self.tenants.mark_current()
    }

    /// Whether a due background commit may wait: nothing has read the index for
    /// `search_idle_ms` and the oldest pending document is younger than
    /// `idle_commit_interval_ms`. The next read then commits first (see `reads.rs`).
    fn hold_back(&self) -> bool {
        let idle = self.opts.search_idle_ms;
        let max_wait = Duration::from_millis(self.opts.idle_commit_interval_ms);
        idle > 0
            && self
                .uncommitted_since
                .is_some_and(|t| t.elapsed() < max_wait)
            && self.reads.hold_back(idle)
    }

    fn dirty(&self) -> bool {
        self.writers.values().any(|w| w.dirty)
    }

    /// Commits every tenant with new documents, makes them searchable, and releases WAL
    /// segments that are now fully committed.
    pub fn commit_all(&mut self) -> Result<(), String> {
        let lsn = self.applied_lsn;
        let mut errors = Vec::new();
        for (tenant, tw) in self.writers.iter_mut().filter(|(_, w)| w.dirty) {
            match commit_one(tw, lsn) {
                Ok(()) => {}
                Err(e) => errors.push(format!("tenant {} day {}: {e}", tenant.tenant, tenant.day)),
            }
        }
        if let Some(why) = &self.failed {
            errors.push(why.clone());
        }
        if !errors.is_empty() {
            let msg = errors.join("; ");
            tracing::error!(error = %msg, "commit failed; WAL kept for replay");
            return Err(msg);
        }
        self.committed_lsn = lsn;
        self.uncommitted_since = None;
        self.reads.committed(lsn);
        self.close_idle();
        for (key, w) in &self.writers {
            self.committed.insert(key.clone(), w.committed_lsn);
        }
        // Partitions without a writer now may be written again later: read afresh then.
        let open = &self.writers;
        self.committed.retain(|k, _| open.contains_key(k));
        Ok(())
    }

    /// Closes the writers with nothing uncommitted that have not been written for
    /// `idle_writer_ms`: a closed writer loses nothing, its commit payload has what reopening
    /// needs. Each is parked for its final merge.
    fn close_idle(&mut self) {
        let idle = Duration::from_millis(self.opts.idle_writer_ms);
        let quiet: Vec<PartKey> = self
            .writers
            .iter()
            .filter(|(_, w)| !w.dirty && w.last_write.elapsed() >= idle)
            .map(|(k, _)| k.clone())
            .collect();
        for key in quiet {
            if let Some(mut tw) = self.writers.remove(&key) {
                self.committed.remove(&key);
                // Its day is likely done: readers then search its rollup in place.
                if let Some(r) = tw.rollup.as_mut() {
                    if let Err(e) = r.compact_if_appended(&tw.index.dir, tw.committed_lsn) {
                        tracing::warn!("compacting the rollup of {}: {e}", tw.index.name());
                    }
                }
                self.park(key, tw);
            }
        }
        self.report_open();
    }

    /// Partition writers open: in use, parked and the one merging.
    fn report_open(&self) {
        let n = self.writers.len() + self.parked.len() + usize::from(self.finishing.is_some());
        self.reads.writers_open(n);
    }

    /// A committed writer closed for idleness: kept for its final merge, or dropped when
    /// final merges are off.
    fn park(&mut self, key: PartKey, tw: TenantWriter) {
        if self.opts.final_merge_max_docs > 0 {
            self.parked.push_back(Parked { key, tw, tries: 0 });
        }
    }

    fn is_parked(&self, key: &PartKey) -> bool {
        self.parked.iter().any(|p| &p.key == key)
            || self.finishing.as_ref().is_some_and(|f| &f.key == key)
    }

    /// Takes a parked or merging writer back (its day is written again). A merge under way
    /// goes on inside that writer, whose commits tantivy keeps consistent with it; the writer
    /// carries it, to be waited for before the day's next final merge.
    fn unpark(&mut self, key: &PartKey) -> Option<TenantWriter> {
        if self.finishing.as_ref().is_some_and(|f| &f.key == key) {
            return self.finishing.take().map(|f| {
                let mut tw = f.tw;
                tw.carried = Some(f.merge);
                tw
            });
        }
        let at = self.parked.iter().position(|p| &p.key == key)?;
        self.parked.remove(at).map(|p| p.tw)
    }

    /// Ends the merge in `finishing` with its outcome. A carried merge hands the day back for
    /// its real final merge, first in line; a final merge that failed because another merge
    /// (tantivy's own policy) merged its segments away first is tried again on a later tick,
    /// with the segments as they are then. Answers whether a retry waits for a later tick.
    fn end_finishing(&mut self, f: Finishing, res: tantivy::Result<Option<SegmentMeta>>) -> bool {
        let Finishing {
            key,
            tw,
            tries,
            carried,
            ..
        } = f;
        if carried {
            if let Err(e) = &res {
                tracing::debug!(tenant = %key.tenant, day = %key.day, error = %e, "a carried merge did not end");
            }
            if let Err(e) = tw.index.reader.reload() {
                tracing::warn!(tenant = %key.tenant, day = %key.day, error = %e, "reload after a merge");
            }
            self.parked.push_front(Parked { key, tw, tries });
            return false;
        }
        let Some((tw, e)) = end_final_merge(&key, tw, res) else {
            return false;
        };
        // Only "the segments merged could not be found" is another merge's doing; anything
        // else (a full disk, an I/O error) would fail again after rewriting the day again.
        let raced = matches!(e, tantivy::TantivyError::InvalidArgument(_));
        if raced && tries < FINAL_MERGE_TRIES {
            self.parked.push_back(Parked {
                key,
                tw,
                tries: tries + 1,
            });
            return true;
        }
        // Dropped, not waited for: a merge of tantivy's own policy may still run in it, and
        // dropping stops it from publishing anything. The day answers the same, in more
        // segments; a restart's pass over past days tries again.
        tracing::warn!(tenant = %key.tenant, day = %key.day, error = %e, "final merge not done; the partition keeps its segments");
        false
    }

    /// One step of the final merges, called about once a second while any wait: ends the
    /// merge that finished (its readers see the one segment) and starts the next. One at a
    /// time, so this background work takes one core at most. Answers whether a failed merge
    /// waits for a later step.
    fn finish_step(&mut self) -> bool {
        if let Some(f) = self.finishing.as_mut() {
            let Some(res) = poll_now(&mut f.merge) else {
                return false;
            };
            if let Some(f) = self.finishing.take() {
                if self.end_finishing(f, res) {
                    self.report_open();
                    return true;
                }
            }
        }
        while let Some(mut p) = self.parked.pop_front().or_else(|| self.next_past_day()) {
            // A merge the writer carried back is still the day's merge under way: it is the
            // one waited for, and the day merged again once it ends.
            if let Some(merge) = p.tw.carried.take() {
                self.finishing = Some(Finishing {
                    key: p.key,
                    tw: p.tw,
                    merge,
                    tries: p.tries,
                    carried: true,
                });
                break;
            }
            let metas = match p.tw.index.index.searchable_segment_metas() {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(tenant = %p.key.tenant, day = %p.key.day, error = %e, "final merge skipped");
                    continue;
                }
            };
            let docs: u64 = metas.iter().map(|m| u64::from(m.num_docs())).sum();
            if metas.len() < 2 || docs > self.opts.final_merge_max_docs {
                continue; // nothing to gain, or too big to rewrite at once
            }
            let ids: Vec<_> = metas.iter().map(|m| m.id()).collect();
            let merge = p.tw.writer.merge(&ids);
            // Ended (or failed) on a later step: one merge at a time.
            self.finishing = Some(Finishing {
                key: p.key,
                tw: p.tw,
                merge,
                tries: p.tries,
                carried: false,
            });
            break;
        }
        self.report_open();
        false
    }

    /// Whether final merges wait to be started or ended (the thread then wakes every second).
    fn finishing_work(&self) -> bool {
        self.finishing.is_some() || !self.parked.is_empty() || !self.past_days.is_empty()
    }

    /// At shutdown: the merge under way is waited for (a day of events at most), so no merge
    /// is left running inside a dropped writer; parked ones are not started.
    fn finish_for_close(&mut self) {
        if let Some(mut f) = self.finishing.take() {
            tracing::info!(tenant = %f.key.tenant, day = %f.key.day, "waiting for a partition's final merge before closing");
            // Not done, or carried: dropped with the others, the day merged after the next
            // start.
            let res = block_on(&mut f.merge);
            if !f.carried {
                let _ = end_final_merge(&f.key, f.tw, res);
            }
        }
        self.parked.clear();
        self.past_days.clear();
    }

    /// The last position committed (everything up to it is in some commit).
    pub fn committed_lsn(&self) -> u64 {
        self.committed_lsn
    }

    /// Commits and tells the log, which may then let go of what is committed (`wait`: before
    /// returning, as `refresh` and `close` need; otherwise in the background).
    fn commit_and_tell(&mut self, log: &mut dyn Committed, wait: bool) -> Result<(), String> {
        self.commit_all()?;
        log.committed(self.committed_lsn, wait);
        Ok(())
    }

    /// The thread body. `interval` of zero means commit only when asked.
    pub fn run(mut self, rx: Receiver<Msg>, mut log: Box<dyn Committed>) {
        let interval = (self.opts.commit_interval_ms > 0)
            .then(|| Duration::from_millis(self.opts.commit_interval_ms));
        let mut deadline: Option<Instant> = None;
        // Housekeeping (idle writers, final merges) while there are writers or merges.
        let mut tick = Instant::now() + HOUSEKEEPING;
        loop {
            let housekeeping = !self.writers.is_empty() || self.finishing_work();
            let wake = match (deadline, housekeeping) {
                (Some(d), true) => Some(d.min(tick)),
                (Some(d), false) => Some(d),
                (None, true) => Some(tick),
                (None, false) => None,
            };
            let msg = match wake {
                Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match msg {
                Ok(Msg::Apply(op)) => {
                    self.apply(op);
                    if let (None, Some(i)) = (deadline, interval) {
                        deadline = Some(Instant::now() + i);
                    }
                }
                Ok(Msg::Drop {
                    tenant,
                    before,
                    max,
                    reply,
                }) => {
                    let _ = reply.send(
                        self.drop_before(&tenant, before, max)
                            .map_err(|e| e.to_string()),
                    );
                }
                Ok(Msg::Refresh(reply)) => {
                    let _ = reply.send(self.commit_and_tell(&mut *log, true));
                    deadline = None;
                }
                Ok(Msg::Close(reply)) => {
                    log.finish();
                    let res = self.commit_and_tell(&mut *log, true);
                    self.finish_for_close();
                    drop(self.writers);
                    let _ = reply.send(res);
                    return;
                }
                #[cfg(test)]
                Ok(Msg::Abandon(reply)) => {
                    log.finish();
                    drop(self.writers);
                    let _ = reply.send(Ok(()));
                    return;
                }
                #[cfg(test)]
                Ok(Msg::FinishMerges(reply)) => {
                    self.close_idle();
                    while self.finishing_work() {
                        let mut waits = false;
                        if let Some(mut f) = self.finishing.take() {
                            let res = block_on(&mut f.merge);
                            waits = self.end_finishing(f, res);
                        }
                        // A failed merge is tried again on the next tick; here the tick is a
                        // short wait, not a spin through its tries.
                        if waits || self.finish_step() {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                    let _ = reply.send(Ok(()));
                }
                #[cfg(test)]
                Ok(Msg::StartMerges(reply)) => {
                    self.close_idle();
                    let _ = self.finish_step();
                    let _ = reply.send(Ok(()));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    log.finish();
                    let _ = self.commit_and_tell(&mut *log, true);
                    self.finish_for_close();
                    return;
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                deadline = None;
                if self.dirty() {
                    if self.hold_back() {
                        deadline = interval.map(|i| Instant::now() + i);
                    } else {
                        let started = Instant::now();
                        // Errors are logged inside and returned again by the next refresh.
                        let _ = self.commit_and_tell(&mut *log, false);
                        deadline = interval
                            .map(|i| Instant::now() + next_commit_after(i, started.elapsed()));
                    }
                }
            }
            if Instant::now() >= tick {
                self.close_idle();
                let _ = self.finish_step();
                tick = Instant::now() + HOUSEKEEPING;
            }
        }
    }
}

/// How often idle writers are looked for and final merges checked on.
const HOUSEKEEPING: Duration = Duration::from_secs(1);

/// How long after a background commit the next one may start. A commit stops the flow of
/// documents into tantivy until its segments are written (seconds under a heavy bulk load), so
/// commits are spaced at least twice as far apart as the last one took: under load they then
/// hold ingest for at most a third of the time, like Elasticsearch skipping a refresh while the
/// previous one runs; at light load they stay at `interval`.
fn next_commit_after(interval: Duration, took: Duration) -> Duration {
    interval.max(took.saturating_mul(2))
}

/// Tantivy's log merge policy with a wider merge: commits every second make small segments
/// (one per indexing thread), and with the default of 8 segments a merge, 5M events were
/// rewritten 1.8 times each on average by merges; with 16, once.
fn merge_policy(opts: &IndexOptions) -> LogMergePolicy {
    let mut policy = LogMergePolicy::default();
    policy.set_min_num_segments(opts.merge_factor);
    policy.set_min_layer_size(opts.merge_min_segment_docs);
    policy
}

/// Indexing memory for a writer opened while `open` others are: an equal share of the total,
/// capped at the per-writer maximum and never below what tantivy accepts.
fn writer_budget(opts: &IndexOptions, open: usize) -> usize {
    let floor = crate::options::MIN_MEMORY_PER_THREAD * opts.indexing_threads;
    (opts.indexing_memory_bytes / (open + 1))
        .min(opts.writer_memory_bytes)
        .max(floor)
}

/// Ends a final merge: done, the readers see the one segment and the writer closes (nothing
/// runs in it any more); not done, the writer is handed back with the error, for the caller
/// to retry or drop.
fn end_final_merge(
    key: &PartKey,
    tw: TenantWriter,
    res: tantivy::Result<Option<SegmentMeta>>,
) -> Option<(TenantWriter, tantivy::TantivyError)> {
    if let Err(e) = res {
        tracing::debug!(tenant = %key.tenant, day = %key.day, error = %e, "final merge not done");
        return Some((tw, e));
    }
    if let Err(e) = tw.index.reader.reload() {
        tracing::warn!(tenant = %key.tenant, day = %key.day, error = %e, "reload after final merge");
    }
    tracing::debug!(tenant = %key.tenant, day = %key.day, "partition merged to one segment");
    if let Err(e) = tw.writer.wait_merging_threads() {
        tracing::warn!(tenant = %key.tenant, day = %key.day, error = %e, "closing a merged partition's writer");
    }
    None
}

/// Waits for a tantivy merge. (`FutureResult::wait` may not follow a poll: the future is
/// polled here until ready, the thread parked between polls.)
fn block_on<T>(fut: &mut FutureResult<T>) -> tantivy::Result<T> {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    loop {
        if let Poll::Ready(r) = Pin::new(&mut *fut).poll(&mut Context::from_waker(&waker)) {
            return r;
        }
        std::thread::park();
    }
}

/// The outcome of a tantivy merge if it has ended, without blocking.
fn poll_now<T>(fut: &mut FutureResult<T>) -> Option<tantivy::Result<T>> {
    match Pin::new(fut).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => Some(r),
        Poll::Pending => None,
    }
}

/// A writer on a partition, from its last commit.
fn open_writer(
    index: Arc<TenantIndex>,
    opts: &IndexOptions,
    threads: usize,
    budget: usize,
) -> Result<TenantWriter, SearchError> {
    let committed = index.committed()?;
    let rollup = match &opts.rollup {
        Some(hook) => Pending::open(&index.dir, hook.0.version(), committed.wal_lsn)?,
        None => None,
    };
    let options = IndexWriterOptions::builder()
        .num_worker_threads(threads)
        .memory_budget_per_thread(budget / threads)
        .num_merge_threads(1)
        .build();
    let writer = index.index.writer_with_options(options)?;
    writer.set_merge_policy(Box::new(merge_policy(opts)));
    Ok(TenantWriter {
        index,
        writer,
        committed_lsn: committed.wal_lsn,
        dirty: false,
        paths: TextPaths::from_paths(committed.text_paths),
        last_write: Instant::now(),
        written: 0,
        rollup,
        carried: None,
    })
}

fn commit_one(tw: &mut TenantWriter, lsn: u64) -> Result<(), SearchError> {
    let mut paths: Vec<String> = tw.paths.paths.iter().cloned().collect();
    paths.sort();
    let payload = serde_json::to_string(&CommitPayload {
        wal_lsn: lsn,
        text_paths: paths.clone(),
    })
    .map_err(|e| SearchError::invalid(format!("commit payload: {e}")))?;
    // The rollup's frame first: one past the partition's commit is never read (see
    // `rollup.rs`), one missing would lose facts of committed events.
    if let Some(r) = tw.rollup.as_mut() {
        r.write(&tw.index.dir, lsn)?;
    }
    let mut prepared = tw.writer.prepare_commit()?;
    prepared.set_payload(&payload);
    prepared.commit()?;
    if let Some(r) = tw.rollup.as_mut() {
        // The commit stands either way; an uncompacted rollup is only larger.
        if let Err(e) = r.maybe_compact(&tw.index.dir, lsn) {
            tracing::warn!("compacting the rollup of {}: {e}", tw.index.name());
        }
    }
    tw.committed_lsn = lsn;
    tw.dirty = false;
    tw.index.reader.reload()?;
    *tw.index.text_paths.write() = Arc::new(paths);
    Ok(())
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn writers_share_the_indexing_memory() {
        let opts = IndexOptions {
            writer_memory_bytes: 512 << 20,
            indexing_memory_bytes: 1024 << 20,
            indexing_threads: 2,
            ..IndexOptions::default()
        }
        .normalized();
        // The first writer is capped at the per-writer maximum, later ones share the total.
        assert_eq!(writer_budget(&opts, 0), 512 << 20);
        assert_eq!(writer_budget(&opts, 3), 256 << 20);
        // However many are open, a writer gets what tantivy needs to run.
        assert_eq!(
            writer_budget(&opts, 1000),
            2 * crate::options::MIN_MEMORY_PER_THREAD
        );
    }
}

#[cfg(test)]
mod commit_spacing_tests {
    use super::*;

    #[test]
    fn slow_commits_are_spaced_out_and_quick_ones_keep_the_interval() {
        let second = Duration::from_secs(1);
        assert_eq!(next_commit_after(second, Duration::from_millis(20)), second);
        assert_eq!(
            next_commit_after(second, Duration::from_millis(2400)),
            Duration::from_millis(4800)
        );
    }
}

impl Replay for Indexer {
    fn needs(&mut self, tenant: &str, lsn: u64) -> Result<bool, SearchError> {
        Indexer::needs(self, tenant, lsn)
    }

    fn apply(&mut self, op: IndexOp) {
        Indexer::apply(self, op)
    }

    fn skip(&mut self, lsn: u64) {
        Indexer::skip(self, lsn)
    }
}
