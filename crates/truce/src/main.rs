//! `truce`: the command-line tool.

mod assess_cmd;
mod backup_cmd;
mod demo_cmd;
mod export_cmd;
mod files;
mod huge_pages;
mod inputs;
mod key_cmd;
mod log_cmd;
mod log_inputs;
mod migrate_cmd;
mod report_cmd;
mod serve_cmd;
mod simulate_cmd;
mod submit_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Ceasefire monitoring and verification.
#[derive(Debug, Parser)]
#[command(name = "truce", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Corroborate reports into incidents and judge each against an agreement.
    Assess(assess_cmd::AssessArgs),
    /// Generate a seeded, realistic scenario: reports in any input format plus ground truth.
    Simulate(simulate_cmd::SimulateArgs),
    /// Keep, prove, witness, verify and mirror the verifiable record (a transparency log).
    Log(log_cmd::LogArgs),
    /// The compliance report: the truce test, trends, toll, map; as HTML, Markdown or JSON.
    Report(report_cmd::ReportArgs),
    /// Make and show the Ed25519 keys that sign requests to the service.
    Key(key_cmd::KeyArgs),
    /// Run the HTTP service on one data directory (log, journal, blobs; SQLite or PostgreSQL store).
    Serve(serve_cmd::ServeArgs),
    /// Sign and send reports, sources, agreements and annotations to a running service.
    Submit(submit_cmd::SubmitArgs),
    /// Snapshot a data directory while the service runs.
    Backup(backup_cmd::BackupArgs),
    /// Restore a data directory from a snapshot made by `truce backup`, and verify its log.
    Restore(backup_cmd::RestoreArgs),
    /// Move a data directory's store from SQLite to PostgreSQL, replayed from the log and checked.
    Migrate(migrate_cmd::MigrateArgs),
    /// Export reports, incidents and findings as CSV, GeoJSON, ACLED-compatible or HXL-tagged CSV.
    Export(export_cmd::ExportArgs),
    /// Start the service with a simulated 30-day truce already loaded, and print its address.
    Demo(demo_cmd::DemoArgs),
}

impl Command {
    /// The files and directories a batch command reads its reports from (`assess`, `report`,
    /// `export`); `None` for the other commands.
    fn batch_inputs(&self) -> Option<Vec<std::path::PathBuf>> {
        match self {
            Command::Assess(args) => Some(args.reports.iter().chain(&args.data).cloned().collect()),
            Command::Report(args) => Some(args.inputs.iter().chain(&args.data).cloned().collect()),
            Command::Export(args) => Some(args.reports.clone()),
            _ => None,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The batch commands hold whole report sets in memory: with large inputs they restart
    // once to ask for huge pages.
    if let Some(inputs) = cli.command.batch_inputs() {
        huge_pages::restart_with_huge_pages(huge_pages::input_bytes(&inputs));
    }
    // `TRUCE_LOG_SPANS=1` also logs when each span closes, with its busy and idle time (the
    // engine's steps are `debug` spans: `TRUCE_LOG=debug TRUCE_LOG_SPANS=1` times them).
    let span_events = if std::env::var_os("TRUCE_LOG_SPANS").is_some_and(|v| v == "1") {
        tracing_subscriber::fmt::format::FmtSpan::CLOSE
    } else {
        tracing_subscriber::fmt::format::FmtSpan::NONE
    };
    tracing_subscriber::fmt()
        .with_span_events(span_events)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRUCE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Assess(args) => assess_cmd::run(args),
        Command::Simulate(args) => simulate_cmd::run(args),
        Command::Log(args) => log_cmd::run(args),
        Command::Report(args) => report_cmd::run(args),
        Command::Key(args) => key_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Submit(args) => submit_cmd::run(args),
        Command::Backup(args) => backup_cmd::backup(args),
        Command::Restore(args) => backup_cmd::restore(args),
        Command::Migrate(args) => migrate_cmd::run(args),
        Command::Export(args) => export_cmd::run(args),
        Command::Demo(args) => demo_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A reader that stopped reading (`truce ... | head`) is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
