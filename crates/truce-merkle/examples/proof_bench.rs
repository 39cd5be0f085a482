//! Times proof generation from stored subtree hashes at 10 million leaves.
//!
//! Run: `cargo run --release -p truce-merkle --example proof_bench [LEAVES] [SAMPLES]`
//!
//! Builds a [`MemoryTree`] (every level stored, as a tiled log keeps them),
//! then asks for inclusion proofs of pseudo-random leaves in pseudo-random tree
//! sizes, and consistency proofs between pseudo-random sizes, timing each call
//! and printing the median, 99th percentile and maximum. The sizes come from a
//! fixed-seed generator, so every run asks the same questions. It needs about
//! 1 GiB of memory at the default 10,000,000 leaves.

use std::hint::black_box;
use std::time::{Duration, Instant};

use truce_merkle::{MemoryTree, leaf_hash, verify_consistency, verify_inclusion};

/// splitmix64: a small fixed-seed generator for the benchmark's questions.
struct Questions(u64);

impl Questions {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

struct Summary {
    median: Duration,
    p99: Duration,
    max: Duration,
}

fn summarise(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction) as usize];
    Summary {
        median: at(0.5),
        p99: at(0.99),
        max: samples[samples.len() - 1],
    }
}

fn report(label: &str, summary: &Summary, samples: usize) {
    println!(
        "{label:<34} median {:>7.2} µs   p99 {:>7.2} µs   max {:>8.2} µs   ({samples} samples)",
        summary.median.as_secs_f64() * 1e6,
        summary.p99.as_secs_f64() * 1e6,
        summary.max.as_secs_f64() * 1e6,
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let leaves: u64 = args.next().map_or(Ok(10_000_000), |arg| arg.parse())?;
    let samples: usize = args.next().map_or(Ok(20_000), |arg| arg.parse())?;
    if leaves < 2 || samples == 0 {
        return Err("need at least 2 leaves and 1 sample".into());
    }

    let started = Instant::now();
    let tree = MemoryTree::from_leaf_hashes((0..leaves).map(|i| leaf_hash(&i.to_be_bytes())));
    let built = started.elapsed();
    println!(
        "built a {leaves}-leaf tree of stored levels in {:.2} s ({:.0} ns per leaf)",
        built.as_secs_f64(),
        built.as_nanos() as f64 / leaves as f64
    );

    let started = Instant::now();
    let root = tree.root();
    println!(
        "root {root} in {:.2} µs",
        started.elapsed().as_secs_f64() * 1e6
    );

    let mut questions = Questions(0x7472_7563_6521);

    // Inclusion proofs at the full size (the common case) and at random sizes.
    let mut at_full = Vec::with_capacity(samples);
    let mut at_random = Vec::with_capacity(samples);
    let mut verify_times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let index = questions.between(0, leaves - 1);
        let started = Instant::now();
        let proof = tree.inclusion_proof(index, leaves)?;
        at_full.push(started.elapsed());
        black_box(&proof);

        let size = questions.between(1, leaves);
        let index = questions.between(0, size - 1);
        let started = Instant::now();
        let proof = tree.inclusion_proof(index, size)?;
        at_random.push(started.elapsed());
        black_box(&proof);

        if verify_times.len() < samples / 4 {
            let size_root = tree.root_at(size)?;
            let leaf = leaf_hash(&index.to_be_bytes());
            let started = Instant::now();
            verify_inclusion(&leaf, index, size, &proof, &size_root)?;
            verify_times.push(started.elapsed());
        }
    }
    report("inclusion proof, full tree", &summarise(at_full), samples);
    report(
        "inclusion proof, random size",
        &summarise(at_random),
        samples,
    );
    let verify_count = verify_times.len();
    report("inclusion verify", &summarise(verify_times), verify_count);

    let mut consistency_times = Vec::with_capacity(samples);
    let mut root_times = Vec::with_capacity(samples);
    let mut verify_times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let size2 = questions.between(2, leaves);
        let size1 = questions.between(1, size2 - 1);
        let started = Instant::now();
        let proof = tree.consistency_proof(size1, size2)?;
        consistency_times.push(started.elapsed());
        black_box(&proof);

        let started = Instant::now();
        let root1 = tree.root_at(size1)?;
        root_times.push(started.elapsed());

        if verify_times.len() < samples / 4 {
            let root2 = tree.root_at(size2)?;
            let started = Instant::now();
            verify_consistency(size1, size2, &proof, &root1, &root2)?;
            verify_times.push(started.elapsed());
        }
    }
    report(
        "consistency proof, random sizes",
        &summarise(consistency_times),
        samples,
    );
    report("root at a random size", &summarise(root_times), samples);
    let verify_count = verify_times.len();
    report("consistency verify", &summarise(verify_times), verify_count);
    Ok(())
}
