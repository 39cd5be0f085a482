//! The keyword classifier shared by the ACLED and UCDP readers: what was hit (target) and,
//! for UCDP and ACLED's broad sub-event types, what weapon was used (action), read from
//! narrative text.
//!
//! Text is split into lower-case words (runs of letters and digits), and a keyword matches
//! a run of whole words, so `port` matches "the port" but not "airport" or "transport"; a
//! keyword word also matches its plural (`+s`, `+es`, `y` → `ies`). Groups are tried in a
//! fixed order and the first that matches wins, so the specific beats the general
//! ("nuclear power plant" is a nuclear power plant, not just a power plant).

use crate::vocab::{ActionType, EnergyKind, Target, TargetKind};

/// Narrative text split into lower-case words.
#[derive(Debug, Clone, Default)]
pub(crate) struct Words(Vec<String>);

impl Words {
    /// Splits every text given into words.
    pub(crate) fn of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut words = Vec::new();
        for text in texts {
            words.extend(split_words(text));
        }
        Words(words)
    }

    /// Whether any keyword phrase of `phrases` occurs as whole words.
    pub(crate) fn mention_any(&self, phrases: &[&str]) -> bool {
        phrases.iter().any(|phrase| self.mentions(phrase))
    }

    fn mentions(&self, phrase: &str) -> bool {
        let phrase: Vec<String> = split_words(phrase).collect();
        if phrase.is_empty() || phrase.len() > self.0.len() {
            return false;
        }
        self.0.windows(phrase.len()).any(|window| {
            window
                .iter()
                .zip(&phrase)
                .all(|(word, keyword)| word_matches(word, keyword))
        })
    }
}

fn split_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
}

/// A text word matches a keyword word when equal or its plural.
fn word_matches(word: &str, keyword: &str) -> bool {
    if word == keyword {
        return true;
    }
    if let Some(stem) = word.strip_suffix("es").filter(|stem| *stem == keyword) {
        return !stem.is_empty();
    }
    if word.strip_suffix('s') == Some(keyword) {
        return true;
    }
    match (word.strip_suffix("ies"), keyword.strip_suffix('y')) {
        (Some(word_stem), Some(keyword_stem)) => word_stem == keyword_stem && !word_stem.is_empty(),
        _ => false,
    }
}

/// Keywords of each target, tried in this order.
pub(crate) const TARGET_KEYWORDS: &[(Target, &[&str])] = &[
    (Target::energy(EnergyKind::NuclearPowerPlant), &["nuclear"]),
    (
        Target::energy(EnergyKind::HydroelectricDam),
        &["dam", "hydroelectric", "hpp"],
    ),
    (Target::energy(EnergyKind::OilRefinery), &["refinery"]),
    (
        Target::energy(EnergyKind::PowerGeneration),
        &[
            "power plant",
            "power station",
            "thermal power",
            "tpp",
            "chp",
        ],
    ),
    (
        Target::energy(EnergyKind::PowerTransmission),
        &["substation", "transformer", "power line", "grid"],
    ),
    (
        Target::energy(EnergyKind::OilGasPipelineStorage),
        &[
            "pipeline",
            "oil depot",
            "fuel storage",
            "pumping station",
            "gas",
        ],
    ),
    (Target::of(TargetKind::Energy), &["energy", "electricity"]),
    (
        Target::of(TargetKind::Maritime),
        &["port", "ship", "vessel", "grain corridor"],
    ),
    (
        Target::of(TargetKind::Medical),
        &["hospital", "clinic", "ambulance"],
    ),
    (
        Target::of(TargetKind::Education),
        &["school", "university", "kindergarten"],
    ),
    (
        Target::of(TargetKind::Transport),
        &["railway", "bridge", "train", "airport"],
    ),
    (
        Target::of(TargetKind::CivilianInfrastructure),
        &[
            "water supply",
            "water treatment",
            "waterworks",
            "boiler house",
            "market",
            "supermarket",
            "shopping centre",
            "shopping center",
            "shopping mall",
            "telecommunications",
        ],
    ),
    (
        Target::of(TargetKind::CivilianResidential),
        &["house", "residential", "apartment"],
    ),
    (
        Target::of(TargetKind::Military),
        &["position", "troop", "military"],
    ),
];

/// The target the text names. With no keyword, `civilian_targeting` (ACLED's flag) means
/// civilian homes; otherwise the target is unknown.
pub(crate) fn classify_target(words: &Words, civilian_targeting: bool) -> Target {
    for (target, keywords) in TARGET_KEYWORDS {
        if words.mention_any(keywords) {
            return *target;
        }
    }
    if civilian_targeting {
        Target::of(TargetKind::CivilianResidential)
    } else {
        Target::of(TargetKind::Unknown)
    }
}

/// Interceptions by air defence.
pub(crate) const INTERCEPT: &[&str] = &[
    "intercept",
    "intercepted",
    "interception",
    "shot down",
    "air defence",
    "air defense",
];
/// Attacks on or from vessels.
pub(crate) const NAVAL: &[&str] = &[
    "naval",
    "warship",
    "sea drone",
    "naval drone",
    "unmanned surface vessel",
];
/// Missiles.
pub(crate) const MISSILE: &[&str] = &[
    "missile",
    "iskander",
    "kalibr",
    "kh-101",
    "kh-22",
    "kh-555",
    "kinzhal",
    "ballistic",
    "atacms",
    "storm shadow",
    "tochka",
];
/// Multiple-launch rocket systems.
pub(crate) const MLRS: &[&str] = &[
    "mlrs",
    "grad",
    "uragan",
    "smerch",
    "himars",
    "multiple rocket",
    "multiple launch rocket",
];
/// Mortars.
pub(crate) const MORTAR: &[&str] = &["mortar"];
/// Drones and loitering munitions.
pub(crate) const DRONE: &[&str] = &[
    "drone",
    "uav",
    "shahed",
    "geran",
    "loitering",
    "lancet",
    "fpv",
];
/// Crewed aircraft and their bombs.
pub(crate) const AIRCRAFT: &[&str] = &[
    "air strike",
    "airstrike",
    "aircraft",
    "glide bomb",
    "aerial bomb",
    "guided bomb",
    "warplane",
    "bomber",
];
/// Tube artillery and shelling in general.
pub(crate) const ARTILLERY: &[&str] = &["artillery", "shelling", "shelled", "howitzer"];
/// Mines and improvised explosive devices.
pub(crate) const MINE: &[&str] = &[
    "landmine",
    "mine",
    "ied",
    "improvised explosive",
    "explosive device",
    "booby trap",
];
/// Small arms and light weapons.
pub(crate) const SMALL_ARMS: &[&str] = &[
    "small arms",
    "sniper",
    "gunfire",
    "shooting",
    "machine gun",
    "rifle",
];
/// Ground attacks.
pub(crate) const GROUND: &[&str] = &[
    "assault",
    "clash",
    "fighting",
    "offensive",
    "infantry",
    "battle",
    "stormed",
];

/// Keyword groups of actions, in the order they are tried.
pub(crate) const ACTION_KEYWORDS: &[(ActionType, &[&str])] = &[
    (ActionType::AirDefenceIntercept, INTERCEPT),
    (ActionType::NavalAttack, NAVAL),
    (ActionType::MissileStrike, MISSILE),
    (ActionType::Mlrs, MLRS),
    (ActionType::Mortar, MORTAR),
    (ActionType::DroneStrike, DRONE),
    (ActionType::AirStrike, AIRCRAFT),
    (ActionType::Artillery, ARTILLERY),
    (ActionType::MineIed, MINE),
    (ActionType::SmallArms, SMALL_ARMS),
    (ActionType::GroundAssault, GROUND),
];

/// The action the text names, if any.
pub(crate) fn classify_action(words: &Words) -> Option<ActionType> {
    ACTION_KEYWORDS
        .iter()
        .find(|(_, keywords)| words.mention_any(keywords))
        .map(|(action, _)| *action)
}

/// A short English phrase for an action that [`classify_action`] reads back as the same
/// action (used by the ACLED and UCDP writers).
pub(crate) fn action_phrase(action: ActionType) -> &'static str {
    match action {
        ActionType::Artillery => "artillery shelling",
        ActionType::Mortar => "mortar shelling",
        ActionType::Mlrs => "MLRS shelling",
        ActionType::MissileStrike => "a missile strike",
        ActionType::DroneStrike => "a drone strike",
        ActionType::AirStrike => "an air strike",
        ActionType::GroundAssault => "an armed clash",
        ActionType::SmallArms => "small arms fire",
        ActionType::MineIed => "a landmine or IED explosion",
        ActionType::NavalAttack => "a naval attack",
        ActionType::AirDefenceIntercept => "an air defence interception",
        ActionType::Other => "an unspecified violent act",
    }
}

/// A short English phrase for a target that [`classify_target`] reads back as the same
/// target, or `None` for an unknown target.
pub(crate) fn target_phrase(target: Target) -> Option<&'static str> {
    if let Some(energy) = target.energy {
        return Some(match energy {
            EnergyKind::OilRefinery => "an oil refinery",
            EnergyKind::OilGasPipelineStorage => "an oil depot",
            EnergyKind::PowerGeneration => "a thermal power plant",
            EnergyKind::PowerTransmission => "an electrical substation",
            EnergyKind::NuclearPowerPlant => "a nuclear power plant",
            EnergyKind::HydroelectricDam => "a hydroelectric dam",
        });
    }
    match target.kind {
        TargetKind::Energy => Some("energy infrastructure"),
        TargetKind::Maritime => Some("a port"),
        TargetKind::CivilianResidential => Some("residential buildings"),
        TargetKind::CivilianInfrastructure => Some("water supply facilities"),
        TargetKind::Medical => Some("a hospital"),
        TargetKind::Education => Some("a school"),
        TargetKind::Transport => Some("a railway station"),
        TargetKind::Military => Some("military positions"),
        TargetKind::Unknown => None,
    }
}

/// "On 20 March 2025, artillery shelling affecting an oil refinery." — the narrative our
/// ACLED and UCDP writers put where the readers look for keywords.
pub(crate) fn describe(date: jiff::civil::Date, action: ActionType, target: Target) -> String {
    let date = date.strftime("%-d %B %Y");
    match target_phrase(target) {
        Some(target) => format!("On {date}, {} affecting {target}.", action_phrase(action)),
        None => format!("On {date}, {}.", action_phrase(action)),
    }
}

/// Every target in the vocabulary: each category, and energy with each sub-kind.
#[cfg(test)]
pub(crate) fn all_targets() -> Vec<Target> {
    let mut targets: Vec<Target> = TargetKind::ALL
        .iter()
        .map(|kind| Target::of(*kind))
        .collect();
    targets.extend(EnergyKind::ALL.iter().map(|kind| Target::energy(*kind)));
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target_of(text: &str) -> Target {
        classify_target(&Words::of([text]), false)
    }

    #[test]
    fn whole_words_and_plurals() {
        assert_eq!(
            target_of("strikes on the port of Odesa").kind,
            TargetKind::Maritime
        );
        assert_eq!(target_of("near the airport").kind, TargetKind::Transport);
        assert_eq!(
            target_of("public transport was halted").kind,
            TargetKind::Unknown
        );
        assert_eq!(
            target_of("two refineries burned"),
            Target::energy(EnergyKind::OilRefinery)
        );
        assert_eq!(
            target_of("several HOUSES damaged").kind,
            TargetKind::CivilianResidential
        );
        assert_eq!(target_of("a greenhouse").kind, TargetKind::Unknown);
        assert_eq!(target_of("Amsterdam").kind, TargetKind::Unknown);
    }

    #[test]
    fn specific_beats_general() {
        assert_eq!(
            target_of("shelling near the Zaporizhzhia nuclear power plant"),
            Target::energy(EnergyKind::NuclearPowerPlant)
        );
        assert_eq!(
            target_of("Kakhovka hydroelectric power plant"),
            Target::energy(EnergyKind::HydroelectricDam)
        );
        assert_eq!(
            target_of("gas-fired power plant"),
            Target::energy(EnergyKind::PowerGeneration)
        );
        assert_eq!(target_of("the electricity supply").kind, TargetKind::Energy);
        assert_eq!(
            classify_target(&Words::of(["no keyword here"]), true).kind,
            TargetKind::CivilianResidential
        );
    }

    #[test]
    fn actions() {
        let action = |text: &str| classify_action(&Words::of([text]));
        assert_eq!(
            action("Kh-101 cruise missiles"),
            Some(ActionType::MissileStrike)
        );
        assert_eq!(
            action("Shahed drones were shot down"),
            Some(ActionType::AirDefenceIntercept)
        );
        assert_eq!(
            action("a sea drone hit a ship"),
            Some(ActionType::NavalAttack)
        );
        assert_eq!(action("Grad rockets"), Some(ActionType::Mlrs));
        assert_eq!(action("heavy fighting"), Some(ActionType::GroundAssault));
        assert_eq!(action("nothing to see"), None);
    }

    #[test]
    fn phrases_read_back() {
        let date = jiff::civil::Date::new(2025, 3, 20).unwrap();
        for action in ActionType::ALL {
            for target in all_targets() {
                let words = Words::of([describe(date, *action, target).as_str()]);
                assert_eq!(classify_target(&words, false), target, "{action} {target}");
                let expected = (*action != ActionType::Other).then_some(*action);
                assert_eq!(classify_action(&words), expected, "{action} {target}");
            }
        }
    }
}
