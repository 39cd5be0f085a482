//! Corroboration accuracy against the simulator's ground truth (adjusted Rand index).
//!
//! Run with `--nocapture` to see the values.

use truce_engine::corroborate::{CorroborationParams, corroborate};
use truce_engine::incident::Incident;
use truce_sim::{Scenario, Simulation, adjusted_rand_index, simulate};

/// The incident index of every report.
fn predicted_labels(n_reports: usize, incidents: &[Incident]) -> Vec<usize> {
    let mut labels = vec![usize::MAX; n_reports];
    for (k, incident) in incidents.iter().enumerate() {
        for &member in &incident.members {
            labels[member as usize] = k;
        }
    }
    assert!(labels.iter().all(|&l| l != usize::MAX));
    labels
}

/// The ARI over all reports and over the dense-shelling bursts' reports only.
fn scores(simulation: &Simulation) -> (f64, f64) {
    // The simulator's reports are sorted by id: canonical order already.
    assert!(simulation.reports.is_sorted_by(|a, b| a.id < b.id));
    let incidents = corroborate(&simulation.reports, &CorroborationParams::default());
    let predicted = predicted_labels(simulation.reports.len(), &incidents);
    let truth = simulation.incident_labels();
    let all = adjusted_rand_index(&truth, &predicted);
    let in_burst: Vec<usize> = (0..truth.len())
        .filter(|&i| simulation.truth[i].burst.is_some())
        .collect();
    let burst_truth: Vec<&str> = in_burst.iter().map(|&i| truth[i]).collect();
    let burst_predicted: Vec<usize> = in_burst.iter().map(|&i| predicted[i]).collect();
    let burst = adjusted_rand_index(&burst_truth, &burst_predicted);
    (all, burst)
}

fn check(name: &str, scenario: Scenario) {
    let simulation = simulate(&scenario).expect("the preset scenarios are valid");
    let (all, burst) = scores(&simulation);
    println!(
        "{name} seed {}: {} reports, ARI {all:.4} (bursts only {burst:.4})",
        scenario.seed,
        simulation.reports.len()
    );
    assert!(all >= 0.95, "{name} seed {}: ARI {all}", scenario.seed);
    assert!(
        burst >= 0.9,
        "{name} seed {}: burst ARI {burst}",
        scenario.seed
    );
}

#[test]
fn default_scenario_matches_the_truth() {
    for seed in [1, 2] {
        check("default", Scenario::default_scenario(seed));
    }
}

#[test]
fn dense_shelling_matches_the_truth() {
    for seed in [1, 2] {
        check("dense_shelling", Scenario::dense_shelling(seed));
    }
}

#[test]
fn lumping_everything_would_score_badly() {
    // The index is sensitive: one incident per report or a few large groups score far lower.
    let simulation = simulate(&Scenario::dense_shelling(3)).unwrap();
    let truth = simulation.incident_labels();
    let singletons: Vec<usize> = (0..truth.len()).collect();
    let hours: Vec<i64> = simulation
        .reports
        .iter()
        .map(|r| r.time.start_ms / 3_600_000)
        .collect();
    let by_singletons = adjusted_rand_index(&truth, &singletons);
    let by_hour = adjusted_rand_index(&truth, &hours);
    println!("dense_shelling seed 3: singletons ARI {by_singletons:.4}, hourly ARI {by_hour:.4}");
    assert!(by_singletons < 0.9 && by_hour < 0.9);
}
