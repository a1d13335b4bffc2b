//! Entry point for the `request_bodies` fuzz target (`fuzz/`): request bodies, query strings,
//! forms (urlencoded and multipart) and credentials as the server reads them, through the
//! same functions. The first input byte picks the reader. Not part of the API.

use axum::http::{header, HeaderMap, HeaderValue};
use serde_json::Value;
use stella_core::catalog::{ALL, REST};
use stella_core::redact::{redact_body, redact_pairs};

use crate::extract::parse_json;

pub fn request(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 7 {
        0 => typed_bodies(rest),
        1 => resource_bodies(rest),
        2 => query_string(rest),
        3 => oauth_form(rest),
        4 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = crate::gateway::decode_basic(text);
                // And as an Authorization header or cookie, however it is spelled.
                if let Ok(v) = HeaderValue::from_str(text) {
                    let mut headers = HeaderMap::new();
                    headers.insert(header::AUTHORIZATION, v.clone());
                    let _ = crate::gateway::presented(&headers);
                    let mut headers = HeaderMap::new();
                    headers.insert(header::COOKIE, v);
                    let _ = crate::gateway::presented(&headers);
                }
            }
        }
        5 => redaction(rest),
        _ => multipart(rest),
    }
}

/// A rule source upload's `multipart/form-data` body, under the boundary `X-BOUNDARY`.
fn multipart(body: &[u8]) {
    let body = bytes::Bytes::copy_from_slice(body);
    if let Ok(form) = futures::executor::block_on(crate::form::read(body, "X-BOUNDARY")) {
        assert!(form.fields.len() + form.files.len() <= crate::form::MAX_PARTS);
        for (_, text) in &form.fields {
            assert!(text.len() as u64 <= crate::form::MAX_TEXT_BYTES);
        }
        for f in &form.files {
            assert!(!f.file_name.contains(['/', '\\']), "{:?}", f.file_name);
        }
    }
}

fn typed_bodies(body: &[u8]) {
    let _ = parse_json::<stella_service::NewUserRequest>(body);
    let _ = parse_json::<stella_service::UpdateUserRequest>(body);
    let _ = parse_json::<stella_service::NewApiKey>(body);
    let _ = parse_json::<stella_service::NewProfile>(body);
    let _ = parse_json::<stella_service::NewOAuthClient>(body);
    let _ = parse_json::<stella_service::ResetUser>(body);
    let _ = parse_json::<crate::routes::auth::OfflineRequest>(body);
    let _ = parse_json::<stella_service::UpdateProfile>(body);
    let _ = parse_json::<stella_service::SignIn>(body);
}

fn resource_bodies(body: &[u8]) {
    let Ok(v) = parse_json::<Value>(body) else {
        return;
    };
    // Both surfaces' resources: /rest/ bodies are read by the same functions.
    for spec in ALL.iter().chain(REST) {
        let _ = spec.parse_create(&v);
        let _ = spec.parse_update(&v);
        let _ = spec.parse_create_as(&v, stella_core::resource::ReadOnlyMembers::Ignore);
        let _ = spec.parse_update_ignoring_read_only(&v, true);
    }
}

fn query_string(q: &[u8]) {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(q) else {
        return;
    };
    for spec in ALL.iter().chain(REST) {
        for dialect in [
            stella_core::dialect::Dialect::Xdr,
            stella_core::dialect::Dialect::Drf,
        ] {
            let _ = dialect.list_query(spec, &pairs, 1000);
        }
    }
    let params = crate::extract::Params(pairs);
    let _ = params.paging(1000, &["user_id", "tenant_id"]);
}

fn oauth_form(data: &[u8]) {
    // Up to the first newline: the Authorization header; the rest: the form body.
    let (auth, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    if let Ok(v) = HeaderValue::from_bytes(auth) {
        headers.insert(header::AUTHORIZATION, v);
    }
    let _ = crate::routes::auth::grant_from(&headers, body);
}

fn redaction(body: &[u8]) {
    const LIMIT: usize = 512;
    // A secret under a secret name never survives, however the name is percent-encoded.
    if let Ok(text) = std::str::from_utf8(body) {
        let secret = "Fuzz-Secret-Value-0x5eC";
        let kept = redact_pairs(&format!(
            "{text}&client_secre%74={secret}&pass%77ord={secret}"
        ));
        assert!(!kept.contains(secret), "{kept}");
    }
    for ct in [
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        None,
    ] {
        if let Some(stored) = redact_body(ct, body, LIMIT) {
            // What the log keeps is bounded whatever the body.
            assert!(stored.len() <= LIMIT + 64, "{} bytes kept", stored.len());
        }
    }
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = redact_pairs(text);
    }
}
