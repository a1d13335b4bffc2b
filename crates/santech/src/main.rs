//! `santech`: the Stella Ops CI scanner (API reference §3.1). Sends an SBOM (or an image) to
//! the server's `POST /scan` and turns the verdict into an exit code a pipeline can act on.
//!
//! Exit codes, exactly as the reference gives them:
//! - 0: the scan is done and the policy passed (`pass`, or `warn`);
//! - 1: vulnerabilities at or above `--threshold`, or a policy rule that blocks (`fail`);
//! - 2: anything else — network, refused request (a bad SBOM, a spent quota after waiting
//!   once), unreadable input or answer.

mod output;
mod scan;

use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A summary and a table of findings (the default).
    Table,
    /// The server's answer as it came.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// The scanned SBOM as CycloneDX 1.5 with its vulnerabilities.
    Cyclonedx,
}

#[derive(Debug, Parser)]
#[command(
    name = "santech",
    version,
    about = "Scan an SBOM or a container image with a Stella Ops server; exit 0 (pass), 1 (vulnerabilities at or above the threshold, or a policy block) or 2 (error)"
)]
pub struct Cli {
    /// An SBOM file (CycloneDX JSON, SPDX JSON, Trivy JSON v2), an image tarball (`docker
    /// save` or OCI layout), or an image in a registry (`registry/repo:tag`).
    #[arg(value_name = "IMAGE_OR_SBOM")]
    pub target: String,
    /// API root.
    #[arg(long, default_value = "http://localhost:8080")]
    pub server: String,
    /// Bearer token: an offline token, a JWT, or an API key (stk_…, exchanged for a JWT).
    // hide_env_values: `--help` must never echo a secret taken from the environment.
    #[arg(long, env = "STELLA_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Force the SBOM type: trivy-json-v2, spdx-json or cyclonedx-json (default: detected).
    #[arg(long, value_name = "TYPE")]
    pub sbom_type: Option<String>,
    /// Delta layer optimisation: catalogue the image's layers here and send only those the
    /// server has not seen.
    #[arg(long)]
    pub delta: bool,
    /// Decide with this local YAML or Rego policy instead of the server's rules.
    #[arg(long, value_name = "FILE")]
    pub policy_file: Option<PathBuf>,
    /// Fail the build if a finding at or above this level is found: low, medium, high,
    /// critical.
    #[arg(long, default_value = "critical", value_parser = ["low", "medium", "high", "critical"])]
    pub threshold: String,
    /// Write the server's raw scan answer to this file.
    #[arg(long, value_name = "FILE")]
    pub output_json: Option<PathBuf>,
    /// On 429 (quota or rate limit), wait Retry-After and retry once.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub wait_quota: bool,
    /// What to print on standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The environment the policy is evaluated for (dev, staging, prod…).
    #[arg(long)]
    pub environment: Option<String>,
    /// With --delta and a registry image: pull it over plain http (a lab registry).
    #[arg(long)]
    pub insecure_registry: bool,
    /// Longest the whole scan may take, in seconds.
    #[arg(long, default_value_t = 1800)]
    pub timeout: u64,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version are not errors; usage errors exit 2 like any other.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
        .and_then(|rt| rt.block_on(scan::run(cli)));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("santech: {e}");
            ExitCode::from(2)
        }
    }
}
