-- Open XDR resources. Every tenant-owned table carries tenant_id and is always queried with it;
-- list indexes lead with tenant_id so a tenant's page never scans another tenant's rows.
CREATE TABLE tenant_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    tenants TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    assignee TEXT,
    score BIGINT NOT NULL DEFAULT 0,
    alert_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- (sort key, id) in list order: a page is found by walking the index alone.
CREATE INDEX cases_tenant_created ON cases(tenant_id, created_at, id);
CREATE INDEX cases_created ON cases(created_at, id);
CREATE INDEX cases_tenant_score ON cases(tenant_id, score, id);

CREATE TABLE case_observables (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    description TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX case_observables_case ON case_observables(case_id);

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    tags TEXT,
    source TEXT,
    alert_type TEXT,
    case_id TEXT,
    event TEXT,
    comments TEXT,
    -- Identifies what raised the alert, so the same cause never raises it twice.
    dedup_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, dedup_key)
);
CREATE INDEX alerts_tenant_created ON alerts(tenant_id, created_at, id);
CREATE INDEX alerts_created ON alerts(created_at, id);
CREATE INDEX alerts_case ON alerts(case_id);

CREATE TABLE connectors (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    checkpoint BIGINT,
    config TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX connectors_tenant ON connectors(tenant_id, created_at);

CREATE TABLE queries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    description TEXT,
    query TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX queries_tenant ON queries(tenant_id, created_at);

CREATE TABLE watchlists (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    description TEXT,
    entries TEXT,
    severity TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX watchlists_tenant ON watchlists(tenant_id, created_at);

CREATE TABLE sensors (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    type TEXT,
    status TEXT NOT NULL,
    ip_address TEXT,
    version TEXT,
    last_seen BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sensors_tenant ON sensors(tenant_id, created_at);

CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    parameters TEXT,
    url TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX reports_tenant ON reports(tenant_id, created_at);

CREATE TABLE report_content (
    report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    format TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (report_id, format)
);

CREATE TABLE playbooks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    description TEXT,
    trigger TEXT NOT NULL,
    actions TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX playbooks_tenant ON playbooks(tenant_id, created_at);

CREATE TABLE playbook_runs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    playbook_id TEXT NOT NULL REFERENCES playbooks(id) ON DELETE CASCADE,
    alert_id TEXT,
    status TEXT NOT NULL,
    results TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX playbook_runs_playbook ON playbook_runs(playbook_id, created_at);

CREATE TABLE lookup_tables (
    id TEXT PRIMARY KEY,
    -- NULL: the table applies to all tenants.
    tenant_id TEXT REFERENCES tenants(id),
    name TEXT NOT NULL,
    description TEXT,
    columns TEXT,
    rows TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX lookup_tables_tenant ON lookup_tables(tenant_id, created_at);

CREATE TABLE event_filters (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    description TEXT,
    conditions TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    hits BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX event_filters_tenant ON event_filters(tenant_id, created_at);

CREATE TABLE ingestion_stats (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    day TEXT NOT NULL,
    ingested BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    dropped BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day)
);
