//! Online copies of the embedded SQLite files, for `stella backup`: SQLite's backup API, run in
//! one step so the copy is one read transaction's snapshot (in WAL mode the server's writers
//! never wait for it, and no write can restart it halfway, as one page batch at a time would
//! while the activity log writes every few milliseconds).

use crate::Result;
use std::path::{Path, PathBuf};

/// The SQLite files of a data directory, as `(name in the directory, path)`: the main database
/// and the activity log's own file. Missing files are left out (a PostgreSQL deployment).
pub fn sqlite_files(data_dir: &Path) -> Vec<(String, PathBuf)> {
    let main = data_dir.join("stella.db");
    let activity = crate::activity::sqlite_activity_path(&main);
    [main, activity]
        .into_iter()
        .filter(|p| p.exists())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            Some((name, p))
        })
        .collect()
}

/// Copies the live database at `src` to a new file `dst` (consistent as of one moment).
pub fn backup_sqlite(src: &Path, dst: &Path) -> Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    // Anything but Done (More, Busy, Locked: the server was writing) is tried again.
    let from = rusqlite::Connection::open_with_flags(
        src,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error)?;
    from.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sqlite_error)?;
    let mut to = rusqlite::Connection::open(dst).map_err(sqlite_error)?;
    {
        let backup = Backup::new(&from, &mut to).map_err(sqlite_error)?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            match backup.step(-1).map_err(sqlite_error)? {
                StepResult::Done => break,
                _ => {
                    if std::time::Instant::now() > deadline {
                        return Err(crate::StoreError::Io(std::io::Error::other(format!(
                            "{} stayed locked for a minute",
                            src.display()
                        ))));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
        }
    }
    // A plain rollback-journal file, complete in itself (no -wal beside it to carry).
    to.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sqlite_error)?;
    let ok: String = to
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(sqlite_error)?;
    if ok != "ok" {
        return Err(crate::StoreError::Io(std::io::Error::other(format!(
            "the copy of {} fails its integrity check: {ok}",
            src.display()
        ))));
    }
    Ok(())
}

fn sqlite_error(e: rusqlite::Error) -> crate::StoreError {
    crate::StoreError::Io(std::io::Error::other(e.to_string()))
}
