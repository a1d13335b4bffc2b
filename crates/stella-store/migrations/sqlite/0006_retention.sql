-- Retention (issue 15). The platform's periods come from the configuration (the same on every
-- server); a row here overrides them for one tenant, and holds its data (a legal hold: nothing
-- of the tenant's is purged while it is set). tenant_id '*' is the platform itself (activity
-- records of root and partner users, which belong to no tenant).
CREATE TABLE retention_policies (
    tenant_id TEXT PRIMARY KEY,
    events_days BIGINT,
    activity_days BIGINT,
    reports_days BIGINT,
    playbook_runs_days BIGINT,
    legal_hold BIGINT NOT NULL DEFAULT 0,
    legal_hold_reason TEXT,
    updated_at BIGINT NOT NULL,
    updated_by TEXT
);

-- Each retention run (a claimed background job): who ran it, what it removed, the archives it
-- wrote, and whether it stopped at its bound with more to do (a follow-up run is queued).
CREATE TABLE retention_runs (
    id TEXT PRIMARY KEY,
    -- The background job it ran as (a follow-up's is 'retention-more-<previous run>').
    job TEXT NOT NULL,
    node TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    removed TEXT,
    archives TEXT,
    more BIGINT NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX retention_runs_started ON retention_runs (started_at);

-- One run at a time in the whole deployment: a run holds this lease (renewed as it goes, so a
-- server that died holding it frees it when `until` passes).
CREATE TABLE retention_lease (
    id BIGINT PRIMARY KEY,
    holder TEXT,
    until BIGINT NOT NULL
);
INSERT INTO retention_lease (id, holder, until) VALUES (1, NULL, 0);
