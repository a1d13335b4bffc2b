//! Stella Ops scan policies (API reference §2.3): a YAML ruleset or a Rego module, read and
//! validated within bounds, and evaluated against one scan's findings.
//!
//! Pure: no I/O and no clock. The time a policy is evaluated at is part of its [`Input`]; the
//! one clock read is the Rego interpreter's execution timer ([`REGO_TIME_LIMIT`]), which bounds
//! how long a policy may run and decides nothing.
//!
//! # Reading
//!
//! [`parse`] takes the text as uploaded (`POST /policy/import`); [`validate`] runs the same
//! checks (`POST /policy/validate`). Errors are [`FieldError`]s, `{"path", "msg"}`, as the
//! reference's 400 answer shows. The text is Rego when its first line that is neither blank
//! nor a `#` comment is a `package` declaration, YAML otherwise. Bounds: [`MAX_POLICY_BYTES`]
//! of text, [`MAX_RULES`] rules, [`MAX_LIST_ITEMS`] items per matcher list,
//! [`MAX_STRING_CHARS`] characters per string; YAML nesting and node count are bounded too,
//! and YAML anchors, aliases and tags are refused (no alias is ever expanded).
//!
//! # YAML schema
//!
//! ```yaml
//! version: "1.0"                  # required; the only version
//! rules:                          # required; a list, may be empty
//!   - name: Ignore Low dev        # required, unique (case-insensitively); reported as the
//!                                 # finding's policyRule
//!     action: ignore              # required: ignore | warn | block (case-insensitive)
//!     severity: [Low, Unknown]    # levels Critical, High, Medium, Low, Unknown (any case)
//!     environments: [dev, staging]
//!     packages: ["@babel/*"]      # package names; `*` matches any run of characters
//!     purls: [pkg:npm/lodash]     # no version: every version; `*` globs name and version
//!     vulnerabilities: [CVE-2021-44228]  # the finding's id or any of its aliases
//!     expires: 2026-12-31         # or RFC 3339; the rule stops applying then
//!     reason: Not reachable       # free text, shown in messages
//! ```
//!
//! Every matcher key is optional and takes one string or a non-empty list of them; a rule
//! matches a finding when each matcher given matches (any item of its list). Names, ids, purls
//! and environments compare ASCII case-insensitively. A purl pattern drops qualifiers and
//! subpath from the finding's purl and compares type, `namespace/name` and (when the pattern
//! has one) version, percent-decoded. `expires: 2026-12-31` means the rule applies through
//! that day (UTC) and stops at `2027-01-01T00:00:00Z`; an RFC 3339 instant stops it at that
//! instant. An expired rule is reported in [`Decision::messages`], not an error.
//!
//! # Status semantics
//!
//! For each finding, in order:
//! 1. A finding with `suppressed: true` (a VEX statement) is outside the policy: no rule
//!    applies to it and it never counts.
//! 2. YAML: the first rule in file order that is not expired, whose `environments` admit the
//!    scan's environment and whose matchers match, applies. A rule with `environments`
//!    applies only when the scan's environment is one of them; a scan without an environment
//!    (or with an empty one) is matched only by rules without `environments`.
//!    Rego: see below.
//!
//! Then the verdict, the first that holds:
//! - `fail` when a `block` applies to any finding, or Rego's `deny` is not empty, or any
//!   finding no `ignore` applies to is at or above the threshold ([`Threshold::reached_by`]:
//!   `Unknown` never is);
//! - `warn` when a `warn` applies to any finding;
//! - `pass`.
//!
//! An ignored finding stays listed, with the rule's name in `policyRule`
//! ([`Decision::annotate`]). The platform default ([`default_policy`]) has no rules, so its
//! status comes from the threshold alone.
//!
//! # Rego contract
//!
//! The module is Rego v1 (OPA 1.0 syntax: `if`, `contains`). It is evaluated with `input`:
//!
//! ```json
//! {"findings": [<Finding as stella-proto serialises it>], "environment": "prod" | null,
//!  "now": "2026-05-01T12:00:00Z", "threshold": "critical"}
//! ```
//!
//! and the engine reads, under the module's own package (`package x.y` → `data.x.y`):
//! - `ignore`, `warn`, `block`: each a set whose items are a finding id (a string, matching a
//!   finding's id or any alias) or an object `{"id": …, "package": …, "rule": …, "reason": …}`
//!   (only `id` required; `package` narrows the match to that package; `rule` is the name
//!   reported as `policyRule`, `<package>.<set>` by default; `reason` is shown in messages).
//!   When a finding is in several sets, `block` wins over `warn` over `ignore`.
//! - `deny`: a set of messages; any message fails the scan.
//!
//! At least one of the four must be declared. Time: `input.now` is the evaluation time, and
//! `time.now_ns()` is overridden to return the same instant, so policies may use either and
//! are deterministic. Evaluation is strict (a builtin's error is an error, not undefined);
//! any runtime error, a value of the wrong shape, more than [`MAX_REGO_FINDINGS`] findings or
//! an evaluation longer than [`REGO_TIME_LIMIT`] is an [`EvalError`]. Validation compiles the
//! module and evaluates it once on a scan without findings. See
//! `examples/ignore-until.rego`.

mod matching;
mod rego;
mod tree;
mod yaml;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

pub use rego::{REGO_TIME_LIMIT, RULES as REGO_RULES};
pub use stella_proto::problem::FieldError;
pub use stella_proto::scan::{Finding, PolicyStatus, Severity, Threshold};
pub use yaml::YAML_VERSION;

/// Largest policy text accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;
/// Most rules in a YAML ruleset.
pub const MAX_RULES: usize = 1_000;
/// Most items in one matcher list.
pub const MAX_LIST_ITEMS: usize = 1_000;
/// Longest string (name, pattern, id, reason), in characters.
pub const MAX_STRING_CHARS: usize = 1_024;
/// Most findings a Rego policy is evaluated on (the input document is built in memory).
pub const MAX_REGO_FINDINGS: usize = 100_000;
/// Most messages in one decision; the rest are counted in a last message.
pub const MAX_MESSAGES: usize = 100;

/// How the policy is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    Yaml,
    Rego,
}

/// What a rule does to the findings it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Out of the verdict; still listed, with the rule's name.
    Ignore,
    /// Reported: the status is at least `warn`.
    Warn,
    /// The status is `fail`.
    Block,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Ignore => "ignore",
            Action::Warn => "warn",
            Action::Block => "block",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a rule stops applying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// `2026-12-31`: the rule applies through that day, UTC.
    Date(NaiveDate),
    /// An RFC 3339 instant: the rule applies before it.
    At(DateTime<FixedOffset>),
}

impl Expiry {
    /// The first instant the rule no longer applies at.
    pub fn instant(&self) -> DateTime<Utc> {
        match self {
            Expiry::Date(d) => d
                .succ_opt()
                .unwrap_or(*d)
                .and_time(NaiveTime::MIN)
                .and_utc(),
            Expiry::At(t) => t.with_timezone(&Utc),
        }
    }

    /// Whether the rule has expired at `now`.
    pub fn expired_at(&self, now: DateTime<Utc>) -> bool {
        now >= self.instant()
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expiry::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Expiry::At(t) => f.write_str(&t.to_rfc3339()),
        }
    }
}

/// One YAML rule. Empty matcher lists match everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub action: Action,
    pub severities: Vec<Severity>,
    pub environments: Vec<String>,
    /// Package-name globs.
    pub packages: Vec<String>,
    /// Purl patterns.
    pub purls: Vec<String>,
    /// Vulnerability ids, matched against a finding's id and aliases.
    pub vulnerabilities: Vec<String>,
    pub expires: Option<Expiry>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    Yaml(Vec<Rule>),
    Rego { package: String },
}

/// A parsed, valid policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    kind: PolicyKind,
    /// The text as imported, normalised (see [`Policy::source`]).
    source: String,
    body: Body,
}

/// What [`validate`] reports about a valid policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub kind: PolicyKind,
    /// YAML rules (0 for Rego).
    pub rules: usize,
    /// The Rego package (`stella.policy`), for Rego.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// [`Policy::hash`].
    pub hash: String,
}

/// One scan, as a policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub findings: &'a [Finding],
    /// The scan's environment (`prod`, `dev`, …); `None` or empty when it has none.
    pub environment: Option<&'a str>,
    /// The time to evaluate at: expiries and Rego's `input.now` / `time.now_ns()`.
    pub now: DateTime<Utc>,
    pub threshold: Threshold,
}

/// The rule that applied to one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The rule's name: the finding's `policyRule`.
    pub rule: String,
    pub action: Action,
    /// The rule's `reason`, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A policy's verdict on one scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The rule that applied to each finding, in the input's order.
    pub per_finding: Vec<Option<Applied>>,
    pub status: PolicyStatus,
    /// Why: blocks, findings over the threshold, warnings, Rego `deny` messages, expired
    /// rules. At most [`MAX_MESSAGES`] (+1 counting the rest).
    pub messages: Vec<String>,
}

impl Decision {
    /// Sets each finding's `policy_rule` to the rule that applied to it (clears it where none
    /// did). `findings` must be the slice the decision was made on.
    pub fn annotate(&self, findings: &mut [Finding]) {
        for (f, applied) in findings.iter_mut().zip(&self.per_finding) {
            f.policy_rule = applied.as_ref().map(|a| a.rule.clone());
        }
    }
}

/// Evaluation failed: a Rego policy's runtime error, a result of the wrong shape, or input
/// beyond the bounds. (YAML evaluation cannot fail.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("rego evaluation failed: {0}")]
    Rego(String),
    #[error("rego policy result breaks the contract: {0}")]
    Contract(String),
    #[error("{0} findings; a Rego policy is evaluated on at most {MAX_REGO_FINDINGS}")]
    InputTooLarge(usize),
}

fn field_error(path: &str, msg: impl Into<String>) -> FieldError {
    FieldError {
        path: path.to_owned(),
        msg: msg.into(),
    }
}

/// The text with a byte-order mark dropped, line endings made `\n`, trailing whitespace at
/// the end dropped and one final newline.
fn normalise(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut s = text.replace("\r\n", "\n").replace('\r', "\n");
    s.truncate(s.trim_end().len());
    s.push('\n');
    s
}

/// Whether the text is Rego: its first line that is neither blank nor a `#` comment declares
/// a package.
fn is_rego(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| l.strip_prefix("package"))
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_whitespace()))
}

/// Reads and checks a policy (`POST /policy/import`).
pub fn parse(text: &str) -> Result<Policy, Vec<FieldError>> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(vec![field_error(
            "$",
            format!(
                "The policy is {} bytes; at most {MAX_POLICY_BYTES} are accepted",
                text.len()
            ),
        )]);
    }
    let source = normalise(text);
    if is_rego(&source) {
        let package = rego::check(&source)?;
        Ok(Policy {
            kind: PolicyKind::Rego,
            source,
            body: Body::Rego { package },
        })
    } else {
        let rules = yaml::parse(&source)?;
        Ok(Policy {
            kind: PolicyKind::Yaml,
            source,
            body: Body::Yaml(rules),
        })
    }
}

/// [`parse`] for an upload's bytes: refuses text that is not UTF-8 (or is too large) first.
pub fn parse_bytes(bytes: &[u8]) -> Result<Policy, Vec<FieldError>> {
    if bytes.len() > MAX_POLICY_BYTES {
        return Err(vec![field_error(
            "$",
            format!(
                "The policy is {} bytes; at most {MAX_POLICY_BYTES} are accepted",
                bytes.len()
            ),
        )]);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => Err(vec![field_error(
            "$",
            format!(
                "The policy is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )]),
    }
}

/// Lints a policy without keeping it (`POST /policy/validate`): the checks of [`parse`].
pub fn validate(text: &str) -> Result<Summary, Vec<FieldError>> {
    parse(text).map(|p| p.summary())
}

/// The platform default: a YAML ruleset without rules, so a scan's status comes from its
/// threshold alone (and VEX suppressions).
pub fn default_policy() -> Policy {
    Policy {
        kind: PolicyKind::Yaml,
        source: yaml::render(&[]),
        body: Body::Yaml(Vec::new()),
    }
}

impl Policy {
    /// A YAML policy from rules, in canonical form. The rules are checked as a document would
    /// be (names, strings, patterns).
    pub fn from_rules(rules: &[Rule]) -> Result<Policy, Vec<FieldError>> {
        parse(&yaml::render(rules))
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The text as imported, normalised: byte-order mark dropped, `\n` line endings, one
    /// final newline. Comments and layout are kept.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The YAML rules, in file order (empty for Rego).
    pub fn rules(&self) -> &[Rule] {
        match &self.body {
            Body::Yaml(rules) => rules,
            Body::Rego { .. } => &[],
        }
    }

    /// The Rego package (`stella.policy`), for Rego.
    pub fn package(&self) -> Option<&str> {
        match &self.body {
            Body::Yaml(_) => None,
            Body::Rego { package } => Some(package),
        }
    }

    /// The policy as `GET /policy/export` answers it: the imported text ([`Policy::source`]),
    /// YAML or Rego. `parse(&p.export()) == Ok(p)`.
    pub fn export(&self) -> String {
        self.source.clone()
    }

    /// A YAML policy's rules rendered canonically (every string quoted, keys in schema order,
    /// comments gone); `None` for Rego.
    pub fn canonical_yaml(&self) -> Option<String> {
        match &self.body {
            Body::Yaml(rules) => Some(yaml::render(rules)),
            Body::Rego { .. } => None,
        }
    }

    /// SHA-256 of [`Policy::source`], lower-case hex: identifies a version in the history.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.source.as_bytes()))
    }

    pub fn summary(&self) -> Summary {
        Summary {
            kind: self.kind,
            rules: self.rules().len(),
            package: self.package().map(str::to_owned),
            hash: self.hash(),
        }
    }

    /// The verdict on one scan; see the crate documentation for the semantics.
    pub fn evaluate(&self, input: &Input<'_>) -> Result<Decision, EvalError> {
        let mut messages = Messages::default();
        let mut fail = false;
        let environment = input.environment.filter(|e| !e.is_empty());
        let mut per_finding = match &self.body {
            Body::Yaml(rules) => {
                let mut live = Vec::with_capacity(rules.len());
                for rule in rules {
                    match &rule.expires {
                        Some(e) if e.expired_at(input.now) => {
                            messages.push(format!(
                                "Rule '{}' expired at {e} and was not applied",
                                rule.name
                            ));
                        }
                        _ => {
                            if matching::environment_applies(&rule.environments, environment) {
                                live.push(rule);
                            }
                        }
                    }
                }
                input
                    .findings
                    .iter()
                    .map(|f| {
                        live.iter()
                            .find(|r| matching::rule_matches(r, f))
                            .map(|r| Applied {
                                rule: r.name.clone(),
                                action: r.action,
                                reason: r.reason.clone(),
                            })
                    })
                    .collect::<Vec<_>>()
            }
            Body::Rego { package } => {
                let out = rego::evaluate(&self.source, package, input)?;
                fail = !out.deny.is_empty();
                for d in out.deny {
                    messages.push(format!("Denied: {d}"));
                }
                out.per_finding
            }
        };
        let mut warn = false;
        for (f, applied) in input.findings.iter().zip(per_finding.iter_mut()) {
            if f.suppressed {
                *applied = None;
                continue;
            }
            let what = format!("{} in {} {}", f.id, f.package, f.installed_version);
            let why = |a: &Applied| match &a.reason {
                Some(r) => format!("rule '{}' ({r})", a.rule),
                None => format!("rule '{}'", a.rule),
            };
            match applied {
                Some(a) if a.action == Action::Ignore => {}
                Some(a) if a.action == Action::Block => {
                    fail = true;
                    messages.push(format!("{what}: blocked by {}", why(a)));
                }
                _ if input.threshold.reached_by(f.severity) => {
                    fail = true;
                    messages.push(format!(
                        "{what}: {} is at or above the threshold {}",
                        f.severity, input.threshold
                    ));
                }
                Some(a) if a.action == Action::Warn => {
                    warn = true;
                    messages.push(format!("{what}: warned by {}", why(a)));
                }
                _ => {}
            }
        }
        let status = if fail {
            PolicyStatus::Fail
        } else if warn {
            PolicyStatus::Warn
        } else {
            PolicyStatus::Pass
        };
        Ok(Decision {
            per_finding,
            status,
            messages: messages.finish(),
        })
    }
}

/// Messages, bounded.
#[derive(Default)]
struct Messages {
    list: Vec<String>,
    dropped: usize,
}

impl Messages {
    fn push(&mut self, m: String) {
        if self.list.len() < MAX_MESSAGES {
            self.list.push(m);
        } else {
            self.dropped += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.list.push(format!("… and {} more", self.dropped));
        }
        self.list
    }
}
