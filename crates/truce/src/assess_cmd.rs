//! `truce assess AGREEMENT REPORTS...`

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use truce_engine::assess::Assessor;
use truce_engine::corroborate::{CorroborationParams, corroborate, corroborate_reviewed};
use truce_output::{InputFile, Inputs, OutputFormat, Run, render};

use crate::files::write_output;
use crate::inputs::{
    LoadedAgreement, ReadReports, RejectArgs, ingest_settings, read_reports_then, stage_done,
};
use crate::log_inputs::{LogReports, choose_versions, loaded_agreements, replay, reports_of};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Json,
    Csv,
    Geojson,
    Markdown,
}

#[derive(Debug, Args)]
pub struct AssessArgs {
    /// The agreement file (TOML).
    #[arg(required_unless_present = "data")]
    pub agreement: Option<PathBuf>,
    /// Report files: our CSV or JSON Lines, ACLED or UCDP CSV exports, GeoJSON points.
    #[arg(required_unless_present = "data")]
    pub reports: Vec<PathBuf>,
    /// Instead of files: assess what a service's data directory holds (`truce serve --data
    /// DIR`, or one restored by `truce restore`) as of its checkpoint, exactly as the
    /// service judges it (reviews and retractions included); read-only.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["agreement", "reports", "input_format", "rejects", "strict"])]
    pub data: Option<PathBuf>,
    /// With --data: the agreement, `ID` (its latest version) or `ID@VERSION`. Default: the
    /// latest version of the log's only agreement.
    #[arg(long = "agreement-id", value_name = "ID[@VERSION]", requires = "data")]
    pub agreement_id: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "markdown")]
    pub format: FormatArg,
    /// Write the output here instead of standard output (written atomically).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub rejected: RejectArgs,
    /// Which reading of the agreement: `common`, a party id, or `all` side by side.
    #[arg(long, default_value = "common")]
    pub interpretation: String,
    /// Read every report file as this format instead of detecting it.
    #[arg(long)]
    pub input_format: Option<String>,
    /// Time zone for date-only values (ACLED's and UCDP's dates), an IANA name.
    #[arg(long, default_value = "Europe/Kyiv")]
    pub local_zone: String,
}

fn progress(len: u64, message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

pub fn run(args: AssessArgs) -> anyhow::Result<ExitCode> {
    let output_format = match args.format {
        FormatArg::Json => OutputFormat::Json,
        FormatArg::Csv => OutputFormat::Csv,
        FormatArg::Geojson => OutputFormat::Geojson,
        FormatArg::Markdown => OutputFormat::Markdown,
    };
    if let Some(dir) = &args.data {
        return run_data(&args, dir, output_format);
    }
    let (forced, options) = ingest_settings(args.input_format.as_deref(), &args.local_zone)?;
    let Some(agreement_path) = &args.agreement else {
        anyhow::bail!("give the agreement file and the report files, or --data DIR");
    };

    // The agreement.
    let clock = std::time::Instant::now();
    let agreement = LoadedAgreement::load(agreement_path)?;
    let selected = agreement.select(&args.interpretation)?;
    stage_done("load the agreement", clock);

    // The reports. One bar for the whole run: a step per file, then merge, digest,
    // corroborate, and a step per interpretation.
    let bar = progress(
        args.reports.len() as u64 + 3 + selected.len() as u64,
        "reading reports",
    );
    // Corroboration runs while the digest of the reports is computed (unless --strict will
    // stop the run anyway).
    let params = CorroborationParams::from(&agreement.readings[0].corroboration);
    let strict = args.rejected.strict;
    let (
        ReadReports {
            reports,
            rejections,
            files,
            reports_sha256,
        },
        incidents,
    ) = read_reports_then(
        &args.reports,
        forced,
        &options,
        false,
        &bar,
        |reports, rejections| {
            (!strict || rejections.is_empty()).then(|| {
                let clock = std::time::Instant::now();
                let incidents = corroborate(reports, &params);
                tracing::info!(incidents = incidents.len(), "incidents");
                stage_done("corroborate", clock);
                incidents
            })
        },
    )?;
    bar.set_message("corroborating reports into incidents");
    let inputs = Inputs {
        agreement_file: agreement.name.clone(),
        agreement_sha256: agreement.sha256.clone(),
        reports: files
            .iter()
            .map(|file| InputFile {
                file: file.file.clone(),
                format: file.format.to_string(),
                accepted: file.accepted,
                rejected: file.rejected,
            })
            .collect(),
        reports_sha256,
    };

    // `None` when --strict is set and a row was rejected.
    let Some(incidents) = incidents else {
        bar.finish_and_clear();
        return Ok(args
            .rejected
            .refuse(&rejections)?
            .unwrap_or(ExitCode::from(2)));
    };

    // Findings.
    let clock = std::time::Instant::now();
    bar.inc(1);
    bar.set_message("preparing the agreement's zones");
    let assessors: Vec<Assessor<'_>> = selected
        .par_iter()
        .map(|a| {
            let assessor = Assessor::new(a, &reports, &incidents);
            bar.inc(1);
            assessor
        })
        .collect::<Result<_, _>>()
        .context("preparing the agreement's zones")?;
    stage_done("prepare the agreements", clock);
    let clock = std::time::Instant::now();

    // Findings are judged a chunk of incidents at a time as the output is written.
    bar.set_message("judging incidents and writing the output");
    let run = Run {
        inputs: &inputs,
        reports: &reports,
        incidents: &incidents,
        assessors,
        rejections: &rejections,
    };
    write_output(args.out.as_deref(), |out| {
        Ok(render(&run, output_format, out)?)
    })?;
    bar.finish_and_clear();
    stage_done("adjudicate and render", clock);
    args.rejected.finish(&rejections)?;
    // Freeing a million reports, incidents and findings one allocation at a time takes a
    // noticeable share of a run; the process is about to exit and the system takes the memory
    // back at once.
    drop(run);
    std::mem::forget((reports, incidents));
    Ok(ExitCode::SUCCESS)
}

/// `truce assess --data DIR`: the log replayed as the service replays it; the reports filed
/// under the agreement, judged under the log's reviews and retractions.
fn run_data(
    args: &AssessArgs,
    dir: &std::path::Path,
    output_format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let replayed = replay(dir)?;
    let asked: Vec<String> = args.agreement_id.iter().cloned().collect();
    let versions = choose_versions(&replayed, &asked, dir)?;
    let loaded = loaded_agreements(&versions, dir)?;
    let agreement = &loaded[0];
    let selected = agreement.select(&args.interpretation)?;
    let LogReports {
        filed,
        reports,
        duplicates,
        reviews,
        reports_sha256,
        ..
    } = reports_of(&replayed, &versions[0].id);
    let params = CorroborationParams::from(&agreement.readings[0].corroboration);
    let incidents = corroborate_reviewed(&reports, &params, &reviews);
    let assessors: Vec<Assessor<'_>> = selected
        .par_iter()
        .map(|a| Assessor::reviewed(a, &reports, &incidents, reviews.clone()))
        .collect::<Result<_, _>>()
        .context("preparing the agreement's zones")?;
    let inputs = Inputs {
        agreement_file: agreement.name.clone(),
        agreement_sha256: agreement.sha256.clone(),
        reports: vec![InputFile {
            file: format!(
                "{} (log of size {})",
                dir.display(),
                replayed.checkpoint.size()
            ),
            format: "log".to_owned(),
            accepted: filed.len() as u64,
            rejected: duplicates.len() as u64,
        }],
        reports_sha256,
    };
    let run = Run {
        inputs: &inputs,
        reports: &reports,
        incidents: &incidents,
        assessors,
        rejections: &duplicates,
    };
    write_output(args.out.as_deref(), |out| {
        Ok(render(&run, output_format, out)?)
    })?;
    Ok(ExitCode::SUCCESS)
}
