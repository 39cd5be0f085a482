//! From log entries to store records ([`Projected`]), and the conventions
//! that read into format-1 entries what the format does not spell out.
//!
//! # Conventions of the log (format version 1)
//!
//! A source registration carries a source id (the key's name), a kind, a
//! party and an Ed25519 public key, but no role and no revocation. The server
//! reads them as follows, so that the log alone says who may do what:
//!
//! * **Roles** ([`role_for`]): the log's *first* source registration is the
//!   admin (the server writes it on first start from the configured admin
//!   key). Every later source gets the role its kind implies: `party` →
//!   party, `monitor` → monitor, `media`, `osint` and `public` → analyst
//!   (they read, and submit nothing to the service).
//! * **Revocation**: a registration of an already registered source id with
//!   the all-zero public key ([`REVOKED_KEY`], a small-order point no one
//!   can sign with) revokes it. A revoked name is never registered again.
//!
//! Projection is total: an entry that would conflict with the store (a
//! second registration of a name, a report id already used in its
//! agreement, an agreement version logged twice) projects to nothing, with a
//! warning, so a store can always catch up with any log. The server refuses
//! such submissions before they are logged, so its own logs have none.
//!
//! What the entry does not carry comes from the journal
//! ([`crate::journal`]): the agreement a report was submitted under, the
//! submission time, the receipt bookkeeping and the openings of committed
//! fields. Without a journal line (a log appended by another tool, a lost
//! journal) a report is filed under the latest agreement logged before it,
//! times are the time of projection, and committed fields stay as the
//! public sees them (no source name, the coarsened position).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use geo::Intersects;
use geo_types::{MultiPolygon, Point};
use serde_json::json;
use truce_auth::Role;
use truce_log::BlobStore;
use truce_log::entry::{AgreementVersion, Decision, Entry, ReportEntry};
use truce_model::SourceKind;
use truce_model::agreement::{self, MemoryFiles};
use truce_note::{KeyName, SignatureType, Verifier};
use truce_store::{
    AgreementRecord, AnnotationKind, AnnotationRecord, Projected, ReportRecord, SourceRecord,
    Store, StoreError,
};

use crate::journal::EntryMeta;

/// The public key of a registration that revokes its source id.
pub const REVOKED_KEY: [u8; 32] = [0; 32];

/// The interpretation whose zones a report's `zone_ids` are taken from.
pub const COMMON_INTERPRETATION: &str = "common";

/// The file name agreement texts are loaded under (it appears in messages).
pub const AGREEMENT_FILE: &str = "agreement.toml";

/// The role a source registration gives: admin for the log's first
/// registration, otherwise the role implied by the source's kind.
pub fn role_for(kind: SourceKind, first_registration: bool) -> Role {
    if first_registration {
        return Role::Admin;
    }
    match kind {
        SourceKind::Party => Role::Party,
        SourceKind::Monitor => Role::Monitor,
        SourceKind::Media | SourceKind::Osint | SourceKind::Public => Role::Analyst,
    }
}

/// A zone's areas, for deciding which zones a report's point falls in.
#[derive(Debug, Clone)]
struct ZoneShape {
    id: String,
    areas: Vec<MultiPolygon<f64>>,
}

/// The latest common version of an agreement and its zones.
#[derive(Debug, Clone)]
struct AgreementZones {
    version: u32,
    zones: Arc<Vec<ZoneShape>>,
}

/// What projection needs to remember between entries: which sources,
/// agreement versions and zones exist.
#[derive(Debug)]
pub(crate) struct Projector {
    blobs: BlobStore,
    /// Registered source ids, and whether each is revoked.
    sources: HashMap<String, bool>,
    /// (id, version, interpretation) of every logged agreement version.
    agreement_versions: HashSet<(String, u32, String)>,
    /// Zones of each agreement's latest common version.
    zones: HashMap<String, AgreementZones>,
    /// The agreement of the latest agreement-version entry.
    latest_agreement: Option<String>,
    /// Reports projected in the batch being built: (agreement, report id).
    pending_reports: HashSet<(String, String)>,
    /// Whether the batch's report ids (under the agreement their journal line names) are
    /// known not to be in the log before the batch, so not in the store either: the writer's
    /// log stage checked them. Set per batch, after [`Projector::begin_batch`].
    ids_checked: bool,
}

impl Projector {
    /// The state of a store that has applied part of the log:
    /// `agreement_entries` are the agreement-version entries of the
    /// store's agreements, by log index (the zones come from their files in
    /// the blob store).
    pub async fn load<S: Store>(
        store: &S,
        blobs: BlobStore,
        agreement_entries: &BTreeMap<u64, AgreementVersion>,
    ) -> Result<Self, StoreError> {
        let sources = store
            .sources()
            .await?
            .into_iter()
            .map(|source| (source.name, source.revoked_at_index.is_some()))
            .collect();
        let agreements = store.agreements().await?;
        let mut projector = Self {
            blobs,
            sources,
            agreement_versions: HashSet::new(),
            zones: HashMap::new(),
            latest_agreement: agreements.last().map(|record| record.id.clone()),
            pending_reports: HashSet::new(),
            ids_checked: false,
        };
        for record in &agreements {
            projector.agreement_versions.insert((
                record.id.clone(),
                record.version,
                record.interpretation.clone(),
            ));
            if let Some(version) = agreement_entries.get(&record.log_index) {
                projector.note_zones(version);
            }
        }
        Ok(projector)
    }

    /// The log indexes of the agreement versions whose entries
    /// [`Projector::load`] wants: each agreement's common versions.
    pub async fn agreement_indexes<S: Store>(store: &S) -> Result<Vec<u64>, StoreError> {
        Ok(store
            .agreements()
            .await?
            .into_iter()
            .filter(|record| record.interpretation == COMMON_INTERPRETATION)
            .map(|record| record.log_index)
            .collect())
    }

    /// Starts a new batch (forgets the reports of the previous one).
    pub fn begin_batch(&mut self) {
        self.pending_reports.clear();
        self.ids_checked = false;
    }

    /// Declares that the batch begun last holds only report ids the log did not hold before
    /// it (as the writer's log stage checks before logging a group), so projecting its
    /// reports needs no store lookup of their ids. Reports without an agreement in their
    /// journal line are still looked up.
    pub fn trust_checked_ids(&mut self) {
        self.ids_checked = true;
    }

    /// Whether `name` is registered, and if so whether it is revoked.
    pub fn source_state(&self, name: &str) -> Option<bool> {
        self.sources.get(name).copied()
    }

    /// Whether this agreement version is logged.
    pub fn has_agreement_version(&self, id: &str, version: u32, interpretation: &str) -> bool {
        self.agreement_versions
            .contains(&(id.to_owned(), version, interpretation.to_owned()))
    }

    /// The records of entry `index`. `meta` is its journal line, if any;
    /// `now_ms` stands in for times the log and the journal do not give.
    pub async fn project<S: Store>(
        &mut self,
        store: &S,
        index: u64,
        entry: &Entry,
        meta: Option<&EntryMeta>,
        now_ms: i64,
    ) -> Result<Vec<Projected>, StoreError> {
        let at_ms = meta.map_or(now_ms, |meta| meta.ts_ms);
        let mut out = Vec::new();
        match entry {
            Entry::SourceRegistration(registration) => {
                let name = &registration.source_id;
                if registration.public_key == REVOKED_KEY {
                    match self.sources.get_mut(name) {
                        Some(revoked @ false) => {
                            *revoked = true;
                            out.push(Projected::SourceRevoked {
                                name: name.clone(),
                                at_index: index,
                                at_ms,
                            });
                        }
                        _ => {
                            tracing::warn!(index, source = %name, "revocation of a source that is not registered or already revoked; not projected")
                        }
                    }
                } else if self.sources.contains_key(name) {
                    tracing::warn!(index, source = %name, "second registration of a source id; not projected");
                } else {
                    let verifier = KeyName::new(name).ok().and_then(|key_name| {
                        Verifier::new(key_name, SignatureType::Ed25519, registration.public_key)
                            .ok()
                    });
                    match verifier {
                        Some(verifier) => {
                            let role = role_for(registration.kind, self.sources.is_empty());
                            self.sources.insert(name.clone(), false);
                            out.push(Projected::Source(SourceRecord {
                                name: name.clone(),
                                vkey: verifier.to_vkey(),
                                kind: registration.kind.as_str().to_owned(),
                                party: registration.party.clone(),
                                role: role.as_str().to_owned(),
                                registered_at_index: index,
                                revoked_at_index: None,
                                revoked_at_ms: None,
                            }));
                        }
                        None => {
                            tracing::warn!(index, source = %name, "registration with an unusable key or name; not projected")
                        }
                    }
                }
            }
            Entry::AgreementVersion(version) => {
                let key = (
                    version.agreement_id.clone(),
                    version.version,
                    version.interpretation.clone(),
                );
                if self.agreement_versions.contains(&key) {
                    tracing::warn!(index, agreement = %version.agreement_id, version = version.version, "agreement version logged twice; not projected");
                } else {
                    let title = self.note_zones(version).unwrap_or_default();
                    self.agreement_versions.insert(key);
                    self.latest_agreement = Some(version.agreement_id.clone());
                    out.push(Projected::Agreement(AgreementRecord {
                        id: version.agreement_id.clone(),
                        version: version.version,
                        interpretation: version.interpretation.clone(),
                        log_index: index,
                        content_sha256: version.text_sha256.to_hex(),
                        title,
                        registered_at_ms: at_ms,
                    }));
                }
            }
            Entry::Report(report) => {
                if let Some(record) = self
                    .report_record(store, index, report, meta, at_ms)
                    .await?
                {
                    out.push(Projected::Report(record));
                }
            }
            Entry::Review(review) => {
                let mut subjects: Vec<&str> = review.reports.iter().map(String::as_str).collect();
                subjects.extend(review.answers_contest.as_deref());
                let (decision, party) = match &review.decision {
                    Decision::Confirm => ("confirm", None),
                    Decision::Reject => ("reject", None),
                    Decision::Reattribute(party) => ("reattribute", party.clone()),
                    Decision::Merge => ("merge", None),
                    Decision::Split => ("split", None),
                };
                let body = json!({
                    "review_id": review.review_id,
                    "reviewer": review.reviewer,
                    "at_ms": review.at_ms,
                    "decision": decision,
                    "party": party,
                    "reports": review.reports,
                    "answers_contest": review.answers_contest,
                    "reasons_sha256": review.reasons_sha256.map(|hash| hash.to_hex()),
                });
                push_annotations(
                    &mut out,
                    index,
                    AnnotationKind::Review,
                    &subjects,
                    &review.reviewer,
                    &body,
                    review.at_ms,
                );
            }
            Entry::Retraction(retraction) => {
                let body = json!({
                    "source_id": retraction.source_id,
                    "report_id": retraction.report_id,
                    "at_ms": retraction.at_ms,
                    "reason_sha256": retraction.reason_sha256.map(|hash| hash.to_hex()),
                });
                push_annotations(
                    &mut out,
                    index,
                    AnnotationKind::Retraction,
                    &[retraction.report_id.as_str()],
                    &retraction.source_id,
                    &body,
                    retraction.at_ms,
                );
            }
            Entry::Coverage(coverage) => {
                let body = json!({
                    "coverage_id": coverage.coverage_id,
                    "observer": coverage.observer,
                    "kind": coverage.kind.as_str(),
                    "start_ms": coverage.time.start_ms,
                    "end_ms": coverage.time.end_ms,
                    "extent": coverage.extent,
                    "area_sha256": coverage.area_sha256.to_hex(),
                    "restricted_by": coverage.restricted_by,
                    "note_sha256": coverage.note_sha256.map(|hash| hash.to_hex()),
                });
                push_annotations(
                    &mut out,
                    index,
                    AnnotationKind::Coverage,
                    &[coverage.coverage_id.as_str()],
                    &coverage.observer,
                    &body,
                    at_ms,
                );
            }
            Entry::Contest(contest) => {
                let body = json!({
                    "contest_id": contest.contest_id,
                    "party": contest.party,
                    "at_ms": contest.at_ms,
                    "agreement_id": contest.agreement_id,
                    "agreement_version": contest.agreement_version,
                    "interpretation": contest.interpretation,
                    "incident": contest.incident,
                    "log_size": contest.log_size,
                    "reasons_sha256": contest.reasons_sha256.to_hex(),
                    "evidence": contest.evidence.iter().map(|hash| hash.to_hex()).collect::<Vec<_>>(),
                });
                let subjects = [contest.incident.as_str(), contest.contest_id.as_str()];
                push_annotations(
                    &mut out,
                    index,
                    AnnotationKind::Contest,
                    &subjects,
                    &contest.party,
                    &body,
                    contest.at_ms,
                );
            }
            Entry::PublishedAssessment(_) => {}
        }
        if !out.is_empty()
            && let Some(meta) = meta
            && let (Some(key), Some(nonce)) = (&meta.submitter, &meta.receipt_nonce)
        {
            out.push(Projected::Receipt {
                key: key.clone(),
                nonce: nonce.clone(),
                log_index: index,
            });
        }
        Ok(out)
    }

    async fn report_record<S: Store>(
        &mut self,
        store: &S,
        index: u64,
        report: &ReportEntry,
        meta: Option<&EntryMeta>,
        at_ms: i64,
    ) -> Result<Option<ReportRecord>, StoreError> {
        let openings = meta
            .map(|meta| meta.openings.to_report_openings())
            .unwrap_or_default();
        let clear = report.to_report(&openings);
        // The log's own word first (entry format 2), then the journal's (format 1), then the
        // latest agreement (a log read without its journal).
        let filed_under = report
            .filing
            .as_ref()
            .map(|filing| filing.agreement_id.clone())
            .or_else(|| meta.and_then(|meta| meta.agreement.clone()));
        let checked = self.ids_checked && filed_under.is_some();
        let agreement_id = filed_under
            .or_else(|| self.latest_agreement.clone())
            .unwrap_or_default();
        let at_ms = report
            .filing
            .as_ref()
            .map_or(at_ms, |filing| filing.submitted_ms);
        let key = (agreement_id.clone(), report.report_id.clone());
        if self.pending_reports.contains(&key)
            || (!checked
                && store
                    .report_by_id(&agreement_id, &report.report_id)
                    .await?
                    .is_some())
        {
            tracing::warn!(index, report = %report.report_id, agreement = %agreement_id, "report id already used in its agreement; not projected");
            return Ok(None);
        }
        self.pending_reports.insert(key);
        let zone_ids = self.zones_at(&agreement_id, clear.location.lon, clear.location.lat);
        Ok(Some(ReportRecord {
            log_index: index,
            report_id: report.report_id.clone(),
            agreement_id,
            source_name: clear.source.id.to_string(),
            source_kind: report.source.kind.as_str().to_owned(),
            party: report.source.party.clone(),
            actor: report.accused.clone(),
            action: report.action.as_str().to_owned(),
            target: report.target.to_string(),
            start_ms: report.time.start_ms,
            end_ms: report.time.end_ms,
            lon: clear.location.lon,
            lat: clear.location.lat,
            radius_m: clear.location.uncertainty_m,
            zone_ids,
            submitted_at_ms: at_ms,
        }))
    }

    /// Loads an agreement version from its files in the blob store; keeps
    /// the zones of a newer common version; returns the title of its
    /// interpretation. `None` (with a warning) when its files are missing or
    /// it no longer loads.
    fn note_zones(&mut self, version: &AgreementVersion) -> Option<String> {
        let loaded = load_from_blobs(&self.blobs, version);
        let agreements = match loaded {
            Ok(agreements) => agreements,
            Err(reason) => {
                tracing::warn!(agreement = %version.agreement_id, version = version.version, %reason, "agreement files not usable; its zones are unknown");
                return None;
            }
        };
        let reading = agreements
            .iter()
            .find(|agreement| agreement.interpretation == version.interpretation)?;
        if version.interpretation == COMMON_INTERPRETATION {
            let newer = self
                .zones
                .get(&version.agreement_id)
                .is_none_or(|known| known.version <= version.version);
            if newer {
                let zones = reading
                    .zones
                    .iter()
                    .map(|zone| ZoneShape {
                        id: zone.id.to_string(),
                        areas: zone.areas.iter().map(|area| area.area.clone()).collect(),
                    })
                    .collect();
                self.zones.insert(
                    version.agreement_id.clone(),
                    AgreementZones {
                        version: version.version,
                        zones: Arc::new(zones),
                    },
                );
            }
        }
        Some(reading.title.clone())
    }

    /// The zones of `agreement_id`'s latest common version that the point
    /// lies in or on the edge of (planar, in lon/lat, as RFC 7946 reads
    /// polygons).
    fn zones_at(&self, agreement_id: &str, lon: f64, lat: f64) -> Vec<String> {
        let Some(known) = self.zones.get(agreement_id) else {
            return Vec::new();
        };
        let point = Point::new(lon, lat);
        known
            .zones
            .iter()
            .filter(|zone| zone.areas.iter().any(|area| area.intersects(&point)))
            .map(|zone| zone.id.clone())
            .collect()
    }
}

/// Loads an agreement from the blob store: its text by `text_sha256`, each
/// referenced file by its hash.
pub(crate) fn load_from_blobs(
    blobs: &BlobStore,
    version: &AgreementVersion,
) -> Result<Vec<truce_model::agreement::Agreement>, String> {
    let text = blobs
        .get(&version.text_sha256.0)
        .map_err(|error| error.to_string())?
        .ok_or_else(|| {
            format!(
                "agreement text {} is not in the blob store",
                version.text_sha256
            )
        })?;
    let text = String::from_utf8(text).map_err(|_| "agreement text is not UTF-8".to_owned())?;
    let mut files = BTreeMap::new();
    for (path, hash) in &version.files {
        let body = blobs
            .get(&hash.0)
            .map_err(|error| error.to_string())?
            .ok_or_else(|| format!("file {path} ({hash}) is not in the blob store"))?;
        files.insert(path.clone(), body);
    }
    agreement::load(AGREEMENT_FILE, &text, &MemoryFiles(files)).map_err(|errors| errors.to_string())
}

/// One annotation per distinct subject.
fn push_annotations(
    out: &mut Vec<Projected>,
    index: u64,
    kind: AnnotationKind,
    subjects: &[&str],
    author: &str,
    body: &serde_json::Value,
    at_ms: i64,
) {
    let body_json = body.to_string();
    let mut seen = HashSet::new();
    for subject in subjects {
        if seen.insert(*subject) {
            out.push(Projected::Annotation(AnnotationRecord {
                log_index: index,
                kind,
                subject: (*subject).to_owned(),
                author: author.to_owned(),
                body_json: body_json.clone(),
                submitted_at_ms: at_ms,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use truce_log::entry::{ReportDisclosure, Review, SourceRegistration};
    use truce_model::{
        ActionType, Casualties, Location, Report, Source, Target, TargetKind, TimeSpan,
    };
    use truce_note::NoteSigner;
    use truce_store::SqliteStore;

    use super::*;
    use crate::journal::Openings;

    fn registration(name: &str, kind: SourceKind, key: [u8; 32]) -> Entry {
        Entry::SourceRegistration(SourceRegistration {
            source_id: name.into(),
            kind,
            party: (kind == SourceKind::Party).then(|| "UA".to_owned()),
            public_key: key,
        })
    }

    fn public_key(seed: u8) -> [u8; 32] {
        *NoteSigner::from_seed(KeyName::new("k").unwrap(), &[seed; 32])
            .verifier()
            .public_key()
    }

    fn report(id: &str) -> Report {
        Report {
            id: id.into(),
            source: Source {
                id: "monitor-1".into(),
                kind: SourceKind::Monitor,
                party: None,
            }
            .into(),
            time: TimeSpan::instant(1_742_860_800_000),
            location: Location {
                lon: 35.1396,
                lat: 47.8388,
                uncertainty_m: 500.0,
            },
            action: ActionType::DroneStrike,
            target: Target::of(TargetKind::Unknown),
            accused: Some("RU".into()),
            casualties: Casualties::default(),
            details: truce_model::Details::default(),
        }
    }

    async fn projector(store: &SqliteStore) -> Projector {
        let temp = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(temp.path().join("blobs")).unwrap();
        // The blob directory may go: these tests load no agreement.
        Projector::load(store, blobs, &BTreeMap::new())
            .await
            .unwrap()
    }

    #[test]
    fn roles_follow_kind_and_the_first_registration_is_admin() {
        assert_eq!(role_for(SourceKind::Monitor, true), Role::Admin);
        assert_eq!(role_for(SourceKind::Party, true), Role::Admin);
        assert_eq!(role_for(SourceKind::Monitor, false), Role::Monitor);
        assert_eq!(role_for(SourceKind::Party, false), Role::Party);
        for kind in [SourceKind::Media, SourceKind::Osint, SourceKind::Public] {
            assert_eq!(role_for(kind, false), Role::Analyst);
        }
    }

    #[tokio::test]
    async fn registrations_revocations_and_duplicates() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let mut projector = projector(&store).await;
        let admin = projector
            .project(
                &store,
                0,
                &registration("admin", SourceKind::Monitor, public_key(1)),
                None,
                5,
            )
            .await
            .unwrap();
        let [Projected::Source(admin)] = admin.as_slice() else {
            panic!("{admin:?}");
        };
        assert_eq!(admin.role, "admin");
        let party = projector
            .project(
                &store,
                1,
                &registration("ua-liaison", SourceKind::Party, public_key(2)),
                None,
                5,
            )
            .await
            .unwrap();
        let [Projected::Source(party)] = party.as_slice() else {
            panic!("{party:?}");
        };
        assert_eq!(
            (party.role.as_str(), party.party.as_deref()),
            ("party", Some("UA"))
        );
        // A second registration of the name projects nothing.
        let again = projector
            .project(
                &store,
                2,
                &registration("ua-liaison", SourceKind::Party, public_key(3)),
                None,
                5,
            )
            .await
            .unwrap();
        assert!(again.is_empty());
        // The all-zero key revokes, once.
        let meta = EntryMeta {
            ts_ms: 77,
            ..EntryMeta::default()
        };
        let revoked = projector
            .project(
                &store,
                3,
                &registration("ua-liaison", SourceKind::Party, REVOKED_KEY),
                Some(&meta),
                5,
            )
            .await
            .unwrap();
        assert_eq!(
            revoked,
            vec![Projected::SourceRevoked {
                name: "ua-liaison".into(),
                at_index: 3,
                at_ms: 77
            }]
        );
        assert_eq!(projector.source_state("ua-liaison"), Some(true));
        let twice = projector
            .project(
                &store,
                4,
                &registration("ua-liaison", SourceKind::Party, REVOKED_KEY),
                None,
                5,
            )
            .await
            .unwrap();
        assert!(twice.is_empty());
        let unknown = projector
            .project(
                &store,
                5,
                &registration("nobody", SourceKind::Party, REVOKED_KEY),
                None,
                5,
            )
            .await
            .unwrap();
        assert!(unknown.is_empty());
    }

    #[tokio::test]
    async fn committed_reports_project_their_clear_values_with_the_journal_only() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let mut projector = projector(&store).await;
        let shown = Location {
            lon: 35.15,
            lat: 47.85,
            uncertainty_m: 8_000.0,
        };
        let disclosure = ReportDisclosure {
            source_id: Some([4; 32]),
            location: Some(([5; 32], shown)),
            place: None,
        };
        let (entry, openings) = ReportEntry::from_report(&report("r1"), &disclosure).unwrap();
        let entry = Entry::Report(entry);
        let meta = EntryMeta {
            ts_ms: 1_000,
            submitter: Some("monitor-1".into()),
            receipt_nonce: Some("00".repeat(16)),
            agreement: Some("energy".into()),
            openings: Openings::from_report_openings(&openings),
        };
        let with = projector
            .project(&store, 7, &entry, Some(&meta), 5)
            .await
            .unwrap();
        let [
            Projected::Report(record),
            Projected::Receipt { log_index: 7, .. },
        ] = with.as_slice()
        else {
            panic!("{with:?}");
        };
        assert_eq!(record.source_name, "monitor-1");
        assert_eq!((record.lon, record.lat), (35.1396, 47.8388));
        assert_eq!(record.agreement_id, "energy");
        assert_eq!(record.submitted_at_ms, 1_000);
        // The same report id in the same agreement is not projected twice.
        assert!(
            projector
                .project(&store, 8, &entry, Some(&meta), 5)
                .await
                .unwrap()
                .is_empty()
        );
        projector.begin_batch();
        // Without the journal: the public view, filed under no agreement.
        let without = projector.project(&store, 9, &entry, None, 5).await.unwrap();
        let [Projected::Report(record)] = without.as_slice() else {
            panic!("{without:?}");
        };
        assert_eq!(record.source_name, "");
        assert_eq!((record.lon, record.lat), (35.15, 47.85));
        assert_eq!(record.agreement_id, "");
        assert_eq!(record.submitted_at_ms, 5);
    }

    #[tokio::test]
    async fn a_batch_the_log_stage_checked_projects_without_looking_ids_up() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let mut projector = projector(&store).await;
        let (entry, openings) =
            ReportEntry::from_report(&report("r1"), &ReportDisclosure::default()).unwrap();
        let entry = Entry::Report(entry);
        let meta = EntryMeta {
            ts_ms: 1_000,
            submitter: Some("monitor-1".into()),
            receipt_nonce: None,
            agreement: Some("energy".into()),
            openings: Openings::from_report_openings(&openings),
        };
        let first = projector
            .project(&store, 0, &entry, Some(&meta), 5)
            .await
            .unwrap();
        store.apply(0..1, &first).await.unwrap();
        // The store holds r1: a batch nobody checked looks the id up and leaves it out.
        projector.begin_batch();
        assert!(
            projector
                .project(&store, 1, &entry, Some(&meta), 5)
                .await
                .unwrap()
                .is_empty()
        );
        // A checked batch is trusted: its ids are not looked up (the writer's log stage
        // refuses a used id before logging it, so this pair never reaches the projector).
        projector.begin_batch();
        projector.trust_checked_ids();
        let trusted = projector
            .project(&store, 1, &entry, Some(&meta), 5)
            .await
            .unwrap();
        assert!(
            matches!(trusted.as_slice(), [Projected::Report(_)]),
            "{trusted:?}"
        );
        // Within the batch, a repeated id is still left out.
        assert!(
            projector
                .project(&store, 2, &entry, Some(&meta), 5)
                .await
                .unwrap()
                .is_empty()
        );
        // A new batch forgets the trust.
        projector.begin_batch();
        assert!(
            projector
                .project(&store, 1, &entry, Some(&meta), 5)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_filed_report_counts_under_its_own_agreement_without_the_journal() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let mut projector = projector(&store).await;
        let (mut entry, _) =
            ReportEntry::from_report(&report("r1"), &ReportDisclosure::default()).unwrap();
        entry.filing = Some(truce_log::entry::Filing {
            agreement_id: "black-sea".into(),
            submitted_ms: 1_234,
        });
        let entry = Entry::Report(entry);
        // No journal line: the entry's own filing decides, not the latest agreement.
        let projected = projector.project(&store, 4, &entry, None, 5).await.unwrap();
        let [Projected::Report(record)] = projected.as_slice() else {
            panic!("{projected:?}");
        };
        assert_eq!(record.agreement_id, "black-sea");
        assert_eq!(record.submitted_at_ms, 1_234);
        // With a journal line too, the entry still decides.
        projector.begin_batch();
        let meta = EntryMeta {
            ts_ms: 99,
            agreement: Some("energy".into()),
            ..EntryMeta::default()
        };
        let projected = projector
            .project(&store, 5, &entry, Some(&meta), 5)
            .await
            .unwrap();
        let [Projected::Report(record)] = projected.as_slice() else {
            panic!("{projected:?}");
        };
        assert_eq!(
            (record.agreement_id.as_str(), record.submitted_at_ms),
            ("black-sea", 1_234)
        );
    }

    #[tokio::test]
    async fn a_review_annotates_each_report_once() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let mut projector = projector(&store).await;
        let review = Entry::Review(Review {
            review_id: "rv1".into(),
            reviewer: "monitor-1".into(),
            at_ms: 42,
            decision: Decision::Reattribute(Some("RU".into())),
            reports: vec!["r1".into(), "r2".into(), "r1".into()],
            answers_contest: Some("c1".into()),
            reasons_sha256: None,
        });
        let out = projector
            .project(&store, 3, &review, None, 5)
            .await
            .unwrap();
        let subjects: Vec<&str> = out
            .iter()
            .map(|item| match item {
                Projected::Annotation(annotation) => annotation.subject.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(subjects, ["r1", "r2", "c1"]);
        let Projected::Annotation(first) = &out[0] else {
            unreachable!()
        };
        let body: serde_json::Value = serde_json::from_str(&first.body_json).unwrap();
        assert_eq!(body["decision"], "reattribute");
        assert_eq!(body["party"], "RU");
        assert_eq!(first.submitted_at_ms, 42);
    }
}
