//! A report: one source's claim about one event.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use crate::vocab::{ActionType, SourceKind, Target};

/// Who made a report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Source {
    /// A stable identifier of the source (`osce_smm`, `ua_gs`, a key id once reports are signed).
    pub id: SmolStr,
    /// What kind of source it is.
    pub kind: SourceKind,
    /// The party the source speaks for, if any (always set for `party` sources).
    pub party: Option<SmolStr>,
}

/// When an event happened: an instant known to lie in the closed interval `[start_ms, end_ms]`
/// (Unix epoch milliseconds, UTC). An exactly known instant has `start_ms == end_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TimeSpan {
    /// Earliest possible instant.
    pub start_ms: i64,
    /// Latest possible instant (inclusive).
    pub end_ms: i64,
}

impl TimeSpan {
    /// An exactly known instant.
    pub const fn instant(ms: i64) -> Self {
        TimeSpan {
            start_ms: ms,
            end_ms: ms,
        }
    }

    /// The middle of the interval.
    pub const fn midpoint_ms(self) -> i64 {
        self.start_ms + (self.end_ms - self.start_ms) / 2
    }

    /// The interval's length in milliseconds.
    pub const fn width_ms(self) -> i64 {
        self.end_ms - self.start_ms
    }
}

/// Where an event happened: a WGS84 point (degrees) and the radius in metres of the disk
/// the event is known to lie in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Longitude in degrees, -180..=180.
    pub lon: f64,
    /// Latitude in degrees, -90..=90.
    pub lat: f64,
    /// Uncertainty radius in metres (0 = exact).
    pub uncertainty_m: f64,
}

/// Casualties a report claims. Counts are the report's own; corroborated totals are taken
/// per incident (the maximum over its reports, never the sum: two reports of one event
/// count its dead once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Casualties {
    /// Civilians killed.
    pub civilian_killed: u32,
    /// Civilians injured.
    pub civilian_injured: u32,
    /// Combatants killed.
    pub military_killed: u32,
    /// Combatants injured.
    pub military_injured: u32,
    /// Killed, not said whether civilian or combatant (ACLED's `fatalities`).
    pub unspecified_killed: u32,
}

impl Casualties {
    /// Element-wise maximum.
    pub fn max(self, other: Casualties) -> Casualties {
        Casualties {
            civilian_killed: self.civilian_killed.max(other.civilian_killed),
            civilian_injured: self.civilian_injured.max(other.civilian_injured),
            military_killed: self.military_killed.max(other.military_killed),
            military_injured: self.military_injured.max(other.military_injured),
            unspecified_killed: self.unspecified_killed.max(other.unspecified_killed),
        }
    }

    /// Element-wise sum (saturating).
    pub fn saturating_sum(self, other: Casualties) -> Casualties {
        Casualties {
            civilian_killed: self.civilian_killed.saturating_add(other.civilian_killed),
            civilian_injured: self.civilian_injured.saturating_add(other.civilian_injured),
            military_killed: self.military_killed.saturating_add(other.military_killed),
            military_injured: self.military_injured.saturating_add(other.military_injured),
            unspecified_killed: self
                .unspecified_killed
                .saturating_add(other.unspecified_killed),
        }
    }

    /// Everyone killed or injured.
    pub fn total(self) -> u64 {
        u64::from(self.civilian_killed)
            + u64::from(self.civilian_injured)
            + u64::from(self.military_killed)
            + u64::from(self.military_injured)
            + u64::from(self.unspecified_killed)
    }
}

/// One source's claim about one event. Reports are immutable: a correction is a new report
/// and a retraction of the old one.
///
/// What most reports leave empty — a place name, a site, actors, free text, evidence — is in
/// [`ReportDetails`], held apart so that a report is small (a million of them are held at
/// once in a batch run); read it with [`Report::place`], [`Report::site`] and the like.
///
/// A report is 128 bytes, aligned to 64: in a vector each report fills exactly two cache
/// lines. With the allocator's usual 16-byte alignment most reports straddled three, and
/// corroboration and judging read reports in an order far from the vector's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[repr(align(64))]
pub struct Report {
    /// Unique among all reports of an assessment.
    pub id: SmolStr,
    /// Who reports. Shared: the reports of one source hold one copy of it.
    pub source: Arc<Source>,
    /// When.
    pub time: TimeSpan,
    /// Where.
    pub location: Location,
    /// What was done.
    pub action: ActionType,
    /// What was hit.
    pub target: Target,
    /// Who the report says did it: a party id, an actor name the agreement maps to a party,
    /// or `None` when the report does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accused: Option<SmolStr>,
    /// Claimed casualties.
    #[serde(default)]
    pub casualties: Casualties,
    /// Place, site, actors, text and evidence.
    #[serde(flatten)]
    pub details: Details,
}

/// The parts of a report that most reports leave empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportDetails {
    /// A place name as reported, kept for readers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<SmolStr>,
    /// The id of a protected site named by the report, if any (looked up in the agreement's
    /// site registry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SmolStr>,
    /// Named actors involved whose role the source does not state (ACLED's actor1/actor2,
    /// whose order says nothing about who attacked whom).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<SmolStr>,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Hashes of evidence held elsewhere (`sha256:<hex>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

impl ReportDetails {
    /// Whether every part is empty.
    pub fn is_empty(&self) -> bool {
        self.place.is_none()
            && self.site.is_none()
            && self.actors.is_empty()
            && self.text.is_empty()
            && self.evidence.is_empty()
    }
}

/// A report's [`ReportDetails`]: nothing allocated when they are all empty (one pointer in
/// the report), and shared between copies of the report (copying a report copies no text).
/// Two values compare equal when their details do, however they were built.
#[derive(Debug, Clone, Default)]
pub struct Details(Option<Arc<ReportDetails>>);

/// The details of a report that has none.
static NO_DETAILS: ReportDetails = ReportDetails {
    place: None,
    site: None,
    actors: Vec::new(),
    text: String::new(),
    evidence: Vec::new(),
};

impl Details {
    /// The details (all empty when there are none).
    pub fn get(&self) -> &ReportDetails {
        self.0.as_deref().unwrap_or(&NO_DETAILS)
    }

    /// The details, to change them (copied first if another report shares them).
    pub fn make_mut(&mut self) -> &mut ReportDetails {
        Arc::make_mut(self.0.get_or_insert_with(Arc::default))
    }
}

impl From<ReportDetails> for Details {
    fn from(details: ReportDetails) -> Self {
        if details.is_empty() {
            Details(None)
        } else {
            Details(Some(Arc::new(details)))
        }
    }
}

impl PartialEq for Details {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Serialize for Details {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Details {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ReportDetails::deserialize(deserializer).map(Details::from)
    }
}

impl Report {
    /// A place name as reported.
    pub fn place(&self) -> Option<&str> {
        self.details.get().place.as_deref()
    }

    /// The id of a protected site the report names.
    pub fn site(&self) -> Option<&str> {
        self.details.get().site.as_deref()
    }

    /// Actors named without a role.
    pub fn actors(&self) -> &[SmolStr] {
        &self.details.get().actors
    }

    /// Free text.
    pub fn text(&self) -> &str {
        &self.details.get().text
    }

    /// Evidence references (`sha256:<hex>`).
    pub fn evidence(&self) -> &[String] {
        &self.details.get().evidence
    }
}

/// Id order, the order every merged set of reports is held in: by the ids' bytes, ties broken
/// by the caller (the file and row a report was read from).
pub mod id_order {
    use std::cmp::Ordering;
    use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

    use rayon::prelude::*;

    /// The first 16 bytes of an id as a big-endian integer, zero-padded: the integers of two
    /// ids compare as their first 16 bytes do (a shorter id before its extensions).
    pub fn id_prefix(id: &str) -> u128 {
        let mut bytes = [0u8; 16];
        let head = &id.as_bytes()[..id.len().min(16)];
        bytes[..head.len()].copy_from_slice(head);
        u128::from_be_bytes(bytes)
    }

    /// The order of items `0..n` by id (`id_of`), equal ids by `tie` on the items' indices;
    /// `None` when the items are in that order already. Each id's first 16 bytes are read once
    /// into an integer, so the sort compares integers held side by side instead of following
    /// each id's pointer; ids that share those bytes fall back to the full comparison.
    pub fn order_by_id<'a>(
        n: usize,
        id_of: impl Fn(usize) -> &'a str + Sync,
        tie: impl Fn(u32, u32) -> Ordering + Sync,
    ) -> Option<Vec<u32>> {
        assert!(n <= u32::MAX as usize, "at most {} items", u32::MAX);
        let full = |a: u32, b: u32| {
            id_of(a as usize)
                .cmp(id_of(b as usize))
                .then_with(|| tie(a, b))
        };
        // Items often come in order already (a reader that reads in id order): that is
        // checked on the ids themselves, before any key is built.
        let in_order = (1..n)
            .into_par_iter()
            .with_min_len(4096)
            .all(|index| full(index as u32 - 1, index as u32).is_le());
        if in_order {
            return None;
        }
        if let Some(order) = order_short_ids(n, &id_of, &full) {
            return Some(order);
        }
        let mut keys: Vec<(u128, u32)> = (0..n)
            .into_par_iter()
            .map(|index| (id_prefix(id_of(index)), index as u32))
            .collect();
        keys.par_sort_unstable_by(|&(ka, a), &(kb, b)| ka.cmp(&kb).then_with(|| full(a, b)));
        Some(keys.into_iter().map(|(_, index)| index).collect())
    }

    /// The longest id [`order_short_ids`] packs into one integer with its index.
    const SHORT_ID_BYTES: usize = 12;

    /// [`order_by_id`] when every id has at most [`SHORT_ID_BYTES`] bytes (`None` otherwise):
    /// each item becomes one integer, its id's bytes above its index, so the sort compares
    /// plain integers half the size of a key and an index side by side. Equal integers' high
    /// parts mean equal ids: those runs (repeated ids) are put in `full`'s order after.
    fn order_short_ids<'a>(
        n: usize,
        id_of: &(impl Fn(usize) -> &'a str + Sync),
        full: &(impl Fn(u32, u32) -> Ordering + Sync),
    ) -> Option<Vec<u32>> {
        let too_long = AtomicBool::new(false);
        let mut keys: Vec<u128> = Vec::new();
        (0..n)
            .into_par_iter()
            .map(|index| {
                let id = id_of(index);
                if id.len() > SHORT_ID_BYTES {
                    too_long.store(true, AtomicOrdering::Relaxed);
                }
                // The prefix's last four bytes are zero for an id this short.
                id_prefix(id) | index as u128
            })
            .collect_into_vec(&mut keys);
        if too_long.into_inner() {
            return None;
        }
        keys.par_sort_unstable();
        let id_part = |key: u128| key >> 32;
        let mut order: Vec<u32> = keys.par_iter().map(|&key| key as u32).collect();
        if !keys
            .par_windows(2)
            .with_min_len(4096)
            .any(|pair| id_part(pair[0]) == id_part(pair[1]))
        {
            return Some(order);
        }
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && id_part(keys[end]) == id_part(keys[start]) {
                end += 1;
            }
            if end - start > 1 {
                order[start..end].sort_by(|&a, &b| full(a, b));
            }
            start = end;
        }
        Some(order)
    }
}

/// The canonical byte encoding of reports that their digest is computed over.
///
/// One encoding per report value, independent of the input format it was read from:
/// strings are a 4-byte big-endian length and their UTF-8 bytes; an absent optional value is
/// the byte `0`, a present one `1` and the value; lists are a 4-byte count and their items;
/// integers are big-endian; coordinates and the radius are the IEEE 754 bits of the `f64`,
/// big-endian; vocabulary terms are their canonical spelling. The fields come in this order
/// (the order of the report format's columns): id, source (id, kind, party), time (start, end), location
/// (lon, lat, uncertainty), place, action, target (category, energy sub-kind), site,
/// accused, actors, casualties (civilian killed, civilian injured, military killed,
/// military injured, unspecified killed), text, evidence.
pub mod canonical {
    use super::Report;

    /// The label the digest of a report set starts with; a new encoding gets a new label.
    pub const REPORT_SET_LABEL: &[u8] = b"truce/report-set/v1\n";

    fn text(out: &mut Vec<u8>, value: &str) {
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(value.as_bytes());
    }

    fn optional(out: &mut Vec<u8>, value: Option<&str>) {
        match value {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                text(out, value);
            }
        }
    }

    fn list<S: AsRef<str>>(out: &mut Vec<u8>, values: &[S]) {
        out.extend_from_slice(&(values.len() as u32).to_be_bytes());
        for value in values {
            text(out, value.as_ref());
        }
    }

    /// Appends the canonical encoding of `report` to `out`.
    pub fn encode(report: &Report, out: &mut Vec<u8>) {
        text(out, &report.id);
        text(out, &report.source.id);
        text(out, report.source.kind.as_str());
        optional(out, report.source.party.as_deref());
        out.extend_from_slice(&report.time.start_ms.to_be_bytes());
        out.extend_from_slice(&report.time.end_ms.to_be_bytes());
        out.extend_from_slice(&report.location.lon.to_bits().to_be_bytes());
        out.extend_from_slice(&report.location.lat.to_bits().to_be_bytes());
        out.extend_from_slice(&report.location.uncertainty_m.to_bits().to_be_bytes());
        optional(out, report.place());
        text(out, report.action.as_str());
        text(out, report.target.kind.as_str());
        optional(out, report.target.energy.map(|energy| energy.as_str()));
        optional(out, report.site());
        optional(out, report.accused.as_deref());
        list(out, report.actors());
        let casualties = &report.casualties;
        for count in [
            casualties.civilian_killed,
            casualties.civilian_injured,
            casualties.military_killed,
            casualties.military_injured,
            casualties.unspecified_killed,
        ] {
            out.extend_from_slice(&count.to_be_bytes());
        }
        text(out, report.text());
        list(out, report.evidence());
    }

    /// The bytes a report set's digest is taken over: [`REPORT_SET_LABEL`], then for each
    /// report in the order given, the length of its encoding (4 bytes, big-endian) and the
    /// encoding. Handed to `sink` in pieces of about 64 KiB, so a caller can hash a million
    /// reports without holding their encodings.
    pub fn encode_set<'r>(
        reports: impl IntoIterator<Item = &'r Report>,
        mut sink: impl FnMut(&[u8]),
    ) {
        const PIECE: usize = 64 * 1024;
        let mut piece = Vec::with_capacity(PIECE + 1024);
        piece.extend_from_slice(REPORT_SET_LABEL);
        for report in reports {
            // Encoded in place after room for its length, which is filled in after.
            let at = piece.len();
            piece.extend_from_slice(&[0; 4]);
            encode(report, &mut piece);
            let length = (piece.len() - at - 4) as u32;
            piece[at..at + 4].copy_from_slice(&length.to_be_bytes());
            if piece.len() >= PIECE {
                sink(&piece);
                piece.clear();
            }
        }
        sink(&piece);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::canonical::{REPORT_SET_LABEL, encode, encode_set};
    use super::*;
    use crate::vocab::{ActionType, EnergyKind, SourceKind, Target, TargetKind};

    proptest::proptest! {
        /// Short ids (packed with their index) and long ones (a key and an index side by
        /// side) are put in the order of sorting by id, then by the caller's tie-break; so
        /// are repeated ids, ids differing only in trailing NUL bytes, and multi-byte text.
        #[test]
        fn order_by_id_is_the_sorted_order(
            ids in proptest::collection::vec(
                proptest::string::string_regex("(a|b|\\x00|é|z9|[0-9]{1,7}){0,6}").expect("a valid pattern"),
                0..200,
            ),
            ranks in proptest::collection::vec(proptest::prelude::any::<u32>(), 200),
        ) {
            let tie = |a: u32, b: u32| ranks[a as usize].cmp(&ranks[b as usize]).then(a.cmp(&b));
            let mut expected: Vec<u32> = (0..ids.len() as u32).collect();
            expected.sort_by(|&a, &b| ids[a as usize].cmp(&ids[b as usize]).then_with(|| tie(a, b)));
            let got = super::id_order::order_by_id(ids.len(), |i| ids[i].as_str(), tie)
                .unwrap_or_else(|| (0..ids.len() as u32).collect());
            proptest::prop_assert_eq!(got, expected);
        }
    }

    /// Two whole cache lines per report (see [`Report`]); a field added to `Report` that
    /// pushes it past 128 bytes should go into [`ReportDetails`] instead.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_report_fills_two_cache_lines() {
        assert_eq!(std::mem::align_of::<Report>(), 64);
        assert_eq!(std::mem::size_of::<Report>(), 128);
        let reports: Vec<Report> = (0..2).map(|_| sample()).collect();
        assert_eq!(reports.as_ptr() as usize % 64, 0);
    }

    fn sample() -> Report {
        Report {
            id: "r-1".into(),
            source: Source {
                id: "ua_gs".into(),
                kind: SourceKind::Party,
                party: Some("UA".into()),
            }
            .into(),
            time: TimeSpan {
                start_ms: 1_741_651_200_000,
                end_ms: 1_741_651_260_000,
            },
            location: Location {
                lon: 35.1,
                lat: 47.8,
                uncertainty_m: 500.0,
            },
            action: ActionType::DroneStrike,
            target: Target {
                kind: TargetKind::Energy,
                energy: Some(EnergyKind::PowerTransmission),
            },
            accused: Some("RU".into()),
            casualties: Casualties {
                civilian_injured: 2,
                ..Casualties::default()
            },
            details: crate::ReportDetails {
                place: Some("Zaporizhzhia".into()),
                site: None,
                actors: vec!["a".into()],
                text: "text".into(),
                evidence: Vec::new(),
            }
            .into(),
        }
    }

    fn encoded(report: &Report) -> Vec<u8> {
        let mut out = Vec::new();
        encode(report, &mut out);
        out
    }

    #[test]
    fn every_field_changes_the_encoding() {
        let base = encoded(&sample());
        let changes: Vec<fn(&mut Report)> = vec![
            |r| r.id = "r-2".into(),
            |r| Arc::make_mut(&mut r.source).id = "ua_gs2".into(),
            |r| Arc::make_mut(&mut r.source).kind = SourceKind::Monitor,
            |r| Arc::make_mut(&mut r.source).party = None,
            |r| r.time.start_ms -= 1,
            |r| r.time.end_ms += 1,
            |r| r.location.lon = 35.100_000_000_000_01,
            |r| r.location.lat = -47.8,
            |r| r.location.uncertainty_m = 0.0,
            |r| r.details.make_mut().place = None,
            |r| r.action = ActionType::MissileStrike,
            |r| r.target.kind = TargetKind::Medical,
            |r| r.target.energy = None,
            |r| r.details.make_mut().site = Some("s".into()),
            |r| r.accused = None,
            |r| r.details.make_mut().actors.clear(),
            |r| r.casualties.civilian_killed = 1,
            |r| r.casualties.unspecified_killed = 1,
            |r| r.details.make_mut().text.clear(),
            |r| r.details.make_mut().evidence.push("sha256:00".into()),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut report = sample();
            change(&mut report);
            assert_ne!(
                encoded(&report),
                base,
                "change {i} left the encoding as it was"
            );
        }
        assert_eq!(encoded(&sample()), base);
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        // Moving a character from one string to the next must change the encoding.
        let mut a = sample();
        a.id = "ab".into();
        Arc::make_mut(&mut a.source).id = "c".into();
        let mut b = sample();
        b.id = "a".into();
        Arc::make_mut(&mut b.source).id = "bc".into();
        assert_ne!(encoded(&a), encoded(&b));
    }

    #[test]
    fn the_set_encoding_is_label_then_length_prefixed_reports_whatever_the_pieces() {
        let mut second = sample();
        second.id = "r-2".into();
        second.details.make_mut().text = "x".repeat(70_000);
        let reports = [sample(), second.clone(), sample()];
        let mut pieces = Vec::new();
        encode_set(&reports, |piece| pieces.push(piece.to_vec()));
        assert!(
            pieces.len() >= 2,
            "a 70 kB report spills into a second piece"
        );
        let joined: Vec<u8> = pieces.concat();
        let mut expected = REPORT_SET_LABEL.to_vec();
        for report in &reports {
            let bytes = encoded(report);
            expected.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            expected.extend_from_slice(&bytes);
        }
        assert_eq!(joined, expected);
    }
}
