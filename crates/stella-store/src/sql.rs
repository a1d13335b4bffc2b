//! A tiny statement builder that numbers `$N` placeholders itself (sqlx's `QueryBuilder` would
//! emit `?` for the `Any` driver, which PostgreSQL refuses).

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;
use stella_core::resource::FieldValue;
use stella_core::TenantFilter;

#[derive(Debug, Clone)]
pub enum Bind {
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
}

impl From<&FieldValue> for Bind {
    fn from(v: &FieldValue) -> Self {
        match v {
            FieldValue::Null => Bind::Text(None),
            FieldValue::Text(s) | FieldValue::Json(s) => Bind::Text(Some(s.clone())),
            FieldValue::Int(i) => Bind::Int(Some(*i)),
            FieldValue::Float(f) => Bind::Float(Some(*f)),
            FieldValue::Bool(b) => Bind::Int(Some(i64::from(*b))),
        }
    }
}

impl From<String> for Bind {
    fn from(v: String) -> Self {
        Bind::Text(Some(v))
    }
}
impl From<&str> for Bind {
    fn from(v: &str) -> Self {
        Bind::Text(Some(v.to_owned()))
    }
}
impl From<Option<String>> for Bind {
    fn from(v: Option<String>) -> Self {
        Bind::Text(v)
    }
}
impl From<i64> for Bind {
    fn from(v: i64) -> Self {
        Bind::Int(Some(v))
    }
}
impl From<Option<i64>> for Bind {
    fn from(v: Option<i64>) -> Self {
        Bind::Int(v)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            binds: Vec::new(),
        }
    }

    /// A statement whose `$N` placeholders are already written, with their values in order.
    pub fn with<const N: usize>(text: &str, binds: [Bind; N]) -> Self {
        Self {
            text: text.to_owned(),
            binds: binds.into(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Bind>) -> &mut Self {
        self.binds.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.binds.len().to_string());
        self
    }

    /// Appends a column's new value: a placeholder, or a literal `NULL` for `Null` (a typed
    /// NULL placeholder would be text, which PostgreSQL refuses for an integer column).
    pub fn bind_value(&mut self, value: &FieldValue) -> &mut Self {
        match value {
            FieldValue::Null => self.push("NULL"),
            v => self.bind(v),
        }
    }

    /// Appends `AND <column> IN (...)` for a restricted filter; nothing for `All`. An empty
    /// allow-list becomes a condition that matches nothing.
    pub fn tenant_filter(&mut self, column: &str, filter: &TenantFilter) -> &mut Self {
        if let TenantFilter::Only(ids) = filter {
            if ids.is_empty() {
                self.push(" AND 1 = 0");
            } else {
                self.push(" AND ").in_list(column, ids);
            }
        }
        self
    }

    /// Like [`Sql::tenant_filter`], but rows without a tenant (shared by all tenants) also
    /// pass a restricted filter.
    pub fn tenant_filter_or_shared(&mut self, column: &str, filter: &TenantFilter) -> &mut Self {
        if let TenantFilter::Only(ids) = filter {
            self.push(" AND (").push(column).push(" IS NULL");
            if !ids.is_empty() {
                self.push(" OR ").in_list(column, ids);
            }
            self.push(")");
        }
        self
    }

    fn in_list(&mut self, column: &str, ids: &[String]) -> &mut Self {
        self.push(column).push(" IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(id.as_str());
        }
        self.push(")")
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for b in &self.binds {
            q = match b {
                Bind::Text(v) => q.bind(v.clone()),
                Bind::Int(v) => q.bind(*v),
                Bind::Float(v) => q.bind(*v),
            };
        }
        q
    }
}
