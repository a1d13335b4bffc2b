//! OSV records (`stella_osv`): any bytes parsed as a record. What parses serialises and parses
//! back equal; a one-record database built from it answers queries (the record's own listed
//! and event versions, a few fixed ones) without panicking; every listed version that parses
//! under the ecosystem's scheme matches through `versions[]`; and merging the matches gives at
//! most one finding, under the record's id.
#![no_main]
use stella_osv::{merge_aliases, parse_record, Database, MatchRule, Query, QueryResult};

const FIXED_QUERIES: &[&str] = &["0", "1.0.0", "v1.2.3", "0.0.0b0", "1:2.3-1", "1.0-SNAPSHOT"];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(record) = parse_record(data) else {
        return;
    };
    let bytes = serde_json::to_vec(&record).expect("a parsed record serialises");
    let again = parse_record(&bytes).expect("a serialised record parses");
    assert_eq!(again, record, "round trip changed the record");

    let db = Database::build([record.clone()]);
    let _ = db.stats();
    for affected in record.affected.iter().take(4) {
        let Some(package) = &affected.package else {
            continue;
        };
        let listed = affected.versions.iter().take(8).map(|v| (v.as_str(), true));
        let events = affected
            .ranges
            .iter()
            .flat_map(|r| r.events.iter())
            .take(8)
            .map(|e| (e.version(), false));
        let fixed = FIXED_QUERIES.iter().map(|v| (*v, false));
        for (version, is_listed) in listed.chain(events).chain(fixed) {
            let query = Query {
                ecosystem: &package.ecosystem,
                name: &package.name,
                version,
            };
            let QueryResult::Matched(matches) = db.query(&query) else {
                continue;
            };
            assert!(matches.iter().all(|m| m.id == record.id));
            if is_listed && record.withdrawn.is_none() {
                assert!(
                    matches.iter().any(|m| m.rules.contains(&MatchRule::Versions)),
                    "listed version {version:?} of {:?} not matched",
                    package.name
                );
            }
            let findings = merge_aliases(matches);
            assert!(findings.len() <= 1);
            assert!(findings.iter().all(|f| f.id == record.id));
        }
    }
});
