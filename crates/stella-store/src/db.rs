use crate::error::StoreError;
use crate::Result;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::sync::Once;
use std::time::Duration;

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The handle every repository function hangs off. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Database {
    pub(crate) pool: AnyPool,
    pub(crate) reader: crate::read::Reader,
    /// Where the activity log is read from: its own file on SQLite, the main DB on PostgreSQL.
    pub(crate) activity_reader: crate::read::Reader,
    backend: Backend,
    /// List totals and page boundaries, forgotten on every write to a listed table.
    pub(crate) pages: std::sync::Arc<crate::pages::PageCache>,
    /// Tells the other servers sharing the database what changed, and hears what they changed.
    pub(crate) bus: std::sync::Arc<crate::bus::Bus>,
}

fn install_drivers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

impl Database {
    /// The embedded default: `stella.db` (SQLite, WAL) inside `data_dir`, created if missing.
    pub async fn open_data_dir(data_dir: &Path) -> Result<Self> {
        if !data_dir.exists() {
            // Owner-only: the directory holds credential hashes and the signing keys.
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(data_dir)?;
        }
        let file = data_dir.join("stella.db");
        Self::connect(&format!("sqlite://{}?mode=rwc", file.display())).await
    }

    /// Connects to `sqlite://…` or `postgres://…` and applies the embedded migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        install_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                format!(
                    "unsupported database URL '{}': use sqlite://PATH or postgres://…",
                    redact_url(url)
                )
                .into(),
            )));
        };
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            // No ping before each use: on SQLite a ping is a round trip to the connection's
            // worker thread, which doubled the cost of every point read. A broken connection
            // still surfaces as an error on its query, and PostgreSQL reconnects on the next.
            .test_before_acquire(false);
        let options = if backend == Backend::Sqlite {
            options.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers proceed while a writer commits; the busy timeout turns
                    // writer contention into a short wait instead of an error. synchronous
                    // stays FULL (the default): an acknowledged write survives a power cut.
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                        .await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options.connect(url).await?;
        let (reader, activity_reader) = match backend {
            Backend::Sqlite => {
                let main = sqlite_path(url);
                let activity = crate::activity::sqlite_activity_path(&main);
                crate::activity::create_sqlite_activity_file(&activity)?;
                (
                    crate::read::Reader::Sqlite(main),
                    crate::read::Reader::Sqlite(activity),
                )
            }
            Backend::Postgres => (crate::read::Reader::Postgres, crate::read::Reader::Postgres),
        };
        // Other servers may write a shared PostgreSQL database: remembered pages expire.
        let ttl = (backend == Backend::Postgres).then(|| Duration::from_secs(1));
        let bus = match backend {
            Backend::Sqlite => crate::bus::Bus::local(),
            Backend::Postgres => crate::bus::Bus::postgres(pool.clone(), url.to_owned()),
        };
        let pages = std::sync::Arc::new(crate::pages::PageCache::new(ttl));
        if backend == Backend::Postgres {
            // Another server's write forgets this one's remembered pages too.
            let mut heard = bus.subscribe();
            let pages = pages.clone();
            tokio::spawn(async move {
                use tokio::sync::broadcast::error::RecvError;
                loop {
                    match heard.recv().await {
                        Ok(t) if !crate::Topic::Pages.heard_in(t) => {}
                        Ok(_) | Err(RecvError::Lagged(_)) => pages.changed(),
                        Err(RecvError::Closed) => return,
                    }
                }
            });
        }
        let db = Self {
            pool,
            reader,
            activity_reader,
            backend,
            pages,
            bus,
        };
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the migrations this build knows, after refusing a database that a newer release
    /// has migrated further (its schema version is the highest migration applied).
    async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &MIGRATE_SQLITE,
            Backend::Postgres => &MIGRATE_POSTGRES,
        };
        let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        if let Some(found) = self.schema_version().await? {
            if found > known {
                return Err(StoreError::Newer(format!(
                    "the database is at schema version {found}, written by a newer Stella Ops; \
                     this build ({}) knows versions up to {known}: run that release or a newer \
                     one (nothing was changed)",
                    env!("CARGO_PKG_VERSION")
                )));
            }
        }
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// The highest migration applied, or `None` for a database never migrated.
    pub async fn schema_version(&self) -> Result<Option<i64>> {
        let exists = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        };
        let n: i64 = sqlx::query_scalar(exists).fetch_one(&self.pool).await?;
        if n == 0 {
            return Ok(None);
        }
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(v)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Readiness: one round trip.
    pub async fn ping(&self) -> Result<()> {
        // Every path: the pool (writes), the reader, and the activity log's reader.
        let _: AnyRow = sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        self.fetch_one(&crate::sql::Sql::new("SELECT 1 AS one"))
            .await?;
        self.fetch_in(
            &self.activity_reader,
            &crate::sql::Sql::new("SELECT 1 AS one"),
            Some(1),
        )
        .await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.bus.stop();
        self.pool.close().await;
    }

    /// Tells the other servers sharing this database that `topic` changed (nothing on SQLite).
    pub fn announce(&self, topic: crate::Topic) {
        self.bus.announce(topic);
    }

    /// What the other servers announce (on SQLite, never anything). A lagging receiver has
    /// missed announcements and must treat that as [`crate::Topic::All`].
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::Topic> {
        self.bus.subscribe()
    }

    /// This server's name in the deployment (random per start).
    pub fn node_id(&self) -> &str {
        self.bus.node()
    }

    /// (announcements heard from other servers, listener reconnects), for `/metrics`.
    pub fn bus_counts(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        (
            self.bus.received.load(Ordering::Relaxed),
            self.bus.reconnects.load(Ordering::Relaxed),
        )
    }

    /// Rows of a listed table changed: forget remembered pages here and on the other servers.
    pub(crate) fn rows_changed(&self) {
        self.pages.changed();
        self.bus.announce(crate::Topic::Pages);
    }
}

/// The file of a `sqlite://PATH?options` or `sqlite:PATH` URL.
fn sqlite_path(url: &str) -> std::path::PathBuf {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    std::path::PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

/// Hides a password in a database URL before it reaches a message or a log.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}
