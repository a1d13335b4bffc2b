//! The user activity log: a paged list and an NDJSON export, both filtered by the caller's
//! tenancy in the query.

use crate::extract::{Auth, Params};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use stella_core::clock::rfc3339_ms;
use stella_core::FieldError;
use stella_store::{ActivityFilter, ActivityRecord};
use utoipa::ToSchema;

const FILTERS: &[&str] = &["user_id", "from", "to", "path", "status"];

/// One logged call. `body` is the request body with secrets redacted.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityEntry {
    pub id: i64,
    pub time: String,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub tenant_id: Option<String>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: i64,
    pub client_ip: Option<String>,
    pub body: Option<String>,
    pub duration_us: i64,
    #[serde(rename = "traceId")]
    pub trace_id: String,
}

impl From<ActivityRecord> for ActivityEntry {
    fn from(r: ActivityRecord) -> Self {
        Self {
            id: r.id,
            time: rfc3339_ms(r.ts),
            user_id: r.user_id,
            email: r.email,
            tenant_id: r.tenant_id,
            method: r.method,
            path: r.path,
            query: r.query,
            status: r.status,
            client_ip: r.client_ip,
            body: r.body,
            duration_us: r.duration_us,
            trace_id: r.trace_id,
        }
    }
}

fn filter_from(params: &Params) -> Result<ActivityFilter, ApiError> {
    let mut f = ActivityFilter::default();
    let mut errors = Vec::new();
    let time = |name: &str, v: &str, errors: &mut Vec<FieldError>| {
        match chrono::DateTime::parse_from_rfc3339(v) {
            Ok(t) => Some(t.timestamp_millis()),
            Err(_) => {
                errors.push(FieldError::new(
                    name,
                    "must be an RFC 3339 date-time, e.g. 2026-01-01T00:00:00Z",
                ));
                None
            }
        }
    };
    for (k, v) in &params.0 {
        match k.as_str() {
            "user_id" => f.user_id = Some(v.clone()),
            "from" => f.from_ms = time("from", v, &mut errors),
            "to" => f.to_ms = time("to", v, &mut errors),
            "path" => f.path_prefix = Some(v.clone()),
            "status" => match v.parse::<i64>() {
                Ok(s) if (100..=599).contains(&s) => f.status = Some(s),
                _ => errors.push(FieldError::new("status", "must be an HTTP status code")),
            },
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(ApiError::invalid(errors))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityPage {
    pub data: Vec<ActivityEntry>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// Every API call, newest first, with the request body (secrets redacted).
#[utoipa::path(get, path = "/connect/api/v1/user_activity_log", tag = "Users",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query), ("user_id" = Option<String>, Query),
           ("from" = Option<String>, Query, description = "RFC 3339, inclusive"), ("to" = Option<String>, Query, description = "RFC 3339, exclusive"),
           ("path" = Option<String>, Query, description = "path prefix"), ("status" = Option<i64>, Query)),
    responses((status = 200, body = ActivityPage), (status = 400, body = super::Problem), (status = 403, body = super::Problem)))]
pub async fn list_activity(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
) -> ApiResult<Json<ActivityPage>> {
    let (limit, offset) = params.paging(app.config.max_page_size, FILTERS)?;
    let filter = filter_from(&params)?;
    let (records, total) = app
        .stella
        .list_activity(p.grant()?, &filter, limit, offset)
        .await?;
    Ok(Json(ActivityPage {
        data: records.into_iter().map(ActivityEntry::from).collect(),
        total,
        limit,
        offset,
    }))
}

const EXPORT_PAGE: i64 = 1000;

/// The same records as NDJSON (one JSON object per line), streamed newest first.
#[utoipa::path(get, path = "/connect/api/v1/user_activity_log/export", tag = "Users",
    params(("user_id" = Option<String>, Query), ("from" = Option<String>, Query), ("to" = Option<String>, Query), ("path" = Option<String>, Query), ("status" = Option<i64>, Query)),
    responses((status = 200, content_type = "application/x-ndjson", description = "one activity entry per line")))]
pub async fn export_activity(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
) -> ApiResult<Response> {
    params.paging(i64::MAX, FILTERS)?;
    let filter = filter_from(&params)?;
    // Check permission before the stream starts, so refusals are proper problem responses.
    app.stella.list_activity(p.grant()?, &filter, 1, 0).await?;
    let stream = futures::stream::unfold(Some(filter), move |state| {
        let app = app.clone();
        let p = p.clone();
        async move {
            let mut filter = state?;
            let grant = match p.grant() {
                Ok(g) => g,
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), None)),
            };
            match app
                .stella
                .list_activity(grant, &filter, EXPORT_PAGE, 0)
                .await
            {
                Ok((records, _)) if records.is_empty() => None,
                Ok((records, _)) => {
                    filter.before_id = records.last().map(|r| r.id);
                    let mut chunk = String::new();
                    for r in records {
                        if let Ok(line) = serde_json::to_string(&ActivityEntry::from(r)) {
                            chunk.push_str(&line);
                            chunk.push('\n');
                        }
                    }
                    Some((Ok::<_, std::io::Error>(chunk), Some(filter)))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let mut r = Body::from_stream(stream).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(r)
}
