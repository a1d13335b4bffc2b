//! `stella`: the Stella Ops server (`serve`) and its local administration (`init`,
//! `add-root-admin`, `backup`, `restore`, `default-config`).

mod backup;
mod cli;

use anyhow::{bail, Context};
use clap::Parser;
use cli::{Cli, Command, CommonArgs};
use std::io::Write;
use std::sync::Arc;
use stella_core::SystemClock;
use stella_server::{Config, Server, DEFAULT_CONFIG_TOML};
use tracing_subscriber::EnvFilter;

// Many small, short-lived allocations per request (headers, JSON, records): mimalloc handles
// them with less contention than glibc's allocator on the server's worker threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::DefaultConfig => {
            print!("{DEFAULT_CONFIG_TOML}");
            Ok(())
        }
        Command::Init { common, email } => {
            let config = load_config(&common)?;
            init_logging(&config.log);
            let server = Server::open(config, Arc::new(SystemClock)).await?;
            let creds = match server.stella().init_root(&email).await {
                Ok(c) => c,
                Err(stella_service::ServiceError::Conflict(m)) => bail!("{m}"),
                Err(e) => return Err(e.into()),
            };
            server.stella().db().close().await;
            println!("{}", serde_json::to_string(&creds)?);
            Ok(())
        }
        Command::AddRootAdmin { common, email } => {
            let config = load_config(&common)?;
            init_logging(&config.log);
            let server = Server::open(config, Arc::new(SystemClock)).await?;
            let creds = match server.stella().add_root_admin(&email).await {
                Ok(c) => c,
                Err(stella_service::ServiceError::Conflict(m)) => bail!("{m}"),
                Err(stella_service::ServiceError::Invalid(errors)) => bail!(
                    "{}",
                    errors
                        .iter()
                        .map(|e| e.msg.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                Err(e) => return Err(e.into()),
            };
            server.stella().db().close().await;
            println!("{}", serde_json::to_string(&creds)?);
            Ok(())
        }
        Command::Serve { common } => serve(load_config(&common)?).await,
        Command::Backup { common, to } => {
            let config = load_config(&common)?;
            init_logging(&config.log);
            let file = common.config.clone();
            let summary =
                tokio::task::spawn_blocking(move || backup::backup(&config, file.as_deref(), &to))
                    .await??;
            println!("{}", serde_json::to_string(&summary)?);
            Ok(())
        }
        Command::Restore { from, data_dir } => {
            init_logging("warn");
            let summary =
                tokio::task::spawn_blocking(move || backup::restore(&from, &data_dir)).await??;
            println!("{}", serde_json::to_string(&summary)?);
            eprintln!(
                "Restored into {}; start it with: stella serve --data-dir {}",
                summary.directory, summary.directory
            );
            Ok(())
        }
    }
}

/// Flags and `STELLA_*` variables (clap merges those two) over the TOML file over defaults.
fn load_config(args: &CommonArgs) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the configuration file {}", path.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("in the configuration file {}", path.display()))?
        }
        None => Config::default(),
    };
    args.apply(&mut config);
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    Ok(config)
}

fn init_logging(filter: &str) {
    let filter = EnvFilter::try_from_env("STELLA_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn serve(config: Config) -> anyhow::Result<()> {
    init_logging(&config.log);
    if !config.activity_log {
        tracing::warn!("the user activity log is OFF: API calls are not being recorded");
    }
    let listen = config.listen.clone();
    let data_dir = config.data_dir.clone();
    let server = Server::open(config, Arc::new(SystemClock)).await?;
    if !server.stella().is_initialised().await? {
        let email = server.state.config.admin_email.clone();
        let creds = server.stella().init_root(&email).await?;
        let path = data_dir.join("initial-credentials.json");
        write_private(&path, serde_json::to_string_pretty(&creds)?.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        tracing::info!(file = %path.display(), email = %creds.email, "first start: created the root administrator; its API key and legacy token are in the file (mode 0600)");
        eprintln!(
            "First start: root administrator {} created; credentials written to {}",
            creds.email,
            path.display()
        );
    }
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let scheme = if server.state.config.tls_enabled() {
        "https"
    } else {
        "http"
    };
    tracing::info!(%addr, scheme, "Stella Ops listening");
    eprintln!("Stella Ops listening on {scheme}://{addr}");
    let running = server.spawn(listener).await?;
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests and writing the activity log");
    running.stop().await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}
