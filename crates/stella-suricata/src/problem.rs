//! What could not be read, and where: a rule line is never dropped silently.

use crate::limits::Limit;

/// A line (or a rule spanning lines, then its first line) that gave no rule, or a rule that
/// was left out of the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file the line is in: the name given to [`crate::parse_rules`], or the entry's path
    /// in an archive.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    pub reason: Reason,
}

impl Problem {
    /// The reason's stable code.
    pub fn code(&self) -> &'static str {
        self.reason.code()
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// Why a line gave no rule. [`Reason::code`] is stable and meant for API clients; the message
/// says what is wrong in terms of the rule language, quoting at most a short excerpt of the
/// input.
///
/// The checks are the ones Suricata itself makes while splitting a rule (action, header fields,
/// `;`-terminated options, quoting, `sid`/`rev`/`gid` values, repeated keywords, the rule
/// size), so that a rule read here also loads on a probe as far as its structure goes. What
/// needs Suricata's keyword table or configuration (unknown keywords, a `classtype` missing
/// from `classification.config`, app-layer protocols disabled in `suricata.yaml`) is not
/// checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    #[error("line is {bytes} bytes, over the limit {limit} = {max}", limit = Limit::LineBytes)]
    LineTooLong { bytes: usize, max: usize },
    #[error("rule is {bytes} bytes, over the limit {limit} = {max} (Suricata reads at most 8191)", limit = Limit::RuleBytes)]
    RuleTooLong { bytes: usize, max: usize },
    #[error("rule has more than {max} options (limit {limit})", limit = Limit::Options)]
    TooManyOptions { max: usize },
    #[error("more than {max} rules in the source (limit {limit}): the rest was not read", limit = Limit::Rules)]
    TooManyRules { max: usize },
    #[error("more than {max} problems in the source (limit {limit}): reading stopped here, and later problems are not reported", limit = Limit::Problems)]
    TooManyProblems { max: usize },
    #[error("line is not valid UTF-8")]
    NotUtf8,
    #[error("control character {0} in the rule (Suricata reads a NUL as the end of the rule; other tools read a CR as a line break)")]
    ControlCharacter(String),
    #[error("the file ends inside a rule continued with a trailing backslash")]
    UnfinishedContinuation,
    #[error("unknown action {0:?}: use alert, pass, drop, reject, rejectsrc, rejectdst, rejectboth or config")]
    UnknownAction(String),
    #[error("the header ends before the {0}: a rule is `action protocol src_addr src_port direction dst_addr dst_port (options)`")]
    IncompleteHeader(&'static str),
    #[error(
        "tab in the rule header field {0:?}: Suricata separates header fields with spaces only"
    )]
    TabInHeader(String),
    #[error("unknown direction {0:?}: use -> or <>")]
    BadDirection(String),
    #[error("no options: the header must be followed by `(` and the options, then `)`")]
    NoOptions,
    #[error("the options are not closed with `)`")]
    UnclosedOptions,
    #[error("text after the closing `)`: {0:?}")]
    TrailingText(String),
    #[error("option {0:?} is not terminated by `;` (a `;` inside a value must be written \\;)")]
    UnterminatedOption(String),
    #[error("empty option (two `;` in a row, or `;` before the first option)")]
    EmptyOption,
    #[error("option name {0:?} is not a keyword: names are letters, digits, `_`, `.` and `-`")]
    BadOptionName(String),
    #[error("option {option} has a badly quoted value {value:?}: a quoted value starts and ends with `\"` and is not empty; a `;` inside it must be written \\;")]
    BadQuoting { option: String, value: String },
    #[error("no sid: every rule needs `sid:<number>;`")]
    MissingSid,
    #[error("{option} value {value:?} is invalid: {why}")]
    BadNumber {
        option: &'static str,
        value: String,
        why: &'static str,
    },
    #[error("{0} is given more than once (Suricata refuses the rule)")]
    RepeatedKeyword(&'static str),
    #[error("duplicate of {gid}:{sid} (rev {rev}); the rule at {kept_file}:{kept_line} (rev {kept_rev}) is kept")]
    DuplicateSid {
        gid: u32,
        sid: u64,
        rev: u32,
        kept_file: String,
        kept_line: usize,
        kept_rev: u32,
    },
}

impl Reason {
    /// A stable, machine-readable code for API responses and client logic.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::LineTooLong { .. } => "rule-line-too-long",
            Reason::RuleTooLong { .. } => "rule-too-long",
            Reason::TooManyOptions { .. } => "rule-too-many-options",
            Reason::TooManyRules { .. } => "rules-too-many",
            Reason::TooManyProblems { .. } => "rules-too-many-problems",
            Reason::NotUtf8 => "rule-not-utf8",
            Reason::UnfinishedContinuation => "rule-unfinished-continuation",
            Reason::ControlCharacter(_) => "rule-control-character",
            Reason::UnknownAction(_) => "rule-unknown-action",
            Reason::IncompleteHeader(_) => "rule-incomplete-header",
            Reason::TabInHeader(_) => "rule-tab-in-header",
            Reason::BadDirection(_) => "rule-bad-direction",
            Reason::NoOptions => "rule-no-options",
            Reason::UnclosedOptions => "rule-unclosed-options",
            Reason::TrailingText(_) => "rule-trailing-text",
            Reason::UnterminatedOption(_) => "rule-unterminated-option",
            Reason::EmptyOption => "rule-empty-option",
            Reason::BadOptionName(_) => "rule-bad-option-name",
            Reason::BadQuoting { .. } => "rule-bad-quoting",
            Reason::MissingSid => "rule-missing-sid",
            Reason::BadNumber { .. } => "rule-bad-number",
            Reason::RepeatedKeyword(_) => "rule-repeated-keyword",
            Reason::DuplicateSid { .. } => "rule-duplicate-sid",
        }
    }
}

/// Input echoed in a message is cut short: a problem for a hostile 60 KiB line must not be
/// 60 KiB itself.
pub(crate) fn excerpt(s: &str) -> String {
    const MAX_CHARS: usize = 80;
    match s.char_indices().nth(MAX_CHARS) {
        None => s.to_owned(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_on_a_char_boundary() {
        assert_eq!(excerpt("short"), "short");
        let cut = excerpt(&"é".repeat(300));
        assert_eq!(cut.chars().count(), 81);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn bound_messages_name_the_limit() {
        let p = Problem {
            file: "x.rules".into(),
            line: 3,
            reason: Reason::RuleTooLong {
                bytes: 9000,
                max: 8191,
            },
        };
        assert_eq!(p.code(), "rule-too-long");
        let text = p.to_string();
        assert!(
            text.starts_with("x.rules:3: ") && text.contains("max_rule_bytes"),
            "{text}"
        );
        let r = Reason::TooManyOptions { max: 2 };
        assert!(r.to_string().contains("max_options"));
    }
}
