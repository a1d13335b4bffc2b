-- Rules lists filtered by classtype or sorted by msg (issue 14's benchmark): without these,
-- every page of a tenant's 50,000 rules sorted or filtered them all.
CREATE INDEX rules_tenant_classtype ON rules (tenant_id, classtype, id);
CREATE INDEX rules_tenant_msg ON rules (tenant_id, msg, id);
