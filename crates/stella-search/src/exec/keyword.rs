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
        let docs: Box<dyn DocSet> = match &self.candidates {
            Some(w) => Box::new(w.scorer(reader, 1.0)?),
            None => Box::new(tantivy::query::AllScorer::new(reader.max_doc())),
        };
        let wanted = if ords.len() > 16 {
            Wanted::Many(ords.into_iter().collect())
        } else {
            Wanted::Few(ords)
        };
        Ok(Box::new(ConstScorer::new(
            Filtered::new(docs, col.ords().clone(), wanted),
            boost,
        )))
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
