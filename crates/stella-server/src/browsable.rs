//! The browsable `/rest/` API (Django REST framework's "browsable API", which the reference
//! points users at: "open your browser to /rest/"): a `GET` under `/rest/` whose `Accept`
//! prefers HTML is answered with a page showing the JSON answer readably, its URLs as links to
//! follow, and a form to send a write (POST on a list; PUT, PATCH or DELETE on an object).
//!
//! The page is built around the same answer a client gets: this layer asks the routes for
//! JSON and wraps what they said, status included, so it shows exactly the API and needs no
//! route of its own. Credentials: a browser signed in has its session cookie (writes from the
//! page are same-origin, which the cookie's CSRF check requires); a user with a token opens
//! the page with `#token=<token>` (a URL fragment never reaches the server or its logs) or
//! types it into the page, and the page's script then makes every request with
//! `Authorization: Token …` and shows the answers. Nothing on the page is trusted: every
//! value is HTML-escaped, and only URLs of this server's `/rest/` become links, and the page's
//! Content-Security-Policy allows its own script and style only (by hash), requests to this
//! server only, and no framing. `?format=json` (as in Django REST framework) asks for the JSON
//! itself; an answer too large to show as a page gets a page saying so, linking to it.

use std::sync::LazyLock;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// The largest JSON answer shown as a page (a page of a list is far smaller).
const MAX_SHOWN: usize = 4 << 20;

/// Whether the client would rather have HTML than JSON (a browser navigating).
fn wants_html(req: &Request) -> bool {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let html = accept.find("text/html");
    let json = accept.find("application/json");
    match (html, json) {
        (Some(h), Some(j)) => h < j,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Whether the query asks for the JSON itself (`format=json`, Django REST framework's way).
fn asks_for_json(req: &Request) -> bool {
    req.uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "format=json"))
}

pub async fn browsable(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if req.method() != Method::GET
        || !path.starts_with("/rest/")
        || !wants_html(&req)
        || asks_for_json(&req)
    {
        return next.run(req).await;
    }
    req.headers_mut()
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    // Links are told by the origin the JSON writes them with (`https` under TLS).
    let base = crate::routes::rest::origin(&app, req.headers(), req.uri());
    let query = req.uri().query().map(str::to_owned);
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("json"));
    if !is_json {
        return response;
    }
    let allow = response
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let page = match to_bytes(response.into_body(), MAX_SHOWN).await {
        Ok(bytes) => {
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            render(&path, status, &value, &base, allow.as_deref())
        }
        // Larger than a page can show (or unreadable): say so and link to the JSON, rather
        // than a bare error for an answer the API gave.
        Err(_) => too_large(&path, query.as_deref(), status),
    };
    let mut r = Response::new(Body::from(page));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(csp) = HeaderValue::from_str(&CSP) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

/// `'sha256-…'`, a CSP source allowing exactly the inline `text`.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The pages' policy: their one inline script and one inline style by hash, fetches to this
/// server only (the script's), forms to this server only, no framing, no `<base>`; anything
/// injected despite the escaping would not run.
static CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        csp_hash(SCRIPT),
        csp_hash(STYLE)
    )
});

/// The page for an answer over [`MAX_SHOWN`]: where to get it as JSON.
fn too_large(path: &str, query: Option<&str>, status: StatusCode) -> String {
    let json_url = match query.filter(|q| !q.is_empty()) {
        Some(q) => format!("{path}?{q}&format=json"),
        None => format!("{path}?format=json"),
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} – Stella Ops REST API</title>
<style>{STYLE}</style></head>
<body><header><strong>Stella Ops</strong> REST API &nbsp; <a href="/rest/">rest</a></header>
<main>
<h1>{title}</h1>
<p class="status">HTTP {code}</p>
<p>This answer is larger than {mib} MiB, too large to show as a page. Open it as JSON:
<a href="{href}">{text}</a> (or ask for it with <code>Accept: application/json</code>), or ask for
a smaller page with <code>page_size</code>.</p>
</main></body></html>
"#,
        title = escape(path),
        code = status.as_u16(),
        mib = MAX_SHOWN >> 20,
        href = escape(&json_url),
        text = escape(&json_url),
    )
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A link to follow: a URL of this server's `/rest/` (absolute, as the API writes them).
fn is_link(s: &str, base: &str) -> bool {
    s.strip_prefix(base)
        .is_some_and(|rest| rest.starts_with("/rest/"))
}

/// `v` as indented JSON in HTML, its strings escaped and this server's URLs as links.
fn json_html(v: &Value, base: &str, indent: usize, out: &mut String) {
    let pad = |n: usize| "  ".repeat(n);
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push_str("{\n");
            for (i, (k, x)) in m.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                out.push_str("<span class=k>");
                out.push_str(&escape(&Value::String(k.clone()).to_string()));
                out.push_str("</span>: ");
                json_html(x, base, indent + 1, out);
                if i + 1 < m.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(indent));
            out.push('}');
        }
        Value::Array(a) if !a.is_empty() => {
            out.push_str("[\n");
            for (i, x) in a.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                json_html(x, base, indent + 1, out);
                if i + 1 < a.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(indent));
            out.push(']');
        }
        Value::String(s) if is_link(s, base) => {
            let text = escape(&v.to_string());
            out.push_str(&format!("<a href=\"{}\">{text}</a>", escape(s)));
        }
        other => out.push_str(&escape(&other.to_string())),
    }
}

/// The pages' style sheet, inline; allowed by its hash in [`CSP`].
const STYLE: &str = r#"
body{font:14px system-ui,sans-serif;margin:0;color:#1d2330}
header{background:#1d2330;color:#fff;padding:10px 20px}header a{color:#9cc3ff}
main{padding:16px 20px;max-width:1100px}
pre{background:#f4f6fa;border:1px solid #d9dee8;padding:12px;overflow:auto}
.k{color:#7a3e9d}.status{color:#555}textarea{width:100%;min-height:140px;font:13px monospace}
fieldset{border:1px solid #d9dee8;margin-top:16px}
"#;

/// The page's script, inline; allowed by its hash in [`CSP`]. It reads a token from the URL
/// fragment or the form, refetches the answer with it, and sends the write form's requests.
const SCRIPT: &str = r#"
(function () {
  var key = "stella-rest-token";
  var m = /[#&]token=([0-9A-Za-z._-]+)/.exec(location.hash);
  if (m) { sessionStorage.setItem(key, m[1]); history.replaceState(null, "", location.pathname + location.search); }
  function headers(json) {
    var h = {"Accept": "application/json"};
    if (json) h["Content-Type"] = "application/json";
    var t = sessionStorage.getItem(key);
    if (t) h["Authorization"] = "Token " + t;
    return h;
  }
  function show(el, status, text) {
    var pretty = text;
    try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
    el.textContent = pretty;
    el.hidden = false;
    return status;
  }
  function load() {
    fetch(location.pathname + location.search, {headers: headers(false), credentials: "same-origin"})
      .then(function (r) { return r.text().then(function (t) {
        document.getElementById("status").textContent = "HTTP " + r.status + " " + r.statusText;
        show(document.getElementById("answer"), r.status, t);
      }); });
  }
  if (sessionStorage.getItem(key)) load();
  document.getElementById("auth").addEventListener("submit", function (e) {
    e.preventDefault();
    sessionStorage.setItem(key, document.getElementById("token").value.trim());
    load();
  });
  document.getElementById("write").addEventListener("submit", function (e) {
    e.preventDefault();
    var method = document.getElementById("method").value;
    var content = document.getElementById("content").value;
    fetch(location.pathname, {method: method, headers: headers(true), credentials: "same-origin",
      body: method === "DELETE" && !content ? undefined : content})
      .then(function (r) { return r.text().then(function (t) {
        show(document.getElementById("result"), r.status, "HTTP " + r.status + "\n" + t);
        load();
      }); });
  });
})();
"#;

fn render(path: &str, status: StatusCode, v: &Value, base: &str, allow: Option<&str>) -> String {
    let mut body = String::new();
    json_html(v, base, 0, &mut body);
    let mut crumbs = String::from("<a href=\"/rest/\">rest</a>");
    let mut so_far = String::from("/rest/");
    for seg in path
        .trim_start_matches("/rest/")
        .split('/')
        .filter(|s| !s.is_empty())
    {
        so_far.push_str(seg);
        so_far.push('/');
        crumbs.push_str(&format!(
            " / <a href=\"{}\">{}</a>",
            escape(&so_far),
            escape(seg)
        ));
    }
    let item = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .is_some_and(|last| last.chars().all(|c| c.is_ascii_digit()) && !last.is_empty());
    let methods: &[&str] = if item {
        &["PUT", "PATCH", "DELETE"]
    } else {
        &["POST"]
    };
    let options: String = methods
        .iter()
        .map(|m| format!("<option>{m}</option>"))
        .collect();
    let status_line = format!(
        "HTTP {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let allow = allow
        .map(|a| format!("<br>Allow: {}", escape(a)))
        .unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} – Stella Ops REST API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{STYLE}</style></head>
<body><header><strong>Stella Ops</strong> REST API &nbsp; {crumbs}</header>
<main>
<h1 id="title">{title}</h1>
<p class="status" id="status">{status_line}{allow}</p>
<pre id="answer">{body}</pre>
<fieldset><legend>Send a request to this URL</legend>
<form id="write"><select id="method">{options}</select>
<textarea id="content" placeholder='{{"name": "…"}}  (JSON; an optional "comment" is kept in the history)'></textarea>
<button type="submit">Send</button></form>
<pre id="result" hidden></pre></fieldset>
<fieldset><legend>Credentials</legend>
<p>Signed in, this page uses your session. Otherwise give your token (kept in this tab only):</p>
<form id="auth"><input id="token" size="48" autocomplete="off" placeholder="40-hex token">
<button type="submit">Use token</button></form></fieldset>
</main>
<script>{SCRIPT}</script>
</body></html>
"#,
        title = escape(path),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy allows exactly the page's inline script and style, so a change to either
    /// changes its hash with it, and the page carries them byte for byte.
    #[test]
    fn the_policy_names_the_inline_script_and_style_by_hash() {
        let page = render("/rest/", StatusCode::OK, &Value::Null, "http://h", None);
        assert!(page.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(page.contains(&format!("<style>{STYLE}</style>")));
        assert_eq!(page.matches("<script").count(), 1);
        assert!(
            !page.contains(" style="),
            "inline style attributes need their own hashes"
        );
        for hash in [csp_hash(SCRIPT), csp_hash(STYLE)] {
            assert!(CSP.contains(&hash), "{}", *CSP);
        }
        assert!(CSP.starts_with("default-src 'none'; script-src 'sha256-"));
        assert!(CSP.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn values_are_escaped_and_only_this_servers_rest_urls_are_links() {
        let v = serde_json::json!({
            "next": "http://h:1/rest/x/?page=2&a=<b>",
            "other": "http://evil/rest/",
            "name": "<script>alert(1)</script>"
        });
        let mut out = String::new();
        json_html(&v, "http://h:1", 0, &mut out);
        assert!(out.contains("<a href=\"http://h:1/rest/x/?page=2&amp;a=&lt;b&gt;\">"));
        assert!(!out.contains("href=\"http://evil"));
        assert!(out.contains("&lt;script&gt;"));
        assert!(!out.contains("<script>"));
    }
}
