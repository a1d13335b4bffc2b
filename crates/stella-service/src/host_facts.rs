//! Host ID's rollup: the facts each Suricata EVE record states about the addresses it names,
//! kept per daily partition as events are indexed (`stella_search::rollup`), so host ID
//! answers from them (microseconds per partition) instead of aggregating every event that
//! names a busy host (tens of milliseconds for half a million).
//!
//! [`HostFacts::facts`] says, event by event, exactly what [`crate::host_id::requests`] asks
//! the index, and [`answers`] gives the rollup back in the shape of those requests' answers,
//! so [`crate::host_id::answer`] renders both the same way. A test holds the two paths to the
//! same answer over generated events (`tests::the_rollup_answers_as_the_events_do`); change
//! one, change the other, and bump [`VERSION`] (rollups of another version are not used:
//! host ID then asks the events, as it does for days indexed before rollups existed).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{json, Value};
use stella_search::{EntityFacts, EventView, Fact, Leaf, Rollup, Stat};

use crate::host_id::{
    HostAddress, ALERTS, CLIENT, CLIENT_FLOWS, CLIENT_RECORDS, DNS, MAX_APP_PROTOS, MAX_PROTOS,
    MAX_VALUES, PTR, QUESTIONS, SEEN, SERVER, SERVER_TLS, SERVICES,
};

/// The facts' meaning; bumped whenever an event yields other facts.
pub const VERSION: u32 = 1;

// The lists of a host's facts.
const L_SEEN: u8 = 0;
/// `port \0 proto \0 app_proto`.
const L_SERVICE: u8 = 1;
const L_HTTP_HOSTNAME: u8 = 2;
const L_SERVER_SNI: u8 = 3;
const L_SUBJECT: u8 = 4;
const L_JA3S: u8 = 5;
const L_AGENT: u8 = 6;
const L_CLIENT_SNI: u8 = 7;
const L_JA3: u8 = 8;
const L_JA4: u8 = 9;
const L_SMB_USER: u8 = 10;
const L_KRB5: u8 = 11;
const L_RDP: u8 = 12;
const L_CLIENT_APP: u8 = 13;
const L_DNS_ANSWER: u8 = 14;
const L_DNS_QUERY: u8 = 15;
const L_DNS_QUERIES: u8 = 16;
const L_PTR: u8 = 17;
const L_ALERT: u8 = 18;
const L_SEVERITY: u8 = 19;

/// Which aggregation of which of [`crate::host_id::requests`]' questions each plain list
/// answers.
const LISTS: [(usize, &str, u8); 16] = [
    (SERVER, "http_hostname", L_HTTP_HOSTNAME),
    (SERVER_TLS, "tls_sni", L_SERVER_SNI),
    (SERVER_TLS, "tls_subject", L_SUBJECT),
    (SERVER_TLS, "tls_ja3s", L_JA3S),
    (CLIENT, "user_agent", L_AGENT),
    (CLIENT, "tls_sni", L_CLIENT_SNI),
    (CLIENT, "tls_ja3", L_JA3),
    (CLIENT, "tls_ja4", L_JA4),
    (CLIENT, "smb_user", L_SMB_USER),
    (CLIENT, "krb5_cname", L_KRB5),
    (CLIENT, "rdp_cookie", L_RDP),
    (CLIENT_FLOWS, "app_proto", L_CLIENT_APP),
    (DNS, "answer_names", L_DNS_ANSWER),
    (DNS, "query_name", L_DNS_QUERY),
    (DNS, "query_names", L_DNS_QUERIES),
    (PTR, "names", L_PTR),
];

/// The hook registered with the event index.
pub struct HostFacts;

/// A value as the index's columns hold it, as text (numbers as JSON writes them), borrowed
/// from the event where it is a string.
fn text(l: Leaf<'_>) -> Option<Cow<'_, str>> {
    match l {
        Leaf::Str(s) => Some(Cow::Borrowed(s)),
        Leaf::I64(n) => Some(Cow::Owned(n.to_string())),
        Leaf::U64(n) => Some(Cow::Owned(n.to_string())),
        Leaf::F64(n) => serde_json::Number::from_f64(n).map(|n| Cow::Owned(n.to_string())),
        Leaf::Bool(b) => Some(Cow::Owned(b.to_string())),
    }
}

fn strings<'a>(ev: &EventView<'a>, path: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    ev.each(path, &mut |l| {
        if let Leaf::Str(s) = l {
            out.push(s)
        }
    });
    out
}

/// The hosts an address field names: values spelled as a lookup of the address would spell
/// them (its canonical text, or Suricata's uncompressed IPv6), as canonical text.
fn hosts_at<'a>(ev: &EventView<'a>, path: &str, out: &mut Vec<Cow<'a, str>>) {
    ev.each(path, &mut |l| {
        let Leaf::Str(s) = l else { return };
        // IPv4 as Rust reads it (four decimal octets, no leading zeros) is its own canonical
        // text; anything else that could be an address has a colon.
        if s.len() <= 15 && s.parse::<std::net::Ipv4Addr>().is_ok() {
            out.push(Cow::Borrowed(s));
        } else if s.contains(':') {
            if let Some(a) = HostAddress::parse(s).filter(|a| a.spelled(s)) {
                out.push(Cow::Owned(a.canonical));
            }
        }
    });
}

/// The hosts PTR answers name as their subject (`…in-addr.arpa`, `…ip6.arpa`).
fn ptr_subjects<'a>(ev: &EventView<'a>) -> Vec<Cow<'a, str>> {
    let mut out = Vec::new();
    ev.each("dns.answers.rrname", &mut |l| {
        if let Leaf::Str(name) = l {
            if name.ends_with(".arpa") {
                if let Some(a) = crate::host_id::reverse_name_host(name) {
                    out.push(Cow::Owned(a.canonical));
                }
            }
        }
    });
    out
}

/// Pushes `(host, list, value)` for every host.
fn put<'a>(out: &mut Vec<Fact<'a>>, hosts: &[Cow<'a, str>], list: u8, value: Cow<'a, str>) {
    for h in hosts {
        out.push(Fact {
            entity: h.clone(),
            list,
            value: value.clone(),
        });
    }
}

/// Pushes a fact in `list` for every host and every value at `path`.
fn each<'a>(
    ev: &EventView<'a>,
    out: &mut Vec<Fact<'a>>,
    hosts: &[Cow<'a, str>],
    list: u8,
    path: &str,
) {
    if hosts.is_empty() {
        return;
    }
    ev.each(path, &mut |l| {
        if let Some(v) = text(l) {
            put(out, hosts, list, v);
        }
    });
}

impl Rollup for HostFacts {
    fn version(&self) -> u32 {
        VERSION
    }

    fn facts<'a>(&self, ev: &EventView<'a>, out: &mut Vec<Fact<'a>>) {
        let (mut src, mut dest, mut answered) = (Vec::new(), Vec::new(), Vec::new());
        hosts_at(ev, "src_ip", &mut src);
        hosts_at(ev, "dest_ip", &mut dest);
        hosts_at(ev, "dns.answers.rdata", &mut answered);
        hosts_at(ev, "dns.grouped.A", &mut answered);
        hosts_at(ev, "dns.grouped.AAAA", &mut answered);
        let ptr = ptr_subjects(ev);
        let none = Cow::Borrowed("");
        for hosts in [&src, &dest, &answered, &ptr] {
            put(out, hosts, L_SEEN, none.clone());
        }
        let kind = ev.str("event_type").unwrap_or("");
        match kind {
            "flow" => {
                let mut app = false;
                ev.each("app_proto", &mut |_| app = true);
                if app && !dest.is_empty() {
                    let mut ports = Vec::new();
                    ev.each("dest_port", &mut |l| {
                        if !matches!(l, Leaf::Str(_) | Leaf::Bool(_)) {
                            ports.extend(text(l));
                        }
                    });
                    for port in &ports {
                        for proto in strings(ev, "proto") {
                            for app in strings(ev, "app_proto") {
                                let service = Cow::Owned(format!("{port}\0{proto}\0{app}"));
                                put(out, &dest, L_SERVICE, service);
                            }
                        }
                    }
                }
                each(ev, out, &src, L_CLIENT_APP, "app_proto");
            }
            "http" => each(ev, out, &dest, L_HTTP_HOSTNAME, "http.hostname"),
            "tls" => {
                each(ev, out, &dest, L_SERVER_SNI, "tls.sni");
                each(ev, out, &dest, L_SUBJECT, "tls.subject");
                each(ev, out, &dest, L_JA3S, "tls.ja3s.hash");
            }
            "alert" => {
                for hosts in [&src, &dest] {
                    put(out, hosts, L_ALERT, none.clone());
                    each(ev, out, hosts, L_SEVERITY, "alert.severity");
                }
            }
            _ => {}
        }
        if CLIENT_RECORDS.contains(&kind) {
            for (list, path) in [
                (L_AGENT, "http.http_user_agent"),
                (L_CLIENT_SNI, "tls.sni"),
                (L_JA3, "tls.ja3.hash"),
                (L_JA4, "tls.ja4"),
                (L_SMB_USER, "smb.ntlmssp.user"),
                (L_KRB5, "krb5.cname"),
                (L_RDP, "rdp.cookie"),
            ] {
                each(ev, out, &src, list, path);
            }
        }
        each(ev, out, &answered, L_DNS_ANSWER, "dns.answers.rrname");
        each(ev, out, &answered, L_DNS_QUERY, "dns.rrname");
        each(ev, out, &answered, L_DNS_QUERIES, "dns.queries.rrname");
        each(ev, out, &ptr, L_PTR, "dns.answers.rdata");
    }
}

fn number(text: &str) -> Value {
    serde_json::from_str::<serde_json::Number>(text)
        .map(Value::Number)
        .unwrap_or_else(|_| json!(text))
}

fn dated(first_ms: i64, last_ms: i64) -> (Value, Value) {
    (json!({"value": first_ms}), json!({"value": last_ms}))
}

/// Values newest first (ties by value), at most `size`, as a terms aggregation answers them;
/// `sum_other_doc_count` is non-zero when values were left out here or when the rollup was.
fn terms<'a>(
    values: impl Iterator<Item = (&'a str, &'a Stat)>,
    size: usize,
    full: bool,
    key: impl Fn(&str) -> Value,
) -> Value {
    let mut items: Vec<(&str, &Stat)> = values.collect();
    items.sort_by(|a, b| b.1.last_ms.cmp(&a.1.last_ms).then_with(|| a.0.cmp(b.0)));
    let other = full || items.len() > size;
    items.truncate(size);
    let buckets: Vec<Value> = items
        .into_iter()
        .map(|(v, s)| {
            let (first, last) = dated(s.first_ms, s.last_ms);
            json!({"key": key(v), "doc_count": s.count, "first_seen": first, "last_seen": last})
        })
        .collect();
    json!({"buckets": buckets, "sum_other_doc_count": u64::from(other)})
}

fn list(facts: &EntityFacts, id: u8) -> Value {
    terms(facts.list(id), MAX_VALUES, facts.is_full(id), |v| json!(v))
}

fn searched(count: u64, aggregations: Value) -> Value {
    json!({"hits": {"total": {"value": count}}, "aggregations": aggregations})
}

/// The rollup of one host as the answers to [`crate::host_id::requests`].
pub fn answers(facts: &EntityFacts) -> Vec<Value> {
    let mut out = vec![Value::Null; QUESTIONS];
    let seen = facts.list(L_SEEN).next().map(|(_, s)| *s);
    out[SEEN] = match seen {
        Some(s) => {
            let (first, last) = dated(s.first_ms, s.last_ms);
            searched(s.count, json!({"first_seen": first, "last_seen": last}))
        }
        None => searched(0, json!({})),
    };

    // port → proto → app, each with its own stats.
    type Apps<'a> = BTreeMap<&'a str, Stat>;
    let mut ports: BTreeMap<&str, BTreeMap<&str, Apps<'_>>> = BTreeMap::new();
    for (v, s) in facts.list(L_SERVICE) {
        let mut parts = v.splitn(3, '\0');
        if let (Some(port), Some(proto), Some(app)) = (parts.next(), parts.next(), parts.next()) {
            ports
                .entry(port)
                .or_default()
                .entry(proto)
                .or_default()
                .insert(app, *s);
        }
    }
    let mut port_buckets: Vec<(i64, &str, Value)> = ports
        .iter()
        .map(|(port, protos)| {
            let last = protos
                .values()
                .flat_map(|a| a.values().map(|s| s.last_ms))
                .max()
                .unwrap_or(0);
            let mut by_count: Vec<(u64, &str, &Apps<'_>)> = protos
                .iter()
                .map(|(p, apps)| (apps.values().map(|s| s.count).sum(), *p, apps))
                .collect();
            by_count.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
            let other = by_count.len() > MAX_PROTOS;
            by_count.truncate(MAX_PROTOS);
            let protos: Vec<Value> = by_count
                .into_iter()
                .map(|(count, proto, apps)| {
                    let apps = terms(
                        apps.iter().map(|(a, s)| (*a, s)),
                        MAX_APP_PROTOS,
                        false,
                        |v| json!(v),
                    );
                    json!({"key": proto, "doc_count": count, "apps": apps})
                })
                .collect();
            let bucket = json!({
                "key": number(port),
                "last_seen": {"value": last},
                "protos": {"buckets": protos, "sum_other_doc_count": u64::from(other)},
            });
            (last, *port, bucket)
        })
        .collect();
    port_buckets.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let other = facts.is_full(L_SERVICE) || port_buckets.len() > MAX_VALUES;
    port_buckets.truncate(MAX_VALUES);
    let buckets: Vec<Value> = port_buckets.into_iter().map(|(_, _, b)| b).collect();
    out[SERVICES] = searched(
        0,
        json!({"ports": {"buckets": buckets, "sum_other_doc_count": u64::from(other)}}),
    );

    for (question, _, _) in LISTS {
        out[question] = searched(0, json!({}));
    }
    for (question, agg, id) in LISTS {
        out[question]["aggregations"][agg] = list(facts, id);
    }
    let alert = facts.list(L_ALERT).next().map(|(_, s)| *s);
    out[ALERTS] = searched(
        alert.map_or(0, |s| s.count),
        json!({
            "severity": terms(facts.list(L_SEVERITY), usize::MAX, false, number),
            "first_seen": {"value": alert.map(|s| s.first_ms)},
            "last_seen": {"value": alert.map(|s| s.last_ms)},
        }),
    );
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{json, Value};
    use stella_core::TenantFilter;
    use stella_search::{EventIndex, IndexOptions, RollupHook};

    use super::*;
    use crate::host_id::{answer, requests};

    const T0: i64 = 1_796_119_200_000; // 2026-12-01T10:00:00Z
    const TENANT: &str = "acme";

    /// A small, fixed pseudo-random source (xorshift), so the corpus is the same every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[(self.next() % from.len() as u64) as usize]
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    const HOSTS: [&str; 9] = [
        "10.0.0.1",
        "10.0.0.2",
        "10.0.0.3",
        "192.0.2.7",
        "2001:db8::10",
        "2001:0db8:0000:0000:0000:0000:0000:0010",
        "2001:db8::20",
        "::ffff:10.0.0.1",
        "10.0.0.300",
    ];

    fn eve(rng: &mut Rng, ts_ms: i64) -> Value {
        let time = stella_search::time::format_ms(ts_ms);
        // One busy client, so its lists fill past what an answer shows.
        let src = match rng.below(3) {
            0 => "10.0.0.1",
            _ => rng.pick(&HOSTS),
        };
        let dest = rng.pick(&HOSTS);
        let kinds = [
            "flow", "flow", "http", "tls", "dns", "dns", "alert", "smb", "krb5", "rdp", "fileinfo",
            "anomaly",
        ];
        let kind = rng.pick(&kinds);
        let mut e = json!({"timestamp": time, "event_type": kind, "src_ip": src, "dest_ip": dest,
                           "src_port": 40000 + rng.below(1000), "dest_port": rng.pick(&["22", "53", "80", "443", "8443"]).parse::<u64>().unwrap(),
                           "proto": rng.pick(&["TCP", "UDP", "tcp"])});
        let agent = format!("agent/{}", rng.below(400));
        let name = rng.pick(&[
            "www.acme.test",
            "WWW.Acme.Test.",
            "db.acme.test",
            "10.0.0.2",
            "[2001:db8::10]",
            "",
        ]);
        match kind {
            "flow" | "fileinfo" | "anomaly" => {
                if rng.below(4) != 0 {
                    e["app_proto"] = json!(rng.pick(&["http", "tls", "dns", "failed", "smb"]));
                }
                if kind == "fileinfo" {
                    e["http"] = json!({"hostname": name, "http_user_agent": agent});
                }
            }
            "http" => {
                e["http"] = json!({"hostname": name, "http_user_agent": agent, "url": "/"});
                if rng.below(10) == 0 {
                    e["http"]["http_user_agent"] = json!("x".repeat(300));
                }
            }
            "tls" => {
                e["tls"] = json!({"sni": name, "subject": format!("CN={name}"),
                                  "ja3": {"hash": format!("ja3-{}", rng.below(5))},
                                  "ja3s": {"hash": format!("ja3s-{}", rng.below(5))},
                                  "ja4": format!("t13d_{}", rng.below(3))});
            }
            "dns" => {
                let answer = rng.pick(&HOSTS);
                let mut dns = json!({"version": 2, "type": "answer", "rrname": name, "rrtype": "A",
                                     "answers": [{"rrname": name, "rrtype": "CNAME", "rdata": "srv.acme.test"},
                                                 {"rrname": "srv.acme.test", "rrtype": "A", "rdata": answer}]});
                match rng.below(4) {
                    0 => dns["grouped"] = json!({"A": [answer], "AAAA": ["2001:db8::20"]}),
                    1 => {
                        let subject = rng.pick(&[
                            "1.0.0.10.in-addr.arpa",
                            "7.2.0.192.in-addr.arpa",
                            "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
                            "01.0.0.10.in-addr.arpa",
                        ]);
                        dns = json!({"version": 3, "type": "answer",
                                     "queries": [{"rrname": subject, "rrtype": "PTR"}],
                                     "answers": [{"rrname": subject, "rrtype": "PTR", "rdata": format!("ptr{}.acme.test", rng.below(3))}]});
                    }
                    _ => {}
                }
                e["dns"] = dns;
            }
            "alert" => {
                e["alert"] = match rng.below(6) {
                    0 => json!({"signature": "no severity"}),
                    n => json!({"severity": n, "signature_id": 1000 + n}),
                };
            }
            "smb" => e["smb"] = json!({"ntlmssp": {"user": rng.pick(&["alice", "bob", ""])}}),
            "krb5" => e["krb5"] = json!({"cname": rng.pick(&["carol", "<empty>"])}),
            _ => e["rdp"] = json!({"cookie": rng.pick(&["dave", "erin"])}),
        }
        e
    }

    fn opts(hook: bool) -> IndexOptions {
        IndexOptions {
            commit_interval_ms: 0,
            indexing_threads: 1,
            writer_memory_bytes: 20_000_000,
            rollup: hook.then(|| RollupHook(Arc::new(HostFacts))),
            ..IndexOptions::default()
        }
    }

    fn both(index: &EventIndex, ip: &str) -> (Option<Value>, Option<Value>) {
        let addr = HostAddress::parse(ip).unwrap();
        let all = TenantFilter::All;
        let found = index.msearch(&all, &requests(&addr), T0).unwrap();
        let facts = index.rollup(&all, &addr.canonical).unwrap();
        let rolled = facts.map(|f| answer(&addr, &answers(&f)));
        (answer(&addr, &found), rolled.flatten())
    }

    /// Where two answers differ, by path.
    fn diff(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                    diff(
                        &x.get(k).cloned().unwrap_or(Value::Null),
                        &y.get(k).cloned().unwrap_or(Value::Null),
                        &format!("{at}.{k}"),
                        out,
                    );
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (x, y)) in x.iter().zip(y).enumerate() {
                    diff(x, y, &format!("{at}[{i}]"), out);
                }
            }
            _ if a != b => out.push(format!("{at}: {a} vs {b}")),
            _ => {}
        }
    }

    /// The host's answer is the same from the rollups as from the events (both may be 404).
    fn assert_same(index: &EventIndex, ip: &str) {
        let (events, rolled) = both(index, ip);
        let mut out = Vec::new();
        diff(&json!(rolled), &json!(events), "", &mut out);
        assert!(
            out.is_empty(),
            "host {ip}: rollup vs events:\n{}",
            out.join("\n")
        );
    }

    #[test]
    fn the_rollup_answers_as_the_events_do() {
        let dir = tempfile::tempdir().unwrap();
        let index = EventIndex::open(dir.path(), opts(true)).unwrap();
        let mut rng = Rng(0x5eed);
        // Three days, in several commits (several frames per day), then reopened.
        let mut ts = T0 - 2 * 86_400_000;
        for _ in 0..12 {
            let batch: Vec<Value> = (0..400)
                .map(|_| {
                    ts += 1 + rng.below(1_500) as i64 * 100;
                    eve(&mut rng, ts)
                })
                .collect();
            index.ingest(TENANT, batch, T0).unwrap();
            index.refresh().unwrap();
        }
        let check = |index: &EventIndex| {
            for ip in HOSTS
                .iter()
                .copied()
                .chain(["10.0.0.1", "203.0.113.9", "2001:db8::20"])
            {
                let Some(addr) = HostAddress::parse(ip) else {
                    continue;
                };
                assert_same(index, &addr.canonical);
            }
        };
        check(&index);
        let some = both(&index, "10.0.0.1").0.unwrap();
        assert!(some["hits"].as_u64().unwrap() > 100, "{some}");
        assert!(
            some["host_id"]["truncated"] == json!(["http.user_agent"]),
            "{some}"
        );
        assert!(
            some["host_id"]["services_count"].as_u64().unwrap() > 3,
            "{some}"
        );
        index.close().unwrap();
        drop(index);
        let index = EventIndex::open(dir.path(), opts(true)).unwrap();
        check(&index);
    }

    /// Ingests `batches` of 400 generated events over three days, committing after each but
    /// the last when `commit_last` is false.
    fn fill(index: &EventIndex, rng: &mut Rng, batches: usize, commit_last: bool) {
        let mut ts = T0 - 2 * 86_400_000;
        for b in 0..batches {
            let batch: Vec<Value> = (0..400)
                .map(|_| {
                    ts += 1 + rng.below(1_500) as i64 * 100;
                    eve(rng, ts)
                })
                .collect();
            index.ingest(TENANT, batch, T0).unwrap();
            if b + 1 < batches || commit_last {
                index.refresh().unwrap();
            }
        }
    }

    /// Every host answers the same from the rollups as from the events, and from the rollups.
    fn same_both_ways(index: &EventIndex) {
        for ip in [
            "10.0.0.1",
            "10.0.0.2",
            "192.0.2.7",
            "2001:db8::10",
            "2001:db8::20",
        ] {
            assert!(
                index.rollup(&TenantFilter::All, ip).unwrap().is_some(),
                "{ip}: rollup incomplete"
            );
            assert_same(index, ip);
        }
    }

    #[test]
    fn a_backup_taken_while_running_keeps_the_rollups() {
        let src = tempfile::tempdir().unwrap();
        let index = EventIndex::open(src.path(), opts(true)).unwrap();
        fill(&index, &mut Rng(12), 3, false);
        let dst = tempfile::tempdir().unwrap();
        let copied = stella_search::backup::copy_live(src.path(), dst.path()).unwrap();
        assert!(
            copied.files.iter().any(|f| f.ends_with("ROLLUP")),
            "{:?}",
            copied.files
        );
        index.close().unwrap();
        drop(index);
        let restored = EventIndex::open(dst.path(), opts(true)).unwrap();
        same_both_ways(&restored);
    }

    #[test]
    fn days_indexed_without_the_rollup_are_answered_from_the_events() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng(7);
        let index = EventIndex::open(dir.path(), opts(false)).unwrap();
        index
            .ingest(
                TENANT,
                (0..50)
                    .map(|i| eve(&mut rng, T0 - 86_400_000 + i))
                    .collect(),
                T0,
            )
            .unwrap();
        index.close().unwrap();
        drop(index);
        let index = EventIndex::open(dir.path(), opts(true)).unwrap();
        index
            .ingest(TENANT, (0..50).map(|i| eve(&mut rng, T0 + i)).collect(), T0)
            .unwrap();
        index.refresh().unwrap();
        assert!(index
            .rollup(&TenantFilter::All, "10.0.0.1")
            .unwrap()
            .is_none());
        let today = TenantFilter::All;
        let _ = today;
    }
}
