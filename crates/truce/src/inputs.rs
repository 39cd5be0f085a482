//! Reading what `assess` and `report` start from: agreement files with their readings, and
//! report files merged into one set in canonical order with its digest.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use truce_engine::intake::{Origins, merge};
use truce_model::Report;
use truce_model::agreement::{self, Agreement};
use truce_model::ingest::{
    IngestOptions, Ingested, InputFormat, Pieces, Rejection, detect_format, parse_reports,
    parse_reports_in_pieces, reads_in_pieces,
};

use crate::files::{DiskFiles, FilePieces, hex, write_output};

/// The name a path is shown by in messages and outputs.
pub fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Logs a stage's wall time and the process's peak resident memory so far (where the system
/// reports it), for `TRUCE_LOG=info` runs and the benchmarks.
pub fn stage_done(stage: &str, started: Instant) {
    let elapsed_ms = started.elapsed().as_millis() as u64;
    // Process CPU so far: with the elapsed times, it tells which stages use both cores.
    // Minor page faults so far: each one is a page of fresh memory the system had to clear
    // (4 KiB, or 2 MiB for a huge page), which on some virtual machines costs as much as
    // the work done in it.
    let (process_cpu_ms, minor_faults) = match process_counters() {
        Some((cpu, faults)) => (Some(cpu), Some(faults)),
        None => (None, None),
    };
    match peak_rss_mib() {
        Some(peak_rss_mib) => {
            tracing::info!(
                elapsed_ms,
                ?process_cpu_ms,
                ?minor_faults,
                peak_rss_mib,
                "stage: {stage}"
            )
        }
        None => tracing::info!(elapsed_ms, ?process_cpu_ms, ?minor_faults, "stage: {stage}"),
    }
}

/// User plus system CPU time of the whole process so far (in clock ticks taken as the usual
/// 100 a second) and its minor page faults, from `/proc/self/stat` (Linux); `None`
/// elsewhere.
fn process_counters() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // Field 10 of the line (minflt) is the 8th after the name; fields 14 and 15 (utime,
    // stime) are the 12th and 13th.
    let minor_faults: u64 = fields.nth(7)?.parse().ok()?;
    let user: u64 = fields.nth(3)?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(((user + system) * 10, minor_faults))
}

/// `VmHWM` of `/proc/self/status` in MiB (Linux); `None` elsewhere.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// `--input-format` and `--local-zone` as the parsers take them.
pub fn ingest_settings(
    input_format: Option<&str>,
    local_zone: &str,
) -> anyhow::Result<(Option<InputFormat>, IngestOptions)> {
    let forced = match input_format {
        Some(name) => Some(name.parse().map_err(anyhow::Error::msg)?),
        None => None,
    };
    let local_zone = jiff::tz::TimeZone::get(local_zone)
        .with_context(|| format!("--local-zone: unknown time zone `{local_zone}`"))?;
    Ok((
        forced,
        IngestOptions {
            local_zone,
            id_order: false,
        },
    ))
}

/// One agreement file: its readings (one per interpretation) and its digest.
#[derive(Debug)]
pub struct LoadedAgreement {
    /// The file as named on the command line.
    pub name: String,
    /// The common reading and each party's.
    pub readings: Vec<Agreement>,
    /// SHA-256 of the file and every file it references, hex.
    pub sha256: String,
}

impl LoadedAgreement {
    /// Reads and validates the agreement at `path`.
    pub fn load(path: &Path) -> anyhow::Result<LoadedAgreement> {
        let name = display(path);
        let bytes = std::fs::read(path).with_context(|| format!("reading the agreement {name}"))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| anyhow::anyhow!("{name}: not UTF-8 (byte {})", e.valid_up_to()))?;
        let files = DiskFiles::new(path);
        let readings = agreement::load(&name, text, &files)
            .map_err(|e| anyhow::anyhow!("the agreement {name} is not valid:\n{e}"))?;
        let sha256 = files.digest(&bytes);
        Ok(LoadedAgreement {
            name,
            readings,
            sha256,
        })
    }

    /// The readings `--interpretation` asks for: `all`, or the one with that name.
    pub fn select(&self, interpretation: &str) -> anyhow::Result<Vec<&Agreement>> {
        let found: Vec<&Agreement> = match interpretation {
            "all" => self.readings.iter().collect(),
            name => self
                .readings
                .iter()
                .filter(|a| a.interpretation == name)
                .collect(),
        };
        if found.is_empty() {
            let known: Vec<&str> = self
                .readings
                .iter()
                .map(|a| a.interpretation.as_str())
                .collect();
            bail!(
                "--interpretation: `{interpretation}` is not one of {} in {} (or `all`)",
                known.join(", "),
                self.name
            );
        }
        Ok(found)
    }
}

/// One report file as it was read.
#[derive(Debug, Clone)]
pub struct ReadFile {
    /// The name as given.
    pub file: String,
    /// The format it was read as.
    pub format: InputFormat,
    /// SHA-256 of its bytes, hex (when asked for).
    pub sha256: Option<String>,
    /// Reports accepted from it.
    pub accepted: u64,
    /// Rows rejected.
    pub rejected: u64,
}

/// Every report file read, merged into one set.
#[derive(Debug)]
pub struct ReadReports {
    /// The accepted reports in canonical order (by id), duplicates resolved.
    pub reports: Vec<Report>,
    /// Rejected rows of every file, and differing copies of one id.
    pub rejections: Vec<Rejection>,
    /// Per file, in the order given.
    pub files: Vec<ReadFile>,
    /// SHA-256 of the reports' canonical encoding in canonical order, hex: the same set of
    /// reports gives the same digest whatever the files and their row order.
    pub reports_sha256: String,
}

/// Reads, parses and merges the report files; one step of `bar` per file, then one for the
/// merge and one for the digest. `file_digests` also hashes each file's bytes.
pub fn read_reports(
    paths: &[impl AsRef<Path>],
    forced: Option<InputFormat>,
    options: &IngestOptions,
    file_digests: bool,
    bar: &ProgressBar,
) -> anyhow::Result<ReadReports> {
    read_reports_then(paths, forced, options, file_digests, bar, |_, _| ()).map(|(read, ())| read)
}

/// As [`read_reports`], and runs `then` on the merged reports and the rejections while the
/// digest of the reports is computed on another core; returns what `then` returned.
pub fn read_reports_then<R: Send>(
    paths: &[impl AsRef<Path>],
    forced: Option<InputFormat>,
    options: &IngestOptions,
    file_digests: bool,
    bar: &ProgressBar,
    then: impl FnOnce(&[Report], &[Rejection]) -> R + Send,
) -> anyhow::Result<(ReadReports, R)> {
    let clock = Instant::now();
    // The reports are merged into id order below: a reader that can read in that order
    // straight away saves the merge a pass.
    let options = &IngestOptions {
        id_order: true,
        ..options.clone()
    };
    let mut all = Vec::new();
    let mut origins = Origins::new();
    let mut rejections = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        let name = display(path.as_ref());
        let (format, ingested, sha256) =
            read_report_file(path.as_ref(), &name, forced, options, file_digests)?;
        tracing::info!(file = %name, %format, accepted = ingested.reports.len(), rejected = ingested.rejections.len(), "read reports");
        files.push(ReadFile {
            file: name.clone(),
            format,
            sha256,
            accepted: ingested.reports.len() as u64,
            rejected: ingested.rejections.len() as u64,
        });
        rejections.extend(ingested.rejections);
        origins.push_file(Arc::from(name.as_str()), ingested.rows);
        if all.is_empty() {
            all = ingested.reports;
        } else {
            all.extend(ingested.reports);
        }
        bar.inc(1);
    }
    stage_done("read and parse", clock);

    bar.set_message("merging, checking duplicate ids");
    let clock = Instant::now();
    let (reports, duplicates) = merge(all, origins);
    rejections.extend(duplicates);
    stage_done("merge", clock);
    bar.inc(1);

    bar.set_message("computing the digest of the reports");
    let (reports_sha256, then_result) = rayon::join(
        || {
            let clock = Instant::now();
            let mut hasher = Sha256::new();
            truce_model::report::canonical::encode_set(&reports, |piece| hasher.update(piece));
            stage_done("digest", clock);
            hex(&hasher.finalize())
        },
        || then(&reports, &rejections),
    );
    bar.inc(1);
    Ok((
        ReadReports {
            reports,
            rejections,
            files,
            reports_sha256,
        },
        then_result,
    ))
}

/// `forced`, or the format told from a file's name and first bytes.
fn format_of(name: &str, forced: Option<InputFormat>, head: &[u8]) -> anyhow::Result<InputFormat> {
    if let Some(format) = forced {
        return Ok(format);
    }
    detect_format(name, &head[..head.len().min(4096)]).ok_or_else(|| {
        anyhow::anyhow!(
            "{name}: cannot tell the input format from the name or the header; pass --input-format"
        )
    })
}

/// The size of the pieces a report file is read in, when its format is read piece by piece.
/// Smaller pieces hold less memory while the file is parsed but give the threads less to
/// share out: at a million simulated reports, pieces of 2, 4, 8 and 16 MiB took 1.35, 1.22,
/// 1.20 and 1.13 s (medians of 5 alternating runs); the run's peak, set later by
/// corroboration, was 400–411 MiB with each.
const PIECE_BYTES: usize = 16 << 20;

/// Reads and parses one report file in its format (`forced`, or told from its name and
/// first bytes), with the SHA-256 of its bytes when `digest` asks. JSON Lines and the CSV
/// layouts read row by row take the file in pieces ([`FilePieces`]); a regular file in another format is read
/// whole, on every thread. A pipe is read once, in pieces, its format told from the first.
fn read_report_file(
    path: &Path,
    name: &str,
    forced: Option<InputFormat>,
    options: &IngestOptions,
    digest: bool,
) -> anyhow::Result<(InputFormat, Ingested, Option<String>)> {
    let reading = || format!("reading {name}");
    let regular = std::fs::metadata(path).is_ok_and(|metadata| metadata.is_file());
    if regular {
        let head = crate::files::read_head(path, 4096).with_context(reading)?;
        let format = format_of(name, forced, &head)?;
        if !reads_in_pieces(format) {
            let bytes = crate::files::read_in_parallel(path).with_context(reading)?;
            let ingested = parse_reports(format, name, &bytes, options)?;
            return Ok((
                format,
                ingested,
                digest.then(|| hex(&Sha256::digest(&bytes))),
            ));
        }
    }
    let mut pieces = FilePieces::open(path, PIECE_BYTES, digest).with_context(reading)?;
    let mut first = Vec::new();
    pieces.next_piece(&mut first).with_context(reading)?;
    let format = format_of(name, forced, &first)?;
    let ingested = parse_reports_in_pieces(format, name, &first, &mut pieces, options)?;
    Ok((format, ingested, pieces.sha256()))
}

/// What to do with rejected rows: `--rejects FILE` and `--strict`.
#[derive(Debug, Clone, clap::Args)]
pub struct RejectArgs {
    /// Write every rejected row (file, row, column, value, reason) to this CSV file.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Fail (exit status 2) if any row is rejected.
    #[arg(long)]
    pub strict: bool,
}

impl RejectArgs {
    /// Under `--strict` with rows rejected: writes `--rejects`, shows the first rejections
    /// and returns the exit status 2 (nothing else is written). Otherwise `None`.
    pub fn refuse(&self, rejections: &[Rejection]) -> anyhow::Result<Option<ExitCode>> {
        if !self.strict || rejections.is_empty() {
            return Ok(None);
        }
        self.write(rejections)?;
        for rejection in rejections.iter().take(20) {
            eprintln!("rejected: {rejection}");
        }
        eprintln!(
            "error: {} row(s) rejected and --strict is set; nothing was written",
            rejections.len()
        );
        Ok(Some(ExitCode::from(2)))
    }

    /// After a run: writes `--rejects` and says how many rows were rejected.
    pub fn finish(&self, rejections: &[Rejection]) -> anyhow::Result<()> {
        self.write(rejections)?;
        if !rejections.is_empty() {
            eprintln!(
                "{} row(s) rejected{}",
                rejections.len(),
                if self.rejects.is_some() {
                    ""
                } else {
                    " (list them with --rejects FILE)"
                }
            );
        }
        Ok(())
    }

    fn write(&self, rejections: &[Rejection]) -> anyhow::Result<()> {
        if let Some(path) = &self.rejects {
            write_output(Some(path), |out| {
                Ok(truce_output::write_rejections(rejections, out)?)
            })?;
        }
        Ok(())
    }
}
