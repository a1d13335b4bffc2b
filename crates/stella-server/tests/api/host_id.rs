//! Host ID (`GET /rest/appliances/host_id/<ip>`) over HTTP: Suricata EVE events ingested for
//! two tenants, every part of the answer, tenancy, malformed addresses, both authentication
//! schemes. `host_id_suricata.rs` does the same with the EVE Suricata itself writes.

use crate::tenant_user;
use serde_json::{json, Value};
use stella_testkit::TestServer;

/// Suricata's timestamp for minute `m` of 2026-01-02 03:00 UTC, and how host ID answers it.
fn at(m: u32) -> String {
    format!("2026-01-02T03:{m:02}:00.123456+0000")
}
fn shown(m: u32) -> String {
    format!("2026-01-02T03:{m:02}:00.123Z")
}

const SERVER: &str = "10.0.0.10";
const CLIENT: &str = "10.0.0.20";
const V6_SERVER: &str = "2001:0db8:0000:0000:0000:0000:0000:0010";
const V6_CLIENT: &str = "2001:0db8:0000:0000:0000:0000:0000:0020";

fn conn(m: u32, kind: &str, src: &str, dest: &str, port: u16, proto: &str) -> Value {
    json!({"timestamp": at(m), "flow_id": 1000 + m, "event_type": kind, "src_ip": src,
           "src_port": 40000 + m, "dest_ip": dest, "dest_port": port, "proto": proto})
}

fn with(mut event: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().into_iter().flatten() {
        event[k] = v.clone();
    }
    event
}

/// Tenant acme: a web/TLS/DNS server 10.0.0.10 and its client 10.0.0.20, plus an IPv6 pair.
fn acme_events() -> Vec<Value> {
    vec![
        with(
            conn(1, "flow", CLIENT, SERVER, 80, "TCP"),
            json!({"app_proto": "http"}),
        ),
        with(
            conn(2, "http", CLIENT, SERVER, 80, "TCP"),
            json!({"http": {"hostname": "www.acme.test", "url": "/", "http_user_agent": "Mozilla/5.0 (Acme)",
                            "http_method": "GET", "status": 200}}),
        ),
        // A file download is logged from the server's side: neither its user agent nor its
        // host name may be taken as the other role's.
        with(
            conn(3, "fileinfo", SERVER, CLIENT, 40002, "TCP"),
            json!({"app_proto": "http", "http": {"hostname": "reversed.acme.test", "http_user_agent": "Fileinfo/1.0"},
                   "fileinfo": {"filename": "/", "size": 10}}),
        ),
        with(
            conn(4, "flow", CLIENT, SERVER, 443, "TCP"),
            json!({"app_proto": "tls"}),
        ),
        with(
            conn(5, "tls", CLIENT, SERVER, 443, "TCP"),
            json!({"tls": {"sni": "secure.acme.test", "subject": "CN=secure.acme.test, O=Acme",
                           "version": "TLS 1.2", "ja3": {"hash": "a3afc2c46ba4a7d7fbe1cfb7a3031c2f"},
                           "ja3s": {"hash": "15af977ce25de452b96affa2addb1036"}}}),
        ),
        // The server also answers DNS, and DNS names it.
        with(
            conn(6, "flow", CLIENT, SERVER, 53, "UDP"),
            json!({"app_proto": "dns"}),
        ),
        with(
            conn(7, "dns", CLIENT, "10.0.0.53", 53, "UDP"),
            json!({"dns": {"version": 2, "type": "answer", "rrname": "db.acme.test", "rrtype": "A",
                           "answers": [{"rrname": "db.acme.test", "rrtype": "CNAME", "rdata": "srv.acme.test"},
                                       {"rrname": "srv.acme.test", "rrtype": "A", "rdata": SERVER}],
                           "grouped": {"A": [SERVER]}}}),
        ),
        with(
            conn(8, "dns", CLIENT, "10.0.0.53", 53, "UDP"),
            json!({"dns": {"version": 2, "type": "answer", "rrname": "10.0.0.10.in-addr.arpa", "rrtype": "PTR",
                           "answers": [{"rrname": "10.0.0.10.in-addr.arpa", "rrtype": "PTR", "rdata": "ptr-name.acme.test"}]}}),
        ),
        // Reached by its address: not a host name.
        with(
            conn(9, "http", CLIENT, SERVER, 80, "TCP"),
            json!({"http": {"hostname": SERVER, "http_user_agent": "curl/8.5.0"}}),
        ),
        // A scan's SYN to a closed port: no application protocol, not a service.
        with(
            conn(10, "flow", CLIENT, SERVER, 22, "TCP"),
            json!({"flow": {"state": "new"}}),
        ),
        // Alerts on either side, by severity; one of another host.
        with(
            conn(11, "alert", CLIENT, SERVER, 80, "TCP"),
            json!({"alert": {"signature_id": 1, "signature": "high", "severity": 1}}),
        ),
        with(
            conn(12, "alert", SERVER, CLIENT, 40012, "TCP"),
            json!({"alert": {"signature_id": 2, "signature": "medium", "severity": 2}}),
        ),
        with(
            conn(13, "alert", CLIENT, SERVER, 443, "TCP"),
            json!({"alert": {"signature_id": 3, "signature": "low", "severity": 3}}),
        ),
        with(
            conn(14, "alert", "10.9.9.9", "10.9.9.8", 80, "TCP"),
            json!({"alert": {"signature_id": 4, "severity": 1}}),
        ),
        // Logins from the client.
        with(
            conn(15, "smb", CLIENT, SERVER, 445, "TCP"),
            json!({"smb": {"command": "SMB2_COMMAND_SESSION_SETUP",
                           "ntlmssp": {"domain": "ACME", "user": "alice", "host": "WS1"}}}),
        ),
        with(
            conn(16, "krb5", CLIENT, SERVER, 88, "UDP"),
            json!({"krb5": {"msg_type": "KRB_AS_REQ", "cname": "bob", "realm": "ACME.TEST"}}),
        ),
        with(
            conn(17, "krb5", CLIENT, SERVER, 88, "UDP"),
            json!({"krb5": {"msg_type": "KRB_TGS_REQ", "cname": "<empty>", "realm": "ACME.TEST"}}),
        ),
        // IPv6, as Suricata writes it (uncompressed).
        with(
            conn(20, "flow", V6_CLIENT, V6_SERVER, 8080, "TCP"),
            json!({"app_proto": "http"}),
        ),
    ]
}

/// Tenant globex: its own 10.0.0.10, and 10.0.0.99 that acme never saw.
fn globex_events() -> Vec<Value> {
    vec![
        with(
            conn(30, "http", "10.0.0.99", SERVER, 8000, "TCP"),
            json!({"http": {"hostname": "globex-only.test", "http_user_agent": "Globex/1.0"}}),
        ),
        with(
            conn(31, "flow", "10.0.0.99", SERVER, 8000, "TCP"),
            json!({"app_proto": "http"}),
        ),
    ]
}

pub(crate) async fn ingest(s: &TestServer, jwt: &str, tenant: &str, events: &[Value]) {
    let (st, body) = s
        .call(
            "POST",
            &format!("/connect/api/v1/events?tenant_id={tenant}"),
            Some(jwt),
            Some(json!({ "events": events })),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["ingested"], json!(events.len()), "{body}");
    s.refresh_events(jwt).await;
}

/// `GET /rest/appliances/host_id/<ip>` with `Authorization: <auth>`.
pub(crate) async fn host_id(s: &TestServer, ip: &str, auth: &str) -> (u16, Value) {
    let r = s
        .client
        .get(s.url(&format!("/rest/appliances/host_id/{ip}")))
        .header("authorization", auth)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The `key` of each item of list `name`.
fn items(answer: &Value, name: &str, key: &str) -> Vec<String> {
    answer["host_id"][name]
        .as_array()
        .unwrap_or_else(|| panic!("no {name} in {answer}"))
        .iter()
        .map(|i| i[key].as_str().unwrap().to_owned())
        .collect()
}

fn item<'a>(answer: &'a Value, name: &str, key: &str, value: &str) -> &'a Value {
    answer["host_id"][name]
        .as_array()
        .and_then(|l| l.iter().find(|i| i[key] == value))
        .unwrap_or_else(|| panic!("no {name} {value} in {answer}"))
}

#[tokio::test]
async fn host_id_reports_what_the_events_say_within_the_callers_tenancy() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (acme, _, acme_jwt) = tenant_user(&s, &root, "acme", "analyst@acme.test", "analyst").await;
    let (globex, _, globex_jwt) =
        tenant_user(&s, &root, "globex", "analyst@globex.test", "analyst").await;
    ingest(&s, &root, &acme, &acme_events()).await;
    ingest(&s, &root, &globex, &globex_events()).await;
    let bearer = format!("Bearer {acme_jwt}");

    // The server.
    let (st, a) = host_id(&s, SERVER, &bearer).await;
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["ip"], SERVER);
    let h = &a["host_id"];
    assert_eq!(h["ip"], SERVER);
    // Every acme event naming it but the other host's alert and the IPv6 flow.
    assert_eq!(a["hits"], json!(16), "{a}");
    assert_eq!(h["first_seen"], shown(1));
    assert_eq!(h["last_seen"], shown(17));
    assert_eq!(
        h["services"],
        json!([
            {"proto": "udp", "port": 53, "values": [{"app_proto": "dns", "first_seen": shown(6), "last_seen": shown(6)}]},
            {"proto": "tcp", "port": 80, "values": [{"app_proto": "http", "first_seen": shown(1), "last_seen": shown(1)}]},
            {"proto": "tcp", "port": 443, "values": [{"app_proto": "tls", "first_seen": shown(4), "last_seen": shown(4)}]},
        ]),
        "{a}"
    );
    assert_eq!(h["services_count"], json!(3));
    let mut names = items(&a, "hostname", "host");
    names.sort();
    assert_eq!(
        names,
        [
            "db.acme.test",
            "ptr-name.acme.test",
            "secure.acme.test",
            "srv.acme.test",
            "www.acme.test"
        ],
        "{a}"
    );
    assert_eq!(h["hostname_count"], json!(5));
    // Newest first, each with where it was learnt and when.
    assert_eq!(h["hostname"][0]["host"], "ptr-name.acme.test");
    assert_eq!(
        *item(&a, "hostname", "host", "srv.acme.test"),
        json!({"host": "srv.acme.test", "sources": ["dns"], "first_seen": shown(7), "last_seen": shown(7)})
    );
    assert_eq!(
        item(&a, "hostname", "host", "www.acme.test")["sources"],
        json!(["http.hostname"])
    );
    assert_eq!(
        item(&a, "hostname", "host", "secure.acme.test")["sources"],
        json!(["tls.sni"])
    );
    assert_eq!(
        item(&a, "hostname", "host", "ptr-name.acme.test")["sources"],
        json!(["dns.ptr"])
    );
    assert_eq!(
        items(&a, "tls.subject", "subject"),
        ["CN=secure.acme.test, O=Acme"]
    );
    assert_eq!(
        items(&a, "tls.ja3s", "hash"),
        ["15af977ce25de452b96affa2addb1036"]
    );
    // What it did as a client: nothing (the download's reversed record is not its own).
    for list in [
        "http.user_agent",
        "tls.sni",
        "tls.ja3",
        "username",
        "client_service",
    ] {
        assert_eq!(h[list], json!([]), "{list}: {a}");
        assert_eq!(h[format!("{list}_count")], json!(0), "{list}");
    }
    assert_eq!(
        h["alerts"],
        json!({"count": 3, "by_severity": {"high": 1, "medium": 1, "low": 1, "informational": 0},
               "first_seen": shown(11), "last_seen": shown(13)})
    );
    assert_eq!(h["truncated"], json!([]));

    // The client.
    let (st, c) = host_id(&s, CLIENT, &bearer).await;
    assert_eq!(st, 200, "{c}");
    let ch = &c["host_id"];
    assert_eq!(ch["services"], json!([]), "{c}");
    assert_eq!(ch["hostname"], json!([]), "{c}");
    assert_eq!(
        items(&c, "http.user_agent", "agent"),
        ["curl/8.5.0", "Mozilla/5.0 (Acme)"]
    );
    assert_eq!(
        *item(&c, "http.user_agent", "agent", "Mozilla/5.0 (Acme)"),
        json!({"agent": "Mozilla/5.0 (Acme)", "first_seen": shown(2), "last_seen": shown(2)})
    );
    assert_eq!(items(&c, "tls.sni", "sni"), ["secure.acme.test"]);
    assert_eq!(
        items(&c, "tls.ja3", "hash"),
        ["a3afc2c46ba4a7d7fbe1cfb7a3031c2f"]
    );
    assert_eq!(ch["tls.subject"], json!([]));
    assert_eq!(items(&c, "username", "user"), ["bob", "alice"]);
    assert_eq!(items(&c, "client_service", "name"), ["dns", "tls", "http"]);
    assert_eq!(ch["alerts"]["count"], json!(3));

    // IPv6: asked compressed or not, answered canonical.
    for spelling in ["2001:db8::10", "2001:0DB8:0:0:0:0:0:10"] {
        let (st, v6) = host_id(&s, spelling, &bearer).await;
        assert_eq!(st, 200, "{spelling}: {v6}");
        assert_eq!(v6["ip"], "2001:db8::10");
        assert_eq!(v6["host_id"]["services"][0]["port"], json!(8080));
    }
    let (st, v6) = host_id(&s, "2001:db8::20", &bearer).await;
    assert_eq!((st, v6["hits"].clone()), (200, json!(1)));

    // Django's trailing slash works too.
    let (st, slash) = host_id(&s, &format!("{SERVER}/"), &bearer).await;
    assert_eq!((st, &slash), (200, &a));

    // Tenancy: acme never saw 10.0.0.99; globex's 10.0.0.10 is another host.
    let (st, body) = host_id(&s, "10.0.0.99", &bearer).await;
    assert_eq!((st, body), (404, json!({"detail": "Not found."})));
    let (st, g) = host_id(&s, SERVER, &format!("Bearer {globex_jwt}")).await;
    assert_eq!(st, 200, "{g}");
    assert_eq!(g["hits"], json!(2));
    assert_eq!(items(&g, "hostname", "host"), ["globex-only.test"]);
    assert_eq!(g["host_id"]["services"][0]["port"], json!(8000));
    assert_eq!(g["host_id"]["alerts"]["count"], json!(0));
    let (st, _) = host_id(&s, CLIENT, &format!("Bearer {globex_jwt}")).await;
    assert_eq!(st, 404);

    // A root super admin with the legacy token reaches both tenants; `tenant` narrows.
    let token = format!("Token {}", s.root.legacy_token);
    let (st, both) = host_id(&s, SERVER, &token).await;
    assert_eq!(st, 200, "{both}");
    assert_eq!(both["hits"], json!(18));
    assert_eq!(both["host_id"]["hostname_count"], json!(6));
    let (st, _) = host_id(&s, "10.0.0.99", &token).await;
    assert_eq!(st, 200);
    let (st, body) = host_id(&s, &format!("10.0.0.99?tenant={acme}"), &token).await;
    assert_eq!((st, body), (404, json!({"detail": "Not found."})));
    // A tenant user cannot widen their tenancy with it.
    let (st, _) = host_id(&s, &format!("10.0.0.99?tenant={globex}"), &bearer).await;
    assert_eq!(st, 404);

    // Malformed addresses: DRF's 400 with a detail, whatever the credential.
    for bad in [
        "10.0.0.256",
        "10.0.0",
        "010.0.0.1",
        "not-an-address",
        "10.0.0.1%2F24",
        "fe80::1%25eth0",
        "1:2:3:4:5:6:7:8:9",
    ] {
        for auth in [&bearer, &token] {
            let (st, body) = host_id(&s, bad, auth).await;
            assert_eq!(st, 400, "{bad}: {body}");
            assert!(
                body["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("not a valid IPv4 or IPv6 address")),
                "{bad}: {body}"
            );
            assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
        }
    }

    // Credentials: none, a bad token, an unknown legacy token.
    assert_eq!(
        s.status("GET", &format!("/rest/appliances/host_id/{SERVER}"), None)
            .await,
        401
    );
    let (st, _) = host_id(&s, SERVER, "Bearer not.a.jwt").await;
    assert_eq!(st, 401);
    let (st, _) = host_id(&s, SERVER, &format!("Token {}", "0".repeat(40))).await;
    assert_eq!(st, 401);
    s.stop().await;
}
