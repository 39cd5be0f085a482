//! The truce service behind `truce serve`: parties and monitors submit signed
//! reports over HTTP and get receipts from the log; analysts and the public
//! read; anyone can fetch the log and verify it.
//!
//! # Shape
//!
//! * One data directory ([`DataDir`]): the log (`log/`, c2sp.org/tlog-tiles,
//!   signed with `log.key`), the bodies it commits to (`blobs/`), the entry
//!   journal (`journal.jsonl`) and, by default, the SQLite store
//!   (`truce.sqlite3`); [`ServerConfig::database`] may put the store in
//!   PostgreSQL instead (`truce_store::AnyStore`), the rest staying in the
//!   directory, and [`ServerConfig::record`] ([`RecordPlace::Database`]) may
//!   put the log, the journal and the bodies in that database too, where one
//!   instance at a time appends under a fenced sequencer lease; the others,
//!   run by [`run_on`], follow the log, serve reads and forward writes to
//!   it, and take the lease over when it is free (see `record.rs`,
//!   `sequencer.rs` and `follower.rs`). **The log is the source of truth**; the store is its
//!   projection.
//! * Handlers check the signature (truce-auth), the role and the body, build
//!   log entries, and hand them to **one writer task** over a bounded queue
//!   (full: 503 with `Retry-After`). The writer commits groups of submissions
//!   durably (journal, then the log's checkpoint as the commit point, then
//!   the store in one transaction) before anyone is answered; see
//!   [`writer`](crate::writer) and [`projection`](crate::projection) for the
//!   conventions that map format-1 entries to roles, revocations and
//!   records.
//! * Reads come from the store and the log; the signature (or its absence:
//!   the public) decides what is shown ([`views`](crate::views)).
//! * Incidents and findings are kept live ([`live`](crate::live)): one
//!   incremental engine state per agreement version, fed each applied batch
//!   before its submitters are answered, rebuilt from the store and the log
//!   on start; they equal a batch `truce assess` over the same reports.
//! * [`replay_data_dir`] reads a data directory without the service (while it
//!   runs, or a restored backup): the log replayed into memory the way the
//!   service rebuilds its state, for `truce report --data`.
//! * [`migrate`] moves a data directory's store to another backend (`truce
//!   migrate`): its log replayed into an empty store as the catch-up does, then
//!   the two stores compared query by query.
//! * With witnesses configured ([`ServerConfig::witnesses`]), a background
//!   task has them cosign the latest checkpoint after the log grows and
//!   publishes `checkpoint.cosigned` in the log directory (`truce-cosign`,
//!   as `truce log cosign` does); failures are logged and retried, never
//!   holding up submissions.
//! * Errors are RFC 9457 problem documents ([`ApiError`], [`Problem`]) naming
//!   the field at fault.
//! * The OpenAPI 3.1 document is generated from the handlers ([`openapi`])
//!   and served at `/v1/openapi.json`.
//!
//! # Endpoints
//!
//! | method and path | who | what |
//! | --- | --- | --- |
//! | `POST /v1/sources` | admin | register a key: `{vkey, kind, party?, role?}` |
//! | `POST /v1/sources/{name}/revoke` | admin | revoke a key |
//! | `GET /v1/sources` | admin, monitor, analyst (all); party (its own) | registered keys |
//! | `POST /v1/agreements` | admin | an agreement version (TOML, or JSON `{toml, files}`) |
//! | `GET /v1/agreements`, `GET /v1/agreements/{id}?version=` | anyone | agreement versions, text |
//! | `POST /v1/reports`, `POST /v1/reports/batch` | admin, monitor, party | reports (JSON Lines shape + `agreement`) |
//! | `GET /v1/reports/{index}`, `GET /v1/reports?agreement&zone&party&actor&source_kind&from&to&bbox&verdict&interpretation&cursor&limit` | anyone, redacted by role | reports |
//! | `GET /v1/agreements/{id}/incidents?version&interpretation&verdict&party&zone&from&to&bbox&cursor&limit` | anyone, redacted by role | live incidents with their findings |
//! | `GET /v1/agreements/{id}/incidents/{incident_id}?version` | anyone, redacted by role | an incident, its findings (reasons in words) and member reports |
//! | `GET /v1/agreements/{id}/statistics?version&interpretation&group_by=party,verdict,day,zone` | anyone | counts of findings |
//! | `POST /v1/reviews`, `/v1/contests`, `/v1/coverage`, `/v1/retractions` | per truce-auth's table | annotations |
//! | `GET /v1/annotations?subject=` | anyone, authors for identity readers | annotations |
//! | `GET /v1/log/checkpoint`, `/v1/log/tile/{path}`, `/v1/log/entries`, `/v1/log/proof/inclusion`, `/v1/log/proof/consistency` | anyone | the log |
//! | `GET /v1/log/checkpoint/cosigned`, `GET /v1/log/witnesses` | anyone | the latest checkpoint every configured witness cosigned; the witnesses' keys and the sizes they last cosigned |
//! | `GET /healthz`, `GET /readyz`, `GET /v1/openapi.json` | anyone | operations |
//! | `GET /`, `GET /assets/{file}` | anyone | the dashboard and its assets ([`dashboard`]) |
//! | `GET /v1/geography`, `GET /v1/agreements/{id}/zones?version=` | anyone | the dashboard's basemap and an agreement's zones, GeoJSON |
//! | `GET /v1/events` | anyone | server-sent events: the log size each time more entries are in the store and the findings |
//! | `GET /v1/agreements/{id}/parties?version=`, `GET /v1/log/vkey` | anyone | an agreement version's parties; the log's verifier key (the dashboard's proof check) |
//!
//! A submission answers 201 with a receipt per entry (index, inclusion proof,
//! signed checkpoint, and the c2sp.org/tlog-proof text); the same signed
//! request resent answers 200 with the same receipts (see
//! [`auth`](crate::auth) for how retries and the replay window interact).
//!
//! # Running
//!
//! ```no_run
//! # async fn example() -> Result<(), truce_server::ServerError> {
//! let config = truce_server::ServerConfig {
//!     data_dir: "/var/lib/truce".into(),
//!     admin_vkey: Some("mission.example/admin+1a2b3c4d+AQ...".into()),
//!     ..truce_server::ServerConfig::default()
//! };
//! truce_server::run(config, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await
//! # }
//! ```
//!
//! On shutdown the listener stops accepting, requests in flight (including
//! submissions waiting for the writer) are answered, the writer drains its
//! queue, and the store is closed.

mod api;
mod auth;
mod changes;
mod config;
mod cosigning;
pub mod dashboard;
mod data_dir;
mod error;
mod follower;
mod journal;
mod live;
pub mod migrate;
mod projection;
mod rate_limit;
mod receipt_index;
mod record;
mod registry;
mod replay;
mod sequencer;
mod state;
mod views;
mod writer;

use std::future::Future;
use std::sync::Arc;

pub use api::{app, openapi};
pub use config::{
    BodyLimits, ConfigError, DatabaseUrl, RateLimitConfig, RecordPlace, ServerConfig,
    WitnessConfig, WriterConfig, redact_url,
};
pub use data_dir::{BLOB_DIR, DataDir, JOURNAL_FILE, LOG_DIR, LOG_KEY_FILE};
pub use error::{ApiError, FieldProblem, PROBLEM_JSON, PROBLEM_TYPE_PREFIX, Problem, ServerError};
pub use projection::{REVOKED_KEY, role_for};
pub use replay::{
    ReplayError, Replayed, ReplayedAgreement, ReplayedCoverage, ReplayedReport, ReplayedRetraction,
    replay_data_dir,
};
pub use state::{AppState, AppliedEntries, NoAppliedEntries, Service};
pub use views::{
    AgreementDetail, AgreementList, AgreementSubmission, AgreementView, AnnotationList,
    AnnotationView, CasualtiesView, ConsistencyProofView, ContestView, FindingVersionView,
    FindingView, Health, IncidentDetail, IncidentPage, IncidentView, InclusionProofView,
    LocationView, LogEntries, LogEntryView, ReceiptView, ReportPage, ReportView, SourceList,
    SourceRefView, SourceRegistrationRequest, SourceView, StatisticsRow, StatisticsView, Submitted,
};

/// Opens the data directory of `config`, listens on `config.listen` and
/// serves until `shutdown` completes; then answers the requests in flight,
/// lets the writer finish and closes the store.
///
/// # Errors
///
/// [`ServerError`] when the service cannot open its data directory or bind
/// its address, or when serving fails.
pub async fn run(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listen = config.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServerError::Listen {
            address: listen.to_string(),
            source,
        })?;
    run_on(config, listener, shutdown).await
}

/// Opens the service of `config` and serves it on `listener` until
/// `shutdown` completes (see [`run`]).
///
/// With the record in the database ([`RecordPlace::Database`]) the instance
/// becomes the sequencer if the lease is free. Otherwise it **follows** the
/// log: it serves reads at once (live findings included), forwards writes
/// to the sequencer's advertised address, and becomes the sequencer itself
/// once the lease is free, without dropping a connection. Unless
/// `advertise_url` is set, the address advertised is `http://` and the
/// listener's address when that is not a wildcard.
///
/// # Errors
///
/// [`ServerError`] when the service cannot be opened or serving fails.
pub async fn run_on(
    mut config: ServerConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let mut shutdown = Box::pin(shutdown);
    if config.record != RecordPlace::Database {
        let service = tokio::select! {
            opened = Service::open(config, Arc::new(NoAppliedEntries)) => opened?,
            () = &mut shutdown => return Ok(()),
        };
        return serve(service, listener, shutdown).await;
    }
    if config.advertise_url.is_none() {
        match listener.local_addr() {
            Ok(local) if !local.ip().is_unspecified() => {
                config.advertise_url = Some(format!("http://{local}"));
            }
            _ => tracing::warn!(
                "listening on a wildcard address with no advertise_url: while another \
                 instance is the sequencer, writes here are answered 503 instead of forwarded"
            ),
        }
    }
    config.validate()?;
    let every = std::time::Duration::from_millis(config.follow_interval_ms);
    loop {
        let lease = tokio::select! {
            taken = sequencer::try_acquire(&config) => taken?,
            () = &mut shutdown => return Ok(()),
        };
        if let Some(lease) = lease {
            let service = tokio::select! {
                opened = Service::open_with_lease(config.clone(), Arc::new(NoAppliedEntries), lease) => opened?,
                () = &mut shutdown => return Ok(()),
            };
            let role = follower::Role::Sequencer(service);
            return follower::serve_database_record(role, config, listener, shutdown).await;
        }
        let follower = tokio::select! {
            opened = follower::Follower::open(config.clone()) => opened?,
            () = &mut shutdown => return Ok(()),
        };
        match follower {
            Some(follower) => {
                let role = follower::Role::Follower(follower);
                return follower::serve_database_record(role, config, listener, shutdown).await;
            }
            // The sequencer has not published its first checkpoint yet.
            None => tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = &mut shutdown => return Ok(()),
            },
        }
    }
}

/// Serves an opened [`Service`] on `listener` until `shutdown` completes,
/// then shuts it down gracefully (see [`run`]).
///
/// # Errors
///
/// [`ServerError::Listen`] when serving fails, [`ServerError::Task`] when
/// the writer failed.
pub async fn serve(
    service: Service,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let address = listener
        .local_addr()
        .map_or_else(|_| "the listener".to_owned(), |address| address.to_string());
    tracing::info!(%address, "serving");
    let state = service.state();
    // Open event streams end when shutdown begins; a graceful shutdown waits
    // for every connection, and they would otherwise never close.
    let shutdown = async move {
        shutdown.await;
        state.shared.live.changes().close();
    };
    let served = axum::serve(listener, app(service.state()))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| ServerError::Listen {
            address: address.clone(),
            source,
        });
    let stopped = service.shutdown().await;
    tracing::info!(%address, "stopped");
    served.and(stopped)
}
