//! Poisson rate ratios: before an agreement against under it.

use crate::error::{Period, StatsError};
use crate::special::{beta_quantile_pair, binomial_at_least_pq, binomial_at_most_pq};

/// The name of the method behind every [`RateRatio`], for printing beside it.
pub const RATE_RATIO_METHOD: &str =
    "exact conditional binomial test with Clopper–Pearson interval (Poisson rate ratio)";

/// The largest number of events [`rate_ratio`] accepts in one [`Count`]: 10^12.
///
/// Every count up to it is exact as an `f64`, and intervals and p-values are
/// tested against scipy up to it; a billion events a day for two years is
/// still inside the limit.
pub const MAX_EVENTS: u64 = 1_000_000_000_000;

/// Half the complement of the confidence level: 95% intervals leave 2.5% in each tail.
const TAIL: f64 = 0.025;

/// A number of events observed over a length of time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Count {
    /// How many events were observed.
    pub events: u64,
    /// Over how many days (the exposure); fractions of a day are allowed.
    /// Must be finite and greater than 0.
    pub exposure_days: f64,
}

/// The ratio of the event rate during an agreement to the rate before it,
/// with its exact 95% interval and test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateRatio {
    /// `(events during / days during) / (events before / days before)`.
    /// `Some(0.0)` when nothing happened during; `None` when nothing happened
    /// before (the ratio is infinite, or undefined if nothing happened at all).
    pub ratio: Option<f64>,
    /// The 95% confidence interval `(low, high)` of the ratio. `low` is 0 when
    /// nothing happened during, `high` is `+∞` when nothing happened before, and
    /// it is `(0, +∞)` when nothing happened at all. Never `NaN`.
    pub ci95: (f64, f64),
    /// Two-sided p-value of the hypothesis "the rates are equal" (see [`rate_ratio`]
    /// for the convention). In `[0, 1]`, never `NaN`.
    pub p_value: f64,
    /// The method, [`RATE_RATIO_METHOD`].
    pub method: &'static str,
    /// Whether the interval excludes 1 (`low > 1` or `high < 1`).
    pub significant: bool,
}

fn checked_exposure(count: Count, period: Period) -> Result<f64, StatsError> {
    let value = count.exposure_days;
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(StatsError::InvalidExposure { period, value })
    }
}

fn checked_events(count: Count, period: Period) -> Result<u64, StatsError> {
    if count.events <= MAX_EVENTS {
        Ok(count.events)
    } else {
        Err(StatsError::TooManyEvents {
            period,
            value: count.events,
            max: MAX_EVENTS,
        })
    }
}

/// `(p / q) · scale` for a probability pair `(p, q = 1 − p)` and a positive
/// finite `scale`, with `0` and `+∞` at the ends and never `NaN`.
fn odds_times(pair: (f64, f64), scale: f64) -> f64 {
    let (p, q) = pair;
    if p <= 0.0 {
        0.0
    } else if q <= 0.0 {
        f64::INFINITY
    } else {
        p / q * scale
    }
}

/// Compares the event rate during an agreement with the rate before it.
///
/// Parameters: `before`, the reference count; `during`, the count compared
/// with it. Returns the [`RateRatio`] `rate(during) / rate(before)`, so a value
/// below 1 is a fall.
///
/// # Method
///
/// If the two counts are independent Poisson variables with rates `λ₁`, `λ₂`
/// and exposures `t₁`, `t₂`, then given their total `n = x₁ + x₂` the count during
/// is binomial, `x₂ ~ Binomial(n, π)` with `π = R t₂ / (t₁ + R t₂)` where
/// `R = λ₂ / λ₁` is the rate ratio. Inference on `R` is inference on the
/// binomial proportion `π`, mapped back by `R = (π / (1 − π)) · (t₁ / t₂)`
/// (the conditional test for two Poisson means of Przyborowski & Wilenski 1940,
/// the "C-test" of Krishnamoorthy & Thomson 2004, whose unconditional "E-test"
/// is what `scipy.stats.poisson_means_test` implements; the tests of this crate
/// check it against scipy's `binomtest` applied to the conditional count).
///
/// * The interval is the Clopper–Pearson interval of `π` (Clopper & Pearson
///   1934): its bounds are the 2.5% quantile of Beta(x₂, x₁ + 1) and the 97.5%
///   quantile of Beta(x₂ + 1, x₁), with 0 and 1 when `x₂ = 0` or `x₁ = 0`. It is
///   conservative: its coverage is at least 95%.
/// * The p-value tests `R = 1`, i.e. `π₀ = t₂ / (t₁ + t₂)`, by **doubling the
///   smaller one-sided tail**, `min(1, 2 · min(P(X ≤ x₂), P(X ≥ x₂)))` for
///   `X ~ Binomial(n, π₀)` (each tail includes the observed count). This is the
///   convention that matches the interval: `p < 0.05` exactly when the interval
///   excludes 1 (up to rounding at the boundary). It differs from the default of
///   scipy's `binomtest`, which adds up all outcomes no more likely than the
///   observed one, whenever `π₀ ≠ ½` (unequal exposures).
/// * With no events at all, the ratio is undefined, the interval is `(0, +∞)`
///   and the p-value is 1. With events only during, the ratio is `None`
///   (infinite) and the interval has a lower bound only; with events only
///   before, the ratio is 0 and the interval has an upper bound only.
///
/// # Errors
///
/// [`StatsError::InvalidExposure`] when an exposure is not finite and positive
/// (zero exposure included); [`StatsError::ExposureRatioOutOfRange`] when the
/// exposures' ratio cannot be represented; [`StatsError::TooManyEvents`] when a
/// count exceeds [`MAX_EVENTS`].
pub fn rate_ratio(before: Count, during: Count) -> Result<RateRatio, StatsError> {
    let exposure_before = checked_exposure(before, Period::Before)?;
    let exposure_during = checked_exposure(during, Period::During)?;
    let events_before = checked_events(before, Period::Before)?;
    let events_during = checked_events(during, Period::During)?;
    // R = odds(π) · (t₁ / t₂).
    let exposure_scale = exposure_before / exposure_during;
    if !exposure_scale.is_normal() {
        return Err(StatsError::ExposureRatioOutOfRange {
            before: exposure_before,
            during: exposure_during,
        });
    }
    // π₀ and 1 − π₀, each computed directly rather than by subtraction.
    let larger = exposure_before.max(exposure_during);
    let share_before = exposure_before / larger;
    let share_during = exposure_during / larger;
    let null_during = share_during / (share_before + share_during);
    let null_before = share_before / (share_before + share_during);

    // Both counts are at most 10^12, so the sum cannot overflow.
    let total = events_before + events_during;
    let (x1, x2) = (events_before as f64, events_during as f64);

    let ratio = (events_before > 0).then(|| x2 / x1 * exposure_scale);

    let low = if events_during == 0 {
        0.0
    } else {
        odds_times(
            beta_quantile_pair(x2, x1 + 1.0, TAIL, 1.0 - TAIL),
            exposure_scale,
        )
    };
    let high = if events_before == 0 {
        f64::INFINITY
    } else {
        odds_times(
            beta_quantile_pair(x2 + 1.0, x1, 1.0 - TAIL, TAIL),
            exposure_scale,
        )
    };

    let p_value = if total == 0 {
        1.0
    } else {
        let at_most = binomial_at_most_pq(events_during, total, null_during, null_before);
        let at_least = binomial_at_least_pq(events_during, total, null_during, null_before);
        (2.0 * at_most.min(at_least)).min(1.0)
    };

    Ok(RateRatio {
        ratio,
        ci95: (low, high),
        p_value,
        method: RATE_RATIO_METHOD,
        significant: low > 1.0 || high < 1.0,
    })
}

/// A whole percentage, rounded half away from zero, without a negative zero.
fn whole_percent(fraction: f64) -> f64 {
    let rounded = (fraction * 100.0).round();
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// A signed percentage change: `+17%`, `−20%` (with a minus sign, U+2212), `0%`.
fn signed_percent(fraction: f64) -> String {
    let value = whole_percent(fraction);
    if value > 0.0 {
        format!("+{value:.0}%")
    } else if value < 0.0 {
        format!("\u{2212}{:.0}%", -value)
    } else {
        "0%".to_owned()
    }
}

/// The size of a significant change in whole percent, or "less than 1%" when
/// it rounds to nothing.
fn magnitude_percent(fraction: f64) -> String {
    let value = whole_percent(fraction.abs());
    if value == 0.0 {
        "less than 1%".to_owned()
    } else {
        format!("{value:.0}%")
    }
}

/// Puts a [`RateRatio`] in plain words, as a percentage change of `subject`.
///
/// Parameters: the ratio from [`rate_ratio`]; `subject`, a plural noun phrase
/// that starts the sentence ("strikes on energy infrastructure").
/// Returns one sentence fragment, without a final full stop. Percentages are
/// whole numbers rounded half away from zero; the interval is the 95% interval
/// of the change, written from the smaller change to the larger:
///
/// * significant fall: "strikes on energy infrastructure fell by 71% (95% CI 60–79%)";
/// * significant rise: "… rose by 30% (95% CI 2–66%)";
/// * interval containing no change: "… changed by −3% (95% CI −20% to +17%), not significant";
/// * nothing during, something before: "… fell by 100%, to none recorded (95% CI 60–100%)",
///   or "… fell to none recorded (95% CI −100% to +150%), not significant";
/// * nothing before, something during: "… rose from none recorded before (95% CI from +25% upwards)",
///   with ", not significant" when the lower bound is not above 1;
/// * nothing in either period: "…: none recorded in either period, so no change can be estimated".
///
/// A significant change that rounds to 0% is written "by less than 1%".
#[must_use]
pub fn percent_change_phrase(rr: &RateRatio, subject: &str) -> String {
    let (low, high) = rr.ci95;
    let not_significant = if rr.significant {
        ""
    } else {
        ", not significant"
    };
    match rr.ratio {
        None if low > 0.0 => format!(
            "{subject} rose from none recorded before (95% CI from {} upwards){not_significant}",
            signed_percent(low - 1.0)
        ),
        None => format!("{subject}: none recorded in either period, so no change can be estimated"),
        Some(0.0) => {
            if rr.significant {
                format!(
                    "{subject} fell by 100%, to none recorded (95% CI {:.0}–100%)",
                    whole_percent(1.0 - high)
                )
            } else {
                format!(
                    "{subject} fell to none recorded (95% CI \u{2212}100% to {}), not significant",
                    signed_percent(high - 1.0)
                )
            }
        }
        Some(ratio) if rr.significant && high < 1.0 => format!(
            "{subject} fell by {} (95% CI {:.0}–{:.0}%)",
            magnitude_percent(1.0 - ratio),
            whole_percent(1.0 - high),
            whole_percent(1.0 - low)
        ),
        Some(ratio) if rr.significant => format!(
            "{subject} rose by {} (95% CI {:.0}–{:.0}%)",
            magnitude_percent(ratio - 1.0),
            whole_percent(low - 1.0),
            whole_percent(high - 1.0)
        ),
        Some(ratio) => format!(
            "{subject} changed by {} (95% CI {} to {}), not significant",
            signed_percent(ratio - 1.0),
            signed_percent(low - 1.0),
            signed_percent(high - 1.0)
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn count(events: u64, exposure_days: f64) -> Count {
        Count {
            events,
            exposure_days,
        }
    }

    fn ratio_with(ratio: Option<f64>, ci95: (f64, f64), significant: bool) -> RateRatio {
        RateRatio {
            ratio,
            ci95,
            p_value: if significant { 0.01 } else { 0.5 },
            method: RATE_RATIO_METHOD,
            significant,
        }
    }

    #[test]
    fn zero_exposure_is_an_error_naming_the_period() {
        let error = rate_ratio(count(3, 0.0), count(1, 7.0)).unwrap_err();
        assert_eq!(
            error,
            StatsError::InvalidExposure {
                period: Period::Before,
                value: 0.0
            }
        );
        assert_eq!(
            error.to_string(),
            "exposure_days of the before count must be finite and greater than 0, got 0"
        );
        let error = rate_ratio(count(3, 7.0), count(1, f64::NAN)).unwrap_err();
        assert!(matches!(
            error,
            StatsError::InvalidExposure {
                period: Period::During,
                ..
            }
        ));
        assert!(rate_ratio(count(3, -1.0), count(1, 7.0)).is_err());
        assert!(rate_ratio(count(3, 7.0), count(1, f64::INFINITY)).is_err());
    }

    #[test]
    fn exposures_too_far_apart_are_an_error() {
        let error = rate_ratio(count(3, 1e300), count(1, 1e-300)).unwrap_err();
        assert!(matches!(error, StatsError::ExposureRatioOutOfRange { .. }));
    }

    #[test]
    fn too_many_events_is_an_error() {
        let error = rate_ratio(count(MAX_EVENTS + 1, 1.0), count(1, 1.0)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "events of the before count: 1000000000001 is more than the supported 1000000000000"
        );
    }

    #[test]
    fn no_events_at_all_is_undefined_and_uninformative() {
        let rr = rate_ratio(count(0, 30.0), count(0, 30.0)).unwrap();
        assert_eq!(rr.ratio, None);
        assert_eq!(rr.ci95, (0.0, f64::INFINITY));
        assert_eq!(rr.p_value, 1.0);
        assert!(!rr.significant);
        assert_eq!(rr.method, RATE_RATIO_METHOD);
    }

    #[test]
    fn single_day_counts_are_accepted() {
        let rr = rate_ratio(count(5, 1.0), count(1, 1.0)).unwrap();
        assert_eq!(rr.ratio, Some(0.2));
        assert!(rr.ci95.0 > 0.0 && rr.ci95.1 < f64::INFINITY);
        assert!(!rr.significant);
    }

    #[test]
    fn significance_is_the_interval_excluding_one() {
        let fall = rate_ratio(count(100, 30.0), count(20, 30.0)).unwrap();
        assert!(fall.significant && fall.ci95.1 < 1.0 && fall.p_value < 0.05);
        let same = rate_ratio(count(50, 30.0), count(48, 30.0)).unwrap();
        assert!(!same.significant && same.ci95.0 < 1.0 && same.ci95.1 > 1.0);
        assert!(same.p_value > 0.05);
    }

    #[test]
    fn phrase_for_a_significant_fall() {
        let rr = ratio_with(Some(0.29), (0.21, 0.40), true);
        assert_eq!(
            percent_change_phrase(&rr, "strikes on energy infrastructure"),
            "strikes on energy infrastructure fell by 71% (95% CI 60–79%)"
        );
    }

    #[test]
    fn phrase_for_a_significant_rise() {
        let rr = ratio_with(Some(1.3), (1.02, 1.66), true);
        assert_eq!(
            percent_change_phrase(&rr, "daily engagements"),
            "daily engagements rose by 30% (95% CI 2–66%)"
        );
    }

    #[test]
    fn phrase_for_no_significant_change() {
        let rr = ratio_with(Some(0.97), (0.80, 1.17), false);
        assert_eq!(
            percent_change_phrase(&rr, "shelling reports"),
            "shelling reports changed by \u{2212}3% (95% CI \u{2212}20% to +17%), not significant"
        );
        let rr = ratio_with(Some(1.001), (0.9, 1.1), false);
        assert_eq!(
            percent_change_phrase(&rr, "shelling reports"),
            "shelling reports changed by 0% (95% CI \u{2212}10% to +10%), not significant"
        );
    }

    #[test]
    fn phrase_for_a_change_that_rounds_to_nothing() {
        let rr = ratio_with(Some(0.996), (0.993, 0.999), true);
        assert_eq!(
            percent_change_phrase(&rr, "reports"),
            "reports fell by less than 1% (95% CI 0–1%)"
        );
    }

    #[test]
    fn phrase_for_none_during() {
        let rr = rate_ratio(count(40, 30.0), count(0, 30.0)).unwrap();
        let phrase = percent_change_phrase(&rr, "drone strikes");
        // Upper bound: 97.5% quantile of Beta(1, 40), odds × 1 ≈ 0.0966.
        assert_eq!(
            phrase,
            "drone strikes fell by 100%, to none recorded (95% CI 90–100%)"
        );
        let rr = rate_ratio(count(1, 30.0), count(0, 30.0)).unwrap();
        assert_eq!(
            percent_change_phrase(&rr, "drone strikes"),
            "drone strikes fell to none recorded (95% CI \u{2212}100% to +3800%), not significant"
        );
    }

    #[test]
    fn phrase_for_none_before() {
        let rr = rate_ratio(count(0, 30.0), count(12, 30.0)).unwrap();
        let phrase = percent_change_phrase(&rr, "air strikes");
        assert!(
            phrase.starts_with("air strikes rose from none recorded before (95% CI from +"),
            "{phrase}"
        );
        assert!(phrase.ends_with("upwards)"), "{phrase}");
        let rr = rate_ratio(count(0, 30.0), count(2, 30.0)).unwrap();
        let phrase = percent_change_phrase(&rr, "air strikes");
        assert!(
            phrase.starts_with("air strikes rose from none recorded before (95% CI from \u{2212}"),
            "{phrase}"
        );
        assert!(phrase.ends_with("upwards), not significant"), "{phrase}");
    }

    #[test]
    fn phrase_for_nothing_at_all() {
        let rr = rate_ratio(count(0, 30.0), count(0, 30.0)).unwrap();
        assert_eq!(
            percent_change_phrase(&rr, "artillery strikes"),
            "artillery strikes: none recorded in either period, so no change can be estimated"
        );
    }
}
