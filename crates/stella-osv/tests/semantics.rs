//! The OSV evaluation rules, case by case, on small hand-written records.

mod common;

use common::*;
use serde_json::json;
use stella_osv::model::RangeType;
use stella_osv::{Database, Level, MatchRule};

/// Checks `(version, affected?)` pairs against one package of a database.
fn table(db: &Database, ecosystem: &str, name: &str, cases: &[(&str, bool)]) {
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(v, want)| hit(db, ecosystem, name, v) != *want)
        .map(|(v, want)| format!("{v}: expected affected={want}"))
        .collect();
    assert!(wrong.is_empty(), "{ecosystem} {name}: {wrong:#?}");
}

fn one_range(ecosystem: &str, name: &str, events: &[(&str, &str)]) -> Database {
    db(vec![simple(
        "OSV-1",
        ecosystem,
        name,
        json!([range("ECOSYSTEM", events)]),
        json!([]),
    )])
}

#[test]
fn introduced_and_fixed() {
    let db = one_range("PyPI", "demo", &[("introduced", "1.0"), ("fixed", "1.5")]);
    table(
        &db,
        "PyPI",
        "demo",
        &[
            ("0.9", false),
            ("1.0rc1", false),
            ("1.0", true),
            ("1.0.0", true),
            ("1.4.9", true),
            ("1.5rc1", true),
            ("1.5", false),
            ("1.5.0", false),
            ("1.5.post1", false),
            ("2.0", false),
        ],
    );
}

#[test]
fn introduced_and_last_affected() {
    let db = one_range(
        "PyPI",
        "demo",
        &[("introduced", "1.0"), ("last_affected", "1.5")],
    );
    table(
        &db,
        "PyPI",
        "demo",
        &[
            ("0.9", false),
            ("1.0", true),
            ("1.5", true),
            ("1.5.0", true),
            ("1.5.post1", false),
            ("1.5.1", false),
            ("1.6", false),
        ],
    );
}

#[test]
fn introduced_zero_is_before_every_version() {
    let db = one_range("PyPI", "demo", &[("introduced", "0"), ("fixed", "1.0")]);
    table(
        &db,
        "PyPI",
        "demo",
        &[
            ("0.0.0b0", true),
            ("0.0.1.dev0", true),
            ("0", true),
            ("0.9", true),
            ("1.0a1", true),
            ("1.0", false),
        ],
    );
    // Without a fix, everything.
    let db = one_range("PyPI", "demo", &[("introduced", "0")]);
    table(&db, "PyPI", "demo", &[("0.0.0b0", true), ("99!1.0", true)]);
}

#[test]
fn pypi_pre_release_below_a_literal_zero() {
    // "0" is special; a literal "0.0.0" is a real version, and 0.0.0b0 sorts before it.
    let zero = one_range("PyPI", "demo", &[("introduced", "0"), ("fixed", "2.0")]);
    let literal = one_range("PyPI", "demo", &[("introduced", "0.0.0"), ("fixed", "2.0")]);
    assert!(hit(&zero, "PyPI", "demo", "0.0.0b0"));
    assert!(!hit(&literal, "PyPI", "demo", "0.0.0b0"));
    assert!(hit(&literal, "PyPI", "demo", "0.0.0"));
}

#[test]
fn limit_bounds_the_range() {
    let db = one_range(
        "PyPI",
        "demo",
        &[("introduced", "0"), ("limit", "2.0"), ("introduced", "3.0")],
    );
    table(
        &db,
        "PyPI",
        "demo",
        &[
            ("1.9", true),
            ("2.0", false),
            ("2.5", false),
            ("3.0", false),
        ],
    );
    let db = one_range("PyPI", "demo", &[("introduced", "1.0"), ("limit", "*")]);
    table(
        &db,
        "PyPI",
        "demo",
        &[("0.9", false), ("1.0", true), ("500", true)],
    );
}

#[test]
fn events_in_any_order() {
    let written = [
        ("fixed", "4.0"),
        ("introduced", "3.0"),
        ("fixed", "2.0"),
        ("introduced", "1.0"),
    ];
    let cases = [
        ("0.5", false),
        ("1.0", true),
        ("1.5", true),
        ("2.0", false),
        ("2.5", false),
        ("3.0", true),
        ("3.9", true),
        ("4.0", false),
        ("5", false),
    ];
    table(&one_range("PyPI", "demo", &written), "PyPI", "demo", &cases);
    let mut sorted = written;
    sorted.reverse();
    table(&one_range("PyPI", "demo", &sorted), "PyPI", "demo", &cases);
}

#[test]
fn two_ranges_each_count_and_report_their_fixes() {
    let db = db(vec![simple(
        "OSV-1",
        "PyPI",
        "demo",
        json!([
            range("ECOSYSTEM", &[("introduced", "1.0"), ("fixed", "1.2")]),
            range("ECOSYSTEM", &[("introduced", "1.1"), ("fixed", "1.3")]),
            range("ECOSYSTEM", &[("introduced", "2.0"), ("fixed", "2.1")]),
        ]),
        json!([]),
    )]);
    table(
        &db,
        "PyPI",
        "demo",
        &[
            ("1.0", true),
            ("1.1", true),
            ("1.2", true),
            ("1.3", false),
            ("2.0", true),
        ],
    );
    let m = matches(&db, "PyPI", "demo", "1.1");
    assert_eq!(m.len(), 1, "one match per affected entry");
    let range_rule = |index| MatchRule::Range {
        index,
        kind: RangeType::Ecosystem,
    };
    assert_eq!(m[0].rules, [range_rule(0), range_rule(1)]);
    assert_eq!(m[0].fixed, ["1.2", "1.3"]);
    let m = matches(&db, "PyPI", "demo", "2.0");
    assert_eq!(m[0].rules, [range_rule(2)]);
    assert_eq!(m[0].fixed, ["2.1"]);
}

#[test]
fn two_affected_entries() {
    let r = record(json!({
        "id": "OSV-2",
        "affected": [
            {"package": {"ecosystem": "PyPI", "name": "demo"},
             "ranges": [range("ECOSYSTEM", &[("introduced", "1.0"), ("fixed", "1.1")])]},
            {"package": {"ecosystem": "PyPI", "name": "demo"},
             "ranges": [range("ECOSYSTEM", &[("introduced", "1.0.5"), ("fixed", "2.0")])]},
            {"package": {"ecosystem": "PyPI", "name": "other"},
             "ranges": [range("ECOSYSTEM", &[("introduced", "0")])]},
        ],
    }));
    let db = db(vec![r]);
    table(
        &db,
        "PyPI",
        "demo",
        &[
            ("0.9", false),
            ("1.0", true),
            ("1.1", true),
            ("1.9", true),
            ("2.0", false),
        ],
    );
    let m = matches(&db, "PyPI", "demo", "1.0.7");
    let entries: Vec<usize> = m.iter().map(|m| m.affected_index).collect();
    assert_eq!(entries, [0, 1], "both entries of the package contain 1.0.7");
    assert_eq!(m[0].fixed, ["1.1"]);
    assert_eq!(m[1].fixed, ["2.0"]);
    assert!(hit(&db, "PyPI", "other", "5"));
}

#[test]
fn versions_list_alone() {
    let r = simple(
        "OSV-3",
        "PyPI",
        "demo",
        json!([]),
        json!(["1.0", "1.1", "2.0rc1"]),
    );
    let db = db(vec![r]);
    table(
        &db,
        "PyPI",
        "demo",
        &[
            ("1.0", true),
            ("1.0.0", true),
            ("1.0.1", false),
            ("1.1", true),
            ("2.0c1", true), // c is rc in PEP 440
            ("2.0", false),
        ],
    );
    let m = matches(&db, "PyPI", "demo", "1.0.0");
    assert_eq!(m[0].rules, [MatchRule::Versions]);
    assert!(m[0].fixed.is_empty());
}

#[test]
fn versions_match_reports_the_entrys_fixes() {
    let r = simple(
        "OSV-4",
        "PyPI",
        "demo",
        json!([range(
            "ECOSYSTEM",
            &[("introduced", "2.0"), ("fixed", "2.5")]
        )]),
        json!(["1.0", "2.0"]),
    );
    let db = db(vec![r]);
    let m = matches(&db, "PyPI", "demo", "1.0");
    assert_eq!(m[0].rules, [MatchRule::Versions]);
    assert_eq!(m[0].fixed, ["2.5"]);
    let m = matches(&db, "PyPI", "demo", "2.0");
    assert_eq!(
        m[0].rules,
        [
            MatchRule::Versions,
            MatchRule::Range {
                index: 0,
                kind: RangeType::Ecosystem
            }
        ]
    );
}

#[test]
fn withdrawn_records_never_match() {
    let mut r = simple(
        "OSV-5",
        "PyPI",
        "demo",
        json!([range("ECOSYSTEM", &[("introduced", "0")])]),
        json!(["1.0"]),
    );
    r.withdrawn = Some("2024-01-01T00:00:00Z".into());
    let live = simple(
        "OSV-6",
        "PyPI",
        "demo",
        json!([range("ECOSYSTEM", &[("introduced", "0")])]),
        json!([]),
    );
    let db = db(vec![r, live]);
    assert_eq!(ids(&db, "PyPI", "demo", "1.0"), ["OSV-6"]);
    assert_eq!(db.stats().withdrawn, 1);
    assert_eq!(db.stats().records, 1);
    assert!(db.record("OSV-5").is_none());
}

#[test]
fn git_only_range_matches_through_versions() {
    let r = simple(
        "PYSEC-1",
        "PyPI",
        "demo",
        json!([{
            "type": "GIT",
            "repo": "https://example.com/demo",
            "events": [{"introduced": "0"}, {"fixed": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"}]
        }]),
        json!(["1.0", "1.1"]),
    );
    let db = db(vec![r]);
    table(
        &db,
        "PyPI",
        "demo",
        &[("1.0", true), ("1.1", true), ("1.2", false)],
    );
    let m = matches(&db, "PyPI", "demo", "1.1");
    assert_eq!(m[0].rules, [MatchRule::Versions]);
    assert!(
        m[0].fixed.is_empty(),
        "commit hashes are not fixed versions"
    );
    assert_eq!(db.stats().git_ranges, 1);
    assert_eq!(db.stats().skipped_ranges, 0);
}

#[test]
fn unparsable_event_skips_only_its_range() {
    let r = simple(
        "GO-1",
        "Go",
        "example.com/mod",
        json!([
            {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "not a version"}]},
            {"type": "SEMVER", "events": [{"introduced": "2.0.0"}, {"fixed": "2.1.0"}]},
        ]),
        json!(["0.5.0", "a tag"]),
    );
    let db = db(vec![r]);
    table(
        &db,
        "Go",
        "example.com/mod",
        &[
            ("v0.4.0", false), // only the skipped range covered it
            ("v0.5.0", true),  // versions[] still matches
            ("v2.0.5", true),
            ("v2.1.0", false),
        ],
    );
    let stats = db.stats();
    assert_eq!(stats.skipped_ranges, 1);
    assert_eq!(stats.unparsable_versions, 1);
    let skipped = &db.skipped_ranges()[0];
    assert_eq!((skipped.id.as_str(), skipped.range_index), ("GO-1", 0));
    assert!(
        skipped.reason.contains("not a version"),
        "{}",
        skipped.reason
    );
}

#[test]
fn unsupported_ecosystem_and_version_are_said() {
    let db = db(vec![simple(
        "BIT-1",
        "Bitnami",
        "thing",
        json!([range("SEMVER", &[("introduced", "0")])]),
        json!(["1.0.0"]),
    )]);
    let reason = unsupported(&db, "Bitnami", "thing", "1.0.0");
    assert!(reason.contains("Bitnami"), "{reason}");
    assert_eq!(db.stats().unsupported_entries, 1);
    assert!(!db.stats().per_ecosystem["Bitnami"].supported);
    // OSV names are case-sensitive.
    assert!(unsupported(&db, "pypi", "demo", "1.0").contains("pypi"));
    // A version the scheme rejects is unsupported, not "not affected".
    let reason = unsupported(&db, "PyPI", "demo", "1.0 beta");
    assert!(reason.contains("PEP 440"), "{reason}");
    assert!(unsupported(&db, "Go", "example.com/mod", "latest").contains("SemVer"));
    // A supported ecosystem with no record of the package is an empty match.
    assert!(ids(&db, "PyPI", "nothing-here", "1.0").is_empty());
}

#[test]
fn go_v_prefixes_and_pseudo_versions() {
    let db = db(vec![
        simple(
            "GO-2",
            "Go",
            "example.com/mod",
            json!([range(
                "SEMVER",
                &[("introduced", "1.2.0"), ("fixed", "1.4.0")]
            )]),
            json!([]),
        ),
        simple(
            "GO-3",
            "Go",
            "example.com/early",
            json!([range("SEMVER", &[("introduced", "0"), ("fixed", "0.1.0")])]),
            json!([]),
        ),
        // Events written with the prefix are read the same.
        simple(
            "GO-4",
            "Go",
            "example.com/prefixed",
            json!([range(
                "SEMVER",
                &[("introduced", "v1.0.0"), ("fixed", "v1.0.1")]
            )]),
            json!([]),
        ),
    ]);
    table(
        &db,
        "Go",
        "example.com/mod",
        &[
            ("v1.1.9", false),
            ("v1.2.0", true),
            ("1.3.0", true),
            ("v1.3.0+incompatible", true),
            // A pseudo-version based on 1.3.x is a pre-release of 1.3.(x+1): inside.
            ("v1.3.1-0.20200101000000-abcdef123456", true),
            // One based on 1.4.0 sorts after the fix.
            ("v1.4.1-0.20200101000000-abcdef123456", false),
            // A pseudo-version before 1.4.0 (a 1.4.0 pre-release) is before the fix.
            ("v1.4.0-0.20200101000000-abcdef123456", true),
            ("v1.4.0", false),
        ],
    );
    table(
        &db,
        "Go",
        "example.com/early",
        &[
            ("v0.0.0-20190101000000-abcdef123456", true),
            ("v0.1.0", false),
        ],
    );
    table(
        &db,
        "Go",
        "example.com/prefixed",
        &[("1.0.0", true), ("v1.0.1", false)],
    );
    // Module paths are case-sensitive.
    assert!(!hit(&db, "Go", "example.com/Mod", "v1.3.0"));
}

#[test]
fn debian_epochs() {
    let db = one_range(
        "Debian:12",
        "openssl",
        &[("introduced", "0"), ("fixed", "1:2.3-1")],
    );
    table(
        &db,
        "Debian:12",
        "openssl",
        &[
            ("9.9-1", true), // epoch 0 sorts before epoch 1
            ("1:2.2-5", true),
            ("1:2.3~rc1-1", true),
            ("1:2.3-1", false),
            ("1:2.3-1+deb12u1", false),
            ("2:0.1-1", false),
        ],
    );
}

#[test]
fn release_suffixes() {
    let unfixed = |id: &str, ecosystem: &str| {
        simple(
            id,
            ecosystem,
            "curl",
            json!([range("ECOSYSTEM", &[("introduced", "0")])]),
            json!([]),
        )
    };
    let db = db(vec![
        unfixed("DEB-11", "Debian:11"),
        unfixed("DEB-12", "Debian:12"),
        unfixed("DEB-ALL", "Debian"),
        unfixed("ALP-318", "Alpine:v3.18"),
    ]);
    // A release: that release's records, and the unscoped ones.
    assert_eq!(
        ids(&db, "Debian:12", "curl", "7.88.1-10"),
        ["DEB-12", "DEB-ALL"]
    );
    assert_eq!(
        ids(&db, "Debian:11", "curl", "7.74.0-1"),
        ["DEB-11", "DEB-ALL"]
    );
    assert_eq!(ids(&db, "Debian:13", "curl", "8.0-1"), ["DEB-ALL"]);
    // No release: every release's records.
    assert_eq!(
        ids(&db, "Debian", "curl", "7.88.1-10"),
        ["DEB-11", "DEB-12", "DEB-ALL"]
    );
    assert_eq!(ids(&db, "Alpine:v3.18", "curl", "8.4.0-r0"), ["ALP-318"]);
    assert!(ids(&db, "Alpine:v3.19", "curl", "8.4.0-r0").is_empty());
    assert_eq!(ids(&db, "Alpine", "curl", "8.4.0-r0"), ["ALP-318"]);
    // Counted under the ecosystem without its release.
    assert_eq!(db.stats().per_ecosystem["Debian"].entries, 3);
    assert_eq!(db.stats().per_ecosystem["Debian"].packages, 1);
    // The match names the record's own ecosystem string.
    assert_eq!(
        matches(&db, "Debian:12", "curl", "1-1")[0].ecosystem,
        "Debian:12"
    );
}

#[test]
fn names_are_normalised_where_the_ecosystem_says() {
    let db = db(vec![
        simple(
            "PYSEC-1",
            "PyPI",
            "Zope.Interface",
            json!([range("ECOSYSTEM", &[("introduced", "0")])]),
            json!([]),
        ),
        simple(
            "GHSA-n",
            "NuGet",
            "Newtonsoft.Json",
            json!([range(
                "ECOSYSTEM",
                &[("introduced", "0"), ("fixed", "13.0.1")]
            )]),
            json!([]),
        ),
        simple(
            "GHSA-m",
            "Maven",
            "org.Example:Lib",
            json!([range("ECOSYSTEM", &[("introduced", "0")])]),
            json!([]),
        ),
    ]);
    for name in [
        "zope-interface",
        "zope_interface",
        "ZOPE..interface",
        "Zope.Interface",
    ] {
        assert!(hit(&db, "PyPI", name, "5.0"), "{name}");
    }
    assert!(hit(&db, "NuGet", "newtonsoft.json", "12.0.3"));
    assert!(!hit(&db, "NuGet", "newtonsoft.json", "13.0.1"));
    assert!(hit(&db, "Maven", "org.Example:Lib", "1.0"));
    assert!(!hit(&db, "Maven", "org.example:lib", "1.0"));
}

#[test]
fn severity_of_the_entry_overrides_the_record() {
    let r = record(json!({
        "id": "GHSA-sev",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [
            {"package": {"ecosystem": "npm", "name": "a"},
             "ranges": [range("SEMVER", &[("introduced", "0")])]},
            {"package": {"ecosystem": "npm", "name": "b"},
             "ranges": [range("SEMVER", &[("introduced", "0")])],
             "database_specific": {"severity": "LOW"}},
        ],
    }));
    let none = simple(
        "GHSA-none",
        "npm",
        "c",
        json!([range("SEMVER", &[("introduced", "0")])]),
        json!([]),
    );
    let db = db(vec![r, none]);
    let a = &matches(&db, "npm", "a", "1.0.0")[0];
    assert_eq!(
        (a.severity.level, a.severity.score),
        (Level::Critical, Some(9.8))
    );
    let b = &matches(&db, "npm", "b", "1.0.0")[0];
    assert_eq!((b.severity.level, b.severity.score), (Level::Low, None));
    let c = &matches(&db, "npm", "c", "1.0.0")[0];
    assert_eq!(
        c.severity.level,
        Level::Unknown,
        "no severity is Unknown, still reported"
    );
}

#[test]
fn duplicate_ids_keep_the_latest() {
    let mut old = simple(
        "OSV-9",
        "PyPI",
        "demo",
        json!([range("ECOSYSTEM", &[("introduced", "0"), ("fixed", "1.0")])]),
        json!([]),
    );
    old.modified = Some("2023-01-01T00:00:00Z".into());
    let mut new = simple(
        "OSV-9",
        "PyPI",
        "demo",
        json!([range("ECOSYSTEM", &[("introduced", "0"), ("fixed", "2.0")])]),
        json!([]),
    );
    new.modified = Some("2024-01-01T00:00:00Z".into());
    for records in [vec![old.clone(), new.clone()], vec![new, old]] {
        let db = db(records);
        assert_eq!(db.stats().duplicates, 1);
        assert_eq!(ids(&db, "PyPI", "demo", "1.5"), ["OSV-9"]);
        assert_eq!(matches(&db, "PyPI", "demo", "1.5").len(), 1);
    }
}

#[test]
fn non_total_orders_neither_panic_nor_depend_on_order() {
    // Maven's specification orders 1.sp > 1 > 1-alpha > 1.sp: a cycle. Sorting these events
    // could panic; the pairwise evaluation compares each pair once and needs no sort.
    let events = [
        ("introduced", "1-alpha"),
        ("fixed", "1.sp"),
        ("introduced", "1"),
        ("last_affected", "1.sp"),
    ];
    let mut reversed = events;
    reversed.reverse();
    let a = one_range("Maven", "g:a", &events);
    let b = one_range("Maven", "g:a", &reversed);
    for v in ["1-alpha", "1", "1.sp", "1-beta", "1.0", "2"] {
        assert_eq!(
            hit(&a, "Maven", "g:a", v),
            hit(&b, "Maven", "g:a", v),
            "{v}"
        );
    }
}
