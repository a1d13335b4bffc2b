//! Times importing a generated 30,000-rule source (issue 14's benchmark: "importing a
//! 30,000-rule source under 2 s"; this is the parsing part of it, with no database).
//!
//! `cargo run --release -p stella-suricata --example import_30k`
//!
//! The source is ET-Open-shaped: 30 files of 1,000 rules (one in ten commented out, a prose
//! comment every 50), rules of about 600 bytes with the usual options, as a `.tar.gz` and as
//! one `.rules` file. Each is read five times; the best and the median are printed.

use std::io::Write;
use std::time::{Duration, Instant};

use stella_suricata::{export_ruleset, parse_rules, read_source};

const FILES: usize = 30;
const PER_FILE: usize = 1000;

fn rule(i: usize) -> String {
    format!(
        "alert http $HOME_NET any -> $EXTERNAL_NET any (msg:\"ET MALWARE Generated \\\"family\\\" {i} checkin\"; \
         flow:established,to_server; http.method; content:\"POST\"; http.uri; content:\"/gate{i}.php\"; fast_pattern; \
         http.header; content:\"User-Agent|3a 20|Mozilla/4.0\"; reference:url,example.com/{i}; \
         classtype:trojan-activity; sid:{sid}; rev:{rev}; metadata:affected_product Windows_XP_Vista_7_8_10_Server_32_64_Bit, \
         attack_target Client_Endpoint, created_at 2020_01_01, deployment Perimeter, signature_severity Major, updated_at 2024_01_01;)",
        sid = 2_000_000 + i,
        rev = 1 + i % 5,
    )
}

fn file_text(f: usize) -> String {
    let mut text = format!("# Generated rules, file {f}\n#\n");
    for j in 0..PER_FILE {
        let i = f * PER_FILE + j;
        if j.is_multiple_of(50) {
            text.push_str("\n# alert if this family shows up, check the host\n");
        }
        if i.is_multiple_of(10) {
            text.push('#');
        }
        text.push_str(&rule(i));
        text.push('\n');
    }
    text
}

/// Runs `f` five times; freeing each result is left out of the time.
fn time<T>(what: &str, mut f: impl FnMut() -> T) -> T {
    let mut runs: Vec<Duration> = Vec::new();
    let mut results = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let result = f();
        runs.push(start.elapsed());
        results.push(result);
    }
    runs.sort();
    println!("{what}: best {:?}, median {:?}", runs[0], runs[2]);
    results.truncate(1);
    match results.pop() {
        Some(v) => v,
        None => unreachable!("five runs"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let texts: Vec<String> = (0..FILES).map(file_text).collect();
    let mut tar = tar::Builder::new(Vec::new());
    for (f, text) in texts.iter().enumerate() {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        tar.append_data(
            &mut h,
            format!("rules/emerging-gen{f:02}.rules"),
            text.as_bytes(),
        )?;
    }
    let tar = tar.into_inner()?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar)?;
    let gz = gz.finish()?;
    let one_file = texts.concat();
    println!(
        "source: {} rules, {} bytes of rules, {} bytes as .tar.gz",
        FILES * PER_FILE,
        one_file.len(),
        gz.len()
    );

    let source = time("read_source(.tar.gz)", || read_source("gen.tar.gz", &gz));
    let source = source?;
    assert_eq!(source.rules.len(), FILES * PER_FILE);
    assert!(source.problems.is_empty());
    let parsed = time("parse_rules(one 30,000-rule file)", || {
        parse_rules(&one_file, "gen.rules")
    });
    assert_eq!(parsed.rules.len(), FILES * PER_FILE);
    let export = time("export_ruleset(30,000 rules)", || {
        export_ruleset(
            "generated",
            source
                .rules
                .iter()
                .map(|r| (r.signature.as_str(), r.enabled)),
        )
    })?;
    println!(
        "export: {} enabled, {} disabled, {} bytes",
        export.enabled,
        export.disabled,
        export.text.len()
    );
    Ok(())
}
