//! `truce migrate`: moves a deployment's store from the SQLite file in its data directory
//! to a PostgreSQL database, without loss and checked.
//!
//! The store is a projection of the log, so the new store is built from the log: the log
//! of the data directory, as of its published checkpoint, is replayed into the empty
//! target the way the service's catch-up would on a first start on it, the nonces the old
//! store remembers are copied (replay protection across the move), and then both stores
//! are asked the same questions (every source, agreement version, page of reports, report,
//! annotation, annotation index, receipt and nonce) and must answer alike. The log is only
//! read: its checkpoint is printed before and after and must not have moved.
//!
//! Run it with the service stopped. It writes nothing in the data directory and reads the
//! log only up to the checkpoint it found, so it does no harm to a running service; but
//! the old store must hold exactly the log up to that checkpoint to be compared, and a
//! service taking submissions meanwhile makes the comparison fail (the PostgreSQL store
//! is then a correct prefix that `truce serve --database` would catch up; drop it and run
//! again with the service stopped to have the comparison).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail, ensure};
use clap::Args;
use truce_server::DatabaseUrl;
use truce_server::migrate::{
    LogState, compare_stores, copy_nonces, log_state, replay_into_empty, sqlite_file,
};
use truce_store::{AnyStore, SqliteStore, Store};

use crate::serve_cmd::scrub_error;

/// Move a data directory's store from SQLite to PostgreSQL (replayed from the log, then checked).
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The data directory `truce serve` runs on (stop the service first).
    #[arg(long, env = "TRUCE_DATA", value_name = "DIR")]
    data: PathBuf,
    /// The empty PostgreSQL database to move the store to:
    /// `postgres://USER:PASSWORD@HOST:PORT/DB` (PostGIS must be available).
    #[arg(long, value_name = "URL")]
    to: String,
}

/// Runs `truce migrate`.
pub fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let url = DatabaseUrl::new(args.to.trim());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime
        .block_on(migrate(&args.data, &url))
        .map_err(|error| scrub_error(error, Some(&url)))?;
    Ok(ExitCode::SUCCESS)
}

fn print_log(when: &str, state: &LogState) {
    println!("log {when}: size {}, root {}", state.size, state.root);
}

async fn migrate(data: &Path, url: &DatabaseUrl) -> anyhow::Result<()> {
    let before =
        log_state(data).with_context(|| format!("reading the log of {}", data.display()))?;
    print_log("before", &before);
    let sqlite_path = sqlite_file(data);
    ensure!(
        sqlite_path.is_file(),
        "{} has no SQLite store ({} is missing): there is nothing to migrate; a service \
         started with --database builds its store from the log by itself",
        data.display(),
        sqlite_path.display()
    );
    let sqlite = SqliteStore::open(data)
        .await
        .with_context(|| format!("opening the SQLite store {}", sqlite_path.display()))?;
    let outcome = migrate_from(data, url, &sqlite, &before).await;
    sqlite.close().await;
    outcome
}

async fn migrate_from(
    data: &Path,
    url: &DatabaseUrl,
    sqlite: &SqliteStore,
    before: &LogState,
) -> anyhow::Result<()> {
    let applied = sqlite
        .applied_size()
        .await
        .context("reading the SQLite store")?;
    if applied != before.size {
        bail!(
            "the SQLite store has applied {applied} log entries but the log's checkpoint says \
             {}: {}",
            before.size,
            if applied < before.size {
                "start the service on SQLite once (it catches its store up with the log), \
                 stop it, then migrate"
            } else {
                "the service is running or the checkpoint moved; stop the service, then migrate"
            }
        );
    }
    let target = AnyStore::open(Some(url.expose()), data)
        .await
        .with_context(|| format!("opening the target database {url}"))?;
    let outcome = migrate_into(data, url, sqlite, &target, before).await;
    target.close().await;
    outcome
}

async fn migrate_into(
    data: &Path,
    url: &DatabaseUrl,
    sqlite: &SqliteStore,
    target: &AnyStore,
    before: &LogState,
) -> anyhow::Result<()> {
    ensure!(
        target.backend() == "postgres",
        "the target {url} is not a PostgreSQL database: give --to postgres://…"
    );
    let replay = replay_into_empty(data, target)
        .await
        .with_context(|| format!("replaying the log of {} into {url}", data.display()))?;
    let replayed_size = replay
        .replayed
        .as_ref()
        .map_or(0, |replayed| replayed.checkpoint.size());
    ensure!(
        replayed_size == before.size,
        "the log's checkpoint moved from size {} to {replayed_size} during the migration: stop \
         the service, drop the target database's contents and run again",
        before.size
    );
    println!(
        "replayed {replayed_size} log entries into {url} ({} store records)",
        replay.items
    );
    let nonces = copy_nonces(sqlite, target)
        .await
        .context("copying the remembered nonces")?;
    println!("copied {nonces} remembered nonces");
    let target_applied = target
        .applied_size()
        .await
        .context("reading the target's applied size")?;
    ensure!(
        target_applied == before.size,
        "the PostgreSQL store has applied {target_applied} entries, not the log's {}",
        before.size
    );
    let matched = match compare_stores(sqlite, target, &replay)
        .await
        .context("comparing the two stores")?
    {
        Ok(matched) => matched,
        Err(difference) => bail!(
            "the PostgreSQL store does not answer as the SQLite store does: {}",
            difference
                .to_string()
                .replacen("the first store", "SQLite", 1)
                .replacen("the second", "PostgreSQL", 1)
        ),
    };
    let after =
        log_state(data).with_context(|| format!("reading the log of {}", data.display()))?;
    print_log("after", &after);
    ensure!(
        after == *before,
        "the log moved during the migration (size {} root {} before, size {} root {} after): \
         stop the service and compare again",
        before.size,
        before.root,
        after.size,
        after.root
    );
    println!(
        "migrated {} to {url}: {} log entries, {} sources, {} agreement versions, {} reports \
         ({} pages), {} annotations on {} subjects, {} receipts, {} nonces; both stores give \
         the same answers",
        data.display(),
        matched.applied,
        matched.sources,
        matched.agreements,
        matched.reports,
        matched.report_pages,
        matched.annotations,
        matched.subjects,
        matched.receipts,
        matched.nonces
    );
    Ok(())
}
