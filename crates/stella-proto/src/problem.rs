//! RFC 9457 (formerly 7807) problem details, as the server answers every error
//! (`stella-server/src/problem.rs`, reference §4).
//!
//! The server sends `type`, `title`, `status`, `detail` and `traceId`; `errors` on validation
//! failures; and `error`, `message` and `code`, which repeat title, detail and status for
//! clients written against the XDR contract's `Error` schema. The machine-readable kind of a
//! problem is the last segment of its `type` URI (`validation`, `rate-limited`, …): see
//! [`Problem::kind`]. Every member is optional here, so a problem from a proxy or an older
//! server still parses; members this type does not name are kept in [`Problem::extra`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The media type of a problem document.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `https://stella-ops.dev/probs/validation`.
    /// Absent means `about:blank` (RFC 9457 §4.2.1).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_uri: Option<String>,
    /// Short, human-readable summary of the kind (`Invalid request`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The HTTP status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What went wrong with this request. For validation failures the server joins the field
    /// errors here (`path: msg; path: msg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A URI for this occurrence (the server does not send one today).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The W3C trace id of the request: quote it when reporting a server error.
    #[serde(rename = "traceId", default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// One entry per invalid field (validation failures only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The XDR contract's copy of `title`. (In an OAuth 2.0 error converted with
    /// `From<OAuthError>`, the RFC 6749 error code.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The XDR contract's copy of `detail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The XDR contract's copy of `status` (a number, not a slug: see [`Problem::kind`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// Members not named above, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One invalid input: a field name (`email`) or a JSON path (`$.rules[0].severity`), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub path: String,
    pub msg: String,
}

impl Problem {
    /// The stable, machine-readable kind: the last path segment of `type`
    /// (`https://stella-ops.dev/probs/rate-limited` → `rate-limited`). `None` without a `type`
    /// or for `about:blank`.
    pub fn kind(&self) -> Option<&str> {
        let uri = self.type_uri.as_deref()?;
        if uri == "about:blank" {
            return None;
        }
        uri.trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
    }

    /// `detail`, unless it is empty.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref().filter(|d| !d.is_empty())
    }

    /// `title`, unless it is empty.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref().filter(|d| !d.is_empty())
    }

    /// `traceId`, unless it is empty (the server sends an empty one outside a request).
    pub fn trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref().filter(|d| !d.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_servers_validation_problem_round_trips() {
        // Exactly what stella-server's problem.rs renders for ServiceError::Invalid.
        let wire = json!({
            "type": "https://stella-ops.dev/probs/validation",
            "title": "Invalid request",
            "status": 400,
            "detail": "email: bad; password: short",
            "traceId": "00-7c39",
            "error": "Invalid request",
            "message": "email: bad; password: short",
            "code": 400,
            "errors": [{"path": "email", "msg": "bad"}, {"path": "password", "msg": "short"}]
        });
        let p: Problem = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(p.kind(), Some("validation"));
        assert_eq!(p.status, Some(400));
        assert_eq!(p.code, Some(400));
        assert_eq!(p.errors.len(), 2);
        assert_eq!(p.errors[1].msg, "short");
        assert!(p.extra.is_empty());
        assert_eq!(serde_json::to_value(&p).unwrap(), wire);
    }

    #[test]
    fn the_references_example_round_trips_and_unknown_members_are_kept() {
        // Reference §4.
        let wire = json!({
            "type": "https://stella-ops.ru/probs/validation",
            "title": "Invalid request",
            "status": 400,
            "detail": "Layer digest malformed",
            "traceId": "00-7c39..."
        });
        let p: Problem = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(p.kind(), Some("validation"));
        assert_eq!(p.detail(), Some("Layer digest malformed"));
        assert_eq!(serde_json::to_value(&p).unwrap(), wire);

        let wire = json!({"title": "Teapot", "balance": 30, "accounts": ["/a/1"]});
        let p: Problem = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(p.kind(), None);
        assert_eq!(p.extra.get("balance"), Some(&json!(30)));
        assert_eq!(serde_json::to_value(&p).unwrap(), wire);
    }

    #[test]
    fn empty_members_read_as_absent() {
        let p: Problem =
            serde_json::from_value(json!({"type": "about:blank", "detail": "", "traceId": ""}))
                .unwrap();
        assert_eq!(p.kind(), None);
        assert_eq!(p.detail(), None);
        assert_eq!(p.trace_id(), None);
    }
}
