//! Real data, real tool: the rules Debian's `suricata` package ships (under /etc/suricata/rules
//! or /usr/share/suricata/rules). Every rule line is accounted for — a rule or a problem, by a
//! count made here independently of the parser — and the export of them passes `suricata -T`,
//! with Suricata reading the same sid, gid, rev and msg as this crate. Without the package the
//! tests print a notice and pass.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use stella_suricata::{export_ruleset, parse_rules, read_source, Rule};

const ACTIONS: [&str; 8] = [
    "alert",
    "pass",
    "drop",
    "reject",
    "rejectsrc",
    "rejectdst",
    "rejectboth",
    "config",
];

/// The package's rule files, sorted; empty without the package.
fn debian_rule_files() -> Vec<PathBuf> {
    for dir in ["/etc/suricata/rules", "/usr/share/suricata/rules"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rules"))
            .collect();
        files.sort();
        if !files.is_empty() {
            return files;
        }
    }
    Vec::new()
}

/// How many rules a file holds, counted simply: a line that is not blank and not a comment
/// starts a rule, and so does a comment whose text starts with an action and has a `sid:`;
/// a line after one ending in a backslash continues it.
fn count_rule_lines(text: &str) -> usize {
    let mut count = 0;
    let mut continues = false;
    for line in text.lines() {
        let t = line.trim();
        if continues {
            continues = t.ends_with('\\');
            continue;
        }
        let starts = if let Some(comment) = t.strip_prefix('#') {
            let body = comment.trim_start_matches(['#', ' ', '\t']);
            let word = body.split_whitespace().next().unwrap_or("");
            ACTIONS.contains(&word.to_ascii_lowercase().as_str()) && body.contains("sid:")
        } else {
            !t.is_empty()
        };
        if starts {
            count += 1;
            continues = t.ends_with('\\');
        }
    }
    count
}

fn notice(what: &str) {
    eprintln!(
        "NOTICE: {what}; skipping (apt-get install suricata, from bookworm-backports on Debian 12)"
    );
}

#[test]
fn every_rule_of_every_file_is_accounted_for() {
    let files = debian_rule_files();
    if files.is_empty() {
        return notice("no Debian suricata rule files");
    }
    let mut total = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parsed = parse_rules(&text, &name);
        let expected = count_rule_lines(&text);
        assert_eq!(
            parsed.rules.len() + parsed.problems.len(),
            expected,
            "{name}: {} rules + {} problems for {expected} rule lines; problems: {:#?}",
            parsed.rules.len(),
            parsed.problems.len(),
            parsed.problems
        );
        // Debian's rules are all readable, enabled or not.
        assert!(parsed.problems.is_empty(), "{name}: {:#?}", parsed.problems);
        let stem = name.trim_end_matches(".rules");
        assert!(parsed
            .rules
            .iter()
            .all(|r| r.category == stem && r.file == name));
        total += parsed.rules.len();
    }
    eprintln!("{} Debian rule files, {total} rules", files.len());
    assert!(total > 100, "only {total} rules in {files:?}");
}

/// Every file of the package, as one source the way an upload gives it: a `.tar.gz`.
fn debian_source() -> Option<(Vec<u8>, usize)> {
    let files = debian_rule_files();
    if files.is_empty() {
        return None;
    }
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        tar.append_path_with_name(path, format!("rules/{name}"))
            .unwrap_or_else(|e| panic!("{path:?}: {e}"));
    }
    let bytes = tar
        .into_inner()
        .and_then(|gz| gz.finish())
        .unwrap_or_else(|e| panic!("{e}"));
    Some((bytes, files.len()))
}

#[test]
fn the_package_as_one_uploaded_source() {
    let Some((bytes, file_count)) = debian_source() else {
        return notice("no Debian suricata rule files");
    };
    let source = read_source("suricata-debian.tar.gz", &bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(source.files.len(), file_count);
    assert!(source.skipped.is_empty(), "{:?}", source.skipped);
    // Across files, duplicates (the same gid:sid in two files) are the only problems.
    assert!(
        source
            .problems
            .iter()
            .all(|p| p.code() == "rule-duplicate-sid"),
        "{:#?}",
        source.problems
    );
    let per_file: usize = debian_rule_files()
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            parse_rules(&text, "x.rules").rules.len()
        })
        .sum();
    assert_eq!(source.rules.len() + source.problems.len(), per_file);
    assert!(source.rules.iter().all(|r| r.file.starts_with("rules/")));
}

fn key(r: &Rule) -> (u64, u64, u64, Option<String>) {
    (u64::from(r.gid), r.sid, u64::from(r.rev), r.msg.clone())
}

#[test]
fn export_passes_suricata_t() {
    let Some((bytes, _)) = debian_source() else {
        return notice("no Debian suricata rule files");
    };
    let source = read_source("suricata-debian.tar.gz", &bytes).unwrap_or_else(|e| panic!("{e}"));
    let export = export_ruleset(
        "Debian suricata rules",
        source
            .rules
            .iter()
            .map(|r| (r.signature.as_str(), r.enabled)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(export.enabled + export.disabled, source.rules.len());

    let Some(suricata) = common::suricata() else {
        return notice("suricata is not on PATH");
    };
    if let Err(e) = common::check(&suricata, &export.text) {
        panic!("{e}");
    }
    // Suricata loads exactly the enabled rules, and reads them as this crate does.
    let theirs: BTreeSet<_> = common::analysed(&suricata, &export.text)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .collect();
    let ours: BTreeSet<_> = source.rules.iter().filter(|r| r.enabled).map(key).collect();
    assert_eq!(ours.len(), export.enabled);
    assert_eq!(ours, theirs);
    // Enabling the disabled ones as well is not expected to pass: Debian disables them for
    // reasons of their own (hash lists that are not installed, an HTTP event Suricata 7 no
    // longer has), which is the probe's configuration, not the rule text.
    eprintln!(
        "suricata -T accepted {} enabled rules ({} disabled, commented out)",
        export.enabled, export.disabled
    );
}
