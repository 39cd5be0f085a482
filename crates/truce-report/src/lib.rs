//! Compliance reports: what a monitoring mission publishes about a truce.
//!
//! [`compile`] turns reports, their incidents and one or more readings of an agreement
//! (each an [`Assessor`](truce_engine::assess::Assessor)) into a [`ComplianceReport`]: plain
//! figures, computed by a pure function. The renderers then print the figures as one
//! self-contained HTML page (inline CSS and SVG, no scripts, no external requests), as
//! Markdown, or as JSON ([`render`]).
//!
//! What a report holds (`docs/report.md` explains each figure and its method):
//!
//! 1. the headline per party: violations, alleged, disputed, by rule, and the share of
//!    undetermined incidents with what is missing;
//! 2. the truce test: the rate of prohibited acts in the days before the agreement against
//!    the days under it, per party and per target category, as a rate ratio with its exact
//!    95% interval ([`truce_stats::RATE_RATIO_METHOD`]) and in plain words;
//! 3. trends: daily counts per party with their 7-day mean, the week-on-week change and the
//!    days on which the rate shifts;
//! 4. the humanitarian toll: civilians killed and injured by region and by target category;
//! 5. a map of incidents and zones drawn from the shipped geography, and charts;
//! 6. coverage and access: where and when patrols, cameras and drones could see (from the
//!    log's coverage records, or a coverage file in batch mode), the incidents and acts that
//!    fell inside it, rates per covered day, and each party's denials of access;
//! 7. competing readings side by side;
//! 8. the list of violations with their reasons (and, read from a log, the log indexes of
//!    their reports and the checkpoint that includes them);
//! 9. the exact inputs: agreement and report file digests, or the log's checkpoint (origin,
//!    size, root, signatures); the report-set digest.
//!
//! This crate does no I/O and reads no clock: the caller reads the files (or the log) and
//! hands in their digests, and the renderers write to any [`std::io::Write`]. The geography is compiled in.

mod compile;
mod counting;
mod coverage;
mod document;
mod error;
mod figures;
mod geography;
mod html;
mod map;
mod markdown;
mod period;
mod svg;
mod words;

pub use compile::{Reading, ReportOptions, ReportSource, compile};
pub use coverage::{
    COVERAGE_COLUMNS, CoverageArea, CoverageKind, CoverageProblem, CoverageRecord,
    parse_coverage_csv,
};
pub use error::{CoverageFileError, ReportError};
pub use figures::{
    AccessDenials, AccessEvent, AgreementFile, AgreementHeading, AreaCoverage, ChangeMarker,
    ComparedTest, Comparison, ComparisonRow, ComplianceReport, Coverage, CoverageFile, Difference,
    Exposure, FORMAT, Harm, Headline, HumanitarianToll, InForceNote, KindCoverage, ListedFinding,
    ListedFindings, LogInputs, LoggedAgreement, MapLayer, MapPoint, MissingCount,
    ObservationCoverage, PartyCoverage, PartyHeading, PartyHeadline, ReadingFigures, ReleaseNote,
    ReportFile, ReportInputs, ReportPeriod, RetractedReport, RuleCounts, TestOutcome, TollRow,
    Trend, TruceTest, TruceTestRow, UndeterminedShare, VerdictCounts, WeekOnWeek, ZoneOutline,
};
pub use geography::{OUTSIDE_REGIONS, region_of};

use std::io::Write;

/// A rendering of a [`ComplianceReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// One self-contained HTML page: inline CSS and SVG, no scripts, no external requests.
    Html,
    /// Markdown: every table of the HTML page, without the map and charts.
    Markdown,
    /// The figures as JSON (`truce-report/1`).
    Json,
}

/// Writes `report` in `format` to `out`.
///
/// # Errors
///
/// [`ReportError::Write`] when `out` fails, [`ReportError::Json`] when the JSON encoder
/// fails, [`ReportError::Geography`] when the compiled-in geography cannot be read (HTML).
pub fn render(
    report: &ComplianceReport,
    format: ReportFormat,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    match format {
        ReportFormat::Html => out.write_all(html::render_html(report)?.as_bytes())?,
        ReportFormat::Markdown => out.write_all(markdown::render_markdown(report).as_bytes())?,
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}
