//! The tantivy schema shared by every tenant index.
//!
//! | field       | what                                                                    |
//! |-------------|-------------------------------------------------------------------------|
//! | `_id`       | event id, raw, indexed + stored                                          |
//! | `timestamp` | date (ms precision), fast only: ranges, sorting and `date_histogram`     |
//! | `_source`   | the event's JSON bytes exactly as written to the WAL, stored             |
//! | `event`     | the event as a JSON field: every string leaf analysed into the inverted index (with positions, for `match`/`match_phrase`/`query_string`), numbers and booleans as typed terms; and in the columnar fast field every number, boolean and raw string of at most 256 characters (like an Elasticsearch `keyword` with `ignore_above: 256`) for `range`, `exists`, exact `term`, sorting and aggregations |
//!
//! One JSON field instead of a `text` and a `keyword` one: each leaf is walked and each string
//! tokenised once at ingest, which is most of the indexing cost. Exact string matching then
//! combines the two structures (see `exec/keyword.rs`). The event's `timestamp`/`@timestamp`
//! go to the date field only.

use tantivy::schema::{
    BytesOptions, DateOptions, DateTimePrecision, Field, IndexRecordOption, JsonObjectOptions,
    Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::Index;

use crate::tokenizer::{self, KeywordNormalizer, StandardTokenizer};

pub(crate) const ID: &str = "_id";
pub(crate) const TIMESTAMP: &str = "timestamp";
pub(crate) const SOURCE: &str = "_source";
pub(crate) const EVENT: &str = "event";

#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub timestamp: Field,
    pub source: Field,
    pub event: Field,
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = b.add_text_field(
        ID,
        TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic)
                    .set_fieldnorms(false),
            )
            .set_stored(),
    );
    let timestamp = b.add_date_field(
        TIMESTAMP,
        DateOptions::default()
            .set_fast()
            .set_precision(DateTimePrecision::Milliseconds),
    );
    let source = b.add_bytes_field(SOURCE, BytesOptions::default().set_stored());
    let event = b.add_json_field(
        EVENT,
        JsonObjectOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer::NAME)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
            .set_fast(Some(tokenizer::KEYWORD))
            .set_expand_dots_enabled(),
    );
    (
        b.build(),
        Fields {
            id,
            timestamp,
            source,
            event,
        },
    )
}

/// Tokenizers are not persisted in the index, so every opened index needs this (before a
/// writer is made: the fast-field one is looked up then).
pub(crate) fn register_tokenizers(index: &Index) {
    index.tokenizers().register(
        tokenizer::NAME,
        TextAnalyzer::from(StandardTokenizer::default()),
    );
    index.fast_field_tokenizer().register(
        tokenizer::KEYWORD,
        TextAnalyzer::from(KeywordNormalizer::default()),
    );
}
