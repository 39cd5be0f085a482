//! Writing reports in the formats truce reads.

use std::io::Write;

use crate::ingest::fields::{coordinate_problems, uncertainty_problem};
use crate::ingest::options::IngestOptions;
use crate::ingest::time::format_instant;
use crate::ingest::{InputFormat, acled, feature_collection, jsonl, native_csv, ucdp};
use crate::report::Report;

/// Why reports could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The format is read-only for truce (the peer benchmark's layout).
    #[error(
        "truce reads the {format} layout but does not write it; write csv, jsonl, geojson, acled or ucdp"
    )]
    NotWritable {
        /// The format asked for.
        format: InputFormat,
    },
    /// A report holds something the format cannot express without losing or changing it
    /// (a time span longer than ACLED's precision codes allow, an uncertainty radius larger
    /// than the largest code, a `;` inside a CSV list value, a coordinate out of range).
    #[error("report `{report_id}` cannot be written as {format}: {reason}")]
    NotRepresentable {
        /// The format asked for.
        format: InputFormat,
        /// The report's id.
        report_id: String,
        /// What cannot be expressed.
        reason: String,
    },
    /// The output failed.
    #[error("cannot write the output: {0}")]
    Io(#[from] std::io::Error),
}

impl WriteError {
    pub(crate) fn from_csv(error: csv::Error) -> Self {
        match error.into_kind() {
            csv::ErrorKind::Io(io) => WriteError::Io(io),
            other => WriteError::Io(std::io::Error::other(format!("{other:?}"))),
        }
    }

    pub(crate) fn not_representable(
        format: InputFormat,
        report: &Report,
        reason: impl Into<String>,
    ) -> Self {
        WriteError::NotRepresentable {
            format,
            report_id: report.id.to_string(),
            reason: reason.into(),
        }
    }
}

/// Writes `reports` to `out` in `format`. `options.local_zone` gives the calendar dates of
/// the date-only formats (ACLED's `event_date`, UCDP's `date_start`/`date_end`).
///
/// Our own formats (`csv`, `jsonl`, `geojson`) read back to equal reports. ACLED and UCDP
/// files read back to reports whose time span and uncertainty radius contain the original
/// ones, with the same action and target where the layout can express them (see
/// `docs/report-format.md`). The peer layout is read-only: [`WriteError::NotWritable`].
pub fn write_reports(
    format: InputFormat,
    reports: &[Report],
    options: &IngestOptions,
    out: &mut dyn Write,
) -> Result<(), WriteError> {
    match format {
        InputFormat::Csv => native_csv::write(reports, out),
        InputFormat::Jsonl => jsonl::write(reports, out),
        InputFormat::Geojson => feature_collection::write(reports, out),
        InputFormat::Acled => acled::write(reports, options, out),
        InputFormat::Ucdp => ucdp::write(reports, options, out),
        InputFormat::PeerCsv => Err(WriteError::NotWritable { format }),
    }
}

/// Refuses reports that would not read back: coordinates out of range or not finite, a
/// negative or non-finite radius, a time span that ends before it starts.
pub(crate) fn check_writable(format: InputFormat, report: &Report) -> Result<(), WriteError> {
    let location = report.location;
    let (lon_problem, lat_problem) = coordinate_problems(location.lon, location.lat);
    if let Some(reason) = lon_problem {
        return Err(WriteError::not_representable(
            format,
            report,
            format!("lon: {reason}"),
        ));
    }
    if let Some(reason) = lat_problem {
        return Err(WriteError::not_representable(
            format,
            report,
            format!("lat: {reason}"),
        ));
    }
    if let Some(reason) = uncertainty_problem(location.uncertainty_m) {
        return Err(WriteError::not_representable(
            format,
            report,
            format!("uncertainty_m: {reason}"),
        ));
    }
    if report.time.end_ms < report.time.start_ms {
        return Err(WriteError::not_representable(
            format,
            report,
            "the time span ends before it starts",
        ));
    }
    Ok(())
}

/// `time` and, when the span has a width, `time_end`, as RFC 3339 UTC instants.
pub(crate) fn checked_time_strings(
    format: InputFormat,
    report: &Report,
) -> Result<(String, Option<String>), WriteError> {
    let start = format_instant(report.time.start_ms)
        .map_err(|reason| WriteError::not_representable(format, report, reason))?;
    let end = if report.time.end_ms == report.time.start_ms {
        None
    } else {
        Some(
            format_instant(report.time.end_ms)
                .map_err(|reason| WriteError::not_representable(format, report, reason))?,
        )
    };
    Ok((start, end))
}
