//! One scan: read the target, send it, wait once on 429 if asked, print, decide the exit code.

use crate::output;
use crate::{Cli, Format};
use serde_json::Value;
use std::io::IsTerminal;
use std::path::Path;
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
}

fn target(cli: &Cli) -> Result<Target<'_>, String> {
    let path = Path::new(&cli.target);
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", cli.target))?;
    if !meta.is_file() {
        return Err(format!("{}: not a file", cli.target));
    }
    Ok(Target::Sbom(path))
}

/// A file as a request body, read in chunks, with progress on stderr when it is large and
/// stderr is a terminal.
async fn body_of(path: &Path) -> Result<stella_client::reqwest::Body, String> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
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

async fn send(
    client: &Client,
    cli: &Cli,
    path: &Path,
) -> Result<stella_client::Answer<Value>, ClientError> {
    let mut query = vec![("threshold", cli.threshold.as_str())];
    if let Some(e) = &cli.environment {
        query.push(("environment", e.as_str()));
    }
    let mut headers = Vec::new();
    if let Some(t) = &cli.sbom_type {
        headers.push(("X-Stella-Sbom-Type", t.as_str()));
    }
    let body = body_of(path).await.map_err(ClientError::Failed)?;
    client
        .send_body(
            Method::POST,
            &["scan"],
            &query,
            &headers,
            "application/json",
            body,
        )
        .await
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
    let Target::Sbom(path) = target(&cli)?;
    if cli.delta {
        eprintln!(
            "santech: --delta applies to images; {} is an SBOM, sent whole",
            cli.target
        );
    }
    if cli.policy_file.is_some() {
        return Err("--policy-file: local policies are not evaluated by this build yet".into());
    }
    let client = Client::builder(&cli.server)
        .user_agent(concat!("santech/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(cli.timeout))
        .connect(token)
        .await
        .map_err(|e| e.to_string())?;
    let answer = match send(&client, &cli, path).await {
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
            send(&client, &cli, path).await
        }
        other => other,
    }
    .map_err(|e| e.to_string())?;
    if answer.status.as_u16() == 202 {
        return Err("the server queued the scan (202); this build does not poll for it".into());
    }
    let raw = answer.body;
    if let Some(out) = &cli.output_json {
        let text = serde_json::to_string_pretty(&raw).map_err(|e| e.to_string())?;
        std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    let result: ScanResponse = serde_json::from_value(raw.clone())
        .map_err(|e| format!("the server's answer is not a scan result: {e}"))?;
    let sbom = std::fs::read(path).ok();
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
