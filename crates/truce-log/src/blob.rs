//! Content-addressed storage beside the log for what the log only commits to: report texts,
//! attachments, coverage geometry, the reasons of reviews and contests.
//!
//! The log holds SHA-256 content hashes; the bodies live here, one file per body, named by
//! its hash: `sha256/<first 2 hex digits>/<remaining 62>`. A body is written to a temporary
//! file, fsynced, renamed into place and its directory fsynced before `put` returns, so a
//! body whose hash was logged is never lost in a crash after the entry was acknowledged (log
//! the entry only after `put` returned). A file under its final name is therefore always
//! whole. Writing the same body twice is a no-op. Reading re-hashes the body: a damaged or
//! substituted file is an error that names it, never data. The layout is static files, so
//! any web server or object store can mirror it.
//!
//! [`BlobStore::put_many`] stores the bodies of a whole batch of entries with the same
//! guarantees, syncing them concurrently: one file sync costs a file-system journal commit,
//! and concurrent syncs share commits, so a batch costs about as much as one body.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::store::{
    FsStoreError, ensure_dir, for_each_concurrently, fs_error, sync_dir, write_synced,
};

/// A content hash: SHA-256 of the body.
pub type BlobHash = [u8; 32];

/// An error of the blob store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// The file system failed.
    #[error(transparent)]
    Io(#[from] FsStoreError),
    /// A stored file does not hash to its name.
    #[error("{path}: the stored body hashes to {actual}, not to its name")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Hex SHA-256 of what is stored.
        actual: String,
    },
    /// A file in the store is not named as a hash.
    #[error("{path}: not a blob of this store (names are 64 hex digits under sha256/)")]
    Stray {
        /// The file.
        path: PathBuf,
    },
}

/// Tells apart the temporary files of concurrent writes of one body.
static TEMP_SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bodies by content hash in a directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<BlobStore, BlobError> {
        let root = dir.into();
        ensure_dir(&root.join("sha256"))?;
        Ok(BlobStore { root })
    }

    /// The file a body with this hash is kept in.
    pub fn path_of(&self, hash: &BlobHash) -> PathBuf {
        let name = hex(hash);
        self.root.join("sha256").join(&name[..2]).join(&name[2..])
    }

    /// Stores `body` durably and returns its hash.
    pub fn put(&self, body: &[u8]) -> Result<BlobHash, BlobError> {
        let hash: BlobHash = Sha256::digest(body).into();
        let path = self.path_of(&hash);
        // Already stored and intact: nothing to do. A damaged copy is replaced.
        if path.is_file() && matches!(self.get(&hash), Ok(Some(_))) {
            return Ok(hash);
        }
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        ensure_dir(&dir)?;
        let temp = temp_path(&dir, &hash);
        write_synced(&temp, body)?;
        fs::rename(&temp, &path).map_err(fs_error("rename", &path))?;
        sync_dir(&dir)?;
        Ok(hash)
    }

    /// Stores every body durably, as [`BlobStore::put`] does each, and returns their hashes
    /// in order. The bodies are written to temporary files, the files are fsynced
    /// concurrently, renamed into place, and their directories fsynced concurrently; a body
    /// already stored intact is not written again, but its directory is synced too (an
    /// earlier call may have failed between its rename and its directory sync). On error
    /// some bodies may be stored, each whole or not at all.
    pub fn put_many<B: AsRef<[u8]> + Sync>(
        &self,
        bodies: &[B],
    ) -> Result<Vec<BlobHash>, BlobError> {
        let hashes: Vec<BlobHash> = bodies
            .iter()
            .map(|body| Sha256::digest(body.as_ref()).into())
            .collect();
        let mut seen = BTreeSet::new();
        let mut dirs = BTreeSet::new();
        // (temporary file, final name, body) of each body to write.
        let mut writes = Vec::new();
        for (hash, body) in hashes.iter().zip(bodies) {
            if !seen.insert(*hash) {
                continue;
            }
            let path = self.path_of(hash);
            let dir = path.parent().unwrap_or(&self.root).to_path_buf();
            if path.is_file() && matches!(self.get(hash), Ok(Some(_))) {
                dirs.insert(dir);
                continue;
            }
            ensure_dir(&dir)?;
            writes.push((temp_path(&dir, hash), path, body.as_ref()));
            dirs.insert(dir);
        }
        for_each_concurrently(&writes, |(temp, _, body)| write_synced(temp, body))?;
        for (temp, path, _) in &writes {
            fs::rename(temp, path).map_err(fs_error("rename", path))?;
        }
        let dirs: Vec<PathBuf> = dirs.into_iter().collect();
        for_each_concurrently(&dirs, |dir| sync_dir(dir))?;
        Ok(hashes)
    }

    /// The body with this hash, checked against it; `None` when it is not stored.
    pub fn get(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
        let path = self.path_of(hash);
        let body = match fs::read(&path) {
            Ok(body) => body,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(fs_error("read", &path)(err).into()),
        };
        let actual: BlobHash = Sha256::digest(&body).into();
        if &actual != hash {
            return Err(BlobError::Damaged {
                path,
                actual: hex(&actual),
            });
        }
        Ok(Some(body))
    }

    /// Checks every stored body against its name; returns how many bodies were checked.
    pub fn verify(&self) -> Result<u64, BlobError> {
        let mut checked = 0;
        let top = self.root.join("sha256");
        for prefix in read_dir_sorted(&top)? {
            let prefix_name = file_name(&prefix);
            if !prefix.is_dir() || prefix_name.len() != 2 || !is_hex(&prefix_name) {
                return Err(BlobError::Stray { path: prefix });
            }
            for file in read_dir_sorted(&prefix)? {
                let name = file_name(&file);
                if name.starts_with('.') && name.ends_with(".tmp") {
                    continue; // an interrupted put; never referenced
                }
                let full = format!("{prefix_name}{name}");
                let Some(hash) = parse_hash(&full) else {
                    return Err(BlobError::Stray { path: file });
                };
                if self.get(&hash)?.is_none() {
                    return Err(BlobError::Stray { path: file });
                }
                checked += 1;
            }
        }
        Ok(checked)
    }
}

/// A temporary name in `dir` for a body being written, unique within the process.
fn temp_path(dir: &Path, hash: &BlobHash) -> PathBuf {
    let sequence = TEMP_SEQUENCE.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(
        ".{}.{}-{sequence}.tmp",
        hex(&hash[1..]),
        std::process::id()
    ))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn parse_hash(text: &str) -> Option<BlobHash> {
    if text.len() != 64 || !is_hex(text) {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(hash)
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, BlobError> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(fs_error("read directory", dir))? {
        let entry = entry.map_err(fs_error("read directory", dir))?;
        paths.push(entry.path());
    }
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_is_idempotent_and_durable_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let hash = store.put(b"shelling reported at 03:10").unwrap();
        assert_eq!(
            hex(&hash),
            hex(&Sha256::digest(b"shelling reported at 03:10"))
        );
        assert_eq!(store.put(b"shelling reported at 03:10").unwrap(), hash);
        assert_eq!(
            store.get(&hash).unwrap().unwrap(),
            b"shelling reported at 03:10"
        );
        let path = store.path_of(&hash);
        assert!(path.starts_with(dir.path().join("sha256")));
        assert_eq!(file_name(&path).len(), 62);
        assert_eq!(store.get(&[0u8; 32]).unwrap(), None);
        store.put(b"").unwrap();
        assert_eq!(store.verify().unwrap(), 2);
    }

    #[test]
    fn put_many_stores_each_body_once_and_repairs_damage() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let bodies: Vec<Vec<u8>> = (0..20)
            .map(|i| format!("report text {}", i % 15).into_bytes())
            .collect();
        let hashes = store.put_many(&bodies).unwrap();
        assert_eq!(hashes.len(), 20);
        for (hash, body) in hashes.iter().zip(&bodies) {
            assert_eq!(hash, &<[u8; 32]>::from(Sha256::digest(body)));
            assert_eq!(&store.get(hash).unwrap().unwrap(), body);
        }
        assert_eq!(store.verify().unwrap(), 15);
        // A damaged copy is written again; an intact one is kept.
        fs::write(store.path_of(&hashes[3]), b"truncated").unwrap();
        store.put_many(&bodies[..5]).unwrap();
        assert_eq!(store.get(&hashes[3]).unwrap().unwrap(), bodies[3]);
        assert_eq!(store.verify().unwrap(), 15);
        // No temporary file is left behind.
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("sha256"))
            .unwrap()
            .flat_map(|prefix| fs::read_dir(prefix.unwrap().path()).unwrap())
            .map(|file| file_name(&file.unwrap().path()))
            .filter(|name| name.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert!(store.put_many::<Vec<u8>>(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_damaged_or_stray_file_is_reported_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let hash = store.put(b"evidence photo bytes").unwrap();
        let path = store.path_of(&hash);
        fs::write(&path, b"evidence photo bytez").unwrap();
        let err = store.get(&hash).unwrap_err();
        assert!(
            matches!(&err, BlobError::Damaged { path: p, .. } if *p == path),
            "{err}"
        );
        assert!(matches!(store.verify(), Err(BlobError::Damaged { .. })));
        // Rewriting the right body repairs it.
        store.put(b"evidence photo bytes").unwrap();
        assert_eq!(store.verify().unwrap(), 1);
        fs::write(path.parent().unwrap().join("not-a-hash"), b"x").unwrap();
        assert!(matches!(store.verify(), Err(BlobError::Stray { .. })));
    }
}
