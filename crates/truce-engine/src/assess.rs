//! The batch assessment: incidents judged under one agreement, with a summary per party.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use smallvec::SmallVec;
use truce_model::SmolStr;
use truce_model::agreement::Agreement;

use std::ops::Range;

use truce_model::Report;
use truce_model::agreement::Reciprocity;

use crate::adjudicate::{
    Adjudicator, Finding, NoViolationReason, PrepareError, Releases, Verdict, releases,
    violation_key,
};
use crate::incident::Incident;
use crate::read_ahead::{BLOCK, block_at, read_ahead};
use crate::review::ReviewIndex;

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
                match self.no_violation.get_mut(reason) {
                    Some(count) => *count += 1,
                    None => {
                        self.no_violation.insert(reason.to_string(), 1);
                    }
                }
            }
        }
    }

    /// Adds another tally's counts to this one.
    fn absorb(&mut self, other: Tally) {
        self.violation += other.violation;
        self.alleged += other.alleged;
        self.disputed += other.disputed;
        self.undetermined += other.undetermined;
        for (reason, count) in other.no_violation {
            *self.no_violation.entry(reason).or_default() += count;
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

/// What a [`Tally`] counts, in arrays while many findings are counted: a `Tally` finds each
/// no-violation reason by name in a map.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    /// By verdict (its position in [`Verdict::ALL`]); no-violations are in `reasons`.
    verdicts: [u64; Verdict::ALL.len()],
    /// No-violations by reason (its position in [`NoViolationReason::ALL`]), the last for a
    /// no-violation without a reason.
    reasons: [u64; NoViolationReason::ALL.len() + 1],
}

impl Counts {
    fn add(&mut self, finding: &Finding) {
        match finding.verdict {
            Verdict::NoViolation => {
                let at = finding
                    .reason
                    .map_or(NoViolationReason::ALL.len(), |reason| reason as usize);
                self.reasons[at] += 1;
            }
            verdict => self.verdicts[verdict as usize] += 1,
        }
    }

    fn absorb(&mut self, other: &Counts) {
        for (mine, theirs) in self.verdicts.iter_mut().zip(other.verdicts) {
            *mine += theirs;
        }
        for (mine, theirs) in self.reasons.iter_mut().zip(other.reasons) {
            *mine += theirs;
        }
    }

    /// The same counts as a [`Tally`] that had counted the same findings.
    fn tally(&self) -> Tally {
        let verdict = |v: Verdict| self.verdicts[v as usize];
        let reason_names = NoViolationReason::ALL
            .iter()
            .map(|reason| reason.as_str())
            .chain(["unspecified"]);
        Tally {
            violation: verdict(Verdict::Violation),
            alleged: verdict(Verdict::Alleged),
            disputed: verdict(Verdict::Disputed),
            no_violation: reason_names
                .zip(self.reasons)
                .filter(|&(_, count)| count > 0)
                .map(|(name, count)| (name.to_string(), count))
                .collect(),
            undetermined: verdict(Verdict::Undetermined),
        }
    }
}

/// What [`Assessor::summarise`] counts on each thread: [`Summary::count`] with the parties
/// found by a scan of the few names counted so far and the counts in arrays.
#[derive(Debug, Default)]
struct Counter {
    parties: SmallVec<[(SmolStr, Counts); 4]>,
    total: Counts,
}

impl Counter {
    fn count(&mut self, finding: &Finding) {
        self.total.add(finding);
        if finding.parties.is_empty() {
            self.party(UNATTRIBUTED).add(finding);
        }
        for party in &finding.parties {
            self.party(party).add(finding);
        }
    }

    fn party(&mut self, party: &str) -> &mut Counts {
        let at = match self.parties.iter().position(|(p, _)| p == party) {
            Some(at) => at,
            None => {
                self.parties.push((SmolStr::new(party), Counts::default()));
                self.parties.len() - 1
            }
        };
        &mut self.parties[at].1
    }

    fn absorb(&mut self, other: Counter) {
        self.total.absorb(&other.total);
        for (party, counts) in &other.parties {
            self.party(party).absorb(counts);
        }
    }

    fn summary(&self) -> Summary {
        Summary {
            parties: self
                .parties
                .iter()
                .map(|(party, counts)| (party.clone(), counts.tally()))
                .collect(),
            total: self.total.tally(),
        }
    }
}

/// The party key under which findings that name no party are counted.
pub const UNATTRIBUTED: &str = "unattributed";

/// Per-party and overall counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Per party id (and [`UNATTRIBUTED`]); a disputed finding counts for every party it names.
    pub parties: BTreeMap<SmolStr, Tally>,
    /// Every finding once.
    pub total: Tally,
}

impl Summary {
    /// Counts `findings`.
    pub fn of(agreement: &Agreement, findings: &[Finding]) -> Summary {
        let mut summary = Summary::new(agreement);
        for finding in findings {
            summary.count(finding);
        }
        summary
    }

    /// No findings counted yet; every party of `agreement` listed with zero counts.
    pub fn new(agreement: &Agreement) -> Summary {
        let mut summary = Summary::default();
        for party in &agreement.parties {
            summary.parties.entry(party.id.clone()).or_default();
        }
        summary
    }

    /// Counts one more finding.
    pub fn count(&mut self, finding: &Finding) {
        self.total.add(finding);
        if finding.parties.is_empty() {
            self.add_to(UNATTRIBUTED, finding);
        }
        for party in &finding.parties {
            self.add_to(party, finding);
        }
    }

    /// Counts many findings, in parallel (the counts do not depend on the thread count).
    pub fn count_all(&mut self, findings: &[Finding]) {
        let counted = findings
            .par_iter()
            .fold(Summary::default, |mut summary, finding| {
                summary.count(finding);
                summary
            })
            .reduce(Summary::default, |mut a, b| {
                a.absorb(b);
                a
            });
        self.absorb(counted);
    }

    /// Adds another summary's counts to this one.
    fn absorb(&mut self, other: Summary) {
        self.total.absorb(other.total);
        for (party, tally) in other.parties {
            self.parties.entry(party).or_default().absorb(tally);
        }
    }

    /// Adds `finding` to `party`'s tally. The party is looked up before an entry is made:
    /// nearly every finding names a party already counted, and an entry builds its key first.
    fn add_to(&mut self, party: &str, finding: &Finding) {
        match self.parties.get_mut(party) {
            Some(tally) => tally.add(finding),
            None => {
                let mut tally = Tally::default();
                tally.add(finding);
                self.parties.insert(SmolStr::new(party), tally);
            }
        }
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

/// Reads ahead the member reports of `incidents` (see [`crate::read_ahead`]). Members other
/// than an incident's first lie anywhere in the report slice.
fn warm_member_reports(reports: &[Report], incidents: &[Incident]) {
    read_ahead(
        reports,
        incidents
            .iter()
            .flat_map(|incident| incident.members.iter().copied()),
    );
}

/// What [`Assessor::summarise`] counts.
#[derive(Debug)]
pub struct Summarised<'a> {
    /// The summary of every finding.
    pub summary: Summary,
    /// The first picked incidents, in order, each with its full finding.
    pub picked: Vec<(&'a Incident, Finding)>,
    /// How many findings were picked in all.
    pub n_picked: usize,
}

/// One agreement made ready to judge a fixed list of incidents: its zones indexed and, under
/// a reciprocity clause, the releases that the earliest established violation triggers
/// already found. Findings are then produced for any range of incidents, in parallel, and
/// the result does not depend on the number of threads or on how the incidents are split
/// into ranges — so a caller can render a million findings chunk by chunk without holding
/// them all.
#[derive(Debug)]
pub struct Assessor<'a> {
    adjudicator: Adjudicator<'a>,
    reports: &'a [Report],
    incidents: &'a [Incident],
    releases: Releases,
}

impl<'a> Assessor<'a> {
    /// Prepares `agreement` for `incidents`, built from `reports`. With a reciprocity clause
    /// this judges every incident once to find the earliest established violation (keeping
    /// nothing else).
    pub fn new(
        agreement: &'a Agreement,
        reports: &'a [Report],
        incidents: &'a [Incident],
    ) -> Result<Self, PrepareError> {
        Assessor::reviewed(agreement, reports, incidents, Arc::new(ReviewIndex::new()))
    }

    /// As [`Assessor::new`], judging under monitors' decisions (`incidents` should come from
    /// [`crate::corroborate::corroborate_reviewed`] under the same decisions).
    pub fn reviewed(
        agreement: &'a Agreement,
        reports: &'a [Report],
        incidents: &'a [Incident],
        reviews: Arc<ReviewIndex>,
    ) -> Result<Self, PrepareError> {
        let mut adjudicator = Adjudicator::new(agreement)?;
        adjudicator.set_reviews(reviews);
        let none = Releases::new();
        let releases = if agreement.reciprocity == Reciprocity::Release {
            let earliest = incidents
                .par_iter()
                .filter_map(|incident| {
                    let finding = adjudicator.adjudicate(reports, incident, &none);
                    violation_key(incident, &finding)
                })
                .min();
            releases(agreement, earliest.as_ref())
        } else {
            none
        };
        Ok(Assessor {
            adjudicator,
            reports,
            incidents,
            releases,
        })
    }

    /// The agreement.
    pub fn agreement(&self) -> &Agreement {
        self.adjudicator.agreement()
    }

    /// The reciprocity releases that apply.
    pub fn releases(&self) -> &Releases {
        &self.releases
    }

    /// The number of incidents.
    pub fn len(&self) -> usize {
        self.incidents.len()
    }

    /// Whether there are no incidents.
    pub fn is_empty(&self) -> bool {
        self.incidents.is_empty()
    }

    /// The findings of `incidents[range]`, in order (judged in parallel).
    pub fn findings(&self, range: Range<usize>) -> Vec<Finding> {
        let incidents = &self.incidents[range];
        incidents
            .par_iter()
            .enumerate()
            .with_min_len(BLOCK)
            .map(|(index, incident)| {
                if let Some(block) = block_at(incidents, index) {
                    warm_member_reports(self.reports, block);
                }
                self.adjudicator
                    .adjudicate(self.reports, incident, &self.releases)
            })
            .collect()
    }

    /// The summary of every finding, counted from verdicts alone (nothing is built that a
    /// summary does not count), and the first `limit` incidents, in order, whose finding `pick`
    /// selects, with their full findings. `pick` decides from the verdict, its reason, the
    /// parties, the target and the site: the finding it is shown has no chain of reasons and
    /// no lists of rules, exceptions, zones or what is missing.
    pub fn summarise(
        &self,
        pick: impl Fn(&Finding) -> bool + Sync,
        limit: usize,
    ) -> Summarised<'a> {
        let (counted, n_picked, picked) = self
            .incidents
            .par_chunks(BLOCK)
            .enumerate()
            .fold(
                || (Counter::default(), 0usize, Vec::new()),
                |(mut counted, mut n_picked, mut picked), (block, incidents)| {
                    warm_member_reports(self.reports, incidents);
                    // One finding judged into again and again: its lists are reused.
                    let mut finding = Finding::blank();
                    for (offset, incident) in incidents.iter().enumerate() {
                        self.adjudicator.count_into(
                            self.reports,
                            incident,
                            &self.releases,
                            &mut finding,
                        );
                        counted.count(&finding);
                        if pick(&finding) {
                            n_picked += 1;
                            if picked.len() < limit {
                                picked.push(block * BLOCK + offset);
                            }
                        }
                    }
                    (counted, n_picked, picked)
                },
            )
            .reduce(
                || (Counter::default(), 0usize, Vec::new()),
                // Folds come in incident order, so the first `limit` picks stay the first.
                |(mut counted, n_picked, mut picked), (more, n_more, later)| {
                    counted.absorb(more);
                    picked.extend(later.into_iter().take(limit - picked.len()));
                    (counted, n_picked + n_more, picked)
                },
            );
        let mut summary = Summary::new(self.agreement());
        summary.absorb(counted.summary());
        let incidents = self.incidents;
        let picked = picked
            .into_par_iter()
            .map(|index| {
                let incident = &incidents[index];
                let finding = self
                    .adjudicator
                    .adjudicate(self.reports, incident, &self.releases);
                (incident, finding)
            })
            .collect();
        Summarised {
            summary,
            picked,
            n_picked,
        }
    }

    /// Every finding and the summary.
    pub fn assess(self) -> Assessment {
        let findings = self.findings(0..self.incidents.len());
        let summary = Summary::of(self.agreement(), &findings);
        Assessment {
            findings,
            summary,
            releases: self.releases,
        }
    }
}

/// Judges every incident under `agreement` (in parallel; the result does not depend on the
/// number of threads). With a reciprocity clause, the releases that the earliest established
/// violation triggers apply to every finding. See [`Assessor`] to produce findings in chunks.
pub fn assess(
    agreement: &Agreement,
    reports: &[Report],
    incidents: &[Incident],
) -> Result<Assessment, PrepareError> {
    Ok(Assessor::new(agreement, reports, incidents)?.assess())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(verdict: Verdict, reason: Option<NoViolationReason>, parties: &[&str]) -> Finding {
        let mut finding = Finding::blank();
        finding.verdict = verdict;
        finding.reason = reason;
        finding.parties = parties.iter().map(|&p| SmolStr::new(p)).collect();
        finding
    }

    /// Counting in arrays on two "threads" and joining gives the summary that counting each
    /// finding into a `Summary` gives: every verdict, every reason, a no-violation without a
    /// reason, disputes naming two parties and findings naming none.
    #[test]
    fn counts_in_arrays_give_the_summary_of_counting_each_finding() {
        let mut findings = vec![
            finding(Verdict::Violation, None, &["RU"]),
            finding(Verdict::Alleged, None, &["UA"]),
            finding(Verdict::Disputed, None, &["RU", "UA"]),
            finding(Verdict::Undetermined, None, &[]),
            finding(Verdict::NoViolation, None, &["UA"]),
        ];
        for (i, &reason) in NoViolationReason::ALL.iter().enumerate() {
            let parties: &[&str] = match i % 3 {
                0 => &[],
                1 => &["RU"],
                _ => &["XX"],
            };
            findings.push(finding(Verdict::NoViolation, Some(reason), parties));
            // A different count for each reason, so that a reason counted under another's
            // name shows.
            for _ in 0..=i {
                findings.push(finding(Verdict::NoViolation, Some(reason), &["UA"]));
            }
        }
        let mut want = Summary::default();
        for f in &findings {
            want.count(f);
        }
        for split in [0, 3, findings.len()] {
            let (first, second) = findings.split_at(split);
            let mut a = Counter::default();
            let mut b = Counter::default();
            first.iter().for_each(|f| a.count(f));
            second.iter().rev().for_each(|f| b.count(f));
            b.absorb(a);
            assert_eq!(b.summary(), want, "split at {split}");
        }
        assert_eq!(
            want.total.no_violation.len(),
            NoViolationReason::ALL.len() + 1
        );
        assert_eq!(want.total.total(), findings.len() as u64);
    }
}
