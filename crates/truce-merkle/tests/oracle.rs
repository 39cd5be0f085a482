//! Property tests against an independent implementation (`ct-merkle` 0.3).
//!
//! For random trees: roots agree, proofs are byte-identical, each side's
//! proofs verify with the other side's verifier, and every single-hash
//! corruption of a valid proof (each element changed, each element dropped, a
//! hash inserted at each position, a root or the leaf changed) is rejected.
//! Every property uses a fixed RNG seed, so runs are reproducible.
//!
//! Sizes: the hashing comparison runs on trees up to 1,100 leaves (many cases)
//! and one tree of 2^15..=2^16 leaves by default; `large_trees_agree_with_ct_merkle`
//! goes up to 2^20 leaves and is `#[ignore]`d because it takes about two minutes
//! in debug builds: run it with
//! `cargo test -p truce-merkle --release --test oracle -- --ignored`.
//! The proof *structure* (which nodes a proof needs) is compared with
//! ct-merkle's index functions for sizes up to 2^62 without hashing.

// Test helpers may unwrap: a panic there is a test failure (see clippy.toml).
#![allow(clippy::unwrap_used)]

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use sha2::Sha256;
use truce_merkle::{
    CompactTree, Hash, MemoryTree, NodeId, ProofPlan, VerifyError, consistency_plan,
    consistency_proof_len, inclusion_plan, inclusion_proof_len, leaf_hash, verify_consistency,
    verify_inclusion,
};

type OracleTree = MemoryBackedTree<Sha256, Vec<u8>>;

/// Leaf `index` of the tree made from `seed`: 16 cheap bytes.
fn leaf_data(seed: u64, index: u64) -> Vec<u8> {
    let mut data = seed.to_be_bytes().to_vec();
    data.extend_from_slice(&index.to_be_bytes());
    data
}

fn oracle_root_bytes(root: &RootHash<Sha256>) -> Hash {
    Hash::from_slice(root.as_bytes().as_slice()).unwrap()
}

fn oracle_root(hash: &Hash, size: u64) -> RootHash<Sha256> {
    let digest = ct_merkle::digest::Output::<Sha256>::try_from(hash.as_bytes().as_slice()).unwrap();
    RootHash::new(digest, size)
}

fn concat(proof: &[Hash]) -> Vec<u8> {
    proof.iter().flat_map(|hash| hash.to_bytes()).collect()
}

fn split(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks(32)
        .map(|chunk| Hash::from_slice(chunk).unwrap())
        .collect()
}

/// Flips one bit of a hash, chosen by `salt`.
fn corrupt(hash: &Hash, salt: usize) -> Hash {
    let mut bytes = hash.to_bytes();
    bytes[salt % 32] ^= 1 << (salt % 8);
    Hash::from_bytes(bytes)
}

/// Every proof that differs from `proof` by one hash: each element changed,
/// each element dropped, and a hash inserted at each position.
fn single_hash_corruptions(proof: &[Hash], salt: usize) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    for position in 0..proof.len() {
        let mut changed = proof.to_vec();
        changed[position] = corrupt(&proof[position], salt + position);
        out.push(changed);
        let mut dropped = proof.to_vec();
        dropped.remove(position);
        out.push(dropped);
    }
    for position in 0..=proof.len() {
        let mut added = proof.to_vec();
        let extra = proof
            .get(position)
            .map_or_else(|| leaf_hash(&salt.to_be_bytes()), |hash| *hash);
        added.insert(position, extra);
        out.push(added);
    }
    out
}

/// Checks one tree: `size1 <= size2`, `index < size2`.
fn check_tree(seed: u64, size1: u64, size2: u64, index: u64, salt: usize) {
    let mut oracle = OracleTree::new();
    let mut ours = MemoryTree::new();
    let mut compact = CompactTree::new();
    for leaf_index in 0..size1 {
        let data = leaf_data(seed, leaf_index);
        ours.push(leaf_hash(&data));
        compact.push(leaf_hash(&data)).unwrap();
        oracle.push(data);
    }
    let oracle_root1 = oracle.root();
    let root1 = oracle_root_bytes(&oracle_root1);
    assert_eq!(ours.root(), root1, "root at {size1}");
    assert_eq!(compact.root(), root1, "compact root at {size1}");
    for leaf_index in size1..size2 {
        let data = leaf_data(seed, leaf_index);
        ours.push(leaf_hash(&data));
        compact.push(leaf_hash(&data)).unwrap();
        oracle.push(data);
    }
    let oracle_root2 = oracle.root();
    let root2 = oracle_root_bytes(&oracle_root2);
    assert_eq!(ours.root(), root2, "root at {size2}");
    assert_eq!(compact.root(), root2, "compact root at {size2}");
    assert_eq!(ours.root_at(size1).unwrap(), root1);

    // Inclusion of `index` in the tree of size2.
    let data = leaf_data(seed, index);
    let leaf = leaf_hash(&data);
    let proof = ours.inclusion_proof(index, size2).unwrap();
    let oracle_proof = oracle.prove_inclusion(usize::try_from(index).unwrap());
    assert_eq!(
        concat(&proof),
        oracle_proof.as_bytes(),
        "inclusion {index} in {size2}"
    );
    assert_eq!(inclusion_proof_len(index, size2), Ok(proof.len()));
    assert_eq!(
        inclusion_plan(index, size2).unwrap().proof_len(),
        proof.len()
    );
    assert_eq!(
        verify_inclusion(&leaf, index, size2, &split(oracle_proof.as_bytes()), &root2),
        Ok(())
    );
    let from_ours = InclusionProof::<Sha256>::try_from_bytes(concat(&proof)).unwrap();
    assert!(
        oracle_root2
            .verify_inclusion(&data, index, &from_ours)
            .is_ok()
    );

    for bad in single_hash_corruptions(&proof, salt) {
        assert!(
            verify_inclusion(&leaf, index, size2, &bad, &root2).is_err(),
            "corrupted inclusion proof accepted: {index} in {size2}"
        );
        let bad_bytes = InclusionProof::<Sha256>::try_from_bytes(concat(&bad)).unwrap();
        assert!(
            oracle_root2
                .verify_inclusion(&data, index, &bad_bytes)
                .is_err()
        );
    }
    assert!(matches!(
        verify_inclusion(&leaf, index, size2, &proof, &corrupt(&root2, salt)),
        Err(VerifyError::RootMismatch { .. })
    ));
    assert!(verify_inclusion(&corrupt(&leaf, salt), index, size2, &proof, &root2).is_err());

    // Consistency from size1 to size2.
    let proof = ours.consistency_proof(size1, size2).unwrap();
    let oracle_proof = oracle.prove_consistency(usize::try_from(size2 - size1).unwrap());
    assert_eq!(
        concat(&proof),
        oracle_proof.as_bytes(),
        "consistency {size1} -> {size2}"
    );
    assert_eq!(consistency_proof_len(size1, size2), Ok(proof.len()));
    assert_eq!(
        consistency_plan(size1, size2).unwrap().proof_len(),
        proof.len()
    );
    assert_eq!(
        verify_consistency(
            size1,
            size2,
            &split(oracle_proof.as_bytes()),
            &root1,
            &root2
        ),
        Ok(())
    );
    let from_ours = ConsistencyProof::<Sha256>::try_from_bytes(concat(&proof)).unwrap();
    assert!(
        oracle_root2
            .verify_consistency(&oracle_root(&root1, size1), &from_ours)
            .is_ok()
    );

    for bad in single_hash_corruptions(&proof, salt) {
        assert!(
            verify_consistency(size1, size2, &bad, &root1, &root2).is_err(),
            "corrupted consistency proof accepted: {size1} -> {size2}"
        );
    }
    assert!(verify_consistency(size1, size2, &proof, &corrupt(&root1, salt), &root2).is_err());
    assert!(verify_consistency(size1, size2, &proof, &root1, &corrupt(&root2, salt)).is_err());
    if root1 != root2 {
        assert!(verify_consistency(size1, size2, &proof, &root2, &root1).is_err());
    }
}

/// (seed, size1, size2, index, salt) with 1 <= size1 <= size2, size2 in
/// `min_size..=max_size`, and index < size2.
fn tree_params(min_size: u64, max_size: u64) -> impl Strategy<Value = (u64, u64, u64, u64, usize)> {
    (
        any::<u64>(),
        min_size..=max_size,
        any::<u64>(),
        any::<u64>(),
        any::<usize>(),
    )
        .prop_map(|(seed, size2, size1_pick, index_pick, salt)| {
            let size1 = 1 + size1_pick % size2;
            let index = index_pick % size2;
            (seed, size1, size2, index, salt)
        })
}

fn config(cases: u32, seed: u64) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(96, 0x7472_7563_6501))]

    #[test]
    fn small_trees_agree_with_ct_merkle((seed, size1, size2, index, salt) in tree_params(1, 1100)) {
        check_tree(seed, size1, size2, index, salt);
    }
}

proptest! {
    #![proptest_config(config(1, 0x7472_7563_6502))]

    #[test]
    fn a_medium_tree_agrees_with_ct_merkle(
        (seed, size1, size2, index, salt) in tree_params(1 << 15, 1 << 16)
    ) {
        check_tree(seed, size1, size2, index, salt);
    }
}

proptest! {
    // Few cases: each builds two trees of up to 2^20 leaves.
    #![proptest_config(config(6, 0x7472_7563_6503))]

    #[test]
    #[ignore = "about two minutes in debug builds; run with --release -- --ignored"]
    fn large_trees_agree_with_ct_merkle(
        (seed, size1, size2, index, salt) in tree_params(1 << 16, 1 << 20)
    ) {
        check_tree(seed, size1, size2, index, salt);
    }
}

/// The index of the node covering leaves `first..end` in the array layout of
/// RFC 9420 appendix C that ct-merkle uses: the smallest aligned subtree that
/// contains the range, at in-order position `K·2^(L+1) + 2^L − 1`.
fn array_index(first: u64, end: u64) -> u64 {
    let level = u64::BITS - (end - first - 1).leading_zeros();
    let index = first >> level;
    (index << (level + 1)) + (1 << level) - 1
}

/// The array-layout index of each proof element of a plan.
fn plan_array_indices(plan: &ProofPlan) -> Vec<u64> {
    let nodes = plan.nodes();
    let range = |nodes: &[NodeId]| {
        let (first, _) = nodes[0].leaf_range().unwrap();
        let (_, end) = nodes[nodes.len() - 1].leaf_range().unwrap();
        array_index(first, end)
    };
    match plan.ephemeral() {
        None => nodes
            .iter()
            .map(|node| range(std::slice::from_ref(node)))
            .collect(),
        Some(ephemeral) => {
            let mut out: Vec<u64> = nodes[..ephemeral.start]
                .iter()
                .map(|node| range(std::slice::from_ref(node)))
                .collect();
            out.push(range(&nodes[ephemeral.clone()]));
            out.extend(
                nodes[ephemeral.end..]
                    .iter()
                    .map(|node| range(std::slice::from_ref(node))),
            );
            out
        }
    }
}

/// Sizes up to 2^62 (ct-merkle's limit is 2^63), biased towards small ones
/// and powers of two.
fn plan_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        1u64..=1 << 20,
        (0u32..62, 0u64..=2).prop_map(|(shift, delta)| ((1u64 << shift) + delta).max(1)),
        1u64..=1 << 62,
    ]
}

proptest! {
    #![proptest_config(config(3000, 0x7472_7563_6504))]

    /// Which nodes a proof needs, compared with ct-merkle without hashing.
    #[test]
    fn proof_structure_agrees_with_ct_merkle(
        size2 in plan_size(),
        pick1 in any::<u64>(),
        pick_index in any::<u64>(),
    ) {
        let index = pick_index % size2;
        let plan = inclusion_plan(index, size2).unwrap();
        prop_assert_eq!(
            plan_array_indices(&plan),
            ct_merkle::indices_for_inclusion_proof(size2, index)
        );
        let size1 = 1 + pick1 % size2;
        let plan = consistency_plan(size1, size2).unwrap();
        prop_assert_eq!(
            plan_array_indices(&plan),
            ct_merkle::indices_for_consistency_proof(size1, size2 - size1)
        );
    }
}

/// Sizes and indices biased towards the edges of `u64`.
fn edgy_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..=20,
        (0u64..=20).prop_map(|delta| u64::MAX - delta),
        (0u32..64).prop_map(|shift| 1u64 << shift),
        (0u32..64, 0u64..=2).prop_map(|(shift, delta)| (1u64 << shift).wrapping_sub(delta)),
        any::<u64>(),
    ]
}

fn arbitrary_proof() -> impl Strategy<Value = Vec<Hash>> {
    prop::collection::vec(any::<[u8; 32]>().prop_map(Hash::from_bytes), 0..70)
}

proptest! {
    #![proptest_config(config(2000, 0x7472_7563_6505))]

    /// Arbitrary inputs never panic, and random hashes never verify.
    #[test]
    fn verifiers_reject_garbage_without_panicking(
        index in edgy_u64(),
        size in edgy_u64(),
        proof in arbitrary_proof(),
        leaf in any::<[u8; 32]>(),
        root in any::<[u8; 32]>(),
    ) {
        let leaf = Hash::from_bytes(leaf);
        let root = Hash::from_bytes(root);
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_err());
        // Equal sizes with an empty proof and equal roots is the one valid case
        // that needs no hashing.
        if !(index == size && index != 0 && proof.is_empty()) {
            prop_assert!(verify_consistency(index, size, &proof, &leaf, &root).is_err());
        }
        if let Ok(len) = inclusion_proof_len(index, size) {
            prop_assert_eq!(inclusion_plan(index, size).unwrap().proof_len(), len);
            prop_assert!(len <= 64);
        }
        if let Ok(len) = consistency_proof_len(index, size) {
            prop_assert_eq!(consistency_plan(index, size).unwrap().proof_len(), len);
            prop_assert!(len <= 65);
        }
    }
}
