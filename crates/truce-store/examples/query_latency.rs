//! How long the dashboard's main report queries take on a large store: a
//! timing check run by hand, not a test.
//!
//! ```text
//! cargo run --release -p truce-store --example query_latency -- \
//!     [REPORTS] [RUNS] [--explain] [--sqlite-only | --postgres-only]
//! ```
//!
//! Each backend gets a fresh store: SQLite in a temporary directory, and,
//! when `TRUCE_TEST_POSTGRES_URL` names a server, PostgreSQL in a database
//! created for the run on that server and dropped at the end (the URL's own
//! database is only used to create and drop it). The store is filled through
//! [`Store::apply`] in batches of 10,000 log entries with `REPORTS` reports
//! (default 1,000,000), each with the receipt of its submission, plus a few
//! sources, agreement versions and, every twentieth entry, a review or other
//! annotation. Reports fall over Ukraine's bounding box (lon 22–40, lat
//! 44–52.5), two thirds of them near a line of contact, arrive over a year in
//! log order, and are spread over three agreements, eight zones (a quarter of
//! those near the line in two), twelve sources and two parties. The load
//! rate is printed. On PostgreSQL the tables are then vacuumed and analysed,
//! as autovacuum would do after such a load, so the planner has statistics.
//!
//! Then each query kind runs `RUNS` times (default 50) after 5 warm-ups,
//! one query at a time, with parameters drawn from a fixed seed, so both
//! backends answer the same queries; p50 and p99 (nearest rank: with 50
//! runs the p99 is the slowest run) are printed in milliseconds as a
//! Markdown table, with the median number of rows a query returned. The
//! last kinds were added later (each kind's parameters derive from its
//! place in the list, so new kinds go at the end): a time window covering
//! the whole log, and the tenth page of a week's reports.
//!
//! `--explain` also prints the plans of the report listings with a bounding
//! box, a zone, a party, a day and the combination, written as the stores
//! write them, with the first measured run's parameters: SQLite's
//! `EXPLAIN QUERY PLAN`, and PostgreSQL's `EXPLAIN (ANALYZE, BUFFERS)` of
//! the listing prepared as a statement, once with a plan made for the values
//! and once with the generic plan that PostgreSQL may switch a prepared
//! statement to after five executions (the store's driver prepares and
//! reuses its statements). It then times those listings again, each planned
//! for its own values, for comparison. These are the listings that walk the
//! log order; a listing with a time window whose page that walk does not
//! fill soon goes on from the span index instead (see the crate
//! documentation), which these plans do not show.

#![forbid(unsafe_code)]

#[path = "support/scratch_db.rs"]
mod scratch_db;

use std::collections::BTreeSet;
use std::error::Error;
use std::ops::Range;
use std::str::FromStr;
use std::time::{Duration, Instant};

use scratch_db::{execute, with_database};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, Connection, Row};
use truce_store::{
    AgreementRecord, AnnotationKind, AnnotationRecord, BoundingBox, PageRequest, PgStore,
    Projected, ReportFilter, ReportRecord, SourceRecord, SqliteStore, Store, TimeWindow,
};

/// The variable naming the PostgreSQL server.
const URL_VAR: &str = "TRUCE_TEST_POSTGRES_URL";

/// The seed every random choice derives from.
const SEED: u64 = 0x7472_7563_655f_7131;

/// Warm-up runs of each query kind before the measured ones.
const WARMUPS: u64 = 5;

/// Log entries per applied batch.
const BATCH_ENTRIES: u64 = 10_000;

/// The first report's arrival: 2025-03-18 00:00 UTC.
const BASE_MS: i64 = 1_742_256_000_000;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const YEAR_MS: i64 = 365 * DAY_MS;

/// Reports per block of log entries; each block ends with one annotation.
const BLOCK_REPORTS: u64 = 19;
const BLOCK_ENTRIES: u64 = BLOCK_REPORTS + 1;

/// The registered sources: name, kind, the party it speaks for, and its
/// share of the reports in percent.
const SOURCES: [(&str, &str, Option<&str>, u64); 12] = [
    ("ua-general-staff", "party", Some("UA"), 14),
    ("ua-energy-ministry", "party", Some("UA"), 6),
    ("ru-defence-ministry", "party", Some("RU"), 14),
    ("ru-energy-ministry", "party", Some("RU"), 6),
    ("monitor-east", "monitor", None, 12),
    ("monitor-south", "monitor", None, 10),
    ("monitor-kyiv", "monitor", None, 4),
    ("media-wire", "media", None, 8),
    ("media-regional", "media", None, 6),
    ("osint-geolocation", "osint", None, 9),
    ("osint-fire-data", "osint", None, 7),
    ("ngo-civilian-harm", "ngo", None, 4),
];

/// The agreement versions: id, version, interpretation.
const AGREEMENTS: [(&str, u32, &str); 6] = [
    ("ceasefire-2025", 1, "common"),
    ("energy-moratorium-2025", 1, "common"),
    ("black-sea-2025", 1, "common"),
    ("ceasefire-2025", 2, "common"),
    ("ceasefire-2025", 2, "UA"),
    ("ceasefire-2025", 2, "RU"),
];

/// The agreements reports are submitted under, with their share in percent.
const REPORT_AGREEMENTS: [(&str, u64); 3] = [
    ("ceasefire-2025", 70),
    ("energy-moratorium-2025", 20),
    ("black-sea-2025", 10),
];

/// Entries before the first report: the sources, then the agreements.
const PREFIX: u64 = (SOURCES.len() + AGREEMENTS.len()) as u64;

/// The zones, the four largest first.
const ZONES: [&str; 8] = [
    "buffer-east",
    "buffer-south",
    "energy-east",
    "energy-south",
    "znpp-exclusion",
    "energy-kyiv",
    "energy-west",
    "odesa-ports",
];

const PARTIES: [&str; 2] = ["UA", "RU"];

const ACTIONS: [&str; 8] = [
    "artillery",
    "mortar",
    "mlrs",
    "missile_strike",
    "drone_strike",
    "air_strike",
    "ground_assault",
    "small_arms",
];

const TARGETS: [&str; 6] = [
    "energy",
    "civilian_residential",
    "civilian_infrastructure",
    "transport",
    "medical",
    "maritime",
];

/// A line of contact, west to north-east (lon, lat).
const LINE: [(f64, f64); 9] = [
    (32.6, 46.6),
    (33.9, 47.0),
    (35.2, 47.4),
    (36.8, 47.7),
    (37.6, 48.0),
    (38.0, 48.6),
    (38.0, 49.0),
    (37.9, 49.6),
    (37.6, 50.2),
];

/// The Zaporizhzhia nuclear power plant (lon, lat).
const ZNPP: (f64, f64) = (34.59, 47.51);

type Failure = Box<dyn Error + Send + Sync>;

/// A small deterministic generator (SplitMix64): the same seed gives the
/// same stream on every machine, so both backends get the same data and
/// the same queries.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed);
        rng.next_u64();
        rng
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Uniform in `[low, high)`.
    fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index into `weights`, drawn in proportion to them.
    fn weighted(&mut self, weights: impl Iterator<Item = u64> + Clone) -> usize {
        let total: u64 = weights.clone().sum();
        let mut left = self.below(total);
        for (at, weight) in weights.enumerate() {
            if left < weight {
                return at;
            }
            left -= weight;
        }
        0
    }
}

/// The store's contents: every record is a function of its position, so
/// any of them can be made again to choose query parameters.
#[derive(Debug, Clone, Copy)]
struct Data {
    /// How many reports.
    reports: u64,
}

impl Data {
    /// The log index of report number `k`.
    fn report_index(k: u64) -> u64 {
        PREFIX + (k / BLOCK_REPORTS) * BLOCK_ENTRIES + k % BLOCK_REPORTS
    }

    /// The number of log entries: the prefix, the reports and the
    /// annotation closing each complete block.
    fn entries(&self) -> u64 {
        let blocks = self.reports / BLOCK_REPORTS;
        PREFIX + blocks * BLOCK_ENTRIES + self.reports % BLOCK_REPORTS
    }

    /// How many complete blocks (each with an annotation entry).
    fn blocks(&self) -> u64 {
        self.reports / BLOCK_REPORTS
    }

    /// The items the log entries `range` project to.
    fn items(&self, range: Range<u64>) -> Vec<Projected> {
        let mut items = Vec::new();
        for index in range {
            if index < SOURCES.len() as u64 {
                items.push(Projected::Source(source(index)));
                continue;
            }
            if index < PREFIX {
                items.push(Projected::Agreement(agreement(index)));
                continue;
            }
            let offset = index - PREFIX;
            let (block, place) = (offset / BLOCK_ENTRIES, offset % BLOCK_ENTRIES);
            if place < BLOCK_REPORTS {
                let k = block * BLOCK_REPORTS + place;
                let report = self.report(k);
                items.push(Projected::Receipt {
                    key: format!("{}+{:08x}", report.source_name, index % 97),
                    nonce: format!("{k:032x}"),
                    log_index: index,
                });
                items.push(Projected::Report(report));
            } else {
                items.extend(
                    self.annotations(block)
                        .into_iter()
                        .map(Projected::Annotation),
                );
            }
        }
        items
    }

    /// When report number `k` arrives: evenly over a year, in log order.
    fn arrival_ms(&self, k: u64) -> i64 {
        let step = YEAR_MS as f64 / self.reports as f64;
        BASE_MS + (k as f64 * step) as i64
    }

    /// Report number `k`.
    fn report(&self, k: u64) -> ReportRecord {
        let mut rng = Rng::new(SEED ^ k.wrapping_mul(0xd1b5_4a32_d192_ed03));
        let agreement = REPORT_AGREEMENTS[rng.weighted(REPORT_AGREEMENTS.iter().map(|a| a.1))].0;
        let (source_name, source_kind, party, _) =
            SOURCES[rng.weighted(SOURCES.iter().map(|s| s.3))];
        let actor = match party {
            Some("UA") => Some("RU"),
            Some(_) => Some("UA"),
            None => match rng.below(20) {
                0..9 => Some("RU"),
                9..16 => Some("UA"),
                _ => None,
            },
        };
        // Events are reported up to three days after they happen and last
        // up to six hours.
        let arrival = self.arrival_ms(k);
        let start_ms = arrival - rng.below(3 * DAY_MS as u64) as i64;
        let end_ms = start_ms + rng.below(6 * HOUR_MS as u64) as i64;
        let (lon, lat, zone_ids) = if rng.chance(0.65) {
            near_line(&mut rng)
        } else {
            anywhere(&mut rng)
        };
        ReportRecord {
            log_index: Data::report_index(k),
            report_id: format!("r-{k}"),
            agreement_id: agreement.to_owned(),
            source_name: source_name.to_owned(),
            source_kind: source_kind.to_owned(),
            party: party.map(str::to_owned),
            actor: actor.map(str::to_owned),
            action: rng.pick(&ACTIONS).to_string(),
            target: rng.pick(&TARGETS).to_string(),
            start_ms,
            end_ms,
            lon,
            lat,
            radius_m: rng.range(100.0, 5_000.0).round(),
            zone_ids,
            submitted_at_ms: arrival.max(end_ms),
        }
    }

    /// The annotation entry closing `block`: about the block's first report,
    /// and some of the time also about the previous block's, so a subject
    /// has one annotation or two.
    fn annotations(&self, block: u64) -> Vec<AnnotationRecord> {
        let mut rng = Rng::new(SEED ^ !block.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let kind = match rng.below(20) {
            0..12 => AnnotationKind::Review,
            12..17 => AnnotationKind::Contest,
            17..19 => AnnotationKind::Retraction,
            _ => AnnotationKind::Coverage,
        };
        let author = SOURCES[rng.below(SOURCES.len() as u64) as usize].0;
        let log_index = PREFIX + block * BLOCK_ENTRIES + BLOCK_REPORTS;
        let submitted_at_ms = self.arrival_ms(block * BLOCK_REPORTS + BLOCK_REPORTS - 1);
        let mut subjects = vec![block * BLOCK_REPORTS];
        if block > 0 && rng.chance(0.3) {
            subjects.push((block - 1) * BLOCK_REPORTS);
        }
        subjects
            .into_iter()
            .map(|k| AnnotationRecord {
                log_index,
                kind,
                subject: format!("r-{k}"),
                author: author.to_owned(),
                body_json: format!(
                    "{{\"kind\":\"{kind}\",\"subject\":\"r-{k}\",\"note\":\"checked against imagery\"}}"
                ),
                submitted_at_ms,
            })
            .collect()
    }
}

/// A point near the line of contact, in one buffer zone and a quarter of
/// the time in a second zone.
fn near_line(rng: &mut Rng) -> (f64, f64, Vec<String>) {
    let segment = rng.below(LINE.len() as u64 - 1) as usize;
    let ((lon0, lat0), (lon1, lat1)) = (LINE[segment], LINE[segment + 1]);
    let along = rng.unit();
    // Triangular spread of up to 0.4° either side.
    let lon = lon0 + (lon1 - lon0) * along + 0.4 * (rng.unit() - rng.unit());
    let lat = lat0 + (lat1 - lat0) * along + 0.4 * (rng.unit() - rng.unit());
    let south = lon < 35.5;
    let mut zones = vec![if south { "buffer-south" } else { "buffer-east" }.to_owned()];
    if rng.chance(0.25) {
        let near_plant = (lon - ZNPP.0).hypot(lat - ZNPP.1) < 0.4;
        zones.push(
            match (near_plant, south) {
                (true, _) => "znpp-exclusion",
                (false, true) => "energy-south",
                (false, false) => "energy-east",
            }
            .to_owned(),
        );
    }
    (lon, lat, zones)
}

/// A point anywhere in the box, in an energy zone or a port zone some of
/// the time.
fn anywhere(rng: &mut Rng) -> (f64, f64, Vec<String>) {
    let lon = rng.range(22.0, 40.0);
    let lat = rng.range(44.0, 52.5);
    let zones = if rng.chance(0.3) {
        let zone = match (lon, lat) {
            (lon, _) if lon < 27.0 => "energy-west",
            (_, lat) if lat < 47.0 => "odesa-ports",
            (lon, _) if lon < 33.0 => "energy-kyiv",
            _ => "energy-east",
        };
        vec![zone.to_owned()]
    } else {
        Vec::new()
    };
    (lon, lat, zones)
}

/// The source registered at `index` (`index < SOURCES.len()`).
fn source(index: u64) -> SourceRecord {
    let (name, kind, party, _) = SOURCES[index as usize];
    SourceRecord {
        name: name.to_owned(),
        vkey: format!(
            "{name}+{:08x}+AW1vbml0b3Ita2V5LXBsYWNlaG9sZGVy",
            index * 7919
        ),
        kind: kind.to_owned(),
        party: party.map(str::to_owned),
        role: if kind == "monitor" {
            "monitor"
        } else {
            "reporter"
        }
        .to_owned(),
        registered_at_index: index,
        revoked_at_index: None,
        revoked_at_ms: None,
    }
}

/// The agreement version registered at `index` (in the prefix, after the
/// sources).
fn agreement(index: u64) -> AgreementRecord {
    let (id, version, interpretation) = AGREEMENTS[(index - SOURCES.len() as u64) as usize];
    AgreementRecord {
        id: id.to_owned(),
        version,
        interpretation: interpretation.to_owned(),
        log_index: index,
        content_sha256: format!("{:064x}", index.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        title: format!("{id} v{version}"),
        registered_at_ms: BASE_MS - DAY_MS + index as i64,
    }
}

/// Fills `store` with `data` in batches; returns the seconds it took.
async fn load<S: Store>(store: &S, data: Data) -> Result<f64, Failure> {
    let entries = data.entries();
    let started = Instant::now();
    let mut next_note = entries / 10;
    let mut start = 0;
    while start < entries {
        let end = (start + BATCH_ENTRIES).min(entries);
        let items = data.items(start..end);
        store.apply(start..end, &items).await?;
        start = end;
        if start >= next_note && start < entries {
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "  {start} of {entries} entries in {seconds:.1} s ({:.0} entries/s)",
                start as f64 / seconds
            );
            next_note += entries / 10;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if store.applied_size().await? != entries {
        return Err("the store did not apply every batch".into());
    }
    let annotation_rows: usize = (0..data.blocks())
        .map(|block| data.annotations(block).len())
        .sum();
    println!(
        "loaded {} reports ({entries} log entries: + {} receipts, {annotation_rows} annotation rows \
         of {} entries, {PREFIX} sources and agreements) in {seconds:.1} s: {:.0} reports/s, \
         {:.0} entries/s, batches of {BATCH_ENTRIES} entries",
        data.reports,
        data.reports,
        data.blocks(),
        data.reports as f64 / seconds,
        entries as f64 / seconds,
    );
    Ok(seconds)
}

/// The kinds of query measured, in the order of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    FirstPage,
    SmallBox,
    LargeBox,
    Zone,
    Party,
    Day,
    Combined,
    Verdict,
    TenthPage,
    TenthPageZone,
    ByIndex,
    ById,
    Annotations,
    Source,
    Agreement,
    WholeLog,
    TenthPageWeek,
}

impl Kind {
    /// In the order of the table. New kinds go at the end: a kind's
    /// parameters derive from its position here.
    const ALL: [Kind; 17] = [
        Kind::FirstPage,
        Kind::SmallBox,
        Kind::LargeBox,
        Kind::Zone,
        Kind::Party,
        Kind::Day,
        Kind::Combined,
        Kind::Verdict,
        Kind::TenthPage,
        Kind::TenthPageZone,
        Kind::ByIndex,
        Kind::ById,
        Kind::Annotations,
        Kind::Source,
        Kind::Agreement,
        Kind::WholeLog,
        Kind::TenthPageWeek,
    ];

    fn label(self) -> &'static str {
        match self {
            Kind::FirstPage => "first page, all reports",
            Kind::SmallBox => "page, bounding box ~20 km",
            Kind::LargeBox => "page, bounding box ~300 km",
            Kind::Zone => "page, one zone",
            Kind::Party => "page, one party",
            Kind::Day => "page, one day",
            Kind::Combined => "page, zone + party + week",
            Kind::Verdict => "page, verdict (10 % of log indexes)",
            Kind::TenthPage => "10th page, all reports (cursors)",
            Kind::TenthPageZone => "10th page, one large zone (cursors)",
            Kind::ByIndex => "report by log index",
            Kind::ById => "report by id",
            Kind::Annotations => "annotations of a subject",
            Kind::Source => "source by name",
            Kind::Agreement => "agreement, latest version",
            Kind::WholeLog => "page, window over the whole year",
            Kind::TenthPageWeek => "10th page, one week (cursors)",
        }
    }

    /// The parameters of run `run` of this kind.
    fn rng(self, run: u64) -> Rng {
        let kind = Kind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u64;
        Rng::new(SEED ^ (kind << 40) ^ run)
    }
}

/// A box of `width_km` by `width_km` around a report's point.
fn bbox_around(report: &ReportRecord, width_km: f64) -> BoundingBox {
    let half_lat = width_km / 2.0 / 111.2;
    let half_lon = half_lat / report.lat.to_radians().cos();
    BoundingBox {
        min_lon: report.lon - half_lon,
        min_lat: report.lat - half_lat,
        max_lon: report.lon + half_lon,
        max_lat: report.lat + half_lat,
    }
}

/// The day `day` (counted from the first arrival) as a window.
fn days(day: i64, count: i64) -> TimeWindow {
    TimeWindow {
        start_ms: BASE_MS + day * DAY_MS,
        end_ms: BASE_MS + (day + count) * DAY_MS - 1,
    }
}

/// The report filter of run `rng` for a kind that lists reports.
fn filter_for(kind: Kind, data: Data, rng: &mut Rng) -> ReportFilter {
    let mut filter = ReportFilter::default();
    match kind {
        Kind::SmallBox => {
            let around = data.report(rng.below(data.reports));
            filter.bbox = Some(bbox_around(&around, 20.0));
        }
        Kind::LargeBox => {
            let around = data.report(rng.below(data.reports));
            filter.bbox = Some(bbox_around(&around, 300.0));
        }
        Kind::Zone => filter.zone_id = Some(rng.pick(&ZONES).to_string()),
        // The zones with ten pages of reports even in a small store.
        Kind::TenthPageZone => filter.zone_id = Some(rng.pick(&ZONES[..4]).to_string()),
        Kind::Party => filter.party = Some(rng.pick(&PARTIES).to_string()),
        Kind::Day => filter.time = Some(days(rng.below(365) as i64, 1)),
        // Every report, from three days before the first arrival on.
        Kind::WholeLog => filter.time = Some(days(-3, 366)),
        // A week, or longer in a small store so that ten pages remain.
        Kind::TenthPageWeek => {
            let count = (1_500 * 365_u64).div_ceil(data.reports).max(7) as i64;
            let first = rng.below(366_u64.saturating_sub(count as u64).max(1)) as i64;
            filter.time = Some(days(first.min(365 - count).max(-3), count))
        }
        Kind::Combined => {
            filter.zone_id = Some(rng.pick(&ZONES).to_string());
            filter.party = Some(rng.pick(&PARTIES).to_string());
            filter.time = Some(days(rng.below(358) as i64, 7));
        }
        Kind::Verdict => {
            let indexes: BTreeSet<u64> = (0..data.reports)
                .filter(|_| rng.below(10) == 0)
                .map(Data::report_index)
                .collect();
            filter.log_indexes = Some(indexes);
        }
        _ => {}
    }
    filter
}

/// Runs one query of `kind` with the parameters of run `run`; returns how
/// long the store took and how many rows it returned. Only the store call
/// measured is timed (for the tenth pages, only the tenth request).
async fn run_once<S: Store>(
    store: &S,
    data: Data,
    kind: Kind,
    run: u64,
) -> Result<(Duration, usize), Failure> {
    let mut rng = kind.rng(run);
    let default_page = PageRequest::default();
    match kind {
        Kind::FirstPage
        | Kind::SmallBox
        | Kind::LargeBox
        | Kind::Zone
        | Kind::Party
        | Kind::Day
        | Kind::Combined
        | Kind::Verdict
        | Kind::WholeLog => {
            let filter = filter_for(kind, data, &mut rng);
            let started = Instant::now();
            let page = store.reports(&filter, default_page).await?;
            Ok((started.elapsed(), page.items.len()))
        }
        Kind::TenthPage | Kind::TenthPageZone | Kind::TenthPageWeek => {
            let filter = filter_for(kind, data, &mut rng);
            let mut request = default_page;
            for _ in 1..10 {
                let page = store.reports(&filter, request).await?;
                let Some(cursor) = page.next_cursor else {
                    return Err(format!("{} ends before page 10", kind.label()).into());
                };
                request = PageRequest {
                    cursor: Some(cursor),
                    limit: None,
                };
            }
            let started = Instant::now();
            let page = store.reports(&filter, request).await?;
            Ok((started.elapsed(), page.items.len()))
        }
        Kind::ByIndex => {
            let expected = data.report(rng.below(data.reports));
            let started = Instant::now();
            let found = store.report(expected.log_index).await?;
            let elapsed = started.elapsed();
            if found.as_ref() != Some(&expected) {
                return Err(format!("report {} read back differently", expected.log_index).into());
            }
            Ok((elapsed, 1))
        }
        Kind::ById => {
            let expected = data.report(rng.below(data.reports));
            let started = Instant::now();
            let found = store
                .report_by_id(&expected.agreement_id, &expected.report_id)
                .await?;
            let elapsed = started.elapsed();
            if found.as_ref() != Some(&expected) {
                return Err(format!("report {} read back differently", expected.report_id).into());
            }
            Ok((elapsed, 1))
        }
        Kind::Annotations => {
            if data.blocks() == 0 {
                return Err("too few reports for an annotation".into());
            }
            let subject = format!("r-{}", rng.below(data.blocks()) * BLOCK_REPORTS);
            let started = Instant::now();
            let found = store.annotations(&subject).await?;
            let elapsed = started.elapsed();
            if found.is_empty() {
                return Err(format!("no annotation of {subject}").into());
            }
            Ok((elapsed, found.len()))
        }
        Kind::Source => {
            let name = rng.pick(&SOURCES).0;
            let started = Instant::now();
            let found = store.source(name).await?;
            let elapsed = started.elapsed();
            if found.is_none() {
                return Err(format!("no source {name}").into());
            }
            Ok((elapsed, 1))
        }
        Kind::Agreement => {
            let id = rng.pick(&REPORT_AGREEMENTS).0;
            let started = Instant::now();
            let found = store.agreement(id, None).await?;
            let elapsed = started.elapsed();
            if found.is_empty() {
                return Err(format!("no agreement {id}").into());
            }
            Ok((elapsed, found.len()))
        }
    }
}

/// What one query kind measured on one backend.
#[derive(Debug, Clone)]
struct Measured {
    kind: Kind,
    p50_ms: f64,
    p99_ms: f64,
    median_rows: usize,
    total_rows: usize,
}

/// The value at quantile `q` of sorted `values`, nearest rank.
fn nearest_rank<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.max(1) - 1).copied()
}

/// Times every query kind on `store`.
async fn measure<S: Store>(store: &S, data: Data, runs: u64) -> Result<Vec<Measured>, Failure> {
    let mut all = Vec::new();
    for kind in Kind::ALL {
        let started = Instant::now();
        for run in 0..WARMUPS {
            run_once(store, data, kind, run).await?;
        }
        let mut times = Vec::new();
        let mut rows = Vec::new();
        for run in WARMUPS..WARMUPS + runs {
            let (elapsed, count) = run_once(store, data, kind, run).await?;
            times.push(elapsed.as_secs_f64() * 1e3);
            rows.push(count);
        }
        times.sort_by(f64::total_cmp);
        let total_rows = rows.iter().sum();
        rows.sort_unstable();
        let measured = Measured {
            kind,
            p50_ms: nearest_rank(&times, 0.5).unwrap_or(f64::NAN),
            p99_ms: nearest_rank(&times, 0.99).unwrap_or(f64::NAN),
            median_rows: nearest_rank(&rows, 0.5).unwrap_or(0),
            total_rows,
        };
        println!(
            "  {:<38} p50 {:>8.3} ms  p99 {:>8.3} ms  rows {:>4}  ({:.1} s with warm-ups)",
            kind.label(),
            measured.p50_ms,
            measured.p99_ms,
            measured.median_rows,
            started.elapsed().as_secs_f64()
        );
        all.push(measured);
    }
    Ok(all)
}

/// The listings whose plans `--explain` prints.
const EXPLAINED: [Kind; 6] = [
    Kind::SmallBox,
    Kind::LargeBox,
    Kind::Zone,
    Kind::Party,
    Kind::Day,
    Kind::Combined,
];

/// The options of the command line.
#[derive(Debug, Clone, Copy)]
struct Options {
    reports: u64,
    runs: u64,
    explain: bool,
    sqlite: bool,
    postgres: bool,
}

fn options() -> Result<Options, Failure> {
    let mut numbers = Vec::new();
    let mut options = Options {
        reports: 1_000_000,
        runs: 50,
        explain: false,
        sqlite: true,
        postgres: true,
    };
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--explain" => options.explain = true,
            "--sqlite-only" => options.postgres = false,
            "--postgres-only" => options.sqlite = false,
            _ => match arg.parse::<u64>() {
                Ok(value) if value > 0 => numbers.push(value),
                _ => {
                    return Err(format!(
                        "usage: query_latency [REPORTS] [RUNS] [--explain] \
                         [--sqlite-only | --postgres-only]; not {arg:?}"
                    )
                    .into());
                }
            },
        }
    }
    match numbers[..] {
        [] => {}
        [reports] => options.reports = reports,
        [reports, runs] => (options.reports, options.runs) = (reports, runs),
        _ => return Err("at most two numbers: REPORTS and RUNS".into()),
    }
    if options.reports < 10 * u64::from(truce_store::DEFAULT_PAGE_LIMIT) {
        return Err("REPORTS must be at least 1000, for ten pages".into());
    }
    Ok(options)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Failure> {
    let options = options()?;
    let data = Data {
        reports: options.reports,
    };
    println!(
        "{} reports, {} runs of each query after {WARMUPS} warm-ups, seed {SEED:#x}",
        options.reports, options.runs
    );
    let mut columns: Vec<(&str, f64, Vec<Measured>)> = Vec::new();
    if options.sqlite {
        let dir = tempfile::tempdir()?;
        println!("SQLite: loading");
        let store = SqliteStore::open(dir.path()).await?;
        let seconds = load(&store, data).await?;
        let size: u64 = std::fs::read_dir(dir.path())?
            .filter_map(|entry| entry.ok()?.metadata().ok())
            .map(|metadata| metadata.len())
            .sum();
        println!(
            "SQLite: {:.0} MiB on disk; querying",
            size as f64 / 1048576.0
        );
        let measured = measure(&store, data, options.runs).await?;
        if options.explain
            && let Some(path) = store.path()
        {
            explain_sqlite(path, data).await?;
        }
        store.close().await;
        columns.push(("SQLite", seconds, measured));
    }
    match std::env::var(URL_VAR) {
        Ok(admin) if options.postgres && !admin.trim().is_empty() => {
            let measured = on_postgres(&admin, data, options).await?;
            columns.push(("PostgreSQL", measured.0, measured.1));
        }
        _ if options.postgres => println!("PostgreSQL skipped: {URL_VAR} is not set"),
        _ => {}
    }
    print_table(data, options, &columns);
    Ok(())
}

/// Loads and measures on a database created for the run, dropped at the end
/// whatever happened.
async fn on_postgres(
    admin: &str,
    data: Data,
    options: Options,
) -> Result<(f64, Vec<Measured>), Failure> {
    let name = format!("truce_query_latency_{}", std::process::id());
    execute(admin, format!("CREATE DATABASE \"{name}\"")).await?;
    println!("PostgreSQL: loading into database {name}");
    let result = postgres_run(&with_database(admin, &name), data, options).await;
    let dropped = execute(admin, format!("DROP DATABASE \"{name}\" WITH (FORCE)")).await;
    let measured = result?;
    dropped?;
    Ok(measured)
}

async fn postgres_run(
    url: &str,
    data: Data,
    options: Options,
) -> Result<(f64, Vec<Measured>), Failure> {
    let store = PgStore::connect(url).await?;
    let seconds = load(&store, data).await?;
    let mut conn = PgConnection::connect_with(&PgConnectOptions::from_str(url)?).await?;
    let started = Instant::now();
    sqlx::query("VACUUM (ANALYZE) reports, annotations, receipts")
        .execute(&mut conn)
        .await?;
    let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await?;
    println!(
        "PostgreSQL: VACUUM (ANALYZE) in {:.1} s; {:.0} MiB on disk; querying",
        started.elapsed().as_secs_f64(),
        size as f64 / 1048576.0
    );
    let measured = measure(&store, data, options.runs).await?;
    if options.explain {
        explain(&mut conn, data).await?;
        custom_plan_latency(&mut conn, data, options.runs).await?;
    }
    conn.close().await?;
    store.close().await;
    Ok((seconds, measured))
}

/// The store's report listing for `filter` (zone, party, time and box only)
/// as `PgStore` builds it: the same text, with `$n` placeholders, and the
/// values of its parameters as SQL literals.
fn pg_listing(filter: &ReportFilter) -> (String, Vec<String>) {
    let mut sql = String::from(
        "SELECT r.log_index, r.report_id, r.agreement_id, r.source_name, r.source_kind, \
         r.party, r.actor, r.action, r.target, r.start_ms, r.end_ms, r.lon, r.lat, r.radius_m, \
         r.submitted_at_ms, r.zone_ids FROM reports r WHERE r.log_index > ",
    );
    let mut values: Vec<String> = Vec::new();
    let mut bind = |sql: &mut String, value: String| {
        values.push(value);
        sql.push_str(&format!("${}", values.len()));
    };
    let text = |value: &str| format!("'{}'", value.replace('\'', "''"));
    bind(&mut sql, "-1".to_owned());
    if let Some(zone_id) = &filter.zone_id {
        sql.push_str(" AND r.zone_ids @> ARRAY[");
        bind(&mut sql, text(zone_id));
        sql.push_str("]::text[]");
    }
    if let Some(party) = &filter.party {
        sql.push_str(" AND r.party = ");
        bind(&mut sql, text(party));
    }
    if let Some(window) = filter.time {
        sql.push_str(" AND r.start_ms <= ");
        bind(&mut sql, window.end_ms.to_string());
        sql.push_str(" AND r.end_ms >= ");
        bind(&mut sql, window.start_ms.to_string());
    }
    if let Some(bbox) = filter.bbox {
        let number = |value: f64| format!("{value:?}::float8");
        sql.push_str(" AND r.point && ST_MakeEnvelope(");
        bind(&mut sql, number(bbox.min_lon));
        sql.push_str(", ");
        bind(&mut sql, number(bbox.min_lat));
        sql.push_str(", ");
        bind(&mut sql, number(bbox.max_lon));
        sql.push_str(", ");
        bind(&mut sql, number(bbox.max_lat));
        sql.push_str(", 4326) AND r.lon BETWEEN ");
        bind(&mut sql, number(bbox.min_lon));
        sql.push_str(" AND ");
        bind(&mut sql, number(bbox.max_lon));
        sql.push_str(" AND r.lat BETWEEN ");
        bind(&mut sql, number(bbox.min_lat));
        sql.push_str(" AND ");
        bind(&mut sql, number(bbox.max_lat));
    }
    sql.push_str(" ORDER BY r.log_index LIMIT ");
    bind(
        &mut sql,
        (i64::from(truce_store::DEFAULT_PAGE_LIMIT) + 1).to_string(),
    );
    (sql, values)
}

/// Prints PostgreSQL's plans of the listings with a box, a zone, a party, a
/// day and the combination, for the first measured run's parameters: the
/// listing is prepared as a statement, as the store's driver does, and
/// executed once with a plan made for the values and once with the generic
/// plan.
async fn explain(conn: &mut PgConnection, data: Data) -> Result<(), Failure> {
    for kind in EXPLAINED {
        let filter = filter_for(kind, data, &mut kind.rng(WARMUPS));
        let (sql, values) = pg_listing(&filter);
        sqlx::raw_sql(AssertSqlSafe(format!("PREPARE listing AS {sql}")))
            .execute(&mut *conn)
            .await?;
        for mode in ["force_custom_plan", "force_generic_plan"] {
            sqlx::raw_sql(AssertSqlSafe(format!("SET plan_cache_mode = {mode}")))
                .execute(&mut *conn)
                .await?;
            let rows = sqlx::raw_sql(AssertSqlSafe(format!(
                "EXPLAIN (ANALYZE, BUFFERS) EXECUTE listing({})",
                values.join(", ")
            )))
            .fetch_all(&mut *conn)
            .await?;
            println!("\nEXPLAIN (ANALYZE, BUFFERS), {}, {mode}:", kind.label());
            println!("    filter: {filter:?}");
            for row in rows {
                let line: String = row.try_get(0)?;
                println!("    {line}");
            }
        }
        sqlx::raw_sql("DEALLOCATE listing; RESET plan_cache_mode")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Times the explained listings again, each planned for its own values (the
/// text sent with the values written in, so never a generic plan), on the
/// same parameters as the measured runs: what the store's listings would
/// take if it did not reuse prepared statements for them.
async fn custom_plan_latency(
    conn: &mut PgConnection,
    data: Data,
    runs: u64,
) -> Result<(), Failure> {
    println!("\nThe same listings planned for each query's values (PostgreSQL, {runs} runs):\n");
    for kind in EXPLAINED {
        let mut times = Vec::new();
        let mut rows = Vec::new();
        for run in 0..WARMUPS + runs {
            let filter = filter_for(kind, data, &mut kind.rng(run));
            let (mut sql, values) = pg_listing(&filter);
            // From the last placeholder down, so `$1` does not match `$10`.
            for (at, value) in values.iter().enumerate().rev() {
                sql = sql.replace(&format!("${}", at + 1), value);
            }
            let started = Instant::now();
            let found = sqlx::raw_sql(AssertSqlSafe(sql))
                .fetch_all(&mut *conn)
                .await?;
            if run >= WARMUPS {
                times.push(started.elapsed().as_secs_f64() * 1e3);
                rows.push(found.len().min(truce_store::DEFAULT_PAGE_LIMIT as usize));
            }
        }
        times.sort_by(f64::total_cmp);
        rows.sort_unstable();
        println!(
            "  {:<38} p50 {:>8.3} ms  p99 {:>8.3} ms  rows {:>4}",
            kind.label(),
            nearest_rank(&times, 0.5).unwrap_or(f64::NAN),
            nearest_rank(&times, 0.99).unwrap_or(f64::NAN),
            nearest_rank(&rows, 0.5).unwrap_or(0)
        );
    }
    Ok(())
}

/// The store's report listing for `filter` (zone, party, time and box only)
/// as `SqliteStore` builds it, with the values written in.
fn sqlite_listing(filter: &ReportFilter) -> String {
    let text = |value: &str| format!("'{}'", value.replace('\'', "''"));
    let mut sql = String::from(
        "SELECT r.log_index, r.report_id, r.agreement_id, r.source_name, r.source_kind, \
         r.party, r.actor, r.action, r.target, r.start_ms, r.end_ms, r.lon, r.lat, r.radius_m, \
         r.submitted_at_ms, \
         (SELECT json_group_array(z.zone_id ORDER BY z.position) FROM report_zones z \
          WHERE z.log_index = r.log_index) AS zone_ids \
         FROM reports r WHERE r.log_index > -1",
    );
    if let Some(zone_id) = &filter.zone_id {
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM report_zones fz WHERE fz.log_index = r.log_index \
             AND fz.zone_id = {})",
            text(zone_id)
        ));
    }
    if let Some(party) = &filter.party {
        sql.push_str(&format!(" AND r.party = {}", text(party)));
    }
    if let Some(window) = filter.time {
        sql.push_str(&format!(
            " AND r.start_ms <= {} AND r.end_ms >= {}",
            window.end_ms, window.start_ms
        ));
    }
    if let Some(b) = filter.bbox {
        sql.push_str(&format!(
            " AND r.log_index IN (SELECT p.log_index FROM report_points p WHERE p.max_lon >= {:?} \
             AND p.min_lon <= {:?} AND p.max_lat >= {:?} AND p.min_lat <= {:?}) \
             AND r.lon BETWEEN {:?} AND {:?} AND r.lat BETWEEN {:?} AND {:?}",
            b.min_lon, b.max_lon, b.min_lat, b.max_lat, b.min_lon, b.max_lon, b.min_lat, b.max_lat
        ));
    }
    sql.push_str(&format!(
        " ORDER BY r.log_index LIMIT {}",
        truce_store::DEFAULT_PAGE_LIMIT + 1
    ));
    sql
}

/// Prints SQLite's plans of the same listings as [`explain`].
async fn explain_sqlite(path: &std::path::Path, data: Data) -> Result<(), Failure> {
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    for kind in EXPLAINED {
        let filter = filter_for(kind, data, &mut kind.rng(WARMUPS));
        let rows = sqlx::raw_sql(AssertSqlSafe(format!(
            "EXPLAIN QUERY PLAN {}",
            sqlite_listing(&filter)
        )))
        .fetch_all(&mut conn)
        .await?;
        println!("\nSQLite EXPLAIN QUERY PLAN, {}:", kind.label());
        println!("    filter: {filter:?}");
        for row in rows {
            let detail: String = row.try_get("detail")?;
            println!("    {detail}");
        }
    }
    conn.close().await?;
    Ok(())
}

/// Prints the Markdown table of every backend measured.
fn print_table(data: Data, options: Options, columns: &[(&str, f64, Vec<Measured>)]) {
    println!(
        "\n{} reports, p50 / p99 of {} runs after {WARMUPS} warm-ups, in ms; rows: median returned\n",
        data.reports, options.runs
    );
    let mut header = String::from("| query | rows |");
    let mut rule = String::from("|---|---:|");
    for (name, _, _) in columns {
        header.push_str(&format!(" {name} p50 | {name} p99 |"));
        rule.push_str("---:|---:|");
    }
    println!("{header}\n{rule}");
    for (at, kind) in Kind::ALL.into_iter().enumerate() {
        let rows = columns
            .first()
            .and_then(|(_, _, measured)| measured.get(at))
            .map_or(0, |m| m.median_rows);
        let mut line = format!("| {} | {rows} |", kind.label());
        for (_, _, measured) in columns {
            match measured.get(at) {
                Some(m) => line.push_str(&format!(" {:.2} | {:.2} |", m.p50_ms, m.p99_ms)),
                None => line.push_str(" | |"),
            }
        }
        println!("{line}");
    }
    println!(
        "\nLoad ({} reports, each with its receipt, and {} annotation entries, through \
         `Store::apply` in batches of {BATCH_ENTRIES} log entries):\n",
        data.reports,
        data.blocks()
    );
    for (name, seconds, _) in columns {
        println!(
            "- {name}: {:.0} reports/s ({:.0} log entries/s, {seconds:.1} s)",
            data.reports as f64 / seconds,
            data.entries() as f64 / seconds
        );
    }
    // Both backends answered the same queries: they must have found the same rows.
    if let [(first, _, a), rest @ ..] = columns {
        for (name, _, b) in rest {
            for (x, y) in a.iter().zip(b) {
                if x.total_rows != y.total_rows {
                    println!(
                        "\nWARNING: {} returned {} rows in all on {first}, {} on {name}",
                        x.kind.label(),
                        x.total_rows,
                        y.total_rows
                    );
                }
            }
        }
    }
}
