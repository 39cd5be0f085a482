//! Errors of this crate.

/// Why a compliance report could not be compiled or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A report needs at least one reading of an agreement.
    #[error("no agreement reading given: a report needs at least one")]
    NoReadings,
    /// A reading names an agreement file that is not among the inputs.
    #[error("reading {reading}: agreement_file index {index} is out of range for {files} file(s)")]
    AgreementFileOutOfRange {
        /// The position of the reading.
        reading: usize,
        /// The index it gave.
        index: usize,
        /// How many agreement files the inputs list.
        files: usize,
    },
    /// The agreement's `window.time_zone` is not a known IANA time zone.
    #[error("agreement `{agreement}`: window.time_zone `{time_zone}` is not a known time zone")]
    UnknownTimeZone {
        /// The agreement id.
        agreement: String,
        /// The time zone given.
        time_zone: String,
    },
    /// An instant or date fell outside the range the calendar can represent.
    #[error("{what}: {value} is outside the representable range of dates")]
    TimeOutOfRange {
        /// Which value.
        what: &'static str,
        /// The value, as text.
        value: String,
    },
    /// The report period is longer than the daily series are computed for.
    #[error(
        "the report period has {days} days, more than the supported {max}; shorten --baseline-days or pass --until"
    )]
    PeriodTooLong {
        /// Days in the period.
        days: i64,
        /// The most days supported.
        max: i64,
    },
    /// The agreement's zones could not be prepared for the truce test.
    #[error("preparing the agreement for the truce test: {0}")]
    Prepare(#[from] truce_engine::adjudicate::PrepareError),
    /// The compiled-in geography could not be read (a defect of the build, not of the input).
    #[error("the shipped geography `{file}` cannot be read: {message}")]
    Geography {
        /// The file of `data/geo/`.
        file: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A coverage record names a zone the primary agreement does not have.
    #[error(
        "coverage record `{record}`: zone `{zone}` is not a zone of the agreement `{agreement}`"
    )]
    UnknownCoverageZone {
        /// The record's id.
        record: String,
        /// The zone it names.
        zone: String,
        /// The primary agreement.
        agreement: String,
    },
    /// The log indexes given are not one per report.
    #[error("{indices} log indexes given for {reports} reports: one per report is needed")]
    LogIndicesMismatch {
        /// Reports given.
        reports: usize,
        /// Log indexes given.
        indices: usize,
    },
    /// Writing the output failed.
    #[error("writing the report: {0}")]
    Write(#[from] std::io::Error),
    /// Encoding JSON failed.
    #[error("encoding the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The problems of a coverage file ([`crate::parse_coverage_csv`]), every one with its file,
/// line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", lines(.problems))]
pub struct CoverageFileError {
    /// Every problem, in file order.
    pub problems: Vec<crate::coverage::CoverageProblem>,
}

fn lines(problems: &[crate::coverage::CoverageProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
