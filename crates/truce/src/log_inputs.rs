//! Inputs read from a service's data directory (`--data DIR`): the log replayed as the
//! service replays it on start ([`truce_server::replay_data_dir`]), so a batch run judges
//! exactly the reports, reviews and retractions the service judges.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use truce_engine::intake::{Origins, merge};
use truce_engine::review::ReviewIndex;
use truce_model::Report;
use truce_model::ingest::Rejection;
use truce_server::{Replayed, ReplayedAgreement, ReplayedReport, replay_data_dir};

use crate::files::hex;
use crate::inputs::LoadedAgreement;

/// Reads a data directory, read-only, as of its checkpoint.
pub fn replay(dir: &Path) -> anyhow::Result<Replayed> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime
        .block_on(replay_data_dir(dir))
        .with_context(|| format!("reading the data directory {}", dir.display()))
}

/// `ID` or `ID@VERSION`.
pub fn parse_agreement_id(text: &str) -> anyhow::Result<(String, Option<u32>)> {
    match text.split_once('@') {
        None if !text.is_empty() => Ok((text.to_owned(), None)),
        Some((id, version)) if !id.is_empty() => {
            let version = version.parse::<u32>().map_err(|_| {
                anyhow::anyhow!(
                    "--agreement-id `{text}`: the version after `@` must be a whole number"
                )
            })?;
            Ok((id.to_owned(), Some(version)))
        }
        _ => bail!("--agreement-id `{text}`: expected ID or ID@VERSION"),
    }
}

/// The agreement versions `--agreement-id` names, or the log's only agreement at its latest
/// version.
pub fn choose_versions<'r>(
    replayed: &'r Replayed,
    asked: &[String],
    dir: &Path,
) -> anyhow::Result<Vec<&'r ReplayedAgreement>> {
    let ids: BTreeSet<&str> = replayed.agreements.iter().map(|a| a.id.as_str()).collect();
    let known = || {
        ids.iter()
            .map(|id| {
                let versions: Vec<String> = replayed
                    .versions_of(id)
                    .iter()
                    .map(|a| a.version.to_string())
                    .collect();
                format!("{id} (versions {})", versions.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    if ids.is_empty() {
        bail!(
            "the log of {} holds no agreement (at its checkpoint of size {})",
            dir.display(),
            replayed.checkpoint.size()
        );
    }
    let asked: Vec<(String, Option<u32>)> = if asked.is_empty() {
        match ids.iter().next() {
            Some(only) if ids.len() == 1 => vec![((*only).to_owned(), None)],
            _ => bail!(
                "the log holds several agreements: {}; choose one with --agreement-id ID[@VERSION]",
                known()
            ),
        }
    } else {
        asked
            .iter()
            .map(|text| parse_agreement_id(text))
            .collect::<anyhow::Result<_>>()?
    };
    let mut chosen = Vec::new();
    for (id, version) in asked {
        let found = match version {
            Some(version) => replayed
                .versions_of(&id)
                .into_iter()
                .find(|a| a.version == version),
            None => replayed
                .versions_of(&id)
                .into_iter()
                .max_by_key(|a| a.version),
        };
        let Some(found) = found else {
            bail!(
                "--agreement-id: the log has no agreement {id}{}; it holds {}",
                version.map_or_else(String::new, |v| format!(" version {v}")),
                known()
            );
        };
        chosen.push(found);
    }
    Ok(chosen)
}

/// The readings of each chosen agreement version, loaded from the blob store.
pub fn loaded_agreements(
    versions: &[&ReplayedAgreement],
    dir: &Path,
) -> anyhow::Result<Vec<LoadedAgreement>> {
    let mut loaded = Vec::with_capacity(versions.len());
    for version in versions {
        let readings = version.readings.clone().map_err(|reason| {
            anyhow::anyhow!(
                "agreement {} version {} (log entry {}) cannot be read from {}: {reason}",
                version.id,
                version.version,
                version.log_indexes.first().copied().unwrap_or_default(),
                dir.display()
            )
        })?;
        loaded.push(LoadedAgreement {
            name: format!("{} v{} (log)", version.id, version.version),
            readings,
            sha256: version.text_sha256.clone(),
        });
    }
    Ok(loaded)
}

/// An agreement's reports as the service holds them, and the decisions it judges them
/// under.
pub struct LogReports<'r> {
    /// Every report filed under the agreement, in log order (retracted ones included).
    pub filed: Vec<&'r ReplayedReport>,
    /// The same reports merged into canonical order.
    pub reports: Vec<Report>,
    /// Copies of one id that differ (none from a service, which files an id once).
    pub duplicates: Vec<Rejection>,
    /// The log index of each of `reports`.
    pub log_indices: Vec<u64>,
    /// Every review and retraction of the log, applied in log order.
    pub reviews: Arc<ReviewIndex>,
    /// SHA-256 of the reports' canonical encoding, hex.
    pub reports_sha256: String,
}

/// The reports filed under `agreement_id`, with the log's reviews and retractions.
pub fn reports_of<'r>(replayed: &'r Replayed, agreement_id: &str) -> LogReports<'r> {
    let filed: Vec<&ReplayedReport> = replayed
        .reports
        .iter()
        .filter(|report| report.agreement_id == agreement_id)
        .collect();
    let reviews = Arc::new(ReviewIndex::from_annotations(
        replayed
            .annotations
            .iter()
            .map(|(_, annotation)| annotation),
    ));
    let index_of: HashMap<&str, u64> = filed
        .iter()
        .map(|report| (report.report.id.as_str(), report.log_index))
        .collect();
    let mut origins = Origins::new();
    origins.push_file(
        Arc::from("log"),
        filed.iter().map(|report| report.log_index).collect(),
    );
    let (reports, duplicates) = merge(filed.iter().map(|r| r.report.clone()).collect(), origins);
    if !duplicates.is_empty() {
        // The service files a report id once per agreement; a log from elsewhere may not.
        tracing::warn!(
            duplicates = duplicates.len(),
            "reports sharing an id with different content were left out"
        );
    }
    let log_indices: Vec<u64> = reports
        .iter()
        .map(|report| {
            index_of
                .get(report.id.as_str())
                .copied()
                .unwrap_or_default()
        })
        .collect();
    let mut hasher = Sha256::new();
    truce_model::report::canonical::encode_set(&reports, |piece| hasher.update(piece));
    LogReports {
        filed,
        reports,
        duplicates,
        log_indices,
        reviews,
        reports_sha256: hex(&hasher.finalize()),
    }
}
