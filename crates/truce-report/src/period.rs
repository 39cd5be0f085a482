//! Time: calendar days in the agreement's time zone, and the stretch of time the data covers.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::error::ReportError;

/// Milliseconds in a day of 24 hours (baselines are counted in these, not calendar days).
pub(crate) const DAY_MS: i64 = 86_400_000;

/// The most calendar days a report covers: ten years.
pub(crate) const MAX_DAYS: i64 = 3_660;

/// An instant from epoch milliseconds.
pub(crate) fn timestamp(ms: i64, what: &'static str) -> Result<Timestamp, ReportError> {
    Timestamp::from_millisecond(ms).map_err(|_| ReportError::TimeOutOfRange {
        what,
        value: format!("{ms} ms"),
    })
}

/// The earliest and latest epoch milliseconds this crate works with: the calendar's range.
pub(crate) fn clamp_ms(ms: i64) -> i64 {
    ms.clamp(
        Timestamp::MIN.as_millisecond(),
        Timestamp::MAX.as_millisecond(),
    )
}

/// The calendar days of one time zone.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    zone: TimeZone,
}

impl Calendar {
    /// Days of `zone`.
    pub(crate) fn new(zone: TimeZone) -> Self {
        Calendar { zone }
    }

    /// The calendar date of an instant.
    pub(crate) fn date_of(&self, ms: i64) -> Result<Date, ReportError> {
        Ok(timestamp(ms, "an incident's time")?
            .to_zoned_datetime(self.zone.clone())
            .date())
    }

    /// The first instant of a calendar date.
    pub(crate) fn day_start(&self, date: Date) -> Result<i64, ReportError> {
        date.to_zoned_datetime(self.zone.clone())
            .map(|zoned| zoned.timestamp().as_millisecond())
            .map_err(|_| ReportError::TimeOutOfRange {
                what: "a calendar day",
                value: date.to_string(),
            })
    }

    /// The first instant of the day after `date`.
    pub(crate) fn next_day_start(&self, date: Date) -> Result<i64, ReportError> {
        let next = date.tomorrow().map_err(|_| ReportError::TimeOutOfRange {
            what: "the day after",
            value: date.to_string(),
        })?;
        self.day_start(next)
    }

    /// The calendar days that `[start_ms, end_ms)` touches, with their boundaries: day `i`
    /// runs from `bounds[i]` to `bounds[i + 1]`. No days when the stretch is empty.
    pub(crate) fn days(&self, start_ms: i64, end_ms: i64) -> Result<DayAxis, ReportError> {
        if end_ms <= start_ms {
            return Ok(DayAxis::default());
        }
        let first = self.date_of(start_ms)?;
        let last = self.date_of(end_ms - 1)?;
        let span = last.since(first).map_err(|_| ReportError::TimeOutOfRange {
            what: "the report period",
            value: format!("{first} to {last}"),
        })?;
        let n_days = i64::from(span.get_days()) + 1;
        if n_days > MAX_DAYS {
            return Err(ReportError::PeriodTooLong {
                days: n_days,
                max: MAX_DAYS,
            });
        }
        let mut dates = Vec::with_capacity(n_days as usize);
        let mut bounds = Vec::with_capacity(n_days as usize + 1);
        let mut date = first;
        for _ in 0..n_days {
            dates.push(date);
            bounds.push(self.day_start(date)?);
            date = date.tomorrow().map_err(|_| ReportError::TimeOutOfRange {
                what: "the day after",
                value: date.to_string(),
            })?;
        }
        bounds.push(self.day_start(date)?);
        Ok(DayAxis { dates, bounds })
    }
}

/// Calendar days and their boundaries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DayAxis {
    /// The days, in order.
    pub(crate) dates: Vec<Date>,
    /// `dates.len() + 1` boundaries in epoch milliseconds (empty when there are no days).
    pub(crate) bounds: Vec<i64>,
}

impl DayAxis {
    /// The index of the day holding instant `ms`, if it is one of the days.
    pub(crate) fn index_of(&self, ms: i64) -> Option<usize> {
        let (&first, &last) = (self.bounds.first()?, self.bounds.last()?);
        if ms < first || ms >= last {
            return None;
        }
        Some(self.bounds.partition_point(|&bound| bound <= ms) - 1)
    }
}

/// The stretch of time the data covers: from the start of the first calendar day with an
/// incident to the end of the last (or to `--until`). Every period the report compares is
/// cut to it, so that days nobody reported on are not counted as days without incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Horizon {
    /// First instant with data (`None`: no incident at all, nothing to cut).
    pub(crate) start: Option<i64>,
    /// End of the data (`None`: unknown).
    pub(crate) end: Option<i64>,
}

impl Horizon {
    /// `[start, end)` cut to the horizon; an empty stretch when nothing is left (its start
    /// is then the cut start, and its end equals it).
    pub(crate) fn clip(&self, start: i64, end: i64) -> (i64, i64) {
        let start = start.max(self.start.unwrap_or(i64::MIN));
        let end = end.min(self.end.unwrap_or(i64::MAX));
        (start, end.max(start))
    }
}

/// An instant in `zone` for readers: `2025-03-18 00:00 MSK`.
pub(crate) fn local_time(instant: Timestamp, zone: &TimeZone) -> String {
    instant
        .to_zoned_datetime(zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn kyiv() -> Calendar {
        Calendar::new(TimeZone::get("Europe/Kyiv").unwrap())
    }

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn days_follow_the_zone_across_a_clock_change() {
        // Kyiv moved to summer time at 03:00 on 30 March 2025: that day has 23 hours.
        let calendar = kyiv();
        let axis = calendar
            .days(ms("2025-03-28T22:00:00Z"), ms("2025-03-31T21:00:00Z"))
            .unwrap();
        let dates: Vec<String> = axis.dates.iter().map(ToString::to_string).collect();
        assert_eq!(dates, ["2025-03-29", "2025-03-30", "2025-03-31"]);
        assert_eq!(axis.bounds[1] - axis.bounds[0], DAY_MS);
        assert_eq!(axis.bounds[2] - axis.bounds[1], DAY_MS - 3_600_000);
        assert_eq!(axis.bounds[3] - axis.bounds[2], DAY_MS);
        assert_eq!(axis.index_of(ms("2025-03-29T21:59:59Z")), Some(0));
        assert_eq!(axis.index_of(ms("2025-03-29T22:00:00Z")), Some(1));
        assert_eq!(axis.index_of(ms("2025-03-31T20:59:59Z")), Some(2));
        assert_eq!(axis.index_of(ms("2025-03-31T21:00:00Z")), None);
        assert_eq!(axis.index_of(ms("2025-03-28T21:59:59Z")), None);
    }

    #[test]
    fn an_empty_stretch_has_no_days_and_a_partial_day_is_one() {
        let calendar = kyiv();
        let t = ms("2025-03-28T10:00:00Z");
        assert_eq!(calendar.days(t, t).unwrap(), DayAxis::default());
        assert_eq!(DayAxis::default().index_of(t), None);
        let axis = calendar.days(t, t + 1).unwrap();
        assert_eq!(axis.dates.len(), 1);
        assert_eq!(axis.index_of(t), Some(0));
    }

    #[test]
    fn too_many_days_is_an_error_naming_the_count() {
        let calendar = kyiv();
        let error = calendar
            .days(ms("2000-01-01T00:00:00Z"), ms("2025-01-01T00:00:00Z"))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the report period has 9133 days"),
            "{error}"
        );
    }

    #[test]
    fn horizon_cuts_and_never_inverts() {
        let horizon = Horizon {
            start: Some(100),
            end: Some(200),
        };
        assert_eq!(horizon.clip(50, 150), (100, 150));
        assert_eq!(horizon.clip(150, 250), (150, 200));
        assert_eq!(horizon.clip(250, 300), (250, 250));
        assert_eq!(horizon.clip(0, 50), (100, 100));
        let open = Horizon {
            start: None,
            end: None,
        };
        assert_eq!(open.clip(-5, 5), (-5, 5));
    }

    #[test]
    fn local_time_names_the_zone() {
        let zone = TimeZone::get("Europe/Moscow").unwrap();
        let instant: Timestamp = "2025-03-17T21:00:00Z".parse().unwrap();
        assert_eq!(local_time(instant, &zone), "2025-03-18 00:00 MSK");
        assert_eq!(local_time(instant, &TimeZone::UTC), "2025-03-17 21:00 UTC");
    }
}
