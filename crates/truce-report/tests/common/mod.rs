//! Report sets built from our CSV and agreements from TOML text, as the binary reads them.
#![allow(dead_code)] // each test binary uses a part of these helpers

use std::sync::Arc;

use truce_engine::assess::Assessor;
use truce_engine::corroborate::{CorroborationParams, corroborate};
use truce_engine::incident::Incident;
use truce_engine::intake::{Origin, Origins, merge};
use truce_model::Report;
use truce_model::agreement::{self, Agreement, MemoryFiles};
use truce_model::ingest::{IngestOptions, InputFormat, parse_reports};
use truce_report::{
    AgreementFile, ComplianceReport, Reading, ReportInputs, ReportOptions, ReportSource, compile,
};

pub const HEADER: &str = "id,source_id,source_kind,source_party,time,time_end,place,lon,lat,\
uncertainty_m,action,target,site,accused,actors,civilian_killed,civilian_injured,\
military_killed,military_injured,unspecified_killed,text,evidence";

/// Two parties, bound from 11 to 21 March 2025 (UTC) by one rule against everything,
/// interception excepted; one monitor establishes an act.
pub const AGREEMENT: &str = r#"
format = "truce-agreement/1"
id = "test-truce"
version = 1
title = "Test truce"

[[parties]]
id = "A"
name = "Party A"

[[parties]]
id = "B"
name = "Party B"

[window]
time_zone = "UTC"
start = "2025-03-11T00:00:00"
end = "2025-03-21T00:00:00"

[[rules]]
id = "R1"
text = "No attacks"
actions = ["*"]
targets = ["*"]

[[exceptions]]
id = "E1"
text = "Interception is allowed"
actions = ["air_defence_intercept"]

[corroboration]
min_independent_sources = 2
monitor_alone_establishes = true
"#;

pub const KHARKIV: (f64, f64) = (36.254, 49.982);
pub const NOVA_KAKHOVKA: (f64, f64) = (33.356, 46.760);
pub const BLACK_SEA: (f64, f64) = (31.5, 43.5);

/// One monitor report: `id`, time, accused (`""`: nobody), action, target, place, civilian
/// killed and injured.
#[allow(clippy::too_many_arguments)]
pub fn row(
    id: &str,
    time: &str,
    accused: &str,
    action: &str,
    target: &str,
    place: (f64, f64),
    killed: u32,
    injured: u32,
) -> String {
    format!(
        "{id},mon,monitor,,{time},,,{},{},100,{action},{target},,{accused},,{killed},{injured},,,,,",
        place.0, place.1
    )
}

pub struct Fixture {
    pub agreements: Vec<Agreement>,
    pub reports: Vec<Report>,
    pub incidents: Vec<Incident>,
}

pub fn fixture(agreement_texts: &[&str], rows: &[String]) -> Fixture {
    let mut agreements = Vec::new();
    for text in agreement_texts {
        agreements
            .extend(agreement::load("agreement.toml", text, &MemoryFiles::default()).unwrap());
    }
    let options = IngestOptions {
        local_zone: jiff::tz::TimeZone::UTC,
        id_order: false,
    };
    let ingested = if rows.is_empty() {
        truce_model::ingest::Ingested::default()
    } else {
        let csv = format!("{HEADER}\n{}\n", rows.join("\n"));
        parse_reports(InputFormat::Csv, "reports.csv", csv.as_bytes(), &options).unwrap()
    };
    assert!(ingested.rejections.is_empty(), "{:?}", ingested.rejections);
    let file: Arc<str> = Arc::from("reports.csv");
    let origins: Origins = ingested
        .rows
        .iter()
        .map(|&row| Origin {
            file: file.clone(),
            row,
        })
        .collect();
    let (reports, duplicates) = merge(ingested.reports, origins);
    assert!(duplicates.is_empty());
    let params = CorroborationParams::from(&agreements[0].corroboration);
    let incidents = corroborate(&reports, &params);
    Fixture {
        agreements,
        reports,
        incidents,
    }
}

pub fn compiled(fixture: &Fixture, options: &ReportOptions) -> ComplianceReport {
    compiled_with(fixture, options, None, &[])
}

/// As [`compiled`], with log indexes for the reports (and a log of `log_size` entries in
/// the inputs) and coverage records.
pub fn compiled_with(
    fixture: &Fixture,
    options: &ReportOptions,
    log: Option<(&[u64], u64)>,
    coverage: &[truce_report::CoverageRecord],
) -> ComplianceReport {
    let readings: Vec<Reading<'_>> = fixture
        .agreements
        .iter()
        .map(|agreement| Reading {
            assessor: Assessor::new(agreement, &fixture.reports, &fixture.incidents).unwrap(),
            agreement_file: 0,
        })
        .collect();
    let inputs = ReportInputs {
        agreements: vec![AgreementFile {
            file: "agreement.toml".to_owned(),
            sha256: "0".repeat(64),
        }],
        reports: Vec::new(),
        reports_sha256: "1".repeat(64),
        rejected_rows: 0,
        log: log.map(|(_, size)| truce_report::LogInputs {
            origin: "example.org/log".to_owned(),
            size,
            root: "2".repeat(44),
            checkpoint: "example.org/log\n1\nroot\n\n— example.org/log sig\n".to_owned(),
            signatures: vec!["example.org/log".to_owned()],
            agreements: Vec::new(),
            reports: fixture.reports.len() as u64,
            retracted: Vec::new(),
            reviews: 0,
            coverage_records: coverage.len() as u64,
        }),
        coverage_files: Vec::new(),
    };
    compile(
        &ReportSource {
            reports: &fixture.reports,
            incidents: &fixture.incidents,
            readings: &readings,
            inputs: &inputs,
            log_indices: log.map(|(indices, _)| indices),
            coverage,
            reviews: None,
        },
        options,
    )
    .unwrap()
}

pub fn options(baseline_days: u32) -> ReportOptions {
    ReportOptions {
        baseline_days,
        ..ReportOptions::default()
    }
}
