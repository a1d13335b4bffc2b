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
CREATE INDEX IF NOT EXISTS activity_log_user ON activity_log(user_id, id);
CREATE INDEX IF NOT EXISTS activity_log_tenant ON activity_log(tenant_id, id);
