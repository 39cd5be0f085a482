//! What the running demo says about itself, read over HTTP from its own public endpoints:
//! `/readyz`, the findings' statistics and the log's checkpoint.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use truce_server::{Health, StatisticsView};

/// The verdicts, in the order they are printed.
pub const VERDICTS: [&str; 5] = [
    "violation",
    "alleged",
    "disputed",
    "no_violation",
    "undetermined",
];

/// The largest answer read.
const MAX_ANSWER_BYTES: u64 = 64 << 20;

/// The served state after loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Incidents of the agreement's latest version.
    pub incidents: u64,
    /// Findings under the common reading (or the first) by verdict.
    pub findings: BTreeMap<String, u64>,
    /// The log's size, from its checkpoint.
    pub log_size: u64,
    /// The log's root hash (base64), from its checkpoint.
    pub log_root: String,
    /// SHA-256 of the statistics grouped by party, verdict, day and zone, as served.
    pub findings_digest: String,
}

impl Summary {
    /// `violation 12, alleged 30, …` with every verdict, zeros included.
    pub fn findings_line(&self) -> String {
        let mut line = String::new();
        for (position, verdict) in VERDICTS.iter().enumerate() {
            if position > 0 {
                line.push_str(", ");
            }
            let count = self.findings.get(*verdict).copied().unwrap_or(0);
            let _ = write!(line, "{verdict} {count}");
        }
        for (verdict, count) in &self.findings {
            if !VERDICTS.contains(&verdict.as_str()) {
                let _ = write!(line, ", {verdict} {count}");
            }
        }
        line
    }
}

/// Reads the summary from the service at `url` (blocking): it must be ready.
pub fn fetch(url: &str, agreement_id: &str) -> anyhow::Result<Summary> {
    let client: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into();
    let get = |path: &str| -> anyhow::Result<Vec<u8>> {
        let address = format!("{url}{path}");
        let mut response = client
            .get(&address)
            .call()
            .with_context(|| format!("GET {address}"))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .with_context(|| format!("reading the answer to GET {address}"))?;
        if status != 200 {
            bail!(
                "GET {address} answered HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(body)
    };
    let health: Health =
        serde_json::from_slice(&get("/readyz")?).context("reading the answer of /readyz")?;
    if health.status != "ok" {
        bail!("/readyz says {:?}", health.status);
    }
    let base = format!("/v1/agreements/{}/statistics", path_segment(agreement_id));
    let by_verdict: StatisticsView =
        serde_json::from_slice(&get(&format!("{base}?group_by=verdict"))?)
            .context("reading the findings by verdict")?;
    let mut findings = BTreeMap::new();
    for row in by_verdict.rows {
        let verdict = row.verdict.flatten().unwrap_or_else(|| "none".to_owned());
        *findings.entry(verdict).or_insert(0) += row.count;
    }
    let detailed = get(&format!("{base}?group_by=party,verdict,day,zone"))?;
    let checkpoint = String::from_utf8(get("/v1/log/checkpoint")?)
        .context("the log's checkpoint is not UTF-8 text")?;
    let (log_size, log_root) = checkpoint_size_and_root(&checkpoint)?;
    Ok(Summary {
        incidents: by_verdict.incidents,
        findings,
        log_size,
        log_root,
        findings_digest: format!("sha256:{}", crate::files::hex(&Sha256::digest(&detailed))),
    })
}

/// The size and root hash lines of a checkpoint note (origin, size, root, ...).
fn checkpoint_size_and_root(note: &str) -> anyhow::Result<(u64, String)> {
    let mut lines = note.lines().skip(1);
    let size = lines
        .next()
        .and_then(|line| line.trim().parse::<u64>().ok())
        .with_context(|| format!("the checkpoint has no size on its second line: {note:?}"))?;
    let root = lines
        .next()
        .map(str::trim)
        .filter(|root| !root.is_empty())
        .with_context(|| format!("the checkpoint has no root hash on its third line: {note:?}"))?;
    Ok((size, root.to_owned()))
}

/// Percent-encodes a URL path segment.
pub fn path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn checkpoints_give_their_size_and_root() {
        let note = "truce.local/log\n42\nq83vEj8=\n\n— truce.local/log abcd\n";
        assert_eq!(
            checkpoint_size_and_root(note).unwrap(),
            (42, "q83vEj8=".to_owned())
        );
        let error = checkpoint_size_and_root("origin\nlots\n").unwrap_err();
        assert!(error.to_string().contains("second line"), "{error}");
    }

    #[test]
    fn every_verdict_is_printed_in_order() {
        let summary = Summary {
            incidents: 3,
            findings: [("violation".to_owned(), 2), ("no_violation".to_owned(), 1)]
                .into_iter()
                .collect(),
            log_size: 9,
            log_root: "r".into(),
            findings_digest: "d".into(),
        };
        assert_eq!(
            summary.findings_line(),
            "violation 2, alleged 0, disputed 0, no_violation 1, undetermined 0"
        );
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(path_segment("jeddah-30-day"), "jeddah-30-day");
    }
}
