//! Running counts, fed one incident at a time so that findings never have to be held.

use std::collections::BTreeMap;

use truce_engine::adjudicate::{Finding, NoViolationReason, Verdict};
use truce_engine::assess::{Summary, UNATTRIBUTED};
use truce_model::agreement::Agreement;
use truce_model::{SmolStr, TargetKind};

use crate::figures::Harm;
use crate::words::missing_aspect;

/// The number of target categories counted separately.
pub(crate) const N_KINDS: usize = TargetKind::ALL.len();

/// The index of a target category in [`TargetKind::ALL`].
pub(crate) fn kind_index(kind: TargetKind) -> usize {
    TargetKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(N_KINDS - 1)
}

/// Whether a verdict counts as a prohibited act in the truce test and the trends.
pub(crate) fn is_prohibited_act(verdict: Verdict) -> bool {
    matches!(
        verdict,
        Verdict::Violation | Verdict::Alleged | Verdict::Disputed
    )
}

/// The stretches one series compares (epoch milliseconds, `[start, end)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeriesPlan {
    /// The party, or `None` for all parties.
    pub(crate) party: Option<SmolStr>,
    /// When the party (or the agreement) is bound from; `None` when never.
    pub(crate) bound_from: Option<i64>,
    /// The baseline, cut to the data.
    pub(crate) before: (i64, i64),
    /// Under the agreement, cut to the data.
    pub(crate) during: (i64, i64),
}

/// Prohibited acts counted for one series.
#[derive(Debug, Clone)]
pub(crate) struct SeriesCount {
    /// What is compared.
    pub(crate) plan: SeriesPlan,
    /// Acts in the baseline, per target category.
    pub(crate) before: [u64; N_KINDS],
    /// Acts under the agreement, per target category.
    pub(crate) during: [u64; N_KINDS],
    /// Acts per day of the report period.
    pub(crate) daily: Vec<u64>,
}

impl SeriesCount {
    fn new(plan: SeriesPlan, n_days: usize) -> Self {
        SeriesCount {
            plan,
            before: [0; N_KINDS],
            during: [0; N_KINDS],
            daily: vec![0; n_days],
        }
    }

    fn add(&mut self, at_ms: i64, kind: usize, day: Option<usize>) {
        let within = |(start, end): (i64, i64)| at_ms >= start && at_ms < end;
        if within(self.plan.before) {
            self.before[kind] += 1;
        }
        if within(self.plan.during) {
            self.during[kind] += 1;
        }
        if let Some(count) = day.and_then(|day| self.daily.get_mut(day)) {
            *count += 1;
        }
    }
}

/// Everything counted for one reading.
#[derive(Debug)]
pub(crate) struct ReadingTally {
    /// Findings per party and in all.
    pub(crate) summary: Summary,
    /// Violations, alleged and disputed findings per (party, rule).
    pub(crate) by_rule: BTreeMap<(SmolStr, SmolStr), [u64; 3]>,
    /// Undetermined findings per missing aspect.
    pub(crate) missing: BTreeMap<&'static str, u64>,
    /// Findings other than `not_in_force` and `outside_window`.
    pub(crate) considered: u64,
    /// `(start, incident index)` of every violation and disputed finding.
    pub(crate) listed: Vec<(i64, usize)>,
    /// All parties first, then each party of the agreement in its order.
    pub(crate) series: Vec<SeriesCount>,
}

impl ReadingTally {
    /// Nothing counted yet.
    pub(crate) fn new(agreement: &Agreement, plans: Vec<SeriesPlan>, n_days: usize) -> Self {
        ReadingTally {
            summary: Summary::new(agreement),
            by_rule: BTreeMap::new(),
            missing: BTreeMap::new(),
            considered: 0,
            listed: Vec::new(),
            series: plans
                .into_iter()
                .map(|plan| SeriesCount::new(plan, n_days))
                .collect(),
        }
    }

    /// Counts the finding of incident `index` under the reading itself.
    pub(crate) fn count_finding(&mut self, finding: &Finding, start_ms: i64, index: usize) {
        self.summary.count(finding);
        let verdict_slot = match finding.verdict {
            Verdict::Violation => Some(0),
            Verdict::Alleged => Some(1),
            Verdict::Disputed => Some(2),
            Verdict::NoViolation | Verdict::Undetermined => None,
        };
        if let Some(slot) = verdict_slot {
            for party in &finding.parties {
                for rule in &finding.rules {
                    self.by_rule
                        .entry((party.clone(), rule.clone()))
                        .or_insert([0; 3])[slot] += 1;
                }
            }
        }
        if matches!(finding.verdict, Verdict::Violation | Verdict::Disputed) {
            self.listed.push((start_ms, index));
        }
        let outside_time = finding.verdict == Verdict::NoViolation
            && matches!(
                finding.reason,
                Some(NoViolationReason::NotInForce | NoViolationReason::OutsideWindow)
            );
        if !outside_time {
            self.considered += 1;
        }
        if finding.verdict == Verdict::Undetermined {
            let mut aspects: Vec<&'static str> =
                finding.missing.iter().map(|m| missing_aspect(m)).collect();
            aspects.sort_unstable();
            aspects.dedup();
            for aspect in aspects {
                *self.missing.entry(aspect).or_insert(0) += 1;
            }
        }
    }

    /// Counts the finding of the same incident judged as if the agreement bound every party
    /// on every day: a prohibited act counts once for all parties and once for each party
    /// it names.
    pub(crate) fn count_act(&mut self, act: &Finding, at_ms: i64, day: Option<usize>) {
        if !is_prohibited_act(act.verdict) {
            return;
        }
        let kind = kind_index(act.target.kind);
        for series in &mut self.series {
            let counts = match &series.plan.party {
                None => true,
                Some(party) => act.parties.iter().any(|p| p == party),
            };
            if counts {
                series.add(at_ms, kind, day);
            }
        }
    }

    /// The counts of findings that name no party, if any.
    pub(crate) fn unattributed(&self) -> Option<&truce_engine::assess::Tally> {
        self.summary
            .parties
            .get(UNATTRIBUTED)
            .filter(|tally| tally.total() > 0)
    }
}

/// Civilian harm counted by region and by target category, before and under the agreement.
#[derive(Debug, Default)]
pub(crate) struct TollTally {
    /// Region code → (name, before, during).
    pub(crate) by_region: BTreeMap<String, (String, Harm, Harm)>,
    /// Category → (before, during).
    pub(crate) by_category: BTreeMap<&'static str, (Harm, Harm)>,
    /// Every incident.
    pub(crate) total: (Harm, Harm),
}

impl TollTally {
    /// Adds an incident's civilian casualties: `region` is its region's key and name,
    /// `during` tells which stretch it is in.
    pub(crate) fn add(
        &mut self,
        region: (String, String),
        kind: TargetKind,
        killed: u32,
        injured: u32,
        during: bool,
    ) {
        if killed == 0 && injured == 0 {
            return;
        }
        let (code, name) = region;
        let region = self
            .by_region
            .entry(code)
            .or_insert_with(|| (name, Harm::default(), Harm::default()));
        if during {
            region.2.add(killed, injured);
        } else {
            region.1.add(killed, injured);
        }
        let category = self
            .by_category
            .entry(kind.as_str())
            .or_insert((Harm::default(), Harm::default()));
        let total = &mut self.total;
        if during {
            category.1.add(killed, injured);
            total.1.add(killed, injured);
        } else {
            category.0.add(killed, injured);
            total.0.add(killed, injured);
        }
    }
}
