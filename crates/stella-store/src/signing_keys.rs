//! Signing keys shared through the database (deployments with a deployment secret). This
//! module stores rows; sealing and unsealing the private halves is the service's business, so
//! nothing here ever holds a private key in clear.

use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    /// The public key, base64url (the JWK's `x`).
    pub public_x: String,
    /// The private key, sealed under the deployment secret.
    pub sealed_private: String,
    pub created_at: i64,
    /// Signs from this instant; verifies from the moment it is stored.
    pub activates_at: i64,
}

fn from_row(r: &Row) -> Result<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: r.text("kid")?,
        public_x: r.text("public_x")?,
        sealed_private: r.text("sealed_private")?,
        created_at: r.int("created_at")?,
        activates_at: r.int("activates_at")?,
    })
}

impl Database {
    /// Every stored key, newest activation first.
    pub async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        let q = Sql::new(
            "SELECT kid, public_x, sealed_private, created_at, activates_at FROM signing_keys \
             ORDER BY activates_at DESC, kid DESC",
        );
        self.fetch_all(&q).await?.iter().map(from_row).collect()
    }

    /// Stores a key; a key id already stored is left as it is (two servers importing the same
    /// file keys at once). Announced to the other servers, which reload their key sets.
    pub async fn insert_signing_key(&self, k: &SigningKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, public_x, sealed_private, created_at, activates_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kid) DO NOTHING",
        )
        .bind(&k.kid)
        .bind(&k.public_x)
        .bind(&k.sealed_private)
        .bind(k.created_at)
        .bind(k.activates_at)
        .execute(&self.pool)
        .await?;
        self.announce(crate::Topic::Keys);
        Ok(())
    }

    /// Stores `keys` only when the table is empty: the first server of a deployment makes (or
    /// imports) the first keys, and servers starting at the same moment do not each make their
    /// own. `false`: another server got there first; use what is stored.
    pub async fn insert_first_signing_keys(&self, keys: &[SigningKeyRecord]) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if self.backend() == crate::Backend::Postgres {
            // Held to the end of the transaction; the number is this table's, arbitrary.
            sqlx::query("SELECT pg_advisory_xact_lock(7301001)")
                .execute(&mut *tx)
                .await?;
        }
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM signing_keys")
            .fetch_one(&mut *tx)
            .await?;
        if count > 0 {
            return Ok(false);
        }
        for k in keys {
            sqlx::query(
                "INSERT INTO signing_keys (kid, public_x, sealed_private, created_at, activates_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&k.kid)
            .bind(&k.public_x)
            .bind(&k.sealed_private)
            .bind(k.created_at)
            .bind(k.activates_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.announce(crate::Topic::Keys);
        Ok(true)
    }
}
