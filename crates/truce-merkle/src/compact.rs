//! The incremental tree: a compact range of the leaves `0..size`.

use crate::error::CompactTreeError;
use crate::hash::Hash;
use crate::node::NodeId;
use crate::proof::{fold_peaks, root_nodes};

/// The state needed to append to a tree and compute its root: one hash per
/// set bit of the size (the "peaks", the full subtrees of [`root_nodes`]).
///
/// Appending is amortised O(1) node hashes; [`CompactTree::root`] costs at most
/// 63 node hashes. A log keeps this frontier (or recomputes it from its stored
/// levels) and writes the nodes that [`CompactTree::push_with`] reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactTree {
    size: u64,
    peaks: Vec<Hash>,
}

impl CompactTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes from a size and its peak hashes, largest subtree first (the
    /// hashes of [`root_nodes`]`(size)`).
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Result<Self, CompactTreeError> {
        let expected = size.count_ones() as usize;
        if peaks.len() != expected {
            return Err(CompactTreeError::PeakCount {
                tree_size: size,
                expected,
                actual: peaks.len(),
            });
        }
        Ok(Self { size, peaks })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The peak hashes, largest subtree first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// The addresses of the peaks, in the order of [`CompactTree::peaks`].
    pub fn peak_nodes(&self) -> Vec<NodeId> {
        root_nodes(self.size)
    }

    /// The root: [`crate::EMPTY_ROOT`] for the empty tree.
    pub fn root(&self) -> Hash {
        fold_peaks(&self.peaks)
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf_hash: Hash) -> Result<(), CompactTreeError> {
        self.push_with(leaf_hash, |_, _| {})
    }

    /// Appends a leaf hash and reports every full subtree it completes, from the
    /// leaf itself (level 0) upwards: exactly the nodes a store of levels must
    /// add.
    pub fn push_with(
        &mut self,
        leaf_hash: Hash,
        mut on_node: impl FnMut(NodeId, &Hash),
    ) -> Result<(), CompactTreeError> {
        let new_size = self.size.checked_add(1).ok_or(CompactTreeError::Full {
            tree_size: self.size,
        })?;
        let mut index = self.size;
        let mut level = 0u8;
        let mut hash = leaf_hash;
        on_node(NodeId::new(level, index), &hash);
        while index & 1 == 1 {
            let Some(left) = self.peaks.pop() else {
                // Unreachable: a 1 bit in the size always has its peak.
                break;
            };
            hash = crate::hash::node_hash(&left, &hash);
            index >>= 1;
            level += 1;
            on_node(NodeId::new(level, index), &hash);
        }
        self.peaks.push(hash);
        self.size = new_size;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EMPTY_ROOT, leaf_hash, root_from_leaf_hashes};

    #[test]
    fn roots_match_the_recursive_definition() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tree = CompactTree::new();
        assert_eq!(tree.root(), EMPTY_ROOT);
        for (count, leaf) in leaves.iter().enumerate() {
            tree.push(*leaf).unwrap();
            assert_eq!(tree.size(), count as u64 + 1);
            assert_eq!(tree.peaks().len(), (count + 1).count_ones() as usize);
            assert_eq!(tree.root(), root_from_leaf_hashes(&leaves[..=count]));
        }
    }

    #[test]
    fn push_with_reports_completed_subtrees() {
        let mut tree = CompactTree::new();
        let mut reported = Vec::new();
        for i in 0u8..8 {
            tree.push_with(leaf_hash(&[i]), |node, _| reported.push(node))
                .unwrap();
        }
        let expected: Vec<NodeId> = [
            (0, 0),
            (0, 1),
            (1, 0),
            (0, 2),
            (0, 3),
            (1, 1),
            (2, 0),
            (0, 4),
            (0, 5),
            (1, 2),
            (0, 6),
            (0, 7),
            (1, 3),
            (2, 1),
            (3, 0),
        ]
        .into_iter()
        .map(|(level, index)| NodeId::new(level, index))
        .collect();
        assert_eq!(reported, expected);
        assert_eq!(tree.peak_nodes(), vec![NodeId::new(3, 0)]);
    }

    #[test]
    fn resume_from_peaks() {
        let leaves: Vec<Hash> = (0u8..11).map(|i| leaf_hash(&[i])).collect();
        let mut whole = CompactTree::new();
        for leaf in &leaves[..6] {
            whole.push(*leaf).unwrap();
        }
        let mut resumed = CompactTree::from_peaks(6, whole.peaks().to_vec()).unwrap();
        for leaf in &leaves[6..] {
            whole.push(*leaf).unwrap();
            resumed.push(*leaf).unwrap();
        }
        assert_eq!(resumed, whole);
        assert_eq!(
            CompactTree::from_peaks(6, vec![EMPTY_ROOT]),
            Err(CompactTreeError::PeakCount {
                tree_size: 6,
                expected: 2,
                actual: 1
            })
        );
    }

    #[test]
    fn a_full_tree_refuses_another_leaf() {
        let mut tree = CompactTree::from_peaks(u64::MAX, vec![EMPTY_ROOT; 64]).unwrap();
        assert_eq!(
            tree.push(EMPTY_ROOT),
            Err(CompactTreeError::Full {
                tree_size: u64::MAX
            })
        );
        assert_eq!(tree.size(), u64::MAX);
    }
}
