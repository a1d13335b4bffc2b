//! What makes several servers one deployment, seen from the service: hearing other servers'
//! changes (forget cached credentials, reload signing keys) and the signing-key operations.

use crate::keys::KeyInfo;
use crate::state::Inner;
use crate::{Result, Stella};
use std::sync::{Arc, Weak};
use stella_core::authz::Restricted;
use stella_core::permission::perm::{TenantsRead, TenantsWrite};
use stella_store::Topic;
use tokio::sync::broadcast::error::RecvError;

impl Stella {
    /// Forgets every cached credential, user, profile and resolved caller: another server
    /// changed one (which, is not worth telling: identity writes are rare).
    pub(crate) fn forget_identities(&self) {
        self.users.clear();
        self.keys.clear();
        self.profiles.clear();
        self.clients.clear();
        self.offline.clear();
        self.sessions.clear();
        self.principals.clear();
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// Whether the signing keys are the deployment's (in the database) or this server's.
    pub fn shared_keys(&self) -> bool {
        self.tokens.keys().is_shared()
    }

    /// `GET /signing_keys`: every key, which one signs now.
    pub fn signing_keys(&self, _r: Restricted<'_, TenantsRead>) -> Vec<KeyInfo> {
        self.tokens.keys().current().describe(self.now_ms())
    }

    /// `POST /signing_keys/rotate`: a new key, published everywhere before it signs.
    pub async fn rotate_signing_key(&self, _r: Restricted<'_, TenantsWrite>) -> Result<KeyInfo> {
        let info = self
            .tokens
            .keys()
            .rotate(self.now_ms(), self.settings.key_activation_delay_ms)
            .await?;
        tracing::info!(kid = %info.kid, activates_at = info.activates_at, "signing key rotated");
        Ok(info)
    }
}

/// Listens for other servers' changes for as long as the service lives.
pub(crate) fn spawn_listener(stella: &Stella) {
    let weak = Arc::downgrade(&stella.0);
    let heard = stella.db.subscribe();
    let period = std::time::Duration::from_millis(stella.settings.key_reload_interval_ms.max(100));
    let shared_keys = stella.tokens.keys().is_shared();
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    tokio::spawn(listen(weak, heard, period, shared_keys));
}

async fn listen(
    weak: Weak<Inner>,
    mut heard: tokio::sync::broadcast::Receiver<Topic>,
    period: std::time::Duration,
    shared_keys: bool,
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let topic = tokio::select! {
            t = heard.recv() => match t {
                Ok(t) => t,
                // Missed some: anything may have changed.
                Err(RecvError::Lagged(_)) => Topic::All,
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                if !shared_keys { continue; }
                Topic::Keys
            }
        };
        let Some(inner) = weak.upgrade() else { return };
        let stella = Stella(inner);
        if Topic::Identity.heard_in(topic) {
            stella.forget_identities();
        }
        if Topic::Keys.heard_in(topic) && shared_keys {
            if let Err(e) = stella.tokens.keys().reload().await {
                tracing::warn!(error = %e, "could not reload the signing keys");
            }
        }
    }
}
