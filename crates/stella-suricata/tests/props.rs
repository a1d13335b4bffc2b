//! Property tests of the parser: it never panics and keeps its line numbers on any input, and
//! rules rendered from generated fields read back with those fields (alone, continued over
//! lines, commented out, between prose and blank lines, and through the export).

use proptest::prelude::*;
use stella_suricata::{export_ruleset, parse_rules, Action, Rule};

/// The fields a rule is rendered from.
#[derive(Clone, Debug)]
struct Spec {
    action: Action,
    header: String,
    msg: Option<String>,
    classtype: Option<String>,
    sid: u64,
    rev: Option<u32>,
    gid: Option<u32>,
    extra: Vec<String>,
}

/// `msg` text as a rule carries it: `\`, `"` and `;` escaped.
fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if matches!(c, '\\' | '"' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Spec {
    /// The options, each with its `;`.
    fn options(&self) -> Vec<String> {
        let mut opts = Vec::new();
        if let Some(m) = &self.msg {
            opts.push(format!("msg:\"{}\";", escape(m)));
        }
        opts.extend(self.extra.iter().cloned());
        if let Some(c) = &self.classtype {
            opts.push(format!("classtype:{c};"));
        }
        if let Some(g) = self.gid {
            opts.push(format!("gid:{g};"));
        }
        opts.push(format!("sid:{};", self.sid));
        if let Some(r) = self.rev {
            opts.push(format!("rev:{r};"));
        }
        opts
    }

    fn render(&self) -> String {
        format!(
            "{} {} ({})",
            self.action,
            self.header,
            self.options().join(" ")
        )
    }

    /// The same rule over several lines: a backslash before a break between options.
    fn render_continued(&self, breaks: &[bool]) -> Vec<String> {
        let mut lines = vec![format!("{} {} (", self.action, self.header)];
        for (i, opt) in self.options().iter().enumerate() {
            let line = lines.len() - 1;
            lines[line].push_str(opt);
            lines[line].push(' ');
            if breaks.get(i).copied().unwrap_or(false) {
                lines[line].push('\\');
                lines.push("    ".into());
            }
        }
        let last = lines.len() - 1;
        lines[last].push(')');
        lines
    }

    fn check(&self, rule: &Rule) -> Result<(), TestCaseError> {
        prop_assert_eq!(rule.action, self.action);
        prop_assert_eq!(rule.sid, self.sid);
        prop_assert_eq!(rule.rev, self.rev.unwrap_or(0));
        prop_assert_eq!(rule.gid, self.gid.unwrap_or(1));
        prop_assert_eq!(&rule.msg, &self.msg);
        prop_assert_eq!(&rule.classtype, &self.classtype);
        Ok(())
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    let action = prop::sample::select(Action::ALL.to_vec());
    let header = (
        prop::sample::select(vec![
            "tcp", "udp", "ip", "http", "dns", "tls", "icmp", "TCP",
        ]),
        prop::sample::select(vec![
            "any",
            "$HOME_NET",
            "!$HOME_NET",
            "[10.0.0.0/8, 192.0.2.1]",
            "192.0.2.0/24",
        ]),
        prop::sample::select(vec!["any", "80", "[80,443]", "!22", "1024:"]),
        prop::sample::select(vec!["->", "<>"]),
        prop::sample::select(vec!["any", "$EXTERNAL_NET", "[1.2.3.4,5.6.7.8]"]),
        prop::sample::select(vec!["any", "$HTTP_PORTS", "[53, 5353]"]),
    )
        .prop_map(|(p, sa, sp, d, da, dp)| format!("{p} {sa} {sp} {d} {da} {dp}"));
    let msg = prop::option::of("[ -~é√]{1,40}");
    let classtype = prop::option::of("[a-z][a-z-]{0,20}");
    let extra = prop::collection::vec(
        prop::sample::select(vec![
            "flow:established,to_server;".to_string(),
            "content:\"GET\";".to_string(),
            "nocase;".to_string(),
            "content:!\"a\\;b\";".to_string(),
            "pcre:\"/x\\\\y/i\";".to_string(),
            "metadata:created_at 2024_01_01, tag x;".to_string(),
            "reference:url,example.com/a;".to_string(),
        ]),
        0..4,
    );
    (
        action,
        header,
        msg,
        classtype,
        1u64..u64::from(u32::MAX),
        prop::option::of(1u32..u32::MAX),
        prop::option::of(0u32..u32::MAX),
        extra,
    )
        .prop_map(
            |(action, header, msg, classtype, sid, rev, gid, extra)| Spec {
                action,
                header,
                msg,
                classtype,
                sid,
                rev,
                gid,
                extra,
            },
        )
}

/// Text that looks enough like rules to reach every branch of the parser.
fn rulish() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "alert",
        "drop",
        "#",
        "# ",
        "##",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\\\n",
        "\\",
        "(",
        ")",
        ";",
        ":",
        "\"",
        "[",
        "]",
        "->",
        "<>",
        "tcp",
        "any",
        "sid:",
        "rev:",
        "gid:",
        "msg:",
        "1",
        "4294967295",
        "0",
        "classtype:x",
        "metadata:a b,c",
        "é",
        "\u{feff}",
        "\r",
        "\0",
    ]);
    prop::collection::vec(piece, 0..80).prop_map(|v| v.concat())
}

fn line_count(text: &str) -> usize {
    text.split_terminator('\n').count()
}

/// Invariants of any parse: line numbers are within the text and in order, each rule starts
/// on a line that begins (after blanks and `#`) with its action, and each sid is kept once.
fn check_invariants(text: &str, file: &str) -> Result<(), TestCaseError> {
    let parsed = parse_rules(text, file);
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    let n = line_count(text);
    for p in &parsed.problems {
        prop_assert!(p.line >= 1 && p.line <= n.max(1), "{p} in {n} lines");
        prop_assert_eq!(&p.file, file);
        prop_assert!(!p.code().is_empty());
    }
    prop_assert!(parsed.problems.windows(2).all(|w| w[0].line <= w[1].line));
    let mut keys = std::collections::HashSet::new();
    for r in &parsed.rules {
        prop_assert!(r.line >= 1 && r.line <= n);
        let start = lines[r.line - 1]
            .trim_start_matches('\u{feff}')
            .trim_start_matches(|c: char| c == '#' || c.is_ascii_whitespace());
        prop_assert!(
            start.to_ascii_lowercase().starts_with(r.action.as_str()),
            "rule at line {} starts {:?}",
            r.line,
            start
        );
        prop_assert!(!r.signature.contains('\n'));
        prop_assert!(keys.insert((r.gid, r.sid)));
    }
    // Whatever was read exports, and the export reads back as the same rules, problem-free.
    let export = export_ruleset(
        file,
        parsed
            .rules
            .iter()
            .map(|r| (r.signature.as_str(), r.enabled)),
    )
    .map_err(|e| TestCaseError::fail(format!("{e} for {text:?}")))?;
    let again = parse_rules(&export.text, file);
    prop_assert!(again.problems.is_empty(), "{:?}", again.problems);
    let key = |r: &Rule| {
        (
            r.gid,
            r.sid,
            r.rev,
            r.enabled,
            r.msg.clone(),
            r.signature.clone(),
        )
    };
    prop_assert_eq!(
        again.rules.iter().map(key).collect::<Vec<_>>(),
        parsed.rules.iter().map(key).collect::<Vec<_>>()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_any_text(text in "(?s).{0,400}") {
        check_invariants(&text, "any.rules")?;
    }

    #[test]
    fn never_panics_on_rule_like_text(text in rulish()) {
        check_invariants(&text, "rulish.rules")?;
    }

    #[test]
    fn rendered_rules_read_back(s in spec(), commented in any::<bool>(), hashes in 1usize..3, space in any::<bool>()) {
        let mut text = s.render();
        if commented {
            text = format!("{}{}{text}", "#".repeat(hashes), if space { " " } else { "" });
        }
        let parsed = parse_rules(&text, "gen.rules");
        prop_assert!(parsed.problems.is_empty(), "{:?} for {}", parsed.problems, text);
        prop_assert_eq!(parsed.rules.len(), 1);
        let rule = &parsed.rules[0];
        s.check(rule)?;
        prop_assert_eq!(rule.enabled, !commented);
        prop_assert_eq!(&rule.signature, &s.render());
        prop_assert_eq!(rule.category.as_str(), "gen");
    }

    #[test]
    fn continued_rules_read_back(s in spec(), breaks in prop::collection::vec(any::<bool>(), 0..12), commented in any::<bool>()) {
        let mut lines = s.render_continued(&breaks);
        if commented {
            lines = lines.into_iter().map(|l| format!("#{l}")).collect();
        }
        let parsed = parse_rules(&lines.join("\n"), "gen.rules");
        prop_assert!(parsed.problems.is_empty(), "{:?} for {:?}", parsed.problems, lines);
        prop_assert_eq!(parsed.rules.len(), 1);
        s.check(&parsed.rules[0])?;
        prop_assert_eq!(parsed.rules[0].enabled, !commented);
    }

    #[test]
    fn rules_keep_their_line_numbers_among_prose(
        specs in prop::collection::vec(spec(), 1..20),
        filler in prop::collection::vec(prop::sample::select(vec![
            "", "   ", "# prose", "# alert if this is seen, worry", "#", "## alert tcp (x; y)", "\t# indented comment",
        ]), 0..40),
        seed in any::<u64>(),
    ) {
        let mut lines: Vec<String> = Vec::new();
        let mut expected = Vec::new();
        let mut fill = filler.iter().cycle();
        let mut sid = 0u64;
        for (i, s) in specs.iter().enumerate() {
            let gaps = ((seed >> (i % 60)) & 3) as usize;
            for _ in 0..gaps.min(filler.len()) {
                lines.push(fill.next().map(|f| f.to_string()).unwrap_or_default());
            }
            // Distinct sids, so that no rule is a duplicate of another.
            sid += 1;
            let s = Spec { sid, gid: None, ..s.clone() };
            expected.push((lines.len() + 1, sid));
            lines.push(s.render());
        }
        let text = lines.join("\n");
        let parsed = parse_rules(&text, "gen.rules");
        prop_assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let got: Vec<(usize, u64)> = parsed.rules.iter().map(|r| (r.line, r.sid)).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn export_reads_back(specs in prop::collection::vec((spec(), any::<bool>()), 1..20)) {
        let mut seen = std::collections::HashSet::new();
        let specs: Vec<(Spec, bool)> = specs
            .into_iter()
            .filter(|(s, _)| seen.insert((s.gid.unwrap_or(1), s.sid)))
            .collect();
        let rendered: Vec<(String, bool)> = specs.iter().map(|(s, on)| (s.render(), *on)).collect();
        let export = export_ruleset("generated\nruleset", rendered.iter().map(|(t, on)| (t.as_str(), *on)))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let parsed = parse_rules(&export.text, "export.rules");
        prop_assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        prop_assert_eq!(parsed.rules.len(), specs.len());
        for ((s, on), rule) in specs.iter().zip(&parsed.rules) {
            s.check(rule)?;
            prop_assert_eq!(rule.enabled, *on);
        }
    }
}
