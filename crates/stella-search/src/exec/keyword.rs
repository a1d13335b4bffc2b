//! Exact string matching without a second inverted index.
//!
//! Strings are indexed once, analysed (for `match`), and their raw value (up to 256
//! characters) is kept in the columnar fast field (for aggregations and sorting). An exact
//! `term` query uses both: documents holding every token of the value are the candidates
//! (cheap, from the postings), and the column confirms the raw value is exactly the one asked
//! for (so `Malware` does not match `malware`, nor `web 01` match `web-01`). Values without
//! tokens (`---`) scan the column.

use std::collections::HashSet;

use tantivy::columnar::Column;
use tantivy::query::{
    ConstScorer, EmptyScorer, EnableScoring, Explanation, Query, QueryClone, Scorer, Weight,
};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED};

/// Documents whose string at `column` (a fast-field path such as `event.srcip`) is one of
/// `values`, among those `candidates` matches (`None`: all documents).
#[derive(Debug)]
pub(crate) struct KeywordQuery {
    pub column: String,
    pub values: Vec<String>,
    pub candidates: Option<Box<dyn Query>>,
}

impl Clone for KeywordQuery {
    fn clone(&self) -> Self {
        KeywordQuery {
            column: self.column.clone(),
            values: self.values.clone(),
            candidates: self.candidates.as_ref().map(|q| q.box_clone()),
        }
    }
}

impl Query for KeywordQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        // The candidates only narrow the scan; their scores are not used.
        let plain = EnableScoring::disabled_from_schema(scoring.schema());
        let candidates = match &self.candidates {
            Some(q) => Some(q.weight(plain)?),
            None => None,
        };
        Ok(Box::new(KeywordWeight {
            column: self.column.clone(),
            values: self.values.clone(),
            candidates,
        }))
    }
}

struct KeywordWeight {
    column: String,
    values: Vec<String>,
    candidates: Option<Box<dyn Weight>>,
}

impl Weight for KeywordWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let Some(col) = reader.fast_fields().str(&self.column)? else {
            return Ok(Box::new(EmptyScorer));
        };
        let mut ords = Vec::with_capacity(self.values.len());
        for v in &self.values {
            if let Some(ord) = col.dictionary().term_ord(v)? {
                ords.push(ord);
            }
        }
        if ords.is_empty() {
            return Ok(Box::new(EmptyScorer));
        }
        let key = cache::Key {
            segment: reader.segment_id(),
            what: format!("term\0{}\0{}", self.column, self.values.join("\0")),
        };
        if let Some(bits) = cache::get(&key) {
            return Ok(Box::new(ConstScorer::new(BitsDocSet::new(bits), boost)));
        }
        let docs: Box<dyn DocSet> = match &self.candidates {
            Some(w) => Box::new(w.scorer(reader, 1.0)?),
            None => Box::new(tantivy::query::AllScorer::new(reader.max_doc())),
        };
        let wanted = if ords.len() > 16 {
            Wanted::Many(ords.into_iter().collect())
        } else {
            Wanted::Few(ords)
        };
        let keep = cache::worth_keeping(reader.max_doc(), docs.size_hint());
        let mut filtered = Filtered::new(docs, col.ords().clone(), wanted);
        if keep {
            // Confirmed once, for every question after this one that asks the same.
            let bits = std::sync::Arc::new(Bits::collect(&mut filtered, reader.max_doc()));
            cache::put(key, bits.clone());
            return Ok(Box::new(ConstScorer::new(BitsDocSet::new(bits), boost)));
        }
        Ok(Box::new(ConstScorer::new(filtered, boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("exact keyword", 1.0))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )))
        }
    }
}

enum Wanted {
    Few(Vec<u64>),
    Many(HashSet<u64>),
}

impl Wanted {
    fn contains(&self, ord: u64) -> bool {
        match self {
            Wanted::Few(v) => v.contains(&ord),
            Wanted::Many(s) => s.contains(&ord),
        }
    }
}

/// The candidate documents whose column value is wanted.
struct Filtered {
    inner: Box<dyn DocSet>,
    ords: Column<u64>,
    wanted: Wanted,
}

impl Filtered {
    fn new(inner: Box<dyn DocSet>, ords: Column<u64>, wanted: Wanted) -> Filtered {
        let mut f = Filtered {
            inner,
            ords,
            wanted,
        };
        // A DocSet starts positioned on its first document.
        let d = f.inner.doc();
        if d != TERMINATED && !f.matches(d) {
            f.advance();
        }
        f
    }

    fn matches(&self, doc: DocId) -> bool {
        self.ords
            .values_for_doc(doc)
            .any(|o| self.wanted.contains(o))
    }
}

impl DocSet for Filtered {
    fn advance(&mut self) -> DocId {
        loop {
            let d = self.inner.advance();
            if d == TERMINATED || self.matches(d) {
                return d;
            }
        }
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let d = self.inner.seek(target);
        if d == TERMINATED || self.matches(d) {
            d
        } else {
            self.advance()
        }
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }
}

/// The documents of one segment a keyword query matched, one bit each.
pub(crate) struct Bits {
    words: Vec<u64>,
    count: u32,
    max_doc: DocId,
}

impl Bits {
    /// Every document `docs` has left, from where it stands.
    fn collect(docs: &mut dyn DocSet, max_doc: DocId) -> Bits {
        let mut words = vec![0u64; (max_doc as usize).div_ceil(64)];
        let mut count = 0;
        let mut d = docs.doc();
        while d != TERMINATED && d < max_doc {
            words[(d / 64) as usize] |= 1 << (d % 64);
            count += 1;
            d = docs.advance();
        }
        Bits {
            words,
            count,
            max_doc,
        }
    }

    /// The first document at or after `from`.
    fn next_from(&self, from: DocId) -> DocId {
        if from >= self.max_doc {
            return TERMINATED;
        }
        let mut w = (from / 64) as usize;
        let mut word = self.words[w] & (u64::MAX << (from % 64));
        loop {
            if word != 0 {
                return w as DocId * 64 + word.trailing_zeros();
            }
            w += 1;
            match self.words.get(w) {
                Some(next) => word = *next,
                None => return TERMINATED,
            }
        }
    }

    fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

/// [`Bits`] as a `DocSet`, shared with the cache.
struct BitsDocSet {
    bits: std::sync::Arc<Bits>,
    doc: DocId,
}

impl BitsDocSet {
    fn new(bits: std::sync::Arc<Bits>) -> BitsDocSet {
        let doc = bits.next_from(0);
        BitsDocSet { bits, doc }
    }
}

impl DocSet for BitsDocSet {
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            self.doc = self.bits.next_from(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc < target {
            self.doc = self.bits.next_from(target);
        }
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.bits.count
    }
}

/// Confirmed matches of large keyword queries, per segment: Elasticsearch's query cache for
/// filters. Host ID asks for one address's events in five of its eight questions, and a busy
/// host is named by hundreds of thousands of events, each confirmed against the column once a
/// question (a third of such a lookup's CPU); the event-type filters (`alert`, `flow`) are
/// the same for every lookup. A segment never changes once written, so an entry is right for
/// as long as its segment lives; the least recently used go past [`MAX_BYTES`]. Small
/// segments (the ones live ingest is writing, soon merged away) and small sets (cheap to
/// confirm anyway) are not kept.
mod cache {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};

    use tantivy::index::SegmentId;

    use super::Bits;

    /// Segments smaller than this are not cached.
    const MIN_SEGMENT_DOCS: u32 = 65_536;
    /// Candidate sets (before confirmation) smaller than this are not cached.
    const MIN_CANDIDATES: u32 = 4_096;

    /// Whether a segment's match of `candidates` documents is kept: always in this crate's
    /// tests, so its whole suite goes through the cache.
    pub fn worth_keeping(segment_docs: u32, candidates: u32) -> bool {
        cfg!(test) || (segment_docs >= MIN_SEGMENT_DOCS && candidates >= MIN_CANDIDATES)
    }
    /// The most the cache holds: 512 bitsets of a 1M-document segment.
    pub(super) const MAX_BYTES: usize = 64 << 20;

    /// A segment and what was asked of it, spelt out in full (`term`, column and values;
    /// `exists` and path): never a hash, which two questions could share.
    #[derive(Clone, PartialEq, Eq, Hash)]
    pub struct Key {
        pub segment: SegmentId,
        pub what: String,
    }

    #[derive(Default)]
    struct Cache {
        entries: HashMap<Key, (Arc<Bits>, u64)>,
        bytes: usize,
        clock: u64,
    }

    fn cache() -> &'static Mutex<Cache> {
        static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
        CACHE.get_or_init(|| Mutex::new(Cache::default()))
    }

    pub fn get(key: &Key) -> Option<Arc<Bits>> {
        let mut c = cache().lock().unwrap_or_else(|e| e.into_inner());
        c.clock += 1;
        let now = c.clock;
        c.entries.get_mut(key).map(|(bits, used)| {
            *used = now;
            bits.clone()
        })
    }

    pub fn put(key: Key, bits: Arc<Bits>) {
        let mut c = cache().lock().unwrap_or_else(|e| e.into_inner());
        c.clock += 1;
        let now = c.clock;
        c.bytes += bits.bytes();
        if let Some((old, _)) = c.entries.insert(key, (bits, now)) {
            c.bytes -= old.bytes();
        }
        while c.bytes > MAX_BYTES {
            let Some(oldest) = c
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((gone, _)) = c.entries.remove(&oldest) {
                c.bytes -= gone.bytes();
            }
        }
    }
}

#[cfg(test)]
mod bits_tests {
    use super::*;

    struct Listed(Vec<DocId>, usize);
    impl DocSet for Listed {
        fn advance(&mut self) -> DocId {
            self.1 += 1;
            self.doc()
        }
        fn doc(&self) -> DocId {
            self.0.get(self.1).copied().unwrap_or(TERMINATED)
        }
        fn size_hint(&self) -> u32 {
            self.0.len() as u32
        }
    }

    #[test]
    fn bits_iterate_and_seek_as_the_documents_they_hold() {
        let docs = vec![0, 1, 63, 64, 65, 127, 128, 1000, 4095];
        let bits = std::sync::Arc::new(Bits::collect(&mut Listed(docs.clone(), 0), 4096));
        assert_eq!(bits.count, docs.len() as u32);
        let mut set = BitsDocSet::new(bits.clone());
        let mut seen = vec![set.doc()];
        while set.advance() != TERMINATED {
            seen.push(set.doc());
        }
        assert_eq!(seen, docs);
        assert_eq!(set.advance(), TERMINATED);
        let mut set = BitsDocSet::new(bits);
        assert_eq!(set.seek(2), 63);
        assert_eq!(set.seek(63), 63);
        assert_eq!(set.seek(66), 127);
        assert_eq!(set.seek(129), 1000);
        assert_eq!(set.seek(4095), 4095);
        assert_eq!(set.seek(4096), TERMINATED);
        let empty = Bits::collect(&mut Listed(vec![], 0), 0);
        assert_eq!(
            BitsDocSet::new(std::sync::Arc::new(empty)).doc(),
            TERMINATED
        );
    }

    #[test]
    fn the_cache_forgets_the_least_recently_used_past_its_bound() {
        use std::sync::Arc;
        // Five entries of a little under a quarter of the bound: the fifth pushes out one,
        // the least recently used (the second: the first was read since). Other tests' entries
        // are a few bytes, too small to change which.
        let words = (cache::MAX_BYTES / 4 - 64 * 1024) / 8;
        let key = |n: usize| cache::Key {
            segment: tantivy::index::SegmentId::generate_random(),
            what: format!("test {n}"),
        };
        let keys: Vec<cache::Key> = (0..5).map(key).collect();
        let bits = || {
            Arc::new(Bits {
                words: vec![0; words],
                count: 0,
                max_doc: (words * 64) as DocId,
            })
        };
        for k in &keys[..3] {
            cache::put(k.clone(), bits());
        }
        assert!(cache::get(&keys[0]).is_some());
        cache::put(keys[3].clone(), bits());
        cache::put(keys[4].clone(), bits());
        let kept: Vec<bool> = keys.iter().map(|k| cache::get(k).is_some()).collect();
        assert_eq!(kept, [true, false, true, true, true]);
    }
}

/// `exists` on a path through the same cache: the question walks every column under the path
/// for each candidate (host ID's services ask it of every flow naming the host), and its
/// answer is the same for every lookup.
#[derive(Debug)]
pub(crate) struct CachedExists {
    path: String,
    inner: tantivy::query::ExistsQuery,
}

impl CachedExists {
    pub(crate) fn new(path: String) -> CachedExists {
        CachedExists {
            inner: tantivy::query::ExistsQuery::new(path.clone(), true),
            path,
        }
    }
}

impl Clone for CachedExists {
    fn clone(&self) -> Self {
        CachedExists::new(self.path.clone())
    }
}

impl Query for CachedExists {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(CachedExistsWeight {
            path: self.path.clone(),
            inner: self.inner.weight(scoring)?,
        }))
    }
}

struct CachedExistsWeight {
    path: String,
    inner: Box<dyn Weight>,
}

impl Weight for CachedExistsWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let key = cache::Key {
            segment: reader.segment_id(),
            what: format!("exists\0{}", self.path),
        };
        if let Some(bits) = cache::get(&key) {
            return Ok(Box::new(ConstScorer::new(BitsDocSet::new(bits), boost)));
        }
        let mut docs = self.inner.scorer(reader, boost)?;
        if !cache::worth_keeping(reader.max_doc(), docs.size_hint()) {
            return Ok(docs);
        }
        let bits = std::sync::Arc::new(Bits::collect(docs.as_mut(), reader.max_doc()));
        cache::put(key, bits.clone());
        Ok(Box::new(ConstScorer::new(BitsDocSet::new(bits), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }
}
