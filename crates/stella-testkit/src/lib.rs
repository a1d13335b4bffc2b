//! A real Stella Ops server for tests: bound to `127.0.0.1:0`, on SQLite in a temporary data
//! directory, or on a fresh PostgreSQL database when `STELLA_TEST_POSTGRES_URL` is set, with a
//! [`ManualClock`] the test moves by hand.

use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use sqlx::Connection;
use std::sync::Arc;
use stella_core::ManualClock;
use stella_server::{Config, RunningServer, Server};
use stella_service::InitCredentials;
use stella_store::Database;
use tempfile::TempDir;

pub use reqwest;
pub use serde_json;

pub const POSTGRES_ENV: &str = "STELLA_TEST_POSTGRES_URL";
/// NATS with JetStream for the tests of events shared by several servers (each test makes its
/// own stream and deletes it).
pub const NATS_ENV: &str = "STELLA_TEST_NATS_URL";
pub const ROOT_EMAIL: &str = "root@stella.test";
/// The password `user_with_key` gives users created without one.
pub const DEFAULT_PASSWORD: &str = "correct horse battery staple";

pub struct TestServer {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub root: InitCredentials,
    pub client: reqwest::Client,
    pub data_dir: TempDir,
    running: Option<RunningServer>,
    postgres: Option<PgDatabase>,
}

/// The PostgreSQL database a test server uses.
#[derive(Debug, Clone)]
struct PgDatabase {
    /// Where it was created from (and is dropped through).
    admin: String,
    name: String,
    url: String,
    /// The server that created it drops it when it stops; the other servers of a
    /// [`Cluster`] only connect to it.
    owned: bool,
}

/// What a server joining a [`Cluster`] shares with the first one.
struct Join {
    db: PgDatabase,
    clock: Arc<ManualClock>,
    root: InitCredentials,
}

/// The secret the servers of a test [`Cluster`] share (a deployment secret is at least 32
/// bytes).
pub const CLUSTER_SECRET: &str = "stella-test-cluster-secret-0123456789abcdef";

/// Which backend the suite runs on, for messages.
pub fn backend() -> &'static str {
    if std::env::var(POSTGRES_ENV).is_ok() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// Creates `stella_test_<random>` next to the database in `admin_url`; returns its URL and
/// name (drop it with [`drop_postgres`]).
pub async fn fresh_postgres(admin_url: &str) -> anyhow::Result<(String, String)> {
    let name = format!("stella_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .with_context(|| format!("connecting to {POSTGRES_ENV}"))?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let (prefix, _) = admin_url
        .rsplit_once('/')
        .ok_or_else(|| anyhow!("{POSTGRES_ENV} has no database path"))?;
    Ok((format!("{prefix}/{name}"), name))
}

/// Drops a database [`fresh_postgres`] made.
pub async fn drop_postgres(admin_url: &str, name: &str) {
    if let Ok(mut c) = sqlx::PgConnection::connect(admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut c)
            .await;
    }
}

/// A JetStream stream name of a test's own (delete it with
/// `stella_search::nats::delete_stream`).
pub fn fresh_stream_name() -> String {
    format!("STELLA_TEST_{}", uuid::Uuid::new_v4().simple())
}

/// Settings that keep ordinary tests away from the abuse limits; tests of those limits set
/// their own.
pub fn test_config() -> Config {
    Config {
        rate_limit_per_second: 100_000,
        max_auth_failures: 1000,
        // Tests share the machine's disk; the floor's own tests set theirs.
        min_free_bytes: 0,
        // Retention runs only when a test asks: tests move the clock by days, and a scheduled
        // run would be one more job on some server than the test expects.
        retention_interval_secs: 0,
        ..Config::default()
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        match Self::try_start(adjust).await {
            Ok(s) => s,
            Err(e) => panic!("test server did not start ({}): {e:#}", backend()),
        }
    }

    async fn try_start(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        Self::launch(adjust, None).await
    }

    /// A new server: alone (a fresh database), or joining `join`'s database and clock.
    async fn launch(adjust: impl FnOnce(&mut Config), join: Option<Join>) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let mut config = test_config();
        config.data_dir = data_dir.path().to_path_buf();
        config.listen = "127.0.0.1:0".into();
        adjust(&mut config);
        let (postgres, clock, root) = match join {
            Some(j) => (Some(j.db), j.clock, Some(j.root)),
            None => {
                let postgres = match std::env::var(POSTGRES_ENV) {
                    Ok(admin) => {
                        let (url, name) = fresh_postgres(&admin).await?;
                        Some(PgDatabase {
                            admin,
                            name,
                            url,
                            owned: true,
                        })
                    }
                    Err(_) => None,
                };
                (postgres, Arc::new(ManualClock::at_epoch_2026()), None)
            }
        };
        let db = match &postgres {
            Some(pg) => Database::connect(&pg.url).await?,
            None => Database::open_data_dir(data_dir.path()).await?,
        };
        let shared_clock: stella_core::SharedClock = clock.clone();
        let keys = Server::keys(&config, &db, &shared_clock).await?;
        let stream = Server::event_stream(&config).await?;
        let server = Server::with_parts(config, db, clock.clone(), keys, stream)?;
        let root = match root {
            Some(r) => r,
            None => server.stella().init_root(ROOT_EMAIL).await?,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let running = server.spawn(listener).await?;
        let base = format!("http://{}", running.addr);
        Ok(Self {
            base,
            clock,
            root,
            client: reqwest::Client::new(),
            data_dir,
            running: Some(running),
            postgres,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `POST /connect/api/v1/access_token` with `api_key`; panics unless it answers 200.
    pub async fn jwt(&self, api_key: &str) -> String {
        let r = self
            .client
            .post(self.url("/connect/api/v1/access_token"))
            .bearer_auth(api_key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = r.status();
        let body: Value = r.json().await.unwrap_or_default();
        assert_eq!(status, 200, "access_token refused: {body}");
        body["access_token"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn root_jwt(&self) -> String {
        self.jwt(&self.root.api_key).await
    }

    /// Sends a JSON request with a bearer token and returns the status and the parsed body
    /// (`Value::Null` when the body is empty or not JSON).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{e}"));
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Just the status of a body-less request.
    pub async fn status(&self, method: &str, path: &str, token: Option<&str>) -> u16 {
        self.call(method, path, token, None).await.0
    }

    pub async fn create_tenant(&self, jwt: &str, name: &str) -> String {
        let (s, body) = self
            .call(
                "POST",
                "/connect/api/v1/tenants",
                Some(jwt),
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        body["id"].as_str().unwrap_or_default().to_owned()
    }

    /// Creates a user and an API key for it, returning (user id, key). The key is made the
    /// way a new user makes their first one: sign in with the password, then
    /// `POST /api_keys` with the session. SSO accounts have no password, so theirs is issued by
    /// the service directly.
    pub async fn user_with_key(&self, admin_jwt: &str, user: Value) -> (String, String) {
        let mut user = user;
        if user.get("password").is_none() && user.get("sso").is_none() {
            user["password"] = json!(DEFAULT_PASSWORD);
        }
        let (s, body) = self
            .call(
                "POST",
                "/connect/api/v1/users",
                Some(admin_jwt),
                Some(user.clone()),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        let id = body["id"].as_str().unwrap_or_default().to_owned();
        let key = match user["password"].as_str() {
            Some(password) => {
                let email = user["email"].as_str().unwrap_or_default();
                let session = self.session(email, password).await;
                let (s, key) = self
                    .call(
                        "POST",
                        "/connect/api/v1/api_keys",
                        Some(&session),
                        Some(json!({"name": "first"})),
                    )
                    .await;
                assert_eq!(s, 201, "{key}");
                key["api_key"].as_str().unwrap_or_default().to_owned()
            }
            None => self.issue_key_for(&id).await,
        };
        (id, key)
    }

    /// `POST /connect/api/v1/sign_in`: (status, body).
    pub async fn sign_in(&self, email: &str, password: &str) -> (u16, Value) {
        self.call(
            "POST",
            "/connect/api/v1/sign_in",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// A session token for `email`; panics unless sign-in answers 200.
    pub async fn session(&self, email: &str, password: &str) -> String {
        let (s, body) = self.sign_in(email, password).await;
        assert_eq!(s, 200, "sign-in refused: {body}");
        body["access_token"].as_str().unwrap_or_default().to_owned()
    }

    /// An HTTP client whose connections come from `ip` (any 127.x.y.z address is local on
    /// Linux), to play several clients on one machine.
    pub fn client_from(&self, ip: &str) -> reqwest::Client {
        let addr: std::net::IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
        reqwest::Client::builder()
            .local_address(addr)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// For an SSO account (no password to sign in with): the service issues the key.
    async fn issue_key_for(&self, user_id: &str) -> String {
        let stella = self.stella();
        let user = stella
            .db()
            .get_user(user_id)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no user {user_id}"));
        let key = format!(
            "stk_{}_{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let (id, secret) = (&key[4..36], &key[37..]);
        stella
            .db()
            .insert_api_key(&stella_store::ApiKeyRecord {
                id: id.to_owned(),
                user_id: user.id,
                name: "first".into(),
                secret_hash: stella_service::crypto::sha256_hex(secret.as_bytes()),
                permissions: None,
                expires_at: None,
                revoked_at: None,
                created_at: stella.now_ms(),
                issued_by: None,
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        key
    }

    /// Runs one SQL statement on the server's database through a connection of its own (to
    /// break the database under a running server and see how it answers).
    pub async fn execute_sql(&self, statement: &str) {
        let outcome = match &self.postgres {
            Some(pg) => match sqlx::PgConnection::connect(&pg.url).await {
                Ok(mut c) => sqlx::query(statement).execute(&mut c).await.map(|_| ()),
                Err(e) => Err(e),
            },
            None => {
                let file = self.data_dir.path().join("stella.db");
                match sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display())).await
                {
                    Ok(mut c) => sqlx::query(statement).execute(&mut c).await.map(|_| ()),
                    Err(e) => Err(e),
                }
            }
        };
        outcome.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// Opens the server's store again through a new connection pool (migrations included),
    /// as a second server or the next start would.
    pub async fn reopen_store(&self) -> Result<Database, stella_store::StoreError> {
        match &self.postgres {
            Some(pg) => Database::connect(&pg.url).await,
            None => Database::open_data_dir(self.data_dir.path()).await,
        }
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// The running server (its state, and TLS reloads).
    pub fn running(&self) -> &RunningServer {
        self.running
            .as_ref()
            .unwrap_or_else(|| panic!("server stopped"))
    }

    pub fn stella(&self) -> stella_service::Stella {
        self.running
            .as_ref()
            .map(|r| r.state.stella.clone())
            .unwrap_or_else(|| panic!("server stopped"))
    }

    /// Graceful stop; the activity log is fully written when this returns.
    pub async fn stop(self) {
        self.stop_then(|_| async {}).await;
    }

    /// Stops gracefully, then hands a fresh connection to the same store to `inspect`, so a
    /// test can check what survived the shutdown.
    pub async fn stop_then<F, Fut, T>(mut self, inspect: F) -> T
    where
        F: FnOnce(Database) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        if let Some(r) = self.running.take() {
            let _ = r.stop().await;
        }
        let db = match &self.postgres {
            Some(pg) => Database::connect(&pg.url).await,
            None => Database::open_data_dir(self.data_dir.path()).await,
        }
        .unwrap_or_else(|e| panic!("reopening the store: {e}"));
        let out = inspect(db.clone()).await;
        db.close().await;
        if let Some(pg) = self.postgres.take().filter(|pg| pg.owned) {
            if let Ok(mut c) = sqlx::PgConnection::connect(&pg.admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg.name))
                    .execute(&mut c)
                    .await;
            }
        }
        out
    }

    /// Waits until every background job started so far (reports, playbook runs) has finished.
    pub async fn settle(&self) {
        self.stella().settle().await;
    }

    /// Makes every event ingested so far searchable (Elasticsearch's `_refresh`).
    pub async fn refresh_events(&self, jwt: &str) {
        let (s, body) = self
            .call(
                "POST",
                "/connect/api/v1/data/aella-ser/_refresh",
                Some(jwt),
                None,
            )
            .await;
        assert_eq!(s, 200, "{body}");
    }

    /// Waits until every call made so far is in the activity log.
    pub async fn flush_activity(&self) {
        if let Some(r) = &self.running {
            r.state.activity.flush().await;
        }
    }
}

/// Several servers of one deployment on loopback: one fresh PostgreSQL database, one deployment
/// secret, one [`ManualClock`], each server with its own data directory and port, as a load
/// balancer would see them.
pub struct Cluster {
    pub nodes: Vec<TestServer>,
    adjust: fn(&mut Config),
    /// Events on NATS: (url, this cluster's own stream).
    events: Option<(String, String)>,
}

impl Cluster {
    /// Like [`Cluster::start`], with events on NATS JetStream (a stream of the cluster's own);
    /// `None` also when `STELLA_TEST_NATS_URL` is not set.
    pub async fn start_with_events(n: usize, adjust: fn(&mut Config)) -> Option<Self> {
        let Ok(url) = std::env::var(NATS_ENV) else {
            eprintln!("skipped: events on several servers need {NATS_ENV} (NATS with JetStream)");
            return None;
        };
        Self::start_inner(n, adjust, Some((url, fresh_stream_name()))).await
    }

    /// `n` servers, or `None` (with a note on stderr) when `STELLA_TEST_POSTGRES_URL` is not
    /// set: several servers need a shared database, and SQLite is one server's. CI runs the
    /// suite on PostgreSQL too, so these tests run there.
    pub async fn start(n: usize, adjust: fn(&mut Config)) -> Option<Self> {
        Self::start_inner(n, adjust, None).await
    }

    async fn start_inner(
        n: usize,
        adjust: fn(&mut Config),
        events: Option<(String, String)>,
    ) -> Option<Self> {
        if std::env::var(POSTGRES_ENV).is_err() {
            eprintln!("skipped: several servers need {POSTGRES_ENV} (a shared PostgreSQL)");
            return None;
        }
        let first = TestServer::start_with(|c| {
            cluster_config(c, &events);
            adjust(c);
        })
        .await;
        let mut cluster = Self {
            nodes: vec![first],
            adjust,
            events,
        };
        for _ in 1..n {
            cluster.add_node().await;
        }
        Some(cluster)
    }

    /// Another server joining the deployment (started later).
    pub async fn add_node(&mut self) -> &TestServer {
        let first = &self.nodes[0];
        let join = Join {
            db: first
                .postgres
                .clone()
                .map(|pg| PgDatabase { owned: false, ..pg })
                .unwrap_or_else(|| panic!("a cluster runs on PostgreSQL")),
            clock: first.clock.clone(),
            root: first.root.clone(),
        };
        let adjust = self.adjust;
        let events = self.events.clone();
        let node = TestServer::launch(
            |c| {
                cluster_config(c, &events);
                adjust(c);
            },
            Some(join),
        )
        .await
        .unwrap_or_else(|e| panic!("cluster node did not start: {e:#}"));
        self.nodes.push(node);
        &self.nodes[self.nodes.len() - 1]
    }

    pub fn node(&self, i: usize) -> &TestServer {
        &self.nodes[i % self.nodes.len()]
    }

    pub fn clock(&self) -> &Arc<ManualClock> {
        &self.nodes[0].clock
    }

    /// A connection to the deployment's database, as a server of its own would have (its own
    /// node id): for tests that play a server which claims work and then dies.
    pub async fn database(&self) -> stella_store::Database {
        let url = self.nodes[0]
            .postgres
            .as_ref()
            .map(|pg| pg.url.clone())
            .unwrap_or_else(|| panic!("a cluster runs on PostgreSQL"));
        stella_store::Database::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connecting to the cluster's database: {e}"))
    }

    /// Stops every server; the first (which made the database) last, dropping it.
    pub async fn stop(mut self) {
        while self.nodes.len() > 1 {
            if let Some(n) = self.nodes.pop() {
                n.stop().await;
            }
        }
        if let Some(n) = self.nodes.pop() {
            n.stop().await;
        }
        if let Some((url, stream)) = &self.events {
            if let Err(e) = stella_search::nats::delete_stream(url, stream).await {
                eprintln!("could not delete the test stream {stream}: {e}");
            }
        }
    }
}

fn cluster_config(c: &mut Config, events: &Option<(String, String)>) {
    c.deployment_secret = Some(stella_server::config::Secret(CLUSTER_SECRET.to_owned()));
    if let Some((url, stream)) = events {
        c.nats_url = Some(url.clone());
        c.nats_stream = stream.clone();
    }
}
