//! Random batches → tiles: the root equals the recursive RFC 9162 root of the
//! entries, proofs read from the tiles verify, receipts verify, and a reopened
//! log has the same state. Fixed seeds, bounded sizes.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use truce_log::{Log, LogError, MemoryTileStore, TileStore, verify_dir, verify_receipt};
use truce_merkle::{Hash, leaf_hash, root_from_leaf_hashes, verify_consistency, verify_inclusion};
use truce_note::{KeyName, NoteSigner, Policy};

const ORIGIN: &str = "example.org/truce-log-test";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[5; 32])
}

/// Entry `index` of the test logs: deterministic, of varied length (0 to
/// about 600 bytes).
fn entry(index: u64) -> Vec<u8> {
    let len = (index.wrapping_mul(2_654_435_761) % 600) as usize;
    let mut bytes = format!("entry {index}:").into_bytes();
    bytes.resize(len.max(bytes.len()), (index % 251) as u8);
    if index.is_multiple_of(97) {
        bytes.clear();
    }
    bytes
}

fn config(cases: u32, seed: u64) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(24, 0x5eed_0001))]

    #[test]
    fn random_batches_give_the_rfc_root_and_valid_proofs(
        batches in proptest::collection::vec(0usize..700, 1..8),
        probes in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 8),
    ) {
        let mut log = Log::with_store(MemoryTileStore::new(), signer(), ORIGIN).unwrap();
        let mut leaves: Vec<Hash> = Vec::new();
        let mut roots = vec![truce_merkle::EMPTY_ROOT];
        for len in &batches {
            let first = log.size();
            let batch: Vec<Vec<u8>> = (first..first + *len as u64).map(entry).collect();
            let indices = log.append_batch(&batch).unwrap();
            prop_assert_eq!(indices, (first..first + *len as u64).collect::<Vec<_>>());
            leaves.extend(batch.iter().map(|entry| leaf_hash(entry)));
            prop_assert_eq!(log.size(), leaves.len() as u64);
            prop_assert_eq!(log.root(), root_from_leaf_hashes(&leaves));
            roots.resize(leaves.len() + 1, Hash::from_bytes([0; 32]));
            roots[leaves.len()] = log.root();
        }
        let size = log.size();
        if size == 0 {
            return Ok(());
        }
        for (index_probe, size_probe) in &probes {
            let tree_size = 1 + size_probe.index(size as usize) as u64;
            let index = index_probe.index(tree_size as usize) as u64;
            let root = root_from_leaf_hashes(&leaves[..tree_size as usize]);
            prop_assert_eq!(log.root_at(tree_size).unwrap(), root);
            let proof = log.inclusion_proof(index, tree_size).unwrap();
            prop_assert!(verify_inclusion(&leaves[index as usize], index, tree_size, &proof, &root).is_ok());
            let size1 = 1 + index;
            let old_root = root_from_leaf_hashes(&leaves[..size1 as usize]);
            let proof = log.consistency_proof(size1, tree_size).unwrap();
            prop_assert!(verify_consistency(size1, tree_size, &proof, &old_root, &root).is_ok());
            prop_assert_eq!(log.entry(index).unwrap(), entry(index));
        }
        let start = size / 3;
        let read = log.entries(start, size).unwrap();
        prop_assert_eq!(read, (start..size).map(entry).collect::<Vec<_>>());

        // Reopening the same store gives the same state and the same next root;
        // proofs read through a warmed cache are the same.
        let store = log.into_store();
        let mut reopened = Log::with_store(store.clone(), signer(), ORIGIN).unwrap();
        prop_assert_eq!(reopened.size(), size);
        let tiles = reopened.warm_proof_cache().unwrap();
        prop_assert_eq!(tiles, truce_log::layout::tiles_for_size(size).iter().map(|level| level.full_tiles + u64::from(level.partial_width > 0)).sum::<u64>());
        for (index_probe, size_probe) in &probes {
            let tree_size = 1 + size_probe.index(size as usize) as u64;
            let index = index_probe.index(tree_size as usize) as u64;
            let root = root_from_leaf_hashes(&leaves[..tree_size as usize]);
            let proof = reopened.inclusion_proof(index, tree_size).unwrap();
            prop_assert!(verify_inclusion(&leaves[index as usize], index, tree_size, &proof, &root).is_ok());
            let old_root = root_from_leaf_hashes(&leaves[..=index as usize]);
            let proof = reopened.consistency_proof(index + 1, tree_size).unwrap();
            prop_assert!(verify_consistency(index + 1, tree_size, &proof, &old_root, &root).is_ok());
        }
        prop_assert_eq!(reopened.root(), root_from_leaf_hashes(&leaves));
        let more: Vec<Vec<u8>> = (size..size + 300).map(entry).collect();
        reopened.append_batch(&more).unwrap();
        leaves.extend(more.iter().map(|entry| leaf_hash(entry)));
        prop_assert_eq!(reopened.root(), root_from_leaf_hashes(&leaves));
        // Only the current partial files and full files remain, apart from
        // the partial files of tiles that are still partial.
        let stored = reopened.store();
        for path in stored.tiles.keys() {
            if !path.is_full() {
                prop_assert!(!stored.tiles.contains_key(&truce_log::TilePath::full(path.key)), "{path} kept beside its full tile");
            }
        }
    }
}

#[test]
fn receipts_verify_offline() {
    let mut log = Log::with_store(MemoryTileStore::new(), signer(), ORIGIN).unwrap();
    let policy = Policy::new(ORIGIN, signer().verifier(), vec![]).unwrap();
    let mut next = 0u64;
    for len in [1usize, 255, 3, 600] {
        let batch: Vec<Vec<u8>> = (next..next + len as u64).map(entry).collect();
        let receipts = log.append_batch_with_receipts(&batch).unwrap();
        assert_eq!(receipts.len(), len);
        for (receipt, data) in receipts.iter().zip(&batch) {
            let bytes = receipt.to_bytes();
            let verified = verify_receipt(&bytes, data, &policy).unwrap();
            assert_eq!(verified.index, receipt.index());
            // Zero merge delay: the checkpoint in the receipt is the one just
            // published, which includes the whole batch.
            assert_eq!(verified.checkpoint.size(), next + len as u64);
            assert!(verify_receipt(&bytes, b"not the entry", &policy).is_err());
        }
        next += len as u64;
    }
    // A receipt for an old entry against the latest checkpoint.
    let receipt = log.receipt(7).unwrap();
    verify_receipt(&receipt.to_bytes(), &entry(7), &policy).unwrap();
    // Another log's key does not verify it.
    let other = NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[6; 32]);
    let wrong_policy = Policy::new(ORIGIN, other.verifier(), vec![]).unwrap();
    assert!(verify_receipt(&receipt.to_bytes(), &entry(7), &wrong_policy).is_err());
}

#[test]
fn batches_are_checked_before_anything_is_written() {
    let mut log = Log::with_store(MemoryTileStore::new(), signer(), ORIGIN).unwrap();
    log.append_batch(&[b"a".to_vec()]).unwrap();
    let before = log.store().clone();
    let batch = vec![b"ok".to_vec(), vec![0u8; 65_536]];
    assert!(matches!(log.append_batch(&batch), Err(LogError::Batch(_))));
    assert_eq!(log.store(), &before);
    assert_eq!(log.append_batch::<Vec<u8>>(&[]).unwrap(), Vec::<u64>::new());
    assert_eq!(log.store(), &before);
    let max = vec![7u8; 65_535];
    assert_eq!(
        log.append_batch(std::slice::from_ref(&max)).unwrap(),
        vec![1]
    );
    assert_eq!(log.entry(1).unwrap(), max);
}

#[test]
fn a_log_refuses_foreign_or_missing_checkpoints() {
    let mut log = Log::with_store(MemoryTileStore::new(), signer(), ORIGIN).unwrap();
    log.append_batch(&[b"a".to_vec()]).unwrap();
    let store = log.into_store();
    // Another key.
    let other = NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[6; 32]);
    assert!(matches!(
        Log::with_store(store.clone(), other, ORIGIN),
        Err(LogError::ForeignCheckpoint { .. })
    ));
    // Another origin (same key name, so the signature checks but the origin does not).
    assert!(matches!(
        Log::with_store(store.clone(), signer(), "example.org/elsewhere"),
        Err(LogError::ForeignCheckpoint { .. })
    ));
    // Tiles without a checkpoint: no new tree over them.
    let mut headless = store.clone();
    headless.checkpoint = None;
    assert!(matches!(
        Log::with_store(headless, signer(), ORIGIN),
        Err(LogError::MissingCheckpoint)
    ));
    // Tiles that do not give the signed root.
    let mut damaged = store;
    let first = *damaged.tiles.keys().next().unwrap();
    damaged.tiles.get_mut(&first).unwrap()[0] ^= 1;
    assert!(matches!(
        Log::with_store(damaged, signer(), ORIGIN),
        Err(LogError::Corrupt { .. })
    ));
}

#[test]
fn a_directory_log_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut leaves = Vec::new();
    {
        let mut log = Log::open(dir.path(), signer(), ORIGIN).unwrap();
        for len in [10usize, 300, 1, 700] {
            let first = log.size();
            let batch: Vec<Vec<u8>> = (first..first + len as u64).map(entry).collect();
            log.append_batch(&batch).unwrap();
            leaves.extend(batch.iter().map(|entry| leaf_hash(entry)));
        }
    }
    let log = Log::open(dir.path(), signer(), ORIGIN).unwrap();
    assert_eq!(log.size(), 1011);
    assert_eq!(log.root(), root_from_leaf_hashes(&leaves));
    assert_eq!(log.entry(1010).unwrap(), entry(1010));
    let report = verify_dir(dir.path(), ORIGIN, &signer().verifier(), None).unwrap();
    assert_eq!(report.entries, 1011);
    assert_eq!(report.bundles, 4);
    // Level 0: 4 tiles; level 1: one partial of width 3.
    assert_eq!(report.hash_tiles, 5);
    assert!(
        report.uncommitted.is_empty()
            && report.leftovers.is_empty()
            && report.unexpected.is_empty()
    );
    assert_eq!(
        std::fs::read(dir.path().join("checkpoint")).unwrap(),
        log.checkpoint_note().to_bytes()
    );
    assert!(
        log.store()
            .read_tile(&truce_log::TilePath::parse("tile/0/003.p/243").unwrap())
            .unwrap()
            .is_some()
    );
}
