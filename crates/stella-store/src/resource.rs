//! The SQL half of the generic resource engine: list, get, insert, update and delete for any
//! [`ResourceSpec`], always under a [`TenantFilter`].

use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};
use serde_json::{Map, Value};
use stella_core::clock::rfc3339_ms;
use stella_core::resource::{FieldType, FieldValue, ListQuery, ResourceSpec, Tenancy};
use stella_core::TenantFilter;

fn tenant_column(spec: &ResourceSpec) -> &'static str {
    match spec.tenancy {
        Tenancy::IsTenant => "id",
        Tenancy::Owned => "tenant_id",
    }
}

fn select_list(spec: &ResourceSpec) -> String {
    let mut cols = vec!["id", "created_at", "updated_at"];
    if spec.tenancy == Tenancy::Owned {
        cols.push("tenant_id");
    }
    cols.extend(spec.fields.iter().map(|f| f.name));
    cols.join(", ")
}

fn row_to_json(spec: &ResourceSpec, row: &Row) -> Result<Value> {
    let mut obj = Map::new();
    obj.insert("id".into(), Value::String(row.text("id")?));
    if spec.tenancy == Tenancy::Owned {
        obj.insert("tenant_id".into(), Value::String(row.text("tenant_id")?));
    }
    for f in spec.fields {
        let v = match f.ty {
            FieldType::Text { .. } | FieldType::Enum(_) => row
                .opt_text(f.name)?
                .map(Value::String)
                .unwrap_or(Value::Null),
            FieldType::Json => row
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
        obj.insert(f.name.into(), v);
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
        wher.tenant_filter(tenant_column(spec), &filter);
        for (name, value) in &q.filters {
            wher.push(" AND ").push(name).push(" = ").bind(value);
        }
        let mut count = Sql::new(&format!("SELECT COUNT(*) AS n FROM {}", spec.table));
        count.push(&wher.text);
        count.binds = wher.binds.clone();
        let total = self.fetch_one(&count).await?.int("n")?;

        let mut page = Sql::new(&format!("SELECT {} FROM {}", select_list(spec), spec.table));
        page.push(&wher.text);
        page.binds = wher.binds;
        // `id` breaks ties so pages never overlap or skip when the sort key repeats.
        page.push(&format!(
            " ORDER BY {} {}, id {} LIMIT ",
            q.sort,
            q.order.sql(),
            q.order.sql()
        ))
        .bind(q.limit)
        .push(" OFFSET ")
        .bind(q.offset);
        let rows = self.fetch_all(&page).await?;
        let data = rows
            .iter()
            .map(|r| row_to_json(spec, r))
            .collect::<Result<Vec<_>>>()?;
        Ok((data, total))
    }

    pub async fn resource_get(
        &self,
        spec: &ResourceSpec,
        filter: &TenantFilter,
        id: &str,
    ) -> Result<Option<Value>> {
        let mut q = Sql::new(&format!(
            "SELECT {} FROM {} WHERE id = ",
            select_list(spec),
            spec.table
        ));
        q.bind(id).tenant_filter(tenant_column(spec), filter);
        let row = self.fetch_optional(&q).await?;
        row.map(|r| row_to_json(spec, &r)).transpose()
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
        placeholders
            .bind(id)
            .push(", ")
            .bind(now_ms)
            .push(", ")
            .bind(now_ms);
        if spec.tenancy == Tenancy::Owned {
            cols.push("tenant_id");
            placeholders.push(", ").bind(tenant_id.map(str::to_owned));
        }
        for (name, value) in values {
            cols.push(name);
            placeholders.push(", ").bind(value);
        }
        q.push(&format!(
            "INSERT INTO {} ({}) VALUES (",
            spec.table,
            cols.join(", ")
        ))
        .push(&placeholders.text)
        .push(")");
        q.binds = placeholders.binds;
        q.query().execute(&self.pool).await?;
        let filter = TenantFilter::All;
        self.resource_get(spec, &filter, id)
            .await?
            .ok_or(crate::StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Updates the named columns of a row visible through `filter`. `None`: no such row.
    pub async fn resource_update(
        &self,
        spec: &ResourceSpec,
        filter: &TenantFilter,
        id: &str,
        values: &[(&'static str, FieldValue)],
        now_ms: i64,
    ) -> Result<Option<Value>> {
        let mut q = Sql::new(&format!("UPDATE {} SET updated_at = ", spec.table));
        q.bind(now_ms);
        for (name, value) in values {
            q.push(", ").push(name).push(" = ").bind(value);
        }
        q.push(" WHERE id = ")
            .bind(id)
            .tenant_filter(tenant_column(spec), filter);
        let done = q.query().execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.resource_get(spec, filter, id).await
    }

    /// Deletes a row visible through `filter`. `false`: no such row.
    pub async fn resource_delete(
        &self,
        spec: &ResourceSpec,
        filter: &TenantFilter,
        id: &str,
    ) -> Result<bool> {
        let mut q = Sql::new(&format!("DELETE FROM {} WHERE id = ", spec.table));
        q.bind(id).tenant_filter(tenant_column(spec), filter);
        Ok(q.query().execute(&self.pool).await?.rows_affected() > 0)
    }
}
