//! Live findings equal the batch job's, whatever the order and batching of the reports.
#![allow(clippy::unwrap_used)] // test helpers may panic: that is a test failure

use std::sync::Arc;

use proptest::prelude::*;
use truce_engine::assess::Assessor;
use truce_engine::assess::{Summary, assess};
use truce_engine::corroborate::{CorroborationParams, corroborate, corroborate_reviewed};
use truce_engine::intake::{Origin, Origins, merge};
use truce_engine::live::{Insertion, Live, LiveSnapshot, LiveView};
use truce_engine::review::{Annotation, Decision, Retraction, Review, ReviewIndex};
use truce_model::agreement::{Agreement, MemoryFiles, load};
use truce_model::{
    ActionType, Casualties, Location, Report, Source, SourceKind, Target, TargetKind, TimeSpan,
};

/// A zone over the test area, a rule for any fire in it, a rule protecting energy
/// everywhere; parties bound from 25 March 2025 06:00 UTC.
const AGREEMENT: &str = r#"
id = "live-test"
version = 1
title = "Live test"

[[parties]]
id = "RU"
name = "Russia"
aliases = ["ru_mod"]

[[parties]]
id = "UA"
name = "Ukraine"
aliases = ["ua_gs"]

[window]
time_zone = "UTC"
start = "2025-03-25T06:00:00"
end = "2025-04-25T00:00:00"

[[zones]]
id = "front"
name = "Front"
geometry = { type = "Polygon", coordinates = [[[37.0, 47.5], [38.0, 47.5], [38.0, 48.5], [37.0, 48.5], [37.0, 47.5]]] }

[[rules]]
id = "R1"
text = "No fire of any kind in the front zone"
actions = ["*"]
targets = ["*"]
zones = ["front"]

[[rules]]
id = "R2"
text = "No strikes on energy anywhere"
actions = ["missile_strike", "drone_strike", "artillery"]
targets = ["energy"]
"#;

fn agreements() -> Vec<Arc<Agreement>> {
    let plain = load("live.toml", AGREEMENT, &MemoryFiles::default())
        .unwrap()
        .remove(0);
    let reciprocal_text = AGREEMENT.replace(
        "title = \"Live test\"",
        "title = \"Live test, reciprocal\"\nreciprocity = \"release\"",
    );
    let reciprocal = load("live.toml", &reciprocal_text, &MemoryFiles::default())
        .unwrap()
        .remove(0);
    vec![Arc::new(plain), Arc::new(reciprocal)]
}

const SOURCES: [(&str, SourceKind, Option<&str>); 5] = [
    ("osce", SourceKind::Monitor, None),
    ("ua_gs", SourceKind::Party, Some("UA")),
    ("ru_mod", SourceKind::Party, Some("RU")),
    ("kyiv_media", SourceKind::Media, None),
    ("osint_a", SourceKind::Osint, None),
];
const ACTIONS: [ActionType; 3] = [
    ActionType::Artillery,
    ActionType::Mlrs,
    ActionType::DroneStrike,
];
const TARGETS: [TargetKind; 3] = [
    TargetKind::CivilianResidential,
    TargetKind::Energy,
    TargetKind::Military,
];
/// Where events happen: three spots inside the zone, one on its edge, one far outside.
const SPOTS: [(f64, f64); 5] = [
    (37.50, 48.00),
    (37.52, 48.01),
    (37.30, 47.80),
    (38.00, 48.20),
    (30.50, 50.45),
];
/// 25 March 2025 00:00 UTC.
const DAY_MS: i64 = 1_742_860_800_000;

/// One generated report: indices into the tables plus offsets.
#[derive(Debug, Clone)]
struct Draft {
    spot: usize,
    dlon: f64,
    dlat: f64,
    radius: usize,
    minutes: i64,
    width_minutes: i64,
    source: usize,
    action: usize,
    target: usize,
    accused: usize,
}

fn draft() -> impl Strategy<Value = Draft> {
    (
        (0..SPOTS.len(), -0.02..0.02f64, -0.02..0.02f64, 0..4usize),
        (0..16 * 60i64, prop_oneof![Just(0i64), 1..90i64]),
        (
            0..SOURCES.len(),
            0..ACTIONS.len(),
            0..TARGETS.len(),
            0..3usize,
        ),
    )
        .prop_map(
            |(
                (spot, dlon, dlat, radius),
                (minutes, width_minutes),
                (source, action, target, accused),
            )| {
                Draft {
                    spot,
                    dlon,
                    dlat,
                    radius,
                    minutes,
                    width_minutes,
                    source,
                    action,
                    target,
                    accused,
                }
            },
        )
}

fn report(id: String, d: &Draft) -> Report {
    let (source, kind, party) = SOURCES[d.source];
    let (lon, lat) = SPOTS[d.spot];
    let start_ms = DAY_MS + d.minutes * 60_000;
    Report {
        id: id.into(),
        source: std::sync::Arc::new(Source {
            id: source.into(),
            kind,
            party: party.map(Into::into),
        }),
        time: TimeSpan {
            start_ms,
            end_ms: start_ms + d.width_minutes * 60_000,
        },
        location: Location {
            lon: lon + d.dlon,
            lat: lat + d.dlat,
            uncertainty_m: [0.0, 300.0, 1500.0, 4000.0][d.radius],
        },
        action: ACTIONS[d.action],
        target: Target::of(TARGETS[d.target]),
        accused: [None, Some("RU"), Some("UA")][d.accused].map(Into::into),
        casualties: Casualties::default(),
        details: truce_model::Details::default(),
    }
}

/// The batch job over every copy handed in (duplicates included).
fn batch(copies: &[Report], agreements: &[Arc<Agreement>]) -> LiveSnapshot {
    let origins: Origins = (0..copies.len())
        .map(|row| Origin {
            file: Arc::from("in.csv"),
            row: row as u64 + 1,
        })
        .collect();
    let (reports, _rejections) = merge(copies.to_vec(), origins);
    let params = CorroborationParams::from(&agreements[0].corroboration);
    let incidents = corroborate(&reports, &params);
    let mut findings = Vec::new();
    let mut releases = Vec::new();
    for agreement in agreements {
        let assessment = assess(agreement, &reports, &incidents).unwrap();
        findings.push(assessment.findings);
        releases.push(assessment.releases);
    }
    LiveSnapshot {
        reports,
        incidents,
        findings,
        releases,
    }
}

/// The batch job under monitors' decisions, applied in the order given.
fn batch_reviewed(
    copies: &[Report],
    annotations: &[Annotation],
    agreements: &[Arc<Agreement>],
) -> LiveSnapshot {
    let origins: Origins = (0..copies.len())
        .map(|row| Origin {
            file: Arc::from("in.csv"),
            row: row as u64 + 1,
        })
        .collect();
    let (reports, _rejections) = merge(copies.to_vec(), origins);
    let reviews = Arc::new(ReviewIndex::from_annotations(annotations));
    let params = CorroborationParams::from(&agreements[0].corroboration);
    let incidents = corroborate_reviewed(&reports, &params, &reviews);
    let mut findings = Vec::new();
    let mut releases = Vec::new();
    for agreement in agreements {
        let assessment = Assessor::reviewed(agreement, &reports, &incidents, reviews.clone())
            .unwrap()
            .assess();
        findings.push(assessment.findings);
        releases.push(assessment.releases);
    }
    LiveSnapshot {
        reports,
        incidents,
        findings,
        releases,
    }
}

/// One generated decision: which kind, which reports (indices, some beyond the reports
/// held), and for a retraction whether the report's own source makes it.
fn annotation_draft() -> impl Strategy<Value = (usize, Vec<usize>, usize)> {
    (
        0..8usize,
        prop::collection::vec(0..80usize, 1..4),
        0..3usize,
    )
}

fn annotation(
    n: usize,
    (kind, picks, extra): (usize, Vec<usize>, usize),
    reports: &[Report],
) -> Annotation {
    let ids: Vec<truce_model::SmolStr> = picks.iter().map(|i| format!("r{i:03}").into()).collect();
    let decision = match kind {
        0 => Decision::Confirm,
        1 => Decision::Reject,
        2 => Decision::Reattribute([None, Some("RU"), Some("UA")][extra].map(Into::into)),
        3 | 4 => Decision::Merge,
        5 => Decision::Split,
        _ => {
            // A retraction, by the report's own source or by another.
            let report_id = ids[0].clone();
            let owner = reports
                .iter()
                .find(|r| r.id == report_id)
                .map(|r| r.source.id.clone())
                .unwrap_or_else(|| "nobody".into());
            let source_id = if extra == 0 { "osint_a".into() } else { owner };
            return Annotation::Retraction(Retraction {
                source_id,
                report_id,
            });
        }
    };
    Annotation::Review(Review {
        review_id: format!("rv{n:02}").into(),
        reviewer: "osce".into(),
        decision,
        reports: ids,
    })
}

/// Feeds `copies` to a live state in `order`, cut into batches at `cuts`.
fn live(copies: &[Report], order: &[usize], cuts: &[usize], agreements: &[Arc<Agreement>]) -> Live {
    let params = CorroborationParams::from(&agreements[0].corroboration);
    let mut state = Live::new(agreements.to_vec(), params).unwrap();
    let mut start = 0;
    for end in cuts.iter().copied().chain([order.len()]) {
        let end = end.clamp(start, order.len());
        let batch: Vec<Report> = order[start..end]
            .iter()
            .map(|&i| copies[i].clone())
            .collect();
        state.insert_batch(batch);
        start = end;
    }
    state
}

fn assert_same(live: &LiveSnapshot, batch: &LiveSnapshot) {
    assert_eq!(live.reports, batch.reports, "reports");
    assert_eq!(
        serde_json::to_string(&live.incidents).unwrap(),
        serde_json::to_string(&batch.incidents).unwrap(),
        "incidents"
    );
    assert_eq!(live.incidents, batch.incidents);
    assert_eq!(live.releases, batch.releases, "releases");
    assert_eq!(
        serde_json::to_string(&live.findings).unwrap(),
        serde_json::to_string(&batch.findings).unwrap(),
        "findings"
    );
}

/// The reports of `drafts` (ids `r000`, `r001`…), then for each `(pick, conflicting)` a copy
/// of one of them: identical, or with a different position (a conflicting copy).
fn with_copies(drafts: &[Draft], copies: Vec<(usize, bool)>) -> Vec<Report> {
    let mut reports: Vec<Report> = drafts
        .iter()
        .enumerate()
        .map(|(i, d)| report(format!("r{i:03}"), d))
        .collect();
    for (pick, conflicting) in copies {
        let mut copy = reports[pick % drafts.len()].clone();
        if conflicting {
            copy.location.lon += 0.001;
        }
        reports.push(copy);
    }
    reports
}

/// A permutation of `0..n` from a seed (Fisher–Yates with a small LCG).
fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed | 1;
    for i in (1..n).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = (state >> 33) as usize % (i + 1);
        order.swap(i, j);
    }
    order
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn live_findings_equal_the_batch_job(
        drafts in prop::collection::vec(draft(), 1..70),
        copies in prop::collection::vec((0..70usize, any::<bool>()), 0..6),
        seed in any::<u64>(),
        cuts in prop::collection::vec(0..80usize, 0..5),
    ) {
        let agreements = agreements();
        let reports = with_copies(&drafts, copies);
        let order = permutation(reports.len(), seed);
        let mut cuts = cuts;
        cuts.sort_unstable();
        let state = live(&reports, &order, &cuts, &agreements);
        assert_same(&state.snapshot(), &batch(&reports, &agreements));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Reviews and retractions arriving between the reports (some before the reports they
    /// name) give the state the batch job gives under the same decisions.
    #[test]
    fn live_findings_under_reviews_equal_the_batch_job(
        drafts in prop::collection::vec(draft(), 1..60),
        decisions in prop::collection::vec((annotation_draft(), 0..100usize), 0..8),
        seed in any::<u64>(),
    ) {
        let agreements = agreements();
        let reports: Vec<Report> = drafts
            .iter()
            .enumerate()
            .map(|(i, d)| report(format!("r{i:03}"), d))
            .collect();
        let mut placed: Vec<(usize, Annotation)> = decisions
            .into_iter()
            .enumerate()
            .map(|(n, (draft, at))| (at * reports.len() / 100, annotation(n, draft, &reports)))
            .collect();
        placed.sort_by_key(|(at, _)| *at);
        let annotations: Vec<Annotation> = placed.iter().map(|(_, a)| a.clone()).collect();

        let order = permutation(reports.len(), seed);
        let params = CorroborationParams::from(&agreements[0].corroboration);
        let mut state = Live::new(agreements.clone(), params).unwrap();
        let mut next = placed.iter().peekable();
        for (fed, &i) in order.iter().enumerate() {
            while let Some((_, a)) = next.next_if(|(at, _)| *at <= fed) {
                state.annotate(std::slice::from_ref(a));
            }
            state.insert(reports[i].clone());
        }
        let rest: Vec<Annotation> = next.map(|(_, a)| a.clone()).collect();
        state.annotate(&rest);
        assert_same(&state.snapshot(), &batch_reviewed(&reports, &annotations, &agreements));
    }
}

#[test]
fn reviews_confirm_reattribute_merge_split_and_reject() {
    let agreements = agreements();
    let params = CorroborationParams::from(&agreements[0].corroboration);
    let mut state = Live::new(agreements.clone(), params).unwrap();
    // Two media reports of RU fire at one spot (not established: one voice each, two
    // voices needed), and a party report far away in time.
    let d = Draft {
        spot: 0,
        dlon: 0.0,
        dlat: 0.0,
        radius: 1,
        minutes: 600,
        width_minutes: 0,
        source: 3,
        action: 0,
        target: 2,
        accused: 1,
    };
    let reports = vec![
        report("a".into(), &d),
        report(
            "b".into(),
            &Draft {
                source: 4,
                ..d.clone()
            },
        ),
        report(
            "c".into(),
            &Draft {
                source: 1,
                minutes: 900,
                ..d.clone()
            },
        ),
    ];
    state.insert_batch(reports.clone());
    assert_eq!(
        state.n_incidents(),
        2,
        "a and b corroborate; c is hours later"
    );
    let verdict = |state: &Live, id: &str| {
        let (_, _, findings) = state.incident(id).unwrap();
        (
            findings[0].verdict,
            findings[0].parties.clone(),
            findings[0]
                .reasons
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        verdict(&state, "inc-a").0,
        truce_engine::adjudicate::Verdict::Violation
    );

    let review = |id: &str, decision: Decision, reports: &[&str]| {
        Annotation::Review(Review {
            review_id: id.into(),
            reviewer: "osce".into(),
            decision,
            reports: reports.iter().map(|&r| r.into()).collect(),
        })
    };
    let mut annotations = Vec::new();
    // Reattribute b to UA: the incident is now disputed.
    annotations.push(review(
        "rv1",
        Decision::Reattribute(Some("UA".into())),
        &["b"],
    ));
    state.annotate(&annotations[0..1]);
    let (verdict_now, parties, reasons) = verdict(&state, "inc-a");
    assert_eq!(verdict_now, truce_engine::adjudicate::Verdict::Disputed);
    assert_eq!(parties, ["RU", "UA"]);
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("review `rv1` by `osce` attributes report `b` to UA")),
        "{reasons:?}"
    );

    // Merge c into a and b.
    annotations.push(review("rv2", Decision::Merge, &["a", "b", "c"]));
    state.annotate(&annotations[1..2]);
    assert_eq!(state.n_incidents(), 1);
    let (incident, members, _) = state.incident("inc-a").unwrap();
    assert_eq!(members, ["a", "b", "c"]);
    assert_eq!(incident.members.len(), 3);

    // Split b off again.
    annotations.push(review("rv3", Decision::Split, &["b"]));
    state.annotate(&annotations[2..3]);
    assert_eq!(state.n_incidents(), 2);
    assert_eq!(state.incident("inc-b").unwrap().1, ["b"]);
    assert_eq!(state.incident("inc-a").unwrap().1, ["a", "c"]);

    // Reject c; confirm b alone: established by the review.
    annotations.push(review("rv4", Decision::Reject, &["c"]));
    annotations.push(review("rv5", Decision::Confirm, &["b"]));
    state.annotate(&annotations[3..5]);
    assert_eq!(state.incident("inc-a").unwrap().1, ["a"]);
    let (_, _, reasons) = verdict(&state, "inc-b");
    assert!(
        reasons.iter().any(|r| r.contains("confirms the event")),
        "{reasons:?}"
    );

    // A retraction by someone else is ignored; by the source it withdraws the report.
    annotations.push(Annotation::Retraction(Retraction {
        source_id: "osce".into(),
        report_id: "a".into(),
    }));
    annotations.push(Annotation::Retraction(Retraction {
        source_id: "kyiv_media".into(),
        report_id: "a".into(),
    }));
    state.annotate(&annotations[5..7]);
    assert!(state.incident("inc-a").is_none());
    assert_same(
        &state.snapshot(),
        &batch_reviewed(&reports, &annotations, &agreements),
    );
}

#[test]
fn a_simulated_front_line_month_fed_in_random_batches_equals_the_batch_job() {
    let scenario = truce_sim::Scenario::default_scenario(11).scaled_to(1_500);
    let simulation = truce_sim::simulate(&scenario).unwrap();
    let agreements = agreements();
    let reports = simulation.reports;
    let order = permutation(reports.len(), 42);
    let cuts: Vec<usize> = (1..40).map(|i| i * 37).collect();
    let state = live(&reports, &order, &cuts, &agreements);
    let snapshot = state.snapshot();
    let expected = batch(&reports, &agreements);
    assert!(
        expected.incidents.len() > 100,
        "{}",
        expected.incidents.len()
    );
    assert!(
        expected.incidents.iter().any(|i| i.members.len() > 1),
        "the simulation corroborates some reports"
    );
    assert_same(&snapshot, &expected);
    // Counting in parallel gives the counts one by one gives.
    for (agreement, findings) in agreements.iter().zip(&expected.findings) {
        let mut parallel = Summary::new(agreement);
        parallel.count_all(findings);
        assert_eq!(parallel, Summary::of(agreement, findings));
        assert_eq!(parallel.total.total(), findings.len() as u64);
    }
}

#[test]
fn copies_count_once_and_conflicting_copies_withdraw_the_report() {
    let agreements = agreements();
    let params = CorroborationParams::from(&agreements[0].corroboration);
    let mut state = Live::new(agreements, params).unwrap();
    let d = Draft {
        spot: 0,
        dlon: 0.0,
        dlat: 0.0,
        radius: 1,
        minutes: 600,
        width_minutes: 0,
        source: 0,
        action: 0,
        target: 0,
        accused: 1,
    };
    let first = report("a".into(), &d);
    let second = report(
        "b".into(),
        &Draft {
            source: 1,
            ..d.clone()
        },
    );
    assert_eq!(state.insert(first.clone()), Insertion::Added);
    assert_eq!(state.insert(second), Insertion::Added);
    assert_eq!(
        state.n_incidents(),
        1,
        "a monitor and a party report of one event"
    );
    assert_eq!(state.insert(first.clone()), Insertion::Identical);
    assert_eq!(state.n_reports(), 2);
    let mut changed = first;
    changed.location.lat += 0.0001;
    assert_eq!(state.insert(changed.clone()), Insertion::Conflict);
    assert_eq!(state.n_reports(), 1, "the conflicting id is withdrawn");
    let (_, members, findings) = state.incident("inc-b").unwrap();
    assert_eq!(members, ["b"]);
    assert_eq!(state.incident_holding("b").unwrap().1, ["b"]);
    assert!(state.incident_holding("a").is_none(), "a is withdrawn");
    assert_eq!(findings.len(), 2);
    assert_eq!(state.insert(changed), Insertion::Conflict);
    assert!(state.incident("inc-a").is_none());
}

#[test]
fn an_earlier_violation_arriving_late_moves_the_reciprocity_release() {
    let agreements = agreements();
    let params = CorroborationParams::from(&agreements[0].corroboration);
    let mut state = Live::new(agreements.clone(), params).unwrap();
    // Monitor reports RU fire in the zone at 12:00, then UA fire far away at 10:00.
    let ru = Draft {
        spot: 0,
        dlon: 0.0,
        dlat: 0.0,
        radius: 1,
        minutes: 12 * 60,
        width_minutes: 0,
        source: 0,
        action: 0,
        target: 0,
        accused: 1,
    };
    let ua = Draft {
        spot: 2,
        minutes: 10 * 60,
        accused: 2,
        ..ru.clone()
    };
    let reports = vec![report("x1".into(), &ru), report("x2".into(), &ua)];
    state.insert(reports[0].clone());
    let released_first = state.snapshot().releases[1].clone();
    assert!(released_first.contains_key("UA"), "{released_first:?}");
    state.insert(reports[1].clone());
    let snapshot = state.snapshot();
    assert!(
        snapshot.releases[1].contains_key("RU"),
        "{:?}",
        snapshot.releases[1]
    );
    assert_same(&snapshot, &batch(&reports, &agreements));
}

/// Checks that `view` shows what `snapshot` shows: the same incidents in the same order, the
/// same members (a view's slots named through `slot_ids`, a snapshot's positions through its
/// reports) and the same findings.
fn assert_view_shows(view: &LiveView, slot_ids: &[String], snapshot: &LiveSnapshot) {
    assert_eq!(view.len(), snapshot.incidents.len(), "incident count");
    for (position, (incident, findings)) in view.iter().enumerate() {
        let expected = &snapshot.incidents[position];
        let members: Vec<&str> = incident
            .members
            .iter()
            .map(|&slot| slot_ids[slot as usize].as_str())
            .collect();
        let expected_members: Vec<&str> = expected
            .members
            .iter()
            .map(|&index| snapshot.reports[index as usize].id.as_str())
            .collect();
        assert_eq!(members, expected_members, "members of {}", expected.id);
        let mut renumbered = incident.clone();
        renumbered.members = expected.members.clone();
        assert_eq!(&renumbered, expected);
        assert_eq!(view.position(&expected.id), Some(position));
        for (agreement, finding) in findings.iter().enumerate() {
            assert_eq!(finding, &snapshot.findings[agreement][position]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A view shows what a full snapshot taken at the same moment shows, and later reports
    /// (new ones, identical and conflicting copies) do not change a view already taken.
    #[test]
    fn a_view_shows_the_snapshot_of_its_moment(
        drafts in prop::collection::vec(draft(), 1..50),
        copies in prop::collection::vec((0..50usize, any::<bool>()), 0..5),
        seed in any::<u64>(),
        cut in 0..60usize,
    ) {
        let agreements = agreements();
        let reports = with_copies(&drafts, copies);
        let order = permutation(reports.len(), seed);
        let params = CorroborationParams::from(&agreements[0].corroboration);
        let mut state = Live::new(agreements.clone(), params).unwrap();
        // The id of each slot, in the order slots are given out.
        let mut slot_ids: Vec<String> = Vec::new();
        let mut early = None;
        for (fed, &i) in order.iter().enumerate() {
            if fed == cut.min(order.len() - 1) {
                early = Some((state.view(), state.snapshot()));
            }
            if state.insert(reports[i].clone()) == Insertion::Added {
                slot_ids.push(reports[i].id.to_string());
            }
            prop_assert_eq!(state.n_slots(), slot_ids.len());
        }
        let (early_view, early_snapshot) = early.unwrap();
        assert_view_shows(&early_view, &slot_ids, &early_snapshot);
        assert_view_shows(&state.view(), &slot_ids, &state.snapshot());
    }
}
