//! Listings with a time window, compared with a filter of every report in
//! Rust: windows from empty to the whole time line, reports from instants to
//! spans of centuries straddling the windows' edges, durations on either side
//! of every span class's limit, and every page walked by cursor; on every
//! backend. A window is answered by a short walk in log order, then from the
//! span index or by a longer walk, depending on how many reports overlap it;
//! the answers must not depend on which.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use std::collections::BTreeMap;

use common::{indexes, matches, report, walk};
use truce_store::{
    PageRequest, Projected, ReportFilter, ReportRecord, Store, TimeWindow, encode_cursor,
};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The first report's arrival.
const BASE_MS: i64 = 1_700_000_000_000;

/// How many ordinary reports [`reports`] makes.
const ORDINARY: u64 = 3_000;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Durations on either side of the span classes' limits (powers of four
/// from 2^10 ms to 2^40 ms), and some ordinary ones.
fn durations() -> Vec<i64> {
    let mut durations = vec![0, 1, 999, 5 * MINUTE_MS, HOUR_MS, 6 * HOUR_MS, DAY_MS];
    for power in (10..=40).step_by(2) {
        let limit = 1_i64 << power;
        durations.extend([limit - 1, limit, limit + 1]);
    }
    durations
}

/// Reports in log order, arriving ten minutes apart, each starting up to
/// three days before it arrives and lasting one of [`durations`]; one log
/// entry in five projects to nothing. Then reports with long spans around
/// the middle of the time line and at the ends of the integers. Returns the
/// reports and the log size.
fn reports() -> (Vec<ReportRecord>, u64) {
    let mut rng = Rng(0x7469_6d65);
    let durations = durations();
    let mut records = Vec::new();
    let mut index = 0;
    for k in 0..ORDINARY {
        if index % 5 == 4 {
            index += 1;
        }
        let arrival = BASE_MS + i64::try_from(k).unwrap() * 10 * MINUTE_MS;
        let start_ms = arrival - i64::try_from(rng.below(3 * DAY_MS as u64)).unwrap();
        let duration = durations[usize::try_from(rng.below(durations.len() as u64)).unwrap()];
        records.push(ReportRecord {
            party: (k % 3 == 0).then(|| "UA".to_owned()),
            zone_ids: if k % 4 == 0 {
                vec!["z1".to_owned()]
            } else {
                Vec::new()
            },
            start_ms,
            end_ms: start_ms + duration,
            ..report(index)
        });
        index += 1;
    }
    let middle = BASE_MS + 10 * DAY_MS;
    let extremes = [
        (middle - 100 * DAY_MS, middle + 100 * DAY_MS),
        (middle - 3 * DAY_MS, middle + 2 * DAY_MS),
        (middle - 36_500 * DAY_MS, middle),
        (middle, middle + 36_500 * DAY_MS),
        (i64::MIN, i64::MAX),
        (i64::MIN, middle),
        (middle, i64::MAX),
        (i64::MIN, i64::MIN),
        (i64::MAX, i64::MAX),
        // Around the times beyond which a report is put in the last class.
        (-(1 << 62), (1 << 62) - 1),
        (-(1 << 62) - 1, -(1 << 62) + 5),
        ((1 << 62) - 5, 1 << 62),
        (-(1 << 62), -(1 << 62) + (1 << 40)),
    ];
    for (start_ms, end_ms) in extremes {
        records.push(ReportRecord {
            start_ms,
            end_ms,
            ..report(index)
        });
        index += 2;
    }
    (records, index + 3)
}

async fn load<S: Store>(store: &S, records: &[ReportRecord], size: u64) {
    let mut applied = 0;
    for chunk in records.chunks(700) {
        let end = chunk.last().unwrap().log_index + 1;
        let items: Vec<Projected> = chunk.iter().cloned().map(Projected::Report).collect();
        store.apply(applied..end, &items).await.unwrap();
        applied = end;
    }
    store.apply(applied..size, &[]).await.unwrap();
}

fn window(start_ms: i64, end_ms: i64) -> TimeWindow {
    TimeWindow { start_ms, end_ms }
}

/// The windows compared: empty ones, a minute, days, weeks, the whole time
/// line; and apart, windows whose edges touch reports' ends and starts.
fn windows(records: &[ReportRecord]) -> (Vec<TimeWindow>, Vec<TimeWindow>) {
    let middle = BASE_MS + 10 * DAY_MS;
    let windows = vec![
        // Before the first ordinary report and after the last one, short of
        // the extreme ones: only the long spans.
        window(BASE_MS - 50 * DAY_MS, BASE_MS - 40 * DAY_MS),
        window(BASE_MS + 200 * DAY_MS, BASE_MS + 201 * DAY_MS),
        // Nothing at all.
        window(-(1 << 61), -(1 << 61) + 1_000),
        window(middle, middle + MINUTE_MS),
        window(middle, middle + DAY_MS - 1),
        window(BASE_MS + 5 * DAY_MS, BASE_MS + 6 * DAY_MS - 1),
        window(BASE_MS + 15 * DAY_MS, BASE_MS + 22 * DAY_MS - 1),
        window(BASE_MS - 3 * DAY_MS, BASE_MS + 30 * DAY_MS),
        window(i64::MIN, i64::MAX),
        window(i64::MIN, i64::MIN),
        window(i64::MAX, i64::MAX),
        window(middle, middle),
    ];
    // Windows starting exactly at a report's end, and ending exactly at its
    // start, for a report of every duration late in the log (beyond the
    // first walk in log order, so found from the span index).
    let mut edges = Vec::new();
    for duration in durations() {
        let ordinary = &records[..usize::try_from(ORDINARY).unwrap()];
        let Some(record) = ordinary
            .iter()
            .rev()
            .find(|record| record.end_ms - record.start_ms == duration)
        else {
            continue;
        };
        edges.push(window(record.end_ms, record.end_ms + HOUR_MS));
        edges.push(window(record.start_ms - HOUR_MS, record.start_ms));
    }
    (windows, edges)
}

/// The filters of one window: alone, with a party, with a zone, with both.
fn filters(time: TimeWindow) -> Vec<ReportFilter> {
    let alone = ReportFilter {
        time: Some(time),
        ..ReportFilter::default()
    };
    let party = ReportFilter {
        party: Some("UA".to_owned()),
        ..alone.clone()
    };
    let zone = ReportFilter {
        zone_id: Some("z1".to_owned()),
        ..alone.clone()
    };
    let both = ReportFilter {
        zone_id: Some("z1".to_owned()),
        ..party.clone()
    };
    vec![alone, party, zone, both]
}

fn expected(records: &[ReportRecord], filter: &ReportFilter) -> Vec<u64> {
    let matching: Vec<ReportRecord> = records
        .iter()
        .filter(|record| matches(filter, record))
        .cloned()
        .collect();
    indexes(&matching)
}

async fn windows_list_what_a_filter_in_rust_finds<S: Store>(store: S) {
    let (records, size) = reports();
    load(&store, &records, size).await;
    let by_index: BTreeMap<u64, &ReportRecord> = records
        .iter()
        .map(|record| (record.log_index, record))
        .collect();
    let mut seen_empty = false;
    let mut seen_long = false;
    let (fixed, edges) = windows(&records);
    let count = fixed.len();
    for (at, time) in fixed.into_iter().chain(edges).enumerate() {
        let mut filters = filters(time);
        if at >= count {
            // The edge windows: the window alone and with every filter.
            filters.drain(1..3);
        }
        for filter in filters {
            let wanted = expected(&records, &filter);
            seen_empty |= wanted.is_empty();
            seen_long |= wanted.len() > 1_000;
            // Short pages only where they are not too many.
            for (limit, up_to) in [(1, 40), (7, 300), (100, usize::MAX)] {
                if wanted.len() > up_to {
                    continue;
                }
                let listed = walk(&store, &filter, limit).await;
                assert_eq!(indexes(&listed), wanted, "{filter:?}, limit {limit}");
                // Records come back whole.
                for record in &listed {
                    assert_eq!(Some(record), by_index.get(&record.log_index).copied());
                }
            }
        }
    }
    assert!(seen_empty && seen_long);
}

async fn a_page_after_any_cursor_is_the_next_matching_reports<S: Store>(store: S) {
    let (records, size) = reports();
    load(&store, &records, size).await;
    let middle = BASE_MS + 10 * DAY_MS;
    let times = [
        window(middle, middle + DAY_MS - 1),
        window(BASE_MS + 15 * DAY_MS, BASE_MS + 22 * DAY_MS - 1),
        window(i64::MIN, i64::MAX),
    ];
    for time in times {
        for filter in filters(time) {
            let wanted = expected(&records, &filter);
            // Cursors at log indexes that match, that do not, and that hold
            // no report, from before the first to after the last.
            for after in (0..size + 5).step_by(37) {
                let page = store
                    .reports(&filter, PageRequest::after(encode_cursor(after), 25))
                    .await
                    .unwrap();
                let rest: Vec<u64> = wanted
                    .iter()
                    .copied()
                    .filter(|index| *index > after)
                    .collect();
                let next: Vec<u64> = rest.iter().copied().take(25).collect();
                assert_eq!(indexes(&page.items), next, "{filter:?} after {after}");
                let cursor = (rest.len() > 25).then(|| encode_cursor(next[24]));
                assert_eq!(page.next_cursor, cursor, "{filter:?} after {after}");
            }
        }
    }
}

/// Enough reports that a window over all of them is past the count beyond
/// which a listing walks the log order instead of reading the span index;
/// rare matches keep the first walk from filling the page.
async fn a_window_over_many_reports_walks_on<S: Store>(store: S) {
    let count = 60_000_u64;
    let records: Vec<ReportRecord> = (0..count)
        .map(|index| {
            let start_ms = BASE_MS + i64::try_from(index).unwrap() * MINUTE_MS;
            ReportRecord {
                party: index.is_multiple_of(500).then(|| "UA".to_owned()),
                start_ms,
                end_ms: start_ms + HOUR_MS,
                ..report(index)
            }
        })
        .collect();
    let items: Vec<Projected> = records.iter().cloned().map(Projected::Report).collect();
    for (at, chunk) in items.chunks(10_000).enumerate() {
        let first = at as u64 * 10_000;
        store
            .apply(first..first + chunk.len() as u64, chunk)
            .await
            .unwrap();
    }
    let everything = window(i64::MIN, i64::MAX);
    let late = window(BASE_MS + 59_000 * MINUTE_MS, BASE_MS + 59_500 * MINUTE_MS);
    for time in [everything, late] {
        let rare = ReportFilter {
            party: Some("UA".to_owned()),
            time: Some(time),
            ..ReportFilter::default()
        };
        let all = ReportFilter {
            party: None,
            ..rare.clone()
        };
        for (filter, limit) in [(&rare, 7), (&rare, 1000), (&all, 1000)] {
            let listed = walk(&store, filter, limit).await;
            assert_eq!(indexes(&listed), expected(&records, filter), "{filter:?}");
        }
    }
}

on_every_backend!(
    windows_list_what_a_filter_in_rust_finds,
    a_page_after_any_cursor_is_the_next_matching_reports,
    a_window_over_many_reports_walks_on,
);
