//! Exports of an assessment for the tools monitors and analysts already use: a flat CSV, a
//! GeoJSON FeatureCollection (RFC 7946), CSV in ACLED's event-export layout, and CSV with a
//! row of HXL hashtags under the header (`docs/export-format.md`).
//!
//! A row stands for an incident with its finding, or for a report with the incident it
//! belongs to and that incident's verdict ([`RowsOf`]); with several readings of the
//! agreement there is one row per reading, marked with its interpretation.
//!
//! Every row is built from the engine's reports, incidents and findings by pure functions and
//! written to a [`std::io::Write`]: this crate opens no file and reads no clock. Rows come in
//! the canonical order of incidents (or reports), then in the order of the readings, so the
//! same set of reports gives the same bytes whatever the order it was read in.
#![forbid(unsafe_code)]

mod acled;
mod delimited;
mod feature_collection;
mod rows;
mod time;

use std::fmt;
use std::io::{self, Write};

use jiff::tz::TimeZone;
use truce_engine::assess::Assessor;
use truce_engine::incident::Incident;
use truce_model::Report;

pub use acled::ACLED_COLUMNS;
pub use rows::{Column, columns};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// Comma-separated values with a header row (RFC 4180).
    Csv,
    /// A GeoJSON FeatureCollection (RFC 7946) of Point features, one per row.
    Geojson,
    /// CSV with ACLED's 31 columns, names and codes, readable by ACLED tooling and by
    /// truce's own ACLED reader.
    Acled,
    /// The CSV of [`ExportFormat::Csv`] with a row of HXL hashtags under the header.
    Hxl,
}

impl ExportFormat {
    /// The name used on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Geojson => "geojson",
            ExportFormat::Acled => "acled",
            ExportFormat::Hxl => "hxl",
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one row of an export stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RowsOf {
    /// An incident and its finding.
    #[default]
    Incidents,
    /// A report, the incident it belongs to and that incident's verdict.
    Reports,
}

/// A first-level administrative unit a point lies in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRegion {
    /// ISO 3166-2 code (`UA-63`, `RU-BEL`); its first two letters are the country.
    pub code: String,
    /// English name (`Kharkiv`).
    pub name: String,
}

impl AdminRegion {
    /// The ISO 3166-1 alpha-2 code of the country (the part of the code before `-`).
    pub fn country_code(&self) -> &str {
        self.code.split_once('-').map_or("", |(country, _)| country)
    }
}

/// Finds the administrative unit of a point: the caller's geography, so that this crate
/// holds none.
pub trait RegionLookup {
    /// The unit containing `(lon, lat)`, or `None` outside every unit known.
    fn region_at(&self, lon: f64, lat: f64) -> Option<AdminRegion>;
}

/// How to export.
pub struct ExportOptions<'r> {
    /// What a row stands for.
    pub rows_of: RowsOf,
    /// The time zone whose calendar gives ACLED's `event_date` (the zone truce's ACLED reader
    /// reads dates in; `--local-zone`).
    pub local_zone: TimeZone,
    /// Where to look up the country and first-level unit of a point; without it those
    /// columns are empty.
    pub regions: Option<&'r dyn RegionLookup>,
}

impl fmt::Debug for ExportOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportOptions")
            .field("rows_of", &self.rows_of)
            .field("local_zone", &self.local_zone.iana_name())
            .field("regions", &self.regions.is_some())
            .finish()
    }
}

/// What is exported: reports in canonical order, the incidents built from them, and one
/// assessor per reading of the agreement, each over those incidents.
#[derive(Debug, Clone, Copy)]
pub struct Assessed<'s, 'a> {
    /// Reports in canonical order (incidents index into them).
    pub reports: &'a [Report],
    /// Incidents, in canonical order.
    pub incidents: &'a [Incident],
    /// One assessor per reading, in the order rows of one incident or report list them.
    pub assessors: &'s [Assessor<'a>],
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The output failed.
    #[error("writing the export: {0}")]
    Io(#[from] io::Error),
    /// A CSV record could not be encoded.
    #[error("encoding CSV: {0}")]
    Csv(String),
    /// A JSON value could not be encoded.
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A time cannot be expressed as a calendar date (outside the years -9999..=9999).
    #[error("{subject} `{id}`: {reason}")]
    Time {
        /// `report` or `incident`.
        subject: &'static str,
        /// Its id.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<csv::Error> for ExportError {
    fn from(error: csv::Error) -> Self {
        match error.into_kind() {
            csv::ErrorKind::Io(io) => ExportError::Io(io),
            other => ExportError::Csv(format!("{other:?}")),
        }
    }
}

/// Writes `assessed` in `format` to `out`.
///
/// # Errors
///
/// [`ExportError::Io`] when `out` fails; [`ExportError::Time`] for a time outside the
/// calendar (ACLED only); encoding errors, which valid reports do not cause.
pub fn export(
    assessed: &Assessed<'_, '_>,
    format: ExportFormat,
    options: &ExportOptions<'_>,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    match format {
        ExportFormat::Csv => delimited::write(assessed, options, false, out),
        ExportFormat::Hxl => delimited::write(assessed, options, true, out),
        ExportFormat::Geojson => feature_collection::write(assessed, options, out),
        ExportFormat::Acled => acled::write(assessed, options, out),
    }
}

#[cfg(test)]
mod tests;
