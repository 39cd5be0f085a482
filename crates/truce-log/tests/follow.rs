//! A log opened to follow another writer (`Log::follow`): it reads what the
//! writer published, catches up with `Log::refresh`, keeps reading at its
//! older size after the writer has completed (and deleted) partial tiles,
//! refuses to append, and refuses a published tree that does not extend the
//! one it had.

#![allow(clippy::unwrap_used)]

use truce_log::{FsTileStore, Log, LogError};
use truce_merkle::{Hash, leaf_hash, root_from_leaf_hashes};
use truce_note::{KeyName, NoteSigner};

const ORIGIN: &str = "example.org/follow";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[7; 32])
}

fn entry(index: u64, salt: &str) -> Vec<u8> {
    format!("entry {index} {salt} {}", "x".repeat((index % 40) as usize)).into_bytes()
}

fn root_of(entries: &[Vec<u8>]) -> Hash {
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    root_from_leaf_hashes(&leaves)
}

fn follower(dir: &std::path::Path) -> Result<Log, LogError> {
    Log::follow(FsTileStore::open_existing(dir), signer(), ORIGIN)
}

#[test]
fn nothing_to_follow_before_the_writer_publishes() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        follower(dir.path()),
        Err(LogError::NothingPublished)
    ));
}

#[test]
fn follows_the_writer_across_completed_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Log::open(dir.path(), signer(), ORIGIN).unwrap();
    let mut written: Vec<Vec<u8>> = Vec::new();
    let append = |writer: &mut Log, n: u64, written: &mut Vec<Vec<u8>>| {
        let first = written.len() as u64;
        let batch: Vec<Vec<u8>> = (first..first + n).map(|i| entry(i, "a")).collect();
        writer.append_batch(&batch).unwrap();
        written.extend(batch);
    };
    append(&mut writer, 100, &mut written);
    let mut follower = follower(dir.path()).unwrap();
    assert!(follower.is_following());
    assert_eq!(follower.size(), 100);
    assert_eq!(follower.root(), root_of(&written));

    // The writer completes the first tile and bundle (deleting their partial
    // files) and goes on; the follower, still at 100, reads its entries and
    // proves them at its own size from the full tiles.
    append(&mut writer, 400, &mut written);
    assert!(!dir.path().join("tile/0/000.p/100").exists());
    assert!(!dir.path().join("tile/entries/000.p/100").exists());
    assert_eq!(follower.size(), 100);
    assert_eq!(follower.entries(0, 100).unwrap(), written[..100].to_vec());
    assert_eq!(follower.entry(99).unwrap(), written[99]);
    let proof = follower.inclusion_proof(42, 100).unwrap();
    assert_eq!(proof, writer.inclusion_proof(42, 100).unwrap());
    assert_eq!(follower.root_at(100).unwrap(), root_of(&written[..100]));

    assert!(follower.refresh().unwrap());
    assert_eq!(follower.size(), 500);
    assert_eq!(follower.root(), writer.root());
    assert_eq!(
        follower.checkpoint_note().to_bytes(),
        writer.checkpoint_note().to_bytes()
    );
    assert_eq!(follower.entries(0, 500).unwrap(), written);
    assert_eq!(
        follower.consistency_proof(100, 500).unwrap(),
        writer.consistency_proof(100, 500).unwrap()
    );
    // Nothing new: no change.
    assert!(!follower.refresh().unwrap());
    assert_eq!(follower.size(), 500);
}

#[test]
fn a_follower_never_appends_or_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Log::open(dir.path(), signer(), ORIGIN).unwrap();
    writer.append_batch(&[b"one".to_vec()]).unwrap();
    let before = snapshot(dir.path());
    let mut follower = follower(dir.path()).unwrap();
    assert!(matches!(
        follower.append_batch(&[b"two".to_vec()]),
        Err(LogError::Following)
    ));
    follower.refresh().unwrap();
    assert_eq!(
        snapshot(dir.path()),
        before,
        "the follower changed the store"
    );
    assert_eq!(follower.size(), 1);
}

#[test]
fn refuses_a_tree_that_does_not_extend_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Log::open(dir.path(), signer(), ORIGIN).unwrap();
    let first: Vec<Vec<u8>> = (0..10).map(|i| entry(i, "a")).collect();
    writer.append_batch(&first).unwrap();
    let mut follower = follower(dir.path()).unwrap();
    drop(writer);

    // The same key signs a different history of a larger size in its place.
    let other = tempfile::tempdir().unwrap();
    let mut forger = Log::open(other.path(), signer(), ORIGIN).unwrap();
    let forged: Vec<Vec<u8>> = (0..20).map(|i| entry(i, "b")).collect();
    forger.append_batch(&forged).unwrap();
    drop(forger);
    std::fs::remove_dir_all(dir.path()).unwrap();
    copy_dir(other.path(), dir.path());

    let refused = follower.refresh();
    assert!(
        matches!(refused, Err(LogError::SplitView { tree_size: 10, .. })),
        "{refused:?}"
    );
    assert_eq!(follower.size(), 10);
    assert_eq!(follower.root(), root_of(&first));
}

#[test]
fn refuses_a_checkpoint_of_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Log::open(dir.path(), signer(), ORIGIN).unwrap();
    writer.append_batch(&[b"one".to_vec()]).unwrap();
    let stranger = NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[8; 32]);
    let refused = Log::follow(FsTileStore::open_existing(dir.path()), stranger, ORIGIN);
    assert!(
        matches!(refused, Err(LogError::ForeignCheckpoint { .. })),
        "{refused:?}"
    );
}

fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for item in std::fs::read_dir(&next).unwrap() {
            let path = item.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                files.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let path = item.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn a_refresh_checked_from_an_older_size_is_not_applied() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Log::open(dir.path(), signer(), ORIGIN).unwrap();
    let batch = |first: u64, n: u64| -> Vec<Vec<u8>> {
        (first..first + n).map(|i| entry(i, "a")).collect()
    };
    writer.append_batch(&batch(0, 10)).unwrap();
    let mut follower = follower(dir.path()).unwrap();
    writer.append_batch(&batch(10, 10)).unwrap();
    // Checked through `&self` (as under a read lock), applied later.
    let checked = follower.check_refresh().unwrap().unwrap();
    assert_eq!(follower.size(), 10);
    writer.append_batch(&batch(20, 10)).unwrap();
    assert!(follower.refresh().unwrap());
    assert_eq!(follower.size(), 30);
    assert!(
        !follower.apply_refresh(checked),
        "a stale refresh moved the log back"
    );
    assert_eq!(follower.size(), 30);
    assert_eq!(follower.root(), writer.root());
    // A log that appends itself has nothing to refresh.
    assert!(writer.check_refresh().unwrap().is_none());
}
