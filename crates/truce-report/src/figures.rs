//! The figures of a compliance report: what [`crate::compile`] computes and the renderers
//! print. The JSON rendering is these types serialised (`truce-report/1`): every number in
//! it is finite (an unbounded interval end is `null`), instants are RFC 3339 in UTC and days
//! are calendar dates in the report's time zone.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use truce_engine::adjudicate::Verdict;

/// The version of the JSON shape of a [`ComplianceReport`].
pub const FORMAT: &str = "truce-report/1";

/// Everything a compliance report shows.
#[derive(Debug, Clone, Serialize)]
pub struct ComplianceReport {
    /// [`FORMAT`].
    pub format: &'static str,
    /// The version of truce that computed it.
    pub truce_version: &'static str,
    /// What it was computed from.
    pub inputs: ReportInputs,
    /// The days it covers and how they were chosen.
    pub period: ReportPeriod,
    /// One entry per reading of an agreement, the first being the primary one.
    pub readings: Vec<ReadingFigures>,
    /// The readings side by side, when there are several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// Civilians killed and injured.
    pub toll: HumanitarianToll,
    /// What is known of where and when monitors could observe.
    pub coverage: Coverage,
    /// What the map draws (not part of the JSON: the incidents are in `truce assess`'s output).
    #[serde(skip)]
    pub map: MapLayer,
}

/// The inputs of a report, as the caller read them, so that anyone can re-run it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReportInputs {
    /// The agreement files.
    pub agreements: Vec<AgreementFile>,
    /// The report files.
    pub reports: Vec<ReportFile>,
    /// SHA-256 over the accepted reports in canonical order (the same digest `truce assess`
    /// prints), hex.
    pub reports_sha256: String,
    /// Rows rejected from every input (duplicates included).
    pub rejected_rows: u64,
    /// The log the agreements and reports were read from (`truce report --data`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogInputs>,
    /// Coverage files (`--coverage`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coverage_files: Vec<CoverageFile>,
}

/// The log a report was read from, as of one signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogInputs {
    /// The checkpoint's origin line.
    pub origin: String,
    /// The checkpoint's size: entries `0 .. size` were read.
    pub size: u64,
    /// The checkpoint's root hash, base64 as the checkpoint writes it.
    pub root: String,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
    /// The names of the keys whose signature lines the note carries (not verified here:
    /// `truce log verify` checks them).
    pub signatures: Vec<String>,
    /// The agreement versions reported on.
    pub agreements: Vec<LoggedAgreement>,
    /// Reports filed under the primary agreement in the log.
    pub reports: u64,
    /// Of them, those withdrawn by their source: members of no incident, in no figure.
    pub retracted: Vec<RetractedReport>,
    /// Monitors' reviews in the log, applied as the service applies them (a rejected
    /// report is in no incident, a confirmed one establishes its incident, a reattributed
    /// one names the party the review gives, a merge or split groups as it says).
    pub reviews: u64,
    /// Coverage records in the log.
    pub coverage_records: u64,
}

/// An agreement version read from the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedAgreement {
    /// Agreement id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// Its entries' log indexes (one per interpretation logged).
    pub log_indices: Vec<u64>,
    /// SHA-256 of the agreement's text, hex, as its log entry commits to it.
    pub text_sha256: String,
}

/// A report withdrawn by its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetractedReport {
    /// The report's id.
    pub report_id: String,
    /// The report's log index.
    pub log_index: u64,
    /// The retraction's log index.
    pub retraction_index: u64,
}

/// A coverage file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageFile {
    /// The name as given.
    pub file: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Records read from it.
    pub records: u64,
}

/// One agreement file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgreementFile {
    /// The name as given.
    pub file: String,
    /// SHA-256 of the file and every file it references (as `truce assess` computes it), hex.
    pub sha256: String,
}

/// One report file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportFile {
    /// The name as given.
    pub file: String,
    /// The format it was read as.
    pub format: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// Reports accepted from it.
    pub accepted: u64,
    /// Rows rejected.
    pub rejected: u64,
}

/// The days a report covers.
#[derive(Debug, Clone, Serialize)]
pub struct ReportPeriod {
    /// The IANA time zone of the primary agreement's window: days are its calendar days.
    pub time_zone: String,
    /// The same zone, for rendering.
    #[serde(skip)]
    pub zone: TimeZone,
    /// Days before each start that the truce test compares with (`--baseline-days`).
    pub baseline_days: u32,
    /// Where the data ends, when the caller said so (`--until`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// First instant covered.
    pub start: Timestamp,
    /// End of the period (exclusive).
    pub end: Timestamp,
    /// The calendar days the period touches, in order (the first and last may be partial).
    pub days: Vec<Date>,
    /// Start of the first calendar day with an incident, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_start: Option<Timestamp>,
    /// End of the last calendar day with an incident, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_end: Option<Timestamp>,
    /// Incidents whose time falls in the period.
    pub incidents: u64,
    /// Incidents given in all.
    pub incidents_total: u64,
    /// Reports given.
    pub reports_total: u64,
}

/// The figures of one reading of one agreement.
#[derive(Debug, Clone, Serialize)]
pub struct ReadingFigures {
    /// Which agreement and reading.
    pub agreement: AgreementHeading,
    /// Counts of findings.
    pub headline: Headline,
    /// Before the agreement against under it.
    pub truce_test: TruceTest,
    /// Daily series: all parties first, then each party.
    pub trends: Vec<Trend>,
    /// Established violations and disputed incidents with their reasons.
    pub violations: ListedFindings,
    /// Reciprocity releases that applied.
    pub releases: Vec<ReleaseNote>,
}

/// An agreement under one reading.
#[derive(Debug, Clone, Serialize)]
pub struct AgreementHeading {
    /// Agreement id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// Title.
    pub title: String,
    /// `common` or the party whose reading this is.
    pub interpretation: String,
    /// What the reading changes.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub interpretation_note: String,
    /// The file it was read from.
    pub file: String,
    /// The file's digest (with the files it references).
    pub sha256: String,
    /// The agreement's own time zone.
    pub time_zone: String,
    /// When it binds.
    pub in_force: InForceNote,
    /// The parties and when each is bound.
    pub parties: Vec<PartyHeading>,
}

impl AgreementHeading {
    /// `id vN (interpretation)`, the label of this reading in tables.
    #[must_use]
    pub fn label(&self) -> String {
        format!("{} v{} ({})", self.id, self.version, self.interpretation)
    }
}

/// When an agreement binds under one reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum InForceNote {
    /// From `start` (after every condition precedent was met) to `end` (after extensions
    /// and lapse; `None`: open-ended).
    Between {
        /// Effective start.
        start: Timestamp,
        /// Effective exclusive end.
        #[serde(skip_serializing_if = "Option::is_none")]
        end: Option<Timestamp>,
    },
    /// A condition precedent is unmet: never in force.
    Never {
        /// The condition's id.
        condition: String,
    },
}

/// A party and when it is bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyHeading {
    /// Party id.
    pub id: String,
    /// Full name.
    pub name: String,
    /// When it is bound (`None`: never, a condition is unmet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_from: Option<Timestamp>,
}

/// Counts of findings by verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerdictCounts {
    /// Established, attributed violations.
    pub violation: u64,
    /// Alleged, not established.
    pub alleged: u64,
    /// Established acts with contested attribution.
    pub disputed: u64,
    /// Cannot be decided from what is known.
    pub undetermined: u64,
    /// Not violations.
    pub no_violation: u64,
    /// Not violations, by reason.
    pub no_violation_by_reason: BTreeMap<String, u64>,
}

impl VerdictCounts {
    /// Every finding counted.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.violation + self.alleged + self.disputed + self.undetermined + self.no_violation
    }
}

/// Section 1: findings counted per party.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headline {
    /// The agreement's parties in its order, then `unattributed` when some finding names
    /// no party.
    pub parties: Vec<PartyHeadline>,
    /// Every finding once.
    pub total: VerdictCounts,
    /// How many could not be decided, and why.
    pub undetermined: UndeterminedShare,
}

/// One party's findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyHeadline {
    /// Party id (or `unattributed`).
    pub party: String,
    /// Full name.
    pub name: String,
    /// Findings naming the party (a disputed finding counts for every party it names).
    pub counts: VerdictCounts,
    /// Violations, alleged and disputed findings per rule (a finding under two rules counts
    /// for each).
    pub by_rule: Vec<RuleCounts>,
}

/// Findings under one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCounts {
    /// Rule id.
    pub rule: String,
    /// The clause as written.
    pub text: String,
    /// Established violations.
    pub violation: u64,
    /// Alleged.
    pub alleged: u64,
    /// Disputed.
    pub disputed: u64,
}

/// The share of undetermined findings among the incidents that fall (or may fall) in the
/// time the agreement binds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UndeterminedShare {
    /// Undetermined findings.
    pub undetermined: u64,
    /// The denominator: findings other than `not_in_force` and `outside_window`.
    pub considered: u64,
    /// `100 · undetermined / considered`, rounded to one decimal; `None` when nothing was
    /// considered.
    pub percent: Option<f64>,
    /// What is missing, by aspect (`attribution`, `place`, `time`, `target`, `exception`);
    /// an incident missing two things counts for both.
    pub missing: Vec<MissingCount>,
}

/// Undetermined findings missing one aspect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingCount {
    /// The aspect.
    pub aspect: String,
    /// Findings missing it.
    pub incidents: u64,
}

/// Section 2: the truce test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruceTest {
    /// What is counted, in words.
    pub measure: String,
    /// The statistical method, named.
    pub method: &'static str,
    /// All parties first, then each party; within each, all categories first, then each
    /// target category with an event in either period.
    pub rows: Vec<TruceTestRow>,
    /// Why rows are missing or shortened.
    pub notes: Vec<String>,
}

/// One comparison of before against during.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruceTestRow {
    /// The party (`None`: all parties, from the agreement's effective start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// The target category (`None`: every category).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The baseline.
    pub before: Exposure,
    /// Under the agreement.
    pub during: Exposure,
    /// The rate ratio, or why there is none.
    pub outcome: TestOutcome,
}

/// Events counted over a stretch of time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Exposure {
    /// First instant.
    pub start: Timestamp,
    /// End (exclusive); equal to `start` when the stretch is empty.
    pub end: Timestamp,
    /// Its length in days (fractions allowed).
    pub days: f64,
    /// Events in it.
    pub events: u64,
}

/// The result of one rate comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TestOutcome {
    /// The rate ratio during / before with its exact 95% interval.
    Estimated {
        /// The ratio; `None` when nothing happened before (infinite or undefined).
        ratio: Option<f64>,
        /// Lower end of the 95% interval.
        ci_low: f64,
        /// Upper end; `None` when unbounded.
        ci_high: Option<f64>,
        /// Two-sided p-value of "the rates are equal".
        p_value: f64,
        /// Whether the interval excludes 1.
        significant: bool,
        /// The result in words.
        phrase: String,
    },
    /// No comparison is possible.
    NotEstimated {
        /// Why.
        reason: String,
    },
}

/// Section 3: one daily series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// The party (`None`: all parties).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// When the party (or the agreement) is bound from, for the chart's marker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_from: Option<Timestamp>,
    /// Prohibited acts per day of [`ReportPeriod::days`].
    pub daily: Vec<u64>,
    /// The trailing 7-day mean (`None` for the first six days).
    pub rolling_mean_7: Vec<Option<f64>>,
    /// The last seven days against the seven before, when there are fourteen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub week_on_week: Option<WeekOnWeek>,
    /// Days on which the rate shifts.
    pub change_points: Vec<ChangeMarker>,
}

/// The last seven days of a series against the seven before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekOnWeek {
    /// First day of the earlier week.
    pub previous_from: Date,
    /// First day of the last week.
    pub current_from: Date,
    /// Last day of the last week.
    pub current_to: Date,
    /// Events in the earlier week.
    pub previous: u64,
    /// Events in the last week.
    pub current: u64,
    /// The rate ratio with its interval and phrase.
    pub outcome: TestOutcome,
}

/// A day on which a series' rate shifts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeMarker {
    /// The first day at the new rate.
    pub day: Date,
    /// Events per day before it (over its segment).
    pub rate_before: f64,
    /// Events per day from it on (over its segment).
    pub rate_after: f64,
    /// The rise in Poisson log-likelihood the change buys.
    pub log_likelihood_gain: f64,
}

/// Section 8: violations and disputed incidents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListedFindings {
    /// How many there are.
    pub total: u64,
    /// The earliest of them, up to the limit, in time order.
    pub shown: Vec<ListedFinding>,
}

/// One listed finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListedFinding {
    /// Incident id.
    pub incident: String,
    /// `violation` or `disputed`.
    pub verdict: String,
    /// Earliest instant of the incident.
    pub start: Timestamp,
    /// Latest instant.
    pub end: Timestamp,
    /// Longitude, degrees (rounded to 4 decimals).
    pub lon: f64,
    /// Latitude, degrees (rounded to 4 decimals).
    pub lat: f64,
    /// Uncertainty radius, metres.
    pub uncertainty_m: f64,
    /// The region of the shipped geography it lies in.
    pub region: String,
    /// The action.
    pub action: String,
    /// The target category used.
    pub target: String,
    /// The parties named.
    pub parties: Vec<String>,
    /// The rules.
    pub rules: Vec<String>,
    /// Distinct sources.
    pub sources: u32,
    /// The chain of reasons.
    pub reasons: Vec<String>,
    /// The log indexes of its member reports, ascending (when read from a log).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log_indices: Vec<u64>,
    /// The size of the checkpoint that includes them (when read from a log): entry `i` is
    /// in the tree of the first `checkpoint_size` entries, whose root is in the inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_size: Option<u64>,
}

/// A reciprocity release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseNote {
    /// The party released.
    pub party: String,
    /// From when.
    pub from: Timestamp,
    /// The violation that released it.
    pub after: String,
}

/// Section 7: several readings side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The readings' labels, in order.
    pub readings: Vec<String>,
    /// Counts per party and verdict, one per reading.
    pub rows: Vec<ComparisonRow>,
    /// The truce test of all categories per party, one phrase per reading.
    pub tests: Vec<ComparedTest>,
    /// Incidents of the period whose verdict is not the same under every reading.
    pub differing_incidents: u64,
    /// The first of them, in incident order.
    pub examples: Vec<Difference>,
    /// Caveats of the comparison.
    pub notes: Vec<String>,
}

/// One party and verdict across readings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComparisonRow {
    /// Party id (or `unattributed`).
    pub party: String,
    /// The verdict.
    pub verdict: String,
    /// Its count under each reading.
    pub counts: Vec<u64>,
}

/// One truce-test row across readings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComparedTest {
    /// The party (`None`: all parties).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// The result under each reading, in words.
    pub phrases: Vec<String>,
}

/// An incident judged differently by the readings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// Incident id.
    pub incident: String,
    /// Its verdict (with the reason for `no_violation`) under each reading.
    pub verdicts: Vec<String>,
}

/// Section 4: civilians killed and injured, before the primary agreement's start and under it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HumanitarianToll {
    /// The stretch before the start.
    pub before: (Timestamp, Timestamp),
    /// The stretch under the agreement.
    pub during: (Timestamp, Timestamp),
    /// By region of the shipped geography, most harm under the agreement first.
    pub by_region: Vec<TollRow>,
    /// By target category (as the reports give it).
    pub by_category: Vec<TollRow>,
    /// Every incident.
    pub total: TollRow,
    /// What the figures can and cannot say.
    pub caveat: String,
}

/// Harm in one region or category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TollRow {
    /// Region code or category.
    pub key: String,
    /// Name for readers.
    pub name: String,
    /// Before the start.
    pub before: Harm,
    /// Under the agreement.
    pub during: Harm,
}

/// Civilians harmed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Harm {
    /// Civilians killed.
    pub killed: u64,
    /// Civilians injured.
    pub injured: u64,
    /// Incidents with at least one civilian casualty.
    pub incidents: u64,
}

impl Harm {
    /// Adds one incident's civilian casualties (an incident with none adds nothing).
    pub fn add(&mut self, killed: u32, injured: u32) {
        if killed > 0 || injured > 0 {
            self.killed += u64::from(killed);
            self.injured += u64::from(injured);
            self.incidents += 1;
        }
    }
}

/// Section 6: observation coverage and access.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Coverage records given (from the log, or from `--coverage` files).
    pub records: u64,
    /// What they are, or what their absence means for the figures.
    pub statement: String,
    /// Where and when patrols, cameras and drones could see, and the incidents read against
    /// it; absent when no coverage record was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observation: Option<ObservationCoverage>,
    /// Each party's denials of access and jamming, when any was recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<AccessDenials>,
}

/// Observation coverage over the report period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservationCoverage {
    /// Length of the report period, days (fractions allowed).
    pub period_days: f64,
    /// Calendar days of the period on which some observation record was active for any
    /// part of the day.
    pub covered_days: u64,
    /// Hours of the period inside at least one observation record (overlaps counted once),
    /// rounded to two decimals.
    pub covered_hours: f64,
    /// Patrols, fixed cameras and drones separately.
    pub by_kind: Vec<KindCoverage>,
    /// Incidents of the period, every verdict.
    pub incidents: u64,
    /// Of them, those whose time and estimated centre fall inside one observation record's
    /// time and area.
    pub incidents_observed: u64,
    /// `100 · incidents_observed / incidents`, one decimal; `None` without incidents.
    pub observed_percent: Option<f64>,
    /// Prohibited acts (as in the truce test) read against coverage: all parties first,
    /// then each party of the primary agreement.
    pub by_party: Vec<PartyCoverage>,
    /// The primary agreement's zones, then the regions of the shipped geography that a
    /// record touches or an incident lies in.
    pub by_area: Vec<AreaCoverage>,
    /// Coverage records that end before the period or start after it (not counted).
    pub records_outside_period: u64,
    /// What the figures can and cannot say.
    pub caveat: String,
}

/// One kind of observation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindCoverage {
    /// `patrol`, `fixed_camera` or `drone`.
    pub kind: String,
    /// Records of this kind that overlap the period.
    pub records: u64,
    /// Calendar days with one of them active.
    pub covered_days: u64,
    /// Hours inside one of them, two decimals.
    pub covered_hours: f64,
}

/// Prohibited acts attributed to one party (or to all) against coverage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartyCoverage {
    /// The party (`None`: all parties).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// Prohibited acts of the period.
    pub acts: u64,
    /// Of them, inside an observation record's time and area.
    pub acts_observed: u64,
    /// `100 · acts_observed / acts`, one decimal; `None` without acts.
    pub observed_percent: Option<f64>,
    /// Acts per day of the period, three decimals; `None` for an empty period.
    pub per_day: Option<f64>,
    /// Observed acts per covered day, three decimals; `None` without covered days.
    pub per_covered_day: Option<f64>,
}

/// Coverage of one zone or region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaCoverage {
    /// `zone` (of the primary agreement) or `region` (of the shipped geography).
    pub area: String,
    /// Zone id or region code (`outside` for places outside every region).
    pub key: String,
    /// Name for readers.
    pub name: String,
    /// Observation records whose area touches it.
    pub records: u64,
    /// Calendar days with one of them active.
    pub covered_days: u64,
    /// Hours inside one of them, two decimals.
    pub covered_hours: f64,
    /// Incidents of the period whose estimated centre lies in it.
    pub incidents: u64,
    /// Of them, inside an observation record's time and area.
    pub incidents_observed: u64,
    /// `100 · incidents_observed / incidents`, one decimal; `None` without incidents.
    pub observed_percent: Option<f64>,
    /// Observed incidents per covered day, three decimals; `None` without covered days.
    pub per_covered_day: Option<f64>,
}

/// One party's denials of access to monitors and jamming of their means.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessDenials {
    /// The party that denied access or jammed (`None`: not named in the record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// Access denials.
    pub denials: u64,
    /// Jamming records.
    pub jamming: u64,
    /// Hours of the period under one of them (overlaps counted once), two decimals.
    pub hours: f64,
    /// The calendar days they touch, in order.
    pub dates: Vec<Date>,
    /// Each of them, in time order.
    pub events: Vec<AccessEvent>,
}

/// One denial of access or jamming.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessEvent {
    /// The record's id.
    pub id: String,
    /// `access_denial` or `jamming`.
    pub kind: String,
    /// Who recorded it.
    pub observer: String,
    /// When it began.
    pub start: Timestamp,
    /// When it ended.
    pub end: Timestamp,
    /// Where: `west, south, east, north` or `zone <id>`.
    pub area: String,
    /// The regions of the shipped geography the area touches.
    pub regions: Vec<String>,
    /// Its log index, when read from the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
}

/// What the map draws: incidents of the period and the primary agreement's zones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapLayer {
    /// Incidents of the period with their primary verdict.
    pub points: Vec<MapPoint>,
    /// Zone outlines.
    pub zones: Vec<ZoneOutline>,
}

/// One incident on the map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapPoint {
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Its verdict under the primary reading.
    pub verdict: Verdict,
}

/// A zone's outline.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneOutline {
    /// Zone id.
    pub id: String,
    /// Zone name.
    pub name: String,
    /// Rings of lon/lat points (exteriors and holes alike).
    pub rings: Vec<Vec<(f64, f64)>>,
}
