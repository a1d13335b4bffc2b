//! One rule: `action protocol src_addr src_port direction dst_addr dst_port (options)`.
//!
//! The header is split as Suricata splits it: the action ends at a blank; each of the other
//! fields ends at a space outside `[…]` (so `[1.2.3.4, 5.6.7.8]` is one field), and a tab
//! inside a field is an error, since Suricata would not split there either. Header fields are
//! kept as text: their grammar (variables, negation, ranges) is Suricata's business.

use crate::limits::Limits;
use crate::options::{number, unquote, Opt, Options};
use crate::problem::{excerpt, Reason};

/// A rule read from a source.
///
/// `signature` is the source of truth: what is exported, and what the other fields were read
/// from. For a rule written over several lines it is the lines joined as Suricata joins them
/// (each trailing backslash and the line break after it removed, nothing else changed); for a
/// disabled rule it is the text after the `#`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Suricata keeps it in 32 bits (1 to 4294967294); it is a `u64` here because that is what
    /// the API and the stores key rules on.
    pub sid: u64,
    /// 1 when the rule has no `gid`, as in Suricata. When `gid` is repeated the last one counts,
    /// as in Suricata.
    pub gid: u32,
    /// 0 when the rule has no `rev`: that is what Suricata reports in alerts for such a rule
    /// (it refuses `rev:0` itself, so 0 always means "not given").
    pub rev: u32,
    /// The `msg` text, escapes resolved (`\;` → `;`).
    pub msg: Option<String>,
    /// The first `classtype` (Suricata warns about a repeated one and keeps the one with the
    /// highest priority in `classification.config`, which this crate does not read).
    pub classtype: Option<String>,
    /// `metadata` entries (`key value`), from every `metadata` option, in order.
    pub metadata: Vec<Metadata>,
    /// `reference` entries (`type,value`), in order.
    pub references: Vec<Reference>,
    pub action: Action,
    pub protocol: String,
    pub src_addr: String,
    pub src_port: String,
    pub direction: Direction,
    pub dst_addr: String,
    pub dst_port: String,
    /// False for a rule written commented out (`# alert …`) in the source.
    pub enabled: bool,
    /// The rule file's stem: `emerging-dns.rules` → `emerging-dns` (how ET Open and Scirius
    /// name categories).
    pub category: String,
    /// The file the rule is in (the entry's path in an archive).
    pub file: String,
    /// The 1-based line the rule starts on.
    pub line: usize,
    pub signature: String,
}

/// A `metadata` entry: `created_at 2024_01_01` is key `created_at`, value `2024_01_01`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub key: String,
    pub value: String,
}

/// A `reference` option: `reference:cve,2021-44228;` is kind `cve`, value `2021-44228`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub kind: String,
    pub value: String,
}

/// What a rule does when it matches. Suricata reads the action case-insensitively.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Alert,
    Pass,
    Drop,
    Reject,
    RejectSrc,
    RejectDst,
    RejectBoth,
    Config,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::Alert,
        Action::Pass,
        Action::Drop,
        Action::Reject,
        Action::RejectSrc,
        Action::RejectDst,
        Action::RejectBoth,
        Action::Config,
    ];

    /// The keyword as Suricata documents it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::Pass => "pass",
            Action::Drop => "drop",
            Action::Reject => "reject",
            Action::RejectSrc => "rejectsrc",
            Action::RejectDst => "rejectdst",
            Action::RejectBoth => "rejectboth",
            Action::Config => "config",
        }
    }

    /// The action named by `word`, in any case.
    pub fn from_word(word: &str) -> Option<Action> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(word))
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `->` (source to destination) or `<>` (both ways): the two Suricata 7 accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    ToDst,
    Both,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToDst => "->",
            Direction::Both => "<>",
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads one rule from its signature: one line, no comment marker, no continuation. The rule
/// is enabled, with an empty file and category and line 1; [`crate::parse_rules`] reads whole
/// files. Bounded by [`Limits::default`].
pub fn parse_rule(signature: &str) -> Result<Rule, Reason> {
    parse_signature(signature, &Limits::default())
}

/// The header fields after the action, in order, with the name an error uses for each.
const FIELDS: [&str; 6] = [
    "protocol",
    "source address",
    "source port",
    "direction",
    "destination address",
    "destination port",
];

/// Reads one rule (already joined and with surrounding whitespace trimmed).
pub(crate) fn parse_signature(text: &str, limits: &Limits) -> Result<Rule, Reason> {
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.len() > limits.max_rule_bytes {
        return Err(Reason::RuleTooLong {
            bytes: text.len(),
            max: limits.max_rule_bytes,
        });
    }
    if let Some(c) = control_character(text) {
        return Err(Reason::ControlCharacter(format!("{c:?}")));
    }
    let bytes = text.as_bytes();

    let action_end = bytes
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(bytes.len());
    let action_word = &text[..action_end];
    let action = Action::from_word(action_word)
        .ok_or_else(|| Reason::UnknownAction(excerpt(action_word)))?;

    let mut pos = action_end;
    let mut fields: [&str; 6] = [""; 6];
    for (i, name) in FIELDS.iter().enumerate() {
        while pos < bytes.len() && (bytes[pos] == b' ' || bytes[pos] == b'\t') {
            pos += 1;
        }
        let start = pos;
        let mut depth: i64 = 0;
        while pos < bytes.len() {
            match bytes[pos] {
                b'[' => depth += 1,
                b']' => depth -= 1,
                b' ' if depth == 0 => break,
                _ => {}
            }
            pos += 1;
        }
        if pos >= bytes.len() {
            // A field running to the end: nothing can follow it, not even the options.
            return Err(if start == pos {
                Reason::IncompleteHeader(name)
            } else {
                match FIELDS.get(i + 1) {
                    Some(next) => Reason::IncompleteHeader(next),
                    None => Reason::NoOptions,
                }
            });
        }
        let field = &text[start..pos];
        if field.contains('\t') {
            return Err(Reason::TabInHeader(excerpt(field)));
        }
        fields[i] = field;
    }
    let [protocol, src_addr, src_port, direction, dst_addr, dst_port] = fields;
    let direction = match direction {
        "->" => Direction::ToDst,
        "<>" => Direction::Both,
        other => return Err(Reason::BadDirection(excerpt(other))),
    };

    let rest = text[pos..].trim_start_matches(|c: char| c.is_ascii_whitespace());
    if !rest.starts_with('(') {
        return Err(Reason::NoOptions);
    }
    if !rest.ends_with(')') {
        return Err(match rest.rfind(')') {
            Some(close) => Reason::TrailingText(excerpt(rest[close + 1..].trim())),
            None => Reason::UnclosedOptions,
        });
    }
    // As Suricata: every leading `(` and trailing `)` (and blank) goes.
    let body = rest
        .trim_start_matches(|c: char| c == '(' || c.is_ascii_whitespace())
        .trim_end_matches(|c: char| c == ')' || c.is_ascii_whitespace());

    let mut rule = Rule {
        sid: 0,
        gid: 1,
        rev: 0,
        msg: None,
        classtype: None,
        metadata: Vec::new(),
        references: Vec::new(),
        action,
        protocol: protocol.to_owned(),
        src_addr: src_addr.to_owned(),
        src_port: src_port.to_owned(),
        direction,
        dst_addr: dst_addr.to_owned(),
        dst_port: dst_port.to_owned(),
        enabled: true,
        category: String::new(),
        file: String::new(),
        line: 1,
        signature: text.to_owned(),
    };
    let mut seen_sid = false;
    let mut seen_rev = false;
    for (count, opt) in Options::new(body).enumerate() {
        if count >= limits.max_options {
            return Err(Reason::TooManyOptions {
                max: limits.max_options,
            });
        }
        apply(&mut rule, opt?, &mut seen_sid, &mut seen_rev)?;
    }
    if !seen_sid {
        return Err(Reason::MissingSid);
    }
    Ok(rule)
}

/// The first control character other than tab, if any (checked byte-wise for ASCII text, the
/// usual case: this runs on every rule).
fn control_character(text: &str) -> Option<char> {
    let is_control = |c: char| c.is_control() && c != '\t';
    if text.is_ascii() {
        text.bytes().map(char::from).find(|&c| is_control(c))
    } else {
        text.chars().find(|&c| is_control(c))
    }
}

/// Records what an option says about the rule, for the options this crate extracts.
fn apply(
    rule: &mut Rule,
    opt: Opt<'_>,
    seen_sid: &mut bool,
    seen_rev: &mut bool,
) -> Result<(), Reason> {
    let is = |name: &str| opt.name.eq_ignore_ascii_case(name);
    // Values fit in 32 bits: `number` refuses anything from 4294967295 up.
    let small = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    if is("sid") {
        if std::mem::replace(seen_sid, true) {
            return Err(Reason::RepeatedKeyword("sid"));
        }
        rule.sid = number("sid", opt.value, 1)?;
    } else if is("rev") {
        if std::mem::replace(seen_rev, true) {
            return Err(Reason::RepeatedKeyword("rev"));
        }
        rule.rev = small(number("rev", opt.value, 1)?);
    } else if is("gid") {
        rule.gid = small(number("gid", opt.value, 0)?);
    } else if is("msg") {
        if rule.msg.is_some() {
            return Err(Reason::RepeatedKeyword("msg"));
        }
        let value = opt.value.unwrap_or("");
        if !value.starts_with('"') {
            return Err(Reason::BadQuoting {
                option: "msg".into(),
                value: excerpt(value),
            });
        }
        rule.msg = Some(unquote(value));
    } else if is("classtype") {
        if rule.classtype.is_none() {
            rule.classtype = opt.value.map(str::to_owned);
        }
    } else if is("metadata") {
        for entry in opt.value.unwrap_or("").split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let (key, value) = entry
                .split_once(|c: char| c.is_ascii_whitespace())
                .unwrap_or((entry, ""));
            rule.metadata.push(Metadata {
                key: key.to_owned(),
                value: value.trim().to_owned(),
            });
        }
    } else if is("reference") {
        let value = opt.value.unwrap_or("");
        let (kind, target) = value.split_once(',').unwrap_or((value, ""));
        rule.references.push(Reference {
            kind: kind.trim().to_owned(),
            value: target.trim().to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Rule {
        match parse_rule(text) {
            Ok(rule) => rule,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    fn err(text: &str) -> Reason {
        match parse_rule(text) {
            Ok(rule) => panic!("{text}: parsed as {rule:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn reads_the_fields() {
        let r = ok(
            r#"alert http $HOME_NET any -> [1.2.3.4, 5.6.7.8] ![80,443] (msg:"ET TEST a\;b \"q\""; flow:established,to_server; reference:cve,2021-44228; reference:url,example.com/x; classtype:trojan-activity; sid:2000001; rev:7; metadata:created_at 2020_01_01, updated_at 2021_02_03; metadata:signature_severity Major;)"#,
        );
        assert_eq!((r.sid, r.gid, r.rev), (2000001, 1, 7));
        assert_eq!(r.msg.as_deref(), Some(r#"ET TEST a;b "q""#));
        assert_eq!(r.classtype.as_deref(), Some("trojan-activity"));
        assert_eq!(r.action, Action::Alert);
        assert_eq!(r.protocol, "http");
        assert_eq!(r.src_addr, "$HOME_NET");
        assert_eq!(r.dst_addr, "[1.2.3.4, 5.6.7.8]");
        assert_eq!(r.dst_port, "![80,443]");
        assert_eq!(r.direction, Direction::ToDst);
        assert_eq!(
            r.references,
            vec![
                Reference {
                    kind: "cve".into(),
                    value: "2021-44228".into()
                },
                Reference {
                    kind: "url".into(),
                    value: "example.com/x".into()
                },
            ]
        );
        let keys: Vec<_> = r.metadata.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["created_at", "updated_at", "signature_severity"]);
        assert_eq!(r.metadata[2].value, "Major");
    }

    #[test]
    fn defaults_as_suricata() {
        let r = ok("DROP tcp any any <> any any (sid:5;)");
        assert_eq!((r.gid, r.rev, r.msg.as_deref()), (1, 0, None));
        assert_eq!(r.action, Action::Drop);
        assert_eq!(r.direction, Direction::Both);
        // gid repeated: the last counts.
        assert_eq!(
            ok("alert ip any any -> any any (gid:3; gid:4; sid:1;)").gid,
            4
        );
        assert_eq!(ok("alert ip any any -> any any (gid:0; sid:1;)").gid, 0);
    }

    #[test]
    fn lenient_where_suricata_is() {
        ok("alert tcp any any -> any any ( msg : \"x\" ; sid : 7 ; )");
        ok("alert\ttcp  any  any  ->  any  any  ((msg:\"x\";\tsid:7;))");
        assert_eq!(
            ok(r#"alert tcp any any -> any any (msg:"a"b"; sid:7;)"#)
                .msg
                .as_deref(),
            Some(r#"a"b"#)
        );
    }

    #[test]
    fn refuses_what_suricata_refuses() {
        use Reason::*;
        let cases: &[(&str, &str)] = &[
            (
                "warn tcp any any -> any any (sid:1;)",
                "rule-unknown-action",
            ),
            ("alert", "rule-incomplete-header"),
            ("alert tcp any any ->", "rule-incomplete-header"),
            ("alert tcp any any -> any any", "rule-no-options"),
            ("alert tcp any any -> any (sid:1;)", "rule-no-options"),
            (
                "alert tcp any any <- any any (sid:1;)",
                "rule-bad-direction",
            ),
            (
                "alert tcp any any => any any (sid:1;)",
                "rule-bad-direction",
            ),
            (
                "alert tcp\tany any -> any any (sid:1;)",
                "rule-tab-in-header",
            ),
            (
                "alert tcp any any -> any any (sid:1;",
                "rule-unclosed-options",
            ),
            (
                "alert tcp any any -> any any (sid:1;) x",
                "rule-trailing-text",
            ),
            (
                "alert tcp any any -> any any (sid:1)",
                "rule-unterminated-option",
            ),
            (
                "alert tcp any any -> any any (msg:\"a;b\"; sid:1;)",
                "rule-bad-quoting",
            ),
            (
                "alert tcp any any -> any any (msg:x; sid:1;)",
                "rule-bad-quoting",
            ),
            (
                "alert tcp any any -> any any (msg:\"x\";)",
                "rule-missing-sid",
            ),
            ("alert tcp any any -> any any (sid:0;)", "rule-bad-number"),
            (
                "alert tcp any any -> any any (sid:\"7\";)",
                "rule-bad-number",
            ),
            (
                "alert tcp any any -> any any (sid:4294967295;)",
                "rule-bad-number",
            ),
            (
                "alert tcp any any -> any any (sid:1; rev:0;)",
                "rule-bad-number",
            ),
            (
                "alert tcp any any -> any any (sid:1; sid:2;)",
                "rule-repeated-keyword",
            ),
            (
                "alert tcp any any -> any any (sid:1; rev:1; rev:2;)",
                "rule-repeated-keyword",
            ),
            (
                "alert tcp any any -> any any (msg:\"a\"; msg:\"b\"; sid:1;)",
                "rule-repeated-keyword",
            ),
            (
                "alert tcp any any -> any any (msg:\"a\rb\"; sid:1;)",
                "rule-control-character",
            ),
            (
                "alert tcp any any -> any any (msg:\"a\0b\"; sid:1;)",
                "rule-control-character",
            ),
        ];
        for (text, code) in cases {
            assert_eq!(err(text).code(), *code, "{text}: {}", err(text));
        }
        assert!(matches!(
            err("alert tcp any any -> any any (sid:1;;)"),
            EmptyOption
        ));
    }

    #[test]
    fn bounds() {
        let limits = Limits {
            max_options: 3,
            max_rule_bytes: 60,
            ..Limits::default()
        };
        let text = "alert ip any any -> any any (a; b; c; d; sid:1;)";
        assert_eq!(
            parse_signature(text, &limits),
            Err(Reason::TooManyOptions { max: 3 })
        );
        let long = format!(
            "alert ip any any -> any any (msg:\"{}\"; sid:1;)",
            "x".repeat(40)
        );
        assert!(matches!(
            parse_signature(&long, &limits),
            Err(Reason::RuleTooLong { max: 60, .. })
        ));
    }
}
