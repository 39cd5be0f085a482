//! Agreements as data: the compiled, validated form of an agreement file.
//!
//! The file format (TOML) is documented in `docs/agreement-format.md`; [`load`] reads it,
//! resolves referenced zone files through a [`FileSource`], validates everything and returns
//! one [`Agreement`] per interpretation (the common text, plus each party's reading when the
//! file has `[interpretations.PARTY]` tables).

mod file;
mod geometry;
mod locate;
mod validity;

use std::collections::BTreeMap;
use std::fmt;

use geo_types::MultiPolygon;
use jiff::Timestamp;
use serde::Serialize;
use smol_str::SmolStr;

use crate::vocab::{ActionType, Target};

pub use file::load;
pub use geometry::{buffer_line_m, parse_zone_geojson};

/// Reads files referenced by an agreement (zone GeoJSON, lines, site geometry), relative to
/// the agreement file. The binary implements it over the file system; tests over a map.
pub trait FileSource {
    /// The bytes of `relative`, or an error message naming why they could not be read.
    fn read(&self, relative: &str) -> Result<Vec<u8>, String>;
}

/// A [`FileSource`] over an in-memory map, for tests and inline use.
#[derive(Debug, Clone, Default)]
pub struct MemoryFiles(pub BTreeMap<String, Vec<u8>>);

impl FileSource for MemoryFiles {
    fn read(&self, relative: &str) -> Result<Vec<u8>, String> {
        self.0
            .get(relative)
            .cloned()
            .ok_or_else(|| "no such file".to_string())
    }
}

/// One problem found in an agreement file or a file it references.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {key}: {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct AgreementError {
    /// The file at fault (the agreement or a referenced GeoJSON file).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// The key path (`window.end`, `zones[2].file`) or JSON path in a GeoJSON file.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// All problems found in one agreement file (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct AgreementErrors(pub Vec<AgreementError>);

/// Which parties, actions, targets or zones a rule covers: all of them, or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Selector<T> {
    /// Every value (written `["*"]`).
    All,
    /// Only these.
    Only(Vec<T>),
}

impl<T: PartialEq> Selector<T> {
    /// Whether `value` is selected.
    pub fn selects(&self, value: &T) -> bool {
        match self {
            Selector::All => true,
            Selector::Only(values) => values.contains(value),
        }
    }
}

impl Selector<String> {
    /// Whether the id is selected, without allocating.
    pub fn selects_id(&self, id: &str) -> bool {
        match self {
            Selector::All => true,
            Selector::Only(values) => values.iter().any(|v| v == id),
        }
    }
}

impl Selector<Target> {
    /// Whether a rule written for these targets covers `target` (`energy` covers its sub-kinds).
    pub fn covers(&self, target: Target) -> bool {
        match self {
            Selector::All => true,
            Selector::Only(values) => values.iter().any(|t| t.covers(target)),
        }
    }
}

/// A party to the agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    /// Short id used everywhere (`RU`, `UA`).
    pub id: SmolStr,
    /// Full name.
    pub name: SmolStr,
    /// Actor names that mean this party in reports (ACLED actor names, source ids).
    pub aliases: Vec<String>,
    /// When the agreement binds this party, if it differs from the window's start.
    pub start: Option<Timestamp>,
}

/// A prolongation agreed while the agreement was in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    /// The new exclusive end.
    pub end: Timestamp,
    /// What the extension says, for readers.
    pub note: String,
}

/// The agreement lapsed (or was terminated) before its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lapse {
    /// From this instant on nothing is binding.
    pub at: Timestamp,
    /// Why, for readers.
    pub reason: String,
}

/// A condition that must be met before the agreement takes effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// Id used in reasons.
    pub id: SmolStr,
    /// The condition's text.
    pub text: SmolStr,
    /// When it was met; `None` while it is not.
    pub met: Option<Timestamp>,
}

/// What happens to the other parties when one party violates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reciprocity {
    /// Every party stays bound whatever the others do.
    None,
    /// After the first established violation by a party, the other parties are released
    /// (their later acts are not violations).
    Release,
}

/// When the agreement binds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// The agreed start (inclusive).
    pub start: Timestamp,
    /// The agreed exclusive end, before extensions; `None` for open-ended agreements.
    pub end: Option<Timestamp>,
    /// The time zone the agreement was written in (IANA name), for display.
    pub time_zone: String,
    /// Prolongations.
    pub extensions: Vec<Extension>,
    /// An early lapse or termination.
    pub lapse: Option<Lapse>,
}

/// One polygonal area of a zone, for the parties and actions it applies to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneArea {
    /// The party whose obligations this area describes (`None`: every party).
    pub party: Option<String>,
    /// The actions this area applies to (`None`: every action). Used for zones whose depth
    /// depends on the weapon class, as Minsk II's withdrawal zones did.
    pub actions: Option<Vec<ActionType>>,
    /// The area, lon/lat degrees.
    #[serde(skip)]
    pub area: MultiPolygon<f64>,
    /// How the area was built, for readers (`file zones/x.geojson`, `buffer 15 km of ...`).
    pub origin: String,
}

/// A named zone: one area, or several areas for different parties and weapon classes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Zone {
    /// Id used in rules and reasons.
    pub id: SmolStr,
    /// Name for readers.
    pub name: SmolStr,
    /// Areas; an incident is in the zone for party P and action A when it is in an area
    /// that applies to P and A.
    pub areas: Vec<ZoneArea>,
}

impl Zone {
    /// The areas that apply to `party` (or to every party when `None`) and `action`.
    pub fn areas_for<'a>(
        &'a self,
        party: Option<&'a str>,
        action: ActionType,
    ) -> impl Iterator<Item = (usize, &'a ZoneArea)> + 'a {
        self.areas.iter().enumerate().filter(move |(_, area)| {
            let party_ok = match (&area.party, party) {
                (None, _) => true,
                (Some(p), Some(q)) => p == q,
                (Some(_), None) => true,
            };
            let action_ok = area.actions.as_ref().is_none_or(|a| a.contains(&action));
            party_ok && action_ok
        })
    }
}

/// A prohibition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Id used in findings (`R1`).
    pub id: SmolStr,
    /// The clause as written, for readers.
    pub text: SmolStr,
    /// Prohibited actions.
    pub actions: Selector<ActionType>,
    /// Protected targets.
    pub targets: Selector<Target>,
    /// Zones where the prohibition holds (ids), or everywhere.
    pub zones: Selector<String>,
    /// Parties bound by the rule.
    pub parties: Selector<String>,
}

/// An act that a rule would catch but the agreement permits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exception {
    /// Id used in findings.
    pub id: SmolStr,
    /// The clause as written.
    pub text: SmolStr,
    /// Actions excepted.
    pub actions: Selector<ActionType>,
    /// Targets excepted.
    pub targets: Selector<Target>,
    /// Zones where the exception holds.
    pub zones: Selector<String>,
}

/// The footprint of a protected site.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Footprint {
    /// Everything within `radius_m` metres (geodesic) of the site's point.
    Circle {
        /// Radius in metres.
        radius_m: f64,
    },
    /// A polygonal area, lon/lat degrees.
    Area(#[serde(skip)] MultiPolygon<f64>),
}

/// A protected site of the agreement's registry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    /// Id used in reports (`site` column) and findings.
    pub id: SmolStr,
    /// Name for readers.
    pub name: SmolStr,
    /// Its target category: an incident at the site takes this category.
    pub target: Target,
    /// Reference point, longitude.
    pub lon: f64,
    /// Reference point, latitude.
    pub lat: f64,
    /// Its footprint.
    pub footprint: Footprint,
}

/// What it takes for an allegation to count as established.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorroborationPolicy {
    /// Independent voices needed to establish an act (all sources of one party count as
    /// one voice).
    pub min_independent_sources: u32,
    /// Whether one monitor's report establishes an act on its own.
    pub monitor_alone_establishes: bool,
    /// Largest distance between two reports of one event, metres.
    pub max_distance_m: f64,
    /// Largest time gap between two reports of one event, seconds.
    pub max_time_gap_s: i64,
    /// Largest spatial extent of one incident, metres.
    pub max_extent_m: f64,
    /// Largest duration of one incident, seconds.
    pub max_duration_s: i64,
}

impl Default for CorroborationPolicy {
    fn default() -> Self {
        CorroborationPolicy {
            min_independent_sources: 2,
            monitor_alone_establishes: true,
            max_distance_m: 5_000.0,
            max_time_gap_s: 5_400,
            max_extent_m: 5_000.0,
            max_duration_s: 7_200,
        }
    }
}

/// A validated agreement under one interpretation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// Stable id of the agreement (all versions share it).
    pub id: String,
    /// Version number; an amendment is a new version.
    pub version: u32,
    /// Title.
    pub title: String,
    /// `common` for the agreed text, or the id of the party whose reading this is.
    pub interpretation: String,
    /// What this interpretation changes, for readers.
    pub interpretation_note: String,
    /// Free description and citations.
    pub description: String,
    /// The parties.
    pub parties: Vec<Party>,
    /// When it binds.
    pub window: Window,
    /// Conditions precedent.
    pub conditions: Vec<Condition>,
    /// Reciprocity clause.
    pub reciprocity: Reciprocity,
    /// Zones.
    pub zones: Vec<Zone>,
    /// Prohibitions.
    pub rules: Vec<Rule>,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
    /// Protected sites.
    pub sites: Vec<Site>,
    /// Actors the agreement does not cover (names as they appear in reports).
    pub excluded_actors: Vec<String>,
    /// Corroboration policy.
    pub corroboration: CorroborationPolicy,
}

/// Why a party is or is not bound at some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InForce {
    /// Bound during `[start, end)` (`end` `None`: open-ended).
    Between {
        /// Inclusive start.
        start: Timestamp,
        /// Exclusive end.
        end: Option<Timestamp>,
    },
    /// Never bound: a condition precedent is not met.
    ConditionUnmet {
        /// The condition's id.
        condition: SmolStr,
    },
}

impl Agreement {
    /// The party with this id.
    pub fn party(&self, id: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.id == id)
    }

    /// Resolves an actor name, source id or party id to a party id.
    pub fn resolve_party(&self, name: &str) -> Option<&str> {
        let name = name.trim();
        self.parties
            .iter()
            .find(|p| {
                p.id.eq_ignore_ascii_case(name)
                    || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
            })
            .map(|p| p.id.as_str())
    }

    /// Whether the actor is one the agreement does not cover.
    pub fn is_excluded_actor(&self, name: &str) -> bool {
        let name = name.trim();
        self.excluded_actors
            .iter()
            .any(|a| a.eq_ignore_ascii_case(name))
    }

    /// The exclusive end after extensions and lapse, if any.
    pub fn effective_end(&self) -> Option<Timestamp> {
        let extended = self
            .window
            .extensions
            .iter()
            .map(|e| e.end)
            .chain(self.window.end)
            .max()
            .filter(|_| self.window.end.is_some());
        match (&self.window.lapse, extended) {
            (Some(lapse), Some(end)) => Some(lapse.at.min(end)),
            (Some(lapse), None) => Some(lapse.at),
            (None, end) => end,
        }
    }

    /// When `party` is bound (before any reciprocity release).
    pub fn in_force_for(&self, party: &str) -> InForce {
        let mut start = self.window.start;
        for condition in &self.conditions {
            match condition.met {
                Some(met) => start = start.max(met),
                None => {
                    return InForce::ConditionUnmet {
                        condition: condition.id.clone(),
                    };
                }
            }
        }
        if let Some(own) = self.party(party).and_then(|p| p.start) {
            start = start.max(own);
        }
        InForce::Between {
            start,
            end: self.effective_end(),
        }
    }

    /// The zone with this id.
    pub fn zone(&self, id: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.id == id)
    }
}

impl fmt::Display for Agreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} v{} ({})", self.id, self.version, self.interpretation)
    }
}
