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
/// clone (the clones share the log and its lock).
#[derive(Clone)]
pub(crate) enum RecordLog {
    /// `DIR/log/`.
    Dir(Arc<RwLock<Log>>),
    /// The database's log tables, appended under this instance's lease.
    Database(Arc<RwLock<DbLog>>),
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
    /// Runs `read` on the log under its read lock.
    pub fn read<T>(&self, read: impl FnOnce(&LogRef<'_>) -> T) -> T {
        match self {
            RecordLog::Dir(log) => {
                let log = log.read().unwrap_or_else(PoisonError::into_inner);
                read(&LogRef::Dir(&log))
            }
            RecordLog::Database(log) => {
                let log = log.read().unwrap_or_else(PoisonError::into_inner);
                read(&LogRef::Database(&log))
            }
        }
    }

    /// Appends a batch under the write lock (blocking: call it on a
    /// blocking thread). See `truce_log::Log::append_batch_with_receipts`.
    pub fn append_batch_with_receipts(
        &self,
        entries: &[Vec<u8>],
    ) -> Result<Vec<Receipt>, LogError> {
        match self {
            RecordLog::Dir(log) => log
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .append_batch_with_receipts(entries),
            RecordLog::Database(log) => log
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .append_batch_with_receipts(entries),
        }
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.read(|log| log.size())
    }

    /// For a log that follows another instance's appends: moves to the
    /// latest published checkpoint (blocking: call it on a blocking thread).
    /// Returns whether the log grew; a log this instance appends to never
    /// does here.
    pub fn refresh(&self) -> Result<bool, LogError> {
        match self {
            RecordLog::Dir(_) => Ok(false),
            RecordLog::Database(log) => log
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .refresh(),
        }
    }
}
