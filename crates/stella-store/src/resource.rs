//! The SQL half of the generic resource engine: list, get, insert, update and delete for any
//! [`ResourceSpec`], always under a [`TenantFilter`].

use crate::read::Row;
use crate::sql::{Bind, Sql};
use crate::{Database, Result};
use serde_json::{Map, Value};
use stella_core::clock::rfc3339_ms;
use stella_core::resource::{FieldType, FieldValue, Key, ListQuery, Order, ResourceSpec, Tenancy};
use stella_core::TenantFilter;

/// Extra equality conditions on a statement (a child's parent id).
pub type Conditions<'a> = &'a [(&'static str, FieldValue)];

/// Appends the tenancy condition of `spec` for `filter`. `reading` lets shared rows (no
/// tenant) through for resources that have them; writes to those need root scope.
fn tenancy(sql: &mut Sql, spec: &ResourceSpec, filter: &TenantFilter, reading: bool) {
    match spec.tenancy {
        Tenancy::IsTenant => {
            sql.tenant_filter("id", filter);
        }
        Tenancy::Owned => {
            sql.tenant_filter("tenant_id", filter);
        }
        Tenancy::OwnedOrGlobal if reading => {
            sql.tenant_filter_or_shared("tenant_id", filter);
        }
        Tenancy::OwnedOrGlobal => {
            sql.tenant_filter("tenant_id", filter);
        }
        // Platform rows are root-only; the service refuses everyone else before this.
        Tenancy::Platform => {
            if *filter != TenantFilter::All {
                sql.push(" AND 1 = 0");
            }
        }
    }
}

fn conditions(sql: &mut Sql, extra: Conditions<'_>) {
    for (name, value) in extra {
        sql.push(" AND ").push(name).push(" = ").bind(value);
    }
}

/// `AND id = <id>`, bound as the resource's key type; an id no object of it can have matches
/// nothing.
fn key_condition(sql: &mut Sql, spec: &ResourceSpec, id: &str) {
    match spec.key_value(id) {
        Some(key) => {
            sql.push(" AND id = ").bind(&key);
        }
        None => {
            sql.push(" AND 1 = 0");
        }
    }
}

/// Each keyword must occur, ignoring case, in one of the resource's searchable fields:
/// `AND (LOWER(a) LIKE '%kw%' OR LOWER(b) LIKE '%kw%')` per keyword (keywords arrive lower
/// case). `LIKE`'s wildcards in a keyword are escaped, so they match themselves.
///
/// On SQLite, a resource with a [`ResourceSpec::search_index`] looks its keywords of three
/// characters or more up in that trigram table instead (see [`trigram_query`]): a `LIKE` per
/// row read every row of the tenant (13 ms for 50,000 rules), the table finds the few that
/// match. The two agree on what matches except in case folding beyond ASCII, where the
/// trigram table folds as PostgreSQL's `LOWER` does (`É` finds `é`) and SQLite's `LOWER`, which
/// shorter keywords still go through, folds ASCII letters only.
fn search(sql: &mut Sql, spec: &ResourceSpec, keywords: &[String], sqlite: bool) {
    let fields: Vec<&str> = spec.search_fields().map(|f| f.name).collect();
    if fields.is_empty() {
        return;
    }
    let index = spec.search_index.filter(|_| sqlite);
    let indexed = |k: &String| index.is_some() && trigram_len(k);
    if let Some(index) = index {
        // The query leaves out the keywords too short to look up; LIKE takes those below.
        if let Some(query) = trigram_query(keywords) {
            sql.push(&format!(
                " AND id IN (SELECT rowid FROM {index} WHERE {index} MATCH "
            ))
            .bind(query)
            .push(")");
        }
    }
    for keyword in keywords.iter().filter(|k| !indexed(k)) {
        let mut pattern = String::with_capacity(keyword.len() + 2);
        pattern.push('%');
        for c in keyword.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        sql.push(" AND (");
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push(&format!("LOWER({f}) LIKE "))
                .bind(pattern.as_str())
                .push(" ESCAPE '\\'");
        }
        sql.push(")");
    }
}

/// A trigram table can look a keyword up when it has three characters or more.
fn trigram_len(keyword: &str) -> bool {
    keyword.chars().nth(2).is_some()
}

/// The FTS5 query for rows holding every keyword of three characters or more (shorter ones are
/// left out: a trigram table cannot look them up), each as a quoted phrase, so nothing in a
/// keyword is FTS5 syntax: `"kw1" AND "kw2"`. A phrase of a trigram table matches where the
/// text holds it as a substring, in any column, ignoring case. `None` when no keyword is long
/// enough.
fn trigram_query(keywords: &[String]) -> Option<String> {
    let phrases: Vec<String> = keywords
        .iter()
        .filter(|k| trigram_len(k))
        .map(|k| format!("\"{}\"", k.replace('"', "\"\"")))
        .collect();
    (!phrases.is_empty()).then(|| phrases.join(" AND "))
}

fn select_list(spec: &ResourceSpec) -> String {
    select_without(spec, &[])
}

/// The columns of `spec`'s objects, leaving out `omit` (large members a caller does not need).
fn select_without(spec: &ResourceSpec, omit: &[&str]) -> String {
    let mut cols = vec!["id", "created_at", "updated_at"];
    if spec.tenancy.has_tenant_column() {
        cols.push("tenant_id");
    }
    cols.extend(
        spec.visible_fields()
            .map(|f| f.name)
            .filter(|n| !omit.contains(n)),
    );
    cols.join(", ")
}

fn row_to_json(spec: &ResourceSpec, row: &Row) -> Result<Value> {
    row_to_json_without(spec, row, &[])
}

fn row_to_json_without(spec: &ResourceSpec, row: &Row, omit: &[&str]) -> Result<Value> {
    let mut obj = Map::new();
    let id = match spec.key {
        Key::Generated => Value::String(row.text("id")?),
        Key::Serial { .. } => Value::from(row.int("id")?),
    };
    obj.insert("id".into(), id);
    if spec.tenancy.has_tenant_column() {
        if let Some(t) = row.opt_text("tenant_id")? {
            obj.insert("tenant_id".into(), Value::String(t));
        }
    }
    for f in spec.visible_fields().filter(|f| !omit.contains(&f.name)) {
        let v = match f.ty {
            FieldType::Text { .. } | FieldType::Enum(_) | FieldType::IpAddress => row
                .opt_text(f.name)?
                .map(Value::String)
                .unwrap_or(Value::Null),
            FieldType::Json
            | FieldType::Object
            | FieldType::TextList { .. }
            | FieldType::ObjectList { .. } => row
                .opt_text(f.name)?
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or(Value::Null),
            FieldType::Int { .. } => row.opt_int(f.name)?.map(Value::from).unwrap_or(Value::Null),
            FieldType::Float => row
                .opt_real(f.name)?
                .map(Value::from)
                .unwrap_or(Value::Null),
            FieldType::Bool => row
                .opt_int(f.name)?
                .map(|i| Value::Bool(i != 0))
                .unwrap_or(Value::Null),
            FieldType::Timestamp => row
                .opt_int(f.name)?
                .map(|ms| Value::String(rfc3339_ms(ms)))
                .unwrap_or(Value::Null),
        };
        // Absent values are left out rather than sent as null: the contract types them as
        // plain strings and numbers, which null would violate.
        if !v.is_null() {
            obj.insert(f.name.into(), v);
        }
    }
    obj.insert(
        "created_at".into(),
        Value::String(rfc3339_ms(row.int("created_at")?)),
    );
    obj.insert(
        "updated_at".into(),
        Value::String(rfc3339_ms(row.int("updated_at")?)),
    );
    Ok(Value::Object(obj))
}

/// The sort key of a row as a bindable value, or `None` where the seek cannot be used and the
/// next page falls back to `OFFSET`: a column that may hold nulls (they compare as neither
/// less nor greater, and the backends order them differently, so a seek would skip them) or
/// of a kind the seek does not handle.
fn page_key(spec: &ResourceSpec, sort: &str, row: &Row) -> Result<Option<Bind>> {
    let as_int = match sort {
        "id" => matches!(spec.key, Key::Serial { .. }),
        "created_at" | "updated_at" => true,
        name => match spec.field(name) {
            Some(f) if !(f.required || f.default.is_some()) => return Ok(None),
            Some(f) => match f.ty {
                FieldType::Text { .. } | FieldType::Enum(_) | FieldType::IpAddress => false,
                FieldType::Int { .. } | FieldType::Timestamp => true,
                _ => return Ok(None),
            },
            None => return Ok(None),
        },
    };
    Ok(if as_int {
        row.opt_int("page_key")?.map(|v| Bind::Int(Some(v)))
    } else {
        row.opt_text("page_key")?.map(|v| Bind::Text(Some(v)))
    })
}

/// `ORDER BY` for a list: its keys, then `id` in the last key's direction.
fn order_by(q: &ListQuery) -> String {
    let last = q.ordering.last().map_or(Order::Desc, |(_, o)| *o);
    // `id` breaks ties, unless the list is already ordered by it: SQLite cannot walk an index
    // for `ORDER BY id, id` and sorts every matching row instead (issue 14's plain rule pages
    // cost 4 ms of CPU a page at 50,000 rules, against 1 ms ordered by sid).
    let tie =
        (q.ordering.last().map(|(c, _)| *c) != Some("id")).then(|| format!("id {}", last.sql()));
    q.ordering
        .iter()
        .map(|(column, o)| format!("{column} {}", o.sql()))
        .chain(tie)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one sort key a page boundary can be sought by: lists ordered by several keys (their
/// directions may differ, which a row-value comparison cannot express) walk the offset.
fn seek_key(q: &ListQuery) -> Option<(&'static str, Order)> {
    match q.ordering.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// The statement for one page: a seek past `boundary` (the previous page's last sort key and
/// id) when it is known, else a deferred join over `OFFSET`. A list with one sort key also
/// selects it as `page_key`, for the next boundary.
fn page_query(
    spec: &ResourceSpec,
    q: &ListQuery,
    wher: Sql,
    boundary: Option<(Bind, String)>,
) -> Sql {
    let order = order_by(q);
    let columns = match seek_key(q) {
        Some((sort, _)) => format!("{}, {sort} AS page_key", select_list(spec)),
        None => select_list(spec),
    };
    match (boundary, seek_key(q)) {
        // Seek past the previous page's last row: no rows are walked to skip the offset. A
        // row-value comparison: both SQLite and PostgreSQL seek an index on it.
        (Some((sort_key, id)), Some((sort, direction))) => {
            let after = match direction {
                Order::Desc => "<",
                Order::Asc => ">",
            };
            let id = match spec.key {
                Key::Generated => Bind::from(id),
                Key::Serial { .. } => Bind::Int(id.parse::<i64>().ok()),
            };
            let mut page = Sql::new(&format!("SELECT {columns} FROM {}", spec.table));
            page.push(&wher.text);
            page.binds = wher.binds;
            if sort == "id" {
                page.push(&format!(" AND id {after} ")).bind(id);
            } else {
                page.push(&format!(" AND ({sort}, id) {after} ("))
                    .bind(sort_key)
                    .push(", ")
                    .bind(id)
                    .push(")");
            }
            page.push(&format!(" ORDER BY {order} LIMIT "))
                .bind(q.limit);
            page
        }
        // Deferred join: the page's ids come from walking an index alone (no row reads for the
        // skipped offset), then only the page's rows are read.
        _ => {
            let mut page = Sql::new(&format!(
                "SELECT {columns} FROM {} WHERE id IN (SELECT id FROM {}",
                spec.table, spec.table
            ));
            page.push(&wher.text);
            page.binds = wher.binds;
            page.push(&format!(" ORDER BY {order} LIMIT "))
                .bind(q.limit)
                .push(" OFFSET ")
                .bind(q.offset)
                .push(&format!(") ORDER BY {order}"));
            page
        }
    }
}

impl Database {
    /// One page of `spec` rows visible through `filter`, and the total that match.
    pub async fn resource_list(
        &self,
        spec: &ResourceSpec,
        filter: &TenantFilter,
        q: &ListQuery,
    ) -> Result<(Vec<Value>, i64)> {
        let filter = match &q.tenant_id {
            Some(t) => filter.narrow_to(t),
            None => filter.clone(),
        };
        let mut wher = Sql::new(" WHERE 1 = 1");
        tenancy(&mut wher, spec, &filter, true);
        conditions(&mut wher, &q.filters);
        for (name, bound, value) in &q.ranges {
            wher.push(" AND ")
                .push(name)
                .push(" ")
                .push(bound.sql())
                .push(" ")
                .bind(value);
        }
        search(
            &mut wher,
            spec,
            &q.search,
            self.backend() == crate::Backend::Sqlite,
        );
        let key = format!(
            "{}|{}|{:?}|{}",
            spec.table,
            wher.text,
            wher.binds,
            order_by(q)
        );
        let generation = self.pages.generation();
        let total = match self.pages.total(&key) {
            Some(t) => t,
            None => {
                let mut count = Sql::new(&format!("SELECT COUNT(*) AS n FROM {}", spec.table));
                count.push(&wher.text);
                count.binds = wher.binds.clone();
                let t = self.fetch_one(&count).await?.int("n")?;
                self.pages.set_total(&key, generation, t);
                t
            }
        };

        let boundary = match q.offset {
            0 => None,
            n => self.pages.boundary(&key, n),
        };
        let page = page_query(spec, q, wher, boundary);
        let rows = self.fetch_all(&page).await?;
        if let (Some(last), true, Some((sort, _))) =
            (rows.last(), rows.len() as i64 == q.limit, seek_key(q))
        {
            if let Some(sort_key) = page_key(spec, sort, last)? {
                let next = q.offset + q.limit;
                let id = match spec.key {
                    Key::Generated => last.text("id")?,
                    Key::Serial { .. } => last.int("id")?.to_string(),
                };
                self.pages
                    .set_boundary(&key, generation, next, (sort_key, id));
            }
        }
        let data = rows
            .iter()
            .map(|r| row_to_json(spec, r))
            .collect::<Result<Vec<_>>>()?;
        Ok((data, total))
    }

    /// The rows whose integer `column` is one of `keys` (at most `cap`), in key order,
    /// whatever their tenant: a page of owners' child rows (a probe's interfaces) in one
    /// query instead of one per owner. `column` must be a field of `spec`.
    pub async fn resource_rows_in(
        &self,
        spec: &ResourceSpec,
        column: &str,
        keys: &[i64],
        cap: i64,
    ) -> Result<Vec<Value>> {
        let Some(field) = spec.field(column) else {
            return Err(crate::StoreError::Database(sqlx::Error::Protocol(format!(
                "{column} is not a field of {}",
                spec.name
            ))));
        };
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new(&format!(
            "SELECT * FROM {} WHERE {} IN (",
            spec.table, field.name
        ));
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind(*key);
        }
        q.push(") ORDER BY id LIMIT ").bind(cap);
        self.fetch_all(&q)
            .await?
            .iter()
            .map(|r| row_to_json(spec, r))
            .collect()
    }

    pub async fn resource_get(
        &self,
        spec: &ResourceSpec,
        filter: &TenantFilter,
        extra: Conditions<'_>,
        id: &str,
    ) -> Result<Option<Value>> {
        let mut q = Sql::new(&format!(
            "SELECT {} FROM {} WHERE 1 = 1",
            select_list(spec),
            spec.table
        ));
        key_condition(&mut q, spec, id);
        tenancy(&mut q, spec, filter, true);
        conditions(&mut q, extra);
        let row = self.fetch_optional(&q).await?;
        row.map(|r| row_to_json(spec, &r)).transpose()
    }

    /// The next key of the counter `sequence` (`Key::Serial`): one atomic increment, so two
    /// servers never hand out the same key. A key whose insert then fails is not reused.
    pub async fn next_serial(&self, sequence: &str) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "UPDATE resource_sequences SET last_id = last_id + 1 WHERE name = $1 RETURNING last_id",
        )
        .bind(sequence)
        .fetch_one(self.conn().await?.conn()?)
        .await?;
        Ok(id)
    }

    /// Inserts a row. `tenant_id` must already be authorised by the caller; it is required for
    /// tenant-owned resources and ignored for tenants themselves.
    pub async fn resource_insert(
        &self,
        spec: &ResourceSpec,
        id: &str,
        tenant_id: Option<&str>,
        values: &[(&'static str, FieldValue)],
        now_ms: i64,
    ) -> Result<Value> {
        let mut cols = vec!["id", "created_at", "updated_at"];
        let mut q = Sql::default();
        let mut placeholders = Sql::default();
        let key = spec.key_value(id).ok_or_else(|| {
            crate::StoreError::Database(sqlx::Error::Protocol(format!(
                "'{id}' is not a key of {}",
                spec.name
            )))
        })?;
        placeholders
            .bind(&key)
            .push(", ")
            .bind(now_ms)
            .push(", ")
            .bind(now_ms);
        if spec.tenancy.has_tenant_column() {
            cols.push("tenant_id");
            placeholders.push(", ").bind(tenant_id.map(str::to_owned));
        }
        for (name, value) in values {
            cols.push(name);
            placeholders.push(", ").bind_value(value);
        }
        q.push(&format!(
            "INSERT INTO {} ({}) VALUES (",
            spec.table,
            cols.join(", ")
        ))
        .push(&placeholders.text)
        .push(")");
        q.binds = placeholders.binds;
        q.query().execute(self.conn().await?.conn()?).await?;
        self.rows_changed();
        self.resource_get(spec, &TenantFilter::All, &[], id)
            .await?
            .ok_or(crate::StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Updates the named columns of a row visible through `filter`. `None`: no such row.
    pub async fn resource_update(
        &self,
        spec: &ResourceSpec,
        filter: &TenantFilter,
        extra: Conditions<'_>,
        id: &str,
        values: &[(&'static str, FieldValue)],
        now_ms: i64,
    ) -> Result<Option<Value>> {
        let mut q = Sql::new(&format!("UPDATE {} SET updated_at = ", spec.table));
        q.bind(now_ms);
        for (name, value) in values {
            q.push(", ").push(name).push(" = ").bind_value(value);
        }
        q.push(" WHERE 1 = 1");
        key_condition(&mut q, spec, id);
        tenancy(&mut q, spec, filter, false);
        conditions(&mut q, extra);
        let done = q.query().execute(self.conn().await?.conn()?).await?;
        self.rows_changed();
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.resource_get(spec, filter, extra, id).await
    }

    /// Deletes a row visible through `filter`. `false`: no such row.
    pub async fn resource_delete(
        &self,
        spec: &ResourceSpec,
        filter: &TenantFilter,
        extra: Conditions<'_>,
        id: &str,
    ) -> Result<bool> {
        let mut q = Sql::new(&format!("DELETE FROM {} WHERE 1 = 1", spec.table));
        key_condition(&mut q, spec, id);
        tenancy(&mut q, spec, filter, false);
        conditions(&mut q, extra);
        let done = q.query().execute(self.conn().await?.conn()?).await?;
        self.rows_changed();
        Ok(done.rows_affected() > 0)
    }
}

impl Database {
    /// Every row of one tenant matching `extra` and created within `created` (milliseconds,
    /// both ends included), at most `cap`, newest first: the rules an ingest checks (watchlists,
    /// filters, playbooks) and the rows a report covers.
    /// Every row of one tenant matching `extra` and created within `created` (milliseconds,
    /// both ends included), at most `cap`, newest first, without the members `omit` names (not
    /// even read): the rules an ingest checks (watchlists, filters, playbooks) and the rows a
    /// report covers.
    pub async fn resource_all(
        &self,
        spec: &ResourceSpec,
        tenant_id: &str,
        extra: Conditions<'_>,
        created: Option<(i64, i64)>,
        cap: i64,
        omit: &[&str],
    ) -> Result<Vec<Value>> {
        let mut q = Sql::new(&format!(
            "SELECT {} FROM {} WHERE 1 = 1",
            select_without(spec, omit),
            spec.table
        ));
        tenancy(
            &mut q,
            spec,
            &TenantFilter::Only(vec![tenant_id.to_owned()]),
            true,
        );
        conditions(&mut q, extra);
        if let Some((from, to)) = created {
            q.push(" AND created_at >= ").bind(from);
            q.push(" AND created_at <= ").bind(to);
        }
        q.push(" ORDER BY created_at DESC LIMIT ").bind(cap);
        self.fetch_all(&q)
            .await?
            .iter()
            .map(|r| row_to_json_without(spec, r, omit))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stella_core::catalog::RULES;

    #[test]
    fn id_breaks_ties_unless_the_list_is_ordered_by_it() {
        let mut q = ListQuery::new(&RULES, 30);
        q.ordering = vec![("sid", Order::Desc)];
        assert_eq!(order_by(&q), "sid DESC, id DESC");
        // Twice would make SQLite sort every row rather than walk the index.
        q.ordering = vec![("id", Order::Asc)];
        assert_eq!(order_by(&q), "id ASC");
    }

    #[test]
    fn trigram_queries_quote_every_keyword_and_leave_out_short_ones() {
        let kw = |k: &[&str]| k.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(trigram_query(&kw(&["ab", "é1"])), None);
        assert_eq!(
            trigram_query(&kw(&["ab", "lyon", "say \"hi\"", "NOT", "a*b"])).as_deref(),
            Some(r#""lyon" AND "say ""hi""" AND "NOT" AND "a*b""#)
        );
        // Characters, not bytes: three accented letters are enough.
        assert_eq!(trigram_query(&kw(&["éàü"])).as_deref(), Some(r#""éàü""#));
    }
}
