//! Throughput and proof costs of the tiled log on this machine's disk.
//!
//! Run: `cargo run --release -p truce-log --example append_bench [SECONDS] [LEAVES] [DIR]`
//!
//! 1. Sustained appends with fsync on: batches of 256 entries of 300 bytes
//!    for `SECONDS` (default 20), reporting entries per second and the batch
//!    latency (each batch is durable, staged and published before the next).
//! 2. A log of `LEAVES` entries (default 10,000,000; 24-byte entries, batches
//!    of 65,536, fsync on), then inclusion and consistency proofs read from
//!    its tiles by a freshly opened log (the files are in the page cache):
//!    first with an empty tile cache, then after `warm_proof_cache`. Median,
//!    99th percentile and maximum.
//! 3. The bytes of hash tiles per entry at that size, and the time
//!    `verify_dir` takes to re-derive the root from every bundle and tile.
//!
//! `DIR` (default: a temporary directory under the system's) must be on the
//! disk to measure; the run needs about 900 MB there at 10M entries.

use std::error::Error;
use std::hint::black_box;
use std::time::{Duration, Instant};

use truce_log::{Log, verify_dir};
use truce_merkle::{verify_consistency, verify_inclusion};
use truce_note::{KeyName, NoteSigner};

const ORIGIN: &str = "bench.example/truce-log";

/// splitmix64: fixed-seed questions, so every run asks the same ones.
struct Questions(u64);

impl Questions {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

fn signer() -> Result<NoteSigner, Box<dyn Error>> {
    Ok(NoteSigner::from_seed(KeyName::new(ORIGIN)?, &[42; 32]))
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction) as usize];
    println!(
        "{label:<40} median {:>9.2} µs   p99 {:>9.2} µs   max {:>9.2} µs   ({} samples)",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        samples[samples.len() - 1].as_secs_f64() * 1e6,
        samples.len()
    );
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: u64 = args
        .first()
        .map(|text| text.parse())
        .transpose()?
        .unwrap_or(20);
    let leaves: u64 = args
        .get(1)
        .map(|text| text.parse())
        .transpose()?
        .unwrap_or(10_000_000);
    let base = match args.get(2) {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    println!("directory: {}", base.path().display());

    // 1. Sustained appends.
    let dir = base.path().join("sustained");
    let mut log = Log::open(&dir, signer()?, ORIGIN)?;
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut next = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        let batch: Vec<Vec<u8>> = (next..next + 256)
            .map(|index| {
                let mut entry = format!("entry {index} ").into_bytes();
                entry.resize(300, b'.');
                entry
            })
            .collect();
        let batch_started = Instant::now();
        log.append_batch(&batch)?;
        latencies.push(batch_started.elapsed());
        next += 256;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "sustained appends: {next} entries of 300 bytes in {elapsed:.1} s = {:.0} entries/s ({} batches of 256, fsync on)",
        next as f64 / elapsed,
        latencies.len()
    );
    summary("batch of 256 (write, stage, publish)", latencies);
    drop(log);

    // 2. A large log, then proofs from its tiles.
    let dir = base.path().join("large");
    let mut log = Log::open(&dir, signer()?, ORIGIN)?;
    let started = Instant::now();
    let mut next = 0u64;
    while next < leaves {
        let len = (leaves - next).min(65_536);
        let batch: Vec<[u8; 24]> = (next..next + len)
            .map(|index| {
                let mut entry = [b'.'; 24];
                entry[..8].copy_from_slice(&index.to_be_bytes());
                entry
            })
            .collect();
        log.append_batch(&batch)?;
        next += len;
    }
    println!(
        "built a log of {leaves} entries in {:.1} s ({:.0} entries/s in batches of 65,536)",
        started.elapsed().as_secs_f64(),
        leaves as f64 / started.elapsed().as_secs_f64()
    );
    drop(log);
    let log = Log::open(&dir, signer()?, ORIGIN)?;
    let size = log.size();
    let root = log.root();
    let mut questions = Questions(1);
    let inclusion_at_full_size = |log: &Log,
                                  questions: &mut Questions,
                                  rounds: usize|
     -> Result<Vec<Duration>, Box<dyn Error>> {
        let mut samples = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let index = questions.below(size);
            let started = Instant::now();
            let proof = log.inclusion_proof(index, size)?;
            samples.push(started.elapsed());
            let mut entry = [b'.'; 24];
            entry[..8].copy_from_slice(&index.to_be_bytes());
            verify_inclusion(&truce_merkle::leaf_hash(&entry), index, size, &proof, &root)?;
            black_box(proof);
        }
        Ok(samples)
    };
    summary(
        "inclusion proof, cold cache",
        inclusion_at_full_size(&log, &mut questions, 2_000)?,
    );
    let started = Instant::now();
    let tiles = log.warm_proof_cache()?;
    println!(
        "warm_proof_cache: {tiles} tiles summarised in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    summary(
        "inclusion proof, warm cache",
        inclusion_at_full_size(&log, &mut questions, 20_000)?,
    );
    let mut samples = Vec::new();
    for _ in 0..2_000 {
        let index = questions.below(size);
        let tree_size = index + 1 + questions.below(size - index);
        let started = Instant::now();
        let proof = log.inclusion_proof(index, tree_size)?;
        samples.push(started.elapsed());
        black_box(proof);
    }
    summary("inclusion proof, random tree size", samples);
    let mut samples = Vec::new();
    for _ in 0..2_000 {
        let size1 = 1 + questions.below(size - 1);
        let started = Instant::now();
        let proof = log.consistency_proof(size1, size)?;
        samples.push(started.elapsed());
        let root1 = log.root_at(size1)?;
        verify_consistency(size1, size, &proof, &root1, &root)?;
    }
    summary("consistency proof to the full size", samples);

    // 3. Storage and a full verification.
    let started = Instant::now();
    let report = verify_dir(&dir, ORIGIN, &log.verifier(), None)?;
    println!(
        "verify_dir: {} entries, {} bundles, {} hash tiles re-derived in {:.1} s",
        report.entries,
        report.bundles,
        report.hash_tiles,
        started.elapsed().as_secs_f64()
    );
    println!(
        "hash tiles: {} bytes = {:.3} bytes per entry (entry bundles: {} bytes, {:.2} per entry of 24 bytes)",
        report.hash_tile_bytes,
        report.hash_tile_bytes as f64 / size as f64,
        report.bundle_bytes,
        report.bundle_bytes as f64 / size as f64
    );
    Ok(())
}
