//! Tokens: the API key → JWT exchange, OAuth 2.0 client credentials (reference §1) and
//! offline tokens (reference §2.0).

use crate::problem::Problem;
use serde::{Deserialize, Serialize};

/// The answer of `POST /connect/api/v1/access_token` (an API key exchanged for a JWT) and of
/// `POST /connect/token` (client credentials; that one also names the granted `scope`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// Space-separated scopes granted (`/connect/token` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The form of a client-credentials request to `POST /connect/token`, sent
/// `application/x-www-form-urlencoded` (RFC 6749 §4.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCredentials {
    /// Always `client_credentials`.
    pub grant_type: String,
    pub client_id: String,
    pub client_secret: String,
    /// Space-separated, e.g. `stella.api`; absent means what the client was registered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl ClientCredentials {
    pub fn new(client_id: &str, client_secret: &str, scope: Option<&str>) -> Self {
        Self {
            grant_type: "client_credentials".into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: scope.map(str::to_owned),
        }
    }
}

/// An error from `/connect/token`: RFC 6749 §5.2, not a problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_scope`, `unsupported_grant_type`, …
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
}

impl From<OAuthError> for Problem {
    /// So a client reports every refusal one way: the RFC 6749 code becomes `error`, its
    /// description `detail`, its URI `type`.
    fn from(e: OAuthError) -> Self {
        Problem {
            type_uri: e.error_uri,
            detail: e.error_description,
            error: Some(e.error),
            ..Problem::default()
        }
    }
}

/// The body of `POST /token/offline` (optional as a whole).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineTokenRequest {
    /// Days until expiry: the server's default is 30, at most 90.
    #[serde(
        rename = "expiresDays",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_days: Option<i64>,
    /// Narrows the token (the server's default: the scanning permissions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// The answer of `POST /token/offline`: a signed JWT carrying `maxScansPerDay`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineToken {
    pub jwt: String,
    /// RFC 3339.
    pub expires: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn round_trip<T: Serialize + serde::de::DeserializeOwned>(wire: Value) -> T {
        let t: T = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(serde_json::to_value(&t).unwrap(), wire);
        t
    }

    #[test]
    fn the_references_token_answers_round_trip() {
        // §1
        let t: AccessToken = round_trip(json!({
            "access_token": "eyJraWQi...",
            "token_type": "Bearer",
            "expires_in": 3600
        }));
        assert_eq!(t.expires_in, 3600);
        assert_eq!(t.scope, None);
        // What /connect/token answers today (with the granted scope).
        round_trip::<AccessToken>(json!({
            "access_token": "eyJ", "token_type": "Bearer", "expires_in": 3600, "scope": "stella.api"
        }));
        // §2.0
        let t: OfflineToken = round_trip(json!({
            "jwt": "eyJhbGciOiJSUzI1NiIsInR5cCI6...",
            "expires": "2025‑08‑17T00:00:00Z"
        }));
        assert!(t.jwt.starts_with("eyJ"));
        let r: OfflineTokenRequest = round_trip(json!({"expiresDays": 30}));
        assert_eq!(r.expires_days, Some(30));
        round_trip::<OfflineTokenRequest>(json!({}));
    }

    #[test]
    fn client_credentials_are_the_references_form() {
        let form = ClientCredentials::new("ci‑bot", "REDACTED", Some("stella.api"));
        let v = serde_json::to_value(&form).unwrap();
        assert_eq!(
            v,
            json!({"grant_type": "client_credentials", "client_id": "ci‑bot",
                   "client_secret": "REDACTED", "scope": "stella.api"})
        );
        let v = serde_json::to_value(ClientCredentials::new("a", "b", None)).unwrap();
        assert!(v.get("scope").is_none());
    }

    #[test]
    fn an_oauth_error_becomes_a_problem() {
        let e: OAuthError = round_trip(json!({
            "error": "invalid_client", "error_description": "unknown client"
        }));
        let p = Problem::from(e);
        assert_eq!(p.error.as_deref(), Some("invalid_client"));
        assert_eq!(p.detail(), Some("unknown client"));
    }
}
