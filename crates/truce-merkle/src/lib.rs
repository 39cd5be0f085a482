//! RFC 9162 Merkle trees: hashing, roots, inclusion and consistency proofs.
//!
//! A pure crate: no I/O, no clock, no randomness. It knows nothing of what an
//! entry means; it hashes bytes.
//!
//! # Hashing (RFC 9162 §2.1.1)
//!
//! * [`leaf_hash`]: `SHA-256(0x00 || entry)`.
//! * [`node_hash`]: `SHA-256(0x01 || left || right)`.
//! * The root of `n > 1` leaves splits them at `k`, the largest power of two
//!   strictly less than `n`: `node_hash(root(first k), root(rest))`.
//!   [`root_from_leaf_hashes`] computes it from a slice, [`CompactTree`]
//!   incrementally.
//!
//! # Size 0
//!
//! * The root of the empty tree is [`EMPTY_ROOT`], SHA-256 of the empty string,
//!   as RFC 9162 §2.1.1 defines it.
//! * No inclusion proof exists in the empty tree: every index is out of range
//!   ([`ShapeError::IndexOutOfRange`]).
//! * A consistency proof **from** size 0 is refused, by generation and by
//!   verification, even from 0 to 0 ([`ShapeError::EmptyOldTree`]). An empty
//!   tree commits to nothing, so such a proof proves nothing; this matches the
//!   transparency-dev reference vectors (`sizes-are-equal-zero-and-proof-is-empty`
//!   must fail). A witness that accepts a first checkpoint from "old size 0"
//!   (as c2sp.org/tlog-witness does) makes that rule itself, before calling
//!   the verifier.
//!
//! # Verifying
//!
//! [`verify_inclusion`] and [`verify_consistency`] follow RFC 9162 §2.1.3.2
//! and §2.1.4.2. They check the sizes first, then the exact proof length
//! ([`inclusion_proof_len`], [`consistency_proof_len`]), then the hashes, and
//! return a [`VerifyError`] saying which check failed. They never panic, for
//! any sizes (up to `u64::MAX`) and any proof. Bytes of unknown length become
//! hashes through [`Hash::from_slice`], which rejects anything but 32 bytes.
//!
//! # Proving from stored subtree hashes
//!
//! A log stores the hash of every *full* subtree once it is complete: the node
//! at level L, index K ([`NodeId`]) is the root of the 2^L leaves starting at
//! leaf K·2^L. That is the tlog-tiles layout (tile level T holds node level
//! 8·T). Such nodes never change as the log grows.
//!
//! A proof for any tree size needs only such nodes, plus at most one
//! *ephemeral* node: the root of the incomplete right edge of the tree, which
//! is folded from at most 63 full subtrees. [`inclusion_plan`] and
//! [`consistency_plan`] compute which nodes (a [`ProofPlan`]) from the sizes
//! alone; [`inclusion_proof`], [`consistency_proof`] and [`tree_root`] read them
//! through a [`HashReader`] (one batched [`HashReader::read_nodes`] call) and
//! assemble the proof. Below 2^24 leaves a proof has at most 24 hashes, read
//! from fewer than 50 stored nodes.
//!
//! [`MemoryTree`] stores every level in memory and is a [`HashReader`]; a slice
//! of leaf hashes is one too, recomputing subtrees on demand (fine for small
//! trees). [`CompactTree`] keeps only the peaks needed to append and compute the
//! current root, and reports each full subtree an append completes, which is
//! exactly what a store of levels must write.
//!
//! ```
//! use truce_merkle::{MemoryTree, leaf_hash, verify_consistency, verify_inclusion};
//!
//! let tree = MemoryTree::from_leaf_hashes((0u32..10).map(|i| leaf_hash(&i.to_be_bytes())));
//! let root7 = tree.root_at(7)?;
//! let proof = tree.inclusion_proof(3, 7)?;
//! verify_inclusion(&leaf_hash(&3u32.to_be_bytes()), 3, 7, &proof, &root7)?;
//! let proof = tree.consistency_proof(7, 10)?;
//! verify_consistency(7, 10, &proof, &root7, &tree.root())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod compact;
mod error;
mod hash;
mod memory;
mod node;
mod proof;
mod verify;

pub use compact::CompactTree;
pub use error::{
    AssembleError, CompactTreeError, NodeNotStored, ProveError, ShapeError, VerifyError,
};
pub use hash::{
    EMPTY_ROOT, HASH_LEN, Hash, HashLengthError, HexError, LEAF_PREFIX, NODE_PREFIX, empty_root,
    leaf_hash, node_hash,
};
pub use memory::{MemoryProveError, MemoryTree};
pub use node::NodeId;
pub use proof::{
    HashReader, ProofPlan, consistency_plan, consistency_proof, fold_peaks, inclusion_plan,
    inclusion_proof, root_nodes, tree_root,
};
pub use verify::{
    consistency_proof_len, inclusion_proof_len, root_from_inclusion_proof, verify_consistency,
    verify_inclusion,
};

/// The root of a tree with these leaf hashes, by the recursive definition of
/// RFC 9162 §2.1.1 (`n - 1` node hashes, recursion depth log2 n);
/// [`EMPTY_ROOT`] for no leaves.
pub fn root_from_leaf_hashes(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes {
        [] => EMPTY_ROOT,
        [only] => *only,
        _ => {
            let split = largest_power_of_two_below(leaf_hashes.len());
            let (left, right) = leaf_hashes.split_at(split);
            node_hash(&root_from_leaf_hashes(left), &root_from_leaf_hashes(right))
        }
    }
}

/// The largest power of two strictly less than `count` (`count >= 2`).
fn largest_power_of_two_below(count: usize) -> usize {
    let below = count.saturating_sub(1).max(1);
    1 << (usize::BITS - 1 - below.leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Hash {
        Hash::from_hex(text).unwrap()
    }

    fn hexes(texts: &[&str]) -> Vec<Hash> {
        texts.iter().map(|text| hex(text)).collect()
    }

    /// Leaves `truce 0` … `truce 7` (ASCII). Expected values computed for this
    /// test with a separate Python hashlib implementation of the recursive
    /// RFC 6962 §2.1 definitions (MTH, PATH, PROOF).
    fn own_leaves() -> Vec<Hash> {
        (0..8)
            .map(|i| leaf_hash(format!("truce {i}").as_bytes()))
            .collect()
    }

    const OWN_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "beb6261c1c02a201cc5222acd94b49c50f58cd649b49385f7b014c8fea6ab838",
        "e85d29f1158c7fa71f6b8a7a75921fbce3621437c946dcfec515e75e89066d6c",
        "0e3e7f7279952d3407f646bd53e0052f1d034f529761f16e652cae0e4a783601",
        "f73ed88c56524c0a46ba437470f51b094fe1070c89fd435d1ecc909f96e91746",
        "9bda6eed40dd0384139cef4b8ed59bdce76edee14059787f1c15ea2548023c44",
        "90425bf20dbc0a2f553e45a82990da12915ed61dbfb5b6fb33a512296bb95869",
        "441cc0527335796ae607ccc4994c33bea884a7cbd04c801aec6466b9f177f489",
        "48a6cfd41b1c58f78a0aea99a9d8f19339f59f8e297d4cd8ff0ef96212889384",
    ];

    // Leaf hashes and interior nodes of the own tree that appear in proofs.
    const L2: &str = "97bce8ae42952339aa7362ed1980025ce875f84ce715169606c0d998e2f4a2a4";
    const L1: &str = "5f15b35fe5a887266b58a809e29708be29942bf088fb0fcfef5cb031beab8083";
    const L3: &str = "af5bd6c1ba92cf1924d623a4a23b9546b0c6661ffce06c6ebda14c0073aa4074";
    const L4: &str = "44b7d3e250bf38f6905203280eeb4454aeb6e33f6d88a0799aedf63363122262";
    const L5: &str = "47b261ef1e13a0b3734746e9f3531a6fbdeab910a642cceeefc68417c8d5aed2";
    const L6: &str = "a8b26e8664942ae9c30be9dd1ec6a4cbd1f1eaebe09c506ac65f5679f8dffe2b";
    const L7: &str = "bc4cc9145ba37c43523656432adbea564c74eaf5fe0683905367f7285ef82121";
    /// Root of leaves 0..2.
    const N01: &str = "e85d29f1158c7fa71f6b8a7a75921fbce3621437c946dcfec515e75e89066d6c";
    /// Root of leaves 2..4.
    const N23: &str = "de97e7d2f3a3cb9e5e844270f00ee961ba7c72a82a4e12a1c1e31542bd409f3e";
    /// Root of leaves 0..4.
    const N0123: &str = "f73ed88c56524c0a46ba437470f51b094fe1070c89fd435d1ecc909f96e91746";
    /// Root of leaves 4..6.
    const N45: &str = "99482894b02db0174c84a85c5f471dcc719600530678f11af2dbf75517e77388";
    /// Root of leaves 6..8.
    const N67: &str = "e406fa126d6c4d1b5556926ec1709f105d72eba4e6579dd62a15788b777c5c4a";
    /// Root of leaves 4..8.
    const N4567: &str = "a0327cb5f9d5cb2a6e919a4f407be90192568740bd08d7842db434de617a4152";
    /// Root of leaves 4..7 (ephemeral in a tree of 7).
    const N456: &str = "0d154643efae8fa720a88fe8190ffcb9817dde9fa27dd7f326a73b05c03a9696";

    /// (index, tree size, proof)
    fn own_inclusion_cases() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (0, 1, vec![]),
            (2, 3, hexes(&[N01])),
            (4, 5, hexes(&[N0123])),
            (3, 6, hexes(&[L2, N01, N45])),
            (6, 7, hexes(&[N45, N0123])),
            (0, 8, hexes(&[L1, N23, N4567])),
            (5, 8, hexes(&[L4, N67, N0123])),
            (7, 8, hexes(&[L6, N45, N0123])),
        ]
    }

    /// (size1, size2, proof)
    fn own_consistency_cases() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (1, 2, hexes(&[L1])),
            (1, 8, hexes(&[L1, N23, N4567])),
            (2, 5, hexes(&[N23, L4])),
            (3, 7, hexes(&[L2, L3, N01, N456])),
            (4, 7, hexes(&[N456])),
            (5, 6, hexes(&[L4, L5, N0123])),
            (6, 8, hexes(&[N45, N67, N0123])),
            (7, 8, hexes(&[L6, L7, N45, N0123])),
        ]
    }

    #[test]
    fn own_roots_for_sizes_0_to_8() {
        let leaves = own_leaves();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        let mut compact = CompactTree::new();
        for (size, expected) in OWN_ROOTS.iter().enumerate() {
            let expected = hex(expected);
            assert_eq!(
                root_from_leaf_hashes(&leaves[..size]),
                expected,
                "size {size}"
            );
            assert_eq!(tree.root_at(size as u64), Ok(expected), "size {size}");
            assert_eq!(tree_root(&leaves[..], size as u64), Ok(expected));
            assert_eq!(compact.root(), expected, "size {size}");
            if let Some(leaf) = leaves.get(size) {
                compact.push(*leaf).unwrap();
            }
        }
    }

    #[test]
    fn rfc6962_reference_roots_for_sizes_0_to_8() {
        // The RFC 6962 reference leaves long used by Certificate Transparency
        // test suites, and their published roots.
        let leaves: Vec<Hash> = [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|data| {
            let bytes: Vec<u8> = (0..data.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&data[i..i + 2], 16).unwrap())
                .collect();
            leaf_hash(&bytes)
        })
        .collect();
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        for (size, expected) in roots.iter().enumerate() {
            assert_eq!(root_from_leaf_hashes(&leaves[..size]), hex(expected));
        }
    }

    #[test]
    fn own_inclusion_proofs() {
        let leaves = own_leaves();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        let cases = own_inclusion_cases();
        assert_eq!(cases.len(), 8);
        for (index, size, expected) in cases {
            assert_eq!(tree.inclusion_proof(index, size).unwrap(), expected);
            assert_eq!(inclusion_proof(&leaves[..], index, size).unwrap(), expected);
            assert_eq!(inclusion_proof_len(index, size), Ok(expected.len()));
            let root = hex(OWN_ROOTS[size as usize]);
            let leaf = leaves[index as usize];
            assert_eq!(
                verify_inclusion(&leaf, index, size, &expected, &root),
                Ok(())
            );
            assert!(verify_inclusion(&leaf, index, size, &expected, &EMPTY_ROOT).is_err());
        }
    }

    #[test]
    fn own_consistency_proofs() {
        let leaves = own_leaves();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        let cases = own_consistency_cases();
        assert_eq!(cases.len(), 8);
        for (size1, size2, expected) in cases {
            assert_eq!(tree.consistency_proof(size1, size2).unwrap(), expected);
            assert_eq!(
                consistency_proof(&leaves[..], size1, size2).unwrap(),
                expected
            );
            assert_eq!(consistency_proof_len(size1, size2), Ok(expected.len()));
            let root1 = hex(OWN_ROOTS[size1 as usize]);
            let root2 = hex(OWN_ROOTS[size2 as usize]);
            assert_eq!(
                verify_consistency(size1, size2, &expected, &root1, &root2),
                Ok(())
            );
            assert!(verify_consistency(size1, size2, &expected, &root2, &root1).is_err());
        }
    }

    #[test]
    fn every_small_proof_round_trips() {
        let leaves = own_leaves();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        for size2 in 0..=8u64 {
            let root2 = tree.root_at(size2).unwrap();
            for index in 0..size2 {
                let proof = tree.inclusion_proof(index, size2).unwrap();
                let leaf = leaves[index as usize];
                assert_eq!(
                    verify_inclusion(&leaf, index, size2, &proof, &root2),
                    Ok(())
                );
            }
            for size1 in 1..=size2 {
                let root1 = tree.root_at(size1).unwrap();
                let proof = tree.consistency_proof(size1, size2).unwrap();
                assert_eq!(
                    verify_consistency(size1, size2, &proof, &root1, &root2),
                    Ok(())
                );
            }
        }
    }

    #[test]
    fn size_zero_policy() {
        let tree = MemoryTree::new();
        assert_eq!(tree.root(), EMPTY_ROOT);
        assert_eq!(empty_root(), EMPTY_ROOT);
        assert_eq!(
            verify_inclusion(&EMPTY_ROOT, 0, 0, &[], &EMPTY_ROOT),
            Err(VerifyError::Shape(ShapeError::IndexOutOfRange {
                index: 0,
                tree_size: 0
            }))
        );
        assert_eq!(
            tree.inclusion_proof(0, 0),
            Err(ProveError::Shape(ShapeError::IndexOutOfRange {
                index: 0,
                tree_size: 0
            }))
        );
        for size2 in [0, 1, 5] {
            assert_eq!(
                verify_consistency(0, size2, &[], &EMPTY_ROOT, &EMPTY_ROOT),
                Err(VerifyError::Shape(ShapeError::EmptyOldTree { size2 }))
            );
            assert_eq!(
                consistency_proof(&own_leaves()[..], 0, size2),
                Err(ProveError::Shape(ShapeError::EmptyOldTree { size2 }))
            );
        }
    }

    #[test]
    fn verification_errors_name_the_failed_check() {
        let leaves = own_leaves();
        let root7 = hex(OWN_ROOTS[7]);
        let root8 = hex(OWN_ROOTS[8]);
        let proof = hexes(&[N45, N0123]);
        assert_eq!(
            verify_inclusion(&leaves[6], 6, 7, &proof[..1], &root7),
            Err(VerifyError::ProofLength {
                expected: 2,
                actual: 1
            })
        );
        assert_eq!(
            verify_inclusion(&leaves[6], 7, 7, &proof, &root7),
            Err(VerifyError::Shape(ShapeError::IndexOutOfRange {
                index: 7,
                tree_size: 7
            }))
        );
        let computed = root_from_inclusion_proof(&leaves[5], 6, 7, &proof).unwrap();
        assert_eq!(
            verify_inclusion(&leaves[5], 6, 7, &proof, &root7),
            Err(VerifyError::RootMismatch {
                computed,
                expected: root7
            })
        );
        let consistency = hexes(&[L6, L7, N45, N0123]);
        assert!(matches!(
            verify_consistency(7, 8, &consistency, &root8, &root8),
            Err(VerifyError::OldRootMismatch { .. })
        ));
        assert!(matches!(
            verify_consistency(7, 8, &consistency, &root7, &root7),
            Err(VerifyError::NewRootMismatch { .. })
        ));
        assert_eq!(
            verify_consistency(8, 7, &consistency, &root8, &root7),
            Err(VerifyError::Shape(ShapeError::OldTreeLarger {
                size1: 8,
                size2: 7
            }))
        );
        assert_eq!(
            verify_consistency(7, 7, &[], &root7, &root8),
            Err(VerifyError::EqualSizeRootsDiffer {
                tree_size: 7,
                root1: root7,
                root2: root8
            })
        );
        assert_eq!(
            verify_consistency(7, 7, &consistency[..1], &root7, &root7),
            Err(VerifyError::ProofLength {
                expected: 0,
                actual: 1
            })
        );
        assert_eq!(verify_consistency(7, 7, &[], &root7, &root7), Ok(()));
    }

    #[test]
    fn proof_length_formulas_match_the_plans() {
        for size2 in 1..=300u64 {
            for index in 0..size2 {
                let plan = inclusion_plan(index, size2).unwrap();
                assert_eq!(inclusion_proof_len(index, size2), Ok(plan.proof_len()));
            }
            for size1 in 1..=size2 {
                let plan = consistency_plan(size1, size2).unwrap();
                assert_eq!(consistency_proof_len(size1, size2), Ok(plan.proof_len()));
            }
        }
    }

    #[test]
    fn largest_power_of_two_below_counts() {
        assert_eq!(largest_power_of_two_below(2), 1);
        assert_eq!(largest_power_of_two_below(3), 2);
        assert_eq!(largest_power_of_two_below(4), 2);
        assert_eq!(largest_power_of_two_below(5), 4);
        assert_eq!(largest_power_of_two_below(8), 4);
        assert_eq!(largest_power_of_two_below(9), 8);
    }
}
