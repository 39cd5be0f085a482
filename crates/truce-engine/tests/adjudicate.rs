//! Hand-written cases for every verdict and every no-violation reason.
#![allow(clippy::unwrap_used)] // test helpers may panic: that is a test failure

use truce_engine::adjudicate::{NoViolationReason as R, Verdict};
use truce_engine::assess::{Assessment, assess};
use truce_engine::corroborate::{CorroborationParams, canonical_order, corroborate};
use truce_engine::incident::Incident;
use truce_model::agreement::{Agreement, MemoryFiles, load};
use truce_model::{ActionType, Casualties, Location, Report, Source, SourceKind, Target, TimeSpan};

/// A square zone 36–38°E × 47–49°N with a hole at 36.9–37.1°E × 47.9–48.1°N, plus a second
/// polygon 30–31°E × 50–51°N. Parties bound from 18 March 2025 00:00 Kyiv time (UA from 20
/// March), until 17 April 00:00 Kyiv time.
const AGREEMENT: &str = r#"
id = "test"
version = 1
title = "Test agreement"
excluded_actors = ["Irregulars"]

[[parties]]
id = "RU"
name = "Russia"
aliases = ["Military Forces of Russia (2000-)", "ru_mod"]

[[parties]]
id = "UA"
name = "Ukraine"
aliases = ["Military Forces of Ukraine (2019-)", "ua_gs"]
start = "2025-03-20T00:00:00+02:00"

[window]
time_zone = "Europe/Kyiv"
start = "2025-03-18T00:00:00"
end = "2025-04-17T00:00:00"

[[zones]]
id = "front"
name = "Front"
geometry = { type = "MultiPolygon", coordinates = [
  [[[36.0, 47.0], [38.0, 47.0], [38.0, 49.0], [36.0, 49.0], [36.0, 47.0]],
   [[36.9, 47.9], [37.1, 47.9], [37.1, 48.1], [36.9, 48.1], [36.9, 47.9]]],
  [[[30.0, 50.0], [30.0, 51.0], [31.0, 51.0], [31.0, 50.0], [30.0, 50.0]]]
] }

[[rules]]
id = "R1"
text = "No fire of any kind in the front zone"
actions = ["*"]
targets = ["*"]
zones = ["front"]

[[rules]]
id = "R2"
text = "No strikes on energy anywhere"
actions = ["missile_strike", "drone_strike", "air_strike", "artillery"]
targets = ["energy"]

[[exceptions]]
id = "E1"
text = "Interception is self-defence"
actions = ["air_defence_intercept"]

[[sites]]
id = "tpp"
name = "A power plant"
category = "energy.power_generation"
location = [34.0, 46.0]
radius_m = 1000
"#;

fn agreement(text: &str) -> Agreement {
    load("test.toml", text, &MemoryFiles::default())
        .unwrap()
        .remove(0)
}

struct R0 {
    id: &'static str,
    source: &'static str,
    kind: SourceKind,
    party: Option<&'static str>,
    time: &'static str,
    time_end: Option<&'static str>,
    lon: f64,
    lat: f64,
    r: f64,
    action: ActionType,
    target: &'static str,
    accused: Option<&'static str>,
}

impl R0 {
    fn new(id: &'static str, source: &'static str, kind: SourceKind) -> Self {
        R0 {
            id,
            source,
            kind,
            party: match source {
                "ua_gs" => Some("UA"),
                "ru_mod" => Some("RU"),
                _ => None,
            },
            time: "2025-03-25T10:00:00Z",
            time_end: None,
            lon: 37.5,
            lat: 48.5,
            r: 100.0,
            action: ActionType::Artillery,
            target: "military",
            accused: None,
        }
    }
    fn at(mut self, lon: f64, lat: f64, r: f64) -> Self {
        (self.lon, self.lat, self.r) = (lon, lat, r);
        self
    }
    fn when(mut self, time: &'static str) -> Self {
        self.time = time;
        self
    }
    fn until(mut self, end: &'static str) -> Self {
        self.time_end = Some(end);
        self
    }
    fn doing(mut self, action: ActionType, target: &'static str) -> Self {
        (self.action, self.target) = (action, target);
        self
    }
    fn accusing(mut self, party: &'static str) -> Self {
        self.accused = Some(party);
        self
    }
    fn report(&self) -> Report {
        let ms = |t: &str| t.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        Report {
            id: self.id.into(),
            source: Source {
                id: self.source.into(),
                kind: self.kind,
                party: self.party.map(truce_model::SmolStr::from),
            }
            .into(),
            time: TimeSpan {
                start_ms: ms(self.time),
                end_ms: self.time_end.map_or(ms(self.time), ms),
            },
            location: Location {
                lon: self.lon,
                lat: self.lat,
                uncertainty_m: self.r,
            },
            action: self.action,
            target: self.target.parse::<Target>().unwrap(),
            accused: self.accused.map(truce_model::SmolStr::from),
            casualties: Casualties::default(),
            details: truce_model::Details::default(),
        }
    }
}

fn run(agreement: &Agreement, reports: &[R0]) -> (Vec<Incident>, Assessment) {
    let mut reports: Vec<Report> = reports.iter().map(R0::report).collect();
    canonical_order(&mut reports);
    let incidents = corroborate(&reports, &CorroborationParams::default());
    let assessment = assess(agreement, &reports, &incidents).unwrap();
    (incidents, assessment)
}

/// Runs one event (all reports must form one incident) and returns its finding.
fn judge(reports: &[R0]) -> truce_engine::adjudicate::Finding {
    judge_under(&agreement(AGREEMENT), reports)
}

fn judge_under(agreement: &Agreement, reports: &[R0]) -> truce_engine::adjudicate::Finding {
    let (incidents, assessment) = run(agreement, reports);
    assert_eq!(
        incidents.len(),
        1,
        "the reports should form one incident: {incidents:#?}"
    );
    assessment.findings.into_iter().next().unwrap()
}

use SourceKind::{Media, Monitor, Osint, Party};

#[test]
fn violation_established_by_a_monitor_and_attributed() {
    let f = judge(&[R0::new("a", "patrol", Monitor).accusing("RU")]);
    assert_eq!(f.verdict, Verdict::Violation, "{:#?}", f.reasons);
    assert_eq!(f.parties, ["RU"]);
    assert_eq!(f.rules, ["R1"]);
    assert_eq!(f.zones, ["front"]);
    assert!(f.established);
    assert!(
        f.reasons
            .last()
            .unwrap()
            .to_string()
            .contains("violation by RU"),
        "{:#?}",
        f.reasons
    );
}

#[test]
fn a_partys_word_alone_is_an_allegation() {
    let f = judge(&[R0::new("a", "ua_gs", Party).accusing("RU")]);
    assert_eq!(f.verdict, Verdict::Alleged);
    assert!(!f.established);
    assert_eq!(f.parties, ["RU"]);
}

#[test]
fn established_act_attributed_only_by_the_adversary_is_alleged() {
    let f = judge(&[
        R0::new("a", "ua_gs", Party).accusing("RU"),
        R0::new("b", "media1", Media),
    ]);
    assert!(f.established);
    assert_eq!(f.verdict, Verdict::Alleged, "{:#?}", f.reasons);
    assert!(f.reasons.last().unwrap().to_string().contains("adversary"));
}

#[test]
fn two_sources_of_one_party_are_one_voice() {
    let mut second = R0::new("b", "ua_regional", Party).accusing("RU");
    second.party = Some("UA");
    let f = judge(&[R0::new("a", "ua_gs", Party).accusing("RU"), second]);
    assert!(!f.established, "{:#?}", f.reasons);
    assert_eq!(f.verdict, Verdict::Alleged);
}

#[test]
fn contradicting_attributions_of_an_established_act_are_disputed() {
    let f = judge(&[
        R0::new("a", "ua_gs", Party).accusing("RU"),
        R0::new("b", "ru_mod", Party).accusing("UA"),
    ]);
    assert_eq!(f.verdict, Verdict::Disputed, "{:#?}", f.reasons);
    assert_eq!(f.parties, ["RU", "UA"]);
}

/// Names spelt exactly as a party's id are resolved by a shortcut when judging: it must give
/// the party the agreement's own resolution gives, also when an earlier party's alias is a
/// later party's id in other case (then that earlier party is the one named).
#[test]
fn a_party_named_by_its_id_is_resolved_as_the_agreement_resolves_it() {
    let mut clashing = agreement(AGREEMENT);
    clashing.parties[0].aliases.push("ua".into());
    for (accused, plain, under_clash) in [
        ("UA", "UA", "RU"),
        ("ua", "UA", "RU"),
        (" UA ", "UA", "RU"),
        ("RU", "RU", "RU"),
        ("ru_mod", "RU", "RU"),
    ] {
        let reports = [R0::new("a", "patrol", Monitor).accusing(accused)];
        assert_eq!(judge(&reports).parties, [plain], "{accused:?}");
        assert_eq!(clashing.resolve_party(accused), Some(under_clash));
        assert_eq!(
            judge_under(&clashing, &reports).parties,
            [under_clash],
            "{accused:?} under the clashing alias"
        );
    }
}

#[test]
fn nobody_names_a_perpetrator_so_undetermined() {
    let f = judge(&[R0::new("a", "patrol", Monitor)]);
    assert_eq!(f.verdict, Verdict::Undetermined);
    assert!(
        f.missing.iter().any(|m| m.starts_with("attribution")),
        "{:?}",
        f.missing
    );
    assert!(f.parties.is_empty());
}

#[test]
fn acled_style_actors_attribute_when_exactly_one_is_a_party() {
    let mut report = R0::new("a", "acled", Osint).report();
    report.details.make_mut().actors = vec![
        "Military Forces of Russia (2000-)".into(),
        "Civilians (Ukraine)".into(),
    ];
    let reports = [report];
    let incidents = corroborate(&reports, &CorroborationParams::default());
    let a = agreement(AGREEMENT);
    let f = &assess(&a, &reports, &incidents).unwrap().findings[0];
    assert_eq!(f.parties, ["RU"]);
    assert_eq!(
        f.verdict,
        Verdict::Alleged,
        "one osint voice does not establish: {:#?}",
        f.reasons
    );
}

#[test]
fn before_the_window_is_outside_window() {
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .when("2025-03-10T10:00:00Z")]);
    assert_eq!(
        (f.verdict, f.reason),
        (Verdict::NoViolation, Some(R::OutsideWindow))
    );
}

#[test]
fn window_edges_in_different_time_zones() {
    // The window opens at 2025-03-18 00:00 Kyiv time = 2025-03-17T22:00:00Z.
    let inside = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .when("2025-03-17T23:30:00+01:00")]);
    assert_eq!(
        inside.verdict,
        Verdict::Violation,
        "22:30Z is inside: {:#?}",
        inside.reasons
    );
    let outside = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .when("2025-03-18T00:30:00+03:00")]);
    assert_eq!(
        outside.reason,
        Some(R::OutsideWindow),
        "21:30Z is before the start"
    );
    // The window closes at 2025-04-17 00:00 Kyiv time (summer time, UTC+3) = 2025-04-16T21:00Z.
    let last = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .when("2025-04-16T20:59:59.999Z")]);
    assert_eq!(last.verdict, Verdict::Violation);
    let after = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .when("2025-04-16T21:00:00Z")]);
    assert_eq!(after.reason, Some(R::OutsideWindow), "the end is exclusive");
}

#[test]
fn each_party_is_bound_from_its_own_start() {
    // UA is bound from 20 March; RU from 18 March.
    let ua = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("UA")
        .when("2025-03-19T12:00:00Z")]);
    assert_eq!(ua.reason, Some(R::OutsideWindow));
    let ru = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .when("2025-03-19T12:00:00Z")]);
    assert_eq!(ru.verdict, Verdict::Violation);
}

#[test]
fn a_time_interval_straddling_the_start_is_undetermined() {
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .when("2025-03-17T21:00:00Z")
        .until("2025-03-17T23:00:00Z")]);
    assert_eq!(f.verdict, Verdict::Undetermined, "{:#?}", f.reasons);
    assert!(
        f.missing.iter().any(|m| m.starts_with("time")),
        "{:?}",
        f.missing
    );
}

#[test]
fn outside_every_zone() {
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .at(35.0, 48.0, 100.0)]);
    assert_eq!(
        (f.verdict, f.reason),
        (Verdict::NoViolation, Some(R::OutsideZones))
    );
}

#[test]
fn in_a_hole_of_the_zone_is_outside() {
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .at(37.0, 48.0, 100.0)]);
    assert_eq!(f.reason, Some(R::OutsideZones), "{:#?}", f.reasons);
}

#[test]
fn in_the_second_polygon_of_a_multipolygon_is_inside() {
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .at(30.5, 50.5, 100.0)]);
    assert_eq!(f.verdict, Verdict::Violation);
}

#[test]
fn an_uncertainty_disk_straddling_the_boundary_is_undetermined() {
    // 0.005° of longitude at 48°N is about 370 m.
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .at(35.995, 48.0, 1_000.0)]);
    assert_eq!(f.verdict, Verdict::Undetermined, "{:#?}", f.reasons);
    assert!(
        f.missing
            .iter()
            .any(|m| m.starts_with("place") && m.contains("front")),
        "{:?}",
        f.missing
    );
    // The same point with a small radius is decided.
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .at(35.995, 48.0, 100.0)]);
    assert_eq!(f.reason, Some(R::OutsideZones));
    // Straddling the edge of the hole, too.
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .at(36.902, 48.0, 1_000.0)]);
    assert_eq!(f.verdict, Verdict::Undetermined);
}

/// Only artillery against military targets is prohibited, anywhere.
const ARTILLERY_ONLY: &str = r#"
id = "artillery-only"
version = 1
title = "Artillery only"
[[parties]]
id = "RU"
name = "Russia"
[window]
start = "2025-03-01T00:00:00Z"
[[rules]]
id = "R1"
actions = ["artillery"]
targets = ["military"]
"#;

#[test]
fn an_action_no_rule_prohibits_is_permitted() {
    let f = judge_under(
        &agreement(ARTILLERY_ONLY),
        &[R0::new("a", "patrol", Monitor)
            .accusing("RU")
            .doing(ActionType::SmallArms, "military")],
    );
    assert_eq!(f.reason, Some(R::ActionPermitted));
}

#[test]
fn a_target_no_rule_protects() {
    let f = judge_under(
        &agreement(ARTILLERY_ONLY),
        &[R0::new("a", "patrol", Monitor)
            .accusing("RU")
            .doing(ActionType::Artillery, "civilian_residential")],
    );
    assert_eq!(f.reason, Some(R::TargetNotProtected));
    let unknown = judge_under(
        &agreement(ARTILLERY_ONLY),
        &[R0::new("a", "patrol", Monitor)
            .accusing("RU")
            .doing(ActionType::Artillery, "unknown")],
    );
    assert_eq!(
        unknown.verdict,
        Verdict::Undetermined,
        "an unknown target is not a no"
    );
    assert!(
        unknown.missing.iter().any(|m| m.starts_with("target")),
        "{:?}",
        unknown.missing
    );
}

#[test]
fn an_act_a_zoned_rule_covers_is_outside_zones_rather_than_permitted() {
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .at(33.0, 46.0, 100.0)
        .doing(ActionType::SmallArms, "military")]);
    assert_eq!(f.reason, Some(R::OutsideZones));
}

#[test]
fn energy_rule_applies_anywhere_and_covers_sub_kinds() {
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .at(33.0, 46.0, 100.0)
        .doing(ActionType::DroneStrike, "energy.power_transmission")]);
    assert_eq!(f.verdict, Verdict::Violation);
    assert_eq!(f.rules, ["R2"]);
}

#[test]
fn the_site_registry_gives_the_target() {
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .at(34.001, 46.001, 100.0)
        .doing(ActionType::DroneStrike, "unknown")]);
    assert_eq!(f.verdict, Verdict::Violation, "{:#?}", f.reasons);
    assert_eq!(f.site.as_deref(), Some("tpp"));
    assert_eq!(f.target.to_string(), "energy.power_generation");
}

#[test]
fn maybe_at_a_site_with_an_unknown_target_is_undetermined() {
    // About 1.1 km from the site's point with 500 m uncertainty: the disk straddles the
    // 1 km footprint.
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .at(34.0, 46.01, 500.0)
        .doing(ActionType::DroneStrike, "unknown")]);
    assert_eq!(f.verdict, Verdict::Undetermined, "{:#?}", f.reasons);
    assert!(
        f.missing.iter().any(|m| m.contains("site `tpp`")),
        "{:?}",
        f.missing
    );
}

#[test]
fn an_exception_permits_interception() {
    let f = judge(&[R0::new("a", "patrol", Monitor)
        .accusing("RU")
        .doing(ActionType::AirDefenceIntercept, "unknown")]);
    assert_eq!(
        (f.verdict, f.reason),
        (Verdict::NoViolation, Some(R::Exception))
    );
    assert_eq!(f.exceptions, ["E1"]);
}

#[test]
fn an_excluded_actor_is_not_covered() {
    let f = judge(&[R0::new("a", "media1", Media).accusing("Irregulars")]);
    assert_eq!(
        (f.verdict, f.reason),
        (Verdict::NoViolation, Some(R::ActorExcluded))
    );
}

const SMALL: &str = r#"
id = "small"
version = 1
title = "Small"
reciprocity = "release"
[[parties]]
id = "RU"
name = "Russia"
[[parties]]
id = "UA"
name = "Ukraine"
[window]
start = "2025-04-19T15:00:00Z"
end = "2025-04-20T21:00:00Z"
[[rules]]
id = "R1"
actions = ["*"]
targets = ["*"]
parties = ["RU"]
"#;

#[test]
fn a_party_no_rule_binds() {
    let f = judge_under(
        &agreement(SMALL),
        &[R0::new("a", "patrol", Monitor)
            .accusing("UA")
            .when("2025-04-20T10:00:00Z")],
    );
    assert_eq!(f.reason, Some(R::PartyNotBound));
}

#[test]
fn an_unmet_condition_means_not_in_force() {
    let text = SMALL.replace(
        "[[rules]]",
        "[[conditions]]\nid = \"c1\"\ntext = \"sanctions relief\"\n\n[[rules]]",
    );
    let f = judge_under(
        &agreement(&text),
        &[R0::new("a", "patrol", Monitor)
            .accusing("RU")
            .when("2025-04-20T10:00:00Z")],
    );
    assert_eq!(f.reason, Some(R::NotInForce));
    let met = text.replace(
        "text = \"sanctions relief\"",
        "text = \"sanctions relief\"\nmet = \"2025-04-20T12:00:00Z\"",
    );
    let before = judge_under(
        &agreement(&met),
        &[R0::new("a", "patrol", Monitor)
            .accusing("RU")
            .when("2025-04-20T10:00:00Z")],
    );
    assert_eq!(
        before.reason,
        Some(R::OutsideWindow),
        "in force only once the condition is met"
    );
}

#[test]
fn reciprocity_releases_the_other_party_after_the_first_violation() {
    let text = SMALL.replace("parties = [\"RU\"]\n", "");
    let a = agreement(&text);
    let (incidents, assessment) = run(
        &a,
        &[
            R0::new("a", "patrol", Monitor)
                .accusing("RU")
                .when("2025-04-19T16:00:00Z"),
            R0::new("b", "patrol", Monitor)
                .accusing("UA")
                .when("2025-04-19T18:00:00Z")
                .at(36.0, 47.0, 100.0),
            R0::new("c", "patrol", Monitor)
                .accusing("RU")
                .when("2025-04-19T19:00:00Z")
                .at(35.0, 47.0, 100.0),
        ],
    );
    assert_eq!(incidents.len(), 3);
    let by_id = |id: &str| {
        let i = incidents.iter().position(|x| x.id == id).unwrap();
        &assessment.findings[i]
    };
    assert_eq!(by_id("inc-a").verdict, Verdict::Violation);
    assert_eq!(
        by_id("inc-b").reason,
        Some(R::ReleasedByReciprocity),
        "{:#?}",
        by_id("inc-b").reasons
    );
    assert_eq!(
        by_id("inc-c").verdict,
        Verdict::Violation,
        "the first violator stays bound"
    );
    assert_eq!(assessment.releases.keys().collect::<Vec<_>>(), ["UA"]);
}

#[test]
fn the_summary_counts_every_finding_per_party() {
    let a = agreement(AGREEMENT);
    let (_, assessment) = run(
        &a,
        &[
            R0::new("a", "patrol", Monitor).accusing("RU"),
            R0::new("b", "ua_gs", Party)
                .accusing("RU")
                .at(36.5, 47.5, 100.0),
            R0::new("c", "patrol", Monitor).at(30.5, 50.5, 100.0),
            R0::new("d", "patrol", Monitor)
                .accusing("UA")
                .at(33.0, 46.0, 100.0)
                .doing(ActionType::SmallArms, "military"),
        ],
    );
    let s = &assessment.summary;
    assert_eq!(s.total.total(), 4);
    assert_eq!(s.parties["RU"].violation, 1);
    assert_eq!(s.parties["RU"].alleged, 1);
    assert_eq!(s.parties["UA"].no_violation["outside_zones"], 1);
    assert_eq!(s.parties["unattributed"].undetermined, 1);
}
