//! OpenAPI operations for `/rest/`, generated from the same specs and action registrations the
//! routes are built from (as the XDR resources' are), so the document cannot leave a `/rest/`
//! route out: list (page, page_size, ordering, search, each filter and its range forms),
//! create, retrieve, update (PUT, every writable field), partial update (PATCH), destroy,
//! OPTIONS, and each action. Shapes are Django REST framework's: `{count, next, previous,
//! results}`, objects keyed by an integer `pk`, errors `{"detail": …}` or `{"field": [...]}`.

use super::resources::{field_schema, json_content};
use super::rest::{actions, collection_path, item_path, path_of, ActionBody, ActionMethod};
use stella_core::resource::{FieldType, Op, ResourceSpec};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Required, ResponseBuilder, Schema};

/// `StamusAppliance` → `StamusAppliance`, for operation ids (`restListStamusAppliance`).
fn op_id(verb: &str, spec: &ResourceSpec) -> String {
    format!("rest{verb}{}", spec.singular)
}

/// An object as `/rest/` answers it (`writable_only`: as a write body takes it, with an
/// optional `comment` for the history).
fn object(spec: &ResourceSpec, writable_only: bool, with_required: bool) -> Schema {
    let mut b = ObjectBuilder::new().schema_type(Type::Object);
    let ts = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
    };
    if writable_only {
        b = b.property(
            "comment",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(10_000))
                .description(Some("Kept with this action in /rest/rules/history/")),
        );
    } else {
        b = b.property("pk", ObjectBuilder::new().schema_type(Type::Integer));
        if spec.tenancy.has_tenant_column() {
            b = b.property("tenant_id", ObjectBuilder::new().schema_type(Type::String));
        }
        b = b.property("created_at", ts()).property("updated_at", ts());
    }
    for f in spec.fields.iter().filter(|f| {
        if writable_only {
            f.writable
        } else {
            !f.write_only
        }
    }) {
        b = b.property(f.name, field_schema(f.ty));
        if with_required && f.required && f.default.is_none() {
            b = b.required(f.name);
        }
    }
    Schema::Object(b.build())
}

fn errors() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "{\"detail\": \"…\"}, or for invalid fields {\"<field>\": [\"…\"]} \
                 (non_field_errors for the body as a whole)",
            ))
            .build(),
    )
}

fn response(description: &str, schema: Option<Schema>) -> utoipa::openapi::Response {
    let r = ResponseBuilder::new().description(description);
    match schema {
        Some(s) => r.content("application/json", json_content(s)),
        None => r,
    }
    .build()
}

fn query(name: &str, schema: Schema, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn int() -> Schema {
    Schema::Object(ObjectBuilder::new().schema_type(Type::Integer).build())
}

fn text() -> Schema {
    Schema::Object(ObjectBuilder::new().schema_type(Type::String).build())
}

fn base(verb: &str, spec: &ResourceSpec, summary: String) -> OperationBuilder {
    OperationBuilder::new()
        .operation_id(Some(op_id(verb, spec)))
        .summary(Some(summary))
        .tag("Probe management")
        .securities(Some([
            SecurityRequirement::new("legacy_token", Vec::<String>::new()),
            SecurityRequirement::new("jwt", Vec::<String>::new()),
        ]))
        .response(
            "401",
            response("No or an invalid credential", Some(errors())),
        )
        .response("403", response("Missing permission", Some(errors())))
}

fn with_pk(b: OperationBuilder) -> OperationBuilder {
    b.parameter(
        ParameterBuilder::new()
            .name("pk")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .schema(Some(int()))
            .build(),
    )
    .response(
        "404",
        response("Not found (or another tenant's)", Some(errors())),
    )
}

fn body(spec: &ResourceSpec, with_required: bool) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content(
            "application/json",
            json_content(object(spec, true, with_required)),
        )
        .build()
}

/// Every operation of `spec` under `/rest/`, as `(path, method, operation)`.
pub fn operations(spec: &ResourceSpec) -> Vec<(String, HttpMethod, Operation)> {
    let list = collection_path(spec);
    let item = item_path(spec);
    let one = object(spec, false, false);
    let what = spec.name.rsplit('/').next().unwrap_or(spec.name);
    let mut ops = Vec::new();

    if spec.serves(Op::List) {
        let page = Schema::Object(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("count", ObjectBuilder::new().schema_type(Type::Integer))
                .property("next", ObjectBuilder::new().schema_type(Type::String))
                .property("previous", ObjectBuilder::new().schema_type(Type::String))
                .property(
                    "results",
                    ArrayBuilder::new().items(utoipa::openapi::RefOr::T(one.clone())),
                )
                .build(),
        );
        let mut b = base("List", spec, format!("List {what}"))
            .parameter(query(
                "page",
                int(),
                "Page number, from 1 (404 past the end)",
            ))
            .parameter(query(
                "page_size",
                int(),
                "Results a page (30 unless given; bounded)",
            ))
            .parameter(query(
                "ordering",
                text(),
                "Fields to sort by, comma-separated; -field descends",
            ))
            .parameter(query(
                "search",
                text(),
                "Keywords, comma- or space-separated; every one must match (ignoring case)",
            ));
        for f in spec.fields.iter().filter(|f| f.filterable) {
            b = b.parameter(query(f.name, field_schema(f.ty), "Exact match"));
            if matches!(f.ty, FieldType::Int { .. } | FieldType::Timestamp) {
                for op in ["gte", "lte", "gt", "lt"] {
                    b = b.parameter(query(
                        &format!("{}__{op}", f.name),
                        field_schema(f.ty),
                        "Range",
                    ));
                }
            }
        }
        let b = b
            .response("200", response(&format!("A page of {what}"), Some(page)))
            .response("400", response("An invalid parameter", Some(errors())));
        ops.push((list.clone(), HttpMethod::Get, b.build()));
    }
    if spec.serves(Op::Create) {
        let b = base("Create", spec, format!("Create a {what}"))
            .request_body(Some(body(spec, true)))
            .response("201", response("Created", Some(one.clone())))
            .response(
                "400",
                response("Invalid fields, nothing written", Some(errors())),
            );
        ops.push((list.clone(), HttpMethod::Post, b.build()));
    }
    ops.push((
        list,
        HttpMethod::Options,
        base("Describe", spec, format!("Describe {what} (DRF metadata)"))
            .response(
                "200",
                response("name, description, renders, parses, actions", None),
            )
            .build(),
    ));
    if spec.serves(Op::Get) {
        let b = with_pk(base("Retrieve", spec, format!("One {what}")))
            .response("200", response(what, Some(one.clone())));
        ops.push((item.clone(), HttpMethod::Get, b.build()));
    }
    if spec.serves(Op::Update) {
        let put = with_pk(base(
            "Update",
            spec,
            format!("Replace a {what} (every writable field)"),
        ))
        .request_body(Some(body(spec, true)))
        .response("200", response("Updated", Some(one.clone())))
        .response(
            "400",
            response("Invalid fields, nothing written", Some(errors())),
        );
        ops.push((item.clone(), HttpMethod::Put, put.build()));
        let patch = with_pk(base(
            "PartialUpdate",
            spec,
            format!("Change some fields of a {what}"),
        ))
        .request_body(Some(body(spec, false)))
        .response("200", response("Updated", Some(one.clone())))
        .response(
            "400",
            response("Invalid fields, nothing written", Some(errors())),
        );
        ops.push((item.clone(), HttpMethod::Patch, patch.build()));
    }
    if spec.serves(Op::Delete) {
        let b = with_pk(base("Destroy", spec, format!("Delete a {what}")))
            .response("204", response("Deleted", None))
            .response("409", response("Still in use", Some(errors())));
        ops.push((item.clone(), HttpMethod::Delete, b.build()));
    }
    for action in actions().filter(|a| std::ptr::eq(a.spec, spec)) {
        // `get_action_type_list` → `GetActionTypeList`.
        let verb: String = action
            .name
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect();
        let mut b = base(&verb, spec, action.summary.to_owned());
        if action.detail {
            b = with_pk(b);
        }
        let mut b = b.response("200", response("Done", None)).response(
            "400",
            response("Invalid input, nothing written", Some(errors())),
        );
        let body = match action.body {
            ActionBody::None => None,
            ActionBody::Json => Some(RequestBodyBuilder::new().content(
                "application/json",
                json_content(Schema::Object(
                    ObjectBuilder::new().schema_type(Type::Object).build(),
                )),
            )),
            ActionBody::File => Some(file_body()),
        };
        if let Some(body) = body {
            b = b.request_body(Some(body.build()));
        }
        let method = match action.method {
            ActionMethod::Get => HttpMethod::Get,
            ActionMethod::Post => HttpMethod::Post,
        };
        ops.push((path_of(action), method, b.build()));
    }
    ops
}

/// A file upload's body: the multipart form DRF clients send (`-F file=@…`), or the file as
/// the whole body.
fn file_body() -> RequestBodyBuilder {
    let binary = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("binary".into())))
    };
    let text = |why: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(why))
    };
    let form = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("file", binary())
        .required("file")
        .property(
            "comment",
            text("Kept with this action in /rest/rules/history/"),
        )
        .property("filename", text("The file's name, if not the part's own"))
        .build();
    RequestBodyBuilder::new()
        .content("multipart/form-data", json_content(Schema::Object(form)))
        .content(
            "application/octet-stream",
            json_content(Schema::Object(binary().build())),
        )
        .required(Some(Required::True))
}
