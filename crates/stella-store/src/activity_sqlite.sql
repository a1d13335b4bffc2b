-- Schema of the SQLite activity-log file (stella-activity.db). PostgreSQL keeps the same
-- table in its main database (migrations/postgres).
-- No index on ts: every insert would pay for it, and the log is listed newest first by id,
-- which follows time, so time-window filters stop early on that order.
-- INTEGER PRIMARY KEY without AUTOINCREMENT: ids still only grow (the newest row is never
-- deleted), and inserts skip the sqlite_sequence update AUTOINCREMENT costs each time.
CREATE TABLE IF NOT EXISTS activity_log (
    id INTEGER PRIMARY KEY,
    ts BIGINT NOT NULL,
    user_id TEXT,
    email TEXT,
    tenant_id TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT,
    status BIGINT NOT NULL,
    client_ip TEXT,
    body TEXT,
    duration_us BIGINT NOT NULL,
    trace_id TEXT NOT NULL
);
-- No index on user_id or tenant_id either: each committed batch records, per user and per
-- tenant in it, the range of ids it holds (activity_zones.rs), a few rows per batch instead of
-- two index entries per call. kind: 0 user, 1 tenant.
CREATE TABLE IF NOT EXISTS activity_zones (
    kind INTEGER NOT NULL,
    key TEXT NOT NULL,
    first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS activity_zones_key ON activity_zones(kind, key, first_id);
