//! Where tiles and checkpoints live: the [`TileStore`] trait, the file-system
//! store ([`FsTileStore`]) and an in-memory one ([`MemoryTileStore`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::integrate::TileWrite;
use crate::layout::{TileKey, TilePath};

/// The file name of the published checkpoint, as tlog-tiles serves it.
pub const CHECKPOINT_FILE: &str = "checkpoint";

/// The file name of a signed checkpoint that is durable but not yet
/// published (see [`TileStore::stage_checkpoint`]).
pub const STAGED_CHECKPOINT_FILE: &str = ".checkpoint.staged";

/// Storage for a tiled log: tile and entry-bundle files, the published
/// checkpoint, and one staged checkpoint.
///
/// The log calls, for each batch and in this order: [`delete_partials`] for
/// leftovers of failed appends, [`write_tiles`], [`stage_checkpoint`],
/// [`publish_checkpoint`] (the commit point), then [`delete_partials`] for
/// the tiles that became full. An implementation must give these guarantees,
/// on which the log's crash safety rests:
///
/// * after `write_tiles` returns `Ok`, every file it was given is durable;
///   each file is replaced atomically (a reader sees the old bytes or the new
///   bytes, never a mix); on `Err`, any subset may have been written;
/// * after `stage_checkpoint` returns `Ok`, the staged note is durable; it is
///   never visible as the published checkpoint before `publish_checkpoint`;
/// * `publish_checkpoint` atomically replaces the published checkpoint with
///   the staged one (which is then gone); after `Ok` this is durable;
/// * nothing the log did not write is changed.
///
/// A store never sees a key: it stores bytes the log signed.
///
/// [`write_tiles`]: TileStore::write_tiles
/// [`stage_checkpoint`]: TileStore::stage_checkpoint
/// [`publish_checkpoint`]: TileStore::publish_checkpoint
/// [`delete_partials`]: TileStore::delete_partials
pub trait TileStore {
    /// Why an operation failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The bytes of a tile or bundle file, `None` if it does not exist.
    fn read_tile(&self, path: &TilePath) -> Result<Option<Vec<u8>>, Self::Error>;

    /// Writes tile and bundle files durably (see the trait documentation).
    fn write_tiles(&mut self, tiles: &[TileWrite]) -> Result<(), Self::Error>;

    /// Deletes the partial files (`.p/<W>`) of a tile whose width `W` is in
    /// `widths`; durable when it returns `Ok`. Files that do not exist are
    /// not an error.
    fn delete_partials(&mut self, key: TileKey, widths: Range<u16>) -> Result<(), Self::Error>;

    /// Whether the store holds no tile or bundle file at all.
    fn has_no_tiles(&self) -> Result<bool, Self::Error>;

    /// The published checkpoint (a signed note), if any.
    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error>;

    /// The staged checkpoint, if any.
    fn read_staged_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error>;

    /// Durably stores a signed checkpoint without publishing it.
    fn stage_checkpoint(&mut self, note: &[u8]) -> Result<(), Self::Error>;

    /// Makes the staged checkpoint the published one, atomically and durably.
    fn publish_checkpoint(&mut self) -> Result<(), Self::Error>;

    /// Removes the staged checkpoint, if any.
    fn discard_staged_checkpoint(&mut self) -> Result<(), Self::Error>;
}

/// A failed file-system operation and the path it was on.
#[derive(Debug, thiserror::Error)]
#[error("{operation} {}: {source}", path.display())]
pub struct FsStoreError {
    /// What was being done (`write`, `rename`, `fsync`, ...).
    pub operation: &'static str,
    /// On which path.
    pub path: PathBuf,
    /// The underlying error.
    #[source]
    pub source: io::Error,
}

pub(crate) fn fs_error<'a>(
    operation: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> FsStoreError + 'a {
    move |source| FsStoreError {
        operation,
        path: path.to_owned(),
        source,
    }
}

/// A log directory in the tlog-tiles layout, servable as is by any static
/// web server: `checkpoint`, `tile/<L>/<N>[.p/<W>]`,
/// `tile/entries/<N>[.p/<W>]`.
///
/// Files are written to a hidden temporary name in the same directory,
/// fsynced, renamed into place, and then the directories are fsynced; new
/// directories are fsynced into their parents. The staged checkpoint is the
/// hidden file [`STAGED_CHECKPOINT_FILE`].
///
/// One writer at a time: the store takes no lock, so two processes must not
/// append to one directory.
#[derive(Debug, Clone)]
pub struct FsTileStore {
    root: PathBuf,
}

impl FsTileStore {
    /// Opens a log directory, creating it (and fsyncing it into its parent)
    /// if needed.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, FsStoreError> {
        let root = dir.as_ref().to_owned();
        ensure_dir(&root)?;
        Ok(FsTileStore { root })
    }

    /// Opens an existing log directory for reading only; nothing is created.
    pub fn open_existing(dir: impl AsRef<Path>) -> Self {
        FsTileStore {
            root: dir.as_ref().to_owned(),
        }
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The file of a tile.
    pub fn tile_file(&self, path: &TilePath) -> PathBuf {
        self.root.join(path.to_string())
    }

    fn read_optional(&self, path: &Path) -> Result<Option<Vec<u8>>, FsStoreError> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(fs_error("read", path)(err)),
        }
    }
}

/// Creates a directory and any missing parents, fsyncing each parent after a
/// child was created in it so that the new entries are durable.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), FsStoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        ensure_dir(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(err) => return Err(fs_error("create directory", dir)(err)),
    }
    if let Some(parent) = dir.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), FsStoreError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(fs_error("fsync directory", dir))
}

/// Writes `bytes` to `path` (created or truncated) and fsyncs the file.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), FsStoreError> {
    let mut file = File::create(path).map_err(fs_error("create", path))?;
    file.write_all(bytes).map_err(fs_error("write", path))?;
    file.sync_all().map_err(fs_error("fsync", path))
}

/// The most threads [`for_each_concurrently`] runs at once.
const SYNC_THREADS: usize = 8;

/// Runs `work` on every item, on up to [`SYNC_THREADS`] threads at once; the first error.
pub(crate) fn for_each_concurrently<T: Sync>(
    items: &[T],
    work: impl Fn(&T) -> Result<(), FsStoreError> + Sync,
) -> Result<(), FsStoreError> {
    if items.len() <= 1 {
        return items.iter().try_for_each(&work);
    }
    let threads = items.len().min(SYNC_THREADS);
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().try_for_each(&work)))
            .collect();
        let mut result = Ok(());
        for handle in handles {
            let outcome = handle.join().unwrap_or_else(|_| {
                Err(FsStoreError {
                    operation: "sync (thread panicked)",
                    path: PathBuf::new(),
                    source: io::Error::other("a sync thread panicked"),
                })
            });
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    })
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

impl TileStore for FsTileStore {
    type Error = FsStoreError;

    fn read_tile(&self, path: &TilePath) -> Result<Option<Vec<u8>>, Self::Error> {
        self.read_optional(&self.tile_file(path))
    }

    fn write_tiles(&mut self, tiles: &[TileWrite]) -> Result<(), Self::Error> {
        let mut staged = Vec::with_capacity(tiles.len());
        let mut dirs = BTreeSet::new();
        for tile in tiles {
            let file = self.tile_file(&tile.path);
            let dir = file.parent().unwrap_or(&self.root).to_owned();
            ensure_dir(&dir)?;
            staged.push((temp_name(&file), file, &tile.data));
            dirs.insert(dir);
        }
        // The files of a batch are independent: write and fsync them at the
        // same time (concurrent syncs share the file system's journal
        // commits), rename them once all are durable, then sync their
        // directories, again at the same time.
        for_each_concurrently(&staged, |(temp, _, data)| write_synced(temp, data))?;
        for (temp, file, _) in &staged {
            fs::rename(temp, file).map_err(fs_error("rename", file))?;
        }
        let dirs: Vec<PathBuf> = dirs.into_iter().collect();
        for_each_concurrently(&dirs, |dir| sync_dir(dir))
    }

    fn delete_partials(&mut self, key: TileKey, widths: Range<u16>) -> Result<(), Self::Error> {
        let full = self.tile_file(&TilePath::full(key));
        let mut partial_dir = full.into_os_string();
        partial_dir.push(".p");
        let partial_dir = PathBuf::from(partial_dir);
        let listing = match fs::read_dir(&partial_dir) {
            Ok(listing) => listing,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(fs_error("list", &partial_dir)(err)),
        };
        let mut deleted = false;
        let mut kept = false;
        for item in listing {
            let item = item.map_err(fs_error("list", &partial_dir))?;
            let name = item.file_name();
            let width = name
                .to_str()
                .and_then(|name| name.parse::<u16>().ok())
                .filter(|width| name.to_str() == Some(&width.to_string()));
            match width {
                Some(width) if widths.contains(&width) => {
                    let path = item.path();
                    match fs::remove_file(&path) {
                        Ok(()) => deleted = true,
                        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                        Err(err) => return Err(fs_error("remove", &path)(err)),
                    }
                }
                _ => kept = true,
            }
        }
        if !deleted {
            return Ok(());
        }
        if !kept {
            // Nothing left: drop the directory too (best effort; an empty
            // directory is harmless).
            let _ = fs::remove_dir(&partial_dir);
            if let Some(parent) = partial_dir.parent() {
                sync_dir(parent)?;
            }
        } else {
            sync_dir(&partial_dir)?;
        }
        Ok(())
    }

    fn has_no_tiles(&self) -> Result<bool, Self::Error> {
        let tiles = self.root.join("tile");
        match fs::read_dir(&tiles) {
            Ok(mut listing) => Ok(listing.next().is_none()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(true),
            Err(err) => Err(fs_error("list", &tiles)(err)),
        }
    }

    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error> {
        self.read_optional(&self.root.join(CHECKPOINT_FILE))
    }

    fn read_staged_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error> {
        self.read_optional(&self.root.join(STAGED_CHECKPOINT_FILE))
    }

    fn stage_checkpoint(&mut self, note: &[u8]) -> Result<(), Self::Error> {
        write_synced(&self.root.join(STAGED_CHECKPOINT_FILE), note)?;
        sync_dir(&self.root)
    }

    fn publish_checkpoint(&mut self) -> Result<(), Self::Error> {
        let published = self.root.join(CHECKPOINT_FILE);
        fs::rename(self.root.join(STAGED_CHECKPOINT_FILE), &published)
            .map_err(fs_error("rename", &published))?;
        sync_dir(&self.root)
    }

    fn discard_staged_checkpoint(&mut self) -> Result<(), Self::Error> {
        let staged = self.root.join(STAGED_CHECKPOINT_FILE);
        match fs::remove_file(&staged) {
            Ok(()) => sync_dir(&self.root),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(fs_error("remove", &staged)(err)),
        }
    }
}

/// Publishing with nothing staged in a [`MemoryTileStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no staged checkpoint to publish")]
pub struct NothingStaged;

/// A [`TileStore`] in memory, for tests and tools. Everything is "durable"
/// as soon as it is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTileStore {
    /// The tile and bundle files.
    pub tiles: BTreeMap<TilePath, Vec<u8>>,
    /// The published checkpoint.
    pub checkpoint: Option<Vec<u8>>,
    /// The staged checkpoint.
    pub staged: Option<Vec<u8>>,
}

impl MemoryTileStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TileStore for MemoryTileStore {
    type Error = NothingStaged;

    fn read_tile(&self, path: &TilePath) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.tiles.get(path).cloned())
    }

    fn write_tiles(&mut self, tiles: &[TileWrite]) -> Result<(), Self::Error> {
        for tile in tiles {
            self.tiles.insert(tile.path, tile.data.clone());
        }
        Ok(())
    }

    fn delete_partials(&mut self, key: TileKey, widths: Range<u16>) -> Result<(), Self::Error> {
        self.tiles
            .retain(|path, _| path.key != key || path.is_full() || !widths.contains(&path.width));
        Ok(())
    }

    fn has_no_tiles(&self) -> Result<bool, Self::Error> {
        Ok(self.tiles.is_empty())
    }

    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.checkpoint.clone())
    }

    fn read_staged_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.staged.clone())
    }

    fn stage_checkpoint(&mut self, note: &[u8]) -> Result<(), Self::Error> {
        self.staged = Some(note.to_vec());
        Ok(())
    }

    fn publish_checkpoint(&mut self) -> Result<(), Self::Error> {
        self.checkpoint = Some(self.staged.take().ok_or(NothingStaged)?);
        Ok(())
    }

    fn discard_staged_checkpoint(&mut self) -> Result<(), Self::Error> {
        self.staged = None;
        Ok(())
    }
}
