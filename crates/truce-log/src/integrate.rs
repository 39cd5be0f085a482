//! Integration of a batch: a pure function from the right edge of the tree
//! and new entries to the tile files to write and the new root.

use truce_merkle::{CompactTree, Hash, leaf_hash, root_from_leaf_hashes};

use crate::layout::{
    self, BundleError, TILE_WIDTH, TileKey, TilePath, hash_tile_bytes, nodes_at_tile_level,
    push_bundle_entry,
};

/// The right edge of a tiled tree: what is needed to append to it.
///
/// It holds the hashes of every partial tile (one per tile level at most),
/// the entries of the partial entry bundle, and the peaks of the tree
/// ([`CompactTree`]), which are derived from the partial tiles. At most
/// 8 × 255 hashes and 255 entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    tree: CompactTree,
    /// `levels[L]`: the hashes of the partial tile at tile level `L` (empty
    /// when that level has no partial tile).
    levels: Vec<Vec<Hash>>,
    /// The partial entry bundle, encoded.
    bundle: Vec<u8>,
}

/// Partial tiles that do not describe a tree of the claimed size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeError {
    /// A partial tile has the wrong number of hashes for the size.
    #[error(
        "tree size {tree_size} needs {expected} hashes in the partial tile of level {level}, got {actual}"
    )]
    Width {
        /// The tree size.
        tree_size: u64,
        /// The tile level.
        level: u8,
        /// The width the size implies.
        expected: u64,
        /// The number of hashes given.
        actual: usize,
    },
    /// The partial bundle is not a bundle of the expected number of entries.
    #[error("partial entry bundle: {0}")]
    Bundle(#[from] BundleError),
    /// An entry of the partial bundle does not hash to the level-0 partial tile.
    #[error("entry {position} of the partial bundle does not hash to the partial level-0 tile")]
    LeafMismatch {
        /// Position of the entry in the bundle.
        position: usize,
    },
}

impl Default for Edge {
    fn default() -> Self {
        Self::empty()
    }
}

impl Edge {
    /// The edge of the empty tree.
    pub fn empty() -> Self {
        Edge {
            tree: CompactTree::new(),
            levels: Vec::new(),
            bundle: Vec::new(),
        }
    }

    /// Rebuilds the edge of a tree of `tree_size` leaves from its partial
    /// tiles (`levels[L]` for tile level L, empty where the level has no
    /// partial tile; missing trailing levels count as empty) and its partial
    /// entry bundle. Checks the widths and that the bundle's entries hash to
    /// the level-0 partial tile; the peaks are folded from the partial tiles.
    pub fn from_partials(
        tree_size: u64,
        mut levels: Vec<Vec<Hash>>,
        bundle: Vec<u8>,
    ) -> Result<Self, EdgeError> {
        let width = u64::from(TILE_WIDTH);
        for level in 0..8u8 {
            let expected = nodes_at_tile_level(tree_size, level) % width;
            let actual = levels.get(usize::from(level)).map_or(0, Vec::len);
            if actual as u64 != expected {
                return Err(EdgeError::Width {
                    tree_size,
                    level,
                    expected,
                    actual,
                });
            }
        }
        if levels.len() > 8 {
            let level = 8;
            return Err(EdgeError::Width {
                tree_size,
                level,
                expected: 0,
                actual: levels[8].len(),
            });
        }
        while levels.last().is_some_and(Vec::is_empty) {
            levels.pop();
        }
        let leaves = levels.first().map_or(&[][..], Vec::as_slice);
        let items = layout::parse_bundle(&bundle, leaves.len() as u16)?;
        for (position, (item, expected)) in items.iter().zip(leaves).enumerate() {
            if leaf_hash(&bundle[item.body.clone()]) != *expected {
                return Err(EdgeError::LeafMismatch { position });
            }
        }
        // Peaks, largest first: higher tile levels cover older leaves; within
        // a partial tile the hashes split into perfect subtrees by the bits of
        // its width, largest first.
        let mut peaks = Vec::with_capacity(tree_size.count_ones() as usize);
        for hashes in levels.iter().rev() {
            let mut offset = 0usize;
            for bit in (0..8u32).rev() {
                let span = 1usize << bit;
                if hashes.len() & span != 0 {
                    peaks.push(root_from_leaf_hashes(&hashes[offset..offset + span]));
                    offset += span;
                }
            }
        }
        let tree = CompactTree::from_peaks(tree_size, peaks).map_err(|_| EdgeError::Width {
            tree_size,
            level: 0,
            expected: tree_size % width,
            actual: leaves.len(),
        })?;
        Ok(Edge {
            tree,
            levels,
            bundle,
        })
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The root of the tree.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The peaks of the tree.
    pub fn tree(&self) -> &CompactTree {
        &self.tree
    }

    /// The hashes of the partial tile at a tile level (empty if none).
    pub fn partial_tile(&self, level: u8) -> &[Hash] {
        self.levels
            .get(usize::from(level))
            .map_or(&[], Vec::as_slice)
    }

    /// The encoded partial entry bundle (empty if none).
    pub fn partial_bundle(&self) -> &[u8] {
        &self.bundle
    }
}

/// A file to write: its path and exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileWrite {
    /// Where.
    pub path: TilePath,
    /// The file's bytes.
    pub data: Vec<u8>,
}

/// What appending a batch produces: the files to write, the new edge, and
/// the tiles that became full (whose partial files may then be deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    /// Index of the batch's first entry (the old tree size).
    pub first_index: u64,
    /// The edge after the batch.
    pub edge: Edge,
    /// Every new tile and entry-bundle file, full ones in the order they were
    /// completed, then the new partial files by level, bundles first.
    pub writes: Vec<TileWrite>,
    /// The tiles and bundles that became full in this batch.
    pub completed: Vec<TileKey>,
}

impl Integration {
    /// The tree size after the batch.
    pub fn size(&self) -> u64 {
        self.edge.size()
    }

    /// The root after the batch.
    pub fn root(&self) -> Hash {
        self.edge.root()
    }
}

/// Why a batch cannot be integrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrateError {
    /// An entry is longer than a bundle can hold.
    #[error(
        "entry {position} of the batch has {len} bytes, above the limit of {}",
        layout::MAX_ENTRY_LEN
    )]
    EntryTooLong {
        /// Position of the entry in the batch.
        position: usize,
        /// Its length.
        len: usize,
    },
    /// The tree cannot grow by that many entries.
    #[error("a tree of {tree_size} leaves cannot take {batch} more")]
    TreeFull {
        /// The current tree size.
        tree_size: u64,
        /// The batch length.
        batch: usize,
    },
}

/// Appends `entries` to the tree whose right edge is `edge`.
///
/// Pure: returns every tile and entry-bundle file that holds at least one new
/// entry or hash (a file of the old tree is never rewritten, because partial
/// files carry their width in the name), the new edge and root. Nothing is
/// written. The whole batch is checked before anything is computed.
pub fn integrate<E: AsRef<[u8]>>(
    edge: &Edge,
    entries: &[E],
) -> Result<Integration, IntegrateError> {
    for (position, entry) in entries.iter().enumerate() {
        let len = entry.as_ref().len();
        if len > layout::MAX_ENTRY_LEN {
            return Err(IntegrateError::EntryTooLong { position, len });
        }
    }
    let first_index = edge.size();
    let full = || IntegrateError::TreeFull {
        tree_size: first_index,
        batch: entries.len(),
    };
    u64::try_from(entries.len())
        .ok()
        .and_then(|len| first_index.checked_add(len))
        .ok_or_else(full)?;

    let mut next = edge.clone();
    let mut writes = Vec::new();
    let mut completed = Vec::new();
    let mut dirty = [false; 8];
    let mut bundle_dirty = false;
    let mut tile_nodes: Vec<(u8, u64, Hash)> = Vec::with_capacity(4);
    for (offset, entry) in entries.iter().enumerate() {
        let entry = entry.as_ref();
        let index = first_index + offset as u64;
        push_bundle_entry(&mut next.bundle, entry).map_err(|_| IntegrateError::EntryTooLong {
            position: offset,
            len: entry.len(),
        })?;
        bundle_dirty = true;
        if index % u64::from(TILE_WIDTH) == u64::from(TILE_WIDTH) - 1 {
            let key = TileKey::Entries {
                index: index / u64::from(TILE_WIDTH),
            };
            writes.push(TileWrite {
                path: TilePath::full(key),
                data: std::mem::take(&mut next.bundle),
            });
            completed.push(key);
        }

        tile_nodes.clear();
        next.tree
            .push_with(leaf_hash(entry), |node, hash| {
                if u32::from(node.level) % layout::TILE_HEIGHT == 0 {
                    tile_nodes.push((
                        (u32::from(node.level) / layout::TILE_HEIGHT) as u8,
                        node.index,
                        *hash,
                    ));
                }
            })
            .map_err(|_| full())?;
        for &(level, node_index, hash) in &tile_nodes {
            let slot = usize::from(level);
            if next.levels.len() <= slot {
                next.levels.resize_with(slot + 1, Vec::new);
            }
            next.levels[slot].push(hash);
            dirty[slot] = true;
            if next.levels[slot].len() == usize::from(TILE_WIDTH) {
                let key = TileKey::Hashes {
                    level,
                    index: node_index / u64::from(TILE_WIDTH),
                };
                writes.push(TileWrite {
                    path: TilePath::full(key),
                    data: hash_tile_bytes(&next.levels[slot]),
                });
                next.levels[slot].clear();
                completed.push(key);
            }
        }
    }

    let size = next.tree.size();
    if bundle_dirty && !next.bundle.is_empty() {
        let key = TileKey::Entries {
            index: size / u64::from(TILE_WIDTH),
        };
        if let Some(path) = key.path_at(size) {
            writes.push(TileWrite {
                path,
                data: next.bundle.clone(),
            });
        }
    }
    for (slot, hashes) in next.levels.iter().enumerate() {
        if !dirty[slot] || hashes.is_empty() {
            continue;
        }
        let level = slot as u8;
        let key = TileKey::Hashes {
            level,
            index: nodes_at_tile_level(size, level) / u64::from(TILE_WIDTH),
        };
        if let Some(path) = key.path_at(size) {
            writes.push(TileWrite {
                path,
                data: hash_tile_bytes(hashes),
            });
        }
    }
    while next.levels.last().is_some_and(Vec::is_empty) {
        next.levels.pop();
    }
    Ok(Integration {
        first_index,
        edge: next,
        writes,
        completed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_merkle::MemoryTree;

    fn entries(range: std::ops::Range<u32>) -> Vec<Vec<u8>> {
        range.map(|i| format!("entry {i}").into_bytes()).collect()
    }

    #[test]
    fn one_batch_and_many_batches_agree() {
        let all = entries(0..1000);
        let whole = integrate(&Edge::empty(), &all).unwrap();
        let mut edge = Edge::empty();
        let mut start = 0;
        for len in [1usize, 254, 1, 1, 300, 0, 443] {
            let step = integrate(&edge, &all[start..start + len]).unwrap();
            assert_eq!(step.first_index, start as u64);
            edge = step.edge;
            start += len;
        }
        assert_eq!(start, 1000);
        assert_eq!(edge, whole.edge);
        let leaves: Vec<Hash> = all.iter().map(|entry| leaf_hash(entry)).collect();
        assert_eq!(whole.root(), root_from_leaf_hashes(&leaves));
    }

    #[test]
    fn writes_for_a_batch_crossing_a_tile() {
        let all = entries(0..300);
        let first = integrate(&Edge::empty(), &all[..250]).unwrap();
        let paths: Vec<String> = first.writes.iter().map(|w| w.path.to_string()).collect();
        assert_eq!(paths, ["tile/entries/000.p/250", "tile/0/000.p/250"]);
        let second = integrate(&first.edge, &all[250..]).unwrap();
        let paths: Vec<String> = second.writes.iter().map(|w| w.path.to_string()).collect();
        assert_eq!(
            paths,
            [
                "tile/entries/000",
                "tile/0/000",
                "tile/entries/001.p/44",
                "tile/0/001.p/44",
                "tile/1/000.p/1"
            ]
        );
        assert_eq!(
            second.completed,
            vec![
                TileKey::Entries { index: 0 },
                TileKey::Hashes { level: 0, index: 0 }
            ]
        );
        let tree = MemoryTree::from_leaf_hashes(all.iter().map(|entry| leaf_hash(entry)));
        assert_eq!(second.root(), tree.root());
        assert_eq!(second.writes[4].data, hash_tile_bytes(&tree.level(8)[..1]));
    }

    #[test]
    fn edge_rebuilds_from_partials() {
        let all = entries(0..70_000);
        let whole = integrate(&Edge::empty(), &all).unwrap();
        let edge = &whole.edge;
        let levels: Vec<Vec<Hash>> = (0..3u8)
            .map(|level| edge.partial_tile(level).to_vec())
            .collect();
        assert_eq!(levels[0].len(), 112);
        assert_eq!(levels[1].len(), 17);
        assert_eq!(levels[2].len(), 1);
        let rebuilt =
            Edge::from_partials(70_000, levels.clone(), edge.partial_bundle().to_vec()).unwrap();
        assert_eq!(&rebuilt, edge);
        assert!(matches!(
            Edge::from_partials(70_001, levels.clone(), edge.partial_bundle().to_vec()),
            Err(EdgeError::Width { level: 0, .. })
        ));
        let mut bad_bundle = edge.partial_bundle().to_vec();
        let last = bad_bundle.len() - 1;
        bad_bundle[last] ^= 1;
        assert_eq!(
            Edge::from_partials(70_000, levels, bad_bundle),
            Err(EdgeError::LeafMismatch { position: 111 })
        );
    }

    #[test]
    fn refuses_long_entries_before_anything() {
        let batch = vec![vec![0u8; 3], vec![0u8; layout::MAX_ENTRY_LEN + 1]];
        assert_eq!(
            integrate(&Edge::empty(), &batch),
            Err(IntegrateError::EntryTooLong {
                position: 1,
                len: layout::MAX_ENTRY_LEN + 1
            })
        );
    }
}
