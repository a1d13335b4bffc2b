//! Suricata rule sources (`stella_suricata`): any bytes as an uploaded source (a rules file, a
//! tar, a gzip'd tar) under small limits, and as the text of one rules file. Invariants: every
//! input is read or refused with an error that has a code; problems and rules point at lines
//! that exist, in order, with each gid:sid once; nothing goes over the limits; and whatever was
//! read exports, and the export reads back as the same rules with no problem.
#![no_main]

use stella_suricata::{export_ruleset, parse_rules_with, read_source_with, Limits, Parsed, Rule};

fn limits() -> Limits {
    Limits {
        max_line_bytes: 4096,
        max_rule_bytes: 2048,
        max_options: 64,
        max_rules: 200,
        max_problems: 200,
        max_entries: 16,
        max_entry_bytes: 64 << 10,
        max_total_bytes: 256 << 10,
        max_ratio: 50,
        ratio_free_bytes: 16 << 10,
        max_extension_bytes: 1024,
    }
}

fn key(r: &Rule) -> (u32, u64, u32, bool, Option<String>, String) {
    (
        r.gid,
        r.sid,
        r.rev,
        r.enabled,
        r.msg.clone(),
        r.signature.clone(),
    )
}

fn check(rules: &[Rule], limits: &Limits) {
    let mut seen = std::collections::HashSet::new();
    for r in rules {
        assert!(r.line >= 1);
        assert!(r.signature.len() <= limits.max_rule_bytes);
        assert!(!r.signature.contains(['\n', '\r', '\0']));
        assert!(seen.insert((r.gid, r.sid)), "{}:{} twice", r.gid, r.sid);
        assert!((1..u64::from(u32::MAX)).contains(&r.sid));
    }
    assert!(rules.len() <= limits.max_rules);
    let export = export_ruleset(
        "fuzz",
        rules.iter().map(|r| (r.signature.as_str(), r.enabled)),
    )
    .unwrap_or_else(|e| panic!("a parsed rule does not export: {e}"));
    let again = parse_rules_with(&export.text, "again.rules", &Limits::default());
    assert!(again.problems.is_empty(), "{:?}", again.problems);
    let ours: Vec<_> = rules.iter().map(key).collect();
    let theirs: Vec<_> = again.rules.iter().map(key).collect();
    assert_eq!(ours, theirs);
}

fn check_parsed(text: &str, parsed: &Parsed, limits: &Limits) {
    let lines = text.split_terminator('\n').count();
    for p in &parsed.problems {
        assert!(p.line >= 1 && p.line <= lines.max(1), "{p}");
        assert!(!p.code().is_empty());
    }
    assert!(parsed.problems.windows(2).all(|w| w[0].line <= w[1].line));
    assert!(parsed.problems.len() <= limits.max_problems + 1);
    for r in &parsed.rules {
        assert!(r.line <= lines);
    }
    check(&parsed.rules, limits);
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = limits();
    match read_source_with("fuzz.rules", data, &limits) {
        Ok(source) => {
            assert!(!source.files.is_empty());
            assert!(source.problems.len() <= limits.max_problems + 1);
            check(&source.rules, &limits);
        }
        Err(e) => assert!(!e.code().is_empty()),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let parsed = parse_rules_with(text, "fuzz.rules", &limits);
        check_parsed(text, &parsed, &limits);
    }
});
