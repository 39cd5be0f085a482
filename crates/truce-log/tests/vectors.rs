//! The tile layout checked against `shared/testdata/tlog/tlog-tiles-vectors.json`
//! and the `tlog-proof` example of `signed-note-vectors.json`.
//!
//! The vectors live outside the repository, beside the work tree
//! (`CARGO_MANIFEST_DIR/../../../shared/testdata/tlog`), and are never copied
//! into the project: when a file is missing each test prints
//! `skipped: <path> not found` and passes. When present, every test asserts
//! the exact number of cases it checked.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};
use truce_log::layout::{encode_tile_index, parse_tile_index, tiles_for_size};
use truce_log::{
    Edge, Log, MemoryTileStore, TileKey, TilePath, TileStore, integrate, verify_receipt,
};
use truce_merkle::Hash;
use truce_note::{KeyName, NoteSigner, Policy, Verifier, WitnessGroup};

fn vectors(name: &str) -> Option<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/tlog")
        .join(name);
    if !path.is_file() {
        println!("skipped: {} not found", path.display());
        return None;
    }
    let text = fs::read_to_string(&path).unwrap();
    Some(serde_json::from_str(&text).unwrap())
}

fn array<'a>(value: &'a Value, field: &str) -> &'a [Value] {
    value[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} is not an array"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[test]
fn tile_index_path_encoding() {
    let Some(vectors) = vectors("tlog-tiles-vectors.json") else {
        return;
    };
    let cases = array(&vectors, "tile_index_path_encoding");
    for case in cases {
        let index = case["index"].as_u64().unwrap();
        let text = case["path_element"].as_str().unwrap();
        assert_eq!(encode_tile_index(index), text);
        assert_eq!(parse_tile_index(text), Some(index));
    }
    assert_eq!(cases.len(), 7);
}

/// The Go sumdb paths carry the tile height `H` after `tile/`; C2SP drops it.
/// With `H` removed, the valid ones must parse to the same level, index and
/// width, and the invalid ones must be refused.
#[test]
fn sumdb_paths_without_the_height() {
    let Some(vectors) = vectors("tlog-tiles-vectors.json") else {
        return;
    };
    let cases = array(&vectors, "go_sumdb_tile_path_examples");
    let (mut valid, mut invalid) = (0, 0);
    for case in cases {
        let path = case["path"].as_str().unwrap();
        let mut parts = path.splitn(3, '/');
        let (tile, _height, rest) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let c2sp = format!("{tile}/{rest}");
        if case["invalid"].as_bool() == Some(true) {
            assert!(TilePath::parse(&c2sp).is_err(), "{c2sp}");
            invalid += 1;
            continue;
        }
        let parsed = TilePath::parse(&c2sp).unwrap();
        let level = case["L"].as_u64().unwrap() as u8;
        let index = case["N"].as_u64().unwrap();
        assert_eq!(parsed.key, TileKey::Hashes { level, index }, "{c2sp}");
        if c2sp.contains(".p/") {
            assert_eq!(
                u64::from(parsed.width),
                case["W"].as_u64().unwrap(),
                "{c2sp}"
            );
        } else {
            assert!(parsed.is_full(), "{c2sp}");
        }
        assert_eq!(parsed.to_string(), c2sp);
        valid += 1;
    }
    assert_eq!((valid, invalid), (5, 2));
}

#[test]
fn tiles_needed_for_tree_size() {
    let Some(vectors) = vectors("tlog-tiles-vectors.json") else {
        return;
    };
    let cases = array(&vectors, "tiles_needed_for_tree_size");
    for case in cases {
        let size = case["tree_size"].as_u64().unwrap();
        let levels = tiles_for_size(size);
        let expected = array(case, "levels");
        assert_eq!(levels.len(), expected.len(), "size {size}");
        for (level, expected) in levels.iter().zip(expected) {
            assert_eq!(u64::from(level.level), expected["level"].as_u64().unwrap());
            assert_eq!(level.full_tiles, expected["full_tiles"].as_u64().unwrap());
            assert_eq!(
                u64::from(level.partial_width),
                expected["partial_width"].as_u64().unwrap()
            );
        }
    }
    assert_eq!(cases.len(), 7);
}

/// The 300-leaf example tree, written by the log in batches that leave
/// partial tiles behind, gives the exact tile and bundle bytes.
#[test]
fn example_tree_files() {
    let Some(vectors) = vectors("tlog-tiles-vectors.json") else {
        return;
    };
    let example = &vectors["example_tree"];
    let size = example["tree_size"].as_u64().unwrap();
    assert_eq!(size, 300);
    let entries: Vec<Vec<u8>> = (0..size)
        .map(|i| format!("leaf {i}").into_bytes())
        .collect();

    let mut checked = 0;
    for batches in [
        vec![300usize],
        vec![1, 99, 200],
        vec![256, 44],
        vec![255, 1, 43, 1],
    ] {
        let signer = NoteSigner::from_seed(KeyName::new("example.org/vectors").unwrap(), &[3; 32]);
        let mut log =
            Log::with_store(MemoryTileStore::new(), signer, "example.org/vectors").unwrap();
        let mut start = 0;
        for len in batches {
            log.append_batch(&entries[start..start + len]).unwrap();
            start += len;
        }
        assert_eq!(log.root().to_hex(), example["root"].as_str().unwrap());
        let store = log.store();
        for tile in array(example, "tiles") {
            let path = TilePath::parse(tile["path"].as_str().unwrap()).unwrap();
            let bytes = store.read_tile(&path).unwrap().unwrap();
            assert_eq!(bytes.len(), tile["width"].as_u64().unwrap() as usize * 32);
            assert_eq!(
                sha256_hex(&bytes),
                tile["sha256_of_tile_bytes"].as_str().unwrap()
            );
            assert_eq!(
                Hash::from_slice(&bytes[..32]).unwrap().to_hex(),
                tile["first_hash"].as_str().unwrap()
            );
            assert_eq!(
                Hash::from_slice(&bytes[bytes.len() - 32..])
                    .unwrap()
                    .to_hex(),
                tile["last_hash"].as_str().unwrap()
            );
            checked += 1;
        }
        for bundle in array(example, "entry_bundles") {
            let path = TilePath::parse(bundle["path"].as_str().unwrap()).unwrap();
            let bytes = store.read_tile(&path).unwrap().unwrap();
            assert_eq!(bytes.len() as u64, bundle["size_bytes"].as_u64().unwrap());
            assert_eq!(
                sha256_hex(&bytes),
                bundle["sha256_of_bundle_bytes"].as_str().unwrap()
            );
            assert_eq!(u64::from(path.width), bundle["entries"].as_u64().unwrap());
            checked += 1;
        }
        // Superseded partial files of the full tile and bundle are gone.
        assert!(
            store
                .tiles
                .keys()
                .all(|path| path.is_full() || path.key.index() == 1 || path.key.tile_level() == 1)
        );
    }
    assert_eq!(checked, 4 * 5);

    // The pure integration alone gives the same bytes.
    let whole = integrate(&Edge::empty(), &entries).unwrap();
    let level1 = whole
        .writes
        .iter()
        .find(|write| write.path.to_string() == "tile/1/000.p/1")
        .unwrap();
    assert_eq!(
        Hash::from_slice(&level1.data).unwrap().to_hex(),
        example["level1_tile_entry_0_equals_root_of_first_256_leaves"]
            .as_str()
            .unwrap()
    );
}

/// The tlog-proof example parses and verifies with our receipt code, under a
/// policy of the log and one witness, and re-prints byte for byte.
#[test]
fn tlog_proof_example() {
    let Some(vectors) = vectors("signed-note-vectors.json") else {
        return;
    };
    let example = &vectors["tlog_proof_example"];
    let proof = example["proof"].as_str().unwrap();
    let leaf: Vec<u8> = (0..example["leaf_data_hex"].as_str().unwrap().len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&example["leaf_data_hex"].as_str().unwrap()[i..i + 2], 16).unwrap()
        })
        .collect();
    let keys: Vec<Verifier> = array(example, "vkeys")
        .iter()
        .map(|vkey| Verifier::from_vkey(vkey.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(keys.len(), 2);
    let policy = Policy::new(
        "example.com/truce-test-log",
        keys[0].clone(),
        vec![WitnessGroup::new("witness", vec![keys[1].clone()], 1).unwrap()],
    )
    .unwrap();
    let verified = verify_receipt(proof.as_bytes(), &leaf, &policy).unwrap();
    assert_eq!(verified.index, 5);
    assert_eq!(verified.checkpoint.size(), 8);
    assert!(verify_receipt(proof.as_bytes(), b"other", &policy).is_err());
    let receipt = truce_log::Receipt::parse(proof.as_bytes()).unwrap();
    assert_eq!(receipt.proof().len(), 3);
    assert_eq!(receipt.to_bytes(), proof.as_bytes());
}
