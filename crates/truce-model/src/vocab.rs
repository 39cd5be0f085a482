//! The controlled vocabulary: action types, target categories and source kinds.
//!
//! Every value has one canonical snake_case spelling used in files, JSON and CSV. Parsing an
//! unknown spelling is an error that suggests the closest known value when there is one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value that is not part of the vocabulary, with the closest known spelling if one is near.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`{}", suggestion_text(.suggestion, .known))]
pub struct UnknownTerm {
    /// What was being parsed ("action type", "target category", ...).
    pub kind: &'static str,
    /// The value as written.
    pub value: String,
    /// The closest known value, when the edit distance is small.
    pub suggestion: Option<&'static str>,
    /// All known values, for the message.
    pub known: &'static [&'static str],
}

fn suggestion_text(suggestion: &Option<&'static str>, known: &[&str]) -> String {
    match suggestion {
        Some(s) => format!(": did you mean `{s}`?"),
        None => format!(" (known: {})", known.join(", ")),
    }
}

/// Finds the known term closest to `value` (Jaro-Winkler ≥ 0.85 or Levenshtein ≤ 2).
pub fn closest(value: &str, known: &'static [&'static str]) -> Option<&'static str> {
    let lower = value.to_ascii_lowercase();
    let mut best: Option<(&'static str, f64)> = None;
    for &candidate in known {
        let jw = strsim::jaro_winkler(&lower, candidate);
        let lev = strsim::levenshtein(&lower, candidate);
        let score = if lev <= 2 { jw.max(0.9) } else { jw };
        if score >= 0.85 && best.is_none_or(|(_, s)| score > s) {
            best = Some((candidate, score));
        }
    }
    best.map(|(c, _)| c)
}

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every canonical spelling, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The canonical spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownTerm;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let trimmed = s.trim();
                $( if trimmed.eq_ignore_ascii_case($text) { return Ok($name::$variant); } )+
                Err(UnknownTerm {
                    kind: $kind,
                    value: s.to_string(),
                    suggestion: closest(trimmed, Self::NAMES),
                    known: Self::NAMES,
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

vocabulary! {
    /// What was done. Weapon classes are kept apart where agreements treat them apart
    /// (Minsk II set withdrawal distances per class).
    ActionType, "action type" {
        /// Tube artillery of 100 mm and above, and shelling whose calibre is not known.
        Artillery => "artillery",
        /// Mortars and artillery below 100 mm.
        Mortar => "mortar",
        /// Multiple-launch rocket systems.
        Mlrs => "mlrs",
        /// Ballistic and cruise missiles, heavy rocket systems.
        MissileStrike => "missile_strike",
        /// Strikes by uncrewed aerial vehicles, loitering munitions.
        DroneStrike => "drone_strike",
        /// Crewed aircraft, glide bombs.
        AirStrike => "air_strike",
        /// An attack by ground forces.
        GroundAssault => "ground_assault",
        /// Small-arms and light-weapons fire.
        SmallArms => "small_arms",
        /// Mines, improvised explosive devices, remote explosives.
        MineIed => "mine_ied",
        /// Attacks on or from vessels.
        NavalAttack => "naval_attack",
        /// Interception of an incoming missile or drone by air defence.
        AirDefenceIntercept => "air_defence_intercept",
        /// Sabotage, arson, other violent acts not listed above.
        Other => "other",
    }
}

impl ActionType {
    /// Actions that two reports may name for the same event (symmetric, not transitive).
    /// Observers often disagree on the weapon: shelling heard as artillery by one and as
    /// MLRS by another; a missile seen as a drone.
    pub const fn compatible(self, other: ActionType) -> bool {
        use ActionType::*;
        // Compared by position in the vocabulary (the derived order), so that this is `const`.
        if self as u8 == other as u8 {
            return true;
        }
        let pair = if (self as u8) <= (other as u8) {
            (self, other)
        } else {
            (other, self)
        };
        matches!(
            pair,
            (Artillery, Mortar)
                | (Artillery, Mlrs)
                | (Mortar, Mlrs)
                | (MissileStrike, DroneStrike)
                | (MissileStrike, AirStrike)
                | (DroneStrike, AirStrike)
                | (GroundAssault, SmallArms)
                | (MissileStrike, AirDefenceIntercept)
                | (DroneStrike, AirDefenceIntercept)
                | (MineIed, Other)
        )
    }
}

vocabulary! {
    /// The broad category of what was hit or aimed at.
    TargetKind, "target category" {
        /// Energy infrastructure (see [`EnergyKind`] for the March 2025 sub-kinds).
        Energy => "energy",
        /// Ports, ships, navigation.
        Maritime => "maritime",
        /// Homes and residential buildings.
        CivilianResidential => "civilian_residential",
        /// Other civilian infrastructure: water, heating, communications, markets.
        CivilianInfrastructure => "civilian_infrastructure",
        /// Hospitals, clinics, ambulances.
        Medical => "medical",
        /// Schools, universities, kindergartens.
        Education => "education",
        /// Railways, roads, bridges, airports.
        Transport => "transport",
        /// Military positions, equipment and personnel.
        Military => "military",
        /// Not stated.
        Unknown => "unknown",
    }
}

vocabulary! {
    /// The facility kinds of the 30-day energy moratorium, as the Kremlin listed them on
    /// 25 March 2025.
    EnergyKind, "energy facility kind" {
        /// Oil refineries.
        OilRefinery => "oil_refinery",
        /// Oil and gas pipelines, storage and pumping stations.
        OilGasPipelineStorage => "oil_gas_pipeline_storage",
        /// Power plants (generation).
        PowerGeneration => "power_generation",
        /// Substations, transformers and distribution (transmission).
        PowerTransmission => "power_transmission",
        /// Nuclear power plants.
        NuclearPowerPlant => "nuclear_power_plant",
        /// Hydroelectric dams.
        HydroelectricDam => "hydroelectric_dam",
    }
}

vocabulary! {
    /// Who reports.
    SourceKind, "source kind" {
        /// A party to the agreement (its liaison or its ministry).
        Party => "party",
        /// The monitoring mission.
        Monitor => "monitor",
        /// News media.
        Media => "media",
        /// Open-source investigators.
        Osint => "osint",
        /// Members of the public.
        Public => "public",
    }
}

/// A target: a category and, for energy, optionally the facility kind.
///
/// Written `energy`, `energy.power_transmission`, `medical`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// The broad category.
    pub kind: TargetKind,
    /// The energy facility kind, only with [`TargetKind::Energy`].
    pub energy: Option<EnergyKind>,
}

impl Target {
    /// A target with no sub-kind.
    pub const fn of(kind: TargetKind) -> Self {
        Target { kind, energy: None }
    }

    /// An energy facility of the given kind.
    pub const fn energy(kind: EnergyKind) -> Self {
        Target {
            kind: TargetKind::Energy,
            energy: Some(kind),
        }
    }

    /// Whether a rule written for `self` covers a report's `other`: `energy` covers every
    /// energy sub-kind; `energy.oil_refinery` covers only refineries.
    pub fn covers(self, other: Target) -> bool {
        self.kind == other.kind && (self.energy.is_none() || self.energy == other.energy)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.energy {
            Some(e) => write!(f, "{}.{}", self.kind, e),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl FromStr for Target {
    type Err = UnknownTerm;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        match trimmed.split_once('.') {
            Some((kind, sub)) => {
                let kind: TargetKind = kind.parse()?;
                if kind != TargetKind::Energy {
                    return Err(UnknownTerm {
                        kind: "target category",
                        value: s.to_string(),
                        suggestion: None,
                        known: TargetKind::NAMES,
                    });
                }
                Ok(Target::energy(sub.parse()?))
            }
            None => {
                if let Ok(kind) = trimmed.parse::<TargetKind>() {
                    return Ok(Target::of(kind));
                }
                // A bare energy sub-kind is accepted for convenience: `oil_refinery`.
                if let Ok(energy) = trimmed.parse::<EnergyKind>() {
                    return Ok(Target::energy(energy));
                }
                trimmed.parse::<TargetKind>().map(Target::of)
            }
        }
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_spelling() {
        for a in ActionType::ALL {
            assert_eq!(a.as_str().parse::<ActionType>().unwrap(), *a);
        }
        for t in TargetKind::ALL {
            assert_eq!(t.as_str().parse::<Target>().unwrap(), Target::of(*t));
        }
        for e in EnergyKind::ALL {
            let t = Target::energy(*e);
            assert_eq!(t.to_string().parse::<Target>().unwrap(), t);
        }
    }

    #[test]
    fn suggests_close_spellings() {
        let err = "artilery".parse::<ActionType>().unwrap_err();
        assert_eq!(err.suggestion, Some("artillery"));
        assert_eq!(
            err.to_string(),
            "unknown action type `artilery`: did you mean `artillery`?"
        );
        let err = "banana".parse::<ActionType>().unwrap_err();
        assert_eq!(err.suggestion, None);
        assert!(err.to_string().contains("known: artillery, mortar"));
        let err = "energy.oil_refinry".parse::<Target>().unwrap_err();
        assert_eq!(err.suggestion, Some("oil_refinery"));
    }

    #[test]
    fn energy_covers_sub_kinds_but_not_the_reverse() {
        let energy = Target::of(TargetKind::Energy);
        let refinery = Target::energy(EnergyKind::OilRefinery);
        assert!(energy.covers(refinery));
        assert!(!refinery.covers(energy));
        assert!(!refinery.covers(Target::energy(EnergyKind::HydroelectricDam)));
        assert!(!energy.covers(Target::of(TargetKind::Medical)));
    }

    #[test]
    fn compatibility_is_symmetric() {
        for a in ActionType::ALL {
            for b in ActionType::ALL {
                assert_eq!(a.compatible(*b), b.compatible(*a), "{a} {b}");
            }
        }
    }
}
