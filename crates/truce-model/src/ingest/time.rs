//! Times and calendar dates as the formats write them.
//!
//! A value with a UTC offset (or a `[zone]` annotation) is an instant. A value that is a
//! calendar date only is the whole civil day in the configured local zone. A date and time
//! without any offset is refused: guessing a zone for it would silently move the event.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ZonedDateTime};

use crate::report::TimeSpan;

/// The reason given for a date and time that carries no offset.
pub(crate) const NO_OFFSET: &str =
    "time has no UTC offset or time zone; write e.g. 2025-03-20T10:00:00+02:00";

const MS_PER_DAY: i64 = 86_400_000;

/// Reads a time value: an RFC 3339 instant (`2025-03-20T08:00:00Z`,
/// `2025-03-20T10:00:00+02:00`, `2025-03-20T10:00:00+02:00[Europe/Kyiv]`,
/// `2025-03-20T10:00:00[Europe/Kyiv]`) gives a zero-width span; a calendar date
/// (`2025-03-20`) gives the whole day in `zone`. Sub-millisecond digits are dropped (the
/// instant is floored to the millisecond).
pub(crate) fn parse_time_value(text: &str, zone: &TimeZone) -> Result<TimeSpan, String> {
    let text = text.trim();
    // The usual form, `YYYY-MM-DDTHH:MM:SSZ`, without the general parser (same result).
    if let Some(seconds) = parse_utc_seconds_fast(text.as_bytes()) {
        return Ok(TimeSpan::instant(seconds * 1000));
    }
    if is_iso_date(text) {
        let date: Date = text.parse().map_err(|e| format!("not a valid date: {e}"))?;
        return days_span(date, date, zone);
    }
    let timestamp_error = match text.parse::<Timestamp>() {
        Ok(timestamp) => return Ok(TimeSpan::instant(floor_ms(timestamp))),
        Err(e) => e,
    };
    if text.contains('[') {
        return match text.parse::<ZonedDateTime>() {
            Ok(zoned) => Ok(TimeSpan::instant(floor_ms(zoned.timestamp()))),
            Err(e) => Err(format!("not a valid time: {e}")),
        };
    }
    if text.parse::<jiff::civil::DateTime>().is_ok() {
        return Err(NO_OFFSET.to_string());
    }
    Err(format!(
        "not a valid time (write e.g. 2025-03-20T10:00:00+02:00 or the date 2025-03-20): {timestamp_error}"
    ))
}

/// The instant of a timestamp in epoch milliseconds, rounded down.
fn floor_ms(timestamp: Timestamp) -> i64 {
    let ms = timestamp.as_nanosecond().div_euclid(1_000_000);
    // A jiff timestamp lies within years -9999..=9999, far inside i64 milliseconds.
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// Exactly `YYYY-MM-DD` (digits in place).
fn is_iso_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
}

/// The span from the start of `first` to the last millisecond of `last`, civil days in `zone`.
pub(crate) fn days_span(first: Date, last: Date, zone: &TimeZone) -> Result<TimeSpan, String> {
    let start = start_of_day(first, zone)?;
    let next = last
        .tomorrow()
        .map_err(|e| format!("date {last} is out of range: {e}"))?;
    let end = start_of_day(next, zone)? - 1;
    Ok(TimeSpan {
        start_ms: start,
        end_ms: end,
    })
}

/// The first millisecond of a civil day in `zone` (a day that starts in a DST gap starts
/// when the gap ends).
pub(crate) fn start_of_day(date: Date, zone: &TimeZone) -> Result<i64, String> {
    let zoned = date
        .to_zoned_datetime(zone.clone())
        .and_then(|zoned| zoned.start_of_day())
        .map_err(|e| format!("date {date} is out of range: {e}"))?;
    Ok(zoned.timestamp().as_millisecond())
}

/// The civil date in `zone` of an instant.
pub(crate) fn local_date(ms: i64, zone: &TimeZone) -> Result<Date, String> {
    let timestamp = Timestamp::from_millisecond(ms)
        .map_err(|e| format!("time {ms} ms is out of range: {e}"))?;
    Ok(timestamp.to_zoned_datetime(zone.clone()).date())
}

/// `date` moved by `days` (negative: earlier).
pub(crate) fn add_days(date: Date, days: i32) -> Result<Date, String> {
    date.checked_add(Span::new().days(days))
        .map_err(|e| format!("date {date} moved by {days} days is out of range: {e}"))
}

/// Whole days from `from` to `to` (the civil calendar, no time zone involved).
pub(crate) fn days_between(from: Date, to: Date) -> i64 {
    (utc_midnight_ms(to) - utc_midnight_ms(from)) / MS_PER_DAY
}

fn utc_midnight_ms(date: Date) -> i64 {
    days_from_civil(
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    ) * MS_PER_DAY
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub(crate) const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

const fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

const fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The fixed form `YYYY-MM-DDTHH:MM:SSZ` read without jiff, for the peer layout's million
/// rows. Returns `None` for anything else (including second 60), which the caller then hands
/// to [`parse_time_value`]: for every string this accepts, the result equals jiff's.
#[inline]
pub(crate) fn parse_utc_seconds_fast(bytes: &[u8]) -> Option<i64> {
    if bytes.len() != 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || bytes[16] != b':'
        || bytes[19] != b'Z'
    {
        return None;
    }
    let digits = |from: usize, to: usize| -> Option<i64> {
        let mut value = 0i64;
        for &byte in &bytes[from..to] {
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            value = value * 10 + i64::from(digit);
        }
        Some(value)
    };
    let year = digits(0, 4)?;
    let month = digits(5, 7)?;
    let day = digits(8, 10)?;
    let hour = digits(11, 13)?;
    let minute = digits(14, 16)?;
    let second = digits(17, 19)?;
    // jiff's range ends in late 9999; leave the extremes to jiff.
    if !(1..=9998).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60 + second)
}

/// Reads a calendar date as ACLED and UCDP write it: `2025-03-20`, `2025-03-20 00:00:00.000`
/// (UCDP's CSV), `20 March 2025`, `20-March-2025`, `20-Mar-2025`, `20 Mar 2025`.
pub(crate) fn parse_calendar_date(text: &str) -> Result<Date, String> {
    let text = text.trim();
    let invalid = || {
        "not a calendar date (expected e.g. 2025-03-20, 20 March 2025 or 20-March-2025)".to_string()
    };
    if let Some(date_part) = text.get(..10).filter(|head| is_iso_date(head)) {
        let rest = &text[10..];
        let midnight = rest.is_empty()
            || ((rest.starts_with(' ') || rest.starts_with('T'))
                && rest[1..]
                    .bytes()
                    .all(|b| b == b'0' || b == b':' || b == b'.'));
        if !midnight {
            return Err("a date with a time of day other than midnight; expected a date".into());
        }
        return date_part
            .parse::<Date>()
            .map_err(|e| format!("not a valid date: {e}"));
    }
    let parts: Vec<&str> = text
        .split([' ', '-'])
        .filter(|part| !part.is_empty())
        .collect();
    let [day, month, year] = parts.as_slice() else {
        return Err(invalid());
    };
    let day: i8 = day.parse().map_err(|_| invalid())?;
    let year: i16 = year.parse().map_err(|_| invalid())?;
    let month = month_number(month).ok_or_else(invalid)?;
    Date::new(year, month, day).map_err(|e| format!("not a valid date: {e}"))
}

fn month_number(name: &str) -> Option<i8> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let lower = name.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|month| *month == lower || (lower.len() == 3 && month.starts_with(&lower)))
        .and_then(|index| i8::try_from(index + 1).ok())
}

/// An instant as RFC 3339 in UTC with millisecond precision when needed
/// (`2025-03-20T08:00:00Z`, `2025-03-20T08:00:00.123Z`).
pub(crate) fn format_instant(ms: i64) -> Result<String, String> {
    let timestamp = Timestamp::from_millisecond(ms)
        .map_err(|e| format!("time {ms} ms is out of range: {e}"))?;
    Ok(timestamp.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kyiv() -> TimeZone {
        TimeZone::get("Europe/Kyiv").unwrap()
    }

    #[test]
    fn fast_path_agrees_with_jiff() {
        for text in [
            "2024-03-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2000-02-29T12:34:56Z",
            "0001-01-01T00:00:00Z",
            "9998-12-31T23:59:59Z",
        ] {
            let fast = parse_utc_seconds_fast(text.as_bytes()).unwrap();
            let slow: Timestamp = text.parse().unwrap();
            assert_eq!(fast, slow.as_second(), "{text}");
        }
        for text in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00+00:00",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_utc_seconds_fast(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn date_only_is_the_whole_local_day() {
        let span = parse_time_value("2025-03-20", &kyiv()).unwrap();
        // Kyiv is UTC+2 in March before the DST change of 30 March.
        assert_eq!(
            format_instant(span.start_ms).unwrap(),
            "2025-03-19T22:00:00Z"
        );
        assert_eq!(
            format_instant(span.end_ms).unwrap(),
            "2025-03-20T21:59:59.999Z"
        );
        // The DST change day is 23 hours long.
        let span = parse_time_value("2025-03-30", &kyiv()).unwrap();
        assert_eq!(span.width_ms(), 23 * 3_600_000 - 1);
    }

    #[test]
    fn offsets_and_zones_are_instants() {
        let zone = kyiv();
        let expected = parse_time_value("2025-03-20T08:00:00Z", &zone).unwrap();
        for text in [
            "2025-03-20T10:00:00+02:00",
            "2025-03-20T10:00:00+02:00[Europe/Kyiv]",
            "2025-03-20T10:00:00[Europe/Kyiv]",
            " 2025-03-20T08:00:00Z ",
        ] {
            assert_eq!(parse_time_value(text, &zone).unwrap(), expected, "{text}");
        }
        assert_eq!(
            parse_time_value("2025-03-20T10:00:00", &zone).unwrap_err(),
            NO_OFFSET
        );
        assert!(
            parse_time_value("yesterday", &zone)
                .unwrap_err()
                .starts_with("not a valid time")
        );
        let early = parse_time_value("1969-12-31T23:59:59.9995Z", &zone).unwrap();
        assert_eq!(early.start_ms, -1);
    }

    #[test]
    fn calendar_dates_in_acled_and_ucdp_spellings() {
        let expected = Date::new(2025, 3, 20).unwrap();
        for text in [
            "2025-03-20",
            "20 March 2025",
            "20-March-2025",
            "20-Mar-2025",
            "2025-03-20 00:00:00.000",
        ] {
            assert_eq!(parse_calendar_date(text).unwrap(), expected, "{text}");
        }
        assert!(parse_calendar_date("31 February 2025").is_err());
        assert!(parse_calendar_date("2025-03-20 10:00:00").is_err());
        assert!(parse_calendar_date("March 2025").is_err());
    }

    #[test]
    fn days_between_counts_calendar_days() {
        let a = Date::new(2024, 2, 27).unwrap();
        let b = Date::new(2024, 3, 2).unwrap();
        assert_eq!(days_between(a, b), 4);
        assert_eq!(days_between(b, a), -4);
        assert_eq!(add_days(a, 4).unwrap(), b);
    }
}
