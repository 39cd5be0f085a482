//! Tamper detection: flipping a byte in any tile, bundle or the checkpoint,
//! deleting, truncating, extending or reordering files makes `verify_dir`
//! fail and name the place.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use truce_log::{Damages, Log, Problem, TilePath, VerifyDirError, verify_dir};
use truce_note::{Checkpoint, KeyName, NoteSigner};

const ORIGIN: &str = "example.org/tamper";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[31; 32])
}

fn entry(index: u64) -> Vec<u8> {
    format!(
        "tamper test entry {index} {}",
        "z".repeat((index % 50) as usize)
    )
    .into_bytes()
}

/// A log of 1,000 entries written in batches that leave kept partial tiles
/// of older checkpoints (level 0 tile 3, level 1 tile 0) beside the current
/// ones. Returns the directory and the checkpoints after each batch.
fn build() -> (tempfile::TempDir, Vec<Checkpoint>) {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), signer(), ORIGIN).unwrap();
    let mut checkpoints = Vec::new();
    for len in [300u64, 300, 170, 200, 30] {
        let first = log.size();
        let batch: Vec<Vec<u8>> = (first..first + len).map(entry).collect();
        log.append_batch(&batch).unwrap();
        checkpoints.push(log.checkpoint().clone());
    }
    assert_eq!(log.size(), 1000);
    (dir, checkpoints)
}

/// Every file of the directory, relative, sorted.
fn files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for item in fs::read_dir(root.join(&relative)).unwrap() {
            let item = item.unwrap();
            let path = relative.join(item.file_name());
            if item.file_type().unwrap().is_dir() {
                pending.push(path);
            } else {
                found.push(path.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found.sort();
    found
}

fn damages(dir: &Path) -> Damages {
    match verify_dir(dir, ORIGIN, &signer().verifier(), None) {
        Err(VerifyDirError::Damaged(damages)) => damages,
        Err(other) => panic!("unexpected error: {other}"),
        Ok(report) => panic!(
            "tampering went unnoticed ({} entries verified)",
            report.entries
        ),
    }
}

/// Which files the checkpoint of size 1000 requires, and which are kept
/// partial files of older checkpoints.
fn is_current(file: &str) -> bool {
    file == "checkpoint"
        || TilePath::parse(file)
            .ok()
            .is_some_and(|path| path.key.path_at(1000) == Some(path))
}

#[test]
fn the_layout_is_as_expected() {
    let (dir, _) = build();
    let report = verify_dir(dir.path(), ORIGIN, &signer().verifier(), None).unwrap();
    assert_eq!(report.entries, 1000);
    assert_eq!(report.bundles, 4);
    assert_eq!(report.hash_tiles, 5);
    assert!(
        report.uncommitted.is_empty()
            && report.leftovers.is_empty()
            && report.unexpected.is_empty()
    );
    assert_eq!(
        files(dir.path()),
        [
            "checkpoint",
            "tile/0/000",
            "tile/0/001",
            "tile/0/002",
            "tile/0/003.p/2",
            "tile/0/003.p/202",
            "tile/0/003.p/232",
            "tile/1/000.p/1",
            "tile/1/000.p/2",
            "tile/1/000.p/3",
            "tile/entries/000",
            "tile/entries/001",
            "tile/entries/002",
            "tile/entries/003.p/2",
            "tile/entries/003.p/202",
            "tile/entries/003.p/232",
        ]
    );
    // Checkpoints at 300, 600, 770 = 3·256 + 2, 970 = 3·256 + 202 and 1000 =
    // 3·256 + 232: the kept partials of older checkpoints are tile 3 and
    // bundle 3 at widths 2 and 202, and level-1 tile 0 at widths 1 and 2
    // (the partials of tiles 0 to 2 went when those became full).
    assert_eq!(report.older_partials, 6);
}

/// The offset of the length prefix of the bundle entry holding byte `position`.
fn entry_containing(bundle: &[u8], position: usize) -> u64 {
    let mut offset = 0;
    loop {
        let len = usize::from(u16::from_be_bytes([bundle[offset], bundle[offset + 1]]));
        if position < offset + 2 + len {
            return offset as u64;
        }
        offset += 2 + len;
    }
}

#[test]
fn flipped_bytes_are_found_where_they_are() {
    let (dir, _) = build();
    let mut flips = 0;
    for file in files(dir.path()) {
        let path = dir.path().join(&file);
        let original = fs::read(&path).unwrap();
        let len = original.len();
        for position in [0, len / 3, len / 2, len - 1] {
            let mut changed = original.clone();
            changed[position] ^= 0x01;
            fs::write(&path, &changed).unwrap();
            let found = damages(dir.path());
            let is_hash_tile = file.starts_with("tile/") && !file.starts_with("tile/entries/");
            if file == "checkpoint" {
                assert!(
                    found.names("checkpoint", None),
                    "{file}@{position}: {found}"
                );
            } else if is_hash_tile && is_current(&file) {
                // The first damage is the flipped hash itself.
                let hash_offset = (position / 32 * 32) as u64;
                assert_eq!(found.list[0].place.file, file, "{file}@{position}: {found}");
                assert_eq!(
                    found.list[0].place.offset,
                    Some(hash_offset),
                    "{file}@{position}: {found}"
                );
                // Blame is not passed on: the level above and the root are
                // re-derived from the entries, not from the damaged tile.
                assert_eq!(found.list.len(), 1, "{file}@{position}: {found}");
            } else if is_current(&file) {
                // A bundle: the first damage names the entry holding the
                // byte, at its length prefix.
                let entry_start = entry_containing(&original, position);
                assert_eq!(found.list[0].place.file, file, "{file}@{position}: {found}");
                assert_eq!(
                    found.list[0].place.offset,
                    Some(entry_start),
                    "{file}@{position}: {found}"
                );
                // At most the entry and, if a length prefix changed, where
                // parsing broke.
                assert!(found.list.len() <= 2, "{file}@{position}: {found}");
            } else if is_hash_tile {
                // A kept partial tile of an older checkpoint: the hash that
                // differs from the current tile's.
                let hash_offset = (position / 32 * 32) as u64;
                assert_eq!(found.list.len(), 1, "{file}@{position}: {found}");
                assert!(
                    found.names(&file, Some(hash_offset)),
                    "{file}@{position}: {found}"
                );
                assert!(matches!(found.list[0].problem, Problem::NotAPrefix));
            } else {
                // A kept partial bundle: the entry that does not hash to the
                // current leaf.
                assert_eq!(found.list.len(), 1, "{file}@{position}: {found}");
                let entry_start = entry_containing(&original, position);
                assert!(
                    found.names(&file, Some(entry_start)),
                    "{file}@{position}: {found}"
                );
            }
            flips += 1;
        }
        fs::write(&path, &original).unwrap();
    }
    verify_dir(dir.path(), ORIGIN, &signer().verifier(), None).unwrap();
    assert_eq!(flips, 16 * 4);
}

#[test]
fn deleted_files_are_named() {
    let (dir, _) = build();
    let mut deleted = 0;
    for file in files(dir.path())
        .into_iter()
        .filter(|file| is_current(file))
    {
        let path = dir.path().join(&file);
        let original = fs::read(&path).unwrap();
        fs::remove_file(&path).unwrap();
        let found = damages(dir.path());
        assert_eq!(found.list[0].place.file, file, "{found}");
        assert_eq!(found.list[0].problem, Problem::Missing, "{found}");
        fs::write(&path, &original).unwrap();
        deleted += 1;
    }
    assert_eq!(deleted, 10);
    // (checkpoint, 3 full level-0 tiles and bundles, the current partial
    // level-0 tile and bundle, the level-1 partial tile.)
    verify_dir(dir.path(), ORIGIN, &signer().verifier(), None).unwrap();
}

#[test]
fn reordered_truncated_and_extended_files_are_named() {
    let (dir, checkpoints) = build();
    let root = dir.path();
    let swap = |a: &str, b: &str| {
        let (bytes_a, bytes_b) = (
            fs::read(root.join(a)).unwrap(),
            fs::read(root.join(b)).unwrap(),
        );
        fs::write(root.join(a), &bytes_b).unwrap();
        fs::write(root.join(b), &bytes_a).unwrap();
    };

    // Two level-0 tiles swapped: both named at their first hash.
    swap("tile/0/000", "tile/0/001");
    let found = damages(root);
    assert!(
        found.names("tile/0/000", Some(0)) && found.names("tile/0/001", Some(0)),
        "{found}"
    );
    swap("tile/0/000", "tile/0/001");

    // Two bundles swapped: both named.
    swap("tile/entries/001", "tile/entries/002");
    let found = damages(root);
    assert!(
        found.names("tile/entries/001", None) && found.names("tile/entries/002", None),
        "{found}"
    );
    swap("tile/entries/001", "tile/entries/002");

    // Two entries of a bundle swapped: the first changed entry is named.
    let bundle = fs::read(root.join("tile/entries/001")).unwrap();
    let first_len = usize::from(u16::from_be_bytes([bundle[0], bundle[1]]));
    let second_len = usize::from(u16::from_be_bytes([
        bundle[2 + first_len],
        bundle[3 + first_len],
    ]));
    let split = 2 + first_len;
    let end = split + 2 + second_len;
    let mut reordered = bundle[split..end].to_vec();
    reordered.extend_from_slice(&bundle[..split]);
    reordered.extend_from_slice(&bundle[end..]);
    fs::write(root.join("tile/entries/001"), &reordered).unwrap();
    let found = damages(root);
    assert!(found.names("tile/entries/001", Some(0)), "{found}");
    assert!(
        matches!(found.list[0].problem, Problem::LeafMismatch { index: 256 }),
        "{found}"
    );
    fs::write(root.join("tile/entries/001"), &bundle).unwrap();

    // A truncated tile: its length.
    let tile = fs::read(root.join("tile/0/002")).unwrap();
    fs::write(root.join("tile/0/002"), &tile[..tile.len() - 1]).unwrap();
    let found = damages(root);
    assert!(found.names("tile/0/002", Some(8191)), "{found}");
    assert!(matches!(
        found.list[0].problem,
        Problem::Length {
            expected: 8192,
            actual: 8191
        }
    ));
    fs::write(root.join("tile/0/002"), &tile).unwrap();

    // A byte appended to a bundle: trailing bytes at the old end.
    let mut longer = bundle.clone();
    longer.push(0);
    fs::write(root.join("tile/entries/001"), &longer).unwrap();
    let found = damages(root);
    assert!(
        found.names("tile/entries/001", Some(bundle.len() as u64)),
        "{found}"
    );
    fs::write(root.join("tile/entries/001"), &bundle).unwrap();

    // A tile moved to another index (renamed over a full one).
    fs::copy(root.join("tile/0/000"), root.join("tile/0/002")).unwrap();
    let found = damages(root);
    assert!(found.names("tile/0/002", Some(0)), "{found}");
    fs::write(root.join("tile/0/002"), &tile).unwrap();

    // The checkpoint replaced by an older one: verifies on its own, but is a
    // rollback for someone who saw the newer one.
    let current = checkpoints.last().unwrap();
    let older = fs::read(root.join("checkpoint")).unwrap();
    let older_note = checkpoints[2].sign(&signer()).to_bytes();
    fs::write(root.join("checkpoint"), &older_note).unwrap();
    match verify_dir(root, ORIGIN, &signer().verifier(), Some(current)) {
        Err(VerifyDirError::Damaged(found)) => {
            assert!(
                matches!(
                    found.list[0].problem,
                    Problem::Rollback {
                        previous: 1000,
                        size: 770
                    }
                ),
                "{found}"
            );
        }
        other => panic!("rollback not noticed: {other:?}"),
    }
    fs::write(root.join("checkpoint"), &older).unwrap();

    // A checkpoint signed by another key for the same origin.
    let forger = NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[32; 32]);
    fs::write(root.join("checkpoint"), current.sign(&forger).to_bytes()).unwrap();
    let found = damages(root);
    assert!(
        found.names("checkpoint", None) && matches!(found.list[0].problem, Problem::Checkpoint(_)),
        "{found}"
    );
    fs::write(root.join("checkpoint"), &older).unwrap();

    // A previously seen checkpoint of another history (same size, other
    // root): inconsistent.
    let other_root = Checkpoint::new(ORIGIN, 600, truce_merkle::leaf_hash(b"fork")).unwrap();
    match verify_dir(root, ORIGIN, &signer().verifier(), Some(&other_root)) {
        Err(VerifyDirError::Damaged(found)) => {
            assert!(
                matches!(
                    found.list[0].problem,
                    Problem::Inconsistent { previous: 600, .. }
                ),
                "{found}"
            );
        }
        other => panic!("fork not noticed: {other:?}"),
    }
    // Every earlier checkpoint is consistent.
    for previous in &checkpoints {
        verify_dir(root, ORIGIN, &signer().verifier(), Some(previous)).unwrap();
    }
}

#[test]
fn leftovers_are_reported_not_damage() {
    let (dir, _) = build();
    let root = dir.path();
    fs::create_dir_all(root.join("tile/0/004.p")).unwrap();
    fs::write(root.join("tile/0/004.p/9"), [0u8; 9 * 32]).unwrap();
    fs::write(root.join("tile/0/003.p/240"), [0u8; 240 * 32]).unwrap();
    fs::write(root.join("tile/0/.000.tmp"), b"half").unwrap();
    fs::write(root.join("README"), b"mirror").unwrap();
    let report = verify_dir(root, ORIGIN, &signer().verifier(), None).unwrap();
    assert_eq!(report.uncommitted, ["tile/0/003.p/240", "tile/0/004.p/9"]);
    assert_eq!(report.leftovers, ["tile/0/.000.tmp"]);
    assert_eq!(report.unexpected, ["README"]);
    // The log ignores them and overwrites or deletes them as it grows.
    let mut log = Log::open(root, signer(), ORIGIN).unwrap();
    let batch: Vec<Vec<u8>> = (1000..1300).map(entry).collect();
    log.append_batch(&batch).unwrap();
    let report = verify_dir(root, ORIGIN, &signer().verifier(), None).unwrap();
    assert_eq!(report.entries, 1300);
    assert!(report.uncommitted.is_empty(), "{:?}", report.uncommitted);
}
