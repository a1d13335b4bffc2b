-- Several servers, one deployment (issue 12).

-- Signing keys shared by every server of a deployment that has a deployment secret. The
-- private half is sealed (XChaCha20-Poly1305 under a key derived from the secret, the key id
-- as associated data); the public half is in clear for the JWKS. A key verifies from the
-- moment it is here and signs from `activates_at`, so every server publishes it first.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    public_x TEXT NOT NULL,
    sealed_private TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    activates_at BIGINT NOT NULL
);
