//! Proof generation from stored full-subtree hashes.
//!
//! Every hash a proof or a root needs is either a *full subtree* hash, stored
//! once and never changed, or one *ephemeral* node: the root of the incomplete
//! right edge of the tree, folded from a few full subtrees. The functions here
//! first compute which full subtrees are needed (a [`ProofPlan`], a pure
//! function of the sizes), then read them through a [`HashReader`] and fold the
//! ephemeral node.

use std::ops::Range;

use crate::error::{AssembleError, NodeNotStored, ProveError, ShapeError};
use crate::hash::{EMPTY_ROOT, Hash, node_hash};
use crate::node::{NodeId, bit_len};

/// A store of full-subtree hashes, as a tiled log keeps them.
///
/// The node at `level` L and `index` K is the root of the 2^L leaves starting at
/// leaf K·2^L (level 0 holds the leaf hashes). Proof generation asks only for
/// full subtrees inside the tree size being proven.
pub trait HashReader {
    /// Why a read failed.
    type Error;

    /// Returns the hash of one full subtree.
    fn read_node(&self, node: NodeId) -> Result<Hash, Self::Error>;

    /// Returns the hashes of several full subtrees, in the order asked.
    ///
    /// The default reads them one by one; a tiled store can override it to
    /// fetch each tile once.
    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        nodes.iter().map(|node| self.read_node(*node)).collect()
    }
}

/// A slice of leaf hashes is a (slow) [`HashReader`]: each subtree hash is
/// recomputed from its leaves, so reading level L costs 2^L − 1 node hashes.
///
/// Good for small trees and tests; a log keeps the levels instead
/// ([`crate::MemoryTree`], or tiles).
impl HashReader for [Hash] {
    type Error = NodeNotStored;

    fn read_node(&self, node: NodeId) -> Result<Hash, Self::Error> {
        let range = node
            .leaf_range()
            .and_then(|(start, end)| Some(usize::try_from(start).ok()?..usize::try_from(end).ok()?))
            .ok_or(NodeNotStored { node })?;
        let leaves = self.get(range).ok_or(NodeNotStored { node })?;
        Ok(crate::root_from_leaf_hashes(leaves))
    }
}

/// Which full-subtree hashes a proof needs and how to turn them into the proof.
///
/// The proof is the hashes of [`ProofPlan::nodes`] in order, except that at most
/// one run of consecutive nodes (the ephemeral node) is folded into a single
/// hash. Build one with [`inclusion_plan`] or [`consistency_plan`], read the
/// nodes' hashes, and call [`ProofPlan::assemble`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProofPlan {
    nodes: Vec<NodeId>,
    ephemeral: Option<Range<usize>>,
}

impl ProofPlan {
    /// The full subtrees to read, in proof order (leaf to root).
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// The positions in [`ProofPlan::nodes`] that fold into one ephemeral proof
    /// hash, if any. Always at least two nodes long.
    pub fn ephemeral(&self) -> Option<Range<usize>> {
        self.ephemeral.clone()
    }

    /// The number of hashes in the finished proof.
    pub fn proof_len(&self) -> usize {
        match &self.ephemeral {
            Some(range) => self.nodes.len() - (range.len() - 1),
            None => self.nodes.len(),
        }
    }

    /// Builds the proof from the hashes of [`ProofPlan::nodes`], given in the same order.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>, AssembleError> {
        if hashes.len() != self.nodes.len() {
            return Err(AssembleError {
                expected: self.nodes.len(),
                actual: hashes.len(),
            });
        }
        let Some(range) = &self.ephemeral else {
            return Ok(hashes.to_vec());
        };
        let mut proof = Vec::with_capacity(self.proof_len());
        proof.extend_from_slice(&hashes[..range.start]);
        proof.push(fold_peaks(&hashes[range.clone()]));
        proof.extend_from_slice(&hashes[range.end..]);
        Ok(proof)
    }

    fn push_node(&mut self, level: u32, index: u64) {
        self.nodes.push(NodeId::new(level_u8(level), index));
    }

    /// Adds the root of the subtree at (`level`, `index`) clipped to `tree_size`:
    /// a stored node when it is full, else an ephemeral node.
    fn push_clipped(&mut self, level: u32, index: u64, tree_size: u64) {
        let start = index << level;
        let len = tree_size - start;
        if len >> level != 0 {
            self.push_node(level, index);
            return;
        }
        let first = self.nodes.len();
        push_peaks(&mut self.nodes, start, len);
        if self.nodes.len() - first > 1 {
            self.ephemeral = Some(first..self.nodes.len());
        }
    }
}

/// `level` is always below 64 here; the fallback is never taken.
fn level_u8(level: u32) -> u8 {
    u8::try_from(level).unwrap_or(u8::MAX)
}

/// Appends the full subtrees that make up the leaves `start..start + len`, largest
/// first. `start` must be a multiple of the largest power of two in `len`.
fn push_peaks(nodes: &mut Vec<NodeId>, start: u64, len: u64) {
    let mut offset = start;
    for level in (0..64u32).rev() {
        if (len >> level) & 1 == 1 {
            nodes.push(NodeId::new(level_u8(level), offset >> level));
            offset += 1 << level;
        }
    }
}

/// The full subtrees whose hashes fold into the root of a tree of `tree_size`
/// leaves, largest (leftmost) first: one per set bit of `tree_size`, and none
/// for the empty tree. These are also the peaks a [`crate::CompactTree`] keeps.
pub fn root_nodes(tree_size: u64) -> Vec<NodeId> {
    let mut nodes = Vec::with_capacity(tree_size.count_ones() as usize);
    push_peaks(&mut nodes, 0, tree_size);
    nodes
}

/// Folds peak hashes (largest subtree first) into a root, right to left:
/// `node_hash(p0, node_hash(p1, … node_hash(p[n-2], p[n-1])))`. The empty list
/// gives [`EMPTY_ROOT`].
pub fn fold_peaks(peaks: &[Hash]) -> Hash {
    let Some((last, rest)) = peaks.split_last() else {
        return EMPTY_ROOT;
    };
    rest.iter()
        .rev()
        .fold(*last, |right, left| node_hash(left, &right))
}

/// The nodes of an inclusion proof for leaf `index` in a tree of `tree_size`
/// leaves (RFC 9162 §2.1.3.1, computed without recursion).
///
/// Below level `inner` (the bit length of `index XOR (tree_size - 1)`) the leaf
/// and the last leaf are in different subtrees, so every level has a sibling;
/// the highest of those siblings may be incomplete. Above it, a level has a
/// sibling (on the left, always full) exactly where `index` has a 1 bit.
pub fn inclusion_plan(index: u64, tree_size: u64) -> Result<ProofPlan, ShapeError> {
    if index >= tree_size {
        return Err(ShapeError::IndexOutOfRange { index, tree_size });
    }
    let mut plan = ProofPlan::default();
    push_path(&mut plan, index, 0, tree_size);
    Ok(plan)
}

/// The nodes of a consistency proof from `size1` to `size2` leaves (RFC 9162
/// §2.1.4.1, computed without recursion).
///
/// With `t` the number of trailing zero bits of `size1`, the old tree's last
/// full subtree is the node at level `t` ending at leaf `size1`. The proof is
/// that node (left out when `size1` is a power of two, because it is then the
/// old root itself), followed by its inclusion path in the new tree.
/// `size1 == 0` is refused (see the crate documentation); `size1 == size2`
/// gives an empty plan.
pub fn consistency_plan(size1: u64, size2: u64) -> Result<ProofPlan, ShapeError> {
    if size1 > size2 {
        return Err(ShapeError::OldTreeLarger { size1, size2 });
    }
    if size1 == 0 {
        return Err(ShapeError::EmptyOldTree { size2 });
    }
    let mut plan = ProofPlan::default();
    if size1 == size2 {
        return Ok(plan);
    }
    let level = size1.trailing_zeros();
    let last_old = size1 - 1;
    if !size1.is_power_of_two() {
        plan.push_node(level, last_old >> level);
    }
    push_path(&mut plan, last_old, level, size2);
    Ok(plan)
}

/// Appends the siblings on the path from the level-`from_level` ancestor of
/// leaf `leaf` to the root of a tree of `tree_size` leaves (`leaf < tree_size`).
fn push_path(plan: &mut ProofPlan, leaf: u64, from_level: u32, tree_size: u64) {
    let inner = bit_len(leaf ^ (tree_size - 1));
    for level in from_level..inner {
        let sibling = (leaf >> level) ^ 1;
        if level + 1 == inner {
            plan.push_clipped(level, sibling, tree_size);
        } else {
            plan.push_node(level, sibling);
        }
    }
    for level in inner..64 {
        if (leaf >> level) & 1 == 1 {
            plan.push_node(level, (leaf >> level) - 1);
        }
    }
}

fn read_plan<R: HashReader + ?Sized>(
    reader: &R,
    nodes: &[NodeId],
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    let hashes = reader.read_nodes(nodes).map_err(ProveError::Read)?;
    if hashes.len() != nodes.len() {
        return Err(ProveError::ReadCount {
            expected: nodes.len(),
            actual: hashes.len(),
        });
    }
    Ok(hashes)
}

fn run_plan<R: HashReader + ?Sized>(
    reader: &R,
    plan: &ProofPlan,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    let hashes = read_plan(reader, plan.nodes())?;
    plan.assemble(&hashes).map_err(|err| ProveError::ReadCount {
        expected: err.expected,
        actual: err.actual,
    })
}

/// The inclusion proof of leaf `index` in the tree of the first `tree_size`
/// leaves of `reader`, leaf to root, as RFC 9162 §2.1.3.1 orders it.
///
/// Reads at most ~2·log2(`tree_size`) nodes. The reader must hold at least
/// `tree_size` leaves; a missing node is the reader's error.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    reader: &R,
    index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    run_plan(reader, &inclusion_plan(index, tree_size)?)
}

/// The consistency proof from the tree of the first `size1` leaves of `reader`
/// to the tree of the first `size2`, as RFC 9162 §2.1.4.1 orders it.
pub fn consistency_proof<R: HashReader + ?Sized>(
    reader: &R,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    run_plan(reader, &consistency_plan(size1, size2)?)
}

/// The root of the tree of the first `tree_size` leaves of `reader`, from at
/// most 64 stored nodes; [`EMPTY_ROOT`] for size 0.
pub fn tree_root<R: HashReader + ?Sized>(
    reader: &R,
    tree_size: u64,
) -> Result<Hash, ProveError<R::Error>> {
    let hashes = read_plan(reader, &root_nodes(tree_size))?;
    Ok(fold_peaks(&hashes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(level: u8, index: u64) -> NodeId {
        NodeId::new(level, index)
    }

    #[test]
    fn inclusion_plans_for_small_trees() {
        // Leaf 2 of 3: its sibling (leaf 3) does not exist, so the proof is just
        // the left subtree of leaves 0..2.
        assert_eq!(inclusion_plan(2, 3).unwrap().nodes(), &[node(1, 0)]);
        // Leaf 0 of 7: leaf 1, subtree 2..4, then the incomplete 4..7 = (1,2) + leaf 6.
        let plan = inclusion_plan(0, 7).unwrap();
        assert_eq!(
            plan.nodes(),
            &[node(0, 1), node(1, 1), node(1, 2), node(0, 6)]
        );
        assert_eq!(plan.ephemeral(), Some(2..4));
        assert_eq!(plan.proof_len(), 3);
        assert_eq!(inclusion_plan(0, 1).unwrap().nodes(), &[]);
        assert_eq!(
            inclusion_plan(0, 0),
            Err(ShapeError::IndexOutOfRange {
                index: 0,
                tree_size: 0
            })
        );
    }

    #[test]
    fn consistency_plans_for_small_trees() {
        // 3 -> 4: leaf 2 (old tree's last full subtree), leaf 3, subtree 0..2.
        assert_eq!(
            consistency_plan(3, 4).unwrap().nodes(),
            &[node(0, 2), node(0, 3), node(1, 0)]
        );
        // 6 -> 8: subtree 4..6, subtree 6..8, subtree 0..4.
        assert_eq!(
            consistency_plan(6, 8).unwrap().nodes(),
            &[node(1, 2), node(1, 3), node(2, 0)]
        );
        // 4 -> 7: the old tree is a full subtree; only the incomplete 4..7.
        let plan = consistency_plan(4, 7).unwrap();
        assert_eq!(plan.nodes(), &[node(1, 2), node(0, 6)]);
        assert_eq!(plan.proof_len(), 1);
        assert_eq!(consistency_plan(5, 5).unwrap().nodes(), &[]);
        assert_eq!(
            consistency_plan(0, 0),
            Err(ShapeError::EmptyOldTree { size2: 0 })
        );
        assert_eq!(
            consistency_plan(2, 1),
            Err(ShapeError::OldTreeLarger { size1: 2, size2: 1 })
        );
    }

    #[test]
    fn plans_at_the_largest_sizes_do_not_overflow() {
        let max = u64::MAX;
        let plan = inclusion_plan(max - 1, max).unwrap();
        assert_eq!(plan.proof_len(), 63);
        let plan = inclusion_plan(0, max).unwrap();
        assert_eq!(plan.proof_len(), 64);
        assert_eq!(plan.nodes().len(), 64 + 62);
        assert_eq!(consistency_plan(1, max).unwrap().proof_len(), 64);
        assert_eq!(consistency_plan(max - 1, max).unwrap().proof_len(), 64);
        assert_eq!(root_nodes(max).len(), 64);
        assert_eq!(root_nodes(0), Vec::<NodeId>::new());
    }

    #[test]
    fn assemble_checks_the_hash_count() {
        let plan = inclusion_plan(0, 7).unwrap();
        assert_eq!(
            plan.assemble(&[EMPTY_ROOT; 3]),
            Err(AssembleError {
                expected: 4,
                actual: 3
            })
        );
    }

    struct ShortReader;

    impl HashReader for ShortReader {
        type Error = NodeNotStored;

        fn read_node(&self, _node: NodeId) -> Result<Hash, Self::Error> {
            Ok(EMPTY_ROOT)
        }

        fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
            Ok(vec![EMPTY_ROOT; nodes.len().saturating_sub(1)])
        }
    }

    #[test]
    fn a_reader_returning_too_few_hashes_is_an_error() {
        assert_eq!(
            inclusion_proof(&ShortReader, 0, 8),
            Err(ProveError::ReadCount {
                expected: 3,
                actual: 2
            })
        );
    }

    #[test]
    fn a_slice_reader_refuses_nodes_beyond_its_leaves() {
        let leaves = [EMPTY_ROOT; 5];
        assert_eq!(
            leaves[..].read_node(node(1, 2)),
            Err(NodeNotStored { node: node(1, 2) })
        );
        assert_eq!(
            leaves[..].read_node(node(63, 1)),
            Err(NodeNotStored { node: node(63, 1) })
        );
        assert_eq!(
            inclusion_proof(&leaves[..], 0, 9),
            Err(ProveError::Read(NodeNotStored { node: node(2, 1) }))
        );
    }
}
