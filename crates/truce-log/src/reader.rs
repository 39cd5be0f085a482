//! Reading the tree from tiles: a [`HashReader`] for proofs, and entries.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use truce_merkle::{Hash, HashReader, NodeId, node_hash};

use crate::layout::{self, BundleError, TILE_HEIGHT, TILE_WIDTH, TileKey, TilePath};
use crate::store::TileStore;

/// A tile's hashes and every complete subtree hash inside it: `levels[k]`
/// holds the roots of consecutive runs of 2^k tile hashes (`levels[0]` are
/// the tile's own hashes; a full tile has one hash at `levels[8]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpandedTile {
    levels: Vec<Vec<Hash>>,
}

/// The in-tile height from which a [`TileSummary`] keeps nodes.
const SUMMARY_FROM: u32 = 4;

impl ExpandedTile {
    pub(crate) fn new(hashes: Vec<Hash>) -> Self {
        let mut levels = vec![hashes];
        loop {
            let below = &levels[levels.len() - 1];
            if below.len() < 2 {
                break;
            }
            let above: Vec<Hash> = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        ExpandedTile { levels }
    }

    /// The root of the 2^k tile hashes starting at `k_index · 2^k`.
    fn node(&self, k: u32, k_index: usize) -> Option<Hash> {
        self.levels.get(k as usize)?.get(k_index).copied()
    }

    /// The nodes of in-tile height 4 and above (31 hashes for a full tile).
    pub(crate) fn summary(&self) -> TileSummary {
        TileSummary {
            levels: self
                .levels
                .iter()
                .skip(SUMMARY_FROM as usize)
                .cloned()
                .collect(),
        }
    }
}

/// The nodes of a tile at in-tile heights 4 to 8: about 1 KiB per full tile
/// instead of 16 KiB for a whole [`ExpandedTile`]. With it, a node below
/// height 4 costs at most 7 hashes of the tile's own hashes, so a proof no
/// longer re-hashes whole tiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TileSummary {
    levels: Vec<Vec<Hash>>,
}

impl TileSummary {
    fn node(&self, k: u32, k_index: usize) -> Option<Hash> {
        let height = k.checked_sub(SUMMARY_FROM)?;
        self.levels.get(height as usize)?.get(k_index).copied()
    }
}

/// A bounded map with two generations: a hit in the older one promotes the
/// item; when the younger one fills up, the older one is dropped. Its
/// contents never reach an output, so the hash map's order does not matter.
#[derive(Debug)]
struct Generations<T> {
    capacity: usize,
    young: HashMap<TilePath, Arc<T>>,
    old: HashMap<TilePath, Arc<T>>,
}

impl<T> Generations<T> {
    fn new(capacity: usize) -> Self {
        Generations {
            capacity: capacity.max(2),
            young: HashMap::new(),
            old: HashMap::new(),
        }
    }

    fn get(&mut self, path: &TilePath) -> Option<Arc<T>> {
        if let Some(item) = self.young.get(path) {
            return Some(Arc::clone(item));
        }
        let item = self.old.remove(path)?;
        self.insert(*path, Arc::clone(&item));
        Some(item)
    }

    fn insert(&mut self, path: TilePath, item: Arc<T>) {
        if self.young.len() >= self.capacity / 2 {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(path, item);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
    }
}

/// The log's caches for reading tiles: whole expanded tiles (few, for the
/// upper levels every proof touches) and tile summaries (many, for the
/// level-0 tiles proofs touch at random).
#[derive(Debug)]
pub(crate) struct TileCache {
    expanded: Generations<ExpandedTile>,
    summaries: Generations<TileSummary>,
}

impl TileCache {
    pub(crate) fn new(expanded: usize, summaries: usize) -> Self {
        TileCache {
            expanded: Generations::new(expanded),
            summaries: Generations::new(summaries),
        }
    }

    /// Caches a tile's expansion and summary.
    pub(crate) fn insert_expanded(&mut self, path: TilePath, tile: ExpandedTile) {
        self.summaries.insert(path, Arc::new(tile.summary()));
        self.expanded.insert(path, Arc::new(tile));
    }

    /// Caches a tile's summary.
    pub(crate) fn insert_summary(&mut self, path: TilePath, tile: &ExpandedTile) {
        self.summaries.insert(path, Arc::new(tile.summary()));
    }

    pub(crate) fn clear(&mut self) {
        self.expanded.clear();
        self.summaries.clear();
    }
}

/// Why a hash or an entry could not be read from the tiles.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The store failed.
    #[error("reading {path}: {source}")]
    Store {
        /// The file being read.
        path: String,
        /// The store's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file the tree size requires does not exist.
    #[error("{path} is missing")]
    Missing {
        /// The file.
        path: String,
    },
    /// A hash tile has the wrong length for its width.
    #[error("{path} has {actual} bytes, expected {expected}")]
    TileLength {
        /// The file.
        path: String,
        /// Bytes expected (32 per hash).
        expected: usize,
        /// Bytes found.
        actual: usize,
    },
    /// An entry bundle is malformed.
    #[error("{path}: {source}")]
    Bundle {
        /// The file.
        path: String,
        /// What is wrong.
        #[source]
        source: BundleError,
    },
    /// A node or entry outside the tree being read.
    #[error("{what} is not in the tree of size {tree_size}")]
    NotInTree {
        /// What was asked for.
        what: String,
        /// The tree size read at.
        tree_size: u64,
    },
}

/// Reads a tree of a fixed size from a [`TileStore`]: the hashes of any full
/// subtree (as a [`HashReader`], for `truce_merkle`'s proof functions) and
/// the entries.
///
/// A node at tree level `8·L + k` is the root of 2^k consecutive hashes of a
/// tile at tile level `L`; the tile file is the full one if the tree size
/// completes it, otherwise the partial one of the width the size gives.
/// [`HashReader::read_nodes`] reads each tile once per call, and a reader
/// made by a [`crate::Log`] shares the log's cache of expanded tiles.
#[derive(Debug)]
pub struct TileReader<'a, S: ?Sized> {
    store: &'a S,
    tree_size: u64,
    cache: Option<&'a Mutex<TileCache>>,
}

impl<'a, S: TileStore + ?Sized> TileReader<'a, S> {
    /// A reader of the tree of `tree_size` leaves in `store`, without a cache.
    pub fn new(store: &'a S, tree_size: u64) -> Self {
        TileReader {
            store,
            tree_size,
            cache: None,
        }
    }

    pub(crate) fn with_cache(store: &'a S, tree_size: u64, cache: &'a Mutex<TileCache>) -> Self {
        TileReader {
            store,
            tree_size,
            cache: Some(cache),
        }
    }

    /// The tree size this reader reads.
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    fn read_stored(&self, path: &TilePath) -> Result<Option<Vec<u8>>, ReadError> {
        self.store
            .read_tile(path)
            .map_err(|source| ReadError::Store {
                path: path.to_string(),
                source: Box::new(source),
            })
    }

    /// The bytes of a tile file and the width of the file they are from.
    /// A partial file that is gone because the tile has since been completed
    /// (the log deletes superseded partials; a reader of an older tree size,
    /// such as an instance following the log, may still ask for one) is read
    /// from the full tile, whose first `width` hashes or entries are the
    /// partial's (c2sp.org/tlog-tiles).
    fn read_file(&self, path: &TilePath) -> Result<(Vec<u8>, u16), ReadError> {
        if let Some(bytes) = self.read_stored(path)? {
            return Ok((bytes, path.width));
        }
        if !path.is_full() {
            let full = TilePath::full(path.key);
            if let Some(bytes) = self.read_stored(&full)? {
                return Ok((bytes, full.width));
            }
        }
        Err(ReadError::Missing {
            path: path.to_string(),
        })
    }

    /// The hashes of a hash tile file, checked for length.
    pub fn read_hash_tile(&self, path: &TilePath) -> Result<Vec<Hash>, ReadError> {
        let (mut bytes, width) = self.read_file(path)?;
        let expected = path.hash_tile_len();
        if width > path.width && bytes.len() == TilePath::full(path.key).hash_tile_len() {
            bytes.truncate(expected);
        }
        if bytes.len() != expected {
            return Err(ReadError::TileLength {
                path: path.to_string(),
                expected,
                actual: bytes.len(),
            });
        }
        layout::parse_hash_tile(&bytes).ok_or_else(|| ReadError::TileLength {
            path: path.to_string(),
            expected,
            actual: bytes.len(),
        })
    }

    fn lock_cache(&self) -> Option<std::sync::MutexGuard<'a, TileCache>> {
        self.cache
            .map(|cache| cache.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Fully expands a tile (reading it unless its hashes are given),
    /// caching the expansion and its summary.
    fn expand(
        &self,
        path: &TilePath,
        hashes: Option<Vec<Hash>>,
    ) -> Result<Arc<ExpandedTile>, ReadError> {
        let hashes = match hashes {
            Some(hashes) => hashes,
            None => self.read_hash_tile(path)?,
        };
        let tile = Arc::new(ExpandedTile::new(hashes));
        if let Some(mut cache) = self.lock_cache() {
            cache.expanded.insert(*path, Arc::clone(&tile));
            cache.summaries.insert(*path, Arc::new(tile.summary()));
        }
        Ok(tile)
    }

    /// Expands a tile and caches its summary only (for warming the cache).
    pub(crate) fn summarise(&self, path: &TilePath) -> Result<(), ReadError> {
        let summary = ExpandedTile::new(self.read_hash_tile(path)?).summary();
        if let Some(mut cache) = self.lock_cache() {
            cache.summaries.insert(*path, Arc::new(summary));
        }
        Ok(())
    }

    /// Where a node is: the tile file, the height `k` inside the tile and the
    /// index at that height.
    fn locate(&self, node: NodeId) -> Result<(TilePath, u32, usize), ReadError> {
        let not_in_tree = || ReadError::NotInTree {
            what: format!("node {node}"),
            tree_size: self.tree_size,
        };
        let level = u32::from(node.level);
        let tile_level = level / TILE_HEIGHT;
        let k = level % TILE_HEIGHT;
        let first = node.index.checked_shl(k).ok_or_else(not_in_tree)?;
        if first >> k != node.index {
            return Err(not_in_tree());
        }
        let key = TileKey::Hashes {
            level: tile_level as u8,
            index: first / u64::from(TILE_WIDTH),
        };
        let offset = (first % u64::from(TILE_WIDTH)) as usize;
        let path = key.path_at(self.tree_size).ok_or_else(not_in_tree)?;
        if offset + (1usize << k) > usize::from(path.width) {
            return Err(not_in_tree());
        }
        Ok((path, k, offset >> k))
    }

    /// The entries of one bundle, as the tree size has it.
    pub fn read_bundle(&self, bundle_index: u64) -> Result<Vec<Vec<u8>>, ReadError> {
        let key = TileKey::Entries {
            index: bundle_index,
        };
        let path = key
            .path_at(self.tree_size)
            .ok_or_else(|| ReadError::NotInTree {
                what: format!("entry bundle {bundle_index}"),
                tree_size: self.tree_size,
            })?;
        let (bytes, width) = self.read_file(&path)?;
        let items = layout::parse_bundle(&bytes, width).map_err(|source| ReadError::Bundle {
            path: path.to_string(),
            source,
        })?;
        Ok(items
            .into_iter()
            .take(usize::from(path.width))
            .map(|item| bytes[item.body].to_vec())
            .collect())
    }

    /// One entry.
    pub fn read_entry(&self, index: u64) -> Result<Vec<u8>, ReadError> {
        if index >= self.tree_size {
            return Err(ReadError::NotInTree {
                what: format!("entry {index}"),
                tree_size: self.tree_size,
            });
        }
        let mut bundle = self.read_bundle(index / u64::from(TILE_WIDTH))?;
        let position = (index % u64::from(TILE_WIDTH)) as usize;
        if position >= bundle.len() {
            return Err(ReadError::NotInTree {
                what: format!("entry {index}"),
                tree_size: self.tree_size,
            });
        }
        Ok(bundle.swap_remove(position))
    }
}

/// What one `read_nodes` call knows about a tile.
enum Source {
    Expanded(Arc<ExpandedTile>),
    Summary {
        summary: Option<Arc<TileSummary>>,
        hashes: Option<Vec<Hash>>,
    },
}

impl<S: TileStore + ?Sized> TileReader<'_, S> {
    /// What the cache holds for a tile.
    fn cached_source(&self, path: &TilePath) -> Source {
        match self.lock_cache() {
            Some(mut cache) => match cache.expanded.get(path) {
                Some(tile) => Source::Expanded(tile),
                None => Source::Summary {
                    summary: cache.summaries.get(path),
                    hashes: None,
                },
            },
            None => Source::Summary {
                summary: None,
                hashes: None,
            },
        }
    }

    /// The hash of a node located in a tile, using what `sources` already
    /// holds for that tile and reading or expanding it only as needed.
    fn node_in(
        &self,
        sources: &mut BTreeMap<TilePath, Source>,
        node: NodeId,
        path: TilePath,
        k: u32,
        k_index: usize,
    ) -> Result<Hash, ReadError> {
        let not_in_tree = || ReadError::NotInTree {
            what: format!("node {node}"),
            tree_size: self.tree_size,
        };
        let source = sources
            .entry(path)
            .or_insert_with(|| self.cached_source(&path));
        match source {
            Source::Expanded(tile) => tile.node(k, k_index).ok_or_else(not_in_tree),
            Source::Summary { summary, hashes } => {
                if k >= SUMMARY_FROM {
                    if let Some(summary) = summary {
                        return summary.node(k, k_index).ok_or_else(not_in_tree);
                    }
                    // Above the summary's floor and no summary: expand the
                    // whole tile once (this caches its summary too).
                    let tile = self.expand(&path, hashes.take())?;
                    let hash = tile.node(k, k_index).ok_or_else(not_in_tree);
                    *source = Source::Expanded(tile);
                    return hash;
                }
                if hashes.is_none() {
                    *hashes = Some(self.read_hash_tile(&path)?);
                }
                let block = hashes
                    .as_deref()
                    .and_then(|hashes| hashes.get(k_index << k..(k_index + 1) << k))
                    .ok_or_else(not_in_tree)?;
                Ok(truce_merkle::root_from_leaf_hashes(block))
            }
        }
    }
}

impl<S: TileStore + ?Sized> HashReader for TileReader<'_, S> {
    type Error = ReadError;

    fn read_node(&self, node: NodeId) -> Result<Hash, Self::Error> {
        Ok(self.read_nodes(&[node])?[0])
    }

    /// Reads each tile at most once per call; a node at in-tile height 4 or
    /// more comes from the cached summary when there is one, a lower node is
    /// hashed from at most 8 of the tile's hashes.
    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        let mut sources: BTreeMap<TilePath, Source> = BTreeMap::new();
        nodes
            .iter()
            .map(|node| {
                let (path, k, k_index) = self.locate(*node)?;
                self.node_in(&mut sources, *node, path, k, k_index)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrate::{Edge, integrate};
    use crate::store::{MemoryTileStore, TileStore};
    use truce_merkle::{MemoryTree, leaf_hash};

    #[test]
    fn every_node_of_a_tiled_tree() {
        let entries: Vec<Vec<u8>> = (0u32..70_000).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut store = MemoryTileStore::new();
        let mut edge = Edge::empty();
        for chunk in entries.chunks(9_000) {
            let step = integrate(&edge, chunk).unwrap();
            store.write_tiles(&step.writes).unwrap();
            edge = step.edge;
        }
        let tree = MemoryTree::from_leaf_hashes(entries.iter().map(|entry| leaf_hash(entry)));
        let cache = Mutex::new(TileCache::new(8, 64));
        // Summaries of every tile but almost no room for whole tiles: nodes
        // at in-tile height 4 and up come from summaries, lower ones from
        // the tile's hashes.
        let summaries = Mutex::new(TileCache::new(2, 4096));
        let warm = TileReader::with_cache(&store, 70_000, &summaries);
        for level in crate::layout::tiles_for_size(70_000) {
            for index in 0..level.full_tiles + u64::from(level.partial_width > 0) {
                let key = TileKey::Hashes {
                    level: level.level,
                    index,
                };
                warm.summarise(&key.path_at(70_000).unwrap()).unwrap();
            }
        }
        for reader in [
            TileReader::new(&store, 70_000),
            TileReader::with_cache(&store, 70_000, &cache),
            TileReader::with_cache(&store, 70_000, &summaries),
        ] {
            for level in 0..=16u8 {
                let stored = tree.level(level);
                let step = (stored.len() / 300).max(1);
                let nodes: Vec<NodeId> = (0..stored.len())
                    .step_by(step)
                    .chain(stored.len().checked_sub(1))
                    .map(|index| NodeId::new(level, index as u64))
                    .collect();
                let expected: Vec<Hash> = nodes.iter().map(|n| stored[n.index as usize]).collect();
                assert_eq!(
                    reader.read_nodes(&nodes).unwrap(),
                    expected,
                    "level {level}"
                );
                let beyond = NodeId::new(level, stored.len() as u64);
                assert!(matches!(
                    reader.read_node(beyond),
                    Err(ReadError::NotInTree { .. })
                ));
            }
            assert_eq!(reader.read_entry(69_999).unwrap(), entries[69_999]);
            assert_eq!(reader.read_entry(256).unwrap(), entries[256]);
            assert!(reader.read_entry(70_000).is_err());
        }
    }

    #[test]
    fn cache_keeps_at_most_its_capacity() {
        let mut cache = Generations::new(4);
        let tile = Arc::new(ExpandedTile::new(vec![leaf_hash(b"x")]));
        for index in 0..10 {
            let path = TilePath::full(TileKey::Hashes { level: 0, index });
            cache.insert(path, Arc::clone(&tile));
            assert!(cache.len() <= 4);
        }
        let last = TilePath::full(TileKey::Hashes { level: 0, index: 9 });
        assert!(cache.get(&last).is_some());
        let first = TilePath::full(TileKey::Hashes { level: 0, index: 0 });
        assert!(cache.get(&first).is_none());
    }
}
