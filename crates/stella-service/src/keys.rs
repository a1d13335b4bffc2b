//! The server's signing keys: Ed25519, generated into `<data-dir>/keys/` on first start
//! (0600 PEM files named by key id). The newest key signs; all are published as a JWKS so
//! clients verify tokens offline and rotated-out keys keep verifying until removed.

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

fn pair_from(signing: &SigningKey) -> Result<KeyPair> {
    let public = signing.verifying_key().to_bytes();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public);
    let kid = sha256_hex(&public)[..16].to_owned();
    Ok(KeyPair {
        signing: signing.clone(),
        decoding: DecodingKey::from_ed_components(&x).map_err(key_error)?,
        kid,
        x,
    })
}

impl SigningKeys {
    fn from_pairs(keys: Vec<KeyPair>) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Expiry is checked against the injected clock by the caller, not the system clock.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        Self { keys, validation }
    }

    /// A key that lives only in memory (tests, benchmarks).
    pub fn ephemeral() -> Result<Self> {
        let signing = SigningKey::from_bytes(&crate::crypto::random_bytes::<32>());
        Ok(Self::from_pairs(vec![pair_from(&signing)?]))
    }

    /// Loads every key in `dir` (newest file first), generating one if there is none.
    pub fn load_or_generate(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(key_error)?;
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(key_error)?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "pem"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if files.is_empty() {
            let signing = SigningKey::from_bytes(&crate::crypto::random_bytes::<32>());
            let pair = pair_from(&signing)?;
            let pem = signing
                .to_pkcs8_pem(Default::default())
                .map_err(key_error)?;
            let path = dir.join(format!("{}.pem", pair.kid));
            write_private(&path, pem.as_bytes())?;
            return Ok(Self::from_pairs(vec![pair]));
        }
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        let mut keys = Vec::new();
        for (_, path) in files {
            let pem = std::fs::read_to_string(&path).map_err(key_error)?;
            let signing = SigningKey::from_pkcs8_pem(&pem)
                .map_err(|e| key_error(format!("{}: {e}", path.display())))?;
            keys.push(pair_from(&signing)?);
        }
        Ok(Self::from_pairs(keys))
    }

    /// A compact JWS (RFC 7515) with header `{"alg":"EdDSA","kid":…,"typ":"JWT"}`.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String> {
        let key = self
            .keys
            .first()
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
        let token = a.sign(&C { sub: "u".into() }).unwrap_or_default();
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
