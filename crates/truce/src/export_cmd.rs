//! `truce export AGREEMENT REPORTS...`: incidents with their findings, or reports with their
//! incident's verdict, as CSV, GeoJSON, ACLED-compatible CSV or HXL-tagged CSV
//! (`docs/export-format.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::ProgressBar;
use rayon::prelude::*;
use truce_engine::assess::Assessor;
use truce_engine::corroborate::{CorroborationParams, corroborate};
use truce_export::{
    AdminRegion, Assessed, ExportFormat, ExportOptions, RegionLookup, RowsOf, export,
};

use crate::files::write_output;
use crate::inputs::{
    LoadedAgreement, ReadReports, RejectArgs, ingest_settings, read_reports, stage_done,
};

/// `--format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// One row per incident (or report) with its finding.
    Csv,
    /// A FeatureCollection of Point features (RFC 7946), the CSV's columns as properties.
    Geojson,
    /// ACLED's 31 columns, event types and precision codes.
    Acled,
    /// The CSV with a row of HXL hashtags under the header.
    Hxl,
}

/// `--of`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OfArg {
    /// A row per incident and its finding.
    Incidents,
    /// A row per report, with the incident it belongs to and that incident's verdict.
    Reports,
}

/// Arguments of `truce export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The agreement file (TOML).
    pub agreement: PathBuf,
    /// Report files: our CSV or JSON Lines, ACLED or UCDP CSV exports, GeoJSON points.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Export format.
    #[arg(long, short = 'f', value_enum, default_value = "csv")]
    pub format: FormatArg,
    /// What a row stands for.
    #[arg(long, value_enum, default_value = "incidents")]
    pub of: OfArg,
    /// Write the export here instead of standard output (written atomically).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub rejected: RejectArgs,
    /// Which reading of the agreement: `common`, a party id, or `all` (a row per reading).
    #[arg(long, default_value = "common")]
    pub interpretation: String,
    /// Read every report file as this format instead of detecting it.
    #[arg(long)]
    pub input_format: Option<String>,
    /// Time zone of date-only values: ACLED's and UCDP's dates read, ACLED's `event_date`
    /// written. An IANA name.
    #[arg(long, default_value = "Europe/Kyiv")]
    pub local_zone: String,
}

/// The first-level units of the geography shipped with truce (Ukraine's, and Russia's
/// border oblasts).
#[derive(Debug)]
struct ShippedRegions;

impl RegionLookup for ShippedRegions {
    fn region_at(&self, lon: f64, lat: f64) -> Option<AdminRegion> {
        // The geography was read once before the export started (`run`), so it reads here.
        let (code, name) = truce_report::region_of(lon, lat).ok().flatten()?;
        Some(AdminRegion {
            code: code.to_string(),
            name: name.to_string(),
        })
    }
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        FormatArg::Csv => ExportFormat::Csv,
        FormatArg::Geojson => ExportFormat::Geojson,
        FormatArg::Acled => ExportFormat::Acled,
        FormatArg::Hxl => ExportFormat::Hxl,
    };
    let rows_of = match args.of {
        OfArg::Incidents => RowsOf::Incidents,
        OfArg::Reports => RowsOf::Reports,
    };
    let (forced, ingest_options) = ingest_settings(args.input_format.as_deref(), &args.local_zone)?;

    let clock = std::time::Instant::now();
    let agreement = LoadedAgreement::load(&args.agreement)?;
    let selected = agreement.select(&args.interpretation)?;
    stage_done("load the agreement", clock);

    let ReadReports {
        reports,
        rejections,
        ..
    } = read_reports(
        &args.reports,
        forced,
        &ingest_options,
        false,
        &ProgressBar::hidden(),
    )?;

    if let Some(refused) = args.rejected.refuse(&rejections)? {
        return Ok(refused);
    }

    let clock = std::time::Instant::now();
    let params = CorroborationParams::from(&agreement.readings[0].corroboration);
    let incidents = corroborate(&reports, &params);
    stage_done("corroborate", clock);
    let assessors: Vec<Assessor<'_>> = selected
        .par_iter()
        .map(|reading| Assessor::new(reading, &reports, &incidents))
        .collect::<Result<_, _>>()
        .context("preparing the agreement's zones")?;

    // Read the shipped geography now, so that a fault in it is an error, not empty columns.
    truce_report::region_of(0.0, 0.0).context("reading the geography shipped with truce")?;
    let options = ExportOptions {
        rows_of,
        local_zone: ingest_options.local_zone.clone(),
        regions: Some(&ShippedRegions),
    };
    let assessed = Assessed {
        reports: &reports,
        incidents: &incidents,
        assessors: &assessors,
    };
    let clock = std::time::Instant::now();
    write_output(args.out.as_deref(), |out| {
        export(&assessed, format, &options, out)
            .with_context(|| format!("writing the {format} export"))
    })?;
    stage_done("adjudicate and export", clock);

    args.rejected.finish(&rejections)?;
    Ok(ExitCode::SUCCESS)
}
