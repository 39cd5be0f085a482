//! The demo's witnesses: one per party (`witness.ua.example`, `witness.ru.example`), run in
//! this process as `truce log witness` runs them (the same endpoint and state files), so the
//! service's checkpoints are co-signed by both parties' witnesses and the dashboard's proof
//! check names them.
//!
//! Their keys are derived from the demo seed into the demo's key folder; their state files
//! live in `DIR/demo/witnesses/`. Each listens on a loopback port bound before the service
//! opens (the service is told the URLs); they start answering once the log's key is known,
//! and requests made meanwhile wait in the listener's queue.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use truce_note::{Cosigner, Verifier};
use truce_server::WitnessConfig;

use super::keys::{WITNESSES, write_witness_key};
use crate::log_cmd::witness::serve_in_process;

/// The witnesses with their ports bound, not yet serving.
#[derive(Debug)]
pub struct BoundWitnesses {
    witnesses: Vec<(Cosigner, TcpListener, PathBuf)>,
    configs: Vec<WitnessConfig>,
}

/// The witnesses serving; [`RunningWitnesses::stop`] ends them (dropping does too, without
/// waiting).
#[derive(Debug)]
pub struct RunningWitnesses {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
}

impl BoundWitnesses {
    /// Writes the witnesses' keys into `keys_dir`, makes `state_dir` and binds a loopback
    /// port for each.
    pub async fn bind(keys_dir: &Path, state_dir: &Path, seed: u64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(state_dir)
            .with_context(|| format!("creating {}", state_dir.display()))?;
        let mut witnesses = Vec::new();
        let mut configs = Vec::new();
        for (name, _party) in WITNESSES {
            let cosigner = write_witness_key(keys_dir, seed, name)?;
            let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
                .await
                .with_context(|| format!("listening on a loopback port for the witness {name}"))?;
            let address = listener
                .local_addr()
                .context("reading the witness's address")?;
            configs.push(WitnessConfig {
                url: format!("http://{address}"),
                vkey: cosigner.verifier().to_vkey(),
            });
            witnesses.push((cosigner, listener, state_dir.join(format!("{name}.state"))));
        }
        Ok(Self { witnesses, configs })
    }

    /// The service's `witnesses` setting for them.
    pub fn configs(&self) -> Vec<WitnessConfig> {
        self.configs.clone()
    }

    /// Starts serving, as witnesses of the log with key `log_key`.
    pub fn serve(self, log_key: &Verifier) -> RunningWitnesses {
        let (stop, stopped) = watch::channel(false);
        let tasks = self
            .witnesses
            .into_iter()
            .map(|(cosigner, listener, state)| {
                let mut stopped = stopped.clone();
                let shutdown = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                tokio::spawn(serve_in_process(
                    listener,
                    cosigner,
                    log_key.clone(),
                    state,
                    shutdown,
                ))
            })
            .collect();
        RunningWitnesses { stop, tasks }
    }
}

impl RunningWitnesses {
    /// Stops the witnesses once the requests in flight are answered.
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        for task in std::mem::take(&mut self.tasks) {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(error = %format!("{error:#}"), "a demo witness failed")
                }
                Err(error) => tracing::warn!(%error, "a demo witness panicked"),
            }
        }
    }
}

impl Drop for RunningWitnesses {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
