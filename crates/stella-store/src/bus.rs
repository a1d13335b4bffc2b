//! Change announcements between the servers of one deployment.
//!
//! Every server keeps short-lived caches of what the database holds (credentials, resolved
//! callers, list totals and page boundaries, signing keys). A write through one server forgets
//! its own entries at once; this module tells the others. On PostgreSQL a write announces a
//! [`Topic`] with `pg_notify`, and every server `LISTEN`s on the same channel and hands what it
//! hears to its subscribers. On SQLite there is one server, so announcing does nothing.
//!
//! Announcing never waits for the database: the writer sets a bit and wakes the publisher task,
//! which sends one notification per pending topic, so a burst of writes costs one
//! notification each topic. When the listening connection is lost, notifications sent meanwhile
//! are lost with it, so a reconnect is delivered as [`Topic::All`]: everything may have changed.
//! The caches' own one-second expiry stays as the bound if both tasks fail.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, Notify};

/// The PostgreSQL channel every server listens on.
const CHANNEL: &str = "stella_changes";

/// What changed. The payload names the sender too, so a server ignores its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Users, API keys, OAuth clients, offline tokens, sessions, profiles, tenants.
    Identity,
    /// Rows of a listed table (any resource): list totals and page boundaries.
    Pages,
    /// The signing keys.
    Keys,
    /// Background jobs were queued (or a server stopped taking them): look for work now.
    Jobs,
    /// A new vulnerability feed version is current: load it.
    Feed,
    /// Anything: notifications may have been missed.
    All,
}

impl Topic {
    const EACH: [Topic; 5] = [
        Topic::Identity,
        Topic::Pages,
        Topic::Keys,
        Topic::Jobs,
        Topic::Feed,
    ];

    fn bit(self) -> u8 {
        match self {
            Topic::Identity => 1,
            Topic::Pages => 2,
            Topic::Keys => 4,
            Topic::Jobs => 8,
            Topic::Feed => 16,
            Topic::All => 31,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Topic::Identity => "identity",
            Topic::Pages => "pages",
            Topic::Keys => "keys",
            Topic::Jobs => "jobs",
            Topic::Feed => "feed",
            Topic::All => "all",
        }
    }

    fn parse(s: &str) -> Option<Topic> {
        Some(match s {
            "identity" => Topic::Identity,
            "pages" => Topic::Pages,
            "keys" => Topic::Keys,
            "jobs" => Topic::Jobs,
            "feed" => Topic::Feed,
            "all" => Topic::All,
            _ => return None,
        })
    }

    /// Whether a subscriber interested in `self` must act on `heard`.
    pub fn heard_in(self, heard: Topic) -> bool {
        self == heard || heard == Topic::All
    }
}

#[derive(Debug)]
pub(crate) struct Bus {
    /// This server's name in payloads.
    node: String,
    pending: AtomicU8,
    /// Shared with the publisher task, which waits on it without holding the bus.
    wake: Arc<Notify>,
    /// What other servers announced (and `All` after a reconnect).
    heard: broadcast::Sender<Topic>,
    /// Whether anything publishes and listens (PostgreSQL).
    shared: bool,
    stop: tokio_util::sync::CancellationToken,
    /// Notifications heard from other servers, and reconnects of the listener (metrics).
    pub(crate) received: std::sync::atomic::AtomicU64,
    pub(crate) reconnects: std::sync::atomic::AtomicU64,
}

impl Drop for Bus {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Bus {
    pub(crate) fn local() -> Arc<Self> {
        Arc::new(Self::new(false))
    }

    fn new(shared: bool) -> Self {
        Self {
            node: uuid::Uuid::new_v4().simple().to_string(),
            pending: AtomicU8::new(0),
            wake: Arc::new(Notify::new()),
            heard: broadcast::channel(64).0,
            shared,
            stop: tokio_util::sync::CancellationToken::new(),
            received: Default::default(),
            reconnects: Default::default(),
        }
    }

    /// Starts the publisher and the listener for a PostgreSQL deployment. The tasks hold the
    /// bus weakly and stop when it is dropped or [`Bus::stop`] is called.
    pub(crate) fn postgres(pool: sqlx::AnyPool, url: String) -> Arc<Self> {
        let bus = Arc::new(Self::new(true));
        tokio::spawn(publish(
            Arc::downgrade(&bus),
            bus.wake.clone(),
            bus.stop.clone(),
            pool,
        ));
        tokio::spawn(listen(Arc::downgrade(&bus), bus.stop.clone(), url));
        bus
    }

    pub(crate) fn node(&self) -> &str {
        &self.node
    }

    pub(crate) fn announce(&self, topic: Topic) {
        if !self.shared {
            return;
        }
        self.pending.fetch_or(topic.bit(), Ordering::AcqRel);
        self.wake.notify_one();
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Topic> {
        self.heard.subscribe()
    }

    pub(crate) fn stop(&self) {
        self.stop.cancel();
    }

    fn deliver(&self, topic: Topic) {
        self.received.fetch_add(1, Ordering::Relaxed);
        // No subscriber yet is fine: nothing is cached before one subscribes.
        let _ = self.heard.send(topic);
    }
}

async fn publish(
    bus: std::sync::Weak<Bus>,
    wake: Arc<Notify>,
    stop: tokio_util::sync::CancellationToken,
    pool: sqlx::AnyPool,
) {
    loop {
        let notified = wake.notified();
        tokio::pin!(notified);
        // Registered before reading the bits, so a wake between the read and the wait counts.
        notified.as_mut().enable();
        let (node, bits) = {
            let Some(b) = bus.upgrade() else { return };
            (b.node.clone(), b.pending.swap(0, Ordering::AcqRel))
        };
        if bits == 0 {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = notified => continue,
            }
        }
        for topic in Topic::EACH {
            if bits & topic.bit() == 0 {
                continue;
            }
            let payload = format!("{node}:{}", topic.name());
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(&pool)
                .await;
            if let Err(e) = sent {
                // The others' caches still expire within a second; try again with the next write.
                tracing::warn!(error = %e, "could not announce a change to the other servers");
            }
        }
    }
}

async fn listen(bus: std::sync::Weak<Bus>, stop: tokio_util::sync::CancellationToken, url: String) {
    let mut first = true;
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other servers' changes; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
            }
        }
        if !first {
            // Whatever was announced while we were away is lost: forget everything.
            let Some(b) = bus.upgrade() else { return };
            b.reconnects.fetch_add(1, Ordering::Relaxed);
            b.deliver(Topic::All);
        }
        first = false;
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => return,
                n = listener.try_recv() => n,
            };
            let Some(b) = bus.upgrade() else { return };
            match next {
                Ok(Some(n)) => {
                    let Some((node, topic)) = n.payload().split_once(':') else {
                        continue;
                    };
                    if node == b.node {
                        continue;
                    }
                    if let Some(t) = Topic::parse(topic) {
                        b.deliver(t);
                    }
                }
                // The connection was lost (and will be re-established by `try_recv`):
                // announcements may have been missed.
                Ok(None) => {
                    b.reconnects.fetch_add(1, Ordering::Relaxed);
                    b.deliver(Topic::All);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "lost the change listener; reconnecting");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip_and_all_covers_each() {
        for t in Topic::EACH {
            assert_eq!(Topic::parse(t.name()), Some(t));
            assert!(t.heard_in(Topic::All));
            assert!(t.heard_in(t));
            assert_eq!(t.bit() & Topic::All.bit(), t.bit());
        }
        assert!(!Topic::Keys.heard_in(Topic::Pages));
        assert_eq!(Topic::parse("nonsense"), None);
    }

    #[tokio::test]
    async fn a_local_bus_announces_nothing() {
        let bus = Bus::local();
        bus.announce(Topic::Identity);
        assert_eq!(bus.pending.load(Ordering::Acquire), 0);
    }
}
