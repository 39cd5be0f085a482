//! A report: one source's claim about one event.

use serde::{Deserialize, Serialize};

use crate::vocab::{ActionType, SourceKind, Target};

/// Who made a report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Source {
    /// A stable identifier of the source (`osce_smm`, `ua_gs`, a key id once reports are signed).
    pub id: String,
    /// What kind of source it is.
    pub kind: SourceKind,
    /// The party the source speaks for, if any (always set for `party` sources).
    pub party: Option<String>,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Unique among all reports of an assessment.
    pub id: String,
    /// Who reports.
    pub source: Source,
    /// When.
    pub time: TimeSpan,
    /// Where.
    pub location: Location,
    /// A place name as reported, kept for readers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// What was done.
    pub action: ActionType,
    /// What was hit.
    pub target: Target,
    /// The id of a protected site named by the report, if any (looked up in the agreement's
    /// site registry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Who the report says did it: a party id, an actor name the agreement maps to a party,
    /// or `None` when the report does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accused: Option<String>,
    /// Named actors involved whose role the source does not state (ACLED's actor1/actor2,
    /// whose order says nothing about who attacked whom).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<String>,
    /// Claimed casualties.
    #[serde(default)]
    pub casualties: Casualties,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Hashes of evidence held elsewhere (`sha256:<hex>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}
