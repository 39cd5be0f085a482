//! An instance that follows the log while another instance is its sequencer
//! (the record in the database, [`crate::RecordPlace::Database`]).
//!
//! A follower serves every read from the shared database: the store the
//! sequencer projects into, the log's tiles and checkpoints through a log
//! opened with `truce_log::Log::follow`, and live incidents and findings of
//! its own, built once from what the store had applied and then fed each
//! range the store applies after it ([`LiveFindings::follow`]), so they
//! equal the sequencer's and a batch `truce assess` over the same reports.
//!
//! It takes no write itself: every `POST` is forwarded, as it came (the
//! signature covers the method, path, query and body, not the host), to the
//! base URL the sequencer advertises in the lease row, and the sequencer's
//! answer is passed back. When the sequencer advertises no address or
//! cannot be reached, the answer is 503 `not-sequencer` with `Retry-After`.
//!
//! Every `follow_interval_ms` the follower also reads the lease; once it is
//! free or expired the follower takes it and hands it to its owner, which
//! opens this instance as the sequencer (recovering the log and catching up
//! the store as after a crash) and then stops the follower. The other way
//! round, a sequencer that finds its lease lost is replaced by a follower
//! ([`serve_database_record`]).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, Method, Uri, Version, header};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use truce_auth::RequestVerifier;
use truce_log::{BlobStore, Log};
use truce_store::{AnyStore, PgBlobs, PgLog, SequencerLease, SequencerState, Store};

use crate::config::ServerConfig;
use crate::data_dir::DataDir;
use crate::error::{ApiError, ServerError};
use crate::live::LiveFindings;
use crate::rate_limit::RateLimiter;
use crate::receipt_index::ReceiptIndex;
use crate::record::RecordLog;
use crate::registry::Registry;
use crate::sequencer::lease_error;
use crate::state::{AppState, Shared, open_read_store, open_store};
use crate::writer::Submission;

/// The most log entries fed to the live findings in one step.
const FOLLOW_STEP: u64 = 4096;

/// Headers that belong to one connection, not to the request: not
/// forwarded (RFC 9110, section 7.6.1).
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// What the handlers of a follower need to forward writes: the lease row
/// as last read and a client.
pub(crate) struct FollowerLink {
    log: PgLog,
    leader: RwLock<Option<SequencerState>>,
    client: Client<HttpConnector, Body>,
    retry_after_s: u32,
}

impl FollowerLink {
    /// The sequencer as last seen, read now if it never was.
    async fn leader(&self) -> Option<SequencerState> {
        let known = self
            .leader
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if known.is_some() {
            return known;
        }
        let read = self.log.sequencer().await.ok();
        self.set_leader(read.clone());
        read
    }

    fn set_leader(&self, state: Option<SequencerState>) {
        *self.leader.write().unwrap_or_else(PoisonError::into_inner) = state;
    }

    /// What this instance knows of the sequencer, for a 503.
    fn describe(state: Option<&SequencerState>) -> String {
        match state {
            Some(SequencerState {
                holder: Some(holder),
                token,
                ..
            }) => format!("it is {holder:?}, term {token}"),
            _ => "nobody holds the lease at the moment".to_owned(),
        }
    }

    fn not_sequencer(&self, lease: String) -> Response {
        ApiError::NotSequencer {
            lease,
            retry_after_s: self.retry_after_s,
        }
        .into_response()
    }

    /// Sends `request` to the sequencer and returns its answer.
    pub async fn forward(&self, request: Request) -> Response {
        let leader = self.leader().await;
        let Some(address) = leader
            .as_ref()
            .filter(|state| state.is_held())
            .and_then(|state| state.address.clone())
        else {
            let lease = format!(
                "{}; it advertises no address to forward to",
                Self::describe(leader.as_ref())
            );
            return self.not_sequencer(lease);
        };
        let (mut parts, body) = request.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", axum::http::uri::PathAndQuery::as_str);
        let target = format!("{}{path}", address.trim_end_matches('/'));
        let Ok(uri) = target.parse::<Uri>() else {
            return self.not_sequencer(format!(
                "{}; its address {address:?} is not a URL",
                Self::describe(leader.as_ref())
            ));
        };
        parts.uri = uri;
        parts.version = Version::HTTP_11;
        for name in &HOP_BY_HOP {
            parts.headers.remove(name);
        }
        // The client names the sequencer's host itself.
        parts.headers.remove(header::HOST);
        match self
            .client
            .request(axum::http::Request::from_parts(parts, body))
            .await
        {
            Ok(response) => {
                let (mut parts, incoming) = response.into_parts();
                for name in &HOP_BY_HOP {
                    parts.headers.remove(name);
                }
                Response::from_parts(parts, Body::new(incoming))
            }
            Err(error) => {
                tracing::warn!(%address, %error, "could not forward a write to the sequencer");
                // Read the lease again before the next write.
                self.set_leader(None);
                self.not_sequencer(format!(
                    "{}, which could not be reached at {address}",
                    Self::describe(leader.as_ref())
                ))
            }
        }
    }
}

/// Whether a request is a write (every write of the API is a `POST`).
pub(crate) fn is_write(request: &Request) -> bool {
    request.method() == Method::POST
}

/// A running follower: its state to serve and the task that follows the
/// log.
pub(crate) struct Follower {
    state: AppState,
    task: Option<JoinHandle<()>>,
    stop: Option<oneshot::Sender<()>>,
    lease: Option<oneshot::Receiver<SequencerLease>>,
    /// Kept so that the (unused) submission queue stays open.
    _submissions: mpsc::Receiver<Submission>,
}

impl Follower {
    /// Opens the shared database as a follower: the store, the log at its
    /// published checkpoint, the live findings as of what the store has
    /// applied; then starts following. `Ok(None)` while the sequencer has
    /// not published a first checkpoint yet (try again shortly).
    ///
    /// # Errors
    ///
    /// [`ServerError`] when the database cannot be opened or read, the log
    /// key is missing (every instance that may sequence needs its copy) or
    /// the log does not verify under it.
    pub async fn open(config: ServerConfig) -> Result<Option<Self>, ServerError> {
        config.validate()?;
        let data = DataDir::new(&config.data_dir);
        data.create()?;
        let store = open_store(&config, &data).await?;
        match Self::open_on(config, data, store.clone()).await {
            Ok(Some(follower)) => Ok(Some(follower)),
            Ok(None) => {
                store.close().await;
                Ok(None)
            }
            Err(error) => {
                store.close().await;
                Err(error)
            }
        }
    }

    async fn open_on(
        config: ServerConfig,
        data: DataDir,
        store: AnyStore,
    ) -> Result<Option<Self>, ServerError> {
        let (AnyStore::Postgres(pg), Some(url)) = (&store, config.database.as_ref()) else {
            return Err(crate::config::record_needs_postgres());
        };
        let pg_log = PgLog::from_store(pg);
        if !pg_log
            .has_checkpoint()
            .await
            .map_err(lease_error("reading the published checkpoint"))?
        {
            return Ok(None);
        }
        let origin = config.log_origin.clone();
        let signer = data.load_or_create_log_key(&origin, true)?;
        // What the store has applied, read before the log is opened: the
        // log's published checkpoint is at least as large (the sequencer
        // commits to the log before it applies to the store).
        let applied = store.applied_size().await?;
        let tiles = pg_log.reader(tokio::runtime::Handle::current());
        let log = tokio::task::spawn_blocking(move || Log::follow(tiles, signer, &origin))
            .await
            .map_err(|error| ServerError::Task(error.to_string()))??;
        let log = RecordLog::database(log);
        let blobs = BlobStore::with_backend(Arc::new(
            PgBlobs::connect(url.expose())
                .await
                .map_err(lease_error("connecting the blob store"))?,
        ));
        let read_store = open_read_store(&config).await?;
        let live = Arc::new(LiveFindings::new(blobs.clone()));
        let until = applied.min(log.size());
        live.rebuild_until(&store, &log, until).await?;
        live.changes().applied(until);
        let registry = Arc::new(Registry::from_sources(&store.sources().await?));
        let link = Arc::new(FollowerLink {
            log: pg_log.clone(),
            leader: RwLock::new(None),
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build_http(),
            retry_after_s: config.retry_after_s,
        });
        let verifier = RequestVerifier::new(config.max_skew_ms);
        let nonces = verifier.nonce_window();
        let (submissions, unused) = mpsc::channel(1);
        let shared = Shared {
            limiter: RateLimiter::new(&config.rate_limit),
            in_flight: Arc::new(Semaphore::new(config.max_concurrent_requests)),
            config: config.clone(),
            data,
            store: store.clone(),
            read_store,
            log: log.clone(),
            blobs,
            registry: Arc::clone(&registry),
            verifier,
            nonces: Mutex::new(nonces),
            submissions,
            ready: Arc::new(AtomicBool::new(true)),
            openapi_json: OnceLock::new(),
            live: Arc::clone(&live),
            known_agreements: RwLock::new(std::collections::HashSet::new()),
            receipts: Arc::new(ReceiptIndex::default()),
            witnesses: Vec::new(),
            lease: None,
            follower: Some(Arc::clone(&link)),
        };
        let state = AppState {
            shared: Arc::new(shared),
        };
        tracing::info!(
            log_size = log.size(),
            applied = until,
            "following the log: reads are served here, writes go to the sequencer"
        );
        let (stop, stopped) = oneshot::channel();
        let (lease_out, lease) = oneshot::channel();
        let follow = Follow {
            store,
            log,
            live,
            registry,
            link,
            pg_log,
            every: Duration::from_millis(config.follow_interval_ms),
            config,
            followed: until,
        };
        let task = tokio::spawn(follow.run(stopped, lease_out));
        Ok(Some(Self {
            state,
            task: Some(task),
            stop: Some(stop),
            lease: Some(lease),
            _submissions: unused,
        }))
    }

    /// The state to serve.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Waits until the follower has taken the sequencer lease and returns
    /// it; `None` if it stopped following without (after an error it logged).
    pub async fn lease(&mut self) -> Option<SequencerLease> {
        match self.lease.take() {
            Some(lease) => lease.await.ok(),
            None => std::future::pending().await,
        }
    }

    /// Stops following and closes the follower's connections. A lease it
    /// took and handed out is its new owner's.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::error!(%error, "the follow task failed");
        }
        self.state.shared.live.changes().close();
        self.state.shared.store.close().await;
        if let Some(read_store) = &self.state.shared.read_store {
            read_store.close().await;
        }
    }
}

/// The task that follows the log.
struct Follow {
    store: AnyStore,
    log: RecordLog,
    live: Arc<LiveFindings>,
    registry: Arc<Registry>,
    link: Arc<FollowerLink>,
    pg_log: PgLog,
    config: ServerConfig,
    every: Duration,
    /// Entries `0 .. followed` are in the live findings.
    followed: u64,
}

impl Follow {
    async fn run(
        mut self,
        mut stopped: oneshot::Receiver<()>,
        lease_out: oneshot::Sender<SequencerLease>,
    ) {
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                _ = ticks.tick() => {}
            }
            if let Err(error) = self.step().await {
                tracing::warn!(%error, followed = self.followed, "following the log failed; retrying");
            }
            match self.pg_log.sequencer().await {
                Ok(state) => {
                    let free = !state.is_held();
                    self.link.set_leader(Some(state));
                    if free {
                        // On connections of its own: the follower's are closed when it stops,
                        // and the lease (and the log written under it) outlives it.
                        match crate::sequencer::try_acquire(&self.config).await {
                            Ok(Some(lease)) => {
                                tracing::info!(
                                    token = lease.token(),
                                    followed = self.followed,
                                    "the sequencer lease was free and is now this instance's"
                                );
                                if let Err(lease) = lease_out.send(lease) {
                                    // Nobody to become the sequencer: give it back.
                                    let _ = lease.release().await;
                                }
                                return;
                            }
                            Ok(None) => {}
                            Err(error) => {
                                tracing::warn!(%error, "could not take the free sequencer lease");
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "could not read the sequencer lease"),
            }
        }
    }

    /// Moves the log to the latest checkpoint and feeds the live findings
    /// what the store applied since the last step.
    async fn step(&mut self) -> Result<(), ServerError> {
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || log.refresh())
            .await
            .map_err(|error| ServerError::Task(error.to_string()))??;
        let applied = self.store.applied_size().await?;
        let until = applied.min(self.log.size());
        if until <= self.followed {
            return Ok(());
        }
        while self.followed < until {
            let next = until.min(self.followed + FOLLOW_STEP);
            self.live
                .follow(&self.store, &self.log, self.followed, next)
                .await?;
            self.followed = next;
        }
        self.registry.replace(&self.store.sources().await?);
        Ok(())
    }
}

/// The follower's link, if this instance follows another.
pub(crate) fn link(state: &AppState) -> Option<&Arc<FollowerLink>> {
    state.shared.follower.as_ref()
}

/// What an instance on a database record is at a moment.
pub(crate) enum Role {
    /// It holds the sequencer lease and appends.
    Sequencer(crate::Service),
    /// It follows another instance's appends.
    Follower(Follower),
}

impl Role {
    fn state(&self) -> AppState {
        match self {
            Role::Sequencer(service) => service.state(),
            Role::Follower(follower) => follower.state(),
        }
    }
}

/// What the listener serves at the moment.
struct Current {
    router: axum::Router,
    state: AppState,
}

/// Serves an instance whose record is in the database on `listener` until
/// `shutdown` completes, changing role as the lease goes: a follower that
/// takes the free lease opens this instance as the sequencer with it and
/// serves that instead (requests in flight finish on the follower, which is
/// then stopped); a sequencer that finds its lease lost opens a follower and
/// serves that instead (the sequencer's writer answers what it had, then
/// stops). A failure to open the next role stops serving with that error.
pub(crate) async fn serve_database_record(
    start: Role,
    config: ServerConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    use tower::ServiceExt;

    let address = listener
        .local_addr()
        .map_or_else(|_| "the listener".to_owned(), |address| address.to_string());
    tracing::info!(
        %address,
        role = match start {
            Role::Sequencer(_) => "sequencer",
            Role::Follower(_) => "follower",
        },
        "serving"
    );
    let current = Arc::new(RwLock::new(Current {
        router: crate::app(start.state()),
        state: start.state(),
    }));
    let switch = {
        let current = Arc::clone(&current);
        axum::Router::new().fallback(move |request: Request| {
            let router = current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .router
                .clone();
            async move {
                match router.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            }
        })
    };
    let (failed, failure_signal) = oneshot::channel::<()>();
    let (stop, stopped) = oneshot::channel::<()>();
    let manager = tokio::spawn(change_roles(
        start,
        config,
        Arc::clone(&current),
        stopped,
        failed,
    ));
    let ended = {
        let current = Arc::clone(&current);
        async move {
            tokio::select! {
                () = shutdown => {}
                Ok(()) = failure_signal => {}
            }
            // Event streams would otherwise hold the graceful shutdown open.
            current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .state
                .shared
                .live
                .changes()
                .close();
        }
    };
    let served = axum::serve(listener, switch)
        .with_graceful_shutdown(ended)
        .await
        .map_err(|source| ServerError::Listen {
            address: address.clone(),
            source,
        });
    let _ = stop.send(());
    let managed = manager
        .await
        .map_err(|error| ServerError::Task(error.to_string()))?;
    tracing::info!(%address, "stopped");
    managed.and(served)
}

/// How long a replaced role's requests may take to finish before it is
/// stopped anyway.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// After the listener has switched to the next role: ends the replaced
/// role's event streams and waits (at most [`DRAIN_LIMIT`]) until the
/// requests that started on it have finished, so that none of them finds
/// its store closed.
async fn drained(replaced: &AppState) {
    replaced.shared.live.changes().close();
    let permits = u32::try_from(replaced.shared.config.max_concurrent_requests).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN_LIMIT, replaced.shared.in_flight.acquire_many(permits))
        .await
        .is_err()
    {
        tracing::warn!("requests still running on the replaced role are cut short");
    }
}

/// Changes the instance's role as the lease goes until told to stop, then
/// shuts the current role down. On a failure to open the next role, says so
/// on `failed` (which stops serving) and returns the error.
async fn change_roles(
    mut role: Role,
    config: ServerConfig,
    current: Arc<RwLock<Current>>,
    mut stopped: oneshot::Receiver<()>,
    failed: oneshot::Sender<()>,
) -> Result<(), ServerError> {
    let every = Duration::from_millis(config.follow_interval_ms);
    let switch_to = |next: &Role| {
        let state = next.state();
        *current.write().unwrap_or_else(PoisonError::into_inner) = Current {
            router: crate::app(state.clone()),
            state,
        };
    };
    loop {
        role = match role {
            Role::Follower(mut follower) => {
                let lease = tokio::select! {
                    lease = follower.lease() => lease,
                    _ = &mut stopped => {
                        follower.shutdown().await;
                        return Ok(());
                    }
                };
                let Some(lease) = lease else {
                    follower.shutdown().await;
                    let _ = failed.send(());
                    return Err(ServerError::Task(
                        "the follower stopped following the log".to_owned(),
                    ));
                };
                tracing::info!(
                    "becoming the sequencer: recovering the log and catching up the store"
                );
                match crate::Service::open_with_lease(
                    config.clone(),
                    Arc::new(crate::NoAppliedEntries),
                    lease,
                )
                .await
                {
                    Ok(service) => {
                        let next = Role::Sequencer(service);
                        switch_to(&next);
                        tracing::info!("this instance is now the sequencer");
                        drained(&follower.state()).await;
                        follower.shutdown().await;
                        next
                    }
                    Err(error) => {
                        tracing::error!(%error, "could not become the sequencer");
                        follower.shutdown().await;
                        let _ = failed.send(());
                        return Err(error);
                    }
                }
            }
            Role::Sequencer(service) => {
                tokio::select! {
                    () = service.lease_lost(every) => {}
                    _ = &mut stopped => return service.shutdown().await,
                }
                tracing::warn!("the sequencer lease is lost: following the new sequencer");
                let follower = loop {
                    let opened = tokio::select! {
                        opened = Follower::open(config.clone()) => opened,
                        _ = &mut stopped => return service.shutdown().await,
                    };
                    match opened {
                        Ok(Some(follower)) => break follower,
                        Ok(None) => tokio::time::sleep(every).await,
                        Err(error) => {
                            tracing::error!(%error, "could not start following the log");
                            if let Err(error) = service.shutdown().await {
                                tracing::error!(%error, "stopping the former sequencer failed");
                            }
                            let _ = failed.send(());
                            return Err(error);
                        }
                    }
                };
                let next = Role::Follower(follower);
                switch_to(&next);
                tracing::info!("this instance now follows the log");
                drained(&service.state()).await;
                if let Err(error) = service.shutdown().await {
                    tracing::error!(%error, "stopping the former sequencer failed");
                }
                next
            }
        };
    }
}
