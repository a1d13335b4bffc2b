//! A ruleset as a `.rules` file for a probe.
//!
//! Enabled rules are written as their signature, one per line; disabled ones commented out
//! (`# alert …`) rather than left out, so that the file on the probe still shows every rule
//! of the ruleset with its sid, as a source written by hand or by suricata-update does. The
//! file starts with a comment saying what it is.
//!
//! The export trusts only signatures: each enabled one is read again (so a signature edited
//! since it was parsed is checked too), and two enabled rules with the same `gid:sid` are
//! refused, since Suricata would refuse the second and fail `suricata -T`. No signature may
//! contain a line break: on a probe, the text after it would be a rule of its own.

use std::collections::HashMap;

use crate::problem::{excerpt, Reason};
use crate::rule::parse_rule;

/// The exported file and what is in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    pub text: String,
    pub enabled: usize,
    pub disabled: usize,
}

/// Why a ruleset could not be exported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    #[error("rule {index} is not a valid rule ({reason}): {signature:?}")]
    InvalidRule {
        /// Position in the input, from 0.
        index: usize,
        signature: String,
        reason: Reason,
    },
    #[error("rule {index} contains a line break: {signature:?}")]
    LineBreak { index: usize, signature: String },
    #[error("{gid}:{sid} is enabled twice (rules {first} and {second}); Suricata would refuse the second")]
    DuplicateSid {
        gid: u32,
        sid: u64,
        first: usize,
        second: usize,
    },
}

impl ExportError {
    /// A stable, machine-readable code for API responses and client logic.
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::InvalidRule { .. } => "export-invalid-rule",
            ExportError::LineBreak { .. } => "export-line-break",
            ExportError::DuplicateSid { .. } => "export-duplicate-sid",
        }
    }
}

/// Writes a ruleset: `title` (any text; every line of it becomes a comment line) and the
/// rules as `(signature, enabled)` pairs, in the order given.
///
/// ```
/// use stella_suricata::{export_ruleset, parse_rules};
///
/// let parsed = parse_rules(
///     "alert tcp any any -> any any (msg:\"one\"; sid:1;)\n\
///      alert tcp any any -> any any (msg:\"two\"; sid:2;)\n",
///     "local.rules",
/// );
/// let export = export_ruleset(
///     "Ruleset: default",
///     parsed.rules.iter().map(|r| (r.signature.as_str(), r.sid != 2)),
/// ).unwrap();
/// assert!(export.text.contains("\nalert tcp any any -> any any (msg:\"one\"; sid:1;)\n"));
/// assert!(export.text.contains("\n# alert tcp any any -> any any (msg:\"two\"; sid:2;)\n"));
/// ```
pub fn export_ruleset<'a, I>(title: &str, rules: I) -> Result<Export, ExportError>
where
    I: IntoIterator<Item = (&'a str, bool)>,
{
    let mut body = String::new();
    let mut enabled = 0usize;
    let mut disabled = 0usize;
    let mut first: HashMap<(u32, u64), usize> = HashMap::new();
    for (index, (signature, on)) in rules.into_iter().enumerate() {
        let signature = signature.trim_matches(|c: char| c == ' ' || c == '\t');
        if signature.contains(['\n', '\r']) {
            return Err(ExportError::LineBreak {
                index,
                signature: excerpt(signature),
            });
        }
        if on {
            let rule = parse_rule(signature).map_err(|reason| ExportError::InvalidRule {
                index,
                signature: excerpt(signature),
                reason,
            })?;
            let key = (rule.gid, rule.sid);
            if let Some(&earlier) = first.get(&key) {
                return Err(ExportError::DuplicateSid {
                    gid: rule.gid,
                    sid: rule.sid,
                    first: earlier,
                    second: index,
                });
            }
            first.insert(key, index);
            body.push_str(signature);
            enabled += 1;
        } else {
            body.push_str("# ");
            body.push_str(signature);
            disabled += 1;
        }
        body.push('\n');
    }

    let mut text = String::with_capacity(body.len() + title.len() + 200);
    for line in title.lines() {
        text.push_str("# ");
        // Control characters (a stray \r, say) have no place in a comment line.
        text.extend(line.chars().map(|c| if c.is_control() { ' ' } else { c }));
        text.push('\n');
    }
    text.push_str(&format!(
        "# Exported by Stella Ops: {enabled} rules enabled, {disabled} disabled (commented out).\n\n"
    ));
    text.push_str(&body);
    Ok(Export {
        text,
        enabled,
        disabled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = r#"alert tcp any any -> any any (msg:"a"; sid:1; rev:1;)"#;
    const B: &str = r#"alert tcp any any -> any any (msg:"b"; sid:2; rev:1;)"#;

    #[test]
    fn writes_enabled_and_comments_out_disabled() {
        let e = export_ruleset("probe 1\nruleset \"default\"\r", [(A, true), (B, false)])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((e.enabled, e.disabled), (1, 1));
        let lines: Vec<&str> = e.text.lines().collect();
        assert_eq!(lines[0], "# probe 1");
        assert_eq!(lines[1], "# ruleset \"default\" ");
        assert!(lines[2].starts_with("# Exported by Stella Ops: 1 rules enabled, 1 disabled"));
        assert_eq!(lines[3], "");
        assert_eq!(lines[4], A);
        assert_eq!(lines[5], format!("# {B}"));
        assert!(e.text.ends_with('\n'));
        // Every line is a comment, blank or a rule that parses.
        for line in lines {
            assert!(line.is_empty() || line.starts_with('#') || parse_rule(line).is_ok());
        }
    }

    #[test]
    fn refuses_what_a_probe_would_refuse() {
        let err = export_ruleset("", [(A, true), (A, true)]).err();
        assert!(matches!(
            err,
            Some(ExportError::DuplicateSid {
                sid: 1,
                first: 0,
                second: 1,
                ..
            })
        ));
        // A disabled duplicate is only a comment.
        assert!(export_ruleset("", [(A, true), (A, false)]).is_ok());
        let err = export_ruleset("", [("alert tcp any any -> any any (sid:1)", true)]).err();
        assert_eq!(err.map(|e| e.code()), Some("export-invalid-rule"));
        let injected = format!("{A}\n{B}");
        for on in [true, false] {
            let err = export_ruleset("", [(injected.as_str(), on)]).err();
            assert_eq!(err.map(|e| e.code()), Some("export-line-break"));
        }
    }
}
