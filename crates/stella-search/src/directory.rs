//! tantivy's `MmapDirectory`, except that files being written are handed to the kernel for
//! writeback as they grow instead of all at once when they are closed.
//!
//! tantivy fsyncs every segment file as it closes it, and a commit closes them all. With the
//! default writeback (dirty pages wait up to 30 s) each commit then waits for every byte indexed
//! since the last one to reach the disk, while no document is being indexed: ingest measured a
//! third of both cores idle for half a second out of every three. Here every few megabytes
//! written, the file is also handed to a [`Writeback`] thread that fsyncs it in the background:
//! the I/O is spread over the indexing, and the closing fsync only waits for the tail.
//! Durability is unchanged: the closing fsync is still what tantivy relies on.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    AntiCallToken, Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, TerminatingWrite,
    WatchCallback, WatchHandle, WritePtr,
};

/// Bytes written to a file between two writeback requests.
const WRITEBACK_EVERY: u64 = 4 * 1024 * 1024;

/// A thread that fsyncs files handed to it, so writers never wait for the disk before their
/// final fsync. It stops when the last sender (directory or open file) is gone.
#[derive(Debug, Clone)]
pub(crate) struct Writeback {
    tx: Option<SyncSender<Arc<File>>>,
}

impl Writeback {
    pub fn start() -> Writeback {
        // A few files at most: if the thread is behind, skipping a request costs nothing but
        // a longer final fsync.
        let (tx, rx) = sync_channel::<Arc<File>>(8);
        let spawned = std::thread::Builder::new()
            .name("stella-writeback".into())
            .spawn(move || {
                while let Ok(file) = rx.recv() {
                    // Only a head start: the writer's own closing fsync reports real errors.
                    let _ = file.sync_data();
                }
            });
        match spawned {
            Ok(_) => Writeback { tx: Some(tx) },
            Err(e) => {
                tracing::warn!(error = %e, "could not start the writeback thread");
                Writeback { tx: None }
            }
        }
    }

    fn request(&self, file: &Arc<File>) {
        if let Some(tx) = &self.tx {
            let _ = tx.try_send(Arc::clone(file));
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct StreamingDirectory {
    root: PathBuf,
    inner: MmapDirectory,
    writeback: Writeback,
}

impl StreamingDirectory {
    pub fn open(
        root: &Path,
        writeback: Writeback,
    ) -> Result<StreamingDirectory, tantivy::TantivyError> {
        Ok(StreamingDirectory {
            root: root.to_owned(),
            inner: MmapDirectory::open(root)?,
            writeback,
        })
    }
}

impl Directory for StreamingDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.inner.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    /// As `MmapDirectory::open_write`: a new file (never an existing one), durable once the
    /// writer is terminated and the directory synced.
    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.root.join(path))
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    OpenWriteError::FileAlreadyExists(path.to_path_buf())
                } else {
                    OpenWriteError::wrap_io_error(e, path.to_path_buf())
                }
            })?;
        Ok(BufWriter::new(Box::new(StreamingFile {
            file: Arc::new(file),
            writeback: self.writeback.clone(),
            since_request: 0,
        })))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.inner.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.inner.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.inner.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}

struct StreamingFile {
    file: Arc<File>,
    writeback: Writeback,
    /// Bytes written since the file was last handed to the writeback thread.
    since_request: u64,
}

impl Write for StreamingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (&*self.file).write(buf)?;
        self.since_request += n as u64;
        if self.since_request >= WRITEBACK_EVERY {
            self.writeback.request(&self.file);
            self.since_request = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TerminatingWrite for StreamingFile {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_files_read_back_and_are_never_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StreamingDirectory::open(tmp.path(), Writeback::start()).unwrap();
        let path = Path::new("a.bin");
        let data: Vec<u8> = (0..(WRITEBACK_EVERY as usize * 2 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        let mut w = dir.open_write(path).unwrap();
        w.write_all(&data).unwrap();
        w.terminate().unwrap();
        let read = dir.open_read(path).unwrap().read_bytes().unwrap();
        assert_eq!(read.as_slice(), &data[..]);
        assert!(matches!(
            dir.open_write(path),
            Err(OpenWriteError::FileAlreadyExists(_))
        ));
    }
}
