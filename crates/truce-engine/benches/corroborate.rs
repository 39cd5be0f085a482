//! Corroboration speed on simulator output of about 100k and 500k reports.
//!
//! `cargo bench -p truce-engine --bench corroborate` (release profile). Prints, per size, the
//! median of several runs of `corroborate`, with the incident count and the thread count.
//! Set `TRUCE_BENCH_SIZES=100000,500000,1000000` to choose the sizes.

use std::time::{Duration, Instant};

use truce_engine::corroborate::{CorroborationParams, canonical_order, corroborate};
use truce_sim::{Scenario, simulate};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let sizes: Vec<u64> = std::env::var("TRUCE_BENCH_SIZES")
        .ok()
        .map(|text| {
            text.split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![100_000, 500_000]);
    let params = CorroborationParams::default();
    println!("threads: {}", rayon::current_num_threads());
    for size in sizes {
        let simulation = match simulate(&Scenario::scaled(7, size)) {
            Ok(simulation) => simulation,
            Err(error) => {
                eprintln!("simulation of {size} reports failed: {error}");
                continue;
            }
        };
        let mut reports = simulation.reports;
        let n_reports = reports.len();

        // Canonical order, from the reverse order.
        reports.reverse();
        let started = Instant::now();
        canonical_order(&mut reports);
        let ordering = started.elapsed();

        let runs = if n_reports > 300_000 { 5 } else { 9 };
        let mut samples = Vec::with_capacity(runs);
        let mut n_incidents = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let incidents = corroborate(&reports, &params);
            samples.push(started.elapsed());
            n_incidents = incidents.len();
            drop(incidents);
        }
        let median = median(samples);
        println!(
            "corroborate {n_reports:>8} reports → {n_incidents:>8} incidents: median {:>8.1} ms \
             over {runs} runs ({:.0} ns/report); canonical_order {:.1} ms",
            median.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e9 / n_reports as f64,
            ordering.as_secs_f64() * 1e3,
        );
    }
}
