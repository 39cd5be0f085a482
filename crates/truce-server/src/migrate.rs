//! Moving a deployment's store to another backend (`truce migrate`): the log of a data
//! directory replayed into an empty store the way the service's catch-up does, then the
//! new store compared, query by query, with the old one.
//!
//! The store is a projection of the log, so nothing needs copying but the bookkeeping the
//! log does not hold (nonces seen, for replay protection across the move): the new store
//! is built from the log ([`replay_into_empty`]) and then checked against the old one
//! ([`compare_stores`]), which must give the same answer to every question the service
//! asks of a store. The log is only read.

use std::fs;
use std::path::{Path, PathBuf};

use truce_log::CHECKPOINT_FILE;
use truce_note::{Checkpoint, Note};
use truce_store::{
    AnnotationKind, MAX_PAGE_LIMIT, PageRequest, Projected, ReportFilter, SeenNonce, Store,
    StoreError,
};

use crate::data_dir::DataDir;
use crate::replay::{ReplayError, Replayed, replay_into};
use crate::state::now_ms;

/// Every annotation kind, for the index queries.
const KINDS: [AnnotationKind; 4] = AnnotationKind::ALL;

/// The log's state as its published checkpoint says: what `truce migrate` prints before
/// and after, to show the log was not touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    /// The checkpoint's size.
    pub size: u64,
    /// The checkpoint's root hash, hex.
    pub root: String,
}

/// Reads the published checkpoint of `dir/log` (signatures parsed, not verified).
///
/// # Errors
///
/// [`ReplayError::NotADataDir`] when there is no checkpoint, [`ReplayError::Io`] and
/// [`ReplayError::Checkpoint`] when it cannot be read.
pub fn log_state(dir: &Path) -> Result<LogState, ReplayError> {
    let path = DataDir::new(dir).log_dir().join(CHECKPOINT_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReplayError::NotADataDir {
                dir: dir.to_owned(),
                what: "the log's checkpoint",
                path,
            });
        }
        Err(source) => return Err(ReplayError::Io { path, source }),
    };
    let checkpoint_error = |reason: String| ReplayError::Checkpoint {
        path: path.clone(),
        reason,
    };
    let note = Note::parse(&bytes).map_err(|error| checkpoint_error(error.to_string()))?;
    let checkpoint =
        Checkpoint::from_text(note.text()).map_err(|error| checkpoint_error(error.to_string()))?;
    Ok(LogState {
        size: checkpoint.size(),
        root: checkpoint.root().to_string(),
    })
}

/// What a store holds, as far as [`what_is_in`] looks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contents {
    /// Log entries applied.
    pub applied: u64,
    /// Sources registered.
    pub sources: usize,
    /// Agreement versions (one per interpretation).
    pub agreements: usize,
    /// Whether it holds any report.
    pub has_reports: bool,
    /// Nonces remembered.
    pub nonces: usize,
}

impl Contents {
    /// Whether the store holds nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == Contents::default()
    }
}

impl std::fmt::Display for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} applied log entries, {} sources, {} agreement versions, {}, {} remembered nonces",
            self.applied,
            self.sources,
            self.agreements,
            if self.has_reports {
                "reports"
            } else {
                "no reports"
            },
            self.nonces
        )
    }
}

/// What `store` holds: its applied size and whether it has records or bookkeeping.
///
/// # Errors
///
/// [`StoreError`] when the store cannot be read.
pub async fn what_is_in<S: Store>(store: &S) -> Result<Contents, StoreError> {
    Ok(Contents {
        applied: store.applied_size().await?,
        sources: store.sources().await?.len(),
        agreements: store.agreements().await?.len(),
        has_reports: !store
            .reports(&ReportFilter::default(), PageRequest::first(1))
            .await?
            .items
            .is_empty(),
        nonces: store.load_nonces(i64::MIN).await?.len(),
    })
}

/// What was seen while the log was replayed: the questions a comparison must ask that
/// the store cannot list by itself.
#[derive(Debug, Default)]
pub struct Replay {
    /// The data directory as the service sees it.
    pub replayed: Option<Box<Replayed>>,
    /// Every annotation subject, in log order, without repeats.
    pub subjects: Vec<String>,
    /// Every submission receipt (key, nonce).
    pub receipts: Vec<(String, String)>,
    /// Items applied.
    pub items: usize,
}

/// A store to migrate into that is not empty.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The target already holds something.
    #[error(
        "the target store is not empty: it holds {found}; migrate into an empty database \
         (create a new one, or drop this one if it is a failed earlier attempt)"
    )]
    NotEmpty {
        /// What it holds.
        found: Contents,
    },
    /// Reading or replaying the data directory failed.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// A store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Replays the log of the data directory `dir` into `target`, which must be empty,
/// exactly as the service's catch-up would on a first start on `target`: the same
/// projector, chunks and journal lines, with the current time standing in for times
/// neither the log nor the journal gives. The checkpoint read first is the end: entries
/// appended after it are left for the service's catch-up.
///
/// # Errors
///
/// [`MigrateError::NotEmpty`] naming what `target` holds when it holds anything;
/// [`MigrateError::Replay`] when the data directory cannot be read or its log does not
/// hash to its checkpoint; [`MigrateError::Store`] when `target` fails.
pub async fn replay_into_empty<S: Store>(dir: &Path, target: &S) -> Result<Replay, MigrateError> {
    let found = what_is_in(target).await?;
    if !found.is_empty() {
        return Err(MigrateError::NotEmpty { found });
    }
    let mut replay = Replay::default();
    let mut seen_subjects = std::collections::HashSet::new();
    let replayed = replay_into(dir, target, now_ms(), &mut |item| {
        replay.items += 1;
        match item {
            Projected::Annotation(record) if seen_subjects.insert(record.subject.clone()) => {
                replay.subjects.push(record.subject.clone());
            }
            Projected::Receipt { key, nonce, .. } => {
                replay.receipts.push((key.clone(), nonce.clone()));
            }
            _ => {}
        }
    })
    .await?;
    replay.replayed = Some(Box::new(replayed));
    Ok(replay)
}

/// Copies the nonces `from` remembers into `to` (replay protection across the move).
/// Returns how many.
///
/// # Errors
///
/// [`StoreError`] when either store fails.
pub async fn copy_nonces<A: Store, B: Store>(from: &A, to: &B) -> Result<usize, StoreError> {
    let nonces: Vec<SeenNonce> = from.load_nonces(i64::MIN).await?;
    for chunk in nonces.chunks(1000) {
        to.remember_nonces(chunk).await?;
    }
    Ok(nonces.len())
}

/// The first place two stores differ, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The question asked, e.g. `annotations of "r1"`.
    pub question: String,
    /// What the first store answered (debug form, shortened).
    pub first: String,
    /// What the second store answered.
    pub second: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: the first store answers {}, the second {}",
            self.question, self.first, self.second
        )
    }
}

/// How much two stores were compared on, when they agree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matched {
    /// Applied size of both.
    pub applied: u64,
    /// Sources compared (each also looked up by name).
    pub sources: usize,
    /// Agreement versions compared (each agreement also looked up by id).
    pub agreements: usize,
    /// Reports compared (each also looked up by index and by id).
    pub reports: usize,
    /// Report pages compared.
    pub report_pages: usize,
    /// Annotation subjects compared.
    pub subjects: usize,
    /// Annotations compared.
    pub annotations: usize,
    /// Receipts compared.
    pub receipts: usize,
    /// Nonces compared.
    pub nonces: usize,
}

/// The longest answer a [`Difference`] quotes.
const QUOTE: usize = 400;

fn quote(value: &impl std::fmt::Debug) -> String {
    let text = format!("{value:?}");
    if text.chars().count() <= QUOTE {
        text
    } else {
        let cut: String = text.chars().take(QUOTE).collect();
        format!("{cut}…")
    }
}

/// `Err(difference)` unless the answers are equal.
fn same<T: PartialEq + std::fmt::Debug>(
    question: impl FnOnce() -> String,
    first: &T,
    second: &T,
) -> Result<(), Difference> {
    if first == second {
        Ok(())
    } else {
        Err(Difference {
            question: question(),
            first: quote(first),
            second: quote(second),
        })
    }
}

/// Asks `first` and `second` every question the service asks of a store and compares the
/// answers: applied size, every source (listed and by name), every agreement version
/// (listed and by id), every page of reports with the largest page size and with the
/// default one (items and cursors), every report by index and by id, the annotations of
/// each of `replay.subjects`, the annotation indexes of each kind and of all kinds, the
/// submission of each of `replay.receipts`, and the nonces remembered.
///
/// # Errors
///
/// `Ok(Err(difference))` names the first question answered differently;
/// [`StoreError`] when a store fails.
pub async fn compare_stores<A: Store, B: Store>(
    first: &A,
    second: &B,
    replay: &Replay,
) -> Result<Result<Matched, Difference>, StoreError> {
    let mut matched = Matched::default();
    macro_rules! check {
        ($question:expr, $first:expr, $second:expr) => {
            if let Err(difference) = same(|| $question, &$first, &$second) {
                return Ok(Err(difference));
            }
        };
    }
    let (a, b) = (first.applied_size().await?, second.applied_size().await?);
    check!("applied size".to_owned(), a, b);
    matched.applied = a;

    let (a, b) = (first.sources().await?, second.sources().await?);
    check!("the list of sources".to_owned(), a, b);
    for source in &a {
        let (x, y) = (
            first.source(&source.name).await?,
            second.source(&source.name).await?,
        );
        check!(format!("source {:?}", source.name), x, y);
    }
    matched.sources = a.len();

    let (a, b) = (first.agreements().await?, second.agreements().await?);
    check!("the list of agreement versions".to_owned(), a, b);
    let ids: std::collections::BTreeSet<&str> = a.iter().map(|record| record.id.as_str()).collect();
    for id in ids {
        let (x, y) = (
            first.agreement(id, None).await?,
            second.agreement(id, None).await?,
        );
        check!(format!("agreement {id:?}"), x, y);
    }
    for record in &a {
        let (x, y) = (
            first.agreement(&record.id, Some(record.version)).await?,
            second.agreement(&record.id, Some(record.version)).await?,
        );
        check!(
            format!("agreement {:?} version {}", record.id, record.version),
            x,
            y
        );
    }
    matched.agreements = a.len();

    let filter = ReportFilter::default();
    for limit in [MAX_PAGE_LIMIT, truce_store::DEFAULT_PAGE_LIMIT] {
        let mut cursor = None;
        loop {
            let page = PageRequest {
                cursor: cursor.clone(),
                limit: Some(limit),
            };
            let (x, y) = (
                first.reports(&filter, page.clone()).await?,
                second.reports(&filter, page).await?,
            );
            check!(
                format!(
                    "the page of reports of {limit} after cursor {:?}",
                    cursor.as_deref().unwrap_or("(none)")
                ),
                (&x.items, &x.next_cursor),
                (&y.items, &y.next_cursor)
            );
            matched.report_pages += 1;
            if limit == MAX_PAGE_LIMIT {
                for report in &x.items {
                    let (p, q) = (
                        first.report(report.log_index).await?,
                        second.report(report.log_index).await?,
                    );
                    check!(format!("report {}", report.log_index), p, q);
                    let (p, q) = (
                        first
                            .report_by_id(&report.agreement_id, &report.report_id)
                            .await?,
                        second
                            .report_by_id(&report.agreement_id, &report.report_id)
                            .await?,
                    );
                    check!(
                        format!(
                            "report {:?} of agreement {:?}",
                            report.report_id, report.agreement_id
                        ),
                        p,
                        q
                    );
                    matched.reports += 1;
                }
            }
            match x.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }

    for subject in &replay.subjects {
        let (x, y) = (
            first.annotations(subject).await?,
            second.annotations(subject).await?,
        );
        check!(format!("annotations of {subject:?}"), x, y);
        matched.annotations += x.len();
    }
    matched.subjects = replay.subjects.len();
    for kind in KINDS {
        let (x, y) = (
            first.annotation_indexes(&[kind], 0..u64::MAX).await?,
            second.annotation_indexes(&[kind], 0..u64::MAX).await?,
        );
        check!(
            format!("annotation indexes of kind {}", kind.as_str()),
            x,
            y
        );
    }
    let (x, y) = (
        first.annotation_indexes(&KINDS, 0..u64::MAX).await?,
        second.annotation_indexes(&KINDS, 0..u64::MAX).await?,
    );
    check!("annotation indexes of every kind".to_owned(), x, y);

    for (key, nonce) in &replay.receipts {
        let (x, y) = (
            first.submission(key, nonce).await?,
            second.submission(key, nonce).await?,
        );
        check!(format!("the receipt of key {key:?} nonce {nonce:?}"), x, y);
    }
    matched.receipts = replay.receipts.len();

    let (x, y) = (
        first.load_nonces(i64::MIN).await?,
        second.load_nonces(i64::MIN).await?,
    );
    check!("the nonces remembered".to_owned(), x, y);
    matched.nonces = x.len();
    Ok(Ok(matched))
}

/// The SQLite store file of a data directory.
pub fn sqlite_file(dir: &Path) -> PathBuf {
    dir.join(truce_store::DATABASE_FILE)
}
