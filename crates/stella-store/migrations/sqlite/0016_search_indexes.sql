-- Searches (`?search=`, every keyword in one of the searchable fields, ignoring case) over the
-- resources too large to scan per request: rules, the probes and their union. A keyword was
-- matched with `LOWER(field) LIKE '%kw%'` on every row of the tenant (13 ms of CPU over 50,000
-- rules' messages, BENCHMARKS.md). Here each gets an FTS5 trigram table (rowid = the row's id,
-- kept by triggers in the row's own transaction), in which the engine looks up keywords of
-- three characters or more (`ResourceSpec::search_index`); shorter ones, which a trigram table
-- cannot look up, keep the LIKE test. The tables are contentless with contentless_delete: a
-- search needs only rowids, and a delete then marks the row gone instead of tokenizing its old
-- text again (with external content, replacing a 30,000-rule source cost twice its import).


CREATE VIRTUAL TABLE rules_search USING fts5(msg, content='', contentless_delete=1, tokenize='trigram');
INSERT INTO rules_search (rowid, msg) SELECT id, msg FROM rules;
CREATE TRIGGER rules_search_insert AFTER INSERT ON rules BEGIN
    INSERT INTO rules_search (rowid, msg) VALUES (new.id, new.msg);
END;
CREATE TRIGGER rules_search_delete AFTER DELETE ON rules BEGIN
    DELETE FROM rules_search WHERE rowid = old.id;
END;
CREATE TRIGGER rules_search_update AFTER UPDATE OF msg ON rules BEGIN
    DELETE FROM rules_search WHERE rowid = old.id;
    INSERT INTO rules_search (rowid, msg) VALUES (new.id, new.msg);
END;

CREATE VIRTUAL TABLE stamus_appliances_search USING fts5(name, descr, ip_address, content='', contentless_delete=1, tokenize='trigram');
INSERT INTO stamus_appliances_search (rowid, name, descr, ip_address) SELECT id, name, descr, ip_address FROM stamus_appliances;
CREATE TRIGGER stamus_appliances_search_insert AFTER INSERT ON stamus_appliances BEGIN
    INSERT INTO stamus_appliances_search (rowid, name, descr, ip_address) VALUES (new.id, new.name, new.descr, new.ip_address);
END;
CREATE TRIGGER stamus_appliances_search_delete AFTER DELETE ON stamus_appliances BEGIN
    DELETE FROM stamus_appliances_search WHERE rowid = old.id;
END;
CREATE TRIGGER stamus_appliances_search_update AFTER UPDATE OF name, descr, ip_address ON stamus_appliances BEGIN
    DELETE FROM stamus_appliances_search WHERE rowid = old.id;
    INSERT INTO stamus_appliances_search (rowid, name, descr, ip_address) VALUES (new.id, new.name, new.descr, new.ip_address);
END;

CREATE VIRTUAL TABLE suricata_appliances_search USING fts5(name, description, ipaddress, content='', contentless_delete=1, tokenize='trigram');
INSERT INTO suricata_appliances_search (rowid, name, description, ipaddress) SELECT id, name, description, ipaddress FROM suricata_appliances;
CREATE TRIGGER suricata_appliances_search_insert AFTER INSERT ON suricata_appliances BEGIN
    INSERT INTO suricata_appliances_search (rowid, name, description, ipaddress) VALUES (new.id, new.name, new.description, new.ipaddress);
END;
CREATE TRIGGER suricata_appliances_search_delete AFTER DELETE ON suricata_appliances BEGIN
    DELETE FROM suricata_appliances_search WHERE rowid = old.id;
END;
CREATE TRIGGER suricata_appliances_search_update AFTER UPDATE OF name, description, ipaddress ON suricata_appliances BEGIN
    DELETE FROM suricata_appliances_search WHERE rowid = old.id;
    INSERT INTO suricata_appliances_search (rowid, name, description, ipaddress) VALUES (new.id, new.name, new.description, new.ipaddress);
END;

CREATE VIRTUAL TABLE appliances_search USING fts5(name, descr, ip_address, content='', contentless_delete=1, tokenize='trigram');
INSERT INTO appliances_search (rowid, name, descr, ip_address) SELECT id, name, descr, ip_address FROM appliances;
CREATE TRIGGER appliances_search_insert AFTER INSERT ON appliances BEGIN
    INSERT INTO appliances_search (rowid, name, descr, ip_address) VALUES (new.id, new.name, new.descr, new.ip_address);
END;
CREATE TRIGGER appliances_search_delete AFTER DELETE ON appliances BEGIN
    DELETE FROM appliances_search WHERE rowid = old.id;
END;
CREATE TRIGGER appliances_search_update AFTER UPDATE OF name, descr, ip_address ON appliances BEGIN
    DELETE FROM appliances_search WHERE rowid = old.id;
    INSERT INTO appliances_search (rowid, name, descr, ip_address) VALUES (new.id, new.name, new.descr, new.ip_address);
END;
