//! The resource engine's HTTP half in Django REST framework's dialect, at `/rest/` (the probe
//! management API, issue 14): for each spec of `stella_core::catalog::REST`, the routes a DRF
//! `ModelViewSet` has, generated from the spec like the XDR ones (`resources.rs`), on the same
//! service calls (permissions, tenancy, validation, hooks) with `Dialect::Drf`.
//!
//! - `GET /rest/<object>/` lists: `page` (30 a page), `page_size` (bounded by
//!   `max_page_size`), `ordering`, `search`, exact filters; `{count, next, previous, results}`
//!   with absolute `next`/`previous` URLs built from the request.
//! - `POST /rest/<object>/` creates (201); `GET|PUT|PATCH|DELETE /rest/<object>/<pk>/`: PUT
//!   needs every writable required field, PATCH any of them; DELETE answers 204.
//! - `OPTIONS` on both describes the fields in DRF's `SimpleMetadata` shape.
//! - Objects are keyed `pk`; read-only members of a write body are ignored, as DRF does; an
//!   optional `comment` in any write body goes to the resource's hooks (`after_write`), not to
//!   a field.
//! - Trailing slashes are required, as in the spec: a GET (or HEAD) without one is redirected
//!   with 301, as Django's `APPEND_SLASH` does; any other method is answered 404 saying where
//!   to send it (its body would be lost on a redirect).

use crate::client_addr::ClientAddr;
use crate::extract::{Auth, JsonBody, OptionalJsonBody, Params};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};
use axum::{Json, Router};
use bytes::Bytes;
use futures::future::BoxFuture;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use stella_core::dialect::Dialect;
use stella_core::resource::{FieldSpec, FieldType, Key, Op, ResourceSpec};
use stella_core::{FieldError, Principal};
use stella_service::{ServiceError, Write};

pub const REST: &str = "/rest";

/// Every resource served at `/rest/`.
pub static RESOURCES: &[&ResourceSpec] = stella_core::catalog::REST;

/// Longest `comment` a write may carry.
const MAX_COMMENT: usize = 10_000;

pub fn collection_path(spec: &ResourceSpec) -> String {
    format!("{REST}/{}/", spec.name)
}

pub fn item_path(spec: &ResourceSpec) -> String {
    format!("{REST}/{}/{{pk}}/", spec.name)
}

/// `/rest/<object>/{pk}/<action>/`.
pub fn action_path(spec: &ResourceSpec, action: &str) -> String {
    format!("{REST}/{}/{{pk}}/{action}/", spec.name)
}

/// Where an action is routed: `/rest/<object>/{pk}/<action>/` on one object, or
/// `/rest/<object>/<action>/` on the list.
pub fn path_of(action: &Action) -> String {
    if action.detail {
        action_path(action.spec, action.name)
    } else {
        format!("{REST}/{}/{}/", action.spec.name, action.name)
    }
}

/// The method an [`Action`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionMethod {
    Get,
    Post,
}

/// What an action's handler is given: the caller, the object's pk as written in the path, the
/// query and the body (bounded and buffered by the gateway).
pub struct ActionCall {
    pub app: AppState,
    pub principal: Arc<Principal>,
    pub pk: String,
    pub params: Vec<(String, String)>,
    pub body: Bytes,
    /// The body's `Content-Type`, when it says one (an upload may be a multipart form).
    pub content_type: Option<String>,
    /// The client's address, for the action history.
    pub client_ip: String,
}

pub type ActionFn = fn(ActionCall) -> BoxFuture<'static, ApiResult<Response>>;

/// An action on one object, `<method> /rest/<object>/<pk>/<action>/` (Django REST framework's
/// `@action(detail=True)`), or on the list, `<method> /rest/<object>/<action>/`
/// (`detail=False`; the call's `pk` is empty): registered with its resource in [`actions`],
/// routed by [`routes`] with the resource's other routes.
pub struct Action {
    pub spec: &'static ResourceSpec,
    pub name: &'static str,
    /// On one object (`true`) or on the list.
    pub detail: bool,
    pub method: ActionMethod,
    /// One line for the OpenAPI document: what the action does and what it takes.
    pub summary: &'static str,
    /// What its body is, for the OpenAPI document.
    pub body: ActionBody,
    pub handler: ActionFn,
}

/// The body an [`Action`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionBody {
    None,
    /// A JSON object.
    Json,
    /// A file: a `multipart/form-data` part named `file` (with `comment` and `filename`
    /// fields), or the whole body.
    File,
}

/// Every action of every `/rest/` resource, from each group's registrations.
pub fn actions() -> impl Iterator<Item = &'static Action> {
    super::rest_rules::ACTIONS
        .iter()
        .chain(super::rest_history::ACTIONS)
}

/// Whether `route` is one of the slash-less forms that only redirect (GET) or refuse
/// (writes): they need no credential, as Django's `APPEND_SLASH` answers before any view.
pub fn is_slash_redirect(route: &str) -> bool {
    static ROUTES: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    ROUTES
        .get_or_init(|| {
            let mut routes: std::collections::HashSet<String> = RESOURCES
                .iter()
                .flat_map(|spec| [collection_path(spec), item_path(spec)])
                .map(|path| path.trim_end_matches('/').to_owned())
                .collect();
            routes.extend(actions().map(|a| path_of(a).trim_end_matches('/').to_owned()));
            routes.insert(REST.to_owned());
            routes
        })
        .contains(route)
}

/// `(route, write-only fields)` for every route of a resource that has any, which the
/// activity log must never record.
pub fn write_only_routes() -> Vec<(String, &'static [&'static str])> {
    let mut routes = Vec::new();
    for spec in RESOURCES {
        let names: Vec<&'static str> = spec
            .fields
            .iter()
            .filter(|f| f.write_only)
            .map(|f| f.name)
            .collect();
        if names.is_empty() {
            continue;
        }
        let names: &'static [&'static str] = Box::leak(names.into_boxed_slice());
        routes.push((collection_path(spec), names));
        routes.push((item_path(spec), names));
    }
    routes
}

pub fn routes(spec: &'static ResourceSpec) -> Router<AppState> {
    let mut collection = MethodRouter::<AppState>::new();
    if spec.serves(Op::List) {
        collection = collection.get(
            move |State(app): State<AppState>,
                  Auth(p): Auth,
                  headers: HeaderMap,
                  uri: Uri,
                  params: Params| list(spec, app, p, headers, uri, params),
        );
    }
    if spec.serves(Op::Create) {
        collection = collection.post(
            move |State(app): State<AppState>,
                  Auth(p): Auth,
                  peer: ClientAddr,
                  JsonBody(body): JsonBody<Value>| { create(spec, app, p, peer, body) },
        );
    }
    collection = collection
        .options(move |State(app): State<AppState>, Auth(p): Auth| options(spec, app, p, None));

    let mut one = MethodRouter::<AppState>::new();
    if spec.serves(Op::Get) {
        one = one.get(
            move |State(app): State<AppState>, Auth(p): Auth, Path(pk): Path<String>| async move {
                let found = app.stella.resource_get(&p, spec, None, &pk).await?;
                ApiResult::Ok(Json(represent(spec, found)))
            },
        );
    }
    if spec.serves(Op::Update) {
        one = one
            .put(
                move |State(app): State<AppState>,
                      Auth(p): Auth,
                      Path(pk): Path<String>,
                      peer: ClientAddr,
                      JsonBody(body): JsonBody<Value>| {
                    update(spec, app, p, pk, peer, body, true)
                },
            )
            .patch(
                move |State(app): State<AppState>,
                      Auth(p): Auth,
                      Path(pk): Path<String>,
                      peer: ClientAddr,
                      JsonBody(body): JsonBody<Value>| {
                    update(spec, app, p, pk, peer, body, false)
                },
            );
    }
    if spec.serves(Op::Delete) {
        one = one.delete(
            move |State(app): State<AppState>,
                  Auth(p): Auth,
                  Path(pk): Path<String>,
                  peer: ClientAddr,
                  OptionalJsonBody(body): OptionalJsonBody<Value>| {
                delete(spec, app, p, pk, peer, body)
            },
        );
    }
    one = one.options(
        move |State(app): State<AppState>, Auth(p): Auth, Path(pk): Path<String>| {
            options(spec, app, p, Some(pk))
        },
    );

    let base = collection_path(spec);
    let item = item_path(spec);
    let mut router = Router::new()
        .route(&base, collection)
        .route(&item, one)
        .route(base.trim_end_matches('/'), any(append_slash))
        .route(item.trim_end_matches('/'), any(append_slash));
    // One route per action path, with every method registered under it.
    let mut routed: Vec<(String, MethodRouter<AppState>)> = Vec::new();
    let mut served: Vec<(String, Vec<&'static Action>)> = Vec::new();
    for action in actions().filter(|a| std::ptr::eq(a.spec, spec)) {
        match served.iter_mut().find(|(p, _)| *p == path_of(action)) {
            Some((_, list)) => list.push(action),
            None => served.push((path_of(action), vec![action])),
        }
        let handler = action.handler;
        let on_one = move |State(app): State<AppState>,
                           Auth(principal): Auth,
                           Path(pk): Path<String>,
                           Params(params): Params,
                           peer: ClientAddr,
                           headers: HeaderMap,
                           body: Bytes| {
            handler(ActionCall {
                app,
                principal,
                pk,
                params,
                body,
                content_type: content_type(&headers),
                client_ip: client_ip(peer),
            })
        };
        let on_list = move |State(app): State<AppState>,
                            Auth(principal): Auth,
                            Params(params): Params,
                            peer: ClientAddr,
                            headers: HeaderMap,
                            body: Bytes| {
            handler(ActionCall {
                app,
                principal,
                pk: String::new(),
                params,
                body,
                content_type: content_type(&headers),
                client_ip: client_ip(peer),
            })
        };
        let path = path_of(action);
        let i = match routed.iter().position(|(p, _)| *p == path) {
            Some(i) => i,
            None => {
                routed.push((path, MethodRouter::new()));
                routed.len() - 1
            }
        };
        let (_, methods) = &mut routed[i];
        let taken = std::mem::replace(methods, MethodRouter::new());
        *methods = match (action.method, action.detail) {
            (ActionMethod::Get, true) => taken.get(on_one),
            (ActionMethod::Post, true) => taken.post(on_one),
            (ActionMethod::Get, false) => taken.get(on_list),
            (ActionMethod::Post, false) => taken.post(on_list),
        };
    }
    for (path, methods) in routed {
        let here = served
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, list)| list.clone())
            .unwrap_or_default();
        let methods = methods.options(move |State(app): State<AppState>, Auth(p): Auth| {
            action_options(here.clone(), app, p)
        });
        router = router
            .route(path.trim_end_matches('/'), any(append_slash))
            .route(&path, methods);
    }
    router
}

/// An object as Django REST framework shows it: keyed `pk`, every field present (`null`
/// when it has no value).
pub fn represent(spec: &ResourceSpec, object: Value) -> Value {
    let Value::Object(mut m) = object else {
        return object;
    };
    if let Some(id) = m.remove("id") {
        m.insert(Dialect::Drf.key_name().into(), id);
    }
    if spec.tenancy.has_tenant_column() {
        m.entry("tenant_id").or_insert(Value::Null);
    }
    for f in spec.visible_fields() {
        m.entry(f.name).or_insert(Value::Null);
    }
    Value::Object(m)
}

/// Takes the optional `comment` out of a write body (unless the resource has a field of that
/// name): a string, or null for none.
fn take_comment(spec: &ResourceSpec, body: &mut Value) -> ApiResult<Option<String>> {
    if spec.field("comment").is_some() {
        return Ok(None);
    }
    let Value::Object(m) = body else {
        return Ok(None);
    };
    match m.remove("comment") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(c)) if c.chars().count() <= MAX_COMMENT => Ok(Some(c)),
        Some(Value::String(_)) => Err(ApiError::invalid(vec![FieldError::new(
            "comment",
            format!("must be at most {MAX_COMMENT} characters"),
        )])),
        Some(_) => Err(ApiError::invalid(vec![FieldError::new(
            "comment",
            "must be a string",
        )])),
    }
}

fn drf_write<'a>(comment: Option<&'a str>, replace: bool, client_ip: &'a str) -> Write<'a> {
    Write {
        dialect: Dialect::Drf,
        replace,
        comment,
        client_ip: Some(client_ip),
    }
}

/// The client's address, behind trusted proxies if any (for the action history).
fn client_ip(ClientAddr(client): ClientAddr) -> String {
    client.to_string()
}

/// The request's `Content-Type`, when it is one and readable.
fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn list(
    spec: &'static ResourceSpec,
    app: AppState,
    p: Arc<Principal>,
    headers: HeaderMap,
    uri: Uri,
    params: Params,
) -> ApiResult<Json<Value>> {
    let listed = app
        .stella
        .resource_list(&p, spec, None, Dialect::Drf, &params.0)
        .await?;
    let q = &listed.query;
    let size = q.limit.max(1);
    let page = q.offset / size + 1;
    let pages = ((listed.total + size - 1) / size).max(1);
    let base = absolute_url(&app, &headers, &uri);
    let next = (page < pages).then(|| page_link(&base, &params.0, Some(page + 1)));
    // DRF's link to page 1 leaves `page` out.
    let previous = (page > 1).then(|| page_link(&base, &params.0, (page > 2).then_some(page - 1)));
    let results: Vec<Value> = listed
        .rows
        .into_iter()
        .map(|o| represent(spec, o))
        .collect();
    Ok(Json(json!({
        "count": listed.total,
        "next": next,
        "previous": previous,
        "results": results,
    })))
}

/// The request's own URL, absolute and without its query: [`origin`] and the path.
pub fn absolute_url(app: &AppState, headers: &HeaderMap, uri: &Uri) -> String {
    format!("{}{}", origin(app, headers, uri), uri.path())
}

/// `scheme://host` as this server's links are written: its scheme (`https` when it serves
/// TLS; a request's URI carries none over HTTP/1), the `Host` the client used (or, over
/// HTTP/2, the request's authority). The browsable page tells this server's links by it.
pub fn origin(app: &AppState, headers: &HeaderMap, uri: &Uri) -> String {
    let scheme = if app.config.tls_enabled() {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        // Only what a host and port are made of: the header is the client's to write.
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// `base` with the request's parameters, `page` replaced (or left out for `None`), sorted by
/// name as DRF's `replace_query_param` writes them.
fn page_link(base: &str, params: &[(String, String)], page: Option<i64>) -> String {
    let page = page.map(|n| n.to_string());
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(n) = &page {
        pairs.push(("page", n));
    }
    // Stable: the values of one name keep their order.
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    match serde_urlencoded::to_string(&pairs) {
        Ok(q) if !q.is_empty() => format!("{base}?{q}"),
        _ => base.to_owned(),
    }
}

async fn create(
    spec: &'static ResourceSpec,
    app: AppState,
    p: Arc<Principal>,
    peer: ClientAddr,
    mut body: Value,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let comment = take_comment(spec, &mut body)?;
    let ip = client_ip(peer);
    let created = app
        .stella
        .resource_create_as(
            &p,
            spec,
            None,
            &body,
            drf_write(comment.as_deref(), false, &ip),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(represent(spec, created))))
}

async fn update(
    spec: &'static ResourceSpec,
    app: AppState,
    p: Arc<Principal>,
    pk: String,
    peer: ClientAddr,
    mut body: Value,
    replace: bool,
) -> ApiResult<Json<Value>> {
    let comment = take_comment(spec, &mut body)?;
    let ip = client_ip(peer);
    let updated = app
        .stella
        .resource_update_as(
            &p,
            spec,
            None,
            &pk,
            &body,
            drf_write(comment.as_deref(), replace, &ip),
        )
        .await?;
    Ok(Json(represent(spec, updated)))
}

async fn delete(
    spec: &'static ResourceSpec,
    app: AppState,
    p: Arc<Principal>,
    pk: String,
    peer: ClientAddr,
    body: Option<Value>,
) -> ApiResult<StatusCode> {
    let mut body = body.unwrap_or(Value::Null);
    let comment = take_comment(spec, &mut body)?;
    let ip = client_ip(peer);
    app.stella
        .resource_delete_as(
            &p,
            spec,
            None,
            &pk,
            &[],
            drf_write(comment.as_deref(), false, &ip),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DRF's `SimpleMetadata`: the view's name and description, what it renders and parses, and
/// for the writes the caller may make here (POST on a list, PUT on an object it can see), each
/// field's type, whether it is required or read-only, its label and bounds.
async fn options(
    spec: &'static ResourceSpec,
    app: AppState,
    p: Arc<Principal>,
    pk: Option<String>,
) -> ApiResult<Response> {
    app.stella.resource_permits(&p, spec, false)?;
    let may_write = app.stella.resource_permits(&p, spec, true).is_ok();
    let mut actions = Map::new();
    if may_write {
        match &pk {
            None if spec.serves(Op::Create) => {
                actions.insert("POST".into(), describe_fields(spec, true));
            }
            // An object the caller cannot see gets no PUT, as DRF's get_object check.
            Some(pk)
                if spec.serves(Op::Update)
                    && app.stella.resource_get(&p, spec, None, pk).await.is_ok() =>
            {
                actions.insert("PUT".into(), describe_fields(spec, false));
            }
            _ => {}
        }
    }
    let mut metadata = json!({
        "name": view_name(spec, pk.is_some()),
        "description": spec.description,
        "renders": ["application/json"],
        "parses": ["application/json"],
    });
    if !actions.is_empty() {
        metadata["actions"] = Value::Object(actions);
    }
    let allowed = allowed_methods(spec, pk.is_some());
    let mut response = Json(metadata).into_response();
    if let Ok(v) = HeaderValue::from_str(&allowed) {
        response.headers_mut().insert(header::ALLOW, v);
    }
    Ok(response)
}

/// DRF's `SimpleMetadata` for an `@action` view: its name (the function's, as DRF's
/// `pretty_name` spaces it), description, what it renders and parses, and `actions` with the
/// POST it takes when the caller may write (an action's body is not a serializer's fields, so
/// its description is empty), with `Allow` listing the path's methods.
async fn action_options(
    here: Vec<&'static Action>,
    app: AppState,
    p: Arc<Principal>,
) -> ApiResult<Response> {
    let Some(first) = here.first() else {
        return Err(ApiError::RouteNotFound);
    };
    app.stella.resource_permits(&p, first.spec, false)?;
    let may_write = app.stella.resource_permits(&p, first.spec, true).is_ok();
    let mut methods = Vec::new();
    let mut actions = Map::new();
    for a in &here {
        match a.method {
            ActionMethod::Get => methods.extend(["GET", "HEAD"]),
            ActionMethod::Post => {
                methods.push("POST");
                if may_write {
                    actions.insert("POST".into(), json!({}));
                }
            }
        }
    }
    methods.push("OPTIONS");
    let mut name = first.name.replace('_', " ");
    if let Some(c) = name.get(..1).map(str::to_uppercase) {
        name.replace_range(..1, &c);
    }
    let mut metadata = json!({
        "name": name,
        "description": first.summary,
        "renders": ["application/json"],
        "parses": ["application/json"],
    });
    if !actions.is_empty() {
        metadata["actions"] = Value::Object(actions);
    }
    let mut response = Json(metadata).into_response();
    if let Ok(v) = HeaderValue::from_str(&methods.join(", ")) {
        response.headers_mut().insert(header::ALLOW, v);
    }
    Ok(response)
}

fn allowed_methods(spec: &ResourceSpec, item: bool) -> String {
    let ops: &[(Op, &str)] = if item {
        &[
            (Op::Get, "GET"),
            (Op::Update, "PUT"),
            (Op::Update, "PATCH"),
            (Op::Delete, "DELETE"),
        ]
    } else {
        &[(Op::List, "GET"), (Op::Create, "POST")]
    };
    ops.iter()
        .filter(|(op, _)| spec.serves(*op))
        .map(|(_, m)| *m)
        .chain(
            ["HEAD", "OPTIONS"]
                .into_iter()
                .filter(|m| *m == "OPTIONS" || spec.serves(if item { Op::Get } else { Op::List })),
        )
        .collect::<Vec<_>>()
        .join(", ")
}

/// DRF's view name: the class name spaced out, with the suffix of a list or an instance
/// (`Suricata Appliance List`).
fn view_name(spec: &ResourceSpec, item: bool) -> String {
    let mut name = String::new();
    for (i, c) in spec.singular.char_indices() {
        if i > 0 && c.is_uppercase() {
            name.push(' ');
        }
        name.push(c);
    }
    name.push_str(if item { " Instance" } else { " List" });
    name
}

/// DRF's default label: the name with spaces for underscores, first letter capitalised.
fn label(name: &str) -> String {
    if name == "pk" {
        return "ID".into();
    }
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The type names of DRF's `SimpleMetadata.label_lookup`.
fn drf_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text { .. } | FieldType::IpAddress => "string",
        FieldType::Enum(_) => "choice",
        FieldType::Int { .. } => "integer",
        FieldType::Float => "float",
        FieldType::Bool => "boolean",
        FieldType::Timestamp => "datetime",
        FieldType::Json => "field",
        FieldType::Object => "nested object",
        FieldType::TextList { .. } | FieldType::ObjectList { .. } => "list",
    }
}

fn field_info(f: &FieldSpec) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(drf_type(f.ty)));
    m.insert(
        "required".into(),
        json!(f.writable && f.required && f.default.is_none()),
    );
    m.insert("read_only".into(), json!(!f.writable));
    m.insert("label".into(), json!(label(f.name)));
    match f.ty {
        FieldType::Text { max_len } => {
            m.insert("max_length".into(), json!(max_len));
        }
        FieldType::Int { min, max } => {
            if min != i64::MIN {
                m.insert("min_value".into(), json!(min));
            }
            if max != i64::MAX {
                m.insert("max_value".into(), json!(max));
            }
        }
        FieldType::Enum(values) => {
            let choices: Vec<Value> = values
                .iter()
                .map(|v| json!({"value": v, "display_name": v}))
                .collect();
            m.insert("choices".into(), Value::Array(choices));
        }
        FieldType::TextList { max_len, .. } => {
            m.insert(
                "child".into(),
                json!({"type": "string", "required": true, "read_only": false, "max_length": max_len}),
            );
        }
        FieldType::ObjectList { .. } => {
            m.insert(
                "child".into(),
                json!({"type": "nested object", "required": true, "read_only": false}),
            );
        }
        _ => {}
    }
    Value::Object(m)
}

/// The fields of a create (`create`) or an update, in the order objects show them.
fn describe_fields(spec: &ResourceSpec, create: bool) -> Value {
    let read_only = |ty: &str, name: &str| json!({"type": ty, "required": false, "read_only": true, "label": label(name)});
    let key_type = match spec.key {
        Key::Serial { .. } => "integer",
        Key::Generated => "string",
    };
    let mut m = Map::new();
    m.insert("pk".into(), read_only(key_type, "pk"));
    if spec.tenancy.has_tenant_column() && spec.parent.is_none() {
        m.insert(
            "tenant_id".into(),
            json!({"type": "string", "required": false, "read_only": !create, "label": label("tenant_id")}),
        );
    }
    for f in spec.fields {
        m.insert(f.name.into(), field_info(f));
    }
    m.insert("created_at".into(), read_only("datetime", "created_at"));
    m.insert("updated_at".into(), read_only("datetime", "updated_at"));
    Value::Object(m)
}

/// The slash-less form of a route: GET and HEAD are sent to the slash form (301, with the
/// query), as Django's `APPEND_SLASH` does; other methods are refused with where to send
/// them, since a redirected write would lose its body.
pub async fn append_slash(method: Method, uri: Uri) -> Response {
    let slashed = format!("{}/", uri.path());
    if matches!(method, Method::GET | Method::HEAD) {
        let location = match uri.query() {
            Some(q) => format!("{slashed}?{q}"),
            None => slashed,
        };
        return match HeaderValue::from_str(&location) {
            Ok(v) => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, v)]).into_response(),
            Err(_) => ApiError::RouteNotFound.into_response(),
        };
    }
    ApiError::Service(ServiceError::NotFound(format!(
        "{} has no trailing slash: send the {method} to {slashed} (a {method} is not \
         redirected, its body would be lost)",
        uri.path()
    )))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_replace_page_and_sort_parameters_as_drf_does() {
        let params = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect::<Vec<_>>()
        };
        let base = "http://h:1/rest/x/";
        assert_eq!(
            page_link(
                base,
                &params(&[("search", "a b"), ("page", "2"), ("ordering", "-name")]),
                Some(3)
            ),
            "http://h:1/rest/x/?ordering=-name&page=3&search=a+b"
        );
        assert_eq!(page_link(base, &params(&[("page", "2")]), None), base);
    }

    #[test]
    fn names_and_labels_follow_drf() {
        assert_eq!(label("pk"), "ID");
        assert_eq!(label("tenant_id"), "Tenant id");
        assert_eq!(label("ipaddress"), "Ipaddress");
        static S: ResourceSpec =
            ResourceSpec::owned("a/b", "SuricataAppliance", "P", &[], ("a", "b"));
        assert_eq!(view_name(&S, false), "Suricata Appliance List");
        assert_eq!(view_name(&S, true), "Suricata Appliance Instance");
        assert_eq!(allowed_methods(&S, false), "GET, POST, HEAD, OPTIONS");
        assert_eq!(
            allowed_methods(&S, true),
            "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
        );
    }
}
