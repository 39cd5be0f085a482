//! `truce report [AGREEMENT] REPORTS... [--agreement AGREEMENT]...`: the compliance report.
//!
//! Reading the agreement and the reports follows `truce assess` step for step (the same
//! formats, merge, digest and corroboration), so a report and an assessment of the same
//! files describe the same incidents and print the same report-set digest.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rayon::prelude::*;
use truce_engine::assess::Assessor;
use truce_engine::corroborate::{CorroborationParams, corroborate};
use truce_model::agreement::Agreement;
use truce_report::{
    AgreementFile, Reading, ReportFile, ReportFormat, ReportInputs, ReportOptions, ReportSource,
    compile, render,
};

use crate::files::write_output;
use crate::inputs::{LoadedAgreement, ReadReports, ingest_settings, read_reports};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormatArg {
    /// One self-contained page: inline CSS and SVG, no scripts, no external requests.
    Html,
    /// Every table and sentence, without the map and charts.
    Markdown,
    /// The figures (`truce-report/1`).
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The agreement file (TOML) followed by the report files; with --agreement, report
    /// files only.
    #[arg(required = true, value_name = "FILES")]
    pub inputs: Vec<PathBuf>,
    /// An agreement to report on; repeat it to set several agreements side by side (the
    /// first is the primary one). When given, every positional argument is a report file.
    #[arg(long = "agreement", value_name = "AGREEMENT")]
    pub agreements: Vec<PathBuf>,
    /// Which reading of each agreement: `common`, a party id, or `all` side by side.
    #[arg(long, default_value = "common")]
    pub interpretation: String,
    /// Days before the agreement's start that the truce test compares with (cut to the
    /// data: days before the first report are not counted).
    #[arg(long, default_value_t = 30)]
    pub baseline_days: u32,
    /// Where the data ends: an instant with offset (`2025-04-10T00:00:00Z`) or a date, meaning
    /// the end of that day in the primary agreement's time zone. Default: the end of the last
    /// day with an incident.
    #[arg(long)]
    pub until: Option<String>,
    /// Output format (default: from the extension of --out, else Markdown).
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<ReportFormatArg>,
    /// Write the report here instead of standard output (written atomically).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// The most violations and disputed incidents listed per reading.
    #[arg(long, default_value_t = 200)]
    pub list_limit: usize,
    /// Read every report file as this format instead of detecting it.
    #[arg(long)]
    pub input_format: Option<String>,
    /// Time zone for date-only values (ACLED's and UCDP's dates), an IANA name.
    #[arg(long, default_value = "Europe/Kyiv")]
    pub local_zone: String,
    /// Fail (exit status 2) if any row is rejected.
    #[arg(long)]
    pub strict: bool,
}

/// The format asked for, else the one the output's extension names, else Markdown.
fn output_format(args: &ReportArgs) -> ReportFormat {
    match args.format {
        Some(ReportFormatArg::Html) => ReportFormat::Html,
        Some(ReportFormatArg::Markdown) => ReportFormat::Markdown,
        Some(ReportFormatArg::Json) => ReportFormat::Json,
        None => {
            let extension = args
                .out
                .as_deref()
                .and_then(Path::extension)
                .map(|e| e.to_string_lossy().to_ascii_lowercase());
            match extension.as_deref() {
                Some("html" | "htm") => ReportFormat::Html,
                Some("json") => ReportFormat::Json,
                _ => ReportFormat::Markdown,
            }
        }
    }
}

/// `--until`: an instant, or a date meaning the end of that day in `zone`.
fn parse_until(text: &str, zone: &TimeZone) -> anyhow::Result<Timestamp> {
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Ok(instant);
    }
    let date: Date = text.parse().map_err(|_| {
        anyhow::anyhow!(
            "--until: `{text}` is neither an instant with offset (2025-04-10T00:00:00Z) nor a \
             date (2025-04-09)"
        )
    })?;
    let next = date
        .tomorrow()
        .and_then(|d| d.to_zoned_datetime(zone.clone()))
        .map_err(|e| anyhow::anyhow!("--until: `{text}`: {e}"))?;
    Ok(next.timestamp())
}

/// Reads the agreements and reports, compiles the report and writes it.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let format = output_format(&args);
    let (forced, options) = ingest_settings(args.input_format.as_deref(), &args.local_zone)?;

    // Agreements: from --agreement, or the first positional argument.
    let (agreement_paths, report_paths): (Vec<PathBuf>, &[PathBuf]) = if args.agreements.is_empty()
    {
        match args.inputs.split_first() {
            Some((agreement, reports)) if !reports.is_empty() => (vec![agreement.clone()], reports),
            _ => bail!(
                "give the agreement and at least one report file (or the agreements with \
                 --agreement and the report files)"
            ),
        }
    } else {
        (args.agreements.clone(), &args.inputs[..])
    };
    let loaded: Vec<LoadedAgreement> = agreement_paths
        .iter()
        .map(|path| LoadedAgreement::load(path))
        .collect::<anyhow::Result<_>>()?;
    let mut selected: Vec<(&Agreement, usize)> = Vec::new();
    for (file_index, file) in loaded.iter().enumerate() {
        let found = file.select(&args.interpretation)?;
        selected.extend(found.into_iter().map(|a| (a, file_index)));
    }

    // Reports, as `truce assess` reads them.
    let ReadReports {
        reports,
        rejections,
        files,
        reports_sha256,
    } = read_reports(
        report_paths,
        forced,
        &options,
        true,
        &indicatif::ProgressBar::hidden(),
    )?;
    if args.strict && !rejections.is_empty() {
        for r in rejections.iter().take(20) {
            eprintln!("rejected: {r}");
        }
        eprintln!(
            "error: {} row(s) rejected and --strict is set; nothing was written",
            rejections.len()
        );
        return Ok(ExitCode::from(2));
    }
    let inputs = ReportInputs {
        agreements: loaded
            .iter()
            .map(|a| AgreementFile {
                file: a.name.clone(),
                sha256: a.sha256.clone(),
            })
            .collect(),
        reports: files
            .into_iter()
            .map(|file| ReportFile {
                file: file.file,
                format: file.format.to_string(),
                sha256: file.sha256.unwrap_or_default(),
                accepted: file.accepted,
                rejected: file.rejected,
            })
            .collect(),
        reports_sha256,
        rejected_rows: rejections.len() as u64,
    };

    // Incidents, under the first agreement's grouping limits (as `truce assess` does).
    let clock = std::time::Instant::now();
    let params = CorroborationParams::from(&selected[0].0.corroboration);
    let incidents = corroborate(&reports, &params);
    let readings: Vec<Reading<'_>> = selected
        .par_iter()
        .map(|&(agreement, agreement_file)| {
            Assessor::new(agreement, &reports, &incidents).map(|assessor| Reading {
                assessor,
                agreement_file,
            })
        })
        .collect::<Result<_, _>>()
        .context("preparing the agreement's zones")?;
    let primary_zone = TimeZone::get(&selected[0].0.window.time_zone).with_context(|| {
        format!(
            "the agreement's time zone `{}`",
            selected[0].0.window.time_zone
        )
    })?;
    let until = match &args.until {
        Some(text) => Some(parse_until(text, &primary_zone)?),
        None => None,
    };
    let report = compile(
        &ReportSource {
            reports: &reports,
            incidents: &incidents,
            readings: &readings,
            inputs: &inputs,
        },
        &ReportOptions {
            baseline_days: args.baseline_days,
            until,
            list_limit: args.list_limit,
        },
    )?;
    tracing::info!(
        elapsed_ms = clock.elapsed().as_millis() as u64,
        incidents = incidents.len(),
        "stage: corroborate and compile the report"
    );
    write_output(args.out.as_deref(), |out| Ok(render(&report, format, out)?))?;
    if !rejections.is_empty() {
        eprintln!(
            "{} row(s) rejected (list them with `truce assess --rejects FILE`)",
            rejections.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_takes_an_instant_or_the_end_of_a_day() {
        let zone = TimeZone::get("Europe/Moscow").unwrap_or(TimeZone::UTC);
        let instant = parse_until("2025-04-10T00:00:00Z", &zone).map(|t| t.to_string());
        assert_eq!(instant.ok().as_deref(), Some("2025-04-10T00:00:00Z"));
        let day = parse_until("2025-04-16", &zone).map(|t| t.to_string());
        assert_eq!(day.ok().as_deref(), Some("2025-04-16T21:00:00Z"));
        let error = parse_until("next week", &zone).map_err(|e| e.to_string());
        assert!(
            error.as_ref().is_err_and(|e| e.contains("`next week`")),
            "{error:?}"
        );
    }
}
