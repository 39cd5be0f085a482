//! Times and numbers as the exports write them.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// An instant as RFC 3339 in UTC (`2025-03-18T23:40:00Z`, fractions only when there are
/// some); the bare milliseconds for an instant outside jiff's range, which valid reports
/// never hold.
pub(crate) fn instant_text(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|instant| instant.to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// The calendar date of an instant in `zone`.
pub(crate) fn local_date(ms: i64, zone: &TimeZone) -> Result<Date, String> {
    Timestamp::from_millisecond(ms)
        .map(|instant| instant.to_zoned_datetime(zone.clone()).date())
        .map_err(|e| format!("the time {ms} ms is out of range: {e}"))
}

/// Whole days from `first` to `last` (negative when `last` is earlier).
pub(crate) fn days_between(first: Date, last: Date) -> Result<i64, String> {
    first
        .until(last)
        .map(|span| i64::from(span.get_days()))
        .map_err(|e| format!("cannot count the days from {first} to {last}: {e}"))
}

/// `date` moved by `days`.
pub(crate) fn add_days(date: Date, days: i64) -> Result<Date, String> {
    date.checked_add(jiff::Span::new().days(days))
        .map_err(|e| format!("cannot add {days} days to {date}: {e}"))
}

/// A coordinate rounded to six decimals (about 0.1 m). A value written with at most six
/// decimals comes back as the same `f64`.
pub(crate) fn round6(degrees: f64) -> f64 {
    (degrees * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a panic in a test is a test failure
    use super::*;

    #[test]
    fn six_decimals_come_back_unchanged() {
        for text in ["35.296", "51.196", "-0.000001", "179.999999", "48.8814"] {
            let value: f64 = text.parse().unwrap();
            assert_eq!(round6(value), value, "{text}");
        }
        assert_eq!(round6(37.771_049_9), 37.771_05);
    }

    #[test]
    fn dates_in_the_local_zone() {
        let kyiv = TimeZone::get("Europe/Kyiv").unwrap();
        // 2025-03-18T23:40:00Z is 01:40 on 19 March in Kyiv.
        let ms = 1_742_341_200_000;
        assert_eq!(instant_text(ms), "2025-03-18T23:40:00Z");
        assert_eq!(
            local_date(ms, &kyiv).unwrap(),
            Date::new(2025, 3, 19).unwrap()
        );
        let first = Date::new(2025, 3, 30).unwrap();
        assert_eq!(
            days_between(first, Date::new(2025, 4, 2).unwrap()).unwrap(),
            3
        );
        assert_eq!(add_days(first, 3).unwrap(), Date::new(2025, 4, 2).unwrap());
    }
}
