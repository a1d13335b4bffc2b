//! Assembling and running the server: state, router, listener and graceful shutdown.

use crate::activity::ActivityRecorder;
use crate::config::Config;
use crate::gateway::gateway;
use crate::metrics::Metrics;
use crate::problem::ApiError;
use crate::routes;
use crate::state::AppState;
use crate::tls::{CertStore, TlsListener};
use axum::extract::DefaultBodyLimit;
use axum::serve::ListenerExt;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use stella_core::SharedClock;
use stella_service::keyring::KeyRing;
use stella_service::Stella;
use stella_store::Database;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] stella_store::StoreError),
    #[error(transparent)]
    Service(#[from] stella_service::ServiceError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("event index: {0}")]
    Search(#[from] stella_search::SearchError),
    #[error("{0}")]
    Incompatible(String),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// A configured server, ready to bind.
#[derive(Debug, Clone)]
pub struct Server {
    pub state: AppState,
}

impl Server {
    /// Opens the store named by `config` (SQLite in the data directory unless a database URL
    /// is set) and loads or creates the signing keys (see [`Server::keys`]).
    pub async fn open(config: Config, clock: SharedClock) -> Result<Self, ServerError> {
        config.validate().map_err(ServerError::Config)?;
        // Before anything in the directory is opened: a newer release's directory is refused.
        crate::datadir::check(&config.data_dir).map_err(ServerError::Incompatible)?;
        let db = match &config.database_url {
            Some(url) => Database::connect(url).await?,
            None => Database::open_data_dir(&config.data_dir).await?,
        };
        let keys = Self::keys(&config, &db, &clock).await?;
        let stream = Self::event_stream(&config).await?;
        Self::with_parts(config, db, clock, keys, stream)
    }

    /// With `nats_url`, the deployment's event stream (connected, created if missing); without,
    /// `None`: the embedded write-ahead log.
    pub async fn event_stream(
        config: &Config,
    ) -> Result<Option<stella_search::nats::NatsStream>, ServerError> {
        let Some(url) = &config.nats_url else {
            return Ok(None);
        };
        let nats = stella_search::nats::NatsConfig {
            url: url.clone(),
            stream: config.nats_stream.clone(),
            replicas: config.nats_replicas,
        };
        Ok(Some(stella_search::nats::NatsStream::connect(nats).await?))
    }

    /// The signing keys: with a deployment secret, the deployment's keys in the database
    /// (importing this data directory's key files if the deployment has none yet); without
    /// one, the key files in the data directory. On PostgreSQL without a secret the server
    /// warns: its tokens will not verify on the deployment's other servers.
    pub async fn keys(
        config: &Config,
        db: &Database,
        clock: &SharedClock,
    ) -> Result<KeyRing, ServerError> {
        let dir = config.data_dir.join("keys");
        match config.deployment_secret().map_err(ServerError::Config)? {
            Some(secret) => Ok(KeyRing::shared(db.clone(), &secret, &dir, clock.now_ms()).await?),
            None => {
                if db.backend() == stella_store::Backend::Postgres {
                    tracing::warn!(
                        "no deployment secret: signing keys stay in this server's data directory, \
                         so its tokens are refused by other servers sharing the database"
                    );
                }
                Ok(KeyRing::files(&dir)?)
            }
        }
    }

    pub fn with_parts(
        config: Config,
        db: Database,
        clock: SharedClock,
        keys: KeyRing,
        stream: Option<stella_search::nats::NatsStream>,
    ) -> Result<Self, ServerError> {
        config.validate().map_err(ServerError::Config)?;
        crate::datadir::check(&config.data_dir).map_err(ServerError::Incompatible)?;
        let metrics = Arc::new(Metrics::new()?);
        let activity = ActivityRecorder::start(
            db.clone(),
            config.activity_queue,
            config.activity_body_max_bytes,
            metrics.clone(),
        );
        let dir = config.data_dir.join("events");
        let options = stella_search::IndexOptions {
            max_bulk: config.max_bulk_events,
            search_budget_ms: config.search_budget_ms,
            idle_writer_ms: config.events_idle_writer_secs.saturating_mul(1000),
            final_merge_max_docs: config.events_final_merge_max_docs,
            // Host ID's facts, kept per day as events are indexed.
            rollup: Some(stella_search::RollupHook(Arc::new(
                stella_service::host_facts::HostFacts,
            ))),
            ..stella_search::IndexOptions::default()
        };
        let events = match stream {
            Some(stream) => stella_search::EventIndex::open_shared(&dir, options, stream)?,
            None => stella_search::EventIndex::open(&dir, options)?,
        };
        let stella = Stella::new(db, clock, keys, config.settings(), events);
        Ok(Self {
            state: AppState::new(stella, config, metrics, activity),
        })
    }

    pub fn stella(&self) -> &Stella {
        &self.state.stella
    }

    /// Serves on `listener` until [`RunningServer::stop`] is called: HTTPS when the
    /// configuration names a certificate and key, plain HTTP otherwise.
    pub async fn spawn(self, listener: TcpListener) -> Result<RunningServer, ServerError> {
        let addr = listener.local_addr()?;
        crate::upload::clean_spool(&self.state.config.spool_dir());
        self.state.stella.listening_on(&addr.to_string()).await;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let app = build_router(self.state.clone());
        let make = app.into_make_service_with_connect_info::<SocketAddr>();
        let shutdown = async {
            let _ = stop_rx.await;
        };
        let (task, tls, watcher) = match (&self.state.config.tls_cert, &self.state.config.tls_key) {
            (Some(cert), Some(key)) => {
                let store = CertStore::open(cert, key).map_err(ServerError::Config)?;
                let listener = TlsListener::new(listener, store.clone())?.tap_io(|_| {});
                let task = tokio::spawn(async move {
                    axum::serve(listener, make)
                        .with_graceful_shutdown(shutdown)
                        .await
                });
                let watched = store.clone();
                let watcher = tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(crate::tls::RELOAD_POLL).await;
                        watched.reload_if_changed();
                    }
                });
                (task, Some(store), Some(watcher))
            }
            _ => {
                // TCP_NODELAY: a response hyper writes in more than one segment (a page of a
                // list, say) would otherwise wait for the client's delayed ACK between them.
                let listener = listener.tap_io(|tcp| {
                    if let Err(e) = tcp.set_nodelay(true) {
                        tracing::debug!(error = %e, "could not set TCP_NODELAY");
                    }
                });
                let task = tokio::spawn(async move {
                    axum::serve(listener, make)
                        .with_graceful_shutdown(shutdown)
                        .await
                });
                (task, None, None)
            }
        };
        Ok(RunningServer {
            addr,
            state: self.state,
            stop: Some(stop_tx),
            task,
            tls,
            watcher,
        })
    }
}

pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    tls: Option<Arc<CertStore>>,
    watcher: Option<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Reads the TLS certificate and key files again now (the server also notices changes by
    /// itself every few seconds).
    pub fn reload_tls(&self) -> Result<(), String> {
        match &self.tls {
            Some(store) => store.reload(),
            None => Err("this server does not serve TLS".into()),
        }
    }

    /// Graceful stop: no new connections, running searches stopped, in-flight requests
    /// finish, the activity log is written out, then the database closes.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
        // A long search must not hold shutdown: it stops at its next budget check.
        self.state.stella.events().cancel_searches();
        let served = (&mut self.task)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.state.activity.flush().await;
        // Running background jobs (reports, playbook runs) finish before their database goes
        // away; queued ones stay queued for another server, or this one after a restart.
        self.state.stella.stop_jobs().await;
        let events = self.state.stella.events().clone();
        match tokio::task::spawn_blocking(move || events.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "the event index did not close cleanly"),
            Err(e) => tracing::error!(error = %e, "the event index did not close cleanly"),
        }
        self.state.stella.db().close().await;
        served.map_err(ServerError::from)
    }
}

pub fn build_router(state: AppState) -> Router {
    let (router, openapi) = routes::router();
    let yaml = openapi
        .to_yaml()
        .unwrap_or_else(|e| format!("# could not render the OpenAPI document: {e}\n"));
    let _ = state.openapi_yaml.set(yaml);
    router
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            ApiError::MethodNotAllowed(method)
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), gateway))
        // Outside the gateway, so its refusals (401, 429) are shown as pages too.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::browsable::browsable,
        ))
        .layer(DefaultBodyLimit::max(
            state
                .config
                .max_body_bytes
                .max(state.config.max_ingest_body_bytes),
        ))
        .layer(axum::middleware::from_fn(nosniff))
        .with_state(state)
}

/// Every answer is what its `Content-Type` says: a browser must not sniff a tenant's text (an
/// exported ruleset, an uploaded name echoed in JSON) into HTML or script.
async fn nosniff(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut r = next.run(req).await;
    r.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    r
}
