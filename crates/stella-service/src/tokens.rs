//! The claims Stella Ops puts in its JWTs, and a verifier with a bounded cache of tokens whose
//! signature has already been checked (a repeated token costs a hash lookup, not a verify).

use crate::crypto::sha256;
use crate::keyring::KeyRing;
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Minted from an API key by `/access_token`.
    Access,
    /// OAuth 2.0 client credentials.
    Client,
    /// `/token/offline`.
    Offline,
    /// Password sign-in (`/connect/api/v1/sign_in`).
    Session,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// User id, or OAuth client id for `Client` tokens.
    pub sub: String,
    pub typ: TokenKind,
    /// The credential behind the token: API key id, client id, offline token id or session id.
    pub cid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(
        rename = "maxScansPerDay",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_scans_per_day: Option<i64>,
}

const CACHE_CAPACITY: usize = 100_000;

pub struct TokenVerifier {
    keys: KeyRing,
    verified: DashMap<[u8; 32], Arc<Claims>>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("keys", &self.keys)
            .field("cached", &self.verified.len())
            .finish()
    }
}

impl TokenVerifier {
    pub fn new(keys: KeyRing) -> Self {
        Self {
            keys,
            verified: DashMap::new(),
        }
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Signed by the key active at the token's issue time (`iat`, the injected clock's).
    pub fn sign(&self, claims: &Claims) -> crate::Result<String> {
        self.keys
            .current()
            .sign(claims, claims.iat.saturating_mul(1000))
    }

    /// Signature check (cached). The caller checks expiry with its clock and revocation with
    /// the credential store.
    /// Returns the token's SHA-256 digest (a key for per-token caches) with its claims.
    pub fn verify(&self, token: &str) -> Option<([u8; 32], Arc<Claims>)> {
        let digest = sha256(token.as_bytes());
        if let Some(c) = self.verified.get(&digest) {
            return Some((digest, c.clone()));
        }
        let claims = Arc::new(self.keys.current().verify::<Claims>(token)?);
        if self.verified.len() >= CACHE_CAPACITY {
            // Crude but bounded: start over rather than grow without limit.
            self.verified.clear();
        }
        self.verified.insert(digest, claims.clone());
        Some((digest, claims))
    }
}
