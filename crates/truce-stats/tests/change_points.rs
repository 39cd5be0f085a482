//! Change points on fixed synthetic series with known answers.
//!
//! The counts below were drawn once with numpy (`numpy.random.default_rng(20260)`,
//! `rng.poisson(20, 30)`, `rng.poisson(6, 30)`, then `rng.poisson(10, 60)` and
//! `rng.poisson(3, 90)` from the same generator) and are written out here, so
//! the tests use no random numbers.
#![allow(clippy::unwrap_used)]

use truce_stats::{Penalty, change_points};

/// 30 days at rate 20, then 30 days at rate 6.
const SHIFT_AT_30: [u64; 60] = [
    16, 25, 24, 13, 20, 15, 20, 18, 19, 16, 20, 18, 15, 22, 15, 17, 16, 16, 27, 11, 20, 29, 20, 17,
    26, 17, 33, 18, 27, 19, // day 30 onwards at rate 6
    7, 8, 12, 4, 3, 4, 5, 6, 6, 7, 4, 9, 7, 8, 5, 4, 9, 5, 7, 4, 7, 3, 4, 3, 8, 6, 9, 11, 2, 9,
];

/// 60 days at rate 10.
const CONSTANT_10: [u64; 60] = [
    13, 9, 7, 4, 8, 4, 9, 9, 9, 3, 9, 12, 8, 6, 13, 4, 8, 12, 10, 11, 8, 12, 13, 9, 7, 10, 10, 10,
    6, 9, 10, 5, 11, 9, 8, 10, 13, 6, 8, 4, 6, 14, 7, 14, 10, 6, 9, 14, 6, 14, 13, 9, 12, 7, 8, 11,
    8, 3, 11, 12,
];

/// 90 days at rate 3.
const CONSTANT_3: [u64; 90] = [
    3, 8, 4, 2, 6, 4, 3, 7, 2, 3, 2, 1, 2, 5, 4, 1, 6, 2, 2, 3, 0, 3, 2, 3, 1, 4, 6, 4, 4, 5, 2, 3,
    0, 2, 1, 4, 2, 9, 3, 3, 2, 4, 2, 2, 4, 2, 3, 0, 4, 2, 2, 3, 2, 2, 4, 3, 1, 5, 5, 1, 3, 3, 7, 1,
    4, 1, 3, 1, 4, 3, 2, 3, 3, 6, 3, 4, 2, 1, 2, 3, 5, 5, 3, 1, 2, 5, 4, 0, 4, 2,
];

fn mean(days: &[u64]) -> f64 {
    days.iter().sum::<u64>() as f64 / days.len() as f64
}

#[test]
fn the_shift_from_20_to_6_is_found_at_day_30() {
    let found = change_points(&SHIFT_AT_30, 7, Penalty::default());
    assert_eq!(found.len(), 1, "{found:?}");
    let change = found[0];
    assert!(change.day_index.abs_diff(30) <= 1, "{change:?}");
    assert_eq!(change.rate_before, mean(&SHIFT_AT_30[..change.day_index]));
    assert_eq!(change.rate_after, mean(&SHIFT_AT_30[change.day_index..]));
    assert!(change.rate_before > 15.0 && change.rate_after < 9.0);
    assert!(change.log_likelihood_gain > Penalty::default().per_change(60));
}

#[test]
fn the_shift_is_found_whatever_the_minimum_segment() {
    for min_segment in [0, 1, 3, 14, 30] {
        let found = change_points(&SHIFT_AT_30, min_segment, Penalty::default());
        assert!(!found.is_empty(), "min_segment {min_segment}");
        assert!(
            found
                .iter()
                .any(|change| change.day_index.abs_diff(30) <= 1),
            "min_segment {min_segment}: {found:?}"
        );
    }
}

#[test]
fn a_minimum_segment_longer_than_half_the_series_forbids_any_change() {
    assert!(change_points(&SHIFT_AT_30, 31, Penalty::default()).is_empty());
}

#[test]
fn constant_series_have_no_change() {
    assert!(change_points(&CONSTANT_10, 7, Penalty::default()).is_empty());
    assert!(change_points(&CONSTANT_3, 7, Penalty::default()).is_empty());
    assert!(change_points(&CONSTANT_10, 1, Penalty::default()).is_empty());
    assert!(change_points(&[5; 365], 1, Penalty::fixed(0.0).unwrap()).is_empty());
}

#[test]
fn a_prohibitive_penalty_finds_nothing_and_no_penalty_finds_more() {
    let strict = Penalty::fixed(1e6).unwrap();
    assert!(change_points(&SHIFT_AT_30, 7, strict).is_empty());
    let free = Penalty::fixed(0.0).unwrap();
    assert!(change_points(&CONSTANT_10, 7, free).len() > 1);
}

#[test]
fn a_return_to_the_old_rate_gives_two_changes() {
    // Rate 20 for 30 days, 6 for 30, then the first 30 days again.
    let mut daily = SHIFT_AT_30.to_vec();
    daily.extend_from_slice(&SHIFT_AT_30[..30]);
    let found = change_points(&daily, 7, Penalty::default());
    let days: Vec<usize> = found.iter().map(|change| change.day_index).collect();
    assert_eq!(days.len(), 2, "{found:?}");
    assert!(
        days[0].abs_diff(30) <= 1 && days[1].abs_diff(60) <= 1,
        "{days:?}"
    );
    assert!(found[0].rate_after < found[0].rate_before);
    assert!(found[1].rate_after > found[1].rate_before);
    assert_eq!(found[0].rate_after, found[1].rate_before);
}
