//! Loading stored events back: `_source` bytes and `_id`, by address or by id.

use serde_json::{Map, Value};
use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};

use crate::error::SearchError;
use crate::schema::{Fields, TIMESTAMP};

pub(crate) struct Stored {
    pub id: String,
    pub source: Value,
    /// Size of the stored `_source` text.
    pub bytes: usize,
}

pub(crate) fn load(
    searcher: &Searcher,
    fields: Fields,
    addr: DocAddress,
) -> Result<Stored, SearchError> {
    let doc: TantivyDocument = searcher.doc(addr)?;
    let id = doc
        .get_first(fields.id)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let bytes = doc
        .get_first(fields.source)
        .and_then(|v| v.as_bytes())
        .unwrap_or_default();
    let source = serde_json::from_slice(bytes).map_err(|e| {
        SearchError::Corrupt(format!("stored source of event {id} does not parse: {e}"))
    })?;
    Ok(Stored {
        id,
        source,
        bytes: bytes.len(),
    })
}

/// The event with this id in one tenant's index: its address and timestamp.
pub(crate) fn find(
    searcher: &Searcher,
    fields: Fields,
    id: &str,
) -> Result<Option<(DocAddress, i64)>, SearchError> {
    let q = TermQuery::new(
        Term::from_field_text(fields.id, id),
        IndexRecordOption::Basic,
    );
    let top = searcher.search(&q, &TopDocs::with_limit(1))?;
    let Some((_, addr)) = top.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some((addr, timestamp_of(searcher, addr)?)))
}

/// The indexed timestamp of a stored event.
pub(crate) fn timestamp_of(searcher: &Searcher, addr: DocAddress) -> Result<i64, SearchError> {
    Ok(searcher
        .segment_reader(addr.segment_ord)
        .fast_fields()
        .date(TIMESTAMP)?
        .first(addr.doc_id)
        .map(|d| d.into_timestamp_millis())
        .unwrap_or_default())
}

/// Keeps only the listed dotted paths of `source` (`_source: ["user.name", "srcip"]`).
pub(crate) fn filter_source(source: &Value, include: &[String]) -> Value {
    let mut out = Map::new();
    for path in include {
        // A literal dotted key wins over nested lookup, as both are valid ways to write it.
        if let Some(v) = source.get(path.as_str()) {
            out.insert(path.clone(), v.clone());
            continue;
        }
        let segs: Vec<&str> = path.split('.').collect();
        let mut cur = source;
        let mut found = true;
        for s in &segs {
            match cur.get(s) {
                Some(v) => cur = v,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if found {
            insert_path(&mut out, &segs, cur.clone());
        }
    }
    Value::Object(out)
}

fn insert_path(out: &mut Map<String, Value>, segs: &[&str], v: Value) {
    match segs {
        [] => {}
        [last] => {
            out.insert((*last).to_owned(), v);
        }
        [first, rest @ ..] => {
            let child = out
                .entry((*first).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = child {
                insert_path(m, rest, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn source_filtering_keeps_listed_paths() {
        let src = json!({"a": 1, "user": {"name": "x", "id": 2}, "b.c": 3});
        let got = filter_source(&src, &["user.name".into(), "b.c".into(), "nope".into()]);
        assert_eq!(got, json!({"user": {"name": "x"}, "b.c": 3}));
    }
}
