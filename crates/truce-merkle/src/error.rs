//! Error types.

use crate::hash::Hash;
use crate::node::NodeId;

/// A proof request or a proof's claimed sizes that no proof can answer.
///
/// Shared by generation ([`crate::inclusion_proof`], [`crate::consistency_proof`])
/// and verification ([`crate::verify_inclusion`], [`crate::verify_consistency`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShapeError {
    /// An inclusion proof was asked for a leaf index that is not in the tree.
    /// This includes every index for a tree of size 0.
    #[error("leaf index {index} is not below tree size {tree_size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size it was asked in.
        tree_size: u64,
    },
    /// A consistency proof from the empty tree: this crate does not define one
    /// (see the crate documentation on size 0).
    #[error("a consistency proof from tree size 0 is not defined (new size {size2})")]
    EmptyOldTree {
        /// The new tree size.
        size2: u64,
    },
    /// A consistency proof whose old size exceeds its new size.
    #[error("old tree size {size1} exceeds new tree size {size2}")]
    OldTreeLarger {
        /// The old tree size.
        size1: u64,
        /// The new tree size.
        size2: u64,
    },
    /// A root was asked for a tree size beyond what a store holds.
    #[error("tree size {tree_size} exceeds the {available} leaves available")]
    SizeBeyondStore {
        /// The tree size asked for.
        tree_size: u64,
        /// The number of leaves the store holds.
        available: u64,
    },
}

/// Why a proof does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The claimed sizes or index admit no proof.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// The proof has the wrong number of hashes for its sizes or index.
    #[error("proof must have {expected} hashes, got {actual}")]
    ProofLength {
        /// The number of hashes a proof for these sizes has.
        expected: usize,
        /// The number of hashes given.
        actual: usize,
    },
    /// The root recomputed from an inclusion proof differs from the expected root.
    #[error("inclusion proof leads to root {computed}, expected {expected}")]
    RootMismatch {
        /// The root recomputed from the leaf hash and the proof.
        computed: Hash,
        /// The root the proof was checked against.
        expected: Hash,
    },
    /// The old root recomputed from a consistency proof differs from the given old root.
    #[error("consistency proof leads to old root {computed}, expected {expected}")]
    OldRootMismatch {
        /// The old root recomputed from the proof.
        computed: Hash,
        /// The old root given.
        expected: Hash,
    },
    /// The new root recomputed from a consistency proof differs from the given new root.
    #[error("consistency proof leads to new root {computed}, expected {expected}")]
    NewRootMismatch {
        /// The new root recomputed from the proof.
        computed: Hash,
        /// The new root given.
        expected: Hash,
    },
    /// Two trees of the same size claimed consistent have different roots.
    #[error("trees of equal size {tree_size} have different roots {root1} and {root2}")]
    EqualSizeRootsDiffer {
        /// The common tree size.
        tree_size: u64,
        /// The old root.
        root1: Hash,
        /// The new root.
        root2: Hash,
    },
}

/// Why a proof or a root could not be produced from a [`crate::HashReader`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProveError<E> {
    /// The request admits no proof.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// The reader failed.
    #[error("reading stored node hashes failed")]
    Read(#[source] E),
    /// The reader returned a different number of hashes than it was asked for.
    #[error("reader returned {actual} hashes for {expected} nodes")]
    ReadCount {
        /// The number of nodes asked for.
        expected: usize,
        /// The number of hashes returned.
        actual: usize,
    },
}

/// A node that a store does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node {node} is not stored")]
pub struct NodeNotStored {
    /// The node asked for.
    pub node: NodeId,
}

/// A [`crate::CompactTree`] that cannot be built or grown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompactTreeError {
    /// The number of peak hashes does not match the tree size (one per set bit).
    #[error("tree size {tree_size} needs {expected} peak hashes, got {actual}")]
    PeakCount {
        /// The tree size given.
        tree_size: u64,
        /// The number of set bits of the tree size.
        expected: usize,
        /// The number of peaks given.
        actual: usize,
    },
    /// The tree already holds `u64::MAX` leaves.
    #[error("the tree is full at {tree_size} leaves")]
    Full {
        /// The tree size.
        tree_size: u64,
    },
}

/// A hash list handed to [`crate::ProofPlan::assemble`] that does not match the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("plan needs {expected} node hashes, got {actual}")]
pub struct AssembleError {
    /// The number of nodes in the plan.
    pub expected: usize,
    /// The number of hashes given.
    pub actual: usize,
}
