//! The generic resource engine's HTTP half: for each [`ResourceSpec`], the five routes
//! (list, create, get, update, delete) and their OpenAPI operations, generated from the spec
//! so routes and documentation cannot drift apart.

use super::API;
use crate::extract::{Auth, JsonBody, Params};
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::MethodRouter;
use axum::{Json, Router};
use serde_json::{json, Value};
use stella_core::dialect::Dialect;
use stella_core::resource::{FieldType, Op, ResourceSpec};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder, Schema};

/// Every resource served by the engine.
pub static RESOURCES: &[&ResourceSpec] = stella_core::catalog::ALL;

/// The write-only members of the resource a route serves (empty for other routes), which the
/// activity log must never record.
pub fn write_only_fields(route: &str) -> &'static [&'static str] {
    static BY_ROUTE: std::sync::OnceLock<
        std::collections::HashMap<String, &'static [&'static str]>,
    > = std::sync::OnceLock::new();
    let map = BY_ROUTE.get_or_init(|| {
        let mut map = std::collections::HashMap::new();
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
            let base = collection_path(spec, "id");
            let item = match spec.parent {
                Some(_) => format!("{base}/{{child}}"),
                None => format!("{base}/{{id}}"),
            };
            map.insert(base, names);
            map.insert(item, names);
        }
        map.extend(super::rest::write_only_routes());
        map
    });
    map.get(route).copied().unwrap_or(&[])
}

/// The URL of a resource's collection; nested resources sit under their parent object.
fn collection_path(spec: &ResourceSpec, parent_param: &str) -> String {
    match spec.parent {
        Some(p) => format!("{API}/{}/{{{parent_param}}}/{}", p.spec.name, spec.name),
        None => format!("{API}/{}", spec.name),
    }
}

/// `(parent id, object id)` from the path parameters of a route.
fn split_path(mut ids: Vec<String>, item: bool) -> (Option<String>, String) {
    let id = if item {
        ids.pop().unwrap_or_default()
    } else {
        String::new()
    };
    (ids.pop(), id)
}

async fn list(
    spec: &'static ResourceSpec,
    app: AppState,
    p: Auth,
    ids: Vec<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let (parent, _) = split_path(ids, false);
    let listed = app
        .stella
        .resource_list(&p.0, spec, parent.as_deref(), Dialect::Xdr, &params.0)
        .await?;
    Ok(Json(json!({
        "data": listed.rows,
        "total": listed.total,
        "limit": listed.query.limit,
        "offset": listed.query.offset,
    })))
}

async fn create(
    spec: &'static ResourceSpec,
    app: AppState,
    p: Auth,
    ids: Vec<String>,
    body: Value,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (parent, _) = split_path(ids, false);
    Ok((
        StatusCode::CREATED,
        Json(
            app.stella
                .resource_create(&p.0, spec, parent.as_deref(), &body)
                .await?,
        ),
    ))
}

type Ids = Path<Vec<String>>;

pub fn routes(
    spec: &'static ResourceSpec,
) -> (Router<AppState>, Vec<(String, HttpMethod, Operation)>) {
    // Every route under one collection must name its first parameter alike (`{id}`), so a
    // nested collection's parent is `{id}` and its items are `{child}`.
    let base = collection_path(spec, "id");
    let item = match spec.parent {
        Some(_) => format!("{base}/{{child}}"),
        None => format!("{base}/{{id}}"),
    };
    let mut collection = MethodRouter::<AppState>::new();
    if spec.serves(Op::List) {
        collection = collection.get(
            move |State(app): State<AppState>, auth: Auth, Path(ids): Ids, params: Params| {
                list(spec, app, auth, ids, params)
            },
        );
    }
    if spec.serves(Op::Create) {
        collection = collection.post(
            move |State(app): State<AppState>,
                  auth: Auth,
                  Path(ids): Ids,
                  JsonBody(body): JsonBody<Value>| create(spec, app, auth, ids, body),
        );
    }
    let mut one = MethodRouter::<AppState>::new();
    if spec.serves(Op::Get) {
        one = one.get(
            move |State(app): State<AppState>, Auth(p): Auth, Path(ids): Ids| async move {
                let (parent, id) = split_path(ids, true);
                ApiResult::Ok(Json(
                    app.stella
                        .resource_get(&p, spec, parent.as_deref(), &id)
                        .await?,
                ))
            },
        );
    }
    if spec.serves(Op::Update) {
        one = one.put(
            move |State(app): State<AppState>,
                  Auth(p): Auth,
                  Path(ids): Ids,
                  JsonBody(body): JsonBody<Value>| async move {
                let (parent, id) = split_path(ids, true);
                ApiResult::Ok(Json(
                    app.stella
                        .resource_update(&p, spec, parent.as_deref(), &id, &body)
                        .await?,
                ))
            },
        );
    }
    if spec.serves(Op::Delete) {
        one =
            one.delete(
                move |State(app): State<AppState>,
                      Auth(p): Auth,
                      Path(ids): Ids,
                      params: Params| async move {
                    let (parent, id) = split_path(ids, true);
                    app.stella
                        .resource_delete(&p, spec, parent.as_deref(), &id, &params.0)
                        .await?;
                    ApiResult::Ok(StatusCode::NO_CONTENT)
                },
            );
    }
    let router = Router::new().route(&base, collection).route(&item, one);
    (router, operations(spec))
}

pub(crate) fn field_schema(ty: FieldType) -> Schema {
    let b = ObjectBuilder::new();
    let b = match ty {
        FieldType::Text { max_len } => b.schema_type(Type::String).max_length(Some(max_len)),
        FieldType::Enum(values) => b
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied())),
        FieldType::Int { min, max } => b
            .schema_type(Type::Integer)
            .minimum(Some(min as f64))
            .maximum(Some(max as f64)),
        FieldType::IpAddress => b
            .schema_type(Type::String)
            .description(Some("An IPv4 or IPv6 address")),
        FieldType::Float => b.schema_type(Type::Number),
        FieldType::Bool => b.schema_type(Type::Boolean),
        FieldType::Timestamp => b
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        FieldType::Json => b,
        FieldType::Object => b.schema_type(Type::Object),
        FieldType::TextList { max_items, max_len } => {
            return Schema::Array(
                ArrayBuilder::new()
                    .items(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .max_length(Some(max_len)),
                    )
                    .max_items(Some(max_items))
                    .build(),
            )
        }
        FieldType::ObjectList { max_items } => {
            return Schema::Array(
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(Type::Object))
                    .max_items(Some(max_items))
                    .build(),
            )
        }
    };
    Schema::Object(b.build())
}

fn object_schema(spec: &ResourceSpec, writable_only: bool, with_required: bool) -> Schema {
    let mut b = ObjectBuilder::new().schema_type(Type::Object);
    if !writable_only {
        b = b.property("id", ObjectBuilder::new().schema_type(Type::String));
    }
    if spec.tenancy.has_tenant_column() && spec.parent.is_none() {
        b = b.property("tenant_id", ObjectBuilder::new().schema_type(Type::String));
    }
    let fields = spec.fields.iter().filter(|f| {
        if writable_only {
            f.writable
        } else {
            !f.write_only
        }
    });
    for f in fields {
        b = b.property(f.name, field_schema(f.ty));
        if with_required && f.required && f.default.is_none() {
            b = b.required(f.name);
        }
    }
    if !writable_only {
        let ts = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        };
        b = b.property("created_at", ts()).property("updated_at", ts());
    }
    Schema::Object(b.build())
}

pub(crate) fn json_content(schema: Schema) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// `tenant_groups` → `TenantGroups`.
fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// `CaseObservable` → `caseObservableId`.
fn id_param_name(singular: &str) -> String {
    format!("{}{}Id", singular[..1].to_lowercase(), &singular[1..])
}

fn operations(spec: &ResourceSpec) -> Vec<(String, HttpMethod, Operation)> {
    let parent_param = spec.parent.map(|p| id_param_name(p.spec.singular));
    let base = collection_path(spec, parent_param.as_deref().unwrap_or(""));
    let id_param = id_param_name(spec.singular);
    let item_path = format!("{base}/{{{id_param}}}");
    let plural = match spec.parent {
        Some(p) => format!("{}{}", p.spec.singular, camel(spec.name)),
        None => camel(spec.name),
    };
    let object = object_schema(spec, false, false);
    let path_param = |name: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()
    };
    let id = || path_param(&id_param);
    let query = |name: &str, ty: Type| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .schema(Some(ObjectBuilder::new().schema_type(ty)))
            .build()
    };
    let body = |required: bool| {
        RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content(
                "application/json",
                json_content(object_schema(spec, true, required)),
            )
            .build()
    };
    let ok =
        |code: &str, desc: &str, schema: Option<Schema>| -> (String, utoipa::openapi::Response) {
            let r = ResponseBuilder::new().description(desc);
            let r = match schema {
                Some(s) => r.content("application/json", json_content(s)),
                None => r,
            };
            (code.to_owned(), r.build())
        };
    let page = Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "data",
                ArrayBuilder::new().items(utoipa::openapi::RefOr::T(object.clone())),
            )
            .property("total", ObjectBuilder::new().schema_type(Type::Integer))
            .property("limit", ObjectBuilder::new().schema_type(Type::Integer))
            .property("offset", ObjectBuilder::new().schema_type(Type::Integer))
            .build(),
    );
    let op = |id_name: String, summary: String| {
        let b = OperationBuilder::new()
            .operation_id(Some(id_name))
            .summary(Some(summary))
            .tag(spec.tag);
        match &parent_param {
            Some(p) => b.parameter(path_param(p)),
            None => b,
        }
    };
    let with_errors = |b: OperationBuilder, codes: &[(&str, &str)]| {
        codes.iter().fold(b, |b, (c, d)| b.response(*c, problem(d)))
    };
    let common = [
        ("401", "Authentication required"),
        ("403", "Missing permission or scope"),
    ];

    let mut list_op = op(format!("list{plural}"), format!("List {}", spec.name))
        .parameter(query("limit", Type::Integer))
        .parameter(query("offset", Type::Integer))
        .parameter(query("sort", Type::String))
        .parameter(query("order", Type::String))
        .parameter(query("tenantid", Type::String));
    for f in spec.fields.iter().filter(|f| f.filterable) {
        list_op = list_op.parameter(
            ParameterBuilder::new()
                .name(f.name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .schema(Some(field_schema(f.ty)))
                .build(),
        );
    }
    let (c, r) = ok("200", &format!("A page of {}", spec.name), Some(page));
    let list_op = with_errors(
        list_op.response(c, r),
        &[("400", "Invalid parameter"), common[0], common[1]],
    )
    .build();

    let (c, r) = ok(
        "201",
        &format!("{} created", spec.singular),
        Some(object.clone()),
    );
    let create_op = with_errors(
        op(
            format!("create{}", spec.singular),
            format!("Create a {}", spec.singular.to_lowercase()),
        )
        .request_body(Some(body(true)))
        .response(c, r),
        &[("400", "Invalid body"), common[0], common[1]],
    )
    .build();

    let (c, r) = ok("200", spec.singular, Some(object.clone()));
    let get_op = with_errors(
        op(
            format!("get{}", spec.singular),
            format!("Get a {}", spec.singular.to_lowercase()),
        )
        .parameter(id())
        .response(c, r),
        &[common[0], common[1], ("404", "Not found")],
    )
    .build();

    let (c, r) = ok("200", &format!("{} updated", spec.singular), Some(object));
    let update_op = with_errors(
        op(
            format!("update{}", spec.singular),
            format!("Update a {}", spec.singular.to_lowercase()),
        )
        .parameter(id())
        .request_body(Some(body(false)))
        .response(c, r),
        &[
            ("400", "Invalid body"),
            common[0],
            common[1],
            ("404", "Not found"),
        ],
    )
    .build();

    // The contract's DELETE on a case closes it.
    let (verb, done) = match spec.name {
        "cases" => ("close", "closed"),
        _ => ("delete", "deleted"),
    };
    let (c, r) = ok("204", &format!("{} {done}", spec.singular), None);
    let mut delete_op = op(
        format!("{verb}{}", spec.singular),
        format!(
            "{}{} a {}",
            verb[..1].to_uppercase(),
            &verb[1..],
            spec.singular.to_lowercase()
        ),
    );
    if spec.name == "cases" {
        delete_op = delete_op.parameter(query("update_alerts", Type::Boolean));
    }
    let delete_op = with_errors(
        delete_op.parameter(id()).response(c, r),
        &[
            common[0],
            common[1],
            ("404", "Not found"),
            ("409", "Still in use"),
        ],
    )
    .build();

    [
        (Op::List, base.clone(), HttpMethod::Get, list_op),
        (Op::Create, base, HttpMethod::Post, create_op),
        (Op::Get, item_path.clone(), HttpMethod::Get, get_op),
        (Op::Update, item_path.clone(), HttpMethod::Put, update_op),
        (Op::Delete, item_path, HttpMethod::Delete, delete_op),
    ]
    .into_iter()
    .filter(|(o, ..)| spec.serves(*o))
    .map(|(_, path, method, operation)| (path, method, operation))
    .collect()
}
