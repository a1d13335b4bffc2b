//! The event log: where an acknowledged event lives until this server's index has committed
//! it, and what feeds the indexer. Two implementations of one interface:
//! - `crate::wal`, the embedded default: fsynced segments in the data directory, acknowledged
//!   once on disk, replayed into the index on start, deleted once committed.
//! - `crate::nats`, for several servers: a NATS JetStream stream, acknowledged once JetStream
//!   has stored the batch. Every server consumes the whole stream into its own index, starting
//!   after the position it last committed, so a server that was down catches up and a new one
//!   builds its index from the stream.
//!
//! The indexer knows only this module: it applies [`Msg::Apply`] in position order and tells
//! the log what it committed through [`Committed`]; the logs know nothing of the indexer.

pub(crate) mod record;

use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;

use crate::error::SearchError;
use record::{DocMeta, Kind, RecordBuf};

/// Where acknowledged records are kept and handed to the indexer.
pub(crate) trait EventLog: Send + Sync {
    /// Stores the records; returns once they are acknowledged (durable, as this log defines
    /// it). The log hands them to the indexer in position order.
    fn append(&self, records: Vec<RecordBuf>) -> Result<(), SearchError>;

    /// Records are cut at about this size (one more event may follow the cut).
    fn record_split_bytes(&self) -> usize;

    /// The last position acknowledged to a writer, as far as this server knows without
    /// asking anyone (the index lag is measured against it).
    fn acknowledged(&self) -> u64;

    /// Returns once this server's indexer has been handed every record acknowledged, by any
    /// server, before the call: what `_refresh` waits for (read-your-writes across servers).
    fn caught_up(&self, within: Duration) -> Result<(), SearchError>;

    /// Refuses further appends (after `close`).
    fn stop(&self, why: &str);

    /// Tests: holds back (or lets go of) what a shared log hands this server's indexer, as a
    /// slow or cut-off server would. The embedded log hands over as it acknowledges.
    fn pause(&self, _paused: bool) {}
}

/// What the indexer tells its log after each commit.
pub(crate) trait Committed: Send {
    /// Every record up to `lsn` is committed to the index. `wait`: finish what follows (such
    /// as deleting WAL segments) before returning, as `refresh` and `close` need.
    fn committed(&mut self, lsn: u64, wait: bool);

    /// The indexer is stopping: finish background work.
    fn finish(&mut self);
}

/// Replay at start: the log offers each record it kept, the index takes what it lacks.
pub(crate) trait Replay {
    /// Whether `tenant`'s index lacks the record at `lsn`.
    fn needs(&mut self, tenant: &str, lsn: u64) -> Result<bool, SearchError>;
    fn apply(&mut self, op: IndexOp);
    /// A record the index already has.
    fn skip(&mut self, lsn: u64);
}

pub(crate) type Reply = SyncSender<Result<(), String>>;

/// The indexer's input, in order.
pub(crate) enum Msg {
    Apply(IndexOp),
    /// Commit everything applied so far and reload the readers.
    Refresh(Reply),
    /// Retention: drop a tenant's partitions of days before `before` (at most `max`);
    /// answers (partitions, events) removed.
    Drop {
        tenant: String,
        before: crate::tenants::Day,
        max: usize,
        reply: SyncSender<Result<(usize, u64), String>>,
    },
    /// Commit, then stop.
    Close(Reply),
    /// Stop without committing, as a crash would (tests only).
    #[cfg(test)]
    Abandon(Reply),
    /// Close idle writers and run every final merge to its end now (tests only).
    #[cfg(test)]
    FinishMerges(Reply),
    /// Close idle writers and start the next final merge, as the housekeeping tick does.
    #[cfg(test)]
    StartMerges(Reply),
}

/// An acknowledged record on its way into the index.
pub(crate) struct IndexOp {
    /// Its position in the log: WAL sequence number, or JetStream stream sequence.
    pub lsn: u64,
    pub kind: Kind,
    pub tenant: Arc<str>,
    pub docs: Vec<DocMeta>,
}

impl IndexOp {
    pub fn from_record(lsn: u64, rec: RecordBuf) -> IndexOp {
        IndexOp {
            lsn,
            kind: rec.kind,
            tenant: rec.tenant,
            docs: rec.docs,
        }
    }
}
