//! Live incidents and findings: one [`Live`] per agreement *version*, fed
//! every report filed under that agreement, kept up to date as batches are
//! applied, so reads never re-run the whole assessment.
//!
//! # What is fed
//!
//! A version's [`Live`] judges by all its interpretations (in the order the
//! agreement loader gives them) and groups by the corroboration policy of
//! the agreement. It is fed the *clear* report of every report record the
//! store holds for the agreement: the log entry's fields with the exact
//! position and the real source id the store keeps (the log shows a
//! monitor's position coarsened and every source id committed), so the live
//! state judges what a batch `truce assess` over the submitted reports
//! judges. The report's text, place name and evidence are not fed: the
//! engine does not read them.
//!
//! A report belongs to an agreement, not to a version: a new version of an
//! agreement starts a new [`Live`] fed every report of the agreement so far
//! (taken from the newest version already live), and every later report
//! feeds every version.
//!
//! # When
//!
//! The writer calls [`LiveFindings::apply`] after each batch is durable in
//! the log and applied to the store, and *before* it answers the batch's
//! submitters: a receipt means the report is in the incidents and findings
//! (read-your-writes). The update is the engine's incremental one: only the
//! link-graph component a report joins is grouped and judged again. On
//! start, [`LiveFindings::rebuild`] feeds every report the store already
//! holds (reading the log and the store once) before the server says it is
//! ready; entries the store catches up with afterwards come through
//! [`LiveFindings::apply`] like new ones.
//!
//! # Reads
//!
//! Reads go through a [`Published`] state: the engine's [`LiveView`] (the
//! incidents and findings, shared with the live state, not copied) and the
//! member table as long as it was then (for each report slot: its id, log
//! index and whether a monitor filed it; append-only, in chunks shared
//! between copies). The first read after a batch takes one, under the live
//! state's read lock, at a cost of a pointer per incident and per
//! [`CHUNK`] slots; every read until the next batch shares it. A read holds
//! no lock while it filters or renders.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use truce_engine::adjudicate::{Finding, Verdict};
use truce_engine::corroborate::CorroborationParams;
use truce_engine::incident::Incident;
use truce_engine::live::{Insertion, Live, LiveView};
use truce_engine::review::{self, Annotation};
use truce_log::BlobStore;
use truce_log::entry::{AgreementVersion, Contest, Decision, Entry, ReportEntry, ReportOpenings};
use truce_model::agreement::Agreement;
use truce_model::{Location, Report, SmolStr, Source, SourceKind};
use truce_store::{
    AnnotationKind, AnyStore, PageRequest, Projected, ReportFilter, ReportRecord, Store,
};

use crate::changes::ChangeFeed;
use crate::error::ServerError;
use crate::projection::load_from_blobs;
use crate::record::RecordLog;

/// Reports read from the store per page while rebuilding.
const REBUILD_PAGE: u32 = 1000;

/// The annotations that change live findings.
const LIVE_ANNOTATIONS: [AnnotationKind; 3] = [
    AnnotationKind::Review,
    AnnotationKind::Retraction,
    AnnotationKind::Contest,
];

/// One thing for the live state to take in, in log order.
#[derive(Debug, Clone)]
pub(crate) enum LiveItem {
    /// An agreement version was logged (once per version, whatever the
    /// number of its interpretations).
    Version(AgreementVersion),
    /// A monitor's review or a source's retraction (it speaks of report ids
    /// under every agreement).
    Annotation {
        /// Its log index.
        log_index: u64,
        /// What it decides.
        annotation: Annotation,
        /// For a review: the contest it answers.
        answers_contest: Option<String>,
    },
    /// A party contests a finding.
    Contest {
        /// Its log index.
        log_index: u64,
        /// The entry.
        contest: Contest,
    },
    /// A report was filed under `agreement`.
    Report {
        /// The agreement it was submitted under.
        agreement: String,
        /// Its log index.
        log_index: u64,
        /// The clear report.
        report: Report,
    },
}

/// The clear report behind a report entry: the entry's fields, with the
/// source id and the exact position from the store's record (which holds
/// the opened values).
pub(crate) fn clear_report(entry: &ReportEntry, record: &ReportRecord) -> Report {
    let mut report = entry.to_report(&ReportOpenings::default());
    if !record.source_name.is_empty() {
        report.source = Arc::new(Source {
            id: SmolStr::new(&record.source_name),
            kind: report.source.kind,
            party: report.source.party.clone(),
        });
    }
    report.location = Location {
        lon: record.lon,
        lat: record.lat,
        uncertainty_m: record.radius_m,
    };
    report
}

/// The live items of a batch: `entries` are the batch's decoded entries by
/// log index (ascending), `projected` what the store applied for them.
/// Only what the store took in is fed (a report refused by the projection
/// is not in the store, so not in the findings either).
pub(crate) fn items_of(entries: &[(u64, &Entry)], projected: &[Projected]) -> Vec<LiveItem> {
    let entry_at = |index: u64| {
        entries
            .binary_search_by_key(&index, |(at, _)| *at)
            .ok()
            .map(|position| entries[position].1)
    };
    let mut items = Vec::new();
    let mut versions = BTreeSet::new();
    for item in projected {
        match item {
            Projected::Agreement(record) => {
                if let Some(Entry::AgreementVersion(version)) = entry_at(record.log_index)
                    && versions.insert((version.agreement_id.clone(), version.version))
                {
                    items.push((record.log_index, LiveItem::Version(version.clone())));
                }
            }
            Projected::Report(record) => {
                if let Some(Entry::Report(entry)) = entry_at(record.log_index) {
                    items.push((
                        record.log_index,
                        LiveItem::Report {
                            agreement: record.agreement_id.clone(),
                            log_index: record.log_index,
                            report: clear_report(entry, record),
                        },
                    ));
                }
            }
            Projected::Annotation(record) => {
                if let Some(item) =
                    entry_at(record.log_index).and_then(|entry| item_of(record.log_index, entry))
                {
                    items.push((record.log_index, item));
                }
            }
            _ => {}
        }
    }
    items.sort_by_key(|(index, _)| *index);
    // An entry about several subjects is projected once per subject.
    items.dedup_by(|(a, later), (b, _)| {
        a == b
            && matches!(
                later,
                LiveItem::Annotation { .. } | LiveItem::Contest { .. }
            )
    });
    items.into_iter().map(|(_, item)| item).collect()
}

/// The engine's view of a review or retraction entry (other entries: `None`).
pub(crate) fn annotation_of(entry: &Entry) -> Option<Annotation> {
    match entry {
        Entry::Review(entry) => Some(Annotation::Review(review::Review {
            review_id: SmolStr::new(&entry.review_id),
            reviewer: SmolStr::new(&entry.reviewer),
            decision: match &entry.decision {
                Decision::Confirm => review::Decision::Confirm,
                Decision::Reject => review::Decision::Reject,
                Decision::Reattribute(party) => {
                    review::Decision::Reattribute(party.as_deref().map(SmolStr::new))
                }
                Decision::Merge => review::Decision::Merge,
                Decision::Split => review::Decision::Split,
            },
            reports: entry.reports.iter().map(SmolStr::new).collect(),
        })),
        Entry::Retraction(entry) => Some(Annotation::Retraction(review::Retraction {
            source_id: SmolStr::new(&entry.source_id),
            report_id: SmolStr::new(&entry.report_id),
        })),
        _ => None,
    }
}

/// The live item of a review, retraction or contest entry at `log_index`
/// (other entries: `None`).
pub(crate) fn item_of(log_index: u64, entry: &Entry) -> Option<LiveItem> {
    match entry {
        Entry::Contest(contest) => Some(LiveItem::Contest {
            log_index,
            contest: contest.clone(),
        }),
        Entry::Review(review) => Some(LiveItem::Annotation {
            log_index,
            annotation: annotation_of(entry)?,
            answers_contest: review.answers_contest.clone(),
        }),
        _ => Some(LiveItem::Annotation {
            log_index,
            annotation: annotation_of(entry)?,
            answers_contest: None,
        }),
    }
}

/// A contested finding and its re-adjudications: each version is the
/// finding as it stood right after an entry (the contest, then each review
/// answering it), computed from the log up to that entry; nothing is
/// overwritten.
#[derive(Debug, Clone)]
pub(crate) struct ContestRecord {
    /// The contest entry.
    pub contest: Contest,
    /// Its log index.
    pub log_index: u64,
    /// Version 1 (the finding contested), then one per answering review.
    pub versions: Vec<FindingVersion>,
}

/// One version of a contested finding.
#[derive(Debug, Clone)]
pub(crate) struct FindingVersion {
    /// 1 for the finding contested, then 2, 3, … per answering review.
    pub version: u32,
    /// The entry after which it stood: the contest or the review.
    pub after_log_index: u64,
    /// The answering review (`None` for version 1).
    pub review: Option<truce_engine::review::ReviewRef>,
    /// The incident that held the contested reports then (`None`: none did,
    /// e.g. they were all withdrawn), its member report ids and the finding
    /// under the contested interpretation.
    pub incident: Option<(SmolStr, Vec<SmolStr>, Finding)>,
}

/// What a version's live state is fed, and the log index of each report.
#[derive(Debug)]
struct Fed {
    live: Live,
    log_index_of: HashMap<SmolStr, u64>,
    /// What reads need of each report the live state took in, by slot.
    members: Appended<Member>,
}

/// What a read shows of an incident's member report.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The report id.
    pub report_id: SmolStr,
    /// Where the report is in the log.
    pub log_index: u64,
    /// Whether a monitor filed it (its exact position is not for every reader).
    pub monitor: bool,
}

/// How many items a chunk of an [`Appended`] holds.
const CHUNK: usize = 4096;

/// An append-only list whose copies share every full chunk: copying it costs a pointer per
/// [`CHUNK`] items plus the items of the last, unfilled chunk.
#[derive(Debug, Clone)]
pub(crate) struct Appended<T> {
    full: Vec<Arc<[T]>>,
    tail: Vec<T>,
}

impl<T: Clone> Appended<T> {
    fn new() -> Self {
        Self {
            full: Vec::new(),
            tail: Vec::with_capacity(CHUNK),
        }
    }

    fn push(&mut self, item: T) {
        self.tail.push(item);
        if self.tail.len() == CHUNK {
            let chunk = std::mem::replace(&mut self.tail, Vec::with_capacity(CHUNK));
            self.full.push(chunk.into());
        }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.full.len() * CHUNK + self.tail.len()
    }

    /// Item `index`.
    pub fn get(&self, index: usize) -> Option<&T> {
        match self.full.get(index / CHUNK) {
            Some(chunk) => chunk.get(index % CHUNK),
            None if index / CHUNK == self.full.len() => self.tail.get(index % CHUNK),
            None => None,
        }
    }
}

/// One agreement version's live state.
#[derive(Debug)]
pub(crate) struct VersionLive {
    agreement_id: String,
    version: u32,
    interpretations: Vec<String>,
    time_zone: TimeZone,
    fed: RwLock<Fed>,
    /// How many changes `fed` has taken (bumped under its write lock).
    generation: AtomicU64,
    /// The copy reads share, with the generation it shows; rebuilt on the first read after a
    /// change.
    published: Mutex<Option<(u64, Arc<Published>)>>,
    /// Held while a copy is being built, so that concurrent readers wait for one build
    /// instead of each making their own. Updates never take it.
    building: Mutex<()>,
}

impl VersionLive {
    fn new(agreement_id: &str, version: u32, agreements: Vec<Agreement>) -> Option<Self> {
        let first = agreements.first()?;
        let params = CorroborationParams::from(&first.corroboration);
        let time_zone = TimeZone::get(&first.window.time_zone).unwrap_or_else(|error| {
            tracing::warn!(agreement = %agreement_id, version, time_zone = %first.window.time_zone, %error, "unknown time zone; days are counted in UTC");
            TimeZone::UTC
        });
        let interpretations = agreements
            .iter()
            .map(|agreement| agreement.interpretation.clone())
            .collect();
        let live = match Live::new(agreements.into_iter().map(Arc::new).collect(), params) {
            Ok(live) => live,
            Err(error) => {
                tracing::warn!(agreement = %agreement_id, version, %error, "agreement cannot be judged live");
                return None;
            }
        };
        Some(Self {
            agreement_id: agreement_id.to_owned(),
            version,
            interpretations,
            time_zone,
            fed: RwLock::new(Fed {
                live,
                log_index_of: HashMap::new(),
                members: Appended::new(),
            }),
            generation: AtomicU64::new(0),
            published: Mutex::new(None),
            building: Mutex::new(()),
        })
    }

    /// Takes in reports (with their log indexes).
    fn feed(&self, reports: Vec<(u64, Report)>) {
        if reports.is_empty() {
            return;
        }
        {
            let mut fed = self.fed.write().unwrap_or_else(PoisonError::into_inner);
            let mut members = Vec::with_capacity(reports.len());
            for (log_index, report) in &reports {
                fed.log_index_of.insert(report.id.clone(), *log_index);
                members.push(Member {
                    report_id: report.id.clone(),
                    log_index: *log_index,
                    monitor: report.source.kind == SourceKind::Monitor,
                });
            }
            let outcomes = fed
                .live
                .insert_batch(reports.into_iter().map(|(_, report)| report).collect());
            // Each report taken in got the next slot, in order.
            for (outcome, member) in outcomes.into_iter().zip(members) {
                if outcome == Insertion::Added {
                    fed.members.push(member);
                }
            }
            debug_assert_eq!(fed.members.len(), fed.live.n_slots());
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Applies reviews and retractions, in log order.
    fn annotate(&self, annotations: &[Annotation]) {
        if annotations.is_empty() {
            return;
        }
        let mut fed = self.fed.write().unwrap_or_else(PoisonError::into_inner);
        fed.live.annotate(annotations);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The incident named `incident`, or else the one holding the first of
    /// `reports` still in an incident: its id, members and finding under
    /// `interpretation`.
    fn finding_now(
        &self,
        incident: &str,
        reports: &[SmolStr],
        interpretation: &str,
    ) -> Option<(SmolStr, Vec<SmolStr>, Finding)> {
        let position = self
            .interpretations
            .iter()
            .position(|name| name == interpretation)?;
        let fed = self.fed.read().unwrap_or_else(PoisonError::into_inner);
        let (found, members, findings) = if reports.is_empty() {
            fed.live.incident(incident)?
        } else {
            reports
                .iter()
                .find_map(|id| fed.live.incident_holding(id))?
        };
        Some((
            found.id.clone(),
            members.into_iter().map(SmolStr::new).collect(),
            findings.get(position)?.clone(),
        ))
    }

    /// Every report held, with its log index.
    fn reports(&self) -> Vec<(u64, Report)> {
        let fed = self.fed.read().unwrap_or_else(PoisonError::into_inner);
        fed.live
            .snapshot()
            .reports
            .into_iter()
            .filter_map(|report| Some((*fed.log_index_of.get(&report.id)?, report)))
            .collect()
    }

    /// The state the reads share, as of the last change applied before the call (a read after
    /// a receipt sees its report). Taken on the first read after a change, under the live
    /// state's read lock: the incidents and findings are shared with the live state and the
    /// member table's full chunks with the live one, so taking it costs a pointer per
    /// incident, whatever the reports hold.
    pub fn published(&self) -> Arc<Published> {
        if let Some(current) = self.current() {
            return current;
        }
        let _one_build = self.building.lock().unwrap_or_else(PoisonError::into_inner);
        // Another reader may have built it meanwhile.
        if let Some(current) = self.current() {
            return current;
        }
        let (generation, view, members) = {
            let fed = self.fed.read().unwrap_or_else(PoisonError::into_inner);
            // Read under the lock that changes take: the view shows exactly this generation.
            let generation = self.generation.load(Ordering::Acquire);
            (generation, fed.live.view(), fed.members.clone())
        };
        let fresh = Arc::new(Published {
            agreement_id: self.agreement_id.clone(),
            version: self.version,
            interpretations: self.interpretations.clone(),
            time_zone: self.time_zone.clone(),
            view,
            members,
        });
        let mut published = self
            .published
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if published
            .as_ref()
            .is_none_or(|(shown, _)| *shown < generation)
        {
            *published = Some((generation, Arc::clone(&fresh)));
        }
        fresh
    }

    /// The published copy, if it shows the latest change.
    fn current(&self) -> Option<Arc<Published>> {
        let published = self
            .published
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match published.as_ref() {
            Some((shown, copy)) if *shown == self.generation.load(Ordering::Acquire) => {
                Some(Arc::clone(copy))
            }
            _ => None,
        }
    }
}

/// The live incidents and findings of every agreement version.
#[derive(Debug)]
pub(crate) struct LiveFindings {
    blobs: BlobStore,
    /// By agreement id, then version.
    versions: RwLock<BTreeMap<String, BTreeMap<u32, Arc<VersionLive>>>>,
    /// Every review and retraction so far, in log order (a new version
    /// starts with all of them).
    annotations: RwLock<Vec<Annotation>>,
    /// Contested findings and their versions, by contest id.
    contests: RwLock<BTreeMap<String, ContestRecord>>,
    /// Whether [`LiveFindings::rebuild`] has run.
    built: std::sync::atomic::AtomicBool,
    /// How far the findings reach, for `GET /v1/events`.
    changes: ChangeFeed,
}

impl LiveFindings {
    /// An empty state; agreement files are read from `blobs`.
    pub fn new(blobs: BlobStore) -> Self {
        Self {
            blobs,
            versions: RwLock::new(BTreeMap::new()),
            annotations: RwLock::new(Vec::new()),
            contests: RwLock::new(BTreeMap::new()),
            built: std::sync::atomic::AtomicBool::new(false),
            changes: ChangeFeed::default(),
        }
    }

    /// The change feed: the writer announces applied sizes on it.
    pub fn changes(&self) -> &ChangeFeed {
        &self.changes
    }

    /// Whether the state has been rebuilt from the store since start.
    pub fn is_built(&self) -> bool {
        self.built.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Marks the state as missing part of the log: the next catch-up
    /// rebuilds it.
    pub fn mark_stale(&self) {
        self.built
            .store(false, std::sync::atomic::Ordering::Release);
    }

    /// The live state of `agreement_id` at `version` (the highest when
    /// `None`).
    pub fn version(&self, agreement_id: &str, version: Option<u32>) -> Option<Arc<VersionLive>> {
        let versions = self.versions.read().unwrap_or_else(PoisonError::into_inner);
        let by_version = versions.get(agreement_id)?;
        match version {
            Some(version) => by_version.get(&version).cloned(),
            None => by_version.values().next_back().cloned(),
        }
    }

    /// The newest live version of every agreement.
    pub fn latest_versions(&self) -> Vec<Arc<VersionLive>> {
        let versions = self.versions.read().unwrap_or_else(PoisonError::into_inner);
        versions
            .values()
            .filter_map(|by_version| by_version.values().next_back().cloned())
            .collect()
    }

    /// Takes in a batch's items, in log order.
    pub fn apply(&self, items: Vec<LiveItem>) {
        let mut pending: BTreeMap<String, Vec<(u64, Report)>> = BTreeMap::new();
        let mut annotations = Vec::new();
        for item in items {
            match item {
                LiveItem::Version(version) => {
                    self.feed(std::mem::take(&mut pending));
                    self.annotate(std::mem::take(&mut annotations));
                    self.add_version(&version);
                }
                // The engine's state depends on the reports held and on the
                // order of the annotations, not on how the two interleave:
                // annotations are applied after the batch's reports, except
                // where a contest or its answer needs the state right after
                // an entry.
                LiveItem::Annotation {
                    annotation,
                    answers_contest: None,
                    ..
                } => annotations.push(annotation),
                LiveItem::Annotation {
                    log_index,
                    annotation,
                    answers_contest: Some(contest_id),
                } => {
                    self.feed(std::mem::take(&mut pending));
                    annotations.push(annotation.clone());
                    self.annotate(std::mem::take(&mut annotations));
                    self.answer_contest(&contest_id, log_index, &annotation);
                }
                LiveItem::Contest { log_index, contest } => {
                    self.feed(std::mem::take(&mut pending));
                    self.annotate(std::mem::take(&mut annotations));
                    self.record_contest(log_index, contest);
                }
                LiveItem::Report {
                    agreement,
                    log_index,
                    report,
                } => pending
                    .entry(agreement)
                    .or_default()
                    .push((log_index, report)),
            }
        }
        self.feed(pending);
        self.annotate(annotations);
    }

    /// Records a contest with the finding it contests as it stands now.
    fn record_contest(&self, log_index: u64, contest: Contest) {
        let incident = self
            .version(&contest.agreement_id, Some(contest.agreement_version))
            .and_then(|live| live.finding_now(&contest.incident, &[], &contest.interpretation));
        let record = ContestRecord {
            versions: vec![FindingVersion {
                version: 1,
                after_log_index: log_index,
                review: None,
                incident,
            }],
            contest,
            log_index,
        };
        self.contests
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(record.contest.contest_id.clone(), record);
    }

    /// Adds a version to a contested finding after the review answering it.
    fn answer_contest(&self, contest_id: &str, log_index: u64, annotation: &Annotation) {
        let Annotation::Review(review) = annotation else {
            return;
        };
        let mut contests = self
            .contests
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(record) = contests.get_mut(contest_id) else {
            tracing::warn!(contest = contest_id, review = %review.review_id, "a review answers an unknown contest");
            return;
        };
        let contest = &record.contest;
        // Follow the reports of the finding contested (or of the last version
        // that had an incident).
        let reports: Vec<SmolStr> = record
            .versions
            .iter()
            .rev()
            .find_map(|version| version.incident.as_ref())
            .map(|(_, members, _)| members.clone())
            .unwrap_or_default();
        let incident = self
            .version(&contest.agreement_id, Some(contest.agreement_version))
            .and_then(|live| {
                live.finding_now(&contest.incident, &reports, &contest.interpretation)
            });
        let version = record.versions.len() as u32 + 1;
        record.versions.push(FindingVersion {
            version,
            after_log_index: log_index,
            review: Some(truce_engine::review::ReviewRef {
                review_id: review.review_id.clone(),
                reviewer: review.reviewer.clone(),
            }),
            incident,
        });
    }

    /// The contests concerning an incident of an agreement version: those
    /// naming it, or whose versions held the incident or any of `reports`.
    pub fn contests_about(
        &self,
        agreement_id: &str,
        version: u32,
        incident: &str,
        reports: &[&str],
    ) -> Vec<ContestRecord> {
        let contests = self.contests.read().unwrap_or_else(PoisonError::into_inner);
        contests
            .values()
            .filter(|record| {
                record.contest.agreement_id == agreement_id
                    && record.contest.agreement_version == version
                    && (record.contest.incident == incident
                        || record.versions.iter().any(|v| {
                            v.incident.as_ref().is_some_and(|(id, members, _)| {
                                id == incident
                                    || members.iter().any(|m| reports.contains(&m.as_str()))
                            })
                        }))
            })
            .cloned()
            .collect()
    }

    /// Applies annotations to every version and keeps them for versions to
    /// come.
    fn annotate(&self, annotations: Vec<Annotation>) {
        if annotations.is_empty() {
            return;
        }
        let targets: Vec<Arc<VersionLive>> = self
            .versions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .flat_map(|by_version| by_version.values().cloned())
            .collect();
        for target in targets {
            target.annotate(&annotations);
        }
        self.annotations
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(annotations);
    }

    fn feed(&self, pending: BTreeMap<String, Vec<(u64, Report)>>) {
        for (agreement, reports) in pending {
            let targets: Vec<Arc<VersionLive>> = self
                .versions
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&agreement)
                .map(|by_version| by_version.values().cloned().collect())
                .unwrap_or_default();
            if targets.is_empty() {
                tracing::warn!(agreement = %agreement, reports = reports.len(), "reports of an agreement with no live version; not judged live");
            }
            for target in targets {
                target.feed(reports.clone());
            }
        }
    }

    /// Starts the live state of a new version, fed every report of its
    /// agreement so far.
    fn add_version(&self, version: &AgreementVersion) {
        let id = &version.agreement_id;
        if self.version(id, Some(version.version)).is_some() {
            return;
        }
        let agreements = match load_from_blobs(&self.blobs, version) {
            Ok(agreements) => agreements,
            Err(reason) => {
                tracing::warn!(agreement = %id, version = version.version, %reason, "agreement files not usable; no live findings for this version");
                return;
            }
        };
        let Some(fresh) = VersionLive::new(id, version.version, agreements) else {
            return;
        };
        if let Some(earlier) = self.version(id, None) {
            fresh.feed(earlier.reports());
        }
        fresh.annotate(
            &self
                .annotations
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        );
        self.versions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id.clone())
            .or_default()
            .insert(version.version, Arc::new(fresh));
    }

    /// Rebuilds the state from what the store has applied: every agreement
    /// version it holds, then every report, read a page at a time with its
    /// entry from the log. Marks the state built.
    pub async fn rebuild(
        self: &Arc<Self>,
        store: &AnyStore,
        log: &RecordLog,
    ) -> Result<(), ServerError> {
        self.rebuild_until(store, log, u64::MAX).await
    }

    /// [`LiveFindings::rebuild`] from the entries before log index `until`
    /// only: what the store had applied at a moment, for an instance that
    /// follows another's appends from there ([`crate::follower`]).
    pub async fn rebuild_until(
        self: &Arc<Self>,
        store: &AnyStore,
        log: &RecordLog,
        until: u64,
    ) -> Result<(), ServerError> {
        self.versions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.annotations
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.contests
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let annotation_indexes = store
            .annotation_indexes(&LIVE_ANNOTATIONS, 0..until)
            .await?;
        let n_annotations = annotation_indexes.len();
        // Reviews, retractions and contests, in log order, fed between the
        // reports where they stand (a contest and its answers see the state
        // right after their entry).
        let reader = log.clone();
        let mut annotations: std::collections::VecDeque<(u64, LiveItem)> = blocking(move || {
            let mut items = std::collections::VecDeque::with_capacity(annotation_indexes.len());
            for index in annotation_indexes {
                let bytes = reader.read(|log| log.entry(index))?;
                if let Some(item) = Entry::decode(&bytes)
                    .ok()
                    .as_ref()
                    .and_then(|entry| item_of(index, entry))
                {
                    items.push_back((index, item));
                }
            }
            Ok::<_, ServerError>(items)
        })
        .await??;
        let mut seen = BTreeSet::new();
        let mut version_indexes = Vec::new();
        for record in store.agreements().await? {
            if record.log_index < until && seen.insert((record.id.clone(), record.version)) {
                version_indexes.push(record.log_index);
            }
        }
        let (live, reader) = (Arc::clone(self), log.clone());
        blocking(move || {
            let mut items = Vec::new();
            for index in version_indexes {
                let bytes = reader.read(|log| log.entry(index))?;
                if let Ok(Entry::AgreementVersion(version)) = Entry::decode(&bytes) {
                    items.push(LiveItem::Version(version));
                }
            }
            live.apply(items);
            Ok::<(), ServerError>(())
        })
        .await??;
        let mut cursor = None;
        let mut n_reports = 0usize;
        loop {
            let page = report_page(store, cursor.take()).await?;
            let done = page.next_cursor.is_none()
                || page
                    .items
                    .last()
                    .is_some_and(|last| last.log_index + 1 >= until);
            let mut records = page.items;
            records.retain(|record| record.log_index < until);
            let (Some(first), Some(last)) = (records.first(), records.last()) else {
                break;
            };
            let (start, end) = (first.log_index, last.log_index + 1);
            n_reports += records.len();
            let reader = log.clone();
            let reports = blocking(move || {
                let raw = reader.read(|log| log.entries(start, end))?;
                let mut items = Vec::with_capacity(records.len());
                for record in &records {
                    let offset = usize::try_from(record.log_index - start).unwrap_or(usize::MAX);
                    let Some(bytes) = raw.get(offset) else {
                        continue;
                    };
                    if let Ok(Entry::Report(entry)) = Entry::decode(bytes) {
                        items.push((
                            record.log_index,
                            LiveItem::Report {
                                agreement: record.agreement_id.clone(),
                                log_index: record.log_index,
                                report: clear_report(&entry, record),
                            },
                        ));
                    }
                }
                Ok::<_, ServerError>(items)
            })
            .await??;
            let mut items = Vec::with_capacity(reports.len());
            for (index, report) in reports {
                while let Some((_, annotation)) = annotations.pop_front_if(|(at, _)| *at < index) {
                    items.push(annotation);
                }
                items.push(report);
            }
            let live = Arc::clone(self);
            blocking(move || live.apply(items)).await?;
            match page.next_cursor {
                Some(next) if !done => cursor = Some(next),
                _ => break,
            }
        }
        // The annotations after the last report.
        let live = Arc::clone(self);
        let rest: Vec<LiveItem> = annotations.into_iter().map(|(_, item)| item).collect();
        blocking(move || live.apply(rest)).await?;
        self.built.store(true, std::sync::atomic::Ordering::Release);
        tracing::info!(
            reports = n_reports,
            annotations = n_annotations,
            "live findings rebuilt from the store"
        );
        Ok(())
    }
}

impl LiveFindings {
    /// Feeds what the store applied for log indexes `from .. until`, in log
    /// order, and announces `until` on the change feed: for an instance
    /// that follows another instance's appends ([`crate::follower`]) from a
    /// state built by [`LiveFindings::rebuild_until`]`(.., from)`. The log
    /// must hold `until` entries. Feeding every range in turn gives the
    /// state a rebuild would (the engine's state does not depend on how the
    /// reports were split into batches).
    pub async fn follow(
        self: &Arc<Self>,
        store: &AnyStore,
        log: &RecordLog,
        from: u64,
        until: u64,
    ) -> Result<(), ServerError> {
        if until <= from {
            return Ok(());
        }
        let in_range = |index: u64| (from..until).contains(&index);
        let annotations: BTreeSet<u64> = store
            .annotation_indexes(&LIVE_ANNOTATIONS, from..until)
            .await?
            .into_iter()
            .collect();
        let versions: BTreeSet<u64> = store
            .agreements()
            .await?
            .into_iter()
            .map(|record| record.log_index)
            .filter(|index| in_range(*index))
            .collect();
        let mut reports = BTreeMap::new();
        let mut cursor = from.checked_sub(1).map(truce_store::encode_cursor);
        loop {
            let page = report_page(store, cursor.take()).await?;
            let past = page
                .items
                .last()
                .is_none_or(|last| last.log_index + 1 >= until);
            for record in page.items {
                if in_range(record.log_index) {
                    reports.insert(record.log_index, record);
                }
            }
            match page.next_cursor {
                Some(next) if !past => cursor = Some(next),
                _ => break,
            }
        }
        let (live, reader) = (Arc::clone(self), log.clone());
        blocking(move || {
            let raw = reader.read(|log| log.entries(from, until))?;
            let mut items = Vec::new();
            for (index, bytes) in (from..until).zip(&raw) {
                let wanted = reports.contains_key(&index)
                    || versions.contains(&index)
                    || annotations.contains(&index);
                if !wanted {
                    continue;
                }
                let Ok(entry) = Entry::decode(bytes) else {
                    continue;
                };
                let item = match (&entry, reports.get(&index)) {
                    (Entry::Report(report), Some(record)) => Some(LiveItem::Report {
                        agreement: record.agreement_id.clone(),
                        log_index: index,
                        report: clear_report(report, record),
                    }),
                    (Entry::AgreementVersion(version), _) if versions.contains(&index) => {
                        Some(LiveItem::Version(version.clone()))
                    }
                    _ if annotations.contains(&index) => item_of(index, &entry),
                    _ => None,
                };
                items.extend(item);
            }
            live.apply(items);
            Ok::<(), ServerError>(())
        })
        .await??;
        self.changes.applied(until);
        Ok(())
    }
}

/// The page of every report after `cursor`, in log order.
async fn report_page(
    store: &AnyStore,
    cursor: Option<String>,
) -> Result<truce_store::Page<ReportRecord>, ServerError> {
    Ok(store
        .reports(
            &ReportFilter::default(),
            PageRequest {
                cursor,
                limit: Some(REBUILD_PAGE),
            },
        )
        .await?)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServerError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ServerError::Task(error.to_string()))
}

/// A dimension statistics are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Dimension {
    /// A party the finding concerns (a finding concerning several counts
    /// under each; one concerning none under no party).
    Party,
    /// The verdict.
    Verdict,
    /// The day the incident starts, in the agreement's time zone.
    Day,
    /// A zone the act is (or may be) in (several: under each; none: under
    /// no zone).
    Zone,
}

impl Dimension {
    /// Every dimension, in output order.
    pub const ALL: [Dimension; 4] = [
        Dimension::Party,
        Dimension::Verdict,
        Dimension::Day,
        Dimension::Zone,
    ];

    /// The name used in `group_by`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Dimension::Party => "party",
            Dimension::Verdict => "verdict",
            Dimension::Day => "day",
            Dimension::Zone => "zone",
        }
    }

    /// The dimension named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|dimension| dimension.as_str() == name)
    }
}

/// The verdict spelled `name`.
pub(crate) fn parse_verdict(name: &str) -> Option<Verdict> {
    Verdict::ALL
        .into_iter()
        .find(|verdict| verdict.as_str() == name)
}

/// One group of a statistics answer: the value of each grouped dimension
/// (`None`: no party, no zone), in [`Dimension::ALL`] order.
pub(crate) type Group = Vec<(Dimension, Option<String>)>;

/// Which incidents a listing wants, under one interpretation.
#[derive(Debug, Clone, Default)]
pub(crate) struct IncidentSelection {
    /// The interpretation's position.
    pub interpretation: usize,
    /// The finding has this verdict.
    pub verdict: Option<Verdict>,
    /// The finding concerns this party.
    pub party: Option<String>,
    /// The finding places the act in this zone.
    pub zone: Option<String>,
    /// The incident's time overlaps `[from, to]` (Unix milliseconds).
    pub time: Option<(i64, i64)>,
}

/// A version's incidents and findings as of one batch, shared by reads.
#[derive(Debug)]
pub(crate) struct Published {
    /// The agreement.
    pub agreement_id: String,
    /// Its version.
    pub version: u32,
    /// Interpretation names, parallel to each incident's findings.
    pub interpretations: Vec<String>,
    /// The agreement's time zone, for days.
    pub time_zone: TimeZone,
    /// The incidents (by id) and their findings; members are slots of `members`.
    view: LiveView,
    /// The member reports, by slot.
    members: Appended<Member>,
}

impl Published {
    /// The number of incidents.
    pub fn n_incidents(&self) -> usize {
        self.view.len()
    }

    /// The position of an interpretation.
    pub fn interpretation(&self, name: &str) -> Option<usize> {
        self.interpretations.iter().position(|known| known == name)
    }

    /// The position of an incident.
    pub fn incident(&self, id: &str) -> Option<usize> {
        self.view.position(id)
    }

    /// The incident at `position` (its members are slots: read them through
    /// [`Published::members`]).
    pub fn incident_at(&self, position: usize) -> Option<&Incident> {
        self.view.incident(position)
    }

    /// The findings of incident `position`, one per interpretation.
    pub fn findings(&self, position: usize) -> Vec<(&str, &Finding)> {
        self.interpretations
            .iter()
            .map(String::as_str)
            .zip(self.view.findings(position))
            .collect()
    }

    /// The member reports of incident `position`, in report id order.
    pub fn members(&self, position: usize) -> Vec<&Member> {
        self.view
            .incident(position)
            .map_or_else(Vec::new, |incident| {
                incident
                    .members
                    .iter()
                    .filter_map(|&slot| self.members.get(slot as usize))
                    .collect()
            })
    }

    /// Whether a member of incident `position` is a monitor's report (its
    /// exact position is not for every reader).
    pub fn has_monitor_member(&self, position: usize) -> bool {
        self.members(position).iter().any(|member| member.monitor)
    }

    /// Whether incident `position` passes `selection`.
    pub fn selects(&self, position: usize, selection: &IncidentSelection) -> bool {
        let (Some(incident), Some(finding)) = (
            self.view.incident(position),
            self.view.findings(position).get(selection.interpretation),
        ) else {
            return false;
        };
        selection
            .verdict
            .is_none_or(|verdict| finding.verdict == verdict)
            && selection
                .party
                .as_deref()
                .is_none_or(|party| finding.parties.iter().any(|named| named == party))
            && selection
                .zone
                .as_deref()
                .is_none_or(|zone| finding.zones.iter().any(|named| named == zone))
            && selection.time.is_none_or(|(from, to)| {
                let (start, end) = (
                    incident.time.start_ms.min(incident.time.end_ms),
                    incident.time.start_ms.max(incident.time.end_ms),
                );
                start <= to && end >= from
            })
    }

    /// The positions of the incidents after the one with id `after` (from
    /// the first when `None`), in id order, that pass `keep`: at most
    /// `limit`, and whether more follow.
    pub fn page(
        &self,
        after: Option<&str>,
        limit: usize,
        mut keep: impl FnMut(usize) -> bool,
    ) -> (Vec<usize>, bool) {
        let start = after.map_or(0, |after| self.view.position_after(after));
        let mut chosen = Vec::new();
        for position in start..self.view.len() {
            if keep(position) {
                if chosen.len() == limit {
                    return (chosen, true);
                }
                chosen.push(position);
            }
        }
        (chosen, false)
    }

    /// Every incident as JSON with its members left out, its member report ids, and its
    /// findings as JSON: what tests compare with the batch job.
    #[cfg(test)]
    fn described(&self) -> Vec<(String, Vec<String>, String)> {
        (0..self.n_incidents())
            .filter_map(|position| {
                let mut shown = self.incident_at(position)?.clone();
                shown.members.clear();
                let members = self
                    .members(position)
                    .iter()
                    .map(|member| member.report_id.to_string())
                    .collect();
                let findings: Vec<&Finding> = self.view.findings(position).iter().collect();
                Some((
                    serde_json::to_string(&shown).ok()?,
                    members,
                    serde_json::to_string(&findings).ok()?,
                ))
            })
            .collect()
    }

    /// The day (`YYYY-MM-DD`, in the agreement's time zone) of an instant.
    pub fn day(&self, ms: i64) -> String {
        Timestamp::from_millisecond(ms).map_or_else(
            |_| ms.to_string(),
            |instant| self.time_zone.to_datetime(instant).date().to_string(),
        )
    }

    /// The log indexes of the reports whose incident's finding under
    /// `interpretation` has `verdict`.
    pub fn log_indexes_with_verdict(&self, interpretation: usize, verdict: Verdict) -> Vec<u64> {
        self.view
            .iter()
            .filter(|(_, findings)| {
                findings
                    .get(interpretation)
                    .is_some_and(|finding| finding.verdict == verdict)
            })
            .flat_map(|(incident, _)| incident.members.iter())
            .filter_map(|&slot| Some(self.members.get(slot as usize)?.log_index))
            .collect()
    }

    /// Counts of the findings under `interpretation` grouped by `group_by`
    /// (each dimension at most once), in group order.
    pub fn statistics(&self, interpretation: usize, group_by: &[Dimension]) -> Vec<(Group, u64)> {
        let mut dimensions: Vec<Dimension> = group_by.to_vec();
        dimensions.sort_unstable();
        dimensions.dedup();
        let mut counts: BTreeMap<Group, u64> = BTreeMap::new();
        if interpretation >= self.interpretations.len() {
            return Vec::new();
        }
        for (incident, findings) in self.view.iter() {
            let Some(finding) = findings.get(interpretation) else {
                continue;
            };
            let mut groups: Vec<Group> = vec![Vec::new()];
            for &dimension in &dimensions {
                let values: BTreeSet<Option<String>> = match dimension {
                    Dimension::Party => finding
                        .parties
                        .iter()
                        .map(|party| Some(party.to_string()))
                        .collect(),
                    Dimension::Verdict => [Some(finding.verdict.as_str().to_owned())].into(),
                    Dimension::Day => [Some(self.day(incident.time.start_ms))].into(),
                    Dimension::Zone => finding
                        .zones
                        .iter()
                        .map(|zone| Some(zone.to_string()))
                        .collect(),
                };
                let values = if values.is_empty() {
                    [None].into()
                } else {
                    values
                };
                groups = groups
                    .into_iter()
                    .flat_map(|group| {
                        values.iter().map(move |value| {
                            let mut group = group.clone();
                            group.push((dimension, value.clone()));
                            group
                        })
                    })
                    .collect();
            }
            for group in groups {
                *counts.entry(group).or_default() += 1;
            }
        }
        counts.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use truce_model::agreement::{MemoryFiles, load};
    use truce_model::{ActionType, Casualties, Target, TargetKind, TimeSpan};

    use super::*;

    const AGREEMENT: &str = r#"
id = "t"
version = 1
title = "Test"

[[parties]]
id = "RU"
name = "Russia"

[[parties]]
id = "UA"
name = "Ukraine"

[window]
time_zone = "Europe/Kyiv"
start = "2025-03-25T00:00:00"

[[zones]]
id = "front"
name = "Front"
geometry = { type = "Polygon", coordinates = [[[37.0, 47.5], [38.0, 47.5], [38.0, 48.5], [37.0, 48.5], [37.0, 47.5]]] }

[[rules]]
id = "R1"
text = "No fire in the front zone"
actions = ["*"]
targets = ["*"]
zones = ["front"]

[interpretations.UA]
note = "Ukraine's reading."
"#;

    fn version_live() -> VersionLive {
        let agreements = load("t.toml", AGREEMENT, &MemoryFiles::default()).unwrap();
        VersionLive::new("t", 1, agreements).unwrap()
    }

    fn report(id: &str, source: (&str, SourceKind, Option<&str>), lon: f64, ms: i64) -> Report {
        Report {
            id: id.into(),
            source: Arc::new(Source {
                id: source.0.into(),
                kind: source.1,
                party: source.2.map(Into::into),
            }),
            time: TimeSpan::instant(ms),
            location: Location {
                lon,
                lat: 48.0,
                uncertainty_m: 100.0,
            },
            action: ActionType::Artillery,
            target: Target::of(TargetKind::Military),
            accused: Some("RU".into()),
            casualties: Casualties::default(),
            details: truce_model::Details::default(),
        }
    }

    /// 1 April 2025 21:30 UTC: already 2 April in Kyiv.
    const LATE_EVENING: i64 = 1_743_543_000_000;

    fn fed() -> VersionLive {
        let live = version_live();
        live.feed(vec![
            (
                10,
                report("a", ("osce", SourceKind::Monitor, None), 37.5, LATE_EVENING),
            ),
            (
                11,
                report(
                    "b",
                    ("ua", SourceKind::Party, Some("UA")),
                    37.5,
                    LATE_EVENING,
                ),
            ),
            (
                12,
                report(
                    "c",
                    ("ua", SourceKind::Party, Some("UA")),
                    30.0,
                    LATE_EVENING + 86_400_000,
                ),
            ),
        ]);
        live
    }

    #[test]
    fn a_batch_is_published_on_the_next_read_only() {
        let live = version_live();
        assert_eq!(live.published().n_incidents(), 0);
        let before = live.published();
        assert!(
            Arc::ptr_eq(&before, &live.published()),
            "shared until a batch"
        );
        live.feed(vec![(
            4,
            report("a", ("osce", SourceKind::Monitor, None), 37.5, LATE_EVENING),
        )]);
        let after = live.published();
        assert_eq!(after.n_incidents(), 1);
        let members: Vec<u64> = after.members(0).iter().map(|m| m.log_index).collect();
        assert_eq!(members, [4]);
        assert!(after.has_monitor_member(0));
        assert!(
            before.n_incidents() == 0 && before.members.len() == 0,
            "a published copy never changes"
        );
    }

    #[test]
    fn reads_during_updates_see_every_update_made_before_them() {
        let live = Arc::new(version_live());
        let feeder = {
            let live = Arc::clone(&live);
            std::thread::spawn(move || {
                for i in 0..200u64 {
                    live.feed(vec![(
                        i,
                        report(
                            &format!("r{i:03}"),
                            ("osce", SourceKind::Monitor, None),
                            30.0 + i as f64 * 0.05,
                            LATE_EVENING,
                        ),
                    )]);
                }
            })
        };
        let mut seen = 0;
        while !feeder.is_finished() {
            let fed_before = live.generation.load(Ordering::Acquire);
            let copy = live.published();
            // A copy shows at least every batch fed before the read began, and copies never
            // go back in time.
            assert!(copy.members.len() as u64 >= fed_before);
            assert!(copy.members.len() >= seen);
            seen = copy.members.len();
        }
        feeder.join().unwrap();
        let last = live.published();
        assert_eq!(last.members.len(), 200);
        let mut indexes: Vec<u64> = (0..last.n_incidents())
            .flat_map(|position| last.members(position))
            .map(|member| member.log_index)
            .collect();
        indexes.sort_unstable();
        assert_eq!(indexes, (0..200).collect::<Vec<u64>>());
    }

    #[test]
    fn incidents_are_found_paged_and_selected() {
        let published = fed().published();
        let ids: Vec<&str> = (0..published.n_incidents())
            .filter_map(|position| Some(published.incident_at(position)?.id.as_str()))
            .collect();
        assert_eq!(ids, ["inc-a", "inc-c"], "a and b corroborate");
        assert_eq!(published.incident("inc-c"), Some(1));
        assert_eq!(published.incident("inc-b"), None);
        let members: Vec<(&str, u64)> = published
            .members(0)
            .iter()
            .map(|member| (member.report_id.as_str(), member.log_index))
            .collect();
        assert_eq!(members, [("a", 10), ("b", 11)]);
        assert!(published.incident_at(2).is_none());
        assert!(published.members(2).is_empty());
        assert!(published.has_monitor_member(0));
        assert!(!published.has_monitor_member(1));
        assert_eq!(published.page(None, 1, |_| true), (vec![0], true));
        assert_eq!(published.page(Some("inc-a"), 1, |_| true), (vec![1], false));
        assert_eq!(published.page(Some("inc-b"), 5, |_| true), (vec![1], false));
        assert_eq!(published.page(None, 5, |p| p == 1), (vec![1], false));
        let common = published.interpretation("common").unwrap();
        let violation = IncidentSelection {
            interpretation: common,
            verdict: Some(Verdict::Violation),
            ..IncidentSelection::default()
        };
        assert!(
            published.selects(0, &violation),
            "{:?}",
            published.findings(0)
        );
        assert!(!published.selects(1, &violation));
        let in_zone = IncidentSelection {
            interpretation: common,
            zone: Some("front".into()),
            party: Some("RU".into()),
            time: Some((LATE_EVENING - 1, LATE_EVENING)),
            ..IncidentSelection::default()
        };
        assert!(published.selects(0, &in_zone));
        let later = IncidentSelection {
            time: Some((LATE_EVENING + 1, i64::MAX)),
            ..in_zone
        };
        assert!(!published.selects(0, &later));
        let mut indexes = published.log_indexes_with_verdict(common, Verdict::Violation);
        indexes.sort_unstable();
        assert_eq!(indexes, [10, 11]);
    }

    #[test]
    fn appended_copies_share_full_chunks_and_never_change() {
        let mut list = Appended::new();
        let mut copies = Vec::new();
        for i in 0..(2 * CHUNK + 5) {
            if i % (CHUNK / 2 + 1) == 0 || i == CHUNK || i == CHUNK - 1 {
                copies.push(list.clone());
            }
            list.push(i);
        }
        copies.push(list.clone());
        for copy in &copies {
            for i in 0..copy.len() {
                assert_eq!(copy.get(i), Some(&i));
            }
            assert_eq!(copy.get(copy.len()), None);
            assert_eq!(copy.get(copy.len() + CHUNK), None);
        }
        assert_eq!(list.len(), 2 * CHUNK + 5);
        assert_eq!(list.full.len(), 2);
        assert!(Arc::ptr_eq(&list.full[0], &copies.last().unwrap().full[0]));
    }

    #[test]
    fn statistics_count_by_day_in_the_agreement_time_zone() {
        let published = fed().published();
        let common = published.interpretation("common").unwrap();
        assert_eq!(published.day(LATE_EVENING), "2025-04-02");
        let by_day = published.statistics(common, &[Dimension::Day, Dimension::Day]);
        assert_eq!(
            by_day,
            vec![
                (vec![(Dimension::Day, Some("2025-04-02".to_owned()))], 1),
                (vec![(Dimension::Day, Some("2025-04-03".to_owned()))], 1),
            ]
        );
        let total = published.statistics(common, &[]);
        assert_eq!(total, vec![(Vec::new(), 2)]);
        let by_zone = published.statistics(common, &[Dimension::Zone, Dimension::Verdict]);
        let zones: Vec<Option<&str>> = by_zone
            .iter()
            .map(|(group, _)| group[1].1.as_deref())
            .collect();
        assert!(zones.contains(&Some("front")), "{by_zone:?}");
        assert_eq!(
            by_zone.iter().map(|(_, count)| count).sum::<u64>(),
            2,
            "one zone per finding here"
        );
        assert_eq!(Dimension::parse("day"), Some(Dimension::Day));
        assert_eq!(Dimension::parse("week"), None);
        assert_eq!(parse_verdict("no_violation"), Some(Verdict::NoViolation));
    }

    /// A store holding the test agreement's text, and its version entry.
    fn stored_agreement(dir: &std::path::Path, version: u32) -> (BlobStore, AgreementVersion) {
        let blobs = BlobStore::open(dir).unwrap();
        let entry = agreement_entry(&blobs, version);
        (blobs, entry)
    }

    /// The test agreement's text at `version`, stored in `blobs`, and its version entry.
    fn agreement_entry(blobs: &BlobStore, version: u32) -> AgreementVersion {
        let text = AGREEMENT.replace("version = 1", &format!("version = {version}"));
        let hash = blobs.put(text.as_bytes()).unwrap();
        AgreementVersion {
            agreement_id: "t".into(),
            version,
            interpretation: "common".into(),
            text_sha256: truce_log::entry::ContentHash(hash),
            files: Vec::new(),
        }
    }

    fn report_item(log_index: u64, report: Report) -> LiveItem {
        LiveItem::Report {
            agreement: "t".into(),
            log_index,
            report,
        }
    }

    #[test]
    fn a_new_version_starts_with_every_report_so_far() {
        let temp = tempfile::tempdir().unwrap();
        let (blobs, first) = stored_agreement(temp.path(), 1);
        let second = agreement_entry(&blobs, 2);
        let findings = LiveFindings::new(blobs);
        let monitor = ("osce", SourceKind::Monitor, None);
        findings.apply(vec![
            LiveItem::Version(first.clone()),
            report_item(3, report("a", monitor, 37.5, LATE_EVENING)),
            LiveItem::Version(first),
            report_item(5, report("b", monitor, 30.0, LATE_EVENING)),
        ]);
        findings.apply(vec![
            report_item(6, report("c", monitor, 37.6, LATE_EVENING)),
            LiveItem::Version(second),
            report_item(8, report("d", monitor, 37.7, LATE_EVENING)),
            report_item(9, report("e", ("x", SourceKind::Osint, None), 0.0, 0)),
        ]);
        // Reports of an agreement with no live version are not judged.
        findings.apply(vec![LiveItem::Report {
            agreement: "unknown".into(),
            log_index: 10,
            report: report("f", monitor, 37.5, LATE_EVENING),
        }]);
        let (one, two) = (
            findings.version("t", Some(1)).unwrap().published(),
            findings.version("t", None).unwrap().published(),
        );
        assert_eq!(two.version, 2);
        assert_eq!(
            one.described(),
            two.described(),
            "every version sees every report"
        );
        let mut indexes: Vec<u64> = (0..two.n_incidents())
            .flat_map(|position| two.members(position))
            .map(|member| member.log_index)
            .collect();
        indexes.sort_unstable();
        assert_eq!(indexes, [3, 5, 6, 8, 9]);
        assert!(findings.version("t", Some(3)).is_none());
        assert!(findings.version("unknown", None).is_none());
        assert_eq!(findings.latest_versions().len(), 1);
    }

    /// The work the writer adds to each batch, on a simulated month of a
    /// few thousand reports fed 50 at a time (the median is printed; run
    /// with `--nocapture`); the result still equals the batch job.
    #[test]
    fn the_live_update_per_batch_is_timed_on_a_few_thousand_reports() {
        use std::time::{Duration, Instant};
        use truce_engine::assess::assess;
        use truce_engine::corroborate::corroborate;
        use truce_engine::intake::{Origin, Origins, merge};

        let temp = tempfile::tempdir().unwrap();
        let (blobs, version) = stored_agreement(temp.path(), 1);
        let findings = LiveFindings::new(blobs);
        findings.apply(vec![LiveItem::Version(version)]);
        let scenario = truce_sim::Scenario::default_scenario(7).scaled_to(3_000);
        let reports = truce_sim::simulate(&scenario).unwrap().reports;
        assert!(reports.len() >= 2_500, "{}", reports.len());
        let mut updates = Vec::new();
        let mut reads = Vec::new();
        for (batch_number, batch) in reports.chunks(50).enumerate() {
            let items = batch
                .iter()
                .enumerate()
                .map(|(i, report)| report_item((batch_number * 50 + i) as u64, report.clone()))
                .collect();
            let started = Instant::now();
            findings.apply(items);
            updates.push(started.elapsed());
            let started = Instant::now();
            let _ = findings.version("t", None).unwrap().published();
            reads.push(started.elapsed());
        }
        let median = |times: &mut Vec<Duration>| {
            times.sort_unstable();
            times[times.len() / 2]
        };
        eprintln!(
            "live update per batch of 50, {} reports: median {:?}, max {:?}; first read after a batch: median {:?}",
            reports.len(),
            median(&mut updates),
            updates.last().copied().unwrap_or_default(),
            median(&mut reads),
        );
        let published = findings.version("t", None).unwrap().published();
        let agreements = load("t.toml", AGREEMENT, &MemoryFiles::default()).unwrap();
        let origins: Origins = (0..reports.len())
            .map(|row| Origin {
                file: Arc::from("sim"),
                row: row as u64 + 1,
            })
            .collect();
        let (merged, _) = merge(reports.clone(), origins);
        let incidents = corroborate(
            &merged,
            &CorroborationParams::from(&agreements[0].corroboration),
        );
        let judged: Vec<_> = agreements
            .iter()
            .map(|agreement| assess(agreement, &merged, &incidents).unwrap().findings)
            .collect();
        let batch: Vec<(String, Vec<String>, String)> = incidents
            .iter()
            .enumerate()
            .map(|(position, incident)| {
                let mut shown = incident.clone();
                let members = incident
                    .members
                    .iter()
                    .map(|&index| merged[index as usize].id.to_string())
                    .collect();
                shown.members.clear();
                let findings: Vec<&Finding> =
                    judged.iter().map(|findings| &findings[position]).collect();
                (
                    serde_json::to_string(&shown).unwrap(),
                    members,
                    serde_json::to_string(&findings).unwrap(),
                )
            })
            .collect();
        assert_eq!(published.described(), batch);
    }
}
