//! Ingest throughput and query latency of the event index on synthetic security events.
//!
//! ```text
//! STELLA_BENCH_EVENTS=1000000 CARGO_TARGET_DIR=/work/target-search \
//!     cargo bench -p stella-search --bench search
//! ```
//!
//! The index of `STELLA_BENCH_EVENTS` (default 200 000) events of about 1 KB is built once in
//! `STELLA_BENCH_DIR` (default under the target directory) and reused while its marker file is
//! there. Building prints the ingest rate; each bulk of 1 000 events is parsed from JSON bytes
//! first, as the HTTP path would, and that parsing is counted. Then the term query and the
//! 24-hour `date_histogram` are timed (p50/p95 printed, then criterion).

// A benchmark, like a test, should stop loudly on any failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use stella_core::TenantFilter;
use stella_search::{EventIndex, IndexOptions};

// The server binary runs on mimalloc; measure with the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TENANT: &str = "bench";
const BULK: usize = 1_000;
/// Distinct bulks generated up front; later bulks reuse them with fresh timestamps.
const POOL: usize = 64;
const DAY_MS: i64 = 86_400_000;
/// 2024-05-01T00:00:00Z: events span the seven days before `END`.
const END: i64 = 1_714_521_600_000;
const START: i64 = END - 7 * DAY_MS;

const EVENT_TYPES: [&str; 20] = [
    "login_failure",
    "login_success",
    "malware",
    "dns",
    "http",
    "firewall_drop",
    "firewall_allow",
    "port_scan",
    "brute_force",
    "ids_alert",
    "file_create",
    "file_delete",
    "process_start",
    "process_stop",
    "vpn_connect",
    "vpn_disconnect",
    "dlp",
    "email",
    "usb_insert",
    "priv_esc",
];
const WORDS: [&str; 24] = [
    "connection",
    "denied",
    "accepted",
    "session",
    "opened",
    "closed",
    "user",
    "request",
    "policy",
    "violation",
    "detected",
    "suspicious",
    "outbound",
    "inbound",
    "traffic",
    "rule",
    "matched",
    "signature",
    "payload",
    "anomaly",
    "threshold",
    "exceeded",
    "remote",
    "host",
];

/// xorshift64*: deterministic data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn ip(prefix: &str, i: u64) -> String {
    format!("{prefix}.{}.{}", i / 250, i % 250 + 1)
}

fn pick<'a>(r: &mut Rng, from: &[&'a str]) -> &'a str {
    from[r.below(from.len() as u64) as usize]
}

/// One event of about 1 KB: some thirty structured fields and a syslog-style message.
fn event(r: &mut Rng) -> Value {
    let et = EVENT_TYPES[r.below(20) as usize];
    let src = ip("10.20", r.below(4_000));
    let dst = ip("172.16", r.below(2_000));
    let user = format!("user{:04}", r.below(3_000));
    let host = format!("host-{:04}", r.below(1_500));
    let port = [22, 53, 80, 443, 445, 3389, 8080][r.below(7) as usize];
    let proto = ["tcp", "udp", "icmp"][r.below(3) as usize];
    let action = ["allowed", "blocked", "alerted"][r.below(3) as usize];
    let country = ["US", "DE", "CN", "RU", "BR", "IN"][r.below(6) as usize];
    let city = ["Austin", "Berlin", "Shanghai", "Moscow", "Recife", "Pune"][r.below(6) as usize];
    let mut msg = format!(
        "{et} {action} {proto} {src}:{} -> {dst}:{port} user={user} host={host}:",
        1024 + r.below(60_000)
    );
    while msg.len() < 300 {
        msg.push(' ');
        msg.push_str(WORDS[r.below(24) as usize]);
    }
    json!({
        "timestamp": 0,
        "event_type": et,
        "event_name": format!("{et} detected"),
        "event_category": pick(r, &["network", "endpoint", "identity", "cloud"]),
        "severity": r.below(10) + 1,
        "score": r.below(100),
        "srcip": src,
        "dstip": dst,
        "srcport": 1024 + r.below(60_000),
        "dstport": port,
        "proto": proto,
        "action": action,
        "hostname": host,
        "username": user,
        "src_mac": format!("00:1a:2b:{:02x}:{:02x}:{:02x}", r.below(256), r.below(256), r.below(256)),
        "bytes_in": r.below(1_000_000),
        "bytes_out": r.below(1_000_000),
        "packets_in": r.below(10_000),
        "packets_out": r.below(10_000),
        "duration_ms": r.below(600_000),
        "app": format!("app-{}", r.below(200)),
        "engid": format!("sensor-{:02}", r.below(40)),
        "geo": {"country": country, "city": city, "asn": 1000 + r.below(500)},
        "rule": {"id": r.below(5_000), "name": format!("rule {}", r.below(5_000)),
                 "category": pick(r, &["malware", "recon", "policy", "exfiltration"])},
        "tags": ["ingested", pick(r, &["soc", "noc", "dev"])],
        "tenant_name": "Bench Corp",
        "msg": msg,
    })
}

fn bench_dir(n: usize) -> PathBuf {
    match std::env::var("STELLA_BENCH_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("stella-search-bench")
            .join(format!("events-{n}")),
    }
}

fn events_wanted() -> usize {
    std::env::var("STELLA_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

/// `IndexOptions` defaults, with `STELLA_BENCH_COMMIT_MS`, `STELLA_BENCH_THREADS`,
/// `STELLA_BENCH_MEMORY_MB`, `STELLA_BENCH_SEARCH_THREADS`, `STELLA_BENCH_MERGE_FACTOR`,
/// `STELLA_BENCH_MERGE_MIN_DOCS` and `STELLA_BENCH_SEARCH_IDLE_MS` overriding the commit
/// interval, indexing threads, writer memory, search threads, the merge policy and when
/// background commits wait for a reader (`0`: never).
fn options() -> IndexOptions {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let mut o = IndexOptions::default();
    if let Some(ms) = env("STELLA_BENCH_COMMIT_MS") {
        o.commit_interval_ms = ms;
    }
    if let Some(t) = env("STELLA_BENCH_THREADS") {
        o.indexing_threads = t as usize;
    }
    if let Some(mb) = env("STELLA_BENCH_MEMORY_MB") {
        o.writer_memory_bytes = mb as usize * 1024 * 1024;
    }
    if let Some(t) = env("STELLA_BENCH_SEARCH_THREADS") {
        o.search_threads = t as usize;
    }
    if let Some(m) = env("STELLA_BENCH_MERGE_FACTOR") {
        o.merge_factor = m as usize;
    }
    if let Some(d) = env("STELLA_BENCH_MERGE_MIN_DOCS") {
        o.merge_min_segment_docs = d as u32;
    }
    if let Some(ms) = env("STELLA_BENCH_SEARCH_IDLE_MS") {
        o.search_idle_ms = ms;
    }
    o
}

/// Builds the index unless a finished one is there; returns it opened.
fn index(n: usize) -> EventIndex {
    let dir = bench_dir(n);
    let marker = dir.join("BUILT");
    if marker.exists() {
        eprintln!("reusing the index of {n} events in {}", dir.display());
        return EventIndex::open(&dir, options()).expect("open");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let ix = EventIndex::open(&dir, options()).expect("open");
    let mut r = Rng(0x5eed);
    let pool: Vec<Vec<u8>> = (0..POOL)
        .map(|_| {
            let bulk: Vec<Value> = (0..BULK).map(|_| event(&mut r)).collect();
            serde_json::to_vec(&bulk).expect("json")
        })
        .collect();
    let avg = pool.iter().map(Vec::len).sum::<usize>() / (POOL * BULK);
    eprintln!("building {n} events of ~{avg} bytes in {}", dir.display());

    let parse_rate = parse_only(&pool);
    let load_before = loadavg();
    let cpu_before = process_cpu();
    let started = Instant::now();
    let (mut parse, mut ingest) = (Duration::ZERO, Duration::ZERO);
    let mut done = 0usize;
    let mut b = 0usize;
    while done < n {
        let take = BULK.min(n - done);
        let t = Instant::now();
        let mut bulk: Vec<Value> = serde_json::from_slice(&pool[b % POOL]).expect("parse");
        bulk.truncate(take);
        for (i, e) in bulk.iter_mut().enumerate() {
            // Time-ordered, as events arrive.
            e["timestamp"] = json!(START + ((done + i) as i64 * 7 * DAY_MS) / n as i64);
        }
        parse += t.elapsed();
        let t = Instant::now();
        let out = ix.ingest(TENANT, bulk, END).expect("ingest");
        ingest += t.elapsed();
        assert_eq!(out.ingested, take);
        done += take;
        b += 1;
        if b.is_multiple_of(500) {
            let secs = started.elapsed().as_secs_f64();
            eprintln!("  {done} events, {:.0}/s so far", done as f64 / secs);
        }
    }
    let acked = started.elapsed();
    ix.refresh().expect("refresh");
    let searchable = started.elapsed();
    let cpu = process_cpu() - cpu_before;
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    let cpu_us = cpu * 1e6 / n as f64;
    let parse_us = 1e6 / parse_rate;
    let report = format!(
        "events: {n} (~{avg} bytes), one producer thread parsing each bulk of {BULK} from JSON\n\
         acknowledged (durable) after {:.1} s: {:.0} events/s\n\
         searchable after {:.1} s: {:.0} events/s end to end\n\
         producer time in JSON parsing {:.1} s, in ingest() {:.1} s\n\
         process CPU {cpu:.1} s = {cpu_us:.0} us/event; JSON parsing alone {parse_us:.0} us/event \
         ({parse_rate:.0}/s on one thread)\n\
         => ingest + indexing {:.0} us CPU/event, at most {:.0} events/s on 2 idle cores\n\
         load average before {load_before}, after {}\n",
        acked.as_secs_f64(),
        rate(acked),
        searchable.as_secs_f64(),
        rate(searchable),
        parse.as_secs_f64(),
        ingest.as_secs_f64(),
        cpu_us - parse_us,
        2e6 / (cpu_us - parse_us),
        loadavg(),
    );
    eprint!("{report}");
    ix.close().expect("close");
    drop(ix);
    std::fs::write(&marker, report).expect("marker");
    EventIndex::open(&dir, options()).expect("reopen")
}

/// Events per second `serde_json` parses from the pool on this thread (the HTTP handler's share).
fn parse_only(pool: &[Vec<u8>]) -> f64 {
    let t = Instant::now();
    for bulk in pool {
        let v: Vec<Value> = serde_json::from_slice(bulk).expect("parse");
        std::hint::black_box(v);
    }
    (pool.len() * BULK) as f64 / t.elapsed().as_secs_f64()
}

/// User + system CPU seconds of this process so far (Linux; 0 elsewhere).
fn process_cpu() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    // Clock ticks are 100 per second on Linux.
    f.iter().sum::<f64>() / 100.0
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn term_query() -> Value {
    json!({"query": {"term": {"srcip": "10.20.4.1"}}})
}

fn term_query_sorted() -> Value {
    json!({"query": {"term": {"event_type": "malware"}}, "sort": [{"timestamp": "desc"}]})
}

fn histogram_24h() -> Value {
    json!({
        "size": 0,
        "query": {"range": {"timestamp": {"gte": "now-24h"}}},
        "aggs": {"per_hour": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h"}}}
    })
}

fn percentiles(ix: &EventIndex, name: &str, body: &Value) {
    let run = || {
        let t = Instant::now();
        let resp = ix.search(&TenantFilter::All, body, END).expect("search");
        (t.elapsed(), resp)
    };
    let (_, resp) = run();
    let mut times: Vec<Duration> = (0..200).map(|_| run().0).collect();
    times.sort();
    let pct = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
    eprintln!(
        "{name}: {} hits, p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        resp["hits"]["total"]["value"],
        pct(50).as_secs_f64() * 1e3,
        pct(95).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
    if let Some(b) = resp["aggregations"]["per_hour"]["buckets"].as_array() {
        let docs: u64 = b.iter().filter_map(|b| b["doc_count"].as_u64()).sum();
        eprintln!("  {} buckets, {docs} events", b.len());
    }
}

fn benches(c: &mut Criterion) {
    let ix = index(events_wanted());
    if std::env::var_os("STELLA_BENCH_BUILD_ONLY").is_some() {
        return;
    }
    if std::env::var_os("STELLA_BENCH_PERCENTILES_ONLY").is_some() {
        let only = std::env::var("STELLA_BENCH_QUERY").unwrap_or_default();
        for (name, body) in [
            ("term srcip", term_query()),
            ("term event_type sorted by time", term_query_sorted()),
            ("date_histogram 24h by hour", histogram_24h()),
        ] {
            if name.contains(only.as_str()) {
                percentiles(&ix, name, &body);
            }
        }
        return;
    }
    let queries = [
        ("term srcip", term_query()),
        ("term event_type sorted by time", term_query_sorted()),
        ("date_histogram 24h by hour", histogram_24h()),
    ];
    for (name, body) in &queries {
        percentiles(&ix, name, body);
    }
    let mut g = c.benchmark_group("search");
    g.sample_size(50);
    for (name, body) in &queries {
        g.bench_function(*name, |b| {
            b.iter(|| ix.search(&TenantFilter::All, body, END).expect("search"))
        });
    }
    g.finish();
}

criterion_group!(search, benches);
criterion_main!(search);
