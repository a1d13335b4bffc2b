//! The generic resource engine's HTTP half: for each [`ResourceSpec`], the five routes
//! (list, create, get, update, delete) and their OpenAPI operations, generated from the spec
//! so routes and documentation cannot drift apart.

use super::API;
use crate::extract::{Auth, JsonBody, Params};
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use stella_core::resource::{FieldType, ResourceSpec, Tenancy};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder, Schema};

/// Every resource served by the engine.
pub static RESOURCES: &[&ResourceSpec] = &[&stella_service::TENANTS];

async fn list(
    spec: &'static ResourceSpec,
    app: AppState,
    p: Auth,
    params: Params,
) -> ApiResult<Json<Value>> {
    let (data, total, limit, offset) = app.stella.resource_list(&p.0, spec, &params.0).await?;
    Ok(Json(
        json!({ "data": data, "total": total, "limit": limit, "offset": offset }),
    ))
}

async fn create(
    spec: &'static ResourceSpec,
    app: AppState,
    p: Auth,
    body: Value,
) -> ApiResult<(StatusCode, Json<Value>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.stella.resource_create(&p.0, spec, &body).await?),
    ))
}

pub fn routes(
    spec: &'static ResourceSpec,
) -> (Router<AppState>, Vec<(String, HttpMethod, Operation)>) {
    let base = format!("{API}/{}", spec.name);
    let item = format!("{base}/{{id}}");
    let router = Router::new()
        .route(
            &base,
            get(move |State(app): State<AppState>, auth: Auth, params: Params| list(spec, app, auth, params))
                .post(move |State(app): State<AppState>, auth: Auth, JsonBody(body): JsonBody<Value>| create(spec, app, auth, body)),
        )
        .route(
            &item,
            get(move |State(app): State<AppState>, Auth(p): Auth, Path(id): Path<String>| async move {
                ApiResult::Ok(Json(app.stella.resource_get(&p, spec, &id).await?))
            })
            .put(move |State(app): State<AppState>, Auth(p): Auth, Path(id): Path<String>, JsonBody(body): JsonBody<Value>| async move {
                ApiResult::Ok(Json(app.stella.resource_update(&p, spec, &id, &body).await?))
            })
            .delete(move |State(app): State<AppState>, Auth(p): Auth, Path(id): Path<String>| async move {
                app.stella.resource_delete(&p, spec, &id).await?;
                ApiResult::Ok(StatusCode::NO_CONTENT)
            }),
        );
    (router, operations(spec))
}

fn field_schema(ty: FieldType) -> Schema {
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
        FieldType::Float => b.schema_type(Type::Number),
        FieldType::Bool => b.schema_type(Type::Boolean),
        FieldType::Timestamp => b
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        FieldType::Json => b,
    };
    Schema::Object(b.build())
}

fn object_schema(spec: &ResourceSpec, writable_only: bool, with_required: bool) -> Schema {
    let mut b = ObjectBuilder::new().schema_type(Type::Object);
    if !writable_only {
        b = b.property("id", ObjectBuilder::new().schema_type(Type::String));
    }
    if spec.tenancy == Tenancy::Owned {
        b = b.property("tenant_id", ObjectBuilder::new().schema_type(Type::String));
    }
    for f in spec.fields.iter().filter(|f| f.writable || !writable_only) {
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

fn json_content(schema: Schema) -> utoipa::openapi::Content {
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

fn operations(spec: &ResourceSpec) -> Vec<(String, HttpMethod, Operation)> {
    let base = format!("{API}/{}", spec.name);
    let id_param = format!(
        "{}{}Id",
        spec.singular[..1].to_lowercase(),
        &spec.singular[1..]
    );
    let item_path = format!("{base}/{{{id_param}}}");
    let plural = format!("{}s", spec.singular);
    let object = object_schema(spec, false, false);
    let id = || {
        ParameterBuilder::new()
            .name(&id_param)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()
    };
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
        OperationBuilder::new()
            .operation_id(Some(id_name))
            .summary(Some(summary))
            .tag(spec.tag)
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

    let (c, r) = ok("204", &format!("{} deleted", spec.singular), None);
    let delete_op = with_errors(
        op(
            format!("delete{}", spec.singular),
            format!("Delete a {}", spec.singular.to_lowercase()),
        )
        .parameter(id())
        .response(c, r),
        &[
            common[0],
            common[1],
            ("404", "Not found"),
            ("409", "Still in use"),
        ],
    )
    .build();

    vec![
        (base.clone(), HttpMethod::Get, list_op),
        (base, HttpMethod::Post, create_op),
        (item_path.clone(), HttpMethod::Get, get_op),
        (item_path.clone(), HttpMethod::Put, update_op),
        (item_path, HttpMethod::Delete, delete_op),
    ]
}
