//! The batch assessment: incidents judged under one agreement, with a summary per party.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;
use truce_model::agreement::Agreement;

use crate::adjudicate::{
    Adjudicator, Finding, NoViolationReason, PrepareError, Releases, Verdict, releases,
};
use crate::incident::Incident;

/// Counts of findings for one party (or for all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Established violations.
    pub violation: u64,
    /// Alleged, not established.
    pub alleged: u64,
    /// Established acts with contested attribution.
    pub disputed: u64,
    /// Not violations, by reason (`outside_window`, ...).
    pub no_violation: BTreeMap<String, u64>,
    /// Undetermined.
    pub undetermined: u64,
}

impl Tally {
    fn add(&mut self, finding: &Finding) {
        match finding.verdict {
            Verdict::Violation => self.violation += 1,
            Verdict::Alleged => self.alleged += 1,
            Verdict::Disputed => self.disputed += 1,
            Verdict::Undetermined => self.undetermined += 1,
            Verdict::NoViolation => {
                let reason = finding
                    .reason
                    .map_or("unspecified", NoViolationReason::as_str);
                *self.no_violation.entry(reason.to_string()).or_default() += 1;
            }
        }
    }

    /// All findings counted.
    pub fn total(&self) -> u64 {
        self.violation
            + self.alleged
            + self.disputed
            + self.undetermined
            + self.no_violation.values().sum::<u64>()
    }
}

/// The party key under which findings that name no party are counted.
pub const UNATTRIBUTED: &str = "unattributed";

/// Per-party and overall counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Per party id (and [`UNATTRIBUTED`]); a disputed finding counts for every party it names.
    pub parties: BTreeMap<String, Tally>,
    /// Every finding once.
    pub total: Tally,
}

impl Summary {
    /// Counts `findings`.
    pub fn of(agreement: &Agreement, findings: &[Finding]) -> Summary {
        let mut summary = Summary::default();
        for party in &agreement.parties {
            summary.parties.entry(party.id.clone()).or_default();
        }
        for finding in findings {
            summary.total.add(finding);
            if finding.parties.is_empty() {
                summary
                    .parties
                    .entry(UNATTRIBUTED.to_string())
                    .or_default()
                    .add(finding);
            }
            for party in &finding.parties {
                summary
                    .parties
                    .entry(party.clone())
                    .or_default()
                    .add(finding);
            }
        }
        summary
    }
}

/// Findings for every incident under one agreement, in incident order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// One finding per incident, parallel to the incidents.
    pub findings: Vec<Finding>,
    /// Counts.
    pub summary: Summary,
    /// Reciprocity releases that applied.
    pub releases: Releases,
}

/// Judges every incident under `agreement` (in parallel; the result does not depend on the
/// number of threads). With a reciprocity clause, a second pass applies the releases that the
/// first pass's earliest violation triggers.
pub fn assess(agreement: &Agreement, incidents: &[Incident]) -> Result<Assessment, PrepareError> {
    let adjudicator = Adjudicator::new(agreement)?;
    let none = Releases::new();
    let mut findings: Vec<Finding> = incidents
        .par_iter()
        .map(|incident| adjudicator.adjudicate(incident, &none))
        .collect();
    let releases = releases(agreement, incidents, &findings);
    if !releases.is_empty() {
        findings = incidents
            .par_iter()
            .map(|incident| adjudicator.adjudicate(incident, &releases))
            .collect();
    }
    let summary = Summary::of(agreement, &findings);
    Ok(Assessment {
        findings,
        summary,
        releases,
    })
}
