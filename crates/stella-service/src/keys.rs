//! The server's signing keys: Ed25519. All are published as a JWKS (clients verify tokens
//! offline; tokens signed by an earlier key keep verifying until they expire) and the newest
//! *active* key signs.
//!
//! Where they live ([`KeyRing`]):
//! - one server (the embedded default): `<data-dir>/keys/`, 0600 PEM files named by key id,
//!   generated on first start; the newest file signs;
//! - several servers (a deployment secret is configured): the shared database's
//!   `signing_keys` table, the private halves sealed under the secret (`seal.rs`), so every
//!   server signs and verifies with the same keys. A rotation stores the new key with a later
//!   activation time: every server loads it (told by the change bus, or by its periodic
//!   reload) and publishes it before any server signs with it.

use crate::crypto::sha256_hex;
use crate::{Result, ServiceError};
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::Signer;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::path::Path;

struct KeyPair {
    kid: String,
    x: String,
    /// Signs from this instant (ms); verifies always. File keys: 0.
    activates_ms: i64,
    created_ms: i64,
    /// Kept parsed: signing through `jsonwebtoken` would re-parse the PKCS#8 document (and
    /// re-derive the public key) on every token.
    signing: SigningKey,
    decoding: DecodingKey,
}

pub struct SigningKeys {
    /// Newest first; index 0 signs.
    keys: Vec<KeyPair>,
    validation: Validation,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field(
                "kids",
                &self.keys.iter().map(|k| &k.kid).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn key_error(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("signing key: {e}"))
}

/// The key id: the first 16 hex digits of the public key's SHA-256.
pub(crate) fn kid_of(signing: &SigningKey) -> String {
    sha256_hex(&signing.verifying_key().to_bytes())[..16].to_owned()
}

/// The public key as a JWK's `x` (base64url).
pub(crate) fn public_x(signing: &SigningKey) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes())
}

fn pair_from(signing: &SigningKey) -> Result<KeyPair> {
    let x = public_x(signing);
    let kid = kid_of(signing);
    Ok(KeyPair {
        signing: signing.clone(),
        decoding: DecodingKey::from_ed_components(&x).map_err(key_error)?,
        kid,
        x,
        activates_ms: 0,
        created_ms: 0,
    })
}

pub(crate) fn generate() -> SigningKey {
    SigningKey::from_bytes(&crate::crypto::random_bytes::<32>())
}

/// What `GET /signing_keys` shows of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub kid: String,
    pub created_at: i64,
    /// Signs from this instant (ms since the epoch); verifies from the moment it exists.
    pub activates_at: i64,
    /// Whether this key signs new tokens now.
    pub signing: bool,
}

impl SigningKeys {
    fn from_pairs(mut keys: Vec<KeyPair>) -> Self {
        // Newest activation first (stable: files come newest-first with activation 0).
        keys.sort_by_key(|k| std::cmp::Reverse(k.activates_ms));
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Expiry is checked against the injected clock by the caller, not the system clock.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        Self { keys, validation }
    }

    /// A key that lives only in memory (tests, benchmarks).
    pub fn ephemeral() -> Result<Self> {
        Ok(Self::from_pairs(vec![pair_from(&generate())?]))
    }

    /// The key that signs at `now_ms`: the newest already active; if none is (a clock set
    /// back), the first to activate.
    fn signer(&self, now_ms: i64) -> Option<&KeyPair> {
        self.keys
            .iter()
            .find(|k| k.activates_ms <= now_ms)
            .or_else(|| self.keys.last())
    }

    pub fn describe(&self, now_ms: i64) -> Vec<KeyInfo> {
        let signer = self.signer(now_ms).map(|k| k.kid.clone());
        self.keys
            .iter()
            .map(|k| KeyInfo {
                kid: k.kid.clone(),
                created_at: k.created_ms,
                activates_at: k.activates_ms,
                signing: signer.as_deref() == Some(k.kid.as_str()),
            })
            .collect()
    }

    pub fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.kid.clone()).collect()
    }

    /// Loads every key in `dir` (newest file first), generating one if there is none.
    pub fn load_or_generate(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(key_error)?;
        let keys = Self::files(dir)?;
        if keys.is_empty() {
            write_pem(dir, &generate())?;
            return Self::read_dir(dir);
        }
        Self::from_files(keys)
    }

    /// Every key file in `dir`, newest first (by modification time; ties by name, so two
    /// files written in one clock tick still order the same way on every load).
    pub(crate) fn files(dir: &Path) -> Result<Vec<(i64, SigningKey)>> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(key_error)?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "pem"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        files.sort_by(|a, b| b.cmp(a));
        let mut keys = Vec::new();
        for (modified, path) in files {
            let pem = std::fs::read_to_string(&path).map_err(key_error)?;
            let signing = SigningKey::from_pkcs8_pem(&pem)
                .map_err(|e| key_error(format!("{}: {e}", path.display())))?;
            let ms = modified
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            keys.push((ms, signing));
        }
        Ok(keys)
    }

    /// Keys read from the database: (key, created ms, activates ms).
    pub(crate) fn from_stored(stored: Vec<(SigningKey, i64, i64)>) -> Result<Self> {
        let mut keys = Vec::new();
        for (signing, created_ms, activates_ms) in stored {
            keys.push(KeyPair {
                activates_ms,
                created_ms,
                ..pair_from(&signing)?
            });
        }
        Ok(Self::from_pairs(keys))
    }

    fn read_dir(dir: &Path) -> Result<Self> {
        Self::from_files(Self::files(dir)?)
    }

    fn from_files(files: Vec<(i64, SigningKey)>) -> Result<Self> {
        let mut keys = Vec::new();
        for (modified_ms, signing) in files {
            // File keys activate at once; the time shown is the file's.
            keys.push(KeyPair {
                created_ms: modified_ms,
                ..pair_from(&signing)?
            });
        }
        Ok(Self::from_pairs(keys))
    }

    /// A compact JWS (RFC 7515) with header `{"alg":"EdDSA","kid":…,"typ":"JWT"}`, signed by
    /// the key active at `now_ms`.
    pub fn sign<C: Serialize>(&self, claims: &C, now_ms: i64) -> Result<String> {
        let key = self
            .signer(now_ms)
            .ok_or_else(|| key_error("no signing key"))?;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let header = serde_json::to_vec(&json!({"alg": "EdDSA", "kid": key.kid, "typ": "JWT"}))
            .map_err(key_error)?;
        let payload = serde_json::to_vec(claims).map_err(key_error)?;
        let signing_input = format!("{}.{}", b64(&header), b64(&payload));
        let signature = key.signing.sign(signing_input.as_bytes());
        Ok(format!("{signing_input}.{}", b64(&signature.to_bytes())))
    }

    /// Checks the signature (by `kid`) and decodes the claims. Expiry is not checked here.
    pub fn verify<C: DeserializeOwned>(&self, token: &str) -> Option<C> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::EdDSA {
            return None;
        }
        let key = match &header.kid {
            Some(kid) => self.keys.iter().find(|k| &k.kid == kid)?,
            None => self.keys.first()?,
        };
        jsonwebtoken::decode::<C>(token, &key.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
    }

    /// RFC 7517 key set of the public halves.
    pub fn jwks(&self) -> Value {
        json!({
            "keys": self.keys.iter().map(|k| json!({
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": k.kid, "x": k.x,
            })).collect::<Vec<_>>()
        })
    }
}

pub(crate) fn write_pem(dir: &Path, signing: &SigningKey) -> Result<()> {
    let pem = signing
        .to_pkcs8_pem(Default::default())
        .map_err(key_error)?;
    let kid = pair_from(signing)?.kid;
    write_private(&dir.join(format!("{kid}.pem")), pem.as_bytes())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(key_error)?;
    f.write_all(bytes).map_err(key_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct C {
        sub: String,
    }

    #[test]
    fn keys_persist_and_verify_across_loads() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let a = SigningKeys::load_or_generate(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let token = a.sign(&C { sub: "u".into() }, 0).unwrap_or_default();
        let b = SigningKeys::load_or_generate(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.verify::<C>(&token), Some(C { sub: "u".into() }));
        assert_eq!(a.jwks(), b.jwks());
        let other = SigningKeys::ephemeral().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(other.verify::<C>(&token), None);
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(b.verify::<C>(&tampered), None);
    }
}
