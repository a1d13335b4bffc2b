//! Host ID (Stamus' "Host Insights"): what the ingested events say about one IP address,
//! within the caller's tenancy, for `GET /rest/appliances/host_id/<ip>`.
//!
//! Each lookup answers from the rollups the event index keeps per day as it indexes
//! (`host_facts.rs`: what each record states about the addresses it names), a lookup per day
//! whatever the host's traffic. When a day in reach has no complete rollup (indexed before
//! rollups existed, or past a rollup's bounds), it asks the events instead: nine
//! aggregation-only questions ([`requests`]) in one [`msearch`](stella_search::EventIndex::msearch)
//! (one time budget, one search slot), each an exact term query on the address narrowing the
//! events to the few that name it, and to the record types that carry the fields it
//! aggregates, with terms aggregations for the distinct values (at most [`MAX_VALUES`] each,
//! newest first) and min/max of `timestamp` for when each was first and last seen. Both
//! paths give the same answer (a test holds them to it); the second costs in proportion to
//! the events naming the address.
//!
//! # What belongs to the host
//!
//! Events are Suricata EVE JSON as Stamus probes send them. In the app-layer records (`http`,
//! `tls`, `dns`, `smb`, `krb5`, `rdp`, …) and in `flow` records, `src_ip` is the client (the
//! side that opened the connection) and `dest_ip` the server. `alert`, `fileinfo`, `anomaly`,
//! `netflow` and `drop` records follow the direction of one packet instead (a file download
//! is logged from the server, an alert from whichever packet matched), so they are never used
//! to decide a role; they only count (alerts) or date the host (first and last seen).
//!
//! * **first_seen, last_seen, hits**: every event naming the address as `src_ip`, `dest_ip`,
//!   an A/AAAA answer (`dns.answers[].rdata`, `dns.grouped.A`/`AAAA`) or the subject of a
//!   PTR answer. An address none of these name is not found (404).
//! * **services** (the host as server): `flow` records with the address as `dest_ip`, grouped
//!   by `dest_port` and `proto`, with each `app_proto` seen there. Only flows in which an
//!   application protocol was detected count (Suricata names one, or `failed` when traffic
//!   flowed but matched none), so ports that were only probed (a scan's SYNs) are not services.
//! * **client_service** (the host as client): the `app_proto` of its own `flow` records.
//! * **hostname**: names the host answered to as a server (`http.hostname`, `tls.sni`), names
//!   DNS resolved to it (the `rrname`s of an answer carrying its address, CNAME chain
//!   included) and names PTR answers gave it. Names are lower-cased and merged; IP literals
//!   (`Host: 10.0.0.1`) are not names. Each says where it was learnt (`sources`).
//! * **http.user_agent**, **tls.sni**, **tls.ja3**, **tls.ja4** (the host as client): the
//!   agents it sent, the server names it asked for, its TLS client fingerprints.
//! * **tls.subject**, **tls.ja3s** (the host as server): the certificate subjects it
//!   presented (TLS ≤ 1.2; TLS 1.3 encrypts the certificate) and its server fingerprints.
//! * **username** (the host as client, the machine the account logged in from): NTLMSSP
//!   users in SMB (`smb.ntlmssp.user`), Kerberos client principals (`krb5.cname`, without
//!   Suricata's `<empty>`), RDP cookies (`rdp.cookie`, the `mstshash` user name).
//! * **alerts**: `alert` records with the address on either side, by `alert.severity`, which
//!   is the signature's classtype priority: 1 = high, 2 = medium, 3 = low, anything else
//!   (4 is Suricata's lowest classtype priority) = informational.
//!
//! # Answer
//!
//! Stamus' names where it has them (`services[].values[].app_proto`, `hostname[].host`,
//! `username[].user`, `http.user_agent[].agent`, `tls.ja3[].hash`, `client_service[].name`,
//! `<list>_count`, the outer `{ip, hits, host_id}`); every list item carries `first_seen`
//! and `last_seen` (RFC 3339, UTC). `truncated` names the lists that reached
//! [`MAX_VALUES`] with more values left out.
//!
//! ```json
//! {"ip": "10.0.0.101", "hits": 42, "host_id": {
//!   "ip": "10.0.0.101", "first_seen": "…", "last_seen": "…",
//!   "services": [{"proto": "tcp", "port": 443, "values": [{"app_proto": "tls", "first_seen": "…", "last_seen": "…"}]}],
//!   "services_count": 1,
//!   "hostname": [{"host": "www.example.com", "sources": ["dns", "tls.sni"], "first_seen": "…", "last_seen": "…"}],
//!   "hostname_count": 1,
//!   "username": [], "username_count": 0,
//!   "http.user_agent": [{"agent": "curl/8.5.0", "first_seen": "…", "last_seen": "…"}], "http.user_agent_count": 1,
//!   "tls.sni": [], "tls.sni_count": 0, "tls.subject": [], "tls.subject_count": 0,
//!   "tls.ja3": [], "tls.ja3_count": 0, "tls.ja3s": [], "tls.ja3s_count": 0, "tls.ja4": [], "tls.ja4_count": 0,
//!   "client_service": [{"name": "http", "first_seen": "…", "last_seen": "…"}], "client_service_count": 1,
//!   "alerts": {"count": 2, "by_severity": {"high": 1, "medium": 1, "low": 0, "informational": 0},
//!              "first_seen": "…", "last_seen": "…"},
//!   "truncated": []}}
//! ```
//!
//! Addresses: IPv4 or IPv6, answered in canonical form (RFC 5952 for IPv6; an IPv4-mapped
//! IPv6 address is its IPv4 address). Suricata writes IPv6 addresses uncompressed
//! (`2001:0db8:0000:…`), so both spellings are looked up.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{json, Map, Value};
use stella_core::perm::EventsRead;
use stella_core::Grant;

use crate::{Result, ServiceError, Stella};

/// Most values of one list (ports for `services`).
pub const MAX_VALUES: usize = 100;
/// Transport protocols per port, application protocols per port and transport.
pub(crate) const MAX_PROTOS: usize = 4;
pub(crate) const MAX_APP_PROTOS: usize = 8;

/// The records that carry what a client sends (agents, TLS names and fingerprints, user
/// names): `alert`, `fileinfo`, `anomaly`, `netflow` and `drop` records, which follow one
/// packet rather than the connection, never decide a role.
pub(crate) const CLIENT_RECORDS: [&str; 5] = ["http", "tls", "smb", "krb5", "rdp"];

/// An address as asked for: its canonical text and every spelling events may use for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddress {
    pub canonical: String,
    /// The canonical text, and for IPv6 Suricata's uncompressed one.
    spellings: Vec<String>,
    /// The name a PTR query for it asks (`…in-addr.arpa`, `…ip6.arpa`).
    reverse: String,
}

impl HostAddress {
    /// Reads an IPv4 or IPv6 address (no prefix, no zone, no leading zeros in IPv4).
    pub fn parse(text: &str) -> Option<HostAddress> {
        if text.is_empty() || text.len() > 45 {
            return None;
        }
        let ip = text.parse::<IpAddr>().ok()?.to_canonical();
        let canonical = ip.to_string();
        let (spellings, reverse) = match ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                (
                    vec![canonical.clone()],
                    format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0]),
                )
            }
            IpAddr::V6(v6) => {
                let full = v6
                    .segments()
                    .iter()
                    .map(|s| format!("{s:04x}"))
                    .collect::<Vec<_>>()
                    .join(":");
                let mut nibbles: Vec<String> = v6
                    .octets()
                    .iter()
                    .flat_map(|b| [b >> 4, b & 0xf])
                    .map(|n| format!("{n:x}"))
                    .collect();
                nibbles.reverse();
                let mut spellings = vec![canonical.clone()];
                if full != canonical {
                    spellings.push(full);
                }
                (spellings, format!("{}.ip6.arpa", nibbles.join(".")))
            }
        };
        Some(HostAddress {
            canonical,
            spellings,
            reverse,
        })
    }

    /// Whether events spelling an address as `text` name this one (as host ID looks them up).
    pub fn spelled(&self, text: &str) -> bool {
        self.spellings.iter().any(|s| s == text)
    }
}

/// The address a reverse-lookup name is exactly the PTR question for (`101.0.0.10.in-addr.arpa`
/// for 10.0.0.101), as host ID asks it.
pub fn reverse_name_host(name: &str) -> Option<HostAddress> {
    let text = if let Some(v4) = name.strip_suffix(".in-addr.arpa") {
        let mut octets: Vec<&str> = v4.split('.').collect();
        if octets.len() != 4 {
            return None;
        }
        octets.reverse();
        octets.join(".")
    } else {
        let v6 = name.strip_suffix(".ip6.arpa")?;
        let mut nibbles: Vec<&str> = v6.split('.').collect();
        if nibbles.len() != 32 || nibbles.iter().any(|n| n.len() != 1) {
            return None;
        }
        nibbles.reverse();
        nibbles
            .chunks(4)
            .map(|c| c.concat())
            .collect::<Vec<_>>()
            .join(":")
    };
    HostAddress::parse(&text).filter(|a| a.reverse == name)
}

/// The nine questions, in the order they are asked: the costliest for a busy host first
/// (they run two at a time), so none of them starts last.
pub(crate) const SERVICES: usize = 0;
pub(crate) const SERVER_TLS: usize = 1;
pub(crate) const SEEN: usize = 2;
pub(crate) const SERVER: usize = 3;
pub(crate) const DNS: usize = 4;
pub(crate) const ALERTS: usize = 5;
pub(crate) const CLIENT: usize = 6;
pub(crate) const CLIENT_FLOWS: usize = 7;
pub(crate) const PTR: usize = 8;
pub(crate) const QUESTIONS: usize = 9;

/// `first_seen`/`last_seen` of a bucket, and ordering by the latter (newest values first).
fn dated() -> Value {
    json!({
        "first_seen": {"min": {"field": "timestamp"}},
        "last_seen": {"max": {"field": "timestamp"}},
    })
}

fn values(field: &str, size: usize) -> Value {
    json!({
        "terms": {"field": field, "size": size, "order": {"last_seen": "desc"}},
        "aggs": dated(),
    })
}

/// The search requests answering host ID for `addr`.
pub fn requests(addr: &HostAddress) -> Vec<Value> {
    let at = |field: &str| json!({"terms": {field: addr.spellings}});
    let of_type = |types: &[&str]| json!({"terms": {"event_type": types}});
    let answers_it = [
        at("dns.answers.rdata"),
        at("dns.grouped.A"),
        at("dns.grouped.AAAA"),
    ];
    let names_it = json!({"term": {"dns.answers.rrname": addr.reverse}});
    let mut seen_by = vec![at("src_ip"), at("dest_ip"), names_it.clone()];
    seen_by.extend(answers_it.iter().cloned());
    let mut out = vec![Value::Null; QUESTIONS];
    out[SEEN] = json!({
        "size": 0,
        "query": {"bool": {"should": seen_by, "minimum_should_match": 1}},
        "aggs": dated(),
    });
    out[SERVICES] = json!({
        "size": 0,
        "query": {"bool": {"filter": [
            at("dest_ip"),
            {"term": {"event_type": "flow"}},
            {"exists": {"field": "app_proto"}},
        ]}},
        "aggs": {"ports": {
            "terms": {"field": "dest_port", "size": MAX_VALUES, "order": {"last_seen": "desc"}},
            "aggs": {
                "last_seen": {"max": {"field": "timestamp"}},
                "protos": {
                    "terms": {"field": "proto", "size": MAX_PROTOS},
                    "aggs": {"apps": values("app_proto", MAX_APP_PROTOS)},
                },
            },
        }},
    });
    out[SERVER] = json!({
        "size": 0,
        "query": {"bool": {"filter": [at("dest_ip"), of_type(&["http"])]}},
        "aggs": {"http_hostname": values("http.hostname", MAX_VALUES)},
    });
    out[SERVER_TLS] = json!({
        "size": 0,
        "query": {"bool": {"filter": [at("dest_ip"), of_type(&["tls"])]}},
        "aggs": {
            "tls_sni": values("tls.sni", MAX_VALUES),
            "tls_subject": values("tls.subject", MAX_VALUES),
            "tls_ja3s": values("tls.ja3s.hash", MAX_VALUES),
        },
    });
    out[CLIENT] = json!({
        "size": 0,
        "query": {"bool": {"filter": [at("src_ip"), of_type(&CLIENT_RECORDS)]}},
        "aggs": {
            "user_agent": values("http.http_user_agent", MAX_VALUES),
            "tls_sni": values("tls.sni", MAX_VALUES),
            "tls_ja3": values("tls.ja3.hash", MAX_VALUES),
            "tls_ja4": values("tls.ja4", MAX_VALUES),
            "smb_user": values("smb.ntlmssp.user", MAX_VALUES),
            "krb5_cname": values("krb5.cname", MAX_VALUES),
            "rdp_cookie": values("rdp.cookie", MAX_VALUES),
        },
    });
    out[CLIENT_FLOWS] = json!({
        "size": 0,
        "query": {"bool": {"filter": [at("src_ip"), of_type(&["flow"])]}},
        "aggs": {"app_proto": values("app_proto", MAX_VALUES)},
    });
    out[DNS] = json!({
        "size": 0,
        "query": {"bool": {"should": answers_it, "minimum_should_match": 1}},
        "aggs": {
            "answer_names": values("dns.answers.rrname", MAX_VALUES),
            "query_name": values("dns.rrname", MAX_VALUES),
            // Suricata 8's DNS records (version 3) name the question here.
            "query_names": values("dns.queries.rrname", MAX_VALUES),
        },
    });
    out[PTR] = json!({
        "size": 0,
        "query": names_it,
        "aggs": {"names": values("dns.answers.rdata", MAX_VALUES)},
    });
    out[ALERTS] = json!({
        "size": 0,
        "query": {"bool": {
            "filter": [{"term": {"event_type": "alert"}}],
            "should": [at("src_ip"), at("dest_ip")],
            "minimum_should_match": 1,
        }},
        "aggs": {
            "severity": {"terms": {"field": "alert.severity", "size": 16}},
            "first_seen": {"min": {"field": "timestamp"}},
            "last_seen": {"max": {"field": "timestamp"}},
        },
    });
    out
}

/// Suricata's severity (its classtype priority) as a name.
pub fn severity_name(severity: f64) -> &'static str {
    let whole = (severity.fract() == 0.0).then_some(severity as i64);
    match whole {
        Some(1) => "high",
        Some(2) => "medium",
        Some(3) => "low",
        _ => "informational",
    }
}

/// One distinct value of a terms aggregation, with when it was first and last seen.
struct Seen {
    value: String,
    first_ms: f64,
    last_ms: f64,
}

fn date(v: &Value) -> Option<f64> {
    v["value"].as_f64()
}

fn rfc3339(ms: f64) -> Value {
    json!(stella_search::time::format_ms(ms as i64))
}

/// The buckets of terms aggregation `name` in `aggs`; records in `truncated` under `list`
/// when values were left out.
fn buckets<'a>(
    aggs: &'a Value,
    name: &str,
    list: &str,
    truncated: &mut Vec<String>,
) -> &'a [Value] {
    let agg = &aggs[name];
    if agg["sum_other_doc_count"].as_u64().unwrap_or(0) > 0 && !truncated.iter().any(|t| t == list)
    {
        truncated.push(list.to_owned());
    }
    agg["buckets"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn seen_values(aggs: &Value, name: &str, list: &str, truncated: &mut Vec<String>) -> Vec<Seen> {
    buckets(aggs, name, list, truncated)
        .iter()
        .filter_map(|b| {
            Some(Seen {
                value: key_text(&b["key"])?,
                first_ms: date(&b["first_seen"])?,
                last_ms: date(&b["last_seen"])?,
            })
        })
        .collect()
}

/// Values merged by `key` (first seen the earliest, last seen the latest), newest first, at
/// most `MAX_VALUES`; `sources` names where each came from when given.
fn merged(
    parts: Vec<(Vec<Seen>, &str)>,
    item_key: &str,
    normalise: impl Fn(&str) -> Option<String>,
    with_sources: bool,
) -> (Vec<Value>, bool) {
    struct Entry<'a> {
        first: f64,
        last: f64,
        sources: Vec<&'a str>,
    }
    let mut by: BTreeMap<String, Entry<'_>> = BTreeMap::new();
    for (values, source) in parts {
        for s in values {
            let Some(key) = normalise(&s.value) else {
                continue;
            };
            let e = by.entry(key).or_insert(Entry {
                first: s.first_ms,
                last: s.last_ms,
                sources: Vec::new(),
            });
            e.first = e.first.min(s.first_ms);
            e.last = e.last.max(s.last_ms);
            if !e.sources.contains(&source) {
                e.sources.push(source);
            }
        }
    }
    let mut items: Vec<(String, Entry<'_>)> = by.into_iter().collect();
    items.sort_by(|a, b| b.1.last.total_cmp(&a.1.last).then_with(|| a.0.cmp(&b.0)));
    let cut = items.len() > MAX_VALUES;
    items.truncate(MAX_VALUES);
    let items = items
        .into_iter()
        .map(|(key, mut e)| {
            let mut m = Map::new();
            m.insert(item_key.into(), json!(key));
            if with_sources {
                e.sources.sort_unstable();
                m.insert("sources".into(), json!(e.sources));
            }
            m.insert("first_seen".into(), rfc3339(e.first));
            m.insert("last_seen".into(), rfc3339(e.last));
            Value::Object(m)
        })
        .collect();
    (items, cut)
}

/// One list of the answer (`hostname`, `tls.sni`, …) and its `_count`.
fn put_list(
    host: &mut Map<String, Value>,
    name: &str,
    (items, cut): (Vec<Value>, bool),
    truncated: &mut Vec<String>,
) {
    if cut && !truncated.iter().any(|t| t == name) {
        truncated.push(name.to_owned());
    }
    host.insert(format!("{name}_count"), json!(items.len()));
    host.insert(name.into(), Value::Array(items));
}

/// A value as logged, unless blank or Suricata's `<empty>` (a Kerberos request without a
/// client name).
fn non_empty(s: &str) -> Option<String> {
    let blank = s.trim().is_empty() || s == "<empty>";
    (!blank).then(|| s.to_owned())
}

/// A host name as merged: lower case, no trailing dot; IP literals and reverse-lookup names
/// are not names of a host.
fn host_name(s: &str) -> Option<String> {
    let s = s.trim().trim_end_matches('.').to_ascii_lowercase();
    let bare = s.trim_start_matches('[').trim_end_matches(']');
    if s.is_empty() || bare.parse::<IpAddr>().is_ok() || s.ends_with(".arpa") {
        return None;
    }
    Some(s)
}

/// The host ID answer from the answers to [`requests`]; `None` when no event names the
/// address.
pub fn answer(addr: &HostAddress, found: &[Value]) -> Option<Value> {
    let aggs = |i: usize| &found[i]["aggregations"];
    let hits = found[SEEN]["hits"]["total"]["value"].as_u64().unwrap_or(0);
    if hits == 0 {
        return None;
    }
    let mut truncated: Vec<String> = Vec::new();
    let mut host = Map::new();
    host.insert("ip".into(), json!(addr.canonical));
    let seen = aggs(SEEN);
    for key in ["first_seen", "last_seen"] {
        host.insert(
            key.into(),
            date(&seen[key]).map(rfc3339).unwrap_or(Value::Null),
        );
    }

    // services: port → transport → application protocols. Transports are named in lower
    // case (Suricata writes `TCP`, other sensors `tcp`): one service per port and transport,
    // its protocols merged, newest first.
    let mut services: BTreeMap<(u64, String), BTreeMap<String, (f64, f64)>> = BTreeMap::new();
    for port in buckets(aggs(SERVICES), "ports", "services", &mut truncated) {
        let Some(number) = port["key"]
            .as_f64()
            .filter(|p| p.fract() == 0.0 && *p >= 0.0)
        else {
            continue;
        };
        for proto in buckets(port, "protos", "services", &mut truncated) {
            let Some(name) = key_text(&proto["key"]) else {
                continue;
            };
            let apps = seen_values(proto, "apps", "services", &mut truncated);
            if apps.is_empty() {
                continue;
            }
            let service = services
                .entry((number as u64, name.to_ascii_lowercase()))
                .or_default();
            for s in apps {
                let e = service.entry(s.value).or_insert((s.first_ms, s.last_ms));
                *e = (e.0.min(s.first_ms), e.1.max(s.last_ms));
            }
        }
    }
    let services: Vec<Value> = services
        .into_iter()
        .map(|((port, proto), apps)| {
            let mut apps: Vec<(String, (f64, f64))> = apps.into_iter().collect();
            apps.sort_by(|a, b| b.1 .1.total_cmp(&a.1 .1).then_with(|| a.0.cmp(&b.0)));
            let values: Vec<Value> = apps
                .into_iter()
                .map(|(app, (first, last))| {
                    json!({"app_proto": app, "first_seen": rfc3339(first), "last_seen": rfc3339(last)})
                })
                .collect();
            json!({"proto": proto, "port": port, "values": values})
        })
        .collect();
    host.insert("services_count".into(), json!(services.len()));
    host.insert("services".into(), Value::Array(services));

    let (server, client, dns, ptr) = (aggs(SERVER), aggs(CLIENT), aggs(DNS), aggs(PTR));
    let (server_tls, client_flows) = (aggs(SERVER_TLS), aggs(CLIENT_FLOWS));
    let t = &mut truncated;
    let hostnames = merged(
        vec![
            (
                seen_values(server, "http_hostname", "hostname", t),
                "http.hostname",
            ),
            (seen_values(server_tls, "tls_sni", "hostname", t), "tls.sni"),
            (seen_values(dns, "answer_names", "hostname", t), "dns"),
            (seen_values(dns, "query_name", "hostname", t), "dns"),
            (seen_values(dns, "query_names", "hostname", t), "dns"),
            (seen_values(ptr, "names", "hostname", t), "dns.ptr"),
        ],
        "host",
        host_name,
        true,
    );
    put_list(&mut host, "hostname", hostnames, t);
    let usernames = merged(
        vec![
            (seen_values(client, "smb_user", "username", t), "smb"),
            (seen_values(client, "krb5_cname", "username", t), "krb5"),
            (seen_values(client, "rdp_cookie", "username", t), "rdp"),
        ],
        "user",
        non_empty,
        false,
    );
    put_list(&mut host, "username", usernames, t);
    for (list, item, aggs, name) in [
        ("http.user_agent", "agent", client, "user_agent"),
        ("tls.sni", "sni", client, "tls_sni"),
        ("tls.subject", "subject", server_tls, "tls_subject"),
        ("tls.ja3", "hash", client, "tls_ja3"),
        ("tls.ja3s", "hash", server_tls, "tls_ja3s"),
        ("tls.ja4", "hash", client, "tls_ja4"),
        ("client_service", "name", client_flows, "app_proto"),
    ] {
        let one = merged(
            vec![(seen_values(aggs, name, list, t), "")],
            item,
            non_empty,
            false,
        );
        put_list(&mut host, list, one, t);
    }

    let alerts = aggs(ALERTS);
    let mut by_severity = Map::new();
    for name in ["high", "medium", "low", "informational"] {
        by_severity.insert(name.into(), json!(0));
    }
    for b in alerts["severity"]["buckets"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = severity_name(b["key"].as_f64().unwrap_or(0.0));
        let n = b["doc_count"].as_u64().unwrap_or(0);
        if let Some(v) = by_severity.get_mut(name) {
            *v = json!(v.as_u64().unwrap_or(0) + n);
        }
    }
    host.insert(
        "alerts".into(),
        json!({
            "count": found[ALERTS]["hits"]["total"]["value"].as_u64().unwrap_or(0),
            "by_severity": by_severity,
            "first_seen": date(&alerts["first_seen"]).map(rfc3339),
            "last_seen": date(&alerts["last_seen"]).map(rfc3339),
        }),
    );
    truncated.sort();
    host.insert("truncated".into(), json!(truncated));
    Some(json!({"ip": addr.canonical, "hits": hits, "host_id": host}))
}

impl Stella {
    /// Host ID for `addr` over the events the caller's tenancy reaches (`tenant` narrows it
    /// to one of them); `None` when none of them names the address.
    pub async fn host_id(
        &self,
        g: Grant<'_, EventsRead>,
        addr: &HostAddress,
        tenant: Option<&str>,
    ) -> Result<Option<Value>> {
        let mut filter = g.caller().tenant_filter();
        if let Some(t) = tenant {
            filter = filter.narrow_to(t);
        }
        let events = self.events().clone();
        let now = self.now_ms();
        let canonical = addr.canonical.clone();
        let bodies = requests(addr);
        let _slot = self.search_slot().await?;
        // From the rollups when every partition in reach has a complete one (see
        // `host_facts.rs`); otherwise from the events.
        let found = tokio::task::spawn_blocking(move || match events.rollup(&filter, &canonical) {
            Ok(Some(facts)) => Ok(crate::host_facts::answers(&facts)),
            Ok(None) => events.msearch(&filter, &bodies, now),
            Err(e) => Err(e),
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("host id task: {e}")))??;
        Ok(answer(addr, &found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_canonical_and_spelled_as_suricata_does() {
        let a = HostAddress::parse("10.0.0.101").unwrap();
        assert_eq!(a.canonical, "10.0.0.101");
        assert_eq!(a.spellings, ["10.0.0.101"]);
        assert_eq!(a.reverse, "101.0.0.10.in-addr.arpa");
        let b = HostAddress::parse("2001:DB8:0:0::1").unwrap();
        assert_eq!(b.canonical, "2001:db8::1");
        assert_eq!(
            b.spellings,
            ["2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001"]
        );
        assert!(b.reverse.starts_with("1.0.0.0.0.0.0.0."));
        assert!(b.reverse.ends_with(".8.b.d.0.1.0.0.2.ip6.arpa"));
        assert_eq!(b.reverse.split('.').count(), 32 + 2);
        // IPv4-mapped IPv6 is the IPv4 host.
        assert_eq!(
            HostAddress::parse("::ffff:192.0.2.1").unwrap().canonical,
            "192.0.2.1"
        );
        for bad in [
            "",
            "10.0.0",
            "10.0.0.256",
            "010.0.0.1",
            "10.0.0.1/24",
            "fe80::1%eth0",
            "example.com",
            " 10.0.0.1",
            "1:2:3:4:5:6:7:8:9",
        ] {
            assert!(HostAddress::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn severities_are_named_by_suricata_priority() {
        assert_eq!(severity_name(1.0), "high");
        assert_eq!(severity_name(2.0), "medium");
        assert_eq!(severity_name(3.0), "low");
        assert_eq!(severity_name(4.0), "informational");
        assert_eq!(severity_name(0.0), "informational");
    }

    #[test]
    fn host_names_are_merged_lower_case_and_never_addresses() {
        assert_eq!(
            host_name("WWW.Example.COM."),
            Some("www.example.com".into())
        );
        assert_eq!(host_name("10.0.0.1"), None);
        assert_eq!(host_name("[2001:db8::1]"), None);
        assert_eq!(host_name("1.0.0.10.in-addr.arpa"), None);
        let seen = |v: &str, first: f64, last: f64| Seen {
            value: v.into(),
            first_ms: first,
            last_ms: last,
        };
        let (items, cut) = merged(
            vec![
                (
                    vec![seen("A.test", 5.0, 9.0), seen("b.test", 1.0, 2.0)],
                    "dns",
                ),
                (vec![seen("a.test", 3.0, 4.0)], "http.hostname"),
            ],
            "host",
            host_name,
            true,
        );
        assert!(!cut);
        assert_eq!(items[0]["host"], "a.test");
        assert_eq!(items[0]["sources"], json!(["dns", "http.hostname"]));
        assert_eq!(items[0]["first_seen"], "1970-01-01T00:00:00.003Z");
        assert_eq!(items[0]["last_seen"], "1970-01-01T00:00:00.009Z");
        assert_eq!(items[1]["host"], "b.test");
    }

    #[test]
    fn nothing_found_is_none() {
        let addr = HostAddress::parse("192.0.2.1").unwrap();
        let empty = json!({"hits": {"total": {"value": 0}}, "aggregations": {}});
        assert!(answer(&addr, &vec![empty; QUESTIONS]).is_none());
        assert_eq!(requests(&addr).len(), QUESTIONS);
    }
}
