//! Reading a data directory without the service: the log replayed the way the service
//! rebuilds its state on start, into memory, opening nothing for writing.
//!
//! [`replay_data_dir`] reads the published checkpoint of `DIR/log`, the entries it
//! covers (re-hashed: they must give the checkpoint's root), the journal lines of those
//! entries and the agreement files in `DIR/blobs`, and projects every entry with the
//! service's own [`Projector`](crate::projection) into an SQLite store held in memory,
//! in the chunks and order the service's catch-up uses. So it sees what a service
//! started on the directory would see: the same agreement versions, the same reports
//! filed under the same agreements with the same clear values (exact positions and source
//! ids from the journal's openings), the same refusals of conflicting entries, and the
//! reviews and retractions its live findings are judged under (as the engine reads them,
//! [`Replayed::annotations`]). The store file `DIR/truce.sqlite3` is not read: the log is the source of truth, and a store
//! may lag behind it.
//!
//! It works while the service runs: the checkpoint is replaced atomically and every file
//! of the tree it names is written before it; a partial entry bundle that the service
//! removed because its tile became full meanwhile is read as the first entries of the
//! full bundle, as c2sp.org/tlog-tiles allows. It works on a directory restored by
//! `truce restore` too (log, journal and blobs are all it needs).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use truce_engine::review::Annotation;
use truce_log::entry::{AgreementVersion, Coverage, Entry, Retraction};
use truce_log::layout::{TILE_WIDTH, TileKey, TilePath, parse_bundle};
use truce_log::{BlobError, BlobStore, CHECKPOINT_FILE};
use truce_merkle::{leaf_hash, root_from_leaf_hashes};
use truce_model::Report;
use truce_model::agreement::Agreement;
use truce_note::{Checkpoint, Note};
use truce_store::{Projected, SqliteStore, Store, StoreError};

use crate::data_dir::DataDir;
use crate::error::ServerError;
use crate::journal;
use crate::live::{annotation_of, clear_report};
use crate::projection::{Projector, load_from_blobs};
use crate::writer::project_entries;

/// Entries projected per store transaction, as the service's catch-up does.
const REPLAY_CHUNK: usize = 4096;

/// Why a data directory could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The directory holds the log's key and no log: its service keeps the record in
    /// PostgreSQL (`record = "database"`), which this cannot read.
    #[error(
        "{} holds only the log's key: its service keeps the log, the journal and the texts in \
         PostgreSQL (record = \"database\"), and a data directory replay cannot read them yet",
        dir.display()
    )]
    RecordInDatabase {
        /// The directory given.
        dir: PathBuf,
    },
    /// A part every data directory has is missing.
    #[error("{} is not a truce data directory: {what} {} is missing", dir.display(), path.display())]
    NotADataDir {
        /// The directory given.
        dir: PathBuf,
        /// The part that is missing.
        what: &'static str,
        /// Where it should be.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The checkpoint is not a signed checkpoint note.
    #[error("{}: not a signed checkpoint: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An entry bundle is damaged.
    #[error("{}: {reason}", path.display())]
    Bundle {
        /// The bundle file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The entries read do not hash to the checkpoint's root.
    #[error(
        "the {size} entries read from {} hash to the root {computed}, not to the checkpoint's {expected}; check the log with `truce log verify`",
        dir.display()
    )]
    RootMismatch {
        /// The log directory.
        dir: PathBuf,
        /// The checkpoint's size.
        size: u64,
        /// The root of the entries read (hex).
        computed: String,
        /// The checkpoint's root (hex).
        expected: String,
    },
    /// The journal could not be read.
    #[error(transparent)]
    Journal(#[from] ServerError),
    /// The store the log is replayed into failed.
    #[error("replaying the log into the store: {0}")]
    Store(#[from] StoreError),
    /// The blob store could not be read.
    #[error("blob store: {0}")]
    Blob(#[from] BlobError),
}

/// An agreement version as the service has it.
#[derive(Debug, Clone)]
pub struct ReplayedAgreement {
    /// The agreement's id.
    pub id: String,
    /// Its version.
    pub version: u32,
    /// The log indexes of its entries (one per interpretation logged), ascending.
    pub log_indexes: Vec<u64>,
    /// SHA-256 of the agreement's text, hex (the entry's `text_sha256`).
    pub text_sha256: String,
    /// Its readings (the common one and each party's, in the loader's order), or why its
    /// files in the blob store do not load (the service then judges nothing under it).
    pub readings: Result<Vec<Agreement>, String>,
}

/// A report as the service has it.
#[derive(Debug, Clone)]
pub struct ReplayedReport {
    /// The agreement it was filed under.
    pub agreement_id: String,
    /// Its log index.
    pub log_index: u64,
    /// The clear report: exact position and source id from the journal's openings, as
    /// the service judges it.
    pub report: Report,
}

/// A retraction entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayedRetraction {
    /// Its log index.
    pub log_index: u64,
    /// The entry.
    pub retraction: Retraction,
}

/// An observation-coverage entry (patrol, camera, drone, access denial, jamming).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayedCoverage {
    /// Its log index.
    pub log_index: u64,
    /// The entry.
    pub coverage: Coverage,
}

/// What a data directory holds, as of its published checkpoint.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// The signed checkpoint note, as read (signatures parsed, not verified).
    pub checkpoint_note: Note,
    /// The checkpoint it carries: origin, size and root.
    pub checkpoint: Checkpoint,
    /// Every agreement version the service took in, in log order.
    pub agreements: Vec<ReplayedAgreement>,
    /// Every report the service took in, in log order (retracted ones included: a
    /// retraction withdraws a report, it deletes nothing).
    pub reports: Vec<ReplayedReport>,
    /// Every retraction, in log order.
    pub retractions: Vec<ReplayedRetraction>,
    /// Every review and retraction as the engine reads them, with its log index, in log
    /// order: the decisions the service's live findings are judged under.
    pub annotations: Vec<(u64, Annotation)>,
    /// Every coverage record, in log order.
    pub coverage: Vec<ReplayedCoverage>,
}

impl Replayed {
    /// The versions of `agreement_id`, in log order.
    pub fn versions_of(&self, agreement_id: &str) -> Vec<&ReplayedAgreement> {
        self.agreements
            .iter()
            .filter(|agreement| agreement.id == agreement_id)
            .collect()
    }
}

/// Reads the data directory `dir` as of its published checkpoint (see the module
/// documentation). Opens nothing for writing.
///
/// # Errors
///
/// [`ReplayError::RecordInDatabase`] when `dir` holds the log's key and no log;
/// [`ReplayError::NotADataDir`] when `dir/log/checkpoint` or `dir/blobs` is missing;
/// [`ReplayError::Checkpoint`], [`ReplayError::Bundle`] and [`ReplayError::RootMismatch`]
/// when the log is damaged; [`ReplayError::Io`], [`ReplayError::Journal`],
/// [`ReplayError::Store`] and [`ReplayError::Blob`] when reading fails.
pub async fn replay_data_dir(dir: &Path) -> Result<Replayed, ReplayError> {
    let store = SqliteStore::open_in_memory().await?;
    // No clock: the times it would stand in for are not part of what is returned.
    let replayed = replay_into(dir, &store, 0, &mut |_| {}).await;
    store.close().await;
    replayed
}

/// Reads the data directory `dir` as [`replay_data_dir`] does, projecting its log into
/// `store`, which must be empty (applied size 0), in the service's catch-up chunks;
/// `now` stands in for times neither the log nor the journal gives, as in the
/// service's catch-up. `observe` sees every item applied, in order.
pub(crate) async fn replay_into<S: Store>(
    dir: &Path,
    store: &S,
    now: i64,
    observe: &mut dyn FnMut(&Projected),
) -> Result<Replayed, ReplayError> {
    let data = DataDir::new(dir);
    let log_dir = data.log_dir();
    let checkpoint_path = log_dir.join(CHECKPOINT_FILE);
    let blob_dir = data.blob_dir();
    if !log_dir.exists() && dir.join(crate::LOG_KEY_FILE).is_file() {
        return Err(ReplayError::RecordInDatabase {
            dir: dir.to_owned(),
        });
    }
    for (what, path) in [
        ("the log's checkpoint", &checkpoint_path),
        ("the blob store", &blob_dir),
    ] {
        if !path.exists() {
            return Err(ReplayError::NotADataDir {
                dir: dir.to_owned(),
                what,
                path: path.clone(),
            });
        }
    }
    let note_bytes = fs::read(&checkpoint_path).map_err(|source| ReplayError::Io {
        path: checkpoint_path.clone(),
        source,
    })?;
    let checkpoint_error = |reason: String| ReplayError::Checkpoint {
        path: checkpoint_path.clone(),
        reason,
    };
    let checkpoint_note =
        Note::parse(&note_bytes).map_err(|error| checkpoint_error(error.to_string()))?;
    let checkpoint = Checkpoint::from_text(checkpoint_note.text())
        .map_err(|error| checkpoint_error(error.to_string()))?;
    let size = checkpoint.size();
    let entries = read_entries(&log_dir, size)?;
    let leaves: Vec<_> = entries.iter().map(|entry| leaf_hash(entry)).collect();
    let computed = root_from_leaf_hashes(&leaves);
    if computed != checkpoint.root() {
        return Err(ReplayError::RootMismatch {
            dir: log_dir,
            size,
            computed: computed.to_string(),
            expected: checkpoint.root().to_string(),
        });
    }
    let lines = journal::read_since(&data.journal(), 0)?;
    let blobs = BlobStore::open_read_only(blob_dir)?;

    let mut projector = Projector::load(store, blobs.clone(), &BTreeMap::new()).await?;
    let mut agreements: Vec<ReplayedAgreement> = Vec::new();
    let mut reports = Vec::new();
    let mut retractions = Vec::new();
    let mut coverage = Vec::new();
    let mut annotations = Vec::new();
    let mut start = 0u64;
    for chunk in entries.chunks(REPLAY_CHUNK) {
        let end = start + chunk.len() as u64;
        projector.begin_batch();
        let (projected, decoded) =
            project_entries(&mut projector, store, start, chunk, &lines, now).await?;
        store.apply(start..end, &projected).await?;
        projected.iter().for_each(&mut *observe);
        let entry_at = |index: u64| {
            decoded
                .binary_search_by_key(&index, |(at, _)| *at)
                .ok()
                .map(|position| &decoded[position].1)
        };
        for item in &projected {
            match item {
                Projected::Agreement(record) => {
                    if let Some(Entry::AgreementVersion(version)) = entry_at(record.log_index) {
                        note_version(&mut agreements, &blobs, record.log_index, version);
                    }
                }
                Projected::Report(record) => {
                    if let Some(Entry::Report(entry)) = entry_at(record.log_index) {
                        reports.push(ReplayedReport {
                            agreement_id: record.agreement_id.clone(),
                            log_index: record.log_index,
                            report: clear_report(entry, record),
                        });
                    }
                }
                _ => {}
            }
        }
        for (log_index, entry) in &decoded {
            if let Some(annotation) = annotation_of(entry) {
                annotations.push((*log_index, annotation));
            }
            match entry {
                Entry::Retraction(retraction) => retractions.push(ReplayedRetraction {
                    log_index: *log_index,
                    retraction: retraction.clone(),
                }),
                Entry::Coverage(record) => coverage.push(ReplayedCoverage {
                    log_index: *log_index,
                    coverage: record.clone(),
                }),
                _ => {}
            }
        }
        start = end;
    }
    reports.sort_by_key(|report| report.log_index);
    Ok(Replayed {
        checkpoint_note,
        checkpoint,
        agreements,
        reports,
        retractions,
        annotations,
        coverage,
    })
}

/// Adds an agreement-version entry: a new version is loaded from the blob store, a further
/// interpretation of a known version adds its index.
fn note_version(
    agreements: &mut Vec<ReplayedAgreement>,
    blobs: &BlobStore,
    log_index: u64,
    version: &AgreementVersion,
) {
    if let Some(known) = agreements
        .iter_mut()
        .find(|known| known.id == version.agreement_id && known.version == version.version)
    {
        known.log_indexes.push(log_index);
        return;
    }
    agreements.push(ReplayedAgreement {
        id: version.agreement_id.clone(),
        version: version.version,
        log_indexes: vec![log_index],
        text_sha256: version.text_sha256.to_hex(),
        readings: load_from_blobs(blobs, version),
    });
}

/// The entries `0 .. size` of the log in `log_dir`, bundle by bundle.
fn read_entries(log_dir: &Path, size: u64) -> Result<Vec<Vec<u8>>, ReplayError> {
    let mut entries = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let n_bundles = size.div_ceil(u64::from(TILE_WIDTH));
    for index in 0..n_bundles {
        let key = TileKey::Entries { index };
        let Some(path) = key.path_at(size) else {
            break;
        };
        let (file, bytes, count) = match read_file(log_dir, &path)? {
            Some(bytes) => (log_dir.join(path.to_string()), bytes, path.width),
            // The tile became full after the checkpoint was read and the partial
            // bundle was removed: the full bundle starts with the same entries.
            None if !path.is_full() => {
                let full = TilePath::full(key);
                let file = log_dir.join(full.to_string());
                let bytes = read_file(log_dir, &full)?.ok_or_else(|| ReplayError::Bundle {
                    path: file.clone(),
                    reason: format!("missing, and so is its partial bundle {path}"),
                })?;
                (file, bytes, TILE_WIDTH)
            }
            None => {
                return Err(ReplayError::Bundle {
                    path: log_dir.join(path.to_string()),
                    reason: "missing".to_owned(),
                });
            }
        };
        let items = parse_bundle(&bytes, count).map_err(|error| ReplayError::Bundle {
            path: file.clone(),
            reason: format!("{error} (at byte {})", error.offset()),
        })?;
        entries.extend(
            items
                .into_iter()
                .take(usize::from(path.width))
                .map(|item| bytes[item.body].to_vec()),
        );
    }
    Ok(entries)
}

/// A tile file's bytes, `None` when it does not exist.
fn read_file(log_dir: &Path, path: &TilePath) -> Result<Option<Vec<u8>>, ReplayError> {
    let file = log_dir.join(path.to_string());
    match fs::read(&file) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ReplayError::Io { path: file, source }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use truce_log::Log;
    use truce_log::layout::push_bundle_entry;
    use truce_note::{KeyName, NoteSigner};

    use super::*;

    fn signer() -> NoteSigner {
        NoteSigner::from_seed(KeyName::new("example.org/log").unwrap(), &[3; 32])
    }

    #[test]
    fn a_removed_partial_bundle_is_read_from_the_full_one() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("log");
        let mut log = Log::open(&dir, signer(), "example.org/log").unwrap();
        let entries: Vec<Vec<u8>> = (0..300u32).map(|n| n.to_be_bytes().to_vec()).collect();
        log.append_batch(&entries[..10]).unwrap();
        log.append_batch(&entries[10..]).unwrap();
        // As of size 10, whose partial bundle the second batch removed.
        let read = read_entries(&dir, 10).unwrap();
        assert_eq!(read, entries[..10]);
        assert_eq!(read_entries(&dir, 300).unwrap(), entries);
        // A damaged bundle is named.
        let bundle = dir.join("tile/entries/000");
        let mut bytes = Vec::new();
        push_bundle_entry(&mut bytes, b"x").unwrap();
        fs::write(&bundle, &bytes).unwrap();
        let error = read_entries(&dir, 300).unwrap_err();
        assert!(error.to_string().contains("tile/entries/000"), "{error}");
    }

    #[tokio::test]
    async fn a_directory_without_a_log_is_named() {
        let temp = tempfile::tempdir().unwrap();
        let error = replay_data_dir(temp.path()).await.unwrap_err();
        assert!(
            error.to_string().contains("not a truce data directory"),
            "{error}"
        );
        assert!(error.to_string().contains("checkpoint"), "{error}");
    }
}
