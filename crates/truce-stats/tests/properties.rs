//! Property tests: invariants that hold for every input.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use truce_stats::special::{incomplete_beta, incomplete_beta_complement, inverse_incomplete_beta};
use truce_stats::{
    Count, Penalty, RateRatio, change_points, percent_change_phrase, rate_ratio, rolling_mean,
};

/// Daily counts with many zeros, some ordinary days and, rarely, huge ones.
fn day_count() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => Just(0_u64),
        6 => 0_u64..30,
        2 => 0_u64..5_000,
        1 => any::<u64>(),
    ]
}

/// Event counts for a rate ratio, from none to the large.
fn events() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 0_u64..4,
        4 => 0_u64..300,
        2 => 0_u64..200_000,
        1 => 0_u64..=truce_stats::MAX_EVENTS,
    ]
}

fn exposure() -> impl Strategy<Value = f64> {
    prop_oneof![Just(1.0), Just(7.0), 0.05_f64..2_000.0]
}

fn penalty() -> impl Strategy<Value = Penalty> {
    prop_oneof![
        Just(Penalty::default()),
        (0.0_f64..4.0).prop_map(|k| Penalty::per_ln_days(k).unwrap()),
        (0.0_f64..30.0).prop_map(|value| Penalty::fixed(value).unwrap()),
    ]
}

fn rr(before: (u64, f64), during: (u64, f64)) -> RateRatio {
    rate_ratio(
        Count {
            events: before.0,
            exposure_days: before.1,
        },
        Count {
            events: during.0,
            exposure_days: during.1,
        },
    )
    .unwrap()
}

/// `1 / x` with `1/0 = ∞` and `1/∞ = 0`.
fn reciprocal(x: f64) -> f64 {
    if x == 0.0 {
        f64::INFINITY
    } else if x.is_infinite() {
        0.0
    } else {
        1.0 / x
    }
}

fn close(a: f64, b: f64, relative: f64) -> bool {
    if a.is_infinite() || b.is_infinite() || a == 0.0 || b == 0.0 {
        return a == b;
    }
    ((a - b) / b).abs() <= relative
}

/// Minus the maximised Poisson log-likelihood (without the Σ ln x! term) of a
/// segment, computed here independently of the crate.
fn segment_cost(days: &[u64]) -> f64 {
    let events: f64 = days.iter().map(|&day| day as f64).sum();
    if events == 0.0 {
        0.0
    } else {
        events - events * (events / days.len() as f64).ln()
    }
}

/// The best penalised cost over every segmentation with segments of at least
/// `shortest` days, by trying all `2^(n−1)` sets of cuts.
fn brute_force_best(daily: &[u64], shortest: usize, per_change: f64) -> f64 {
    let n = daily.len();
    let mut best = f64::INFINITY;
    for mask in 0_u32..(1 << (n - 1)) {
        let mut bounds = vec![0];
        bounds.extend((1..n).filter(|cut| mask & (1 << (cut - 1)) != 0));
        bounds.push(n);
        if bounds.windows(2).any(|pair| pair[1] - pair[0] < shortest) {
            continue;
        }
        let cost: f64 = bounds
            .windows(2)
            .map(|pair| segment_cost(&daily[pair[0]..pair[1]]))
            .sum::<f64>()
            + per_change * (bounds.len() - 2) as f64;
        best = best.min(cost);
    }
    best
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn change_points_are_sorted_respect_min_segment_and_are_finite(
        daily in prop::collection::vec(day_count(), 0..120),
        min_segment in 0_usize..12,
        penalty in penalty(),
    ) {
        let found = change_points(&daily, min_segment, penalty);
        let shortest = min_segment.max(1);
        let mut previous = 0;
        for change in &found {
            prop_assert!(change.day_index >= previous + shortest, "{found:?}");
            prop_assert!(change.rate_before.is_finite() && change.rate_before >= 0.0);
            prop_assert!(change.rate_after.is_finite() && change.rate_after >= 0.0);
            prop_assert!(change.log_likelihood_gain.is_finite());
            prop_assert!(change.log_likelihood_gain >= 0.0);
            previous = change.day_index;
        }
        if !found.is_empty() {
            prop_assert!(daily.len() - previous >= shortest, "{found:?}");
        }
    }

    #[test]
    fn change_points_report_segment_means_and_pay_their_penalty(
        daily in prop::collection::vec(prop_oneof![Just(0_u64), 0_u64..40], 2..90),
        min_segment in 1_usize..6,
        penalty in penalty(),
    ) {
        let found = change_points(&daily, min_segment, penalty);
        let per_change = penalty.per_change(daily.len());
        let mut bounds = vec![0];
        bounds.extend(found.iter().map(|change| change.day_index));
        bounds.push(daily.len());
        let mean = |days: &[u64]| days.iter().sum::<u64>() as f64 / days.len() as f64;
        for (index, change) in found.iter().enumerate() {
            let (start, cut, end) = (bounds[index], bounds[index + 1], bounds[index + 2]);
            prop_assert!((change.rate_before - mean(&daily[start..cut])).abs() < 1e-9);
            prop_assert!((change.rate_after - mean(&daily[cut..end])).abs() < 1e-9);
            // Keeping a change must be worth its penalty, or merging would score better.
            let scale = 1.0 + segment_cost(&daily[start..end]).abs();
            prop_assert!(change.log_likelihood_gain >= per_change - 1e-9 * scale, "{change:?}");
        }
    }

    #[test]
    fn change_points_are_optimal_against_brute_force(
        daily in prop::collection::vec(prop_oneof![Just(0_u64), 0_u64..25], 1..12),
        min_segment in 1_usize..4,
        penalty in (0.0_f64..6.0).prop_map(|value| Penalty::fixed(value).unwrap()),
    ) {
        let per_change = penalty.per_change(daily.len());
        let found = change_points(&daily, min_segment, penalty);
        let mut bounds = vec![0];
        bounds.extend(found.iter().map(|change| change.day_index));
        bounds.push(daily.len());
        if bounds.windows(2).any(|pair| pair[1] - pair[0] < min_segment) {
            // A single segment shorter than min_segment: the series is too short.
            prop_assert!(found.is_empty() && daily.len() < 2 * min_segment);
            return Ok(());
        }
        let cost: f64 = bounds
            .windows(2)
            .map(|pair| segment_cost(&daily[pair[0]..pair[1]]))
            .sum::<f64>()
            + per_change * found.len() as f64;
        let best = brute_force_best(&daily, min_segment, per_change);
        prop_assert!(cost <= best + 1e-9 * (1.0 + best.abs()), "found {cost}, best {best}");
    }

    #[test]
    fn rate_ratio_is_never_nan_and_its_interval_holds_the_estimate(
        before in events(), during in events(),
        exposure_before in exposure(), exposure_during in exposure(),
    ) {
        let result = rr((before, exposure_before), (during, exposure_during));
        let (low, high) = result.ci95;
        prop_assert!(!low.is_nan() && !high.is_nan());
        prop_assert!(low >= 0.0 && low <= high, "{result:?}");
        prop_assert!((0.0..=1.0).contains(&result.p_value), "{result:?}");
        prop_assert_eq!(result.significant, low > 1.0 || high < 1.0);
        match result.ratio {
            Some(ratio) => {
                prop_assert!(ratio.is_finite() && ratio >= 0.0);
                prop_assert!(low <= ratio && ratio <= high, "{result:?}");
                prop_assert!(high.is_finite());
                prop_assert!(before > 0);
            }
            None => {
                prop_assert!(before == 0);
                prop_assert!(high.is_infinite());
            }
        }
        prop_assert_eq!(low == 0.0, during == 0);
        let phrase = percent_change_phrase(&result, "incidents");
        prop_assert!(phrase.starts_with("incidents"));
        prop_assert!(!phrase.contains("NaN") && !phrase.contains("inf"), "{phrase}");
    }

    #[test]
    fn swapping_before_and_during_inverts_the_ratio_and_interval(
        before in events(), during in events(),
        exposure_before in exposure(), exposure_during in exposure(),
    ) {
        let forward = rr((before, exposure_before), (during, exposure_during));
        let backward = rr((during, exposure_during), (before, exposure_before));
        match (forward.ratio, backward.ratio) {
            (Some(a), Some(b)) => prop_assert!(close(a, reciprocal(b), 1e-12)),
            (Some(a), None) => prop_assert!(a == 0.0 && before > 0 && during == 0),
            (None, Some(b)) => prop_assert!(b == 0.0 && before == 0 && during > 0),
            (None, None) => prop_assert!(before == 0 && during == 0),
        }
        // The bounds come from inverting the incomplete beta function in its far tail when the
        // counts are lopsided (a few events against 10¹⁰–10¹² give bounds near 10⁻⁹–10⁻¹¹,
        // found to 10⁻⁸–10⁻⁶ relative, the resolution of `x` near 1): 10⁻⁵ is still far finer
        // than the three figures a report prints.
        prop_assert!(close(forward.ci95.0, reciprocal(backward.ci95.1), 1e-5), "{forward:?} {backward:?}");
        prop_assert!(close(forward.ci95.1, reciprocal(backward.ci95.0), 1e-5), "{forward:?} {backward:?}");
        prop_assert!(
            (forward.p_value - backward.p_value).abs() <= 1e-12 * forward.p_value.max(1e-300),
            "{forward:?} {backward:?}"
        );
        prop_assert_eq!(forward.significant, backward.significant);
    }

    #[test]
    fn the_p_value_agrees_with_the_interval(
        before in 0_u64..3_000, during in 0_u64..3_000,
        exposure_before in exposure(), exposure_during in exposure(),
    ) {
        // Doubling the smaller tail is the test that inverts the Clopper–Pearson
        // interval: p < 0.05 exactly when the interval excludes 1. A margin
        // around 0.05 leaves out rounding at the boundary.
        let result = rr((before, exposure_before), (during, exposure_during));
        if result.p_value < 0.0499 {
            prop_assert!(result.significant, "{result:?}");
        }
        if result.p_value > 0.0501 {
            prop_assert!(!result.significant, "{result:?}");
        }
    }

    #[test]
    fn scaling_both_exposures_changes_nothing(
        before in events(), during in events(),
        exposure_before in exposure(), exposure_during in exposure(),
    ) {
        let once = rr((before, exposure_before), (during, exposure_during));
        let doubled = rr((before, 2.0 * exposure_before), (during, 2.0 * exposure_during));
        prop_assert_eq!(once, doubled);
    }

    #[test]
    fn rolling_mean_is_the_mean_of_the_trailing_window(
        series in prop::collection::vec(-1e6_f64..1e6, 0..60),
        window in 0_usize..10,
    ) {
        let means = rolling_mean(&series, window);
        prop_assert_eq!(means.len(), series.len());
        for (day, mean) in means.iter().enumerate() {
            if window == 0 || day + 1 < window {
                prop_assert!(mean.is_none());
            } else {
                let values = &series[day + 1 - window..=day];
                let expected = values.iter().sum::<f64>() / window as f64;
                let actual = mean.unwrap();
                prop_assert!((actual - expected).abs() <= 1e-9 * (1.0 + expected.abs()));
                let lowest = values.iter().copied().fold(f64::INFINITY, f64::min);
                let highest = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                prop_assert!(lowest - 1e-9 <= actual && actual <= highest + 1e-9);
            }
        }
    }

    #[test]
    fn inverse_incomplete_beta_inverts_on_the_smaller_tail(
        a in prop_oneof![0.5_f64..5.0, 1.0_f64..1e5],
        b in prop_oneof![0.5_f64..5.0, 1.0_f64..1e5],
        p in prop_oneof![1e-12_f64..1e-3, 1e-3_f64..0.999, Just(0.025), Just(0.975)],
    ) {
        let x = inverse_incomplete_beta(a, b, p);
        prop_assert!((0.0..=1.0).contains(&x));
        // Right to 1e-9 of the tail, or as right as a float can be: when the function is so
        // steep that the neighbouring floats of `x` bracket the target, `x` is the answer.
        let (function, target): (fn(f64, f64, f64) -> f64, f64) = if p <= 0.5 {
            (incomplete_beta, p)
        } else {
            (incomplete_beta_complement, 1.0 - p)
        };
        let back = function(a, b, x);
        let (below, above) = (function(a, b, x.next_down()), function(a, b, x.next_up()));
        let bracketed = below.min(above) <= target && target <= below.max(above);
        prop_assert!(
            (back - target).abs() <= 1e-9 * target || bracketed,
            "a {a} b {b} p {p}: x {x} gives {back} for {target}"
        );
    }
}
