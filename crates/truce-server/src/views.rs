//! What the API shows, and to whom: the wire types of responses, built from
//! store records with the reader's role deciding what is left out.
//!
//! # Redaction
//!
//! * Source identities (a report's source name, an annotation's author, the
//!   list of sources) are shown to roles allowed
//!   [`Action::ReadSourceIdentities`], and to a party's key for the sources
//!   of its own party ([`may_read_source_identity`]); never to the public.
//! * A monitor's exact position is shown to roles allowed
//!   [`Action::ReadExactMonitorPositions`]; everyone else sees the centre of
//!   its grid cell ([`coarsen_position`]) with the uncertainty radius grown
//!   by half the cell's diagonal, so the disk still holds the event. This is
//!   the same location the log shows in place of the committed one.
//! * Report text is not shown to the public (the log has only its hash).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use truce_auth::{Action, Role, coarsen_position, may_read_source_identity, permits};
use truce_log::Receipt;
use truce_model::Location;
use truce_store::{AgreementRecord, AnnotationRecord, ReportRecord, SourceRecord};
use utoipa::ToSchema;

mod incidents;

pub use incidents::{
    CasualtiesView, ContestView, FindingVersionView, FindingView, IncidentDetail, IncidentPage,
    IncidentView, StatisticsRow, StatisticsView,
};

/// Metres per degree of latitude (and of longitude at the equator), rounded up.
const METRES_PER_DEGREE: f64 = 111_320.0;

/// The location shown in place of a monitor's exact one: the cell centre,
/// with the radius grown by half the cell's diagonal (measured at the
/// equator, where a degree of longitude is longest). `None` for a position
/// that cannot be coarsened (it is then not shown at all).
pub(crate) fn coarse_location(exact: Location, cell_deg: f64) -> Option<Location> {
    let (lon, lat) = coarsen_position(exact.lon, exact.lat, cell_deg).ok()?;
    let half_diagonal_m = (cell_deg / 2.0) * std::f64::consts::SQRT_2 * METRES_PER_DEGREE;
    Some(Location {
        lon,
        lat,
        uncertainty_m: (exact.uncertainty_m + half_diagonal_m).ceil(),
    })
}

/// A receipt: the entry's index, its inclusion proof and the signed
/// checkpoint that includes it, also as one c2sp.org/tlog-proof text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptView {
    /// The entry's log index.
    pub index: u64,
    /// `SHA-256(0x00 ‖ entry)`, hex: the leaf the proof starts from.
    pub leaf_hash: String,
    /// The inclusion proof, leaf to root, base64 hashes.
    pub proof: Vec<String>,
    /// The signed checkpoint (c2sp.org/tlog-checkpoint note).
    pub checkpoint: String,
    /// All of it as c2sp.org/tlog-proof@v1, for offline verification.
    pub receipt: String,
}

impl ReceiptView {
    /// The view of `receipt`, whose entry has the leaf hash `leaf`.
    pub fn new(receipt: &Receipt, leaf: &truce_merkle::Hash) -> Self {
        Self {
            index: receipt.index(),
            leaf_hash: leaf.to_hex(),
            proof: receipt
                .proof()
                .iter()
                .map(|hash| STANDARD.encode(hash.as_bytes()))
                .collect(),
            checkpoint: receipt.checkpoint().to_string(),
            receipt: receipt.to_string(),
        }
    }
}

/// The answer to a submission: one receipt per logged entry, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Submitted {
    /// The receipts.
    pub receipts: Vec<ReceiptView>,
}

/// A registered source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SourceView {
    /// The source's name (its key's name).
    pub name: String,
    /// Its verifier key.
    pub vkey: String,
    /// Its kind.
    pub kind: String,
    /// The party it speaks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// Its role.
    pub role: String,
    /// The log index of its registration.
    pub registered_at_index: u64,
    /// The log index of its revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_index: Option<u64>,
}

impl From<SourceRecord> for SourceView {
    fn from(record: SourceRecord) -> Self {
        Self {
            name: record.name,
            vkey: record.vkey,
            kind: record.kind,
            party: record.party,
            role: record.role,
            registered_at_index: record.registered_at_index,
            revoked_at_index: record.revoked_at_index,
        }
    }
}

/// The sources a reader may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SourceList {
    /// In registration order.
    pub sources: Vec<SourceView>,
}

/// Registering a source: its key, its kind and party. The role follows from
/// the kind (`party` → party, `monitor` → monitor, `media`, `osint`,
/// `public` → analyst); `role`, if given, must be that role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceRegistrationRequest {
    /// The source's verifier key, `<name>+<key id>+<base64>` (Ed25519).
    pub vkey: String,
    /// `party`, `monitor`, `media`, `osint` or `public`.
    pub kind: String,
    /// The party it speaks for (required for `party` sources).
    #[serde(default)]
    pub party: Option<String>,
    /// The role, if stated: checked against the kind.
    #[serde(default)]
    pub role: Option<String>,
}

/// An agreement version under one interpretation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgreementView {
    /// The agreement's id.
    pub id: String,
    /// The version.
    pub version: u32,
    /// `common` or the party whose reading this is.
    pub interpretation: String,
    /// The log index of its entry.
    pub log_index: u64,
    /// SHA-256 of the agreement text, hex.
    pub content_sha256: String,
    /// The title.
    pub title: String,
    /// When it was registered, Unix milliseconds.
    pub registered_at_ms: i64,
}

impl From<AgreementRecord> for AgreementView {
    fn from(record: AgreementRecord) -> Self {
        Self {
            id: record.id,
            version: record.version,
            interpretation: record.interpretation,
            log_index: record.log_index,
            content_sha256: record.content_sha256,
            title: record.title,
            registered_at_ms: record.registered_at_ms,
        }
    }
}

/// Every agreement version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgreementList {
    /// In log order.
    pub agreements: Vec<AgreementView>,
}

/// One version of an agreement: its interpretations and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgreementDetail {
    /// The interpretations of the version, common first.
    pub versions: Vec<AgreementView>,
    /// The agreement file's text.
    pub toml: String,
}

/// An agreement with the files it references, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementSubmission {
    /// The agreement file (TOML).
    pub toml: String,
    /// Referenced files (zones, lines, sites) by the path the agreement
    /// uses, with their contents.
    #[serde(default)]
    pub files: std::collections::BTreeMap<String, String>,
}

/// Where a report says the event was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LocationView {
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Uncertainty radius, metres.
    pub radius_m: f64,
    /// Whether this is a cell centre shown in place of the exact position.
    pub coarsened: bool,
}

/// Who made a report, as far as the reader may know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SourceRefView {
    /// The source's kind.
    pub kind: String,
    /// The party it speaks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// The source's name, for readers allowed to see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A report as the reader may see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportView {
    /// The log index of its entry.
    pub log_index: u64,
    /// The report's id.
    pub report_id: String,
    /// The agreement it was submitted under.
    pub agreement_id: String,
    /// Who.
    pub source: SourceRefView,
    /// Whom it accuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accused: Option<String>,
    /// The action type.
    pub action: String,
    /// The target category.
    pub target: String,
    /// Earliest instant, Unix milliseconds.
    pub start_ms: i64,
    /// Latest instant, Unix milliseconds, inclusive.
    pub end_ms: i64,
    /// Where (absent if it could not be shown safely).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationView>,
    /// The zones of its agreement it falls in.
    pub zone_ids: Vec<String>,
    /// When it was submitted, Unix milliseconds.
    pub submitted_at_ms: i64,
    /// The free text (single-report reads only, never for the public).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The reader deciding what a view shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Viewer<'a> {
    /// The reader's role.
    pub role: Role,
    /// The reader's party.
    pub party: Option<&'a str>,
    /// The coarsening cell.
    pub cell_deg: f64,
}

impl Viewer<'_> {
    /// Whether the reader sees exact positions of `source_kind` reports.
    pub fn sees_exact_position(&self, source_kind: &str) -> bool {
        source_kind != "monitor" || permits(self.role, Action::ReadExactMonitorPositions)
    }

    /// Whether the reader sees the name of a source of `source_party`.
    pub fn sees_source(&self, source_party: Option<&str>) -> bool {
        may_read_source_identity(self.role, self.party, source_party)
    }

    /// The location the reader sees for a report's point.
    pub fn location(&self, record: &ReportRecord) -> Option<LocationView> {
        let exact = Location {
            lon: record.lon,
            lat: record.lat,
            uncertainty_m: record.radius_m,
        };
        if self.sees_exact_position(&record.source_kind) {
            return Some(LocationView {
                lon: exact.lon,
                lat: exact.lat,
                radius_m: exact.uncertainty_m,
                coarsened: false,
            });
        }
        coarse_location(exact, self.cell_deg).map(|shown| LocationView {
            lon: shown.lon,
            lat: shown.lat,
            radius_m: shown.uncertainty_m,
            coarsened: true,
        })
    }

    /// The view of a report record.
    pub fn report(&self, record: ReportRecord) -> ReportView {
        let location = self.location(&record);
        let name = self
            .sees_source(record.party.as_deref())
            .then(|| record.source_name.clone())
            .filter(|name| !name.is_empty());
        ReportView {
            log_index: record.log_index,
            report_id: record.report_id,
            agreement_id: record.agreement_id,
            source: SourceRefView {
                kind: record.source_kind,
                party: record.party,
                name,
            },
            accused: record.actor,
            action: record.action,
            target: record.target,
            start_ms: record.start_ms,
            end_ms: record.end_ms,
            location,
            zone_ids: record.zone_ids,
            submitted_at_ms: record.submitted_at_ms,
            text: None,
        }
    }

    /// The view of an annotation: without its author, and without the
    /// author fields of its body, for readers who may not see identities.
    pub fn annotation(&self, record: AnnotationRecord) -> AnnotationView {
        let mut body = serde_json::from_str(&record.body_json).unwrap_or(serde_json::Value::Null);
        let shows_author = permits(self.role, Action::ReadSourceIdentities);
        if !shows_author && let Some(object) = body.as_object_mut() {
            for field in ["reviewer", "observer", "source_id"] {
                object.remove(field);
            }
        }
        AnnotationView {
            log_index: record.log_index,
            kind: record.kind.as_str().to_owned(),
            subject: record.subject,
            author: shows_author.then_some(record.author),
            body,
            submitted_at_ms: record.submitted_at_ms,
        }
    }
}

/// One page of reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportPage {
    /// The reports, by log index.
    pub items: Vec<ReportView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A review, contest, coverage record or retraction about a subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnnotationView {
    /// The log index of the entry.
    pub log_index: u64,
    /// `review`, `contest`, `coverage` or `retraction`.
    pub kind: String,
    /// The report, incident, contest or coverage id it is about.
    pub subject: String,
    /// The source that wrote it (for readers allowed to see identities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The entry's public fields.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// When it was made, Unix milliseconds.
    pub submitted_at_ms: i64,
}

/// The annotations about one subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnnotationList {
    /// In log order.
    pub annotations: Vec<AnnotationView>,
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogEntryView {
    /// Its index.
    pub index: u64,
    /// `SHA-256(0x00 ‖ entry)`, hex.
    pub leaf_hash: String,
    /// The entry's canonical bytes (docs/log-format.md), base64.
    pub entry: String,
}

/// A range of log entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogEntries {
    /// The entries, by index.
    pub entries: Vec<LogEntryView>,
}

/// An inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InclusionProofView {
    /// The entry's index.
    pub index: u64,
    /// The tree size it is proven in.
    pub size: u64,
    /// Base64 hashes, leaf to root.
    pub proof: Vec<String>,
}

/// A consistency proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProofView {
    /// The smaller tree size.
    pub from: u64,
    /// The larger tree size.
    pub to: u64,
    /// Base64 hashes.
    pub proof: Vec<String>,
}

/// Liveness or readiness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The log's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_size: Option<u64>,
    /// With the record in the database: `sequencer` for the instance that
    /// appends to the log, `follower` for one that follows it (serving
    /// reads and forwarding writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;
    use truce_store::AnnotationKind;

    use super::*;

    fn record(kind: &str, party: Option<&str>) -> ReportRecord {
        ReportRecord {
            log_index: 4,
            report_id: "r1".into(),
            agreement_id: "a".into(),
            source_name: "monitor-7".into(),
            source_kind: kind.into(),
            party: party.map(str::to_owned),
            actor: Some("RU".into()),
            action: "artillery".into(),
            target: "unknown".into(),
            start_ms: 1,
            end_ms: 2,
            lon: 36.2304,
            lat: 49.9935,
            radius_m: 100.0,
            zone_ids: vec![],
            submitted_at_ms: 3,
        }
    }

    fn viewer(role: Role, party: Option<&str>) -> Viewer<'_> {
        Viewer {
            role,
            party,
            cell_deg: truce_auth::DEFAULT_CELL_DEG,
        }
    }

    #[test]
    fn the_public_sees_no_source_and_a_coarse_monitor_position() {
        let public = viewer(Role::Public, None).report(record("monitor", None));
        assert_eq!(public.source.name, None);
        let location = public.location.unwrap();
        assert!(location.coarsened);
        assert!((location.lon - 36.25).abs() < 1e-9 && (location.lat - 49.95).abs() < 1e-9);
        assert!(location.radius_m > 100.0 + 7_000.0);
        let analyst = viewer(Role::Analyst, None).report(record("monitor", None));
        assert_eq!(analyst.source.name.as_deref(), Some("monitor-7"));
        assert!(
            analyst.location.unwrap().coarsened,
            "analysts do not see exact monitor positions"
        );
        let monitor = viewer(Role::Monitor, None).report(record("monitor", None));
        let exact = monitor.location.unwrap();
        assert!(!exact.coarsened);
        assert_eq!((exact.lon, exact.lat), (36.2304, 49.9935));
    }

    #[test]
    fn parties_see_their_own_sources_only_and_exact_party_positions() {
        let own = viewer(Role::Party, Some("UA")).report(record("party", Some("UA")));
        assert_eq!(own.source.name.as_deref(), Some("monitor-7"));
        assert!(!own.location.unwrap().coarsened);
        let other = viewer(Role::Party, Some("RU")).report(record("party", Some("UA")));
        assert_eq!(other.source.name, None);
    }

    #[test]
    fn annotation_authors_are_hidden_from_the_public() {
        let annotation = AnnotationRecord {
            log_index: 1,
            kind: AnnotationKind::Review,
            subject: "r1".into(),
            author: "monitor-7".into(),
            body_json: r#"{"reviewer":"monitor-7","decision":"confirm"}"#.into(),
            submitted_at_ms: 9,
        };
        let public = viewer(Role::Public, None).annotation(annotation.clone());
        assert_eq!(public.author, None);
        assert!(!public.body.to_string().contains("monitor-7"));
        assert_eq!(public.body["decision"], "confirm");
        let analyst = viewer(Role::Analyst, None).annotation(annotation);
        assert_eq!(analyst.author.as_deref(), Some("monitor-7"));
    }

    proptest! {
        /// The shown disk always holds the exact one, and two exact
        /// positions in one cell are shown alike.
        #[test]
        fn the_coarse_disk_contains_the_exact_point(
            lon in -179.9f64..179.9,
            lat in -80.0f64..80.0,
            radius in 0.0f64..10_000.0,
        ) {
            let exact = Location { lon, lat, uncertainty_m: radius };
            let shown = coarse_location(exact, truce_auth::DEFAULT_CELL_DEG).unwrap();
            let dlat_m = (shown.lat - lat).abs() * METRES_PER_DEGREE;
            let dlon_m = (shown.lon - lon).abs() * METRES_PER_DEGREE * lat.to_radians().cos();
            let distance = (dlat_m * dlat_m + dlon_m * dlon_m).sqrt();
            prop_assert!(distance + radius <= shown.uncertainty_m);
            let (cell_lon, cell_lat) = (shown.lon, shown.lat);
            let again = coarse_location(Location { lon: cell_lon, lat: cell_lat, uncertainty_m: radius }, truce_auth::DEFAULT_CELL_DEG).unwrap();
            prop_assert_eq!((again.lon, again.lat), (cell_lon, cell_lat));
        }
    }
}
