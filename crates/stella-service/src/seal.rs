//! Sealing private keys under the deployment secret before they go to the shared database.
//!
//! The secret is configuration (`deployment_secret` or a file named by
//! `STELLA_DEPLOYMENT_SECRET_FILE`), never stored. HKDF-SHA256 derives a 256-bit key from it;
//! each value is sealed with XChaCha20-Poly1305 under a fresh random 192-bit nonce (random
//! nonces of that size cannot collide in practice), with the key id as associated data, so a
//! sealed value copied onto another key's row does not open. Stored as
//! `v1.<base64url(nonce ‖ ciphertext)>`.

use crate::{Result, ServiceError};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Shortest secret accepted: 32 bytes, as a 256-bit key written in hex would be 64.
pub const MIN_SECRET_BYTES: usize = 32;

pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

const PREFIX: &str = "v1.";

impl Sealer {
    /// A sealer for `secret`; refuses a secret shorter than [`MIN_SECRET_BYTES`].
    pub fn new(secret: &str) -> Result<Self> {
        let secret = secret.trim();
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ServiceError::Internal(format!(
                "the deployment secret must be at least {MIN_SECRET_BYTES} bytes (it is {}); \
                 generate one with `openssl rand -hex 32`",
                secret.len()
            )));
        }
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(
            Some(b"stella-ops deployment secret"),
            secret.as_bytes(),
        );
        let mut key = [0u8; 32];
        hk.expand(b"signing keys v1", &mut key)
            .map_err(|e| ServiceError::Internal(format!("key derivation: {e}")))?;
        Ok(Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
        })
    }

    pub fn seal(&self, label: &str, plain: &[u8]) -> Result<String> {
        let nonce_bytes = crate::crypto::random_bytes::<24>();
        let nonce = XNonce::from_slice(&nonce_bytes);
        let sealed = self
            .cipher
            .encrypt(
                nonce,
                Payload {
                    msg: plain,
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| ServiceError::Internal("sealing failed".into()))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// The plain bytes, or `None` when `sealed` was not sealed under this secret for `label`
    /// (or is damaged).
    pub fn open(&self, label: &str, sealed: &str) -> Option<Vec<u8>> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed.strip_prefix(PREFIX)?)
            .ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ct) = bytes.split_at(24);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: label.as_bytes(),
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn sealed_values_open_only_with_their_secret_and_label() {
        let s = Sealer::new(SECRET).unwrap_or_else(|e| panic!("{e}"));
        let sealed = s
            .seal("kid-a", b"private")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!sealed.contains("private"));
        assert_eq!(s.open("kid-a", &sealed).as_deref(), Some(&b"private"[..]));
        assert_eq!(s.open("kid-b", &sealed), None, "bound to its label");
        let other =
            Sealer::new("another secret of at least 32 bytes!").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(other.open("kid-a", &sealed), None, "bound to its secret");
        let mut damaged = sealed.clone();
        damaged.pop();
        assert_eq!(s.open("kid-a", &damaged), None);
        assert_eq!(s.open("kid-a", "v1.AAAA"), None);
        assert_eq!(s.open("kid-a", "plain"), None);
        // A fresh nonce each time: the same value never seals to the same text.
        assert_ne!(sealed, s.seal("kid-a", b"private").unwrap_or_default());
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(Sealer::new("short").is_err());
        assert!(Sealer::new(&" ".repeat(40)).is_err());
    }
}
