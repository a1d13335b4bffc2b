-- Supply-chain scanning (issue 13): the vulnerability feed, stored scans and catalogued layers.

-- A feed import: the uploaded archive (kept in feed_upload_parts until the import job has read
-- it, so any server of the deployment can run the job) and what came of it.
CREATE TABLE feed_imports (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    size BIGINT NOT NULL,
    digest TEXT NOT NULL,
    mode TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    version_id TEXT,
    records BIGINT,
    skipped BIGINT,
    problems TEXT,
    error TEXT
);
CREATE INDEX feed_imports_created ON feed_imports (created_at);

CREATE TABLE feed_upload_parts (
    import_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (import_id, seq)
);

-- A complete feed: its records, zstd-compressed NDJSON in parts of a few MiB. A version is
-- written whole before feed_current names it, so no server ever reads a half-imported feed.
CREATE TABLE feed_versions (
    id TEXT PRIMARY KEY,
    import_id TEXT,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    records BIGINT NOT NULL,
    ecosystems TEXT NOT NULL,
    sources TEXT NOT NULL
);

CREATE TABLE feed_parts (
    version_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (version_id, seq)
);

-- The one feed version every server scans with: switched in the same transaction that
-- finishes an import.
CREATE TABLE feed_current (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version_id TEXT NOT NULL,
    switched_at BIGINT NOT NULL
);

-- Stored scans, per tenant. summary and result are JSON (the answer's summary; findings and
-- unassessed components).
CREATE TABLE scans (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT,
    state TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    digest TEXT NOT NULL,
    size BIGINT NOT NULL,
    sbom_type TEXT,
    threshold TEXT NOT NULL,
    environment TEXT,
    policy_status TEXT,
    summary TEXT,
    feed_version TEXT,
    policy_hash TEXT,
    result TEXT,
    error TEXT
);
CREATE INDEX scans_tenant ON scans (tenant_id, created_at);

-- What a tenant's scans have catalogued per image layer (by its uncompressed digest, the
-- config's diff_id): POST /layers/missing answers from here, and a delta scan is completed
-- from it.
CREATE TABLE scan_layers (
    tenant_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT NOT NULL,
    catalogue TEXT NOT NULL,
    PRIMARY KEY (tenant_id, digest)
);

-- Scan policies: every version imported, per tenant ('*': the platform default, which applies
-- to a tenant without its own). The active one is the newest per tenant; GET /policy/history
-- lists them with the hash of the version each replaced.
CREATE TABLE policies (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    hash TEXT NOT NULL,
    previous_hash TEXT,
    comment TEXT
);
CREATE INDEX policies_tenant ON policies (tenant_id, created_at);

-- VEX documents a tenant imported; their statements suppress matching findings in its scans.
CREATE TABLE vex_documents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT,
    format TEXT NOT NULL,
    digest TEXT NOT NULL,
    statements BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX vex_documents_tenant ON vex_documents (tenant_id, created_at);
