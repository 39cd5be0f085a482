//! Incident and report generation.

use std::io::Write;

use serde::{Deserialize, Serialize};
use truce_model::{
    ActionType, Casualties, EnergyKind, Location, Report, SmolStr, Source, SourceKind, Target,
    TargetKind, TimeSpan,
};

use crate::draw::{Draw, Stream};
use crate::error::SimError;
use crate::geography::{Geography, LineSide, offset};
use crate::scenario::{MEDIA_OUTLETS, OSINT_GROUPS, PUBLIC_REPORTERS, Scenario};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// What kind of event a report's incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// Fire across the line of contact.
    Front,
    /// A missile or drone strike on or near a city.
    DeepStrike,
    /// One of the incidents of a dense-shelling burst.
    Burst,
    /// An event that never happened, alleged by a party.
    Fabricated,
}

impl IncidentKind {
    /// The snake_case name used in CSV.
    pub const fn as_str(self) -> &'static str {
        match self {
            IncidentKind::Front => "front",
            IncidentKind::DeepStrike => "deep_strike",
            IncidentKind::Burst => "burst",
            IncidentKind::Fabricated => "fabricated",
        }
    }
}

/// The ground truth behind one report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthRecord {
    /// The report's id.
    pub report_id: String,
    /// The incident the report describes (`sim-0000123`; `sim-f0000012` for a fabricated
    /// one, which has exactly one report).
    pub incident_id: String,
    /// The party that really did it; `None` for a fabricated event.
    pub true_perpetrator: Option<String>,
    /// Whether the report describes an event that never happened.
    pub fabricated: bool,
    /// What kind of incident.
    pub kind: IncidentKind,
    /// The burst number (0-based) for burst incidents.
    pub burst: Option<u32>,
    /// The true instant (for a fabricated report: the instant it alleges), epoch ms.
    pub time_ms: i64,
    /// The true longitude (for a fabricated report: the alleged one).
    pub lon: f64,
    /// The true latitude (for a fabricated report: the alleged one).
    pub lat: f64,
    /// The true action.
    pub action: ActionType,
    /// The true target.
    pub target: Target,
    /// The true casualties.
    pub casualties: Casualties,
}

/// The output of [`simulate`]: reports and their truth, both sorted by report id and aligned
/// (`truth[i].report_id == reports[i].id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// The reports, sorted by id.
    pub reports: Vec<Report>,
    /// The ground truth of each report, in the same order.
    pub truth: Vec<TruthRecord>,
}

impl Simulation {
    /// The true incident id of every report, in report order: the reference partition for
    /// [`crate::adjusted_rand_index`].
    pub fn incident_labels(&self) -> Vec<&str> {
        self.truth.iter().map(|t| t.incident_id.as_str()).collect()
    }
}

// ---------------------------------------------------------------------------------------
// Tables. Weights need not sum to 1.

use ActionType as A;

fn target(kind: TargetKind) -> Target {
    Target::of(kind)
}
fn energy(kind: EnergyKind) -> Target {
    Target::energy(kind)
}

/// Actions of fire across the line, with the range (km) of the perpendicular offset from the
/// line at which they land.
const FRONT_ACTIONS: &[((ActionType, f64, f64), f64)] = &[
    ((A::Artillery, 2.0, 25.0), 0.45),
    ((A::Mortar, 0.5, 6.0), 0.15),
    ((A::Mlrs, 3.0, 25.0), 0.10),
    ((A::DroneStrike, 1.0, 20.0), 0.18),
    ((A::AirStrike, 5.0, 30.0), 0.06),
    ((A::SmallArms, 0.2, 3.0), 0.03),
    ((A::GroundAssault, 0.2, 3.0), 0.03),
];
const DEEP_ACTIONS: &[(ActionType, f64)] = &[(A::MissileStrike, 0.35), (A::DroneStrike, 0.65)];
const BURST_ACTIONS: &[(ActionType, f64)] = &[
    (A::Artillery, 0.60),
    (A::Mortar, 0.15),
    (A::Mlrs, 0.10),
    (A::DroneStrike, 0.10),
    (A::AirStrike, 0.05),
];
const FABRICATED_FRONT_ACTIONS: &[(ActionType, f64)] = &[
    (A::Artillery, 0.50),
    (A::Mortar, 0.15),
    (A::Mlrs, 0.15),
    (A::DroneStrike, 0.20),
];

fn front_targets() -> [(Target, f64); 8] {
    [
        (target(TargetKind::Military), 0.55),
        (target(TargetKind::CivilianResidential), 0.22),
        (target(TargetKind::CivilianInfrastructure), 0.08),
        (target(TargetKind::Transport), 0.06),
        (energy(EnergyKind::PowerTransmission), 0.04),
        (energy(EnergyKind::PowerGeneration), 0.01),
        (target(TargetKind::Medical), 0.02),
        (target(TargetKind::Education), 0.02),
    ]
}

fn deep_targets() -> [(Target, f64); 8] {
    [
        (energy(EnergyKind::PowerTransmission), 0.16),
        (energy(EnergyKind::PowerGeneration), 0.10),
        (energy(EnergyKind::OilRefinery), 0.08),
        (energy(EnergyKind::OilGasPipelineStorage), 0.06),
        (target(TargetKind::CivilianResidential), 0.25),
        (target(TargetKind::CivilianInfrastructure), 0.10),
        (target(TargetKind::Military), 0.15),
        (target(TargetKind::Transport), 0.10),
    ]
}

fn burst_targets() -> [(Target, f64); 6] {
    [
        (target(TargetKind::CivilianResidential), 0.45),
        (target(TargetKind::Military), 0.30),
        (target(TargetKind::CivilianInfrastructure), 0.15),
        (target(TargetKind::Transport), 0.04),
        (target(TargetKind::Medical), 0.03),
        (target(TargetKind::Education), 0.03),
    ]
}

fn fabricated_targets() -> [(Target, f64); 8] {
    [
        (target(TargetKind::CivilianResidential), 0.40),
        (target(TargetKind::CivilianInfrastructure), 0.15),
        (energy(EnergyKind::PowerTransmission), 0.10),
        (energy(EnergyKind::PowerGeneration), 0.05),
        (target(TargetKind::Medical), 0.05),
        (target(TargetKind::Education), 0.05),
        (target(TargetKind::Military), 0.10),
        (target(TargetKind::Unknown), 0.10),
    ]
}

/// Reports per incident.
const FRONT_REPORT_COUNTS: &[(u32, f64)] = &[(1, 0.35), (2, 0.30), (3, 0.20), (4, 0.15)];
const DEEP_REPORT_COUNTS: &[(u32, f64)] = &[(1, 0.10), (2, 0.30), (3, 0.30), (4, 0.30)];
const BURST_REPORT_COUNTS: &[(u32, f64)] = &[(1, 0.40), (2, 0.35), (3, 0.25)];

/// Deep strikes on energy land 3–15 km from the city centre, others within 8 km.
const DEEP_ENERGY_RING_M: (f64, f64) = (3_000.0, 15_000.0);
const DEEP_OTHER_RADIUS_M: f64 = 8_000.0;
/// A front incident is placed "near" the nearest city within this distance.
const PLACE_RADIUS_M: f64 = 20_000.0;
/// Share of fabricated accusations that allege a deep strike on a city.
const FABRICATED_DEEP_SHARE: f64 = 0.1;
/// Share of a burst's incidents caused by its main perpetrator.
const BURST_MAIN_SHARE: f64 = 0.85;
/// Candidate positions tried per burst incident before the best one is taken.
const BURST_PLACEMENT_TRIES: u32 = 400;

/// Per source kind: how it reports.
#[derive(Debug, Clone, Copy)]
struct Habits {
    radius_m: &'static [(f64, f64)],
    instant_share: f64,
    /// Standard deviation of an instant's error, minutes; errors are cut at 3 sigma.
    time_sigma_min: f64,
    interval_min: &'static [(i64, f64)],
    action_variant: f64,
    target_unknown: f64,
    /// Probability of naming a perpetrator (non-party sources; parties always do).
    names_perpetrator: f64,
    /// Probability of stating the true casualties (otherwise none are claimed).
    states_casualties: f64,
    evidence: f64,
    place: f64,
}

const FRONT_INTERVALS: &[(i64, f64)] = &[(15, 0.25), (30, 0.30), (60, 0.25), (120, 0.20)];
const BURST_INTERVALS: &[(i64, f64)] = &[(10, 0.40), (20, 0.40), (30, 0.20)];
const BURST_RADII: &[(f64, f64)] = &[(100.0, 0.35), (250.0, 0.50), (500.0, 0.15)];

const fn habits(kind: SourceKind) -> Habits {
    match kind {
        SourceKind::Monitor => Habits {
            radius_m: &[(100.0, 0.30), (250.0, 0.35), (500.0, 0.25), (1000.0, 0.10)],
            instant_share: 0.90,
            time_sigma_min: 2.0,
            interval_min: FRONT_INTERVALS,
            action_variant: 0.10,
            target_unknown: 0.10,
            names_perpetrator: 0.35,
            states_casualties: 0.85,
            evidence: 0.5,
            place: 0.75,
        },
        SourceKind::Party => Habits {
            radius_m: &[(250.0, 0.20), (500.0, 0.30), (1000.0, 0.30), (2000.0, 0.20)],
            instant_share: 0.75,
            time_sigma_min: 5.0,
            interval_min: FRONT_INTERVALS,
            action_variant: 0.15,
            target_unknown: 0.05,
            names_perpetrator: 1.0,
            states_casualties: 1.0,
            evidence: 0.1,
            place: 0.75,
        },
        SourceKind::Media => Habits {
            radius_m: &[(500.0, 0.20), (1000.0, 0.40), (2000.0, 0.40)],
            instant_share: 0.70,
            time_sigma_min: 8.0,
            interval_min: FRONT_INTERVALS,
            action_variant: 0.15,
            target_unknown: 0.15,
            names_perpetrator: 0.6,
            states_casualties: 0.8,
            evidence: 0.2,
            place: 0.75,
        },
        SourceKind::Osint => Habits {
            radius_m: &[(100.0, 0.40), (250.0, 0.40), (500.0, 0.20)],
            instant_share: 0.85,
            time_sigma_min: 3.0,
            interval_min: FRONT_INTERVALS,
            action_variant: 0.15,
            target_unknown: 0.20,
            names_perpetrator: 0.5,
            states_casualties: 0.4,
            evidence: 0.8,
            place: 0.75,
        },
        SourceKind::Public => Habits {
            radius_m: &[(250.0, 0.20), (500.0, 0.30), (1000.0, 0.30), (2000.0, 0.20)],
            instant_share: 0.60,
            time_sigma_min: 10.0,
            interval_min: FRONT_INTERVALS,
            action_variant: 0.20,
            target_unknown: 0.30,
            names_perpetrator: 0.5,
            states_casualties: 0.5,
            evidence: 0.3,
            place: 0.75,
        },
    }
}

/// Burst reports: street-level locations and tight times, whoever reports.
fn burst_habits(kind: SourceKind) -> Habits {
    Habits {
        radius_m: BURST_RADII,
        instant_share: 0.90,
        time_sigma_min: 2.5,
        interval_min: BURST_INTERVALS,
        action_variant: 0.10,
        ..habits(kind)
    }
}

/// Probability that a victim's party source inflates the casualties it reports.
const PARTY_INFLATION: f64 = 0.25;

// ---------------------------------------------------------------------------------------
// Sources and their selection.

/// A reporting channel in the selection pool. `Public` stands for all members of the public
/// (one report per incident at most; the person is drawn when it is picked).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    /// Party index, source index within the party.
    Party(usize, usize),
    Monitor(u32),
    Media(u32),
    Osint(u32),
    Public,
}

fn slots(scenario: &Scenario) -> Vec<Slot> {
    let mut slots = Vec::new();
    for (party_index, party) in scenario.parties.iter().enumerate() {
        for source_index in 0..party.sources.len() {
            slots.push(Slot::Party(party_index, source_index));
        }
    }
    slots.extend((1..=scenario.monitor_patrols).map(Slot::Monitor));
    slots.extend((1..=MEDIA_OUTLETS).map(Slot::Media));
    slots.extend((1..=OSINT_GROUPS).map(Slot::Osint));
    slots.push(Slot::Public);
    slots
}

/// Selection weights of the slots for an incident of `kind` by party `perpetrator`.
///
/// | slot | front | deep strike | burst |
/// | --- | --- | --- | --- |
/// | victim's main source | 3.0 | 3.0 | 3.0 |
/// | victim's other sources, each | 1.0 | 1.5 | 1.0 |
/// | perpetrator's sources | c × the victim's | c × | c × |
/// | monitoring patrols, together | 3.0 | 0.3 | 4.0 |
/// | media outlets, each | 0.4 | 1.0 | 0.4 |
/// | OSINT groups, each | 0.5 | 0.8 | 0.5 |
/// | the public | 0.8 | 1.2 | 0.8 |
///
/// (c = `contradicting_attribution_share`.)
fn slot_weights(
    scenario: &Scenario,
    slots: &[Slot],
    kind: IncidentKind,
    perpetrator: usize,
) -> Vec<f64> {
    let contradict = scenario.contradicting_attribution_share;
    let patrols = f64::from(scenario.monitor_patrols.max(1));
    let (other_party, monitors, media, osint, public) = match kind {
        IncidentKind::DeepStrike => (1.5, 0.3, 1.0, 0.8, 1.2),
        IncidentKind::Burst => (1.0, 4.0, 0.4, 0.5, 0.8),
        IncidentKind::Front | IncidentKind::Fabricated => (1.0, 3.0, 0.4, 0.5, 0.8),
    };
    slots
        .iter()
        .map(|slot| match *slot {
            Slot::Party(party, source) => {
                let base = if source == 0 { 3.0 } else { other_party };
                if party == perpetrator {
                    contradict * base
                } else {
                    base
                }
            }
            Slot::Monitor(_) => monitors / patrols,
            Slot::Media(_) => media,
            Slot::Osint(_) => osint,
            Slot::Public => public,
        })
        .collect()
}

/// Draws `count` distinct slots, each with probability proportional to its weight among
/// those not yet drawn.
fn draw_slots(draw: &mut Draw, slots: &[Slot], weights: &[f64], count: u32) -> Vec<Slot> {
    let mut remaining = weights.to_vec();
    let mut chosen = Vec::with_capacity(count as usize);
    for _ in 0..count {
        if remaining.iter().all(|w| *w <= 0.0) {
            break;
        }
        let index = draw.weighted(&remaining);
        chosen.push(slots[index]);
        remaining[index] = 0.0;
    }
    chosen
}

/// The scenario's source for a slot.
fn source_of(scenario: &Scenario, slot: Slot, draw: &mut Draw) -> Source {
    match slot {
        Slot::Party(party, source) => Source {
            id: scenario.parties[party].sources[source].clone().into(),
            kind: SourceKind::Party,
            party: Some(scenario.parties[party].id.clone().into()),
        },
        Slot::Monitor(n) => Source {
            id: format!("mission_patrol_{n}").into(),
            kind: SourceKind::Monitor,
            party: None,
        },
        Slot::Media(n) => Source {
            id: format!("media_{n}").into(),
            kind: SourceKind::Media,
            party: None,
        },
        Slot::Osint(n) => Source {
            id: format!("osint_{n}").into(),
            kind: SourceKind::Osint,
            party: None,
        },
        Slot::Public => {
            let person = draw.below(u64::from(PUBLIC_REPORTERS)) + 1;
            Source {
                id: format!("public_{person:03}").into(),
                kind: SourceKind::Public,
                party: None,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Expected sizes.

fn mean_count(table: &[(u32, f64)]) -> f64 {
    let total: f64 = table.iter().map(|(_, w)| w).sum();
    table.iter().map(|(k, w)| f64::from(*k) * w).sum::<f64>() / total
}

/// Expected party-source reports per incident, approximating drawing without replacement by
/// `1 - (1 - w/W)^k` per party slot.
fn expected_party_reports(scenario: &Scenario, kind: IncidentKind, counts: &[(u32, f64)]) -> f64 {
    let slots = slots(scenario);
    let weights = slot_weights(scenario, &slots, kind, 0);
    let total_weight: f64 = weights.iter().sum();
    let total_count: f64 = counts.iter().map(|(_, w)| w).sum();
    let mut expected = 0.0;
    for (count, count_weight) in counts {
        for (slot, weight) in slots.iter().zip(&weights) {
            if matches!(slot, Slot::Party(..)) {
                let mut miss = 1.0;
                for _ in 0..*count {
                    miss *= 1.0 - weight / total_weight;
                }
                expected += count_weight / total_count * (1.0 - miss);
            }
        }
    }
    expected
}

/// Expected true incidents of both parties outside bursts.
fn expected_background_incidents(scenario: &Scenario) -> f64 {
    let start = scenario.start_ms();
    let end = scenario.end_ms();
    let switch = scenario
        .truce_start
        .map_or(end, |t| t.as_millisecond())
        .clamp(start, end);
    let days_before = (switch - start) as f64 / DAY_MS as f64;
    let days_after = (end - switch) as f64 / DAY_MS as f64;
    scenario
        .parties
        .iter()
        .map(|p| p.rate_before * days_before + p.rate_after * days_after)
        .sum()
}

pub(crate) fn expected_burst_reports(scenario: &Scenario) -> f64 {
    f64::from(scenario.dense_bursts)
        * f64::from(scenario.burst_size)
        * mean_count(BURST_REPORT_COUNTS)
}

pub(crate) fn expected_reports(scenario: &Scenario) -> f64 {
    let incidents = expected_background_incidents(scenario);
    let deep = scenario.deep_strike_share;
    let per_incident =
        (1.0 - deep) * mean_count(FRONT_REPORT_COUNTS) + deep * mean_count(DEEP_REPORT_COUNTS);
    let party_per_incident = (1.0 - deep)
        * expected_party_reports(scenario, IncidentKind::Front, FRONT_REPORT_COUNTS)
        + deep * expected_party_reports(scenario, IncidentKind::DeepStrike, DEEP_REPORT_COUNTS);
    let burst_incidents = f64::from(scenario.dense_bursts) * f64::from(scenario.burst_size);
    let party_reports = incidents * party_per_incident
        + burst_incidents
            * expected_party_reports(scenario, IncidentKind::Burst, BURST_REPORT_COUNTS);
    incidents * per_incident
        + expected_burst_reports(scenario)
        + scenario.false_accusation_share * party_reports
}

// ---------------------------------------------------------------------------------------
// True incidents.

#[derive(Debug, Clone)]
struct Incident<'g> {
    /// Generation order, the tie-breaker of equal times.
    sequence: u64,
    time_ms: i64,
    /// Party index of the perpetrator (for a fabricated event: of the accused).
    perpetrator: usize,
    kind: IncidentKind,
    burst: Option<u32>,
    lon: f64,
    lat: f64,
    action: ActionType,
    target: Target,
    casualties: Casualties,
    place: Option<&'g str>,
}

/// Hour-of-day intensity, mean 1 over a day: `night` from 17:00 to 03:00 UTC.
fn hour_weight(night: f64, hour_of_day: i64) -> f64 {
    if !(3..17).contains(&hour_of_day) {
        night
    } else {
        (24.0 - 10.0 * night) / 14.0
    }
}

fn is_civilian(target: Target) -> bool {
    !matches!(target.kind, TargetKind::Military | TargetKind::Unknown)
}

/// True civilian casualties: with probability `p` someone is hurt: killed ~ geometric with
/// mean 0.6, injured 1 + geometric with mean 1.5.
fn true_casualties(draw: &mut Draw, target: Target, p: f64) -> Casualties {
    if !is_civilian(target) || !draw.chance(p) {
        return Casualties::default();
    }
    Casualties {
        civilian_killed: draw.geometric(0.6),
        civilian_injured: 1 + draw.geometric(1.5),
        ..Casualties::default()
    }
}

/// A uniform point in the ring `[inner, outer]` metres around a centre, by rejection (no
/// trigonometry).
fn point_in_ring(draw: &mut Draw, lon: f64, lat: f64, inner: f64, outer: f64) -> (f64, f64) {
    loop {
        let east = draw.uniform(-outer, outer);
        let north = draw.uniform(-outer, outer);
        let squared = east * east + north * north;
        if squared <= outer * outer && squared >= inner * inner {
            return offset(lon, lat, east, north);
        }
    }
}

struct Generator<'g> {
    scenario: &'g Scenario,
    geography: &'g Geography,
    sequence: u64,
}

impl<'g> Generator<'g> {
    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Fire by `perpetrator` across the line, landing on the other side.
    fn front_incident(
        &mut self,
        draw: &mut Draw,
        time_ms: i64,
        perpetrator: usize,
    ) -> Incident<'g> {
        let victim_side = self.scenario.parties[perpetrator].controls.opposite();
        let (action, min_km, max_km) = draw.pick(FRONT_ACTIONS);
        let point = self.geography.point_at(draw.unit(), victim_side);
        let distance = draw.uniform(min_km, max_km) * 1000.0;
        let (lon, lat) = offset(
            point.lon,
            point.lat,
            point.normal.0 * distance,
            point.normal.1 * distance,
        );
        let target = draw.pick(&front_targets());
        let casualties = true_casualties(draw, target, 0.2);
        let place = self
            .geography
            .nearest_city(lon, lat, PLACE_RADIUS_M)
            .map(|c| c.name.as_str());
        Incident {
            sequence: self.next_sequence(),
            time_ms,
            perpetrator,
            kind: IncidentKind::Front,
            burst: None,
            lon,
            lat,
            action,
            target,
            casualties,
            place,
        }
    }

    /// A missile or drone strike by `perpetrator` at one of its target cities.
    fn deep_incident(&mut self, draw: &mut Draw, time_ms: i64, perpetrator: usize) -> Incident<'g> {
        let targets = &self.scenario.parties[perpetrator].deep_strike_targets;
        let name = &targets[draw.below(targets.len() as u64) as usize];
        let action = draw.pick(DEEP_ACTIONS);
        let target = draw.pick(&deep_targets());
        let (lon, lat, place) = match self.geography.city(name) {
            Some(city) => {
                let (inner, outer) = if target.kind == TargetKind::Energy {
                    DEEP_ENERGY_RING_M
                } else {
                    (0.0, DEEP_OTHER_RADIUS_M)
                };
                let (lon, lat) = point_in_ring(draw, city.lon, city.lat, inner, outer);
                (lon, lat, Some(city.name.as_str()))
            }
            // Validation has checked every name; a missing one falls back to the front.
            None => return self.front_incident(draw, time_ms, perpetrator),
        };
        let casualties = true_casualties(draw, target, 0.4);
        Incident {
            sequence: self.next_sequence(),
            time_ms,
            perpetrator,
            kind: IncidentKind::DeepStrike,
            burst: None,
            lon,
            lat,
            action,
            target,
            casualties,
            place,
        }
    }

    /// Poisson incidents per party and hour piece (hours split at the truce start).
    fn background(&mut self, draw: &mut Draw) -> Vec<Incident<'g>> {
        let scenario = self.scenario;
        let start = scenario.start_ms();
        let end = scenario.end_ms();
        let truce = scenario.truce_start.map(|t| t.as_millisecond());
        let mut incidents = Vec::new();
        let mut hour_start = start;
        while hour_start < end {
            let hour_end = (hour_start + HOUR_MS).min(end);
            let weight = hour_weight(
                scenario.night_weight,
                hour_start.div_euclid(HOUR_MS).rem_euclid(24),
            );
            let pieces = match truce {
                Some(t) if t > hour_start && t < hour_end => [(hour_start, t), (t, hour_end)],
                _ => [(hour_start, hour_end), (hour_end, hour_end)],
            };
            for (piece_start, piece_end) in pieces {
                if piece_end <= piece_start {
                    continue;
                }
                let under_truce = truce.is_some_and(|t| piece_start >= t);
                let days = (piece_end - piece_start) as f64 / DAY_MS as f64;
                for perpetrator in 0..2 {
                    let party = &scenario.parties[perpetrator];
                    let rate = if under_truce {
                        party.rate_after
                    } else {
                        party.rate_before
                    };
                    let count = draw.poisson(rate * weight * days);
                    for _ in 0..count {
                        let time_ms =
                            piece_start + draw.below((piece_end - piece_start) as u64) as i64;
                        let incident = if draw.chance(scenario.deep_strike_share) {
                            self.deep_incident(draw, time_ms, perpetrator)
                        } else {
                            self.front_incident(draw, time_ms, perpetrator)
                        };
                        incidents.push(incident);
                    }
                }
            }
            hour_start = hour_end;
        }
        incidents
    }

    /// The dense-shelling bursts: `burst_size` incidents over one day in a disk around a
    /// town, spaced apart when close in time.
    fn bursts(&mut self, draw: &mut Draw) -> Vec<Incident<'g>> {
        let scenario = self.scenario;
        let mut incidents = Vec::new();
        for burst in 0..scenario.dense_bursts {
            let name = &scenario.burst_towns[burst as usize % scenario.burst_towns.len()];
            let Some(town) = self.geography.city(name) else {
                continue;
            };
            let day = draw.below(u64::from(scenario.days)) as i64;
            let day_start = scenario.start_ms() + day * DAY_MS;
            let main = draw.below(2) as usize;
            let mut times: Vec<i64> = (0..scenario.burst_size)
                .map(|_| day_start + draw.below(DAY_MS as u64) as i64)
                .collect();
            times.sort_unstable();
            let window = i64::from(scenario.burst_separation_window_min) * MINUTE_MS;
            let radius = scenario.burst_radius_m;
            let separation = scenario.burst_min_separation_m;
            let first = incidents.len();
            let mut window_start = first;
            for time_ms in times {
                while window_start < incidents.len() {
                    let earlier: &Incident = &incidents[window_start];
                    if time_ms - earlier.time_ms > window {
                        window_start += 1;
                    } else {
                        break;
                    }
                }
                let neighbours = &incidents[window_start..];
                let mut best = (town.lon, town.lat, f64::NEG_INFINITY);
                for _ in 0..BURST_PLACEMENT_TRIES {
                    let (lon, lat) = point_in_ring(draw, town.lon, town.lat, 0.0, radius);
                    let nearest = neighbours
                        .iter()
                        .map(|n: &Incident| {
                            crate::geography::local_distance(lon, lat, n.lon, n.lat)
                        })
                        .fold(f64::INFINITY, f64::min);
                    if nearest > best.2 {
                        best = (lon, lat, nearest);
                    }
                    if nearest >= separation {
                        break;
                    }
                }
                let perpetrator = if draw.chance(BURST_MAIN_SHARE) {
                    main
                } else {
                    1 - main
                };
                let action = draw.pick(BURST_ACTIONS);
                let target = draw.pick(&burst_targets());
                let casualties = true_casualties(draw, target, 0.15);
                incidents.push(Incident {
                    sequence: self.next_sequence(),
                    time_ms,
                    perpetrator,
                    kind: IncidentKind::Burst,
                    burst: Some(burst),
                    lon: best.0,
                    lat: best.1,
                    action,
                    target,
                    casualties,
                    place: Some(town.name.as_str()),
                });
            }
        }
        incidents
    }

    /// A fabricated accusation by `accuser`: an event on its own side (at the front or in one
    /// of its cities the other party targets) that never happened.
    fn fabricated_incident(
        &mut self,
        draw: &mut Draw,
        time_ms: i64,
        accuser: usize,
    ) -> Incident<'g> {
        let accused = 1 - accuser;
        let scenario = self.scenario;
        let cities = &scenario.parties[accused].deep_strike_targets;
        let deep_city = if !cities.is_empty() && draw.chance(FABRICATED_DEEP_SHARE) {
            self.geography
                .city(&cities[draw.below(cities.len() as u64) as usize])
        } else {
            None
        };
        let target = draw.pick(&fabricated_targets());
        let (lon, lat, action, place) = match deep_city {
            Some(city) => {
                let (lon, lat) = point_in_ring(draw, city.lon, city.lat, 0.0, DEEP_OTHER_RADIUS_M);
                (lon, lat, draw.pick(DEEP_ACTIONS), Some(city.name.as_str()))
            }
            None => {
                let side: LineSide = scenario.parties[accuser].controls;
                let point = self.geography.point_at(draw.unit(), side);
                let distance = draw.uniform(1.0, 20.0) * 1000.0;
                let (lon, lat) = offset(
                    point.lon,
                    point.lat,
                    point.normal.0 * distance,
                    point.normal.1 * distance,
                );
                let place = self
                    .geography
                    .nearest_city(lon, lat, PLACE_RADIUS_M)
                    .map(|c| c.name.as_str());
                (lon, lat, draw.pick(FABRICATED_FRONT_ACTIONS), place)
            }
        };
        let casualties = true_casualties(draw, target, 0.3);
        Incident {
            sequence: self.next_sequence(),
            time_ms,
            perpetrator: accused,
            kind: IncidentKind::Fabricated,
            burst: None,
            lon,
            lat,
            action,
            target,
            casualties,
            place,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reports.

/// Draws the report's location: a truncated normal error with sigma = radius / 2, cut at
/// 0.98 × radius so the true point lies inside the stated disk even by geodesic distance.
fn report_location(draw: &mut Draw, incident: &Incident, radius_m: f64) -> Location {
    let sigma = radius_m / 2.0;
    let limit = 0.98 * radius_m;
    let (east, north) = loop {
        let east = sigma * draw.normal();
        let north = sigma * draw.normal();
        if east * east + north * north <= limit * limit {
            break (east, north);
        }
    };
    let (lon, lat) = offset(incident.lon, incident.lat, east, north);
    Location {
        lon: lon.clamp(-180.0, 180.0),
        lat: lat.clamp(-90.0, 90.0),
        uncertainty_m: radius_m,
    }
}

/// Draws the report's time: an instant with a normal error cut at 3 sigma, or an interval of
/// whole minutes that holds the true instant. Clamped into the scenario period.
fn report_time(draw: &mut Draw, habits: &Habits, time_ms: i64, period: (i64, i64)) -> TimeSpan {
    let span = if draw.chance(habits.instant_share) {
        let sigma_ms = habits.time_sigma_min * MINUTE_MS as f64;
        let error = loop {
            let z = draw.normal();
            if z.abs() <= 3.0 {
                break (z * sigma_ms).round() as i64;
            }
        };
        // Sources write whole seconds.
        TimeSpan::instant((time_ms + error).div_euclid(1000) * 1000)
    } else {
        // Whole minutes, `width` long, holding the true instant at a uniform position.
        let width = draw.pick(habits.interval_min);
        let shift = draw.below(width as u64) as i64;
        let start = (time_ms.div_euclid(MINUTE_MS) - shift) * MINUTE_MS;
        TimeSpan {
            start_ms: start,
            end_ms: start + width * MINUTE_MS,
        }
    };
    let (first, last) = period;
    TimeSpan {
        start_ms: span.start_ms.clamp(first, last),
        end_ms: span.end_ms.clamp(first, last),
    }
}

fn report_action(draw: &mut Draw, truth: ActionType, p: f64) -> ActionType {
    if !draw.chance(p) {
        return truth;
    }
    let variants: Vec<ActionType> = ActionType::ALL
        .iter()
        .copied()
        .filter(|a| *a != truth && truth.compatible(*a))
        .collect();
    if variants.is_empty() {
        truth
    } else {
        variants[draw.below(variants.len() as u64) as usize]
    }
}

fn report_target(draw: &mut Draw, truth: Target, p_unknown: f64) -> Target {
    if draw.chance(p_unknown) {
        Target::of(TargetKind::Unknown)
    } else if truth.energy.is_some() && draw.chance(0.3) {
        Target::of(TargetKind::Energy)
    } else {
        truth
    }
}

struct ReportContext<'a> {
    scenario: &'a Scenario,
    period: (i64, i64),
}

impl ReportContext<'_> {
    /// One report of `incident` by `source`, numbered `id`.
    fn report(&self, draw: &mut Draw, incident: &Incident, source: Source, id: String) -> Report {
        let scenario = self.scenario;
        let kind = source.kind;
        let habits = if incident.kind == IncidentKind::Burst {
            burst_habits(kind)
        } else {
            habits(kind)
        };
        let radius_m = draw.pick(habits.radius_m);
        let location = report_location(draw, incident, radius_m);
        let time = report_time(draw, &habits, incident.time_ms, self.period);
        let action = report_action(draw, incident.action, habits.action_variant);
        let target = report_target(draw, incident.target, habits.target_unknown);
        let perpetrator = &scenario.parties[incident.perpetrator].id;
        let other = &scenario.parties[1 - incident.perpetrator].id;
        let accused = match (&source.party, kind) {
            // A party always blames the other: true when it is the victim, a counter-accusation
            // when its own side fired.
            (Some(party), _) => Some(if party == other {
                perpetrator.clone()
            } else {
                other.clone()
            }),
            (None, SourceKind::Monitor) => draw
                .chance(habits.names_perpetrator)
                .then(|| perpetrator.clone()),
            (None, _) => draw.chance(habits.names_perpetrator).then(|| {
                if draw.chance(scenario.contradicting_attribution_share) {
                    other.clone()
                } else {
                    perpetrator.clone()
                }
            }),
        };
        let is_victim_party = source.party.as_deref() == Some(other.as_str());
        let mut casualties = if draw.chance(habits.states_casualties) {
            incident.casualties
        } else {
            Casualties::default()
        };
        if is_victim_party && casualties.total() > 0 && draw.chance(PARTY_INFLATION) {
            casualties.civilian_injured += 1 + draw.geometric(1.0);
        }
        let place = incident
            .place
            .filter(|_| draw.chance(habits.place))
            .map(SmolStr::new);
        let evidence = if draw.chance(habits.evidence) {
            vec![format!("sha256:{}", draw.hex32())]
        } else {
            Vec::new()
        };
        Report {
            id: id.into(),
            source: source.into(),
            time,
            location,
            action,
            target,
            accused: accused.map(SmolStr::from),
            casualties,
            details: truce_model::ReportDetails {
                place,
                site: None,
                actors: Vec::new(),
                text: String::new(),
                evidence,
            }
            .into(),
        }
    }
}

fn truth_record(
    scenario: &Scenario,
    incident: &Incident,
    incident_id: &str,
    report_id: String,
) -> TruthRecord {
    let fabricated = incident.kind == IncidentKind::Fabricated;
    TruthRecord {
        report_id,
        incident_id: incident_id.to_string(),
        true_perpetrator: (!fabricated).then(|| scenario.parties[incident.perpetrator].id.clone()),
        fabricated,
        kind: incident.kind,
        burst: incident.burst,
        time_ms: incident.time_ms,
        lon: incident.lon,
        lat: incident.lat,
        action: incident.action,
        target: incident.target,
        casualties: incident.casualties,
    }
}

/// Runs a scenario: true incidents, their reports, fabricated accusations and the truth.
///
/// Deterministic: the same scenario (seed included) gives identical output on every
/// machine. Fails only on an invalid scenario (see [`Scenario::validate`]).
pub fn simulate(scenario: &Scenario) -> Result<Simulation, SimError> {
    let geography = Geography::embedded()?;
    simulate_with(scenario, &geography)
}

/// [`simulate`] with geography parsed once by the caller.
pub fn simulate_with(scenario: &Scenario, geography: &Geography) -> Result<Simulation, SimError> {
    scenario.validate(geography)?;
    let mut generator = Generator {
        scenario,
        geography,
        sequence: 0,
    };
    let mut incidents = generator.background(&mut Draw::new(scenario.seed, Stream::Incidents));
    incidents.extend(generator.bursts(&mut Draw::new(scenario.seed, Stream::Bursts)));
    incidents.sort_by_key(|incident| (incident.time_ms, incident.sequence));

    let period = (scenario.start_ms(), scenario.end_ms() - 1);
    let context = ReportContext { scenario, period };
    let slots = slots(scenario);
    let mut reports = Vec::new();
    let mut truth = Vec::new();
    let mut draw = Draw::new(scenario.seed, Stream::Reports);
    let mut party_reports: u64 = 0;
    for (index, incident) in incidents.iter().enumerate() {
        let incident_id = format!("sim-{:07}", index + 1);
        let counts = match incident.kind {
            IncidentKind::DeepStrike => DEEP_REPORT_COUNTS,
            IncidentKind::Burst => BURST_REPORT_COUNTS,
            IncidentKind::Front | IncidentKind::Fabricated => FRONT_REPORT_COUNTS,
        };
        let count = draw.pick(counts);
        let weights = slot_weights(scenario, &slots, incident.kind, incident.perpetrator);
        for (number, slot) in draw_slots(&mut draw, &slots, &weights, count)
            .into_iter()
            .enumerate()
        {
            let source = source_of(scenario, slot, &mut draw);
            if source.kind == SourceKind::Party {
                party_reports += 1;
            }
            let report_id = format!("{incident_id}-{}", number + 1);
            truth.push(truth_record(
                scenario,
                incident,
                &incident_id,
                report_id.clone(),
            ));
            reports.push(context.report(&mut draw, incident, source, report_id));
        }
    }

    // Fabricated accusations, spread uniformly over the period.
    let mut draw = Draw::new(scenario.seed, Stream::Fabricated);
    let n_fabricated = (scenario.false_accusation_share * party_reports as f64).round() as u64;
    let span = (scenario.end_ms() - scenario.start_ms()) as u64;
    let mut fabricated: Vec<Incident> = (0..n_fabricated)
        .map(|_| {
            let time_ms = scenario.start_ms() + draw.below(span) as i64;
            let accuser = draw.below(2) as usize;
            generator.fabricated_incident(&mut draw, time_ms, accuser)
        })
        .collect();
    fabricated.sort_by_key(|incident| (incident.time_ms, incident.sequence));
    for (index, incident) in fabricated.iter().enumerate() {
        let incident_id = format!("sim-f{:07}", index + 1);
        let accuser = &scenario.parties[1 - incident.perpetrator];
        let source_index = if accuser.sources.len() == 1 || draw.chance(0.7) {
            0
        } else {
            1 + draw.below(accuser.sources.len() as u64 - 1) as usize
        };
        let source = Source {
            id: accuser.sources[source_index].clone().into(),
            kind: SourceKind::Party,
            party: Some(accuser.id.clone().into()),
        };
        let report_id = format!("{incident_id}-1");
        truth.push(truth_record(
            scenario,
            incident,
            &incident_id,
            report_id.clone(),
        ));
        reports.push(context.report(&mut draw, incident, source, report_id));
    }

    let mut pairs: Vec<(Report, TruthRecord)> = reports.into_iter().zip(truth).collect();
    pairs.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    let (reports, truth) = pairs.into_iter().unzip();
    Ok(Simulation { reports, truth })
}

// ---------------------------------------------------------------------------------------
// Truth as CSV.

fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        std::borrow::Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Writes the truth as CSV with a header: `report_id, incident_id, true_perpetrator,
/// fabricated, kind, burst, time, time_ms, lon, lat, action, target, civilian_killed,
/// civilian_injured`. Empty fields for `None`; `time` in RFC 3339 UTC; floats in Rust's
/// shortest round-trip form (the same text on every machine).
pub fn write_truth_csv(truth: &[TruthRecord], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "report_id,incident_id,true_perpetrator,fabricated,kind,burst,time,time_ms,lon,lat,action,target,civilian_killed,civilian_injured"
    )?;
    for record in truth {
        let time = jiff::Timestamp::from_millisecond(record.time_ms)
            .map(|t| t.to_string())
            .unwrap_or_default();
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&record.report_id),
            csv_field(&record.incident_id),
            csv_field(record.true_perpetrator.as_deref().unwrap_or("")),
            record.fabricated,
            record.kind.as_str(),
            record.burst.map(|b| b.to_string()).unwrap_or_default(),
            time,
            record.time_ms,
            record.lon,
            record.lat,
            record.action,
            record.target,
            record.casualties.civilian_killed,
            record.casualties.civilian_injured,
        )?;
    }
    Ok(())
}
