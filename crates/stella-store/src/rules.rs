//! Suricata rule sources (`/rest/rules/…`): an upload's rules and categories replace the
//! source's in one transaction, so a reader sees the old set or the new one, never a mix.

use crate::sql::{Bind, Sql};
use crate::{Database, Result};
use std::collections::HashMap;

/// One rule of an upload, as stored.
#[derive(Debug, Clone)]
pub struct NewRule {
    /// The category's name (the rules file it came from, without `.rules`).
    pub category: String,
    pub sid: i64,
    pub gid: i64,
    pub rev: i64,
    pub msg: Option<String>,
    pub classtype: Option<String>,
    pub enabled: bool,
    /// The signature as written.
    pub content: String,
}

/// What an upload leaves on its source.
#[derive(Debug, Clone)]
pub struct SourceUpload<'a> {
    pub tenant_id: &'a str,
    pub source_id: i64,
    pub file: &'a str,
    /// Every category, rules or not (a file whose lines all failed is still one).
    pub categories: &'a [String],
    pub rules: &'a [NewRule],
    pub problems: i64,
    pub now_ms: i64,
}

/// Rows per multi-row `INSERT`: 12 parameters a rule, 480 a statement. Kept small on purpose:
/// binding looks each `$N` up by name in SQLite (`sqlite3_bind_parameter_name`, a scan of the
/// statement's parameter list), so a statement's bind time grows with the square of its
/// parameters: at 500 rows (6,000 parameters) that lookup was 85% of a 30,000-rule import's
/// ~3.9 s of server CPU.
const ROWS_PER_INSERT: usize = 40;

impl Database {
    /// Replaces the source's categories and rules with the upload's and records its counts,
    /// in one transaction. Answers the replaced categories' keys (their history entries lose
    /// them), or `None` when the tenant has no such source.
    pub async fn replace_source_rules(&self, up: &SourceUpload<'_>) -> Result<Option<Vec<i64>>> {
        let mut tx = self.unit().await?;
        let updated = sqlx::query(
            "UPDATE rule_sources SET uploaded_file = $1, rules_count = $2, problems_count = $3, \
             uploaded_at = $4, updated_at = $4 WHERE id = $5 AND tenant_id = $6",
        )
        .bind(up.file)
        .bind(up.rules.len() as i64)
        .bind(up.problems)
        .bind(up.now_ms)
        .bind(up.source_id)
        .bind(up.tenant_id)
        .execute(tx.conn()?)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        let replaced: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM rule_categories WHERE source = $1")
                .bind(up.source_id)
                .fetch_all(tx.conn()?)
                .await?;
        sqlx::query("DELETE FROM rules WHERE source = $1")
            .bind(up.source_id)
            .execute(tx.conn()?)
            .await?;
        sqlx::query("DELETE FROM rule_categories WHERE source = $1")
            .bind(up.source_id)
            .execute(tx.conn()?)
            .await?;

        let category_ids = reserve(&mut tx, "rule_categories", up.categories.len()).await?;
        let mut by_name: HashMap<&str, i64> = HashMap::new();
        for (chunk_no, chunk) in up.categories.chunks(ROWS_PER_INSERT).enumerate() {
            let mut q = Sql::new(
                "INSERT INTO rule_categories (id, tenant_id, source, name, created_at, updated_at) VALUES ",
            );
            for (i, name) in chunk.iter().enumerate() {
                let id = category_ids + (chunk_no * ROWS_PER_INSERT + i) as i64;
                by_name.insert(name.as_str(), id);
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .bind(id)
                    .push(", ")
                    .bind(up.tenant_id)
                    .push(", ")
                    .bind(up.source_id)
                    .push(", ")
                    .bind(name.as_str())
                    .push(", ")
                    .bind(up.now_ms)
                    .push(", ")
                    .bind(up.now_ms)
                    .push(")");
            }
            q.query().execute(tx.conn()?).await?;
        }

        let rule_ids = reserve(&mut tx, "rules", up.rules.len()).await?;
        for (chunk_no, chunk) in up.rules.chunks(ROWS_PER_INSERT).enumerate() {
            let mut q = Sql::new(
                "INSERT INTO rules (id, tenant_id, source, category, category_name, sid, gid, \
                 rev, msg, classtype, enabled, content, created_at, updated_at) VALUES ",
            );
            for (i, r) in chunk.iter().enumerate() {
                let id = rule_ids + (chunk_no * ROWS_PER_INSERT + i) as i64;
                let category = by_name.get(r.category.as_str()).copied().ok_or_else(|| {
                    crate::StoreError::Database(sqlx::Error::Protocol(format!(
                        "rule {} names category '{}', which the upload does not list",
                        r.sid, r.category
                    )))
                })?;
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .bind(id)
                    .push(", ")
                    .bind(up.tenant_id)
                    .push(", ")
                    .bind(up.source_id)
                    .push(", ")
                    .bind(category)
                    .push(", ")
                    .bind(r.category.as_str())
                    .push(", ")
                    .bind(r.sid)
                    .push(", ")
                    .bind(r.gid)
                    .push(", ")
                    .bind(r.rev)
                    .push(", ")
                    .bind(r.msg.clone())
                    .push(", ")
                    .bind(r.classtype.clone())
                    .push(", ")
                    .bind(Bind::Int(Some(i64::from(r.enabled))))
                    .push(", ")
                    .bind(r.content.as_str())
                    .push(", ")
                    .bind(up.now_ms)
                    .push(", ")
                    .bind(up.now_ms)
                    .push(")");
            }
            q.query().execute(tx.conn()?).await?;
        }
        tx.commit().await?;
        self.rows_changed();
        Ok(Some(replaced))
    }
}

/// Takes `n` keys from a counter at once: the first of them (the rest follow it).
async fn reserve(tx: &mut crate::scope::Unit, sequence: &str, n: usize) -> Result<i64> {
    let (last,): (i64,) = sqlx::query_as(
        "UPDATE resource_sequences SET last_id = last_id + $1 WHERE name = $2 RETURNING last_id",
    )
    .bind(n as i64)
    .bind(sequence)
    .fetch_one(tx.conn()?)
    .await?;
    Ok(last - n as i64 + 1)
}

/// One choice a ruleset makes about a source's rules: `kind` is `rule` (turned off),
/// `rule-enabled` (turned on though the source has it off) or `category` (every rule of the
/// category off). Rules are named by `(source, gid, sid)` and categories by `(source, name)`, so
/// a choice outlives a re-upload of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesetMark {
    pub kind: String,
    pub source: i64,
    pub gid: i64,
    pub sid: i64,
    pub category: String,
}

/// A rule as an export needs it.
#[derive(Debug, Clone)]
pub struct ExportedRule {
    pub source: i64,
    pub gid: i64,
    pub sid: i64,
    pub category: String,
    pub enabled: bool,
    pub content: String,
}

impl Database {
    /// Sets (`on`) or clears a ruleset's mark. The ruleset must already be the caller's.
    pub async fn set_ruleset_mark(
        &self,
        ruleset: i64,
        mark: &RulesetMark,
        on: bool,
        comment: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        if on {
            sqlx::query(
                "INSERT INTO ruleset_disabled (ruleset, kind, source, gid, sid, category_name, \
                 comment, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (ruleset, kind, source, gid, sid, category_name) \
                 DO UPDATE SET comment = excluded.comment, created_at = excluded.created_at",
            )
            .bind(ruleset)
            .bind(&mark.kind)
            .bind(mark.source)
            .bind(mark.gid)
            .bind(mark.sid)
            .bind(&mark.category)
            .bind(comment.map(str::to_owned))
            .bind(now_ms)
            .execute(self.conn().await?.conn()?)
            .await?;
        } else {
            sqlx::query(
                "DELETE FROM ruleset_disabled WHERE ruleset = $1 AND kind = $2 AND source = $3 \
                 AND gid = $4 AND sid = $5 AND category_name = $6",
            )
            .bind(ruleset)
            .bind(&mark.kind)
            .bind(mark.source)
            .bind(mark.gid)
            .bind(mark.sid)
            .bind(&mark.category)
            .execute(self.conn().await?.conn()?)
            .await?;
        }
        Ok(())
    }

    /// Every mark of a ruleset.
    pub async fn ruleset_marks(&self, ruleset: i64) -> Result<Vec<RulesetMark>> {
        let rows: Vec<(String, i64, i64, i64, String)> = sqlx::query_as(
            "SELECT kind, source, gid, sid, category_name FROM ruleset_disabled \
             WHERE ruleset = $1",
        )
        .bind(ruleset)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(kind, source, gid, sid, category)| RulesetMark {
                kind,
                source,
                gid,
                sid,
                category,
            })
            .collect())
    }

    /// The rules of the tenant's `sources`, source by source in upload order.
    pub async fn rules_of_sources(
        &self,
        tenant_id: &str,
        sources: &[i64],
    ) -> Result<Vec<ExportedRule>> {
        let mut out = Vec::new();
        for source in sources {
            let rows: Vec<(i64, i64, i64, String, i64, String)> = sqlx::query_as(
                "SELECT source, gid, sid, category_name, enabled, content FROM rules \
                 WHERE tenant_id = $1 AND source = $2 ORDER BY id",
            )
            .bind(tenant_id)
            .bind(*source)
            .fetch_all(&self.pool)
            .await?;
            out.extend(
                rows.into_iter()
                    .map(
                        |(source, gid, sid, category, enabled, content)| ExportedRule {
                            source,
                            gid,
                            sid,
                            category,
                            enabled: enabled != 0,
                            content,
                        },
                    ),
            );
        }
        Ok(out)
    }
}
