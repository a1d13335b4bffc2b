//! Removes secrets from what the activity log records. A field is secret when its name says so;
//! a body we cannot parse is never stored verbatim (it might be a mistyped secret).

use serde_json::Value;

pub const REDACTED: &str = "[REDACTED]";

/// Field names (compared case-insensitively, `-` treated as `_`) that carry secrets.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('-', "_");
    const MARKERS: &[&str] = &[
        "password",
        "secret",
        "token",
        "api_key",
        "apikey",
        "authorization",
        "jwt",
        "credential",
        "private_key",
    ];
    MARKERS.iter().any(|m| n.contains(m))
}

pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_name(k) && !v.is_null() {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// Redacts `a=b&c=d` pairs (query strings and form bodies).
pub fn redact_pairs(encoded: &str) -> String {
    encoded
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_name(k) => format!("{k}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// What to store for a request body: redacted JSON text, redacted form pairs, or a placeholder.
/// `limit` bounds the stored text.
pub fn redact_body(content_type: Option<&str>, body: &[u8], limit: usize) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    // A body many times the kept size (a bulk ingest) is summarised rather than parsed: a cut
    // prefix could not be redacted reliably, and parsing megabytes per call would slow the log.
    if body.len() > limit.saturating_mul(4) {
        let kind = if ct.is_empty() {
            "unknown type"
        } else {
            ct.as_str()
        };
        return Some(format!(
            "[{} bytes of {kind}, too large to record]",
            body.len()
        ));
    }
    let text = if let Ok(mut v) = serde_json::from_slice::<Value>(body) {
        redact_json(&mut v);
        v.to_string()
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        match std::str::from_utf8(body) {
            Ok(s) => redact_pairs(s),
            Err(_) => format!("[{} bytes, not UTF-8]", body.len()),
        }
    } else {
        let kind = if ct.is_empty() {
            "unknown type"
        } else {
            ct.as_str()
        };
        format!("[{} bytes of {kind}, not recorded]", body.len())
    };
    if text.len() > limit {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        Some(format!(
            "{}…[truncated, {} bytes]",
            &text[..cut],
            text.len()
        ))
    } else {
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn nested_secrets_are_redacted() {
        let mut v = json!({"email": "a@b.c", "password": "hunter2hunter2", "inner": [{"client_secret": "s", "name": "n"}], "api_key": null});
        redact_json(&mut v);
        assert_eq!(v["password"], REDACTED);
        assert_eq!(v["inner"][0]["client_secret"], REDACTED);
        assert_eq!(v["inner"][0]["name"], "n");
        assert_eq!(v["email"], "a@b.c");
        assert!(v["api_key"].is_null());
    }

    #[test]
    fn form_and_unparseable_bodies() {
        assert_eq!(
            redact_body(
                Some("application/x-www-form-urlencoded"),
                b"grant_type=client_credentials&client_secret=abc",
                1000
            )
            .as_deref(),
            Some("grant_type=client_credentials&client_secret=[REDACTED]")
        );
        let stored = redact_body(Some("application/json"), b"{\"password\": \"oops", 1000)
            .unwrap_or_default();
        assert!(!stored.contains("oops"));
    }

    proptest! {
        #[test]
        fn secret_values_never_survive(secret in "[a-zA-Z0-9]{16,40}", key in "(password|client_secret|api_key|token|legacy_token)") {
            let body = serde_json::to_vec(&json!({ key: secret.clone(), "nested": { "x": [{ "password": secret.clone() }] } })).unwrap_or_default();
            let stored = redact_body(Some("application/json"), &body, 1 << 20).unwrap_or_default();
            prop_assert!(!stored.contains(&secret));
        }

        #[test]
        fn truncation_is_bounded(body in proptest::collection::vec(any::<u8>(), 0..4096), limit in 1usize..512) {
            if let Some(s) = redact_body(Some("text/plain"), &body, limit) {
                prop_assert!(s.len() <= limit + 64);
            }
        }
    }
}
