//! Corroboration on hand-made reports, order independence and thread-count independence.

use proptest::prelude::*;
use truce_engine::corroborate::{CorroborationParams, canonical_order, corroborate};
use truce_engine::geodesy::{geodesic_distance_m, metres_per_degree};
use truce_engine::incident::Incident;
use truce_model::{
    ActionType, Casualties, Location, Report, Source, SourceKind, Target, TargetKind, TimeSpan,
};

/// 1 March 2025 00:00 UTC.
const T0: i64 = 1_740_787_200_000;
const MINUTE: i64 = 60_000;
const LON: f64 = 37.80;
const LAT: f64 = 48.00;

fn report(id: &str, source: &str, east_m: f64, north_m: f64, radius_m: f64, minute: i64) -> Report {
    let (east_per_deg, north_per_deg) = metres_per_degree(LAT);
    Report {
        id: id.to_string().into(),
        source: Source {
            id: source.to_string().into(),
            kind: SourceKind::Monitor,
            party: None,
        }
        .into(),
        time: TimeSpan::instant(T0 + minute * MINUTE),
        location: Location {
            lon: LON + east_m / east_per_deg,
            lat: LAT + north_m / north_per_deg,
            uncertainty_m: radius_m,
        },
        action: ActionType::Artillery,
        target: Target::of(TargetKind::CivilianResidential),
        accused: None,
        casualties: Casualties::default(),
        details: truce_model::Details::default(),
    }
}

fn run(mut reports: Vec<Report>) -> (Vec<Report>, Vec<Incident>) {
    canonical_order(&mut reports);
    let incidents = corroborate(&reports, &CorroborationParams::default());
    check_invariants(&reports, &incidents, &CorroborationParams::default());
    (reports, incidents)
}

/// The incidents as lists of report ids.
fn id_groups(reports: &[Report], incidents: &[Incident]) -> Vec<Vec<String>> {
    incidents
        .iter()
        .map(|inc| {
            inc.members
                .iter()
                .map(|&m| reports[m as usize].id.to_string())
                .collect()
        })
        .collect()
}

fn groups(list: &[&[&str]]) -> Vec<Vec<String>> {
    list.iter()
        .map(|g| g.iter().map(|s| s.to_string()).collect())
        .collect()
}

/// What must hold of every corroboration result.
fn check_invariants(reports: &[Report], incidents: &[Incident], params: &CorroborationParams) {
    let mut seen = vec![false; reports.len()];
    for pair in incidents.windows(2) {
        assert!(pair[0].id < pair[1].id, "incidents sorted by id");
    }
    for incident in incidents {
        assert!(!incident.members.is_empty());
        assert!(incident.members.windows(2).all(|w| w[0] < w[1]));
        let smallest = &reports[incident.members[0] as usize].id;
        assert_eq!(incident.id, format!("inc-{smallest}"));
        assert_eq!(incident.attributions(reports).len(), incident.members.len());
        assert_eq!(incident.n_sources as usize, incident.members.len());
        for (i, &a) in incident.members.iter().enumerate() {
            assert!(!seen[a as usize], "report {a} in two incidents");
            seen[a as usize] = true;
            for &b in &incident.members[i + 1..] {
                let (ra, rb) = (&reports[a as usize], &reports[b as usize]);
                assert_ne!(
                    ra.source.id, rb.source.id,
                    "one source twice in {}",
                    incident.id
                );
                assert!(ra.action.compatible(rb.action));
                let distance = geodesic_distance_m(
                    (ra.location.lon, ra.location.lat),
                    (rb.location.lon, rb.location.lat),
                );
                assert!(distance <= params.max_extent_m.min(params.max_distance_m));
            }
        }
        let max_start = incident
            .members
            .iter()
            .map(|&m| reports[m as usize].time.start_ms)
            .max()
            .expect("an incident has members");
        let min_end = incident
            .members
            .iter()
            .map(|&m| reports[m as usize].time.end_ms)
            .min()
            .expect("an incident has members");
        assert!(max_start - min_end <= params.max_duration_s * 1000);
    }
    assert!(seen.iter().all(|&s| s), "every report in an incident");
}

#[test]
fn empty_input_gives_no_incidents() {
    assert!(corroborate(&[], &CorroborationParams::default()).is_empty());
}

#[test]
fn same_source_close_together_stays_apart() {
    let (reports, incidents) = run(vec![
        report("r1", "osce", 0.0, 0.0, 100.0, 0),
        report("r2", "osce", 50.0, 0.0, 100.0, 1),
    ]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1"], &["r2"]]));
}

#[test]
fn two_sources_close_together_corroborate() {
    let (reports, incidents) = run(vec![
        report("r1", "osce", 0.0, 0.0, 100.0, 0),
        report("r2", "ua_gs", 300.0, 0.0, 200.0, 5),
    ]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1", "r2"]]));
    assert_eq!(incidents[0].n_sources, 2);
}

#[test]
fn a_chain_whose_ends_are_too_far_apart_is_not_one_incident() {
    // A–B and B–C are 3 km apart, A–C 6 km (beyond max_extent_m); radii of 2 km make every
    // adjacent pair linkable (their disks meet).
    let (reports, incidents) = run(vec![
        report("a", "s1", 0.0, 0.0, 2000.0, 0),
        report("b", "s2", 3000.0, 0.0, 2000.0, 0),
        report("c", "s3", 6000.0, 0.0, 2000.0, 0),
    ]);
    let found = id_groups(&reports, &incidents);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .all(|g| !(g.contains(&"a".to_string()) && g.contains(&"c".to_string())))
    );
}

#[test]
fn two_hundred_shells_over_a_day_in_one_town_are_not_one_incident() {
    // One report every 7 minutes, each 1 km from the previous one around a 3 km circle,
    // alternating between five sources; radii of 600 m link every report to the next one,
    // so the link graph is one long chain.
    let reports: Vec<Report> = (0..200)
        .map(|i| {
            let angle = i as f64 * 1000.0 / 1500.0;
            report(
                &format!("s{i:03}"),
                &format!("src{}", i % 5),
                1500.0 * angle.cos(),
                1500.0 * angle.sin(),
                600.0,
                i * 7,
            )
        })
        .collect();
    let (_, incidents) = run(reports);
    let largest = incidents.iter().map(|i| i.members.len()).max().unwrap();
    assert!(incidents.len() >= 100, "{} incidents", incidents.len());
    assert!(largest <= 2, "largest incident has {largest} reports");
}

#[test]
fn incompatible_actions_stay_apart() {
    let mut drone = report("r2", "ua_gs", 100.0, 0.0, 100.0, 0);
    drone.action = ActionType::DroneStrike;
    let (reports, incidents) = run(vec![report("r1", "osce", 0.0, 0.0, 100.0, 0), drone]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1"], &["r2"]]));

    // Compatible but different: artillery heard as MLRS.
    let mut mlrs = report("r2", "ua_gs", 100.0, 0.0, 100.0, 0);
    mlrs.action = ActionType::Mlrs;
    let (reports, incidents) = run(vec![report("r1", "osce", 0.0, 0.0, 100.0, 0), mlrs]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1", "r2"]]));
}

#[test]
fn no_triple_of_pairwise_incompatible_actions_is_grouped() {
    // Missile–air strike and missile–intercept are compatible, air strike–intercept is not.
    let mut missile = report("r1", "s1", 0.0, 0.0, 500.0, 0);
    missile.action = ActionType::MissileStrike;
    let mut air = report("r2", "s2", 100.0, 0.0, 500.0, 0);
    air.action = ActionType::AirStrike;
    let mut intercept = report("r3", "s3", 200.0, 0.0, 500.0, 0);
    intercept.action = ActionType::AirDefenceIntercept;
    let (_, incidents) = run(vec![missile, air, intercept]);
    assert_eq!(incidents.len(), 2);
}

#[test]
fn time_gap_at_the_limit_links_and_just_over_does_not() {
    let params = CorroborationParams::default();
    let gap_ms = params.max_time_gap_s * 1000;
    let first = report("r1", "osce", 0.0, 0.0, 100.0, 0);
    let mut at_limit = report("r2", "ua_gs", 0.0, 0.0, 100.0, 0);
    at_limit.time = TimeSpan::instant(T0 + gap_ms);
    let (reports, incidents) = run(vec![first.clone(), at_limit.clone()]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1", "r2"]]));

    let mut over = at_limit;
    over.time = TimeSpan::instant(T0 + gap_ms + 1);
    let (reports, incidents) = run(vec![first, over]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1"], &["r2"]]));
}

#[test]
fn distance_limit_follows_the_uncertainty() {
    // Disks that do not meet: two events (limit 900 + 1000 = 1900 m).
    let (reports, incidents) = run(vec![
        report("r1", "osce", 0.0, 0.0, 900.0, 0),
        report("r2", "ua_gs", 2000.0, 0.0, 1000.0, 0),
    ]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1"], &["r2"]]));
    // Disks that meet: one event (limit 1000 + 1100 = 2100 m).
    let (reports, incidents) = run(vec![
        report("r1", "osce", 0.0, 0.0, 1000.0, 0),
        report("r2", "ua_gs", 2000.0, 0.0, 1100.0, 0),
    ]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1", "r2"]]));
    // "Exact" reports count as 50 m: 90 m apart they meet, 110 m apart they do not.
    let (reports, incidents) = run(vec![
        report("r1", "osce", 0.0, 0.0, 0.0, 0),
        report("r2", "ua_gs", 90.0, 0.0, 0.0, 0),
    ]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1", "r2"]]));
    let (reports, incidents) = run(vec![
        report("r1", "osce", 0.0, 0.0, 0.0, 0),
        report("r2", "ua_gs", 110.0, 0.0, 0.0, 0),
    ]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1"], &["r2"]]));
    // A looser rule links them: k = 2, c = 500 m gives 2·(900 + 1000) + 500 = 4300 m.
    let mut pair = vec![
        report("r1", "osce", 0.0, 0.0, 900.0, 0),
        report("r2", "ua_gs", 2000.0, 0.0, 1000.0, 0),
    ];
    canonical_order(&mut pair);
    let loose = CorroborationParams {
        uncertainty_factor: 2.0,
        link_slack_m: 500.0,
        ..CorroborationParams::default()
    };
    assert_eq!(corroborate(&pair, &loose).len(), 1);
}

#[test]
fn an_interval_report_joins_an_instant_report() {
    let mut window = report("r1", "media", 200.0, 0.0, 1000.0, 0);
    window.time = TimeSpan {
        start_ms: T0,
        end_ms: T0 + 120 * MINUTE,
    };
    let instant = report("r2", "osce", 0.0, 0.0, 100.0, 75);
    let (reports, incidents) = run(vec![window, instant]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1", "r2"]]));
    // The intersection of a window and an instant inside it is the instant.
    assert_eq!(incidents[0].time, TimeSpan::instant(T0 + 75 * MINUTE));
}

#[test]
fn derived_fields() {
    let mut ua = report("ua-7", "ua_gs", 0.0, 0.0, 200.0, 10);
    std::sync::Arc::make_mut(&mut ua.source).kind = SourceKind::Party;
    std::sync::Arc::make_mut(&mut ua.source).party = Some("ua".into());
    ua.accused = Some("ru".into());
    ua.casualties = Casualties {
        civilian_killed: 2,
        civilian_injured: 5,
        ..Casualties::default()
    };
    let mut ru = report("ru-3", "ru_mod", 150.0, 0.0, 300.0, 20);
    std::sync::Arc::make_mut(&mut ru.source).kind = SourceKind::Party;
    std::sync::Arc::make_mut(&mut ru.source).party = Some("ru".into());
    ru.accused = Some("ua".into());
    ru.casualties = Casualties {
        civilian_killed: 3,
        civilian_injured: 1,
        ..Casualties::default()
    };
    let mut osce = report("osce-1", "osce", 50.0, 0.0, 100.0, 15);
    osce.details.make_mut().actors = vec![
        "Armed Forces of Ukraine".into(),
        "Russian Armed Forces".into(),
    ];
    osce.details.make_mut().site = Some("zaporizhzhia_npp".into());

    let (reports, incidents) = run(vec![ua, ru, osce]);
    assert_eq!(incidents.len(), 1);
    let incident = &incidents[0];
    assert_eq!(incident.id, "inc-osce-1");
    assert_eq!(incident.members[..], [0, 1, 2]);
    assert_eq!(reports[0].id, "osce-1");
    // Three instants: no common instant, so the hull.
    assert_eq!(
        incident.time,
        TimeSpan {
            start_ms: T0 + 10 * MINUTE,
            end_ms: T0 + 20 * MINUTE
        }
    );
    // Maximum, not sum.
    assert_eq!(
        incident.casualties,
        Casualties {
            civilian_killed: 3,
            civilian_injured: 5,
            ..Casualties::default()
        }
    );
    assert_eq!(incident.site.as_deref(), Some("zaporizhzhia_npp"));
    // Attributions side by side, by source id.
    let attributions = incident.attributions(&reports);
    let sides: Vec<(&str, Option<&str>)> = attributions
        .iter()
        .map(|a| (a.source.id.as_str(), a.accused.as_deref()))
        .collect();
    assert_eq!(
        sides,
        vec![
            ("osce", None),
            ("ru_mod", Some("ua")),
            ("ua_gs", Some("ru"))
        ]
    );
    assert_eq!(attributions[0].actors().len(), 2);
    assert_eq!(attributions[1].source.party.as_deref(), Some("ru"));
    assert_eq!(incident.n_sources, 3);

    // Overlapping windows: the intersection.
    let mut a = report("a", "s1", 0.0, 0.0, 100.0, 0);
    a.time = TimeSpan {
        start_ms: T0,
        end_ms: T0 + 60 * MINUTE,
    };
    let mut b = report("b", "s2", 0.0, 0.0, 100.0, 0);
    b.time = TimeSpan {
        start_ms: T0 + 30 * MINUTE,
        end_ms: T0 + 90 * MINUTE,
    };
    let (_, incidents) = run(vec![a, b]);
    assert_eq!(
        incidents[0].time,
        TimeSpan {
            start_ms: T0 + 30 * MINUTE,
            end_ms: T0 + 60 * MINUTE
        }
    );
}

#[test]
fn a_third_report_joins_the_closer_event() {
    // Two events 2.5 km apart, each reported by two sources with 1.2 km radii (the two
    // events cannot merge: 2.5 km > 2.4 km); a third source's report is linkable to both and
    // sits nearer the second event.
    let (reports, incidents) = run(vec![
        report("a1", "s1", 0.0, 0.0, 1200.0, 0),
        report("a2", "s2", 100.0, 0.0, 1200.0, 2),
        report("b1", "s1", 2500.0, 0.0, 1200.0, 4),
        report("b2", "s2", 2450.0, 80.0, 1200.0, 5),
        report("x", "s3", 2200.0, 0.0, 1200.0, 3),
    ]);
    assert_eq!(
        id_groups(&reports, &incidents),
        groups(&[&["a1", "a2"], &["b1", "b2", "x"]])
    );
}

#[test]
fn invalid_parameters_link_nothing() {
    let mut reports = vec![
        report("r1", "osce", 0.0, 0.0, 100.0, 0),
        report("r2", "ua_gs", 0.0, 0.0, 100.0, 0),
    ];
    canonical_order(&mut reports);
    let params = CorroborationParams {
        max_distance_m: f64::NAN,
        ..CorroborationParams::default()
    };
    assert!(params.validate().is_err());
    assert_eq!(corroborate(&reports, &params).len(), 2);
    assert!(CorroborationParams::default().validate().is_ok());
}

#[test]
fn params_from_the_default_policy_are_the_defaults() {
    let policy = truce_model::agreement::CorroborationPolicy::default();
    assert_eq!(
        CorroborationParams::from(&policy),
        CorroborationParams::default()
    );
}

#[test]
fn params_deserialize_with_defaults() {
    let params: CorroborationParams =
        serde_json::from_str(r#"{"max_distance_m": 3000.0, "max_duration_s": 3600}"#).unwrap();
    assert_eq!(params.max_distance_m, 3000.0);
    assert_eq!(params.max_duration_s, 3600);
    assert_eq!(
        params.max_time_gap_s,
        CorroborationParams::default().max_time_gap_s
    );
}

#[test]
fn reports_across_the_antimeridian_corroborate() {
    let mut west = report("r1", "osce", 0.0, 0.0, 100.0, 0);
    west.location.lon = 179.999;
    west.location.lat = 65.0;
    let mut east = report("r2", "media", 0.0, 0.0, 100.0, 0);
    east.location.lon = -179.999;
    east.location.lat = 65.0;
    let (reports, incidents) = run(vec![west, east]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1", "r2"]]));
}

#[test]
fn pairs_spread_over_the_globe_corroborate() {
    // A bounding box of the whole world in 5 km cells: the grid sorts by key rather than by
    // counting cells.
    let mut reports = Vec::new();
    for i in 0..500u32 {
        let lon = -179.0 + f64::from(i * 7919 % 3580) / 10.0;
        let lat = -70.0 + f64::from(i * 104_729 % 1400) / 10.0;
        for (k, source) in ["osce", "media"].iter().enumerate() {
            let mut r = report(
                &format!("g{i:03}-{k}"),
                source,
                0.0,
                0.0,
                200.0,
                i64::from(i),
            );
            r.location.lon = lon + k as f64 * 0.0005;
            r.location.lat = lat;
            reports.push(r);
        }
    }
    let (reports, incidents) = run(reports);
    assert_eq!(incidents.len(), 500);
    for incident in &incidents {
        let ids: Vec<&str> = incident
            .members
            .iter()
            .map(|&m| reports[m as usize].id.as_str())
            .collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert_eq!(ids[0][..4], ids[1][..4]);
    }
}

#[test]
fn unusable_positions_stay_alone() {
    let mut nowhere = report("r2", "media", 0.0, 0.0, 100.0, 0);
    nowhere.location.lat = f64::NAN;
    let (reports, incidents) = run(vec![report("r1", "osce", 0.0, 0.0, 100.0, 0), nowhere]);
    assert_eq!(id_groups(&reports, &incidents), groups(&[&["r1"], &["r2"]]));
}

/// A random set of reports: clusters of nearby reports from distinct-ish sources, plus noise.
fn report_set() -> impl Strategy<Value = Vec<Report>> {
    let member = (
        0u8..6,
        -600.0..600.0f64,
        -600.0..600.0f64,
        prop_oneof![Just(0.0), 20.0..1500.0f64],
        0i64..40,
        0usize..4,
    );
    let cluster = (
        -8000.0..8000.0f64,
        -8000.0..8000.0f64,
        0i64..600,
        prop::collection::vec(member, 1..5),
    );
    let noise = (
        0u8..6,
        -10000.0..10000.0f64,
        -10000.0..10000.0f64,
        0.0..3000.0f64,
        0i64..700,
        0usize..4,
    );
    (
        prop::collection::vec(cluster, 0..10),
        prop::collection::vec(noise, 0..10),
    )
        .prop_map(|(clusters, noise)| {
            let actions = [
                ActionType::Artillery,
                ActionType::Mlrs,
                ActionType::DroneStrike,
                ActionType::AirDefenceIntercept,
            ];
            let mut reports = Vec::new();
            for (east, north, minute, members) in clusters {
                for (source, de, dn, radius, dt, action) in members {
                    let mut r = report(
                        &format!("c{:03}", reports.len()),
                        &format!("src{source}"),
                        east + de,
                        north + dn,
                        radius,
                        minute + dt,
                    );
                    r.action = actions[action];
                    reports.push(r);
                }
            }
            for (source, east, north, radius, minute, action) in noise {
                let mut r = report(
                    &format!("n{:03}", reports.len()),
                    &format!("src{source}"),
                    east,
                    north,
                    radius,
                    minute,
                );
                r.action = actions[action];
                if minute % 3 == 0 {
                    r.time.end_ms = r.time.start_ms + 90 * MINUTE;
                }
                reports.push(r);
            }
            reports
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn output_depends_only_on_the_set_of_reports(
        (reports, shuffled) in report_set().prop_flat_map(|r| (Just(r.clone()), Just(r).prop_shuffle()))
    ) {
        let params = CorroborationParams::default();
        let mut reports = reports;
        let mut shuffled = shuffled;
        canonical_order(&mut reports);
        canonical_order(&mut shuffled);
        let first = corroborate(&reports, &params);
        let second = corroborate(&shuffled, &params);
        check_invariants(&reports, &first, &params);
        prop_assert_eq!(format!("{first:?}"), format!("{second:?}"));
    }

    #[test]
    fn unsorted_input_gives_the_same_groups(reports in report_set()) {
        // Not the documented use, but the grouping itself must not depend on the order.
        let params = CorroborationParams::default();
        let mut sorted = reports.clone();
        canonical_order(&mut sorted);
        let from_unsorted = id_groups(&reports, &corroborate(&reports, &params));
        let from_sorted = id_groups(&sorted, &corroborate(&sorted, &params));
        prop_assert_eq!(from_unsorted, from_sorted);
    }
}

#[test]
fn thread_count_does_not_change_the_result() {
    let mut reports = Vec::new();
    for i in 0..3000i64 {
        let cluster = i / 3;
        let east = ((cluster * 7919) % 40_000) as f64;
        let north = ((cluster * 104_729) % 40_000) as f64;
        reports.push(report(
            &format!("r{i:05}"),
            &format!("src{}", i % 4),
            east + (i % 3) as f64 * 150.0,
            north,
            250.0,
            (cluster * 13) % 1440 + i % 3,
        ));
    }
    canonical_order(&mut reports);
    let params = CorroborationParams::default();
    let run_with = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| format!("{:?}", corroborate(&reports, &params)))
    };
    let one = run_with(1);
    assert_eq!(one, run_with(2));
    assert_eq!(one, run_with(3));
}
