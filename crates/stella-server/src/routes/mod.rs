//! Every route of the server. Handlers are annotated with `#[utoipa::path]` and registered
//! through `routes!`, and resource-engine routes generate their own OpenAPI operations, so the
//! served document cannot leave a route out.

mod activity;
mod admin;
pub(crate) mod auth;
mod cluster;
mod events;
mod host_id;
mod keys;
mod ops;
mod resources;
pub(crate) mod rest;
pub(crate) mod rest_history;
pub(crate) mod rest_openapi;
pub(crate) mod rest_rules;
mod retention;
mod scan;
pub(crate) mod session;
mod users;
mod xdr;

use crate::state::AppState;
use axum::Router;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const API: &str = "/connect/api/v1";

pub use resources::write_only_fields;

/// The list envelope of the XDR API.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub data: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// RFC 9457 problem details, as every error is answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(rename = "traceId")]
    pub trace_id: String,
    pub errors: Option<Vec<stella_core::FieldError>>,
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "JWT from /connect/api/v1/access_token, /connect/token or /token/offline",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Scoped API key; accepted by /connect/api/v1/access_token only",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "legacy_token",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "Authorization",
                    "'Token <legacy token>' (the /rest/ API)",
                ),
            )),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("Account email and legacy token (root super admins)"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Stella Ops API", description = "Identity and access, Open XDR API, operations."),
    modifiers(&SecuritySchemes),
    security(("jwt" = []), ("basic" = [])),
    components(schemas(Problem))
)]
struct ApiDoc;

pub fn router() -> (Router<AppState>, OpenApiDoc) {
    let (router, mut doc) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::access_token))
        .routes(routes!(auth::oauth_token))
        .routes(routes!(auth::offline_token))
        .routes(routes!(auth::jwks))
        .routes(routes!(auth::legacy_token))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(
            users::get_user,
            users::update_user,
            users::delete_user
        ))
        .routes(routes!(users::reset_user))
        .routes(routes!(users::me))
        .routes(routes!(keys::list_keys, keys::create_key))
        .routes(routes!(keys::revoke_key))
        .routes(routes!(admin::list_profiles, admin::create_profile))
        .routes(routes!(
            admin::get_profile,
            admin::update_profile,
            admin::delete_profile
        ))
        .routes(routes!(keys::list_offline_tokens))
        .routes(routes!(keys::revoke_offline_token))
        .routes(routes!(session::sign_in))
        .routes(routes!(session::sign_out))
        .routes(routes!(admin::list_clients, admin::create_client))
        .routes(routes!(admin::revoke_client))
        .routes(routes!(activity::list_activity))
        .routes(routes!(activity::export_activity))
        .routes(routes!(cluster::list_signing_keys))
        .routes(routes!(cluster::rotate_signing_key))
        .routes(routes!(cluster::list_nodes))
        .routes(routes!(cluster::drain_node))
        .routes(routes!(cluster::undrain_node))
        .routes(routes!(retention::get_retention))
        .routes(routes!(retention::set_retention))
        .routes(routes!(retention::list_runs))
        .routes(routes!(retention::run_now))
        .routes(routes!(scan::scan))
        .routes(routes!(scan::list_scans))
        .routes(routes!(scan::get_scan, scan::delete_scan))
        .routes(routes!(scan::compare_scans))
        .routes(routes!(scan::layers_missing))
        .routes(routes!(scan::import_feed))
        .routes(routes!(scan::get_feed_import))
        .routes(routes!(scan::feed_status))
        .routes(routes!(scan::policy_export))
        .routes(routes!(scan::policy_import))
        .routes(routes!(scan::policy_validate))
        .routes(routes!(scan::policy_history))
        .routes(routes!(scan::policy_version))
        .routes(routes!(scan::vex_import, scan::vex_list))
        .routes(routes!(scan::vex_delete))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::version))
        .routes(routes!(ops::openapi))
        .routes(routes!(ops::docs))
        .routes(routes!(ops::docs_asset))
        .routes(routes!(ops::rest_root))
        .routes(routes!(xdr::link_case_alerts))
        .routes(routes!(xdr::rollback_connector))
        .routes(routes!(xdr::download_report))
        .routes(routes!(xdr::alert_types))
        .routes(routes!(xdr::storage_usage))
        .routes(routes!(xdr::ingestion_stats))
        .routes(routes!(xdr::register_sensor))
        .routes(routes!(events::ingest_events))
        .routes(routes!(events::update_event))
        .routes(routes!(events::search))
        .routes(routes!(events::refresh))
        .routes(routes!(events::run_query))
        .routes(routes!(host_id::host_id))
        .routes(routes!(host_id::host_id_slash))
        .split_for_parts();
    let mut router = router;
    for spec in resources::RESOURCES {
        let (r, operations) = resources::routes(spec);
        router = router.merge(r);
        for (path, method, operation) in operations {
            doc.paths.add_path_operation(path, vec![method], operation);
        }
    }
    for spec in rest::RESOURCES {
        router = router.merge(rest::routes(spec));
        for (path, method, operation) in rest_openapi::operations(spec) {
            doc.paths.add_path_operation(path, vec![method], operation);
        }
    }
    router = router.route(rest::REST, axum::routing::any(rest::append_slash));
    (router, doc)
}
