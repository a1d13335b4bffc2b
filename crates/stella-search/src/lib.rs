//! Stella Ops event search: an embedded, durable, per-tenant event index with an
//! Elasticsearch query DSL subset.
//!
//! Layout under the directory given to [`EventIndex::open`]:
//!
//! ```text
//! <dir>/LOCK                      advisory lock: one process at a time
//! <dir>/wal/<first lsn>.wal       write-ahead log segments (see wal/record.rs for the format)
//! <dir>/tenants/FORMAT           on-disk format version; another version is refused at open
//! <dir>/tenants/<tenant_id>/<YYYY.MM.DD>/  one tantivy index per tenant and day (SSTable term
//!                                          dictionaries), and its `ROLLUP` (see `rollup.rs`)
//! ```
//!
//! Write path: `parse_bulk` splits a request body into events, each parsed once into a flat
//! tape over the body's bytes (`tape.rs`); `ingest_bulk` assigns ids, copies each event's text
//! as received into one checksummed WAL record and fsyncs (group commit), then hands the batch
//! to the indexer thread, which feeds tantivy's writer threads and commits every
//! `commit_interval_ms` (or on `refresh`); when nothing has read for `search_idle_ms`,
//! background commits wait (up to `idle_commit_interval_ms`) and the next read commits first
//! (`reads.rs`). Each tenant commit records the WAL position it covers; on `open`, records past
//! it are replayed.
//!
//! Read path: `search` parses the request into an AST (`dsl`), compiles it per tenant index
//! (`exec::compile`), collects counts, top hits and intermediate aggregations per index, and
//! merges them like Elasticsearch merges shards (`exec::search`).

pub mod backup;
mod budget;
mod bulk;
mod directory;
mod doc;
pub mod dsl;
mod error;
mod event;
mod exec;
#[doc(hidden)]
pub mod fuzzing;
mod index;
mod indexer;
mod log;
pub mod nats;
mod options;
mod pattern;
mod reads;
pub mod rollup;
mod schema;
mod tape;
mod tenants;
pub mod time;
mod tokenizer;
mod wal;

#[cfg(test)]
mod tests;

pub use bulk::{Bulk, EventSource};
pub use error::SearchError;
pub use event::{valid_event_id, valid_tenant_id};
pub use index::{AcceptedEvent, Dropped, EventIndex, IngestOutcome, TenantUsage};
pub use options::IndexOptions;
pub use rollup::{EntityFacts, EventView, Fact, Leaf, Rollup, RollupHook, Stat};

/// Stellar Cyber's name for the security-event index.
pub const INDEX_NAME: &str = "aella-ser";

/// Whether a `/<index>/_search` path names the event index: `aella-ser`, `aella-ser-*`,
/// `aella-ser*` (any suffix), `events`, `*` or `_all`. A comma-separated list is accepted when
/// every part is.
pub fn is_known_index(name: &str) -> bool {
    !name.is_empty()
        && name
            .split(',')
            .all(|part| matches!(part, "events" | "*" | "_all") || part.starts_with(INDEX_NAME))
}

#[cfg(test)]
mod index_name_tests {
    use super::is_known_index;

    #[test]
    fn known_index_names() {
        for ok in [
            "aella-ser",
            "aella-ser-*",
            "aella-ser*",
            "aella-ser-2024.05",
            "events",
            "*",
            "_all",
            "aella-ser,events",
        ] {
            assert!(is_known_index(ok), "{ok}");
        }
        for bad in [
            "",
            "aella",
            "alerts",
            "events-x",
            "aella-sea",
            "aella-ser,alerts",
            ",",
        ] {
            assert!(!is_known_index(bad), "{bad}");
        }
    }
}
