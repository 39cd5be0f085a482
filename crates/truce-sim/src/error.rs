//! Errors of the simulator.

/// Why a scenario could not be simulated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The embedded geography could not be read (a broken build, not a user mistake).
    #[error("embedded geography `{file}`: {reason}")]
    Geography {
        /// The embedded file.
        file: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// A scenario names a city that is not in `cities.csv`.
    #[error("unknown city `{name}` in {field} (not in data/geo/cities.csv)")]
    UnknownCity {
        /// The field that named it.
        field: String,
        /// The name as written.
        name: String,
    },
    /// A scenario parameter is out of range.
    #[error("invalid scenario: {field} {reason}")]
    InvalidScenario {
        /// The parameter.
        field: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// A scenario file is not valid JSON for a [`crate::Scenario`].
    #[error("scenario JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl SimError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        SimError::InvalidScenario {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
