//! `truce simulate`: seeded scenarios with ground truth.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use truce_model::ingest::{IngestOptions, InputFormat, write_reports};
use truce_sim::{Scenario, simulate, write_truth_csv};

use crate::files::write_output;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScenarioArg {
    /// 60 days from 9 February 2025, a general truce from 11 March (rates fall sharply),
    /// one dense-shelling burst.
    Default,
    /// Six days around the Easter truce with three dense-shelling bursts.
    DenseShelling,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WriteFormat {
    Csv,
    Jsonl,
    Geojson,
    Acled,
    Ucdp,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Which scenario.
    #[arg(long, value_enum, default_value = "default")]
    pub scenario: ScenarioArg,
    /// A scenario file (JSON, as written by --print-scenario) instead of a preset.
    #[arg(long, conflicts_with = "scenario")]
    pub scenario_file: Option<PathBuf>,
    /// Random seed: the same seed gives byte-identical output on every machine.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scale the default scenario's rates to about this many reports.
    #[arg(long)]
    pub reports: Option<u64>,
    /// Output format of the reports.
    #[arg(long, short = 'f', value_enum, default_value = "csv")]
    pub format: WriteFormat,
    /// Write the reports here (default: standard output).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Write the ground truth (report id → incident id, true perpetrator, fabricated) here.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Print the scenario's parameters as JSON and exit.
    #[arg(long)]
    pub print_scenario: bool,
    /// Time zone for the dates of ACLED and UCDP output, an IANA name.
    #[arg(long, default_value = "Europe/Kyiv")]
    pub local_zone: String,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut scenario = match &args.scenario_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Scenario::from_json(&text).with_context(|| format!("{}", path.display()))?
        }
        None => match args.scenario {
            ScenarioArg::Default => Scenario::default_scenario(args.seed),
            ScenarioArg::DenseShelling => Scenario::dense_shelling(args.seed),
        },
    };
    scenario.seed = args.seed;
    if let Some(n) = args.reports {
        scenario = scenario.scaled_to(n);
    }
    if args.print_scenario {
        println!("{}", scenario.to_json());
        return Ok(ExitCode::SUCCESS);
    }
    let local_zone = jiff::tz::TimeZone::get(&args.local_zone)
        .with_context(|| format!("--local-zone: unknown time zone `{}`", args.local_zone))?;
    let simulation = simulate(&scenario).context("simulating")?;
    let format = match args.format {
        WriteFormat::Csv => InputFormat::Csv,
        WriteFormat::Jsonl => InputFormat::Jsonl,
        WriteFormat::Geojson => InputFormat::Geojson,
        WriteFormat::Acled => InputFormat::Acled,
        WriteFormat::Ucdp => InputFormat::Ucdp,
    };
    let options = IngestOptions {
        local_zone,
        id_order: false,
    };
    write_output(args.out.as_deref(), |out| {
        Ok(write_reports(format, &simulation.reports, &options, out)?)
    })?;
    if let Some(path) = &args.truth {
        write_output(Some(path), |out| {
            Ok(write_truth_csv(&simulation.truth, out)?)
        })?;
    }
    tracing::info!(reports = simulation.reports.len(), "simulated");
    Ok(ExitCode::SUCCESS)
}
