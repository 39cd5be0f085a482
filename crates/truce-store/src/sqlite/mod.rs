//! The embedded SQLite backend: one database file in the data directory, in
//! WAL mode, with one writer connection and a few read-only readers.
//!
//! Everything specific to SQLite's dialect lives in this module.

mod bulk;
mod read;
mod snapshot;
mod write;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{
    AgreementRecord, AnnotationKind, AnnotationRecord, Page, PageRequest, Projected, ReportFilter,
    ReportRecord, SeenNonce, SourceRecord, Store, StoreError,
};

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "truce.sqlite3";

/// The SQLite `application_id` of a truce store (`trce`), set by the first
/// migration.
pub const APPLICATION_ID: i64 = 0x7472_6365;

/// How long a connection waits for a lock held by another before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many read-only connections a file store keeps at most.
const READERS: u32 = 4;

/// The schema migrations, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Makes names for temporary files that no other call in this process uses.
static TEMPORARY_NAMES: AtomicU64 = AtomicU64::new(0);

/// `.NAME.PURPOSE-PID-N` in `dir`: a hidden temporary name beside a file.
fn temporary_path(dir: &Path, name: &str, purpose: &str) -> PathBuf {
    let n = TEMPORARY_NAMES.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.{purpose}-{}-{n}", std::process::id()))
}

/// The store in an SQLite database (see the crate documentation for the
/// schema). Clones share the connections.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The one connection that writes, so writes are serialised.
    writer: SqlitePool,
    /// Read-only connections (the writer's pool again for an in-memory store).
    readers: SqlitePool,
    /// The database file, `None` in memory.
    path: Option<PathBuf>,
}

impl SqliteStore {
    /// Opens the store in `dir` (created if missing), creating
    /// `dir/truce.sqlite3` on first use and bringing its schema up to date.
    ///
    /// The database runs in WAL mode with `synchronous=FULL`, so a committed
    /// batch survives a power cut, and with foreign keys enforced.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        let io = |operation| {
            move |source| StoreError::Io {
                operation,
                path: dir.to_owned(),
                source,
            }
        };
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(io("create the data directory"))?;
        // Absolute, so SQLite never reads the name as a `file:` URI.
        let dir = tokio::fs::canonicalize(dir)
            .await
            .map_err(io("resolve the data directory"))?;
        let path = dir.join(DATABASE_FILE);
        let common = SqliteConnectOptions::new()
            .filename(&path)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(
                common
                    .clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full),
            )
            .await
            .map_err(StoreError::database("opening the database for writing"))?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|source| StoreError::Migrate { source })?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(common.read_only(true))
            .await
            .map_err(StoreError::database("opening the database for reading"))?;
        tracing::info!(path = %path.display(), "store opened");
        Ok(SqliteStore {
            writer,
            readers,
            path: Some(path),
        })
    }

    /// A private store in memory, for tests: one connection that reads and
    /// writes, kept open for the store's life (the database goes with it).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            // The default name `:memory:` is a private database. (Not the
            // SQLITE_OPEN_MEMORY flag: `VACUUM INTO` would inherit it and
            // write its snapshot to memory.)
            .connect_with(SqliteConnectOptions::new().foreign_keys(true))
            .await
            .map_err(StoreError::database("opening an in-memory database"))?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|source| StoreError::Migrate { source })?;
        Ok(SqliteStore {
            readers: writer.clone(),
            writer,
            path: None,
        })
    }

    /// The database file, `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }

    /// Replaces the store in `data_dir` with the snapshot `snapshot` (made by
    /// [`Store::backup`]), after checking on a copy that it opens, is a truce
    /// store (application id, known migrations) and passes SQLite's quick
    /// check. The store must not be open while this runs.
    pub async fn restore(snapshot: &Path, data_dir: &Path) -> Result<(), StoreError> {
        snapshot::restore(snapshot, data_dir).await
    }
}

impl Store for SqliteStore {
    async fn applied_size(&self) -> Result<u64, StoreError> {
        read::applied_size(&self.readers).await
    }

    async fn apply(&self, entries: Range<u64>, batch: &[Projected]) -> Result<(), StoreError> {
        write::apply(&self.writer, entries, batch).await
    }

    async fn source(&self, name: &str) -> Result<Option<SourceRecord>, StoreError> {
        read::source(&self.readers, name).await
    }

    async fn sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        read::sources(&self.readers).await
    }

    async fn agreements(&self) -> Result<Vec<AgreementRecord>, StoreError> {
        read::agreements(&self.readers).await
    }

    async fn agreement(
        &self,
        id: &str,
        version: Option<u32>,
    ) -> Result<Vec<AgreementRecord>, StoreError> {
        read::agreement(&self.readers, id, version).await
    }

    async fn report(&self, log_index: u64) -> Result<Option<ReportRecord>, StoreError> {
        read::report(&self.readers, log_index).await
    }

    async fn report_by_id(
        &self,
        agreement_id: &str,
        report_id: &str,
    ) -> Result<Option<ReportRecord>, StoreError> {
        read::report_by_id(&self.readers, agreement_id, report_id).await
    }

    async fn reports(
        &self,
        filter: &ReportFilter,
        page: PageRequest,
    ) -> Result<Page<ReportRecord>, StoreError> {
        read::reports(&self.readers, filter, &page).await
    }

    async fn annotations(&self, subject: &str) -> Result<Vec<AnnotationRecord>, StoreError> {
        read::annotations(&self.readers, subject).await
    }

    async fn annotation_indexes(
        &self,
        kinds: &[AnnotationKind],
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u64>, StoreError> {
        read::annotation_indexes(&self.readers, kinds, range).await
    }

    async fn submission(&self, key: &str, nonce: &str) -> Result<Option<u64>, StoreError> {
        read::submission(&self.readers, key, nonce).await
    }

    async fn receipt_keys(
        &self,
        after: Option<(String, String)>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let query = match &after {
            Some((key, nonce)) => sqlx::query_as(
                "SELECT key, nonce FROM receipts WHERE (key, nonce) > (?, ?) \
                 ORDER BY key, nonce LIMIT ?",
            )
            .bind(key)
            .bind(nonce),
            None => sqlx::query_as("SELECT key, nonce FROM receipts ORDER BY key, nonce LIMIT ?"),
        };
        query
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await
            .map_err(StoreError::database("listing receipts"))
    }

    async fn remember_nonces(&self, nonces: &[SeenNonce]) -> Result<(), StoreError> {
        write::remember_nonces(&self.writer, nonces).await
    }

    async fn load_nonces(&self, since_ms: i64) -> Result<Vec<SeenNonce>, StoreError> {
        read::load_nonces(&self.readers, since_ms).await
    }

    async fn forget_nonces(&self, before_ms: i64) -> Result<u64, StoreError> {
        write::forget_nonces(&self.writer, before_ms).await
    }

    async fn backup(&self, dest: &Path) -> Result<(), StoreError> {
        snapshot::backup(&self.readers, dest).await
    }
}
