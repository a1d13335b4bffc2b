//! Rego policies through the embedded regorus interpreter.

use crate::{Action, Applied, EvalError, Input, MAX_REGO_FINDINGS};
use chrono::{DateTime, SecondsFormat, Utc};
use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{Engine, Value};
use serde_json::json;
use std::num::NonZeroU32;
use std::time::Duration;
use stella_proto::problem::FieldError;
use stella_proto::scan::Finding;

/// The module's name inside the engine (error messages start with it).
const SOURCE_NAME: &str = "policy.rego";

/// The rules the engine reads, in the order they take precedence on one finding.
pub const RULES: [&str; 4] = ["block", "warn", "ignore", "deny"];

/// Wall-clock budget of one evaluation (the interpreter checks it every few steps). This bounds
/// resources only: it decides nothing about findings, and a policy that hits it is an error.
pub const REGO_TIME_LIMIT: Duration = Duration::from_secs(2);

const CHECK_INTERVAL: NonZeroU32 = match NonZeroU32::new(16) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

/// An engine error as a `$.rego` field error: regorus renders a source snippet
/// (`--> policy.rego:4:1`, the line, a caret, `error: …`); the message keeps the position and
/// the error (`4:1: expecting expression`).
fn field_error(e: impl std::fmt::Display) -> FieldError {
    FieldError {
        path: "$.rego".to_owned(),
        msg: engine_message(&e.to_string()),
    }
}

pub(crate) fn engine_message(text: &str) -> String {
    let position = text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("--> ")
            .and_then(|p| p.strip_prefix(SOURCE_NAME))
            .and_then(|p| p.strip_prefix(':'))
    });
    let error = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::trim);
    match (position, error) {
        (Some(p), Some(e)) => format!("{p}: {e}"),
        _ => text.trim().to_owned(),
    }
}

/// A fresh engine holding the module, with `time.now_ns()` answering `now` (an extension
/// takes precedence over the builtin of the same name) and the execution timer set.
fn engine(source: &str, now: DateTime<Utc>) -> Result<Engine, FieldError> {
    let mut engine = Engine::new();
    engine.set_strict_builtin_errors(true);
    engine.set_execution_timer_config(ExecutionTimerConfig {
        limit: REGO_TIME_LIMIT,
        check_interval: CHECK_INTERVAL,
    });
    let now_ns = now.timestamp_nanos_opt().ok_or_else(|| FieldError {
        path: "$.now".to_owned(),
        msg: "The time is outside the range time.now_ns() can express (1677 to 2262)".to_owned(),
    })?;
    engine
        .add_extension(
            "time.now_ns".to_owned(),
            0,
            Box::new(move |_: Vec<Value>| Ok(Value::from(now_ns))),
        )
        .map_err(field_error)?;
    engine
        .add_policy(SOURCE_NAME.to_owned(), source.to_owned())
        .map_err(field_error)?;
    Ok(engine)
}

/// Compiles the module and checks the contract: a plain dotted package, at least one of the
/// recognised rules, and an evaluation on an empty scan that succeeds. Returns the package.
pub(crate) fn check(source: &str) -> Result<String, Vec<FieldError>> {
    let mut engine = engine(source, DateTime::<Utc>::UNIX_EPOCH).map_err(|e| vec![e])?;
    let package = package(&engine).map_err(|e| vec![e])?;
    let mut declared = false;
    for rule in RULES {
        declared |= engine
            .has_declared_rule_rooted_at(SOURCE_NAME, rule)
            .map_err(|e| vec![field_error(e)])?;
    }
    if !declared {
        return Err(vec![FieldError {
            path: "$.rego".to_owned(),
            msg: format!(
                "The policy defines none of the rules the scan reads: data.{package}.ignore, \
                 data.{package}.warn, data.{package}.block (sets of finding ids or \
                 {{\"id\": …}} objects) or data.{package}.deny (a set of messages)"
            ),
        }]);
    }
    let input = Input {
        findings: &[],
        environment: None,
        now: DateTime::<Utc>::UNIX_EPOCH,
        threshold: Default::default(),
    };
    evaluate_in(&mut engine, &package, &input).map_err(|e| {
        let why = match e {
            EvalError::Rego(m) | EvalError::Contract(m) => m,
            other => other.to_string(),
        };
        vec![FieldError {
            path: "$.rego".to_owned(),
            msg: format!("Evaluating the policy on a scan without findings failed: {why}"),
        }]
    })?;
    Ok(package)
}

fn package(engine: &Engine) -> Result<String, FieldError> {
    let packages = engine
        .get_policy_package_components()
        .map_err(field_error)?;
    let [pkg] = packages.as_slice() else {
        return Err(field_error("Expected exactly one package declaration"));
    };
    let plain = |c: &String| {
        let mut chars = c.chars();
        chars
            .next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if pkg.components.is_empty() || !pkg.components.iter().all(plain) {
        return Err(field_error(
            "The package must be a dotted name of identifiers (package stella.policy)",
        ));
    }
    Ok(pkg.components.join("."))
}

/// What the module decided, per rule.
pub(crate) struct RegoOutcome {
    pub(crate) per_finding: Vec<Option<Applied>>,
    pub(crate) deny: Vec<String>,
}

pub(crate) fn evaluate(
    source: &str,
    package: &str,
    input: &Input<'_>,
) -> Result<RegoOutcome, EvalError> {
    if input.findings.len() > MAX_REGO_FINDINGS {
        return Err(EvalError::InputTooLarge(input.findings.len()));
    }
    let mut engine = engine(source, input.now).map_err(|e| EvalError::Rego(e.msg))?;
    evaluate_in(&mut engine, package, input)
}

/// One entry of `ignore`, `warn` or `block`.
struct Entry {
    id: String,
    package: Option<String>,
    rule: Option<String>,
    reason: Option<String>,
}

fn evaluate_in(
    engine: &mut Engine,
    package: &str,
    input: &Input<'_>,
) -> Result<RegoOutcome, EvalError> {
    let doc = json!({
        "findings": input.findings,
        "environment": input.environment.filter(|e| !e.is_empty()),
        "now": input.now.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        "threshold": input.threshold,
    });
    engine.set_input(Value::from(doc));

    let mut per_finding: Vec<Option<Applied>> = vec![None; input.findings.len()];
    for (rule, action) in [
        ("block", Action::Block),
        ("warn", Action::Warn),
        ("ignore", Action::Ignore),
    ] {
        let path = format!("data.{package}.{rule}");
        for entry in entries(&read_set(engine, package, rule)?, &path)? {
            for (i, f) in input.findings.iter().enumerate() {
                if per_finding[i].is_none() && entry_matches(&entry, f) {
                    per_finding[i] = Some(Applied {
                        rule: entry
                            .rule
                            .clone()
                            .unwrap_or_else(|| format!("{package}.{rule}")),
                        action,
                        reason: entry.reason.clone(),
                    });
                }
            }
        }
    }
    let deny = read_set(engine, package, "deny")?
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        })
        .collect();
    Ok(RegoOutcome { per_finding, deny })
}

/// A rule's value as a list: undeclared or undefined reads as empty; a set or an array is
/// its items.
fn read_set(
    engine: &mut Engine,
    package: &str,
    rule: &str,
) -> Result<Vec<serde_json::Value>, EvalError> {
    let declared = engine
        .has_declared_rule_rooted_at(SOURCE_NAME, rule)
        .map_err(|e| EvalError::Rego(e.to_string()))?;
    if !declared {
        return Ok(Vec::new());
    }
    let path = format!("data.{package}.{rule}");
    let value = engine
        .eval_rule(path.clone())
        .map_err(|e| EvalError::Rego(engine_message(&e.to_string())))?;
    if value == Value::Undefined {
        return Ok(Vec::new());
    }
    let is_collection = value.as_set().is_ok() || value.as_array().is_ok();
    if !is_collection {
        return Err(EvalError::Contract(format!(
            "{path} must be a set, is {}",
            value.to_json_str().unwrap_or_default()
        )));
    }
    let json = value
        .to_json_str()
        .map_err(|e| EvalError::Rego(e.to_string()))?;
    match serde_json::from_str(&json) {
        Ok(serde_json::Value::Array(items)) => Ok(items),
        _ => Err(EvalError::Contract(format!("{path} must be a set"))),
    }
}

fn entries(items: &[serde_json::Value], path: &str) -> Result<Vec<Entry>, EvalError> {
    items
        .iter()
        .map(|item| match item {
            serde_json::Value::String(id) => Ok(Entry {
                id: id.clone(),
                package: None,
                rule: None,
                reason: None,
            }),
            serde_json::Value::Object(o) => {
                let s = |k: &str| -> Result<Option<String>, EvalError> {
                    match o.get(k) {
                        None | Some(serde_json::Value::Null) => Ok(None),
                        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                        Some(other) => Err(EvalError::Contract(format!(
                            "{path}: \"{k}\" must be a string, is {other}"
                        ))),
                    }
                };
                Ok(Entry {
                    id: s("id")?.ok_or_else(|| {
                        EvalError::Contract(format!("{path}: an object without \"id\": {item}"))
                    })?,
                    package: s("package")?,
                    rule: s("rule")?,
                    reason: s("reason")?,
                })
            }
            other => Err(EvalError::Contract(format!(
                "{path} must hold finding ids or {{\"id\": …}} objects, holds {other}"
            ))),
        })
        .collect()
}

fn entry_matches(entry: &Entry, f: &Finding) -> bool {
    crate::matching::names_finding(&entry.id, f)
        && entry
            .package
            .as_deref()
            .is_none_or(|p| p.eq_ignore_ascii_case(&f.package))
}
