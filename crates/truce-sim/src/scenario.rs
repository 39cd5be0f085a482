//! Scenario parameters, the shipped presets and their validation.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use truce_model::{Source, SourceKind};

use crate::error::SimError;
use crate::geography::{Geography, LineSide};

/// One party to the conflict as the simulator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartySpec {
    /// The party id used in reports' `accused` and sources' `party` (`RU`, `UA`).
    pub id: String,
    /// The party's reporting sources; the first is its main channel (a general staff or
    /// ministry), the others report less often.
    pub sources: Vec<String>,
    /// The side of the line of contact the party holds. Its fire lands on the other side.
    pub controls: LineSide,
    /// Mean true incidents per day this party causes before the truce starts.
    pub rate_before: f64,
    /// Mean true incidents per day this party causes from the truce start on.
    pub rate_after: f64,
    /// Cities (names in `cities.csv`) this party's deep strikes aim at.
    pub deep_strike_targets: Vec<String>,
}

/// Everything that decides a simulation. The same scenario gives byte-identical output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// A label for people.
    pub name: String,
    /// The seed of every random draw.
    pub seed: u64,
    /// The start of the simulated period (inclusive).
    pub start: Timestamp,
    /// The period's length in days of 24 hours.
    pub days: u32,
    /// When the truce starts, if there is one: incident rates switch from `rate_before` to
    /// `rate_after` at this instant.
    pub truce_start: Option<Timestamp>,
    /// The two parties.
    pub parties: [PartySpec; 2],
    /// Probability that a true (non-burst) incident is a deep strike on a city rather than
    /// fire across the line of contact.
    pub deep_strike_share: f64,
    /// Relative incident intensity at night (17:00–03:00 UTC, i.e. 20:00–06:00 in Kyiv in
    /// summer) against a daily mean of 1; the day hours get what keeps the mean at 1.
    /// 1.0 means no night bias; at most 2.4.
    pub night_weight: f64,
    /// Fabricated accusations, as a share of the genuine party-source reports: 0.1 adds one
    /// report of an event that never happened for every ten genuine party reports.
    pub false_accusation_share: f64,
    /// Probability that an attribution contradicts the truth: a non-party source naming a
    /// perpetrator names the wrong party, and the weight of the perpetrator's own sources
    /// (which blame the other side) relative to the victim's.
    pub contradicting_attribution_share: f64,
    /// The number of dense-shelling bursts.
    pub dense_bursts: u32,
    /// True incidents per burst, all within one day.
    pub burst_size: u32,
    /// Towns the bursts hit, in turn (burst `i` hits town `i mod len`).
    pub burst_towns: Vec<String>,
    /// Radius in metres of the disk around the town centre a burst's incidents fall in.
    pub burst_radius_m: f64,
    /// Burst incidents less than `burst_separation_window_min` minutes apart are placed at
    /// least this many metres apart (best effort: see the crate docs).
    pub burst_min_separation_m: f64,
    /// The time window of `burst_min_separation_m`, in minutes.
    pub burst_separation_window_min: u32,
    /// The number of monitoring-mission patrols (`mission_patrol_1` ...).
    pub monitor_patrols: u32,
}

/// Media outlets (`media_1` ...).
pub(crate) const MEDIA_OUTLETS: u32 = 3;
/// Open-source investigators (`osint_1` ...).
pub(crate) const OSINT_GROUPS: u32 = 2;
/// Members of the public who report (`public_001` ...).
pub(crate) const PUBLIC_REPORTERS: u32 = 40;

const DAY_MS: i64 = 86_400_000;

fn party(
    id: &str,
    sources: &[&str],
    controls: LineSide,
    rate_before: f64,
    rate_after: f64,
    targets: &[&str],
) -> PartySpec {
    PartySpec {
        id: id.to_string(),
        sources: sources.iter().map(|s| s.to_string()).collect(),
        controls,
        rate_before,
        rate_after,
        deep_strike_targets: targets.iter().map(|s| s.to_string()).collect(),
    }
}

fn default_parties() -> [PartySpec; 2] {
    [
        party(
            "RU",
            &["ru_mod", "ru_regional"],
            LineSide::Right,
            30.0,
            5.0,
            &[
                "Kyiv",
                "Kharkiv",
                "Odesa",
                "Dnipro",
                "Zaporizhzhia",
                "Sumy",
                "Chernihiv",
                "Mykolaiv",
                "Kramatorsk",
                "Sloviansk",
                "Kherson",
                "Nikopol",
            ],
        ),
        party(
            "UA",
            &["ua_gs", "ua_regional"],
            LineSide::Left,
            24.0,
            4.0,
            &[
                "Belgorod",
                "Kursk",
                "Bryansk",
                "Shebekino",
                "Donetsk",
                "Luhansk",
                "Horlivka",
                "Melitopol",
                "Berdiansk",
                "Sevastopol",
                "Simferopol",
            ],
        ),
    ]
}

fn default_burst_towns() -> Vec<String> {
    [
        "Toretsk",
        "Chasiv Yar",
        "Pokrovsk",
        "Kostiantynivka",
        "Huliaipole",
        "Kupiansk",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Scenario {
    /// A hypothetical 30-day general ceasefire from 11 March 2025: 60 days from 9 February
    /// 2025, the truce starting at 00:00 UTC on day 30. RU causes 30 incidents a day before
    /// and 5 under the truce, UA 24 and 4; 7 % deep strikes; one dense-shelling burst of 200
    /// incidents. About 4,700 reports.
    pub fn default_scenario(seed: u64) -> Scenario {
        Scenario {
            name: "default".to_string(),
            seed,
            start: Timestamp::constant(1_739_059_200, 0),
            days: 60,
            truce_start: Some(Timestamp::constant(1_741_651_200, 0)),
            parties: default_parties(),
            deep_strike_share: 0.07,
            night_weight: 1.4,
            false_accusation_share: 0.1,
            contradicting_attribution_share: 0.1,
            dense_bursts: 1,
            burst_size: 200,
            burst_towns: default_burst_towns(),
            burst_radius_m: 5_000.0,
            burst_min_separation_m: 1_200.0,
            burst_separation_window_min: 45,
            monitor_patrols: 6,
        }
    }

    /// Six days around a short truce that starts at 15:00 UTC on 19 April 2025 (the Easter
    /// truce's 18:00 Moscow time), with three dense-shelling bursts of 200 incidents each in
    /// Toretsk, Chasiv Yar and Pokrovsk over the background rates of the default scenario.
    /// About 1,600 reports, two thirds of them from the bursts.
    pub fn dense_shelling(seed: u64) -> Scenario {
        Scenario {
            name: "dense_shelling".to_string(),
            start: Timestamp::constant(1_744_761_600, 0),
            days: 6,
            truce_start: Some(Timestamp::constant(1_745_074_800, 0)),
            dense_bursts: 3,
            ..Scenario::default_scenario(seed)
        }
    }

    /// The default scenario with both parties' rates multiplied so that the expected number
    /// of reports is about `n_reports` (within a few per cent; see [`Scenario::scaled_to`]).
    pub fn scaled(seed: u64, n_reports: u64) -> Scenario {
        let mut scenario = Scenario::default_scenario(seed).scaled_to(n_reports);
        scenario.name = format!("scaled_{n_reports}");
        scenario
    }

    /// This scenario with both parties' rates multiplied by one factor so that
    /// [`Scenario::expected_reports`] is `n_reports`. Bursts are kept as they are; if they
    /// alone exceed `n_reports`, the rates become zero.
    pub fn scaled_to(mut self, n_reports: u64) -> Scenario {
        let bursts = crate::generate::expected_burst_reports(&self);
        let background = self.expected_reports() - bursts;
        let wanted = (n_reports as f64 - bursts).max(0.0);
        let factor = if background > 0.0 {
            wanted / background
        } else {
            0.0
        };
        for party in &mut self.parties {
            party.rate_before *= factor;
            party.rate_after *= factor;
        }
        self
    }

    /// The expected number of reports (true incidents times the mean reports per incident,
    /// plus fabricated accusations), from the scenario's rates and the simulator's tables.
    /// The party share of reports, which sets the number of fabricated ones, is approximated.
    pub fn expected_reports(&self) -> f64 {
        crate::generate::expected_reports(self)
    }

    /// Reads a scenario from JSON (the serde form of this struct; timestamps in RFC 3339)
    /// and validates it.
    pub fn from_json(text: &str) -> Result<Scenario, SimError> {
        let scenario: Scenario = serde_json::from_str(text)?;
        let geography = Geography::embedded()?;
        scenario.validate(&geography)?;
        Ok(scenario)
    }

    /// The scenario as pretty JSON.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and timestamps always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The start of the period, Unix epoch milliseconds.
    pub fn start_ms(&self) -> i64 {
        self.start.as_millisecond()
    }

    /// The end of the period (exclusive), Unix epoch milliseconds.
    pub fn end_ms(&self) -> i64 {
        self.start_ms()
            .saturating_add(i64::from(self.days).saturating_mul(DAY_MS))
    }

    /// Every source the scenario can produce reports from, sorted by id: the monitoring
    /// patrols, each party's sources, the media outlets, the OSINT groups and the public.
    pub fn sources(&self) -> Vec<Source> {
        let mut sources = Vec::new();
        for patrol in 1..=self.monitor_patrols {
            sources.push(Source {
                id: format!("mission_patrol_{patrol}").into(),
                kind: SourceKind::Monitor,
                party: None,
            });
        }
        for party in &self.parties {
            for id in &party.sources {
                sources.push(Source {
                    id: id.clone().into(),
                    kind: SourceKind::Party,
                    party: Some(party.id.clone().into()),
                });
            }
        }
        for outlet in 1..=MEDIA_OUTLETS {
            sources.push(Source {
                id: format!("media_{outlet}").into(),
                kind: SourceKind::Media,
                party: None,
            });
        }
        for group in 1..=OSINT_GROUPS {
            sources.push(Source {
                id: format!("osint_{group}").into(),
                kind: SourceKind::Osint,
                party: None,
            });
        }
        for person in 1..=PUBLIC_REPORTERS {
            sources.push(Source {
                id: format!("public_{person:03}").into(),
                kind: SourceKind::Public,
                party: None,
            });
        }
        sources.sort();
        sources
    }

    /// Checks every parameter against its documented range and every city name against the
    /// geography.
    pub fn validate(&self, geography: &Geography) -> Result<(), SimError> {
        if self.days == 0 || self.days > 36_500 {
            return Err(SimError::invalid(
                "days",
                format!("must be 1..=36500, is {}", self.days),
            ));
        }
        if Timestamp::from_millisecond(self.end_ms()).is_err() || self.end_ms() == i64::MAX {
            return Err(SimError::invalid(
                "days",
                "the period ends beyond the representable time range",
            ));
        }
        let share = |field: &str, value: f64| {
            if (0.0..=1.0).contains(&value) {
                Ok(())
            } else {
                Err(SimError::invalid(
                    field,
                    format!("must be within 0..=1, is {value}"),
                ))
            }
        };
        share("deep_strike_share", self.deep_strike_share)?;
        share("false_accusation_share", self.false_accusation_share)?;
        share(
            "contradicting_attribution_share",
            self.contradicting_attribution_share,
        )?;
        if !(0.0..=2.4).contains(&self.night_weight) {
            return Err(SimError::invalid(
                "night_weight",
                format!("must be within 0..=2.4, is {}", self.night_weight),
            ));
        }
        if self.monitor_patrols > 1000 {
            return Err(SimError::invalid("monitor_patrols", "must be at most 1000"));
        }
        let [first, second] = &self.parties;
        if first.id.is_empty() || second.id.is_empty() || first.id == second.id {
            return Err(SimError::invalid(
                "parties",
                "need two distinct, non-empty ids",
            ));
        }
        if first.controls == second.controls {
            return Err(SimError::invalid(
                "parties",
                "must control opposite sides of the line",
            ));
        }
        let builtin: Vec<String> = Scenario {
            parties: [blank_party(first), blank_party(second)],
            ..self.clone()
        }
        .sources()
        .into_iter()
        .map(|s| s.id.to_string())
        .collect();
        let mut party_sources: Vec<&String> = Vec::new();
        for party in &self.parties {
            let field = format!("parties[{}]", party.id);
            if party.sources.is_empty() {
                return Err(SimError::invalid(
                    format!("{field}.sources"),
                    "must not be empty",
                ));
            }
            for id in &party.sources {
                if id.is_empty() || builtin.contains(id) || party_sources.contains(&id) {
                    return Err(SimError::invalid(
                        format!("{field}.sources"),
                        format!("`{id}` is empty or used by another source"),
                    ));
                }
                party_sources.push(id);
            }
            for (name, rate) in [
                ("rate_before", party.rate_before),
                ("rate_after", party.rate_after),
            ] {
                if !(0.0..=1_000_000.0).contains(&rate) {
                    return Err(SimError::invalid(
                        format!("{field}.{name}"),
                        format!("must be within 0..=1000000 per day, is {rate}"),
                    ));
                }
            }
            if self.deep_strike_share > 0.0 && party.deep_strike_targets.is_empty() {
                return Err(SimError::invalid(
                    format!("{field}.deep_strike_targets"),
                    "must not be empty while deep_strike_share > 0",
                ));
            }
            for name in &party.deep_strike_targets {
                if geography.city(name).is_none() {
                    return Err(SimError::UnknownCity {
                        field: format!("{field}.deep_strike_targets"),
                        name: name.clone(),
                    });
                }
            }
        }
        if self.dense_bursts > 0 {
            if self.burst_size == 0 || self.burst_size > 100_000 {
                return Err(SimError::invalid(
                    "burst_size",
                    "must be 1..=100000 when there are bursts",
                ));
            }
            if self.burst_towns.is_empty() {
                return Err(SimError::invalid(
                    "burst_towns",
                    "must not be empty when there are bursts",
                ));
            }
        }
        for name in &self.burst_towns {
            if geography.city(name).is_none() {
                return Err(SimError::UnknownCity {
                    field: "burst_towns".to_string(),
                    name: name.clone(),
                });
            }
        }
        if !(self.burst_radius_m > 0.0 && self.burst_radius_m <= 50_000.0) {
            return Err(SimError::invalid(
                "burst_radius_m",
                format!("must be within (0, 50000], is {}", self.burst_radius_m),
            ));
        }
        if !(0.0..=self.burst_radius_m).contains(&self.burst_min_separation_m) {
            return Err(SimError::invalid(
                "burst_min_separation_m",
                format!(
                    "must be within 0..=burst_radius_m, is {}",
                    self.burst_min_separation_m
                ),
            ));
        }
        if self.burst_separation_window_min > 1440 {
            return Err(SimError::invalid(
                "burst_separation_window_min",
                "must be at most 1440",
            ));
        }
        Ok(())
    }
}

/// A party with no sources, to list the built-in source ids.
fn blank_party(party: &PartySpec) -> PartySpec {
    PartySpec {
        sources: Vec::new(),
        ..party.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_dated_as_documented() {
        let geography = Geography::embedded().unwrap();
        let default = Scenario::default_scenario(1);
        default.validate(&geography).unwrap();
        assert_eq!(
            default.start,
            "2025-02-09T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            default.truce_start,
            Some("2025-03-11T00:00:00Z".parse().unwrap())
        );
        let dense = Scenario::dense_shelling(1);
        dense.validate(&geography).unwrap();
        assert_eq!(
            dense.start,
            "2025-04-16T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            dense.truce_start,
            Some("2025-04-19T18:00:00+03:00".parse().unwrap())
        );
        assert_eq!(dense.end_ms() - dense.start_ms(), 6 * DAY_MS);
    }

    #[test]
    fn json_round_trips_and_rejects_bad_values() {
        let scenario = Scenario::dense_shelling(42);
        let text = scenario.to_json();
        assert_eq!(Scenario::from_json(&text).unwrap(), scenario);

        let mut bad = scenario.clone();
        bad.false_accusation_share = 1.5;
        let err = Scenario::from_json(&bad.to_json()).unwrap_err();
        assert!(err.to_string().contains("false_accusation_share"), "{err}");

        let mut bad = scenario.clone();
        bad.burst_towns.push("Atlantis".to_string());
        let err = Scenario::from_json(&bad.to_json()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown city `Atlantis` in burst_towns (not in data/geo/cities.csv)"
        );

        let mut bad = scenario.clone();
        bad.parties[1].sources = vec!["ru_mod".to_string()];
        assert!(Scenario::from_json(&bad.to_json()).is_err());

        let mut bad = scenario.clone();
        bad.parties[1].sources = vec!["media_1".to_string()];
        assert!(Scenario::from_json(&bad.to_json()).is_err());

        let mut bad = scenario.clone();
        bad.parties[1].controls = LineSide::Right;
        assert!(Scenario::from_json(&bad.to_json()).is_err());

        let mut bad = scenario.clone();
        bad.parties[0].rate_before = f64::NAN;
        assert!(bad.validate(&Geography::embedded().unwrap()).is_err());

        let mut bad = scenario;
        bad.days = 0;
        assert!(Scenario::from_json(&bad.to_json()).is_err());
        assert!(matches!(Scenario::from_json("{"), Err(SimError::Json(_))));
    }

    #[test]
    fn sources_are_sorted_distinct_and_typed() {
        let sources = Scenario::default_scenario(0).sources();
        assert_eq!(sources.len(), 6 + 4 + 3 + 2 + 40);
        assert!(sources.windows(2).all(|w| w[0].id < w[1].id));
        let ua = sources.iter().find(|s| s.id == "ua_gs").unwrap();
        assert_eq!(
            (ua.kind, ua.party.as_deref()),
            (SourceKind::Party, Some("UA"))
        );
        assert!(
            sources
                .iter()
                .filter(|s| s.kind != SourceKind::Party)
                .all(|s| s.party.is_none())
        );
    }
}
