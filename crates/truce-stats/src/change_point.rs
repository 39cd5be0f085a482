//! Change points of a daily count series: where the Poisson rate shifts.

use crate::error::StatsError;

/// The penalty for each change point in [`change_points`], on the
/// log-likelihood scale: a change is kept only if it raises the Poisson
/// log-likelihood by more than the penalty.
///
/// Built by [`Penalty::per_ln_days`] or [`Penalty::fixed`], which refuse values
/// that are negative or not finite, so every `Penalty` is usable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Penalty {
    kind: PenaltyKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum PenaltyKind {
    /// `multiplier · ln(n)` for a series of `n` days.
    PerLnDays(f64),
    /// The same value whatever the length.
    Fixed(f64),
}

impl Penalty {
    /// The multiplier of the default penalty `k · ln(n)`: `k = 1`, the Bayesian
    /// information criterion. BIC charges `½ ln(n)` of log-likelihood per
    /// parameter, and each change adds two: where it is and the new rate.
    pub const BIC_MULTIPLIER: f64 = 1.0;

    /// A penalty of `multiplier · ln(n)` per change for a series of `n` days.
    ///
    /// Larger multipliers find fewer changes. Real incident counts vary more
    /// than a Poisson model allows (bursts of shelling), which makes spurious
    /// changes more likely; a multiplier of 2 to 3 is a more cautious choice
    /// for such data.
    ///
    /// # Errors
    ///
    /// [`StatsError::InvalidPenalty`] when `multiplier` is negative or not finite.
    pub fn per_ln_days(multiplier: f64) -> Result<Self, StatsError> {
        Self::checked(multiplier, "multiplier").map(|value| Self {
            kind: PenaltyKind::PerLnDays(value),
        })
    }

    /// The same penalty per change, `value`, whatever the length of the series.
    ///
    /// # Errors
    ///
    /// [`StatsError::InvalidPenalty`] when `value` is negative or not finite.
    pub fn fixed(value: f64) -> Result<Self, StatsError> {
        Self::checked(value, "value").map(|value| Self {
            kind: PenaltyKind::Fixed(value),
        })
    }

    /// The BIC penalty, `ln(n)` per change ([`Penalty::BIC_MULTIPLIER`]).
    #[must_use]
    pub const fn bic() -> Self {
        Self {
            kind: PenaltyKind::PerLnDays(Self::BIC_MULTIPLIER),
        }
    }

    /// The penalty per change for a series of `days` days (0 for fewer than 2
    /// days under `per_ln_days`).
    #[must_use]
    pub fn per_change(&self, days: usize) -> f64 {
        match self.kind {
            PenaltyKind::PerLnDays(multiplier) => multiplier * (days.max(1) as f64).ln(),
            PenaltyKind::Fixed(value) => value,
        }
    }

    fn checked(value: f64, kind: &'static str) -> Result<f64, StatsError> {
        if value.is_finite() && value >= 0.0 {
            Ok(value)
        } else {
            Err(StatsError::InvalidPenalty { kind, value })
        }
    }
}

impl Default for Penalty {
    /// [`Penalty::bic`].
    fn default() -> Self {
        Self::bic()
    }
}

/// Improvements of the total cost smaller than this fraction of it are rounding
/// noise, not evidence: they count as ties (so a constant series is never cut,
/// even with no penalty).
const NEAR_TIE: f64 = 1e-10;

/// A day on which the event rate changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    /// The index of the first day at the new rate (so days before it are at
    /// `rate_before`).
    pub day_index: usize,
    /// Events per day over the segment ending the day before `day_index`
    /// (its maximum-likelihood Poisson rate).
    pub rate_before: f64,
    /// Events per day over the segment starting on `day_index`.
    pub rate_after: f64,
    /// How much the Poisson log-likelihood rises by splitting the two
    /// neighbouring segments here rather than fitting one rate to both. Never
    /// negative; at least the penalty (up to the near-tie margin of
    /// [`change_points`]), since otherwise dropping this change would have
    /// scored better.
    pub log_likelihood_gain: f64,
}

/// Prefix sums of a count series, wide enough that no sum of `u64` overflows.
struct Totals {
    prefix: Vec<u128>,
}

impl Totals {
    fn new(daily: &[u64]) -> Self {
        let mut prefix = Vec::with_capacity(daily.len() + 1);
        let mut sum = 0_u128;
        prefix.push(sum);
        for &day in daily {
            sum += u128::from(day);
            prefix.push(sum);
        }
        Self { prefix }
    }

    /// Events in days `start..end`.
    fn events(&self, start: usize, end: usize) -> f64 {
        (self.prefix[end] - self.prefix[start]) as f64
    }

    /// Events per day in days `start..end` (`start < end`).
    fn rate(&self, start: usize, end: usize) -> f64 {
        self.events(start, end) / (end - start) as f64
    }

    /// Minus the maximised Poisson log-likelihood of days `start..end` at one
    /// rate, leaving out the `Σ ln(xᵢ!)` that every segmentation shares:
    /// `S − S ln(S / L)` for `S` events over `L` days (0 when `S = 0`).
    fn cost(&self, start: usize, end: usize) -> f64 {
        let events = self.events(start, end);
        if events == 0.0 {
            0.0
        } else {
            events - events * (events / (end - start) as f64).ln()
        }
    }
}

/// Finds the days on which the rate of a daily count series shifts.
///
/// Parameters: `daily`, counts one a day (oldest first); `min_segment`, the
/// fewest days a stretch at one rate may have (0 is taken as 1); `penalty`, the
/// price of each change ([`Penalty::default`] is BIC).
/// Returns the change points in increasing `day_index` order; empty when the
/// series is shorter than two minimal segments or one rate fits best.
///
/// # Method
///
/// The series is cut into segments of at least `min_segment` days, each with its
/// own constant Poisson rate, choosing the cuts that maximise the total Poisson
/// log-likelihood (each segment at its maximum-likelihood rate, events ÷ days)
/// minus `penalty` per cut. The maximum is found exactly by optimal partitioning
/// (Jackson et al. 2005, "An algorithm for optimal partitioning of data on an
/// interval"): a dynamic programme over the end of the last segment, `O(n²)`
/// time and `O(n)` memory, fine for a few thousand days. Among equally good
/// segmentations the one whose last cut is earliest is chosen, at every step of
/// the recursion, so the result is deterministic; scores within 1e-10 of each
/// other (relative to the total) count as equal, since floating-point rounding
/// alone separates them.
#[must_use]
pub fn change_points(daily: &[u64], min_segment: usize, penalty: Penalty) -> Vec<ChangePoint> {
    let days = daily.len();
    let shortest = min_segment.max(1);
    if days < 2 * shortest {
        return Vec::new();
    }
    let per_change = penalty.per_change(days);
    let totals = Totals::new(daily);

    // best[t]: the lowest cost (negative log-likelihood plus penalties) of days
    // 0..t cut into valid segments; last_start[t]: where its last segment begins.
    // Only t = 0 and t ≥ shortest can be reached.
    let mut best = vec![f64::INFINITY; days + 1];
    let mut last_start = vec![0_usize; days + 1];
    best[0] = 0.0;
    for end in shortest..=days {
        let mut lowest = totals.cost(0, end);
        let mut lowest_start = 0;
        // A last segment starting at `start` needs a valid segmentation of 0..start.
        // Starts run over shortest..=end − shortest (none when end < 2 · shortest).
        let starts = best
            .iter()
            .enumerate()
            .take(end - shortest + 1)
            .skip(shortest);
        for (start, &cost_before) in starts {
            let candidate = cost_before + per_change + totals.cost(start, end);
            if candidate < lowest - NEAR_TIE * (1.0 + lowest.abs()) {
                lowest = candidate;
                lowest_start = start;
            }
        }
        best[end] = lowest;
        last_start[end] = lowest_start;
    }

    let mut cuts = Vec::new();
    let mut end = days;
    while end > 0 {
        let start = last_start[end];
        if start > 0 {
            cuts.push(start);
        }
        end = start;
    }
    cuts.reverse();

    // Segment boundaries: 0, the cuts, n.
    let mut bounds = Vec::with_capacity(cuts.len() + 2);
    bounds.push(0);
    bounds.extend_from_slice(&cuts);
    bounds.push(days);
    bounds
        .windows(3)
        .map(|edges| {
            let (start, cut, end) = (edges[0], edges[1], edges[2]);
            let gain = totals.cost(start, end) - totals.cost(start, cut) - totals.cost(cut, end);
            ChangePoint {
                day_index: cut,
                rate_before: totals.rate(start, cut),
                rate_after: totals.rate(cut, end),
                log_likelihood_gain: gain.max(0.0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn penalty_constructors_refuse_bad_values() {
        assert!(Penalty::per_ln_days(-1.0).is_err());
        assert!(Penalty::per_ln_days(f64::NAN).is_err());
        assert!(Penalty::fixed(f64::INFINITY).is_err());
        let error = Penalty::fixed(-2.5).unwrap_err();
        assert_eq!(
            error.to_string(),
            "change-point penalty value must be finite and not negative, got -2.5"
        );
        assert_eq!(Penalty::default(), Penalty::bic());
        assert!((Penalty::bic().per_change(100) - 100_f64.ln()).abs() < 1e-15);
        assert_eq!(Penalty::fixed(3.0).unwrap().per_change(100), 3.0);
        assert_eq!(Penalty::per_ln_days(2.0).unwrap().per_change(0), 0.0);
    }

    #[test]
    fn a_clean_step_is_found_exactly() {
        let mut daily = vec![10_u64; 20];
        daily.extend([2_u64; 20]);
        let found = change_points(&daily, 3, Penalty::default());
        assert_eq!(found.len(), 1);
        let change = found[0];
        assert_eq!(change.day_index, 20);
        assert_eq!(change.rate_before, 10.0);
        assert_eq!(change.rate_after, 2.0);
        // 200 ln(200/120) − 200 + 40 ln(40/120) + 40: the gain over one rate of 6.
        let expected = 200.0 * (10.0_f64 / 6.0).ln() + 40.0 * (2.0_f64 / 6.0).ln();
        assert!((change.log_likelihood_gain - expected).abs() < 1e-9);
    }

    #[test]
    fn too_short_series_have_no_change() {
        assert!(change_points(&[], 1, Penalty::default()).is_empty());
        assert!(change_points(&[0, 100], 2, Penalty::default()).is_empty());
        assert!(change_points(&[0, 0, 0, 100, 100], 3, Penalty::default()).is_empty());
    }

    #[test]
    fn min_segment_zero_is_one() {
        // With no penalty every day that differs from the previous can be cut.
        let daily = [0, 50, 0];
        let zero = change_points(&daily, 0, Penalty::fixed(0.0).unwrap());
        let one = change_points(&daily, 1, Penalty::fixed(0.0).unwrap());
        assert_eq!(zero, one);
        let days: Vec<usize> = zero.iter().map(|c| c.day_index).collect();
        assert_eq!(days, vec![1, 2]);
    }

    #[test]
    fn ties_go_to_the_earliest_day() {
        // A lone burst between zeros: with min_segment 1 and a penalty that
        // allows one cut only, cutting before or after the burst scores the same
        // ([0,0,9] | [0,0] against [0,0] | [9,0,0] have equal likelihood).
        let daily = [0, 0, 9, 0, 0];
        let found = change_points(&daily, 2, Penalty::fixed(1.0).unwrap());
        let days: Vec<usize> = found.iter().map(|c| c.day_index).collect();
        assert_eq!(days, vec![2]);
    }

    #[test]
    fn all_zero_series_has_no_change() {
        assert!(change_points(&[0; 50], 1, Penalty::fixed(0.0).unwrap()).is_empty());
    }
}
