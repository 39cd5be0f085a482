//! Report filters and cursor pagination, shared by every backend.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::{ReportRecord, StoreError};

/// The page size when a request names none.
pub const DEFAULT_PAGE_LIMIT: u32 = 100;

/// The largest page size.
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// An inclusive time window; a report matches when its own span
/// `[start_ms, end_ms]` overlaps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    /// Start (Unix epoch milliseconds), inclusive.
    pub start_ms: i64,
    /// End (Unix epoch milliseconds), inclusive.
    pub end_ms: i64,
}

impl TimeWindow {
    /// Whether a span `[start_ms, end_ms]` overlaps the window.
    pub fn overlaps(&self, start_ms: i64, end_ms: i64) -> bool {
        start_ms <= self.end_ms && end_ms >= self.start_ms
    }
}

/// The span classes of reports, for time-window listings: a report whose
/// duration `end_ms - start_ms` is below `SPAN_CLASS_LIMITS[c]` is in class
/// `c` (the first that fits); longer reports, and those with a time beyond
/// ±2⁶² ms (whose duration could overflow), are in class
/// [`UNBOUNDED_SPAN_CLASS`]. Both schemas compute the class from the same
/// limits (the `span_class` column of `reports`, indexed with the start and
/// end); a report of class `c` overlapping a window starts at most
/// `SPAN_CLASS_LIMITS[c] - 1` ms before it, so each class is one range of
/// that index. Limits grow fourfold from about a second to about 35 years.
pub(crate) const SPAN_CLASS_LIMITS: [i64; 16] = [
    1 << 10,
    1 << 12,
    1 << 14,
    1 << 16,
    1 << 18,
    1 << 20,
    1 << 22,
    1 << 24,
    1 << 26,
    1 << 28,
    1 << 30,
    1 << 32,
    1 << 34,
    1 << 36,
    1 << 38,
    1 << 40,
];

/// The class of reports without a bound on their duration.
pub(crate) const UNBOUNDED_SPAN_CLASS: i64 = SPAN_CLASS_LIMITS.len() as i64;

/// A listing with a time window first walks this many log entries per row it
/// wants in log order (a wide window fills its page there, as before); when
/// the page is not full, it counts the reports overlapping the window after
/// the last row it found, up to [`WINDOW_CANDIDATE_LIMIT`].
pub(crate) const WALK_ENTRIES_PER_ROW: i64 = 10;

/// Below this many reports overlapping the window (whatever the other
/// filters), the rest of a page is found from the span index and sorted into
/// log order; at or above it, the walk in log order goes on.
pub(crate) const WINDOW_CANDIDATE_LIMIT: i64 = 50_000;

impl TimeWindow {
    /// For every span class, the class and the earliest start a report of
    /// that class overlapping the window can have; the latest is the window's
    /// end.
    pub(crate) fn class_starts(&self) -> impl Iterator<Item = (i64, i64)> + use<> {
        let start_ms = self.start_ms;
        let bounded = SPAN_CLASS_LIMITS
            .into_iter()
            .enumerate()
            .map(move |(class, limit)| (class as i64, start_ms.saturating_sub(limit - 1)));
        bounded.chain(std::iter::once((UNBOUNDED_SPAN_CLASS, i64::MIN)))
    }
}

/// Which way a listing with a time window finds the rest of its page after
/// the walk of [`WALK_ENTRIES_PER_ROW`] entries per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowPlan {
    /// No report after the walk overlaps the window: the page is complete.
    Done,
    /// Few enough overlap it: find them from the span index, then sort.
    FromIndex,
    /// Too many: walk on in log order.
    Walk,
}

impl WindowPlan {
    /// The plan for `candidates` overlapping reports (counted up to
    /// [`WINDOW_CANDIDATE_LIMIT`]).
    pub(crate) fn for_candidates(candidates: i64) -> Self {
        match candidates {
            0 => WindowPlan::Done,
            count if count < WINDOW_CANDIDATE_LIMIT => WindowPlan::FromIndex,
            _ => WindowPlan::Walk,
        }
    }
}

/// A page of reports from the up to `limit + 1` found (one more than a page, to tell whether
/// another page follows): the first `limit`, and a cursor after the last of them when more
/// were found.
pub(crate) fn report_page(mut items: Vec<ReportRecord>, limit: u32) -> Page<ReportRecord> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = match items.last() {
        Some(last) if more => Some(encode_cursor(last.log_index)),
        _ => None,
    };
    Page { items, next_cursor }
}

/// The rows of a listing with a time window after log index `after`, at most `wanted`, put
/// together the same way on both backends from their three steps: `walk(after, upto,
/// wanted)` in log order (up to log index `upto` when given), `count(after)` of the reports
/// overlapping the window after `after` (up to [`WINDOW_CANDIDATE_LIMIT`]), and
/// `from_index(after, wanted)` through the span index, sorted into log order.
///
/// A wide window fills its page within a short walk in log order; otherwise the reports
/// overlapping it after the walk are counted on the span index and, when they are few,
/// found from it. The planner cannot tell which: it takes the reports of a window to be
/// spread evenly through the log, where they are bunched.
pub(crate) async fn window_rows<Row, Walk, Count, FromIndex>(
    after: i64,
    wanted: i64,
    log_index: impl Fn(&Row) -> i64,
    walk: impl Fn(i64, Option<i64>, i64) -> Walk,
    count: impl FnOnce(i64) -> Count,
    from_index: impl FnOnce(i64, i64) -> FromIndex,
) -> Result<Vec<Row>, StoreError>
where
    Walk: Future<Output = Result<Vec<Row>, StoreError>>,
    Count: Future<Output = Result<i64, StoreError>>,
    FromIndex: Future<Output = Result<Vec<Row>, StoreError>>,
{
    let walked_to = after.saturating_add(WALK_ENTRIES_PER_ROW * wanted);
    let mut rows = walk(after, Some(walked_to), wanted).await?;
    let missing = wanted - rows.len() as i64;
    if missing > 0 && walked_to < i64::MAX {
        // The rest starts after the last row found, not after the walk's end: a batch
        // applied since may have added reports there (new reports come after every
        // stored one).
        let resume = rows.last().map_or(after, &log_index);
        let rest = match WindowPlan::for_candidates(count(resume).await?) {
            WindowPlan::Done => Vec::new(),
            WindowPlan::FromIndex => from_index(resume, missing).await?,
            WindowPlan::Walk => walk(resume, None, missing).await?,
        };
        rows.extend(rest);
    }
    Ok(rows)
}

/// A box in longitude and latitude (degrees); a report matches when its
/// reported point lies inside or on the edge (its uncertainty radius is not
/// considered). Boxes do not wrap across the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    /// West edge.
    pub min_lon: f64,
    /// South edge.
    pub min_lat: f64,
    /// East edge.
    pub max_lon: f64,
    /// North edge.
    pub max_lat: f64,
}

impl BoundingBox {
    /// Whether the point `(lon, lat)` lies inside or on the edge.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.min_lon..=self.max_lon).contains(&lon) && (self.min_lat..=self.max_lat).contains(&lat)
    }
}

/// Which reports a query wants. Every field left `None` matches all reports;
/// the fields that are set must all match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportFilter {
    /// Submitted under this agreement.
    pub agreement_id: Option<String>,
    /// Falling in this zone.
    pub zone_id: Option<String>,
    /// Submitted by a source speaking for this party.
    pub party: Option<String>,
    /// Accusing this actor.
    pub actor: Option<String>,
    /// Submitted by a source of this kind.
    pub source_kind: Option<String>,
    /// Overlapping this time window.
    pub time: Option<TimeWindow>,
    /// With the reported point inside this box.
    pub bbox: Option<BoundingBox>,
    /// Only these log indexes (for instance the reports whose finding has a
    /// given verdict). An empty set matches nothing.
    pub log_indexes: Option<BTreeSet<u64>>,
}

impl ReportFilter {
    /// Checks the time window and bounding box.
    pub fn validate(&self) -> Result<(), StoreError> {
        if let Some(window) = self.time
            && window.start_ms > window.end_ms
        {
            return Err(StoreError::InvalidTimeWindow {
                start_ms: window.start_ms,
                end_ms: window.end_ms,
            });
        }
        if let Some(bbox) = self.bbox {
            let values = [bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat];
            if !values.iter().all(|value| value.is_finite())
                || bbox.min_lon > bbox.max_lon
                || bbox.min_lat > bbox.max_lat
            {
                return Err(StoreError::InvalidBoundingBox {
                    min_lon: bbox.min_lon,
                    min_lat: bbox.min_lat,
                    max_lon: bbox.max_lon,
                    max_lat: bbox.max_lat,
                });
            }
        }
        Ok(())
    }
}

/// Which page of a listing a query wants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// The `next_cursor` of the previous page; `None` for the first page.
    pub cursor: Option<String>,
    /// How many items at most, `1..=1000`; `None` for 100.
    pub limit: Option<u32>,
}

impl PageRequest {
    /// The first page with `limit` items at most.
    pub fn first(limit: u32) -> Self {
        PageRequest {
            cursor: None,
            limit: Some(limit),
        }
    }

    /// The page after the one that handed out `cursor`.
    pub fn after(cursor: impl Into<String>, limit: u32) -> Self {
        PageRequest {
            cursor: Some(cursor.into()),
            limit: Some(limit),
        }
    }

    /// Checks the request: the log index the page starts after (`None` for
    /// the first page) and the limit.
    pub fn resolve(&self) -> Result<(Option<u64>, u32), StoreError> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        if !(1..=MAX_PAGE_LIMIT).contains(&limit) {
            return Err(StoreError::InvalidLimit {
                limit,
                max: MAX_PAGE_LIMIT,
            });
        }
        let after = self.cursor.as_deref().map(decode_cursor).transpose()?;
        Ok((after, limit))
    }
}

/// One page of a listing, in ascending log index order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` when this page is the last.
    pub next_cursor: Option<String>,
}

/// The opaque cursor of a page whose last item has log index `last`:
/// base64url (no padding) of the index in decimal.
pub fn encode_cursor(last: u64) -> String {
    URL_SAFE_NO_PAD.encode(last.to_string())
}

/// The log index a cursor made by [`encode_cursor`] stands for. Only the
/// exact text `encode_cursor` produces is accepted.
pub fn decode_cursor(cursor: &str) -> Result<u64, StoreError> {
    let invalid = || StoreError::InvalidCursor {
        cursor: cursor.to_owned(),
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
    let last: u64 = text.parse().map_err(|_| invalid())?;
    if encode_cursor(last) == cursor {
        Ok(last)
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn cursors_round_trip(last in any::<u64>()) {
            prop_assert_eq!(decode_cursor(&encode_cursor(last)).unwrap(), last);
        }

        #[test]
        fn only_canonical_cursors_decode(text in "[A-Za-z0-9_=+/-]{0,12}") {
            if let Ok(last) = decode_cursor(&text) {
                prop_assert_eq!(encode_cursor(last), text);
            }
        }
    }

    #[test]
    fn non_canonical_cursors_are_refused() {
        let padded = base64::engine::general_purpose::URL_SAFE.encode("17");
        let leading_zero = URL_SAFE_NO_PAD.encode("017");
        let signed = URL_SAFE_NO_PAD.encode("+17");
        for cursor in ["", "xx", "MTc=", &padded, &leading_zero, &signed, "!!"] {
            let error = decode_cursor(cursor).unwrap_err();
            assert_eq!(error.to_string(), format!("invalid cursor {cursor:?}"));
        }
        assert_eq!(decode_cursor("MTc").unwrap(), 17);
    }

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(PageRequest::default().resolve().unwrap(), (None, 100));
        assert_eq!(PageRequest::first(1000).resolve().unwrap(), (None, 1000));
        for limit in [0, 1001] {
            let error = PageRequest::first(limit).resolve().unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("page limit {limit} is outside 1..=1000")
            );
        }
        let request = PageRequest::after(encode_cursor(41), 7);
        assert_eq!(request.resolve().unwrap(), (Some(41), 7));
    }

    #[test]
    fn filters_with_reversed_windows_or_boxes_are_refused() {
        let reversed_time = ReportFilter {
            time: Some(TimeWindow {
                start_ms: 5,
                end_ms: 3,
            }),
            ..ReportFilter::default()
        };
        assert_eq!(
            reversed_time.validate().unwrap_err().to_string(),
            "time window 5..=3 ends before it starts"
        );
        let boxes = [
            [31.0, 47.0, 30.0, 48.0],
            [30.0, 48.0, 31.0, 47.0],
            [f64::NAN, 47.0, 31.0, 48.0],
            [30.0, 47.0, f64::INFINITY, 48.0],
        ];
        for [min_lon, min_lat, max_lon, max_lat] in boxes {
            let filter = ReportFilter {
                bbox: Some(BoundingBox {
                    min_lon,
                    min_lat,
                    max_lon,
                    max_lat,
                }),
                ..ReportFilter::default()
            };
            assert!(matches!(
                filter.validate(),
                Err(StoreError::InvalidBoundingBox { .. })
            ));
        }
        let point = ReportFilter {
            time: Some(TimeWindow {
                start_ms: 3,
                end_ms: 3,
            }),
            bbox: Some(BoundingBox {
                min_lon: 30.0,
                min_lat: 47.0,
                max_lon: 30.0,
                max_lat: 47.0,
            }),
            ..ReportFilter::default()
        };
        point.validate().unwrap();
    }

    #[test]
    fn class_starts_bound_every_overlapping_report() {
        let window = TimeWindow {
            start_ms: 1_000_000_000,
            end_ms: 1_000_086_399,
        };
        let starts: Vec<(i64, i64)> = window.class_starts().collect();
        assert_eq!(starts.len(), SPAN_CLASS_LIMITS.len() + 1);
        assert_eq!(starts[0], (0, 1_000_000_000 - 1023));
        assert_eq!(starts[16], (UNBOUNDED_SPAN_CLASS, i64::MIN));
        // The longest report of a class that still touches the window
        // starts exactly at the class's earliest start.
        for (class, limit) in SPAN_CLASS_LIMITS.into_iter().enumerate() {
            let start = starts[class].1;
            assert!(window.overlaps(start, start + limit - 1));
            assert!(!window.overlaps(start - 1, start - 1 + limit - 1));
        }
        let early = TimeWindow {
            start_ms: i64::MIN + 5,
            end_ms: 0,
        };
        assert!(early.class_starts().all(|(_, start)| start == i64::MIN));
    }

    #[test]
    fn plans_follow_the_candidate_count() {
        assert_eq!(WindowPlan::for_candidates(0), WindowPlan::Done);
        assert_eq!(WindowPlan::for_candidates(1), WindowPlan::FromIndex);
        assert_eq!(
            WindowPlan::for_candidates(WINDOW_CANDIDATE_LIMIT - 1),
            WindowPlan::FromIndex
        );
        assert_eq!(
            WindowPlan::for_candidates(WINDOW_CANDIDATE_LIMIT),
            WindowPlan::Walk
        );
    }

    #[test]
    fn windows_overlap_inclusively() {
        let window = TimeWindow {
            start_ms: 10,
            end_ms: 20,
        };
        assert!(window.overlaps(20, 30));
        assert!(window.overlaps(0, 10));
        assert!(window.overlaps(12, 13));
        assert!(window.overlaps(0, 100));
        assert!(!window.overlaps(21, 30));
        assert!(!window.overlaps(0, 9));
    }
}
