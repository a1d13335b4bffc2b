-- Searches (`?search=`, every keyword in one of the searchable fields, ignoring case) over the
-- resources too large to scan per request: rules, the probes and their union. A keyword was
-- matched with `LOWER(field) LIKE '%kw%'` on every row of the tenant (13 ms of CPU over 50,000
-- rules' messages, BENCHMARKS.md). Here the same expressions get trigram GIN indexes where the
-- pg_trgm extension can be made (it ships with PostgreSQL and is trusted, so a database owner
-- may create it); PostgreSQL then answers those LIKE tests from the index. Where it cannot,
-- the migration says so and searches scan as before: same results, slower.

DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm cannot be created here (%): searches will scan', SQLERRM;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX rules_search_msg ON rules USING gin (LOWER(msg) gin_trgm_ops);
        CREATE INDEX stamus_appliances_search_name ON stamus_appliances USING gin (LOWER(name) gin_trgm_ops);
        CREATE INDEX stamus_appliances_search_descr ON stamus_appliances USING gin (LOWER(descr) gin_trgm_ops);
        CREATE INDEX stamus_appliances_search_ip_address ON stamus_appliances USING gin (LOWER(ip_address) gin_trgm_ops);
        CREATE INDEX suricata_appliances_search_name ON suricata_appliances USING gin (LOWER(name) gin_trgm_ops);
        CREATE INDEX suricata_appliances_search_description ON suricata_appliances USING gin (LOWER(description) gin_trgm_ops);
        CREATE INDEX suricata_appliances_search_ipaddress ON suricata_appliances USING gin (LOWER(ipaddress) gin_trgm_ops);
        CREATE INDEX appliances_search_name ON appliances USING gin (LOWER(name) gin_trgm_ops);
        CREATE INDEX appliances_search_descr ON appliances USING gin (LOWER(descr) gin_trgm_ops);
        CREATE INDEX appliances_search_ip_address ON appliances USING gin (LOWER(ip_address) gin_trgm_ops);
    END IF;
END
$$;
