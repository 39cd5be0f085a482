//! How fast a store applies batches: a timing check run by hand, not a test.
//!
//! ```text
//! cargo run --release -p truce-store --example apply_rate -- BACKEND [BATCHES] [REPORTS] [RUNS]
//! ```
//!
//! `BACKEND` is `sqlite` (a file in WAL mode with `synchronous=FULL`, as the
//! service runs it), `sqlite-memory` (a private in-memory database: the
//! statements alone, without the file system and its `fsync`s) or `postgres`
//! (a fresh database on the server `TRUCE_TEST_POSTGRES_URL` names, whose own
//! database is only used to create and drop it). Each run opens a fresh
//! store, applies `BATCHES` batches of `REPORTS` reports each (with two zones)
//! and one receipt per report, as the service's writer does for signed
//! submissions, and prints the entries applied per second; with several runs
//! also their median. Defaults: 50 batches of 100 reports, 5 runs.

#![forbid(unsafe_code)]

#[path = "support/scratch_db.rs"]
mod scratch_db;

use std::error::Error;
use std::time::Instant;

use scratch_db::{execute, with_database};
use truce_store::{AnyStore, PgStore, Projected, ReportRecord, SqliteStore, Store};

/// The variable naming the PostgreSQL server.
const URL_VAR: &str = "TRUCE_TEST_POSTGRES_URL";

type Failure = Box<dyn Error + Send + Sync>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_default();
    if !["sqlite", "sqlite-memory", "postgres"].contains(&backend.as_str()) {
        return Err(format!(
            "usage: apply_rate sqlite|sqlite-memory|postgres [BATCHES] [REPORTS] [RUNS]; not {backend:?}"
        )
        .into());
    }
    let batches = number(args.next(), 50, "BATCHES")?;
    let reports = number(args.next(), 100, "REPORTS")?;
    let runs = number(args.next(), 5, "RUNS")?;
    let mut rates = Vec::new();
    for run in 0..runs {
        let rate = match backend.as_str() {
            "sqlite" => {
                let dir = tempfile::tempdir()?;
                let store = AnyStore::Sqlite(SqliteStore::open(dir.path()).await?);
                measure(store, batches, reports).await?
            }
            "sqlite-memory" => {
                let store = AnyStore::Sqlite(SqliteStore::open_in_memory().await?);
                measure(store, batches, reports).await?
            }
            _ => {
                let admin = std::env::var(URL_VAR).map_err(|_| format!("{URL_VAR} is not set"))?;
                let name = format!("truce_apply_rate_{}_{run}", std::process::id());
                execute(&admin, format!("CREATE DATABASE \"{name}\"")).await?;
                let measured = match PgStore::connect(&with_database(&admin, &name)).await {
                    Ok(store) => measure(AnyStore::Postgres(store), batches, reports).await,
                    Err(error) => Err(error.into()),
                };
                execute(&admin, format!("DROP DATABASE \"{name}\" WITH (FORCE)")).await?;
                measured?
            }
        };
        println!(
            "run {}: {batches} batches of {reports} reports (+ receipts): {rate:.0} entries/s",
            run + 1
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    if let Some(median) = rates.get(rates.len() / 2) {
        println!("median of {runs}: {median:.0} entries/s");
    }
    Ok(())
}

/// The argument `arg` as a positive number, or `default` when absent.
fn number(arg: Option<String>, default: u64, what: &str) -> Result<u64, Failure> {
    match arg {
        None => Ok(default),
        Some(text) => match text.parse::<u64>() {
            Ok(value) if value > 0 => Ok(value),
            _ => Err(format!("{what} must be a positive number, not {text:?}").into()),
        },
    }
}

/// Applies the batches to `store`, a new one, and returns entries per
/// second.
async fn measure(store: AnyStore, batches: u64, reports: u64) -> Result<f64, Failure> {
    let all: Vec<Vec<Projected>> = (0..batches)
        .map(|batch| {
            (batch * reports..(batch + 1) * reports)
                .flat_map(|index| {
                    [
                        Projected::Report(report(index)),
                        Projected::Receipt {
                            key: format!("key-{}", index % 7),
                            nonce: format!("{index:032x}"),
                            log_index: index,
                        },
                    ]
                })
                .collect()
        })
        .collect();
    let started = Instant::now();
    for (batch, items) in (0..).zip(&all) {
        store
            .apply(batch * reports..(batch + 1) * reports, items)
            .await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    if store.applied_size().await? != batches * reports {
        return Err("the store did not apply every batch".into());
    }
    store.close().await;
    // Entry counts are far below 2^53, so the conversion is exact.
    let entries = (batches * reports) as f64;
    Ok(entries / seconds)
}

/// A report at `index`, spread over a few parties, zones and places.
fn report(index: u64) -> ReportRecord {
    let offset = (index % 1000) as f64 / 1000.0;
    ReportRecord {
        log_index: index,
        report_id: format!("r-{index}"),
        agreement_id: "a".to_owned(),
        source_name: format!("monitor-{}", index % 13),
        source_kind: "monitor".to_owned(),
        party: (!index.is_multiple_of(3)).then(|| format!("party-{}", index % 2)),
        actor: (!index.is_multiple_of(5)).then(|| format!("party-{}", (index + 1) % 2)),
        action: "artillery".to_owned(),
        target: "energy".to_owned(),
        start_ms: 1_742_256_000_000,
        end_ms: 1_742_256_600_000,
        lon: 30.0 + offset,
        lat: 47.0 + offset,
        radius_m: 250.0,
        zone_ids: vec![format!("zone-{}", index % 4), "line".to_owned()],
        submitted_at_ms: 1_742_257_000_000,
    }
}
