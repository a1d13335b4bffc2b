//! The action history's own action at `/rest/rules/history/…` (issue 14), registered with its
//! resource in [`ACTIONS`] and routed by the engine (`rest::routes`):
//!
//! - `GET /rest/rules/history/get_action_type_list/`: every action type an entry may have,
//!   with a title, as Scirius answers it (`{"action_type_list": {"<type>": "<title>"}}`), for
//!   a client building an `action_type` filter.

use super::rest::{Action, ActionBody, ActionCall, ActionMethod};
use crate::problem::ApiResult;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::future::BoxFuture;
use futures::FutureExt;
use stella_core::catalog::USER_ACTIONS;

pub static ACTIONS: &[Action] = &[Action {
    spec: &USER_ACTIONS,
    name: "get_action_type_list",
    detail: false,
    method: ActionMethod::Get,
    summary: "Every action type a history entry may have, with its title",
    body: ActionBody::None,
    handler: action_types,
}];

fn action_types(call: ActionCall) -> BoxFuture<'static, ApiResult<Response>> {
    async move {
        let list = call.app.stella.history_action_types(&call.principal)?;
        Ok(Json(list).into_response())
    }
    .boxed()
}
