//! How fast an SQLite store applies batches: a timing check run by hand,
//! not a test.
//!
//! ```text
//! cargo run --release -p truce-store --example sqlite_apply_rate -- [BATCHES] [REPORTS] [RUNS] [memory]
//! ```
//!
//! Each run opens a fresh store in a temporary directory (a file in WAL mode
//! with `synchronous=FULL`, as the service runs it), applies `BATCHES`
//! batches of `REPORTS` reports each (with two zones) and one receipt per
//! report, as the service's writer does for signed submissions, and prints
//! the entries applied per second. With several runs it also prints their
//! median. Defaults: 50 batches of 100 reports, 5 runs. With `memory` the
//! store is a private in-memory database instead, which leaves out the
//! file system (and its `fsync`s) and times the statements alone.

#![forbid(unsafe_code)]

use std::error::Error;
use std::time::Instant;

use truce_store::{Projected, ReportRecord, SqliteStore, Store};

type Failure = Box<dyn Error + Send + Sync>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let batches = number(args.next(), 50, "BATCHES")?;
    let reports = number(args.next(), 100, "REPORTS")?;
    let runs = number(args.next(), 5, "RUNS")?;
    let in_memory = match args.next().as_deref() {
        None | Some("file") => false,
        Some("memory") => true,
        Some(other) => return Err(format!("expected `memory` or `file`, not {other:?}").into()),
    };
    let mut rates = Vec::new();
    for run in 0..runs {
        let dir = tempfile::tempdir()?;
        let store = if in_memory {
            SqliteStore::open_in_memory().await?
        } else {
            SqliteStore::open(dir.path()).await?
        };
        let rate = measure(store, batches, reports).await?;
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
async fn measure(store: SqliteStore, batches: u64, reports: u64) -> Result<f64, Failure> {
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
