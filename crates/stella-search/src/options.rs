//! Tunables of an `EventIndex`, with defaults sized for the two-core target machine.

/// Options for [`crate::EventIndex::open`].
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Most events one `ingest` call may carry; a larger bulk is refused whole.
    pub max_bulk: usize,
    /// Background commit period (near-real-time visibility). `0` disables background commits:
    /// only `refresh()` and `close()` commit (tests use this to control timing).
    pub commit_interval_ms: u64,
    /// Most indexing memory one tenant writer gets, split between its indexing threads. Tantivy
    /// flushes a segment when a thread's share fills, so larger means fewer, bigger segments and
    /// less merging later.
    pub writer_memory_bytes: usize,
    /// Indexing memory shared by the open tenant writers: a writer opened while `n` others are
    /// open gets `indexing_memory_bytes / (n + 1)` (at most `writer_memory_bytes`), so many
    /// tenants ingesting at once do not each take the maximum. Like Elasticsearch's
    /// `indices.memory.index_buffer_size`.
    pub indexing_memory_bytes: usize,
    /// Indexing threads per tenant writer.
    pub indexing_threads: usize,
    /// Largest accepted event, serialized.
    pub max_doc_bytes: usize,
    /// Deepest accepted nesting of objects/arrays in an event.
    pub max_doc_depth: usize,
    /// A write-ahead-log segment is sealed and a new one started past this size.
    pub wal_segment_bytes: u64,
    /// Batches waiting for the indexer before `ingest` callers are made to wait (backpressure).
    pub queue_batches: usize,
    /// Threads one search spreads its segments over (one pool shared by all tenant indexes).
    /// On two cores, two halves the latency of large aggregations on an idle machine.
    pub search_threads: usize,
    /// A tenant's writer (and its tantivy threads) is closed after this long without new
    /// events, and reopened on the next one, so many quiet tenants do not each hold threads.
    pub idle_writer_ms: u64,
    /// Most partition writers open at once (each holds tantivy threads and at least 15 MB a
    /// thread). Live ingest writes one or two days; a backfill or a hostile bulk spread over
    /// years would otherwise open a writer per day. Past it, the least recently written
    /// writer not needed by the record being applied is committed and closed.
    pub max_open_writers: usize,
    /// A partition whose writer closed for idleness is merged down to one segment (as
    /// Elasticsearch's force-merge of an index no longer written), one partition at a time in
    /// the background, when it holds at most this many documents: a search pays per segment,
    /// so thirty idle days in one segment each answer like one index. `0` never merges them.
    pub final_merge_max_docs: u64,
    /// Segments of about the same size merged together at once (tantivy's log merge policy).
    /// Larger means each event is rewritten fewer times, at the cost of more segments to search.
    pub merge_factor: usize,
    /// Segments below this many documents all count as one size class for merging.
    pub merge_min_segment_docs: u32,
    /// Like Elasticsearch's `index.search.idle.after`: when nothing has read the index for this
    /// long, background commits slow to `idle_commit_interval_ms` and the next read commits
    /// first (so it still sees every acknowledged event). Commits are what cut segments, so a
    /// bulk load nobody watches makes fewer, larger segments and far fewer merges. `0` turns
    /// this off (always `commit_interval_ms`).
    pub search_idle_ms: u64,
    /// Background commit period while search-idle; bounds how much WAL waits for a commit.
    pub idle_commit_interval_ms: u64,
    /// Longest a search may run (parse, commit catch-up, collection, fetching hits) before it
    /// stops and answers an error naming this budget.
    pub search_budget_ms: u64,
    /// Most bytes of stored `_source` one search answer may carry: 10,000 hits of 1 MiB
    /// events would otherwise be a 10 GB answer.
    pub max_hits_source_bytes: usize,
    /// What each event says about the entities it names, kept per partition as events are
    /// indexed (see `rollup.rs`); `None` keeps no rollups.
    pub rollup: Option<crate::rollup::RollupHook>,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            max_bulk: 10_000,
            commit_interval_ms: 1_000,
            writer_memory_bytes: 1024 * 1024 * 1024,
            indexing_memory_bytes: 1024 * 1024 * 1024,
            indexing_threads: 2,
            max_doc_bytes: 1024 * 1024,
            max_doc_depth: 20,
            wal_segment_bytes: 64 * 1024 * 1024,
            queue_batches: 32,
            search_threads: 2,
            idle_writer_ms: 600_000,
            max_open_writers: 32,
            final_merge_max_docs: 10_000_000,
            merge_factor: 16,
            merge_min_segment_docs: 10_000,
            search_idle_ms: 30_000,
            idle_commit_interval_ms: 30_000,
            search_budget_ms: 10_000,
            max_hits_source_bytes: 64 * 1024 * 1024,
            rollup: None,
        }
    }
}

/// Tantivy refuses less than 15 MB per indexing thread.
pub(crate) const MIN_MEMORY_PER_THREAD: usize = 15_000_000;

impl IndexOptions {
    /// The values actually used: zero or too-small settings are raised to something workable
    /// instead of failing deep inside tantivy.
    pub(crate) fn normalized(&self) -> IndexOptions {
        let threads = self.indexing_threads.clamp(1, 8);
        IndexOptions {
            max_bulk: self.max_bulk.max(1),
            commit_interval_ms: self.commit_interval_ms,
            writer_memory_bytes: self
                .writer_memory_bytes
                .max(MIN_MEMORY_PER_THREAD * threads),
            indexing_memory_bytes: self.indexing_memory_bytes,
            indexing_threads: threads,
            max_doc_bytes: self.max_doc_bytes.max(64),
            max_doc_depth: self.max_doc_depth.max(1),
            wal_segment_bytes: self.wal_segment_bytes.max(4096),
            queue_batches: self.queue_batches.max(1),
            search_threads: self.search_threads.clamp(1, 16),
            idle_writer_ms: self.idle_writer_ms,
            max_open_writers: self.max_open_writers.max(1),
            final_merge_max_docs: self.final_merge_max_docs,
            merge_factor: self.merge_factor.max(2),
            merge_min_segment_docs: self.merge_min_segment_docs,
            search_idle_ms: self.search_idle_ms,
            idle_commit_interval_ms: self.idle_commit_interval_ms.max(self.commit_interval_ms),
            search_budget_ms: self.search_budget_ms.max(1),
            // One hit of the largest event always fits.
            max_hits_source_bytes: self.max_hits_source_bytes.max(self.max_doc_bytes.max(64)),
            rollup: self.rollup.clone(),
        }
    }
}
