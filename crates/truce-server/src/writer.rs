//! The write path: one task owns the log, and every submission reaches it
//! through a bounded queue.
//!
//! For each group of queued submissions the writer
//!
//! 1. checks each against the log's state (a source registered twice, a
//!    report id used twice in an agreement, an agreement version logged
//!    twice): a submission that conflicts is refused whole (409) and leaves
//!    no trace, the others go on;
//! 2. appends one [journal](crate::journal) line per entry and syncs it;
//! 3. appends the entries with [`Log::append_batch_with_receipts`]: tiles,
//!    then the signed checkpoint, whose publication is the commit point;
//! 4. projects the entries and applies them to the store in one transaction
//!    together with a [`truce_store::Projected::Receipt`] per submission, so that a
//!    retried submission gets its original receipts back;
//! 5. updates the key registry, feeds the [live findings](crate::live) the
//!    batch's reports and agreement versions, calls the [`AppliedEntries`]
//!    hook, and answers each waiting handler with its receipts (so a
//!    receipt means the report is already in the incidents and findings);
//! 6. remembers the group's request nonces in the store (for the replay
//!    window after a restart).
//!
//! Nothing is acknowledged before step 4 is done. If step 3 or 4 fails the
//! waiters get a 500 and the writer catches the store up with the log
//! before its next group (the entries may be in the log: an append that
//! failed after staging its checkpoint is published on recovery). On start
//! the same catch-up runs before anything else: entries in the log beyond
//! the store's applied size are projected from the log and the journal and
//! applied, and only then does the server report ready. Before that the
//! live findings are rebuilt from what the store already held.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use truce_log::entry::{AgreementVersion, Entry};
use truce_log::{BlobStore, Log, Receipt};
use truce_store::{SeenNonce, SqliteStore, Store};

use crate::config::ServerConfig;
use crate::data_dir::DataDir;
use crate::error::{ApiError, FieldProblem, ServerError};
use crate::journal::{self, EntryMeta, Journal, JournalLine, Openings};
use crate::live::{LiveFindings, items_of};
use crate::projection::{Projector, REVOKED_KEY};
use crate::registry::Registry;
use crate::state::{AppliedEntries, now_ms};

/// How many log entries catch-up reads and applies at a time.
const CATCH_UP_CHUNK: u64 = 4096;

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

/// What the entries of one group claim, to refuse a later submission of the
/// same group that conflicts with an earlier one.
#[derive(Debug, Default)]
struct GroupClaims {
    sources: HashSet<String>,
    revoked: HashSet<String>,
    agreements: HashSet<(String, u32, String)>,
    reports: HashSet<(String, String)>,
}

/// The single writer.
pub(crate) struct Writer {
    config: ServerConfig,
    data: DataDir,
    store: SqliteStore,
    log: Arc<RwLock<Log>>,
    blobs: BlobStore,
    registry: Arc<Registry>,
    journal: Arc<Mutex<Journal>>,
    hook: Arc<dyn AppliedEntries>,
    live: Arc<LiveFindings>,
    ready: Arc<AtomicBool>,
    /// The admin's registration, until it is logged.
    admin: Option<Entry>,
    /// `None` until the first catch-up, and after a failure.
    projector: Option<Projector>,
    last_nonce_prune: Instant,
}

impl Writer {
    #[allow(
        clippy::too_many_arguments,
        reason = "the parts of the service the writer owns or shares"
    )]
    pub fn new(
        config: ServerConfig,
        data: DataDir,
        store: SqliteStore,
        log: Arc<RwLock<Log>>,
        blobs: BlobStore,
        registry: Arc<Registry>,
        journal: Journal,
        hook: Arc<dyn AppliedEntries>,
        live: Arc<LiveFindings>,
        ready: Arc<AtomicBool>,
        admin: Option<Entry>,
    ) -> Self {
        Self {
            config,
            data,
            store,
            log,
            blobs,
            registry,
            journal: Arc::new(Mutex::new(journal)),
            hook,
            live,
            ready,
            admin,
            projector: None,
            last_nonce_prune: Instant::now(),
        }
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

    /// Catches the store up with the log and logs the admin's registration
    /// on first start; marks the server ready.
    async fn ensure_ready(&mut self) -> Result<(), ServerError> {
        if self.projector.is_none() {
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
            if let Err(error) = self
                .append_and_apply(vec![(admin.clone(), bytes, meta)])
                .await
            {
                self.admin = Some(admin);
                return Err(ServerError::AdminKey {
                    reason: format!("logging the admin's registration failed: {error}"),
                });
            }
            tracing::info!("logged the admin's registration as entry 0");
        }
        self.ready.store(true, Ordering::Release);
        Ok(())
    }

    fn log_size(&self) -> u64 {
        self.log
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .size()
    }

    /// Reloads the projector and the registry from the store, then projects
    /// and applies the log entries the store has not applied yet.
    async fn catch_up(&mut self) -> Result<(), ServerError> {
        let indexes = Projector::agreement_indexes(&self.store).await?;
        let log = Arc::clone(&self.log);
        let agreement_entries = blocking(move || {
            let log = log.read().unwrap_or_else(PoisonError::into_inner);
            let mut versions = BTreeMap::new();
            for index in indexes {
                if let Ok(Entry::AgreementVersion(version)) = Entry::decode(&log.entry(index)?) {
                    versions.insert(index, version);
                }
            }
            Ok::<BTreeMap<u64, AgreementVersion>, ServerError>(versions)
        })
        .await??;
        let mut projector =
            Projector::load(&self.store, self.blobs.clone(), &agreement_entries).await?;
        self.registry.replace(&self.store.sources().await?);
        let applied = self.store.applied_size().await?;
        let size = self.log_size();
        if !self.live.is_built() {
            self.live.rebuild(&self.store, &self.log).await?;
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
            let path = self.data.journal();
            let lines = blocking(move || journal::read_since(&path, applied)).await??;
            let mut start = applied;
            while start < size {
                let end = size.min(start + CATCH_UP_CHUNK);
                let log = Arc::clone(&self.log);
                let raw = blocking(move || {
                    log.read()
                        .unwrap_or_else(PoisonError::into_inner)
                        .entries(start, end)
                })
                .await??;
                projector.begin_batch();
                let (projected, decoded) =
                    project_entries(&mut projector, &self.store, start, &raw, &lines, now_ms())
                        .await?;
                self.store.apply(start..end, &projected).await?;
                self.registry.apply(&projected);
                let batch: Vec<(u64, &Entry)> = decoded
                    .iter()
                    .map(|(index, entry)| (*index, entry))
                    .collect();
                self.update_live(items_of(&batch, &projected)).await?;
                self.call_hook(&decoded);
                start = end;
            }
            tracing::info!(log_size = size, "the store has caught up with the log");
        }
        self.projector = Some(projector);
        Ok(())
    }

    /// Feeds the live findings a batch's reports and agreement versions (on
    /// the blocking pool: grouping and judging are CPU work). Submitters are
    /// answered after this, so a receipt means the findings include the
    /// report.
    async fn update_live(&self, items: Vec<crate::live::LiveItem>) -> Result<(), ServerError> {
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

    /// Checks, logs and applies a group of submissions and answers each.
    async fn commit_group(&mut self, group: Vec<Submission>) {
        let nonces: Vec<SeenNonce> = group
            .iter()
            .map(|submission| SeenNonce {
                key: submission.submitter.key.clone(),
                nonce_hex: submission.submitter.nonce.clone(),
                ts_ms: submission.submitter.ts_ms,
            })
            .collect();
        if let Err(error) = self.ensure_ready().await {
            let error_id = match ApiError::internal(&error) {
                ApiError::Internal { error_id } => error_id,
                _ => String::new(),
            };
            for submission in group {
                let _ = submission.reply.send(Err(ApiError::Internal {
                    error_id: error_id.clone(),
                }));
            }
            return;
        }
        let mut claims = GroupClaims::default();
        let mut accepted = Vec::with_capacity(group.len());
        for submission in group {
            match self.check(&submission, &mut claims).await {
                Ok(()) => accepted.push(submission),
                Err(error) => {
                    // The handler may have gone (client disconnected); nothing to answer then.
                    let _ = submission.reply.send(Err(error));
                }
            }
        }
        if !accepted.is_empty() {
            let mut items = Vec::new();
            let mut counts = Vec::with_capacity(accepted.len());
            let mut replies = Vec::with_capacity(accepted.len());
            for submission in accepted {
                let count = submission.entries.len();
                counts.push(count);
                replies.push(submission.reply);
                let submitter = submission.submitter;
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
                    items.push((prepared.entry, prepared.bytes, meta));
                }
            }
            match self.append_and_apply(items).await {
                Ok(receipts) => {
                    let mut receipts = receipts.into_iter();
                    for (reply, count) in replies.into_iter().zip(counts) {
                        let _ = reply.send(Ok(receipts.by_ref().take(count).collect()));
                    }
                }
                Err(error) => {
                    let error_id = match &error {
                        ApiError::Internal { error_id } => error_id.clone(),
                        other => match ApiError::internal(other) {
                            ApiError::Internal { error_id } => error_id,
                            _ => String::new(),
                        },
                    };
                    for reply in replies {
                        let _ = reply.send(Err(ApiError::Internal {
                            error_id: error_id.clone(),
                        }));
                    }
                }
            }
        }
        if let Err(error) = self.store.remember_nonces(&nonces).await {
            tracing::warn!(%error, "could not remember the group's request nonces");
        }
        if self.last_nonce_prune.elapsed() >= NONCE_PRUNE_EVERY {
            self.last_nonce_prune = Instant::now();
            let horizon = now_ms()
                .saturating_sub(2 * i64::try_from(self.config.max_skew_ms).unwrap_or(i64::MAX / 4));
            if let Err(error) = self.store.forget_nonces(horizon).await {
                tracing::warn!(%error, "could not forget old request nonces");
            }
        }
    }

    /// Refuses a submission that conflicts with the log or with an earlier
    /// submission of the group; otherwise records its claims.
    async fn check(
        &self,
        submission: &Submission,
        claims: &mut GroupClaims,
    ) -> Result<(), ApiError> {
        let Some(projector) = &self.projector else {
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
                    match projector.source_state(name) {
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
                    if projector.source_state(name).is_some() || claims.sources.contains(name) {
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
                    if projector.has_agreement_version(&key.0, key.1, &key.2)
                        || claims.agreements.contains(&key)
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
                    let stored = self
                        .store
                        .report_by_id(&key.0, &key.1)
                        .await
                        .map_err(|error| ApiError::internal(&error))?;
                    if stored.is_some() || claims.reports.contains(&key) {
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

    /// Journals, appends and applies `items`; returns their receipts.
    async fn append_and_apply(
        &mut self,
        items: Vec<(Entry, Vec<u8>, EntryMeta)>,
    ) -> Result<Vec<Receipt>, ApiError> {
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
        let journal = Arc::clone(&self.journal);
        blocking(move || {
            journal
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .append(&lines)
        })
        .await
        .map_err(|error| ApiError::internal(&error))?
        .map_err(|error| ApiError::internal(&error))?;

        let log = Arc::clone(&self.log);
        let appended = blocking(move || {
            log.write()
                .unwrap_or_else(PoisonError::into_inner)
                .append_batch_with_receipts(&bytes)
        })
        .await;
        let receipts = match appended {
            Ok(Ok(receipts)) => receipts,
            Ok(Err(error)) => return Err(self.fail(&error)),
            Err(error) => return Err(self.fail(&error)),
        };
        if receipts.first().map(Receipt::index) != Some(first) {
            return Err(self.fail(&format!(
                "the log appended the batch at {:?}, not at {first}",
                receipts.first().map(Receipt::index)
            )));
        }
        let end = first + entries.len() as u64;
        let Some(projector) = self.projector.as_mut() else {
            return Err(self.fail(&"the writer has no projector"));
        };
        projector.begin_batch();
        let now = now_ms();
        let mut projected = Vec::new();
        for ((entry, meta), index) in entries.iter().zip(&metas).zip(first..) {
            match projector
                .project(&self.store, index, entry, Some(meta), now)
                .await
            {
                Ok(items) => projected.extend(items),
                Err(error) => return Err(self.fail(&error)),
            }
        }
        if let Err(error) = self.store.apply(first..end, &projected).await {
            return Err(self.fail(&error));
        }
        self.registry.apply(&projected);
        let batch: Vec<(u64, &Entry)> = (first..).zip(&entries).collect();
        let items = items_of(&batch, &projected);
        if let Err(error) = self.update_live(items).await {
            return Err(self.fail(&error));
        }
        self.hook.applied(first, &entries);
        tracing::debug!(
            first,
            entries = entries.len(),
            "batch committed and applied"
        );
        Ok(receipts)
    }

    /// Logs a failure after the append began, and schedules a catch-up.
    fn fail(&mut self, cause: &dyn std::fmt::Display) -> ApiError {
        self.projector = None;
        self.ready.store(false, Ordering::Release);
        ApiError::internal(cause)
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
            .field("data_dir", &self.data.root())
            .finish_non_exhaustive()
    }
}
