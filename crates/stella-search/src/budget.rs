//! The time a search may take, and the switch that stops every running search at shutdown.
//!
//! A search's cost is bounded up front by its clause budget (`dsl::query::MAX_CLAUSES`, and
//! `exec::compile::MAX_COMPILED` after expansion), its result window and its aggregation limits;
//! what is left is the number of documents it walks. The collector checks this budget every few
//! thousand documents, so a search over a large index stops at its deadline instead of holding
//! a thread (and graceful shutdown) for as long as it takes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::SearchError;

/// Why a search stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Deadline,
    Cancelled,
}

#[derive(Debug, Clone)]
pub(crate) struct Budget {
    started: Instant,
    limit: Duration,
    cancelled: Arc<AtomicBool>,
}

/// The message tantivy carries back up when the collector stops (it has no error of its own
/// for "stopped by the caller"); `Budget::explain` turns it into the real reason.
const STOPPED: &str = "stella: search stopped by its budget";

impl Budget {
    pub fn new(started: Instant, limit: Duration, cancelled: Arc<AtomicBool>) -> Budget {
        Budget {
            started,
            limit,
            cancelled,
        }
    }

    pub fn stopped(&self) -> Option<Stop> {
        if self.cancelled.load(Ordering::Relaxed) {
            Some(Stop::Cancelled)
        } else if self.started.elapsed() > self.limit {
            Some(Stop::Deadline)
        } else {
            None
        }
    }

    /// For the collector: an error that stops tantivy's search when the budget is spent.
    pub fn check(&self) -> tantivy::Result<()> {
        match self.stopped() {
            None => Ok(()),
            Some(_) => Err(tantivy::TantivyError::InternalError(STOPPED.to_owned())),
        }
    }

    /// For the search's own steps between tantivy calls.
    pub fn check_search(&self) -> Result<(), SearchError> {
        match self.stopped() {
            None => Ok(()),
            Some(stop) => Err(self.error(stop)),
        }
    }

    fn error(&self, stop: Stop) -> SearchError {
        match stop {
            Stop::Deadline => SearchError::invalid(format!(
                "the search ran longer than its budget of {} ms; narrow the query or its time \
                 range, or ask for fewer hits and aggregations",
                self.limit.as_millis()
            )),
            Stop::Cancelled => {
                SearchError::Closed("the server is shutting down; retry the search".into())
            }
        }
    }

    /// Maps an error out of tantivy: the budget's own stop, and the aggregation limits (a
    /// request error, not a server fault), become messages naming the limit.
    pub fn explain(&self, e: tantivy::TantivyError) -> SearchError {
        use tantivy::aggregation::AggregationError as A;
        match e {
            tantivy::TantivyError::InternalError(m) if m == STOPPED => {
                self.error(self.stopped().unwrap_or(Stop::Deadline))
            }
            tantivy::TantivyError::AggregationError(A::MemoryExceeded { limit, .. }) => {
                SearchError::invalid(format!(
                    "aggs: the aggregations need more than their memory limit of {limit:?}; \
                     narrow the time range, widen the interval or ask for fewer buckets"
                ))
            }
            tantivy::TantivyError::AggregationError(A::BucketLimitExceeded { limit, .. }) => {
                SearchError::invalid(format!(
                    "aggs: the aggregations make more than {limit} buckets; narrow the time \
                     range, widen the interval or ask for fewer buckets"
                ))
            }
            tantivy::TantivyError::AggregationError(other) => {
                SearchError::invalid(format!("aggs: {other}"))
            }
            other => SearchError::Index(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_budget_stops_and_names_its_limit() {
        let cancel = Arc::new(AtomicBool::new(false));
        let fresh = Budget::new(Instant::now(), Duration::from_secs(60), cancel.clone());
        assert!(fresh.check().is_ok());
        let past = Instant::now() - Duration::from_millis(50);
        let spent = Budget::new(past, Duration::from_millis(10), cancel.clone());
        let e = spent.check().err().map(|e| spent.explain(e));
        assert!(
            matches!(&e, Some(SearchError::Invalid(m)) if m.contains("budget of 10 ms")),
            "{e:?}"
        );
        cancel.store(true, Ordering::Relaxed);
        assert!(matches!(fresh.check_search(), Err(SearchError::Closed(_))));
        // Other tantivy errors pass through as index errors.
        assert!(matches!(
            fresh.explain(tantivy::TantivyError::InternalError("x".into())),
            SearchError::Index(_)
        ));
    }
}
