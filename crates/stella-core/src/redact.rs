//! Removes secrets from what the activity log records. A field is secret when its name says so;
//! a body we cannot parse is never stored verbatim (it might be a mistyped secret).

use serde_json::Value;

pub const REDACTED: &str = "[REDACTED]";

/// Field names that carry secrets. Names are compared lower-cased with everything but letters
/// and digits dropped (`privateKey`, `private-key` and `PRIVATE_KEY` are one name), and after
/// decoding (JSON escapes by the parser, percent-encoding by [`redact_pairs`]), so `pass%77ord`
/// is `password`.
pub fn is_secret_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    const MARKERS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "authorization",
        "jwt",
        "credential",
        "privatekey",
        "cookie",
        "signature",
        "accesskey",
        "authkey",
        "subscriptionkey",
        "routingkey",
        "sessionid",
    ];
    const EXACT: &[&str] = &["pwd", "pass", "key", "otp", "pin", "auth", "session"];
    MARKERS.iter().any(|m| n.contains(m)) || EXACT.contains(&n.as_str())
}

/// Members holding URLs (`url`, `webhook_url`, `endpoint`…): a URL's credentials, path and
/// query can be secrets of their own (a chat webhook's path is its key), so only its scheme and
/// host are kept.
fn is_url_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "url"
        || n == "uri"
        || n == "href"
        || n == "endpoint"
        || n == "webhook"
        || n.ends_with("url")
        || n.ends_with("_uri")
}

fn redact_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let tail = &rest[authority.len()..];
    if authority.contains('@') || !tail.trim_start_matches('/').is_empty() {
        Some(format!("{scheme}://{host}/{REDACTED}"))
    } else {
        None
    }
}

pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_name(k) && !v.is_null() {
                    *v = Value::String(REDACTED.to_owned());
                } else if let (true, Some(url)) = (is_url_name(k), v.as_str()) {
                    if let Some(kept) = redact_url(url) {
                        *v = Value::String(kept);
                    }
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// `application/x-www-form-urlencoded` decoding of one name: `+` is a space, `%XX` a byte.
fn form_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Redacts `a=b&c=d` pairs (query strings and form bodies). A pair's name is decoded before it
/// is judged, and kept as written; a redacted value is replaced whole.
pub fn redact_pairs(encoded: &str) -> String {
    encoded
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_name(&form_decode(k)) => format!("{k}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// What to store for a request body: redacted JSON text, redacted form pairs, or a placeholder.
/// `limit` bounds the stored text.
pub fn redact_body(content_type: Option<&str>, body: &[u8], limit: usize) -> Option<String> {
    redact_body_of(content_type, body, limit, &[])
}

/// [`redact_body`] for a route whose resource has write-only members (`write_only`): those are
/// replaced in a JSON object body whatever they are called, so what the API never shows back
/// never reaches the log either.
pub fn redact_body_of(
    content_type: Option<&str>,
    body: &[u8],
    limit: usize,
    write_only: &[&str],
) -> Option<String> {
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
        if let Value::Object(map) = &mut v {
            for name in write_only {
                if let Some(member) = map.get_mut(*name) {
                    *member = Value::String(REDACTED.to_owned());
                }
            }
        }
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
    fn names_are_judged_whatever_their_case_and_separators() {
        let mut v = json!({"privateKey": "k1", "X-Auth-Key": "k2", "Ocp-Apim-Subscription-Key": "k3",
                           "accessKey": "k4", "routing_key": "k5", "keyboard": "fine", "name": "n"});
        redact_json(&mut v);
        for k in [
            "privateKey",
            "X-Auth-Key",
            "Ocp-Apim-Subscription-Key",
            "accessKey",
            "routing_key",
        ] {
            assert_eq!(v[k], REDACTED, "{k}");
        }
        assert_eq!(
            (v["keyboard"].as_str(), v["name"].as_str()),
            (Some("fine"), Some("n"))
        );
    }

    #[test]
    fn urls_keep_only_their_scheme_and_host() {
        let mut v = json!({"actions": [{"type": "webhook", "url": "https://hooks.example/services/T0/B0/s3cr3t?token=x"},
                                       {"url": "https://user:pw@h.example:8443"}, {"url": "https://h.example"}],
                           "webhook_url": "http://h.example/x", "comment": "see https://h.example/a/b"});
        redact_json(&mut v);
        assert_eq!(v["actions"][0]["url"], "https://hooks.example/[REDACTED]");
        assert_eq!(v["actions"][1]["url"], "https://h.example:8443/[REDACTED]");
        assert_eq!(v["actions"][2]["url"], "https://h.example");
        assert_eq!(v["webhook_url"], "http://h.example/[REDACTED]");
        assert_eq!(v["comment"], "see https://h.example/a/b");
    }

    #[test]
    fn names_are_judged_after_decoding() {
        assert_eq!(
            redact_pairs("grant_type=x&client_secre%74=abc&pass%77ord=p&a+b=c"),
            "grant_type=x&client_secre%74=[REDACTED]&pass%77ord=[REDACTED]&a+b=c"
        );
        assert_eq!(
            redact_pairs("to%6Ben=1&%zz=2&%="),
            "to%6Ben=[REDACTED]&%zz=2&%="
        );
        // JSON escapes are decoded by the parser before names are compared.
        let stored = redact_body(
            Some("application/json"),
            br#"{"password": "hunter2hunter2"}"#,
            1000,
        )
        .unwrap_or_default();
        assert!(!stored.contains("hunter2"), "{stored}");
    }

    #[test]
    fn write_only_members_never_reach_the_log() {
        let body = br#"{"name": "c", "config": {"url": "https://u:p@h/x", "region": "eu"}}"#;
        let stored =
            redact_body_of(Some("application/json"), body, 1000, &["config"]).unwrap_or_default();
        assert!(
            !stored.contains("u:p@h") && !stored.contains("eu"),
            "{stored}"
        );
        assert!(stored.contains("\"name\":\"c\""), "{stored}");
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

        /// Any percent-encoding of a secret name is still judged a secret.
        #[test]
        fn encoded_secret_names_are_redacted(secret in "[a-zA-Z0-9]{16,40}", mask in any::<u32>()) {
            let name = "client_secret";
            let encoded: String = name
                .bytes()
                .enumerate()
                .map(|(i, b)| if mask & (1 << (i % 32)) != 0 { format!("%{b:02X}") } else { (b as char).to_string() })
                .collect();
            let stored = redact_pairs(&format!("grant_type=x&{encoded}={secret}"));
            prop_assert!(!stored.contains(&secret), "{}", stored);
        }

        #[test]
        fn truncation_is_bounded(body in proptest::collection::vec(any::<u8>(), 0..4096), limit in 1usize..512) {
            if let Some(s) = redact_body(Some("text/plain"), &body, limit) {
                prop_assert!(s.len() <= limit + 64);
            }
        }
    }
}
