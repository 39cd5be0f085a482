//! The write path: one task owns the log, and every submission reaches it
//! through a bounded queue.
//!
//! For each group of queued submissions the writer
//!
//! 1. checks each against the log's state (a source registered twice, a
//!    report id used twice in an agreement, an agreement version logged
//!    twice): a submission that conflicts is refused whole (409) and leaves
//!    no trace, the others go on;
//! 2. stores the bodies the entries commit to (report texts) in the blob
//!    store, synced, all of the group's at once ([`BlobStore::put_many`]),
//!    and at the same time appends one [journal](crate::journal) line per
//!    entry and syncs it;
//! 3. appends the entries with [`Log::append_batch_with_receipts`]: tiles,
//!    then the signed checkpoint, whose publication is the commit point;
//! 4. projects the entries and applies them to the store in one transaction
//!    together with a [`truce_store::Projected::Receipt`] per submission, so that a
//!    retried submission gets its original receipts back;
//! 5. updates the key registry, feeds the [live findings](crate::live) the
//!    batch's reports and agreement versions, calls the [`AppliedEntries`]
//!    hook, and answers each waiting handler with its receipts (so a
//!    receipt means the report is already in the incidents and findings).
//!
//! # Two stages
//!
//! Steps 1–3 (the *log stage*) run on the writer's task; steps 4–5 (the
//! *apply stage*) run on a task of their own, so that the store commit and
//! the live update of group *n* overlap the checks and the log append of
//! group *n + 1*. At most one group is in the apply stage at a time, groups
//! are applied in log order, and group *n + 1* enters the apply stage only
//! after group *n* has left it, so the store is always a prefix of the log.
//! What this keeps:
//!
//! * **Nothing is acknowledged before it is durable and applied.** A
//!   submitter is answered only by the apply stage, after its group's
//!   checkpoint was published (step 3) and the store transaction committed
//!   and the live findings took the group in (steps 4–5).
//! * **Conflicts are checked against everything logged.** The log stage
//!   keeps its own index of what the log holds ([`LoggedState`]): the
//!   registered sources and agreement versions, and the report ids of the
//!   groups that are logged but maybe not applied yet. Report ids of
//!   applied groups are looked up in the store. A group's report ids leave
//!   the index only once the store has them.
//! * **A failure stops the pipeline.** If the log stage fails (journal,
//!   blob sync or append), the group's submitters get a 500 and the next
//!   group first waits for the apply stage and catches the store up with
//!   the log. If the apply stage fails, its submitters and those of the
//!   group logged meanwhile get a 500, and the same catch-up runs before
//!   the next group. An append that failed after staging its checkpoint is
//!   published on recovery, so a 500 does not say the entries are not in
//!   the log: a retry with the same request gets the receipt once the store
//!   has caught up.
//!
//! A SIGKILL at any point loses nothing that was acknowledged: the bodies
//! and the journal lines were synced before the append began, the entries
//! are in the log once the checkpoint is published, and on start the
//! catch-up projects every entry in the log beyond the store's applied
//! size from the log and the journal, and only then does the server report
//! ready. Before that the live findings are rebuilt from what the store
//! already held.
//!
//! # The record in the database
//!
//! Where the log, the journal and the bodies live is the [`RecordLog`],
//! [`JournalStore`] and [`BlobStore`] the writer is given (see
//! [`crate::record`]); the steps are the same either way. With the record
//! in PostgreSQL, this instance writes it only under its sequencer lease:
//! every journal append and log write is fenced by the lease's token in the
//! database, so nothing is written once another instance took the lease
//! over. When the renewal task finds the lease lost, or a write of the
//! record fails and the lease row no longer names this instance's term
//! ([`LeaseWatch`]), the writer answers that group and every later one with
//! 503 (`not-sequencer`, naming the lease's holder, with `Retry-After`),
//! stores none of their nonces,
//! reports not ready, and never writes to the record again. The same
//! requests may go to the new leader as they are: a group whose checkpoint
//! was staged before the loss is published by the new leader's recovery and
//! its requests are answered there with their receipts (the journal carries
//! their nonces), any other is logged there once. The group in the apply
//! stage, if any, is applied: its entries are in the log.
//!
//! # Request nonces
//!
//! A submission answered with receipts needs no nonce in the store: its
//! receipt records (key and nonce, written with its projection) answer a
//! resent request, before and after a restart. The writer stores the nonces
//! of the submissions it did *not* answer with receipts (refused, failed),
//! so that after a restart a resent request of those is still refused as a
//! replay, and forgets nonces too old to be replayed once a minute.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use truce_log::entry::{AgreementVersion, Entry};
use truce_log::{BlobStore, Receipt};
use truce_store::{AnyStore, PageRequest, ReportFilter, SeenNonce, Store};

use crate::config::ServerConfig;
use crate::error::{ApiError, FieldProblem, ServerError};
use crate::journal::{self, EntryMeta, JournalLine, JournalStore, Openings};
use crate::live::{LiveFindings, LiveItem, items_of};
use crate::projection::{Projector, REVOKED_KEY};
use crate::receipt_index::ReceiptIndex;
use crate::record::RecordLog;
use crate::registry::Registry;
use crate::sequencer::LeaseWatch;
use crate::state::{AppliedEntries, now_ms};

/// How many log entries catch-up reads and applies at a time.
const CATCH_UP_CHUNK: u64 = 4096;

/// Reports read from the store per page when the log stage's state is built.
const REPORT_PAGE: u32 = 1000;

/// How often the store forgets nonces too old to be replayed.
const NONCE_PRUNE_EVERY: Duration = Duration::from_secs(60);

/// What a submission gets back: a receipt per entry, in order.
pub(crate) type Outcome = Result<Vec<Receipt>, ApiError>;

/// Who submitted, with what nonce and timestamp.
#[derive(Debug, Clone)]
pub(crate) struct Submitter {
    /// The signing key's name.
    pub key: String,
    /// The request nonce, hex.
    pub nonce: String,
    /// The request's signed timestamp, Unix milliseconds.
    pub ts_ms: i64,
}

/// One entry ready to log.
#[derive(Debug)]
pub(crate) struct PreparedEntry {
    /// The entry.
    pub entry: Entry,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
    /// For a report, its agreement.
    pub agreement: Option<String>,
    /// For a report, the openings of its committed fields.
    pub openings: Openings,
    /// Where in the request body it came from (`""`, `/3`), for messages.
    pub pointer: String,
    /// Bodies the entry commits to that the writer stores in the blob
    /// store ([`BlobStore::put_many`], one sync for the whole group) before
    /// the entry is logged. Handlers may also store bodies themselves
    /// ([`BlobStore::put`], synced) and leave this empty.
    pub bodies: Vec<Vec<u8>>,
}

/// A request's entries, all logged or none.
#[derive(Debug)]
pub(crate) struct Submission {
    /// Who.
    pub submitter: Submitter,
    /// What.
    pub entries: Vec<PreparedEntry>,
    /// Where to answer.
    pub reply: oneshot::Sender<Outcome>,
}

/// A report's identity: (agreement, report id).
type ReportKey = (String, String);

/// An agreement version's identity: (agreement, version, interpretation).
type VersionKey = (String, u32, String);

/// What the entries of one group claim, to refuse a later submission of the
/// same group that conflicts with an earlier one.
#[derive(Debug, Default)]
struct GroupClaims {
    sources: HashSet<String>,
    revoked: HashSet<String>,
    agreements: HashSet<VersionKey>,
    reports: HashSet<ReportKey>,
}

/// What the log holds, as far as conflicts go, kept by the log stage: built
/// from the store after a catch-up (when the store equals the log), then
/// extended with each group's claims once the group is in the log.
#[derive(Debug, Default)]
struct LoggedState {
    /// Registered source ids, and whether each is revoked.
    sources: HashMap<String, bool>,
    /// Every logged agreement version.
    agreement_versions: HashSet<VersionKey>,
    /// A hash of every logged report id (with its agreement): a report id
    /// whose hash is not here is new, without asking the store; one whose
    /// hash is here is looked up (a hash is 8 bytes a report, the ids
    /// themselves are the store's).
    report_hashes: HashSet<u64>,
    /// Keys the hashes with a key of this process.
    hasher: RandomState,
    /// The report ids of logged groups the store may not have yet, with the
    /// log size after each group. Report ids of applied groups are the
    /// store's to answer.
    unapplied_reports: VecDeque<(u64, HashSet<ReportKey>)>,
}

impl LoggedState {
    /// The state of a store that holds the whole log.
    async fn from_store(store: &AnyStore) -> Result<Self, ServerError> {
        let sources = store
            .sources()
            .await?
            .into_iter()
            .map(|source| (source.name, source.revoked_at_index.is_some()))
            .collect();
        let agreement_versions = store
            .agreements()
            .await?
            .into_iter()
            .map(|record| (record.id, record.version, record.interpretation))
            .collect();
        let mut state = Self {
            sources,
            agreement_versions,
            ..Self::default()
        };
        let mut cursor = None;
        loop {
            let page = store
                .reports(
                    &ReportFilter::default(),
                    PageRequest {
                        cursor,
                        limit: Some(REPORT_PAGE),
                    },
                )
                .await?;
            for record in page.items {
                let hash = state.report_hash(&(record.agreement_id, record.report_id));
                state.report_hashes.insert(hash);
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(state)
    }

    fn report_hash(&self, key: &ReportKey) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Whether a report id may be logged already: `false` means it is
    /// certainly new.
    fn maybe_logged(&self, key: &ReportKey) -> bool {
        self.report_hashes.contains(&self.report_hash(key))
    }

    /// Whether a report id is taken by a logged group the store may not have yet.
    fn unapplied_report(&self, key: &ReportKey) -> bool {
        self.unapplied_reports
            .iter()
            .any(|(_, reports)| reports.contains(key))
    }

    /// Takes in the claims of a group now in the log, whose last entry is
    /// at `log_size - 1`.
    fn logged(&mut self, claims: GroupClaims, log_size: u64) {
        for name in claims.sources {
            self.sources.insert(name, false);
        }
        for name in claims.revoked {
            self.sources.insert(name, true);
        }
        self.agreement_versions.extend(claims.agreements);
        if !claims.reports.is_empty() {
            for key in &claims.reports {
                let hash = self.report_hash(key);
                self.report_hashes.insert(hash);
            }
            self.unapplied_reports.push_back((log_size, claims.reports));
        }
    }

    /// Forgets the report ids of groups the store now holds (its applied
    /// size is at least `applied_size`).
    fn applied(&mut self, applied_size: u64) {
        while self
            .unapplied_reports
            .front()
            .is_some_and(|(size, _)| *size <= applied_size)
        {
            self.unapplied_reports.pop_front();
        }
    }
}

/// A group durable in the log, on its way to the store and the live
/// findings.
struct LoggedGroup {
    /// The log index of its first entry.
    first: u64,
    /// Its entries, in log order.
    entries: Vec<Entry>,
    /// Their journal lines' metadata.
    metas: Vec<EntryMeta>,
    /// A receipt per entry.
    receipts: Vec<Receipt>,
    /// Each submission's answer channel and entry count, in order.
    waiters: Vec<Waiter>,
    /// Whether the log stage checked the group's report ids against everything logged
    /// before it (its index was built), so the apply stage need not look them up.
    ids_checked: bool,
}

/// A submitter waiting for its receipts.
struct Waiter {
    reply: oneshot::Sender<Outcome>,
    entries: usize,
    nonce: SeenNonce,
}

impl Waiter {
    /// Answers with `outcome`. The handler may have gone (client
    /// disconnected); nothing to answer then.
    fn answer(self, outcome: Outcome) {
        let _ = self.reply.send(outcome);
    }
}

/// The id of the 500 answer for `error`: its own if it is one, else a new
/// one under which the cause is logged.
fn error_id_of(error: &ApiError) -> String {
    match error {
        ApiError::Internal { error_id } => error_id.clone(),
        other => match ApiError::internal(other) {
            ApiError::Internal { error_id } => error_id,
            _ => String::new(),
        },
    }
}

/// Answers every waiter with the internal error `error_id`, and stores their
/// nonces (they got no receipt).
async fn fail_waiters(store: &AnyStore, waiters: Vec<Waiter>, error_id: String) {
    let mut nonces = Vec::with_capacity(waiters.len());
    for waiter in waiters {
        nonces.push(waiter.nonce.clone());
        waiter.answer(Err(ApiError::Internal {
            error_id: error_id.clone(),
        }));
    }
    remember_nonces(store, &nonces).await;
}

/// Stores the nonces of submissions answered without receipts.
async fn remember_nonces(store: &AnyStore, nonces: &[SeenNonce]) {
    if nonces.is_empty() {
        return;
    }
    if let Err(error) = store.remember_nonces(nonces).await {
        tracing::warn!(%error, "could not remember the request nonces of unanswered submissions");
    }
}

/// What the apply stage works with (shared handles, cheap to clone).
#[derive(Clone)]
struct ApplyParts {
    store: AnyStore,
    registry: Arc<Registry>,
    hook: Arc<dyn AppliedEntries>,
    live: Arc<LiveFindings>,
    receipts: Arc<ReceiptIndex>,
}

impl ApplyParts {
    /// Projects a logged group, applies it to the store, the registry and
    /// the live findings, calls the hook and answers its submitters with
    /// their receipts. Returns the projector for the next group, or `None`
    /// when the group could not be applied (its submitters got a 500; the
    /// store must catch up with the log).
    async fn apply_group(self, mut projector: Projector, group: LoggedGroup) -> Option<Projector> {
        let started = Instant::now();
        let LoggedGroup {
            first,
            entries,
            metas,
            receipts,
            waiters,
            ids_checked,
        } = group;
        match self
            .apply_entries(&mut projector, first, &entries, &metas, ids_checked)
            .await
        {
            Ok(()) => {
                let mut receipts = receipts.into_iter();
                for waiter in waiters {
                    let count = waiter.entries;
                    waiter.answer(Ok(receipts.by_ref().take(count).collect()));
                }
                tracing::debug!(
                    first,
                    entries = entries.len(),
                    apply_us = started.elapsed().as_micros(),
                    "group applied and answered"
                );
                Some(projector)
            }
            Err(error) => {
                tracing::error!(%error, first, "applying a logged group failed; catching up before the next group");
                let error_id = error_id_of(&ApiError::internal(&error));
                fail_waiters(&self.store, waiters, error_id).await;
                None
            }
        }
    }

    /// Steps 4 and 5 for entries `first ..` (without answering anyone).
    async fn apply_entries(
        &self,
        projector: &mut Projector,
        first: u64,
        entries: &[Entry],
        metas: &[EntryMeta],
        ids_checked: bool,
    ) -> Result<(), ServerError> {
        let end = first + entries.len() as u64;
        projector.begin_batch();
        if ids_checked {
            projector.trust_checked_ids();
        }
        let now = now_ms();
        let mut projected = Vec::new();
        for ((entry, meta), index) in entries.iter().zip(metas).zip(first..) {
            projected.extend(
                projector
                    .project(&self.store, index, entry, Some(meta), now)
                    .await?,
            );
        }
        self.store.apply(first..end, &projected).await?;
        self.receipts.record(&projected);
        self.registry.apply(&projected);
        let batch: Vec<(u64, &Entry)> = (first..).zip(entries).collect();
        self.update_live(items_of(&batch, &projected)).await?;
        self.hook.applied(first, entries);
        self.live.changes().applied(end);
        Ok(())
    }

    /// Feeds the live findings a batch's reports and agreement versions (on
    /// the blocking pool: grouping and judging are CPU work). Submitters are
    /// answered after this, so a receipt means the findings include the
    /// report.
    async fn update_live(&self, items: Vec<LiveItem>) -> Result<(), ServerError> {
        if items.is_empty() {
            return Ok(());
        }
        let live = Arc::clone(&self.live);
        let applied = blocking(move || live.apply(items)).await;
        if applied.is_err() {
            // Part of the batch may be missing: rebuild on the next catch-up.
            self.live.mark_stale();
        }
        applied
    }

    /// Hands applied entries to the hook, in runs of consecutive indexes.
    fn call_hook(&self, decoded: &[(u64, Entry)]) {
        let mut run: Vec<Entry> = Vec::new();
        let mut run_start = 0;
        for (index, entry) in decoded {
            if !run.is_empty() && run_start + run.len() as u64 != *index {
                self.hook.applied(run_start, &run);
                run.clear();
            }
            if run.is_empty() {
                run_start = *index;
            }
            run.push(entry.clone());
        }
        if !run.is_empty() {
            self.hook.applied(run_start, &run);
        }
    }
}

/// The single writer: the log stage on its own task, the apply stage on a
/// task per group.
pub(crate) struct Writer {
    config: ServerConfig,
    log: RecordLog,
    blobs: BlobStore,
    journal: JournalStore,
    /// With the record in the database: whether this instance still holds
    /// the sequencer lease.
    lease: Option<Arc<LeaseWatch>>,
    parts: ApplyParts,
    ready: Arc<AtomicBool>,
    /// The admin's registration, until it is logged.
    admin: Option<Entry>,
    /// The projector, while no group is being applied; `None` while one is,
    /// and after a failure until the next catch-up.
    projector: Option<Projector>,
    /// The group being applied (the log size after it, and its task, which
    /// gives the projector back).
    applying: Option<(u64, JoinHandle<Option<Projector>>)>,
    /// What the log holds; `None` until the first catch-up, and after a
    /// failure.
    logged: Option<LoggedState>,
    last_nonce_prune: Instant,
}

impl Writer {
    #[allow(
        clippy::too_many_arguments,
        reason = "the parts of the service the writer owns or shares"
    )]
    pub fn new(
        config: ServerConfig,
        store: AnyStore,
        log: RecordLog,
        blobs: BlobStore,
        registry: Arc<Registry>,
        journal: JournalStore,
        hook: Arc<dyn AppliedEntries>,
        live: Arc<LiveFindings>,
        ready: Arc<AtomicBool>,
        admin: Option<Entry>,
        receipts: Arc<ReceiptIndex>,
        lease: Option<Arc<LeaseWatch>>,
    ) -> Self {
        Self {
            config,
            log,
            blobs,
            journal,
            lease,
            parts: ApplyParts {
                store,
                registry,
                hook,
                live,
                receipts,
            },
            ready,
            admin,
            projector: None,
            applying: None,
            logged: None,
            last_nonce_prune: Instant::now(),
        }
    }

    fn store(&self) -> &AnyStore {
        &self.parts.store
    }

    /// Serves the queue until `stop` fires (or its sender is dropped) and
    /// every submission already queued has been answered.
    pub async fn run(
        mut self,
        mut queue: mpsc::Receiver<Submission>,
        mut stop: oneshot::Receiver<()>,
    ) {
        if let Err(error) = self.ensure_ready().await {
            tracing::error!(%error, "catching up with the log failed; retrying before the next submission");
        }
        let mut stopping = false;
        loop {
            let first = tokio::select! {
                biased;
                _ = &mut stop, if !stopping => {
                    stopping = true;
                    queue.close();
                    continue;
                }
                next = queue.recv() => match next {
                    Some(submission) => submission,
                    None => break,
                },
            };
            let group = self.gather(first, &mut queue).await;
            self.commit_group(group).await;
        }
        self.settle().await;
        tracing::info!("writer stopped; every queued submission was answered");
    }

    /// The first submission and what else is queued, up to the batch size
    /// (a larger submission goes alone), waiting at most the batch latency.
    async fn gather(
        &self,
        first: Submission,
        queue: &mut mpsc::Receiver<Submission>,
    ) -> Vec<Submission> {
        let max = self.config.writer.max_batch_entries;
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(self.config.writer.max_batch_latency_ms);
        let mut count = first.entries.len();
        let mut group = vec![first];
        while count < max {
            let next = match queue.try_recv() {
                Ok(next) => next,
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout_at(deadline, queue.recv()).await {
                        Ok(Some(next)) => next,
                        Ok(None) | Err(_) => break,
                    }
                }
            };
            count += next.entries.len();
            group.push(next);
        }
        group
    }

    /// Waits for the group in the apply stage, if any, and takes the
    /// projector back. After a failed (or panicked) apply the projector is
    /// gone and the log stage's state is dropped: the next group catches up
    /// first.
    async fn settle(&mut self) {
        let Some((applied_size, applying)) = self.applying.take() else {
            return;
        };
        match applying.await {
            Ok(Some(projector)) => {
                self.projector = Some(projector);
                if let Some(logged) = self.logged.as_mut() {
                    logged.applied(applied_size);
                }
            }
            Ok(None) => self.needs_catch_up(),
            Err(error) => {
                tracing::error!(%error, "the apply stage panicked; rebuilding from the log");
                self.parts.live.mark_stale();
                self.needs_catch_up();
            }
        }
    }

    /// Drops what depends on the store being in step with the log.
    fn needs_catch_up(&mut self) {
        self.projector = None;
        self.logged = None;
        self.parts.receipts.forget();
        self.ready.store(false, Ordering::Release);
    }

    /// Catches the store up with the log and logs the admin's registration
    /// on first start; marks the server ready.
    async fn ensure_ready(&mut self) -> Result<(), ServerError> {
        // `logged` is `None` at start and after a failure; the projector is
        // away while a group is being applied, which needs no catch-up.
        if self.logged.is_none() {
            self.settle().await;
            self.ready.store(false, Ordering::Release);
            self.catch_up().await?;
        }
        if let Some(admin) = self.admin.take()
            && self.log_size() == 0
        {
            let bytes = admin.encode().map_err(|error| ServerError::AdminKey {
                reason: error.to_string(),
            })?;
            let meta = EntryMeta {
                ts_ms: now_ms(),
                ..EntryMeta::default()
            };
            let logged = self
                .log_group(
                    vec![(admin.clone(), bytes, meta)],
                    Vec::new(),
                    Vec::new(),
                    false,
                )
                .await;
            let applied = match (logged, self.projector.as_mut()) {
                (Ok(group), Some(projector)) => self
                    .parts
                    .apply_entries(
                        projector,
                        group.first,
                        &group.entries,
                        &group.metas,
                        group.ids_checked,
                    )
                    .await
                    .map_err(|error| error.to_string()),
                (Ok(_), None) => Err("the writer has no projector".to_owned()),
                (Err((error, _)), _) => Err(error.to_string()),
            };
            if let Err(reason) = applied {
                self.admin = Some(admin);
                self.needs_catch_up();
                return Err(ServerError::AdminKey {
                    reason: format!("logging the admin's registration failed: {reason}"),
                });
            }
            if let Some(logged) = self.logged.as_mut() {
                let mut claims = GroupClaims::default();
                if let Entry::SourceRegistration(registration) = &admin {
                    claims.sources.insert(registration.source_id.clone());
                }
                logged.logged(claims, self.log.size());
            }
            tracing::info!("logged the admin's registration as entry 0");
        }
        self.parts.live.changes().applied(self.log_size());
        self.ready.store(true, Ordering::Release);
        Ok(())
    }

    fn log_size(&self) -> u64 {
        self.log.size()
    }

    /// Reloads the projector and the registry from the store, then projects
    /// and applies the log entries the store has not applied yet, then
    /// rebuilds the log stage's state from the store. Runs with no group in
    /// the apply stage.
    async fn catch_up(&mut self) -> Result<(), ServerError> {
        self.projector = None;
        self.logged = None;
        let store = self.parts.store.clone();
        let indexes = Projector::agreement_indexes(&store).await?;
        let log = self.log.clone();
        let agreement_entries = blocking(move || {
            log.read(|log| {
                let mut versions = BTreeMap::new();
                for index in indexes {
                    if let Ok(Entry::AgreementVersion(version)) = Entry::decode(&log.entry(index)?)
                    {
                        versions.insert(index, version);
                    }
                }
                Ok::<BTreeMap<u64, AgreementVersion>, ServerError>(versions)
            })
        })
        .await??;
        let mut projector = Projector::load(&store, self.blobs.clone(), &agreement_entries).await?;
        self.parts.registry.replace(&store.sources().await?);
        let applied = store.applied_size().await?;
        let size = self.log_size();
        if !self.parts.live.is_built() {
            self.parts.live.rebuild(&store, &self.log).await?;
        }
        if applied > size {
            return Err(ServerError::StoreAhead {
                applied,
                log_size: size,
            });
        }
        if applied < size {
            tracing::info!(
                applied,
                log_size = size,
                "catching the store up with the log"
            );
            let lines = self.journal.read_since(applied).await?;
            let mut start = applied;
            while start < size {
                let end = size.min(start + CATCH_UP_CHUNK);
                let log = self.log.clone();
                let raw = blocking(move || log.read(|log| log.entries(start, end))).await??;
                projector.begin_batch();
                let (projected, decoded) =
                    project_entries(&mut projector, &store, start, &raw, &lines, now_ms()).await?;
                store.apply(start..end, &projected).await?;
                self.parts.registry.apply(&projected);
                let batch: Vec<(u64, &Entry)> = decoded
                    .iter()
                    .map(|(index, entry)| (*index, entry))
                    .collect();
                self.parts.update_live(items_of(&batch, &projected)).await?;
                self.parts.call_hook(&decoded);
                start = end;
            }
            tracing::info!(log_size = size, "the store has caught up with the log");
        }
        let logged = LoggedState::from_store(&store).await?;
        self.parts.receipts.rebuild(&store).await?;
        // Both are read from the store that now holds the whole log.
        debug_assert!(
            logged
                .sources
                .iter()
                .all(|(name, revoked)| projector.source_state(name) == Some(*revoked))
                && logged
                    .agreement_versions
                    .iter()
                    .all(|(id, version, reading)| projector
                        .has_agreement_version(id, *version, reading)),
            "the projector and the log stage disagree on sources or agreement versions"
        );
        self.logged = Some(logged);
        self.projector = Some(projector);
        Ok(())
    }

    /// Checks and logs a group, then hands it to the apply stage (after the
    /// previous group left it), which answers its submitters.
    async fn commit_group(&mut self, group: Vec<Submission>) {
        let started = Instant::now();
        if self
            .lease
            .as_ref()
            .is_some_and(|lease| lease.lost().is_some())
        {
            self.refuse_without_lease(group.into_iter().map(waiter_of).collect());
            return;
        }
        if let Err(error) = self.ensure_ready().await {
            let waiters = group.into_iter().map(waiter_of).collect();
            if self.lease_lost_now().await {
                self.refuse_without_lease(waiters);
                return;
            }
            let error_id = error_id_of(&ApiError::internal(&error));
            fail_waiters(self.store(), waiters, error_id).await;
            return;
        }
        let submissions = group.len();
        // With the log stage's index built, every accepted report id is checked against
        // everything logged before (see `stored_reports`).
        let ids_checked = self.logged.is_some();
        let (accepted, claims) = self.check_group(group).await;
        let checked = started.elapsed();
        if !accepted.is_empty() {
            let mut items = Vec::new();
            let mut waiters = Vec::with_capacity(accepted.len());
            let mut bodies = Vec::new();
            for submission in accepted {
                let count = submission.entries.len();
                let submitter = submission.submitter;
                waiters.push(Waiter {
                    reply: submission.reply,
                    entries: count,
                    nonce: SeenNonce {
                        key: submitter.key.clone(),
                        nonce_hex: submitter.nonce.clone(),
                        ts_ms: submitter.ts_ms,
                    },
                });
                for (position, prepared) in submission.entries.into_iter().enumerate() {
                    let receipt_nonce = if position == 0 {
                        Some(submitter.nonce.clone())
                    } else if position + 1 == count {
                        Some(format!("{}/end", submitter.nonce))
                    } else {
                        None
                    };
                    let meta = EntryMeta {
                        ts_ms: submitter.ts_ms,
                        submitter: Some(submitter.key.clone()),
                        receipt_nonce,
                        agreement: prepared.agreement,
                        openings: prepared.openings,
                    };
                    bodies.extend(prepared.bodies);
                    items.push((prepared.entry, prepared.bytes, meta));
                }
            }
            let entries = items.len();
            match self.log_group(items, bodies, waiters, ids_checked).await {
                Ok(group) => {
                    let log_size = group.first + group.entries.len() as u64;
                    if let Some(logged) = self.logged.as_mut() {
                        logged.logged(claims, log_size);
                    }
                    let logged_at = started.elapsed();
                    // The previous group leaves the apply stage before this one enters it.
                    self.settle().await;
                    match self.projector.take() {
                        Some(projector) => {
                            let parts = self.parts.clone();
                            self.applying =
                                Some((log_size, tokio::spawn(parts.apply_group(projector, group))));
                        }
                        None => {
                            let error_id = error_id_of(&ApiError::internal(
                                &"logged after a group that could not be applied",
                            ));
                            fail_waiters(self.store(), group.waiters, error_id).await;
                        }
                    }
                    tracing::debug!(
                        submissions,
                        entries,
                        check_us = checked.as_micros(),
                        log_us = (logged_at - checked).as_micros(),
                        wait_apply_us = (started.elapsed() - logged_at).as_micros(),
                        "group logged"
                    );
                }
                Err((error, waiters)) => {
                    if self.lease_lost_now().await {
                        tracing::error!(%error, "logging a group failed: the sequencer lease is lost");
                        self.refuse_without_lease(waiters);
                        return;
                    }
                    tracing::error!(%error, "logging a group failed; catching up before the next group");
                    self.needs_catch_up();
                    fail_waiters(self.store(), waiters, error_id_of(&error)).await;
                }
            }
        }
        if self.last_nonce_prune.elapsed() >= NONCE_PRUNE_EVERY {
            self.last_nonce_prune = Instant::now();
            let horizon = now_ms()
                .saturating_sub(2 * i64::try_from(self.config.max_skew_ms).unwrap_or(i64::MAX / 4));
            if let Err(error) = self.store().forget_nonces(horizon).await {
                tracing::warn!(%error, "could not forget old request nonces");
            }
        }
    }

    /// After a failure: whether the sequencer lease (if the record is in the
    /// database) turns out to be lost.
    async fn lease_lost_now(&self) -> bool {
        match &self.lease {
            Some(lease) => lease.check().await,
            None => false,
        }
    }

    /// Answers submitters 503 because this instance lost the sequencer
    /// lease, and stops reporting ready. Their nonces are not stored: each
    /// request may be sent again as it is to the instance that holds the
    /// lease now, which logs it or (if its checkpoint was staged before the
    /// loss) answers it with its receipts.
    fn refuse_without_lease(&self, waiters: Vec<Waiter>) {
        self.ready.store(false, Ordering::Release);
        let lease = self
            .lease
            .as_ref()
            .and_then(|lease| lease.lost())
            .unwrap_or_else(|| "lost".to_owned());
        for waiter in waiters {
            waiter.answer(Err(ApiError::NotSequencer {
                lease: lease.clone(),
                retry_after_s: self.config.retry_after_s,
            }));
        }
    }

    /// Checks each submission of a group in order; answers the refused
    /// ones (and stores their nonces). Returns the accepted ones and what
    /// they claim.
    async fn check_group(&self, group: Vec<Submission>) -> (Vec<Submission>, GroupClaims) {
        let mut claims = GroupClaims::default();
        let mut accepted = Vec::with_capacity(group.len());
        let mut refused = Vec::new();
        let stored = match self.stored_reports(&group).await {
            Ok(stored) => stored,
            Err(error) => {
                let waiters = group.into_iter().map(waiter_of).collect();
                fail_waiters(self.store(), waiters, error_id_of(&error)).await;
                return (accepted, claims);
            }
        };
        for submission in group {
            match self.check(&submission, &stored, &mut claims) {
                Ok(()) => accepted.push(submission),
                Err(error) => {
                    let waiter = waiter_of(submission);
                    refused.push(waiter.nonce.clone());
                    waiter.answer(Err(error));
                }
            }
        }
        remember_nonces(self.store(), &refused).await;
        (accepted, claims)
    }

    /// Which of the group's report ids the store already holds. Only ids
    /// whose hash the log stage has seen are looked up (concurrently): a
    /// resent or duplicate report, or a rare hash collision. The ids of
    /// logged groups not yet applied are in [`LoggedState`] instead.
    async fn stored_reports(&self, group: &[Submission]) -> Result<HashSet<ReportKey>, ApiError> {
        let Some(logged) = &self.logged else {
            return Ok(HashSet::new());
        };
        let mut keys: HashSet<ReportKey> = HashSet::new();
        for submission in group {
            for prepared in &submission.entries {
                if let Entry::Report(report) = &prepared.entry {
                    let key = (
                        prepared.agreement.clone().unwrap_or_default(),
                        report.report_id.clone(),
                    );
                    if logged.maybe_logged(&key) && !logged.unapplied_report(&key) {
                        keys.insert(key);
                    }
                }
            }
        }
        let mut lookups = tokio::task::JoinSet::new();
        for key in keys {
            let store = self.store().clone();
            lookups.spawn(async move {
                let found = store.report_by_id(&key.0, &key.1).await;
                found.map(|record| record.map(|_| key))
            });
        }
        let mut stored = HashSet::new();
        while let Some(joined) = lookups.join_next().await {
            let found = joined
                .map_err(|error| ApiError::internal(&error))?
                .map_err(|error| ApiError::internal(&error))?;
            stored.extend(found);
        }
        Ok(stored)
    }

    /// Refuses a submission that conflicts with the log (`stored`: the
    /// group's report ids the store holds) or with an earlier submission of
    /// the group; otherwise records its claims.
    fn check(
        &self,
        submission: &Submission,
        stored: &HashSet<ReportKey>,
        claims: &mut GroupClaims,
    ) -> Result<(), ApiError> {
        let Some(logged) = &self.logged else {
            return Err(ApiError::NotReady {
                retry_after_s: self.config.retry_after_s,
            });
        };
        let mut sources = Vec::new();
        let mut revoked = Vec::new();
        let mut agreements = Vec::new();
        let mut reports = Vec::new();
        for prepared in &submission.entries {
            let pointer = &prepared.pointer;
            match &prepared.entry {
                Entry::SourceRegistration(registration)
                    if registration.public_key == REVOKED_KEY =>
                {
                    let name = &registration.source_id;
                    match logged.sources.get(name).copied() {
                        None => {
                            return Err(ApiError::NotFound {
                                what: format!("source {name:?}"),
                                parameter: "name",
                            });
                        }
                        Some(true) => {
                            return Err(ApiError::Conflict(FieldProblem::parameter(
                                "name",
                                format!("source {name:?} is already revoked"),
                            )));
                        }
                        Some(false) if claims.revoked.contains(name) => {
                            return Err(ApiError::Conflict(FieldProblem::parameter(
                                "name",
                                format!("source {name:?} is already being revoked"),
                            )));
                        }
                        Some(false) => revoked.push(name.clone()),
                    }
                }
                Entry::SourceRegistration(registration) => {
                    let name = &registration.source_id;
                    if logged.sources.contains_key(name) || claims.sources.contains(name) {
                        return Err(ApiError::Conflict(FieldProblem::at(
                            format!("{pointer}/vkey"),
                            format!(
                                "source {name:?} is already registered; a name is never registered twice"
                            ),
                        )));
                    }
                    sources.push(name.clone());
                }
                Entry::AgreementVersion(version) => {
                    let key = (
                        version.agreement_id.clone(),
                        version.version,
                        version.interpretation.clone(),
                    );
                    if logged.agreement_versions.contains(&key) || claims.agreements.contains(&key)
                    {
                        return Err(ApiError::Conflict(FieldProblem::at(
                            pointer.clone(),
                            format!(
                                "agreement {:?} version {} ({}) is already logged; an amendment is a new version",
                                key.0, key.1, key.2
                            ),
                        )));
                    }
                    agreements.push(key);
                }
                Entry::Report(report) => {
                    let agreement = prepared.agreement.clone().unwrap_or_default();
                    let key = (agreement, report.report_id.clone());
                    if stored.contains(&key)
                        || logged.unapplied_report(&key)
                        || claims.reports.contains(&key)
                    {
                        return Err(ApiError::Conflict(FieldProblem::at(
                            format!("{pointer}/id"),
                            format!(
                                "report id {:?} is already used under agreement {:?}",
                                key.1, key.0
                            ),
                        )));
                    }
                    reports.push(key);
                }
                _ => {}
            }
        }
        claims.sources.extend(sources);
        claims.revoked.extend(revoked);
        claims.agreements.extend(agreements);
        claims.reports.extend(reports);
        Ok(())
    }

    /// The log stage's durable part: syncs the bodies the entries commit to,
    /// journals the entries (synced), appends them to the log (durable once
    /// the checkpoint is published) and returns the group with its
    /// receipts. On error the waiters come back unanswered.
    async fn log_group(
        &mut self,
        items: Vec<(Entry, Vec<u8>, EntryMeta)>,
        bodies: Vec<Vec<u8>>,
        waiters: Vec<Waiter>,
        ids_checked: bool,
    ) -> Result<LoggedGroup, (ApiError, Vec<Waiter>)> {
        let started = Instant::now();
        let first = self.log_size();
        let mut lines = Vec::with_capacity(items.len());
        let mut entries = Vec::with_capacity(items.len());
        let mut metas = Vec::with_capacity(items.len());
        let mut bytes = Vec::with_capacity(items.len());
        for ((entry, encoded, meta), index) in items.into_iter().zip(first..) {
            lines.push(JournalLine {
                index,
                sha256: journal::hex(&Sha256::digest(&encoded)),
                meta: meta.clone(),
            });
            entries.push(entry);
            metas.push(meta);
            bytes.push(encoded);
        }
        // The bodies and the journal lines are independent: write and sync
        // them at the same time (the file system commits concurrent syncs
        // together). Both are durable before the append begins.
        let journaled = self.journal.append(lines);
        let store = self.blobs.clone();
        let synced = blocking(move || store.put_many(&bodies).map(|_| ()));
        let (journaled, synced) = tokio::join!(journaled, synced);
        let durable_at = Instant::now();
        let prepared = match (journaled, synced) {
            (Ok(()), Ok(Ok(()))) => Ok(()),
            (Err(error), _) | (_, Err(error)) => Err(ApiError::internal(&error)),
            (_, Ok(Err(error))) => Err(ApiError::internal(&error)),
        };
        if let Err(error) = prepared {
            return Err((error, waiters));
        }

        let log = self.log.clone();
        let appended = blocking(move || log.append_batch_with_receipts(&bytes)).await;
        tracing::debug!(
            entries = entries.len(),
            bodies_and_journal_us = durable_at.duration_since(started).as_micros(),
            append_us = durable_at.elapsed().as_micros(),
            "group durable in the log"
        );
        let receipts = match appended {
            Ok(Ok(receipts)) => receipts,
            Ok(Err(error)) => return Err((ApiError::internal(&error), waiters)),
            Err(error) => return Err((ApiError::internal(&error), waiters)),
        };
        if receipts.first().map(Receipt::index) != Some(first) {
            let error = ApiError::internal(&format!(
                "the log appended the batch at {:?}, not at {first}",
                receipts.first().map(Receipt::index)
            ));
            return Err((error, waiters));
        }
        Ok(LoggedGroup {
            first,
            entries,
            metas,
            receipts,
            waiters,
            ids_checked,
        })
    }
}

/// A submission's waiter (its answer channel, entry count and nonce).
fn waiter_of(submission: Submission) -> Waiter {
    Waiter {
        entries: submission.entries.len(),
        nonce: SeenNonce {
            key: submission.submitter.key,
            nonce_hex: submission.submitter.nonce,
            ts_ms: submission.submitter.ts_ms,
        },
        reply: submission.reply,
    }
}

/// Decodes the log entries `raw` (at indexes `start ..`), finds each one's journal line
/// (same index and SHA-256 of the entry's bytes; the last such line wins) and projects it.
/// Returns the store records and the decoded entries by index; an entry that does not
/// decode is skipped with a warning. `now` stands in for times neither the log nor the
/// journal gives. Catch-up applies the result to the store; [`crate::replay`] reads a data
/// directory with it, so both see the log the same way.
pub(crate) async fn project_entries<S: Store>(
    projector: &mut Projector,
    store: &S,
    start: u64,
    raw: &[Vec<u8>],
    lines: &BTreeMap<u64, Vec<JournalLine>>,
    now: i64,
) -> Result<(Vec<truce_store::Projected>, Vec<(u64, Entry)>), truce_store::StoreError> {
    let mut projected = Vec::new();
    let mut decoded = Vec::with_capacity(raw.len());
    for (index, bytes) in (start..).zip(raw) {
        let sha = journal::hex(&Sha256::digest(bytes));
        let meta = lines
            .get(&index)
            .and_then(|lines| lines.iter().rev().find(|line| line.sha256 == sha))
            .map(|line| &line.meta);
        match Entry::decode(bytes) {
            Ok(entry) => {
                projected.extend(projector.project(store, index, &entry, meta, now).await?);
                decoded.push((index, entry));
            }
            Err(error) => {
                tracing::warn!(index, %error, "log entry does not decode; not projected");
            }
        }
    }
    Ok((projected, decoded))
}

/// Runs blocking work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServerError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ServerError::Task(error.to_string()))
}

impl From<ServerError> for ApiError {
    fn from(error: ServerError) -> Self {
        ApiError::internal(&error)
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("data_dir", &self.config.data_dir)
            .field("record", &self.config.record)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key(agreement: &str, id: &str) -> ReportKey {
        (agreement.to_owned(), id.to_owned())
    }

    #[test]
    fn logged_report_ids_stay_claimed_until_the_store_has_them() {
        let mut state = LoggedState::default();
        assert!(!state.maybe_logged(&key("a", "r1")));
        let mut claims = GroupClaims::default();
        claims.reports.insert(key("a", "r1"));
        claims.sources.insert("ua.example/one".into());
        state.logged(claims, 10);
        let mut claims = GroupClaims::default();
        claims.reports.insert(key("a", "r2"));
        claims.revoked.insert("ua.example/one".into());
        state.logged(claims, 12);
        // Both groups are logged, neither applied: their ids are taken.
        assert!(state.unapplied_report(&key("a", "r1")));
        assert!(state.unapplied_report(&key("a", "r2")));
        assert!(!state.unapplied_report(&key("b", "r1")));
        assert_eq!(state.sources.get("ua.example/one"), Some(&true));
        // The store has the first group: its ids are the store's to answer now,
        // and their hashes still say "look it up".
        state.applied(10);
        assert!(!state.unapplied_report(&key("a", "r1")));
        assert!(state.unapplied_report(&key("a", "r2")));
        assert!(state.maybe_logged(&key("a", "r1")));
        assert!(!state.maybe_logged(&key("b", "r1")));
        state.applied(12);
        assert!(state.unapplied_reports.is_empty());
        assert!(state.maybe_logged(&key("a", "r2")));
    }
}
