-- Stamus probes and their templates at /rest/appliances/ (issue 14, "Objects relations").
-- Inheritable fields are nullable: a child without its own value shows its template's, computed
-- on read (nothing is copied into children). Lists (interfaces, protocols, overriden_fields)
-- are JSON text.

INSERT INTO resource_sequences (name, last_id) VALUES ('stamus_appliance_templates', 0);

CREATE TABLE stamus_appliance_templates (
    id BIGINT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    descr TEXT,
    parent_tmpl BIGINT,
    overriden_fields TEXT,
    management_interface TEXT,
    capture_method TEXT,
    bpf_filter TEXT,
    ruleset BIGINT,
    nsm_enabled BIGINT,
    log_retention_days BIGINT,
    interfaces TEXT,
    protocols TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX stamus_appliance_templates_tenant ON stamus_appliance_templates (tenant_id, id);
CREATE INDEX stamus_appliance_templates_parent ON stamus_appliance_templates (parent_tmpl);

-- Keys from the `appliances` counter, shared with suricata_appliances.
CREATE TABLE stamus_appliances (
    id BIGINT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    descr TEXT,
    ip_address TEXT NOT NULL,
    version TEXT,
    model TEXT,
    stamusdevice_id BIGINT,
    parent_tmpl BIGINT,
    overriden_fields TEXT,
    management_interface TEXT,
    capture_method TEXT,
    bpf_filter TEXT,
    ruleset BIGINT,
    nsm_enabled BIGINT,
    log_retention_days BIGINT,
    interfaces TEXT,
    protocols TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX stamus_appliances_tenant ON stamus_appliances (tenant_id, id);
CREATE INDEX stamus_appliances_tenant_name ON stamus_appliances (tenant_id, name, id);
CREATE INDEX stamus_appliances_parent ON stamus_appliances (parent_tmpl);
