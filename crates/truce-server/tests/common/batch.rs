//! The batch job (`merge`, `corroborate`, `assess`) over the reports a service accepted, in
//! the shape the service lists incidents in, to compare the service's live incidents with.

#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use serde_json::{Value, json};
use truce_auth::RequestSigner;
use truce_engine::assess::assess;
use truce_engine::corroborate::{CorroborationParams, corroborate};
use truce_engine::intake::{Origin, Origins, merge};
use truce_model::Report;
use truce_model::agreement::{Agreement, MemoryFiles, load};
use truce_model::ingest::{IngestOptions, InputFormat, parse_reports};

use crate::common::{AGREEMENT, BLACK_SEA_TOML, BLACK_SEA_ZONE, get};

/// The Black Sea agreement's interpretations, as the batch job loads them.
pub fn agreements() -> Vec<Agreement> {
    let files = MemoryFiles(BTreeMap::from([(
        "zones/black-sea.geojson".to_owned(),
        BLACK_SEA_ZONE.as_bytes().to_vec(),
    )]));
    load("agreement.toml", BLACK_SEA_TOML, &files).unwrap()
}

/// A submitted report (`agreement` and the JSON Lines fields) as the batch job reads it:
/// the source fields the service takes from the signing key added.
pub fn read_as_batch_input(
    submitted: &Value,
    by: &RequestSigner,
    kind: &str,
    party: Option<&str>,
) -> Report {
    let mut line = submitted.as_object().unwrap().clone();
    line.remove("agreement");
    line.insert("source_id".into(), json!(by.verifier().name().as_str()));
    line.insert("source_kind".into(), json!(kind));
    if let Some(party) = party {
        line.insert("source_party".into(), json!(party));
    }
    let text = Value::Object(line).to_string();
    let mut read = parse_reports(
        InputFormat::Jsonl,
        "reports.jsonl",
        text.as_bytes(),
        &IngestOptions::default(),
    )
    .unwrap();
    assert!(read.rejections.is_empty(), "{:?}", read.rejections);
    read.reports.pop().unwrap()
}

/// Incidents with their findings under every interpretation, as the batch job judges
/// `reports`, in the service's incident shape (less the fields only the service has).
pub fn judged(reports: &[Report]) -> Value {
    let agreements = agreements();
    let origins: Origins = (1..=reports.len() as u64)
        .map(|row| Origin {
            file: Arc::from("reports.jsonl"),
            row,
        })
        .collect();
    let (reports, rejected) = merge(reports.to_vec(), origins);
    assert!(rejected.is_empty(), "{rejected:?}");
    let incidents = corroborate(
        &reports,
        &CorroborationParams::from(&agreements[0].corroboration),
    );
    let assessments: Vec<_> = agreements
        .iter()
        .map(|agreement| assess(agreement, &reports, &incidents).unwrap())
        .collect();
    let mut out = Vec::with_capacity(incidents.len());
    for (position, incident) in incidents.iter().enumerate() {
        let findings: Vec<Value> = agreements
            .iter()
            .zip(&assessments)
            .map(|(agreement, assessment)| {
                let mut finding = serde_json::to_value(&assessment.findings[position]).unwrap();
                finding["interpretation"] = json!(agreement.interpretation);
                finding
            })
            .collect();
        let members: Vec<&str> = incident
            .members
            .iter()
            .map(|&member| reports[member as usize].id.as_str())
            .collect();
        let mut item = json!({
            "id": incident.id,
            "start_ms": incident.time.start_ms,
            "end_ms": incident.time.end_ms,
            "location": {
                "lon": incident.location.lon,
                "lat": incident.location.lat,
                "radius_m": incident.location.uncertainty_m,
                "coarsened": false,
            },
            "action": incident.action.as_str(),
            "target": incident.target.to_string(),
            "casualties": incident.casualties,
            "n_sources": incident.n_sources,
            "report_ids": members,
            "findings": findings,
        });
        if let Some(site) = &incident.site {
            item["site"] = json!(site);
        }
        out.push(item);
    }
    Value::Array(out)
}

/// Every incident the service lists, as `reader` sees it, without the fields the batch
/// job has no notion of.
pub async fn served(router: &Router, reader: &RequestSigner) -> Value {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => {
                format!("/v1/agreements/{AGREEMENT}/incidents?limit=100&cursor={cursor}")
            }
            None => format!("/v1/agreements/{AGREEMENT}/incidents?limit=100"),
        };
        let page = get(router, &path, Some(reader)).await.expect(200).json();
        for item in page["items"].as_array().unwrap() {
            let mut item = item.clone();
            let fields = item.as_object_mut().unwrap();
            assert_eq!(fields.remove("agreement_id"), Some(json!(AGREEMENT)));
            assert!(fields.remove("agreement_version").is_some());
            assert!(fields.remove("report_log_indexes").is_some());
            items.push(item);
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Value::Array(items),
        }
    }
}

/// `value` as text with every object's keys sorted, to compare whatever the key order.
pub fn canonical(value: &Value) -> String {
    fn sort(value: &Value) -> Value {
        match value {
            Value::Object(fields) => {
                let sorted: BTreeMap<&String, Value> = fields
                    .iter()
                    .map(|(key, value)| (key, sort(value)))
                    .collect();
                serde_json::to_value(sorted).unwrap()
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&sort(value)).unwrap()
}
