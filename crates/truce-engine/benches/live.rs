//! Live findings: how fast reports are taken in one batch at a time, against the batch job.
//!
//! `cargo bench -p truce-engine --bench live` (release profile). Simulates a front-line
//! scenario (`TRUCE_BENCH_SIZE` reports, default 100 000), shuffles it, and feeds it to
//! [`Live`] in batches of 64 (the service's group-commit size under load), judging under one
//! agreement with a zone along the front. Prints the total, reports per second, the median
//! and 99th percentile time per batch, and the batch job on the same reports for comparison.

use std::sync::Arc;
use std::time::{Duration, Instant};

use truce_engine::assess::assess;
use truce_engine::corroborate::{CorroborationParams, canonical_order, corroborate};
use truce_engine::live::Live;
use truce_model::agreement::{MemoryFiles, load};
use truce_sim::{Scenario, simulate};

const AGREEMENT: &str = r#"
id = "bench"
version = 1
title = "Live bench"
[[parties]]
id = "RU"
name = "Russia"
aliases = ["ru_mod"]
[[parties]]
id = "UA"
name = "Ukraine"
aliases = ["ua_gs"]
[window]
time_zone = "Europe/Kyiv"
start = "2025-03-11T00:00:00"
end = "2025-04-10T00:00:00"
[[zones]]
id = "east"
name = "East"
geometry = { type = "Polygon", coordinates = [[[33.0, 46.0], [40.5, 46.0], [40.5, 50.5], [33.0, 50.5], [33.0, 46.0]]] }
[[rules]]
id = "R1"
text = "No fire in the east"
actions = ["*"]
targets = ["*"]
zones = ["east"]
"#;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let size: u64 = std::env::var("TRUCE_BENCH_SIZE")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100_000);
    let agreement = match load("bench.toml", AGREEMENT, &MemoryFiles::default()) {
        Ok(mut agreements) => Arc::new(agreements.remove(0)),
        Err(error) => {
            eprintln!("bench agreement: {error}");
            return;
        }
    };
    let simulation = match simulate(&Scenario::scaled(5, size)) {
        Ok(simulation) => simulation,
        Err(error) => {
            eprintln!("simulation failed: {error}");
            return;
        }
    };
    let mut reports = simulation.reports;
    // A fixed shuffle: arrival order unrelated to id order.
    let mut state = 99u64;
    for i in (1..reports.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        reports.swap(i, (state >> 33) as usize % (i + 1));
    }
    let params = CorroborationParams::from(&agreement.corroboration);
    let mut live = match Live::new(vec![agreement.clone()], params) {
        Ok(live) => live,
        Err(error) => {
            eprintln!("preparing the agreement: {error}");
            return;
        }
    };
    let mut batch_times = Vec::new();
    let started = Instant::now();
    for batch in reports.chunks(64) {
        let batch_started = Instant::now();
        live.insert_batch(batch.to_vec());
        batch_times.push(batch_started.elapsed());
    }
    let total = started.elapsed();
    let n = reports.len();
    let median = percentile(&mut batch_times, 0.5);
    let p99 = percentile(&mut batch_times, 0.99);
    println!(
        "live: {n} reports in batches of 64 → {} incidents in {:.2} s ({:.0} reports/s); \
         per batch median {:.2} ms, p99 {:.2} ms",
        live.n_incidents(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        median.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
    );

    // What a reader's copy of the state costs: a view (shared with the live state) and a
    // full snapshot in the batch job's terms.
    let mut viewed = Vec::new();
    let mut copied = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let view = live.view();
        viewed.push(started.elapsed());
        drop(view);
        let started = Instant::now();
        let snapshot = live.snapshot();
        copied.push(started.elapsed());
        drop(snapshot);
    }
    println!(
        "read copy: view median {:.2} ms, full snapshot median {:.1} ms",
        percentile(&mut viewed, 0.5).as_secs_f64() * 1e3,
        percentile(&mut copied, 0.5).as_secs_f64() * 1e3,
    );

    let started = Instant::now();
    canonical_order(&mut reports);
    let incidents = corroborate(&reports, &params);
    let assessed = assess(&agreement, &reports, &incidents);
    let batch = started.elapsed();
    println!(
        "batch: the same {n} reports → {} incidents in {:.2} s ({})",
        incidents.len(),
        batch.as_secs_f64(),
        if assessed.is_ok() {
            "judged"
        } else {
            "not judged"
        },
    );
}
