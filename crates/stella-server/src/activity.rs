//! The user activity log's writer. Requests hand their record to a bounded queue and move on;
//! one task redacts and writes them in batches. When the queue is full, requests wait rather
//! than drop records, and a graceful shutdown drains the queue before the database closes.

use crate::metrics::Metrics;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use stella_core::redact::{redact_body_of, redact_pairs};
use stella_store::{ActivityRecord, Database};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

/// A call as the gateway saw it, before redaction (done off the request path).
#[derive(Debug)]
pub struct PendingActivity {
    pub ts: i64,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub tenant_id: Option<String>,
    pub method: String,
    pub path: String,
    /// The matched route, which decides the write-only members to keep out of the log.
    pub route: Option<String>,
    pub query: Option<String>,
    pub status: u16,
    pub client_ip: String,
    pub content_type: Option<String>,
    pub body: Bytes,
    /// Set (to the body's size) when the body was too large to keep; `body` is then empty.
    pub oversized: Option<usize>,
    pub duration_us: i64,
    pub trace_id: String,
}

enum Msg {
    /// A record, with its share of the queued-body budget (returned once it is redacted).
    Record(Box<PendingActivity>, Option<OwnedSemaphorePermit>),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone, Debug)]
pub struct ActivityRecorder {
    tx: mpsc::Sender<Msg>,
    /// Request bodies waiting in the queue, in KiB: the queue holds at most this much of them
    /// whatever its length (65,536 records of 256 KiB would be 16 GiB).
    queued_bytes: Arc<Semaphore>,
}

/// The queued-body budget.
const QUEUED_BODY_KIB: usize = 64 * 1024;

const BATCH: usize = 1000;

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

impl ActivityRecorder {
    pub fn start(db: Database, capacity: usize, body_limit: usize, metrics: Arc<Metrics>) -> Self {
        let (tx, rx) = mpsc::channel(capacity);
        tokio::spawn(writer(db, rx, body_limit, metrics));
        Self {
            tx,
            queued_bytes: Arc::new(Semaphore::new(QUEUED_BODY_KIB)),
        }
    }

    pub async fn record(&self, a: PendingActivity) {
        // Waiting here (queue or its body budget full) slows requests instead of losing
        // records.
        let kib = a.body.len().div_ceil(1024).min(QUEUED_BODY_KIB) as u32;
        let permit = if kib == 0 {
            None
        } else {
            self.queued_bytes.clone().acquire_many_owned(kib).await.ok()
        };
        if self
            .tx
            .send(Msg::Record(Box::new(a), permit))
            .await
            .is_err()
        {
            tracing::error!("activity log writer has stopped; a record was not written");
        }
    }

    /// Waits until everything queued before this call is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

fn finish(p: PendingActivity, body_limit: usize) -> ActivityRecord {
    ActivityRecord {
        id: 0,
        ts: p.ts,
        user_id: p.user_id,
        email: p.email,
        tenant_id: p.tenant_id,
        method: p.method,
        path: p.path,
        query: p.query.map(|q| redact_pairs(&q)),
        status: i64::from(p.status),
        client_ip: Some(p.client_ip),
        body: match p.oversized {
            Some(n) => Some(format!(
                "[{n} bytes of {}, too large to record]",
                p.content_type.as_deref().unwrap_or("unknown type")
            )),
            None => redact_body_of(
                p.content_type.as_deref(),
                &p.body,
                body_limit,
                p.route
                    .as_deref()
                    .map(crate::routes::write_only_fields)
                    .unwrap_or_default(),
            ),
        },
        duration_us: p.duration_us,
        trace_id: p.trace_id,
    }
}

async fn write(db: &Database, batch: &mut Vec<ActivityRecord>, metrics: &Metrics) {
    if batch.is_empty() {
        return;
    }
    let records = Arc::new(std::mem::take(batch));
    for attempt in 0..5u32 {
        match db.insert_activity(records.clone()).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, attempt, records = records.len(), "activity log write failed; retrying");
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
        }
    }
    tracing::error!(
        records = records.len(),
        "activity log write failed repeatedly; records lost"
    );
    metrics.activity_lost.inc_by(records.len() as u64);
}

/// How long the writer gathers records after the first one before committing. Each commit
/// appends the touched table and index pages to the WAL and syncs, whatever the batch size,
/// so committing per request would cost a page write per request; this window bounds commits
/// to about fifty a second under load. A flush (graceful shutdown, tests) commits at once.
const GATHER: Duration = Duration::from_millis(20);

async fn writer(
    db: Database,
    mut rx: mpsc::Receiver<Msg>,
    body_limit: usize,
    metrics: Arc<Metrics>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let take = |msg: Msg,
                batch: &mut Vec<ActivityRecord>,
                waiting: &mut Vec<oneshot::Sender<()>>| match msg {
        Msg::Record(p, _permit) => batch.push(finish(*p, body_limit)),
        Msg::Flush(done) => waiting.push(done),
    };
    while let Some(first) = rx.recv().await {
        take(first, &mut batch, &mut waiting);
        // One timer per batch: while the writer sleeps, senders only enqueue (nothing to wake),
        // so a busy server pays neither a task wake-up nor a timer per record.
        if waiting.is_empty() {
            tokio::time::sleep(GATHER).await;
        }
        while let Ok(msg) = rx.try_recv() {
            take(msg, &mut batch, &mut waiting);
            if batch.len() >= BATCH {
                write(&db, &mut batch, &metrics).await;
            }
        }
        write(&db, &mut batch, &metrics).await;
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}
