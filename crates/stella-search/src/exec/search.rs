//! One search over several tenant indexes: each index is searched with a single pass that
//! counts, collects its top `from + size` and its intermediate aggregation results; hits are
//! then merged by the sort order and aggregations by tantivy's distributed merge, exactly as
//! Elasticsearch merges shards.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::aggregation::{AggregationLimitsGuard, DistributedAggregationCollector};
use tantivy::collector::{Collector, TopDocs};
use tantivy::columnar::ColumnType;
use tantivy::query::{EnableScoring, Query};
use tantivy::{DocAddress, Searcher};

use super::collect::Combined;
use super::compile::Compiler;
use super::fetch::{filter_source, load};
use super::sort::{compare, FieldKind, FieldTop, SortValue};
use crate::budget::Budget;
use crate::dsl::{SearchRequest, SortKey, SourceFilter};
use crate::error::SearchError;
use crate::schema::{Fields, EVENT};
use crate::tenants::TenantIndex;

/// Aggregation bounds for one request: memory for buckets (tantivy checks it before filling
/// histogram gaps, so a 1 ms histogram over a week fails fast instead of allocating), and
/// bucket count (Elasticsearch's `search.max_buckets` is 65 536).
const AGG_MEMORY_BYTES: u64 = 64 * 1024 * 1024;
pub(crate) const AGG_MAX_BUCKETS: u32 = 65_000;

/// One partition of a search, prepared: its searcher, the query compiled for it (text paths
/// differ between partitions) and the kind of its sort field.
struct Part {
    searcher: Searcher,
    query: Box<dyn Query>,
    kind: FieldKind,
}

struct Hit {
    tenant: usize,
    key: SortValue,
    addr: DocAddress,
}

pub(crate) fn run(
    tenants: &[Arc<TenantIndex>],
    req: &SearchRequest,
    fields: Fields,
    started: Instant,
    budget: &Budget,
    max_source_bytes: usize,
) -> Result<Value, SearchError> {
    let limit = req.from + req.size;
    let desc = req.sort.desc;
    let agg_limits = AggregationLimitsGuard::new(Some(AGG_MEMORY_BYTES), Some(AGG_MAX_BUCKETS));
    let mut parts: Vec<Part> = Vec::with_capacity(tenants.len());
    let mut aggs = Vec::with_capacity(tenants.len());
    for t in tenants {
        budget.check_search()?;
        let searcher = t.reader.searcher();
        let paths = Arc::clone(&t.text_paths.read());
        let query = Compiler {
            fields,
            text_paths: &paths,
            spent: std::cell::Cell::new(0),
        }
        .compile(&req.query)?;
        // An index without segments yields an empty intermediate result, which tantivy's merge
        // (a zip over aggregation names) would treat as "no aggregations": leave it out.
        aggs.push(match &req.aggs {
            Some(a) if !searcher.segment_readers().is_empty() => Some(
                DistributedAggregationCollector::from_aggs(a.clone(), agg_limits.clone()),
            ),
            _ => None,
        });
        let kind = match &req.sort.key {
            SortKey::Path { path, keyword } => field_kind(&searcher, path, *keyword),
            _ => FieldKind::Timestamp,
        };
        parts.push(Part {
            searcher,
            query,
            kind,
        });
    }
    let executor = match tenants.first() {
        Some(t) => t.index.search_executor().clone(),
        None => tantivy::Executor::single_thread(),
    };
    let found = match (&req.sort.key, limit) {
        (_, 0) => {
            search_parts::<TopDocs>(&parts, aggs, budget, &executor, |_| None, |_| Vec::new())?
        }
        (SortKey::Score, _) => search_parts(
            &parts,
            aggs,
            budget,
            &executor,
            |_| Some(TopDocs::with_limit(limit)),
            |top| {
                let top = top.into_iter();
                top.map(|(s, a)| (SortValue::Score(s), a)).collect()
            },
        )?,
        (_, _) => search_parts(
            &parts,
            aggs,
            budget,
            &executor,
            |p| {
                Some(FieldTop {
                    kind: p.kind.clone(),
                    desc,
                    limit,
                })
            },
            |top| top,
        )?,
    };
    let mut total: u64 = 0;
    let mut hits: Vec<Hit> = Vec::new();
    let mut aggs_acc: Option<IntermediateAggregationResults> = None;
    for (ti, (count, top, part)) in found.into_iter().enumerate() {
        total += count;
        hits.extend(top.into_iter().map(|(key, addr)| Hit {
            tenant: ti,
            key,
            addr,
        }));
        if let Some(part) = part {
            match &mut aggs_acc {
                None => aggs_acc = Some(part),
                Some(acc) => acc.merge_fruits(part).map_err(|e| budget.explain(e))?,
            }
        }
    }
    let searchers: Vec<Searcher> = parts.into_iter().map(|p| p.searcher).collect();

    hits.sort_by(|a, b| {
        compare(&a.key, &b.key, desc).then((a.tenant, a.addr).cmp(&(b.tenant, b.addr)))
    });
    let by_score = req.sort.key == SortKey::Score;
    let max_score = match hits.first() {
        Some(Hit {
            key: SortValue::Score(s),
            ..
        }) if by_score => json!(s),
        _ => Value::Null,
    };
    let mut out_hits = Vec::with_capacity(req.size.min(hits.len()));
    budget.check_search()?;
    let mut source_bytes = 0usize;
    for (n, hit) in hits.into_iter().skip(req.from).take(req.size).enumerate() {
        if n % 64 == 63 {
            budget.check_search()?;
        }
        let stored = load(&searchers[hit.tenant], fields, hit.addr)?;
        source_bytes = source_bytes.saturating_add(stored.bytes);
        if source_bytes > max_source_bytes {
            return Err(SearchError::invalid(format!(
                "the hits' _source add up to more than {max_source_bytes} bytes, the most one \
                 answer carries; ask for fewer hits (size)"
            )));
        }
        let mut h = serde_json::Map::new();
        h.insert("_index".into(), json!(tenants[hit.tenant].name()));
        h.insert("_id".into(), json!(stored.id));
        if by_score {
            h.insert("_score".into(), hit.key.to_json());
        } else {
            h.insert("_score".into(), Value::Null);
        }
        match &req.source {
            SourceFilter::All => {
                h.insert("_source".into(), stored.source);
            }
            SourceFilter::Include(paths) => {
                h.insert("_source".into(), filter_source(&stored.source, paths));
            }
            SourceFilter::None => {}
        }
        if !by_score {
            h.insert("sort".into(), json!([hit.key.to_json()]));
        }
        out_hits.push(Value::Object(h));
    }

    let mut response = json!({
        "took": started.elapsed().as_millis() as u64,
        "timed_out": false,
        "_shards": {
            "total": tenants.len(),
            "successful": tenants.len(),
            "skipped": 0,
            "failed": 0,
        },
        "hits": {
            "total": {"value": total, "relation": "eq"},
            "max_score": max_score,
            "hits": out_hits,
        },
    });
    if let Some(req_aggs) = &req.aggs {
        let results = aggs_acc
            .unwrap_or_default()
            .into_final_result(req_aggs.clone(), agg_limits)
            .map_err(|e| budget.explain(e))?;
        let mut value = serde_json::to_value(results)
            .map_err(|e| SearchError::invalid(format!("aggregation results: {e}")))?;
        req.date_metrics.to_millis(&mut value);
        response["aggregations"] = value;
    }
    Ok(response)
}

/// (count, top hits, aggregations) of one partition.
type Found = (
    u64,
    Vec<(SortValue, DocAddress)>,
    Option<IntermediateAggregationResults>,
);

/// Searches every partition with a collector of the top hits `top` makes for it (none: count
/// and aggregations only) and its aggregations; `hits` turns its top hits into sort values.
fn search_parts<T: Collector>(
    parts: &[Part],
    aggs: Vec<Option<DistributedAggregationCollector>>,
    budget: &Budget,
    executor: &tantivy::Executor,
    top: impl Fn(&Part) -> Option<T>,
    hits: impl Fn(T::Fruit) -> Vec<(SortValue, DocAddress)>,
) -> Result<Vec<Found>, SearchError> {
    let collectors: Vec<Combined<'_, T>> = aggs
        .into_iter()
        .zip(parts)
        .map(|(aggs, p)| Combined {
            top: top(p),
            aggs,
            budget,
        })
        .collect();
    let fruits = collect_all(parts, &collectors, executor).map_err(|e| budget.explain(e))?;
    Ok(fruits
        .into_iter()
        .map(|f| (f.count, f.top.map(&hits).unwrap_or_default(), f.aggs))
        .collect())
}

/// Every partition's segments searched as one list spread over the search pool, as tantivy
/// spreads one index's segments: searched one partition after another, a day merged to one
/// segment would keep one thread busy and the other idle. Fruits are merged per partition.
fn collect_all<C: Collector>(
    parts: &[Part],
    collectors: &[C],
    executor: &tantivy::Executor,
) -> tantivy::Result<Vec<C::Fruit>> {
    let mut weights = Vec::with_capacity(parts.len());
    for (p, c) in parts.iter().zip(collectors) {
        let scoring = if c.requires_scoring() {
            EnableScoring::enabled_from_searcher(&p.searcher)
        } else {
            EnableScoring::disabled_from_searcher(&p.searcher)
        };
        weights.push(p.query.weight(scoring)?);
    }
    let tasks = parts.iter().enumerate().flat_map(|(pi, p)| {
        p.searcher
            .segment_readers()
            .iter()
            .enumerate()
            .map(move |(ord, reader)| (pi, ord as u32, reader))
    });
    let fruits = executor.map(
        |(pi, ord, reader)| {
            collectors[pi]
                .collect_segment(weights[pi].as_ref(), ord, reader)
                .map(|f| (pi, f))
        },
        tasks,
    )?;
    let mut per_part: Vec<Vec<_>> = parts.iter().map(|_| Vec::new()).collect();
    for (pi, fruit) in fruits {
        per_part[pi].push(fruit);
    }
    per_part
        .into_iter()
        .zip(collectors)
        .map(|(fruits, c)| c.merge_fruits(fruits))
        .collect()
}

/// Numeric if any segment holds numbers at the path (unless the request said otherwise).
fn field_kind(searcher: &Searcher, path: &str, keyword: Option<bool>) -> FieldKind {
    let numeric = match keyword {
        Some(k) => !k,
        None => {
            let name = format!("{EVENT}.{path}");
            searcher.segment_readers().iter().any(|seg| {
                seg.fast_fields()
                    .dynamic_column_handles(&name)
                    .map(|handles| {
                        handles.iter().any(|h| {
                            matches!(
                                h.column_type(),
                                ColumnType::I64 | ColumnType::U64 | ColumnType::F64
                            )
                        })
                    })
                    .unwrap_or(false)
            })
        }
    };
    if numeric {
        FieldKind::Numeric(path.to_owned())
    } else {
        FieldKind::Keyword(path.to_owned())
    }
}
