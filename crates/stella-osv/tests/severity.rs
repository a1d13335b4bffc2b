//! Severity from CVSS vectors (known scores), Ubuntu priorities and database_specific, and its
//! order of preference.

mod common;

use common::record;
use serde_json::json;
use stella_osv::severity::{
    affected_severity, cvss_base_score, level_for_score, record_severity, CvssVersion, Source,
};
use stella_osv::Level;

/// Vectors and the scores FIRST's calculators give. The v3.1 ones are all in Red Hat's `cvss`
/// test set (every v3.1 base vector, checked against FIRST's calculator); the v4.0 ones are the
/// FIRST specification's 9.3 and 10.0 and vectors from Red Hat's v4.0 test set.
const KNOWN: &[(&str, f64, Level)] = &[
    // v3.1
    (
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        9.8,
        Level::Critical,
    ),
    (
        "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N",
        6.4,
        Level::Medium,
    ),
    (
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
        10.0,
        Level::Critical,
    ),
    (
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
        7.8,
        Level::High,
    ),
    (
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
        6.1,
        Level::Medium,
    ),
    (
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N",
        5.9,
        Level::Medium,
    ),
    (
        "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
        1.6,
        Level::Low,
    ),
    (
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        7.5,
        Level::High,
    ),
    // v3.0 (3.0 rounds up without 3.1's floating-point guard; the same here)
    (
        "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        9.8,
        Level::Critical,
    ),
    // All impacts None: 0.0, which this crate puts in Low (see severity.rs).
    (
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",
        0.0,
        Level::Low,
    ),
    // v4.0
    (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        9.3,
        Level::Critical,
    ),
    (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
        10.0,
        Level::Critical,
    ),
    (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        8.6,
        Level::High,
    ),
    (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:N/VA:L/SC:N/SI:H/SA:N",
        8.3,
        Level::High,
    ),
    (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:L/VI:N/VA:N/SC:L/SI:N/SA:L",
        5.3,
        Level::Medium,
    ),
    (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:N/SC:N/SI:L/SA:N",
        6.9,
        Level::Medium,
    ),
    (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:H/VA:L/SC:N/SI:H/SA:L",
        9.2,
        Level::Critical,
    ),
    (
        "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:N/SA:N",
        2.1,
        Level::Low,
    ),
    (
        "CVSS:4.0/AV:P/AC:H/AT:N/PR:H/UI:A/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
        0.0,
        Level::Low,
    ),
];

#[test]
fn known_vectors_score_as_the_calculators_do() {
    let mut wrong = Vec::new();
    for (vector, score, level) in KNOWN {
        match cvss_base_score(vector) {
            Ok((got, _)) if (got - score).abs() < 1e-9 && level_for_score(got) == *level => {}
            other => wrong.push(format!("{vector}: want {score} {level:?}, got {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(cvss_base_score(KNOWN[0].0).unwrap().1, CvssVersion::V3);
    assert_eq!(cvss_base_score(KNOWN[10].0).unwrap().1, CvssVersion::V4);
}

#[test]
fn bands() {
    let cases = [
        (0.0, Level::Low),
        (0.1, Level::Low),
        (3.9, Level::Low),
        (4.0, Level::Medium),
        (6.9, Level::Medium),
        (7.0, Level::High),
        (8.9, Level::High),
        (9.0, Level::Critical),
        (10.0, Level::Critical),
    ];
    for (score, level) in cases {
        assert_eq!(level_for_score(score), level, "{score}");
    }
}

#[test]
fn bad_vectors_are_errors() {
    for bad in [
        "",
        "CVSS:3.1/AV:N",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", // A missing
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N", // SA missing
        "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:5.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "AV:N/AC:L/Au:N/C:P/I:P/A:P", // v2: not scored
        "high",
    ] {
        assert!(cvss_base_score(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn preference_v4_then_v3_then_ubuntu_then_database_specific() {
    let v3 = json!({"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N"});
    let v4 = json!({"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"});
    let v2 = json!({"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:C/I:C/A:C"});
    let ubuntu = json!({"type": "Ubuntu", "score": "high"});
    let bad_v4 = json!({"type": "CVSS_V4", "score": "CVSS:4.0/nonsense"});
    let sev = |severity: serde_json::Value, ds: serde_json::Value| {
        record_severity(&record(
            json!({"id": "X", "severity": severity, "database_specific": ds}),
        ))
    };

    let s = sev(json!([v3, v4]), json!({"severity": "LOW"}));
    assert_eq!(
        (s.level, s.score, s.source),
        (Level::Critical, Some(9.3), Source::CvssV4)
    );
    assert_eq!(s.vector.as_deref(), v4["score"].as_str());

    let s = sev(json!([bad_v4, v3]), json!({"severity": "LOW"}));
    assert_eq!(
        (s.level, s.score, s.source),
        (Level::Medium, Some(6.4), Source::CvssV3)
    );

    let s = sev(json!([v2, ubuntu]), json!({"severity": "LOW"}));
    assert_eq!(
        (s.level, s.score, s.source),
        (Level::High, None, Source::Ubuntu)
    );

    for word in ["CRITICAL", "high", "Moderate", "MEDIUM", "low"] {
        let s = sev(json!([v2]), json!({"severity": word}));
        assert_eq!(s.source, Source::DatabaseSpecific, "{word}");
        assert_ne!(s.level, Level::Unknown, "{word}");
    }
    assert_eq!(
        sev(json!([]), json!({"severity": "MODERATE"})).level,
        Level::Medium
    );

    // Nothing usable: Unknown, never dropped.
    for (severity, ds) in [
        (json!([]), json!(null)),
        (json!([v2]), json!({"severity": "UNKNOWN"})),
        (json!([]), json!({"severity": 7})),
        (json!([{"type": "Ubuntu", "score": "untriaged"}]), json!({})),
    ] {
        let s = sev(severity, ds);
        assert_eq!(
            (s.level, s.score, s.source),
            (Level::Unknown, None, Source::None)
        );
    }
}

#[test]
fn affected_entry_overrides_the_record() {
    let r = record(json!({
        "id": "X",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [
            {"package": {"ecosystem": "npm", "name": "a"}},
            {"package": {"ecosystem": "npm", "name": "b"},
             "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"}]},
        ],
    }));
    assert_eq!(affected_severity(&r, &r.affected[0]).score, Some(9.8));
    assert_eq!(affected_severity(&r, &r.affected[1]).score, Some(1.6));
    assert_eq!(record_severity(&r).level, Level::Critical);
}
