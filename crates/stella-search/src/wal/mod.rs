//! The write-ahead log: every accepted batch is appended and fsynced before `ingest` returns,
//! then handed to the indexer thread. Tantivy commits are only periodic, so this is what makes
//! an acknowledged event survive a crash.
//!
//! Group commit: a caller writes its record under the lock, then either becomes the one that
//! fsyncs (everything written so far) or waits for the fsync in flight to cover it. Records go
//! to the indexer in sequence order, and only once durable, so the index never holds an event
//! that replay might not know about.

pub(crate) mod recovery;
mod releaser;
pub(crate) mod segment;

use releaser::Releaser;

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::error::SearchError;
use crate::log::record::{RecordBuf, RECORD_SPLIT_BYTES};
use crate::log::{Committed, EventLog, IndexOp, Msg};

/// A segment no longer written to: it holds records up to (not including) `end_lsn`.
#[derive(Debug, Clone)]
pub(crate) struct Sealed {
    pub end_lsn: u64,
    pub path: PathBuf,
}

/// The sealed segments, shared with the indexer, which deletes them once committed. Kept apart
/// from the append state so the indexer never waits on a lock whose holder may be blocked
/// sending to the indexer.
pub(crate) struct SealedSegments {
    dir: PathBuf,
    list: Mutex<Vec<Sealed>>,
}

impl SealedSegments {
    pub fn new(dir: PathBuf, list: Vec<Sealed>) -> SealedSegments {
        SealedSegments {
            dir,
            list: Mutex::new(list),
        }
    }

    /// Deletes sealed segments whose every record is committed in the tenant indexes.
    pub fn release_upto(&self, committed_lsn: u64) {
        // A backup in progress (another process) needs the log past the commits it copied:
        // segments wait until it is done (the next commit releases them).
        if held(&self.dir, std::time::SystemTime::now()) {
            return;
        }
        let mut list = self.list.lock();
        let mut removed = false;
        list.retain(|s| {
            if s.end_lsn <= committed_lsn + 1 {
                if let Err(e) = std::fs::remove_file(&s.path) {
                    tracing::warn!(path = %s.path.display(), error = %e, "could not delete WAL segment");
                }
                removed = true;
                false
            } else {
                true
            }
        });
        drop(list);
        if removed {
            // Not needed for correctness (replay skips committed records), only to make the
            // space reclaim stick.
            let _ = segment::sync_dir(&self.dir);
        }
    }
}

/// The file a running `stella backup` keeps fresh in the log directory (see `backup.rs`).
pub const HOLD_FILE: &str = "BACKUP-HOLD";
/// A hold not refreshed for this long is a backup that died: ignored, so a crashed backup
/// cannot keep the log from being released (and fill the disk).
pub const HOLD_STALE: std::time::Duration = std::time::Duration::from_secs(120);

/// Whether a live backup holds the log in `dir` at `now`.
fn held(dir: &Path, now: std::time::SystemTime) -> bool {
    std::fs::metadata(dir.join(HOLD_FILE))
        .and_then(|m| m.modified())
        .is_ok_and(|t| now.duration_since(t).map_or(true, |age| age < HOLD_STALE))
}

pub(crate) struct Wal {
    dir: PathBuf,
    segment_bytes: u64,
    state: Mutex<State>,
    synced: Condvar,
    sealed: Arc<SealedSegments>,
    sink: SyncSender<Msg>,
}

struct State {
    file: Arc<File>,
    file_first_lsn: u64,
    file_len: u64,
    next_lsn: u64,
    written_lsn: u64,
    synced_lsn: u64,
    syncing: bool,
    /// Written but not yet known durable, in lsn order.
    pending: VecDeque<IndexOp>,
    /// After a failed write or fsync nothing more is accepted: whether the bytes reached the
    /// disk is unknown, and retrying an fsync can falsely succeed.
    failed: Option<String>,
}

impl Wal {
    /// Starts a fresh active segment at `next_lsn`; `sealed` are the older segments still
    /// needed for replay.
    pub fn start(
        dir: PathBuf,
        segment_bytes: u64,
        next_lsn: u64,
        sealed: Arc<SealedSegments>,
        sink: SyncSender<Msg>,
    ) -> Result<Wal, SearchError> {
        let file = segment::create(&dir, next_lsn).map_err(|e| {
            SearchError::io(format!("creating WAL segment in {}", dir.display()), e)
        })?;
        Ok(Wal {
            dir,
            segment_bytes,
            state: Mutex::new(State {
                file: Arc::new(file),
                file_first_lsn: next_lsn,
                file_len: segment::MAGIC.len() as u64,
                next_lsn,
                written_lsn: next_lsn - 1,
                synced_lsn: next_lsn - 1,
                syncing: false,
                pending: VecDeque::new(),
                failed: None,
            }),
            synced: Condvar::new(),
            sealed,
            sink,
        })
    }

    /// Appends the records, returns once they are on disk (and queued for indexing).
    fn append_durably(&self, records: Vec<RecordBuf>) -> Result<(), SearchError> {
        let mut st = self.state.lock();
        check_failed(&st)?;
        for mut rec in records {
            if st.file_len + rec.len() as u64 > self.segment_bytes
                && st.file_len > segment::MAGIC.len() as u64
            {
                self.rotate(&mut st)?;
            }
            let lsn = st.next_lsn;
            rec.seal(lsn);
            if let Err(e) = (&*st.file).write_all(&rec.buf) {
                return Err(fail(&mut st, format!("WAL write failed: {e}")));
            }
            st.next_lsn += 1;
            st.file_len += rec.len() as u64;
            st.written_lsn = lsn;
            st.pending.push_back(IndexOp::from_record(lsn, rec));
        }
        let mine = st.written_lsn;
        loop {
            check_failed(&st)?;
            if st.synced_lsn >= mine {
                return Ok(());
            }
            if st.syncing {
                self.synced.wait(&mut st);
                continue;
            }
            st.syncing = true;
            let target = st.written_lsn;
            let file = Arc::clone(&st.file);
            let res = MutexGuard::unlocked(&mut st, || file.sync_data());
            st.syncing = false;
            match res {
                Ok(()) => {
                    st.synced_lsn = st.synced_lsn.max(target);
                    self.hand_off(&mut st);
                }
                Err(e) => {
                    fail(&mut st, format!("WAL fsync failed: {e}"));
                }
            }
            self.synced.notify_all();
        }
    }

    /// Seals the active segment (fsynced first, so only the last segment can have a torn tail)
    /// and starts a new one.
    fn rotate(&self, st: &mut State) -> Result<(), SearchError> {
        if let Err(e) = st.file.sync_data() {
            return Err(fail(st, format!("WAL fsync failed: {e}")));
        }
        st.synced_lsn = st.written_lsn;
        let file = match segment::create(&self.dir, st.next_lsn) {
            Ok(f) => f,
            Err(e) => return Err(fail(st, format!("creating WAL segment failed: {e}"))),
        };
        self.sealed.list.lock().push(Sealed {
            end_lsn: st.next_lsn,
            path: self.dir.join(segment::file_name(st.file_first_lsn)),
        });
        st.file = Arc::new(file);
        st.file_first_lsn = st.next_lsn;
        st.file_len = segment::MAGIC.len() as u64;
        self.hand_off(st);
        self.synced.notify_all();
        Ok(())
    }

    /// Sends durable records to the indexer, in order. Blocks while the indexer's queue is full,
    /// which is the backpressure on ingest.
    fn hand_off(&self, st: &mut State) {
        while st.pending.front().is_some_and(|op| op.lsn <= st.synced_lsn) {
            let Some(op) = st.pending.pop_front() else {
                break;
            };
            if self.sink.send(Msg::Apply(op)).is_err() {
                fail(st, "the indexer thread has stopped".into());
                return;
            }
        }
    }
}

impl EventLog for Wal {
    fn append(&self, records: Vec<RecordBuf>) -> Result<(), SearchError> {
        self.append_durably(records)
    }

    fn record_split_bytes(&self) -> usize {
        RECORD_SPLIT_BYTES
    }

    fn acknowledged(&self) -> u64 {
        self.state.lock().synced_lsn
    }

    /// One server's log: a record is handed to the indexer as it is acknowledged.
    fn caught_up(&self, _within: std::time::Duration) -> Result<(), SearchError> {
        Ok(())
    }

    fn stop(&self, why: &str) {
        let mut st = self.state.lock();
        if st.failed.is_none() {
            st.failed = Some(why.to_owned());
        }
    }
}

/// The WAL's side of a commit: segments whose records are all committed are deleted (off the
/// indexer thread for background commits, see `releaser.rs`).
pub(crate) struct WalCommits {
    sealed: Arc<SealedSegments>,
    releaser: Releaser,
}

impl WalCommits {
    pub fn new(sealed: Arc<SealedSegments>) -> WalCommits {
        WalCommits {
            releaser: Releaser::start(Arc::clone(&sealed)),
            sealed,
        }
    }
}

impl Committed for WalCommits {
    fn committed(&mut self, lsn: u64, wait: bool) {
        if wait {
            self.sealed.release_upto(lsn);
        } else {
            self.releaser.release_upto(lsn);
        }
    }

    fn finish(&mut self) {
        self.releaser.finish();
    }
}

fn check_failed(st: &State) -> Result<(), SearchError> {
    match &st.failed {
        Some(why) => Err(SearchError::Closed(why.clone())),
        None => Ok(()),
    }
}

fn fail(st: &mut State, why: String) -> SearchError {
    tracing::error!(reason = %why, "write-ahead log stopped");
    // Records not yet durable are dropped from the hand-off: their callers get this error.
    st.pending.clear();
    if st.failed.is_none() {
        st.failed = Some(why.clone());
    }
    SearchError::Closed(why)
}
