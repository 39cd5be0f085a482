//! The records a store holds: projections of log entries, plus the service's
//! own bookkeeping. Plain structs: the store never decodes log entries
//! itself, so it stays independent of the entry codec.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A registered source and its key, as projected from a source registration
/// (and a later revocation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The source's name (unique).
    pub name: String,
    /// Its public verification key, as text.
    pub vkey: String,
    /// Its kind: `party`, `monitor`, `media`, `ngo`, `osint`, ...
    pub kind: String,
    /// The party it speaks for, if any.
    pub party: Option<String>,
    /// Its role in the service (what it may submit).
    pub role: String,
    /// The log index of its registration.
    pub registered_at_index: u64,
    /// The log index of its revocation, if revoked.
    pub revoked_at_index: Option<u64>,
    /// When it was revoked (Unix epoch milliseconds), if revoked.
    pub revoked_at_ms: Option<i64>,
}

/// One agreement version under one interpretation, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementRecord {
    /// The agreement's id (shared by its versions).
    pub id: String,
    /// The version number.
    pub version: u32,
    /// `common` or the party whose reading this is.
    pub interpretation: String,
    /// The log index of the agreement-version entry.
    pub log_index: u64,
    /// SHA-256 of the agreement text, lowercase hex.
    pub content_sha256: String,
    /// The agreement's title.
    pub title: String,
    /// When it was registered (Unix epoch milliseconds).
    pub registered_at_ms: i64,
}

/// A report as the public sees it, with the fields the service filters on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRecord {
    /// The log index of the report entry (the report's identity in the store).
    pub log_index: u64,
    /// The report's id (unique within its agreement).
    pub report_id: String,
    /// The agreement it is submitted under.
    pub agreement_id: String,
    /// The submitting source's name (or the public label of a committed one).
    pub source_name: String,
    /// The submitting source's kind.
    pub source_kind: String,
    /// The party the submitter speaks for, if any.
    pub party: Option<String>,
    /// Who the report accuses, if anyone.
    pub actor: Option<String>,
    /// The action type.
    pub action: String,
    /// The target category.
    pub target: String,
    /// Earliest possible instant of the event (Unix epoch milliseconds).
    pub start_ms: i64,
    /// Latest possible instant of the event, inclusive.
    pub end_ms: i64,
    /// Longitude in degrees (WGS84).
    pub lon: f64,
    /// Latitude in degrees (WGS84).
    pub lat: f64,
    /// Uncertainty radius in metres.
    pub radius_m: f64,
    /// The zones the report's location falls in, in the order given.
    pub zone_ids: Vec<String>,
    /// When it was submitted (Unix epoch milliseconds).
    pub submitted_at_ms: i64,
}

/// The kind of an annotation: a log entry that speaks about reports or
/// incidents rather than reporting an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationKind {
    /// A monitor's review.
    Review,
    /// A party's contest of a finding.
    Contest,
    /// An observation-coverage record.
    Coverage,
    /// A source's retraction of its own report.
    Retraction,
}

impl AnnotationKind {
    /// Every kind, in a fixed order.
    pub const ALL: [AnnotationKind; 4] = [
        AnnotationKind::Review,
        AnnotationKind::Contest,
        AnnotationKind::Coverage,
        AnnotationKind::Retraction,
    ];

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationKind::Review => "review",
            AnnotationKind::Contest => "contest",
            AnnotationKind::Coverage => "coverage",
            AnnotationKind::Retraction => "retraction",
        }
    }
}

impl fmt::Display for AnnotationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An annotation kind that is not one of [`AnnotationKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown annotation kind {value:?}")]
pub struct UnknownAnnotationKind {
    /// The text given.
    pub value: String,
}

impl FromStr for AnnotationKind {
    type Err = UnknownAnnotationKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AnnotationKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownAnnotationKind {
                value: text.to_owned(),
            })
    }
}

/// A review, contest, coverage record or retraction, indexed by what it is
/// about. One log entry about several subjects projects to one annotation per
/// subject, all with the entry's log index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnotationRecord {
    /// The log index of the entry.
    pub log_index: u64,
    /// What kind of entry it is.
    pub kind: AnnotationKind,
    /// The report or incident id it is about.
    pub subject: String,
    /// The source that wrote it.
    pub author: String,
    /// The entry's public fields as a JSON document, for display.
    pub body_json: String,
    /// When it was submitted (Unix epoch milliseconds).
    pub submitted_at_ms: i64,
}

/// A request nonce the service has seen, kept so a replayed request is
/// refused even after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeenNonce {
    /// The key that signed the request.
    pub key: String,
    /// The request's nonce, hex.
    pub nonce_hex: String,
    /// The request's timestamp (Unix epoch milliseconds).
    pub ts_ms: i64,
}

/// One item of a batch handed to [`Store::apply`](crate::Store::apply): what
/// one log entry contributes to the store, or the receipt of the submission
/// that produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Projected {
    /// A source registration.
    Source(SourceRecord),
    /// A source's revocation.
    SourceRevoked {
        /// The source's name.
        name: String,
        /// The log index of the revocation.
        at_index: u64,
        /// When it was revoked (Unix epoch milliseconds).
        at_ms: i64,
    },
    /// An agreement version.
    Agreement(AgreementRecord),
    /// A report.
    Report(ReportRecord),
    /// An annotation about one subject.
    Annotation(AnnotationRecord),
    /// Bookkeeping, not a projection: the submission signed by `key` with
    /// `nonce` became the entry at `log_index`. Written in the same
    /// transaction as the entry's projection, so a client that retries after
    /// a lost response can be given its original receipt
    /// ([`Store::submission`](crate::Store::submission)).
    Receipt {
        /// The submitting key.
        key: String,
        /// The submission's nonce.
        nonce: String,
        /// The log index of the entry it produced.
        log_index: u64,
    },
}

impl Projected {
    /// The log indexes this item names, each with its field, for checking
    /// them against a batch's range.
    pub fn log_indexes(&self) -> Vec<(&'static str, u64)> {
        match self {
            Projected::Source(source) => {
                let mut indexes = vec![("registered_at_index", source.registered_at_index)];
                if let Some(revoked) = source.revoked_at_index {
                    indexes.push(("revoked_at_index", revoked));
                }
                indexes
            }
            Projected::SourceRevoked { at_index, .. } => vec![("at_index", *at_index)],
            Projected::Agreement(agreement) => vec![("log_index", agreement.log_index)],
            Projected::Report(report) => vec![("log_index", report.log_index)],
            Projected::Annotation(annotation) => vec![("log_index", annotation.log_index)],
            Projected::Receipt { log_index, .. } => vec![("log_index", *log_index)],
        }
    }

    /// A short description for messages, e.g. `report "r-1"`.
    pub fn describe(&self) -> String {
        match self {
            Projected::Source(source) => format!("source {:?}", source.name),
            Projected::SourceRevoked { name, .. } => format!("revocation of source {name:?}"),
            Projected::Agreement(agreement) => format!(
                "agreement {:?} version {} ({})",
                agreement.id, agreement.version, agreement.interpretation
            ),
            Projected::Report(report) => format!("report {:?}", report.report_id),
            Projected::Annotation(annotation) => {
                format!("{} of {:?}", annotation.kind, annotation.subject)
            }
            Projected::Receipt { key, nonce, .. } => {
                format!("receipt for key {key:?} nonce {nonce:?}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn annotation_kinds_round_trip_through_text_and_json() {
        for kind in AnnotationKind::ALL {
            assert_eq!(kind.as_str().parse::<AnnotationKind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<AnnotationKind>(&json).unwrap(), kind);
        }
    }

    #[test]
    fn unknown_annotation_kind_is_named() {
        let error = "Review".parse::<AnnotationKind>().unwrap_err();
        assert_eq!(error.to_string(), "unknown annotation kind \"Review\"");
    }

    #[test]
    fn a_revoked_source_names_both_indexes() {
        let source = Projected::Source(SourceRecord {
            name: "m".into(),
            vkey: "k".into(),
            kind: "monitor".into(),
            party: None,
            role: "reporter".into(),
            registered_at_index: 3,
            revoked_at_index: Some(9),
            revoked_at_ms: Some(1),
        });
        assert_eq!(
            source.log_indexes(),
            vec![("registered_at_index", 3), ("revoked_at_index", 9)]
        );
    }
}
