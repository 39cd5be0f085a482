//! `truce report [AGREEMENT] REPORTS... [--agreement AGREEMENT]...`: the compliance report;
//! `truce report --data DIR [--agreement-id ID[@VERSION]]...`: the same from a service's
//! data directory.
//!
//! Reading the agreement and the reports follows `truce assess` step for step (the same
//! formats, merge, digest and corroboration), so a report and an assessment of the same
//! files describe the same incidents and print the same report-set digest. From a data
//! directory, the log is replayed as the service replays it on start
//! ([`truce_server::replay_data_dir`]), so the report judges the reports the service
//! judges (less the retracted ones), and its findings are the service's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, ValueEnum};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use truce_engine::assess::Assessor;
use truce_engine::corroborate::{CorroborationParams, corroborate, corroborate_reviewed};
use truce_engine::review::{Annotation, ReviewIndex};
use truce_model::Report;
use truce_model::agreement::Agreement;
use truce_report::{
    AgreementFile, CoverageArea, CoverageFile, CoverageKind, CoverageRecord, LogInputs,
    LoggedAgreement, Reading, ReportFile, ReportFormat, ReportInputs, ReportOptions, ReportSource,
    RetractedReport, compile, parse_coverage_csv, render,
};

use crate::files::write_output;
use crate::inputs::{LoadedAgreement, ReadReports, ingest_settings, read_reports};
use crate::log_inputs::{LogReports, choose_versions, loaded_agreements, replay, reports_of};

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
    #[arg(
        required_unless_present = "data",
        conflicts_with = "data",
        value_name = "FILES"
    )]
    pub inputs: Vec<PathBuf>,
    /// An agreement to report on; repeat it to set several agreements side by side (the
    /// first is the primary one). When given, every positional argument is a report file.
    #[arg(long = "agreement", value_name = "AGREEMENT", conflicts_with = "data")]
    pub agreements: Vec<PathBuf>,
    /// Read the agreements, reports and coverage records from the log of a service's data
    /// directory (`truce serve --data DIR`, or one restored by `truce restore`), as of its
    /// checkpoint; read-only, while the service runs or not.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// With --data: the agreement to report on, `ID` (its latest version) or `ID@VERSION`;
    /// repeat it to set versions or agreements side by side over the first one's reports.
    /// Default: the latest version of the log's only agreement.
    #[arg(long = "agreement-id", value_name = "ID[@VERSION]", requires = "data")]
    pub agreement_ids: Vec<String>,
    /// Observation-coverage records and access denials, a CSV file (columns in
    /// docs/report.md); repeatable. With --data they come from the log instead.
    #[arg(long, value_name = "FILE", conflicts_with = "data")]
    pub coverage: Vec<PathBuf>,
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
    #[arg(long, conflicts_with = "data")]
    pub input_format: Option<String>,
    /// Time zone for date-only values (ACLED's and UCDP's dates), an IANA name.
    #[arg(long, default_value = "Europe/Kyiv")]
    pub local_zone: String,
    /// Fail (exit status 2) if any row is rejected.
    #[arg(long, conflicts_with = "data")]
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
    if let Some(dir) = args.data.clone() {
        return run_data(&args, &dir);
    }
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
    let zone_ids: Vec<&str> = selected[0].0.zones.iter().map(|z| z.id.as_str()).collect();
    let (coverage, coverage_files) = read_coverage_files(&args.coverage, &zone_ids)?;
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
        log: None,
        coverage_files,
    };
    compile_and_write(
        &args, format, &selected, &reports, &inputs, None, &coverage, None,
    )?;
    if !rejections.is_empty() {
        eprintln!(
            "{} row(s) rejected (list them with `truce assess --rejects FILE`)",
            rejections.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Groups the reports, judges them under each selected reading (under `reviews`, when
/// given), compiles the report and writes it where `args` says.
#[allow(
    clippy::too_many_arguments,
    reason = "the parts of a report, from files or from a log"
)]
fn compile_and_write(
    args: &ReportArgs,
    format: ReportFormat,
    selected: &[(&Agreement, usize)],
    reports: &[Report],
    inputs: &ReportInputs,
    log_indices: Option<&[u64]>,
    coverage: &[CoverageRecord],
    reviews: Option<&Arc<ReviewIndex>>,
) -> anyhow::Result<()> {
    // Incidents, under the first agreement's grouping limits (as `truce assess` does).
    let clock = std::time::Instant::now();
    let params = CorroborationParams::from(&selected[0].0.corroboration);
    let incidents = match reviews {
        Some(reviews) => corroborate_reviewed(reports, &params, reviews),
        None => corroborate(reports, &params),
    };
    let readings: Vec<Reading<'_>> = selected
        .par_iter()
        .map(|&(agreement, agreement_file)| {
            let assessor = match reviews {
                Some(reviews) => {
                    Assessor::reviewed(agreement, reports, &incidents, Arc::clone(reviews))
                }
                None => Assessor::new(agreement, reports, &incidents),
            };
            assessor.map(|assessor| Reading {
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
            reports,
            incidents: &incidents,
            readings: &readings,
            inputs,
            log_indices,
            coverage,
            reviews,
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
    Ok(())
}

/// The problems of a coverage file shown before the count of the rest.
const COVERAGE_PROBLEMS_SHOWN: usize = 50;

/// Reads `--coverage` files; `zones` are the primary agreement's zone ids.
fn read_coverage_files(
    paths: &[PathBuf],
    zones: &[&str],
) -> anyhow::Result<(Vec<CoverageRecord>, Vec<CoverageFile>)> {
    let mut records = Vec::new();
    let mut files = Vec::new();
    let mut ids: HashMap<String, String> = HashMap::new();
    for path in paths {
        let name = crate::inputs::display(path);
        let bytes = std::fs::read(path).with_context(|| format!("reading {name}"))?;
        let read = parse_coverage_csv(&name, &bytes, zones).map_err(|error| {
            let shown: Vec<String> = error
                .problems
                .iter()
                .take(COVERAGE_PROBLEMS_SHOWN)
                .map(ToString::to_string)
                .collect();
            let more = error.problems.len().saturating_sub(COVERAGE_PROBLEMS_SHOWN);
            let tail = if more > 0 {
                format!("\n… and {more} more")
            } else {
                String::new()
            };
            anyhow::anyhow!(
                "the coverage file {name} has {} problem(s); nothing was written:\n{}{tail}",
                error.problems.len(),
                shown.join("\n")
            )
        })?;
        for record in &read {
            if let Some(first) = ids.insert(record.id.clone(), name.clone()) {
                bail!(
                    "coverage record `{}` is in {first} and again in {name}: ids must be unique",
                    record.id
                );
            }
        }
        files.push(CoverageFile {
            file: name,
            sha256: hex(&Sha256::digest(&bytes)),
            records: read.len() as u64,
        });
        records.extend(read);
    }
    Ok((records, files))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `truce report --data DIR`: the log replayed as the service replays it, the reports of
/// the primary agreement less the retracted ones, coverage records from the log.
fn run_data(args: &ReportArgs, dir: &Path) -> anyhow::Result<ExitCode> {
    let format = output_format(args);
    let replayed = replay(dir)?;
    let versions = choose_versions(&replayed, &args.agreement_ids, dir)?;
    let loaded = loaded_agreements(&versions, dir)?;
    let mut selected: Vec<(&Agreement, usize)> = Vec::new();
    for (file_index, file) in loaded.iter().enumerate() {
        let found = file.select(&args.interpretation)?;
        selected.extend(found.into_iter().map(|a| (a, file_index)));
    }

    // The primary agreement's reports, as the service holds them, and the reviews and
    // retractions it judges them under: a withdrawn report stays in the record but is a
    // member of no incident.
    let LogReports {
        filed,
        reports,
        duplicates,
        log_indices,
        reviews,
        reports_sha256,
    } = reports_of(&replayed, &versions[0].id);
    let retracted: Vec<RetractedReport> = filed
        .iter()
        .filter_map(|report| {
            let retraction = replayed.retractions.iter().find(|r| {
                r.retraction.report_id == report.report.id.as_str()
                    && r.retraction.source_id == report.report.source.id.as_str()
            })?;
            Some(RetractedReport {
                report_id: report.report.id.to_string(),
                log_index: report.log_index,
                retraction_index: retraction.log_index,
            })
        })
        .collect();

    let coverage: Vec<CoverageRecord> = replayed
        .coverage
        .iter()
        .filter_map(|logged| {
            let record = &logged.coverage;
            let kind = CoverageKind::parse(record.kind.as_str())?;
            let [west, south, east, north] = record.extent;
            Some(CoverageRecord {
                id: record.coverage_id.clone(),
                observer: record.observer.clone(),
                kind,
                start_ms: record.time.start_ms,
                end_ms: record.time.end_ms,
                area: CoverageArea::Extent {
                    west,
                    south,
                    east,
                    north,
                },
                restricted_by: record.restricted_by.clone(),
                log_index: Some(logged.log_index),
            })
        })
        .collect();

    let checkpoint = &replayed.checkpoint;
    let log = LogInputs {
        origin: checkpoint.origin().to_owned(),
        size: checkpoint.size(),
        root: STANDARD.encode(checkpoint.root().as_bytes()),
        checkpoint: replayed.checkpoint_note.to_string(),
        signatures: replayed
            .checkpoint_note
            .signatures()
            .iter()
            .map(|signature| signature.name().as_str().to_owned())
            .collect(),
        agreements: versions
            .iter()
            .map(|version| LoggedAgreement {
                id: version.id.clone(),
                version: version.version,
                log_indices: version.log_indexes.clone(),
                text_sha256: version.text_sha256.clone(),
            })
            .collect(),
        reports: filed.len() as u64,
        retracted,
        reviews: replayed
            .annotations
            .iter()
            .filter(|(_, annotation)| matches!(annotation, Annotation::Review(_)))
            .count() as u64,
        coverage_records: coverage.len() as u64,
    };
    let inputs = ReportInputs {
        agreements: versions
            .iter()
            .map(|version| AgreementFile {
                file: format!(
                    "log entry {}: {} v{}",
                    version.log_indexes.first().copied().unwrap_or_default(),
                    version.id,
                    version.version
                ),
                sha256: version.text_sha256.clone(),
            })
            .collect(),
        reports: Vec::new(),
        reports_sha256,
        rejected_rows: duplicates.len() as u64,
        log: Some(log),
        coverage_files: Vec::new(),
    };
    compile_and_write(
        args,
        format,
        &selected,
        &reports,
        &inputs,
        Some(&log_indices),
        &coverage,
        Some(&reviews),
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_inputs::parse_agreement_id;

    #[test]
    fn agreement_ids_take_an_optional_version() {
        assert_eq!(
            parse_agreement_id("black-sea").ok(),
            Some(("black-sea".to_owned(), None))
        );
        assert_eq!(
            parse_agreement_id("black-sea@2").ok(),
            Some(("black-sea".to_owned(), Some(2)))
        );
        for bad in ["", "@2", "black-sea@", "black-sea@two"] {
            let error = parse_agreement_id(bad).map_err(|e| e.to_string());
            assert!(
                error.as_ref().is_err_and(|e| e.contains("--agreement-id")),
                "{bad}: {error:?}"
            );
        }
    }

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
