//! Rate ratios against values computed independently with scipy 1.17
//! (`tests/reference/generate.py rate` prints the table below).
#![allow(clippy::unwrap_used)]

use truce_stats::{Count, RATE_RATIO_METHOD, rate_ratio};

/// One reference comparison.
struct RateCase {
    /// (events, exposure days) before.
    before: (u64, f64),
    /// (events, exposure days) during.
    during: (u64, f64),
    /// The rate ratio during / before, `None` when nothing happened before.
    ratio: Option<f64>,
    /// The exact 95% interval of the ratio.
    ci95: (f64, f64),
    /// The p-value by doubling the smaller tail (this crate's convention).
    p_value: f64,
    /// scipy's `binomtest` p-value, which sums outcomes no more likely than the
    /// observed one; equal to ours when the exposures are equal.
    binomtest_p_value: f64,
}

// (events before, days before, events during, days during,
//  ratio, ci low, ci high, p-value doubled smaller tail, scipy binomtest p-value)
// with n = before + during, p0 = days during / (days before + days during):
//  ci: binomtest(during, n, p0).proportion_ci(0.95, method='exact') mapped by
//      R = p / (1 - p) * days before / days during (1 maps to infinity);
//  p-value: min(1, 2 * min(binom.cdf(during, n, p0), binom.sf(during - 1, n, p0)));
//  last column: binomtest(during, n, p0).pvalue (two-sided, 'minlike'), for comparison.
const RATE_RATIOS: [RateCase; 16] = [
    RateCase {
        before: (100, 30.0),
        during: (29, 30.0),
        ratio: Some(0.29),
        ci95: (0.18486310978522982, 0.44225692540053263),
        p_value: 2.468486318806122e-10,
        binomtest_p_value: 2.468486318806122e-10,
    },
    RateCase {
        before: (50, 30.0),
        during: (50, 30.0),
        ratio: Some(1.0),
        ci95: (0.6620161502006513, 1.510537166951152),
        p_value: 1.0,
        binomtest_p_value: 1.0,
    },
    RateCase {
        before: (1, 7.0),
        during: (3, 7.0),
        ratio: Some(3.0),
        ci95: (0.2408802278292618, 157.49208827480803),
        p_value: 0.625,
        binomtest_p_value: 0.625,
    },
    RateCase {
        before: (9, 1.0),
        during: (2, 1.0),
        ratio: Some(0.2222222222222222),
        ci95: (0.023364641053048658, 1.073638435829745),
        p_value: 0.0654296875,
        binomtest_p_value: 0.0654296875,
    },
    RateCase {
        before: (40, 30.0),
        during: (0, 30.0),
        ratio: Some(0.0),
        ci95: (0.0, 0.09660822712436254),
        p_value: 1.8189894035458565e-12,
        binomtest_p_value: 1.8189894035458565e-12,
    },
    RateCase {
        before: (0, 30.0),
        during: (12, 30.0),
        ratio: None,
        ci95: (2.7785973305581577, f64::INFINITY),
        p_value: 0.00048828125,
        binomtest_p_value: 0.00048828125,
    },
    RateCase {
        before: (0, 7.0),
        during: (5, 30.0),
        ratio: None,
        ci95: (0.21381636670694068, f64::INFINITY),
        p_value: 0.7008541494105971,
        binomtest_p_value: 0.5911684128438186,
    },
    RateCase {
        before: (8, 45.5),
        during: (0, 3.25),
        ratio: Some(0.0),
        ci95: (0.0, 8.201664451921404),
        p_value: 1.0,
        binomtest_p_value: 1.0,
    },
    RateCase {
        before: (120, 60.0),
        during: (20, 14.0),
        ratio: Some(0.7142857142857143),
        ci95: (0.421260397890381, 1.1528360063843468),
        p_value: 0.1903341631612309,
        binomtest_p_value: 0.19461096510794834,
    },
    RateCase {
        before: (35, 90.0),
        during: (4, 7.0),
        ratio: Some(1.4693877551020407),
        ci95: (0.379359550505051, 4.109481437737258),
        p_value: 0.6191733928748182,
        binomtest_p_value: 0.36345834076550193,
    },
    RateCase {
        before: (100000, 365.0),
        during: (71000, 365.0),
        ratio: Some(0.7100000000000001),
        ci95: (0.7031936150854787, 0.716869478190525),
        p_value: 0.0,
        binomtest_p_value: 0.0,
    },
    RateCase {
        before: (100000, 200.0),
        during: (100500, 200.0),
        ratio: Some(1.005),
        ci95: (0.9962303932244377, 1.0138468517752017),
        p_value: 0.26510509544159483,
        binomtest_p_value: 0.26510509544159483,
    },
    RateCase {
        before: (100000, 365.0),
        during: (30000, 92.0),
        ratio: Some(1.190217391304348),
        ci95: (1.1749212348452516, 1.2056858588380468),
        p_value: 2.135733760883486e-149,
        binomtest_p_value: 1.9196816167888067e-149,
    },
    RateCase {
        before: (3, 200.0),
        during: (1, 0.5),
        ratio: Some(133.33333333333334),
        ci95: (2.539810122410956, 1660.5763104953712),
        p_value: 0.019875622276521628,
        binomtest_p_value: 0.009937811138260814,
    },
    RateCase {
        before: (1000000000, 100.0),
        during: (1000050000, 100.0),
        ratio: Some(1.00005),
        ci95: (0.9999623473004626, 1.000137660383885),
        p_value: 0.2635679956706325,
        binomtest_p_value: 0.2635679956706325,
    },
    RateCase {
        before: (1000000000000, 365.0),
        during: (500000000000, 365.0),
        ratio: Some(0.5),
        ci95: (0.4999983026228443, 0.5000016973815912),
        p_value: 0.0,
        binomtest_p_value: 0.0,
    },
];

/// Relative agreement asked of interval bounds and p-values. The observed
/// differences are below 1e-11; the largest, 2e-12 on the upper bound of the
/// first case, is scipy's: a 40-digit mpmath root of the same beta quantile
/// agrees with this crate to 1e-16.
const TOLERANCE: f64 = 1e-10;

fn agrees(actual: f64, expected: f64) -> bool {
    if expected == 0.0 || expected.is_infinite() {
        return actual == expected;
    }
    ((actual - expected) / expected).abs() <= TOLERANCE
}

fn compute(case: &RateCase) -> truce_stats::RateRatio {
    rate_ratio(
        Count {
            events: case.before.0,
            exposure_days: case.before.1,
        },
        Count {
            events: case.during.0,
            exposure_days: case.during.1,
        },
    )
    .unwrap()
}

#[test]
fn ratios_match_scipy() {
    for case in &RATE_RATIOS {
        let rr = compute(case);
        match (rr.ratio, case.ratio) {
            (Some(actual), Some(expected)) => assert!(
                (actual - expected).abs() <= 1e-14 * expected.abs(),
                "{:?} {:?}: ratio {actual} against {expected}",
                case.before,
                case.during
            ),
            (actual, expected) => assert_eq!(actual, expected),
        }
        assert_eq!(rr.method, RATE_RATIO_METHOD);
    }
}

#[test]
fn intervals_match_scipy_clopper_pearson() {
    for case in &RATE_RATIOS {
        let rr = compute(case);
        assert!(
            agrees(rr.ci95.0, case.ci95.0) && agrees(rr.ci95.1, case.ci95.1),
            "{:?} {:?}: interval {:?} against {:?}",
            case.before,
            case.during,
            rr.ci95,
            case.ci95
        );
    }
}

#[test]
fn p_values_match_scipy_doubled_tails() {
    for case in &RATE_RATIOS {
        let rr = compute(case);
        assert!(
            agrees(rr.p_value, case.p_value),
            "{:?} {:?}: p-value {} against {}",
            case.before,
            case.during,
            rr.p_value,
            case.p_value
        );
    }
}

#[test]
fn with_equal_exposures_p_values_match_scipy_binomtest() {
    let mut compared = 0;
    for case in RATE_RATIOS
        .iter()
        .filter(|case| case.before.1 == case.during.1)
    {
        let rr = compute(case);
        assert!(
            agrees(rr.p_value, case.binomtest_p_value),
            "{:?} {:?}: p-value {} against binomtest {}",
            case.before,
            case.during,
            rr.p_value,
            case.binomtest_p_value
        );
        compared += 1;
    }
    assert!(compared >= 6);
}

#[test]
fn significance_follows_the_reference_interval() {
    for case in &RATE_RATIOS {
        let rr = compute(case);
        let excludes_one = case.ci95.0 > 1.0 || case.ci95.1 < 1.0;
        assert_eq!(
            rr.significant, excludes_one,
            "{:?} {:?}",
            case.before, case.during
        );
    }
}
