//! The committed fixture (`tests/fixtures/local.rules`, written for these tests): every kind of
//! line the parser meets, what it makes of each, and that the export of it passes
//! `suricata -T` and is read by Suricata as it is read here.

mod common;

use stella_suricata::{export_ruleset, parse_rules, read_source, Action, Direction, Reason};

const FIXTURE: &str = include_str!("fixtures/local.rules");

#[test]
fn every_line_is_accounted_for() {
    let parsed = parse_rules(FIXTURE, "local.rules");
    let got: Vec<(u32, u64, u32, usize, bool)> = parsed
        .rules
        .iter()
        .map(|r| (r.gid, r.sid, r.rev, r.line, r.enabled))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 9100001, 3, 6, true),
            (1, 9100002, 1, 7, false),
            (1, 9100003, 1, 8, false),
            (1, 9100004, 2, 10, true),
            (1, 9100005, 1, 14, false),
            (1, 9100006, 1, 17, true),
            (1, 9100007, 0, 18, true),
            (1, 9100009, 2, 22, true),
            (1, 9100010, 1, 23, true),
            (3, 9100001, 1, 24, true),
        ]
    );
    let problems: Vec<(usize, &str)> = parsed.problems.iter().map(|p| (p.line, p.code())).collect();
    assert_eq!(
        problems,
        vec![
            (19, "rule-missing-sid"),
            (20, "rule-bad-quoting"),
            (21, "rule-duplicate-sid"),
            (25, "rule-unfinished-continuation"),
        ]
    );
    assert!(parsed.problems.iter().all(|p| p.file == "local.rules"));
    match &parsed.problems[2].reason {
        Reason::DuplicateSid {
            kept_line,
            kept_rev,
            rev,
            ..
        } => assert_eq!((*kept_line, *kept_rev, *rev), (22, 2, 1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn fields_of_the_rules() {
    let parsed = parse_rules(FIXTURE, "rules/local.rules");
    let by_sid = |gid: u32, sid: u64| {
        parsed
            .rules
            .iter()
            .find(|r| (r.gid, r.sid) == (gid, sid))
            .unwrap_or_else(|| panic!("{gid}:{sid} missing"))
    };
    let first = by_sid(1, 9100001);
    assert_eq!(first.msg.as_deref(), Some("STELLA TEST outbound to 4444"));
    assert_eq!(first.classtype.as_deref(), Some("trojan-activity"));
    assert_eq!(first.category, "local");
    assert_eq!(first.file, "rules/local.rules");
    assert_eq!(first.metadata.len(), 2);
    assert_eq!(first.dst_port, "4444");

    let multi = by_sid(1, 9100004);
    assert_eq!(
        multi.msg.as_deref(),
        Some("STELLA TEST multi-line \"quoted\" a;b")
    );
    assert_eq!(multi.references.len(), 2);
    // Continuation lines joined as Suricata joins them: backslash and line break gone.
    assert_eq!(
        multi.signature,
        concat!(
            r#"alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"STELLA TEST multi-line \"quoted\" a\;b"; "#,
            r#"    flow:established,to_server; http.uri; content:"/stella-test"; "#,
            r#"    reference:url,example.com/stella; reference:cve,2024-0001; classtype:web-application-attack; sid:9100004; rev:2;)"#,
        )
    );

    let disabled = by_sid(1, 9100005);
    assert!(!disabled.enabled);
    assert!(disabled.signature.starts_with("alert dns any any"));
    assert!(disabled.signature.contains("    dns.query;"));

    assert_eq!(by_sid(1, 9100003).action, Action::Drop);
    let pass = by_sid(1, 9100007);
    assert_eq!(
        (pass.action, pass.direction),
        (Action::Pass, Direction::Both)
    );
    assert_eq!(
        by_sid(1, 9100006).signature,
        r#"alert icmp any any -> any any (msg:"STELLA TEST indented"; itype:8; sid:9100006; rev:1;)"#
    );
    assert_eq!(
        by_sid(1, 9100010).msg.as_deref(),
        Some("STELLA TEST backslash \\")
    );
    assert_eq!(
        by_sid(1, 9100009).msg.as_deref(),
        Some("STELLA TEST new revision")
    );
}

#[test]
fn crlf_and_bom_read_like_lf() {
    let crlf = format!("\u{feff}{}", FIXTURE.replace('\n', "\r\n"));
    let a = parse_rules(FIXTURE, "local.rules");
    let b = parse_rules(&crlf, "local.rules");
    assert_eq!(a, b);
}

#[test]
fn read_as_an_upload() {
    let source = read_source("local.rules", FIXTURE.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let parsed = parse_rules(FIXTURE, "local.rules");
    assert_eq!(source.rules, parsed.rules);
    assert_eq!(source.problems, parsed.problems);
    assert_eq!(source.files, ["local.rules"]);
}

#[test]
fn export_passes_suricata() {
    let parsed = parse_rules(FIXTURE, "local.rules");
    let export = export_ruleset(
        "Stella Ops fixture",
        parsed
            .rules
            .iter()
            .map(|r| (r.signature.as_str(), r.enabled)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((export.enabled, export.disabled), (7, 3));
    // What the export holds reads back as the same rules.
    let again = parse_rules(&export.text, "local.rules");
    assert!(again.problems.is_empty(), "{:?}", again.problems);
    let key = |r: &stella_suricata::Rule| (r.gid, r.sid, r.rev, r.enabled, r.msg.clone());
    assert_eq!(
        again.rules.iter().map(key).collect::<Vec<_>>(),
        parsed.rules.iter().map(key).collect::<Vec<_>>()
    );

    let Some(suricata) = common::suricata() else {
        eprintln!("NOTICE: suricata is not installed; skipping `suricata -T` of the fixture export (apt-get install suricata)");
        return;
    };
    if let Err(e) = common::check(&suricata, &export.text) {
        panic!("{e}\n--- export ---\n{}", export.text);
    }
    // Every rule enabled (the disabled ones too) is still a ruleset Suricata accepts.
    let all = export_ruleset(
        "all",
        parsed.rules.iter().map(|r| (r.signature.as_str(), true)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = common::check(&suricata, &all.text) {
        panic!("{e}\n--- export ---\n{}", all.text);
    }
    // Suricata reads the same sid, gid, rev and msg as this crate.
    let mut theirs = common::analysed(&suricata, &all.text).unwrap_or_else(|e| panic!("{e}"));
    theirs.sort();
    theirs.dedup();
    let mut ours: Vec<_> = parsed
        .rules
        .iter()
        .map(|r| (u64::from(r.gid), r.sid, u64::from(r.rev), r.msg.clone()))
        .collect();
    ours.sort();
    assert_eq!(ours, theirs);
}
