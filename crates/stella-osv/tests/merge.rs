//! Folding matches of the same vulnerability (linked through ids and aliases) into findings.

mod common;

use common::*;
use serde_json::{json, Value};
use stella_osv::{merge_aliases, Level, Record};

fn advisory(id: &str, aliases: &[&str], fixed: &str, severity: Value) -> Record {
    record(json!({
        "id": id,
        "aliases": aliases,
        "severity": severity,
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "demo"},
            "ranges": [range("ECOSYSTEM", &[("introduced", "0"), ("fixed", fixed)])],
        }],
    }))
}

const HIGH_V3: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:N"; // 8.1
const MEDIUM_V3: &str = "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N"; // 6.4

#[test]
fn three_records_linked_pairwise_are_one_finding() {
    // GHSA names the CVE, PYSEC names the GHSA: GHSA ~ CVE and PYSEC ~ GHSA, so all three fold
    // although PYSEC and the CVE record name nothing in common.
    let db = db(vec![
        advisory(
            "GHSA-aaaa-bbbb-cccc",
            &["CVE-2024-0001"],
            "2.0",
            json!([{"type": "CVSS_V3", "score": MEDIUM_V3}]),
        ),
        advisory("PYSEC-2024-7", &["GHSA-aaaa-bbbb-cccc"], "2.0.1", json!([])),
        advisory(
            "CVE-2024-0001",
            &[],
            "2.0",
            json!([{"type": "CVSS_V3", "score": HIGH_V3}]),
        ),
        // Unrelated, and only `related` to the others: stays apart.
        record(json!({
            "id": "PYSEC-2024-8",
            "related": ["CVE-2024-0001"],
            "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"},
                          "ranges": [range("ECOSYSTEM", &[("introduced", "0")])]}],
        })),
    ]);
    let m = matches(&db, "PyPI", "demo", "1.0");
    assert_eq!(m.len(), 4);
    let findings = merge_aliases(m);
    assert_eq!(findings.len(), 2, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f.id, "PYSEC-2024-7", "the ecosystem's own id is primary");
    assert_eq!(f.aliases, ["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"]);
    assert_eq!(f.matches.len(), 3);
    assert_eq!(
        (f.severity.level, f.severity.score),
        (Level::High, Some(8.1))
    );
    assert_eq!(f.fixed, ["2.0", "2.0.1"]);
    assert_eq!(findings[1].id, "PYSEC-2024-8");
    assert!(findings[1].aliases.is_empty());
}

#[test]
fn primary_id_prefers_ecosystem_then_ghsa_then_cve_then_smallest() {
    let cases: &[(&[&str], &str)] = &[
        (&["CVE-2024-1", "GHSA-x", "PYSEC-2024-2"], "PYSEC-2024-2"),
        (&["CVE-2024-1", "GHSA-x"], "GHSA-x"),
        (&["CVE-2024-2", "CVE-2024-1"], "CVE-2024-1"),
        (&["GO-2024-9", "GHSA-a", "GO-2024-10"], "GO-2024-10"),
    ];
    for (ids, primary) in cases {
        // Chain them: each record aliases the next.
        let records: Vec<Record> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let next: Vec<&str> = ids.get(i + 1).into_iter().copied().collect();
                advisory(id, &next, "9", json!([]))
            })
            .collect();
        for order in [records.clone(), records.into_iter().rev().collect()] {
            let findings = merge_aliases(matches(&db(order), "PyPI", "demo", "1"));
            assert_eq!(findings.len(), 1, "{ids:?}");
            assert_eq!(findings[0].id, *primary, "{ids:?}");
            assert_eq!(findings[0].severity.level, Level::Unknown);
        }
    }
}

#[test]
fn same_record_twice_folds() {
    // Two entries of one record that both match give two matches with one id.
    let r = record(json!({
        "id": "GHSA-two",
        "affected": [
            {"package": {"ecosystem": "npm", "name": "x"},
             "ranges": [range("SEMVER", &[("introduced", "0"), ("fixed", "1.0.0")])]},
            {"package": {"ecosystem": "npm", "name": "x"},
             "ranges": [range("SEMVER", &[("introduced", "0.5.0"), ("fixed", "1.0.1")])]},
        ],
    }));
    let m = matches(&db(vec![r]), "npm", "x", "0.6.0");
    assert_eq!(m.len(), 2);
    let findings = merge_aliases(m);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].fixed, ["1.0.0", "1.0.1"]);
    assert!(findings[0].aliases.is_empty());
    assert!(merge_aliases(Vec::new()).is_empty());
}
