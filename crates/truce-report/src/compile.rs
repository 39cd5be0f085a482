//! The figures of a report, computed from reports, incidents and readings of agreements.

use std::ops::Range;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rayon::prelude::*;
use truce_engine::adjudicate::{Adjudicator, Finding, NoViolationReason, Releases, Verdict};
use truce_engine::assess::{Assessor, Tally};
use truce_engine::incident::Incident;
use truce_engine::review::ReviewIndex;
use truce_model::agreement::{Agreement, InForce, Reciprocity};
use truce_model::{Report, SmolStr, TargetKind};
use truce_stats::{
    Count, Penalty, RATE_RATIO_METHOD, RateRatio, WEEK_DAYS, change_points, percent_change_phrase,
    rate_ratio, rolling_mean, week_on_week,
};

use crate::counting::{N_KINDS, ReadingTally, SeriesCount, SeriesPlan, TollTally};
use crate::coverage::{
    CoveragePlan, CoverageRecord, CoverageTally, coverage_figures, statement as coverage_statement,
};
use crate::error::ReportError;
use crate::figures::{
    AgreementHeading, ChangeMarker, ComparedTest, Comparison, ComparisonRow, ComplianceReport,
    Coverage, Difference, Exposure, FORMAT, Harm, Headline, HumanitarianToll, InForceNote,
    ListedFinding, ListedFindings, MapLayer, MapPoint, MissingCount, PartyHeading, PartyHeadline,
    ReadingFigures, ReleaseNote, ReportInputs, ReportPeriod, RuleCounts, TestOutcome, TollRow,
    Trend, TruceTest, TruceTestRow, UndeterminedShare, VerdictCounts, WeekOnWeek, ZoneOutline,
};
use crate::geography::{Geography, OUTSIDE_REGIONS, geography};
use crate::period::{Calendar, DAY_MS, DayAxis, Horizon, clamp_ms, local_time, timestamp};
use crate::words::{round_significant, target_phrase, test_subject};

/// Incidents judged per chunk: every reading's findings of one chunk are held at once.
const CHUNK: usize = 16 * 1024;

/// The fewest days a stretch at one rate may have in the change-point search.
pub(crate) const CHANGE_MIN_DAYS: usize = 7;

/// The multiplier of `ln(days)` charged per change point: 2, a cautious choice for
/// incident counts, which vary more than a Poisson model allows.
pub(crate) const CHANGE_PENALTY_MULTIPLIER: f64 = 2.0;

/// Readings whose incidents differ that are listed as examples in the comparison.
const DIFFERENCES_SHOWN: usize = 20;

/// One reading of an agreement: its assessor and the agreement file it came from.
#[derive(Debug)]
pub struct Reading<'a> {
    /// The agreement, under one interpretation, prepared for the incidents.
    pub assessor: Assessor<'a>,
    /// The index of its file in [`ReportInputs::agreements`].
    pub agreement_file: usize,
}

/// What a report is computed from.
#[derive(Debug, Clone, Copy)]
pub struct ReportSource<'a> {
    /// The reports, in canonical order (the incidents index into them).
    pub reports: &'a [Report],
    /// The incidents formed from them.
    pub incidents: &'a [Incident],
    /// The readings to report on; the first is the primary one (its time zone sets the days,
    /// its start splits the humanitarian toll, its verdicts colour the map).
    pub readings: &'a [Reading<'a>],
    /// The files and digests, as the caller read them.
    pub inputs: &'a ReportInputs,
    /// The log index of each report, parallel to `reports`, when they were read from a log
    /// ([`ReportInputs::log`] then names its checkpoint): listed findings carry them.
    pub log_indices: Option<&'a [u64]>,
    /// Observation-coverage records and access denials (none: section 6 says so).
    pub coverage: &'a [CoverageRecord],
    /// Monitors' reviews and sources' retractions the incidents were formed and the
    /// readings judged under ([`truce_engine::review`]); the truce test judges under them
    /// too. `None`: no decision.
    pub reviews: Option<&'a Arc<ReviewIndex>>,
}

/// How a report is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOptions {
    /// Days before each start that the truce test compares with.
    pub baseline_days: u32,
    /// Where the data ends, if not at the end of the last day with an incident.
    pub until: Option<Timestamp>,
    /// The most violations and disputed incidents listed per reading.
    pub list_limit: usize,
}

impl Default for ReportOptions {
    /// A 30-day baseline, the data's own end, 200 listed findings.
    fn default() -> Self {
        ReportOptions {
            baseline_days: 30,
            until: None,
            list_limit: 200,
        }
    }
}

/// The stretches of time one reading compares.
#[derive(Debug, Clone)]
struct ReadingPlan {
    /// The effective start, or the unmet condition.
    in_force: Result<i64, SmolStr>,
    /// The end of the period under the agreement, cut to the data.
    end: i64,
    /// The agreement's effective end, if any.
    effective_end: Option<i64>,
    /// All parties first, then each party.
    series: Vec<SeriesPlan>,
}

/// The agreement's effective start (the window's start, later if a condition precedent was
/// met later), or the id of a condition that is unmet.
fn effective_start(agreement: &Agreement) -> Result<i64, SmolStr> {
    let mut start = agreement.window.start;
    for condition in &agreement.conditions {
        match condition.met {
            Some(met) => start = start.max(met),
            None => return Err(condition.id.clone()),
        }
    }
    Ok(start.as_millisecond())
}

fn plan_reading(agreement: &Agreement, baseline_ms: i64, horizon: &Horizon) -> ReadingPlan {
    let in_force = effective_start(agreement);
    // A reading never in force still gets stretches around its agreed start: the toll and
    // the trends are read against them, only the truce test is not computed.
    let anchor = *in_force
        .as_ref()
        .unwrap_or(&agreement.window.start.as_millisecond());
    let effective_end = agreement.effective_end().map(|t| t.as_millisecond());
    let end = match (effective_end, horizon.end) {
        (Some(agreed), Some(data)) => agreed.min(data),
        (Some(agreed), None) => agreed,
        (None, Some(data)) => data,
        (None, None) => anchor,
    };
    let stretches = |start: i64| {
        let before = horizon.clip(clamp_ms(start.saturating_sub(baseline_ms)), start);
        let during = horizon.clip(start, end);
        (before, during)
    };
    let mut series = Vec::with_capacity(agreement.parties.len() + 1);
    let (before, during) = stretches(anchor);
    series.push(SeriesPlan {
        party: None,
        bound_from: in_force.as_ref().ok().copied(),
        before,
        during,
    });
    for party in &agreement.parties {
        let bound_from = match agreement.in_force_for(&party.id) {
            InForce::Between { start, .. } => Some(start.as_millisecond()),
            InForce::ConditionUnmet { .. } => None,
        };
        let (before, during) = stretches(bound_from.unwrap_or(anchor));
        series.push(SeriesPlan {
            party: Some(party.id.clone()),
            bound_from,
            before,
            during,
        });
    }
    ReadingPlan {
        in_force,
        end,
        effective_end,
        series,
    }
}

/// The agreement with its rules, zones, exceptions and corroboration policy, binding every
/// party on every day: what the truce test counts with, so that the days before the
/// agreement are judged by the same rules as the days under it.
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

/// Whether an incident must be judged again under the always-binding agreement to know
/// whether it is a prohibited act, given its finding under the reading.
///
/// The two agreements differ only in time (window, extensions, lapse, conditions, per-party
/// starts) and reciprocity, and the engine judges time before everything else it checks for
/// a party. So a violation, alleged or disputed finding stays one, naming the same parties
/// and target; a `no_violation` for any reason after `released_by_reciprocity` in the
/// engine's order of precedence had no party excluded by time, and stays what it is. Only
/// findings excluded by time or release, and undetermined ones (which may straddle the
/// window's edge), can change. The property tests check this against judging every
/// incident again.
fn needs_binding_judgement(finding: &Finding) -> bool {
    match finding.verdict {
        Verdict::Violation | Verdict::Alleged | Verdict::Disputed => false,
        Verdict::Undetermined => true,
        Verdict::NoViolation => matches!(
            finding.reason,
            None | Some(
                NoViolationReason::NotInForce
                    | NoViolationReason::OutsideWindow
                    | NoViolationReason::ReleasedByReciprocity
            )
        ),
    }
}

/// The ranges of `0..len` in chunks of [`CHUNK`].
fn chunks(len: usize) -> impl Iterator<Item = Range<usize>> {
    (0..len)
        .step_by(CHUNK)
        .map(move |start| start..(start + CHUNK).min(len))
}

/// A verdict with its reason, for the comparison.
fn verdict_text(finding: &Finding) -> String {
    match finding.reason {
        Some(reason) => format!("{} ({})", finding.verdict.as_str(), reason.as_str()),
        None => finding.verdict.as_str().to_owned(),
    }
}

/// Computes every figure of a compliance report.
///
/// Parameters: `source`, the reports, incidents and readings (the first is primary);
/// `options`, the baseline length, the end of the data and the list limit.
/// Returns the [`ComplianceReport`]. A pure function: the same inputs give the same report,
/// whatever the order the readings' findings are produced in or the number of threads.
///
/// # Method
///
/// Every incident is placed in time at the midpoint of its interval. The report period runs
/// from `baseline_days` before the earliest effective start among the readings to the
/// latest end, and every stretch is cut to the data: from the first calendar day (in the
/// primary agreement's time zone) with an incident to the end of the last (or `until`).
/// Incidents outside the period are left out of every figure.
///
/// The truce test and the trends count *prohibited acts*: incidents judged violation,
/// alleged or disputed under the agreement's rules as if it bound every party on every day
/// (no window, no conditions, no reciprocity), so that the days before the agreement are
/// judged by the same rules as the days under it. An act counts for every party it names,
/// and once for all parties. Each party's baseline is the `baseline_days` before its own
/// start; the all-parties rows use the agreement's effective start. Each comparison is a
/// Poisson rate ratio with its exact conditional test and Clopper–Pearson interval
/// ([`truce_stats::rate_ratio`]).
///
/// # Errors
///
/// [`ReportError::NoReadings`], [`ReportError::AgreementFileOutOfRange`],
/// [`ReportError::UnknownTimeZone`] for the primary agreement's zone,
/// [`ReportError::PeriodTooLong`], [`ReportError::TimeOutOfRange`],
/// [`ReportError::Prepare`] and [`ReportError::Geography`].
pub fn compile(
    source: &ReportSource<'_>,
    options: &ReportOptions,
) -> Result<ComplianceReport, ReportError> {
    let primary = source.readings.first().ok_or(ReportError::NoReadings)?;
    if let Some(indices) = source.log_indices
        && indices.len() != source.reports.len()
    {
        return Err(ReportError::LogIndicesMismatch {
            reports: source.reports.len(),
            indices: indices.len(),
        });
    }
    for (position, reading) in source.readings.iter().enumerate() {
        if reading.agreement_file >= source.inputs.agreements.len() {
            return Err(ReportError::AgreementFileOutOfRange {
                reading: position,
                index: reading.agreement_file,
                files: source.inputs.agreements.len(),
            });
        }
    }
    let primary_agreement = primary.assessor.agreement();
    let zone = TimeZone::get(&primary_agreement.window.time_zone).map_err(|_| {
        ReportError::UnknownTimeZone {
            agreement: primary_agreement.id.clone(),
            time_zone: primary_agreement.window.time_zone.clone(),
        }
    })?;
    let calendar = Calendar::new(zone.clone());
    let geography = geography()?;

    // The data's horizon: whole calendar days from the first incident to the last.
    let midpoints = source.incidents.iter().map(|i| i.time.midpoint_ms());
    let first_ms = midpoints.clone().min();
    let last_ms = midpoints.max();
    let data_start = match first_ms {
        Some(ms) => Some(calendar.day_start(calendar.date_of(ms)?)?),
        None => None,
    };
    let data_end = match last_ms {
        Some(ms) => Some(calendar.next_day_start(calendar.date_of(ms)?)?),
        None => None,
    };
    let horizon = Horizon {
        start: data_start,
        end: options.until.map(|t| t.as_millisecond()).or(data_end),
    };

    let baseline_ms = i64::from(options.baseline_days) * DAY_MS;
    let plans: Vec<ReadingPlan> = source
        .readings
        .iter()
        .map(|r| plan_reading(r.assessor.agreement(), baseline_ms, &horizon))
        .collect();
    let period_start = plans
        .iter()
        .flat_map(|plan| plan.series.iter().map(|s| s.before.0))
        .min()
        .unwrap_or_default();
    let period_end = plans
        .iter()
        .map(|plan| plan.end)
        .max()
        .unwrap_or_default()
        .max(period_start);
    let axis = calendar.days(period_start, period_end)?;

    let binding: Vec<Agreement> = source
        .readings
        .iter()
        .map(|r| always_binding(r.assessor.agreement()))
        .collect();
    let binding_judges: Vec<Adjudicator<'_>> = binding
        .iter()
        .map(|agreement| {
            let mut judge = Adjudicator::new(agreement)?;
            if let Some(reviews) = source.reviews {
                judge.set_reviews(Arc::clone(reviews));
            }
            Ok::<_, ReportError>(judge)
        })
        .collect::<Result<_, _>>()?;
    // The always-binding agreement has no reciprocity: nobody is ever released.
    let no_releases = Releases::new();

    let mut tallies: Vec<ReadingTally> = source
        .readings
        .iter()
        .zip(&plans)
        .map(|(reading, plan)| {
            ReadingTally::new(
                reading.assessor.agreement(),
                plan.series.clone(),
                axis.dates.len(),
            )
        })
        .collect();
    let toll_before = plans[0].series[0].before;
    let toll_during = plans[0].series[0].during;
    let mut toll = TollTally::default();
    let mut map = MapLayer::default();
    let mut in_period = 0u64;
    let mut differing = 0u64;
    let mut examples = Vec::new();
    let coverage_plan = if source.coverage.is_empty() {
        None
    } else {
        Some(CoveragePlan::new(
            source.coverage,
            primary_agreement,
            geography,
            &axis,
            (period_start, period_end),
        )?)
    };
    let mut coverage_tally = coverage_plan
        .as_ref()
        .map(|plan| CoverageTally::new(plan, primary_agreement));

    for range in chunks(source.incidents.len()) {
        let found: Vec<Vec<Finding>> = source
            .readings
            .iter()
            .map(|r| r.assessor.findings(range.clone()))
            .collect();
        // Judged again only where the reading's finding may differ (in parallel; each
        // incident on its own, so the result does not depend on the threads).
        let acts: Vec<Vec<Option<Finding>>> = binding_judges
            .iter()
            .zip(&found)
            .map(|(judge, findings)| {
                findings
                    .par_iter()
                    .enumerate()
                    .map(|(offset, finding)| {
                        let incident = &source.incidents[range.start + offset];
                        let at_ms = incident.time.midpoint_ms();
                        let counted = at_ms >= period_start && at_ms < period_end;
                        (counted && needs_binding_judgement(finding))
                            .then(|| judge.adjudicate(source.reports, incident, &no_releases))
                    })
                    .collect()
            })
            .collect();
        for (offset, incident) in source.incidents[range.clone()].iter().enumerate() {
            let at_ms = incident.time.midpoint_ms();
            if at_ms < period_start || at_ms >= period_end {
                continue;
            }
            in_period += 1;
            let index = range.start + offset;
            let day = axis.index_of(at_ms);
            for ((tally, findings), acts) in tallies.iter_mut().zip(&found).zip(&acts) {
                let finding = &findings[offset];
                tally.count_finding(finding, incident.time.start_ms, index);
                tally.count_act(acts[offset].as_ref().unwrap_or(finding), at_ms, day);
            }
            if let (Some(plan), Some(tally)) = (&coverage_plan, &mut coverage_tally) {
                let act = acts[0][offset].as_ref().unwrap_or(&found[0][offset]);
                tally.count(
                    plan,
                    day,
                    at_ms,
                    (incident.location.lon, incident.location.lat),
                    region_key(geography, incident.location.lon, incident.location.lat),
                    act,
                );
            }
            let primary_verdict = found[0][offset].verdict;
            map.points.push(MapPoint {
                lon: incident.location.lon,
                lat: incident.location.lat,
                verdict: primary_verdict,
            });
            let casualties = incident.casualties;
            let within = |(start, end): (i64, i64)| at_ms >= start && at_ms < end;
            let stretch = if within(toll_during) {
                Some(true)
            } else if within(toll_before) {
                Some(false)
            } else {
                None
            };
            if let Some(during) = stretch
                && (casualties.civilian_killed > 0 || casualties.civilian_injured > 0)
            {
                toll.add(
                    region_key(geography, incident.location.lon, incident.location.lat),
                    incident.target.kind,
                    casualties.civilian_killed,
                    casualties.civilian_injured,
                    during,
                );
            }
            if found.len() > 1 {
                let first = &found[0][offset];
                let differs = found[1..].iter().any(|f| {
                    f[offset].verdict != first.verdict || f[offset].reason != first.reason
                });
                if differs {
                    differing += 1;
                    if examples.len() < DIFFERENCES_SHOWN {
                        examples.push(Difference {
                            incident: incident.id.to_string(),
                            verdicts: found.iter().map(|f| verdict_text(&f[offset])).collect(),
                        });
                    }
                }
            }
        }
    }
    map.zones = zone_outlines(primary_agreement);

    let mut readings = Vec::with_capacity(source.readings.len());
    for ((reading, plan), tally) in source.readings.iter().zip(&plans).zip(tallies) {
        readings.push(reading_figures(
            source, reading, plan, tally, &axis, options, &zone, geography, data_start,
        )?);
    }
    let comparison =
        (readings.len() > 1).then(|| comparison(source.readings, &readings, differing, examples));
    let coverage = match (&coverage_plan, coverage_tally) {
        (Some(plan), Some(tally)) => {
            let (observation, access) = coverage_figures(plan, tally, &axis)?;
            Coverage {
                records: source.coverage.len() as u64,
                statement: coverage_statement(source.coverage, &coverage_origin(source.inputs)),
                observation: Some(observation),
                access,
            }
        }
        _ => no_coverage(source.inputs),
    };

    Ok(ComplianceReport {
        format: FORMAT,
        truce_version: env!("CARGO_PKG_VERSION"),
        inputs: source.inputs.clone(),
        period: ReportPeriod {
            time_zone: primary_agreement.window.time_zone.clone(),
            zone,
            baseline_days: options.baseline_days,
            until: options.until,
            start: timestamp(period_start, "the start of the report period")?,
            end: timestamp(period_end, "the end of the report period")?,
            days: axis.dates.clone(),
            data_start: data_start
                .map(|ms| timestamp(ms, "the start of the data"))
                .transpose()?,
            data_end: data_end
                .map(|ms| timestamp(ms, "the end of the data"))
                .transpose()?,
            incidents: in_period,
            incidents_total: source.incidents.len() as u64,
            reports_total: source.reports.len() as u64,
        },
        readings,
        comparison,
        toll: toll_figures(toll, toll_before, toll_during)?,
        coverage,
        map,
    })
}

/// Where the coverage records came from, for the statement: ` from the log`, ` from the
/// file F`, or nothing when the caller named no source.
fn coverage_origin(inputs: &ReportInputs) -> String {
    if inputs.log.is_some() {
        return " from the log".to_owned();
    }
    let files: Vec<&str> = inputs
        .coverage_files
        .iter()
        .map(|f| f.file.as_str())
        .collect();
    match files.as_slice() {
        [] => String::new(),
        [one] => format!(" from the file {one}"),
        many => format!(" from the files {}", many.join(", ")),
    }
}

/// Section 6 without any coverage record.
fn no_coverage(inputs: &ReportInputs) -> Coverage {
    let statement = if inputs.log.is_some() {
        "The log holds no observation-coverage record up to its checkpoint: nothing says \
         where or when monitors could see. Fewer recorded incidents can mean fewer incidents \
         or less observation, and nothing here can tell the two apart; no denial of access \
         is recorded either."
    } else if !inputs.coverage_files.is_empty() {
        "The coverage files hold no record: nothing says where or when monitors could see. \
         Fewer recorded incidents can mean fewer incidents or less observation, and nothing \
         here can tell the two apart; no denial of access is recorded either."
    } else {
        "No observation-coverage records were given: this report is computed \
         from reports alone (batch mode, read from files). Fewer recorded \
         incidents can mean fewer incidents or less observation, and nothing \
         here can tell the two apart; access denials are not recorded either."
    };
    Coverage {
        records: 0,
        statement: statement.to_owned(),
        observation: None,
        access: Vec::new(),
    }
}

/// The region key and name of a point.
fn region_key(geography: &Geography, lon: f64, lat: f64) -> (String, String) {
    match geography.region_at(lon, lat) {
        Some(region) => (
            region.code.clone(),
            format!("{} ({})", region.name, region.code),
        ),
        None => (
            OUTSIDE_REGIONS.to_owned(),
            "outside the mapped regions".to_owned(),
        ),
    }
}

/// Every ring of every zone's areas.
fn zone_outlines(agreement: &Agreement) -> Vec<ZoneOutline> {
    agreement
        .zones
        .iter()
        .map(|zone| ZoneOutline {
            id: zone.id.to_string(),
            name: zone.name.to_string(),
            rings: zone
                .areas
                .iter()
                .flat_map(|area| area.area.0.iter())
                .flat_map(|polygon| std::iter::once(polygon.exterior()).chain(polygon.interiors()))
                .map(|ring| ring.0.iter().map(|c| (c.x, c.y)).collect())
                .collect(),
        })
        .collect()
}

fn verdict_counts(tally: Option<&Tally>) -> VerdictCounts {
    match tally {
        None => VerdictCounts::default(),
        Some(t) => VerdictCounts {
            violation: t.violation,
            alleged: t.alleged,
            disputed: t.disputed,
            undetermined: t.undetermined,
            no_violation: t.no_violation.values().sum(),
            no_violation_by_reason: t.no_violation.clone(),
        },
    }
}

/// The order undetermined aspects are listed in.
const ASPECTS: [&str; 6] = [
    "attribution",
    "place",
    "time",
    "target",
    "exception",
    "other",
];

fn headline(agreement: &Agreement, tally: &ReadingTally) -> Headline {
    let mut parties: Vec<PartyHeadline> = agreement
        .parties
        .iter()
        .map(|party| PartyHeadline {
            party: party.id.to_string(),
            name: party.name.to_string(),
            counts: verdict_counts(tally.summary.parties.get(&party.id)),
            by_rule: agreement
                .rules
                .iter()
                .map(|rule| {
                    let [violation, alleged, disputed] = tally
                        .by_rule
                        .get(&(party.id.clone(), rule.id.clone()))
                        .copied()
                        .unwrap_or_default();
                    RuleCounts {
                        rule: rule.id.to_string(),
                        text: rule.text.to_string(),
                        violation,
                        alleged,
                        disputed,
                    }
                })
                .collect(),
        })
        .collect();
    if let Some(unattributed) = tally.unattributed() {
        parties.push(PartyHeadline {
            party: truce_engine::assess::UNATTRIBUTED.to_owned(),
            name: "no party named".to_owned(),
            counts: verdict_counts(Some(unattributed)),
            by_rule: Vec::new(),
        });
    }
    let undetermined = tally.summary.total.undetermined;
    let considered = tally.considered;
    Headline {
        parties,
        total: verdict_counts(Some(&tally.summary.total)),
        undetermined: UndeterminedShare {
            undetermined,
            considered,
            percent: (considered > 0)
                .then(|| (1000.0 * undetermined as f64 / considered as f64).round() / 10.0),
            missing: ASPECTS
                .iter()
                .filter_map(|aspect| {
                    tally.missing.get(aspect).map(|&incidents| MissingCount {
                        aspect: (*aspect).to_owned(),
                        incidents,
                    })
                })
                .collect(),
        },
    }
}

/// A [`RateRatio`] as figures, rounded to 6 significant digits (so that the last bits of
/// the special functions, which can differ between platforms, do not reach the output).
fn estimated(rr: &RateRatio, subject: &str) -> TestOutcome {
    let (low, high) = rr.ci95;
    TestOutcome::Estimated {
        ratio: rr.ratio.map(|r| round_significant(r, 6)),
        ci_low: round_significant(low, 6),
        ci_high: high.is_finite().then(|| round_significant(high, 6)),
        p_value: round_significant(rr.p_value, 6),
        significant: rr.significant,
        phrase: percent_change_phrase(rr, subject),
    }
}

fn exposure(stretch: (i64, i64), events: u64) -> Result<Exposure, ReportError> {
    Ok(Exposure {
        start: timestamp(stretch.0, "the start of a compared stretch")?,
        end: timestamp(stretch.1, "the end of a compared stretch")?,
        days: (stretch.1 - stretch.0) as f64 / DAY_MS as f64,
        events,
    })
}

/// Compares two stretches, or says why they cannot be compared.
fn compare(before: &Exposure, during: &Exposure, subject: &str) -> TestOutcome {
    if before.days <= 0.0 {
        return TestOutcome::NotEstimated {
            reason: format!("{subject}: no comparison, as the data holds no time before the start"),
        };
    }
    if during.days <= 0.0 {
        return TestOutcome::NotEstimated {
            reason: format!(
                "{subject}: no comparison, as the data holds no time under the agreement"
            ),
        };
    }
    let count = |e: &Exposure| Count {
        events: e.events,
        exposure_days: e.days,
    };
    match rate_ratio(count(before), count(during)) {
        Ok(rr) => estimated(&rr, subject),
        Err(error) => TestOutcome::NotEstimated {
            reason: format!("{subject}: no comparison, {error}"),
        },
    }
}

fn test_rows(series: &SeriesCount) -> Result<Vec<TruceTestRow>, ReportError> {
    let party = series.plan.party.as_ref().map(ToString::to_string);
    let before_all: u64 = series.before.iter().sum();
    let during_all: u64 = series.during.iter().sum();
    let before = exposure(series.plan.before, before_all)?;
    let during = exposure(series.plan.during, during_all)?;
    let mut rows = vec![TruceTestRow {
        outcome: compare(&before, &during, &test_subject(party.as_deref(), None)),
        party: party.clone(),
        category: None,
        before,
        during,
    }];
    for (kind_at, kind) in TargetKind::ALL.iter().enumerate().take(N_KINDS) {
        let (n_before, n_during) = (series.before[kind_at], series.during[kind_at]);
        if n_before == 0 && n_during == 0 {
            continue;
        }
        let before = exposure(series.plan.before, n_before)?;
        let during = exposure(series.plan.during, n_during)?;
        rows.push(TruceTestRow {
            outcome: compare(
                &before,
                &during,
                &test_subject(party.as_deref(), Some(kind.as_str())),
            ),
            party: party.clone(),
            category: Some(kind.as_str().to_owned()),
            before,
            during,
        });
    }
    Ok(rows)
}

fn truce_test(
    plan: &ReadingPlan,
    tally: &ReadingTally,
    options: &ReportOptions,
    zone: &TimeZone,
    data_start: Option<i64>,
) -> Result<TruceTest, ReportError> {
    let mut notes = Vec::new();
    let mut rows = Vec::new();
    let show = |ms: i64| -> Result<String, ReportError> {
        Ok(local_time(timestamp(ms, "an instant of a note")?, zone))
    };
    match &plan.in_force {
        Err(condition) => notes.push(format!(
            "The agreement never took effect under this reading: condition `{condition}` is not \
             met, so there is no time under it to compare with the time before."
        )),
        Ok(start) => {
            let starts: Vec<Option<i64>> = tally
                .series
                .iter()
                .skip(1)
                .map(|s| s.plan.bound_from)
                .collect();
            if starts.iter().any(|s| *s != Some(*start)) {
                notes.push(format!(
                    "The parties are bound from different instants: each party's rows compare \
                     the days before its own start with the days after it; the all-parties \
                     rows use the agreement's effective start, {}.",
                    show(*start)?
                ));
            }
            for series in &tally.series {
                let who = series
                    .plan
                    .party
                    .as_ref()
                    .map_or("all parties".to_owned(), |p| p.to_string());
                let Some(bound_from) = series.plan.bound_from else {
                    notes.push(format!("{who} is never bound under this reading."));
                    continue;
                };
                let (before_start, before_end) = series.plan.before;
                let covered = (before_end - before_start) as f64 / DAY_MS as f64;
                if covered + 1e-9 < f64::from(options.baseline_days) {
                    let why = match data_start {
                        Some(ms)
                            if ms
                                > bound_from
                                    .saturating_sub(i64::from(options.baseline_days) * DAY_MS) =>
                        {
                            format!("the data starts on {}", show(ms)?)
                        }
                        _ => "the data ends before the start".to_owned(),
                    };
                    notes.push(format!(
                        "Baseline for {who}: {} of the {} days requested before {} ({why}).",
                        trim_days(covered),
                        options.baseline_days,
                        show(bound_from)?
                    ));
                }
                rows.extend(test_rows(series)?);
            }
            if let Some(agreed_end) = plan.effective_end
                && plan.end < agreed_end
            {
                notes.push(format!(
                    "The time under the agreement is counted up to {}, where the data ends \
                     (the agreement runs to {}).",
                    show(plan.end)?,
                    show(agreed_end)?
                ));
            }
        }
    }
    Ok(TruceTest {
        measure: "Prohibited acts: incidents that the agreement's rules, zones and exceptions \
                  prohibit (judged violation, alleged or disputed), judged as if the agreement \
                  bound every party on every day so that the time before it is judged by the \
                  same rules; each counts for every party it is attributed to, at the midpoint \
                  of its time."
            .to_owned(),
        method: RATE_RATIO_METHOD,
        rows,
        notes,
    })
}

/// Days for a note: `30`, `6.5`.
fn trim_days(days: f64) -> String {
    let rounded = (days * 100.0).round() / 100.0;
    format!("{rounded}")
}

fn trend(series: &SeriesCount, axis: &DayAxis) -> Result<Trend, ReportError> {
    let party = series.plan.party.as_ref().map(ToString::to_string);
    let as_float: Vec<f64> = series.daily.iter().map(|&n| n as f64).collect();
    let rolling_mean_7 = rolling_mean(&as_float, WEEK_DAYS)
        .into_iter()
        .map(|mean| mean.map(|m| (m * 1000.0).round() / 1000.0))
        .collect();
    let n_days = series.daily.len();
    let week = if n_days >= 2 * WEEK_DAYS {
        let last = n_days - 1;
        week_on_week(&series.daily, last).map(|rr| {
            let sum = |range: Range<usize>| series.daily[range].iter().sum::<u64>();
            let subject = format!(
                "{} in the last 7 days",
                test_subject(party.as_deref(), None)
            );
            WeekOnWeek {
                previous_from: axis.dates[last + 1 - 2 * WEEK_DAYS],
                current_from: axis.dates[last + 1 - WEEK_DAYS],
                current_to: axis.dates[last],
                previous: sum(last + 1 - 2 * WEEK_DAYS..last + 1 - WEEK_DAYS),
                current: sum(last + 1 - WEEK_DAYS..last + 1),
                outcome: estimated(&rr, &subject),
            }
        })
    } else {
        None
    };
    // Valid by construction (finite, not negative); the default (BIC) is never used.
    let penalty = Penalty::per_ln_days(CHANGE_PENALTY_MULTIPLIER).unwrap_or_default();
    let change_points = change_points(&series.daily, CHANGE_MIN_DAYS, penalty)
        .into_iter()
        .filter_map(|change| {
            axis.dates.get(change.day_index).map(|&day| ChangeMarker {
                day,
                rate_before: (change.rate_before * 1000.0).round() / 1000.0,
                rate_after: (change.rate_after * 1000.0).round() / 1000.0,
                log_likelihood_gain: (change.log_likelihood_gain * 1000.0).round() / 1000.0,
            })
        })
        .collect();
    Ok(Trend {
        party,
        bound_from: series
            .plan
            .bound_from
            .map(|ms| timestamp(ms, "a start"))
            .transpose()?,
        daily: series.daily.clone(),
        rolling_mean_7,
        week_on_week: week,
        change_points,
    })
}

fn listed_finding(
    source: &ReportSource<'_>,
    assessor: &Assessor<'_>,
    geography: &Geography,
    index: usize,
) -> Result<Option<ListedFinding>, ReportError> {
    let Some(finding) = assessor.findings(index..index + 1).into_iter().next() else {
        return Ok(None);
    };
    let incident = &source.incidents[index];
    let (_, region) = region_key(geography, incident.location.lon, incident.location.lat);
    Ok(Some(ListedFinding {
        incident: incident.id.to_string(),
        verdict: finding.verdict.as_str().to_owned(),
        start: timestamp(incident.time.start_ms, "an incident's start")?,
        end: timestamp(incident.time.end_ms, "an incident's end")?,
        lon: (incident.location.lon * 1e4).round() / 1e4,
        lat: (incident.location.lat * 1e4).round() / 1e4,
        uncertainty_m: incident.location.uncertainty_m.round(),
        region,
        action: incident.action.as_str().to_owned(),
        target: finding.target.to_string(),
        parties: finding.parties.iter().map(ToString::to_string).collect(),
        rules: finding.rules.iter().map(ToString::to_string).collect(),
        sources: incident.n_sources,
        reasons: finding.reasons.iter().map(ToString::to_string).collect(),
        log_indices: match source.log_indices {
            Some(indices) => {
                let mut at: Vec<u64> = incident
                    .members
                    .iter()
                    .filter_map(|&member| indices.get(member as usize).copied())
                    .collect();
                at.sort_unstable();
                at
            }
            None => Vec::new(),
        },
        checkpoint_size: source
            .log_indices
            .and(source.inputs.log.as_ref())
            .map(|log| log.size),
    }))
}

#[allow(clippy::too_many_arguments)]
fn reading_figures(
    source: &ReportSource<'_>,
    reading: &Reading<'_>,
    plan: &ReadingPlan,
    mut tally: ReadingTally,
    axis: &DayAxis,
    options: &ReportOptions,
    zone: &TimeZone,
    geography: &Geography,
    data_start: Option<i64>,
) -> Result<ReadingFigures, ReportError> {
    let agreement = reading.assessor.agreement();
    let file = &source.inputs.agreements[reading.agreement_file];
    let in_force = match &plan.in_force {
        Ok(start) => InForceNote::Between {
            start: timestamp(*start, "the agreement's start")?,
            end: agreement.effective_end(),
        },
        Err(condition) => InForceNote::Never {
            condition: condition.to_string(),
        },
    };
    let parties = agreement
        .parties
        .iter()
        .map(|party| PartyHeading {
            id: party.id.to_string(),
            name: party.name.to_string(),
            bound_from: match agreement.in_force_for(&party.id) {
                InForce::Between { start, .. } => Some(start),
                InForce::ConditionUnmet { .. } => None,
            },
        })
        .collect();

    tally.listed.sort_unstable();
    let mut shown = Vec::new();
    for &(_, index) in tally.listed.iter().take(options.list_limit) {
        if let Some(listed) = listed_finding(source, &reading.assessor, geography, index)? {
            shown.push(listed);
        }
    }
    let releases = reading
        .assessor
        .releases()
        .iter()
        .map(|(party, (at, after))| {
            Ok(ReleaseNote {
                party: party.to_string(),
                from: timestamp(*at, "a release")?,
                after: after.to_string(),
            })
        })
        .collect::<Result<_, ReportError>>()?;
    Ok(ReadingFigures {
        agreement: AgreementHeading {
            id: agreement.id.clone(),
            version: agreement.version,
            title: agreement.title.clone(),
            interpretation: agreement.interpretation.clone(),
            interpretation_note: agreement.interpretation_note.clone(),
            file: file.file.clone(),
            sha256: file.sha256.clone(),
            time_zone: agreement.window.time_zone.clone(),
            in_force,
            parties,
        },
        headline: headline(agreement, &tally),
        truce_test: truce_test(plan, &tally, options, zone, data_start)?,
        trends: tally
            .series
            .iter()
            .map(|series| trend(series, axis))
            .collect::<Result<_, _>>()?,
        violations: ListedFindings {
            total: tally.listed.len() as u64,
            shown,
        },
        releases,
    })
}

/// The readings side by side; `assessed` are the readings, `readings` their figures.
fn comparison(
    assessed: &[Reading<'_>],
    readings: &[ReadingFigures],
    differing: u64,
    examples: Vec<Difference>,
) -> Comparison {
    let mut parties: Vec<String> = Vec::new();
    for figures in readings {
        for party in &figures.headline.parties {
            if !parties.contains(&party.party) {
                parties.push(party.party.clone());
            }
        }
    }
    let mut rows = Vec::new();
    for party in &parties {
        for verdict in Verdict::ALL {
            let counts: Vec<u64> = readings
                .iter()
                .map(|figures| {
                    figures
                        .headline
                        .parties
                        .iter()
                        .find(|p| &p.party == party)
                        .map_or(0, |p| match verdict {
                            Verdict::Violation => p.counts.violation,
                            Verdict::Alleged => p.counts.alleged,
                            Verdict::Disputed => p.counts.disputed,
                            Verdict::Undetermined => p.counts.undetermined,
                            Verdict::NoViolation => p.counts.no_violation,
                        })
                })
                .collect();
            rows.push(ComparisonRow {
                party: party.clone(),
                verdict: verdict.as_str().to_owned(),
                counts,
            });
        }
    }
    let mut tests = Vec::new();
    let mut keys: Vec<Option<String>> = vec![None];
    keys.extend(
        parties
            .iter()
            .filter(|p| p.as_str() != truce_engine::assess::UNATTRIBUTED)
            .cloned()
            .map(Some),
    );
    for key in keys {
        let phrases = readings
            .iter()
            .map(|figures| {
                figures
                    .truce_test
                    .rows
                    .iter()
                    .find(|row| row.party == key && row.category.is_none())
                    .map_or_else(
                        || "no test under this reading".to_owned(),
                        |row| crate::words::outcome_sentence(&row.outcome).to_owned(),
                    )
            })
            .collect();
        tests.push(ComparedTest {
            party: key,
            phrases,
        });
    }
    let mut notes = Vec::new();
    let grouping = |a: &Agreement| {
        let p = &a.corroboration;
        (
            p.max_distance_m,
            p.max_time_gap_s,
            p.max_extent_m,
            p.max_duration_s,
        )
    };
    let first = assessed.first().map(|r| grouping(r.assessor.agreement()));
    if assessed
        .iter()
        .any(|r| Some(grouping(r.assessor.agreement())) != first)
    {
        notes.push(format!(
            "Reports were grouped into incidents once, with the distances and times of the \
             first reading ({}); the other readings' own grouping limits differ and are not \
             applied (their rules on what establishes an act are).",
            readings[0].agreement.label()
        ));
    }
    Comparison {
        readings: readings.iter().map(|f| f.agreement.label()).collect(),
        rows,
        tests,
        differing_incidents: differing,
        examples,
        notes,
    }
}

fn toll_figures(
    toll: TollTally,
    before: (i64, i64),
    during: (i64, i64),
) -> Result<HumanitarianToll, ReportError> {
    let harm_order = |(b, d): (&Harm, &Harm)| {
        (
            std::cmp::Reverse(d.killed + d.injured),
            std::cmp::Reverse(b.killed + b.injured),
        )
    };
    let mut by_region: Vec<TollRow> = toll
        .by_region
        .into_iter()
        .map(|(key, (name, before, during))| TollRow {
            key,
            name,
            before,
            during,
        })
        .collect();
    by_region.sort_by(|a, b| {
        harm_order((&a.before, &a.during))
            .cmp(&harm_order((&b.before, &b.during)))
            .then_with(|| a.key.cmp(&b.key))
    });
    let mut by_category: Vec<TollRow> = toll
        .by_category
        .into_iter()
        .map(|(key, (before, during))| TollRow {
            key: key.to_owned(),
            name: target_phrase(key),
            before,
            during,
        })
        .collect();
    by_category.sort_by(|a, b| {
        harm_order((&a.before, &a.during))
            .cmp(&harm_order((&b.before, &b.during)))
            .then_with(|| a.key.cmp(&b.key))
    });
    let stretch = |(start, end): (i64, i64)| -> Result<(Timestamp, Timestamp), ReportError> {
        Ok((
            timestamp(start, "the start of the toll's stretch")?,
            timestamp(end, "the end of the toll's stretch")?,
        ))
    };
    Ok(HumanitarianToll {
        before: stretch(before)?,
        during: stretch(during)?,
        by_region,
        by_category,
        total: TollRow {
            key: "total".to_owned(),
            name: "all incidents".to_owned(),
            before: toll.total.0,
            during: toll.total.1,
        },
        caveat: "Casualty figures are what the reports claim, not verified counts. Each \
                 incident counts the largest figure any of its reports gives, never their sum. \
                 Reporting is biased: parties have reasons to stress the harm they suffer and \
                 to omit the harm they cause, places with more sources are reported more fully, \
                 and figures for recent days grow as reports come in. Read them as what was \
                 reported, a lower bound of what happened. Regions are those of the shipped \
                 geography at each incident's estimated location."
            .to_owned(),
    })
}
