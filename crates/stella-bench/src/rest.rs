//! The probe-management REST API's figures (issue 14): probes and templates created at
//! `/rest/appliances/…`, list pages and retrieves timed per kind, Suricata EVE events for host
//! ID ingested and looked up. Rules are uploaded by `bench/rest.sh` (a `.tar.gz` it builds).

use crate::{report, Client};
use anyhow::{bail, Context, Result};
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TEMPLATES: &str = "/rest/appliances/stamus_appliance_template/";
const STAMUS: &str = "/rest/appliances/stamus_appliance/";
const SURICATA: &str = "/rest/appliances/suricata_appliance/";
const APPLIANCES: &str = "/rest/appliances/appliances/";
const RULES: &str = "/rest/rules/rule/";

/// Sites probes are named after (searchable in `name` and `descr`).
const SITES: &[&str] = &[
    "paris", "lyon", "berlin", "madrid", "london", "newyork", "austin", "tokyo",
];

/// Server CPU (user + system, clock ticks of 10 ms) of `pid`, when given.
pub fn cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    // Fields after the command's closing parenthesis; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// `count` of a DRF list.
async fn count(c: &Client, path: &str) -> Result<u64> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (v, _) = c.get(&format!("{path}{sep}page_size=1")).await?;
    v["count"].as_u64().context("no count")
}

/// Every pk of a DRF list, 1,000 a page.
async fn pks(c: &Client, path: &str) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for page in 1.. {
        let (v, _) = c.get(&format!("{path}?page_size=1000&page={page}")).await?;
        let results = v["results"].as_array().context("no results")?;
        out.extend(results.iter().filter_map(|r| r["pk"].as_i64()));
        if v["next"].is_null() {
            break;
        }
    }
    Ok(out)
}

/// POSTs `bodies` to `path`, `concurrency` at a time; answers the created objects.
async fn create_all(
    c: &Client,
    path: &str,
    bodies: Vec<Value>,
    concurrency: usize,
) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(bodies.len());
    let mut s = futures::stream::iter(bodies)
        .map(|b| async move { c.post(path, &b).await })
        .buffered(concurrency.max(1));
    while let Some(r) = s.next().await {
        out.push(r?.0);
    }
    Ok(out)
}

/// Creates templates (roots and children of them), Stamus probes (two thirds inheriting from
/// a child template, so reads resolve two levels) and Suricata probes in `tenant`, up to the
/// given counts.
pub async fn fill(
    c: &Client,
    tenant: &str,
    stamus: usize,
    suricata: usize,
    templates: usize,
    concurrency: usize,
) -> Result<()> {
    let t = Instant::now();
    let have = count(c, TEMPLATES).await? as usize;
    if have < templates {
        let roots = (templates / 4).max(1);
        let methods = ["af-packet", "pcap", "netmap", "pfring", "dpdk"];
        let bodies: Vec<Value> = (0..roots)
            .map(|i| {
                json!({"tenant_id": tenant, "name": format!("base-{i:02}"), "descr": format!("Baseline {i}"),
                       "capture_method": methods[i % methods.len()], "log_retention_days": 30 + i,
                       "nsm_enabled": i % 2 == 0, "management_interface": "mgmt0",
                       "bpf_filter": format!("not port {}", 2000 + i),
                       "interfaces": [{"name": "eth0", "active": true}, {"name": "eth1", "active": i % 3 != 0}],
                       "protocols": [{"name": "http", "active": true}, {"name": "tls", "active": true}, {"name": "dns", "active": true}]})
            })
            .collect();
        let roots = create_all(c, TEMPLATES, bodies, concurrency).await?;
        let bodies: Vec<Value> = (0..templates.saturating_sub(roots.len()))
            .map(|i| {
                let site = SITES[i % SITES.len()];
                json!({"tenant_id": tenant, "name": format!("site-{site}-{i:02}"), "descr": format!("Probes of {site}"),
                       "parent_tmpl": roots[i % roots.len()]["pk"], "bpf_filter": format!("not host 10.99.{i}.1"),
                       "overriden_fields": ["bpf_filter"]})
            })
            .collect();
        create_all(c, TEMPLATES, bodies, concurrency).await?;
    }
    // Children (which inherit from a root) are the ones probes name.
    let (tl, _) = c
        .get(&format!("{TEMPLATES}?page_size=1000&ordering=id"))
        .await?;
    let children: Vec<i64> = tl["results"]
        .as_array()
        .context("no templates")?
        .iter()
        .filter(|t| !t["parent_tmpl"].is_null())
        .filter_map(|t| t["pk"].as_i64())
        .collect();
    let have = count(c, STAMUS).await? as usize;
    let bodies: Vec<Value> = (have..stamus)
        .map(|i| {
            let site = SITES[i % SITES.len()];
            let mut b = json!({"tenant_id": tenant, "name": format!("probe-{site}-{i:05}"),
                "descr": format!("Stamus probe in {site}, rack {}", i % 40),
                "ip_address": format!("10.{}.{}.{}", 100 + i / 62500, i / 250 % 250, i % 250 + 1),
                "capture_method": "af-packet", "log_retention_days": 14,
                "interfaces": [{"name": "eth0", "active": true}, {"name": "eth1", "active": true}]});
            if i % 3 != 0 && !children.is_empty() {
                b["parent_tmpl"] = json!(children[i % children.len()]);
                if i % 3 == 1 {
                    b["overriden_fields"] = json!(["log_retention_days"]);
                }
            }
            b
        })
        .collect();
    let n_stamus = bodies.len();
    create_all(c, STAMUS, bodies, concurrency).await?;
    let have = count(c, SURICATA).await? as usize;
    let bodies: Vec<Value> = (have..suricata)
        .map(|i| {
            let site = SITES[i % SITES.len()];
            json!({"tenant_id": tenant, "name": format!("suricata-{site}-{i:05}"),
                   "description": format!("Suricata sensor in {site}"),
                   "ipaddress": format!("10.{}.{}.{}", 150 + i / 62500, i / 250 % 250, i % 250 + 1)})
        })
        .collect();
    let n_suricata = bodies.len();
    create_all(c, SURICATA, bodies, concurrency).await?;
    println!(
        "created {n_stamus} Stamus and {n_suricata} Suricata probes in {:.1} s; now {} templates, {} Stamus, {} Suricata, {} appliances, {} rules",
        t.elapsed().as_secs_f64(),
        count(c, TEMPLATES).await?,
        count(c, STAMUS).await?,
        count(c, SURICATA).await?,
        count(c, APPLIANCES).await?,
        count(c, RULES).await?,
    );
    Ok(())
}

/// Runs `paths` with `concurrency` in flight; answers the latencies. Each answer must be
/// `expect` (200 or 404).
async fn timed(
    c: &Client,
    paths: &[String],
    concurrency: usize,
    expect: u16,
) -> Result<(Vec<Duration>, Vec<Value>)> {
    let mut s = futures::stream::iter(paths.iter().cloned())
        .map(|p| async move {
            let t = Instant::now();
            let r = c
                .http
                .get(format!("{}{p}", c.base))
                .bearer_auth(&c.jwt)
                .send()
                .await?;
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            let d = t.elapsed();
            if status != expect {
                bail!("{p}: {status} (expected {expect}): {v}");
            }
            Ok::<_, anyhow::Error>((d, v))
        })
        .buffer_unordered(concurrency.max(1));
    let (mut lat, mut answers) = (Vec::new(), Vec::new());
    while let Some(r) = s.next().await {
        let (d, v) = r?;
        lat.push(d);
        answers.push(v);
    }
    Ok((lat, answers))
}

/// Times one kind of request and prints its percentiles and server CPU per request.
async fn run_kind(
    c: &Client,
    name: &str,
    paths: Vec<String>,
    concurrency: usize,
    pid: Option<u32>,
    expect: u16,
) -> Result<Vec<Value>> {
    // A first request outside the timing (the first page of a list counts it).
    timed(c, &paths[..1], 1, expect).await?;
    let c0 = cpu_ticks(pid);
    let t = Instant::now();
    let (lat, answers) = timed(c, &paths, concurrency, expect).await?;
    let secs = t.elapsed().as_secs_f64();
    let cpu = match (c0, cpu_ticks(pid)) {
        (Some(a), Some(b)) => format!(
            ", server CPU {:.2} ms a request",
            (b - a) as f64 * 10.0 / lat.len() as f64
        ),
        _ => String::new(),
    };
    print!("{:.0} req/s{cpu}; ", lat.len() as f64 / secs);
    report(name, lat);
    Ok(answers)
}

fn pages(rng: &mut StdRng, n: usize, total: u64, per_page: u64) -> Vec<u64> {
    let last = total.div_ceil(per_page).max(1);
    (0..n).map(|_| rng.gen_range(1..=last)).collect()
}

/// Lists and retrieves of probes, appliances and rules, `requests` of each kind.
pub async fn read(
    c: &Client,
    requests: usize,
    concurrency: usize,
    pid: Option<u32>,
    tenant: Option<&str>,
) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(14);
    let n_stamus = count(c, STAMUS).await?;
    let n_app = count(c, APPLIANCES).await?;
    let n_rules = count(c, RULES).await?;
    println!("{n_stamus} Stamus probes, {n_app} appliances, {n_rules} rules; {requests} requests a kind, {concurrency} in flight");
    let stamus_pks = pks(c, STAMUS).await?;
    let suricata_pks = pks(c, SURICATA).await?;
    let app_pks: Vec<i64> = stamus_pks.iter().chain(&suricata_pks).copied().collect();
    let (tl, _) = c.get(&format!("{TEMPLATES}?page_size=1000")).await?;
    let templates = tl["results"].as_array().context("no templates")?;
    let template_pks: Vec<i64> = templates.iter().filter_map(|t| t["pk"].as_i64()).collect();
    // The templates probes name (`rest-fill` points them at templates with a parent).
    let child_pks: Vec<i64> = templates
        .iter()
        .filter(|t| !t["parent_tmpl"].is_null())
        .filter_map(|t| t["pk"].as_i64())
        .collect();
    // Rules: pks, sids and classtypes from a few pages (walking 50,000 rules is not needed).
    let mut rule_pks = Vec::new();
    let mut sids = Vec::new();
    let mut classtypes: Vec<String> = Vec::new();
    for page in pages(&mut rng, 10, n_rules, 1000) {
        let (v, _) = c
            .get(&format!("{RULES}?page_size=1000&page={page}"))
            .await?;
        for r in v["results"].as_array().into_iter().flatten() {
            rule_pks.extend(r["pk"].as_i64());
            sids.extend(r["sid"].as_i64());
            if let Some(ct) = r["classtype"].as_str() {
                if !classtypes.iter().any(|c| c == ct) {
                    classtypes.push(ct.to_owned());
                }
            }
        }
    }
    if stamus_pks.is_empty()
        || suricata_pks.is_empty()
        || rule_pks.is_empty()
        || classtypes.is_empty()
    {
        bail!("fill probes and rules first");
    }
    let n = requests;
    let pick = |rng: &mut StdRng, v: &[i64]| v[rng.gen_range(0..v.len())];
    let mut kinds: Vec<(String, Vec<String>)> = Vec::new();
    let mut list = |name: &str, base: &str, extra: &str, total: u64, rng: &mut StdRng| {
        let paths = pages(rng, n, total, 30)
            .into_iter()
            .map(|p| format!("{base}?page={p}{extra}"))
            .collect();
        kinds.push((format!("list {name}"), paths));
    };
    list("stamus_appliance ?page=N", STAMUS, "", n_stamus, &mut rng);
    list(
        "stamus_appliance ?ordering=-name&page=N",
        STAMUS,
        "&ordering=-name",
        n_stamus,
        &mut rng,
    );
    list("appliances ?page=N", APPLIANCES, "", n_app, &mut rng);
    list(
        "appliances ?ordering=ip_address&page=N",
        APPLIANCES,
        "&ordering=ip_address",
        n_app,
        &mut rng,
    );
    list(
        "appliances ?ordering=-name&page=N",
        APPLIANCES,
        "&ordering=-name",
        n_app,
        &mut rng,
    );
    list("rules/rule ?page=N", RULES, "", n_rules, &mut rng);
    list(
        "rules/rule ?ordering=-sid&page=N",
        RULES,
        "&ordering=-sid",
        n_rules,
        &mut rng,
    );
    list(
        "rules/rule ?ordering=msg&page=N",
        RULES,
        "&ordering=msg",
        n_rules,
        &mut rng,
    );
    // Searches: a site (an eighth of the probes), one probe's number; a category's word in
    // rule messages (a thirtieth of them), a sid's digits; first pages, as a user searching.
    let search = |name: &str, make: &dyn Fn(&mut StdRng) -> String, rng: &mut StdRng| {
        (
            name.to_owned(),
            (0..n).map(|_| make(rng)).collect::<Vec<_>>(),
        )
    };
    kinds.push(search(
        "list stamus_appliance ?search=<site>",
        &|r| {
            format!(
                "{STAMUS}?search={}&page={}",
                SITES[r.gen_range(0..SITES.len())],
                r.gen_range(1..=3)
            )
        },
        &mut rng,
    ));
    kinds.push(search(
        "list stamus_appliance ?search=<probe number>",
        &|r| format!("{STAMUS}?search={:05}", r.gen_range(0..n_stamus.max(1))),
        &mut rng,
    ));
    kinds.push(search(
        "list appliances ?search=<site>",
        &|r| {
            format!(
                "{APPLIANCES}?search={}&page={}",
                SITES[r.gen_range(0..SITES.len())],
                r.gen_range(1..=3)
            )
        },
        &mut rng,
    ));
    kinds.push(search(
        "list rules/rule ?search=<category word>",
        &|r| {
            format!(
                "{RULES}?search=CAT{:02}&page={}",
                r.gen_range(0..30),
                r.gen_range(1..=3)
            )
        },
        &mut rng,
    ));
    let sid_of = sids.clone();
    kinds.push(search(
        "list rules/rule ?sid=<sid>",
        &|r| format!("{RULES}?sid={}", sid_of[r.gen_range(0..sid_of.len())]),
        &mut rng,
    ));
    let ct = classtypes.clone();
    kinds.push(search(
        "list rules/rule ?classtype=<classtype>&page=1..50",
        &|r| {
            format!(
                "{RULES}?classtype={}&page={}",
                ct[r.gen_range(0..ct.len())],
                r.gen_range(1..=50)
            )
        },
        &mut rng,
    ));
    let tp = child_pks.clone();
    kinds.push(search(
        "list stamus_appliance ?parent_tmpl=<template>",
        &|r| format!("{STAMUS}?parent_tmpl={}", tp[r.gen_range(0..tp.len())]),
        &mut rng,
    ));
    for (name, path, ids) in [
        (
            "retrieve stamus_appliance/<pk>/ (inheritance resolved)",
            STAMUS,
            &stamus_pks,
        ),
        (
            "retrieve stamus_appliance_template/<pk>/",
            TEMPLATES,
            &template_pks,
        ),
        ("retrieve suricata_appliance/<pk>/", SURICATA, &suricata_pks),
        ("retrieve appliances/<pk>/", APPLIANCES, &app_pks),
        ("retrieve rules/rule/<pk>/", RULES, &rule_pks),
    ] {
        let paths = (0..n)
            .map(|_| format!("{path}{}/", pick(&mut rng, ids)))
            .collect();
        kinds.push((name.to_owned(), paths));
    }
    // As one tenant's user lists (the lists narrowed to the tenant: `tenant_id = ?` in SQL),
    // rather than as root across tenants.
    if let Some(t) = tenant {
        for (name, paths) in kinds.iter_mut().filter(|(n, _)| n.starts_with("list")) {
            name.push_str(" [tenant_id=T]");
            for p in paths.iter_mut() {
                p.push_str(&format!("&tenant_id={t}"));
            }
        }
    }
    let mut answers_checked = 0;
    for (name, paths) in kinds {
        let answers = run_kind(c, &name, paths, concurrency, pid, 200).await?;
        // Every list answer is a DRF page; every retrieve an object.
        for a in &answers {
            if a.get("results").is_none() && a.get("pk").is_none() {
                bail!("{name}: unexpected answer {a}");
            }
            answers_checked += 1;
        }
    }
    println!("{answers_checked} answers checked");
    Ok(())
}

// ---- Host ID over Suricata EVE events ----

/// The synthetic network: `hosts` addresses, five sixths clients (10.1.x.y), one sixth
/// servers (10.2.x.y, the first two DNS resolvers); servers are reached with Zipf-like
/// popularity (server j about 1/(j+1) as often as server 0), clients uniformly.
#[derive(Clone, Copy)]
pub struct Net {
    clients: usize,
    servers: usize,
}

impl Net {
    pub fn new(hosts: usize) -> Self {
        let servers = (hosts / 6).max(4);
        Self {
            clients: hosts.saturating_sub(servers).max(1),
            servers,
        }
    }
    fn client_ip(i: usize) -> String {
        format!("10.1.{}.{}", i / 250, i % 250 + 1)
    }
    fn server_ip(j: usize) -> String {
        format!("10.2.{}.{}", j / 250, j % 250 + 1)
    }
    /// A server drawn by popularity (inverse CDF of 1/(j+1) over j ≥ 2: the resolvers are
    /// reached by DNS only).
    fn server(&self, rng: &mut StdRng) -> usize {
        let n = (self.servers - 2) as f64;
        // ∫ 1/(x+1) from 0 to n = ln(n+1); x = e^(u ln(n+1)) - 1.
        let u: f64 = rng.gen();
        2 + ((((n + 1.0).ln() * u).exp() - 1.0) as usize).min(self.servers - 3)
    }
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "Microsoft-CryptoAPI/10.0",
    "Windows-Update-Agent/10.0.10011.16384 Client-Protocol/2.50",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17726; Pro)",
    "Go-http-client/1.1",
    "Debian APT-HTTP/1.3 (2.6.1)",
    "okhttp/4.12.0",
];

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Suricata's timestamp for `us` microseconds since the epoch.
fn eve_time(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}+0000",
        s / 3600,
        s / 60 % 60,
        s % 60,
        us.rem_euclid(1_000_000)
    )
}

fn server_name(j: usize) -> String {
    format!("srv-{j:03}.corp.example.com")
}

/// One EVE record from client `i` (uniform), at `us`.
fn eve(net: &Net, rng: &mut StdRng, us: i64, flow_id: u64) -> String {
    let i = rng.gen_range(0..net.clients);
    let src = Net::client_ip(i);
    let sport = rng.gen_range(32768..61000);
    let ts = eve_time(us);
    let roll = rng.gen_range(0..100);
    // The DNS resolvers (servers 0 and 1).
    if roll < 22 {
        let resolver = rng.gen_range(0..2);
        let dst = Net::server_ip(resolver);
        let j = net.server(rng);
        let name = server_name(j);
        let ip = Net::server_ip(j);
        if roll < 4 {
            return format!(
                r#"{{"timestamp":"{ts}","flow_id":{flow_id},"event_type":"flow","src_ip":"{src}","src_port":{sport},"dest_ip":"{dst}","dest_port":53,"proto":"UDP","app_proto":"dns","flow":{{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":80,"bytes_toclient":96,"state":"established","reason":"timeout","alerted":false}}}}"#
            );
        }
        return format!(
            r#"{{"timestamp":"{ts}","flow_id":{flow_id},"event_type":"dns","src_ip":"{src}","src_port":{sport},"dest_ip":"{dst}","dest_port":53,"proto":"UDP","dns":{{"version":2,"type":"answer","id":{},"flags":"8180","qr":true,"rd":true,"ra":true,"rrname":"{name}","rrtype":"A","rcode":"NOERROR","answers":[{{"rrname":"{name}","rrtype":"A","ttl":300,"rdata":"{ip}"}}],"grouped":{{"A":["{ip}"]}}}}}}"#,
            rng.gen_range(0..65536)
        );
    }
    let j = net.server(rng);
    let dst = Net::server_ip(j);
    let name = server_name(j);
    // Each server offers http (j % 4 == 0), tls (1), both (2) or smb and kerberos (3).
    let kind = match j % 4 {
        0 => "http",
        1 => "tls",
        2 if rng.gen_bool(0.5) => "http",
        2 => "tls",
        _ if rng.gen_bool(0.6) => "smb",
        _ => "krb5",
    };
    let (port, proto) = match kind {
        "http" => (80, "TCP"),
        "tls" => (443, "TCP"),
        "smb" => (445, "TCP"),
        _ => (88, "UDP"),
    };
    let head = format!(
        r#""timestamp":"{ts}","flow_id":{flow_id},"src_ip":"{src}","src_port":{sport},"dest_ip":"{dst}","dest_port":{port},"proto":"{proto}""#
    );
    let ua = USER_AGENTS[(i + 7 * rng.gen_range(0..3)) % USER_AGENTS.len()];
    match roll {
        22..=56 => format!(
            r#"{{{head},"event_type":"flow","app_proto":"{kind}","flow":{{"pkts_toserver":{},"pkts_toclient":{},"bytes_toserver":{},"bytes_toclient":{},"start":"{ts}","end":"{ts}","age":{},"state":"closed","reason":"timeout","alerted":false}},"tcp":{{"tcp_flags":"1b","syn":true,"fin":true,"psh":true,"ack":true,"state":"closed"}}}}"#,
            rng.gen_range(3..200),
            rng.gen_range(3..400),
            rng.gen_range(200..20_000),
            rng.gen_range(200..2_000_000),
            rng.gen_range(0..120)
        ),
        57..=84 if kind == "http" => format!(
            r#"{{{head},"event_type":"http","tx_id":0,"http":{{"hostname":"{name}","url":"/app/{}/view?id={}","http_user_agent":"{ua}","http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":{}}}}}"#,
            rng.gen_range(0..50),
            rng.gen_range(0..100_000),
            rng.gen_range(100..100_000)
        ),
        57..=84 if kind == "tls" => {
            let v13 = j.is_multiple_of(3);
            let subject = if v13 {
                String::new()
            } else {
                format!(
                    r#""subject":"CN={name}, O=Example Corp","issuerdn":"CN=Example Corp Issuing CA 1, O=Example Corp","serial":"{:02X}:{:02X}:{:02X}","fingerprint":"{:040x}","notbefore":"2026-01-01T00:00:00","notafter":"2027-01-01T00:00:00","#,
                    j % 256,
                    (j / 256) % 256,
                    i % 256,
                    (j as u128) * 0x9e37_79b9_7f4a_7c15
                )
            };
            format!(
                r#"{{{head},"event_type":"tls","tls":{{{subject}"version":"{}","sni":"{name}","ja3":{{"hash":"{:032x}","string":"771,4865-4866-4867,0-23-65281-10-11,29-23-24,0"}},"ja3s":{{"hash":"{:032x}","string":"771,4865,43-51"}},"ja4":"t13d1516h2_8daaf6152771_{:012x}"}}}}"#,
                if v13 { "TLS 1.3" } else { "TLS 1.2" },
                (i % 40) as u128 * 0x1234_5678_9abc_def1,
                (j % 25) as u128 * 0x0fed_cba9_8765_4321,
                (i % 40) as u64 * 0x1_0203_0405
            )
        }
        57..=84 if kind == "smb" => format!(
            r#"{{{head},"event_type":"smb","app_proto":"smb","smb":{{"id":{},"dialect":"3.1.1","command":"SMB2_COMMAND_SESSION_SETUP","status":"STATUS_SUCCESS","ntlmssp":{{"domain":"CORP","user":"user{i:04}","host":"WS-{i:04}"}}}}}}"#,
            rng.gen_range(0..1000)
        ),
        57..=84 => format!(
            r#"{{{head},"event_type":"krb5","app_proto":"krb5","krb5":{{"msg_type":"KRB_AS_REQ","cname":"user{i:04}","realm":"CORP.EXAMPLE.COM","sname":"krbtgt/CORP.EXAMPLE.COM","encryption":"aes256-cts-hmac-sha1-96","weak_encryption":false}}}}"#
        ),
        85..=94 => format!(
            // fileinfo and anomaly records: directionless, dated only.
            r#"{{{head},"event_type":"fileinfo","app_proto":"{kind}","fileinfo":{{"filename":"/app/{}/report.pdf","gaps":false,"state":"CLOSED","stored":false,"size":{},"tx_id":0}}}}"#,
            rng.gen_range(0..50),
            rng.gen_range(1000..5_000_000)
        ),
        _ => {
            let sev = rng.gen_range(1..=3);
            let sid = 2_000_000 + rng.gen_range(0..500);
            format!(
                r#"{{{head},"event_type":"alert","app_proto":"{kind}","alert":{{"action":"allowed","gid":1,"signature_id":{sid},"rev":3,"signature":"ET POLICY Suspicious request {sid}","category":"Potentially Bad Traffic","severity":{sev}}}}}"#
            )
        }
    }
}

/// Ingests `events` EVE records from `hosts` hosts into `tenant`, timestamps moving from
/// `days` days ago to now one request after the other (each request a narrow window, as live
/// ingest sends them).
#[allow(clippy::too_many_arguments)]
pub async fn host_id_ingest(
    c: &Client,
    tenant: &str,
    events: usize,
    hosts: usize,
    days: i64,
    batch: usize,
    concurrency: usize,
    seconds: u64,
) -> Result<()> {
    let net = Net::new(hosts);
    let url = format!("{}/connect/api/v1/events?tenant_id={tenant}", c.base);
    let requests = events.div_ceil(batch.max(1));
    let now_us = crate::now_ms() * 1000;
    let span_us = days.max(1) * 86_400_000_000;
    let start_us = now_us - span_us;
    let step = span_us / requests.max(1) as i64;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let t0 = Instant::now();
    let (mut sent, mut bytes, mut lat) = (0usize, 0usize, Vec::new());
    let mut results = futures::stream::iter(0..requests)
        .map(|k| {
            let (http, url, jwt) = (c.http.clone(), url.clone(), c.jwt.clone());
            async move {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                let n = batch.min(events - k * batch);
                let mut rng = StdRng::seed_from_u64(k as u64);
                let mut body = String::with_capacity(n * 700 + 16);
                body.push_str(r#"{"events":["#);
                for e in 0..n {
                    if e > 0 {
                        body.push(',');
                    }
                    let us = start_us + k as i64 * step + rng.gen_range(0..step.max(1));
                    body.push_str(&eve(&net, &mut rng, us, (k * batch + e) as u64));
                }
                body.push_str("]}");
                let len = body.len();
                let t = Instant::now();
                let r = http
                    .post(url)
                    .bearer_auth(jwt)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                let status = r.status();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                if !status.is_success() || v["failed"].as_u64() != Some(0) {
                    bail!("ingest: {status}: {v}");
                }
                Ok::<_, anyhow::Error>(Some((
                    v["ingested"].as_u64().unwrap_or(0) as usize,
                    len,
                    t.elapsed(),
                )))
            }
        })
        .buffer_unordered(concurrency.max(1));
    while let Some(r) = results.next().await {
        if let Some((n, len, d)) = r? {
            sent += n;
            bytes += len;
            lat.push(d);
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "host-id ingest: {sent} EVE events of {} clients and {} servers over {days} days in {secs:.1} s = {:.0} events/s ({:.0} bytes an event), batch {batch}, concurrency {concurrency}",
        net.clients,
        net.servers,
        sent as f64 / secs,
        bytes as f64 / sent.max(1) as f64
    );
    report("ingest request", lat);
    Ok(())
}

/// Host ID lookups: random clients, random servers, the busiest servers and the resolvers,
/// and unknown addresses (404); `runs` of each but the busiest (a tenth).
pub async fn host_id(
    c: &Client,
    hosts: usize,
    runs: usize,
    concurrency: usize,
    pid: Option<u32>,
) -> Result<()> {
    let net = Net::new(hosts);
    let mut rng = StdRng::seed_from_u64(3);
    let path = |ip: String| format!("/rest/appliances/host_id/{ip}");
    let clients: Vec<String> = (0..runs)
        .map(|_| path(Net::client_ip(rng.gen_range(0..net.clients))))
        .collect();
    let servers: Vec<String> = (0..runs)
        .map(|_| path(Net::server_ip(rng.gen_range(2..net.servers))))
        .collect();
    let busiest: Vec<String> = (0..(runs / 10).max(10))
        .map(|k| path(Net::server_ip(k % 5)))
        .collect();
    let unknown: Vec<String> = (0..(runs / 10).max(10))
        .map(|_| {
            path(format!(
                "10.9.{}.{}",
                rng.gen_range(0..250),
                rng.gen_range(1..255)
            ))
        })
        .collect();
    for (name, paths, expect) in [
        ("host_id of a random client (10.1.x.y)", clients, 200),
        (
            "host_id of a random server (10.2.x.y, resolvers excluded)",
            servers,
            200,
        ),
        (
            "host_id of the two resolvers and the three busiest servers",
            busiest,
            200,
        ),
        ("host_id of an unknown address (404)", unknown, 404),
    ] {
        let answers = run_kind(c, name, paths, concurrency, pid, expect).await?;
        let hits: Vec<u64> = answers.iter().filter_map(|a| a["hits"].as_u64()).collect();
        if !hits.is_empty() {
            let mut sorted = hits.clone();
            sorted.sort_unstable();
            let sample = answers.iter().find(|a| a["hits"].is_u64());
            let h = sample.map(|a| &a["host_id"]);
            println!(
                "  events naming the host: median {}, min {}, max {}; e.g. {} hostnames, {} services, {} user agents, {} alerts",
                sorted[sorted.len() / 2],
                sorted[0],
                sorted[sorted.len() - 1],
                h.map_or(json!(null), |h| h["hostname_count"].clone()),
                h.map_or(json!(null), |h| h["services_count"].clone()),
                h.map_or(json!(null), |h| h["http.user_agent_count"].clone()),
                h.map_or(json!(null), |h| h["alerts"]["count"].clone()),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eve_records_are_json_with_suricata_timestamps() {
        assert_eq!(eve_time(0), "1970-01-01T00:00:00.000000+0000");
        assert_eq!(
            eve_time(1_796_119_200_000_001),
            "2026-12-01T10:00:00.000001+0000"
        );
        let net = Net::new(3000);
        let mut rng = StdRng::seed_from_u64(1);
        for k in 0..2000 {
            let e = eve(&net, &mut rng, 1_796_119_200_000_000, k);
            let v: Value = serde_json::from_str(&e).unwrap_or_else(|err| panic!("{err}: {e}"));
            assert!(v["src_ip"].as_str().unwrap().starts_with("10.1."), "{e}");
            assert!(v["event_type"].is_string());
        }
        for _ in 0..1000 {
            let j = net.server(&mut rng);
            assert!((2..net.servers).contains(&j));
        }
    }
}
