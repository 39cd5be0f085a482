//! The statistics behind compliance reports: did a rate of incidents change,
//! by how much, how sure can one be, and when did it change.
//!
//! A pure crate: no I/O, no clock, no randomness. It knows nothing of reports,
//! parties or agreements; it takes counts of events and the days they were
//! counted over.
//!
//! * [`rate_ratio`]: the ratio of two Poisson rates (during an agreement against
//!   before it) with its exact 95% interval and p-value (the conditional
//!   binomial method with a Clopper–Pearson interval, [`RATE_RATIO_METHOD`]),
//!   and [`percent_change_phrase`] to say it in words ("fell by 71% (95% CI 60–79%)").
//! * [`rolling_mean`]: trailing means of a daily series (the 7-day mean).
//! * [`week_on_week`]: the last seven days against the seven before, as a rate ratio.
//! * [`change_points`]: where a daily count series shifts rate (exact optimal
//!   partitioning of a Poisson likelihood with a penalty per change).
//! * [`special`]: the special functions these rest on (log-gamma, the
//!   regularised incomplete beta function and its inverse, binomial tails).
//!
//! No function returns `NaN` for valid input: zero counts give a ratio of 0 or
//! none, one-sided intervals with 0 or `+∞` as the open end, and a p-value of 1
//! when there is nothing to test.

pub mod change_point;
pub mod error;
pub mod rate;
pub mod series;
pub mod special;

pub use change_point::{ChangePoint, Penalty, change_points};
pub use error::{Period, StatsError};
pub use rate::{
    Count, MAX_EVENTS, RATE_RATIO_METHOD, RateRatio, percent_change_phrase, rate_ratio,
};
pub use series::{WEEK_DAYS, rolling_mean, week_on_week};
