//! An in-memory store of every full-subtree hash, level by level.

use crate::error::{NodeNotStored, ProveError, ShapeError};
use crate::hash::{EMPTY_ROOT, Hash, node_hash};
use crate::node::NodeId;
use crate::proof::{HashReader, consistency_proof, inclusion_proof, tree_root};

/// Every full subtree of a tree, stored as one `Vec` per level: level L holds
/// the hashes of the nodes (L, 0), (L, 1), … that are complete.
///
/// This is the layout of a tiled log held in memory: about 2·n hashes for n
/// leaves, and any root, inclusion proof or consistency proof for any size up
/// to n is answered from O(log n) stored hashes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

/// The error of proofs from a [`MemoryTree`].
pub type MemoryProveError = ProveError<NodeNotStored>;

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given leaf hashes, in order.
    pub fn from_leaf_hashes(leaf_hashes: impl IntoIterator<Item = Hash>) -> Self {
        let leaf_hashes = leaf_hashes.into_iter();
        let mut tree = Self::new();
        let (lower_bound, _) = leaf_hashes.size_hint();
        if lower_bound > 0 {
            tree.levels.push(Vec::with_capacity(lower_bound));
        }
        for leaf in leaf_hashes {
            tree.push(leaf);
        }
        tree
    }

    /// Appends a leaf hash and stores the full subtrees it completes.
    pub fn push(&mut self, leaf_hash: Hash) {
        let mut hash = leaf_hash;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let nodes = &mut self.levels[level];
            nodes.push(hash);
            let count = nodes.len();
            if count % 2 == 1 {
                return;
            }
            hash = node_hash(&nodes[count - 2], &nodes[count - 1]);
            level += 1;
        }
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// The stored hashes of one level (level 0: the leaf hashes).
    pub fn level(&self, level: u8) -> &[Hash] {
        self.levels
            .get(usize::from(level))
            .map_or(&[], |nodes| nodes.as_slice())
    }

    /// The root of the whole tree; [`EMPTY_ROOT`] when empty.
    pub fn root(&self) -> Hash {
        self.root_at(self.size()).unwrap_or(EMPTY_ROOT)
    }

    /// The root of the tree of the first `tree_size` leaves.
    pub fn root_at(&self, tree_size: u64) -> Result<Hash, MemoryProveError> {
        self.check_size(tree_size)?;
        tree_root(self, tree_size)
    }

    /// The inclusion proof of leaf `index` in the tree of the first `tree_size` leaves.
    pub fn inclusion_proof(
        &self,
        index: u64,
        tree_size: u64,
    ) -> Result<Vec<Hash>, MemoryProveError> {
        self.check_size(tree_size)?;
        inclusion_proof(self, index, tree_size)
    }

    /// The consistency proof from the first `size1` to the first `size2` leaves.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, MemoryProveError> {
        self.check_size(size2)?;
        consistency_proof(self, size1, size2)
    }

    fn check_size(&self, tree_size: u64) -> Result<(), ShapeError> {
        let available = self.size();
        if tree_size > available {
            return Err(ShapeError::SizeBeyondStore {
                tree_size,
                available,
            });
        }
        Ok(())
    }
}

impl HashReader for MemoryTree {
    type Error = NodeNotStored;

    fn read_node(&self, node: NodeId) -> Result<Hash, Self::Error> {
        usize::try_from(node.index)
            .ok()
            .and_then(|index| self.levels.get(usize::from(node.level))?.get(index))
            .copied()
            .ok_or(NodeNotStored { node })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CompactTree, leaf_hash, root_from_leaf_hashes};

    #[test]
    fn stores_exactly_the_full_subtrees() {
        let leaves: Vec<Hash> = (0u8..11).map(|i| leaf_hash(&[i])).collect();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        assert_eq!(tree.size(), 11);
        assert_eq!(tree.level(0), &leaves[..]);
        assert_eq!(tree.level(1).len(), 5);
        assert_eq!(tree.level(2).len(), 2);
        assert_eq!(tree.level(3).len(), 1);
        assert_eq!(tree.level(4).len(), 0);
        assert_eq!(tree.level(3)[0], root_from_leaf_hashes(&leaves[..8]));
        assert_eq!(tree.level(1)[4], root_from_leaf_hashes(&leaves[8..10]));
        let mut compact = CompactTree::new();
        for leaf in &leaves {
            compact.push(*leaf).unwrap();
        }
        assert_eq!(tree.root(), compact.root());
    }

    #[test]
    fn refuses_sizes_beyond_the_store() {
        let tree = MemoryTree::from_leaf_hashes((0u8..5).map(|i| leaf_hash(&[i])));
        let beyond = ProveError::Shape(ShapeError::SizeBeyondStore {
            tree_size: 6,
            available: 5,
        });
        assert_eq!(tree.root_at(6), Err(beyond.clone()));
        assert_eq!(tree.inclusion_proof(0, 6), Err(beyond.clone()));
        assert_eq!(tree.consistency_proof(1, 6), Err(beyond));
        assert_eq!(MemoryTree::new().root(), EMPTY_ROOT);
        assert_eq!(MemoryTree::new().root_at(0), Ok(EMPTY_ROOT));
        assert_eq!(
            tree.read_node(NodeId::new(2, 1)),
            Err(NodeNotStored {
                node: NodeId::new(2, 1)
            })
        );
    }
}
