-- Stamus probes and their templates at /rest/appliances/ (issue 14, "Objects relations").
-- Inheritable fields are nullable: a child without its own value shows its template's, computed
-- on read (nothing is copied into children). Lists (interfaces, protocols, overriden_fields)
-- are JSON text.

INSERT INTO resource_sequences (name, last_id) VALUES ('stamus_appliance_templates', 0);

CREATE TABLE stamus_appliance_templates (
    id INTEGER PRIMARY KEY,
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
    id INTEGER PRIMARY KEY,
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

-- /rest/appliances/appliances/: every probe of either kind with its type, read-only. A view,
-- so lists of the union page, sort, search and filter in SQL like any table. Keys do not
-- collide: both tables draw from the `appliances` counter.
CREATE VIEW appliances AS
    SELECT id, tenant_id, name, descr, ip_address, version, 'Stamus' AS type,
           created_at, updated_at
      FROM stamus_appliances
    UNION ALL
    SELECT id, tenant_id, name, description AS descr, ipaddress AS ip_address,
           NULL AS version, 'Suricata' AS type, created_at, updated_at
      FROM suricata_appliances;

-- Interfaces and protocols of Stamus probes and templates: one row each, owned by exactly one
-- probe (appliance) or template (template), in its owner's tenant. The owners' `interfaces` and
-- `protocols` fields read and write these rows.
INSERT INTO resource_sequences (name, last_id) VALUES ('network_interfaces', 0);
INSERT INTO resource_sequences (name, last_id) VALUES ('probe_protocols', 0);
CREATE TABLE network_interfaces (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    active BIGINT NOT NULL,
    appliance BIGINT,
    template BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX network_interfaces_tenant ON network_interfaces (tenant_id, id);
CREATE INDEX network_interfaces_appliance ON network_interfaces (appliance, id);
CREATE INDEX network_interfaces_template ON network_interfaces (template, id);
CREATE TABLE probe_protocols (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    active BIGINT NOT NULL,
    appliance BIGINT,
    template BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX probe_protocols_tenant ON probe_protocols (tenant_id, id);
CREATE INDEX probe_protocols_appliance ON probe_protocols (appliance, id);
CREATE INDEX probe_protocols_template ON probe_protocols (template, id);
