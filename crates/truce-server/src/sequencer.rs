//! The sequencer lease of an instance whose record is in the database
//! ([`crate::RecordPlace::Database`]): taken before the log is opened
//! (waiting while another instance holds it), renewed by a task every third
//! of its time to live, released on shutdown so that a waiting instance
//! takes over at once.
//!
//! Losing it is final for the service that held it (`run_on` then serves a
//! follower instead, see `follower.rs`): once a renewal finds another holder
//! or token, or a write of the record fails and the lease row no longer
//! names this instance's term, [`LeaseWatch::lost`] says why, the writer
//! answers every submission with 503 and never writes to the record again.
//! The database fences every write anyway (see `truce_store::PgLog`): a
//! paused former leader's writes fail whatever it believes.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use truce_log::LogError;
use truce_store::{PgLog, PgLogError, SequencerLease};

use crate::error::ServerError;

/// A lease error as a server error (a failure of the log's store).
pub(crate) fn lease_error(operation: &'static str) -> impl FnOnce(PgLogError) -> ServerError {
    move |error| {
        ServerError::Log(LogError::Store {
            operation,
            source: Box::new(error),
        })
    }
}

/// A name for this process as a lease holder: the host, the process id and
/// random bytes (two processes must never share a name).
pub(crate) fn holder_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "truce".to_owned());
    let mut random = [0u8; 4];
    // Without randomness the process id still tells processes of one host apart.
    let _ = getrandom::fill(&mut random);
    format!(
        "{}/{}/{}",
        host.trim(),
        std::process::id(),
        crate::journal::hex(&random)
    )
}

/// Takes the lease for `holder`, waiting (and saying once who holds it)
/// while another instance's lease is live.
pub(crate) async fn acquire(
    log: &PgLog,
    holder: &str,
    ttl: Duration,
) -> Result<SequencerLease, ServerError> {
    let mut told = false;
    loop {
        if let Some(lease) = SequencerLease::acquire(log, holder, ttl)
            .await
            .map_err(lease_error("acquiring the sequencer lease"))?
        {
            tracing::info!(
                holder,
                token = lease.token(),
                "this instance is the log's sequencer"
            );
            return Ok(lease);
        }
        if !told {
            let state = log
                .sequencer()
                .await
                .map_err(lease_error("reading the sequencer lease"))?;
            tracing::info!(
                leader = state.holder.as_deref().unwrap_or("nobody"),
                token = state.token,
                expires_in_ms = state.remaining.as_millis(),
                "another instance is the log's sequencer; waiting for its lease before opening the log"
            );
            told = true;
        }
        tokio::time::sleep(ttl / 4).await;
    }
}

/// Takes the lease for a new holder if it is free, without waiting: `None`
/// while another instance holds it.
pub(crate) async fn try_acquire(
    config: &crate::ServerConfig,
) -> Result<Option<SequencerLease>, ServerError> {
    let Some(url) = config.database.as_ref() else {
        return Err(crate::config::record_needs_postgres());
    };
    let log = PgLog::connect(url.expose())
        .await
        .map_err(lease_error("connecting to the database"))?;
    let ttl = Duration::from_millis(config.sequencer_lease_ms);
    let lease = SequencerLease::acquire(&log, &holder_name(), ttl)
        .await
        .map_err(lease_error("acquiring the sequencer lease"))?;
    if lease.is_none() {
        log.close().await;
    }
    Ok(lease)
}

/// Whether this instance still holds the lease, as far as it knows.
#[derive(Debug)]
pub(crate) struct LeaseWatch {
    log: PgLog,
    holder: String,
    token: u64,
    /// Why the lease was lost; `None` while it is held.
    lost: Mutex<Option<String>>,
}

impl LeaseWatch {
    /// Why the lease was lost, if it was.
    pub fn lost(&self) -> Option<String> {
        self.lost
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records the loss (the first reason stays) and logs it.
    fn mark_lost(&self, reason: String) {
        let mut lost = self.lost.lock().unwrap_or_else(PoisonError::into_inner);
        if lost.is_none() {
            tracing::error!(
                holder = self.holder,
                token = self.token,
                %reason,
                "the sequencer lease is lost: this instance accepts no more writes"
            );
            *lost = Some(reason);
        }
    }

    /// After a write of the record failed: reads the lease row and, if it no
    /// longer names this instance's term, records the loss. Returns whether
    /// the lease is lost.
    pub async fn check(&self) -> bool {
        if self.lost().is_some() {
            return true;
        }
        match self.log.sequencer().await {
            Ok(state)
                if state.holder.as_deref() == Some(&self.holder) && state.token == self.token => {}
            Ok(state) => self.mark_lost(format!(
                "the lease is now {} with token {}",
                state.holder.map_or_else(
                    || "released".to_owned(),
                    |holder| format!("held by {holder:?}")
                ),
                state.token
            )),
            Err(error) => {
                tracing::warn!(%error, "could not read the sequencer lease after a failed write");
            }
        }
        self.lost().is_some()
    }
}

/// The task that renews the lease, and the watch it keeps.
#[derive(Debug)]
pub(crate) struct Sequencer {
    watch: Arc<LeaseWatch>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Option<SequencerLease>>,
}

impl Sequencer {
    /// Starts renewing `lease` (on `log`) every third of its time to live.
    pub fn start(log: PgLog, lease: SequencerLease) -> Self {
        let watch = Arc::new(LeaseWatch {
            log,
            holder: lease.holder().to_owned(),
            token: lease.token(),
            lost: Mutex::new(None),
        });
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(renew(lease, Arc::clone(&watch), stopped));
        Self {
            watch,
            stop: Some(stop),
            task,
        }
    }

    /// What the writer consults.
    pub fn watch(&self) -> Arc<LeaseWatch> {
        Arc::clone(&self.watch)
    }

    /// Stops renewing and releases the lease if it is still this term's.
    /// Call once nothing writes to the record any more.
    pub async fn release(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(Some(lease)) => match lease.release().await {
                Ok(true) => {}
                Ok(false) => tracing::warn!("the sequencer lease was no longer ours to release"),
                Err(error) => {
                    tracing::warn!(%error, "could not release the sequencer lease; it will expire")
                }
            },
            Ok(None) => {}
            Err(error) => tracing::error!(%error, "the lease renewal task failed"),
        }
    }
}

/// Renews until told to stop (giving the lease back to be released) or
/// until the lease is found lost.
async fn renew(
    mut lease: SequencerLease,
    watch: Arc<LeaseWatch>,
    mut stopped: oneshot::Receiver<()>,
) -> Option<SequencerLease> {
    let every = lease.ttl() / 3;
    loop {
        tokio::select! {
            _ = &mut stopped => return Some(lease),
            () = tokio::time::sleep(every) => {}
        }
        match lease.renew().await {
            Ok(()) => {}
            Err(error @ PgLogError::Fenced { .. }) => {
                watch.mark_lost(error.to_string());
                return None;
            }
            Err(error) => {
                // The lease may still be ours (nobody can take it before it
                // expires, and writes are fenced if somebody did): try again.
                tracing::warn!(%error, "renewing the sequencer lease failed; retrying");
            }
        }
    }
}
