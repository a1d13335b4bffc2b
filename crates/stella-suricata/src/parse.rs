//! Rule files: lines, comments, continuations, and rules written commented out.
//!
//! A line is, after its leading blanks:
//! * empty: skipped;
//! * `#` followed (after more `#` and blanks) by text that reads as a whole rule: a disabled
//!   rule (`enabled: false`). Any other `#` line is prose and skipped, even one that starts
//!   with an action word (`# alert if STARTTLS was not followed by TLS`);
//! * anything else: a rule, or a [`Problem`] with its line number. Nothing is dropped silently.
//!
//! A line ending in a backslash (trailing blanks aside) continues on the next, joined as
//! Suricata joins them: the backslash and the line break go, nothing else. A disabled rule may
//! continue too, on lines that start with `#`.
//!
//! Leading blanks are allowed before a rule. Suricata's own loader skips such a line, but
//! suricata-update (which prepares sources for Suricata, and which Scirius and SCS build on)
//! reads it as a rule, and an indent is far more likely a slip than a way to disable a rule;
//! the export writes the rule unindented.

use std::collections::HashMap;

use crate::limits::Limits;
use crate::problem::{Problem, Reason};
use crate::rule::{parse_signature, Action, Rule};

/// The rules of a file or a source, and the lines that gave none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// In source order, one per `gid:sid` (see [`crate::parse_rules`] for duplicates).
    pub rules: Vec<Rule>,
    /// In source order (file, then line).
    pub problems: Vec<Problem>,
}

/// Reads a rule file, within [`Limits::default`]. `file` names it in rules and problems, and
/// its stem is the rules' category.
///
/// Two rules with the same `gid:sid` cannot both load on a probe. The one kept is the one
/// Suricata keeps, so that what the API lists is what a probe runs: the higher `rev`, and on
/// equal revs the first; with one addition, that an enabled rule wins over a disabled one
/// (Suricata never sees the disabled one). Every other one is reported as a
/// [`Reason::DuplicateSid`] problem at its line, naming the rule kept.
pub fn parse_rules(text: &str, file: &str) -> Parsed {
    parse_rules_with(text, file, &Limits::default())
}

/// [`parse_rules`] within the given limits.
pub fn parse_rules_with(text: &str, file: &str, limits: &Limits) -> Parsed {
    let mut out = Accumulator::new(limits);
    out.file(text, file, &[]);
    out.finish()
}

/// The category of the rules in `file`: its name without directories and without the last
/// extension (`rules/emerging-dns.rules` → `emerging-dns`).
pub fn category_of(file: &str) -> String {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    match name.rfind('.') {
        Some(dot) if dot > 0 => name[..dot].to_owned(),
        _ => name.to_owned(),
    }
}

/// Rules and problems of one or more files, within one set of limits.
pub(crate) struct Accumulator<'l> {
    limits: &'l Limits,
    parsed: Parsed,
    /// Files in the order they were read, for sorting problems.
    files: HashMap<String, usize>,
    /// Set once a source-wide bound is reached: nothing more is read.
    stopped: bool,
    /// Set once `max_problems` is reached: nothing more is reported.
    problems_full: bool,
}

/// A rule being read over several lines.
struct Pending {
    line: usize,
    text: String,
    commented: bool,
}

impl<'l> Accumulator<'l> {
    pub fn new(limits: &'l Limits) -> Self {
        Accumulator {
            limits,
            parsed: Parsed::default(),
            files: HashMap::new(),
            stopped: false,
            problems_full: false,
        }
    }

    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Reports a problem unless the budget is spent; the first one past it stops reading.
    fn problem(&mut self, file: &str, line: usize, reason: Reason) {
        if self.problems_full {
            return;
        }
        if self.parsed.problems.len() >= self.limits.max_problems {
            self.parsed.problems.push(Problem {
                file: file.to_owned(),
                line,
                reason: Reason::TooManyProblems {
                    max: self.limits.max_problems,
                },
            });
            self.problems_full = true;
            self.stopped = true;
            return;
        }
        self.parsed.problems.push(Problem {
            file: file.to_owned(),
            line,
            reason,
        });
    }

    fn rule(&mut self, mut rule: Rule, file: &str, category: &str, line: usize, enabled: bool) {
        if self.stopped {
            return;
        }
        if self.parsed.rules.len() >= self.limits.max_rules {
            self.problem(
                file,
                line,
                Reason::TooManyRules {
                    max: self.limits.max_rules,
                },
            );
            self.stopped = true;
            return;
        }
        rule.enabled = enabled;
        rule.file = file.to_owned();
        rule.category = category.to_owned();
        rule.line = line;
        self.parsed.rules.push(rule);
    }

    /// Reads one file. `bad_lines` are lines already known not to be UTF-8 (blanked in
    /// `text`): each gets a problem.
    pub fn file(&mut self, text: &str, file: &str, bad_lines: &[usize]) {
        let next = self.files.len();
        self.files.entry(file.to_owned()).or_insert(next);
        let category = category_of(file);
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut bad = bad_lines.iter().copied().peekable();
        let mut pending: Option<Pending> = None;
        for (index, raw) in text.split_terminator('\n').enumerate() {
            if self.stopped {
                return;
            }
            let number = index + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if bad.peek() == Some(&number) {
                bad.next();
                if let Some(p) = pending.take() {
                    self.abandon(p, file);
                }
                self.problem(file, number, Reason::NotUtf8);
                continue;
            }
            if line.len() > self.limits.max_line_bytes {
                if let Some(p) = pending.take() {
                    self.abandon(p, file);
                }
                self.problem(
                    file,
                    number,
                    Reason::LineTooLong {
                        bytes: line.len(),
                        max: self.limits.max_line_bytes,
                    },
                );
                continue;
            }
            let piece = match pending.take() {
                Some(mut p) => {
                    let piece = if p.commented {
                        match line.trim_start_matches([' ', '\t']).strip_prefix('#') {
                            Some(after) => after.trim_start_matches('#'),
                            None => {
                                // A commented rule continued on a line that is not a comment:
                                // the first part was prose after all; read this line afresh.
                                self.fresh(line, number, file, &category, &mut pending);
                                continue;
                            }
                        }
                    } else {
                        line
                    };
                    p.text.push_str(piece);
                    p
                }
                None => {
                    self.fresh(line, number, file, &category, &mut pending);
                    continue;
                }
            };
            self.continue_or_finish(piece, file, &category, &mut pending);
        }
        if let Some(p) = pending.take() {
            self.abandon(p, file);
        }
    }

    /// Reads a line that does not continue a rule.
    fn fresh(
        &mut self,
        line: &str,
        number: usize,
        file: &str,
        category: &str,
        pending: &mut Option<Pending>,
    ) {
        let content = line.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if content.is_empty() {
            return;
        }
        let (text, commented) = match content.strip_prefix('#') {
            Some(after) => {
                let body = after.trim_start_matches(|c: char| c == '#' || c.is_ascii_whitespace());
                if !starts_with_action(body) {
                    return;
                }
                (body, true)
            }
            None => (content, false),
        };
        let continued = text
            .trim_end_matches(|c: char| c.is_ascii_whitespace())
            .ends_with('\\');
        if !continued {
            // The usual case: a one-line rule, read in place.
            self.read(text, number, commented, file, category);
            return;
        }
        let p = Pending {
            line: number,
            text: text.to_owned(),
            commented,
        };
        self.continue_or_finish(p, file, category, pending);
    }

    /// Reads a whole rule starting on line `number`: a rule or, unless commented, a problem.
    fn read(&mut self, text: &str, number: usize, commented: bool, file: &str, category: &str) {
        match parse_signature(text, self.limits) {
            Ok(rule) => self.rule(rule, file, category, number, !commented),
            Err(reason) if !commented => self.problem(file, number, reason),
            Err(_) => {}
        }
    }

    /// Keeps reading `p` on the next line if it ends with a backslash, else reads the rule.
    fn continue_or_finish(
        &mut self,
        mut p: Pending,
        file: &str,
        category: &str,
        pending: &mut Option<Pending>,
    ) {
        let trimmed = p.text.trim_end_matches(|c: char| c.is_ascii_whitespace());
        if let Some(before) = trimmed.strip_suffix('\\') {
            let keep = before.len();
            p.text.truncate(keep);
            // A rule already past its bound cannot become valid: report it now rather than
            // letting it grow line after line.
            if p.text.len() > self.limits.max_rule_bytes {
                self.abandon_too_long(p, file);
                return;
            }
            *pending = Some(p);
            return;
        }
        self.read(&p.text, p.line, p.commented, file, category);
    }

    /// A rule cut short (by the end of the file or a line that could not be read).
    fn abandon(&mut self, p: Pending, file: &str) {
        if !p.commented {
            self.problem(file, p.line, Reason::UnfinishedContinuation);
        }
    }

    fn abandon_too_long(&mut self, p: Pending, file: &str) {
        if !p.commented {
            let bytes = p.text.len();
            self.problem(
                file,
                p.line,
                Reason::RuleTooLong {
                    bytes,
                    max: self.limits.max_rule_bytes,
                },
            );
        }
    }

    /// Removes duplicate `gid:sid`s (see [`parse_rules`]) and puts problems in source order.
    pub fn finish(mut self) -> Parsed {
        let rules = std::mem::take(&mut self.parsed.rules);
        let mut winner: HashMap<(u32, u64), usize> = HashMap::with_capacity(rules.len());
        for (i, rule) in rules.iter().enumerate() {
            let key = (rule.gid, rule.sid);
            match winner.get(&key) {
                Some(&w) if !beats(rule, &rules[w]) => {}
                _ => {
                    winner.insert(key, i);
                }
            }
        }
        let mut kept = Vec::with_capacity(winner.len());
        let mut duplicates = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let w = winner.get(&(rule.gid, rule.sid)).copied().unwrap_or(i);
            if w == i {
                continue;
            }
            let k = &rules[w];
            duplicates.push(Problem {
                file: rule.file.clone(),
                line: rule.line,
                reason: Reason::DuplicateSid {
                    gid: rule.gid,
                    sid: rule.sid,
                    rev: rule.rev,
                    kept_file: k.file.clone(),
                    kept_line: k.line,
                    kept_rev: k.rev,
                },
            });
        }
        for (i, rule) in rules.into_iter().enumerate() {
            if winner.get(&(rule.gid, rule.sid)) == Some(&i) {
                kept.push(rule);
            }
        }
        for d in duplicates {
            let Problem { file, line, reason } = d;
            self.problem(&file, line, reason);
        }
        let files = &self.files;
        self.parsed
            .problems
            .sort_by_key(|p| (files.get(&p.file).copied().unwrap_or(usize::MAX), p.line));
        self.parsed.rules = kept;
        self.parsed
    }
}

/// Whether `a`, seen after `b`, replaces it: enabled over disabled, then the higher rev.
fn beats(a: &Rule, b: &Rule) -> bool {
    (a.enabled, a.rev) > (b.enabled, b.rev)
}

/// Whether `text` starts with an action keyword and a blank: a candidate rule.
fn starts_with_action(text: &str) -> bool {
    let end = text.find([' ', '\t']).unwrap_or(text.len());
    end < text.len() && Action::from_word(&text[..end]).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(p: &Parsed) -> Vec<(usize, &'static str)> {
        p.problems.iter().map(|p| (p.line, p.code())).collect()
    }

    #[test]
    fn categories_are_file_stems() {
        assert_eq!(category_of("rules/emerging-dns.rules"), "emerging-dns");
        assert_eq!(category_of("C:\\upload\\local.rules"), "local");
        assert_eq!(category_of("plain"), "plain");
        assert_eq!(category_of(".rules"), ".rules");
        assert_eq!(category_of("a.b.rules"), "a.b");
    }

    #[test]
    fn prose_comments_are_not_rules() {
        let text = "# alert if STARTTLS was not followed by TLS\n\
                    # alert tcp traffic on port 80 (for example; see docs)\n\
                    #alert tcp any any -> any any (msg:\"no sid\";)\n\
                    # drop: the action, explained\n\
                    # sid:5 is retired\n";
        let p = parse_rules(text, "x.rules");
        assert_eq!(p, Parsed::default());
    }

    #[test]
    fn a_commented_rule_continued_by_a_live_line_is_prose() {
        let text = "#alert tcp any any -> any any (msg:\"x\"; \\\n\
                    alert tcp any any -> any any (msg:\"live\"; sid:2;)\n";
        let p = parse_rules(text, "x.rules");
        assert_eq!(p.rules.len(), 1);
        assert_eq!(
            (p.rules[0].sid, p.rules[0].line, p.rules[0].enabled),
            (2, 2, true)
        );
        assert!(p.problems.is_empty());
    }

    #[test]
    fn a_live_rule_continued_by_a_comment_takes_it_in_as_suricata_does() {
        let text = "alert tcp any any -> any any (msg:\"x\"; \\\n# sid:1;)\n";
        let p = parse_rules(text, "x.rules");
        assert!(p.rules.is_empty());
        assert_eq!(codes(&p), [(1, "rule-bad-option-name")]);
    }

    #[test]
    fn enabled_beats_disabled_then_rev_then_first() {
        let text = "alert ip any any -> any any (msg:\"a\"; sid:1; rev:1;)\n\
                    #alert ip any any -> any any (msg:\"b\"; sid:1; rev:9;)\n\
                    alert ip any any -> any any (msg:\"c\"; sid:1; rev:1;)\n";
        let p = parse_rules(text, "x.rules");
        assert_eq!(p.rules.len(), 1);
        assert_eq!(p.rules[0].msg.as_deref(), Some("a"));
        assert_eq!(
            codes(&p),
            [(2, "rule-duplicate-sid"), (3, "rule-duplicate-sid")]
        );
    }

    #[test]
    fn bounds_say_which() {
        let rule = |sid: usize| format!("alert ip any any -> any any (msg:\"r\"; sid:{sid};)\n");
        let limits = Limits {
            max_line_bytes: 80,
            max_rules: 2,
            ..Limits::default()
        };
        let text = format!(
            "# {}\n{}{}{}{}",
            "x".repeat(100),
            rule(1),
            rule(2),
            rule(3),
            rule(4)
        );
        let p = parse_rules_with(&text, "x.rules", &limits);
        assert_eq!(p.rules.len(), 2);
        assert_eq!(
            codes(&p),
            [(1, "rule-line-too-long"), (4, "rules-too-many")]
        );
        assert!(p.problems[1].to_string().contains("max_rules"));

        let limits = Limits {
            max_problems: 2,
            ..Limits::default()
        };
        let p = parse_rules_with("a\nb\nc\nd\n", "x.rules", &limits);
        assert_eq!(
            codes(&p),
            [
                (1, "rule-unknown-action"),
                (2, "rule-unknown-action"),
                (3, "rules-too-many-problems")
            ]
        );

        // A continued rule is cut off as soon as it passes max_rule_bytes.
        let limits = Limits {
            max_rule_bytes: 100,
            ..Limits::default()
        };
        let long = format!(
            "alert ip any any -> any any (msg:\"x\"; \\\n{}\\\n",
            "a".repeat(90)
        );
        let p = parse_rules_with(&format!("{long}{}", rule(1)), "x.rules", &limits);
        assert_eq!(codes(&p), [(1, "rule-too-long")]);
        assert_eq!(p.rules.len(), 1);
        assert_eq!(p.rules[0].line, 3);
    }
}
