//! Crash safety: a child process appends batches in a loop and prints each
//! acknowledged batch after `append_batch` returns; the parent kills it with
//! SIGKILL at a random moment, then reopens the log and checks that every
//! acknowledged entry is there and that the directory verifies.
//!
//! The child is this test binary itself, re-run with the same test name and
//! `TRUCE_LOG_CRASH_CHILD=<dir>` in its environment: a test function that
//! sees the variable runs the child's loop instead of the parent's.
//! `cargo test -p truce-log --test crash` runs 50 rounds; the ignored
//! `sigkill_long` runs 250.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use truce_log::{Log, verify_dir};
use truce_merkle::{Hash, root_from_leaf_hashes};
use truce_note::{Checkpoint, KeyName, NoteSigner};

const CHILD_ENV: &str = "TRUCE_LOG_CRASH_CHILD";
const ORIGIN: &str = "example.org/crash";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[21; 32])
}

/// splitmix64, for fixed-seed choices.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Entry `index`: a function of the index alone, so any process writing
/// index `i` writes the same bytes, and the parent knows what to expect.
fn entry(index: u64) -> Vec<u8> {
    let len = 8 + (mix(index) % 120) as usize;
    let mut bytes = format!("entry {index} ").into_bytes();
    bytes.resize(len.max(bytes.len()), b'a' + (index % 26) as u8);
    bytes
}

/// The child: append batches of 1 to 64 entries until killed, printing
/// `begin <first> <len>` before and `ack <first> <len>` after each append.
fn child(dir: &Path) -> ! {
    let mut log = Log::open(dir, signer(), ORIGIN).unwrap();
    let mut out = std::io::stdout();
    loop {
        let first = log.size();
        let len = 1 + mix(first ^ 0xc0ffee) % 64;
        let batch: Vec<Vec<u8>> = (first..first + len).map(entry).collect();
        writeln!(out, "begin {first} {len}").unwrap();
        out.flush().unwrap();
        let indices = log.append_batch(&batch).unwrap();
        assert_eq!(indices.first(), Some(&first));
        writeln!(out, "ack {first} {len}").unwrap();
        out.flush().unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
}

struct Outcome {
    /// One past the highest acknowledged index. Entries between two
    /// acknowledged batches may be unacknowledged but committed (a batch
    /// whose checkpoint was staged when the child died is published on
    /// recovery); every index below the log's size is checked anyway.
    acked_end: u64,
    /// Whether the child was killed between a `begin` and its `ack`.
    mid_append: bool,
}

fn parse_output(output: &str, acked_end: u64) -> Outcome {
    let mut outcome = Outcome {
        acked_end,
        mid_append: false,
    };
    // Only whole lines count: the kill may cut the last one.
    let complete = match output.rfind('\n') {
        Some(end) => &output[..=end],
        None => "",
    };
    for line in complete.lines() {
        let mut words = line.split(' ');
        let (Some(tag), Some(first), Some(len)) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        let (Ok(first), Ok(len)) = (first.parse::<u64>(), len.parse::<u64>()) else {
            continue;
        };
        match tag {
            "begin" => outcome.mid_append = true,
            "ack" => {
                outcome.acked_end = outcome.acked_end.max(first + len);
                outcome.mid_append = false;
            }
            _ => {}
        }
    }
    outcome
}

fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

fn crash_rounds(test_name: &str, rounds: u32, ignored: bool) {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
    }
    let started = Instant::now();
    let dir = scratch_dir();
    let exe = std::env::current_exe().unwrap();
    let mut acked_end = 0u64;
    let mut previous: Option<Checkpoint> = None;
    let mut mid_append_kills = 0;
    let mut rounds_with_acks = 0;
    let mut leaf_hashes: Vec<Hash> = Vec::new();
    for round in 0..rounds {
        let mut command = Command::new(&exe);
        command.args([test_name, "--exact", "--nocapture", "--test-threads=1"]);
        if ignored {
            command.arg("--ignored");
        }
        let mut child = command
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Read the child's output on a thread so a full pipe never blocks it.
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            BufReader::new(stdout).read_to_string(&mut text).ok();
            text
        });
        let delay = Duration::from_millis(5 + mix(u64::from(round) ^ 0xdead) % 45);
        std::thread::sleep(delay);
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the child exited by itself"
        );
        let output = reader.join().unwrap();
        let outcome = parse_output(&output, acked_end);
        if outcome.acked_end > acked_end {
            rounds_with_acks += 1;
        }
        acked_end = outcome.acked_end;
        if outcome.mid_append {
            mid_append_kills += 1;
        }

        // The published state verifies before anyone repairs anything, and is
        // consistent with the last checkpoint the parent saw.
        let report = verify_dir(dir.path(), ORIGIN, &signer().verifier(), previous.as_ref())
            .unwrap_or_else(|err| panic!("round {round}, before reopening: {err}"));
        // Reopen (this is what a restarted server does) and check.
        let log = Log::open(dir.path(), signer(), ORIGIN).unwrap();
        assert!(
            log.size() >= acked_end,
            "round {round}: size {} lost acknowledged entries below {acked_end}",
            log.size()
        );
        assert!(log.size() >= report.entries);
        let start = leaf_hashes.len() as u64;
        let entries = log.entries(start, log.size()).unwrap();
        for (offset, bytes) in entries.iter().enumerate() {
            let index = start + offset as u64;
            assert_eq!(bytes, &entry(index), "round {round}: entry {index}");
            leaf_hashes.push(truce_merkle::leaf_hash(bytes));
        }
        assert_eq!(
            log.root(),
            root_from_leaf_hashes(&leaf_hashes),
            "round {round}"
        );
        let report = verify_dir(dir.path(), ORIGIN, &signer().verifier(), previous.as_ref())
            .unwrap_or_else(|err| panic!("round {round}, after reopening: {err}"));
        assert_eq!(report.entries, log.size());
        assert!(report.pending.is_none());
        previous = Some(log.checkpoint().clone());
    }
    let elapsed = started.elapsed();
    println!(
        "{rounds} kills, {mid_append_kills} in the middle of an append, {rounds_with_acks} rounds with acknowledged batches, {acked_end} entries acknowledged, {:.1} s",
        elapsed.as_secs_f64()
    );
    assert!(
        rounds_with_acks >= rounds / 2,
        "too few rounds reached an append"
    );
    // Kill timing depends on the machine; demand only a few inside appends.
    assert!(
        mid_append_kills >= rounds / 20,
        "too few kills landed inside an append"
    );
}

#[test]
fn sigkill_at_random_points() {
    crash_rounds("sigkill_at_random_points", 50, false);
}

#[test]
#[ignore = "long: 250 rounds, a few minutes in a debug build"]
fn sigkill_long() {
    crash_rounds("sigkill_long", 250, true);
}

#[test]
fn output_parsing() {
    let outcome = parse_output(
        "begin 0 3\nack 0 3\nbegin 3 2\nack 3 2\nbegin 5 9\nack 5",
        0,
    );
    assert_eq!(outcome.acked_end, 5);
    assert!(outcome.mid_append);
    let outcome = parse_output("begin 5 1\nack 5 1\n", 5);
    assert_eq!(outcome.acked_end, 6);
    assert!(!outcome.mid_append);
    let _ = BufRead::lines(BufReader::new(&b""[..]));
}
