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
}
