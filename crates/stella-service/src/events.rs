//! Security events: bulk ingest into the tenant's embedded index (durable before the answer),
//! security event filters applied at ingest, watchlist matching that raises alerts, search in
//! the Elasticsearch DSL, saved queries, and tags/status/comments on single events.

use crate::xdr::watchlists::MAX_WATCHLISTS_PER_TENANT;
use crate::{Result, ServiceError, Stella};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use stella_core::catalog::{EVENT_FILTERS, QUERIES, WATCHLISTS};
use stella_core::clock::rfc3339_ms;
use stella_core::ids::new_id;
use stella_core::perm::{EventsRead, EventsWrite, QueriesRead};
use stella_core::{Grant, Restricted};
use stella_search::{Bulk, EventSource, SearchError};
use stella_store::NewAlert;

/// What `POST /events` answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    pub ingested: usize,
    pub failed: usize,
    pub errors: Vec<String>,
    /// Documents a security event filter dropped (not failures: the tenant asked for it).
    pub dropped: usize,
    /// New alerts raised by watchlist matches.
    pub alerts: usize,
    /// Matching events counted into alerts their cause had already raised in the current
    /// window (see `ALERT_WINDOW_MS`), instead of raising more.
    pub alert_events_aggregated: usize,
    /// Matching events of causes past this request's new-alert bound
    /// (`MAX_NEW_ALERTS_PER_INGEST`) with no open alert to count into.
    pub alert_events_suppressed: usize,
}

/// A watchlist entry raises at most one alert per watchlist per window; later matches in the
/// window add to that alert's `event_count` (as SIEMs aggregate repeats).
pub const ALERT_WINDOW_MS: i64 = 3_600_000;
/// New alerts one ingest request may raise.
pub const MAX_NEW_ALERTS_PER_INGEST: usize = 100;
/// Distinct causes (watchlist, entry) one ingest request writes to the database; matches of
/// further causes are counted as suppressed without any.
pub const MAX_CAUSES_PER_INGEST: usize = 1000;

impl From<SearchError> for ServiceError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Invalid(m) | SearchError::Unsupported(m) => {
                ServiceError::Invalid(vec![stella_core::FieldError::new("$", m)])
            }
            SearchError::NotFound => ServiceError::NotFound("no such event".into()),
            SearchError::Closed(m) | SearchError::Unavailable(m) => ServiceError::Unavailable(m),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

/// Drops the events an enabled security event filter matches; answers how many each dropped.
fn drop_filtered(bulk: &mut Bulk, filters: &[Value]) -> HashMap<String, i64> {
    let mut hits: HashMap<String, i64> = HashMap::new();
    if filters.is_empty() {
        return hits;
    }
    bulk.retain(|doc| {
        let dropped_by = filters.iter().find(|f| {
            f["conditions"]
                .as_object()
                .is_some_and(|c| filter_matches(c, doc))
        });
        if let Some(f) = dropped_by {
            *hits
                .entry(f["id"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        dropped_by.is_none()
    });
    hits
}

/// A security event filter: every condition's field (dotted path) equals its value.
fn filter_matches(conditions: &Map<String, Value>, event: &EventSource) -> bool {
    !conditions.is_empty()
        && conditions
            .iter()
            .all(|(path, want)| event.get_path(path).is_some_and(|got| &got == want))
}

/// Largest event an alert keeps a copy of; a larger one is referred to by id only.
const MAX_ALERT_EVENT_BYTES: usize = 64 * 1024;

/// The event snapshot an alert keeps.
fn alert_event(event: &stella_search::AcceptedEvent, watchlist: &str, entry: &str) -> String {
    if event.source.json().len() > MAX_ALERT_EVENT_BYTES {
        json!({"_id": event.id, "_source_omitted": format!("the event is larger than {MAX_ALERT_EVENT_BYTES} bytes; search for its _id"), "watchlist_id": watchlist, "entry": entry})
    } else {
        json!({"_id": event.id, "_source": event.source.to_value(), "watchlist_id": watchlist, "entry": entry})
    }
    .to_string()
}

/// What watchlist matching did with one ingest's events.
#[derive(Debug, Default)]
struct WatchlistMatches {
    raised: usize,
    aggregated: usize,
    suppressed: usize,
}

/// One (watchlist, entry) found in a batch.
struct Cause<'a> {
    watchlist: &'a Value,
    entry: String,
    first: usize,
    last_counted: Option<usize>,
    events: i64,
}

impl Stella {
    pub fn events(&self) -> &stella_search::EventIndex {
        &self.0.events.0
    }

    /// Ingests the events of a request body (`{"events": [...]}`, an array, or one event) for
    /// one tenant (`tenant_id` parameter, or the caller's only tenant).
    pub async fn ingest_events(
        &self,
        g: Grant<'_, EventsWrite>,
        tenant: Option<String>,
        body: Vec<u8>,
    ) -> Result<IngestReport> {
        let tenant = self.owning_tenant(g.caller(), tenant).await?;
        let filters = self
            .db
            .resource_all(
                &EVENT_FILTERS,
                &tenant,
                &[("enabled", stella_core::resource::FieldValue::Bool(true))],
                None,
                1000,
                &[],
            )
            .await?;
        // Below the free-space floor, refused before anything is parsed. What the log and
        // then the index add (about the body's size each) counts until the next measurement.
        let adds = 2 * body.len() as u64;
        self.disk.admit_write()?;
        let index = self.events().clone();
        let max = self.settings.max_bulk_events;
        let now = self.now_ms();
        let t = tenant.clone();
        // Parsing, filtering and the WAL append are CPU and disk work: one blocking task.
        let (outcome, hits) = tokio::task::spawn_blocking(move || {
            let mut bulk = index.parse_bulk(body, max)?;
            let hits = drop_filtered(&mut bulk, &filters);
            index.ingest_bulk(&t, bulk, now).map(|o| (o, hits))
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("ingest task: {e}")))??;
        self.disk.wrote(adds);
        let dropped: i64 = hits.values().sum();
        for (id, n) in hits {
            self.db.count_filter_hits(&id, n).await?;
        }
        let matched = self
            .match_watchlists(&tenant, &outcome.accepted, now)
            .await?;
        let day = rfc3339_ms(now).get(..10).unwrap_or_default().to_owned();
        self.db
            .count_ingest(
                &tenant,
                &day,
                [outcome.ingested as i64, outcome.failed as i64, dropped],
            )
            .await?;
        Ok(IngestReport {
            ingested: outcome.ingested,
            failed: outcome.failed,
            errors: outcome.errors,
            dropped: dropped as usize,
            alerts: matched.raised,
            alert_events_aggregated: matched.aggregated,
            alert_events_suppressed: matched.suppressed,
        })
    }

    /// Raises alerts for watchlist entries found in the events: one per (watchlist, entry)
    /// per window, counting every matching event; at most `MAX_NEW_ALERTS_PER_INGEST` new
    /// ones per request. One database write per distinct cause, not per event.
    async fn match_watchlists(
        &self,
        tenant: &str,
        accepted: &[stella_search::AcceptedEvent],
        now: i64,
    ) -> Result<WatchlistMatches> {
        let watchlists = self
            .db
            .resource_all(
                &WATCHLISTS,
                tenant,
                &[],
                None,
                MAX_WATCHLISTS_PER_TENANT as i64,
                &[],
            )
            .await?;
        // entry (lower-cased) → watchlists listing it
        let mut entries: HashMap<String, Vec<&Value>> = HashMap::new();
        for w in &watchlists {
            for e in w["entries"].as_array().into_iter().flatten() {
                if let Some(e) = e.as_str().filter(|e| !e.is_empty()) {
                    entries.entry(e.to_lowercase()).or_default().push(w);
                }
            }
        }
        let mut out = WatchlistMatches::default();
        if entries.is_empty() {
            return Ok(out);
        }
        // (watchlist id, entry) → its first matching event and how many events matched, in
        // the order causes were first seen.
        let mut causes: Vec<Cause<'_>> = Vec::new();
        let mut index: HashMap<(&str, String), usize> = HashMap::new();
        for (ei, event) in accepted.iter().enumerate() {
            for leaf in event.source.string_leaves() {
                let lower = leaf.to_lowercase();
                let Some(lists) = entries.get(&lower) else {
                    continue;
                };
                for w in lists {
                    let wid = w["id"].as_str().unwrap_or_default();
                    let at = *index.entry((wid, lower.clone())).or_insert_with(|| {
                        causes.push(Cause {
                            watchlist: w,
                            entry: leaf.to_owned(),
                            first: ei,
                            last_counted: None,
                            events: 0,
                        });
                        causes.len() - 1
                    });
                    let c = &mut causes[at];
                    // An event counts once per cause, however many of its fields match.
                    if c.last_counted != Some(ei) {
                        c.last_counted = Some(ei);
                        c.events += 1;
                    }
                }
            }
        }
        let window = now.div_euclid(ALERT_WINDOW_MS);
        if causes.len() > MAX_CAUSES_PER_INGEST {
            out.suppressed += causes[MAX_CAUSES_PER_INGEST..]
                .iter()
                .map(|c| c.events as usize)
                .sum::<usize>();
            causes.truncate(MAX_CAUSES_PER_INGEST);
        }
        for c in causes {
            let wid = c.watchlist["id"].as_str().unwrap_or_default();
            let first = &accepted[c.first];
            let dedup_key = format!("watchlist:{wid}:{}:{window}", c.entry.to_lowercase());
            if out.raised >= MAX_NEW_ALERTS_PER_INGEST {
                if self
                    .db
                    .add_alert_events(tenant, &dedup_key, c.events, now)
                    .await?
                {
                    out.aggregated += c.events as usize;
                } else {
                    out.suppressed += c.events as usize;
                }
                continue;
            }
            let alert = NewAlert {
                id: new_id(),
                tenant_id: tenant.to_owned(),
                name: format!(
                    "Watchlist '{}' matched {}",
                    c.watchlist["name"].as_str().unwrap_or(""),
                    c.entry
                ),
                severity: c.watchlist["severity"]
                    .as_str()
                    .unwrap_or("high")
                    .to_owned(),
                source: "watchlist".into(),
                alert_type: "watchlist_match".into(),
                event: alert_event(first, wid, &c.entry),
                dedup_key,
            };
            if self.raise_alert(alert, c.events).await?.is_some() {
                out.raised += 1;
                out.aggregated += (c.events - 1) as usize;
            } else {
                out.aggregated += c.events as usize;
            }
        }
        Ok(out)
    }

    /// Elasticsearch `_search` over the events the caller's tenancy reaches.
    pub async fn search_events(
        &self,
        g: Grant<'_, EventsRead>,
        index: &str,
        tenant: Option<&str>,
        body: Value,
    ) -> Result<Value> {
        let caller = g.caller();
        if !stella_search::is_known_index(index) {
            return Err(ServiceError::NotFound(format!(
                "no index '{index}'; security events are in 'aella-ser' (also 'aella-ser-*', 'events')"
            )));
        }
        let mut filter = caller.tenant_filter();
        if let Some(t) = tenant {
            filter = filter.narrow_to(t);
        }
        let events = self.events().clone();
        let now = self.now_ms();
        let index = index.to_owned();
        let _slot = self.search_slot().await?;
        Ok(
            tokio::task::spawn_blocking(move || events.search_index(&filter, &index, &body, now))
                .await
                .map_err(|e| ServiceError::Internal(format!("search task: {e}")))??,
        )
    }

    /// Searches run on blocking threads; this bounds how many at once (the rest wait their
    /// turn, within the search budget), so one reader cannot occupy every thread.
    pub(crate) async fn search_slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        let budget = std::time::Duration::from_millis(self.settings.search_budget_ms);
        match tokio::time::timeout(budget, self.search_slots.acquire()).await {
            Ok(Ok(slot)) => Ok(slot),
            _ => Err(ServiceError::Unavailable(format!(
                "every search slot stayed busy for {} ms; try again shortly",
                self.settings.search_budget_ms
            ))),
        }
    }

    /// Makes every acknowledged event searchable now (Elasticsearch's `_refresh`).
    pub async fn refresh_events(&self, _g: Grant<'_, EventsWrite>) -> Result<()> {
        let events = self.events().clone();
        Ok(tokio::task::spawn_blocking(move || events.refresh())
            .await
            .map_err(|e| ServiceError::Internal(format!("refresh task: {e}")))??)
    }

    /// Runs a saved query: its `query` text is an Elasticsearch request body (JSON) or a
    /// Lucene-style query string.
    pub async fn run_query(
        &self,
        g: Grant<'_, QueriesRead>,
        id: &str,
        params: &[(String, String)],
    ) -> Result<Value> {
        let caller = g.caller();
        let saved = self.resource_get(caller, &QUERIES, None, id).await?;
        let text = saved["query"].as_str().unwrap_or_default();
        let mut body = match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => v,
            _ => json!({"query": {"query_string": {"query": text}}}),
        };
        for (k, v) in params {
            match k.as_str() {
                "size" | "from" => {
                    let n: u64 = v
                        .parse()
                        .map_err(|_| ServiceError::invalid(k, "must be a non-negative integer"))?;
                    body[k.as_str()] = n.into();
                }
                other => {
                    return Err(ServiceError::invalid(
                        other,
                        "is not a parameter of running a query; use size, from",
                    ))
                }
            }
        }
        let tenant = saved["tenant_id"].as_str().map(str::to_owned);
        self.search_events(caller.grant()?, "aella-ser", tenant.as_deref(), body)
            .await
    }

    /// Updates an event's `tags`, `status` and appends a `comment`.
    pub async fn update_event(
        &self,
        g: Grant<'_, EventsWrite>,
        id: &str,
        body: &Value,
    ) -> Result<Value> {
        let caller = g.caller();
        let Value::Object(patch) = body else {
            return Err(ServiceError::invalid("$", "must be a JSON object"));
        };
        let mut tags = None;
        let mut status = None;
        let mut comment = None;
        for (k, v) in patch {
            match k.as_str() {
                "tags" => match v.as_array() {
                    Some(a)
                        if a.len() <= 100
                            && a.iter().all(|t| t.as_str().is_some_and(|s| s.len() <= 200)) =>
                    {
                        tags = Some(v.clone())
                    }
                    _ => {
                        return Err(ServiceError::invalid(
                            "tags",
                            "must be an array of at most 100 strings",
                        ))
                    }
                },
                "status" => match v.as_str() {
                    Some(s) if !s.is_empty() && s.len() <= 200 => status = Some(v.clone()),
                    _ => {
                        return Err(ServiceError::invalid(
                            "status",
                            "must be a non-empty string",
                        ))
                    }
                },
                "comment" => match v.as_str() {
                    Some(s) if !s.trim().is_empty() && s.len() <= 10_000 => {
                        comment = Some(s.to_owned())
                    }
                    _ => {
                        return Err(ServiceError::invalid(
                            "comment",
                            "must be a non-empty string",
                        ))
                    }
                },
                other => {
                    return Err(ServiceError::invalid(
                        other,
                        "is not changeable on an event; use tags, status, comment",
                    ))
                }
            }
        }
        if tags.is_none() && status.is_none() && comment.is_none() {
            return Err(ServiceError::invalid(
                "$",
                "names nothing to change; use tags, status, comment",
            ));
        }
        let not_found = || ServiceError::NotFound(format!("no event has the id '{id}'"));
        if !stella_search::valid_event_id(id) {
            return Err(not_found());
        }
        let events = self.events().clone();
        let filter = caller.tenant_filter();
        let key = id.to_owned();
        let found = tokio::task::spawn_blocking(move || events.get(&filter, &key))
            .await
            .map_err(|e| ServiceError::Internal(format!("event task: {e}")))??;
        let (tenant, mut source) = found.ok_or_else(not_found)?;
        if let Some(t) = tags {
            source["tags"] = t;
        }
        if let Some(s) = status {
            source["status"] = s;
        }
        if let Some(c) = comment {
            let entry = json!({"comment": c, "user": caller.email, "created_at": rfc3339_ms(self.now_ms())});
            match source.get_mut("comments").and_then(Value::as_array_mut) {
                Some(list) => list.push(entry),
                None => source["comments"] = json!([entry]),
            }
        }
        let events = self.events().clone();
        let key = id.to_owned();
        let updated = source.clone();
        tokio::task::spawn_blocking(move || events.replace(&tenant, &key, updated))
            .await
            .map_err(|e| ServiceError::Internal(format!("event task: {e}")))??;
        Ok(json!({"_id": id, "_source": source}))
    }

    /// Storage use per tenant (events in the index) and of the database. Root super admins.
    pub async fn storage_usage(&self, _r: Restricted<'_, EventsRead>) -> Result<Value> {
        let events = self.events().clone();
        let usage =
            tokio::task::spawn_blocking(move || events.usage(&stella_core::TenantFilter::All))
                .await
                .map_err(|e| ServiceError::Internal(format!("usage task: {e}")))??;
        let total: u64 = usage.iter().map(|u| u.bytes).sum();
        Ok(json!({
            "data": usage.iter().map(|u| json!({
                "tenant_id": u.tenant_id,
                "documents": u.docs,
                "bytes": u.bytes,
                "partitions": u.partitions,
                "oldest_event": u.oldest_event_ms.map(stella_core::clock::rfc3339_ms),
            })).collect::<Vec<_>>(),
            "total_bytes": total,
        }))
    }

    /// Ingestion counters per tenant and day. Root super admins.
    pub async fn ingestion_stats(
        &self,
        _r: Restricted<'_, EventsRead>,
        limit: i64,
    ) -> Result<Value> {
        let data = self
            .db
            .ingestion_stats(&stella_core::TenantFilter::All, limit)
            .await?;
        Ok(json!({"data": data, "total": data.len()}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_every_condition_by_dotted_path() {
        let c = json!({"event_type": "dns", "src.ip": "10.0.0.1"});
        let c = c.as_object().unwrap();
        let event = |v: Value| EventSource::of_value(&v);
        assert!(filter_matches(
            c,
            &event(json!({"event_type": "dns", "src": {"ip": "10.0.0.1"}}))
        ));
        assert!(!filter_matches(
            c,
            &event(json!({"event_type": "dns", "src": {"ip": "10.0.0.2"}}))
        ));
        assert!(!filter_matches(&Map::new(), &event(json!({}))));
    }
}
