//! Overload: beyond the concurrency limit or with the writer's queue full,
//! requests are answered 503 with `Retry-After` at once, and nothing of a
//! refused submission is stored; what was acknowledged is all there.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::StatusCode;
use common::{Call, Keys, config, get, open, populate, report};
use serde_json::Value;
use truce_server::ServerConfig;

/// Sends `n` report submissions at once; returns each id with its answer.
async fn flood(router: &axum::Router, keys: &Arc<Keys>, n: usize) -> Vec<(String, common::Answer)> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let (router, keys) = (router.clone(), Arc::clone(keys));
        tasks.push(tokio::spawn(async move {
            let id = format!("f{i:03}");
            let answer = Call::new("POST", "/v1/reports")
                .json(&report(&id, 30.74 + i as f64 * 1e-3, 46.49))
                .by(&keys.monitor)
                .send(&router)
                .await;
            (id, answer)
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// The ids of every report the service holds.
async fn held(router: &axum::Router, keys: &Keys) -> BTreeSet<String> {
    let answer: Value = get(router, "/v1/reports?limit=1000", Some(&keys.admin))
        .await
        .expect(200)
        .json();
    answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["report_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Floods a service opened with `tune`; checks that some requests were
/// refused with 503 and Retry-After, that exactly the acknowledged reports
/// are stored, and that the refused ones go through when sent again.
async fn refused_requests_leave_no_trace(tune: impl FnOnce(&mut ServerConfig)) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(Keys::new());
    let mut config = config(dir.path(), &keys.admin);
    config.retry_after_s = 7;
    config.rate_limit.burst = 1000;
    tune(&mut config);
    let (service, router) = open(config).await;
    populate(&router, &keys).await;

    let answers = flood(&router, &keys, 40).await;
    let mut acknowledged = BTreeSet::new();
    let mut refused = Vec::new();
    for (id, answer) in answers {
        match answer.status {
            StatusCode::CREATED => {
                acknowledged.insert(id);
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(answer.headers["retry-after"], "7");
                assert_eq!(answer.problem(), "overloaded");
                refused.push(id);
            }
            other => panic!("{id}: unexpected {other}: {}", answer.text()),
        }
    }
    assert!(!refused.is_empty(), "no request was refused");
    assert!(!acknowledged.is_empty(), "no request went through");
    assert_eq!(held(&router, &keys).await, acknowledged);

    // Sent again one at a time, the refused ones are taken.
    for id in &refused {
        let i: f64 = id[1..].parse().unwrap();
        Call::new("POST", "/v1/reports")
            .json(&report(id, 30.74 + i * 1e-3, 46.49))
            .by(&keys.monitor)
            .send(&router)
            .await
            .expect(201);
        acknowledged.insert(id.clone());
    }
    assert_eq!(held(&router, &keys).await, acknowledged);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_concurrency_limit_requests_get_503_and_leave_no_trace() {
    refused_requests_leave_no_trace(|config| {
        config.max_concurrent_requests = 2;
        // The writer holds each batch open, so the two requests in flight stay
        // in flight while the others arrive.
        config.writer.max_batch_latency_ms = 100;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_writer_queue_full_submissions_get_503_and_leave_no_trace() {
    refused_requests_leave_no_trace(|config| {
        config.writer.queue = 1;
        config.writer.max_batch_entries = 1;
        config.writer.max_batch_latency_ms = 100;
    })
    .await;
}
