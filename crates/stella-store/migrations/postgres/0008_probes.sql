-- Probe management at /rest/ (issue 14): Django-style objects with integer keys.

-- Counters for resources with integer keys (`Key::Serial`): a key is one atomic
-- `UPDATE … SET last_id = last_id + 1 … RETURNING last_id`. Resources naming the same counter
-- share one key space (Stamus and Suricata probes and their union, `appliances`).
CREATE TABLE resource_sequences (
    name TEXT PRIMARY KEY,
    last_id BIGINT NOT NULL
);
INSERT INTO resource_sequences (name, last_id) VALUES ('appliances', 0);
-- The central server is stamus_device 1 in every deployment.
INSERT INTO resource_sequences (name, last_id) VALUES ('stamus_devices', 1);

-- Stamus devices: the central server (shared by every tenant: no tenant) and, later, the
-- Stamus probes' devices (one tenant each).
CREATE TABLE stamus_devices (
    id BIGINT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants(id),
    name TEXT NOT NULL,
    description TEXT,
    ipaddress TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX stamus_devices_tenant ON stamus_devices (tenant_id, id);
INSERT INTO stamus_devices (id, tenant_id, name, description, ipaddress, created_at, updated_at)
VALUES (1, NULL, 'Central server', 'The Stella Ops central server (SCS)', NULL,
        CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT), CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT));

CREATE TABLE suricata_appliances (
    id BIGINT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    description TEXT,
    ipaddress TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- (sort key, id) in list order, led by the tenant: a tenant's page walks its own rows only.
CREATE INDEX suricata_appliances_tenant ON suricata_appliances (tenant_id, id);
CREATE INDEX suricata_appliances_tenant_name ON suricata_appliances (tenant_id, name, id);
