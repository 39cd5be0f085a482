//! Throwaway PostgreSQL databases for the tests that run the service on PostgreSQL.
//!
//! `TRUCE_TEST_POSTGRES_URL` names a server and a database on it the tests may use to
//! create others (`postgres://postgres@127.0.0.1:5433/postgres`). Each test makes its own
//! database, named after the process and a counter, and drops it when done, failing or
//! not. Without the variable a test says "PostgreSQL tests skipped: TRUCE_TEST_POSTGRES_URL
//! not set" and passes, unless `TRUCE_REQUIRE_POSTGRES=1`, when it fails.

#![allow(clippy::unwrap_used, dead_code)]

use std::io::Write as _;
use std::str::FromStr as _;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, Connection as _};

/// The server the tests may use.
pub const URL_VAR: &str = "TRUCE_TEST_POSTGRES_URL";
/// Set to `1`, a missing server fails the tests instead of skipping them.
pub const REQUIRE_VAR: &str = "TRUCE_REQUIRE_POSTGRES";

/// The administration URL; `None` after telling so when the tests are skipped.
pub fn server_url() -> Option<String> {
    let url = std::env::var(URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty());
    if url.is_none() {
        assert!(
            std::env::var(REQUIRE_VAR).as_deref() != Ok("1"),
            "{REQUIRE_VAR}=1 but {URL_VAR} is not set"
        );
        // Straight to stderr, so that the notice shows for a passing test too.
        let _ = writeln!(
            std::io::stderr(),
            "PostgreSQL tests skipped: {URL_VAR} not set"
        );
    }
    url
}

/// `server` (a URL) naming database `name` instead of its own.
pub fn naming(server: &str, name: &str) -> String {
    let (base, query) = server
        .split_once('?')
        .map_or((server, None), |(base, query)| (base, Some(query)));
    let authority = base.find("://").map_or(0, |at| at + 3);
    let base = base[authority..]
        .find('/')
        .map_or(base, |slash| &base[..authority + slash]);
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// A database of its own for a test, dropped with this value.
#[derive(Debug)]
pub struct Database {
    /// Its URL.
    pub url: String,
    name: String,
    server: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Database {
    /// A new empty database, or `None` when the PostgreSQL tests are skipped.
    pub async fn create(tag: &str) -> Option<Database> {
        let server = server_url()?;
        let tag: String = tag
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(24)
            .collect();
        let name = format!(
            "truce_srv_{}_{}_{tag}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
        .to_ascii_lowercase();
        let mut admin = PgConnection::connect_with(&PgConnectOptions::from_str(&server).unwrap())
            .await
            .unwrap_or_else(|error| panic!("cannot connect to {URL_VAR}: {error}"));
        // Only ASCII letters, digits and underscores in the name.
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        Some(Database {
            url: naming(&server, &name),
            name,
            server,
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let server = self.server.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // A destructor cannot wait on the test's runtime: a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server)
                    .await
                    .map_err(|error| error.to_string())?;
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .map_err(|error| error.to_string())?;
                admin.close().await.map_err(|error| error.to_string())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(
                std::io::stderr(),
                "cannot drop test database {}: {dropped:?}",
                self.name
            );
        }
    }
}
