//! The canonical encoding of the entries truce logs (format versions 1 and 2).
//!
//! Every entry is `version (u8) ‖ kind (u8) ‖ fields`, with the fields of
//! each kind in a fixed order and each primitive encoded one way only (see
//! `docs/log-format.md` for the tables). [`Entry::encode`] and
//! [`Entry::decode`] are inverse: decoding refuses any byte string that is
//! not exactly what encoding its result gives back, so an entry's bytes, and
//! hence its leaf hash, are a function of its value.
//!
//! Bodies stay out of the log: free text, attachments, coverage geometry and
//! the reasons of reviews and contests are [`ContentHash`]es of bytes kept
//! elsewhere. Sensitive fields (a source's identity, an exact position, a
//! place name) can be [`Disclosed::Committed`]: a salted SHA-256
//! [`Commitment`], whose [`Opening`] (salt and value) is kept under access
//! control and can be checked against the public entry.
//!
//! This module only encodes values; the log stores bytes and never decodes
//! them.

mod codec;

use std::fmt;

use sha2::{Digest, Sha256};
use truce_model::{
    ActionType, Casualties, Location, Report, SmolStr, Source, SourceKind, Target, TimeSpan,
};

pub use codec::{DecodeError, DecodeProblem, EncodeError};
use codec::{Reader, Writer};

/// The format version of every entry but a filed report.
pub const ENTRY_FORMAT_VERSION: u8 = 1;

/// The format version of a report entry that says how it was filed ([`Filing`]): version 1's
/// fields followed by the filing's. Other kinds have no version 2.
pub const FILED_REPORT_FORMAT_VERSION: u8 = 2;

/// The largest encoded entry (the log's entry limit).
pub const MAX_ENCODED_LEN: usize = crate::layout::MAX_ENTRY_LEN;

/// The SHA-256 of some bytes kept outside the log (a text, a file, a GeoJSON
/// document, a findings document).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        ContentHash(Sha256::digest(bytes).into())
    }

    /// Reads an evidence reference `sha256:<64 hex digits>` (either case).
    pub fn from_evidence(reference: &str) -> Result<Self, EncodeError> {
        let invalid = || EncodeError::Evidence {
            value: reference.to_owned(),
        };
        let hex = reference.strip_prefix("sha256:").ok_or_else(invalid)?;
        truce_merkle::Hash::from_hex(hex)
            .map(|hash| ContentHash(hash.to_bytes()))
            .map_err(|_| invalid())
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        truce_merkle::Hash::from_bytes(self.0).to_hex()
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.to_hex())
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

/// The domain-separation prefix of every commitment.
pub const COMMITMENT_PREFIX: &[u8] = b"truce/commitment/v1\0";

/// A salted SHA-256 commitment to a sensitive value:
/// `SHA-256("truce/commitment/v1" ‖ 0x00 ‖ label ‖ 0x00 ‖ salt ‖ value)`,
/// where `label` names the field (e.g. `report.location`), `salt` is 32
/// random bytes drawn by the caller, and `value` is the field's canonical
/// encoding. The salt makes guessing the value from the commitment as hard as
/// guessing the salt; the label stops a commitment being replayed as another
/// field.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Commitment(pub [u8; 32]);

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Commitment({})",
            truce_merkle::Hash::from_bytes(self.0).to_hex()
        )
    }
}

/// A value that can be committed to: it has a canonical encoding.
pub trait Committable {
    /// The value's canonical bytes (as it would be encoded in a clear field).
    fn commitment_bytes(&self) -> Result<Vec<u8>, EncodeError>;
}

impl Committable for String {
    fn commitment_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut writer = Writer::default();
        writer.str("committed string", self)?;
        Ok(writer.bytes)
    }
}

impl Committable for Location {
    fn commitment_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut writer = Writer::default();
        write_location(&mut writer, self)?;
        Ok(writer.bytes)
    }
}

impl Commitment {
    /// Commits to `value` under `label` with `salt`.
    pub fn commit<T: Committable>(
        label: &str,
        salt: &[u8; 32],
        value: &T,
    ) -> Result<Self, EncodeError> {
        let mut hasher = Sha256::new();
        hasher.update(COMMITMENT_PREFIX);
        hasher.update(label.as_bytes());
        hasher.update([0u8]);
        hasher.update(salt);
        hasher.update(value.commitment_bytes()?);
        Ok(Commitment(hasher.finalize().into()))
    }
}

/// The clear value and salt behind a [`Commitment`], kept apart from the log
/// under access control.
#[derive(Clone, PartialEq)]
pub struct Opening<T> {
    /// The field label the commitment was made under.
    pub label: &'static str,
    /// The salt.
    pub salt: [u8; 32],
    /// The clear value.
    pub value: T,
}

impl<T: fmt::Debug> fmt::Debug for Opening<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The salt is what protects the value: never print it.
        f.debug_struct("Opening")
            .field("label", &self.label)
            .field("value", &self.value)
            .finish_non_exhaustive()
    }
}

impl<T: Committable> Opening<T> {
    /// Whether this opening matches `commitment`.
    pub fn opens(&self, commitment: &Commitment) -> bool {
        Commitment::commit(self.label, &self.salt, &self.value)
            .is_ok_and(|made| made == *commitment)
    }
}

/// A field that is either public or only committed to.
#[derive(Debug, Clone, PartialEq)]
pub enum Disclosed<T> {
    /// Public.
    Clear(T),
    /// Salted commitment; the value is kept elsewhere.
    Committed(Commitment),
}

impl Disclosed<String> {
    fn write(&self, writer: &mut Writer, field: &'static str) -> Result<(), EncodeError> {
        match self {
            Disclosed::Clear(value) => {
                writer.u8(0);
                writer.str(field, value)
            }
            Disclosed::Committed(commitment) => {
                writer.u8(1);
                writer.hash(&commitment.0);
                Ok(())
            }
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if reader.tag()? {
            Ok(Disclosed::Committed(Commitment(reader.hash()?)))
        } else {
            Ok(Disclosed::Clear(reader.str()?))
        }
    }
}

/// Where a report says an event happened, as the public sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportLocation {
    /// The reported location, public.
    Clear(Location),
    /// A coarsened location for the public (the reporter's choice of
    /// rounding and a larger radius) and a commitment to the exact one.
    Committed {
        /// What the public sees.
        shown: Location,
        /// Commitment to the exact location (label `report.location`).
        commitment: Commitment,
    },
}

/// Who made a report, as the public sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRef {
    /// The kind of source (always public).
    pub kind: SourceKind,
    /// The source's id, or a commitment to it (label `report.source_id`).
    pub id: Disclosed<String>,
    /// The party the source speaks for (always public).
    pub party: Option<String>,
}

/// An agreement version: its identity and the digests of its text and of
/// every file it references (zones, site registries).
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementVersion {
    /// The agreement's id (shared by its versions).
    pub agreement_id: String,
    /// The version number.
    pub version: u32,
    /// `common` or the id of the party whose reading this is.
    pub interpretation: String,
    /// SHA-256 of the agreement file's bytes.
    pub text_sha256: ContentHash,
    /// `(path as referenced, SHA-256)` of each referenced file, sorted by
    /// path, without duplicates.
    pub files: Vec<(String, ContentHash)>,
}

/// A source and its signing key.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRegistration {
    /// The source's id.
    pub source_id: String,
    /// What kind of source.
    pub kind: SourceKind,
    /// The party it speaks for.
    pub party: Option<String>,
    /// Its Ed25519 public key.
    pub public_key: [u8; 32],
}

/// A report, with its text and attachments as content hashes and its
/// sensitive fields possibly committed (the fields of [`Report`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportEntry {
    /// The report's id.
    pub report_id: String,
    /// Who reports.
    pub source: SourceRef,
    /// When.
    pub time: TimeSpan,
    /// Where.
    pub location: ReportLocation,
    /// The place name as reported, or a commitment to it (label
    /// `report.place`).
    pub place: Option<Disclosed<String>>,
    /// What was done.
    pub action: ActionType,
    /// What was hit.
    pub target: Target,
    /// A protected site named by the report.
    pub site: Option<String>,
    /// Who the report says did it.
    pub accused: Option<String>,
    /// Actors named without a role.
    pub actors: Vec<String>,
    /// Claimed casualties.
    pub casualties: Casualties,
    /// SHA-256 of the free text (UTF-8), if there is any.
    pub text_sha256: Option<ContentHash>,
    /// SHA-256 of each piece of evidence, in the report's order.
    pub evidence: Vec<ContentHash>,
    /// How the report was filed with a service: `Some` makes the entry format version 2.
    /// Entries of format 1 leave it to a journal beside the log.
    pub filing: Option<Filing>,
}

/// How a report reached the log through a service (entry format 2): the agreement it was
/// filed under and the signed time of the request that brought it. With it, the agreement a
/// report counts under (and so every finding about it) follows from the log alone. Who
/// submitted it is not here: that is the source's identity, which the entry commits to
/// rather than shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filing {
    /// The agreement the report was filed under.
    pub agreement_id: String,
    /// The request's signed timestamp (Unix milliseconds).
    pub submitted_ms: i64,
}

/// What a review decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The reports are taken as describing a real event.
    Confirm,
    /// The reports are rejected.
    Reject,
    /// The event is attributed to this party (`None`: to nobody known).
    Reattribute(Option<String>),
    /// The reports describe one event.
    Merge,
    /// The reports describe separate events.
    Split,
}

/// A monitor's decision on reports, possibly answering a contest.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// The review's id.
    pub review_id: String,
    /// The reviewer (a monitor's source id).
    pub reviewer: String,
    /// When it was decided (Unix epoch milliseconds).
    pub at_ms: i64,
    /// The decision.
    pub decision: Decision,
    /// The reports it concerns.
    pub reports: Vec<String>,
    /// The contest it answers, if any.
    pub answers_contest: Option<String>,
    /// SHA-256 of the reasons' text, if any.
    pub reasons_sha256: Option<ContentHash>,
}

/// A source withdraws its own report; nothing is deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct Retraction {
    /// The source.
    pub source_id: String,
    /// The report withdrawn.
    pub report_id: String,
    /// When (Unix epoch milliseconds).
    pub at_ms: i64,
    /// SHA-256 of the reason's text, if any.
    pub reason_sha256: Option<ContentHash>,
}

/// The kind of an observation-coverage record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageKind {
    /// A patrol's track.
    Patrol,
    /// A fixed camera's field of view and uptime.
    FixedCamera,
    /// A drone flight.
    Drone,
    /// Monitors were denied access.
    AccessDenial,
    /// Monitoring was jammed.
    Jamming,
}

impl CoverageKind {
    const NAMES: [(CoverageKind, &'static str); 5] = [
        (CoverageKind::Patrol, "patrol"),
        (CoverageKind::FixedCamera, "fixed_camera"),
        (CoverageKind::Drone, "drone"),
        (CoverageKind::AccessDenial, "access_denial"),
        (CoverageKind::Jamming, "jamming"),
    ];

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(kind, _)| *kind == self)
            .map_or("patrol", |(_, name)| name)
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(kind, _)| *kind)
    }
}

/// Where and when monitors could see, or were stopped from seeing.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// The record's id.
    pub coverage_id: String,
    /// The observer (a monitor's source id).
    pub observer: String,
    /// What kind of record.
    pub kind: CoverageKind,
    /// When.
    pub time: TimeSpan,
    /// Bounding box of the area, `[west, south, east, north]` in degrees (the
    /// public extent; coarsen it if the exact area is sensitive).
    pub extent: [f64; 4],
    /// SHA-256 of the GeoJSON geometry, held elsewhere.
    pub area_sha256: ContentHash,
    /// The party that denied access or jammed, if any.
    pub restricted_by: Option<String>,
    /// SHA-256 of a note, if any.
    pub note_sha256: Option<ContentHash>,
}

/// A party disputes a finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Contest {
    /// The contest's id.
    pub contest_id: String,
    /// The party contesting.
    pub party: String,
    /// When (Unix epoch milliseconds).
    pub at_ms: i64,
    /// The agreement the finding is under.
    pub agreement_id: String,
    /// Its version.
    pub agreement_version: u32,
    /// Its interpretation.
    pub interpretation: String,
    /// The incident whose finding is contested.
    pub incident: String,
    /// The log size of the published assessment that holds the finding.
    pub log_size: u64,
    /// SHA-256 of the reasons' text.
    pub reasons_sha256: ContentHash,
    /// SHA-256 of each piece of evidence.
    pub evidence: Vec<ContentHash>,
}

/// A published assessment: which engine computed which findings from which
/// prefix of the log, so a verifier can recompute and compare.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedAssessment {
    /// The engine's version.
    pub engine_version: String,
    /// The agreement.
    pub agreement_id: String,
    /// Its version.
    pub agreement_version: u32,
    /// Its interpretation.
    pub interpretation: String,
    /// The log size the findings were computed at (entries `0 .. log_size`).
    pub log_size: u64,
    /// SHA-256 of the findings document.
    pub findings_sha256: ContentHash,
}

/// An entry of the truce log.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// Kind 1.
    AgreementVersion(AgreementVersion),
    /// Kind 2.
    SourceRegistration(SourceRegistration),
    /// Kind 3.
    Report(ReportEntry),
    /// Kind 4.
    Review(Review),
    /// Kind 5.
    Retraction(Retraction),
    /// Kind 6.
    Coverage(Coverage),
    /// Kind 7.
    Contest(Contest),
    /// Kind 8.
    PublishedAssessment(PublishedAssessment),
}

impl Entry {
    /// The kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            Entry::AgreementVersion(_) => 1,
            Entry::SourceRegistration(_) => 2,
            Entry::Report(_) => 3,
            Entry::Review(_) => 4,
            Entry::Retraction(_) => 5,
            Entry::Coverage(_) => 6,
            Entry::Contest(_) => 7,
            Entry::PublishedAssessment(_) => 8,
        }
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut writer = Writer::default();
        writer.u8(self.format_version());
        writer.u8(self.kind());
        match self {
            Entry::AgreementVersion(entry) => write_agreement(&mut writer, entry)?,
            Entry::SourceRegistration(entry) => write_source(&mut writer, entry)?,
            Entry::Report(entry) => write_report(&mut writer, entry)?,
            Entry::Review(entry) => write_review(&mut writer, entry)?,
            Entry::Retraction(entry) => write_retraction(&mut writer, entry)?,
            Entry::Coverage(entry) => write_coverage(&mut writer, entry)?,
            Entry::Contest(entry) => write_contest(&mut writer, entry)?,
            Entry::PublishedAssessment(entry) => write_assessment(&mut writer, entry)?,
        }
        if writer.bytes.len() > MAX_ENCODED_LEN {
            return Err(EncodeError::EntryTooLong {
                len: writer.bytes.len(),
            });
        }
        Ok(writer.bytes)
    }

    /// The format version the entry is encoded in: 2 for a report with its [`Filing`],
    /// 1 for everything else.
    pub fn format_version(&self) -> u8 {
        match self {
            Entry::Report(report) if report.filing.is_some() => FILED_REPORT_FORMAT_VERSION,
            _ => ENTRY_FORMAT_VERSION,
        }
    }

    /// Decodes canonical bytes; refuses an unknown version or kind, version 2 of any kind
    /// but a report, and any byte string that [`Entry::encode`] would not produce.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let version = reader.u8()?;
        if version != ENTRY_FORMAT_VERSION && version != FILED_REPORT_FORMAT_VERSION {
            return reader.fail(0, DecodeProblem::UnknownVersion(version));
        }
        let kind = reader.u8()?;
        if version == FILED_REPORT_FORMAT_VERSION && kind != 3 {
            return reader.fail(0, DecodeProblem::UnknownVersion(version));
        }
        let entry = match kind {
            1 => Entry::AgreementVersion(read_agreement(&mut reader)?),
            2 => Entry::SourceRegistration(read_source(&mut reader)?),
            3 => Entry::Report(read_report(
                &mut reader,
                version == FILED_REPORT_FORMAT_VERSION,
            )?),
            4 => Entry::Review(read_review(&mut reader)?),
            5 => Entry::Retraction(read_retraction(&mut reader)?),
            6 => Entry::Coverage(read_coverage(&mut reader)?),
            7 => Entry::Contest(read_contest(&mut reader)?),
            8 => Entry::PublishedAssessment(read_assessment(&mut reader)?),
            other => return reader.fail(1, DecodeProblem::UnknownKind(other)),
        };
        reader.finish()?;
        Ok(entry)
    }
}

/// The salts for the fields of a report to commit to instead of publishing.
/// Salts are 32 bytes the caller draws at random (this crate draws none).
#[derive(Clone, Default, PartialEq)]
pub struct ReportDisclosure {
    /// Commit to the source id with this salt.
    pub source_id: Option<[u8; 32]>,
    /// Commit to the exact location with this salt and show this location.
    pub location: Option<([u8; 32], Location)>,
    /// Commit to the place name with this salt.
    pub place: Option<[u8; 32]>,
}

impl fmt::Debug for ReportDisclosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportDisclosure")
            .field("source_id", &self.source_id.is_some())
            .field("location", &self.location.map(|(_, shown)| shown))
            .field("place", &self.place.is_some())
            .finish()
    }
}

/// The openings of a report's committed fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportOpenings {
    /// The source id.
    pub source_id: Option<Opening<String>>,
    /// The exact location.
    pub location: Option<Opening<Location>>,
    /// The place name.
    pub place: Option<Opening<String>>,
}

/// Commitment label of a report's source id.
pub const LABEL_SOURCE_ID: &str = "report.source_id";
/// Commitment label of a report's exact location.
pub const LABEL_LOCATION: &str = "report.location";
/// Commitment label of a report's place name.
pub const LABEL_PLACE: &str = "report.place";

impl ReportEntry {
    /// The log entry of a report: text and evidence become content hashes;
    /// the fields named in `disclosure` become commitments, whose openings
    /// are returned for the access-controlled store.
    pub fn from_report(
        report: &Report,
        disclosure: &ReportDisclosure,
    ) -> Result<(ReportEntry, ReportOpenings), EncodeError> {
        let mut openings = ReportOpenings::default();
        let id = match disclosure.source_id {
            Some(salt) => {
                let opening = Opening {
                    label: LABEL_SOURCE_ID,
                    salt,
                    value: report.source.id.to_string(),
                };
                let commitment = Commitment::commit(opening.label, &salt, &opening.value)?;
                openings.source_id = Some(opening);
                Disclosed::Committed(commitment)
            }
            None => Disclosed::Clear(report.source.id.to_string()),
        };
        let exact = canonical_location(report.location);
        let location = match disclosure.location {
            Some((salt, shown)) => {
                let opening = Opening {
                    label: LABEL_LOCATION,
                    salt,
                    value: exact,
                };
                let commitment = Commitment::commit(opening.label, &salt, &opening.value)?;
                openings.location = Some(opening);
                ReportLocation::Committed {
                    shown: canonical_location(shown),
                    commitment,
                }
            }
            None => ReportLocation::Clear(exact),
        };
        let place = match (&report.place(), disclosure.place) {
            (None, _) => None,
            (Some(place), None) => Some(Disclosed::Clear(place.to_string())),
            (Some(place), Some(salt)) => {
                let opening = Opening {
                    label: LABEL_PLACE,
                    salt,
                    value: place.to_string(),
                };
                let commitment = Commitment::commit(opening.label, &salt, &opening.value)?;
                openings.place = Some(opening);
                Some(Disclosed::Committed(commitment))
            }
        };
        let evidence = report
            .evidence()
            .iter()
            .map(|reference| ContentHash::from_evidence(reference))
            .collect::<Result<Vec<_>, _>>()?;
        let entry = ReportEntry {
            report_id: report.id.to_string(),
            source: SourceRef {
                kind: report.source.kind,
                id,
                party: report.source.party.as_ref().map(ToString::to_string),
            },
            time: report.time,
            location,
            place,
            action: report.action,
            target: report.target,
            site: report.site().map(ToString::to_string),
            accused: report.accused.as_ref().map(ToString::to_string),
            actors: report.actors().iter().map(ToString::to_string).collect(),
            casualties: report.casualties,
            text_sha256: (!report.text().is_empty())
                .then(|| ContentHash::of(report.text().as_bytes())),
            evidence,
            filing: None,
        };
        Ok((entry, openings))
    }

    /// The report as the public sees it: committed fields replaced by what
    /// is shown (the coarsened location; an empty source id and no place
    /// name when committed), the text empty (only its hash is logged), and
    /// evidence as `sha256:<hex>` references. Give the openings to restore
    /// the clear values.
    pub fn to_report(&self, openings: &ReportOpenings) -> Report {
        let source_id = match (&self.source.id, &openings.source_id) {
            (Disclosed::Clear(id), _) => id.clone(),
            (Disclosed::Committed(commitment), Some(opening)) if opening.opens(commitment) => {
                opening.value.clone()
            }
            (Disclosed::Committed(_), _) => String::new(),
        };
        let location = match (&self.location, &openings.location) {
            (ReportLocation::Clear(location), _) => *location,
            (ReportLocation::Committed { commitment, .. }, Some(opening))
                if opening.opens(commitment) =>
            {
                opening.value
            }
            (ReportLocation::Committed { shown, .. }, _) => *shown,
        };
        let place = match (&self.place, &openings.place) {
            (None, _) => None,
            (Some(Disclosed::Clear(place)), _) => Some(place.clone()),
            (Some(Disclosed::Committed(commitment)), Some(opening))
                if opening.opens(commitment) =>
            {
                Some(opening.value.clone())
            }
            (Some(Disclosed::Committed(_)), _) => None,
        };
        Report {
            id: self.report_id.clone().into(),
            source: std::sync::Arc::new(Source {
                id: source_id.into(),
                kind: self.source.kind,
                party: self.source.party.as_deref().map(SmolStr::new),
            }),
            time: self.time,
            location,
            action: self.action,
            target: self.target,
            accused: self.accused.as_deref().map(SmolStr::new),
            casualties: self.casualties,
            details: truce_model::ReportDetails {
                place: place.map(SmolStr::from),
                site: self.site.as_deref().map(SmolStr::new),
                actors: self.actors.iter().map(SmolStr::new).collect(),
                text: String::new(),
                evidence: self.evidence.iter().map(ContentHash::to_string).collect(),
            }
            .into(),
        }
    }
}

/// The location as it decodes: negative zero is written as zero.
fn canonical_location(location: Location) -> Location {
    let zero_is_positive = |value: f64| if value == 0.0 { 0.0 } else { value };
    Location {
        lon: zero_is_positive(location.lon),
        lat: zero_is_positive(location.lat),
        uncertainty_m: zero_is_positive(location.uncertainty_m),
    }
}

// --- writing ---

fn write_location(writer: &mut Writer, location: &Location) -> Result<(), EncodeError> {
    writer.f64("longitude", location.lon)?;
    writer.f64("latitude", location.lat)?;
    writer.f64("uncertainty_m", location.uncertainty_m)
}

fn write_time(writer: &mut Writer, time: &TimeSpan) {
    writer.i64(time.start_ms);
    writer.i64(time.end_ms);
}

fn write_str_list(
    writer: &mut Writer,
    field: &'static str,
    items: &[String],
) -> Result<(), EncodeError> {
    writer.count(field, items.len())?;
    for item in items {
        writer.str(field, item)?;
    }
    Ok(())
}

fn write_hash_list(
    writer: &mut Writer,
    field: &'static str,
    items: &[ContentHash],
) -> Result<(), EncodeError> {
    writer.count(field, items.len())?;
    for item in items {
        writer.hash(&item.0);
    }
    Ok(())
}

fn write_agreement(writer: &mut Writer, entry: &AgreementVersion) -> Result<(), EncodeError> {
    writer.str("agreement_id", &entry.agreement_id)?;
    writer.u32(entry.version);
    writer.str("interpretation", &entry.interpretation)?;
    writer.hash(&entry.text_sha256.0);
    if entry.files.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
        return Err(EncodeError::NotSorted { field: "files" });
    }
    writer.count("files", entry.files.len())?;
    for (path, hash) in &entry.files {
        writer.str("files", path)?;
        writer.hash(&hash.0);
    }
    Ok(())
}

fn write_source(writer: &mut Writer, entry: &SourceRegistration) -> Result<(), EncodeError> {
    writer.str("source_id", &entry.source_id)?;
    writer.str("kind", entry.kind.as_str())?;
    writer.opt_str("party", entry.party.as_deref())?;
    writer.hash(&entry.public_key);
    Ok(())
}

fn write_report(writer: &mut Writer, entry: &ReportEntry) -> Result<(), EncodeError> {
    writer.str("report_id", &entry.report_id)?;
    writer.str("source.kind", entry.source.kind.as_str())?;
    entry.source.id.write(writer, "source.id")?;
    writer.opt_str("source.party", entry.source.party.as_deref())?;
    write_time(writer, &entry.time);
    match &entry.location {
        ReportLocation::Clear(location) => {
            writer.u8(0);
            write_location(writer, location)?;
        }
        ReportLocation::Committed { shown, commitment } => {
            writer.u8(1);
            write_location(writer, shown)?;
            writer.hash(&commitment.0);
        }
    }
    match &entry.place {
        None => writer.u8(0),
        Some(place) => {
            writer.u8(1);
            place.write(writer, "place")?;
        }
    }
    writer.str("action", entry.action.as_str())?;
    writer.str("target", &entry.target.to_string())?;
    writer.opt_str("site", entry.site.as_deref())?;
    writer.opt_str("accused", entry.accused.as_deref())?;
    write_str_list(writer, "actors", &entry.actors)?;
    let casualties = &entry.casualties;
    for count in [
        casualties.civilian_killed,
        casualties.civilian_injured,
        casualties.military_killed,
        casualties.military_injured,
        casualties.unspecified_killed,
    ] {
        writer.u32(count);
    }
    writer.opt_hash(entry.text_sha256.as_ref().map(|hash| &hash.0));
    write_hash_list(writer, "evidence", &entry.evidence)?;
    if let Some(filing) = &entry.filing {
        writer.str("filing.agreement_id", &filing.agreement_id)?;
        writer.i64(filing.submitted_ms);
    }
    Ok(())
}

fn write_review(writer: &mut Writer, entry: &Review) -> Result<(), EncodeError> {
    writer.str("review_id", &entry.review_id)?;
    writer.str("reviewer", &entry.reviewer)?;
    writer.i64(entry.at_ms);
    match &entry.decision {
        Decision::Confirm => writer.str("decision", "confirm")?,
        Decision::Reject => writer.str("decision", "reject")?,
        Decision::Reattribute(party) => {
            writer.str("decision", "reattribute")?;
            writer.opt_str("decision.party", party.as_deref())?;
        }
        Decision::Merge => writer.str("decision", "merge")?,
        Decision::Split => writer.str("decision", "split")?,
    }
    write_str_list(writer, "reports", &entry.reports)?;
    writer.opt_str("answers_contest", entry.answers_contest.as_deref())?;
    writer.opt_hash(entry.reasons_sha256.as_ref().map(|hash| &hash.0));
    Ok(())
}

fn write_retraction(writer: &mut Writer, entry: &Retraction) -> Result<(), EncodeError> {
    writer.str("source_id", &entry.source_id)?;
    writer.str("report_id", &entry.report_id)?;
    writer.i64(entry.at_ms);
    writer.opt_hash(entry.reason_sha256.as_ref().map(|hash| &hash.0));
    Ok(())
}

fn write_coverage(writer: &mut Writer, entry: &Coverage) -> Result<(), EncodeError> {
    writer.str("coverage_id", &entry.coverage_id)?;
    writer.str("observer", &entry.observer)?;
    writer.str("kind", entry.kind.as_str())?;
    write_time(writer, &entry.time);
    for value in entry.extent {
        writer.f64("extent", value)?;
    }
    writer.hash(&entry.area_sha256.0);
    writer.opt_str("restricted_by", entry.restricted_by.as_deref())?;
    writer.opt_hash(entry.note_sha256.as_ref().map(|hash| &hash.0));
    Ok(())
}

fn write_contest(writer: &mut Writer, entry: &Contest) -> Result<(), EncodeError> {
    writer.str("contest_id", &entry.contest_id)?;
    writer.str("party", &entry.party)?;
    writer.i64(entry.at_ms);
    writer.str("agreement_id", &entry.agreement_id)?;
    writer.u32(entry.agreement_version);
    writer.str("interpretation", &entry.interpretation)?;
    writer.str("incident", &entry.incident)?;
    writer.u64(entry.log_size);
    writer.hash(&entry.reasons_sha256.0);
    write_hash_list(writer, "evidence", &entry.evidence)
}

fn write_assessment(writer: &mut Writer, entry: &PublishedAssessment) -> Result<(), EncodeError> {
    writer.str("engine_version", &entry.engine_version)?;
    writer.str("agreement_id", &entry.agreement_id)?;
    writer.u32(entry.agreement_version);
    writer.str("interpretation", &entry.interpretation)?;
    writer.u64(entry.log_size);
    writer.hash(&entry.findings_sha256.0);
    Ok(())
}

// --- reading ---

fn read_location(reader: &mut Reader<'_>) -> Result<Location, DecodeError> {
    Ok(Location {
        lon: reader.f64()?,
        lat: reader.f64()?,
        uncertainty_m: reader.f64()?,
    })
}

fn read_time(reader: &mut Reader<'_>) -> Result<TimeSpan, DecodeError> {
    Ok(TimeSpan {
        start_ms: reader.i64()?,
        end_ms: reader.i64()?,
    })
}

fn read_str_list(reader: &mut Reader<'_>) -> Result<Vec<String>, DecodeError> {
    let count = reader.count()?;
    (0..count).map(|_| reader.str()).collect()
}

fn read_hash_list(reader: &mut Reader<'_>) -> Result<Vec<ContentHash>, DecodeError> {
    let count = reader.count()?;
    (0..count).map(|_| reader.hash().map(ContentHash)).collect()
}

fn read_opt_content(reader: &mut Reader<'_>) -> Result<Option<ContentHash>, DecodeError> {
    Ok(reader.opt_hash()?.map(ContentHash))
}

/// Reads a vocabulary term, which must be in its canonical spelling.
fn read_term<T>(
    reader: &mut Reader<'_>,
    parse: impl Fn(&str) -> Option<T>,
    spell: impl Fn(&T) -> String,
) -> Result<T, DecodeError> {
    let start = reader.offset;
    let text = reader.str()?;
    match parse(&text) {
        Some(value) if spell(&value) == text => Ok(value),
        _ => reader.fail(start, DecodeProblem::UnknownTerm(text)),
    }
}

fn read_source_kind(reader: &mut Reader<'_>) -> Result<SourceKind, DecodeError> {
    read_term(
        reader,
        |text| text.parse().ok(),
        |kind: &SourceKind| kind.as_str().to_owned(),
    )
}

fn read_agreement(reader: &mut Reader<'_>) -> Result<AgreementVersion, DecodeError> {
    let agreement_id = reader.str()?;
    let version = reader.u32()?;
    let interpretation = reader.str()?;
    let text_sha256 = ContentHash(reader.hash()?);
    let count = reader.count()?;
    let mut files: Vec<(String, ContentHash)> = Vec::with_capacity(count);
    for _ in 0..count {
        let start = reader.offset;
        let path = reader.str()?;
        if files.last().is_some_and(|(last, _)| *last >= path) {
            return reader.fail(start, DecodeProblem::NotSorted("files"));
        }
        files.push((path, ContentHash(reader.hash()?)));
    }
    Ok(AgreementVersion {
        agreement_id,
        version,
        interpretation,
        text_sha256,
        files,
    })
}

fn read_source(reader: &mut Reader<'_>) -> Result<SourceRegistration, DecodeError> {
    Ok(SourceRegistration {
        source_id: reader.str()?,
        kind: read_source_kind(reader)?,
        party: reader.opt_str()?,
        public_key: reader.hash()?,
    })
}

fn read_report(reader: &mut Reader<'_>, filed: bool) -> Result<ReportEntry, DecodeError> {
    let report_id = reader.str()?;
    let kind = read_source_kind(reader)?;
    let id = Disclosed::read(reader)?;
    let party = reader.opt_str()?;
    let time = read_time(reader)?;
    let location = if reader.tag()? {
        let shown = read_location(reader)?;
        ReportLocation::Committed {
            shown,
            commitment: Commitment(reader.hash()?),
        }
    } else {
        ReportLocation::Clear(read_location(reader)?)
    };
    let place = if reader.tag()? {
        Some(Disclosed::read(reader)?)
    } else {
        None
    };
    let action = read_term(
        reader,
        |text| text.parse().ok(),
        |action: &ActionType| action.as_str().to_owned(),
    )?;
    let target = read_term(reader, |text| text.parse().ok(), Target::to_string)?;
    let site = reader.opt_str()?;
    let accused = reader.opt_str()?;
    let actors = read_str_list(reader)?;
    let casualties = Casualties {
        civilian_killed: reader.u32()?,
        civilian_injured: reader.u32()?,
        military_killed: reader.u32()?,
        military_injured: reader.u32()?,
        unspecified_killed: reader.u32()?,
    };
    let text_sha256 = read_opt_content(reader)?;
    let evidence = read_hash_list(reader)?;
    let filing = if filed {
        Some(Filing {
            agreement_id: reader.str()?,
            submitted_ms: reader.i64()?,
        })
    } else {
        None
    };
    Ok(ReportEntry {
        report_id,
        source: SourceRef { kind, id, party },
        time,
        location,
        place,
        action,
        target,
        site,
        accused,
        actors,
        casualties,
        text_sha256,
        evidence,
        filing,
    })
}

fn read_review(reader: &mut Reader<'_>) -> Result<Review, DecodeError> {
    let review_id = reader.str()?;
    let reviewer = reader.str()?;
    let at_ms = reader.i64()?;
    let start = reader.offset;
    let decision = match reader.str()?.as_str() {
        "confirm" => Decision::Confirm,
        "reject" => Decision::Reject,
        "reattribute" => Decision::Reattribute(reader.opt_str()?),
        "merge" => Decision::Merge,
        "split" => Decision::Split,
        other => return reader.fail(start, DecodeProblem::UnknownTerm(other.to_owned())),
    };
    Ok(Review {
        review_id,
        reviewer,
        at_ms,
        decision,
        reports: read_str_list(reader)?,
        answers_contest: reader.opt_str()?,
        reasons_sha256: read_opt_content(reader)?,
    })
}

fn read_retraction(reader: &mut Reader<'_>) -> Result<Retraction, DecodeError> {
    Ok(Retraction {
        source_id: reader.str()?,
        report_id: reader.str()?,
        at_ms: reader.i64()?,
        reason_sha256: read_opt_content(reader)?,
    })
}

fn read_coverage(reader: &mut Reader<'_>) -> Result<Coverage, DecodeError> {
    let coverage_id = reader.str()?;
    let observer = reader.str()?;
    let kind = read_term(reader, CoverageKind::from_name, |kind: &CoverageKind| {
        kind.as_str().to_owned()
    })?;
    let time = read_time(reader)?;
    let extent = [reader.f64()?, reader.f64()?, reader.f64()?, reader.f64()?];
    Ok(Coverage {
        coverage_id,
        observer,
        kind,
        time,
        extent,
        area_sha256: ContentHash(reader.hash()?),
        restricted_by: reader.opt_str()?,
        note_sha256: read_opt_content(reader)?,
    })
}

fn read_contest(reader: &mut Reader<'_>) -> Result<Contest, DecodeError> {
    Ok(Contest {
        contest_id: reader.str()?,
        party: reader.str()?,
        at_ms: reader.i64()?,
        agreement_id: reader.str()?,
        agreement_version: reader.u32()?,
        interpretation: reader.str()?,
        incident: reader.str()?,
        log_size: reader.u64()?,
        reasons_sha256: ContentHash(reader.hash()?),
        evidence: read_hash_list(reader)?,
    })
}

fn read_assessment(reader: &mut Reader<'_>) -> Result<PublishedAssessment, DecodeError> {
    Ok(PublishedAssessment {
        engine_version: reader.str()?,
        agreement_id: reader.str()?,
        agreement_version: reader.u32()?,
        interpretation: reader.str()?,
        log_size: reader.u64()?,
        findings_sha256: ContentHash(reader.hash()?),
    })
}

#[cfg(test)]
mod tests;
