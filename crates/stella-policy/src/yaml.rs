//! The YAML ruleset: schema check (every error with a JSON path) and canonical rendering.

use crate::tree::{self, Node, Value};
use crate::{Action, Expiry, Rule, MAX_LIST_ITEMS, MAX_RULES, MAX_STRING_CHARS};
use chrono::{DateTime, NaiveDate};
use stella_proto::problem::FieldError;
use stella_proto::scan::Severity;

/// The one schema version there is.
pub const YAML_VERSION: &str = "1.0";

/// At most this many errors are reported for one document; the rest are summarised.
const MAX_ERRORS: usize = 100;

const TOP_KEYS: &[&str] = &["version", "rules"];
const RULE_KEYS: &[&str] = &[
    "name",
    "action",
    "severity",
    "environments",
    "packages",
    "purls",
    "vulnerabilities",
    "expires",
    "reason",
];

struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.0.push(FieldError {
            path: path.into(),
            msg: msg.into(),
        });
    }
}

/// Reads a YAML ruleset.
pub(crate) fn parse(text: &str) -> Result<Vec<Rule>, Vec<FieldError>> {
    let root = match tree::read(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(vec![FieldError {
                path: "$".to_owned(),
                msg: "The policy is empty".to_owned(),
            }])
        }
        Err(e) => {
            return Err(vec![FieldError {
                path: "$".to_owned(),
                msg: e.to_string(),
            }])
        }
    };
    let mut errors = Errors(Vec::new());
    let rules = document(&root, &mut errors);
    if errors.0.is_empty() {
        Ok(rules)
    } else {
        let mut errors = errors.0;
        if errors.len() > MAX_ERRORS {
            let more = errors.len() - MAX_ERRORS;
            errors.truncate(MAX_ERRORS);
            errors.push(FieldError {
                path: "$".to_owned(),
                msg: format!("{more} more errors not shown"),
            });
        }
        Err(errors)
    }
}

fn document(root: &Node, errors: &mut Errors) -> Vec<Rule> {
    let Value::Map(entries) = &root.value else {
        errors.push(
            "$",
            format!(
                "Expected a mapping with 'version' and 'rules', found {}",
                root.value.kind()
            ),
        );
        return Vec::new();
    };
    unknown_keys("$", entries, TOP_KEYS, errors);
    match get(entries, "version") {
        None => errors.push("$.version", "Missing required key 'version'"),
        Some(node) => match &node.value {
            Value::Scalar(v) if v == YAML_VERSION => {}
            Value::Scalar(v) => errors.push(
                "$.version",
                format!(
                    "Unsupported version '{}'; expected \"{YAML_VERSION}\"",
                    clip(v)
                ),
            ),
            other => errors.push(
                "$.version",
                format!("Expected a string, found {}", other.kind()),
            ),
        },
    }
    let mut rules = Vec::new();
    match get(entries, "rules") {
        None => errors.push("$.rules", "Missing required key 'rules'"),
        Some(node) => match &node.value {
            // `rules:` with nothing after it: an empty ruleset.
            Value::Null => {}
            Value::Seq(items) => {
                if items.len() > MAX_RULES {
                    errors.push(
                        "$.rules",
                        format!("{} rules; at most {MAX_RULES} are accepted", items.len()),
                    );
                    return rules;
                }
                let mut seen: Vec<(String, usize)> = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let path = format!("$.rules[{i}]");
                    let Some(rule) = rule(&path, item, errors) else {
                        continue;
                    };
                    if let Some((_, j)) = seen
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(&rule.name))
                    {
                        errors.push(
                            format!("{path}.name"),
                            format!("Duplicate rule name '{}' (also $.rules[{j}])", rule.name),
                        );
                    } else {
                        seen.push((rule.name.clone(), i));
                    }
                    rules.push(rule);
                }
            }
            other => errors.push(
                "$.rules",
                format!("Expected a list of rules, found {}", other.kind()),
            ),
        },
    }
    rules
}

fn rule(path: &str, node: &Node, errors: &mut Errors) -> Option<Rule> {
    let Value::Map(entries) = &node.value else {
        errors.push(
            path,
            format!("Expected a rule (a mapping), found {}", node.value.kind()),
        );
        return None;
    };
    let before = errors.0.len();
    unknown_keys(path, entries, RULE_KEYS, errors);

    let name = match get(entries, "name") {
        None => {
            errors.push(format!("{path}.name"), "Missing required key 'name'");
            None
        }
        Some(n) => string(&format!("{path}.name"), n, errors).and_then(|s| {
            let s = s.trim().to_owned();
            if s.is_empty() {
                errors.push(format!("{path}.name"), "The name must not be empty");
                None
            } else {
                Some(s)
            }
        }),
    };

    let action = match get(entries, "action") {
        None => {
            errors.push(
                format!("{path}.action"),
                "Missing required key 'action'; expected one of ignore, warn, block",
            );
            None
        }
        Some(n) => {
            let p = format!("{path}.action");
            match &n.value {
                Value::Scalar(s) => match s.to_ascii_lowercase().as_str() {
                    "ignore" => Some(Action::Ignore),
                    "warn" => Some(Action::Warn),
                    "block" => Some(Action::Block),
                    _ => {
                        errors.push(
                            p,
                            format!(
                                "Invalid action '{}'; expected one of ignore, warn, block",
                                clip(s)
                            ),
                        );
                        None
                    }
                },
                other => {
                    errors.push(
                        p,
                        format!(
                            "Expected one of ignore, warn, block, found {}",
                            other.kind()
                        ),
                    );
                    None
                }
            }
        }
    };

    let mut severities = Vec::new();
    if let Some(n) = get(entries, "severity") {
        let p = format!("{path}.severity");
        for s in list(&p, n, errors) {
            match parse_level(&s) {
                Some(level) => {
                    if !severities.contains(&level) {
                        severities.push(level);
                    }
                }
                None => errors.push(p.clone(), format!("Invalid level '{}'", clip(&s))),
            }
        }
    }

    let environments = opt_list(path, entries, "environments", errors);
    let packages = opt_list(path, entries, "packages", errors);
    let vulnerabilities = opt_list(path, entries, "vulnerabilities", errors);
    let purls = opt_list(path, entries, "purls", errors);
    for p in &purls {
        if let Err(msg) = crate::matching::check_purl_pattern(p) {
            errors.push(format!("{path}.purls"), msg);
        }
    }

    let expires = get(entries, "expires").and_then(|n| {
        let p = format!("{path}.expires");
        let s = string(&p, n, errors)?;
        match parse_expiry(s.trim()) {
            Some(e) => Some(e),
            None => {
                errors.push(
                    p,
                    format!(
                        "Invalid date '{}'; expected YYYY-MM-DD or an RFC 3339 timestamp \
                         (years 1970 to 9999)",
                        clip(&s)
                    ),
                );
                None
            }
        }
    });

    let reason = get(entries, "reason").and_then(|n| string(&format!("{path}.reason"), n, errors));

    if errors.0.len() != before {
        return None;
    }
    Some(Rule {
        name: name?,
        action: action?,
        severities,
        environments,
        packages,
        purls,
        vulnerabilities,
        expires,
        reason,
    })
}

fn get<'a>(entries: &'a [(String, Node)], key: &str) -> Option<&'a Node> {
    entries.iter().find(|(k, _)| k == key).map(|(_, n)| n)
}

fn unknown_keys(path: &str, entries: &[(String, Node)], known: &[&str], errors: &mut Errors) {
    for (k, _) in entries {
        if !known.contains(&k.as_str()) {
            let p = if path == "$" {
                format!("$.{}", clip(k))
            } else {
                format!("{path}.{}", clip(k))
            };
            errors.push(
                p,
                format!(
                    "Unknown key '{}'; expected one of {}",
                    clip(k),
                    known.join(", ")
                ),
            );
        }
    }
}

/// A string value: any scalar, within the length bound and without control characters.
fn string(path: &str, node: &Node, errors: &mut Errors) -> Option<String> {
    match &node.value {
        Value::Scalar(s) => check_string(path, s, errors).then(|| s.clone()),
        other => {
            errors.push(path, format!("Expected a string, found {}", other.kind()));
            None
        }
    }
}

fn check_string(path: &str, s: &str, errors: &mut Errors) -> bool {
    if s.chars().count() > MAX_STRING_CHARS {
        errors.push(
            path,
            format!("Longer than {MAX_STRING_CHARS} characters: '{}…'", clip(s)),
        );
        false
    } else if s.chars().any(char::is_control) {
        errors.push(path, "Control characters are not allowed");
        false
    } else if s.trim().is_empty() {
        errors.push(path, "Must not be empty");
        false
    } else {
        true
    }
}

/// A list of strings, or a single string standing for a list of one.
fn list(path: &str, node: &Node, errors: &mut Errors) -> Vec<String> {
    match &node.value {
        Value::Scalar(s) => {
            if check_string(path, s, errors) {
                vec![s.trim().to_owned()]
            } else {
                Vec::new()
            }
        }
        Value::Seq(items) => {
            if items.is_empty() {
                errors.push(
                    path,
                    "An empty list matches nothing; leave the key out to match everything",
                );
                return Vec::new();
            }
            if items.len() > MAX_LIST_ITEMS {
                errors.push(
                    path,
                    format!(
                        "{} items; at most {MAX_LIST_ITEMS} are accepted",
                        items.len()
                    ),
                );
                return Vec::new();
            }
            let mut out: Vec<String> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if let Some(s) = string(&p, item, errors) {
                    let s = s.trim().to_owned();
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
            }
            out
        }
        other => {
            errors.push(
                path,
                format!(
                    "Expected a string or a list of strings, found {}",
                    other.kind()
                ),
            );
            Vec::new()
        }
    }
}

fn opt_list(path: &str, entries: &[(String, Node)], key: &str, errors: &mut Errors) -> Vec<String> {
    get(entries, key)
        .map(|n| list(&format!("{path}.{key}"), n, errors))
        .unwrap_or_default()
}

/// A severity level, case-insensitively.
pub(crate) fn parse_level(s: &str) -> Option<Severity> {
    Severity::ALL
        .into_iter()
        .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
}

/// `YYYY-MM-DD` or RFC 3339, years 1970 to 9999.
pub(crate) fn parse_expiry(s: &str) -> Option<Expiry> {
    use chrono::Datelike;
    let e = if s.len() == 10 {
        Expiry::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?)
    } else {
        Expiry::At(DateTime::parse_from_rfc3339(s).ok()?)
    };
    let year = match e {
        Expiry::Date(d) => d.year(),
        Expiry::At(t) => t.year(),
    };
    (1970..=9999).contains(&year).then_some(e)
}

/// At most 64 characters of a value quoted in a message.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// The canonical YAML for `rules`: every string double-quoted (JSON escapes are YAML escapes),
/// keys in schema order, lists in flow style.
pub(crate) fn render(rules: &[Rule]) -> String {
    let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let qs = |v: &[String]| {
        let items: Vec<String> = v.iter().map(|s| q(s)).collect();
        format!("[{}]", items.join(", "))
    };
    let mut out = format!("version: \"{YAML_VERSION}\"\n");
    if rules.is_empty() {
        out.push_str("rules: []\n");
        return out;
    }
    out.push_str("rules:\n");
    for r in rules {
        out.push_str(&format!("  - name: {}\n", q(&r.name)));
        if !r.severities.is_empty() {
            let levels: Vec<&str> = r.severities.iter().map(|s| s.as_str()).collect();
            out.push_str(&format!("    severity: [{}]\n", levels.join(", ")));
        }
        for (key, v) in [
            ("environments", &r.environments),
            ("packages", &r.packages),
            ("purls", &r.purls),
            ("vulnerabilities", &r.vulnerabilities),
        ] {
            if !v.is_empty() {
                out.push_str(&format!("    {key}: {}\n", qs(v)));
            }
        }
        if let Some(e) = &r.expires {
            out.push_str(&format!("    expires: {}\n", q(&e.to_string())));
        }
        if let Some(reason) = &r.reason {
            out.push_str(&format!("    reason: {}\n", q(reason)));
        }
        out.push_str(&format!("    action: {}\n", r.action.as_str()));
    }
    out
}
