//! Suricata rule sources (`/rest/rules/…`, issue 14): an upload is read with
//! `stella_suricata::read_source` and its rules and categories replace the source's in one
//! transaction. The answer counts what was read and lists every line that gave no rule, with
//! its file and line number: nothing is dropped silently.

use crate::history::{Entry, RestContext};
use crate::{Result, ServiceError, Stella};
use serde_json::{json, Value};
use stella_core::catalog::{RULES, RULESETS, RULE_CATEGORIES, RULE_SOURCES};
use stella_core::resource::{Columns, FieldValue, ResourceSpec};
use stella_core::{FieldError, Principal, TenantFilter};
use stella_store::{ExportedRule, NewRule, RulesetMark, SourceUpload};
use stella_suricata::{category_of, read_source, Source};

/// Longest uploaded file name kept (the name gives a single file's category).
const MAX_FILE_NAME: usize = 255;

impl Stella {
    /// Replaces the rules of the caller's source `pk` with those of `bytes` (a `.rules` file,
    /// or a `.tar.gz`/`.tar` of them) named `file` (by default `<source name>.rules`). Refused (400 on `file`, nothing written)
    /// when the bytes are no source or hold neither a rule nor a line that looks like one.
    pub async fn rule_source_upload(
        &self,
        caller: &Principal,
        pk: &str,
        file: Option<&str>,
        bytes: bytes::Bytes,
        cx: RestContext<'_>,
    ) -> Result<Value> {
        self.resource_permits(caller, &RULE_SOURCES, true)?;
        let source = self.resource_get(caller, &RULE_SOURCES, None, pk).await?;
        let (id, tenant) = key_and_tenant(&source, "rule source", pk)?;
        // A single file's name gives its category; by default, the source's name.
        let default_name = format!(
            "{}.rules",
            source
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("source")
        );
        let file = file.unwrap_or(&default_name);
        if file.is_empty()
            || file.chars().count() > MAX_FILE_NAME
            || file.chars().any(char::is_control)
        {
            return Err(ServiceError::invalid(
                "filename",
                format!("must be 1 to {MAX_FILE_NAME} printable characters"),
            ));
        }
        let name = file.to_owned();
        let read = tokio::task::spawn_blocking(move || read_source(&name, &bytes))
            .await
            .map_err(|e| ServiceError::Internal(format!("reading a rule source: {e}")))?;
        let read = read.map_err(|e| {
            ServiceError::Invalid(vec![FieldError::new(
                "file",
                format!("{} ({})", e, e.code()),
            )])
        })?;
        // No rule at all: not a rules source (a text file, an image…). Nothing is written;
        // the first lines that could not be read say why.
        if read.rules.is_empty() {
            let mut why = String::new();
            for p in read.problems.iter().take(3) {
                why.push_str(&format!("; {p}"));
            }
            if read.problems.len() > 3 {
                why.push_str(&format!("; and {} more lines", read.problems.len() - 3));
            }
            return Err(ServiceError::invalid(
                "file",
                format!(
                    "holds no Suricata rule: upload a .rules file or a .tar.gz of them \
                     (source-no-rules){why}"
                ),
            ));
        }
        let (categories, rules) = stored(&read);
        let up = SourceUpload {
            tenant_id: tenant,
            source_id: id,
            file,
            categories: &categories,
            rules: &rules,
            problems: read.problems.len() as i64,
            now_ms: self.now_ms(),
        };
        // The rules, the history's forgetting of the replaced categories and the upload's
        // entry: all or nothing.
        self.db
            .atomically(async {
                let Some(replaced) = self.db.replace_source_rules(&up).await? else {
                    return Err(ServiceError::NotFound(format!(
                        "no object in {} has the id '{pk}'",
                        RULE_SOURCES.name
                    )));
                };
                // The replaced categories are gone: their history entries no longer point at
                // them.
                for old in replaced {
                    self.db
                        .forget_user_action_object("category", &old.to_string())
                        .await?;
                }
                let entry = Entry {
                    tenant_id: Some(tenant.to_owned()),
                    action_type: "upload_source".into(),
                    description_raw: "{user} has uploaded source {source}".into(),
                    ua_objects: json!({"source": {"type": "source", "pk": id, "value": name_of(&source)}}),
                    filed: ("source", &id.to_string()),
                };
                self.record_rest_action(caller, entry, cx).await
            })
            .await?;
        let enabled = rules.iter().filter(|r| r.enabled).count();
        Ok(json!({
            "pk": id,
            "file": file,
            "files": read.files,
            "rules": rules.len(),
            "enabled": enabled,
            "disabled": rules.len() - enabled,
            "categories": categories.len(),
            "problems": read.problems.iter().map(|p| json!({
                "file": p.file,
                "line": p.line,
                "code": p.code(),
                "detail": p.reason.to_string(),
            })).collect::<Vec<_>>(),
            "skipped": read.skipped.iter().map(|s| json!({
                "name": s.name,
                "code": s.reason.code(),
                "detail": s.reason.to_string(),
            })).collect::<Vec<_>>(),
        }))
    }
}

/// The categories (one per rules file, in the source's order, then any only a rule names)
/// and the rules as stored.
fn stored(read: &Source) -> (Vec<String>, Vec<NewRule>) {
    let mut categories: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let names = read
        .files
        .iter()
        .map(|f| category_of(f))
        .chain(read.rules.iter().map(|r| r.category.clone()));
    for name in names {
        if seen.insert(name.clone()) {
            categories.push(name);
        }
    }
    let rules = read
        .rules
        .iter()
        .map(|r| NewRule {
            category: r.category.clone(),
            sid: i64::try_from(r.sid).unwrap_or(i64::MAX),
            gid: i64::from(r.gid),
            rev: i64::from(r.rev),
            msg: r.msg.clone(),
            classtype: r.classtype.clone(),
            enabled: r.enabled,
            content: r.signature.clone(),
        })
        .collect();
    (categories, rules)
}

/// The hooks of the rules resources, by spec.
pub(crate) static HOOKS: &[(&ResourceSpec, &dyn crate::Hooks)] = &[(&RULESETS, &RulesetHooks)];

/// Rulesets' `sources`: a list of the tenant's source pks, each once.
pub(crate) struct RulesetHooks;

#[async_trait::async_trait]
impl crate::Hooks for RulesetHooks {
    async fn validate(
        &self,
        s: &Stella,
        _caller: &Principal,
        tenant: Option<&str>,
        values: &Columns,
    ) -> Result<()> {
        let Some((_, value)) = values.iter().find(|(n, _)| *n == "sources") else {
            return Ok(());
        };
        let list = match value {
            FieldValue::Null => return Ok(()),
            FieldValue::Json(text) => serde_json::from_str::<Value>(text).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        let Value::Array(items) = list else {
            return Err(ServiceError::invalid(
                "sources",
                "must be a list of source pks",
            ));
        };
        let filter = match tenant {
            Some(t) => TenantFilter::Only(vec![t.to_owned()]),
            None => TenantFilter::Only(Vec::new()),
        };
        let mut seen = std::collections::HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("sources[{i}]");
            let Some(pk) = item.as_i64().filter(|n| *n > 0) else {
                return Err(ServiceError::invalid(
                    &path,
                    "must be a source pk (an integer)",
                ));
            };
            if !seen.insert(pk) {
                return Err(ServiceError::invalid(
                    &path,
                    format!("source {pk} is listed twice"),
                ));
            }
            let found =
                s.db.resource_get(&RULE_SOURCES, &filter, &[], &pk.to_string())
                    .await?;
            if found.is_none() {
                return Err(ServiceError::invalid(
                    &path,
                    format!("no source has the pk {pk}"),
                ));
            }
        }
        Ok(())
    }
}

/// The pks a ruleset's `sources` lists (validated on every write).
fn sources_of(ruleset: &Value) -> Vec<i64> {
    ruleset
        .get("sources")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

/// The caller's ruleset named by a body's `ruleset` member: 400 on `ruleset` when it is not
/// an integer or names no ruleset the caller has.
async fn ruleset_named(s: &Stella, caller: &Principal, body: &Value) -> Result<Value> {
    let Some(pk) = body
        .get("ruleset")
        .and_then(Value::as_i64)
        .filter(|n| *n > 0)
    else {
        return Err(ServiceError::invalid(
            "ruleset",
            "is required: the pk of the ruleset to change",
        ));
    };
    match s
        .resource_get(caller, &RULESETS, None, &pk.to_string())
        .await
    {
        Ok(found) => Ok(found),
        Err(ServiceError::NotFound(_)) => Err(ServiceError::invalid(
            "ruleset",
            format!("no ruleset has the pk {pk}"),
        )),
        Err(e) => Err(e),
    }
}

/// A stored object's integer key and tenant (every rules object has both).
fn key_and_tenant<'a>(object: &'a Value, what: &str, pk: &str) -> Result<(i64, &'a str)> {
    match (
        object.get("id").and_then(Value::as_i64),
        object.get("tenant_id").and_then(Value::as_str),
    ) {
        (Some(id), Some(tenant)) => Ok((id, tenant)),
        _ => Err(ServiceError::Internal(format!(
            "{what} {pk} has no key or tenant"
        ))),
    }
}

/// An object's `name`, as the history shows it.
fn name_of(object: &Value) -> String {
    object
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A ruleset's disable or enable of something, as its history entry tells it.
struct Toggle<'a> {
    ruleset: &'a Value,
    ruleset_id: i64,
    enable: bool,
    comment: Option<&'a str>,
    client_ip: Option<&'a str>,
}

/// A body's optional `comment`: a string of at most 10,000 characters.
fn comment_of(body: &Value) -> Result<Option<String>> {
    match body.get("comment") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(c)) if c.chars().count() <= 10_000 => Ok(Some(c.clone())),
        Some(_) => Err(ServiceError::invalid(
            "comment",
            "must be a string of at most 10000 characters",
        )),
    }
}

impl Stella {
    /// Turns a rule off (`enable` false) or on in a ruleset that includes its source.
    pub async fn ruleset_toggle_rule(
        &self,
        caller: &Principal,
        rule_pk: &str,
        body: &Value,
        enable: bool,
        client_ip: Option<&str>,
    ) -> Result<Value> {
        self.resource_permits(caller, &RULESETS, true)?;
        let rule = self.resource_get(caller, &RULES, None, rule_pk).await?;
        let comment = comment_of(body)?;
        let ruleset = ruleset_named(self, caller, body).await?;
        let (ruleset_id, source) = includes(&ruleset, &rule)?;
        let int = |name: &str| rule.get(name).and_then(Value::as_i64).unwrap_or(0);
        let mark = |kind: &str| RulesetMark {
            kind: kind.to_owned(),
            source,
            gid: int("gid"),
            sid: int("sid"),
            category: String::new(),
        };
        let by_default = rule
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let now = self.now_ms();
        let rule_ref = json!({"type": "rule", "sid": int("sid"), "value": int("sid").to_string()});
        let said = Toggle {
            ruleset: &ruleset,
            ruleset_id,
            enable,
            comment: comment.as_deref(),
            client_ip,
        };
        // Both marks and the history entry: all or nothing.
        self.db
            .atomically(async {
                self.db
                    .set_ruleset_mark(ruleset_id, &mark("rule"), !enable, comment.as_deref(), now)
                    .await?;
                self.db
                    .set_ruleset_mark(
                        ruleset_id,
                        &mark("rule-enabled"),
                        enable && !by_default,
                        comment.as_deref(),
                        now,
                    )
                    .await?;
                self.record_toggle(caller, said, "rule", rule_ref).await
            })
            .await?;
        Ok(json!({"ruleset": ruleset_id, "rule": int("id"), "enabled": enable}))
    }

    /// Turns every rule of a category off (`enable` false) or back on in a ruleset that
    /// includes its source.
    pub async fn ruleset_toggle_category(
        &self,
        caller: &Principal,
        category_pk: &str,
        body: &Value,
        enable: bool,
        client_ip: Option<&str>,
    ) -> Result<Value> {
        self.resource_permits(caller, &RULESETS, true)?;
        let category = self
            .resource_get(caller, &RULE_CATEGORIES, None, category_pk)
            .await?;
        let comment = comment_of(body)?;
        let ruleset = ruleset_named(self, caller, body).await?;
        let (ruleset_id, source) = includes(&ruleset, &category)?;
        let mark = RulesetMark {
            kind: "category".into(),
            source,
            gid: 0,
            sid: 0,
            category: category
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        };
        let pk = category.get("id").cloned().unwrap_or(Value::Null);
        let category_ref = json!({"type": "category", "pk": pk, "value": name_of(&category)});
        let said = Toggle {
            ruleset: &ruleset,
            ruleset_id,
            enable,
            comment: comment.as_deref(),
            client_ip,
        };
        // The mark and the history entry: all or nothing.
        self.db
            .atomically(async {
                self.db
                    .set_ruleset_mark(
                        ruleset_id,
                        &mark,
                        !enable,
                        comment.as_deref(),
                        self.now_ms(),
                    )
                    .await?;
                self.record_toggle(caller, said, "category", category_ref)
                    .await
            })
            .await?;
        Ok(json!({"ruleset": ruleset_id, "category": pk, "enabled": enable}))
    }

    /// The history entry of a rule's or category's disable/enable in a ruleset:
    /// `"{user} has disabled <what> {<what>} in ruleset {ruleset}"`, filed under the ruleset.
    async fn record_toggle(
        &self,
        caller: &Principal,
        said: Toggle<'_>,
        what: &str,
        object: Value,
    ) -> Result<()> {
        let verb = if said.enable { "enable" } else { "disable" };
        let ruleset_pk = said.ruleset_id.to_string();
        let entry = Entry {
            tenant_id: said
                .ruleset
                .get("tenant_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            action_type: format!("{verb}_{what}"),
            description_raw: format!(
                "{{user}} has {verb}d {what} {{{what}}} in ruleset {{ruleset}}"
            ),
            ua_objects: json!({
                what: object,
                "ruleset": {"type": "ruleset", "pk": said.ruleset_id, "value": name_of(said.ruleset)},
            }),
            filed: ("ruleset", &ruleset_pk),
        };
        let cx = RestContext {
            comment: said.comment,
            client_ip: said.client_ip,
        };
        self.record_rest_action(caller, entry, cx).await
    }

    /// The ruleset as the `.rules` file a probe is given: the rules of its sources, the ones
    /// it (or the source) turns off commented out. Answers the text and its counts.
    pub async fn ruleset_export(
        &self,
        caller: &Principal,
        pk: &str,
    ) -> Result<stella_suricata::Export> {
        let ruleset = self.resource_get(caller, &RULESETS, None, pk).await?;
        let (id, tenant) = key_and_tenant(&ruleset, "ruleset", pk)?;
        let rules = self
            .db
            .rules_of_sources(tenant, &sources_of(&ruleset))
            .await?;
        let marks = self.db.ruleset_marks(id).await?;
        let has = |kind: &str, r: &ExportedRule| {
            marks.iter().any(|m| {
                m.kind == kind
                    && m.source == r.source
                    && if kind == "category" {
                        m.category == r.category
                    } else {
                        m.gid == r.gid && m.sid == r.sid
                    }
            })
        };
        let states: Vec<(&str, bool)> = rules
            .iter()
            .map(|r| {
                let on =
                    (r.enabled || has("rule-enabled", r)) && !has("rule", r) && !has("category", r);
                (r.content.as_str(), on)
            })
            .collect();
        let title = ruleset
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("ruleset")
            .to_owned();
        stella_suricata::export_ruleset(&title, states)
            .map_err(|e| ServiceError::Conflict(format!("the ruleset cannot be exported: {e}")))
    }
}

/// The ruleset's pk and the object's source, when the ruleset includes that source; 400 on
/// `ruleset` otherwise.
fn includes(ruleset: &Value, object: &Value) -> Result<(i64, i64)> {
    let id = ruleset.get("id").and_then(Value::as_i64).unwrap_or(0);
    let source = object.get("source").and_then(Value::as_i64).unwrap_or(0);
    if !sources_of(ruleset).contains(&source) {
        return Err(ServiceError::invalid(
            "ruleset",
            format!("ruleset {id} does not include source {source}: add it to its sources first"),
        ));
    }
    Ok((id, source))
}
