//! `truce demo`: the service with a simulated 30-day truce already loaded.
//!
//! 1. A data directory: `--data DIR` (new or empty; kept), or a temporary one removed on
//!    exit unless `--keep`.
//! 2. Keys under `DIR/demo/keys/`, derived from the seed ([`keys`]): the admin's, and one per
//!    simulated source the service registers — both parties' liaisons, the monitoring
//!    patrols, the media outlets and the open-source groups.
//! 3. The agreement (the shipped 30-day general ceasefire, or `--agreement FILE`) and a
//!    scenario around it ([`load::scenario_around`]): 30 days before its start and up to 30
//!    under it, simulated in-process with `--seed`.
//! 4. The service is opened on the data directory and everything is submitted to it as
//!    signed HTTP requests over a loopback listener of its own — the same router, checks,
//!    writer, log, store and live findings as any submission — one batch request at a time,
//!    so the log's order is the plan's. Only parties and monitors submit reports to the
//!    service; the simulation's media, OSINT and public reports are left out (their keys
//!    only read). Two witnesses, one per party (`witness.ua.example`,
//!    `witness.ru.example`, keys in `DIR/demo/keys/`), run in-process on loopback ports
//!    ([`witnesses`]); the service has them co-sign its checkpoints as the log grows and
//!    serves the result at `/v1/log/checkpoint/cosigned`.
//! 5. The service is served on `--listen` (default 127.0.0.1:8080, or a free port when
//!    that one is taken: the port is bound before loading, so nothing else takes it
//!    meanwhile), the summary is read back from its public endpoints over HTTP and printed
//!    with the URL and commands to try. SIGINT or SIGTERM stop it gracefully, as
//!    `truce serve`; `--exit-when-ready` stops it once the summary is printed.

mod keys;
mod load;
mod summary;
mod witnesses;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use truce_model::ingest::{IngestOptions, InputFormat, write_reports};
use truce_model::{Report, SourceKind};
use truce_server::{NoAppliedEntries, ServerConfig, Service};

use self::keys::DemoKey;
use self::load::{AgreementSource, LoadPlan, Loaded};
use self::summary::Summary;
use crate::files::write_output;
use crate::serve_cmd::shutdown_signal;

/// The address listened on when `--listen` is not given.
const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
/// The demo's own files inside the data directory.
const DEMO_DIR: &str = "demo";
/// The seed of the shipped example's reports (`truce simulate --seed 7`).
const DEFAULT_SEED: u64 = 7;
/// How long the new service may take to log the admin's registration.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long an interrupted load may take to finish its request in flight.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(30);

/// Start the service with a simulated 30-day truce already loaded, and print its address.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The data directory to create and load (it must not exist, or be empty); it is kept.
    /// Default: a new temporary directory, removed on exit unless --keep.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Keep the temporary data directory after exit (and print where it is).
    #[arg(long)]
    keep: bool,
    /// An agreement file (TOML; the files it references are read beside it) instead of the
    /// shipped 30-day general ceasefire (examples/front-line-30-day-2025).
    #[arg(long, value_name = "FILE")]
    agreement: Option<PathBuf>,
    /// Seed of the simulation and of the demo keys: the same seed loads the same reports.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Scale the simulated rates to about N reports (before the media, OSINT and public
    /// reports are left out).
    #[arg(long, value_name = "N")]
    reports: Option<u64>,
    /// The address to serve on [default: 127.0.0.1:8080, or a free port if it is taken].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Once loaded and listening: read /readyz and the findings over HTTP, print the
    /// summary, stop gracefully and exit 0 (for CI and tests).
    #[arg(long)]
    exit_when_ready: bool,
}

/// Runs `truce demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let agreement = match &args.agreement {
        Some(path) => AgreementSource::from_file(path)?,
        None => AgreementSource::shipped()?,
    };
    let mut scenario = load::scenario_around(&agreement.agreement, args.seed)?;
    if let Some(reports) = args.reports {
        scenario = scenario.scaled_to(reports);
    }
    let simulation = truce_sim::simulate(&scenario).context("simulating the scenario")?;
    let simulated = simulation.reports.len();

    let data = DataLocation::new(args.data.as_deref())?;
    let demo_dir = data.path().join(DEMO_DIR);
    let keys_dir = demo_dir.join("keys");
    let (admin, keys) = keys::write_keys(&keys_dir, args.seed, &scenario.sources())?;
    let signing_key: HashMap<&str, usize> = keys
        .iter()
        .enumerate()
        .filter(|(_, key)| key.submits_reports())
        .map(|(position, key)| (key.name(), position))
        .collect();
    let mut planned = Vec::with_capacity(simulation.reports.len());
    for report in simulation.reports {
        if let Some(&position) = signing_key.get(report.source.id.as_str()) {
            planned.push((position, report));
        }
    }
    let files = DemoFiles::write(&demo_dir, &agreement, &planned)?;
    let plan = LoadPlan {
        admin,
        keys,
        agreement_body: agreement.body(),
        agreement_id: agreement.id().to_owned(),
        reports: planned,
    };
    let facts = Facts {
        seed: args.seed,
        scenario_days: (scenario.days, load::BASELINE_DAYS),
        simulated,
        agreement_name: agreement.name.clone(),
        agreement_window: (
            agreement.agreement.window.start.to_string(),
            agreement
                .agreement
                .window
                .end
                .map_or_else(|| "open-ended".to_owned(), |end| end.to_string()),
        ),
        data_dir: data.path().to_owned(),
        data_kept: data.kept(args.keep),
        files,
        exit_when_ready: args.exit_when_ready,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(demo(&facts, plan, args.listen));
    // A load interrupted by a signal may leave its HTTP client waiting on a closed
    // connection: do not wait for it long.
    runtime.shutdown_timeout(Duration::from_secs(5));
    data.finish(args.keep);
    result.map(|()| ExitCode::SUCCESS)
}

/// Where the data directory is, and whether it is removed on exit.
#[derive(Debug)]
enum DataLocation {
    /// `--data DIR`: kept.
    Given(PathBuf),
    /// A temporary directory.
    Temporary(tempfile::TempDir),
}

impl DataLocation {
    fn new(given: Option<&Path>) -> anyhow::Result<Self> {
        let Some(dir) = given else {
            let temporary = tempfile::Builder::new()
                .prefix("truce-demo-")
                .tempdir()
                .context("creating a temporary data directory")?;
            return Ok(Self::Temporary(temporary));
        };
        match std::fs::read_dir(dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    bail!(
                        "--data {}: the directory is not empty; `truce demo` loads a new data directory (to serve an existing one, run `truce serve --data {}`)",
                        dir.display(),
                        dir.display()
                    );
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the data directory {}", dir.display()))?;
            }
            Err(error) => {
                return Err(error).with_context(|| {
                    format!("--data {}: cannot read the directory", dir.display())
                });
            }
        }
        Ok(Self::Given(dir.to_owned()))
    }

    fn path(&self) -> &Path {
        match self {
            Self::Given(dir) => dir,
            Self::Temporary(temporary) => temporary.path(),
        }
    }

    /// Whether the directory outlives the run.
    fn kept(&self, keep: bool) -> bool {
        keep || matches!(self, Self::Given(_))
    }

    /// Removes a temporary directory, unless it is to be kept.
    fn finish(self, keep: bool) {
        if let Self::Temporary(temporary) = self {
            if keep {
                let _ = temporary.keep();
            } else {
                let path = temporary.path().to_owned();
                if let Err(error) = temporary.close() {
                    eprintln!(
                        "warning: could not remove the demo data directory {}: {error}",
                        path.display()
                    );
                }
            }
        }
    }
}

/// Files the demo writes for its user under `DIR/demo/`.
#[derive(Debug)]
struct DemoFiles {
    /// The agreement file a `truce report` can read.
    agreement: PathBuf,
    /// The submitted reports, CSV with their sources.
    reports: PathBuf,
    /// One more report, not submitted, for trying `truce submit`, and the key that may
    /// send it.
    extra_report: Option<(PathBuf, PathBuf)>,
    /// The log's verifier key (written once the service has opened the log).
    log_vkey: PathBuf,
    /// The keys.
    keys: PathBuf,
}

impl DemoFiles {
    fn write(
        dir: &Path,
        agreement: &AgreementSource,
        planned: &[(usize, Report)],
    ) -> anyhow::Result<Self> {
        let agreement_file = match &agreement.path {
            Some(path) => path.clone(),
            None => agreement.write_to(&dir.join("agreement"))?,
        };
        let reports: Vec<Report> = planned.iter().map(|(_, report)| report.clone()).collect();
        let reports_file = dir.join("reports.csv");
        write_csv(&reports_file, &reports)?;
        // A party liaison's report again, under a new id: accepted if sent.
        let extra_report = match planned
            .iter()
            .find(|(_, report)| report.source.kind == SourceKind::Party)
        {
            Some((_, report)) => {
                let mut extra = report.clone();
                extra.id = format!("{}-resent", report.id).into();
                let path = dir.join("new-report.csv");
                write_csv(&path, std::slice::from_ref(&extra))?;
                let key = dir.join("keys").join(format!(
                    "{}.key",
                    crate::key_cmd::file_stem(&report.source.id)
                ));
                Some((path, key))
            }
            None => None,
        };
        Ok(Self {
            agreement: agreement_file,
            reports: reports_file,
            extra_report,
            log_vkey: dir.join("log.pub"),
            keys: dir.join("keys"),
        })
    }
}

fn write_csv(path: &Path, reports: &[Report]) -> anyhow::Result<()> {
    write_output(Some(path), |out| {
        write_reports(InputFormat::Csv, reports, &IngestOptions::default(), out)
            .with_context(|| format!("writing {}", path.display()))
    })
}

/// What the printed summary needs besides the service's answers.
#[derive(Debug)]
struct Facts {
    seed: u64,
    /// (days simulated, of which before the agreement).
    scenario_days: (u32, u32),
    simulated: usize,
    agreement_name: String,
    /// (start, end) as text.
    agreement_window: (String, String),
    data_dir: PathBuf,
    data_kept: bool,
    files: DemoFiles,
    exit_when_ready: bool,
}

/// Binds, loads, serves and prints.
async fn demo(facts: &Facts, plan: LoadPlan, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    // Every wait below also ends on SIGINT or SIGTERM.
    let (stop_sender, stop) = watch::channel(false);
    let stop_sender = Arc::new(stop_sender);
    let signals = tokio::spawn({
        let stop_sender = Arc::clone(&stop_sender);
        async move {
            shutdown_signal().await;
            stop_sender.send_replace(true);
        }
    });
    let result = load_and_serve(facts, plan, listen, &stop_sender, stop).await;
    signals.abort();
    result
}

async fn load_and_serve(
    facts: &Facts,
    plan: LoadPlan,
    listen: Option<SocketAddr>,
    stop_sender: &watch::Sender<bool>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let listener = bind_public(listen).await?;
    let local = listener
        .local_addr()
        .context("reading the address listened on")?;
    let url = reachable_url(local);
    let demo_dir = facts.data_dir.join(DEMO_DIR);
    let bound = witnesses::BoundWitnesses::bind(
        &demo_dir.join("keys"),
        &demo_dir.join("witnesses"),
        facts.seed,
    )
    .await?;
    let config = ServerConfig {
        listen: local,
        data_dir: facts.data_dir.clone(),
        admin_vkey: Some(plan.admin.signer.verifier().to_vkey()),
        witnesses: bound.configs(),
        ..ServerConfig::default()
    };
    let service = Service::open(config, Arc::new(NoAppliedEntries))
        .await
        .with_context(|| format!("opening the data directory {}", facts.data_dir.display()))?;
    let witnesses = bound.serve(&service.state().log_verifier());
    let result = load_and_serve_with(facts, plan, service, listener, &url, stop_sender, stop).await;
    // The service has stopped (and with it its cosigning): the witnesses may go.
    witnesses.stop().await;
    result
}

/// [`load_and_serve`] once the service and its witnesses run.
async fn load_and_serve_with(
    facts: &Facts,
    plan: LoadPlan,
    service: Service,
    listener: TcpListener,
    url: &str,
    stop_sender: &watch::Sender<bool>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let plan = Arc::new(plan);
    let loaded = match load(&service, Arc::clone(&plan), stop.clone()).await {
        Ok(loaded) => loaded,
        Err(error) => {
            if let Err(stopping) = service.shutdown().await {
                tracing::warn!(error = %stopping, "stopping the service after a failed load");
            }
            return Err(error);
        }
    };
    let load_time = started.elapsed();
    let log_vkey = service.state().log_verifier().to_vkey();
    if let Err(error) = write_output(Some(&facts.files.log_vkey), |out| {
        writeln!(out, "{log_vkey}")
            .with_context(|| format!("writing {}", facts.files.log_vkey.display()))
    }) {
        if let Err(stopping) = service.shutdown().await {
            tracing::warn!(error = %stopping, "stopping the service");
        }
        return Err(error);
    }

    let shutdown = {
        let mut stop = stop.clone();
        async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }
    };
    let server = tokio::spawn(truce_server::serve(service, listener, shutdown));
    let summary = {
        let url = url.to_owned();
        let agreement_id = plan.agreement_id.clone();
        tokio::task::spawn_blocking(move || summary::fetch(&url, &agreement_id))
            .await
            .context("the task reading the summary failed")
            .and_then(|summary| summary)
    };
    let printed = summary.and_then(|summary| {
        let text = render(facts, &plan, &loaded, &summary, load_time, url);
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .context("writing to standard output")
    });
    if printed.is_err() || facts.exit_when_ready {
        stop_sender.send_replace(true);
    }
    let served = server
        .await
        .context("the serving task failed")?
        .context("serving");
    printed?;
    served
}

/// Submits the plan through a loopback listener of the service's own router, stopped
/// afterwards; ends early on a signal.
async fn load(
    service: &Service,
    plan: Arc<LoadPlan>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Loaded> {
    let loader = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .context("listening on a loopback port to load the demo")?;
    let loader_url = format!(
        "http://{}",
        loader
            .local_addr()
            .context("reading the loopback address")?
    );
    let (stop_loader, loader_stopped) = oneshot::channel::<()>();
    let loader_server = axum::serve(loader, truce_server::app(service.state()))
        .with_graceful_shutdown(async move {
            let _ = loader_stopped.await;
        });
    let loader_task = tokio::spawn(async move { loader_server.await });
    // Until the writer has logged the admin's registration, the admin's key is unknown.
    let ready = tokio::select! {
        ready = service.wait_ready(READY_TIMEOUT) => ready,
        _ = stop.wait_for(|stopped| *stopped) => false,
    };
    if !ready {
        let _ = stop_loader.send(());
        let _ = loader_task.await;
        bail!(
            "the service did not become ready within {} s (or was interrupted)",
            READY_TIMEOUT.as_secs()
        );
    }
    let bar = progress(plan.reports.len());
    let cancelled = Arc::new(AtomicBool::new(false));
    let mut submitting = tokio::task::spawn_blocking({
        let bar = bar.clone();
        let cancelled = Arc::clone(&cancelled);
        move || load::submit(&loader_url, &plan, &bar, &cancelled)
    });
    let loaded = tokio::select! {
        joined = &mut submitting => joined
            .context("the loading task failed")
            .and_then(|loaded| loaded),
        _ = stop.wait_for(|stopped| *stopped) => {
            // Let the request in flight be answered, and send no other.
            cancelled.store(true, Ordering::Release);
            let _ = tokio::time::timeout(CANCEL_TIMEOUT, &mut submitting).await;
            Err(anyhow!("interrupted while loading"))
        }
    };
    bar.finish_and_clear();
    let _ = stop_loader.send(());
    match loader_task.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "the loopback listener of the load failed"),
        Err(error) => tracing::warn!(%error, "the loopback listener of the load panicked"),
    }
    loaded
}

/// Binds `requested`, or the default address, falling back to a free port when it is taken.
async fn bind_public(requested: Option<SocketAddr>) -> anyhow::Result<TcpListener> {
    if let Some(address) = requested {
        return TcpListener::bind(address)
            .await
            .with_context(|| format!("listening on {address} (--listen)"));
    }
    match TcpListener::bind(DEFAULT_LISTEN).await {
        Ok(listener) => Ok(listener),
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "note: {DEFAULT_LISTEN} is in use; listening on a free port instead (choose one with --listen)"
            );
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .await
                .context("listening on a free port of 127.0.0.1")
        }
        Err(error) => Err(error).with_context(|| format!("listening on {DEFAULT_LISTEN}")),
    }
}

/// The URL a client on this machine reaches `local` at (`0.0.0.0` and `::` become loopback).
fn reachable_url(local: SocketAddr) -> String {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, local.port()))
}

/// A progress bar on standard error when it is a terminal; hidden otherwise.
fn progress(reports: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(u64::try_from(reports).unwrap_or(u64::MAX));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// The text printed once the demo serves.
fn render(
    facts: &Facts,
    plan: &LoadPlan,
    loaded: &Loaded,
    summary: &Summary,
    load_time: Duration,
    url: &str,
) -> String {
    let mut text = String::new();
    let (days, before) = facts.scenario_days;
    let left_out = facts.simulated.saturating_sub(loaded.reports);
    let count_kind = |kind: SourceKind| {
        plan.keys
            .iter()
            .filter(|key| key.source.kind == kind)
            .count()
    };
    let _ = writeln!(
        text,
        "truce demo: seed {}, {days} simulated days, {before} before the agreement and {} under it",
        facts.seed,
        days.saturating_sub(before)
    );
    let _ = writeln!(
        text,
        "  agreement:  {} ({}), from {} to {}",
        plan.agreement_id, facts.agreement_name, facts.agreement_window.0, facts.agreement_window.1
    );
    let _ = writeln!(
        text,
        "  reports:    {} submitted, signed by {} party and {} monitor keys ({} simulated; {left_out} media, OSINT and public reports left out: those sources read, they do not submit)",
        loaded.reports,
        count_kind(SourceKind::Party),
        count_kind(SourceKind::Monitor),
        facts.simulated,
    );
    let _ = writeln!(text, "  incidents:  {}", summary.incidents);
    let _ = writeln!(text, "  findings:   {}", summary.findings_line());
    let _ = writeln!(
        text,
        "  log:        size {}, root {}",
        summary.log_size, summary.log_root
    );
    let _ = writeln!(
        text,
        "  digest:     {} (the findings by party, verdict, day and zone)",
        summary.findings_digest
    );
    let _ = writeln!(
        text,
        "  loaded in:  {:.1} s ({} signed requests)",
        load_time.as_secs_f64(),
        loaded.requests
    );
    let _ = writeln!(
        text,
        "  data:       {}{}",
        facts.data_dir.display(),
        if facts.data_kept {
            ""
        } else {
            " (removed on exit; --keep keeps it)"
        }
    );
    let _ = writeln!(
        text,
        "  keys:       {} (derived from the seed: for this demo only)",
        facts.files.keys.display()
    );
    for (label, kinds) in [
        ("admin", &[][..]),
        ("parties", &[SourceKind::Party][..]),
        ("monitors", &[SourceKind::Monitor][..]),
        ("readers", &[SourceKind::Media, SourceKind::Osint][..]),
    ] {
        let names: Vec<String> = if kinds.is_empty() {
            vec![key_file(&plan.admin)]
        } else {
            plan.keys
                .iter()
                .filter(|key| kinds.contains(&key.source.kind))
                .map(key_file)
                .collect()
        };
        let _ = writeln!(text, "              {label}: {}", names.join(" "));
    }
    if facts.exit_when_ready {
        let _ = writeln!(text, "ready at {url}; stopping (--exit-when-ready)");
        return text;
    }
    let truce = program();
    let agreement = summary::path_segment(&plan.agreement_id);
    let files = &facts.files;
    let _ = writeln!(text);
    let _ = writeln!(text, "Serving {url} (Ctrl-C stops it). Try:");
    let _ = writeln!(
        text,
        "  curl -s '{url}/v1/agreements/{agreement}/statistics?group_by=party,verdict'"
    );
    let _ = writeln!(
        text,
        "  curl -s '{url}/v1/agreements/{agreement}/incidents?verdict=violation&limit=3'"
    );
    let _ = writeln!(text, "  curl -s {url}/v1/log/checkpoint");
    let _ = writeln!(
        text,
        "  {truce} log verify {url}/v1/log --vkey {}",
        shell_word(&files.log_vkey)
    );
    let _ = writeln!(
        text,
        "  {truce} log verify {} --vkey {}",
        shell_word(&facts.data_dir.join(truce_server::LOG_DIR)),
        shell_word(&files.log_vkey)
    );
    if let Some((report, key)) = &files.extra_report {
        let _ = writeln!(
            text,
            "  {truce} submit --key {} --url {url} reports {} --agreement {}",
            shell_word(key),
            shell_word(report),
            plan.agreement_id
        );
    }
    let _ = writeln!(
        text,
        "  {truce} report {} {} --out truce-demo-report.html",
        shell_word(&files.agreement),
        shell_word(&files.reports)
    );
    text
}

fn key_file(key: &DemoKey) -> String {
    key.private_path.file_name().map_or_else(
        || key.name().to_owned(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// How to call this program in a printed command: `truce` when that name on the `PATH` is
/// this program, else its full path.
fn program() -> String {
    let Ok(current) = std::env::current_exe() else {
        return "truce".to_owned();
    };
    let current = current.canonicalize().unwrap_or(current);
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            dir.join("truce")
                .canonicalize()
                .is_ok_and(|found| found == current)
        })
    });
    if on_path {
        "truce".to_owned()
    } else {
        shell_word(&current)
    }
}

/// A path as one shell word: as is when it needs no quoting, else in single quotes.
fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_' | ':' | '+' | '=')
        });
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_reached_on_loopback() {
        assert_eq!(
            reachable_url("0.0.0.0:8080".parse().unwrap_or(DEFAULT_LISTEN)),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            reachable_url("[::]:9000".parse().unwrap_or(DEFAULT_LISTEN)),
            "http://[::1]:9000"
        );
        assert_eq!(reachable_url(DEFAULT_LISTEN), "http://127.0.0.1:8080");
    }

    #[test]
    fn paths_are_quoted_only_when_needed() {
        assert_eq!(shell_word(Path::new("/tmp/a-b/c.key")), "/tmp/a-b/c.key");
        assert_eq!(
            shell_word(Path::new("/tmp/a b/it's")),
            r"'/tmp/a b/it'\''s'"
        );
    }

    #[test]
    fn a_non_empty_data_directory_is_refused() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("no temporary directory");
        };
        assert!(std::fs::write(dir.path().join("x"), "x").is_ok());
        let error = DataLocation::new(Some(dir.path()))
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("not empty"), "{error}");
        let fresh = dir.path().join("fresh");
        assert!(DataLocation::new(Some(&fresh)).is_ok());
        assert!(fresh.is_dir());
    }
}
