//! Section 6 (coverage and access) and the log indexes of section 8, against values
//! counted by hand.
#![allow(clippy::unwrap_used)] // test helpers may panic: that is a test failure

mod common;

use truce_report::{
    ComplianceReport, CoverageArea, CoverageKind, CoverageRecord, ReportFormat, ReportOptions,
    region_of, render,
};

use common::{KHARKIV, NOVA_KAKHOVKA, compiled, compiled_with, fixture, options, row};

fn ms(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn record(
    id: &str,
    kind: CoverageKind,
    (start, end): (&str, &str),
    (west, south, east, north): (f64, f64, f64, f64),
    restricted_by: Option<&str>,
) -> CoverageRecord {
    CoverageRecord {
        id: id.to_owned(),
        observer: "mon".to_owned(),
        kind,
        start_ms: ms(start),
        end_ms: ms(end),
        area: CoverageArea::Extent {
            west,
            south,
            east,
            north,
        },
        restricted_by: restricted_by.map(str::to_owned),
        log_index: Some(40),
    }
}

const AROUND_KHARKIV: (f64, f64, f64, f64) = (36.1, 49.9, 36.4, 50.1);
const AROUND_NOVA_KAKHOVKA: (f64, f64, f64, f64) = (33.2, 46.6, 33.5, 46.9);

/// Three acts by monitors under the agreement (11–21 March): A at Kharkiv on 12 and 13
/// March, B at Nova Kakhovka on 13 March. With no baseline the period is the data's two
/// days, 12 and 13 March.
fn three_acts() -> common::Fixture {
    fixture(
        &[common::AGREEMENT],
        &[
            row(
                "a-12",
                "2025-03-12T06:00:00Z",
                "A",
                "artillery",
                "military",
                KHARKIV,
                0,
                0,
            ),
            row(
                "a-13",
                "2025-03-13T06:00:00Z",
                "A",
                "artillery",
                "military",
                KHARKIV,
                0,
                0,
            ),
            row(
                "b-13",
                "2025-03-13T12:00:00Z",
                "B",
                "artillery",
                "military",
                NOVA_KAKHOVKA,
                0,
                0,
            ),
        ],
    )
}

fn records() -> Vec<CoverageRecord> {
    vec![
        // 12 hours on 12 March over Kharkiv: sees a-12 (06:00).
        record(
            "p1",
            CoverageKind::Patrol,
            ("2025-03-12T00:00:00Z", "2025-03-12T12:00:00Z"),
            AROUND_KHARKIV,
            None,
        ),
        // 5 hours on 13 March over Kharkiv, ending before a-13 (06:00): sees nothing.
        record(
            "p2",
            CoverageKind::Patrol,
            ("2025-03-13T00:00:00Z", "2025-03-13T05:00:00Z"),
            AROUND_KHARKIV,
            None,
        ),
        // 4 hours on 13 March over Nova Kakhovka: sees b-13 (12:00).
        record(
            "d1",
            CoverageKind::Drone,
            ("2025-03-13T10:00:00Z", "2025-03-13T14:00:00Z"),
            AROUND_NOVA_KAKHOVKA,
            None,
        ),
        // B turns monitors back at Kharkiv for 2 hours.
        record(
            "ad1",
            CoverageKind::AccessDenial,
            ("2025-03-13T07:00:00Z", "2025-03-13T09:00:00Z"),
            AROUND_KHARKIV,
            Some("B"),
        ),
        // Long before the period: not counted.
        record(
            "o1",
            CoverageKind::Patrol,
            ("2025-02-01T00:00:00Z", "2025-02-01T06:00:00Z"),
            AROUND_KHARKIV,
            None,
        ),
    ]
}

fn json(report: &ComplianceReport) -> String {
    let mut out = Vec::new();
    render(report, ReportFormat::Json, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn coverage_figures_by_hand() {
    let fixture = three_acts();
    let records = records();
    let report = compiled_with(&fixture, &options(0), None, &records);
    assert_eq!(report.period.days.len(), 2);
    let coverage = &report.coverage;
    assert_eq!(coverage.records, 5);
    assert_eq!(
        coverage.statement,
        "5 coverage records: 4 of observation (patrols, fixed cameras, drones) and 1 of \
         denied access or jamming."
    );
    let observed = coverage.observation.as_ref().unwrap();
    assert_eq!(observed.period_days, 2.0);
    // 12 + 5 + 4 hours, on 12 and 13 March.
    assert_eq!(observed.covered_hours, 21.0);
    assert_eq!(observed.covered_days, 2);
    assert_eq!(observed.records_outside_period, 1);
    let kinds: Vec<(&str, u64, u64, f64)> = observed
        .by_kind
        .iter()
        .map(|k| (k.kind.as_str(), k.records, k.covered_days, k.covered_hours))
        .collect();
    assert_eq!(
        kinds,
        [
            ("patrol", 2, 2, 17.0),
            ("fixed_camera", 0, 0, 0.0),
            ("drone", 1, 1, 4.0)
        ]
    );
    // a-12 and b-13 are seen, a-13 is not.
    assert_eq!((observed.incidents, observed.incidents_observed), (3, 2));
    assert_eq!(observed.observed_percent, Some(66.7));
    let parties: Vec<_> = observed
        .by_party
        .iter()
        .map(|p| {
            (
                p.party.as_deref(),
                p.acts,
                p.acts_observed,
                p.observed_percent,
                p.per_day,
                p.per_covered_day,
            )
        })
        .collect();
    assert_eq!(
        parties,
        [
            // 3 acts in 2 days; 2 seen on 2 covered days.
            (None, 3, 2, Some(66.7), Some(1.5), Some(1.0)),
            (Some("A"), 2, 1, Some(50.0), Some(1.0), Some(0.5)),
            (Some("B"), 1, 1, Some(100.0), Some(0.5), Some(0.5)),
        ]
    );
    let kharkiv = region_of(KHARKIV.0, KHARKIV.1).unwrap().unwrap().0;
    let kherson = region_of(NOVA_KAKHOVKA.0, NOVA_KAKHOVKA.1)
        .unwrap()
        .unwrap()
        .0;
    let areas: Vec<_> = observed
        .by_area
        .iter()
        .map(|a| {
            (
                a.area.as_str(),
                a.key.as_str(),
                a.records,
                a.covered_days,
                a.covered_hours,
                a.incidents,
                a.incidents_observed,
                a.observed_percent,
                a.per_covered_day,
            )
        })
        .collect();
    let mut expected = vec![
        ("region", kharkiv, 2, 2, 17.0, 2, 1, Some(50.0), Some(0.5)),
        ("region", kherson, 1, 1, 4.0, 1, 1, Some(100.0), Some(1.0)),
    ];
    expected.sort_by_key(|row| row.1);
    assert_eq!(areas, expected);

    // B's denial: one, two hours, on 13 March, at Kharkiv, with its log index.
    assert_eq!(coverage.access.len(), 1);
    let denial = &coverage.access[0];
    assert_eq!(denial.party.as_deref(), Some("B"));
    assert_eq!((denial.denials, denial.jamming, denial.hours), (1, 0, 2.0));
    assert_eq!(
        denial
            .dates
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["2025-03-13"]
    );
    assert_eq!(denial.events[0].id, "ad1");
    assert_eq!(denial.events[0].log_index, Some(40));
    assert!(
        denial.events[0].regions[0].contains(kharkiv),
        "{:?}",
        denial.events[0].regions
    );

    // Every rendering carries it.
    let text = json(&report);
    assert!(text.contains("\"covered_days\": 2"), "{text}");
    let mut markdown = Vec::new();
    render(&report, ReportFormat::Markdown, &mut markdown).unwrap();
    let markdown = String::from_utf8(markdown).unwrap();
    assert!(
        markdown.contains("| all parties | 3 | 2 | 66.7% | 1.5 | 1 |"),
        "{markdown}"
    );
    assert!(markdown.contains("B: 1 denials of access, 0 of jamming, 2 hours, on 2025-03-13"));
}

#[test]
fn only_denials_give_zero_coverage_and_no_rate() {
    let fixture = three_acts();
    let records: Vec<CoverageRecord> = records()
        .into_iter()
        .filter(|r| !r.kind.observes())
        .collect();
    let report = compiled_with(&fixture, &options(0), None, &records);
    let observed = report.coverage.observation.as_ref().unwrap();
    assert_eq!((observed.covered_days, observed.covered_hours), (0, 0.0));
    assert_eq!(observed.incidents_observed, 0);
    assert_eq!(observed.observed_percent, Some(0.0));
    for party in &observed.by_party {
        assert_eq!(party.per_covered_day, None, "{party:?}");
        assert!(party.per_day.is_some());
    }
    assert!(
        report
            .coverage
            .statement
            .contains("nothing shows that monitors could see")
    );
    let text = json(&report);
    assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
}

#[test]
fn an_empty_period_has_zero_days_and_no_rate() {
    // No incident at all, and the data said to end at the agreement's start: no day.
    let fixture = fixture(&[common::AGREEMENT], &[]);
    let options = ReportOptions {
        baseline_days: 0,
        until: Some("2025-03-11T00:00:00Z".parse().unwrap()),
        ..ReportOptions::default()
    };
    let report = compiled_with(&fixture, &options, None, &records());
    assert!(report.period.days.is_empty());
    let observed = report.coverage.observation.as_ref().unwrap();
    assert_eq!(observed.period_days, 0.0);
    assert_eq!((observed.covered_days, observed.covered_hours), (0, 0.0));
    assert_eq!(observed.records_outside_period, 5);
    assert_eq!(observed.observed_percent, None);
    for party in &observed.by_party {
        assert_eq!(
            (party.acts, party.per_day, party.per_covered_day),
            (0, None, None)
        );
        assert_eq!(party.observed_percent, None);
    }
    assert!(report.coverage.access.is_empty());
    let text = json(&report);
    assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
}

#[test]
fn a_single_day_by_hand() {
    let fixture = fixture(
        &[common::AGREEMENT],
        &[row(
            "a-12",
            "2025-03-12T06:00:00Z",
            "A",
            "artillery",
            "military",
            KHARKIV,
            0,
            0,
        )],
    );
    let patrol = [record(
        "p1",
        CoverageKind::Patrol,
        ("2025-03-12T05:00:00Z", "2025-03-12T07:00:00Z"),
        AROUND_KHARKIV,
        None,
    )];
    let report = compiled_with(&fixture, &options(0), None, &patrol);
    assert_eq!(report.period.days.len(), 1);
    let observed = report.coverage.observation.as_ref().unwrap();
    assert_eq!(observed.period_days, 1.0);
    assert_eq!((observed.covered_days, observed.covered_hours), (1, 2.0));
    let all = &observed.by_party[0];
    assert_eq!(
        (
            all.acts,
            all.acts_observed,
            all.per_day,
            all.per_covered_day
        ),
        (1, 1, Some(1.0), Some(1.0))
    );
    assert_eq!(
        report.coverage.statement,
        "1 coverage records: 1 of observation (patrols, fixed cameras, drones) and 0 of \
         denied access or jamming."
    );
}

#[test]
fn without_records_the_batch_statement_stays() {
    let report = compiled(&three_acts(), &options(0));
    assert_eq!(report.coverage.records, 0);
    assert!(report.coverage.observation.is_none());
    assert!(
        report
            .coverage
            .statement
            .starts_with("No observation-coverage records were given"),
        "{}",
        report.coverage.statement
    );
    let text = json(&report);
    assert!(!text.contains("\"observation\""), "{text}");
    assert!(!text.contains("log_indices"), "{text}");
}

#[test]
fn listed_findings_carry_their_log_indexes_and_checkpoint() {
    let fixture = three_acts();
    // Reports in canonical order (a-12, a-13, b-13) at log entries 7, 3 and 9.
    let indices = [7, 3, 9];
    let report = compiled_with(&fixture, &options(0), Some((&indices, 12)), &[]);
    let shown = &report.readings[0].violations.shown;
    let found: Vec<(&str, &[u64], Option<u64>)> = shown
        .iter()
        .map(|f| {
            (
                f.incident.as_str(),
                f.log_indices.as_slice(),
                f.checkpoint_size,
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("inc-a-12", &[7][..], Some(12)),
            ("inc-a-13", &[3][..], Some(12)),
            ("inc-b-13", &[9][..], Some(12)),
        ]
    );
    assert!(
        report
            .coverage
            .statement
            .starts_with("The log holds no observation-coverage record")
    );
    let mut markdown = Vec::new();
    render(&report, ReportFormat::Markdown, &mut markdown).unwrap();
    let markdown = String::from_utf8(markdown).unwrap();
    assert!(
        markdown.contains("; log entries `7` in the checkpoint of size 12"),
        "{markdown}"
    );
    assert!(markdown.contains("truce log prove COPY --index I --size 12"));
    assert!(markdown.contains("```text\nexample.org/log\n1\nroot\n"));
    let text = json(&report);
    assert!(text.contains("\"checkpoint_size\": 12"), "{text}");

    // One index per report, or an error.
    let fixture = three_acts();
    let readings: Vec<truce_report::Reading<'_>> = fixture
        .agreements
        .iter()
        .map(|agreement| truce_report::Reading {
            assessor: truce_engine::assess::Assessor::new(
                agreement,
                &fixture.reports,
                &fixture.incidents,
            )
            .unwrap(),
            agreement_file: 0,
        })
        .collect();
    let inputs = truce_report::ReportInputs {
        agreements: vec![truce_report::AgreementFile {
            file: "a".to_owned(),
            sha256: String::new(),
        }],
        ..truce_report::ReportInputs::default()
    };
    let error = truce_report::compile(
        &truce_report::ReportSource {
            reports: &fixture.reports,
            incidents: &fixture.incidents,
            readings: &readings,
            inputs: &inputs,
            log_indices: Some(&[1]),
            coverage: &[],
            reviews: None,
        },
        &ReportOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "1 log indexes given for 3 reports: one per report is needed"
    );
}
