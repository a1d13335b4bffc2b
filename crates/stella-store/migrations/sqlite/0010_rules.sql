-- Suricata rule sources at /rest/rules/ (issue 14): sources a tenant uploads, the rules and
-- categories read from them, and rulesets choosing among them. Integer keys (`Key::Serial`).

INSERT INTO resource_sequences (name, last_id) VALUES ('rule_sources', 0);
INSERT INTO resource_sequences (name, last_id) VALUES ('rules', 0);
INSERT INTO resource_sequences (name, last_id) VALUES ('rule_categories', 0);
INSERT INTO resource_sequences (name, last_id) VALUES ('rulesets', 0);

CREATE TABLE rule_sources (
    id BIGINT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    description TEXT,
    -- What the last upload held (counts; the upload's answer lists the problems).
    uploaded_file TEXT,
    rules_count BIGINT,
    problems_count BIGINT,
    uploaded_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rule_sources_tenant ON rule_sources (tenant_id, id);

-- A source's categories: one per rules file (`emerging-dns.rules` gives `emerging-dns`).
CREATE TABLE rule_categories (
    id BIGINT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    source BIGINT NOT NULL REFERENCES rule_sources(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rule_categories_tenant ON rule_categories (tenant_id, id);
CREATE INDEX rule_categories_source ON rule_categories (source);

-- A source's rules, replaced as a whole by each upload.
CREATE TABLE rules (
    id BIGINT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    source BIGINT NOT NULL REFERENCES rule_sources(id) ON DELETE CASCADE,
    category BIGINT NOT NULL REFERENCES rule_categories(id) ON DELETE CASCADE,
    category_name TEXT NOT NULL,
    sid BIGINT NOT NULL,
    gid BIGINT NOT NULL,
    rev BIGINT NOT NULL,
    msg TEXT,
    classtype TEXT,
    enabled BIGINT NOT NULL,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rules_tenant ON rules (tenant_id, id);
CREATE INDEX rules_tenant_sid ON rules (tenant_id, sid, id);
CREATE INDEX rules_source ON rules (source);
CREATE INDEX rules_category ON rules (category);

CREATE TABLE rulesets (
    id BIGINT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    descr TEXT,
    sources TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rulesets_tenant ON rulesets (tenant_id, id);

-- What a ruleset turns off: rules by (source, gid, sid), so the choice survives a re-upload
-- of the source, and categories by (source, name) likewise.
CREATE TABLE ruleset_disabled (
    ruleset BIGINT NOT NULL REFERENCES rulesets(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    source BIGINT NOT NULL,
    gid BIGINT NOT NULL,
    sid BIGINT NOT NULL,
    category_name TEXT NOT NULL,
    comment TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ruleset, kind, source, gid, sid, category_name)
);
