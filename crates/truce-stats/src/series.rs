//! Daily series: trailing means and week-on-week comparisons.

use crate::rate::{Count, RateRatio, rate_ratio};

/// Days in a week, the length of each half of [`week_on_week`].
pub const WEEK_DAYS: usize = 7;

/// The trailing mean of `series` over `window` values.
///
/// Parameters: the series (one value a day, oldest first) and the window length.
/// Returns a vector as long as `series` whose element `i` is the arithmetic mean
/// of `series[i + 1 − window ..= i]`, the window ending on day `i` itself.
/// It is `None` where the window is not yet full (`i + 1 < window`), where the
/// window holds a value that is not finite (a missing day), and everywhere when
/// `window` is 0 (a mean of nothing is undefined).
///
/// Method: each window is summed afresh, oldest value first, so every element
/// is computed the same way and no rounding error carries from one day to the
/// next (the cost is `series.len() × window` additions).
#[must_use]
pub fn rolling_mean(series: &[f64], window: usize) -> Vec<Option<f64>> {
    if window == 0 {
        return vec![None; series.len()];
    }
    let divisor = window as f64;
    (0..series.len())
        .map(|end| {
            let start = (end + 1).checked_sub(window)?;
            let values = &series[start..=end];
            if values.iter().all(|value| value.is_finite()) {
                Some(values.iter().sum::<f64>() / divisor)
            } else {
                None
            }
        })
        .collect()
}

/// Compares the last seven days ending on `end_day` with the seven days before.
///
/// Parameters: `daily`, event counts one a day (oldest first); `end_day`, the
/// index of the last day of the current week, included.
/// Returns the [`RateRatio`] of days `end_day − 6 ..= end_day` (during) against
/// days `end_day − 13 ..= end_day − 7` (before), each with an exposure of seven
/// days, computed by [`rate_ratio`]; `None` when `end_day` is before day 13
/// (there is no full previous week) or not a day of `daily`.
#[must_use]
pub fn week_on_week(daily: &[u64], end_day: usize) -> Option<RateRatio> {
    if end_day >= daily.len() {
        return None;
    }
    let start = (end_day + 1).checked_sub(2 * WEEK_DAYS)?;
    let (previous, current) = daily[start..=end_day].split_at(WEEK_DAYS);
    let week = |days: &[u64]| Count {
        events: days.iter().fold(0_u64, |sum, &day| sum.saturating_add(day)),
        exposure_days: WEEK_DAYS as f64,
    };
    // Fails only for counts beyond the supported maximum of events.
    rate_ratio(week(previous), week(current)).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rolling_mean_by_hand() {
        let series = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(
            rolling_mean(&series, 3),
            vec![None, None, Some(2.0), Some(3.0), Some(17.0 / 3.0)]
        );
        assert_eq!(
            rolling_mean(&series, 1),
            series.iter().map(|&v| Some(v)).collect::<Vec<_>>()
        );
        assert_eq!(
            rolling_mean(&series, 5),
            vec![None, None, None, None, Some(4.0)]
        );
        assert_eq!(rolling_mean(&series, 6), vec![None; 5]);
    }

    #[test]
    fn rolling_mean_over_seven_days() {
        // Days 0..=9 with 0, 7, 14, … : the mean of days 0..=6 is 21, then it
        // moves by 7 a day.
        let series: Vec<f64> = (0..10).map(|day| f64::from(7 * day)).collect();
        let means = rolling_mean(&series, 7);
        assert_eq!(&means[..6], &[None; 6]);
        assert_eq!(
            &means[6..],
            &[Some(21.0), Some(28.0), Some(35.0), Some(42.0)]
        );
    }

    #[test]
    fn rolling_mean_edges() {
        assert_eq!(rolling_mean(&[], 7), Vec::<Option<f64>>::new());
        assert_eq!(rolling_mean(&[1.0, 2.0], 0), vec![None, None]);
        let with_gap = [1.0, f64::NAN, 3.0, 5.0, 7.0];
        assert_eq!(
            rolling_mean(&with_gap, 2),
            vec![None, None, None, Some(4.0), Some(6.0)]
        );
    }

    #[test]
    fn week_on_week_by_hand() {
        // Previous week 10 events a day (70), current week 13 a day (91): +30%.
        let mut daily = vec![10_u64; 7];
        daily.extend([13_u64; 7]);
        let rr = week_on_week(&daily, 13).unwrap();
        assert_eq!(rr.ratio, Some(1.3));
        let direct = rate_ratio(
            Count {
                events: 70,
                exposure_days: 7.0,
            },
            Count {
                events: 91,
                exposure_days: 7.0,
            },
        )
        .unwrap();
        assert_eq!(rr, direct);
    }

    #[test]
    fn week_on_week_uses_the_fourteen_days_ending_on_end_day() {
        // Day d holds d events. Ending on day 15: previous days 2..=8 (35),
        // current days 9..=15 (84); days 0, 1 and 16 must not count.
        let daily: Vec<u64> = (0..17).collect();
        let rr = week_on_week(&daily, 15).unwrap();
        assert_eq!(rr.ratio, Some(84.0 / 35.0));
    }

    #[test]
    fn week_on_week_needs_two_full_weeks() {
        let daily = vec![3_u64; 20];
        assert!(week_on_week(&daily, 12).is_none());
        assert!(week_on_week(&daily, 13).is_some());
        assert!(week_on_week(&daily, 19).is_some());
        assert!(week_on_week(&daily, 20).is_none());
        assert!(week_on_week(&[], 0).is_none());
    }
}
