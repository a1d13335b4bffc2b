//! The actions of the Suricata rules resources at `/rest/rules/…` (issue 14), registered with
//! their resources in [`ACTIONS`] and routed by the engine (`rest::routes`).
//!
//! - `POST /rest/rules/source/<pk>/upload/`: the source itself, a `.rules` file or a `.tar.gz`
//!   (or `.tar`) of them; the bytes say which it is. Sent either as DRF clients send files, a
//!   `multipart/form-data` part named `file` (`curl -F file=@emerging.rules.tar.gz`, with
//!   `comment` and `filename` as form fields if wanted), or as the whole body in any other
//!   content type (`curl --data-binary @emerging.rules.tar.gz`, with `?comment=` and
//!   `?filename=`). The file name names a single file (its category): `?filename=`, else the
//!   form's `filename` field, else the part's own file name, else `<source name>.rules`. The
//!   source's rules and categories are replaced in one transaction; the answer counts them
//!   and lists every line that gave no rule with its file and line number.
//! - `POST /rest/rules/rule/<pk>/disable/` and `/enable/`, and the same on
//!   `/rest/rules/category/<pk>/`, with `{"ruleset": <pk>, "comment": "…"}`: the ruleset
//!   (which must include the rule's source) turns the rule or category off or on.
//! - `GET /rest/rules/ruleset/<pk>/export/`: the ruleset's `.rules` file (text/plain), its
//!   sources' rules with the ones turned off commented out.

use super::rest::{Action, ActionBody, ActionCall, ActionMethod};
use crate::form;
use crate::problem::{ApiError, ApiResult};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value;
use stella_core::catalog::{RULES, RULESETS, RULE_CATEGORIES, RULE_SOURCES};
use stella_service::RestContext;

/// The upload route as the router matches it (the gateway gives it a larger body bound).
pub const UPLOAD_ROUTE: &str = "/rest/rules/source/{pk}/upload/";

pub static ACTIONS: &[Action] = &[
    Action {
        spec: &RULE_SOURCES,
        name: "upload",
        detail: true,
        method: ActionMethod::Post,
        summary: "Replace the source's rules with a .rules file or a .tar.gz of them: a multipart part named file (fields comment, filename), or the whole body (?filename=, ?comment=)",
        body: ActionBody::File,
        handler: upload,
    },
    Action {
        spec: &RULES,
        name: "disable",
        detail: true,
        method: ActionMethod::Post,
        summary: "Turn the rule off in a ruleset including its source: {\"ruleset\": pk, \"comment\": \"…\"}",
        body: ActionBody::Json,
        handler: |call| toggle(call, Toggled::Rule, false),
    },
    Action {
        spec: &RULES,
        name: "enable",
        detail: true,
        method: ActionMethod::Post,
        summary: "Turn the rule on in a ruleset including its source: {\"ruleset\": pk, \"comment\": \"…\"}",
        body: ActionBody::Json,
        handler: |call| toggle(call, Toggled::Rule, true),
    },
    Action {
        spec: &RULE_CATEGORIES,
        name: "disable",
        detail: true,
        method: ActionMethod::Post,
        summary: "Turn every rule of the category off in a ruleset: {\"ruleset\": pk, \"comment\": \"…\"}",
        body: ActionBody::Json,
        handler: |call| toggle(call, Toggled::Category, false),
    },
    Action {
        spec: &RULE_CATEGORIES,
        name: "enable",
        detail: true,
        method: ActionMethod::Post,
        summary: "Turn the category back on in a ruleset: {\"ruleset\": pk, \"comment\": \"…\"}",
        body: ActionBody::Json,
        handler: |call| toggle(call, Toggled::Category, true),
    },
    Action {
        spec: &RULESETS,
        name: "export",
        detail: true,
        method: ActionMethod::Get,
        summary: "The ruleset as the .rules file a probe is given (text/plain)",
        body: ActionBody::None,
        handler: export,
    },
];

#[derive(Clone, Copy)]
enum Toggled {
    Rule,
    Category,
}

/// `POST …/<pk>/disable/` and `…/enable/` with `{"ruleset": <pk>, "comment": "…"}`.
fn toggle(
    call: ActionCall,
    what: Toggled,
    enable: bool,
) -> BoxFuture<'static, ApiResult<Response>> {
    async move {
        let body: Value = if call.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&call.body)
                .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?
        };
        let stella = &call.app.stella;
        let ip = Some(call.client_ip.as_str());
        let answer = match what {
            Toggled::Rule => {
                stella
                    .ruleset_toggle_rule(&call.principal, &call.pk, &body, enable, ip)
                    .await?
            }
            Toggled::Category => {
                stella
                    .ruleset_toggle_category(&call.principal, &call.pk, &body, enable, ip)
                    .await?
            }
        };
        Ok(Json(answer).into_response())
    }
    .boxed()
}

/// `GET /rest/rules/ruleset/<pk>/export/`: the ruleset's `.rules` file, as text/plain.
fn export(call: ActionCall) -> BoxFuture<'static, ApiResult<Response>> {
    async move {
        let export = call
            .app
            .stella
            .ruleset_export(&call.principal, &call.pk)
            .await?;
        Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            export.text,
        )
            .into_response())
    }
    .boxed()
}

fn upload(call: ActionCall) -> BoxFuture<'static, ApiResult<Response>> {
    async move {
        let query = |name: &str| {
            call.params
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let (bytes, file, comment) = match form::boundary(call.content_type.as_deref()) {
            None => (call.body, query("filename"), query("comment")),
            Some(boundary) => {
                let boundary = boundary.map_err(|e| ApiError::BadRequest(e.0))?;
                // The body moves into the reader, and the file is a view of what it read: the
                // upload is held about once, not once per step.
                let form = form::read(call.body, &boundary)
                    .await
                    .map_err(|e| ApiError::BadRequest(e.0))?;
                let mut files = form.files.iter().filter(|f| f.name == "file");
                let Some(part) = files.next() else {
                    return Err(invalid(
                        "file",
                        "required: the rules file as the form's part named file \
                         (curl -F file=@emerging.rules)",
                    ));
                };
                if files.next().is_some() {
                    return Err(invalid("file", "one file an upload: the form has several"));
                }
                let file = query("filename")
                    .or_else(|| form.field("filename").map(str::to_owned))
                    .or_else(|| Some(part.file_name.clone()).filter(|n| !n.is_empty()));
                let comment = form
                    .field("comment")
                    .map(str::to_owned)
                    .or_else(|| query("comment"));
                (part.bytes.clone(), file, comment)
            }
        };
        if comment.as_ref().is_some_and(|c| c.chars().count() > 10_000) {
            return Err(invalid("comment", "must be at most 10000 characters"));
        }
        let cx = RestContext {
            comment: comment.as_deref(),
            client_ip: Some(call.client_ip.as_str()),
        };
        let answer = call
            .app
            .stella
            .rule_source_upload(&call.principal, &call.pk, file.as_deref(), bytes, cx)
            .await?;
        Ok(Json(answer).into_response())
    }
    .boxed()
}

fn invalid(field: &str, why: &str) -> ApiError {
    ApiError::from(stella_service::ServiceError::invalid(field, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_route_is_the_one_the_engine_routes() {
        assert_eq!(
            super::super::rest::action_path(&RULE_SOURCES, "upload"),
            UPLOAD_ROUTE
        );
    }
}
