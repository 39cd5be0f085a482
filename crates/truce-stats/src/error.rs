//! Errors of this crate.

use std::fmt;

/// Which of the two counts compared by [`crate::rate_ratio`] a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// The count before the agreement (the reference period).
    Before,
    /// The count under the agreement (the period compared with the reference).
    During,
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Period::Before => "before",
            Period::During => "during",
        })
    }
}

/// Inputs that no statistic of this crate can be computed from.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// An exposure that is zero, negative, infinite or not a number: a rate
    /// needs a positive, finite length of time.
    #[error("exposure_days of the {period} count must be finite and greater than 0, got {value}")]
    InvalidExposure {
        /// The count with the bad exposure.
        period: Period,
        /// The exposure given, in days.
        value: f64,
    },
    /// Two exposures so far apart in scale that their ratio is not a normal,
    /// finite floating-point number (for example 1e-300 days against 1e10).
    #[error(
        "exposure_days before ({before}) and during ({during}) are too far apart in scale for their ratio to be represented"
    )]
    ExposureRatioOutOfRange {
        /// The exposure of the count before, in days.
        before: f64,
        /// The exposure of the count during, in days.
        during: f64,
    },
    /// More events than the exact method is evaluated for (see
    /// [`crate::MAX_EVENTS`]).
    #[error("events of the {period} count: {value} is more than the supported {max}")]
    TooManyEvents {
        /// The count with too many events.
        period: Period,
        /// The number of events given.
        value: u64,
        /// The largest number of events supported.
        max: u64,
    },
    /// A change-point penalty that is negative, infinite or not a number.
    #[error("change-point penalty {kind} must be finite and not negative, got {value}")]
    InvalidPenalty {
        /// Which number was bad: the multiplier of ln(days) or the fixed value.
        kind: &'static str,
        /// The value given.
        value: f64,
    },
}
