//! The Merkle log's tiles and checkpoints in PostgreSQL, fenced by the
//! sequencer lease: [`PgLog`] (whose documentation describes the tables, the
//! fencing and the guarantees) and [`PgTileStore`].

use std::collections::BTreeMap;
use std::ops::Range;

use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::runtime::Handle;
use truce_log::layout::TILE_WIDTH;
use truce_log::{TileKey, TilePath, TileStore, TileWrite};

use super::PgStore;
use super::lease::SequencerState;
use super::record::PgJournal;
use crate::StoreError;

/// Why an operation on the log's tables failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgLogError {
    /// The store's sequencer lease was lost: another instance took it (or it
    /// was released), so this store may no longer write. Nothing was written.
    #[error(
        "fenced: {holder:?} with token {token} no longer holds the log's sequencer lease \
         (the lease has token {current_token}, holder {current_holder:?}); nothing was written"
    )]
    Fenced {
        /// The holder this store (or lease) was made for.
        holder: String,
        /// Its fencing token.
        token: u64,
        /// The lease's holder now, `None` if it was released.
        current_holder: Option<String>,
        /// The lease's token now.
        current_token: u64,
    },

    /// A write through a store made without a lease ([`PgLog::reader`]).
    #[error("cannot {operation}: this log store is read-only (it holds no sequencer lease)")]
    ReadOnly {
        /// What was asked, e.g. `write tiles`.
        operation: &'static str,
    },

    /// Publishing with nothing staged.
    #[error("no staged checkpoint to publish")]
    NothingStaged,

    /// A lease time to live outside the accepted range.
    #[error("sequencer lease time to live {ttl:?} is outside 1 ms to 24 h")]
    InvalidTtl {
        /// The time to live asked for.
        ttl: std::time::Duration,
    },

    /// An empty holder name.
    #[error("a sequencer lease holder needs a non-empty name")]
    EmptyHolder,

    /// A value read back from the database that does not fit its field.
    #[error("stored {field} value {value} is invalid")]
    Corrupt {
        /// The field, e.g. `log_sequencer.token`.
        field: &'static str,
        /// The value as read.
        value: String,
    },

    /// Connecting to the database or bringing its schema up to date failed.
    #[error("cannot open the log's database")]
    Open(#[source] StoreError),

    /// The thread that holds the blob store's connections could not be started or ended.
    #[error("blob store connection thread: {0}")]
    Thread(String),

    /// A database operation failed.
    #[error("database error while {operation}")]
    Database {
        /// What was being done, e.g. `writing tiles`.
        operation: &'static str,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
}

impl PgLogError {
    /// A [`PgLogError::Database`] for `operation`, for use with `map_err`.
    pub(super) fn database(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| PgLogError::Database { operation, source }
    }
}

/// A stored token back as an unsigned number.
pub(super) fn token_from_db(value: i64) -> Result<u64, PgLogError> {
    u64::try_from(value).map_err(|_| PgLogError::Corrupt {
        field: "log_sequencer.token",
        value: value.to_string(),
    })
}

/// The Merkle log's tiles and checkpoints in a PostgreSQL database, so that
/// several service instances can share one log, with exactly one of them
/// (the sequencer) appending at a time. Leases are taken here
/// ([`SequencerLease::acquire`](crate::SequencerLease::acquire)) and tile stores made from them
/// ([`SequencerLease::tile_store`](crate::SequencerLease::tile_store)) or for reading ([`PgLog::reader`]).
/// Clones share the connections.
///
/// # Tables
///
/// | table | holds |
/// | --- | --- |
/// | `log_sequencer` | one row: the sequencer lease's `holder` (NULL once released), its fencing `token` and its `expires_at` on the database's clock |
/// | `log_tiles` | tile and entry-bundle files keyed by their tlog-tiles `path` (`tile/0/x001/234.p/5`), with their bytes |
/// | `log_checkpoints` | the `published` and the `staged` checkpoint, each a signed note |
///
/// # Sequencer and fencing
///
/// An instance that wants to append takes the lease
/// and renews it ([`SequencerLease::renew`](crate::SequencerLease::renew)) well within its time to live;
/// the others wait for it to expire or be released. Every acquisition that
/// is not the renewal of a live lease by its own holder increases the token,
/// so each term of office has a token of its own. A [`PgTileStore`] made from
/// a lease ([`SequencerLease::tile_store`](crate::SequencerLease::tile_store)) carries that lease's holder and
/// token, and every write it makes (tiles, partial-tile deletion, staging,
/// publishing or discarding a checkpoint) is one transaction that first locks
/// the lease row with `SELECT … FOR SHARE` and goes on only if the row still
/// carries that holder and token; otherwise it writes nothing and fails with
/// [`PgLogError::Fenced`]. The lock makes a takeover (an `UPDATE` of that row)
/// wait for writes in flight and makes writes that start after it see the
/// new token, so a former leader that was paused past its expiry (a long
/// garbage collection, a frozen virtual machine, a network partition) cannot
/// write once another instance holds the lease, whatever its own clock says.
///
/// A new sequencer must open the log (`truce_log::Log::with_store`) only
/// after it holds the lease: the log's recovery then sees everything the
/// former sequencer committed, publishes a checkpoint it had durably staged
/// and ignores tiles it wrote beyond its last checkpoint, exactly as after a
/// crash of a single instance. Holder names must be unique per process (a
/// host name and process id, say): two processes under one name would share
/// a live lease.
///
/// # Guarantees of [`TileStore`]
///
/// Each write is one transaction committed with `synchronous_commit` on, so
/// it is durable when it returns `Ok`, and atomic: all the files of a
/// `write_tiles` call replace their old bytes together, a reader sees a file's
/// old bytes or its new ones, and publishing moves the staged note to the
/// published row in one transaction. The staged note lives in its own row,
/// which no read of the published checkpoint looks at. Rows are only
/// written for paths and checkpoints the log names.
///
/// # Blocking calls
///
/// [`TileStore`] is synchronous and the database driver is asynchronous: a
/// [`PgTileStore`] holds a handle on the Tokio runtime its connections
/// belong to and blocks the calling thread on it
/// ([`tokio::runtime::Handle::block_on`]). Its methods, and those of a
/// `truce_log::Log` over it, must therefore be called from a thread that is
/// not running asynchronous tasks, such as a `tokio::task::spawn_blocking`
/// closure or a thread of the caller's own; called from inside an
/// asynchronous task they panic. With a current-thread runtime, some other
/// thread must be driving it (inside `Runtime::block_on`) meanwhile; a
/// multi-thread runtime needs nothing more.
#[derive(Debug, Clone)]
pub struct PgLog {
    pool: PgPool,
}

impl PgLog {
    /// Connects to the database at `url` and brings its schema up to date,
    /// exactly as [`PgStore::connect`] does (the log's tables are part of the
    /// store's migrations).
    pub async fn connect(url: &str) -> Result<Self, PgLogError> {
        let store = PgStore::connect(url).await.map_err(PgLogError::Open)?;
        Ok(PgLog::from_store(&store))
    }

    /// The log's tables in the database of `store`, sharing its connections.
    pub fn from_store(store: &PgStore) -> Self {
        PgLog {
            pool: store.pool.clone(),
        }
    }

    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Who holds the sequencer lease now, as the database sees it.
    pub async fn sequencer(&self) -> Result<SequencerState, PgLogError> {
        SequencerState::read(&self.pool).await
    }

    /// A read-only tile store, for instances that serve the log without
    /// appending to it. Its writes fail with [`PgLogError::ReadOnly`], except
    /// that discarding a staged checkpoint when none is staged succeeds, so
    /// that a `truce_log::Log` can be opened over it while no commit is in
    /// flight. See [`PgLog`] on `runtime`.
    pub fn reader(&self, runtime: Handle) -> PgTileStore {
        PgTileStore {
            pool: self.pool.clone(),
            runtime,
            fence: None,
        }
    }

    /// The entry journal's table, for reading only (its appends fail with
    /// [`PgLogError::ReadOnly`]); the sequencer's is
    /// [`SequencerLease::journal`](crate::SequencerLease::journal).
    pub fn journal_reader(&self) -> PgJournal {
        PgJournal::new(self.pool.clone(), None)
    }

    /// Whether a checkpoint was ever published: the log exists.
    pub async fn has_checkpoint(&self) -> Result<bool, PgLogError> {
        Ok(read_checkpoint_row(&self.pool, PUBLISHED).await?.is_some())
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The holder and token a writing store checks before every write.
#[derive(Debug, Clone)]
pub(super) struct Fence {
    pub(super) holder: String,
    pub(super) token: u64,
}

/// A [`TileStore`] over the log's tables in PostgreSQL (see [`PgLog`]):
/// made by [`SequencerLease::tile_store`](crate::SequencerLease::tile_store) for the sequencer, whose writes are
/// fenced by its lease's token, or by [`PgLog::reader`] for reading only.
#[derive(Debug, Clone)]
pub struct PgTileStore {
    pool: PgPool,
    runtime: Handle,
    fence: Option<Fence>,
}

impl PgTileStore {
    pub(super) fn fenced(pool: PgPool, runtime: Handle, fence: Fence) -> Self {
        PgTileStore {
            pool,
            runtime,
            fence: Some(fence),
        }
    }

    /// The fencing token this store writes under, `None` for a reader.
    pub fn token(&self) -> Option<u64> {
        self.fence.as_ref().map(|fence| fence.token)
    }

    /// Starts a write transaction: durable commits, and the lease row locked
    /// and checked against this store's fence. A store without a fence is
    /// refused before anything is sent.
    async fn begin_write(
        &self,
        operation: &'static str,
    ) -> Result<Transaction<'static, Postgres>, PgLogError> {
        let fence = self
            .fence
            .as_ref()
            .ok_or(PgLogError::ReadOnly { operation })?;
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(PgLogError::database("starting a log write"))?;
        let checked = check_fence(&mut tx, fence).await;
        match checked {
            Ok(()) => Ok(tx),
            Err(error) => {
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(%rollback, "rolling back a refused log write failed");
                }
                Err(error)
            }
        }
    }

    fn block_on<T>(&self, work: impl Future<Output = T>) -> T {
        self.runtime.block_on(work)
    }
}

/// Makes the transaction's commit durable whatever the server's or role's
/// default, then locks the lease row and checks it still carries `fence`.
pub(super) async fn check_fence(conn: &mut PgConnection, fence: &Fence) -> Result<(), PgLogError> {
    sqlx::query("SET LOCAL synchronous_commit TO on")
        .execute(&mut *conn)
        .await
        .map_err(PgLogError::database("asking for a durable commit"))?;
    // FOR SHARE conflicts with the UPDATE of a takeover: a takeover waits for
    // this transaction, and this lock waits for a takeover in flight and then
    // reads the row it committed.
    let (holder, token): (Option<String>, i64) =
        sqlx::query_as("SELECT holder, token FROM log_sequencer WHERE id = 1 FOR SHARE")
            .fetch_one(&mut *conn)
            .await
            .map_err(PgLogError::database("checking the sequencer lease"))?;
    let token = token_from_db(token)?;
    if token == fence.token && holder.as_deref() == Some(fence.holder.as_str()) {
        return Ok(());
    }
    Err(PgLogError::Fenced {
        holder: fence.holder.clone(),
        token: fence.token,
        current_holder: holder,
        current_token: token,
    })
}

/// Commits `tx` if `result` is `Ok`, otherwise rolls it back and returns the
/// error.
async fn finish<T>(
    tx: Transaction<'static, Postgres>,
    result: Result<T, PgLogError>,
    operation: &'static str,
) -> Result<T, PgLogError> {
    match result {
        Ok(value) => {
            tx.commit().await.map_err(PgLogError::database(operation))?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(%rollback, "rolling back a failed log write failed");
            }
            Err(error)
        }
    }
}

/// The paths of the partial files of `key` whose widths are in `widths`.
fn partial_paths(key: TileKey, widths: Range<u16>) -> Vec<String> {
    widths
        .filter(|width| (1..TILE_WIDTH).contains(width))
        .map(|width| TilePath { key, width }.to_string())
        .collect()
}

/// Which checkpoint row.
const PUBLISHED: &str = "published";
const STAGED: &str = "staged";

async fn read_checkpoint_row(pool: &PgPool, kind: &str) -> Result<Option<Vec<u8>>, PgLogError> {
    sqlx::query_scalar("SELECT note FROM log_checkpoints WHERE kind = $1")
        .bind(kind)
        .fetch_optional(pool)
        .await
        .map_err(PgLogError::database("reading a checkpoint"))
}

impl TileStore for PgTileStore {
    type Error = PgLogError;

    fn read_tile(&self, path: &TilePath) -> Result<Option<Vec<u8>>, Self::Error> {
        let path = path.to_string();
        self.block_on(async {
            sqlx::query_scalar("SELECT data FROM log_tiles WHERE path = $1")
                .bind(&path)
                .fetch_optional(&self.pool)
                .await
                .map_err(PgLogError::database("reading a tile"))
        })
    }

    fn write_tiles(&mut self, tiles: &[TileWrite]) -> Result<(), Self::Error> {
        // One row per path, the last bytes given winning as with files
        // written in order (one statement may not update a row twice).
        let files: BTreeMap<String, &[u8]> = tiles
            .iter()
            .map(|tile| (tile.path.to_string(), tile.data.as_slice()))
            .collect();
        let (paths, data): (Vec<&str>, Vec<&[u8]>) = files
            .iter()
            .map(|(path, bytes)| (path.as_str(), *bytes))
            .unzip();
        self.block_on(async {
            let mut tx = self.begin_write("write tiles").await?;
            let result = sqlx::query(
                "INSERT INTO log_tiles (path, data) \
                 SELECT * FROM UNNEST($1::text[], $2::bytea[]) \
                 ON CONFLICT (path) DO UPDATE SET data = EXCLUDED.data",
            )
            .bind(&paths)
            .bind(&data)
            .execute(&mut *tx)
            .await
            .map(|_| ())
            .map_err(PgLogError::database("writing tiles"));
            finish(tx, result, "committing tiles").await
        })
    }

    fn delete_partials(&mut self, key: TileKey, widths: Range<u16>) -> Result<(), Self::Error> {
        let paths = partial_paths(key, widths);
        self.block_on(async {
            let mut tx = self.begin_write("delete partial tiles").await?;
            let result = sqlx::query("DELETE FROM log_tiles WHERE path = ANY($1)")
                .bind(&paths)
                .execute(&mut *tx)
                .await
                .map(|_| ())
                .map_err(PgLogError::database("deleting partial tiles"));
            finish(tx, result, "committing the deletion of partial tiles").await
        })
    }

    fn has_no_tiles(&self) -> Result<bool, Self::Error> {
        self.block_on(async {
            sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM log_tiles)")
                .fetch_one(&self.pool)
                .await
                .map_err(PgLogError::database("looking for tiles"))
        })
    }

    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error> {
        self.block_on(read_checkpoint_row(&self.pool, PUBLISHED))
    }

    fn read_staged_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error> {
        self.block_on(read_checkpoint_row(&self.pool, STAGED))
    }

    fn stage_checkpoint(&mut self, note: &[u8]) -> Result<(), Self::Error> {
        self.block_on(async {
            let mut tx = self.begin_write("stage a checkpoint").await?;
            let result = sqlx::query(
                "INSERT INTO log_checkpoints (kind, note) VALUES ($1, $2) \
                 ON CONFLICT (kind) DO UPDATE SET note = EXCLUDED.note",
            )
            .bind(STAGED)
            .bind(note)
            .execute(&mut *tx)
            .await
            .map(|_| ())
            .map_err(PgLogError::database("staging a checkpoint"));
            finish(tx, result, "committing the staged checkpoint").await
        })
    }

    fn publish_checkpoint(&mut self) -> Result<(), Self::Error> {
        self.block_on(async {
            let mut tx = self.begin_write("publish the checkpoint").await?;
            let result = publish_in(&mut tx).await;
            finish(tx, result, "committing the published checkpoint").await
        })
    }

    fn discard_staged_checkpoint(&mut self) -> Result<(), Self::Error> {
        self.block_on(async {
            if self.fence.is_none() {
                // Nothing to remove is no write: a reader may open a log
                // whose last commit is complete.
                return match read_checkpoint_row(&self.pool, STAGED).await? {
                    None => Ok(()),
                    Some(_) => Err(PgLogError::ReadOnly {
                        operation: "discard the staged checkpoint",
                    }),
                };
            }
            let mut tx = self.begin_write("discard the staged checkpoint").await?;
            let result = sqlx::query("DELETE FROM log_checkpoints WHERE kind = $1")
                .bind(STAGED)
                .execute(&mut *tx)
                .await
                .map(|_| ())
                .map_err(PgLogError::database("discarding the staged checkpoint"));
            finish(tx, result, "committing the discarded checkpoint").await
        })
    }
}

/// Moves the staged note to the published row.
async fn publish_in(conn: &mut PgConnection) -> Result<(), PgLogError> {
    let staged: Option<Vec<u8>> =
        sqlx::query_scalar("DELETE FROM log_checkpoints WHERE kind = $1 RETURNING note")
            .bind(STAGED)
            .fetch_optional(&mut *conn)
            .await
            .map_err(PgLogError::database("taking the staged checkpoint"))?;
    let note = staged.ok_or(PgLogError::NothingStaged)?;
    sqlx::query(
        "INSERT INTO log_checkpoints (kind, note) VALUES ($1, $2) \
         ON CONFLICT (kind) DO UPDATE SET note = EXCLUDED.note",
    )
    .bind(PUBLISHED)
    .bind(&note)
    .execute(&mut *conn)
    .await
    .map_err(PgLogError::database("publishing the checkpoint"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_paths_skip_full_and_zero_widths() {
        let key = TileKey::Entries { index: 1 };
        assert_eq!(
            partial_paths(key, 0..3),
            ["tile/entries/001.p/1", "tile/entries/001.p/2"]
        );
        assert_eq!(partial_paths(key, 255..300), ["tile/entries/001.p/255"]);
        assert!(partial_paths(key, 5..5).is_empty());
        let hashes = TileKey::Hashes { level: 1, index: 0 };
        assert_eq!(partial_paths(hashes, 7..8), ["tile/1/000.p/7"]);
    }
}
