//! Scratch PostgreSQL databases for the examples that time a store: created
//! and dropped through the server's own database named by a URL.

use std::error::Error;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, Connection};

/// Runs one statement of administration on `url`.
pub async fn execute(url: &str, sql: String) -> Result<(), Box<dyn Error + Send + Sync>> {
    let mut conn = PgConnection::connect_with(&PgConnectOptions::from_str(url)?).await?;
    sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let authority = base.find("://").map_or(0, |at| at + 3);
    let base = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    }
}
