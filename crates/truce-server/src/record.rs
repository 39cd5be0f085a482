//! Where the service's record lives: the log, the entry journal and the
//! bodies the log commits to ([`crate::RecordPlace`]).
//!
//! | part | in the data directory | in the database |
//! | --- | --- | --- |
//! | log | `DIR/log/` ([`truce_log::FsTileStore`]) | `log_tiles`, `log_checkpoints` ([`truce_store::PgTileStore`], fenced by the sequencer lease) |
//! | journal | `DIR/journal.jsonl` | `log_journal` ([`crate::journal::JournalStore`]) |
//! | bodies | `DIR/blobs/` (pack files) | `log_blobs` ([`truce_store::PgBlobs`] behind [`BlobStore::with_backend`](truce_log::BlobStore::with_backend)) |
//!
//! [`RecordLog`] is the log either way: the handlers read it through
//! [`LogRef`], which has the reading methods of `truce_log::Log`, and the
//! writer appends through it. The log signing key stays in the data
//! directory (`DIR/log.key`) in both cases: it is a secret, not part of the
//! record, and every instance that may sequence needs a copy.

use std::sync::{Arc, PoisonError, RwLock};

use truce_log::{Log, LogError, Receipt, TilePath, TileStore};
use truce_merkle::Hash;
use truce_note::{Note, Verifier};
use truce_store::PgTileStore;

/// A log whose tiles and checkpoints are in PostgreSQL.
pub(crate) type DbLog = Log<PgTileStore>;

/// The service's log, in the data directory or in the database. Cheap to
/// clone (the clones share the log, its lock and its head).
///
/// The log's lock may be held across the store's I/O (an append, a tile
/// read, a follower's refresh), which for a log in the database means
/// waiting on the async runtime from a blocking thread. Asynchronous code
/// must therefore never take it: what handlers need at once (the size, the
/// checkpoint, the key) is in the [`LogHead`], behind a lock of its own
/// that is only ever held to copy an `Arc`. Everything else goes through
/// [`RecordLog::read`] on a blocking thread.
#[derive(Clone)]
pub(crate) struct RecordLog {
    place: LogPlace,
    head: Arc<RwLock<Arc<LogHead>>>,
}

/// Where the log is, and the log behind its lock.
#[derive(Clone)]
pub(crate) enum LogPlace {
    /// `DIR/log/`.
    Dir(Arc<RwLock<Log>>),
    /// The database's log tables, appended under this instance's lease (or
    /// followed, read-only, while another instance holds it).
    Database(Arc<RwLock<DbLog>>),
}

/// The log's latest checkpoint and key, as last published by this
/// instance or seen by it.
#[derive(Debug, Clone)]
pub(crate) struct LogHead {
    /// The number of entries.
    pub size: u64,
    /// The latest checkpoint as the signed note that was published.
    pub note: Note,
    /// The key that verifies the checkpoints.
    pub verifier: Verifier,
}

impl LogHead {
    fn of(log: &LogRef<'_>) -> Self {
        LogHead {
            size: log.size(),
            note: log.checkpoint_note().clone(),
            verifier: log.verifier(),
        }
    }
}

/// A borrowed log, whichever its store: the reading methods of
/// `truce_log::Log`.
pub(crate) enum LogRef<'a> {
    /// In the data directory.
    Dir(&'a Log),
    /// In the database.
    Database(&'a DbLog),
}

/// Runs `$body` with `$log` bound to the borrowed log of either kind.
macro_rules! either {
    ($value:expr, $log:ident => $body:expr) => {
        match $value {
            LogRef::Dir($log) => $body,
            LogRef::Database($log) => $body,
        }
    };
}

impl LogRef<'_> {
    /// The number of entries.
    pub fn size(&self) -> u64 {
        either!(self, log => log.size())
    }

    /// The key that verifies the checkpoints.
    pub fn verifier(&self) -> Verifier {
        either!(self, log => log.verifier())
    }

    /// The latest checkpoint as the signed note that was published.
    pub fn checkpoint_note(&self) -> &Note {
        either!(self, log => log.checkpoint_note())
    }

    /// The entry at `index`.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, LogError> {
        either!(self, log => log.entry(index))
    }

    /// Entries `start .. end`.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LogError> {
        either!(self, log => log.entries(start, end))
    }

    /// The inclusion proof of `index` in the tree of `tree_size`.
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>, LogError> {
        either!(self, log => log.inclusion_proof(index, tree_size))
    }

    /// The consistency proof from `size1` to `size2`.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, LogError> {
        either!(self, log => log.consistency_proof(size1, size2))
    }

    /// The receipt of the entry at `index`.
    pub fn receipt(&self, index: u64) -> Result<Receipt, LogError> {
        either!(self, log => log.receipt(index))
    }

    /// The bytes of a tile or entry bundle as stored (the caller checks
    /// that the path belongs to the current tree).
    pub fn read_tile(&self, path: &TilePath) -> Result<Option<Vec<u8>>, LogError> {
        let store_error = |source: Box<dyn std::error::Error + Send + Sync>| LogError::Store {
            operation: "reading a tile",
            source,
        };
        match self {
            LogRef::Dir(log) => log
                .store()
                .read_tile(path)
                .map_err(|error| store_error(Box::new(error))),
            LogRef::Database(log) => log
                .store()
                .read_tile(path)
                .map_err(|error| store_error(Box::new(error))),
        }
    }
}

impl RecordLog {
    /// The log in the data directory.
    pub fn dir(log: Log) -> Self {
        Self::at(LogPlace::Dir(Arc::new(RwLock::new(log))))
    }

    /// The log in the database.
    pub fn database(log: DbLog) -> Self {
        Self::at(LogPlace::Database(Arc::new(RwLock::new(log))))
    }

    fn at(place: LogPlace) -> Self {
        let head = Self::read_place(&place, LogHead::of);
        RecordLog {
            place,
            head: Arc::new(RwLock::new(Arc::new(head))),
        }
    }

    /// Where the log is.
    pub fn place(&self) -> &LogPlace {
        &self.place
    }

    /// The size, checkpoint and key, without touching the log's lock (for
    /// asynchronous code).
    pub fn head(&self) -> Arc<LogHead> {
        Arc::clone(&self.head.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn set_head(&self, head: LogHead) {
        *self.head.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(head);
    }

    fn read_place<T>(place: &LogPlace, read: impl FnOnce(&LogRef<'_>) -> T) -> T {
        match place {
            LogPlace::Dir(log) => {
                let log = log.read().unwrap_or_else(PoisonError::into_inner);
                read(&LogRef::Dir(&log))
            }
            LogPlace::Database(log) => {
                let log = log.read().unwrap_or_else(PoisonError::into_inner);
                read(&LogRef::Database(&log))
            }
        }
    }

    /// Runs `read` on the log under its read lock. Blocking (the lock may
    /// be held across I/O): call it on a blocking thread, or at start.
    pub fn read<T>(&self, read: impl FnOnce(&LogRef<'_>) -> T) -> T {
        Self::read_place(&self.place, read)
    }

    /// Appends a batch under the write lock (blocking: call it on a
    /// blocking thread) and updates the head. See
    /// `truce_log::Log::append_batch_with_receipts`.
    pub fn append_batch_with_receipts(
        &self,
        entries: &[Vec<u8>],
    ) -> Result<Vec<Receipt>, LogError> {
        let (receipts, head) = match &self.place {
            LogPlace::Dir(log) => {
                let mut log = log.write().unwrap_or_else(PoisonError::into_inner);
                let receipts = log.append_batch_with_receipts(entries);
                (receipts, LogHead::of(&LogRef::Dir(&log)))
            }
            LogPlace::Database(log) => {
                let mut log = log.write().unwrap_or_else(PoisonError::into_inner);
                let receipts = log.append_batch_with_receipts(entries);
                (receipts, LogHead::of(&LogRef::Database(&log)))
            }
        };
        self.set_head(head);
        receipts
    }

    /// The number of entries (from the head: never waits for the log).
    pub fn size(&self) -> u64 {
        self.head().size
    }

    /// For a log that follows another instance's appends: moves to the
    /// latest published checkpoint (blocking: call it on a blocking thread).
    /// The store is read under the read lock; the write lock is taken only
    /// to move the log, without I/O. Returns whether the log grew; a log
    /// this instance appends to never does here.
    pub fn refresh(&self) -> Result<bool, LogError> {
        let LogPlace::Database(log) = &self.place else {
            return Ok(false);
        };
        let found = log
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .check_refresh()?;
        let Some(found) = found else {
            return Ok(false);
        };
        let mut log = log.write().unwrap_or_else(PoisonError::into_inner);
        let moved = log.apply_refresh(found);
        let head = LogHead::of(&LogRef::Database(&log));
        drop(log);
        self.set_head(head);
        Ok(moved)
    }
}
