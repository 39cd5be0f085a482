//! The log: durable group commit of batches, recovery, proofs and receipts.

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use truce_merkle::{EMPTY_ROOT, Hash, ProveError, consistency_proof, inclusion_proof, tree_root};
use truce_note::{Checkpoint, Note, NoteSigner, Verifier};

use crate::integrate::{Edge, EdgeError, IntegrateError, integrate};
use crate::layout::{TILE_WIDTH, TileKey, nodes_at_tile_level};
use crate::reader::{ExpandedTile, ReadError, TileCache, TileReader};
use crate::receipt::Receipt;
use crate::store::{FsStoreError, FsTileStore, TileStore};

/// Whole expanded tiles kept in memory for proofs (16 KiB each): the upper
/// levels, which every proof touches, and recently used level-0 tiles.
const EXPANDED_TILES: usize = 1024;

/// Tile summaries kept in memory (about 1 KiB each): enough for every tile of
/// a log of 16.7 million entries.
const SUMMARY_TILES: usize = 1 << 16;

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The store failed. If this happened during an append, nothing of the
    /// batch was acknowledged; the log recovers before its next append.
    #[error("store failed while {operation}: {source}")]
    Store {
        /// What the log was doing.
        operation: &'static str,
        /// The store's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The log directory could not be opened.
    #[error(transparent)]
    Open(#[from] FsStoreError),
    /// The batch cannot be appended (nothing was written).
    #[error(transparent)]
    Batch(#[from] IntegrateError),
    /// A stored checkpoint is not a checkpoint of this log signed by its key.
    #[error("the {which} checkpoint is not a checkpoint of {origin:?} signed by {key}: {reason}")]
    ForeignCheckpoint {
        /// `published` or `staged`.
        which: &'static str,
        /// The log's origin.
        origin: String,
        /// The log's key name.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The store has tiles but no checkpoint: refusing to start a new tree
    /// over them (it could sign a second root for a size already signed).
    #[error("the store holds tiles but no checkpoint; refusing to start a new log over them")]
    MissingCheckpoint,
    /// The stored tiles do not reproduce a signed checkpoint. The log refuses
    /// to sign anything until this is repaired.
    #[error("stored tiles do not match the signed checkpoint of size {tree_size}: {reason}")]
    Corrupt {
        /// The checkpoint's size.
        tree_size: u64,
        /// What does not match.
        reason: String,
    },
    /// Two different roots were signed for one size.
    #[error("two different roots are signed for tree size {tree_size}: {first} and {second}")]
    SplitView {
        /// The size.
        tree_size: u64,
        /// One root.
        first: Hash,
        /// The other.
        second: Hash,
    },
    /// Reading tiles failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A proof was asked for sizes or an index the log cannot prove.
    #[error("cannot prove: {0}")]
    Prove(String),
    /// An append was asked of a log opened to follow another writer
    /// ([`Log::follow`]).
    #[error("this log follows another writer's appends and cannot append itself")]
    Following,
    /// The store has no published checkpoint yet, so there is nothing to
    /// follow.
    #[error("the store has no published checkpoint yet")]
    NothingPublished,
}

fn store_error<E: std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
) -> impl FnOnce(E) -> LogError {
    move |source| LogError::Store {
        operation,
        source: Box::new(source),
    }
}

fn prove_error(error: ProveError<ReadError>) -> LogError {
    match error {
        ProveError::Read(read) => LogError::Read(read),
        other => LogError::Prove(other.to_string()),
    }
}

/// A transparency log over a [`TileStore`] (by default a directory in the
/// c2sp.org/tlog-tiles layout).
///
/// Appends are batched ([`Log::append_batch`]): the batch's tiles and bundles
/// are written durably, then the new signed checkpoint is staged durably,
/// then published; only then are the entries acknowledged. The log holds its
/// signer and nothing else secret; a store never sees the key.
///
/// One writer per store. Reads (`entry`, proofs) take `&self`.
pub struct Log<S: TileStore = FsTileStore> {
    store: S,
    signer: NoteSigner,
    origin: String,
    edge: Edge,
    checkpoint: Checkpoint,
    note: Note,
    cache: Mutex<TileCache>,
    /// Set when an append failed after it may have written something: the
    /// next append first re-reads the state from the store.
    needs_recovery: bool,
    /// Opened by [`Log::follow`]: reads only, another process appends.
    following: bool,
}

impl<S: TileStore> fmt::Debug for Log<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Log")
            .field("origin", &self.origin)
            .field("size", &self.checkpoint.size())
            .field("root", &self.checkpoint.root())
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl Log<FsTileStore> {
    /// Opens (or creates) the log in directory `dir`, recovering from any
    /// interrupted append (see [`Log::with_store`]).
    pub fn open(dir: impl AsRef<Path>, signer: NoteSigner, origin: &str) -> Result<Self, LogError> {
        let store = FsTileStore::open(dir)?;
        Self::with_store(store, signer, origin)
    }
}

/// A newer checkpoint of the log a [`Log`] follows, checked and ready to
/// apply ([`Log::check_refresh`], [`Log::apply_refresh`]).
pub struct Refresh {
    from_size: u64,
    edge: Edge,
    checkpoint: Checkpoint,
    note: Note,
}

impl fmt::Debug for Refresh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refresh")
            .field("from_size", &self.from_size)
            .field("size", &self.checkpoint.size())
            .field("root", &self.checkpoint.root())
            .finish_non_exhaustive()
    }
}

/// What recovery found in a store.
struct Recovered {
    edge: Edge,
    checkpoint: Checkpoint,
    note: Note,
}

/// Reads a stored checkpoint, which must be signed by the log's key for its
/// origin.
fn own_checkpoint(
    signer: &NoteSigner,
    origin: &str,
    which: &'static str,
    bytes: &[u8],
) -> Result<(Checkpoint, Note), LogError> {
    let foreign = |reason: String| LogError::ForeignCheckpoint {
        which,
        origin: origin.to_owned(),
        key: signer.name().as_str().to_owned(),
        reason,
    };
    let verified =
        truce_note::open(bytes, &[signer.verifier()]).map_err(|err| foreign(err.to_string()))?;
    let checkpoint =
        Checkpoint::from_text(verified.text()).map_err(|err| foreign(err.to_string()))?;
    if checkpoint.origin() != origin {
        return Err(foreign(format!("origin is {:?}", checkpoint.origin())));
    }
    Ok((checkpoint, verified.note().clone()))
}

/// Stages and publishes a signed checkpoint: the commit point.
fn commit_checkpoint<S: TileStore>(store: &mut S, note: &Note) -> Result<(), LogError> {
    store
        .stage_checkpoint(&note.to_bytes())
        .map_err(store_error("staging the checkpoint"))?;
    store
        .publish_checkpoint()
        .map_err(store_error("publishing the checkpoint"))
}

/// Checks that the stored tree of `tree_size` leaves has the root `signed`
/// signs for its (smaller or equal) size.
fn check_root_at<S: TileStore>(
    store: &S,
    signed: &Checkpoint,
    tree_size: u64,
) -> Result<(), LogError> {
    if signed.size() == 0 {
        return Ok(());
    }
    let reader = TileReader::new(store, tree_size);
    let root = tree_root(&reader, signed.size()).map_err(|err| LogError::Corrupt {
        tree_size: signed.size(),
        reason: err.to_string(),
    })?;
    if root != signed.root() {
        return Err(LogError::SplitView {
            tree_size: signed.size(),
            first: signed.root(),
            second: root,
        });
    }
    Ok(())
}

/// Loads the right edge of the tree of a checkpoint's size from the store's
/// partial tiles and bundle, and checks its root.
fn load_edge<S: TileStore>(store: &S, checkpoint: &Checkpoint) -> Result<Edge, LogError> {
    let tree_size = checkpoint.size();
    let corrupt = |reason: String| LogError::Corrupt { tree_size, reason };
    let reader = TileReader::new(store, tree_size);
    let mut levels = Vec::new();
    for level in 0..8u8 {
        let key = TileKey::Hashes {
            level,
            index: nodes_at_tile_level(tree_size, level) / u64::from(TILE_WIDTH),
        };
        match key.path_at(tree_size) {
            Some(path) if !path.is_full() => {
                levels.push(
                    reader
                        .read_hash_tile(&path)
                        .map_err(|err| corrupt(err.to_string()))?,
                );
            }
            _ => levels.push(Vec::new()),
        }
    }
    let bundle_key = TileKey::Entries {
        index: tree_size / u64::from(TILE_WIDTH),
    };
    let bundle = match bundle_key.path_at(tree_size) {
        Some(path) if !path.is_full() => store
            .read_tile(&path)
            .map_err(store_error("reading the partial bundle"))?
            .ok_or_else(|| corrupt(format!("{path} is missing")))?,
        _ => Vec::new(),
    };
    let edge = Edge::from_partials(tree_size, levels, bundle)
        .map_err(|err: EdgeError| corrupt(err.to_string()))?;
    if edge.root() != checkpoint.root() {
        return Err(corrupt(format!(
            "the tiles give root {}, the checkpoint signs {}",
            edge.root(),
            checkpoint.root()
        )));
    }
    Ok(edge)
}

/// Re-reads a log's state from its store, finishing or discarding an
/// interrupted commit (see [`Log::with_store`]).
fn recover<S: TileStore>(
    store: &mut S,
    signer: &NoteSigner,
    origin: &str,
) -> Result<Recovered, LogError> {
    let published = match store
        .read_checkpoint()
        .map_err(store_error("reading the checkpoint"))?
    {
        Some(bytes) => Some(own_checkpoint(signer, origin, "published", &bytes)?),
        None => None,
    };
    let staged = match store
        .read_staged_checkpoint()
        .map_err(store_error("reading the staged checkpoint"))?
    {
        // A staged note that does not verify was torn by a crash while it was
        // being written: it was never published nor returned.
        Some(bytes) => own_checkpoint(signer, origin, "staged", &bytes).ok(),
        None => None,
    };

    match (published, staged) {
        (None, None) => {
            if !store.has_no_tiles().map_err(store_error("listing tiles"))? {
                return Err(LogError::MissingCheckpoint);
            }
            store
                .discard_staged_checkpoint()
                .map_err(store_error("discarding a torn staged checkpoint"))?;
            let checkpoint = Checkpoint::new(origin, 0, EMPTY_ROOT).map_err(|err| {
                LogError::ForeignCheckpoint {
                    which: "published",
                    origin: origin.to_owned(),
                    key: signer.name().as_str().to_owned(),
                    reason: err.to_string(),
                }
            })?;
            let note = checkpoint.sign(signer);
            commit_checkpoint(store, &note)?;
            Ok(Recovered {
                edge: Edge::empty(),
                checkpoint,
                note,
            })
        }
        (None, Some((staged, note))) => {
            let edge = load_edge(store, &staged)?;
            store
                .publish_checkpoint()
                .map_err(store_error("publishing the staged checkpoint"))?;
            Ok(Recovered {
                edge,
                checkpoint: staged,
                note,
            })
        }
        (Some((published, note)), None) => {
            store
                .discard_staged_checkpoint()
                .map_err(store_error("discarding a torn staged checkpoint"))?;
            Ok(Recovered {
                edge: load_edge(store, &published)?,
                checkpoint: published,
                note,
            })
        }
        (Some((published, published_note)), Some((staged, staged_note))) => {
            if staged.size() > published.size() {
                let edge = load_edge(store, &staged)?;
                check_root_at(store, &published, staged.size())?;
                store
                    .publish_checkpoint()
                    .map_err(store_error("publishing the staged checkpoint"))?;
                Ok(Recovered {
                    edge,
                    checkpoint: staged,
                    note: staged_note,
                })
            } else {
                let edge = load_edge(store, &published)?;
                check_root_at(store, &staged, published.size())?;
                store
                    .discard_staged_checkpoint()
                    .map_err(store_error("discarding a stale staged checkpoint"))?;
                Ok(Recovered {
                    edge,
                    checkpoint: published,
                    note: published_note,
                })
            }
        }
    }
}

impl<S: TileStore> Log<S> {
    /// Opens a log over `store`, signing checkpoints with `signer` under
    /// `origin`.
    ///
    /// Recovery: the published checkpoint must verify under the signer's key
    /// and origin. A staged checkpoint (signed, durable, not yet published)
    /// larger than the published one is published now, after checking that
    /// the stored tiles reproduce its root: its tiles were durable before it
    /// was staged, and it may already have been seen, so the log must never
    /// sign another root for its size. A torn or stale staged checkpoint is
    /// discarded. Tiles beyond the checkpoint are ignored and overwritten by
    /// later appends. An empty store gets a signed checkpoint of size 0.
    pub fn with_store(mut store: S, signer: NoteSigner, origin: &str) -> Result<Self, LogError> {
        let recovered = recover(&mut store, &signer, origin)?;
        Ok(Log {
            store,
            signer,
            origin: origin.to_owned(),
            edge: recovered.edge,
            checkpoint: recovered.checkpoint,
            note: recovered.note,
            cache: Mutex::new(TileCache::new(EXPANDED_TILES, SUMMARY_TILES)),
            needs_recovery: false,
            following: false,
        })
    }

    /// Opens a log that another process appends to, at its published
    /// checkpoint, for reading only: nothing is written to `store` (a staged
    /// checkpoint is the writer's commit in flight and is left alone), and
    /// appends fail with [`LogError::Following`]. [`Log::refresh`] moves it
    /// to the writer's latest published checkpoint.
    ///
    /// The published checkpoint must verify under `signer`'s key and
    /// `origin`, and the stored tiles must reproduce its root.
    ///
    /// # Errors
    ///
    /// [`LogError::NothingPublished`] when the writer has not published a
    /// checkpoint yet; the errors of [`Log::with_store`] otherwise.
    pub fn follow(store: S, signer: NoteSigner, origin: &str) -> Result<Self, LogError> {
        let bytes = store
            .read_checkpoint()
            .map_err(store_error("reading the checkpoint"))?
            .ok_or(LogError::NothingPublished)?;
        let (checkpoint, note) = own_checkpoint(&signer, origin, "published", &bytes)?;
        let edge = load_edge(&store, &checkpoint)?;
        Ok(Log {
            store,
            signer,
            origin: origin.to_owned(),
            edge,
            checkpoint,
            note,
            cache: Mutex::new(TileCache::new(EXPANDED_TILES, SUMMARY_TILES)),
            needs_recovery: false,
            following: true,
        })
    }

    /// Whether this log was opened by [`Log::follow`].
    pub fn is_following(&self) -> bool {
        self.following
    }

    /// For a log opened by [`Log::follow`]: reads the writer's published
    /// checkpoint and, if it is larger than this log's, moves to it after
    /// checking that its tree extends the one this log had (the stored
    /// tiles reproduce both roots). Returns whether the log grew.
    ///
    /// # Errors
    ///
    /// [`LogError::SplitView`] when the new tree does not extend the old
    /// one, [`LogError::ForeignCheckpoint`] when the checkpoint is not this
    /// log's, the store's errors otherwise. The log stays where it was.
    pub fn refresh(&mut self) -> Result<bool, LogError> {
        match self.check_refresh()? {
            Some(refresh) => Ok(self.apply_refresh(refresh)),
            None => Ok(false),
        }
    }

    /// The reading half of [`Log::refresh`], through `&self`: finds and
    /// checks a newer published checkpoint without changing the log, so
    /// that a caller sharing the log behind a lock does the store's I/O
    /// under a read lock and takes the write lock only for
    /// [`Log::apply_refresh`]. `None` when there is nothing newer (or the
    /// log does not follow another writer).
    ///
    /// # Errors
    ///
    /// As [`Log::refresh`].
    pub fn check_refresh(&self) -> Result<Option<Refresh>, LogError> {
        if !self.following {
            return Ok(None);
        }
        let Some(bytes) = self
            .store
            .read_checkpoint()
            .map_err(store_error("reading the checkpoint"))?
        else {
            return Ok(None);
        };
        let (checkpoint, note) = own_checkpoint(&self.signer, &self.origin, "published", &bytes)?;
        if checkpoint.size() < self.checkpoint.size() {
            return Err(LogError::Corrupt {
                tree_size: checkpoint.size(),
                reason: format!(
                    "the published checkpoint went back from size {} to {}",
                    self.checkpoint.size(),
                    checkpoint.size()
                ),
            });
        }
        if checkpoint.size() == self.checkpoint.size() {
            if checkpoint.root() != self.checkpoint.root() {
                return Err(LogError::SplitView {
                    tree_size: checkpoint.size(),
                    first: self.checkpoint.root(),
                    second: checkpoint.root(),
                });
            }
            return Ok(None);
        }
        let edge = load_edge(&self.store, &checkpoint)?;
        check_root_at(&self.store, &self.checkpoint, checkpoint.size())?;
        Ok(Some(Refresh {
            from_size: self.checkpoint.size(),
            edge,
            checkpoint,
            note,
        }))
    }

    /// Moves the log to a checkpoint [`Log::check_refresh`] found, without
    /// I/O. Returns `false` (and changes nothing) when the log is no longer
    /// where the refresh was checked from.
    pub fn apply_refresh(&mut self, refresh: Refresh) -> bool {
        if !self.following || refresh.from_size != self.checkpoint.size() {
            return false;
        }
        self.edge = refresh.edge;
        self.checkpoint = refresh.checkpoint;
        self.note = refresh.note;
        true
    }

    /// Re-reads the state from the store after a failed append.
    fn recover_in_place(&mut self) -> Result<(), LogError> {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let recovered = recover(&mut self.store, &self.signer, &self.origin)?;
        self.edge = recovered.edge;
        self.checkpoint = recovered.checkpoint;
        self.note = recovered.note;
        self.needs_recovery = false;
        Ok(())
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The key that verifies the log's checkpoints.
    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    /// The number of entries (the size of the latest checkpoint).
    pub fn size(&self) -> u64 {
        self.checkpoint.size()
    }

    /// The root of the latest checkpoint.
    pub fn root(&self) -> Hash {
        self.checkpoint.root()
    }

    /// The latest checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The latest checkpoint as the signed note that was published.
    pub fn checkpoint_note(&self) -> &Note {
        &self.note
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Appends a batch and returns the index of each entry.
    ///
    /// Returns only once the batch and its signed checkpoint are durable
    /// (see the type documentation). On error nothing is acknowledged; the
    /// entries may still become part of the log if the failure came after
    /// the checkpoint was staged (the next append or open publishes it), so
    /// a caller that retries must tolerate a duplicate. An empty batch
    /// writes nothing.
    pub fn append_batch<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<Vec<u64>, LogError> {
        let first = self.append(entries, false)?;
        Ok((first..first + entries.len() as u64).collect())
    }

    /// Appends a batch like [`Log::append_batch`] and returns, for each
    /// entry, a receipt: its index, inclusion proof and the signed
    /// checkpoint that includes it (c2sp.org/tlog-proof).
    pub fn append_batch_with_receipts<E: AsRef<[u8]>>(
        &mut self,
        entries: &[E],
    ) -> Result<Vec<Receipt>, LogError> {
        let first = self.append(entries, true)?;
        (first..first + entries.len() as u64)
            .map(|index| self.receipt(index))
            .collect()
    }

    /// Appends and returns the first index.
    fn append<E: AsRef<[u8]>>(&mut self, entries: &[E], warm_cache: bool) -> Result<u64, LogError> {
        if self.following {
            return Err(LogError::Following);
        }
        if self.needs_recovery {
            self.recover_in_place()?;
        }
        let integration = integrate(&self.edge, entries)?;
        if entries.is_empty() {
            return Ok(integration.first_index);
        }
        // From here on a failure may leave files behind.
        self.needs_recovery = true;
        // Partial files of widths no checkpoint ever had (between the
        // committed width and the new one) can only be leftovers of failed
        // appends: delete them, so that every partial file narrower than a
        // committed width is one a checkpoint had.
        let old_size = integration.first_index;
        for write in &integration.writes {
            let committed = write.path.key.width_at(old_size).unwrap_or(0);
            if committed + 1 < write.path.width {
                self.store
                    .delete_partials(write.path.key, committed + 1..write.path.width)
                    .map_err(store_error("deleting leftover partial tiles"))?;
            }
        }
        self.store
            .write_tiles(&integration.writes)
            .map_err(store_error("writing tiles"))?;
        let checkpoint = Checkpoint::new(&self.origin, integration.size(), integration.root())
            .map_err(|err| LogError::Prove(err.to_string()))?;
        let note = checkpoint.sign(&self.signer);
        commit_checkpoint(&mut self.store, &note)?;
        // Committed: the batch is durable and published.
        self.needs_recovery = false;
        self.checkpoint = checkpoint;
        self.note = note;
        for key in &integration.completed {
            if let Err(err) = self.store.delete_partials(*key, 1..TILE_WIDTH) {
                tracing::warn!(error = %err, tile = ?key, "could not delete superseded partial tiles");
            }
        }
        // Summaries of the tiles that became full cost one hash per entry and
        // spare proofs from re-hashing them; for receipts, cache the whole
        // new tiles, which every receipt of the batch reads.
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        for write in &integration.writes {
            if !matches!(write.path.key, TileKey::Hashes { .. })
                || !(warm_cache || write.path.is_full())
            {
                continue;
            }
            if let Some(hashes) = crate::layout::parse_hash_tile(&write.data) {
                let tile = ExpandedTile::new(hashes);
                if warm_cache {
                    cache.insert_expanded(write.path, tile);
                } else {
                    cache.insert_summary(write.path, &tile);
                }
            }
        }
        drop(cache);
        self.edge = integration.edge;
        Ok(integration.first_index)
    }

    /// A reader of the tree at the latest checkpoint, sharing the log's tile
    /// cache.
    pub fn reader(&self) -> TileReader<'_, S> {
        TileReader::with_cache(&self.store, self.size(), &self.cache)
    }

    /// The entry at `index`.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, LogError> {
        Ok(self.reader().read_entry(index)?)
    }

    /// The entries `start .. end`.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LogError> {
        let reader = self.reader();
        if start > end || end > self.size() {
            return Err(LogError::Prove(format!(
                "entries {start}..{end} are not in the tree of size {}",
                self.size()
            )));
        }
        let mut entries = Vec::with_capacity((end - start) as usize);
        let mut index = start;
        while index < end {
            let bundle = reader.read_bundle(index / u64::from(TILE_WIDTH))?;
            let from = (index % u64::from(TILE_WIDTH)) as usize;
            let take = ((end - index) as usize).min(bundle.len().saturating_sub(from));
            if take == 0 {
                break;
            }
            entries.extend(bundle.into_iter().skip(from).take(take));
            index += take as u64;
        }
        Ok(entries)
    }

    /// Fills the proof cache with a summary of every tile of the tree (one
    /// read and up to 255 hashes per tile; about a second at 10 million
    /// entries), so that later proofs hash at most a few nodes per tile.
    /// A log that appended its tiles itself has them already. Returns the
    /// number of tiles summarised.
    pub fn warm_proof_cache(&self) -> Result<u64, LogError> {
        let reader = self.reader();
        let size = self.size();
        let mut tiles = 0u64;
        for level in crate::layout::tiles_for_size(size) {
            let count = level.full_tiles + u64::from(level.partial_width > 0);
            for index in 0..count {
                let key = TileKey::Hashes {
                    level: level.level,
                    index,
                };
                if let Some(path) = key.path_at(size) {
                    reader.summarise(&path)?;
                    tiles += 1;
                }
            }
        }
        Ok(tiles)
    }

    /// The root of the tree of `tree_size` leaves (at most the log's size).
    pub fn root_at(&self, tree_size: u64) -> Result<Hash, LogError> {
        self.check_size(tree_size)?;
        tree_root(&self.reader(), tree_size).map_err(prove_error)
    }

    /// The inclusion proof of entry `index` in the tree of `tree_size`
    /// leaves (at most the log's size).
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>, LogError> {
        self.check_size(tree_size)?;
        inclusion_proof(&self.reader(), index, tree_size).map_err(prove_error)
    }

    /// The consistency proof from the tree of `size1` leaves to the tree of
    /// `size2` leaves (`0 < size1 <= size2 <=` the log's size).
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, LogError> {
        self.check_size(size2)?;
        consistency_proof(&self.reader(), size1, size2).map_err(prove_error)
    }

    /// A receipt for entry `index` against the latest checkpoint.
    pub fn receipt(&self, index: u64) -> Result<Receipt, LogError> {
        let proof = self.inclusion_proof(index, self.size())?;
        Ok(Receipt::new(index, proof, self.note.clone()))
    }

    fn check_size(&self, tree_size: u64) -> Result<(), LogError> {
        if tree_size > self.size() {
            return Err(LogError::Prove(format!(
                "tree size {tree_size} exceeds the log's size {}",
                self.size()
            )));
        }
        Ok(())
    }
}
