//! The server on a real port: the OpenAPI document against the running
//! routes, and a graceful shutdown that answers every accepted submission.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{Keys, config, http, now_ms, report};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use truce_auth::RequestSigner;
use truce_server::{NoAppliedEntries, Service};
use truce_store::Store;

/// Every route the router serves, as (method, template).
const ROUTES: [(&str, &str); 30] = [
    ("post", "/v1/sources"),
    ("get", "/v1/sources"),
    ("post", "/v1/sources/{name}/revoke"),
    ("post", "/v1/agreements"),
    ("get", "/v1/agreements"),
    ("get", "/v1/agreements/{id}"),
    ("get", "/v1/agreements/{id}/incidents"),
    ("get", "/v1/agreements/{id}/incidents/{incident_id}"),
    ("get", "/v1/agreements/{id}/statistics"),
    ("post", "/v1/reports"),
    ("get", "/v1/reports"),
    ("post", "/v1/reports/batch"),
    ("get", "/v1/reports/{index}"),
    ("post", "/v1/reviews"),
    ("post", "/v1/contests"),
    ("post", "/v1/coverage"),
    ("post", "/v1/retractions"),
    ("get", "/v1/annotations"),
    ("get", "/v1/log/checkpoint"),
    ("get", "/v1/log/tile/{path}"),
    ("get", "/v1/log/entries"),
    ("get", "/v1/log/proof/inclusion"),
    ("get", "/v1/log/proof/consistency"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/v1/openapi.json"),
    ("get", "/v1/geography"),
    ("get", "/v1/agreements/{id}/zones"),
    ("get", "/v1/agreements/{id}/parties"),
    ("get", "/v1/log/vkey"),
];

async fn start(service: Service) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        truce_server::serve(service, listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (address, stop, server)
}

async fn signed(
    address: SocketAddr,
    signer: &RequestSigner,
    method: &str,
    path: &str,
    body: &Value,
) -> std::io::Result<(u16, Value)> {
    let body = serde_json::to_vec(body).unwrap();
    let authorization = signer
        .authorization(method, path, &body, now_ms(), common::fresh_nonce())
        .unwrap();
    let headers = [
        ("Authorization".to_owned(), authorization),
        ("Content-Type".to_owned(), "application/json".to_owned()),
    ];
    let (status, _, body) = http(address, method, path, &headers, &body).await?;
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// A concrete request for a documented path: parameters filled in.
fn concrete(template: &str) -> String {
    let path = template
        .replace("{name}", "nobody")
        .replace("{id}", "no-such-agreement")
        .replace("{index}", "0")
        .replace("{incident_id}", "inc-r1")
        .replace("{path}", "entries/000.p/1");
    let query = match template {
        "/v1/log/entries" => "?start=0&end=1",
        "/v1/log/proof/inclusion" => "?index=0",
        "/v1/log/proof/consistency" => "?from=1",
        "/v1/annotations" => "?subject=r1",
        _ => "",
    };
    format!("{path}{query}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let service = Service::open(config(dir.path(), &keys.admin), Arc::new(NoAppliedEntries))
        .await
        .unwrap();
    assert!(service.wait_ready(Duration::from_secs(20)).await);
    let (address, stop, server) = start(service).await;

    let (status, _, body) = http(address, "GET", "/v1/openapi.json", &[], b"")
        .await
        .unwrap();
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let mut documented: BTreeMap<(String, String), BTreeSet<u16>> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let codes = operation["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|code| code.parse().unwrap())
                .collect();
            documented.insert((method.clone(), path.clone()), codes);
        }
    }
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    let listed: BTreeSet<(String, String)> = documented.keys().cloned().collect();
    assert_eq!(
        listed, served,
        "documented routes differ from the served ones"
    );

    // Every documented operation answers with one of its documented statuses.
    for ((method, template), codes) in &documented {
        let path = concrete(template);
        let (status, head, body) = http(address, &method.to_ascii_uppercase(), &path, &[], b"")
            .await
            .unwrap();
        assert!(
            codes.contains(&status),
            "{method} {path} answered {status}, documented {codes:?}: {head}\n{}",
            String::from_utf8_lossy(&body)
        );
        if status >= 400 {
            assert!(
                head.to_ascii_lowercase()
                    .contains("content-type: application/problem+json"),
                "{method} {path}: {head}"
            );
        }
    }
    // A route that is not served is a 404 problem.
    let (status, _, _) = http(address, "GET", "/v2/reports", &[], b"").await.unwrap();
    assert_eq!(status, 404);

    stop.send(()).unwrap();
    server.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_every_accepted_submission() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let mut slow = config(dir.path(), &keys.admin);
    // The writer waits for more submissions, so some are still queued at shutdown.
    slow.writer.max_batch_latency_ms = 300;
    let service = Service::open(slow, Arc::new(NoAppliedEntries))
        .await
        .unwrap();
    assert!(service.wait_ready(Duration::from_secs(20)).await);
    let (address, stop, server) = start(service).await;
    let (status, _) = signed(
        address,
        &keys.admin,
        "POST",
        "/v1/sources",
        &json!({"vkey": keys.ua.verifier().to_vkey(), "kind": "party", "party": "UA"}),
    )
    .await
    .unwrap();
    assert_eq!(status, 201);
    let agreement = json!({"toml": common::BLACK_SEA_TOML, "files": {"zones/black-sea.geojson": common::BLACK_SEA_ZONE}});
    let (status, _) = signed(address, &keys.admin, "POST", "/v1/agreements", &agreement)
        .await
        .unwrap();
    assert_eq!(status, 201);

    let ua = Arc::new(common::signer("ua.example/liaison", 3));
    let mut submissions = Vec::new();
    for n in 0..40 {
        let ua = Arc::clone(&ua);
        submissions.push(tokio::spawn(async move {
            let id = format!("s{n}");
            let answer = signed(
                address,
                &ua,
                "POST",
                "/v1/reports",
                &report(&id, 30.74, 46.49),
            )
            .await;
            (id, answer)
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        submissions
            .iter()
            .any(|submission| !submission.is_finished()),
        "every submission was answered before the shutdown began"
    );
    stop.send(()).unwrap();
    let mut acknowledged = Vec::new();
    for submission in submissions {
        let (id, answer) = submission.await.unwrap();
        match answer {
            // Accepted before the listener closed: answered, and logged.
            Ok((status, body)) => {
                assert_eq!(status, 201, "{id}: {body}");
                acknowledged.push((id, body["receipts"][0]["index"].as_u64().unwrap()));
            }
            // Never accepted: the connection was refused or reset.
            Err(error) => eprintln!("{id} not accepted: {error}"),
        }
    }
    server.await.unwrap();
    assert!(!acknowledged.is_empty(), "no submission was in flight");

    let service = Service::open(config(dir.path(), &keys.admin), Arc::new(NoAppliedEntries))
        .await
        .unwrap();
    assert!(service.wait_ready(Duration::from_secs(20)).await);
    let store = service.state().store().clone();
    for (id, index) in &acknowledged {
        let record = store.report(*index).await.unwrap().unwrap();
        assert_eq!(&record.report_id, id);
    }
    service.shutdown().await.unwrap();
}
