//! The shared state of the handlers, opening a data directory, and the hook
//! for what comes after each applied batch.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use truce_auth::{NonceEntry, NonceWindow, RequestVerifier};
use truce_log::entry::{Entry, SourceRegistration};
use truce_log::{BlobStore, Log, TilePath};

use crate::receipt_index::ReceiptIndex;
use truce_model::SourceKind;
use truce_note::{KeyName, SignatureType, Verifier};
use truce_store::{AnyStore, PgBlobs, PgLog, SequencerLease, Store};

use crate::config::{DatabaseUrl, RecordPlace, ServerConfig};
use crate::cosigning::{ConfiguredWitness, Cosigning};
use crate::data_dir::DataDir;
use crate::error::{ApiError, ServerError};
use crate::journal::JournalStore;
use crate::live::LiveFindings;
use crate::rate_limit::RateLimiter;
use crate::record::{LogPlace, LogRef, RecordLog};
use crate::registry::Registry;
use crate::sequencer::{self, LeaseWatch, Sequencer, lease_error};
use crate::writer::{Submission, Writer};

/// Called by the writer after each batch of entries is durable in the log
/// and applied to the store, with the index of the first entry and the
/// entries in log order (entries that do not decode are left out, and the
/// call is split around them so that `first_index + i` is always the index
/// of `entries[i]`).
///
/// The service's own live findings ([`crate::live`]) are fed by the writer
/// directly, from the store's projection of each batch (a format-1 entry
/// does not say which agreement a report belongs to, nor hold its clear
/// values); this hook is for other consumers. It sees every entry
/// exactly once per process, in log order, after the store reflects it (on
/// start, the entries replayed into the store are handed over too; entries
/// applied by an earlier run are not: read them from the log). It runs on
/// the writer's task, so it must return quickly: hand heavy work to a task
/// or thread of its own.
pub trait AppliedEntries: Send + Sync {
    /// Entries `first_index ..` were applied.
    fn applied(&self, first_index: u64, entries: &[Entry]);
}

/// The default [`AppliedEntries`]: does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAppliedEntries;

impl AppliedEntries for NoAppliedEntries {
    fn applied(&self, _first_index: u64, _entries: &[Entry]) {}
}

/// The state every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("data_dir", &self.shared.data.root())
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

/// What the handlers share.
pub(crate) struct Shared {
    pub config: ServerConfig,
    pub data: DataDir,
    pub store: AnyStore,
    /// The read replica of `read_database`, if one is configured.
    pub read_store: Option<AnyStore>,
    pub log: RecordLog,
    pub blobs: BlobStore,
    pub registry: Arc<Registry>,
    pub verifier: RequestVerifier,
    pub nonces: Mutex<NonceWindow>,
    pub limiter: RateLimiter,
    pub submissions: mpsc::Sender<Submission>,
    pub ready: Arc<AtomicBool>,
    pub in_flight: Arc<Semaphore>,
    pub openapi_json: OnceLock<String>,
    pub live: Arc<LiveFindings>,
    /// Agreement ids the store was seen to hold (an agreement is never
    /// removed), so that submissions under them skip the store lookup.
    pub known_agreements: RwLock<HashSet<String>>,
    /// Which (key, nonce) pairs have a receipt, so that a new submission skips the store
    /// lookup for an earlier one (kept by the writer).
    pub receipts: Arc<ReceiptIndex>,
    /// The witnesses that cosign the log's checkpoints (none: no cosigning).
    pub witnesses: Vec<ConfiguredWitness>,
    /// With the record in the database: whether this instance still holds
    /// the sequencer lease.
    pub lease: Option<Arc<LeaseWatch>>,
    /// Set while this instance follows another instance's appends: where
    /// writes are forwarded ([`crate::follower`]).
    pub follower: Option<Arc<crate::follower::FollowerLink>>,
}

impl AppState {
    /// Whether the store has caught up with the log and the server serves
    /// (with the record in the database: and this instance still holds the
    /// sequencer lease).
    pub fn is_ready(&self) -> bool {
        self.shared.ready.load(Ordering::Acquire)
            && self
                .shared
                .lease
                .as_ref()
                .is_none_or(|lease| lease.lost().is_none())
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// The log's size (its latest checkpoint's).
    pub fn log_size(&self) -> u64 {
        self.shared.log.size()
    }

    /// The key that verifies the log's checkpoints.
    pub fn log_verifier(&self) -> Verifier {
        self.shared.log.head().verifier.clone()
    }

    /// The bytes of a tile or entry bundle of the log as stored, wherever
    /// the log is (`None` when there is no such file). The caller checks
    /// that the path belongs to the current tree.
    ///
    /// # Errors
    ///
    /// [`ApiError::Internal`] when the log's store cannot be read.
    pub async fn read_tile(&self, path: TilePath) -> Result<Option<Vec<u8>>, ApiError> {
        self.with_log(move |log| log.read_tile(&path))
            .await?
            .map_err(|error| ApiError::internal(&error))
    }

    /// The store.
    pub fn store(&self) -> &AnyStore {
        &self.shared.store
    }

    /// The store the read-only endpoints query: the read replica when
    /// `read_database` is set, the store otherwise. It may be behind the
    /// store (its answers carry the `Truce-Store-Size` they reflect); writes
    /// and anything a write depends on use [`AppState::store`].
    pub fn read_store(&self) -> &AnyStore {
        self.shared
            .read_store
            .as_ref()
            .unwrap_or(&self.shared.store)
    }

    /// Runs `read` on the log on a blocking thread (tile reads, proofs).
    pub(crate) async fn with_log<T: Send + 'static>(
        &self,
        read: impl FnOnce(&LogRef<'_>) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let log = self.shared.log.clone();
        tokio::task::spawn_blocking(move || log.read(read))
            .await
            .map_err(|error| ApiError::internal(&error))
    }

    /// Hands a submission to the writer and waits for its receipts.
    pub(crate) async fn submit(
        &self,
        build: impl FnOnce(oneshot::Sender<crate::writer::Outcome>) -> Submission,
    ) -> crate::writer::Outcome {
        let (reply, answer) = oneshot::channel();
        let retry_after_s = self.shared.config.retry_after_s;
        match self.shared.submissions.try_send(build(reply)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_) | mpsc::error::TrySendError::Closed(_)) => {
                return Err(ApiError::Overloaded { retry_after_s });
            }
        }
        answer
            .await
            .unwrap_or_else(|error| Err(ApiError::internal(&error)))
    }

    /// Whether the store holds an agreement with this id (any version).
    pub(crate) async fn agreement_exists(&self, id: &str) -> Result<bool, ApiError> {
        let known = self
            .shared
            .known_agreements
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id);
        if known {
            return Ok(true);
        }
        let exists = !self
            .shared
            .store
            .agreement(id, None)
            .await
            .map_err(|error| ApiError::internal(&error))?
            .is_empty();
        if exists {
            self.shared
                .known_agreements
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id.to_owned());
        }
        Ok(exists)
    }

    /// Runs a blob store write on a blocking thread.
    pub(crate) async fn put_blob(&self, body: Vec<u8>) -> Result<[u8; 32], ApiError> {
        let blobs = self.shared.blobs.clone();
        tokio::task::spawn_blocking(move || blobs.put(&body))
            .await
            .map_err(|error| ApiError::internal(&error))?
            .map_err(|error| ApiError::internal(&error))
    }

    /// Reads a body from the blob store on a blocking thread.
    pub(crate) async fn get_blob(&self, hash: [u8; 32]) -> Result<Option<Vec<u8>>, ApiError> {
        let blobs = self.shared.blobs.clone();
        tokio::task::spawn_blocking(move || blobs.get(&hash))
            .await
            .map_err(|error| ApiError::internal(&error))?
            .map_err(|error| ApiError::internal(&error))
    }
}

/// The current time in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// A running service: the shared state and the writer task behind it.
/// Serve [`Service::state`] with [`crate::app`] (or let [`crate::serve`] do
/// it), then call [`Service::shutdown`].
pub struct Service {
    state: AppState,
    writer: JoinHandle<()>,
    stop: Option<oneshot::Sender<()>>,
    cosigning: Option<Cosigning>,
    /// The lease renewal, with the record in the database.
    sequencer: Option<Sequencer>,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The record as opened: the log, the journal, the bodies, and with the
/// record in the database the lease it is written under.
struct OpenedRecord {
    log: RecordLog,
    journal: JournalStore,
    blobs: BlobStore,
    sequencer: Option<Sequencer>,
}

impl Service {
    /// Opens the data directory of `config` (creating it on first start),
    /// checks the admin key, and starts the writer, which first catches the
    /// store up with the log and, on first start, logs the admin's
    /// registration. The state reports ready ([`AppState::is_ready`]) once
    /// that is done; submissions made before wait for it.
    ///
    /// With the record in the database ([`RecordPlace::Database`]) this
    /// first takes the sequencer lease, **waiting** as long as another
    /// instance holds it (an instance that finds the lease taken is a
    /// standby: it opens once the leader releases the lease on shutdown or
    /// lets it expire), and only then opens the log.
    ///
    /// # Errors
    ///
    /// [`ServerError`] when the configuration is invalid, the directory's
    /// files cannot be opened, or the admin key is missing on first start,
    /// does not parse, or is not the admin the log names.
    pub async fn open(
        config: ServerConfig,
        hook: Arc<dyn AppliedEntries>,
    ) -> Result<Self, ServerError> {
        Self::open_under(config, hook, None).await
    }

    /// [`Service::open`] with the sequencer lease already taken (by an
    /// instance that followed the log until the lease was free).
    pub(crate) async fn open_with_lease(
        config: ServerConfig,
        hook: Arc<dyn AppliedEntries>,
        lease: SequencerLease,
    ) -> Result<Self, ServerError> {
        Self::open_under(config, hook, Some(lease)).await
    }

    async fn open_under(
        config: ServerConfig,
        hook: Arc<dyn AppliedEntries>,
        lease: Option<SequencerLease>,
    ) -> Result<Self, ServerError> {
        config.validate()?;
        let data = DataDir::new(&config.data_dir);
        data.create()?;
        let store = open_store(&config, &data).await?;
        let opened = match open_record(&config, &data, &store, lease).await {
            Ok(opened) => opened,
            Err(error) => {
                store.close().await;
                return Err(error);
            }
        };
        match Self::start(config, data, store.clone(), opened, hook).await {
            Ok(service) => Ok(service),
            Err((error, sequencer)) => {
                if let Some(sequencer) = sequencer {
                    sequencer.release().await;
                }
                store.close().await;
                Err(error)
            }
        }
    }

    /// The rest of [`Service::open`] once the store and the record are open.
    async fn start(
        config: ServerConfig,
        data: DataDir,
        store: AnyStore,
        opened: OpenedRecord,
        hook: Arc<dyn AppliedEntries>,
    ) -> Result<Self, (ServerError, Option<Sequencer>)> {
        let OpenedRecord {
            log,
            journal,
            blobs,
            sequencer,
        } = opened;
        macro_rules! attempt {
            ($result:expr) => {
                match $result {
                    Ok(value) => value,
                    Err(error) => return Err((ServerError::from(error), sequencer)),
                }
            };
        }
        let read_store = attempt!(open_read_store(&config).await);
        // On a blocking thread: a log in the database is read by blocking.
        let checked = {
            let (config, log) = (config.clone(), log.clone());
            tokio::task::spawn_blocking(move || log.read(|log| check_admin(&config, log)))
                .await
                .map_err(|error| ServerError::Task(error.to_string()))
        };
        let admin = match checked.and_then(|checked| checked) {
            Ok(admin) => admin,
            Err(error) => {
                if let Some(read_store) = &read_store {
                    read_store.close().await;
                }
                return Err((error, sequencer));
            }
        };
        let verifier = RequestVerifier::new(config.max_skew_ms);
        let mut window = verifier.nonce_window();
        let now = now_ms();
        let since = now.saturating_sub(i64::try_from(config.max_skew_ms).unwrap_or(i64::MAX));
        let remembered = attempt!(store.load_nonces(since).await);
        window.restore(remembered.into_iter().filter_map(|seen| {
            Some(NonceEntry {
                key: KeyName::new(&seen.key).ok()?,
                nonce: seen.nonce_hex.parse().ok()?,
                timestamp_ms: seen.ts_ms,
            })
        }));
        window.prune(now);
        let registry = Arc::new(Registry::from_sources(&attempt!(store.sources().await)));
        let witnesses = attempt!(crate::cosigning::configured(&config));
        let cosigning = match log.place() {
            LogPlace::Dir(dir_log) => attempt!(Cosigning::start(
                &witnesses,
                Arc::clone(dir_log),
                data.log_dir(),
                std::time::Duration::from_millis(config.cosign_interval_ms),
            )),
            // Refused by the configuration's validation: nothing to cosign here.
            LogPlace::Database(_) => None,
        };
        let (sender, receiver) = mpsc::channel(config.writer.queue);
        let (stop, stopped) = oneshot::channel();
        let ready = Arc::new(AtomicBool::new(false));
        let live = Arc::new(LiveFindings::new(blobs.clone()));
        let receipts = Arc::new(ReceiptIndex::default());
        let writer = Writer::new(
            config.clone(),
            store.clone(),
            log.clone(),
            blobs.clone(),
            Arc::clone(&registry),
            journal,
            hook,
            Arc::clone(&live),
            Arc::clone(&ready),
            admin,
            Arc::clone(&receipts),
            sequencer.as_ref().map(Sequencer::watch),
        );
        let writer = tokio::spawn(writer.run(receiver, stopped));
        let shared = Shared {
            limiter: RateLimiter::new(&config.rate_limit),
            in_flight: Arc::new(Semaphore::new(config.max_concurrent_requests)),
            config,
            data,
            store,
            read_store,
            log,
            blobs,
            registry,
            verifier,
            nonces: Mutex::new(window),
            submissions: sender,
            ready,
            openapi_json: OnceLock::new(),
            live,
            known_agreements: RwLock::new(HashSet::new()),
            receipts,
            witnesses,
            lease: sequencer.as_ref().map(Sequencer::watch),
            follower: None,
        };
        Ok(Self {
            state: AppState {
                shared: Arc::new(shared),
            },
            writer,
            stop: Some(stop),
            cosigning,
            sequencer,
        })
    }

    /// The state to serve.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Completes once this instance has lost the sequencer lease (looking
    /// every `every`); never for a record in the data directory.
    pub(crate) async fn lease_lost(&self, every: std::time::Duration) {
        let Some(watch) = self.sequencer.as_ref().map(Sequencer::watch) else {
            return std::future::pending().await;
        };
        while watch.lost().is_none() {
            tokio::time::sleep(every).await;
        }
    }

    /// Waits until the store has caught up with the log (or `timeout`
    /// passes); returns whether it did.
    pub async fn wait_ready(&self, timeout: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.state.is_ready() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        true
    }

    /// Stops the cosigning task, stops taking submissions, lets the writer finish every one already
    /// queued (each is answered), waits for it and closes the store.
    ///
    /// # Errors
    ///
    /// [`ServerError::Task`] when the writer task panicked.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        if let Some(cosigning) = self.cosigning.take() {
            cosigning.stop().await;
        }
        if let Some(stop) = self.stop.take() {
            // The writer may already have stopped; then there is nothing to tell it.
            let _ = stop.send(());
        }
        let result = (&mut self.writer)
            .await
            .map_err(|error| ServerError::Task(error.to_string()));
        // Nothing writes to the record any more: a standby may take over.
        if let Some(sequencer) = self.sequencer.take() {
            sequencer.release().await;
        }
        self.state.shared.store.close().await;
        if let Some(read_store) = &self.state.shared.read_store {
            read_store.close().await;
        }
        result
    }
}

/// Opens the record where `config.record` says: the log, the journal and the
/// blob store in the data directory, or in the database under the sequencer
/// lease (waited for while another instance holds it).
async fn open_record(
    config: &ServerConfig,
    data: &DataDir,
    store: &AnyStore,
    lease: Option<SequencerLease>,
) -> Result<OpenedRecord, ServerError> {
    let origin = config.log_origin.clone();
    match config.record {
        RecordPlace::DataDir => {
            let exists = data.log_dir().join(truce_log::CHECKPOINT_FILE).exists();
            let signer = data.load_or_create_log_key(&origin, exists)?;
            let log_dir = data.log_dir();
            let log = tokio::task::spawn_blocking(move || Log::open(log_dir, signer, &origin))
                .await
                .map_err(|error| ServerError::Task(error.to_string()))??;
            Ok(OpenedRecord {
                log: RecordLog::dir(log),
                journal: JournalStore::file(&data.journal())?,
                blobs: BlobStore::open(data.blob_dir())?,
                sequencer: None,
            })
        }
        RecordPlace::Database => {
            let (AnyStore::Postgres(pg), Some(url)) = (store, config.database.as_ref()) else {
                return Err(crate::config::record_needs_postgres());
            };
            let pg_log = PgLog::from_store(pg);
            let exists = pg_log
                .has_checkpoint()
                .await
                .map_err(lease_error("reading the published checkpoint"))?;
            let signer = data.load_or_create_log_key(&origin, exists)?;
            let blobs = PgBlobs::connect(url.expose())
                .await
                .map_err(lease_error("connecting the blob store"))?;
            let lease = match lease {
                Some(lease) => lease,
                None => {
                    let ttl = std::time::Duration::from_millis(config.sequencer_lease_ms);
                    let holder = sequencer::holder_name();
                    sequencer::acquire(&pg_log, &holder, ttl).await?
                }
            };
            // Where the other instances forward writes to. Without it they
            // answer writes 503 and clients retry elsewhere.
            let address = config.advertise_url.as_deref();
            match lease.advertise(address).await {
                Ok(()) => tracing::info!(
                    address = address.unwrap_or("none"),
                    "sequencer address advertised"
                ),
                Err(error) => {
                    tracing::warn!(%error, "could not advertise the sequencer's address")
                }
            }
            // Taken before the log is opened: its recovery sees everything
            // a former sequencer committed.
            let tiles = lease.tile_store(tokio::runtime::Handle::current());
            let journal = JournalStore::Database(lease.journal());
            let sequencer = Sequencer::start(pg_log, lease);
            let opened =
                tokio::task::spawn_blocking(move || Log::with_store(tiles, signer, &origin))
                    .await
                    .map_err(|error| ServerError::Task(error.to_string()));
            let log = match opened {
                Ok(Ok(log)) => log,
                Ok(Err(error)) => {
                    sequencer.release().await;
                    return Err(error.into());
                }
                Err(error) => {
                    sequencer.release().await;
                    return Err(error);
                }
            };
            tracing::info!(size = log.size(), "log opened in the database");
            Ok(OpenedRecord {
                log: RecordLog::database(log),
                journal,
                blobs: BlobStore::with_backend(Arc::new(blobs)),
                sequencer: Some(sequencer),
            })
        }
    }
}

/// Opens the store `config.database` names (SQLite in the data directory
/// when it names none), saying which in the error, the password left out.
pub(crate) async fn open_store(
    config: &ServerConfig,
    data: &DataDir,
) -> Result<AnyStore, ServerError> {
    let database = config.database.as_ref();
    let store = AnyStore::open(database.map(DatabaseUrl::expose), data.root())
        .await
        .map_err(|source| ServerError::OpenStore {
            database: describe_database(database, data),
            source,
        })?;
    tracing::info!(
        backend = store.backend(),
        database = %describe_database(database, data),
        "store opened"
    );
    Ok(store)
}

/// Opens the read replica `config.read_database` names, if any: read-only,
/// its schema checked, nothing migrated or written.
pub(crate) async fn open_read_store(
    config: &ServerConfig,
) -> Result<Option<AnyStore>, ServerError> {
    let Some(url) = config.read_database.as_ref() else {
        return Ok(None);
    };
    let database = format!("read replica {}", url.redacted());
    let read_store = AnyStore::open_read_only(url.expose())
        .await
        .map_err(|source| ServerError::OpenStore {
            database: database.clone(),
            source,
        })?;
    let applied = read_store
        .applied_size()
        .await
        .map_err(|source| ServerError::OpenStore {
            database: database.clone(),
            source,
        })?;
    tracing::info!(database = %database, applied, "read replica opened");
    Ok(Some(read_store))
}

/// Where the store is, for messages: the URL without its password, or the
/// SQLite file in the data directory.
pub(crate) fn describe_database(database: Option<&DatabaseUrl>, data: &DataDir) -> String {
    match database {
        Some(url) if !url.is_sqlite() => url.redacted(),
        _ => format!(
            "SQLite {}",
            data.root().join(truce_store::DATABASE_FILE).display()
        ),
    }
}

/// The admin registration to write on first start, after checking the
/// configured key against the log.
fn check_admin(config: &ServerConfig, log: &LogRef<'_>) -> Result<Option<Entry>, ServerError> {
    let parsed = config
        .admin_vkey
        .as_deref()
        .map(|vkey| {
            let verifier =
                Verifier::from_vkey(vkey.trim()).map_err(|error| ServerError::AdminKey {
                    reason: format!("{vkey:?} is not a verifier key: {error}"),
                })?;
            if verifier.signature_type() != SignatureType::Ed25519 {
                return Err(ServerError::AdminKey {
                    reason: format!("{vkey:?} is not an Ed25519 (type 0x01) key"),
                });
            }
            Ok(verifier)
        })
        .transpose()?;
    if log.size() == 0 {
        let Some(verifier) = parsed else {
            return Err(ServerError::AdminKey {
                reason: "the data directory is new: give the admin's public key (admin_vkey)"
                    .into(),
            });
        };
        return Ok(Some(Entry::SourceRegistration(SourceRegistration {
            source_id: verifier.name().as_str().to_owned(),
            kind: SourceKind::Monitor,
            party: None,
            public_key: *verifier.public_key(),
        })));
    }
    if let Some(verifier) = parsed {
        let first = log.entry(0)?;
        let named = match Entry::decode(&first) {
            Ok(Entry::SourceRegistration(registration)) => Some(registration),
            _ => None,
        };
        let matches = named.as_ref().is_some_and(|registration| {
            registration.source_id == verifier.name().as_str()
                && registration.public_key == *verifier.public_key()
        });
        if !matches {
            return Err(ServerError::AdminKey {
                reason: format!(
                    "the log's admin is {}, not the configured key {}",
                    named.map_or_else(
                        || "not a source registration".to_owned(),
                        |r| format!("{:?}", r.source_id)
                    ),
                    verifier.to_vkey()
                ),
            });
        }
    }
    Ok(None)
}
