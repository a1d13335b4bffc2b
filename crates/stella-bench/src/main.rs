//! `stella-bench`: drives a running Stella Ops server over HTTP and prints the figures
//! BENCHMARKS.md records (the Open XDR API's here, the probe-management REST API's in `rest`). Each run is bounded in requests and time; it refuses non-loopback
//! servers so a load run never leaves the machine.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

mod rest;

#[derive(Parser)]
struct Cli {
    /// Server base URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:18091")]
    base: String,
    /// An API key of a root super admin (`stella init` prints one).
    #[arg(long, env = "API_KEY")]
    api_key: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Bulk-ingest synthetic ~1 KB events into one tenant for a while; prints events/s.
    Ingest {
        #[arg(long)]
        tenant: String,
        /// Events per request.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Concurrent requests.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Stop after this many events (or `seconds`, whichever first).
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Spread event timestamps over this many hours before now.
        #[arg(long, default_value_t = 168)]
        spread_hours: i64,
        /// Instead, put every event in the UTC day this many days before today (1: yesterday):
        /// one day's partition at a time, as live ingest fills them.
        #[arg(long)]
        day: Option<i64>,
    },
    /// Runs the term query and the 24-hour and 31-day date_histograms `runs` times each;
    /// prints p50/p95.
    Search {
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// The index name or pattern searched (`aella-ser-*`, `aella-ser-2026.11.*`, …).
        #[arg(long, default_value = "aella-ser")]
        index: String,
    },
    /// Runs the term query every `interval_ms` for `seconds` without refreshing first (a
    /// dashboard during ingest); prints p50/p95/p99.
    Watch {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        #[arg(long, default_value_t = 250)]
        interval_ms: u64,
        /// Stop early once this file exists (the end of a concurrent ingest).
        #[arg(long)]
        stop_file: Option<std::path::PathBuf>,
    },
    /// Revocation propagation between two servers of one deployment, `rounds` times: a new
    /// API key's token is used on `--other` (so it is cached there), the key is revoked through
    /// `--base`, and `--other` is asked until it refuses; prints the delay's percentiles.
    Revocation {
        #[arg(long)]
        other: String,
        #[arg(long, default_value_t = 100)]
        rounds: usize,
    },
    /// Creates `count` cases in a tenant (if it has fewer), then walks every page.
    ListCases {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        #[arg(long, default_value_t = 100)]
        page: usize,
    },
    /// Creates probe templates, Stamus probes (two thirds inheriting from a template) and
    /// Suricata probes at `/rest/appliances/` in a tenant, up to the given counts.
    RestFill {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value_t = 8000)]
        stamus: usize,
        #[arg(long, default_value_t = 2000)]
        suricata: usize,
        #[arg(long, default_value_t = 20)]
        templates: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Times `/rest/` list pages (plain, `ordering`, `search`, filters) and retrieves,
    /// `requests` of each kind; prints p50/p95/p99 and, with `server_pid`, server CPU a request.
    RestRead {
        #[arg(long, default_value_t = 1000)]
        requests: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(long)]
        server_pid: Option<u32>,
        /// List as this tenant's users do (`tenant_id=` narrows every list to it).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Ingests synthetic Suricata EVE records (flow, dns, http, tls, smb, krb5, fileinfo,
    /// alert) of `hosts` hosts for host ID.
    HostIdIngest {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value_t = 5_000_000)]
        events: usize,
        #[arg(long, default_value_t = 3000)]
        hosts: usize,
        /// Timestamps run from this many days ago to now.
        #[arg(long, default_value_t = 3)]
        days: i64,
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(long, default_value_t = 1800)]
        seconds: u64,
    },
    /// Host ID lookups of hosts `host-id-ingest` made (and unknown ones); p50/p95/p99.
    HostId {
        #[arg(long, default_value_t = 3000)]
        hosts: usize,
        #[arg(long, default_value_t = 300)]
        runs: usize,
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        #[arg(long)]
        server_pid: Option<u32>,
    },
}

struct Client {
    http: reqwest::Client,
    base: String,
    jwt: String,
}

impl Client {
    async fn connect(base: &str, api_key: &str) -> Result<Self> {
        let host = base.split("://").nth(1).unwrap_or_default();
        if !(host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]"))
        {
            bail!("load runs target loopback only; {base} is not");
        }
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?;
        let r: Value = http
            .post(format!("{base}/connect/api/v1/access_token"))
            .bearer_auth(api_key)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let jwt = r["access_token"]
            .as_str()
            .context("no access_token")?
            .to_owned();
        Ok(Self {
            http,
            base: base.to_owned(),
            jwt,
        })
    }

    async fn post(&self, path: &str, body: &Value) -> Result<(Value, Duration)> {
        self.send(
            self.http.post(format!("{}{path}", self.base)).json(body),
            path,
        )
        .await
    }

    async fn get(&self, path: &str) -> Result<(Value, Duration)> {
        self.send(self.http.get(format!("{}{path}", self.base)), path)
            .await
    }

    /// Sends with the JWT and answers the JSON body and the round-trip time; non-2xx is an error.
    async fn send(&self, req: reqwest::RequestBuilder, path: &str) -> Result<(Value, Duration)> {
        let t = Instant::now();
        let r = req.bearer_auth(&self.jwt).send().await?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path}: {status}: {v}");
        }
        Ok((v, t.elapsed()))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A synthetic security event of about 1 KB (1,020–1,030 bytes of compact JSON).
fn event(rng: &mut impl rand::Rng, now: i64, spread_ms: i64) -> Value {
    const TYPES: &[&str] = &[
        "dns", "http", "ssh", "smb", "tls", "dhcp", "kerberos", "ldap", "rdp", "ftp", "smtp",
        "ntp", "icmp", "netflow", "firewall", "proxy", "vpn", "edr", "auth", "file",
    ];
    let t = TYPES[rng.gen_range(0..TYPES.len())];
    let severity = ["low", "medium", "high", "critical"][rng.gen_range(0..4)];
    let dstport = [53, 80, 443, 22, 445, 3389][rng.gen_range(0..6)];
    json!({
        "timestamp": now - rng.gen_range(0..spread_ms.max(1)),
        "event_type": t,
        "severity": severity,
        "srcip": format!("10.{}.{}.{}", rng.gen_range(0..4), rng.gen_range(0..32), rng.gen_range(1..255)),
        "dstip": format!("192.0.2.{}", rng.gen_range(1..255)),
        "srcport": rng.gen_range(1024..65535),
        "dstport": dstport,
        "hostname": format!("ws-{:04}", rng.gen_range(0..2000)),
        "username": format!("user{:04}", rng.gen_range(0..5000)),
        "bytes_in": rng.gen_range(0..1_000_000),
        "bytes_out": rng.gen_range(0..1_000_000),
        "process": "C:\\Windows\\System32\\svchost.exe",
        "sha256": format!("{:064x}", rng.gen::<u128>()),
        "message": format!("{t} session from workstation to service completed with status ok; \
            sensor dp-{} observed {} packets in the flow window and classified it as routine traffic \
            for the asset group finance-{}; no policy violation was recorded for this connection",
            rng.gen_range(0..16), rng.gen_range(1..5000), rng.gen_range(0..40)),
        "url": format!("https://intranet.example.com/apps/finance/reports/{}/download?format=pdf&session={:032x}", rng.gen_range(0..100_000), rng.gen::<u128>()),
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        "dst_domain": format!("svc-{:03}.corp.example.com", rng.gen_range(0..500)),
        "src_mac": format!("00:1a:2b:{:02x}:{:02x}:{:02x}", rng.gen::<u8>(), rng.gen::<u8>(), rng.gen::<u8>()),
        "rule_name": "baseline-allow-internal-finance-traffic",
        "session_id": format!("{:016x}", rng.gen::<u64>()),
        "tags": ["bench", t],
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(name: &str, mut lat: Vec<Duration>) {
    lat.sort();
    println!(
        "{name}: n={} p50={:.2} ms p95={:.2} ms p99={:.2} ms max={:.2} ms",
        lat.len(),
        percentile(&lat, 0.50),
        percentile(&lat, 0.95),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
}

async fn ingest(
    c: &Client,
    tenant: &str,
    batch: usize,
    concurrency: usize,
    events: usize,
    seconds: u64,
    (day, spread_hours): (Option<i64>, i64),
) -> Result<()> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let path = format!("/connect/api/v1/events?tenant_id={tenant}");
    const DAY_MS: i64 = 86_400_000;
    // Timestamps fall in (top - spread, top].
    let (top, spread) = match day {
        Some(d) => (now_ms() / DAY_MS * DAY_MS - (d - 1) * DAY_MS - 1, DAY_MS),
        None => (now_ms(), spread_hours * 3_600_000),
    };
    let mut sent = 0usize;
    let mut bytes = 0usize;
    let mut lat = Vec::new();
    // Bodies are built ahead of the timed loop so the generator's own JSON work stays out of it.
    let mut rng = rand::thread_rng();
    let bodies: Vec<Value> = (0..concurrency * 2)
        .map(|_| json!({"events": (0..batch).map(|_| event(&mut rng, top, spread)).collect::<Vec<_>>()}))
        .collect();
    let encoded: Vec<bytes_body::Body> = bodies
        .iter()
        .map(bytes_body::Body::of)
        .collect::<Result<_>>()?;
    // `concurrency` requests in flight at all times: a new one starts as soon as any finishes
    // (waiting for a whole round would leave the server idle behind the slowest request).
    let url = format!("{}{path}", c.base);
    let requests = events.div_ceil(batch.max(1));
    let t0 = Instant::now();
    let mut results = futures::stream::iter(0..requests)
        .map(|k| {
            let b = encoded[k % encoded.len()].clone();
            let (http, url, jwt) = (c.http.clone(), url.clone(), c.jwt.clone());
            async move {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                let t = Instant::now();
                let r = http
                    .post(url)
                    .bearer_auth(jwt)
                    .header("content-type", "application/json")
                    .body(b.0)
                    .send()
                    .await?;
                let status = r.status();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                if !status.is_success() || v["failed"].as_u64() != Some(0) {
                    bail!("ingest: {status}: {v}");
                }
                Ok::<_, anyhow::Error>(Some((
                    v["ingested"].as_u64().unwrap_or(0) as usize,
                    b.1,
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
        "ingest: {sent} events in {secs:.1} s = {:.0} events/s ({:.1} MB/s of JSON, {:.0} bytes an event), batch {batch}, concurrency {concurrency}",
        sent as f64 / secs,
        bytes as f64 / secs / 1e6,
        encoded[0].1 as f64 / batch as f64
    );
    report("ingest request", lat);
    Ok(())
}

mod bytes_body {
    /// A pre-encoded request body and its length.
    #[derive(Clone)]
    pub struct Body(pub Vec<u8>, pub usize);
    impl Body {
        pub fn of(v: &serde_json::Value) -> anyhow::Result<Self> {
            let b = serde_json::to_vec(v)?;
            let n = b.len();
            Ok(Self(b, n))
        }
    }
}

async fn search(c: &Client, runs: usize, index: &str) -> Result<()> {
    let path = &format!("/connect/api/v1/data/{index}/_search");
    c.post("/connect/api/v1/data/aella-ser/_refresh", &json!({}))
        .await?;
    let (all, _) = c
        .post(path, &json!({"size": 0, "query": {"match_all": {}}}))
        .await?;
    println!("index holds {} events", all["hits"]["total"]["value"]);
    let term = json!({"query": {"term": {"event_type": "dns"}}, "size": 10, "sort": [{"timestamp": "desc"}]});
    let hist = json!({"size": 0, "query": {"range": {"timestamp": {"gte": "now-24h"}}},
        "aggs": {"per_hour": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h"}}}});
    let month = json!({"size": 0, "query": {"range": {"timestamp": {"gte": "now-31d"}}},
        "aggs": {"per_day": {"date_histogram": {"field": "timestamp", "fixed_interval": "1d"}}}});
    for (name, body) in [
        ("term query", term),
        ("24h date_histogram", hist),
        ("31d date_histogram", month),
    ] {
        let mut lat = Vec::with_capacity(runs);
        let mut sample = Value::Null;
        for _ in 0..runs {
            let (v, d) = c.post(path, &body).await?;
            lat.push(d);
            sample = v;
        }
        println!(
            "{name}: hits.total={} took(server)={} ms",
            sample["hits"]["total"]["value"], sample["took"]
        );
        report(name, lat);
    }
    Ok(())
}

async fn watch(
    c: &Client,
    seconds: u64,
    interval_ms: u64,
    stop_file: Option<std::path::PathBuf>,
) -> Result<()> {
    let path = "/connect/api/v1/data/aella-ser/_search";
    let term = json!({"query": {"term": {"event_type": "dns"}}, "size": 10, "sort": [{"timestamp": "desc"}]});
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut tick = tokio::time::interval(Duration::from_millis(interval_ms.max(1)));
    let mut lat = Vec::new();
    while Instant::now() < end && !stop_file.as_ref().is_some_and(|f| f.exists()) {
        tick.tick().await;
        let (_, d) = c.post(path, &term).await?;
        lat.push(d);
    }
    report(&format!("term query during ingest ({})", c.base), lat);
    Ok(())
}

async fn revocation(c: &Client, other: &str, rounds: usize) -> Result<()> {
    let b = Client {
        http: c.http.clone(),
        base: other.to_owned(),
        jwt: String::new(),
    };
    let mut delays = Vec::with_capacity(rounds);
    let mut polls = 0usize;
    for r in 0..rounds {
        let (key, _) = c
            .post(
                "/connect/api/v1/api_keys",
                &json!({"name": format!("revocation-{r}")}),
            )
            .await?;
        let (id, secret) = (
            key["id"].as_str().context("no key id")?.to_owned(),
            key["api_key"].as_str().context("no api_key")?.to_owned(),
        );
        let token: Value = b
            .http
            .post(format!("{other}/connect/api/v1/access_token"))
            .bearer_auth(&secret)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let jwt = token["access_token"]
            .as_str()
            .context("no token")?
            .to_owned();
        let me = format!("{other}/connect/api/v1/me");
        let status = |jwt: String| {
            let (http, me) = (b.http.clone(), me.clone());
            async move { Ok::<_, anyhow::Error>(http.get(me).bearer_auth(jwt).send().await?.status()) }
        };
        if status(jwt.clone()).await? != 200 {
            bail!("the new key's token is refused on {other} before revocation");
        }
        c.send(
            c.http
                .delete(format!("{}/connect/api/v1/api_keys/{id}", c.base)),
            "revoke",
        )
        .await?;
        let t = Instant::now();
        loop {
            polls += 1;
            if status(jwt.clone()).await? == 401 {
                break;
            }
            if t.elapsed() > Duration::from_secs(10) {
                bail!("{other} still accepts a revoked key's token after 10 s");
            }
        }
        delays.push(t.elapsed());
    }
    println!("{rounds} revocations, {polls} polls of the other server");
    report("revocation seen by the other server", delays);
    Ok(())
}

async fn list_cases(c: &Client, tenant: &str, count: usize, page: usize) -> Result<()> {
    let base = format!("/connect/api/v1/cases?tenantid={tenant}");
    let (first, _) = c.get(&format!("{base}&limit=1")).await?;
    let have = first["total"].as_u64().unwrap_or(0) as usize;
    if have < count {
        let t = Instant::now();
        let todo = count - have;
        let mut done = 0;
        while done < todo {
            let n = (todo - done).min(64);
            let reqs: Vec<_> = (0..n)
                .map(|i| {
                    let priority = ["critical", "high", "medium", "low"][(done + i) % 4];
                    let body = json!({"name": format!("case {}", have + done + i), "tenant_id": tenant,
                        "score": (have + done + i) % 101, "priority": priority});
                    async move { c.post("/connect/api/v1/cases", &body).await }
                })
                .collect();
            for r in futures::future::join_all(reqs).await {
                r?;
            }
            done += n;
        }
        println!("created {todo} cases in {:.1} s", t.elapsed().as_secs_f64());
    }
    for (label, extra) in [("newest first", ""), ("by score", "&sort=score&order=desc")] {
        let mut lat = Vec::new();
        let mut offset = 0;
        let mut seen = 0;
        loop {
            let (v, d) = c
                .get(&format!("{base}&limit={page}&offset={offset}{extra}"))
                .await?;
            lat.push(d);
            let n = v["data"].as_array().map(Vec::len).unwrap_or(0);
            seen += n;
            if n < page {
                break;
            }
            offset += page;
        }
        println!("walked {seen} cases, {page} a page ({label})");
        report(&format!("list page ({label})"), lat);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let c = Client::connect(&cli.base, &cli.api_key).await?;
    match cli.cmd {
        Cmd::Ingest {
            tenant,
            batch,
            concurrency,
            events,
            seconds,
            spread_hours,
            day,
        } => {
            ingest(
                &c,
                &tenant,
                batch,
                concurrency,
                events,
                seconds,
                (day, spread_hours),
            )
            .await
        }
        Cmd::Search { runs, index } => search(&c, runs, &index).await,
        Cmd::Watch {
            seconds,
            interval_ms,
            stop_file,
        } => watch(&c, seconds, interval_ms, stop_file).await,
        Cmd::Revocation { other, rounds } => revocation(&c, &other, rounds).await,
        Cmd::ListCases {
            tenant,
            count,
            page,
        } => list_cases(&c, &tenant, count, page).await,
        Cmd::RestFill {
            tenant,
            stamus,
            suricata,
            templates,
            concurrency,
        } => rest::fill(&c, &tenant, stamus, suricata, templates, concurrency).await,
        Cmd::RestRead {
            requests,
            concurrency,
            server_pid,
            tenant,
        } => rest::read(&c, requests, concurrency, server_pid, tenant.as_deref()).await,
        Cmd::HostIdIngest {
            tenant,
            events,
            hosts,
            days,
            batch,
            concurrency,
            seconds,
        } => {
            rest::host_id_ingest(
                &c,
                &tenant,
                events,
                hosts,
                days,
                batch,
                concurrency,
                seconds,
            )
            .await
        }
        Cmd::HostId {
            hosts,
            runs,
            concurrency,
            server_pid,
        } => rest::host_id(&c, hosts, runs, concurrency, server_pid).await,
    }
}
