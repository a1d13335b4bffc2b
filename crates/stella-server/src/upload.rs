//! Uploads: request bodies too large to hold in memory (an image tarball, a feed archive, a
//! large SBOM). The gateway does not buffer the routes listed in [`UPLOAD_ROUTES`]; their
//! handlers stream the body to a spool file within `max_upload_bytes` and
//! `upload_read_timeout_secs`, hashing it on the way. The activity log records an upload by
//! its digest and size, never its bytes: the handler hands them to the gateway as an
//! [`UploadLog`] response extension.

use crate::problem::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::response::Response;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::time::Duration;
use stella_service::ServiceError;

/// Routes whose body is streamed to a spool file by the handler.
pub const UPLOAD_ROUTES: &[&str] = &["/scan", "/feed/imports"];

/// How much of a refused upload's body is read and thrown away before the refusal is sent,
/// and for how long at most. A server that answers (401, 403, 429, 400) and closes while the
/// client is still writing makes the client's next write fail; most HTTP clients (reqwest
/// among them) then report a broken pipe instead of the answer, so `santech` could not wait
/// out a 429 it never saw. Reading the rest first, within these bounds, lets bodies of SBOM,
/// policy and small archive sizes get their answer; larger ones are cut off as before.
const DRAIN_BYTES: u64 = 8 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads and discards what is left of `body`, within [`DRAIN_BYTES`] and [`DRAIN_TIME`].
pub async fn drain(
    body: impl futures::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin,
) {
    let mut body = body;
    let mut read: u64 = 0;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = body.next().await {
            read += chunk.len() as u64;
            if read > DRAIN_BYTES {
                break;
            }
        }
    })
    .await;
}

/// A request body the handler may drop unread: what it leaves is handed back through
/// [`Returned`], so the gateway can [`drain`] it before sending a refusal.
pub fn returnable(body: Body) -> (Body, Returned) {
    let back = Returned(std::sync::Arc::new(parking_lot::Mutex::new(None)));
    let stream = ReturnableStream {
        inner: Some(body.into_data_stream()),
        back: back.clone(),
    };
    (Body::from_stream(stream), back)
}

/// What a handler left of a [`returnable`] body.
#[derive(Clone)]
pub struct Returned(std::sync::Arc<parking_lot::Mutex<Option<axum::body::BodyDataStream>>>);

impl Returned {
    /// Drains what the handler left unread, if anything.
    pub async fn drain(&self) {
        let left = self.0.lock().take();
        if let Some(stream) = left {
            drain(stream).await;
        }
    }
}

struct ReturnableStream {
    /// `None` once the body ended (nothing left to give back).
    inner: Option<axum::body::BodyDataStream>,
    back: Returned,
}

impl futures::Stream for ReturnableStream {
    type Item = Result<axum::body::Bytes, axum::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let Some(inner) = self.inner.as_mut() else {
            return std::task::Poll::Ready(None);
        };
        let next = inner.poll_next_unpin(cx);
        if let std::task::Poll::Ready(None) = next {
            self.inner = None;
        }
        next
    }
}

impl Drop for ReturnableStream {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            *self.back.0.lock() = Some(inner);
        }
    }
}

/// What the activity log keeps of an upload.
#[derive(Debug, Clone)]
pub struct UploadLog {
    pub digest: String,
    pub size: u64,
}

/// A spooled body: deleted when dropped.
#[derive(Debug)]
pub struct Upload {
    pub file: tempfile::NamedTempFile,
    /// `sha256:<hex>`.
    pub digest: String,
    pub size: u64,
    /// The first bytes, to tell a JSON document from an archive.
    pub head: Vec<u8>,
}

impl Upload {
    pub fn log(&self) -> UploadLog {
        UploadLog {
            digest: self.digest.clone(),
            size: self.size,
        }
    }

    /// The whole body in memory, when it is no larger than `limit` (SBOM and JSON bodies).
    pub fn read_all(&self, limit: usize) -> Result<Vec<u8>, ApiError> {
        if self.size > limit as u64 {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        std::fs::read(self.file.path())
            .map_err(|e| ApiError::Service(ServiceError::Internal(format!("spooled body: {e}"))))
    }
}

/// Adds the upload's log entry to a response.
pub fn logged(mut response: Response, upload: Option<&Upload>) -> Response {
    if let Some(u) = upload {
        response.extensions_mut().insert(u.log());
    }
    response
}

/// Held image uploads (`image-*.tar`) older than this are orphans: their scan's job ran out
/// of claims long ago on whichever server took it over.
const HELD_IMAGE_MAX_AGE: Duration = Duration::from_secs(86_400);

/// Clears what an earlier process left in the spool when it stopped without cleaning up (a
/// crash, a kill): uploads it was receiving and registry pulls (`.tmp*`), and held image
/// uploads of queued scans older than [`HELD_IMAGE_MAX_AGE`]. Younger held uploads stay: the
/// scan's job is claimed again when its lease runs out and finds its file. Runs before the
/// server serves, so nothing of this process is touched.
pub fn clean_spool(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        let stale = name.starts_with(".tmp")
            || (name.starts_with("image-")
                && e.metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age > HELD_IMAGE_MAX_AGE));
        if !stale {
            continue;
        }
        let path = e.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Ok(()) => tracing::info!(path = %path.display(), "removed a stale spool entry"),
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "cannot remove a stale spool entry")
            }
        }
    }
}

const HEAD_BYTES: usize = 1024;

/// Streams `body` to a spool file, within the upload bounds.
pub async fn spool(app: &AppState, body: Body) -> Result<Upload, ApiError> {
    let limit = app.config.max_upload_bytes;
    let dir = app.config.spool_dir();
    std::fs::create_dir_all(&dir)
        .map_err(|e| ApiError::Service(ServiceError::Internal(format!("spool directory: {e}"))))?;
    let mut file = tempfile::NamedTempFile::new_in(&dir)
        .map_err(|e| ApiError::Service(ServiceError::Internal(format!("spool file: {e}"))))?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    let secs = app.config.upload_read_timeout_secs;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut stream = body.into_data_stream();
    loop {
        let next = tokio::time::timeout_at(deadline, stream.next()).await;
        let chunk = match next {
            Err(_) => return Err(ApiError::BodyTimeout { ms: secs * 1000 }),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ApiError::BadRequest(format!(
                    "could not read the request body: {e}"
                )))
            }
            Ok(Some(Ok(c))) => c,
        };
        size += chunk.len() as u64;
        if size > limit {
            return Err(ApiError::PayloadTooLarge {
                limit: limit as usize,
            });
        }
        if head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        // Writes of a chunk at a time (tens of KiB) to the page cache: not worth a thread hop.
        file.as_file_mut()
            .write_all(&chunk)
            .map_err(|e| ApiError::Service(ServiceError::Internal(format!("spool file: {e}"))))?;
    }
    file.as_file_mut()
        .flush()
        .map_err(|e| ApiError::Service(ServiceError::Internal(format!("spool file: {e}"))))?;
    Ok(Upload {
        file,
        digest: format!("sha256:{}", hex::encode(hasher.finalize())),
        size,
        head,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn clean_spool_removes_leftovers_and_old_held_images_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p(".tmpUPLOAD"), b"half an upload").unwrap();
        std::fs::create_dir(p(".tmpPULL")).unwrap();
        std::fs::write(p(".tmpPULL/blob"), b"layer").unwrap();
        std::fs::write(p("image-new.tar"), b"queued").unwrap();
        let old = std::fs::File::create(p("image-old.tar")).unwrap();
        old.set_modified(std::time::SystemTime::now() - Duration::from_secs(2 * 86_400))
            .unwrap();
        std::fs::write(p("other"), b"not ours to judge").unwrap();
        clean_spool(dir.path());
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["image-new.tar", "other"]);
        clean_spool(&dir.path().join("absent"));
    }

    /// A body of `chunks` chunks of 64 KiB (endless with `None`), counting those pulled.
    fn counted(chunks: Option<usize>) -> (Body, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p = pulled.clone();
        let stream = futures::stream::unfold(0usize, move |i| {
            let p = p.clone();
            async move {
                if chunks.is_some_and(|n| i >= n) {
                    return None;
                }
                p.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Some((Ok::<_, std::io::Error>(vec![0u8; 64 << 10]), i + 1))
            }
        });
        (Body::from_stream(stream), pulled)
    }

    #[tokio::test]
    async fn what_a_handler_leaves_unread_is_drained_within_the_bound() {
        use std::sync::atomic::Ordering::SeqCst;
        // Read one chunk, drop the rest: the gateway drains it.
        let (body, pulled) = counted(Some(10));
        let (body, left) = returnable(body);
        let mut stream = body.into_data_stream();
        assert!(stream.next().await.is_some());
        drop(stream);
        assert_eq!(pulled.load(SeqCst), 1);
        left.drain().await;
        assert_eq!(pulled.load(SeqCst), 10);
        // Read to the end: nothing is handed back.
        let (body, pulled) = counted(Some(3));
        let (body, left) = returnable(body);
        let mut stream = body.into_data_stream();
        while stream.next().await.is_some() {}
        drop(stream);
        left.drain().await;
        assert_eq!(pulled.load(SeqCst), 3);
        // Endless: drained up to the bound, then left.
        let (body, pulled) = counted(None);
        let (_, left) = returnable(body);
        left.drain().await;
        let bound = (DRAIN_BYTES / (64 << 10)) as usize;
        assert_eq!(pulled.load(SeqCst), bound + 1);
    }
}
