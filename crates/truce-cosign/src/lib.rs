//! The log's side of c2sp.org/tlog-witness, for `truce log cosign`, `truce log append
//! --witness` and the service: the latest checkpoint of a log directory goes to each
//! witness with a consistency proof from the size that witness last cosigned; the
//! cosignatures are collected and published as `checkpoint.cosigned` next to the
//! checkpoint (`docs/log-format.md`, "Cosigning").
//!
//! One job only: it talks HTTP to witnesses (blocking, with `ureq`) and writes two files in
//! the log directory. The tree, the proofs and the signatures are `truce-merkle`'s,
//! `truce-log`'s and `truce-note`'s; the witness itself is `truce_note::Witness`.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use truce_log::{FsTileStore, TileReader};
use truce_note::{AddCheckpointRequest, Checkpoint, Note, NoteError, NoteSignature, Verifier};

/// The cosigned checkpoint, published next to `checkpoint` once witnesses cosigned it.
pub const COSIGNED_FILE: &str = "checkpoint.cosigned";

/// The log side's record of each witness's last known size (not part of the public layout).
pub const WITNESS_SIZES_FILE: &str = ".witness-sizes";

/// How long one request to a witness may take, connection included.
const WITNESS_TIMEOUT: Duration = Duration::from_secs(30);

/// How many `add-checkpoint` requests one witness gets per checkpoint: the first, and
/// retries from the size a `409 Conflict` names.
const MAX_ATTEMPTS: usize = 4;

/// The largest response body read from a witness.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// Why witnesses could not be asked, or did not all cosign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CosignError {
    /// A witness URL is not `http://` or `https://`.
    #[error("witness {url:?} is not an http:// or https:// URL")]
    NotHttp {
        /// The URL as given.
        url: String,
    },
    /// The same witness URL is given twice.
    #[error("witness {url} is given twice")]
    Duplicate {
        /// The URL as given.
        url: String,
    },
    /// Some witnesses did not cosign; nothing was published.
    #[error(
        "{} of {total} witnesses did not cosign the checkpoint of size {size}; {COSIGNED_FILE} not updated:\n  {}",
        .failures.len(),
        .failures.join("\n  ")
    )]
    NotCosigned {
        /// How many witnesses were asked.
        total: usize,
        /// The checkpoint's size.
        size: u64,
        /// `<url>: <why>` for each witness that did not cosign.
        failures: Vec<String>,
    },
    /// The published cosigned checkpoint is of a larger tree; it is kept.
    #[error(
        "{} already holds a cosigned checkpoint of size {existing}, larger than {size}; not replaced",
        .path.display()
    )]
    Newer {
        /// The published file.
        path: PathBuf,
        /// Its size.
        existing: u64,
        /// The size cosigned now.
        size: u64,
    },
    /// A cosignature could not be added to the note (too many signatures).
    #[error("adding a cosignature to the checkpoint: {error}")]
    Note {
        /// Why.
        error: NoteError,
    },
    /// A file of the log directory could not be read or written.
    #[error("{what} {}: {error}", .path.display())]
    Io {
        /// `reading` or `writing`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },
}

/// One witness: the URL it was given by, its `add-checkpoint` endpoint, and the key its
/// cosignatures must verify under, if known.
#[derive(Debug, Clone)]
struct Endpoint {
    url: String,
    add_checkpoint: String,
    key: Option<Verifier>,
}

/// The witnesses a log asks to cosign its checkpoints.
#[derive(Debug)]
pub struct Witnesses {
    endpoints: Vec<Endpoint>,
    known: Vec<Verifier>,
    agent: ureq::Agent,
}

impl Witnesses {
    /// Witnesses at these URLs; with `known` keys, each witness's cosignatures must verify
    /// under them (lines from other keys are dropped, and at least one must remain).
    ///
    /// # Errors
    ///
    /// [`CosignError::NotHttp`] and [`CosignError::Duplicate`] for URLs that cannot be
    /// used.
    pub fn new(urls: &[String], known: Vec<Verifier>) -> Result<Self, CosignError> {
        let endpoints = urls
            .iter()
            .map(|url| (url.as_str(), None))
            .collect::<Vec<_>>();
        Self::build(&endpoints, known)
    }

    /// Witnesses each with its own key: a witness's answer must carry a cosignature by
    /// its key, which must verify (lines from other keys are dropped).
    ///
    /// # Errors
    ///
    /// As [`Witnesses::new`].
    pub fn with_keys(witnesses: &[(String, Verifier)]) -> Result<Self, CosignError> {
        let endpoints = witnesses
            .iter()
            .map(|(url, key)| (url.as_str(), Some(key.clone())))
            .collect::<Vec<_>>();
        Self::build(&endpoints, Vec::new())
    }

    fn build(
        witnesses: &[(&str, Option<Verifier>)],
        known: Vec<Verifier>,
    ) -> Result<Self, CosignError> {
        let mut endpoints: Vec<Endpoint> = Vec::new();
        for (url, key) in witnesses {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(CosignError::NotHttp {
                    url: (*url).to_owned(),
                });
            }
            let base = url.trim_end_matches('/').to_owned();
            if endpoints.iter().any(|endpoint| endpoint.url == base) {
                return Err(CosignError::Duplicate {
                    url: (*url).to_owned(),
                });
            }
            endpoints.push(Endpoint {
                add_checkpoint: format!("{base}/add-checkpoint"),
                url: base,
                key: key.clone(),
            });
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(WITNESS_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Ok(Witnesses {
            endpoints,
            known,
            agent,
        })
    }

    /// The witnesses' URLs (without a trailing slash), in the order given.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.endpoints.iter().map(|endpoint| endpoint.url.as_str())
    }

    /// How many witnesses there are.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// Asks every witness, in parallel, to cosign `note` (the log's signed `checkpoint`,
    /// the latest of the log in `dir`), and publishes the note with all cosignatures as
    /// `dir/checkpoint.cosigned` (atomically and durably). Fails, publishing nothing, unless
    /// every witness cosigned; the witnesses' sizes are remembered either way. Blocks on
    /// HTTP: call it from a thread that may block.
    ///
    /// # Errors
    ///
    /// [`CosignError::NotCosigned`] naming each witness that did not cosign and why,
    /// [`CosignError::Newer`] when a larger cosigned checkpoint is already published,
    /// [`CosignError::Io`] and [`CosignError::Note`] when the result cannot be written.
    pub fn cosign(
        &self,
        dir: &Path,
        note: &Note,
        checkpoint: &Checkpoint,
    ) -> Result<Note, CosignError> {
        let mut sizes = last_sizes(dir);
        let store = FsTileStore::open_existing(dir);
        let reader = TileReader::new(&store, checkpoint.size());
        let note_bytes = note.to_bytes();
        let results: Vec<Result<Vec<NoteSignature>, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .endpoints
                .iter()
                .map(|endpoint| {
                    let start = sizes.get(&endpoint.url).copied().unwrap_or(0);
                    let reader = &reader;
                    let note_bytes = &note_bytes;
                    scope.spawn(move || {
                        self.add_checkpoint(endpoint, note_bytes, checkpoint, reader, start)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|_| Err("the request thread panicked".to_owned()))
                })
                .collect()
        });

        let mut cosigned = note.clone();
        let mut failures = Vec::new();
        for (endpoint, result) in self.endpoints.iter().zip(results) {
            match result.and_then(|lines| self.keep_known(endpoint, checkpoint, lines)) {
                Ok(lines) => {
                    sizes.insert(endpoint.url.clone(), checkpoint.size());
                    for line in lines {
                        cosigned
                            .push_signature(line)
                            .map_err(|error| CosignError::Note { error })?;
                    }
                }
                Err(reason) => failures.push(format!("{}: {reason}", endpoint.url)),
            }
        }
        if let Err(error) = write_sizes(dir, &sizes) {
            tracing::warn!(%error, "could not record the witnesses' sizes");
        }
        if !failures.is_empty() {
            return Err(CosignError::NotCosigned {
                total: self.endpoints.len(),
                size: checkpoint.size(),
                failures,
            });
        }
        // Never replace a larger cosigned checkpoint (another run cosigned a newer one).
        let published = dir.join(COSIGNED_FILE);
        if let Ok(Some((_, existing))) = read_cosigned(dir)
            && existing.size() > checkpoint.size()
        {
            return Err(CosignError::Newer {
                path: published,
                existing: existing.size(),
                size: checkpoint.size(),
            });
        }
        write_atomic(&published, &cosigned.to_bytes(), true)?;
        Ok(cosigned)
    }

    /// With known witness keys (the endpoint's own, else the shared list), keeps the lines
    /// of known keys, which must verify, and requires at least one; without, keeps every
    /// line.
    fn keep_known(
        &self,
        endpoint: &Endpoint,
        checkpoint: &Checkpoint,
        lines: Vec<NoteSignature>,
    ) -> Result<Vec<NoteSignature>, String> {
        let known = match &endpoint.key {
            Some(key) => std::slice::from_ref(key),
            None => self.known.as_slice(),
        };
        if known.is_empty() {
            return Ok(lines);
        }
        let lines: Vec<NoteSignature> = lines
            .into_iter()
            .filter(|line| {
                known
                    .iter()
                    .any(|key| key.matches(line.name(), line.key_id()))
            })
            .collect();
        if lines.is_empty() {
            return Err(if endpoint.key.is_some() {
                "the witness answered with no cosignature from its key".to_owned()
            } else {
                "the witness answered with no cosignature from a --witness-vkey key".to_owned()
            });
        }
        Note::new(&checkpoint.to_text(), lines.clone())
            .map_err(|error| format!("assembling the cosigned checkpoint: {error}"))?
            .verify(known)
            .map_err(|error| format!("the witness's cosignature does not verify: {error}"))?;
        Ok(lines)
    }

    /// One witness's `add-checkpoint` exchange: send the checkpoint with a consistency
    /// proof from `start`, and on `409 Conflict` with a `text/x.tlog.size` body retry from
    /// the size the witness names (c2sp.org/tlog-witness).
    fn add_checkpoint(
        &self,
        endpoint: &Endpoint,
        note: &[u8],
        checkpoint: &Checkpoint,
        reader: &TileReader<'_, FsTileStore>,
        start: u64,
    ) -> Result<Vec<NoteSignature>, String> {
        let size = checkpoint.size();
        let mut old = start;
        let mut tried = Vec::new();
        for _ in 0..MAX_ATTEMPTS {
            if old > size {
                return Err(format!(
                    "the witness has cosigned a tree of size {old}, larger than this checkpoint \
                     of size {size}: it has seen a larger tree of this log (a fork, or this \
                     directory is behind the log)"
                ));
            }
            tried.push(old);
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                truce_merkle::consistency_proof(reader, old, size).map_err(|error| {
                    format!(
                        "proving size {old} consistent with size {size} from the tiles: {error}"
                    )
                })?
            };
            let body = AddCheckpointRequest {
                old_size: old,
                proof,
                note: note.to_vec(),
            }
            .to_bytes();
            let mut response = self
                .agent
                .post(&endpoint.add_checkpoint)
                .content_type("text/plain; charset=utf-8")
                .send(&body[..])
                .map_err(|error| format!("POST {}: {error}", endpoint.add_checkpoint))?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let answer = response
                .body_mut()
                .with_config()
                .limit(MAX_RESPONSE_BYTES)
                .read_to_vec()
                .map_err(|error| {
                    format!("reading the answer of {}: {error}", endpoint.add_checkpoint)
                })?;
            let answer = String::from_utf8_lossy(&answer).into_owned();
            match status {
                200 => {
                    return NoteSignature::parse_lines(&answer).map_err(|error| {
                        format!(
                            "the witness answered 200 but not with signature lines: \
                             {answer:?}: {error}"
                        )
                    });
                }
                409 if content_type.starts_with("text/x.tlog.size") => {
                    let latest: u64 = answer.trim_end_matches('\n').parse().map_err(|error| {
                        format!(
                            "the witness answered 409 with a malformed size {answer:?}: {error}"
                        )
                    })?;
                    if tried.contains(&latest) {
                        return Err(format!(
                            "the witness refused the checkpoint of size {size} from old size \
                             {old} (409 Conflict: it is at size {latest})"
                        ));
                    }
                    old = latest;
                }
                _ => {
                    return Err(format!(
                        "the witness refused the checkpoint of size {size} (HTTP {status}): {}",
                        answer.trim()
                    ));
                }
            }
        }
        Err(format!(
            "the witness kept naming other sizes after {MAX_ATTEMPTS} requests (tried {tried:?})"
        ))
    }
}

/// The witnesses' last known sizes in the log directory `dir`, by URL (`<size> <url>`
/// lines of [`WITNESS_SIZES_FILE`]): the size each last cosigned for this log. A missing or
/// malformed file only costs a `409 Conflict` round trip, so it reads as empty.
pub fn last_sizes(dir: &Path) -> BTreeMap<String, u64> {
    let Ok(text) = fs::read_to_string(dir.join(WITNESS_SIZES_FILE)) else {
        return BTreeMap::new();
    };
    text.lines()
        .filter_map(|line| {
            let (size, url) = line.split_once(' ')?;
            Some((url.to_owned(), size.parse().ok()?))
        })
        .collect()
}

/// The published cosigned checkpoint of the log directory `dir`, parsed but not verified;
/// `None` when there is none yet.
///
/// # Errors
///
/// [`CosignError::Io`] when the file exists but cannot be read or is not a signed
/// checkpoint.
pub fn read_cosigned(dir: &Path) -> Result<Option<(Note, Checkpoint)>, CosignError> {
    let path = dir.join(COSIGNED_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(CosignError::Io {
                what: "reading",
                path,
                error,
            });
        }
    };
    let malformed = |path: PathBuf, reason: String| CosignError::Io {
        what: "reading",
        path,
        error: io::Error::new(io::ErrorKind::InvalidData, reason),
    };
    let note = Note::parse(&bytes)
        .map_err(|error| malformed(path.clone(), format!("not a signed note: {error}")))?;
    let checkpoint = Checkpoint::from_text(note.text())
        .map_err(|error| malformed(path.clone(), format!("not a checkpoint: {error}")))?;
    Ok(Some((note, checkpoint)))
}

fn write_sizes(dir: &Path, sizes: &BTreeMap<String, u64>) -> Result<(), CosignError> {
    let text: String = sizes
        .iter()
        .map(|(url, size)| format!("{size} {url}\n"))
        .collect();
    write_atomic(&dir.join(WITNESS_SIZES_FILE), text.as_bytes(), false)
}

/// Writes a file atomically: a hidden temporary file in the same directory, renamed over
/// the target. With `durable`, the file and then its directory are fsynced.
fn write_atomic(path: &Path, bytes: &[u8], durable: bool) -> Result<(), CosignError> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(path.file_name().unwrap_or_default());
    temp_name.push(".tmp");
    let temp = dir.join(temp_name);
    let result = (|| -> io::Result<()> {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        fs::rename(&temp, path)?;
        if durable {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if let Err(error) = result {
        let _ = fs::remove_file(&temp);
        return Err(CosignError::Io {
            what: "writing",
            path: path.to_owned(),
            error,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn urls_are_checked_and_sizes_read_back() {
        let err = Witnesses::new(&["ftp://w.example".to_owned()], Vec::new()).unwrap_err();
        assert!(err.to_string().contains("not an http://"), "{err}");
        let err = Witnesses::new(
            &[
                "http://w.example/".to_owned(),
                "http://w.example".to_owned(),
            ],
            Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("given twice"), "{err}");
        let witnesses = Witnesses::new(&["http://w.example/".to_owned()], Vec::new()).unwrap();
        assert_eq!(witnesses.urls().collect::<Vec<_>>(), ["http://w.example"]);

        let dir = tempfile::tempdir().unwrap();
        assert!(last_sizes(dir.path()).is_empty());
        assert!(read_cosigned(dir.path()).unwrap().is_none());
        let sizes = BTreeMap::from([("http://a".to_owned(), 5), ("http://b".to_owned(), 7)]);
        write_sizes(dir.path(), &sizes).unwrap();
        assert_eq!(last_sizes(dir.path()), sizes);
        fs::write(dir.path().join(COSIGNED_FILE), "not a note").unwrap();
        assert!(read_cosigned(dir.path()).is_err());
    }

    #[test]
    fn a_witness_that_is_down_is_named_and_nothing_is_published() {
        let dir = tempfile::tempdir().unwrap();
        let signer = truce_note::NoteSigner::from_seed(
            truce_note::KeyName::new("log.example").unwrap(),
            &[7; 32],
        );
        let checkpoint = Checkpoint::new("log.example", 0, truce_merkle::EMPTY_ROOT).unwrap();
        let note = checkpoint.sign(&signer);
        // A port nobody listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let witnesses = Witnesses::new(std::slice::from_ref(&url), Vec::new()).unwrap();
        let err = witnesses
            .cosign(dir.path(), &note, &checkpoint)
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("1 of 1 witnesses did not cosign"),
            "{text}"
        );
        assert!(text.contains(&url), "{text}");
        assert!(!dir.path().join(COSIGNED_FILE).exists());
    }
}
