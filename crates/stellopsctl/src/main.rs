//! `stellopsctl`: administers a Stella Ops server through its HTTP API.
//!
//! Exit codes: 0 success; 1 the server refused the request (400, 401, 403, 404, 409, 429);
//! 2 anything else (usage, missing token, network, 5xx, unreadable answers).

mod client;
mod commands;
mod feed;
mod output;
mod policy;

use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;
use stella_client::ClientError;

#[derive(Debug, Parser)]
#[command(
    name = "stellopsctl",
    version,
    about = "Administer a Stella Ops server: users, API keys, tenants, OAuth clients, the vulnerability feed and the scan policy"
)]
pub struct Cli {
    /// Base URL of the Stella Ops server.
    #[arg(long, global = true, default_value = "http://localhost:8080")]
    pub server: String,
    /// Your API key (stk_...), exchanged for a short-lived JWT; a JWT is used as is.
    // hide_env_values: `--help` must never echo a secret taken from the environment.
    #[arg(long, global = true, env = "STELLA_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the server's JSON answer instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage your API keys.
    #[command(subcommand)]
    Apikey(ApikeyCmd),
    /// Manage tenants (root-scope users only).
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Manage OAuth 2.0 clients (client-credentials grant).
    #[command(subcommand)]
    Client(ClientCmd),
    /// The deployment's token signing keys (root super admins only).
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The servers of the deployment (root super admins).
    #[command(subcommand)]
    Nodes(NodesCmd),
    /// The vulnerability feed scans are matched against (OSV advisories).
    #[command(subcommand)]
    Feed(FeedCmd),
    /// The scan policy (YAML or Rego): back it up, restore it, lint it, see its changes.
    #[command(subcommand)]
    Policy(PolicyCmd),
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Print the policy in force, exactly as stored (`> backup.yaml` to keep it).
    Export {
        /// A tenant's policy (root and partner users), or `*` for the platform default.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Replace the policy in force with FILE (YAML, or Rego starting with `package`; `-` reads
    /// standard input). Nothing changes if it does not validate.
    Import {
        file: std::path::PathBuf,
        /// A tenant's policy (root and partner users), or `*` for the platform default.
        #[arg(long)]
        tenant: Option<String>,
        /// Why, for the change log.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Lint FILE without importing it: each error with its path, exit 1 if any.
    Validate { file: std::path::PathBuf },
    /// The change log, newest first: who imported which version when.
    History {
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Print one version's text from the change log (to inspect or re-import it).
    Show { id: String },
}

#[derive(Debug, Subcommand)]
pub enum FeedCmd {
    /// Import OSV advisories (root super admins): each --from is an OSV export zip
    /// ({ecosystem}/all.zip) or a directory of OSV JSON files; all are imported as one new
    /// feed version, which replaces the current one atomically once complete.
    Refresh {
        /// An OSV export zip or a directory of OSV JSON files (repeatable). This server
        /// fetches nothing from the internet: the advisories come from here.
        #[arg(long = "from", value_name = "PATH", required = true)]
        from: Vec<std::path::PathBuf>,
        /// merge: keep the current feed's ecosystems that these files do not bring;
        /// replace: the feed becomes exactly these files.
        #[arg(long, default_value = "merge", value_parser = ["merge", "replace"])]
        mode: String,
        /// Return once uploaded, without waiting for the import to finish.
        #[arg(long)]
        no_wait: bool,
        /// Longest to wait for the import, in seconds.
        #[arg(long, default_value_t = 1800)]
        wait_secs: u64,
    },
    /// Records per ecosystem, where they came from, when imported, the latest imports.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum NodesCmd {
    /// List the servers: version, health, event-index lag, background jobs.
    List,
    /// Stop a server taking new background work (before removing it).
    Drain { id: String },
    /// Let a drained server take background work again.
    Undrain { id: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// List the signing keys and which one signs.
    List,
    /// Make a new signing key: every server publishes it before it signs; tokens signed by
    /// earlier keys stay valid until they expire.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user; without --password (or --sso) a password is generated and shown once.
    Add(UserAdd),
    /// List the users visible to you.
    List(Paging),
}

#[derive(Debug, Args)]
pub struct UserAdd {
    pub email: String,
    /// Privilege profile id: super_admin, platform_admin, security_admin, analyst, read_only
    /// (the built-ins' ids are their names) or a custom profile's id.
    #[arg(long)]
    pub role: String,
    /// Place the user in this tenant (default: the server decides from your own scope).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Initial password, at least 12 characters. Visible to other local users in the process
    /// list, so prefer the generated one.
    #[arg(long, conflicts_with = "sso")]
    pub password: Option<String>,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Single sign-on account: no local password.
    #[arg(long)]
    pub sso: bool,
}

#[derive(Debug, Args)]
pub struct Paging {
    /// Page size (the server caps it).
    #[arg(long)]
    pub limit: Option<u64>,
    /// Number of entries to skip.
    #[arg(long)]
    pub offset: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum ApikeyCmd {
    /// Create an API key for yourself; the secret is shown once.
    Create {
        /// A name to recognise the key by.
        #[arg(long)]
        name: Option<String>,
        /// Narrow the key to this permission (repeat for more; default: all of yours).
        #[arg(long = "permission", value_name = "PERMISSION")]
        permissions: Vec<String>,
        /// Expire the key after this many days (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List your API keys (or another user's, with --user). Secrets are never listed.
    List {
        /// User id whose keys to list.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke an API key; JWTs it minted stop working at once.
    Revoke { key_id: String },
}

#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant.
    Add {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// List tenants.
    List(Paging),
}

#[derive(Debug, Subcommand)]
pub enum ClientCmd {
    /// Register an OAuth 2.0 client; its secret is shown once.
    Add {
        name: String,
        /// Scope the client may request: stella.api or a permission name (repeatable).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Privilege profile id of the client (default: yours).
        #[arg(long)]
        role: Option<String>,
        /// Narrow the client to this tenant (repeatable; default: your tenancy).
        #[arg(long = "tenant", value_name = "TENANT")]
        tenants: Vec<String>,
    },
}

fn main() -> ExitCode {
    // clap prints its own usage errors and exits 2, matching our "local error" code.
    let cli = Cli::parse();
    // One request at a time: a current-thread runtime is all this needs.
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClientError::Failed(format!("cannot start the async runtime: {e}")))
        .and_then(|rt| rt.block_on(commands::run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
