-- Background work run exactly once across the servers of a deployment (issue 12).

-- Jobs (report generation, playbook runs) are queued here and claimed by whichever server is
-- free, never run by the server that happened to receive the request. A claim is a lease:
-- the claiming server renews it while it works, and a job whose lease ran out (its server
-- died) is claimed again by another, up to a few attempts. `attempts` is also the fencing
-- token: only the holder of the latest claim may record the outcome.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    tenant_id TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    run_after BIGINT NOT NULL,
    claimed_by TEXT,
    lease_until BIGINT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    error TEXT
);
CREATE INDEX jobs_due ON jobs (state, run_after);

-- The servers of the deployment, each row written by its own server (a new row per start):
-- `GET /cluster/nodes` reads it, and a server with `draining_since` set claims no new jobs.
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    address TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    draining_since BIGINT,
    stopped_at BIGINT,
    index_lag BIGINT NOT NULL DEFAULT 0
);
