//! Backups taken while serving, and restores that check before replacing.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use std::path::Path;
use std::time::Duration;

use common::{indexes, memory, report, source, walk};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use truce_store::{DATABASE_FILE, Projected, ReportFilter, SqliteStore, Store, StoreError};

/// The applied size of the snapshot at `path` and the log indexes of the
/// reports it holds, read through a restore into a fresh directory.
async fn open_snapshot(path: &Path, scratch: &Path) -> (u64, Vec<u64>) {
    SqliteStore::restore(path, scratch).await.unwrap();
    let store = SqliteStore::open(scratch).await.unwrap();
    let size = store.applied_size().await.unwrap();
    let all = walk(&store, &ReportFilter::default(), 1000).await;
    store.close().await;
    (size, indexes(&all))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_while_writing_are_consistent_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("live")).await.unwrap();
    const BATCHES: u64 = 150;
    const PER_BATCH: u64 = 8;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for batch in 0..BATCHES {
                let start = batch * PER_BATCH;
                let items: Vec<Projected> = (start..start + PER_BATCH)
                    .map(|index| Projected::Report(report(index)))
                    .collect();
                store.apply(start..start + PER_BATCH, &items).await.unwrap();
            }
        })
    };
    let mut snapshots = Vec::new();
    for n in 0..6 {
        let path = dir.path().join(format!("snapshot-{n}.sqlite3"));
        store.backup(&path).await.unwrap();
        snapshots.push(path);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    writer.await.unwrap();
    let last = dir.path().join("snapshot-final.sqlite3");
    store.backup(&last).await.unwrap();
    snapshots.push(last);

    let mut previous = 0;
    for (n, path) in snapshots.iter().enumerate() {
        let (size, held) = open_snapshot(path, &dir.path().join(format!("scratch-{n}"))).await;
        // Every batch is all or nothing, and the applied size moved with it.
        assert_eq!(size % PER_BATCH, 0, "snapshot {n} split a batch");
        assert_eq!(held, (0..size).collect::<Vec<_>>(), "snapshot {n}");
        assert!(size >= previous, "snapshot {n} went back");
        previous = size;
    }
    assert_eq!(
        previous,
        BATCHES * PER_BATCH,
        "the last snapshot has everything"
    );
    // No temporary file is left beside the snapshots.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|name| !name.starts_with('.')), "{names:?}");
}

#[tokio::test]
async fn a_backup_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let store = memory().await;
    store
        .apply(0..1, &[Projected::Report(report(0))])
        .await
        .unwrap();
    let dest = dir.path().join("taken.sqlite3");
    std::fs::write(&dest, b"precious").unwrap();
    let error = store.backup(&dest).await.unwrap_err();
    assert!(matches!(error, StoreError::BackupExists { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!("backup destination {} already exists", dest.display())
    );
    assert_eq!(std::fs::read(&dest).unwrap(), b"precious");
    let empty = dir.path().join("empty.sqlite3");
    std::fs::write(&empty, b"").unwrap();
    let error = store.backup(&empty).await.unwrap_err();
    assert!(matches!(error, StoreError::BackupExists { .. }), "{error}");

    // An in-memory store backs up too, once per name.
    let fresh = dir.path().join("fresh.sqlite3");
    store.backup(&fresh).await.unwrap();
    let error = store.backup(&fresh).await.unwrap_err();
    assert!(matches!(error, StoreError::BackupExists { .. }), "{error}");
    let (size, held) = open_snapshot(&fresh, &dir.path().join("scratch")).await;
    assert_eq!((size, held), (1, vec![0]));
}

#[tokio::test]
async fn a_backup_into_a_missing_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let store = memory().await;
    let dest = dir.path().join("no-such-dir").join("snapshot.sqlite3");
    let error = store.backup(&dest).await.unwrap_err();
    assert!(matches!(error, StoreError::Database { .. }), "{error}");
    assert!(!dest.exists());
}

#[tokio::test]
async fn restore_replaces_a_store_and_its_wal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let snapshot = dir.path().join("snapshot.sqlite3");
    let wal = data.join(format!("{DATABASE_FILE}-wal"));
    {
        let store = SqliteStore::open(&data).await.unwrap();
        store
            .apply(
                0..2,
                &[
                    Projected::Source(source("m", 0)),
                    Projected::Report(report(1)),
                ],
            )
            .await
            .unwrap();
        store.backup(&snapshot).await.unwrap();
        store
            .apply(
                2..4,
                &[Projected::Report(report(2)), Projected::Report(report(3))],
            )
            .await
            .unwrap();
        // Keep the live WAL (it holds the batch after the snapshot) and put it
        // back after closing, as a crash would have left it.
        std::fs::copy(&wal, dir.path().join("stale-wal")).unwrap();
        store.close().await;
        std::fs::copy(dir.path().join("stale-wal"), &wal).unwrap();
    }
    SqliteStore::restore(&snapshot, &data).await.unwrap();
    assert!(!wal.exists(), "the old WAL is gone");
    let store = SqliteStore::open(&data).await.unwrap();
    assert_eq!(store.applied_size().await.unwrap(), 2);
    assert_eq!(store.source("m").await.unwrap(), Some(source("m", 0)));
    assert_eq!(
        indexes(&walk(&store, &ReportFilter::default(), 10).await),
        [1]
    );
    // The restored store takes the log from where the snapshot was.
    store
        .apply(2..3, &[Projected::Report(report(2))])
        .await
        .unwrap();
    assert_eq!(store.applied_size().await.unwrap(), 3);
}

/// A store in `data` with one report, to check a refused restore leaves it be.
async fn existing_store(data: &Path) {
    let store = SqliteStore::open(data).await.unwrap();
    store
        .apply(0..1, &[Projected::Report(report(0))])
        .await
        .unwrap();
    store.close().await;
}

async fn assert_untouched(data: &Path) {
    let store = SqliteStore::open(data).await.unwrap();
    assert_eq!(store.applied_size().await.unwrap(), 1);
    assert_eq!(store.report(0).await.unwrap(), Some(report(0)));
    store.close().await;
    let leftovers: Vec<String> = std::fs::read_dir(data)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn restore_refuses_a_file_that_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    existing_store(&data).await;
    let junk = dir.path().join("junk.sqlite3");
    std::fs::write(&junk, vec![0x5a_u8; 8192]).unwrap();
    let error = SqliteStore::restore(&junk, &data).await.unwrap_err();
    let StoreError::NotATruceStore { path, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(path, &junk);
    assert!(
        error.to_string().starts_with(&format!(
            "{} is not a truce store snapshot: ",
            junk.display()
        )),
        "{error}"
    );
    assert_untouched(&data).await;
}

#[tokio::test]
async fn restore_refuses_an_sqlite_database_of_another_program() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    existing_store(&data).await;
    let other = dir.path().join("other.sqlite3");
    let mut conn = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&other)
            .create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::query("CREATE TABLE notes (body TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let error = SqliteStore::restore(&other, &data).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{} is not a truce store snapshot: its application_id is 0, not 1953653605",
            other.display()
        )
    );
    assert_untouched(&data).await;
}

#[tokio::test]
async fn restore_refuses_a_snapshot_with_an_unknown_migration() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    existing_store(&data).await;
    // A snapshot from a later build: one migration more than this build knows.
    let later = dir.path().join("later.sqlite3");
    let store = memory().await;
    store.backup(&later).await.unwrap();
    let mut conn = SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&later))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'later', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let error = SqliteStore::restore(&later, &data).await.unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("it has migration 9999, which this build does not know"),
        "{error}"
    );
    assert_untouched(&data).await;
}

#[tokio::test]
async fn restore_refuses_a_missing_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    existing_store(&data).await;
    let error = SqliteStore::restore(&dir.path().join("absent"), &data)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Io {
                operation: "copy the snapshot",
                ..
            }
        ),
        "{error}"
    );
    assert!(data.join(DATABASE_FILE).exists());
    assert_untouched(&data).await;
}
