//! Content digests (`sha256:<hex>`, `sha512:<hex>`): validation and streaming computation.

use sha2::{Digest as _, Sha256, Sha512};

use crate::error::ImageError;

/// A validated digest: algorithm and lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digest {
    pub alg: &'static str,
    pub hex: String,
}

impl Digest {
    pub fn parse(s: &str) -> Result<Digest, ImageError> {
        let bad = || ImageError::DigestInvalid(s.chars().take(200).collect());
        let (alg, hex) = s.split_once(':').ok_or_else(bad)?;
        let (alg, len) = match alg {
            "sha256" => ("sha256", 64),
            "sha512" => ("sha512", 128),
            _ => return Err(bad()),
        };
        if hex.len() != len
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        Ok(Digest {
            alg,
            hex: hex.to_string(),
        })
    }

    /// Where the blob lives in an OCI image layout: `blobs/<alg>/<hex>`.
    pub fn blob_path(&self) -> String {
        format!("blobs/{}/{}", self.alg, self.hex)
    }

    pub fn hasher(&self) -> Hasher {
        Hasher::new(self.alg)
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.alg, self.hex)
    }
}

/// A running digest of one algorithm.
#[derive(Clone)]
pub(crate) enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    pub fn new(alg: &str) -> Hasher {
        if alg == "sha512" {
            Hasher::Sha512(Sha512::new())
        } else {
            Hasher::Sha256(Sha256::new())
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        }
    }
}

/// `sha256:<hex>` of some bytes.
pub(crate) fn sha256_of(data: &[u8]) -> String {
    let mut h = Hasher::new("sha256");
    h.update(data);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_well_formed_digests() {
        let ok = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            Digest::parse(&ok).unwrap().blob_path(),
            format!("blobs/sha256/{}", "a".repeat(64))
        );
        for bad in [
            "sha256:abc".to_string(),
            format!("sha256:{}", "A".repeat(64)),
            format!("md5:{}", "a".repeat(64)),
            format!("sha256:../../{}", "a".repeat(58)),
            "sha256".to_string(),
        ] {
            assert_eq!(
                Digest::parse(&bad).unwrap_err().code(),
                "image-digest-invalid",
                "{bad}"
            );
        }
    }
}
