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
    /// Writing the output failed.
    #[error("writing the report: {0}")]
    Write(#[from] std::io::Error),
    /// Encoding JSON failed.
    #[error("encoding the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
}
