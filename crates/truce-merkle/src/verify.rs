//! Proof verification, following RFC 9162 §2.1.3.2 and §2.1.4.2.
//!
//! Every check runs on plain integers and hashes: any input, however
//! malformed, gives `Ok` or a [`VerifyError`], never a panic. The proof length
//! is checked first, so a proof with a hash too many or too few is reported as
//! [`VerifyError::ProofLength`] rather than as a root mismatch.

use crate::error::{ShapeError, VerifyError};
use crate::hash::{Hash, node_hash};
use crate::node::bit_len;

/// The number of hashes in an inclusion proof of leaf `index` in a tree of
/// `tree_size` leaves (0 for the only leaf of a one-leaf tree).
pub fn inclusion_proof_len(index: u64, tree_size: u64) -> Result<usize, ShapeError> {
    if index >= tree_size {
        return Err(ShapeError::IndexOutOfRange { index, tree_size });
    }
    let inner = bit_len(index ^ (tree_size - 1));
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    Ok((inner + border) as usize)
}

/// The number of hashes in a consistency proof from `size1` to `size2` leaves
/// (0 when the sizes are equal). `size1 == 0` is refused, as in
/// [`verify_consistency`].
pub fn consistency_proof_len(size1: u64, size2: u64) -> Result<usize, ShapeError> {
    if size1 > size2 {
        return Err(ShapeError::OldTreeLarger { size1, size2 });
    }
    if size1 == 0 {
        return Err(ShapeError::EmptyOldTree { size2 });
    }
    if size1 == size2 {
        return Ok(0);
    }
    let level = size1.trailing_zeros();
    let last_old = size1 - 1;
    let inner = bit_len(last_old ^ (size2 - 1));
    let border = last_old.checked_shr(inner).unwrap_or(0).count_ones();
    let old_node = u32::from(!size1.is_power_of_two());
    Ok((old_node + (inner - level) + border) as usize)
}

/// Recomputes the root of a tree of `tree_size` leaves from leaf `index`'s
/// hash and its inclusion proof (RFC 9162 §2.1.3.2, steps 1 to 5).
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    let expected = inclusion_proof_len(index, tree_size)?;
    let wrong_length = VerifyError::ProofLength {
        expected,
        actual: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    let mut node = index;
    let mut last = tree_size - 1;
    let mut running = *leaf_hash;
    for sibling in proof {
        if last == 0 {
            return Err(wrong_length);
        }
        if node & 1 == 1 || node == last {
            running = node_hash(sibling, &running);
            // The node is a left child without a right sibling: climb until it
            // is a right child, or the root.
            while node & 1 == 0 && node != 0 {
                node >>= 1;
                last >>= 1;
            }
        } else {
            running = node_hash(&running, sibling);
        }
        node >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(wrong_length);
    }
    Ok(running)
}

/// Checks that `proof` proves the leaf with hash `leaf_hash` is leaf `index` of
/// the tree of `tree_size` leaves whose root is `root` (RFC 9162 §2.1.3.2).
///
/// Fails with [`ShapeError::IndexOutOfRange`] when `index >= tree_size` (so
/// always for size 0), [`VerifyError::ProofLength`] when the proof has the
/// wrong number of hashes, and [`VerifyError::RootMismatch`] otherwise.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, tree_size, proof)?;
    if computed != *root {
        return Err(VerifyError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// Checks that `proof` proves the tree of `size1` leaves with root `root1` is a
/// prefix of the tree of `size2` leaves with root `root2` (RFC 9162 §2.1.4.2).
///
/// * `size1 > size2`: [`ShapeError::OldTreeLarger`].
/// * `size1 == 0`: [`ShapeError::EmptyOldTree`], even when `size2 == 0` (see
///   the crate documentation on size 0).
/// * `size1 == size2`: the proof must be empty and the roots equal.
/// * otherwise: the proof must have [`consistency_proof_len`] hashes and lead
///   to both roots.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), VerifyError> {
    let expected = consistency_proof_len(size1, size2)?;
    let wrong_length = VerifyError::ProofLength {
        expected,
        actual: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    if size1 == size2 {
        if root1 != root2 {
            return Err(VerifyError::EqualSizeRootsDiffer {
                tree_size: size1,
                root1: *root1,
                root2: *root2,
            });
        }
        return Ok(());
    }
    // Step 2: when size1 is a power of two the old root is the starting node
    // and is not repeated in the proof.
    let (start, rest) = if size1.is_power_of_two() {
        (*root1, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(wrong_length),
        }
    };
    let mut node = size1 - 1;
    let mut last = size2 - 1;
    while node & 1 == 1 {
        node >>= 1;
        last >>= 1;
    }
    let mut old_running = start;
    let mut new_running = start;
    for sibling in rest {
        if last == 0 {
            return Err(wrong_length);
        }
        if node & 1 == 1 || node == last {
            old_running = node_hash(sibling, &old_running);
            new_running = node_hash(sibling, &new_running);
            while node & 1 == 0 && node != 0 {
                node >>= 1;
                last >>= 1;
            }
        } else {
            new_running = node_hash(&new_running, sibling);
        }
        node >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(wrong_length);
    }
    if old_running != *root1 {
        return Err(VerifyError::OldRootMismatch {
            computed: old_running,
            expected: *root1,
        });
    }
    if new_running != *root2 {
        return Err(VerifyError::NewRootMismatch {
            computed: new_running,
            expected: *root2,
        });
    }
    Ok(())
}
