//! One scan: read the target, send it, wait once on 429 if asked, print, decide the exit code.

use crate::output;
use crate::{Cli, Format};
use serde_json::Value;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;
use stella_client::{Client, ClientError, Method};
use stella_proto::scan::{PolicyStatus, ScanResponse};
use tokio::io::AsyncReadExt;

/// Uploads larger than this show progress on a terminal.
const PROGRESS_FROM: u64 = 8 << 20;
/// The longest santech waits on a 429 before its one retry.
const MAX_QUOTA_WAIT: Duration = Duration::from_secs(24 * 3600);

/// What is being scanned.
#[derive(Debug)]
enum Target<'a> {
    Sbom(&'a Path),
    /// A `docker save` or OCI layout tarball.
    Image(&'a Path),
    /// An image in a registry (`registry/repo:tag`), pulled by the server (or here, with
    /// `--delta`).
    Registry(&'a str),
}

fn target(cli: &Cli) -> Result<Target<'_>, String> {
    let path = Path::new(&cli.target);
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        // Not a file: a registry reference if it reads as one.
        Err(e) => {
            return match stella_registry::Reference::parse(&cli.target) {
                Ok(_) if !cli.target.starts_with('/') && !cli.target.starts_with('.') => {
                    Ok(Target::Registry(&cli.target))
                }
                _ => Err(format!("{}: {e}", cli.target)),
            }
        }
    };
    if !meta.is_file() {
        return Err(format!(
            "{}: not a file (an SBOM or an image tarball)",
            cli.target
        ));
    }
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .map_err(|e| format!("{}: {e}", cli.target))?;
    let head = &head[..n];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let json = head
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    Ok(if json {
        Target::Sbom(path)
    } else {
        Target::Image(path)
    })
}

/// Bodies up to this size are read into memory and sent whole.
const IN_ONE_WRITE: u64 = 1 << 20;

/// A file as a request body: a small one whole, a larger one read in chunks, with progress on
/// stderr when it is large and stderr is a terminal.
async fn body_of(path: &Path) -> Result<stella_client::reqwest::Body, String> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    if size <= IN_ONE_WRITE {
        // Sent with the headers in one write: a server that answers before reading the body
        // (a 429 from the rate limiter, a 401) then has it all, and its answer is read here,
        // rather than a streamed body's next write failing on the closed connection.
        return tokio::fs::read(path)
            .await
            .map(stella_client::reqwest::Body::from)
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    let show = size >= PROGRESS_FROM && std::io::stderr().is_terminal();
    let name = path.display().to_string();
    let stream = futures::stream::unfold((file, 0u64, 0u64), move |(mut file, sent, shown)| {
        let name = name.clone();
        async move {
            let mut buf = vec![0u8; 256 * 1024];
            match file.read(&mut buf).await {
                Ok(0) => {
                    if show {
                        eprintln!("\rsent {name}: {} MiB, done", sent >> 20);
                    }
                    None
                }
                Ok(n) => {
                    buf.truncate(n);
                    let sent = sent + n as u64;
                    let pct = sent * 100 / size.max(1);
                    let shown = if show && pct >= shown + 5 {
                        eprint!("\rsending {name}: {pct}% of {} MiB", size >> 20);
                        pct
                    } else {
                        shown
                    };
                    Some((Ok::<_, std::io::Error>(buf), (file, sent, shown)))
                }
                Err(e) => Some((Err(e), (file, sent, shown))),
            }
        }
    });
    Ok(stella_client::reqwest::Body::wrap_stream(stream))
}

/// What one attempt sends.
enum Upload<'a> {
    /// A file as it is (an SBOM, an image tarball).
    File(&'a Path, &'static str),
    /// A delta scan's JSON.
    Json(&'a Value),
}

async fn send(
    client: &Client,
    cli: &Cli,
    upload: &Upload<'_>,
) -> Result<stella_client::Answer<Value>, ClientError> {
    let mut query = vec![("threshold", cli.threshold.as_str())];
    if let Some(e) = &cli.environment {
        query.push(("environment", e.as_str()));
    }
    let mut headers = Vec::new();
    if let Some(t) = &cli.sbom_type {
        headers.push(("X-Stella-Sbom-Type", t.as_str()));
    }
    let (body, content_type) = match upload {
        Upload::File(path, ct) => (body_of(path).await.map_err(ClientError::Failed)?, *ct),
        Upload::Json(v) => (
            stella_client::reqwest::Body::from(v.to_string()),
            "application/json",
        ),
    };
    client
        .send_body(
            Method::POST,
            &["scan"],
            &query,
            &headers,
            content_type,
            body,
        )
        .await
}

/// An image on this machine: a tarball, or an OCI layout directory pulled from a registry.
enum Local {
    Tarball(PathBuf),
    Dir(PathBuf),
}

fn catalogue_from<R: std::io::Read + std::io::Seek>(
    mut archive: stella_image::Archive<R>,
    wanted: &[usize],
) -> Result<(stella_image::Image, Vec<Value>), String> {
    let image = archive.image().clone();
    let limits = stella_catalog::Limits::default();
    let docs = wanted
        .iter()
        .map(|&i| {
            stella_layers::catalogue_layer(&mut archive, i, &limits)
                .map(|d| d.to_cyclonedx())
                .map_err(|e| format!("layer {i}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    Ok((image, docs))
}

impl Local {
    /// The image, and the layer documents of layers `wanted`.
    fn catalogue(&self, wanted: &[usize]) -> Result<(stella_image::Image, Vec<Value>), String> {
        let limits = stella_image::Limits::default();
        match self {
            Local::Tarball(p) => {
                let f = std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
                let a = stella_image::open_archive(std::io::BufReader::new(f), limits)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                catalogue_from(a, wanted)
            }
            Local::Dir(p) => {
                let a = stella_image::open_layout_dir(p, limits).map_err(|e| e.to_string())?;
                catalogue_from(a, wanted)
            }
        }
    }
}

/// `--delta`: catalogue the image's layers here, ask the server which it lacks, and send the
/// layer documents of those only (the server completes the image from the ones it stored).
async fn delta_body(client: &Client, local: Local) -> Result<Value, String> {
    let local = std::sync::Arc::new(local);
    let l = local.clone();
    let (image, _) = tokio::task::spawn_blocking(move || l.catalogue(&[]))
        .await
        .map_err(|e| e.to_string())??;
    let layers: Vec<String> = image.layers.iter().map(|l| l.diff_id.clone()).collect();
    let missing: stella_proto::scan::LayersMissingResponse = client
        .post_json(
            &["layers", "missing"],
            &stella_proto::scan::LayersMissingRequest {
                layers: layers.clone(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    let wanted: Vec<usize> = layers
        .iter()
        .enumerate()
        .filter(|(_, d)| missing.missing.contains(d))
        .map(|(i, _)| i)
        .collect();
    eprintln!(
        "santech: {} of {} layers are new to the server; cataloguing those here",
        wanted.len(),
        layers.len()
    );
    let (_, docs) = tokio::task::spawn_blocking(move || local.catalogue(&wanted))
        .await
        .map_err(|e| e.to_string())??;
    Ok(serde_json::json!({
        "image": image.repo_tags.first(),
        "digest": image.manifest_digest.clone().unwrap_or(image.config_digest.clone()),
        "layers": layers,
        "layerSboms": docs,
    }))
}

/// Pulls a registry image here (for `--delta`) into `dir`.
async fn pull_here(reference: &str, dir: &Path, insecure: bool) -> Result<(), String> {
    let r = stella_registry::Reference::parse(reference).map_err(|e| e.to_string())?;
    let client = stella_client::reqwest::Client::builder()
        .redirect(stella_client::reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let options = stella_registry::Options {
        insecure_http: if insecure {
            vec![r.registry.clone()]
        } else {
            Vec::new()
        },
        ..stella_registry::Options::default()
    };
    stella_registry::pull(&client, &r, dir, &options)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Polls a queued scan (`202`, `Location`) until it is done; its answer.
async fn poll(client: &Client, location: &str, timeout: Duration) -> Result<Value, String> {
    let segments: Vec<&str> = location.trim_start_matches('/').split('/').collect();
    let give_up = std::time::Instant::now() + timeout;
    loop {
        let scan: Value = client
            .get_json(&segments, &[])
            .await
            .map_err(|e| e.to_string())?;
        match scan["state"].as_str() {
            Some("done") => return Ok(scan),
            Some("failed") => {
                return Err(format!(
                    "the scan failed: {}",
                    scan["error"].as_str().unwrap_or("no reason given")
                ))
            }
            _ if std::time::Instant::now() > give_up => {
                return Err(format!(
                    "the scan at {location} is not done after {} s",
                    timeout.as_secs()
                ))
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Runs the scan; the exit code when it completed (0 or 1), an error message otherwise (2).
pub async fn run(cli: Cli) -> Result<u8, String> {
    let token = cli
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or("no token: pass --token or set STELLA_TOKEN")?;
    if let Some(t) = &cli.sbom_type {
        stella_sbom::SbomType::from_header(t).map_err(|e| format!("--sbom-type: {e}"))?;
    }
    let target = target(&cli)?;
    let local_policy = match &cli.policy_file {
        None => None,
        Some(f) => {
            let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
            Some(stella_policy::parse_bytes(&bytes).map_err(|errors| {
                let list: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.path, e.msg))
                    .collect();
                format!("{}: {}", f.display(), list.join("; "))
            })?)
        }
    };
    let client = Client::builder(&cli.server)
        .user_agent(concat!("santech/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(cli.timeout))
        .connect(token)
        .await
        .map_err(|e| e.to_string())?;
    let delta;
    let pulled = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (path, upload) = match target {
        Target::Sbom(p) => (Some(p), Upload::File(p, "application/json")),
        Target::Image(p) if cli.delta => {
            delta = delta_body(&client, Local::Tarball(p.to_owned())).await?;
            (Some(p), Upload::Json(&delta))
        }
        Target::Image(p) => (Some(p), Upload::File(p, "application/x-tar")),
        Target::Registry(r) if cli.delta => {
            pull_here(r, pulled.path(), cli.insecure_registry).await?;
            delta = delta_body(&client, Local::Dir(pulled.path().to_owned())).await?;
            (None, Upload::Json(&delta))
        }
        Target::Registry(r) => {
            delta = serde_json::json!({ "image": r });
            (None, Upload::Json(&delta))
        }
    };
    let answer = match send(&client, &cli, &upload).await {
        Err(ClientError::Refused {
            status: 429,
            retry_after,
            ..
        }) if cli.wait_quota => {
            let wait = retry_after.unwrap_or(Duration::from_secs(1)).min(MAX_QUOTA_WAIT);
            eprintln!(
                "santech: 429 from the server (quota or rate limit); waiting {} s, then trying once more",
                wait.as_secs()
            );
            tokio::time::sleep(wait).await;
            send(&client, &cli, &upload).await
        }
        other => other,
    }
    .map_err(|e| e.to_string())?;
    let raw = if answer.status.as_u16() == 202 {
        let location = answer
            .headers
            .get("location")
            .and_then(|l| l.to_str().ok())
            .ok_or("the server queued the scan (202) without a Location to poll")?
            .to_owned();
        eprintln!("santech: the server queued the scan; waiting for {location}");
        poll(&client, &location, Duration::from_secs(cli.timeout)).await?
    } else {
        answer.body
    };
    if let Some(out) = &cli.output_json {
        let text = serde_json::to_string_pretty(&raw).map_err(|e| e.to_string())?;
        std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    let mut result: ScanResponse = serde_json::from_value(raw.clone())
        .map_err(|e| format!("the server's answer is not a scan result: {e}"))?;
    if let Some(policy) = &local_policy {
        // The local policy decides instead of the server's rules, on the server's findings.
        let threshold: stella_proto::scan::Threshold = cli
            .threshold
            .parse()
            .map_err(|e: stella_proto::scan::ThresholdError| e.to_string())?;
        let decision = policy
            .evaluate(&stella_policy::Input {
                findings: &result.findings,
                environment: cli.environment.as_deref(),
                now: chrono::Utc::now(),
                threshold,
            })
            .map_err(|e| format!("--policy-file: {e}"))?;
        decision.annotate(&mut result.findings);
        result.policy_status = decision.status;
        for m in &decision.messages {
            eprintln!("santech: policy: {m}");
        }
        eprintln!(
            "santech: decided by the local policy {}: {}",
            cli.policy_file
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            result.policy_status.as_str()
        );
    }
    let sbom = match (upload, path) {
        (Upload::File(_, "application/json"), Some(p)) => std::fs::read(p).ok(),
        _ => None,
    };
    match cli.format {
        Format::Json => output::print_json(&raw)?,
        Format::Table => output::print_table(&result, &cli.threshold),
        Format::Sarif => output::print_json(&output::sarif(&result, &cli.target))?,
        Format::Cyclonedx => output::print_json(&output::cyclonedx(
            &result,
            sbom.as_deref(),
            cli.sbom_type.as_deref(),
        )?)?,
    }
    Ok(match result.policy_status {
        PolicyStatus::Fail => 1,
        PolicyStatus::Pass | PolicyStatus::Warn => 0,
    })
}
