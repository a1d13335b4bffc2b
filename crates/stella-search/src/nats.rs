//! The event log on NATS JetStream, for several servers: an ingest is acknowledged once
//! JetStream has stored every record of it (with the stream's replication), and every server
//! consumes the whole stream into its own index.
//!
//! - One stream (`STELLA_EVENTS` unless configured), one subject per tenant
//!   (`STELLA_EVENTS.<tenant>`: the stream's own name as prefix, so deployments sharing one
//!   NATS never overlap), one record per message. A record is the same frame the WAL
//!   writes (checksummed); records are cut at half the server's message limit (1 MiB here),
//!   and one event may be at most that half, so a record always fits a message.
//! - A record's position is its stream sequence. The indexer commits positions like WAL
//!   sequence numbers, and after each commit the position is written to `nats.position` in
//!   the index directory; a server starts consuming after it (a new server, from the first
//!   message). The per-tenant commit payload makes records consumed twice harmless.
//! - Consuming runs on its own thread, with an ordered consumer (no acknowledgements, no
//!   server-side state to clean up), restarted after the last record handed over if the
//!   connection drops.
//! - `caught_up` (what `_refresh` calls) asks the stream for its last sequence and waits until
//!   this server has handed everything up to it to the indexer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull, consumer::DeliverPolicy, stream};
use futures::StreamExt;
use parking_lot::{Condvar, Mutex};

use crate::error::SearchError;
use crate::log::record::{decode_checked, to_op, RecordBuf};
use crate::log::{Committed, EventLog, Msg};

/// Where the stream is and what it is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// `nats://host:port`.
    pub url: String,
    /// The JetStream stream (created if missing); its subjects are `<stream>.<tenant id>`.
    pub stream: String,
    /// Stream replicas when the stream is created (a NATS cluster keeps this many copies).
    pub replicas: usize,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: "nats://127.0.0.1:4222".into(),
            stream: "STELLA_EVENTS".into(),
            replicas: 1,
        }
    }
}

/// How long an append waits for JetStream's acknowledgements before failing the ingest.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause before consuming again after the stream could not be read.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// A consumer that hands over nothing this long while the stream is known to hold newer
/// records is made again (after NATS restarts, the old one can stay silent).
const STALLED_AFTER: Duration = Duration::from_secs(2);
const POSITION_FILE: &str = "nats.position";

/// A connected stream, before an index consumes it.
pub struct NatsStream {
    config: NatsConfig,
    rt: tokio::runtime::Handle,
    js: jetstream::Context,
    max_payload: usize,
    last_sequence: u64,
}

impl std::fmt::Debug for NatsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsStream")
            .field("stream", &self.config.stream)
            .finish()
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> SearchError {
    SearchError::Unavailable(format!("{what}: {e}"))
}

impl NatsStream {
    /// Connects and makes sure the stream exists. Runs on the runtime that will carry the
    /// connection for as long as the index is open.
    pub async fn connect(config: NatsConfig) -> Result<NatsStream, SearchError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(config.url.as_str())
            .await
            .map_err(|e| unavailable("connecting to NATS", e))?;
        let max_payload = client.server_info().max_payload;
        let js = jetstream::new(client);
        let mut s = js
            .get_or_create_stream(stream::Config {
                name: config.stream.clone(),
                subjects: vec![format!("{}.>", config.stream)],
                storage: stream::StorageType::File,
                num_replicas: config.replicas.max(1),
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable("opening the JetStream stream", e))?;
        let last_sequence = s
            .info()
            .await
            .map_err(|e| unavailable("reading the JetStream stream", e))?
            .state
            .last_sequence;
        Ok(NatsStream {
            config,
            rt: tokio::runtime::Handle::current(),
            js,
            max_payload,
            last_sequence,
        })
    }

    /// The largest event this log can carry: half a message, as records are cut at half.
    pub fn max_doc_bytes(&self) -> usize {
        (self.max_payload / 2).saturating_sub(4096).max(1024)
    }

    /// Starts consuming after `position` into the indexer's queue.
    pub(crate) fn start(self, position: u64, sink: SyncSender<Msg>) -> Arc<NatsLog> {
        let log = Arc::new(NatsLog {
            fed: Mutex::new(position),
            fed_changed: Condvar::new(),
            known: AtomicU64::new(self.last_sequence.max(position)),
            stopped: Mutex::new(None),
            closing: Arc::new(AtomicBool::new(false)),
            paused: AtomicBool::new(false),
            stream: self,
        });
        let consumer = Arc::clone(&log);
        let started = std::thread::Builder::new()
            .name("stella-nats-consume".into())
            .spawn(move || consumer.consume(position, sink));
        if let Err(e) = started {
            log.stop(&format!("could not start the stream consumer: {e}"));
        }
        log
    }
}

pub(crate) struct NatsLog {
    stream: NatsStream,
    /// The last stream sequence handed to the indexer.
    fed: Mutex<u64>,
    fed_changed: Condvar,
    /// The last sequence known to be in the stream (own acks, and what consuming saw).
    known: AtomicU64,
    stopped: Mutex<Option<String>>,
    closing: Arc<AtomicBool>,
    /// Tests: hold records back from the indexer, as a slow server would.
    paused: AtomicBool,
}

impl NatsLog {
    fn subject(&self, tenant: &str) -> String {
        format!("{}.{tenant}", self.stream.config.stream)
    }

    /// The consumer thread: hands records to the indexer in stream order, forever (until the
    /// index closes), resuming after the last one handed over whenever reading fails.
    fn consume(&self, position: u64, sink: SyncSender<Msg>) {
        let mut next = position + 1;
        while !self.closing.load(Ordering::Acquire) {
            match self.stream.rt.block_on(self.consume_from(next, &sink)) {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, next, "reading the event stream failed; retrying");
                    next = *self.fed.lock() + 1;
                    std::thread::sleep(RETRY_AFTER);
                }
            }
        }
    }

    async fn consume_from(&self, start: u64, sink: &SyncSender<Msg>) -> Result<(), String> {
        let s = self
            .stream
            .js
            .get_stream(&self.stream.config.stream)
            .await
            .map_err(|e| e.to_string())?;
        let consumer = s
            .create_consumer(pull::OrderedConfig {
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: start,
                },
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
        let mut progressed = Instant::now();
        loop {
            // Checked between messages; close also stops the indexer, which ends the sends.
            let next = tokio::time::timeout(Duration::from_millis(500), messages.next()).await;
            if self.closing.load(Ordering::Acquire) {
                return Ok(());
            }
            while self.paused.load(Ordering::Acquire) && !self.closing.load(Ordering::Acquire) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let message = match next {
                Err(_) => {
                    let behind = self.known.load(Ordering::Acquire) > *self.fed.lock();
                    if behind && progressed.elapsed() > STALLED_AFTER {
                        return Err("the stream holds newer records than this consumer \
                                    delivers; reading again"
                            .into());
                    }
                    continue;
                }
                Ok(None) => return Err("the stream consumer ended".into()),
                Ok(Some(m)) => m.map_err(|e| e.to_string())?,
            };
            let (seq, pending) = {
                let info = message.info().map_err(|e| e.to_string())?;
                (info.stream_sequence, info.pending)
            };
            self.known.fetch_max(seq + pending, Ordering::AcqRel);
            match decode_checked(message.payload.to_vec()) {
                Some(rec) => {
                    // Blocks while the indexer's queue is full: the consumer's backpressure.
                    if sink.send(Msg::Apply(to_op(rec, seq))).is_err() {
                        return Ok(());
                    }
                }
                None => tracing::error!(
                    seq,
                    subject = %message.subject,
                    "skipping a stream message that is not a Stella Ops event record"
                ),
            }
            *self.fed.lock() = seq;
            self.fed_changed.notify_all();
            progressed = Instant::now();
        }
    }
}

impl EventLog for NatsLog {
    fn append(&self, records: Vec<RecordBuf>) -> Result<(), SearchError> {
        if let Some(why) = self.stopped.lock().clone() {
            return Err(SearchError::Closed(why));
        }
        let js = &self.stream.js;
        let limit = self.stream.max_payload;
        // The whole append is bounded, sending included: with NATS down the client's buffer can
        // fill, and an ingest must then fail (503) rather than wait for the connection.
        let sent = self.stream.rt.block_on(async {
            tokio::time::timeout(ACK_TIMEOUT, async {
                let mut acks = Vec::with_capacity(records.len());
                for mut rec in records {
                    // The stream sequence is the position; the frame's own number is unused.
                    rec.seal(0);
                    if rec.buf.len() > limit {
                        return Err(SearchError::invalid(format!(
                        "a batch record of {} bytes is more than the event stream's message limit \
                         ({limit} bytes)",
                        rec.buf.len()
                    )));
                    }
                    let subject = self.subject(&rec.tenant);
                    let ack = js
                        .publish(subject, bytes::Bytes::from(rec.buf))
                        .await
                        .map_err(|e| unavailable("sending events to the stream", e))?;
                    acks.push(ack);
                }
                let mut last = 0;
                for ack in acks {
                    let ack = ack
                        .await
                        .map_err(|e| unavailable("storing events in the stream", e))?;
                    last = last.max(ack.sequence);
                }
                Ok(last)
            })
            .await
            .map_err(|_| {
                unavailable("storing events in the stream", "no acknowledgement in 10 s")
            })?
        })?;
        self.known.fetch_max(sent, Ordering::AcqRel);
        Ok(())
    }

    fn record_split_bytes(&self) -> usize {
        self.stream.max_payload / 2
    }

    fn acknowledged(&self) -> u64 {
        self.known.load(Ordering::Acquire)
    }

    fn caught_up(&self, within: Duration) -> Result<(), SearchError> {
        let deadline = Instant::now() + within;
        let name = &self.stream.config.stream;
        let last = self.stream.rt.block_on(async {
            let s = tokio::time::timeout(within, self.stream.js.get_stream(name))
                .await
                .map_err(|_| unavailable("reading the event stream", "timed out"))?
                .map_err(|e| unavailable("reading the event stream", e))?;
            Ok::<u64, SearchError>(s.cached_info().state.last_sequence)
        })?;
        self.known.fetch_max(last, Ordering::AcqRel);
        let mut fed = self.fed.lock();
        while *fed < last {
            if self.fed_changed.wait_until(&mut fed, deadline).timed_out() {
                return Err(SearchError::Unavailable(format!(
                    "this server's event index is {} records behind the stream; try again shortly",
                    last - *fed
                )));
            }
        }
        Ok(())
    }

    fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::Release);
    }

    fn stop(&self, why: &str) {
        self.closing.store(true, Ordering::Release);
        self.stopped.lock().get_or_insert_with(|| why.to_owned());
    }
}

/// Deletes a stream and everything in it (tests' own streams; an operator's tool elsewhere).
pub async fn delete_stream(url: &str, name: &str) -> Result<(), SearchError> {
    let client = async_nats::connect(url)
        .await
        .map_err(|e| unavailable("connecting to NATS", e))?;
    jetstream::new(client)
        .delete_stream(name)
        .await
        .map_err(|e| unavailable("deleting the stream", e))?;
    Ok(())
}

/// The position this index has committed, from its directory (0: nothing yet).
pub(crate) fn read_position(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join(POSITION_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Records each committed position in the index directory (written whole, then renamed in).
pub(crate) struct PositionFile {
    dir: PathBuf,
    written: u64,
}

impl PositionFile {
    pub fn new(dir: &Path, position: u64) -> PositionFile {
        PositionFile {
            dir: dir.to_owned(),
            written: position,
        }
    }
}

impl Committed for PositionFile {
    fn committed(&mut self, lsn: u64, _wait: bool) {
        // Never backwards: a commit with nothing new reports the same position.
        if lsn <= self.written {
            return;
        }
        let tmp = self.dir.join(format!("{POSITION_FILE}.tmp"));
        let done = std::fs::write(&tmp, lsn.to_string())
            .and_then(|()| std::fs::rename(&tmp, self.dir.join(POSITION_FILE)));
        match done {
            Ok(()) => self.written = lsn,
            // Harmless: a later start consumes from an earlier position and skips what the
            // index already has.
            Err(e) => tracing::warn!(error = %e, "could not record the stream position"),
        }
    }

    fn finish(&mut self) {}
}
