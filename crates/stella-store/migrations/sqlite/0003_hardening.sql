-- Security hardening (issue 11).

-- Privilege profiles get an owner (the platform, a partner's tenants or one tenant); names are
-- unique per owner, and users and OAuth clients refer to profiles by id. Profiles made before
-- owners existed become the platform's (they were visible to everyone already).
CREATE TABLE privilege_profiles_owned (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    permissions TEXT NOT NULL,
    -- 'root', 'tenant:<id>' or 'partner:<id>,<id>' (sorted): see ProfileOwner::key.
    owner_key TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (owner_key, name)
);
INSERT INTO privilege_profiles_owned (id, name, description, permissions, owner_key, created_by, created_at, updated_at)
    SELECT id, name, description, permissions, 'root', NULL, created_at, created_at FROM privilege_profiles;
DROP TABLE privilege_profiles;
ALTER TABLE privilege_profiles_owned RENAME TO privilege_profiles;
-- The owner's tenants, for visibility filters in SQL.
CREATE TABLE profile_tenants (
    profile_id TEXT NOT NULL REFERENCES privilege_profiles(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    PRIMARY KEY (profile_id, tenant_id)
);
CREATE INDEX profile_tenants_tenant ON profile_tenants(tenant_id);
UPDATE users SET profile = (SELECT p.id FROM privilege_profiles p WHERE p.name = users.profile)
    WHERE profile IN (SELECT name FROM privilege_profiles);
UPDATE oauth_clients SET profile = (SELECT p.id FROM privilege_profiles p WHERE p.name = oauth_clients.profile)
    WHERE profile IN (SELECT name FROM privilege_profiles);

-- A key made through another key's JWT remembers the root of that chain and dies with it.
ALTER TABLE api_keys ADD COLUMN issued_by TEXT;

-- Offline tokens remember the credential that issued them and die with it.
ALTER TABLE offline_tokens ADD COLUMN issued_by_kind TEXT;
ALTER TABLE offline_tokens ADD COLUMN issued_by TEXT;
ALTER TABLE offline_tokens ADD COLUMN revoked_by TEXT;
CREATE INDEX offline_tokens_user ON offline_tokens(user_id);

-- Password sign-in sessions.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    client_ip TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

-- A watchlist alert aggregates the repeats of its cause within a window: how many events it
-- stands for, and the newest one's time.
ALTER TABLE alerts ADD COLUMN event_count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE alerts ADD COLUMN last_event_at BIGINT;
