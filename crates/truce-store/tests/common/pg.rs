//! Fresh PostgreSQL databases for the conformance suite.
//!
//! `TRUCE_TEST_POSTGRES_URL` names a server (and a database to connect to
//! for administration) where the tests may create databases, e.g.
//! `postgres://postgres@127.0.0.1:5433/postgres`. Each test creates its own
//! database with a unique name, so tests run in parallel, and drops it when
//! done, even when it fails. Without the variable the PostgreSQL tests pass
//! after saying once that they were skipped, unless
//! `TRUCE_REQUIRE_POSTGRES=1`, when they fail.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write as _;
use std::str::FromStr;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, Connection};
use truce_store::PgStore;

/// The variable naming the server.
pub const URL_VAR: &str = "TRUCE_TEST_POSTGRES_URL";

/// The variable that turns a missing server into a failure.
pub const REQUIRE_VAR: &str = "TRUCE_REQUIRE_POSTGRES";

/// The administration URL, or `None` (after the notice) when the tests are
/// to be skipped. Panics when they are required but no server is named.
pub fn admin_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") {
                panic!("{REQUIRE_VAR}=1 but {URL_VAR} is not set: the PostgreSQL tests cannot run");
            }
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                // Straight to the process's stderr: the test harness captures
                // `eprintln!` of passing tests, and this must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "PostgreSQL tests skipped: {URL_VAR} not set"
                );
            });
            None
        }
    }
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |at| at + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// A database made for one test with a store open on it; the database is
/// dropped (with its connections) when this is dropped.
#[derive(Debug)]
pub struct TestDb {
    /// A store on it (the migrations have run).
    pub store: PgStore,
    /// The database.
    pub db: EmptyDb,
}

/// A database made for one test, dropped (with its connections) when this
/// is dropped; empty until a store connects to it.
#[derive(Debug)]
pub struct EmptyDb {
    /// The URL of the test's database.
    pub url: String,
    /// The database's name.
    pub name: String,
    admin: String,
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

impl EmptyDb {
    /// A new, empty database, or `None` when the PostgreSQL tests are
    /// skipped.
    pub async fn create(tag: &str) -> Option<EmptyDb> {
        let admin = admin_url()?;
        let n = DATABASES.fetch_add(1, Ordering::Relaxed);
        let tag: String = tag
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(32)
            .collect();
        let name = format!("truce_{}_{n}_{tag}", std::process::id()).to_ascii_lowercase();
        let mut conn = PgConnection::connect_with(&PgConnectOptions::from_str(&admin).unwrap())
            .await
            .unwrap_or_else(|error| panic!("cannot connect to {URL_VAR}: {error}"));
        // The name is made of ASCII letters, digits and underscores only.
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        Some(EmptyDb {
            url: with_database(&admin, &name),
            name,
            admin,
        })
    }

    /// A connection to the database for the test's own SQL.
    pub async fn connection(&self) -> PgConnection {
        PgConnection::connect(&self.url).await.unwrap()
    }
}

impl Drop for EmptyDb {
    fn drop(&mut self) {
        drop_database(&self.admin, &self.name);
    }
}

impl TestDb {
    /// A new database with a store open on it, or `None` when the
    /// PostgreSQL tests are skipped.
    pub async fn create(tag: &str) -> Option<TestDb> {
        let db = EmptyDb::create(tag).await?;
        let store = PgStore::connect(&db.url).await.unwrap();
        Some(TestDb { store, db })
    }

    /// The URL of the test's database.
    pub fn url(&self) -> &str {
        &self.db.url
    }

    /// Another store on the same database, with its own connections.
    pub async fn another_handle(&self) -> PgStore {
        PgStore::connect(&self.db.url).await.unwrap()
    }

    /// A connection to the database for the test's own SQL.
    pub async fn connection(&self) -> PgConnection {
        self.db.connection().await
    }

    /// A connection to the administration database.
    pub async fn admin_connection(&self) -> PgConnection {
        PgConnection::connect(&self.db.admin).await.unwrap()
    }
}

/// Drops database `name`, ending its connections, on a thread of its own (a
/// destructor cannot wait on the test's runtime). Failures are only told:
/// the database is then left for the throwaway server to take with it.
fn drop_database(admin: &str, name: &str) {
    let admin = admin.to_owned();
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    let done = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| error.to_string())?;
        runtime.block_on(async {
            let mut conn = PgConnection::connect(&admin)
                .await
                .map_err(|error| error.to_string())?;
            sqlx::query(AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .map_err(|error| error.to_string())?;
            conn.close().await.map_err(|error| error.to_string())
        })
    })
    .join();
    match done {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            let _ = writeln!(
                std::io::stderr(),
                "cannot drop test database {name}: {error}"
            );
        }
        Err(_) => {
            let _ = writeln!(std::io::stderr(), "dropping test database {name} panicked");
        }
    }
}
