//! `truce serve`: the HTTP service on one data directory.
//!
//! Settings come in three layers, each overriding the one before: the TOML
//! configuration file (`truce_server::ServerConfig`; every key optional),
//! then `TRUCE_*` environment variables, then flags. Once the listener is
//! bound the URL is printed on one line to standard output (with
//! `--listen 127.0.0.1:0`, the port actually chosen), so scripts can read it;
//! `/readyz` says when the store has caught up with the log. SIGINT or
//! SIGTERM stop it gracefully: no new connections, every request in flight
//! (submissions waiting for the writer included) is answered, the writer
//! drains its queue and the store is closed.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use truce_server::{DatabaseUrl, RecordPlace, ServerConfig, WitnessConfig};

use crate::key_cmd::read_verifier;

/// Run the HTTP service on one data directory.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The data directory (log, journal, blobs, and the SQLite store unless --database);
    /// created on first start.
    /// Overrides `data_dir` of the configuration file.
    #[arg(long, env = "TRUCE_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Where the store lives: `postgres://USER:PASSWORD@HOST:PORT/DB` for PostgreSQL (with
    /// PostGIS), or `sqlite:` for SQLite in the data directory; the log stays in the data
    /// directory unless --record database [config: database; default: SQLite in the data
    /// directory].
    #[arg(
        long,
        env = "TRUCE_DATABASE",
        value_name = "URL",
        hide_env_values = true
    )]
    database: Option<String>,
    /// A read replica of the PostgreSQL --database (a hot standby, `postgres://…`): the
    /// read-only endpoints that query the store read from it, and their answers say which
    /// store size they reflect (`Truce-Store-Size`); writes and everything else use
    /// --database [config: read_database; default: none, reads use --database].
    #[arg(
        long,
        env = "TRUCE_READ_DATABASE",
        value_name = "URL",
        hide_env_values = true
    )]
    read_database: Option<String>,
    /// Where the record (log, journal, report texts) is kept: `data_dir`, or `database` to
    /// keep it in the PostgreSQL --database, where one instance at a time appends under
    /// the sequencer lease; the others follow the log, serve reads, forward writes to it and
    /// take over when its lease lapses [config: record; default data_dir].
    #[arg(long, env = "TRUCE_RECORD", value_name = "PLACE")]
    record: Option<RecordPlace>,
    /// With --record database: how long the sequencer lease lasts unrenewed, in
    /// milliseconds [config: sequencer_lease_ms; default 10000].
    #[arg(long, env = "TRUCE_SEQUENCER_LEASE_MS", value_name = "MS")]
    sequencer_lease_ms: Option<u64>,
    /// With --record database: the base URL (`http://HOST:PORT`) the other instances forward
    /// writes to while this one is the sequencer [config: advertise_url; default http:// and
    /// the listening address, none for a wildcard address].
    #[arg(long, env = "TRUCE_ADVERTISE_URL", value_name = "URL")]
    advertise_url: Option<String>,
    /// With --record database, while another instance is the sequencer: how often to look for
    /// new entries and a free lease, in milliseconds [config: follow_interval_ms; default 250].
    #[arg(long, env = "TRUCE_FOLLOW_INTERVAL_MS", value_name = "MS")]
    follow_interval_ms: Option<u64>,
    /// A TOML configuration file (the keys of docs/service.md; unknown keys are refused).
    #[arg(long, env = "TRUCE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The address to listen on (`127.0.0.1:0` picks a free port) [config: listen;
    /// default 127.0.0.1:8080].
    #[arg(long, env = "TRUCE_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// The admin's public key: a `.pub` file or the key text. Required on first start
    /// [config: admin_vkey].
    #[arg(long, env = "TRUCE_ADMIN_KEY", value_name = "FILE.pub")]
    admin_key: Option<String>,
    /// The log's origin line, fixed on first start [config: log_origin; default
    /// truce.local/log].
    #[arg(long, env = "TRUCE_LOG_ORIGIN", value_name = "ORIGIN")]
    log_origin: Option<String>,
    /// Largest accepted clock difference of a signed request, in milliseconds
    /// [config: max_skew_ms; default 300000].
    #[arg(long, env = "TRUCE_MAX_SKEW_MS", value_name = "MS")]
    max_skew_ms: Option<u64>,
    /// Sustained signed requests per second per key [config: rate_limit.per_second;
    /// default 200].
    #[arg(long, env = "TRUCE_RATE_PER_SECOND", value_name = "N")]
    rate_per_second: Option<f64>,
    /// Requests a key may make at once after being idle [config: rate_limit.burst;
    /// default 400].
    #[arg(long, env = "TRUCE_RATE_BURST", value_name = "N")]
    rate_burst: Option<u32>,
    /// Requests handled at once; beyond, 503 [config: max_concurrent_requests; default 1024].
    #[arg(long, env = "TRUCE_MAX_CONCURRENT_REQUESTS", value_name = "N")]
    max_concurrent_requests: Option<usize>,
    /// Submissions waiting for the writer; beyond, 503 [config: writer.queue; default 4096].
    #[arg(long, env = "TRUCE_WRITER_QUEUE", value_name = "N")]
    writer_queue: Option<usize>,
    /// Most entries appended in one durable batch [config: writer.max_batch_entries;
    /// default 1024].
    #[arg(long, env = "TRUCE_MAX_BATCH_ENTRIES", value_name = "N")]
    max_batch_entries: Option<usize>,
    /// How long the writer waits to fill a batch, in milliseconds
    /// [config: writer.max_batch_latency_ms; default 5].
    #[arg(long, env = "TRUCE_MAX_BATCH_LATENCY_MS", value_name = "MS")]
    max_batch_latency_ms: Option<u64>,
    /// A witness that cosigns the log's checkpoints: its URL, `=`, and its verifier key (the
    /// key text or a `.pub` file). Repeat for each witness; all must cosign. Given on the
    /// command line, they replace the configuration file's [config: witnesses].
    #[arg(long = "witness", value_name = "URL=VKEY")]
    witnesses: Vec<String>,
    /// Worker threads of the runtime [default: the number of cores].
    #[arg(long, env = "TRUCE_WORKER_THREADS", value_name = "N")]
    worker_threads: Option<usize>,
}

/// Runs `truce serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = settle_config(&args)?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.worker_threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let database = config.database.clone();
    let read_database = config.read_database.clone();
    runtime
        .block_on(serve(config))
        .map_err(|error| scrub_error(error, database.as_ref()))
        .map_err(|error| scrub_error(error, read_database.as_ref()))?;
    Ok(ExitCode::SUCCESS)
}

/// `error` with the database URL's password taken out of every message of its chain
/// (the service's own messages never hold it; a driver's might quote the URL).
pub(crate) fn scrub_error(error: anyhow::Error, database: Option<&DatabaseUrl>) -> anyhow::Error {
    match database {
        Some(url) => {
            let text = format!("{error:#}");
            let scrubbed = url.scrub(&text);
            if scrubbed == text {
                error
            } else {
                anyhow::Error::msg(scrubbed)
            }
        }
        None => error,
    }
}

/// The configuration: the file, then the environment and flags (clap has already let a
/// flag win over its variable).
fn settle_config(args: &ServeArgs) -> anyhow::Result<ServerConfig> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the configuration file {}", path.display()))?;
            ServerConfig::from_toml(&text)
                .with_context(|| format!("in the configuration file {}", path.display()))?
        }
        None => ServerConfig::default(),
    };
    if let Some(data) = &args.data {
        config.data_dir.clone_from(data);
    }
    if let Some(database) = &args.database {
        config.database = Some(DatabaseUrl::new(database.trim()));
    }
    if let Some(read_database) = &args.read_database {
        config.read_database = Some(DatabaseUrl::new(read_database.trim()));
    }
    if let Some(record) = args.record {
        config.record = record;
    }
    if let Some(url) = &args.advertise_url {
        config.advertise_url = Some(url.clone());
    }
    if let Some(every) = args.follow_interval_ms {
        config.follow_interval_ms = every;
    }
    if let Some(lease) = args.sequencer_lease_ms {
        config.sequencer_lease_ms = lease;
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(admin) = &args.admin_key {
        let verifier = read_verifier(admin, "public key of the admin (--admin-key)")?;
        config.admin_vkey = Some(verifier.to_vkey());
    }
    if let Some(origin) = &args.log_origin {
        config.log_origin.clone_from(origin);
    }
    if let Some(skew) = args.max_skew_ms {
        config.max_skew_ms = skew;
    }
    if let Some(rate) = args.rate_per_second {
        config.rate_limit.per_second = rate;
    }
    if let Some(burst) = args.rate_burst {
        config.rate_limit.burst = burst;
    }
    if let Some(limit) = args.max_concurrent_requests {
        config.max_concurrent_requests = limit;
    }
    if let Some(queue) = args.writer_queue {
        config.writer.queue = queue;
    }
    if let Some(entries) = args.max_batch_entries {
        config.writer.max_batch_entries = entries;
    }
    if let Some(latency) = args.max_batch_latency_ms {
        config.writer.max_batch_latency_ms = latency;
    }
    if !args.witnesses.is_empty() {
        config.witnesses = args
            .witnesses
            .iter()
            .map(|witness| parse_witness(witness))
            .collect::<anyhow::Result<_>>()?;
    }
    config
        .validate()
        .context("the settings from the configuration file, TRUCE_* variables and flags")?;
    Ok(config)
}

/// `URL=VKEY` of `--witness`, the key given as text or as a file.
fn parse_witness(text: &str) -> anyhow::Result<WitnessConfig> {
    let (url, vkey) = text
        .split_once('=')
        .with_context(|| format!("--witness {text:?} is not URL=VKEY"))?;
    let key = read_verifier(vkey, "witness verifier key (--witness URL=VKEY)")?;
    Ok(WitnessConfig {
        url: url.trim().to_owned(),
        vkey: key.to_vkey(),
    })
}

async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let listen = config.listen;
    let data_dir = config.data_dir.clone();
    let database = config.database.as_ref().map_or_else(
        || "SQLite in the data directory".to_owned(),
        DatabaseUrl::redacted,
    );
    let read_database = config
        .read_database
        .as_ref()
        .map_or_else(|| "none".to_owned(), DatabaseUrl::redacted);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let local = listener
        .local_addr()
        .context("reading the address listened on")?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "http://{local}")
            .and_then(|()| stdout.flush())
            .context("writing to standard output")?;
    }
    tracing::info!(data = %data_dir.display(), database = %database, read_database = %read_database, url = %format!("http://{local}"), "listening; /readyz answers 200 once the store has caught up with the log");
    // With the record in the database and another instance the sequencer, this one follows
    // the log until the lease is free.
    truce_server::run_on(config, listener, shutdown_signal())
        .await
        .with_context(|| format!("serving the data directory {}", data_dir.display()))?;
    Ok(())
}

/// Completes on SIGINT or (on Unix) SIGTERM.
pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT: stopping after the requests in flight"),
        () = terminate => tracing::info!("SIGTERM: stopping after the requests in flight"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Harness {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn flags_override_the_file_and_the_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("truce.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from/file\"\n[rate_limit]\nper_second = 7.0\nburst = 9\n",
        )
        .unwrap();
        let harness = Harness::parse_from([
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--data",
            "/from/flag",
            "--rate-burst",
            "11",
        ]);
        let config = settle_config(&harness.serve).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(config.listen.port(), 9000);
        assert!((config.rate_limit.per_second - 7.0).abs() < f64::EPSILON);
        assert_eq!(config.rate_limit.burst, 11);
        assert_eq!(config.writer, truce_server::WriterConfig::default());
    }

    #[test]
    fn the_record_goes_to_the_database_only_beside_a_postgres_store() {
        let harness = Harness::parse_from([
            "serve",
            "--database",
            "postgres://db/truce",
            "--record",
            "database",
            "--sequencer-lease-ms",
            "4000",
        ]);
        let config = settle_config(&harness.serve).unwrap();
        assert_eq!(config.record, RecordPlace::Database);
        assert_eq!(config.sequencer_lease_ms, 4000);
        let harness = Harness::parse_from(["serve", "--record", "database"]);
        let error = format!("{:#}", settle_config(&harness.serve).unwrap_err());
        assert!(error.contains("record"), "{error}");
        assert!(Harness::try_parse_from(["serve", "--record", "disk"]).is_err());
        let harness = Harness::parse_from(["serve"]);
        assert_eq!(
            settle_config(&harness.serve).unwrap().record,
            RecordPlace::DataDir
        );
    }

    #[test]
    fn the_database_comes_from_the_file_or_the_flag_and_is_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("truce.toml");
        std::fs::write(
            &file,
            "database = \"postgres://truce:from-file-pw@db/truce\"\n",
        )
        .unwrap();
        let harness = Harness::parse_from(["serve", "--config", file.to_str().unwrap()]);
        let config = settle_config(&harness.serve).unwrap();
        assert_eq!(
            config.database.as_ref().map(DatabaseUrl::expose),
            Some("postgres://truce:from-file-pw@db/truce")
        );
        let harness = Harness::parse_from([
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--database",
            "postgres://truce:flag-pw@other/truce",
        ]);
        let config = settle_config(&harness.serve).unwrap();
        let url = config.database.clone().unwrap();
        assert_eq!(url.expose(), "postgres://truce:flag-pw@other/truce");
        assert!(!format!("{config:?}").contains("flag-pw"));
        let error = scrub_error(
            anyhow::anyhow!("cannot reach postgres://truce:flag-pw@other/truce"),
            Some(&url),
        );
        assert_eq!(
            error.to_string(),
            "cannot reach postgres://truce:***@other/truce"
        );
        let harness = Harness::parse_from(["serve"]);
        assert_eq!(settle_config(&harness.serve).unwrap().database, None);
    }

    #[test]
    fn the_read_database_comes_from_the_file_or_the_flag_and_needs_postgres() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("truce.toml");
        std::fs::write(
            &file,
            "database = \"postgres://truce:pw@db/truce\"\n\
             read_database = \"postgres://reader:file-pw@standby-1/truce\"\n",
        )
        .unwrap();
        let harness = Harness::parse_from(["serve", "--config", file.to_str().unwrap()]);
        let config = settle_config(&harness.serve).unwrap();
        assert_eq!(
            config.read_database.as_ref().map(DatabaseUrl::expose),
            Some("postgres://reader:file-pw@standby-1/truce")
        );
        let harness = Harness::parse_from([
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--read-database",
            "postgres://reader:flag-pw@standby-2/truce",
        ]);
        let config = settle_config(&harness.serve).unwrap();
        let url = config.read_database.clone().unwrap();
        assert_eq!(url.expose(), "postgres://reader:flag-pw@standby-2/truce");
        assert!(!format!("{config:?}").contains("flag-pw"));
        // Without a PostgreSQL --database: refused, the password left out.
        let harness = Harness::parse_from([
            "serve",
            "--read-database",
            "postgres://reader:flag-pw@standby-2/truce",
        ]);
        let error = format!("{:#}", settle_config(&harness.serve).unwrap_err());
        assert!(error.contains("read_database"), "{error}");
        assert!(error.contains("needs a PostgreSQL `database`"), "{error}");
        assert!(!error.contains("flag-pw"), "{error}");
    }

    #[test]
    fn witnesses_come_from_the_file_or_repeated_flags() {
        let dir = tempfile::tempdir().unwrap();
        let key = |name: &str, seed: u8| {
            truce_note::Cosigner::from_seed(truce_note::KeyName::new(name).unwrap(), &[seed; 32])
                .verifier()
                .to_vkey()
        };
        let (ua, ru) = (key("witness.ua.example", 1), key("witness.ru.example", 2));
        let file = dir.path().join("truce.toml");
        std::fs::write(
            &file,
            format!("[[witnesses]]\nurl = \"http://127.0.0.1:1\"\nvkey = \"{ua}\"\n"),
        )
        .unwrap();
        let harness = Harness::parse_from(["serve", "--config", file.to_str().unwrap()]);
        let config = settle_config(&harness.serve).unwrap();
        assert_eq!(config.witnesses.len(), 1);
        assert_eq!(config.witnesses[0].vkey, ua);
        let ru_file = dir.path().join("ru.pub");
        std::fs::write(&ru_file, format!("{ru}\n")).unwrap();
        let harness = Harness::parse_from([
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--witness",
            &format!("http://127.0.0.1:2={ua}"),
            "--witness",
            &format!("http://127.0.0.1:3={}", ru_file.display()),
        ]);
        let config = settle_config(&harness.serve).unwrap();
        let urls: Vec<&str> = config.witnesses.iter().map(|w| w.url.as_str()).collect();
        assert_eq!(urls, ["http://127.0.0.1:2", "http://127.0.0.1:3"]);
        assert_eq!(config.witnesses[1].vkey, ru);
        let harness = Harness::parse_from(["serve", "--witness", "http://127.0.0.1:2"]);
        let error = settle_config(&harness.serve).unwrap_err();
        assert!(format!("{error:#}").contains("URL=VKEY"), "{error:#}");
    }

    #[test]
    fn bad_settings_name_their_field() {
        let harness = Harness::parse_from(["serve", "--writer-queue", "0"]);
        let error = settle_config(&harness.serve).unwrap_err();
        assert!(
            format!("{error:#}").contains("writer.queue = 0"),
            "{error:#}"
        );
        let harness = Harness::parse_from(["serve", "--admin-key", "not a key"]);
        let error = settle_config(&harness.serve).unwrap_err();
        assert!(format!("{error:#}").contains("--admin-key"), "{error:#}");
    }
}
