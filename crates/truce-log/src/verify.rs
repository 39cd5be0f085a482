//! Verifying a log directory (or a mirror of one) from its files alone.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use truce_merkle::{CompactTree, HASH_LEN, Hash, consistency_proof, leaf_hash, verify_consistency};
use truce_note::{Checkpoint, Verifier};

use crate::layout::{
    self, BundleError, TILE_HEIGHT, TILE_WIDTH, TileKey, TilePath, hash_tile_bytes,
    nodes_at_tile_level,
};
use crate::reader::TileReader;
use crate::store::{CHECKPOINT_FILE, FsTileStore, STAGED_CHECKPOINT_FILE};

/// At most this many damages are listed; [`Damages::more`] counts the rest.
pub const MAX_DAMAGES: usize = 1000;

/// A place in a log directory: a file relative to the log's root and, where
/// it can be told, the byte offset of the damaged item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file, e.g. `tile/0/x001/234` or `checkpoint`.
    pub file: String,
    /// The byte offset in the file: of the hash, of the entry's length
    /// prefix, or where parsing failed.
    pub offset: Option<u64>,
}

impl Place {
    fn file(file: impl Into<String>) -> Self {
        Place {
            file: file.into(),
            offset: None,
        }
    }

    fn at(file: impl Into<String>, offset: u64) -> Self {
        Place {
            file: file.into(),
            offset: Some(offset),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(offset) => write!(f, "{} at byte {offset}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// What is wrong at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A file the checkpoint requires does not exist.
    Missing,
    /// A hash tile has the wrong length for its width.
    Length {
        /// Bytes expected.
        expected: u64,
        /// Bytes found.
        actual: u64,
    },
    /// An entry bundle does not split into its number of entries.
    Bundle(BundleError),
    /// Entry `index` does not hash to its level-0 tile hash (the related
    /// place is the entry in its bundle).
    LeafMismatch {
        /// The entry's index in the log.
        index: u64,
    },
    /// A hash of a tile at level 1 or above is not the hash of the tile
    /// below it.
    HashMismatch {
        /// The hash re-derived from the entries.
        expected: Hash,
        /// The hash in the file.
        found: Hash,
    },
    /// A kept partial file (for an older checkpoint) is not a prefix of the
    /// current tile or bundle.
    NotAPrefix,
    /// The checkpoint is missing, malformed, not signed by the log's key, or
    /// of another origin.
    Checkpoint(String),
    /// The root re-derived from the entries is not the root the checkpoint
    /// signs.
    RootMismatch {
        /// Re-derived.
        computed: Hash,
        /// Signed.
        signed: Hash,
    },
    /// The checkpoint is smaller than the previously seen one.
    Rollback {
        /// The previously seen size.
        previous: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The previously seen checkpoint is not a prefix of this log.
    Inconsistent {
        /// The previously seen size.
        previous: u64,
        /// Why.
        reason: String,
    },
    /// The staged checkpoint signs a different root than the published tree
    /// has at its size: two roots signed for one size.
    StagedConflict {
        /// The staged checkpoint's size.
        size: u64,
    },
    /// The root cannot be re-derived: both an entry bundle and its level-0
    /// tile are missing or malformed.
    Underivable,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing => f.write_str("missing"),
            Problem::Length { expected, actual } => {
                write!(f, "{actual} bytes, expected {expected}")
            }
            Problem::Bundle(error) => write!(f, "malformed entry bundle: {error}"),
            Problem::LeafMismatch { index } => {
                write!(f, "entry {index} does not hash to its level-0 tile hash")
            }
            Problem::HashMismatch { expected, found } => {
                write!(f, "hash {found} should be {expected}")
            }
            Problem::NotAPrefix => {
                f.write_str("older partial file is not a prefix of the current one")
            }
            Problem::Checkpoint(reason) => write!(f, "checkpoint: {reason}"),
            Problem::RootMismatch { computed, signed } => {
                write!(
                    f,
                    "the entries give root {computed}, the checkpoint signs {signed}"
                )
            }
            Problem::Rollback { previous, size } => write!(
                f,
                "tree size {size} is smaller than the previously seen {previous}"
            ),
            Problem::Inconsistent { previous, reason } => write!(
                f,
                "not consistent with the previously seen checkpoint of size {previous}: {reason}"
            ),
            Problem::StagedConflict { size } => write!(
                f,
                "the staged checkpoint signs another root for size {size} than the tiles give"
            ),
            Problem::Underivable => f.write_str(
                "the root cannot be re-derived: entries and leaf hashes both unreadable",
            ),
        }
    }
}

/// One damaged place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Where.
    pub place: Place,
    /// A second place involved (the entry, when a leaf hash does not match).
    pub related: Option<Place>,
    /// What.
    pub problem: Problem,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.problem)?;
        if let Some(related) = &self.related {
            write!(f, " ({related})")?;
        }
        Ok(())
    }
}

/// Every damage found, in the order the files were checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Damages {
    /// The damages (at most [`MAX_DAMAGES`]).
    pub list: Vec<Damage>,
    /// How many more were found but not listed.
    pub more: usize,
}

impl Damages {
    fn push(&mut self, place: Place, problem: Problem) {
        self.push_related(place, None, problem);
    }

    fn push_related(&mut self, place: Place, related: Option<Place>, problem: Problem) {
        if self.list.len() < MAX_DAMAGES {
            self.list.push(Damage {
                place,
                related,
                problem,
            });
        } else {
            self.more += 1;
        }
    }

    /// Whether a damage names this file, with an offset range (if any)
    /// containing `offset`.
    pub fn names(&self, file: &str, offset: Option<u64>) -> bool {
        self.list.iter().any(|damage| {
            std::iter::once(&damage.place)
                .chain(&damage.related)
                .any(|place| place.file == file && (offset.is_none() || place.offset == offset))
        })
    }
}

impl fmt::Display for Damages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, damage) in self.list.iter().enumerate() {
            if position > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{damage}")?;
        }
        if self.more > 0 {
            write!(f, "; and {} more", self.more)?;
        }
        Ok(())
    }
}

/// Why a directory does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyDirError {
    /// The log is damaged; every damage found is listed with its place.
    #[error("log damaged: {0}")]
    Damaged(Damages),
    /// A file could not be listed or read for a reason other than absence.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// What a directory that verified holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirReport {
    /// The published checkpoint (verified).
    pub checkpoint: Checkpoint,
    /// Entries re-hashed (the checkpoint's size).
    pub entries: u64,
    /// Entry bundles checked.
    pub bundles: u64,
    /// Hash tiles checked against the entries.
    pub hash_tiles: u64,
    /// Kept partial tiles and bundles of older checkpoints checked as
    /// prefixes of the current ones.
    pub older_partials: u64,
    /// Bytes of every hash-tile file in the directory.
    pub hash_tile_bytes: u64,
    /// Bytes of every entry-bundle file in the directory.
    pub bundle_bytes: u64,
    /// A staged checkpoint beyond the published one: signed and durable, it
    /// will be published when the log is next opened.
    pub pending: Option<Checkpoint>,
    /// Tile files beyond the checkpoint (left by an append that did not
    /// commit); ignored, and overwritten by later appends.
    pub uncommitted: Vec<String>,
    /// Temporary files and a torn staged checkpoint left by a crash.
    pub leftovers: Vec<String>,
    /// Other files, which are not part of the layout.
    pub unexpected: Vec<String>,
}

struct Listing {
    /// Widths present for each tile, with file sizes.
    tiles: BTreeMap<TileKey, BTreeMap<u16, u64>>,
    leftovers: Vec<String>,
    unexpected: Vec<String>,
    has_staged: bool,
}

fn io_error<'a>(path: &'a Path) -> impl FnOnce(io::Error) -> VerifyDirError + 'a {
    move |source| VerifyDirError::Io {
        path: path.to_owned(),
        source,
    }
}

fn list(root: &Path) -> Result<Listing, VerifyDirError> {
    let mut listing = Listing {
        tiles: BTreeMap::new(),
        leftovers: Vec::new(),
        unexpected: Vec::new(),
        has_staged: false,
    };
    let mut pending = vec![(root.to_owned(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(io_error(&dir))?;
        for entry in entries {
            let entry = entry.map_err(io_error(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = format!("{prefix}{name}");
            let file_type = entry.file_type().map_err(io_error(&entry.path()))?;
            if file_type.is_dir() {
                pending.push((entry.path(), format!("{relative}/")));
                continue;
            }
            let len = entry.metadata().map_err(io_error(&entry.path()))?.len();
            if relative == CHECKPOINT_FILE {
                continue;
            }
            if relative == STAGED_CHECKPOINT_FILE {
                listing.has_staged = true;
                continue;
            }
            if name.starts_with('.') && name.ends_with(".tmp") {
                listing.leftovers.push(relative);
                continue;
            }
            match TilePath::parse(&relative) {
                Ok(path) => {
                    listing
                        .tiles
                        .entry(path.key)
                        .or_default()
                        .insert(path.width, len);
                }
                Err(_) => listing.unexpected.push(relative),
            }
        }
    }
    listing.leftovers.sort();
    listing.unexpected.sort();
    Ok(listing)
}

/// Reads a file; `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, VerifyDirError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_error(path)(err)),
    }
}

/// Verifies a log directory against the log's origin and key, and, if given,
/// a checkpoint seen earlier (already verified by the caller).
///
/// Checks, naming the place of each damage found:
///
/// * the checkpoint parses, is signed by `log_key` and has this origin;
/// * every entry bundle the checkpoint's size requires exists and splits into
///   its number of length-prefixed entries;
/// * every entry hashes to its hash in the level-0 tile;
/// * every hash of every higher tile is the root of the tile below it;
/// * the root re-derived from all entries is the signed root;
/// * kept partial files of older checkpoints are prefixes of the current ones;
/// * a staged checkpoint does not sign another root for a size already in
///   the tree;
/// * the previously seen checkpoint is a prefix: not larger, same root at
///   its size, and the consistency proof read from the tiles verifies.
///
/// Files beyond the checkpoint (from an append that never committed) and
/// leftover temporary files are listed in the report, not counted as damage.
pub fn verify_dir(
    dir: impl AsRef<Path>,
    origin: &str,
    log_key: &Verifier,
    previous: Option<&Checkpoint>,
) -> Result<DirReport, VerifyDirError> {
    let root = dir.as_ref();
    let listing = list(root)?;
    let mut damages = Damages::default();

    let checkpoint_path = root.join(CHECKPOINT_FILE);
    let checkpoint = match read_optional(&checkpoint_path)? {
        None => {
            damages.push(Place::file(CHECKPOINT_FILE), Problem::Missing);
            return Err(VerifyDirError::Damaged(damages));
        }
        Some(bytes) => match read_checkpoint(&bytes, origin, log_key) {
            Ok(checkpoint) => checkpoint,
            Err(reason) => {
                damages.push(Place::file(CHECKPOINT_FILE), Problem::Checkpoint(reason));
                return Err(VerifyDirError::Damaged(damages));
            }
        },
    };
    let size = checkpoint.size();

    let mut leftovers = listing.leftovers.clone();
    let mut pending = None;
    let mut staged_at_or_below = None;
    if listing.has_staged {
        let staged_path = root.join(STAGED_CHECKPOINT_FILE);
        if let Some(bytes) = read_optional(&staged_path)? {
            match read_checkpoint(&bytes, origin, log_key) {
                Ok(staged) if staged.size() > size => pending = Some(staged),
                Ok(staged) => staged_at_or_below = Some(staged),
                Err(_) => leftovers.push(STAGED_CHECKPOINT_FILE.to_owned()),
            }
        }
    }

    let mut targets: Vec<u64> = Vec::new();
    if let Some(previous) = previous {
        if previous.size() > size {
            damages.push(
                Place::file(CHECKPOINT_FILE),
                Problem::Rollback {
                    previous: previous.size(),
                    size,
                },
            );
        } else if previous.origin() != origin {
            damages.push(
                Place::file(CHECKPOINT_FILE),
                Problem::Inconsistent {
                    previous: previous.size(),
                    reason: format!("previous checkpoint has origin {:?}", previous.origin()),
                },
            );
        } else {
            targets.push(previous.size());
        }
    }
    if let Some(staged) = &staged_at_or_below {
        targets.push(staged.size());
    }

    let mut walk = Walk {
        root,
        size,
        signed_root: checkpoint.root(),
        listing: &listing,
        damages,
        tree: CompactTree::new(),
        computed: vec![Vec::new(); 8],
        captured: BTreeMap::new(),
        targets,
        bundles: 0,
        hash_tiles: 0,
        older_partials: 0,
    };
    let derived = walk.run()?;
    let Walk {
        mut damages,
        captured,
        bundles,
        hash_tiles,
        older_partials,
        ..
    } = walk;

    if let Some(computed) = derived
        && computed != checkpoint.root()
    {
        damages.push(
            Place::file(CHECKPOINT_FILE),
            Problem::RootMismatch {
                computed,
                signed: checkpoint.root(),
            },
        );
    }
    if let Some(staged) = &staged_at_or_below
        && let Some(root_there) = captured.get(&staged.size())
        && *root_there != staged.root()
    {
        damages.push(
            Place::file(STAGED_CHECKPOINT_FILE),
            Problem::StagedConflict {
                size: staged.size(),
            },
        );
    }
    if let Some(previous) = previous
        && previous.size() <= size
        && previous.origin() == origin
        && derived.is_some()
        && damages.list.is_empty()
    {
        check_previous(root, &checkpoint, previous, &captured, &mut damages);
    }

    if !damages.list.is_empty() {
        return Err(VerifyDirError::Damaged(damages));
    }

    let mut uncommitted = Vec::new();
    let mut hash_tile_bytes = 0u64;
    let mut bundle_bytes = 0u64;
    for (key, widths) in &listing.tiles {
        let committed = key.width_at(size);
        for (width, len) in widths {
            match key {
                TileKey::Hashes { .. } => hash_tile_bytes += len,
                TileKey::Entries { .. } => bundle_bytes += len,
            }
            if committed.is_none_or(|committed| *width > committed) {
                uncommitted.push(
                    TilePath {
                        key: *key,
                        width: *width,
                    }
                    .to_string(),
                );
            }
        }
    }
    Ok(DirReport {
        checkpoint,
        entries: size,
        bundles,
        hash_tiles,
        older_partials,
        hash_tile_bytes,
        bundle_bytes,
        pending,
        uncommitted,
        leftovers,
        unexpected: listing.unexpected.clone(),
    })
}

fn read_checkpoint(bytes: &[u8], origin: &str, log_key: &Verifier) -> Result<Checkpoint, String> {
    let verified =
        truce_note::open(bytes, std::slice::from_ref(log_key)).map_err(|err| err.to_string())?;
    let checkpoint = Checkpoint::from_text(verified.text()).map_err(|err| err.to_string())?;
    if checkpoint.origin() != origin {
        return Err(format!(
            "origin is {:?}, expected {origin:?}",
            checkpoint.origin()
        ));
    }
    Ok(checkpoint)
}

fn check_previous(
    root: &Path,
    checkpoint: &Checkpoint,
    previous: &Checkpoint,
    captured: &BTreeMap<u64, Hash>,
    damages: &mut Damages,
) {
    let inconsistent = |reason: String| Problem::Inconsistent {
        previous: previous.size(),
        reason,
    };
    if previous.size() == 0 {
        return;
    }
    if previous.size() == checkpoint.size() {
        if previous.root() != checkpoint.root() {
            damages.push(
                Place::file(CHECKPOINT_FILE),
                inconsistent("same size, different root".to_owned()),
            );
        }
        return;
    }
    if captured.get(&previous.size()) != Some(&previous.root()) {
        damages.push(
            Place::file(CHECKPOINT_FILE),
            inconsistent("the entries give another root at that size".to_owned()),
        );
        return;
    }
    let store = FsTileStore::open_existing(root);
    let reader = TileReader::new(&store, checkpoint.size());
    let verified = consistency_proof(&reader, previous.size(), checkpoint.size())
        .map_err(|err| err.to_string())
        .and_then(|proof| {
            verify_consistency(
                previous.size(),
                checkpoint.size(),
                &proof,
                &previous.root(),
                &checkpoint.root(),
            )
            .map_err(|err| err.to_string())
        });
    if let Err(reason) = verified {
        damages.push(Place::file(CHECKPOINT_FILE), inconsistent(reason));
    }
}

/// Walks a malformed bundle entry by entry against the level-0 tile's hashes
/// and returns the position and offset of the first entry that is cut off or
/// does not hash to its tile hash.
fn first_bad_entry(bytes: &[u8], stored: &[Hash]) -> Option<(usize, usize)> {
    let mut offset = 0usize;
    for (position, expected) in stored.iter().enumerate() {
        let Some(prefix) = bytes.get(offset..offset + 2) else {
            return Some((position, offset));
        };
        let len = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
        let Some(body) = bytes.get(offset + 2..offset + 2 + len) else {
            return Some((position, offset));
        };
        if leaf_hash(body) != *expected {
            return Some((position, offset));
        }
        offset += 2 + len;
    }
    None
}

/// Which of two disagreeing files the level above confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blame {
    /// The level-0 tile is damaged; the bundle's entries are right.
    Tile,
    /// The bundle is damaged; the tile is right.
    Bundle,
    /// Cannot tell.
    Unknown,
}

/// The streaming pass over every bundle and tile of the checkpoint's tree.
struct Walk<'a> {
    root: &'a Path,
    size: u64,
    signed_root: Hash,
    listing: &'a Listing,
    damages: Damages,
    tree: CompactTree,
    /// Hashes re-derived for the current tile of each tile level ≥ 1.
    computed: Vec<Vec<Hash>>,
    /// Roots at the sizes in `targets`.
    captured: BTreeMap<u64, Hash>,
    targets: Vec<u64>,
    bundles: u64,
    hash_tiles: u64,
    older_partials: u64,
}

impl Walk<'_> {
    /// Returns the re-derived root, or `None` when it cannot be derived.
    fn run(&mut self) -> Result<Option<Hash>, VerifyDirError> {
        let width = u64::from(TILE_WIDTH);
        let bundle_count = self.size.div_ceil(width);
        let mut tile_nodes: Vec<(usize, u64, Hash)> = Vec::with_capacity(4);
        for bundle_index in 0..bundle_count {
            let Some(leaves) = self.level_zero(bundle_index)? else {
                self.damages.push(
                    Place::file(format!(
                        "tile/entries/{}",
                        layout::encode_tile_index(bundle_index)
                    )),
                    Problem::Underivable,
                );
                return Ok(None);
            };
            for leaf in leaves {
                tile_nodes.clear();
                if self
                    .tree
                    .push_with(leaf, |node, hash| {
                        let level = u32::from(node.level);
                        if level > 0 && level % TILE_HEIGHT == 0 {
                            tile_nodes.push(((level / TILE_HEIGHT) as usize, node.index, *hash));
                        }
                    })
                    .is_err()
                {
                    return Ok(None);
                }
                let tree_size = self.tree.size();
                if self.targets.contains(&tree_size) {
                    self.captured.insert(tree_size, self.tree.root());
                }
                for &(tile_level, node_index, hash) in &tile_nodes {
                    self.computed[tile_level].push(hash);
                    if self.computed[tile_level].len() == usize::from(TILE_WIDTH) {
                        let key = TileKey::Hashes {
                            level: tile_level as u8,
                            index: node_index / width,
                        };
                        let hashes = std::mem::take(&mut self.computed[tile_level]);
                        self.check_upper_tile(key, &hashes)?;
                    }
                }
            }
        }
        for tile_level in 1..8usize {
            if self.computed[tile_level].is_empty() {
                continue;
            }
            let key = TileKey::Hashes {
                level: tile_level as u8,
                index: nodes_at_tile_level(self.size, tile_level as u8) / width,
            };
            let hashes = std::mem::take(&mut self.computed[tile_level]);
            self.check_upper_tile(key, &hashes)?;
        }
        Ok(Some(self.tree.root()))
    }

    /// Checks bundle `index` and its level-0 tile; returns the leaf hashes to
    /// build on (when the two disagree, those of the side the level above
    /// confirms).
    fn level_zero(&mut self, index: u64) -> Result<Option<Vec<Hash>>, VerifyDirError> {
        let bundle_key = TileKey::Entries { index };
        let tile_key = TileKey::Hashes { level: 0, index };
        let (Some(bundle_path), Some(tile_path)) =
            (bundle_key.path_at(self.size), tile_key.path_at(self.size))
        else {
            return Ok(None);
        };
        self.bundles += 1;
        let bundle_name = bundle_path.to_string();
        let tile_name = tile_path.to_string();
        let tile_hashes = self.read_hash_tile(&tile_path)?;
        self.hash_tiles += 1;
        let bundle_bytes = read_optional(&self.root.join(&bundle_name))?;
        let mut from_entries: Option<(Vec<Hash>, Vec<usize>)> = None;
        match &bundle_bytes {
            None => self
                .damages
                .push(Place::file(&bundle_name), Problem::Missing),
            Some(bytes) => match layout::parse_bundle(bytes, bundle_path.width) {
                Ok(items) => {
                    let hashes = items
                        .iter()
                        .map(|item| leaf_hash(&bytes[item.body.clone()]))
                        .collect();
                    let offsets = items.iter().map(|item| item.offset).collect();
                    from_entries = Some((hashes, offsets));
                }
                Err(error) => {
                    // Find the first entry that no longer matches its leaf
                    // hash: a damaged length prefix shows there, not where
                    // parsing finally broke.
                    if let Some(stored) = &tile_hashes
                        && let Some((position, offset)) = first_bad_entry(bytes, stored)
                    {
                        self.damages.push_related(
                            Place::at(&bundle_name, offset as u64),
                            Some(Place::at(&tile_name, (position * HASH_LEN) as u64)),
                            Problem::LeafMismatch {
                                index: index * u64::from(TILE_WIDTH) + position as u64,
                            },
                        );
                    }
                    self.damages.push(
                        Place::at(&bundle_name, error.offset() as u64),
                        Problem::Bundle(error),
                    );
                }
            },
        }

        let leaves = match (from_entries, tile_hashes) {
            (Some((from_bundle, offsets)), Some(stored)) => {
                let mismatches: Vec<usize> = from_bundle
                    .iter()
                    .zip(&stored)
                    .enumerate()
                    .filter(|(_, (leaf, found))| leaf != found)
                    .map(|(position, _)| position)
                    .collect();
                if mismatches.is_empty() {
                    from_bundle
                } else {
                    let blame = self.arbitrate(index, &tile_path, &from_bundle, &stored);
                    for position in mismatches {
                        let in_tile = Place::at(&tile_name, (position * HASH_LEN) as u64);
                        let in_bundle = Place::at(&bundle_name, offsets[position] as u64);
                        let (place, related) = match blame {
                            Blame::Bundle => (in_bundle, in_tile),
                            Blame::Tile | Blame::Unknown => (in_tile, in_bundle),
                        };
                        self.damages.push_related(
                            place,
                            Some(related),
                            Problem::LeafMismatch {
                                index: index * u64::from(TILE_WIDTH) + position as u64,
                            },
                        );
                    }
                    match blame {
                        Blame::Bundle => stored,
                        Blame::Tile | Blame::Unknown => from_bundle,
                    }
                }
            }
            (Some((from_bundle, _)), None) => from_bundle,
            (None, Some(stored)) => stored,
            (None, None) => return Ok(None),
        };
        self.check_older_tiles(tile_key, tile_path.width, &leaves);
        self.check_older_bundles(bundle_key, bundle_path.width, &leaves);
        Ok(Some(leaves))
    }

    /// When a bundle's entries and its level-0 tile disagree, which one the
    /// level above confirms: the level-1 hash of a full tile, or the signed
    /// root for the last, partial tile.
    fn arbitrate(
        &self,
        index: u64,
        tile_path: &TilePath,
        from_bundle: &[Hash],
        stored: &[Hash],
    ) -> Blame {
        let (bundle_ok, tile_ok) = if tile_path.is_full() {
            let parent = TileKey::Hashes {
                level: 1,
                index: index / u64::from(TILE_WIDTH),
            };
            let position = (index % u64::from(TILE_WIDTH)) as usize * HASH_LEN;
            let expected = parent
                .path_at(self.size)
                .and_then(|path| fs::read(self.root.join(path.to_string())).ok())
                .and_then(|bytes| Hash::from_slice(bytes.get(position..position + HASH_LEN)?).ok());
            let Some(expected) = expected else {
                return Blame::Unknown;
            };
            (
                truce_merkle::root_from_leaf_hashes(from_bundle) == expected,
                truce_merkle::root_from_leaf_hashes(stored) == expected,
            )
        } else {
            let root_with = |leaves: &[Hash]| {
                let mut tree = self.tree.clone();
                for leaf in leaves {
                    if tree.push(*leaf).is_err() {
                        return None;
                    }
                }
                Some(tree.root())
            };
            (
                root_with(from_bundle) == Some(self.signed_root),
                root_with(stored) == Some(self.signed_root),
            )
        };
        match (bundle_ok, tile_ok) {
            (true, false) => Blame::Tile,
            (false, true) => Blame::Bundle,
            _ => Blame::Unknown,
        }
    }

    /// Reads a hash tile the tree requires; damages for a missing or
    /// wrong-length file.
    fn read_hash_tile(&mut self, path: &TilePath) -> Result<Option<Vec<Hash>>, VerifyDirError> {
        let name = path.to_string();
        let Some(bytes) = read_optional(&self.root.join(&name))? else {
            self.damages.push(Place::file(&name), Problem::Missing);
            return Ok(None);
        };
        let expected = path.hash_tile_len();
        if bytes.len() != expected {
            self.damages.push(
                Place::at(&name, bytes.len().min(expected) as u64),
                Problem::Length {
                    expected: expected as u64,
                    actual: bytes.len() as u64,
                },
            );
            return Ok(None);
        }
        Ok(layout::parse_hash_tile(&bytes))
    }

    /// Compares a stored tile of level ≥ 1 with the hashes re-derived from
    /// the entries.
    fn check_upper_tile(&mut self, key: TileKey, computed: &[Hash]) -> Result<(), VerifyDirError> {
        let Some(path) = key.path_at(self.size) else {
            return Ok(());
        };
        if let Some(stored) = self.read_hash_tile(&path)? {
            let name = path.to_string();
            for (position, (expected, found)) in computed.iter().zip(&stored).enumerate() {
                if expected != found {
                    self.damages.push(
                        Place::at(&name, (position * HASH_LEN) as u64),
                        Problem::HashMismatch {
                            expected: *expected,
                            found: *found,
                        },
                    );
                }
            }
        }
        self.hash_tiles += 1;
        self.check_older_tiles(key, path.width, computed);
        Ok(())
    }

    /// Checks kept partial hash tiles narrower than the current file: each
    /// hash must be the current tile's; the first that is not is named.
    fn check_older_tiles(&mut self, key: TileKey, current_width: u16, hashes: &[Hash]) {
        let Some(widths) = self.listing.tiles.get(&key) else {
            return;
        };
        for &width in widths.keys().filter(|width| **width < current_width) {
            let name = TilePath { key, width }.to_string();
            self.older_partials += 1;
            // Deleted since listing (garbage collection): nothing to check.
            let Ok(found) = fs::read(self.root.join(&name)) else {
                continue;
            };
            let expected = hash_tile_bytes(&hashes[..usize::from(width).min(hashes.len())]);
            if found.len() != expected.len() {
                self.damages.push(
                    Place::at(&name, found.len().min(expected.len()) as u64),
                    Problem::Length {
                        expected: expected.len() as u64,
                        actual: found.len() as u64,
                    },
                );
                continue;
            }
            if let Some(position) = found
                .chunks(HASH_LEN)
                .zip(expected.chunks(HASH_LEN))
                .position(|(a, b)| a != b)
            {
                self.damages.push(
                    Place::at(&name, (position * HASH_LEN) as u64),
                    Problem::NotAPrefix,
                );
            }
        }
    }

    /// Checks kept partial bundles narrower than the current one: each entry
    /// must hash to the current leaf hash; the first that does not is named.
    fn check_older_bundles(&mut self, key: TileKey, current_width: u16, leaves: &[Hash]) {
        let Some(widths) = self.listing.tiles.get(&key) else {
            return;
        };
        for &width in widths.keys().filter(|width| **width < current_width) {
            let name = TilePath { key, width }.to_string();
            self.older_partials += 1;
            let Ok(found) = fs::read(self.root.join(&name)) else {
                continue;
            };
            let expected = &leaves[..usize::from(width).min(leaves.len())];
            if let Some((_, offset)) = first_bad_entry(&found, expected) {
                self.damages
                    .push(Place::at(&name, offset as u64), Problem::NotAPrefix);
            } else if let Err(error) = layout::parse_bundle(&found, width) {
                self.damages.push(
                    Place::at(&name, error.offset() as u64),
                    Problem::Bundle(error),
                );
            }
        }
    }
}
