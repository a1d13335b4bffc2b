//! Sorting hits by a field: a top-k collector over fast-field columns (the event time, a
//! numeric path, or a keyword path), and the one ordering used to merge segments and tenants.
//! Documents without a value sort last in both directions, as in Elasticsearch.

use std::cmp::Ordering;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, ColumnType, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::schema::{EVENT, TIMESTAMP};

/// A hit's sort value, comparable across segments and tenants.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortValue {
    Score(Score),
    Int(i64),
    Float(f64),
    Str(String),
    Missing,
}

impl SortValue {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            SortValue::Score(s) => serde_json::json!(s),
            SortValue::Int(i) => serde_json::json!(i),
            SortValue::Float(f) => serde_json::json!(f),
            SortValue::Str(s) => serde_json::json!(s),
            SortValue::Missing => serde_json::Value::Null,
        }
    }
}

/// Best first: `Less` means `a` comes before `b`.
pub(crate) fn compare(a: &SortValue, b: &SortValue, desc: bool) -> Ordering {
    use SortValue::*;
    let rank = |v: &SortValue| match v {
        Score(_) | Int(_) | Float(_) => 0,
        Str(_) => 1,
        Missing => 2,
    };
    let asc = match (a, b) {
        (Missing, Missing) => return Ordering::Equal,
        (Missing, _) => return Ordering::Greater,
        (_, Missing) => return Ordering::Less,
        (Score(x), Score(y)) => x.total_cmp(y),
        (Int(x), Int(y)) => x.cmp(y),
        (Str(x), Str(y)) => x.cmp(y),
        (x, y) if rank(x) == 0 && rank(y) == 0 => num(x).total_cmp(&num(y)),
        (x, y) => rank(x).cmp(&rank(y)),
    };
    if desc {
        asc.reverse()
    } else {
        asc
    }
}

fn num(v: &SortValue) -> f64 {
    match v {
        SortValue::Score(s) => f64::from(*s),
        SortValue::Int(i) => *i as f64,
        SortValue::Float(f) => *f,
        _ => 0.0,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldKind {
    Timestamp,
    Numeric(String),
    Keyword(String),
}

/// Top `limit` documents by a field.
pub(crate) struct FieldTop {
    pub kind: FieldKind,
    pub desc: bool,
    pub limit: usize,
}

enum Source {
    Date(Column<tantivy::DateTime>),
    Num(Column<u64>, ColumnType),
    Ords(StrColumn),
    None,
}

pub(crate) struct FieldTopSegment {
    segment: SegmentOrdinal,
    source: Source,
    top: TopK,
}

impl Collector for FieldTop {
    type Fruit = Vec<(SortValue, DocAddress)>;
    type Child = FieldTopSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<FieldTopSegment> {
        let ff = reader.fast_fields();
        let source = match &self.kind {
            FieldKind::Timestamp => Source::Date(ff.date(TIMESTAMP)?),
            FieldKind::Numeric(path) => {
                let numeric = [ColumnType::I64, ColumnType::U64, ColumnType::F64];
                match ff.u64_lenient_for_type(Some(&numeric), &format!("{EVENT}.{path}"))? {
                    Some((col, typ)) => Source::Num(col, typ),
                    None => Source::None,
                }
            }
            FieldKind::Keyword(path) => match ff.str(&format!("{EVENT}.{path}"))? {
                Some(col) => Source::Ords(col),
                None => Source::None,
            },
        };
        Ok(FieldTopSegment {
            segment,
            source,
            top: TopK::new(self.limit, self.desc),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<Vec<(SortValue, DocAddress)>>,
    ) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<_> = fruits.into_iter().flatten().collect();
        all.sort_by(|a, b| compare(&a.0, &b.0, self.desc).then(a.1.cmp(&b.1)));
        all.truncate(self.limit);
        Ok(all)
    }
}

impl SegmentCollector for FieldTopSegment {
    type Fruit = Vec<(SortValue, DocAddress)>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        // Within a segment, keys are plain numbers: ms, f64, or dictionary ordinals (which sort
        // like the strings). Strings are looked up only for the survivors in `harvest`.
        let key = match &self.source {
            Source::Date(col) => col.first(doc).map(|d| d.into_timestamp_millis() as f64),
            Source::Num(col, typ) => col.first(doc).map(|raw| numeric(raw, *typ)),
            Source::Ords(col) => col.ords().first(doc).map(|o| o as f64),
            Source::None => None,
        };
        self.top.push(key, doc);
    }

    fn harvest(self) -> Self::Fruit {
        let segment = self.segment;
        let mut buf = String::new();
        self.top
            .into_sorted()
            .into_iter()
            .map(|(key, doc)| {
                let value = match (key, &self.source) {
                    (None, _) => SortValue::Missing,
                    (Some(ms), Source::Date(_)) => SortValue::Int(ms as i64),
                    (Some(x), Source::Num(_, ColumnType::I64)) => SortValue::Int(x as i64),
                    (Some(x), Source::Num(..)) => SortValue::Float(x),
                    (Some(ord), Source::Ords(col)) => {
                        buf.clear();
                        match col.ord_to_str(ord as u64, &mut buf) {
                            Ok(true) => SortValue::Str(buf.clone()),
                            _ => SortValue::Missing,
                        }
                    }
                    (Some(_), Source::None) => SortValue::Missing,
                };
                (value, DocAddress::new(segment, doc))
            })
            .collect()
    }
}

/// The raw u64 of a numeric column back to a number (i64 stays exact up to 2^53, which covers
/// realistic sort keys).
fn numeric(raw: u64, typ: ColumnType) -> f64 {
    match typ {
        ColumnType::I64 => tantivy::u64_to_i64(raw) as f64,
        ColumnType::F64 => tantivy::u64_to_f64(raw),
        _ => raw as f64,
    }
}

/// Keeps the best `limit` (key, doc) pairs seen, buffering up to twice that between trims.
struct TopK {
    limit: usize,
    desc: bool,
    items: Vec<(Option<f64>, DocId)>,
    /// The worst key still kept after the last trim: anything not better is skipped.
    threshold: Option<Option<f64>>,
}

impl TopK {
    fn new(limit: usize, desc: bool) -> TopK {
        TopK {
            limit,
            desc,
            items: Vec::with_capacity(limit.saturating_mul(2).min(1 << 16)),
            threshold: None,
        }
    }

    fn key_cmp(&self, a: Option<f64>, b: Option<f64>) -> Ordering {
        match (a, b) {
            (Some(x), Some(y)) => {
                let o = x.total_cmp(&y);
                if self.desc {
                    o.reverse()
                } else {
                    o
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }

    fn cmp(&self, a: &(Option<f64>, DocId), b: &(Option<f64>, DocId)) -> Ordering {
        self.key_cmp(a.0, b.0).then(a.1.cmp(&b.1))
    }

    fn push(&mut self, key: Option<f64>, doc: DocId) {
        if self.limit == 0 {
            return;
        }
        if let Some(th) = self.threshold {
            // Docs arrive in id order, so on a tie with the threshold the kept one wins.
            if self.key_cmp(key, th) != Ordering::Less {
                return;
            }
        }
        self.items.push((key, doc));
        if self.items.len() >= self.limit * 2 {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.items.len() > self.limit {
            let mut items = std::mem::take(&mut self.items);
            items.select_nth_unstable_by(self.limit - 1, |a, b| self.cmp(a, b));
            items.truncate(self.limit);
            self.items = items;
            self.threshold = self.items.iter().max_by(|a, b| self.cmp(a, b)).map(|w| w.0);
        }
    }

    fn into_sorted(mut self) -> Vec<(Option<f64>, DocId)> {
        self.trim();
        let mut items = std::mem::take(&mut self.items);
        items.sort_by(|a, b| self.cmp(a, b));
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_best_with_missing_last() {
        for desc in [false, true] {
            let mut top = TopK::new(3, desc);
            let keys = [
                Some(5.0),
                None,
                Some(1.0),
                Some(9.0),
                Some(3.0),
                None,
                Some(7.0),
                Some(2.0),
            ];
            for (doc, k) in keys.iter().enumerate() {
                top.push(*k, doc as DocId);
            }
            let got: Vec<Option<f64>> = top.into_sorted().into_iter().map(|(k, _)| k).collect();
            let want = if desc {
                vec![Some(9.0), Some(7.0), Some(5.0)]
            } else {
                vec![Some(1.0), Some(2.0), Some(3.0)]
            };
            assert_eq!(got, want);
        }
        let mut top = TopK::new(4, false);
        for (doc, k) in [Some(1.0), None, None].iter().enumerate() {
            top.push(*k, doc as DocId);
        }
        assert_eq!(
            top.into_sorted(),
            vec![(Some(1.0), 0), (None, 1), (None, 2)]
        );
    }

    #[test]
    fn values_compare_with_missing_last_either_way() {
        use SortValue::*;
        assert_eq!(compare(&Int(1), &Float(1.5), false), Ordering::Less);
        assert_eq!(compare(&Int(1), &Missing, true), Ordering::Less);
        assert_eq!(
            compare(&Missing, &Str("a".into()), false),
            Ordering::Greater
        );
        assert_eq!(
            compare(&Str("b".into()), &Str("a".into()), true),
            Ordering::Less
        );
    }
}
