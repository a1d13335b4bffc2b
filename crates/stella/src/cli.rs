use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use stella_server::Config;

#[derive(Debug, Parser)]
#[command(
    name = "stella",
    version,
    about = "Stella Ops: self-hosted, multi-tenant security operations platform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (creates the root administrator on the first start).
    Serve {
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Create the root super admin and print its email, API key and legacy token as JSON.
    Init {
        #[command(flatten)]
        common: CommonArgs,
        /// Email of the root super admin.
        #[arg(long, env = "STELLA_ADMIN_EMAIL")]
        email: String,
    },
    /// Add another root super admin (on the server machine: the API only lets a caller make
    /// users it outranks) and print its email and API key as JSON.
    AddRootAdmin {
        #[command(flatten)]
        common: CommonArgs,
        /// Email of the new root super admin.
        #[arg(long)]
        email: String,
    },
    /// Copy the data directory of an embedded deployment (SQLite and the embedded event log)
    /// into a new directory, consistently, while the server keeps serving; prints a summary.
    Backup {
        #[command(flatten)]
        common: CommonArgs,
        /// The backup directory (new or empty).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into a new data directory, after checking every file against the
    /// backup's manifest; then `stella serve --data-dir` it.
    Restore {
        /// The backup directory (made by `stella backup`).
        #[arg(long)]
        from: PathBuf,
        /// The data directory to create (new or empty).
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Print a commented configuration file with every default.
    DefaultConfig,
}

/// Settings shared by `serve` and `init`. Each is optional so the file and the defaults show
/// through when a flag or variable is not given.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// TOML configuration file (see `stella default-config`).
    #[arg(long, env = "STELLA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory: SQLite database, signing keys, first-run credentials.
    #[arg(long, env = "STELLA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "STELLA_LISTEN")]
    pub listen: Option<String>,
    /// PostgreSQL URL for shared deployments (default: SQLite in the data directory).
    #[arg(long, env = "STELLA_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Requests per second per token (per address when unauthenticated).
    #[arg(long, env = "STELLA_RATE_LIMIT_PER_SECOND")]
    pub rate_limit_per_second: Option<u32>,
    /// Largest request body in bytes.
    #[arg(long, env = "STELLA_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Lifetime of JWTs from /access_token, in seconds.
    #[arg(long, env = "STELLA_ACCESS_TOKEN_TTL_SECS")]
    pub access_token_ttl_secs: Option<i64>,
    /// Root administrator email for the first start of `serve`.
    #[arg(long, env = "STELLA_ADMIN_EMAIL", hide = true)]
    pub admin_email: Option<String>,
    /// Turn the user activity log off (measuring its cost only; loses the audit trail).
    #[arg(long, env = "STELLA_NO_ACTIVITY_LOG", hide = true)]
    pub no_activity_log: bool,
    /// Log filter (tracing syntax).
    #[arg(long, env = "STELLA_LOG")]
    pub log: Option<String>,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS only.
    #[arg(long, env = "STELLA_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "STELLA_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Internal webhook destinations to allow (comma-separated hosts, host:port, IPs or CIDRs).
    #[arg(long, env = "STELLA_WEBHOOK_ALLOW", value_delimiter = ',')]
    pub webhook_allow: Option<Vec<String>>,
    /// Reverse proxies whose X-Forwarded-For names the client (comma-separated IPs or CIDRs).
    #[arg(long, env = "STELLA_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
    /// Several servers, one deployment: the secret sealing the signing keys in the shared
    /// database (at least 32 bytes). Prefer the environment or the file form to the flag.
    #[arg(
        long,
        env = "STELLA_DEPLOYMENT_SECRET",
        hide_env_values = true,
        hide = true
    )]
    pub deployment_secret: Option<stella_server::config::Secret>,
    /// Redis URL: rate limits and brute-force counters shared by every server.
    #[arg(long, env = "STELLA_REDIS_URL")]
    pub redis_url: Option<String>,
    /// The deployment secret, read from this file.
    #[arg(long, env = "STELLA_DEPLOYMENT_SECRET_FILE")]
    pub deployment_secret_file: Option<PathBuf>,
    /// NATS URL: security events go to a JetStream stream every server indexes.
    #[arg(long, env = "STELLA_NATS_URL")]
    pub nats_url: Option<String>,
    /// Background jobs' lease (seconds): a dead server's job is taken over this long after.
    #[arg(long, env = "STELLA_JOB_LEASE_SECS")]
    pub job_lease_secs: Option<i64>,
    /// Free bytes on the data directory's disk below which ingest and data writes are refused.
    #[arg(long, env = "STELLA_MIN_FREE_BYTES")]
    pub min_free_bytes: Option<u64>,
}

impl CommonArgs {
    pub fn apply(&self, c: &mut Config) {
        if let Some(v) = &self.data_dir {
            c.data_dir = v.clone();
        }
        if let Some(v) = &self.listen {
            c.listen = v.clone();
        }
        if let Some(v) = &self.database_url {
            c.database_url = Some(v.clone());
        }
        if let Some(v) = self.rate_limit_per_second {
            c.rate_limit_per_second = v;
        }
        if let Some(v) = self.max_body_bytes {
            c.max_body_bytes = v;
        }
        if let Some(v) = self.access_token_ttl_secs {
            c.access_token_ttl_secs = v;
        }
        if let Some(v) = &self.admin_email {
            c.admin_email = v.clone();
        }
        if self.no_activity_log {
            c.activity_log = false;
        }
        if let Some(v) = &self.log {
            c.log = v.clone();
        }
        if let Some(v) = &self.tls_cert {
            c.tls_cert = Some(v.clone());
        }
        if let Some(v) = &self.nats_url {
            c.nats_url = Some(v.clone());
        }
        if let Some(v) = self.job_lease_secs {
            c.job_lease_secs = v;
        }
        if let Some(v) = self.min_free_bytes {
            c.min_free_bytes = v;
        }
        if let Some(v) = &self.redis_url {
            c.redis_url = Some(v.clone());
        }
        // One source of the secret: a flag or variable replaces the file's (either form).
        if self.deployment_secret.is_some() || self.deployment_secret_file.is_some() {
            c.deployment_secret = self.deployment_secret.clone();
            c.deployment_secret_file = self.deployment_secret_file.clone();
        }
        if let Some(v) = &self.tls_key {
            c.tls_key = Some(v.clone());
        }
        if let Some(v) = &self.webhook_allow {
            c.webhook_allow = v.clone();
        }
        if let Some(v) = &self.trusted_proxies {
            c.trusted_proxies = v.clone();
        }
    }
}
