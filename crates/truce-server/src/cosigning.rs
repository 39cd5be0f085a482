//! Cosigning in the background: with witnesses configured, a task asks them
//! to cosign the log's latest checkpoint after the log grows and publishes
//! `checkpoint.cosigned` in the log directory, exactly as `truce log cosign`
//! does (both through `truce-cosign`).
//!
//! Rounds are at least [`ServerConfig::cosign_interval_ms`] apart, so a
//! burst of submissions is cosigned once; the HTTP exchange runs on the
//! blocking pool and never holds the log's lock (the checkpoint is copied
//! out first, the tiles are read from the directory), so submissions never
//! wait for a witness. A round that fails is logged and retried after the
//! next interval (doubling up to a minute while it keeps failing). The task
//! stops at shutdown without waiting for a round in flight.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use truce_cosign::Witnesses;
use truce_log::Log;
use truce_note::Verifier;

use crate::config::{ConfigError, ServerConfig};

/// The longest pause between retries while rounds keep failing.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A witness of the log as configured: its URL (without a trailing slash)
/// and its key.
#[derive(Debug, Clone)]
pub(crate) struct ConfiguredWitness {
    pub url: String,
    pub key: Verifier,
}

/// The witnesses of `config`, their keys parsed.
///
/// # Errors
///
/// [`ConfigError::Invalid`] for a key that does not parse (the
/// configuration's validation refuses those first).
pub(crate) fn configured(config: &ServerConfig) -> Result<Vec<ConfiguredWitness>, ConfigError> {
    config
        .witnesses
        .iter()
        .map(|witness| {
            let key =
                Verifier::from_vkey(witness.vkey.trim()).map_err(|_| ConfigError::Invalid {
                    field: "witnesses.vkey",
                    value: format!("{:?}", witness.vkey),
                    reason: "must be a witness's cosignature/v1 verifier key",
                })?;
            Ok(ConfiguredWitness {
                url: witness.url.trim_end_matches('/').to_owned(),
                key,
            })
        })
        .collect()
}

/// The running task and the switch that stops it.
#[derive(Debug)]
pub(crate) struct Cosigning {
    task: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

impl Cosigning {
    /// Starts the task for `witnesses` (none: no task) over the log kept in
    /// `log_dir`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for witness URLs that cannot be used.
    pub(crate) fn start(
        witnesses: &[ConfiguredWitness],
        log: Arc<RwLock<Log>>,
        log_dir: PathBuf,
        interval: Duration,
    ) -> Result<Option<Self>, ConfigError> {
        if witnesses.is_empty() {
            return Ok(None);
        }
        let pairs: Vec<(String, Verifier)> = witnesses
            .iter()
            .map(|witness| (witness.url.clone(), witness.key.clone()))
            .collect();
        let client = Witnesses::with_keys(&pairs).map_err(|error| ConfigError::Invalid {
            field: "witnesses.url",
            value: error.to_string(),
            reason: "cannot be used",
        })?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(Arc::new(client), log, log_dir, interval, stopped));
        Ok(Some(Self { task, stop }))
    }

    /// Stops the task (a round in flight finishes on its blocking thread,
    /// unobserved) and waits for it.
    pub(crate) async fn stop(self) {
        self.stop.send_replace(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the cosigning task failed");
        }
    }
}

/// The task: every `interval`, if the log has grown past what was last
/// cosigned, one round of cosigning.
async fn run(
    witnesses: Arc<Witnesses>,
    log: Arc<RwLock<Log>>,
    log_dir: PathBuf,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let dir = log_dir.clone();
    let mut cosigned = tokio::task::spawn_blocking(move || truce_cosign::read_cosigned(&dir))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .map_or(0, |(_, checkpoint)| checkpoint.size());
    let mut pause = interval;
    loop {
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        let (note, checkpoint) = {
            let log = log.read().unwrap_or_else(PoisonError::into_inner);
            (log.checkpoint_note().clone(), log.checkpoint().clone())
        };
        let size = checkpoint.size();
        if size <= cosigned {
            pause = interval;
            continue;
        }
        let witnesses = Arc::clone(&witnesses);
        let dir = log_dir.clone();
        let round = tokio::task::spawn_blocking(move || witnesses.cosign(&dir, &note, &checkpoint));
        let outcome = tokio::select! {
            outcome = round => outcome,
            _ = stopped.wait_for(|stop| *stop) => return,
        };
        match outcome {
            Ok(Ok(note)) => {
                cosigned = size;
                pause = interval;
                tracing::info!(
                    size,
                    cosignatures = note.signatures().len().saturating_sub(1),
                    "the witnesses cosigned the checkpoint"
                );
            }
            Ok(Err(truce_cosign::CosignError::Newer { existing, .. })) => {
                cosigned = existing;
                pause = interval;
            }
            Ok(Err(error)) => {
                pause = (pause * 2).min(MAX_BACKOFF).max(interval);
                tracing::warn!(
                    size,
                    retry_in_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                    error = %error,
                    "cosigning failed; will retry"
                );
            }
            Err(error) => {
                pause = (pause * 2).min(MAX_BACKOFF).max(interval);
                tracing::error!(%error, "the cosigning round panicked; will retry");
            }
        }
    }
}
