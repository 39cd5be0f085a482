//! `truce log witness`: a party's witness for one log, serving the c2sp.org/tlog-witness
//! `POST /add-checkpoint` endpoint over HTTP.
//!
//! The decision is `truce_note::Witness`'s; this module persists the witness's state
//! durably (temporary file, fsync, rename, fsync of the directory) before it answers, and
//! holds one lock over decision and persistence so that two requests cannot race (the race
//! tlog-witness describes: a smaller checkpoint's state written after a larger one's).

use std::fs::{self, File};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use truce_merkle::{EMPTY_ROOT, Hash};
use truce_note::{
    AddCheckpointRequest, Checkpoint, Cosigner, TreeHead, Verifier, Witness, WitnessRefusal,
    WitnessState,
};

use super::{parent_dir, parse_vkey, read_witness_key, sync_dir};

/// The largest request body accepted: 63 proof lines and a note with up to 100 signature
/// lines fit in a few kilobytes.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The first line of a witness state file.
const STATE_HEADER: &str = "truce-witness-state v1";

#[derive(Debug, Args)]
pub struct WitnessArgs {
    /// The witness's private key file (`truce log keygen --witness`).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The verifier key of the log this witness cosigns (or a file holding it).
    #[arg(long, value_name = "VKEY")]
    log_vkey: String,
    /// The log's origin line [default: the log key's name].
    #[arg(long)]
    origin: Option<String>,
    /// The file holding the latest checkpoint this witness cosigned.
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// Create the state file if it does not exist (a new witness). Without it a missing
    /// state file is an error: a witness that lost its state could cosign a fork.
    #[arg(long)]
    create_state: bool,
    /// The address to listen on, e.g. 127.0.0.1:7380 (port 0 picks a free port; the
    /// address is printed as `listening on http://ADDR`).
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    /// Allow an address other than loopback.
    #[arg(long)]
    allow_remote: bool,
}

pub fn run(args: WitnessArgs) -> anyhow::Result<ExitCode> {
    ensure!(
        args.listen.ip().is_loopback() || args.allow_remote,
        "refusing to listen on {}, which is not a loopback address (give --allow-remote to \
         serve other hosts)",
        args.listen
    );
    let cosigner = read_witness_key(&args.key)?;
    let log_key = parse_vkey(&args.log_vkey, "log verifier key")?;
    let origin = args
        .origin
        .clone()
        .unwrap_or_else(|| log_key.name().as_str().to_owned());
    Checkpoint::new(&origin, 0, EMPTY_ROOT)
        .with_context(|| format!("{origin:?} is not a valid origin line"))?;
    let state = load_state(&args.state, &origin, args.create_state)?;
    let mut witness = Witness::new(&origin, log_key, cosigner);
    if let Some(state) = state {
        witness = witness.with_state(state);
    }
    let vkey = witness.verifier().to_vkey();
    let shared = Arc::new(Shared {
        witness: Mutex::new(witness),
        state_path: args.state.clone(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let local = listener
            .local_addr()
            .context("reading the address listened on")?;
        eprintln!("witness {vkey} for the log {origin:?}");
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "listening on http://{local}")
            .and_then(|()| stdout.flush())
            .context("writing to standard output")?;
        drop(stdout);
        axum::serve(listener, app(shared))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving HTTP")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Serves a witness of the log with key `log_key` (its origin the key's name) on
/// `listener`, in this process, until `shutdown` completes: the same endpoint and state
/// file as `truce log witness` (the state is created when absent). For `truce demo`.
pub(crate) async fn serve_in_process(
    listener: tokio::net::TcpListener,
    cosigner: Cosigner,
    log_key: Verifier,
    state_path: PathBuf,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let origin = log_key.name().as_str().to_owned();
    let state = load_state(&state_path, &origin, true)?;
    let mut witness = Witness::new(&origin, log_key, cosigner);
    if let Some(state) = state {
        witness = witness.with_state(state);
    }
    let shared = Arc::new(Shared {
        witness: Mutex::new(witness),
        state_path,
    });
    axum::serve(listener, app(shared))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving the witness")
}

/// The witness and where its state lives, behind one lock.
#[derive(Debug)]
struct Shared {
    witness: Mutex<Witness>,
    state_path: PathBuf,
}

fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(shared)
}

async fn add_checkpoint(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    // The decision fsyncs: keep it off the async worker threads.
    match tokio::task::spawn_blocking(move || shared.decide(&body)).await {
        Ok(answer) => answer.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "the add-checkpoint decision failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error\n".to_owned(),
            )
        }
    }
}

/// What the witness answers.
#[derive(Debug)]
enum Answer {
    /// 200 with the cosignature line.
    Cosigned(String),
    /// A refusal with its status; the 409 for a wrong old size carries the latest size.
    Refused {
        status: u16,
        latest_size: Option<u64>,
        message: String,
    },
    /// The state could not be persisted: nothing was cosigned.
    Failed,
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match self {
            Answer::Cosigned(line) => text(StatusCode::OK, line),
            Answer::Refused {
                status,
                latest_size: Some(size),
                ..
            } => (
                StatusCode::from_u16(status).unwrap_or(StatusCode::CONFLICT),
                [(header::CONTENT_TYPE, "text/x.tlog.size")],
                format!("{size}\n"),
            )
                .into_response(),
            Answer::Refused {
                status, message, ..
            } => text(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                format!("{message}\n"),
            ),
            Answer::Failed => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the witness could not persist its state; nothing was cosigned\n".to_owned(),
            ),
        }
    }
}

impl Shared {
    /// Decides on one request. The lock is held from the check of the old size until the
    /// new state is durable; the in-memory witness advances only once it is.
    fn decide(&self, body: &[u8]) -> Answer {
        let request = match AddCheckpointRequest::parse(body) {
            Ok(request) => request,
            Err(err) => {
                return Answer::Refused {
                    status: 400,
                    latest_size: None,
                    message: format!("malformed add-checkpoint request: {err}"),
                };
            }
        };
        let mut witness = self.witness.lock().unwrap_or_else(PoisonError::into_inner);
        let mut candidate = witness.clone();
        match candidate.add_request(&request, unix_now()) {
            Ok(cosigned) => {
                let Some(state) = candidate.state() else {
                    return Answer::Failed;
                };
                if let Err(err) = save_state(&self.state_path, candidate.origin(), Some(&state)) {
                    tracing::error!(error = %format!("{err:#}"), "could not persist the witness state");
                    return Answer::Failed;
                }
                *witness = candidate;
                tracing::info!(size = cosigned.checkpoint.size(), "cosigned");
                Answer::Cosigned(cosigned.cosignature.to_line())
            }
            Err(refusal) => {
                tracing::warn!(%refusal, old_size = request.old_size, "refused a checkpoint");
                let latest_size = matches!(
                    refusal,
                    WitnessRefusal::OldSizeMismatch { .. }
                        | WitnessRefusal::SizeWentBackwards { .. }
                )
                .then(|| witness.state().map_or(0, |state| state.tree.size));
                Answer::Refused {
                    status: refusal.http_status(),
                    latest_size,
                    message: refusal.to_string(),
                }
            }
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

// ---------------------------------------------------------------------------------------
// The state file
//
//     truce-witness-state v1
//     origin <origin>
//     size <decimal>          (these three lines only once a checkpoint was cosigned)
//     root <base64 hash>
//     time <POSIX seconds of the latest cosignature>

/// Loads the state for `origin`; a missing file is created (empty) with `create`, else an
/// error.
fn load_state(path: &Path, origin: &str, create: bool) -> anyhow::Result<Option<WitnessState>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            if !create {
                bail!(
                    "the witness state {} does not exist; a witness that lost its state could \
                     cosign a fork of the log, so a new state is only created with --create-state",
                    path.display()
                );
            }
            save_state(path, origin, None)?;
            return Ok(None);
        }
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    parse_state(&text, origin)
        .with_context(|| format!("reading the witness state {}", path.display()))
}

fn parse_state(text: &str, origin: &str) -> anyhow::Result<Option<WitnessState>> {
    let mut lines = text.lines().enumerate().map(|(idx, line)| (idx + 1, line));
    let mut next = |key: &str| -> anyhow::Result<Option<String>> {
        match lines.next() {
            None => Ok(None),
            Some((number, line)) => line
                .strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(|value| Some(value.to_owned()))
                .with_context(|| format!("line {number}: expected `{key} ...`, found {line:?}")),
        }
    };
    ensure!(
        text.lines().next() == Some(STATE_HEADER),
        "line 1: expected {STATE_HEADER:?}"
    );
    next("truce-witness-state")?;
    let stored_origin = next("origin")?.context("line 2: the origin line is missing")?;
    ensure!(
        stored_origin == origin,
        "the state is for the log {stored_origin:?}, not {origin:?}"
    );
    let Some(size) = next("size")? else {
        return Ok(None);
    };
    let size: u64 = size
        .parse()
        .with_context(|| format!("line 3: {size:?} is not a tree size"))?;
    let root = next("root")?.context("line 4: the root line is missing")?;
    let root = STANDARD
        .decode(&root)
        .ok()
        .and_then(|bytes| Hash::from_slice(&bytes).ok())
        .with_context(|| format!("line 4: {root:?} is not the base64 of a 32-byte hash"))?;
    let time = next("time")?.context("line 5: the time line is missing")?;
    let timestamp: u64 = time
        .parse()
        .with_context(|| format!("line 5: {time:?} is not a POSIX time"))?;
    Ok(Some(WitnessState {
        tree: TreeHead { size, root },
        timestamp,
    }))
}

/// Writes the state durably: a temporary file in the same directory, fsynced, renamed over
/// the state file, then the directory fsynced.
fn save_state(path: &Path, origin: &str, state: Option<&WitnessState>) -> anyhow::Result<()> {
    let mut text = format!("{STATE_HEADER}\norigin {origin}\n");
    if let Some(state) = state {
        text.push_str(&format!(
            "size {}\nroot {}\ntime {}\n",
            state.tree.size,
            STANDARD.encode(state.tree.root.as_bytes()),
            state.timestamp
        ));
    }
    let dir = parent_dir(path).unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let temp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    (|| -> io::Result<()> {
        let mut file = File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })()
    .with_context(|| format!("writing the witness state {}", path.display()))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_refuses_another_origin() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        assert!(load_state(&path, "example.org/log", false).is_err());
        assert_eq!(load_state(&path, "example.org/log", true).unwrap(), None);
        let state = WitnessState {
            tree: TreeHead {
                size: 1000,
                root: truce_merkle::leaf_hash(b"x"),
            },
            timestamp: 1_750_000_000,
        };
        save_state(&path, "example.org/log", Some(&state)).unwrap();
        assert_eq!(
            load_state(&path, "example.org/log", false).unwrap(),
            Some(state)
        );
        let err = load_state(&path, "example.org/other", false).unwrap_err();
        assert!(
            format!("{err:#}").contains("not \"example.org/other\""),
            "{err:#}"
        );
        fs::write(
            &path,
            "truce-witness-state v1\norigin example.org/log\nsize x\n",
        )
        .unwrap();
        let err = load_state(&path, "example.org/log", false).unwrap_err();
        assert!(format!("{err:#}").contains("line 3"), "{err:#}");
    }
}
