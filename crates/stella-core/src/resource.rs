//! Resources declared as data. A [`ResourceSpec`] names a table, its fields and their types,
//! and which are writable, sortable and filterable; the generic engine (storage + HTTP) does
//! listing, paging, ordering, filtering, validation, tenancy and audit for all of them once.
//!
//! This module is the pure half: it turns untrusted JSON bodies into typed, validated values
//! (members a resource does not have are ignored, never stored; read-only ones are refused or,
//! in the Django REST dialect, ignored) and defines the dialect-neutral list query
//! ([`ListQuery`]) that each HTTP dialect's parameters translate to (`crate::dialect`).

use crate::error::CoreError;
use crate::validate::FieldError;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldType {
    Text {
        max_len: usize,
    },
    Int {
        min: i64,
        max: i64,
    },
    Float,
    Bool,
    Enum(&'static [&'static str]),
    /// An IPv4 or IPv6 address, stored as text in its canonical form.
    IpAddress,
    /// Milliseconds in storage, RFC 3339 on the wire.
    Timestamp,
    /// Any JSON value, stored as text.
    Json,
    /// A JSON object, stored as text.
    Object,
    /// A list of strings, stored as JSON text.
    TextList {
        max_items: usize,
        max_len: usize,
    },
    /// A list of JSON objects, stored as JSON text.
    ObjectList {
        max_items: usize,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: FieldType,
    /// Must be present on create (unless it has a default).
    pub required: bool,
    /// May be set by a client on create and update.
    pub writable: bool,
    pub sortable: bool,
    pub filterable: bool,
    /// A list's `search` keywords are looked for in this field (case-insensitive substring).
    pub searchable: bool,
    /// Applied on create when the client leaves the field out.
    pub default: Option<DefaultValue>,
    /// Accepted on writes but never answered (it may hold credentials).
    pub write_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    Text(&'static str),
    Int(i64),
    Bool(bool),
}

impl FieldSpec {
    pub const fn ip_address(name: &'static str) -> Self {
        let mut f = Self::of_type(name, FieldType::IpAddress);
        f.sortable = true;
        f.filterable = true;
        f
    }
    pub const fn text(name: &'static str, max_len: usize) -> Self {
        Self {
            name,
            ty: FieldType::Text { max_len },
            required: false,
            writable: true,
            sortable: true,
            filterable: false,
            searchable: false,
            default: None,
            write_only: false,
        }
    }
    pub const fn enumeration(name: &'static str, values: &'static [&'static str]) -> Self {
        Self {
            name,
            ty: FieldType::Enum(values),
            required: false,
            writable: true,
            sortable: true,
            filterable: true,
            searchable: false,
            default: None,
            write_only: false,
        }
    }
    pub const fn int(name: &'static str, min: i64, max: i64) -> Self {
        Self {
            name,
            ty: FieldType::Int { min, max },
            required: false,
            writable: true,
            sortable: true,
            filterable: true,
            searchable: false,
            default: None,
            write_only: false,
        }
    }
    pub const fn json(name: &'static str) -> Self {
        Self::of_type(name, FieldType::Json)
    }
    pub const fn of_type(name: &'static str, ty: FieldType) -> Self {
        Self {
            name,
            ty,
            required: false,
            writable: true,
            sortable: false,
            filterable: false,
            searchable: false,
            default: None,
            write_only: false,
        }
    }
    pub const fn timestamp(name: &'static str) -> Self {
        let mut f = Self::of_type(name, FieldType::Timestamp);
        f.sortable = true;
        f
    }
    pub const fn boolean(name: &'static str) -> Self {
        let mut f = Self::of_type(name, FieldType::Bool);
        f.sortable = true;
        f.filterable = true;
        f
    }
    pub const fn text_list(name: &'static str, max_items: usize, max_len: usize) -> Self {
        Self::of_type(name, FieldType::TextList { max_items, max_len })
    }
    pub const fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn read_only(mut self) -> Self {
        self.writable = false;
        self
    }
    pub const fn filterable(mut self) -> Self {
        self.filterable = true;
        self
    }
    /// Looked in by a list's `search` keywords (text and enumeration fields).
    pub const fn searchable(mut self) -> Self {
        self.searchable = true;
        self
    }
    pub const fn with_default(mut self, d: DefaultValue) -> Self {
        self.default = Some(d);
        self
    }
}

/// Where an object's tenant comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenancy {
    /// The row *is* a tenant: the tenant filter applies to its id.
    IsTenant,
    /// The row belongs to one tenant, kept in a `tenant_id` column.
    Owned,
    /// Like `Owned`, but a root user may leave `tenant_id` empty to make the row apply to
    /// all tenants: every tenant reads it, only root scope changes it.
    OwnedOrGlobal,
    /// Platform configuration about tenants (tenant groups): root scope only.
    Platform,
}

impl Tenancy {
    /// Whether rows carry a `tenant_id` column.
    pub fn has_tenant_column(self) -> bool {
        matches!(self, Tenancy::Owned | Tenancy::OwnedOrGlobal)
    }
}

/// The operations the engine serves for a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    List,
    Create,
    Get,
    Update,
    Delete,
}

pub const CRUD: &[Op] = &[Op::List, Op::Create, Op::Get, Op::Update, Op::Delete];

/// How an object's `id` is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A generated opaque text id (`ids::new_id`), as the XDR contract has.
    Generated,
    /// A positive integer from the named counter (`resource_sequences`), as Django models
    /// have; resources naming one counter share one key space.
    Serial { sequence: &'static str },
}

/// A resource that lives under one object of another (`/cases/{caseId}/observables`): the
/// child's tenant is the parent's, and listing is always within one parent.
#[derive(Debug)]
pub struct ParentSpec {
    pub spec: &'static ResourceSpec,
    /// The child's column holding the parent id (`case_id`).
    pub column: &'static str,
}

#[derive(Debug)]
pub struct ResourceSpec {
    /// The plural name used in URLs and messages (`tenants`, `cases`).
    pub name: &'static str,
    /// The singular, capitalised, for operation ids and schema names (`Tenant`, `Case`).
    pub singular: &'static str,
    /// The OpenAPI tag the operations are listed under.
    pub tag: &'static str,
    /// What the resource is, for clients that ask (Django REST framework's OPTIONS).
    pub description: &'static str,
    pub table: &'static str,
    pub tenancy: Tenancy,
    /// Fields besides the implicit `id`, `tenant_id`, `created_at`, `updated_at`.
    pub fields: &'static [FieldSpec],
    /// The list order when a request names none (`id`, `created_at` or a sortable field).
    pub default_sort: &'static str,
    pub default_order: Order,
    pub key: Key,
    pub read_permission: &'static str,
    pub write_permission: &'static str,
    pub ops: &'static [Op],
    pub parent: Option<&'static ParentSpec>,
    /// The resource has behaviour beyond the engine (`Hooks` in `stella-service`), registered
    /// there under this spec. The service refuses to serve a spec that says so but has no
    /// registration (and a registration of a spec that does not say so), so a forgotten one
    /// cannot silently skip a hook.
    pub hooked: bool,
    /// A full-text table over the searchable fields, for resources too large to scan per
    /// search: on SQLite an FTS5 trigram table of that name (rowid = `id`, kept by triggers in
    /// the migration that makes it), in which keywords of three characters or more are looked
    /// up instead of tested with `LIKE` on every row (see `stella_store`'s `search`).
    pub search_index: Option<&'static str>,
}

pub const IMPLICIT_FIELDS: &[&str] = &["id", "tenant_id", "created_at", "updated_at"];

/// What a write body's read-only members (`id`, `created_at`, a read-only field) do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnlyMembers {
    /// Refused, naming each (the XDR dialect).
    Refuse,
    /// Left out, as Django REST framework does.
    Ignore,
}

/// Validated `(column, value)` pairs, ready for SQL.
pub type Columns = Vec<(&'static str, FieldValue)>;

/// A validated value bound for a column.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Serialised JSON text.
    Json(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

impl Order {
    pub fn sql(self) -> &'static str {
        match self {
            Order::Asc => "ASC",
            Order::Desc => "DESC",
        }
    }
}

/// A bound on a field in a list request: django-filter's `field__gte`, `__lte`, `__gt`, `__lt`
/// (a date range of the action history, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Gte,
    Lte,
    Gt,
    Lt,
}

impl Bound {
    /// The bound a parameter name's suffix names, and the field name before it.
    pub fn split(param: &str) -> Option<(&str, Bound)> {
        [
            ("__gte", Bound::Gte),
            ("__lte", Bound::Lte),
            ("__gt", Bound::Gt),
            ("__lt", Bound::Lt),
        ]
        .into_iter()
        .find_map(|(suffix, b)| param.strip_suffix(suffix).map(|f| (f, b)))
    }

    pub fn sql(self) -> &'static str {
        match self {
            Bound::Gte => ">=",
            Bound::Lte => "<=",
            Bound::Gt => ">",
            Bound::Lt => "<",
        }
    }
}

/// A validated list request, whichever HTTP dialect it came in (`crate::dialect` translates
/// each dialect's parameters to it): every name in it is a declared column, so SQL can be
/// built from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Exact matches a row must all meet.
    pub filters: Vec<(&'static str, FieldValue)>,
    /// Bounds a row's field must all meet (ordered fields only: numbers and timestamps).
    pub ranges: Vec<(&'static str, Bound, FieldValue)>,
    /// Sort keys, most significant first (never empty); `id`, in the last key's direction,
    /// breaks ties so pages never overlap.
    pub ordering: Vec<(&'static str, Order)>,
    /// Lower-cased keywords: each must occur in one of the resource's searchable fields.
    pub search: Vec<String>,
    pub limit: i64,
    pub offset: i64,
    /// The last page, whatever its offset (Django REST framework's `page=last`): the service
    /// resolves it to an offset once it knows the total.
    pub last_page: bool,
    /// The `tenantid` parameter, if given: narrows the caller's tenancy, never widens it.
    pub tenant_id: Option<String>,
}

impl ListQuery {
    /// A query for the first `limit` rows in the resource's default order.
    pub fn new(spec: &ResourceSpec, limit: i64) -> Self {
        ListQuery {
            filters: Vec::new(),
            ranges: Vec::new(),
            ordering: vec![(
                spec.sort_column(spec.default_sort).unwrap_or("created_at"),
                spec.default_order,
            )],
            search: Vec::new(),
            limit,
            offset: 0,
            last_page: false,
            tenant_id: None,
        }
    }
}

/// The contract's default page size.
pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_OFFSET: i64 = 100_000_000;

impl ResourceSpec {
    /// A tenant-owned resource with all five operations, sorted newest first; adjust with the
    /// builder methods below.
    pub const fn owned(
        name: &'static str,
        singular: &'static str,
        tag: &'static str,
        fields: &'static [FieldSpec],
        permissions: (&'static str, &'static str),
    ) -> Self {
        Self {
            name,
            singular,
            tag,
            description: "",
            table: name,
            tenancy: Tenancy::Owned,
            fields,
            default_sort: "created_at",
            default_order: Order::Desc,
            key: Key::Generated,
            read_permission: permissions.0,
            write_permission: permissions.1,
            ops: CRUD,
            parent: None,
            hooked: false,
            search_index: None,
        }
    }
    pub const fn describe(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }
    pub const fn table(mut self, table: &'static str) -> Self {
        self.table = table;
        self
    }
    pub const fn tenancy(mut self, tenancy: Tenancy) -> Self {
        self.tenancy = tenancy;
        self
    }
    pub const fn ops(mut self, ops: &'static [Op]) -> Self {
        self.ops = ops;
        self
    }
    pub const fn parent(mut self, parent: &'static ParentSpec) -> Self {
        self.parent = Some(parent);
        self
    }
    /// Declares hooks (see [`ResourceSpec::hooked`]).
    pub const fn hooked(mut self) -> Self {
        self.hooked = true;
        self
    }
    /// Searches go through the full-text table `table` (see [`ResourceSpec::search_index`]).
    pub const fn search_index(mut self, table: &'static str) -> Self {
        self.search_index = Some(table);
        self
    }
    /// Integer keys from the counter `sequence` (see [`Key::Serial`]).
    pub const fn serial(mut self, sequence: &'static str) -> Self {
        self.key = Key::Serial { sequence };
        self
    }
    pub const fn default_sort(mut self, column: &'static str, order: Order) -> Self {
        self.default_sort = column;
        self.default_order = order;
        self
    }
    pub fn serves(&self, op: Op) -> bool {
        self.ops.contains(&op)
    }

    /// Fields answered to clients (all but write-only ones).
    pub fn visible_fields(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields.iter().filter(|f| !f.write_only)
    }

    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The value an id from a URL or a filter is bound as, or `None` when it cannot be one of
    /// this resource's keys (so nothing has it).
    pub fn key_value(&self, id: &str) -> Option<FieldValue> {
        match self.key {
            Key::Generated => {
                crate::ids::looks_like_id(id).then(|| FieldValue::Text(id.to_owned()))
            }
            Key::Serial { .. } => id
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map(FieldValue::Int),
        }
    }

    /// The fields a list's `search` keywords are looked for in.
    pub fn search_fields(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields.iter().filter(|f| f.searchable && !f.write_only)
    }

    /// The column a list may be sorted by under this name, if any.
    pub fn sort_column(&self, name: &str) -> Option<&'static str> {
        if let Some(n) = ["id", "created_at", "updated_at"]
            .iter()
            .find(|n| **n == name)
        {
            return Some(n);
        }
        self.fields
            .iter()
            .find(|f| f.name == name && f.sortable)
            .map(|f| f.name)
    }

    /// Validates a create body. Returns the column values (defaults applied) and the
    /// `tenant_id` the client named, if any (the caller decides whether it may).
    pub fn parse_create(&self, body: &Value) -> Result<(Columns, Option<String>), CoreError> {
        self.parse_create_as(body, ReadOnlyMembers::Refuse)
    }

    /// [`ResourceSpec::parse_create`], with read-only members refused or ignored.
    pub fn parse_create_as(
        &self,
        body: &Value,
        read_only: ReadOnlyMembers,
    ) -> Result<(Columns, Option<String>), CoreError> {
        let (mut values, tenant, mut errors) = self.parse_fields(body, read_only)?;
        let present = |name: &str| body.get(name).is_some();
        for f in self.fields.iter().filter(|f| f.writable) {
            if present(f.name) {
                continue;
            }
            match f.default {
                Some(DefaultValue::Text(s)) => {
                    values.push((f.name, FieldValue::Text(s.to_owned())))
                }
                Some(DefaultValue::Int(i)) => values.push((f.name, FieldValue::Int(i))),
                Some(DefaultValue::Bool(b)) => values.push((f.name, FieldValue::Bool(b))),
                None if f.required => errors.push(FieldError::new(f.name, "is required")),
                None => {}
            }
        }
        if errors.is_empty() {
            Ok((values, tenant))
        } else {
            Err(CoreError::Invalid(errors))
        }
    }

    /// Validates an update body: only writable fields. An update naming none changes nothing.
    pub fn parse_update(&self, body: &Value) -> Result<Columns, CoreError> {
        let (values, tenant, mut errors) = self.parse_fields(body, ReadOnlyMembers::Refuse)?;
        if tenant.is_some() {
            errors.push(FieldError::new(
                "tenant_id",
                "cannot be changed; an object stays in its tenant",
            ));
        }
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(CoreError::Invalid(errors))
        }
    }

    /// Validates an update body whose read-only members are ignored (Django REST framework's
    /// habit: an object read, changed and sent back whole is accepted). `full` (PUT) requires
    /// every writable required field, as a create does. Answers the `tenant_id` the body
    /// names, if any, for the caller to compare with the object's (it cannot move).
    pub fn parse_update_ignoring_read_only(
        &self,
        body: &Value,
        full: bool,
    ) -> Result<(Columns, Option<String>), CoreError> {
        let (values, tenant, mut errors) = self.parse_fields(body, ReadOnlyMembers::Ignore)?;
        if full {
            for f in self.fields.iter() {
                if f.writable && f.required && f.default.is_none() && body.get(f.name).is_none() {
                    errors.push(FieldError::new(f.name, "is required"));
                }
            }
        }
        if errors.is_empty() {
            Ok((values, tenant))
        } else {
            Err(CoreError::Invalid(errors))
        }
    }

    fn parse_fields(
        &self,
        body: &Value,
        read_only: ReadOnlyMembers,
    ) -> Result<(Columns, Option<String>, Vec<FieldError>), CoreError> {
        let Value::Object(map) = body else {
            return Err(CoreError::invalid("$", "must be a JSON object"));
        };
        let mut values = Vec::new();
        let mut errors = Vec::new();
        let mut tenant = None;
        let refuse = read_only == ReadOnlyMembers::Refuse;
        for (key, value) in map {
            if key == "tenant_id" && self.tenancy.has_tenant_column() {
                match value.as_str() {
                    Some(t) => tenant = Some(t.to_owned()),
                    None if value.is_null() => {}
                    None => errors.push(FieldError::new("tenant_id", "must be a string")),
                }
                continue;
            }
            match self.field(key) {
                // Django REST framework's `allow_null`: what a DRF client read (every field,
                // `null` where unset) it may send back, and `null` clears an optional field.
                // The XDR contract has no null members; there, `null` is refused by `coerce`.
                Some(f) if f.writable && value.is_null() && !refuse => {
                    // A field with a default is never null (a column that may be NOT NULL).
                    if f.required || f.default.is_some() {
                        errors.push(FieldError::new(f.name, "may not be null"));
                    } else {
                        values.push((f.name, FieldValue::Null));
                    }
                }
                Some(f) if f.writable => match coerce(f, value) {
                    Ok(v) => values.push((f.name, v)),
                    Err(e) => errors.push(e),
                },
                Some(_) if refuse => errors.push(FieldError::new(key.as_str(), "is read-only")),
                None if refuse && IMPLICIT_FIELDS.contains(&key.as_str()) => {
                    errors.push(FieldError::new(key.as_str(), "is read-only"))
                }
                // Members the resource does not have are ignored, never stored: the contract's
                // request schemas allow additional properties (and Django REST framework
                // ignores them too). Read-only members are ignored where the dialect says so.
                _ => {}
            }
        }
        Ok((values, tenant, errors))
    }

    /// A filter's value from a query string: the field's own JSON form, or an integer or
    /// boolean written as text.
    pub fn filter_value(f: &FieldSpec, v: &str) -> Result<FieldValue, FieldError> {
        coerce(f, &Value::String(v.to_owned())).or_else(|e| match f.ty {
            FieldType::Int { .. } => v
                .parse::<i64>()
                .map_err(|_| e)
                .and_then(|n| coerce(f, &Value::from(n))),
            FieldType::Bool => match v {
                "true" => Ok(FieldValue::Bool(true)),
                "false" => Ok(FieldValue::Bool(false)),
                _ => Err(e),
            },
            _ => Err(e),
        })
    }

    /// The filterable fields, for messages (`, status, assignee, id`).
    pub fn filter_names(&self) -> String {
        self.fields
            .iter()
            .filter(|f| f.filterable)
            .map(|f| format!(", {}", f.name))
            .collect::<String>()
            + ", id"
    }
}

/// The items of an array field holding at most `max_items` of `what`.
fn bounded_array<'v>(
    f: &FieldSpec,
    value: &'v Value,
    max_items: usize,
    what: &str,
) -> Result<&'v Vec<Value>, FieldError> {
    let items = value
        .as_array()
        .ok_or_else(|| FieldError::new(f.name, format!("must be an array of {what}")))?;
    if items.len() > max_items {
        return Err(FieldError::new(
            f.name,
            format!("must have at most {max_items} items"),
        ));
    }
    Ok(items)
}

/// An object key serde_json (with its `raw_value` feature, which Stella Ops uses) reads as "the
/// raw JSON in this string" when it comes first in an object. Maps here are sorted, and `$`
/// sorts before letters, so a stored JSON member holding it would come first when read back
/// and read as something else, or fail to read at all. Stored JSON may not hold it.
pub const RESERVED_JSON_KEY: &str = "$serde_json::private::RawValue";

/// Where in `v` the reserved key is, if anywhere (a dotted path below `at`).
fn reserved_key_at(v: &Value, at: &str) -> Option<String> {
    match v {
        Value::Object(m) => m.iter().find_map(|(k, child)| {
            if k == RESERVED_JSON_KEY {
                Some(at.to_owned())
            } else {
                reserved_key_at(child, &format!("{at}.{k}"))
            }
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, child)| reserved_key_at(child, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// A JSON member as stored: its text, once it holds nothing that would read back differently.
fn stored_json(f: &FieldSpec, value: &Value) -> Result<FieldValue, FieldError> {
    match reserved_key_at(value, f.name) {
        Some(at) => Err(FieldError::new(
            at,
            format!("the key \"{RESERVED_JSON_KEY}\" is reserved"),
        )),
        None => Ok(FieldValue::Json(value.to_string())),
    }
}

fn coerce(f: &FieldSpec, value: &Value) -> Result<FieldValue, FieldError> {
    if value.is_null() {
        return Err(FieldError::new(
            f.name,
            "must not be null; leave it out to keep the current or default value",
        ));
    }
    match f.ty {
        FieldType::Text { max_len } => match value.as_str() {
            // Empty strings are valid where the contract allows them (it sets no minimum).
            Some(s) if s.chars().count() <= max_len => Ok(FieldValue::Text(s.to_owned())),
            Some(_) => Err(FieldError::new(
                f.name,
                format!("must be at most {max_len} characters"),
            )),
            None => Err(FieldError::new(f.name, "must be a string")),
        },
        FieldType::Enum(allowed) => match value.as_str() {
            Some(s) if allowed.contains(&s) => Ok(FieldValue::Text(s.to_owned())),
            _ => Err(FieldError::new(
                f.name,
                format!("must be one of: {}", allowed.join(", ")),
            )),
        },
        FieldType::IpAddress => match value.as_str().map(|s| s.parse::<std::net::IpAddr>()) {
            Some(Ok(ip)) => Ok(FieldValue::Text(ip.to_string())),
            _ => Err(FieldError::new(f.name, "must be an IPv4 or IPv6 address")),
        },
        FieldType::Int { min, max } => match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(FieldValue::Int(n)),
            _ => Err(FieldError::new(
                f.name,
                format!("must be an integer from {min} to {max}"),
            )),
        },
        FieldType::Float => value
            .as_f64()
            .map(FieldValue::Float)
            .ok_or_else(|| FieldError::new(f.name, "must be a number")),
        FieldType::Bool => value
            .as_bool()
            .map(FieldValue::Bool)
            .ok_or_else(|| FieldError::new(f.name, "must be true or false")),
        FieldType::Timestamp => value
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| FieldValue::Int(t.timestamp_millis()))
            .ok_or_else(|| FieldError::new(f.name, "must be an RFC 3339 date-time")),
        FieldType::Json => stored_json(f, value),
        FieldType::Object => match value {
            Value::Object(_) => stored_json(f, value),
            _ => Err(FieldError::new(f.name, "must be a JSON object")),
        },
        FieldType::TextList { max_items, max_len } => {
            let items = bounded_array(f, value, max_items, "strings")?;
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(s) if s.chars().count() <= max_len => {}
                    Some(_) => {
                        return Err(FieldError::new(
                            format!("{}[{i}]", f.name),
                            format!("must be at most {max_len} characters"),
                        ))
                    }
                    None => {
                        return Err(FieldError::new(
                            format!("{}[{i}]", f.name),
                            "must be a string",
                        ))
                    }
                }
            }
            Ok(FieldValue::Json(value.to_string()))
        }
        FieldType::ObjectList { max_items } => {
            let items = bounded_array(f, value, max_items, "objects")?;
            match items.iter().position(|i| !i.is_object()) {
                Some(i) => Err(FieldError::new(
                    format!("{}[{i}]", f.name),
                    "must be a JSON object",
                )),
                None => stored_json(f, value),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    static SPEC: ResourceSpec = ResourceSpec {
        name: "cases",
        singular: "Case",
        tag: "Cases",
        description: "",
        table: "cases",
        tenancy: Tenancy::Owned,
        fields: &[
            FieldSpec::text("name", 200).required(),
            FieldSpec::enumeration("status", &["open", "closed"])
                .with_default(DefaultValue::Text("open")),
            FieldSpec::int("score", 0, 100),
            FieldSpec::int("alert_count", 0, i64::MAX).read_only(),
        ],
        default_sort: "created_at",
        default_order: Order::Desc,
        key: Key::Generated,
        read_permission: "cases:read",
        write_permission: "cases:write",
        ops: CRUD,
        parent: None,
        hooked: false,
        search_index: None,
    };

    fn errors(r: Result<impl std::fmt::Debug, CoreError>) -> Vec<String> {
        match r {
            Err(CoreError::Invalid(e)) => e.into_iter().map(|e| e.path).collect(),
            other => panic!("expected validation errors, got {other:?}"),
        }
    }

    #[test]
    fn create_applies_defaults_and_takes_tenant() {
        let (values, tenant) = SPEC
            .parse_create(&json!({"name": "c1", "tenant_id": "t1"}))
            .unwrap_or_default();
        assert_eq!(tenant.as_deref(), Some("t1"));
        assert!(values.contains(&("status", FieldValue::Text("open".into()))));
    }

    #[test]
    fn create_refuses_unknown_read_only_and_wrong_types() {
        let e = errors(SPEC.parse_create(
            &json!({"name": 5, "status": "weird", "id": "x", "alert_count": 3, "score": null}),
        ));
        assert_eq!(
            e,
            vec!["$.alert_count", "$.id", "$.name", "$.score", "$.status"]
        );
        // Members the resource does not have are ignored, not stored.
        let (values, _) = SPEC
            .parse_create(&json!({"name": "n", "role": "admin"}))
            .unwrap_or_default();
        assert!(values.iter().all(|(c, _)| *c != "role"));
        assert_eq!(errors(SPEC.parse_create(&json!({}))), vec!["$.name"]);
        assert_eq!(errors(SPEC.parse_create(&json!([1]))), vec!["$"]);
    }

    #[test]
    fn stored_json_never_holds_the_key_serde_json_reads_as_raw_json() {
        let f = FieldSpec::of_type("config", FieldType::Object);
        // Parsed with the key second, it is stored first (maps are sorted) and reads back wrong.
        let v: Value = serde_json::from_str(r#"{"a": 1, "$serde_json::private::RawValue": "12"}"#)
            .unwrap_or_default();
        let stored = v.to_string();
        assert!(serde_json::from_str::<Value>(&stored).is_err(), "{stored}");
        let deep = json!({"x": [{"ok": 1}, {"$serde_json::private::RawValue": "12"}]});
        for (value, at) in [(v, "$.config"), (deep, "$.config.x[1]")] {
            match coerce(&f, &value) {
                Err(e) => assert_eq!(e.path, at),
                Ok(stored) => panic!("stored {stored:?}"),
            }
        }
        assert!(coerce(&f, &json!({"v": "$serde_json::private::RawValue"})).is_ok());
    }

    #[test]
    fn update_cannot_move_tenant_or_be_empty() {
        assert_eq!(
            errors(SPEC.parse_update(&json!({"tenant_id": "other"}))),
            vec!["$.tenant_id"]
        );
        assert_eq!(SPEC.parse_update(&json!({})).ok(), Some(Vec::new()));
    }

    #[test]
    fn null_clears_an_optional_field_in_the_drf_dialect_only() {
        // DRF: `null` clears an optional field, and may not stand for a required one.
        let (values, _) = SPEC
            .parse_update_ignoring_read_only(&json!({"score": null}), false)
            .unwrap_or_default();
        assert_eq!(values, vec![("score", FieldValue::Null)]);
        assert_eq!(
            errors(SPEC.parse_update_ignoring_read_only(&json!({"name": null}), false)),
            vec!["$.name"]
        );
        // XDR: the contract has no null members.
        assert_eq!(
            errors(SPEC.parse_update(&json!({"score": null}))),
            vec!["$.score"]
        );
    }

    #[test]
    fn read_only_members_are_refused_or_ignored_and_put_needs_required_fields() {
        let body = json!({"name": "n", "id": "x", "alert_count": 3, "created_at": "t"});
        assert_eq!(
            errors(SPEC.parse_create(&body)),
            vec!["$.alert_count", "$.created_at", "$.id"]
        );
        let (values, _) = SPEC
            .parse_create_as(&body, ReadOnlyMembers::Ignore)
            .unwrap_or_default();
        assert_eq!(values.len(), 2, "{values:?}"); // name, and status's default
        let (values, tenant) = SPEC
            .parse_update_ignoring_read_only(&json!({"score": 5, "tenant_id": "t"}), false)
            .unwrap_or_default();
        assert_eq!(values, vec![("score", FieldValue::Int(5))]);
        assert_eq!(tenant.as_deref(), Some("t"));
        assert_eq!(
            errors(SPEC.parse_update_ignoring_read_only(&json!({"score": 5}), true)),
            vec!["$.name"]
        );
        assert!(SPEC
            .parse_update_ignoring_read_only(&json!({"name": "m", "id": 3}), true)
            .is_ok());
    }

    #[test]
    fn ip_addresses_are_checked_and_stored_canonically() {
        let f = FieldSpec::ip_address("ipaddress");
        assert_eq!(
            coerce(&f, &json!("2001:DB8:0:0::1")),
            Ok(FieldValue::Text("2001:db8::1".into()))
        );
        assert_eq!(
            coerce(&f, &json!("10.0.0.1")),
            Ok(FieldValue::Text("10.0.0.1".into()))
        );
        for bad in [json!("10.0.0.256"), json!("probe.example"), json!(10)] {
            assert!(coerce(&f, &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_are_text_ids_or_positive_integers() {
        assert_eq!(
            SPEC.key_value("abc-1"),
            Some(FieldValue::Text("abc-1".into()))
        );
        assert_eq!(SPEC.key_value("a/b"), None);
        static SERIAL: ResourceSpec =
            ResourceSpec::owned("s", "S", "S", &[], ("a", "b")).serial("s");
        assert_eq!(SERIAL.key_value("12"), Some(FieldValue::Int(12)));
        for bad in ["0", "-1", "x", "1.5", "", "99999999999999999999"] {
            assert_eq!(SERIAL.key_value(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_json_never_panics(s in "\\PC{0,200}") {
            if let Ok(v) = serde_json::from_str::<Value>(&s) {
                let _ = SPEC.parse_create(&v);
                let _ = SPEC.parse_update(&v);
                let _ = SPEC.parse_create_as(&v, ReadOnlyMembers::Ignore);
                let _ = SPEC.parse_update_ignoring_read_only(&v, true);
            }
        }
    }
}
