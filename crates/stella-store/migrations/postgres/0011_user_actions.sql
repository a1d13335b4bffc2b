-- The action history of the probe-management API (`/rest/rules/history/`, issue 14): one row
-- per write made through /rest/, as domain rows rather than the activity log, so it can be
-- listed, filtered and paged like any /rest/ object.
INSERT INTO resource_sequences (name, last_id) VALUES ('user_actions', 0);
CREATE TABLE user_actions (
    id BIGINT PRIMARY KEY,
    -- The tenant of the object acted on; none for platform objects.
    tenant_id TEXT REFERENCES tenants(id),
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    date BIGINT NOT NULL,
    action_type TEXT NOT NULL,
    comment TEXT,
    client_ip TEXT,
    description_raw TEXT NOT NULL,
    description TEXT NOT NULL,
    -- JSON: {key: {type, pk | sid, value}}; an object's pk is removed once it is deleted.
    ua_objects TEXT NOT NULL,
    -- The object acted on, to find its entries when it is deleted.
    object_type TEXT NOT NULL,
    object_pk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX user_actions_tenant_date ON user_actions (tenant_id, date, id);
CREATE INDEX user_actions_object ON user_actions (object_type, object_pk);
