-- /rest/appliances/appliances/ from a table kept by triggers instead of the UNION ALL view of
-- 0009: a view cannot be indexed, so every page of the union sorted all of a tenant's probes of
-- both kinds to find its 30 (10–40 ms of CPU at 10,000 probes, BENCHMARKS.md). Its rows are
-- written only by these triggers, inside the transaction of the probe's own write, so the
-- union cannot drift from the two tables or be forgotten by a new write path.

DROP VIEW appliances;

CREATE TABLE appliances (
    id BIGINT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    descr TEXT,
    ip_address TEXT NOT NULL,
    version TEXT,
    type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

INSERT INTO appliances (id, tenant_id, name, descr, ip_address, version, type, created_at, updated_at)
    SELECT id, tenant_id, name, descr, ip_address, version, 'Stamus', created_at, updated_at
      FROM stamus_appliances;
INSERT INTO appliances (id, tenant_id, name, descr, ip_address, version, type, created_at, updated_at)
    SELECT id, tenant_id, name, description, ipaddress, NULL, 'Suricata', created_at, updated_at
      FROM suricata_appliances;

-- (sort key, id) led by the tenant, as for the two tables: a page walks one index.
CREATE INDEX appliances_tenant ON appliances (tenant_id, id);
CREATE INDEX appliances_tenant_name ON appliances (tenant_id, name, id);
CREATE INDEX appliances_tenant_ip ON appliances (tenant_id, ip_address, id);

CREATE FUNCTION appliances_from_stamus() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM appliances WHERE id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO appliances (id, tenant_id, name, descr, ip_address, version, type, created_at, updated_at)
            VALUES (NEW.id, NEW.tenant_id, NEW.name, NEW.descr, NEW.ip_address, NEW.version, 'Stamus',
                    NEW.created_at, NEW.updated_at);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER appliances_stamus AFTER INSERT OR UPDATE OR DELETE ON stamus_appliances
    FOR EACH ROW EXECUTE FUNCTION appliances_from_stamus();

CREATE FUNCTION appliances_from_suricata() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM appliances WHERE id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO appliances (id, tenant_id, name, descr, ip_address, version, type, created_at, updated_at)
            VALUES (NEW.id, NEW.tenant_id, NEW.name, NEW.description, NEW.ipaddress, NULL, 'Suricata',
                    NEW.created_at, NEW.updated_at);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER appliances_suricata AFTER INSERT OR UPDATE OR DELETE ON suricata_appliances
    FOR EACH ROW EXECUTE FUNCTION appliances_from_suricata();
