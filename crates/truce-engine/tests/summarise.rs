//! Counting from verdicts alone gives what counting full findings gives: for every shipped
//! example agreement (each of its readings), over the example's own reports and over a
//! simulated month, `Adjudicator::verdict` is `adjudicate` without reasons and without what
//! is missing, and `Assessor::summarise` gives the summary and the first picked findings of
//! the full assessment. And the zone screen changes no finding: an adjudicator without it
//! gives the same findings.

#![allow(clippy::unwrap_used)] // test helpers may panic: that is a test failure

use std::path::{Path, PathBuf};

use truce_engine::adjudicate::{Adjudicator, Finding, Releases, Verdict};
use truce_engine::assess::{Assessor, Summary};
use truce_engine::corroborate::{CorroborationParams, corroborate};
use truce_engine::intake::{Origin, Origins, merge};
use truce_model::Report;
use truce_model::agreement::{Agreement, FileSource, load};
use truce_model::ingest::{IngestOptions, InputFormat, parse_reports};

/// Files relative to an example's folder.
struct Folder(PathBuf);

impl FileSource for Folder {
    fn read(&self, relative: &str) -> Result<Vec<u8>, String> {
        std::fs::read(self.0.join(relative)).map_err(|e| e.to_string())
    }
}

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("agreement.toml").exists())
        .collect();
    found.sort();
    assert!(found.len() >= 4, "the four shipped examples: {found:?}");
    found
}

fn readings(folder: &Path) -> Vec<Agreement> {
    let file = folder.join("agreement.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    load(
        &file.display().to_string(),
        &text,
        &Folder(folder.to_path_buf()),
    )
    .unwrap()
}

/// The example's reports in canonical order.
fn example_reports(folder: &Path) -> Vec<Report> {
    let bytes = std::fs::read(folder.join("reports.csv")).unwrap();
    let ingested = parse_reports(
        InputFormat::Csv,
        "reports.csv",
        &bytes,
        &IngestOptions::default(),
    )
    .unwrap();
    let file: std::sync::Arc<str> = std::sync::Arc::from("reports.csv");
    let origins: Origins = ingested
        .rows
        .iter()
        .map(|&row| Origin {
            file: file.clone(),
            row,
        })
        .collect();
    merge(ingested.reports, origins).0
}

fn without_detail(mut finding: Finding) -> Finding {
    finding.reasons.clear();
    finding.missing.clear();
    finding
}

fn notable(finding: &Finding) -> bool {
    matches!(finding.verdict, Verdict::Violation | Verdict::Disputed)
}

/// Checks one reading over one set of reports; returns how many findings were compared.
fn check(agreement: &Agreement, reports: &[Report]) -> usize {
    let incidents = corroborate(
        reports,
        &CorroborationParams::from(&agreement.corroboration),
    );
    let adjudicator = Adjudicator::new(agreement).unwrap();
    let unscreened = Adjudicator::new(agreement).unwrap().without_zone_screen();
    let none = Releases::new();
    for incident in &incidents {
        let full = adjudicator.adjudicate(reports, incident, &none);
        assert_eq!(
            unscreened.adjudicate(reports, incident, &none),
            full,
            "incident {} without the zone screen",
            incident.id
        );
        let lean = adjudicator.verdict(reports, incident, &none);
        assert!(lean.reasons.is_empty() && lean.missing.is_empty());
        assert_eq!(lean, without_detail(full), "incident {}", incident.id);
    }

    let assessor = Assessor::new(agreement, reports, &incidents).unwrap();
    let findings = assessor.findings(0..assessor.len());
    let expected_summary = Summary::of(agreement, &findings);
    let expected_picked: Vec<usize> = (0..findings.len())
        .filter(|&i| notable(&findings[i]))
        .collect();
    for limit in [0, 1, 3, 50] {
        let summarised = assessor.summarise(notable, limit);
        assert_eq!(summarised.summary, expected_summary, "{}", agreement.id);
        assert_eq!(summarised.n_picked, expected_picked.len());
        let picked: Vec<(&str, &Finding)> = summarised
            .picked
            .iter()
            .map(|(incident, finding)| (incident.id.as_str(), finding))
            .collect();
        let expected: Vec<(&str, &Finding)> = expected_picked
            .iter()
            .take(limit)
            .map(|&i| (incidents[i].id.as_str(), &findings[i]))
            .collect();
        assert_eq!(picked, expected, "{} limit {limit}", agreement.id);
    }
    findings.len()
}

#[test]
fn verdicts_alone_count_as_full_findings_on_every_example() {
    let simulated = truce_sim::simulate(&truce_sim::Scenario::default_scenario(5).scaled_to(3_000))
        .unwrap()
        .reports;
    for folder in examples() {
        let own = example_reports(&folder);
        for agreement in readings(&folder) {
            let compared = check(&agreement, &own) + check(&agreement, &simulated);
            println!(
                "{} ({}): {compared} findings compared",
                folder.display(),
                agreement.interpretation
            );
            assert!(compared > 100);
        }
    }
}
