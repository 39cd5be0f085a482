//! Every figure of a compliance report against values counted by hand from small report
//! sets, and the statistics against values computed independently with scipy
//! (`scipy.stats.beta.ppf` for the Clopper–Pearson bounds, `scipy.stats.binom` for the
//! doubled-tail p-value; the script is in the comments beside each constant).
#![allow(clippy::unwrap_used)] // test helpers may panic: that is a test failure

mod common;

use jiff::Timestamp;
use truce_report::{InForceNote, ReportFormat, ReportOptions, TestOutcome, TruceTestRow, render};

use common::{AGREEMENT, BLACK_SEA, KHARKIV, NOVA_KAKHOVKA, compiled, fixture, options, row};

/// The hand-counted set: A acts once a day from 1 to 10 March (energy on 1–4, military on
/// 5–10), then on 12 (energy) and 15 March (military); B on 13 and 14 (military) and 20
/// March (residential); an act nobody is named for on 16 March; an interception by A on
/// 17 March.
fn base_rows() -> Vec<String> {
    let mut rows = Vec::new();
    for day in 1..=10 {
        let target = if day <= 4 { "energy" } else { "military" };
        let (killed, injured) = if day == 2 { (2, 3) } else { (0, 0) };
        rows.push(row(
            &format!("a-{day:02}"),
            &format!("2025-03-{day:02}T06:00:00Z"),
            "A",
            "artillery",
            target,
            KHARKIV,
            killed,
            injured,
        ));
    }
    rows.push(row(
        "a-12",
        "2025-03-12T06:00:00Z",
        "A",
        "drone_strike",
        "energy",
        KHARKIV,
        0,
        0,
    ));
    rows.push(row(
        "a-15",
        "2025-03-15T06:00:00Z",
        "A",
        "artillery",
        "military",
        KHARKIV,
        0,
        0,
    ));
    rows.push(row(
        "b-13",
        "2025-03-13T06:00:00Z",
        "B",
        "artillery",
        "military",
        NOVA_KAKHOVKA,
        0,
        4,
    ));
    rows.push(row(
        "b-14",
        "2025-03-14T06:00:00Z",
        "B",
        "artillery",
        "military",
        KHARKIV,
        0,
        0,
    ));
    rows.push(row(
        "b-20",
        "2025-03-20T12:00:00Z",
        "B",
        "missile_strike",
        "civilian_residential",
        BLACK_SEA,
        1,
        0,
    ));
    rows.push(row(
        "u-16",
        "2025-03-16T06:00:00Z",
        "",
        "artillery",
        "military",
        KHARKIV,
        0,
        0,
    ));
    rows.push(row(
        "x-17",
        "2025-03-17T06:00:00Z",
        "A",
        "air_defence_intercept",
        "military",
        KHARKIV,
        0,
        0,
    ));
    rows
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn find<'r>(
    rows: &'r [TruceTestRow],
    party: Option<&str>,
    category: Option<&str>,
) -> &'r TruceTestRow {
    rows.iter()
        .find(|r| r.party.as_deref() == party && r.category.as_deref() == category)
        .unwrap_or_else(|| panic!("no row for {party:?} {category:?}"))
}

/// Checks an estimate against independently computed values (relative tolerance 1e-5:
/// the report rounds to six significant digits).
fn assert_estimate(row: &TruceTestRow, ratio: Option<f64>, low: f64, high: Option<f64>, p: f64) {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * b.abs().max(1e-12);
    match &row.outcome {
        TestOutcome::Estimated {
            ratio: got_ratio,
            ci_low,
            ci_high,
            p_value,
            ..
        } => {
            match (got_ratio, ratio) {
                (Some(a), Some(b)) => assert!(close(*a, b), "ratio {a} against {b}"),
                (None, None) => {}
                other => panic!("ratio {other:?}"),
            }
            assert!(close(*ci_low, low), "low {ci_low} against {low}");
            match (ci_high, high) {
                (Some(a), Some(b)) => assert!(close(*a, b), "high {a} against {b}"),
                (None, None) => {}
                other => panic!("high {other:?}"),
            }
            assert!(close(*p_value, p), "p {p_value} against {p}");
        }
        TestOutcome::NotEstimated { reason } => panic!("not estimated: {reason}"),
    }
}

/// Whether a text holds a non-finite number as Rust or JSON encoders spell it.
fn has_non_finite_word(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| matches!(word, "NaN" | "nan" | "inf" | "Infinity"))
}

fn phrase(row: &TruceTestRow) -> &str {
    match &row.outcome {
        TestOutcome::Estimated { phrase, .. } => phrase,
        TestOutcome::NotEstimated { reason } => reason,
    }
}

#[test]
fn the_period_is_the_baseline_and_the_agreement_cut_to_the_data() {
    let report = compiled(&fixture(&[AGREEMENT], &base_rows()), &options(10));
    let period = &report.period;
    assert_eq!(period.start, at("2025-03-01T00:00:00Z"));
    assert_eq!(period.end, at("2025-03-21T00:00:00Z"));
    assert_eq!(period.days.len(), 20);
    assert_eq!(period.days[0].to_string(), "2025-03-01");
    assert_eq!(period.days[19].to_string(), "2025-03-20");
    assert_eq!(period.data_start, Some(at("2025-03-01T00:00:00Z")));
    assert_eq!(period.data_end, Some(at("2025-03-21T00:00:00Z")));
    assert_eq!((period.incidents, period.incidents_total), (17, 17));
    assert_eq!(report.map.points.len(), 17);
}

#[test]
fn truce_test_counts_and_intervals_match_independent_values() {
    let report = compiled(&fixture(&[AGREEMENT], &base_rows()), &options(10));
    let test = &report.readings[0].truce_test;
    assert!(test.notes.is_empty(), "{:?}", test.notes);

    // All parties: 10 acts in the 10 days before, 5 in the 10 days under the agreement.
    let all = find(&test.rows, None, None);
    assert_eq!((all.before.events, all.during.events), (10, 5));
    assert_eq!((all.before.days, all.during.days), (10.0, 10.0));
    assert_eq!(all.before.start, at("2025-03-01T00:00:00Z"));
    assert_eq!(all.during.end, at("2025-03-21T00:00:00Z"));
    // beta.ppf(.025, 5, 11), beta.ppf(.975, 6, 10) as odds; 2·binom.cdf(5, 15, .5).
    assert_estimate(
        all,
        Some(0.5),
        0.134_096_864_6,
        Some(1.605_498_371),
        0.301_757_812_5,
    );
    assert_eq!(
        phrase(all),
        "prohibited acts changed by \u{2212}50% (95% CI \u{2212}87% to +61%), not significant"
    );

    // A: 10 before, 2 during. beta.ppf(.025, 2, 11), beta.ppf(.975, 3, 10); 2·binom.cdf(2, 12, .5).
    let a = find(&test.rows, Some("A"), None);
    assert_eq!((a.before.events, a.during.events), (10, 2));
    assert_estimate(
        a,
        Some(0.2),
        0.021_307_044_21,
        Some(0.938_501_988_6),
        0.038_574_218_75,
    );
    assert_eq!(
        phrase(a),
        "prohibited acts attributed to A fell by 80% (95% CI 6–98%)"
    );

    // B: none before, 3 during. beta.ppf(.025, 3, 1); 2·binom.sf(2, 3, .5).
    let b = find(&test.rows, Some("B"), None);
    assert_eq!((b.before.events, b.during.events), (0, 3));
    assert_estimate(b, None, 0.413_231_355, None, 0.25);
    assert_eq!(
        phrase(b),
        "prohibited acts attributed to B rose from none recorded before (95% CI from \
         \u{2212}59% upwards), not significant"
    );

    // Per category: energy 4 → 1, military 6 → 3, residential 0 → 1; no other category.
    let energy = find(&test.rows, None, Some("energy"));
    assert_eq!((energy.before.events, energy.during.events), (4, 1));
    assert_estimate(
        energy,
        Some(0.25),
        0.005_076_403_09,
        Some(2.526_316_109),
        0.375,
    );
    let military = find(&test.rows, None, Some("military"));
    assert_eq!((military.before.events, military.during.events), (6, 3));
    assert_estimate(
        military,
        Some(0.5),
        0.080_911_210_24,
        Some(2.341_184_491),
        0.507_812_5,
    );
    let residential = find(&test.rows, Some("B"), Some("civilian_residential"));
    assert_eq!(
        (residential.before.events, residential.during.events),
        (0, 1)
    );
    assert_estimate(residential, None, 0.025_641_025_64, None, 1.0);
    let categories: Vec<(Option<&str>, Option<&str>)> = test
        .rows
        .iter()
        .map(|r| (r.party.as_deref(), r.category.as_deref()))
        .collect();
    assert_eq!(
        categories,
        [
            (None, None),
            (None, Some("energy")),
            (None, Some("civilian_residential")),
            (None, Some("military")),
            (Some("A"), None),
            (Some("A"), Some("energy")),
            (Some("A"), Some("military")),
            (Some("B"), None),
            (Some("B"), Some("civilian_residential")),
            (Some("B"), Some("military")),
        ]
    );
}

#[test]
fn headline_counts_by_hand() {
    let report = compiled(&fixture(&[AGREEMENT], &base_rows()), &options(10));
    let headline = &report.readings[0].headline;
    let parties: Vec<&str> = headline.parties.iter().map(|p| p.party.as_str()).collect();
    assert_eq!(parties, ["A", "B", "unattributed"]);
    let a = &headline.parties[0].counts;
    assert_eq!(
        (a.violation, a.alleged, a.disputed, a.undetermined),
        (2, 0, 0, 0)
    );
    assert_eq!(a.no_violation, 11);
    assert_eq!(a.no_violation_by_reason.get("outside_window"), Some(&10));
    assert_eq!(a.no_violation_by_reason.get("exception"), Some(&1));
    let b = &headline.parties[1].counts;
    assert_eq!((b.violation, b.no_violation, b.undetermined), (3, 0, 0));
    assert_eq!(headline.parties[2].counts.undetermined, 1);
    assert_eq!(headline.total.total(), 17);
    assert_eq!(headline.total.violation, 5);

    let rules = &headline.parties[0].by_rule;
    assert_eq!(rules.len(), 1);
    assert_eq!((rules[0].rule.as_str(), rules[0].violation), ("R1", 2));
    assert_eq!(headline.parties[1].by_rule[0].violation, 3);

    // 17 findings, 10 of them before the agreement: 7 considered, 1 undetermined.
    let share = &headline.undetermined;
    assert_eq!((share.undetermined, share.considered), (1, 7));
    assert_eq!(share.percent, Some(14.3));
    assert_eq!(share.missing.len(), 1);
    assert_eq!(
        (share.missing[0].aspect.as_str(), share.missing[0].incidents),
        ("attribution", 1)
    );
}

#[test]
fn trends_by_hand() {
    let report = compiled(&fixture(&[AGREEMENT], &base_rows()), &options(10));
    let trends = &report.readings[0].trends;
    assert_eq!(trends.len(), 3);
    let all = &trends[0];
    assert_eq!(all.party, None);
    assert_eq!(
        all.daily,
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1]
    );
    assert_eq!(&all.rolling_mean_7[..6], &[None; 6]);
    assert_eq!(all.rolling_mean_7[6], Some(1.0));
    assert_eq!(all.rolling_mean_7[10], Some(0.857)); // 6 / 7
    assert_eq!(all.rolling_mean_7[19], Some(0.429)); // 3 / 7
    assert_eq!(all.bound_from, Some(at("2025-03-11T00:00:00Z")));
    // 7–13 March: 6 acts; 14–20 March: 3.
    let week = all.week_on_week.as_ref().unwrap();
    assert_eq!(week.previous_from.to_string(), "2025-03-07");
    assert_eq!(week.current_from.to_string(), "2025-03-14");
    assert_eq!(week.current_to.to_string(), "2025-03-20");
    assert_eq!((week.previous, week.current), (6, 3));
    match &week.outcome {
        TestOutcome::Estimated {
            ratio,
            ci_low,
            ci_high,
            p_value,
            ..
        } => {
            // beta.ppf(.025, 3, 7), beta.ppf(.975, 4, 6) as odds; 2·binom.cdf(3, 9, .5).
            assert_eq!(*ratio, Some(0.5));
            assert!((ci_low - 0.080_911_210_24).abs() < 1e-6);
            assert!((ci_high.unwrap() - 2.341_184_491).abs() < 1e-5);
            assert!((p_value - 0.507_812_5).abs() < 1e-6);
        }
        TestOutcome::NotEstimated { reason } => panic!("{reason}"),
    }
    // A change of 1 a day to 0.5 a day over 20 days is far below the penalty.
    assert!(all.change_points.is_empty());
    assert_eq!(trends[1].party.as_deref(), Some("A"));
    assert_eq!(trends[1].daily.iter().sum::<u64>(), 12);
    assert_eq!(trends[2].daily.iter().sum::<u64>(), 3);
}

#[test]
fn a_rate_shift_is_found_on_the_day_the_rate_falls() {
    // Five acts a day for the 21 days before the agreement, then one every third day for
    // the 10 days under it (0.4 a day).
    let mut rows = Vec::new();
    for day in 0..31 {
        let date = jiff::civil::date(2025, 2, 18)
            .checked_add(jiff::Span::new().days(day))
            .unwrap();
        let n = if day < 21 { 5 } else { u32::from(day % 3 == 0) };
        for k in 0..n {
            rows.push(row(
                &format!("r-{day:02}-{k}"),
                &format!("{date}T{:02}:00:00Z", 2 + 4 * k),
                "A",
                "artillery",
                "military",
                KHARKIV,
                0,
                0,
            ));
        }
    }
    let report = compiled(&fixture(&[AGREEMENT], &rows), &options(21));
    let trend = &report.readings[0].trends[0];
    assert_eq!(trend.daily.len(), 31);
    assert_eq!(trend.change_points.len(), 1, "{:?}", trend.change_points);
    let change = &trend.change_points[0];
    assert_eq!(change.day.to_string(), "2025-03-11");
    assert_eq!((change.rate_before, change.rate_after), (5.0, 0.4));
}

#[test]
fn toll_by_region_and_category() {
    let report = compiled(&fixture(&[AGREEMENT], &base_rows()), &options(10));
    let toll = &report.toll;
    assert_eq!(
        toll.before,
        (at("2025-03-01T00:00:00Z"), at("2025-03-11T00:00:00Z"))
    );
    assert_eq!(
        toll.during,
        (at("2025-03-11T00:00:00Z"), at("2025-03-21T00:00:00Z"))
    );
    let regions: Vec<(&str, u64, u64, u64, u64)> = toll
        .by_region
        .iter()
        .map(|r| {
            (
                r.key.as_str(),
                r.before.killed,
                r.before.injured,
                r.during.killed,
                r.during.injured,
            )
        })
        .collect();
    // Most harm under the agreement first: Kherson 4, the sea 1, Kharkiv 0 (5 before).
    assert_eq!(
        regions,
        [
            ("UA-65", 0, 0, 0, 4),
            ("outside", 0, 0, 1, 0),
            ("UA-63", 2, 3, 0, 0)
        ]
    );
    assert_eq!(toll.by_region[0].name, "Kherson (UA-65)");
    assert_eq!(toll.by_region[0].during.incidents, 1);
    let categories: Vec<(&str, u64, u64)> = toll
        .by_category
        .iter()
        .map(|r| {
            (
                r.key.as_str(),
                r.before.killed + r.before.injured,
                r.during.killed + r.during.injured,
            )
        })
        .collect();
    assert_eq!(
        categories,
        [
            ("military", 0, 4),
            ("civilian_residential", 0, 1),
            ("energy", 5, 0)
        ]
    );
    assert_eq!(
        (toll.total.before.killed, toll.total.before.injured),
        (2, 3)
    );
    assert_eq!(
        (
            toll.total.during.killed,
            toll.total.during.injured,
            toll.total.during.incidents
        ),
        (1, 4, 2)
    );
}

#[test]
fn violations_listed_in_time_order_with_their_reasons_and_capped() {
    let fixture = fixture(&[AGREEMENT], &base_rows());
    let report = compiled(&fixture, &options(10));
    let listed = &report.readings[0].violations;
    assert_eq!(listed.total, 5);
    let ids: Vec<&str> = listed.shown.iter().map(|f| f.incident.as_str()).collect();
    assert_eq!(
        ids,
        ["inc-a-12", "inc-b-13", "inc-b-14", "inc-a-15", "inc-b-20"]
    );
    let first = &listed.shown[0];
    assert_eq!(first.verdict, "violation");
    assert_eq!(first.parties, ["A"]);
    assert_eq!(first.rules, ["R1"]);
    assert_eq!(first.region, "Kharkiv (UA-63)");
    assert_eq!(first.target, "energy");
    assert!(
        first.reasons.last().unwrap().ends_with("violation by A"),
        "{:?}",
        first.reasons
    );
    let capped = compiled(
        &fixture,
        &ReportOptions {
            list_limit: 2,
            ..options(10)
        },
    );
    let listed = &capped.readings[0].violations;
    assert_eq!((listed.total, listed.shown.len()), (5, 2));
    assert_eq!(listed.shown[1].incident, "inc-b-13");
}

#[test]
fn each_party_is_compared_around_its_own_start() {
    let later_b = AGREEMENT.replace(
        "id = \"B\"\nname = \"Party B\"",
        "id = \"B\"\nname = \"Party B\"\nstart = \"2025-03-16T00:00:00Z\"",
    );
    let report = compiled(&fixture(&[&later_b], &base_rows()), &options(10));
    let test = &report.readings[0].truce_test;
    // B: 13 and 14 March fall in its baseline (6–16 March), 20 March under the agreement.
    let b = find(&test.rows, Some("B"), None);
    assert_eq!(b.before.start, at("2025-03-06T00:00:00Z"));
    assert_eq!(b.during.start, at("2025-03-16T00:00:00Z"));
    assert_eq!((b.before.events, b.before.days), (2, 10.0));
    assert_eq!((b.during.events, b.during.days), (1, 5.0));
    // The all-parties rows keep the agreement's start.
    let all = find(&test.rows, None, None);
    assert_eq!(all.during.start, at("2025-03-11T00:00:00Z"));
    assert!(
        test.notes[0].starts_with("The parties are bound from different instants"),
        "{:?}",
        test.notes
    );
    // The headline: B's acts of 13 and 14 March are now before its start.
    let b_counts = &report.readings[0].headline.parties[1].counts;
    assert_eq!((b_counts.violation, b_counts.no_violation), (1, 2));
}

#[test]
fn the_test_counts_acts_a_reciprocity_release_excuses() {
    let released = AGREEMENT.replace(
        "title = \"Test truce\"",
        "title = \"Test truce\"\nreciprocity = \"release\"",
    );
    let report = compiled(&fixture(&[&released], &base_rows()), &options(10));
    let reading = &report.readings[0];
    // A's act on 12 March releases B: B's three acts are not violations...
    assert_eq!(reading.releases.len(), 1);
    assert_eq!(reading.releases[0].party, "B");
    let b = &reading.headline.parties[1].counts;
    assert_eq!(
        b.no_violation_by_reason.get("released_by_reciprocity"),
        Some(&3)
    );
    // ...but they are still acts the agreement prohibits, and the test counts them.
    let b_row = find(&reading.truce_test.rows, Some("B"), None);
    assert_eq!(b_row.during.events, 3);
}

#[test]
fn an_agreement_never_in_force_has_no_test_and_says_why() {
    let unmet = format!(
        "{AGREEMENT}\n[[conditions]]\nid = \"ratified\"\ntext = \"Ratified by both parliaments\"\n"
    );
    let report = compiled(&fixture(&[&unmet], &base_rows()), &options(10));
    let reading = &report.readings[0];
    assert_eq!(
        reading.agreement.in_force,
        InForceNote::Never {
            condition: "ratified".to_owned()
        }
    );
    assert!(reading.truce_test.rows.is_empty());
    assert!(reading.truce_test.notes[0].contains("condition `ratified` is not met"));
    assert_eq!(reading.headline.total.violation, 0);
    // The trends still show the acts, around the agreed start.
    assert_eq!(reading.trends[0].daily.iter().sum::<u64>(), 15);
    assert_eq!(reading.trends[0].bound_from, None);
}

#[test]
fn until_cuts_the_time_under_the_agreement() {
    let report = compiled(
        &fixture(&[AGREEMENT], &base_rows()),
        &ReportOptions {
            until: Some(at("2025-03-16T00:00:00Z")),
            ..options(10)
        },
    );
    assert_eq!(report.period.end, at("2025-03-16T00:00:00Z"));
    assert_eq!(report.period.incidents, 14);
    let test = &report.readings[0].truce_test;
    let all = find(&test.rows, None, None);
    assert_eq!((all.during.events, all.during.days), (4, 5.0));
    assert!(
        test.notes
            .iter()
            .any(|n| n.contains("counted up to 2025-03-16 00:00 UTC")),
        "{:?}",
        test.notes
    );
}

#[test]
fn competing_readings_side_by_side() {
    // A second agreement that protects only energy: the military and residential acts under
    // it are not violations.
    let energy_only = AGREEMENT
        .replace("id = \"test-truce\"", "id = \"energy-only\"")
        .replace("targets = [\"*\"]", "targets = [\"energy\"]");
    let report = compiled(
        &fixture(&[AGREEMENT, &energy_only], &base_rows()),
        &options(10),
    );
    assert_eq!(report.readings.len(), 2);
    let comparison = report.comparison.as_ref().unwrap();
    assert_eq!(
        comparison.readings,
        ["test-truce v1 (common)", "energy-only v1 (common)"]
    );
    let violations = |party: &str| {
        comparison
            .rows
            .iter()
            .find(|r| r.party == party && r.verdict == "violation")
            .unwrap()
            .counts
            .clone()
    };
    assert_eq!(violations("A"), [2, 1]);
    assert_eq!(violations("B"), [3, 0]);
    // Differently judged: A on 15 March, B on 13, 14 and 20 March, the 16 March act
    // (undetermined under the first, not protected under the second) and the 17 March
    // interception (an exception under the first; under the second no rule protects its
    // target, which is checked before exceptions).
    assert_eq!(comparison.differing_incidents, 6);
    assert_eq!(comparison.examples.len(), 6);
    assert_eq!(
        comparison.examples[5].verdicts,
        [
            "no_violation (exception)",
            "no_violation (target_not_protected)"
        ]
    );
    let first = &comparison.examples[0];
    assert_eq!(first.incident, "inc-a-15");
    assert_eq!(
        first.verdicts,
        ["violation", "no_violation (target_not_protected)"]
    );
    assert_eq!(comparison.tests[0].party, None);
    assert_eq!(comparison.tests[0].phrases.len(), 2);
    assert!(comparison.notes.is_empty());

    // Incidents are formed once: a second agreement with other grouping limits is noted.
    let wider = energy_only.replace(
        "monitor_alone_establishes = true",
        "monitor_alone_establishes = true\nmax_distance_m = 1000",
    );
    let report = compiled(&fixture(&[AGREEMENT, &wider], &base_rows()), &options(10));
    let notes = &report.comparison.as_ref().unwrap().notes;
    assert_eq!(notes.len(), 1);
    assert!(notes[0].starts_with("Reports were grouped into incidents once"));
}

#[test]
fn no_incidents_at_all_is_a_report_of_zeros() {
    let report = compiled(&fixture(&[AGREEMENT], &[]), &options(30));
    assert_eq!(report.period.incidents, 0);
    assert_eq!(report.period.start, at("2025-02-09T00:00:00Z"));
    assert_eq!(report.period.end, at("2025-03-21T00:00:00Z"));
    let all = find(&report.readings[0].truce_test.rows, None, None);
    assert_eq!((all.before.events, all.during.events), (0, 0));
    assert_eq!(
        phrase(all),
        "prohibited acts: none recorded in either period, so no change can be estimated"
    );
    assert_eq!(report.readings[0].headline.undetermined.percent, None);
    assert!(report.toll.by_region.is_empty());
    for format in [
        ReportFormat::Html,
        ReportFormat::Markdown,
        ReportFormat::Json,
    ] {
        let mut out = Vec::new();
        render(&report, format, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!has_non_finite_word(&text), "{format:?}");
    }
}

#[test]
fn a_single_day_and_no_baseline() {
    let rows = vec![row(
        "a-12",
        "2025-03-12T06:00:00Z",
        "A",
        "artillery",
        "military",
        KHARKIV,
        0,
        0,
    )];
    let report = compiled(&fixture(&[AGREEMENT], &rows), &options(0));
    assert_eq!(report.period.days.len(), 1);
    let trend = &report.readings[0].trends[0];
    assert_eq!(trend.daily, [1]);
    assert_eq!(trend.rolling_mean_7, [None]);
    assert!(trend.week_on_week.is_none() && trend.change_points.is_empty());
    let all = find(&report.readings[0].truce_test.rows, None, None);
    assert_eq!(all.before.days, 0.0);
    assert_eq!(
        phrase(all),
        "prohibited acts: no comparison, as the data holds no time before the start"
    );
    assert_eq!(all.during.days, 1.0);
}

#[test]
fn the_renderings_carry_the_figures() {
    let report = compiled(&fixture(&[AGREEMENT], &base_rows()), &options(10));
    let mut markdown = Vec::new();
    render(&report, ReportFormat::Markdown, &mut markdown).unwrap();
    let markdown = String::from_utf8(markdown).unwrap();
    assert!(markdown.contains("- Prohibited acts attributed to A fell by 80% (95% CI 6–98%)."));
    assert!(markdown.contains("| Kherson (UA-65) | 0 | 0 | 0 | 0 | 4 | 1 |"));
    // Not violations split: A's interception, and its ten acts before the agreement.
    assert!(markdown.contains("| A | Party A | 2 | 0 | 0 | 0 | 1 | 10 |"));
    assert!(markdown.contains("| all | every incident once | 5 | 0 | 0 | 1 | 1 | 10 |"));
    assert!(markdown.contains("## 9. Inputs and method"));

    let mut json = Vec::new();
    render(&report, ReportFormat::Json, &mut json).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(value["format"], "truce-report/1");
    let rows = &value["readings"][0]["truce_test"]["rows"];
    assert_eq!(rows[0]["before"]["events"], 10);
    assert_eq!(rows[0]["outcome"]["outcome"], "estimated");
    assert_eq!(rows[0]["outcome"]["ratio"], 0.5);
    let b = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["party"] == "B" && r.get("category").is_none())
        .unwrap();
    assert!(b["outcome"]["ratio"].is_null() && b["outcome"]["ci_high"].is_null());
    assert_eq!(value["period"]["days"][0], "2025-03-01");

    let mut html = Vec::new();
    render(&report, ReportFormat::Html, &mut html).unwrap();
    let html = String::from_utf8(html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<li>Prohibited acts attributed to A fell by 80% (95% CI 6–98%).</li>"));
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    // Bars, forest plot, three daily charts, harm bars, map.
    assert_eq!(html.matches("<svg").count(), 7);
}
