//! Content-addressed storage beside the log for what the log only commits to: report texts,
//! attachments, coverage geometry, the reasons of reviews and contests.
//!
//! The log holds SHA-256 content hashes; the bodies live here, appended to **pack files**:
//!
//! ```text
//! packs/00000001.pack   "truce blob pack\n", then records: length (u32 LE), SHA-256 (32 bytes), body
//! packs/00000002.pack   a new pack is started when the current one would pass PACK_LIMIT bytes
//! packs/LOCK            held (flock) by the one handle that may append
//! sha256/<2>/<62>       one file per body, the layout of earlier versions: still read, never written
//! ```
//!
//! [`BlobStore::put_many`] appends a whole batch of bodies with one write and one fsync of the
//! pack, so a batch costs one file-system commit and creates no file. (One file per body
//! cost a file creation per report text; on a file system without a journal, creating files
//! among many recently deleted ones made the kernel scan its inode tables for each, which took
//! about 40 % of the service's CPU under load.) Store the bodies first and log the entries
//! that commit to them second: a body whose hash was logged is then never lost in a crash.
//!
//! Reading re-hashes the body: a damaged or substituted record is an error that names the
//! pack and the offset, never data. A crash during an append can leave an incomplete or
//! unsynced record at the end of the last pack; since it was never acknowledged, opening the
//! store for writing cuts it off. A read-only handle (another process reading a live data
//! directory) never changes a file: it ignores an incomplete tail, and looks for records
//! appended after it opened when asked for a body it does not know.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use sha2::{Digest, Sha256};

use crate::store::{FsStoreError, ensure_dir, fs_error, sync_dir};

/// A content hash: SHA-256 of the body.
pub type BlobHash = [u8; 32];

/// The first bytes of every pack file.
pub const PACK_MAGIC: &[u8; 16] = b"truce blob pack\n";

/// A pack is closed, and the next one started, before an append would take it past this
/// many bytes (a single larger body gets a pack of its own).
pub const PACK_LIMIT: u64 = 64 << 20;

/// The bytes before a record's body: its length and its hash.
const RECORD_HEADER: u64 = 4 + 32;

/// An error of the blob store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// The file system failed.
    #[error(transparent)]
    Io(#[from] FsStoreError),
    /// A stored body does not hash to its name (a loose file) or to the hash its record
    /// carries (a pack).
    #[error("{path}{}: the stored body hashes to {actual}, not to the hash it is stored under", offset.map(|o| format!(" at byte {o}")).unwrap_or_default())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Where the record starts, for a body in a pack.
        offset: Option<u64>,
        /// Hex SHA-256 of what is stored.
        actual: String,
    },
    /// A pack whose structure is broken before its end (not a torn tail: records follow).
    #[error("{path} at byte {offset}: {problem}")]
    BadPack {
        /// The pack.
        path: PathBuf,
        /// Where the problem starts.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
    /// A file in the store is not named as a hash or a pack.
    #[error(
        "{path}: not a file of this store (bodies are packs/<8 digits>.pack or sha256/<64 hex digits>)"
    )]
    Stray {
        /// The file.
        path: PathBuf,
    },
    /// Another handle (in this process or another) holds the right to append.
    #[error(
        "{path}: the blob store is already open for writing (is another `truce serve` running on this directory?)"
    )]
    InUse {
        /// The lock file.
        path: PathBuf,
    },
    /// A write through a handle opened read-only.
    #[error("{path}: the blob store was opened read-only")]
    ReadOnly {
        /// The store's directory.
        path: PathBuf,
    },
    /// A [`BlobBackend`] failed.
    #[error("blob backend {backend}: {source}")]
    Backend {
        /// Which backend ([`BlobBackend::describe`]).
        backend: String,
        /// Its error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A [`BlobBackend`] answered with a body that does not hash to the hash asked for.
    #[error("blob backend {backend}: the body stored under {expected} hashes to {actual}")]
    BackendDamaged {
        /// Which backend.
        backend: String,
        /// The hash asked for, hex.
        expected: String,
        /// The hash of the body it gave, hex.
        actual: String,
    },
}

/// What [`BlobBackend::for_each`] hands every stored body to.
pub type BlobCheck<'a> = dyn FnMut(&BlobHash, &[u8]) -> Result<(), BlobError> + 'a;

/// Where the bodies live when they are not in pack files of a directory: a database, say.
/// A [`BlobStore`] made with [`BlobStore::with_backend`] hands every call to it and checks
/// every body read back against its hash, so a backend stores and returns bytes and nothing
/// more. Its calls may block (they are made where the store's are: on blocking threads, or
/// briefly from asynchronous code, as a read of a pack file would be).
pub trait BlobBackend: std::fmt::Debug + Send + Sync {
    /// What the backend is, for messages (no secrets).
    fn describe(&self) -> String;
    /// Stores each (hash, body) pair durably: when this returns `Ok`, every body is kept.
    /// A body already stored under its hash may be left as it is.
    fn put_many(&self, bodies: &[(BlobHash, &[u8])]) -> Result<(), BlobError>;
    /// The body stored under `hash`, or `None`.
    fn get(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError>;
    /// Every stored (hash, body) pair is handed to `check`; returns how many there were.
    fn for_each(&self, check: &mut BlobCheck<'_>) -> Result<u64, BlobError>;
}

/// Where a body is: which pack, where its record starts, how long the body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Location {
    pack: u32,
    offset: u64,
    len: u32,
}

/// The bodies known to a handle: by the first 8 bytes of their hash, with the rare bodies
/// whose first 8 bytes collide with another's kept by their whole hash.
#[derive(Debug, Default)]
struct Index {
    by_prefix: HashMap<u64, Location>,
    overflow: HashMap<BlobHash, Location>,
    /// The open pack files, by number (pack `n` is `packs[n - 1]`).
    packs: Vec<Arc<File>>,
    /// How far each pack has been read into the index (read-only handles read on).
    scanned: Vec<u64>,
}

impl Index {
    fn prefix(hash: &BlobHash) -> u64 {
        let mut head = [0u8; 8];
        head.copy_from_slice(&hash[..8]);
        u64::from_le_bytes(head)
    }

    /// The hash the record at `location` carries, read from its pack.
    fn claimed(&self, location: Location) -> Option<BlobHash> {
        let mut stored = [0u8; 32];
        self.packs
            .get(location.pack as usize - 1)?
            .read_exact_at(&mut stored, location.offset + 4)
            .ok()?;
        Some(stored)
    }

    /// Records `hash` at `location`; a later copy of a body replaces an earlier one (a body
    /// stored again after damage was found is found again).
    fn insert(&mut self, hash: &BlobHash, location: Location) {
        let prefix = Self::prefix(hash);
        let collides = self
            .by_prefix
            .get(&prefix)
            .is_some_and(|existing| self.claimed(*existing).as_ref() != Some(hash));
        if collides {
            self.overflow.insert(*hash, location);
        } else {
            self.by_prefix.insert(prefix, location);
        }
    }

    fn candidates(&self, hash: &BlobHash) -> impl Iterator<Item = Location> {
        let first = self.by_prefix.get(&Self::prefix(hash)).copied();
        let second = self.overflow.get(hash).copied();
        second.into_iter().chain(first)
    }
}

/// The pack being appended to, held by the one writable handle.
#[derive(Debug)]
struct Appender {
    /// The most bytes a pack may reach ([`PACK_LIMIT`], smaller in tests).
    limit: u64,
    number: u32,
    file: Arc<File>,
    len: u64,
    /// Held for the handle's life: `flock` on `packs/LOCK`.
    _lock: File,
}

#[derive(Debug)]
struct Shared {
    root: PathBuf,
    index: RwLock<Index>,
    /// `None` for a read-only handle.
    appender: Option<Mutex<Appender>>,
    /// Serialises read-only handles' rescans.
    rescan: Mutex<()>,
}

/// Bodies by content hash in a directory (or in a [`BlobBackend`]). Cloning gives another
/// handle on the same store.
#[derive(Debug, Clone)]
pub struct BlobStore {
    shared: Arc<Shared>,
    /// Where the bodies are instead of `shared`'s directory, if anywhere.
    backend: Option<Arc<dyn BlobBackend>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pack_name(number: u32) -> String {
    format!("{number:08}.pack")
}

fn hash_of(body: &[u8]) -> BlobHash {
    Sha256::digest(body).into()
}

impl BlobStore {
    /// Opens (creating if needed) the store in `dir` for reading and appending. Takes the
    /// store's lock (one appending handle at a time, across processes) and cuts off an
    /// incomplete or damaged tail of the last pack left by a crash during an append.
    pub fn open(dir: impl Into<PathBuf>) -> Result<BlobStore, BlobError> {
        Self::open_with_limit(dir.into(), PACK_LIMIT)
    }

    fn open_with_limit(root: PathBuf, limit: u64) -> Result<BlobStore, BlobError> {
        let packs_dir = root.join("packs");
        ensure_dir(&packs_dir)?;
        let lock_path = packs_dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(fs_error("open", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(BlobError::InUse { path: lock_path }),
            Err(fs::TryLockError::Error(error)) => {
                return Err(fs_error("lock", &lock_path)(error).into());
            }
        }
        let numbers = pack_numbers(&packs_dir)?;
        let mut index = Index::default();
        let last = numbers.last().copied();
        for (position, &number) in numbers.iter().enumerate() {
            if number as usize != position + 1 {
                return Err(missing_pack(&packs_dir, position as u32 + 1));
            }
            let path = packs_dir.join(pack_name(number));
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(fs_error("open", &path))?;
            let end = if Some(number) == last {
                cut_torn_tail(&file, &path)?
            } else {
                file.metadata().map_err(fs_error("stat", &path))?.len()
            };
            let file = Arc::new(file);
            index.packs.push(file.clone());
            index.scanned.push(0);
            scan_into(&mut index, number, &file, &path, end, Some(number) != last)?;
        }
        let appender = match last {
            Some(number) => {
                let file = index.packs[number as usize - 1].clone();
                let len = index.scanned[number as usize - 1];
                Appender {
                    limit,
                    number,
                    file,
                    len,
                    _lock: lock,
                }
            }
            None => {
                let file = create_pack(&packs_dir, 1)?;
                index.packs.push(file.clone());
                index.scanned.push(PACK_MAGIC.len() as u64);
                Appender {
                    limit,
                    number: 1,
                    file,
                    len: PACK_MAGIC.len() as u64,
                    _lock: lock,
                }
            }
        };
        Ok(BlobStore {
            shared: Arc::new(Shared {
                root,
                index: RwLock::new(index),
                appender: Some(Mutex::new(appender)),
                rescan: Mutex::new(()),
            }),
            backend: None,
        })
    }

    /// A store whose bodies live in `backend` rather than in a directory. Bodies read back
    /// are checked against their hash as with pack files.
    pub fn with_backend(backend: Arc<dyn BlobBackend>) -> BlobStore {
        BlobStore {
            shared: Arc::new(Shared {
                root: PathBuf::new(),
                index: RwLock::new(Index::default()),
                appender: None,
                rescan: Mutex::new(()),
            }),
            backend: Some(backend),
        }
    }

    /// The body `backend` holds under `hash`, checked against it.
    fn get_from(backend: &dyn BlobBackend, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
        let Some(body) = backend.get(hash)? else {
            return Ok(None);
        };
        let actual = hash_of(&body);
        if &actual != hash {
            return Err(BlobError::BackendDamaged {
                backend: backend.describe(),
                expected: hex(hash),
                actual: hex(&actual),
            });
        }
        Ok(Some(body))
    }

    /// Opens the store in `dir` for reading only, changing nothing (the directory may be a
    /// live service's): an incomplete tail is ignored, and bodies appended later are looked
    /// for when asked for. A missing directory is an empty store.
    pub fn open_read_only(dir: impl Into<PathBuf>) -> Result<BlobStore, BlobError> {
        let store = BlobStore {
            shared: Arc::new(Shared {
                root: dir.into(),
                index: RwLock::new(Index::default()),
                appender: None,
                rescan: Mutex::new(()),
            }),
            backend: None,
        };
        store.read_on()?;
        Ok(store)
    }

    /// Stores `body` durably and returns its hash.
    pub fn put(&self, body: &[u8]) -> Result<BlobHash, BlobError> {
        let mut hashes = self.put_many(&[body])?;
        Ok(hashes.pop().unwrap_or_else(|| hash_of(body)))
    }

    /// Stores every body durably and returns their hashes in order. The bodies not already
    /// stored are appended to the pack in one write and made durable with one fsync (a new
    /// pack's directory entry is synced when the pack is created). A body already stored is
    /// not written again. On error nothing of this call is acknowledged; what was written of
    /// it is cut off on the next open for writing.
    pub fn put_many<B: AsRef<[u8]> + Sync>(
        &self,
        bodies: &[B],
    ) -> Result<Vec<BlobHash>, BlobError> {
        let hashes: Vec<BlobHash> = bodies.iter().map(|body| hash_of(body.as_ref())).collect();
        if let Some(backend) = &self.backend {
            let pairs: Vec<(BlobHash, &[u8])> = hashes
                .iter()
                .copied()
                .zip(bodies.iter().map(AsRef::as_ref))
                .collect();
            if !pairs.is_empty() {
                backend.put_many(&pairs)?;
            }
            return Ok(hashes);
        }
        let Some(appender) = &self.shared.appender else {
            return Err(BlobError::ReadOnly {
                path: self.shared.root.clone(),
            });
        };
        let mut appender = lock(appender);
        // Which bodies are new (known intact bodies are not written again; a body whose
        // stored copy is damaged or unreadable is written again).
        let mut fresh: Vec<(usize, &[u8])> = Vec::new();
        {
            let mut seen = std::collections::HashSet::new();
            for (position, (hash, body)) in hashes.iter().zip(bodies).enumerate() {
                if !seen.insert(*hash) {
                    continue;
                }
                if matches!(self.read_indexed(hash), Ok(Some(_))) {
                    continue;
                }
                fresh.push((position, body.as_ref()));
            }
        }
        if fresh.is_empty() {
            return Ok(hashes);
        }
        let packs_dir = self.shared.root.join("packs");
        let mut placed = Vec::with_capacity(fresh.len());
        let mut buffer = Vec::new();
        let mut start = appender.len;
        for (position, body) in fresh {
            let record = RECORD_HEADER + body.len() as u64;
            let pending = buffer.len() as u64;
            if start + pending + record > appender.limit
                && start + pending > PACK_MAGIC.len() as u64
            {
                // Close the current pack with what is pending, then start the next.
                write_and_sync(&appender.file, &packs_dir, appender.number, start, &buffer)?;
                appender.len = start + pending;
                buffer.clear();
                let number = appender.number + 1;
                let file = create_pack(&packs_dir, number)?;
                {
                    let mut index = write_index(&self.shared.index);
                    index.packs.push(file.clone());
                    index.scanned.push(PACK_MAGIC.len() as u64);
                }
                appender.number = number;
                appender.file = file;
                appender.len = PACK_MAGIC.len() as u64;
                start = appender.len;
            }
            let len = u32::try_from(body.len()).map_err(|_| BlobError::BadPack {
                path: packs_dir.join(pack_name(appender.number)),
                offset: start + buffer.len() as u64,
                problem: format!(
                    "a body of {} bytes is over the 4 GiB a record can hold",
                    body.len()
                ),
            })?;
            placed.push((
                hashes[position],
                Location {
                    pack: appender.number,
                    offset: start + buffer.len() as u64,
                    len,
                },
            ));
            buffer.extend_from_slice(&len.to_le_bytes());
            buffer.extend_from_slice(&hashes[position]);
            buffer.extend_from_slice(body);
        }
        write_and_sync(&appender.file, &packs_dir, appender.number, start, &buffer)?;
        appender.len = start + buffer.len() as u64;
        let mut index = write_index(&self.shared.index);
        index.scanned[appender.number as usize - 1] = appender.len;
        for (hash, location) in placed {
            index.insert(&hash, location);
        }
        Ok(hashes)
    }

    /// The body with this hash, checked against it; `None` when it is not stored.
    pub fn get(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
        if let Some(backend) = &self.backend {
            return Self::get_from(backend.as_ref(), hash);
        }
        if let Some(body) = self.read_indexed(hash)? {
            return Ok(Some(body));
        }
        if self.shared.appender.is_none() {
            // Appended since this handle last looked?
            self.read_on()?;
            if let Some(body) = self.read_indexed(hash)? {
                return Ok(Some(body));
            }
        }
        self.read_loose(hash)
    }

    /// Checks every stored body (every record of every pack, every loose file) against its
    /// hash; returns how many bodies were checked.
    pub fn verify(&self) -> Result<u64, BlobError> {
        if let Some(backend) = &self.backend {
            let name = backend.describe();
            return backend.for_each(&mut |hash, body| {
                let actual = hash_of(body);
                if &actual == hash {
                    Ok(())
                } else {
                    Err(BlobError::BackendDamaged {
                        backend: name.clone(),
                        expected: hex(hash),
                        actual: hex(&actual),
                    })
                }
            });
        }
        let mut checked = 0;
        let packs_dir = self.shared.root.join("packs");
        if packs_dir.is_dir() {
            for entry in read_dir_sorted(&packs_dir)? {
                let name = file_name(&entry);
                if name == "LOCK" {
                    continue;
                }
                if parse_pack_name(&name).is_none() {
                    return Err(BlobError::Stray { path: entry });
                }
                let mut bytes = Vec::new();
                File::open(&entry)
                    .and_then(|mut file| file.read_to_end(&mut bytes))
                    .map_err(fs_error("read", &entry))?;
                let records = parse_records(&bytes, &entry)?;
                if let Some(torn) = records.torn_at {
                    // Only a writable open may cut it; until then it is an unacknowledged
                    // append, so a live store may show one.
                    tracing::debug!(pack = %entry.display(), offset = torn, "incomplete record at the end of a pack");
                }
                for record in records.records {
                    let body = &bytes[record.body.clone()];
                    let actual = hash_of(body);
                    if actual != record.hash {
                        return Err(BlobError::Damaged {
                            path: entry,
                            offset: Some(record.offset),
                            actual: hex(&actual),
                        });
                    }
                    checked += 1;
                }
            }
        }
        let top = self.shared.root.join("sha256");
        if top.is_dir() {
            for prefix in read_dir_sorted(&top)? {
                let prefix_name = file_name(&prefix);
                if !prefix.is_dir() || prefix_name.len() != 2 || !is_hex(&prefix_name) {
                    return Err(BlobError::Stray { path: prefix });
                }
                for file in read_dir_sorted(&prefix)? {
                    let name = file_name(&file);
                    if name.starts_with('.') && name.ends_with(".tmp") {
                        continue; // an interrupted put of an earlier version; never referenced
                    }
                    let full = format!("{prefix_name}{name}");
                    let Some(hash) = parse_hash(&full) else {
                        return Err(BlobError::Stray { path: file });
                    };
                    if self.read_loose(&hash)?.is_none() {
                        return Err(BlobError::Stray { path: file });
                    }
                    checked += 1;
                }
            }
        }
        Ok(checked)
    }

    /// The body from the packs this handle has indexed.
    fn read_indexed(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
        let (candidates, files): (Vec<Location>, Vec<Arc<File>>) = {
            let index = read_index(&self.shared.index);
            let candidates: Vec<Location> = index.candidates(hash).collect();
            let files = candidates
                .iter()
                .filter_map(|location| index.packs.get(location.pack as usize - 1).cloned())
                .collect();
            (candidates, files)
        };
        for (location, file) in candidates.into_iter().zip(files) {
            let path = self.pack_path(location.pack);
            let mut record = vec![0u8; RECORD_HEADER as usize + location.len as usize];
            file.read_exact_at(&mut record, location.offset)
                .map_err(fs_error("read", &path))?;
            if record[4..36] != hash[..] {
                continue; // another body sharing the first 8 bytes of its hash
            }
            let body = record.split_off(RECORD_HEADER as usize);
            let actual = hash_of(&body);
            if &actual != hash {
                return Err(BlobError::Damaged {
                    path,
                    offset: Some(location.offset),
                    actual: hex(&actual),
                });
            }
            return Ok(Some(body));
        }
        Ok(None)
    }

    /// The body from the loose-file layout of earlier versions.
    fn read_loose(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
        let name = hex(hash);
        let path = self
            .shared
            .root
            .join("sha256")
            .join(&name[..2])
            .join(&name[2..]);
        let body = match fs::read(&path) {
            Ok(body) => body,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(fs_error("read", &path)(err).into()),
        };
        let actual = hash_of(&body);
        if &actual != hash {
            return Err(BlobError::Damaged {
                path,
                offset: None,
                actual: hex(&actual),
            });
        }
        Ok(Some(body))
    }

    fn pack_path(&self, number: u32) -> PathBuf {
        self.shared.root.join("packs").join(pack_name(number))
    }

    /// Reads into the index what was appended since this (read-only) handle last looked:
    /// complete records only, new packs included.
    fn read_on(&self) -> Result<(), BlobError> {
        let _one_at_a_time = lock(&self.shared.rescan);
        let packs_dir = self.shared.root.join("packs");
        if !packs_dir.is_dir() {
            return Ok(());
        }
        let numbers = pack_numbers(&packs_dir)?;
        let mut index = write_index(&self.shared.index);
        for number in numbers {
            let path = packs_dir.join(pack_name(number));
            let slot = number as usize - 1;
            if slot > index.packs.len() {
                return Err(missing_pack(&packs_dir, index.packs.len() as u32 + 1));
            }
            if slot == index.packs.len() {
                let file = File::open(&path).map_err(fs_error("open", &path))?;
                index.packs.push(Arc::new(file));
                index.scanned.push(0);
            }
            let file = index.packs[slot].clone();
            let end = file.metadata().map_err(fs_error("stat", &path))?.len();
            if end > index.scanned[slot] {
                scan_into(&mut index, number, &file, &path, end, false)?;
            }
        }
        Ok(())
    }
}

fn missing_pack(packs_dir: &Path, number: u32) -> BlobError {
    BlobError::BadPack {
        path: packs_dir.join(pack_name(number)),
        offset: 0,
        problem: "this pack is missing, but later ones exist".into(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read_index(index: &RwLock<Index>) -> std::sync::RwLockReadGuard<'_, Index> {
    index.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_index(index: &RwLock<Index>) -> std::sync::RwLockWriteGuard<'_, Index> {
    index.write().unwrap_or_else(PoisonError::into_inner)
}

/// Appends `bytes` at `at` and makes them durable.
fn write_and_sync(
    file: &File,
    packs_dir: &Path,
    number: u32,
    at: u64,
    bytes: &[u8],
) -> Result<(), BlobError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let path = packs_dir.join(pack_name(number));
    let written = file
        .write_all_at(bytes, at)
        .map_err(fs_error("write", &path))
        .and_then(|()| file.sync_data().map_err(fs_error("fsync", &path)));
    if let Err(error) = written {
        // Best effort: drop what was written of this append (the next append writes over
        // it anyway, and the next open for writing cuts off any leftover).
        let _ = file.set_len(at);
        return Err(error.into());
    }
    Ok(())
}

/// Creates pack `number` with its magic bytes, durably (the file and its directory entry).
fn create_pack(packs_dir: &Path, number: u32) -> Result<Arc<File>, BlobError> {
    let path = packs_dir.join(pack_name(number));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(fs_error("create", &path))?;
    file.write_all(PACK_MAGIC)
        .map_err(fs_error("write", &path))?;
    file.sync_all().map_err(fs_error("fsync", &path))?;
    sync_dir(packs_dir)?;
    Ok(Arc::new(file))
}

/// The numbers of the packs in `packs_dir`, ascending; other files (the lock) are left alone.
fn pack_numbers(packs_dir: &Path) -> Result<Vec<u32>, BlobError> {
    let mut numbers = Vec::new();
    for entry in fs::read_dir(packs_dir).map_err(fs_error("read directory", packs_dir))? {
        let entry = entry.map_err(fs_error("read directory", packs_dir))?;
        if let Some(number) = parse_pack_name(&entry.file_name().to_string_lossy()) {
            numbers.push(number);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

fn parse_pack_name(name: &str) -> Option<u32> {
    let digits = name.strip_suffix(".pack")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&number| number > 0)
}

/// A record found in a pack's bytes.
struct RecordAt {
    offset: u64,
    hash: BlobHash,
    body: std::ops::Range<usize>,
}

/// The complete records of a pack's bytes, and where an incomplete last record starts.
struct Records {
    records: Vec<RecordAt>,
    torn_at: Option<u64>,
}

fn parse_records(bytes: &[u8], path: &Path) -> Result<Records, BlobError> {
    if bytes.len() < PACK_MAGIC.len() {
        if PACK_MAGIC.starts_with(bytes) {
            return Ok(Records {
                records: Vec::new(),
                torn_at: Some(0),
            });
        }
        return Err(BlobError::BadPack {
            path: path.to_owned(),
            offset: 0,
            problem: "not a truce blob pack (its first bytes are wrong)".into(),
        });
    }
    if &bytes[..PACK_MAGIC.len()] != PACK_MAGIC {
        return Err(BlobError::BadPack {
            path: path.to_owned(),
            offset: 0,
            problem: "not a truce blob pack (its first bytes are wrong)".into(),
        });
    }
    let mut records = Vec::new();
    let mut at = PACK_MAGIC.len();
    while at < bytes.len() {
        let header_end = at + RECORD_HEADER as usize;
        if header_end > bytes.len() {
            return Ok(Records {
                records,
                torn_at: Some(at as u64),
            });
        }
        let mut len = [0u8; 4];
        len.copy_from_slice(&bytes[at..at + 4]);
        let body_end = header_end + u32::from_le_bytes(len) as usize;
        if body_end > bytes.len() {
            return Ok(Records {
                records,
                torn_at: Some(at as u64),
            });
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&bytes[at + 4..header_end]);
        records.push(RecordAt {
            offset: at as u64,
            hash,
            body: header_end..body_end,
        });
        at = body_end;
    }
    Ok(Records {
        records,
        torn_at: None,
    })
}

/// Cuts off what a crash during an append may have left at the end of the last pack: an
/// incomplete record, or complete records whose bodies do not match their hashes after the
/// last record that does (an append that was not synced when the machine stopped). Returns
/// the pack's length afterwards.
fn cut_torn_tail(file: &File, path: &Path) -> Result<u64, BlobError> {
    let mut bytes = Vec::new();
    (&*file)
        .read_to_end(&mut bytes)
        .map_err(fs_error("read", path))?;
    let records = parse_records(&bytes, path)?;
    let mut keep = PACK_MAGIC.len() as u64;
    for record in &records.records {
        if hash_of(&bytes[record.body.clone()]) == record.hash {
            keep = record.body.end as u64;
        }
    }
    if bytes.len() < PACK_MAGIC.len() {
        // Created but its magic bytes never made it to disk.
        file.set_len(0).map_err(fs_error("truncate", path))?;
        file.write_all_at(PACK_MAGIC, 0)
            .map_err(fs_error("write", path))?;
        file.sync_all().map_err(fs_error("fsync", path))?;
        return Ok(PACK_MAGIC.len() as u64);
    }
    if keep < bytes.len() as u64 {
        tracing::warn!(
            pack = %path.display(),
            from = keep,
            bytes = bytes.len() as u64 - keep,
            "cutting off an unfinished append at the end of the blob pack"
        );
        file.set_len(keep).map_err(fs_error("truncate", path))?;
        file.sync_all().map_err(fs_error("fsync", path))?;
    }
    Ok(keep)
}

/// Reads a file from a position on, without moving the file's shared cursor.
struct ReadFrom<'a> {
    file: &'a File,
    at: u64,
}

impl Read for ReadFrom<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read_at(buf, self.at)?;
        self.at += read as u64;
        Ok(read)
    }
}

/// Adds the complete records of pack `number` between what was scanned and `end` to the
/// index. With `sealed`, a record running past the end is a broken pack rather than a torn
/// tail.
fn scan_into(
    index: &mut Index,
    number: u32,
    file: &Arc<File>,
    path: &Path,
    end: u64,
    sealed: bool,
) -> Result<(), BlobError> {
    let slot = number as usize - 1;
    let mut at = index.scanned[slot];
    let mut reader = io::BufReader::with_capacity(1 << 20, ReadFrom { file, at });
    if at == 0 {
        let mut magic = [0u8; 16];
        if end < magic.len() as u64 {
            if sealed {
                return Err(BlobError::BadPack {
                    path: path.to_owned(),
                    offset: 0,
                    problem: "shorter than a pack's first bytes".into(),
                });
            }
            return Ok(());
        }
        reader
            .read_exact(&mut magic)
            .map_err(fs_error("read", path))?;
        if &magic != PACK_MAGIC {
            return Err(BlobError::BadPack {
                path: path.to_owned(),
                offset: 0,
                problem: "not a truce blob pack (its first bytes are wrong)".into(),
            });
        }
        at = magic.len() as u64;
    }
    let mut header = [0u8; RECORD_HEADER as usize];
    while at + RECORD_HEADER <= end {
        reader
            .read_exact(&mut header)
            .map_err(fs_error("read", path))?;
        let mut len = [0u8; 4];
        len.copy_from_slice(&header[..4]);
        let len = u32::from_le_bytes(len);
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&header[4..]);
        let next = at + RECORD_HEADER + u64::from(len);
        if next > end {
            if sealed {
                return Err(BlobError::BadPack {
                    path: path.to_owned(),
                    offset: at,
                    problem: format!("a record of {len} bytes runs past the end of the pack"),
                });
            }
            break;
        }
        io::copy(&mut (&mut reader).take(u64::from(len)), &mut io::sink())
            .map_err(fs_error("read", path))?;
        index.insert(
            &hash,
            Location {
                pack: number,
                offset: at,
                len,
            },
        );
        at = next;
    }
    if sealed && at != end {
        return Err(BlobError::BadPack {
            path: path.to_owned(),
            offset: at,
            problem: "an incomplete record before the end of a closed pack".into(),
        });
    }
    index.scanned[slot] = at;
    Ok(())
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
    use proptest::prelude::*;

    fn pack_len(dir: &Path, number: u32) -> u64 {
        fs::metadata(dir.join("packs").join(pack_name(number)))
            .unwrap()
            .len()
    }

    fn files_under(dir: &Path) -> Vec<String> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                names.extend(files_under(&path));
            } else {
                names.push(file_name(&path));
            }
        }
        names.sort();
        names
    }

    #[test]
    fn put_get_is_idempotent_and_appends_no_file_per_body() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let hash = store.put(b"shelling reported at 03:10").unwrap();
        assert_eq!(
            hex(&hash),
            hex(&Sha256::digest(b"shelling reported at 03:10"))
        );
        let after_one = pack_len(dir.path(), 1);
        assert_eq!(after_one, 16 + 36 + 26);
        assert_eq!(store.put(b"shelling reported at 03:10").unwrap(), hash);
        assert_eq!(pack_len(dir.path(), 1), after_one, "stored once");
        assert_eq!(
            store.get(&hash).unwrap().unwrap(),
            b"shelling reported at 03:10"
        );
        assert_eq!(store.get(&[0u8; 32]).unwrap(), None);
        store.put(b"").unwrap();
        assert_eq!(store.get(&hash_of(b"")).unwrap().unwrap(), b"");
        let bodies: Vec<Vec<u8>> = (0..200).map(|i| format!("text {i}").into_bytes()).collect();
        store.put_many(&bodies).unwrap();
        assert_eq!(store.verify().unwrap(), 202);
        assert_eq!(files_under(dir.path()), ["00000001.pack", "LOCK"]);
    }

    #[test]
    fn put_many_stores_each_body_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let bodies: Vec<Vec<u8>> = (0..20)
            .map(|i| format!("report text {}", i % 15).into_bytes())
            .collect();
        let hashes = store.put_many(&bodies).unwrap();
        assert_eq!(hashes.len(), 20);
        for (hash, body) in hashes.iter().zip(&bodies) {
            assert_eq!(hash, &hash_of(body));
            assert_eq!(&store.get(hash).unwrap().unwrap(), body);
        }
        assert_eq!(store.verify().unwrap(), 15);
        let len = pack_len(dir.path(), 1);
        store.put_many(&bodies[..5]).unwrap();
        assert_eq!(pack_len(dir.path(), 1), len);
        assert!(store.put_many::<Vec<u8>>(&[]).unwrap().is_empty());
        // Reopened, everything is found again.
        drop(store);
        let store = BlobStore::open(dir.path()).unwrap();
        for (hash, body) in hashes.iter().zip(&bodies) {
            assert_eq!(&store.get(hash).unwrap().unwrap(), body);
        }
    }

    #[test]
    fn a_damaged_record_is_reported_by_pack_and_offset_and_stored_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        store.put(b"first body").unwrap();
        let hash = store.put(b"evidence photo bytes").unwrap();
        let pack = dir.path().join("packs/00000001.pack");
        let mut bytes = fs::read(&pack).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x20;
        fs::write(&pack, &bytes).unwrap();
        let offset = (16 + 36 + 10) as u64;
        let err = store.get(&hash).unwrap_err();
        assert!(
            matches!(&err, BlobError::Damaged { path, offset: Some(at), .. } if *path == pack && *at == offset),
            "{err}"
        );
        assert!(
            err.to_string().contains(&format!("at byte {offset}")),
            "{err}"
        );
        assert!(matches!(store.verify(), Err(BlobError::Damaged { .. })));
        // Storing the right body again appends a good copy, found from then on, also after
        // reopening.
        store.put(b"evidence photo bytes").unwrap();
        assert_eq!(store.get(&hash).unwrap().unwrap(), b"evidence photo bytes");
        drop(store);
        let store = BlobStore::open(dir.path()).unwrap();
        assert_eq!(store.get(&hash).unwrap().unwrap(), b"evidence photo bytes");
    }

    #[test]
    fn opening_for_writing_cuts_off_an_unfinished_append() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let kept = store.put_many(&[b"one".as_slice(), b"two"]).unwrap();
        drop(store);
        let pack = dir.path().join("packs/00000001.pack");
        let good = fs::read(&pack).unwrap();
        // A complete record whose body never reached the disk, then half a header.
        let mut torn = good.clone();
        torn.extend_from_slice(&5u32.to_le_bytes());
        torn.extend_from_slice(&hash_of(b"three"));
        torn.extend_from_slice(&[0u8; 5]);
        torn.extend_from_slice(&[7u8; 20]);
        fs::write(&pack, &torn).unwrap();
        // A reader of a live directory changes nothing and sees the complete bodies.
        let reader = BlobStore::open_read_only(dir.path()).unwrap();
        assert_eq!(reader.get(&kept[1]).unwrap().unwrap(), b"two");
        assert_eq!(fs::read(&pack).unwrap(), torn);
        drop(reader);
        let store = BlobStore::open(dir.path()).unwrap();
        assert_eq!(fs::read(&pack).unwrap(), good);
        assert_eq!(store.get(&kept[0]).unwrap().unwrap(), b"one");
        assert_eq!(store.get(&hash_of(b"three")).unwrap(), None);
        let three = store.put(b"three").unwrap();
        assert_eq!(store.get(&three).unwrap().unwrap(), b"three");
        assert_eq!(store.verify().unwrap(), 3);
        // A pack created but whose first bytes were lost.
        drop(store);
        fs::write(&pack, b"truce bl").unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        assert_eq!(fs::read(&pack).unwrap(), PACK_MAGIC);
        assert_eq!(store.verify().unwrap(), 0);
    }

    #[test]
    fn one_writing_handle_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let err = BlobStore::open(dir.path()).unwrap_err();
        assert!(matches!(err, BlobError::InUse { .. }), "{err}");
        // Clones share the one handle; readers are always allowed.
        let clone = store.clone();
        clone.put(b"from the clone").unwrap();
        let reader = BlobStore::open_read_only(dir.path()).unwrap();
        assert!(matches!(reader.put(b"x"), Err(BlobError::ReadOnly { .. })));
        drop((store, clone));
        BlobStore::open(dir.path()).unwrap();
    }

    #[test]
    fn a_reader_finds_bodies_appended_after_it_opened_across_packs() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open_with_limit(dir.path().to_owned(), 200).unwrap();
        let reader = BlobStore::open_read_only(dir.path()).unwrap();
        let bodies: Vec<Vec<u8>> = (0..30)
            .map(|i| vec![b'a' + (i % 26) as u8; 40 + i])
            .collect();
        let mut hashes = Vec::new();
        for chunk in bodies.chunks(4) {
            hashes.extend(store.put_many(chunk).unwrap());
        }
        let packs = pack_numbers(&dir.path().join("packs")).unwrap();
        assert!(packs.len() > 5, "{packs:?}");
        for number in &packs {
            assert!(pack_len(dir.path(), *number) <= 200 || number == packs.last().unwrap());
        }
        for (hash, body) in hashes.iter().zip(&bodies) {
            assert_eq!(&reader.get(hash).unwrap().unwrap(), body);
            assert_eq!(&store.get(hash).unwrap().unwrap(), body);
        }
        assert_eq!(reader.verify().unwrap(), 30);
        drop(store);
        let store = BlobStore::open_with_limit(dir.path().to_owned(), 200).unwrap();
        for (hash, body) in hashes.iter().zip(&bodies) {
            assert_eq!(&store.get(hash).unwrap().unwrap(), body);
        }
        // A body larger than a pack gets one of its own.
        let big = vec![b'z'; 1000];
        let hash = store.put(&big).unwrap();
        assert_eq!(store.get(&hash).unwrap().unwrap(), big);
        // A pack missing in the middle is an error naming it.
        drop(store);
        fs::remove_file(dir.path().join("packs/00000002.pack")).unwrap();
        let err = BlobStore::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("00000002.pack"), "{err}");
    }

    #[test]
    fn bodies_sharing_the_first_bytes_of_their_hash_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("packs")).unwrap();
        // Two records claiming hashes that agree in their first 8 bytes (their bodies do
        // not hash to them, so each read names its own record as damaged).
        let mut first = [1u8; 32];
        let mut second = [1u8; 32];
        first[31] = 0xaa;
        second[31] = 0xbb;
        let mut pack = PACK_MAGIC.to_vec();
        for (hash, body) in [(first, b"alpha".as_slice()), (second, b"bravo")] {
            pack.extend_from_slice(&(body.len() as u32).to_le_bytes());
            pack.extend_from_slice(&hash);
            pack.extend_from_slice(body);
        }
        fs::write(dir.path().join("packs/00000001.pack"), &pack).unwrap();
        let store = BlobStore::open_read_only(dir.path()).unwrap();
        let offset_of = |hash: &BlobHash| match store.get(hash) {
            Err(BlobError::Damaged { offset, .. }) => offset,
            other => panic!("{other:?}"),
        };
        assert_eq!(offset_of(&first), Some(16));
        assert_eq!(offset_of(&second), Some(16 + 36 + 5));
        let mut third = first;
        third[30] = 0;
        assert_eq!(store.get(&third).unwrap(), None);
    }

    #[test]
    fn bodies_of_the_earlier_one_file_layout_are_still_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let hash = hash_of(b"an older text");
        let name = hex(&hash);
        let loose = dir.path().join("sha256").join(&name[..2]);
        fs::create_dir_all(&loose).unwrap();
        fs::write(loose.join(&name[2..]), b"an older text").unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        assert_eq!(store.get(&hash).unwrap().unwrap(), b"an older text");
        // Stored again, it goes to the pack; both copies count.
        store.put(b"an older text").unwrap();
        assert_eq!(store.verify().unwrap(), 2);
        fs::write(loose.join(&name[2..]), b"an older texT").unwrap();
        assert!(matches!(
            store.verify(),
            Err(BlobError::Damaged { offset: None, .. })
        ));
        fs::write(loose.join(&name[2..]), b"an older text").unwrap();
        fs::write(loose.join("not-a-hash"), b"x").unwrap();
        assert!(matches!(store.verify(), Err(BlobError::Stray { .. })));
        fs::remove_file(loose.join("not-a-hash")).unwrap();
        fs::write(dir.path().join("packs/notes.txt"), b"x").unwrap();
        assert!(matches!(store.verify(), Err(BlobError::Stray { .. })));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Any sequence of batches, with reopening in between and small packs, keeps every
        /// body retrievable and each stored once.
        #[test]
        fn every_body_put_is_found_again(
            batches in prop::collection::vec(
                (prop::collection::vec(prop::collection::vec(0u8..4, 0..60), 0..8), any::<bool>()),
                1..12,
            ),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut store = BlobStore::open_with_limit(dir.path().to_owned(), 300).unwrap();
            let mut all = std::collections::BTreeSet::new();
            for (bodies, reopen) in &batches {
                let hashes = store.put_many(bodies).unwrap();
                all.extend(bodies.iter().cloned());
                for (hash, body) in hashes.iter().zip(bodies) {
                    prop_assert_eq!(&hash_of(body), hash);
                }
                if *reopen {
                    drop(store);
                    store = BlobStore::open_with_limit(dir.path().to_owned(), 300).unwrap();
                }
            }
            for body in &all {
                let found = store.get(&hash_of(body)).unwrap();
                prop_assert_eq!(found.as_ref(), Some(body));
            }
            prop_assert_eq!(store.verify().unwrap(), all.len() as u64);
        }
    }

    /// Bodies in a map, one of them corruptible.
    #[derive(Debug, Default)]
    struct MapBackend {
        bodies: Mutex<HashMap<BlobHash, Vec<u8>>>,
    }

    impl BlobBackend for MapBackend {
        fn describe(&self) -> String {
            "map".into()
        }
        fn put_many(&self, bodies: &[(BlobHash, &[u8])]) -> Result<(), BlobError> {
            let mut map = self.bodies.lock().unwrap();
            for (hash, body) in bodies {
                map.entry(*hash).or_insert_with(|| body.to_vec());
            }
            Ok(())
        }
        fn get(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
            Ok(self.bodies.lock().unwrap().get(hash).cloned())
        }
        fn for_each(&self, check: &mut BlobCheck<'_>) -> Result<u64, BlobError> {
            let map = self.bodies.lock().unwrap();
            for (hash, body) in map.iter() {
                check(hash, body)?;
            }
            Ok(map.len() as u64)
        }
    }

    #[test]
    fn a_backend_store_keeps_bodies_there_and_checks_them() {
        let backend = Arc::new(MapBackend::default());
        let store = BlobStore::with_backend(backend.clone());
        let hashes = store
            .put_many(&[b"one".as_slice(), b"two", b"one"])
            .unwrap();
        assert_eq!(hashes[0], hashes[2]);
        assert_eq!(store.get(&hashes[1]).unwrap().unwrap(), b"two");
        assert_eq!(store.get(&[7; 32]).unwrap(), None);
        assert_eq!(store.put(b"three").unwrap(), hash_of(b"three"));
        assert_eq!(store.verify().unwrap(), 3);
        backend
            .bodies
            .lock()
            .unwrap()
            .insert(hashes[1], b"not two".to_vec());
        let error = store.get(&hashes[1]).unwrap_err();
        assert!(matches!(error, BlobError::BackendDamaged { .. }), "{error}");
        assert!(store.verify().is_err());
    }
}
