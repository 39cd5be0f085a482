//! Properties of every report, whatever the input: no non-finite number in any rendering,
//! drawings and pages whose tags are balanced, JSON that parses, and figures that do not
//! depend on the order of the input rows.
#![allow(clippy::unwrap_used)] // test helpers may panic: that is a test failure

mod common;

use common::{AGREEMENT, compiled, fixture, row};
use jiff::Timestamp;
use proptest::prelude::*;
use truce_engine::adjudicate::Verdict;
use truce_engine::assess::Assessor;
use truce_model::agreement::{Agreement, Reciprocity};
use truce_report::{ReportFormat, ReportOptions, render};

/// Whether a text holds a non-finite number as Rust or JSON encoders spell it.
fn has_non_finite_word(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| matches!(word, "NaN" | "nan" | "inf" | "Infinity"))
}

/// Checks that every tag of an HTML page is closed in order (void and self-closing
/// elements aside); returns the first problem.
fn balanced(html: &str) -> Result<(), String> {
    const VOID: [&str; 4] = ["meta", "br", "hr", "img"];
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let end = rest.find('>').ok_or("a tag is never closed with `>`")?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if let Some(closing) = tag.strip_prefix('/') {
            let closing = closing.trim();
            match open.pop() {
                Some(top) if top == closing => {}
                other => return Err(format!("`</{closing}>` closes {other:?}")),
            }
        } else if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
            open.push(name);
        }
    }
    if open.is_empty() {
        Ok(())
    } else {
        Err(format!("never closed: {open:?}"))
    }
}

#[test]
fn the_balance_check_can_fail() {
    assert!(balanced("<p><b>x</b></p><meta charset=\"utf-8\"><rect/>").is_ok());
    assert!(balanced("<p><b>x</p></b>").is_err());
    assert!(balanced("<svg><g></svg>").is_err());
    assert!(balanced("<p>").is_err());
}

const ACTIONS: [&str; 4] = [
    "artillery",
    "drone_strike",
    "air_defence_intercept",
    "other",
];
const TARGETS: [&str; 5] = [
    "energy",
    "military",
    "civilian_residential",
    "unknown",
    "medical",
];
const PLACES: [(f64, f64); 4] = [(36.25, 49.98), (37.8, 48.0), (31.5, 43.5), (37.6, 55.75)];

/// A random report row: day 0–39 from 20 February 2025, hour, accused, action, target,
/// place, source, casualties, and how many hours the report's time interval spans (so that
/// some straddle the start of the agreement).
type RowSpec = (u32, u32, u8, usize, usize, usize, u8, u32, u32, u32);

fn arbitrary_row() -> impl Strategy<Value = RowSpec> {
    (
        0u32..40,
        0u32..24,
        0u8..3,
        0..ACTIONS.len(),
        0..TARGETS.len(),
        0..PLACES.len(),
        0u8..3,
        0u32..3,
        0u32..4,
        prop_oneof![Just(0u32), 1u32..40],
    )
}

fn rows_of(specs: &[RowSpec]) -> Vec<String> {
    specs
        .iter()
        .enumerate()
        .map(|(i, &spec)| {
            let (day, hour, accused, action, target, place, source, killed, injured, hours) = spec;
            let date = jiff::civil::date(2025, 2, 20)
                .checked_add(jiff::Span::new().days(i64::from(day)))
                .unwrap();
            let time = format!("{date}T{hour:02}:{:02}:00Z", i % 60);
            let mut line = row(
                &format!("r-{i:03}"),
                &time,
                ["A", "B", ""][usize::from(accused)],
                ACTIONS[action],
                TARGETS[target],
                PLACES[place],
                killed,
                injured,
            );
            if hours > 0 {
                let end: Timestamp = time.parse().unwrap();
                let end = end + jiff::SignedDuration::from_hours(i64::from(hours));
                line = line.replacen(&format!(",{time},,"), &format!(",{time},{end},"), 1);
            }
            // Vary who reports: the monitor, a source speaking for A, a news outlet.
            match source {
                0 => line,
                1 => line.replacen(",mon,monitor,,", ",a_mod,party,A,", 1),
                _ => line.replacen(",mon,monitor,,", ",news,media,,", 1),
            }
        })
        .collect()
}

/// The test agreement, perhaps with B bound later, a condition never met, or reciprocity.
fn agreement_variant(variant: u8) -> String {
    match variant {
        0 => AGREEMENT.to_owned(),
        1 => AGREEMENT.replace(
            "id = \"B\"\nname = \"Party B\"",
            "id = \"B\"\nname = \"Party B\"\nstart = \"2025-03-16T00:00:00Z\"",
        ),
        2 => format!("{AGREEMENT}\n[[conditions]]\nid = \"never\"\ntext = \"Never met\"\n"),
        _ => AGREEMENT.replace(
            "title = \"Test truce\"",
            "title = \"Test truce\"\nreciprocity = \"release\"",
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_rendering_is_finite_and_well_formed(
        specs in proptest::collection::vec(arbitrary_row(), 0..24),
        variant in 0u8..4,
        second_reading in any::<bool>(),
        baseline_days in 0u32..45,
        until_day in proptest::option::of(0i64..45),
    ) {
        let first = agreement_variant(variant);
        let second = agreement_variant((variant + 1) % 4).replace("\"test-truce\"", "\"other\"");
        let mut texts = vec![first.as_str()];
        if second_reading {
            texts.push(second.as_str());
        }
        let fixture = fixture(&texts, &rows_of(&specs));
        let until = until_day.map(|day| {
            Timestamp::from_second(1_740_009_600 + day * 86_400).unwrap() // 2025-02-20 + day
        });
        let report = compiled(&fixture, &ReportOptions { baseline_days, until, list_limit: 5 });
        for format in [ReportFormat::Html, ReportFormat::Markdown, ReportFormat::Json] {
            let mut out = Vec::new();
            render(&report, format, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            prop_assert!(!has_non_finite_word(&text), "{:?} holds a non-finite number", format);
            match format {
                ReportFormat::Html => {
                    prop_assert_eq!(balanced(&text), Ok(()));
                    prop_assert!(!text.contains("http://") && !text.contains("https://"));
                }
                ReportFormat::Json => {
                    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                    prop_assert_eq!(&value["format"], "truce-report/1");
                }
                ReportFormat::Markdown => prop_assert!(text.starts_with("# Compliance report")),
            }
        }
    }

    #[test]
    fn figures_do_not_depend_on_the_order_of_the_rows(
        specs in proptest::collection::vec(arbitrary_row(), 1..20),
        rotation in 0usize..20,
    ) {
        let rows = rows_of(&specs);
        let mut turned = rows.clone();
        let by = rotation % turned.len();
        turned.rotate_left(by);
        turned.reverse();
        let json = |rows: &[String]| {
            let report = compiled(&fixture(&[AGREEMENT], rows), &common::options(10));
            let mut out = Vec::new();
            render(&report, ReportFormat::Json, &mut out).unwrap();
            out
        };
        prop_assert_eq!(json(&rows), json(&turned));
    }

    #[test]
    fn the_truce_test_counts_what_judging_every_incident_again_counts(
        specs in proptest::collection::vec(arbitrary_row(), 0..30),
        variant in 0u8..4,
        baseline_days in 0u32..30,
    ) {
        let text = agreement_variant(variant);
        let fixture = fixture(&[text.as_str()], &rows_of(&specs));
        let report = compiled(&fixture, &ReportOptions { baseline_days, ..ReportOptions::default() });
        // The oracle: every incident judged under the agreement binding every party always.
        let binding = always_binding(&fixture.agreements[0]);
        let acts = Assessor::new(&binding, &fixture.reports, &fixture.incidents)
            .unwrap()
            .assess()
            .findings;
        for row in &report.readings[0].truce_test.rows {
            let count = |start: Timestamp, end: Timestamp| {
                fixture
                    .incidents
                    .iter()
                    .zip(&acts)
                    .filter(|(incident, act)| {
                        let at = incident.time.midpoint_ms();
                        at >= start.as_millisecond()
                            && at < end.as_millisecond()
                            && matches!(
                                act.verdict,
                                Verdict::Violation | Verdict::Alleged | Verdict::Disputed
                            )
                            && row.party.as_ref().is_none_or(|p| act.parties.iter().any(|q| q == p))
                            && row.category.as_ref().is_none_or(|c| act.target.kind.as_str() == c)
                    })
                    .count() as u64
            };
            prop_assert_eq!(row.before.events, count(row.before.start, row.before.end));
            prop_assert_eq!(row.during.events, count(row.during.start, row.during.end));
        }
        // And the daily series add up to the acts of the period.
        let all_acts = fixture
            .incidents
            .iter()
            .zip(&acts)
            .filter(|(incident, act)| {
                let at = incident.time.midpoint_ms();
                at >= report.period.start.as_millisecond()
                    && at < report.period.end.as_millisecond()
                    && matches!(act.verdict, Verdict::Violation | Verdict::Alleged | Verdict::Disputed)
            })
            .count() as u64;
        prop_assert_eq!(report.readings[0].trends[0].daily.iter().sum::<u64>(), all_acts);
    }
}

/// The agreement binding every party on every day: no window, conditions, per-party starts
/// or reciprocity (the definition of docs/report.md, section 2).
fn always_binding(agreement: &Agreement) -> Agreement {
    let mut binding = agreement.clone();
    binding.window.start = Timestamp::MIN;
    binding.window.end = None;
    binding.window.extensions.clear();
    binding.window.lapse = None;
    binding.conditions.clear();
    binding.reciprocity = Reciprocity::None;
    for party in &mut binding.parties {
        party.start = None;
    }
    binding
}
