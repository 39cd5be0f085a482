//! `truce assess AGREEMENT REPORTS...`

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use truce_engine::assess::Assessor;
use truce_engine::corroborate::{CorroborationParams, corroborate};
use truce_engine::intake::{Origin, merge};
use truce_model::agreement::{self, Agreement};
use truce_model::ingest::{IngestOptions, InputFormat, detect_format, parse_reports};
use truce_output::{InputFile, Inputs, OutputFormat, Run, render, write_rejections};

use crate::files::{DiskFiles, hex, write_output};

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
    pub agreement: PathBuf,
    /// Report files: our CSV or JSON Lines, ACLED or UCDP CSV exports, GeoJSON points.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "markdown")]
    pub format: FormatArg,
    /// Write the output here instead of standard output (written atomically).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Write every rejected row (file, row, column, value, reason) to this CSV file.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Fail (exit status 2) if any row is rejected.
    #[arg(long)]
    pub strict: bool,
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

/// Logs a stage's wall time and the process's peak resident memory so far (where the system
/// reports it), for `TRUCE_LOG=info` runs and the benchmarks.
fn stage_done(stage: &str, started: std::time::Instant) {
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match peak_rss_mib() {
        Some(peak_rss_mib) => tracing::info!(elapsed_ms, peak_rss_mib, "stage: {stage}"),
        None => tracing::info!(elapsed_ms, "stage: {stage}"),
    }
}

/// `VmHWM` of `/proc/self/status` in MiB (Linux); `None` elsewhere.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

pub fn run(args: AssessArgs) -> anyhow::Result<ExitCode> {
    let output_format = match args.format {
        FormatArg::Json => OutputFormat::Json,
        FormatArg::Csv => OutputFormat::Csv,
        FormatArg::Geojson => OutputFormat::Geojson,
        FormatArg::Markdown => OutputFormat::Markdown,
    };
    let forced: Option<InputFormat> = match &args.input_format {
        Some(name) => Some(name.parse().map_err(anyhow::Error::msg)?),
        None => None,
    };
    let local_zone = jiff::tz::TimeZone::get(&args.local_zone)
        .with_context(|| format!("--local-zone: unknown time zone `{}`", args.local_zone))?;
    let options = IngestOptions { local_zone };

    // The agreement.
    let clock = std::time::Instant::now();
    let agreement_name = display(&args.agreement);
    let agreement_bytes = std::fs::read(&args.agreement)
        .with_context(|| format!("reading the agreement {agreement_name}"))?;
    let agreement_text = std::str::from_utf8(&agreement_bytes)
        .map_err(|e| anyhow::anyhow!("{agreement_name}: not UTF-8 (byte {})", e.valid_up_to()))?;
    let files = DiskFiles::new(&args.agreement);
    let agreements = agreement::load(&agreement_name, agreement_text, &files)
        .map_err(|e| anyhow::anyhow!("the agreement is not valid:\n{e}"))?;
    let agreement_sha256 = files.digest(&agreement_bytes);
    stage_done("load the agreement", clock);
    let selected: Vec<&Agreement> = match args.interpretation.as_str() {
        "all" => agreements.iter().collect(),
        name => {
            let found: Vec<&Agreement> = agreements
                .iter()
                .filter(|a| a.interpretation == name)
                .collect();
            if found.is_empty() {
                let known: Vec<&str> = agreements
                    .iter()
                    .map(|a| a.interpretation.as_str())
                    .collect();
                bail!(
                    "--interpretation: `{name}` is not one of {} (or `all`)",
                    known.join(", ")
                );
            }
            found
        }
    };

    // The reports.
    let clock = std::time::Instant::now();
    // One bar for the whole run: a step per file, then merge, digest, corroborate, and a step
    // per interpretation.
    let bar = progress(
        args.reports.len() as u64 + 3 + selected.len() as u64,
        "reading reports",
    );
    let mut all = Vec::new();
    let mut origins = Vec::new();
    let mut rejections = Vec::new();
    let mut input_files = Vec::new();
    for path in &args.reports {
        let name = display(path);
        let bytes = std::fs::read(path).with_context(|| format!("reading {name}"))?;
        let format = match forced {
            Some(f) => f,
            None => detect_format(&name, &bytes[..bytes.len().min(4096)]).ok_or_else(|| {
                anyhow::anyhow!(
                    "{name}: cannot tell the input format from the name or the header; pass --input-format"
                )
            })?,
        };
        let ingested = parse_reports(format, &name, &bytes, &options)?;
        tracing::info!(file = %name, %format, accepted = ingested.reports.len(), rejected = ingested.rejections.len(), "read reports");
        input_files.push(InputFile {
            file: name.clone(),
            format: format.to_string(),
            accepted: ingested.reports.len() as u64,
            rejected: ingested.rejections.len() as u64,
        });
        rejections.extend(ingested.rejections);
        let shared: std::sync::Arc<str> = std::sync::Arc::from(name.as_str());
        origins.extend(ingested.rows.iter().map(|&row| Origin {
            file: shared.clone(),
            row,
        }));
        if all.is_empty() {
            all = ingested.reports;
        } else {
            all.extend(ingested.reports);
        }
        bar.inc(1);
    }
    stage_done("read and parse", clock);
    bar.set_message("merging, checking duplicate ids");
    let clock = std::time::Instant::now();
    let (reports, duplicates) = merge(all, origins);
    stage_done("merge", clock);
    bar.inc(1);
    bar.set_message("computing the digest of the reports");
    let clock = std::time::Instant::now();
    rejections.extend(duplicates);

    // SHA-256 over the canonical encoding of the accepted reports in canonical order: the same
    // set of reports gives the same digest whatever the files and their row order.
    let mut reports_hasher = Sha256::new();
    truce_model::report::canonical::encode_set(&reports, |piece| reports_hasher.update(piece));
    stage_done("digest", clock);
    bar.inc(1);
    bar.set_message("corroborating reports into incidents");
    let inputs = Inputs {
        agreement_file: agreement_name,
        agreement_sha256,
        reports: input_files,
        reports_sha256: hex(&reports_hasher.finalize()),
    };

    if args.strict && !rejections.is_empty() {
        bar.finish_and_clear();
        if let Some(path) = &args.rejects {
            write_output(Some(path), |out| Ok(write_rejections(&rejections, out)?))?;
        }
        for r in rejections.iter().take(20) {
            eprintln!("rejected: {r}");
        }
        eprintln!(
            "error: {} row(s) rejected and --strict is set; nothing was written",
            rejections.len()
        );
        return Ok(ExitCode::from(2));
    }

    // Incidents and findings.
    let params = CorroborationParams::from(&agreements[0].corroboration);
    let clock = std::time::Instant::now();
    let incidents = corroborate(&reports, &params);
    tracing::info!(incidents = incidents.len(), "incidents");
    stage_done("corroborate", clock);
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
    if let Some(path) = &args.rejects {
        write_output(Some(path), |out| Ok(write_rejections(&rejections, out)?))?;
    }
    if !rejections.is_empty() {
        eprintln!(
            "{} row(s) rejected{}",
            rejections.len(),
            if args.rejects.is_some() {
                ""
            } else {
                " (list them with --rejects FILE)"
            }
        );
    }
    // Freeing a million reports, incidents and findings one allocation at a time takes a
    // noticeable share of a run; the process is about to exit and the system takes the memory
    // back at once.
    drop(run);
    std::mem::forget((reports, incidents));
    Ok(ExitCode::SUCCESS)
}
