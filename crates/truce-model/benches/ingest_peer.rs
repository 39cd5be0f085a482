//! Times reading the peer benchmark's layout (`InputFormat::PeerCsv`).
//!
//! cargo bench -p truce-model --bench ingest_peer            # 1M generated rows
//! TRUCE_PEER_CSV=path/to/reports.csv cargo bench -p truce-model --bench ingest_peer
//! TRUCE_PEER_ROWS=100000 cargo bench -p truce-model --bench ingest_peer
//! TRUCE_BENCH_QUICK=1 ...: only the all-threads measurements (input order and id order)

use std::time::Instant;

use truce_model::ingest::{IngestOptions, InputFormat, parse_reports};

#[path = "../tests/ingest_support/peer_gen.rs"]
mod peer_gen;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// CPU seconds (user, system) this process used so far, from /proc (Linux only; 0
/// elsewhere).
fn cpu_seconds() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

fn time_parse(bytes: &[u8], options: &IngestOptions, runs: usize) -> (f64, f64, usize) {
    let mut user_s = 0.0;
    let mut system_s = 0.0;
    let mut parse_s = Vec::new();
    let mut drop_s = Vec::new();
    let mut n_reports = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let cpu_started = cpu_seconds();
        let ingested = parse_reports(InputFormat::PeerCsv, "reports.csv", bytes, options)
            .expect("the benchmark input parses");
        parse_s.push(started.elapsed().as_secs_f64());
        let cpu_ended = cpu_seconds();
        user_s += cpu_ended.0 - cpu_started.0;
        system_s += cpu_ended.1 - cpu_started.1;
        n_reports = ingested.reports.len();
        assert!(
            ingested.rejections.is_empty(),
            "{:?}",
            ingested.rejections.first()
        );
        let started = Instant::now();
        drop(ingested);
        drop_s.push(started.elapsed().as_secs_f64());
    }
    println!(
        "  cpu per parse: user {:.3} s + system {:.3} s",
        user_s / runs as f64,
        system_s / runs as f64
    );
    (median(parse_s), median(drop_s), n_reports)
}

fn main() {
    let bytes = match std::env::var("TRUCE_PEER_CSV") {
        Ok(path) => std::fs::read(&path).expect("TRUCE_PEER_CSV is readable"),
        Err(_) => {
            let rows = std::env::var("TRUCE_PEER_ROWS")
                .ok()
                .and_then(|rows| rows.parse().ok())
                .unwrap_or(1_000_000);
            peer_gen::peer_csv(rows, 42).into_bytes()
        }
    };
    let options = IngestOptions::default();
    let runs = 7;
    println!(
        "input: {} bytes, {} threads",
        bytes.len(),
        rayon::current_num_threads()
    );
    let (parse_s, drop_s, n_reports) = time_parse(&bytes, &options, runs);
    println!(
        "peer-csv parse, all threads: median {parse_s:.3} s of {runs} ({n_reports} reports, {:.0} MB/s); dropping the result {drop_s:.3} s",
        bytes.len() as f64 / parse_s / 1e6
    );
    // As `truce assess` reads: in id order, which the merge then finds as it is.
    let by_id = IngestOptions {
        id_order: true,
        ..IngestOptions::default()
    };
    let (parse_s, _, _) = time_parse(&bytes, &by_id, runs);
    println!("peer-csv parse in id order, all threads: median {parse_s:.3} s of {runs}");
    if std::env::var("TRUCE_BENCH_QUICK").is_ok() {
        return;
    }
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a pool");
    let (parse_s, _, _) = single.install(|| time_parse(&bytes, &options, runs));
    println!("peer-csv parse, one thread: median {parse_s:.3} s of {runs}");
    // One quote byte anywhere sends the file through the csv crate: quote the first id.
    let quoted = match bytes.iter().position(|b| *b == b'\n') {
        Some(newline) => {
            let id_end = newline
                + 1
                + bytes[newline + 1..]
                    .iter()
                    .position(|b| *b == b',')
                    .unwrap_or(0);
            let mut quoted = bytes[..=newline].to_vec();
            quoted.push(b'"');
            quoted.extend_from_slice(&bytes[newline + 1..id_end]);
            quoted.push(b'"');
            quoted.extend_from_slice(&bytes[id_end..]);
            quoted
        }
        None => bytes.clone(),
    };
    let (parse_s, _, _) = time_parse(&quoted, &options, 3);
    println!("peer-csv parse, quoted file (csv crate, one thread): median {parse_s:.3} s of 3");
}
