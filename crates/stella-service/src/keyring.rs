//! Where the signing keys come from, and rotating them: a directory of key files (one server),
//! or the shared database with private halves sealed under the deployment secret (several
//! servers). The current [`SigningKeys`] are swapped whole on a reload, so signing and
//! verifying never see half a key set.

use crate::keys::{KeyInfo, SigningKeys};
use crate::seal::Sealer;
use crate::{Result, ServiceError};
use ed25519_dalek::SigningKey;
use parking_lot::RwLock;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use stella_store::{Database, SigningKeyRecord};

pub struct KeyRing {
    source: Source,
    current: RwLock<Arc<SigningKeys>>,
}

enum Source {
    Memory,
    Files(PathBuf),
    Shared { db: Database, sealer: Sealer },
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("shared", &self.is_shared())
            .field("keys", &self.current())
            .finish()
    }
}

impl KeyRing {
    /// One key in memory (tests, benchmarks).
    pub fn ephemeral() -> Result<Self> {
        Ok(Self::with(Source::Memory, SigningKeys::ephemeral()?))
    }

    /// The key files in `dir`, generating one on first start (a single server).
    pub fn files(dir: &Path) -> Result<Self> {
        let keys = SigningKeys::load_or_generate(dir)?;
        Ok(Self::with(Source::Files(dir.to_path_buf()), keys))
    }

    /// The deployment's keys in `db`, sealed under `secret`. The first server of a deployment
    /// imports the key files in `import_from` (so tokens it signed as a single server stay
    /// valid), or makes a key if there are none. Refuses to start when a stored key does not
    /// open with `secret`: the server would sign with keys the others cannot share.
    pub async fn shared(
        db: Database,
        secret: &str,
        import_from: &Path,
        now_ms: i64,
    ) -> Result<Self> {
        let sealer = Sealer::new(secret)?;
        if db.list_signing_keys().await?.is_empty() {
            let mut first = Vec::new();
            let files = if import_from.is_dir() {
                SigningKeys::files(import_from)?
            } else {
                Vec::new()
            };
            if files.is_empty() {
                first.push(record(&sealer, &crate::keys::generate(), now_ms, now_ms)?);
            }
            for (modified_ms, signing) in &files {
                first.push(record(&sealer, signing, *modified_ms, *modified_ms)?);
            }
            if db.insert_first_signing_keys(&first).await? {
                tracing::info!(
                    keys = first.len(),
                    imported = files.len(),
                    "stored the deployment's first signing keys"
                );
            }
        }
        let keys = load(&db, &sealer, true).await?;
        Ok(Self::with(Source::Shared { db, sealer }, keys))
    }

    fn with(source: Source, keys: SigningKeys) -> Self {
        Self {
            source,
            current: RwLock::new(Arc::new(keys)),
        }
    }

    pub fn current(&self) -> Arc<SigningKeys> {
        self.current.read().clone()
    }

    /// Whether the keys are shared through the database.
    pub fn is_shared(&self) -> bool {
        matches!(self.source, Source::Shared { .. })
    }

    /// Re-reads the keys (another server rotated). A stored key that does not open with this
    /// server's secret is left out and logged, rather than stopping every other key.
    pub async fn reload(&self) -> Result<()> {
        let keys = match &self.source {
            Source::Memory => return Ok(()),
            Source::Files(dir) => SigningKeys::load_or_generate(dir)?,
            Source::Shared { db, sealer } => load(db, sealer, false).await?,
        };
        *self.current.write() = Arc::new(keys);
        Ok(())
    }

    /// Makes a new key. Shared: it verifies on every server at once and signs from
    /// `now_ms + activation_delay_ms`, by which time every server publishes it. Files: it
    /// signs at once (one server publishes it in the same step).
    pub async fn rotate(&self, now_ms: i64, activation_delay_ms: i64) -> Result<KeyInfo> {
        let signing = crate::keys::generate();
        match &self.source {
            Source::Memory => {
                return Err(ServiceError::Conflict(
                    "this server's keys live in memory only and cannot be rotated".into(),
                ))
            }
            Source::Files(dir) => crate::keys::write_pem(dir, &signing)?,
            Source::Shared { db, sealer } => {
                let activates = now_ms.saturating_add(activation_delay_ms.max(0));
                db.insert_signing_key(&record(sealer, &signing, now_ms, activates)?)
                    .await?;
            }
        }
        self.reload().await?;
        let kid = crate::keys::kid_of(&signing);
        self.current()
            .describe(now_ms)
            .into_iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| ServiceError::Internal("the new key was not stored".into()))
    }
}

fn record(
    sealer: &Sealer,
    signing: &SigningKey,
    created_ms: i64,
    activates_ms: i64,
) -> Result<SigningKeyRecord> {
    let kid = crate::keys::kid_of(signing);
    Ok(SigningKeyRecord {
        sealed_private: sealer.seal(&kid, &signing.to_bytes())?,
        public_x: crate::keys::public_x(signing),
        kid,
        created_at: created_ms,
        activates_at: activates_ms,
    })
}

async fn load(db: &Database, sealer: &Sealer, strict: bool) -> Result<SigningKeys> {
    let mut keys = Vec::new();
    for r in db.list_signing_keys().await? {
        let opened = sealer
            .open(&r.kid, &r.sealed_private)
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(|b| SigningKey::from_bytes(&b))
            .filter(|k| crate::keys::kid_of(k) == r.kid);
        match opened {
            Some(k) => keys.push((k, r.created_at, r.activates_at)),
            None if strict => {
                return Err(ServiceError::Internal(format!(
                    "signing key {} in the database does not open with this server's deployment \
                     secret: every server of a deployment needs the same secret",
                    r.kid
                )))
            }
            None => {
                tracing::error!(kid = %r.kid, "a stored signing key does not open with this server's deployment secret; left out")
            }
        }
    }
    SigningKeys::from_stored(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    const SECRET: &str = "a deployment secret of at least 32 bytes";

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct C {
        sub: String,
    }

    fn c() -> C {
        C { sub: "u".into() }
    }

    async fn db(dir: &Path) -> Database {
        Database::open_data_dir(dir)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn kid_of_token(token: &str) -> String {
        jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|h| h.kid)
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn shared_keys_are_sealed_and_open_only_with_the_deployment_secret() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = db(dir.path()).await;
        let ring = KeyRing::shared(db.clone(), SECRET, &dir.path().join("none"), 1_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(ring.is_shared());
        let stored = db.list_signing_keys().await.unwrap_or_default();
        assert_eq!(stored.len(), 1);
        // The private half is not in the row in any plain form.
        let keys = ring.current();
        let token = keys.sign(&c(), 1_000).unwrap_or_default();
        assert!(stored[0].sealed_private.starts_with("v1."));
        assert!(!stored[0].sealed_private.contains(&stored[0].public_x));
        // Another server with the same secret signs and verifies with the same key.
        let twin = KeyRing::shared(db.clone(), SECRET, &dir.path().join("none"), 2_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(twin.current().verify::<C>(&token), Some(c()));
        assert_eq!(twin.current().jwks(), keys.jwks());
        // A server with another secret refuses to start rather than sign with its own keys.
        let wrong = KeyRing::shared(
            db.clone(),
            "another secret, also at least 32 bytes",
            &dir.path().join("none"),
            2_000,
        )
        .await;
        let message = wrong.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("does not open"), "{message}");
        // And a short secret is refused before anything is stored.
        assert!(KeyRing::shared(db, "short", &dir.path().join("none"), 0)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn the_first_shared_server_imports_its_key_files() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let files = KeyRing::files(&dir.path().join("keys")).unwrap_or_else(|e| panic!("{e}"));
        let token = files.current().sign(&c(), 0).unwrap_or_default();
        let db = db(dir.path()).await;
        let shared = KeyRing::shared(db, SECRET, &dir.path().join("keys"), 5_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Tokens the single server signed stay valid, and the same key goes on signing.
        assert_eq!(shared.current().verify::<C>(&token), Some(c()));
        let again = shared.current().sign(&c(), 5_000).unwrap_or_default();
        assert_eq!(kid_of_token(&again), kid_of_token(&token));
    }

    #[tokio::test]
    async fn a_rotated_key_verifies_at_once_and_signs_only_from_its_activation() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = db(dir.path()).await;
        let ring = KeyRing::shared(db.clone(), SECRET, &dir.path().join("none"), 1_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let other = KeyRing::shared(db, SECRET, &dir.path().join("none"), 1_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let before = ring.current().sign(&c(), 1_000).unwrap_or_default();
        let new = ring
            .rotate(2_000, 30_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(new.activates_at, 32_000);
        assert!(!new.signing);
        // Before its activation the old key still signs.
        let during = ring.current().sign(&c(), 31_999).unwrap_or_default();
        assert_eq!(kid_of_token(&during), kid_of_token(&before));
        // The other server, once it reloads, publishes the new key.
        other.reload().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(other.current().kids().contains(&new.kid));
        // From the activation the new key signs; every server verifies both.
        let after = ring.current().sign(&c(), 32_000).unwrap_or_default();
        assert_eq!(kid_of_token(&after), new.kid);
        assert_eq!(other.current().verify::<C>(&after), Some(c()));
        assert_eq!(other.current().verify::<C>(&before), Some(c()));
        let listed = ring.current().describe(32_000);
        assert_eq!(listed.iter().filter(|k| k.signing).count(), 1);
        assert!(listed.iter().any(|k| k.kid == new.kid && k.signing));
    }

    #[tokio::test]
    async fn file_keys_rotate_at_once() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ring = KeyRing::files(&dir.path().join("keys")).unwrap_or_else(|e| panic!("{e}"));
        let before = ring.current().sign(&c(), 0).unwrap_or_default();
        let new = ring
            .rotate(0, 30_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let after = ring.current().sign(&c(), 0).unwrap_or_default();
        assert_eq!(kid_of_token(&after), new.kid);
        assert_ne!(kid_of_token(&before), new.kid);
        // A restart keeps both, the new one signing.
        let reopened = KeyRing::files(&dir.path().join("keys")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reopened.current().verify::<C>(&before), Some(c()));
        let again = reopened.current().sign(&c(), 0).unwrap_or_default();
        assert_eq!(kid_of_token(&again), new.kid);
    }
}
