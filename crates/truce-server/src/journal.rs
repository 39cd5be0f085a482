//! The entry journal: what the server knows about each entry it logs that the
//! log itself does not carry, written durably *before* the entries are
//! appended.
//!
//! The log's entry format (version 1) has no submitter key, request nonce,
//! submission time or agreement for a report, and a committed field is
//! worthless without its opening (salt and clear value). The store needs
//! all of these, and it must be rebuildable: so for every entry the writer
//! appends one JSON line to `DIR/journal.jsonl` and syncs it before the
//! batch goes to the log. Replay ([`crate::writer`]) matches lines to log
//! entries by index *and* the SHA-256 of the entry's bytes, so lines of a
//! batch that never reached the log (the append failed) are ignored, and a
//! torn last line (a crash while writing) does not parse and is skipped.
//!
//! The journal holds the clear values behind commitments: it is access
//! controlled like the store, never served, and never part of a mirror.
//!
//! With the record in the database ([`crate::RecordPlace::Database`]) the
//! same lines go to the `log_journal` table instead ([`JournalStore`]), one
//! row per line, appended only under the sequencer lease.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use truce_log::entry::{LABEL_LOCATION, LABEL_PLACE, LABEL_SOURCE_ID, Opening, ReportOpenings};
use truce_model::Location;

use crate::error::ServerError;

/// What the server knows about one entry beyond its bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct EntryMeta {
    /// The signed timestamp of the submission (Unix milliseconds), or the
    /// server's clock for entries it writes itself.
    pub ts_ms: i64,
    /// The key that submitted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitter: Option<String>,
    /// The nonce under which the store records this entry's receipt: the
    /// request nonce for a submission's first entry, `<nonce>/end` for the
    /// last entry of a submission of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_nonce: Option<String>,
    /// For a report: the agreement it was submitted under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<String>,
    /// For a report: the openings of its committed fields.
    #[serde(default, skip_serializing_if = "Openings::is_empty")]
    pub openings: Openings,
}

/// The openings of a report's committed fields, in a form that round-trips
/// through JSON (salts in hex).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Openings {
    /// The source id's salt and value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<(String, String)>,
    /// The exact location's salt and value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<(String, Location)>,
    /// The place name's salt and value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<(String, String)>,
}

impl Openings {
    fn is_empty(&self) -> bool {
        self.source_id.is_none() && self.location.is_none() && self.place.is_none()
    }

    /// From the openings `ReportEntry::from_report` returned.
    pub fn from_report_openings(openings: &ReportOpenings) -> Self {
        Self {
            source_id: openings
                .source_id
                .as_ref()
                .map(|opening| (hex(&opening.salt), opening.value.clone())),
            location: openings
                .location
                .as_ref()
                .map(|opening| (hex(&opening.salt), opening.value)),
            place: openings
                .place
                .as_ref()
                .map(|opening| (hex(&opening.salt), opening.value.clone())),
        }
    }

    /// Back to the entry module's openings; a salt that is not 64 hex
    /// digits drops its opening (the field then stays committed).
    pub fn to_report_openings(&self) -> ReportOpenings {
        ReportOpenings {
            source_id: self.source_id.as_ref().and_then(|(salt, value)| {
                Some(Opening {
                    label: LABEL_SOURCE_ID,
                    salt: parse_salt(salt)?,
                    value: value.clone(),
                })
            }),
            location: self.location.as_ref().and_then(|(salt, value)| {
                Some(Opening {
                    label: LABEL_LOCATION,
                    salt: parse_salt(salt)?,
                    value: *value,
                })
            }),
            place: self.place.as_ref().and_then(|(salt, value)| {
                Some(Opening {
                    label: LABEL_PLACE,
                    salt: parse_salt(salt)?,
                    value: value.clone(),
                })
            }),
        }
    }
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct JournalLine {
    /// The log index the entry was to get.
    pub index: u64,
    /// SHA-256 of the entry's bytes, hex.
    pub sha256: String,
    /// The rest.
    #[serde(flatten)]
    pub meta: EntryMeta,
}

/// The journal file, open for appending.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (creating) the journal at `path`.
    pub fn open(path: &Path) -> Result<Self, ServerError> {
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(|error| ServerError::Journal {
            path: path.to_owned(),
            reason: format!("cannot open: {error}"),
        })?;
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }

    /// Appends `lines` and syncs them to disk.
    pub fn append(&mut self, lines: &[JournalLine]) -> Result<(), ServerError> {
        let mut text = Vec::with_capacity(lines.len() * 256);
        for line in lines {
            serde_json::to_writer(&mut text, line).map_err(|error| self.error(&error))?;
            text.push(b'\n');
        }
        self.file
            .write_all(&text)
            .and_then(|()| self.file.sync_data())
            .map_err(|error| self.error(&error))
    }

    fn error(&self, error: &dyn std::fmt::Display) -> ServerError {
        ServerError::Journal {
            path: self.path.clone(),
            reason: error.to_string(),
        }
    }
}

/// Where the journal's lines are kept: the file in the data directory, or
/// the `log_journal` table beside a log in the database. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) enum JournalStore {
    /// `DIR/journal.jsonl`.
    File {
        /// The file, for reading.
        path: PathBuf,
        /// The file open for appending.
        journal: Arc<Mutex<Journal>>,
    },
    /// The `log_journal` table, appended under the sequencer lease.
    Database(truce_store::PgJournal),
}

/// How the journal table is named in messages.
const TABLE: &str = "PostgreSQL table log_journal";

impl JournalStore {
    /// The journal file at `path`, opened (created) for appending.
    pub fn file(path: &Path) -> Result<Self, ServerError> {
        Ok(JournalStore::File {
            path: path.to_owned(),
            journal: Arc::new(Mutex::new(Journal::open(path)?)),
        })
    }

    /// Appends `lines`, durably, before their entries are appended to the
    /// log.
    pub async fn append(&self, lines: Vec<JournalLine>) -> Result<(), ServerError> {
        match self {
            JournalStore::File { journal, .. } => {
                let journal = Arc::clone(journal);
                tokio::task::spawn_blocking(move || {
                    journal
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .append(&lines)
                })
                .await
                .map_err(|error| ServerError::Task(error.to_string()))?
            }
            JournalStore::Database(table) => {
                let mut rows = Vec::with_capacity(lines.len());
                for line in &lines {
                    let text = serde_json::to_string(line).map_err(|error| table_error(&error))?;
                    rows.push((line.index, text));
                }
                table
                    .append(&rows)
                    .await
                    .map_err(|error| table_error(&error))
            }
        }
    }

    /// The lines for log indexes `from` and later, grouped by index in the
    /// order written (see [`read_since`]); a row that does not parse is
    /// skipped, as a torn line of the file is.
    pub async fn read_since(
        &self,
        from: u64,
    ) -> Result<BTreeMap<u64, Vec<JournalLine>>, ServerError> {
        match self {
            JournalStore::File { path, .. } => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || read_since(&path, from))
                    .await
                    .map_err(|error| ServerError::Task(error.to_string()))?
            }
            JournalStore::Database(table) => {
                let rows = table
                    .since(from)
                    .await
                    .map_err(|error| table_error(&error))?;
                let mut by_index: BTreeMap<u64, Vec<JournalLine>> = BTreeMap::new();
                for (index, text) in rows {
                    match serde_json::from_str::<JournalLine>(&text) {
                        Ok(line) if line.index == index => {
                            by_index.entry(index).or_default().push(line);
                        }
                        _ => tracing::warn!(index, "a journal row does not parse; skipped"),
                    }
                }
                Ok(by_index)
            }
        }
    }
}

/// A [`ServerError::Journal`] for the journal table.
fn table_error(error: &dyn std::fmt::Display) -> ServerError {
    ServerError::Journal {
        path: PathBuf::from(TABLE),
        reason: error.to_string(),
    }
}

/// The lines for log indexes `from` and later, grouped by index in file
/// order. Reads the file backwards in growing windows, so catching up after
/// a crash reads only the tail.
pub(crate) fn read_since(
    path: &Path,
    from: u64,
) -> Result<BTreeMap<u64, Vec<JournalLine>>, ServerError> {
    read_since_in_windows(path, from, 1 << 20)
}

/// [`read_since`], starting with a window of `window` bytes.
fn read_since_in_windows(
    path: &Path,
    from: u64,
    mut window: u64,
) -> Result<BTreeMap<u64, Vec<JournalLine>>, ServerError> {
    let error = |reason: String| ServerError::Journal {
        path: path.to_owned(),
        reason,
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(io) if io.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(io) => return Err(error(format!("cannot open: {io}"))),
    };
    let size = file
        .metadata()
        .map_err(|io| error(format!("cannot read its size: {io}")))?
        .len();
    loop {
        let start = size.saturating_sub(window);
        file.seek(SeekFrom::Start(start))
            .map_err(|io| error(format!("cannot seek: {io}")))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|io| error(format!("cannot read: {io}")))?;
        let mut text = bytes.as_slice();
        if start > 0 {
            // The first line may be cut by the window.
            match text.iter().position(|byte| *byte == b'\n') {
                Some(newline) => text = &text[newline + 1..],
                None => text = &[],
            }
        }
        let lines: Vec<JournalLine> = text
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
            .filter_map(|line| serde_json::from_slice(line).ok())
            .collect();
        let reached = lines.iter().any(|line| line.index < from);
        if reached || start == 0 {
            let mut by_index: BTreeMap<u64, Vec<JournalLine>> = BTreeMap::new();
            for line in lines.into_iter().filter(|line| line.index >= from) {
                by_index.entry(line.index).or_default().push(line);
            }
            return Ok(by_index);
        }
        window = window.saturating_mul(4);
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn parse_salt(text: &str) -> Option<[u8; 32]> {
    let hash = truce_merkle::Hash::from_hex(text).ok()?;
    Some(hash.to_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn line(index: u64, sha: &str) -> JournalLine {
        JournalLine {
            index,
            sha256: sha.to_owned(),
            meta: EntryMeta {
                ts_ms: 1_742_256_000_000 + i64::try_from(index).unwrap(),
                submitter: Some("monitor-1".into()),
                receipt_nonce: Some(format!("{index:032x}")),
                agreement: Some("energy-2025".into()),
                openings: Openings {
                    source_id: Some((hex(&[7; 32]), "monitor-1".into())),
                    location: Some((
                        hex(&[8; 32]),
                        Location {
                            lon: 36.1,
                            lat: 49.9,
                            uncertainty_m: 50.0,
                        },
                    )),
                    place: None,
                },
            },
        }
    }

    #[test]
    fn lines_round_trip_and_are_read_from_an_index_on() {
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("journal.jsonl");
        let mut journal = Journal::open(&path).unwrap();
        journal
            .append(&(0..50).map(|i| line(i, "aa")).collect::<Vec<_>>())
            .unwrap();
        // A batch retried at the same indexes after a failed append.
        journal.append(&[line(48, "bb"), line(49, "bb")]).unwrap();
        let read = read_since(&path, 45).unwrap();
        assert_eq!(
            read.keys().copied().collect::<Vec<_>>(),
            vec![45, 46, 47, 48, 49]
        );
        assert_eq!(read[&48].len(), 2);
        assert_eq!(read[&48][1].sha256, "bb");
        assert_eq!(read[&45][0], line(45, "aa"));
        assert!(read_since(&path, 60).unwrap().is_empty());
        assert_eq!(read_since(&path, 0).unwrap().len(), 50);
    }

    #[test]
    fn small_windows_read_the_same_lines() {
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("journal.jsonl");
        let mut journal = Journal::open(&path).unwrap();
        journal
            .append(&(0..40).map(|i| line(i, "aa")).collect::<Vec<_>>())
            .unwrap();
        for from in [0, 1, 17, 39, 40] {
            for window in [16, 100, 1000, 1 << 20] {
                let read = read_since_in_windows(&path, from, window).unwrap();
                assert_eq!(
                    read,
                    read_since(&path, from).unwrap(),
                    "from {from} window {window}"
                );
                assert_eq!(read.len(), usize::try_from(40 - from).unwrap());
            }
        }
    }

    #[test]
    fn a_torn_last_line_and_a_missing_file_are_not_errors() {
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("journal.jsonl");
        assert!(read_since(&path, 0).unwrap().is_empty());
        let mut journal = Journal::open(&path).unwrap();
        journal.append(&[line(0, "aa")]).unwrap();
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"index\":1,\"sha2").unwrap();
        let read = read_since(&path, 0).unwrap();
        assert_eq!(read.len(), 1);
    }

    #[test]
    fn openings_survive_the_round_trip_through_hex() {
        let openings = line(0, "aa").meta.openings;
        let back = Openings::from_report_openings(&openings.to_report_openings());
        assert_eq!(back, openings);
        let broken = Openings {
            source_id: Some(("zz".into(), "x".into())),
            ..Openings::default()
        };
        assert!(broken.to_report_openings().source_id.is_none());
    }
}
