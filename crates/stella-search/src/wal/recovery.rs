//! Startup replay: every WAL record newer than its tenant's last commit is indexed again, so
//! whatever `ingest`/`replace` acknowledged before a crash is back.

use std::path::Path;

use crate::error::SearchError;
use crate::log::record::{to_op, Decoded};
use crate::log::Replay;
use crate::wal::segment::{self, End};
use crate::wal::Sealed;

pub(crate) struct Recovered {
    /// Sequence number for the next record.
    pub next_lsn: u64,
    /// Segments kept (they become the sealed list of the new WAL).
    pub sealed: Vec<Sealed>,
    pub records_replayed: usize,
}

pub(crate) fn replay(wal_dir: &Path, indexer: &mut dyn Replay) -> Result<Recovered, SearchError> {
    let io = |what: &str, e| SearchError::io(format!("{what} in {}", wal_dir.display()), e);
    let mut segs = segment::list(wal_dir).map_err(|e| io("listing WAL segments", e))?;
    let mut next_lsn: u64 = 1;
    let mut replayed = 0usize;
    let mut kept: Vec<(u64, std::path::PathBuf)> = Vec::new();
    let count = segs.len();
    for (i, seg) in segs.drain(..).enumerate() {
        let is_last = i + 1 == count;
        if seg.first_lsn < next_lsn && i > 0 {
            return Err(SearchError::Corrupt(format!(
                "{} overlaps the segment before it",
                seg.path.display()
            )));
        }
        let mut expected = seg.first_lsn;
        let end = segment::read(&seg.path, |rec: Decoded| {
            if rec.lsn != expected {
                return Err(SearchError::Corrupt(format!(
                    "{}: record {} found where {expected} was expected",
                    seg.path.display(),
                    rec.lsn
                )));
            }
            expected += 1;
            if indexer.needs(&rec.tenant, rec.lsn)? {
                replayed += 1;
                let lsn = rec.lsn;
                indexer.apply(to_op(rec, lsn));
            } else {
                indexer.skip(rec.lsn);
            }
            Ok(())
        })?
        .map_err(|e| io("reading a WAL segment", e))?;
        let had_records = expected > seg.first_lsn;
        next_lsn = next_lsn.max(expected);
        match end {
            End::Clean => {}
            End::Torn { valid_len, reason } if is_last => {
                // The crash interrupted this write, so its caller was never told it succeeded.
                tracing::warn!(path = %seg.path.display(), valid_len, %reason, "ignoring torn WAL tail");
                if valid_len == 0 {
                    std::fs::remove_file(&seg.path).map_err(|e| io("removing a WAL segment", e))?;
                    continue;
                }
                segment::truncate(&seg.path, valid_len)
                    .map_err(|e| io("truncating a WAL segment", e))?;
            }
            End::Torn { valid_len, reason } => {
                return Err(SearchError::Corrupt(format!(
                    "{} is damaged at byte {valid_len} ({reason}) but is not the newest segment; \
                     move it away to start without the events it holds",
                    seg.path.display()
                )));
            }
        }
        if !had_records && is_last {
            // An empty newest segment would collide with the one about to be created.
            std::fs::remove_file(&seg.path).map_err(|e| io("removing a WAL segment", e))?;
            continue;
        }
        kept.push((seg.first_lsn, seg.path));
    }
    let mut sealed = Vec::with_capacity(kept.len());
    for (i, (_, path)) in kept.iter().enumerate() {
        let end_lsn = kept.get(i + 1).map_or(next_lsn, |(next, _)| *next);
        sealed.push(Sealed {
            end_lsn,
            path: path.clone(),
        });
    }
    Ok(Recovered {
        next_lsn,
        sealed,
        records_replayed: replayed,
    })
}
