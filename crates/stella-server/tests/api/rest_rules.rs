//! Suricata rule sources, rules, categories and rulesets at `/rest/rules/…` (issue 14), over
//! real HTTP: uploads (a `.rules` file, a `.tar.gz`), every unreadable line reported with its
//! line number, re-uploads replacing, rulesets turning rules and categories off and on, the
//! export reflecting it, tenancy, bad input and the list conventions.

use reqwest::Method;
use serde_json::{json, Value};
use stella_testkit::TestServer;

use crate::rest_send as send;

const SOURCES: &str = "/rest/rules/source/";
const RULES: &str = "/rest/rules/rule/";
const CATEGORIES: &str = "/rest/rules/category/";
const RULESETS: &str = "/rest/rules/ruleset/";
/// The user `crate::one_tenant` signs in.
const ADMIN: &str = "admin@acme.test";

/// Two enabled rules, one disabled, one unreadable (line 5, no sid) and prose.
const LOCAL: &str = "# local rules\n\
alert dns $HOME_NET any -> any any (msg:\"ET DNS Query for .test\"; dns.query; content:\".test\"; endswith; classtype:bad-unknown; sid:1000001; rev:2;)\n\
alert tcp any any -> any 23 (msg:\"telnet attempt\"; classtype:attempted-admin; sid:1000002; rev:1;)\n\
#alert tcp any any -> any 21 (msg:\"ftp attempt\"; sid:1000003; rev:1;)\n\
alert tcp any any -> any any (msg:\"no sid\";)\n";

/// `POST /rest/rules/source/<pk>/upload/?filename=…` with the bytes as the body.
async fn upload(
    s: &TestServer,
    auth: &str,
    pk: &Value,
    file: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let to = s.url(&format!("{SOURCES}{pk}/upload/?filename={file}"));
    let request = s
        .client
        .post(to)
        .header("content-type", "application/octet-stream");
    answer(request.header("authorization", auth).body(bytes)).await
}

/// Sends an upload; its status and JSON answer (null when not JSON).
async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn source(s: &TestServer, auth: &str, name: &str) -> Value {
    let (st, made) = send(s, Method::POST, SOURCES, auth, Some(json!({"name": name}))).await;
    assert_eq!(st, 201, "{made}");
    made
}

async fn list(s: &TestServer, auth: &str, path: &str) -> Value {
    let (st, got) = send(s, Method::GET, path, auth, None).await;
    assert_eq!(st, 200, "{path}: {got}");
    got
}

fn sids(list: &Value) -> Vec<i64> {
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sid"].as_i64().unwrap())
        .collect()
}

/// A `.tar.gz` of `(path, text)` entries.
pub fn tar_gz(entries: &[(&str, &str)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, text) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, path, text.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn bearer(jwt: &str) -> String {
    format!("Bearer {jwt}")
}

async fn export(s: &TestServer, auth: &str, ruleset: &Value) -> (u16, String, String) {
    let r = s
        .client
        .get(s.url(&format!("{RULESETS}{ruleset}/export/")))
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

#[tokio::test]
async fn rest_rules_upload_parses_rules_and_reports_every_bad_line() {
    let (s, _, [(_, admin), _]) = crate::two_tenants().await;
    let admin = bearer(&admin);
    let src = source(&s, &admin, "local").await;
    let pk = &src["pk"];
    let (st, got) = upload(&s, &admin, pk, "local.rules", LOCAL.into()).await;
    assert_eq!(st, 200, "{got}");
    assert_eq!(got["rules"], 3, "{got}");
    assert_eq!(
        (got["enabled"].as_i64(), got["disabled"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(got["categories"], 1);
    assert_eq!(got["problems"].as_array().unwrap().len(), 1, "{got}");
    assert_eq!(got["problems"][0]["line"], 5);
    assert_eq!(got["problems"][0]["file"], "local.rules");
    assert_eq!(got["problems"][0]["code"], "rule-missing-sid");

    // The rules, with their fields; the source's counts.
    let rules = list(&s, &admin, &format!("{RULES}?ordering=sid")).await;
    assert_eq!(rules["count"], 3);
    assert_eq!(sids(&rules), [1000001, 1000002, 1000003]);
    let dns = &rules["results"][0];
    assert_eq!(dns["msg"], "ET DNS Query for .test");
    assert_eq!(
        (dns["rev"].as_i64(), dns["gid"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(dns["classtype"], "bad-unknown");
    assert_eq!(dns["category_name"], "local");
    assert_eq!(dns["source"], *pk);
    assert_eq!(dns["enabled"], true);
    assert!(dns["content"]
        .as_str()
        .unwrap()
        .starts_with("alert dns $HOME_NET"));
    assert_eq!(rules["results"][2]["enabled"], false);
    let (_, src) = send(&s, Method::GET, &format!("{SOURCES}{pk}/"), &admin, None).await;
    assert_eq!(
        (src["rules_count"].as_i64(), src["problems_count"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(src["uploaded_file"], "local.rules");

    // Categories.
    let cats = list(&s, &admin, CATEGORIES).await;
    assert_eq!(cats["count"], 1);
    assert_eq!(cats["results"][0]["name"], "local");
    assert_eq!(cats["results"][0]["source"], *pk);

    // List conventions: search by msg, filter by sid and category, ordering.
    assert_eq!(
        sids(&list(&s, &admin, &format!("{RULES}?search=telnet")).await),
        [1000002]
    );
    assert_eq!(
        sids(&list(&s, &admin, &format!("{RULES}?sid=1000003")).await),
        [1000003]
    );
    let cat = &cats["results"][0]["pk"];
    assert_eq!(
        list(&s, &admin, &format!("{RULES}?category={cat}")).await["count"],
        3
    );
    assert_eq!(
        sids(&list(&s, &admin, &format!("{RULES}?ordering=-sid")).await),
        [1000003, 1000002, 1000001]
    );

    // A .tar.gz re-upload replaces the rules and categories as a whole.
    let archive = tar_gz(&[
        ("rules/emerging-dns.rules", "alert dns any any -> any any (msg:\"dns one\"; sid:2000001; rev:1;)\nalert dns any any -> any any (msg:\"dns two\"; sid:2000002; rev:1;)\n"),
        ("rules/emerging-scan.rules", "alert tcp any any -> any any (msg:\"scan\"; sid:2000003; rev:4;)\n\nalert tcp any any -> any (msg:\"broken header\"; sid:2000004;)\n"),
        ("rules/README", "not rules"),
    ]);
    let (st, got) = upload(&s, &admin, pk, "et.tar.gz", archive).await;
    assert_eq!(st, 200, "{got}");
    assert_eq!(got["rules"], 3, "{got}");
    assert_eq!(got["categories"], 2);
    assert_eq!(
        got["problems"][0]["file"], "rules/emerging-scan.rules",
        "{got}"
    );
    assert_eq!(got["problems"][0]["line"], 3);
    assert_eq!(got["skipped"][0]["name"], "rules/README");
    let rules = list(&s, &admin, &format!("{RULES}?ordering=sid")).await;
    assert_eq!(sids(&rules), [2000001, 2000002, 2000003]);
    let cats = list(&s, &admin, &format!("{CATEGORIES}?ordering=name")).await;
    let names: Vec<&str> = cats["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["emerging-dns", "emerging-scan"]);
    assert_eq!(
        list(&s, &admin, &format!("{RULES}?category_name=emerging-dns")).await["count"],
        2
    );
    s.stop().await;
}

#[tokio::test]
async fn rest_rules_bad_uploads_are_refused_naming_the_field_with_nothing_written() {
    let (s, _, [(_, admin), (_, other)]) = crate::two_tenants().await;
    let (admin, other) = (bearer(&admin), bearer(&other));
    let src = source(&s, &admin, "local").await;
    let pk = &src["pk"];
    assert_eq!(
        upload(&s, &admin, pk, "local.rules", LOCAL.into()).await.0,
        200
    );
    for (file, bytes) in [
        ("notes.rules", b"hello, this is no rules file\n".to_vec()),
        ("png.rules", vec![0x89, b'P', b'N', b'G', 0, 1, 2, 3]),
        ("broken.tar.gz", vec![0x1f, 0x8b, 8, 0, 1, 2, 3]),
        ("empty.rules", Vec::new()),
    ] {
        let (st, got) = upload(&s, &admin, pk, file, bytes).await;
        assert_eq!(st, 400, "{file}: {got}");
        assert!(got["file"].is_array(), "{file}: {got}");
    }
    // Nothing was written: the first upload's rules are all there.
    assert_eq!(list(&s, &admin, RULES).await["count"], 3);
    // Another tenant's source is not found, and nothing is written there either.
    let (st, got) = upload(&s, &other, pk, "local.rules", LOCAL.into()).await;
    assert_eq!(st, 404, "{got}");
    for path in [format!("{SOURCES}{pk}/"), format!("{RULES}?source={pk}")] {
        let (st, got) = send(&s, Method::GET, &path, &other, None).await;
        assert!(st == 404 || got["count"] == 0, "{path}: {st} {got}");
    }
    let rule = &list(&s, &admin, RULES).await["results"][0]["pk"];
    let (st, _) = send(&s, Method::GET, &format!("{RULES}{rule}/"), &other, None).await;
    assert_eq!(st, 404);
    // Deleting a source takes its rules and categories with it.
    let (st, _) = send(&s, Method::DELETE, &format!("{SOURCES}{pk}/"), &admin, None).await;
    assert_eq!(st, 204);
    assert_eq!(list(&s, &admin, RULES).await["count"], 0);
    assert_eq!(list(&s, &admin, CATEGORIES).await["count"], 0);
    s.stop().await;
}

/// `POST …/upload/` with a multipart body built by `reqwest` (as `requests`' `files=` does).
async fn upload_form(
    s: &TestServer,
    auth: &str,
    pk: &Value,
    form: reqwest::multipart::Form,
) -> (u16, Value) {
    let to = s.url(&format!("{SOURCES}{pk}/upload/"));
    answer(
        s.client
            .post(to)
            .header("authorization", auth)
            .multipart(form),
    )
    .await
}

/// DRF clients upload files as `multipart/form-data`: `curl -F file=@…` and `requests`'
/// `files=` work as the raw body does, with the comment as a form field and the part's file
/// name naming the category. A form without its file, with two, or malformed is a 400 that
/// says so, and writes nothing.
#[tokio::test]
async fn rest_rules_multipart_uploads_work_as_drf_clients_send_them() {
    use reqwest::multipart::{Form, Part};
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let auth = bearer(&admin);
    let src = source(&s, &auth, "et").await;
    let pk = &src["pk"];

    // requests-style: the file part (a Windows path as some clients send it) and a comment.
    let form = Form::new().text("comment", "from the form").part(
        "file",
        Part::bytes(LOCAL.as_bytes().to_vec()).file_name("C:\\rules\\local.rules"),
    );
    let (st, got) = upload_form(&s, &auth, pk, form).await;
    assert_eq!(st, 200, "{got}");
    assert_eq!(
        (got["rules"].as_i64(), got["categories"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(got["problems"][0]["file"], "local.rules", "{got}");
    assert_eq!(
        list(&s, &auth, CATEGORIES).await["results"][0]["name"],
        "local"
    );
    let history = list(&s, &auth, "/rest/rules/history/?action_type=upload_source").await;
    assert_eq!(
        history["results"][0]["comment"], "from the form",
        "{history}"
    );

    // curl -F, the real one, with a .tar.gz: the bytes say what it is.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emerging.rules.tar.gz");
    std::fs::write(
        &path,
        tar_gz(&[
            (
                "rules/emerging-dns.rules",
                "alert dns any any -> any any (msg:\"dns\"; sid:2000001; rev:1;)\n",
            ),
            (
                "rules/emerging-scan.rules",
                "alert tcp any any -> any any (msg:\"scan\"; sid:2000003; rev:4;)\n",
            ),
        ]),
    )
    .unwrap();
    // tokio's: the server answers on this test's runtime, which a blocking wait would stall.
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "-X", "POST", "-H"])
        .arg(format!("Authorization: {auth}"))
        .arg("-F")
        .arg(format!("file=@{}", path.display()))
        .args(["-F", "comment=weekly update"])
        .arg(s.url(&format!("{SOURCES}{pk}/upload/")))
        .output()
        .await
        .expect("curl runs");
    let got: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(
        (got["rules"].as_i64(), got["categories"].as_i64()),
        (Some(2), Some(2)),
        "{got}"
    );
    let cats = list(&s, &auth, &format!("{CATEGORIES}?ordering=name")).await;
    assert_eq!(cats["results"][0]["name"], "emerging-dns");
    let history = list(&s, &auth, "/rest/rules/history/?action_type=upload_source").await;
    assert_eq!(
        history["results"][0]["comment"], "weekly update",
        "{history}"
    );
    let entries = history["count"].clone();

    // Bad forms: each a 400 saying what to fix; nothing written.
    let no_file = Form::new().text("comment", "where is it");
    let (st, got) = upload_form(&s, &auth, pk, no_file).await;
    assert_eq!(st, 400, "{got}");
    assert!(
        got["file"][0].as_str().unwrap().contains("part named file"),
        "{got}"
    );
    let two = Form::new()
        .part(
            "file",
            Part::bytes(LOCAL.as_bytes().to_vec()).file_name("a.rules"),
        )
        .part(
            "file",
            Part::bytes(LOCAL.as_bytes().to_vec()).file_name("b.rules"),
        );
    let (st, got) = upload_form(&s, &auth, pk, two).await;
    assert_eq!(st, 400, "{got}");
    assert!(
        got["file"][0].as_str().unwrap().contains("several"),
        "{got}"
    );
    let no_rules = Form::new().part("file", Part::bytes(b"hello".to_vec()).file_name("x.rules"));
    let (st, got) = upload_form(&s, &auth, pk, no_rules).await;
    assert_eq!(st, 400, "{got}");
    assert!(got["file"].is_array(), "{got}");
    for (content_type, body) in [
        ("multipart/form-data; boundary=zz", &b"--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\ncut short"[..]),
        ("multipart/form-data", &b"--zz\r\n"[..]),
    ] {
        let r = s
            .client
            .post(s.url(&format!("{SOURCES}{pk}/upload/")))
            .header("authorization", &auth)
            .header("content-type", content_type)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{content_type}");
        let problem: Value = r.json().await.unwrap();
        assert!(problem["detail"].as_str().unwrap().contains("multipart/form-data"), "{problem}");
    }
    assert_eq!(
        sids(&list(&s, &auth, &format!("{RULES}?ordering=sid")).await),
        [2000001, 2000003]
    );
    let history = list(&s, &auth, "/rest/rules/history/?action_type=upload_source").await;
    assert_eq!(history["count"], entries);
    s.stop().await;
}

#[tokio::test]
async fn rest_rulesets_turn_rules_and_categories_off_and_the_export_follows() {
    let (s, _, [(_, admin), (_, other)]) = crate::two_tenants().await;
    let (admin, other) = (bearer(&admin), bearer(&other));
    let src = source(&s, &admin, "et").await;
    let pk = &src["pk"];
    let archive = tar_gz(&[
        ("emerging-dns.rules", "alert dns any any -> any any (msg:\"dns one\"; sid:2000001; rev:1;)\nalert dns any any -> any any (msg:\"dns two\"; sid:2000002; rev:1;)\n"),
        ("emerging-scan.rules", "alert tcp any any -> any any (msg:\"scan\"; sid:2000003; rev:4;)\n#alert tcp any any -> any any (msg:\"off\"; sid:2000004; rev:1;)\n"),
    ]);
    assert_eq!(upload(&s, &admin, pk, "et.tar.gz", archive).await.0, 200);
    // A ruleset naming an unknown source is refused on that member.
    let (st, got) = send(
        &s,
        Method::POST,
        RULESETS,
        &admin,
        Some(json!({"name": "x", "sources": [999]})),
    )
    .await;
    assert_eq!(st, 400, "{got}");
    assert!(got["sources"][0].as_str().unwrap().contains("999"), "{got}");
    let (st, rs) = send(
        &s,
        Method::POST,
        RULESETS,
        &admin,
        Some(json!({"name": "prod", "descr": "d", "sources": [pk]})),
    )
    .await;
    assert_eq!(st, 201, "{rs}");
    let ruleset = &rs["pk"];

    let (st, ct, text) = export(&s, &admin, ruleset).await;
    assert_eq!(st, 200, "{text}");
    assert!(ct.starts_with("text/plain"), "{ct}");
    let on = |t: &str, sid: u32| {
        t.lines()
            .any(|l| l.starts_with("alert") && l.contains(&format!("sid:{sid};")))
    };
    let off = |t: &str, sid: u32| {
        t.lines()
            .any(|l| l.starts_with('#') && l.contains(&format!("sid:{sid};")))
    };
    assert!(
        on(&text, 2000001) && on(&text, 2000003) && off(&text, 2000004),
        "{text}"
    );

    let rule_pk = |sid: i64| {
        let s = &s;
        let admin = &admin;
        async move { list(s, admin, &format!("{RULES}?sid={sid}")).await["results"][0]["pk"].clone() }
    };
    let r1 = rule_pk(2000001).await;
    let r4 = rule_pk(2000004).await;
    let body = json!({"ruleset": ruleset, "comment": "noisy"});
    let (st, got) = send(
        &s,
        Method::POST,
        &format!("{RULES}{r1}/disable/"),
        &admin,
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, 200, "{got}");
    let (st, got) = send(
        &s,
        Method::POST,
        &format!("{RULES}{r4}/enable/"),
        &admin,
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, 200, "{got}");
    let (_, _, text) = export(&s, &admin, ruleset).await;
    assert!(
        off(&text, 2000001) && on(&text, 2000002) && on(&text, 2000004),
        "{text}"
    );

    // A category off, then back on.
    let scan = list(&s, &admin, &format!("{CATEGORIES}?name=emerging-scan")).await["results"][0]
        ["pk"]
        .clone();
    let (st, got) = send(
        &s,
        Method::POST,
        &format!("{CATEGORIES}{scan}/disable/"),
        &admin,
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, 200, "{got}");
    let (_, _, text) = export(&s, &admin, ruleset).await;
    assert!(
        off(&text, 2000003) && off(&text, 2000004) && on(&text, 2000002),
        "{text}"
    );
    let (st, _) = send(
        &s,
        Method::POST,
        &format!("{CATEGORIES}{scan}/enable/"),
        &admin,
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = send(
        &s,
        Method::POST,
        &format!("{RULES}{r1}/enable/"),
        &admin,
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, 200);
    let (_, _, text) = export(&s, &admin, ruleset).await;
    assert!(
        on(&text, 2000001) && on(&text, 2000003) && on(&text, 2000004),
        "{text}"
    );

    // Bad input: no ruleset, an unknown one, another tenant's rule or ruleset.
    for (b, field) in [
        (json!({}), "ruleset"),
        (json!({"ruleset": 999}), "ruleset"),
        (json!({"ruleset": "x"}), "ruleset"),
        (json!({"ruleset": ruleset, "comment": 5}), "comment"),
    ] {
        let (st, got) = send(
            &s,
            Method::POST,
            &format!("{RULES}{r1}/disable/"),
            &admin,
            Some(b),
        )
        .await;
        assert_eq!(st, 400, "{got}");
        assert!(got[field].is_array(), "{got}");
    }
    let (_, _, still) = export(&s, &admin, ruleset).await;
    assert_eq!(still, text);
    let (st, _) = send(
        &s,
        Method::POST,
        &format!("{RULES}{r1}/disable/"),
        &other,
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, 404);
    assert_eq!(export(&s, &other, ruleset).await.0, 404);

    // suricata -T accepts the export, when Suricata is installed.
    suricata_accepts(&text);
    s.stop().await;
}

/// Checks `text` with `suricata -T` when Suricata is installed (skipped with a notice when not).
pub fn suricata_accepts(text: &str) {
    let Ok(out) = std::process::Command::new("which").arg("suricata").output() else {
        eprintln!("notice: suricata is not installed; the export is not checked with suricata -T");
        return;
    };
    if !out.status.success() || !std::path::Path::new("/etc/suricata/suricata.yaml").exists() {
        eprintln!("notice: suricata is not installed; the export is not checked with suricata -T");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.rules");
    std::fs::write(&file, text).unwrap();
    let run = std::process::Command::new("suricata")
        .args(["-T", "-c", "/etc/suricata/suricata.yaml", "-S"])
        .arg(&file)
        .arg("-l")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "suricata -T refused the export: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// The lines of a rules text that start a rule, enabled or commented out (`# alert … (…)`),
/// counted independently of the server's parser.
fn rule_lines(text: &str) -> usize {
    const ACTIONS: &[&str] = &[
        "alert ",
        "pass ",
        "drop ",
        "reject ",
        "rejectsrc ",
        "rejectdst ",
        "rejectboth ",
        "config ",
    ];
    let mut continued = false;
    let mut n = 0;
    for line in text.lines() {
        let starts = !continued && {
            let trimmed = line.trim_start();
            let bare = trimmed.trim_start_matches('#').trim_start();
            // A commented-out rule has its options; `# alert if …` is prose.
            ACTIONS.iter().any(|a| bare.starts_with(a))
                && (!trimmed.starts_with('#') || bare.contains('('))
        };
        n += usize::from(starts);
        continued = line.trim_end().ends_with('\\');
    }
    n
}

#[tokio::test]
async fn rest_rules_debian_rules_are_all_accounted_for() {
    let dir = ["/etc/suricata/rules", "/usr/share/suricata/rules"]
        .into_iter()
        .map(std::path::Path::new)
        .find(|d| d.is_dir());
    let Some(dir) = dir else {
        eprintln!("notice: no Debian Suricata rules (/etc/suricata/rules); skipped");
        return;
    };
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?.to_owned();
            name.ends_with(".rules")
                .then(|| (format!("rules/{name}"), std::fs::read_to_string(&path).ok()))
                .and_then(|(n, t)| Some((n, t?)))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        eprintln!("notice: {} holds no .rules file; skipped", dir.display());
        return;
    }
    let expected: usize = files.iter().map(|(_, t)| rule_lines(t)).sum();
    let entries: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (s, _, [(_, admin), _]) = crate::two_tenants().await;
    let admin = bearer(&admin);
    let src = source(&s, &admin, "debian").await;
    let (st, got) = upload(&s, &admin, &src["pk"], "debian.tar.gz", tar_gz(&entries)).await;
    assert_eq!(st, 200, "{got}");
    let rules = got["rules"].as_u64().unwrap() as usize;
    let problems = got["problems"].as_array().unwrap();
    // Every rule line is a stored rule or a reported problem with its file and line.
    assert_eq!(rules + problems.len(), expected, "{got}");
    for p in problems {
        assert!(
            p["line"].as_u64().unwrap() > 0 && p["file"].is_string(),
            "{p}"
        );
    }
    assert_eq!(list(&s, &admin, RULES).await["count"], rules);
    assert_eq!(got["categories"], files.len());
    assert_eq!(list(&s, &admin, CATEGORIES).await["count"], files.len());
    // And a ruleset of them exports to a file Suricata accepts once the categories of the
    // protocols Debian's suricata.yaml leaves disabled (DNP3, Modbus) are turned off in it.
    let (st, rs) = send(
        &s,
        Method::POST,
        RULESETS,
        &admin,
        Some(json!({"name": "debian", "sources": [src["pk"]]})),
    )
    .await;
    assert_eq!(st, 201, "{rs}");
    for name in ["dnp3-events", "modbus-events"] {
        let found = list(&s, &admin, &format!("{CATEGORIES}?name={name}")).await;
        if let Some(cat) = found["results"][0].get("pk") {
            let (st, got) = send(
                &s,
                Method::POST,
                &format!("{CATEGORIES}{cat}/disable/"),
                &admin,
                Some(json!({"ruleset": rs["pk"], "comment": "protocol disabled in suricata.yaml"})),
            )
            .await;
            assert_eq!(st, 200, "{got}");
        }
    }
    let (st, _, text) = export(&s, &admin, &rs["pk"]).await;
    assert_eq!(st, 200, "{text}");
    // One line per rule (continuations joined), on or off.
    assert_eq!(text.lines().filter(|l| l.contains("sid:")).count(), rules);
    suricata_accepts(&text);
    s.stop().await;
}

/// The spec's own example of a history entry: "{user} has disabled category {category} in
/// ruleset {ruleset}", with the body's comment, the client's address and every object named;
/// an upload leaves one too (its comment as `?comment=`). A re-upload replaces the categories
/// and a deleted ruleset is gone: their pks leave the entries, their names stay.
#[tokio::test]
async fn rest_rule_actions_leave_history_entries_with_their_comments() {
    let (s, _, (_, admin)) = crate::one_tenant().await;
    let auth = bearer(&admin);
    let src = source(&s, &auth, "local").await;
    let r = s
        .client
        .post(s.url(&format!(
            "{SOURCES}{}/upload/?filename=local.rules&comment=weekly%20update",
            src["pk"]
        )))
        .header("authorization", &auth)
        .body(LOCAL)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (st, rs) = send(
        &s,
        Method::POST,
        RULESETS,
        &auth,
        Some(json!({"name": "prod", "sources": [src["pk"]]})),
    )
    .await;
    assert_eq!(st, 201, "{rs}");
    let cats = list(&s, &auth, CATEGORIES).await;
    let cat = cats["results"][0].clone();
    let (st, done) = send(
        &s,
        Method::POST,
        &format!("{CATEGORIES}{}/disable/", cat["pk"]),
        &auth,
        Some(json!({"ruleset": rs["pk"], "comment": "too noisy"})),
    )
    .await;
    assert_eq!(st, 200, "{done}");
    let rules = list(&s, &auth, &format!("{RULES}?sid=1000002")).await;
    let rule = rules["results"][0].clone();
    let (st, done) = send(
        &s,
        Method::POST,
        &format!("{RULES}{}/enable/", rule["pk"]),
        &auth,
        Some(json!({"ruleset": rs["pk"]})),
    )
    .await;
    assert_eq!(st, 200, "{done}");

    let history = list(&s, &auth, "/rest/rules/history/").await;
    let entries = history["results"].as_array().unwrap();
    let of = |kind: &str| {
        entries
            .iter()
            .find(|e| e["action_type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} entry in {history}"))
            .clone()
    };
    let disabled = of("disable_category");
    assert_eq!(
        disabled["description_raw"],
        "{user} has disabled category {category} in ruleset {ruleset}"
    );
    assert_eq!(
        disabled["description"],
        format!(
            "{} has disabled category {} in ruleset prod",
            ADMIN,
            cat["name"].as_str().unwrap()
        )
    );
    assert_eq!(disabled["comment"], "too noisy");
    assert_eq!(disabled["client_ip"], "127.0.0.1");
    assert_eq!(
        disabled["ua_objects"]["category"],
        json!({"type": "category", "pk": cat["pk"], "value": cat["name"]})
    );
    assert_eq!(
        disabled["ua_objects"]["ruleset"],
        json!({"type": "ruleset", "pk": rs["pk"], "value": "prod"})
    );
    let enabled = of("enable_rule");
    assert_eq!(enabled["ua_objects"]["rule"]["sid"], 1000002);
    assert!(enabled["ua_objects"]["rule"].get("pk").is_none());
    assert_eq!(enabled["comment"], Value::Null);
    let uploaded = of("upload_source");
    assert_eq!(uploaded["comment"], "weekly update");
    assert_eq!(
        uploaded["description"],
        format!("{ADMIN} has uploaded source local")
    );
    // Newest first: the enable came last.
    assert_eq!(entries[0]["action_type"], "enable_rule");
    // Filter by action type and comment, as any /rest/ list.
    let found = list(&s, &auth, "/rest/rules/history/?comment=too%20noisy").await;
    assert_eq!(found["count"], 1);

    // A re-upload replaces the categories; deleting the ruleset removes it.
    let (st, _) = upload(&s, &auth, &src["pk"], "local.rules", LOCAL.into()).await;
    assert_eq!(st, 200);
    let (st, _) = send(
        &s,
        Method::DELETE,
        &format!("{RULESETS}{}/", rs["pk"]),
        &auth,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let history = list(
        &s,
        &auth,
        "/rest/rules/history/?action_type=disable_category",
    )
    .await;
    let objects = &history["results"][0]["ua_objects"];
    assert_eq!(
        objects["category"],
        json!({"type": "category", "value": cat["name"]})
    );
    assert_eq!(
        objects["ruleset"],
        json!({"type": "ruleset", "value": "prod"})
    );
    s.stop().await;
}
