//! `truce log cosign`: the log's side of c2sp.org/tlog-witness. The latest checkpoint goes
//! to each witness with a consistency proof from the size that witness last cosigned; the
//! cosignatures are collected and published as `checkpoint.cosigned`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use clap::Args;
use truce_log::{FsTileStore, TileReader};
use truce_note::{AddCheckpointRequest, Checkpoint, Note, NoteSignature, Verifier};

use super::{
    COSIGNED_FILE, WITNESS_SIZES_FILE, parse_vkey, read_checkpoint, read_log_key, write_atomic,
};

/// How long one request to a witness may take, connection included.
const WITNESS_TIMEOUT: Duration = Duration::from_secs(30);

/// How many `add-checkpoint` requests one witness gets per checkpoint: the first, and
/// retries from the size a `409 Conflict` names.
const MAX_ATTEMPTS: usize = 4;

/// The largest response body read from a witness.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

#[derive(Debug, Args)]
pub struct CosignArgs {
    /// The log directory.
    dir: PathBuf,
    /// The log's private key file (only its public half is used, to check the checkpoint).
    #[arg(long, value_name = "FILE", required_unless_present = "vkey")]
    key: Option<PathBuf>,
    /// The log's verifier key, instead of --key.
    #[arg(long, value_name = "VKEY", conflicts_with = "key")]
    vkey: Option<String>,
    /// A witness's URL (its submission prefix; requests go to URL/add-checkpoint).
    /// Repeat for each witness: all must cosign.
    #[arg(long = "witness", value_name = "URL", required = true)]
    witnesses: Vec<String>,
    /// A witness verifier key: each witness's cosignatures must verify under the listed
    /// keys (lines from other keys are dropped). Repeatable.
    #[arg(long = "witness-vkey", value_name = "VKEY")]
    witness_vkeys: Vec<String>,
}

pub fn run(args: CosignArgs) -> anyhow::Result<ExitCode> {
    let log_key = match (&args.key, &args.vkey) {
        (Some(path), _) => read_log_key(path)?.verifier(),
        (None, Some(vkey)) => parse_vkey(vkey, "log verifier key")?,
        (None, None) => bail!("give the log's key with --key or --vkey"),
    };
    let (note, checkpoint) = read_checkpoint(&args.dir)?;
    note.verify(std::slice::from_ref(&log_key))
        .with_context(|| {
            format!(
                "{} is not signed by {}",
                args.dir.join(truce_log::CHECKPOINT_FILE).display(),
                log_key.name()
            )
        })?;
    let witnesses = Witnesses::new(&args.witnesses, &args.witness_vkeys)?;
    let cosigned = witnesses.cosign(&args.dir, &note, &checkpoint)?;
    print!("{cosigned}");
    eprintln!(
        "{} witnesses cosigned the checkpoint of size {}; published {}",
        args.witnesses.len(),
        checkpoint.size(),
        args.dir.join(COSIGNED_FILE).display()
    );
    Ok(ExitCode::SUCCESS)
}

/// One witness: the URL it was given by and its `add-checkpoint` endpoint.
#[derive(Debug)]
struct Endpoint {
    url: String,
    add_checkpoint: String,
}

/// The witnesses a log asks to cosign its checkpoints.
#[derive(Debug)]
pub struct Witnesses {
    endpoints: Vec<Endpoint>,
    known: Vec<Verifier>,
    agent: ureq::Agent,
}

impl Witnesses {
    /// Witnesses at these URLs; with `vkeys`, cosignatures must verify under them.
    pub fn new(urls: &[String], vkeys: &[String]) -> anyhow::Result<Self> {
        let mut endpoints: Vec<Endpoint> = Vec::new();
        for url in urls {
            ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "witness {url:?} is not an http:// or https:// URL"
            );
            let base = url.trim_end_matches('/').to_owned();
            ensure!(
                endpoints.iter().all(|endpoint| endpoint.url != base),
                "witness {url} is given twice"
            );
            endpoints.push(Endpoint {
                add_checkpoint: format!("{base}/add-checkpoint"),
                url: base,
            });
        }
        let known = vkeys
            .iter()
            .map(|vkey| parse_vkey(vkey, "witness verifier key"))
            .collect::<anyhow::Result<Vec<_>>>()?;
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

    /// Asks every witness, in parallel, to cosign `note` (the log's signed `checkpoint`,
    /// the latest of the log in `dir`), and publishes the note with all cosignatures as
    /// `dir/checkpoint.cosigned` (atomically and durably). Fails, publishing nothing, unless
    /// every witness cosigned; the witnesses' sizes are remembered either way.
    pub fn cosign(&self, dir: &Path, note: &Note, checkpoint: &Checkpoint) -> anyhow::Result<Note> {
        let mut sizes = read_sizes(dir);
        let store = FsTileStore::open_existing(dir);
        let reader = TileReader::new(&store, checkpoint.size());
        let note_bytes = note.to_bytes();
        let results: Vec<anyhow::Result<Vec<NoteSignature>>> = std::thread::scope(|scope| {
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
                        .unwrap_or_else(|_| Err(anyhow!("the request thread panicked")))
                })
                .collect()
        });

        let mut cosigned = note.clone();
        let mut failures = Vec::new();
        for (endpoint, result) in self.endpoints.iter().zip(results) {
            match result.and_then(|lines| self.keep_known(checkpoint, lines)) {
                Ok(lines) => {
                    sizes.insert(endpoint.url.clone(), checkpoint.size());
                    for line in lines {
                        cosigned
                            .push_signature(line)
                            .context("adding a cosignature to the checkpoint")?;
                    }
                }
                Err(err) => failures.push(format!("{}: {err:#}", endpoint.url)),
            }
        }
        if let Err(err) = write_sizes(dir, &sizes) {
            tracing::warn!(error = %format!("{err:#}"), "could not record the witnesses' sizes");
        }
        if !failures.is_empty() {
            bail!(
                "{} of {} witnesses did not cosign the checkpoint of size {}; {} not updated:\n  {}",
                failures.len(),
                self.endpoints.len(),
                checkpoint.size(),
                COSIGNED_FILE,
                failures.join("\n  ")
            );
        }
        // Never replace a larger cosigned checkpoint (another run cosigned a newer one).
        let published = dir.join(COSIGNED_FILE);
        if let Ok(bytes) = fs::read(&published)
            && let Ok(existing) = Note::parse(&bytes)
            && let Ok(existing) = Checkpoint::from_text(existing.text())
            && existing.size() > checkpoint.size()
        {
            bail!(
                "{} already holds a cosigned checkpoint of size {}, larger than {}; not replaced",
                published.display(),
                existing.size(),
                checkpoint.size()
            );
        }
        write_atomic(&published, &cosigned.to_bytes(), true)?;
        Ok(cosigned)
    }

    /// With known witness keys, keeps the lines of known keys, which must verify, and
    /// requires at least one; without, keeps every line.
    fn keep_known(
        &self,
        checkpoint: &Checkpoint,
        lines: Vec<NoteSignature>,
    ) -> anyhow::Result<Vec<NoteSignature>> {
        if self.known.is_empty() {
            return Ok(lines);
        }
        let lines: Vec<NoteSignature> = lines
            .into_iter()
            .filter(|line| {
                self.known
                    .iter()
                    .any(|key| key.matches(line.name(), line.key_id()))
            })
            .collect();
        ensure!(
            !lines.is_empty(),
            "the witness answered with no cosignature from a --witness-vkey key"
        );
        Note::new(&checkpoint.to_text(), lines.clone())
            .context("assembling the cosigned checkpoint")?
            .verify(&self.known)
            .context("the witness's cosignature does not verify")?;
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
    ) -> anyhow::Result<Vec<NoteSignature>> {
        let size = checkpoint.size();
        let mut old = start;
        let mut tried = Vec::new();
        for _ in 0..MAX_ATTEMPTS {
            ensure!(
                old <= size,
                "the witness has cosigned a tree of size {old}, larger than this checkpoint of \
                 size {size}: it has seen a larger tree of this log (a fork, or this directory \
                 is behind the log)"
            );
            tried.push(old);
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                truce_merkle::consistency_proof(reader, old, size).with_context(|| {
                    format!("proving size {old} consistent with size {size} from the tiles")
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
                .with_context(|| format!("POST {}", endpoint.add_checkpoint))?;
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
                .with_context(|| format!("reading the answer of {}", endpoint.add_checkpoint))?;
            let answer = String::from_utf8_lossy(&answer).into_owned();
            match status {
                200 => {
                    return NoteSignature::parse_lines(&answer).with_context(|| {
                        format!("the witness answered 200 but not with signature lines: {answer:?}")
                    });
                }
                409 if content_type.starts_with("text/x.tlog.size") => {
                    let latest: u64 = answer.trim_end_matches('\n').parse().with_context(|| {
                        format!("the witness answered 409 with a malformed size {answer:?}")
                    })?;
                    ensure!(
                        !tried.contains(&latest),
                        "the witness refused the checkpoint of size {size} from old size {old} \
                         (409 Conflict: it is at size {latest})"
                    );
                    old = latest;
                }
                _ => bail!(
                    "the witness refused the checkpoint of size {size} (HTTP {status}): {}",
                    answer.trim()
                ),
            }
        }
        bail!("the witness kept naming other sizes after {MAX_ATTEMPTS} requests (tried {tried:?})")
    }
}

/// Reads the witnesses' last known sizes (`<size> <url>` lines); a missing or malformed file
/// only costs a `409 Conflict` round trip, so it is not an error.
fn read_sizes(dir: &Path) -> BTreeMap<String, u64> {
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

fn write_sizes(dir: &Path, sizes: &BTreeMap<String, u64>) -> anyhow::Result<()> {
    let text: String = sizes
        .iter()
        .map(|(url, size)| format!("{size} {url}\n"))
        .collect();
    write_atomic(&dir.join(WITNESS_SIZES_FILE), text.as_bytes(), false)
}
