//! The data directory: where each part of the service's state lives, and the
//! log's signing key.
//!
//! ```text
//! DIR/log/            the log, c2sp.org/tlog-tiles (public: mirror it as is)
//! DIR/log.key         the log's signing key, PRIVATE+KEY+<origin>+..., mode 0600
//! DIR/blobs/          bodies the log commits to by hash (report texts, agreement files, reasons)
//! DIR/journal.jsonl   per entry: submitter, nonce, time, agreement and the openings of
//!                     committed fields (access-controlled; never served)
//! DIR/truce.sqlite3   the store (a projection of the log plus bookkeeping),
//!                     unless the configuration puts it in PostgreSQL
//! ```
//!
//! With the record in the database (`record = "database"`) only `log.key`
//! is here: the log, the journal and the bodies are tables of the database
//! (see [`crate::record`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use truce_note::{KeyName, NoteSigner};

use crate::error::ServerError;

/// The log directory's name inside the data directory.
pub const LOG_DIR: &str = "log";
/// The log signing key's file name inside the data directory.
pub const LOG_KEY_FILE: &str = "log.key";
/// The blob store's directory name inside the data directory.
pub const BLOB_DIR: &str = "blobs";
/// The journal's file name inside the data directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// The paths of a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root` (nothing is created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `DIR/log`.
    pub fn log_dir(&self) -> PathBuf {
        self.root.join(LOG_DIR)
    }

    /// `DIR/log.key`.
    pub fn log_key(&self) -> PathBuf {
        self.root.join(LOG_KEY_FILE)
    }

    /// `DIR/blobs`.
    pub fn blob_dir(&self) -> PathBuf {
        self.root.join(BLOB_DIR)
    }

    /// `DIR/journal.jsonl`.
    pub fn journal(&self) -> PathBuf {
        self.root.join(JOURNAL_FILE)
    }

    /// Creates the directory if needed.
    pub(crate) fn create(&self) -> Result<(), ServerError> {
        fs::create_dir_all(&self.root).map_err(io_error("create the data directory", &self.root))
    }

    /// Reads the log's signing key, or on first start (no key file and no
    /// log yet: `log_exists` is false) draws one from the operating system
    /// and writes it with mode 0600. A log without its key is an error: a
    /// new key would sign a second tree.
    pub(crate) fn load_or_create_log_key(
        &self,
        origin: &str,
        log_exists: bool,
    ) -> Result<NoteSigner, ServerError> {
        let path = self.log_key();
        match fs::read_to_string(&path) {
            Ok(text) => NoteSigner::from_skey(text.trim()).map_err(|error| ServerError::LogKey {
                path: path.clone(),
                reason: error.to_string(),
            }),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                if log_exists {
                    return Err(ServerError::LogKey {
                        path,
                        reason: "the file is missing but the log exists; restore the key".into(),
                    });
                }
                let name = KeyName::new(origin).map_err(|error| ServerError::LogKey {
                    path: path.clone(),
                    reason: format!("the origin {origin:?} cannot name a key: {error}"),
                })?;
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|error| ServerError::LogKey {
                    path: path.clone(),
                    reason: format!("drawing a random key from the operating system: {error}"),
                })?;
                let signer = NoteSigner::from_seed(name, &seed);
                write_new_private_file(&path, format!("{}\n", signer.to_skey()).as_bytes())?;
                tracing::info!(key = %path.display(), vkey = %signer.verifier().to_vkey(), "created the log's signing key");
                Ok(signer)
            }
            Err(error) => Err(io_error("read the log key", &path)(error)),
        }
    }
}

/// Maps an I/O error on `path` to a [`ServerError::Io`].
pub(crate) fn io_error<'a>(
    operation: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> ServerError + 'a {
    move |source| ServerError::Io {
        operation,
        path: path.to_owned(),
        source,
    }
}

/// Creates `path` (refusing to replace a file) readable by its owner only,
/// writes `bytes`, and makes file and name durable.
fn write_new_private_file(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(io_error("create the key file", path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error("write the key file", path))?;
    if let Some(parent) = path.parent() {
        File::open(parent)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error("sync the directory of", path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_key_is_created_once_private_and_reused() {
        let temp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(temp.path());
        let first = dir
            .load_or_create_log_key("example.org/log", false)
            .unwrap();
        let again = dir.load_or_create_log_key("example.org/log", true).unwrap();
        assert_eq!(first.verifier(), again.verifier());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.log_key()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_log_without_its_key_is_refused() {
        let temp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(temp.path());
        let error = dir
            .load_or_create_log_key("example.org/log", true)
            .unwrap_err();
        assert!(error.to_string().contains("restore the key"), "{error}");
        assert!(!dir.log_key().exists());
        fs::write(dir.log_key(), "not a key\n").unwrap();
        let error = dir
            .load_or_create_log_key("example.org/log", false)
            .unwrap_err();
        assert!(error.to_string().contains("log.key"), "{error}");
    }
}
